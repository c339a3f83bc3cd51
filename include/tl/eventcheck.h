/* Integrity checks of event log records (PFP 1.05 rev 23, 10.4.1 and the
 * per-type rules of 3.3.4 / 8.2).
 *
 * Replay proves that the digests of a log add up to the quoted PCRs; it says
 * nothing about the data next to each digest, nor about a record's type and
 * PCR (neither is covered by the digest). These checks bind what can be
 * bound: for types whose digest must be the hash of their own data they
 * verify it in every bank; they reject types we do not know, types in a PCR
 * the PFP does not put them in, records missing a bank, EV_NO_ACTION records
 * with non-zero digests and data that does not parse. Records whose digest is
 * of something outside the log (an image, a firmware volume) are "opaque":
 * only replay binds them. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "tl/digest.h"
#include "tl/eventlog.h"

enum tl_record_status {
    TL_RECORD_VERIFIED = 0,     /* every bank's digest is the hash of the data */
    TL_RECORD_OPAQUE = 1,       /* digest covers data that is not in the log */
    TL_RECORD_NOT_EXTENDED = 2, /* EV_NO_ACTION: informational, not in any PCR */
    TL_RECORD_FAILED = 3,       /* see the findings */
};

struct tl_record_finding {
    uint32_t event; /* index of the record */
    uint32_t pcr;
    uint32_t type;
    uint32_t offset;
    char reason[320];
};

struct tl_eventlog_checks {
    uint8_t *status; /* one tl_record_status per event, malloc'd */
    struct tl_record_finding *findings;
    size_t n_findings;
};

/* Checks every record. Returns 0 (findings may be present), or -ENOMEM.
 * h may be NULL. */
int tl_eventlog_check(const struct tl_eventlog *log, struct tl_hasher *h,
                      struct tl_eventlog_checks *out, struct tl_error *err);
/* As tl_eventlog_check, but a record's digests are recomputed from its
 * data only in the banks whose algorithm is one of algs[0..n_algs): a
 * verifier's quoted banks, the only ones the quote binds (a record whose
 * unquoted digests disagree with its data extends nothing the verdict
 * reads). Every other check still covers every bank: each record carries
 * a digest for every bank the header declares, EV_NO_ACTION digests are
 * zero (the parser has checked every digest's algorithm and size).
 * TL_RECORD_VERIFIED then means "in the selected banks"; a log holding
 * none of them has nothing hashed (a verifier finds the missing quoted
 * bank in the replay). algs NULL: every bank. */
int tl_eventlog_check_banks(const struct tl_eventlog *log, struct tl_hasher *h,
                            const uint16_t *algs, size_t n_algs, struct tl_eventlog_checks *out,
                            struct tl_error *err);
void tl_eventlog_checks_done(struct tl_eventlog_checks *c);
const char *tl_record_status_name(enum tl_record_status s);
