/* libFuzzer target: Intel PCS collateral as the collateral set reads it
 * (lib/tee/tcbinfo.c, tdxcoll.c): the raw member scanner, TCB info v3
 * and QE identity v2 parsing, and the recognition of one blob by content
 * (JSON, PEM, DER, hex CRLs). Traps on a member span outside the input,
 * or one that is not where jansson would read the member from, and on a
 * TCB info that parses with no levels. Seeds (tests/fuzz/run.sh): every
 * TCB info, QE identity, CRL and certificate of vectors/tee/tdx. */
#include <errno.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tl/tdx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t s, e;
    static const char *const members[] = {"tcbInfo", "enclaveIdentity"};
    for (int i = 0; i < 2; i++) {
        if (tl_json_member_span(data, size, members[i], &s, &e, NULL) == 0) {
            if (s >= e || e > size)
                abort();
            /* When the whole text is JSON, the span is the member's value. */
            json_t *whole = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
            json_t *span = json_loadb((const char *)data + s, e - s, 0, NULL);
            json_t *m = whole ? json_object_get(whole, members[i]) : NULL;
            if (m && (!span || !json_equal(m, span)))
                abort();
            json_decref(span);
            json_decref(whole);
        }
    }
    struct tl_tdx_tcbinfo ti;
    if (tl_tdx_tcbinfo_parse(data, size, &ti, NULL) == 0) {
        if (ti.n_levels == 0 || ti.version != 3)
            abort();
        tl_tdx_tcbinfo_done(&ti);
    }
    struct tl_tdx_qe_identity qe;
    if (tl_tdx_qe_identity_parse(data, size, &qe, NULL) == 0) {
        if (qe.n_levels == 0)
            abort();
        tl_tdx_qe_identity_done(&qe);
    }
    struct tl_tee_blob blob = {.name = "fuzz", .data = data, .len = size};
    struct tl_tdx_collateral *c = NULL;
    if (tl_tdx_collateral_new(&blob, 1, &c, NULL) == 0)
        tl_tdx_collateral_free(c);
    return 0;
}
