/* PKCS#7 signature checks the way UEFI firmware and shim make them (EDK2
 * CryptoPkg Pkcs7Verify / AuthenticodeVerify): the signature over the
 * content must verify, and the signer must chain to one of the trusted
 * certificates with a partial chain allowed (the anchor may be an
 * intermediate), without time checks and without key-usage checks.
 * Expired certificates are reported as warnings, as a relying party wants to
 * know, but do not fail (firmware has no trusted clock).
 *
 * The chain found is returned so callers can check every certificate of it
 * against revocation lists (dbx X.509 entries and X509_SHA256 TBS hashes). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "tl/digest.h"
#include "tl/error.h"

/* A trusted certificate (a db X.509 entry, shim's vendor certificate, ...). */
struct tl_cert_ref {
    const uint8_t *der;
    size_t len;
};

enum tl_sigcheck_status {
    TL_SIGCHECK_OK = 0,
    TL_SIGCHECK_MALFORMED,       /* not a PKCS#7 SignedData we can read */
    TL_SIGCHECK_DIGEST_MISMATCH, /* Authenticode: the signed digest is not the image's */
    TL_SIGCHECK_BAD_SIGNATURE,   /* the signature does not verify over the content */
    TL_SIGCHECK_UNTRUSTED,       /* valid, but the signer chains to no trusted certificate */
};

#define TL_SIGCHECK_MAX_CHAIN 8

struct tl_chain_cert {
    char subject[256];
    uint8_t sha256[32];     /* of the DER: the fingerprint */
    uint8_t tbs_sha256[32]; /* of the TBSCertificate: EFI_CERT_X509_SHA256 */
    uint8_t tbs_sha384[48];
    uint8_t tbs_sha512[64];
    uint8_t *der; /* malloc'd copy */
    size_t der_len;
};

struct tl_sigcheck {
    enum tl_sigcheck_status status;
    char reason[320];
    /* Authenticode only: the digest the signature carries. */
    uint16_t digest_alg;
    uint8_t signed_digest[TL_DIGEST_MAX];
    size_t signed_digest_len;
    char signer_subject[256];
    uint8_t signer_sha256[32];
    int anchor; /* index in the trusted list, -1 when none */
    /* signer first, anchor last; every certificate the signature relies on */
    struct tl_chain_cert chain[TL_SIGCHECK_MAX_CHAIN];
    size_t n_chain;
    char warning[256]; /* e.g. an expired certificate; "" when none */
};

void tl_sigcheck_done(struct tl_sigcheck *c);

/* Every certificate a PKCS#7 SignedData carries (its certificates field),
 * with the hashes dbx revocations use, whether or not the signature
 * verifies: EDK2's IsForbiddenByDbx checks all of them. *certs is malloc'd
 * (free each der, then the array). -EBADMSG when the DER is not a
 * SignedData. */
int tl_pkcs7_certificates(const uint8_t *pkcs7, size_t pkcs7_len, struct tl_chain_cert **certs,
                          size_t *n, struct tl_error *err);
const char *tl_sigcheck_status_name(enum tl_sigcheck_status s);

/* Checks a DER PKCS#7 SignedData over `content` (attached content is
 * ignored in favour of `content` when both exist). `now` (0: no expiry
 * warnings) is only used for warnings. Returns 0 with out->status set, or
 * -ENOMEM. */
int tl_pkcs7_check(const uint8_t *pkcs7, size_t pkcs7_len, const uint8_t *content,
                   size_t content_len, const struct tl_cert_ref *trusted, size_t n_trusted,
                   time_t now, struct tl_sigcheck *out, struct tl_error *err);

/* Checks an Authenticode signature (a WIN_CERTIFICATE's bCertificate) of an
 * image whose digests the caller computes on demand: `image_digest` is
 * called with the algorithm the signature names and returns its size or a
 * negative code. The SpcIndirectDataContent digest must equal it
 * (TL_SIGCHECK_DIGEST_MISMATCH otherwise), then tl_pkcs7_check's rules
 * apply over the SpcIndirectDataContent (Authenticode PE 1.0, "Signature"). */
typedef int (*tl_image_digest_fn)(void *ctx, uint16_t alg, uint8_t out[TL_DIGEST_MAX]);
int tl_authenticode_check(const uint8_t *pkcs7, size_t pkcs7_len, tl_image_digest_fn image_digest,
                          void *ctx, const struct tl_cert_ref *trusted, size_t n_trusted,
                          time_t now, struct tl_sigcheck *out, struct tl_error *err);
