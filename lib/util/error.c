/* tl_error helpers: format a message into the caller's struct, return the code. */
#include "tl/error.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>

static int error_vset(struct tl_error *err, int code, bool has_offset, size_t offset,
                      const char *fmt, va_list ap)
{
    assert(code < 0);
    if (err) {
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        err->offset = offset;
        err->has_offset = has_offset;
    }
    return code;
}

int tl_error_set(struct tl_error *err, int code, size_t offset, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = error_vset(err, code, true, offset, fmt, ap);
    va_end(ap);
    return r;
}

int tl_error_set_nopos(struct tl_error *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = error_vset(err, code, false, 0, fmt, ap);
    va_end(ap);
    return r;
}
