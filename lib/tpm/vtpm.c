/* Provisioning a vTPM through ESYS: EK primaries from the default
 * templates, the TPM's identity, EK certificates in NV.
 *
 * The one module of libtl that does TPM I/O, always through the caller's
 * ESYS context. Authorizations are password sessions with the empty
 * values a freshly manufactured swtpm has (platform, owner, endorsement):
 * provisioning runs on the host before the node's firmware ever starts
 * (OVMF then sets a random platform auth at every boot).
 *
 * Decisions, with their sources:
 *  - Templates L-1 (RSA 2048) and L-2 (ECC NIST P-256), TCG EK Credential
 *    Profile 2.x, Annex B.3.3/B.3.4: nameAlg SHA-256; fixedTPM, fixedParent,
 *    sensitiveDataOrigin, adminWithPolicy, restricted, decrypt (0x000300b2);
 *    authPolicy PolicySecret(TPM_RH_ENDORSEMENT) (the digest is recomputed
 *    in tests/unit/test_ekca.c); AES-128-CFB; no scheme; RSA exponent 0
 *    (65537) with a 256-byte zero unique, ECC with 32-byte zero x and y.
 *    tpm2_createek uses the same templates: tests/cli/vtpm_cli.sh compares
 *    its EK with ours.
 *  - EK certificate NV attributes: swtpm_setup's (src/swtpm_setup/swtpm.c,
 *    swtpm_tpm2_write_ek_cert_nvram): PLATFORMCREATE | AUTHREAD | OWNERREAD |
 *    PPREAD | PPWRITE | NO_DA | WRITEDEFINE, defined with platform auth,
 *    nameAlg SHA-256 and an empty policy, then NV_WriteLock as swtpm_setup
 *    --lock-nvram does, so the profile's WRITELOCKED holds: nobody, the
 *    platform included, rewrites a certificate without deleting the index.
 *  - The EKs are not made persistent: they are recreated from the template
 *    whenever needed (TPM2_CreatePrimary is deterministic for a given EPS),
 *    which keeps NV free and avoids the disagreement over which handle an
 *    ECC EK takes. */
#include "tl/vtpm.h"

#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tss2/tss2_rc.h>

#include "tl/util.h"

/* PolicySecret(TPM_RH_ENDORSEMENT) with SHA-256 (EK Credential Profile,
 * Annex B): the EK's default authPolicy. */
static const uint8_t ek_policy_sha256[32] = {
    0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xb3, 0xf8, 0x1a, 0x90, 0xcc, 0x8d, 0x46, 0xa5, 0xd7, 0x24,
    0xfd, 0x52, 0xd7, 0x6e, 0x06, 0x52, 0x0b, 0x64, 0xf2, 0xa1, 0xda, 0x1b, 0x33, 0x14, 0x69, 0xaa};

#define EK_ATTRIBUTES                                                                              \
    (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |            \
     TPMA_OBJECT_ADMINWITHPOLICY | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT)

static const struct {
    const char *name;
    uint32_t nv_index;
} ek_types[TL_EK_N_TYPES] = {
    [TL_EK_RSA2048] = {"rsa2048", TL_NV_EK_CERT_RSA2048},
    [TL_EK_ECC_P256] = {"ecc-p256", TL_NV_EK_CERT_ECC_P256},
};

const char *tl_ek_type_name(enum tl_ek_type type)
{
    return type < TL_EK_N_TYPES ? ek_types[type].name : NULL;
}

uint32_t tl_ek_cert_nv_index(enum tl_ek_type type)
{
    return type < TL_EK_N_TYPES ? ek_types[type].nv_index : 0;
}

/* ---- TPM response codes ---- */

/* The error number of a TPM response code without its handle / parameter /
 * session number (TPM 2.0 Part 2, TPM_RC formats). */
static uint32_t rc_base(TSS2_RC rc)
{
    if ((rc & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER)
        return rc;
    return (rc & TPM2_RC_FMT1) ? rc & (TPM2_RC_FMT1 | 0x3f) : rc & 0xfff;
}

int tl_tpm_fail(struct tl_error *err, TSS2_RC rc, const char *what)
{
    int code = -EIO;
    switch (rc_base(rc)) {
    case TPM2_RC_NV_DEFINED:
        code = -EEXIST;
        break;
    case TPM2_RC_HANDLE:
        code = -ENOENT;
        break;
    case TPM2_RC_NV_UNINITIALIZED:
        code = -ENOENT;
        break;
    }
    return tl_error_set_nopos(err, code, "%s: %s (0x%x)", what, Tss2_RC_Decode(rc), rc);
}

/* ---- templates ---- */

void tl_ek_template(enum tl_ek_type type, TPM2B_PUBLIC *out)
{
    *out = (TPM2B_PUBLIC){0};
    TPMT_PUBLIC *p = &out->publicArea;
    p->nameAlg = TPM2_ALG_SHA256;
    p->objectAttributes = EK_ATTRIBUTES;
    p->authPolicy.size = sizeof(ek_policy_sha256);
    memcpy(p->authPolicy.buffer, ek_policy_sha256, sizeof(ek_policy_sha256));
    TPMT_SYM_DEF_OBJECT sym = {
        .algorithm = TPM2_ALG_AES, .keyBits.aes = 128, .mode.aes = TPM2_ALG_CFB};
    switch (type) {
    case TL_EK_RSA2048:
        p->type = TPM2_ALG_RSA;
        p->parameters.rsaDetail = (TPMS_RSA_PARMS){
            .symmetric = sym, .scheme.scheme = TPM2_ALG_NULL, .keyBits = 2048, .exponent = 0};
        p->unique.rsa.size = 256; /* zero-filled */
        break;
    case TL_EK_ECC_P256:
        p->type = TPM2_ALG_ECC;
        p->parameters.eccDetail = (TPMS_ECC_PARMS){.symmetric = sym,
                                                   .scheme.scheme = TPM2_ALG_NULL,
                                                   .curveID = TPM2_ECC_NIST_P256,
                                                   .kdf.scheme = TPM2_ALG_NULL};
        p->unique.ecc.x.size = 32;
        p->unique.ecc.y.size = 32;
        break;
    default:
        break;
    }
}

bool tl_ek_public_matches_template(const TPM2B_PUBLIC *pub, enum tl_ek_type type)
{
    TPM2B_PUBLIC t;
    tl_ek_template(type, &t);
    const TPMT_PUBLIC *a = &pub->publicArea, *b = &t.publicArea;
    if (a->type != b->type || a->nameAlg != b->nameAlg ||
        a->objectAttributes != b->objectAttributes || a->authPolicy.size != b->authPolicy.size ||
        memcmp(a->authPolicy.buffer, b->authPolicy.buffer, b->authPolicy.size) != 0)
        return false;
    if (type == TL_EK_RSA2048) {
        const TPMS_RSA_PARMS *x = &a->parameters.rsaDetail, *y = &b->parameters.rsaDetail;
        return x->symmetric.algorithm == y->symmetric.algorithm &&
               x->symmetric.keyBits.aes == y->symmetric.keyBits.aes &&
               x->symmetric.mode.aes == y->symmetric.mode.aes &&
               x->scheme.scheme == y->scheme.scheme && x->keyBits == y->keyBits &&
               (x->exponent == 0 || x->exponent == 65537) && a->unique.rsa.size == 256;
    }
    const TPMS_ECC_PARMS *x = &a->parameters.eccDetail, *y = &b->parameters.eccDetail;
    return x->symmetric.algorithm == y->symmetric.algorithm &&
           x->symmetric.keyBits.aes == y->symmetric.keyBits.aes &&
           x->symmetric.mode.aes == y->symmetric.mode.aes && x->scheme.scheme == y->scheme.scheme &&
           x->curveID == y->curveID && x->kdf.scheme == y->kdf.scheme &&
           a->unique.ecc.x.size == 32 && a->unique.ecc.y.size == 32;
}

/* ---- TPM2B_PUBLIC -> EVP_PKEY ---- */

static int pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld, EVP_PKEY **out)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = params ? EVP_PKEY_CTX_new_from_name(NULL, type, NULL) : NULL;
    int ok = ctx && EVP_PKEY_fromdata_init(ctx) == 1 &&
             EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) == 1;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return ok ? 0 : -1;
}

static int rsa_to_pkey(const TPMT_PUBLIC *p, EVP_PKEY **out, struct tl_error *err)
{
    const TPM2B_PUBLIC_KEY_RSA *n = &p->unique.rsa;
    uint32_t e = p->parameters.rsaDetail.exponent ? p->parameters.rsaDetail.exponent : 65537;
    if (n->size == 0 || n->size > sizeof(n->buffer) ||
        n->size * 8u != p->parameters.rsaDetail.keyBits)
        return tl_error_set_nopos(err, -EBADMSG, "RSA public area: modulus of %u bytes for %u bits",
                                  n->size, p->parameters.rsaDetail.keyBits);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    BIGNUM *bn_n = BN_bin2bn(n->buffer, n->size, NULL);
    BIGNUM *bn_e = BN_new();
    int r = -1;
    if (bld && bn_n && bn_e && BN_set_word(bn_e, e) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e))
        r = pkey_fromdata("RSA", bld, out);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn_n);
    BN_free(bn_e);
    return r < 0 ? tl_error_set_nopos(err, -EBADMSG, "RSA public area: not a valid key") : 0;
}

static int ecc_to_pkey(const TPMT_PUBLIC *p, EVP_PKEY **out, struct tl_error *err)
{
    const char *group;
    size_t len;
    switch (p->parameters.eccDetail.curveID) {
    case TPM2_ECC_NIST_P256:
        group = "P-256", len = 32;
        break;
    case TPM2_ECC_NIST_P384:
        group = "P-384", len = 48;
        break;
    case TPM2_ECC_NIST_P521:
        group = "P-521", len = 66;
        break;
    default:
        return tl_error_set_nopos(err, -EOPNOTSUPP, "ECC public area: curve 0x%04x",
                                  p->parameters.eccDetail.curveID);
    }
    const TPM2B_ECC_PARAMETER *x = &p->unique.ecc.x, *y = &p->unique.ecc.y;
    if (x->size == 0 || y->size == 0 || x->size > len || y->size > len)
        return tl_error_set_nopos(err, -EBADMSG, "ECC public area: point of %u+%u bytes on %s",
                                  x->size, y->size, group);
    /* SEC 1 uncompressed point: 04 || X || Y, each left-padded to the
     * field size (a TPM may drop leading zero bytes). */
    uint8_t point[1 + 2 * 66] = {0x04};
    memcpy(point + 1 + len - x->size, x->buffer, x->size);
    memcpy(point + 1 + 2 * len - y->size, y->buffer, y->size);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    int r = -1;
    if (bld && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) &&
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * len))
        r = pkey_fromdata("EC", bld, out);
    OSSL_PARAM_BLD_free(bld);
    return r < 0 ? tl_error_set_nopos(err, -EBADMSG, "ECC public area: not a point on %s", group)
                 : 0;
}

int tl_tpm2b_public_to_pkey(const TPM2B_PUBLIC *pub, EVP_PKEY **out, struct tl_error *err)
{
    *out = NULL;
    switch (pub->publicArea.type) {
    case TPM2_ALG_RSA:
        return rsa_to_pkey(&pub->publicArea, out, err);
    case TPM2_ALG_ECC:
        return ecc_to_pkey(&pub->publicArea, out, err);
    default:
        return tl_error_set_nopos(err, -EOPNOTSUPP, "public area of type 0x%04x",
                                  pub->publicArea.type);
    }
}

/* ---- EK ---- */

int tl_vtpm_create_ek(ESYS_CONTEXT *esys, enum tl_ek_type type, struct tl_ek *ek,
                      struct tl_error *err)
{
    *ek = (struct tl_ek){.type = type};
    if (type >= TL_EK_N_TYPES)
        return tl_error_set_nopos(err, -EINVAL, "unknown EK type %d", (int)type);
    TPM2B_PUBLIC template;
    tl_ek_template(type, &template);
    TPM2B_SENSITIVE_CREATE sensitive = {0};
    TPM2B_DATA outside_info = {0};
    TPML_PCR_SELECTION pcrs = {0};
    ESYS_TR handle = ESYS_TR_NONE;
    TPM2B_PUBLIC *out_public = NULL;
    TPM2B_CREATION_DATA *creation_data = NULL;
    TPM2B_DIGEST *creation_hash = NULL;
    TPMT_TK_CREATION *ticket = NULL;
    TSS2_RC rc = Esys_CreatePrimary(esys, ESYS_TR_RH_ENDORSEMENT, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                    ESYS_TR_NONE, &sensitive, &template, &outside_info, &pcrs,
                                    &handle, &out_public, &creation_data, &creation_hash, &ticket);
    Esys_Free(creation_data);
    Esys_Free(creation_hash);
    Esys_Free(ticket);
    char what[48];
    snprintf(what, sizeof(what), "CreatePrimary (%s EK)", ek_types[type].name);
    if (rc != TSS2_RC_SUCCESS)
        return tl_tpm_fail(err, rc, what);
    ek->public = *out_public;
    Esys_Free(out_public);
    rc = Esys_FlushContext(esys, handle);
    if (rc != TSS2_RC_SUCCESS)
        return tl_tpm_fail(err, rc, "FlushContext (EK)");
    if (!tl_ek_public_matches_template(&ek->public, type))
        return tl_error_set_nopos(err, -EPROTO, "%s: the TPM returned a key unlike the template",
                                  what);
    return tl_tpm2b_public_to_pkey(&ek->public, &ek->key, err);
}

void tl_ek_done(struct tl_ek *ek)
{
    EVP_PKEY_free(ek->key);
    *ek = (struct tl_ek){0};
}

/* ---- identity ---- */

/* Fixed properties from first to last (inclusive), several calls if the
 * TPM returns them in parts. */
static int get_properties(ESYS_CONTEXT *esys, uint32_t first, uint32_t last, uint32_t *values,
                          struct tl_error *err)
{
    uint32_t next = first;
    while (next <= last) {
        TPMI_YES_NO more = TPM2_NO;
        TPMS_CAPABILITY_DATA *cap = NULL;
        TSS2_RC rc =
            Esys_GetCapability(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                               TPM2_CAP_TPM_PROPERTIES, next, last - next + 1, &more, &cap);
        if (rc != TSS2_RC_SUCCESS)
            return tl_tpm_fail(err, rc, "GetCapability (TPM properties)");
        const TPML_TAGGED_TPM_PROPERTY *l = &cap->data.tpmProperties;
        uint32_t seen = next;
        for (uint32_t i = 0; i < l->count && i < TPM2_MAX_TPM_PROPERTIES; i++) {
            uint32_t p = l->tpmProperty[i].property;
            if (p >= next && p <= last) {
                values[p - first] = l->tpmProperty[i].value;
                seen = p + 1;
            }
        }
        Esys_Free(cap);
        if (seen == next) /* nothing new: the TPM has no more in the range */
            break;
        next = seen;
        if (!more)
            break;
    }
    return 0;
}

static void be32_chars(uint32_t v, char *out)
{
    for (int i = 0; i < 4; i++) {
        unsigned char c = (unsigned char)(v >> (24 - 8 * i));
        out[i] = c >= 0x20 && c < 0x7f ? (char)c : c == 0 ? ' ' : '?';
    }
}

int tl_vtpm_get_info(ESYS_CONTEXT *esys, struct tl_vtpm_info *info, struct tl_error *err)
{
    *info = (struct tl_vtpm_info){0};
    uint32_t v[TPM2_PT_NV_BUFFER_MAX - TPM2_PT_MANUFACTURER + 1] = {0};
    int r = get_properties(esys, TPM2_PT_MANUFACTURER, TPM2_PT_NV_BUFFER_MAX, v, err);
    if (r < 0)
        return r;
#define PT(p) v[(p)-TPM2_PT_MANUFACTURER]
    info->manufacturer_id = PT(TPM2_PT_MANUFACTURER);
    info->firmware_version[0] = PT(TPM2_PT_FIRMWARE_VERSION_1);
    info->firmware_version[1] = PT(TPM2_PT_FIRMWARE_VERSION_2);
    info->nv_buffer_max = PT(TPM2_PT_NV_BUFFER_MAX);
    info->nv_index_max = PT(TPM2_PT_NV_INDEX_MAX);
    for (int i = 0; i < 4; i++)
        be32_chars(PT(TPM2_PT_VENDOR_STRING_1 + (uint32_t)i), info->model + 4 * i);
#undef PT
    size_t n = 16;
    while (n > 0 && info->model[n - 1] == ' ')
        n--;
    info->model[n] = 0;
    if (n == 0)
        snprintf(info->model, sizeof(info->model), "unknown");
    snprintf(info->manufacturer, sizeof(info->manufacturer), "id:%08X", info->manufacturer_id);
    snprintf(info->version, sizeof(info->version), "id:%08X", info->firmware_version[0]);
    if (info->nv_buffer_max == 0 || info->nv_index_max == 0)
        return tl_error_set_nopos(err, -EPROTO, "GetCapability: no NV buffer or index size");
    return 0;
}

/* ---- NV ---- */

static uint16_t nv_chunk(ESYS_CONTEXT *esys)
{
    uint32_t max = 0;
    if (get_properties(esys, TPM2_PT_NV_BUFFER_MAX, TPM2_PT_NV_BUFFER_MAX, &max, NULL) < 0 ||
        max == 0 || max > TPM2_MAX_NV_BUFFER_SIZE)
        max = 512; /* every TPM 2.0 takes this much (PC Client PTP) */
    return (uint16_t)max;
}

int tl_vtpm_nv_write_cert(ESYS_CONTEXT *esys, uint32_t index, const uint8_t *der, size_t len,
                          struct tl_error *err)
{
    if (len == 0 || len > UINT16_MAX)
        return tl_error_set_nopos(err, -EFBIG, "NV 0x%08x: a certificate of %zu bytes", index, len);
    TPM2B_AUTH auth = {0};
    TPM2B_NV_PUBLIC pub = {.nvPublic = {.nvIndex = index,
                                        .nameAlg = TPM2_ALG_SHA256,
                                        .attributes = TL_NV_EK_CERT_ATTRIBUTES |
                                                      (TPM2_NT_ORDINARY << TPMA_NV_TPM2_NT_SHIFT),
                                        .authPolicy = {.size = 0},
                                        .dataSize = (uint16_t)len}};
    ESYS_TR nv = ESYS_TR_NONE;
    char what[48];
    snprintf(what, sizeof(what), "NV_DefineSpace 0x%08x", index);
    TSS2_RC rc = Esys_NV_DefineSpace(esys, ESYS_TR_RH_PLATFORM, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                     ESYS_TR_NONE, &auth, &pub, &nv);
    if (rc != TSS2_RC_SUCCESS)
        return tl_tpm_fail(err, rc, what);
    uint16_t chunk = nv_chunk(esys);
    int r = 0;
    for (size_t off = 0; off < len && r == 0; off += chunk) {
        TPM2B_MAX_NV_BUFFER data = {.size = (uint16_t)(len - off < chunk ? len - off : chunk)};
        memcpy(data.buffer, der + off, data.size);
        rc = Esys_NV_Write(esys, ESYS_TR_RH_PLATFORM, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                           ESYS_TR_NONE, &data, (uint16_t)off);
        if (rc != TSS2_RC_SUCCESS) {
            snprintf(what, sizeof(what), "NV_Write 0x%08x at %zu", index, off);
            r = tl_tpm_fail(err, rc, what);
        }
    }
    if (r == 0) {
        rc = Esys_NV_WriteLock(esys, ESYS_TR_RH_PLATFORM, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                               ESYS_TR_NONE);
        if (rc != TSS2_RC_SUCCESS) {
            snprintf(what, sizeof(what), "NV_WriteLock 0x%08x", index);
            r = tl_tpm_fail(err, rc, what);
        }
    }
    Esys_TR_Close(esys, &nv);
    return r;
}

/* Is the handle (an NV index, a persistent object) there? Listing handles never fails for an absent
 * one, so an absent index does not make the TSS log an error. */
int tl_tpm_handle_present(ESYS_CONTEXT *esys, uint32_t index, struct tl_error *err)
{
    TPMI_YES_NO more;
    TPMS_CAPABILITY_DATA *cap = NULL;
    TSS2_RC rc = Esys_GetCapability(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                    TPM2_CAP_HANDLES, index, 1, &more, &cap);
    if (rc != TSS2_RC_SUCCESS)
        return tl_tpm_fail(err, rc, "GetCapability(handles)");
    int defined = cap->data.handles.count >= 1 && cap->data.handles.handle[0] == index;
    Esys_Free(cap);
    return defined;
}

int tl_tpm_nv_read(ESYS_CONTEXT *esys, uint32_t index, size_t max, uint8_t **out, size_t *len,
                   uint32_t *attributes, struct tl_error *err)
{
    *out = NULL;
    *len = 0;
    if (attributes)
        *attributes = 0;
    char what[48];
    int r = tl_tpm_handle_present(esys, index, err);
    if (r <= 0)
        return r < 0 ? r : tl_error_set_nopos(err, -ENOENT, "NV 0x%08x: not defined", index);
    ESYS_TR nv = ESYS_TR_NONE;
    TSS2_RC rc = Esys_TR_FromTPMPublic(esys, index, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &nv);
    if (rc != TSS2_RC_SUCCESS) {
        snprintf(what, sizeof(what), "NV 0x%08x", index);
        return tl_tpm_fail(err, rc, what);
    }
    TPM2B_NV_PUBLIC *pub = NULL;
    rc = Esys_NV_ReadPublic(esys, nv, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, NULL);
    if (rc != TSS2_RC_SUCCESS) {
        Esys_TR_Close(esys, &nv);
        snprintf(what, sizeof(what), "NV_ReadPublic 0x%08x", index);
        return tl_tpm_fail(err, rc, what);
    }
    uint16_t size = pub->nvPublic.dataSize;
    uint32_t attrs = pub->nvPublic.attributes;
    Esys_Free(pub);
    if (attributes)
        *attributes = attrs;
    /* The index's own auth when it allows it (EK Credential Profile:
     * AUTHREAD, empty auth), else the owner's (empty, as tpm2_nvread -C o). */
    ESYS_TR auth = (attrs & TPMA_NV_AUTHREAD) ? nv : ESYS_TR_RH_OWNER;
    r = 0;
    if (!(attrs & TPMA_NV_WRITTEN) || size == 0)
        r = tl_error_set_nopos(err, -ENOENT, "NV 0x%08x: defined but never written", index);
    else if (!(attrs & (TPMA_NV_AUTHREAD | TPMA_NV_OWNERREAD)))
        r = tl_error_set_nopos(err, -EACCES, "NV 0x%08x: not readable by the owner", index);
    else if (size > max)
        r = tl_error_set_nopos(err, -EFBIG, "NV 0x%08x: %u bytes, more than %zu", index, size, max);
    else if (!(*out = malloc(size)))
        r = tl_error_set_nopos(err, -ENOMEM, "out of memory");
    uint16_t chunk = r == 0 ? nv_chunk(esys) : 0;
    for (uint16_t off = 0; r == 0 && off < size;) {
        uint16_t n = (uint16_t)(size - off < chunk ? size - off : chunk);
        TPM2B_MAX_NV_BUFFER *data = NULL;
        rc = Esys_NV_Read(esys, auth, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, n, off,
                          &data);
        if (rc != TSS2_RC_SUCCESS) {
            snprintf(what, sizeof(what), "NV_Read 0x%08x at %u", index, off);
            r = tl_tpm_fail(err, rc, what);
        } else if (data->size != n) {
            r = tl_error_set_nopos(err, -EPROTO, "NV_Read 0x%08x at %u: %u bytes for %u", index,
                                   off, data->size, n);
        } else {
            memcpy(*out + off, data->buffer, n);
            off = (uint16_t)(off + n);
        }
        Esys_Free(data);
    }
    Esys_TR_Close(esys, &nv);
    if (r < 0) {
        free(*out);
        *out = NULL;
        return r;
    }
    *len = size;
    return 0;
}

int tl_vtpm_shutdown(ESYS_CONTEXT *esys, struct tl_error *err)
{
    TSS2_RC rc = Esys_Shutdown(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_SU_CLEAR);
    return rc == TSS2_RC_SUCCESS ? 0 : tl_tpm_fail(err, rc, "Shutdown");
}
