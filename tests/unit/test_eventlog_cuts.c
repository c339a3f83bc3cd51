/* `tl eventlog state` on real logs cut short, in-process: the exhaustive
 * form of tests/cli/eventlog_badinput.sh (a), which runs the CLI on a stride
 * of the same cuts (an ASan process per cut made every offset cost six
 * minutes of CI).
 *
 * The verb reads a file and runs libtl's pipeline on it (src/tl's
 * analysis_run: tl_eventlog_parse, tl_eventlog_check, tl_replay,
 * tl_boot_state_extract); any error is exit 2 with the line
 * "tl: FILE: WHAT (offset N)", where WHAT is the error's message. So, for
 * the sd-boot Fedora 37 log cut at every offset 1..len-1 and the OVMF log at
 * every 97th, as the script classifies them from the whole log's record
 * offsets:
 *  - a cut that leaves whole records, then only zero bytes: a valid shorter
 *    log (the pipeline succeeds), and the zero bytes are reported as
 *    trailing_zero_bytes (what show --json prints);
 *  - any other cut: an error that carries an offset, with a one-line,
 *    non-empty message.
 * tests/unit/test_eventlog.c cuts every vector at every offset for the
 * parser alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <stdlib.h>
#include <string.h>

#include "tl/bootstate.h"
#include "tl/digest.h"
#include "tl/eventcheck.h"
#include "tl/eventlog.h"
#include "tl/replay.h"
#include "vectors.h"

#define FEDORA "eventlog/tpm2-tools/event-sd-boot-fedora37.bin"
#define OVMF   "eventlog/ovmf-debian12/secureboot-on.eventlog.bin"

/* The state verb's pipeline on buf; *trailing gets the parsed log's
 * trailing_zero_bytes. 0 or the first error. */
static int state_pipeline(const uint8_t *buf, size_t len, struct tl_hasher *h, size_t *trailing,
                          struct tl_error *err)
{
    struct tl_eventlog log = {0};
    struct tl_eventlog_checks checks = {0};
    struct tl_pcr_values pcrs;
    struct tl_boot_state bs;
    int r = tl_eventlog_parse(buf, len, &log, err);
    if (r >= 0)
        r = tl_eventlog_check(&log, h, &checks, err);
    if (r >= 0)
        r = tl_replay(&log, h, &pcrs, err);
    if (r >= 0 && (r = tl_boot_state_extract(&log, &checks, &bs, err)) >= 0)
        tl_boot_state_done(&bs);
    *trailing = log.trailing_zero_bytes;
    tl_eventlog_checks_done(&checks);
    tl_eventlog_done(&log);
    return r;
}

/* Cuts the log at step, 2*step, ... < len; returns the number of valid
 * cuts. */
static size_t check_cuts(const char *path, size_t step)
{
    size_t len;
    uint8_t *buf = vector_read(path, &len);
    struct tl_hasher *h = tl_hasher_new();
    assert_non_null(h);
    struct tl_eventlog full;
    assert_int_equal(tl_eventlog_parse(buf, len, &full, NULL), 0);
    size_t n_valid = 0, n_cuts = 0, n_padded = 0;
    for (size_t cut = step; cut < len; cut += step) {
        /* The script's classification: the last record boundary at or
         * before the cut (record offsets > 0, and the end), then zeros. */
        size_t b = 0;
        for (size_t k = 0; k < full.n_events; k++)
            if (full.events[k].offset > 0 && full.events[k].offset <= cut)
                b = full.events[k].offset;
        bool valid = b > 0;
        for (size_t k = b; valid && k < cut; k++)
            valid = buf[k] == 0;
        uint8_t *t = dup_exact(buf, cut);
        struct tl_error err = {0};
        size_t trailing = 0;
        int r = state_pipeline(t, cut, h, &trailing, &err);
        if (valid) {
            if (r < 0)
                fail_msg("%s cut at %zu: whole records, but error %d: %s", path, cut, r,
                         err.message);
            if (trailing != cut - b)
                fail_msg("%s cut at %zu: trailing_zero_bytes %zu, want %zu", path, cut, trailing,
                         cut - b);
            n_valid++;
            n_padded += cut > b;
        } else {
            if (r >= 0)
                fail_msg("%s cut at %zu: accepted, want an error", path, cut);
            if (!err.has_offset || err.message[0] == '\0' || strchr(err.message, '\n'))
                fail_msg("%s cut at %zu: error not one line with an offset: \"%s\"%s", path, cut,
                         err.message, err.has_offset ? "" : " (no offset)");
        }
        free(t);
        n_cuts++;
    }
    print_message("%s: %zu cuts, %zu on record boundaries (%zu of them + zero padding), %zu "
                  "records\n",
                  path, n_cuts, n_valid, n_padded, full.n_events);
    assert_int_equal(n_cuts, (len - 1) / step);
    tl_eventlog_done(&full);
    tl_hasher_free(h);
    free(buf);
    return n_valid;
}

static void test_fedora_every_offset(void **state)
{
    (void)state;
    /* Every record boundary but the header's (28 records) is a valid cut. */
    assert_true(check_cuts(FEDORA, 1) >= 28 - 1);
}

static void test_ovmf_every_97th_offset(void **state)
{
    (void)state;
    check_cuts(OVMF, 97);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fedora_every_offset),
        cmocka_unit_test(test_ovmf_every_97th_offset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
