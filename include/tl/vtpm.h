/* A node's vTPM as the platform provisions it: the endorsement keys from
 * the TCG default templates and their certificates in the standard NV
 * indices.
 *
 * This is the one part of libtl that does TPM I/O: its functions send
 * commands through an ESYS context the caller opened (the caller owns the
 * TCTI, the swtpm process and the sockets; libtl never opens anything).
 * Like the rest of libtl it does not log, exit or keep globals; a failing
 * call returns -errno and says which command failed and the TPM's response
 * code in the tl_error. The conversions (templates, TPM2B_PUBLIC to an
 * OpenSSL key) are pure.
 *
 * Sources: TCG EK Credential Profile for TPM Family 2.0, Level 0, Version
 * 2.x: Annex B.3.3 (template L-1, RSA 2048), B.3.4 (template L-2, ECC NIST
 * P-256), section 2.2.1.4 (EK certificate NV indices, "Low Range"); TCG
 * registries and swtpm_setup for the same values; and the NV attributes of an
 * EK certificate index as swtpm_setup defines them (see lib/tpm/vtpm.c). */
#pragma once

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <tss2/tss2_esys.h>

#include "tl/error.h"

enum tl_ek_type {
    TL_EK_RSA2048,  /* template L-1 */
    TL_EK_ECC_P256, /* template L-2 */
    TL_EK_N_TYPES,
};

/* EK certificate NV indices (EK Credential Profile, "Low Range"). */
#define TL_NV_EK_CERT_RSA2048  0x01c00002u
#define TL_NV_EK_CERT_ECC_P256 0x01c0000au
#define TL_EK_CERT_MAX         (16u << 10) /* an EK certificate is a few KiB; more is not one */

/* The attributes of an EK certificate index: written by the platform
 * hierarchy, write-locked until the index is deleted, readable by the
 * platform, the owner and with the index's (empty) auth, no dictionary
 * attack protection. */
#define TL_NV_EK_CERT_ATTRIBUTES                                                                   \
    (TPMA_NV_PPWRITE | TPMA_NV_WRITEDEFINE | TPMA_NV_PPREAD | TPMA_NV_OWNERREAD |                  \
     TPMA_NV_AUTHREAD | TPMA_NV_NO_DA | TPMA_NV_PLATFORMCREATE)

/* "rsa2048", "ecc-p256" */
const char *tl_ek_type_name(enum tl_ek_type type);
uint32_t tl_ek_cert_nv_index(enum tl_ek_type type);

/* The default EK template of the type (pure). */
void tl_ek_template(enum tl_ek_type type, TPM2B_PUBLIC *out);

/* Does a public area have everything the template fixes (type, name
 * algorithm, attributes, policy, parameters)? That makes it an EK that
 * can only decrypt and whose use the endorsement hierarchy authorizes. */
bool tl_ek_public_matches_template(const TPM2B_PUBLIC *pub, enum tl_ek_type type);

/* An RSA or ECC public area as an OpenSSL public key (pure). RSA exponent
 * 0 means 65537 (TPM 2.0 Part 2, 12.2.3.5). */
int tl_tpm2b_public_to_pkey(const TPM2B_PUBLIC *pub, EVP_PKEY **out, struct tl_error *err);

struct tl_ek {
    enum tl_ek_type type;
    TPM2B_PUBLIC public; /* as the TPM returned it */
    EVP_PKEY *key;
};

/* CreatePrimary in the endorsement hierarchy from the default template
 * (empty endorsement auth), then flushes the object: the EK is a function
 * of the EPS and the template, and can be recreated at any time. */
int tl_vtpm_create_ek(ESYS_CONTEXT *esys, enum tl_ek_type type, struct tl_ek *ek,
                      struct tl_error *err);
void tl_ek_done(struct tl_ek *ek);

/* What the TPM says about itself, in the EK Credential Profile's form
 * (subjectAltName): "id:" + TPM_PT_MANUFACTURER in hex, the vendor string, "id:" +
 * TPM_PT_FIRMWARE_VERSION_1 in hex. */
struct tl_vtpm_info {
    uint32_t manufacturer_id;
    uint32_t firmware_version[2];
    char manufacturer[12];  /* "id:49424D00" */
    char model[17];         /* "SW   TPM": the four vendor strings, trailing blanks cut */
    char version[12];       /* "id:20191023" */
    uint32_t nv_buffer_max; /* largest NV_Read/NV_Write */
    uint32_t nv_index_max;  /* largest NV index */
};

int tl_vtpm_get_info(ESYS_CONTEXT *esys, struct tl_vtpm_info *info, struct tl_error *err);

/* Defines the index with TL_NV_EK_CERT_ATTRIBUTES (platform auth, empty),
 * writes der into it in NV_BUFFER_MAX chunks and write-locks it.
 * -EEXIST when the index is already defined. */
int tl_vtpm_nv_write_cert(ESYS_CONTEXT *esys, uint32_t index, const uint8_t *der, size_t len,
                          struct tl_error *err);

/* Reads a whole written NV index of at most max bytes with the index's own
 * auth when it has TPMA_NV_AUTHREAD, else the owner's (both empty, as in a
 * fresh TPM); *attributes (if not NULL) gets the index's attributes. The
 * index is looked up in the handle list first, so an absent one makes no
 * TSS error log. -ENOENT when the index is not defined or never written,
 * -EACCES, -EFBIG, -EIO (the TPM's code in the message). */
int tl_tpm_nv_read(ESYS_CONTEXT *esys, uint32_t index, size_t max, uint8_t **out, size_t *len,
                   uint32_t *attributes, struct tl_error *err);

/* Is handle (an NV index, a persistent object) there: 1, 0, or -errno.
 * Asks GetCapability(TPM_CAP_HANDLES), so an absent one logs no TSS error. */
int tl_tpm_handle_present(ESYS_CONTEXT *esys, uint32_t handle, struct tl_error *err);

/* "what: <the TSS's decoding> (0xRC)" into err; -EEXIST for NV_DEFINED,
 * -ENOENT for a handle or index that is not there, -EIO otherwise. */
int tl_tpm_fail(struct tl_error *err, TSS2_RC rc, const char *what);

/* TPM2_Shutdown(CLEAR): an orderly power-off before the TPM is stopped. */
int tl_vtpm_shutdown(ESYS_CONTEXT *esys, struct tl_error *err);
