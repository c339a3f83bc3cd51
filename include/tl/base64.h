/* Base64 encoding and decoding for libtl (RFC 4648): the standard alphabet (section 4)
 * and the URL-safe one (section 5, what Azure's and trustee's evidence JSON
 * and JWKs use). One strict decoder: only the alphabet's characters, no
 * whitespace, padding only at the end and only as much as the length needs
 * (optional when TL_BASE64_PAD_OPTIONAL), and the unused low bits of the last
 * character zero, so every byte string has exactly one accepted encoding. */
#pragma once

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define TL_BASE64_URL          0x1u /* '-' and '_' instead of '+' and '/' */
#define TL_BASE64_PAD_OPTIONAL 0x2u /* "=" padding may be left out (JWK, JWT) */
#define TL_BASE64_NO_PAD       0x4u /* encode without "=" padding (JWK, JWT) */

/* Decodes len characters of s into a malloc'd *out (never NULL on success,
 * NUL-terminated past *out_len). -EINVAL for bad input, -ENOMEM. */
int tl_base64_decode(const char *s, size_t len, unsigned flags, uint8_t **out, size_t *out_len);

/* How many of the first len characters of s are in the alphabet flags
 * picks, or '=': where a base64 string ends in a text that holds one (a
 * JSON member). A span says nothing about its validity: decode it. */
size_t tl_base64_span(const char *s, size_t len, unsigned flags);

/* Encodes len bytes into a malloc'd NUL-terminated *out (*out_len excludes
 * the NUL): TL_BASE64_URL picks the alphabet, TL_BASE64_NO_PAD leaves the
 * "=" out. -ENOMEM, -EOVERFLOW for a length whose encoding cannot be sized. */
int tl_base64_encode(const uint8_t *p, size_t len, unsigned flags, char **out, size_t *out_len);

/* The JSON forms the programs exchange (standard alphabet, padded): a NUL-
 * terminated string s decoded (NULL, like any bad input, is -EINVAL), and
 * bytes as a new JSON string (NULL only when out of memory). */
int tl_base64_decode_string(const char *s, uint8_t **out, size_t *out_len);
json_t *tl_base64_json(const uint8_t *p, size_t len);
