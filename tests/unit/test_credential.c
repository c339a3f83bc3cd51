/* Unit tests for lib/tpm/credential.c (TPM2_MakeCredential in software).
 *
 * What is asserted, and from where: the credential is recovered here as a
 * TPM's TPM2_ActivateCredential recovers it (TPM 2.0 Part 1, 24; Part 3,
 * 12.5), with the EK's private key and KDFa / KDFe written out by hand from
 * Part 1, 11.4.10.3 and 11.4.10.4 (HMAC and hash loops, not OpenSSL's KDF
 * implementations the library uses): the seed from RSA-OAEP with the
 * label "IDENTITY\0" (RSA EK, template L-1) or from ECDH with the ephemeral
 * point and KDFe (ECC EK, template L-2), then the integrity HMAC over
 * encIdentity || Name, then AES-128-CFB with a zero IV. A different Name
 * fails the HMAC as it does in a TPM. The outputs' marshalled forms and
 * tpm2-tools' credential file header are checked byte for byte.
 * tests/cli/attest_cli.sh does the real thing: swtpm's
 * TPM2_ActivateCredential on tpm2_createek/tpm2_createak keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tss2/tss2_mu.h>

#include "tl/akey.h"
#include "tl/credential.h"
#include "tl/util.h"
#include "tl/vtpm.h"
#include "vectors.h"

struct fixture {
    EVP_PKEY *rsa, *ecc;
    TPM2B_PUBLIC rsa_ek, ecc_ek;
};

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->rsa = EVP_RSA_gen(2048);
    f->ecc = EVP_EC_gen("P-256");
    assert_non_null(f->rsa);
    assert_non_null(f->ecc);
    BIGNUM *bn = NULL;
    tl_ek_template(TL_EK_RSA2048, &f->rsa_ek);
    assert_int_equal(EVP_PKEY_get_bn_param(f->rsa, OSSL_PKEY_PARAM_RSA_N, &bn), 1);
    assert_int_equal(BN_bn2binpad(bn, f->rsa_ek.publicArea.unique.rsa.buffer, 256), 256);
    BN_free(bn);
    bn = NULL;
    tl_ek_template(TL_EK_ECC_P256, &f->ecc_ek);
    assert_int_equal(EVP_PKEY_get_bn_param(f->ecc, OSSL_PKEY_PARAM_EC_PUB_X, &bn), 1);
    assert_int_equal(BN_bn2binpad(bn, f->ecc_ek.publicArea.unique.ecc.x.buffer, 32), 32);
    BN_free(bn);
    bn = NULL;
    assert_int_equal(EVP_PKEY_get_bn_param(f->ecc, OSSL_PKEY_PARAM_EC_PUB_Y, &bn), 1);
    assert_int_equal(BN_bn2binpad(bn, f->ecc_ek.publicArea.unique.ecc.y.buffer, 32), 32);
    BN_free(bn);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    EVP_PKEY_free(f->rsa);
    EVP_PKEY_free(f->ecc);
    free(f);
    return 0;
}

/* KDFa, Part 1 11.4.10.3, SHA-256:
 * K(i) = HMAC(key, [i]32 || Label || 0x00 || ContextU || ContextV || [bits]32). */
static void kdfa(const uint8_t *key, size_t key_len, const char *label, const uint8_t *u,
                 size_t u_len, size_t bits, uint8_t *out)
{
    uint8_t msg[4 + 32 + 80 + 4], k[32];
    size_t done = 0;
    for (uint32_t i = 1; done < bits / 8; i++) {
        size_t n = 0;
        be32(msg, i);
        n = 4;
        memcpy(msg + n, label, strlen(label) + 1);
        n += strlen(label) + 1;
        if (u_len) /* KDFa's ContextU is empty for "INTEGRITY" */
            memcpy(msg + n, u, u_len);
        n += u_len;
        be32(msg + n, (uint32_t)bits);
        n += 4;
        unsigned kl = 0;
        assert_non_null(HMAC(EVP_sha256(), key, (int)key_len, msg, n, k, &kl));
        size_t take = bits / 8 - done < 32 ? bits / 8 - done : 32;
        memcpy(out + done, k, take);
        done += take;
    }
}

/* KDFe, Part 1 11.4.10.4, SHA-256, 256 bits: H([1]32 || Z || Label || 0x00
 * || PartyUInfo || PartyVInfo). */
static void kdfe(const uint8_t *z, size_t z_len, const char *label, const uint8_t *u,
                 const uint8_t *v, uint8_t out[32])
{
    uint8_t msg[4 + 32 + 16 + 32 + 32];
    size_t n = 0;
    be32(msg, 1);
    n = 4;
    memcpy(msg + n, z, z_len);
    n += z_len;
    memcpy(msg + n, label, strlen(label) + 1);
    n += strlen(label) + 1;
    memcpy(msg + n, u, 32);
    n += 32;
    memcpy(msg + n, v, 32);
    n += 32;
    assert_int_equal(EVP_Digest(msg, n, out, NULL, EVP_sha256(), NULL), 1);
}

static void seed_rsa(EVP_PKEY *k, const TPM2B_ENCRYPTED_SECRET *s, uint8_t seed[32])
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL);
    assert_int_equal(EVP_PKEY_decrypt_init(c), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_sha256()), 1);
    uint8_t *label = OPENSSL_malloc(9);
    memcpy(label, "IDENTITY", 9);
    assert_int_equal(EVP_PKEY_CTX_set0_rsa_oaep_label(c, label, 9), 1);
    uint8_t out[256];
    size_t n = sizeof(out);
    assert_int_equal(EVP_PKEY_decrypt(c, out, &n, s->secret, s->size), 1);
    assert_int_equal(n, 32);
    memcpy(seed, out, 32);
    EVP_PKEY_CTX_free(c);
}

static void seed_ecc(EVP_PKEY *k, const TPM2B_PUBLIC *ek, const TPM2B_ENCRYPTED_SECRET *s,
                     uint8_t seed[32])
{
    TPMS_ECC_POINT pt = {0};
    size_t off = 0;
    assert_int_equal(Tss2_MU_TPMS_ECC_POINT_Unmarshal(s->secret, s->size, &off, &pt), 0);
    assert_int_equal(off, s->size);
    assert_int_equal(pt.x.size, 32);
    assert_int_equal(pt.y.size, 32);
    uint8_t enc[65] = {0x04};
    memcpy(enc + 1, pt.x.buffer, 32);
    memcpy(enc + 33, pt.y.buffer, 32);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0);
    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, enc, 65);
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *eph = NULL;
    assert_int_equal(EVP_PKEY_fromdata_init(pc), 1);
    assert_int_equal(EVP_PKEY_fromdata(pc, &eph, EVP_PKEY_PUBLIC_KEY, params), 1);
    EVP_PKEY_CTX_free(pc);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL);
    uint8_t z[32];
    size_t zl = sizeof(z);
    assert_int_equal(EVP_PKEY_derive_init(c), 1);
    assert_int_equal(EVP_PKEY_derive_set_peer(c, eph), 1);
    assert_int_equal(EVP_PKEY_derive(c, z, &zl), 1);
    assert_int_equal(zl, 32);
    EVP_PKEY_CTX_free(c);
    EVP_PKEY_free(eph);
    kdfe(z, 32, "IDENTITY", pt.x.buffer, ek->publicArea.unique.ecc.x.buffer, seed);
}

/* TPM2_ActivateCredential's second half: 0 and the secret, or -1 when the
 * integrity check fails (TPM_RC_INTEGRITY). */
static int activate(const uint8_t seed[32], const uint8_t *blob_m, size_t blob_len,
                    const uint8_t *name, size_t name_len, uint8_t *secret, size_t *secret_len)
{
    TPM2B_ID_OBJECT blob = {0};
    size_t off = 0;
    assert_int_equal(Tss2_MU_TPM2B_ID_OBJECT_Unmarshal(blob_m, blob_len, &off, &blob), 0);
    assert_int_equal(off, blob_len);
    TPM2B_DIGEST integrity = {0};
    off = 0;
    assert_int_equal(Tss2_MU_TPM2B_DIGEST_Unmarshal(blob.credential, blob.size, &off, &integrity),
                     0);
    assert_int_equal(integrity.size, 32);
    const uint8_t *enc = blob.credential + off;
    size_t enc_len = blob.size - off;

    uint8_t hkey[32], hmac[32];
    kdfa(seed, 32, "INTEGRITY", NULL, 0, 256, hkey);
    uint8_t msg[sizeof(TPM2B_DIGEST) + sizeof(TPMU_NAME)];
    memcpy(msg, enc, enc_len);
    memcpy(msg + enc_len, name, name_len);
    unsigned hl = 0;
    assert_non_null(HMAC(EVP_sha256(), hkey, 32, msg, enc_len + name_len, hmac, &hl));
    if (memcmp(hmac, integrity.buffer, 32) != 0)
        return -1;

    uint8_t skey[16], plain[sizeof(TPM2B_DIGEST)];
    kdfa(seed, 32, "STORAGE", name, name_len, 128, skey);
    static const uint8_t iv[16];
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0;
    assert_int_equal(EVP_DecryptInit_ex(c, EVP_aes_128_cfb128(), NULL, skey, iv), 1);
    assert_int_equal(EVP_DecryptUpdate(c, plain, &n, enc, (int)enc_len), 1);
    EVP_CIPHER_CTX_free(c);
    TPM2B_DIGEST cred = {0};
    off = 0;
    assert_int_equal(Tss2_MU_TPM2B_DIGEST_Unmarshal(plain, (size_t)n, &off, &cred), 0);
    assert_int_equal(off, (size_t)n);
    memcpy(secret, cred.buffer, cred.size);
    *secret_len = cred.size;
    return 0;
}

static const uint8_t NAME[34] = {0x00, 0x0b, 0x4c, 0xe9, 0xb1, 0x51, 0xf7, 0x50, 0x89,
                                 0xd7, 0x4c, 0x15, 0xda, 0xbe, 0x9d, 0x52, 0x0c, 0xff,
                                 0xaf, 0xbc, 0xaf, 0xd5, 0xd4, 0x3b, 0xe0, 0xaa, 0xd2,
                                 0xe2, 0xd8, 0x8d, 0x54, 0x71, 0x7e, 0x2e};

static void roundtrip(struct fixture *f, bool ecc, size_t secret_len)
{
    uint8_t secret[32];
    for (size_t i = 0; i < sizeof(secret); i++)
        secret[i] = (uint8_t)(0xa0 + i);
    struct tl_credential c;
    struct tl_error err = {0};
    const TPM2B_PUBLIC *ek = ecc ? &f->ecc_ek : &f->rsa_ek;
    assert_int_equal(tl_credential_make(ek, NAME, sizeof(NAME), secret, secret_len, &c, &err), 0);
    /* integrityHMAC (2 + 32) and the encrypted TPM2B_DIGEST (2 + n). */
    assert_int_equal(c.blob.size, 2 + 32 + 2 + secret_len);
    assert_int_equal(c.secret.size, ecc ? 2 + 32 + 2 + 32 : 256);

    uint8_t blob[TL_CREDENTIAL_MARSHAL_MAX];
    size_t blob_len;
    assert_int_equal(
        tl_credential_marshal(&c, TL_CREDENTIAL_BLOB, blob, sizeof(blob), &blob_len, &err), 0);
    assert_int_equal(blob_len, 2 + c.blob.size);

    uint8_t seed[32], got[64];
    size_t got_len = 0;
    if (ecc)
        seed_ecc(f->ecc, ek, &c.secret, seed);
    else
        seed_rsa(f->rsa, &c.secret, seed);
    assert_int_equal(activate(seed, blob, blob_len, NAME, sizeof(NAME), got, &got_len), 0);
    assert_int_equal(got_len, secret_len);
    assert_memory_equal(got, secret, secret_len);

    /* Another object's Name: the TPM's integrity check fails. */
    uint8_t other[34];
    memcpy(other, NAME, sizeof(other));
    other[33] ^= 1;
    assert_int_equal(activate(seed, blob, blob_len, other, sizeof(other), got, &got_len), -1);
}

static void test_rsa(void **state)
{
    roundtrip(*state, false, 32);
    roundtrip(*state, false, 1);
    roundtrip(*state, false, 16);
}

static void test_ecc(void **state)
{
    roundtrip(*state, true, 32);
    roundtrip(*state, true, 1);
}

static void test_fresh_each_time(void **state)
{
    struct fixture *f = *state;
    struct tl_credential a, b;
    struct tl_error err = {0};
    static const uint8_t s[32] = {1};
    assert_int_equal(tl_credential_make(&f->rsa_ek, NAME, 34, s, 32, &a, &err), 0);
    assert_int_equal(tl_credential_make(&f->rsa_ek, NAME, 34, s, 32, &b, &err), 0);
    assert_memory_not_equal(a.secret.secret, b.secret.secret, a.secret.size);
    assert_memory_not_equal(a.blob.credential, b.blob.credential, a.blob.size);
    assert_int_equal(tl_credential_make(&f->ecc_ek, NAME, 34, s, 32, &a, &err), 0);
    assert_int_equal(tl_credential_make(&f->ecc_ek, NAME, 34, s, 32, &b, &err), 0);
    assert_memory_not_equal(a.secret.secret, b.secret.secret, a.secret.size);
}

static void test_marshal(void **state)
{
    struct fixture *f = *state;
    struct tl_credential c;
    struct tl_error err = {0};
    static const uint8_t s[20] = {7};
    assert_int_equal(tl_credential_make(&f->rsa_ek, NAME, 34, s, 20, &c, &err), 0);
    uint8_t buf[TL_CREDENTIAL_MARSHAL_MAX];
    size_t len = 0;
    assert_int_equal(tl_credential_marshal(&c, TL_CREDENTIAL_SECRET, buf, sizeof(buf), &len, &err),
                     0);
    assert_int_equal(len, 2 + 256);
    assert_int_equal(buf[0], 0x01);
    assert_int_equal(buf[1], 0x00);
    assert_memory_equal(buf + 2, c.secret.secret, 256);
    assert_int_equal(
        tl_credential_marshal(&c, TL_CREDENTIAL_TPM2_TOOLS, buf, sizeof(buf), &len, &err), 0);
    /* tpm2_makecredential's file: BADCC0DE, version 1, blob, secret. */
    assert_int_equal(len, 8 + 2 + (2 + 32 + 2 + 20) + 2 + 256);
    static const uint8_t head[] = {0xba, 0xdc, 0xc0, 0xde, 0, 0, 0, 1, 0, 2 + 32 + 2 + 20, 0, 32};
    assert_memory_equal(buf, head, sizeof(head));
    assert_memory_equal(buf + 10, c.blob.credential, c.blob.size);
    assert_int_equal(buf[10 + c.blob.size], 0x01);
    assert_int_equal(buf[11 + c.blob.size], 0x00);
    assert_int_equal(tl_credential_marshal(&c, TL_CREDENTIAL_TPM2_TOOLS, buf, 100, &len, &err),
                     -ENOBUFS);
}

static void test_refused(void **state)
{
    struct fixture *f = *state;
    struct tl_credential c;
    struct tl_error err = {0};
    uint8_t s[33] = {0}, name[sizeof(TPMU_NAME) + 1] = {0};
    assert_int_equal(tl_credential_make(&f->rsa_ek, NAME, 34, s, 33, &c, &err), -EINVAL);
    assert_string_equal(err.message, "secret: 33 bytes (1 to 32 with the EK's nameAlg sha256)");
    assert_int_equal(tl_credential_make(&f->rsa_ek, NAME, 34, s, 0, &c, &err), -EINVAL);
    assert_int_equal(tl_credential_make(&f->rsa_ek, name, sizeof(name), s, 32, &c, &err), -EINVAL);
    assert_int_equal(tl_credential_make(&f->rsa_ek, name, 0, s, 32, &c, &err), -EINVAL);

    /* Not an EK: a signing key, an unrestricted key, no symmetric. */
    TPM2B_PUBLIC ek = f->rsa_ek;
    ek.publicArea.objectAttributes |= TPMA_OBJECT_SIGN_ENCRYPT;
    assert_int_equal(tl_credential_make(&ek, NAME, 34, s, 32, &c, &err), -EINVAL);
    assert_non_null(strstr(err.message, "EK: not a restricted decryption key"));
    ek = f->rsa_ek;
    ek.publicArea.objectAttributes &= ~TPMA_OBJECT_RESTRICTED;
    assert_int_equal(tl_credential_check_ek(&ek, &err), -EINVAL);
    ek = f->ecc_ek;
    ek.publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
    assert_int_equal(tl_credential_check_ek(&ek, &err), -EOPNOTSUPP);
    assert_non_null(strstr(err.message, "is not AES-128/256-CFB"));
    ek = f->rsa_ek;
    ek.publicArea.nameAlg = TPM2_ALG_SHA1;
    assert_int_equal(tl_credential_check_ek(&ek, &err), -EOPNOTSUPP);
    assert_int_equal(tl_credential_check_ek(&f->rsa_ek, &err), 0);
    assert_int_equal(tl_credential_check_ek(&f->ecc_ek, &err), 0);
}

int main(void)
{
    setenv("TSS2_LOG", "all+none", 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rsa),
        cmocka_unit_test(test_ecc),
        cmocka_unit_test(test_fresh_each_time),
        cmocka_unit_test(test_marshal),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
