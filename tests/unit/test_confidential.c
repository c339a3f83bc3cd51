/* Unit tests for lib/aks/confidential.c: the confidential sizes' facts
 * (shapes, TEE, quota family, no accelerated networking or nested
 * virtualization), az vm create's defaults, and every confidential VM FAQ
 * rule with its exact message (tld answers with these; tests/cli/vm_cli.sh
 * checks them end to end). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <errno.h>
#include <string.h>

#include "tl/aks.h"

static char msg[512];

static struct tl_vm_spec spec(const char *size, const char *type, const char *disk)
{
    return (struct tl_vm_spec){.vm_size = size,
                               .location = "local",
                               .security_type = type,
                               .disk_security = disk,
                               .secure_boot = -1,
                               .vtpm = -1};
}

static int resolve(struct tl_vm_spec *s)
{
    msg[0] = 0;
    return tl_vm_spec_resolve(s, msg, sizeof(msg));
}

static void test_catalog(void **state)
{
    (void)state;
    struct {
        const char *name;
        unsigned vcpus, gib;
        enum tl_tee tee;
        const char *family;
    } want[] = {
        {"Standard_DC2as_v5", 2, 8, TL_TEE_SNP, "standardDCASv5Family"},
        {"Standard_DC96ads_v5", 96, 384, TL_TEE_SNP, "standardDCADSv5Family"},
        {"Standard_EC20as_v5", 20, 160, TL_TEE_SNP, "standardECASv5Family"},
        {"Standard_EC96ads_v5", 96, 672, TL_TEE_SNP, "standardECADSv5Family"},
        {"Standard_DC2es_v5", 2, 8, TL_TEE_TDX, "standardDCEV5Family"},
        {"Standard_DC48eds_v5", 48, 192, TL_TEE_TDX, "standardDCEDV5Family"},
        {"Standard_EC128es_v5", 128, 768, TL_TEE_TDX, "standardECEV5Family"},
        {"Standard_EC4eds_v5", 4, 32, TL_TEE_TDX, "standardECEDV5Family"},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const struct tl_vm_size *s = tl_vm_size_find(want[i].name);
        assert_non_null(s);
        assert_int_equal(s->vcpus, want[i].vcpus);
        assert_int_equal(s->memory_mib, want[i].gib * 1024);
        assert_int_equal(s->tee, want[i].tee);
        assert_string_equal(s->family, want[i].family);
        assert_true(s->gen2 && !s->gen1 && !s->trusted_launch && !s->ephemeral_os);
        assert_false(s->accelerated_networking || s->nested_virtualization);
    }
    assert_null(tl_vm_size_find("Standard_EC96es_v5")); /* ECesv5 stops at 64, then 128 */
    size_t n, snp = 0, tdx = 0;
    const struct tl_vm_size *all = tl_vm_sizes(&n);
    for (size_t i = 0; i < n; i++) {
        snp += all[i].tee == TL_TEE_SNP;
        tdx += all[i].tee == TL_TEE_TDX;
        assert_true(all[i].tee == TL_TEE_NONE || all[i].regions);
    }
    assert_int_equal(snp, 8 + 8 + 9 + 9);
    assert_int_equal(tdx, 8 + 8 + 8 + 8);
    assert_string_equal(tl_vm_size_find(TL_VM_DEFAULT_SIZE)->name, "Standard_DS1_v2");
    enum tl_tee t;
    assert_int_equal(tl_tee_parse("tdx", &t), 0);
    assert_int_equal(t, TL_TEE_TDX);
    assert_int_equal(tl_tee_parse("SEV", &t), -EINVAL);
}

static void test_offered(void **state)
{
    (void)state;
    const struct tl_vm_size *tdx = tl_vm_size_find("Standard_DC2es_v5");
    assert_true(tl_vm_size_offered(tdx, "local"));
    assert_true(tl_vm_size_offered(tdx, "WestEurope"));
    assert_true(tl_vm_size_offered(tdx, "eastus2"));
    assert_false(tl_vm_size_offered(tdx, "eastus")); /* not a prefix match */
    assert_false(tl_vm_size_offered(tdx, "westus"));
    assert_true(tl_vm_size_offered(tl_vm_size_find("Standard_DC2as_v5"), "westus"));
    assert_true(tl_vm_size_offered(tl_vm_size_find("Standard_DS2_v2"), "anywhere"));
    assert_int_equal(tl_vm_size_check_offered(tdx, "westus", msg, sizeof(msg)), -EINVAL);
    assert_string_equal(msg,
                        "(SkuNotAvailable) The requested VM size for resource 'Following SKUs "
                        "have failed for Capacity Restrictions: Standard_DC2es_v5' is currently "
                        "not available in location 'westus'. Please try another size or deploy "
                        "to a different location or different zone. See "
                        "https://aka.ms/azureskunotavailable for details.");
    /* a pool of a confidential size in the cluster's location */
    struct tl_pool_spec p = {
        .name = "cvm", .vm_size = "Standard_DC2es_v5", .count = 1, .location = "westus"};
    assert_int_equal(tl_pool_check(&p, msg, sizeof(msg)), -EINVAL);
    assert_non_null(strstr(msg, "SkuNotAvailable"));
    p.location = "centralus";
    assert_int_equal(tl_pool_check(&p, msg, sizeof(msg)), 0);
}

static void test_defaults(void **state)
{
    (void)state;
    struct tl_vm_spec s = spec(NULL, NULL, NULL);
    s.vm_size = TL_VM_DEFAULT_SIZE;
    assert_int_equal(resolve(&s), 0);
    assert_string_equal(s.security_type, "TrustedLaunch"); /* az 2.53+ */
    assert_int_equal(s.secure_boot, 1);
    assert_int_equal(s.vtpm, 1);
    assert_string_equal(s.disk_security, "none");
    s = spec("standard_a2_v2", NULL, NULL); /* no trusted launch: Standard */
    assert_int_equal(resolve(&s), 0);
    assert_string_equal(s.vm_size, "Standard_A2_v2");
    assert_string_equal(s.security_type, "Standard");
    assert_int_equal(s.secure_boot, 0);
    assert_int_equal(s.vtpm, 0);
    s = spec("Standard_DC4as_v5", "confidentialvm", "vmguestStateOnly");
    assert_int_equal(resolve(&s), 0);
    assert_string_equal(s.security_type, "ConfidentialVM");
    assert_string_equal(s.disk_security, "VMGuestStateOnly");
    assert_int_equal(s.tee, TL_TEE_SNP);
    assert_int_equal(s.secure_boot, 1);
    assert_int_equal(s.vtpm, 1);
    s = spec("Standard_DC4es_v5", "ConfidentialVM", "NonPersistedTPM");
    s.secure_boot = 0;
    assert_int_equal(resolve(&s), 0);
    assert_int_equal(s.tee, TL_TEE_TDX);
    assert_int_equal(s.secure_boot, 0);
}

static void refused(struct tl_vm_spec s, const char *want)
{
    assert_int_equal(resolve(&s), -EINVAL);
    assert_string_equal(msg, want);
}

static void test_create_rules(void **state)
{
    (void)state;
    refused(spec("Standard_DC2as_v5", "ConfidentialVM", NULL),
            "usage error: \"--os-disk-security-encryption-type\" is required when "
            "\"--security-type\" is set to \"ConfidentialVM\"");
    refused(spec("Standard_DC2as_v5", "ConfidentialVM", "NonPersistedTPM"),
            "NonPersistedTPM is available on the Intel TDX sizes only (DCesv5, DCedsv5, ECesv5, "
            "ECedsv5); Standard_DC2as_v5 is AMD SEV-SNP (confidential VM FAQ; "
            "--os-disk-security-encryption-type)");
    struct tl_vm_spec s = spec("Standard_EC2es_v5", "ConfidentialVM", "DiskWithVMGuestState");
    s.accelerated_networking = true;
    refused(s, "Confidential VMs don't support Accelerated Networking (confidential VM FAQ; "
               "--accelerated-networking on Standard_EC2es_v5)");
    s.accelerated_networking = false;
    s.nested_virtualization = true;
    refused(s, "Confidential VMs don't support nested virtualization (confidential VM FAQ; "
               "--nested-virtualization on Standard_EC2es_v5)");
    s.nested_virtualization = false;
    s.vtpm = 0;
    refused(s, "usage error: \"--enable-vtpm\" can not be set to false when \"--security-type\" "
               "is set to \"ConfidentialVM\"");
    refused(spec("Standard_DS2_v2", "ConfidentialVM", "VMGuestStateOnly"),
            "The VM size 'Standard_DS2_v2' does not support security type 'ConfidentialVM': "
            "choose a size of DCasv5, DCadsv5, ECasv5, ECadsv5 (AMD SEV-SNP) or DCesv5, "
            "DCedsv5, ECesv5, ECedsv5 (Intel TDX)");
    refused(spec("Standard_DC2as_v5", NULL, NULL),
            "VM size Standard_DC2as_v5 is a confidential size (AMD SEV-SNP): create it with "
            "--security-type ConfidentialVM (a VM cannot be made confidential after creation)");
    refused(spec("Standard_DC2es_v5", "TrustedLaunch", NULL),
            "VM size Standard_DC2es_v5 is a confidential size (Intel TDX): its security type "
            "must be ConfidentialVM, not TrustedLaunch (--security-type)");
    refused(spec("Standard_DS2_v2", "TrustedLaunch", "VMGuestStateOnly"),
            "usage error: \"--os-disk-security-encryption-type\" can only be passed in when "
            "\"--security-type\" is \"ConfidentialVM\"");
    refused(spec("Standard_A2_v2", "TrustedLaunch", NULL),
            "The VM size 'Standard_A2_v2' does not support security type 'TrustedLaunch' "
            "(--size; tl aks vm-sizes lists the sizes that do)");
    s = spec("Standard_DS2_v2", "Standard", NULL);
    s.secure_boot = 1;
    refused(s, "usage error: \"--enable-secure-boot\" and \"--enable-vtpm\" can only be set to "
               "true when \"--security-type\" is \"TrustedLaunch\" or \"ConfidentialVM\"");
    refused(spec("Standard_DS2_v2", "Confidential", NULL),
            "--security-type 'Confidential': not one of Standard, TrustedLaunch, ConfidentialVM");
    refused(spec("Standard_DC2as_v5", "ConfidentialVM", "Full"),
            "--os-disk-security-encryption-type 'Full': not one of VMGuestStateOnly, "
            "DiskWithVMGuestState, NonPersistedTPM");
    refused(spec("Standard_DC3as_v5", NULL, NULL),
            "(InvalidParameter) The value 'Standard_DC3as_v5' provided for the VM size is not "
            "valid (--size; tl aks vm-sizes lists the sizes)");
}

static struct tl_vm_spec resolved(const char *size, const char *type, const char *disk)
{
    struct tl_vm_spec s = spec(size, type, disk);
    assert_int_equal(resolve(&s), 0);
    return s;
}

static void test_change_rules(void **state)
{
    (void)state;
    struct tl_vm_spec tl = resolved("Standard_DS2_v2", NULL, NULL);
    struct tl_vm_spec snp = resolved("Standard_DC2as_v5", "ConfidentialVM", "VMGuestStateOnly");
    struct tl_vm_spec tdx = resolved("Standard_EC8es_v5", "ConfidentialVM", "VMGuestStateOnly");
    struct tl_vm_spec std = resolved("Standard_DS2_v2", "Standard", NULL);
    assert_int_equal(tl_vm_check_change(&tl, &snp, msg, sizeof(msg)), -EINVAL);
    assert_string_equal(msg, "cannot resize from Standard_DS2_v2 (not confidential) to "
                             "Standard_DC2as_v5 (confidential): a VM cannot be converted to or "
                             "from a confidential VM; create a confidential VM as such from the "
                             "start (confidential VM FAQ)");
    assert_int_equal(tl_vm_check_change(&snp, &tl, msg, sizeof(msg)), -EINVAL);
    assert_non_null(strstr(msg, "(confidential) to Standard_DS2_v2 (not confidential)"));
    struct tl_vm_spec to = tl;
    to.security_type = "ConfidentialVM";
    assert_int_equal(tl_vm_check_change(&tl, &to, msg, sizeof(msg)), -EINVAL);
    assert_string_equal(msg, "cannot change the security type from TrustedLaunch to "
                             "ConfidentialVM: a VM cannot be converted to or from a confidential "
                             "VM; create a confidential VM as such from the start (confidential "
                             "VM FAQ)");
    assert_int_equal(tl_vm_check_change(&tl, &std, msg, sizeof(msg)), -EINVAL);
    assert_string_equal(msg, "cannot change the security type from TrustedLaunch to Standard: "
                             "it is set when the VM is created (--security-type)");
    to = snp;
    to.disk_security = "DiskWithVMGuestState";
    assert_int_equal(tl_vm_check_change(&snp, &to, msg, sizeof(msg)), -EINVAL);
    assert_string_equal(msg, "cannot change the OS disk encryption of a confidential VM from "
                             "VMGuestStateOnly to DiskWithVMGuestState: after a confidential VM "
                             "is created, full-disk encryption cannot be deactivated or "
                             "reactivated; create a new confidential VM instead (confidential "
                             "VM FAQ)");
    /* SNP <-> TDX: allowed (the FAQ: "Yes") */
    assert_int_equal(tl_vm_check_change(&snp, &tdx, msg, sizeof(msg)), 0);
    assert_int_equal(tl_vm_check_change(&tdx, &snp, msg, sizeof(msg)), 0);
    assert_int_equal(tl_vm_check_change(&tl, &tl, msg, sizeof(msg)), 0);
}

static void test_pool_resize(void **state)
{
    (void)state;
    assert_int_equal(
        tl_pool_check_resize("p", "Standard_DS2_v2", "standard_ds2_V2", msg, sizeof(msg)), 0);
    assert_int_equal(
        tl_pool_check_resize("p", "Standard_DS2_v2", "Standard_DC2es_v5", msg, sizeof(msg)),
        -EINVAL);
    assert_string_equal(msg, "cannot change node pool 'p' from Standard_DS2_v2 (not "
                             "confidential) to Standard_DC2es_v5 (confidential): a node pool "
                             "cannot be converted to or from confidential nodes; add a node pool "
                             "of the new size instead (confidential VM FAQ)");
    assert_int_equal(
        tl_pool_check_resize("p", "Standard_DC2as_v5", "Standard_DC2es_v5", msg, sizeof(msg)),
        -EINVAL);
    assert_string_equal(msg, "node pool 'p': its VM size is not changed here (Standard_DC2as_v5 "
                             "to Standard_DC2es_v5); add a node pool of the new size (tl aks "
                             "nodepool add --node-vm-size Standard_DC2es_v5)");
}

static void test_debug(void **state)
{
    (void)state;
    assert_int_equal(tl_confidential_debug_check("TrustedLaunch", "x", msg, sizeof(msg)), 0);
    assert_int_equal(tl_confidential_debug_check(NULL, "x", msg, sizeof(msg)), 0);
    assert_int_equal(
        tl_confidential_debug_check("ConfidentialVM", "the serial console", msg, sizeof(msg)),
        -EPERM);
    assert_string_equal(msg, "the serial console is not available for a confidential VM: its "
                             "memory and state are not the host's to read (confidential VM "
                             "FAQ: no host memory dump, no operator access)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_catalog),      cmocka_unit_test(test_offered),
        cmocka_unit_test(test_defaults),     cmocka_unit_test(test_create_rules),
        cmocka_unit_test(test_change_rules), cmocka_unit_test(test_debug),
        cmocka_unit_test(test_pool_resize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
