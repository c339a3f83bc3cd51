/* UEFI data structures that appear in measurements (UEFI 2.10 spec):
 * GUIDs, UEFI_VARIABLE_DATA (TCG PFP 1.05 10.4.4), EFI_SIGNATURE_LIST
 * (UEFI 32.4.1), device paths (UEFI 10.3, decoded to the UEFI text form,
 * 10.6.1) and EFI_LOAD_OPTION (UEFI 3.1.3).
 *
 * All parsers are pure: they read caller buffers, check every size before
 * reading, and point into the caller's buffer where they can. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tl/error.h"

typedef struct {
    uint8_t b[16]; /* as stored: data1..3 little-endian, data4 bytes */
} tl_guid;

/* A tl_guid initialiser from the registry form {data1, data2, data3,
 * {data4[0..7]}}, so constants can be checked against the spec by eye:
 * TL_GUID_INIT(0x8be4df61, 0x93ca, 0x11d2, 0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c). */
#define TL_GUID_INIT(d1, d2, d3, a, b, c, d, e, f, g, h)                                           \
    {                                                                                              \
        {                                                                                          \
            (uint8_t)(d1), (uint8_t)((d1) >> 8), (uint8_t)((d1) >> 16), (uint8_t)((d1) >> 24),     \
                (uint8_t)(d2), (uint8_t)((d2) >> 8), (uint8_t)(d3), (uint8_t)((d3) >> 8), a, b, c, \
                d, e, f, g, h                                                                      \
        }                                                                                          \
    }

/* "8be4df61-93ca-11d2-aa0d-00e098032b8c" into out[37]. */
void tl_guid_format(const tl_guid *g, char out[37]);
bool tl_guid_equal(const tl_guid *a, const tl_guid *b);
/* Reads a GUID from 16 bytes. */
tl_guid tl_guid_read(const uint8_t *p);

extern const tl_guid TL_EFI_GLOBAL_VARIABLE_GUID;   /* 8be4df61-93ca-11d2-aa0d-00e098032b8c */
extern const tl_guid TL_EFI_IMAGE_SECURITY_DB_GUID; /* d719b2cb-3d3a-4596-a3bc-dad00e67656f */
extern const tl_guid TL_SHIM_LOCK_GUID;             /* 605dab50-e046-4300-abb6-3dd810dd8b23 */
extern const tl_guid TL_EFI_CERT_X509_GUID;         /* a5c059a1-94e4-4aa7-87b5-ab155c2bf072 */
extern const tl_guid TL_EFI_CERT_SHA256_GUID;       /* c1c41626-504c-4092-aca9-41f936934328 */
extern const tl_guid TL_EFI_CERT_SHA1_GUID;         /* 826ca512-cf10-4ac9-b187-be01496631bd */
extern const tl_guid TL_EFI_CERT_SHA384_GUID;       /* ff3e5307-9fd0-48c9-85f1-8ad56c701e01 */
extern const tl_guid TL_EFI_CERT_SHA512_GUID;       /* 093e0fae-a6c4-4f50-9f1b-d41e2b89c19a */
extern const tl_guid TL_EFI_CERT_X509_SHA256_GUID;  /* 3bd2a492-96c0-4079-b420-fcf98ef103ed */
extern const tl_guid TL_EFI_CERT_X509_SHA384_GUID;  /* 7076876e-80c2-4ee6-aad2-28b349a6865b */
extern const tl_guid TL_EFI_CERT_X509_SHA512_GUID;  /* 446dbf63-2502-4cda-bcfa-2465d2b0fe9d */
extern const tl_guid TL_EFI_CERT_RSA2048_GUID;      /* 3c5766e8-269c-4e34-aa14-ed776e85b3b6 */

/* ---- UEFI_VARIABLE_DATA (TCG PFP 1.05, 10.4.4) ---- */
struct tl_efi_variable {
    tl_guid vendor;
    const uint8_t *name_utf16; /* name_len UTF-16LE code units, not terminated */
    uint64_t name_len;
    const uint8_t *data;
    uint64_t data_len;
};

/* Parses UEFI_VARIABLE_DATA: VariableName GUID, UnicodeNameLength (u64,
 * characters), VariableDataLength (u64), name, data. The record must be
 * exactly that long (trailing bytes are an error: they are hashed but would
 * be invisible to anyone reading the variable). */
int tl_efi_variable_parse(const uint8_t *buf, size_t len, struct tl_efi_variable *var,
                          struct tl_error *err);
/* Compares the variable's UTF-16 name with an ASCII name. */
bool tl_efi_variable_name_is(const struct tl_efi_variable *var, const char *ascii);

/* ---- EFI_SIGNATURE_LIST (UEFI 2.10, 32.4.1) ---- */
enum tl_sig_kind {
    TL_SIG_UNKNOWN = 0,
    TL_SIG_X509,   /* DER certificate */
    TL_SIG_SHA256, /* image hash */
    TL_SIG_SHA1,
    TL_SIG_SHA384,
    TL_SIG_SHA512,
    TL_SIG_X509_SHA256, /* hash of a certificate's TBSCertificate (revocation) */
    TL_SIG_X509_SHA384,
    TL_SIG_X509_SHA512,
    TL_SIG_RSA2048,
};

struct tl_sig_entry {
    enum tl_sig_kind kind;
    tl_guid type;  /* SignatureType of the list it came from */
    tl_guid owner; /* SignatureOwner */
    const uint8_t *data;
    size_t data_len;
    size_t offset; /* of the EFI_SIGNATURE_DATA in the input */
};

struct tl_sig_db {
    struct tl_sig_entry *entries; /* malloc'd */
    size_t n_entries;
    size_t n_lists;
};

/* Parses a concatenation of EFI_SIGNATURE_LISTs (the content of PK/KEK/db/
 * dbx). Checks: ListSize >= header + SignatureHeaderSize, ListSize - header
 * - SignatureHeaderSize is a multiple of SignatureSize, SignatureSize > 16,
 * fixed-size types (hashes) have the exact size, lists do not overrun. An
 * empty input gives an empty db. Entries point into buf. */
int tl_sig_db_parse(const uint8_t *buf, size_t len, struct tl_sig_db *db, struct tl_error *err);
void tl_sig_db_done(struct tl_sig_db *db);
/* Appends one EFI_SIGNATURE_LIST holding one entry (kind, owner, data) to
 * *buf (realloc'd). Hash kinds need their exact size; X509_SHA* entries
 * take the hash followed by the 16-byte EFI_TIME. -EINVAL otherwise. */
int tl_sig_list_append(uint8_t **buf, size_t *len, enum tl_sig_kind kind, const tl_guid *owner,
                       const uint8_t *data, size_t data_len);
/* "x509", "sha256", "x509-sha256", ... */
const char *tl_sig_kind_name(enum tl_sig_kind kind);
enum tl_sig_kind tl_sig_kind_from_guid(const tl_guid *type);

/* ---- Device paths (UEFI 2.10, 10.3; text form 10.6.1) ---- */

/* Decodes a device path (sequence of nodes up to End Entire) into its text
 * form, e.g. "PciRoot(0x0)/Pci(0x1,0x1)/HD(1,GPT,<guid>,0x800,0x100000)/\EFI\BOOT\BOOTX64.EFI".
 * Unknown nodes are printed as in EDK2: "Path(type,subtype,hexdata)".
 * Instances separated by End Instance are joined with ",". Returns a
 * malloc'd string in *text; -EBADMSG (with err) when a node's length is < 4
 * or overruns. An empty buffer gives "". */
int tl_device_path_to_text(const uint8_t *buf, size_t len, char **text, struct tl_error *err);

/* The last file path node(s) of a device path ("\EFI\BOOT\BOOTX64.EFI"),
 * joined as the spec says consecutive file path nodes are; NULL in *path when
 * there is none. Returns malloc'd string. */
int tl_device_path_file(const uint8_t *buf, size_t len, char **path, struct tl_error *err);

/* ---- EFI_LOAD_OPTION (UEFI 2.10, 3.1.3): Boot#### variables ---- */
struct tl_load_option {
    uint32_t attributes;      /* LOAD_OPTION_ACTIVE = 0x1, ... */
    char *description;        /* malloc'd UTF-8 */
    const uint8_t *file_path; /* device path list */
    uint16_t file_path_len;
    const uint8_t *optional_data;
    size_t optional_data_len;
};

int tl_load_option_parse(const uint8_t *buf, size_t len, struct tl_load_option *opt,
                         struct tl_error *err);
void tl_load_option_done(struct tl_load_option *opt);
