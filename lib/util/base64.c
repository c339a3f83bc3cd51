/* Strict base64 decoding (RFC 4648, sections 4 and 5; see tl/base64.h).
 * One linear pass; rejects rather than skips anything that is not the
 * canonical encoding (RFC 4648, 3.5: "decoders MAY chose to reject an
 * encoding if the pad bits have not been set to zero" - we do). */
#include "tl/base64.h"

#include <errno.h>
#include <stdlib.h>

static int b64_value(char c, unsigned flags)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (flags & TL_BASE64_URL)
        return c == '-' ? 62 : c == '_' ? 63 : -1;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

int tl_base64_decode(const char *s, size_t len, unsigned flags, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    size_t pad = 0;
    while (pad < 2 && len > pad && s[len - 1 - pad] == '=')
        pad++;
    size_t n = len - pad; /* data characters */
    if (pad ? len % 4 != 0 : (n % 4 != 0 && !(flags & TL_BASE64_PAD_OPTIONAL)))
        return -EINVAL;
    if (n % 4 == 1)
        return -EINVAL;
    if (pad && (n % 4) + pad != 4)
        return -EINVAL;
    size_t bytes = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
    uint8_t *buf = malloc(bytes + 1);
    if (!buf)
        return -ENOMEM;
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64_value(s[i], flags);
        if (v < 0) {
            free(buf);
            return -EINVAL;
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0) { /* non-zero pad bits: not the canonical encoding */
        free(buf);
        return -EINVAL;
    }
    buf[o] = 0;
    *out = buf;
    *out_len = o;
    return 0;
}
