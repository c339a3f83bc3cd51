/* Enrolment (TCG credential protection, TPM 2.0 Part 1 §24):
 *  1. enroll: the EK certificate must chain to the platform EK CA (or a
 *     manufacturer root in HOME/ekca/roots/, or the CA of operator-vouched
 *     EKs), be one the platform issued to THIS node, and certify the EK
 *     public area sent; the AK must be a restricted signing key, fixedTPM
 *     and fixedParent. MakeCredential in software binds a random secret to
 *     the AK's Name under the EK.
 *  2. activate: only the TPM holding both the EK's private key and a
 *     loaded object with that Name can recover the secret
 *     (ActivateCredential). A right secret binds the AK to the node. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
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

#include "attest.h"
#include "attest_tpm.h"
#include "tl/base64.h"
#include "tl/util.h"
#include "tld.h"

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
static int ek_cert_verify(struct tld *t, X509 *cert, const char **origin, struct tl_error *err)
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
    return tl_error_set_nopos(err, -EACCES,
                              "EK certificate: %s (not issued by the platform EK CA, a configured "
                              "manufacturer root or the CA of operator-vouched EKs)",
                              error ? X509_verify_cert_error_string(error) : "no CA trusts it");
}

void tld_enrol_pre_done(struct tld_enrol_pre *pre)
{
    free(pre->ak_pub);
    free(pre->blob);
    free(pre->secret);
    OPENSSL_cleanse(pre->secret_value, sizeof(pre->secret_value));
    *pre = (struct tld_enrol_pre){0};
}

/* Everything an enrolment needs that the node does not hold: the EK
 * certificate's chain (files of the CAs), the EK public area against it,
 * the AK, MakeCredential. Run without tld.lock. A failure after the chain
 * is kept (pre->status) rather than returned: the node's own check (is
 * it the certificate issued to THIS node?) comes first, as it always has. */
int tld_enrol_prepare(struct tld *t, const json_t *req, struct tld_enrol_pre *pre,
                      struct tl_error *err)
{
    *pre = (struct tld_enrol_pre){0};
    const char *ek_type = json_string_value(json_object_get(req, "ek_type"));
    uint8_t *cert_der = NULL, *ek_pub = NULL;
    size_t cert_len, ek_len;
    int r;
    if (!ek_type || (strcmp(ek_type, "rsa2048") && strcmp(ek_type, "ecc-p256")))
        return tl_error_set_nopos(err, -EINVAL, "enroll: ek_type must be rsa2048 or ecc-p256");
    snprintf(pre->ek_type, sizeof(pre->ek_type), "%s", ek_type);
    if (tl_base64_decode_string(json_string_value(json_object_get(req, "ek_cert")), &cert_der,
                                &cert_len) < 0 ||
        tl_base64_decode_string(json_string_value(json_object_get(req, "ek_public")), &ek_pub,
                                &ek_len) < 0 ||
        tl_base64_decode_string(json_string_value(json_object_get(req, "ak_public")), &pre->ak_pub,
                                &pre->ak_len) < 0) {
        r = tl_error_set_nopos(err, -EINVAL,
                               "enroll: ek_cert, ek_public and ak_public must be base64");
        goto out;
    }
    /* 1. an EK certificate from a CA we trust (whose it is: accept) */
    uint8_t fp[32];
    SHA256(cert_der, cert_len, fp);
    tl_hex_encode(fp, 32, pre->cert_sha256);
    const uint8_t *p = cert_der;
    X509 *cert = d2i_X509(NULL, &p, (long)cert_len);
    if (!cert || p != cert_der + cert_len) {
        X509_free(cert);
        r = tl_error_set_nopos(err, -EACCES,
                               "enroll: the EK certificate is not one DER certificate");
        goto out;
    }
    if ((r = ek_cert_verify(t, cert, &pre->origin, err)) < 0) {
        X509_free(cert);
        goto out;
    }
    r = 0;
    /* 2. the EK public area is the certified key, from the EK template */
    EVP_PKEY *cert_key = X509_get0_pubkey(cert);
    int e = tld_attest_ek_check(ek_pub, ek_len, strcmp(ek_type, "rsa2048") == 0, cert_key, pre->why,
                                sizeof(pre->why));
    X509_free(cert);
    if (e < 0) {
        pre->status = -EACCES;
        goto out;
    }
    /* 3. the AK: restricted signing, fixedTPM, fixedParent; its Name */
    if (tld_attest_ak_check(pre->ak_pub, pre->ak_len, pre->ak_name, sizeof(pre->ak_name), pre->why,
                            sizeof(pre->why)) < 0) {
        pre->status = -EACCES;
        goto out;
    }
    /* 4. MakeCredential: a secret only that TPM can recover for that Name */
    if (getrandom(pre->secret_value, sizeof(pre->secret_value), 0) !=
            (ssize_t)sizeof(pre->secret_value) ||
        getrandom(pre->id, sizeof(pre->id), 0) != (ssize_t)sizeof(pre->id)) {
        pre->status = -EIO;
        snprintf(pre->why, sizeof(pre->why), "getrandom failed");
        goto out;
    }
    if (tld_attest_make_credential(ek_pub, ek_len, pre->ak_name, pre->secret_value,
                                   sizeof(pre->secret_value), &pre->blob, &pre->blob_len,
                                   &pre->secret, &pre->secret_len, pre->why, sizeof(pre->why)) < 0)
        pre->status = -EIO;
out:
    free(cert_der);
    free(ek_pub);
    return r;
}

static void challenge_free(struct tld_challenge *ch)
{
    if (!ch)
        return;
    json_decref(ch->ak);
    OPENSSL_cleanse(ch, sizeof(*ch));
    free(ch);
}

/* A shared store (replicas): the challenge is a ticket there, {"secret":
 * hex, "ak": ...}, so that the activation may reach another tld; taken
 * once. */
static int challenge_put(struct tld *t, const struct tld_node *n, const struct tld_challenge *ch)
{
    char secret[2 * sizeof(ch->secret) + 1];
    tl_hex_encode(ch->secret, sizeof(ch->secret), secret);
    json_t *data = json_pack("{s:s, s:O}", "secret", secret, "ak", ch->ak);
    char *text = data ? json_dumps(data, JSON_COMPACT) : NULL;
    int r =
        text ? tld_store_ticket_put(t, "challenge", ch->id, n->name, ch->expires, text) : -ENOMEM;
    OPENSSL_cleanse(secret, sizeof(secret));
    if (text)
        OPENSSL_cleanse(text, strlen(text));
    free(text);
    json_decref(data);
    return r;
}

static struct tld_challenge *challenge_take(struct tld *t, const struct tld_node *n, const char *id)
{
    char *text = NULL;
    if (strlen(id) >= sizeof(((struct tld_challenge *)0)->id) ||
        tld_store_ticket_take(t, "challenge", id, n->name, &text) < 0)
        return NULL;
    json_t *data = text ? json_loads(text, 0, NULL) : NULL;
    const char *secret = json_string_value(json_object_get(data, "secret"));
    struct tld_challenge *ch = calloc(1, sizeof(*ch));
    if (ch && secret && strlen(secret) == 2 * sizeof(ch->secret) &&
        tl_hex_decode(secret, strlen(secret), ch->secret, sizeof(ch->secret)) ==
            (int)sizeof(ch->secret) &&
        json_is_object(json_object_get(data, "ak"))) {
        snprintf(ch->id, sizeof(ch->id), "%s", id);
        ch->ak = json_incref(json_object_get(data, "ak"));
        ch->expires = tld_now(); /* the store took it unexpired */
    } else {
        free(ch);
        ch = NULL;
    }
    json_decref(data);
    if (text)
        OPENSSL_cleanse(text, strlen(text));
    free(text);
    return ch;
}

int tld_enrol_accept(struct tld *t, struct tld_node *n, struct tld_enrol_pre *pre, json_t **answer,
                     struct tl_error *err)
{
    /* the certificate the platform issued to THIS node, not another's */
    bool ours = false;
    size_t i;
    json_t *ek, *eks = tld_node_ek(n);
    json_array_foreach(eks, i, ek)
    {
        const char *want =
            json_string_value(json_object_get(json_object_get(ek, "certificate"), "sha256"));
        ours |= want && strcmp(want, pre->cert_sha256) == 0;
    }
    json_decref(eks);
    if (!ours)
        return tl_error_set_nopos(
            err, -EACCES,
            "enroll: the EK certificate is not the one issued to node %s (another "
            "node's TPM?)",
            n->name);
    if (pre->status)
        return tl_error_set_nopos(err, pre->status, "%s", pre->why);
    struct tld_challenge *ch = calloc(1, sizeof(*ch));
    if (!ch)
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    memcpy(ch->secret, pre->secret_value, sizeof(ch->secret));
    tl_hex_encode(pre->id, sizeof(pre->id), ch->id);
    ch->expires = tld_now() + TLD_CHALLENGE_TTL;
    ch->ak = json_pack("{s:o, s:s, s:s, s:s}", "public", tl_base64_json(pre->ak_pub, pre->ak_len),
                       "name", pre->ak_name, "ek_type", pre->ek_type, "ek_origin", pre->origin);
    if (tld_store_shared(t)) {
        int r = challenge_put(t, n, ch);
        char id[sizeof(ch->id)];
        memcpy(id, ch->id, sizeof(id));
        challenge_free(ch);
        if (r < 0)
            return tl_error_set_nopos(err, -EAGAIN, "enroll: the store did not answer; try again");
        *answer = json_pack("{s:s, s:o, s:o}", "challenge", id, "credential_blob",
                            tl_base64_json(pre->blob, pre->blob_len), "encrypted_secret",
                            tl_base64_json(pre->secret, pre->secret_len));
        tld_log("node %s: enrolment challenge for AK %.16s", n->name, pre->ak_name);
        return 0;
    }
    challenge_free(n->challenge);
    n->challenge = ch;
    *answer = json_pack("{s:s, s:o, s:o}", "challenge", ch->id, "credential_blob",
                        tl_base64_json(pre->blob, pre->blob_len), "encrypted_secret",
                        tl_base64_json(pre->secret, pre->secret_len));
    tld_log("node %s: enrolment challenge for AK %.16s", n->name, pre->ak_name);
    return 0;
}

int tld_enrol_activate(struct tld *t, struct tld_node *n, json_t *req, json_t **answer,
                       struct tl_error *err)
{
    const char *id = json_string_value(json_object_get(req, "challenge"));
    struct tld_challenge *ch = !id                   ? NULL
                               : tld_store_shared(t) ? challenge_take(t, n, id)
                                                     : n->challenge;
    uint8_t *secret = NULL;
    size_t len = 0;
    if (!ch || strcmp(id, ch->id) != 0)
        return tl_error_set_nopos(err, -EACCES, "activate: no such enrolment challenge for node %s",
                                  n->name);
    if (ch == n->challenge)
        n->challenge = NULL; /* one try */
    int r;
    if (tld_now() > ch->expires) {
        r = tl_error_set_nopos(err, -EACCES, "activate: the challenge expired");
    } else if (tl_base64_decode_string(json_string_value(json_object_get(req, "secret")), &secret,
                                       &len) < 0) {
        r = tl_error_set_nopos(err, -EINVAL, "activate: secret must be base64");
    } else if (len != sizeof(ch->secret) || CRYPTO_memcmp(secret, ch->secret, len) != 0) {
        r = tl_error_set_nopos(
            err, -EACCES,
            "activate: credential activation failed: the secret does not match (the AK "
            "is not in the TPM that holds this EK)");
    } else {
        json_object_set_new(ch->ak, "enrolled", json_integer(tld_now()));
        struct tld_ak *ak = tld_ak_from_json(ch->ak);
        if (!ak) {
            r = tl_error_set_nopos(err, -ENOMEM, "out of memory");
        } else {
            tld_ak_free(n->ak);
            n->ak = ak;
            tld_attest_reset(n);
            tld_store_save(t, n);
            *answer = json_pack("{s:b, s:s}", "enrolled", 1, "ak_name", n->ak->name);
            tld_log("node %s: AK %.16s enrolled (credential activated)", n->name, n->ak->name);
            r = 0;
        }
    }
    free(secret);
    challenge_free(ch);
    return r;
}
