/* Provisioning a confidential node's vTPM the way Azure's platform does
 * (paravisor.h), through ESYS on a data channel to swtpm before QEMU
 * starts.
 *
 * Decisions, with their sources:
 *  - The attestation key at persistent handle 0x81000003 (Microsoft's
 *    tpm_wrapper.py, AIK_PUB_INDEX; the HCL report's runtime claims carry it
 *    as HCLAkPub). Its template is the TCG attestation key shape ("TPM 2.0
 *    Keys for Device Identity and Attestation", 7.3.4.2 and tpm2_createak's
 *    default): RSA 2048, restricted signing with RSASSA-SHA256, fixedTPM,
 *    fixedParent, sensitiveDataOrigin, userWithAuth, nameAlg SHA-256, no
 *    symmetric algorithm, no policy. The HCLAkPub JWK of the Azure vectors
 *    (../shared/vectors/tee/azure) is an RSA 2048 key with exponent 65537
 *    and key_ops ["sign"]; Azure's exact template is not published, so the
 *    attributes are the TCG ones.
 *  - It is a primary key in the endorsement hierarchy: like the EK, a
 *    function of the EPS, so a NonPersistedTPM node (new EPS at every boot)
 *    gets a new AK along with its new EK, and the same seed always gives
 *    the same AK.
 *  - 0x01400002: 64 bytes, defined with owner auth and an empty index auth,
 *    OWNERWRITE | OWNERREAD | AUTHWRITE | AUTHREAD, nameAlg SHA-256: what
 *    Microsoft's tpm_wrapper.py and kinvolk's az-snp-vtpm define when they
 *    (re)create the index, so a guest's tooling finds the index it expects
 *    and its undefine / define / write dance works. */
#include <errno.h>
#include <string.h>
#include <tss2/tss2_rc.h>

#include "tl/vtpm.h"
#include "tlhost/paravisor.h"

#define AK_ATTRIBUTES                                                                              \
    (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |            \
     TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT)

void tlh_paravisor_ak_template(TPM2B_PUBLIC *out)
{
    *out = (TPM2B_PUBLIC){0};
    TPMT_PUBLIC *p = &out->publicArea;
    p->type = TPM2_ALG_RSA;
    p->nameAlg = TPM2_ALG_SHA256;
    p->objectAttributes = AK_ATTRIBUTES;
    p->parameters.rsaDetail = (TPMS_RSA_PARMS){
        .symmetric = {.algorithm = TPM2_ALG_NULL},
        .scheme = {.scheme = TPM2_ALG_RSASSA, .details.rsassa.hashAlg = TPM2_ALG_SHA256},
        .keyBits = 2048,
        .exponent = 0};
}

static bool ak_matches_template(const TPM2B_PUBLIC *pub)
{
    const TPMT_PUBLIC *p = &pub->publicArea;
    const TPMS_RSA_PARMS *r = &p->parameters.rsaDetail;
    return p->type == TPM2_ALG_RSA && p->nameAlg == TPM2_ALG_SHA256 &&
           p->objectAttributes == AK_ATTRIBUTES && p->authPolicy.size == 0 &&
           r->symmetric.algorithm == TPM2_ALG_NULL && r->scheme.scheme == TPM2_ALG_RSASSA &&
           r->scheme.details.rsassa.hashAlg == TPM2_ALG_SHA256 && r->keyBits == 2048 &&
           (r->exponent == 0 || r->exponent == 65537) && p->unique.rsa.size == 256;
}

/* The public area of the key persistent at 0x81000003. */
static int read_ak(ESYS_CONTEXT *esys, TPM2B_PUBLIC *out, struct tl_error *err)
{
    ESYS_TR tr = ESYS_TR_NONE;
    TPM2B_PUBLIC *pub = NULL;
    TSS2_RC rc = Esys_TR_FromTPMPublic(esys, TLH_PARAVISOR_AK_HANDLE, ESYS_TR_NONE, ESYS_TR_NONE,
                                       ESYS_TR_NONE, &tr);
    if (rc == TSS2_RC_SUCCESS)
        rc = Esys_ReadPublic(esys, tr, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, NULL, NULL);
    if (tr != ESYS_TR_NONE)
        Esys_TR_Close(esys, &tr);
    if (rc != TSS2_RC_SUCCESS)
        return tl_tpm_fail(err, rc, "ReadPublic(0x81000003)");
    *out = *pub;
    Esys_Free(pub);
    return 0;
}

static int create_ak(ESYS_CONTEXT *esys, TPM2B_PUBLIC *out, struct tl_error *err)
{
    TPM2B_PUBLIC template;
    tlh_paravisor_ak_template(&template);
    TPM2B_SENSITIVE_CREATE sensitive = {0};
    TPM2B_DATA outside_info = {0};
    TPML_PCR_SELECTION pcrs = {0};
    ESYS_TR obj = ESYS_TR_NONE, persistent = ESYS_TR_NONE;
    TPM2B_PUBLIC *pub = NULL;
    TPM2B_CREATION_DATA *creation_data = NULL;
    TPM2B_DIGEST *creation_hash = NULL;
    TPMT_TK_CREATION *ticket = NULL;
    TSS2_RC rc = Esys_CreatePrimary(esys, ESYS_TR_RH_ENDORSEMENT, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                    ESYS_TR_NONE, &sensitive, &template, &outside_info, &pcrs, &obj,
                                    &pub, &creation_data, &creation_hash, &ticket);
    Esys_Free(creation_data);
    Esys_Free(creation_hash);
    Esys_Free(ticket);
    if (rc != TSS2_RC_SUCCESS)
        return tl_tpm_fail(err, rc, "CreatePrimary (attestation key)");
    *out = *pub;
    Esys_Free(pub);
    rc = Esys_EvictControl(esys, ESYS_TR_RH_OWNER, obj, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                           ESYS_TR_NONE, TLH_PARAVISOR_AK_HANDLE, &persistent);
    Esys_FlushContext(esys, obj);
    if (rc != TSS2_RC_SUCCESS)
        return tl_tpm_fail(err, rc, "EvictControl (attestation key to 0x81000003)");
    Esys_TR_Close(esys, &persistent);
    return 0;
}

static int define_index(ESYS_CONTEXT *esys, ESYS_TR hierarchy, TPM2_HANDLE index,
                        TPMA_NV attributes, uint16_t size, const char *what, struct tl_error *err)
{
    int r = tl_tpm_handle_present(esys, index, err);
    if (r != 0)
        return r < 0 ? r : 0;
    TPM2B_AUTH auth = {0};
    TPM2B_NV_PUBLIC pub = {.nvPublic = {.nvIndex = index,
                                        .nameAlg = TPM2_ALG_SHA256,
                                        .attributes = attributes,
                                        .dataSize = size}};
    ESYS_TR nv = ESYS_TR_NONE;
    TSS2_RC rc = Esys_NV_DefineSpace(esys, hierarchy, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                                     &auth, &pub, &nv);
    if (rc != TSS2_RC_SUCCESS)
        return tl_tpm_fail(err, rc, what);
    if (attributes & TPMA_NV_PPWRITE) { /* written once, as the platform's index is */
        TPM2B_MAX_NV_BUFFER zero = {.size = size};
        rc = Esys_NV_Write(esys, ESYS_TR_RH_PLATFORM, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                           ESYS_TR_NONE, &zero, 0);
    }
    Esys_TR_Close(esys, &nv);
    return rc == TSS2_RC_SUCCESS ? 0 : tl_tpm_fail(err, rc, what);
}

/* The user-data index (the owner's, as Microsoft's tooling defines it);
 * and the report index, the platform's (its platform hierarchy is open
 * before the firmware runs), as a placeholder of 16 bytes:
 * the relay answers every NV_ReadPublic and NV_Read of it with the HCL
 * report (larger than swtpm's indexes may be), but a guest asking which
 * indexes exist (GetCapability TPM2_CAP_HANDLES, as the agent and Azure's
 * tooling do) gets swtpm's list, which must name it. */
static int define_indexes(ESYS_CONTEXT *esys, struct tl_error *err)
{
    int r = define_index(esys, ESYS_TR_RH_OWNER, TLH_PARAVISOR_NV_USER_DATA,
                         TLH_PARAVISOR_USER_DATA_ATTRIBUTES, TLH_PARAVISOR_USER_DATA,
                         "NV_DefineSpace(0x01400002)", err);
    if (r == 0)
        r = define_index(esys, ESYS_TR_RH_PLATFORM, TLH_PARAVISOR_NV_REPORT,
                         TLH_PARAVISOR_REPORT_ATTRIBUTES & ~TPMA_NV_WRITTEN, 16,
                         "NV_DefineSpace(0x01400001, the report's placeholder)", err);
    return r;
}

int tlh_paravisor_provision(ESYS_CONTEXT *esys, struct tlh_paravisor_keys *keys,
                            struct tl_error *err)
{
    *keys = (struct tlh_paravisor_keys){0};
    int r = tl_tpm_handle_present(esys, TLH_PARAVISOR_AK_HANDLE, err);
    if (r < 0)
        return r;
    r = r ? read_ak(esys, &keys->ak, err) : create_ak(esys, &keys->ak, err);
    if (r < 0)
        return r;
    if (!ak_matches_template(&keys->ak))
        return tl_error_set_nopos(err, -EEXIST,
                                  "0x81000003 holds a key unlike the attestation key template");
    struct tl_ek ek;
    r = tl_vtpm_create_ek(esys, TL_EK_RSA2048, &ek, err);
    if (r < 0)
        return r;
    keys->ek = ek.public;
    tl_ek_done(&ek);
    return define_indexes(esys, err);
}
