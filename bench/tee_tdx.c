/* bench-tee-tdx: full verifications per second of a TDX quote with its
 * collateral loaded once (chains and collateral cached, as a service
 * holds them), next to a bare ECDSA P-256 verification in the same run.
 *
 *   bench-tee-tdx [--seconds S] --at TIME --collateral-files F... -- QUOTE
 *
 * The collateral is loaded three ways and each is a stage:
 *   full       the TCB info, QE identity, CRLs and TCB signing certificate
 *              only: every quote's PCK chain is parsed and validated
 *   ca-cached  + the PCK CA and root (PCS's issuer chain): the quote's PCK
 *              is parsed and checked against the held CA
 *   pck-cached + the PCK certificate itself: nothing of the chain is
 *              parsed or verified per quote, only judged at `at`
 *   ecdsa      one ECDSA P-256 SHA-256 verification of the quote's own
 *              signature through OpenSSL's EVP (key imported once): the
 *              unit the ceiling is counted in
 * Every stage verifies with a policy that accepts the quote's TCB status
 * (the verdict must be a pass, or the benchmark stops: a failing
 * verification measures nothing). Stages run interleaved (bench.c) until
 * pck-cached has run S seconds.
 *
 * Machine-readable lines:
 *   RESULT stage=<name> per_s=<x> cpu_per_s=<x> us=<x> cpu_us=<x> iterations=<n> */
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "tl/tdx.h"
#include "tl/tee.h"

const char bench_prog[] = "bench-tee-tdx";

enum { ST_FULL, ST_CA, ST_PCK, ST_ECDSA, N_STAGES };
static const char *const stage_names[] = {"full", "ca-cached", "pck-cached", "ecdsa"};

struct ctx {
    const uint8_t *quote;
    size_t len;
    time_t at;
    struct tl_tee_policy policy;
    struct tl_tdx_collateral *col[3];
    EVP_PKEY *ak;
    uint8_t sig_der[80];
    size_t sig_der_len;
    struct tl_tdx_quote parsed;
};

static void run_stage(void *p, int stage)
{
    struct ctx *c = p;
    if (stage == ST_ECDSA) {
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        if (!md || EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, c->ak) != 1 ||
            EVP_DigestVerify(md, c->sig_der, c->sig_der_len, c->parsed.signed_data,
                             c->parsed.signed_len) != 1)
            bench_die("ecdsa", NULL);
        EVP_MD_CTX_free(md);
        return;
    }
    struct tl_tee_verdict v;
    struct tl_error err = {0};
    if (tl_tdx_verify(c->quote, c->len, c->col[stage], &c->policy, c->at, &v, NULL, &err) < 0)
        bench_die(stage_names[stage], &err);
    if (!v.pass) {
        fprintf(stderr, "%s: %s: the verdict is fail: %s: %s\n", bench_prog, stage_names[stage],
                tl_tee_code_name(v.reasons[0].code), v.reasons[0].detail);
        exit(1);
    }
    tl_tee_verdict_done(&v);
}

static EVP_PKEY *p256(const uint8_t xy[64])
{
    uint8_t pub[65] = {0x04};
    memcpy(pub + 1, xy, 64);
    EVP_PKEY *key = NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"prime256v1", 0),
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub)),
        OSSL_PARAM_END,
    };
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (!pc || EVP_PKEY_fromdata_init(pc) != 1 ||
        EVP_PKEY_fromdata(pc, &key, EVP_PKEY_PUBLIC_KEY, params) != 1)
        bench_die("attestation key", NULL);
    EVP_PKEY_CTX_free(pc);
    return key;
}

int main(int argc, char **argv)
{
    struct ctx c = {0};
    double seconds = 3;
    const char *at = NULL;
    struct tl_tee_blob blobs[32];
    size_t n = 0;
    int i = 1;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            seconds = atof(argv[++i]);
        } else if (strcmp(argv[i], "--at") == 0 && i + 1 < argc) {
            at = argv[++i];
        } else if (strcmp(argv[i], "--collateral-files") == 0) {
            for (i++; i < argc && strcmp(argv[i], "--") != 0 && n < 32; i++) {
                size_t len;
                uint8_t *p = bench_read_file(argv[i], &len);
                if (!p)
                    bench_die(argv[i], NULL);
                blobs[n++] = (struct tl_tee_blob){.name = argv[i], .data = p, .len = len};
            }
        } else if (strcmp(argv[i], "--") != 0) {
            break;
        }
    }
    if (!at || i != argc - 1) {
        fprintf(stderr, "usage: bench-tee-tdx [--seconds S] --at TIME --collateral-files F... -- "
                        "QUOTE\n");
        return 2;
    }
    struct tl_error err = {0};
    if (tl_tee_time_parse(at, &c.at) < 0)
        bench_die(at, NULL);
    c.quote = bench_read_file(argv[i], &c.len);
    if (!c.quote)
        bench_die(argv[i], NULL);
    if (tl_tdx_quote_parse(c.quote, c.len, &c.parsed, &err) < 0)
        bench_die(argv[i], &err);
    tl_tee_policy_init(&c.policy);
    c.policy.tcb_status_mask = (1u << TL_TEE_TCB_STATUS_COUNT) - 1;
    c.policy.tcb_status_mask &= ~(1u << TL_TEE_TCB_REVOKED);

    /* the three collateral sets */
    const char *pem = (const char *)c.parsed.pck_chain;
    const char *end = strstr(pem, "-----END CERTIFICATE-----");
    if (!end)
        bench_die("PCK chain", NULL);
    size_t skip = (size_t)(end - pem) + 25;
    if (tl_tdx_collateral_new(blobs, n, &c.col[ST_FULL], &err) < 0)
        bench_die("collateral", &err);
    blobs[n] = (struct tl_tee_blob){.name = "issuer chain",
                                    .data = c.parsed.pck_chain + skip,
                                    .len = c.parsed.pck_chain_len - skip};
    if (tl_tdx_collateral_new(blobs, n + 1, &c.col[ST_CA], &err) < 0)
        bench_die("collateral", &err);
    blobs[n] = (struct tl_tee_blob){
        .name = "pck chain", .data = c.parsed.pck_chain, .len = c.parsed.pck_chain_len};
    if (tl_tdx_collateral_new(blobs, n + 1, &c.col[ST_PCK], &err) < 0)
        bench_die("collateral", &err);

    c.ak = p256(c.parsed.attest_key);
    ECDSA_SIG *s = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(c.parsed.signature, 32, NULL),
           *ss = BN_bin2bn(c.parsed.signature + 32, 32, NULL);
    unsigned char *d = c.sig_der;
    if (!s || !r || !ss || ECDSA_SIG_set0(s, r, ss) != 1)
        bench_die("signature", NULL);
    c.sig_der_len = (size_t)i2d_ECDSA_SIG(s, &d);
    ECDSA_SIG_free(s);

    static struct bench_timing t[N_STAGES];
    const double target_s[N_STAGES] = {0.03, 0.03, 0.03, 0.01};
    bench_run_stages(t, N_STAGES, target_s, ST_PCK, seconds, run_stage, &c);
    printf("bench-tee-tdx: %s at %s, one thread, stages interleaved\n", bench_base_name(argv[i]),
           at);
    for (int st = 0; st < N_STAGES; st++) {
        double per_s = 1 / t[st].median, cpu_per_s = 1 / t[st].cpu_median;
        printf("  %-11s %9.1f /s %9.1f us | CPU %9.1f /s (median of %zu batches)\n",
               stage_names[st], per_s, t[st].median * 1e6, cpu_per_s, t[st].n_batches);
        printf("RESULT stage=%s per_s=%.1f cpu_per_s=%.1f us=%.1f cpu_us=%.1f iterations=%llu\n",
               stage_names[st], per_s, cpu_per_s, t[st].median * 1e6, t[st].cpu_median * 1e6,
               (unsigned long long)t[st].iterations);
    }
    for (int k = 0; k < 3; k++)
        tl_tdx_collateral_free(c.col[k]);
    EVP_PKEY_free(c.ak);
    for (size_t k = 0; k < n; k++)
        free((void *)blobs[k].data);
    free((void *)c.quote);
    return 0;
}
