/* Replaying an event log into PCR values, and comparing PCR values.
 *
 * tl_pcr_values is both what a replay produces and what a quote (or a PCR
 * dump) carries; `mask` says which PCRs of a bank hold a value: for a replay,
 * the PCRs the log extends; for a quote, the PCRs it covers. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tl/digest.h"
#include "tl/error.h"
#include "tl/eventlog.h"

struct tl_pcr_bank {
    uint16_t alg;
    uint16_t size;
    uint32_t mask;    /* bit i: PCR i has a value */
    bool unsupported; /* replay only: the log's algorithm has no hash here */
    uint8_t value[TL_PCR_COUNT][TL_DIGEST_MAX];
};

struct tl_pcr_values {
    unsigned n_banks;
    struct tl_pcr_bank banks[TL_EVENTLOG_MAX_BANKS];
};

/* Replays every bank of the log. PCRs start at their TPM reset values: zero,
 * except PCR 17-22 (all ones, TPM 2.0 Part 1 and PC Client PTP 1.05) and
 * PCR 0, whose last byte is the StartupLocality when the log has one
 * (PFP 10.4.5.3). EV_NO_ACTION records are not extended. A record that lacks
 * a digest for a bank does not extend that bank (the record check reports
 * it). h may be NULL (one is made for the call). */
int tl_replay(const struct tl_eventlog *log, struct tl_hasher *h, struct tl_pcr_values *out,
              struct tl_error *err);
/* Replays only the log's banks whose algorithm is one of algs[0..n_algs)
 * (a verifier's quoted banks: nothing else is compared), in log order;
 * out holds those banks alone. algs NULL: every bank (tl_replay). */
int tl_replay_banks(const struct tl_eventlog *log, struct tl_hasher *h, const uint16_t *algs,
                    size_t n_algs, struct tl_pcr_values *out, struct tl_error *err);

struct tl_pcr_bank *tl_pcr_values_bank(struct tl_pcr_values *v, uint16_t alg);
const struct tl_pcr_bank *tl_pcr_values_bank_const(const struct tl_pcr_values *v, uint16_t alg);

/* One PCR (or a whole bank when pcr < 0) where the log and the quote differ. */
struct tl_pcr_mismatch {
    uint16_t alg;
    int pcr;        /* -1: the log carries no such bank (a downgrade) */
    bool uncovered; /* the log never extends this PCR */
    uint8_t replayed[TL_DIGEST_MAX];
    uint8_t expected[TL_DIGEST_MAX];
};

/* The PCRs a firmware log must account for even when it never extends them:
 * PFP requires a separator in each of PCR 0-7, so a quoted value there that
 * the log cannot explain is a mismatch, not "out of scope". */
#define TL_PCR_FIRMWARE_MASK 0xffu

/* Compares a replay with expected values (a quote's). For every bank of
 * `expected`: a bank the log lacks is one mismatch (pcr -1); for every PCR
 * of the bank that the log extends, or that is in TL_PCR_FIRMWARE_MASK, the
 * values must be equal. PCRs the log never extends outside that mask (PCR 10
 * of IMA, PCR 17-23 of DRTM) are out of the log's scope and are reported in
 * *not_covered (bit per PCR, over all banks) instead.
 * Writes up to max mismatches to out; returns the total number found. */
size_t tl_replay_compare(const struct tl_pcr_values *replayed, const struct tl_pcr_values *expected,
                         struct tl_pcr_mismatch *out, size_t max, uint32_t *not_covered);

/* Parses a set of PCR values from text, in any of these forms:
 *  - "PCR <bank> <index> <hex>" lines (the guest's own dump);
 *  - tpm2_pcrread / tpm2_eventlog YAML ("sha256:" then "  0 : 0x<hex>"
 *    lines, optionally under "pcrs:");
 *  - JSON {"banks": {"sha256": {"0": "<hex>", ...}}} as `tl eventlog replay
 *    --json` prints, or {"sha256": {"0": "<hex>"}}.
 * Blank lines and '#' comments are ignored. A value of the wrong length for
 * its bank, an unknown bank name, an index >= 24 or the same PCR twice is an
 * error naming the line. */
int tl_pcr_values_parse(const char *text, size_t len, struct tl_pcr_values *out,
                        struct tl_error *err);

/* PCR values to and from JSON: {"sha256": {"0": "<hex>", ...}, ...}, the
 * shape tl, tld and the agent exchange (from_json also takes it under
 * "banks"). from_json checks as tl_pcr_values_parse does (the errors say
 * "line 1"); to_json writes lowercase hex, PCRs in order, banks by their
 * name (unsupported banks left out). New references. */
int tl_pcr_values_from_json(const json_t *json, struct tl_pcr_values *out, struct tl_error *err);
json_t *tl_pcr_values_to_json(const struct tl_pcr_values *v);
json_t *tl_pcr_bank_to_json(const struct tl_pcr_bank *b);
