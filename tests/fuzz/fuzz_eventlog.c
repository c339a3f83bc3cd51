/* libFuzzer target: a TCG event log through everything `tl eventlog` does
 * with one: parse, record checks, replay, boot state, and the JSON that
 * show / replay / state print (src/tl/eventlog_json.c, linked in, so the
 * CLI's own decoding of record data is fuzzed too).
 *
 * The input is the log, byte for byte, in a buffer of exactly its size, so
 * AddressSanitizer sees any read past the end. Nothing may crash, leak or
 * trip UBSan; any error return is fine. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "eventlog_cmd.h"
#include "tl/bootstate.h"
#include "tl/digest.h"
#include "tl/eventcheck.h"
#include "tl/eventlog.h"
#include "tl/replay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tl_hasher *hasher; /* fetched once: EVP_MD_fetch is slow */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct analysis a = {.file = "fuzz", .buf = (uint8_t *)data, .len = size};
    struct tl_error err = {0};

    if (!hasher)
        hasher = tl_hasher_new();
    if (tl_eventlog_parse(data, size, &a.log, &err) < 0)
        return 0;
    if (tl_eventlog_check(&a.log, hasher, &a.checks, &err) < 0)
        goto done_log;
    if (tl_replay(&a.log, hasher, &a.pcrs, &err) < 0)
        goto done_checks;
    if (tl_boot_state_extract(&a.log, &a.checks, &a.state, &err) < 0)
        goto done_checks;
    a.have_state = true;

    /* Compare the replay with itself: no mismatch is possible. */
    struct tl_pcr_mismatch mm[8];
    uint32_t not_covered = 0;
    if (tl_replay_compare(&a.pcrs, &a.pcrs, mm, 8, &not_covered) != 0)
        __builtin_trap();

    json_decref(eventlog_json_show(&a));
    json_decref(eventlog_json_state(&a));
    json_decref(eventlog_json_replay(&a));

    tl_boot_state_done(&a.state);
done_checks:
    tl_eventlog_checks_done(&a.checks);
done_log:
    tl_eventlog_done(&a.log);
    return 0;
}
