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
 * The PCR and NV reads are libtl's (tl/pcrread.h, tl_tpm_nv_read in
 * tl/vtpm.h), through this ESYS context. The attestation (attest.c,
 * quote.c) opens the TPM the same way (agent_tpm_open) and reads the quoted
 * PCRs with the same loop (tl_tpm_pcr_read: one bank, one snapshot).
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

static int collect(ESYS_CONTEXT *esys, struct agent_evidence *ev, char *err, size_t err_size)
{
    struct tl_error e = {0};
    int r = tl_tpm_pcr_read_all(esys, &ev->pcr, &e);
    if (r < 0) {
        snprintf(err, err_size, "TPM %s", e.message);
        return r;
    }
    static const struct {
        const char *name;
        uint32_t index;
    } eks[] = {{"rsa2048", TL_NV_EK_CERT_RSA2048}, {"ecc-p256", TL_NV_EK_CERT_ECC_P256}};
    for (size_t i = 0; i < sizeof(eks) / sizeof(eks[0]); i++) {
        uint8_t *der;
        size_t len;
        /* not defined or never written: no certificate (yet), a fact to report */
        r = tl_tpm_nv_read(esys, eks[i].index, TL_EK_CERT_MAX, &der, &len, NULL, &e);
        if (r == -ENOENT)
            continue;
        if (r < 0) {
            snprintf(err, err_size, "TPM %s", e.message);
            return r;
        }
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
