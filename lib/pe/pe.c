/* PE/COFF images as UEFI firmware and shim read them: DOS and NT headers,
 * the section table, the attribute certificate table, and the sections shim
 * and grub carry (.sbat, .sbatlevel, .vendor_cert).
 *
 * Follows the PE Format specification ("MS-DOS Stub", "Signature", "COFF
 * File Header", "Optional Header", "Section Table", "COFF String Table",
 * "The Attribute Certificate Table (Image Only)") and, where they are
 * stricter or more precise, the code that decides whether an image boots:
 *  - EDK2 MdePkg BasePeCoffLib PeCoffLoaderGetPeHeader: NumberOfRvaAndSizes
 *    <= 16, SizeOfOptionalHeader exactly the header plus its directories,
 *    the section table inside SizeOfHeaders, SizeOfHeaders < SizeOfImage,
 *    every section with raw data after the headers and inside the file;
 *  - EDK2 DxeImageVerificationLib: the certificate table walk (entries at
 *    8-byte aligned offsets from the table start, dwLength plus its padding
 *    within the table, the entries tiling the table exactly);
 *  - shim (verify_buffer_sbat, generate_hash): .sbat named in
 *    the section header itself, one taken at most, no relocations, ignored
 *    when SizeOfRawData < VirtualSize; the certificate table ends the file;
 *  - shim's struct cert_table at the start of .vendor_cert.
 *
 * Invariant: when tl_pe_parse returns 0, every range the struct describes
 * (headers, each section's raw data, each WIN_CERTIFICATE, .sbat,
 * .sbatlevel, the vendor certificate and dbx) lies inside the buffer, so
 * the Authenticode digest (authenticode.c) only needs EDK2's own arithmetic.
 * All offset arithmetic is done in 64 bits; PE fields are 32-bit. */
#include "tl/pe.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tl/util.h"

#define DOS_HEADER_SIZE     64
#define DOS_LFANEW          0x3c
#define COFF_HEADER_SIZE    20
#define SECTION_HEADER_SIZE 40
#define COFF_SYMBOL_SIZE    18
#define PE32_MAGIC          0x10b
#define PE32PLUS_MAGIC      0x20b
/* Optional header sizes without the data directories (PE Format,
 * "Optional Header Standard Fields" + "Windows-Specific Fields"). */
#define PE32_FIXED_SIZE     96
#define PE32PLUS_FIXED_SIZE 112
/* Field offsets common to PE32 and PE32+. */
#define OPT_SIZE_OF_IMAGE   56
#define OPT_SIZE_OF_HEADERS 60
#define OPT_CHECKSUM        64
#define OPT_SUBSYSTEM       68
#define MAX_DATA_DIRS       16
#define DIR_SECURITY        4
#define DATA_DIR_SIZE       8
/* WIN_CERTIFICATE header; WIN_CERTIFICATE_UEFI_GUID adds a 16-byte GUID. */
#define WIN_CERT_HEADER_SIZE      8
#define WIN_CERT_GUID_HEADER_SIZE 24
/* shim's struct cert_table: four u32. */
#define VENDOR_CERT_TABLE_SIZE 16

/* What the headers say, once checked. */
struct headers {
    uint64_t section_table; /* file offset of the first section header */
    uint16_t n_sections;
    uint32_t symbol_table, n_symbols; /* COFF symbol table (for long names) */
    uint32_t size_of_headers;
    uint32_t secdir_va, secdir_size; /* 0, 0 when there is no directory 4 */
};

static const char *magic_name(bool plus)
{
    return plus ? "PE32+" : "PE32";
}

static int parse_headers(struct tl_pe *pe, struct headers *h, struct tl_error *err)
{
    const uint8_t *buf = pe->buf;
    size_t len = pe->len;

    if (len < DOS_HEADER_SIZE)
        return tl_error_set(err, -EBADMSG, 0,
                            "file of %zu bytes is too short for a DOS header (64 bytes)", len);
    if (buf[0] != 'M' || buf[1] != 'Z')
        return tl_error_set(err, -EBADMSG, 0, "no DOS header: the file does not start with \"MZ\"");

    uint32_t lfanew = tl_le32(buf + DOS_LFANEW);
    uint64_t coff = (uint64_t)lfanew + 4;
    if (coff + COFF_HEADER_SIZE > len)
        return tl_error_set(
            err, -EBADMSG, DOS_LFANEW,
            "e_lfanew 0x%x puts the PE headers past the end of the file (%zu bytes)", lfanew, len);
    if (memcmp(buf + lfanew, "PE\0\0", 4) != 0)
        return tl_error_set(err, -EBADMSG, lfanew, "no \"PE\\0\\0\" signature at e_lfanew 0x%x",
                            lfanew);

    pe->machine = tl_le16(buf + coff);
    h->n_sections = tl_le16(buf + coff + 2);
    h->symbol_table = tl_le32(buf + coff + 8);
    h->n_symbols = tl_le32(buf + coff + 12);
    uint16_t size_opt = tl_le16(buf + coff + 16);

    uint64_t opt = coff + COFF_HEADER_SIZE;
    if (size_opt < 2 || opt + size_opt > len)
        return tl_error_set(err, -EBADMSG, coff + 16,
                            "optional header of %u bytes at 0x%llx does not fit in the file "
                            "(%zu bytes)",
                            size_opt, (unsigned long long)opt, len);
    uint16_t magic = tl_le16(buf + opt);
    if (magic != PE32_MAGIC && magic != PE32PLUS_MAGIC)
        return tl_error_set(err, -EBADMSG, opt,
                            "optional header magic 0x%04x is neither PE32 (0x10b) nor PE32+ "
                            "(0x20b)",
                            magic);
    pe->pe32_plus = magic == PE32PLUS_MAGIC;
    unsigned fixed = pe->pe32_plus ? PE32PLUS_FIXED_SIZE : PE32_FIXED_SIZE;
    if (size_opt < fixed)
        return tl_error_set(err, -EBADMSG, coff + 16,
                            "optional header of %u bytes is shorter than the %u bytes of a %s "
                            "header",
                            size_opt, fixed, magic_name(pe->pe32_plus));

    uint64_t nrva_at = opt + fixed - 4;
    uint32_t nrva = tl_le32(buf + nrva_at);
    if (nrva > MAX_DATA_DIRS)
        return tl_error_set(err, -EBADMSG, nrva_at, "NumberOfRvaAndSizes %u exceeds 16", nrva);
    /* EDK2 requires the exact size: the section table is found from it. */
    if (size_opt != fixed + nrva * DATA_DIR_SIZE)
        return tl_error_set(err, -EBADMSG, coff + 16,
                            "SizeOfOptionalHeader %u is not the %u bytes of a %s header with %u "
                            "data directories",
                            size_opt, fixed + nrva * DATA_DIR_SIZE, magic_name(pe->pe32_plus),
                            nrva);

    uint32_t size_of_image = tl_le32(buf + opt + OPT_SIZE_OF_IMAGE);
    h->size_of_headers = tl_le32(buf + opt + OPT_SIZE_OF_HEADERS);
    pe->size_of_headers = h->size_of_headers;
    pe->checksum_offset = (uint32_t)(opt + OPT_CHECKSUM);
    pe->subsystem = tl_le16(buf + opt + OPT_SUBSYSTEM);

    h->section_table = opt + size_opt;
    uint64_t table_end = h->section_table + (uint64_t)h->n_sections * SECTION_HEADER_SIZE;
    if (h->size_of_headers <= h->section_table || table_end > h->size_of_headers)
        return tl_error_set(err, -EBADMSG, coff + 2,
                            "section table of %u entries (0x%llx-0x%llx) does not fit in "
                            "SizeOfHeaders 0x%x",
                            h->n_sections, (unsigned long long)h->section_table,
                            (unsigned long long)table_end, h->size_of_headers);
    if (h->size_of_headers > len)
        return tl_error_set(err, -EBADMSG, opt + OPT_SIZE_OF_HEADERS,
                            "SizeOfHeaders 0x%x exceeds the file (%zu bytes)", h->size_of_headers,
                            len);
    if (h->size_of_headers >= size_of_image)
        return tl_error_set(err, -EBADMSG, opt + OPT_SIZE_OF_HEADERS,
                            "SizeOfHeaders 0x%x is not below SizeOfImage 0x%x", h->size_of_headers,
                            size_of_image);

    /* Without directory 4 there is no certificate table (and the
     * Authenticode digest has no directory entry to skip). */
    if (nrva > DIR_SECURITY) {
        uint64_t dir = opt + fixed + DIR_SECURITY * DATA_DIR_SIZE;
        pe->secdir_offset = (uint32_t)dir;
        h->secdir_va = tl_le32(buf + dir);
        h->secdir_size = tl_le32(buf + dir + 4);
    }
    return 0;
}

/* Resolves a "/<decimal offset>" name through the COFF string table (PE
 * Format, "Section Table": images normally have none, but GNU ld writes
 * one). Returns false, leaving out alone, when the name is not of that form
 * or does not resolve: a name is not worth failing an image over. */
static bool resolve_long_name(const struct tl_pe *pe, const struct headers *h, const char *raw,
                              char *out, size_t out_size)
{
    if (raw[0] != '/' || raw[1] == '\0' || h->symbol_table == 0)
        return false;
    uint32_t off = 0;
    for (const char *c = raw + 1; *c; c++) {
        if (*c < '0' || *c > '9')
            return false;
        off = off * 10 + (uint32_t)(*c - '0'); /* at most 7 digits */
    }
    uint64_t table = h->symbol_table + (uint64_t)h->n_symbols * COFF_SYMBOL_SIZE;
    if (table + 4 > pe->len)
        return false;
    uint32_t table_size = tl_le32(pe->buf + table); /* includes the size field */
    if (table_size < 4 || table + table_size > pe->len || off < 4 || off >= table_size)
        return false;
    const char *s = (const char *)pe->buf + table + off;
    size_t n = strnlen(s, table_size - off);
    if (n == table_size - off || n == 0)
        return false; /* not NUL-terminated inside the table, or empty */
    if (n >= out_size)
        n = out_size - 1;
    memcpy(out, s, n);
    out[n] = '\0';
    return true;
}

/* The bytes of a section the loader maps from the file: EDK2's
 * PeCoffLoaderLoadImage copies min(VirtualSize, SizeOfRawData), all of the
 * raw data when VirtualSize is 0; the rest of VirtualSize is zeros. */
static uint32_t loaded_size(const struct tl_pe_section *s)
{
    return s->virtual_size == 0 || s->virtual_size > s->raw_size ? s->raw_size : s->virtual_size;
}

static int parse_sections(struct tl_pe *pe, const struct headers *h, uint64_t *data_end,
                          struct tl_error *err)
{
    *data_end = h->size_of_headers;
    pe->sections = calloc(h->n_sections ? h->n_sections : 1, sizeof(*pe->sections));
    if (!pe->sections)
        return -ENOMEM;
    pe->n_sections = h->n_sections;

    for (size_t i = 0; i < h->n_sections; i++) {
        uint64_t at = h->section_table + i * SECTION_HEADER_SIZE;
        const uint8_t *sh = pe->buf + at;
        struct tl_pe_section *s = &pe->sections[i];
        char raw[9] = {0};
        memcpy(raw, sh, 8);
        s->virtual_size = tl_le32(sh + 8);
        s->virtual_address = tl_le32(sh + 12);
        s->raw_size = tl_le32(sh + 16);
        s->raw_offset = tl_le32(sh + 20);
        s->characteristics = tl_le32(sh + 36);
        if (!resolve_long_name(pe, h, raw, s->name, sizeof(s->name))) {
            static_assert(sizeof(s->name) >= sizeof(raw), "section names hold 8 characters");
            memcpy(s->name, raw, sizeof(raw));
        }

        /* SizeOfRawData 0: nothing in the file, nothing hashed, and the
         * PointerToRawData is meaningless (EDK2 does not look at it). */
        if (s->raw_size == 0)
            continue;
        uint64_t end = (uint64_t)s->raw_offset + s->raw_size;
        if (end > pe->len || end > UINT32_MAX)
            return tl_error_set(err, -EBADMSG, at,
                                "section %zu (%s): raw data 0x%x+0x%x overruns the file (%zu "
                                "bytes)",
                                i, s->name, s->raw_offset, s->raw_size, pe->len);
        if (s->raw_offset < h->size_of_headers)
            return tl_error_set(err, -EBADMSG, at,
                                "section %zu (%s): raw data at 0x%x lies inside the headers "
                                "(SizeOfHeaders 0x%x)",
                                i, s->name, s->raw_offset, h->size_of_headers);
        if (s->virtual_address < h->size_of_headers)
            return tl_error_set(err, -EBADMSG, at,
                                "section %zu (%s): VirtualAddress 0x%x lies inside the headers "
                                "(SizeOfHeaders 0x%x)",
                                i, s->name, s->virtual_address, h->size_of_headers);
        if (end > *data_end)
            *data_end = end;
    }
    return 0;
}

/* Walks the attribute certificate table as EDK2's DxeImageVerificationHandler
 * does: each entry at an 8-byte aligned offset from the table start, its
 * dwLength rounded up to 8 within what is left, the last one ending the
 * table exactly. Counts the entries; fills out when it is not NULL. */
static int walk_certificates(const struct tl_pe *pe, uint32_t table, uint32_t size,
                             struct tl_pe_signature *out, size_t *n, struct tl_error *err)
{
    size_t count = 0;
    for (uint64_t off = 0; off < size;) {
        uint64_t at = table + off, left = size - off;
        if (left <= WIN_CERT_HEADER_SIZE)
            return tl_error_set(err, -EBADMSG, at,
                                "certificate table: %llu bytes left at its end, too few for a "
                                "WIN_CERTIFICATE",
                                (unsigned long long)left);
        const uint8_t *p = pe->buf + at;
        uint32_t length = tl_le32(p);
        uint16_t revision = tl_le16(p + 4), type = tl_le16(p + 6);
        if (length < WIN_CERT_HEADER_SIZE ||
            (type == TL_WIN_CERT_TYPE_PKCS_SIGNED_DATA && length == WIN_CERT_HEADER_SIZE) ||
            (type == TL_WIN_CERT_TYPE_EFI_GUID && length <= WIN_CERT_GUID_HEADER_SIZE))
            return tl_error_set(err, -EBADMSG, at,
                                "WIN_CERTIFICATE %zu: dwLength %u is too short for its type "
                                "0x%04x",
                                count, length, type);
        uint64_t padded = ((uint64_t)length + 7) & ~(uint64_t)7;
        if (padded > left)
            return tl_error_set(err, -EBADMSG, at,
                                "WIN_CERTIFICATE %zu: dwLength %u (%llu with its padding) overruns "
                                "the certificate table (%llu bytes left)",
                                count, length, (unsigned long long)padded,
                                (unsigned long long)left);
        if (out)
            out[count] = (struct tl_pe_signature){
                .offset = (uint32_t)at,
                .length = length,
                .revision = revision,
                .type = type,
                .data = p + WIN_CERT_HEADER_SIZE,
                .data_len = length - WIN_CERT_HEADER_SIZE,
            };
        count++;
        off += padded;
    }
    *n = count;
    return 0;
}

static int parse_certificate_table(struct tl_pe *pe, const struct headers *h, uint64_t data_end,
                                   struct tl_error *err)
{
    /* Size 0 is an unsigned image whatever VirtualAddress says (EDK2 and
     * shim both look at Size only). */
    if (h->secdir_size == 0)
        return 0;

    uint32_t va = h->secdir_va, size = h->secdir_size;
    uint64_t end = (uint64_t)va + size;
    if (end > pe->len || end > UINT32_MAX)
        return tl_error_set(err, -EBADMSG, pe->secdir_offset,
                            "certificate table 0x%x+0x%x overruns the file (%zu bytes)", va, size,
                            pe->len);
    if (va < data_end)
        return tl_error_set(err, -EBADMSG, pe->secdir_offset,
                            "certificate table at 0x%x overlaps the headers or section data "
                            "(they end at 0x%llx)",
                            va, (unsigned long long)data_end);
    /* EDK2 hashes FileSize - CertSize bytes, which is only the rest of the
     * image when the table ends the file; shim refuses anything else
     * ("Malformed binary after Attribute Certificate Table"). */
    if (end != pe->len)
        return tl_error_set(err, -EBADMSG, pe->secdir_offset,
                            "certificate table 0x%x+0x%x is not at the end of the file (%llu "
                            "bytes follow it)",
                            va, size, (unsigned long long)(pe->len - end));

    size_t n = 0;
    int r = walk_certificates(pe, va, size, NULL, &n, err);
    if (r < 0)
        return r;
    pe->signatures = calloc(n, sizeof(*pe->signatures));
    if (!pe->signatures)
        return -ENOMEM;
    r = walk_certificates(pe, va, size, pe->signatures, &pe->n_signatures, err);
    assert(r == 0 && pe->n_signatures == n);
    pe->cert_table_offset = va;
    pe->cert_table_size = size;
    return 0;
}

/* shim's .vendor_cert: struct cert_table {u32 vendor_authorized_size,
 * vendor_deauthorized_size, vendor_authorized_offset,
 * vendor_deauthorized_offset}, offsets from the start of the section. */
static int parse_vendor_cert(struct tl_pe *pe, const struct tl_pe_section *s, uint64_t at,
                             struct tl_error *err)
{
    uint32_t size = loaded_size(s);
    if (size < VENDOR_CERT_TABLE_SIZE)
        return tl_error_set(err, -EBADMSG, at,
                            ".vendor_cert section of %u bytes is too short for shim's cert_table "
                            "(16 bytes)",
                            size);
    const uint8_t *base = pe->buf + s->raw_offset;
    static const char *const what[2] = {"vendor certificate", "vendor dbx"};
    const uint8_t **ptr[2] = {&pe->vendor_cert, &pe->vendor_dbx};
    size_t *len[2] = {&pe->vendor_cert_len, &pe->vendor_dbx_len};
    for (int i = 0; i < 2; i++) {
        uint32_t n = tl_le32(base + 4 * i), off = tl_le32(base + 8 + 4 * i);
        if (n == 0)
            continue;
        if (off < VENDOR_CERT_TABLE_SIZE || (uint64_t)off + n > size)
            return tl_error_set(err, -EBADMSG, s->raw_offset + 8 + 4 * (size_t)i,
                                ".vendor_cert: %s at +0x%x (%u bytes) is outside the section's "
                                "data (0x10-0x%x)",
                                what[i], off, n, size);
        *ptr[i] = base + off;
        *len[i] = n;
    }
    pe->has_vendor_cert_section = true;
    return 0;
}

static int find_special_sections(struct tl_pe *pe, const struct headers *h, struct tl_error *err)
{
    bool seen_sbatlevel = false, seen_vendor_cert = false;
    for (size_t i = 0; i < pe->n_sections; i++) {
        const struct tl_pe_section *s = &pe->sections[i];
        uint64_t at = h->section_table + i * SECTION_HEADER_SIZE;
        const uint8_t *sh = pe->buf + at;

        /* shim's verify_buffer_sbat, in its order: it compares the 8 bytes
         * of the header (not a resolved name), refuses a second .sbat once
         * it has taken one, refuses relocations, and ignores an .sbat whose
         * raw data is shorter than its VirtualSize. It reads the section up
         * to the first NUL. */
        if (memcmp(sh, ".sbat\0\0\0", 8) == 0) {
            if (pe->sbat)
                return tl_error_set(err, -EBADMSG, at,
                                    "section %zu: a second .sbat section (shim refuses the "
                                    "image)",
                                    i);
            if (tl_le16(sh + 32) != 0 || tl_le32(sh + 24) != 0)
                return tl_error_set(err, -EBADMSG, at,
                                    "section %zu: .sbat has relocations (shim refuses the image)",
                                    i);
            if (s->raw_size != 0 && s->raw_size >= s->virtual_size) {
                pe->sbat = pe->buf + s->raw_offset;
                const uint8_t *nul = memchr(pe->sbat, 0, s->raw_size);
                pe->sbat_len = nul ? (size_t)(nul - pe->sbat) : s->raw_size;
            }
        } else if (strcmp(s->name, ".sbatlevel") == 0) {
            if (seen_sbatlevel)
                return tl_error_set(err, -EBADMSG, at, "section %zu: a second .sbatlevel section",
                                    i);
            seen_sbatlevel = true;
            if (loaded_size(s) != 0) {
                pe->sbatlevel = pe->buf + s->raw_offset;
                pe->sbatlevel_len = loaded_size(s);
            }
        } else if (strcmp(s->name, ".vendor_cert") == 0) {
            if (seen_vendor_cert)
                return tl_error_set(err, -EBADMSG, at, "section %zu: a second .vendor_cert section",
                                    i);
            seen_vendor_cert = true;
            int r = parse_vendor_cert(pe, s, at, err);
            if (r < 0)
                return r;
        }
    }
    return 0;
}

int tl_pe_parse(const uint8_t *buf, size_t len, struct tl_pe *pe, struct tl_error *err)
{
    assert(pe);
    assert(buf || len == 0);

    struct tl_pe p = {.buf = buf, .len = len};
    struct headers h = {0};
    uint64_t data_end = 0;
    int r = parse_headers(&p, &h, err);
    if (r >= 0)
        r = parse_sections(&p, &h, &data_end, err);
    if (r >= 0)
        r = parse_certificate_table(&p, &h, data_end, err);
    if (r >= 0)
        r = find_special_sections(&p, &h, err);
    if (r < 0) {
        tl_pe_done(&p);
        *pe = (struct tl_pe){0};
        if (r == -ENOMEM)
            return tl_error_set_nopos(err, r, "out of memory");
        return r;
    }
    *pe = p;
    return 0;
}

void tl_pe_done(struct tl_pe *pe)
{
    if (!pe)
        return;
    free(pe->sections);
    free(pe->signatures);
    *pe = (struct tl_pe){0};
}

const struct tl_pe_section *tl_pe_find_section(const struct tl_pe *pe, const char *name)
{
    for (size_t i = 0; i < pe->n_sections; i++)
        if (strcmp(pe->sections[i].name, name) == 0)
            return &pe->sections[i];
    return NULL;
}
