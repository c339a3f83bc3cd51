/* Azure confidential-VM evidence (trustee's az-snp-vtpm / az-tdx-vtpm
 * forms, tl/azure.h): decode the evidence JSON, then judge it.
 *
 * The chain of trust, each link a reason code of its own:
 *   hardware report (SNP: signature, VCEK, AMD roots, via snp.c; TDX: the
 *   TD quote, via the caller's TDX verifier)
 *   -> REPORT_DATA = H(runtime JSON) || zeros            `binding`
 *   -> the runtime JSON's HCLAkPub
 *   -> the vTPM quote's signature by that key            `tpm-signature`
 *   -> the quote's extraData = the caller's nonce         `nonce`
 *   -> the quote's pcrDigest = H(the PCR values sent, in the quote's
 *      selection order)                                  `pcr-digest`
 *   and the runtime JSON's claims: vm-configuration (`secure-boot-off`,
 *   `tpm-disabled`, `vm-config`) and user-data (`user-data`).
 * Stricter than trustee: v2's user-data check and the vm-configuration
 * flags are enforced, the PCR digest follows the quote's own selection
 * (not "all PCRs sent"), REPORT_DATA's unused half must be zero, and the
 * HCL report may carry no unaccounted bytes.
 *
 * The vTPM quote's signature is RSASSA-PKCS1-v1_5 with SHA-256, as the raw
 * signature bytes the evidence carries (not a TPMT_SIGNATURE); the quote
 * itself (TPMS_ATTEST) and its PCR digest go through lib/tpm/quote.c. */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <string.h>

#include "tl/azure.h"
#include "tl/base64.h"
#include "tl/digest.h"
#include "tl/quote.h"
#include "tl/replay.h"
#include "tl/util.h"

#define EVIDENCE_MAX (1024 * 1024)
#define FIELD_MAX    (256 * 1024)

/* ---- the evidence JSON ---- */

static int bytes_array(json_t *j, const char *what, uint8_t **out, size_t *len,
                       struct tl_error *err)
{
    if (!json_is_array(j) || json_array_size(j) > FIELD_MAX)
        return tl_error_set_nopos(err, -EBADMSG, "evidence: %s: expected an array of bytes", what);
    size_t n = json_array_size(j);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        json_t *x = json_array_get(j, i);
        if (!json_is_integer(x) || json_integer_value(x) < 0 || json_integer_value(x) > 255) {
            free(buf);
            return tl_error_set_nopos(err, -EBADMSG, "evidence: %s[%zu] is not a byte", what, i);
        }
        buf[i] = (uint8_t)json_integer_value(x);
    }
    *out = buf;
    *len = n;
    return 0;
}

/* The string decoders take the text itself (s, n), NULL when the member
 * is not a string: the jansson reader and the one-pass reader below share
 * them. */
static int hex_text(const char *s, size_t n, const char *what, uint8_t **out, size_t *len,
                    struct tl_error *err)
{
    if (!s || n % 2 || n / 2 > FIELD_MAX)
        return tl_error_set_nopos(err, -EBADMSG, "evidence: %s: expected a hex string", what);
    uint8_t *buf = malloc(n / 2 + 1);
    if (!buf)
        return -ENOMEM;
    if (tl_hex_decode(s, n, buf, n / 2 + 1) != (int)(n / 2)) {
        free(buf);
        return tl_error_set_nopos(err, -EBADMSG, "evidence: %s: not hex", what);
    }
    *out = buf;
    *len = n / 2;
    return 0;
}

static int b64url_text(const char *s, size_t n, const char *what, uint8_t **out, size_t *len,
                       struct tl_error *err)
{
    if (!s || n > FIELD_MAX * 2)
        return tl_error_set_nopos(err, -EBADMSG, "evidence: %s: expected base64url", what);
    int r = tl_base64_decode(s, n, TL_BASE64_URL | TL_BASE64_PAD_OPTIONAL, out, len);
    if (r == -EINVAL)
        return tl_error_set_nopos(err, -EBADMSG, "evidence: %s: not base64url", what);
    return r;
}

static int bytes_hex(json_t *j, const char *what, uint8_t **out, size_t *len, struct tl_error *err)
{
    return hex_text(json_string_value(j), json_is_string(j) ? json_string_length(j) : 0, what, out,
                    len, err);
}

static int bytes_b64url(json_t *j, const char *what, uint8_t **out, size_t *len,
                        struct tl_error *err)
{
    return b64url_text(json_string_value(j), json_is_string(j) ? json_string_length(j) : 0, what,
                       out, len, err);
}

typedef int (*bytes_fn)(json_t *, const char *, uint8_t **, size_t *, struct tl_error *);

static int tpm_quote_parse(json_t *q, bytes_fn dec, struct tl_az_evidence *ev, struct tl_error *err)
{
    if (!json_is_object(q))
        return tl_error_set_nopos(err, -EBADMSG, "evidence: the TPM quote is not an object");
    const char *k;
    json_t *v;
    json_object_foreach(q, k, v)
    {
        if (strcmp(k, "signature") && strcmp(k, "message") && strcmp(k, "pcrs"))
            return tl_error_set_nopos(err, -EBADMSG, "evidence: TPM quote: unknown member \"%s\"",
                                      k);
    }
    int r = dec(json_object_get(q, "signature"), "tpm_quote.signature", &ev->tpm_signature,
                &ev->tpm_signature_len, err);
    if (r < 0)
        return r;
    r = dec(json_object_get(q, "message"), "tpm_quote.message", &ev->tpm_message,
            &ev->tpm_message_len, err);
    if (r < 0)
        return r;
    json_t *pcrs = json_object_get(q, "pcrs");
    if (!json_is_array(pcrs) || json_array_size(pcrs) > 24)
        return tl_error_set_nopos(err, -EBADMSG,
                                  "evidence: tpm_quote.pcrs: expected up to 24 SHA-256 values");
    size_t i;
    json_array_foreach(pcrs, i, v)
    {
        uint8_t *b;
        size_t n;
        r = dec(v, "tpm_quote.pcrs[]", &b, &n, err);
        if (r < 0)
            return r;
        if (n != 32) {
            free(b);
            return tl_error_set_nopos(err, -EBADMSG, "evidence: PCR %zu is %zu bytes, not 32", i,
                                      n);
        }
        memcpy(ev->pcrs[i], b, 32);
        free(b);
    }
    ev->n_pcrs = json_array_size(pcrs);
    return 0;
}

static bool only_members(json_t *o, const char *const *names, const char **bad)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        bool known = false;
        for (const char *const *n = names; *n; n++)
            known = known || strcmp(*n, k) == 0;
        if (!known) {
            *bad = k;
            return false;
        }
    }
    return true;
}

static int evidence_decode(json_t *root, struct tl_az_evidence *ev, struct tl_error *err)
{
    const char *bad = NULL;
    json_t *ver = json_object_get(root, "version");
    if (ver) {
        if (!json_is_integer(ver) || json_integer_value(ver) < 1 || json_integer_value(ver) > 2)
            return tl_error_set_nopos(err, -EBADMSG,
                                      "evidence: version must be 1 or 2 (0 has no member)");
        ev->version = (int)json_integer_value(ver);
        bool snp = json_object_get(root, "vcek") != NULL;
        static const char *const snp_names[] = {"version", "tpm_quote", "hcl_report", "vcek", NULL};
        static const char *const tdx_names[] = {"version", "tpm_quote", "hcl_report", "td_quote",
                                                NULL};
        if (!only_members(root, snp ? snp_names : tdx_names, &bad))
            return tl_error_set_nopos(err, -EBADMSG, "evidence: unknown member \"%s\"", bad);
        ev->kind = snp ? TL_TEE_KIND_AZ_SNP_VTPM : TL_TEE_KIND_AZ_TDX_VTPM;
        int r = bytes_b64url(json_object_get(root, "hcl_report"), "hcl_report", &ev->hcl_report,
                             &ev->hcl_len, err);
        if (r >= 0)
            r = snp ? bytes_b64url(json_object_get(root, "vcek"), "vcek", &ev->vcek, &ev->vcek_len,
                                   err)
                    : bytes_b64url(json_object_get(root, "td_quote"), "td_quote", &ev->td_quote,
                                   &ev->td_quote_len, err);
        if (r >= 0)
            r = tpm_quote_parse(json_object_get(root, "tpm_quote"), bytes_hex, ev, err);
        return r;
    }
    /* v0: SNP {quote, report, vcek (PEM)}; TDX {tpm_quote, hcl_report, td_quote} */
    ev->version = 0;
    if (json_object_get(root, "vcek")) {
        static const char *const names[] = {"quote", "report", "vcek", NULL};
        if (!only_members(root, names, &bad))
            return tl_error_set_nopos(err, -EBADMSG, "evidence: unknown member \"%s\"", bad);
        ev->kind = TL_TEE_KIND_AZ_SNP_VTPM;
        json_t *vcek = json_object_get(root, "vcek");
        if (!json_is_string(vcek) || json_string_length(vcek) > FIELD_MAX)
            return tl_error_set_nopos(err, -EBADMSG, "evidence: vcek: expected PEM text");
        ev->vcek_len = json_string_length(vcek);
        ev->vcek = malloc(ev->vcek_len + 1);
        if (!ev->vcek)
            return -ENOMEM;
        memcpy(ev->vcek, json_string_value(vcek), ev->vcek_len + 1);
        int r = bytes_array(json_object_get(root, "report"), "report", &ev->hcl_report,
                            &ev->hcl_len, err);
        return r < 0 ? r : tpm_quote_parse(json_object_get(root, "quote"), bytes_array, ev, err);
    }
    static const char *const names[] = {"tpm_quote", "hcl_report", "td_quote", NULL};
    if (!json_object_get(root, "td_quote") || !only_members(root, names, &bad))
        return tl_error_set_nopos(err, -EBADMSG,
                                  bad ? "evidence: unknown member \"%s\""
                                      : "evidence: not Azure vTPM evidence (no vcek or td_quote)",
                                  bad);
    ev->kind = TL_TEE_KIND_AZ_TDX_VTPM;
    int r = bytes_array(json_object_get(root, "hcl_report"), "hcl_report", &ev->hcl_report,
                        &ev->hcl_len, err);
    if (r >= 0)
        r = bytes_array(json_object_get(root, "td_quote"), "td_quote", &ev->td_quote,
                        &ev->td_quote_len, err);
    return r < 0 ? r : tpm_quote_parse(json_object_get(root, "tpm_quote"), bytes_array, ev, err);
}

/* ---- the evidence JSON in one pass (v1, v2) ----
 *
 * A verifying service reads one evidence JSON per verification; jansson's
 * reader spends ~150 instructions a byte on it (8 KB, most of it the
 * base64url of the HCL report and VCEK), more than a tenth of a whole
 * verification. v1 and v2 have one shape: {"version":1|2, "tpm_quote":
 * {"signature":hex, "message":hex, "pcrs":[hex, ...]}, "hcl_report":b64url,
 * "vcek"|"td_quote":b64url}, members in any order. This reader takes that
 * shape and nothing else: strings of printable ASCII without escapes,
 * each member once, no other member, "version" the digit 1 or 2, nothing
 * but whitespace after the object. Anything else (escapes, v0's byte
 * arrays, a member twice or unknown, a decoding error) returns 0 and the
 * jansson reader above judges it, with its message: the two agree on
 * everything this one takes (test_tee_azure compares them on every form). */

struct scan {
    const uint8_t *b;
    size_t n, i;
};

struct text {
    const char *s; /* NULL: absent */
    size_t n;
};

static void scan_ws(struct scan *sc)
{
    while (sc->i < sc->n && (sc->b[sc->i] == ' ' || sc->b[sc->i] == '\n' || sc->b[sc->i] == '\r' ||
                             sc->b[sc->i] == '\t'))
        sc->i++;
}

static bool scan_char(struct scan *sc, char c)
{
    scan_ws(sc);
    if (sc->i < sc->n && sc->b[sc->i] == (uint8_t)c) {
        sc->i++;
        return true;
    }
    return false;
}

/* A string of printable ASCII, no escapes; into *t (which must be unset:
 * a member seen twice is not this reader's). */
static bool scan_string(struct scan *sc, struct text *t)
{
    if (!scan_char(sc, '"') || t->s)
        return false;
    size_t start = sc->i;
    const uint8_t *q = memchr(sc->b + start, '"', sc->n - start);
    if (!q)
        return false;
    size_t end = (size_t)(q - sc->b);
    for (size_t k = start; k < end; k++)
        if (sc->b[k] < 0x20 || sc->b[k] > 0x7e || sc->b[k] == '\\')
            return false;
    *t = (struct text){(const char *)sc->b + start, end - start};
    sc->i = end + 1;
    return true;
}

/* A member name, matched against names[]: its index, or -1. */
static int scan_name(struct scan *sc, const char *const *names, size_t n_names)
{
    struct text t = {0};
    if (!scan_string(sc, &t) || !scan_char(sc, ':'))
        return -1;
    for (size_t k = 0; k < n_names; k++)
        if (strlen(names[k]) == t.n && memcmp(names[k], t.s, t.n) == 0)
            return (int)k;
    return -1;
}

enum { M_VERSION, M_TPM_QUOTE, M_HCL, M_VCEK, M_TD_QUOTE, M_COUNT };
enum { Q_SIGNATURE, Q_MESSAGE, Q_PCRS, Q_COUNT };

struct fast_members {
    int version;
    struct text m[M_COUNT]; /* M_VERSION and M_TPM_QUOTE unused */
    bool has_quote;
    struct text q[Q_COUNT]; /* Q_PCRS unused */
    size_t n_pcrs;
    struct text pcrs[24];
};

static bool scan_quote(struct scan *sc, struct fast_members *f)
{
    static const char *const names[Q_COUNT] = {"signature", "message", "pcrs"};
    bool seen_pcrs = false;
    if (f->has_quote || !scan_char(sc, '{'))
        return false;
    f->has_quote = true;
    do {
        int k = scan_name(sc, names, Q_COUNT);
        if (k < 0)
            return false;
        if (k != Q_PCRS) {
            if (!scan_string(sc, &f->q[k]))
                return false;
            continue;
        }
        if (seen_pcrs || !scan_char(sc, '['))
            return false;
        seen_pcrs = true;
        if (scan_char(sc, ']'))
            continue;
        do {
            if (f->n_pcrs == 24 || !scan_string(sc, &f->pcrs[f->n_pcrs++]))
                return false;
        } while (scan_char(sc, ','));
        if (!scan_char(sc, ']'))
            return false;
    } while (scan_char(sc, ','));
    return scan_char(sc, '}') && f->q[Q_SIGNATURE].s && f->q[Q_MESSAGE].s && seen_pcrs;
}

static bool scan_evidence(const uint8_t *json, size_t len, struct fast_members *f)
{
    static const char *const names[M_COUNT] = {"version", "tpm_quote", "hcl_report", "vcek",
                                               "td_quote"};
    struct scan sc = {.b = json, .n = len};
    if (!scan_char(&sc, '{'))
        return false;
    do {
        int k = scan_name(&sc, names, M_COUNT);
        if (k < 0)
            return false;
        if (k == M_VERSION) {
            scan_ws(&sc);
            if (f->version || sc.i + 1 >= sc.n || (sc.b[sc.i] != '1' && sc.b[sc.i] != '2') ||
                (sc.b[sc.i + 1] >= '0' && sc.b[sc.i + 1] <= '9') || sc.b[sc.i + 1] == '.' ||
                sc.b[sc.i + 1] == 'e' || sc.b[sc.i + 1] == 'E')
                return false;
            f->version = sc.b[sc.i++] - '0';
        } else if (k == M_TPM_QUOTE) {
            if (!scan_quote(&sc, f))
                return false;
        } else if (!scan_string(&sc, &f->m[k])) {
            return false;
        }
    } while (scan_char(&sc, ','));
    if (!scan_char(&sc, '}'))
        return false;
    scan_ws(&sc);
    return sc.i == sc.n && f->version && f->has_quote && f->m[M_HCL].s &&
           !f->m[M_VCEK].s != !f->m[M_TD_QUOTE].s;
}

/* 1: decoded into ev; 0: not this reader's input (ev untouched); -ENOMEM. */
static int evidence_fast(const uint8_t *json, size_t len, struct tl_az_evidence *ev)
{
    struct fast_members f = {0};
    if (!scan_evidence(json, len, &f))
        return 0;
    struct tl_az_evidence e = {.version = f.version};
    bool snp = f.m[M_VCEK].s != NULL;
    e.kind = snp ? TL_TEE_KIND_AZ_SNP_VTPM : TL_TEE_KIND_AZ_TDX_VTPM;
    const struct text *hw = &f.m[snp ? M_VCEK : M_TD_QUOTE];
    int r = b64url_text(f.m[M_HCL].s, f.m[M_HCL].n, "hcl_report", &e.hcl_report, &e.hcl_len, NULL);
    if (r >= 0)
        r = snp ? b64url_text(hw->s, hw->n, "vcek", &e.vcek, &e.vcek_len, NULL)
                : b64url_text(hw->s, hw->n, "td_quote", &e.td_quote, &e.td_quote_len, NULL);
    if (r >= 0)
        r = hex_text(f.q[Q_SIGNATURE].s, f.q[Q_SIGNATURE].n, "tpm_quote.signature",
                     &e.tpm_signature, &e.tpm_signature_len, NULL);
    if (r >= 0)
        r = hex_text(f.q[Q_MESSAGE].s, f.q[Q_MESSAGE].n, "tpm_quote.message", &e.tpm_message,
                     &e.tpm_message_len, NULL);
    for (size_t i = 0; r >= 0 && i < f.n_pcrs; i++) {
        /* 64 hex digits, else the jansson reader says what is wrong */
        if (f.pcrs[i].n != 64 || tl_hex_decode(f.pcrs[i].s, 64, e.pcrs[i], 32) != 32)
            r = -EBADMSG;
    }
    e.n_pcrs = f.n_pcrs;
    if (r < 0) {
        tl_az_evidence_done(&e);
        return r == -ENOMEM ? r : 0;
    }
    *ev = e;
    return 1;
}

int tl_az_evidence_parse(const uint8_t *json, size_t len, struct tl_az_evidence *ev,
                         struct tl_error *err)
{
    *ev = (struct tl_az_evidence){0};
    if (len > EVIDENCE_MAX)
        return tl_error_set_nopos(err, -EBADMSG, "evidence: %zu bytes exceeds the %d cap", len,
                                  EVIDENCE_MAX);
    int fast = evidence_fast(json, len, ev);
    if (fast != 0)
        return fast < 0 ? tl_error_set_nopos(err, fast, "out of memory") : 0;
    json_error_t je;
    json_t *root = json_loadb((const char *)json, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return tl_error_set(err, -EBADMSG, (size_t)je.position, "evidence: %s", je.text);
    int r = json_is_object(root) ? evidence_decode(root, ev, err)
                                 : tl_error_set_nopos(err, -EBADMSG, "evidence: not a JSON object");
    json_decref(root);
    if (r < 0)
        tl_az_evidence_done(ev);
    return r;
}

void tl_az_evidence_done(struct tl_az_evidence *ev)
{
    free(ev->hcl_report);
    free(ev->vcek);
    free(ev->td_quote);
    free(ev->tpm_message);
    free(ev->tpm_signature);
    *ev = (struct tl_az_evidence){0};
}

/* ---- verification ---- */

static void check_binding(const struct tl_hcl_report *hcl, const uint8_t *report_data,
                          const char *where, struct tl_tee_verdict *v)
{
    static const char *const md_names[] = {NULL, "SHA256", "SHA384", "SHA512"};
    uint8_t md[64];
    unsigned int md_len = 0;
    if (EVP_Digest(hcl->var_data, hcl->var_len, md, &md_len,
                   EVP_get_digestbyname(md_names[hcl->hash_type]), NULL) != 1) {
        ERR_clear_error();
        tl_tee_fail(v, TL_TEE_BINDING, "cannot hash the runtime data");
        return;
    }
    if (memcmp(report_data, md, md_len) != 0)
        tl_tee_fail(v, TL_TEE_BINDING, "%s REPORT_DATA is not the %s of the runtime data", where,
                    md_names[hcl->hash_type]);
    else if (!tl_is_zero(report_data + md_len, 64 - md_len))
        tl_tee_fail(v, TL_TEE_BINDING, "%s REPORT_DATA has non-zero bytes after the hash", where);
}

static bool config_flag(const struct tl_az_runtime *rt, const char *name, bool *value)
{
    json_t *j = rt->vm_config ? json_object_get(rt->vm_config, name) : NULL;
    if (!json_is_boolean(j))
        return false;
    *value = json_is_true(j);
    return true;
}

static void check_runtime(const struct tl_az_runtime *rt, const struct tl_az_evidence *ev,
                          const struct tl_tee_policy *pol, struct tl_tee_verdict *v, json_t *tee)
{
    bool sb = false, tpm = false, console = false, persisted = false;
    bool has_sb = config_flag(rt, "secure-boot", &sb);
    bool has_tpm = config_flag(rt, "tpm-enabled", &tpm);
    bool has_console = config_flag(rt, "console-enabled", &console);
    if (config_flag(rt, "tpm-persisted", &persisted))
        tl_tee_claim_bool(v->claims, "x-ms-azurevm-tpm-persisted", persisted);
    if (has_sb)
        tl_tee_claim_bool(v->claims, "secureboot", sb);
    if (pol->require_secure_boot && !sb)
        tl_tee_fail(v, TL_TEE_SECURE_BOOT_OFF, "vm-configuration: secure-boot is %s",
                    has_sb ? "false" : "absent");
    if (pol->require_tpm_enabled && !tpm)
        tl_tee_fail(v, TL_TEE_TPM_DISABLED, "vm-configuration: tpm-enabled is %s",
                    has_tpm ? "false" : "absent");
    if (!pol->allow_console && (console || !has_console))
        tl_tee_fail(v, TL_TEE_VM_CONFIG, "vm-configuration: console-enabled is %s",
                    has_console ? "true" : "absent");
    json_t *vmid = rt->vm_config ? json_object_get(rt->vm_config, "vmUniqueId") : NULL;
    if (json_is_string(vmid))
        tl_tee_claim_str(v->claims, "x-ms-azurevm-vmid", json_string_value(vmid));
    json_object_set(tee, "x-ms-runtime", rt->root);

    if (pol->user_data.set &&
        (!rt->has_user_data || !tl_tee_pin_matches(&pol->user_data, rt->user_data, 64)))
        tl_tee_fail(v, TL_TEE_USER_DATA, "user-data is %s the pinned value",
                    rt->has_user_data ? "not" : "absent, not");
    /* v2: the verifier's nonce is also the start of user-data (trustee) */
    if (ev->version >= 2 && pol->nonce.set &&
        (!rt->has_user_data || pol->nonce.len > 64 ||
         memcmp(rt->user_data, pol->nonce.v, pol->nonce.len) != 0))
        tl_tee_fail(v, TL_TEE_USER_DATA, "evidence v2: user-data does not start with the nonce");
}

static bool tpm_signature_ok(EVP_PKEY *ak, const struct tl_az_evidence *ev)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    bool ok = md && EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL, ak) == 1 &&
              EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1 &&
              (size_t)EVP_PKEY_get_size(ak) == ev->tpm_signature_len &&
              EVP_DigestVerify(md, ev->tpm_signature, ev->tpm_signature_len, ev->tpm_message,
                               ev->tpm_message_len) == 1;
    EVP_MD_CTX_free(md);
    ERR_clear_error();
    return ok;
}

static int check_tpm_quote(const struct tl_az_runtime *rt, const struct tl_az_evidence *ev,
                           const struct tl_tee_policy *pol, struct tl_tee_verdict *v)
{
    if (!rt->ak)
        tl_tee_fail(v, TL_TEE_TPM_SIGNATURE,
                    "the runtime data has no usable HCLAkPub (one RSA key, 2048+ bits)");
    else if (!tpm_signature_ok(rt->ak, ev))
        tl_tee_fail(v, TL_TEE_TPM_SIGNATURE,
                    "the vTPM quote's RSASSA-PKCS1-v1_5 SHA-256 signature does not verify with "
                    "HCLAkPub");
    struct tl_quote q;
    struct tl_error e = {0};
    if (tl_quote_parse(ev->tpm_message, ev->tpm_message_len, &q, &e) < 0) {
        tl_tee_fail(v, TL_TEE_MALFORMED, "vTPM quote: %s", e.message);
        return 0;
    }
    tl_tee_claim_hex(v->claims, "x-ms-azurevm-tpm-nonce", q.extra_data.buffer, q.extra_data.size);
    if (pol->nonce.set && (q.extra_data.size != pol->nonce.len ||
                           memcmp(q.extra_data.buffer, pol->nonce.v, pol->nonce.len) != 0))
        tl_tee_fail(v, TL_TEE_NONCE, "the vTPM quote's extraData is not the nonce");

    struct tl_pcr_values *pcrs = calloc(1, sizeof(*pcrs));
    if (!pcrs)
        return -ENOMEM;
    pcrs->n_banks = 1;
    pcrs->banks[0].alg = TL_ALG_SHA256;
    pcrs->banks[0].size = 32;
    for (size_t i = 0; i < ev->n_pcrs; i++) {
        memcpy(pcrs->banks[0].value[i], ev->pcrs[i], 32);
        pcrs->banks[0].mask |= 1u << i;
    }
    uint8_t digest[TL_DIGEST_MAX];
    size_t dlen = 0;
    if (tl_quote_pcr_digest(&q.pcr_select, pcrs, TL_ALG_SHA256, digest, &dlen, &e) < 0)
        tl_tee_fail(v, TL_TEE_PCR_DIGEST, "vTPM quote: %s", e.message);
    else if (dlen != q.pcr_digest.size || memcmp(digest, q.pcr_digest.buffer, dlen) != 0)
        tl_tee_fail(v, TL_TEE_PCR_DIGEST,
                    "the PCR values sent do not hash to the vTPM quote's pcrDigest");
    /* claims: only the PCRs the quote covers */
    uint32_t mask = tl_quote_pcr_mask(&q, TL_ALG_SHA256) & pcrs->banks[0].mask;
    json_t *list = json_array(), *values = json_object();
    for (int i = 0; list && values && i < 24; i++)
        if (mask & (1u << i)) {
            char name[8];
            snprintf(name, sizeof(name), "%d", i);
            json_array_append_new(list, json_integer(i));
            tl_tee_claim_hex(values, name, ev->pcrs[i], 32);
        }
    json_object_set_new(v->claims, "x-ms-azurevm-attested-pcrs", list ? list : json_null());
    json_object_set_new(v->claims, "x-ms-azurevm-pcrs-sha256", values ? values : json_null());
    free(pcrs);
    return 0;
}

int tl_az_verify(const struct tl_az_verifier *az, const struct tl_az_evidence *ev,
                 const struct tl_tee_collateral *collateral, const struct tl_tee_policy *pol,
                 struct tl_tee_verdict *v)
{
    json_t *tee = json_object();
    if (!tee)
        return -ENOMEM;
    tl_tee_claim_str(v->claims, "x-ms-attestation-type", "azurevm");
    json_object_set_new(v->claims, "x-ms-isolation-tee", tee); /* borrowed below */
    struct tl_hcl_report hcl;
    struct tl_error e = {0};
    if (tl_hcl_report_parse(ev->hcl_report, ev->hcl_len, &hcl, &e) < 0) {
        tl_tee_fail(v, TL_TEE_MALFORMED, "%s", e.message);
        tl_tee_verdict_finish(v);
        return 0;
    }
    bool snp = ev->kind == TL_TEE_KIND_AZ_SNP_VTPM;
    if (snp != (hcl.report_type == TL_HCL_REPORT_SNP)) {
        tl_tee_fail(v, TL_TEE_MALFORMED, "the HCL report holds a %s report, the evidence is %s",
                    hcl.report_type == TL_HCL_REPORT_SNP ? "SEV-SNP" : "TDX",
                    tl_tee_kind_name(ev->kind));
        tl_tee_verdict_finish(v);
        return 0;
    }
    tl_tee_claim_str(tee, "x-ms-attestation-type", snp ? "sevsnpvm" : "tdxvm");

    /* the hardware evidence; the nonce is the vTPM's here, not REPORT_DATA's */
    struct tl_tee_policy hw_pol = *pol;
    hw_pol.nonce.set = false;
    if (snp) {
        check_binding(&hcl, hcl.hw_report + 0x50, "the SEV-SNP report's", v);
        struct tl_snp_evidence sev = {.report = hcl.hw_report,
                                      .report_len = hcl.hw_len,
                                      .cert = ev->vcek,
                                      .cert_len = ev->vcek_len,
                                      .collateral = collateral};
        int r = tl_snp_check(az->snp, &sev, &hw_pol, v, tee);
        if (r < 0)
            return r;
    } else {
        const uint8_t *rd;
        if (tl_az_td_quote_report_data(ev->td_quote, ev->td_quote_len, &rd, &e) < 0)
            tl_tee_fail(v, TL_TEE_MALFORMED, "%s", e.message);
        else
            check_binding(&hcl, rd, "the TD quote's", v);
        /* the HCL's own TDREPORT (MAC'd, not remotely verifiable) must agree */
        check_binding(&hcl, hcl.hw_report + 128, "the HCL TDREPORT's", v);
        if (!az->td_verify) {
            tl_tee_fail(v, TL_TEE_NOT_VERIFIED,
                        "the TD quote is not verified: no TDX verifier in this build");
        } else {
            struct tl_tee_verdict td;
            int r =
                az->td_verify(az->td_opaque, ev->td_quote, ev->td_quote_len, &hw_pol, v->at, &td);
            if (r == -ENOMEM)
                return r;
            tl_tee_verdict_merge(v, &td, "TD quote: ");
            if (!td.pass && td.n_reasons == 0)
                tl_tee_fail(v, TL_TEE_NOT_VERIFIED, "TD quote: no verdict");
            if (td.claims)
                json_object_update(tee, td.claims);
            tl_tee_verdict_done(&td);
        }
    }

    struct tl_az_runtime rt;
    if (tl_az_runtime_parse(hcl.var_data, hcl.var_len, &rt, &e) < 0) {
        tl_tee_fail(v, TL_TEE_MALFORMED, "%s", e.message);
    } else {
        check_runtime(&rt, ev, pol, v, tee);
        int r = check_tpm_quote(&rt, ev, pol, v);
        tl_az_runtime_done(&rt);
        if (r < 0)
            return r;
    }
    tl_tee_verdict_finish(v);
    return 0;
}
