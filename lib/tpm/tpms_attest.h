/* What the TPMS_ATTEST parsers share (quote.c, certify.c), internal to
 * libtl: a field's error naming the structure, the field and its offset,
 * the FIELD step of a field-by-field walk with libtss2-mu, and the check
 * that the bytes are the one encoding of what was parsed (what is signed
 * is the bytes, what is read is the structure). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <tss2/tss2_mu.h>

#include "tl/error.h"

/* "WHAT: FIELD runs past the end (LEN bytes)" or "WHAT: FIELD is malformed
 * (libtss2-mu 0x...)" at offset off: -EBADMSG. */
int tl_tpms_attest_field_fail(struct tl_error *err, const char *what, TSS2_RC rc, const char *field,
                              size_t off, size_t len);

/* Unmarshals one field: fn(buf, len, &off, dest), failing with the field's
 * name and start offset (needs buf, len, off, err and a const char *what
 * in scope). */
#define TL_TPMS_FIELD(fn, name, dest)                                                              \
    do {                                                                                           \
        size_t at_ = off;                                                                          \
        TSS2_RC rc_ = fn(buf, len, &off, dest);                                                    \
        if (rc_ != TSS2_RC_SUCCESS)                                                                \
            return tl_tpms_attest_field_fail(err, what, rc_, name, at_, len);                      \
    } while (0)

/* Do libtss2-mu's TPMS_ATTEST unmarshal and marshal give back exactly buf? */
bool tl_tpms_attest_canonical(const uint8_t *buf, size_t len);
