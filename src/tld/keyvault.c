/* Vaults and their keys (issue 15, key custody): az's Key Vault model over
 * the PKCS#11 key store (tlhost/keystore.h).
 *
 * What lives where:
 *   - a key's material, its versions, type, size and exportability: only
 *     the token (the key store is the one record of them);
 *   - a vault (its name, when it was made) and a key's record (its release
 *     policy, when it was made): tld's memory (kv->vaults, kv->keys, JSON
 *     objects by "V" and "V/K"), kept in the store (kinds "vault",
 *     "vault-key") and loaded at start;
 *   - every release, granted or refused: the store (kind "key-release",
 *     id "V/K/<ns clock>", so a key's log reads in time order).
 *
 * Locks: kv->lock guards the key store's context (one PKCS#11 session: one
 * thread at a time); tld.lock guards the records. No PKCS#11 call runs
 * under tld.lock, and the two are never held together. The store's writes
 * run under tld.lock as every other writer's do (store.c: its kept
 * statements and transactions belong to tld.lock's holder).
 *
 * A key's record is written after the token made the key and removed
 * after the token destroyed it; a record without a key (a crash between)
 * shows as "not in the key store" and is replaced by the next create. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tl/base64.h"
#include "tl/cleanup.h"
#include "tl/release_policy.h"
#include "tld.h"
#include "tlhost/keystore.h"

#define VAULT_KIND   "vault"
#define KEY_KIND     "vault-key"
#define RELEASE_KIND "key-release"

/* ---- the key store, opened at first use ---- */

/* Under kv->lock: the context, opened once (the module from
 * TL_PKCS11_MODULE, SoftHSM2 by default; the token under HOME/keys). */
static int ks_ready(struct tld *t, struct tl_error *err)
{
    struct tld_keyvault *kv = &t->keyvault;
    if (kv->open)
        return 0;
    const char *module = getenv("TL_PKCS11_MODULE");
    struct tlh_keystore_config cfg = {.home = t->home, .module = module && *module ? module : NULL};
    int r = tlh_keystore_open(&kv->ks, &cfg, err);
    if (r < 0) {
        tld_log("key store: %s", err->message);
        /* the route answers 503: a key store that is not there is the
         * platform's trouble, not the request's */
        char why[sizeof(err->message)];
        snprintf(why, sizeof(why), "%s", err->message);
        return tl_error_set_nopos(err, -EAGAIN, "the key store is not available: %s", why);
    }
    kv->open = true;
    tld_log("key store: %s, token %s", kv->ks.module, kv->ks.label);
    return 0;
}

/* Locks kv->lock and readies the store; on failure the lock is released. */
int tld_keystore_lock(struct tld *t, struct tl_error *err)
{
    pthread_mutex_lock(&t->keyvault.lock);
    int r = ks_ready(t, err);
    if (r < 0)
        pthread_mutex_unlock(&t->keyvault.lock);
    return r;
}

void tld_keystore_unlock(struct tld *t)
{
    pthread_mutex_unlock(&t->keyvault.lock);
}

/* ---- records (under tld.lock) ---- */

static int load_into(void *ctx, const char *id, json_t *doc)
{
    if (doc)
        json_object_set(ctx, id, doc);
    else
        tld_log("store: a vault record %s is not JSON; skipped", id);
    return 0;
}

int tld_keyvault_load(struct tld *t)
{
    struct tld_keyvault *kv = &t->keyvault;
    kv->vaults = json_object();
    kv->keys = json_object();
    if (!kv->vaults || !kv->keys)
        return -ENOMEM;
    int r = tld_store_resource_each(t, VAULT_KIND, load_into, kv->vaults);
    return r < 0 ? r : tld_store_resource_each(t, KEY_KIND, load_into, kv->keys);
}

void tld_keyvault_free(struct tld *t)
{
    struct tld_keyvault *kv = &t->keyvault;
    pthread_mutex_lock(&kv->lock);
    if (kv->open)
        tlh_keystore_close(&kv->ks);
    kv->open = false;
    pthread_mutex_unlock(&kv->lock);
    json_decref(kv->vaults);
    json_decref(kv->keys);
    kv->vaults = kv->keys = NULL;
}

static void key_id(const char *vault, const char *name, char *out, size_t size)
{
    snprintf(out, size, "%s/%s", vault, name);
}

/* Under tld.lock: 0 when vault exists, else -ENOENT. */
static int vault_known(struct tld *t, const char *vault, struct tl_error *err)
{
    if (!json_object_get(t->keyvault.vaults, vault))
        return tl_error_set_nopos(err, -ENOENT, "no vault named %s", vault);
    return 0;
}

static int vault_check(struct tld *t, const char *vault, struct tl_error *err)
{
    int r = tlh_keystore_names_check(vault, NULL, NULL, err);
    if (r < 0)
        return r;
    tld_lock(t);
    r = vault_known(t, vault, err);
    tld_unlock(t);
    return r;
}

/* The key's record (a new reference) or NULL: -ENOENT. */
static int record_get(struct tld *t, const char *vault, const char *name, json_t **out,
                      struct tl_error *err)
{
    char id[TLH_KEYSTORE_VAULT_MAX + TLH_KEYSTORE_NAME_MAX + 2];
    key_id(vault, name, id, sizeof(id));
    tld_lock(t);
    int r = vault_known(t, vault, err);
    json_t *rec = r < 0 ? NULL : json_object_get(t->keyvault.keys, id);
    *out = json_incref(rec);
    tld_unlock(t);
    if (r == 0 && !rec)
        r = tl_error_set_nopos(err, -ENOENT, "no key %s in vault %s", name, vault);
    return r;
}

/* ---- vaults ---- */

int tld_vault_create(struct tld *t, const json_t *req, json_t **answer, struct tl_error *err)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)req, k, v) if (strcmp(k, "name") != 0) return tl_error_set_nopos(
        err, -EINVAL, "%s: unknown field (name)", k);
    const char *name = json_string_value(json_object_get(req, "name"));
    if (!name)
        return tl_error_set_nopos(err, -EINVAL, "name: required, a string");
    int r = tlh_keystore_names_check(name, NULL, NULL, err);
    if (r < 0)
        return r;
    json_t *doc = json_pack("{s:s, s:I}", "name", name, "created", (json_int_t)tld_now());
    if (!doc)
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    tld_lock(t);
    if (json_object_get(t->keyvault.vaults, name))
        r = tl_error_set_nopos(err, -EEXIST, "a vault named %s exists", name);
    else if (tld_store_resource_put(t, VAULT_KIND, name, doc) < 0)
        r = tl_error_set_nopos(err, -EIO, "cannot store the vault");
    else
        json_object_set(t->keyvault.vaults, name, doc);
    tld_unlock(t);
    if (r < 0) {
        json_decref(doc);
        return r;
    }
    tld_log("vault %s created", name);
    *answer = json_deep_copy(doc);
    json_object_set_new(*answer, "keys", json_integer(0));
    json_decref(doc);
    return 0;
}

/* Under tld.lock: a vault's record with the number of its keys. */
static json_t *vault_json(struct tld *t, const char *vault, const json_t *rec)
{
    json_t *j = json_deep_copy(rec);
    size_t keys = 0, len = strlen(vault);
    const char *k;
    json_t *v;
    json_object_foreach(t->keyvault.keys, k, v) keys +=
        strncmp(k, vault, len) == 0 && k[len] == '/';
    json_object_set_new(j, "keys", json_integer((json_int_t)keys));
    return j;
}

json_t *tld_vault_list(struct tld *t)
{
    json_t *list = json_array();
    const char *k;
    json_t *v;
    tld_lock(t);
    json_object_foreach(t->keyvault.vaults, k, v) json_array_append_new(list, vault_json(t, k, v));
    tld_unlock(t);
    return json_pack("{s:o}", "value", list);
}

int tld_vault_show(struct tld *t, const char *vault, json_t **answer, struct tl_error *err)
{
    tld_lock(t);
    int r = vault_known(t, vault, err);
    if (r == 0)
        *answer = vault_json(t, vault, json_object_get(t->keyvault.vaults, vault));
    tld_unlock(t);
    return r;
}

/* A vault with keys is refused: its keys are deleted first, one by one,
 * so no key is destroyed by a request that did not name it. */
int tld_vault_delete(struct tld *t, const char *vault, struct tl_error *err)
{
    json_t *shown = NULL;
    int r = tld_vault_show(t, vault, &shown, err);
    if (r < 0)
        return r;
    json_int_t keys = json_integer_value(json_object_get(shown, "keys"));
    json_decref(shown);
    if (keys > 0)
        return tl_error_set_nopos(err, -EBUSY, "vault %s holds %lld keys: delete them first", vault,
                                  (long long)keys);
    tld_lock(t);
    if (tld_store_resource_delete(t, VAULT_KIND, vault) < 0)
        r = tl_error_set_nopos(err, -EIO, "cannot delete the vault from the store");
    else
        json_object_del(t->keyvault.vaults, vault);
    tld_unlock(t);
    if (r == 0)
        tld_log("vault %s deleted", vault);
    return r;
}

/* ---- keys ---- */

/* A key version as the API shows it: the token's facts, the record's
 * policy, and an RSA key's public half (SubjectPublicKeyInfo, base64). */
static json_t *key_json(struct tld *t, const struct tlh_key *key, const json_t *rec)
{
    char kid[TLH_KEYSTORE_VAULT_MAX + TLH_KEYSTORE_NAME_MAX + TLH_KEYSTORE_VERSION_LEN + 3];
    snprintf(kid, sizeof(kid), "%s/%s/%s", key->vault, key->name, key->version);
    json_t *j =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:b}", "kid", kid, "vault", key->vault, "name",
                  key->name, "version", key->version, "kty", tlh_key_type_name(key->kty), "size",
                  (int)key->bits, "exportable", key->exportable);
    if (rec) {
        json_object_set(j, "created", json_object_get(rec, "created"));
        json_t *policy = json_object_get(rec, "release_policy");
        if (json_is_object(policy))
            json_object_set(j, "release_policy", policy);
    }
    if (key->kty == TLH_KEY_RSA_HSM) {
        uint8_t *spki = NULL;
        size_t len = 0;
        struct tl_error e = {0};
        char *b64 = NULL;
        size_t b64_len;
        if (tlh_keystore_public_key(&t->keyvault.ks, key, &spki, &len, &e) == 0 &&
            tl_base64_encode(spki, len, 0, &b64, &b64_len) == 0)
            json_object_set_new(j, "public_key", json_string(b64));
        free(spki);
        free(b64);
    }
    return j;
}

/* The policy from a request: the document's text (a string, as the CLI
 * sends a file) or the document itself; parsed here so a malformed one is
 * refused before any key is made, with the JSON path of its error. */
static int policy_from(const json_t *v, json_t **out, struct tl_error *err)
{
    _cleanup_free_ char *dumped = NULL;
    const char *text = json_string_value(v);
    if (!text && json_is_object(v))
        text = dumped = json_dumps(v, JSON_COMPACT);
    if (!text)
        return tl_error_set_nopos(err, -EINVAL,
                                  "release_policy: a policy document (a JSON object, or its text)");
    struct tl_release_policy *p = NULL;
    struct tl_error pe = {0};
    int r = tl_release_policy_parse(text, strlen(text), &p, &pe);
    if (r < 0)
        return tl_error_set_nopos(err, -EINVAL, "release_policy: %s", pe.message);
    *out = json_incref(p->doc);
    tl_release_policy_free(p);
    return 0;
}

struct key_request {
    const char *name;
    enum tlh_key_type kty;
    unsigned bits;
    bool exportable;
    json_t *policy; /* owned, NULL: none */
};

static int key_request_parse(const json_t *req, struct key_request *kr, struct tl_error *err)
{
    static const char *const fields[] = {"name", "kty", "size", "exportable", "release_policy"};
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)req, k, v)
    {
        bool known = false;
        for (size_t i = 0; i < TL_ARRAY_SIZE(fields); i++)
            known |= strcmp(k, fields[i]) == 0;
        if (!known)
            return tl_error_set_nopos(
                err, -EINVAL, "%s: unknown field (name, kty, size, exportable, release_policy)", k);
    }
    *kr = (struct key_request){.name = json_string_value(json_object_get(req, "name"))};
    if (!kr->name)
        return tl_error_set_nopos(err, -EINVAL, "name: required, a string");
    int r = tlh_keystore_names_check(NULL, kr->name, NULL, err);
    if (r < 0)
        return r;
    const char *kty = json_string_value(json_object_get(req, "kty"));
    if (!kty)
        return tl_error_set_nopos(err, -EINVAL, "kty: required, RSA-HSM or oct-HSM");
    if ((r = tlh_key_type_parse(kty, &kr->kty, err)) < 0)
        return tl_error_set_nopos(err, r, "kty: %s", err->message);
    json_t *size = json_object_get(req, "size");
    if (size && (!json_is_integer(size) || json_integer_value(size) <= 0 ||
                 json_integer_value(size) > 16384))
        return tl_error_set_nopos(err, -EINVAL, "size: a number of bits");
    kr->bits = size ? (unsigned)json_integer_value(size) : kr->kty == TLH_KEY_RSA_HSM ? 2048 : 256;
    json_t *ex = json_object_get(req, "exportable");
    if (ex && !json_is_boolean(ex))
        return tl_error_set_nopos(err, -EINVAL, "exportable: true or false");
    kr->exportable = json_is_true(ex);
    json_t *pol = json_object_get(req, "release_policy");
    /* Azure: an exportable key must have a release policy, and a policy is
     * for an exportable key; the two come together */
    if (kr->exportable && !pol)
        return tl_error_set_nopos(
            err, -EINVAL, "release_policy: required for an exportable key (who may receive it)");
    if (pol && !kr->exportable)
        return tl_error_set_nopos(
            err, -EINVAL, "release_policy: only an exportable key is released (exportable: true)");
    return pol ? policy_from(pol, &kr->policy, err) : 0;
}

int tld_vault_key_create(struct tld *t, const char *vault, const json_t *req, json_t **answer,
                         struct tl_error *err)
{
    int r = vault_check(t, vault, err);
    if (r < 0)
        return r;
    struct key_request kr;
    if ((r = key_request_parse(req, &kr, err)) < 0)
        return r;
    _cleanup_json_ json_t *policy = kr.policy;
    struct tlh_key key;
    if ((r = tld_keystore_lock(t, err)) < 0)
        return r;
    r = tlh_keystore_key_create(&t->keyvault.ks, vault, kr.name, kr.kty, kr.bits, kr.exportable,
                                &key, err);
    tld_keystore_unlock(t);
    if (r < 0)
        return r;
    char id[TLH_KEYSTORE_VAULT_MAX + TLH_KEYSTORE_NAME_MAX + 2];
    key_id(vault, kr.name, id, sizeof(id));
    json_t *rec = json_pack("{s:s, s:s, s:I}", "vault", vault, "name", kr.name, "created",
                            (json_int_t)tld_now());
    if (rec && policy)
        json_object_set(rec, "release_policy", policy);
    tld_lock(t);
    if (!rec)
        r = tl_error_set_nopos(err, -ENOMEM, "out of memory");
    else if ((r = vault_known(t, vault, err)) == 0 &&
             tld_store_resource_put(t, KEY_KIND, id, rec) < 0)
        r = tl_error_set_nopos(err, -EIO, "cannot store the key's record");
    if (r == 0)
        json_object_set(t->keyvault.keys, id, rec);
    tld_unlock(t);
    if (r < 0) { /* no record (the vault went meanwhile, the store failed): the key goes too */
        json_decref(rec);
        struct tl_error e2 = {0};
        if (tld_keystore_lock(t, &e2) == 0) {
            tlh_keystore_key_delete(&t->keyvault.ks, vault, kr.name, NULL, &e2);
            tld_keystore_unlock(t);
        }
        return r;
    }
    tld_log("key %s/%s/%s created (%s %u, %s)", vault, kr.name, key.version,
            tlh_key_type_name(kr.kty), kr.bits, kr.exportable ? "exportable" : "not exportable");
    if ((r = tld_keystore_lock(t, err)) == 0) {
        *answer = key_json(t, &key, rec);
        tld_keystore_unlock(t);
    }
    json_decref(rec);
    return r;
}

/* The names checked, the key's record (*rec, a new reference), and the
 * key store locked (tld_keystore_unlock after); or -errno with nothing held. */
static int key_lock(struct tld *t, const char *vault, const char *name, const char *version,
                    json_t **rec, struct tl_error *err)
{
    int r = tlh_keystore_names_check(vault, name, version, err);
    if (r < 0 || (r = record_get(t, vault, name, rec, err)) < 0)
        return r;
    if ((r = tld_keystore_lock(t, err)) < 0) {
        json_decref(*rec);
        *rec = NULL;
    }
    return r;
}

/* One version (version NULL: the newest) of a key. */
int tld_vault_key_show(struct tld *t, const char *vault, const char *name, const char *version,
                       json_t **answer, struct tl_error *err)
{
    _cleanup_json_ json_t *rec = NULL;
    int r = key_lock(t, vault, name, version, &rec, err);
    if (r < 0)
        return r;
    struct tlh_key key;
    r = tlh_keystore_key_find(&t->keyvault.ks, vault, name, version, &key, err);
    if (r == 0)
        *answer = key_json(t, &key, rec);
    tld_keystore_unlock(t);
    return r;
}

/* Every version of one key (name) oldest first, or the newest version of
 * each key of the vault (name NULL). */
int tld_vault_key_list(struct tld *t, const char *vault, const char *name, json_t **answer,
                       struct tl_error *err)
{
    int r = tlh_keystore_names_check(vault, name, NULL, err);
    _cleanup_json_ json_t *rec = NULL;
    if (r < 0 ||
        (r = name ? record_get(t, vault, name, &rec, err) : vault_check(t, vault, err)) < 0)
        return r;
    _cleanup_json_ json_t *recs = NULL;
    tld_lock(t);
    recs = json_deep_copy(t->keyvault.keys);
    tld_unlock(t);
    if ((r = tld_keystore_lock(t, err)) < 0)
        return r;
    _cleanup_free_ struct tlh_key *keys = NULL;
    size_t n = 0;
    r = tlh_keystore_key_list(&t->keyvault.ks, vault, name, &keys, &n, err);
    json_t *list = json_array();
    for (size_t i = 0; r == 0 && i < n; i++) {
        /* sorted by name then version: the newest of a name is its last */
        if (!name && i + 1 < n && strcmp(keys[i].name, keys[i + 1].name) == 0)
            continue;
        char id[TLH_KEYSTORE_VAULT_MAX + TLH_KEYSTORE_NAME_MAX + 2];
        key_id(vault, keys[i].name, id, sizeof(id));
        json_t *kr = json_object_get(recs, id);
        if (!kr)
            continue; /* the token's key without a record: not this API's */
        json_array_append_new(list, key_json(t, &keys[i], kr));
    }
    tld_keystore_unlock(t);
    if (r < 0) {
        json_decref(list);
        return r;
    }
    *answer = json_pack("{s:o}", "value", list);
    return 0;
}

int tld_vault_key_rotate(struct tld *t, const char *vault, const char *name, json_t **answer,
                         struct tl_error *err)
{
    _cleanup_json_ json_t *rec = NULL;
    int r = key_lock(t, vault, name, NULL, &rec, err);
    if (r < 0)
        return r;
    struct tlh_key key;
    r = tlh_keystore_key_rotate(&t->keyvault.ks, vault, name, &key, err);
    if (r == 0)
        *answer = key_json(t, &key, rec);
    tld_keystore_unlock(t);
    if (r == 0)
        tld_log("key %s/%s rotated: version %s", vault, name, key.version);
    return r;
}

int tld_vault_key_delete(struct tld *t, const char *vault, const char *name, json_t **answer,
                         struct tl_error *err)
{
    _cleanup_json_ json_t *rec = NULL;
    int r = key_lock(t, vault, name, NULL, &rec, err);
    if (r < 0)
        return r;
    int versions = tlh_keystore_key_delete(&t->keyvault.ks, vault, name, NULL, err);
    tld_keystore_unlock(t);
    if (versions < 0 && versions != -ENOENT)
        return versions;
    char id[TLH_KEYSTORE_VAULT_MAX + TLH_KEYSTORE_NAME_MAX + 2];
    key_id(vault, name, id, sizeof(id));
    tld_lock(t);
    if (tld_store_resource_delete(t, KEY_KIND, id) < 0)
        r = tl_error_set_nopos(err, -EIO, "cannot delete the key's record from the store");
    else
        json_object_del(t->keyvault.keys, id);
    tld_unlock(t);
    if (r < 0)
        return r;
    tld_log("key %s/%s deleted (%d versions)", vault, name, versions > 0 ? versions : 0);
    *answer = json_pack("{s:s, s:s, s:b, s:i}", "vault", vault, "name", name, "deleted", 1,
                        "versions", versions > 0 ? versions : 0);
    return 0;
}

/* Clear export: refused for every key, -EPERM with the reason (a
 * non-exportable key's own, else the key store's). */
int tld_vault_key_download(struct tld *t, const char *vault, const char *name, struct tl_error *err)
{
    _cleanup_json_ json_t *rec = NULL;
    int r = key_lock(t, vault, name, NULL, &rec, err);
    if (r < 0)
        return r;
    struct tlh_key key;
    r = tlh_keystore_key_find(&t->keyvault.ks, vault, name, NULL, &key, err);
    tld_keystore_unlock(t);
    if (r < 0)
        return r;
    if (!key.exportable)
        return tl_error_set_nopos(
            err, -EPERM, "key %s/%s is not exportable: it never leaves the key store", vault, name);
    return tlh_keystore_key_download(&key, err);
}

/* A version of a key the token holds: 0, or -ENOENT naming the key (no
 * record) or the version (never made, or destroyed with its key). */
int tld_vault_key_version_known(struct tld *t, const char *vault, const char *name,
                                const char *version, struct tl_error *err)
{
    _cleanup_json_ json_t *rec = NULL;
    int r = key_lock(t, vault, name, version, &rec, err);
    if (r < 0)
        return r;
    struct tlh_key key;
    r = tlh_keystore_key_find(&t->keyvault.ks, vault, name, version, &key, err);
    tld_keystore_unlock(t);
    if (r == -ENOENT)
        return tl_error_set_nopos(err, -ENOENT,
                                  "version: key %s/%s has no version %s (never made, or deleted)",
                                  vault, name, version);
    return r;
}

/* A version of a key (NULL: the newest) wrapped to an RSA SPKI
 * (keyrelease.c): -EPERM for a key that is not exportable, -ENOENT for a
 * version the token does not hold. */
int tld_vault_key_wrap(struct tld *t, const char *vault, const char *name, const char *version,
                       const uint8_t *spki, size_t spki_len, struct tlh_key *key, uint8_t **out,
                       size_t *out_len, struct tl_error *err)
{
    int r = tld_keystore_lock(t, err);
    if (r < 0)
        return r;
    r = tlh_keystore_key_find(&t->keyvault.ks, vault, name, version, key, err);
    if (r == 0)
        r = tlh_keystore_wrap(&t->keyvault.ks, key, spki, spki_len, out, out_len, err);
    tld_keystore_unlock(t);
    return r < 0 ? r : 0;
}

/* ---- the release log ---- */

int tld_vault_release_record(struct tld *t, const json_t *entry)
{
    const char *vault = json_string_value(json_object_get(entry, "vault"));
    const char *name = json_string_value(json_object_get(entry, "key"));
    if (!vault || !name)
        return -EINVAL;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    tld_lock(t);
    /* ids in time order; the sequence keeps two in one nanosecond apart */
    long long ns = (long long)ts.tv_sec * 1000000000ll + ts.tv_nsec;
    if (ns <= t->keyvault.last_release)
        ns = t->keyvault.last_release + 1;
    t->keyvault.last_release = ns;
    char id[TLH_KEYSTORE_VAULT_MAX + TLH_KEYSTORE_NAME_MAX + 32];
    snprintf(id, sizeof(id), "%s/%s/%020lld", vault, name, ns);
    int r = tld_store_resource_put(t, RELEASE_KIND, id, entry);
    tld_unlock(t);
    return r;
}

struct release_filter {
    char prefix[TLH_KEYSTORE_VAULT_MAX + TLH_KEYSTORE_NAME_MAX + 3];
    json_t *out;
};

static int release_match(void *ctx, const char *id, json_t *doc)
{
    struct release_filter *f = ctx;
    if (doc && strncmp(id, f->prefix, strlen(f->prefix)) == 0)
        json_array_append(f->out, doc);
    return 0;
}

int tld_vault_key_releases(struct tld *t, const char *vault, const char *name, json_t **answer,
                           struct tl_error *err)
{
    int r = tlh_keystore_names_check(vault, name, NULL, err);
    if (r < 0)
        return r;
    tld_lock(t);
    r = vault_known(t, vault, err);
    struct release_filter f = {.out = json_array()};
    snprintf(f.prefix, sizeof(f.prefix), "%s/%s/", vault, name);
    if (r == 0 && tld_store_resource_each(t, RELEASE_KIND, release_match, &f) < 0)
        r = tl_error_set_nopos(err, -EIO, "cannot read the release log");
    tld_unlock(t);
    if (r < 0) {
        json_decref(f.out);
        return r;
    }
    *answer = json_pack("{s:o}", "value", f.out);
    return 0;
}
