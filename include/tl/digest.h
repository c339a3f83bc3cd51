/* TPM hash algorithms (TCG Algorithm Registry, TPM_ALG_ID) and hashing.
 *
 * Hashing goes through OpenSSL. Fetching an EVP_MD costs more than hashing a
 * 64-byte extend, so callers that hash often (replay, record checks) hold a
 * tl_hasher, which fetches each algorithm once; it is an explicit context, not
 * a global, so libtl stays reentrant. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define TL_ALG_SHA1     0x0004
#define TL_ALG_SHA256   0x000B
#define TL_ALG_SHA384   0x000C
#define TL_ALG_SHA512   0x000D
#define TL_ALG_SM3_256  0x0012
#define TL_ALG_SHA3_256 0x0027
#define TL_ALG_SHA3_384 0x0028
#define TL_ALG_SHA3_512 0x0029

#define TL_DIGEST_MAX 64

/* "sha256", ... or NULL when the id is not a hash we know. */
const char *tl_alg_name(uint16_t alg);
/* TPM_ALG_ID for a name ("sha256", "SHA256", "sm3_256", "sm3"), or 0. */
uint16_t tl_alg_from_name(const char *name);
/* Digest size in bytes, or 0 when the algorithm is unknown. */
size_t tl_alg_digest_size(uint16_t alg);

struct tl_hasher;

/* Returns NULL on allocation failure. */
struct tl_hasher *tl_hasher_new(void);
void tl_hasher_free(struct tl_hasher *h);

/* Hashes the concatenation of (a, a_len) and (b, b_len) (b may be NULL).
 * Returns the digest size, or -EOPNOTSUPP when OpenSSL lacks the algorithm. */
int tl_hasher_digest2(struct tl_hasher *h, uint16_t alg, const void *a, size_t a_len, const void *b,
                      size_t b_len, uint8_t out[TL_DIGEST_MAX]);

static inline int tl_hasher_digest(struct tl_hasher *h, uint16_t alg, const void *data, size_t len,
                                   uint8_t out[TL_DIGEST_MAX])
{
    return tl_hasher_digest2(h, alg, data, len, NULL, 0, out);
}

/* Streaming: begin, update any number of times, end. One stream at a time
 * per hasher (the one-shot calls above reset it). */
int tl_hasher_begin(struct tl_hasher *h, uint16_t alg);
int tl_hasher_update(struct tl_hasher *h, const void *data, size_t len);
/* Writes the digest; returns its size. */
int tl_hasher_end(struct tl_hasher *h, uint8_t out[TL_DIGEST_MAX]);

/* PCR extend: pcr = H(pcr || digest), both of the algorithm's size. */
int tl_hasher_extend(struct tl_hasher *h, uint16_t alg, uint8_t *pcr, const uint8_t *digest);
