/* TPM2_Certify for a key release: the TPMS_ATTEST walked field by field,
 * the key's attributes, its Qualified Name under the NULL hierarchy, the
 * AK's signature (certify.h says why each check is there). */
#include "tl/certify.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <tss2/tss2_mu.h>

#include "tl/akey.h"
#include "tl/cleanup.h"
#include "tl/vtpm.h"
#include "tpms_attest.h"

static int parse_fields(const uint8_t *buf, size_t len, struct tl_certify *c, struct tl_error *err)
{
    const char *what = "certify";
    size_t off = 0;
    uint32_t magic = 0;
    uint16_t type = 0;
    TL_TPMS_FIELD(Tss2_MU_UINT32_Unmarshal, "magic", &magic);
    if (magic != TPM2_GENERATED_VALUE)
        return tl_error_set(err, -EBADMSG, 0,
                            "certify: magic 0x%08x is not TPM_GENERATED_VALUE: the TPM did not "
                            "produce these bytes",
                            magic);
    TL_TPMS_FIELD(Tss2_MU_TPM2_ST_Unmarshal, "type", &type);
    if (type != TPM2_ST_ATTEST_CERTIFY)
        return tl_error_set(err, -EBADMSG, 4,
                            "certify: type 0x%04x is not TPM_ST_ATTEST_CERTIFY (0x%04x)", type,
                            TPM2_ST_ATTEST_CERTIFY);
    TL_TPMS_FIELD(Tss2_MU_TPM2B_NAME_Unmarshal, "qualifiedSigner", &c->qualified_signer);
    TL_TPMS_FIELD(Tss2_MU_TPM2B_DATA_Unmarshal, "extraData", &c->extra_data);
    TPMS_CLOCK_INFO clock = {0};
    size_t clock_at = off;
    TL_TPMS_FIELD(Tss2_MU_TPMS_CLOCK_INFO_Unmarshal, "clockInfo", &clock);
    if (clock.safe != TPM2_YES && clock.safe != TPM2_NO)
        return tl_error_set(err, -EBADMSG, clock_at + 16,
                            "certify: clockInfo.safe is %u, not YES or NO", clock.safe);
    c->clock = clock.clock;
    c->reset_count = clock.resetCount;
    c->restart_count = clock.restartCount;
    c->safe = clock.safe == TPM2_YES;
    TL_TPMS_FIELD(Tss2_MU_UINT64_Unmarshal, "firmwareVersion", &c->firmware_version);
    TL_TPMS_FIELD(Tss2_MU_TPM2B_NAME_Unmarshal, "certifyInfo.name", &c->name);
    TL_TPMS_FIELD(Tss2_MU_TPM2B_NAME_Unmarshal, "certifyInfo.qualifiedName", &c->qualified_name);
    if (off != len)
        return tl_error_set(err, -EBADMSG, off, "certify: %zu trailing bytes after the TPMS_ATTEST",
                            len - off);
    return 0;
}

int tl_certify_parse(const uint8_t *buf, size_t len, struct tl_certify *out, struct tl_error *err)
{
    *out = (struct tl_certify){0};
    int r = parse_fields(buf, len, out, err);
    if (r < 0) {
        *out = (struct tl_certify){0};
        return r;
    }
    /* what is signed is the bytes, what is read the structure: one encoding */
    if (!tl_tpms_attest_canonical(buf, len)) {
        *out = (struct tl_certify){0};
        return tl_error_set_nopos(err, -EBADMSG, "certify: not canonically encoded");
    }
    return 0;
}

int tl_release_key_check(const TPM2B_PUBLIC *pub, struct tl_error *err)
{
    const TPMT_PUBLIC *p = &pub->publicArea;
    TPMA_OBJECT a = p->objectAttributes;
    if (p->type != TPM2_ALG_RSA)
        return tl_error_set_nopos(err, -EPERM, "key: type 0x%04x is not RSA", p->type);
    if (p->parameters.rsaDetail.keyBits < 2048)
        return tl_error_set_nopos(err, -EPERM, "key: RSA %u bits (2048 or more)",
                                  p->parameters.rsaDetail.keyBits);
    if (p->nameAlg != TPM2_ALG_SHA256 && p->nameAlg != TPM2_ALG_SHA384 &&
        p->nameAlg != TPM2_ALG_SHA512)
        return tl_error_set_nopos(err, -EPERM, "key: nameAlg 0x%04x is not SHA-256/384/512",
                                  p->nameAlg);
    if (!(a & TPMA_OBJECT_FIXEDTPM))
        return tl_error_set_nopos(err, -EPERM,
                                  "key: not fixedTPM (it could be duplicated out of the TPM)");
    if (!(a & TPMA_OBJECT_FIXEDPARENT))
        return tl_error_set_nopos(err, -EPERM, "key: not fixedParent");
    if (!(a & TPMA_OBJECT_SENSITIVEDATAORIGIN))
        return tl_error_set_nopos(err, -EPERM,
                                  "key: not sensitiveDataOrigin (the TPM did not make it)");
    if (!(a & TPMA_OBJECT_DECRYPT))
        return tl_error_set_nopos(err, -EPERM, "key: not a decryption key");
    if (a & TPMA_OBJECT_SIGN_ENCRYPT)
        return tl_error_set_nopos(err, -EPERM, "key: sign-capable (a release key only decrypts)");
    if (a & TPMA_OBJECT_RESTRICTED)
        return tl_error_set_nopos(
            err, -EPERM, "key: restricted (a storage key does not decrypt for RSA_Decrypt)");
    if (p->parameters.rsaDetail.symmetric.algorithm != TPM2_ALG_NULL)
        return tl_error_set_nopos(err, -EPERM, "key: has a symmetric algorithm (a storage key)");
    uint16_t scheme = p->parameters.rsaDetail.scheme.scheme;
    if (scheme != TPM2_ALG_NULL && scheme != TPM2_ALG_OAEP)
        return tl_error_set_nopos(err, -EPERM, "key: scheme 0x%04x is not NULL or OAEP", scheme);
    return 0;
}

int tl_tpm_qualified_name(const uint8_t *parent_qn, size_t parent_len, const TPM2B_PUBLIC *child,
                          uint8_t *qn, size_t *qn_len, struct tl_error *err)
{
    uint8_t name[TL_TPM_NAME_MAX];
    size_t name_len = 0;
    int r = tl_tpm_public_name(child, name, &name_len, err);
    if (r < 0)
        return r;
    const EVP_MD *md = child->publicArea.nameAlg == TPM2_ALG_SHA256   ? EVP_sha256()
                       : child->publicArea.nameAlg == TPM2_ALG_SHA384 ? EVP_sha384()
                       : child->publicArea.nameAlg == TPM2_ALG_SHA512 ? EVP_sha512()
                                                                      : NULL;
    if (!md)
        return tl_error_set_nopos(err, -EOPNOTSUPP, "qualified name: nameAlg 0x%04x",
                                  child->publicArea.nameAlg);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned n = 0;
    qn[0] = (uint8_t)(child->publicArea.nameAlg >> 8);
    qn[1] = (uint8_t)child->publicArea.nameAlg;
    bool ok = ctx && EVP_DigestInit_ex(ctx, md, NULL) &&
              EVP_DigestUpdate(ctx, parent_qn, parent_len) &&
              EVP_DigestUpdate(ctx, name, name_len) && EVP_DigestFinal_ex(ctx, qn + 2, &n);
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return tl_error_set_nopos(err, -ENOMEM, "qualified name: hashing failed");
    *qn_len = 2 + n;
    return 0;
}

/* "what: " before err's message */
static int prefixed(struct tl_error *err, int r, const char *what)
{
    if (!err)
        return r;
    char m[sizeof(err->message)];
    memcpy(m, err->message, sizeof(m));
    return tl_error_set_nopos(err, r, "%s: %s", what, m);
}

static bool name_is(const TPM2B_NAME *n, const uint8_t *v, size_t len)
{
    return n->size == len && memcmp(n->name, v, len) == 0;
}

/* The key and its parent from their TPM2B_PUBLICs, the key checked */
static int publics(const struct tl_release_evidence *ev, TPM2B_PUBLIC *key, TPM2B_PUBLIC *parent,
                   struct tl_error *err)
{
    int r = tl_tpm_public_parse(ev->key_public, ev->key_len, key, err);
    if (r < 0)
        return prefixed(err, r, "key");
    if ((r = tl_release_key_check(key, err)) < 0)
        return r;
    if ((r = tl_tpm_public_parse(ev->parent_public, ev->parent_len, parent, err)) < 0)
        return prefixed(err, r, "parent");
    return 0;
}

int tl_release_key_verify(const struct tl_release_evidence *ev, uint8_t **spki, size_t *spki_len,
                          struct tl_error *err)
{
    *spki = NULL;
    *spki_len = 0;
    TPM2B_PUBLIC key, parent;
    int r = publics(ev, &key, &parent, err);
    if (r < 0)
        return r;
    struct tl_certify c;
    if ((r = tl_certify_parse(ev->certify, ev->certify_len, &c, err)) < 0)
        return r;
    struct tl_akey ak;
    if ((r = tl_akey_load(ev->ak_public, ev->ak_len, 0, &ak, err)) < 0)
        return r;
    TPMT_SIGNATURE sig;
    r = tl_tpm_signature_parse(ev->signature, ev->signature_len, &sig, err);
    if (r >= 0)
        r = tl_akey_verify(&ak, ev->certify, ev->certify_len, &sig, 0, err);
    tl_akey_done(&ak);
    if (r < 0)
        return r;
    /* signed by the node's AK: now its content */
    if (c.extra_data.size != ev->nonce_len ||
        memcmp(c.extra_data.buffer, ev->nonce, ev->nonce_len) != 0)
        return tl_error_set_nopos(err, -EPERM, "certify: extraData is not the nonce issued");
    uint8_t name[TL_TPM_NAME_MAX], pqn[TL_TPM_NAME_MAX], qn[TL_TPM_NAME_MAX];
    size_t name_len, pqn_len, qn_len;
    /* TPM_RH_NULL's Qualified Name is its handle (Part 1, 16.6) */
    const uint8_t null_qn[4] = {0x40, 0x00, 0x00, 0x07};
    if ((r = tl_tpm_public_name(&key, name, &name_len, err)) < 0 ||
        (r = tl_tpm_qualified_name(null_qn, sizeof(null_qn), &parent, pqn, &pqn_len, err)) < 0 ||
        (r = tl_tpm_qualified_name(pqn, pqn_len, &key, qn, &qn_len, err)) < 0)
        return r;
    if (!name_is(&c.name, name, name_len))
        return tl_error_set_nopos(err, -EPERM,
                                  "certify: the certified Name is not the key's public area's");
    if (!name_is(&c.qualified_name, qn, qn_len))
        return tl_error_set_nopos(err, -EPERM,
                                  "certify: the key is not the child of that primary in the NULL "
                                  "hierarchy (its Qualified Name differs)");
    _cleanup_evp_pkey_ EVP_PKEY *pk = NULL;
    if ((r = tl_tpm2b_public_to_pkey(&key, &pk, err)) < 0)
        return prefixed(err, r, "key");
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(pk, &der);
    if (n <= 0)
        return tl_error_set_nopos(err, -ENOMEM, "key: cannot encode its public key");
    *spki = malloc((size_t)n);
    if (!*spki) {
        OPENSSL_free(der);
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    }
    memcpy(*spki, der, (size_t)n);
    *spki_len = (size_t)n;
    OPENSSL_free(der);
    return 0;
}
