/* The attestation service: enrolment with credential activation, fresh
 * nonces, quotes checked against the enrolled AK, the event log replayed
 * against the quoted PCRs, policy, verdicts, integrity alerts, labels and
 * tokens. The agent's side is src/agent; the wire format is docs/api.md.
 *
 * Enrolment: enrol.c (steps 1 and 2). The service's files: attest.h.
 * Attestation:
 *  3. nonce: 32 random bytes, single use, expiring after TLD_NONCE_TTL.
 *  4. attest: the quote must be TPM-generated, of type quote, signed by the
 *     node's AK with SHA-256, carry a nonce this service issued to this node
 *     and not yet used, and digest exactly the PCR values sent; the reset and
 *     restart counters must not go back (a reboot is seen as a new boot);
 *     the event log must replay, bank by bank, to the quoted values; its
 *     records must pass the record checks; then policy (policy.c) and the
 *     learned baseline.
 * Every attestation is stored with its verdict and findings before the
 * answer. A failed one raises (or updates) the node's integrity alert for
 * that boot, naming the components (alert.c), and is posted to the webhook. A
 * passing one returns an ES256 JWT.
 *
 * attest runs in three steps (tld_attest_begin, _work, _finish: see
 * struct tld_attest_job) so that the quote's signature and the event log
 * are checked outside tld.lock; node state (nonces, counters, AK, baseline)
 * is only read and written under it. The AK, baseline and latest
 * attestation are kept in C (struct tld_ak, tld_baseline, tld_attested),
 * not as JSON: a node costs ~2.5 KiB at 100,000 nodes. */
#include <errno.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "attest.h"
#include "attest_tpm.h"
#include "tl/base64.h"
#include "tl/util.h"
#include "tld.h"

#define TOKEN_TTL 600 /* s */

/* ---- nonces ---- */

/* A shared store (replicas): the nonce is a ticket there, so that any tld
 * sharing it redeems it, once. */
static int nonce_shared(struct tld *t, struct tld_node *n, json_t **answer, struct tl_error *err)
{
    uint8_t v[32];
    char h[65];
    if (getrandom(v, sizeof(v), 0) != (ssize_t)sizeof(v))
        return tl_error_set_nopos(err, -EIO, "getrandom failed");
    tl_hex_encode(v, sizeof(v), h);
    if (tld_store_ticket_put(t, "nonce", h, n->name, tld_now() + TLD_NONCE_TTL, NULL) < 0)
        return tl_error_set_nopos(err, -EAGAIN, "nonce: the store did not answer; try again");
    *answer = json_pack("{s:s, s:i}", "nonce", h, "expires_in", TLD_NONCE_TTL);
    return 0;
}

static int nonce(struct tld *t, struct tld_node *n, json_t **answer, struct tl_error *err)
{
    if (!n->ak)
        return tl_error_set_nopos(err, -ENOKEY, "nonce: node %s has no enrolled AK (enrol first)",
                                  n->name);
    if (tld_store_shared(t))
        return nonce_shared(t, n, answer, err);
    if (!n->nonces && !(n->nonces = calloc(TLD_NONCES, sizeof(*n->nonces))))
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    long long now = tld_now();
    size_t slot = 0;
    for (size_t i = 0; i < TLD_NONCES; i++) {
        if (n->nonces[i].expires < now) {
            slot = i;
            break;
        }
        if (n->nonces[i].expires < n->nonces[slot].expires)
            slot = i; /* all in use: the oldest goes */
    }
    struct tld_nonce *nn = &n->nonces[slot];
    if (getrandom(nn->value, sizeof(nn->value), 0) != (ssize_t)sizeof(nn->value))
        return tl_error_set_nopos(err, -EIO, "getrandom failed");
    nn->expires = now + TLD_NONCE_TTL;
    char h[65];
    tl_hex_encode(nn->value, sizeof(nn->value), h);
    *answer = json_pack("{s:s, s:i}", "nonce", h, "expires_in", TLD_NONCE_TTL);
    return 0;
}

/* Consumes the nonce: true when this service issued it to this node, it
 * has not been used and has not expired (attest.h: a key release takes
 * one too). */
bool tld_attest_nonce_take(struct tld *t, struct tld_node *n, const uint8_t *v, size_t len)
{
    if (len == 32 && tld_store_shared(t)) {
        char h[65], *data = NULL;
        tl_hex_encode(v, 32, h);
        bool fresh = tld_store_ticket_take(t, "nonce", h, n->name, &data) == 0;
        free(data);
        return fresh;
    }
    if (!n->nonces || len != 32)
        return false;
    long long now = tld_now();
    for (size_t i = 0; i < TLD_NONCES; i++) {
        struct tld_nonce *nn = &n->nonces[i];
        if (nn->expires && CRYPTO_memcmp(nn->value, v, 32) == 0) {
            bool fresh = nn->expires >= now;
            nn->expires = 0;
            memset(nn->value, 0, sizeof(nn->value));
            return fresh;
        }
    }
    return false;
}

/* ---- attestation ---- */

/* PCR values against the learned baseline (firmware PCRs 0-7). */
static void check_baseline(const struct tld_node *n, const struct tl_pcr_values *quoted,
                           json_t *findings)
{
    static const char *const what[8] = {"firmware code",         "firmware configuration",
                                        "option ROM code",       "option ROM configuration",
                                        "boot manager code",     "boot manager configuration",
                                        "platform manufacturer", "secure boot policy"};
    /* a pool node: its pool's, for its Secure Boot setting */
    const struct tld_baseline *bl =
        n->pool ? n->pool->baseline[n->spec.secure_boot ? 1 : 0] : n->baseline;
    const struct tl_pcr_bank *qb = tl_pcr_values_bank_const(quoted, 0x000b);
    if (!bl || !qb)
        return;
    for (int i = 0; i < 8; i++) {
        if (!(bl->mask & (1u << i)) || !(qb->mask & (1u << i)) ||
            memcmp(bl->sha256[i], qb->value[i], 32) == 0)
            continue;
        char want[65], got[65];
        tl_hex_encode(bl->sha256[i], 32, want);
        tl_hex_encode(qb->value[i], 32, got);
        json_array_append_new(
            findings, tld_finding(what[i], i, -1, want, got, "the pool's learned baseline"));
    }
}

static json_t *components_of(const json_t *findings)
{
    json_t *names = json_array();
    size_t i, j;
    json_t *f, *x;
    json_array_foreach(findings, i, f)
    {
        const char *c = json_string_value(json_object_get(f, "component"));
        bool seen = false;
        json_array_foreach(names, j, x) seen |= strcmp(json_string_value(x), c) == 0;
        if (c && !seen)
            json_array_append_new(names, json_string(c));
    }
    return names;
}

/* An attest call in three steps, so that the pure work (decoding, the
 * quote's signature, the event log's parse, replay and record checks:
 * ~60% of an attestation's CPU) runs outside tld.lock (bench/README.md,
 * "bench-attest"):
 *   begin   (locked)   the token, the node's state, its AK (copied);
 *   work    (unlocked) the request's values, the quote against that AK and
 *                      the request's nonce, the event log against the
 *                      quote;
 *   finish  (locked)   the node again (gone: 404; another token, state or
 *                      AK since begin: the same answers as begin gives, or
 *                      409 for a new AK), then the nonce is taken, and the
 *                      counters, policy, baseline, verdict, token and store
 *                      follow as one step, as before.
 * The answer is the same as when all ran under the lock: an unfresh
 * nonce still yields only the nonce finding (work's results are dropped),
 * and the counters are checked against the node's latest state. */
struct tld_attest_job {
    char node[TLD_NAME_MAX + 1];
    char image[PATH_MAX];          /* the node's image at begin ("" external) */
    struct tld_manifest *manifest; /* its manifest (tld_attest_prefetch), NULL: not read */
    char manifest_error[256];
    struct tld_ak *ak; /* the AK at begin */
    double started;    /* tld_metrics_clock at begin: the latency histogram's */
    json_t *req;
    const char *nonce_hex;
    json_t *pcrs;
    uint8_t *nv, *quote, *sig, *elog;
    size_t nv_len, quote_len, sig_len, elog_len;
    /* work */
    json_t *first; /* the PCR or quote finding when the quote failed */
    bool quote_ok;
    struct tld_quote_result q;
    struct tl_pcr_values *quoted;
    json_t *log_findings; /* replay and record checks */
    struct tld_parsed_log pl;
    bool secure_boot;
    char comp_digest[65];
    /* a confidential node's hardware evidence (attest_tee.c) */
    struct tld_tee_expect tee_x; /* kind TL_TEE_KIND_UNKNOWN: not a confidential node */
    json_t *tee_findings, *tee_claims;
};

void tld_attest_job_free(struct tld_attest_job *job)
{
    if (!job)
        return;
    tld_parsed_log_done(&job->pl);
    tld_manifest_unref(job->manifest);
    tld_ak_free(job->ak);
    json_decref(job->req);
    json_decref(job->first);
    json_decref(job->log_findings);
    free(job->nv);
    free(job->quote);
    free(job->sig);
    free(job->elog);
    free(job->quoted);
    free(job->tee_x.policy);
    json_decref(job->tee_findings);
    json_decref(job->tee_claims);
    free(job);
}

int tld_attest_agent_checks(const struct tld_node *n, const char *action, const char *auth,
                            const json_t *req, struct tl_error *err)
{
    if (!tld_token_ok(n, auth))
        return tl_error_set_nopos(err, -EACCES, "not this node's token");
    if (n->state != TLD_BOOTING && n->state != TLD_RUNNING)
        return tl_error_set_nopos(err, -EBUSY, "node %s is %s", n->name, tld_state_name(n->state));
    if (!n->spec.vtpm)
        return tl_error_set_nopos(err, -EBUSY, "node %s has no vTPM to attest", n->name);
    if (!json_is_object(req))
        return tl_error_set_nopos(err, -EINVAL, "%s: the body must be a JSON object", action);
    return 0;
}

int tld_attest_begin(struct tld_node *n, const char *auth, json_t *req, struct tld_attest_job **out,
                     struct tl_error *err)
{
    *out = NULL;
    int r = tld_attest_agent_checks(n, "attest", auth, req, err);
    if (r)
        return r;
    if (!n->ak)
        return tl_error_set_nopos(err, -ENOKEY, "attest: node %s has no enrolled AK (enrol first)",
                                  n->name);
    struct tld_attest_job *job = calloc(1, sizeof(*job));
    if (!job || !(job->ak = tld_ak_dup(n->ak))) {
        free(job);
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    }
    snprintf(job->node, sizeof(job->node), "%s", n->name);
    job->started = tld_metrics_clock();
    snprintf(job->image, sizeof(job->image), "%s", n->spec.image);
    job->req = json_incref(req);
    if (tld_tee_expect_of(n, &job->tee_x) < 0) {
        tld_attest_job_free(job);
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    }
    *out = job;
    return 0;
}

void tld_attest_prefetch(struct tld *t, struct tld_attest_job *job)
{
    if (job->image[0] && !job->manifest)
        job->manifest =
            tld_manifest_get(t, job->image, job->manifest_error, sizeof(job->manifest_error));
}

int tld_attest_work(struct tld *t, struct tld_attest_job *job, struct tl_error *err)
{
    json_t *req = job->req;
    job->nonce_hex = json_string_value(json_object_get(req, "nonce"));
    job->pcrs = json_object_get(req, "pcrs");
    json_t *elog_j = json_object_get(req, "eventlog");
    if (!job->nonce_hex || strlen(job->nonce_hex) > 128 || !json_is_object(job->pcrs) ||
        tl_base64_decode_string(json_string_value(json_object_get(req, "quote")), &job->quote,
                                &job->quote_len) < 0 ||
        tl_base64_decode_string(json_string_value(json_object_get(req, "signature")), &job->sig,
                                &job->sig_len) < 0 ||
        (!json_is_null(elog_j) && elog_j &&
         tl_base64_decode_string(json_string_value(elog_j), &job->elog, &job->elog_len) < 0))
        return tl_error_set_nopos(
            err, -EINVAL,
            "attest: nonce (hex), quote and signature (base64), pcrs (object) and "
            "eventlog (base64 or null) are required");
    /* what a relying party asked the node to carry (optional): its nonce,
     * its key (a JWK: the token's "cnf", RFC 7800), the audience */
    json_t *rpn = json_object_get(req, "rp_nonce"), *rpk = json_object_get(req, "rp_key"),
           *aud = json_object_get(req, "audience");
    uint8_t tmp[64];
    if (rpn &&
        (!json_is_string(rpn) || json_string_length(rpn) > 128 ||
         tl_hex_decode(json_string_value(rpn), json_string_length(rpn), tmp, sizeof(tmp)) <= 0))
        return tl_error_set_nopos(err, -EINVAL, "attest: rp_nonce: 1-64 bytes in hex");
    if (rpk) {
        char *text = json_is_object(rpk) ? json_dumps(rpk, JSON_COMPACT) : NULL;
        size_t len = text ? strlen(text) : 0;
        free(text);
        if (!len || len > 4096 || !json_is_string(json_object_get(rpk, "kty")))
            return tl_error_set_nopos(
                err, -EINVAL, "attest: rp_key: a JWK object (with \"kty\") of at most 4 KiB");
        const char *priv[] = {"d", "p", "q", "dp", "dq", "qi", "k", "oth"};
        for (size_t i = 0; i < sizeof(priv) / sizeof(priv[0]); i++)
            if (json_object_get(rpk, priv[i])) /* it would be in a token anyone reads */
                return tl_error_set_nopos(
                    err, -EINVAL, "attest: rp_key: a public key only (\"%s\" is a private member)",
                    priv[i]);
    }
    if (aud && (!json_is_string(aud) || !json_string_length(aud) || json_string_length(aud) > 256))
        return tl_error_set_nopos(err, -EINVAL, "attest: audience: a string of 1-256 characters");
    size_t hl = strlen(job->nonce_hex);
    job->nv = malloc(hl / 2 + 1);
    int k = job->nv ? tl_hex_decode(job->nonce_hex, hl, job->nv, hl / 2 + 1) : -1;
    job->nv_len = k > 0 ? (size_t)k : 0;

    struct tl_pcr_values *sent = calloc(1, sizeof(*sent));
    job->quoted = calloc(1, sizeof(*job->quoted));
    char *pcr_text = json_dumps(job->pcrs, JSON_COMPACT);
    struct tl_error perr = {0};
    if (!sent || !job->quoted || !pcr_text ||
        tl_pcr_values_parse(pcr_text, strlen(pcr_text), sent, &perr) < 0)
        job->first =
            tld_finding("pcrs", -1, -1, "PCR values", perr.message, "the PCR values must parse");
    else if (tld_attest_quote_verify(job->ak->public, job->ak->public_len, job->ak->key, job->quote,
                                     job->quote_len, job->sig, job->sig_len, job->nv, job->nv_len,
                                     sent, job->quoted, &job->q) < 0)
        job->first = tld_finding("quote", -1, -1, "a quote by the node's AK", job->q.reason,
                                 "quote signature, type, nonce and PCR digest");
    else
        job->quote_ok = true;
    free(sent);
    free(pcr_text);
    if (!job->quote_ok) /* an unverified quote's counters are the sender's word: not a boot */
        job->q.reset_count = job->q.restart_count = 0, job->q.clock = 0;
    job->log_findings = json_array();
    if (job->quote_ok && job->elog)
        tld_attest_evaluate_log(job->elog, job->elog_len, job->quoted, &job->pl, job->log_findings,
                                &job->secure_boot, job->comp_digest);
    if (job->quote_ok && job->tee_x.kind != TL_TEE_KIND_UNKNOWN) {
        if (!(job->tee_findings = json_array()) ||
            tld_tee_check(&t->tee, &job->tee_x, json_object_get(req, "tee_evidence"), job->nv,
                          job->nv_len, job->quote, job->quote_len, job->ak->public,
                          job->ak->public_len, job->tee_findings, &job->tee_claims) < 0)
            return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    }
    return 0;
}

static int finish(struct tld *t, struct tld_attest_job *job, const char *auth, bool in_tx,
                  struct tld_store_pending **pending, json_t **answer, struct tl_error *err);

/* A shared store (replicas): the node's record is read again with its row
 * locked, in the transaction that will write the attestation, the node's
 * new counters and the nonce's redemption. Another tld attesting the same
 * node waits for this commit and then sees these counters: the rollback
 * checks hold across replicas. */
int tld_attest_finish(struct tld *t, struct tld_attest_job *job, const char *auth, json_t **answer,
                      struct tld_store_pending **pending, struct tl_error *err)
{
    if (!tld_store_shared(t))
        return finish(t, job, auth, false, pending, answer, err);
    if (tld_store_begin(t) < 0)
        return tl_error_set_nopos(err, -EAGAIN, "attest: the store did not answer; try again");
    int r = 0;
    if (!tld_store_node_sync(t, job->node, true, &r)) {
        tld_store_rollback(t);
        return r == -ENOENT || r == 0
                   ? tl_error_set_nopos(err, -ENOENT, "no node named %s", job->node)
                   : tl_error_set_nopos(err, -EAGAIN,
                                        "attest: the store did not answer; try again");
    }
    r = finish(t, job, auth, true, NULL, answer, err);
    if (r < 0)
        tld_store_rollback(t); /* nothing when finish's commit ended it */
    return r;
}

/* in_tx: the caller began the transaction; finish commits it. pending:
 * where a group-committed attestation's wait is handed back (NULL: none). */
static int finish(struct tld *t, struct tld_attest_job *job, const char *auth, bool in_tx,
                  struct tld_store_pending **pending, json_t **answer, struct tl_error *err)
{
    struct tld_node *n = tld_node_find(t, job->node);
    if (!n)
        return tl_error_set_nopos(err, -ENOENT, "no node named %s", job->node);
    int r = tld_attest_agent_checks(n, "attest", auth, job->req, err);
    if (r)
        return r;
    if (!n->ak)
        return tl_error_set_nopos(err, -ENOKEY, "attest: node %s has no enrolled AK (enrol first)",
                                  n->name);
    if (strcmp(n->ak->name, job->ak->name) != 0)
        return tl_error_set_nopos(err, -EBUSY, "attest: node %s enrolled another AK meanwhile",
                                  n->name);
    const char *nonce_hex = job->nonce_hex;
    json_t *pcrs = job->pcrs;
    json_t *findings = json_array();
    bool fresh = tld_attest_nonce_take(t, n, job->nv, job->nv_len);
    bool quote_ok = fresh && job->quote_ok;
    struct tld_quote_result q = job->q;
    if (!fresh) {
        json_array_append_new(
            findings, tld_finding("nonce", -1, -1, "a nonce issued to this node, unused",
                                  "unknown, used or expired (a replayed quote?)", "freshness"));
        q.reset_count = q.restart_count = 0, q.clock = 0;
    } else if (job->first) {
        json_array_append(findings, job->first);
    }
    /* the TPM's counters: a reboot is a new boot; going back is a replay
     * or a rolled-back TPM */
    /* against everything this TPM ever showed (kept across boots and new
     * AKs: tld_tpm_seen), not only this boot's attestation */
    const struct tld_tpm_seen *last = &n->tpm_seen;
    bool counters_ok = true;
    if (quote_ok && last->set) {
        long long lr = last->reset_count;
        long long lrs = last->restart_count;
        unsigned long long lc = last->clock;
        if ((long long)q.reset_count < lr ||
            ((long long)q.reset_count == lr && (long long)q.restart_count < lrs) ||
            ((long long)q.reset_count == lr && q.clock < lc)) {
            char e[96], a[96];
            snprintf(e, sizeof(e), "reset %lld restart %lld clock >= %llu", lr, lrs, lc);
            snprintf(a, sizeof(a), "reset %u restart %u clock %llu", q.reset_count, q.restart_count,
                     (unsigned long long)q.clock);
            json_array_append_new(findings, tld_finding("tpm clock", -1, -1, e, a,
                                                        "the TPM's counters never go back"));
            counters_ok = false;
        }
    }
    if (quote_ok && counters_ok)
        n->tpm_seen = (struct tld_tpm_seen){.set = true,
                                            .reset_count = q.reset_count,
                                            .restart_count = q.restart_count,
                                            .clock = q.clock};
    bool secure_boot = false;
    const char *comp_digest = "";
    if (quote_ok) {
        if (!job->elog) {
            json_array_append_new(findings,
                                  tld_finding("event log", -1, -1, "the firmware event log", "none",
                                              "a vTPM node delivers its event log"));
        } else {
            size_t k;
            json_t *f;
            json_array_foreach(job->log_findings, k, f) json_array_append(findings, f);
            if (job->pl.ok) {
                if (strcmp(job->image, n->spec.image) != 0) { /* reimaged meanwhile: rare */
                    tld_manifest_unref(job->manifest);
                    job->manifest = NULL;
                    snprintf(job->image, sizeof(job->image), "%s", n->spec.image);
                    tld_attest_prefetch(t, job);
                } /* else the read before the lock stands, or its error does */
                json_t *policy = tld_policy_evaluate(n, job->manifest, job->manifest_error,
                                                     &job->pl.log, &job->pl.bs);
                json_array_foreach(policy, k, f) json_array_append(findings, f);
                json_decref(policy);
            }
            secure_boot = job->secure_boot;
            comp_digest = job->comp_digest;
        }
        check_baseline(n, job->quoted, findings);
        size_t k;
        json_t *f;
        json_array_foreach(job->tee_findings, k, f) json_array_append(findings, f);
    }
    if (n->pool && json_is_true(json_object_get(n->pool->rules, "refuseVouchedEk")) &&
        strcmp(n->ak->ek_origin, TLD_EK_PLATFORM) != 0 &&
        strcmp(n->ak->ek_origin, TLD_EK_MANUFACTURER) != 0)
        json_array_append_new(
            findings, tld_finding("ek origin", -1, -1, TLD_EK_PLATFORM " or " TLD_EK_MANUFACTURER,
                                  n->ak->ek_origin, "the pool refuses EKs no TPM vouches for"));
    /* A guest chooses how many records fail (a log of 60,000 unexpected
     * applications): what is stored, alerted and merged is bounded. */
    size_t nf = json_array_size(findings);
    if (nf > TLD_MAX_FINDINGS) {
        char more[64];
        snprintf(more, sizeof(more), "%zu more findings", nf - (TLD_MAX_FINDINGS - 1));
        while (json_array_size(findings) > TLD_MAX_FINDINGS - 1)
            json_array_remove(findings, json_array_size(findings) - 1);
        json_array_append_new(findings,
                              tld_finding("findings", -1, -1, NULL, more,
                                          "at most 64 findings are kept per attestation"));
    }
    const char *verdict = json_array_size(findings) ? "fail" : "pass";
    char pcr_digest[2 * 64 + 1] = "", boot[64];
    tl_hex_encode(q.pcr_digest, q.pcr_digest_len, pcr_digest);
    tld_alert_boot(n, q.reset_count, q.restart_count, boot, sizeof(boot));
    json_t *doc = json_pack(
        "{s:s, s:I, s:s, s:O, s:s, s:b, s:b, s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:o}", "node",
        n->name, "at", (json_int_t)tld_now(), "verdict", verdict, "findings", findings, "nonce",
        nonce_hex, "secure_boot", secure_boot, "vtpm", 1, "pcr_digest", pcr_digest,
        "components_digest", comp_digest, "boot", boot, "reset_count", (json_int_t)q.reset_count,
        "restart_count", (json_int_t)q.restart_count, "clock", (json_int_t)q.clock, "ak_name",
        n->ak->name, "components", components_of(findings));
    char pool[3 * 96];
    if (n->pool)
        snprintf(pool, sizeof(pool), "%s/%s/%s", n->pool->cluster->group, n->pool->cluster->name,
                 n->pool->name);
    /* whose: this node (its identity: a new node of the same name is
     * another), who vouches for its EK, which pool */
    json_object_set_new(doc, "node_uuid", json_string(n->uuid));
    json_object_set_new(doc, "ek_origin", json_string(n->ak->ek_origin));
    json_object_set_new(doc, "pool", n->pool ? json_string(pool) : json_null());
    if (quote_ok)
        json_object_set(doc, "pcrs", pcrs);
    if (quote_ok && job->tee_claims)
        json_object_set(doc, "tee", job->tee_claims);
    /* A failure keeps what it was judged on, when its quote is the TPM's
     * (anything else is the sender's word, and would let a token holder
     * fill the store): the quote, signature and PCRs, and the event log up
     * to TLD_EVIDENCE_LOG_MAX (beyond, its SHA-256 and size). */
    if (strcmp(verdict, "fail") == 0 && quote_ok) {
        json_t *ev = json_object();
        const char *keys[] = {"quote", "signature", "pcrs"};
        for (size_t i = 0; i < 3; i++)
            json_object_set(ev, keys[i], json_object_get(job->req, keys[i]) ?: json_null());
        json_t *elog = json_object_get(job->req, "eventlog");
        if (json_is_string(elog) && json_string_length(elog) > TLD_EVIDENCE_LOG_MAX) {
            uint8_t md[32];
            char hexmd[65];
            SHA256(job->elog, job->elog_len, md);
            tl_hex_encode(md, 32, hexmd);
            json_object_set_new(
                ev, "eventlog",
                json_pack("{s:s, s:I}", "sha256", hexmd, "size", (json_int_t)job->elog_len));
        } else {
            json_object_set(ev, "eventlog", elog ?: json_null());
        }
        json_object_set_new(doc, "evidence", ev);
    }
    /* the attestation, its token, its alert and the node's new state: one
     * commit. The record's id is reserved first (under tld.lock, in the
     * transaction: nobody else inserts), so that a pass's token names its
     * attestation and the record is written once. The steady state (a
     * pass once the baseline is learnt: no alert, nothing read back) joins
     * the store's group commit instead, with an id from its counter: the
     * record and the node's document are written by a transaction shared
     * with other attestations, which the caller waits for after letting
     * go of tld.lock (*pending), before it answers. A shared store
     * (replicas) has begun its transaction already, the node's row locked:
     * no group commit there (pending is NULL). */
    bool group =
        !in_tx && pending && quote_ok && strcmp(verdict, "pass") == 0 && *tld_baseline_slot(n);
    if (!in_tx && !group)
        in_tx = tld_store_begin(t) == 0;
    json_t *new_alert = NULL, *token = json_null();
    long long id = 0;
    if ((group ? tld_store_group_id(t, &id) : tld_store_attestation_next_id(t, &id)) < 0) {
        if (in_tx)
            tld_store_rollback(t);
        json_decref(doc);
        json_decref(findings);
        return tl_error_set_nopos(err, -EIO, "cannot store the attestation");
    }
    if (strcmp(verdict, "pass") == 0) {
        long long now = tld_now();
        char jti[24];
        snprintf(jti, sizeof(jti), "%lld", id);
        json_t *aud = json_object_get(job->req, "audience");
        json_t *claims = json_pack(
            "{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:b, s:b, s:s, s:s, s:s, s:s, s:I, "
            "s:I, s:s, s:s}",
            "iss", "trustlaunch", "aud", aud ? json_string_value(aud) : t->token_audience, "sub",
            n->name, "node", n->name, "node_uuid", n->uuid, "jti", jti, "attestation",
            (json_int_t)id, "ek_origin", n->ak->ek_origin, "security_type",
            job->tee_x.kind != TL_TEE_KIND_UNKNOWN ? "ConfidentialVM"
            : n->spec.vtpm                         ? "TrustedLaunch"
                                                   : "Standard",
            "secure_boot", secure_boot, "vtpm", 1, "verdict", verdict, "pcr_digest", pcr_digest,
            "components_digest", comp_digest, "nonce", nonce_hex, "iat", (json_int_t)now, "exp",
            (json_int_t)(now + TOKEN_TTL), "boot", boot, "ak_name", n->ak->name);
        json_object_set_new(claims, "pool", n->pool ? json_string(pool) : json_null());
        if (job->tee_claims) /* Microsoft Azure Attestation's names (x-ms-*) */
            json_object_update(claims, job->tee_claims);
        json_t *rpn = json_object_get(job->req, "rp_nonce"),
               *rpk = json_object_get(job->req, "rp_key");
        if (rpn)
            json_object_set(claims, "rp_nonce", rpn);
        if (rpk)
            json_object_set_new(claims, "cnf", json_pack("{s:O}", "jwk", rpk));
        char *jwt = claims ? tld_token_sign(t, claims) : NULL;
        json_decref(claims);
        if (jwt) {
            json_decref(token);
            token = json_string(jwt);
            json_object_set(doc, "token", token);
            free(jwt);
        }
    }
    /* only a verified quote speaks for the node's state */
    struct tld_attested before = n->attestation;
    if (quote_ok)
        n->attestation = (struct tld_attested){.id = id,
                                               .at = tld_now(),
                                               .clock = q.clock,
                                               .reset_count = q.reset_count,
                                               .restart_count = q.restart_count,
                                               .findings = (int)json_array_size(findings),
                                               .pass = strcmp(verdict, "pass") == 0,
                                               .secure_boot = secure_boot};
    if (quote_ok && !n->attestation.pass) /* what the Kubernetes API's condition names */
        snprintf(n->attestation.component, sizeof(n->attestation.component), "%s",
                 json_string_value(json_array_get(json_object_get(doc, "components"), 0)) ?: "");
    long long want = id;
    if (group ? tld_store_node_join(t, n, id, verdict, doc, pending) < 0
              : tld_store_attestation_add(t, n->name, verdict, doc, &id) < 0 || id != want) {
        n->attestation = before;
        if (in_tx)
            tld_store_rollback(t);
        json_decref(token);
        json_decref(doc);
        json_decref(findings);
        return tl_error_set_nopos(err, -EIO, "cannot store the attestation");
    }
    json_object_set_new(doc, "id", json_integer(id));
    if (strcmp(verdict, "fail") == 0)
        new_alert = tld_alert_record(t, n, boot, id, json_object_get(doc, "components"), findings);
    struct tl_error lm = {0};
    if (strcmp(verdict, "pass") == 0 && !*tld_baseline_slot(n))
        tld_attest_learn(t, n, &lm); /* the first passing boot is the baseline */
    if (!group)
        tld_store_save(t, n);
    if (in_tx && tld_store_commit(t) < 0) {
        json_decref(new_alert);
        json_decref(token);
        json_decref(doc);
        json_decref(findings);
        return tl_error_set_nopos(err, -EIO, "cannot store the attestation");
    }
    tld_metrics_attestation(&t->metrics, strcmp(verdict, "pass") == 0,
                            json_object_get(doc, "components"), tld_metrics_clock() - job->started);
    if (new_alert) {
        tld_webhook_post(&t->webhook, new_alert);
        json_decref(new_alert);
    }
    *answer =
        json_pack("{s:s, s:O, s:o, s:I, s:o}", "verdict", verdict, "findings", findings, "token",
                  token, "attestation", (json_int_t)id, "labels", tld_attest_labels(n));
    tld_log("node %s: attestation %lld: %s%s", n->name, id, verdict,
            json_array_size(findings) ? " (findings)" : "");
    json_decref(doc);
    json_decref(findings);
    return 0;
}

int tld_attest_handle(struct tld *t, struct tld_node *n, const char *action, const char *auth,
                      json_t *req, json_t **answer, struct tl_error *err)
{
    if (strcmp(action, "attest") == 0) { /* all three steps under the caller's lock */
        struct tld_attest_job *job = NULL;
        int r = tld_attest_begin(n, auth, req, &job, err);
        if (!r)
            r = tld_attest_work(t, job, err);
        struct tld_store_pending *pending = NULL;
        if (!r)
            r = tld_attest_finish(t, job, auth, answer, &pending, err);
        if (pending && tld_store_group_wait(t, pending) < 0) {
            json_decref(*answer);
            *answer = NULL;
            r = tl_error_set_nopos(err, -EIO, "cannot store the attestation");
        }
        tld_attest_job_free(job);
        return r;
    }
    int r = tld_attest_agent_checks(n, action, auth, req, err);
    if (r)
        return r;
    if (strcmp(action, "enroll") == 0) { /* both halves under the caller's lock */
        struct tld_enrol_pre pre;
        r = tld_enrol_prepare(t, req, &pre, err);
        if (!r)
            r = tld_enrol_accept(t, n, &pre, answer, err);
        tld_enrol_pre_done(&pre);
    } else if (strcmp(action, "activate") == 0)
        r = tld_enrol_activate(t, n, req, answer, err);
    else
        r = nonce(t, n, answer, err);
    return r;
}
