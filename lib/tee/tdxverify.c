/* Verifying a TDX quote (Intel TDX DCAP Quote Verification Library, the
 * steps of sgxAttestationVerifyQuote / tee_verify_quote, done offline with
 * a collateral set at a caller-given time):
 *
 *  1. the quote's ECDSA P-256 signature over header (+ descriptor) + body
 *     with the attestation key in the quote;
 *  2. the QE report's REPORT_DATA = SHA-256(attestation key || QE auth
 *     data) || 32 zero bytes: the key is the QE's;
 *  3. the PCK chain (certification data type 5) to the pinned Intel SGX
 *     Root CA at `at`, with the PCK and root CRLs; the QE report's
 *     signature by the PCK key;
 *  4. the TCB info whose FMSPC is the PCK's (same PCE ID), its signer's
 *     chain, its window; the platform TCB level, the TDX module identity;
 *  5. the QE identity (its signer, window), the QE report against it;
 *  6. the combined status against the policy's accepted statuses, debug,
 *     and the policy's pins (MRTD, RTMRs, MRCONFIGID, MROWNER, ...).
 *
 * Every failed check is a reason in the verdict; checks that need a failed
 * one's output are skipped (a reason already says why the verdict fails).
 * A certificate outside its window is "expired"; a CRL, TCB info or QE
 * identity outside its window is "collateral-expired"; a missing one is
 * "collateral". */
#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tdx-internal.h"
#include "tl/util.h"

/* A reason once: chains share CAs and CRLs, and the root CRL's staleness
 * is one fact however many chains meet it. */
__attribute__((format(printf, 3, 4))) static void
fail_once(struct tl_tee_verdict *v, enum tl_tee_code code, const char *fmt, ...)
{
    char detail[sizeof(v->reasons[0].detail)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    for (unsigned i = 0; i < v->n_reasons; i++)
        if (v->reasons[i].code == code && strcmp(v->reasons[i].detail, detail) == 0)
            return;
    tl_tee_fail(v, code, "%s", detail);
}

static void cert_cn(X509 *x, char *buf, size_t size)
{
    if (!x ||
        X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, buf, (int)size) < 0)
        snprintf(buf, size, "(no CN)");
}

static void asn1_time_str(const ASN1_TIME *t, char *buf, size_t size)
{
    struct tm tm;
    if (t && ASN1_TIME_to_tm(t, &tm) == 1)
        strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
    else
        snprintf(buf, size, "?");
}

struct chain_ctx {
    struct tl_tee_verdict *v;
    const char *what;
};

/* OpenSSL calls this for each problem it finds; every one becomes a reason
 * and the walk goes on, so one verification names all of them. */
static int chain_cb(int ok, X509_STORE_CTX *ctx)
{
    if (ok)
        return 1;
    struct chain_ctx *cc = X509_STORE_CTX_get_app_data(ctx);
    int e = X509_STORE_CTX_get_error(ctx);
    X509 *cert = X509_STORE_CTX_get_current_cert(ctx);
    X509_CRL *crl = X509_STORE_CTX_get0_current_crl(ctx);
    char cn[96], when[32], issuer[96] = "?";
    cert_cn(cert, cn, sizeof(cn));
    if (crl)
        X509_NAME_get_text_by_NID(X509_CRL_get_issuer(crl), NID_commonName, issuer, sizeof(issuer));
    switch (e) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
        asn1_time_str(X509_get0_notAfter(cert), when, sizeof(when));
        fail_once(cc->v, TL_TEE_EXPIRED, "%s: certificate \"%s\" expired %s", cc->what, cn, when);
        break;
    case X509_V_ERR_CERT_NOT_YET_VALID:
        asn1_time_str(X509_get0_notBefore(cert), when, sizeof(when));
        fail_once(cc->v, TL_TEE_EXPIRED, "%s: certificate \"%s\" not valid before %s", cc->what, cn,
                  when);
        break;
    case X509_V_ERR_CRL_HAS_EXPIRED:
        asn1_time_str(X509_CRL_get0_nextUpdate(crl), when, sizeof(when));
        fail_once(cc->v, TL_TEE_COLLATERAL_EXPIRED, "CRL of \"%s\": next update was %s", issuer,
                  when);
        break;
    case X509_V_ERR_CRL_NOT_YET_VALID:
        asn1_time_str(X509_CRL_get0_lastUpdate(crl), when, sizeof(when));
        fail_once(cc->v, TL_TEE_COLLATERAL_EXPIRED, "CRL of \"%s\": not valid before %s", issuer,
                  when);
        break;
    case X509_V_ERR_UNABLE_TO_GET_CRL:
        /* One fact per issuer, whichever chain ran into it. */
        if (cert && X509_NAME_get_text_by_NID(X509_get_issuer_name(cert), NID_commonName, issuer,
                                              sizeof(issuer)) < 0)
            snprintf(issuer, sizeof(issuer), "?");
        fail_once(cc->v, TL_TEE_COLLATERAL, "no CRL issued by \"%s\"", issuer);
        break;
    case X509_V_ERR_CERT_REVOKED:
        fail_once(cc->v, TL_TEE_REVOKED, "%s: certificate \"%s\" is revoked", cc->what, cn);
        break;
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
        fail_once(cc->v, TL_TEE_COLLATERAL, "CRL of \"%s\": signature does not verify", issuer);
        break;
    default:
        fail_once(cc->v, TL_TEE_CHAIN, "%s: \"%s\": %s", cc->what, cn,
                  X509_verify_cert_error_string(e));
    }
    return 1;
}

/* The chain of leaf (through `untrusted`) to the pinned root, at `at`,
 * every certificate checked against its issuer's CRL. */
static int chain_verify(const struct tl_tdx_collateral *c, X509 *leaf, STACK_OF(X509) * untrusted,
                        time_t at, struct tl_tee_verdict *v, const char *what)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    struct chain_ctx cc = {.v = v, .what = what};
    int r = -ENOMEM;
    unsigned before = v->n_reasons + v->n_dropped;
    if (!store || !ctx || X509_STORE_add_cert(store, c->root) != 1 ||
        X509_STORE_CTX_init(ctx, store, leaf, untrusted) != 1)
        goto out;
    X509_STORE_CTX_set0_crls(ctx, c->crls);
    X509_STORE_CTX_set_app_data(ctx, &cc);
    X509_STORE_CTX_set_verify_cb(ctx, chain_cb);
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL |
                                           X509_V_FLAG_USE_CHECK_TIME);
    X509_VERIFY_PARAM_set_time(param, at);
    int ok = X509_verify_cert(ctx);
    /* The top of the chain must be the pinned root itself. */
    STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
    X509 *top = chain && sk_X509_num(chain) ? sk_X509_value(chain, sk_X509_num(chain) - 1) : NULL;
    if (!top || X509_cmp(top, c->root) != 0)
        fail_once(v, TL_TEE_CHAIN, "%s: does not lead to the Intel SGX Root CA", what);
    else if (ok != 1 && v->n_reasons + v->n_dropped == before)
        fail_once(v, TL_TEE_CHAIN, "%s: %s", what,
                  X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
    r = 0;
out:
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return r;
}

static EVP_PKEY *p256_key(const uint8_t xy[64])
{
    uint8_t pub[65] = {0x04};
    memcpy(pub + 1, xy, 64);
    EVP_PKEY *key = NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"prime256v1", 0),
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub)),
        OSSL_PARAM_END,
    };
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (ctx && EVP_PKEY_fromdata_init(ctx) == 1)
        EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params);
    EVP_PKEY_CTX_free(ctx);
    return key;
}

/* The PEM chain of certification data type 5: certificates, then nothing
 * but whitespace or NUL bytes (producers end the chain with a NUL). */
static STACK_OF(X509) * pck_chain_parse(const struct tl_tdx_quote *q, char *why, size_t why_size)
{
    STACK_OF(X509) *certs = sk_X509_new_null();
    BIO *bio = BIO_new_mem_buf(q->pck_chain, (int)q->pck_chain_len);
    if (!certs || !bio)
        goto fail;
    for (;;) {
        X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        if (!x)
            break;
        if (sk_X509_push(certs, x) <= 0) {
            X509_free(x);
            goto fail;
        }
    }
    ERR_clear_error();
    if (sk_X509_num(certs) < 2) {
        snprintf(why, why_size, "PCK chain: %d certificates, needs the PCK and its CA",
                 sk_X509_num(certs));
        goto fail;
    }
    /* What PEM_read skipped is text outside the PEM blocks; allow only
     * whitespace and NULs after the last one. */
    const char *end_marker = "-----END CERTIFICATE-----";
    const uint8_t *last = NULL;
    for (const uint8_t *p = q->pck_chain; (size_t)(p - q->pck_chain) < q->pck_chain_len; p++) {
        p = memmem(p, q->pck_chain_len - (size_t)(p - q->pck_chain), end_marker,
                   strlen(end_marker));
        if (!p)
            break;
        last = p + strlen(end_marker);
    }
    for (const uint8_t *p = last; p && p < q->pck_chain + q->pck_chain_len; p++)
        if (*p != '\n' && *p != '\r' && *p != ' ' && *p != '\0') {
            snprintf(why, why_size, "PCK chain: bytes after the last certificate");
            goto fail;
        }
    BIO_free(bio);
    return certs;
fail:
    BIO_free(bio);
    sk_X509_pop_free(certs, X509_free);
    if (!why[0])
        snprintf(why, why_size, "PCK chain: cannot be read");
    return NULL;
}

static void window(struct tl_tee_verdict *v, const char *what, time_t from, time_t to, time_t at)
{
    char a[32], b[32];
    tl_tee_time_format(from, a, sizeof(a));
    tl_tee_time_format(to, b, sizeof(b));
    if (at < from || at > to)
        fail_once(v, TL_TEE_COLLATERAL_EXPIRED, "%s: valid %s to %s", what, a, b);
}

static const struct tl_tdx_tcbinfo *pick_tcbinfo(const struct tl_tdx_collateral *c,
                                                 const uint8_t fmspc[6], time_t at, int *signer)
{
    const struct tl_tdx_tcbinfo *best = NULL;
    for (size_t i = 0; i < c->n_tcbinfos; i++) {
        const struct tl_tdx_tcbinfo *t = &c->tcbinfos[i];
        if (memcmp(t->fmspc, fmspc, 6) != 0)
            continue;
        bool cur = at >= t->issue_date && at <= t->next_update;
        bool best_cur = best && at >= best->issue_date && at <= best->next_update;
        /* prefer one current at `at`, then the newest */
        if (!best || (cur && !best_cur) || (cur == best_cur && t->issue_date > best->issue_date)) {
            best = t;
            *signer = c->tcbinfo_signer[i];
        }
    }
    return best;
}

static const struct tl_tdx_qe_identity *pick_qe_identity(const struct tl_tdx_collateral *c,
                                                         time_t at, int *signer)
{
    const struct tl_tdx_qe_identity *best = NULL;
    for (size_t i = 0; i < c->n_qe_identities; i++) {
        const struct tl_tdx_qe_identity *e = &c->qe_identities[i];
        bool cur = at >= e->issue_date && at <= e->next_update;
        bool best_cur = best && at >= best->issue_date && at <= best->next_update;
        if (!best || (cur && !best_cur) || (cur == best_cur && e->issue_date > best->issue_date)) {
            best = e;
            *signer = c->qe_identity_signer[i];
        }
    }
    return best;
}

static void advisories_str(const struct tl_tdx_advisories *a, char *buf, size_t size)
{
    size_t o = 0;
    buf[0] = '\0';
    for (unsigned i = 0; i < a->n && o < size; i++)
        o += (size_t)snprintf(buf + o, size - o, "%s%s", i ? ", " : "", a->id[i]);
}

static void tcb_claims(json_t *obj, const struct tl_tdx_tcb_result *t)
{
    tl_tee_claim_str(obj, "attester_tcb_status", tl_tee_tcb_status_name(t->status));
    json_t *a = json_array();
    for (unsigned i = 0; a && i < t->advisories.n; i++)
        json_array_append_new(a, json_string(t->advisories.id[i]));
    if (a)
        json_object_set_new(obj, "attester_advisory_ids", a);
    char date[32];
    tl_tee_time_format(t->tcb_date, date, sizeof(date));
    tl_tee_claim_str(obj, "attester_tcb_date", date);
}

/* The collateral part: TCB info, TDX module, QE identity. */
static void judge_tcb(const struct tl_tdx_collateral *c, const struct tl_tdx_quote *q,
                      const struct tl_tdx_pck_info *pck, time_t at, struct tl_tee_verdict *v,
                      struct tl_tdx_tcb_result *tcb)
{
    struct tl_error e = {0};
    char hex[16];
    int signer = -1;
    tl_hex_encode(pck->fmspc, 6, hex);
    const struct tl_tdx_tcbinfo *ti = pick_tcbinfo(c, pck->fmspc, at, &signer);
    if (!ti) {
        fail_once(v, TL_TEE_COLLATERAL, "no TDX TCB info for FMSPC %s", hex);
        return;
    }
    if (memcmp(ti->pce_id, pck->pce_id, 2) != 0)
        fail_once(v, TL_TEE_COLLATERAL, "TCB info PCE ID differs from the PCK certificate's");
    if (signer < 0)
        fail_once(v, TL_TEE_SIGNATURE,
                  "TCB info (FMSPC %s): signature verifies with no "
                  "certificate given",
                  hex);
    else
        chain_verify(c, sk_X509_value(c->certs, signer), c->certs, at, v, "TCB signing chain");
    window(v, "TCB info", ti->issue_date, ti->next_update, at);

    if (tl_tdx_tcb_match_platform(ti, pck, &q->td, tcb, &e) < 0) {
        fail_once(v, TL_TEE_TCB_LEVEL, "%s", e.message);
        return;
    }
    int r = tl_tdx_tcb_match_module(ti, &q->td, tcb, &e);
    if (r < 0)
        fail_once(v, r == -EPERM ? TL_TEE_TCB_MISMATCH : TL_TEE_TCB_LEVEL, "TDX module: %s",
                  e.message);

    signer = -1;
    const struct tl_tdx_qe_identity *qe = pick_qe_identity(c, at, &signer);
    if (!qe) {
        fail_once(v, TL_TEE_COLLATERAL, "no TD_QE identity");
        return;
    }
    if (signer < 0)
        fail_once(v, TL_TEE_SIGNATURE,
                  "QE identity: signature verifies with no certificate "
                  "given");
    else
        chain_verify(c, sk_X509_value(c->certs, signer), c->certs, at, v, "TCB signing chain");
    window(v, "QE identity", qe->issue_date, qe->next_update, at);
    r = tl_tdx_tcb_match_qe(qe, &q->qe, tcb, &e);
    if (r < 0)
        fail_once(v, r == -EPERM ? TL_TEE_QE_BINDING : TL_TEE_TCB_LEVEL, "QE identity: %s",
                  e.message);
}

static void pin(struct tl_tee_verdict *v, enum tl_tee_code code, const struct tl_tee_pin *p,
                const uint8_t *value, size_t len, const char *name)
{
    if (!p->set)
        return;
    if (p->len != len || !tl_tee_pin_matches(p, value, len)) {
        char hex[2 * 64 + 1];
        tl_hex_encode(value, len, hex);
        tl_tee_fail(v, code, "%s %s is not the pinned value", name, hex);
    }
}

static void judge_policy(const struct tl_tdx_quote *q, const struct tl_tee_policy *p,
                         const struct tl_tdx_tcb_result *tcb, struct tl_tee_verdict *v)
{
    const struct tl_tdx_td_report *td = &q->td;
    if (tcb->evaluated && !(p->tcb_status_mask & (1u << tcb->status))) {
        char adv[TL_TDX_MAX_ADVISORIES * TL_TDX_ADVISORY_LEN];
        advisories_str(&tcb->advisories, adv, sizeof(adv));
        tl_tee_fail(v, TL_TEE_TCB_STATUS, "TCB status %s%s%s%s is not accepted",
                    tl_tee_tcb_status_name(tcb->status), adv[0] ? " (" : "", adv,
                    adv[0] ? ")" : "");
    }
    if ((tl_le64(td->td_attributes) & TL_TDX_TD_ATTR_DEBUG) && !p->allow_debug)
        tl_tee_fail(v, TL_TEE_DEBUG, "the TD is debuggable (TDATTRIBUTES.DEBUG)");
    pin(v, TL_TEE_MEASUREMENT, &p->measurement, td->mrtd, 48, "MRTD");
    static const char *const rtmr_names[] = {"RTMR0", "RTMR1", "RTMR2", "RTMR3"};
    for (int i = 0; i < 4; i++)
        pin(v, TL_TEE_MEASUREMENT, &p->rtmr[i], td->rtmr[i], 48, rtmr_names[i]);
    pin(v, TL_TEE_POLICY, &p->mrconfigid, td->mrconfigid, 48, "MRCONFIGID");
    pin(v, TL_TEE_POLICY, &p->mrowner, td->mrowner, 48, "MROWNER");
    pin(v, TL_TEE_POLICY, &p->mrownerconfig, td->mrownerconfig, 48, "MROWNERCONFIG");
    pin(v, TL_TEE_REPORT_DATA, &p->report_data, td->report_data, 64, "REPORTDATA");
    if (p->nonce.set && (p->nonce.len > 64 || memcmp(p->nonce.v, td->report_data, p->nonce.len) ||
                         !tl_is_zero(td->report_data + p->nonce.len, 64 - p->nonce.len)))
        tl_tee_fail(v, TL_TEE_NONCE, "REPORTDATA does not carry the nonce");
    if (p->min_tee_tcb_svn.set) {
        for (size_t i = 0; i < 16 && i < p->min_tee_tcb_svn.len; i++)
            if (td->tee_tcb_svn[i] < p->min_tee_tcb_svn.v[i]) {
                tl_tee_fail(v, TL_TEE_SVN, "TEE_TCB_SVN[%zu] %u is below the policy's %u", i,
                            td->tee_tcb_svn[i], p->min_tee_tcb_svn.v[i]);
                break;
            }
    }
}

int tl_tdx_verify(const uint8_t *quote, size_t len, const struct tl_tdx_collateral *col,
                  const struct tl_tee_policy *policy, time_t at, struct tl_tee_verdict *v,
                  struct tl_tdx_tcb_result *tcb_out, struct tl_error *err)
{
    struct tl_tdx_quote q;
    struct tl_tdx_tcb_result tcb = {.platform_level = -1};
    struct tl_tee_policy defaults;
    if (!policy) {
        tl_tee_policy_init(&defaults);
        policy = &defaults;
    }
    if (tcb_out)
        *tcb_out = tcb;
    int r = tl_tee_verdict_init(v, TL_TEE_KIND_TDX, at);
    if (r < 0)
        return tl_error_set_nopos(err, r, "out of memory");
    r = tl_tdx_quote_parse(quote, len, &q, err);
    if (r == -EPROTONOSUPPORT) {
        tl_tee_fail(v, TL_TEE_VERSION, "%s", err ? err->message : "unsupported quote");
        tl_tee_verdict_finish(v);
        return 0;
    }
    if (r < 0) {
        tl_tee_fail(v, TL_TEE_MALFORMED, "%s", err ? err->message : "malformed quote");
        tl_tee_verdict_finish(v);
        return r;
    }
    tl_tdx_claims(v->claims, &q);

    /* 1. the quote signature */
    EVP_PKEY *ak = p256_key(q.attest_key);
    if (!ak || !tl_tdx_ecdsa_verify(ak, q.signed_data, q.signed_len, q.signature))
        tl_tee_fail(v, TL_TEE_SIGNATURE,
                    ak ? "quote signature does not verify with its attestation key"
                       : "attestation key is not a P-256 point");
    EVP_PKEY_free(ak);

    /* 2. the QE binds the attestation key */
    uint8_t h[SHA256_DIGEST_LENGTH];
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool hashed = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
                  EVP_DigestUpdate(md, q.attest_key, 64) == 1 &&
                  EVP_DigestUpdate(md, q.qe_auth, q.qe_auth_len) == 1 &&
                  EVP_DigestFinal_ex(md, h, NULL) == 1;
    EVP_MD_CTX_free(md);
    if (!hashed || memcmp(h, q.qe.report_data, 32) != 0 || !tl_is_zero(q.qe.report_data + 32, 32))
        tl_tee_fail(v, TL_TEE_QE_BINDING,
                    "QE REPORTDATA is not SHA-256(attestation key || QE "
                    "authentication data)");

    /* 3. the PCK chain and the QE report's signature */
    char why[160] = "";
    STACK_OF(X509) *chain = pck_chain_parse(&q, why, sizeof(why));
    struct tl_tdx_pck_info pck;
    bool pck_ok = false;
    if (!chain) {
        tl_tee_fail(v, TL_TEE_CHAIN, "%s", why);
    } else {
        X509 *leaf = sk_X509_value(chain, 0);
        chain_verify(col, leaf, chain, at, v, "PCK chain");
        if (!tl_tdx_ecdsa_verify(X509_get0_pubkey(leaf), q.qe_report, TL_SGX_REPORT_SIZE,
                                 q.qe_report_signature))
            tl_tee_fail(v, TL_TEE_SIGNATURE, "QE report signature does not verify with the PCK");
        uint8_t *der = NULL;
        int n = i2d_X509(leaf, &der);
        struct tl_error e = {0};
        if (n > 0 && tl_tdx_pck_info_parse(der, (size_t)n, &pck, &e) == 0)
            pck_ok = true;
        else
            tl_tee_fail(v, TL_TEE_CHAIN, "%s", e.message[0] ? e.message : "PCK: out of memory");
        OPENSSL_free(der);
        sk_X509_pop_free(chain, X509_free);
    }

    /* 4-5. TCB info, TDX module, QE identity */
    if (pck_ok)
        judge_tcb(col, &q, &pck, at, v, &tcb);
    if (tcb.evaluated)
        tcb_claims(v->claims, &tcb);

    /* 6. policy */
    judge_policy(&q, policy, &tcb, v);
    if (tcb_out)
        *tcb_out = tcb;
    tl_tee_verdict_finish(v);
    return 0;
}
