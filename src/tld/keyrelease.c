/* A key released to an attested node (issue 15, the release protocol):
 * POST /v1/nodes/NODE/keys/release, the node's agent only.
 *
 *   {"vault", "key", "version" (optional: 32 hex digits, else the newest),
 *    "nonce": hex (one tld issued: POST .../nonce),
 *    "key_public", "parent_public": TPM2B_PUBLIC (base64),
 *    "certify": TPMS_ATTEST (base64, as signed), "signature": TPMT_SIGNATURE}
 *   -> {"kid", "vault", "key", "version", "kty", "size", "attestation",
 *       "wrapped": base64 of OAEP-SHA-256(ephemeral AES-256) || RFC 5649 wrap}
 *
 * "version" names an older version (a disk's key before a rotation): it is
 * checked before anything else is taken (404 "version: ..." when the token
 * does not hold it, the nonce left unused), then decided as the newest
 * would be: the key's one policy and exportability hold for every version.
 * The answer always names the version it wrapped.
 *
 * The decision, in order; each refusal is 403 with its reason, and every
 * request that names a key of a vault is recorded in the release log with
 * the clause that decided (keyvault.c):
 *   "nonce"        the nonce is one tld issued to this node, unused, fresh
 *                  (a replayed request finds it taken);
 *   "certify"      the TPM key is certified by the node's enrolled AK, over
 *                  that nonce, and is a decrypt-only fixedTPM key of the NULL
 *                  hierarchy (libtl's tl_release_key_verify);
 *   "attestation"  the node's latest attestation is of this boot, passed and
 *                  is at most TLD_RELEASE_FRESH seconds old;
 *   the policy's   the key's release policy over that attestation's claims
 *   clause         (the claims of its token, as relying parties see them;
 *                  authority "trustlaunch"), naming the deciding clause;
 *   "exportable"   the key may be released at all.
 * Then the version asked for (the newest by default) is wrapped in the
 * token to the TPM key's public half: only that TPM (RSA_Decrypt with the
 * key, which never leaves it and goes with the boot) can open it.
 *
 * Locks: tld.lock for the node (its AK, nonces, latest attestation) and the
 * records; the evidence checked and the policy evaluated without any; the
 * wrap under the key store's own lock (keyvault.c). */
#include <errno.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest.h"
#include "tl/base64.h"
#include "tl/certify.h"
#include "tl/cleanup.h"
#include "tl/release_policy.h"
#include "tl/util.h"

#define AUTHORITY "trustlaunch" /* the tokens' "iss" */

struct release_req {
    const char *vault, *key;
    const char *version; /* NULL: the newest */
    uint8_t nonce[32];
    uint8_t *key_public, *parent_public, *certify, *signature;
    size_t key_len, parent_len, certify_len, signature_len;
};

static void release_req_done(struct release_req *r)
{
    free(r->key_public);
    free(r->parent_public);
    free(r->certify);
    free(r->signature);
}

static int b64_member(const json_t *req, const char *key, uint8_t **out, size_t *len,
                      struct tl_error *err)
{
    const char *s = json_string_value(json_object_get(req, key));
    if (!s || tl_base64_decode(s, strlen(s), 0, out, len) < 0 || *len == 0)
        return tl_error_set_nopos(err, -EINVAL, "%s: required, base64", key);
    return 0;
}

static int release_req_parse(const json_t *req, struct release_req *r, struct tl_error *err)
{
    *r = (struct release_req){.vault = json_string_value(json_object_get(req, "vault")),
                              .key = json_string_value(json_object_get(req, "key"))};
    if (!r->vault || !r->key)
        return tl_error_set_nopos(err, -EINVAL, "vault, key: required (the key to release)");
    json_t *version = json_object_get(req, "version");
    r->version = json_string_value(version);
    if (version && !r->version)
        return tl_error_set_nopos(err, -EINVAL, "version: a key version (32 hex digits)");
    int rc = tlh_keystore_names_check(r->vault, r->key, NULL, err);
    if (rc < 0)
        return rc;
    if (r->version && !r->version[0])
        return tl_error_set_nopos(err, -EINVAL, "version: empty (omit it for the newest)");
    if (r->version && tlh_keystore_names_check(NULL, NULL, r->version, err) < 0)
        return tl_error_set_nopos(err, -EINVAL, "version: %s is not %d lowercase hex digits",
                                  r->version, TLH_KEYSTORE_VERSION_LEN);
    const char *nonce = json_string_value(json_object_get(req, "nonce"));
    if (!nonce || strlen(nonce) != 64 || tl_hex_decode(nonce, 64, r->nonce, 32) != 32)
        return tl_error_set_nopos(err, -EINVAL, "nonce: required, the 64 hex digits tld issued");
    if ((rc = b64_member(req, "key_public", &r->key_public, &r->key_len, err)) < 0 ||
        (rc = b64_member(req, "parent_public", &r->parent_public, &r->parent_len, err)) < 0 ||
        (rc = b64_member(req, "certify", &r->certify, &r->certify_len, err)) < 0 ||
        (rc = b64_member(req, "signature", &r->signature, &r->signature_len, err)) < 0)
        return rc;
    return 0;
}

/* What tld knows of the node, taken under tld.lock. */
struct node_facts {
    struct tld_attested att;
    uint8_t *ak; /* its enrolled AK's public area */
    size_t ak_len;
    bool nonce_ok;
    json_t *policy; /* the key's release policy, NULL: none */
};

static int node_facts_take(struct tld *t, const char *node, const char *auth,
                           const struct release_req *rq, struct node_facts *f, struct tl_error *err)
{
    *f = (struct node_facts){0};
    char id[TLH_KEYSTORE_VAULT_MAX + TLH_KEYSTORE_NAME_MAX + 2];
    snprintf(id, sizeof(id), "%s/%s", rq->vault, rq->key);
    int r = 0;
    tld_lock(t);
    int sr; /* replicas: its latest attestation may be another tld's */
    struct tld_node *n = tld_store_node_sync(t, node, false, &sr);
    json_t *rec = json_object_get(t->keyvault.keys, id);
    if (!n || !tld_token_ok(n, auth))
        r = tl_error_set_nopos(err, -EACCES, "not this node's token");
    else if (!n->ak)
        r = tl_error_set_nopos(err, -ENOKEY, "node %s has no enrolled AK (enrol first)", node);
    else if (!rec)
        r = tl_error_set_nopos(err, -ENOENT, "no key %s in vault %s", rq->key, rq->vault);
    else if (!(f->ak = malloc(n->ak->public_len)))
        r = tl_error_set_nopos(err, -ENOMEM, "out of memory");
    if (r == 0) {
        memcpy(f->ak, n->ak->public, n->ak->public_len);
        f->ak_len = n->ak->public_len;
        f->att = n->attestation;
        json_t *policy = json_object_get(rec, "release_policy");
        f->policy = json_is_object(policy) ? json_incref(policy) : NULL;
        /* taken whatever follows: single use, so a replay finds it gone */
        f->nonce_ok = tld_attest_nonce_take(t, n, rq->nonce, sizeof(rq->nonce));
    }
    tld_unlock(t);
    return r;
}

/* The claims of the attestation's token (its payload), as a relying
 * party reads them: a new reference, or NULL. */
static json_t *attestation_claims(struct tld *t, long long id)
{
    tld_lock(t);
    json_t *doc = tld_store_attestation_get(t, id);
    tld_unlock(t);
    const char *jwt = json_string_value(json_object_get(doc, "token"));
    const char *a = jwt ? strchr(jwt, '.') : NULL, *b = a ? strchr(a + 1, '.') : NULL;
    uint8_t *payload = NULL;
    size_t len = 0;
    json_t *claims = NULL;
    if (b && tl_base64_decode(a + 1, (size_t)(b - a - 1), TL_BASE64_URL | TL_BASE64_PAD_OPTIONAL,
                              &payload, &len) == 0)
        claims = json_loadb((const char *)payload, len, 0, NULL);
    free(payload);
    json_decref(doc);
    if (!json_is_object(claims)) {
        json_decref(claims);
        return NULL;
    }
    return claims;
}

/* the decision is libtl's (tl_release_decision): the policy's own verdict,
 * or one of the checks before it refusing */
__attribute__((format(printf, 3, 4))) static void refuse(struct tl_release_decision *d,
                                                         const char *clause, const char *fmt, ...)
{
    d->granted = false;
    snprintf(d->clause, sizeof(d->clause), "%s", clause);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
    va_end(ap);
}

/* nonce, certify, attestation, policy: the decision, and the SPKI to wrap
 * to when granted */
static void decide(struct tld *t, const struct release_req *rq, const struct node_facts *f,
                   struct tl_release_decision *d, uint8_t **spki, size_t *spki_len)
{
    if (!f->nonce_ok)
        return refuse(d, "nonce",
                      "the nonce is not one tld issued to this node, or it was used or expired "
                      "(a replayed request?)");
    struct tl_release_evidence ev = {
        .ak_public = f->ak,
        .ak_len = f->ak_len,
        .key_public = rq->key_public,
        .key_len = rq->key_len,
        .parent_public = rq->parent_public,
        .parent_len = rq->parent_len,
        .certify = rq->certify,
        .certify_len = rq->certify_len,
        .signature = rq->signature,
        .signature_len = rq->signature_len,
        .nonce = rq->nonce,
        .nonce_len = sizeof(rq->nonce),
    };
    struct tl_error e = {0};
    if (tl_release_key_verify(&ev, spki, spki_len, &e) < 0)
        return refuse(d, "certify", "%s", e.message);
    long long now = tld_now();
    if (!f->att.id)
        return refuse(d, "attestation", "no attestation of the node's current boot");
    if (!f->att.pass)
        return refuse(d, "attestation", "the node's latest attestation (%lld) failed", f->att.id);
    if (now - f->att.at > TLD_RELEASE_FRESH)
        return refuse(d, "attestation",
                      "the node's latest attestation (%lld) is %lld s old (at most %d: attest "
                      "again first)",
                      f->att.id, now - f->att.at, TLD_RELEASE_FRESH);
    /* only an exportable key has a policy, and every exportable key has one */
    if (!json_is_object(f->policy))
        return refuse(d, "exportable",
                      "the key is not exportable (it has no release policy): it is never "
                      "released");
    _cleanup_json_ json_t *claims = attestation_claims(t, f->att.id);
    if (!claims)
        return refuse(d, "attestation", "attestation %lld has no token to read claims from",
                      f->att.id);
    _cleanup_free_ char *text = json_dumps(f->policy, JSON_COMPACT);
    struct tl_release_policy *p = NULL;
    if (!text || tl_release_policy_parse(text, strlen(text), &p, &e) < 0)
        return refuse(d, "release_policy", "the key's policy does not parse: %s", e.message);
    tl_release_policy_eval(p, AUTHORITY, claims, d);
    tl_release_policy_free(p);
}

int tld_key_release(struct tld *t, const char *node, const char *auth, const json_t *req,
                    json_t **answer, struct tl_error *err)
{
    struct release_req rq;
    int r = release_req_parse(req, &rq, err);
    struct node_facts f = {0};
    /* an unknown version is the request's error, before its nonce is taken */
    if (r == 0 && rq.version)
        r = tld_vault_key_version_known(t, rq.vault, rq.key, rq.version, err);
    if (r == 0)
        r = node_facts_take(t, node, auth, &rq, &f, err);
    if (r < 0) {
        release_req_done(&rq);
        free(f.ak);
        json_decref(f.policy);
        return r;
    }
    struct tl_release_decision d = {0};
    _cleanup_free_ uint8_t *spki = NULL;
    size_t spki_len = 0;
    decide(t, &rq, &f, &d, &spki, &spki_len);
    free(f.ak);
    json_decref(f.policy);

    struct tlh_key key = {0};
    _cleanup_free_ uint8_t *wrapped = NULL;
    size_t wrapped_len = 0;
    if (d.granted) {
        r = tld_vault_key_wrap(t, rq.vault, rq.key, rq.version, spki, spki_len, &key, &wrapped,
                               &wrapped_len, err);
        if (r == -EPERM)
            refuse(&d, "exportable", "%s", err->message);
        else if (r < 0)
            refuse(&d, "key store", "%s", err->message);
    }
    json_t *entry = json_pack("{s:I, s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:I}", "at",
                              (json_int_t)tld_now(), "vault", rq.vault, "key", rq.key, "version",
                              key.version[0] || !rq.version ? key.version : rq.version, "node",
                              node, "granted", d.granted, "clause", d.clause, "reason", d.reason,
                              "attestation", (json_int_t)f.att.id);
    if (!entry || tld_vault_release_record(t, entry) < 0)
        tld_log("key %s/%s: the release log could not be written", rq.vault, rq.key);
    json_decref(entry);
    tld_log("key %s/%s: release to node %s %s (%s: %s)", rq.vault, rq.key, node,
            d.granted ? "granted" : "refused", d.clause, d.reason);
    tld_metrics_release(&t->metrics, d.granted, d.clause);
    if (!d.granted) {
        /* the node's alert says the key was withheld, and why */
        char wkid[TLH_KEYSTORE_VAULT_MAX + TLH_KEYSTORE_NAME_MAX + 2];
        snprintf(wkid, sizeof(wkid), "%s/%s", rq.vault, rq.key);
        tld_lock(t);
        struct tld_node *n = tld_node_find(t, node);
        json_t *alert = n ? tld_alert_withheld(t, n, wkid, d.clause, d.reason) : NULL;
        tld_unlock(t);
        if (alert) {
            tld_webhook_post(&t->webhook, alert);
            json_decref(alert);
        }
        release_req_done(&rq);
        return r < 0 && r != -EPERM ? r
                                    : tl_error_set_nopos(err, -EACCES, "release refused: %s: %s",
                                                         d.clause, d.reason);
    }
    char *b64 = NULL;
    size_t b64_len = 0;
    char kid[TLH_KEYSTORE_VAULT_MAX + TLH_KEYSTORE_NAME_MAX + TLH_KEYSTORE_VERSION_LEN + 3];
    snprintf(kid, sizeof(kid), "%s/%s/%s", key.vault, key.name, key.version);
    if (tl_base64_encode(wrapped, wrapped_len, 0, &b64, &b64_len) == 0)
        *answer = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:I, s:s, s:s}", "kid", kid, "vault",
                            key.vault, "key", key.name, "version", key.version, "kty",
                            tlh_key_type_name(key.kty), "size", (int)key.bits, "attestation",
                            (json_int_t)f.att.id, "clause", d.clause, "wrapped", b64);
    free(b64);
    OPENSSL_cleanse(wrapped, wrapped_len);
    release_req_done(&rq);
    return *answer ? 0 : tl_error_set_nopos(err, -ENOMEM, "out of memory");
}
