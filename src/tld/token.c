/* Attestation tokens: a JWT (RFC 7519) signed with ES256 (RFC 7518 3.4:
 * ECDSA P-256 SHA-256, the signature as the 64-byte r || s), and the
 * signing key published as a JWK Set (RFC 7517) so that any relying party
 * verifies tokens with an off-the-shelf JWT library.
 *
 * The key is created on first start in HOME/keys/token-signing.pem (0600)
 * and named by its RFC 7638 thumbprint (the "kid"). The key and its JWK
 * are the struct tld's (t->tokens), not the process's. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tl/base64.h"
#include "tld.h"

struct tld_tokens {
    EVP_PKEY *key;
    char kid[44];      /* RFC 7638 thumbprint */
    char x[44], y[44]; /* the JWK's coordinates */
};

/* base64url without padding (RFC 7515, 2) into out, which has room for
 * the encoding of len bytes (fixed-size fields: coordinates, digests). */
static void b64url(const uint8_t *in, size_t len, char *out)
{
    char *s = NULL;
    size_t n = 0;
    out[0] = 0;
    if (tl_base64_encode(in, len, TL_BASE64_URL | TL_BASE64_NO_PAD, &s, &n) == 0)
        memcpy(out, s, n + 1);
    free(s);
}

static char *b64url_alloc(const uint8_t *in, size_t len)
{
    char *s = NULL;
    return tl_base64_encode(in, len, TL_BASE64_URL | TL_BASE64_NO_PAD, &s, NULL) == 0 ? s : NULL;
}

static int coordinates(struct tld_tokens *tk)
{
    EVP_PKEY *k = tk->key;
    BIGNUM *x = NULL, *y = NULL;
    uint8_t bx[32], by[32];
    int r = -EINVAL;
    if (EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, &x) == 1 &&
        EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, &y) == 1 &&
        BN_bn2binpad(x, bx, 32) == 32 && BN_bn2binpad(y, by, 32) == 32) {
        b64url(bx, 32, tk->x);
        b64url(by, 32, tk->y);
        /* RFC 7638: SHA-256 of the required members in lexicographic order */
        char canon[200];
        snprintf(canon, sizeof(canon),
                 "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", tk->x, tk->y);
        uint8_t md[32];
        SHA256((const uint8_t *)canon, strlen(canon), md);
        b64url(md, 32, tk->kid);
        r = 0;
    }
    BN_free(x);
    BN_free(y);
    return r;
}

static void tokens_free(struct tld_tokens *tk)
{
    if (tk) {
        EVP_PKEY_free(tk->key);
        free(tk);
    }
}

static int load_or_create(const char *path, struct tld_tokens *tk)
{
    EVP_PKEY *signing_key = NULL;
    FILE *f = fopen(path, "re");
    if (f) {
        signing_key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        fclose(f);
        if (!signing_key) {
            tld_log("%s: not a private key", path);
            return -EINVAL;
        }
    } else {
        signing_key = EVP_EC_gen("P-256");
        int fd = signing_key ? open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600) : -1;
        FILE *out = fd >= 0 ? fdopen(fd, "w") : NULL;
        if (!out || !PEM_write_PrivateKey(out, signing_key, NULL, NULL, 0, NULL, NULL) ||
            fflush(out) != 0 || fsync(fd) < 0) {
            if (out)
                fclose(out);
            else if (fd >= 0)
                close(fd);
            unlink(path);
            EVP_PKEY_free(signing_key);
            tld_log("%s: cannot create the token signing key", path);
            return -EIO;
        }
        fclose(out);
    }
    tk->key = signing_key;
    if (EVP_PKEY_get_base_id(signing_key) != EVP_PKEY_EC || coordinates(tk) < 0) {
        tld_log("%s: not a P-256 key", path);
        return -EINVAL;
    }
    return 0;
}

int tld_token_init(struct tld *t)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/keys/token-signing.pem", t->home);
    struct tld_tokens *tk = calloc(1, sizeof(*tk));
    if (!tk)
        return -ENOMEM;
    int r = load_or_create(path, tk);
    if (r < 0) {
        tokens_free(tk);
        return r;
    }
    t->tokens = tk;
    return 0;
}

void tld_token_free(struct tld *t)
{
    tokens_free(t->tokens);
    t->tokens = NULL;
}

json_t *tld_token_jwks(const struct tld *t)
{
    const struct tld_tokens *tk = t->tokens;
    return json_pack("{s:[{s:s, s:s, s:s, s:s, s:s, s:s}]}", "keys", "kty", "EC", "crv", "P-256",
                     "x", tk->x, "y", tk->y, "kid", tk->kid, "use", "sig", "alg", "ES256");
}

char *tld_token_sign(const struct tld *t, json_t *claims)
{
    const struct tld_tokens *tk = t->tokens;
    json_t *header = json_pack("{s:s, s:s, s:s}", "alg", "ES256", "typ", "JWT", "kid", tk->kid);
    char *h = json_dumps(header, JSON_COMPACT | JSON_SORT_KEYS);
    char *c = json_dumps(claims, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(header);
    char *hb = h ? b64url_alloc((uint8_t *)h, strlen(h)) : NULL;
    char *cb = c ? b64url_alloc((uint8_t *)c, strlen(c)) : NULL;
    free(h);
    free(c);
    char *input = NULL, *token = NULL;
    if (!hb || !cb || asprintf(&input, "%s.%s", hb, cb) < 0)
        goto out;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    uint8_t der[128];
    size_t der_len = sizeof(der);
    if (!md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, tk->key) != 1 ||
        EVP_DigestSign(md, der, &der_len, (uint8_t *)input, strlen(input)) != 1) {
        EVP_MD_CTX_free(md);
        goto out;
    }
    EVP_MD_CTX_free(md);
    /* DER ECDSA-Sig-Value → r || s, 32 bytes each (RFC 7518 3.4) */
    const uint8_t *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    uint8_t raw[64];
    if (!sig || BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, 32) != 32 ||
        BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + 32, 32) != 32) {
        ECDSA_SIG_free(sig);
        goto out;
    }
    ECDSA_SIG_free(sig);
    char sb[90];
    b64url(raw, 64, sb);
    if (asprintf(&token, "%s.%s", input, sb) < 0)
        token = NULL;
out:
    free(hb);
    free(cb);
    free(input);
    return token;
}
