/* EFI signature databases (UEFI 2.10, 32.4.1 "Signature Database"): the
 * content of PK, KEK, db, dbx (and shim's MokList), a concatenation of
 * EFI_SIGNATURE_LISTs:
 *
 *   SignatureType        GUID  16   what every entry of the list holds
 *   SignatureListSize    u32    4   whole list, this header included
 *   SignatureHeaderSize  u32    4
 *   SignatureSize        u32    4   one EFI_SIGNATURE_DATA
 *   SignatureHeader      SignatureHeaderSize bytes
 *   Signatures           (ListSize - 28 - HeaderSize) / SignatureSize entries of
 *       SignatureOwner   GUID  16
 *       SignatureData    SignatureSize - 16 bytes
 *
 * Every list is validated before any of its entries is read: it must fit in
 * what is left of the input, its header and entries must tile it exactly,
 * and the types whose data has a fixed size (the hashes, RSA-2048) must have
 * exactly that size and an empty SignatureHeader (the spec's table in 32.4.1
 * gives every defined type a header size of 0). An unknown SignatureType is
 * not an error: its entries are kept as TL_SIG_UNKNOWN so a policy can see
 * and judge them.
 *
 * EFI_CERT_X509_SHA256/384/512 entries hold the hash of a certificate's
 * TBSCertificate followed by an EFI_TIME TimeOfRevocation (16 bytes). For
 * those, data/data_len cover the hash only, so that data_len is the hash
 * size for every hash kind; the revocation time is at data + data_len.
 *
 * Entries point into the caller's buffer; offsets are from its start. */
#include "tl/efi.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tl/util.h"

#define LIST_HEADER_SIZE 28 /* SignatureType + three u32 */
#define OWNER_SIZE       16
#define EFI_TIME_SIZE    16

struct sig_type {
    const tl_guid *guid;
    enum tl_sig_kind kind;
    const char *name;
    size_t data_size; /* SignatureData size, 0 when variable (DER) */
    size_t hash_size; /* the part exposed as data */
};

static const struct sig_type sig_types[] = {
    {&TL_EFI_CERT_X509_GUID, TL_SIG_X509, "x509", 0, 0},
    {&TL_EFI_CERT_SHA256_GUID, TL_SIG_SHA256, "sha256", 32, 32},
    {&TL_EFI_CERT_SHA1_GUID, TL_SIG_SHA1, "sha1", 20, 20},
    {&TL_EFI_CERT_SHA384_GUID, TL_SIG_SHA384, "sha384", 48, 48},
    {&TL_EFI_CERT_SHA512_GUID, TL_SIG_SHA512, "sha512", 64, 64},
    {&TL_EFI_CERT_X509_SHA256_GUID, TL_SIG_X509_SHA256, "x509-sha256", 32 + EFI_TIME_SIZE, 32},
    {&TL_EFI_CERT_X509_SHA384_GUID, TL_SIG_X509_SHA384, "x509-sha384", 48 + EFI_TIME_SIZE, 48},
    {&TL_EFI_CERT_X509_SHA512_GUID, TL_SIG_X509_SHA512, "x509-sha512", 64 + EFI_TIME_SIZE, 64},
    {&TL_EFI_CERT_RSA2048_GUID, TL_SIG_RSA2048, "rsa2048", 256, 256},
};

static const struct sig_type *sig_type_by_guid(const tl_guid *type)
{
    for (size_t i = 0; i < TL_ARRAY_SIZE(sig_types); i++)
        if (tl_guid_equal(sig_types[i].guid, type))
            return &sig_types[i];
    return NULL;
}

enum tl_sig_kind tl_sig_kind_from_guid(const tl_guid *type)
{
    const struct sig_type *t = sig_type_by_guid(type);
    return t ? t->kind : TL_SIG_UNKNOWN;
}

const char *tl_sig_kind_name(enum tl_sig_kind kind)
{
    for (size_t i = 0; i < TL_ARRAY_SIZE(sig_types); i++)
        if (sig_types[i].kind == kind)
            return sig_types[i].name;
    return "unknown";
}

/* Validates the list at buf[off] (index idx) and returns its entry count. */
static int check_list(const uint8_t *buf, size_t len, size_t off, size_t idx, size_t *n_entries,
                      struct tl_error *err)
{
    size_t left = len - off;
    if (left < LIST_HEADER_SIZE)
        return tl_error_set(err, -EBADMSG, off,
                            "signature list %zu: %zu bytes left, shorter than the %d-byte header",
                            idx, left, LIST_HEADER_SIZE);

    const uint8_t *p = buf + off;
    tl_guid type = tl_guid_read(p);
    uint32_t list_size = tl_le32(p + 16);
    uint32_t header_size = tl_le32(p + 20);
    uint32_t sig_size = tl_le32(p + 24);

    if (list_size > left)
        return tl_error_set(err, -EBADMSG, off + 16,
                            "signature list %zu: SignatureListSize %u overruns the %zu bytes left",
                            idx, list_size, left);
    if (list_size < LIST_HEADER_SIZE)
        return tl_error_set(err, -EBADMSG, off + 16,
                            "signature list %zu: SignatureListSize %u smaller than its header", idx,
                            list_size);
    if (header_size > list_size - LIST_HEADER_SIZE)
        return tl_error_set(
            err, -EBADMSG, off + 20,
            "signature list %zu: SignatureHeaderSize %u overruns SignatureListSize %u", idx,
            header_size, list_size);
    if (sig_size <= OWNER_SIZE)
        return tl_error_set(err, -EBADMSG, off + 24,
                            "signature list %zu: SignatureSize %u too small", idx, sig_size);

    size_t body = list_size - LIST_HEADER_SIZE - header_size;
    if (body % sig_size != 0)
        return tl_error_set(err, -EBADMSG, off + 24,
                            "signature list %zu: %zu bytes of signatures are not a multiple of "
                            "SignatureSize %u",
                            idx, body, sig_size);

    const struct sig_type *t = sig_type_by_guid(&type);
    if (t && t->data_size != 0 && sig_size != OWNER_SIZE + t->data_size)
        return tl_error_set(err, -EBADMSG, off + 24,
                            "signature list %zu: SignatureSize %u for %s, expected %zu", idx,
                            sig_size, t->name, OWNER_SIZE + t->data_size);
    if (t && header_size != 0)
        return tl_error_set(err, -EBADMSG, off + 20,
                            "signature list %zu: SignatureHeaderSize %u for %s, expected 0", idx,
                            header_size, t->name);

    *n_entries = body / sig_size;
    return 0;
}

int tl_sig_db_parse(const uint8_t *buf, size_t len, struct tl_sig_db *db, struct tl_error *err)
{
    int r;

    /* Pass 1: validate every list and count the entries, so that pass 2
     * reads only checked data and allocates once. */
    size_t n_lists = 0, n_entries = 0;
    for (size_t off = 0; off < len; n_lists++) {
        size_t n = 0;
        r = check_list(buf, len, off, n_lists, &n, err);
        if (r < 0)
            return r;
        n_entries += n;
        off += tl_le32(buf + off + 16);
    }

    _cleanup_free_ struct tl_sig_entry *entries = NULL;
    if (n_entries > 0) {
        entries = calloc(n_entries, sizeof(*entries));
        if (!entries)
            return tl_error_set_nopos(err, -ENOMEM, "out of memory for %zu signatures", n_entries);
    }

    size_t k = 0;
    for (size_t off = 0; off < len;) {
        const uint8_t *p = buf + off;
        tl_guid type = tl_guid_read(p);
        uint32_t list_size = tl_le32(p + 16);
        uint32_t header_size = tl_le32(p + 20);
        uint32_t sig_size = tl_le32(p + 24);
        const struct sig_type *t = sig_type_by_guid(&type);

        for (size_t e = off + LIST_HEADER_SIZE + header_size; e < off + list_size; e += sig_size) {
            entries[k++] = (struct tl_sig_entry){
                .kind = t ? t->kind : TL_SIG_UNKNOWN,
                .type = type,
                .owner = tl_guid_read(buf + e),
                .data = buf + e + OWNER_SIZE,
                .data_len = t && t->hash_size ? t->hash_size : sig_size - OWNER_SIZE,
                .offset = e,
            };
        }
        off += list_size;
    }

    *db = (struct tl_sig_db){
        .entries = TL_TAKE_PTR(entries),
        .n_entries = n_entries,
        .n_lists = n_lists,
    };
    return 0;
}

void tl_sig_db_done(struct tl_sig_db *db)
{
    if (!db)
        return;
    free(db->entries);
    *db = (struct tl_sig_db){0};
}

int tl_sig_list_append(uint8_t **buf, size_t *len, enum tl_sig_kind kind, const tl_guid *owner,
                       const uint8_t *data, size_t data_len)
{
    const struct sig_type *t = NULL;
    for (size_t i = 0; i < TL_ARRAY_SIZE(sig_types); i++)
        if (sig_types[i].kind == kind)
            t = &sig_types[i];
    if (!t || (t->data_size && t->data_size != data_len) || data_len == 0 ||
        data_len > UINT32_MAX - 16 - 28)
        return -EINVAL;
    /* EFI_SIGNATURE_LIST header (28) + one EFI_SIGNATURE_DATA (owner + data) */
    size_t sig_size = 16 + data_len, list_size = 28 + sig_size;
    uint8_t *n = realloc(*buf, *len + list_size);
    if (!n)
        return -ENOMEM;
    uint8_t *p = n + *len;
    memcpy(p, t->guid->b, 16);
    for (int i = 0; i < 4; i++) {
        p[16 + i] = (uint8_t)(list_size >> (8 * i));
        p[20 + i] = 0;
        p[24 + i] = (uint8_t)(sig_size >> (8 * i));
    }
    memcpy(p + 28, owner->b, 16);
    memcpy(p + 44, data, data_len);
    *buf = n;
    *len += list_size;
    return 0;
}
