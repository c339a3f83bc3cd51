/* The TDX collateral set: what a PCS (or a PCCS, or a folder of their
 * responses) hands out, recognised by content, parsed once and kept for
 * any number of verifications (Intel PCS API v4: TCB info and QE identity
 * responses, PCK and root CRLs in DER, PEM or hex, issuer chains in PEM).
 *
 * The TCB info and QE identity signatures do not depend on the time or the
 * quote, so they are checked here, once: each is verified over its raw
 * member bytes with every certificate handed in, and the one that verifies
 * is remembered; the verifier then checks that certificate's chain to the
 * pinned root at the verification time. Nothing here decides trust. */
#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tdx-internal.h"
#include "tl/util.h"

/* Intel SGX Root CA (CN=Intel SGX Root CA, valid 2018-05-21 to
 * 2049-12-31), the trust anchor of every PCK and TCB signing chain. */
static const char intel_root_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIICjzCCAjSgAwIBAgIUImUM1lqdNInzg7SVUr9QGzknBqwwCgYIKoZIzj0EAwIw\n"
    "aDEaMBgGA1UEAwwRSW50ZWwgU0dYIFJvb3QgQ0ExGjAYBgNVBAoMEUludGVsIENv\n"
    "cnBvcmF0aW9uMRQwEgYDVQQHDAtTYW50YSBDbGFyYTELMAkGA1UECAwCQ0ExCzAJ\n"
    "BgNVBAYTAlVTMB4XDTE4MDUyMTEwNDUxMFoXDTQ5MTIzMTIzNTk1OVowaDEaMBgG\n"
    "A1UEAwwRSW50ZWwgU0dYIFJvb3QgQ0ExGjAYBgNVBAoMEUludGVsIENvcnBvcmF0\n"
    "aW9uMRQwEgYDVQQHDAtTYW50YSBDbGFyYTELMAkGA1UECAwCQ0ExCzAJBgNVBAYT\n"
    "AlVTMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEC6nEwMDIYZOj/iPWsCzaEKi7\n"
    "1OiOSLRFhWGjbnBVJfVnkY4u3IjkDYYL0MxO4mqsyYjlBalTVYxFP2sJBK5zlKOB\n"
    "uzCBuDAfBgNVHSMEGDAWgBQiZQzWWp00ifODtJVSv1AbOScGrDBSBgNVHR8ESzBJ\n"
    "MEegRaBDhkFodHRwczovL2NlcnRpZmljYXRlcy50cnVzdGVkc2VydmljZXMuaW50\n"
    "ZWwuY29tL0ludGVsU0dYUm9vdENBLmRlcjAdBgNVHQ4EFgQUImUM1lqdNInzg7SV\n"
    "Ur9QGzknBqwwDgYDVR0PAQH/BAQDAgEGMBIGA1UdEwEB/wQIMAYBAf8CAQEwCgYI\n"
    "KoZIzj0EAwIDSQAwRgIhAOW/5QkR+S9CiSDcNoowLuPRLsWGf/Yi7GSX94BgwTwg\n"
    "AiEA4J0lrHoMs+Xo5o/sX6O9QWxHRAvZUGOdRQ7cvqRXaqI=\n"
    "-----END CERTIFICATE-----\n";

/* SHA-256 of its DER: the pin. A build whose constant above was altered
 * refuses to load any collateral. */
const uint8_t tl_tdx_intel_root_sha256[32] = {
    0x44, 0xa0, 0x19, 0x6b, 0x2b, 0x99, 0xf8, 0x89, 0xb8, 0xe1, 0x49, 0xe9, 0x5b, 0x80, 0x7a, 0x35,
    0x0e, 0x74, 0x24, 0x96, 0x43, 0x99, 0xe8, 0x85, 0xa7, 0xcb, 0xb8, 0xcc, 0xfa, 0xb6, 0x74, 0xd3};

bool tl_tdx_ecdsa_verify(EVP_PKEY *key, const uint8_t *data, size_t len, const uint8_t sig[64])
{
    uint8_t der[80];
    unsigned char *p = der;
    bool ok = false;
    ECDSA_SIG *s = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL), *ss = BN_bin2bn(sig + 32, 32, NULL);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!s || !r || !ss || !ctx || ECDSA_SIG_set0(s, r, ss) != 1)
        goto out;
    r = ss = NULL; /* owned by s */
    if (i2d_ECDSA_SIG(s, NULL) > (int)sizeof(der))
        goto out;
    int n = i2d_ECDSA_SIG(s, &p);
    /* A certificate whose key OpenSSL cannot decode has none (NULL). */
    if (n <= 0 || !key || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC)
        goto out;
    ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
         EVP_DigestVerify(ctx, der, (size_t)n, data, len) == 1;
out:
    EVP_MD_CTX_free(ctx);
    BN_free(r);
    BN_free(ss);
    ECDSA_SIG_free(s);
    return ok;
}

static X509 *root_load(void)
{
    BIO *bio = BIO_new_mem_buf(intel_root_pem, (int)sizeof(intel_root_pem) - 1);
    X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    uint8_t fp[32];
    unsigned n = 0;
    if (x && (X509_digest(x, EVP_sha256(), fp, &n) != 1 || n != 32 ||
              memcmp(fp, tl_tdx_intel_root_sha256, 32) != 0)) {
        X509_free(x);
        x = NULL;
    }
    return x;
}

static bool all_hex(const uint8_t *p, size_t n)
{
    if (n == 0 || n % 2)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f') ||
              (p[i] >= 'A' && p[i] <= 'F')))
            return false;
    return true;
}

static size_t trim_end(const uint8_t *p, size_t n)
{
    while (n && (p[n - 1] == '\n' || p[n - 1] == '\r' || p[n - 1] == ' ' || p[n - 1] == '\t' ||
                 p[n - 1] == '\0'))
        n--;
    return n;
}

/* DER: a CRL or a certificate that spans the whole blob. 1 when taken,
 * 0 when it is neither. */
static int take_der(struct tl_tdx_collateral *c, const uint8_t *p, size_t n)
{
    const uint8_t *q = p;
    X509_CRL *crl = d2i_X509_CRL(NULL, &q, (long)n);
    if (crl && q == p + n)
        return sk_X509_CRL_push(c->crls, crl) > 0 ? 1 : -ENOMEM;
    X509_CRL_free(crl);
    q = p;
    X509 *x = d2i_X509(NULL, &q, (long)n);
    if (x && q == p + n)
        return sk_X509_push(c->certs, x) > 0 ? 1 : -ENOMEM;
    X509_free(x);
    return 0;
}

/* PEM: every certificate and CRL in the text. */
static int take_pem(struct tl_tdx_collateral *c, const uint8_t *p, size_t n)
{
    BIO *bio = BIO_new_mem_buf(p, (int)n);
    if (!bio)
        return -ENOMEM;
    STACK_OF(X509_INFO) *infos = PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (!infos)
        return 0;
    int taken = 0;
    for (int i = 0; i < sk_X509_INFO_num(infos); i++) {
        X509_INFO *in = sk_X509_INFO_value(infos, i);
        if (in->x509 && sk_X509_push(c->certs, in->x509) > 0) {
            in->x509 = NULL;
            taken = 1;
        }
        if (in->crl && sk_X509_CRL_push(c->crls, in->crl) > 0) {
            in->crl = NULL;
            taken = 1;
        }
    }
    sk_X509_INFO_pop_free(infos, X509_INFO_free);
    return taken;
}

static int grow(void **arr, size_t n, size_t size)
{
    void *a = realloc(*arr, (n + 1) * size);
    if (!a)
        return -ENOMEM;
    *arr = a;
    return 0;
}

static int blob_error(struct tl_error *err, int r, const char *name)
{
    char msg[sizeof(err->message)];
    snprintf(msg, sizeof(msg), "%s", err ? err->message : "malformed");
    return tl_error_set_nopos(err, r, "%s: %s", name, msg);
}

/* PCS JSON: TCB info or QE identity. Other TEEs' JSON (SGX TCB info, an
 * SNP evidence file) is not ours: ignored. Malformed Intel collateral is
 * an error naming the blob. */
static int take_json(struct tl_tdx_collateral *c, const struct tl_tee_blob *b, struct tl_error *err)
{
    size_t s, e;
    int r;
    const char *name = b->name ? b->name : "collateral";
    if (tl_json_member_span(b->data, b->len, "tcbInfo", &s, &e, NULL) == 0) {
        struct tl_tdx_tcbinfo ti;
        r = tl_tdx_tcbinfo_parse(b->data, b->len, &ti, err);
        if (r == -EPROTONOSUPPORT)
            return 0;
        if (r < 0)
            return blob_error(err, r, name);
        if (grow((void **)&c->tcbinfos, c->n_tcbinfos, sizeof(ti)) < 0 ||
            grow((void **)&c->tcbinfo_signer, c->n_tcbinfos, sizeof(int)) < 0) {
            tl_tdx_tcbinfo_done(&ti);
            return -ENOMEM;
        }
        c->tcbinfo_signer[c->n_tcbinfos] = -1;
        c->tcbinfos[c->n_tcbinfos++] = ti;
        return 1;
    }
    if (tl_json_member_span(b->data, b->len, "enclaveIdentity", &s, &e, NULL) == 0) {
        struct tl_tdx_qe_identity qe;
        r = tl_tdx_qe_identity_parse(b->data, b->len, &qe, err);
        if (r == -EPROTONOSUPPORT)
            return 0;
        if (r < 0)
            return blob_error(err, r, name);
        if (grow((void **)&c->qe_identities, c->n_qe_identities, sizeof(qe)) < 0 ||
            grow((void **)&c->qe_identity_signer, c->n_qe_identities, sizeof(int)) < 0) {
            tl_tdx_qe_identity_done(&qe);
            return -ENOMEM;
        }
        c->qe_identity_signer[c->n_qe_identities] = -1;
        c->qe_identities[c->n_qe_identities++] = qe;
        return 1;
    }
    return 0;
}

static int take_blob(struct tl_tdx_collateral *c, const struct tl_tee_blob *b, struct tl_error *err)
{
    const uint8_t *p = b->data;
    size_t n = b->len, i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\n' || p[i] == '\r' || p[i] == '\t'))
        i++;
    if (i == n)
        return 0;
    if (p[i] == '{')
        return take_json(c, b, err);
    if (n - i >= 10 && memcmp(p + i, "-----BEGIN", 10) == 0)
        return take_pem(c, p + i, n - i);
    size_t end = trim_end(p, n);
    if (end > i && all_hex(p + i, end - i)) {
        size_t dn = (end - i) / 2;
        uint8_t *der = malloc(dn);
        if (!der)
            return -ENOMEM;
        int r = tl_hex_decode((const char *)p + i, end - i, der, dn);
        r = r == (int)dn ? take_der(c, der, dn) : 0;
        free(der);
        return r;
    }
    return p[0] == 0x30 ? take_der(c, p, n) : 0;
}

/* Which handed-in certificate's key verifies this signed member? */
static int find_signer(const struct tl_tdx_collateral *c, const struct tl_tdx_signed_json *sj)
{
    /* The root signs no collateral (its copies have no path here). */
    for (int i = 0; i < sk_X509_num(c->certs); i++) {
        if (X509_cmp(sk_X509_value(c->certs, i), c->root) == 0)
            continue;
        EVP_PKEY *key = X509_get0_pubkey(sk_X509_value(c->certs, i));
        if (key && tl_tdx_ecdsa_verify(key, sj->body, sj->body_len, sj->signature))
            return i;
    }
    return -1;
}

/* Each CRL's window and signer, found once. */
static int crls_index(struct tl_tdx_collateral *c)
{
    int n = sk_X509_CRL_num(c->crls);
    c->crl_info = calloc((size_t)n + 1, sizeof(*c->crl_info));
    if (!c->crl_info)
        return -ENOMEM;
    for (int i = 0; i < n; i++) {
        X509_CRL *crl = sk_X509_CRL_value(c->crls, i);
        struct tdx_crl_info *ci = &c->crl_info[i];
        ci->this_update = tdx_asn1_time(X509_CRL_get0_lastUpdate(crl));
        ci->next_update = tdx_asn1_time(X509_CRL_get0_nextUpdate(crl));
        if (X509_NAME_get_text_by_NID(X509_CRL_get_issuer(crl), NID_commonName, ci->issuer_cn,
                                      sizeof(ci->issuer_cn)) < 0)
            snprintf(ci->issuer_cn, sizeof(ci->issuer_cn), "(no CN)");
        ci->signer = -1;
        if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(c->root)) == 0 &&
            X509_CRL_verify(crl, X509_get0_pubkey(c->root)) == 1) {
            ci->signer = -2;
            continue;
        }
        for (int k = 0; k < sk_X509_num(c->certs) && ci->signer == -1; k++) {
            X509 *x = sk_X509_value(c->certs, k);
            if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(x)) == 0 &&
                X509_CRL_verify(crl, X509_get0_pubkey(x)) == 1)
                ci->signer = k;
        }
    }
    return 0;
}

/* The path of every certificate handed in (TCB signing, PCK CAs from a
 * PCS issuer chain, PCK certificates a service holds), checked once; their
 * DER, to recognise them in quotes. */
static int paths_build(struct tl_tdx_collateral *c)
{
    int n = sk_X509_num(c->certs);
    c->cert_path = calloc((size_t)n + 1, sizeof(*c->cert_path));
    c->cert_der = calloc((size_t)n + 1, sizeof(*c->cert_der));
    c->cert_der_len = calloc((size_t)n + 1, sizeof(*c->cert_der_len));
    if (!c->cert_path || !c->cert_der || !c->cert_der_len)
        return -ENOMEM;
    c->root_der_len = i2d_X509(c->root, &c->root_der);
    if (c->root_der_len <= 0)
        return -ENOMEM;
    for (int i = 0; i < n; i++) {
        X509 *x = sk_X509_value(c->certs, i);
        if (X509_cmp(x, c->root) == 0)
            continue;
        c->cert_der_len[i] = i2d_X509(x, &c->cert_der[i]);
        c->cert_path[i] = calloc(1, sizeof(struct tdx_path));
        if (c->cert_der_len[i] <= 0 || !c->cert_path[i] ||
            tdx_path_build(c, x, c->certs, NULL, NULL, c->cert_path[i]) < 0)
            return -ENOMEM;
    }
    return 0;
}

/* The P-256 group as an EVP_PKEY of parameters only. */
static EVP_PKEY *p256_params(void)
{
    EVP_PKEY *key = NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"prime256v1", 0),
        OSSL_PARAM_END,
    };
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (ctx && EVP_PKEY_fromdata_init(ctx) == 1)
        EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_KEY_PARAMETERS, params);
    EVP_PKEY_CTX_free(ctx);
    return key;
}

int tl_tdx_collateral_new(const struct tl_tee_blob *items, size_t n, struct tl_tdx_collateral **out,
                          struct tl_error *err)
{
    struct tl_tdx_collateral *c = calloc(1, sizeof(*c));
    int r = -ENOMEM;
    *out = NULL;
    if (!c)
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    c->root = root_load();
    c->certs = sk_X509_new_null();
    c->crls = sk_X509_CRL_new_null();
    c->p256 = p256_params();
    if (!c->root || !c->certs || !c->crls || !c->p256) {
        r = tl_error_set_nopos(err, -ENOMEM, "cannot load the built-in Intel SGX Root CA");
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        r = take_blob(c, &items[i], err);
        if (r == -ENOMEM)
            r = tl_error_set_nopos(err, -ENOMEM, "out of memory");
        if (r < 0)
            goto fail;
        if (r == 0)
            c->n_ignored++;
    }
    for (size_t i = 0; i < c->n_tcbinfos; i++)
        c->tcbinfo_signer[i] = find_signer(c, &c->tcbinfos[i].signed_part);
    for (size_t i = 0; i < c->n_qe_identities; i++)
        c->qe_identity_signer[i] = find_signer(c, &c->qe_identities[i].signed_part);
    r = crls_index(c);
    if (r == 0)
        r = paths_build(c);
    if (r < 0) {
        r = tl_error_set_nopos(err, -ENOMEM, "out of memory");
        goto fail;
    }
    *out = c;
    return 0;
fail:
    tl_tdx_collateral_free(c);
    return r;
}

void tl_tdx_collateral_free(struct tl_tdx_collateral *c)
{
    if (!c)
        return;
    for (int i = 0; c->certs && i < sk_X509_num(c->certs); i++) {
        if (c->cert_path)
            free(c->cert_path[i]);
        if (c->cert_der)
            OPENSSL_free(c->cert_der[i]);
    }
    X509_free(c->root);
    EVP_PKEY_free(c->p256);
    sk_X509_pop_free(c->certs, X509_free);
    sk_X509_CRL_pop_free(c->crls, X509_CRL_free);
    for (size_t i = 0; i < c->n_tcbinfos; i++)
        tl_tdx_tcbinfo_done(&c->tcbinfos[i]);
    for (size_t i = 0; i < c->n_qe_identities; i++)
        tl_tdx_qe_identity_done(&c->qe_identities[i]);
    free(c->cert_path);
    free(c->cert_der);
    free(c->cert_der_len);
    OPENSSL_free(c->root_der);
    free(c->crl_info);
    free(c->tcbinfos);
    free(c->tcbinfo_signer);
    free(c->qe_identities);
    free(c->qe_identity_signer);
    free(c);
}

void tl_tdx_collateral_counts(const struct tl_tdx_collateral *c,
                              struct tl_tdx_collateral_counts *out)
{
    *out = (struct tl_tdx_collateral_counts){
        .certs = (size_t)sk_X509_num(c->certs),
        .crls = (size_t)sk_X509_CRL_num(c->crls),
        .tcbinfos = c->n_tcbinfos,
        .qe_identities = c->n_qe_identities,
        .ignored = c->n_ignored,
    };
}
