/* lib/aks's refusals: one line into the caller's msg (when given), and
 * -EINVAL. Shared by rules.c and confidential.c; not part of tl/aks.h. */
#pragma once

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

__attribute__((format(printf, 3, 4))) static inline int refuse(char *msg, size_t len,
                                                               const char *fmt, ...)
{
    if (msg && len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, len, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}
