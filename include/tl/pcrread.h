/* Reading PCRs through the caller's ESYS context (any TCTI: the node's
 * /dev/tpmrm0, a swtpm socket, a descriptor tld got from swtpm's control
 * channel). libtl does no I/O of its own here: every byte goes through
 * the caller's ESYS_CONTEXT, as in vtpm.h.
 *
 * TPM 2.0 Part 3, 22.4 (TPM2_PCR_Read): at most 8 digests come back a call,
 * the TPM says which in pcrSelectionOut, and every answer carries the
 * pcrUpdateCounter: values read while the counter moved are not one
 * snapshot, so the whole read is done again (up to TL_PCR_READ_ATTEMPTS).
 * Part 3, 30.2 (TPM_CAP_PCRS) lists the allocated banks; a bank libtl
 * cannot name is skipped, never guessed. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <tss2/tss2_esys.h>

#include "tl/error.h"

#define TL_PCR_READ_PCRS     24 /* PCRs 0-23 (PC Client PTP) */
#define TL_PCR_READ_DIGEST   64
#define TL_PCR_READ_BANKS    8
#define TL_PCR_READ_ATTEMPTS 5

struct tl_pcr_bank {
    uint16_t alg;
    const char *name; /* "sha256" (static) */
    size_t size;      /* digest size */
    uint32_t read;    /* bit i: PCR i was read */
    uint8_t value[TL_PCR_READ_PCRS][TL_PCR_READ_DIGEST];
};

struct tl_pcr_banks {
    size_t count;
    struct tl_pcr_bank bank[TL_PCR_READ_BANKS];
};

/* The PCRs in mask (bit i = PCR i) of bank alg, one snapshot. -EAGAIN when
 * they kept changing, -EPROTO for an answer that is not what was asked,
 * -EIO (the TPM's code in the message). */
int tl_tpm_pcr_read(ESYS_CONTEXT *esys, uint16_t alg, uint32_t mask, struct tl_pcr_bank *bank,
                    struct tl_error *err);
/* PCRs 0-23 (those allocated) of every allocated bank libtl can name, all
 * banks one snapshot. -EPROTO when there is no such bank. */
int tl_tpm_pcr_read_all(ESYS_CONTEXT *esys, struct tl_pcr_banks *out, struct tl_error *err);
