/* Time-based authenticated variable updates (UEFI 2.10, 8.2.2):
 * EFI_VARIABLE_AUTHENTICATION_2 = EFI_TIME TimeStamp + WIN_CERTIFICATE_UEFI_GUID
 * (CertType EFI_CERT_TYPE_PKCS7_GUID, CertData a DER PKCS#7 SignedData,
 * with or without the ContentInfo wrapper), followed by the new variable
 * data (for db/dbx: EFI_SIGNATURE_LISTs).
 *
 * The signature covers VariableName (UTF-16, no NUL) || VendorGuid ||
 * Attributes (UINT32 LE) || TimeStamp || Data. Verification, as the firmware
 * does it, accepts a signer whose certificate chains (partial chain, no time
 * check) to an X.509 entry of the authorising database (PK for PK/KEK, KEK
 * for db/dbx). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "tl/efi.h"
#include "tl/error.h"

struct tl_auth2 {
    uint8_t timestamp[16];
    const uint8_t *pkcs7; /* CertData */
    size_t pkcs7_len;
    const uint8_t *data; /* the payload after the authentication header */
    size_t data_len;
};

int tl_auth2_parse(const uint8_t *buf, size_t len, struct tl_auth2 *a, struct tl_error *err);

struct tl_auth2_verdict {
    int signer_entry;         /* index in the authorising db of the anchor, -1 none */
    char signer_subject[256]; /* subject of the PKCS#7 signer certificate */
    char anchor_subject[256]; /* subject of the db entry it chains to */
    char reason[256];         /* why it failed, when it did */
};

/* Verifies the update for variable `name` (ASCII) / `vendor` with
 * `attributes` (TIME_BASED_AUTHENTICATED_WRITE_ACCESS and, for an append,
 * APPEND_WRITE included) against the authorising database. Returns 0 when it
 * verifies, 1 when it does not (v->reason says why), -errno on bad input. */
int tl_auth2_verify(const struct tl_auth2 *a, const char *name, const tl_guid *vendor,
                    uint32_t attributes, const struct tl_sig_db *authorities,
                    struct tl_auth2_verdict *v, struct tl_error *err);

/* Appends signature lists as the firmware does for APPEND_WRITE to db/dbx
 * (UEFI 8.2.1): entries already present (same type and data) are dropped;
 * the result is a new malloc'd concatenation of lists. */
int tl_sig_db_append(const uint8_t *current, size_t current_len, const uint8_t *update,
                     size_t update_len, uint8_t **out, size_t *out_len, struct tl_error *err);
