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
 * update; a store from a newer tld is refused rather than misread.
 *
 * Group commit. A passing attestation of a node with a baseline (the
 * steady state: nothing else of the store is read or written for it) is
 * not written under tld.lock: tld_store_group_join queues its record and
 * the node's document (texts made under the lock, the record's id handed
 * out from a counter), and its request, after letting go of tld.lock,
 * waits in tld_store_group_wait until a transaction holding it has
 * committed; the first waiter that finds no batch being written takes
 * every queued one and writes them in one transaction (one WAL commit, one
 * round trip's COMMIT on PostgreSQL) while new ones queue behind. So an
 * attestation is acknowledged only once its commit returned (the same
 * durability as one commit per attestation: tests/cli/attest_durability.sh)
 * and a failed batch fails every request in it (500). Every other store
 * call (under tld.lock, where no one can queue) first lets the queue be
 * written (store_flush): reads see every acknowledged attestation, and
 * writes keep their order. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* ---- group commit ---- */

struct tld_store_pending {
    long long id;
    char verdict[8];
    char *node, *record;            /* the attestation */
    char *kind, *doc_id, *doc_text; /* a document written with it, or NULL */
    bool done;
    int result;
};

static void pending_free(struct tld_store_pending *p)
{
    if (!p)
        return;
    free(p->node);
    free(p->record);
    free(p->kind);
    free(p->doc_id);
    free(p->doc_text);
    free(p);
}

/* One transaction of n queued attestations; 0 or -EIO. */
static int batch_write(struct tld_store *s, struct tld_store_pending **b, size_t n)
{
    const struct tld_store_engine *e = s->engine;
    int r = e->begin(s);
    if (r < 0)
        return -EIO;
    for (size_t i = 0; r >= 0 && i < n; i++) {
        long long id = b[i]->id;
        r = e->attestation_add(s, b[i]->node, b[i]->verdict, b[i]->record, &id);
        if (r >= 0 && id != b[i]->id)
            r = -EIO;
        if (r >= 0 && b[i]->doc_text)
            r = e->resource_put(s, b[i]->kind, b[i]->doc_id, b[i]->doc_text);
    }
    if (r < 0) {
        e->rollback(s);
        return -EIO;
    }
    return e->commit(s) < 0 ? -EIO : 0;
}

/* Under g->mu, no batch being written: every queued attestation written
 * in one transaction, with g->mu let go meanwhile (others queue, or wait). */
static void group_run(struct tld_store *s)
{
    struct tld_store_group *g = &s->group;
    struct tld_store_pending **b = g->queue;
    size_t n = g->n;
    g->queue = NULL;
    g->n = g->cap = 0;
    g->committing = true;
    pthread_mutex_unlock(&g->mu);
    int r = batch_write(s, b, n);
    pthread_mutex_lock(&g->mu);
    for (size_t i = 0; i < n; i++) {
        b[i]->result = r;
        b[i]->done = true;
    }
    free(b);
    if (r < 0) {
        g->next_id = 0; /* read again from the store */
        tld_log("store: a group of %zu attestations could not be committed", n);
    } else {
        g->batches++;
        g->grouped += n;
    }
    g->committing = false;
    pthread_cond_broadcast(&g->cv);
}

/* Every queued attestation committed (or failed) before a store call
 * under tld.lock uses the connection. */
static void store_flush(struct tld *t)
{
    struct tld_store *s = t->store;
    if (!s->grouping)
        return;
    struct tld_store_group *g = &s->group;
    pthread_mutex_lock(&g->mu);
    while (g->n || g->committing) {
        if (!g->committing)
            group_run(s);
        else
            pthread_cond_wait(&g->cv, &g->mu);
    }
    pthread_mutex_unlock(&g->mu);
}

int tld_store_group_id(struct tld *t, long long *id)
{
    struct tld_store_group *g = &t->store->group;
    pthread_mutex_lock(&g->mu);
    bool known = g->next_id != 0;
    pthread_mutex_unlock(&g->mu);
    if (!known) { /* after a start, a failed batch or an attestation written apart */
        store_flush(t);
        long long next = 0;
        int r = t->store->engine->attestation_next_id(t->store, &next);
        if (r < 0)
            return r;
        pthread_mutex_lock(&g->mu);
        g->next_id = next;
        pthread_mutex_unlock(&g->mu);
    }
    pthread_mutex_lock(&g->mu);
    *id = g->next_id++;
    pthread_mutex_unlock(&g->mu);
    return 0;
}

int tld_store_group_join(struct tld *t, long long id, const char *node, const char *verdict,
                         const json_t *record, const char *kind, const char *doc_id,
                         const json_t *doc, struct tld_store_pending **out)
{
    struct tld_store_group *g = &t->store->group;
    struct tld_store_pending *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->id = id;
    snprintf(p->verdict, sizeof(p->verdict), "%s", verdict);
    p->node = strdup(node);
    p->record = json_dumps(record, JSON_COMPACT);
    if (doc) {
        p->kind = strdup(kind);
        p->doc_id = strdup(doc_id);
        p->doc_text = json_dumps(doc, JSON_COMPACT);
    }
    if (!p->node || !p->record || (doc && (!p->kind || !p->doc_id || !p->doc_text))) {
        pending_free(p);
        return -ENOMEM;
    }
    pthread_mutex_lock(&g->mu);
    if (g->n == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 16;
        struct tld_store_pending **q = realloc(g->queue, cap * sizeof(*q));
        if (!q) {
            pthread_mutex_unlock(&g->mu);
            pending_free(p);
            return -ENOMEM;
        }
        g->queue = q;
        g->cap = cap;
    }
    g->queue[g->n++] = p;
    pthread_mutex_unlock(&g->mu);
    *out = p;
    return 0;
}

void tld_store_group_coming(struct tld *t, int delta)
{
    struct tld_store_group *g = &t->store->group;
    pthread_mutex_lock(&g->mu);
    g->coming += (unsigned)delta;
    pthread_mutex_unlock(&g->mu);
}

/* How long the first waiter lingers for attestations on their way (their
 * work done, waiting for tld.lock to finish) before it commits: a group
 * of several for the price of one commit, at the cost of this much
 * latency for the first of them. PostgreSQL's commit_delay with
 * commit_siblings, in other words. */
#define GROUP_LINGER_NS 200000L

int tld_store_group_wait(struct tld *t, struct tld_store_pending *p)
{
    struct tld_store_group *g = &t->store->group;
    bool lingered = false;
    pthread_mutex_lock(&g->mu);
    while (!p->done) {
        if (!g->committing && g->n && g->coming && !lingered) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += GROUP_LINGER_NS;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&g->cv, &g->mu, &until);
            lingered = true;
        } else if (!g->committing && g->n) {
            group_run(t->store);
        } else {
            pthread_cond_wait(&g->cv, &g->mu);
        }
    }
    int r = p->result;
    pthread_mutex_unlock(&g->mu);
    pending_free(p);
    return r;
}

void tld_store_group_stats(struct tld *t, uint64_t *batches, uint64_t *grouped)
{
    struct tld_store_group *g = &t->store->group;
    pthread_mutex_lock(&g->mu);
    *batches = g->batches;
    *grouped = g->grouped;
    pthread_mutex_unlock(&g->mu);
}

/* The engine TL_STORE names, connected (no migration). */
static int store_engine_open(const char *home, struct tld_store **out)
{
    const char *conninfo = getenv("TL_STORE");
    if (!conninfo || !*conninfo || strcmp(conninfo, "sqlite") == 0)
        return tld_store_sqlite_open(home, out);
    if (store_is_pg(conninfo))
        return tld_store_pg_open(conninfo, out);
    tld_log("TL_STORE: neither sqlite, a postgresql:// URI nor a key=value conninfo");
    return -EINVAL;
}

int tld_store_open(struct tld *t)
{
    struct tld_store *s = NULL;
    int r = store_engine_open(t->home, &s);
    if (r < 0)
        return r;
    r = store_migrate(s);
    if (r < 0) {
        s->engine->close(s);
        return r;
    }
    pthread_mutex_init(&s->group.mu, NULL);
    pthread_cond_init(&s->group.cv, NULL);
    s->grouping = true;
    t->store = s;
    return 0;
}

int tld_store_open_other(const char *home, struct tld_store **out)
{
    return store_engine_open(home, out);
}

void tld_store_close_other(struct tld_store *s)
{
    if (s)
        s->engine->close(s);
}

void tld_store_close(struct tld *t)
{
    if (!t->store)
        return;
    struct tld_store_group *g = &t->store->group;
    if (t->store->grouping) {
        store_flush(t);
        if (g->batches)
            tld_log("store: %" PRIu64 " attestations in %" PRIu64 " group commits (%.2f each)",
                    g->grouped, g->batches, (double)g->grouped / (double)g->batches);
        free(g->queue);
        pthread_mutex_destroy(&g->mu);
        pthread_cond_destroy(&g->cv);
    }
    t->store->engine->close(t->store);
    t->store = NULL;
}

/* ---- documents ---- */

int tld_store_resource_put(struct tld *t, const char *kind, const char *id, const json_t *doc)
{
    store_flush(t);
    _cleanup_free_ char *text = json_dumps(doc, JSON_COMPACT);
    if (!text)
        return -ENOMEM;
    return t->store->engine->resource_put(t->store, kind, id, text);
}

int tld_store_resource_delete(struct tld *t, const char *kind, const char *id)
{
    store_flush(t);
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
    store_flush(t);
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
    store_flush(t);
    return t->store->engine->begin(t->store);
}

int tld_store_commit(struct tld *t)
{
    store_flush(t);
    return t->store->engine->commit(t->store);
}

void tld_store_rollback(struct tld *t)
{
    store_flush(t);
    t->store->engine->rollback(t->store);
}

/* ---- attestations and alerts ---- */

int tld_store_attestation_next_id(struct tld *t, long long *id)
{
    store_flush(t);
    return t->store->engine->attestation_next_id(t->store, id);
}

int tld_store_attestation_add(struct tld *t, const char *node, const char *verdict, json_t *doc,
                              long long *id)
{
    store_flush(t);
    _cleanup_free_ char *text = json_dumps(doc, JSON_COMPACT);
    if (!text)
        return -ENOMEM;
    int r = t->store->engine->attestation_add(t->store, node, verdict, text, id);
    if (t->store->grouping) { /* the store's sequence moved: the group's counter is read again */
        pthread_mutex_lock(&t->store->group.mu);
        t->store->group.next_id = 0;
        pthread_mutex_unlock(&t->store->group.mu);
    }
    return r;
}

json_t *tld_store_attestations(struct tld *t, const char *node, const char *uuid, int limit)
{
    store_flush(t);
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
    store_flush(t);
    return first(t->store->engine->attestation_get(t->store, id));
}

json_t *tld_store_alert_find(struct tld *t, const char *node, const char *uuid, const char *boot,
                             long long *id, bool *acked)
{
    store_flush(t);
    *id = 0;
    *acked = false;
    return t->store->engine->alert_find(t->store, node, uuid, boot, id, acked);
}

int tld_store_alert_put(struct tld *t, const char *node, const char *boot, const json_t *doc,
                        long long *id, bool reopen)
{
    store_flush(t);
    _cleanup_free_ char *text = json_dumps(doc, JSON_COMPACT);
    if (!text)
        return -ENOMEM;
    return t->store->engine->alert_put(t->store, node, boot, text, id, reopen);
}

json_t *tld_store_alerts(struct tld *t, const char *node, const char *uuid, bool all)
{
    store_flush(t);
    return t->store->engine->alerts(t->store, node, uuid, all);
}

json_t *tld_store_alert_get(struct tld *t, long long id)
{
    store_flush(t);
    return first(t->store->engine->alert_get(t->store, id));
}

int tld_store_alerts_open(struct tld *t, uint64_t *n)
{
    store_flush(t);
    *n = 0;
    return t->store->engine->alerts_open(t->store, n);
}

int tld_store_alert_ack(struct tld *t, long long id)
{
    store_flush(t);
    return t->store->engine->alert_ack(t->store, id);
}

/* ---- retention ---- */

/* The nodes to prune, copied out of the engine's rows (a PostgreSQL
 * result, a SQLite statement) before any delete runs. */
struct prune_list {
    char **node;
    size_t n, cap;
    long long newest;
};

static int prune_collect(void *ctx, const char *node, long long newest)
{
    struct prune_list *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 256;
        char **p = realloc(l->node, cap * sizeof(*p));
        if (!p)
            return -ENOMEM;
        l->node = p;
        l->cap = cap;
    }
    if (!(l->node[l->n] = strdup(node ? node : "")))
        return -ENOMEM;
    l->n++;
    if (newest > l->newest)
        l->newest = newest;
    return 0;
}

/* Nodes per transaction: short ones, so that tld's own writes (SQLite:
 * one writer at a time) wait for a few deletes at most. */
#define PRUNE_BATCH 32

int tld_store_prune(struct tld_store *s, long long after, int keep, long long *upto,
                    uint64_t *deleted)
{
    const struct tld_store_engine *e = s->engine;
    struct prune_list l = {.newest = after};
    *upto = after;
    if (keep < 1)
        return -EINVAL;
    int r = e->prune_nodes(s, after, prune_collect, &l);
    for (size_t i = 0; r >= 0 && i < l.n; i += PRUNE_BATCH) {
        if ((r = e->begin(s)) < 0)
            break;
        long long batch = 0;
        for (size_t j = i; r >= 0 && j < l.n && j < i + PRUNE_BATCH; j++) {
            long long d = 0;
            r = e->prune_node(s, l.node[j], keep, &d);
            batch += d;
        }
        if (r < 0) {
            e->rollback(s);
            break;
        }
        if ((r = e->commit(s)) < 0)
            break;
        *deleted += (uint64_t)batch;
    }
    if (r >= 0)
        *upto = l.newest;
    for (size_t i = 0; i < l.n; i++)
        free(l.node[i]);
    free(l.node);
    return r < 0 ? r : 0;
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
