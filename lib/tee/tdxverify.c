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
#include <limits.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tdx-internal.h"
#include "tl/util.h"

/* The attestation key (x || y) as a P-256 public key on a copy of the
 * collateral's group parameters; NULL when the point is not on the curve. */
static EVP_PKEY *p256_key(const struct tl_tdx_collateral *c, const uint8_t xy[64])
{
    uint8_t pub[65] = {0x04};
    memcpy(pub + 1, xy, 64);
    EVP_PKEY *key = EVP_PKEY_new();
    if (!key || EVP_PKEY_copy_parameters(key, c->p256) != 1 ||
        EVP_PKEY_set1_encoded_public_key(key, pub, sizeof(pub)) != 1) {
        EVP_PKEY_free(key);
        ERR_clear_error();
        return NULL;
    }
    return key;
}

/* The PEM chain of certification data type 5, split into DER
 * certificates: "-----BEGIN CERTIFICATE-----", base64 lines, "-----END
 * CERTIFICATE-----", blocks separated and followed only by whitespace or
 * NUL bytes (producers end the chain with a NUL). One pass; no other PEM
 * types, no headers. Returns the number of certificates (<= max), or -1
 * with why filled. */
#define PEM_BEGIN     "-----BEGIN CERTIFICATE-----"
#define PEM_END       "-----END CERTIFICATE-----"
#define PCK_CHAIN_MAX 4

struct der_cert {
    uint8_t *der;
    int len;
};

static bool pem_space(uint8_t b)
{
    return b == '\n' || b == '\r' || b == ' ' || b == '\t' || b == '\0';
}

static int pck_chain_split(const uint8_t *p, size_t len, struct der_cert *out, int max, char *why,
                           size_t why_size)
{
    size_t i = 0, bl = strlen(PEM_BEGIN), el = strlen(PEM_END);
    int n = 0;
    for (;;) {
        while (i < len && pem_space(p[i]))
            i++;
        if (i == len)
            break;
        if (len - i < bl || memcmp(p + i, PEM_BEGIN, bl) != 0) {
            snprintf(why, why_size, "PCK chain: bytes outside a certificate at offset %zu", i);
            return -1;
        }
        i += bl;
        const uint8_t *end = memmem(p + i, len - i, PEM_END, el);
        if (!end) {
            snprintf(why, why_size, "PCK chain: a certificate does not end");
            return -1;
        }
        if (n == max) {
            snprintf(why, why_size, "PCK chain: more than %d certificates", max);
            return -1;
        }
        size_t b64 = (size_t)(end - (p + i));
        uint8_t *der = malloc(b64 / 4 * 3 + 3);
        EVP_ENCODE_CTX *ec = EVP_ENCODE_CTX_new();
        int a = 0, b = 0;
        if (!der || !ec) {
            free(der);
            EVP_ENCODE_CTX_free(ec);
            snprintf(why, why_size, "out of memory");
            return -1;
        }
        EVP_DecodeInit(ec);
        bool ok = b64 <= INT_MAX && EVP_DecodeUpdate(ec, der, &a, p + i, (int)b64) >= 0 &&
                  EVP_DecodeFinal(ec, der + a, &b) == 1 && a + b > 0;
        EVP_ENCODE_CTX_free(ec);
        if (!ok) {
            free(der);
            snprintf(why, why_size, "PCK chain: certificate %d is not base64", n);
            return -1;
        }
        out[n++] = (struct der_cert){der, a + b};
        i = (size_t)(end - p) + el;
    }
    if (n < 2) {
        snprintf(why, why_size, "PCK chain: %d certificates, needs the PCK and its CA", n);
        return -1;
    }
    return n;
}

/* The collateral's already checked copy of this certificate, or -1. */
static int known_ca(const struct tl_tdx_collateral *c, const struct der_cert *d)
{
    for (int i = 0; i < sk_X509_num(c->certs); i++)
        if (c->cert_path[i] && c->cert_der_len[i] == d->len &&
            memcmp(c->cert_der[i], d->der, (size_t)d->len) == 0)
            return i;
    return -1;
}

/* The PCK chain: its path to the root judged at `at`; returns the PCK
 * certificate (a reference the caller frees). Three ways, one verdict:
 * the PCK is one the collateral holds, its path checked at load; the
 * quote's CA and root are byte for byte a CA the collateral holds (a PCS
 * issuer chain) and the pinned root: only the PCK is checked, against
 * that CA; otherwise the whole chain is validated. */
static X509 *pck_chain_judge(const struct tl_tdx_collateral *c, const struct tl_tdx_quote *q,
                             const struct tl_tee_policy *pol, time_t at, struct tl_tee_verdict *v,
                             int *enomem)
{
    struct der_cert d[PCK_CHAIN_MAX] = {0};
    char why[160] = "";
    X509 *leaf = NULL;
    STACK_OF(X509) *untrusted = NULL;
    struct tdx_path path;
    int n = pck_chain_split(q->pck_chain, q->pck_chain_len, d, PCK_CHAIN_MAX, why, sizeof(why));
    if (n < 0) {
        tl_tee_fail(v, TL_TEE_CHAIN, "%s", why);
        goto out;
    }
    /* The PCK itself already checked by the collateral: nothing to parse
     * or verify here but the windows and CRLs at `at`. A path with any
     * static problem is not used (the quote's own chain may complete it). */
    int held = known_ca(c, &d[0]);
    if (held >= 0 && c->cert_path[held]->n_static == 0) {
        leaf = sk_X509_value(c->certs, held);
        X509_up_ref(leaf);
        tdx_path_judge(c, c->cert_path[held], "PCK chain", pol, at, v);
        goto out;
    }
    const uint8_t *p = d[0].der;
    leaf = d2i_X509(NULL, &p, d[0].len);
    if (!leaf || p != d[0].der + d[0].len) {
        tl_tee_fail(v, TL_TEE_CHAIN, "PCK chain: the PCK certificate is not DER X.509");
        X509_free(leaf);
        leaf = NULL;
        goto out;
    }
    int ca = n == 3 && d[2].len == c->root_der_len &&
                     memcmp(d[2].der, c->root_der, (size_t)d[2].len) == 0
                 ? known_ca(c, &d[1])
                 : -1;
    if (ca >= 0) {
        if (tdx_path_build(c, leaf, NULL, sk_X509_value(c->certs, ca), c->cert_path[ca], &path) < 0)
            *enomem = 1;
    } else {
        untrusted = sk_X509_new_null();
        if (!untrusted || !sk_X509_push(untrusted, leaf)) {
            *enomem = 1;
            goto out;
        }
        X509_up_ref(leaf);
        for (int i = 1; i < n; i++) {
            p = d[i].der;
            X509 *x = d2i_X509(NULL, &p, d[i].len);
            if (!x || p != d[i].der + d[i].len) {
                X509_free(x);
                tl_tee_fail(v, TL_TEE_CHAIN, "PCK chain: certificate %d is not DER X.509", i);
                goto out;
            }
            if (!sk_X509_push(untrusted, x)) {
                X509_free(x);
                *enomem = 1;
                goto out;
            }
        }
        if (tdx_path_build(c, leaf, untrusted, NULL, NULL, &path) < 0) {
            *enomem = 1;
            goto out;
        }
    }
    if (!*enomem)
        tdx_path_judge(c, &path, "PCK chain", pol, at, v);
out:
    sk_X509_pop_free(untrusted, X509_free);
    for (int i = 0; i < PCK_CHAIN_MAX; i++)
        free(d[i].der);
    return leaf;
}

static void window(struct tl_tee_verdict *v, const char *what, time_t from, time_t to, time_t at)
{
    char a[32], b[32];
    tl_tee_time_format(from, a, sizeof(a));
    tl_tee_time_format(to, b, sizeof(b));
    if (at < from || at > to)
        tdx_fail_once(v, TL_TEE_COLLATERAL_EXPIRED, "%s: valid %s to %s", what, a, b);
}

static const struct tl_tdx_tcbinfo *pick_tcbinfo(const struct tl_tdx_collateral *c,
                                                 const uint8_t fmspc[6], time_t at, int *signer)
{
    const struct tl_tdx_tcbinfo *best = NULL;
    int best_rank = -1;
    for (size_t i = 0; i < c->n_tcbinfos; i++) {
        const struct tl_tdx_tcbinfo *t = &c->tcbinfos[i];
        if (memcmp(t->fmspc, fmspc, 6) != 0)
            continue;
        /* prefer one whose signature verified, then one current at `at`,
         * then the newest */
        int rank = (c->tcbinfo_signer[i] >= 0) * 2 + (at >= t->issue_date && at <= t->next_update);
        if (!best || rank > best_rank || (rank == best_rank && t->issue_date > best->issue_date)) {
            best = t;
            best_rank = rank;
            *signer = c->tcbinfo_signer[i];
        }
    }
    return best;
}

static const struct tl_tdx_qe_identity *pick_qe_identity(const struct tl_tdx_collateral *c,
                                                         time_t at, int *signer)
{
    const struct tl_tdx_qe_identity *best = NULL;
    int best_rank = -1;
    for (size_t i = 0; i < c->n_qe_identities; i++) {
        const struct tl_tdx_qe_identity *e = &c->qe_identities[i];
        int rank =
            (c->qe_identity_signer[i] >= 0) * 2 + (at >= e->issue_date && at <= e->next_update);
        if (!best || rank > best_rank || (rank == best_rank && e->issue_date > best->issue_date)) {
            best = e;
            best_rank = rank;
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
                      const struct tl_tdx_pck_info *pck, const struct tl_tee_policy *pol, time_t at,
                      struct tl_tee_verdict *v, struct tl_tdx_tcb_result *tcb)
{
    struct tl_error e = {0};
    char hex[16];
    int signer = -1;
    tl_hex_encode(pck->fmspc, 6, hex);
    const struct tl_tdx_tcbinfo *ti = pick_tcbinfo(c, pck->fmspc, at, &signer);
    if (!ti) {
        tdx_fail_once(v, TL_TEE_COLLATERAL, "no TDX TCB info for FMSPC %s", hex);
        return;
    }
    if (memcmp(ti->pce_id, pck->pce_id, 2) != 0)
        tdx_fail_once(v, TL_TEE_COLLATERAL, "TCB info PCE ID differs from the PCK certificate's");
    if (signer < 0)
        tdx_fail_once(v, TL_TEE_SIGNATURE,
                      "TCB info (FMSPC %s): signature verifies with no "
                      "certificate given",
                      hex);
    else
        tdx_path_judge(c, c->cert_path[signer], "TCB signing chain", pol, at, v);
    window(v, "TCB info", ti->issue_date, ti->next_update, at);

    if (tl_tdx_tcb_match_platform(ti, pck, &q->td, tcb, &e) < 0) {
        tdx_fail_once(v, TL_TEE_TCB_LEVEL, "%s", e.message);
        return;
    }
    int r = tl_tdx_tcb_match_module(ti, &q->td, tcb, &e);
    if (r < 0)
        tdx_fail_once(v, r == -EPERM ? TL_TEE_TCB_MISMATCH : TL_TEE_TCB_LEVEL, "TDX module: %s",
                      e.message);

    signer = -1;
    const struct tl_tdx_qe_identity *qe = pick_qe_identity(c, at, &signer);
    if (!qe) {
        tdx_fail_once(v, TL_TEE_COLLATERAL, "no TD_QE identity");
        return;
    }
    if (signer < 0)
        tdx_fail_once(v, TL_TEE_SIGNATURE,
                      "QE identity: signature verifies with no certificate "
                      "given");
    else
        tdx_path_judge(c, c->cert_path[signer], "TCB signing chain", pol, at, v);
    window(v, "QE identity", qe->issue_date, qe->next_update, at);
    r = tl_tdx_tcb_match_qe(qe, &q->qe, tcb, &e);
    if (r < 0)
        tdx_fail_once(v, r == -EPERM ? TL_TEE_QE_BINDING : TL_TEE_TCB_LEVEL, "QE identity: %s",
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
    if (!col) {
        tl_tee_fail(v, TL_TEE_COLLATERAL,
                    "no collateral set: the PCK chain and TCB cannot be "
                    "judged");
        tl_tee_verdict_finish(v);
        return 0;
    }

    /* 1. the quote signature */
    EVP_PKEY *ak = p256_key(col, q.attest_key);
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
    int enomem = 0;
    struct tl_tdx_pck_info pck;
    bool pck_ok = false;
    X509 *leaf = pck_chain_judge(col, &q, policy, at, v, &enomem);
    if (enomem) {
        X509_free(leaf);
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    }
    if (leaf) {
        if (!tl_tdx_ecdsa_verify(X509_get0_pubkey(leaf), q.qe_report, TL_SGX_REPORT_SIZE,
                                 q.qe_report_signature))
            tl_tee_fail(v, TL_TEE_SIGNATURE, "QE report signature does not verify with the PCK");
        struct tl_error e = {0};
        if (tl_tdx_pck_info_from_x509(leaf, &pck, &e) == 0)
            pck_ok = true;
        else
            tl_tee_fail(v, TL_TEE_CHAIN, "%s", e.message);
        X509_free(leaf);
    }

    /* 4-5. TCB info, TDX module, QE identity */
    if (pck_ok)
        judge_tcb(col, &q, &pck, policy, at, v, &tcb);
    if (tcb.evaluated)
        tcb_claims(v->claims, &tcb);

    /* 6. policy */
    judge_policy(&q, policy, &tcb, v);
    if (tcb_out)
        *tcb_out = tcb;
    tl_tee_verdict_finish(v);
    return 0;
}
