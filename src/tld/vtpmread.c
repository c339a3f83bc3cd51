/* The host reads a node's vTPM itself.
 *
 * While QEMU runs it holds swtpm's only control connection, and swtpm
 * refuses a data socket of its own once QEMU passed it one
 * (CMD_SET_DATAFD), so a running node's TPM cannot be read from outside.
 * Once QEMU is gone (a stop, a crash), swtpm is still up with the guest's
 * volatile state, PCRs included: tld then does what QEMU does, connects to
 * the control channel, hands swtpm one end of a socket pair with
 * CMD_SET_DATAFD, and speaks TPM commands on the other end through tpm2-tss
 * (the host library's tlhost/swtpm.h) and reads the PCRs with libtl's loop
 * (tl/pcrread.h). The values read are the TPM's, independent of anything
 * the guest said. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tl/pcrread.h"
#include "tl/util.h"
#include "tld.h"
#include "tlhost/swtpm.h"

int tld_vtpm_shutdown(const char *ctrl)
{
    return tlh_swtpm_shutdown(ctrl, TLH_SWTPM_IO_TIMEOUT_MS, NULL);
}

/* {"sha1": {"0": hex, ...}, "sha256": {...}} */
static json_t *banks_json(const struct tl_pcr_banks *b)
{
    json_t *out = json_object();
    for (size_t i = 0; out && i < b->count; i++) {
        const struct tl_pcr_bank *bank = &b->bank[i];
        json_t *j = json_object();
        if (!j || json_object_set_new(out, bank->name, j) < 0) {
            json_decref(out);
            return NULL;
        }
        for (unsigned p = 0; p < TL_PCR_READ_PCRS; p++) {
            if (!(bank->read & (1u << p)))
                continue;
            char hex[2 * TL_PCR_READ_DIGEST + 1], key[4];
            tl_hex_encode(bank->value[p], bank->size, hex);
            snprintf(key, sizeof(key), "%u", p);
            if (json_object_set_new(j, key, json_string(hex)) < 0) {
                json_decref(out);
                return NULL;
            }
        }
    }
    return out;
}

int tld_vtpm_read_pcrs(const char *ctrl, json_t **out, char *msg, size_t msz)
{
    struct tlh_swtpm_data d;
    struct tl_error err = {0};
    int r = tlh_swtpm_data_open(ctrl, &d, &err);
    if (r < 0) {
        snprintf(msg, msz, "%s", err.message);
        return r;
    }
    struct tl_pcr_banks banks;
    r = tl_tpm_pcr_read_all(d.esys, &banks, &err);
    if (r < 0)
        snprintf(msg, msz, "%s", err.message);
    /* End the TPM's power cycle in order, as firmware does at S5: the
     * guest was killed and never sent TPM2_Shutdown, and a TPM counts each
     * unorderly shutdown against its dictionary-attack limit (3 in a fresh
     * swtpm): a node stopped or reimaged three times would find its
     * DA-protected keys (the agent's AK) locked out. */
    TSS2_RC src = Esys_Shutdown(d.esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_SU_STATE);
    if (src != TSS2_RC_SUCCESS)
        tld_log("vTPM %s: TPM2_Shutdown(STATE): 0x%x", ctrl, src);
    tlh_swtpm_data_close(&d);
    if (r < 0)
        return r;
    *out = banks_json(&banks);
    if (!*out) {
        snprintf(msg, msz, "out of memory");
        return -ENOMEM;
    }
    return 0;
}
