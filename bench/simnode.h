/* Simulated nodes for the service benchmarks (bench-attest, bench-release):
 * software keys stand in for TPMs, and each step of the real protocol
 * (docs/api.md, "Attestation (the agent's side)") is taken over HTTP on
 * keep-alive libcurl connections, as an external node's agent takes it:
 *  - create: POST /v1/nodes {"name", "external": true, "ek_public"}: the
 *    platform certifies the node's EK (an RSA-2048 key in the default EK
 *    template, L-1); the node's bearer token is read from
 *    HOME/nodes/NAME/agent.json, as an external node's agent reads it;
 *  - enrol: POST enroll with the node's AK, the service's MakeCredential
 *    undone as a TPM's ActivateCredential does (RSA-OAEP-SHA256 of the seed
 *    with label "IDENTITY\0", KDFa, the integrity HMAC over encIdentity ||
 *    Name, AES-128-CFB: TPM 2.0 Part 1, 24; the code of
 *    tests/unit/test_credential.c), then POST activate;
 *  - attest: POST nonce, a TPMS_ATTEST quote made here (TPM_GENERATED_VALUE,
 *    qualifiedSigner = the AK's Name, extraData = the nonce, a clock that
 *    only goes forward, sha256 PCRs 0-9 and 14 and their digest) signed by
 *    the AK, and POST attest with the PCR values and the real event log they
 *    replay from (tl_replay, computed once).
 * Any other TPMS_ATTEST (bench-release's TPM2_Certify) is signed the same
 * way (sim_attest_sign).
 *
 * The state is the caller's struct sim; the helpers exit the program on
 * what a benchmark cannot go on without (out of memory, a key that does not
 * generate) and report a request the service refused by setting
 * sim->failed and printing one line. */
#ifndef TL_BENCH_SIMNODE_H
#define TL_BENCH_SIMNODE_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <tss2/tss2_tpm2_types.h>

#include "tl/akey.h"
#include "tl/util.h"

#define SIM_QUOTE_PCRS (((1u << 10) - 1) | (1u << 14)) /* sha256 0-9 and 14, as tl-agent */

/* One keep-alive connection: the answer's bytes in buf, a body buffer
 * reused across requests. */
struct sim_http {
    void *c; /* CURL * */
    const char *url;
    char *buf;
    size_t len, cap;
    char *body; /* sim_node_attest's request */
    size_t body_cap;
};

struct sim_ek {
    EVP_PKEY *key;
    char *public_b64; /* marshalled TPM2B_PUBLIC */
};

struct sim_node {
    char name[32];
    char token[160]; /* "NAME.SECRET" */
    EVP_PKEY *ak;
    uint8_t ak_name[TL_TPM_NAME_MAX];
    size_t ak_name_len;
    char *ak_public_b64;
    char *ek_cert_b64;
    uint64_t clock; /* clockInfo.clock of what the AK signs: only forward */
    char uuid[40];  /* tld's, the runtime JSON's vmUniqueId (confidential) */
    bool attested;  /* at least once (the first one learns the baseline) */
};

/* What every attestation sends besides its nonce, quote and signature. */
struct sim_evidence {
    char *pcrs_json;    /* {"sha256":{"0":"..",...}} */
    char *eventlog;     /* base64 */
    uint8_t digest[32]; /* the PCR digest of SIM_QUOTE_PCRS */
    char *tee_pcrs;     /* trustee's list: ["hex" x 15], PCR 0-14, zeros for 10-13 */
};

struct sim {
    const char *url;
    const char *home; /* the service's TL_HOME: operator.token, nodes' agent.json */
    const char *prefix;
    int threads;
    char operator_token[130];
    struct sim_node *nodes;
    long n_nodes;
    struct sim_ek *eks; /* node i's EK is eks[i % n_eks] */
    long n_eks;
    struct sim_evidence evidence;
    atomic_long next_item;
    atomic_int failed;
};

/* ---- encoding ---- */
char *sim_b64(const uint8_t *in, size_t len);
int sim_unb64(const char *in, uint8_t **out, size_t *len);
char *sim_marshal_public_b64(const TPM2B_PUBLIC *pub);
/* A key's big-endian parameter name, exactly size bytes. */
void sim_bn_param(EVP_PKEY *k, const char *name, uint8_t *out, int size);

/* ---- HTTP ---- */
void sim_http_init(struct sim_http *h, const char *url);
void sim_http_done(struct sim_http *h);
/* A request (POST when body is not NULL) to url + path; the status, the
 * answer in h->buf (parsed into *answer when given and JSON). */
long sim_http_call(struct sim_http *h, const char *path, const char *token, const char *body,
                   size_t len, json_t **answer);
/* $TL_TOKEN, else HOME/operator.token, into s->operator_token. */
void sim_operator_token_load(struct sim *s);
/* The service at s->url: the operator's token loaded, GET /v1/health, and
 * s->home taken from it when not set. tld's pid (for its CPU and RSS). */
int sim_service_open(struct sim *s);
/* The 1-minute load average as /proc/loadavg writes it, "?" if unknown. */
void sim_load_average(char *out, size_t size);

/* ---- keys ---- */
/* An RSA-2048 EK in the default EK template (L-1). */
void sim_ek_make(struct sim_ek *e);
/* An ECC P-256 AK as tl-agent creates it, and its Name. */
void sim_ak_make(struct sim_node *n);

/* ---- the evidence ---- */
/* The PCR values the event log at path replays to (sha256 bank), their
 * JSON and the quote's digest over SIM_QUOTE_PCRS; the log as base64. */
void sim_evidence_load(struct sim_evidence *ev, const char *path);

/* The raw TPMS_ATTEST and signature, for a confidential node's tee_evidence. */
struct sim_quote_raw {
    uint8_t attest[sizeof(TPMS_ATTEST)];
    size_t attest_len;
    uint8_t sig[512]; /* RSASSA-PKCS1-v1_5, big-endian */
    size_t sig_len;
};
/* a signed by the node's AK (ECDSA-SHA256; RSASSA-SHA256 for an RSA AK,
 * keeping the bytes in *raw), its clock moved forward and its signer set:
 * the marshalled TPMS_ATTEST and TPMT_SIGNATURE, base64, into attest_b64
 * and sig_b64 (each at least sizeof(TPMS_ATTEST) * 4 / 3 + 8). */
void sim_attest_sign(struct sim_node *n, TPMS_ATTEST *a, char *attest_b64, char *sig_b64,
                     struct sim_quote_raw *raw);
/* A quote over SIM_QUOTE_PCRS with the evidence's digest, for nonce. */
void sim_quote(struct sim_node *n, const struct sim_evidence *ev, const uint8_t nonce[32],
               char *quote_b64, char *sig_b64, struct sim_quote_raw *raw);

/* ---- phases ---- */
typedef void sim_item_fn(struct sim *s, struct sim_http *h, long i);
/* fn(i) for i in 0..n-1 on s->threads threads, each with its connection;
 * seconds of wall clock. Exits 1 when an item set s->failed. */
double sim_run_pool(struct sim *s, sim_item_fn *fn, long n);
/* Creates node i (its AK made already) as external, extra's members added
 * to the request; the answer (a new reference) in *answer when given. 0, or
 * -1 with s->failed set. */
int sim_node_create(struct sim *s, struct sim_http *h, long i, const json_t *extra,
                    json_t **answer);
/* Enrols node i: enroll, ActivateCredential in software, activate. */
void sim_node_enrol(struct sim *s, struct sim_http *h, long i);

/* Writes a member of the attest body (`"name":...,`) at out, at most cap
 * bytes: its length (bench-attest's tee_evidence). */
typedef size_t sim_attest_extra_fn(const struct sim_node *n, long i, const uint8_t nonce[32],
                                   const struct sim_quote_raw *q, char *out, size_t cap);
/* One attestation of node i: nonce, quote, attest. The attest call's status
 * and answer (*answer, a new reference); *t_attest its seconds (the attest
 * call alone). A nonce that is not given: -1 with the line printed. */
long sim_node_attest(struct sim *s, struct sim_http *h, long i, sim_attest_extra_fn *extra,
                     json_t **answer, double *t_attest);

#endif
