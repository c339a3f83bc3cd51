/* Small helpers shared by libtl and the programs: cleanup attributes in the
 * systemd style, little-endian readers with no alignment assumptions, hex. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void tl_freep(void *p)
{
    free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(tl_freep)

/* Moves ownership out of a cleanup variable. */
#define TL_TAKE_PTR(p)                                                                             \
    ({                                                                                             \
        __typeof__(p) _tmp = (p);                                                                  \
        (p) = NULL;                                                                                \
        _tmp;                                                                                      \
    })

#define TL_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static inline uint16_t tl_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t tl_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t tl_le64(const uint8_t *p)
{
    return (uint64_t)tl_le32(p) | (uint64_t)tl_le32(p + 4) << 32;
}

/* Writes 2*len lowercase hex digits and a NUL into out (size >= 2*len+1). */
void tl_hex_encode(const uint8_t *in, size_t len, char *out);

/* Decodes hex (optionally prefixed 0x, either case) into out; returns the
 * number of bytes, or -EINVAL for odd length / bad digits, -ENOBUFS when it
 * does not fit. */
int tl_hex_decode(const char *in, size_t in_len, uint8_t *out, size_t out_size);

/* Converts UTF-16LE (n_units code units, no terminator needed) to UTF-8.
 * Stops at the first NUL unit. Unpaired surrogates become U+FFFD.
 * Returns a malloc'd string or NULL on allocation failure. */
char *tl_utf16le_to_utf8(const uint8_t *in, size_t n_units);

/* Is every byte of the range zero? */
bool tl_is_zero(const uint8_t *p, size_t len);
