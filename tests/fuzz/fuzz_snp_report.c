/* libFuzzer target: an SEV-SNP attestation report with its certificate
 * (lib/tee/snp_report.c, snp_cert.c, snp.c), the bytes a verifier receives
 * from a guest it does not trust. Input: the report (1184 bytes) followed
 * by the VCEK/VLEK (DER or PEM), or anything else: the hex text form and
 * the verdict must hold for any bytes - never a crash, a leak or a pass
 * without a valid AMD-signed report. The context (roots, certificate
 * cache) lives across runs, as a service holds it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tl/snp.h"
#include "tl/tee.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tl_snp_ctx *ctx;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ctx && tl_snp_ctx_new(&ctx, NULL) < 0)
        abort();
    struct tl_tee_policy pol;
    tl_tee_policy_init(&pol);
    struct tl_tee_verdict v;
    if (tl_tee_verdict_init(&v, TL_TEE_KIND_SNP, 1780272000 /* 2026-06-01 */) < 0)
        return 0;
    size_t rlen = size < TL_SNP_REPORT_SIZE ? size : TL_SNP_REPORT_SIZE;
    struct tl_tee_blob blob = {.data = data + rlen, .len = size - rlen};
    struct tl_tee_collateral col = {.n = 1, .items = &blob};
    struct tl_snp_evidence ev = {
        .report = data, .report_len = rlen, .collateral = size > rlen ? &col : NULL};
    if (size > rlen && (data[rlen] & 1)) { /* the certificate given, not found */
        ev.cert = data + rlen;
        ev.cert_len = size - rlen;
    }
    tl_snp_verify(ctx, &ev, &pol, &v);
    json_t *j = tl_tee_verdict_json(&v);
    json_decref(j);
    tl_tee_verdict_done(&v);

    uint8_t *rep;
    size_t n;
    if (tl_snp_report_from_hex((const char *)data, size, &rep, &n, NULL) == 0) {
        struct tl_snp_report r;
        if (tl_snp_report_parse(rep, n, &r, NULL) != 0)
            abort();
        free(rep);
    }
    return 0;
}
