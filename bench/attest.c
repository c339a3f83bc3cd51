/* bench-attest: the attestation service's throughput, driven over HTTP on
 * loopback as agents drive it (bench/README.md, "bench-attest").
 *
 * Simulated nodes: software keys stand in for TPMs, and every step of the
 * real protocol (docs/api.md, "Attestation (the agent's side)") is taken:
 *  1. create: POST /v1/nodes {"name", "external": true, "ek_public"}: the
 *     platform certifies the node's EK (an RSA-2048 key in the default EK
 *     template, L-1) and answers with the certificate ("ek_cert_issued");
 *     the node's bearer token is read from HOME/nodes/NAME/agent.json, as
 *     an external node's agent reads it;
 *  2. enrol: POST enroll {ek_type, ek_cert, ek_public, ak_public} with an
 *     ECC P-256 AK (restricted, sign, fixedTPM, fixedParent,
 *     sensitiveDataOrigin, userWithAuth; ECDSA-SHA256: the agent's AK);
 *     the service's MakeCredential is undone here as a TPM's
 *     ActivateCredential does (RSA-OAEP-SHA256 of the seed with label
 *     "IDENTITY\0", KDFa, the integrity HMAC over encIdentity || Name,
 *     AES-128-CFB: TPM 2.0 Part 1, 24; the same code as
 *     tests/unit/test_credential.c), then POST activate {challenge, secret};
 *  3. attest, for --seconds from --threads threads, each on its own
 *     keep-alive connection and its own share of the nodes, round robin:
 *     POST nonce, then a TPMS_ATTEST made here (TPM_GENERATED_VALUE, quote,
 *     qualifiedSigner = the AK's Name, extraData = the nonce, a clock that
 *     only goes forward, sha256 PCRs 0-9 and 14 and their digest) signed
 *     ECDSA-SHA256 by the AK (a TPMT_SIGNATURE), and POST attest with the
 *     PCR values and the real OVMF event log they replay from (libtl's
 *     tl_replay of the log, computed here once). Every verdict must be
 *     "pass": anything else stops the run (exit 1).
 *
 * EK keys: an RSA-2048 key takes ~0.2 s to generate, so --ek-keys K keys
 * (default 32) are made and node i gets key i mod K (each node still has
 * its own certificate, which is what enrolment checks). --ek-keys N makes
 * them all distinct. AKs are one per node.
 *
 * Printed: the phases' rates, tld's RSS (VmRSS of its pid, from
 * /proc/PID/status) before the nodes, after creating them, after enrolment
 * and after the run, per node; attestations per second over the measured
 * window (after --warmup seconds), p50/p99/max of the attest call and of
 * the whole nonce + attest round, the CPU tld and this program used in
 * the window, per attestation; then `openssl speed -seconds S ecdsap256`
 * (one core): the ceiling of one AK verify + one ES256 sign per second per
 * core, and our rate against it. The last line is machine-readable
 * (RESULT ...).
 *
 * --confidential snp: every simulated node is an SEV-SNP confidential
 * node, as an Azure CVM's agent attests (docs/api.md "Confidential
 * nodes"). Created external with "security_type": "ConfidentialVM",
 * "tee": "snp" and its own "tee_policy" naming the emulated ARK (an
 * external node has no pool whose teePolicy could); its AK is RSA-2048 in
 * the TCG AK template, as the paravisor's at 0x81000003, and its quotes
 * RSASSA-SHA256. The emulated secure processor is HOME/tee-emul, opened
 * here with tlh_tee_emul_open (it creates the RSA-4096 ARK/ASK and the
 * collateral tld loads once) before any node exists; --chips K chips
 * ("hosts", default 4), node i on chip i mod K. Per attestation this
 * program plays the paravisor: the runtime JSON (HCLAkPub = the node's AK,
 * HCLEkPub = its EK, vm-configuration, vmUniqueId = the node's uuid,
 * user-data = the nonce zero-padded to 64), REPORT_DATA = its SHA-256, an
 * SNP report v3 signed by the chip's VCEK (ECDSA P-384), the HCL report
 * padded to 2600 bytes, then "tee_evidence" (trustee's v2 form) with the
 * chip's VCEK, beside the usual quote, PCRs and event log. RSA keys take
 * long to make: node i's AK is key i mod --ek-keys (K more RSA keys). Every
 * verdict must be "pass" and each node's first token must say sevsnpvm. */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <tss2/tss2_mu.h>
#include <unistd.h>

#include "bench.h"
#include "simnode.h"
#include "tl/akey.h"
#include "tl/base64.h"
#include "tl/eventlog.h"
#include "tl/hcl_build.h"
#include "tl/replay.h"
#include "tl/util.h"
#include "tl/vtpm.h"
#include "tlhost/paravisor.h"
#include "tlhost/tee_emul.h"

const char bench_prog[] = "bench-attest";

struct opts {
    const char *url;
    const char *home; /* default: /v1/health's "home" */
    const char *log;
    const char *prefix;
    long nodes;
    double seconds, warmup;
    int threads;
    long ek_keys;
    int speed_seconds; /* 0: no openssl speed */
    bool warmup_pass;  /* every node attested once before the window */
    bool confidential; /* --confidential snp */
    long chips;        /* emulated SEV-SNP chips ("hosts") */
    /* replicas (tests/cli/replicas.sh): a refused or lost attestation is
     * counted, not fatal; what passed is written to --acked */
    bool keep_going;
    const char *acked;
    const char *rollback_probe; /* "URL_A,URL_B": two replicas of one store */
};

/* --confidential snp: the emulated secure processor and its chips. */
static struct {
    struct tlh_tee_emul *emul;
    struct tlh_tee_emul_chip **chips;
    char **vcek_b64url; /* each chip's VCEK, DER, base64url */
    json_t *policy;     /* {"trusted-roots": [{"kind": "snp-ark", "sha256": ...}]} */
    EVP_PKEY **aks;     /* RSA-2048 AKs, --ek-keys of them */
} cvm;

static struct opts o = {.prefix = "bench",
                        .nodes = 1000,
                        .seconds = 20,
                        .warmup = 2,
                        .threads = 4,
                        .ek_keys = 32,
                        .speed_seconds = 3,
                        .warmup_pass = true,
                        .chips = 4};
static struct sim sim = {.prefix = "bench", .threads = 4};

/* An RSA-2048 AK in the paravisor's template (tlh_paravisor_ak_template:
 * restricted signing, RSASSA-SHA256, the TCG AK attributes), and its Name:
 * a confidential node's AK at 0x81000003. */
static void ak_make_rsa(struct sim_node *n, EVP_PKEY *key)
{
    n->ak = key;
    if (EVP_PKEY_up_ref(key) != 1)
        bench_fail("EVP_PKEY_up_ref failed");
    TPM2B_PUBLIC pub;
    tlh_paravisor_ak_template(&pub);
    TPMT_PUBLIC *p = &pub.publicArea;
    p->unique.rsa.size = 256;
    sim_bn_param(key, OSSL_PKEY_PARAM_RSA_N, p->unique.rsa.buffer, 256);
    struct tl_error err = {0};
    if (tl_tpm_public_name(&pub, n->ak_name, &n->ak_name_len, &err) < 0)
        bench_die("AK Name", &err);
    n->ak_public_b64 = sim_marshal_public_b64(&pub);
}

/* ---- the emulated platform (--confidential snp) ---- */

static char *b64url(const uint8_t *p, size_t len)
{
    char *out = NULL;
    size_t n = 0;
    if (tl_base64_encode(p, len, TL_BASE64_URL | TL_BASE64_NO_PAD, &out, &n) < 0)
        bench_fail("out of memory");
    return out;
}

/* HOME/tee-emul (created when missing, as the first confidential launch
 * does), its chips, their VCEKs, and the policy naming its ARK. */
static void cvm_open(void)
{
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/tee-emul", o.home);
    struct tl_error err = {0};
    if (tlh_tee_emul_open(dir, time(NULL), &cvm.emul, &err) < 0)
        bench_die(dir, &err);
    struct tlh_tee_emul_info info;
    tlh_tee_emul_info(cvm.emul, &info);
    cvm.policy = json_pack("{s:[{s:s, s:s}]}", "trusted-roots", "kind", "snp-ark", "sha256",
                           info.snp_ark_sha256);
    cvm.chips = calloc((size_t)o.chips, sizeof(*cvm.chips));
    cvm.vcek_b64url = calloc((size_t)o.chips, sizeof(*cvm.vcek_b64url));
    if (!cvm.policy || !cvm.chips || !cvm.vcek_b64url)
        bench_fail("out of memory");
    for (long i = 0; i < o.chips; i++) {
        char name[32];
        snprintf(name, sizeof(name), "%s-host-%ld", o.prefix, i);
        if (tlh_tee_emul_chip_open(cvm.emul, name, NULL, &cvm.chips[i], &err) < 0)
            bench_die(name, &err);
        const char *pem = tlh_tee_emul_chip_vcek_path(cvm.chips[i]);
        FILE *f = fopen(pem, "re");
        X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
        if (f)
            fclose(f);
        uint8_t *der = NULL;
        int len = x ? i2d_X509(x, &der) : -1;
        if (len <= 0)
            bench_fail("%s: not a PEM certificate", pem);
        cvm.vcek_b64url[i] = b64url(der, (size_t)len);
        OPENSSL_free(der);
        X509_free(x);
    }
}

static void hex_into(char **p, const uint8_t *b, size_t len)
{
    tl_hex_encode(b, len, *p);
    *p += 2 * len;
}

/* What the node's paravisor and agent make for one attestation (see the
 * top): "tee_evidence":{...} written at out (at most cap bytes), its
 * length. */
static size_t tee_evidence(const struct sim_node *n, long i, const uint8_t nonce[32],
                           const struct sim_quote_raw *q, char *out, size_t cap)
{
    struct tl_az_runtime_spec rs = {.ak = n->ak,
                                    .ek = sim.eks[i % sim.n_eks].key,
                                    .secure_boot = true,
                                    .tpm_enabled = true,
                                    .tpm_persisted = true,
                                    .vm_unique_id = n->uuid,
                                    .has_user_data = true};
    memcpy(rs.user_data, nonce, 32);
    char *json = NULL;
    size_t json_len = 0;
    struct tl_error err = {0};
    struct tlh_tee_emul_request req = {.kind = TLH_TEE_EMUL_SNP, .snp_version = 3};
    uint8_t *hw = NULL, *hcl = NULL;
    size_t hw_len = 0, hcl_len = 0;
    if (tl_az_runtime_build(&rs, &json, &json_len, &err) < 0 ||
        tl_az_runtime_report_data((const uint8_t *)json, json_len, req.report_data, &err) < 0 ||
        tlh_tee_emul_report(cvm.emul, cvm.chips[i % o.chips], &req, &hw, &hw_len, &err) < 0)
        bench_die("the emulated SNP report", &err);
    struct tl_hcl_build b = {.report_type = TL_HCL_REPORT_SNP,
                             .hw_report = hw,
                             .hw_len = hw_len,
                             .runtime = (const uint8_t *)json,
                             .runtime_len = json_len,
                             .pad_to = 2600};
    if (tl_hcl_report_build(&b, &hcl, &hcl_len, &err) < 0)
        bench_die("the HCL report", &err);
    char *hcl_b64 = b64url(hcl, hcl_len);
    const char *vcek = cvm.vcek_b64url[i % o.chips];
    size_t need = 2 * (q->sig_len + q->attest_len) + strlen(sim.evidence.tee_pcrs) +
                  strlen(hcl_b64) + strlen(vcek) + 160;
    if (need > cap)
        bench_fail("tee_evidence: %zu bytes, room for %zu", need, cap);
    char *p = out;
    p += sprintf(p, "\"tee_evidence\":{\"version\":2,\"tpm_quote\":{\"signature\":\"");
    hex_into(&p, q->sig, q->sig_len);
    p += sprintf(p, "\",\"message\":\"");
    hex_into(&p, q->attest, q->attest_len);
    p += sprintf(p, "\",\"pcrs\":%s},\"hcl_report\":\"%s\",\"vcek\":\"%s\"},",
                 sim.evidence.tee_pcrs, hcl_b64, vcek);
    free(hcl_b64);
    free(hcl);
    free(hw);
    free(json);
    return (size_t)(p - out);
}

/* A node's first token says what the evidence was: sevsnpvm, the
 * emulator's verdict passed (the payload of the ES256 JWT, not checked
 * here: tld signed it on this host). */
static bool token_says_sevsnpvm(const char *jwt)
{
    const char *a = jwt ? strchr(jwt, '.') : NULL, *z = a ? strchr(a + 1, '.') : NULL;
    uint8_t *payload = NULL;
    size_t len = 0;
    if (!z || tl_base64_decode(a + 1, (size_t)(z - a - 1), TL_BASE64_URL | TL_BASE64_PAD_OPTIONAL,
                               &payload, &len) < 0)
        return false;
    json_t *c = json_loadb((const char *)payload, len, 0, NULL);
    free(payload);
    const char *type = json_string_value(
        json_object_get(json_object_get(c, "x-ms-isolation-tee"), "x-ms-attestation-type"));
    bool ok = type && strcmp(type, "sevsnpvm") == 0;
    json_decref(c);
    return ok;
}

/* ---- phases ---- */

static void make_ek(struct sim *s, struct sim_http *h, long i)
{
    (void)h;
    sim_ek_make(&s->eks[i]);
    if (o.confidential && !(cvm.aks[i] = EVP_RSA_gen(2048)))
        bench_fail("RSA key generation failed");
}

static void create_node(struct sim *s, struct sim_http *h, long i)
{
    struct sim_node *n = &s->nodes[i];
    snprintf(n->name, sizeof(n->name), "%s-%06ld", s->prefix, i);
    if (o.confidential)
        ak_make_rsa(n, cvm.aks[i % s->n_eks]);
    else
        sim_ak_make(n);
    json_t *extra = NULL, *ans = NULL;
    if (o.confidential)
        extra = json_pack("{s:s, s:s, s:O}", "security_type", "ConfidentialVM", "tee", "snp",
                          "tee_policy", cvm.policy);
    if (sim_node_create(s, h, i, extra, &ans) == 0 && o.confidential &&
        strcmp(json_string_value(json_object_get(ans, "tee")) ?: "", "snp")) {
        fprintf(stderr, "%s: create %s: not an SEV-SNP node: %s\n", bench_prog, n->name, h->buf);
        atomic_store(&s->failed, 1);
    }
    json_decref(extra);
    json_decref(ans);
}

/* ---- attestation ---- */

struct worker {
    pthread_t th;
    int id;
    struct bench_lat attest, round; /* seconds, measured window only */
    long done, first;               /* measured attestations; of which a node's first */
    long all;                       /* every attestation, warm-up included */
    bool passed;                    /* each of its nodes attested once */
    long failed;                    /* --keep-going: attestations without a pass */
    struct acked {                  /* --acked: every pass the service answered */
        long long id;
        long node;
    } * acked;
    size_t n_acked, cap_acked;
};

/* --keep-going: passes and failures per second of the attest phase
 * (TIMELINE lines), from its start (timeline_t0, unix seconds) */
#define TIMELINE_MAX 3600
static atomic_long timeline_pass[TIMELINE_MAX], timeline_fail[TIMELINE_MAX];
static long timeline_t0;

static void timeline_add(atomic_long *a)
{
    long k = (long)time(NULL) - timeline_t0;
    if (k >= 0 && k < TIMELINE_MAX)
        atomic_fetch_add(&a[k], 1);
}

static void acked_add(struct worker *w, long long id, long node)
{
    if (w->n_acked == w->cap_acked) {
        w->cap_acked = w->cap_acked ? 2 * w->cap_acked : 1024;
        if (!(w->acked = realloc(w->acked, w->cap_acked * sizeof(*w->acked))))
            bench_fail("out of memory");
    }
    w->acked[w->n_acked++] = (struct acked){id, node};
}

static atomic_int phase;       /* 0 warm-up, 1 measuring, 2 stop */
static atomic_int passes_done; /* threads that attested each of their nodes once */

static void *attest_thread(void *p)
{
    struct worker *w = p;
    struct sim_http h;
    sim_http_init(&h, sim.url);
    for (long i = w->id; atomic_load(&phase) < 2 && !atomic_load(&sim.failed);) {
        struct sim_node *n = &sim.nodes[i];
        double t0 = bench_clock(CLOCK_MONOTONIC), t_attest = 0;
        json_t *ans = NULL;
        long st =
            sim_node_attest(&sim, &h, i, o.confidential ? tee_evidence : NULL, &ans, &t_attest);
        double t2 = bench_clock(CLOCK_MONOTONIC);
        const char *verdict = json_string_value(json_object_get(ans, "verdict"));
        bool pass = st == 200 && verdict && strcmp(verdict, "pass") == 0;
        if (o.keep_going) {
            timeline_add(pass ? timeline_pass : timeline_fail);
            if (pass && o.acked)
                acked_add(w, json_integer_value(json_object_get(ans, "attestation")), i);
            if (!pass) { /* a replica gone: the next call finds another */
                w->failed++;
                json_decref(ans);
                struct timespec pause = {0, 20 * 1000 * 1000};
                nanosleep(&pause, NULL);
                if ((i += sim.threads) >= sim.n_nodes)
                    i = w->id;
                continue;
            }
        }
        if (!pass) {
            if (st >= 0)
                fprintf(stderr, "%s: attest %s: HTTP %ld, verdict %s: %.600s\n", bench_prog,
                        n->name, st, verdict ? verdict : "none", h.buf ? h.buf : "");
            atomic_store(&sim.failed, 1);
            json_decref(ans);
            break;
        }
        if (o.confidential && !n->attested &&
            !token_says_sevsnpvm(json_string_value(json_object_get(ans, "token")))) {
            fprintf(stderr, "%s: attest %s: passed, but its token does not say sevsnpvm\n",
                    bench_prog, n->name);
            atomic_store(&sim.failed, 1);
            json_decref(ans);
            break;
        }
        json_decref(ans);
        w->all++;
        if (atomic_load(&phase) == 1) {
            bench_lat_add(&w->attest, t_attest);
            bench_lat_add(&w->round, t2 - t0);
            w->done++;
            w->first += !n->attested;
        }
        n->attested = true;
        i += sim.threads;
        if (i >= sim.n_nodes) {
            i = w->id;
            if (!w->passed) {
                w->passed = true;
                atomic_fetch_add(&passes_done, 1);
            }
        }
    }
    sim_http_done(&h);
    return NULL;
}

/* ---- --rollback-probe: the TPM's counters across replicas ---- */

static bool has_component(const json_t *ans, const char *component)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(ans, "findings"), i, f)
    {
        const char *c = json_string_value(json_object_get(f, "component"));
        if (c && strcmp(c, component) == 0)
            return true;
    }
    return false;
}

/* Node 0 (enrolled, not attested yet) through replica a with its clock
 * far ahead, then through replica b with a clock behind that (yet ahead
 * of anything b itself saw): b must refuse it ("tpm clock"), as must a
 * again with another; the node's clock then goes on from the highest. */
static void rollback_probe(const char *urls)
{
    char a_url[512], *b_url;
    snprintf(a_url, sizeof(a_url), "%s", urls);
    if (!(b_url = strchr(a_url, ',')))
        bench_fail("--rollback-probe: URL_A,URL_B");
    *b_url++ = 0;
    struct sim_node *n = &sim.nodes[0];
    struct sim_http ha, hb;
    sim_http_init(&ha, a_url);
    sim_http_init(&hb, b_url);
    json_t *ans = NULL;
    double ta;
    n->clock += 1000000;
    long st = sim_node_attest(&sim, &ha, 0, NULL, &ans, &ta);
    uint64_t high = n->clock;
    const char *v = json_string_value(json_object_get(ans, "verdict"));
    if (st != 200 || !v || strcmp(v, "pass") != 0)
        bench_fail("rollback probe: %s through %s: HTTP %ld %.300s", n->name, a_url, st,
                   ha.buf ? ha.buf : "");
    json_decref(ans);
    int refused = 0;
    struct sim_http *via[2] = {&hb, &ha};
    for (int k = 0; k < 2; k++) {
        n->clock = high - 500000 + 100000 * (uint64_t)k;
        st = sim_node_attest(&sim, via[k], 0, NULL, &ans, &ta);
        v = json_string_value(json_object_get(ans, "verdict"));
        if (st == 200 && v && strcmp(v, "fail") == 0 && has_component(ans, "tpm clock"))
            refused++;
        else
            fprintf(stderr, "%s: rollback probe: %s through %s: HTTP %ld %.300s\n", bench_prog,
                    n->name, via[k]->url, st, via[k]->buf ? via[k]->buf : "");
        json_decref(ans);
    }
    n->clock = high;
    n->attested = true;
    printf("ROLLBACK node=%s clock=%llu refused=%d of 2 (behind it, through b then a)\n", n->name,
           (unsigned long long)high, refused);
    sim_http_done(&ha);
    sim_http_done(&hb);
}

/* ---- openssl speed ---- */

/* sign/s and verify/s of ECDSA P-256, one core. */
static int openssl_speed(double *sign, double *verify)
{
    char cmd[128], line[512];
    snprintf(cmd, sizeof(cmd), "openssl speed -seconds %d ecdsap256 2>/dev/null", o.speed_seconds);
    FILE *f = popen(cmd, "r");
    int r = -1;
    while (f && fgets(line, sizeof(line), f)) {
        char *p = strstr(line, "(nistp256)");
        double ts, tv;
        if (p && sscanf(p + 10, " %lfs %lfs %lf %lf", &ts, &tv, sign, verify) == 4)
            r = 0;
    }
    if (f)
        pclose(f);
    return r;
}

/* ---- main ---- */

static void usage(FILE *f)
{
    fputs("usage: bench-attest --url URL --eventlog FILE [--home DIR] [--nodes N]\n"
          "       [--seconds S] [--warmup S] [--threads T] [--ek-keys K] [--prefix P]\n"
          "       [--speed-seconds S] [--no-warmup-pass] [--confidential snp [--chips K]]\n"
          "       [--keep-going [--acked FILE]] [--rollback-probe URL_A,URL_B]\n"
          "\n"
          "Drives a running tld's attestation service over HTTP with N simulated nodes\n"
          "(software EKs and AKs, enrolled through the real protocol), then T threads\n"
          "attest them round robin for S seconds. --confidential snp: SEV-SNP confidential\n"
          "nodes, their evidence from the emulated secure processor in HOME/tee-emul\n"
          "(K chips, default 4). --keep-going: an attestation that fails or is lost is\n"
          "counted (TIMELINE lines: passes and failures per second), not fatal; --acked:\n"
          "each pass's attestation id and node written to FILE. --rollback-probe: before\n"
          "the run, node 0's counters checked across two replicas (ROLLBACK line).\n"
          "See bench/README.md.\n",
          f);
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"url", required_argument, NULL, 'u'},
        {"home", required_argument, NULL, 'H'},
        {"eventlog", required_argument, NULL, 'l'},
        {"nodes", required_argument, NULL, 'n'},
        {"seconds", required_argument, NULL, 's'},
        {"warmup", required_argument, NULL, 'w'},
        {"threads", required_argument, NULL, 't'},
        {"ek-keys", required_argument, NULL, 'k'},
        {"prefix", required_argument, NULL, 'p'},
        {"speed-seconds", required_argument, NULL, 'S'},
        {"no-warmup-pass", no_argument, NULL, 'P'},
        {"confidential", required_argument, NULL, 'C'},
        {"chips", required_argument, NULL, 'K'},
        {"keep-going", no_argument, NULL, 'G'},
        {"acked", required_argument, NULL, 'A'},
        {"rollback-probe", required_argument, NULL, 'R'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (c) {
        case 'u':
            o.url = optarg;
            break;
        case 'H':
            o.home = optarg;
            break;
        case 'l':
            o.log = optarg;
            break;
        case 'n':
            o.nodes = atol(optarg);
            break;
        case 's':
            o.seconds = atof(optarg);
            break;
        case 'w':
            o.warmup = atof(optarg);
            break;
        case 't':
            o.threads = atoi(optarg);
            break;
        case 'k':
            o.ek_keys = atol(optarg);
            break;
        case 'p':
            o.prefix = optarg;
            break;
        case 'S':
            o.speed_seconds = atoi(optarg);
            break;
        case 'P':
            o.warmup_pass = false;
            break;
        case 'C':
            if (strcmp(optarg, "snp") != 0) {
                fprintf(stderr, "%s: --confidential: only snp (TDX evidence is not simulated)\n",
                        bench_prog);
                return 2;
            }
            o.confidential = true;
            break;
        case 'K':
            o.chips = atol(optarg);
            break;
        case 'G':
            o.keep_going = true;
            break;
        case 'A':
            o.acked = optarg;
            break;
        case 'R':
            o.rollback_probe = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!o.url || !o.log || o.nodes < 1 || o.seconds <= 0 || o.warmup < 0 || o.threads < 1 ||
        o.threads > 256 || o.ek_keys < 1 || o.chips < 1 || o.chips > 1000) {
        usage(stderr);
        return 2;
    }
    if (o.ek_keys > o.nodes)
        o.ek_keys = o.nodes;
    if (o.threads > o.nodes)
        o.threads = (int)o.nodes;
    setvbuf(stdout, NULL, _IOLBF, 0); /* bench/attest.sh acts on lines as they come */
    curl_global_init(CURL_GLOBAL_DEFAULT);

    /* the service: its pid (for RSS and CPU) and its data directory */
    sim.url = o.url;
    sim.home = o.home;
    sim.prefix = o.prefix;
    sim.threads = o.threads;
    sim.n_nodes = o.nodes;
    sim.n_eks = o.ek_keys;
    sim_evidence_load(&sim.evidence, o.log);
    pid_t pid = (pid_t)sim_service_open(&sim);
    o.home = sim.home;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    char load[64];
    sim_load_average(load, sizeof(load));
    printf("== bench-attest: %s, tld pid %d, %ld CPUs, load %s\n", o.url, (int)pid, cpus, load);
    if (o.confidential)
        printf("   %ld SEV-SNP confidential nodes (EK RSA-2048 x %ld, AK RSA-2048 x %ld: key i mod"
               " %ld; %ld emulated chips), %d threads, %.0f s (+ %.0f s warm-up)\n",
               o.nodes, o.ek_keys, o.ek_keys, o.ek_keys, o.chips, o.threads, o.seconds, o.warmup);
    else
        printf("   %ld nodes (EK RSA-2048 x %ld distinct keys, AK ECC P-256 each), %d threads,"
               " %.0f s (+ %.0f s warm-up)\n",
               o.nodes, o.ek_keys, o.threads, o.seconds, o.warmup);
    printf("   event log %s (%zu bytes base64), PCRs sha256 0-9,14\n", bench_base_name(o.log),
           strlen(sim.evidence.eventlog));
    fflush(stdout);

    sim.nodes = calloc((size_t)o.nodes, sizeof(*sim.nodes));
    sim.eks = calloc((size_t)o.ek_keys, sizeof(*sim.eks));
    if (!sim.nodes || !sim.eks)
        bench_fail("out of memory");
    if (o.confidential) {
        double c0 = bench_clock(CLOCK_MONOTONIC);
        cvm.aks = calloc((size_t)o.ek_keys, sizeof(*cvm.aks));
        if (!cvm.aks)
            bench_fail("out of memory");
        cvm_open();
        printf("tee:     the emulated secure processor %s/tee-emul and %ld chips in %.1f s (ARK"
               " %.16s...)\n",
               o.home, o.chips, bench_clock(CLOCK_MONOTONIC) - c0,
               json_string_value(json_object_get(
                   json_array_get(json_object_get(cvm.policy, "trusted-roots"), 0), "sha256")));
    }
    long rss0 = bench_rss_kib(pid);
    double dt = sim_run_pool(&sim, make_ek, o.ek_keys);
    printf("keys:    %ld RSA-2048 EKs%s in %.1f s\n", o.ek_keys, o.confidential ? " and AKs" : "",
           dt);
    fflush(stdout);

    dt = sim_run_pool(&sim, create_node, o.nodes);
    long rss1 = bench_rss_kib(pid);
    printf("create:  %ld nodes in %.1f s (%.0f/s: EK certificate issued, agent.json, store)\n",
           o.nodes, dt, (double)o.nodes / dt);
    fflush(stdout);
    dt = sim_run_pool(&sim, sim_node_enrol, o.nodes);
    long rss2 = bench_rss_kib(pid);
    printf("enrol:   %ld nodes in %.1f s (%.0f/s: enroll + software ActivateCredential +"
           " activate)\n",
           o.nodes, dt, (double)o.nodes / dt);
    fflush(stdout);

    if (o.rollback_probe)
        rollback_probe(o.rollback_probe);
    struct worker *w = calloc((size_t)o.threads, sizeof(*w));
    if (!w)
        bench_fail("out of memory");
    atomic_store(&phase, o.warmup > 0 ? 0 : 1);
    timeline_t0 = (long)time(NULL);
    printf("attesting from %ld (unix seconds)\n", timeline_t0);
    for (int i = 0; i < o.threads; i++) {
        w[i].id = i;
        if (pthread_create(&w[i].th, NULL, attest_thread, &w[i]) != 0)
            bench_fail("pthread_create failed");
    }
    double w0 = bench_clock(CLOCK_MONOTONIC);
    while (!atomic_load(&sim.failed) &&
           (bench_clock(CLOCK_MONOTONIC) - w0 < o.warmup ||
            (o.warmup_pass && atomic_load(&passes_done) < o.threads))) {
        struct timespec step = {0, 20 * 1000 * 1000};
        nanosleep(&step, NULL);
    }
    if (o.warmup_pass)
        printf("warm-up: every node attested once (%.1f s)\n", bench_clock(CLOCK_MONOTONIC) - w0);
    double c_tld0 = bench_proc_cpu(pid), c_self0 = bench_self_cpu(),
           t0 = bench_clock(CLOCK_MONOTONIC);
    atomic_store(&phase, 1);
    while (!atomic_load(&sim.failed) && bench_clock(CLOCK_MONOTONIC) - t0 < o.seconds) {
        struct timespec step = {0, 50 * 1000 * 1000};
        nanosleep(&step, NULL);
    }
    double window = bench_clock(CLOCK_MONOTONIC) - t0;
    double c_tld = bench_proc_cpu(pid) - c_tld0, c_self = bench_self_cpu() - c_self0;
    atomic_store(&phase, 2);
    for (int i = 0; i < o.threads; i++)
        pthread_join(w[i].th, NULL);
    if (atomic_load(&sim.failed))
        return 1;
    long rss3 = bench_rss_kib(pid);
    struct bench_lat attest = {0}, round = {0};
    long done = 0, first = 0, all = 0, failed = 0;
    FILE *acked = o.acked ? fopen(o.acked, "we") : NULL;
    if (o.acked && !acked)
        bench_fail("%s: cannot write", o.acked);
    for (int i = 0; i < o.threads; i++) {
        failed += w[i].failed;
        for (size_t k = 0; acked && k < w[i].n_acked; k++)
            fprintf(acked, "%lld %s\n", w[i].acked[k].id, sim.nodes[w[i].acked[k].node].name);
        free(w[i].acked);
        for (size_t k = 0; k < w[i].attest.n; k++) {
            bench_lat_add(&attest, w[i].attest.v[k]);
            bench_lat_add(&round, w[i].round.v[k]);
        }
        done += w[i].done;
        first += w[i].first;
        all += w[i].all;
        free(w[i].attest.v);
        free(w[i].round.v);
    }
    free(w);
    if (acked && fclose(acked) != 0)
        bench_fail("%s: cannot write", o.acked);
    if (o.keep_going) {
        long last = (long)time(NULL) - timeline_t0;
        for (long k = 0; k <= last && k < TIMELINE_MAX; k++)
            printf("TIMELINE t=%ld pass=%ld fail=%ld\n", timeline_t0 + k,
                   atomic_load(&timeline_pass[k]), atomic_load(&timeline_fail[k]));
        printf("failed:  %ld attestations without a pass (--keep-going)\n", failed);
    }
    bench_lat_sort(&attest);
    bench_lat_sort(&round);
    double rate = (double)done / window;
    printf("attest:  %ld attestations in %.2f s: %.0f/s sustained, %s%s (%ld were a node's"
           " first; %ld in all with the warm-up)\n",
           done, window, rate, failed ? "the passes" : "all pass",
           o.confidential ? " with SEV-SNP evidence (sevsnpvm)" : "", first, all);
    printf("         attest call  p50 %.2f ms  p99 %.2f ms  max %.2f ms\n",
           bench_lat_pct_ms(&attest, 0.5), bench_lat_pct_ms(&attest, 0.99),
           bench_lat_pct_ms(&attest, 1.0));
    printf("         nonce+attest p50 %.2f ms  p99 %.2f ms  max %.2f ms\n",
           bench_lat_pct_ms(&round, 0.5), bench_lat_pct_ms(&round, 0.99),
           bench_lat_pct_ms(&round, 1.0));
    printf("         CPU in the window: tld %.2f cores (%.0f us per attestation), bench %.2f cores"
           " (%.0f us)\n",
           c_tld / window, done ? c_tld / (double)done * 1e6 : 0, c_self / window,
           done ? c_self / (double)done * 1e6 : 0);
    printf("memory:  tld RSS %ld KiB before, %ld after create, %ld after enrolment, %ld after the"
           " run\n",
           rss0, rss1, rss2, rss3);
    double per_enrolled = (double)(rss2 - rss0) * 1024.0 / (double)o.nodes;
    double per_attested = (double)(rss3 - rss0) * 1024.0 / (double)o.nodes;
    printf("         per node: %.0f bytes enrolled, %.0f bytes after the run (baseline, latest"
           " attestation, nonces)\n",
           per_enrolled, per_attested);
    fflush(stdout);

    double sign = 0, verify = 0, ceiling = 0;
    if (o.speed_seconds > 0 && openssl_speed(&sign, &verify) == 0) {
        ceiling = 1.0 / (1.0 / sign + 1.0 / verify);
        printf("ceiling: openssl speed ecdsap256: %.0f sign/s, %.0f verify/s (one core):"
               " one AK verify + one ES256 sign = %.0f/s per core, %.0f/s on %ld cores\n",
               sign, verify, ceiling, ceiling * (double)cpus, cpus);
        printf("         ours %.0f/s = %.1f%% of one core's ceiling, %.1f%% of the machine's\n",
               rate, 100 * rate / ceiling, 100 * rate / (ceiling * (double)cpus));
    } else if (o.speed_seconds > 0) {
        printf("ceiling: openssl speed ecdsap256 gave no figures\n");
    }
    printf(
        "RESULT mode=%s nodes=%ld threads=%d seconds=%.2f attestations=%ld per_s=%.0f p50_ms=%.2f"
        " p99_ms=%.2f max_ms=%.2f round_p50_ms=%.2f round_p99_ms=%.2f tld_cores=%.2f"
        " bench_cores=%.2f tld_us_per=%.0f rss0_kib=%ld rss_enrolled_kib=%ld rss_after_kib=%ld"
        " bytes_per_enrolled_node=%.0f bytes_per_attested_node=%.0f ecdsa_sign_per_s=%.0f"
        " ecdsa_verify_per_s=%.0f ceiling_per_core=%.0f ratio_per_core=%.3f\n",
        o.confidential ? "snp" : "tl", o.nodes, o.threads, window, done, rate,
        bench_lat_pct_ms(&attest, 0.5), bench_lat_pct_ms(&attest, 0.99),
        bench_lat_pct_ms(&attest, 1.0), bench_lat_pct_ms(&round, 0.5),
        bench_lat_pct_ms(&round, 0.99), c_tld / window, c_self / window,
        done ? c_tld / (double)done * 1e6 : 0, rss0, rss2, rss3, per_enrolled, per_attested, sign,
        verify, ceiling, ceiling > 0 ? rate / ceiling : 0);
    free(attest.v);
    free(round.v);
    curl_global_cleanup();
    return 0;
}
