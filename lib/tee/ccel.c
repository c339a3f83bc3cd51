/* The CCEL ACPI table and the CC event log of a TDX guest (ACPI 6.5,
 * 5.2.34; UEFI 2.10, 38.4; Intel TDX Virtual Firmware Design Guide, 4.3
 * "Measurement": MR index 1..4 are RTMR0..3, extended with SHA-384).
 *
 * The log is parsed, checked and replayed by the TPM event log engine:
 * one walker, and the CC-specific parts are only the MR index mapping and
 * the table. An RTMR is 48 zero bytes at TD start and each record extends
 * it as RTMR = SHA-384(RTMR || digest), which is a TPM PCR extend; the
 * replay's PCR slot i + 1 is RTMR i. */
#include "tl/ccel.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl/eventcheck.h"
#include "tl/replay.h"
#include "tl/util.h"

int tl_ccel_table_parse(const uint8_t *buf, size_t len, struct tl_ccel_table *t,
                        struct tl_error *err)
{
    *t = (struct tl_ccel_table){0};
    if (len < TL_CCEL_TABLE_SIZE)
        return tl_error_set(err, -EBADMSG, 0, "CCEL table: %zu bytes, needs %d", len,
                            TL_CCEL_TABLE_SIZE);
    if (memcmp(buf, "CCEL", 4) != 0)
        return tl_error_set(err, -EBADMSG, 0, "CCEL table: signature is not \"CCEL\"");
    uint32_t length = tl_le32(buf + 4);
    if (length != TL_CCEL_TABLE_SIZE || len != length)
        return tl_error_set(err, -EBADMSG, 4, "CCEL table: length %u in %zu bytes, must be %d",
                            length, len, TL_CCEL_TABLE_SIZE);
    uint8_t sum = 0;
    for (size_t i = 0; i < length; i++)
        sum = (uint8_t)(sum + buf[i]);
    if (sum != 0)
        return tl_error_set(err, -EBADMSG, 9, "CCEL table: checksum does not add up to 0");
    t->revision = buf[8];
    memcpy(t->oem_id, buf + 10, 6);
    memcpy(t->oem_table_id, buf + 16, 8);
    t->cc_type = buf[36];
    t->cc_subtype = buf[37];
    t->laml = tl_le64(buf + 40);
    t->lasa = tl_le64(buf + 48);
    if (t->cc_type != TL_CCEL_CC_TYPE_TDX)
        return tl_error_set(err, -EPROTONOSUPPORT, 36, "CCEL table: CC type %u is not TDX (2)",
                            t->cc_type);
    return 0;
}

int tl_ccel_replay(const uint8_t *buf, size_t len, struct tl_eventlog *log,
                   struct tl_ccel_replay *out, struct tl_error *err)
{
    *out = (struct tl_ccel_replay){0};
    int r = tl_eventlog_parse_cc(buf, len, log, err);
    if (r < 0)
        return r;
    int bank = tl_eventlog_bank_index(log, TL_ALG_SHA384);
    if (bank < 0) {
        tl_eventlog_done(log);
        return tl_error_set(err, -EBADMSG, 0, "CC event log: no SHA-384 digests");
    }
    for (size_t i = 1; i < log->n_events; i++) {
        const struct tl_event *ev = &log->events[i];
        if (ev->type != TL_EV_NO_ACTION && (ev->pcr < 1 || ev->pcr > 4)) {
            r = tl_error_set(err, -EBADMSG, ev->offset,
                             "event %u: MR index %u, a log extends only RTMR0-3 (1..4)", ev->index,
                             ev->pcr);
            tl_eventlog_done(log);
            return r;
        }
    }
    struct tl_pcr_values *values = calloc(1, sizeof(*values));
    if (!values) {
        tl_eventlog_done(log);
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    }
    r = tl_replay(log, NULL, values, err);
    if (r >= 0) {
        const struct tl_pcr_bank *b = tl_pcr_values_bank_const(values, TL_ALG_SHA384);
        for (int i = 0; i < 4; i++) {
            memcpy(out->rtmr[i], b->value[i + 1], 48);
            if (b->mask & (1u << (i + 1)))
                out->extended |= (uint8_t)(1u << i);
        }
    } else {
        tl_eventlog_done(log);
    }
    free(values);
    return r;
}

static const char *type_label(uint32_t type)
{
    const char *n = tl_event_type_name(type);
    return n ? n : "unknown type";
}

static int ccel_verify(const uint8_t *table, size_t table_len, const uint8_t *log_buf,
                       size_t log_len, const struct tl_tdx_td_report *td, struct tl_tee_verdict *v,
                       struct tl_ccel_result *out, struct tl_error *err)
{
    struct tl_eventlog log;
    struct tl_eventlog_checks checks = {0};
    *out = (struct tl_ccel_result){.first_finding_event = -1};
    int r;

    if (table) {
        struct tl_ccel_table t;
        r = tl_ccel_table_parse(table, table_len, &t, err);
        if (r < 0)
            return r;
        if (log_len > t.laml)
            return tl_error_set_nopos(err, -EBADMSG,
                                      "CC event log of %zu bytes is larger than the table's log "
                                      "area (%llu)",
                                      log_len, (unsigned long long)t.laml);
    }
    r = tl_ccel_replay(log_buf, log_len, &log, &out->replay, err);
    if (r < 0)
        return r;
    out->n_events = log.n_events;

    r = tl_eventlog_check(&log, NULL, &checks, err);
    if (r < 0)
        goto done;
    out->n_record_findings = checks.n_findings;
    for (size_t i = 0; i < checks.n_findings; i++) {
        const struct tl_record_finding *f = &checks.findings[i];
        if (out->first_finding_event < 0)
            out->first_finding_event = f->event;
        tl_tee_fail(v, TL_TEE_MEASUREMENT, "CC event log record %u (%s, RTMR%d, offset %u): %s",
                    f->event, type_label(f->type), (int)f->pcr - 1, f->offset, f->reason);
    }
    for (int i = 0; i < 4; i++) {
        if (memcmp(out->replay.rtmr[i], td->rtmr[i], 48) == 0)
            continue;
        char got[97], want[97];
        tl_hex_encode(out->replay.rtmr[i], 48, got);
        tl_hex_encode(td->rtmr[i], 48, want);
        out->mismatched |= (uint8_t)(1u << i);
        tl_tee_fail(v, TL_TEE_MEASUREMENT,
                    "RTMR%d: the CC event log replays to %.16s..., the "
                    "quote holds %.16s...",
                    i, got, want);
    }
    r = 0;
done:
    tl_eventlog_checks_done(&checks);
    tl_eventlog_done(&log);
    return r;
}

int tl_ccel_verify(const uint8_t *table, size_t table_len, const uint8_t *log_buf, size_t log_len,
                   const struct tl_tdx_td_report *td, struct tl_tee_verdict *v,
                   struct tl_ccel_result *out, struct tl_error *err)
{
    struct tl_error local = {0};
    if (!err)
        err = &local;
    int r = ccel_verify(table, table_len, log_buf, log_len, td, v, out, err);
    /* A log that cannot be read explains no RTMR: the verdict fails. */
    if (r < 0)
        tl_tee_fail(v, TL_TEE_MALFORMED, "CC event log: %s", err->message);
    return r;
}
