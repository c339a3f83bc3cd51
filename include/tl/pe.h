/* PE/COFF images as UEFI firmware and shim see them (PE Format spec,
 * "Attribute Certificate Table" and the Authenticode PE spec 1.0): headers,
 * sections, the certificate table (several WIN_CERTIFICATEs), and the
 * sections shim and grub carry: .sbat, shim's .vendor_cert and .sbatlevel.
 *
 * tl_pe_parse validates the layout fully before anything reads a field:
 * DOS and NT headers inside the file, section table inside SizeOfHeaders,
 * every section's raw data inside the file, the certificate table at the
 * end of the file and made of well-formed 8-byte-aligned entries. Pointers
 * go into the caller's buffer. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tl/digest.h"
#include "tl/error.h"

/* Section names longer than 8 characters are "/<offset>" in the section
 * header, an offset into the COFF string table (GNU ld writes shim's
 * .vendor_cert and .sbatlevel that way); they are resolved, and cut at this
 * length. */
#define TL_PE_SECTION_NAME_MAX 63

struct tl_pe_section {
    char name[TL_PE_SECTION_NAME_MAX + 1]; /* NUL-terminated */
    uint32_t virtual_size;
    uint32_t virtual_address;
    uint32_t raw_size;
    uint32_t raw_offset;
    uint32_t characteristics;
};

#define TL_WIN_CERT_TYPE_PKCS_SIGNED_DATA 0x0002
#define TL_WIN_CERT_TYPE_EFI_GUID         0x0EF1

/* One WIN_CERTIFICATE of the certificate table. */
struct tl_pe_signature {
    uint32_t offset; /* of the WIN_CERTIFICATE in the file */
    uint32_t length; /* dwLength, header included */
    uint16_t revision;
    uint16_t type;
    const uint8_t *data; /* bCertificate: PKCS#7 SignedData (DER) for type 2 */
    size_t data_len;
};

struct tl_pe {
    const uint8_t *buf;
    size_t len;
    bool pe32_plus;
    uint16_t machine;
    uint16_t subsystem;
    uint32_t size_of_headers;
    uint32_t checksum_offset; /* file offset of OptionalHeader.CheckSum */
    uint32_t secdir_offset;   /* file offset of the security data directory, 0 when
                                 NumberOfRvaAndSizes <= 4 (there is none) */
    uint32_t cert_table_offset, cert_table_size; /* 0, 0 when unsigned */
    struct tl_pe_section *sections;              /* malloc'd, in section table order */
    size_t n_sections;
    struct tl_pe_signature *signatures; /* malloc'd */
    size_t n_signatures;
    /* Raw data of sections, when present (NULL otherwise): */
    const uint8_t *sbat;      /* .sbat: CSV "component,generation,..." lines */
    size_t sbat_len;          /* up to the first NUL */
    const uint8_t *sbatlevel; /* shim's .sbatlevel section */
    size_t sbatlevel_len;
    /* shim's .vendor_cert (struct cert_table: authorized size, deauthorized
     * size, authorized offset, deauthorized offset; offsets from the start
     * of the section). */
    bool has_vendor_cert_section;
    const uint8_t *vendor_cert; /* DER certificate (or an ESL, see shim's VENDOR_DB_FILE) */
    size_t vendor_cert_len;
    const uint8_t *vendor_dbx; /* EFI_SIGNATURE_LISTs */
    size_t vendor_dbx_len;
};

int tl_pe_parse(const uint8_t *buf, size_t len, struct tl_pe *pe, struct tl_error *err);
void tl_pe_done(struct tl_pe *pe);

/* The Authenticode image digest (Authenticode PE spec 1.0, "Calculating the
 * PE Image Hash", as EDK2's DxeImageVerificationLib does it): headers without
 * CheckSum and the security directory entry, the sections sorted by
 * PointerToRawData, then the data after the last section up to the
 * certificate table. h may be NULL. Returns the digest size. */
int tl_pe_authenticode_digest(const struct tl_pe *pe, struct tl_hasher *h, uint16_t alg,
                              uint8_t out[TL_DIGEST_MAX], struct tl_error *err);

/* Finds a section by name (".sbat"), or NULL. */
const struct tl_pe_section *tl_pe_find_section(const struct tl_pe *pe, const char *name);
