/* Unit tests for lib/pe: PE/COFF layout, the attribute certificate table,
 * .sbat / .sbatlevel / .vendor_cert (pe.c) and the Authenticode digest
 * (authenticode.c; Authenticode PE spec 1.0, "Calculating the PE Image
 * Hash", as EDK2's DxeImageVerificationLib HashPeImage does it).
 *
 * The images are Debian 12's real signed shim, grub and kernel, read from
 * $TL_FIXTURES (scripts/fixtures.sh); a missing fixture is a failure, not a
 * skip. The expected values come from elsewhere:
 *  - SHA-256 digests: `pesign -h -i FILE` (also the digests in the real OVMF
 *    boot log and scripts/fixtures.sh);
 *  - SHA-1/384/512 digests: the same boot's event log (records 26, 32, 43),
 *    read with tl_eventlog_parse; SHA-1 also spelled out below;
 *  - the signatures: `pesign -S` lists two for shim (signers "Microsoft
 *    Windows UEFI Driver Publisher" and "Microsoft UEFI CA 2023 signer"), one
 *    for grub and the kernel; the test decodes each PKCS#7 with OpenSSL and
 *    checks the signer and that the digest the signature signs (the
 *    SpcIndirectDataContent's DigestInfo) is the digest computed here;
 *  - section layout: `objdump -h`; .vendor_cert: openssl x509 on the bytes.
 *
 * Malformed images are edited copies of the real ones; parse input is always
 * an exact-size allocation so that ASan catches any read past the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <errno.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tl/digest.h"
#include "tl/efi.h"
#include "tl/eventlog.h"
#include "tl/pe.h"
#include "tl/util.h"
#include "tl/x509.h"
#include "vectors.h"

#define SHIM   "shimx64.efi.signed"
#define GRUB   "grubx64.efi.signed"
#define KERNEL "measured/vmlinuz" /* the kernel of the recorded OVMF boot */

#define OVMF_LOG "eventlog/ovmf-debian12/secureboot-on.eventlog.bin"

/* ---- helpers ---- */

static const char *fixtures_dir(void)
{
    const char *dir = getenv("TL_FIXTURES");
    struct stat st;
    if (!dir || !*dir)
        fail_msg("TL_FIXTURES is not set: run `bash scripts/fixtures.sh DIR` and configure "
                 "with -Dfixtures=DIR (the PE tests need Debian's signed shim, grub, kernel)");
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
        fail_msg("TL_FIXTURES=%s is not a directory: run `bash scripts/fixtures.sh %s`", dir, dir);
    return dir;
}

/* Reads a fixture into an exact-size allocation; fails the test when it
 * cannot. */
static uint8_t *fixture_read(const char *name, size_t *len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", fixtures_dir(), name);
    uint8_t *buf = file_read(path, len);
    if (!buf)
        fail_msg("cannot read fixture %s: run `bash scripts/fixtures.sh %s`", path, fixtures_dir());
    uint8_t *exact = malloc(*len);
    assert_non_null(exact);
    memcpy(exact, buf, *len);
    free(buf);
    return exact;
}

static void parse_ok(const uint8_t *buf, size_t len, struct tl_pe *pe)
{
    struct tl_error err = {0};
    int r = tl_pe_parse(buf, len, pe, &err);
    if (r < 0)
        fail_msg("tl_pe_parse: %s (offset %zu)", err.message, err.offset);
}

/* Parses a copy and expects a failure with code, a message containing
 * needle (when not NULL) and, when has_offset, that offset. */
static void parse_fails(const uint8_t *buf, size_t len, int code, bool has_offset, size_t offset,
                        const char *needle)
{
    uint8_t *c = dup_exact(buf, len);
    struct tl_pe pe;
    struct tl_error err = {0};
    int r = tl_pe_parse(c, len, &pe, &err);
    if (r >= 0)
        fail_msg("tl_pe_parse accepted an image that should fail (%s)", needle);
    assert_int_equal(r, code);
    assert_true(err.message[0] != '\0');
    if (needle && !strstr(err.message, needle))
        fail_msg("error \"%s\" does not mention \"%s\"", err.message, needle);
    if (has_offset) {
        assert_true(err.has_offset);
        assert_int_equal(err.offset, offset);
    }
    assert_null(pe.sections);
    assert_null(pe.signatures);
    free(c);
}

static void digest_hex(const struct tl_pe *pe, uint16_t alg, char *hex)
{
    uint8_t out[TL_DIGEST_MAX];
    struct tl_error err = {0};
    int r = tl_pe_authenticode_digest(pe, NULL, alg, out, &err);
    if (r < 0)
        fail_msg("digest: %s", err.message);
    assert_int_equal(r, tl_alg_digest_size(alg));
    tl_hex_encode(out, (size_t)r, hex);
}

static void assert_digest(const struct tl_pe *pe, uint16_t alg, const char *want)
{
    char hex[2 * TL_DIGEST_MAX + 1];
    digest_hex(pe, alg, hex);
    assert_string_equal(hex, want);
}

/* Offsets in the images' headers (all three: e_lfanew 0x80 or 0x40, PE32+). */
struct hdr {
    size_t coff, opt, sections, secdir;
};

static struct hdr hdr_of(const uint8_t *buf)
{
    struct hdr h;
    h.coff = tl_le32(buf + 0x3c) + 4;
    h.opt = h.coff + 20;
    h.sections = h.opt + tl_le16(buf + h.coff + 16);
    h.secdir = h.opt + 112 + 4 * 8;
    return h;
}

/* ---- the real images ---- */

static void test_fixtures_configured(void **state)
{
    (void)state;
    const char *names[] = {SHIM, GRUB, KERNEL};
    for (size_t i = 0; i < TL_ARRAY_SIZE(names); i++) {
        size_t len;
        free(fixture_read(names[i], &len));
    }
}

static void test_shim_layout(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = fixture_read(SHIM, &len);
    struct tl_pe pe;
    parse_ok(buf, len, &pe);

    assert_int_equal(len, 1048504);
    assert_true(pe.pe32_plus);
    assert_int_equal(pe.machine, 0x8664);
    assert_int_equal(pe.subsystem, 10); /* EFI application */
    assert_int_equal(pe.size_of_headers, 0x1000);
    assert_int_equal(pe.checksum_offset, 0x80 + 4 + 20 + 64);
    assert_int_equal(pe.secdir_offset, 0x80 + 4 + 20 + 112 + 32);

    /* objdump -h: long names come from the COFF string table. */
    static const struct {
        const char *name;
        uint32_t raw_offset, raw_size, virtual_size;
    } want[] = {
        {".eh_frame", 0x1000, 0x20000, 0x1f45c},   {".text", 0x21000, 0x66000, 0x65122},
        {".reloc", 0x87000, 0x1000, 0xa},          {".data.ident", 0x88000, 0x1000, 0x6b},
        {".sbatlevel", 0x89000, 0x1000, 0x5d},     {".data", 0x8a000, 0x31000, 0x30a14},
        {".vendor_cert", 0xbb000, 0x3000, 0x258a}, {".dynamic", 0xbe000, 0x1000, 0x100},
        {".rela", 0xbf000, 0x1c000, 0x1bff0},      {".sbat", 0xdb000, 0x1000, 0xc6},
    };
    assert_int_equal(pe.n_sections, TL_ARRAY_SIZE(want));
    for (size_t i = 0; i < pe.n_sections; i++) {
        assert_string_equal(pe.sections[i].name, want[i].name);
        assert_int_equal(pe.sections[i].raw_offset, want[i].raw_offset);
        assert_int_equal(pe.sections[i].raw_size, want[i].raw_size);
        assert_int_equal(pe.sections[i].virtual_size, want[i].virtual_size);
        assert_ptr_equal(tl_pe_find_section(&pe, want[i].name), &pe.sections[i]);
    }
    assert_null(tl_pe_find_section(&pe, ".bss"));
    assert_null(tl_pe_find_section(&pe, "/4"));

    /* Two signatures (pesign -S), the table ending the file. */
    assert_int_equal(pe.cert_table_offset, 0xfb410);
    assert_int_equal(pe.cert_table_size, 0x4ba8);
    assert_int_equal(pe.cert_table_offset + pe.cert_table_size, len);
    assert_int_equal(pe.n_signatures, 2);
    assert_int_equal(pe.signatures[0].offset, 0xfb410);
    assert_int_equal(pe.signatures[0].length, 9792);
    assert_int_equal(pe.signatures[1].offset, 0xfb410 + 9792);
    assert_int_equal(pe.signatures[1].length, 9576);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(pe.signatures[i].revision, 0x0200);
        assert_int_equal(pe.signatures[i].type, TL_WIN_CERT_TYPE_PKCS_SIGNED_DATA);
        assert_ptr_equal(pe.signatures[i].data, buf + pe.signatures[i].offset + 8);
        assert_int_equal(pe.signatures[i].data_len, pe.signatures[i].length - 8);
        assert_int_equal(pe.signatures[i].data[0], 0x30); /* DER SEQUENCE */
    }

    /* .sbat up to the first NUL; .sbatlevel as loaded (VirtualSize). */
    const char sbat[] = "sbat,1,SBAT Version,sbat,1,https://github.com/rhboot/shim/blob/main/"
                        "SBAT.md\nshim,4,UEFI shim,shim,1,https://github.com/rhboot/shim\n"
                        "shim.debian,1,Debian,shim,16.1,https://tracker.debian.org/pkg/shim\n";
    assert_int_equal(pe.sbat_len, strlen(sbat));
    assert_memory_equal(pe.sbat, sbat, pe.sbat_len);
    assert_ptr_equal(pe.sbat, buf + 0xdb000);
    assert_ptr_equal(pe.sbatlevel, buf + 0x89000);
    assert_int_equal(pe.sbatlevel_len, 0x5d);
    assert_int_equal(tl_le32(pe.sbatlevel), 0); /* version */
    assert_string_equal((const char *)pe.sbatlevel + 4 + tl_le32(pe.sbatlevel + 4),
                        "sbat,1,2025021800\nshim,4\ngrub,5\n");
    assert_string_equal((const char *)pe.sbatlevel + 4 + tl_le32(pe.sbatlevel + 8),
                        "sbat,1,2025051000\nshim,4\ngrub,5\ngrub.proxmox,2\n");

    tl_pe_done(&pe);
    assert_null(pe.sections);
    assert_int_equal(pe.n_sections, 0);
    free(buf);
}

static void test_shim_vendor_cert(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = fixture_read(SHIM, &len);
    struct tl_pe pe;
    parse_ok(buf, len, &pe);

    assert_true(pe.has_vendor_cert_section);
    /* cert_table {930, 8664, 0x10, 0x3b2} at the start of the section. */
    assert_ptr_equal(pe.vendor_cert, buf + 0xbb000 + 0x10);
    assert_int_equal(pe.vendor_cert_len, 930);
    assert_ptr_equal(pe.vendor_dbx, buf + 0xbb000 + 0x3b2);
    assert_int_equal(pe.vendor_dbx_len, 8664);

    struct tl_x509_info info;
    struct tl_error err = {0};
    if (tl_x509_describe(pe.vendor_cert, pe.vendor_cert_len, &info, &err) < 0)
        fail_msg("vendor cert: %s", err.message);
    assert_non_null(info.common_name);
    assert_string_equal(info.common_name, "Debian Secure Boot CA");
    char fp[65];
    tl_hex_encode(info.sha256, 32, fp); /* sha256sum of the DER */
    assert_string_equal(fp, "079646974bce09b1f04da67bd722d1fb0947ae4c4010bccdbba52d5b23cbf1a2");
    tl_x509_info_done(&info);

    /* The vendor dbx: 114 EFI_CERT_SHA256 entries, one per list. */
    struct tl_sig_db db;
    if (tl_sig_db_parse(pe.vendor_dbx, pe.vendor_dbx_len, &db, &err) < 0)
        fail_msg("vendor dbx: %s", err.message);
    assert_int_equal(db.n_entries, 114);
    assert_int_equal(db.n_lists, 114);
    for (size_t i = 0; i < db.n_entries; i++)
        assert_int_equal(db.entries[i].kind, TL_SIG_SHA256);
    tl_sig_db_done(&db);

    tl_pe_done(&pe);
    free(buf);
}

static void test_grub_layout(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = fixture_read(GRUB, &len);
    struct tl_pe pe;
    parse_ok(buf, len, &pe);

    assert_true(pe.pe32_plus);
    assert_int_equal(pe.n_sections, 5);
    const char *names[] = {".text", ".data", "mods", ".sbat", ".reloc"};
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(pe.sections[i].name, names[i]);
    assert_int_equal(pe.n_signatures, 1);
    assert_int_equal(pe.signatures[0].offset, 0x3fd000);
    assert_int_equal(pe.signatures[0].length, 1472);
    assert_int_equal(pe.cert_table_offset + pe.cert_table_size, len);

    assert_non_null(pe.sbat);
    assert_true(pe.sbat_len > 7);
    assert_memory_equal(pe.sbat, "sbat,1,", 7);
    assert_null(memchr(pe.sbat, 0, pe.sbat_len));
    assert_int_equal(pe.sbat[pe.sbat_len], 0); /* stopped at the NUL padding */
    assert_non_null(strstr((const char *)pe.sbat, "\ngrub,"));
    assert_null(pe.sbatlevel);
    assert_false(pe.has_vendor_cert_section);
    assert_null(pe.vendor_cert);
    assert_null(pe.vendor_dbx);

    tl_pe_done(&pe);
    free(buf);
}

static void test_kernel_layout(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = fixture_read(KERNEL, &len);
    struct tl_pe pe;
    parse_ok(buf, len, &pe);

    assert_true(pe.pe32_plus);
    assert_int_equal(pe.machine, 0x8664);
    assert_int_equal(pe.n_sections, 4);
    assert_string_equal(pe.sections[0].name, ".setup");
    assert_string_equal(pe.sections[3].name, ".data");
    /* NumberOfRvaAndSizes is 6: the directory is still there. */
    assert_int_equal(pe.secdir_offset, 0x40 + 4 + 20 + 112 + 32);
    assert_int_equal(pe.n_signatures, 1);
    assert_int_equal(pe.signatures[0].offset, 0x7dd200);
    assert_int_equal(pe.signatures[0].length, 1472);
    assert_int_equal(pe.cert_table_offset + pe.cert_table_size, len);
    assert_null(pe.sbat);
    assert_false(pe.has_vendor_cert_section);

    tl_pe_done(&pe);
    free(buf);
}

/* ---- digests ---- */

struct known_image {
    const char *file;
    uint32_t event; /* its EV_EFI_BOOT_SERVICES_APPLICATION in the OVMF log */
    const char *sha1, *sha256;
};

static const struct known_image images[] = {
    {SHIM, 26, "04c4d45bd6e47fe0416305d56f4ec58c9cf1359a",
     "80a66d53a945d2286fcadd780fae1c225aa732079cd67b5225dc78aaab4e2ff8"},
    {GRUB, 32, "027615a9dbab9c0c7c8a148884c6b53471009403",
     "a68f6d71ebddaa19751ff8d729f67d11b0df8e4c49400c3e7e90de16119e1265"},
    {KERNEL, 43, "d731efcdc06878f1a399f810a56195865761561f",
     "6b1bf35c3bee9918250f593a6fff889c75c1e239cd2fe9e5bb0cd3de9dcb8e51"},
};

static void test_digests_match_pesign(void **state)
{
    (void)state;
    struct tl_hasher *h = tl_hasher_new();
    assert_non_null(h);
    for (size_t i = 0; i < TL_ARRAY_SIZE(images); i++) {
        size_t len;
        uint8_t *buf = fixture_read(images[i].file, &len);
        struct tl_pe pe;
        parse_ok(buf, len, &pe);
        assert_digest(&pe, TL_ALG_SHA256, images[i].sha256);
        assert_digest(&pe, TL_ALG_SHA1, images[i].sha1);

        /* With a caller's hasher, twice (the stream is reset each time). */
        uint8_t out[TL_DIGEST_MAX];
        char hex[2 * TL_DIGEST_MAX + 1];
        for (int k = 0; k < 2; k++) {
            assert_int_equal(tl_pe_authenticode_digest(&pe, h, TL_ALG_SHA256, out, NULL), 32);
            tl_hex_encode(out, 32, hex);
            assert_string_equal(hex, images[i].sha256);
        }
        tl_pe_done(&pe);
        free(buf);
    }
    tl_hasher_free(h);
}

static void test_digests_match_event_log(void **state)
{
    (void)state;
    size_t log_len;
    uint8_t *log_buf = vector_read(OVMF_LOG, &log_len);
    struct tl_eventlog log;
    assert_int_equal(tl_eventlog_parse(log_buf, log_len, &log, NULL), 0);
    const uint16_t banks[] = {TL_ALG_SHA1, TL_ALG_SHA256, TL_ALG_SHA384, TL_ALG_SHA512};
    assert_int_equal(log.n_banks, 4);
    for (unsigned b = 0; b < 4; b++)
        assert_int_equal(log.banks[b].alg, banks[b]);

    struct tl_hasher *h = tl_hasher_new();
    assert_non_null(h);
    for (size_t i = 0; i < TL_ARRAY_SIZE(images); i++) {
        const struct tl_event *ev = &log.events[images[i].event];
        assert_int_equal(ev->type, TL_EV_EFI_BOOT_SERVICES_APPLICATION);
        assert_int_equal(ev->pcr, 4);

        size_t len;
        uint8_t *buf = fixture_read(images[i].file, &len);
        struct tl_pe pe;
        parse_ok(buf, len, &pe);
        for (unsigned b = 0; b < 4; b++) {
            uint8_t out[TL_DIGEST_MAX];
            struct tl_error err = {0};
            int r = tl_pe_authenticode_digest(&pe, h, banks[b], out, &err);
            assert_int_equal(r, tl_alg_digest_size(banks[b]));
            const uint8_t *logged = tl_event_digest(&log, ev, b);
            assert_non_null(logged);
            if (memcmp(out, logged, (size_t)r) != 0)
                fail_msg("%s: %s digest differs from event %u", images[i].file,
                         tl_alg_name(banks[b]), images[i].event);
        }
        /* The same sha1 as spelled out (from the log, by hand). */
        char hex[41];
        tl_hex_encode(tl_event_digest(&log, ev, 0), 20, hex);
        assert_string_equal(hex, images[i].sha1);
        tl_pe_done(&pe);
        free(buf);
    }
    tl_hasher_free(h);
    tl_eventlog_done(&log);
    free(log_buf);
}

/* The digest a signature signs: SpcIndirectDataContent's DigestInfo is the
 * first sha256 AlgorithmIdentifier in the SignedData followed by an OCTET
 * STRING of 32 bytes (the digestAlgorithms SET's is followed by the
 * contentInfo SEQUENCE). */
static const uint8_t *signed_sha256(const struct tl_pe_signature *sig)
{
    static const uint8_t pattern[] = {0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03,
                                      0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
    const uint8_t *p = memmem(sig->data, sig->data_len, pattern, sizeof(pattern));
    if (!p || (size_t)(p - sig->data) + sizeof(pattern) + 32 > sig->data_len)
        return NULL;
    return p + sizeof(pattern);
}

static void signer_cn(const struct tl_pe_signature *sig, char *cn, size_t size)
{
    const unsigned char *p = sig->data;
    PKCS7 *p7 = d2i_PKCS7(NULL, &p, (long)sig->data_len);
    assert_non_null(p7);
    assert_true(PKCS7_type_is_signed(p7));
    STACK_OF(X509) *signers = PKCS7_get0_signers(p7, NULL, 0);
    assert_non_null(signers);
    assert_int_equal(sk_X509_num(signers), 1);
    X509_NAME *subject = X509_get_subject_name(sk_X509_value(signers, 0));
    assert_true(X509_NAME_get_text_by_NID(subject, NID_commonName, cn, (int)size) > 0);
    sk_X509_free(signers);
    PKCS7_free(p7);
}

static void test_signatures_sign_this_digest(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        size_t n;
        const char *signers[2];
    } want[] = {
        {SHIM, 2, {"Microsoft Windows UEFI Driver Publisher", "Microsoft UEFI CA 2023 signer"}},
        {GRUB, 1, {"Debian Secure Boot Signer 2022 - grub2"}},
        {KERNEL, 1, {"Debian Secure Boot Signer 2022 - linux"}},
    };
    for (size_t i = 0; i < TL_ARRAY_SIZE(want); i++) {
        size_t len;
        uint8_t *buf = fixture_read(want[i].file, &len);
        struct tl_pe pe;
        parse_ok(buf, len, &pe);
        uint8_t digest[TL_DIGEST_MAX];
        assert_int_equal(tl_pe_authenticode_digest(&pe, NULL, TL_ALG_SHA256, digest, NULL), 32);
        assert_int_equal(pe.n_signatures, want[i].n);
        for (size_t k = 0; k < pe.n_signatures; k++) {
            const uint8_t *signed_digest = signed_sha256(&pe.signatures[k]);
            assert_non_null(signed_digest);
            assert_memory_equal(signed_digest, digest, 32);
            char cn[256];
            signer_cn(&pe.signatures[k], cn, sizeof(cn));
            assert_string_equal(cn, want[i].signers[k]);
        }
        tl_pe_done(&pe);
        free(buf);
    }
}

/* The kernel without its signature: security directory entry zeroed, the
 * table cut off. */
static uint8_t *unsigned_kernel(size_t *len, size_t extra)
{
    size_t full;
    uint8_t *buf = fixture_read(KERNEL, &full);
    struct hdr h = hdr_of(buf);
    uint32_t table = tl_le32(buf + h.secdir);
    assert_int_equal(table, 0x7dd200);
    memset(buf + h.secdir, 0, 8);
    *len = table + extra;
    uint8_t *out = malloc(*len);
    assert_non_null(out);
    memcpy(out, buf, table);
    free(buf);
    return out;
}

static void test_unsigned_kernel(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = unsigned_kernel(&len, 0);
    struct tl_pe pe;
    parse_ok(buf, len, &pe);
    assert_int_equal(pe.n_signatures, 0);
    assert_null(pe.signatures);
    assert_int_equal(pe.cert_table_offset, 0);
    assert_int_equal(pe.cert_table_size, 0);
    /* pesign -h on this file: the signed kernel's digest (the directory
     * entry is excluded and there is no data after the sections). */
    assert_digest(&pe, TL_ALG_SHA256,
                  "6b1bf35c3bee9918250f593a6fff889c75c1e239cd2fe9e5bb0cd3de9dcb8e51");
    tl_pe_done(&pe);
    free(buf);

    /* With 13 bytes of extra data after the sections (not 8-aligned): they
     * are hashed. pesign -h gives the same. */
    buf = unsigned_kernel(&len, 13);
    memcpy(buf + len - 13, "trailing data", 13);
    parse_ok(buf, len, &pe);
    assert_int_equal(pe.n_signatures, 0);
    assert_digest(&pe, TL_ALG_SHA256,
                  "4d6a12ee18eede5cfb24694d28f07274ae1b563a1dc94017f5509aa74d404116");
    tl_pe_done(&pe);
    free(buf);

    /* A zero Size with a stale VirtualAddress is still unsigned. */
    buf = unsigned_kernel(&len, 0);
    put32(buf + hdr_of(buf).secdir, 0x12345678);
    parse_ok(buf, len, &pe);
    assert_int_equal(pe.n_signatures, 0);
    assert_digest(&pe, TL_ALG_SHA256,
                  "6b1bf35c3bee9918250f593a6fff889c75c1e239cd2fe9e5bb0cd3de9dcb8e51");
    tl_pe_done(&pe);
    free(buf);
}

/* NumberOfRvaAndSizes = 4: no security directory. EDK2 (HashPeImage step 6)
 * then hashes from after CheckSum to SizeOfHeaders. The expected value was
 * computed with an independent Python transcription of HashPeImage; pesign
 * gives a9ebfa24... instead, because it skips the 8 bytes where directory 4
 * would be even when the header has no such directory (here: the start of
 * the first section header). The firmware's answer is the one measured. */
static void test_no_security_directory(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = unsigned_kernel(&len, 0);
    struct hdr h = hdr_of(buf);
    uint16_t n_sections = tl_le16(buf + h.coff + 2);
    put32(buf + h.opt + 108, 4);           /* NumberOfRvaAndSizes */
    put16(buf + h.coff + 16, 112 + 4 * 8); /* SizeOfOptionalHeader */
    memmove(buf + h.sections - 16, buf + h.sections, 40 * (size_t)n_sections);
    memset(buf + h.sections - 16 + 40 * (size_t)n_sections, 0, 16);

    struct tl_pe pe;
    parse_ok(buf, len, &pe);
    assert_int_equal(pe.secdir_offset, 0);
    assert_int_equal(pe.n_signatures, 0);
    assert_int_equal(pe.n_sections, n_sections);
    assert_string_equal(pe.sections[0].name, ".setup");
    assert_digest(&pe, TL_ALG_SHA256,
                  "0cb2ef11d6228ac8454a066de741b7cc9340ec86922b95ecbbe2ca11ec2a89b7");
    tl_pe_done(&pe);
    free(buf);
}

static void test_unsupported_algorithm(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = fixture_read(GRUB, &len);
    struct tl_pe pe;
    parse_ok(buf, len, &pe);
    uint8_t out[TL_DIGEST_MAX];
    struct tl_error err = {0};
    assert_int_equal(tl_pe_authenticode_digest(&pe, NULL, 0x1234, out, &err), -EOPNOTSUPP);
    assert_non_null(strstr(err.message, "0x1234"));
    assert_int_equal(tl_pe_authenticode_digest(&pe, NULL, 0, out, NULL), -EOPNOTSUPP);
    tl_pe_done(&pe);
    free(buf);
}

/* ---- malformed images ---- */

/* Every prefix up to 4096, then every 4096th: all fail (the certificate
 * table ends the file), with a message, and read nothing past the end. */
static void test_shim_truncated(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = fixture_read(SHIM, &len);
    for (size_t n = 0; n < len; n = n < 4096 ? n + 1 : n + 4096) {
        uint8_t *c = dup_exact(buf, n);
        struct tl_pe pe;
        struct tl_error err = {0};
        int r = tl_pe_parse(c, n, &pe, &err);
        if (r >= 0)
            fail_msg("shim cut at %zu bytes was accepted", n);
        assert_int_equal(r, -EBADMSG);
        assert_true(err.message[0] != '\0');
        assert_null(pe.sections);
        free(c);
    }
    free(buf);
}

static void test_header_errors(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = fixture_read(GRUB, &len);
    struct hdr h = hdr_of(buf);
    uint8_t *c = dup_exact(buf, len);

    c[0] = 'Z';
    parse_fails(c, len, -EBADMSG, true, 0, "MZ");
    memcpy(c, buf, len);
    put32(c + 0x3c, (uint32_t)len - 8);
    parse_fails(c, len, -EBADMSG, true, 0x3c, "e_lfanew");
    put32(c + 0x3c, 0xfffffff0);
    parse_fails(c, len, -EBADMSG, true, 0x3c, "e_lfanew");
    memcpy(c, buf, len);
    c[h.coff - 2] = 'X';
    parse_fails(c, len, -EBADMSG, true, h.coff - 4, "PE\\0\\0");
    memcpy(c, buf, len);
    put16(c + h.opt, 0x107); /* ROM image */
    parse_fails(c, len, -EBADMSG, true, h.opt, "magic 0x0107");
    memcpy(c, buf, len);
    put32(c + h.opt + 108, 17);
    parse_fails(c, len, -EBADMSG, true, h.opt + 108, "NumberOfRvaAndSizes 17");
    memcpy(c, buf, len);
    put32(c + h.opt + 108, 15); /* no longer matches SizeOfOptionalHeader 240 */
    parse_fails(c, len, -EBADMSG, true, h.coff + 16, "SizeOfOptionalHeader 240");
    memcpy(c, buf, len);
    put16(c + h.coff + 16, 90); /* shorter than a PE32+ header */
    parse_fails(c, len, -EBADMSG, true, h.coff + 16, "shorter");
    memcpy(c, buf, len);
    put16(c + h.coff + 16, 0xfff0); /* past SizeOfHeaders */
    parse_fails(c, len, -EBADMSG, true, h.coff + 16, NULL);
    memcpy(c, buf, len);
    put32(c + h.opt + 60, 0x100); /* SizeOfHeaders before the section table */
    parse_fails(c, len, -EBADMSG, true, h.coff + 2, "SizeOfHeaders 0x100");
    memcpy(c, buf, len);
    put32(c + h.opt + 56, 0x1000); /* SizeOfImage == SizeOfHeaders */
    parse_fails(c, len, -EBADMSG, true, h.opt + 60, "SizeOfImage");
    memcpy(c, buf, len);

    /* SizeOfHeaders past the end of a file cut right after the headers. */
    put32(c + h.opt + 60, 0x2000);
    parse_fails(c, 0x1800, -EBADMSG, true, h.opt + 60, "SizeOfHeaders 0x2000");
    free(c);
    free(buf);
}

static void test_too_many_sections(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = fixture_read(SHIM, &len);
    struct hdr h = hdr_of(buf);
    uint8_t *c = dup_exact(buf, len);
    /* 0x1000 - 0x188 leaves room for 92 section headers. */
    uint16_t counts[] = {0xffff, 0x8000, 93};
    for (size_t i = 0; i < TL_ARRAY_SIZE(counts); i++) {
        put16(c + h.coff + 2, counts[i]);
        parse_fails(c, len, -EBADMSG, true, h.coff + 2, "section table");
    }
    /* 92 fit: the extra (zero) headers have no raw data and parse. */
    put16(c + h.coff + 2, 92);
    struct tl_pe pe;
    parse_ok(c, len, &pe);
    assert_int_equal(pe.n_sections, 92);
    assert_string_equal(pe.sections[91].name, "");
    tl_pe_done(&pe);
    free(c);
    free(buf);
}

static void test_section_errors(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = fixture_read(GRUB, &len);
    struct hdr h = hdr_of(buf);
    uint8_t *c = dup_exact(buf, len);
    size_t text = h.sections, mods = h.sections + 2 * 40;

    /* Raw data overrunning the file, the header's offset reported. */
    put32(c + mods + 16, (uint32_t)len);
    parse_fails(c, len, -EBADMSG, true, mods, "overruns the file");
    /* 32-bit wraparound of PointerToRawData + SizeOfRawData. */
    put32(c + mods + 20, 0xfffff000);
    put32(c + mods + 16, 0x2000);
    parse_fails(c, len, -EBADMSG, true, mods, "overruns the file");
    memcpy(c, buf, len);
    /* Raw data inside the headers. */
    put32(c + text + 20, 0x800);
    parse_fails(c, len, -EBADMSG, true, text, "inside the headers");
    memcpy(c, buf, len);
    put32(c + text + 12, 0x800); /* VirtualAddress */
    parse_fails(c, len, -EBADMSG, true, text, "VirtualAddress");
    memcpy(c, buf, len);

    /* A section reaching into the certificate table. */
    put32(c + h.sections + 4 * 40 + 16, 0x1000 + 8);
    put32(c + h.sections + 4 * 40 + 20, 0x3fc000); /* .reloc */
    parse_fails(c, len, -EBADMSG, true, h.secdir, "overlaps");
    memcpy(c, buf, len);

    /* SizeOfRawData 0: PointerToRawData is not looked at. */
    put32(c + text + 16, 0);
    put32(c + text + 20, 0xffffffff);
    struct tl_pe pe;
    parse_ok(c, len, &pe);
    tl_pe_done(&pe);
    free(c);
    free(buf);
}

static void test_certificate_table_errors(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = fixture_read(GRUB, &len);
    struct hdr h = hdr_of(buf);
    const size_t table = 0x3fd000, size = 1472;
    uint8_t *c = dup_exact(buf, len);
    struct tl_pe pe;

    /* dwLength overrunning the table. */
    put32(c + table, (uint32_t)size + 8);
    parse_fails(c, len, -EBADMSG, true, table, "overruns the certificate table");
    /* Only the padding overruns: 1473 rounds up to 1480. */
    put32(c + table, (uint32_t)size + 1);
    parse_fails(c, len, -EBADMSG, true, table, "overruns the certificate table");
    /* Shorter than its header, and a PKCS#7 entry with no data. */
    put32(c + table, 4);
    parse_fails(c, len, -EBADMSG, true, table, "too short");
    put32(c + table, 0);
    parse_fails(c, len, -EBADMSG, true, table, "too short");
    put32(c + table, 8);
    parse_fails(c, len, -EBADMSG, true, table, "too short");
    /* An entry that leaves 8 bytes: too few for another. */
    put32(c + table, (uint32_t)size - 8);
    parse_fails(c, len, -EBADMSG, true, table + size - 8, "too few");
    /* An entry that leaves 16 bytes of zeros: dwLength 0. */
    put32(c + table, (uint32_t)size - 16);
    memset(c + table + size - 16, 0, 16);
    parse_fails(c, len, -EBADMSG, true, table + size - 16, "too short");
    memcpy(c, buf, len);

    /* dwLength not a multiple of 8 but padded within the table: fine. */
    put32(c + table, (uint32_t)size - 7);
    parse_ok(c, len, &pe);
    assert_int_equal(pe.n_signatures, 1);
    assert_int_equal(pe.signatures[0].length, size - 7);
    assert_int_equal(pe.signatures[0].data_len, size - 15);
    tl_pe_done(&pe);
    memcpy(c, buf, len);

    /* The table overrunning the file, and wrapping around 32 bits. */
    put32(c + h.secdir + 4, (uint32_t)size + 8);
    parse_fails(c, len, -EBADMSG, true, h.secdir, "overruns the file");
    put32(c + h.secdir + 4, 0xffffff00);
    parse_fails(c, len, -EBADMSG, true, h.secdir, "overruns the file");
    memcpy(c, buf, len);

    /* Not at the end: a shorter Size leaves bytes after it. */
    put32(c + h.secdir + 4, (uint32_t)size - 64);
    put32(c + table, (uint32_t)size - 64);
    parse_fails(c, len, -EBADMSG, true, h.secdir, "not at the end");
    memcpy(c, buf, len);
    /* Not at the end: bytes appended to the file. */
    uint8_t *longer = malloc(len + 16);
    assert_non_null(longer);
    memcpy(longer, buf, len);
    memset(longer + len, 0, 16);
    parse_fails(longer, len + 16, -EBADMSG, true, h.secdir, "16 bytes follow");
    free(longer);
    /* Inside the section data. */
    put32(c + h.secdir, 0x3fc000);
    put32(c + h.secdir + 4, (uint32_t)(len - 0x3fc000));
    parse_fails(c, len, -EBADMSG, true, h.secdir, "overlaps");
    free(c);
    free(buf);
}

/* Two signatures in the shim's table: an overrun in the second reports the
 * second's offset. */
static void test_second_certificate_errors(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = fixture_read(SHIM, &len);
    const size_t second = 0xfb410 + 9792;
    put32(buf + second, 9576 + 8);
    parse_fails(buf, len, -EBADMSG, true, second, "WIN_CERTIFICATE 1");
    free(buf);
}

static void test_special_section_rules(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = fixture_read(GRUB, &len);
    struct hdr h = hdr_of(buf);
    size_t sbat = h.sections + 3 * 40, reloc = h.sections + 4 * 40;
    uint8_t *c = dup_exact(buf, len);
    struct tl_pe pe;

    /* Two .sbat sections, and relocations on .sbat: shim refuses both. */
    memcpy(c + reloc, ".sbat\0\0\0", 8);
    parse_fails(c, len, -EBADMSG, true, reloc, "second .sbat");
    memcpy(c, buf, len);
    put16(c + sbat + 32, 1);
    parse_fails(c, len, -EBADMSG, true, sbat, "relocations");
    memcpy(c, buf, len);

    /* SizeOfRawData < VirtualSize: shim ignores the section. */
    put32(c + sbat + 8, 0x1001);
    parse_ok(c, len, &pe);
    assert_null(pe.sbat);
    assert_int_equal(pe.sbat_len, 0);
    assert_non_null(tl_pe_find_section(&pe, ".sbat"));
    tl_pe_done(&pe);
    memcpy(c, buf, len);

    /* An ignored .sbat does not count: a second one is then taken (shim
     * only refuses a second .sbat after it has taken one). */
    put32(c + sbat + 8, 0x1001);
    memcpy(c + reloc, ".sbat\0\0\0", 8);
    parse_ok(c, len, &pe);
    assert_ptr_equal(pe.sbat, c + 0x3fc000);
    tl_pe_done(&pe);
    memcpy(c, buf, len);

    /* A .sbat without a NUL: all of the raw data. */
    memset(c + 0x3fb000, 'a', 0x1000);
    parse_ok(c, len, &pe);
    assert_int_equal(pe.sbat_len, 0x1000);
    tl_pe_done(&pe);
    free(c);
    free(buf);
}

static void test_vendor_cert_errors(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = fixture_read(SHIM, &len);
    struct hdr h = hdr_of(buf);
    const size_t sec = 0xbb000, hdr_at = h.sections + 6 * 40;
    uint8_t *c = dup_exact(buf, len);
    struct tl_pe pe;

    /* The certificate past the section's data (VirtualSize 0x258a). */
    put32(c + sec + 8, 0x2580);
    parse_fails(c, len, -EBADMSG, true, sec + 8, "vendor certificate");
    memcpy(c, buf, len);
    /* The dbx size past it. */
    put32(c + sec + 4, 8665);
    parse_fails(c, len, -EBADMSG, true, sec + 12, "vendor dbx");
    memcpy(c, buf, len);
    /* An offset over the cert_table itself. */
    put32(c + sec + 8, 8);
    parse_fails(c, len, -EBADMSG, true, sec + 8, "vendor certificate");
    memcpy(c, buf, len);
    /* Offset + size wrapping around 32 bits. */
    put32(c + sec + 12, 0xffffff00);
    parse_fails(c, len, -EBADMSG, true, sec + 12, "vendor dbx");
    memcpy(c, buf, len);
    /* A section too short for cert_table. */
    put32(c + hdr_at + 8, 12);
    parse_fails(c, len, -EBADMSG, true, hdr_at, "too short");
    memcpy(c, buf, len);

    /* Empty entries are absent, not errors. */
    put32(c + sec, 0);
    put32(c + sec + 4, 0);
    parse_ok(c, len, &pe);
    assert_true(pe.has_vendor_cert_section);
    assert_null(pe.vendor_cert);
    assert_null(pe.vendor_dbx);
    tl_pe_done(&pe);
    free(c);
    free(buf);
}

/* Overlapping sections: the firmware hashes the overlap twice and starts the
 * extra data at SizeOfHeaders + the sizes hashed; when that leaves no room
 * for the certificate table, EDK2's HashPeImage fails, and so does the
 * digest here. */
static void test_overlapping_sections(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = fixture_read(KERNEL, &len);
    struct hdr h = hdr_of(buf);
    size_t compat = h.sections + 40;
    /* .compat over .setup, 0x100 bytes longer than it was. */
    put32(buf + compat + 20, 0x1000);
    put32(buf + compat + 16, 0x1100);
    struct tl_pe pe;
    parse_ok(buf, len, &pe);
    uint8_t out[TL_DIGEST_MAX];
    struct tl_error err = {0};
    assert_int_equal(tl_pe_authenticode_digest(&pe, NULL, TL_ALG_SHA256, out, &err), -EBADMSG);
    assert_non_null(strstr(err.message, "certificate table"));
    tl_pe_done(&pe);
    free(buf);
}

/* Every byte of the headers and section table flipped in turn: parse and
 * digest either work or fail with a message, and never read out of bounds. */
static void test_header_byte_flips(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = fixture_read(SHIM, &len);
    struct tl_hasher *h = tl_hasher_new();
    assert_non_null(h);
    size_t accepted = 0;
    for (size_t i = 0; i < 0x400; i++) {
        for (int bit = 0; bit < 8; bit += 7) {
            buf[i] ^= (uint8_t)(1u << bit);
            struct tl_pe pe;
            struct tl_error err = {0};
            int r = tl_pe_parse(buf, len, &pe, &err);
            if (r >= 0) {
                accepted++;
                uint8_t out[TL_DIGEST_MAX];
                r = tl_pe_authenticode_digest(&pe, h, TL_ALG_SHA256, out, &err);
                assert_true(r == 32 || (r < 0 && err.message[0]));
                tl_pe_done(&pe);
            } else {
                assert_true(err.message[0] != '\0');
            }
            buf[i] ^= (uint8_t)(1u << bit);
        }
    }
    assert_true(accepted > 0);
    tl_hasher_free(h);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures_configured),
        cmocka_unit_test(test_shim_layout),
        cmocka_unit_test(test_shim_vendor_cert),
        cmocka_unit_test(test_grub_layout),
        cmocka_unit_test(test_kernel_layout),
        cmocka_unit_test(test_digests_match_pesign),
        cmocka_unit_test(test_digests_match_event_log),
        cmocka_unit_test(test_signatures_sign_this_digest),
        cmocka_unit_test(test_unsigned_kernel),
        cmocka_unit_test(test_no_security_directory),
        cmocka_unit_test(test_unsupported_algorithm),
        cmocka_unit_test(test_shim_truncated),
        cmocka_unit_test(test_header_errors),
        cmocka_unit_test(test_too_many_sections),
        cmocka_unit_test(test_section_errors),
        cmocka_unit_test(test_certificate_table_errors),
        cmocka_unit_test(test_second_certificate_errors),
        cmocka_unit_test(test_special_section_rules),
        cmocka_unit_test(test_vendor_cert_errors),
        cmocka_unit_test(test_overlapping_sections),
        cmocka_unit_test(test_header_byte_flips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
