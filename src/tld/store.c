/* The store: documents, attestations and alerts, in one of two engines
 * (store.h): SQLite in TL_HOME/tld.db, the embedded default, or a
 * PostgreSQL database named by TL_STORE in tld's environment (a
 * postgresql:// URI or a key=value conninfo such as "host=/run/pg
 * dbname=tl"). It knows documents, not nodes: one JSON document per (kind,
 * key) in the resources table (nodes, resource groups, clusters, pools,
 * features, API tokens: each kind's owner builds and reads its JSON:
 * nodestore.c for nodes), plus the attestations and alerts tables.
 * Written before an API call answers: a write is committed (by the engine,
 * or at tld_store_commit) before its function returns.
 *
 * This file is what callers see: it picks the engine, turns JSON into text
 * and back, and brings the schema to STORE_SCHEMA with the engine's
 * numbered migrations, each in a transaction of its own with the version's
 * update; a store from a newer tld is refused rather than misread. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "tl/util.h"
#include "tld.h"

/* TL_STORE: unset, empty or "sqlite": TL_HOME/tld.db. */
static bool store_is_pg(const char *conninfo)
{
    return strncmp(conninfo, "postgresql://", 13) == 0 ||
           strncmp(conninfo, "postgres://", 11) == 0 || strchr(conninfo, '=') != NULL;
}

/* Each migration the store has not had, in order; under the engine's lock
 * (PostgreSQL: an advisory lock, so that two tlds starting at once migrate
 * once), the version read again inside the transaction. */
static int store_migrate(struct tld_store *s)
{
    const struct tld_store_engine *e = s->engine;
    int version = 0;
    if (e->version(s, &version) < 0)
        return -EIO;
    if (version > STORE_SCHEMA) {
        tld_log("store (%s): schema %d is newer than this tld's %d", e->name, version,
                STORE_SCHEMA);
        return -EPROTO;
    }
    for (size_t i = 0; i < e->n_migrations; i++) {
        const struct tld_store_migration *m = &e->migrations[i];
        if (m->version <= version)
            continue;
        if (e->exec(s, "BEGIN") < 0)
            return -EIO;
        if ((e->lock && e->exec(s, e->lock) < 0) || e->version(s, &version) < 0) {
            e->exec(s, "ROLLBACK");
            return -EIO;
        }
        if (m->version <= version) { /* another tld did it meanwhile */
            e->exec(s, "ROLLBACK");
            continue;
        }
        if (e->exec(s, m->sql) < 0 || e->version_set(s, m->version) < 0 ||
            e->exec(s, "COMMIT") < 0) {
            tld_log("store (%s): migration to schema %d failed", e->name, m->version);
            e->exec(s, "ROLLBACK");
            return -EIO;
        }
        version = m->version;
    }
    return 0;
}

int tld_store_open(struct tld *t)
{
    const char *conninfo = getenv("TL_STORE");
    struct tld_store *s = NULL;
    int r;
    if (!conninfo || !*conninfo || strcmp(conninfo, "sqlite") == 0) {
        r = tld_store_sqlite_open(t->home, &s);
    } else if (store_is_pg(conninfo)) {
        r = tld_store_pg_open(conninfo, &s);
    } else {
        tld_log("TL_STORE: neither sqlite, a postgresql:// URI nor a key=value conninfo");
        return -EINVAL;
    }
    if (r < 0)
        return r;
    r = store_migrate(s);
    if (r < 0) {
        s->engine->close(s);
        return r;
    }
    t->store = s;
    return 0;
}

void tld_store_close(struct tld *t)
{
    if (!t->store)
        return;
    t->store->engine->close(t->store);
    t->store = NULL;
}

/* ---- documents ---- */

int tld_store_resource_put(struct tld *t, const char *kind, const char *id, const json_t *doc)
{
    _cleanup_free_ char *text = json_dumps(doc, JSON_COMPACT);
    if (!text)
        return -ENOMEM;
    return t->store->engine->resource_put(t->store, kind, id, text);
}

int tld_store_resource_delete(struct tld *t, const char *kind, const char *id)
{
    return t->store->engine->resource_delete(t->store, kind, id);
}

struct each_json {
    int (*each)(void *ctx, const char *id, json_t *doc);
    void *ctx;
};

static int each_parsed(void *ctx, const char *id, const char *text)
{
    struct each_json *e = ctx;
    json_t *doc = text ? json_loads(text, 0, NULL) : NULL;
    if (!json_is_object(doc)) {
        json_decref(doc);
        doc = NULL;
    }
    int r = e->each(e->ctx, id ? id : "?", doc);
    json_decref(doc);
    return r;
}

int tld_store_resource_each(struct tld *t, const char *kind,
                            int (*each)(void *ctx, const char *id, json_t *doc), void *ctx)
{
    struct each_json e = {each, ctx};
    int r = t->store->engine->resource_each(t->store, kind, each_parsed, &e);
    return r < 0 ? r : 0;
}

struct appended {
    json_t *out;
    const char *kind;
};

static int append(void *ctx, const char *id, json_t *doc)
{
    struct appended *a = ctx;
    (void)id;
    if (doc)
        json_array_append(a->out, doc);
    else
        tld_log("store: a %s record is not JSON; skipped", a->kind);
    return 0;
}

json_t *tld_store_resources(struct tld *t, const char *kind)
{
    struct appended a = {json_array(), kind};
    tld_store_resource_each(t, kind, append, &a);
    return a.out;
}

int tld_store_begin(struct tld *t)
{
    return t->store->engine->begin(t->store);
}

int tld_store_commit(struct tld *t)
{
    return t->store->engine->commit(t->store);
}

void tld_store_rollback(struct tld *t)
{
    t->store->engine->rollback(t->store);
}

/* ---- attestations and alerts ---- */

int tld_store_attestation_next_id(struct tld *t, long long *id)
{
    return t->store->engine->attestation_next_id(t->store, id);
}

int tld_store_attestation_add(struct tld *t, const char *node, const char *verdict, json_t *doc,
                              long long *id)
{
    _cleanup_free_ char *text = json_dumps(doc, JSON_COMPACT);
    if (!text)
        return -ENOMEM;
    return t->store->engine->attestation_add(t->store, node, verdict, text, id);
}

json_t *tld_store_attestations(struct tld *t, const char *node, const char *uuid, int limit)
{
    return t->store->engine->attestations(t->store, node, uuid, limit);
}

/* The one document of an array of zero or one, or NULL. */
static json_t *first(json_t *a)
{
    json_t *one = json_incref(json_array_get(a, 0));
    json_decref(a);
    return one;
}

json_t *tld_store_attestation_get(struct tld *t, long long id)
{
    return first(t->store->engine->attestation_get(t->store, id));
}

json_t *tld_store_alert_find(struct tld *t, const char *node, const char *uuid, const char *boot,
                             long long *id, bool *acked)
{
    *id = 0;
    *acked = false;
    return t->store->engine->alert_find(t->store, node, uuid, boot, id, acked);
}

int tld_store_alert_put(struct tld *t, const char *node, const char *boot, const json_t *doc,
                        long long *id, bool reopen)
{
    _cleanup_free_ char *text = json_dumps(doc, JSON_COMPACT);
    if (!text)
        return -ENOMEM;
    return t->store->engine->alert_put(t->store, node, boot, text, id, reopen);
}

json_t *tld_store_alerts(struct tld *t, const char *node, const char *uuid, bool all)
{
    return t->store->engine->alerts(t->store, node, uuid, all);
}

json_t *tld_store_alert_get(struct tld *t, long long id)
{
    return first(t->store->engine->alert_get(t->store, id));
}

int tld_store_alerts_open(struct tld *t, uint64_t *n)
{
    *n = 0;
    return t->store->engine->alerts_open(t->store, n);
}

int tld_store_alert_ack(struct tld *t, long long id)
{
    return t->store->engine->alert_ack(t->store, id);
}

/* ---- replicas (docs/scale.md, "Replicas") ---- */

bool tld_store_shared(const struct tld *t)
{
    return t->store->engine->ticket_take != NULL;
}

int tld_store_resource_get(struct tld *t, const char *kind, const char *id, bool for_update,
                           json_t **doc)
{
    *doc = NULL;
    if (!t->store->engine->resource_get)
        return -EOPNOTSUPP;
    _cleanup_free_ char *text = NULL;
    int r = t->store->engine->resource_get(t->store, kind, id, for_update, &text);
    if (r < 0)
        return r;
    *doc = json_loads(text, 0, NULL);
    if (!json_is_object(*doc)) {
        json_decref(*doc);
        *doc = NULL;
        return -EBADMSG;
    }
    return 0;
}

int tld_store_ticket_put(struct tld *t, const char *kind, const char *value, const char *node,
                         long long expires, const char *data)
{
    return t->store->engine->ticket_put(t->store, kind, value, node, expires, data);
}

int tld_store_ticket_take(struct tld *t, const char *kind, const char *value, const char *node,
                          char **data)
{
    *data = NULL;
    return t->store->engine->ticket_take(t->store, kind, value, node, tld_now(), data);
}

int tld_store_tickets_prune(struct tld *t, long long before)
{
    return t->store->engine->tickets_prune ? t->store->engine->tickets_prune(t->store, before) : 0;
}

int tld_store_lease_try(struct tld *t)
{
    return t->store->engine->lease_try ? t->store->engine->lease_try(t->store) : 1;
}
