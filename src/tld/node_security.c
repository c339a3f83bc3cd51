/* A node's security type (issue 14): Standard, TrustedLaunch or
 * ConfidentialVM, the TEE of a confidential node (its size's: snp, tdx),
 * its OS disk security (none, VMGuestStateOnly, DiskWithVMGuestState,
 * NonPersistedTPM) and whether it has the encrypted guest-state file
 * (vm.c's guest_state). Parsed from a create request, kept in the store's
 * document, shown in the node's JSON.
 *
 * Invariants of a parsed spec: a ConfidentialVM node has a TEE, a vTPM,
 * a disk security other than none and the guest-state file; any other node
 * has tee "none" and disk security "none"; NonPersistedTPM is a TDX node's
 * only, and its vTPM is not persisted (vtpm_persist false: a fresh vTPM at
 * every boot). A confidential node may carry its own TEE policy
 * ("tee_policy", checked here; attest_tee.c uses it when no pool names
 * one). A document from an earlier tld (no such keys) reads as
 * TrustedLaunch when it has Secure Boot or a vTPM, else Standard. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tl/aks.h"
#include "tl/tee.h"
#include "tld.h"

static const char *default_type(const struct tld_node_spec *spec)
{
    return spec->secure_boot || spec->vtpm ? TL_SECURITY_TRUSTED_LAUNCH : TL_SECURITY_STANDARD;
}

static int str_field(const json_t *req, const char *key, const char **out, struct tl_error *err)
{
    json_t *v = json_object_get(req, key);
    *out = NULL;
    if (v && !json_is_string(v))
        return tl_error_set_nopos(err, -EINVAL, "\"%s\" must be a string", key);
    *out = json_string_value(v);
    return 0;
}

int tld_node_security_parse(const json_t *req, struct tld_node_spec *spec, struct tl_error *err)
{
    const char *st, *tee_s, *disk;
    int r;
    if ((r = str_field(req, "security_type", &st, err)) ||
        (r = str_field(req, "tee", &tee_s, err)) ||
        (r = str_field(req, "disk_security", &disk, err)))
        return r;
    json_t *gs = json_object_get(req, "guest_state");
    if (gs && !json_is_boolean(gs))
        return tl_error_set_nopos(err, -EINVAL, "\"guest_state\" must be true or false");
    const char *type = st ? tl_security_type_canonical(st) : default_type(spec);
    if (!type)
        return tl_error_set_nopos(
            err, -EINVAL, "\"security_type\" must be Standard, TrustedLaunch or ConfidentialVM");
    enum tl_tee tee = TL_TEE_NONE;
    if (tee_s && tl_tee_parse(tee_s, &tee) < 0)
        return tl_error_set_nopos(err, -EINVAL, "\"tee\" must be none, snp or tdx");
    bool cvm = strcmp(type, TL_SECURITY_CONFIDENTIAL) == 0;
    const char *ds = disk ? tl_disk_security_canonical(disk)
                          : (cvm ? TL_DISK_SECURITY_VMGS : TL_DISK_SECURITY_NONE);
    if (!ds)
        return tl_error_set_nopos(
            err, -EINVAL,
            "\"disk_security\" must be none, VMGuestStateOnly, DiskWithVMGuestState "
            "or NonPersistedTPM");
    bool none = strcmp(ds, TL_DISK_SECURITY_NONE) == 0;
    if (cvm && tee == TL_TEE_NONE)
        return tl_error_set_nopos(err, -EINVAL,
                                  "\"security_type\" ConfidentialVM needs a \"tee\": snp or tdx");
    if (!cvm && tee != TL_TEE_NONE)
        return tl_error_set_nopos(
            err, -EINVAL, "\"tee\" %s is for a ConfidentialVM node (\"security_type\")", tee_s);
    if (cvm && none)
        return tl_error_set_nopos(
            err, -EINVAL,
            "a ConfidentialVM node needs a \"disk_security\": VMGuestStateOnly, "
            "DiskWithVMGuestState or NonPersistedTPM");
    if (!cvm && !none)
        return tl_error_set_nopos(
            err, -EINVAL, "\"disk_security\" %s is for a ConfidentialVM node (\"security_type\")",
            ds);
    if (strcmp(ds, TL_DISK_SECURITY_NONPERSISTED) == 0) {
        if (tee != TL_TEE_TDX)
            return tl_error_set_nopos(
                err, -EINVAL,
                "\"disk_security\" NonPersistedTPM is for Intel TDX nodes only "
                "(\"tee\": \"tdx\"; confidential VM FAQ)");
        if (json_is_true(json_object_get(req, "vtpm_persist")))
            return tl_error_set_nopos(
                err, -EINVAL,
                "\"disk_security\" NonPersistedTPM is a vTPM that is not persisted "
                "(\"vtpm_persist\": false)");
        spec->vtpm_persist = false;
    }
    if (cvm && !spec->vtpm)
        return tl_error_set_nopos(err, -EINVAL,
                                  "a ConfidentialVM node has a vTPM (\"vtpm\": true)");
    if (!strcmp(type, TL_SECURITY_STANDARD) && (spec->secure_boot || spec->vtpm))
        return tl_error_set_nopos(
            err, -EINVAL,
            "a Standard node has no Secure Boot or vTPM (\"secure_boot\": false, "
            "\"vtpm\": false)");
    if (cvm && json_is_false(gs))
        return tl_error_set_nopos(err, -EINVAL,
                                  "a ConfidentialVM node has the encrypted guest-state file "
                                  "(\"guest_state\": true)");
    spec->security_type = type;
    spec->tee = tl_tee_name(tee);
    spec->disk_security = ds;
    spec->guest_state = cvm || json_is_true(gs);
    return 0;
}

int tld_node_tee_policy_parse(const json_t *req, const struct tld_node_spec *spec, json_t **out,
                              struct tl_error *err)
{
    json_t *v = json_object_get(req, "tee_policy");
    *out = NULL;
    if (!v)
        return 0;
    if (!json_is_object(v))
        return tl_error_set_nopos(err, -EINVAL, "\"tee_policy\" must be a TEE policy object");
    if (!spec->tee || strcmp(spec->tee, "none") == 0)
        return tl_error_set_nopos(
            err, -EINVAL,
            "\"tee_policy\" is for a confidential node (\"security_type\" ConfidentialVM)");
    char *text = json_dumps(v, JSON_COMPACT);
    if (!text)
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    struct tl_tee_policy pol;
    struct tl_error e = {0};
    tl_tee_policy_init(&pol);
    int r = tl_tee_policy_parse(text, strlen(text), &pol, &e);
    free(text);
    if (r < 0)
        return tl_error_set_nopos(err, r == -ENOMEM ? r : -EINVAL, "\"tee_policy\": %s", e.message);
    *out = json_incref(v);
    return 0;
}

void tld_node_security_json(const struct tld_node_spec *spec, json_t *obj)
{
    json_object_set_new(obj, "security_type", json_string(spec->security_type));
    json_object_set_new(obj, "tee", json_string(spec->tee));
    json_object_set_new(obj, "disk_security", json_string(spec->disk_security));
    json_object_set_new(obj, "guest_state", json_boolean(spec->guest_state));
}

void tld_node_security_from_json(const json_t *obj, struct tld_node_spec *spec)
{
    const char *type =
        tl_security_type_canonical(json_string_value(json_object_get(obj, "security_type")));
    const char *ds =
        tl_disk_security_canonical(json_string_value(json_object_get(obj, "disk_security")));
    enum tl_tee tee = TL_TEE_NONE;
    tl_tee_parse(json_string_value(json_object_get(obj, "tee")), &tee);
    spec->security_type = type ? type : default_type(spec);
    spec->tee = tl_tee_name(tee);
    spec->disk_security = ds ? ds : TL_DISK_SECURITY_NONE;
    spec->guest_state = json_is_true(json_object_get(obj, "guest_state"));
}

bool tld_node_confidential(const struct tld_node *n)
{
    return n->spec.security_type && strcmp(n->spec.security_type, TL_SECURITY_CONFIDENTIAL) == 0;
}
