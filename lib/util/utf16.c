/* UTF-16LE to UTF-8, for UEFI variable names, load option descriptions and
 * device path strings. Firmware strings are untrusted: lengths come from the
 * caller (already bounds-checked), unpaired surrogates are replaced. */
#include "tl/util.h"

#include <stdlib.h>

char *tl_utf16le_to_utf8(const uint8_t *in, size_t n_units)
{
    /* Worst case 3 bytes per unit (a surrogate pair is 2 units -> 4 bytes). */
    char *out = malloc(n_units * 3 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n_units; i++) {
        uint32_t c = tl_le16(in + 2 * i);
        if (c == 0)
            break;
        if (c >= 0xd800 && c <= 0xdbff && i + 1 < n_units) {
            uint32_t c2 = tl_le16(in + 2 * (i + 1));
            if (c2 >= 0xdc00 && c2 <= 0xdfff) {
                c = 0x10000 + ((c - 0xd800) << 10) + (c2 - 0xdc00);
                i++;
            } else {
                c = 0xfffd;
            }
        } else if (c >= 0xd800 && c <= 0xdfff) {
            c = 0xfffd;
        }
        if (c < 0x80) {
            out[o++] = (char)c;
        } else if (c < 0x800) {
            out[o++] = (char)(0xc0 | c >> 6);
            out[o++] = (char)(0x80 | (c & 0x3f));
        } else if (c < 0x10000) {
            out[o++] = (char)(0xe0 | c >> 12);
            out[o++] = (char)(0x80 | ((c >> 6) & 0x3f));
            out[o++] = (char)(0x80 | (c & 0x3f));
        } else {
            out[o++] = (char)(0xf0 | c >> 18);
            out[o++] = (char)(0x80 | ((c >> 12) & 0x3f));
            out[o++] = (char)(0x80 | ((c >> 6) & 0x3f));
            out[o++] = (char)(0x80 | (c & 0x3f));
        }
    }
    out[o] = '\0';
    return out;
}
