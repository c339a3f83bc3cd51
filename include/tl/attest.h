/* A TPM attestation as a verifier receives it: a quote (AK public area,
 * TPMS_ATTEST, signature) and the event log that explains the quoted PCRs.
 * One call, one verdict with every reason.
 *
 * Pure: bytes in, results out; the log is parsed, checked and replayed by
 * libtl's event log pipeline (eventlog.h, eventcheck.h, replay.h), the
 * quote by quote.h.
 *
 * API
 *   int  tl_attest_verify(&quote_evidence, log, log_len, &expect, &verdict)
 *   void tl_attest_verdict_done(&verdict)
 *
 * What it checks, in order:
 *  1. the quote (tl_quote_verify): AK, magic/type, signature, nonce, and
 *     the pcrDigest over the PCR values: expect->pcrs when given, else the
 *     log's replay with every PCR the log never extends at its reset value
 *     (so a log alone can explain a quote of all 24 PCRs);
 *  2. the log parses and its records pass tl_eventlog_check (a record whose
 *     data does not match its digest, a type in a PCR the PFP does not
 *     allow, ...: each finding is a reason); and, unless the flags have
 *     TL_ATTEST_ALLOW_UNBOUND_DATA, no record of a type whose digest is
 *     normally the hash of its data (EV_EVENT_TAG, EV_COMPACT_HASH,
 *     EV_PLATFORM_CONFIG_FLAGS, EV_TABLE_OF_DEVICES, EV_NONHOST_CONFIG,
 *     EV_NONHOST_INFO, EV_EFI_SPDM_DEVICE_POLICY/AUTHORITY) has a digest
 *     that is not: tl_eventlog_check calls such a record opaque, because a
 *     platform may measure something else (systemd-stub's EV_EVENT_TAG of
 *     the kernel command line hashes the command line, not the tagged
 *     event), but it is also exactly what an altered Windows log looks
 *     like, so a verifier fails closed unless told that its platforms do
 *     this;
 *  3. its replay equals the quoted values, bank by quoted bank
 *     (tl_replay_compare: a quoted bank the log lacks is a downgrade; PCR
 *     0-7 are always compared), once step 1 has proven those values.
 * What it cannot check is reported, not passed over silently: the records
 * whose data no digest covers (*unbound*: opaque records, whose digest is
 * of an image or a blob outside the log, and EV_NO_ACTION records), the
 * quoted PCRs the log never extends (not_covered) and the PCRs the log
 * extends that the quote does not select (not_quoted). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tl/quote.h"

#define TL_ATTEST_MAX_REASONS 16

/* A record whose data is not bound by any digest. */
struct tl_attest_unbound {
    uint32_t event; /* index in the log */
    uint32_t pcr;
    uint32_t type;
    uint32_t data_offset; /* in the log */
    uint32_t data_size;
    bool not_quoted; /* extended into a PCR the quote does not cover */
};

struct tl_attest_verdict {
    bool pass; /* the quote passes and, when a log was given, the log too */
    struct tl_quote_verdict quote;

    bool log_given, log_parsed, log_ok;
    bool pcrs_from_log; /* the digest was checked against the log's replay */
    size_t n_events;
    uint32_t compared;      /* PCRs whose replay was compared (any bank) */
    uint32_t not_covered;   /* quoted PCRs the log never extends */
    uint32_t not_quoted;    /* PCRs the log extends that the quote does not select */
    unsigned n_reasons;     /* the log's reasons (the quote's are in quote) */
    size_t n_reasons_total; /* including those beyond TL_ATTEST_MAX_REASONS */
    struct tl_quote_reason reasons[TL_ATTEST_MAX_REASONS];
    struct tl_attest_unbound *unbound; /* malloc'd */
    size_t n_unbound;
};

/* log may be NULL (no log: the quote alone). Returns 0 whatever the
 * verdict, -ENOMEM when it could not run. Free with
 * tl_attest_verdict_done. */
int tl_attest_verify(const struct tl_quote_evidence *ev, const uint8_t *log, size_t log_len,
                     const struct tl_quote_expect *expect, struct tl_attest_verdict *out);
void tl_attest_verdict_done(struct tl_attest_verdict *v);
