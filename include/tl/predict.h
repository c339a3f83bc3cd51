/* Predicting a boot's Secure Boot measurements before it happens: from the
 * variable store a node will get and the boot chain it will load, the PCR 7
 * records (EV_EFI_VARIABLE_DRIVER_CONFIG for SecureBoot, PK, KEK, db, dbx;
 * the separator; EV_EFI_VARIABLE_AUTHORITY for each distinct authority that
 * verified an image, as OVMF and shim 15.x log them) and PCR 7's value, and
 * the Authenticode digests the boot applications add to PCR 4.
 *
 * Order and content follow TCG PC Client PFP 1.05 3.3.4.8 / 10.4.4 and what
 * the real OVMF + shim + grub boot in the vectors logged: OVMF measures the
 * five variables (absent ones with empty data), a separator, then the db
 * entry that verified shim; shim logs its SbatLevel and then the entry that
 * verified grub (the vendor certificate as a MokListRT entry); each
 * authority only once. With Secure Boot off (no PK) no authority is logged,
 * and a kernel grub starts through shim's protocol gets no PCR 4 record. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "tl/digest.h"
#include "tl/pe.h"
#include "tl/secureboot.h"
#include "tl/varstore.h"

#define TL_PREDICT_MAX_EVENTS 16
#define TL_PREDICT_MAX_BANKS  4

struct tl_predicted_event {
    uint32_t pcr;
    uint32_t type;
    char what[64]; /* "SecureBoot", "db", "authority:db for shim", ... */
    uint8_t *data; /* the event data (UEFI_VARIABLE_DATA or separator), malloc'd */
    size_t data_len;
};

struct tl_predicted_app {
    char component[64];
    uint8_t digest[TL_PREDICT_MAX_BANKS][TL_DIGEST_MAX];
};

struct tl_prediction {
    unsigned n_banks;
    uint16_t algs[TL_PREDICT_MAX_BANKS];
    struct tl_predicted_event events[TL_PREDICT_MAX_EVENTS]; /* PCR 7, in order */
    size_t n_events;
    uint8_t pcr7[TL_PREDICT_MAX_BANKS][TL_DIGEST_MAX];
    struct tl_predicted_app apps[8]; /* PCR 4, load order */
    size_t n_apps;
};

/* Predicts for a chain that the store's keys allow (verdicts from
 * tl_secureboot_check_chain on the same store and chain: they say which
 * entry allowed each image). -EINVAL when an image is denied: a chain that
 * does not boot has no prediction. */
int tl_predict(const struct tl_varstore *vs, const struct tl_pe *const *chain,
               const struct tl_sb_verdict *verdicts, size_t n, const uint16_t *algs, size_t n_algs,
               struct tl_hasher *h, struct tl_prediction *out, struct tl_error *err);
void tl_prediction_done(struct tl_prediction *p);
