/* Unit tests for lib/efi: GUIDs, UEFI_VARIABLE_DATA (TCG PFP 1.05 10.4.4),
 * EFI_SIGNATURE_LIST (UEFI 2.10 32.4.1), device path text (UEFI 2.10 10.3,
 * 10.6) and EFI_LOAD_OPTION (UEFI 2.10 3.1.3).
 *
 * The data is real wherever it can be: device paths and variables copied
 * from (or read out of) real firmware event logs, db/dbx dumps read from a
 * real machine, Microsoft's signed dbx updates. The expected numbers were
 * counted independently with a separate Python decoder and, for device
 * paths, cross-checked against tpm2_eventlog's (efivar's) decoding in
 * ../shared/vectors/eventlog/tpm2-tools/expected-yaml (efivar's text form
 * differs from EDK2's in details: File(...), decimal USB/SCSI/Sata numbers).
 *
 * Vectors are read from $TL_VECTORS; a missing vector is a failure.
 * Malformed-input tests copy every prefix into an exact-size allocation so
 * that ASan catches any read past the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl/efi.h"
#include "tl/util.h"
#include "vectors.h"

/* ---- helpers ---- */

/* Copies len bytes at off of a vector into an exact-size allocation. */
static uint8_t *read_vector_slice(const char *rel, size_t off, size_t len)
{
    size_t n;
    uint8_t *all = vector_read(rel, &n);
    assert_true(off <= n && len <= n - off);
    uint8_t *out = malloc(len ? len : 1);
    assert_non_null(out);
    memcpy(out, all + off, len);
    free(all);
    return out;
}

static uint8_t *unhex(const char *hex, size_t *len)
{
    size_t n = strlen(hex) / 2;
    uint8_t *out = malloc(n ? n : 1);
    assert_non_null(out);
    assert_int_equal(tl_hex_decode(hex, strlen(hex), out, n), (int)n);
    *len = n;
    return out;
}

static void assert_hex(const uint8_t *p, size_t len, const char *hex)
{
    char buf[2 * 64 + 1];
    assert_true(len <= 64);
    tl_hex_encode(p, len, buf);
    assert_string_equal(buf, hex);
}

static void assert_guid(const tl_guid *g, const char *text)
{
    char buf[37];
    tl_guid_format(g, buf);
    assert_string_equal(buf, text);
}

#define MICROSOFT_OWNER "77fa9abd-0359-4d32-bd60-28f4e78f784b"

#define OVMF_LOG     "eventlog/ovmf-debian12/secureboot-on.eventlog.bin"
#define AGILE_LOG    "eventlog/go-attestation/crypto_agile_eventlog"
#define SBCERT_LOG   "eventlog/go-attestation/sb_cert_eventlog"
#define GCE_LOG      "eventlog/tpm2-tools/event-gce-ubuntu-2104-log.bin"
#define POSTCODE_LOG "eventlog/tpm2-tools/event-postcode.bin"

/* ---- GUIDs ---- */

static void test_guid_constants(void **state)
{
    (void)state;
    static const struct {
        const tl_guid *g;
        const char *text;
    } cases[] = {
        {&TL_EFI_GLOBAL_VARIABLE_GUID, "8be4df61-93ca-11d2-aa0d-00e098032b8c"},
        {&TL_EFI_IMAGE_SECURITY_DB_GUID, "d719b2cb-3d3a-4596-a3bc-dad00e67656f"},
        {&TL_SHIM_LOCK_GUID, "605dab50-e046-4300-abb6-3dd810dd8b23"},
        {&TL_EFI_CERT_X509_GUID, "a5c059a1-94e4-4aa7-87b5-ab155c2bf072"},
        {&TL_EFI_CERT_SHA256_GUID, "c1c41626-504c-4092-aca9-41f936934328"},
        {&TL_EFI_CERT_SHA1_GUID, "826ca512-cf10-4ac9-b187-be01496631bd"},
        {&TL_EFI_CERT_SHA384_GUID, "ff3e5307-9fd0-48c9-85f1-8ad56c701e01"},
        {&TL_EFI_CERT_SHA512_GUID, "093e0fae-a6c4-4f50-9f1b-d41e2b89c19a"},
        {&TL_EFI_CERT_X509_SHA256_GUID, "3bd2a492-96c0-4079-b420-fcf98ef103ed"},
        {&TL_EFI_CERT_X509_SHA384_GUID, "7076876e-80c2-4ee6-aad2-28b349a6865b"},
        {&TL_EFI_CERT_X509_SHA512_GUID, "446dbf63-2502-4cda-bcfa-2465d2b0fe9d"},
        {&TL_EFI_CERT_RSA2048_GUID, "3c5766e8-269c-4e34-aa14-ed776e85b3b6"},
    };
    for (size_t i = 0; i < TL_ARRAY_SIZE(cases); i++)
        assert_guid(cases[i].g, cases[i].text);
}

static void test_guid_read_equal(void **state)
{
    (void)state;
    /* The first 16 bytes of the SecureBoot UEFI_VARIABLE_DATA in the OVMF log. */
    size_t n;
    _cleanup_free_ uint8_t *b = unhex("61dfe48bca93d211aa0d00e098032b8c", &n);
    tl_guid g = tl_guid_read(b);
    assert_true(tl_guid_equal(&g, &TL_EFI_GLOBAL_VARIABLE_GUID));
    assert_false(tl_guid_equal(&g, &TL_EFI_IMAGE_SECURITY_DB_GUID));
    assert_guid(&g, "8be4df61-93ca-11d2-aa0d-00e098032b8c");
    b[15] ^= 1;
    g = tl_guid_read(b);
    assert_false(tl_guid_equal(&g, &TL_EFI_GLOBAL_VARIABLE_GUID));
    assert_guid(&g, "8be4df61-93ca-11d2-aa0d-00e098032b8d");
}

/* ---- UEFI_VARIABLE_DATA ---- */

/* Event data offsets and sizes in the OVMF log (EV_EFI_VARIABLE_DRIVER_CONFIG). */
#define OVMF_SECUREBOOT_OFF  863
#define OVMF_SECUREBOOT_SIZE 53
#define OVMF_DB_OFF          5124
#define OVMF_DB_SIZE         3179

static void test_variable_secureboot(void **state)
{
    (void)state;
    _cleanup_free_ uint8_t *b =
        read_vector_slice(OVMF_LOG, OVMF_SECUREBOOT_OFF, OVMF_SECUREBOOT_SIZE);
    struct tl_efi_variable v;
    struct tl_error err = {0};
    assert_int_equal(tl_efi_variable_parse(b, OVMF_SECUREBOOT_SIZE, &v, &err), 0);
    assert_true(tl_guid_equal(&v.vendor, &TL_EFI_GLOBAL_VARIABLE_GUID));
    assert_int_equal(v.name_len, 10);
    assert_int_equal(v.data_len, 1);
    assert_int_equal(v.data[0], 1); /* Secure Boot on */
    assert_ptr_equal(v.name_utf16, b + 32);
    assert_ptr_equal(v.data, b + 52);
    assert_true(tl_efi_variable_name_is(&v, "SecureBoot"));
    assert_false(tl_efi_variable_name_is(&v, "SecureBoo"));
    assert_false(tl_efi_variable_name_is(&v, "SecureBootX"));
    assert_false(tl_efi_variable_name_is(&v, "secureboot"));
    assert_false(tl_efi_variable_name_is(&v, ""));
}

static void test_variable_db_into_siglist(void **state)
{
    (void)state;
    _cleanup_free_ uint8_t *b = read_vector_slice(OVMF_LOG, OVMF_DB_OFF, OVMF_DB_SIZE);
    struct tl_efi_variable v;
    struct tl_error err = {0};
    assert_int_equal(tl_efi_variable_parse(b, OVMF_DB_SIZE, &v, &err), 0);
    assert_true(tl_efi_variable_name_is(&v, "db"));
    assert_true(tl_guid_equal(&v.vendor, &TL_EFI_IMAGE_SECURITY_DB_GUID));
    assert_int_equal(v.data_len, 3143);

    /* OVMF_VARS_4M.ms.fd enrols the two Microsoft db certificates. */
    struct tl_sig_db db;
    assert_int_equal(tl_sig_db_parse(v.data, (size_t)v.data_len, &db, &err), 0);
    assert_int_equal(db.n_lists, 2);
    assert_int_equal(db.n_entries, 2);
    size_t n;
    _cleanup_free_ uint8_t *pca =
        vector_read("secureboot/certs/MicWinProPCA2011_2011-10-19.crt", &n);
    assert_int_equal(db.entries[0].kind, TL_SIG_X509);
    assert_int_equal(db.entries[0].data_len, n);
    assert_memory_equal(db.entries[0].data, pca, n);
    _cleanup_free_ uint8_t *uefi_ca =
        vector_read("secureboot/certs/MicCorUEFCA2011_2011-06-27.crt", &n);
    assert_int_equal(db.entries[1].kind, TL_SIG_X509);
    assert_int_equal(db.entries[1].data_len, n);
    assert_memory_equal(db.entries[1].data, uefi_ca, n);
    assert_int_equal(db.entries[1].offset, 1543 + 28);
    assert_guid(&db.entries[0].owner, MICROSOFT_OWNER);
    tl_sig_db_done(&db);
    assert_null(db.entries);
    assert_int_equal(db.n_entries, 0);
}

static void test_variable_errors(void **state)
{
    (void)state;
    _cleanup_free_ uint8_t *real =
        read_vector_slice(OVMF_LOG, OVMF_SECUREBOOT_OFF, OVMF_SECUREBOOT_SIZE);
    struct tl_efi_variable v;
    struct tl_error err;

    /* Every truncation fails. */
    for (size_t len = 0; len < OVMF_SECUREBOOT_SIZE; len++) {
        _cleanup_free_ uint8_t *b = dup_exact(real, len);
        assert_int_equal(tl_efi_variable_parse(b, len, &v, &err), -EBADMSG);
    }

    /* One trailing byte fails and says which sizes disagree. */
    _cleanup_free_ uint8_t *longer = malloc(OVMF_SECUREBOOT_SIZE + 1);
    assert_non_null(longer);
    memcpy(longer, real, OVMF_SECUREBOOT_SIZE);
    longer[OVMF_SECUREBOOT_SIZE] = 0;
    assert_int_equal(tl_efi_variable_parse(longer, OVMF_SECUREBOOT_SIZE + 1, &v, &err), -EBADMSG);
    assert_non_null(strstr(err.message, "VariableDataLength 1"));
    assert_non_null(strstr(err.message, "record has 22"));
    assert_true(err.has_offset);

    /* UnicodeNameLength 2^63 + 10: 2 * len wraps to 20, the real name size;
     * a parser that multiplies first would accept it. */
    _cleanup_free_ uint8_t *b = dup_exact(real, OVMF_SECUREBOOT_SIZE);
    b[16 + 7] = 0x80;
    assert_int_equal(tl_efi_variable_parse(b, OVMF_SECUREBOOT_SIZE, &v, &err), -EBADMSG);
    assert_int_equal(err.offset, 16);

    /* VariableDataLength 2^64 - 1. */
    memcpy(b, real, OVMF_SECUREBOOT_SIZE);
    memset(b + 24, 0xff, 8);
    assert_int_equal(tl_efi_variable_parse(b, OVMF_SECUREBOOT_SIZE, &v, &err), -EBADMSG);
    assert_int_equal(err.offset, 24);

    /* VariableDataLength 2^64 - 20: adds up to the record size modulo 2^64. */
    memcpy(b, real, OVMF_SECUREBOOT_SIZE);
    memcpy(b + 24, "\xed\xff\xff\xff\xff\xff\xff\xff", 8);
    assert_int_equal(tl_efi_variable_parse(b, OVMF_SECUREBOOT_SIZE, &v, &err), -EBADMSG);
}

static void test_variable_real_shim_trailing_bytes(void **state)
{
    (void)state;
    /* A real EV_EFI_VARIABLE_AUTHORITY event from shim (go-attestation's
     * sb_cert_eventlog): its lengths give 1120 bytes but shim measured 1126
     * (6 trailing bytes "0000000000af"). That is the kind of hidden data the
     * parser must refuse; the first 1120 bytes are a well-formed record. */
    _cleanup_free_ uint8_t *b = read_vector_slice(SBCERT_LOG, 16410, 1126);
    struct tl_efi_variable v;
    struct tl_error err;
    assert_int_equal(tl_efi_variable_parse(b, 1126, &v, &err), -EBADMSG);
    assert_non_null(strstr(err.message, "VariableDataLength 1080"));
    assert_non_null(strstr(err.message, "record has 1094"));

    assert_int_equal(tl_efi_variable_parse(b, 1120, &v, &err), 0);
    assert_true(tl_efi_variable_name_is(&v, "Shim"));
    assert_true(tl_guid_equal(&v.vendor, &TL_SHIM_LOCK_GUID));
    assert_int_equal(v.data_len, 1080);
    assert_int_equal(v.data[0], 0x30); /* a DER certificate */
}

/* ---- signature databases ---- */

struct kind_count {
    size_t x509, sha256, other;
};

static struct kind_count count_kinds(const struct tl_sig_db *db)
{
    struct kind_count c = {0};
    for (size_t i = 0; i < db->n_entries; i++) {
        if (db->entries[i].kind == TL_SIG_X509)
            c.x509++;
        else if (db->entries[i].kind == TL_SIG_SHA256)
            c.sha256++;
        else
            c.other++;
    }
    return c;
}

static void test_sigdb_efivars_db(void **state)
{
    (void)state;
    size_t n;
    _cleanup_free_ uint8_t *f =
        vector_read("secureboot/efivars-shim-test/db-d719b2cb-3d3a-4596-a3bc-dad00e67656f", &n);
    assert_int_equal(n, 7421);
    assert_int_equal(tl_le32(f), 0x27); /* NV|BS|RT|TIME_BASED_AUTHENTICATED_WRITE_ACCESS */

    struct tl_sig_db db;
    struct tl_error err = {0};
    assert_int_equal(tl_sig_db_parse(f + 4, n - 4, &db, &err), 0);
    assert_int_equal(db.n_lists, 7);
    assert_int_equal(db.n_entries, 11);
    struct kind_count c = count_kinds(&db);
    assert_int_equal(c.x509, 6);
    assert_int_equal(c.sha256, 5);
    assert_int_equal(c.other, 0);

    size_t cn;
    _cleanup_free_ uint8_t *uefi_ca =
        vector_read("secureboot/certs/MicCorUEFCA2011_2011-06-27.crt", &cn);
    assert_int_equal(db.entries[0].offset, 28);
    assert_int_equal(db.entries[0].data_len, cn);
    assert_memory_equal(db.entries[0].data, uefi_ca, cn);
    assert_ptr_equal(db.entries[0].data, f + 4 + 28 + 16);
    assert_true(tl_guid_equal(&db.entries[0].type, &TL_EFI_CERT_X509_GUID));
    assert_guid(&db.entries[0].owner, MICROSOFT_OWNER);

    _cleanup_free_ uint8_t *pca =
        vector_read("secureboot/certs/MicWinProPCA2011_2011-10-19.crt", &cn);
    assert_int_equal(db.entries[1].offset, 1628);
    assert_int_equal(db.entries[1].data_len, cn);
    assert_memory_equal(db.entries[1].data, pca, cn);

    static const size_t x509_len[] = {1556, 1499, 1051, 854, 845, 1080};
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(db.entries[i].data_len, x509_len[i]);
    assert_guid(&db.entries[2].owner, "26dc4851-195f-4ae1-9a19-fbf883bbb35e");
    assert_guid(&db.entries[5].owner, "6dc40ae4-2ee8-9c4c-a314-0fc7b2008710");

    /* The last list: five SHA-256 image hashes with an all-zero owner. */
    assert_int_equal(db.entries[6].kind, TL_SIG_SHA256);
    assert_int_equal(db.entries[6].offset, 7177);
    assert_hex(db.entries[6].data, db.entries[6].data_len,
               "f58fbdf71be8c37cbbd6944e472c450b1043817b972914487c221033f3079e43");
    assert_guid(&db.entries[6].owner, "00000000-0000-0000-0000-000000000000");
    assert_int_equal(db.entries[10].offset, 7369);
    assert_hex(db.entries[10].data, db.entries[10].data_len,
               "a5d109b2afa3fa90878f70382b2388fcd2feaeae8a51b80add048e9f876b2a4e");
    tl_sig_db_done(&db);
}

static void test_sigdb_efivars_dbx(void **state)
{
    (void)state;
    size_t n;
    _cleanup_free_ uint8_t *f =
        vector_read("secureboot/efivars-shim-test/dbx-d719b2cb-3d3a-4596-a3bc-dad00e67656f", &n);
    assert_int_equal(n, 3728);
    struct tl_sig_db db;
    struct tl_error err = {0};
    assert_int_equal(tl_sig_db_parse(f + 4, n - 4, &db, &err), 0);
    assert_int_equal(db.n_lists, 1);
    assert_int_equal(db.n_entries, 77);
    struct kind_count c = count_kinds(&db);
    assert_int_equal(c.sha256, 77);
    for (size_t i = 0; i < db.n_entries; i++) {
        assert_int_equal(db.entries[i].data_len, 32);
        assert_int_equal(db.entries[i].offset, 28 + 48 * i);
        assert_guid(&db.entries[i].owner, MICROSOFT_OWNER);
    }
    assert_hex(db.entries[0].data, 32,
               "80b4d96931bf0d02fd91a61e19d14f1da452e66db2408ca8604d411f92659f0a");
    assert_hex(db.entries[76].data, 32,
               "45c7c8ae750acfbb48fc37527d6412dd644daed8913ccd8a24c94d856967df8e");
    tl_sig_db_done(&db);
}

/* The signature lists of a signed update (EFI_VARIABLE_AUTHENTICATION_2,
 * UEFI 2.10 8.2.2): EFI_TIME (16), then WIN_CERTIFICATE_UEFI_GUID whose
 * dwLength (u32 at 16) covers itself; the lists follow. Checks the header
 * is what Microsoft ships (revision 0x200, type EFI_CERT_TYPE_GUID 0x0EF1,
 * CertType EFI_CERT_TYPE_PKCS7_GUID). */
static const uint8_t *auth2_payload(const uint8_t *f, size_t n, size_t *len)
{
    assert_true(n >= 16 + 24);
    uint32_t dw = tl_le32(f + 16);
    assert_true(dw >= 24 && dw <= n - 16);
    assert_int_equal(tl_le16(f + 20), 0x0200);
    assert_int_equal(tl_le16(f + 22), 0x0ef1);
    tl_guid type = tl_guid_read(f + 24);
    assert_guid(&type, "4aafd29d-68df-49ee-8aa9-347d375665a7");
    *len = n - 16 - dw;
    return f + 16 + dw;
}

static void test_sigdb_dbxupdate_2020(void **state)
{
    (void)state;
    size_t n, len;
    _cleanup_free_ uint8_t *f = vector_read("secureboot/dbx/dbxupdate_x64-2020-10-12.bin", &n);
    const uint8_t *p = auth2_payload(f, n, &len);
    assert_int_equal(p - f, 16 + 3329);
    assert_int_equal(len, 11936);

    struct tl_sig_db db;
    struct tl_error err = {0};
    assert_int_equal(tl_sig_db_parse(p, len, &db, &err), 0);
    assert_int_equal(db.n_lists, 4);
    assert_int_equal(db.n_entries, 186);
    struct kind_count c = count_kinds(&db);
    assert_int_equal(c.x509, 3);
    assert_int_equal(c.sha256, 183);
    assert_int_equal(c.other, 0);

    /* The BootHole revocations: Canonical's, Cisco's and Debian's signing
     * certificates, byte for byte. */
    static const char *const certs[] = {"secureboot/certs/canonical-boothole.crt",
                                        "secureboot/certs/cisco-boothole.crt",
                                        "secureboot/certs/debian-boothole.crt"};
    static const size_t offsets[] = {28, 1104 + 28, 2312 + 28};
    for (size_t i = 0; i < 3; i++) {
        size_t cn;
        _cleanup_free_ uint8_t *cert = vector_read(certs[i], &cn);
        assert_int_equal(db.entries[i].kind, TL_SIG_X509);
        assert_int_equal(db.entries[i].offset, offsets[i]);
        assert_int_equal(db.entries[i].data_len, cn);
        assert_memory_equal(db.entries[i].data, cert, cn);
        assert_guid(&db.entries[i].owner, MICROSOFT_OWNER);
    }
    assert_int_equal(db.entries[3].kind, TL_SIG_SHA256);
    assert_int_equal(db.entries[3].offset, 3124 + 28);
    assert_hex(db.entries[3].data, db.entries[3].data_len,
               "80b4d96931bf0d02fd91a61e19d14f1da452e66db2408ca8604d411f92659f0a");
    assert_int_equal(db.entries[185].offset, 11888);
    assert_hex(db.entries[185].data, db.entries[185].data_len,
               "540801dd345dc1c33ef431b35bf4c0e68bd319b577b9abe1a9cff1cbc39f548f");
    tl_sig_db_done(&db);
}

static void test_sigdb_other_updates(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        size_t lists, x509, sha256;
    } cases[] = {
        {"secureboot/dbx/dbxupdate-2014-08-11.bin", 1, 0, 13},
        {"secureboot/dbx/dbxupdate_x64-2021-04-29.bin", 1, 0, 211},
        {"secureboot/dbx/microsoft-DBXUpdate-amd64.bin", 1, 0, 443},
        {"secureboot/dbx/microsoft-DBUpdate3P2023.bin", 1, 1, 0},
    };
    for (size_t i = 0; i < TL_ARRAY_SIZE(cases); i++) {
        size_t n, len;
        _cleanup_free_ uint8_t *f = vector_read(cases[i].file, &n);
        const uint8_t *p = auth2_payload(f, n, &len);
        struct tl_sig_db db;
        struct tl_error err = {0};
        assert_int_equal(tl_sig_db_parse(p, len, &db, &err), 0);
        assert_int_equal(db.n_lists, cases[i].lists);
        struct kind_count c = count_kinds(&db);
        assert_int_equal(c.x509, cases[i].x509);
        assert_int_equal(c.sha256, cases[i].sha256);
        assert_int_equal(c.other, 0);
        if (cases[i].x509) {
            /* The db update adding "Microsoft UEFI CA 2023", 1448 bytes of DER. */
            assert_int_equal(db.entries[0].data_len, 1448);
            assert_memory_equal(db.entries[0].data, "\x30\x82\x05\xa4", 4);
            assert_non_null(
                memmem(db.entries[0].data, db.entries[0].data_len, "Microsoft UEFI CA 2023", 22));
        }
        tl_sig_db_done(&db);
    }
}

static void test_sigdb_every_truncation(void **state)
{
    (void)state;
    size_t n, len;
    _cleanup_free_ uint8_t *f = vector_read("secureboot/dbx/dbxupdate_x64-2020-10-12.bin", &n);
    const uint8_t *p = auth2_payload(f, n, &len);

    /* A prefix that ends exactly between lists is a valid, shorter database;
     * any other prefix cuts a list and must fail, without reading past it. */
    static const size_t boundaries[] = {0, 1104, 2312, 3124, 11936};
    static const size_t lists_at[] = {0, 1, 2, 3, 4};
    size_t next = 0;
    for (size_t l = 0; l <= len; l++) {
        _cleanup_free_ uint8_t *b = dup_exact(p, l);
        struct tl_sig_db db = {0};
        struct tl_error err;
        int r = tl_sig_db_parse(b, l, &db, &err);
        if (next < TL_ARRAY_SIZE(boundaries) && l == boundaries[next]) {
            assert_int_equal(r, 0);
            assert_int_equal(db.n_lists, lists_at[next]);
            next++;
        } else {
            assert_int_equal(r, -EBADMSG);
            assert_true(err.has_offset);
            assert_null(db.entries);
        }
        tl_sig_db_done(&db);
    }
    assert_int_equal(next, TL_ARRAY_SIZE(boundaries));
}

/* A synthetic list: header for type with n entries of sig_size bytes. */
static uint8_t *make_list(const tl_guid *type, uint32_t header_size, uint32_t sig_size, size_t n,
                          size_t *len)
{
    *len = 28 + header_size + n * sig_size;
    uint8_t *b = calloc(1, *len);
    assert_non_null(b);
    memcpy(b, type->b, 16);
    uint32_t ls = (uint32_t)*len;
    for (int i = 0; i < 4; i++) {
        b[16 + i] = (uint8_t)(ls >> (8 * i));
        b[20 + i] = (uint8_t)(header_size >> (8 * i));
        b[24 + i] = (uint8_t)(sig_size >> (8 * i));
    }
    for (size_t e = 0; e < n; e++)
        for (uint32_t k = 0; k < sig_size; k++)
            b[28 + header_size + e * sig_size + k] = (uint8_t)(e + k);
    return b;
}

static void test_sigdb_errors(void **state)
{
    (void)state;
    size_t n, len;
    _cleanup_free_ uint8_t *f = vector_read("secureboot/dbx/dbxupdate_x64-2020-10-12.bin", &n);
    const uint8_t *p = auth2_payload(f, n, &len);
    struct tl_sig_db db = {0};
    struct tl_error err;

    /* The first two real lists (Canonical's and Cisco's certificates). */
    const size_t two = 2312;
    _cleanup_free_ uint8_t *b = dup_exact(p, two);

    /* SignatureListSize one past the end. */
    put32(b + 1104 + 16, 1208 + 1);
    assert_int_equal(tl_sig_db_parse(b, two, &db, &err), -EBADMSG);
    assert_string_equal(err.message,
                        "signature list 1: SignatureListSize 1209 overruns the 1208 bytes left");
    assert_int_equal(err.offset, 1104 + 16);
    memcpy(b, p, two);

    /* SignatureListSize smaller than the header (would loop forever if 0). */
    put32(b + 16, 0);
    assert_int_equal(tl_sig_db_parse(b, two, &db, &err), -EBADMSG);
    assert_non_null(strstr(err.message, "signature list 0: SignatureListSize 0"));
    memcpy(b, p, two);

    /* SignatureSize 10 and 0 (no division by zero). */
    put32(b + 1104 + 24, 10);
    assert_int_equal(tl_sig_db_parse(b, two, &db, &err), -EBADMSG);
    assert_string_equal(err.message, "signature list 1: SignatureSize 10 too small");
    assert_int_equal(err.offset, 1104 + 24);
    put32(b + 1104 + 24, 0);
    assert_int_equal(tl_sig_db_parse(b, two, &db, &err), -EBADMSG);
    memcpy(b, p, two);

    /* SignatureHeaderSize that overflows any naive sum. */
    put32(b + 20, 0xffffffff);
    assert_int_equal(tl_sig_db_parse(b, two, &db, &err), -EBADMSG);
    assert_non_null(strstr(err.message, "SignatureHeaderSize 4294967295"));
    memcpy(b, p, two);

    /* Entries that do not tile the list: SignatureSize one byte short. */
    put32(b + 24, 1076 - 1);
    assert_int_equal(tl_sig_db_parse(b, two, &db, &err), -EBADMSG);
    assert_non_null(strstr(err.message, "not a multiple of SignatureSize 1075"));
    memcpy(b, p, two);

    /* An X.509 list with a non-empty SignatureHeader. */
    size_t l;
    _cleanup_free_ uint8_t *hdr = make_list(&TL_EFI_CERT_X509_GUID, 4, 100, 1, &l);
    assert_int_equal(tl_sig_db_parse(hdr, l, &db, &err), -EBADMSG);
    assert_non_null(strstr(err.message, "SignatureHeaderSize 4 for x509"));

    /* Hash lists need the exact size. */
    static const struct {
        const tl_guid *g;
        uint32_t good;
    } fixed[] = {
        {&TL_EFI_CERT_SHA256_GUID, 48},      {&TL_EFI_CERT_SHA1_GUID, 36},
        {&TL_EFI_CERT_SHA384_GUID, 64},      {&TL_EFI_CERT_SHA512_GUID, 80},
        {&TL_EFI_CERT_X509_SHA256_GUID, 64}, {&TL_EFI_CERT_X509_SHA384_GUID, 80},
        {&TL_EFI_CERT_X509_SHA512_GUID, 96}, {&TL_EFI_CERT_RSA2048_GUID, 272},
    };
    for (size_t i = 0; i < TL_ARRAY_SIZE(fixed); i++) {
        for (uint32_t sz = fixed[i].good - 1; sz <= fixed[i].good + 1; sz++) {
            _cleanup_free_ uint8_t *h = make_list(fixed[i].g, 0, sz, 2, &l);
            int r = tl_sig_db_parse(h, l, &db, &err);
            if (sz == fixed[i].good) {
                assert_int_equal(r, 0);
                assert_int_equal(db.n_entries, 2);
                tl_sig_db_done(&db);
            } else {
                assert_int_equal(r, -EBADMSG);
                assert_non_null(strstr(err.message, "expected"));
            }
        }
    }
    _cleanup_free_ uint8_t *h47 = make_list(&TL_EFI_CERT_SHA256_GUID, 0, 47, 1, &l);
    assert_int_equal(tl_sig_db_parse(h47, l, &db, &err), -EBADMSG);
    assert_string_equal(err.message, "signature list 0: SignatureSize 47 for sha256, expected 48");

    /* Trailing bytes shorter than a list header. */
    _cleanup_free_ uint8_t *tail = malloc(two + 5);
    assert_non_null(tail);
    memcpy(tail, p, two);
    memset(tail + two, 0, 5);
    assert_int_equal(tl_sig_db_parse(tail, two + 5, &db, &err), -EBADMSG);
    assert_string_equal(err.message,
                        "signature list 2: 5 bytes left, shorter than the 28-byte header");
    assert_int_equal(err.offset, two);
}

static void test_sigdb_kinds(void **state)
{
    (void)state;
    struct tl_sig_db db;
    struct tl_error err = {0};
    size_t l;

    /* Empty input: empty database. */
    assert_int_equal(tl_sig_db_parse(NULL, 0, &db, &err), 0);
    assert_int_equal(db.n_lists, 0);
    assert_int_equal(db.n_entries, 0);
    tl_sig_db_done(&db);

    /* x509-sha256: data is the 32-byte TBS hash, the EFI_TIME follows it. */
    _cleanup_free_ uint8_t *x = make_list(&TL_EFI_CERT_X509_SHA256_GUID, 0, 64, 2, &l);
    assert_int_equal(tl_sig_db_parse(x, l, &db, &err), 0);
    assert_int_equal(db.n_entries, 2);
    assert_int_equal(db.entries[1].kind, TL_SIG_X509_SHA256);
    assert_int_equal(db.entries[1].data_len, 32);
    assert_int_equal(db.entries[1].offset, 28 + 64);
    assert_ptr_equal(db.entries[1].data, x + 28 + 64 + 16);
    tl_sig_db_done(&db);

    _cleanup_free_ uint8_t *rsa = make_list(&TL_EFI_CERT_RSA2048_GUID, 0, 272, 1, &l);
    assert_int_equal(tl_sig_db_parse(rsa, l, &db, &err), 0);
    assert_int_equal(db.entries[0].kind, TL_SIG_RSA2048);
    assert_int_equal(db.entries[0].data_len, 256);
    tl_sig_db_done(&db);

    /* Unknown SignatureType: kept, not an error. Uses the real dbx list with
     * its type replaced. */
    size_t n;
    _cleanup_free_ uint8_t *f =
        vector_read("secureboot/efivars-shim-test/dbx-d719b2cb-3d3a-4596-a3bc-dad00e67656f", &n);
    memcpy(f + 4, TL_EFI_GLOBAL_VARIABLE_GUID.b, 16);
    assert_int_equal(tl_sig_db_parse(f + 4, n - 4, &db, &err), 0);
    assert_int_equal(db.n_entries, 77);
    for (size_t i = 0; i < db.n_entries; i++) {
        assert_int_equal(db.entries[i].kind, TL_SIG_UNKNOWN);
        assert_int_equal(db.entries[i].data_len, 32);
        assert_true(tl_guid_equal(&db.entries[i].type, &TL_EFI_GLOBAL_VARIABLE_GUID));
    }
    tl_sig_db_done(&db);

    static const struct {
        enum tl_sig_kind kind;
        const tl_guid *g;
        const char *name;
    } kinds[] = {
        {TL_SIG_X509, &TL_EFI_CERT_X509_GUID, "x509"},
        {TL_SIG_SHA256, &TL_EFI_CERT_SHA256_GUID, "sha256"},
        {TL_SIG_SHA1, &TL_EFI_CERT_SHA1_GUID, "sha1"},
        {TL_SIG_SHA384, &TL_EFI_CERT_SHA384_GUID, "sha384"},
        {TL_SIG_SHA512, &TL_EFI_CERT_SHA512_GUID, "sha512"},
        {TL_SIG_X509_SHA256, &TL_EFI_CERT_X509_SHA256_GUID, "x509-sha256"},
        {TL_SIG_X509_SHA384, &TL_EFI_CERT_X509_SHA384_GUID, "x509-sha384"},
        {TL_SIG_X509_SHA512, &TL_EFI_CERT_X509_SHA512_GUID, "x509-sha512"},
        {TL_SIG_RSA2048, &TL_EFI_CERT_RSA2048_GUID, "rsa2048"},
    };
    for (size_t i = 0; i < TL_ARRAY_SIZE(kinds); i++) {
        assert_int_equal(tl_sig_kind_from_guid(kinds[i].g), kinds[i].kind);
        assert_string_equal(tl_sig_kind_name(kinds[i].kind), kinds[i].name);
    }
    assert_int_equal(tl_sig_kind_from_guid(&TL_SHIM_LOCK_GUID), TL_SIG_UNKNOWN);
    assert_string_equal(tl_sig_kind_name(TL_SIG_UNKNOWN), "unknown");
}

/* ---- device paths ---- */

static void check_path(const char *hex, const char *text, const char *file)
{
    size_t n;
    _cleanup_free_ uint8_t *b = unhex(hex, &n);
    _cleanup_free_ char *t = NULL, *fp = NULL;
    struct tl_error err = {0};
    assert_int_equal(tl_device_path_to_text(b, n, &t, &err), 0);
    assert_string_equal(t, text);
    assert_int_equal(tl_device_path_file(b, n, &fp, &err), 0);
    if (file)
        assert_string_equal(fp, file);
    else
        assert_null(fp);
}

/* Device paths as they appear in real event logs (UEFI_IMAGE_LOAD_EVENT
 * and Boot#### FilePathList), with their EDK2 text. */
static const struct {
    const char *source;
    const char *hex;
    const char *text;
    const char *file;
} real_paths[] = {
    {"OVMF (Debian 12) shim load",
     "02010c00d041030a00000000010106000002040430005c004500460049005c0042004f004f0054005c0042004f00"
     "4f0054005800360034002e0045004600490000007fff0400",
     "PciRoot(0x0)/Pci(0x2,0x0)/\\EFI\\BOOT\\BOOTX64.EFI", "\\EFI\\BOOT\\BOOTX64.EFI"},
    {"OVMF grub load (file path only)",
     "040430005c004500460049005c0042004f004f0054005c0067007200750062007800360034002e00650066006900"
     "00007fff0400",
     "\\EFI\\BOOT\\grubx64.efi", "\\EFI\\BOOT\\grubx64.efi"},
    {"OVMF Boot0000 UiApp",
     "04071400c9bdb87cebf8344faaea3ee4af6516a10406140021aa2c4614760345836e8ab6f46623317fff0400",
     "Fv(7cb8bdc9-f8eb-4f34-aaea-3ee4af6516a1)/FvFile(462caa21-7614-4503-836e-8ab6f4662331)", NULL},
    {"OVMF Boot0001 DVD-ROM", "02010c00d041030a0000000001010600021f03120a000200ffff00007fff0400",
     "PciRoot(0x0)/Pci(0x1f,0x2)/Sata(0x2,0xffff,0x0)", NULL},
    {"Arch Linux systemd-boot load",
     "02010c00d041030a0000000001010600001703120a000100ffff000004012a000100000000080000000000000000"
     "0800000000001346501ab519444ba83dd926d40daa1c0202040446005c004500460049005c005300590053005400"
     "45004d0044005c00530059005300540045004d0044002d0042004f004f0054005800360034002e00450046004900"
     "00007fff0400",
     "PciRoot(0x0)/Pci(0x17,0x0)/Sata(0x1,0xffff,0x0)/"
     "HD(1,GPT,1a504613-19b5-4b44-a83d-d926d40daa1c,0x800,0x80000)/"
     "\\EFI\\SYSTEMD\\SYSTEMD-BOOTX64.EFI",
     "\\EFI\\SYSTEMD\\SYSTEMD-BOOTX64.EFI"},
    {"Arch Linux option ROM",
     "02010c00d041030a00000000010106000001010106000000040818000000000050f2000000000000ff0102000000"
     "00007fff0400",
     "PciRoot(0x0)/Pci(0x1,0x0)/Pci(0x0,0x0)/Offset(0xf250,0x201ff)", NULL},
    {"CentOS on NVMe, file path split over two nodes",
     "02010c00d041030a0000000001010600001d0101060000000317100001000000000000000000000004012a000100"
     "000000080000000000000040060000000000d139cd23f9426b4f89913e9a03260b08020204041c005c0045004600"
     "49005c00630065006e0074006f007300000004041c0067007200750062007800360034002e006500660069000000"
     "7fff0400",
     "PciRoot(0x0)/Pci(0x1d,0x0)/Pci(0x0,0x0)/NVMe(0x1,00-00-00-00-00-00-00-00)/"
     "HD(1,GPT,23cd39d1-42f9-4f6b-8991-3e9a03260b08,0x800,0x64000)/\\EFI\\centos/grubx64.efi",
     "\\EFI\\centos\\grubx64.efi"},
    {"Ubuntu from USB (SHA-1 log), path repeated by the firmware",
     "02010c00d041030a00000000010106000014030506000b0002010c00d041030a00000000010106000014030506"
     "000b0004012a000100000000080000000000000000100000000000948fabe36694cc429b81ebb7969bb28a020204"
     "0434005c004500460049005c007500620075006e00740075005c007300680069006d007800360034002e00650066"
     "006900"
     "00007fff0400",
     "PciRoot(0x0)/Pci(0x14,0x0)/USB(0xb,0x0)/PciRoot(0x0)/Pci(0x14,0x0)/USB(0xb,0x0)/"
     "HD(1,GPT,e3ab8f94-9466-42cc-9b81-ebb7969bb28a,0x800,0x100000)/\\EFI\\ubuntu\\shimx64.efi",
     "\\EFI\\ubuntu\\shimx64.efi"},
    {"GCE Ubuntu shim load",
     "02010c00d041030a00000000010106000003030208000100000004012a000f000000002800000000000000500300"
     "0000000040f7a66eef256942838d1a6f21ebf27f0202040434005c004500460049005c007500620075006e007400"
     "75005c007300680069006d007800360034002e0065006600690000007fff0400",
     "PciRoot(0x0)/Pci(0x3,0x0)/Scsi(0x1,0x0)/"
     "HD(15,GPT,6ea6f740-25ef-4269-838d-1a6f21ebf27f,0x2800,0x35000)/\\EFI\\ubuntu\\shimx64.efi",
     "\\EFI\\ubuntu\\shimx64.efi"},
    {"GCE Boot0002 legacy BBS",
     "05011d0002000000566972745363736928302c332c3029204469736b007fff0400",
     "BBS(HD,VirtScsi(0,3,0) Disk,0x0)", NULL},
    {"PXE over IPv4 (postcode log)",
     "02010c00d041030a03000000010106000000010106000000030b25000cc47aff601c0000000000000000000000"
     "00000000000000000000000000000001030c1b0000000000000000000000000000000000000000000000007fff"
     "0400",
     "PciRoot(0x3)/Pci(0x0,0x0)/Pci(0x0,0x0)/MAC(0cc47aff601c,0x1)/"
     "IPv4(0.0.0.0,0x0,DHCP,0.0.0.0,0.0.0.0,0.0.0.0)",
     NULL},
    {"EDK2 shell Boot0005 (crypto-agile log)", "040314005cb9235026db9b42a648bd47664c80127fff0400",
     "VenMedia(5023b95c-db26-429b-a648-bd47664c8012)", NULL},
};

static void test_devpath_real(void **state)
{
    (void)state;
    for (size_t i = 0; i < TL_ARRAY_SIZE(real_paths); i++) {
        print_message("  %s\n", real_paths[i].source);
        check_path(real_paths[i].hex, real_paths[i].text, real_paths[i].file);
    }
}

static void test_devpath_synthetic_nodes(void **state)
{
    (void)state;
    /* Node formats not in the real logs above, built from the spec's layouts
     * and checked against EDK2's format strings. */
    static const struct {
        const char *hex, *text;
    } cases[] = {
        {"02010c00d041080a02000000", "PcieRoot(0x2)"},
        {"02010c00d041010500000000", "Serial(0x0)"},
        {"02010c00d041020c00000000", "Acpi(PNP0c02,0x0)"},
        {"02010c007856341201000000", "Acpi(0x12345678,0x1)"},
        {"02021500d041030a01000000d041030a4142000000", "AcpiEx(PNP0A03,PNP0A03,0x1,AB,,)"},
        {"02021600d041030a00000000d041030a005549440000", "AcpiExp(PNP0A03,PNP0A03,UID)"},
        {"02030c000100000002000000", "AcpiAdr(0x1,0x2)"},
        {"010318000b00000000100000000000000020000000000000", "MemoryMapped(0xb,0x1000,0x2000)"},
        {"01041800e775e299a075374ba2e6c5385e6c00cbdeadbeef",
         "VenHw(99e275e7-75a0-4b37-a2e6-c5385e6c00cb,deadbeef)"},
        {"0105080003000000", "Ctrl(0x3)"},
        {"0301080001010200", "Ata(Secondary,Slave,0x2)"},
        {"03171000020000000102030405060708", "NVMe(0x2,08-07-06-05-04-03-02-01)"},
        {"030b2500525400123456000000000000000000000000000000000000000000000000000001",
         "MAC(525400123456,0x1)"},
        {"030c1300c0a80102c0a8010100000000060001", "IPv4(192.168.1.1,TCP,Static,192.168.1.2)"},
        {"030d3c0000000000000000000000000000000000fe80000000000000000000000000000100000000110001400"
         "0000000000000000000000000000000",
         "IPv6(fe80:0000:0000:0000:0000:0000:0000:0001,UDP,StatelessAutoConfigure,0000:0000:0000:"
         "0000:0000:0000:0000:0000,0x40,0000:0000:0000:0000:0000:0000:0000:0000)"},
        {"0318130068747470733a2f2f782f792e656669", "Uri(https://x/y.efi)"},
        {"031406006400", "Vlan(100)"},
        {"030e13000000000000c2010000000000080101", "Uart(115200,8,N,1)"},
        {"030f0b00ffff0000080650", "UsbMassStorage(0xffff,0x0,0x6,0x50)"},
        {"030f0b0034120000fe0202", "UsbIrdaBridge(0x1234,0x0,0x2)"},
        {"030f0b0001000200770405", "UsbClass(0x1,0x2,0x77,0x4,0x5)"},
        {"030506000301", "USB(0x3,0x1)"},
        {"04012a000200000000080000000000000040000000000000785634120000000000000000000000000101",
         "HD(2,MBR,0x12345678,0x800,0x4000)"},
        {"040218000100000000100000000000000020000000000000", "CDROM(0x1,0x1000,0x2000)"},
        {"04051400c9bdb87cebf8344faaea3ee4af6516a1", "Media(7cb8bdc9-f8eb-4f34-aaea-3ee4af6516a1)"},
        {"05010a00ff0001004100", "BBS(0xff,A,0x1)"},
        {"01400600abcd", "HardwarePath(64,abcd)"},
        {"03130400", "Msg(19)"},
        {"2003060001ff", "Path(32,3,01ff)"},
        {"7f020400", "Path(127,2)"},
    };
    for (size_t i = 0; i < TL_ARRAY_SIZE(cases); i++) {
        size_t n;
        _cleanup_free_ uint8_t *b = unhex(cases[i].hex, &n);
        _cleanup_free_ char *t = NULL;
        struct tl_error err = {0};
        int r = tl_device_path_to_text(b, n, &t, &err);
        if (r < 0)
            fail_msg("%s: %s", cases[i].hex, err.message);
        assert_string_equal(t, cases[i].text);
    }
}

static void test_devpath_structure(void **state)
{
    (void)state;
    /* Instances: PciRoot(0x0)/Pci(0x1,0x0) End Instance PciRoot(0x1) End. */
    check_path("02010c00d041030a00000000010106000001"
               "7f010400" /* End Instance */
               "02010c00d041030a01000000"
               "7fff0400",
               "PciRoot(0x0)/Pci(0x1,0x0),PciRoot(0x1)", NULL);
    /* Ending without an End node is still decoded. */
    check_path("02010c00d041030a00000000010106000002", "PciRoot(0x0)/Pci(0x2,0x0)", NULL);
    /* Bytes after End Entire (a second device path) are not part of the path. */
    check_path("02010c00d041030a000000007fff0400040408005c000000", "PciRoot(0x0)", NULL);
    /* Empty path. */
    _cleanup_free_ char *t = NULL, *fp = NULL;
    assert_int_equal(tl_device_path_to_text(NULL, 0, &t, NULL), 0);
    assert_string_equal(t, "");
    assert_int_equal(tl_device_path_file(NULL, 0, &fp, NULL), 0);
    assert_null(fp);
}

static void test_devpath_file_join(void **state)
{
    (void)state;
    /* Consecutive file path nodes are one path (UEFI 10.3.5.4); "\\" is
     * inserted only where neither piece has it, and a doubled one is merged.
     * Only the last run of file path nodes counts, and nothing after End. */
    static const struct {
        const char *hex, *text, *file;
    } cases[] = {
        {"04040e005c00450046004900000004040e0042004f004f00540000007fff0400", "\\EFI/BOOT",
         "\\EFI\\BOOT"},
        {"040410005c004500460049005c000000040410005c0042004f004f00540000007fff0400",
         "\\EFI\\/\\BOOT", "\\EFI\\BOOT"},
        {"040410005c004500460049005c00000004040e0042004f004f00540000007fff0400", "\\EFI\\/BOOT",
         "\\EFI\\BOOT"},
        {"04040e005c004500460049000000040410005c0042004f004f00540000000404100078002e006500660069000"
         "0007fff0400",
         "\\EFI/\\BOOT/x.efi", "\\EFI\\BOOT\\x.efi"},
        {"040412005c0061002e006500660069000000010106000002040412005c0062002e0065006600690000007fff0"
         "400",
         "\\a.efi/Pci(0x2,0x0)/\\b.efi", "\\b.efi"},
        {"040412005c0061002e0065006600690000007fff0400040412005c0062002e0065006600690000007fff0400",
         "\\a.efi", "\\a.efi"},
        {"0101060000027fff0400040412005c0062002e0065006600690000007fff0400", "Pci(0x2,0x0)", NULL},
    };
    for (size_t i = 0; i < TL_ARRAY_SIZE(cases); i++)
        check_path(cases[i].hex, cases[i].text, cases[i].file);

    /* A file path whose last code unit is not NUL (and an odd trailing byte). */
    check_path("040418005c004500460049005c0078002e00650066006900", "\\EFI\\x.efi", "\\EFI\\x.efi");
    check_path("040419005c004500460049005c0078002e0065006600690041", "\\EFI\\x.efi",
               "\\EFI\\x.efi");
}

static void test_devpath_errors(void **state)
{
    (void)state;
    static const struct {
        const char *hex;
        size_t offset;
        const char *message;
    } cases[] = {
        /* A node of Length 2, first and after a good node. */
        {"02010200", 0,
         "device path node 0 (type 0x02, subtype 0x01): Length 2, less than the 4-byte header"},
        {"02010c00d041030a0000000001010200", 12,
         "device path node 1 (type 0x01, subtype 0x01): Length 2, less than the 4-byte header"},
        /* Length 0 (would loop forever). */
        {"7fff0000", 0,
         "device path node 0 (type 0x7f, subtype 0xff): Length 0, less than the 4-byte header"},
        /* Length past the end. */
        {"02010c00d041030a0000000001010800000200", 12,
         "device path node 1 (type 0x01, subtype 0x01): Length 8 overruns the 7 bytes left"},
        {"02010c00d041030a00000000010106000002ff", 18,
         "device path node 2: 1 bytes left, shorter than a node header"},
        /* Known nodes too short for their fields. */
        {"0101050000", 0, "device path node 0: Pci node Length 5, needs at least 6"},
        {"04012900000000000000000000000000000000000000000000000000000000000000000000000000000000",
         0, "device path node 0: HD node Length 41, needs at least 42"},
        {"030b24000000000000000000000000000000000000000000000000000000000000000000", 0,
         "device path node 0: MAC node Length 36, needs at least 37"},
    };
    for (size_t i = 0; i < TL_ARRAY_SIZE(cases); i++) {
        size_t n;
        _cleanup_free_ uint8_t *b = unhex(cases[i].hex, &n);
        char *t = NULL;
        struct tl_error err = {0};
        assert_int_equal(tl_device_path_to_text(b, n, &t, &err), -EBADMSG);
        assert_null(t);
        assert_true(err.has_offset);
        assert_int_equal(err.offset, cases[i].offset);
        assert_string_equal(err.message, cases[i].message);
    }
    /* tl_device_path_file checks the node headers too. */
    size_t n;
    _cleanup_free_ uint8_t *b = unhex("02010c00d041030a0000000001010200", &n);
    char *fp = NULL;
    assert_int_equal(tl_device_path_file(b, n, &fp, NULL), -EBADMSG);
    assert_null(fp);
}

static void test_devpath_every_truncation(void **state)
{
    (void)state;
    /* The CentOS path: nodes of 12, 6, 6, 16, 42, 28, 28 and 4 bytes. A
     * prefix that ends between nodes decodes (no End node needed); any other
     * prefix cuts a node and fails. */
    size_t n;
    _cleanup_free_ uint8_t *full = unhex(real_paths[6].hex, &n);
    assert_int_equal(n, 142);
    static const size_t boundaries[] = {0, 12, 18, 24, 40, 82, 110, 138, 142};
    size_t next = 0;
    for (size_t l = 0; l <= n; l++) {
        _cleanup_free_ uint8_t *b = dup_exact(full, l);
        _cleanup_free_ char *t = NULL, *fp = NULL;
        struct tl_error err;
        int r = tl_device_path_to_text(b, l, &t, &err);
        int rf = tl_device_path_file(b, l, &fp, &err);
        if (next < TL_ARRAY_SIZE(boundaries) && l == boundaries[next]) {
            assert_int_equal(r, 0);
            assert_int_equal(rf, 0);
            assert_true(strncmp(real_paths[6].text, t, strlen(t)) == 0);
            next++;
        } else {
            assert_int_equal(r, -EBADMSG);
            assert_int_equal(rf, -EBADMSG);
        }
    }
    assert_int_equal(next, TL_ARRAY_SIZE(boundaries));
}

/* ---- load options ---- */

/* Reads a Boot#### EV_EFI_VARIABLE_BOOT event out of a real log and returns
 * its UEFI_VARIABLE_DATA, checking the variable's name. */
static void boot_variable(const char *log, size_t off, size_t size, const char *name, uint8_t **buf,
                          struct tl_efi_variable *v)
{
    uint8_t *b = *buf = read_vector_slice(log, off, size);
    struct tl_error err = {0};
    assert_int_equal(tl_efi_variable_parse(b, size, v, &err), 0);
    assert_true(tl_efi_variable_name_is(v, name));
    assert_true(tl_guid_equal(&v->vendor, &TL_EFI_GLOBAL_VARIABLE_GUID));
}

static void test_load_option_ovmf(void **state)
{
    (void)state;
    struct tl_efi_variable v;
    struct tl_load_option opt;
    struct tl_error err = {0};

    _cleanup_free_ uint8_t *b1 = NULL;
    boot_variable(OVMF_LOG, 9529, 156, "Boot0001", &b1, &v);
    assert_int_equal(v.data_len, 108);
    assert_int_equal(tl_load_option_parse(v.data, (size_t)v.data_len, &opt, &err), 0);
    assert_int_equal(opt.attributes, 0x1); /* LOAD_OPTION_ACTIVE */
    assert_string_equal(opt.description, "UEFI QEMU DVD-ROM QM00005 ");
    assert_int_equal(opt.file_path_len, 32);
    assert_ptr_equal(opt.file_path, v.data + 6 + 54);
    _cleanup_free_ char *t = NULL;
    assert_int_equal(tl_device_path_to_text(opt.file_path, opt.file_path_len, &t, &err), 0);
    assert_string_equal(t, "PciRoot(0x0)/Pci(0x1f,0x2)/Sata(0x2,0xffff,0x0)");
    /* EDK2's boot manager tags its auto-created options with this GUID. */
    assert_int_equal(opt.optional_data_len, 16);
    assert_hex(opt.optional_data, 16, "4eac0881119f594d850ee21a522c59b2");
    tl_load_option_done(&opt);
    assert_null(opt.description);

    _cleanup_free_ uint8_t *b0 = NULL;
    boot_variable(OVMF_LOG, 9231, 110, "Boot0000", &b0, &v);
    assert_int_equal(tl_load_option_parse(v.data, (size_t)v.data_len, &opt, &err), 0);
    assert_int_equal(opt.attributes, 0x109); /* ACTIVE | HIDDEN | CATEGORY_APP */
    assert_string_equal(opt.description, "UiApp");
    assert_int_equal(opt.file_path_len, 44);
    assert_int_equal(opt.optional_data_len, 0);
    _cleanup_free_ char *t0 = NULL;
    assert_int_equal(tl_device_path_to_text(opt.file_path, opt.file_path_len, &t0, &err), 0);
    assert_string_equal(
        t0,
        "Fv(7cb8bdc9-f8eb-4f34-aaea-3ee4af6516a1)/FvFile(462caa21-7614-4503-836e-8ab6f4662331)");
    tl_load_option_done(&opt);
}

static void test_load_option_windows(void **state)
{
    (void)state;
    /* A real Windows Boot Manager option (go-attestation crypto_agile_eventlog):
     * its FilePathList holds two device paths, a vendor hardware node and
     * then the ESP file; OptionalData is Windows' "WINDOWS" BCD blob. */
    struct tl_efi_variable v;
    struct tl_load_option opt;
    struct tl_error err = {0};
    _cleanup_free_ uint8_t *b = NULL;
    boot_variable(AGILE_LOG, 13354, 372, "Boot0000", &b, &v);
    assert_int_equal(tl_load_option_parse(v.data, (size_t)v.data_len, &opt, &err), 0);
    assert_int_equal(opt.attributes, 0x9); /* ACTIVE | CATEGORY bit 3 (FORCE_RECONNECT) */
    assert_string_equal(opt.description, "Windows Boot Manager");
    assert_int_equal(opt.file_path_len, 140);
    assert_int_equal(opt.optional_data_len, 136);
    assert_memory_equal(opt.optional_data, "WINDOWS\0", 8);

    _cleanup_free_ char *t = NULL, *fp = NULL;
    assert_int_equal(tl_device_path_to_text(opt.file_path, opt.file_path_len, &t, &err), 0);
    assert_string_equal(t, "VenHw(99e275e7-75a0-4b37-a2e6-c5385e6c00cb)");
    assert_int_equal(tl_device_path_file(opt.file_path, opt.file_path_len, &fp, &err), 0);
    assert_null(fp);

    /* The second device path starts after the first's End node (24 bytes). */
    _cleanup_free_ char *t2 = NULL, *fp2 = NULL;
    assert_int_equal(tl_device_path_to_text(opt.file_path + 24, opt.file_path_len - 24u, &t2, &err),
                     0);
    assert_string_equal(t2, "HD(1,GPT,49a0e750-f7a0-480d-9a0e-c738229de7bd,0x800,0x82000)/"
                            "\\EFI\\Microsoft\\Boot\\bootmgfw.efi");
    assert_int_equal(tl_device_path_file(opt.file_path + 24, opt.file_path_len - 24u, &fp2, &err),
                     0);
    assert_string_equal(fp2, "\\EFI\\Microsoft\\Boot\\bootmgfw.efi");
    tl_load_option_done(&opt);
}

static void test_load_option_other_firmware(void **state)
{
    (void)state;
    struct tl_efi_variable v;
    struct tl_load_option opt;
    struct tl_error err = {0};

    /* GCE: a legacy BBS option. */
    _cleanup_free_ uint8_t *g = NULL;
    boot_variable(GCE_LOG, 7943, 131, "Boot0002", &g, &v);
    assert_int_equal(tl_load_option_parse(v.data, (size_t)v.data_len, &opt, &err), 0);
    assert_int_equal(opt.attributes, 0x1);
    assert_string_equal(opt.description, "VirtScsi(0,3,0) Disk");
    assert_int_equal(opt.file_path_len, 33);
    assert_int_equal(opt.optional_data_len, 2);
    assert_hex(opt.optional_data, 2, "1100");
    _cleanup_free_ char *t = NULL;
    assert_int_equal(tl_device_path_to_text(opt.file_path, opt.file_path_len, &t, &err), 0);
    assert_string_equal(t, "BBS(HD,VirtScsi(0,3,0) Disk,0x0)");
    tl_load_option_done(&opt);

    /* Supermicro-style PXE over IPv6. */
    _cleanup_free_ uint8_t *p = NULL;
    boot_variable(POSTCODE_LOG, 15646, 445, "Boot0007", &p, &v);
    assert_int_equal(tl_load_option_parse(v.data, (size_t)v.data_len, &opt, &err), 0);
    assert_string_equal(opt.description,
                        "UEFI: PXE IP6 Intel(R) I350 Gigabit Network Connection - 0CC47AFF601C");
    assert_int_equal(opt.file_path_len, 247);
    assert_hex(opt.optional_data, opt.optional_data_len, "0000424f");
    _cleanup_free_ char *t6 = NULL;
    assert_int_equal(tl_device_path_to_text(opt.file_path, opt.file_path_len, &t6, &err), 0);
    assert_string_equal(t6, "PciRoot(0x3)/Pci(0x0,0x0)/Pci(0x0,0x0)/MAC(0cc47aff601c,0x1)/"
                            "IPv6(0000:0000:0000:0000:0000:0000:0000:0000,0x0,Static,"
                            "0000:0000:0000:0000:0000:0000:0000:0000,0x40,"
                            "0000:0000:0000:0000:0000:0000:0000:0000)");
    tl_load_option_done(&opt);
}

static void test_load_option_errors(void **state)
{
    (void)state;
    struct tl_efi_variable v;
    struct tl_load_option opt;
    struct tl_error err;
    _cleanup_free_ uint8_t *rec = NULL;
    boot_variable(OVMF_LOG, 9529, 156, "Boot0001", &rec, &v);
    const size_t len = (size_t)v.data_len; /* 108 = 6 + 54 description + 32 paths + 16 */

    /* Every truncation: before the end of FilePathList it fails; after, the
     * option is valid with less OptionalData. */
    for (size_t l = 0; l <= len; l++) {
        _cleanup_free_ uint8_t *b = dup_exact(v.data, l);
        int r = tl_load_option_parse(b, l, &opt, &err);
        if (l < 92) {
            assert_int_equal(r, -EBADMSG);
            assert_true(err.has_offset);
        } else {
            assert_int_equal(r, 0);
            assert_int_equal(opt.optional_data_len, l - 92);
            tl_load_option_done(&opt);
        }
    }

    /* A description that never terminates. */
    size_t n;
    _cleanup_free_ uint8_t *nonul = unhex("010000000400410042004300", &n);
    assert_int_equal(tl_load_option_parse(nonul, n, &opt, &err), -EBADMSG);
    assert_string_equal(err.message,
                        "load option: Description not NUL-terminated within the 12 bytes");
    /* ... nor with an odd trailing byte. */
    _cleanup_free_ uint8_t *odd = unhex("01000000040041004200430000", &n);
    assert_int_equal(tl_load_option_parse(odd, n, &opt, &err), -EBADMSG);

    /* FilePathListLength past the end, and 0. */
    _cleanup_free_ uint8_t *b = dup_exact(v.data, len);
    b[4] = 0xff;
    assert_int_equal(tl_load_option_parse(b, len, &opt, &err), -EBADMSG);
    assert_string_equal(err.message, "load option: FilePathListLength 255 overruns the 48 bytes "
                                     "after the description");
    assert_int_equal(err.offset, 4);
    b[4] = 0;
    assert_int_equal(tl_load_option_parse(b, len, &opt, &err), -EBADMSG);
    assert_string_equal(err.message, "load option: FilePathListLength is 0");

    /* A FilePathList whose second node has Length 2. */
    memcpy(b, v.data, len);
    b[60 + 12 + 2] = 2;
    assert_int_equal(tl_load_option_parse(b, len, &opt, &err), -EBADMSG);
    assert_int_equal(err.offset, 72);
    /* ... or whose nodes do not fill it (FilePathListLength one short). */
    memcpy(b, v.data, len);
    b[4] = 31;
    assert_int_equal(tl_load_option_parse(b, len, &opt, &err), -EBADMSG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_guid_constants),
        cmocka_unit_test(test_guid_read_equal),
        cmocka_unit_test(test_variable_secureboot),
        cmocka_unit_test(test_variable_db_into_siglist),
        cmocka_unit_test(test_variable_errors),
        cmocka_unit_test(test_variable_real_shim_trailing_bytes),
        cmocka_unit_test(test_sigdb_efivars_db),
        cmocka_unit_test(test_sigdb_efivars_dbx),
        cmocka_unit_test(test_sigdb_dbxupdate_2020),
        cmocka_unit_test(test_sigdb_other_updates),
        cmocka_unit_test(test_sigdb_every_truncation),
        cmocka_unit_test(test_sigdb_errors),
        cmocka_unit_test(test_sigdb_kinds),
        cmocka_unit_test(test_devpath_real),
        cmocka_unit_test(test_devpath_synthetic_nodes),
        cmocka_unit_test(test_devpath_structure),
        cmocka_unit_test(test_devpath_file_join),
        cmocka_unit_test(test_devpath_errors),
        cmocka_unit_test(test_devpath_every_truncation),
        cmocka_unit_test(test_load_option_ovmf),
        cmocka_unit_test(test_load_option_windows),
        cmocka_unit_test(test_load_option_other_firmware),
        cmocka_unit_test(test_load_option_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
