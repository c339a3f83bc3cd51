/* tests for lib/tpm/certify.c: a release key certified by an AK.
 *
 * The vectors (tests/data/certify, README.md there) are one real release
 * request of tests/cli/keyrelease_cli.sh: tl-agent's RSA key in swtpm's
 * NULL hierarchy, its primary, TPM2_Certify by the node's enrolled ECC AK
 * over tld's nonce, and the other node's AK. Every check is asserted on
 * them and on altered copies: a flipped byte, another AK, another nonce,
 * another parent, a sign-capable or restricted key, trailing bytes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
// clang-format off
#include <cmocka.h>
// clang-format on
#include <tss2/tss2_mu.h>

#include "tl/akey.h"
#include "tl/certify.h"
#include "vectors.h"

static uint8_t *data_read(const char *name, size_t *len)
{
    char here[2048], path[4096];
    snprintf(here, sizeof(here), "%s", __FILE__);
    char *slash = strrchr(here, '/');
    if (slash)
        *slash = '\0';
    snprintf(path, sizeof(path), "%s/../data/certify/%s", here, name);
    uint8_t *buf = file_read(path, len);
    if (!buf)
        fail_msg("cannot read %s", path);
    uint8_t *exact = dup_exact(buf, *len);
    free(buf);
    return exact;
}

struct vec {
    uint8_t *ak, *other_ak, *key, *parent, *certify, *sig, *nonce;
    size_t ak_len, other_len, key_len, parent_len, certify_len, sig_len, nonce_len;
};

static void vec_load(struct vec *v)
{
    v->ak = data_read("ak.pub", &v->ak_len);
    v->other_ak = data_read("other-ak.pub", &v->other_len);
    v->key = data_read("key.pub", &v->key_len);
    v->parent = data_read("parent.pub", &v->parent_len);
    v->certify = data_read("certify.bin", &v->certify_len);
    v->sig = data_read("signature.bin", &v->sig_len);
    v->nonce = data_read("nonce.bin", &v->nonce_len);
}

static void vec_free(struct vec *v)
{
    free(v->ak), free(v->other_ak), free(v->key), free(v->parent);
    free(v->certify), free(v->sig), free(v->nonce);
}

static struct tl_release_evidence evidence(const struct vec *v)
{
    return (struct tl_release_evidence){
        .ak_public = v->ak,
        .ak_len = v->ak_len,
        .key_public = v->key,
        .key_len = v->key_len,
        .parent_public = v->parent,
        .parent_len = v->parent_len,
        .certify = v->certify,
        .certify_len = v->certify_len,
        .signature = v->sig,
        .signature_len = v->sig_len,
        .nonce = v->nonce,
        .nonce_len = v->nonce_len,
    };
}

static int verify(const struct tl_release_evidence *ev, struct tl_error *err)
{
    uint8_t *spki = NULL;
    size_t n = 0;
    int r = tl_release_key_verify(ev, &spki, &n, err);
    free(spki);
    return r;
}

static void test_real_release_verifies(void **state)
{
    (void)state;
    struct vec v;
    vec_load(&v);
    struct tl_release_evidence ev = evidence(&v);
    struct tl_error err = {0};
    uint8_t *spki = NULL;
    size_t n = 0;
    assert_int_equal(tl_release_key_verify(&ev, &spki, &n, &err), 0);
    /* RSA 2048 SubjectPublicKeyInfo: 294 bytes, the modulus the key's */
    assert_int_equal(n, 294);
    TPM2B_PUBLIC key;
    assert_int_equal(tl_tpm_public_parse(v.key, v.key_len, &key, &err), 0);
    const TPM2B_PUBLIC_KEY_RSA *mod = &key.publicArea.unique.rsa;
    assert_int_equal(mod->size, 256);
    assert_memory_equal(spki + 294 - 5 - 256, mod->buffer, 256);
    free(spki);

    struct tl_certify c;
    assert_int_equal(tl_certify_parse(v.certify, v.certify_len, &c, &err), 0);
    assert_int_equal(c.extra_data.size, 32);
    assert_memory_equal(c.extra_data.buffer, v.nonce, 32);
    assert_int_equal(c.name.size, 34); /* SHA-256 Name */
    assert_int_equal(c.qualified_name.size, 34);
    vec_free(&v);
}

static void test_other_ak_refused(void **state)
{
    (void)state;
    struct vec v;
    vec_load(&v);
    struct tl_release_evidence ev = evidence(&v);
    ev.ak_public = v.other_ak;
    ev.ak_len = v.other_len;
    struct tl_error err = {0};
    assert_int_equal(verify(&ev, &err), -EKEYREJECTED);
    assert_string_equal(err.message, "signature: does not verify with the AK (ECDSA, sha256)");
    vec_free(&v);
}

static void test_other_nonce_refused(void **state)
{
    (void)state;
    struct vec v;
    vec_load(&v);
    v.nonce[0] ^= 1;
    struct tl_release_evidence ev = evidence(&v);
    struct tl_error err = {0};
    assert_int_equal(verify(&ev, &err), -EPERM);
    assert_string_equal(err.message, "certify: extraData is not the nonce issued");
    vec_free(&v);
}

static void test_other_parent_refused(void **state)
{
    (void)state;
    struct vec v;
    vec_load(&v);
    /* the parent's unique (its ECC point) changed: another primary, so the
     * Qualified Name the TPM certified is not the key's under it */
    v.parent[v.parent_len - 1] ^= 1;
    struct tl_release_evidence ev = evidence(&v);
    struct tl_error err = {0};
    assert_int_equal(verify(&ev, &err), -EPERM);
    assert_string_equal(err.message, "certify: the key is not the child of that primary in the "
                                     "NULL hierarchy (its Qualified Name differs)");
    vec_free(&v);
}

static void test_every_certify_byte_matters(void **state)
{
    (void)state;
    struct vec v;
    vec_load(&v);
    struct tl_release_evidence ev = evidence(&v);
    size_t refused = 0;
    for (size_t i = 0; i < v.certify_len; i++) {
        v.certify[i] ^= 0x40;
        struct tl_error err = {0};
        refused += verify(&ev, &err) < 0;
        v.certify[i] ^= 0x40;
    }
    assert_int_equal(refused, v.certify_len);
    vec_free(&v);
}

static void test_certify_structure(void **state)
{
    (void)state;
    struct vec v;
    vec_load(&v);
    struct tl_certify c;
    struct tl_error err = {0};
    uint8_t *longer = malloc(v.certify_len + 1);
    memcpy(longer, v.certify, v.certify_len);
    longer[v.certify_len] = 0;
    assert_int_equal(tl_certify_parse(longer, v.certify_len + 1, &c, &err), -EBADMSG);
    assert_string_equal(err.message, "certify: 1 trailing bytes after the TPMS_ATTEST");
    free(longer);
    assert_int_equal(tl_certify_parse(v.certify, v.certify_len - 1, &c, &err), -EBADMSG);
    v.certify[5] = 0x18; /* TPM_ST_ATTEST_QUOTE */
    assert_int_equal(tl_certify_parse(v.certify, v.certify_len, &c, &err), -EBADMSG);
    assert_string_equal(err.message, "certify: type 0x8018 is not TPM_ST_ATTEST_CERTIFY (0x8017)");
    v.certify[0] = 0;
    assert_int_equal(tl_certify_parse(v.certify, v.certify_len, &c, &err), -EBADMSG);
    for (size_t n = 0; n < 40; n++)
        assert_int_equal(tl_certify_parse(v.certify, n, &c, &err), -EBADMSG);
    vec_free(&v);
}

static void test_key_attributes(void **state)
{
    (void)state;
    struct vec v;
    vec_load(&v);
    TPM2B_PUBLIC key;
    struct tl_error err = {0};
    assert_int_equal(tl_tpm_public_parse(v.key, v.key_len, &key, &err), 0);
    assert_int_equal(tl_release_key_check(&key, &err), 0);
    static const struct {
        TPMA_OBJECT set, clear;
        const char *msg;
    } cases[] = {
        {TPMA_OBJECT_SIGN_ENCRYPT, 0, "key: sign-capable (a release key only decrypts)"},
        {0, TPMA_OBJECT_FIXEDTPM, "key: not fixedTPM (it could be duplicated out of the TPM)"},
        {0, TPMA_OBJECT_FIXEDPARENT, "key: not fixedParent"},
        {0, TPMA_OBJECT_SENSITIVEDATAORIGIN,
         "key: not sensitiveDataOrigin (the TPM did not make it)"},
        {0, TPMA_OBJECT_DECRYPT, "key: not a decryption key"},
        {TPMA_OBJECT_RESTRICTED, 0,
         "key: restricted (a storage key does not decrypt for RSA_Decrypt)"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        TPM2B_PUBLIC k = key;
        k.publicArea.objectAttributes =
            (key.publicArea.objectAttributes | cases[i].set) & ~cases[i].clear;
        assert_int_equal(tl_release_key_check(&k, &err), -EPERM);
        assert_string_equal(err.message, cases[i].msg);
    }
    TPM2B_PUBLIC k = key;
    k.publicArea.parameters.rsaDetail.keyBits = 1024;
    assert_int_equal(tl_release_key_check(&k, &err), -EPERM);
    assert_string_equal(err.message, "key: RSA 1024 bits (2048 or more)");

    /* a sign-capable key sent whole: refused before anything is verified */
    TPM2B_PUBLIC s = key;
    s.publicArea.objectAttributes |= TPMA_OBJECT_SIGN_ENCRYPT;
    uint8_t buf[sizeof(TPM2B_PUBLIC)];
    size_t off = 0;
    assert_int_equal(Tss2_MU_TPM2B_PUBLIC_Marshal(&s, buf, sizeof(buf), &off), TSS2_RC_SUCCESS);
    struct tl_release_evidence ev = evidence(&v);
    ev.key_public = buf;
    ev.key_len = off;
    assert_int_equal(verify(&ev, &err), -EPERM);
    assert_string_equal(err.message, "key: sign-capable (a release key only decrypts)");
    vec_free(&v);
}

int main(void)
{
    setenv("TSS2_LOG", "all+none", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_release_verifies),
        cmocka_unit_test(test_other_ak_refused),
        cmocka_unit_test(test_other_nonce_refused),
        cmocka_unit_test(test_other_parent_refused),
        cmocka_unit_test(test_every_certify_byte_matters),
        cmocka_unit_test(test_certify_structure),
        cmocka_unit_test(test_key_attributes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
