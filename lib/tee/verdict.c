/* TEE verdicts: reasons with stable codes, MAA-named claims, the time a
 * verdict was judged at, and the JSON form the CLI prints.
 *
 * Invariant: v->pass is false from init until tl_tee_verdict_finish finds
 * no reason; a reason can never be lost (past TL_TEE_MAX_REASONS they are
 * counted in n_dropped and the verdict stays fail). */
#include "tl/tee.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl/util.h"

static const char *const code_names[TL_TEE_CODE_COUNT] = {
    [TL_TEE_SIGNATURE] = "signature",
    [TL_TEE_CHAIN] = "chain",
    [TL_TEE_TCB_MISMATCH] = "tcb-mismatch",
    [TL_TEE_CHIP_ID] = "chip-id",
    [TL_TEE_DEBUG] = "debug",
    [TL_TEE_VMPL] = "vmpl",
    [TL_TEE_VERSION] = "version",
    [TL_TEE_EXPIRED] = "expired",
    [TL_TEE_COLLATERAL_EXPIRED] = "collateral-expired",
    [TL_TEE_TCB_LEVEL] = "tcb-level",
    [TL_TEE_TCB_STATUS] = "tcb-status",
    [TL_TEE_REVOKED] = "revoked",
    [TL_TEE_QE_BINDING] = "qe-binding",
    [TL_TEE_NONCE] = "nonce",
    [TL_TEE_USER_DATA] = "user-data",
    [TL_TEE_BINDING] = "binding",
    [TL_TEE_TPM_SIGNATURE] = "tpm-signature",
    [TL_TEE_PCR_DIGEST] = "pcr-digest",
    [TL_TEE_SECURE_BOOT_OFF] = "secure-boot-off",
    [TL_TEE_MEASUREMENT] = "measurement",
    [TL_TEE_POLICY] = "policy",
    [TL_TEE_MALFORMED] = "malformed",
    [TL_TEE_COLLATERAL] = "collateral",
    [TL_TEE_NOT_VERIFIED] = "not-verified",
    [TL_TEE_HOST_DATA] = "host-data",
    [TL_TEE_REPORT_DATA] = "report-data",
    [TL_TEE_ID_KEY] = "id-key",
    [TL_TEE_AUTHOR_KEY] = "author-key",
    [TL_TEE_MIGRATION_AGENT] = "migration-agent",
    [TL_TEE_SMT] = "smt",
    [TL_TEE_ABI] = "abi",
    [TL_TEE_SVN] = "svn",
    [TL_TEE_TPM_DISABLED] = "tpm-disabled",
    [TL_TEE_VM_CONFIG] = "vm-config",
    [TL_TEE_ROOT_UNTRUSTED] = "root-untrusted",
};

const char *tl_tee_code_name(enum tl_tee_code code)
{
    return (unsigned)code < TL_TEE_CODE_COUNT && code_names[code] ? code_names[code] : "?";
}

int tl_tee_code_from_name(const char *name)
{
    for (unsigned i = 0; i < TL_TEE_CODE_COUNT; i++)
        if (code_names[i] && strcmp(code_names[i], name) == 0)
            return (int)i;
    return -EINVAL;
}

const char *tl_tee_kind_name(enum tl_tee_kind kind)
{
    switch (kind) {
    case TL_TEE_KIND_SNP:
        return "snp";
    case TL_TEE_KIND_TDX:
        return "tdx";
    case TL_TEE_KIND_AZ_SNP_VTPM:
        return "az-snp-vtpm";
    case TL_TEE_KIND_AZ_TDX_VTPM:
        return "az-tdx-vtpm";
    default:
        return "unknown";
    }
}

static const char *const status_names[TL_TEE_TCB_STATUS_COUNT] = {
    [TL_TEE_TCB_UP_TO_DATE] = "UpToDate",
    [TL_TEE_TCB_SW_HARDENING_NEEDED] = "SWHardeningNeeded",
    [TL_TEE_TCB_CONFIGURATION_NEEDED] = "ConfigurationNeeded",
    [TL_TEE_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED] = "ConfigurationAndSWHardeningNeeded",
    [TL_TEE_TCB_OUT_OF_DATE] = "OutOfDate",
    [TL_TEE_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED] = "OutOfDateConfigurationNeeded",
    [TL_TEE_TCB_REVOKED] = "Revoked",
};

const char *tl_tee_tcb_status_name(enum tl_tee_tcb_status s)
{
    return (unsigned)s < TL_TEE_TCB_STATUS_COUNT ? status_names[s] : "?";
}

int tl_tee_tcb_status_from_name(const char *name)
{
    for (unsigned i = 0; i < TL_TEE_TCB_STATUS_COUNT; i++)
        if (strcmp(status_names[i], name) == 0)
            return (int)i;
    return -EINVAL;
}

int tl_tee_verdict_init(struct tl_tee_verdict *v, enum tl_tee_kind kind, time_t at)
{
    *v = (struct tl_tee_verdict){.kind = kind, .at = at};
    v->claims = json_object();
    return v->claims ? 0 : -ENOMEM;
}

void tl_tee_verdict_done(struct tl_tee_verdict *v)
{
    json_decref(v->claims);
    v->claims = NULL;
    v->pass = false;
}

void tl_tee_fail(struct tl_tee_verdict *v, enum tl_tee_code code, const char *fmt, ...)
{
    v->pass = false;
    if (v->n_reasons >= TL_TEE_MAX_REASONS) {
        v->n_dropped++;
        return;
    }
    struct tl_tee_reason *r = &v->reasons[v->n_reasons++];
    r->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
    va_end(ap);
}

bool tl_tee_verdict_finish(struct tl_tee_verdict *v)
{
    v->pass = v->n_reasons == 0 && v->n_dropped == 0;
    return v->pass;
}

bool tl_tee_verdict_has(const struct tl_tee_verdict *v, enum tl_tee_code code)
{
    for (unsigned i = 0; i < v->n_reasons; i++)
        if (v->reasons[i].code == code)
            return true;
    return false;
}

void tl_tee_verdict_merge(struct tl_tee_verdict *dst, const struct tl_tee_verdict *src,
                          const char *prefix)
{
    for (unsigned i = 0; i < src->n_reasons; i++)
        tl_tee_fail(dst, src->reasons[i].code, "%s%s", prefix ? prefix : "",
                    src->reasons[i].detail);
    dst->n_dropped += src->n_dropped;
    dst->emulated = dst->emulated || src->emulated;
    if (src->n_dropped)
        dst->pass = false;
}

void tl_tee_time_format(time_t t, char *buf, size_t size)
{
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, size, "@%lld", (long long)t);
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return n > 0;
}

static int num(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

int tl_tee_time_parse(const char *s, time_t *out)
{
    size_t n = strlen(s);
    const char *d = s[0] == '@' ? s + 1 : s;
    if (all_digits(d, strlen(d)) && strlen(d) <= 12) {
        *out = (time_t)strtoll(d, NULL, 10);
        return 0;
    }
    /* YYYY-MM-DD[THH:MM:SS[.fff]Z] */
    if (n < 10 || !all_digits(s, 4) || s[4] != '-' || !all_digits(s + 5, 2) || s[7] != '-' ||
        !all_digits(s + 8, 2))
        return -EINVAL;
    struct tm tm = {
        .tm_year = num(s, 4) - 1900, .tm_mon = num(s + 5, 2) - 1, .tm_mday = num(s + 8, 2)};
    const char *p = s + 10;
    if (*p) {
        if ((*p != 'T' && *p != ' ') || strlen(p) < 10 || !all_digits(p + 1, 2) || p[3] != ':' ||
            !all_digits(p + 4, 2) || p[6] != ':' || !all_digits(p + 7, 2))
            return -EINVAL;
        tm.tm_hour = num(p + 1, 2);
        tm.tm_min = num(p + 4, 2);
        tm.tm_sec = num(p + 7, 2);
        p += 9;
        if (*p == '.') {
            p++;
            while (*p >= '0' && *p <= '9')
                p++;
        }
        if (strcmp(p, "Z") != 0 && strcmp(p, "+00:00") != 0)
            return -EINVAL;
    }
    if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 60)
        return -EINVAL;
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return -EINVAL;
    *out = t;
    return 0;
}

json_t *tl_tee_verdict_json(const struct tl_tee_verdict *v)
{
    char at[40];
    tl_tee_time_format(v->at, at, sizeof(at));
    json_t *reasons = json_array();
    if (!reasons)
        return NULL;
    for (unsigned i = 0; i < v->n_reasons; i++) {
        json_t *r = json_pack("{s:s,s:s}", "code", tl_tee_code_name(v->reasons[i].code), "detail",
                              v->reasons[i].detail);
        if (!r || json_array_append_new(reasons, r) < 0) {
            json_decref(reasons);
            return NULL;
        }
    }
    json_t *o = json_pack("{s:s,s:s,s:s,s:o,s:O}", "verdict", v->pass ? "pass" : "fail", "kind",
                          tl_tee_kind_name(v->kind), "at", at, "reasons", reasons, "claims",
                          v->claims ? v->claims : json_null());
    if (o && v->emulated)
        json_object_set_new(o, "emulated", json_true());
    if (o && v->n_dropped)
        json_object_set_new(o, "reasons_dropped", json_integer(v->n_dropped));
    return o;
}

void tl_tee_claim_hex(json_t *obj, const char *name, const uint8_t *p, size_t len)
{
    char *hex = malloc(2 * len + 1);
    if (!hex)
        return;
    tl_hex_encode(p, len, hex);
    json_object_set_new(obj, name, json_string(hex));
    free(hex);
}

void tl_tee_claim_int(json_t *obj, const char *name, long long value)
{
    json_object_set_new(obj, name, json_integer(value));
}

void tl_tee_claim_bool(json_t *obj, const char *name, bool value)
{
    json_object_set_new(obj, name, json_boolean(value));
}

void tl_tee_claim_str(json_t *obj, const char *name, const char *value)
{
    json_object_set_new(obj, name, json_string(value));
}
