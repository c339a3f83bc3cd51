/* Attestation keys: a TPM object's public area as it travels (a marshalled
 * TPM2B_PUBLIC or TPMT_PUBLIC), its TPM Name, the check that it is a key a
 * TPM would only use to sign what it produced itself, and the verification
 * of its TPMT_SIGNATUREs.
 *
 * Pure: bytes in, results out. Unmarshalling is tpm2-tss's libtss2-mu, the
 * cryptography OpenSSL's. Every function returns 0 or a negative errno and
 * fills the tl_error with what failed:
 *   -EBADMSG     the bytes are not the structure (truncated, trailing bytes,
 *                sizes that disagree, a value outside its type);
 *   -EPERM       well-formed, but refused: not an attestation key, an
 *                algorithm the policy does not allow (SHA-1 unless
 *                TL_ATTEST_ALLOW_SHA1);
 *   -EOPNOTSUPP  an algorithm this code does not implement;
 *   -EKEYREJECTED  the signature does not verify;
 *   -ENOMEM.
 *
 * API
 *   int  tl_tpm_public_parse(buf, len, &TPM2B_PUBLIC, err)       TPM2B_PUBLIC bytes
 *   int  tl_tpm_public_parse_tpmt(buf, len, &TPM2B_PUBLIC, err)  TPMT_PUBLIC bytes
 *   int  tl_tpm_public_name(&TPM2B_PUBLIC, name, &name_len, err)
 *   int  tl_akey_check(&TPM2B_PUBLIC, flags, err)
 *   int  tl_akey_load(buf, len, flags, &ak, err)     parse (either form) + check + name + key
 *   void tl_akey_done(&ak)
 *   int  tl_tpm_signature_parse(buf, len, &TPMT_SIGNATURE, err)
 *   int  tl_akey_verify(&ak, data, len, &TPMT_SIGNATURE, flags, err)
 *
 * What an attestation key is (TPM 2.0 Part 1, 25.2 "Attestation Keys" and
 * the TCG PC Client Platform TPM Profile's AK; the checks of go-attestation
 * and Keylime), each failed check its own message:
 *  - RSA 2048 or ECC NIST P-256;
 *  - objectAttributes: restricted and sign (it signs only digests the TPM
 *    computed itself: a quote, a certification), not decrypt; fixedTPM and
 *    fixedParent (it never leaves this TPM); sensitiveDataOrigin (the TPM
 *    made the private key). userWithAuth, noDA and an authPolicy are the
 *    owner's business and accepted;
 *  - a signing scheme RSASSA or RSAPSS (RSA) or ECDSA (ECC), or
 *    TPM_ALG_NULL. Decision: a restricted signing key may leave its scheme
 *    NULL (Part 2, 12.2.3.5 / 12.2.3.6: "for a restricted signing key,
 *    either TPM_ALG_NULL or a valid signing scheme"); the caller of
 *    TPM2_Quote then names it, and the signature carries it. So with a NULL
 *    key scheme the signature's scheme and hash are checked against the
 *    policy; with a key scheme they must be exactly the key's (the TPM
 *    refuses any other, so a different one was not made by this key);
 *  - symmetric TPM_ALG_NULL (a signing key has no storage algorithm);
 *  - nameAlg and the scheme's hash SHA-256, SHA-384 or SHA-512; SHA-1 only
 *    with TL_ATTEST_ALLOW_SHA1 (the GCP Shielded VM vector's AK signs with
 *    RSASSA-SHA1).
 *
 * The Name is nameAlg (big-endian TPM_ALG_ID) || H_nameAlg(TPMT_PUBLIC as
 * marshalled) (Part 1, 16 "Names"). The parsers accept only canonical
 * encodings (libtss2-mu marshals the parsed structure back to exactly the
 * input bytes), so the Name computed from the structure is the Name of the
 * bytes that were received. */
#pragma once

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <tss2/tss2_tpm2_types.h>

#include "tl/error.h"

/* Policy flags shared by the attestation checks (akey.h, quote.h, attest.h). */
#define TL_ATTEST_ALLOW_SHA1 0x1u /* SHA-1 names, signature hashes and PCR banks */
/* attest.h: accept event log records of the types whose digest is normally
 * of their data (EV_EVENT_TAG, EV_COMPACT_HASH, ...) when it is not, as
 * unbound; by default such a record fails the log. */
#define TL_ATTEST_ALLOW_UNBOUND_DATA 0x2u

/* A Name: algorithm id + digest (at most 2 + 64 bytes). */
#define TL_TPM_NAME_MAX (2 + 64)

/* A marshalled TPM2B_PUBLIC: the size field must equal the TPMT_PUBLIC
 * that follows, and the TPMT_PUBLIC must end the buffer. */
int tl_tpm_public_parse(const uint8_t *buf, size_t len, TPM2B_PUBLIC *out, struct tl_error *err);
/* A marshalled TPMT_PUBLIC (no size prefix: go-attestation's AK Public,
 * Windows' TPM key blobs), exact length; out->size is set. */
int tl_tpm_public_parse_tpmt(const uint8_t *buf, size_t len, TPM2B_PUBLIC *out,
                             struct tl_error *err);
/* The object's Name; name must hold TL_TPM_NAME_MAX bytes. */
int tl_tpm_public_name(const TPM2B_PUBLIC *pub, uint8_t *name, size_t *name_len,
                       struct tl_error *err);

/* Is the public area an attestation key (see above)? -EPERM with the
 * first failed check in err otherwise. */
int tl_akey_check(const TPM2B_PUBLIC *pub, unsigned flags, struct tl_error *err);

struct tl_akey {
    TPM2B_PUBLIC public;
    uint8_t name[TL_TPM_NAME_MAX];
    size_t name_len;
    EVP_PKEY *key;
};

/* Parses a TPM2B_PUBLIC or, when the bytes are not one, a TPMT_PUBLIC
 * (the two cannot be confused: a TPM2B's size field would have to be the
 * key type), checks it is an attestation key, computes its Name and its
 * OpenSSL key. On failure ak holds nothing to free. */
int tl_akey_load(const uint8_t *buf, size_t len, unsigned flags, struct tl_akey *ak,
                 struct tl_error *err);
/* As tl_akey_load, with the OpenSSL key given instead of built from the
 * bytes: key must be the ak.key a tl_akey_load of the same bytes made (a
 * verifier that holds an enrolled AK builds its key once; EVP_PKEY_fromdata
 * per quote was ~5% of an attestation in tld). The public area is still
 * parsed and checked and its Name computed; ak takes a reference on key.
 * key NULL: tl_akey_load. */
int tl_akey_load_keyed(const uint8_t *buf, size_t len, unsigned flags, EVP_PKEY *key,
                       struct tl_akey *ak, struct tl_error *err);
void tl_akey_done(struct tl_akey *ak);

/* A marshalled TPMT_SIGNATURE, exact length. Only the signing schemes
 * verified here parse: RSASSA, RSAPSS, ECDSA (anything else is
 * -EOPNOTSUPP, TPM_ALG_NULL is -EBADMSG: "the quote is not signed"). */
int tl_tpm_signature_parse(const uint8_t *buf, size_t len, TPMT_SIGNATURE *out,
                           struct tl_error *err);

/* Verifies sig over data (the signed bytes themselves: the TPMS_ATTEST of
 * a quote) with the AK: the scheme must fit the key's type and the key's
 * own scheme (see above), the hash be allowed by flags; RSASSA-PKCS1-v1_5,
 * RSASSA-PSS (any salt length: TPMs differ, the salt is not a security
 * parameter of the verification) or ECDSA (r, s as DER for OpenSSL).
 * -EKEYREJECTED when the signature does not verify. */
int tl_akey_verify(const struct tl_akey *ak, const uint8_t *data, size_t len,
                   const TPMT_SIGNATURE *sig, unsigned flags, struct tl_error *err);

/* "rsassa", "rsapss", "ecdsa", "null", or NULL for other schemes. */
const char *tl_tpm_sig_scheme_name(uint16_t scheme);
