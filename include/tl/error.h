/* Error reporting for libtl.
 *
 * libtl never logs and never exits: a failing function returns a negative
 * errno value and, when the caller passed one, fills a tl_error with a short
 * message saying what failed and where ("event 17: digest count 3 exceeds the
 * header's 2") plus the byte offset in the input it refers to.  Programs turn
 * that into the one-line "tl: FILE: what (offset N)" message. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct tl_error {
    char message[512]; /* room for a path or two: tld sends it as an HTTP error */
    size_t offset;   /* byte offset in the input the message refers to */
    bool has_offset; /* false when the error is not about a position */
};

/* Fills err (if not NULL) and returns code, which must be negative. */
int tl_error_set(struct tl_error *err, int code, size_t offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Same, for errors that have no input position. */
int tl_error_set_nopos(struct tl_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
