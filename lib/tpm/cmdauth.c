/* Session authorization hashes (tpmcmd.h): cpHash, rpHash and a session's
 * HMAC, SHA-256 (TPM 2.0 Part 1, 19.6.5 "HMAC Computation", 19.6.8
 * "Response HMAC", 18.7 "Command Parameter Hash"). Pure. The relay uses
 * them to answer an NV_Read of its own index under an unbound, unsalted
 * HMAC session, whose sessionKey is empty (Part 1, 19.6.3), so the HMAC key
 * is the entity's authValue alone. */
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "tl/tpmcmd.h"

static void be32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)(v >> 24);
    b[1] = (uint8_t)(v >> 16);
    b[2] = (uint8_t)(v >> 8);
    b[3] = (uint8_t)v;
}

int tl_tpm_cp_hash(uint32_t cc, const uint8_t *const names[], const size_t name_lens[],
                   size_t n_names, const uint8_t *params, size_t params_len, uint8_t out[32])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    uint8_t c[4];
    be32(c, cc);
    int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) && EVP_DigestUpdate(md, c, 4);
    for (size_t i = 0; ok && i < n_names; i++)
        ok = EVP_DigestUpdate(md, names[i], name_lens[i]);
    ok = ok && EVP_DigestUpdate(md, params, params_len) && EVP_DigestFinal_ex(md, out, NULL);
    EVP_MD_CTX_free(md);
    return ok ? 0 : -ENOMEM;
}

int tl_tpm_rp_hash(uint32_t rc, uint32_t cc, const uint8_t *params, size_t params_len,
                   uint8_t out[32])
{
    uint8_t h[8];
    be32(h, rc);
    be32(h + 4, cc);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) && EVP_DigestUpdate(md, h, 8) &&
             EVP_DigestUpdate(md, params, params_len) && EVP_DigestFinal_ex(md, out, NULL);
    EVP_MD_CTX_free(md);
    return ok ? 0 : -ENOMEM;
}

int tl_tpm_session_hmac(const uint8_t *key, size_t key_len, const uint8_t p_hash[32],
                        const uint8_t *newer, size_t newer_len, const uint8_t *older,
                        size_t older_len, uint8_t attributes, uint8_t out[32])
{
    /* pHash (32), two nonces (each at most a digest: 64), attributes */
    uint8_t buf[32 + 64 + 64 + 1];
    if (newer_len > 64 || older_len > 64)
        return -EINVAL;
    size_t n = 0;
    memcpy(buf, p_hash, 32);
    n += 32;
    memcpy(buf + n, newer, newer_len);
    n += newer_len;
    memcpy(buf + n, older, older_len);
    n += older_len;
    buf[n++] = attributes;
    unsigned len = 0;
    static const uint8_t empty[1];
    return HMAC(EVP_sha256(), key_len ? key : empty, (int)key_len, buf, n, out, &len) && len == 32
               ? 0
               : -ENOMEM;
}
