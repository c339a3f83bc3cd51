/* The store: SQLite in WAL mode. It knows documents, not nodes: one JSON
 * document per (kind, key) in the resources table (nodes, resource groups,
 * clusters, pools, features, API tokens: each kind's owner builds and reads
 * its JSON: nodestore.c for nodes), plus the attestations and alerts
 * tables. Written before an API call answers. The schema is versioned with
 * PRAGMA user_version; a store from a newer tld is refused rather than
 * misread.
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
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tld.h"

#define STORE_SCHEMA 4

/* The database and the statements of the hot paths, prepared once and
 * kept: one per struct tld, used under tld.lock. */
struct tld_store {
    sqlite3 *db;
    sqlite3_stmt *put, *attestation, *next_id;
};

static int exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        tld_log("store: %s: %s", sql, err ? err : "?");
        sqlite3_free(err);
        return -EIO;
    }
    return 0;
}

static int store_open(struct tld *t, sqlite3 **dbp)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/tld.db", t->home);
    if (sqlite3_open_v2(path, dbp,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        NULL) != SQLITE_OK) {
        tld_log("%s: %s", path, *dbp ? sqlite3_errmsg(*dbp) : "cannot open");
        return -EIO;
    }
    sqlite3 *db = *dbp;
    sqlite3_busy_timeout(db, 5000);
    const char *sync = getenv("TL_STORE_SYNC");
    bool full = sync && strcasecmp(sync, "FULL") == 0;
    if (exec(db, "PRAGMA journal_mode=WAL") < 0 ||
        exec(db, full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL") < 0)
        return -EIO;
    sqlite3_stmt *st;
    int version = 0;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            version = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
    }
    if (version > STORE_SCHEMA) {
        tld_log("%s: schema %d is newer than this tld's %d", path, version, STORE_SCHEMA);
        return -EPROTO;
    }
    if (version == 0) {
        if (exec(db, "BEGIN") < 0 ||
            exec(db, "CREATE TABLE IF NOT EXISTS nodes (name TEXT PRIMARY KEY, doc TEXT NOT "
                     "NULL, updated INTEGER NOT NULL)") < 0 ||
            exec(db, "PRAGMA user_version=1") < 0 || exec(db, "COMMIT") < 0)
            return -EIO;
        version = 1;
    }
    if (version == 1) { /* schema 2: attestations and alerts */
        if (exec(db, "BEGIN") < 0 ||
            exec(db, "CREATE TABLE attestations (id INTEGER PRIMARY KEY AUTOINCREMENT, node "
                     "TEXT NOT NULL, at INTEGER NOT NULL, verdict TEXT NOT NULL, doc TEXT NOT "
                     "NULL)") < 0 ||
            exec(db, "CREATE INDEX attestations_node ON attestations (node, id)") < 0 ||
            exec(db, "CREATE TABLE alerts (id INTEGER PRIMARY KEY AUTOINCREMENT, node TEXT "
                     "NOT NULL, boot TEXT NOT NULL, at INTEGER NOT NULL, acknowledged INTEGER "
                     "NOT NULL DEFAULT 0, doc TEXT NOT NULL, UNIQUE (node, boot))") < 0 ||
            exec(db, "PRAGMA user_version=2") < 0 || exec(db, "COMMIT") < 0)
            return -EIO;
        version = 2;
    }
    if (version == 2) { /* schema 3: resource groups, clusters, node pools, features */
        if (exec(db, "BEGIN") < 0 ||
            exec(db, "CREATE TABLE resources (kind TEXT NOT NULL, id TEXT NOT NULL, doc TEXT "
                     "NOT NULL, updated INTEGER NOT NULL, PRIMARY KEY (kind, id))") < 0 ||
            exec(db, "PRAGMA user_version=3") < 0 || exec(db, "COMMIT") < 0)
            return -EIO;
        version = 3;
    }
    if (version == 3) { /* schema 4: nodes are documents of kind "node" */
        if (exec(db, "BEGIN") < 0 ||
            exec(db, "INSERT INTO resources (kind, id, doc, updated) SELECT 'node', name, doc, "
                     "updated FROM nodes") < 0 ||
            exec(db, "DROP TABLE nodes") < 0 || exec(db, "PRAGMA user_version=4") < 0 ||
            exec(db, "COMMIT") < 0)
            return -EIO;
    }
    return 0;
}

int tld_store_open(struct tld *t)
{
    struct tld_store *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    int r = store_open(t, &s->db);
    if (r < 0) {
        sqlite3_close(s->db);
        free(s);
        return r;
    }
    t->store = s;
    return 0;
}

/* The kept statement for sql, reset, or NULL. */
static sqlite3_stmt *kept(struct tld *t, sqlite3_stmt **slot, const char *sql)
{
    if (*slot) {
        sqlite3_reset(*slot);
        sqlite3_clear_bindings(*slot);
        return *slot;
    }
    if (sqlite3_prepare_v3(t->store->db, sql, -1, SQLITE_PREPARE_PERSISTENT, slot, NULL) !=
        SQLITE_OK) {
        tld_log("store: %s: %s", sql, sqlite3_errmsg(t->store->db));
        *slot = NULL;
    }
    return *slot;
}

void tld_store_close(struct tld *t)
{
    struct tld_store *s = t->store;
    if (!s)
        return;
    sqlite3_finalize(s->put);
    sqlite3_finalize(s->attestation);
    sqlite3_finalize(s->next_id);
    sqlite3_close(s->db);
    free(s);
    t->store = NULL;
}

/* ---- documents ---- */

int tld_store_resource_put(struct tld *t, const char *kind, const char *id, const json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT);
    if (!text)
        return -ENOMEM;
    int r = -EIO;
    sqlite3_stmt *st = kept(t, &t->store->put,
                            "INSERT INTO resources (kind, id, doc, updated) VALUES (?1, ?2, ?3, "
                            "?4) ON CONFLICT(kind, id) DO UPDATE SET doc = ?3, updated = ?4");
    if (st) {
        sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, tld_now());
        if (sqlite3_step(st) == SQLITE_DONE)
            r = 0;
        else
            tld_log("store: saving %s %s: %s", kind, id, sqlite3_errmsg(t->store->db));
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    free(text);
    return r;
}

int tld_store_resource_delete(struct tld *t, const char *kind, const char *id)
{
    sqlite3_stmt *st;
    int r = -EIO;
    if (sqlite3_prepare_v2(t->store->db, "DELETE FROM resources WHERE kind = ?1 AND id = ?2", -1,
                           &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_DONE)
            r = 0;
        sqlite3_finalize(st);
    }
    return r;
}

int tld_store_resource_each(struct tld *t, const char *kind,
                            int (*each)(void *ctx, const char *id, json_t *doc), void *ctx)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(t->store->db,
                           "SELECT id, doc FROM resources WHERE kind = ?1 ORDER BY id", -1, &st,
                           NULL) != SQLITE_OK)
        return -EIO;
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    int r = 0;
    while (r >= 0 && sqlite3_step(st) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        const char *text = (const char *)sqlite3_column_text(st, 1);
        json_t *doc = text ? json_loads(text, 0, NULL) : NULL;
        if (!json_is_object(doc)) {
            json_decref(doc);
            doc = NULL;
        }
        r = each(ctx, id ? id : "?", doc);
        json_decref(doc);
    }
    sqlite3_finalize(st);
    return r < 0 ? r : 0;
}

static int append(void *ctx, const char *id, json_t *doc)
{
    struct {
        json_t *out;
        const char *kind;
    } *a = ctx;
    (void)id;
    if (doc)
        json_array_append(a->out, doc);
    else
        tld_log("store: a %s record is not JSON; skipped", a->kind);
    return 0;
}

json_t *tld_store_resources(struct tld *t, const char *kind)
{
    struct {
        json_t *out;
        const char *kind;
    } a = {json_array(), kind};
    tld_store_resource_each(t, kind, append, &a);
    return a.out;
}

int tld_store_begin(struct tld *t)
{
    return exec(t->store->db, "BEGIN");
}

int tld_store_commit(struct tld *t)
{
    if (exec(t->store->db, "COMMIT") == 0)
        return 0;
    exec(t->store->db, "ROLLBACK");
    return -EIO;
}

void tld_store_rollback(struct tld *t)
{
    exec(t->store->db, "ROLLBACK");
}

/* ---- attestations and alerts ---- */

int tld_store_attestation_next_id(struct tld *t, long long *id)
{
    sqlite3_stmt *st =
        kept(t, &t->store->next_id, "SELECT seq FROM sqlite_sequence WHERE name = 'attestations'");
    if (!st)
        return -EIO;
    int rc = sqlite3_step(st);
    *id = (rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0) + 1;
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -EIO;
}

int tld_store_attestation_add(struct tld *t, const char *node, const char *verdict, json_t *doc,
                              long long *id)
{
    char *text = json_dumps(doc, JSON_COMPACT);
    if (!text)
        return -ENOMEM;
    int r = -EIO;
    sqlite3_stmt *st = kept(t, &t->store->attestation,
                            "INSERT INTO attestations (id, node, at, verdict, doc) VALUES (?5, ?1, "
                            "?2, ?3, ?4)");
    if (st) {
        sqlite3_bind_text(st, 1, node, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, tld_now());
        sqlite3_bind_text(st, 3, verdict, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, text, -1, SQLITE_STATIC);
        if (*id > 0) /* else NULL: the next one */
            sqlite3_bind_int64(st, 5, *id);
        if (sqlite3_step(st) == SQLITE_DONE) {
            *id = sqlite3_last_insert_rowid(t->store->db);
            r = 0;
        } else {
            tld_log("store: attestation of %s: %s", node, sqlite3_errmsg(t->store->db));
        }
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    free(text);
    return r;
}

/* Rows of "SELECT id, doc ..." as an array of their docs with "id" added. */
static json_t *rows(struct tld *t, const char *sql, const char *node, const char *uuid,
                    long long id, int limit)
{
    sqlite3_stmt *st;
    json_t *out = json_array();
    if (sqlite3_prepare_v2(t->store->db, sql, -1, &st, NULL) != SQLITE_OK)
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
        json_t *doc = json_loads((const char *)sqlite3_column_text(st, 1), 0, NULL);
        if (!doc)
            continue;
        json_object_set_new(doc, "id", json_integer(sqlite3_column_int64(st, 0)));
        if (sqlite3_column_count(st) > 2)
            json_object_set_new(doc, "acknowledged", json_boolean(sqlite3_column_int(st, 2)));
        json_array_append_new(out, doc);
    }
    sqlite3_finalize(st);
    return out;
}

/* A node's records: those of its identity when the node exists (uuid),
 * else every record under the name (a deleted node's history). */
#define BY_NODE "node = :node AND (:uuid IS NULL OR json_extract(doc, '$.node_uuid') = :uuid)"

json_t *tld_store_attestations(struct tld *t, const char *node, const char *uuid, int limit)
{
    return node ? rows(t,
                       "SELECT id, doc FROM attestations WHERE " BY_NODE
                       " ORDER BY id DESC LIMIT :limit",
                       node, uuid, 0, limit)
                : rows(t, "SELECT id, doc FROM attestations ORDER BY id DESC LIMIT :limit", NULL,
                       NULL, 0, limit);
}

json_t *tld_store_attestation_get(struct tld *t, long long id)
{
    json_t *a = rows(t, "SELECT id, doc FROM attestations WHERE id = :id", NULL, NULL, id, 1);
    json_t *one = json_incref(json_array_get(a, 0));
    json_decref(a);
    return one;
}

json_t *tld_store_alert_find(struct tld *t, const char *node, const char *uuid, const char *boot,
                             long long *id, bool *acked)
{
    sqlite3_stmt *st;
    json_t *doc = NULL;
    *id = 0;
    *acked = false;
    if (sqlite3_prepare_v2(t->store->db,
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

int tld_store_alert_put(struct tld *t, const char *node, const char *boot, const json_t *doc,
                        long long *id, bool reopen)
{
    char *text = json_dumps(doc, JSON_COMPACT);
    if (!text)
        return -ENOMEM;
    sqlite3_stmt *st;
    int r = -EIO;
    const char *sql =
        *id ? (reopen ? "UPDATE alerts SET doc = ?3, at = ?4, acknowledged = 0 WHERE id = ?5"
                      : "UPDATE alerts SET doc = ?3, at = ?4 WHERE id = ?5")
            : "INSERT INTO alerts (node, boot, doc, at) VALUES (?1, ?2, ?3, ?4)";
    if (sqlite3_prepare_v2(t->store->db, sql, -1, &st, NULL) == SQLITE_OK) {
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
                *id = sqlite3_last_insert_rowid(t->store->db);
            r = 0;
        }
        sqlite3_finalize(st);
    }
    free(text);
    return r;
}

json_t *tld_store_alerts(struct tld *t, const char *node, const char *uuid, bool all)
{
    if (node)
        return rows(t,
                    all ? "SELECT id, doc, acknowledged FROM alerts WHERE " BY_NODE
                          " ORDER BY id DESC"
                        : "SELECT id, doc, acknowledged FROM alerts WHERE " BY_NODE
                          " AND acknowledged = 0 ORDER BY id DESC",
                    node, uuid, 0, 0);
    return rows(t,
                all ? "SELECT id, doc, acknowledged FROM alerts ORDER BY id DESC"
                    : "SELECT id, doc, acknowledged FROM alerts WHERE acknowledged = 0 ORDER BY "
                      "id DESC",
                NULL, NULL, 0, 0);
}

json_t *tld_store_alert_get(struct tld *t, long long id)
{
    json_t *a =
        rows(t, "SELECT id, doc, acknowledged FROM alerts WHERE id = :id", NULL, NULL, id, 0);
    json_t *one = json_incref(json_array_get(a, 0));
    json_decref(a);
    return one;
}

int tld_store_alerts_open(struct tld *t, uint64_t *n)
{
    sqlite3_stmt *st;
    int r = -EIO;
    *n = 0;
    if (sqlite3_prepare_v2(t->store->db, "SELECT COUNT(*) FROM alerts WHERE acknowledged = 0", -1,
                           &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) {
            *n = (uint64_t)sqlite3_column_int64(st, 0);
            r = 0;
        }
        sqlite3_finalize(st);
    }
    return r;
}

int tld_store_alert_ack(struct tld *t, long long id)
{
    sqlite3_stmt *st;
    int r = -EIO;
    if (sqlite3_prepare_v2(t->store->db, "UPDATE alerts SET acknowledged = 1 WHERE id = ?1", -1,
                           &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, id);
        if (sqlite3_step(st) == SQLITE_DONE)
            r = sqlite3_changes(t->store->db) ? 0 : -ENOENT;
        sqlite3_finalize(st);
    }
    return r;
}
