/* Test helpers: read files from the shared vectors folder ($TL_VECTORS),
 * and write little-endian fields / copy buffers when building altered
 * copies of real inputs. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Reads $TL_VECTORS/<rel> whole; fails the test when it cannot. */
uint8_t *vector_read(const char *rel, size_t *len);
/* Full path of a vector (static buffer). */
const char *vector_path(const char *rel);
/* Reads any file, NUL-terminated past *len; NULL when it cannot. */
uint8_t *file_read(const char *path, size_t *len);

/* An exact-size heap copy (never 0 bytes), so ASan sees any over-read. */
uint8_t *dup_exact(const uint8_t *p, size_t len);

static inline void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
