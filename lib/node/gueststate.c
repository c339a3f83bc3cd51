/* A node's guest state sealed at rest (tl/gueststate.h): the header, the
 * archive of its files, and AES-256-GCM over both (OpenSSL EVP).
 *
 * Invariants: nothing of a sealed file is trusted before the tag has been
 * checked over the header (as additional data) and the ciphertext; the
 * archive parser checks every length against what is left before it reads;
 * an archive it accepts is exactly what tl_gueststate_archive_build writes
 * (no trailing bytes, no repeated or unsafe names), so a parse and a build
 * round trip byte for byte. */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl/gueststate.h"
#include "tl/util.h"

static const uint8_t file_magic[8] = {'T', 'L', 'G', 'U', 'E', 'S', 'T', 'S'};
static const uint8_t archive_magic[8] = {'T', 'L', 'G', 'S', 'A', 'R', 'C', 'H'};

#define ARCHIVE_HEAD   12 /* magic, count */
#define ENTRY_FIXED    10 /* name length u16, size u64 */
#define NAME_PARTS_MAX 4

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

int tl_gueststate_uuid_parse(const char *text, uint8_t uuid[16])
{
    if (!text || strlen(text) != 36)
        return -EINVAL;
    char hex[33];
    size_t k = 0;
    for (size_t i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash != (text[i] == '-'))
            return -EINVAL;
        if (!dash)
            hex[k++] = text[i];
    }
    hex[k] = 0;
    return tl_hex_decode(hex, 32, uuid, 16) == 16 ? 0 : -EINVAL;
}

static bool name_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

bool tl_gueststate_name_ok(const char *name)
{
    size_t len = strlen(name), parts = 0, start = 0;
    if (len == 0 || len > TL_GUESTSTATE_NAME_MAX)
        return false;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && name[i] != '/') {
            if (!name_char_ok(name[i]))
                return false;
            continue;
        }
        size_t n = i - start; /* a component ends */
        if (n == 0 || (n == 1 && name[start] == '.') ||
            (n == 2 && name[start] == '.' && name[start + 1] == '.') || ++parts > NAME_PARTS_MAX)
            return false;
        start = i + 1;
    }
    return true;
}

int tl_gueststate_header_parse(const uint8_t *in, size_t len, struct tl_gueststate_header *h,
                               struct tl_error *err)
{
    if (len < TL_GUESTSTATE_HEADER_LEN + TL_GUESTSTATE_TAG_LEN)
        return tl_error_set(err, -EBADMSG, len,
                            "truncated: %zu bytes, a guest state has at least %d", len,
                            TL_GUESTSTATE_HEADER_LEN + TL_GUESTSTATE_TAG_LEN);
    if (memcmp(in, file_magic, sizeof(file_magic)) != 0)
        return tl_error_set(err, -EBADMSG, 0, "not a guest state (no TLGUESTS magic)");
    *h = (struct tl_gueststate_header){.version = tl_le32(in + 8)};
    if (h->version != TL_GUESTSTATE_VERSION)
        return tl_error_set(err, -EBADMSG, 8, "version %u (this build reads %d)", h->version,
                            TL_GUESTSTATE_VERSION);
    if (tl_le32(in + 12) != 0)
        return tl_error_set(err, -EBADMSG, 12, "flags 0x%x (none are defined)", tl_le32(in + 12));
    if (tl_le32(in + 44) != 0)
        return tl_error_set(err, -EBADMSG, 44, "reserved bytes are not zero");
    memcpy(h->uuid, in + 16, 16);
    memcpy(h->nonce, in + 32, TL_GUESTSTATE_NONCE_LEN);
    h->ciphertext_len = tl_le64(in + 48);
    uint64_t have = len - TL_GUESTSTATE_HEADER_LEN - TL_GUESTSTATE_TAG_LEN;
    if (h->ciphertext_len != have)
        return tl_error_set(err, -EBADMSG, 48,
                            "ciphertext length %llu, but the file holds %llu (truncated or "
                            "extended)",
                            (unsigned long long)h->ciphertext_len, (unsigned long long)have);
    return 0;
}

int tl_gueststate_archive_parse(const uint8_t *in, size_t len, struct tl_gueststate_file *files,
                                size_t max, size_t *count, struct tl_error *err)
{
    *count = 0;
    if (len < ARCHIVE_HEAD)
        return tl_error_set(err, -EBADMSG, len, "archive truncated: %zu bytes", len);
    if (memcmp(in, archive_magic, sizeof(archive_magic)) != 0)
        return tl_error_set(err, -EBADMSG, 0, "archive: no TLGSARCH magic");
    uint32_t n = tl_le32(in + 8);
    if (n > TL_GUESTSTATE_FILES_MAX)
        return tl_error_set(err, -EBADMSG, 8, "archive: %u files (at most %d)", n,
                            TL_GUESTSTATE_FILES_MAX);
    if (n > max)
        return tl_error_set(err, -E2BIG, 8, "archive: %u files, room for %zu", n, max);
    size_t off = ARCHIVE_HEAD;
    for (uint32_t i = 0; i < n; i++) {
        if (len - off < 2)
            return tl_error_set(err, -EBADMSG, off, "archive: file %u: truncated name length", i);
        size_t nl = tl_le16(in + off);
        if (nl == 0 || nl > TL_GUESTSTATE_NAME_MAX)
            return tl_error_set(err, -EBADMSG, off, "archive: file %u: name length %zu", i, nl);
        off += 2;
        if (len - off < nl + 8)
            return tl_error_set(err, -EBADMSG, off, "archive: file %u: truncated name or size", i);
        struct tl_gueststate_file *f = &files[i];
        memcpy(f->name, in + off, nl);
        f->name[nl] = 0;
        if (strlen(f->name) != nl || !tl_gueststate_name_ok(f->name))
            return tl_error_set(err, -EBADMSG, off, "archive: file %u: name not allowed", i);
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(files[j].name, f->name) == 0)
                return tl_error_set(err, -EBADMSG, off, "archive: %s twice", f->name);
        off += nl;
        uint64_t size = tl_le64(in + off);
        off += 8;
        if (size > len - off)
            return tl_error_set(err, -EBADMSG, off - 8,
                                "archive: %s: %llu bytes, %zu left in the archive", f->name,
                                (unsigned long long)size, len - off);
        f->data = in + off;
        f->len = (size_t)size;
        off += (size_t)size;
    }
    if (off != len)
        return tl_error_set(err, -EBADMSG, off, "archive: %zu bytes after the last file",
                            len - off);
    *count = n;
    return 0;
}

int tl_gueststate_archive_build(const struct tl_gueststate_file *files, size_t count, uint8_t **out,
                                size_t *out_len, struct tl_error *err)
{
    *out = NULL;
    *out_len = 0;
    if (count > TL_GUESTSTATE_FILES_MAX)
        return tl_error_set_nopos(err, -E2BIG, "%zu files (at most %d)", count,
                                  TL_GUESTSTATE_FILES_MAX);
    size_t total = ARCHIVE_HEAD;
    for (size_t i = 0; i < count; i++) {
        if (!tl_gueststate_name_ok(files[i].name))
            return tl_error_set_nopos(err, -EINVAL, "\"%s\": not a name the archive takes",
                                      files[i].name);
        for (size_t j = 0; j < i; j++)
            if (strcmp(files[j].name, files[i].name) == 0)
                return tl_error_set_nopos(err, -EINVAL, "%s twice", files[i].name);
        if (files[i].len > TL_GUESTSTATE_MAX ||
            TL_GUESTSTATE_MAX - total < ENTRY_FIXED + strlen(files[i].name) + files[i].len)
            return tl_error_set_nopos(err, -E2BIG, "the state exceeds %u bytes at %s",
                                      TL_GUESTSTATE_MAX, files[i].name);
        total += ENTRY_FIXED + strlen(files[i].name) + files[i].len;
    }
    uint8_t *buf = malloc(total ? total : 1);
    if (!buf)
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    memcpy(buf, archive_magic, sizeof(archive_magic));
    put_le32(buf + 8, (uint32_t)count);
    size_t off = ARCHIVE_HEAD;
    for (size_t i = 0; i < count; i++) {
        size_t nl = strlen(files[i].name);
        buf[off] = (uint8_t)nl;
        buf[off + 1] = (uint8_t)(nl >> 8);
        memcpy(buf + off + 2, files[i].name, nl);
        put_le64(buf + off + 2 + nl, files[i].len);
        off += ENTRY_FIXED + nl;
        if (files[i].len)
            memcpy(buf + off, files[i].data, files[i].len);
        off += files[i].len;
    }
    *out = buf;
    *out_len = total;
    return 0;
}

/* AES-256-GCM, one pass: encrypt (tag out) or decrypt (tag checked). */
static int gcm(bool encrypt, const uint8_t key[TL_GUESTSTATE_KEY_LEN],
               const uint8_t nonce[TL_GUESTSTATE_NONCE_LEN], const uint8_t *aad, size_t aad_len,
               const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[TL_GUESTSTATE_TAG_LEN])
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0,
        ok = c && EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, encrypt) == 1 &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, TL_GUESTSTATE_NONCE_LEN, NULL) == 1 &&
             EVP_CipherInit_ex(c, NULL, NULL, key, nonce, encrypt) == 1 &&
             EVP_CipherUpdate(c, NULL, &n, aad, (int)aad_len) == 1;
    for (size_t off = 0; ok && off < len;) { /* int-sized steps */
        size_t step = len - off > (1u << 30) ? (1u << 30) : len - off;
        ok = EVP_CipherUpdate(c, out + off, &n, in + off, (int)step) == 1;
        off += step;
    }
    if (ok && !encrypt)
        ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TL_GUESTSTATE_TAG_LEN, tag) == 1;
    uint8_t end[16];
    ok = ok && EVP_CipherFinal_ex(c, end, &n) == 1;
    if (ok && encrypt)
        ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TL_GUESTSTATE_TAG_LEN, tag) == 1;
    EVP_CIPHER_CTX_free(c);
    return ok ? 0 : -EBADMSG;
}

int tl_gueststate_seal(const uint8_t key[TL_GUESTSTATE_KEY_LEN], const uint8_t uuid[16],
                       const uint8_t nonce[TL_GUESTSTATE_NONCE_LEN], const uint8_t *plain,
                       size_t plain_len, uint8_t **out, size_t *out_len, struct tl_error *err)
{
    *out = NULL;
    *out_len = 0;
    if (plain_len > TL_GUESTSTATE_MAX)
        return tl_error_set_nopos(err, -E2BIG, "%zu bytes (at most %u)", plain_len,
                                  TL_GUESTSTATE_MAX);
    size_t total = TL_GUESTSTATE_HEADER_LEN + plain_len + TL_GUESTSTATE_TAG_LEN;
    uint8_t *buf = calloc(1, total);
    if (!buf)
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    memcpy(buf, file_magic, sizeof(file_magic));
    put_le32(buf + 8, TL_GUESTSTATE_VERSION);
    memcpy(buf + 16, uuid, 16);
    memcpy(buf + 32, nonce, TL_GUESTSTATE_NONCE_LEN);
    put_le64(buf + 48, plain_len);
    if (gcm(true, key, nonce, buf, TL_GUESTSTATE_HEADER_LEN, plain, plain_len,
            buf + TL_GUESTSTATE_HEADER_LEN, buf + TL_GUESTSTATE_HEADER_LEN + plain_len) < 0) {
        free(buf);
        return tl_error_set_nopos(err, -EIO, "AES-256-GCM encryption failed");
    }
    *out = buf;
    *out_len = total;
    return 0;
}

int tl_gueststate_open(const uint8_t key[TL_GUESTSTATE_KEY_LEN], const uint8_t uuid[16],
                       const uint8_t *in, size_t len, uint8_t **plain, size_t *plain_len,
                       struct tl_error *err)
{
    *plain = NULL;
    *plain_len = 0;
    struct tl_gueststate_header h;
    int r = tl_gueststate_header_parse(in, len, &h, err);
    if (r < 0)
        return r;
    if (memcmp(h.uuid, uuid, 16) != 0) {
        char hex[33];
        tl_hex_encode(h.uuid, 16, hex);
        return tl_error_set(err, -EBADMSG, 16,
                            "belongs to another node (uuid %.8s-%.4s-%.4s-%.4s-%.12s)", hex,
                            hex + 8, hex + 12, hex + 16, hex + 20);
    }
    size_t n = (size_t)h.ciphertext_len;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    uint8_t tag[TL_GUESTSTATE_TAG_LEN];
    memcpy(tag, in + TL_GUESTSTATE_HEADER_LEN + n, sizeof(tag));
    if (gcm(false, key, h.nonce, in, TL_GUESTSTATE_HEADER_LEN, in + TL_GUESTSTATE_HEADER_LEN, n,
            buf, tag) < 0) {
        OPENSSL_cleanse(buf, n);
        free(buf);
        return tl_error_set_nopos(err, -EBADMSG,
                                  "authentication failed: a wrong key, or the file was altered");
    }
    *plain = buf;
    *plain_len = n;
    return 0;
}
