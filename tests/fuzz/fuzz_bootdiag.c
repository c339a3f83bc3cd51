/* libFuzzer target: a serial console capture through lib/node/bootdiag.c
 * (tl_bootdiag_scan). The console is written by the guest, so any bytes
 * must give a bounded, NUL-terminated, printable result.
 *
 * Seeds: the real captures, the .log files of tests/data/console. Run
 * with a new corpus folder first, so libFuzzer writes there and not into
 * the test data:
 *   build-fuzz/tests/fuzz/fuzz_bootdiag CORPUS tests/data/console
 * The input is a buffer of exactly its size, so AddressSanitizer sees any
 * read past the end. The harness checks what the API promises: the
 * strings end within their arrays and hold printable ASCII only, the enums
 * are in range, a result with a verdict has a line, and the line's offset
 * points at the line's first byte in the input; a second scan gives the
 * same result. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tl/bootdiag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_string(const char *s, size_t size)
{
    const char *nul = memchr(s, '\0', size);
    if (!nul)
        __builtin_trap();
    for (const char *p = s; p < nul; p++)
        if (*p < 0x20 || *p > 0x7e)
            __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tl_bootdiag d, again;
    if (tl_bootdiag_scan(data, size, &d) != 0)
        __builtin_trap();
    check_string(d.component, sizeof(d.component));
    check_string(d.line, sizeof(d.line));
    check_string(d.reason, sizeof(d.reason));
    if (d.verdict > TL_BOOTDIAG_AGENT_FAILED || d.phase > TL_BOOTDIAG_PHASE_DONE ||
        d.secure_boot > TL_BOOTDIAG_YES || d.tpm > TL_BOOTDIAG_YES || d.eventlog > TL_BOOTDIAG_YES)
        __builtin_trap();
    if (d.verdict != TL_BOOTDIAG_BOOTING && !d.has_line)
        __builtin_trap();
    if (d.has_line) {
        if (d.line_offset >= size || data[d.line_offset] != (uint8_t)d.line[0] || d.line[0] == ' ')
            __builtin_trap();
    } else if (d.line[0] != '\0') {
        __builtin_trap();
    }
    if (d.n_lines > size)
        __builtin_trap();
    /* field by field: padding bytes need not match */
    if (tl_bootdiag_scan(data, size, &again) != 0 || again.verdict != d.verdict ||
        again.phase != d.phase || again.line_offset != d.line_offset ||
        strcmp(again.line, d.line) != 0 || strcmp(again.component, d.component) != 0 ||
        strcmp(again.reason, d.reason) != 0 || again.eventlog_bytes != d.eventlog_bytes)
        __builtin_trap();
    return 0;
}
