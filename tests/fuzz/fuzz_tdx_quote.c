/* libFuzzer target: TDX quote framing and the whole verification a
 * verifier runs on a quote an attester sends (lib/tee/tdx.c, pck.c,
 * tdxverify.c): signature, QE binding, the PEM PCK chain, the PCK's SGX
 * extension. The collateral set is empty (made once), so no input may
 * pass: the harness traps on a pass, on a parse that succeeds alone but
 * not inside the verifier (or the reverse), and on unterminated messages.
 * Seeds (tests/fuzz/run.sh): the four real quotes of vectors/tee/tdx. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tl/tdx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tl_tdx_collateral *empty;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!empty && tl_tdx_collateral_new(NULL, 0, &empty, NULL) < 0)
        abort();
    struct tl_tdx_quote q;
    struct tl_error err = {0};
    int parsed = tl_tdx_quote_parse(data, size, &q, &err);
    if (parsed < 0 && memchr(err.message, '\0', sizeof(err.message)) == NULL)
        abort();
    if (parsed == 0 && (q.signed_len > size || q.pck_chain + q.pck_chain_len > data + size))
        abort();
    struct tl_tee_verdict v;
    int r = tl_tdx_verify(data, size, empty, NULL, 1740787200 /* 2025-03-01 */, &v, NULL, &err);
    if (r == -ENOMEM)
        return 0;
    if (v.pass || (parsed == 0) != (r == 0 && !tl_tee_verdict_has(&v, TL_TEE_VERSION)))
        abort();
    for (unsigned i = 0; i < v.n_reasons; i++)
        if (!memchr(v.reasons[i].detail, '\0', sizeof(v.reasons[i].detail)))
            abort();
    tl_tee_verdict_done(&v);
    return 0;
}
