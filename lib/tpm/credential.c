/* TPM2_MakeCredential in software (TPM 2.0 Part 1, 24; see credential.h
 * for the construction).
 *
 * The KDFs are OpenSSL's: KDFa is SP 800-108 counter mode with HMAC
 * (OpenSSL "KBKDF": [i]32 || Label || 0x00 || Context || [L]32, which is
 * KDFa with the label's terminating NUL as the separator), KDFe is the
 * SP 800-56A single-step KDF with a hash (OpenSSL "SSKDF": H([i]32 || Z ||
 * FixedInfo), FixedInfo = label with its NUL || partyUInfo || partyVInfo).
 * tests/unit/test_credential.c recomputes both by hand and recovers the
 * secret as a TPM would; tests/cli/attest_cli.sh has swtpm's
 * TPM2_ActivateCredential recover it from RSA and ECC EKs.
 *
 * Invariants: every marshalled structure goes through libtss2-mu; key
 * material (seed, symmetric and HMAC keys, ECDH secret) is cleansed before
 * return; OpenSSL's error queue is left empty. */
#include "tl/credential.h"

#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <stdbool.h>
#include <string.h>
#include <tss2/tss2_mu.h>

#include "tl/digest.h"
#include "tl/util.h"
#include "tl/vtpm.h"

#define LABEL_IDENTITY  "IDENTITY"
#define LABEL_STORAGE   "STORAGE"
#define LABEL_INTEGRITY "INTEGRITY"

static const char *md_name(uint16_t alg)
{
    switch (alg) {
    case TPM2_ALG_SHA256:
        return "SHA256";
    case TPM2_ALG_SHA384:
        return "SHA384";
    case TPM2_ALG_SHA512:
        return "SHA512";
    default:
        return NULL;
    }
}

static int ossl_fail(struct tl_error *err, const char *what)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    ERR_clear_error();
    return tl_error_set_nopos(err, -EIO, "make credential: %s: %s", what, r ? r : "OpenSSL error");
}

int tl_credential_check_ek(const TPM2B_PUBLIC *ek, struct tl_error *err)
{
    const TPMT_PUBLIC *p = &ek->publicArea;
    const TPMT_SYM_DEF_OBJECT *sym;
    if (p->type == TPM2_ALG_RSA)
        sym = &p->parameters.rsaDetail.symmetric;
    else if (p->type == TPM2_ALG_ECC)
        sym = &p->parameters.eccDetail.symmetric;
    else
        return tl_error_set_nopos(err, -EINVAL, "EK: type 0x%04x is neither RSA nor ECC", p->type);
    TPMA_OBJECT need = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
    if ((p->objectAttributes & need) != need || (p->objectAttributes & TPMA_OBJECT_SIGN_ENCRYPT))
        return tl_error_set_nopos(err, -EINVAL,
                                  "EK: not a restricted decryption key (attributes 0x%08x): "
                                  "TPM2_ActivateCredential would refuse it",
                                  p->objectAttributes);
    if (!md_name(p->nameAlg))
        return tl_error_set_nopos(err, -EOPNOTSUPP, "EK: nameAlg 0x%04x (SHA-256/384/512 only)",
                                  p->nameAlg);
    if (sym->algorithm != TPM2_ALG_AES || sym->mode.aes != TPM2_ALG_CFB ||
        (sym->keyBits.aes != 128 && sym->keyBits.aes != 256))
        return tl_error_set_nopos(err, -EOPNOTSUPP,
                                  "EK: symmetric 0x%04x/%u/0x%04x is not AES-128/256-CFB",
                                  sym->algorithm, sym->keyBits.aes, sym->mode.aes);
    return 0;
}

/* KDFa (Part 1, 11.4.10.3): SP 800-108 counter mode, HMAC-nameAlg. */
static int kdfa(uint16_t alg, const uint8_t *key, size_t key_len, const char *label,
                const uint8_t *context, size_t context_len, uint8_t *out, size_t out_len)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "KBKDF", NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    EVP_KDF_free(kdf);
    if (!ctx)
        return -1;
    OSSL_PARAM params[7], *p = params;
    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MODE, (char *)"counter", 0);
    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MAC, (char *)"HMAC", 0);
    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)md_name(alg), 0);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, key_len);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)label, strlen(label));
    if (context_len)
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)context, context_len);
    *p = OSSL_PARAM_construct_end();
    int ok = EVP_KDF_derive(ctx, out, out_len, params) == 1;
    EVP_KDF_CTX_free(ctx);
    return ok ? 0 : -1;
}

/* KDFe (Part 1, 11.4.10.4): SP 800-56A concatenation KDF, hash nameAlg. */
static int kdfe(uint16_t alg, const uint8_t *z, size_t z_len, const char *label, const uint8_t *u,
                size_t u_len, const uint8_t *v, size_t v_len, uint8_t *out, size_t out_len)
{
    uint8_t info[sizeof(LABEL_IDENTITY) + 2 * 66];
    size_t l = strlen(label) + 1;
    if (l + u_len + v_len > sizeof(info))
        return -1;
    memcpy(info, label, l);
    memcpy(info + l, u, u_len);
    memcpy(info + l + u_len, v, v_len);
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SSKDF", NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    EVP_KDF_free(kdf);
    if (!ctx)
        return -1;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)md_name(alg), 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)z, z_len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, l + u_len + v_len),
        OSSL_PARAM_construct_end(),
    };
    int ok = EVP_KDF_derive(ctx, out, out_len, params) == 1;
    EVP_KDF_CTX_free(ctx);
    return ok ? 0 : -1;
}

/* RSA: seed random, secret = OAEP(seed). */
static int rsa_seed(const TPM2B_PUBLIC *ek, EVP_PKEY *key, uint8_t *seed, size_t seed_len,
                    TPM2B_ENCRYPTED_SECRET *out, struct tl_error *err)
{
    if (RAND_bytes(seed, (int)seed_len) != 1)
        return ossl_fail(err, "random seed");
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    /* The label includes its terminating NUL (Part 1, B.10.3). OpenSSL
     * takes ownership of it. */
    uint8_t *label = OPENSSL_malloc(sizeof(LABEL_IDENTITY));
    const char *md = md_name(ek->publicArea.nameAlg);
    size_t n = sizeof(out->secret);
    bool ok = ctx && label && EVP_PKEY_encrypt_init(ctx) == 1 &&
              EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) == 1 &&
              EVP_PKEY_CTX_set_rsa_oaep_md_name(ctx, md, NULL) == 1 &&
              EVP_PKEY_CTX_set_rsa_mgf1_md_name(ctx, md, NULL) == 1;
    if (ok) {
        memcpy(label, LABEL_IDENTITY, sizeof(LABEL_IDENTITY));
        ok = EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, label, sizeof(LABEL_IDENTITY)) == 1;
        if (ok)
            label = NULL;
    }
    ok = ok && EVP_PKEY_encrypt(ctx, out->secret, &n, seed, seed_len) == 1;
    OPENSSL_free(label);
    EVP_PKEY_CTX_free(ctx);
    if (!ok)
        return ossl_fail(err, "RSA-OAEP encryption of the seed");
    out->size = (uint16_t)n;
    return 0;
}

/* The coordinate of a point, left-padded to the field size. */
static int get_coord(EVP_PKEY *k, const char *param, uint8_t *out, size_t len)
{
    BIGNUM *bn = NULL;
    int ok = EVP_PKEY_get_bn_param(k, param, &bn) == 1 && BN_bn2binpad(bn, out, (int)len) > 0;
    BN_free(bn);
    return ok ? 0 : -1;
}

/* ECC: an ephemeral key on the EK's curve; seed = KDFe over ECDH's x. */
static int ecc_seed(const TPM2B_PUBLIC *ek, EVP_PKEY *key, uint8_t *seed, size_t seed_len,
                    TPM2B_ENCRYPTED_SECRET *out, struct tl_error *err)
{
    const TPMT_PUBLIC *p = &ek->publicArea;
    const char *group;
    size_t flen;
    switch (p->parameters.eccDetail.curveID) {
    case TPM2_ECC_NIST_P256:
        group = "P-256", flen = 32;
        break;
    case TPM2_ECC_NIST_P384:
        group = "P-384", flen = 48;
        break;
    case TPM2_ECC_NIST_P521:
        group = "P-521", flen = 66;
        break;
    default:
        return tl_error_set_nopos(err, -EOPNOTSUPP, "EK: ECC curve 0x%04x",
                                  p->parameters.eccDetail.curveID);
    }
    EVP_PKEY *eph = EVP_EC_gen(group);
    EVP_PKEY_CTX *ctx = eph ? EVP_PKEY_CTX_new_from_pkey(NULL, eph, NULL) : NULL;
    uint8_t z[66];
    size_t z_len = sizeof(z);
    TPMS_ECC_POINT point = {.x.size = (uint16_t)flen, .y.size = (uint16_t)flen};
    int r = -1;
    if (ctx && EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer(ctx, key) == 1 &&
        EVP_PKEY_derive(ctx, z, &z_len) == 1 && z_len == flen &&
        get_coord(eph, OSSL_PKEY_PARAM_EC_PUB_X, point.x.buffer, flen) == 0 &&
        get_coord(eph, OSSL_PKEY_PARAM_EC_PUB_Y, point.y.buffer, flen) == 0)
        /* partyUInfo the ephemeral x, partyVInfo the EK's x as in its
         * public area (Part 1, C.6.4; CryptSecretEncrypt). */
        r = kdfe(p->nameAlg, z, z_len, LABEL_IDENTITY, point.x.buffer, flen, p->unique.ecc.x.buffer,
                 p->unique.ecc.x.size, seed, seed_len);
    OPENSSL_cleanse(z, sizeof(z));
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(eph);
    if (r < 0)
        return ossl_fail(err, "ECDH with an ephemeral key");
    size_t off = 0;
    if (Tss2_MU_TPMS_ECC_POINT_Marshal(&point, out->secret, sizeof(out->secret), &off) !=
        TSS2_RC_SUCCESS)
        return tl_error_set_nopos(err, -EIO,
                                  "make credential: the ephemeral point does not "
                                  "marshal");
    out->size = (uint16_t)off;
    return 0;
}

int tl_credential_make(const TPM2B_PUBLIC *ek, const uint8_t *name, size_t name_len,
                       const uint8_t *secret, size_t secret_len, struct tl_credential *out,
                       struct tl_error *err)
{
    *out = (struct tl_credential){0};
    int r = tl_credential_check_ek(ek, err);
    if (r < 0)
        return r;
    const TPMT_PUBLIC *p = &ek->publicArea;
    size_t dlen = tl_alg_digest_size(p->nameAlg);
    if (secret_len == 0 || secret_len > dlen)
        return tl_error_set_nopos(err, -EINVAL,
                                  "secret: %zu bytes (1 to %zu with the EK's nameAlg %s)",
                                  secret_len, dlen, tl_alg_name(p->nameAlg));
    if (name_len == 0 || name_len > sizeof(TPMU_NAME))
        return tl_error_set_nopos(err, -EINVAL, "name: %zu bytes (1 to %zu)", name_len,
                                  sizeof(TPMU_NAME));

    EVP_PKEY *key = NULL;
    r = tl_tpm2b_public_to_pkey(ek, &key, err);
    if (r < 0)
        return r;
    uint8_t seed[TL_DIGEST_MAX];
    if (p->type == TPM2_ALG_RSA)
        r = rsa_seed(ek, key, seed, dlen, &out->secret, err);
    else
        r = ecc_seed(ek, key, seed, dlen, &out->secret, err);
    EVP_PKEY_free(key);

    uint16_t sym_bits = p->type == TPM2_ALG_RSA ? p->parameters.rsaDetail.symmetric.keyBits.aes
                                                : p->parameters.eccDetail.symmetric.keyBits.aes;
    uint8_t sym_key[32], hmac_key[TL_DIGEST_MAX];
    if (r >= 0 &&
        (kdfa(p->nameAlg, seed, dlen, LABEL_STORAGE, name, name_len, sym_key, sym_bits / 8u) < 0 ||
         kdfa(p->nameAlg, seed, dlen, LABEL_INTEGRITY, NULL, 0, hmac_key, dlen) < 0))
        r = ossl_fail(err, "KDFa");

    /* encIdentity: the marshalled TPM2B_DIGEST credential, AES-CFB, IV 0. */
    TPM2B_DIGEST cred = {.size = (uint16_t)secret_len};
    uint8_t plain[sizeof(TPM2B_DIGEST)], enc[sizeof(TPM2B_DIGEST)];
    size_t plain_len = 0;
    int enc_len = 0, fin_len = 0;
    if (r >= 0) {
        memcpy(cred.buffer, secret, secret_len);
        if (Tss2_MU_TPM2B_DIGEST_Marshal(&cred, plain, sizeof(plain), &plain_len) !=
            TSS2_RC_SUCCESS)
            r = tl_error_set_nopos(err, -EIO, "make credential: the credential does not marshal");
    }
    if (r >= 0) {
        static const uint8_t iv[16];
        EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
        const EVP_CIPHER *cipher = sym_bits == 128 ? EVP_aes_128_cfb128() : EVP_aes_256_cfb128();
        if (!c || EVP_EncryptInit_ex(c, cipher, NULL, sym_key, iv) != 1 ||
            EVP_EncryptUpdate(c, enc, &enc_len, plain, (int)plain_len) != 1 ||
            EVP_EncryptFinal_ex(c, enc + enc_len, &fin_len) != 1 ||
            (size_t)(enc_len + fin_len) != plain_len)
            r = ossl_fail(err, "AES-CFB");
        EVP_CIPHER_CTX_free(c);
    }

    /* integrityHMAC = HMAC(HMACkey, encIdentity || Name). */
    TPM2B_DIGEST hmac = {0};
    if (r >= 0) {
        EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
        EVP_MAC_CTX *m = mac ? EVP_MAC_CTX_new(mac) : NULL;
        EVP_MAC_free(mac);
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)md_name(p->nameAlg), 0),
            OSSL_PARAM_construct_end(),
        };
        size_t n = 0;
        if (!m || EVP_MAC_init(m, hmac_key, dlen, params) != 1 ||
            EVP_MAC_update(m, enc, plain_len) != 1 || EVP_MAC_update(m, name, name_len) != 1 ||
            EVP_MAC_final(m, hmac.buffer, &n, sizeof(hmac.buffer)) != 1 || n != dlen)
            r = ossl_fail(err, "HMAC");
        hmac.size = (uint16_t)n;
        EVP_MAC_CTX_free(m);
    }

    /* credentialBlob: TPM2B_DIGEST integrityHMAC || encIdentity. */
    if (r >= 0) {
        size_t off = 0;
        if (Tss2_MU_TPM2B_DIGEST_Marshal(&hmac, out->blob.credential, sizeof(out->blob.credential),
                                         &off) != TSS2_RC_SUCCESS ||
            off + plain_len > sizeof(out->blob.credential))
            r = tl_error_set_nopos(err, -EIO, "make credential: the blob does not marshal");
        else {
            memcpy(out->blob.credential + off, enc, plain_len);
            out->blob.size = (uint16_t)(off + plain_len);
        }
    }

    OPENSSL_cleanse(seed, sizeof(seed));
    OPENSSL_cleanse(sym_key, sizeof(sym_key));
    OPENSSL_cleanse(hmac_key, sizeof(hmac_key));
    OPENSSL_cleanse(plain, sizeof(plain));
    OPENSSL_cleanse(&cred, sizeof(cred));
    if (r < 0)
        *out = (struct tl_credential){0};
    return r < 0 ? r : 0;
}

int tl_credential_marshal(const struct tl_credential *c, enum tl_credential_form form, uint8_t *buf,
                          size_t size, size_t *len, struct tl_error *err)
{
    size_t off = 0;
    TSS2_RC rc = TSS2_RC_SUCCESS;
    switch (form) {
    case TL_CREDENTIAL_BLOB:
        rc = Tss2_MU_TPM2B_ID_OBJECT_Marshal(&c->blob, buf, size, &off);
        break;
    case TL_CREDENTIAL_SECRET:
        rc = Tss2_MU_TPM2B_ENCRYPTED_SECRET_Marshal(&c->secret, buf, size, &off);
        break;
    case TL_CREDENTIAL_TPM2_TOOLS:
        rc = Tss2_MU_UINT32_Marshal(0xBADCC0DEu, buf, size, &off);
        if (rc == TSS2_RC_SUCCESS)
            rc = Tss2_MU_UINT32_Marshal(1, buf, size, &off);
        if (rc == TSS2_RC_SUCCESS)
            rc = Tss2_MU_TPM2B_ID_OBJECT_Marshal(&c->blob, buf, size, &off);
        if (rc == TSS2_RC_SUCCESS)
            rc = Tss2_MU_TPM2B_ENCRYPTED_SECRET_Marshal(&c->secret, buf, size, &off);
        break;
    default:
        return tl_error_set_nopos(err, -EINVAL, "credential: unknown form %d", (int)form);
    }
    if (rc != TSS2_RC_SUCCESS)
        return tl_error_set_nopos(err, -ENOBUFS, "credential: does not fit %zu bytes", size);
    *len = off;
    return 0;
}
