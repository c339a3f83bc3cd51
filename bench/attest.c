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

#define QUOTE_PCRS (((1u << 10) - 1) | (1u << 14)) /* sha256 0-9 and 14, as tl-agent */

/* The AK's attributes, as src/agent/ak.c makes it. */
#define AK_ATTRIBUTES                                                                              \
    (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |            \
     TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT)

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
};

struct ek_key {
    EVP_PKEY *key;
    char *public_b64; /* marshalled TPM2B_PUBLIC */
};

struct node {
    char name[32];
    char token[160]; /* "NAME.SECRET" */
    EVP_PKEY *ak;
    uint8_t ak_name[TL_TPM_NAME_MAX];
    size_t ak_name_len;
    char *ak_public_b64;
    char *ek_cert_b64;
    uint64_t clock; /* the quote's clockInfo.clock: only forward */
    char uuid[40];  /* tld's, the runtime JSON's vmUniqueId (confidential) */
    bool attested;  /* at least once (the first one learns the baseline) */
};

/* What every attestation sends besides its nonce, quote and signature. */
static struct {
    char *pcrs_json;    /* {"sha256":{"0":"..",...}} */
    char *eventlog;     /* base64 */
    uint8_t digest[32]; /* the PCR digest of QUOTE_PCRS */
    char *tee_pcrs;     /* trustee's list: ["hex" x 15], PCR 0-14, zeros for 10-13 */
} evidence;

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
static struct node *nodes;
static struct ek_key *eks;
static atomic_long next_item;
static atomic_int failed;

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", bench_prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static char *b64(const uint8_t *in, size_t len)
{
    char *out = malloc(len / 3 * 4 + 8);
    if (!out)
        die("out of memory");
    EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    return out;
}

static int unb64(const char *in, uint8_t **out, size_t *len)
{
    size_t n = in ? strlen(in) : 0;
    if (!in || n % 4)
        return -EINVAL;
    uint8_t *buf = malloc(n / 4 * 3 + 1);
    int k = buf ? EVP_DecodeBlock(buf, (const unsigned char *)in, (int)n) : -1;
    if (k < 0) {
        free(buf);
        return -EINVAL;
    }
    k -= (n && in[n - 1] == '=') + (n > 1 && in[n - 2] == '=');
    *out = buf;
    *len = (size_t)k;
    return 0;
}

/* ---- HTTP: one keep-alive connection per thread ---- */

struct http {
    CURL *c;
    char *buf;
    size_t len, cap;
};

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    struct http *h = ud;
    size_t k = size * n;
    if (h->len + k + 1 > h->cap) {
        size_t cap = (h->len + k + 1) * 2;
        char *b = realloc(h->buf, cap);
        if (!b)
            return 0;
        h->buf = b;
        h->cap = cap;
    }
    memcpy(h->buf + h->len, p, k);
    h->len += k;
    h->buf[h->len] = 0;
    return k;
}

static void http_init(struct http *h)
{
    *h = (struct http){.c = curl_easy_init()};
    if (!h->c)
        die("curl_easy_init failed");
    curl_easy_setopt(h->c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h->c, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(h->c, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h->c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h->c, CURLOPT_TIMEOUT, 120L);
}

static void http_done(struct http *h)
{
    curl_easy_cleanup(h->c);
    free(h->buf);
}

/* The operator's credential (docs/api.md): $TL_TOKEN, else the
 * operator.token of --home. Nodes are created with it; each node's agent
 * calls carry the node's own token. */
static char operator_token[130];

static void operator_token_load(void)
{
    const char *env = getenv("TL_TOKEN");
    if (env && *env) {
        snprintf(operator_token, sizeof(operator_token), "%s", env);
        return;
    }
    if (!o.home)
        die("give --home (its operator.token) or TL_TOKEN");
    char path[4096];
    snprintf(path, sizeof(path), "%s/operator.token", o.home);
    FILE *f = fopen(path, "re");
    if (!f || !fgets(operator_token, sizeof(operator_token), f))
        die("%s: cannot read the operator token", path);
    fclose(f);
    operator_token[strcspn(operator_token, "\r\n")] = 0;
}

/* A request (POST when body is not NULL) to o.url + path; the status, the
 * answer in h->buf (parsed into *answer when given and JSON). */
static long http_call(struct http *h, const char *path, const char *token, const char *body,
                      size_t len, json_t **answer)
{
    char url[512], auth[128];
    snprintf(url, sizeof(url), "%s%s", o.url, path);
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    hdr = curl_slist_append(hdr, "Expect:"); /* no 100-continue round trip */
    if (token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        hdr = curl_slist_append(hdr, auth);
    }
    h->len = 0;
    if (h->buf)
        h->buf[0] = 0;
    curl_easy_setopt(h->c, CURLOPT_URL, url);
    curl_easy_setopt(h->c, CURLOPT_HTTPHEADER, hdr);
    if (body) {
        curl_easy_setopt(h->c, CURLOPT_POST, 1L);
        curl_easy_setopt(h->c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h->c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    } else {
        curl_easy_setopt(h->c, CURLOPT_HTTPGET, 1L);
    }
    CURLcode rc = curl_easy_perform(h->c);
    curl_slist_free_all(hdr);
    if (rc != CURLE_OK)
        die("%s: %s", url, curl_easy_strerror(rc));
    long status = 0;
    curl_easy_getinfo(h->c, CURLINFO_RESPONSE_CODE, &status);
    if (answer)
        *answer = h->buf ? json_loadb(h->buf, h->len, 0, NULL) : NULL;
    return status;
}

/* ---- /proc ---- */

static long rss_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "re");
    long v = -1;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &v) == 1)
            break;
    if (f)
        fclose(f);
    return v;
}

/* utime + stime of a process, seconds. */
static double proc_cpu(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    unsigned long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double self_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

/* ---- keys and TPM structures ---- */

static char *marshal_public_b64(const TPM2B_PUBLIC *pub)
{
    uint8_t buf[sizeof(TPM2B_PUBLIC)];
    size_t off = 0;
    if (Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS)
        die("marshalling a TPM2B_PUBLIC failed");
    return b64(buf, off);
}

static void bn_param(EVP_PKEY *k, const char *name, uint8_t *out, int size)
{
    BIGNUM *bn = NULL;
    if (EVP_PKEY_get_bn_param(k, name, &bn) != 1 || BN_bn2binpad(bn, out, size) != size)
        die("key parameter %s", name);
    BN_free(bn);
}

/* An RSA-2048 EK: a software key in the default EK template (L-1). */
static void ek_make(struct ek_key *e)
{
    e->key = EVP_RSA_gen(2048);
    if (!e->key)
        die("RSA key generation failed");
    TPM2B_PUBLIC pub;
    tl_ek_template(TL_EK_RSA2048, &pub);
    bn_param(e->key, OSSL_PKEY_PARAM_RSA_N, pub.publicArea.unique.rsa.buffer, 256);
    e->public_b64 = marshal_public_b64(&pub);
}

/* An ECC P-256 AK as tl-agent creates it, and its Name. */
static void ak_make(struct node *n)
{
    n->ak = EVP_EC_gen("P-256");
    if (!n->ak)
        die("EC key generation failed");
    TPM2B_PUBLIC pub = {0};
    TPMT_PUBLIC *p = &pub.publicArea;
    p->type = TPM2_ALG_ECC;
    p->nameAlg = TPM2_ALG_SHA256;
    p->objectAttributes = AK_ATTRIBUTES;
    p->parameters.eccDetail = (TPMS_ECC_PARMS){
        .symmetric.algorithm = TPM2_ALG_NULL,
        .scheme = {.scheme = TPM2_ALG_ECDSA, .details.ecdsa.hashAlg = TPM2_ALG_SHA256},
        .curveID = TPM2_ECC_NIST_P256,
        .kdf.scheme = TPM2_ALG_NULL};
    p->unique.ecc.x.size = p->unique.ecc.y.size = 32;
    bn_param(n->ak, OSSL_PKEY_PARAM_EC_PUB_X, p->unique.ecc.x.buffer, 32);
    bn_param(n->ak, OSSL_PKEY_PARAM_EC_PUB_Y, p->unique.ecc.y.buffer, 32);
    struct tl_error err = {0};
    if (tl_tpm_public_name(&pub, n->ak_name, &n->ak_name_len, &err) < 0)
        bench_die("AK Name", &err);
    n->ak_public_b64 = marshal_public_b64(&pub);
}

/* An RSA-2048 AK in the paravisor's template (tlh_paravisor_ak_template:
 * restricted signing, RSASSA-SHA256, the TCG AK attributes), and its Name:
 * a confidential node's AK at 0x81000003. */
static void ak_make_rsa(struct node *n, EVP_PKEY *key)
{
    n->ak = key;
    if (EVP_PKEY_up_ref(key) != 1)
        die("EVP_PKEY_up_ref failed");
    TPM2B_PUBLIC pub;
    tlh_paravisor_ak_template(&pub);
    TPMT_PUBLIC *p = &pub.publicArea;
    p->unique.rsa.size = 256;
    bn_param(key, OSSL_PKEY_PARAM_RSA_N, p->unique.rsa.buffer, 256);
    struct tl_error err = {0};
    if (tl_tpm_public_name(&pub, n->ak_name, &n->ak_name_len, &err) < 0)
        bench_die("AK Name", &err);
    n->ak_public_b64 = marshal_public_b64(&pub);
}

/* ---- ActivateCredential in software (tests/unit/test_credential.c) ---- */

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* KDFa, Part 1 11.4.10.3, SHA-256:
 * K(i) = HMAC(key, [i]32 || Label || 0x00 || ContextU || ContextV || [bits]32). */
static void kdfa(const uint8_t *key, size_t key_len, const char *label, const uint8_t *u,
                 size_t u_len, size_t bits, uint8_t *out)
{
    uint8_t msg[4 + 32 + 80 + 4], k[32];
    size_t done = 0;
    for (uint32_t i = 1; done < bits / 8; i++) {
        size_t n = 4;
        be32(msg, i);
        memcpy(msg + n, label, strlen(label) + 1);
        n += strlen(label) + 1;
        if (u_len)
            memcpy(msg + n, u, u_len);
        n += u_len;
        be32(msg + n, (uint32_t)bits);
        n += 4;
        unsigned kl = 0;
        if (!HMAC(EVP_sha256(), key, (int)key_len, msg, n, k, &kl))
            die("HMAC failed");
        size_t take = bits / 8 - done < 32 ? bits / 8 - done : 32;
        memcpy(out + done, k, take);
        done += take;
    }
}

/* The seed: RSA-OAEP(SHA-256, label "IDENTITY\0") with the EK's private key. */
static int seed_rsa(EVP_PKEY *k, const uint8_t *enc_m, size_t enc_len, uint8_t seed[32])
{
    TPM2B_ENCRYPTED_SECRET s = {0};
    size_t off = 0;
    if (Tss2_MU_TPM2B_ENCRYPTED_SECRET_Unmarshal(enc_m, enc_len, &off, &s) != TSS2_RC_SUCCESS ||
        off != enc_len)
        return -EBADMSG;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL);
    uint8_t *label = OPENSSL_malloc(9);
    uint8_t out[256];
    size_t n = sizeof(out);
    int r = -EPERM;
    if (c && label && EVP_PKEY_decrypt_init(c) == 1 &&
        EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) == 1 &&
        EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_sha256()) == 1) {
        memcpy(label, "IDENTITY", 9);
        if (EVP_PKEY_CTX_set0_rsa_oaep_label(c, label, 9) == 1) {
            label = NULL;
            if (EVP_PKEY_decrypt(c, out, &n, s.secret, s.size) == 1 && n == 32) {
                memcpy(seed, out, 32);
                r = 0;
            }
        }
    }
    OPENSSL_free(label);
    EVP_PKEY_CTX_free(c);
    return r;
}

/* TPM2_ActivateCredential's second half: the integrity HMAC, then
 * AES-128-CFB with a zero IV; -EPERM when the integrity check fails. */
static int activate(const uint8_t seed[32], const uint8_t *blob_m, size_t blob_len,
                    const uint8_t *name, size_t name_len, uint8_t *secret, size_t *secret_len)
{
    TPM2B_ID_OBJECT blob = {0};
    TPM2B_DIGEST integrity = {0};
    size_t off = 0;
    if (Tss2_MU_TPM2B_ID_OBJECT_Unmarshal(blob_m, blob_len, &off, &blob) != TSS2_RC_SUCCESS ||
        off != blob_len)
        return -EBADMSG;
    off = 0;
    if (Tss2_MU_TPM2B_DIGEST_Unmarshal(blob.credential, blob.size, &off, &integrity) !=
            TSS2_RC_SUCCESS ||
        integrity.size != 32)
        return -EBADMSG;
    const uint8_t *enc = blob.credential + off;
    size_t enc_len = blob.size - off;
    uint8_t hkey[32], hmac[32];
    kdfa(seed, 32, "INTEGRITY", NULL, 0, 256, hkey);
    uint8_t msg[sizeof(TPM2B_DIGEST) + sizeof(TPMU_NAME)];
    memcpy(msg, enc, enc_len);
    memcpy(msg + enc_len, name, name_len);
    unsigned hl = 0;
    if (!HMAC(EVP_sha256(), hkey, 32, msg, enc_len + name_len, hmac, &hl) ||
        CRYPTO_memcmp(hmac, integrity.buffer, 32) != 0)
        return -EPERM;
    uint8_t skey[16], plain[sizeof(TPM2B_DIGEST)];
    kdfa(seed, 32, "STORAGE", name, name_len, 128, skey);
    static const uint8_t iv[16];
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0;
    bool ok = c && EVP_DecryptInit_ex(c, EVP_aes_128_cfb128(), NULL, skey, iv) == 1 &&
              EVP_DecryptUpdate(c, plain, &n, enc, (int)enc_len) == 1;
    EVP_CIPHER_CTX_free(c);
    TPM2B_DIGEST cred = {0};
    off = 0;
    if (!ok || Tss2_MU_TPM2B_DIGEST_Unmarshal(plain, (size_t)n, &off, &cred) != TSS2_RC_SUCCESS ||
        off != (size_t)n)
        return -EBADMSG;
    memcpy(secret, cred.buffer, cred.size);
    *secret_len = cred.size;
    return 0;
}

/* ---- the quote ---- */

/* The raw quote and signature, for a confidential node's tee_evidence. */
struct quote_raw {
    uint8_t attest[sizeof(TPMS_ATTEST)];
    size_t attest_len;
    uint8_t sig[512]; /* RSASSA-PKCS1-v1_5, big-endian */
    size_t sig_len;
};

/* TPMS_ATTEST of a quote, signed by the AK (ECDSA-SHA256; RSASSA-SHA256 for
 * an RSA AK, keeping the bytes in *raw): the marshalled attest and
 * TPMT_SIGNATURE, base64. */
static void make_quote(struct node *n, const uint8_t nonce[32], char *quote_b64, char *sig_b64,
                       struct quote_raw *raw)
{
    TPMS_ATTEST a = {0};
    a.magic = TPM2_GENERATED_VALUE;
    a.type = TPM2_ST_ATTEST_QUOTE;
    a.qualifiedSigner.size = (UINT16)n->ak_name_len;
    memcpy(a.qualifiedSigner.name, n->ak_name, n->ak_name_len);
    a.extraData.size = 32;
    memcpy(a.extraData.buffer, nonce, 32);
    n->clock += 1000;
    a.clockInfo = (TPMS_CLOCK_INFO){.clock = n->clock, .safe = TPM2_YES};
    a.firmwareVersion = 0x2019102300163636ull;
    TPML_PCR_SELECTION *sel = &a.attested.quote.pcrSelect;
    sel->count = 1;
    sel->pcrSelections[0].hash = TPM2_ALG_SHA256;
    sel->pcrSelections[0].sizeofSelect = 3;
    for (unsigned i = 0; i < 24; i++)
        if (QUOTE_PCRS & (1u << i))
            sel->pcrSelections[0].pcrSelect[i / 8] |= (uint8_t)(1u << (i % 8));
    a.attested.quote.pcrDigest.size = 32;
    memcpy(a.attested.quote.pcrDigest.buffer, evidence.digest, 32);
    uint8_t buf[sizeof(TPMS_ATTEST)];
    size_t len = 0;
    if (Tss2_MU_TPMS_ATTEST_Marshal(&a, buf, sizeof(buf), &len) != TSS2_RC_SUCCESS)
        die("marshalling the quote failed");

    uint8_t der[512];
    size_t der_len = sizeof(der);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, n->ak) != 1 ||
        EVP_DigestSign(md, der, &der_len, buf, len) != 1)
        die("AK signing failed");
    EVP_MD_CTX_free(md);
    TPMT_SIGNATURE sig = {0};
    if (EVP_PKEY_is_a(n->ak, "RSA")) { /* PKCS#1 v1.5, the EVP default */
        if (der_len > sizeof(sig.signature.rsassa.sig.buffer) || !raw)
            die("RSA signature");
        sig.sigAlg = TPM2_ALG_RSASSA;
        sig.signature.rsassa.hash = TPM2_ALG_SHA256;
        sig.signature.rsassa.sig.size = (UINT16)der_len;
        memcpy(sig.signature.rsassa.sig.buffer, der, der_len);
        memcpy(raw->attest, buf, len);
        raw->attest_len = len;
        memcpy(raw->sig, der, der_len);
        raw->sig_len = der_len;
    } else {
        const uint8_t *p = der;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
        sig.sigAlg = TPM2_ALG_ECDSA;
        sig.signature.ecdsa.hash = TPM2_ALG_SHA256;
        sig.signature.ecdsa.signatureR.size = sig.signature.ecdsa.signatureS.size = 32;
        if (!es ||
            BN_bn2binpad(ECDSA_SIG_get0_r(es), sig.signature.ecdsa.signatureR.buffer, 32) != 32 ||
            BN_bn2binpad(ECDSA_SIG_get0_s(es), sig.signature.ecdsa.signatureS.buffer, 32) != 32)
            die("ECDSA signature");
        ECDSA_SIG_free(es);
    }
    uint8_t sbuf[sizeof(TPMT_SIGNATURE)];
    size_t slen = 0;
    if (Tss2_MU_TPMT_SIGNATURE_Marshal(&sig, sbuf, sizeof(sbuf), &slen) != TSS2_RC_SUCCESS)
        die("marshalling the signature failed");
    EVP_EncodeBlock((unsigned char *)quote_b64, buf, (int)len);
    EVP_EncodeBlock((unsigned char *)sig_b64, sbuf, (int)slen);
}

/* The PCR values the OVMF log replays to (sha256 bank), their JSON and
 * the quote's digest over QUOTE_PCRS; the log as base64. */
static void evidence_load(const char *path)
{
    size_t len = 0;
    uint8_t *buf = bench_read_file(path, &len);
    if (!buf)
        bench_die(path, NULL);
    struct tl_eventlog log;
    struct tl_error err = {0};
    struct tl_pcr_values *v = calloc(1, sizeof(*v));
    if (!v || tl_eventlog_parse(buf, len, &log, &err) < 0 || tl_replay(&log, NULL, v, &err) < 0)
        bench_die(path, &err);
    const struct tl_pcr_bank *b = tl_pcr_values_bank_const(v, TPM2_ALG_SHA256);
    if (!b)
        die("%s: no sha256 bank", path);
    json_t *bank = json_object(), *list = json_array();
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    for (unsigned i = 0; i < 24; i++) {
        if (!(QUOTE_PCRS & (1u << i)))
            continue;
        uint8_t zero[32] = {0};
        const uint8_t *val = b->mask & (1u << i) ? b->value[i] : zero;
        char key[4], hex[65];
        snprintf(key, sizeof(key), "%u", i);
        tl_hex_encode(val, 32, hex);
        json_object_set_new(bank, key, json_string(hex));
        EVP_DigestUpdate(md, val, 32);
    }
    for (unsigned i = 0; i <= 14; i++) { /* 0 to the highest quoted, as tl-agent sends them */
        uint8_t zero[32] = {0};
        char hex[65];
        tl_hex_encode(QUOTE_PCRS & (1u << i) && b->mask & (1u << i) ? b->value[i] : zero, 32, hex);
        json_array_append_new(list, json_string(hex));
    }
    evidence.tee_pcrs = json_dumps(list, JSON_COMPACT);
    json_decref(list);
    EVP_DigestFinal_ex(md, evidence.digest, NULL);
    EVP_MD_CTX_free(md);
    json_t *pcrs = json_pack("{s:o}", "sha256", bank);
    evidence.pcrs_json = json_dumps(pcrs, JSON_COMPACT);
    json_decref(pcrs);
    evidence.eventlog = b64(buf, len);
    tl_eventlog_done(&log);
    free(v);
    free(buf);
}

/* ---- the emulated platform (--confidential snp) ---- */

static char *b64url(const uint8_t *p, size_t len)
{
    char *out = NULL;
    size_t n = 0;
    if (tl_base64_encode(p, len, TL_BASE64_URL | TL_BASE64_NO_PAD, &out, &n) < 0)
        die("out of memory");
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
        die("out of memory");
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
            die("%s: not a PEM certificate", pem);
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
static size_t tee_evidence(const struct node *n, long i, const uint8_t nonce[32],
                           const struct quote_raw *q, char *out, size_t cap)
{
    struct tl_az_runtime_spec rs = {.ak = n->ak,
                                    .ek = eks[i % o.ek_keys].key,
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
    size_t need = 2 * (q->sig_len + q->attest_len) + strlen(evidence.tee_pcrs) + strlen(hcl_b64) +
                  strlen(vcek) + 160;
    if (need > cap)
        die("tee_evidence: %zu bytes, room for %zu", need, cap);
    char *p = out;
    p += sprintf(p, "\"tee_evidence\":{\"version\":2,\"tpm_quote\":{\"signature\":\"");
    hex_into(&p, q->sig, q->sig_len);
    p += sprintf(p, "\",\"message\":\"");
    hex_into(&p, q->attest, q->attest_len);
    p += sprintf(p, "\",\"pcrs\":%s},\"hcl_report\":\"%s\",\"vcek\":\"%s\"},", evidence.tee_pcrs,
                 hcl_b64, vcek);
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

typedef void item_fn(struct http *h, long i);

struct pool_arg {
    item_fn *fn;
    long n;
};

static void *pool_thread(void *p)
{
    struct pool_arg *a = p;
    struct http h;
    http_init(&h);
    long i;
    while (!atomic_load(&failed) && (i = atomic_fetch_add(&next_item, 1)) < a->n)
        a->fn(&h, i);
    http_done(&h);
    return NULL;
}

/* fn(i) for i in 0..n-1 on o.threads threads; seconds of wall clock. */
static double run_pool(item_fn *fn, long n)
{
    pthread_t th[256];
    struct pool_arg a = {fn, n};
    atomic_store(&next_item, 0);
    double t0 = bench_clock(CLOCK_MONOTONIC);
    for (int i = 0; i < o.threads; i++)
        if (pthread_create(&th[i], NULL, pool_thread, &a) != 0)
            die("pthread_create failed");
    for (int i = 0; i < o.threads; i++)
        pthread_join(th[i], NULL);
    if (atomic_load(&failed))
        exit(1);
    return bench_clock(CLOCK_MONOTONIC) - t0;
}

static void make_ek(struct http *h, long i)
{
    (void)h;
    ek_make(&eks[i]);
    if (o.confidential && !(cvm.aks[i] = EVP_RSA_gen(2048)))
        die("RSA key generation failed");
}

static void create_node(struct http *h, long i)
{
    struct node *n = &nodes[i];
    snprintf(n->name, sizeof(n->name), "%s-%06ld", o.prefix, i);
    if (o.confidential)
        ak_make_rsa(n, cvm.aks[i % o.ek_keys]);
    else
        ak_make(n);
    json_t *req = json_pack("{s:s, s:b, s:s}", "name", n->name, "external", 1, "ek_public",
                            eks[i % o.ek_keys].public_b64);
    if (o.confidential) {
        json_object_set_new(req, "security_type", json_string("ConfidentialVM"));
        json_object_set_new(req, "tee", json_string("snp"));
        json_object_set(req, "tee_policy", cvm.policy);
    }
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    json_t *ans = NULL;
    long st = http_call(h, "/v1/nodes", operator_token, body, strlen(body), &ans);
    free(body);
    const char *cert = json_string_value(json_object_get(ans, "ek_cert_issued"));
    if (st != 201 || !cert) {
        fprintf(stderr, "%s: create %s: HTTP %ld %s\n", bench_prog, n->name, st,
                h->buf ? h->buf : "");
        atomic_store(&failed, 1);
        json_decref(ans);
        return;
    }
    n->ek_cert_b64 = strdup(cert);
    snprintf(n->uuid, sizeof(n->uuid), "%s", json_string_value(json_object_get(ans, "uuid")) ?: "");
    if (o.confidential && strcmp(json_string_value(json_object_get(ans, "tee")) ?: "", "snp")) {
        fprintf(stderr, "%s: create %s: not an SEV-SNP node: %s\n", bench_prog, n->name, h->buf);
        atomic_store(&failed, 1);
    }
    json_decref(ans);
    char path[4096];
    snprintf(path, sizeof(path), "%s/nodes/%s/agent.json", o.home, n->name);
    json_t *cfg = json_load_file(path, 0, NULL);
    const char *tok = json_string_value(json_object_get(cfg, "token"));
    if (!tok || strlen(tok) >= sizeof(n->token)) {
        fprintf(stderr, "%s: %s: no token\n", bench_prog, path);
        atomic_store(&failed, 1);
    } else {
        snprintf(n->token, sizeof(n->token), "%s", tok);
    }
    json_decref(cfg);
}

static void enrol_node(struct http *h, long i)
{
    struct node *n = &nodes[i];
    char path[128];
    json_t *req =
        json_pack("{s:s, s:s, s:s, s:s}", "ek_type", "rsa2048", "ek_cert", n->ek_cert_b64,
                  "ek_public", eks[i % o.ek_keys].public_b64, "ak_public", n->ak_public_b64);
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    json_t *ans = NULL;
    snprintf(path, sizeof(path), "/v1/nodes/%s/enroll", n->name);
    long st = http_call(h, path, n->token, body, strlen(body), &ans);
    free(body);
    uint8_t *blob = NULL, *enc = NULL, seed[32], secret[64];
    size_t blob_len = 0, enc_len = 0, secret_len = 0;
    const char *challenge = json_string_value(json_object_get(ans, "challenge"));
    int r = -EPROTO;
    if (st == 200 && challenge &&
        unb64(json_string_value(json_object_get(ans, "credential_blob")), &blob, &blob_len) == 0 &&
        unb64(json_string_value(json_object_get(ans, "encrypted_secret")), &enc, &enc_len) == 0 &&
        (r = seed_rsa(eks[i % o.ek_keys].key, enc, enc_len, seed)) == 0)
        r = activate(seed, blob, blob_len, n->ak_name, n->ak_name_len, secret, &secret_len);
    free(blob);
    free(enc);
    if (r < 0) {
        fprintf(stderr, "%s: enrol %s: HTTP %ld, %s: %s\n", bench_prog, n->name, st,
                r == -EPERM ? "ActivateCredential's integrity check failed" : "bad answer",
                h->buf ? h->buf : "");
        json_decref(ans);
        atomic_store(&failed, 1);
        return;
    }
    char *sb = b64(secret, secret_len);
    req = json_pack("{s:s, s:s}", "challenge", challenge, "secret", sb);
    free(sb);
    json_decref(ans);
    body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    snprintf(path, sizeof(path), "/v1/nodes/%s/activate", n->name);
    st = http_call(h, path, n->token, body, strlen(body), &ans);
    free(body);
    if (st != 200 || !json_is_true(json_object_get(ans, "enrolled"))) {
        fprintf(stderr, "%s: activate %s: HTTP %ld %s\n", bench_prog, n->name, st,
                h->buf ? h->buf : "");
        atomic_store(&failed, 1);
    }
    json_decref(ans);
}

/* ---- attestation ---- */

struct lat {
    double *v;
    size_t n, cap;
};

static void lat_add(struct lat *l, double x)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4096;
        l->v = realloc(l->v, l->cap * sizeof(double));
        if (!l->v)
            die("out of memory");
    }
    l->v[l->n++] = x;
}

struct worker {
    pthread_t th;
    int id;
    struct lat attest, round; /* seconds, measured window only */
    long done, first;         /* measured attestations; of which a node's first */
    long all;                 /* every attestation, warm-up included */
    bool passed;              /* each of its nodes attested once */
};

static atomic_int phase;       /* 0 warm-up, 1 measuring, 2 stop */
static atomic_int passes_done; /* threads that attested each of their nodes once */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void *attest_thread(void *p)
{
    struct worker *w = p;
    struct http h;
    http_init(&h);
    size_t log_len = strlen(evidence.eventlog), pcrs_len = strlen(evidence.pcrs_json);
    size_t cap = log_len + pcrs_len + 4096 + (o.confidential ? 16384 : 0);
    char *body = malloc(cap);
    char quote_b64[sizeof(TPMS_ATTEST) * 4 / 3 + 8], sig_b64[sizeof(TPMT_SIGNATURE) * 4 / 3 + 8];
    char path[128];
    if (!body)
        die("out of memory");
    for (long i = w->id; atomic_load(&phase) < 2 && !atomic_load(&failed);) {
        struct node *n = &nodes[i];
        double t0 = bench_clock(CLOCK_MONOTONIC);
        json_t *ans = NULL;
        snprintf(path, sizeof(path), "/v1/nodes/%s/nonce", n->name);
        long st = http_call(&h, path, n->token, "{}", 2, &ans);
        const char *nonce_hex = json_string_value(json_object_get(ans, "nonce"));
        uint8_t nonce[32];
        if (st != 200 || !nonce_hex ||
            tl_hex_decode(nonce_hex, strlen(nonce_hex), nonce, 32) != 32) {
            fprintf(stderr, "%s: nonce %s: HTTP %ld %s\n", bench_prog, n->name, st,
                    h.buf ? h.buf : "");
            atomic_store(&failed, 1);
            json_decref(ans);
            break;
        }
        struct quote_raw raw;
        make_quote(n, nonce, quote_b64, sig_b64, &raw);
        int k = snprintf(body, cap,
                         "{\"nonce\":\"%s\",\"quote\":\"%s\",\"signature\":\"%s\",\"pcrs\":%s,",
                         nonce_hex, quote_b64, sig_b64, evidence.pcrs_json);
        if (o.confidential)
            k += (int)tee_evidence(n, i, nonce, &raw, body + k, cap - (size_t)k - log_len - 32);
        k += snprintf(body + k, cap - (size_t)k, "\"eventlog\":\"");
        json_decref(ans);
        memcpy(body + k, evidence.eventlog, log_len);
        memcpy(body + k + log_len, "\"}", 3);
        snprintf(path, sizeof(path), "/v1/nodes/%s/attest", n->name);
        double t1 = bench_clock(CLOCK_MONOTONIC);
        st = http_call(&h, path, n->token, body, (size_t)k + log_len + 2, &ans);
        double t2 = bench_clock(CLOCK_MONOTONIC);
        const char *verdict = json_string_value(json_object_get(ans, "verdict"));
        if (st != 200 || !verdict || strcmp(verdict, "pass") != 0) {
            fprintf(stderr, "%s: attest %s: HTTP %ld, verdict %s: %.600s\n", bench_prog, n->name,
                    st, verdict ? verdict : "none", h.buf ? h.buf : "");
            atomic_store(&failed, 1);
            json_decref(ans);
            break;
        }
        if (o.confidential && !n->attested &&
            !token_says_sevsnpvm(json_string_value(json_object_get(ans, "token")))) {
            fprintf(stderr, "%s: attest %s: passed, but its token does not say sevsnpvm\n",
                    bench_prog, n->name);
            atomic_store(&failed, 1);
            json_decref(ans);
            break;
        }
        json_decref(ans);
        w->all++;
        if (atomic_load(&phase) == 1) {
            lat_add(&w->attest, t2 - t1);
            lat_add(&w->round, t2 - t0);
            w->done++;
            w->first += !n->attested;
        }
        n->attested = true;
        i += o.threads;
        if (i >= o.nodes) {
            i = w->id;
            if (!w->passed) {
                w->passed = true;
                atomic_fetch_add(&passes_done, 1);
            }
        }
    }
    free(body);
    http_done(&h);
    return NULL;
}

static double pct(const struct lat *l, double q)
{
    if (!l->n)
        return 0;
    size_t k = (size_t)(q * (double)(l->n - 1) + 0.5);
    return l->v[k] * 1e3;
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
          "\n"
          "Drives a running tld's attestation service over HTTP with N simulated nodes\n"
          "(software EKs and AKs, enrolled through the real protocol), then T threads\n"
          "attest them round robin for S seconds. --confidential snp: SEV-SNP confidential\n"
          "nodes, their evidence from the emulated secure processor in HOME/tee-emul\n"
          "(K chips, default 4). See bench/README.md.\n",
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
    evidence_load(o.log);

    /* the service: its pid (for RSS and CPU) and its data directory */
    struct http h;
    http_init(&h);
    json_t *health = NULL;
    operator_token_load();
    if (http_call(&h, "/v1/health", operator_token, NULL, 0, &health) != 200)
        die("%s/v1/health: %s", o.url, h.buf ? h.buf : "no answer");
    pid_t pid = (pid_t)json_integer_value(json_object_get(health, "pid"));
    if (!o.home)
        o.home = strdup(json_string_value(json_object_get(health, "home")) ?: ".");
    json_decref(health);
    http_done(&h);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    char load[64] = "?";
    FILE *lf = fopen("/proc/loadavg", "re");
    if (lf && fgets(load, sizeof(load), lf))
        load[strcspn(load, " ")] = 0; /* the 1-minute figure */
    if (lf)
        fclose(lf);
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
           strlen(evidence.eventlog));
    fflush(stdout);

    nodes = calloc((size_t)o.nodes, sizeof(*nodes));
    eks = calloc((size_t)o.ek_keys, sizeof(*eks));
    if (!nodes || !eks)
        die("out of memory");
    if (o.confidential) {
        double c0 = bench_clock(CLOCK_MONOTONIC);
        cvm.aks = calloc((size_t)o.ek_keys, sizeof(*cvm.aks));
        if (!cvm.aks)
            die("out of memory");
        cvm_open();
        printf("tee:     the emulated secure processor %s/tee-emul and %ld chips in %.1f s (ARK"
               " %.16s...)\n",
               o.home, o.chips, bench_clock(CLOCK_MONOTONIC) - c0,
               json_string_value(json_object_get(
                   json_array_get(json_object_get(cvm.policy, "trusted-roots"), 0), "sha256")));
    }
    long rss0 = rss_kib(pid);
    double dt = run_pool(make_ek, o.ek_keys);
    printf("keys:    %ld RSA-2048 EKs%s in %.1f s\n", o.ek_keys, o.confidential ? " and AKs" : "",
           dt);
    fflush(stdout);

    dt = run_pool(create_node, o.nodes);
    long rss1 = rss_kib(pid);
    printf("create:  %ld nodes in %.1f s (%.0f/s: EK certificate issued, agent.json, store)\n",
           o.nodes, dt, (double)o.nodes / dt);
    fflush(stdout);
    dt = run_pool(enrol_node, o.nodes);
    long rss2 = rss_kib(pid);
    printf("enrol:   %ld nodes in %.1f s (%.0f/s: enroll + software ActivateCredential +"
           " activate)\n",
           o.nodes, dt, (double)o.nodes / dt);
    fflush(stdout);

    struct worker *w = calloc((size_t)o.threads, sizeof(*w));
    if (!w)
        die("out of memory");
    atomic_store(&phase, o.warmup > 0 ? 0 : 1);
    for (int i = 0; i < o.threads; i++) {
        w[i].id = i;
        if (pthread_create(&w[i].th, NULL, attest_thread, &w[i]) != 0)
            die("pthread_create failed");
    }
    double w0 = bench_clock(CLOCK_MONOTONIC);
    while (!atomic_load(&failed) && (bench_clock(CLOCK_MONOTONIC) - w0 < o.warmup ||
                                     (o.warmup_pass && atomic_load(&passes_done) < o.threads))) {
        struct timespec step = {0, 20 * 1000 * 1000};
        nanosleep(&step, NULL);
    }
    if (o.warmup_pass)
        printf("warm-up: every node attested once (%.1f s)\n", bench_clock(CLOCK_MONOTONIC) - w0);
    double c_tld0 = proc_cpu(pid), c_self0 = self_cpu(), t0 = bench_clock(CLOCK_MONOTONIC);
    atomic_store(&phase, 1);
    while (!atomic_load(&failed) && bench_clock(CLOCK_MONOTONIC) - t0 < o.seconds) {
        struct timespec step = {0, 50 * 1000 * 1000};
        nanosleep(&step, NULL);
    }
    double window = bench_clock(CLOCK_MONOTONIC) - t0;
    double c_tld = proc_cpu(pid) - c_tld0, c_self = self_cpu() - c_self0;
    atomic_store(&phase, 2);
    for (int i = 0; i < o.threads; i++)
        pthread_join(w[i].th, NULL);
    if (atomic_load(&failed))
        return 1;
    long rss3 = rss_kib(pid);
    struct lat attest = {0}, round = {0};
    long done = 0, first = 0, all = 0;
    for (int i = 0; i < o.threads; i++) {
        for (size_t k = 0; k < w[i].attest.n; k++) {
            lat_add(&attest, w[i].attest.v[k]);
            lat_add(&round, w[i].round.v[k]);
        }
        done += w[i].done;
        first += w[i].first;
        all += w[i].all;
        free(w[i].attest.v);
        free(w[i].round.v);
    }
    free(w);
    qsort(attest.v, attest.n, sizeof(double), cmp_double);
    qsort(round.v, round.n, sizeof(double), cmp_double);
    double rate = (double)done / window;
    printf("attest:  %ld attestations in %.2f s: %.0f/s sustained, all pass%s (%ld were a node's"
           " first; %ld in all with the warm-up)\n",
           done, window, rate, o.confidential ? " with SEV-SNP evidence (sevsnpvm)" : "", first,
           all);
    printf("         attest call  p50 %.2f ms  p99 %.2f ms  max %.2f ms\n", pct(&attest, 0.5),
           pct(&attest, 0.99), pct(&attest, 1.0));
    printf("         nonce+attest p50 %.2f ms  p99 %.2f ms  max %.2f ms\n", pct(&round, 0.5),
           pct(&round, 0.99), pct(&round, 1.0));
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
        o.confidential ? "snp" : "tl", o.nodes, o.threads, window, done, rate, pct(&attest, 0.5),
        pct(&attest, 0.99), pct(&attest, 1.0), pct(&round, 0.5), pct(&round, 0.99), c_tld / window,
        c_self / window, done ? c_tld / (double)done * 1e6 : 0, rss0, rss2, rss3, per_enrolled,
        per_attested, sign, verify, ceiling, ceiling > 0 ? rate / ceiling : 0);
    free(attest.v);
    free(round.v);
    curl_global_cleanup();
    return 0;
}
