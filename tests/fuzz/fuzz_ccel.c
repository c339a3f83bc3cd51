/* libFuzzer target: a TDX guest's CCEL table and CC event log
 * (lib/tee/ccel.c over lib/tcg/eventlog.c, eventcheck.c, replay.c).
 * Input: the first 56 bytes are the table, the rest the log (shorter
 * inputs: no table). Traps on a pass against an all-zero TD report by a
 * log that extends an RTMR, and on an error without a reason. Seeds
 * (tests/fuzz/run.sh): the real table + log of vectors/tee/tdx/ccel. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tl/ccel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct tl_tdx_td_report td; /* all RTMRs zero */
    const uint8_t *table = size >= TL_CCEL_TABLE_SIZE ? data : NULL;
    size_t skip = table ? TL_CCEL_TABLE_SIZE : 0;
    struct tl_tee_verdict v;
    struct tl_ccel_result res;
    if (tl_tee_verdict_init(&v, TL_TEE_KIND_TDX, 0) < 0)
        return 0;
    int r =
        tl_ccel_verify(table, TL_CCEL_TABLE_SIZE, data + skip, size - skip, &td, &v, &res, NULL);
    bool pass = tl_tee_verdict_finish(&v);
    if (r == -EBADMSG && pass)
        abort();
    if (r == 0 && pass && res.replay.extended)
        abort(); /* SHA-384 extends never give 48 zero bytes */
    tl_tee_verdict_done(&v);
    return 0;
}
