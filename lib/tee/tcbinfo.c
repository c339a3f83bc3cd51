/* Intel PCS collateral JSON: TCB info (TDX, version 3) and QE identity
 * (version 2), as PCS API v4 serves them ("Get TDX TCB Information",
 * "Get TDX Quoting Enclave Identity"), and the TCB judgement that reads
 * them (Intel SGX/TDX DCAP Quote Verification Library: TcbLevelCheck,
 * TdxModuleCheck, QE identity check, status convergence).
 *
 * What is signed is the raw text of the "tcbInfo" / "enclaveIdentity"
 * member exactly as served, so the member's byte span is found by a linear
 * scan of the text, copied, and that copy is what jansson parses: the
 * structure judged is the structure signed. The whole response is also
 * parsed, with duplicate keys refused, so a second "tcbInfo" member cannot
 * hide behind the first. Unknown members are tolerated (PCS adds fields);
 * unknown statuses, wrong sizes and missing fields are not. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl/tdx.h"
#include "tl/util.h"

/* ---- the raw member span ---- */

static size_t skip_ws(const uint8_t *b, size_t len, size_t i)
{
    while (i < len && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r'))
        i++;
    return i;
}

/* Index just past the string starting at b[i] == '"', or 0 when it does
 * not end. */
static size_t skip_string(const uint8_t *b, size_t len, size_t i)
{
    for (i++; i < len; i++) {
        if (b[i] == '\\')
            i++;
        else if (b[i] == '"')
            return i + 1;
    }
    return 0;
}

/* Index just past the value starting at b[i]; 0 when it does not end. One
 * pass: brackets are counted, strings skipped. */
static size_t skip_value(const uint8_t *b, size_t len, size_t i)
{
    if (i >= len)
        return 0;
    if (b[i] == '"')
        return skip_string(b, len, i);
    if (b[i] == '{' || b[i] == '[') {
        size_t depth = 0;
        for (; i < len; i++) {
            if (b[i] == '"') {
                size_t e = skip_string(b, len, i);
                if (!e)
                    return 0;
                i = e - 1;
            } else if (b[i] == '{' || b[i] == '[') {
                depth++;
            } else if (b[i] == '}' || b[i] == ']') {
                if (--depth == 0)
                    return i + 1;
            }
        }
        return 0;
    }
    while (i < len && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\n' &&
           b[i] != '\r' && b[i] != '\t')
        i++;
    return i;
}

int tl_json_member_span(const uint8_t *buf, size_t len, const char *name, size_t *start,
                        size_t *end, struct tl_error *err)
{
    size_t name_len = strlen(name), i = skip_ws(buf, len, 0);
    bool found = false;
    if (i >= len || buf[i] != '{')
        return tl_error_set(err, -EBADMSG, i, "not a JSON object");
    i = skip_ws(buf, len, i + 1);
    while (i < len && buf[i] != '}') {
        if (buf[i] != '"')
            return tl_error_set(err, -EBADMSG, i, "JSON: member name expected");
        size_t key_end = skip_string(buf, len, i);
        if (!key_end)
            return tl_error_set(err, -EBADMSG, i, "JSON: unterminated string");
        bool match = key_end - i - 2 == name_len && memcmp(buf + i + 1, name, name_len) == 0;
        i = skip_ws(buf, len, key_end);
        if (i >= len || buf[i] != ':')
            return tl_error_set(err, -EBADMSG, i, "JSON: ':' expected");
        i = skip_ws(buf, len, i + 1);
        size_t v_end = skip_value(buf, len, i);
        if (!v_end || v_end == i)
            return tl_error_set(err, -EBADMSG, i, "JSON: value does not end");
        if (match) {
            if (found)
                return tl_error_set(err, -EBADMSG, i, "JSON: member \"%s\" twice", name);
            found = true;
            *start = i;
            *end = v_end;
        }
        i = skip_ws(buf, len, v_end);
        if (i < len && buf[i] == ',')
            i = skip_ws(buf, len, i + 1);
    }
    if (i >= len)
        return tl_error_set(err, -EBADMSG, len, "JSON: object does not end");
    if (!found)
        return tl_error_set(err, -ENOENT, 0, "JSON: no \"%s\" member", name);
    return 0;
}

/* ---- field readers ---- */

struct reader {
    struct tl_error *err;
    const char *what; /* "tcbInfo", ... for messages */
};

static int bad(struct reader *r, const char *field, const char *why)
{
    return tl_error_set_nopos(r->err, -EBADMSG, "%s: \"%s\" %s", r->what, field, why);
}

static int get_hex(struct reader *r, json_t *obj, const char *field, uint8_t *out, size_t size)
{
    const char *s = json_string_value(json_object_get(obj, field));
    if (!s)
        return bad(r, field, "missing or not a string");
    size_t n = strlen(s);
    if (n != 2 * size || tl_hex_decode(s, n, out, size) != (int)size)
        return tl_error_set_nopos(r->err, -EBADMSG, "%s: \"%s\" must be %zu hex digits", r->what,
                                  field, 2 * size);
    return 0;
}

static int get_int(struct reader *r, json_t *obj, const char *field, long long min, long long max,
                   long long *out)
{
    json_t *v = json_object_get(obj, field);
    if (!json_is_integer(v))
        return bad(r, field, "missing or not an integer");
    long long x = json_integer_value(v);
    if (x < min || x > max)
        return tl_error_set_nopos(r->err, -EBADMSG, "%s: \"%s\" %lld out of range %lld..%lld",
                                  r->what, field, x, min, max);
    *out = x;
    return 0;
}

static int get_time(struct reader *r, json_t *obj, const char *field, time_t *out)
{
    const char *s = json_string_value(json_object_get(obj, field));
    if (!s)
        return bad(r, field, "missing or not a string");
    if (tl_tee_time_parse(s, out) < 0 || strchr(s, 'T') == NULL)
        return bad(r, field, "is not an RFC 3339 UTC time");
    return 0;
}

static int get_status(struct reader *r, json_t *obj, enum tl_tee_tcb_status *out)
{
    const char *s = json_string_value(json_object_get(obj, "tcbStatus"));
    if (!s)
        return bad(r, "tcbStatus", "missing or not a string");
    int st = tl_tee_tcb_status_from_name(s);
    if (st < 0)
        return tl_error_set_nopos(r->err, -EBADMSG, "%s: unknown tcbStatus \"%s\"", r->what, s);
    *out = (enum tl_tee_tcb_status)st;
    return 0;
}

static int get_advisories(struct reader *r, json_t *obj, struct tl_tdx_advisories *out)
{
    json_t *a = json_object_get(obj, "advisoryIDs");
    *out = (struct tl_tdx_advisories){0};
    if (!a)
        return 0;
    if (!json_is_array(a) || json_array_size(a) > TL_TDX_MAX_ADVISORIES)
        return bad(r, "advisoryIDs", "is not an array of at most 64 strings");
    for (size_t i = 0; i < json_array_size(a); i++) {
        const char *s = json_string_value(json_array_get(a, i));
        if (!s || strlen(s) == 0 || strlen(s) >= TL_TDX_ADVISORY_LEN)
            return bad(r, "advisoryIDs", "holds an entry that is not a short string");
        snprintf(out->id[out->n++], TL_TDX_ADVISORY_LEN, "%s", s);
    }
    return 0;
}

/* "sgxtcbcomponents" / "tdxtcbcomponents": 16 objects with "svn". */
static int get_components(struct reader *r, json_t *tcb, const char *field, uint8_t out[16])
{
    json_t *a = json_object_get(tcb, field);
    if (!json_is_array(a) || json_array_size(a) != 16)
        return bad(r, field, "is not an array of 16 components");
    for (size_t i = 0; i < 16; i++) {
        long long svn;
        int rr = get_int(r, json_array_get(a, i), "svn", 0, 255, &svn);
        if (rr < 0)
            return rr;
        out[i] = (uint8_t)svn;
    }
    return 0;
}

/* Splits a response into its signed member (copied, parsed) and signature. */
static int signed_json_parse(const uint8_t *buf, size_t len, const char *member,
                             struct tl_tdx_signed_json *out, json_t **body, struct tl_error *err)
{
    json_error_t jerr;
    size_t start, end;
    json_t *whole = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!whole)
        return tl_error_set(err, -EBADMSG, (size_t)jerr.position, "%s response: %s", member,
                            jerr.text);
    const char *sig = json_string_value(json_object_get(whole, "signature"));
    int r = -EBADMSG;
    if (!json_is_object(whole) || !json_is_object(json_object_get(whole, member)) || !sig) {
        r = tl_error_set_nopos(err, -EBADMSG, "%s response: needs \"%s\" and \"signature\"", member,
                               member);
        goto out;
    }
    if (strlen(sig) != 128 || tl_hex_decode(sig, 128, out->signature, 64) != 64) {
        r = tl_error_set_nopos(err, -EBADMSG, "%s response: signature is not 128 hex digits",
                               member);
        goto out;
    }
    r = tl_json_member_span(buf, len, member, &start, &end, err);
    if (r < 0)
        goto out;
    out->body = malloc(end - start);
    if (!out->body) {
        r = tl_error_set_nopos(err, -ENOMEM, "out of memory");
        goto out;
    }
    memcpy(out->body, buf + start, end - start);
    out->body_len = end - start;
    *body = json_loadb((const char *)out->body, out->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!*body) {
        r = tl_error_set(err, -EBADMSG, start + (size_t)jerr.position, "%s: %s", member, jerr.text);
        goto out;
    }
    r = 0;
out:
    json_decref(whole);
    return r;
}

/* ---- TCB info ---- */

static int module_parse(struct reader *r, json_t *m, bool with_levels,
                        struct tl_tdx_module_identity *out)
{
    int rr;
    if (!json_is_object(m))
        return bad(r, "tdxModule", "is not an object");
    if (with_levels) {
        const char *id = json_string_value(json_object_get(m, "id"));
        if (!id || strlen(id) >= sizeof(out->id))
            return bad(r, "id", "of a TDX module identity is missing or too long");
        snprintf(out->id, sizeof(out->id), "%s", id);
    }
    if ((rr = get_hex(r, m, "mrsigner", out->mrsigner, 48)) < 0 ||
        (rr = get_hex(r, m, "attributes", out->attributes, 8)) < 0 ||
        (rr = get_hex(r, m, "attributesMask", out->attributes_mask, 8)) < 0)
        return rr;
    if (!with_levels)
        return 0;
    json_t *levels = json_object_get(m, "tcbLevels");
    if (!json_is_array(levels) || json_array_size(levels) == 0)
        return bad(r, "tcbLevels", "of a TDX module identity is not a non-empty array");
    out->levels = calloc(json_array_size(levels), sizeof(*out->levels));
    if (!out->levels)
        return tl_error_set_nopos(r->err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < json_array_size(levels); i++) {
        json_t *l = json_array_get(levels, i);
        struct tl_tdx_module_level *ml = &out->levels[out->n_levels++];
        long long isvsvn;
        if ((rr = get_int(r, json_object_get(l, "tcb"), "isvsvn", 0, 255, &isvsvn)) < 0 ||
            (rr = get_time(r, l, "tcbDate", &ml->tcb_date)) < 0 ||
            (rr = get_status(r, l, &ml->status)) < 0 ||
            (rr = get_advisories(r, l, &ml->advisories)) < 0)
            return rr;
        ml->isvsvn = (uint8_t)isvsvn;
    }
    return 0;
}

static int tcbinfo_read(struct reader *r, json_t *t, struct tl_tdx_tcbinfo *ti)
{
    long long x;
    int rr;
    const char *id = json_string_value(json_object_get(t, "id"));
    if (!id || strcmp(id, "TDX") != 0)
        return tl_error_set_nopos(r->err, -EPROTONOSUPPORT,
                                  "tcbInfo: id \"%s\", only TDX TCB info is verified here",
                                  id ? id : "(none)");
    if ((rr = get_int(r, t, "version", 0, 1000, &x)) < 0)
        return rr;
    if (x != 3)
        return tl_error_set_nopos(r->err, -EPROTONOSUPPORT,
                                  "tcbInfo: version %lld, only version 3 is verified", x);
    ti->version = (int)x;
    if ((rr = get_time(r, t, "issueDate", &ti->issue_date)) < 0 ||
        (rr = get_time(r, t, "nextUpdate", &ti->next_update)) < 0 ||
        (rr = get_hex(r, t, "fmspc", ti->fmspc, 6)) < 0 ||
        (rr = get_hex(r, t, "pceId", ti->pce_id, 2)) < 0)
        return rr;
    if ((rr = get_int(r, t, "tcbType", 0, 0, &x)) < 0)
        return rr;
    ti->tcb_type = (int)x;
    if ((rr = get_int(r, t, "tcbEvaluationDataNumber", 0, INT32_MAX, &x)) < 0)
        return rr;
    ti->tcb_evaluation_data_number = (int)x;
    if ((rr = module_parse(r, json_object_get(t, "tdxModule"), false, &ti->module)) < 0)
        return rr;
    json_t *mods = json_object_get(t, "tdxModuleIdentities");
    if (mods) {
        if (!json_is_array(mods))
            return bad(r, "tdxModuleIdentities", "is not an array");
        ti->modules = calloc(json_array_size(mods) + 1, sizeof(*ti->modules));
        if (!ti->modules)
            return tl_error_set_nopos(r->err, -ENOMEM, "out of memory");
        for (size_t i = 0; i < json_array_size(mods); i++) {
            rr = module_parse(r, json_array_get(mods, i), true, &ti->modules[ti->n_modules++]);
            if (rr < 0)
                return rr;
        }
    }
    json_t *levels = json_object_get(t, "tcbLevels");
    if (!json_is_array(levels) || json_array_size(levels) == 0)
        return bad(r, "tcbLevels", "is not a non-empty array");
    ti->levels = calloc(json_array_size(levels), sizeof(*ti->levels));
    if (!ti->levels)
        return tl_error_set_nopos(r->err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < json_array_size(levels); i++) {
        json_t *l = json_array_get(levels, i), *tcb = json_object_get(l, "tcb");
        struct tl_tdx_tcb_level *lv = &ti->levels[ti->n_levels++];
        if (!json_is_object(tcb))
            return bad(r, "tcb", "of a TCB level is not an object");
        if ((rr = get_components(r, tcb, "sgxtcbcomponents", lv->sgx)) < 0 ||
            (rr = get_components(r, tcb, "tdxtcbcomponents", lv->tdx)) < 0 ||
            (rr = get_int(r, tcb, "pcesvn", 0, 65535, &x)) < 0)
            return rr;
        lv->pcesvn = (uint16_t)x;
        if ((rr = get_time(r, l, "tcbDate", &lv->tcb_date)) < 0 ||
            (rr = get_status(r, l, &lv->status)) < 0 ||
            (rr = get_advisories(r, l, &lv->advisories)) < 0)
            return rr;
    }
    return 0;
}

int tl_tdx_tcbinfo_parse(const uint8_t *buf, size_t len, struct tl_tdx_tcbinfo *ti,
                         struct tl_error *err)
{
    *ti = (struct tl_tdx_tcbinfo){0};
    json_t *t = NULL;
    int r = signed_json_parse(buf, len, "tcbInfo", &ti->signed_part, &t, err);
    if (r >= 0) {
        struct reader rd = {.err = err, .what = "tcbInfo"};
        r = tcbinfo_read(&rd, t, ti);
    }
    json_decref(t);
    if (r < 0)
        tl_tdx_tcbinfo_done(ti);
    return r;
}

void tl_tdx_tcbinfo_done(struct tl_tdx_tcbinfo *ti)
{
    for (size_t i = 0; i < ti->n_modules; i++)
        free(ti->modules[i].levels);
    free(ti->modules);
    free(ti->levels);
    free(ti->signed_part.body);
    *ti = (struct tl_tdx_tcbinfo){0};
}

/* ---- QE identity ---- */

static int qe_identity_read(struct reader *r, json_t *e, struct tl_tdx_qe_identity *qe)
{
    long long x;
    int rr;
    uint8_t misc[4], misc_mask[4];
    const char *id = json_string_value(json_object_get(e, "id"));
    if (!id || strcmp(id, "TD_QE") != 0)
        return tl_error_set_nopos(r->err, -EPROTONOSUPPORT,
                                  "enclaveIdentity: id \"%s\", only TD_QE is verified here",
                                  id ? id : "(none)");
    if ((rr = get_int(r, e, "version", 0, 1000, &x)) < 0)
        return rr;
    if (x != 2)
        return tl_error_set_nopos(r->err, -EPROTONOSUPPORT,
                                  "enclaveIdentity: version %lld, only version 2 is verified", x);
    qe->version = 2;
    if ((rr = get_time(r, e, "issueDate", &qe->issue_date)) < 0 ||
        (rr = get_time(r, e, "nextUpdate", &qe->next_update)) < 0 ||
        (rr = get_int(r, e, "tcbEvaluationDataNumber", 0, INT32_MAX, &x)) < 0)
        return rr;
    qe->tcb_evaluation_data_number = (int)x;
    /* MISCSELECT is a little-endian u32 in the report; PCS writes its bytes
     * in report order. */
    if ((rr = get_hex(r, e, "miscselect", misc, 4)) < 0 ||
        (rr = get_hex(r, e, "miscselectMask", misc_mask, 4)) < 0 ||
        (rr = get_hex(r, e, "attributes", qe->attributes, 16)) < 0 ||
        (rr = get_hex(r, e, "attributesMask", qe->attributes_mask, 16)) < 0 ||
        (rr = get_hex(r, e, "mrsigner", qe->mrsigner, 32)) < 0 ||
        (rr = get_int(r, e, "isvprodid", 0, 65535, &x)) < 0)
        return rr;
    qe->miscselect = tl_le32(misc);
    qe->miscselect_mask = tl_le32(misc_mask);
    qe->isvprodid = (uint16_t)x;
    json_t *levels = json_object_get(e, "tcbLevels");
    if (!json_is_array(levels) || json_array_size(levels) == 0)
        return bad(r, "tcbLevels", "is not a non-empty array");
    qe->levels = calloc(json_array_size(levels), sizeof(*qe->levels));
    if (!qe->levels)
        return tl_error_set_nopos(r->err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < json_array_size(levels); i++) {
        json_t *l = json_array_get(levels, i);
        struct tl_tdx_qe_level *lv = &qe->levels[qe->n_levels++];
        if ((rr = get_int(r, json_object_get(l, "tcb"), "isvsvn", 0, 65535, &x)) < 0)
            return rr;
        lv->isvsvn = (uint16_t)x;
        if ((rr = get_time(r, l, "tcbDate", &lv->tcb_date)) < 0 ||
            (rr = get_status(r, l, &lv->status)) < 0 ||
            (rr = get_advisories(r, l, &lv->advisories)) < 0)
            return rr;
    }
    return 0;
}

int tl_tdx_qe_identity_parse(const uint8_t *buf, size_t len, struct tl_tdx_qe_identity *qe,
                             struct tl_error *err)
{
    *qe = (struct tl_tdx_qe_identity){0};
    json_t *e = NULL;
    int r = signed_json_parse(buf, len, "enclaveIdentity", &qe->signed_part, &e, err);
    if (r >= 0) {
        struct reader rd = {.err = err, .what = "enclaveIdentity"};
        r = qe_identity_read(&rd, e, qe);
    }
    json_decref(e);
    if (r < 0)
        tl_tdx_qe_identity_done(qe);
    return r;
}

void tl_tdx_qe_identity_done(struct tl_tdx_qe_identity *qe)
{
    free(qe->levels);
    free(qe->signed_part.body);
    *qe = (struct tl_tdx_qe_identity){0};
}

/* ---- the TCB judgement ---- */

static void advisories_add(struct tl_tdx_advisories *to, const struct tl_tdx_advisories *from)
{
    for (unsigned i = 0; i < from->n; i++) {
        bool seen = false;
        for (unsigned j = 0; j < to->n && !seen; j++)
            seen = strcmp(to->id[j], from->id[i]) == 0;
        if (!seen && to->n < TL_TDX_MAX_ADVISORIES)
            memcpy(to->id[to->n++], from->id[i], TL_TDX_ADVISORY_LEN);
    }
}

/* The advisories in QVL's order, and the earliest TCB date. */
static void combine(struct tl_tdx_tcb_result *out)
{
    out->advisories = (struct tl_tdx_advisories){0};
    advisories_add(&out->advisories, &out->platform_advisories);
    advisories_add(&out->advisories, &out->qe_advisories);
    advisories_add(&out->advisories, &out->module_advisories);
    if (out->module_tcb_date && out->module_tcb_date < out->tcb_date)
        out->tcb_date = out->module_tcb_date;
    if (out->qe_tcb_date && out->qe_tcb_date < out->tcb_date)
        out->tcb_date = out->qe_tcb_date;
}

/* A TDX module's or QE's level may only say UpToDate, OutOfDate or
 * Revoked (QVL: VALID_TDX_MODULE_STATUSES, VALID_QE_STATUSES). */
static bool component_status(enum tl_tee_tcb_status s)
{
    return s == TL_TEE_TCB_UP_TO_DATE || s == TL_TEE_TCB_OUT_OF_DATE || s == TL_TEE_TCB_REVOKED;
}

/* QVL's convergence of the platform status with an OutOfDate or Revoked
 * component (TDX module, QE): the configuration part of the platform's
 * status survives, the rest becomes OutOfDate. */
static enum tl_tee_tcb_status converge(enum tl_tee_tcb_status platform,
                                       enum tl_tee_tcb_status component)
{
    if (component == TL_TEE_TCB_REVOKED)
        return TL_TEE_TCB_REVOKED;
    if (component == TL_TEE_TCB_OUT_OF_DATE) {
        if (platform == TL_TEE_TCB_UP_TO_DATE || platform == TL_TEE_TCB_SW_HARDENING_NEEDED)
            return TL_TEE_TCB_OUT_OF_DATE;
        if (platform == TL_TEE_TCB_CONFIGURATION_NEEDED ||
            platform == TL_TEE_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED)
            return TL_TEE_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED;
    }
    return platform;
}

int tl_tdx_tcb_match_platform(const struct tl_tdx_tcbinfo *ti, const struct tl_tdx_pck_info *pck,
                              const struct tl_tdx_td_report *td, struct tl_tdx_tcb_result *out,
                              struct tl_error *err)
{
    *out = (struct tl_tdx_tcb_result){.platform_level = -1};
    /* TEE_TCB_SVN[0] is the TDX module's SVN and [1] its major version;
     * from major version 1 on, the module is judged by its identity and
     * the level compares bytes 2..15 only (QVL TcbLevelCheck). */
    unsigned first = td->tee_tcb_svn[1] > 0 ? 2 : 0;
    for (size_t i = 0; i < ti->n_levels; i++) {
        const struct tl_tdx_tcb_level *l = &ti->levels[i];
        bool ok = pck->pcesvn >= l->pcesvn;
        for (unsigned c = 0; c < 16 && ok; c++)
            ok = pck->tcb_comp[c] >= l->sgx[c];
        for (unsigned c = first; c < 16 && ok; c++)
            ok = td->tee_tcb_svn[c] >= l->tdx[c];
        if (!ok)
            continue;
        out->evaluated = true;
        out->platform_level = (int)i;
        out->platform_status = out->status = l->status;
        out->tcb_date = l->tcb_date;
        out->platform_advisories = l->advisories;
        combine(out);
        return 0;
    }
    return tl_error_set_nopos(err, -ENOENT,
                              "no TCB level of the TCB info is met by PCESVN %u and these SVNs",
                              pck->pcesvn);
}

int tl_tdx_tcb_match_module(const struct tl_tdx_tcbinfo *ti, const struct tl_tdx_td_report *td,
                            struct tl_tdx_tcb_result *out, struct tl_error *err)
{
    uint8_t isvsvn = td->tee_tcb_svn[0], major = td->tee_tcb_svn[1];
    const struct tl_tdx_module_identity *m = &ti->module;
    if (major > 0) {
        char id[16];
        snprintf(id, sizeof(id), "TDX_%02X", major);
        m = NULL;
        for (size_t i = 0; i < ti->n_modules && !m; i++)
            if (strcmp(ti->modules[i].id, id) == 0)
                m = &ti->modules[i];
        if (!m)
            return tl_error_set_nopos(err, -ENOENT, "the TCB info has no TDX module identity %s",
                                      id);
    }
    if (memcmp(m->mrsigner, td->mrsignerseam, 48) != 0)
        return tl_error_set_nopos(err, -EPERM, "MRSIGNERSEAM is not the TDX module's signer");
    for (int i = 0; i < 8; i++)
        if ((td->seam_attributes[i] & m->attributes_mask[i]) !=
            (m->attributes[i] & m->attributes_mask[i]))
            return tl_error_set_nopos(err, -EPERM,
                                      "SEAMATTRIBUTES differ from the TDX module's under its mask");
    out->module_checked = true;
    out->module_status = TL_TEE_TCB_UP_TO_DATE;
    if (major == 0)
        return 0;
    for (size_t i = 0; i < m->n_levels; i++) {
        if (isvsvn < m->levels[i].isvsvn)
            continue;
        if (!component_status(m->levels[i].status))
            break;
        out->module_status = m->levels[i].status;
        out->status = converge(out->status, m->levels[i].status);
        out->module_advisories = m->levels[i].advisories;
        out->module_tcb_date = m->levels[i].tcb_date;
        combine(out);
        return 0;
    }
    out->module_checked = false;
    return tl_error_set_nopos(err, -ENOENT,
                              "TDX module %s SVN %u is below every level (or its status is "
                              "not one a module may have)",
                              m->id, isvsvn);
}

int tl_tdx_tcb_match_qe(const struct tl_tdx_qe_identity *qe, const struct tl_sgx_report *r,
                        struct tl_tdx_tcb_result *out, struct tl_error *err)
{
    if (memcmp(qe->mrsigner, r->mrsigner, 32) != 0)
        return tl_error_set_nopos(err, -EPERM, "QE MRSIGNER is not the QE identity's");
    if (qe->isvprodid != r->isvprodid)
        return tl_error_set_nopos(err, -EPERM, "QE ISVPRODID %u, the QE identity says %u",
                                  r->isvprodid, qe->isvprodid);
    if ((r->miscselect & qe->miscselect_mask) != (qe->miscselect & qe->miscselect_mask))
        return tl_error_set_nopos(err, -EPERM, "QE MISCSELECT differs under the mask");
    for (int i = 0; i < 16; i++)
        if ((r->attributes[i] & qe->attributes_mask[i]) !=
            (qe->attributes[i] & qe->attributes_mask[i]))
            return tl_error_set_nopos(err, -EPERM, "QE ATTRIBUTES differ under the mask (byte %d)",
                                      i);
    for (size_t i = 0; i < qe->n_levels; i++) {
        if (r->isvsvn < qe->levels[i].isvsvn)
            continue;
        if (!component_status(qe->levels[i].status))
            break;
        out->qe_evaluated = true;
        out->qe_status = qe->levels[i].status;
        out->status = converge(out->status, qe->levels[i].status);
        out->qe_advisories = qe->levels[i].advisories;
        out->qe_tcb_date = qe->levels[i].tcb_date;
        combine(out);
        return 0;
    }
    return tl_error_set_nopos(err, -ENOENT,
                              "QE ISVSVN %u is below every QE identity level (or its status is "
                              "not one a QE may have)",
                              r->isvsvn);
}
