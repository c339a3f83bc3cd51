/* Base64 encoding, and strict decoding (RFC 4648, sections 4 and 5; see tl/base64.h).
 * One linear pass; rejects rather than skips anything that is not the
 * canonical encoding (RFC 4648, 3.5: "decoders MAY chose to reject an
 * encoding if the pad bits have not been set to zero" - we do). */
#include "tl/base64.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Each character's value + 1 in the standard and the URL-safe alphabet; 0:
 * not in it. A lookup instead of comparisons: an attest body's event log
 * is ~27 KB of base64, decoded (and scanned: tl_base64_span) per call. */
static const uint8_t std_value[256] = {
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  63, 0,  0,  0,  64,
    53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 0,  0,  0,  0,  0,  0,  0,  1,  2,  3,  4,  5,  6,  7,
    8,  9,  10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 0,  0,  0,  0,  0,
    0,  27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49,
    50, 51, 52, 0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
};
static const uint8_t url_value[256] = {
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  63, 0,  0,
    53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 0,  0,  0,  0,  0,  0,  0,  1,  2,  3,  4,  5,  6,  7,
    8,  9,  10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 0,  0,  0,  0,  64,
    0,  27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49,
    50, 51, 52, 0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
};

size_t tl_base64_span(const char *s, size_t len, unsigned flags)
{
    const uint8_t *v = flags & TL_BASE64_URL ? url_value : std_value;
    size_t i = 0;
    while (i < len && (v[(unsigned char)s[i]] || s[i] == '='))
        i++;
    return i;
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
    const uint8_t *v = flags & TL_BASE64_URL ? url_value : std_value;
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, o = 0;
    /* four characters (three bytes) at a time; a character outside the
     * alphabet has value 0, which the AND of the four catches */
    for (; i + 4 <= n; i += 4) {
        uint32_t a = v[u[i]], b = v[u[i + 1]], c = v[u[i + 2]], d = v[u[i + 3]];
        if (!a || !b || !c || !d) {
            free(buf);
            return -EINVAL;
        }
        uint32_t w = (a - 1) << 18 | (b - 1) << 12 | (c - 1) << 6 | (d - 1);
        buf[o++] = (uint8_t)(w >> 16);
        buf[o++] = (uint8_t)(w >> 8);
        buf[o++] = (uint8_t)w;
    }
    /* the last 2 or 3 characters: 1 or 2 bytes, and the bits left over
     * must be zero (the canonical encoding) */
    uint32_t acc = 0;
    unsigned bits = 0;
    for (; i < n; i++) {
        uint32_t x = v[u[i]];
        if (!x) {
            free(buf);
            return -EINVAL;
        }
        acc = acc << 6 | (x - 1);
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

int tl_base64_encode(const uint8_t *p, size_t len, unsigned flags, char **out, size_t *out_len)
{
    static const char std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    static const char url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const char *tbl = flags & TL_BASE64_URL ? url : std;
    *out = NULL;
    if (out_len)
        *out_len = 0;
    if (len > (SIZE_MAX - 1) / 4 * 3 - 3)
        return -EOVERFLOW;
    char *s = malloc((len + 2) / 3 * 4 + 1);
    if (!s)
        return -ENOMEM;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        size_t left = len - i;
        uint32_t v = (uint32_t)p[i] << 16;
        if (left > 1)
            v |= (uint32_t)p[i + 1] << 8;
        if (left > 2)
            v |= p[i + 2];
        s[o++] = tbl[v >> 18 & 63];
        s[o++] = tbl[v >> 12 & 63];
        if (left > 1)
            s[o++] = tbl[v >> 6 & 63];
        else if (!(flags & TL_BASE64_NO_PAD))
            s[o++] = '=';
        if (left > 2)
            s[o++] = tbl[v & 63];
        else if (!(flags & TL_BASE64_NO_PAD))
            s[o++] = '=';
    }
    s[o] = 0;
    *out = s;
    if (out_len)
        *out_len = o;
    return 0;
}

int tl_base64_decode_string(const char *s, uint8_t **out, size_t *out_len)
{
    if (!s) {
        *out = NULL;
        *out_len = 0;
        return -EINVAL;
    }
    return tl_base64_decode(s, strlen(s), 0, out, out_len);
}

json_t *tl_base64_json(const uint8_t *p, size_t len)
{
    char *s;
    if (tl_base64_encode(p, len, 0, &s, NULL) < 0)
        return NULL;
    json_t *j = json_string(s);
    free(s);
    return j;
}
