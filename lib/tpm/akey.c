/* TPM public areas, Names, attestation keys and their signatures.
 *
 * Parsing is libtss2-mu's, with three things added around it, because MU
 * alone does not give them:
 *  - exact lengths: MU stops where the structure ends and says nothing
 *    about what follows; trailing bytes are refused here;
 *  - the TPM2B_PUBLIC size: Tss2_MU_TPM2B_PUBLIC_Unmarshal (tpm2-tss 3.x,
 *    TPM2B_UNMARSHAL_SUBTYPE) neither checks that the TPMT_PUBLIC it reads
 *    is as long as the size field says nor returns the inner error, so the
 *    size is read with MU and the TPMT_PUBLIC unmarshalled from exactly
 *    that many bytes;
 *  - canonical encodings: the parsed structure is marshalled back and must
 *    be the input, byte for byte. The Name (and a signature's meaning) is
 *    of the bytes; a structure that re-encodes differently would have two.
 *
 * Sources: TPM 2.0 Part 1 rev 1.59, 16 (Names), 25.2 (Attestation Keys);
 * Part 2, 8.3 (TPMA_OBJECT), 12.2.3 (public parameters), 11.3
 * (signatures); PKCS #1 v2.2 for RSASSA-PKCS1-v1_5 and RSASSA-PSS; SEC 1
 * for ECDSA. */
#include "tl/akey.h"

#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <string.h>
#include <tss2/tss2_mu.h>

#include "tl/digest.h"
#include "tl/util.h"
#include "tl/vtpm.h"

#define AK_REQUIRED                                                                                \
    (TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_FIXEDTPM |                    \
     TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN)

const char *tl_tpm_sig_scheme_name(uint16_t scheme)
{
    switch (scheme) {
    case TPM2_ALG_RSASSA:
        return "rsassa";
    case TPM2_ALG_RSAPSS:
        return "rsapss";
    case TPM2_ALG_ECDSA:
        return "ecdsa";
    case TPM2_ALG_NULL:
        return "null";
    default:
        return NULL;
    }
}

static const char *alg_str(uint16_t alg, char buf[8])
{
    const char *n = tl_alg_name(alg);
    if (n)
        return n;
    snprintf(buf, 8, "0x%04x", alg);
    return buf;
}

/* The hashes an attestation may use: SHA-2, and SHA-1 when allowed. 0 or
 * -EPERM / -EOPNOTSUPP with "WHAT: hash ... refused". */
static int hash_allowed(uint16_t alg, unsigned flags, const char *what, struct tl_error *err)
{
    char b[8];
    switch (alg) {
    case TPM2_ALG_SHA256:
    case TPM2_ALG_SHA384:
    case TPM2_ALG_SHA512:
        return 0;
    case TPM2_ALG_SHA1:
        if (flags & TL_ATTEST_ALLOW_SHA1)
            return 0;
        return tl_error_set_nopos(err, -EPERM, "%s sha1 refused (SHA-1 is not allowed)", what);
    default:
        return tl_error_set_nopos(err, -EOPNOTSUPP, "%s %s is not a hash accepted here", what,
                                  alg_str(alg, b));
    }
}

/* ---- public areas ---- */

/* Marshals back and compares: the encoding must be the only one. */
static int public_canonical(const TPMT_PUBLIC *p, const uint8_t *buf, size_t len,
                            struct tl_error *err)
{
    uint8_t again[sizeof(TPMT_PUBLIC)];
    size_t off = 0;
    if (Tss2_MU_TPMT_PUBLIC_Marshal(p, again, sizeof(again), &off) != TSS2_RC_SUCCESS ||
        off != len || memcmp(again, buf, len) != 0)
        return tl_error_set_nopos(err, -EBADMSG,
                                  "public area: not canonically encoded (%zu bytes re-encode as "
                                  "%zu differing ones)",
                                  len, off);
    return 0;
}

int tl_tpm_public_parse_tpmt(const uint8_t *buf, size_t len, TPM2B_PUBLIC *out,
                             struct tl_error *err)
{
    *out = (TPM2B_PUBLIC){0};
    size_t off = 0;
    TSS2_RC rc = Tss2_MU_TPMT_PUBLIC_Unmarshal(buf, len, &off, &out->publicArea);
    if (rc != TSS2_RC_SUCCESS) {
        *out = (TPM2B_PUBLIC){0};
        return tl_error_set_nopos(
            err, -EBADMSG, "public area: not a TPMT_PUBLIC (%zu bytes; libtss2-mu 0x%x)", len, rc);
    }
    if (off != len) {
        *out = (TPM2B_PUBLIC){0};
        return tl_error_set(err, -EBADMSG, off,
                            "public area: %zu trailing bytes after the TPMT_PUBLIC", len - off);
    }
    int r = public_canonical(&out->publicArea, buf, len, err);
    if (r < 0) {
        *out = (TPM2B_PUBLIC){0};
        return r;
    }
    out->size = (uint16_t)len;
    return 0;
}

int tl_tpm_public_parse(const uint8_t *buf, size_t len, TPM2B_PUBLIC *out, struct tl_error *err)
{
    *out = (TPM2B_PUBLIC){0};
    uint16_t size = 0;
    size_t off = 0;
    if (Tss2_MU_UINT16_Unmarshal(buf, len, &off, &size) != TSS2_RC_SUCCESS)
        return tl_error_set(err, -EBADMSG, 0, "public area: %zu bytes, too short for a TPM2B", len);
    if (size != len - 2)
        return tl_error_set(err, -EBADMSG, 0, "public area: TPM2B size %u but %zu bytes follow it",
                            size, len - 2);
    int r = tl_tpm_public_parse_tpmt(buf + 2, size, out, err);
    if (r < 0 && err && err->has_offset)
        err->offset += 2;
    return r;
}

static const EVP_MD *md_for(uint16_t alg)
{
    switch (alg) {
    case TPM2_ALG_SHA1:
        return EVP_sha1();
    case TPM2_ALG_SHA256:
        return EVP_sha256();
    case TPM2_ALG_SHA384:
        return EVP_sha384();
    case TPM2_ALG_SHA512:
        return EVP_sha512();
    default:
        return NULL;
    }
}

int tl_tpm_public_name(const TPM2B_PUBLIC *pub, uint8_t *name, size_t *name_len,
                       struct tl_error *err)
{
    uint8_t buf[sizeof(TPMT_PUBLIC)];
    size_t off = 0;
    char b[8];
    uint16_t alg = pub->publicArea.nameAlg;
    const EVP_MD *md = md_for(alg);
    unsigned n = 0;
    *name_len = 0;
    if (!md)
        return tl_error_set_nopos(err, -EOPNOTSUPP, "public area: nameAlg %s has no Name here",
                                  alg_str(alg, b));
    size_t at = 0;
    if (Tss2_MU_TPMT_PUBLIC_Marshal(&pub->publicArea, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS ||
        Tss2_MU_UINT16_Marshal(alg, name, TL_TPM_NAME_MAX, &at) != TSS2_RC_SUCCESS)
        return tl_error_set_nopos(err, -EBADMSG, "public area: does not marshal");
    if (!EVP_Digest(buf, off, name + at, &n, md, NULL))
        return tl_error_set_nopos(err, -ENOMEM, "public area: hashing the Name failed");
    *name_len = at + n;
    return 0;
}

/* ---- attestation keys ---- */

int tl_akey_check(const TPM2B_PUBLIC *pub, unsigned flags, struct tl_error *err)
{
    const TPMT_PUBLIC *p = &pub->publicArea;
    TPMA_OBJECT a = p->objectAttributes;
    int r;

    uint16_t scheme, scheme_hash, sym;
    switch (p->type) {
    case TPM2_ALG_RSA:
        if (p->parameters.rsaDetail.keyBits != 2048)
            return tl_error_set_nopos(err, -EPERM,
                                      "AK: an RSA key of %u bits (an AK is RSA 2048 or ECC P-256)",
                                      p->parameters.rsaDetail.keyBits);
        scheme = p->parameters.rsaDetail.scheme.scheme;
        scheme_hash = p->parameters.rsaDetail.scheme.details.anySig.hashAlg;
        sym = p->parameters.rsaDetail.symmetric.algorithm;
        if (scheme != TPM2_ALG_RSASSA && scheme != TPM2_ALG_RSAPSS && scheme != TPM2_ALG_NULL)
            return tl_error_set_nopos(err, -EPERM,
                                      "AK: scheme 0x%04x is not RSASSA, RSAPSS or NULL", scheme);
        break;
    case TPM2_ALG_ECC:
        if (p->parameters.eccDetail.curveID != TPM2_ECC_NIST_P256)
            return tl_error_set_nopos(err, -EPERM,
                                      "AK: ECC curve 0x%04x (an AK is RSA 2048 or ECC NIST P-256)",
                                      p->parameters.eccDetail.curveID);
        scheme = p->parameters.eccDetail.scheme.scheme;
        scheme_hash = p->parameters.eccDetail.scheme.details.anySig.hashAlg;
        sym = p->parameters.eccDetail.symmetric.algorithm;
        if (scheme != TPM2_ALG_ECDSA && scheme != TPM2_ALG_NULL)
            return tl_error_set_nopos(err, -EPERM, "AK: scheme 0x%04x is not ECDSA or NULL",
                                      scheme);
        break;
    default:
        return tl_error_set_nopos(err, -EPERM, "AK: type 0x%04x is neither RSA nor ECC", p->type);
    }
    r = hash_allowed(p->nameAlg, flags, "AK: nameAlg", err);
    if (r < 0)
        return r == -EOPNOTSUPP ? -EPERM : r;
    if (!(a & TPMA_OBJECT_RESTRICTED))
        return tl_error_set_nopos(err, -EPERM,
                                  "AK: not restricted (it could sign digests the TPM did not "
                                  "produce: attributes 0x%08x)",
                                  a);
    if (!(a & TPMA_OBJECT_SIGN_ENCRYPT))
        return tl_error_set_nopos(err, -EPERM, "AK: not a signing key (attributes 0x%08x)", a);
    if (a & TPMA_OBJECT_DECRYPT)
        return tl_error_set_nopos(err, -EPERM,
                                  "AK: decrypt set (an AK only signs: attributes 0x%08x)", a);
    if (!(a & TPMA_OBJECT_FIXEDTPM))
        return tl_error_set_nopos(err, -EPERM,
                                  "AK: not fixedTPM (it may be duplicated out of the TPM: "
                                  "attributes 0x%08x)",
                                  a);
    if (!(a & TPMA_OBJECT_FIXEDPARENT))
        return tl_error_set_nopos(err, -EPERM, "AK: not fixedParent (attributes 0x%08x)", a);
    if (!(a & TPMA_OBJECT_SENSITIVEDATAORIGIN))
        return tl_error_set_nopos(err, -EPERM,
                                  "AK: not sensitiveDataOrigin (its private key was imported, not "
                                  "made by the TPM: attributes 0x%08x)",
                                  a);
    if (sym != TPM2_ALG_NULL)
        return tl_error_set_nopos(err, -EPERM,
                                  "AK: symmetric algorithm 0x%04x (a signing key has none)", sym);
    if (scheme != TPM2_ALG_NULL) {
        r = hash_allowed(scheme_hash, flags, "AK: scheme hash", err);
        if (r < 0)
            return r == -EOPNOTSUPP ? -EPERM : r;
    }
    return 0;
}

void tl_akey_done(struct tl_akey *ak)
{
    EVP_PKEY_free(ak->key);
    *ak = (struct tl_akey){0};
}

int tl_akey_load(const uint8_t *buf, size_t len, unsigned flags, struct tl_akey *ak,
                 struct tl_error *err)
{
    return tl_akey_load_keyed(buf, len, flags, NULL, ak, err);
}

int tl_akey_load_keyed(const uint8_t *buf, size_t len, unsigned flags, EVP_PKEY *key,
                       struct tl_akey *ak, struct tl_error *err)
{
    *ak = (struct tl_akey){0};
    uint16_t size = 0;
    size_t off = 0;
    int r;
    /* A TPM2B_PUBLIC's first two bytes are the length of the rest; a
     * TPMT_PUBLIC's are its type (0x0001 or 0x0023), never len - 2 for a
     * key's public area. */
    if (Tss2_MU_UINT16_Unmarshal(buf, len, &off, &size) == TSS2_RC_SUCCESS && size == len - 2)
        r = tl_tpm_public_parse(buf, len, &ak->public, err);
    else
        r = tl_tpm_public_parse_tpmt(buf, len, &ak->public, err);
    if (r >= 0)
        r = tl_akey_check(&ak->public, flags, err);
    if (r >= 0)
        r = tl_tpm_public_name(&ak->public, ak->name, &ak->name_len, err);
    if (r >= 0 && key) {
        if (EVP_PKEY_up_ref(key) != 1)
            r = tl_error_set_nopos(err, -ENOMEM, "out of memory");
        else
            ak->key = key;
    } else if (r >= 0) {
        r = tl_tpm2b_public_to_pkey(&ak->public, &ak->key, err);
        if (r < 0 && err) {
            char m[sizeof(err->message)];
            memcpy(m, err->message, sizeof(m));
            tl_error_set_nopos(err, r, "AK: %s", m);
        }
    }
    if (r < 0)
        tl_akey_done(ak);
    return r;
}

/* ---- signatures ---- */

int tl_tpm_signature_parse(const uint8_t *buf, size_t len, TPMT_SIGNATURE *out,
                           struct tl_error *err)
{
    *out = (TPMT_SIGNATURE){0};
    size_t off = 0;
    uint16_t alg = 0;
    if (Tss2_MU_UINT16_Unmarshal(buf, len, &off, &alg) != TSS2_RC_SUCCESS)
        return tl_error_set(err, -EBADMSG, 0, "signature: %zu bytes, too short", len);
    char b[8];
    switch (alg) {
    case TPM2_ALG_RSASSA:
    case TPM2_ALG_RSAPSS:
    case TPM2_ALG_ECDSA:
        break;
    case TPM2_ALG_NULL:
        return tl_error_set(err, -EBADMSG, 0, "signature: algorithm NULL (the quote is unsigned)");
    default:
        return tl_error_set(err, -EOPNOTSUPP, 0,
                            "signature: scheme %s is not RSASSA, RSAPSS or ECDSA", alg_str(alg, b));
    }
    off = 0;
    TSS2_RC rc = Tss2_MU_TPMT_SIGNATURE_Unmarshal(buf, len, &off, out);
    if (rc != TSS2_RC_SUCCESS) {
        *out = (TPMT_SIGNATURE){0};
        return tl_error_set_nopos(
            err, -EBADMSG, "signature: not a TPMT_SIGNATURE (%zu bytes; libtss2-mu 0x%x)", len, rc);
    }
    if (off != len) {
        *out = (TPMT_SIGNATURE){0};
        return tl_error_set(err, -EBADMSG, off, "signature: %zu trailing bytes", len - off);
    }
    uint8_t again[sizeof(TPMT_SIGNATURE)];
    size_t n = 0;
    if (Tss2_MU_TPMT_SIGNATURE_Marshal(out, again, sizeof(again), &n) != TSS2_RC_SUCCESS ||
        n != len || memcmp(again, buf, len) != 0) {
        *out = (TPMT_SIGNATURE){0};
        return tl_error_set_nopos(err, -EBADMSG, "signature: not canonically encoded");
    }
    return 0;
}

static const char *ossl_reason(void)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    ERR_clear_error();
    return r ? r : "OpenSSL error";
}

/* ECDSA (r, s) as the DER SEQUENCE OpenSSL verifies. */
static int ecdsa_der(const TPMS_SIGNATURE_ECDSA *s, uint8_t **der, int *der_len)
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(s->signatureR.buffer, s->signatureR.size, NULL);
    BIGNUM *ss = BN_bin2bn(s->signatureS.buffer, s->signatureS.size, NULL);
    if (!sig || !r || !ss || !ECDSA_SIG_set0(sig, r, ss)) {
        ECDSA_SIG_free(sig);
        BN_free(r);
        BN_free(ss);
        return -ENOMEM;
    }
    *der = NULL;
    *der_len = i2d_ECDSA_SIG(sig, der);
    ECDSA_SIG_free(sig);
    return *der_len > 0 ? 0 : -ENOMEM;
}

int tl_akey_verify(const struct tl_akey *ak, const uint8_t *data, size_t len,
                   const TPMT_SIGNATURE *sig, unsigned flags, struct tl_error *err)
{
    const TPMT_PUBLIC *p = &ak->public.publicArea;
    uint16_t scheme = sig->sigAlg, hash = sig->signature.any.hashAlg;
    uint16_t key_scheme, key_hash;
    char b[8], c[8];
    int r;

    bool fits = p->type == TPM2_ALG_RSA ? scheme == TPM2_ALG_RSASSA || scheme == TPM2_ALG_RSAPSS
                                        : p->type == TPM2_ALG_ECC && scheme == TPM2_ALG_ECDSA;
    if (!fits)
        return tl_error_set_nopos(err, -EKEYREJECTED,
                                  "signature: scheme %s does not fit the AK's %s key",
                                  tl_tpm_sig_scheme_name(scheme) ?: alg_str(scheme, b),
                                  p->type == TPM2_ALG_RSA ? "RSA" : "ECC");
    if (p->type == TPM2_ALG_RSA) {
        key_scheme = p->parameters.rsaDetail.scheme.scheme;
        key_hash = p->parameters.rsaDetail.scheme.details.anySig.hashAlg;
    } else {
        key_scheme = p->parameters.eccDetail.scheme.scheme;
        key_hash = p->parameters.eccDetail.scheme.details.anySig.hashAlg;
    }
    if (key_scheme != TPM2_ALG_NULL && (key_scheme != scheme || key_hash != hash))
        return tl_error_set_nopos(err, -EKEYREJECTED,
                                  "signature: scheme %s/%s but the AK signs only with %s/%s",
                                  tl_tpm_sig_scheme_name(scheme), alg_str(hash, b),
                                  tl_tpm_sig_scheme_name(key_scheme) ?: "?", alg_str(key_hash, c));
    r = hash_allowed(hash, flags, "signature: hash", err);
    if (r < 0)
        return r;
    const EVP_MD *md = md_for(hash);

    _cleanup_free_ uint8_t *der_owned = NULL;
    const uint8_t *s;
    size_t s_len;
    if (scheme == TPM2_ALG_ECDSA) {
        uint8_t *der = NULL;
        int der_len = 0;
        if (ecdsa_der(&sig->signature.ecdsa, &der, &der_len) < 0)
            return tl_error_set_nopos(err, -ENOMEM, "signature: out of memory");
        der_owned = malloc((size_t)der_len);
        if (!der_owned) {
            OPENSSL_free(der);
            return tl_error_set_nopos(err, -ENOMEM, "signature: out of memory");
        }
        memcpy(der_owned, der, (size_t)der_len);
        OPENSSL_free(der);
        s = der_owned;
        s_len = (size_t)der_len;
    } else {
        const TPM2B_PUBLIC_KEY_RSA *rs = &sig->signature.rsassa.sig;
        if ((int)rs->size != EVP_PKEY_get_size(ak->key))
            return tl_error_set_nopos(err, -EKEYREJECTED,
                                      "signature: %u bytes for a %d-byte RSA modulus", rs->size,
                                      EVP_PKEY_get_size(ak->key));
        s = rs->buffer;
        s_len = rs->size;
    }

    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    if (!ctx || EVP_DigestVerifyInit(ctx, &pctx, md, NULL, ak->key) != 1) {
        EVP_MD_CTX_free(ctx);
        return tl_error_set_nopos(err, -ENOMEM, "signature: %s", ossl_reason());
    }
    if (scheme == TPM2_ALG_RSASSA)
        r = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1 ? 0 : -1;
    else if (scheme == TPM2_ALG_RSAPSS)
        r = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
                    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) == 1
                ? 0
                : -1;
    else
        r = 0;
    int ok = r == 0 ? EVP_DigestVerify(ctx, s, s_len, data, len) : -1;
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    if (r < 0)
        return tl_error_set_nopos(err, -ENOMEM, "signature: cannot set up %s",
                                  tl_tpm_sig_scheme_name(scheme));
    if (ok != 1)
        return tl_error_set_nopos(err, -EKEYREJECTED,
                                  "signature: does not verify with the AK (%s, %s)",
                                  scheme == TPM2_ALG_RSASSA   ? "RSASSA-PKCS1-v1_5"
                                  : scheme == TPM2_ALG_RSAPSS ? "RSASSA-PSS"
                                                              : "ECDSA",
                                  alg_str(hash, b));
    return 0;
}
