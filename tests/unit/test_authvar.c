/* Unit tests for lib/secureboot/authvar.c: EFI_VARIABLE_AUTHENTICATION_2
 * parsing and verification (UEFI 2.10, 8.2.2) and the APPEND_WRITE merge of
 * signature databases (UEFI 2.10, 8.2.1; EFI_SIGNATURE_LIST 32.4.1).
 *
 * The data is real: Microsoft's signed db/dbx updates, the Microsoft
 * certificates (DER, as go-tpm-tools ships them) and a dbx read out of a real
 * machine's efivarfs. What we found out about them, and assert:
 *
 *  - every update was signed with Attributes 0x67 (NV | BS | RT |
 *    TIME_BASED_AUTHENTICATED_WRITE_ACCESS | APPEND_WRITE); with 0x27 the
 *    signature does not match;
 *  - the signer is "Microsoft Windows UEFI Key Exchange Key", issued by
 *    "Microsoft Corporation KEK CA 2011" (the KEK entry it chains to); the
 *    PKCS#7 also carries the KEK CA, issued by the Third Party Marketplace
 *    Root, which a partial chain does not need;
 *  - CertData is a bare SignedData (no ContentInfo), no signed attributes;
 *  - the expected counts were computed with a separate Python decoder
 *    (EDK2's FilterSignatureList rewritten in a few lines) and are also
 *    recomputed here from tl_sig_db entries.
 *
 * Malformed-input tests copy into exact-size allocations so that ASan
 * catches any read past the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <errno.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl/authvar.h"
#include "tl/efi.h"
#include "tl/util.h"
#include "vectors.h"

#define DBX_2014    "secureboot/dbx/dbxupdate-2014-08-11.bin"
#define DBX_2020    "secureboot/dbx/dbxupdate_x64-2020-10-12.bin"
#define DBX_2021    "secureboot/dbx/dbxupdate_x64-2021-04-29.bin"
#define DBX_LATEST  "secureboot/dbx/microsoft-DBXUpdate-amd64.bin"
#define DB_2023     "secureboot/dbx/microsoft-DBUpdate3P2023.bin"
#define KEK_CA      "secureboot/certs/MicCorKEKCA2011_2011-06-24.crt"
#define PCA_2011    "secureboot/certs/MicWinProPCA2011_2011-10-19.crt"
#define UEFI_CA     "secureboot/certs/MicCorUEFCA2011_2011-06-27.crt"
#define EFIVARS_DBX "secureboot/efivars-shim-test/dbx-d719b2cb-3d3a-4596-a3bc-dad00e67656f"

#define ATTR_NV_BS_RT_TBAW 0x27 /* NON_VOLATILE | BOOTSERVICE | RUNTIME | TIME_BASED_AUTH */
#define ATTR_APPEND        0x40

#define SIGNER_CN "CN=Microsoft Windows UEFI Key Exchange Key"
#define ANCHOR_CN "CN=Microsoft Corporation KEK CA 2011"

/* SignatureOwner of every Microsoft entry: 77fa9abd-0359-4d32-bd60-28f4e78f784b */
static const uint8_t MS_OWNER[16] = {0xbd, 0x9a, 0xfa, 0x77, 0x59, 0x03, 0x32, 0x4d,
                                     0xbd, 0x60, 0x28, 0xf4, 0xe7, 0x8f, 0x78, 0x4b};

/* ---- helpers ---- */

/* A growable byte buffer to build signature lists in. */
struct bytes {
    uint8_t *p;
    size_t len;
};

static void bytes_put(struct bytes *b, const void *p, size_t n)
{
    b->p = realloc(b->p, b->len + n + 1);
    assert_non_null(b->p);
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

static void bytes_le32(struct bytes *b, uint32_t v)
{
    uint8_t le[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    bytes_put(b, le, 4);
}

/* Appends an EFI_SIGNATURE_LIST (UEFI 32.4.1) with n entries of `size`
 * bytes of SignatureData each. */
static void put_list(struct bytes *b, const tl_guid *type, const uint8_t owners[][16],
                     const uint8_t *const *data, size_t size, size_t n)
{
    bytes_put(b, type->b, 16);
    bytes_le32(b, (uint32_t)(28 + n * (16 + size)));
    bytes_le32(b, 0);
    bytes_le32(b, (uint32_t)(16 + size));
    for (size_t i = 0; i < n; i++) {
        bytes_put(b, owners[i], 16);
        bytes_put(b, data[i], size);
    }
}

/* Appends a one-entry X.509 list holding a certificate vector. */
static void put_cert(struct bytes *b, const char *rel)
{
    size_t len;
    uint8_t *der = vector_read(rel, &len);
    /* go-tpm-tools ships them DER (SEQUENCE, long length), not PEM. */
    assert_true(len > 4 && der[0] == 0x30 && der[1] == 0x82);
    const uint8_t *data[1] = {der};
    put_list(b, &TL_EFI_CERT_X509_GUID, &MS_OWNER, data, len, 1);
    free(der);
}

/* A database to verify against, kept with the buffer its entries point to. */
struct authority {
    struct bytes buf;
    struct tl_sig_db db;
};

static void authority_parse(struct authority *a)
{
    struct tl_error err = {0};
    assert_int_equal(tl_sig_db_parse(a->buf.p, a->buf.len, &a->db, &err), 0);
}

static void authority_one(struct authority *a, const char *cert)
{
    *a = (struct authority){0};
    put_cert(&a->buf, cert);
    authority_parse(a);
    assert_int_equal(a->db.n_entries, 1);
    assert_int_equal(a->db.entries[0].kind, TL_SIG_X509);
}

static void authority_done(struct authority *a)
{
    tl_sig_db_done(&a->db);
    free(a->buf.p);
}

/* An update file read whole into an exact-size buffer and parsed. */
struct update {
    uint8_t *buf;
    size_t len;
    struct tl_auth2 auth;
};

static void update_read(struct update *u, const char *rel)
{
    struct tl_error err = {0};
    u->buf = vector_read(rel, &u->len);
    int r = tl_auth2_parse(u->buf, u->len, &u->auth, &err);
    if (r < 0)
        fail_msg("%s: %s", rel, err.message);
}

static int verify(const struct tl_auth2 *a, const char *name, uint32_t attributes,
                  const struct authority *auth, struct tl_auth2_verdict *v)
{
    return tl_auth2_verify(a, name, &TL_EFI_IMAGE_SECURITY_DB_GUID, attributes, &auth->db, v, NULL);
}

static size_t count_kind(const struct tl_sig_db *db, enum tl_sig_kind kind)
{
    size_t n = 0;
    for (size_t i = 0; i < db->n_entries; i++)
        n += db->entries[i].kind == kind;
    return n;
}

static size_t n_entries(const uint8_t *buf, size_t len, size_t *n_lists);

/* ---- tl_auth2_parse ---- */

static void test_parse_real(void **state)
{
    (void)state;
    static const struct {
        const char *rel;
        uint32_t dw_length;
        size_t n_lists, n_x509, n_sha256;
    } files[] = {
        {DBX_2014, 0x0d0f, 1, 0, 13},  {DBX_2020, 0x0d01, 4, 3, 183},
        {DBX_2021, 0x0d01, 1, 0, 211}, {DBX_LATEST, 0x0cf9, 1, 0, 443},
        {DB_2023, 0x0cf9, 1, 1, 0},
    };
    /* 2010-03-06 19:17:21, every other field zero: Microsoft's fixed stamp. */
    static const uint8_t stamp[16] = {0xda, 0x07, 0x03, 0x06, 0x13, 0x11, 0x15};

    for (size_t i = 0; i < TL_ARRAY_SIZE(files); i++) {
        struct update u;
        update_read(&u, files[i].rel);
        assert_memory_equal(u.auth.timestamp, stamp, 16);
        assert_ptr_equal(u.auth.pkcs7, u.buf + 40);
        assert_int_equal(u.auth.pkcs7_len, files[i].dw_length - 24);
        assert_ptr_equal(u.auth.data, u.buf + 16 + files[i].dw_length);
        assert_int_equal(u.auth.data_len, u.len - 16 - files[i].dw_length);
        /* Bare SignedData: SEQUENCE { INTEGER 1, ... }, no ContentInfo. */
        assert_memory_equal(u.auth.pkcs7 + 4, "\x02\x01\x01", 3);

        struct tl_sig_db db;
        struct tl_error err = {0};
        assert_int_equal(tl_sig_db_parse(u.auth.data, u.auth.data_len, &db, &err), 0);
        assert_int_equal(db.n_lists, files[i].n_lists);
        assert_int_equal(count_kind(&db, TL_SIG_X509), files[i].n_x509);
        assert_int_equal(count_kind(&db, TL_SIG_SHA256), files[i].n_sha256);
        assert_int_equal(db.n_entries, files[i].n_x509 + files[i].n_sha256);
        tl_sig_db_done(&db);
        free(u.buf);
    }
}

static void test_parse_errors(void **state)
{
    (void)state;
    size_t len;
    uint8_t *orig = vector_read(DBX_2021, &len);
    uint8_t *b = dup_exact(orig, len);
    struct tl_auth2 a;
    struct tl_error err = {0};

    b[20] = 0x01; /* wRevision 0x0201 */
    assert_int_equal(tl_auth2_parse(b, len, &a, &err), -EBADMSG);
    assert_non_null(strstr(err.message, "wRevision 0x0201"));
    assert_int_equal(err.offset, 20);

    memcpy(b, orig, len);
    b[22] = 0x02; /* WIN_CERT_TYPE_PKCS_SIGNED_DATA */
    b[23] = 0x00;
    assert_int_equal(tl_auth2_parse(b, len, &a, &err), -EBADMSG);
    assert_non_null(strstr(err.message, "wCertificateType 0x0002"));

    memcpy(b, orig, len);
    b[24] ^= 0xff; /* CertType no longer EFI_CERT_TYPE_PKCS7_GUID */
    assert_int_equal(tl_auth2_parse(b, len, &a, &err), -EBADMSG);
    assert_non_null(strstr(err.message, "CertType 4aafd262-68df-49ee-8aa9-347d375665a7"));
    assert_non_null(strstr(err.message, "EFI_CERT_TYPE_PKCS7_GUID"));

    memcpy(b, orig, len);
    b[16] = 23; /* dwLength shorter than the WIN_CERTIFICATE_UEFI_GUID header */
    b[17] = b[18] = b[19] = 0;
    assert_int_equal(tl_auth2_parse(b, len, &a, &err), -EBADMSG);
    assert_non_null(strstr(err.message, "dwLength 23"));

    b[16] = 24; /* ... exactly the header: no CertData */
    assert_int_equal(tl_auth2_parse(b, len, &a, &err), -EBADMSG);
    assert_non_null(strstr(err.message, "no room for the PKCS#7"));

    memcpy(b, orig, len);
    uint32_t over = (uint32_t)(len - 16 + 1);
    memcpy(b + 16, (uint8_t[4]){(uint8_t)over, (uint8_t)(over >> 8), 0, 0}, 4);
    assert_int_equal(tl_auth2_parse(b, len, &a, &err), -EBADMSG);
    assert_non_null(strstr(err.message, "overruns"));

    /* dwLength reaching exactly the end: a valid header with no payload. */
    over--;
    memcpy(b + 16, (uint8_t[4]){(uint8_t)over, (uint8_t)(over >> 8), 0, 0}, 4);
    assert_int_equal(tl_auth2_parse(b, len, &a, &err), 0);
    assert_int_equal(a.data_len, 0);

    free(b);
    free(orig);
}

/* ---- tl_auth2_verify ---- */

static void test_verify_dbx_updates(void **state)
{
    (void)state;
    static const char *const files[] = {DBX_2014, DBX_2020, DBX_2021, DBX_LATEST};
    struct authority kek;
    authority_one(&kek, KEK_CA);

    for (size_t i = 0; i < TL_ARRAY_SIZE(files); i++) {
        struct update u;
        struct tl_auth2_verdict v;
        update_read(&u, files[i]);

        assert_int_equal(verify(&u.auth, "dbx", ATTR_NV_BS_RT_TBAW | ATTR_APPEND, &kek, &v), 0);
        assert_int_equal(v.signer_entry, 0);
        assert_string_equal(v.reason, "");
        assert_non_null(strstr(v.signer_subject, SIGNER_CN));
        assert_non_null(strstr(v.signer_subject, "O=Microsoft Corporation"));
        assert_non_null(strstr(v.anchor_subject, ANCHOR_CN));

        /* Microsoft signed them as appends: without APPEND_WRITE the signed
         * bytes differ. */
        assert_int_equal(verify(&u.auth, "dbx", ATTR_NV_BS_RT_TBAW, &kek, &v), 1);
        assert_int_equal(v.signer_entry, -1);
        assert_non_null(strstr(v.reason, "signature does not match the data"));
        assert_non_null(strstr(v.signer_subject, SIGNER_CN));

        free(u.buf);
    }
    authority_done(&kek);
}

static void test_verify_db_update(void **state)
{
    (void)state;
    struct authority kek;
    authority_one(&kek, KEK_CA);
    struct update u;
    struct tl_auth2_verdict v;
    update_read(&u, DB_2023);

    assert_int_equal(verify(&u.auth, "db", 0x67, &kek, &v), 0);
    assert_int_equal(v.signer_entry, 0);
    assert_non_null(strstr(v.signer_subject, SIGNER_CN));
    assert_non_null(strstr(v.anchor_subject, ANCHOR_CN));
    /* The db update cannot be replayed as a dbx update. */
    assert_int_equal(verify(&u.auth, "dbx", 0x67, &kek, &v), 1);
    assert_non_null(strstr(v.reason, "signature does not match"));

    free(u.buf);
    authority_done(&kek);
}

/* signer_entry is the index of the anchor among all the entries of the
 * authorising database, whatever kinds come before it. */
static void test_verify_anchor_index(void **state)
{
    (void)state;
    struct authority kek = {0};
    uint8_t hash[32] = {1, 2, 3};
    const uint8_t *hashes[2] = {hash, hash};
    const uint8_t owners[2][16] = {{0}, {1}};
    put_list(&kek.buf, &TL_EFI_CERT_SHA256_GUID, owners, hashes, 32, 2);
    put_cert(&kek.buf, PCA_2011);
    put_cert(&kek.buf, UEFI_CA);
    put_cert(&kek.buf, KEK_CA);
    authority_parse(&kek);
    assert_int_equal(kek.db.n_entries, 5);

    struct update u;
    struct tl_auth2_verdict v;
    update_read(&u, DBX_2020);
    assert_int_equal(verify(&u.auth, "dbx", 0x67, &kek, &v), 0);
    assert_int_equal(v.signer_entry, 4);
    assert_non_null(strstr(v.anchor_subject, ANCHOR_CN));
    authority_done(&kek);

    /* The signer's own certificate as the only entry: a chain of one. It is
     * the first certificate of the PKCS#7 (CertData 41, 4 + 1288 bytes). */
    assert_memory_equal(u.auth.pkcs7 + 41, "\x30\x82\x05\x08", 4);
    kek = (struct authority){0};
    const uint8_t *signer[1] = {u.auth.pkcs7 + 41};
    put_list(&kek.buf, &TL_EFI_CERT_X509_GUID, &MS_OWNER, signer, 4 + 1288, 1);
    authority_parse(&kek);
    assert_int_equal(verify(&u.auth, "dbx", 0x67, &kek, &v), 0);
    assert_int_equal(v.signer_entry, 0);
    assert_string_equal(v.anchor_subject, v.signer_subject);
    assert_non_null(strstr(v.anchor_subject, SIGNER_CN));

    free(u.buf);
    authority_done(&kek);
}

static void test_verify_untrusted(void **state)
{
    (void)state;
    struct update u;
    struct tl_auth2_verdict v;
    update_read(&u, DBX_2020);

    /* A database holding only the Windows PCA: a valid signature whose
     * signer does not chain to it. */
    struct authority pca;
    authority_one(&pca, PCA_2011);
    ERR_clear_error();
    assert_int_equal(verify(&u.auth, "dbx", 0x67, &pca, &v), 1);
    /* OpenSSL's error queue is left as it was. */
    assert_int_equal(ERR_peek_error(), 0);
    assert_int_equal(v.signer_entry, -1);
    assert_non_null(strstr(v.signer_subject, SIGNER_CN));
    assert_string_equal(v.anchor_subject, "");
    assert_non_null(strstr(v.reason, "signed by " SIGNER_CN));
    assert_non_null(strstr(v.reason, "which does not chain to any KEK entry"));
    authority_done(&pca);

    /* No X.509 entry at all. */
    struct authority empty = {0};
    authority_parse(&empty);
    assert_int_equal(verify(&u.auth, "dbx", 0x67, &empty, &v), 1);
    assert_non_null(strstr(v.reason, "KEK holds no X.509 certificate"));
    authority_done(&empty);

    /* An X.509 entry that is not a certificate trusts nothing. */
    struct authority junk = {0};
    const uint8_t *data[1] = {(const uint8_t *)"not a certificate"};
    put_list(&junk.buf, &TL_EFI_CERT_X509_GUID, &MS_OWNER, data, 17, 1);
    authority_parse(&junk);
    assert_int_equal(verify(&u.auth, "dbx", 0x67, &junk, &v), 1);
    assert_non_null(strstr(v.reason, "does not chain"));
    authority_done(&junk);

    free(u.buf);
}

static void test_verify_wrong_variable(void **state)
{
    (void)state;
    struct authority kek;
    authority_one(&kek, KEK_CA);
    struct update u;
    struct tl_auth2_verdict v;
    struct tl_error err = {0};
    update_read(&u, DBX_2021);

    assert_int_equal(verify(&u.auth, "db", 0x67, &kek, &v), 1);
    assert_non_null(strstr(v.reason, "signature does not match the data"));
    assert_int_equal(verify(&u.auth, "DBX", 0x67, &kek, &v), 1);
    assert_int_equal(
        tl_auth2_verify(&u.auth, "dbx", &TL_EFI_GLOBAL_VARIABLE_GUID, 0x67, &kek.db, &v, &err), 1);
    assert_non_null(strstr(v.reason, "signature does not match the data"));

    /* Not an authenticated write at all. */
    assert_int_equal(verify(&u.auth, "dbx", 0x47, &kek, &v), 1);
    assert_non_null(strstr(v.reason, "TIME_BASED_AUTHENTICATED_WRITE_ACCESS"));

    /* Caller errors. */
    assert_int_equal(
        tl_auth2_verify(&u.auth, "", &TL_EFI_IMAGE_SECURITY_DB_GUID, 0x67, &kek.db, &v, &err),
        -EINVAL);
    assert_int_equal(tl_auth2_verify(&u.auth, "db\xc3\xa9", &TL_EFI_IMAGE_SECURITY_DB_GUID, 0x67,
                                     &kek.db, &v, &err),
                     -EINVAL);

    free(u.buf);
    authority_done(&kek);
}

static void test_verify_tampered(void **state)
{
    (void)state;
    struct authority kek;
    authority_one(&kek, KEK_CA);
    size_t len;
    uint8_t *orig = vector_read(DBX_2020, &len);
    uint8_t *b = dup_exact(orig, len);
    struct tl_auth2 a;
    struct tl_auth2_verdict v;
    struct tl_error err = {0};
    const size_t payload = 16 + 0x0d01, certdata = 40;

    /* One payload byte: the first, one in the middle, the last. */
    const size_t flips[] = {payload, payload + (len - payload) / 2, len - 1};
    for (size_t i = 0; i < TL_ARRAY_SIZE(flips); i++) {
        memcpy(b, orig, len);
        b[flips[i]] ^= 0x01;
        assert_int_equal(tl_auth2_parse(b, len, &a, &err), 0);
        assert_int_equal(verify(&a, "dbx", 0x67, &kek, &v), 1);
        assert_non_null(strstr(v.reason, "signature does not match the data"));
    }

    /* The TimeStamp's year is covered by the signature... */
    memcpy(b, orig, len);
    b[0] ^= 0x01;
    assert_int_equal(tl_auth2_parse(b, len, &a, &err), 0);
    assert_int_equal(verify(&a, "dbx", 0x67, &kek, &v), 1);
    assert_non_null(strstr(v.reason, "signature does not match"));
    /* ... and the fields 8.2.2 wants zero are refused before it. */
    memcpy(b, orig, len);
    b[8] = 1; /* Nanosecond */
    assert_int_equal(tl_auth2_parse(b, len, &a, &err), 0);
    assert_int_equal(verify(&a, "dbx", 0x67, &kek, &v), 1);
    assert_non_null(strstr(v.reason, "Nanosecond"));

    /* The RSA signature is the last 256 bytes of CertData (no signed
     * attributes): any change there fails it. */
    for (size_t off = payload - 256; off < payload; off += 17) {
        memcpy(b, orig, len);
        b[off] ^= 0x80;
        assert_int_equal(tl_auth2_parse(b, len, &a, &err), 0);
        assert_int_equal(verify(&a, "dbx", 0x67, &kek, &v), 1);
    }

    /* Every byte of CertData flipped in turn: never a crash, and never
     * accepted when the byte is one the verdict rests on: the signer's
     * certificate (CertData 41..1333), the SignerInfo's issuerAndSerialNumber
     * (2860..3015), digest algorithm OID (3015..3028) and encryptedDigest
     * (3045..3305). Other bytes are not covered by the signature and OpenSSL
     * (so EDK2) ignores some of them: the versions of SignedData (6) and
     * SignerInfo (2859), the NULL digest parameters (22, 3028), the
     * contentType OID (28..37: without signed attributes nothing binds it),
     * the digestEncryptionAlgorithm OID (3034..3043; the key comes from the
     * certificate), and the KEK CA copy the PKCS#7 carries (1333..2849: the
     * trusted copy from the database is used instead). */
    static const size_t must_fail[][2] = {{41, 1333}, {2860, 3015}, {3015, 3028}, {3045, 3305}};
    size_t n_accepted = 0, n_malformed = 0;
    for (size_t off = certdata; off < payload; off++) {
        memcpy(b, orig, len);
        b[off] ^= 0x01;
        assert_int_equal(tl_auth2_parse(b, len, &a, &err), 0);
        int r = verify(&a, "dbx", 0x67, &kek, &v);
        assert_true(r == 0 || r == 1 || r == -EBADMSG);
        size_t rel = off - certdata;
        if (r == 0) {
            n_accepted++;
            for (size_t k = 0; k < TL_ARRAY_SIZE(must_fail); k++)
                if (rel >= must_fail[k][0] && rel < must_fail[k][1])
                    fail_msg("flipping CertData byte %zu still verifies", rel);
        }
        n_malformed += r < 0;
    }
    print_message("CertData bit flips: %zu still verify, %zu malformed, of %zu\n", n_accepted,
                  n_malformed, payload - certdata);

    free(b);
    free(orig);
    authority_done(&kek);
}

/* Appends DER length n at w; returns its size. */
static size_t der_len(uint8_t *w, size_t n)
{
    if (n < 0x80) {
        w[0] = (uint8_t)n;
        return 1;
    }
    w[0] = 0x82;
    w[1] = (uint8_t)(n >> 8);
    w[2] = (uint8_t)n;
    return 3;
}

/* The same signature with the ContentInfo wrapper EDK2 adds, and a few
 * ways CertData can be broken. */
static void test_verify_wrapped_and_malformed(void **state)
{
    (void)state;
    struct authority kek;
    authority_one(&kek, KEK_CA);
    struct update u;
    struct tl_auth2_verdict v;
    struct tl_error err = {0};
    update_read(&u, DBX_2021);

    static const uint8_t oid[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02};
    size_t sd = u.auth.pkcs7_len;
    uint8_t *w = malloc(sd + 32);
    assert_non_null(w);
    size_t n = 0;
    w[n++] = 0x30;
    n += der_len(w + n, sizeof(oid) + 1 + 3 + sd);
    memcpy(w + n, oid, sizeof(oid));
    n += sizeof(oid);
    w[n++] = 0xa0;
    n += der_len(w + n, sd);
    memcpy(w + n, u.auth.pkcs7, sd);
    n += sd;
    uint8_t *wrapped = dup_exact(w, n);
    free(w);

    struct tl_auth2 a = u.auth;
    a.pkcs7 = wrapped;
    a.pkcs7_len = n;
    assert_int_equal(verify(&a, "dbx", 0x67, &kek, &v), 0);
    assert_non_null(strstr(v.anchor_subject, ANCHOR_CN));
    /* A trailing byte after the ContentInfo. */
    a.pkcs7_len = n - 1;
    assert_int_equal(verify(&a, "dbx", 0x67, &kek, &v), -EBADMSG);
    free(wrapped);

    /* Bare SignedData followed by a byte: not covered by anything. */
    uint8_t *longer = malloc(sd + 1);
    assert_non_null(longer);
    memcpy(longer, u.auth.pkcs7, sd);
    longer[sd] = 0;
    a = u.auth;
    a.pkcs7 = longer;
    a.pkcs7_len = sd + 1;
    assert_int_equal(
        tl_auth2_verify(&a, "dbx", &TL_EFI_IMAGE_SECURITY_DB_GUID, 0x67, &kek.db, &v, &err),
        -EBADMSG);
    assert_non_null(strstr(err.message, "1 bytes after the PKCS#7 SignedData"));
    /* Not a SEQUENCE. */
    longer[0] = 0x31;
    a.pkcs7_len = sd;
    assert_int_equal(verify(&a, "dbx", 0x67, &kek, &v), -EBADMSG);
    /* A SEQUENCE starting with neither OID nor INTEGER. */
    memcpy(longer, u.auth.pkcs7, sd);
    longer[4] = 0x04;
    assert_int_equal(
        tl_auth2_verify(&a, "dbx", &TL_EFI_IMAGE_SECURITY_DB_GUID, 0x67, &kek.db, &v, &err),
        -EBADMSG);
    assert_non_null(strstr(err.message, "neither a ContentInfo nor a SignedData"));
    /* Every truncation of CertData. */
    for (size_t k = 0; k < sd; k++) {
        uint8_t *t = dup_exact(u.auth.pkcs7, k);
        a.pkcs7 = t;
        a.pkcs7_len = k;
        int r = tl_auth2_verify(&a, "dbx", &TL_EFI_IMAGE_SECURITY_DB_GUID, 0x67, &kek.db, &v, &err);
        assert_int_equal(r, k == 0 ? -EINVAL : -EBADMSG);
        free(t);
    }
    free(longer);
    free(u.buf);
    authority_done(&kek);
}

/* Every truncation of the first 4 KiB and every 512th after: the header
 * and CertData (the first 16 + 0x0d01 bytes) must be whole, so parse
 * fails; past them the payload is cut, so its signature lists fail to parse
 * or, cut exactly at a list boundary, no longer match the signature. */
static void test_every_truncation(void **state)
{
    (void)state;
    struct authority kek;
    authority_one(&kek, KEK_CA);
    size_t len;
    uint8_t *orig = vector_read(DBX_2020, &len);
    const size_t header = 16 + 0x0d01;
    size_t n_parse = 0, n_lists = 0, n_sig = 0;

    for (size_t n = 0; n < len; n += n < 4096 ? 1 : 512) {
        uint8_t *b = dup_exact(orig, n);
        struct tl_auth2 a;
        struct tl_error err = {0};
        int r = tl_auth2_parse(b, n, &a, &err);
        if (n < header) {
            assert_int_equal(r, -EBADMSG);
            n_parse++;
        } else {
            assert_int_equal(r, 0);
            struct tl_sig_db db;
            r = tl_sig_db_parse(a.data, a.data_len, &db, &err);
            if (r < 0) {
                assert_int_equal(r, -EBADMSG);
                n_lists++;
            } else {
                tl_sig_db_done(&db);
                struct tl_auth2_verdict v;
                assert_int_equal(verify(&a, "dbx", 0x67, &kek, &v), 1);
                n_sig++;
            }
        }
        free(b);
    }
    /* 3345 header cuts; of the cuts at list boundaries only 3345 (empty
     * payload) is on the grid. */
    assert_int_equal(n_parse, header);
    assert_int_equal(n_sig, 1);

    /* Cut after each of the three X.509 lists: valid lists, no signature. */
    const size_t boundaries[] = {header + 1104, header + 1104 + 1208, header + 1104 + 1208 + 812};
    for (size_t i = 0; i < TL_ARRAY_SIZE(boundaries); i++) {
        uint8_t *b = dup_exact(orig, boundaries[i]);
        struct tl_auth2 a;
        struct tl_auth2_verdict v;
        assert_int_equal(tl_auth2_parse(b, boundaries[i], &a, NULL), 0);
        assert_int_equal(n_entries(a.data, a.data_len, NULL), i + 1);
        assert_int_equal(verify(&a, "dbx", 0x67, &kek, &v), 1);
        assert_non_null(strstr(v.reason, "signature does not match"));
        free(b);
    }
    print_message("truncations: %zu bad header, %zu bad lists, %zu bad signature\n", n_parse,
                  n_lists, n_sig);
    free(orig);
    authority_done(&kek);
}

/* ---- tl_sig_db_append ---- */

/* Counts the update entries already in current, as FilterSignatureList
 * sees them: same SignatureType, same SignatureOwner and same data. (All of
 * Microsoft's and this machine's entries are SHA-256, where data_len is
 * the whole SignatureData.) */
static size_t count_duplicates(const uint8_t *cur, size_t cur_len, const uint8_t *upd,
                               size_t upd_len)
{
    struct tl_sig_db c, u;
    assert_int_equal(tl_sig_db_parse(cur, cur_len, &c, NULL), 0);
    assert_int_equal(tl_sig_db_parse(upd, upd_len, &u, NULL), 0);
    size_t dups = 0;
    for (size_t i = 0; i < u.n_entries; i++) {
        const struct tl_sig_entry *e = &u.entries[i];
        for (size_t j = 0; j < c.n_entries; j++) {
            const struct tl_sig_entry *f = &c.entries[j];
            if (tl_guid_equal(&e->type, &f->type) && tl_guid_equal(&e->owner, &f->owner) &&
                e->data_len == f->data_len && memcmp(e->data, f->data, e->data_len) == 0) {
                dups++;
                break;
            }
        }
    }
    tl_sig_db_done(&c);
    tl_sig_db_done(&u);
    return dups;
}

static size_t n_entries(const uint8_t *buf, size_t len, size_t *n_lists)
{
    struct tl_sig_db db;
    struct tl_error err = {0};
    assert_int_equal(tl_sig_db_parse(buf, len, &db, &err), 0);
    size_t n = db.n_entries;
    if (n_lists)
        *n_lists = db.n_lists;
    tl_sig_db_done(&db);
    return n;
}

static void append_ok(const uint8_t *cur, size_t cur_len, const uint8_t *upd, size_t upd_len,
                      uint8_t **out, size_t *out_len)
{
    struct tl_error err = {0};
    int r = tl_sig_db_append(cur, cur_len, upd, upd_len, out, out_len, &err);
    if (r < 0)
        fail_msg("append: %s", err.message);
    assert_true(*out_len >= cur_len);
    if (cur_len)
        assert_memory_equal(*out, cur, cur_len);
}

static void test_append_real_dbx(void **state)
{
    (void)state;
    size_t raw_len;
    uint8_t *raw = vector_read(EFIVARS_DBX, &raw_len);
    /* efivarfs: u32 attributes (0x27), then the EFI_SIGNATURE_LISTs. */
    assert_int_equal(tl_le32(raw), 0x27);
    size_t cur_len = raw_len - 4;
    uint8_t *cur = dup_exact(raw + 4, cur_len);
    free(raw);
    assert_int_equal(n_entries(cur, cur_len, NULL), 77);

    struct update u2021, u2020;
    update_read(&u2021, DBX_2021);
    update_read(&u2020, DBX_2020);
    const uint8_t *p21 = u2021.auth.data, *p20 = u2020.auth.data;
    size_t l21 = u2021.auth.data_len, l20 = u2020.auth.data_len;

    /* 77 + 211 - 27 = 261, in the machine's list and one new list. */
    size_t dups = count_duplicates(cur, cur_len, p21, l21);
    assert_int_equal(dups, 27);
    uint8_t *out;
    size_t out_len, lists;
    append_ok(cur, cur_len, p21, l21, &out, &out_len);
    assert_int_equal(n_entries(out, out_len, &lists), 77 + 211 - dups);
    assert_int_equal(n_entries(out, out_len, NULL), 261);
    assert_int_equal(lists, 2);
    assert_int_equal(out_len, 12584);
    /* The appended list is the update's minus the duplicates. */
    assert_int_equal(tl_le32(out + cur_len + 16), 28 + (211 - 27) * 48);

    /* The same update again changes nothing. */
    uint8_t *again;
    size_t again_len;
    append_ok(out, out_len, p21, l21, &again, &again_len);
    assert_int_equal(again_len, out_len);
    assert_memory_equal(again, out, out_len);
    free(again);
    free(out);

    /* 2020 (3 certificates + 183 hashes) then 2021: 236, then 267. */
    dups = count_duplicates(cur, cur_len, p20, l20);
    assert_int_equal(dups, 27);
    append_ok(cur, cur_len, p20, l20, &out, &out_len);
    assert_int_equal(n_entries(out, out_len, &lists), 77 + 186 - 27);
    assert_int_equal(lists, 5);
    dups = count_duplicates(out, out_len, p21, l21);
    assert_int_equal(dups, 180);
    append_ok(out, out_len, p21, l21, &again, &again_len);
    assert_int_equal(n_entries(again, again_len, NULL), 236 + 211 - 180);
    free(again);
    free(out);

    /* Onto an empty variable: the update as is; an empty update: current. */
    append_ok(NULL, 0, p20, l20, &out, &out_len);
    assert_int_equal(out_len, l20);
    assert_memory_equal(out, p20, l20);
    free(out);
    append_ok(cur, cur_len, NULL, 0, &out, &out_len);
    assert_int_equal(out_len, cur_len);
    free(out);

    free(u2021.buf);
    free(u2020.buf);
    free(cur);
}

/* FilterSignatureList compares whole EFI_SIGNATURE_DATA: the owner counts;
 * lists whose entries all go are dropped; the update is not deduplicated
 * against itself. */
static void test_append_owner_and_empty_lists(void **state)
{
    (void)state;
    uint8_t h1[32] = {0x11}, h2[32] = {0x22}, h3[32] = {0x33};
    const uint8_t other_owner[16] = {0xaa};

    struct bytes cur = {0};
    {
        const uint8_t *d[2] = {h1, h2};
        const uint8_t o[2][16] = {{0}, {0}};
        put_list(&cur, &TL_EFI_CERT_SHA256_GUID, o, d, 32, 2);
    }

    struct bytes upd = {0};
    {
        /* list 1: h1 (duplicate), h2 with another owner (new) */
        const uint8_t *d[2] = {h1, h2};
        uint8_t o[2][16] = {{0}, {0}};
        memcpy(o[1], other_owner, 16);
        put_list(&upd, &TL_EFI_CERT_SHA256_GUID, (const uint8_t(*)[16])o, d, 32, 2);
        /* list 2: h1, h2 (both duplicates): dropped */
        const uint8_t *d2[2] = {h1, h2};
        const uint8_t o2[2][16] = {{0}, {0}};
        put_list(&upd, &TL_EFI_CERT_SHA256_GUID, o2, d2, 32, 2);
        /* list 3: h3 twice (new, kept twice) */
        const uint8_t *d3[2] = {h3, h3};
        put_list(&upd, &TL_EFI_CERT_SHA256_GUID, o2, d3, 32, 2);
        /* list 4: h1 as an X509-SHA256 (other type): new */
        uint8_t x[48] = {0x11};
        const uint8_t *d4[1] = {x};
        put_list(&upd, &TL_EFI_CERT_X509_SHA256_GUID, o2, d4, 48, 1);
    }

    uint8_t *out;
    size_t out_len, lists;
    append_ok(cur.p, cur.len, upd.p, upd.len, &out, &out_len);
    assert_int_equal(n_entries(out, out_len, &lists), 2 + 1 + 2 + 1);
    assert_int_equal(lists, 4);
    assert_int_equal(out_len, cur.len + (28 + 48) + (28 + 2 * 48) + (28 + 64));
    /* The kept entry of list 1 is h2 with the other owner. */
    const uint8_t *kept = out + cur.len + 28;
    assert_memory_equal(kept, other_owner, 16);
    assert_memory_equal(kept + 16, h2, 32);

    free(out);
    free(cur.p);
    free(upd.p);
}

static void test_append_errors(void **state)
{
    (void)state;
    struct update u;
    update_read(&u, DBX_2021);
    const uint8_t *p = u.auth.data;
    size_t l = u.auth.data_len;
    uint8_t *out = NULL;
    size_t out_len = 0;
    struct tl_error err = {0};

    /* Every truncation of either side is refused and names the side. */
    for (size_t n = 1; n < l; n += n < 256 ? 1 : 97) {
        uint8_t *t = dup_exact(p, n);
        assert_int_equal(tl_sig_db_append(t, n, p, l, &out, &out_len, &err), -EBADMSG);
        assert_non_null(strstr(err.message, "current database: "));
        assert_int_equal(tl_sig_db_append(p, l, t, n, &out, &out_len, &err), -EBADMSG);
        assert_non_null(strstr(err.message, "update: "));
        assert_true(err.has_offset);
        free(t);
    }
    assert_null(out);
    free(u.buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_real),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_verify_dbx_updates),
        cmocka_unit_test(test_verify_db_update),
        cmocka_unit_test(test_verify_anchor_index),
        cmocka_unit_test(test_verify_untrusted),
        cmocka_unit_test(test_verify_wrong_variable),
        cmocka_unit_test(test_verify_tampered),
        cmocka_unit_test(test_verify_wrapped_and_malformed),
        cmocka_unit_test(test_every_truncation),
        cmocka_unit_test(test_append_real_dbx),
        cmocka_unit_test(test_append_owner_and_empty_lists),
        cmocka_unit_test(test_append_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
