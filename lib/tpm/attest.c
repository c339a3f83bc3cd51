/* A quote and its event log, verified together (see attest.h).
 *
 * The order matters: the log's replay is compared with PCR values only
 * once the quote's signature and pcrDigest have proven those values; a
 * log compared with unproven values proves nothing. When the caller has
 * no PCR values, the replay itself (every PCR the log never extends at its
 * reset value) is what the pcrDigest must match.
 *
 * Invariants: the caller's log buffer is only read; everything allocated
 * here but the verdict's unbound list is freed before return. */
#include "tl/attest.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl/eventcheck.h"
#include "tl/eventlog.h"
#include "tl/replay.h"
#include "tl/util.h"

#define MAX_MISMATCHES 32

__attribute__((format(printf, 3, 4))) static void add_reason(struct tl_attest_verdict *v, int code,
                                                             const char *fmt, ...)
{
    v->n_reasons_total++;
    if (v->n_reasons >= TL_ATTEST_MAX_REASONS)
        return;
    struct tl_quote_reason *r = &v->reasons[v->n_reasons++];
    r->part = TL_QUOTE_PART_EVENTLOG;
    r->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof(r->message), fmt, ap);
    va_end(ap);
}

/* The types tl_eventlog_check (lib/tcg/eventcheck.c, check_maybe_self)
 * calls opaque when no digest is the hash of their data. */
static bool digest_normally_of_data(uint32_t type)
{
    switch (type) {
    case TL_EV_EVENT_TAG:
    case TL_EV_COMPACT_HASH:
    case TL_EV_PLATFORM_CONFIG_FLAGS:
    case TL_EV_TABLE_OF_DEVICES:
    case TL_EV_NONHOST_CONFIG:
    case TL_EV_NONHOST_INFO:
    case TL_EV_EFI_SPDM_DEVICE_POLICY:
    case TL_EV_EFI_SPDM_DEVICE_AUTHORITY:
        return true;
    default:
        return false;
    }
}

static const char *type_name(uint32_t type)
{
    const char *n = tl_event_type_name(type);
    return n ? n : "unknown type";
}

static void mismatch_reason(struct tl_attest_verdict *v, const struct tl_pcr_mismatch *m)
{
    const char *bank = tl_alg_name(m->alg) ?: "?";
    if (m->pcr < 0) {
        add_reason(v, -EBADMSG, "eventlog: has no %s bank, the quote's (a downgrade)", bank);
        return;
    }
    size_t n = tl_alg_digest_size(m->alg);
    char got[2 * TL_DIGEST_MAX + 1], want[2 * TL_DIGEST_MAX + 1];
    tl_hex_encode(m->replayed, n, got);
    tl_hex_encode(m->expected, n, want);
    add_reason(v, -EBADMSG, "eventlog: %s PCR %d: the log replays to %s%s, the quote has %s", bank,
               m->pcr, got, m->uncovered ? " (never extended)" : "", want);
}

/* Records whose data no digest binds, and records in PCRs not quoted. */
static int collect_unbound(struct tl_attest_verdict *v, const struct tl_eventlog *log,
                           const struct tl_eventlog_checks *checks)
{
    size_t n = 0;
    for (size_t i = 0; i < log->n_events; i++) {
        const struct tl_event *ev = &log->events[i];
        bool unquoted = ev->type != TL_EV_NO_ACTION && ev->pcr < TL_PCR_COUNT &&
                        (v->not_quoted & (1u << ev->pcr));
        if (checks->status[i] == TL_RECORD_OPAQUE || checks->status[i] == TL_RECORD_NOT_EXTENDED ||
            unquoted)
            n++;
    }
    if (n == 0)
        return 0;
    v->unbound = calloc(n, sizeof(*v->unbound));
    if (!v->unbound)
        return -ENOMEM;
    for (size_t i = 0; i < log->n_events; i++) {
        const struct tl_event *ev = &log->events[i];
        bool unquoted = ev->type != TL_EV_NO_ACTION && ev->pcr < TL_PCR_COUNT &&
                        (v->not_quoted & (1u << ev->pcr));
        if (checks->status[i] != TL_RECORD_OPAQUE && checks->status[i] != TL_RECORD_NOT_EXTENDED &&
            !unquoted)
            continue;
        v->unbound[v->n_unbound++] = (struct tl_attest_unbound){.event = ev->index,
                                                                .pcr = ev->pcr,
                                                                .type = ev->type,
                                                                .data_offset = ev->data_offset,
                                                                .data_size = ev->data_size,
                                                                .not_quoted = unquoted};
    }
    return 0;
}

/* The replay compared with the quoted values (proven by the quote). */
static int compare(struct tl_attest_verdict *v, const struct tl_pcr_values *replay,
                   const struct tl_pcr_values *pcrs)
{
    const struct tl_quote *q = &v->quote.quote;
    struct tl_pcr_values *quoted = malloc(sizeof(*quoted));
    struct tl_pcr_mismatch *mm = calloc(MAX_MISMATCHES, sizeof(*mm));
    struct tl_error e = {0};
    int r = 0;
    if (!quoted || !mm) {
        r = -ENOMEM;
        goto out;
    }
    r = tl_quote_selected_values(q, pcrs, quoted, &e);
    if (r < 0) { /* cannot happen once the digest matched; fail closed */
        add_reason(v, r, "eventlog: %s", e.message);
        r = 0;
        goto out;
    }
    uint32_t not_covered = 0;
    size_t n = tl_replay_compare(replay, quoted, mm, MAX_MISMATCHES, &not_covered);
    for (size_t i = 0; i < n && i < MAX_MISMATCHES; i++)
        mismatch_reason(v, &mm[i]);
    if (n > MAX_MISMATCHES)
        v->n_reasons_total += n - MAX_MISMATCHES;
    v->not_covered = not_covered;
    for (unsigned b = 0; b < quoted->n_banks; b++) {
        const struct tl_pcr_bank *got = tl_pcr_values_bank_const(replay, quoted->banks[b].alg);
        if (got && !got->unsupported)
            v->compared |= quoted->banks[b].mask & (got->mask | TL_PCR_FIRMWARE_MASK);
    }
    /* PCRs the log extends, in banks the quote covers, that it does not
     * select; a log whose banks the quote never names is all unquoted. */
    uint32_t extended = 0, selected = 0;
    for (unsigned b = 0; b < replay->n_banks; b++) {
        uint32_t m = tl_quote_pcr_mask(q, replay->banks[b].alg);
        extended |= replay->banks[b].mask;
        selected |= m;
    }
    v->not_quoted = extended & ~selected;
out:
    free(quoted);
    free(mm);
    return r;
}

int tl_attest_verify(const struct tl_quote_evidence *ev, const uint8_t *log, size_t log_len,
                     const struct tl_quote_expect *expect, struct tl_attest_verdict *v)
{
    *v = (struct tl_attest_verdict){.log_given = log != NULL};
    struct tl_quote_expect ex = *expect;
    struct tl_eventlog el = {0};
    struct tl_eventlog_checks checks = {0};
    struct tl_pcr_values *replay = NULL, *from_log = NULL;
    struct tl_hasher *h = NULL;
    struct tl_error e = {0};
    int r = 0;

    if (log) {
        h = tl_hasher_new();
        replay = calloc(1, sizeof(*replay));
        if (!h || !replay) {
            r = -ENOMEM;
            goto out;
        }
        r = tl_eventlog_parse(log, log_len, &el, &e);
        if (r == -ENOMEM)
            goto out;
        if (r < 0) {
            if (e.has_offset)
                add_reason(v, r, "eventlog: %s (offset %zu)", e.message, e.offset);
            else
                add_reason(v, r, "eventlog: %s", e.message);
            r = 0;
        } else {
            v->log_parsed = true;
            v->n_events = el.n_events;
            r = tl_eventlog_check(&el, h, &checks, &e);
            if (r >= 0)
                r = tl_replay(&el, h, replay, &e);
            if (r == -ENOMEM)
                goto out;
            if (r < 0) {
                add_reason(v, r, "eventlog: %s", e.message);
                v->log_parsed = false;
                r = 0;
            }
        }
        if (v->log_parsed && !expect->pcrs) {
            from_log = malloc(sizeof(*from_log));
            if (!from_log) {
                r = -ENOMEM;
                goto out;
            }
            *from_log = *replay;
            for (unsigned b = 0; b < from_log->n_banks; b++)
                if (!from_log->banks[b].unsupported)
                    from_log->banks[b].mask = (1u << TL_PCR_COUNT) - 1;
            ex.pcrs = from_log;
            v->pcrs_from_log = true;
        }
    }

    r = tl_quote_verify(ev, &ex, &v->quote);
    if (r < 0)
        goto out;

    if (v->log_parsed) {
        for (size_t i = 0; i < checks.n_findings; i++) {
            const struct tl_record_finding *f = &checks.findings[i];
            add_reason(v, -EBADMSG, "eventlog: event %u (PCR %u, %s, offset %u): %s", f->event,
                       f->pcr, type_name(f->type), f->offset, f->reason);
        }
        for (size_t i = 0; i < el.n_events && !(expect->flags & TL_ATTEST_ALLOW_UNBOUND_DATA);
             i++) {
            const struct tl_event *e2 = &el.events[i];
            if (checks.status[i] == TL_RECORD_OPAQUE && digest_normally_of_data(e2->type))
                add_reason(v, -EBADMSG,
                           "eventlog: event %u (PCR %u, %s, offset %u): no digest is the hash of "
                           "its data, so its data is unverified (allow with "
                           "TL_ATTEST_ALLOW_UNBOUND_DATA when the platform measures something "
                           "else)",
                           e2->index, e2->pcr, type_name(e2->type), e2->offset);
        }
        if (v->quote.pcrs_ok) {
            r = compare(v, replay, ex.pcrs);
            if (r < 0)
                goto out;
        } else if (v->pcrs_from_log && v->quote.pcrs_checked) {
            add_reason(v, -EBADMSG,
                       "eventlog: its replay does not give the quote's pcrDigest (the log is "
                       "not the one the quoted PCRs measured)");
        } else {
            add_reason(v, -EBADMSG,
                       "eventlog: not compared: the quote did not prove any PCR values");
        }
        r = collect_unbound(v, &el, &checks);
        if (r < 0)
            goto out;
    }
    v->log_ok = v->log_given && v->log_parsed && v->n_reasons_total == 0;
    v->pass = v->quote.pass && (!v->log_given || v->log_ok);

out:
    tl_eventlog_checks_done(&checks);
    tl_eventlog_done(&el);
    tl_hasher_free(h);
    free(replay);
    free(from_log);
    if (r < 0) {
        tl_attest_verdict_done(v);
        return r;
    }
    return 0;
}

void tl_attest_verdict_done(struct tl_attest_verdict *v)
{
    free(v->unbound);
    v->unbound = NULL;
    v->n_unbound = 0;
}
