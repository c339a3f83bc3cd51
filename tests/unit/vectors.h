/* Test helpers: read files from the shared vectors folder ($TL_VECTORS). */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Reads $TL_VECTORS/<rel> whole; fails the test when it cannot. */
uint8_t *vector_read(const char *rel, size_t *len);
/* Full path of a vector (static buffer). */
const char *vector_path(const char *rel);
/* Reads any file, NUL-terminated past *len; NULL when it cannot. */
uint8_t *file_read(const char *path, size_t *len);
