/* Vector file access for the unit tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vectors.h"

const char *vector_path(const char *rel)
{
    static char path[4096];
    const char *base = getenv("TL_VECTORS");
    snprintf(path, sizeof(path), "%s/%s", base ? base : "../shared/vectors", rel);
    return path;
}

uint8_t *file_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    size_t r;
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            uint8_t *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                buf = NULL;
            }
            buf = nb;
        }
    }
    fclose(f);
    /* Always NUL-terminated, so text vectors can be searched as strings. */
    uint8_t *nb = buf ? realloc(buf, n + 1) : NULL;
    if (!nb) {
        free(buf);
        return NULL;
    }
    nb[n] = 0;
    *len = n;
    return nb;
}

uint8_t *dup_exact(const uint8_t *p, size_t len)
{
    uint8_t *out = malloc(len ? len : 1);
    assert_non_null(out);
    if (len)
        memcpy(out, p, len);
    return out;
}

uint8_t *vector_read(const char *rel, size_t *len)
{
    uint8_t *buf = file_read(vector_path(rel), len);
    if (!buf)
        fail_msg("cannot read vector %s", vector_path(rel));
    return buf;
}

#include "logedit.h"

size_t logedit_event_offset(const uint8_t *buf, size_t len, uint32_t index)
{
    struct tl_eventlog log;
    assert_int_equal(tl_eventlog_parse(buf, len, &log, NULL), 0);
    assert_true(index < log.n_events);
    size_t off = log.events[index].offset;
    tl_eventlog_done(&log);
    return off;
}

size_t logedit_event_data(const uint8_t *buf, size_t len, uint32_t index, uint32_t *size)
{
    struct tl_eventlog log;
    assert_int_equal(tl_eventlog_parse(buf, len, &log, NULL), 0);
    assert_true(index < log.n_events);
    size_t off = log.events[index].data_offset;
    *size = log.events[index].data_size;
    tl_eventlog_done(&log);
    return off;
}
