/* Who is calling: credentials to a caller with a role (docs/api.md,
 * "Authentication and roles").
 *
 * Roles:
 *   operator       everything an owner of TL_HOME does (nodes, pools,
 *                  policy, alerts, API tokens)
 *   reader         list and show
 *   relying-party  the JWKS and a token's status: what a service that
 *                  receives trustlaunch tokens needs, nothing more
 *   agent          one node's agent routes (report, enroll, activate,
 *                  nonce, attest), with that node's own token
 *
 * Credentials, all as "Authorization: Bearer SECRET":
 *   - HOME/operator.token: written by tld at its first start (0600, in a
 *     0700 home), read by tl: the local CLI authenticates as the owner of
 *     TL_HOME without a password. Another local user cannot read it.
 *   - API tokens made with POST /v1/tokens (tl token create): for a reader,
 *     a relying party, or an operator elsewhere (a second host). Only their
 *     SHA-256 is stored; the secret is said once, in the create's answer.
 *   - a node's agent token (node.c keeps its SHA-256): valid only on that
 *     node's agent routes, checked by the handlers themselves.
 *
 * Every comparison is of SHA-256 digests with CRYPTO_memcmp: no secret is
 * compared byte by byte, and the store never holds one. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tl/util.h>

#include "tld.h"

#define OPERATOR_FILE "operator.token"
#define TOKEN_KIND    "apitoken"

static const char *const role_names[] = {
    [TLD_ROLE_NONE] = "none",
    [TLD_ROLE_READER] = "reader",
    [TLD_ROLE_OPERATOR] = "operator",
    [TLD_ROLE_AGENT] = "agent",
    [TLD_ROLE_RELYING_PARTY] = "relying-party",
};

const char *tld_role_name(enum tld_role r)
{
    return (unsigned)r < sizeof(role_names) / sizeof(role_names[0]) && role_names[r] ? role_names[r]
                                                                                     : "?";
}

/* The roles an API token may have (an agent's token belongs to its node). */
static int role_parse(const char *s, enum tld_role *out)
{
    const enum tld_role ok[] = {TLD_ROLE_READER, TLD_ROLE_OPERATOR, TLD_ROLE_RELYING_PARTY};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (s && strcmp(s, role_names[ok[i]]) == 0) {
            *out = ok[i];
            return 0;
        }
    return -EINVAL;
}

void tld_secret_hash(const char *secret, size_t len, uint8_t out[32])
{
    unsigned int n = 32;
    EVP_Digest(secret, len, out, &n, EVP_sha256(), NULL);
}

int tld_secret_new(char out[2 * TLD_TOKEN_LEN + 1])
{
    uint8_t raw[TLD_TOKEN_LEN];
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
        return -EIO;
    tl_hex_encode(raw, sizeof(raw), out);
    OPENSSL_cleanse(raw, sizeof(raw));
    return 0;
}

/* "Bearer SECRET" → its SHA-256; false when the header is absent or not a
 * bearer credential of sane length. */
bool tld_bearer_hash(const char *authz, uint8_t out[32])
{
    const char *prefix = "Bearer ";
    if (!authz || strncmp(authz, prefix, strlen(prefix)) != 0)
        return false;
    const char *s = authz + strlen(prefix);
    size_t len = strlen(s);
    if (len == 0 || len > 512)
        return false;
    tld_secret_hash(s, len, out);
    return true;
}

/* HOME/operator.token: made once (O_EXCL), then only read. A file that is
 * not a regular file of ours, or that others may read, is refused: the
 * credential would not be the owner's alone. */
static int operator_token(struct tld *t)
{
    char path[PATH_MAX + 32], secret[2 * TLD_TOKEN_LEN + 2];
    snprintf(path, sizeof(path), "%s/" OPERATOR_FILE, t->home);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        if (tld_secret_new(secret) < 0)
            return -EIO;
        char tmp[PATH_MAX + 48];
        snprintf(tmp, sizeof(tmp), "%s.%ld", path, (long)getpid());
        int w = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (w < 0)
            return -errno;
        size_t n = strlen(secret);
        bool ok = write(w, secret, n) == (ssize_t)n && fsync(w) == 0;
        close(w);
        if (!ok || link(tmp, path) < 0) { /* link: a concurrent maker wins, we read its */
            int e = errno;
            unlink(tmp);
            if (!ok || e != EEXIST)
                return ok ? -e : -EIO;
        } else {
            unlink(tmp);
        }
        fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0) {
        tld_log("%s: %s", path, strerror(errno));
        return -errno;
    }
    struct stat st;
    ssize_t k = -1;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() && !(st.st_mode & 077))
        k = read(fd, secret, sizeof(secret) - 1);
    close(fd);
    if (k != 2 * TLD_TOKEN_LEN) {
        tld_log("%s: not a private file of ours holding a %d-character token", path,
                2 * TLD_TOKEN_LEN);
        return -EPERM;
    }
    tld_secret_hash(secret, (size_t)k, t->auth.operator_sha256);
    OPENSSL_cleanse(secret, sizeof(secret));
    return 0;
}

static int token_add(struct tld_auth *a, const char *name, enum tld_role role,
                     const uint8_t sha256[32], long long created)
{
    if (a->n_tokens == a->cap_tokens) {
        size_t cap = a->cap_tokens ? 2 * a->cap_tokens : 8;
        struct tld_api_token *nt = realloc(a->tokens, cap * sizeof(*nt));
        if (!nt)
            return -ENOMEM;
        a->tokens = nt;
        a->cap_tokens = cap;
    }
    struct tld_api_token *k = &a->tokens[a->n_tokens++];
    *k = (struct tld_api_token){.role = role, .created = created};
    snprintf(k->name, sizeof(k->name), "%s", name);
    memcpy(k->sha256, sha256, 32);
    return 0;
}

int tld_auth_init(struct tld *t)
{
    struct tld_auth *a = &t->auth;
    pthread_mutex_init(&a->lock, NULL);
    int r = operator_token(t);
    if (r < 0)
        return r;
    json_t *docs = tld_store_resources(t, TOKEN_KIND);
    size_t i;
    json_t *d;
    json_array_foreach(docs, i, d)
    {
        enum tld_role role;
        const char *name = json_string_value(json_object_get(d, "name"));
        const char *hex = json_string_value(json_object_get(d, "sha256"));
        uint8_t h[32];
        if (!name || role_parse(json_string_value(json_object_get(d, "role")), &role) < 0 || !hex ||
            strlen(hex) != 64 || tl_hex_decode(hex, 64, h, sizeof(h)) != 32) {
            tld_log("store: API token record %s is malformed; ignored", name ? name : "?");
            continue;
        }
        if ((r = token_add(a, name, role, h,
                           (long long)json_integer_value(json_object_get(d, "created")))) < 0)
            break;
    }
    json_decref(docs);
    return r;
}

void tld_auth_free(struct tld *t)
{
    free(t->auth.tokens);
    t->auth.tokens = NULL;
    t->auth.n_tokens = t->auth.cap_tokens = 0;
}

int tld_auth_caller(struct tld *t, const char *authz, struct tld_caller *out)
{
    *out = (struct tld_caller){.role = TLD_ROLE_NONE};
    uint8_t h[32];
    if (!authz)
        return -ENOENT;
    if (!tld_bearer_hash(authz, h))
        return -EINVAL;
    if (CRYPTO_memcmp(h, t->auth.operator_sha256, 32) == 0) {
        out->role = TLD_ROLE_OPERATOR;
        snprintf(out->who, sizeof(out->who), "operator (%s)", OPERATOR_FILE);
        return 0;
    }
    struct tld_auth *a = &t->auth;
    int r = -EACCES;
    pthread_mutex_lock(&a->lock);
    for (size_t i = 0; i < a->n_tokens; i++)
        if (CRYPTO_memcmp(h, a->tokens[i].sha256, 32) == 0) {
            out->role = a->tokens[i].role;
            snprintf(out->who, sizeof(out->who), "token %s", a->tokens[i].name);
            r = 0;
            break;
        }
    pthread_mutex_unlock(&a->lock);
    return r;
}

static json_t *token_json(const struct tld_api_token *k)
{
    return json_pack("{s:s, s:s, s:I}", "name", k->name, "role", tld_role_name(k->role), "created",
                     (json_int_t)k->created);
}

json_t *tld_auth_tokens(struct tld *t)
{
    json_t *list = json_array();
    pthread_mutex_lock(&t->auth.lock);
    for (size_t i = 0; i < t->auth.n_tokens; i++)
        json_array_append_new(list, token_json(&t->auth.tokens[i]));
    pthread_mutex_unlock(&t->auth.lock);
    return json_pack("{s:o}", "tokens", list);
}

int tld_auth_token_create(struct tld *t, const json_t *req, json_t **answer, struct tl_error *err)
{
    if (!json_is_object(req))
        return tl_error_set_nopos(err, -EINVAL, "the request body must be a JSON object");
    const char *name = json_string_value(json_object_get(req, "name"));
    const char *role_s = json_string_value(json_object_get(req, "role"));
    const char *k;
    json_t *v;
    json_object_foreach(
        (json_t *)req, k,
        v) if (strcmp(k, "name") != 0 &&
               strcmp(k, "role") !=
                   0) return tl_error_set_nopos(err, -EINVAL, "%s: unknown field (name, role)", k);
    if (!name || !tld_name_ok(name))
        return tl_error_set_nopos(err, -EINVAL,
                                  "name: required, 1-63 of [a-z0-9-], starting with a letter");
    enum tld_role role;
    if (role_parse(role_s, &role) < 0)
        return tl_error_set_nopos(err, -EINVAL, "role: one of reader, operator, relying-party");
    struct tld_auth *a = &t->auth;
    char secret[2 * TLD_TOKEN_LEN + 1];
    uint8_t h[32];
    if (tld_secret_new(secret) < 0)
        return tl_error_set_nopos(err, -EIO, "getrandom failed");
    tld_secret_hash(secret, strlen(secret), h);
    long long now = tld_now();
    char hex[65];
    tl_hex_encode(h, sizeof(h), hex);
    int status = 0;
    pthread_mutex_lock(&a->lock);
    for (size_t i = 0; i < a->n_tokens && !status; i++)
        if (strcmp(a->tokens[i].name, name) == 0)
            status = tl_error_set_nopos(err, -EEXIST, "an API token named %s exists", name);
    pthread_mutex_unlock(&a->lock);
    if (status)
        return status;
    json_t *doc = json_pack("{s:s, s:s, s:s, s:I}", "name", name, "role", role_names[role],
                            "sha256", hex, "created", (json_int_t)now);
    int r = tld_store_resource_put(t, TOKEN_KIND, name, doc);
    json_decref(doc);
    if (r < 0)
        return tl_error_set_nopos(err, -EIO, "cannot store the token");
    pthread_mutex_lock(&a->lock);
    r = token_add(a, name, role, h, now);
    pthread_mutex_unlock(&a->lock);
    if (r < 0)
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    tld_log("API token %s created (role %s)", name, role_names[role]);
    *answer = json_pack("{s:s, s:s, s:I, s:s}", "name", name, "role", role_names[role], "created",
                        (json_int_t)now, "token", secret);
    OPENSSL_cleanse(secret, sizeof(secret));
    return 0;
}

int tld_auth_token_delete(struct tld *t, const char *name, struct tl_error *err)
{
    struct tld_auth *a = &t->auth;
    bool found = false;
    pthread_mutex_lock(&a->lock);
    for (size_t i = 0; i < a->n_tokens; i++)
        if (strcmp(a->tokens[i].name, name) == 0) {
            a->tokens[i] = a->tokens[--a->n_tokens];
            found = true;
            break;
        }
    pthread_mutex_unlock(&a->lock);
    if (!found)
        return tl_error_set_nopos(err, -ENOENT, "no API token named %s", name);
    if (tld_store_resource_delete(t, TOKEN_KIND, name) < 0)
        return tl_error_set_nopos(err, -EIO, "cannot delete the token from the store");
    tld_log("API token %s deleted", name);
    return 0;
}
