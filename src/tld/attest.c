/* The attestation service: enrolment with credential activation, fresh
 * nonces, quotes checked against the enrolled AK, the event log replayed
 * against the quoted PCRs, policy, verdicts, integrity alerts, labels and
 * tokens. The agent's side is src/agent; the wire format is docs/api.md.
 *
 * Enrolment (TCG credential protection, TPM 2.0 Part 1 §24):
 *  1. enroll: the EK certificate must chain to the platform EK CA (or a
 *     manufacturer root in HOME/ekca/roots/), be one the platform issued
 *     to THIS node, and certify the EK public area sent; the AK must be a
 *     restricted signing key, fixedTPM and fixedParent. MakeCredential in
 *     software binds a random secret to the AK's Name under the EK.
 *  2. activate: only the TPM holding both the EK's private key and a
 *     loaded object with that Name can recover the secret
 *     (ActivateCredential). A right secret binds the AK to the node.
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
 * that boot, naming the components, and is posted to the webhook. A
 * passing one returns an ES256 JWT.
 *
 * attest runs in three steps (tld_attest_begin, _work, _finish: see
 * struct tld_attest_job) so that the quote's signature and the event log
 * are checked outside tld.lock; node state (nonces, counters, AK, baseline)
 * is only read and written under it. The AK, baseline and latest
 * attestation are kept in C (struct tld_ak, tld_baseline, tld_attested),
 * not as JSON: a node costs ~2.5 KiB at 100,000 nodes. */
#include <dirent.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "attest_tpm.h"
#include "tl/base64.h"
#include "tl/bootstate.h"
#include "tl/eventcheck.h"
#include "tl/eventlog.h"
#include "tl/replay.h"
#include "tl/util.h"
#include "tl/vtpm.h"
#include "tld.h"

#define TOKEN_TTL 600 /* s */

static const char *const label_tl = "kubernetes.azure.com/trusted-launch";
static const char *const label_sb = "kubernetes.azure.com/secure-boot";

/* ---- small helpers ---- */

static void hex(const uint8_t *in, size_t len, char *out)
{
    tl_hex_encode(in, len, out);
}

void tld_attest_reset(struct tld_node *n)
{
    n->attestation = (struct tld_attested){0};
}

json_t *tld_attest_labels(const struct tld_node *n)
{
    json_t *labels = json_object();
    if (n->attestation.id && n->attestation.pass &&
        (n->state == TLD_RUNNING || n->state == TLD_BOOTING)) {
        json_object_set_new(labels, label_tl, json_string("true"));
        if (n->attestation.secure_boot)
            json_object_set_new(labels, label_sb, json_string("true"));
    }
    return labels;
}

json_t *tld_attest_summary_json(const struct tld_node *n)
{
    const struct tld_attested *a = &n->attestation;
    if (!a->id)
        return json_null();
    return json_pack("{s:I, s:s, s:I, s:b, s:I, s:I, s:I, s:i}", "id", (json_int_t)a->id, "verdict",
                     a->pass ? "pass" : "fail", "at", (json_int_t)a->at, "secure_boot",
                     a->secure_boot, "reset_count", (json_int_t)a->reset_count, "restart_count",
                     (json_int_t)a->restart_count, "clock", (json_int_t)a->clock, "findings",
                     a->findings);
}

void tld_attest_summary_from_json(struct tld_node *n, const json_t *j)
{
    struct tld_attested *a = &n->attestation;
    *a = (struct tld_attested){0};
    if (!json_is_object(j))
        return;
    a->id = json_integer_value(json_object_get(j, "id"));
    a->at = json_integer_value(json_object_get(j, "at"));
    a->pass = strcmp(json_string_value(json_object_get(j, "verdict")) ?: "", "pass") == 0;
    a->secure_boot = json_is_true(json_object_get(j, "secure_boot"));
    a->reset_count = (uint32_t)json_integer_value(json_object_get(j, "reset_count"));
    a->restart_count = (uint32_t)json_integer_value(json_object_get(j, "restart_count"));
    a->clock = (uint64_t)json_integer_value(json_object_get(j, "clock"));
    a->findings = (int)json_integer_value(json_object_get(j, "findings"));
}

json_t *tld_ak_json(const struct tld_ak *ak)
{
    if (!ak)
        return json_null();
    return json_pack("{s:o, s:s, s:s, s:s, s:I}", "public",
                     tl_base64_json(ak->public, ak->public_len), "name", ak->name, "ek_type",
                     ak->ek_type, "ek_origin", ak->ek_origin, "enrolled", (json_int_t)ak->enrolled);
}

struct tld_ak *tld_ak_from_json(const json_t *j)
{
    const char *name = json_string_value(json_object_get(j, "name"));
    const char *type = json_string_value(json_object_get(j, "ek_type"));
    uint8_t *pub = NULL;
    size_t len = 0;
    if (!name || strlen(name) >= sizeof(((struct tld_ak *)0)->name) || !type ||
        strlen(type) >= sizeof(((struct tld_ak *)0)->ek_type) ||
        tl_base64_decode_string(json_string_value(json_object_get(j, "public")), &pub, &len) < 0)
        return NULL;
    struct tld_ak *ak = malloc(sizeof(*ak) + len);
    if (ak) {
        ak->enrolled = json_integer_value(json_object_get(j, "enrolled"));
        snprintf(ak->ek_type, sizeof(ak->ek_type), "%s", type);
        /* an AK enrolled before origins were recorded: its EK was checked
         * against the platform CA or a manufacturer root, and vouched EKs
         * were certified by the platform CA then: unknown */
        const char *origin = json_string_value(json_object_get(j, "ek_origin"));
        snprintf(ak->ek_origin, sizeof(ak->ek_origin), "%s", origin ? origin : "unknown");
        snprintf(ak->name, sizeof(ak->name), "%s", name);
        ak->public_len = len;
        memcpy(ak->public, pub, len);
    }
    free(pub);
    return ak;
}

json_t *tld_baseline_json(const struct tld_baseline *b)
{
    if (!b)
        return json_null();
    json_t *bank = json_object();
    for (int i = 0; i < 8; i++) {
        char key[4], h[65];
        if (!(b->mask & (1u << i)))
            continue;
        snprintf(key, sizeof(key), "%d", i);
        hex(b->sha256[i], 32, h);
        json_object_set_new(bank, key, json_string(h));
    }
    return json_pack("{s:o, s:I}", "sha256", bank, "learned", (json_int_t)b->learned);
}

struct tld_baseline *tld_baseline_from_json(const json_t *j)
{
    const json_t *bank = json_object_get(j, "sha256");
    if (!json_is_object(bank))
        return NULL;
    struct tld_baseline *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->learned = json_integer_value(json_object_get(j, "learned"));
    for (int i = 0; i < 8; i++) {
        char key[4];
        snprintf(key, sizeof(key), "%d", i);
        const char *h = json_string_value(json_object_get(bank, key));
        if (h && strlen(h) == 64 && tl_hex_decode(h, 64, b->sha256[i], 32) == 32)
            b->mask |= (uint8_t)(1u << i);
    }
    return b;
}

/* ---- enrolment ---- */

/* Does cert chain to ROOT (+ INTERMEDIATE when given), or, for dir, to
 * any root PEM in it? The store is made per call: enrolment is rare (once
 * per AK), and a CA replaced on disk is seen at once. */
static bool chains(X509 *cert, const char *root, const char *dir, const char *inter_path,
                   int *error)
{
    X509_STORE *store = X509_STORE_new();
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    bool ok = false, loaded = false;
    if (!store || !untrusted)
        goto out;
    if (root)
        loaded = X509_STORE_load_file(store, root) == 1;
    DIR *d = dir ? opendir(dir) : NULL;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char f[PATH_MAX + 300];
        if (!strstr(e->d_name, ".pem"))
            continue;
        snprintf(f, sizeof(f), "%s/%s", dir, e->d_name);
        loaded |= X509_STORE_load_file(store, f) == 1;
    }
    if (d)
        closedir(d);
    if (!loaded)
        goto out;
    FILE *f = inter_path ? fopen(inter_path, "re") : NULL;
    X509 *inter = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    if (inter)
        sk_X509_push(untrusted, inter);
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    if (ctx && X509_STORE_CTX_init(ctx, store, cert, untrusted) == 1) {
        /* EK certificates carry TCG-specific critical extensions
         * (subjectAltName of the TPM, key usage for encryption only). */
        X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_ANY);
        ok = X509_verify_cert(ctx) == 1;
        if (!ok && error && !*error)
            *error = X509_STORE_CTX_get_error(ctx);
    }
    X509_STORE_CTX_free(ctx);
out:
    sk_X509_pop_free(untrusted, X509_free);
    X509_STORE_free(store);
    return ok;
}

/* Who vouches for this EK: its certificate chains to the platform EK CA
 * (HOME/ekca: a vTPM tld provisioned), to a manufacturer root in
 * HOME/ekca/roots/ (a real TPM), or to the CA of operator-vouched EKs
 * (HOME/ekca-vouched: a key an operator handed over with POST /v1/nodes
 * ek_public, which no TPM of ours or a manufacturer's is known to hold).
 * *origin is "platform-vtpm", "manufacturer-tpm" or "operator-vouched"; the
 * verdicts and tokens carry it. */
static int ek_cert_verify(struct tld *t, X509 *cert, const char **origin, char *msg, size_t msz)
{
    char root[PATH_MAX + 64], inter[PATH_MAX + 64], dir[PATH_MAX + 64];
    int error = 0;
    snprintf(root, sizeof(root), "%s/ekca/root.pem", t->home);
    snprintf(inter, sizeof(inter), "%s/ekca/intermediate.pem", t->home);
    /* a CA not made yet (no vTPM provisioned, nothing vouched) trusts nothing */
    if (access(root, R_OK) == 0 && chains(cert, root, NULL, inter, &error)) {
        *origin = TLD_EK_PLATFORM;
        return 0;
    }
    snprintf(dir, sizeof(dir), "%s/ekca/roots", t->home);
    if (chains(cert, NULL, dir, NULL, &error)) {
        *origin = TLD_EK_MANUFACTURER;
        return 0;
    }
    snprintf(root, sizeof(root), "%s/ekca-vouched/root.pem", t->home);
    snprintf(inter, sizeof(inter), "%s/ekca-vouched/intermediate.pem", t->home);
    if (access(root, R_OK) == 0 && chains(cert, root, NULL, inter, NULL)) {
        *origin = TLD_EK_VOUCHED;
        return 0;
    }
    snprintf(msg, msz,
             "EK certificate: %s (not issued by the platform EK CA, a configured manufacturer "
             "root or the CA of operator-vouched EKs)",
             error ? X509_verify_cert_error_string(error) : "no CA trusts it");
    return -EPERM;
}

static int enroll(struct tld *t, struct tld_node *n, json_t *req, json_t **answer, char *msg,
                  size_t msz)
{
    const char *ek_type = json_string_value(json_object_get(req, "ek_type"));
    uint8_t *cert_der = NULL, *ek_pub = NULL, *ak_pub = NULL;
    size_t cert_len, ek_len, ak_len;
    int r;
    if (!ek_type || (strcmp(ek_type, "rsa2048") && strcmp(ek_type, "ecc-p256")))
        return ERR(400, "enroll: ek_type must be rsa2048 or ecc-p256");
    if (tl_base64_decode_string(json_string_value(json_object_get(req, "ek_cert")), &cert_der,
                                &cert_len) < 0 ||
        tl_base64_decode_string(json_string_value(json_object_get(req, "ek_public")), &ek_pub,
                                &ek_len) < 0 ||
        tl_base64_decode_string(json_string_value(json_object_get(req, "ak_public")), &ak_pub,
                                &ak_len) < 0) {
        r = ERR(400, "enroll: ek_cert, ek_public and ak_public must be base64");
        goto out;
    }
    /* 1. this node's EK certificate, from a CA we trust */
    uint8_t fp[32];
    char fph[65];
    SHA256(cert_der, cert_len, fp);
    hex(fp, 32, fph);
    bool ours = false;
    size_t i;
    json_t *ek, *eks = tld_node_ek(n);
    json_array_foreach(eks, i, ek)
    {
        const char *want =
            json_string_value(json_object_get(json_object_get(ek, "certificate"), "sha256"));
        ours |= want && strcmp(want, fph) == 0;
    }
    json_decref(eks);
    const uint8_t *p = cert_der;
    X509 *cert = d2i_X509(NULL, &p, (long)cert_len);
    if (!cert || p != cert_der + cert_len) {
        X509_free(cert);
        r = ERR(403, "enroll: the EK certificate is not one DER certificate");
        goto out;
    }
    const char *origin = NULL;
    if ((r = ek_cert_verify(t, cert, &origin, msg, msz)) < 0) {
        X509_free(cert);
        r = 403;
        goto out;
    }
    if (!ours) {
        X509_free(cert);
        r = ERR(403,
                "enroll: the EK certificate is not the one issued to node %s (another "
                "node's TPM?)",
                n->name);
        goto out;
    }
    /* 2. the EK public area is the certified key, from the EK template */
    struct tl_error err = {0};
    EVP_PKEY *cert_key = X509_get0_pubkey(cert);
    r = tld_attest_ek_check(ek_pub, ek_len, strcmp(ek_type, "rsa2048") == 0, cert_key, msg, msz);
    X509_free(cert);
    if (r < 0) {
        r = 403;
        goto out;
    }
    /* 3. the AK: restricted signing, fixedTPM, fixedParent; its Name */
    char ak_name[2 * 68 + 1];
    if (tld_attest_ak_check(ak_pub, ak_len, ak_name, sizeof(ak_name), msg, msz) < 0) {
        r = 403;
        goto out;
    }
    /* 4. MakeCredential: a secret only that TPM can recover for that Name */
    struct tld_challenge *ch = calloc(1, sizeof(*ch));
    uint8_t id[16];
    if (!ch || getrandom(ch->secret, sizeof(ch->secret), 0) != (ssize_t)sizeof(ch->secret) ||
        getrandom(id, sizeof(id), 0) != (ssize_t)sizeof(id)) {
        free(ch);
        r = ERR(500, "getrandom failed");
        goto out;
    }
    uint8_t *blob = NULL, *secret = NULL;
    size_t blob_len = 0, secret_len = 0;
    if (tld_attest_make_credential(ek_pub, ek_len, ak_name, ch->secret, sizeof(ch->secret), &blob,
                                   &blob_len, &secret, &secret_len, msg, msz) < 0) {
        free(ch);
        r = 500;
        goto out;
    }
    (void)err;
    hex(id, sizeof(id), ch->id);
    ch->expires = tld_now() + TLD_CHALLENGE_TTL;
    ch->ak = json_pack("{s:o, s:s, s:s, s:s}", "public", tl_base64_json(ak_pub, ak_len), "name",
                       ak_name, "ek_type", ek_type, "ek_origin", origin);
    if (n->challenge) {
        json_decref(n->challenge->ak);
        OPENSSL_cleanse(n->challenge, sizeof(*n->challenge));
        free(n->challenge);
    }
    n->challenge = ch;
    *answer = json_pack("{s:s, s:o, s:o}", "challenge", ch->id, "credential_blob",
                        tl_base64_json(blob, blob_len), "encrypted_secret",
                        tl_base64_json(secret, secret_len));
    free(blob);
    free(secret);
    tld_log("node %s: enrolment challenge for AK %.16s", n->name, ak_name);
    r = 0;
out:
    free(cert_der);
    free(ek_pub);
    free(ak_pub);
    return r;
}

static int activate(struct tld *t, struct tld_node *n, json_t *req, json_t **answer, char *msg,
                    size_t msz)
{
    struct tld_challenge *ch = n->challenge;
    const char *id = json_string_value(json_object_get(req, "challenge"));
    uint8_t *secret = NULL;
    size_t len = 0;
    if (!ch || !id || strcmp(id, ch->id) != 0)
        return ERR(403, "activate: no such enrolment challenge for node %s", n->name);
    n->challenge = NULL; /* one try */
    int r;
    if (tld_now() > ch->expires) {
        r = ERR(403, "activate: the challenge expired");
    } else if (tl_base64_decode_string(json_string_value(json_object_get(req, "secret")), &secret,
                                       &len) < 0) {
        r = ERR(400, "activate: secret must be base64");
    } else if (len != sizeof(ch->secret) || CRYPTO_memcmp(secret, ch->secret, len) != 0) {
        r = ERR(403, "activate: credential activation failed: the secret does not match (the AK "
                     "is not in the TPM that holds this EK)");
    } else {
        json_object_set_new(ch->ak, "enrolled", json_integer(tld_now()));
        struct tld_ak *ak = tld_ak_from_json(ch->ak);
        if (!ak) {
            r = ERR(500, "out of memory");
        } else {
            free(n->ak);
            n->ak = ak;
            tld_attest_reset(n);
            tld_store_save(t, n);
            *answer = json_pack("{s:b, s:s}", "enrolled", 1, "ak_name", n->ak->name);
            tld_log("node %s: AK %.16s enrolled (credential activated)", n->name, n->ak->name);
            r = 0;
        }
    }
    free(secret);
    json_decref(ch->ak);
    OPENSSL_cleanse(ch, sizeof(*ch));
    free(ch);
    return r;
}

/* ---- nonces ---- */

static int nonce(struct tld_node *n, json_t **answer, char *msg, size_t msz)
{
    if (!n->ak)
        return ERR(401, "nonce: node %s has no enrolled AK (enrol first)", n->name);
    if (!n->nonces && !(n->nonces = calloc(TLD_NONCES, sizeof(*n->nonces))))
        return ERR(500, "out of memory");
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
        return ERR(500, "getrandom failed");
    nn->expires = now + TLD_NONCE_TTL;
    char h[65];
    hex(nn->value, sizeof(nn->value), h);
    *answer = json_pack("{s:s, s:i}", "nonce", h, "expires_in", TLD_NONCE_TTL);
    return 0;
}

/* Consumes the nonce: true when this service issued it to this node, it
 * has not been used and has not expired. */
static bool nonce_take(struct tld_node *n, const uint8_t *v, size_t len)
{
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

static json_t *finding(const char *component, int pcr, long event, const char *expected,
                       const char *actual, const char *rule)
{
    return json_pack("{s:s, s:i, s:o, s:s?, s:s?, s:s, s:s}", "component", component, "pcr", pcr,
                     "event", event >= 0 ? json_integer(event) : json_null(), "expected", expected,
                     "actual", actual, "severity", "critical", "rule", rule);
}

static const char *record_component(const struct tl_boot_state *bs, uint32_t event)
{
    if (!bs->component_of_event)
        return "event log";
    int32_t c = bs->component_of_event[event];
    return c >= 0 && (size_t)c < bs->n_components ? bs->components[c].name : "event log";
}

/* The event log of an attest call, parsed outside tld.lock (records point
 * into buf, which the job keeps) and kept for the policy, which runs under
 * it. */
struct parsed_log {
    bool parsed, ok; /* ok: replayed, checked, boot state extracted */
    struct tl_eventlog log;
    struct tl_eventlog_checks checks;
    struct tl_boot_state bs;
};

static void parsed_log_done(struct parsed_log *pl)
{
    if (pl->parsed) {
        tl_boot_state_done(&pl->bs);
        tl_eventlog_checks_done(&pl->checks);
        tl_eventlog_done(&pl->log);
    }
    pl->parsed = pl->ok = false;
}

/* The log against the quoted PCR values and its record checks (pure: no
 * node). Appends findings; sets *secure_boot and the components digest.
 * The policy (needs the node) follows with pl when pl->ok. */
static void evaluate_log(const uint8_t *buf, size_t len, const struct tl_pcr_values *quoted,
                         struct parsed_log *pl, json_t *findings, bool *secure_boot,
                         char components_digest[65])
{
    struct tl_error err = {0};
    struct tl_pcr_values *replayed = calloc(1, sizeof(*replayed));
    *secure_boot = false;
    components_digest[0] = 0;
    *pl = (struct parsed_log){0};
    if (!replayed)
        return;
    if (tl_eventlog_parse(buf, len, &pl->log, &err) < 0) {
        json_array_append_new(findings, finding("event log", -1, -1, "a well-formed log",
                                                err.message, "the event log must parse"));
        free(replayed);
        return;
    }
    pl->parsed = true;
    struct tl_eventlog *log = &pl->log;
    struct tl_boot_state *bs = &pl->bs;
    if (tl_replay(log, NULL, replayed, &err) < 0 ||
        tl_eventlog_check(log, NULL, &pl->checks, &err) < 0 ||
        tl_boot_state_extract(log, &pl->checks, bs, &err) < 0) {
        json_array_append_new(
            findings, finding("event log", -1, -1, NULL, err.message, "the event log must replay"));
        free(replayed);
        return;
    }
    pl->ok = true;
    struct tl_pcr_mismatch mm[24];
    uint32_t not_covered = 0;
    size_t count = tl_replay_compare(replayed, quoted, mm, 24, &not_covered);
    for (size_t i = 0; i < count && i < 24; i++) {
        const struct tl_pcr_bank *qb = tl_pcr_values_bank_const(quoted, mm[i].alg);
        char e[2 * TL_DIGEST_MAX + 1] = "", a[2 * TL_DIGEST_MAX + 1] = "", what[64];
        if (mm[i].pcr < 0) {
            snprintf(what, sizeof(what), "the quoted %s bank", tl_alg_name(mm[i].alg));
            json_array_append_new(findings, finding("event log", -1, -1, what, "no such bank",
                                                    "the log must carry every quoted bank"));
            continue;
        }
        hex(mm[i].expected, qb ? qb->size : 0, e);
        hex(mm[i].replayed, qb ? qb->size : 0, a);
        snprintf(what, sizeof(what), "PCR %d (%s)", mm[i].pcr, tl_alg_name(mm[i].alg));
        json_t *f = finding("event log", mm[i].pcr, -1, e, a,
                            "the event log must replay to the quoted PCR values");
        json_object_set_new(f, "what", json_string(what));
        json_array_append_new(findings, f);
    }
    for (size_t i = 0; i < pl->checks.n_findings; i++) {
        const struct tl_record_finding *rf = &pl->checks.findings[i];
        json_array_append_new(findings, finding(record_component(bs, rf->event),
                                                (int)log->events[rf->event].pcr, (long)rf->event,
                                                NULL, rf->reason, "record check"));
    }
    *secure_boot = bs->secure_boot == 1;
    /* components digest: SHA-256 over each boot application's SHA-256
     * digest in log order, then the kernel command line */
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    int b = tl_eventlog_bank_index(log, 0x000b);
    for (size_t i = 0; b >= 0 && i < bs->n_apps; i++) {
        const uint8_t *d = tl_event_digest(log, &log->events[bs->apps[i].event], (unsigned)b);
        if (d)
            EVP_DigestUpdate(ctx, d, 32);
    }
    if (bs->kernel_cmdline)
        EVP_DigestUpdate(ctx, bs->kernel_cmdline, strlen(bs->kernel_cmdline));
    uint8_t md[32];
    EVP_DigestFinal_ex(ctx, md, NULL);
    EVP_MD_CTX_free(ctx);
    hex(md, 32, components_digest);
    free(replayed);
}

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
        hex(bl->sha256[i], 32, want);
        hex(qb->value[i], 32, got);
        json_array_append_new(findings,
                              finding(what[i], i, -1, want, got, "the pool's learned baseline"));
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
    char image[PATH_MAX]; /* the node's image at begin ("" external) */
    json_t *manifest;     /* its manifest (tld_attest_prefetch), NULL: not read */
    char manifest_error[256];
    struct tld_ak *ak; /* the AK at begin */
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
    struct parsed_log pl;
    bool secure_boot;
    char comp_digest[65];
};

void tld_attest_job_free(struct tld_attest_job *job)
{
    if (!job)
        return;
    parsed_log_done(&job->pl);
    json_decref(job->manifest);
    free(job->ak);
    json_decref(job->req);
    json_decref(job->first);
    json_decref(job->log_findings);
    free(job->nv);
    free(job->quote);
    free(job->sig);
    free(job->elog);
    free(job->quoted);
    free(job);
}

/* What an agent call needs of the node, whatever the action. */
static int agent_checks(struct tld_node *n, const char *action, const char *auth, const json_t *req,
                        char *msg, size_t msz)
{
    if (!tld_token_ok(n, auth))
        return ERR(403, "not this node's token");
    if (n->state != TLD_BOOTING && n->state != TLD_RUNNING)
        return ERR(409, "node %s is %s", n->name, tld_state_name(n->state));
    if (!n->spec.vtpm)
        return ERR(409, "node %s has no vTPM to attest", n->name);
    if (!json_is_object(req))
        return ERR(400, "%s: the body must be a JSON object", action);
    return 0;
}

int tld_attest_begin(struct tld_node *n, const char *auth, json_t *req, struct tld_attest_job **out,
                     char *msg, size_t msz)
{
    *out = NULL;
    int r = agent_checks(n, "attest", auth, req, msg, msz);
    if (r)
        return r;
    if (!n->ak)
        return ERR(401, "attest: node %s has no enrolled AK (enrol first)", n->name);
    struct tld_attest_job *job = calloc(1, sizeof(*job));
    size_t ak_size = sizeof(*n->ak) + n->ak->public_len;
    if (!job || !(job->ak = malloc(ak_size))) {
        free(job);
        return ERR(500, "out of memory");
    }
    memcpy(job->ak, n->ak, ak_size);
    snprintf(job->node, sizeof(job->node), "%s", n->name);
    snprintf(job->image, sizeof(job->image), "%s", n->spec.image);
    job->req = json_incref(req);
    *out = job;
    return 0;
}

void tld_attest_prefetch(struct tld *t, struct tld_attest_job *job)
{
    if (job->image[0] && !job->manifest)
        job->manifest =
            tld_manifest_get(t, job->image, job->manifest_error, sizeof(job->manifest_error));
}

int tld_attest_work(struct tld_attest_job *job, char *msg, size_t msz)
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
        return ERR(400, "attest: nonce (hex), quote and signature (base64), pcrs (object) and "
                        "eventlog (base64 or null) are required");
    /* what a relying party asked the node to carry (optional): its nonce,
     * its key (a JWK: the token's "cnf", RFC 7800), the audience */
    json_t *rpn = json_object_get(req, "rp_nonce"), *rpk = json_object_get(req, "rp_key"),
           *aud = json_object_get(req, "audience");
    uint8_t tmp[64];
    if (rpn &&
        (!json_is_string(rpn) || json_string_length(rpn) > 128 ||
         tl_hex_decode(json_string_value(rpn), json_string_length(rpn), tmp, sizeof(tmp)) <= 0))
        return ERR(400, "attest: rp_nonce: 1-64 bytes in hex");
    if (rpk) {
        char *text = json_is_object(rpk) ? json_dumps(rpk, JSON_COMPACT) : NULL;
        size_t len = text ? strlen(text) : 0;
        free(text);
        if (!len || len > 4096 || !json_is_string(json_object_get(rpk, "kty")))
            return ERR(400, "attest: rp_key: a JWK object (with \"kty\") of at most 4 KiB");
        const char *priv[] = {"d", "p", "q", "dp", "dq", "qi", "k", "oth"};
        for (size_t i = 0; i < sizeof(priv) / sizeof(priv[0]); i++)
            if (json_object_get(rpk, priv[i])) /* it would be in a token anyone reads */
                return ERR(400, "attest: rp_key: a public key only (\"%s\" is a private member)",
                           priv[i]);
    }
    if (aud && (!json_is_string(aud) || !json_string_length(aud) || json_string_length(aud) > 256))
        return ERR(400, "attest: audience: a string of 1-256 characters");
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
            finding("pcrs", -1, -1, "PCR values", perr.message, "the PCR values must parse");
    else if (tld_attest_quote_verify(job->ak->public, job->ak->public_len, job->quote,
                                     job->quote_len, job->sig, job->sig_len, job->nv, job->nv_len,
                                     sent, job->quoted, &job->q) < 0)
        job->first = finding("quote", -1, -1, "a quote by the node's AK", job->q.reason,
                             "quote signature, type, nonce and PCR digest");
    else
        job->quote_ok = true;
    free(sent);
    free(pcr_text);
    if (!job->quote_ok) /* an unverified quote's counters are the sender's word: not a boot */
        job->q.reset_count = job->q.restart_count = 0, job->q.clock = 0;
    job->log_findings = json_array();
    if (job->quote_ok && job->elog)
        evaluate_log(job->elog, job->elog_len, job->quoted, &job->pl, job->log_findings,
                     &job->secure_boot, job->comp_digest);
    return 0;
}

/* The finding is in the list already (the same component, PCR, event,
 * expected and actual)? */
static bool has_finding(const json_t *list, const json_t *f)
{
    size_t i;
    json_t *g;
    json_array_foreach(list, i, g) if (json_equal(f, g)) return true;
    return false;
}

/* A failure's integrity alert: one per node identity and boot. A later
 * failure of the same boot adds its findings and components (nothing is
 * overwritten) and its attestation to the alert's list; an acknowledged
 * alert is reopened by a new failure. Returns the alert to post to the
 * webhook (after the commit) when it is new, reopened or has new findings,
 * else NULL. Under tld.lock, inside the attestation's transaction. */
static json_t *alert_record(struct tld *t, struct tld_node *n, const char *boot, long long att,
                            const json_t *components, const json_t *findings)
{
    long long aid = 0;
    bool acked = false;
    json_t *alert = tld_store_alert_find(t, n->name, n->uuid, boot, &aid, &acked);
    size_t added = 0;
    if (!alert) {
        alert = json_pack("{s:s, s:s, s:s, s:I, s:I, s:[I], s:O, s:O, s:i}", "node", n->name,
                          "node_uuid", n->uuid, "boot", boot, "at", (json_int_t)tld_now(),
                          "attestation", (json_int_t)att, "attestations", (json_int_t)att,
                          "components", components, "findings", findings, "reopened", 0);
        added = json_array_size(findings);
    } else {
        json_t *fl = json_object_get(alert, "findings"), *cl = json_object_get(alert, "components");
        json_t *al = json_object_get(alert, "attestations");
        if (!json_is_array(fl))
            json_object_set_new(alert, "findings", fl = json_array());
        if (!json_is_array(cl))
            json_object_set_new(alert, "components", cl = json_array());
        if (!json_is_array(al)) /* an alert of an earlier tld: its one attestation */
            json_object_set_new(alert, "attestations",
                                al = json_pack("[O]", json_object_get(alert, "attestation")));
        size_t i;
        json_t *v;
        json_array_foreach(findings, i, v) if (json_array_size(fl) < TLD_MAX_ALERT_FINDINGS &&
                                               !has_finding(fl, v))
        {
            json_array_append(fl, v);
            added++;
        }
        json_array_foreach(components, i, v) if (!has_finding(cl, v)) json_array_append(cl, v);
        json_array_append_new(al, json_integer(att));
        json_object_set_new(alert, "attestation", json_integer(att));
        json_object_set_new(alert, "at", json_integer(tld_now()));
        if (acked)
            json_object_set_new(
                alert, "reopened",
                json_integer(json_integer_value(json_object_get(alert, "reopened")) + 1));
    }
    json_object_del(alert, "id");
    json_object_del(alert, "acknowledged");
    if (tld_store_alert_put(t, n->name, boot, alert, &aid, acked) < 0) {
        json_decref(alert);
        return NULL;
    }
    json_object_set_new(alert, "id", json_integer(aid));
    json_object_set_new(alert, "type", json_string("integrity-alert"));
    json_object_set_new(alert, "acknowledged", json_false());
    char *comps = json_dumps(json_object_get(alert, "components"), JSON_COMPACT);
    tld_log("node %s: integrity alert %lld%s: %s", n->name, aid,
            acked ? " reopened" : (added ? "" : " (no new finding)"), comps ? comps : "?");
    free(comps);
    if (!acked && !added) {
        json_decref(alert);
        return NULL;
    }
    return alert;
}

int tld_attest_finish(struct tld *t, struct tld_attest_job *job, const char *auth, json_t **answer,
                      char *msg, size_t msz)
{
    struct tld_node *n = tld_node_find(t, job->node);
    if (!n)
        return ERR(404, "no node named %s", job->node);
    int r = agent_checks(n, "attest", auth, job->req, msg, msz);
    if (r)
        return r;
    if (!n->ak)
        return ERR(401, "attest: node %s has no enrolled AK (enrol first)", n->name);
    if (strcmp(n->ak->name, job->ak->name) != 0)
        return ERR(409, "attest: node %s enrolled another AK meanwhile", n->name);
    const char *nonce_hex = job->nonce_hex;
    json_t *pcrs = job->pcrs;
    json_t *findings = json_array();
    bool fresh = nonce_take(n, job->nv, job->nv_len);
    bool quote_ok = fresh && job->quote_ok;
    struct tld_quote_result q = job->q;
    if (!fresh) {
        json_array_append_new(findings,
                              finding("nonce", -1, -1, "a nonce issued to this node, unused",
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
            json_array_append_new(
                findings, finding("tpm clock", -1, -1, e, a, "the TPM's counters never go back"));
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
            json_array_append_new(findings, finding("event log", -1, -1, "the firmware event log",
                                                    "none", "a vTPM node delivers its event log"));
        } else {
            size_t k;
            json_t *f;
            json_array_foreach(job->log_findings, k, f) json_array_append(findings, f);
            if (job->pl.ok) {
                if (strcmp(job->image, n->spec.image) != 0) { /* reimaged meanwhile */
                    json_decref(job->manifest);
                    job->manifest = NULL;
                    snprintf(job->image, sizeof(job->image), "%s", n->spec.image);
                }
                tld_attest_prefetch(t, job); /* read here only when it was not before */
                json_t *policy = tld_policy_evaluate(n, job->manifest, job->manifest_error,
                                                     &job->pl.log, &job->pl.bs);
                json_array_foreach(policy, k, f) json_array_append(findings, f);
                json_decref(policy);
            }
            secure_boot = job->secure_boot;
            comp_digest = job->comp_digest;
        }
        check_baseline(n, job->quoted, findings);
    }
    if (n->pool && json_is_true(json_object_get(n->pool->rules, "refuseVouchedEk")) &&
        strcmp(n->ak->ek_origin, TLD_EK_PLATFORM) != 0 &&
        strcmp(n->ak->ek_origin, TLD_EK_MANUFACTURER) != 0)
        json_array_append_new(
            findings, finding("ek origin", -1, -1, TLD_EK_PLATFORM " or " TLD_EK_MANUFACTURER,
                              n->ak->ek_origin, "the pool refuses EKs no TPM vouches for"));
    /* A guest chooses how many records fail (a log of 60,000 unexpected
     * applications): what is stored, alerted and merged is bounded. */
    size_t nf = json_array_size(findings);
    if (nf > TLD_MAX_FINDINGS) {
        char more[64];
        snprintf(more, sizeof(more), "%zu more findings", nf - (TLD_MAX_FINDINGS - 1));
        while (json_array_size(findings) > TLD_MAX_FINDINGS - 1)
            json_array_remove(findings, json_array_size(findings) - 1);
        json_array_append_new(findings, finding("findings", -1, -1, NULL, more,
                                                "at most 64 findings are kept per attestation"));
    }
    const char *verdict = json_array_size(findings) ? "fail" : "pass";
    char pcr_digest[2 * 64 + 1] = "", boot[64];
    hex(q.pcr_digest, q.pcr_digest_len, pcr_digest);
    snprintf(boot, sizeof(boot), "%u:%u:%u", n->boots, q.reset_count, q.restart_count);
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
            hex(md, 32, hexmd);
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
     * attestation and the record is written once. */
    bool in_tx = tld_store_begin(t) == 0;
    json_t *new_alert = NULL, *token = json_null();
    long long id = 0;
    if (tld_store_attestation_next_id(t, &id) < 0) {
        if (in_tx)
            tld_store_rollback(t);
        json_decref(doc);
        json_decref(findings);
        return ERR(500, "cannot store the attestation");
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
            n->spec.vtpm ? "TrustedLaunch" : "Standard", "secure_boot", secure_boot, "vtpm", 1,
            "verdict", verdict, "pcr_digest", pcr_digest, "components_digest", comp_digest, "nonce",
            nonce_hex, "iat", (json_int_t)now, "exp", (json_int_t)(now + TOKEN_TTL), "boot", boot,
            "ak_name", n->ak->name);
        json_object_set_new(claims, "pool", n->pool ? json_string(pool) : json_null());
        json_t *rpn = json_object_get(job->req, "rp_nonce"),
               *rpk = json_object_get(job->req, "rp_key");
        if (rpn)
            json_object_set(claims, "rp_nonce", rpn);
        if (rpk)
            json_object_set_new(claims, "cnf", json_pack("{s:O}", "jwk", rpk));
        char *jwt = claims ? tld_token_sign(claims) : NULL;
        json_decref(claims);
        if (jwt) {
            json_decref(token);
            token = json_string(jwt);
            json_object_set(doc, "token", token);
            free(jwt);
        }
    }
    long long want = id;
    if (tld_store_attestation_add(t, n->name, verdict, doc, &id) < 0 || id != want) {
        if (in_tx)
            tld_store_rollback(t);
        json_decref(token);
        json_decref(doc);
        json_decref(findings);
        return ERR(500, "cannot store the attestation");
    }
    json_object_set_new(doc, "id", json_integer(id));
    if (quote_ok) /* only a verified quote speaks for the node's state */
        n->attestation = (struct tld_attested){.id = id,
                                               .at = tld_now(),
                                               .clock = q.clock,
                                               .reset_count = q.reset_count,
                                               .restart_count = q.restart_count,
                                               .findings = (int)json_array_size(findings),
                                               .pass = strcmp(verdict, "pass") == 0,
                                               .secure_boot = secure_boot};
    if (strcmp(verdict, "fail") == 0)
        new_alert = alert_record(t, n, boot, id, json_object_get(doc, "components"), findings);
    char lm[64];
    if (strcmp(verdict, "pass") == 0 && !*tld_baseline_slot(n))
        tld_attest_learn(t, n, lm, sizeof(lm)); /* the first passing boot is the baseline */
    tld_store_save(t, n);
    if (in_tx && tld_store_commit(t) < 0) {
        json_decref(new_alert);
        json_decref(token);
        json_decref(doc);
        json_decref(findings);
        return ERR(500, "cannot store the attestation");
    }
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
                      json_t *req, json_t **answer, char *msg, size_t msz)
{
    if (strcmp(action, "attest") == 0) { /* all three steps under the caller's lock */
        struct tld_attest_job *job = NULL;
        int r = tld_attest_begin(n, auth, req, &job, msg, msz);
        if (!r)
            r = tld_attest_work(job, msg, msz);
        if (!r)
            r = tld_attest_finish(t, job, auth, answer, msg, msz);
        tld_attest_job_free(job);
        return r;
    }
    int r = agent_checks(n, action, auth, req, msg, msz);
    if (r)
        return r;
    if (strcmp(action, "enroll") == 0)
        r = enroll(t, n, req, answer, msg, msz);
    else if (strcmp(action, "activate") == 0)
        r = activate(t, n, req, answer, msg, msz);
    else
        r = nonce(n, answer, msg, msz);
    return r;
}

json_t *tld_attest_policy(struct tld *t, struct tld_node *n)
{
    (void)t;
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/manifest.json", n->spec.image);
    json_t *m = json_load_file(path, 0, NULL);
    json_t *refs = json_array();
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(m, "components"), i, c) json_array_append_new(
        refs, json_pack("{s:O, s:O, s:O}", "component", json_object_get(c, "name"), "path",
                        json_object_get(c, "path"), "sha256",
                        json_object_get(json_object_get(c, "digests"), "sha256")));
    json_t *out = json_pack(
        "{s:s, s:s, s:o, s:O, s:o, s:{s:b, s:s?}}", "node", n->name, "source",
        "predicted from the image manifest", "reference", refs, "kernel_cmdline",
        json_object_get(m, "kernel_cmdline") ? json_object_get(m, "kernel_cmdline") : json_null(),
        "baseline", tld_baseline_json(*tld_baseline_slot(n)), "rules", "secure_boot",
        n->spec.secure_boot, "image", n->spec.image);
    json_decref(m);
    return out;
}

int tld_attest_learn(struct tld *t, struct tld_node *n, char *msg, size_t msz)
{
    json_t *list = tld_store_attestations(t, n->name, n->uuid, 50);
    json_t *pcrs = NULL;
    size_t i;
    json_t *a;
    json_array_foreach(list, i, a)
    {
        /* the newest attestation whose only findings are baseline ones */
        size_t j;
        json_t *f;
        bool usable = json_object_get(a, "pcrs") != NULL;
        json_array_foreach(json_object_get(a, "findings"), j, f) usable &=
            strcmp(json_string_value(json_object_get(f, "rule")) ?: "",
                   "the pool's learned baseline") == 0;
        if (usable) {
            pcrs = json_incref(json_object_get(a, "pcrs"));
            break;
        }
    }
    json_decref(list);
    if (!pcrs)
        return ERR(409, "node %s has no attestation to learn from", n->name);
    /* the values as the quote check read them (tl_pcr_values_parse) */
    char *text = json_dumps(pcrs, JSON_COMPACT);
    json_decref(pcrs);
    struct tl_pcr_values *v = calloc(1, sizeof(*v));
    struct tld_baseline *bl = calloc(1, sizeof(*bl));
    struct tl_error err = {0};
    const struct tl_pcr_bank *bank = NULL;
    if (text && v && bl && tl_pcr_values_parse(text, strlen(text), v, &err) == 0)
        bank = tl_pcr_values_bank_const(v, 0x000b);
    for (int k = 0; bank && k < 8; k++)
        if (bank->mask & (1u << k)) {
            memcpy(bl->sha256[k], bank->value[k], 32);
            bl->mask |= (uint8_t)(1u << k);
        }
    free(text);
    free(v);
    if (!bank) {
        free(bl);
        return ERR(500, "node %s: the attestation's PCR values do not parse", n->name);
    }
    bl->learned = tld_now();
    struct tld_baseline **slot = tld_baseline_slot(n);
    free(*slot);
    *slot = bl;
    if (n->pool) /* learned for the pool: every node of it is held to it */
        tld_pool_save(t, n->pool);
    else
        tld_store_save(t, n);
    return 0;
}
