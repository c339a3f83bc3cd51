/* Unit tests for a node's guest state: the format (lib/node/gueststate.c)
 * and its files (src/host/gueststate.c).
 *
 *  - round trip with OVMF's real Microsoft variable store: the header's
 *    fields at their offsets, the ciphertext decrypted by plain EVP with
 *    the header as AAD equal to the archive, the files back byte for byte,
 *    and none of the store's known bytes (the KEK CA certificate, the
 *    UTF-16 name "KEK") in the sealed file;
 *  - a known answer from another implementation (Python's AESGCM);
 *  - refusals: every byte of a sealed file flipped, every truncation, one
 *    byte appended, a wrong key (each of its bits), another node's uuid, a
 *    header moved to another node's uuid (the tag fails);
 *  - the archive parser: every truncation, trailing bytes, unsafe and
 *    repeated names, too many files;
 *  - the host library: a folder sealed (atomically: no FILE.tmp left) and
 *    opened again, a flipped byte refused naming the file with no folder
 *    made, a key of the wrong length refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tl/gueststate.h"
#include "tl/util.h"
#include "tlhost/gueststate.h"
#include "vectors.h"

static const char *uuid_text = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
static const uint8_t uuid_bin[16] = {0x3f, 0x25, 0x04, 0xe0, 0x4f, 0x89, 0x41, 0xd3,
                                     0x9a, 0x0c, 0x03, 0x05, 0xe8, 0x2c, 0x33, 0x01};

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + i * 7);
}

static uint8_t *ovmf_ms_vars(size_t *len)
{
    const char *dir = getenv("TL_OVMF_DIR");
    char path[4096];
    snprintf(path, sizeof(path), "%s/OVMF_VARS_4M.ms.fd", dir ? dir : "/usr/share/OVMF");
    uint8_t *b = file_read(path, len);
    if (!b)
        fail_msg("cannot read %s (Debian package ovmf)", path);
    return b;
}

static bool contains(const uint8_t *hay, size_t n, const uint8_t *needle, size_t k)
{
    return memmem(hay, n, needle, k) != NULL;
}

/* A small sealed file: two files, 319 bytes of archive, under the key
 * it sets. */
static uint8_t *small_sealed(uint8_t key[32], size_t *len)
{
    uint8_t a[200], b[60], nonce[12];
    fill(key, 32, 5);
    fill(a, sizeof(a), 1);
    fill(b, sizeof(b), 9);
    fill(nonce, sizeof(nonce), 77);
    struct tl_gueststate_file files[2] = {{.name = "vars.fd", .data = a, .len = sizeof(a)},
                                          {.name = "vtpm/tpm2-00.permall", .data = b, .len = 60}};
    uint8_t *plain, *out;
    size_t plain_len;
    assert_int_equal(tl_gueststate_archive_build(files, 2, &plain, &plain_len, NULL), 0);
    assert_int_equal(plain_len, 12 + (10 + 7 + 200) + (10 + 20 + 60));
    assert_int_equal(tl_gueststate_seal(key, uuid_bin, nonce, plain, plain_len, &out, len, NULL),
                     0);
    free(plain);
    return out;
}

static void test_uuid_parse(void **state)
{
    (void)state;
    uint8_t u[16];
    assert_int_equal(tl_gueststate_uuid_parse(uuid_text, u), 0);
    assert_memory_equal(u, uuid_bin, 16);
    const char *bad[] = {
        "", "3f2504e04f8941d39a0c0305e82c3301", "3f2504e0-4f89-41d3-9a0c-0305e82c330",
        "3f2504e0-4f89-41d3-9a0c_0305e82c3301", "3f2504e0-4f89-41d3-9a0c-0305e82c330g"};
    for (size_t i = 0; i < TL_ARRAY_SIZE(bad); i++)
        assert_int_equal(tl_gueststate_uuid_parse(bad[i], u), -EINVAL);
}

static void test_round_trip_real_store(void **state)
{
    (void)state;
    size_t vlen;
    _cleanup_free_ uint8_t *vars = ovmf_ms_vars(&vlen);
    assert_int_equal(vlen, 540672);
    uint8_t tpm[3000], key[32], nonce[12];
    fill(tpm, sizeof(tpm), 3);
    fill(key, sizeof(key), 0x40);
    fill(nonce, sizeof(nonce), 0x90);
    struct tl_gueststate_file files[2] = {
        {.name = "vars.fd", .data = vars, .len = vlen},
        {.name = "vtpm/tpm2-00.permall", .data = tpm, .len = 3000}};
    _cleanup_free_ uint8_t *plain = NULL, *sealed = NULL, *opened = NULL;
    size_t plain_len, sealed_len, opened_len;
    assert_int_equal(tl_gueststate_archive_build(files, 2, &plain, &plain_len, NULL), 0);
    assert_int_equal(plain_len, 12 + 10 + 7 + vlen + 10 + 20 + 3000);
    assert_memory_equal(plain, "TLGSARCH\x02\0\0\0\x07\0vars.fd", 20);
    assert_int_equal(
        tl_gueststate_seal(key, uuid_bin, nonce, plain, plain_len, &sealed, &sealed_len, NULL), 0);
    /* the header, field by field */
    assert_int_equal(sealed_len, 56 + plain_len + 16);
    assert_memory_equal(sealed, "TLGUESTS\x01\0\0\0\0\0\0\0", 16);
    assert_memory_equal(sealed + 16, uuid_bin, 16);
    assert_memory_equal(sealed + 32, nonce, 12);
    assert_true(tl_is_zero(sealed + 44, 4));
    assert_int_equal(tl_le64(sealed + 48), plain_len);
    struct tl_gueststate_header h;
    assert_int_equal(tl_gueststate_header_parse(sealed, sealed_len, &h, NULL), 0);
    assert_int_equal(h.version, 1);
    assert_int_equal(h.ciphertext_len, plain_len);
    /* AES-256-GCM with the 56-byte header as AAD, by EVP directly */
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    _cleanup_free_ uint8_t *dec = malloc(plain_len);
    int n = 0;
    assert_int_equal(EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce), 1);
    assert_int_equal(EVP_DecryptUpdate(c, NULL, &n, sealed, 56), 1);
    assert_int_equal(EVP_DecryptUpdate(c, dec, &n, sealed + 56, (int)plain_len), 1);
    assert_int_equal(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, sealed + 56 + plain_len), 1);
    assert_int_equal(EVP_DecryptFinal_ex(c, dec + n, &n), 1);
    EVP_CIPHER_CTX_free(c);
    assert_memory_equal(dec, plain, plain_len);
    /* opened: the archive, its files byte for byte */
    assert_int_equal(
        tl_gueststate_open(key, uuid_bin, sealed, sealed_len, &opened, &opened_len, NULL), 0);
    assert_int_equal(opened_len, plain_len);
    assert_memory_equal(opened, plain, plain_len);
    struct tl_gueststate_file back[4];
    size_t count;
    assert_int_equal(tl_gueststate_archive_parse(opened, opened_len, back, 4, &count, NULL), 0);
    assert_int_equal(count, 2);
    assert_string_equal(back[0].name, "vars.fd");
    assert_int_equal(back[0].len, vlen);
    assert_memory_equal(back[0].data, vars, vlen);
    assert_string_equal(back[1].name, "vtpm/tpm2-00.permall");
    assert_memory_equal(back[1].data, tpm, 3000);
    /* the store's known bytes are in the plaintext, not in the sealed file */
    size_t kn;
    _cleanup_free_ uint8_t *kek =
        vector_read("secureboot/certs/MicCorKEKCA2011_2011-06-24.crt", &kn);
    static const uint8_t kek_name[] = {'K', 0, 'E', 0, 'K', 0, 0, 0};
    assert_true(contains(vars, vlen, kek, kn));
    assert_true(contains(plain, plain_len, kek, kn));
    assert_true(contains(plain, plain_len, kek_name, sizeof(kek_name)));
    assert_false(contains(sealed, sealed_len, kek, 32));
    assert_false(contains(sealed, sealed_len, kek_name, sizeof(kek_name)));
    /* a sample of flipped bytes all through the real file */
    for (size_t i = 0; i < sealed_len; i += i < 64 ? 1 : 4099) {
        sealed[i] ^= 0x20;
        uint8_t *p = (uint8_t *)1;
        size_t pl = 9;
        assert_int_equal(tl_gueststate_open(key, uuid_bin, sealed, sealed_len, &p, &pl, NULL),
                         -EBADMSG);
        assert_null(p);
        assert_int_equal(pl, 0);
        sealed[i] ^= 0x20;
    }
}

/* A known answer computed by another implementation (Python's
 * cryptography AESGCM, tests/fuzz/run.sh's seed "sealed-small"): the
 * archive of vars.fd (64 zero bytes) and vtpm/tpm2-00.permall (32 bytes
 * 0x01), sealed with the all-zero key and nonce for uuid 00 01 .. 0f. */
static void test_known_answer(void **state)
{
    (void)state;
    uint8_t a[64] = {0}, b[32], key[32] = {0}, nonce[12] = {0}, uuid[16];
    memset(b, 1, sizeof(b));
    for (int i = 0; i < 16; i++)
        uuid[i] = (uint8_t)i;
    struct tl_gueststate_file files[2] = {{.name = "vars.fd", .data = a, .len = 64},
                                          {.name = "vtpm/tpm2-00.permall", .data = b, .len = 32}};
    _cleanup_free_ uint8_t *plain = NULL, *sealed = NULL;
    size_t plain_len, sealed_len;
    assert_int_equal(tl_gueststate_archive_build(files, 2, &plain, &plain_len, NULL), 0);
    assert_int_equal(
        tl_gueststate_seal(key, uuid, nonce, plain, plain_len, &sealed, &sealed_len, NULL), 0);
    assert_int_equal(sealed_len, 227);
    uint8_t want[32], md[32];
    assert_int_equal(tl_hex_decode("9aeb076e0c322826054ec5d3bdf3eb79", 32, want, 16), 16);
    assert_memory_equal(sealed + 56, want, 16); /* the first ciphertext block */
    assert_int_equal(tl_hex_decode("5de25f703021575533645b46fabc01b6", 32, want, 16), 16);
    assert_memory_equal(sealed + 211, want, 16); /* the tag */
    assert_int_equal(
        tl_hex_decode("3e0a951369b8218171b32f313142d46981005ec2c751142311c44adb477c2f05", 64, want,
                      32),
        32);
    assert_int_equal(EVP_Digest(sealed, sealed_len, md, NULL, EVP_sha256(), NULL), 1);
    assert_memory_equal(md, want, 32);
}

static void test_every_byte_flipped(void **state)
{
    (void)state;
    uint8_t key[32];
    size_t len;
    _cleanup_free_ uint8_t *s = small_sealed(key, &len);
    assert_int_equal(len, 56 + 319 + 16);
    uint8_t *p;
    size_t pl;
    assert_int_equal(tl_gueststate_open(key, uuid_bin, s, len, &p, &pl, NULL), 0);
    assert_int_equal(pl, 319);
    free(p);
    for (size_t i = 0; i < len; i++)
        for (int bit = 0; bit < 8; bit++) {
            s[i] ^= (uint8_t)(1u << bit);
            struct tl_error err = {0};
            p = (uint8_t *)1;
            assert_int_equal(tl_gueststate_open(key, uuid_bin, s, len, &p, &pl, &err), -EBADMSG);
            assert_null(p);
            assert_true(err.message[0] != 0);
            s[i] ^= (uint8_t)(1u << bit);
        }
}

static void test_truncated_and_extended(void **state)
{
    (void)state;
    uint8_t key[32];
    size_t len;
    _cleanup_free_ uint8_t *s = small_sealed(key, &len);
    for (size_t k = 0; k < len; k++) {
        _cleanup_free_ uint8_t *cut = dup_exact(s, k); /* ASan sees any read past k */
        uint8_t *p = (uint8_t *)1;
        size_t pl = 1;
        struct tl_error err = {0};
        assert_int_equal(tl_gueststate_open(key, uuid_bin, cut, k, &p, &pl, &err), -EBADMSG);
        assert_null(p);
        assert_true(strstr(err.message, "truncated") != NULL);
    }
    _cleanup_free_ uint8_t *longer = malloc(len + 1);
    memcpy(longer, s, len);
    longer[len] = 0;
    struct tl_error err = {0};
    uint8_t *p;
    size_t pl;
    assert_int_equal(tl_gueststate_open(key, uuid_bin, longer, len + 1, &p, &pl, &err), -EBADMSG);
    assert_string_equal(err.message,
                        "ciphertext length 319, but the file holds 320 (truncated or extended)");
}

static void test_wrong_key_and_uuid(void **state)
{
    (void)state;
    uint8_t key[32];
    size_t len;
    _cleanup_free_ uint8_t *s = small_sealed(key, &len);
    uint8_t *p;
    size_t pl;
    struct tl_error err = {0};
    for (int bit = 0; bit < 256; bit++) {
        key[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_int_equal(tl_gueststate_open(key, uuid_bin, s, len, &p, &pl, &err), -EBADMSG);
        assert_string_equal(err.message,
                            "authentication failed: a wrong key, or the file was altered");
        key[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    uint8_t other[16];
    memcpy(other, uuid_bin, 16);
    other[15] ^= 1;
    assert_int_equal(tl_gueststate_open(key, other, s, len, &p, &pl, &err), -EBADMSG);
    assert_string_equal(err.message,
                        "belongs to another node (uuid 3f2504e0-4f89-41d3-9a0c-0305e82c3301)");
    /* the header made to name the other node: the tag (over the header) fails */
    s[31] ^= 1;
    assert_int_equal(tl_gueststate_open(key, other, s, len, &p, &pl, &err), -EBADMSG);
    assert_string_equal(err.message, "authentication failed: a wrong key, or the file was altered");
}

static void test_header_refusals(void **state)
{
    (void)state;
    uint8_t key[32];
    size_t len;
    _cleanup_free_ uint8_t *s = small_sealed(key, &len);
    struct tl_gueststate_header h;
    struct tl_error err = {0};
    s[0] = 'X';
    assert_int_equal(tl_gueststate_header_parse(s, len, &h, &err), -EBADMSG);
    assert_string_equal(err.message, "not a guest state (no TLGUESTS magic)");
    s[0] = 'T';
    s[8] = 2;
    assert_int_equal(tl_gueststate_header_parse(s, len, &h, &err), -EBADMSG);
    assert_string_equal(err.message, "version 2 (this build reads 1)");
    s[8] = 1;
    s[12] = 1;
    assert_int_equal(tl_gueststate_header_parse(s, len, &h, &err), -EBADMSG);
    assert_string_equal(err.message, "flags 0x1 (none are defined)");
    s[12] = 0;
    s[47] = 1;
    assert_int_equal(tl_gueststate_header_parse(s, len, &h, &err), -EBADMSG);
    assert_string_equal(err.message, "reserved bytes are not zero");
    s[47] = 0;
    s[55] = 0x80; /* a length that would wrap */
    assert_int_equal(tl_gueststate_header_parse(s, len, &h, &err), -EBADMSG);
    assert_int_equal(err.offset, 48);
}

static uint8_t *archive_of(const char *const *names, size_t n, size_t *len)
{
    struct tl_gueststate_file files[8];
    uint8_t data[3] = {1, 2, 3};
    for (size_t i = 0; i < n; i++) {
        files[i] = (struct tl_gueststate_file){.data = data, .len = sizeof(data)};
        snprintf(files[i].name, sizeof(files[i].name), "%s", names[i]);
    }
    uint8_t *out;
    assert_int_equal(tl_gueststate_archive_build(files, n, &out, len, NULL), 0);
    return out;
}

static void test_archive_parser(void **state)
{
    (void)state;
    const char *names[] = {"vars.fd", "vtpm/tpm2-00.permall", "vtpm/.lock"};
    size_t len;
    _cleanup_free_ uint8_t *a = archive_of(names, 3, &len);
    assert_int_equal(len, 12 + 3 * 13 + 7 + 20 + 10);
    struct tl_gueststate_file f[4];
    size_t count = 9;
    assert_int_equal(tl_gueststate_archive_parse(a, len, f, 4, &count, NULL), 0);
    assert_int_equal(count, 3);
    assert_string_equal(f[2].name, "vtpm/.lock");
    assert_memory_equal(f[2].data, "\x01\x02\x03", 3);
    for (size_t k = 0; k < len; k++) {
        _cleanup_free_ uint8_t *cut = dup_exact(a, k);
        assert_int_equal(tl_gueststate_archive_parse(cut, k, f, 4, &count, NULL), -EBADMSG);
        assert_int_equal(count, 0);
    }
    _cleanup_free_ uint8_t *more = malloc(len + 1);
    memcpy(more, a, len);
    more[len] = 0;
    struct tl_error err = {0};
    assert_int_equal(tl_gueststate_archive_parse(more, len + 1, f, 4, &count, &err), -EBADMSG);
    assert_string_equal(err.message, "archive: 1 bytes after the last file");
    assert_int_equal(tl_gueststate_archive_parse(a, len, f, 2, &count, &err), -E2BIG);
    /* names: refused by the builder, and by the parser when written in */
    const char *bad[] = {"",     "/vars.fd", "../x",    "a/../b",    ".",
                         "a//b", "a/",       "vars fd", "a/b/c/d/e", "v\xc3\xa9"};
    for (size_t i = 0; i < TL_ARRAY_SIZE(bad); i++)
        assert_false(tl_gueststate_name_ok(bad[i]));
    assert_true(tl_gueststate_name_ok("a/b/c/d"));
    /* "vars.fd" rewritten in place to "../s.fd", "vars/fd" kept legal */
    memcpy(a + 14, "../s.fd", 7);
    assert_int_equal(tl_gueststate_archive_parse(a, len, f, 4, &count, &err), -EBADMSG);
    assert_string_equal(err.message, "archive: file 0: name not allowed");
    memcpy(a + 14, "vars\0fd", 7);
    assert_int_equal(tl_gueststate_archive_parse(a, len, f, 4, &count, &err), -EBADMSG);
    const char *twice[] = {"vars.fd", "vars.fd"};
    struct tl_gueststate_file two[2] = {{.name = "vars.fd"}, {.name = "vars.fd"}};
    uint8_t *out;
    size_t out_len;
    assert_int_equal(tl_gueststate_archive_build(two, 2, &out, &out_len, &err), -EINVAL);
    _cleanup_free_ uint8_t *d = archive_of(twice, 1, &len); /* one, then doubled by hand */
    _cleanup_free_ uint8_t *dd = malloc(12 + 2 * (len - 12));
    memcpy(dd, d, len);
    memcpy(dd + len, d + 12, len - 12);
    dd[8] = 2;
    assert_int_equal(tl_gueststate_archive_parse(dd, 12 + 2 * (len - 12), f, 4, &count, &err),
                     -EBADMSG);
    assert_string_equal(err.message, "archive: vars.fd twice");
    put32(a + 8, 65);
    assert_int_equal(tl_gueststate_archive_parse(a, len, f, 4, &count, &err), -EBADMSG);
    assert_string_equal(err.message, "archive: 65 files (at most 64)");
}

/* ---- the host library ---- */

static void write_file(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

static void test_host_seal_open(void **state)
{
    (void)state;
    char w[] = "/tmp/tl-gueststate.XXXXXX", p[512], dir[256], file[256], key[256];
    assert_non_null(mkdtemp(w));
    snprintf(dir, sizeof(dir), "%s/open", w);
    snprintf(file, sizeof(file), "%s/guest-state.vmgs", w);
    snprintf(key, sizeof(key), "%s/gs.key", w);
    size_t vlen;
    _cleanup_free_ uint8_t *vars = ovmf_ms_vars(&vlen);
    uint8_t tpm[5000];
    fill(tpm, sizeof(tpm), 11);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(p, sizeof(p), "%s/vtpm", dir);
    assert_int_equal(mkdir(p, 0700), 0);
    snprintf(p, sizeof(p), "%s/vars.fd", dir);
    write_file(p, vars, vlen);
    snprintf(p, sizeof(p), "%s/vtpm/tpm2-00.permall", dir);
    write_file(p, tpm, sizeof(tpm));

    struct tl_error err = {0};
    assert_int_equal(tlh_gueststate_key_new(key, &err), 0);
    struct stat st;
    assert_int_equal(stat(key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 32);
    assert_int_equal(tlh_gueststate_key_new(key, &err), -EEXIST);
    uint8_t kb[TL_GUESTSTATE_KEY_LEN];
    assert_int_equal(tlh_gueststate_key_read(key, kb, &err), 0);
    assert_int_equal(tlh_gueststate_seal_dir(dir, file, kb, uuid_bin, &err), 0);
    snprintf(p, sizeof(p), "%s.tmp", file);
    assert_int_equal(access(p, F_OK), -1); /* renamed into place */
    size_t slen;
    _cleanup_free_ uint8_t *sealed = file_read(file, &slen);
    assert_int_equal(slen, 56 + 12 + 10 + 7 + vlen + 10 + 20 + sizeof(tpm) + 16);
    assert_false(contains(sealed, slen, vars + 0x1000, 64));
    assert_false(contains(sealed, slen, tpm, 64));
    /* a second seal: a new nonce, so other bytes */
    assert_int_equal(tlh_gueststate_seal_dir(dir, file, kb, uuid_bin, &err), 0);
    _cleanup_free_ uint8_t *again = file_read(file, &slen);
    assert_memory_not_equal(sealed + 32, again + 32, 12);

    assert_int_equal(tlh_gueststate_remove_dir(dir, &err), 0);
    assert_int_equal(access(dir, F_OK), -1);
    assert_int_equal(tlh_gueststate_open_dir(file, kb, uuid_bin, dir, &err), 0);
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    size_t n;
    snprintf(p, sizeof(p), "%s/vars.fd", dir);
    _cleanup_free_ uint8_t *v2 = file_read(p, &n);
    assert_int_equal(n, vlen);
    assert_memory_equal(v2, vars, vlen);
    snprintf(p, sizeof(p), "%s/vtpm/tpm2-00.permall", dir);
    _cleanup_free_ uint8_t *t2 = file_read(p, &n);
    assert_int_equal(n, sizeof(tpm));
    assert_memory_equal(t2, tpm, sizeof(tpm));
    assert_int_equal(tlh_gueststate_remove_dir(dir, &err), 0);

    /* one byte flipped: refused, the file named, no folder made */
    again[slen / 2] ^= 1;
    write_file(file, again, slen);
    assert_int_equal(tlh_gueststate_open_dir(file, kb, uuid_bin, dir, &err), -EBADMSG);
    char want[4400];
    snprintf(want, sizeof(want), "%s: authentication failed: a wrong key, or the file was altered",
             file);
    assert_string_equal(err.message, want);
    assert_int_equal(access(dir, F_OK), -1);
    snprintf(p, sizeof(p), "%s.new", dir);
    assert_int_equal(access(p, F_OK), -1);
    /* a key file of 31 bytes */
    write_file(key, tpm, 31);
    assert_int_equal(tlh_gueststate_key_read(key, kb, &err), -EBADMSG);
    snprintf(want, sizeof(want), "%s: 31 bytes, a key has 32", key);
    assert_string_equal(err.message, want);
    assert_int_equal(tlh_gueststate_remove_dir(w, &err), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uuid_parse),
        cmocka_unit_test(test_round_trip_real_store),
        cmocka_unit_test(test_known_answer),
        cmocka_unit_test(test_every_byte_flipped),
        cmocka_unit_test(test_truncated_and_extended),
        cmocka_unit_test(test_wrong_key_and_uuid),
        cmocka_unit_test(test_header_refusals),
        cmocka_unit_test(test_archive_parser),
        cmocka_unit_test(test_host_seal_open),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
