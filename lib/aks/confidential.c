/* Confidential VMs (include/tl/aks.h): az vm create's security types with
 * their defaults, and the rules of the "Azure confidential virtual machines
 * FAQ" (MicrosoftDocs/azure-docs, confidential-computing/
 * confidential-vm-faq.yml), each refusal one line that names the rule:
 *  - "Can I convert a non-confidential VM into a confidential VM? No. For
 *    security reasons, you must create a confidential VM as such from the
 *    start": no security type change to or from ConfidentialVM, and no
 *    resize across the confidential line;
 *  - "Can I convert a DCasv5/ECasv5 CVM into a DCesv5/ECesv5 CVM ...? Yes":
 *    a resize between the SNP and TDX families is allowed;
 *  - "Can I enable or disable the new full-disk encryption scheme after VM
 *    creation? No": the OS disk's security encryption type is fixed;
 *  - "NonPersistedTPM ... only available as part of the Intel TDX" sizes;
 *  - "Confidential VMs don't support Accelerated Networking";
 *  - "confidential VMs don't currently support nested virtualization";
 *  - "Can I generate a host memory dump from within my confidential VM? No".
 * Where the size is offered: ARM's SkuNotAvailable text.
 *
 * az's defaults (az vm create, Azure CLI 2.53 and later): the security type
 * is TrustedLaunch when none is given (Standard on a size without trusted
 * launch); Secure Boot and vTPM are on for TrustedLaunch and ConfidentialVM
 * unless --enable-secure-boot false / --enable-vtpm false;
 * --os-disk-security-encryption-type is required with ConfidentialVM and
 * refused without it; a ConfidentialVM has a vTPM. The usage error texts
 * are az's as we remember them (JUDGED: the validator's source was not
 * among what we could read).
 *
 * Pure: no I/O, no state. */
#include "tl/aks.h"

#include "refuse.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *canonical(const char *s, const char *const *choices)
{
    for (size_t i = 0; s && choices[i]; i++)
        if (strcasecmp(s, choices[i]) == 0)
            return choices[i];
    return NULL;
}

const char *tl_tee_name(enum tl_tee tee)
{
    return tee == TL_TEE_SNP ? "snp" : tee == TL_TEE_TDX ? "tdx" : "none";
}

int tl_tee_parse(const char *s, enum tl_tee *out)
{
    static const enum tl_tee all[] = {TL_TEE_NONE, TL_TEE_SNP, TL_TEE_TDX};
    for (size_t i = 0; s && i < sizeof(all) / sizeof(all[0]); i++)
        if (strcmp(s, tl_tee_name(all[i])) == 0) {
            *out = all[i];
            return 0;
        }
    return -EINVAL;
}

const char *tl_security_type_canonical(const char *s)
{
    static const char *const types[] = {TL_SECURITY_STANDARD, TL_SECURITY_TRUSTED_LAUNCH,
                                        TL_SECURITY_CONFIDENTIAL, NULL};
    return canonical(s, types);
}

const char *tl_disk_security_canonical(const char *s)
{
    static const char *const types[] = {TL_DISK_SECURITY_NONE, TL_DISK_SECURITY_VMGS,
                                        TL_DISK_SECURITY_DISK_VMGS, TL_DISK_SECURITY_NONPERSISTED,
                                        NULL};
    return canonical(s, types);
}

bool tl_vm_size_offered(const struct tl_vm_size *size, const char *location)
{
    if (!size->regions || !location || strcasecmp(location, "local") == 0)
        return true;
    size_t n = strlen(location);
    for (const char *p = size->regions; *p;) {
        size_t k = strcspn(p, ",");
        if (k == n && strncasecmp(p, location, n) == 0)
            return true;
        p += k + (p[k] == ',');
    }
    return false;
}

int tl_vm_size_check_offered(const struct tl_vm_size *size, const char *location, char *msg,
                             size_t len)
{
    if (tl_vm_size_offered(size, location))
        return 0;
    return refuse(msg, len,
                  "(SkuNotAvailable) The requested VM size for resource 'Following SKUs have "
                  "failed for Capacity Restrictions: %s' is currently not available in location "
                  "'%s'. Please try another size or deploy to a different location or different "
                  "zone. See https://aka.ms/azureskunotavailable for details.",
                  size->name, location);
}

#define CONFIDENTIAL_SIZES                                                                         \
    "DCasv5, DCadsv5, ECasv5, ECadsv5 (AMD SEV-SNP) or DCesv5, DCedsv5, ECesv5, ECedsv5 (Intel "   \
    "TDX)"

static const char *tee_long(enum tl_tee tee)
{
    return tee == TL_TEE_SNP ? "AMD SEV-SNP" : "Intel TDX";
}

int tl_vm_spec_resolve(struct tl_vm_spec *s, char *msg, size_t len)
{
    s->size = tl_vm_size_find(s->vm_size);
    if (!s->size)
        return refuse(msg, len,
                      "(InvalidParameter) The value '%s' provided for the VM size is not valid "
                      "(--size; tl aks vm-sizes lists the sizes)",
                      s->vm_size ? s->vm_size : "");
    s->vm_size = s->size->name;
    s->tee = s->size->tee;
    bool confidential_size = s->tee != TL_TEE_NONE;
    if (s->security_type) {
        const char *c = tl_security_type_canonical(s->security_type);
        if (!c)
            return refuse(msg, len,
                          "--security-type '%s': not one of Standard, TrustedLaunch, "
                          "ConfidentialVM",
                          s->security_type);
        s->security_type = c;
    } else if (confidential_size) {
        return refuse(msg, len,
                      "VM size %s is a confidential size (%s): create it with --security-type "
                      "ConfidentialVM (a VM cannot be made confidential after creation)",
                      s->size->name, tee_long(s->tee));
    } else {
        s->security_type =
            s->size->trusted_launch ? TL_SECURITY_TRUSTED_LAUNCH : TL_SECURITY_STANDARD;
    }
    bool cvm = strcmp(s->security_type, TL_SECURITY_CONFIDENTIAL) == 0;
    bool tl = strcmp(s->security_type, TL_SECURITY_TRUSTED_LAUNCH) == 0;
    if (s->disk_security) {
        const char *c = tl_disk_security_canonical(s->disk_security);
        if (!c || (cvm && strcmp(c, TL_DISK_SECURITY_NONE) == 0))
            return refuse(msg, len,
                          "--os-disk-security-encryption-type '%s': not one of VMGuestStateOnly, "
                          "DiskWithVMGuestState, NonPersistedTPM",
                          s->disk_security);
        s->disk_security = c;
    }
    if (cvm) {
        if (!confidential_size)
            return refuse(msg, len,
                          "The VM size '%s' does not support security type 'ConfidentialVM': "
                          "choose a size of " CONFIDENTIAL_SIZES,
                          s->size->name);
        if (!s->disk_security)
            return refuse(msg, len,
                          "usage error: \"--os-disk-security-encryption-type\" is required when "
                          "\"--security-type\" is set to \"ConfidentialVM\"");
        if (s->vtpm == 0)
            return refuse(msg, len,
                          "usage error: \"--enable-vtpm\" can not be set to false when "
                          "\"--security-type\" is set to \"ConfidentialVM\"");
        if (strcmp(s->disk_security, TL_DISK_SECURITY_NONPERSISTED) == 0 && s->tee != TL_TEE_TDX)
            return refuse(msg, len,
                          "NonPersistedTPM is available on the Intel TDX sizes only (DCesv5, "
                          "DCedsv5, ECesv5, ECedsv5); %s is %s (confidential VM FAQ; "
                          "--os-disk-security-encryption-type)",
                          s->size->name, tee_long(s->tee));
        if (s->accelerated_networking)
            return refuse(msg, len,
                          "Confidential VMs don't support Accelerated Networking (confidential VM "
                          "FAQ; --accelerated-networking on %s)",
                          s->size->name);
        if (s->nested_virtualization)
            return refuse(msg, len,
                          "Confidential VMs don't support nested virtualization (confidential VM "
                          "FAQ; --nested-virtualization on %s)",
                          s->size->name);
    } else {
        if (confidential_size)
            return refuse(msg, len,
                          "VM size %s is a confidential size (%s): its security type must be "
                          "ConfidentialVM, not %s (--security-type)",
                          s->size->name, tee_long(s->tee), s->security_type);
        if (s->disk_security && strcmp(s->disk_security, TL_DISK_SECURITY_NONE) != 0)
            return refuse(msg, len,
                          "usage error: \"--os-disk-security-encryption-type\" can only be passed "
                          "in when \"--security-type\" is \"ConfidentialVM\"");
        s->disk_security = TL_DISK_SECURITY_NONE;
        if (tl && !s->size->trusted_launch)
            return refuse(msg, len,
                          "The VM size '%s' does not support security type 'TrustedLaunch' "
                          "(--size; tl aks vm-sizes lists the sizes that do)",
                          s->size->name);
        if (!tl && (s->secure_boot == 1 || s->vtpm == 1))
            return refuse(msg, len,
                          "usage error: \"--enable-secure-boot\" and \"--enable-vtpm\" can only be "
                          "set to true when \"--security-type\" is \"TrustedLaunch\" or "
                          "\"ConfidentialVM\"");
        if (s->accelerated_networking && !s->size->accelerated_networking)
            return refuse(msg, len, "VM size %s does not support Accelerated Networking",
                          s->size->name);
        if (s->nested_virtualization && !s->size->nested_virtualization)
            return refuse(msg, len, "VM size %s does not support nested virtualization",
                          s->size->name);
    }
    bool on = cvm || tl;
    if (s->secure_boot < 0)
        s->secure_boot = on;
    if (s->vtpm < 0)
        s->vtpm = on;
    return 0;
}

int tl_vm_check_change(const struct tl_vm_spec *from, const struct tl_vm_spec *to, char *msg,
                       size_t len)
{
    bool was = strcmp(from->security_type, TL_SECURITY_CONFIDENTIAL) == 0;
    bool will = strcmp(to->security_type, TL_SECURITY_CONFIDENTIAL) == 0;
    if (was != will || (from->tee != TL_TEE_NONE) != (to->tee != TL_TEE_NONE)) {
        if (strcmp(from->vm_size, to->vm_size) != 0)
            return refuse(msg, len,
                          "cannot resize from %s (%s) to %s (%s): a VM cannot be converted to or "
                          "from a confidential VM; create a confidential VM as such from the "
                          "start (confidential VM FAQ)",
                          from->vm_size, was ? "confidential" : "not confidential", to->vm_size,
                          to->tee != TL_TEE_NONE ? "confidential" : "not confidential");
        return refuse(msg, len,
                      "cannot change the security type from %s to %s: a VM cannot be converted "
                      "to or from a confidential VM; create a confidential VM as such from the "
                      "start (confidential VM FAQ)",
                      from->security_type, to->security_type);
    }
    if (strcmp(from->security_type, to->security_type) != 0)
        return refuse(msg, len,
                      "cannot change the security type from %s to %s: it is set when the VM is "
                      "created (--security-type)",
                      from->security_type, to->security_type);
    if (was && strcmp(from->disk_security, to->disk_security) != 0)
        return refuse(msg, len,
                      "cannot change the OS disk encryption of a confidential VM from %s to %s: "
                      "after a confidential VM is created, full-disk encryption cannot be "
                      "deactivated or reactivated; create a new confidential VM instead "
                      "(confidential VM FAQ)",
                      from->disk_security, to->disk_security);
    return 0;
}

int tl_pool_check_resize(const char *pool, const char *from_size, const char *to_size, char *msg,
                         size_t len)
{
    const struct tl_vm_size *from = tl_vm_size_find(from_size), *to = tl_vm_size_find(to_size);
    if (!to)
        return refuse(msg, len, "VM size '%s': not in the catalog (tl aks vm-sizes lists them)",
                      to_size ? to_size : "");
    if (from == to)
        return 0;
    bool was = from && from->tee != TL_TEE_NONE, will = to->tee != TL_TEE_NONE;
    if (was != will)
        return refuse(msg, len,
                      "cannot change node pool '%s' from %s (%s) to %s (%s): a node pool cannot "
                      "be converted to or from confidential nodes; add a node pool of the new "
                      "size instead (confidential VM FAQ)",
                      pool, from_size, was ? "confidential" : "not confidential", to->name,
                      will ? "confidential" : "not confidential");
    return refuse(msg, len,
                  "node pool '%s': its VM size is not changed here (%s to %s); add a node pool "
                  "of the new size (tl aks nodepool add --node-vm-size %s)",
                  pool, from_size, to->name, to->name);
}

int tl_confidential_debug_check(const char *security_type, const char *what, char *msg, size_t len)
{
    if (!security_type || strcmp(security_type, TL_SECURITY_CONFIDENTIAL) != 0)
        return 0;
    refuse(msg, len,
           "%s is not available for a confidential VM: its memory and state are not the host's "
           "to read (confidential VM FAQ: no host memory dump, no operator access)",
           what);
    return -EPERM;
}
