/* Certificate paths to the pinned Intel SGX Root CA (RFC 5280, 6; Intel
 * SGX PCK Certificate and CRL Profile), split in two so that what does not
 * change can be kept:
 *
 *  - tdx_path_build: the structure (names, key identifiers, signatures,
 *    basic constraints, key usage, critical extensions) by OpenSSL's
 *    X509_verify_cert with X509_V_FLAG_NO_CHECK_TIME and no CRL checks,
 *    then, per certificate, the CRLs of its issuer in the collateral, each
 *    CRL's signature checked with that issuer's key and the certificate
 *    looked up in it. None of it depends on the time: the collateral set
 *    builds the paths of its own certificates once, at load;
 *  - tdx_path_judge: per verification, at `at`: each certificate's
 *    window, the choice of its issuer's CRL (the newest current one, else
 *    the newest, which is then stale) and revocation on that CRL.
 *
 * Reasons: a structural problem is "chain"; a certificate outside its
 * window "expired"; no CRL of an issuer, or none whose signature verifies,
 * "collateral"; the CRL chosen stale "collateral-expired"; the
 * certificate on it "revoked". As OpenSSL's X509_V_FLAG_CRL_CHECK_ALL does,
 * every certificate of the path is checked, the root against its own
 * CRL. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "tdx-internal.h"
#include "tl/util.h"

void tdx_fail_once(struct tl_tee_verdict *v, enum tl_tee_code code, const char *fmt, ...)
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

time_t tdx_asn1_time(const ASN1_TIME *t)
{
    struct tm tm;
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
        return 0;
    return timegm(&tm);
}

static void name_cn(const X509_NAME *n, char *buf, size_t size)
{
    if (!n || X509_NAME_get_text_by_NID((X509_NAME *)n, NID_commonName, buf, (int)size) < 0)
        snprintf(buf, size, "(no CN)");
}

/* A CA certificate that is its own issuer (names and signature). */
static bool self_signed_ca(X509 *x)
{
    bool ok = X509_check_issued(x, x) == X509_V_OK && X509_check_ca(x) > 0 &&
              X509_verify(x, X509_get0_pubkey(x)) == 1;
    ERR_clear_error();
    return ok;
}

struct build_ctx {
    struct tdx_path *p;
};

static void add_static(struct tdx_path *p, enum tl_tee_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void add_static(struct tdx_path *p, enum tl_tee_code code, const char *fmt, ...)
{
    char detail[sizeof(p->statics[0].detail)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    for (unsigned i = 0; i < p->n_static; i++)
        if (p->statics[i].code == code && strcmp(p->statics[i].detail, detail) == 0)
            return;
    if (p->n_static == TDX_PATH_STATIC) {
        /* keep the path failing even when the list is full */
        p->statics[TDX_PATH_STATIC - 1].code = TL_TEE_CHAIN;
        return;
    }
    p->statics[p->n_static].code = code;
    snprintf(p->statics[p->n_static].detail, sizeof(p->statics[0].detail), "%s", detail);
    p->n_static++;
}

/* Every problem OpenSSL finds is kept, and the walk goes on. */
static int build_cb(int ok, X509_STORE_CTX *ctx)
{
    if (ok)
        return 1;
    struct build_ctx *bc = X509_STORE_CTX_get_app_data(ctx);
    char cn[80];
    name_cn(X509_get_subject_name(X509_STORE_CTX_get_current_cert(ctx)), cn, sizeof(cn));
    add_static(bc->p, TL_TEE_CHAIN, "\"%s\": %s", cn,
               X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
    return 1;
}

/* The issuer's CRLs in the collateral, for one certificate. */
static void link_crls(const struct tl_tdx_collateral *c, X509 *cert, X509 *issuer,
                      struct tdx_link *l)
{
    EVP_PKEY *key = issuer ? X509_get0_pubkey(issuer) : NULL;
    for (int i = 0; i < sk_X509_CRL_num(c->crls) && l->n_crls < TDX_PATH_CRLS; i++) {
        X509_CRL *crl = sk_X509_CRL_value(c->crls, i);
        if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_issuer_name(cert)) != 0)
            continue;
        X509_REVOKED *rev = NULL;
        /* The collateral verified each CRL once, with the certificate that
         * signed it; the same issuer needs no second verification. */
        int signer = c->crl_info[i].signer;
        X509 *known = signer == -2 ? c->root : signer >= 0 ? sk_X509_value(c->certs, signer) : NULL;
        bool sig_ok = issuer && known && X509_cmp(issuer, known) == 0;
        if (!sig_ok)
            sig_ok = key && X509_CRL_verify(crl, key) == 1;
        l->crls[l->n_crls++] = (struct tdx_crl_ref){
            .crl = i,
            .sig_ok = sig_ok,
            .revoked = X509_CRL_get0_by_cert(crl, &rev, cert) == 1,
        };
    }
}

static void link_fill(const struct tl_tdx_collateral *c, X509 *cert, X509 *issuer,
                      struct tdx_link *l)
{
    *l = (struct tdx_link){0};
    name_cn(X509_get_subject_name(cert), l->cn, sizeof(l->cn));
    name_cn(X509_get_issuer_name(cert), l->issuer_cn, sizeof(l->issuer_cn));
    l->not_before = tdx_asn1_time(X509_get0_notBefore(cert));
    l->not_after = tdx_asn1_time(X509_get0_notAfter(cert));
    link_crls(c, cert, issuer, l);
}

int tdx_path_build(const struct tl_tdx_collateral *c, X509 *leaf, STACK_OF(X509) * untrusted,
                   X509 *anchor, const struct tdx_path *anchor_path, struct tdx_path *out)
{
    *out = (struct tdx_path){0};
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    struct build_ctx bc = {.p = out};
    int r = -ENOMEM;
    if (!store || !ctx || X509_STORE_add_cert(store, anchor ? anchor : c->root) != 1)
        goto done;
    /* Self-signed CAs handed in are candidate roots too: the path may end
     * at one, and the policy judges it by fingerprint (tdx_path_judge). */
    for (int i = 0; !anchor && i < sk_X509_num(untrusted); i++) {
        X509 *x = sk_X509_value(untrusted, i);
        if (X509_cmp(x, c->root) != 0 && self_signed_ca(x))
            X509_STORE_add_cert(store, x);
    }
    ERR_clear_error();
    if (X509_STORE_CTX_init(ctx, store, leaf, untrusted) != 1)
        goto done;
    X509_STORE_CTX_set_app_data(ctx, &bc);
    X509_STORE_CTX_set_verify_cb(ctx, build_cb);
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_NO_CHECK_TIME |
                                           (anchor ? X509_V_FLAG_PARTIAL_CHAIN : 0));
    int ok = X509_verify_cert(ctx);
    STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
    int n = chain ? sk_X509_num(chain) : 0;
    X509 *top = n ? sk_X509_value(chain, n - 1) : NULL;
    if (top && anchor && X509_cmp(top, anchor) == 0) {
        out->rooted = anchor_path->rooted;
        out->builtin_root = anchor_path->builtin_root;
        memcpy(out->root_sha256, anchor_path->root_sha256, 32);
    } else if (top && !anchor && (X509_cmp(top, c->root) == 0 || self_signed_ca(top))) {
        unsigned n_md = 32;
        out->builtin_root = X509_cmp(top, c->root) == 0;
        out->rooted = X509_digest(top, EVP_sha256(), out->root_sha256, &n_md) == 1;
    }
    if (!out->rooted) {
        add_static(out, TL_TEE_CHAIN, "does not lead to the Intel SGX Root CA");
    } else if (ok != 1 && out->n_static == 0) {
        add_static(out, TL_TEE_CHAIN, "%s",
                   X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
    }
    /* the links: this chain's certificates, then the anchor's path above
     * the anchor itself */
    for (int i = 0; i < n && out->n_links < TDX_PATH_MAX; i++) {
        X509 *cert = sk_X509_value(chain, i);
        if (anchor && i == n - 1)
            break; /* the anchor's own link is in anchor_path */
        X509 *issuer = i + 1 < n ? sk_X509_value(chain, i + 1) : cert;
        link_fill(c, cert, issuer, &out->links[out->n_links++]);
    }
    if (anchor) {
        for (unsigned i = 0; i < anchor_path->n_links && out->n_links < TDX_PATH_MAX; i++)
            out->links[out->n_links++] = anchor_path->links[i];
        for (unsigned i = 0; i < anchor_path->n_static; i++)
            add_static(out, anchor_path->statics[i].code, "%s", anchor_path->statics[i].detail);
    }
    r = 0;
done:
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return r;
}

static void stamp(time_t t, char *buf, size_t size)
{
    tl_tee_time_format(t, buf, size);
}

void tdx_path_judge(const struct tl_tdx_collateral *c, const struct tdx_path *p, const char *what,
                    const struct tl_tee_policy *pol, time_t at, struct tl_tee_verdict *v)
{
    char when[32];
    for (unsigned i = 0; i < p->n_static; i++)
        tdx_fail_once(v, p->statics[i].code, "%s: %s", what, p->statics[i].detail);
    if (p->rooted && !p->builtin_root) {
        if (tl_tee_policy_trusts_root(pol, TL_TEE_ROOT_TDX_ROOT, p->root_sha256)) {
            v->emulated = true;
        } else {
            char hex[65];
            tl_hex_encode(p->root_sha256, 32, hex);
            tdx_fail_once(v, TL_TEE_ROOT_UNTRUSTED,
                          "%s: ends at root \"%s\" (sha256 %s), which is not Intel's and which "
                          "the policy's trusted-roots do not name",
                          what, p->n_links ? p->links[p->n_links - 1].cn : "?", hex);
        }
    }
    for (unsigned i = 0; i < p->n_links; i++) {
        const struct tdx_link *l = &p->links[i];
        if (at > l->not_after) {
            stamp(l->not_after, when, sizeof(when));
            tdx_fail_once(v, TL_TEE_EXPIRED, "%s: certificate \"%s\" expired %s", what, l->cn,
                          when);
        } else if (at < l->not_before) {
            stamp(l->not_before, when, sizeof(when));
            tdx_fail_once(v, TL_TEE_EXPIRED, "%s: certificate \"%s\" not valid before %s", what,
                          l->cn, when);
        }
        /* The issuer's CRL: the newest current one, else the newest. */
        const struct tdx_crl_ref *pick = NULL;
        bool pick_current = false, any = false;
        for (unsigned k = 0; k < l->n_crls; k++) {
            const struct tdx_crl_ref *ref = &l->crls[k];
            any = true;
            if (!ref->sig_ok)
                continue;
            const struct tdx_crl_info *ci = &c->crl_info[ref->crl];
            bool current = at >= ci->this_update && (!ci->next_update || at <= ci->next_update);
            if (!pick || (current && !pick_current) ||
                (current == pick_current && ci->this_update > c->crl_info[pick->crl].this_update)) {
                pick = ref;
                pick_current = current;
            }
        }
        if (!pick) {
            if (any)
                tdx_fail_once(v, TL_TEE_COLLATERAL, "CRL of \"%s\": signature does not verify",
                              l->issuer_cn);
            else
                tdx_fail_once(v, TL_TEE_COLLATERAL, "no CRL issued by \"%s\"", l->issuer_cn);
            continue;
        }
        const struct tdx_crl_info *ci = &c->crl_info[pick->crl];
        if (!pick_current) {
            if (at < ci->this_update) {
                stamp(ci->this_update, when, sizeof(when));
                tdx_fail_once(v, TL_TEE_COLLATERAL_EXPIRED, "CRL of \"%s\": not valid before %s",
                              ci->issuer_cn, when);
            } else {
                stamp(ci->next_update, when, sizeof(when));
                tdx_fail_once(v, TL_TEE_COLLATERAL_EXPIRED, "CRL of \"%s\": next update was %s",
                              ci->issuer_cn, when);
            }
        }
        if (pick->revoked)
            tdx_fail_once(v, TL_TEE_REVOKED, "%s: certificate \"%s\" is revoked", what, l->cn);
    }
}
