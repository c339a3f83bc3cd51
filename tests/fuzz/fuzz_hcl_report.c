/* libFuzzer target: Azure CVM evidence (lib/tee/hcl.c, azure.c). Input
 * starting with '{': a whole trustee evidence JSON, decoded and judged;
 * anything else: an HCL report, parsed, its runtime JSON parsed, and judged
 * inside otherwise empty evidence. Any bytes: a verdict or an error, never
 * a crash, a leak or a pass. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tl/azure.h"
#include "tl/snp.h"
#include "tl/tee.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tl_snp_ctx *ctx;

static void judge(const struct tl_az_evidence *ev)
{
    struct tl_tee_policy pol;
    tl_tee_policy_init(&pol);
    pol.nonce = (struct tl_tee_pin){.set = true, .len = 9};
    memcpy(pol.nonce.v, "challenge", 9);
    struct tl_tee_verdict v;
    if (tl_tee_verdict_init(&v, ev->kind, 1780272000 /* 2026-06-01 */) < 0)
        return;
    struct tl_az_verifier az = {.snp = ctx};
    tl_az_verify(&az, ev, NULL, &pol, &v);
    json_decref(tl_tee_verdict_json(&v));
    tl_tee_verdict_done(&v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ctx && tl_snp_ctx_new(&ctx, NULL) < 0)
        abort();
    if (size > 0 && data[0] == '{') {
        struct tl_az_evidence ev;
        if (tl_az_evidence_parse(data, size, &ev, NULL) == 0) {
            judge(&ev);
            tl_az_evidence_done(&ev);
        }
        return 0;
    }
    struct tl_hcl_report h;
    if (tl_hcl_report_parse(data, size, &h, NULL) == 0) {
        if (h.var_data + h.var_len > data + size || h.hw_report + h.hw_len > data + size)
            abort();
        struct tl_az_runtime rt;
        if (tl_az_runtime_parse(h.var_data, h.var_len, &rt, NULL) == 0)
            tl_az_runtime_done(&rt);
    }
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    struct tl_az_evidence ev = {
        .version = 1,
        .kind = size && (data[0] & 1) ? TL_TEE_KIND_AZ_TDX_VTPM : TL_TEE_KIND_AZ_SNP_VTPM,
        .hcl_report = copy,
        .hcl_len = size,
    };
    judge(&ev);
    free(copy);
    return 0;
}
