/* PCR reads through the caller's ESYS context (tl/pcrread.h): one loop for
 * the agent's evidence and quotes and for tld reading a stopped node's
 * vTPM. */
#include "tl/pcrread.h"

#include <errno.h>
#include <string.h>

#include "tl/digest.h"
#include "tl/vtpm.h"

/* Reads the PCRs in want of one bank (bank->alg, bank->size set) into bank;
 * -EAGAIN when the update counter moved since *counter was taken (or
 * during these reads). */
static int read_bank(ESYS_CONTEXT *esys, uint32_t want, struct tl_pcr_bank *bank,
                     bool *have_counter, uint32_t *counter, struct tl_error *err)
{
    while (want) {
        TPML_PCR_SELECTION in = {.count = 1};
        in.pcrSelections[0].hash = bank->alg;
        in.pcrSelections[0].sizeofSelect = 3;
        for (uint32_t i = 0; i < TL_PCR_READ_PCRS; i++)
            if (want & (1u << i))
                in.pcrSelections[0].pcrSelect[i / 8] |= (uint8_t)(1u << (i % 8));
        UINT32 update = 0;
        TPML_PCR_SELECTION *out = NULL;
        TPML_DIGEST *values = NULL;
        TSS2_RC rc = Esys_PCR_Read(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &in, &update,
                                   &out, &values);
        if (rc != TSS2_RC_SUCCESS)
            return tl_tpm_fail(err, rc, "PCR_Read");
        int r = 0;
        if (*have_counter && update != *counter)
            r = -EAGAIN;
        *have_counter = true;
        *counter = update;
        /* The digests come in the order of the PCRs named in out. */
        uint32_t got = 0, k = 0;
        for (uint32_t o = 0; r == 0 && o < out->count; o++) {
            const TPMS_PCR_SELECTION *os = &out->pcrSelections[o];
            for (uint32_t i = 0; r == 0 && i < 8u * os->sizeofSelect && i < 32; i++) {
                if (!(os->pcrSelect[i / 8] & (1u << (i % 8))))
                    continue;
                if (os->hash != bank->alg || i >= TL_PCR_READ_PCRS || !(want & (1u << i)))
                    r = tl_error_set_nopos(err, -EPROTO,
                                           "PCR_Read: returned %s PCR %u, not asked for",
                                           tl_alg_name(os->hash) ? tl_alg_name(os->hash) : "?", i);
                else if (k >= values->count || values->digests[k].size != bank->size)
                    r = tl_error_set_nopos(
                        err, -EPROTO, "PCR_Read: %s PCR %u: digest missing or of the wrong size",
                        bank->name, i);
                else {
                    memcpy(bank->value[i], values->digests[k].buffer, bank->size);
                    got |= 1u << i;
                    k++;
                }
            }
        }
        Esys_Free(out);
        Esys_Free(values);
        if (r < 0)
            return r;
        if (got == 0)
            return tl_error_set_nopos(err, -EPROTO, "PCR_Read: no %s PCR returned", bank->name);
        bank->read |= got;
        want &= ~got;
    }
    return 0;
}

static int changing(struct tl_error *err)
{
    return tl_error_set_nopos(err, -EAGAIN, "PCRs kept changing while read (%d attempts)",
                              TL_PCR_READ_ATTEMPTS);
}

int tl_tpm_pcr_read(ESYS_CONTEXT *esys, uint16_t alg, uint32_t mask, struct tl_pcr_bank *bank,
                    struct tl_error *err)
{
    const char *name = tl_alg_name(alg);
    size_t size = tl_alg_digest_size(alg);
    if (!name || size == 0 || size > TL_PCR_READ_DIGEST)
        return tl_error_set_nopos(err, -EINVAL, "PCR_Read: unknown bank 0x%04x", alg);
    int r = -EAGAIN;
    for (int attempt = 0; r == -EAGAIN && attempt < TL_PCR_READ_ATTEMPTS; attempt++) {
        bool have_counter = false;
        uint32_t counter = 0;
        *bank = (struct tl_pcr_bank){.alg = alg, .name = name, .size = size};
        r = read_bank(esys, mask, bank, &have_counter, &counter, err);
    }
    return r == -EAGAIN ? changing(err) : r;
}

/* Every bank of alloc, one snapshot; -EAGAIN when the counter moved. */
static int read_banks(ESYS_CONTEXT *esys, const TPML_PCR_SELECTION *alloc, struct tl_pcr_banks *out,
                      struct tl_error *err)
{
    bool have_counter = false;
    uint32_t counter = 0;
    out->count = 0;
    for (uint32_t b = 0; b < alloc->count && b < TPM2_NUM_PCR_BANKS; b++) {
        const TPMS_PCR_SELECTION *s = &alloc->pcrSelections[b];
        uint32_t want = 0;
        for (uint32_t i = 0; i < TL_PCR_READ_PCRS && i / 8 < s->sizeofSelect; i++)
            if (s->pcrSelect[i / 8] & (1u << (i % 8)))
                want |= 1u << i;
        const char *name = tl_alg_name(s->hash);
        size_t size = tl_alg_digest_size(s->hash);
        if (want == 0 || !name || size == 0 || size > TL_PCR_READ_DIGEST)
            continue;
        if (out->count == TL_PCR_READ_BANKS)
            break;
        struct tl_pcr_bank *bank = &out->bank[out->count++];
        *bank = (struct tl_pcr_bank){.alg = s->hash, .name = name, .size = size};
        int r = read_bank(esys, want, bank, &have_counter, &counter, err);
        if (r < 0)
            return r;
    }
    return 0;
}

int tl_tpm_pcr_read_all(ESYS_CONTEXT *esys, struct tl_pcr_banks *out, struct tl_error *err)
{
    TPMI_YES_NO more;
    TPMS_CAPABILITY_DATA *cap = NULL;
    TSS2_RC rc = Esys_GetCapability(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_PCRS,
                                    0, 1, &more, &cap);
    if (rc != TSS2_RC_SUCCESS)
        return tl_tpm_fail(err, rc, "GetCapability(PCRs)");
    TPML_PCR_SELECTION alloc = cap->data.assignedPCR;
    Esys_Free(cap);
    int r = -EAGAIN;
    for (int attempt = 0; r == -EAGAIN && attempt < TL_PCR_READ_ATTEMPTS; attempt++)
        r = read_banks(esys, &alloc, out, err);
    if (r == -EAGAIN)
        return changing(err);
    if (r == 0 && out->count == 0)
        return tl_error_set_nopos(err, -EPROTO, "no PCR bank libtl knows");
    return r;
}
