/* Azure's vTPM-bound confidential-VM evidence, read the way a guest reads
 * it on an Azure CVM (Azure/confidential-computing-cvm-guest-attestation,
 * tpm_wrapper.py; kinvolk/azure-cvm-tooling az-snp-vtpm):
 *
 *   NV 0x01400001  the HCL report: "HCLA" header, the hardware report (SNP
 *                  report or TDREPORT), IGVM request data, the runtime JSON
 *                  whose SHA-256 is the hardware report's REPORT_DATA
 *   NV 0x01400002  up to 64 bytes of user data: written by the guest, the
 *                  paravisor answers with a fresh HCL report carrying them
 *                  as the runtime JSON's "user-data"
 *   0x81000003     the attestation key (HCLAkPub in the runtime JSON)
 *
 * On trustlaunch the paravisor is the platform's relay between QEMU and
 * the node's swtpm (docs/architecture.md); the agent cannot tell the two
 * apart, which is the point: the same agent attests on Azure.
 *
 * The user-data index is written with owner authorization (empty
 * password), as Microsoft's tooling does; it is defined by the platform
 * (on Azure, by the HCL), never by the agent. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tss2/tss2_esys.h>

#include "agent.h"
#include "tl/vtpm.h"

int agent_hcl_present(ESYS_CONTEXT *esys)
{
    /* asked as a capability, not by opening the index: a TPM without it
     * answers without an error (tpm2-tss logs every failed command) */
    TPMI_YES_NO more;
    TPMS_CAPABILITY_DATA *data = NULL;
    TSS2_RC rc = Esys_GetCapability(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                    TPM2_CAP_HANDLES, AGENT_HCL_REPORT_NV, 1, &more, &data);
    int present = rc == TSS2_RC_SUCCESS && data->data.handles.count >= 1 &&
                  data->data.handles.handle[0] == AGENT_HCL_REPORT_NV;
    Esys_Free(data);
    return present;
}

int agent_hcl_report(ESYS_CONTEXT *esys, const uint8_t *user_data, size_t n, uint8_t **report,
                     size_t *len, char *err, size_t err_size)
{
    *report = NULL;
    *len = 0;
    if (n > AGENT_HCL_USER_DATA_MAX) {
        snprintf(err, err_size, "HCL user data: %zu bytes, at most %d", n, AGENT_HCL_USER_DATA_MAX);
        return -EINVAL;
    }
    ESYS_TR nv = ESYS_TR_NONE;
    TSS2_RC rc = Esys_TR_FromTPMPublic(esys, AGENT_HCL_USER_DATA_NV, ESYS_TR_NONE, ESYS_TR_NONE,
                                       ESYS_TR_NONE, &nv);
    if (rc != TSS2_RC_SUCCESS)
        return agent_tpm_fail(err, err_size, "NV 0x01400002 (HCL user data)", rc);
    /* always the whole 64 bytes: a shorter write would leave the tail of
     * an earlier request in the report */
    TPM2B_MAX_NV_BUFFER data = {.size = AGENT_HCL_USER_DATA_MAX};
    memcpy(data.buffer, user_data, n);
    rc = Esys_NV_Write(esys, ESYS_TR_RH_OWNER, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                       &data, 0);
    Esys_TR_Close(esys, &nv);
    if (rc != TSS2_RC_SUCCESS)
        return agent_tpm_fail(err, err_size, "NV_Write 0x01400002 (HCL user data)", rc);
    struct tl_error e = {0};
    int r = tl_tpm_nv_read(esys, AGENT_HCL_REPORT_NV, AGENT_HCL_REPORT_MAX, report, len, NULL, &e);
    if (r < 0) {
        snprintf(err, err_size, "HCL report: %s", e.message);
        return r;
    }
    return 0;
}
