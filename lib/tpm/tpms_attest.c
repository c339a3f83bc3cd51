/* The TPMS_ATTEST parsers' shared steps (tpms_attest.h). */
#include "tpms_attest.h"

#include <errno.h>
#include <string.h>

int tl_tpms_attest_field_fail(struct tl_error *err, const char *what, TSS2_RC rc, const char *field,
                              size_t off, size_t len)
{
    if (rc == TSS2_MU_RC_INSUFFICIENT_BUFFER)
        return tl_error_set(err, -EBADMSG, off, "%s: %s runs past the end (%zu bytes)", what, field,
                            len);
    return tl_error_set(err, -EBADMSG, off, "%s: %s is malformed (libtss2-mu 0x%x)", what, field,
                        rc);
}

bool tl_tpms_attest_canonical(const uint8_t *buf, size_t len)
{
    TPMS_ATTEST a = {0};
    uint8_t again[sizeof(TPMS_ATTEST)];
    size_t off = 0, n = 0;
    return Tss2_MU_TPMS_ATTEST_Unmarshal(buf, len, &off, &a) == TSS2_RC_SUCCESS && off == len &&
           Tss2_MU_TPMS_ATTEST_Marshal(&a, again, sizeof(again), &n) == TSS2_RC_SUCCESS &&
           n == len && memcmp(again, buf, len) == 0;
}
