/* A TDX guest's CC event log: the CCEL ACPI table (ACPI 6.5, 5.2.34
 * "Confidential Computing Event Log Table") that says where the log area
 * is and how large, and the log itself (UEFI 2.10, 38.4: TCG crypto-agile
 * records whose index is the CC MR: 1..4 = RTMR0..3), replayed with the
 * event log engine (eventlog.c, eventcheck.c, replay.c) and compared with
 * the RTMRs of a TD quote. Pure: bytes in, results out. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tl/error.h"
#include "tl/eventlog.h"
#include "tl/tdx.h"
#include "tl/tee.h"

#define TL_CCEL_TABLE_SIZE  56
#define TL_CCEL_CC_TYPE_TDX 2

struct tl_ccel_table {
    uint8_t revision;
    char oem_id[7];
    char oem_table_id[9];
    uint8_t cc_type; /* 2: Intel TDX */
    uint8_t cc_subtype;
    uint64_t laml; /* log area minimum length */
    uint64_t lasa; /* log area start address */
};

/* Parses the table: signature "CCEL", length 56, checksum, CC type TDX.
 * -EBADMSG / -EPROTONOSUPPORT. */
int tl_ccel_table_parse(const uint8_t *buf, size_t len, struct tl_ccel_table *t,
                        struct tl_error *err);

/* The RTMR values a log replays to. */
struct tl_ccel_replay {
    uint8_t rtmr[4][48];
    uint8_t extended; /* bit i: the log extends RTMR i */
};

/* Parses a CC log (tl_eventlog_parse_cc), requires a SHA-384 bank and MR
 * indexes 1..4 on every extending record (MR 0, MRTD, is not extended by
 * a log), and replays it. */
int tl_ccel_replay(const uint8_t *buf, size_t len, struct tl_eventlog *log,
                   struct tl_ccel_replay *out, struct tl_error *err);

struct tl_ccel_result {
    size_t n_events;
    struct tl_ccel_replay replay;
    uint8_t mismatched;       /* bit i: RTMR i differs from the quote's */
    size_t n_record_findings; /* records whose data does not give their digest, ... */
    long first_finding_event; /* index of the first such record, or -1 */
};

/* Checks a log (and, when table is not NULL, its CCEL table: the log must
 * fit the table's LAML) against the RTMRs of a TD report: every record
 * checked (eventcheck.c: a record whose data does not hash to its digest
 * is named), the replay compared RTMR by RTMR. Each finding is a
 * "measurement" reason in v naming the RTMR or the record. Returns 0, or
 * -EBADMSG for a table or log that does not parse (err says where),
 * -ENOMEM. */
int tl_ccel_verify(const uint8_t *table, size_t table_len, const uint8_t *log, size_t log_len,
                   const struct tl_tdx_td_report *td, struct tl_tee_verdict *v,
                   struct tl_ccel_result *out, struct tl_error *err);
