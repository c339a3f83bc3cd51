/* The TPM half of the evidence, through tpm2-tss: every allocated PCR bank
 * and the EK certificates the platform wrote into NV.
 *
 * - Banks: TPM2_GetCapability(TPM_CAP_PCRS) lists the allocated banks and
 *   which PCRs each has (TPM 2.0 Part 3, 30.2). A bank the agent cannot name
 *   is skipped, never guessed.
 * - PCRs: TPM2_PCR_Read returns at most 8 digests per call (Part 3, 22.4:
 *   as many as fit; the TPM says which in pcrSelectionOut), so we loop,
 *   taking exactly the PCRs it names. Every response carries the TPM's
 *   pcrUpdateCounter: if a PCR was extended between two reads, the set is
 *   not a snapshot, so we read everything again.
 * - EK certificates: NV indices 0x01c00002 (RSA 2048) and 0x01c0000a (ECC
 *   P-256) (TCG EK Credential Profile 2.2.1.4), read with the index's own
 *   (empty) authorization (TPMA_NV_AUTHREAD), in chunks of at most
 *   TPM2_PT_NV_BUFFER_MAX. An index that is not defined is not an error: a
 *   TPM without certificates is a fact to report. The indices are listed with
 *   GetCapability(TPM_CAP_HANDLES) first, so an absent one never makes the
 *   TSS log an error on the console.
 *
 * The attestation (attest.c, quote.c) opens the TPM the same way
 * (agent_tpm_open) and reads the quoted PCRs with the same loop
 * (agent_tpm_pcr_read: one bank, one snapshot).
 *
 * The TCTI is the platform's: "device:/dev/tpmrm0" in the node (the kernel's
 * resource manager), "swtpm:path=..." on a host. tctildr dlopen()s the TCTI
 * library by name (libtss2-tcti-device.so.0), so the initramfs must carry
 * it (image/mkinitramfs.sh adds it). */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>
#include <unistd.h>

#include "agent.h"
#include "tl/digest.h"

#define PCR_READ_ATTEMPTS 5
#define EK_CERT_MAX       (16u << 10)

int agent_tpm_fail(char *err, size_t err_size, const char *what, TSS2_RC rc)
{
    snprintf(err, err_size, "TPM %s: %s", what, Tss2_RC_Decode(rc));
    return -EIO;
}

/* Is the TCTI's device there at all? Only for "device" (the node's case):
 * no device is "no TPM", silently, before tctildr logs its own errors. */
static bool device_absent(const char *conf)
{
    const char *path;
    if (strcmp(conf, "device") == 0 || strcmp(conf, "device:") == 0)
        path = "/dev/tpmrm0";
    else if (strncmp(conf, "device:", 7) == 0)
        path = conf + 7;
    else
        return false;
    return access(path, F_OK) < 0;
}

/* Reads the PCRs in want of one bank (bank->alg, bank->size set) into bank;
 * -EAGAIN when the update counter moved since *counter was taken (or
 * during these reads). */
static int read_bank(ESYS_CONTEXT *esys, uint32_t want, struct agent_pcr_bank *bank,
                     bool *have_counter, uint32_t *counter, char *err, size_t err_size)
{
    while (want) {
        TPML_PCR_SELECTION in = {.count = 1};
        in.pcrSelections[0].hash = bank->alg;
        in.pcrSelections[0].sizeofSelect = 3;
        for (uint32_t i = 0; i < AGENT_NUM_PCRS; i++)
            if (want & (1u << i))
                in.pcrSelections[0].pcrSelect[i / 8] |= (uint8_t)(1u << (i % 8));
        UINT32 update = 0;
        TPML_PCR_SELECTION *out = NULL;
        TPML_DIGEST *values = NULL;
        TSS2_RC rc = Esys_PCR_Read(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &in, &update,
                                   &out, &values);
        if (rc != TSS2_RC_SUCCESS)
            return agent_tpm_fail(err, err_size, "PCR_Read", rc);
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
                if (os->hash != bank->alg || i >= AGENT_NUM_PCRS || !(want & (1u << i))) {
                    snprintf(err, err_size, "TPM PCR_Read: returned %s PCR %u, not asked for",
                             tl_alg_name(os->hash) ? tl_alg_name(os->hash) : "?", i);
                    r = -EPROTO;
                } else if (k >= values->count || values->digests[k].size != bank->size) {
                    snprintf(err, err_size,
                             "TPM PCR_Read: %s PCR %u: digest missing or of the wrong size",
                             bank->name, i);
                    r = -EPROTO;
                } else {
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
        if (got == 0) {
            snprintf(err, err_size, "TPM PCR_Read: no %s PCR returned", bank->name);
            return -EPROTO;
        }
        bank->read |= got;
        want &= ~got;
    }
    return 0;
}

/* Reads PCRs 0-23 (those allocated) of every bank we can name into ev;
 * -EAGAIN when the update counter moved during the reads. */
static int read_banks(ESYS_CONTEXT *esys, const TPML_PCR_SELECTION *alloc,
                      struct agent_evidence *ev, char *err, size_t err_size)
{
    bool have_counter = false;
    uint32_t counter = 0;
    ev->n_banks = 0;
    for (uint32_t b = 0; b < alloc->count && b < TPM2_NUM_PCR_BANKS; b++) {
        const TPMS_PCR_SELECTION *s = &alloc->pcrSelections[b];
        uint32_t want = 0;
        for (uint32_t i = 0; i < AGENT_NUM_PCRS && i / 8 < s->sizeofSelect; i++)
            if (s->pcrSelect[i / 8] & (1u << (i % 8)))
                want |= 1u << i;
        const char *name = tl_alg_name(s->hash);
        size_t size = tl_alg_digest_size(s->hash);
        if (want == 0 || !name || size == 0 || size > AGENT_DIGEST_MAX)
            continue;
        if (ev->n_banks == AGENT_MAX_BANKS)
            break;
        struct agent_pcr_bank *bank = &ev->banks[ev->n_banks++];
        *bank = (struct agent_pcr_bank){.alg = s->hash, .name = name, .size = size};
        int r = read_bank(esys, want, bank, &have_counter, &counter, err, err_size);
        if (r < 0)
            return r;
    }
    return 0;
}

int agent_tpm_pcr_read(ESYS_CONTEXT *esys, uint16_t alg, uint32_t pcrs, struct agent_pcr_bank *bank,
                       char *err, size_t err_size)
{
    const char *name = tl_alg_name(alg);
    size_t size = tl_alg_digest_size(alg);
    assert(name && size > 0 && size <= AGENT_DIGEST_MAX);
    int r = -EAGAIN;
    for (int attempt = 0; r == -EAGAIN && attempt < PCR_READ_ATTEMPTS; attempt++) {
        bool have_counter = false;
        uint32_t counter = 0;
        *bank = (struct agent_pcr_bank){.alg = alg, .name = name, .size = size};
        r = read_bank(esys, pcrs, bank, &have_counter, &counter, err, err_size);
    }
    if (r == -EAGAIN)
        snprintf(err, err_size, "TPM PCRs kept changing while read (%d attempts)",
                 PCR_READ_ATTEMPTS);
    return r;
}

static uint16_t nv_chunk(ESYS_CONTEXT *esys)
{
    TPMI_YES_NO more;
    TPMS_CAPABILITY_DATA *cap = NULL;
    uint32_t max = 0;
    if (Esys_GetCapability(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_TPM_PROPERTIES,
                           TPM2_PT_NV_BUFFER_MAX, 1, &more, &cap) == TSS2_RC_SUCCESS &&
        cap->data.tpmProperties.count == 1 &&
        cap->data.tpmProperties.tpmProperty[0].property == TPM2_PT_NV_BUFFER_MAX)
        max = cap->data.tpmProperties.tpmProperty[0].value;
    Esys_Free(cap);
    if (max == 0 || max > TPM2_MAX_NV_BUFFER_SIZE)
        max = 512; /* every TPM reads this much (PC Client PTP: at least 512) */
    return (uint16_t)max;
}

/* Is the NV index defined? (listing handles never fails for an absent one) */
static int nv_defined(ESYS_CONTEXT *esys, uint32_t index, char *err, size_t err_size)
{
    TPMI_YES_NO more;
    TPMS_CAPABILITY_DATA *cap = NULL;
    TSS2_RC rc = Esys_GetCapability(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                    TPM2_CAP_HANDLES, index, 1, &more, &cap);
    if (rc != TSS2_RC_SUCCESS)
        return agent_tpm_fail(err, err_size, "GetCapability(handles)", rc);
    int defined = cap->data.handles.count >= 1 && cap->data.handles.handle[0] == index;
    Esys_Free(cap);
    return defined;
}

/* Reads one EK certificate; 0 with *der NULL when the index is not there. */
static int read_ek_cert(ESYS_CONTEXT *esys, uint32_t index, uint8_t **der, size_t *len, char *err,
                        size_t err_size)
{
    *der = NULL;
    *len = 0;
    char what[64];
    int r = nv_defined(esys, index, err, err_size);
    if (r <= 0)
        return r;
    r = 0;
    ESYS_TR nv = ESYS_TR_NONE;
    TSS2_RC rc = Esys_TR_FromTPMPublic(esys, index, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &nv);
    if (rc != TSS2_RC_SUCCESS) {
        snprintf(what, sizeof(what), "NV 0x%08x", index);
        return agent_tpm_fail(err, err_size, what, rc);
    }
    TPM2B_NV_PUBLIC *pub = NULL;
    rc = Esys_NV_ReadPublic(esys, nv, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, NULL);
    if (rc != TSS2_RC_SUCCESS) {
        Esys_TR_Close(esys, &nv);
        snprintf(what, sizeof(what), "NV_ReadPublic 0x%08x", index);
        return agent_tpm_fail(err, err_size, what, rc);
    }
    size_t size = pub->nvPublic.dataSize;
    TPMA_NV attrs = pub->nvPublic.attributes;
    Esys_Free(pub);
    /* Defined but never written: no certificate (yet). */
    if (!(attrs & TPMA_NV_WRITTEN) || size == 0) {
        Esys_TR_Close(esys, &nv);
        return 0;
    }
    /* The index's own auth (EK Credential Profile: AUTHREAD, empty auth);
     * owner auth (empty, as in a fresh node) when an index lacks AUTHREAD. */
    ESYS_TR auth = (attrs & TPMA_NV_AUTHREAD) ? nv : ESYS_TR_RH_OWNER;
    if (size > EK_CERT_MAX) {
        snprintf(err, err_size, "TPM NV 0x%08x: %zu bytes, more than a certificate", index, size);
        r = -EFBIG;
    } else if (!(*der = malloc(size))) {
        snprintf(err, err_size, "out of memory");
        r = -ENOMEM;
    }
    uint16_t chunk = r == 0 ? nv_chunk(esys) : 0;
    for (size_t off = 0; r == 0 && off < size;) {
        uint16_t n = (uint16_t)(size - off < chunk ? size - off : chunk);
        TPM2B_MAX_NV_BUFFER *data = NULL;
        rc = Esys_NV_Read(esys, auth, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, n,
                          (UINT16)off, &data);
        if (rc != TSS2_RC_SUCCESS) {
            snprintf(what, sizeof(what), "NV_Read 0x%08x at %zu", index, off);
            r = agent_tpm_fail(err, err_size, what, rc);
        } else if (data->size != n) {
            snprintf(err, err_size, "TPM NV_Read 0x%08x at %zu: %u bytes for %u", index, off,
                     data->size, n);
            r = -EPROTO;
        } else {
            memcpy(*der + off, data->buffer, n);
            off += n;
        }
        Esys_Free(data);
    }
    Esys_TR_Close(esys, &nv);
    if (r < 0) {
        free(*der);
        *der = NULL;
        return r;
    }
    *len = size;
    return 0;
}

static int collect(ESYS_CONTEXT *esys, struct agent_evidence *ev, char *err, size_t err_size)
{
    TPMI_YES_NO more;
    TPMS_CAPABILITY_DATA *cap = NULL;
    TSS2_RC rc = Esys_GetCapability(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_PCRS,
                                    0, 1, &more, &cap);
    if (rc != TSS2_RC_SUCCESS)
        return agent_tpm_fail(err, err_size, "GetCapability(PCRs)", rc);
    TPML_PCR_SELECTION alloc = cap->data.assignedPCR;
    Esys_Free(cap);

    int r = -EAGAIN;
    for (int attempt = 0; r == -EAGAIN && attempt < PCR_READ_ATTEMPTS; attempt++)
        r = read_banks(esys, &alloc, ev, err, err_size);
    if (r == -EAGAIN)
        snprintf(err, err_size, "TPM PCRs kept changing while read (%d attempts)",
                 PCR_READ_ATTEMPTS);
    if (r < 0)
        return r;
    if (ev->n_banks == 0) {
        snprintf(err, err_size, "TPM has no PCR bank this agent knows");
        return -EPROTO;
    }

    static const struct {
        const char *name;
        uint32_t index;
    } eks[] = {{"rsa2048", 0x01c00002u}, {"ecc-p256", 0x01c0000au}};
    for (size_t i = 0; i < sizeof(eks) / sizeof(eks[0]); i++) {
        uint8_t *der;
        size_t len;
        r = read_ek_cert(esys, eks[i].index, &der, &len, err, err_size);
        if (r < 0)
            return r;
        if (der)
            ev->ek_certs[ev->n_ek_certs++] =
                (struct agent_ek_cert){.name = eks[i].name, .der = der, .len = len};
    }
    return 0;
}

int agent_tpm_open(const char *tcti, struct agent_tpm *tpm, char *err, size_t err_size)
{
    *tpm = (struct agent_tpm){0};
    if (device_absent(tcti))
        return 1;
    if (Tss2_TctiLdr_Initialize(tcti, &tpm->tcti) != TSS2_RC_SUCCESS)
        return 1; /* no TPM behind this TCTI */
    TSS2_RC rc = Esys_Initialize(&tpm->esys, tpm->tcti, NULL);
    if (rc != TSS2_RC_SUCCESS) {
        Tss2_TctiLdr_Finalize(&tpm->tcti);
        *tpm = (struct agent_tpm){0};
        return agent_tpm_fail(err, err_size, "Esys_Initialize", rc);
    }
    return 0;
}

void agent_tpm_close(struct agent_tpm *tpm)
{
    if (tpm->esys)
        Esys_Finalize(&tpm->esys);
    if (tpm->tcti)
        Tss2_TctiLdr_Finalize(&tpm->tcti);
    *tpm = (struct agent_tpm){0};
}

int agent_tpm_collect(const char *tcti, struct agent_evidence *ev, char *err, size_t err_size)
{
    ev->tpm = false;
    struct agent_tpm tpm;
    int r = agent_tpm_open(tcti, &tpm, err, err_size);
    if (r != 0)
        return r > 0 ? 0 : r; /* no TPM: reported as tpm false */
    ev->tpm = true;
    r = collect(tpm.esys, ev, err, err_size);
    agent_tpm_close(&tpm);
    return r;
}
