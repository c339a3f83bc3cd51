/* X.509 building for the emulated secure processor: certificates shaped
 * like AMD's (RSASSA-PSS SHA-384, no key identifiers: the VCEK has no AKI)
 * and Intel's (ECDSA SHA-256, subject and authority key identifiers,
 * basic constraints and key usage critical), CRLs, and ECDSA signatures in
 * the fixed-width r || s form the reports and quotes carry. OpenSSL does
 * all the cryptography and encoding; nothing here is hand-rolled.
 *
 * Every OpenSSL failure is turned into -EINVAL + tl_error naming what was
 * being built, and the OpenSSL error queue is left empty. */
#include <errno.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "emul_internal.h"

static int fail(struct tl_error *err, const char *what)
{
    unsigned long e = ERR_peek_last_error();
    char buf[160] = "";
    if (e)
        ERR_error_string_n(e, buf, sizeof(buf));
    ERR_clear_error();
    return tl_error_set_nopos(err, -EINVAL, "%s%s%s", what, buf[0] ? ": " : "", buf);
}

static bool set_time(ASN1_TIME *t, time_t when)
{
    return ASN1_TIME_set(t, when) != NULL;
}

static bool conf_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    bool ok = ext && X509_add_ext(x, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok;
}

X509 *emul_cert_new(const struct emul_cert_spec *s, struct tl_error *err)
{
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    ASN1_INTEGER *serial = ASN1_INTEGER_new();
    bool ok = x && name && serial && X509_set_version(x, 2) == 1 &&
              ASN1_INTEGER_set_uint64(serial, s->serial) == 1 &&
              X509_set_serialNumber(x, serial) == 1;
    for (size_t i = 0; ok && s->subject[i]; i += 2)
        ok = X509_NAME_add_entry_by_txt(name, s->subject[i], MBSTRING_UTF8,
                                        (const unsigned char *)s->subject[i + 1], -1, -1, 0) == 1;
    ok = ok && X509_set_subject_name(x, name) == 1 &&
         X509_set_issuer_name(x, s->issuer ? X509_get_subject_name(s->issuer) : name) == 1 &&
         set_time(X509_getm_notBefore(x), s->not_before) &&
         set_time(X509_getm_notAfter(x), s->not_after) && X509_set_pubkey(x, s->key) == 1;
    if (ok && s->key_ids) {
        ok = conf_ext(x, s->issuer, NID_subject_key_identifier, "hash") &&
             conf_ext(x, s->issuer, NID_authority_key_identifier, "keyid:always");
    }
    if (ok && s->ca) {
        char bc[48];
        if (s->pathlen >= 0)
            snprintf(bc, sizeof(bc), "critical,CA:TRUE,pathlen:%d", s->pathlen);
        else
            snprintf(bc, sizeof(bc), "critical,CA:TRUE");
        ok = conf_ext(x, s->issuer, NID_basic_constraints, bc);
    } else if (ok && s->key_ids) {
        ok = conf_ext(x, s->issuer, NID_basic_constraints, "critical,CA:FALSE");
    }
    if (ok && s->usage)
        ok = conf_ext(x, s->issuer, NID_key_usage, s->usage);
    X509_NAME_free(name);
    ASN1_INTEGER_free(serial);
    if (!ok) {
        X509_free(x);
        fail(err, "emulated certificate: building");
        return NULL;
    }
    return x;
}

int emul_ext_add(X509 *x, const char *oid, const uint8_t *der, size_t len, struct tl_error *err)
{
    ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    X509_EXTENSION *ext = NULL;
    bool ok = obj && os && ASN1_OCTET_STRING_set(os, der, (int)len) == 1 &&
              (ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os)) &&
              X509_add_ext(x, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(obj);
    return ok ? 0 : fail(err, "emulated certificate: extension");
}

/* A digest-sign context for the spec's algorithm on key. */
static EVP_MD_CTX *sign_ctx(EVP_PKEY *key, enum emul_sig sig)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    bool ok = md != NULL;
    if (ok && sig == EMUL_SIG_RSA_PSS_SHA384)
        ok = EVP_DigestSignInit(md, &pctx, EVP_sha384(), NULL, key) == 1 &&
             EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 48) == 1 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha384()) == 1;
    else if (ok)
        ok = EVP_DigestSignInit(md, &pctx, EVP_sha256(), NULL, key) == 1;
    if (!ok) {
        EVP_MD_CTX_free(md);
        return NULL;
    }
    return md;
}

int emul_cert_sign(X509 *x, const struct emul_cert_spec *s, struct tl_error *err)
{
    EVP_MD_CTX *md = sign_ctx(s->signer, s->sig);
    bool ok = md && X509_sign_ctx(x, md) > 0;
    EVP_MD_CTX_free(md);
    return ok ? 0 : fail(err, "emulated certificate: signing");
}

int emul_der(X509 *x, uint8_t **der, size_t *len, struct tl_error *err)
{
    unsigned char *p = NULL;
    int n = i2d_X509(x, &p);
    if (n <= 0)
        return fail(err, "emulated certificate: encoding");
    *der = malloc((size_t)n);
    if (!*der) {
        OPENSSL_free(p);
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    }
    memcpy(*der, p, (size_t)n);
    *len = (size_t)n;
    OPENSSL_free(p);
    return 0;
}

X509 *emul_parse(const uint8_t *der, size_t len, const char *what, struct tl_error *err)
{
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (!x || p != der + len) {
        X509_free(x);
        ERR_clear_error();
        tl_error_set_nopos(err, -EINVAL, "%s: not a DER certificate", what);
        return NULL;
    }
    return x;
}

int emul_crl(X509 *issuer, EVP_PKEY *signer, enum emul_sig sig, time_t this_update,
             time_t next_update, const uint64_t *revoked, size_t n_revoked, uint8_t **der,
             size_t *len, struct tl_error *err)
{
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *t1 = ASN1_TIME_new(), *t2 = ASN1_TIME_new();
    bool ok = crl && t1 && t2 && X509_CRL_set_version(crl, 1) == 1 &&
              X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)) == 1 &&
              set_time(t1, this_update) && set_time(t2, next_update) &&
              X509_CRL_set1_lastUpdate(crl, t1) == 1 && X509_CRL_set1_nextUpdate(crl, t2) == 1;
    for (size_t i = 0; ok && i < n_revoked; i++) {
        X509_REVOKED *rev = X509_REVOKED_new();
        ASN1_INTEGER *sn = ASN1_INTEGER_new();
        ok = rev && sn && ASN1_INTEGER_set_uint64(sn, revoked[i]) == 1 &&
             X509_REVOKED_set_serialNumber(rev, sn) == 1 &&
             X509_REVOKED_set_revocationDate(rev, t1) == 1 && X509_CRL_add0_revoked(crl, rev) == 1;
        if (ok)
            rev = NULL;
        X509_REVOKED_free(rev);
        ASN1_INTEGER_free(sn);
    }
    EVP_MD_CTX *md = ok ? sign_ctx(signer, sig) : NULL;
    ok = ok && md && X509_CRL_sort(crl) == 1 && X509_CRL_sign_ctx(crl, md) > 0;
    EVP_MD_CTX_free(md);
    unsigned char *p = NULL;
    int n = ok ? i2d_X509_CRL(crl, &p) : -1;
    X509_CRL_free(crl);
    ASN1_TIME_free(t1);
    ASN1_TIME_free(t2);
    if (n <= 0)
        return fail(err, "emulated CRL");
    *der = malloc((size_t)n);
    if (*der) {
        memcpy(*der, p, (size_t)n);
        *len = (size_t)n;
    }
    OPENSSL_free(p);
    return *der ? 0 : tl_error_set_nopos(err, -ENOMEM, "out of memory");
}

int emul_ecdsa_sign(EVP_PKEY *key, const EVP_MD *md, const uint8_t *data, size_t len, size_t width,
                    uint8_t *r_out, uint8_t *s_out, struct tl_error *err)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char sig[160];
    size_t sig_len = sizeof(sig);
    ECDSA_SIG *es = NULL;
    bool ok = ctx && EVP_PKEY_get_base_id(key) == EVP_PKEY_EC &&
              EVP_DigestSignInit(ctx, NULL, md, NULL, key) == 1 &&
              EVP_DigestSign(ctx, sig, &sig_len, data, len) == 1;
    const unsigned char *p = sig;
    ok = ok && (es = d2i_ECDSA_SIG(NULL, &p, (long)sig_len)) != NULL &&
         BN_bn2binpad(ECDSA_SIG_get0_r(es), r_out, (int)width) == (int)width &&
         BN_bn2binpad(ECDSA_SIG_get0_s(es), s_out, (int)width) == (int)width;
    ECDSA_SIG_free(es);
    EVP_MD_CTX_free(ctx);
    return ok ? 0 : fail(err, "ECDSA signature (is the key an EC private key of the right curve?)");
}
