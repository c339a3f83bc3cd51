/* Unit tests for src/host/keystore*.c against the real SoftHSM2 module in a
 * temporary home: the layout (conf, token directory, 0600 PIN file), what
 * the module offers, keys created / listed / found / rotated / deleted and
 * still there after a reopen; a release wrapped to an RSA-2048 key the test
 * holds in OpenSSL and unwrapped here (RSA-OAEP SHA-256, then RFC 5649),
 * proved by using what came out (an AES key decrypts what the token
 * encrypted with it; an RSA private key matches the token's public key);
 * the refusals; and the unwrapped key bytes absent from every file under
 * the home. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <errno.h>
#include <ftw.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <p11-kit/pkcs11.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tl/util.h"
#include "tlhost/file.h"
#include "tlhost/keystore.h"

static char home[64];
/* the test's one open context: teardown closes it, so a failed check does
 * not leave the module initialised for the next test */
static struct tlh_keystore ks;

static int setup(void **state)
{
    (void)state;
    snprintf(home, sizeof(home), "/tmp/tl-keystore.XXXXXX");
    assert_non_null(mkdtemp(home));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tlh_keystore_close(&ks);
    tlh_file_remove_tree(home, false);
    return 0;
}

static void ks_open(struct tlh_keystore *k)
{
    struct tl_error err = {0};
    struct tlh_keystore_config cfg = {.home = home};
    int r = tlh_keystore_open(k, &cfg, &err);
    if (r < 0)
        fail_msg("tlh_keystore_open: %s", err.message);
}

static mode_t mode_of(const char *rel)
{
    char path[256];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", home, rel);
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

/* ---- what a node does with a release: the test's OpenSSL side ---- */

static EVP_PKEY *rsa_new(unsigned bits)
{
    EVP_PKEY *pk = EVP_RSA_gen(bits);
    assert_non_null(pk);
    return pk;
}

static size_t spki_of(EVP_PKEY *pk, uint8_t *buf, size_t size)
{
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(pk, &der);
    assert_true(n > 0 && (size_t)n <= size);
    memcpy(buf, der, (size_t)n);
    OPENSSL_free(der);
    return (size_t)n;
}

/* The key store open, and a node's RSA-2048 release target: its private
 * key (returned) and its SPKI in spki. */
static EVP_PKEY *open_with_target(uint8_t spki[1024], size_t *spki_len)
{
    ks_open(&ks);
    EVP_PKEY *target = rsa_new(2048);
    *spki_len = spki_of(target, spki, 1024);
    return target;
}

/* RSA-OAEP(SHA-256) of the first modulus-size bytes, then RFC 5649 unwrap of
 * the rest under what that gave: the CKM_RSA_AES_KEY_WRAP inverse. */
static size_t release_open(EVP_PKEY *target, const uint8_t *in, size_t len, uint8_t *out,
                           size_t size)
{
    size_t ml = (size_t)EVP_PKEY_get_size(target);
    assert_true(len > ml + 8);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, target, NULL);
    uint8_t k[512];
    size_t kl = sizeof(k);
    assert_int_equal(EVP_PKEY_decrypt_init(ctx), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()), 1);
    assert_int_equal(EVP_PKEY_decrypt(ctx, k, &kl, in, ml), 1);
    EVP_PKEY_CTX_free(ctx);
    assert_int_equal(kl, 32); /* the ephemeral key is AES-256 */

    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    assert_int_equal(EVP_DecryptInit_ex(c, EVP_aes_256_wrap_pad(), NULL, k, NULL), 1);
    int n = 0, fin = 0;
    assert_true(len - ml <= size + 8);
    assert_int_equal(EVP_DecryptUpdate(c, out, &n, in + ml, (int)(len - ml)), 1);
    assert_int_equal(EVP_DecryptFinal_ex(c, out + n, &fin), 1);
    EVP_CIPHER_CTX_free(c);
    return (size_t)(n + fin);
}

/* ---- no key bytes in any file under the home ---- */

static const uint8_t *needle;
static size_t needle_len;
static int needle_hits;

static int scan_file(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag != FTW_F)
        return 0;
    uint8_t *buf;
    size_t len;
    if (tlh_file_read(path, 64 << 20, &buf, &len, NULL) < 0)
        return 0;
    if (memmem(buf, len, needle, needle_len))
        needle_hits++;
    free(buf);
    return 0;
}

static int files_holding(const uint8_t *bytes, size_t len)
{
    needle = bytes;
    needle_len = len;
    needle_hits = 0;
    assert_int_equal(nftw(home, scan_file, 16, FTW_PHYS), 0);
    return needle_hits;
}

/* ---- tests ---- */

static void test_layout_and_mechanisms(void **state)
{
    (void)state;
    ks_open(&ks);
    assert_int_equal(mode_of("keys"), 0700);
    assert_int_equal(mode_of("keys/tokens"), 0700);
    assert_int_equal(mode_of("keys/token.json"), 0600);
    assert_int_equal(mode_of("keys/softhsm2.conf"), 0600);
    struct tl_error err = {0};
    char path[256];
    snprintf(path, sizeof(path), "%s/keys/token.json", home);
    assert_int_equal(tlh_file_check_private(path, &err), 0);
    uint8_t *text;
    size_t len;
    assert_int_equal(tlh_file_read(path, 4096, &text, &len, &err), 0);
    assert_non_null(strstr((char *)text, "\"label\": \"trustlaunch\""));
    free(text);
    snprintf(path, sizeof(path), "%s/keys/softhsm2.conf", home);
    assert_int_equal(tlh_file_read(path, 4096, &text, &len, &err), 0);
    char want[128];
    snprintf(want, sizeof(want), "directories.tokendir = %s/keys/tokens\n", home);
    assert_non_null(strstr((char *)text, want));
    free(text);
    /* SoftHSM2 2.6.1 (Debian 12): RFC 5649 wrap and OAEP, but no
     * CKM_RSA_AES_KEY_WRAP; keystore_wrap.c composes it */
    assert_true(ks.mechs.aes_key_wrap_pad);
    assert_true(ks.mechs.rsa_oaep);
    assert_false(ks.mechs.rsa_aes_key_wrap);
    assert_string_equal(ks.label, "trustlaunch");
    tlh_keystore_close(&ks);
    /* the second open finds the token and logs in with the kept PIN */
    ks_open(&ks);
    tlh_keystore_close(&ks);
    tlh_keystore_close(&ks); /* closing twice is harmless */
}

static void test_module_refused(void **state)
{
    (void)state;
    struct tl_error err = {0};
    struct tlh_keystore_config cfg = {.home = home, .module = "/nonexistent/libnope.so"};
    assert_int_equal(tlh_keystore_open(&ks, &cfg, &err), -ENOENT);
    assert_string_equal(err.message,
                        "PKCS#11 module /nonexistent/libnope.so: No such file or directory");
    cfg.module = "/etc/hostname";
    assert_int_equal(tlh_keystore_open(&ks, &cfg, &err), -ELIBBAD);
    assert_non_null(strstr(err.message, "PKCS#11 module /etc/hostname: "));
    cfg.module = "";
    assert_int_equal(tlh_keystore_open(&ks, &cfg, &err), -EINVAL);
    assert_string_equal(err.message, "PKCS#11 module: no path, or one too long");
    cfg = (struct tlh_keystore_config){.home = NULL};
    assert_int_equal(tlh_keystore_open(&ks, &cfg, &err), -EINVAL);
    assert_string_equal(err.message, "key store: no home directory");
}

static void test_key_lifecycle(void **state)
{
    (void)state;
    struct tl_error err = {0};
    struct tlh_key a, r, found;
    ks_open(&ks);
    enum tlh_key_type kty;
    assert_int_equal(tlh_key_type_parse("oct-hsm", &kty, &err), 0);
    assert_int_equal(kty, TLH_KEY_OCT_HSM);
    assert_int_equal(tlh_key_type_parse("RSA", &kty, &err), -EINVAL);
    assert_string_equal(err.message,
                        "key type RSA: not RSA-HSM or oct-HSM (keys are kept in the HSM)");

    assert_int_equal(
        tlh_keystore_key_create(&ks, "vault1", "disk", TLH_KEY_OCT_HSM, 256, true, &a, &err), 0);
    assert_int_equal(strlen(a.version), 32);
    assert_int_equal(
        tlh_keystore_key_create(&ks, "vault1", "sign", TLH_KEY_RSA_HSM, 2048, false, &r, &err), 0);
    assert_int_not_equal(r.pub, 0);
    assert_int_equal(
        tlh_keystore_key_create(&ks, "vault1", "disk", TLH_KEY_OCT_HSM, 128, true, &found, &err),
        -EEXIST);
    assert_string_equal(err.message,
                        "key vault1/disk: exists (1 version); rotate it for a new version");
    assert_int_equal(
        tlh_keystore_key_create(&ks, "vault1", "x", TLH_KEY_OCT_HSM, 512, true, &found, &err),
        -EINVAL);
    assert_string_equal(err.message, "oct-HSM key size 512: not 128, 192 or 256");
    assert_int_equal(
        tlh_keystore_key_create(&ks, "vault1", "x", TLH_KEY_RSA_HSM, 1024, true, &found, &err),
        -EINVAL);
    assert_int_equal(
        tlh_keystore_key_create(&ks, "v/1", "x", TLH_KEY_RSA_HSM, 2048, true, &found, &err),
        -EINVAL);
    assert_string_equal(err.message, "vault name v/1: 3 to 24 letters, digits and hyphens");
    assert_int_equal(
        tlh_keystore_key_create(&ks, "vault1", "a/b", TLH_KEY_OCT_HSM, 128, true, &found, &err),
        -EINVAL);

    /* list: sorted by name, with what the token says of each */
    struct tlh_key *keys;
    size_t n;
    assert_int_equal(tlh_keystore_key_list(&ks, "vault1", NULL, &keys, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(keys[0].name, "disk");
    assert_int_equal(keys[0].kty, TLH_KEY_OCT_HSM);
    assert_int_equal(keys[0].bits, 256);
    assert_true(keys[0].exportable);
    assert_string_equal(keys[0].version, a.version);
    assert_string_equal(keys[1].name, "sign");
    assert_int_equal(keys[1].kty, TLH_KEY_RSA_HSM);
    assert_int_equal(keys[1].bits, 2048);
    assert_false(keys[1].exportable);
    free(keys);
    assert_int_equal(tlh_keystore_key_list(&ks, "other", NULL, &keys, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_null(keys);

    /* rotate: a newer version, same type; the newest is what find gives */
    struct tlh_key a2;
    assert_int_equal(tlh_keystore_key_rotate(&ks, "vault1", "disk", &a2, &err), 0);
    assert_true(strcmp(a2.version, a.version) > 0);
    assert_int_equal(a2.kty, TLH_KEY_OCT_HSM);
    assert_int_equal(a2.bits, 256);
    assert_true(a2.exportable);
    assert_int_equal(tlh_keystore_key_find(&ks, "vault1", "disk", NULL, &found, &err), 0);
    assert_string_equal(found.version, a2.version);
    assert_int_equal(tlh_keystore_key_find(&ks, "vault1", "disk", a.version, &found, &err), 0);
    assert_int_equal(found.handle, a.handle);
    assert_int_equal(tlh_keystore_key_find(&ks, NULL, "disk", NULL, &found, &err), -EINVAL);
    assert_string_equal(err.message, "a key needs a vault name and a key name");
    assert_int_equal(tlh_keystore_key_find(&ks, "vault1", "disk", "ABC", &found, &err), -EINVAL);
    assert_string_equal(err.message, "key version ABC: not 32 lowercase hex digits");
    assert_int_equal(tlh_keystore_key_rotate(&ks, "vault1", "none", &found, &err), -ENOENT);
    assert_string_equal(err.message, "key vault1/none: not in the key store");

    /* persisted: a new session sees the same keys */
    tlh_keystore_close(&ks);
    ks_open(&ks);
    assert_int_equal(tlh_keystore_key_list(&ks, NULL, "disk", &keys, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(keys[0].version, a.version);
    assert_string_equal(keys[1].version, a2.version);
    free(keys);

    /* the public half of the RSA key, as SPKI */
    assert_int_equal(tlh_keystore_key_find(&ks, "vault1", "sign", NULL, &r, &err), 0);
    uint8_t *spki;
    size_t spki_len;
    assert_int_equal(tlh_keystore_public_key(&ks, &r, &spki, &spki_len, &err), 0);
    const unsigned char *p = spki;
    EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long)spki_len);
    assert_non_null(pk);
    assert_int_equal(EVP_PKEY_get_bits(pk), 2048);
    EVP_PKEY_free(pk);
    free(spki);
    assert_int_equal(tlh_keystore_public_key(&ks, &a2, &spki, &spki_len, &err), -EINVAL);

    /* delete one version, then the rest */
    assert_int_equal(tlh_keystore_key_delete(&ks, "vault1", "disk", a.version, &err), 1);
    assert_int_equal(tlh_keystore_key_find(&ks, "vault1", "disk", a.version, &found, &err),
                     -ENOENT);
    assert_int_equal(tlh_keystore_key_find(&ks, "vault1", "disk", NULL, &found, &err), 0);
    assert_string_equal(found.version, a2.version);
    assert_int_equal(tlh_keystore_key_delete(&ks, "vault1", "sign", NULL, &err), 1);
    assert_int_equal(tlh_keystore_key_delete(&ks, "vault1", "disk", NULL, &err), 1);
    assert_int_equal(tlh_keystore_key_delete(&ks, "vault1", "disk", NULL, &err), -ENOENT);
    assert_int_equal(tlh_keystore_key_list(&ks, NULL, NULL, &keys, &n, &err), 0);
    assert_int_equal(n, 0);
    tlh_keystore_close(&ks);
}

/* The token encrypts with the key (AES-CBC-PAD); the unwrapped value must
 * decrypt it. */
static void token_encrypt(const struct tlh_key *key, const uint8_t iv[16], const uint8_t *pt,
                          size_t pt_len, uint8_t *ct, size_t *ct_len)
{
    CK_FUNCTION_LIST_PTR f = ks.p11;
    CK_MECHANISM m = {CKM_AES_CBC_PAD, (void *)iv, 16};
    CK_ULONG n = *ct_len;
    assert_int_equal(f->C_EncryptInit(ks.session, &m, key->handle), CKR_OK);
    assert_int_equal(f->C_Encrypt(ks.session, (CK_BYTE_PTR)pt, pt_len, ct, &n), CKR_OK);
    *ct_len = n;
}

static void test_wrap_aes(void **state)
{
    (void)state;
    static const unsigned sizes[] = {128, 256};
    struct tl_error err = {0};
    uint8_t spki[1024];
    size_t spki_len;
    EVP_PKEY *target = open_with_target(spki, &spki_len);
    for (size_t s = 0; s < TL_ARRAY_SIZE(sizes); s++) {
        struct tlh_key key;
        char name[16];
        snprintf(name, sizeof(name), "disk%u", sizes[s]);
        assert_int_equal(tlh_keystore_key_create(&ks, "vault1", name, TLH_KEY_OCT_HSM, sizes[s],
                                                 true, &key, &err),
                         0);
        const uint8_t iv[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
        const char *msg = "the data disk's LUKS2 volume key";
        uint8_t ct[128];
        size_t ct_len = sizeof(ct);
        token_encrypt(&key, iv, (const uint8_t *)msg, strlen(msg), ct, &ct_len);

        uint8_t *w;
        size_t wl;
        /* SoftHSM2 2.6: OAEP-SHA-256 is done with OpenSSL, the key wrap in the token */
        assert_int_equal(tlh_keystore_wrap(&ks, &key, spki, spki_len, &w, &wl, &err),
                         TLH_WRAP_OAEP_OPENSSL);
        /* 256 bytes of OAEP, then the RFC 5649 wrap: the key padded to 8, plus 8 */
        assert_int_equal(wl, 256 + sizes[s] / 8 + 8);
        uint8_t value[64];
        size_t vl = release_open(target, w, wl, value, sizeof(value));
        assert_int_equal(vl, sizes[s] / 8);
        free(w);

        EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
        uint8_t pt[128];
        int n = 0, fin = 0;
        assert_int_equal(EVP_DecryptInit_ex(c,
                                            sizes[s] == 128 ? EVP_aes_128_cbc() : EVP_aes_256_cbc(),
                                            NULL, value, iv),
                         1);
        assert_int_equal(EVP_DecryptUpdate(c, pt, &n, ct, (int)ct_len), 1);
        assert_int_equal(EVP_DecryptFinal_ex(c, pt + n, &fin), 1);
        EVP_CIPHER_CTX_free(c);
        assert_int_equal(n + fin, strlen(msg));
        assert_memory_equal(pt, msg, strlen(msg));

        /* the key's bytes are nowhere in clear under the home */
        assert_int_equal(files_holding(value, vl), 0);
    }
    EVP_PKEY_free(target);
    tlh_keystore_close(&ks);
}

static void test_wrap_rsa(void **state)
{
    (void)state;
    struct tl_error err = {0};
    uint8_t spki[1024];
    size_t spki_len;
    EVP_PKEY *target = open_with_target(spki, &spki_len);
    struct tlh_key key;
    assert_int_equal(
        tlh_keystore_key_create(&ks, "vault1", "tls", TLH_KEY_RSA_HSM, 3072, true, &key, &err), 0);
    uint8_t *w;
    size_t wl;
    assert_int_equal(tlh_keystore_wrap(&ks, &key, spki, spki_len, &w, &wl, &err),
                     TLH_WRAP_OAEP_OPENSSL);
    uint8_t pkcs8[4096];
    size_t pl = release_open(target, w, wl, pkcs8, sizeof(pkcs8));
    free(w);
    /* a PKCS#8 PrivateKeyInfo whose public half is the token's */
    const unsigned char *p = pkcs8;
    PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)pl);
    assert_non_null(p8);
    /* SoftHSM2 2.6.1 zero-pads the PKCS#8 to a multiple of 8 before its
     * RFC 5649 wrap (WrapKeySym; fixed upstream since): up to 7 zero bytes
     * after the DER, which the DER's own length tells apart */
    size_t der_len = (size_t)(p - pkcs8);
    assert_true(pl - der_len < 8);
    for (size_t i = der_len; i < pl; i++)
        assert_int_equal(pkcs8[i], 0);
    EVP_PKEY *priv = EVP_PKCS82PKEY(p8);
    PKCS8_PRIV_KEY_INFO_free(p8);
    assert_non_null(priv);
    assert_int_equal(EVP_PKEY_get_bits(priv), 3072);
    uint8_t *pub;
    size_t pub_len;
    assert_int_equal(tlh_keystore_public_key(&ks, &key, &pub, &pub_len, &err), 0);
    p = pub;
    EVP_PKEY *tokpub = d2i_PUBKEY(NULL, &p, (long)pub_len);
    free(pub);
    assert_int_equal(EVP_PKEY_eq(priv, tokpub), 1);

    /* no prime, no private exponent, no PKCS#8 anywhere under the home */
    BIGNUM *prime = NULL, *d = NULL;
    assert_int_equal(EVP_PKEY_get_bn_param(priv, OSSL_PKEY_PARAM_RSA_FACTOR1, &prime), 1);
    assert_int_equal(EVP_PKEY_get_bn_param(priv, OSSL_PKEY_PARAM_RSA_D, &d), 1);
    uint8_t b[512];
    int bl = BN_bn2bin(prime, b);
    assert_int_equal(files_holding(b, (size_t)bl), 0);
    bl = BN_bn2bin(d, b);
    assert_int_equal(files_holding(b, (size_t)bl), 0);
    assert_int_equal(files_holding(pkcs8, pl), 0);
    /* ... while the scan does find what is there: the public modulus */
    BIGNUM *mod = NULL;
    assert_int_equal(EVP_PKEY_get_bn_param(priv, OSSL_PKEY_PARAM_RSA_N, &mod), 1);
    bl = BN_bn2bin(mod, b);
    assert_true(files_holding(b, (size_t)bl) > 0);
    BN_free(prime);
    BN_free(d);
    BN_free(mod);
    EVP_PKEY_free(tokpub);
    EVP_PKEY_free(priv);
    EVP_PKEY_free(target);
    tlh_keystore_close(&ks);
}

static void test_wrap_refused(void **state)
{
    (void)state;
    struct tl_error err = {0};
    uint8_t spki[1024], *w = NULL;
    size_t spki_len, wl;
    EVP_PKEY *target = open_with_target(spki, &spki_len);
    struct tlh_key fixed, key;
    assert_int_equal(
        tlh_keystore_key_create(&ks, "vault2", "fixed", TLH_KEY_OCT_HSM, 256, false, &fixed, &err),
        0);
    char want[256];
    snprintf(want, sizeof(want),
             "key vault2/fixed/%s: not exportable; only an exportable key can be released "
             "(create it with --exportable true)",
             fixed.version);
    assert_int_equal(tlh_keystore_wrap(&ks, &fixed, spki, spki_len, &w, &wl, &err), -EPERM);
    assert_string_equal(err.message, want);
    assert_null(w);
    /* the token agrees: told the key is exportable, it still refuses */
    fixed.exportable = true;
    assert_int_equal(tlh_keystore_wrap(&ks, &fixed, spki, spki_len, &w, &wl, &err), -EPERM);
    assert_string_equal(err.message, want);

    assert_int_equal(
        tlh_keystore_key_create(&ks, "vault2", "free", TLH_KEY_OCT_HSM, 256, true, &key, &err), 0);
    /* clear export: never, exportable or not */
    assert_int_equal(tlh_keystore_key_download(&key, &err), -EPERM);
    assert_non_null(strstr(err.message, "never leaves the token in clear"));

    /* a target that is not RSA */
    EVP_PKEY *ec = EVP_EC_gen("P-256");
    uint8_t ecspki[256];
    size_t ecl = spki_of(ec, ecspki, sizeof(ecspki));
    EVP_PKEY_free(ec);
    assert_int_equal(tlh_keystore_wrap(&ks, &key, ecspki, ecl, &w, &wl, &err), -EINVAL);
    assert_string_equal(err.message, "release target: a id-ecPublicKey key, not RSA (a release is "
                                     "RSA-OAEP to the node's TPM key)");
    /* too small an RSA key */
    EVP_PKEY *small = rsa_new(1024);
    uint8_t smspki[512];
    size_t sml = spki_of(small, smspki, sizeof(smspki));
    EVP_PKEY_free(small);
    assert_int_equal(tlh_keystore_wrap(&ks, &key, smspki, sml, &w, &wl, &err), -EINVAL);
    assert_string_equal(err.message, "release target: RSA 1024 bits, fewer than 2048");
    /* not an SPKI; an SPKI with a byte after it; nothing */
    uint8_t junk[64];
    memset(junk, 0x30, sizeof(junk));
    assert_int_equal(tlh_keystore_wrap(&ks, &key, junk, sizeof(junk), &w, &wl, &err), -EINVAL);
    assert_string_equal(err.message, "release target: not a DER SubjectPublicKeyInfo (64 bytes)");
    spki[spki_len] = 0;
    assert_int_equal(tlh_keystore_wrap(&ks, &key, spki, spki_len + 1, &w, &wl, &err), -EINVAL);
    assert_string_equal(err.message, "release target: 1 bytes after its public key");
    assert_int_equal(tlh_keystore_wrap(&ks, &key, spki, 0, &w, &wl, &err), -EINVAL);
    assert_null(w);

    /* and the good target still works after the refusals */
    assert_true(tlh_keystore_wrap(&ks, &key, spki, spki_len, &w, &wl, &err) >= 0);
    free(w);
    EVP_PKEY_free(target);
    tlh_keystore_close(&ks);
}

/* A KEK seals and opens a secret; the blob is bound to the KEK's label and
 * refused when altered; the KEK's value cannot be read; a vault's key list
 * does not show it; destroying the label removes it, and the blob no longer
 * opens. */
static void test_seal(void **state)
{
    (void)state;
    struct tl_error err = {0};
    ks_open(&ks);
    const uint8_t secret[32] = "0123456789abcdef0123456789ABCDE";
    uint8_t blob[32 + TLH_KEYSTORE_SEAL_OVERHEAD], out[TLH_KEYSTORE_SEAL_MAX];
    size_t n = 0;
    assert_int_equal(tlh_keystore_label_count(&ks, "tl-node:n1", &err), 0);
    assert_int_equal(tlh_keystore_seal(&ks, "tl-node:n1", secret, 32, blob, &err), -ENOENT);
    assert_int_equal(tlh_keystore_kek_ensure(&ks, "tl-node:n1", &err), 1);
    assert_int_equal(tlh_keystore_kek_ensure(&ks, "tl-node:n1", &err), 0);
    assert_int_equal(tlh_keystore_kek_ensure(&ks, "tl-node:n2", &err), 1);
    assert_int_equal(tlh_keystore_label_count(&ks, "tl-node:n1", &err), 1);
    assert_int_equal(tlh_keystore_kek_ensure(&ks, "a/b", &err), -EINVAL);
    assert_int_equal(tlh_keystore_seal(&ks, "tl-node:n1", secret, 32, blob, &err), 0);
    assert_memory_not_equal(blob + TLH_KEYSTORE_SEAL_NONCE, secret, 32);
    assert_int_equal(tlh_keystore_unseal(&ks, "tl-node:n1", blob, sizeof(blob), out, &n, &err), 0);
    assert_int_equal(n, 32);
    assert_memory_equal(out, secret, 32);
    /* another node's KEK, a flipped bit, a cut: refused */
    assert_int_equal(tlh_keystore_unseal(&ks, "tl-node:n2", blob, sizeof(blob), out, &n, &err),
                     -EBADMSG);
    assert_string_equal(err.message,
                        "KEK tl-node:n2: the sealed secret does not open (altered, or another's)");
    blob[20] ^= 1;
    assert_int_equal(tlh_keystore_unseal(&ks, "tl-node:n1", blob, sizeof(blob), out, &n, &err),
                     -EBADMSG);
    blob[20] ^= 1;
    assert_int_equal(
        tlh_keystore_unseal(&ks, "tl-node:n1", blob, TLH_KEYSTORE_SEAL_OVERHEAD, out, &n, &err),
        -EBADMSG);
    /* no vault key: the list is empty */
    struct tlh_key *keys = NULL;
    size_t nk = 9;
    assert_int_equal(tlh_keystore_key_list(&ks, NULL, NULL, &keys, &nk, &err), 0);
    assert_int_equal(nk, 0);
    free(keys);
    /* gone: the blob does not open any more, even under a new KEK of that label */
    assert_int_equal(tlh_keystore_label_destroy(&ks, "tl-node:n1", &err), 1);
    assert_int_equal(tlh_keystore_label_count(&ks, "tl-node:n1", &err), 0);
    assert_int_equal(tlh_keystore_unseal(&ks, "tl-node:n1", blob, sizeof(blob), out, &n, &err),
                     -ENOENT);
    assert_int_equal(tlh_keystore_kek_ensure(&ks, "tl-node:n1", &err), 1);
    assert_int_equal(tlh_keystore_unseal(&ks, "tl-node:n1", blob, sizeof(blob), out, &n, &err),
                     -EBADMSG);
    assert_int_equal(tlh_keystore_label_count(&ks, "tl-node:n2", &err), 1);
    /* the KEK's value cannot be read: sensitive, not extractable */
    CK_FUNCTION_LIST_PTR f = ks.p11;
    CK_ATTRIBUTE lt = {CKA_LABEL, "tl-node:n2", 10};
    CK_OBJECT_HANDLE h = 0;
    CK_ULONG got = 0;
    assert_int_equal(f->C_FindObjectsInit(ks.session, &lt, 1), CKR_OK);
    assert_int_equal(f->C_FindObjects(ks.session, &h, 1, &got), CKR_OK);
    f->C_FindObjectsFinal(ks.session);
    assert_int_equal(got, 1);
    uint8_t v[32];
    CK_ATTRIBUTE va = {CKA_VALUE, v, sizeof(v)};
    assert_int_equal(f->C_GetAttributeValue(ks.session, h, &va, 1), CKR_ATTRIBUTE_SENSITIVE);
    CK_BBOOL ext = CK_TRUE, sens = CK_FALSE, wrap = CK_TRUE;
    CK_ATTRIBUTE aa[] = {
        {CKA_EXTRACTABLE, &ext, 1}, {CKA_SENSITIVE, &sens, 1}, {CKA_WRAP, &wrap, 1}};
    assert_int_equal(f->C_GetAttributeValue(ks.session, h, aa, 3), CKR_OK);
    assert_int_equal(ext, CK_FALSE);
    assert_int_equal(sens, CK_TRUE);
    assert_int_equal(wrap, CK_FALSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_layout_and_mechanisms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_module_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrap_aes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrap_rsa, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrap_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seal, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
