/* TEE policy: the strict defaults and the JSON policy file.
 *
 * The file is an object of known keys only: an unknown key is an error,
 * because a misspelt pin ("measurment") that were silently ignored would
 * leave the measurement unenforced while its author believes it pinned.
 * Pins are hex of their field's exact size. Size cap: 64 KiB (a policy is
 * a few hundred bytes; the cap keeps jansson's work bounded). */
#include "tl/tee.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tl/util.h"

#define POLICY_MAX_BYTES (64 * 1024)

void tl_tee_policy_init(struct tl_tee_policy *p)
{
    *p = (struct tl_tee_policy){
        .allow_debug = false,
        .tcb_status_mask = 1u << TL_TEE_TCB_UP_TO_DATE,
        .vmpl_mask = 0x1,
        .allow_migration_agent = false,
        .allow_smt = true,
        .require_secure_boot = true,
        .require_tpm_enabled = true,
        .allow_console = true,
    };
}

bool tl_tee_pin_matches(const struct tl_tee_pin *pin, const uint8_t *value, size_t len)
{
    if (!pin->set)
        return true;
    return pin->len == len && memcmp(pin->v, value, len) == 0;
}

static int pin_parse(const char *key, json_t *val, size_t size, struct tl_tee_pin *pin,
                     struct tl_error *err)
{
    if (json_is_null(val)) {
        pin->set = false;
        return 0;
    }
    if (!json_is_string(val))
        return tl_error_set_nopos(err, -EINVAL, "policy: %s: expected a hex string", key);
    const char *s = json_string_value(val);
    size_t n = json_string_length(val);
    if (n != 2 * size)
        return tl_error_set_nopos(err, -EINVAL, "policy: %s: %zu hex digits, expected %zu", key, n,
                                  2 * size);
    int r = tl_hex_decode(s, n, pin->v, sizeof(pin->v));
    if (r != (int)size)
        return tl_error_set_nopos(err, -EINVAL, "policy: %s: not hex", key);
    pin->set = true;
    pin->len = size;
    return 0;
}

static int bool_parse(const char *key, json_t *val, bool *out, struct tl_error *err)
{
    if (!json_is_boolean(val))
        return tl_error_set_nopos(err, -EINVAL, "policy: %s: expected true or false", key);
    *out = json_is_true(val);
    return 0;
}

static int uint_parse(const char *key, json_t *val, long long max, long long *out,
                      struct tl_error *err)
{
    if (!json_is_integer(val) || json_integer_value(val) < 0 || json_integer_value(val) > max)
        return tl_error_set_nopos(err, -EINVAL, "policy: %s: expected an integer 0..%lld", key,
                                  max);
    *out = json_integer_value(val);
    return 0;
}

static int min_tcb_parse(json_t *val, struct tl_tee_snp_tcb_min *t, struct tl_error *err)
{
    if (!json_is_object(val))
        return tl_error_set_nopos(err, -EINVAL, "policy: min-tcb: expected an object");
    *t = (struct tl_tee_snp_tcb_min){.set = true};
    const char *k;
    json_t *v;
    json_object_foreach(val, k, v)
    {
        uint8_t *dst = strcmp(k, "bootloader") == 0  ? &t->bootloader
                       : strcmp(k, "tee") == 0       ? &t->tee
                       : strcmp(k, "snp") == 0       ? &t->snp
                       : strcmp(k, "microcode") == 0 ? &t->microcode
                       : strcmp(k, "fmc") == 0       ? &t->fmc
                                                     : NULL;
        if (!dst)
            return tl_error_set_nopos(err, -EINVAL, "policy: min-tcb: unknown key \"%s\"", k);
        long long n;
        int r = uint_parse(k, v, 255, &n, err);
        if (r < 0)
            return r;
        *dst = (uint8_t)n;
    }
    return 0;
}

static int abi_parse(json_t *val, struct tl_tee_policy *p, struct tl_error *err)
{
    unsigned major, minor;
    char tail;
    if (!json_is_string(val) ||
        sscanf(json_string_value(val), "%u.%u%c", &major, &minor, &tail) != 2 || major > 255 ||
        minor > 255)
        return tl_error_set_nopos(err, -EINVAL, "policy: min-abi: expected \"MAJOR.MINOR\"");
    p->snp_min_abi_set = true;
    p->snp_min_abi_major = (uint8_t)major;
    p->snp_min_abi_minor = (uint8_t)minor;
    return 0;
}

static int vmpl_parse(json_t *val, struct tl_tee_policy *p, struct tl_error *err)
{
    if (!json_is_array(val) || json_array_size(val) == 0)
        return tl_error_set_nopos(err, -EINVAL, "policy: vmpl: expected a non-empty array");
    uint8_t mask = 0;
    size_t i;
    json_t *v;
    json_array_foreach(val, i, v)
    {
        long long n;
        int r = uint_parse("vmpl", v, 3, &n, err);
        if (r < 0)
            return r;
        mask |= (uint8_t)(1u << n);
    }
    p->vmpl_mask = mask;
    return 0;
}

static int status_parse(json_t *val, struct tl_tee_policy *p, struct tl_error *err)
{
    if (!json_is_array(val) || json_array_size(val) == 0)
        return tl_error_set_nopos(err, -EINVAL, "policy: tcb-status: expected a non-empty array");
    uint32_t mask = 0;
    size_t i;
    json_t *v;
    json_array_foreach(val, i, v)
    {
        int s = json_is_string(v) ? tl_tee_tcb_status_from_name(json_string_value(v)) : -EINVAL;
        if (s < 0)
            return tl_error_set_nopos(err, -EINVAL,
                                      "policy: tcb-status: entry %zu is not a TCB status "
                                      "(UpToDate, SWHardeningNeeded, ConfigurationNeeded, "
                                      "ConfigurationAndSWHardeningNeeded, OutOfDate, "
                                      "OutOfDateConfigurationNeeded, Revoked)",
                                      i);
        mask |= 1u << s;
    }
    p->tcb_status_mask = mask;
    return 0;
}

static int rtmr_parse(json_t *val, struct tl_tee_policy *p, struct tl_error *err)
{
    if (!json_is_array(val) || json_array_size(val) != 4)
        return tl_error_set_nopos(err, -EINVAL,
                                  "policy: rtmr: expected an array of 4 (hex or null)");
    for (size_t i = 0; i < 4; i++) {
        int r = pin_parse("rtmr", json_array_get(val, i), 48, &p->rtmr[i], err);
        if (r < 0)
            return r;
    }
    return 0;
}

bool tl_tee_policy_trusts_root(const struct tl_tee_policy *p, enum tl_tee_root_kind kind,
                               const uint8_t sha256[32])
{
    for (unsigned i = 0; i < p->n_trusted_roots; i++)
        if (p->trusted_roots[i].kind == kind && memcmp(p->trusted_roots[i].sha256, sha256, 32) == 0)
            return true;
    return false;
}

/* [{"kind": "snp-ark"|"tdx-root", "sha256": "64 hex digits"}]: replaces
 * any earlier list (a policy file states the whole set). */
static int roots_parse(json_t *val, struct tl_tee_policy *p, struct tl_error *err)
{
    if (!json_is_array(val) || json_array_size(val) > TL_TEE_MAX_TRUSTED_ROOTS)
        return tl_error_set_nopos(err, -EINVAL,
                                  "policy: trusted-roots: expected an array of at most %d",
                                  TL_TEE_MAX_TRUSTED_ROOTS);
    p->n_trusted_roots = 0;
    size_t i;
    json_t *v;
    json_array_foreach(val, i, v)
    {
        const char *kind = json_string_value(json_object_get(v, "kind"));
        const char *hex = json_string_value(json_object_get(v, "sha256"));
        struct tl_tee_trusted_root *t = &p->trusted_roots[p->n_trusted_roots];
        if (!json_is_object(v) || json_object_size(v) != 2 || !kind || !hex)
            return tl_error_set_nopos(err, -EINVAL,
                                      "policy: trusted-roots[%zu]: expected {\"kind\", "
                                      "\"sha256\"} only",
                                      i);
        if (strcmp(kind, "snp-ark") == 0)
            t->kind = TL_TEE_ROOT_SNP_ARK;
        else if (strcmp(kind, "tdx-root") == 0)
            t->kind = TL_TEE_ROOT_TDX_ROOT;
        else
            return tl_error_set_nopos(err, -EINVAL,
                                      "policy: trusted-roots[%zu]: kind \"%s\" is not snp-ark or "
                                      "tdx-root",
                                      i, kind);
        if (strlen(hex) != 64 || tl_hex_decode(hex, 64, t->sha256, 32) != 32)
            return tl_error_set_nopos(err, -EINVAL,
                                      "policy: trusted-roots[%zu]: sha256 is not 64 hex digits", i);
        p->n_trusted_roots++;
    }
    return 0;
}

static int key_parse(const char *k, json_t *v, struct tl_tee_policy *p, struct tl_error *err)
{
    long long n;
    int r;
    if (strcmp(k, "allow-debug") == 0)
        return bool_parse(k, v, &p->allow_debug, err);
    if (strcmp(k, "allow-migration-agent") == 0)
        return bool_parse(k, v, &p->allow_migration_agent, err);
    if (strcmp(k, "allow-provisional-firmware") == 0)
        return bool_parse(k, v, &p->allow_provisional_firmware, err);
    if (strcmp(k, "allow-smt") == 0)
        return bool_parse(k, v, &p->allow_smt, err);
    if (strcmp(k, "require-secure-boot") == 0)
        return bool_parse(k, v, &p->require_secure_boot, err);
    if (strcmp(k, "require-tpm-enabled") == 0)
        return bool_parse(k, v, &p->require_tpm_enabled, err);
    if (strcmp(k, "allow-console") == 0)
        return bool_parse(k, v, &p->allow_console, err);
    if (strcmp(k, "vmpl") == 0)
        return vmpl_parse(v, p, err);
    if (strcmp(k, "tcb-status") == 0)
        return status_parse(v, p, err);
    if (strcmp(k, "measurement") == 0 || strcmp(k, "mrtd") == 0)
        return pin_parse(k, v, 48, &p->measurement, err);
    if (strcmp(k, "report-data") == 0)
        return pin_parse(k, v, 64, &p->report_data, err);
    if (strcmp(k, "host-data") == 0)
        return pin_parse(k, v, 32, &p->host_data, err);
    if (strcmp(k, "id-key-digest") == 0)
        return pin_parse(k, v, 48, &p->id_key_digest, err);
    if (strcmp(k, "author-key-digest") == 0)
        return pin_parse(k, v, 48, &p->author_key_digest, err);
    if (strcmp(k, "min-tcb") == 0)
        return min_tcb_parse(v, &p->snp_min_tcb, err);
    if (strcmp(k, "min-abi") == 0)
        return abi_parse(v, p, err);
    if (strcmp(k, "min-guest-svn") == 0) {
        r = uint_parse(k, v, UINT32_MAX, &n, err);
        if (r >= 0)
            p->min_guest_svn = (uint32_t)n;
        return r;
    }
    if (strcmp(k, "rtmr") == 0)
        return rtmr_parse(v, p, err);
    if (strcmp(k, "mrconfigid") == 0)
        return pin_parse(k, v, 48, &p->mrconfigid, err);
    if (strcmp(k, "mrowner") == 0)
        return pin_parse(k, v, 48, &p->mrowner, err);
    if (strcmp(k, "mrownerconfig") == 0)
        return pin_parse(k, v, 48, &p->mrownerconfig, err);
    if (strcmp(k, "min-tee-tcb-svn") == 0)
        return pin_parse(k, v, 16, &p->min_tee_tcb_svn, err);
    if (strcmp(k, "user-data") == 0)
        return pin_parse(k, v, 64, &p->user_data, err);
    if (strcmp(k, "trusted-roots") == 0)
        return roots_parse(v, p, err);
    return tl_error_set_nopos(err, -EINVAL, "policy: unknown key \"%s\"", k);
}

int tl_tee_policy_parse(const char *text, size_t len, struct tl_tee_policy *p, struct tl_error *err)
{
    if (len > POLICY_MAX_BYTES)
        return tl_error_set_nopos(err, -EFBIG, "policy: %zu bytes exceeds the %d-byte cap", len,
                                  POLICY_MAX_BYTES);
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return tl_error_set(err, -EINVAL, (size_t)je.position, "policy: %s", je.text);
    int r = 0;
    if (!json_is_object(root)) {
        r = tl_error_set_nopos(err, -EINVAL, "policy: expected a JSON object");
    } else {
        const char *k;
        json_t *v;
        json_object_foreach(root, k, v)
        {
            r = key_parse(k, v, p, err);
            if (r < 0)
                break;
        }
    }
    json_decref(root);
    return r;
}
