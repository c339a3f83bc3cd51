/* SBAT, shim's generation-number revocation (shim SBAT.md):
 *  - an image's .sbat section is CSV: component_name,component_generation,
 *    vendor_name,vendor_package_name,vendor_version,vendor_url per line, the
 *    first line being "sbat,1,...";
 *  - a revocation level (the SbatLevel variable, or the levels built into
 *    shim's .sbatlevel section) is "sbat,1,<datestamp>" then
 *    "component,min_generation" lines;
 *  - an image is revoked when one of its components has a generation lower
 *    than the level's for that component name. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "tl/error.h"

#define TL_SBAT_MAX_ENTRIES 64

struct tl_sbat_entry {
    char component[64];
    uint32_t generation;
};

struct tl_sbat {
    struct tl_sbat_entry entries[TL_SBAT_MAX_ENTRIES];
    size_t n_entries;
    char datestamp[32]; /* revocation levels: the "sbat,1,<datestamp>" line's third field */
};

/* Parses .sbat CSV (TL_SBAT_IMAGE) or a revocation level (TL_SBAT_LEVEL).
 * Stops at the first NUL. Lines must have at least 2 (level) or 6 (image)
 * fields and a decimal generation; empty lines are skipped. */
enum tl_sbat_kind { TL_SBAT_IMAGE, TL_SBAT_LEVEL };
int tl_sbat_parse(const uint8_t *buf, size_t len, enum tl_sbat_kind kind, struct tl_sbat *out,
                  struct tl_error *err);

/* shim's .sbatlevel section: {u32 version; u32 previous; u32 latest} then
 * NUL-terminated levels at those offsets (from the end of the 4-byte version
 * field). Fills the two levels. */
int tl_sbat_level_section_parse(const uint8_t *buf, size_t len, struct tl_sbat *previous,
                                struct tl_sbat *latest, struct tl_error *err);

/* The newer of two levels (by datestamp, as shim decides which to apply). */
const struct tl_sbat *tl_sbat_newer(const struct tl_sbat *a, const struct tl_sbat *b);

/* Is the image revoked by the level? Returns 0 allowed, 1 revoked with
 * *which set to the image entry and *level_entry to the rule. */
int tl_sbat_check(const struct tl_sbat *image, const struct tl_sbat *level,
                  const struct tl_sbat_entry **which, const struct tl_sbat_entry **level_entry);
