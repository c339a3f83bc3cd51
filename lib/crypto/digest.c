/* Hash algorithm table and the tl_hasher context (OpenSSL EVP underneath). */
#include "tl/digest.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <strings.h>

struct alg_info {
    uint16_t id;
    size_t size;
    const char *name;
    const char *openssl_name;
};

static const struct alg_info algs[] = {
    {TL_ALG_SHA1, 20, "sha1", "SHA1"},
    {TL_ALG_SHA256, 32, "sha256", "SHA256"},
    {TL_ALG_SHA384, 48, "sha384", "SHA384"},
    {TL_ALG_SHA512, 64, "sha512", "SHA512"},
    {TL_ALG_SM3_256, 32, "sm3_256", "SM3"},
    {TL_ALG_SHA3_256, 32, "sha3_256", "SHA3-256"},
    {TL_ALG_SHA3_384, 48, "sha3_384", "SHA3-384"},
    {TL_ALG_SHA3_512, 64, "sha3_512", "SHA3-512"},
};
#define N_ALGS (sizeof(algs) / sizeof(algs[0]))

static int alg_index(uint16_t alg)
{
    for (size_t i = 0; i < N_ALGS; i++)
        if (algs[i].id == alg)
            return (int)i;
    return -1;
}

const char *tl_alg_name(uint16_t alg)
{
    int i = alg_index(alg);
    return i < 0 ? NULL : algs[i].name;
}

uint16_t tl_alg_from_name(const char *name)
{
    for (size_t i = 0; i < N_ALGS; i++)
        if (strcasecmp(name, algs[i].name) == 0 || strcasecmp(name, algs[i].openssl_name) == 0)
            return algs[i].id;
    if (strcasecmp(name, "sm3") == 0)
        return TL_ALG_SM3_256;
    return 0;
}

size_t tl_alg_digest_size(uint16_t alg)
{
    int i = alg_index(alg);
    return i < 0 ? 0 : algs[i].size;
}

struct tl_hasher {
    EVP_MD_CTX *ctx;
    EVP_MD *md[N_ALGS];
    unsigned char fetch_failed[N_ALGS];
};

struct tl_hasher *tl_hasher_new(void)
{
    struct tl_hasher *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->ctx = EVP_MD_CTX_new();
    if (!h->ctx) {
        free(h);
        return NULL;
    }
    return h;
}

void tl_hasher_free(struct tl_hasher *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < N_ALGS; i++)
        EVP_MD_free(h->md[i]);
    EVP_MD_CTX_free(h->ctx);
    free(h);
}

static const EVP_MD *hasher_md(struct tl_hasher *h, uint16_t alg)
{
    int i = alg_index(alg);
    if (i < 0 || h->fetch_failed[i])
        return NULL;
    if (!h->md[i]) {
        h->md[i] = EVP_MD_fetch(NULL, algs[i].openssl_name, NULL);
        if (!h->md[i]) {
            h->fetch_failed[i] = 1;
            return NULL;
        }
    }
    return h->md[i];
}

int tl_hasher_digest2(struct tl_hasher *h, uint16_t alg, const void *a, size_t a_len, const void *b,
                      size_t b_len, uint8_t out[TL_DIGEST_MAX])
{
    const EVP_MD *md = hasher_md(h, alg);
    unsigned int n = 0;
    if (!md)
        return -EOPNOTSUPP;
    if (EVP_DigestInit_ex2(h->ctx, md, NULL) != 1 || EVP_DigestUpdate(h->ctx, a, a_len) != 1 ||
        (b && EVP_DigestUpdate(h->ctx, b, b_len) != 1) || EVP_DigestFinal_ex(h->ctx, out, &n) != 1)
        return -EIO;
    return (int)n;
}

int tl_hasher_extend(struct tl_hasher *h, uint16_t alg, uint8_t *pcr, const uint8_t *digest)
{
    size_t n = tl_alg_digest_size(alg);
    uint8_t out[TL_DIGEST_MAX];
    int r = tl_hasher_digest2(h, alg, pcr, n, digest, n, out);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n; i++)
        pcr[i] = out[i];
    return 0;
}

int tl_hasher_begin(struct tl_hasher *h, uint16_t alg)
{
    const EVP_MD *md = hasher_md(h, alg);
    if (!md)
        return -EOPNOTSUPP;
    return EVP_DigestInit_ex2(h->ctx, md, NULL) == 1 ? 0 : -EIO;
}

int tl_hasher_update(struct tl_hasher *h, const void *data, size_t len)
{
    return EVP_DigestUpdate(h->ctx, data, len) == 1 ? 0 : -EIO;
}

int tl_hasher_end(struct tl_hasher *h, uint8_t out[TL_DIGEST_MAX])
{
    unsigned int n = 0;
    if (EVP_DigestFinal_ex(h->ctx, out, &n) != 1)
        return -EIO;
    return (int)n;
}
