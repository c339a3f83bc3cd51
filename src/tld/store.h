/* The store's engines: what store.c (the tld_store_* functions every caller
 * uses) asks of a database. Two implement it: store_sqlite.c (SQLite in
 * WAL mode in TL_HOME/tld.db, the embedded default) and store_pg.c
 * (PostgreSQL through libpq, TL_STORE=postgresql://... or a key=value
 * conninfo). store.c chooses one at open, turns documents into JSON text
 * and back, and runs the migrations; an engine runs SQL.
 *
 * Both keep the same schema (docs/architecture.md, "Data directory"):
 * resources (kind, id, doc, updated), attestations (id, node, at, verdict,
 * doc), alerts (id, node, boot, at, acknowledged, doc), tickets (value,
 * kind, node, expires, redeemed, data: replicas' nonces and enrolment
 * challenges, store_pg.c), documents as JSON
 * text, ids from the engine's sequence (AUTOINCREMENT, an identity
 * column). The schema's version is numbered the same in both; each engine
 * lists the migrations that reach it from an empty database.
 *
 * Every function runs under tld.lock (one caller at a time per struct
 * tld), but for the retention's: tld_store_prune runs on a store of its
 * own (tld_store_open_other: another connection to the same database),
 * from retention.c's thread, without tld.lock. A write outside begin/commit is its own transaction,
 * committed before it returns: the answer that follows is sent after the commit. */
#pragma once

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* The version this tld writes; a store at a newer one is refused. */
#define STORE_SCHEMA 5

struct tld_store;

/* One migration: the SQL that takes a store from version - 1 (or from
 * nothing, for an engine's first) to version; run in one transaction with
 * the version's update. */
struct tld_store_migration {
    int version;
    const char *sql;
};

struct tld_store_engine {
    const char *name; /* "sqlite", "postgresql" */
    void (*close)(struct tld_store *s);
    /* migrations: a statement or several, no result */
    int (*exec)(struct tld_store *s, const char *sql);
    int (*version)(struct tld_store *s, int *version); /* 0: an empty store */
    int (*version_set)(struct tld_store *s, int version);
    const char *lock; /* SQL run first in a migration's transaction, or NULL */
    const struct tld_store_migration *migrations;
    size_t n_migrations;

    int (*begin)(struct tld_store *s);
    int (*commit)(struct tld_store *s); /* a failed commit is rolled back */
    void (*rollback)(struct tld_store *s);

    /* text: the document as compact JSON */
    int (*resource_put)(struct tld_store *s, const char *kind, const char *id, const char *text);
    int (*resource_delete)(struct tld_store *s, const char *kind, const char *id);
    /* each gets the document's text (NULL: none); stops at a negative return */
    int (*resource_each)(struct tld_store *s, const char *kind,
                         int (*each)(void *ctx, const char *id, const char *text), void *ctx);

    int (*attestation_next_id)(struct tld_store *s, long long *id);
    int (*attestation_add)(struct tld_store *s, const char *node, const char *verdict,
                           const char *text, long long *id);
    /* arrays of the documents with "id" (and alerts' "acknowledged") added:
     * newest first; node NULL: every node; uuid NULL: every identity; _get:
     * the one of that id, or none */
    json_t *(*attestations)(struct tld_store *s, const char *node, const char *uuid, int limit);
    json_t *(*attestation_get)(struct tld_store *s, long long id);
    json_t *(*alert_find)(struct tld_store *s, const char *node, const char *uuid, const char *boot,
                          long long *id, bool *acked);
    int (*alert_put)(struct tld_store *s, const char *node, const char *boot, const char *text,
                     long long *id, bool reopen);
    json_t *(*alerts)(struct tld_store *s, const char *node, const char *uuid, bool all);
    json_t *(*alert_get)(struct tld_store *s, long long id);
    int (*alert_ack)(struct tld_store *s, long long id);  /* -ENOENT: no such alert */
    int (*alerts_open)(struct tld_store *s, uint64_t *n); /* the unacknowledged ones */

    /* Replicas (docs/scale.md, "Replicas"): an engine several tlds can
     * share sets these; NULL: one tld (SQLite), which keeps nonces and
     * challenges in memory and is always the reconciler.
     * resource_get: the document's text (malloc'd) or -ENOENT; for_update:
     * its row locked until the transaction ends (SELECT ... FOR UPDATE). */
    int (*resource_get)(struct tld_store *s, const char *kind, const char *id, bool for_update,
                        char **text);
    /* a single-use ticket (a nonce, a challenge): put once; take redeems
     * it exactly once across every tld sharing the store (0, with its data
     * malloc'd or NULL), or -ENOENT (unknown, another node's, used or
     * expired at now) */
    int (*ticket_put)(struct tld_store *s, const char *kind, const char *value, const char *node,
                      long long expires, const char *data);
    int (*ticket_take)(struct tld_store *s, const char *kind, const char *value, const char *node,
                       long long now, char **data);
    /* the tickets that expired before `before`, gone */
    int (*tickets_prune)(struct tld_store *s, long long before);
    /* the reconciler's lease, on a connection of its own: 1 held (taken
     * now or before), 0 another tld holds it, -EIO */
    int (*lease_try)(struct tld_store *s);
    /* Retention (tld_store_prune, on a connection of its own): each node
     * with an attestation of id > after, with its newest id; then one
     * node's attestations but its newest keep and its failures deleted
     * (*deleted: how many). */
    int (*prune_nodes)(struct tld_store *s, long long after,
                       int (*each)(void *ctx, const char *node, long long newest), void *ctx);
    int (*prune_node)(struct tld_store *s, const char *node, int keep, long long *deleted);
};

/* Group commit (store.c, "group commit"): passing attestations joined
 * under tld.lock, committed together by one of their waiters outside it. */
struct tld_store_pending;
struct tld_store_group {
    pthread_mutex_t mu; /* the fields below */
    pthread_cond_t cv;  /* a batch is done */
    struct tld_store_pending **queue;
    size_t n, cap;
    bool committing;           /* a waiter has the connection: a batch is being written */
    unsigned coming;           /* attestations on their way to join (tld_store_group_coming) */
    long long next_id;         /* the next attestation id to hand out; 0: read it from the store */
    uint64_t batches, grouped; /* committed batches and the attestations in them */
};

/* An engine's store begins with this. */
struct tld_store {
    const struct tld_store_engine *engine;
    struct tld_store_group group; /* tld_store_open's store only */
    bool grouping;                /* group initialised */
};

/* Open (and create) the engine's database; the migrations are store.c's. */
int tld_store_sqlite_open(const char *home, struct tld_store **out);
int tld_store_pg_open(const char *conninfo, struct tld_store **out);

/* store_row.c: a row's document: text parsed, "id" added, and "acknowledged" when
 * acked >= 0; NULL when text is not JSON. */
json_t *tld_store_row(const char *text, long long id, int acked);
