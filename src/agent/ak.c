/* The endorsement key and the attestation key, through ESAPI.
 *
 * - The EK is recreated each time it is needed with TPM2_CreatePrimary in
 *   the endorsement hierarchy from the default template (TCG EK Credential
 *   Profile 2.x, B.3.3 template L-1 RSA 2048, B.3.4 L-2 ECC P-256; the
 *   templates are libtl's, the ones the platform certified): the same EPS
 *   and template give the same key, so nothing has to be kept. The TPM's
 *   answer must match the template (an EK that could sign or be used without
 *   the endorsement policy is refused).
 * - The EK's authPolicy is PolicySecret(TPM_RH_ENDORSEMENT) (ibid., B.6.2),
 *   so every use of it goes through a policy session on which
 *   TPM2_PolicySecret was run with the endorsement hierarchy's (empty)
 *   password. A policy session is reset after each authorization it gives
 *   (TPM 2.0 Part 1, 19.7.1), so it is satisfied again before each use.
 * - The AK is a child of the EK: restricted | sign, fixedTPM | fixedParent,
 *   sensitiveDataOrigin, userWithAuth with an empty password, no policy
 *   (Part 1, 25.3: a restricted signing key signs only digests the TPM made
 *   itself, so a quote cannot be forged with it). ECC NIST P-256 with ECDSA
 *   SHA-256 by default, RSA 2048 RSASSA SHA-256 on request; nameAlg SHA-256.
 *   A new one each boot: the initramfs keeps nothing.
 * - TPM2_ActivateCredential (Part 3, 12.5) proves to the service that the
 *   AK it was shown lives in the TPM that holds the EK: the secret it sealed
 *   to the EK and the AK's name comes out only of this TPM, with both keys
 *   loaded. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <tss2/tss2_esys.h>

#include "agent.h"

/* Attributes of the AK (TPM 2.0 Part 2, 8.3). */
#define AK_ATTRIBUTES                                                                              \
    (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |            \
     TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT)

void agent_tpm_flush(ESYS_CONTEXT *esys, ESYS_TR *h)
{
    if (*h != ESYS_TR_NONE)
        Esys_FlushContext(esys, *h);
    *h = ESYS_TR_NONE;
}

/* Satisfies the EK's policy on the session: PolicySecret(TPM_RH_ENDORSEMENT)
 * with the hierarchy's password, no nonce, no expiration. */
static int ek_policy(ESYS_CONTEXT *esys, ESYS_TR session, char *err, size_t err_size)
{
    TSS2_RC rc = Esys_PolicySecret(esys, ESYS_TR_RH_ENDORSEMENT, session, ESYS_TR_PASSWORD,
                                   ESYS_TR_NONE, ESYS_TR_NONE, NULL, NULL, NULL, 0, NULL, NULL);
    if (rc != TSS2_RC_SUCCESS)
        return agent_tpm_fail(err, err_size, "PolicySecret(endorsement)", rc);
    return 0;
}

/* A policy session (SHA-256, unbound, unsalted: it only carries the policy;
 * nothing secret crosses the bus) satisfying the EK's policy. It is kept
 * open across commands (continueSession) so the caller can use it again
 * after ek_policy(); the caller flushes it. */
static int ek_session(ESYS_CONTEXT *esys, ESYS_TR *session, char *err, size_t err_size)
{
    *session = ESYS_TR_NONE;
    TPMT_SYM_DEF sym = {.algorithm = TPM2_ALG_NULL};
    TSS2_RC rc =
        Esys_StartAuthSession(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                              ESYS_TR_NONE, NULL, TPM2_SE_POLICY, &sym, TPM2_ALG_SHA256, session);
    if (rc != TSS2_RC_SUCCESS)
        return agent_tpm_fail(err, err_size, "StartAuthSession(policy)", rc);
    rc = Esys_TRSess_SetAttributes(esys, *session, TPMA_SESSION_CONTINUESESSION, 0xff);
    int r = rc == TSS2_RC_SUCCESS ? 0 : agent_tpm_fail(err, err_size, "TRSess_SetAttributes", rc);
    if (r == 0)
        r = ek_policy(esys, *session, err, err_size);
    if (r < 0)
        agent_tpm_flush(esys, session);
    return r;
}

int agent_ek_create(ESYS_CONTEXT *esys, enum tl_ek_type type, ESYS_TR *ek, TPM2B_PUBLIC *pub,
                    char *err, size_t err_size)
{
    *ek = ESYS_TR_NONE;
    TPM2B_PUBLIC template;
    tl_ek_template(type, &template);
    TPM2B_SENSITIVE_CREATE sensitive = {0};
    TPM2B_DATA outside_info = {0};
    TPML_PCR_SELECTION creation_pcrs = {0};
    TPM2B_PUBLIC *out = NULL;
    char what[48];
    snprintf(what, sizeof(what), "CreatePrimary (%s EK)", tl_ek_type_name(type));
    TSS2_RC rc = Esys_CreatePrimary(esys, ESYS_TR_RH_ENDORSEMENT, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                    ESYS_TR_NONE, &sensitive, &template, &outside_info,
                                    &creation_pcrs, ek, &out, NULL, NULL, NULL);
    if (rc != TSS2_RC_SUCCESS)
        return agent_tpm_fail(err, err_size, what, rc);
    *pub = *out;
    Esys_Free(out);
    if (!tl_ek_public_matches_template(pub, type)) {
        agent_tpm_flush(esys, ek);
        snprintf(err, err_size, "TPM %s: the key is unlike the template", what);
        return -EPROTO;
    }
    return 0;
}

static void ak_template(enum agent_ak_type type, TPM2B_PUBLIC *out)
{
    *out = (TPM2B_PUBLIC){0};
    TPMT_PUBLIC *p = &out->publicArea;
    p->nameAlg = TPM2_ALG_SHA256;
    p->objectAttributes = AK_ATTRIBUTES;
    if (type == AGENT_AK_RSA2048) {
        p->type = TPM2_ALG_RSA;
        p->parameters.rsaDetail = (TPMS_RSA_PARMS){
            .symmetric.algorithm = TPM2_ALG_NULL,
            .scheme = {.scheme = TPM2_ALG_RSASSA, .details.rsassa.hashAlg = TPM2_ALG_SHA256},
            .keyBits = 2048,
            .exponent = 0};
    } else {
        p->type = TPM2_ALG_ECC;
        p->parameters.eccDetail = (TPMS_ECC_PARMS){
            .symmetric.algorithm = TPM2_ALG_NULL,
            .scheme = {.scheme = TPM2_ALG_ECDSA, .details.ecdsa.hashAlg = TPM2_ALG_SHA256},
            .curveID = TPM2_ECC_NIST_P256,
            .kdf.scheme = TPM2_ALG_NULL};
    }
}

int agent_ak_create(ESYS_CONTEXT *esys, ESYS_TR ek, enum agent_ak_type type, ESYS_TR *ak,
                    TPM2B_PUBLIC *pub, TPM2B_NAME *name, char *err, size_t err_size)
{
    *ak = ESYS_TR_NONE;
    ESYS_TR session;
    int r = ek_session(esys, &session, err, err_size);
    if (r < 0)
        return r;
    TPM2B_PUBLIC template;
    ak_template(type, &template);
    TPM2B_SENSITIVE_CREATE sensitive = {0}; /* empty auth; the TPM makes the key */
    TPM2B_DATA outside_info = {0};
    TPML_PCR_SELECTION creation_pcrs = {0};
    TPM2B_PRIVATE *priv = NULL;
    TPM2B_PUBLIC *out = NULL;
    TSS2_RC rc = Esys_Create(esys, ek, session, ESYS_TR_NONE, ESYS_TR_NONE, &sensitive, &template,
                             &outside_info, &creation_pcrs, &priv, &out, NULL, NULL, NULL);
    if (rc != TSS2_RC_SUCCESS)
        r = agent_tpm_fail(err, err_size, "Create (AK)", rc);
    if (r == 0)
        r = ek_policy(esys, session, err, err_size);
    if (r == 0) {
        rc = Esys_Load(esys, ek, session, ESYS_TR_NONE, ESYS_TR_NONE, priv, out, ak);
        if (rc != TSS2_RC_SUCCESS)
            r = agent_tpm_fail(err, err_size, "Load (AK)", rc);
    }
    TPM2B_NAME *n = NULL;
    if (r == 0) {
        rc = Esys_TR_GetName(esys, *ak, &n);
        if (rc != TSS2_RC_SUCCESS)
            r = agent_tpm_fail(err, err_size, "TR_GetName (AK)", rc);
    }
    if (r == 0) {
        *pub = *out;
        *name = *n;
    } else {
        agent_tpm_flush(esys, ak);
    }
    Esys_Free(n);
    Esys_Free(priv);
    Esys_Free(out);
    agent_tpm_flush(esys, &session);
    return r;
}

int agent_ak_persistent(ESYS_CONTEXT *esys, uint32_t handle, ESYS_TR *ak, TPM2B_PUBLIC *pub,
                        TPM2B_NAME *name, char *err, size_t err_size)
{
    char what[48];
    snprintf(what, sizeof(what), "the AK at 0x%08x", handle);
    TSS2_RC rc = Esys_TR_FromTPMPublic(esys, handle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ak);
    if (rc != TSS2_RC_SUCCESS)
        return agent_tpm_fail(err, err_size, what, rc);
    TPM2B_PUBLIC *out = NULL;
    TPM2B_NAME *n = NULL;
    rc = Esys_ReadPublic(esys, *ak, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &out, &n, NULL);
    int r = 0;
    if (rc != TSS2_RC_SUCCESS) {
        r = agent_tpm_fail(err, err_size, what, rc);
    } else if ((out->publicArea.objectAttributes & AK_ATTRIBUTES & ~TPMA_OBJECT_FIXEDPARENT) !=
               (AK_ATTRIBUTES & ~TPMA_OBJECT_FIXEDPARENT)) {
        /* a key that is not restricted to signing what the TPM made could
         * sign a forged quote: refuse it as the service would */
        snprintf(err, err_size, "%s is not a restricted signing key of this TPM", what);
        r = -EPROTO;
    } else {
        *pub = *out;
        *name = *n;
    }
    Esys_Free(out);
    Esys_Free(n);
    if (r < 0)
        Esys_TR_Close(esys, ak);
    return r;
}

int agent_ak_activate(ESYS_CONTEXT *esys, ESYS_TR ak, ESYS_TR ek, const TPM2B_ID_OBJECT *blob,
                      const TPM2B_ENCRYPTED_SECRET *secret, TPM2B_DIGEST *out, char *err,
                      size_t err_size)
{
    ESYS_TR session;
    int r = ek_session(esys, &session, err, err_size);
    if (r < 0)
        return r;
    /* activateHandle (the AK): its empty password; keyHandle (the EK): the
     * policy. */
    TPM2B_DIGEST *cert_info = NULL;
    TSS2_RC rc = Esys_ActivateCredential(esys, ak, ek, ESYS_TR_PASSWORD, session, ESYS_TR_NONE,
                                         blob, secret, &cert_info);
    if (rc != TSS2_RC_SUCCESS)
        r = agent_tpm_fail(err, err_size, "ActivateCredential", rc);
    else
        *out = *cert_info;
    Esys_Free(cert_info);
    agent_tpm_flush(esys, &session);
    return r;
}
