/* Virtual machines as ARM's Microsoft.Compute/virtualMachines (docs/api.md,
 * "Virtual machines"; `tl vm`, as `az vm`): each VM is one tld node, named
 * for the VM (lowercase), whose "vm" member (struct tld_node) holds the
 * resource's own properties: resource group, name as given, location, size,
 * accelerated networking, nested virtualization. Security type, TEE, OS
 * disk security, Secure Boot and vTPM are the node's spec (node_security.c).
 *
 * A create or change is checked before anything is stored: az's defaults
 * and the confidential VM rules (lib/aks/confidential.c), the size offered
 * in the location, the per-family vCPU quotas (capacity.c). A refusal
 * changes nothing. A resize within a TEE keeps the node's disk (the new
 * size's memory from the next boot; a running VM is restarted, as Azure
 * does); a resize into the other TEE, or a Secure Boot / vTPM change,
 * makes the node anew (tld_node_respec: new overlay, variable store and
 * vTPM) and boots it again if it ran. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "fleet.h"
#include "tl/aks.h"
#include "tld.h"

#define SUBSCRIPTION "/subscriptions/local"

static const char *vm_str(const struct tld_node *n, const char *key)
{
    const char *s = json_string_value(json_object_get(n->vm, key));
    return s ? s : "";
}

static bool vm_flag(const struct tld_node *n, const char *key)
{
    return json_is_true(json_object_get(n->vm, key));
}

static const char *power_state(const struct tld_node *n)
{
    switch (n->state) {
    case TLD_RUNNING:
        return "VM running";
    case TLD_CREATING:
    case TLD_BOOTING:
        return "VM starting";
    case TLD_STOPPED:
        return "VM stopped";
    default:
        return "VM failed";
    }
}

static json_t *vm_json(const struct tld_node *n)
{
    char id[400];
    snprintf(id, sizeof(id),
             SUBSCRIPTION "/resourceGroups/%s/providers/Microsoft.Compute/virtualMachines/%s",
             vm_str(n, "resourceGroup"), vm_str(n, "name"));
    const struct tld_node_spec *sp = &n->spec;
    bool uefi = strcmp(sp->security_type, TL_SECURITY_STANDARD) != 0;
    bool cvm = strcmp(sp->security_type, TL_SECURITY_CONFIDENTIAL) == 0;
    json_t *security = json_pack("{s:s, s:o}", "securityType", sp->security_type, "uefiSettings",
                                 uefi ? json_pack("{s:b, s:b}", "secureBootEnabled",
                                                  sp->secure_boot, "vTpmEnabled", sp->vtpm)
                                      : json_null());
    json_t *disk = json_pack("{s:{s:{s:o}}}", "osDisk", "managedDisk", "securityProfile",
                             cvm ? json_pack("{s:s}", "securityEncryptionType", sp->disk_security)
                                 : json_null());
    json_t *data = json_array();
    if (sp->data_disk_gb) /* az's dataDisks entry, and the key (trustlaunch's) */
        json_array_append_new(
            data, json_pack("{s:i, s:i, s:s, s:o}", "lun", 0, "diskSizeGB", (int)sp->data_disk_gb,
                            "createOption", "Empty", "encryptionKey",
                            sp->data_disk_key[0] ? json_string(sp->data_disk_key) : json_null()));
    json_object_set_new(disk, "dataDisks", data);
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:{s:s}, s:o, s:o, s:{s:b}, s:{s:b}, s:s, s:s, "
        "s:s, s:b, s:b, s:s, s:s}",
        "id", id, "name", vm_str(n, "name"), "resourceGroup", vm_str(n, "resourceGroup"),
        "location", vm_str(n, "location"), "type", "Microsoft.Compute/virtualMachines",
        "hardwareProfile", "vmSize", vm_str(n, "vmSize"), "securityProfile", security,
        "storageProfile", disk, "networkProfile", "enableAcceleratedNetworking",
        vm_flag(n, "acceleratedNetworking"), "additionalCapabilities", "nestedVirtualization",
        vm_flag(n, "nestedVirtualization"), "provisioningState", n->busy ? "Updating" : "Succeeded",
        "powerState", power_state(n), "tee", sp->tee, "guestState", sp->guest_state,
        "vtpmPersisted", sp->vtpm && sp->vtpm_persist, "node", n->name, "image", sp->image);
}

static struct tld_node *vm_find(struct tld *t, const char *group, const char *name)
{
    for (size_t i = 0; i < t->n_nodes; i++) {
        struct tld_node *n = t->nodes[i];
        if (n->vm && strcasecmp(vm_str(n, "resourceGroup"), group) == 0 &&
            strcasecmp(vm_str(n, "name"), name) == 0)
            return n;
    }
    return NULL;
}

int tld_vmres_in_group(struct tld *t, const char *group, char *names, size_t size)
{
    int k = 0, held = 0;
    names[0] = 0;
    for (size_t i = 0; i < t->n_nodes; i++)
        if (t->nodes[i]->vm && strcasecmp(vm_str(t->nodes[i], "resourceGroup"), group) == 0) {
            if ((size_t)k < size)
                k += snprintf(names + k, size - (size_t)k, "%s%s", held ? "', '" : "",
                              vm_str(t->nodes[i], "name"));
            held++;
        }
    return held;
}

/* The VM's spec as libtl's rules see it (resolved). */
static void vm_spec(const struct tld_node *n, struct tl_vm_spec *s)
{
    *s = (struct tl_vm_spec){
        .vm_size = vm_str(n, "vmSize"),
        .location = vm_str(n, "location"),
        .security_type = n->spec.security_type,
        .disk_security = n->spec.disk_security,
        .secure_boot = n->spec.secure_boot,
        .vtpm = n->spec.vtpm,
        .accelerated_networking = vm_flag(n, "acceleratedNetworking"),
        .nested_virtualization = vm_flag(n, "nestedVirtualization"),
    };
    s->size = tl_vm_size_find(s->vm_size);
    s->tee = s->size ? s->size->tee : TL_TEE_NONE;
}

static int tri(const json_t *body, const char *key)
{
    json_t *v = json_object_get(body, key);
    return v ? json_is_true(v) : -1;
}

/* A status from the node calls (an HTTP status, or a negative errno). */
static int status_of(int r)
{
    return r < 0 ? 409 : r;
}

static int vm_put(struct tld *t, struct tld_group *g, const char *name, const json_t *body,
                  json_t **answer, char *msg, size_t msz)
{
    struct tl_error ne = {0};
    static const struct tld_field fields[] = {
        {"location", JSON_STRING},
        {"vmSize", JSON_STRING},
        {"securityType", JSON_STRING},
        {"osDiskSecurityEncryptionType", JSON_STRING},
        {"enableSecureBoot", JSON_TRUE},
        {"enableVtpm", JSON_TRUE},
        {"acceleratedNetworking", JSON_TRUE},
        {"nestedVirtualization", JSON_TRUE},
        {"image", JSON_STRING},
        {"start", JSON_TRUE},
        {"teePolicy", JSON_OBJECT},
        {"dataDiskSizeGB", JSON_INTEGER},
        {"dataDiskEncryptionKey", JSON_STRING},
        {0},
    };
    int r;
    struct tl_error fe = {0};
    if ((r = tld_fleet_check_fields(body, fields, &fe)))
        return tld_http_err(r, &fe, msg, msz);
    char node[TLD_NAME_MAX + 2];
    size_t len = strlen(name);
    for (size_t i = 0; i <= len && i < sizeof(node); i++)
        node[i] = (char)tolower((unsigned char)name[i]);
    if (len >= sizeof(node) || !tld_name_ok(node))
        return ERR(400,
                   "VM name '%s': 1-%d letters, digits and '-', starting with a letter (it names "
                   "the VM's node, lowercased)",
                   name, TLD_NAME_MAX);
    struct tld_node *old = vm_find(t, g->name, name);
    if (old)
        return ERR(409,
                   "VM '%s' already exists in resource group '%s' (tl vm update or tl vm resize "
                   "change it)",
                   vm_str(old, "name"), g->name);
    struct tl_vm_spec s = {
        .vm_size = tld_fleet_str(body, "vmSize", TL_VM_DEFAULT_SIZE),
        .location = tld_fleet_str(body, "location", g->location),
        .security_type = tld_fleet_str(body, "securityType", NULL),
        .disk_security = tld_fleet_str(body, "osDiskSecurityEncryptionType", NULL),
        .secure_boot = tri(body, "enableSecureBoot"),
        .vtpm = tri(body, "enableVtpm"),
        .accelerated_networking = tld_fleet_flag(body, "acceleratedNetworking"),
        .nested_virtualization = tld_fleet_flag(body, "nestedVirtualization"),
    };
    if (tl_vm_spec_resolve(&s, msg, msz) < 0)
        return 400;
    if (tl_vm_size_check_offered(s.size, s.location, msg, msz) < 0)
        return 409;
    if (tld_capacity_admit_vm(t, NULL, s.vm_size, s.location, msg, msz) < 0)
        return 409; /* QuotaExceeded, AllocationFailed */
    bool cvm = s.tee != TL_TEE_NONE;
    json_t *req = json_pack("{s:s, s:b, s:b, s:b, s:b, s:s, s:s, s:s, s:i}", "name", node,
                            "secure_boot", s.secure_boot, "vtpm", s.vtpm, "vtpm_persist",
                            s.vtpm && strcmp(s.disk_security, TL_DISK_SECURITY_NONPERSISTED) != 0,
                            "start", tri(body, "start") != 0, "security_type", s.security_type,
                            "tee", tl_tee_name(s.tee), "disk_security", s.disk_security,
                            "memory_mib", (int)s.size->node_memory_mib);
    if (cvm)
        json_object_set_new(req, "guest_state", json_true());
    if (json_object_get(body, "image"))
        json_object_set(req, "image", json_object_get(body, "image"));
    if (json_object_get(body, "teePolicy")) /* the node's own (node_security.c checks it) */
        json_object_set(req, "tee_policy", json_object_get(body, "teePolicy"));
    if (json_object_get(body, "dataDiskSizeGB")) /* datadisk.c checks them */
        json_object_set(req, "data_disk_size_gb", json_object_get(body, "dataDiskSizeGB"));
    if (json_object_get(body, "dataDiskEncryptionKey"))
        json_object_set(req, "data_disk_encryption_key",
                        json_object_get(body, "dataDiskEncryptionKey"));
    json_t *vm =
        json_pack("{s:s, s:s, s:s, s:s, s:b, s:b}", "resourceGroup", g->name, "name", name,
                  "location", s.location, "vmSize", s.vm_size, "acceleratedNetworking",
                  s.accelerated_networking, "nestedVirtualization", s.nested_virtualization);
    struct tld_node *n = NULL;
    r = tld_http_err(tld_node_create(t, req, NULL, &n, &ne), &ne, msg,
                     msz); /* lets tld.lock go for its I/O */
    json_decref(req);
    if (r) {
        json_decref(vm);
        return status_of(r);
    }
    n->vm = vm;
    tld_store_save(t, n);
    tld_log("vm %s/%s: created (node %s, %s, %s, tee %s)", vm_str(n, "resourceGroup"), name,
            n->name, s.vm_size, s.security_type, n->spec.tee);
    *answer = vm_json(n);
    return 201;
}

/* Stops n (when it runs), gives it spec (made anew when remake), starts it
 * again when it ran. n is looked up again by name after each step that
 * lets the lock go. */
static int vm_apply(struct tld *t, struct tld_node *n, const struct tld_node_spec *spec,
                    bool remake, char *msg, size_t msz)
{
    struct tl_error ne = {0};
    char name[TLD_NAME_MAX + 1];
    snprintf(name, sizeof(name), "%s", n->name);
    bool ran = n->state == TLD_RUNNING || n->state == TLD_BOOTING;
    int r;
    if (ran && (r = tld_http_err(tld_node_stop(t, n, &ne), &ne, msg, msz)))
        return status_of(r);
    if (!(n = tld_node_find(t, name)))
        return ERR(409, "node %s went away during the change", name);
    if (remake) {
        if ((r = tld_http_err(tld_node_respec(t, n, spec, &ne), &ne, msg, msz)))
            return status_of(r);
    } else {
        n->spec = *spec;
        tld_store_save(t, n);
    }
    if (ran && (n = tld_node_find(t, name)) &&
        (r = tld_http_err(tld_node_start(t, n, &ne), &ne, msg, msz)))
        return status_of(r);
    return 0;
}

static int vm_patch(struct tld *t, struct tld_node *n, const json_t *body, json_t **answer,
                    char *msg, size_t msz)
{
    static const struct tld_field fields[] = {
        {"vmSize", JSON_STRING},
        {"securityType", JSON_STRING},
        {"osDiskSecurityEncryptionType", JSON_STRING},
        {"enableSecureBoot", JSON_TRUE},
        {"enableVtpm", JSON_TRUE},
        {"acceleratedNetworking", JSON_TRUE},
        {"nestedVirtualization", JSON_TRUE},
        {0},
    };
    int r;
    struct tl_error fe = {0};
    if ((r = tld_fleet_check_fields(body, fields, &fe)))
        return tld_http_err(r, &fe, msg, msz);
    if (n->busy)
        return ERR(409, "VM '%s' is busy (%s); try again when it is done", vm_str(n, "name"),
                   n->busy);
    struct tl_vm_spec from, to;
    vm_spec(n, &from);
    to = from;
    to.vm_size = tld_fleet_str(body, "vmSize", from.vm_size);
    to.security_type = tld_fleet_str(body, "securityType", from.security_type);
    to.disk_security = tld_fleet_str(body, "osDiskSecurityEncryptionType", from.disk_security);
    if ((r = tri(body, "enableSecureBoot")) >= 0)
        to.secure_boot = r;
    if ((r = tri(body, "enableVtpm")) >= 0)
        to.vtpm = r;
    if ((r = tri(body, "acceleratedNetworking")) >= 0)
        to.accelerated_networking = r;
    if ((r = tri(body, "nestedVirtualization")) >= 0)
        to.nested_virtualization = r;
    /* the conversion rules first: they name what was asked for */
    struct tl_vm_spec probe = to;
    probe.size = tl_vm_size_find(to.vm_size);
    if (!probe.size)
        return tl_vm_spec_resolve(&probe, msg, msz) < 0 ? 400 : 500;
    probe.vm_size = probe.size->name;
    probe.tee = probe.size->tee;
    const char *st = tl_security_type_canonical(to.security_type);
    const char *ds = tl_disk_security_canonical(to.disk_security);
    probe.security_type = st ? st : to.security_type;
    probe.disk_security = ds ? ds : to.disk_security;
    if (tl_vm_check_change(&from, &probe, msg, msz) < 0)
        return 409;
    if (tl_vm_spec_resolve(&to, msg, msz) < 0)
        return 400;
    if (tl_vm_size_check_offered(to.size, to.location, msg, msz) < 0)
        return 409;
    bool resized = strcmp(from.vm_size, to.vm_size) != 0;
    if (resized && tld_capacity_admit_vm(t, n, to.vm_size, to.location, msg, msz) < 0)
        return 409;
    struct tld_node_spec spec = n->spec;
    spec.secure_boot = to.secure_boot;
    spec.vtpm = to.vtpm;
    spec.tee = tl_tee_name(to.tee);
    spec.memory_mib = to.size->node_memory_mib;
    bool remake = strcmp(spec.tee, n->spec.tee) != 0 || spec.secure_boot != n->spec.secure_boot ||
                  spec.vtpm != n->spec.vtpm;
    if (spec.vtpm != n->spec.vtpm)
        spec.vtpm_persist = spec.vtpm;
    json_t *vm = json_deep_copy(n->vm);
    json_object_set_new(vm, "vmSize", json_string(to.vm_size));
    json_object_set_new(vm, "acceleratedNetworking", json_boolean(to.accelerated_networking));
    json_object_set_new(vm, "nestedVirtualization", json_boolean(to.nested_virtualization));
    char group[91], name[200];
    snprintf(group, sizeof(group), "%s", vm_str(n, "resourceGroup"));
    snprintf(name, sizeof(name), "%s", vm_str(n, "name"));
    if (resized || remake) {
        if ((r = vm_apply(t, n, &spec, remake, msg, msz))) {
            json_decref(vm);
            return r;
        }
        if (!(n = vm_find(t, group, name))) {
            json_decref(vm);
            return ERR(409, "VM '%s' went away during the change", name);
        }
    }
    json_decref(n->vm);
    n->vm = vm;
    tld_store_save(t, n);
    tld_log("vm %s/%s: updated (%s%s, tee %s)", group, name, to.vm_size,
            remake ? ", made anew" : "", n->spec.tee);
    *answer = vm_json(n);
    return 200;
}

static json_t *vm_list(struct tld *t, const char *group)
{
    json_t *all = json_array();
    for (size_t i = 0; i < t->n_nodes; i++)
        if (t->nodes[i]->vm &&
            (!group || strcasecmp(vm_str(t->nodes[i], "resourceGroup"), group) == 0))
            json_array_append_new(all, vm_json(t->nodes[i]));
    return json_pack("{s:o}", "value", all);
}

int tld_vmres_list_all(struct tld *t, json_t **answer)
{
    *answer = vm_list(t, NULL);
    return 200;
}

int tld_vmres_route(struct tld *t, struct tld_group *g, const char *method, const char *const *s,
                    int n_seg, const json_t *body, json_t **answer, char *msg, size_t msz)
{
    struct tl_error ne = {0};
    bool get = strcmp(method, "GET") == 0;
    if (n_seg == 0) {
        if (!get)
            return ERR(405, "GET");
        *answer = vm_list(t, g->name);
        return 200;
    }
    if (n_seg == 1 && strcmp(method, "PUT") == 0)
        return vm_put(t, g, s[0], body, answer, msg, msz);
    struct tld_node *n = vm_find(t, g->name, s[0]);
    if (!n)
        return ERR(404,
                   "(ResourceNotFound) The Resource 'Microsoft.Compute/virtualMachines/%s' under "
                   "resource group '%s' was not found.",
                   s[0], g->name);
    int r;
    if (n_seg == 2) {
        if (strcmp(method, "POST") != 0)
            return ERR(405, "POST");
        char name[TLD_NAME_MAX + 1];
        snprintf(name, sizeof(name), "%s", n->name);
        if (strcmp(s[1], "start") == 0)
            r = tld_http_err(tld_node_start(t, n, &ne), &ne, msg, msz);
        else if (strcmp(s[1], "powerOff") == 0)
            r = tld_http_err(tld_node_stop(t, n, &ne), &ne, msg, msz);
        else
            return ERR(404, "no such action: %s (start, powerOff)", s[1]);
        if (r)
            return status_of(r);
        if (!(n = tld_node_find(t, name)))
            return ERR(404, "VM '%s' went away", s[0]);
        *answer = vm_json(n);
        return 200;
    }
    if (n_seg != 1)
        return ERR(404, "no such resource");
    if (get) {
        *answer = vm_json(n);
        return 200;
    }
    if (strcmp(method, "PATCH") == 0)
        return vm_patch(t, n, body, answer, msg, msz);
    if (strcmp(method, "DELETE") == 0) {
        char group[91];
        snprintf(group, sizeof(group), "%s", vm_str(n, "resourceGroup"));
        if ((r = tld_http_err(tld_node_delete(t, n, &ne), &ne, msg, msz)))
            return status_of(r);
        tld_log("vm %s/%s: deleted", group, s[0]);
        *answer = json_object();
        return 200;
    }
    return ERR(405, "GET, PUT, PATCH or DELETE");
}
