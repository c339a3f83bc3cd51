/* The emulated TDX secure processor: quote v4 serialisation and signing,
 * the PCK and TCB signing chains, CRLs, and PCS-shaped TCB info and QE
 * identity (tl/tdx_emul.h says what and why). The quote writer is the
 * inverse of tdx.c's reader (same offsets; Intel TDX DCAP Quote Library
 * API, A.3/A.4), the SGX extension the inverse of pck.c's. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "emul_internal.h"
#include "tl/tdx_emul.h"
#include "tl/util.h"

#define EMUL_ORG "trustlaunch emulated secure processor"

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

void tl_tdx_emul_defaults(struct tl_tdx_td_report *td, struct tl_sgx_report *qe,
                          struct tl_tdx_pck_info *platform)
{
    *td = (struct tl_tdx_td_report){.tee_tcb_svn = {3, 0}};
    memset(td->mrseam, 0x5e, 48);
    memset(td->mrsignerseam, 0xa5, 48);
    put_le(td->td_attributes, TL_TDX_TD_ATTR_SEPT_VE_DIS, 8);
    put_le(td->xfam, 0x00000000000602e7ull, 8);
    *qe = (struct tl_sgx_report){.isvprodid = 2, .isvsvn = 4, .attributes = {0x11}};
    memset(qe->mrenclave, 0x3e, 32);
    memset(qe->mrsigner, 0xdc, 32);
    *platform = (struct tl_tdx_pck_info){
        .fmspc = {0x00, 0x80, 0x6f, 0x05, 0x00, 0x00}, .pcesvn = 11, .sgx_type = 0};
    memset(platform->tcb_comp, 2, 16);
    memset(platform->cpusvn, 2, 16);
    memset(platform->ppid, 0x9d, 16);
}

/* ---- the quote ---- */

static void td_write(uint8_t *p, const struct tl_tdx_td_report *td)
{
    size_t o = 0;
#define PUT(field)                                                                                 \
    do {                                                                                           \
        memcpy(p + o, td->field, sizeof(td->field));                                               \
        o += sizeof(td->field);                                                                    \
    } while (0)
    PUT(tee_tcb_svn);
    PUT(mrseam);
    PUT(mrsignerseam);
    PUT(seam_attributes);
    PUT(td_attributes);
    PUT(xfam);
    PUT(mrtd);
    PUT(mrconfigid);
    PUT(mrowner);
    PUT(mrownerconfig);
    PUT(rtmr);
    PUT(report_data);
#undef PUT
}

static void sgx_write(uint8_t *p, const struct tl_sgx_report *r)
{
    memset(p, 0, TL_SGX_REPORT_SIZE);
    memcpy(p, r->cpusvn, 16);
    put_le(p + 16, r->miscselect, 4);
    memcpy(p + 48, r->attributes, 16);
    memcpy(p + 64, r->mrenclave, 32);
    memcpy(p + 128, r->mrsigner, 32);
    put_le(p + 256, r->isvprodid, 2);
    put_le(p + 258, r->isvsvn, 2);
    memcpy(p + 320, r->report_data, 64);
}

/* x || y of a P-256 key. */
static int p256_xy(EVP_PKEY *key, uint8_t xy[64], struct tl_error *err)
{
    uint8_t pub[80];
    size_t n = 0;
    char group[32] = "";
    size_t glen = 0;
    if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC ||
        !EVP_PKEY_get_utf8_string_param(key, "group", group, sizeof(group), &glen) ||
        strcmp(group, "prime256v1") != 0 ||
        EVP_PKEY_get_octet_string_param(key, "encoded-pub-key", pub, sizeof(pub), &n) != 1 ||
        n != 65 || pub[0] != 0x04)
        return tl_error_set_nopos(err, -EINVAL, "attestation key: not an EC P-256 key");
    memcpy(xy, pub + 1, 64);
    return 0;
}

int tl_tdx_emul_quote(const struct tl_tdx_td_report *td, const struct tl_sgx_report *qe_in,
                      const uint8_t *qe_auth, size_t qe_auth_len, EVP_PKEY *att_key,
                      EVP_PKEY *pck_key, const char *pem, size_t pem_len, uint8_t **out,
                      size_t *out_len, struct tl_error *err)
{
    static const uint8_t intel_qe_vendor[16] = {0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                                0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};
    if (qe_auth_len > 256 || pem_len == 0 || pem_len > 64 * 1024)
        return tl_error_set_nopos(err, -EINVAL,
                                  "TD quote: QE auth data (%zu) or PCK chain (%zu) size",
                                  qe_auth_len, pem_len);
    size_t inner = pem_len, cert = TL_SGX_REPORT_SIZE + 64 + 2 + qe_auth_len + 6 + inner;
    size_t sig = 64 + 64 + 6 + cert;
    size_t body = TL_TDX_HEADER_SIZE + TL_TDX_TD10_SIZE, total = body + 4 + sig;
    uint8_t *q = calloc(1, total);
    if (!q)
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    put_le(q, 4, 2);
    put_le(q + 2, TL_TDX_ATT_KEY_ECDSA_P256, 2);
    put_le(q + 4, TL_TDX_TEE_TYPE, 4);
    memcpy(q + 12, intel_qe_vendor, 16);
    td_write(q + TL_TDX_HEADER_SIZE, td);
    put_le(q + body, sig, 4);
    uint8_t *s = q + body + 4, *ak = s + 64;
    int r = p256_xy(att_key, ak, err);
    if (r == 0)
        r = emul_ecdsa_sign(att_key, EVP_sha256(), q, body, 32, s, s + 32, err);
    uint8_t *c = s + 128;
    put_le(c, TL_TDX_CERT_QE_REPORT, 2);
    put_le(c + 2, cert, 4);
    c += 6;
    struct tl_sgx_report qe = *qe_in;
    memset(qe.report_data, 0, 64);
    uint8_t bound[64 + 256];
    memcpy(bound, ak, 64);
    if (qe_auth_len)
        memcpy(bound + 64, qe_auth, qe_auth_len);
    unsigned int hn = 32;
    if (r == 0 && EVP_Digest(bound, 64 + qe_auth_len, qe.report_data, &hn, EVP_sha256(), NULL) != 1)
        r = tl_error_set_nopos(err, -ENOMEM, "SHA-256 failed");
    sgx_write(c, &qe);
    if (r == 0)
        r = emul_ecdsa_sign(pck_key, EVP_sha256(), c, TL_SGX_REPORT_SIZE, 32,
                            c + TL_SGX_REPORT_SIZE, c + TL_SGX_REPORT_SIZE + 32, err);
    c += TL_SGX_REPORT_SIZE + 64;
    put_le(c, qe_auth_len, 2);
    if (qe_auth_len)
        memcpy(c + 2, qe_auth, qe_auth_len);
    c += 2 + qe_auth_len;
    put_le(c, TL_TDX_CERT_PCK_CHAIN, 2);
    put_le(c + 2, inner, 4);
    memcpy(c + 6, pem, pem_len);
    if (r < 0) {
        free(q);
        return r;
    }
    *out = q;
    *out_len = total;
    return 0;
}

/* ---- certificates ---- */

#define SUBJECT(cn)                                                                                \
    (const char *const[])                                                                          \
    {                                                                                              \
        "CN", cn, "O", EMUL_ORG, "L", "Santa Clara", "ST", "CA", "C", "US", NULL                   \
    }

/* The four certificates of Intel's shape this emulator issues. */
enum tdx_role { ROLE_ROOT, ROLE_PCK_CA, ROLE_PCK, ROLE_TCB_SIGNER };

static const struct {
    const char *cn;
    bool ca;
    int pathlen;
    const char *usage;
} roles[] = {
    [ROLE_ROOT] = {"Emulated SGX Root CA", true, 1, "critical,keyCertSign,cRLSign"},
    [ROLE_PCK_CA] = {"Emulated SGX PCK Platform CA", true, 0, "critical,keyCertSign,cRLSign"},
    [ROLE_PCK] = {"Emulated SGX PCK Certificate", false, -1,
                  "critical,digitalSignature,nonRepudiation"},
    [ROLE_TCB_SIGNER] = {"Emulated SGX TCB Signing", false, -1,
                         "critical,digitalSignature,nonRepudiation"},
};

static int cert_make(enum tdx_role role, EVP_PKEY *key, EVP_PKEY *signer, const uint8_t *issuer_der,
                     size_t issuer_len, const struct tl_tdx_pck_info *sgx,
                     struct tl_tee_emul_window w, uint8_t **der, size_t *len, struct tl_error *err);

int tl_tdx_emul_root(EVP_PKEY *root, struct tl_tee_emul_window w, uint8_t **der, size_t *len,
                     struct tl_error *err)
{
    return cert_make(ROLE_ROOT, root, root, NULL, 0, NULL, w, der, len, err);
}

int tl_tdx_emul_pck_ca(EVP_PKEY *ca, EVP_PKEY *root_key, const uint8_t *root_der, size_t root_len,
                       struct tl_tee_emul_window w, uint8_t **der, size_t *len,
                       struct tl_error *err)
{
    return cert_make(ROLE_PCK_CA, ca, root_key, root_der, root_len, NULL, w, der, len, err);
}

int tl_tdx_emul_pck(EVP_PKEY *pck, EVP_PKEY *ca_key, const uint8_t *ca_der, size_t ca_len,
                    const struct tl_tdx_pck_info *platform, struct tl_tee_emul_window w,
                    uint8_t **der, size_t *len, struct tl_error *err)
{
    return cert_make(ROLE_PCK, pck, ca_key, ca_der, ca_len, platform, w, der, len, err);
}

int tl_tdx_emul_tcb_signer(EVP_PKEY *signer, EVP_PKEY *root_key, const uint8_t *root_der,
                           size_t root_len, struct tl_tee_emul_window w, uint8_t **der, size_t *len,
                           struct tl_error *err)
{
    return cert_make(ROLE_TCB_SIGNER, signer, root_key, root_der, root_len, NULL, w, der, len, err);
}

int tl_tdx_emul_crl(EVP_PKEY *issuer_key, const uint8_t *issuer_der, size_t issuer_len,
                    struct tl_tee_emul_window w, const uint64_t *revoked, size_t n, uint8_t **der,
                    size_t *len, struct tl_error *err)
{
    X509 *issuer = emul_parse(issuer_der, issuer_len, "CRL issuer", err);
    if (!issuer)
        return -EINVAL;
    int r = emul_crl(issuer, issuer_key, EMUL_SIG_ECDSA_SHA256, w.not_before, w.not_after, revoked,
                     n, der, len, err);
    X509_free(issuer);
    return r;
}

/* ---- the SGX extension (DER, written inside out) ---- */

struct der_buf {
    uint8_t b[1024];
    size_t n;
    bool overflow;
};

static void der_put(struct der_buf *d, const uint8_t *p, size_t n)
{
    if (d->n + n > sizeof(d->b)) {
        d->overflow = true;
        return;
    }
    memcpy(d->b + d->n, p, n);
    d->n += n;
}

/* tag, length (short or 0x81/0x82 form), content */
static void der_tlv(struct der_buf *d, uint8_t tag, const uint8_t *p, size_t n)
{
    uint8_t h[4] = {tag};
    size_t hl = 2;
    if (n < 0x80) {
        h[1] = (uint8_t)n;
    } else if (n < 0x100) {
        h[1] = 0x81;
        h[2] = (uint8_t)n;
        hl = 3;
    } else {
        h[1] = 0x82;
        h[2] = (uint8_t)(n >> 8);
        h[3] = (uint8_t)n;
        hl = 4;
    }
    der_put(d, h, hl);
    der_put(d, p, n);
}

static const uint8_t sgx_oid[] = {0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01};

/* SEQUENCE { OID sgx_oid.arcs, tag value } */
static void der_item(struct der_buf *d, const uint8_t *arcs, size_t n_arcs, uint8_t tag,
                     const uint8_t *v, size_t vn)
{
    struct der_buf in = {0};
    uint8_t oid[16];
    memcpy(oid, sgx_oid, sizeof(sgx_oid));
    memcpy(oid + sizeof(sgx_oid), arcs, n_arcs);
    der_tlv(&in, 0x06, oid, sizeof(sgx_oid) + n_arcs);
    der_tlv(&in, tag, v, vn);
    d->overflow |= in.overflow;
    der_tlv(d, 0x30, in.b, in.n);
}

/* An unsigned INTEGER's content octets. */
static size_t int_octets(unsigned v, uint8_t out[4])
{
    size_t n = 0;
    uint8_t tmp[3] = {(uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    size_t i = 0;
    while (i < 2 && tmp[i] == 0)
        i++;
    if (tmp[i] & 0x80)
        out[n++] = 0;
    for (; i < 3; i++)
        out[n++] = tmp[i];
    return n;
}

static int sgx_extension(const struct tl_tdx_pck_info *p, struct der_buf *out)
{
    struct der_buf top = {0}, tcb = {0};
    uint8_t v[4], arcs[2];
    for (unsigned i = 1; i <= 16; i++) {
        arcs[0] = 2;
        arcs[1] = (uint8_t)i;
        der_item(&tcb, arcs, 2, 0x02, v, int_octets(p->tcb_comp[i - 1], v));
    }
    arcs[1] = 17;
    der_item(&tcb, arcs, 2, 0x02, v, int_octets(p->pcesvn, v));
    arcs[1] = 18;
    der_item(&tcb, arcs, 2, 0x04, p->cpusvn, 16);
    arcs[0] = 1;
    der_item(&top, arcs, 1, 0x04, p->ppid, 16);
    arcs[0] = 2;
    der_item(&top, arcs, 1, 0x30, tcb.b, tcb.n);
    arcs[0] = 3;
    der_item(&top, arcs, 1, 0x04, p->pce_id, 2);
    arcs[0] = 4;
    der_item(&top, arcs, 1, 0x04, p->fmspc, 6);
    arcs[0] = 5;
    uint8_t type = (uint8_t)p->sgx_type;
    der_item(&top, arcs, 1, 0x0a, &type, 1);
    der_tlv(out, 0x30, top.b, top.n);
    return out->overflow || top.overflow || tcb.overflow ? -EOVERFLOW : 0;
}

static int cert_make(enum tdx_role role, EVP_PKEY *key, EVP_PKEY *signer, const uint8_t *issuer_der,
                     size_t issuer_len, const struct tl_tdx_pck_info *sgx,
                     struct tl_tee_emul_window w, uint8_t **der, size_t *len, struct tl_error *err)
{
    struct emul_cert_spec spec = {.subject = SUBJECT(roles[role].cn),
                                  .key = key,
                                  .signer = signer,
                                  .sig = EMUL_SIG_ECDSA_SHA256,
                                  .serial = (uint64_t)role + 1,
                                  .not_before = w.not_before,
                                  .not_after = w.not_after,
                                  .ca = roles[role].ca,
                                  .pathlen = roles[role].pathlen,
                                  .key_ids = true,
                                  .usage = roles[role].usage};
    struct emul_cert_spec *s = &spec;
    X509 *issuer = NULL;
    if (issuer_der && !(issuer = emul_parse(issuer_der, issuer_len, "issuer", err)))
        return -EINVAL;
    s->issuer = issuer;
    X509 *x = emul_cert_new(s, err);
    int r = x ? 0 : -EINVAL;
    if (r == 0 && sgx) {
        struct der_buf ext = {0};
        r = sgx_extension(sgx, &ext);
        if (r < 0)
            tl_error_set_nopos(err, r, "SGX extension: too large");
        else
            r = emul_ext_add(x, "1.2.840.113741.1.13.1", ext.b, ext.n, err);
    }
    if (r == 0)
        r = emul_cert_sign(x, s, err);
    if (r == 0)
        r = emul_der(x, der, len, err);
    X509_free(x);
    X509_free(issuer);
    return r;
}

/* ---- PCS JSON ---- */

static json_t *hex_json(const uint8_t *p, size_t n)
{
    char buf[2 * 64 + 1];
    tl_hex_encode(p, n, buf);
    return json_string(buf);
}

static json_t *time_json(time_t t)
{
    char buf[40];
    tl_tee_time_format(t, buf, sizeof(buf));
    return json_string(buf);
}

/* {"<member>":<body as compact text>,"signature":"<r||s hex>"} */
static int signed_response(const char *member, json_t *body, EVP_PKEY *signer, char **json,
                           size_t *len, struct tl_error *err)
{
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(body);
    if (!text)
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    uint8_t sig[64];
    int r = emul_ecdsa_sign(signer, EVP_sha256(), (const uint8_t *)text, strlen(text), 32, sig,
                            sig + 32, err);
    char hex[129];
    tl_hex_encode(sig, 64, hex);
    char *out = NULL;
    if (r == 0 && asprintf(&out, "{\"%s\":%s,\"signature\":\"%s\"}", member, text, hex) < 0)
        r = tl_error_set_nopos(err, -ENOMEM, "out of memory");
    free(text);
    if (r < 0)
        return r;
    *json = out;
    *len = strlen(out);
    return 0;
}

static json_t *components(const uint8_t svn[16])
{
    json_t *a = json_array();
    for (int i = 0; a && i < 16; i++)
        json_array_append_new(a, json_pack("{s:i}", "svn", svn[i]));
    return a;
}

int tl_tdx_emul_tcbinfo(const struct tl_tdx_pck_info *p, const struct tl_tdx_td_report *td,
                        struct tl_tee_emul_window w, EVP_PKEY *signer, char **json, size_t *len,
                        struct tl_error *err)
{
    uint8_t mask[8];
    memset(mask, 0xff, sizeof(mask));
    json_t *level =
        json_pack("{s:{s:o,s:i,s:o},s:o,s:s}", "tcb", "sgxtcbcomponents", components(p->tcb_comp),
                  "pcesvn", p->pcesvn, "tdxtcbcomponents", components(td->tee_tcb_svn), "tcbDate",
                  time_json(w.not_before), "tcbStatus", "UpToDate");
    json_t *body =
        json_pack("{s:s,s:i,s:o,s:o,s:o,s:o,s:i,s:i,s:{s:o,s:o,s:o},s:[o]}", "id", "TDX", "version",
                  3, "issueDate", time_json(w.not_before), "nextUpdate", time_json(w.not_after),
                  "fmspc", hex_json(p->fmspc, 6), "pceId", hex_json(p->pce_id, 2), "tcbType", 0,
                  "tcbEvaluationDataNumber", 1, "tdxModule", "mrsigner",
                  hex_json(td->mrsignerseam, 48), "attributes", hex_json(td->seam_attributes, 8),
                  "attributesMask", hex_json(mask, 8), "tcbLevels", level);
    return signed_response("tcbInfo", body, signer, json, len, err);
}

int tl_tdx_emul_qe_identity(const struct tl_sgx_report *qe, struct tl_tee_emul_window w,
                            EVP_PKEY *signer, char **json, size_t *len, struct tl_error *err)
{
    uint8_t misc[4], ones[16];
    put_le(misc, qe->miscselect, 4);
    memset(ones, 0xff, sizeof(ones));
    json_t *level = json_pack("{s:{s:i},s:o,s:s}", "tcb", "isvsvn", qe->isvsvn, "tcbDate",
                              time_json(w.not_before), "tcbStatus", "UpToDate");
    json_t *body =
        json_pack("{s:s,s:i,s:o,s:o,s:i,s:o,s:o,s:o,s:o,s:o,s:i,s:[o]}", "id", "TD_QE", "version",
                  2, "issueDate", time_json(w.not_before), "nextUpdate", time_json(w.not_after),
                  "tcbEvaluationDataNumber", 1, "miscselect", hex_json(misc, 4), "miscselectMask",
                  hex_json(ones, 4), "attributes", hex_json(qe->attributes, 16), "attributesMask",
                  hex_json(ones, 16), "mrsigner", hex_json(qe->mrsigner, 32), "isvprodid",
                  qe->isvprodid, "tcbLevels", level);
    return signed_response("enclaveIdentity", body, signer, json, len, err);
}

/* ---- TDREPORT ---- */

void tl_tdx_emul_tdreport(const struct tl_tdx_td_report *td, uint8_t out[1024])
{
    memset(out, 0, 1024);
    /* REPORTMACSTRUCT: REPORTTYPE {TYPE 0x81 (TDX), SUBTYPE 0, VERSION 1} */
    out[0] = 0x81;
    out[2] = 1;
    memcpy(out + 128, td->report_data, 64);
    /* TEE_TCB_INFO: VALID (8), TEE_TCB_SVN, MRSEAM, MRSIGNERSEAM, ATTRIBUTES */
    uint8_t *t = out + 256;
    memset(t, 0xff, 8);
    memcpy(t + 8, td->tee_tcb_svn, 16);
    memcpy(t + 24, td->mrseam, 48);
    memcpy(t + 72, td->mrsignerseam, 48);
    memcpy(t + 120, td->seam_attributes, 8);
    /* TDINFO */
    uint8_t *i = out + 512;
    memcpy(i, td->td_attributes, 8);
    memcpy(i + 8, td->xfam, 8);
    memcpy(i + 16, td->mrtd, 48);
    memcpy(i + 64, td->mrconfigid, 48);
    memcpy(i + 112, td->mrowner, 48);
    memcpy(i + 160, td->mrownerconfig, 48);
    memcpy(i + 208, td->rtmr, 4 * 48);
}
