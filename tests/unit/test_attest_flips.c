/* `tl attest verify`'s verdict on the GCP Shielded VM attestation with
 * single bytes changed, in-process: the exhaustive form of
 * tests/cli/attest_cli.sh part 2, which runs the CLI on a stride of the same
 * flips (an ASan process per flip made the whole set cost six minutes of CI).
 *
 * The evidence is what the script hands `tl attest verify --ak --quote
 * --signature --eventlog --pcrs --nonce '' --allow-sha1`: the AK, quote,
 * signature and raw log of go-attestation's windows_gcp_shielded_vm.json and
 * its 24 SHA-1 PCR values; the check is the verb's, tl_attest_verify. Its
 * exit status is 1 exactly when the verdict is not a pass, and the reasons
 * it prints are the quote's and the log's.
 *
 * What is asserted:
 *  - every quote byte ^0x01 and ^0x80 (202 flips) and every signature byte
 *    ^0x01 (262): a failed verdict with reasons;
 *  - the log bytes (SHA-1 log records: PCR, type, 20-byte digest, size,
 *    data): every record header byte, every 31st data byte and the last data
 *    byte, ^0x01: a failed verdict with reasons, or a pass only where no
 *    digest covers the byte: the data of a record the verdict lists as
 *    unbound (at least one such byte), or a type relabelled; the relabels
 *    that pass are exactly six, each to a type the PFP allows in that PCR
 *    whose digest rule the data still meets (the record's status
 *    "verified"). test_quote.c flips every log byte two ways. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gcp.h"
#include "tl/attest.h"
#include "tl/digest.h"
#include "tl/eventcheck.h"
#include "tl/eventlog.h"
#include "tl/util.h"
#include "vectors.h"

/* The relabels that pass, as attest_cli.sh printed and asserted them
 * (sorted as `sort` sorts them). */
static const char *const expected_relabels[] = {
    "relabel: event 10 (PCR 11) -> EV_IPL, verified",
    "relabel: event 17 (PCR 11) -> EV_IPL, verified",
    "relabel: event 18 (PCR 12) -> EV_ACTION, verified",
    "relabel: event 19 (PCR 13) -> EV_ACTION, verified",
    "relabel: event 20 (PCR 14) -> EV_ACTION, verified",
    "relabel: event 8 (PCR 5) -> EV_EFI_ACTION, verified",
};

enum part { PART_QUOTE, PART_SIG, PART_LOG };

/* tl attest verify on the evidence with part's byte i xored with x. */
static struct tl_attest_verdict verify_flipped(const struct gcp_attestation *g, enum part part,
                                               size_t i, uint8_t x)
{
    const struct buf *parts[] = {&g->quote, &g->sig, &g->log};
    uint8_t *c = dup_exact(parts[part]->p, parts[part]->len);
    c[i] ^= x;
    const uint8_t *q = part == PART_QUOTE ? c : g->quote.p;
    const uint8_t *s = part == PART_SIG ? c : g->sig.p;
    const uint8_t *l = part == PART_LOG ? c : g->log.p;
    struct tl_quote_evidence ev = {g->ak.p, g->ak.len, q, g->quote.len, s, g->sig.len, NULL};
    struct tl_quote_expect ex = {.check_nonce = true,
                                 .nonce = (const uint8_t *)"",
                                 .nonce_len = 0,
                                 .pcrs = &g->pcrs,
                                 .flags = TL_ATTEST_ALLOW_SHA1};
    struct tl_attest_verdict v;
    assert_int_equal(tl_attest_verify(&ev, l, g->log.len, &ex, &v), 0);
    free(c);
    return v;
}

/* The CLI's exit 1 with reasons: not a pass, and something to print. */
static bool failed_with_reasons(const struct tl_attest_verdict *v)
{
    return !v->pass && v->quote.n_reasons + v->n_reasons > 0;
}

static void test_quote_and_signature_flips(void **state)
{
    const struct gcp_attestation *g = *state;
    static const struct {
        enum part part;
        const char *name;
        uint8_t xors[2];
        size_t n_xors, want;
    } sets[] = {
        {PART_QUOTE, "quote", {0x01, 0x80}, 2, 202},
        {PART_SIG, "signature", {0x01}, 1, 262},
    };
    for (size_t k = 0; k < TL_ARRAY_SIZE(sets); k++) {
        size_t len = sets[k].part == PART_QUOTE ? g->quote.len : g->sig.len, n = 0;
        for (size_t i = 0; i < len; i++) {
            for (size_t x = 0; x < sets[k].n_xors; x++) {
                struct tl_attest_verdict v = verify_flipped(g, sets[k].part, i, sets[k].xors[x]);
                if (!failed_with_reasons(&v))
                    fail_msg("%s byte %zu ^ %#x: not a failed verdict with reasons", sets[k].name,
                             i, sets[k].xors[x]);
                tl_attest_verdict_done(&v);
                n++;
            }
        }
        assert_int_equal(n, sets[k].want);
    }
}

/* A SHA-1 log's records, walked as the script walks them (header 32 bytes:
 * PCR, type, digest, data size). */
struct record {
    size_t offset, size;
    uint32_t pcr;
};

static size_t records(const struct buf *log, struct record *out, size_t cap)
{
    size_t n = 0;
    for (size_t o = 0; o < log->len; n++) {
        assert_true(n < cap && o + 32 <= log->len);
        out[n] = (struct record){o, tl_le32(log->p + o + 28), tl_le32(log->p + o)};
        o += 32 + out[n].size;
        assert_true(o <= log->len);
    }
    return n;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A relabelled record, as `tl eventlog show` reports it: its new type and
 * its check status. */
static void describe_relabel(const struct buf *log, size_t i, size_t idx, uint32_t pcr, char *out,
                             size_t size)
{
    uint8_t *c = dup_exact(log->p, log->len);
    c[i] ^= 0x01;
    struct tl_eventlog el = {0};
    struct tl_eventlog_checks checks = {0};
    struct tl_error err = {0};
    struct tl_hasher *h = tl_hasher_new();
    assert_non_null(h);
    assert_int_equal(tl_eventlog_parse(c, log->len, &el, &err), 0);
    assert_int_equal(tl_eventlog_check(&el, h, &checks, &err), 0);
    assert_true(idx < el.n_events);
    const char *tn = tl_event_type_name(el.events[idx].type);
    snprintf(out, size, "relabel: event %zu (PCR %u) -> %s, %s", idx, pcr, tn ? tn : "unknown",
             tl_record_status_name(checks.status[idx]));
    tl_eventlog_checks_done(&checks);
    tl_eventlog_done(&el);
    tl_hasher_free(h);
    free(c);
}

static void test_log_flips(void **state)
{
    const struct gcp_attestation *g = *state;
    struct record recs[64];
    size_t n_recs = records(&g->log, recs, TL_ARRAY_SIZE(recs));
    /* The byte set: every header byte, every 31st data byte, the last. */
    bool *in_set = calloc(g->log.len, sizeof(*in_set));
    assert_non_null(in_set);
    for (size_t r = 0; r < n_recs; r++) {
        size_t o = recs[r].offset, size = recs[r].size;
        for (size_t i = o; i < o + 32; i++)
            in_set[i] = true;
        for (size_t i = o + 32; i < o + 32 + size; i += 31)
            in_set[i] = true;
        if (size > 0)
            in_set[o + 32 + size - 1] = true;
    }
    size_t n_flips = 0, failed = 0, unbound = 0, n_relabels = 0, rec = 0;
    char relabels[TL_ARRAY_SIZE(expected_relabels) + 1][128];
    for (size_t i = 0; i < g->log.len; i++) {
        if (!in_set[i])
            continue;
        n_flips++;
        while (rec + 1 < n_recs && recs[rec + 1].offset <= i)
            rec++;
        struct tl_attest_verdict v = verify_flipped(g, PART_LOG, i, 0x01);
        if (failed_with_reasons(&v)) {
            failed++;
        } else {
            bool in_unbound = false;
            for (size_t u = 0; u < v.n_unbound; u++)
                in_unbound =
                    in_unbound || (i >= v.unbound[u].data_offset &&
                                   i < (size_t)v.unbound[u].data_offset + v.unbound[u].data_size);
            if (v.pass && in_unbound) {
                unbound++; /* data no digest covers, and the verdict says so */
            } else if (v.pass && i >= recs[rec].offset + 4 && i < recs[rec].offset + 8) {
                /* A type relabelled: the type is in no digest. */
                if (n_relabels == TL_ARRAY_SIZE(relabels))
                    fail_msg("log byte %zu ^ 0x01: more relabels pass than the %zu expected", i,
                             TL_ARRAY_SIZE(expected_relabels));
                describe_relabel(&g->log, i, rec, recs[rec].pcr, relabels[n_relabels],
                                 sizeof(relabels[0]));
                print_message("%s\n", relabels[n_relabels]);
                n_relabels++;
            } else {
                fail_msg("log byte %zu (record at %zu) ^ 0x01: %s", i, recs[rec].offset,
                         v.pass ? "passed" : "failed without a reason");
            }
        }
        tl_attest_verdict_done(&v);
    }
    print_message("log flips %zu: %zu fail, %zu in unbound data, %zu relabel\n", n_flips, failed,
                  unbound, n_relabels);
    assert_true(unbound > 0);
    assert_int_equal(failed + unbound + n_relabels, n_flips);
    assert_int_equal(n_relabels, TL_ARRAY_SIZE(expected_relabels));
    const char *sorted[TL_ARRAY_SIZE(expected_relabels)];
    for (size_t k = 0; k < n_relabels; k++)
        sorted[k] = relabels[k];
    qsort(sorted, n_relabels, sizeof(sorted[0]), cmp_str);
    for (size_t k = 0; k < n_relabels; k++)
        assert_string_equal(sorted[k], expected_relabels[k]);
    free(in_set);
}

static int setup(void **state)
{
    struct gcp_attestation *g = calloc(1, sizeof(*g));
    assert_non_null(g);
    gcp_load(g);
    /* The unchanged evidence passes: each flip is what makes it fail. */
    struct tl_quote_evidence ev = {g->ak.p,  g->ak.len,  g->quote.p, g->quote.len,
                                   g->sig.p, g->sig.len, NULL};
    struct tl_quote_expect ex = {.check_nonce = true,
                                 .nonce = (const uint8_t *)"",
                                 .pcrs = &g->pcrs,
                                 .flags = TL_ATTEST_ALLOW_SHA1};
    struct tl_attest_verdict v;
    assert_int_equal(tl_attest_verify(&ev, g->log.p, g->log.len, &ex, &v), 0);
    assert_true(v.pass);
    tl_attest_verdict_done(&v);
    *state = g;
    return 0;
}

static int teardown(void **state)
{
    gcp_free(*state);
    free(*state);
    return 0;
}

int main(void)
{
    setenv("TSS2_LOG", "all+none", 0); /* libtss2-mu logs what it refuses */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quote_and_signature_flips),
        cmocka_unit_test(test_log_flips),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
