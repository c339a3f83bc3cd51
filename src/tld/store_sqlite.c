/* The store's SQLite engine (store.h): TL_HOME/tld.db in WAL mode, the
 * embedded default. The schema's version is PRAGMA user_version.
 *
 * Durability: synchronous=NORMAL. In WAL mode a commit is a write() of its
 * frames to tld.db-wal, in the kernel's page cache before the answer is
 * sent, so an acknowledged change survives a kill -9 (or any crash) of tld
 * itself: the requirement, checked by tests/cli/attest_durability.sh. The
 * WAL is fsynced at each checkpoint, not at each commit, so a power cut or
 * a kernel crash may lose the last commits (never the database's
 * consistency). synchronous=FULL fsynced the WAL at every commit: two
 * fdatasyncs per attestation, inside tld's lock (bench/README.md,
 * "bench-attest"). TL_STORE_SYNC=FULL in tld's environment restores it.
 *
 * The statements of the hot paths (a node saved, an attestation added) are
 * prepared once and kept; an attestation, its alert and the node's new
 * state are one transaction (tld_store_begin/commit). */
#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store.h"
#include "tl/util.h"
#include "tld.h"

/* The database and the statements of the hot paths, prepared once and
 * kept: one per struct tld, used under tld.lock. */
struct sqlite_store {
    struct tld_store base;
    sqlite3 *db;
    sqlite3_stmt *put, *attestation, *next_id;
    sqlite3_stmt *prune_nodes, *prune_node; /* the retention's connection's */
};

static sqlite3 *db_of(struct tld_store *s)
{
    return ((struct sqlite_store *)s)->db;
}

static int sqlite_exec(struct tld_store *s, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db_of(s), sql, NULL, NULL, &err) != SQLITE_OK) {
        tld_log("store: %s: %s", sql, err ? err : "?");
        sqlite3_free(err);
        return -EIO;
    }
    return 0;
}

static int sqlite_version(struct tld_store *s, int *version)
{
    sqlite3_stmt *st;
    *version = 0;
    if (sqlite3_prepare_v2(db_of(s), "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return -EIO;
    if (sqlite3_step(st) == SQLITE_ROW)
        *version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return 0;
}

static int sqlite_version_set(struct tld_store *s, int version)
{
    char sql[48];
    snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", version);
    return sqlite_exec(s, sql);
}

/* Schema 1 had nodes in their own table; 4 made them documents. */
static const struct tld_store_migration sqlite_migrations[] = {
    {1, "CREATE TABLE IF NOT EXISTS nodes (name TEXT PRIMARY KEY, doc TEXT NOT NULL, updated "
        "INTEGER NOT NULL)"},
    {2, /* attestations and alerts */
     "CREATE TABLE attestations (id INTEGER PRIMARY KEY AUTOINCREMENT, node TEXT NOT NULL, at "
     "INTEGER NOT NULL, verdict TEXT NOT NULL, doc TEXT NOT NULL);"
     "CREATE INDEX attestations_node ON attestations (node, id);"
     "CREATE TABLE alerts (id INTEGER PRIMARY KEY AUTOINCREMENT, node TEXT NOT NULL, boot TEXT "
     "NOT NULL, at INTEGER NOT NULL, acknowledged INTEGER NOT NULL DEFAULT 0, doc TEXT NOT "
     "NULL, UNIQUE (node, boot))"},
    {3, /* resource groups, clusters, node pools, features */
     "CREATE TABLE resources (kind TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL, updated "
     "INTEGER NOT NULL, PRIMARY KEY (kind, id))"},
    {4, /* nodes are documents of kind "node" */
     "INSERT INTO resources (kind, id, doc, updated) SELECT 'node', name, doc, updated FROM "
     "nodes;"
     "DROP TABLE nodes"},
    {5, /* replicas' single-use tickets (store.h): the schema is the same in
         * both engines, though a lone SQLite tld keeps them in memory */
     "CREATE TABLE tickets (value TEXT PRIMARY KEY, kind TEXT NOT NULL, node TEXT NOT NULL, "
     "expires INTEGER NOT NULL, redeemed INTEGER NOT NULL DEFAULT 0, data TEXT)"},
};

static void sqlite_close(struct tld_store *base)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    sqlite3_finalize(s->put);
    sqlite3_finalize(s->attestation);
    sqlite3_finalize(s->next_id);
    sqlite3_finalize(s->prune_nodes);
    sqlite3_finalize(s->prune_node);
    sqlite3_close(s->db);
    free(s);
}

/* The kept statement for sql, reset, or NULL. */
static sqlite3_stmt *kept(struct tld_store *s, sqlite3_stmt **slot, const char *sql)
{
    if (*slot) {
        sqlite3_reset(*slot);
        sqlite3_clear_bindings(*slot);
        return *slot;
    }
    if (sqlite3_prepare_v3(db_of(s), sql, -1, SQLITE_PREPARE_PERSISTENT, slot, NULL) != SQLITE_OK) {
        tld_log("store: %s: %s", sql, sqlite3_errmsg(db_of(s)));
        *slot = NULL;
    }
    return *slot;
}

/* ---- documents ---- */

static int sqlite_resource_put(struct tld_store *base, const char *kind, const char *id,
                               const char *text)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    int r = -EIO;
    sqlite3_stmt *st = kept(base, &s->put,
                            "INSERT INTO resources (kind, id, doc, updated) VALUES (?1, ?2, ?3, "
                            "?4) ON CONFLICT(kind, id) DO UPDATE SET doc = ?3, updated = ?4");
    if (!st)
        return r;
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, tld_now());
    if (sqlite3_step(st) == SQLITE_DONE)
        r = 0;
    else
        tld_log("store: saving %s %s: %s", kind, id, sqlite3_errmsg(s->db));
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return r;
}

static int sqlite_resource_delete(struct tld_store *s, const char *kind, const char *id)
{
    sqlite3_stmt *st;
    int r = -EIO;
    if (sqlite3_prepare_v2(db_of(s), "DELETE FROM resources WHERE kind = ?1 AND id = ?2", -1, &st,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_DONE)
            r = 0;
        sqlite3_finalize(st);
    }
    return r;
}

static int sqlite_resource_each(struct tld_store *s, const char *kind,
                                int (*each)(void *ctx, const char *id, const char *text), void *ctx)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db_of(s), "SELECT id, doc FROM resources WHERE kind = ?1 ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK)
        return -EIO;
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    int r = 0;
    while (r >= 0 && sqlite3_step(st) == SQLITE_ROW)
        r = each(ctx, (const char *)sqlite3_column_text(st, 0),
                 (const char *)sqlite3_column_text(st, 1));
    sqlite3_finalize(st);
    return r;
}

static int sqlite_begin(struct tld_store *s)
{
    return sqlite_exec(s, "BEGIN");
}

static int sqlite_commit(struct tld_store *s)
{
    if (sqlite_exec(s, "COMMIT") == 0)
        return 0;
    sqlite_exec(s, "ROLLBACK");
    return -EIO;
}

static void sqlite_rollback(struct tld_store *s)
{
    sqlite_exec(s, "ROLLBACK");
}

/* ---- attestations and alerts ---- */

static int sqlite_attestation_next_id(struct tld_store *base, long long *id)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    sqlite3_stmt *st =
        kept(base, &s->next_id, "SELECT seq FROM sqlite_sequence WHERE name = 'attestations'");
    if (!st)
        return -EIO;
    int rc = sqlite3_step(st);
    *id = (rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0) + 1;
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -EIO;
}

static int sqlite_attestation_add(struct tld_store *base, const char *node, const char *verdict,
                                  const char *text, long long *id)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    int r = -EIO;
    sqlite3_stmt *st = kept(base, &s->attestation,
                            "INSERT INTO attestations (id, node, at, verdict, doc) VALUES (?5, ?1, "
                            "?2, ?3, ?4)");
    if (!st)
        return r;
    sqlite3_bind_text(st, 1, node, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, tld_now());
    sqlite3_bind_text(st, 3, verdict, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, text, -1, SQLITE_STATIC);
    if (*id > 0) /* else NULL: the next one */
        sqlite3_bind_int64(st, 5, *id);
    if (sqlite3_step(st) == SQLITE_DONE) {
        *id = sqlite3_last_insert_rowid(s->db);
        r = 0;
    } else {
        tld_log("store: attestation of %s: %s", node, sqlite3_errmsg(s->db));
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return r;
}

/* Rows of "SELECT id, doc [, acknowledged] ..." as an array of their docs
 * with "id" (and "acknowledged") added. */
static json_t *rows(struct tld_store *s, const char *sql, const char *node, const char *uuid,
                    long long id, int limit)
{
    sqlite3_stmt *st;
    json_t *out = json_array();
    if (sqlite3_prepare_v2(db_of(s), sql, -1, &st, NULL) != SQLITE_OK)
        return out;
    int k = sqlite3_bind_parameter_index(st, ":node");
    if (k)
        sqlite3_bind_text(st, k, node, -1, SQLITE_STATIC);
    if ((k = sqlite3_bind_parameter_index(st, ":uuid")))
        sqlite3_bind_text(st, k, uuid, -1, SQLITE_STATIC);
    if ((k = sqlite3_bind_parameter_index(st, ":id")))
        sqlite3_bind_int64(st, k, id);
    if ((k = sqlite3_bind_parameter_index(st, ":limit")))
        sqlite3_bind_int(st, k, limit);
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_t *doc =
            tld_store_row((const char *)sqlite3_column_text(st, 1), sqlite3_column_int64(st, 0),
                          sqlite3_column_count(st) > 2 ? sqlite3_column_int(st, 2) : -1);
        if (doc)
            json_array_append_new(out, doc);
    }
    sqlite3_finalize(st);
    return out;
}

/* A node's records: those of its identity when the node exists (uuid),
 * else every record under the name (a deleted node's history). */
#define BY_NODE "node = :node AND (:uuid IS NULL OR json_extract(doc, '$.node_uuid') = :uuid)"

static json_t *sqlite_attestations(struct tld_store *s, const char *node, const char *uuid,
                                   int limit)
{
    return node ? rows(s,
                       "SELECT id, doc FROM attestations WHERE " BY_NODE
                       " ORDER BY id DESC LIMIT :limit",
                       node, uuid, 0, limit)
                : rows(s, "SELECT id, doc FROM attestations ORDER BY id DESC LIMIT :limit", NULL,
                       NULL, 0, limit);
}

static json_t *sqlite_attestation_get(struct tld_store *s, long long id)
{
    return rows(s, "SELECT id, doc FROM attestations WHERE id = :id", NULL, NULL, id, 1);
}

static json_t *sqlite_alert_find(struct tld_store *s, const char *node, const char *uuid,
                                 const char *boot, long long *id, bool *acked)
{
    sqlite3_stmt *st;
    json_t *doc = NULL;
    if (sqlite3_prepare_v2(db_of(s),
                           "SELECT id, doc, acknowledged FROM alerts WHERE node = ?1 AND boot = ?2 "
                           "AND json_extract(doc, '$.node_uuid') = ?3",
                           -1, &st, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_text(st, 1, node, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, boot, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, uuid, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        doc = json_loads((const char *)sqlite3_column_text(st, 1), 0, NULL);
        if (doc) {
            *id = sqlite3_column_int64(st, 0);
            *acked = sqlite3_column_int(st, 2) != 0;
        }
    }
    sqlite3_finalize(st);
    return doc;
}

static int sqlite_alert_put(struct tld_store *s, const char *node, const char *boot,
                            const char *text, long long *id, bool reopen)
{
    sqlite3_stmt *st;
    int r = -EIO;
    const char *sql =
        *id ? (reopen ? "UPDATE alerts SET doc = ?3, at = ?4, acknowledged = 0 WHERE id = ?5"
                      : "UPDATE alerts SET doc = ?3, at = ?4 WHERE id = ?5")
            : "INSERT INTO alerts (node, boot, doc, at) VALUES (?1, ?2, ?3, ?4)";
    if (sqlite3_prepare_v2(db_of(s), sql, -1, &st, NULL) != SQLITE_OK)
        return r;
    if (!*id) {
        sqlite3_bind_text(st, 1, node, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, boot, -1, SQLITE_STATIC);
    }
    sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, tld_now());
    if (*id)
        sqlite3_bind_int64(st, 5, *id);
    if (sqlite3_step(st) == SQLITE_DONE) {
        if (!*id)
            *id = sqlite3_last_insert_rowid(db_of(s));
        r = 0;
    }
    sqlite3_finalize(st);
    return r;
}

static json_t *sqlite_alerts(struct tld_store *s, const char *node, const char *uuid, bool all)
{
    if (node)
        return rows(s,
                    all ? "SELECT id, doc, acknowledged FROM alerts WHERE " BY_NODE
                          " ORDER BY id DESC"
                        : "SELECT id, doc, acknowledged FROM alerts WHERE " BY_NODE
                          " AND acknowledged = 0 ORDER BY id DESC",
                    node, uuid, 0, 0);
    return rows(s,
                all ? "SELECT id, doc, acknowledged FROM alerts ORDER BY id DESC"
                    : "SELECT id, doc, acknowledged FROM alerts WHERE acknowledged = 0 ORDER BY "
                      "id DESC",
                NULL, NULL, 0, 0);
}

static json_t *sqlite_alert_get(struct tld_store *s, long long id)
{
    return rows(s, "SELECT id, doc, acknowledged FROM alerts WHERE id = :id", NULL, NULL, id, 0);
}

static int sqlite_alert_ack(struct tld_store *s, long long id)
{
    sqlite3_stmt *st;
    int r = -EIO;
    if (sqlite3_prepare_v2(db_of(s), "UPDATE alerts SET acknowledged = 1 WHERE id = ?1", -1, &st,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, id);
        if (sqlite3_step(st) == SQLITE_DONE)
            r = sqlite3_changes(db_of(s)) ? 0 : -ENOENT;
        sqlite3_finalize(st);
    }
    return r;
}

static int sqlite_alerts_open(struct tld_store *s, uint64_t *n)
{
    sqlite3_stmt *st;
    int r = -EIO;
    if (sqlite3_prepare_v2(db_of(s), "SELECT COUNT(*) FROM alerts WHERE acknowledged = 0", -1, &st,
                           NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) {
            *n = (uint64_t)sqlite3_column_int64(st, 0);
            r = 0;
        }
        sqlite3_finalize(st);
    }
    return r;
}

/* ---- retention ---- */

static int sqlite_prune_nodes(struct tld_store *base, long long after,
                              int (*each)(void *ctx, const char *node, long long newest), void *ctx)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    /* the id is the rowid: a range of the table, not a scan */
    sqlite3_stmt *st = kept(base, &s->prune_nodes,
                            "SELECT node, max(id) FROM attestations WHERE id > ?1 GROUP BY node");
    if (!st)
        return -EIO;
    sqlite3_bind_int64(st, 1, after);
    int r = 0, rc;
    while (r >= 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
        r = each(ctx, (const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1));
    if (r >= 0 && rc != SQLITE_DONE)
        r = -EIO;
    sqlite3_reset(st);
    return r;
}

static int sqlite_prune_node(struct tld_store *base, const char *node, int keep, long long *deleted)
{
    struct sqlite_store *s = (struct sqlite_store *)base;
    /* the keep-th newest id (attestations_node's order): older passes go */
    sqlite3_stmt *st = kept(base, &s->prune_node,
                            "DELETE FROM attestations WHERE node = ?1 AND verdict <> 'fail' AND id "
                            "< (SELECT id FROM attestations WHERE node = ?1 ORDER BY id DESC LIMIT "
                            "1 OFFSET ?2)");
    if (!st)
        return -EIO;
    sqlite3_bind_text(st, 1, node, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, keep - 1);
    int r = -EIO;
    if (sqlite3_step(st) == SQLITE_DONE) {
        *deleted = sqlite3_changes(s->db);
        r = 0;
    } else {
        tld_log("store: pruning %s: %s", node, sqlite3_errmsg(s->db));
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return r;
}

static const struct tld_store_engine sqlite_engine = {
    .name = "sqlite",
    .close = sqlite_close,
    .exec = sqlite_exec,
    .version = sqlite_version,
    .version_set = sqlite_version_set,
    .migrations = sqlite_migrations,
    .n_migrations = TL_ARRAY_SIZE(sqlite_migrations),
    .begin = sqlite_begin,
    .commit = sqlite_commit,
    .rollback = sqlite_rollback,
    .resource_put = sqlite_resource_put,
    .resource_delete = sqlite_resource_delete,
    .resource_each = sqlite_resource_each,
    .attestation_next_id = sqlite_attestation_next_id,
    .attestation_add = sqlite_attestation_add,
    .attestations = sqlite_attestations,
    .attestation_get = sqlite_attestation_get,
    .alert_find = sqlite_alert_find,
    .alert_put = sqlite_alert_put,
    .alerts = sqlite_alerts,
    .alert_get = sqlite_alert_get,
    .alert_ack = sqlite_alert_ack,
    .alerts_open = sqlite_alerts_open,
    .prune_nodes = sqlite_prune_nodes,
    .prune_node = sqlite_prune_node,
};

int tld_store_sqlite_open(const char *home, struct tld_store **out)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/tld.db", home);
    struct sqlite_store *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->base.engine = &sqlite_engine;
    if (sqlite3_open_v2(path, &s->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        NULL) != SQLITE_OK) {
        tld_log("%s: %s", path, s->db ? sqlite3_errmsg(s->db) : "cannot open");
        sqlite_close(&s->base);
        return -EIO;
    }
    sqlite3_busy_timeout(s->db, 5000);
    const char *sync = getenv("TL_STORE_SYNC");
    bool full = sync && strcasecmp(sync, "FULL") == 0;
    if (sqlite_exec(&s->base, "PRAGMA journal_mode=WAL") < 0 ||
        sqlite_exec(&s->base, full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL") < 0) {
        sqlite_close(&s->base);
        return -EIO;
    }
    *out = &s->base;
    return 0;
}
