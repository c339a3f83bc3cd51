/* The platform's EK CA: create it, store and load it as PEM, issue EK
 * certificates, and verify them as an attestation verifier does.
 *
 * EK certificates follow the TCG EK Credential Profile for TPM Family 2.0,
 * Level 0, Version 2.x, section 3.2 (the EK certificate's fields):
 *  - X.509 v3, a positive serial of at most 20 octets (RFC 5280 4.1.2.2);
 *  - the subject may be empty; then the subjectAltName is critical
 *    (RFC 5280 4.2.1.6);
 *  - subjectAltName: one directoryName whose single, multi-valued RDN holds
 *    tcg-at-tpmManufacturer, tcg-at-tpmModel and tcg-at-tpmVersion
 *    (2.23.133.2.1/2/3) as UTF8Strings, the form real EK certificates use
 *    ("DirName:/2.23.133.2.1=id:...+2.23.133.2.2=...+2.23.133.2.3=id:...");
 *  - keyUsage, critical: keyEncipherment for an RSA EK, keyAgreement for an
 *    ECC EK;
 *  - basicConstraints, critical, cA FALSE;
 *  - extKeyUsage tcg-kp-EKCertificate 2.23.133.8.1;
 *  - authorityKeyIdentifier, the intermediate's key identifier.
 * Certificate policies, authority information access and CRL distribution
 * points are optional and left out: the platform's verifier holds the root
 * and the intermediate itself.
 *
 * Invariants: a loaded CA has been checked to fit together (who signed
 * what, which key belongs to which certificate) before anything issues
 * from it; the OpenSSL error queue is left empty on return. */
#include "tl/ekca.h"

#include <errno.h>
#include <limits.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "tl/util.h"

#define ROOT_DAYS         (30 * 365 + 7)
#define INTERMEDIATE_DAYS (20 * 365 + 5)
#define CA_CURVE          "P-384"

/* The reason of the last OpenSSL error, for a message; empties the queue. */
static const char *ossl_reason(void)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    ERR_clear_error();
    return r ? r : "OpenSSL error";
}

static int ossl_fail(struct tl_error *err, int code, const char *what)
{
    return tl_error_set_nopos(err, code, "%s: %s", what, ossl_reason());
}

/* A random positive serial of exactly 20 octets (RFC 5280 4.1.2.2). */
static int set_random_serial(X509 *x)
{
    BIGNUM *bn = BN_new();
    int ok = bn && BN_rand(bn, 159, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) == 1 &&
             BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
    BN_free(bn);
    return ok ? 0 : -1;
}

/* An extension in OpenSSL's configuration syntax ("critical,CA:TRUE"). */
static int add_conf_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext)
        return -1;
    int ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

static X509_NAME *name_cn(const char *cn)
{
    X509_NAME *n = X509_NAME_new();
    if (n && cn &&
        !X509_NAME_add_entry_by_NID(n, NID_commonName, MBSTRING_UTF8, (const unsigned char *)cn, -1,
                                    -1, 0)) {
        X509_NAME_free(n);
        return NULL;
    }
    return n;
}

/* The fields every certificate here shares. issuer NULL: self-signed. */
static X509 *cert_new(EVP_PKEY *subject_key, const X509_NAME *subject, X509 *issuer, time_t now,
                      long days)
{
    X509 *x = X509_new();
    if (!x)
        return NULL;
    bool ok = X509_set_version(x, X509_VERSION_3) && set_random_serial(x) == 0 &&
              X509_set_subject_name(x, subject) &&
              X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : subject) &&
              X509_set_pubkey(x, subject_key) &&
              X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, &now);
    if (ok && days > 0)
        ok = X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0, &now) != NULL;
    else if (ok)
        ok = X509_set1_notAfter(x, X509_get0_notAfter(issuer));
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static X509 *ca_cert_new(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
                         time_t now, long days, const char *basic_constraints)
{
    X509_NAME *subject = name_cn(cn);
    X509 *x = subject ? cert_new(key, subject, issuer, now, days) : NULL;
    X509_NAME_free(subject);
    if (!x)
        return NULL;
    X509 *signer = issuer ? issuer : x;
    if (add_conf_ext(x, signer, NID_basic_constraints, basic_constraints) < 0 ||
        add_conf_ext(x, signer, NID_key_usage, "critical,keyCertSign,cRLSign") < 0 ||
        add_conf_ext(x, signer, NID_subject_key_identifier, "hash") < 0 ||
        add_conf_ext(x, signer, NID_authority_key_identifier, "keyid:always") < 0 ||
        !X509_sign(x, issuer_key ? issuer_key : key, EVP_sha384())) {
        X509_free(x);
        return NULL;
    }
    return x;
}

int tl_ekca_create(struct tl_ekca *ca, time_t now, struct tl_error *err)
{
    *ca = (struct tl_ekca){0};
    ca->root_key = EVP_EC_gen(CA_CURVE);
    ca->intermediate_key = EVP_EC_gen(CA_CURVE);
    if (!ca->root_key || !ca->intermediate_key) {
        tl_ekca_done(ca);
        return ossl_fail(err, -ENOMEM, "EK CA: generating P-384 keys");
    }
    ca->root =
        ca_cert_new(ca->root_key, TL_EKCA_ROOT_CN, NULL, NULL, now, ROOT_DAYS, "critical,CA:TRUE");
    if (!ca->root) {
        tl_ekca_done(ca);
        return ossl_fail(err, -ENOMEM, "EK CA: root certificate");
    }
    ca->intermediate =
        ca_cert_new(ca->intermediate_key, TL_EKCA_INTERMEDIATE_CN, ca->root, ca->root_key, now,
                    INTERMEDIATE_DAYS, "critical,CA:TRUE,pathlen:0");
    if (!ca->intermediate) {
        tl_ekca_done(ca);
        return ossl_fail(err, -ENOMEM, "EK CA: intermediate certificate");
    }
    return 0;
}

void tl_ekca_done(struct tl_ekca *ca)
{
    X509_free(ca->root);
    X509_free(ca->intermediate);
    EVP_PKEY_free(ca->root_key);
    EVP_PKEY_free(ca->intermediate_key);
    *ca = (struct tl_ekca){0};
}

/* ---- PEM ---- */

static const char *const part_names[TL_EKCA_N_PARTS] = {
    [TL_EKCA_ROOT_CERT] = "root certificate",
    [TL_EKCA_ROOT_KEY] = "root key",
    [TL_EKCA_INTERMEDIATE_CERT] = "intermediate certificate",
    [TL_EKCA_INTERMEDIATE_KEY] = "intermediate key",
};

static int bio_take(BIO *bio, char **out, size_t *out_len)
{
    char *p;
    long n = BIO_get_mem_data(bio, &p);
    if (n <= 0)
        return -1;
    *out = malloc((size_t)n + 1);
    if (!*out)
        return -1;
    memcpy(*out, p, (size_t)n);
    (*out)[n] = 0;
    *out_len = (size_t)n;
    return 0;
}

int tl_ekca_to_pem(const struct tl_ekca *ca, struct tl_ekca_pem *pem, struct tl_error *err)
{
    *pem = (struct tl_ekca_pem){0};
    for (int i = 0; i < TL_EKCA_N_PARTS; i++) {
        BIO *bio = BIO_new(BIO_s_mem());
        int ok = 0;
        if (bio) {
            switch (i) {
            case TL_EKCA_ROOT_CERT:
                ok = PEM_write_bio_X509(bio, ca->root);
                break;
            case TL_EKCA_INTERMEDIATE_CERT:
                ok = PEM_write_bio_X509(bio, ca->intermediate);
                break;
            case TL_EKCA_ROOT_KEY:
            case TL_EKCA_INTERMEDIATE_KEY: /* PKCS#8; the caller guards the file */
                ok = PEM_write_bio_PrivateKey(
                    bio, i == TL_EKCA_ROOT_KEY ? ca->root_key : ca->intermediate_key, NULL, NULL, 0,
                    NULL, NULL);
                break;
            }
        }
        if (!ok || bio_take(bio, &pem->part[i], &pem->len[i]) < 0) {
            BIO_free(bio);
            tl_ekca_pem_done(pem);
            return ossl_fail(err, -ENOMEM, part_names[i]);
        }
        BIO_free(bio);
    }
    return 0;
}

void tl_ekca_pem_done(struct tl_ekca_pem *pem)
{
    for (int i = 0; i < TL_EKCA_N_PARTS; i++) {
        if (pem->part[i])
            OPENSSL_cleanse(pem->part[i], pem->len[i]);
        free(pem->part[i]);
    }
    *pem = (struct tl_ekca_pem){0};
}

static BIO *mem_bio(const char *p, size_t len)
{
    return len > INT32_MAX ? NULL : BIO_new_mem_buf(p, (int)len);
}

static X509 *read_cert(const char *p, size_t len)
{
    BIO *bio = mem_bio(p, len);
    X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    return x;
}

static EVP_PKEY *read_key(const char *p, size_t len)
{
    BIO *bio = mem_bio(p, len);
    /* An empty passphrase callback: an encrypted key fails, never prompts. */
    EVP_PKEY *k = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"") : NULL;
    BIO_free(bio);
    return k;
}

/* Is x a CA certificate that issuer signed (names, key identifiers and the
 * signature)? */
static bool ca_issued_by(X509 *issuer, X509 *x)
{
    EVP_PKEY *pub = X509_get0_pubkey(issuer);
    return X509_check_ca(x) >= 1 && X509_check_issued(issuer, x) == X509_V_OK && pub &&
           X509_verify(x, pub) == 1;
}

int tl_ekca_load_pem(struct tl_ekca *ca, const char *const part[TL_EKCA_N_PARTS],
                     const size_t len[TL_EKCA_N_PARTS], struct tl_error *err)
{
    *ca = (struct tl_ekca){0};
    ca->root = read_cert(part[TL_EKCA_ROOT_CERT], len[TL_EKCA_ROOT_CERT]);
    ca->root_key = read_key(part[TL_EKCA_ROOT_KEY], len[TL_EKCA_ROOT_KEY]);
    ca->intermediate = read_cert(part[TL_EKCA_INTERMEDIATE_CERT], len[TL_EKCA_INTERMEDIATE_CERT]);
    ca->intermediate_key = read_key(part[TL_EKCA_INTERMEDIATE_KEY], len[TL_EKCA_INTERMEDIATE_KEY]);
    const void *got[TL_EKCA_N_PARTS] = {ca->root, ca->root_key, ca->intermediate,
                                        ca->intermediate_key};
    int r = 0;
    for (int i = 0; i < TL_EKCA_N_PARTS && r == 0; i++)
        if (!got[i])
            r = tl_error_set_nopos(err, -EBADMSG, "%s: not a PEM %s (%s)", part_names[i],
                                   i % 2 ? "private key" : "certificate", ossl_reason());
    if (r == 0 && !ca_issued_by(ca->root, ca->root))
        r = tl_error_set_nopos(err, -EBADMSG, "root certificate: not a self-signed CA");
    else if (r == 0 && X509_check_private_key(ca->root, ca->root_key) != 1)
        r = tl_error_set_nopos(err, -EBADMSG, "root key: not the root certificate's key");
    else if (r == 0 && !ca_issued_by(ca->root, ca->intermediate))
        r = tl_error_set_nopos(err, -EBADMSG,
                               "intermediate certificate: not a CA issued by the root");
    else if (r == 0 && X509_check_private_key(ca->intermediate, ca->intermediate_key) != 1)
        r = tl_error_set_nopos(err, -EBADMSG,
                               "intermediate key: not the intermediate certificate's key");
    ERR_clear_error();
    if (r < 0)
        tl_ekca_done(ca);
    return r;
}

/* ---- issuing ---- */

/* subjectAltName: directoryName with one RDN of the three TPM attributes. */
static int add_tpm_san(X509 *x, const struct tl_ek_cert_request *req, bool critical)
{
    const char *oid[3] = {TL_OID_TCG_AT_TPM_MANUFACTURER, TL_OID_TCG_AT_TPM_MODEL,
                          TL_OID_TCG_AT_TPM_VERSION};
    const char *value[3] = {req->manufacturer, req->model, req->version};
    X509_NAME *dn = X509_NAME_new();
    GENERAL_NAME *gn = GENERAL_NAME_new();
    GENERAL_NAMES *gns = sk_GENERAL_NAME_new_null();
    int r = -1;
    if (!dn || !gn || !gns)
        goto out;
    for (int i = 0; i < 3; i++) {
        ASN1_OBJECT *o = OBJ_txt2obj(oid[i], 1);
        /* set -1: into the RDN the previous attribute opened */
        int ok = o && X509_NAME_add_entry_by_OBJ(dn, o, V_ASN1_UTF8STRING,
                                                 (const unsigned char *)value[i], -1, -1,
                                                 i == 0 ? 0 : -1);
        ASN1_OBJECT_free(o);
        if (!ok)
            goto out;
    }
    GENERAL_NAME_set0_value(gn, GEN_DIRNAME, TL_TAKE_PTR(dn));
    if (!sk_GENERAL_NAME_push(gns, gn))
        goto out;
    gn = NULL;
    if (X509_add1_ext_i2d(x, NID_subject_alt_name, gns, critical, X509V3_ADD_DEFAULT) == 1)
        r = 0;
out:
    X509_NAME_free(dn);
    GENERAL_NAME_free(gn);
    GENERAL_NAMES_free(gns);
    return r;
}

static int add_ek_eku(X509 *x)
{
    EXTENDED_KEY_USAGE *eku = sk_ASN1_OBJECT_new_null();
    ASN1_OBJECT *o = OBJ_txt2obj(TL_OID_TCG_KP_EK_CERTIFICATE, 1);
    int r = -1;
    if (eku && o && sk_ASN1_OBJECT_push(eku, o)) {
        o = NULL;
        if (X509_add1_ext_i2d(x, NID_ext_key_usage, eku, 0, X509V3_ADD_DEFAULT) == 1)
            r = 0;
    }
    ASN1_OBJECT_free(o);
    sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
    return r;
}

/* The key usage an EK of this type must have: it decrypts (RSA) or agrees
 * on a key (ECC) in credential activation and salted sessions; it never
 * signs. 0 for a key type an EK cannot have. */
static const char *ek_key_usage(EVP_PKEY *ek, unsigned *bit)
{
    switch (EVP_PKEY_get_base_id(ek)) {
    case EVP_PKEY_RSA:
        *bit = KU_KEY_ENCIPHERMENT;
        return "critical,keyEncipherment";
    case EVP_PKEY_EC:
        *bit = KU_KEY_AGREEMENT;
        return "critical,keyAgreement";
    default:
        return NULL;
    }
}

static bool tpm_attribute_ok(const char *s)
{
    return s && *s && strlen(s) <= 64;
}

int tl_ekca_issue_ek_cert(const struct tl_ekca *ca, const struct tl_ek_cert_request *req,
                          uint8_t **der, size_t *der_len, struct tl_error *err)
{
    *der = NULL;
    *der_len = 0;
    unsigned ku_bit;
    const char *ku = req->ek ? ek_key_usage(req->ek, &ku_bit) : NULL;
    if (!ku)
        return tl_error_set_nopos(err, -EINVAL, "EK certificate: the EK is neither RSA nor EC");
    if (!tpm_attribute_ok(req->manufacturer) || !tpm_attribute_ok(req->model) ||
        !tpm_attribute_ok(req->version))
        return tl_error_set_nopos(err, -EINVAL,
                                  "EK certificate: TPM manufacturer, model and version must "
                                  "be 1-64 characters");
    time_t now = req->now;
    if (X509_cmp_time(X509_get0_notAfter(ca->intermediate), &now) <= 0)
        return tl_error_set_nopos(err, -EKEYEXPIRED,
                                  "EK certificate: the intermediate CA has expired");
    X509_NAME *subject = name_cn(req->subject_cn);
    if (!subject)
        return ossl_fail(err, -EINVAL, "EK certificate: subject");
    X509 *x = cert_new(req->ek, subject, ca->intermediate, req->now, 0);
    X509_NAME_free(subject);
    int r = 0;
    if (!x) {
        r = ossl_fail(err, -ENOMEM, "EK certificate");
    } else if (add_tpm_san(x, req, req->subject_cn == NULL) < 0 ||
               add_conf_ext(x, ca->intermediate, NID_key_usage, ku) < 0 ||
               add_conf_ext(x, ca->intermediate, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
               add_ek_eku(x) < 0 ||
               add_conf_ext(x, ca->intermediate, NID_authority_key_identifier, "keyid:always") <
                   0) {
        r = ossl_fail(err, -ENOMEM, "EK certificate: extensions");
    } else if (!X509_sign(x, ca->intermediate_key, EVP_sha384())) {
        r = ossl_fail(err, -EINVAL, "EK certificate: signing");
    } else {
        unsigned char *p = NULL;
        int n = i2d_X509(x, &p);
        if (n <= 0) {
            r = ossl_fail(err, -ENOMEM, "EK certificate: encoding");
        } else {
            *der = malloc((size_t)n);
            if (*der) {
                memcpy(*der, p, (size_t)n);
                *der_len = (size_t)n;
            } else {
                r = tl_error_set_nopos(err, -ENOMEM, "out of memory");
            }
            OPENSSL_free(p);
        }
    }
    X509_free(x);
    ERR_clear_error();
    return r;
}

/* ---- verifying ---- */

static bool has_ek_eku(X509 *x)
{
    EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
    ASN1_OBJECT *want = OBJ_txt2obj(TL_OID_TCG_KP_EK_CERTIFICATE, 1);
    bool found = false;
    for (int i = 0; eku && want && i < sk_ASN1_OBJECT_num(eku) && !found; i++)
        found = OBJ_cmp(sk_ASN1_OBJECT_value(eku, i), want) == 0;
    ASN1_OBJECT_free(want);
    sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
    return found;
}

/* Does the subjectAltName carry the three TPM attributes in a directoryName? */
static bool has_tpm_san(X509 *x)
{
    GENERAL_NAMES *gns = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    const char *oid[3] = {TL_OID_TCG_AT_TPM_MANUFACTURER, TL_OID_TCG_AT_TPM_MODEL,
                          TL_OID_TCG_AT_TPM_VERSION};
    bool found = false;
    for (int i = 0; gns && i < sk_GENERAL_NAME_num(gns) && !found; i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(gns, i);
        if (gn->type != GEN_DIRNAME)
            continue;
        found = true;
        for (int k = 0; k < 3 && found; k++) {
            ASN1_OBJECT *o = OBJ_txt2obj(oid[k], 1);
            found = o && X509_NAME_get_index_by_OBJ(gn->d.directoryName, o, -1) >= 0;
            ASN1_OBJECT_free(o);
        }
    }
    GENERAL_NAMES_free(gns);
    return found;
}

int tl_ek_cert_verify(const uint8_t *der, size_t der_len, X509 *root, X509 *intermediate,
                      EVP_PKEY *ek, time_t now, struct tl_error *err)
{
    const unsigned char *p = der;
    X509 *x = der_len <= LONG_MAX ? d2i_X509(NULL, &p, (long)der_len) : NULL;
    if (!x || p != der + der_len) {
        X509_free(x);
        ERR_clear_error();
        return tl_error_set_nopos(err, -EBADMSG, "not a DER X.509 certificate");
    }
    int r = 0;
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    if (!store || !ctx || !untrusted || !X509_STORE_add_cert(store, root) ||
        !sk_X509_push(untrusted, intermediate) || !X509_STORE_CTX_init(ctx, store, x, untrusted)) {
        r = ossl_fail(err, -ENOMEM, "EK certificate: verification context");
        goto out;
    }
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_time(param, now);
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT);
    if (X509_verify_cert(ctx) != 1) {
        int e = X509_STORE_CTX_get_error(ctx);
        r = tl_error_set_nopos(err, -EPERM, "chain: %s (depth %d)",
                               X509_verify_cert_error_string(e),
                               X509_STORE_CTX_get_error_depth(ctx));
        goto out;
    }
    unsigned ku_bit = 0;
    EVP_PKEY *pub = X509_get0_pubkey(x);
    if (!pub || !ek_key_usage(pub, &ku_bit))
        r = tl_error_set_nopos(err, -EPERM, "the certified key is neither RSA nor EC");
    else if (!(X509_get_extension_flags(x) & EXFLAG_KUSAGE) || !(X509_get_key_usage(x) & ku_bit))
        r = tl_error_set_nopos(err, -EPERM, "key usage lacks %s",
                               ku_bit == KU_KEY_ENCIPHERMENT ? "keyEncipherment" : "keyAgreement");
    else if (X509_check_ca(x) != 0)
        r = tl_error_set_nopos(err, -EPERM, "a CA certificate, not an EK certificate");
    else if (!has_ek_eku(x))
        r = tl_error_set_nopos(err, -EPERM, "extended key usage lacks tcg-kp-EKCertificate");
    else if (!has_tpm_san(x))
        r = tl_error_set_nopos(err, -EPERM,
                               "subjectAltName lacks the TPM manufacturer, model and version");
    else if (ek && EVP_PKEY_eq(pub, ek) != 1)
        r = tl_error_set_nopos(err, -EPERM, "certifies another key than the TPM's EK");
out:
    sk_X509_free(untrusted);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    X509_free(x);
    ERR_clear_error();
    return r;
}
