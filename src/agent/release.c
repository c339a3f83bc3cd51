/* The TPM side of a key release (issue 15; tld's keyrelease.c decides).
 *
 * - A primary in the NULL hierarchy (ECC P-256 storage key: fast to make),
 *   and under it an RSA 2048 decryption key: fixedTPM | fixedParent |
 *   sensitiveDataOrigin | userWithAuth | noDA | decrypt, not sign, not
 *   restricted, scheme NULL. The NULL hierarchy's seed changes at every TPM
 *   reset (TPM 2.0 Part 1, 14.4), so the key cannot be loaded again after
 *   the boot: what is wrapped to it dies with the boot.
 * - TPM2_Certify (Part 3, 18.2) of the key by the AK over tld's nonce: tld
 *   checks the AK's signature, the certified Name and the Qualified Name
 *   (which proves the key is the primary's child in the NULL hierarchy).
 * - The answer: RSA-OAEP (SHA-256, no label) of an ephemeral AES-256 key,
 *   opened with TPM2_RSA_Decrypt in the TPM, then AES key wrap with padding
 *   (RFC 5649) of the key, opened here with OpenSSL.
 * - --release-open DUMP (agent_release_open_saved): an answer saved by
 *   --release-dump, opened again with this TPM: the saved key loaded under
 *   this TPM's NULL primary (only the same TPM in the same boot can: the
 *   key's private area is protected by a key derived from the NULL seed),
 *   else a fresh key of this TPM tried on it (RSA-OAEP: only the private
 *   half of the key it was wrapped to opens it). The attack test's tool. */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tss2/tss2_mu.h>

#include "agent.h"
#include "tl/base64.h"
#include "tlhost/file.h"

#define RELEASE_KEY_ATTRIBUTES                                                                     \
    (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |            \
     TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA | TPMA_OBJECT_DECRYPT)
#define STORAGE_ATTRIBUTES                                                                         \
    (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |            \
     TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT)

static void marshal(const TPM2B_PUBLIC *pub, uint8_t *buf, size_t *len)
{
    *len = 0;
    Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, sizeof(TPM2B_PUBLIC), len);
}

void agent_release_key_done(ESYS_CONTEXT *esys, struct agent_release_key *k)
{
    if (esys) {
        agent_tpm_flush(esys, &k->key);
        agent_tpm_flush(esys, &k->primary);
    }
}

/* The storage primary of the NULL hierarchy: the same template gives the
 * same key until the TPM's next reset. */
static int null_primary(ESYS_CONTEXT *esys, struct agent_release_key *k, char *err, size_t err_size)
{
    TPM2B_SENSITIVE_CREATE sensitive = {0};
    TPM2B_DATA outside = {0};
    TPML_PCR_SELECTION pcrs = {0};
    TPM2B_PUBLIC storage = {.publicArea = {
                                .type = TPM2_ALG_ECC,
                                .nameAlg = TPM2_ALG_SHA256,
                                .objectAttributes = STORAGE_ATTRIBUTES,
                                .parameters.eccDetail = {.symmetric = {.algorithm = TPM2_ALG_AES,
                                                                       .keyBits.aes = 128,
                                                                       .mode.aes = TPM2_ALG_CFB},
                                                         .scheme.scheme = TPM2_ALG_NULL,
                                                         .curveID = TPM2_ECC_NIST_P256,
                                                         .kdf.scheme = TPM2_ALG_NULL},
                            }};
    TPM2B_PUBLIC *out = NULL;
    TSS2_RC rc = Esys_CreatePrimary(esys, ESYS_TR_RH_NULL, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                    ESYS_TR_NONE, &sensitive, &storage, &outside, &pcrs,
                                    &k->primary, &out, NULL, NULL, NULL);
    if (rc != TSS2_RC_SUCCESS)
        return agent_tpm_fail(err, err_size, "CreatePrimary (NULL hierarchy)", rc);
    marshal(out, k->parent_public, &k->parent_len);
    Esys_Free(out);
    return 0;
}

int agent_release_key_create(ESYS_CONTEXT *esys, ESYS_TR ak, const uint8_t *nonce, size_t nonce_len,
                             struct agent_release_key *k, char *err, size_t err_size)
{
    *k = (struct agent_release_key){.primary = ESYS_TR_NONE, .key = ESYS_TR_NONE};
    int r = null_primary(esys, k, err, err_size);
    if (r < 0)
        return r;
    TPM2B_SENSITIVE_CREATE sensitive = {0};
    TPM2B_DATA outside = {0};
    TPML_PCR_SELECTION pcrs = {0};
    TPM2B_PUBLIC *out = NULL;
    TPM2B_PUBLIC tmpl = {.publicArea = {
                             .type = TPM2_ALG_RSA,
                             .nameAlg = TPM2_ALG_SHA256,
                             .objectAttributes = RELEASE_KEY_ATTRIBUTES,
                             .parameters.rsaDetail = {.symmetric.algorithm = TPM2_ALG_NULL,
                                                      .scheme.scheme = TPM2_ALG_NULL,
                                                      .keyBits = 2048,
                                                      .exponent = 0},
                         }};
    TPM2B_PRIVATE *priv = NULL;
    TSS2_RC rc = Esys_Create(esys, k->primary, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                             &sensitive, &tmpl, &outside, &pcrs, &priv, &out, NULL, NULL, NULL);
    if (rc != TSS2_RC_SUCCESS) {
        agent_release_key_done(esys, k);
        return agent_tpm_fail(err, err_size, "Create (release key)", rc);
    }
    marshal(out, k->key_public, &k->key_len);
    k->private_len = 0;
    Tss2_MU_TPM2B_PRIVATE_Marshal(priv, k->key_private, sizeof(k->key_private), &k->private_len);
    rc = Esys_Load(esys, k->primary, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, priv, out,
                   &k->key);
    Esys_Free(priv);
    Esys_Free(out);
    if (rc != TSS2_RC_SUCCESS) {
        agent_release_key_done(esys, k);
        return agent_tpm_fail(err, err_size, "Load (release key)", rc);
    }
    if (ak == ESYS_TR_NONE) /* not certified: a key to try on a saved answer */
        return 0;

    TPM2B_DATA qualifying = {.size = (UINT16)nonce_len};
    memcpy(qualifying.buffer, nonce, nonce_len);
    TPMT_SIG_SCHEME scheme = {.scheme = TPM2_ALG_NULL}; /* the AK's own */
    TPM2B_ATTEST *attest = NULL;
    TPMT_SIGNATURE *sig = NULL;
    rc = Esys_Certify(esys, k->key, ak, ESYS_TR_PASSWORD, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                      &qualifying, &scheme, &attest, &sig);
    if (rc != TSS2_RC_SUCCESS) {
        agent_release_key_done(esys, k);
        return agent_tpm_fail(err, err_size, "Certify (release key)", rc);
    }
    memcpy(k->certify, attest->attestationData, attest->size);
    k->certify_len = attest->size;
    k->sig_len = 0;
    rc = Tss2_MU_TPMT_SIGNATURE_Marshal(sig, k->sig, sizeof(k->sig), &k->sig_len);
    Esys_Free(attest);
    Esys_Free(sig);
    if (rc != TSS2_RC_SUCCESS) {
        agent_release_key_done(esys, k);
        snprintf(err, err_size, "Certify: the signature does not marshal");
        return -EPROTO;
    }
    return 0;
}

/* RFC 5649 unwrap of in under kek (32 bytes) into out (at most in_len - 8). */
static int kwp_unwrap(const uint8_t kek[32], const uint8_t *in, size_t in_len, uint8_t *out,
                      size_t *out_len)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, m = 0;
    bool ok = ctx != NULL;
    if (ok) {
        EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
        ok = EVP_DecryptInit_ex(ctx, EVP_aes_256_wrap_pad(), NULL, kek, NULL) &&
             EVP_DecryptUpdate(ctx, out, &n, in, (int)in_len) &&
             EVP_DecryptFinal_ex(ctx, out + n, &m);
    }
    EVP_CIPHER_CTX_free(ctx);
    *out_len = ok ? (size_t)(n + m) : 0;
    return ok ? 0 : -EBADMSG;
}

int agent_release_unwrap(ESYS_CONTEXT *esys, const struct agent_release_key *k,
                         const uint8_t *wrapped, size_t len, uint8_t **out, size_t *out_len,
                         char *err, size_t err_size)
{
    *out = NULL;
    *out_len = 0;
    const size_t rsa = 256; /* the key's 2048-bit modulus */
    if (len <= rsa + 8 || (len - rsa) % 8 != 0) {
        snprintf(err, err_size, "release: the wrapped key is %zu bytes, not RSA-2048 || KWP", len);
        return -EPROTO;
    }
    TPM2B_PUBLIC_KEY_RSA cipher = {.size = (UINT16)rsa};
    memcpy(cipher.buffer, wrapped, rsa);
    TPMT_RSA_DECRYPT scheme = {.scheme = TPM2_ALG_OAEP, .details.oaep.hashAlg = TPM2_ALG_SHA256};
    TPM2B_DATA label = {0};
    TPM2B_PUBLIC_KEY_RSA *eph = NULL;
    TSS2_RC rc = Esys_RSA_Decrypt(esys, k->key, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                                  &cipher, &scheme, &label, &eph);
    if (rc != TSS2_RC_SUCCESS)
        return agent_tpm_fail(err, err_size, "RSA_Decrypt (the ephemeral key)", rc);
    int r = 0;
    if (eph->size != 32) {
        snprintf(err, err_size, "release: the ephemeral key is %u bytes, not 32", eph->size);
        r = -EPROTO;
    }
    uint8_t *key = r == 0 ? malloc(len - rsa) : NULL;
    if (r == 0 && !key) {
        snprintf(err, err_size, "out of memory");
        r = -ENOMEM;
    }
    if (r == 0 && kwp_unwrap(eph->buffer, wrapped + rsa, len - rsa, key, out_len) < 0) {
        snprintf(err, err_size, "release: the key wrap does not open (RFC 5649 integrity)");
        r = -EBADMSG;
    }
    OPENSSL_cleanse(eph->buffer, sizeof(eph->buffer));
    Esys_Free(eph);
    if (r < 0) {
        free(key);
        *out_len = 0;
        return r;
    }
    *out = key;
    return 0;
}

int agent_release_key_load(ESYS_CONTEXT *esys, const uint8_t *pub, size_t pub_len,
                           const uint8_t *priv, size_t priv_len, struct agent_release_key *k,
                           char *err, size_t err_size)
{
    *k = (struct agent_release_key){.primary = ESYS_TR_NONE, .key = ESYS_TR_NONE};
    TPM2B_PUBLIC p = {0};
    TPM2B_PRIVATE s = {0};
    size_t po = 0, so = 0;
    if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(pub, pub_len, &po, &p) != TSS2_RC_SUCCESS || po != pub_len ||
        Tss2_MU_TPM2B_PRIVATE_Unmarshal(priv, priv_len, &so, &s) != TSS2_RC_SUCCESS ||
        so != priv_len) {
        snprintf(err, err_size, "release: the saved key is not a TPM2B_PUBLIC and TPM2B_PRIVATE");
        return -EPROTO;
    }
    int r = null_primary(esys, k, err, err_size);
    if (r < 0)
        return r;
    TSS2_RC rc =
        Esys_Load(esys, k->primary, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &s, &p, &k->key);
    if (rc != TSS2_RC_SUCCESS) {
        agent_release_key_done(esys, k);
        return agent_tpm_fail(err, err_size, "Load (the saved release key)", rc);
    }
    return 0;
}

/* DUMP's "key_public" and DUMP.answer's "wrapped", decoded (*pub, *wrapped
 * malloc'd); the files' own errors in err. */
static int saved_read(const char *dump, uint8_t **pub, size_t *pub_len, uint8_t **wrapped,
                      size_t *wrapped_len, char *err, size_t err_size)
{
    static const char *const suffix[] = {"", ".answer"};
    static const char *const member[] = {"key_public", "wrapped"};
    uint8_t **out[] = {pub, wrapped};
    size_t *len[] = {pub_len, wrapped_len};
    for (size_t i = 0; i < 2; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s%s", dump, suffix[i]);
        uint8_t *buf = NULL;
        size_t n = 0;
        int r = tlh_file_read(path, 1 << 20, &buf, &n, NULL);
        json_t *doc = r == 0 ? json_loadb((const char *)buf, n, 0, NULL) : NULL;
        free(buf);
        const char *b64 = json_string_value(json_object_get(doc, member[i]));
        if (!b64 || tl_base64_decode(b64, strlen(b64), 0, out[i], len[i]) < 0) {
            if (r < 0)
                snprintf(err, err_size, "%.300s: %s", path, strerror(-r));
            else
                snprintf(err, err_size, "%.300s: no base64 \"%s\"", path, member[i]);
            json_decref(doc);
            return r < 0 ? r : -EPROTO;
        }
        json_decref(doc);
    }
    return 0;
}

int agent_release_open_saved(const char *tcti, const char *dump, const char *out_path)
{
    char err[512] = "", path[4096];
    uint8_t *pub = NULL, *wrapped = NULL, *priv = NULL, *key = NULL;
    size_t pub_len = 0, wrapped_len = 0, priv_len = 0, key_len = 0;
    struct agent_tpm tpm = {0};
    int status = AGENT_EXIT_FAIL;
    snprintf(path, sizeof(path), "%s.private", dump);
    int r = saved_read(dump, &pub, &pub_len, &wrapped, &wrapped_len, err, sizeof(err));
    if (r == 0 && (r = tlh_file_read(path, sizeof(TPM2B_PRIVATE) + 2, &priv, &priv_len, NULL)) < 0)
        snprintf(err, sizeof(err), "%.300s: %s", path, strerror(-r));
    if (r == 0 && (r = agent_tpm_open(tcti, &tpm, err, sizeof(err))) == 1) {
        snprintf(err, sizeof(err), "no TPM behind %s", tcti);
        r = -ENODEV;
    }
    if (r < 0) {
        agent_say("release-open failed: %s", err);
        goto done;
    }
    /* 1. the key the answer was wrapped to, loaded again: only its own TPM
     *    in the same boot accepts its private area */
    struct agent_release_key k;
    r = agent_release_key_load(tpm.esys, pub, pub_len, priv, priv_len, &k, err, sizeof(err));
    if (r == 0) {
        r = agent_release_unwrap(tpm.esys, &k, wrapped, wrapped_len, &key, &key_len, err,
                                 sizeof(err));
        agent_release_key_done(tpm.esys, &k);
        if (r == 0 && tlh_file_write_new(out_path, key, key_len, 0600, NULL) < 0) {
            snprintf(err, sizeof(err), "cannot write %s (it must not exist yet)", out_path);
            r = -EEXIST;
        }
        if (r == 0) {
            agent_say("release-open: opened with the saved key (%zu bytes)", key_len);
            status = AGENT_EXIT_OK;
        } else {
            agent_say("release-open: the saved key loaded, but: %s", err);
        }
        goto done;
    }
    agent_say("release-open: the saved key does not load here: %s", err);
    /* 2. this TPM's own key in its place: OAEP's check refuses the block */
    r = agent_release_key_create(tpm.esys, ESYS_TR_NONE, NULL, 0, &k, err, sizeof(err));
    if (r == 0) {
        r = agent_release_unwrap(tpm.esys, &k, wrapped, wrapped_len, &key, &key_len, err,
                                 sizeof(err));
        agent_release_key_done(tpm.esys, &k);
    }
    if (r == 0) /* never: that would be a key opened by the wrong TPM */
        agent_say("release-open: OPENED BY A KEY IT WAS NOT WRAPPED TO (%zu bytes)", key_len);
    else
        agent_say("release-open: this TPM's own key does not open it: %s", err);
done:
    if (key)
        OPENSSL_cleanse(key, key_len);
    free(key);
    free(pub);
    free(wrapped);
    free(priv);
    if (tpm.esys)
        agent_tpm_close(&tpm);
    return status;
}
