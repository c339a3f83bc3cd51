/* A TPM key certified for a key release (issue 15, the release protocol):
 * TPM2_Certify's TPMS_ATTEST (TPM 2.0 Part 2, 10.12.8 and 10.12.3), the
 * public area of the key it certifies, and the checks that make that key a
 * place a released key may be wrapped to.
 *
 * The agent makes an RSA decryption key in its vTPM under a primary of the
 * NULL hierarchy (it dies with the TPM's next reset: a boot), certifies it
 * with its enrolled AK over a nonce tld issued, and sends tld the key's
 * TPM2B_PUBLIC, the primary's TPM2B_PUBLIC, the TPMS_ATTEST and the
 * signature. tl_release_key_verify decides, purely:
 *  - the signature verifies with the node's enrolled AK (tl_akey_verify),
 *    so another node's AK, or no AK at all, is refused;
 *  - the TPMS_ATTEST is the TPM's (magic TPM_GENERATED_VALUE), of type
 *    TPM_ST_ATTEST_CERTIFY, canonically encoded, with extraData = the nonce;
 *  - the certified Name is the Name of the key's public area, and the
 *    certified Qualified Name is the key's under that primary under
 *    TPM_RH_NULL (Part 1, 16.6: QN(B) = nameAlg_B || H(QN(parent) || Name(B)),
 *    a hierarchy's QN its handle), so the key lives in the NULL hierarchy;
 *  - the key: RSA 2048 bits or more, fixedTPM, fixedParent,
 *    sensitiveDataOrigin, decrypt, not sign, not restricted, symmetric NULL,
 *    scheme NULL or OAEP, nameAlg SHA-256 or stronger.
 * What the TPM certified is then the key's public half, given back as a
 * DER SubjectPublicKeyInfo for the wrap.
 *
 * Pure: bytes in, results out; every read preceded by a size check (the
 * fields walked with libtss2-mu, which checks sizes, then cross-checked as
 * one canonical TPMS_ATTEST). Errors: -EBADMSG (not the structure),
 * -EPERM (well-formed, refused: the message says which check),
 * -EKEYREJECTED (the signature does not verify), -EOPNOTSUPP, -ENOMEM. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <tss2/tss2_tpm2_types.h>

#include "tl/error.h"

struct tl_certify {
    TPM2B_NAME qualified_signer;
    TPM2B_DATA extra_data;
    uint64_t clock, firmware_version;
    uint32_t reset_count, restart_count;
    bool safe;
    TPM2B_NAME name;           /* the certified object's Name */
    TPM2B_NAME qualified_name; /* and its Qualified Name */
};

/* A TPMS_ATTEST of type TPM_ST_ATTEST_CERTIFY, exact length, canonical. */
int tl_certify_parse(const uint8_t *buf, size_t len, struct tl_certify *out, struct tl_error *err);

/* Is the public area a key a release may be wrapped to (above)? -EPERM with
 * the first failed check. */
int tl_release_key_check(const TPM2B_PUBLIC *pub, struct tl_error *err);

/* The Qualified Name of child (a Name) whose parent has Qualified Name
 * parent_qn, hashed with the child's nameAlg: qn holds TL_TPM_NAME_MAX. */
int tl_tpm_qualified_name(const uint8_t *parent_qn, size_t parent_len, const TPM2B_PUBLIC *child,
                          uint8_t *qn, size_t *qn_len, struct tl_error *err);

struct tl_release_evidence {
    const uint8_t *ak_public; /* the node's enrolled AK: TPM2B_PUBLIC (or TPMT_PUBLIC) */
    size_t ak_len;
    const uint8_t *key_public; /* the key to wrap to: TPM2B_PUBLIC */
    size_t key_len;
    const uint8_t *parent_public; /* its parent, a primary of TPM_RH_NULL: TPM2B_PUBLIC */
    size_t parent_len;
    const uint8_t *certify; /* TPM2_Certify's TPMS_ATTEST, as signed */
    size_t certify_len;
    const uint8_t *signature; /* TPMT_SIGNATURE */
    size_t signature_len;
    const uint8_t *nonce; /* what extraData must be */
    size_t nonce_len;
};

/* All the checks above; 0 with *spki (malloc'd DER SubjectPublicKeyInfo of
 * the certified key), or a negative errno with err naming the part
 * ("certify: ...", "key: ...", "AK: ...", "signature: ..."). */
int tl_release_key_verify(const struct tl_release_evidence *ev, uint8_t **spki, size_t *spki_len,
                          struct tl_error *err);
