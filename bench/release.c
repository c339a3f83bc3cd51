/* bench-release: key releases per second through the real protocol (issue
 * 15, "Performance"; bench/README.md, "bench-release"), driven over HTTP on
 * loopback as agents drive it, with simulated TPMs (simnode.h: software
 * keys, the protocol's every step).
 *
 * Before the window, through the API with the operator's token: a vault and
 * an exportable oct-HSM 256 key whose release policy asks for a passing
 * trusted-launch attestation with Secure Boot and a vTPM (the policy of
 * tests/cli/keyrelease_cli.sh). Then --nodes nodes are created, enrolled and
 * attested once each (a passing attestation of the boot is a release's
 * precondition; it stays fresh for TLD_RELEASE_FRESH = 300 s, longer than
 * a run).
 *
 * One release, as tl-agent's release.c makes it (docs/api.md "Key release"):
 *  1. POST nonce;
 *  2. a decrypt-only RSA-2048 key under a storage primary of the NULL
 *     hierarchy (the agent's templates: fixedTPM, fixedParent,
 *     sensitiveDataOrigin, userWithAuth, noDA, decrypt; the primary ECC P-256
 *     restricted decrypt, AES-128-CFB). A TPM makes the key in the TPM, off
 *     the service's path; software RSA key generation costs ~50-200 ms of
 *     this machine's CPU, which tld shares, so --tpm-keys K keys are made
 *     once and release i uses key i mod K (tld keeps nothing of a key between
 *     releases: each release is checked and wrapped afresh);
 *  3. TPM2_Certify of it by the node's AK over the nonce: a TPMS_ATTEST of
 *     type TPM_ST_ATTEST_CERTIFY with the key's Name and its Qualified Name
 *     under the primary under TPM_RH_NULL (TPM 2.0 Part 1, 16.6), signed
 *     ECDSA-SHA256 (sim_attest_sign, the quotes' signer);
 *  4. POST keys/release: 200 with "wrapped" and the key's "version", or the
 *     run stops (exit 1);
 *  5. every --verify-every N-th release (and each thread's first), the
 *     answer opened as the TPM would: RSA-OAEP (SHA-256, MGF1-SHA-256, no
 *     label) with the key's private half, then the RFC 5649 unwrap (its
 *     integrity check passes only under the right AES key): 32 bytes, the
 *     same 32 bytes for every node and release. A mismatch stops the run.
 *
 * The ceiling, measured in the same run after the window: what the token
 * does for one release, as tld calls it (keyvault.c's tld_vault_key_wrap,
 * under the key store's lock: one release at a time, whatever the cores):
 * tlh_keystore_key_find + tlh_keystore_wrap (the RSA-OAEP of the ephemeral
 * AES key to the TPM key's SPKI and the AES key wrap of the key, through the
 * PKCS#11 module), in a loop for --ceiling-seconds on a token of its own
 * (--ceiling-home DIR: SoftHSM2 2.6 keeps one process per token directory,
 * and tld holds the service's), with a key of the same type and size.
 * Printed: wraps per second (wall and CPU), the releases' rate against it.
 *
 * Printed: phases, releases per second over the measured window, p50/p99/
 * max of the release call and of the whole round (nonce + certify +
 * release), tld's and this program's CPU per release, the ceiling, and a
 * last machine-readable line (RESULT ...). */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <tss2/tss2_mu.h>
#include <unistd.h>

#include "bench.h"
#include "simnode.h"
#include "tl/certify.h"
#include "tlhost/keystore.h"

const char bench_prog[] = "bench-release";

/* src/agent/release.c's templates */
#define RELEASE_KEY_ATTRIBUTES                                                                     \
    (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |            \
     TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA | TPMA_OBJECT_DECRYPT)
#define STORAGE_ATTRIBUTES                                                                         \
    (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |            \
     TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT)

#define POLICY                                                                                     \
    "{\"version\": \"1.0.0\", \"anyOf\": [{\"authority\": \"trustlaunch\", \"allOf\": ["           \
    "{\"claim\": \"verdict\", \"equals\": \"pass\"}, "                                             \
    "{\"claim\": \"secure_boot\", \"equals\": true}, "                                             \
    "{\"claim\": \"vtpm\", \"equals\": true}]}]}"

struct opts {
    const char *url, *home, *log, *vault, *key, *ceiling_home;
    long nodes, ek_keys, tpm_keys, verify_every;
    double seconds, warmup, ceiling_seconds;
    int threads;
};

static struct opts o = {.vault = "benchvault",
                        .key = "disk",
                        .nodes = 16,
                        .ek_keys = 4,
                        .tpm_keys = 16,
                        .verify_every = 16,
                        .seconds = 10,
                        .warmup = 1,
                        .ceiling_seconds = 3,
                        .threads = 4};
static struct sim sim = {.prefix = "rel", .threads = 4};

/* A TPM key a release is wrapped to, and its parent (one primary's public
 * area for every simulated TPM: the NULL hierarchy's primary is made from a
 * template, and tld checks its Name chain, not whose it is). */
struct tpm_key {
    EVP_PKEY *key;
    char *public_b64;
    TPM2B_NAME name, qn;
    uint8_t *spki; /* DER, the ceiling's target */
    size_t spki_len;
};
static struct {
    char *public_b64;
    uint8_t qn[TL_TPM_NAME_MAX];
    size_t qn_len;
} parent;
static struct tpm_key *tkeys;

/* ---- the simulated TPM's keys ---- */

static void parent_make(void)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    if (!k)
        bench_fail("EC key generation failed");
    TPM2B_PUBLIC pub = {0};
    TPMT_PUBLIC *p = &pub.publicArea;
    p->type = TPM2_ALG_ECC;
    p->nameAlg = TPM2_ALG_SHA256;
    p->objectAttributes = STORAGE_ATTRIBUTES;
    p->parameters.eccDetail = (TPMS_ECC_PARMS){
        .symmetric = {.algorithm = TPM2_ALG_AES, .keyBits.aes = 128, .mode.aes = TPM2_ALG_CFB},
        .scheme.scheme = TPM2_ALG_NULL,
        .curveID = TPM2_ECC_NIST_P256,
        .kdf.scheme = TPM2_ALG_NULL};
    p->unique.ecc.x.size = p->unique.ecc.y.size = 32;
    sim_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, p->unique.ecc.x.buffer, 32);
    sim_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, p->unique.ecc.y.buffer, 32);
    EVP_PKEY_free(k);
    /* TPM_RH_NULL's Qualified Name is its handle (Part 1, 16.6) */
    static const uint8_t null_qn[4] = {0x40, 0x00, 0x00, 0x07};
    struct tl_error err = {0};
    if (tl_tpm_qualified_name(null_qn, sizeof(null_qn), &pub, parent.qn, &parent.qn_len, &err) < 0)
        bench_die("the primary's Qualified Name", &err);
    parent.public_b64 = sim_marshal_public_b64(&pub);
}

static void tpm_key_make(struct sim *s, struct sim_http *h, long i)
{
    (void)s;
    (void)h;
    struct tpm_key *t = &tkeys[i];
    if (!(t->key = EVP_RSA_gen(2048)))
        bench_fail("RSA key generation failed");
    TPM2B_PUBLIC pub = {0};
    TPMT_PUBLIC *p = &pub.publicArea;
    p->type = TPM2_ALG_RSA;
    p->nameAlg = TPM2_ALG_SHA256;
    p->objectAttributes = RELEASE_KEY_ATTRIBUTES;
    p->parameters.rsaDetail = (TPMS_RSA_PARMS){
        .symmetric.algorithm = TPM2_ALG_NULL, .scheme.scheme = TPM2_ALG_NULL, .keyBits = 2048};
    p->unique.rsa.size = 256;
    sim_bn_param(t->key, OSSL_PKEY_PARAM_RSA_N, p->unique.rsa.buffer, 256);
    struct tl_error err = {0};
    size_t len = 0;
    if (tl_tpm_public_name(&pub, t->name.name, &len, &err) < 0)
        bench_die("the TPM key's Name", &err);
    t->name.size = (UINT16)len;
    if (tl_tpm_qualified_name(parent.qn, parent.qn_len, &pub, t->qn.name, &len, &err) < 0)
        bench_die("the TPM key's Qualified Name", &err);
    t->qn.size = (UINT16)len;
    t->public_b64 = sim_marshal_public_b64(&pub);
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(t->key, &der);
    if (n <= 0)
        bench_fail("i2d_PUBKEY failed");
    t->spki = der;
    t->spki_len = (size_t)n;
}

/* The answer opened as the TPM and the agent would: RSA-OAEP SHA-256 of the
 * ephemeral AES-256 key, then the RFC 5649 unwrap. 0 with the key's bytes
 * in out (at most 64), or -EBADMSG. */
static int unwrap(EVP_PKEY *k, const uint8_t *w, size_t len, uint8_t *out, size_t *out_len)
{
    if (len <= 256 + 8 || len - 256 > 64 + 8)
        return -EBADMSG;
    uint8_t eph[256];
    size_t eph_len = sizeof(eph);
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL);
    bool ok = c && EVP_PKEY_decrypt_init(c) == 1 &&
              EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) == 1 &&
              EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_sha256()) == 1 &&
              EVP_PKEY_CTX_set_rsa_mgf1_md(c, EVP_sha256()) == 1 &&
              EVP_PKEY_decrypt(c, eph, &eph_len, w, 256) == 1 && eph_len == 32;
    EVP_PKEY_CTX_free(c);
    EVP_CIPHER_CTX *x = ok ? EVP_CIPHER_CTX_new() : NULL;
    int n = 0, m = 0;
    if (x) {
        EVP_CIPHER_CTX_set_flags(x, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
        ok = EVP_DecryptInit_ex(x, EVP_aes_256_wrap_pad(), NULL, eph, NULL) == 1 &&
             EVP_DecryptUpdate(x, out, &n, w + 256, (int)(len - 256)) == 1 &&
             EVP_DecryptFinal_ex(x, out + n, &m) == 1;
    }
    EVP_CIPHER_CTX_free(x);
    OPENSSL_cleanse(eph, sizeof(eph));
    *out_len = ok ? (size_t)(n + m) : 0;
    return ok ? 0 : -EBADMSG;
}

/* ---- the vault and the key ---- */

static void key_make(void)
{
    struct sim_http h;
    sim_http_init(&h, sim.url);
    char body[1024];
    snprintf(body, sizeof(body), "{\"name\": \"%s\"}", o.vault);
    long st = sim_http_call(&h, "/v1/vaults", sim.operator_token, body, strlen(body), NULL);
    if (st != 201 && st != 409)
        bench_fail("POST /v1/vaults: HTTP %ld %s", st, h.buf ? h.buf : "");
    snprintf(body, sizeof(body),
             "{\"name\": \"%s\", \"kty\": \"oct-HSM\", \"size\": 256, \"exportable\": true,"
             " \"release_policy\": %s}",
             o.key, POLICY);
    char path[256];
    snprintf(path, sizeof(path), "/v1/vaults/%s/keys", o.vault);
    json_t *ans = NULL;
    st = sim_http_call(&h, path, sim.operator_token, body, strlen(body), &ans);
    if (st != 201)
        bench_fail("POST %s: HTTP %ld %s (a key of that name exists? --key)", path, st,
                   h.buf ? h.buf : "");
    printf("key:     %s/%s/%s (oct-HSM 256, exportable; policy: verdict pass, secure_boot,"
           " vtpm)\n",
           o.vault, o.key, json_string_value(json_object_get(ans, "version")));
    json_decref(ans);
    sim_http_done(&h);
}

/* ---- enrolment and the first attestation ---- */

static void ek_make(struct sim *s, struct sim_http *h, long i)
{
    (void)h;
    sim_ek_make(&s->eks[i]);
}

static void node_prepare(struct sim *s, struct sim_http *h, long i)
{
    struct sim_node *n = &s->nodes[i];
    snprintf(n->name, sizeof(n->name), "%s-%06ld", s->prefix, i);
    sim_ak_make(n);
    if (sim_node_create(s, h, i, NULL, NULL) < 0)
        return;
    sim_node_enrol(s, h, i);
    if (atomic_load(&s->failed))
        return;
    json_t *ans = NULL;
    double t = 0;
    long st = sim_node_attest(s, h, i, NULL, &ans, &t);
    const char *verdict = json_string_value(json_object_get(ans, "verdict"));
    if (st != 200 || !verdict || strcmp(verdict, "pass") != 0) {
        fprintf(stderr, "%s: attest %s: HTTP %ld, verdict %s: %.600s\n", bench_prog, n->name, st,
                verdict ? verdict : "none", h->buf ? h->buf : "");
        atomic_store(&s->failed, 1);
    }
    n->attested = true;
    json_decref(ans);
}

/* ---- releases ---- */

struct worker {
    pthread_t th;
    int id;
    struct bench_lat call, round; /* seconds, measured window only */
    long done, all, verified;
};

static atomic_int phase; /* 0 warm-up, 1 measuring, 2 stop */
static atomic_long release_seq;
static pthread_mutex_t ref_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    bool set;
    uint8_t bytes[64];
    size_t len;
    char version[64];
} ref; /* the first opened answer: every other must equal it */

static bool check_opened(const uint8_t *k, size_t len, const char *version)
{
    pthread_mutex_lock(&ref_lock);
    if (!ref.set) {
        ref.set = true;
        memcpy(ref.bytes, k, len);
        ref.len = len;
        snprintf(ref.version, sizeof(ref.version), "%s", version);
    }
    bool ok = ref.len == len && CRYPTO_memcmp(ref.bytes, k, len) == 0 &&
              strcmp(ref.version, version) == 0;
    pthread_mutex_unlock(&ref_lock);
    return ok;
}

/* One release of node i to TPM key t; 0, or -1 with the line printed. */
static int release_once(struct sim_http *h, long i, struct tpm_key *t, bool verify, double *t_call)
{
    struct sim_node *n = &sim.nodes[i];
    char path[128];
    json_t *ans = NULL;
    snprintf(path, sizeof(path), "/v1/nodes/%s/nonce", n->name);
    long st = sim_http_call(h, path, n->token, "{}", 2, &ans);
    const char *nonce_hex = json_string_value(json_object_get(ans, "nonce"));
    TPMS_ATTEST a = {.type = TPM2_ST_ATTEST_CERTIFY};
    if (st != 200 || !nonce_hex ||
        tl_hex_decode(nonce_hex, strlen(nonce_hex), a.extraData.buffer, 32) != 32) {
        fprintf(stderr, "%s: nonce %s: HTTP %ld %s\n", bench_prog, n->name, st,
                h->buf ? h->buf : "");
        json_decref(ans);
        return -1;
    }
    a.extraData.size = 32;
    a.attested.certify.name = t->name;
    a.attested.certify.qualifiedName = t->qn;
    char cert_b64[sizeof(TPMS_ATTEST) * 4 / 3 + 8], sig_b64[sizeof(TPMT_SIGNATURE) * 4 / 3 + 8];
    sim_attest_sign(n, &a, cert_b64, sig_b64, NULL);
    char body[8192];
    int k =
        snprintf(body, sizeof(body),
                 "{\"vault\":\"%s\",\"key\":\"%s\",\"nonce\":\"%s\",\"key_public\":\"%s\","
                 "\"parent_public\":\"%s\",\"certify\":\"%s\",\"signature\":\"%s\"}",
                 o.vault, o.key, nonce_hex, t->public_b64, parent.public_b64, cert_b64, sig_b64);
    json_decref(ans);
    if (k < 0 || (size_t)k >= sizeof(body))
        bench_fail("the release request is %d bytes", k);
    snprintf(path, sizeof(path), "/v1/nodes/%s/keys/release", n->name);
    double t0 = bench_clock(CLOCK_MONOTONIC);
    st = sim_http_call(h, path, n->token, body, (size_t)k, &ans);
    *t_call = bench_clock(CLOCK_MONOTONIC) - t0;
    const char *wrapped = json_string_value(json_object_get(ans, "wrapped"));
    const char *version = json_string_value(json_object_get(ans, "version"));
    int r = 0;
    if (st != 200 || !wrapped || !version) {
        fprintf(stderr, "%s: release %s: HTTP %ld %.600s\n", bench_prog, n->name, st,
                h->buf ? h->buf : "");
        r = -1;
    } else if (verify) {
        uint8_t *w = NULL, key[64 + 8];
        size_t w_len = 0, key_len = 0;
        if (sim_unb64(wrapped, &w, &w_len) < 0 || unwrap(t->key, w, w_len, key, &key_len) < 0) {
            fprintf(stderr, "%s: release %s: the answer does not open with the TPM key\n",
                    bench_prog, n->name);
            r = -1;
        } else if (key_len != 32 || !check_opened(key, key_len, version)) {
            fprintf(stderr,
                    "%s: release %s: opened to %zu bytes of version %s, not the 32 bytes of"
                    " version %s every other release gave\n",
                    bench_prog, n->name, key_len, version, ref.version);
            r = -1;
        }
        OPENSSL_cleanse(key, sizeof(key));
        free(w);
    }
    json_decref(ans);
    return r;
}

static void *release_thread(void *p)
{
    struct worker *w = p;
    struct sim_http h;
    sim_http_init(&h, sim.url);
    for (long i = w->id; atomic_load(&phase) < 2 && !atomic_load(&sim.failed);) {
        long seq = atomic_fetch_add(&release_seq, 1);
        bool verify = w->all == 0 || seq % o.verify_every == 0;
        double t0 = bench_clock(CLOCK_MONOTONIC), t_call = 0;
        if (release_once(&h, i, &tkeys[seq % o.tpm_keys], verify, &t_call) < 0) {
            atomic_store(&sim.failed, 1);
            break;
        }
        double t1 = bench_clock(CLOCK_MONOTONIC);
        w->all++;
        w->verified += verify;
        if (atomic_load(&phase) == 1) {
            bench_lat_add(&w->call, t_call);
            bench_lat_add(&w->round, t1 - t0);
            w->done++;
        }
        i += sim.threads;
        if (i >= sim.n_nodes)
            i = w->id;
    }
    sim_http_done(&h);
    return NULL;
}

/* ---- the token's ceiling ---- */

struct ceiling {
    double per_s, cpu_per_s, wrap_only_per_s;
    long n;
    int path; /* enum tlh_wrap_path */
};

/* tlh_keystore_key_find + tlh_keystore_wrap in a loop, as
 * tld_vault_key_wrap runs them; then tlh_keystore_wrap alone. */
static void ceiling_measure(struct ceiling *c)
{
    struct tlh_keystore ks = {0};
    struct tlh_keystore_config cfg = {.home = o.ceiling_home};
    struct tl_error err = {0};
    if (mkdir(o.ceiling_home, 0700) < 0 && errno != EEXIST)
        bench_fail("%s: %s", o.ceiling_home, strerror(errno));
    if (tlh_keystore_open(&ks, &cfg, &err) < 0)
        bench_die(o.ceiling_home, &err);
    struct tlh_key key;
    int r = tlh_keystore_key_find(&ks, o.vault, o.key, NULL, &key, &err);
    if (r == -ENOENT)
        r = tlh_keystore_key_create(&ks, o.vault, o.key, TLH_KEY_OCT_HSM, 256, true, &key, &err);
    if (r < 0)
        bench_die("the ceiling's key", &err);
    for (int pass = 0; pass < 2; pass++) {
        double t0 = bench_clock(CLOCK_MONOTONIC), c0 = bench_self_cpu(), t = 0;
        long n = 0;
        do {
            uint8_t *out = NULL;
            size_t len = 0;
            struct tlh_key k = key;
            if (pass == 0 && tlh_keystore_key_find(&ks, o.vault, o.key, NULL, &k, &err) < 0)
                bench_die("tlh_keystore_key_find", &err);
            const struct tpm_key *tk = &tkeys[n % o.tpm_keys];
            r = tlh_keystore_wrap(&ks, &k, tk->spki, tk->spki_len, &out, &len, &err);
            if (r < 0)
                bench_die("tlh_keystore_wrap", &err);
            c->path = r;
            if (n == 0) { /* the token's answer opens as tld's does */
                uint8_t opened[72];
                size_t opened_len = 0;
                if (unwrap(tk->key, out, len, opened, &opened_len) < 0 || opened_len != 32)
                    bench_fail("the ceiling's wrap does not open to 32 bytes");
                OPENSSL_cleanse(opened, sizeof(opened));
            }
            free(out);
            n++;
        } while ((t = bench_clock(CLOCK_MONOTONIC) - t0) < o.ceiling_seconds);
        double cpu = bench_self_cpu() - c0;
        if (pass == 0) {
            c->n = n;
            c->per_s = (double)n / t;
            c->cpu_per_s = cpu > 0 ? (double)n / cpu : 0;
        } else {
            c->wrap_only_per_s = (double)n / t;
        }
    }
    tlh_keystore_close(&ks);
}

/* ---- main ---- */

static void usage(FILE *f)
{
    fputs("usage: bench-release --url URL --eventlog FILE [--home DIR] [--nodes N]\n"
          "       [--seconds S] [--warmup S] [--threads T] [--ek-keys K] [--tpm-keys K]\n"
          "       [--verify-every N] [--vault V] [--key K] [--ceiling-home DIR]\n"
          "       [--ceiling-seconds S]\n"
          "\n"
          "Drives a running tld's key release route over HTTP with N simulated nodes\n"
          "(software EKs, AKs and TPM keys; enrolled and attested through the real\n"
          "protocol), T threads releasing round robin for S seconds; then the token's\n"
          "ceiling (tlh_keystore_wrap on a token in DIR). See bench/README.md.\n",
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
        {"tpm-keys", required_argument, NULL, 'K'},
        {"verify-every", required_argument, NULL, 'V'},
        {"vault", required_argument, NULL, 'v'},
        {"key", required_argument, NULL, 'y'},
        {"ceiling-home", required_argument, NULL, 'c'},
        {"ceiling-seconds", required_argument, NULL, 'C'},
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
        case 'K':
            o.tpm_keys = atol(optarg);
            break;
        case 'V':
            o.verify_every = atol(optarg);
            break;
        case 'v':
            o.vault = optarg;
            break;
        case 'y':
            o.key = optarg;
            break;
        case 'c':
            o.ceiling_home = optarg;
            break;
        case 'C':
            o.ceiling_seconds = atof(optarg);
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
        o.threads > 256 || o.ek_keys < 1 || o.tpm_keys < 1 || o.verify_every < 1 ||
        o.ceiling_seconds <= 0) {
        usage(stderr);
        return 2;
    }
    if (o.ek_keys > o.nodes)
        o.ek_keys = o.nodes;
    if (o.threads > o.nodes)
        o.threads = (int)o.nodes;
    setvbuf(stdout, NULL, _IOLBF, 0);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    sim.url = o.url;
    sim.home = o.home;
    sim.threads = o.threads;
    sim.n_nodes = o.nodes;
    sim.n_eks = o.ek_keys;
    sim_evidence_load(&sim.evidence, o.log);

    int pid = sim_service_open(&sim);
    char load[64];
    sim_load_average(load, sizeof(load));
    printf("== bench-release: %s, tld pid %d, %ld CPUs, load %s\n", o.url, pid,
           sysconf(_SC_NPROCESSORS_ONLN), load);
    printf("   %ld nodes (EK RSA-2048 x %ld, AK ECC P-256 each), %ld TPM keys (RSA-2048, the"
           " agent's template), %d threads, %.0f s (+ %.0f s warm-up), every %ld-th answer"
           " opened\n",
           o.nodes, o.ek_keys, o.tpm_keys, o.threads, o.seconds, o.warmup, o.verify_every);

    sim.nodes = calloc((size_t)o.nodes, sizeof(*sim.nodes));
    sim.eks = calloc((size_t)o.ek_keys, sizeof(*sim.eks));
    tkeys = calloc((size_t)o.tpm_keys, sizeof(*tkeys));
    if (!sim.nodes || !sim.eks || !tkeys)
        bench_fail("out of memory");
    key_make();
    parent_make();
    double dt = sim_run_pool(&sim, tpm_key_make, o.tpm_keys);
    printf("keys:    %ld RSA-2048 TPM keys in %.1f s\n", o.tpm_keys, dt);
    dt = sim_run_pool(&sim, ek_make, o.ek_keys);
    printf("keys:    %ld RSA-2048 EKs in %.1f s\n", o.ek_keys, dt);
    dt = sim_run_pool(&sim, node_prepare, o.nodes);
    printf("nodes:   %ld created, enrolled and attested (pass) in %.1f s\n", o.nodes, dt);

    struct worker *w = calloc((size_t)o.threads, sizeof(*w));
    if (!w)
        bench_fail("out of memory");
    atomic_store(&phase, o.warmup > 0 ? 0 : 1);
    for (int i = 0; i < o.threads; i++) {
        w[i].id = i;
        if (pthread_create(&w[i].th, NULL, release_thread, &w[i]) != 0)
            bench_fail("pthread_create failed");
    }
    double w0 = bench_clock(CLOCK_MONOTONIC);
    while (!atomic_load(&sim.failed) && bench_clock(CLOCK_MONOTONIC) - w0 < o.warmup) {
        struct timespec step = {0, 20 * 1000 * 1000};
        nanosleep(&step, NULL);
    }
    double c_tld0 = bench_proc_cpu(pid), c_self0 = bench_self_cpu();
    double t0 = bench_clock(CLOCK_MONOTONIC);
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
    struct bench_lat call = {0}, round = {0};
    long done = 0, all = 0, verified = 0;
    for (int i = 0; i < o.threads; i++) {
        for (size_t k = 0; k < w[i].call.n; k++) {
            bench_lat_add(&call, w[i].call.v[k]);
            bench_lat_add(&round, w[i].round.v[k]);
        }
        done += w[i].done;
        all += w[i].all;
        verified += w[i].verified;
        free(w[i].call.v);
        free(w[i].round.v);
    }
    free(w);
    bench_lat_sort(&call);
    bench_lat_sort(&round);
    double rate = (double)done / window;
    printf("release: %ld releases in %.2f s: %.0f/s sustained, all granted (%ld in all with the"
           " warm-up; %ld answers opened, each the same 32 bytes of version %s)\n",
           done, window, rate, all, verified, ref.version);
    printf("         release call p50 %.2f ms  p99 %.2f ms  max %.2f ms\n",
           bench_lat_pct_ms(&call, 0.5), bench_lat_pct_ms(&call, 0.99),
           bench_lat_pct_ms(&call, 1.0));
    printf("         nonce+certify+release p50 %.2f ms  p99 %.2f ms  max %.2f ms\n",
           bench_lat_pct_ms(&round, 0.5), bench_lat_pct_ms(&round, 0.99),
           bench_lat_pct_ms(&round, 1.0));
    printf("         CPU in the window: tld %.2f cores (%.0f us per release), bench %.2f cores"
           " (%.0f us)\n",
           c_tld / window, done ? c_tld / (double)done * 1e6 : 0, c_self / window,
           done ? c_self / (double)done * 1e6 : 0);

    struct ceiling cl = {0};
    if (o.ceiling_home) {
        ceiling_measure(&cl);
        static const char *const paths[] = {"CKM_RSA_AES_KEY_WRAP in the token",
                                            "composed in the token",
                                            "AES-KWP in the token, OAEP-SHA-256 in OpenSSL"};
        printf("ceiling: the token's work for one release (tlh_keystore_key_find +"
               " tlh_keystore_wrap, %s; one at a time, as under tld's key store lock):"
               " %.0f/s (%.0f per CPU second, %ld in %.1f s); the wrap alone %.0f/s\n",
               cl.path >= 0 && cl.path < 3 ? paths[cl.path] : "?", cl.per_s, cl.cpu_per_s, cl.n,
               o.ceiling_seconds, cl.wrap_only_per_s);
        printf("         releases %.0f/s = %.1f%% of the token's ceiling; per release the token's"
               " work is %.0f us of CPU, %.0f%% of the %.0f us tld spent\n",
               rate, 100 * rate / cl.per_s, cl.cpu_per_s > 0 ? 1e6 / cl.cpu_per_s : 0,
               cl.cpu_per_s > 0 && done && c_tld > 0
                   ? 100 * (1e6 / cl.cpu_per_s) / (c_tld / (double)done * 1e6)
                   : 0,
               done ? c_tld / (double)done * 1e6 : 0);
    }
    printf("RESULT nodes=%ld threads=%d seconds=%.2f releases=%ld per_s=%.0f p50_ms=%.2f"
           " p99_ms=%.2f max_ms=%.2f round_p50_ms=%.2f round_p99_ms=%.2f tld_cores=%.2f"
           " bench_cores=%.2f tld_us_per=%.0f verified=%ld ceiling_per_s=%.0f"
           " ceiling_cpu_per_s=%.0f wrap_only_per_s=%.0f ratio=%.3f\n",
           o.nodes, o.threads, window, done, rate, bench_lat_pct_ms(&call, 0.5),
           bench_lat_pct_ms(&call, 0.99), bench_lat_pct_ms(&call, 1.0),
           bench_lat_pct_ms(&round, 0.5), bench_lat_pct_ms(&round, 0.99), c_tld / window,
           c_self / window, done ? c_tld / (double)done * 1e6 : 0, verified, cl.per_s, cl.cpu_per_s,
           cl.wrap_only_per_s, cl.per_s > 0 ? rate / cl.per_s : 0);
    free(call.v);
    free(round.v);
    curl_global_cleanup();
    return 0;
}
