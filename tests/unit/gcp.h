/* Test helper: the real GCP Shielded VM attestation of go-attestation's
 * testdata (eventlog/go-attestation/windows_gcp_shielded_vm.json), decoded
 * from the vectors folder: the AK public area (TPMT_PUBLIC), its
 * CreateAttestation, the quote (TPMS_ATTEST of the SHA-1 bank, empty
 * nonce), its signature, the raw SHA-1 event log and the JSON's 24 SHA-1
 * PCR values. Used by test_quote.c and test_attest_flips.c. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "tl/replay.h"

#define GCP "eventlog/go-attestation/windows_gcp_shielded_vm.json"

struct buf {
    uint8_t *p;
    size_t len;
};

struct gcp_attestation {
    struct buf ak, create_attest, quote, sig, log;
    struct tl_pcr_values pcrs; /* the JSON's SHA-1 PCR values, all 24 */
};

/* Loads and decodes the vector; fails the test when it cannot. */
void gcp_load(struct gcp_attestation *g);
void gcp_free(struct gcp_attestation *g);
