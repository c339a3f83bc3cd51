/* bench-tee: full confidential-VM evidence verifications per second, one
 * thread, as a verifying service runs them: the AMD roots parsed and the
 * VCEK's chain verified once (the tl_snp_ctx caches them), everything else
 * done per verification (bench/README.md, "bench-tee").
 *
 *   bench-tee [--seconds S] VECTORS
 *
 * Stages, interleaved (bench_run_stages) until the SNP stage has run S
 * seconds (default 3):
 *   snp      tl_snp_verify of msft's Genoa v3 report with its VCEK at
 *            2026-06-01: report parse, chain (cached), windows, the ECDSA
 *            P-384 signature, TCB, CHIP_ID, policy, the claims JSON;
 *   azure    trustee's az-snp-vtpm evidence from its JSON text: decode
 *            (JSON, base64url), HCL report, runtime JSON, binding, the SEV-SNP
 *            report as above, the vTPM quote's RSA-2048 signature, nonce and
 *            PCR digest, claims;
 *   p384     one ECDSA P-384 verify of the same report's signature over
 *            its digest, with a verify context set up once, as `openssl
 *            speed` measures it: the crypto ceiling of `snp`, timed in this
 *            process like the verifications.
 * Every verdict must be pass: anything else stops the run (exit 1).
 * bench/tee.sh runs `openssl speed` beside it for the crypto ceilings.
 *
 * The last line is machine-readable:
 *   RESULT snp_per_s=<n> azure_per_s=<n> p384_per_s=<n> (CPU-time rates) */
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "tl/azure.h"
#include "tl/snp.h"
#include "tl/tee.h"

const char bench_prog[] = "bench-tee";

enum stage { STAGE_SNP, STAGE_AZURE, STAGE_P384, N_STAGES };

static const char *const stage_names[N_STAGES] = {
    [STAGE_SNP] = "snp (full verify)",
    [STAGE_AZURE] = "azure (full verify)",
    [STAGE_P384] = "ecdsa-p384 verify only",
};

#define AT 1780272000 /* 2026-06-01T00:00:00Z: inside every window */

struct input {
    struct tl_snp_ctx *snp;
    uint8_t *report, *vcek, *azure;
    size_t report_len, vcek_len, azure_len;
    EVP_PKEY *vcek_key;
    EVP_PKEY_CTX *p384_ctx;
    uint8_t digest[48];
    uint8_t sig_der[128];
    size_t sig_der_len;
    struct tl_tee_policy policy, az_policy;
};

static volatile unsigned sink;

static void die_verdict(const char *what, const struct tl_tee_verdict *v)
{
    fprintf(stderr, "%s: %s: fail (%s: %s)\n", bench_prog, what,
            v->n_reasons ? tl_tee_code_name(v->reasons[0].code) : "?",
            v->n_reasons ? v->reasons[0].detail : "");
    exit(1);
}

static void run_stage(void *ctx, int st)
{
    struct input *in = ctx;
    struct tl_tee_verdict v;
    if (st == STAGE_SNP) {
        if (tl_tee_verdict_init(&v, TL_TEE_KIND_SNP, AT) < 0)
            bench_die("verdict", NULL);
        struct tl_snp_evidence ev = {.report = in->report,
                                     .report_len = in->report_len,
                                     .cert = in->vcek,
                                     .cert_len = in->vcek_len};
        tl_snp_verify(in->snp, &ev, &in->policy, &v);
        if (!v.pass)
            die_verdict("snp", &v);
        sink += v.n_reasons;
        tl_tee_verdict_done(&v);
    } else if (st == STAGE_AZURE) {
        struct tl_az_evidence ev;
        struct tl_error err;
        if (tl_az_evidence_parse(in->azure, in->azure_len, &ev, &err) < 0)
            bench_die("azure evidence", &err);
        if (tl_tee_verdict_init(&v, ev.kind, AT) < 0)
            bench_die("verdict", NULL);
        struct tl_az_verifier az = {.snp = in->snp};
        tl_az_verify(&az, &ev, NULL, &in->az_policy, &v);
        if (!v.pass)
            die_verdict("azure", &v);
        tl_tee_verdict_done(&v);
        tl_az_evidence_done(&ev);
    } else {
        /* as openssl speed does it: a context set up once, a digest */
        if (EVP_PKEY_verify(in->p384_ctx, in->sig_der, in->sig_der_len, in->digest, 48) != 1)
            bench_die("p384", NULL);
    }
}

static uint8_t *read_vector(const char *dir, const char *rel, size_t *len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    uint8_t *p = bench_read_file(path, len);
    if (!p)
        bench_die(path, NULL);
    return p;
}

/* The report's signature as DER, and the VCEK's key, for the p384 stage. */
static void load_p384(struct input *in)
{
    BIO *bio = BIO_new_mem_buf(in->vcek, (int)in->vcek_len);
    X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (!x)
        bench_die("vcek", NULL);
    in->vcek_key = X509_get_pubkey(x);
    X509_free(x);
    uint8_t r[72], s[72];
    for (int i = 0; i < 72; i++) {
        r[i] = in->report[0x2a0 + 71 - i];
        s[i] = in->report[0x2e8 + 71 - i];
    }
    ECDSA_SIG *sig = ECDSA_SIG_new();
    ECDSA_SIG_set0(sig, BN_bin2bn(r, 72, NULL), BN_bin2bn(s, 72, NULL));
    unsigned char *p = in->sig_der;
    in->sig_der_len = (size_t)i2d_ECDSA_SIG(sig, &p);
    ECDSA_SIG_free(sig);
    unsigned int n = 48;
    in->p384_ctx = EVP_PKEY_CTX_new_from_pkey(NULL, in->vcek_key, NULL);
    if (!in->p384_ctx || EVP_PKEY_verify_init(in->p384_ctx) != 1 ||
        EVP_Digest(in->report, TL_SNP_SIGNED_SIZE, in->digest, &n, EVP_sha384(), NULL) != 1)
        bench_die("p384 setup", NULL);
}

int main(int argc, char **argv)
{
    double seconds = 3;
    int i = 1;
    if (i + 1 < argc && strcmp(argv[i], "--seconds") == 0) {
        seconds = atof(argv[i + 1]);
        i += 2;
    }
    if (i != argc - 1 || seconds <= 0) {
        fprintf(stderr, "usage: bench-tee [--seconds S] VECTORS\n");
        return 2;
    }
    const char *vec = argv[i];
    struct input in = {0};
    struct tl_error err;
    if (tl_snp_ctx_new(&in.snp, &err) < 0)
        bench_die("roots", &err);
    in.report = read_vector(vec, "tee/snp/msft-genoa-v3-report.bin", &in.report_len);
    in.vcek = read_vector(vec, "tee/snp/msft-genoa-v3-vcek.pem", &in.vcek_len);
    in.azure = read_vector(vec, "tee/azure/az-snp-vtpm-evidence-v1.json", &in.azure_len);
    tl_tee_policy_init(&in.policy);
    tl_tee_policy_init(&in.az_policy);
    in.az_policy.nonce = (struct tl_tee_pin){.set = true, .len = 9};
    memcpy(in.az_policy.nonce.v, "challenge", 9);
    load_p384(&in);

    static struct bench_timing t[N_STAGES];
    double target_s[N_STAGES] = {0.03, 0.03, 0.03};
    bench_run_stages(t, N_STAGES, target_s, STAGE_SNP, seconds, run_stage, &in);
    double per_s[N_STAGES];
    for (int st = 0; st < N_STAGES; st++) {
        double us = t[st].wall * 1e6 / (double)t[st].iterations;
        per_s[st] = (double)t[st].iterations / t[st].cpu;
        printf("  %-24s %8.0f /s %8.1f us | CPU %8.0f /s | batches: median %8.1f best %8.1f us "
               "| %llu runs\n",
               stage_names[st], 1e6 / us, us, per_s[st], t[st].median * 1e6, t[st].best * 1e6,
               (unsigned long long)t[st].iterations);
    }
    printf("RESULT snp_per_s=%.0f azure_per_s=%.0f p384_per_s=%.0f\n", per_s[STAGE_SNP],
           per_s[STAGE_AZURE], per_s[STAGE_P384]);
    EVP_PKEY_CTX_free(in.p384_ctx);
    EVP_PKEY_free(in.vcek_key);
    free(in.report);
    free(in.vcek);
    free(in.azure);
    tl_snp_ctx_free(in.snp);
    return 0;
}
