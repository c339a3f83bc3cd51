/* A quote of the sha256 PCRs with the AK, and the PCR values it covers.
 *
 * TPM2_Quote (TPM 2.0 Part 3, 18.4) signs a TPMS_ATTEST that holds the
 * caller's qualifyingData (the service's nonce: freshness) and the digest
 * of the selected PCRs, not their values; the verifier needs the values to
 * compare with the event log's replay, so they are read with TPM2_PCR_Read
 * right after. A PCR extended between the two would make values that do not
 * match the signed digest: before anything is sent the agent checks the
 * values against the quote's pcrDigest (SHA-256 of the values in PCR order,
 * the hash of the AK's scheme; Part 3, 18.4.1) and quotes again if they
 * differ. It also checks that the TPM quoted what was asked (magic, type,
 * nonce, selection), so what goes out is consistent or nothing does.
 *
 * inScheme is TPM2_ALG_NULL: the AK is restricted, its own scheme (ECDSA or
 * RSASSA with SHA-256) is the one used. */
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>

#include "agent.h"

#define QUOTE_ATTEMPTS 5

static TPML_PCR_SELECTION selection(uint32_t pcrs)
{
    TPML_PCR_SELECTION s = {.count = 1};
    s.pcrSelections[0].hash = TPM2_ALG_SHA256;
    s.pcrSelections[0].sizeofSelect = 3;
    for (uint32_t i = 0; i < TL_PCR_READ_PCRS; i++)
        if (pcrs & (1u << i))
            s.pcrSelections[0].pcrSelect[i / 8] |= (uint8_t)(1u << (i % 8));
    return s;
}

/* 0 when the quote matches the request and the values; -EAGAIN when only
 * the PCR digest differs (a PCR moved); -EPROTO otherwise. */
static int check(const struct agent_quote *q, const uint8_t *nonce, size_t nonce_len, char *err,
                 size_t err_size)
{
    TPMS_ATTEST a;
    size_t off = 0;
    if (Tss2_MU_TPMS_ATTEST_Unmarshal(q->attest.attestationData, q->attest.size, &off, &a) !=
            TSS2_RC_SUCCESS ||
        off != q->attest.size) {
        snprintf(err, err_size, "TPM Quote: the TPMS_ATTEST does not parse");
        return -EPROTO;
    }
    if (a.magic != TPM2_GENERATED_VALUE || a.type != TPM2_ST_ATTEST_QUOTE) {
        snprintf(err, err_size, "TPM Quote: magic 0x%08x type 0x%04x, not a quote", a.magic,
                 a.type);
        return -EPROTO;
    }
    if (a.extraData.size != nonce_len || memcmp(a.extraData.buffer, nonce, nonce_len) != 0) {
        snprintf(err, err_size, "TPM Quote: extraData is not the nonce");
        return -EPROTO;
    }
    const TPML_PCR_SELECTION *s = &a.attested.quote.pcrSelect;
    uint32_t got = 0;
    if (s->count == 1 && s->pcrSelections[0].hash == TPM2_ALG_SHA256)
        for (uint32_t i = 0; i < 8u * s->pcrSelections[0].sizeofSelect && i < 32; i++)
            if (s->pcrSelections[0].pcrSelect[i / 8] & (1u << (i % 8)))
                got |= 1u << i;
    if (s->count != 1 || s->pcrSelections[0].hash != TPM2_ALG_SHA256 || got != q->pcrs) {
        snprintf(err, err_size, "TPM Quote: the quoted PCR selection is not the one asked for");
        return -EPROTO;
    }
    /* Part 3, 18.4.1: the digest of the concatenated values, in the order
     * of the selection (bank order, then PCR number). */
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    uint8_t digest[32];
    unsigned int n = 0;
    int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    for (uint32_t i = 0; ok && i < TL_PCR_READ_PCRS; i++)
        if (q->pcrs & (1u << i))
            ok = EVP_DigestUpdate(md, q->bank.value[i], q->bank.size);
    ok = ok && EVP_DigestFinal_ex(md, digest, &n) && n == sizeof(digest);
    EVP_MD_CTX_free(md);
    if (!ok) {
        snprintf(err, err_size, "SHA-256 failed");
        return -ENOMEM;
    }
    const TPM2B_DIGEST *pd = &a.attested.quote.pcrDigest;
    if (pd->size != sizeof(digest) || memcmp(pd->buffer, digest, sizeof(digest)) != 0) {
        snprintf(err, err_size, "the PCRs read do not hash to the quote's pcrDigest");
        return -EAGAIN;
    }
    return 0;
}

int agent_quote(ESYS_CONTEXT *esys, ESYS_TR ak, const uint8_t *nonce, size_t nonce_len,
                uint32_t pcrs, struct agent_quote *q, char *err, size_t err_size)
{
    *q = (struct agent_quote){.pcrs = pcrs};
    TPM2B_DATA qualifying = {0};
    if (nonce_len == 0 || nonce_len > AGENT_NONCE_MAX || nonce_len > sizeof(qualifying.buffer) ||
        pcrs == 0 || pcrs >= (1u << TL_PCR_READ_PCRS)) {
        snprintf(err, err_size, "quote: nonce of %zu bytes or PCR mask 0x%x out of range",
                 nonce_len, pcrs);
        return -EINVAL;
    }
    qualifying.size = (UINT16)nonce_len;
    memcpy(qualifying.buffer, nonce, nonce_len);
    TPMT_SIG_SCHEME scheme = {.scheme = TPM2_ALG_NULL};
    TPML_PCR_SELECTION sel = selection(pcrs);
    int r = -EAGAIN;
    for (int attempt = 0; r == -EAGAIN && attempt < QUOTE_ATTEMPTS; attempt++) {
        TPM2B_ATTEST *attest = NULL;
        TPMT_SIGNATURE *sig = NULL;
        TSS2_RC rc = Esys_Quote(esys, ak, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &qualifying,
                                &scheme, &sel, &attest, &sig);
        if (rc != TSS2_RC_SUCCESS)
            return agent_tpm_fail(err, err_size, "Quote", rc);
        q->attest = *attest;
        size_t off = 0;
        rc = Tss2_MU_TPMT_SIGNATURE_Marshal(sig, q->sig, sizeof(q->sig), &off);
        Esys_Free(attest);
        Esys_Free(sig);
        if (rc != TSS2_RC_SUCCESS) {
            snprintf(err, err_size, "TPM Quote: the signature does not marshal: %s",
                     Tss2_RC_Decode(rc));
            return -EPROTO;
        }
        q->sig_len = off;
        struct tl_error e = {0};
        r = tl_tpm_pcr_read(esys, TPM2_ALG_SHA256, pcrs, &q->bank, &e);
        if (r < 0) {
            snprintf(err, err_size, "TPM %s", e.message);
            return r;
        }
        r = check(q, nonce, nonce_len, err, err_size);
    }
    if (r == -EAGAIN)
        snprintf(err, err_size, "TPM PCRs kept changing between quote and read (%d attempts)",
                 QUOTE_ATTEMPTS);
    return r;
}
