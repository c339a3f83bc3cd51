/* Unit tests for src/tld/store.c, tld's store of documents, attestations
 * and alerts, without a daemon: a store opened in a temporary directory,
 * SQLite's tld.db there, or, with TL_STORE set to a PostgreSQL conninfo
 * (tests/lib/pg.sh runs this test so: test_tld_store_pg), that database,
 * emptied before each test. Both engines meet the same assertions.
 *
 * What is asserted:
 *  - documents: put, get back by kind in key order, overwrite, delete;
 *    a kind sees only its own; _each stops at the first negative return;
 *  - a transaction rolled back leaves nothing;
 *  - attestations: the next id is the AUTOINCREMENT sequence + 1, a
 *    reserved id is the one written, lists are newest first, narrowed by
 *    node and node identity (uuid);
 *  - retention (tld_store_prune, on a second connection): each node keeps
 *    its newest N and every failure with its evidence; a pass visits only
 *    the nodes with attestations since the last pass's newest id;
 *  - group commit: ids from its counter, joined records and documents
 *    written in one transaction at the first wait, any other call
 *    writing the queue first, the counter following the store's sequence
 *    after a record written the other way;
 *  - alerts: one per (node, boot), found back, acknowledged, reopened;
 *  - an empty store is migrated to schema 4 (PostgreSQL: schema_version
 *    has its row, the tables exist), once: a reopen migrates nothing;
 *  - SQLite: a schema-3 store (nodes in their own table) is migrated: its
 *    nodes become documents of kind "node", the schema is 4;
 *  - a store of a newer schema is refused (-EPROTO);
 *  - PostgreSQL: a connection the server ended is made again (a write
 *    outside a transaction succeeds; a transaction it cut fails to commit
 *    and leaves nothing);
 *  - what was written survives a close and a reopen. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <errno.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tl/util.h"
#include "tld.h"

struct fixture {
    char dir[64];
    struct tld t;
};

/* TL_STORE names a PostgreSQL database: the tests run against it. */
static bool on_pg(void)
{
    const char *s = getenv("TL_STORE");
    return s && strchr(s, '=') != NULL;
}

/* A statement on the test's own connection to TL_STORE's database; the
 * first column of its first row (a new string, "" when none). */
static char *pg_sql(const char *sql)
{
    PGconn *c = PQconnectdb(getenv("TL_STORE"));
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PGresult *res = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    char *out = strdup(st == PGRES_TUPLES_OK && PQntuples(res) > 0 && !PQgetisnull(res, 0, 0)
                           ? PQgetvalue(res, 0, 0)
                           : "");
    PQclear(res);
    PQfinish(c);
    return out;
}

static void pg_empty(void)
{
    free(pg_sql("SET client_min_messages TO warning; DROP SCHEMA public CASCADE; CREATE SCHEMA "
                "public"));
}

static void rm_store(const char *dir)
{
    const char *files[] = {"tld.db", "tld.db-wal", "tld.db-shm"};
    char path[128];
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/test_tld_store.XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->t.home, sizeof(f->t.home), "%s", f->dir);
    *state = f;
    if (on_pg())
        pg_empty();
    return tld_store_open(&f->t);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    tld_store_close(&f->t);
    rm_store(f->dir);
    free(f);
    return 0;
}

static json_t *doc(const char *name, int count)
{
    return json_pack("{s:s, s:i}", "name", name, "count", count);
}

static int put(struct tld *t, const char *kind, const char *id, int count)
{
    json_t *d = doc(id, count);
    int r = tld_store_resource_put(t, kind, id, d);
    json_decref(d);
    return r;
}

static void test_documents(void **state)
{
    struct tld *t = &((struct fixture *)*state)->t;
    assert_int_equal(put(t, "pool", "g/c/b", 3), 0);
    assert_int_equal(put(t, "pool", "g/c/a", 1), 0);
    assert_int_equal(put(t, "group", "g", 7), 0);
    json_t *pools = tld_store_resources(t, "pool");
    assert_int_equal(json_array_size(pools), 2);
    /* key order, not insertion order */
    assert_string_equal(json_string_value(json_object_get(json_array_get(pools, 0), "name")),
                        "g/c/a");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(pools, 1), "count")), 3);
    json_decref(pools);
    /* a put of the same key replaces it */
    assert_int_equal(put(t, "pool", "g/c/b", 5), 0);
    pools = tld_store_resources(t, "pool");
    assert_int_equal(json_array_size(pools), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(pools, 1), "count")), 5);
    json_decref(pools);
    assert_int_equal(tld_store_resource_delete(t, "pool", "g/c/a"), 0);
    pools = tld_store_resources(t, "pool");
    assert_int_equal(json_array_size(pools), 1);
    json_decref(pools);
    json_t *groups = tld_store_resources(t, "group");
    assert_int_equal(json_array_size(groups), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(groups, 0), "count")), 7);
    json_decref(groups);
    json_t *none = tld_store_resources(t, "cluster");
    assert_int_equal(json_array_size(none), 0);
    json_decref(none);
}

struct seen {
    int calls;
    char ids[4][16];
};

static int stop_at_second(void *ctx, const char *id, json_t *d)
{
    struct seen *s = ctx;
    assert_non_null(d);
    snprintf(s->ids[s->calls], sizeof(s->ids[0]), "%s", id);
    return ++s->calls == 2 ? -ECANCELED : 0;
}

static void test_each_stops(void **state)
{
    struct tld *t = &((struct fixture *)*state)->t;
    for (int i = 0; i < 3; i++) {
        char id[8];
        snprintf(id, sizeof(id), "n%d", i);
        assert_int_equal(put(t, "node", id, i), 0);
    }
    struct seen s = {0};
    assert_int_equal(tld_store_resource_each(t, "node", stop_at_second, &s), -ECANCELED);
    assert_int_equal(s.calls, 2);
    assert_string_equal(s.ids[0], "n0");
    assert_string_equal(s.ids[1], "n1");
}

static void test_rollback(void **state)
{
    struct tld *t = &((struct fixture *)*state)->t;
    assert_int_equal(tld_store_begin(t), 0);
    assert_int_equal(put(t, "group", "gone", 1), 0);
    tld_store_rollback(t);
    json_t *groups = tld_store_resources(t, "group");
    assert_int_equal(json_array_size(groups), 0);
    json_decref(groups);
    assert_int_equal(tld_store_begin(t), 0);
    assert_int_equal(put(t, "group", "kept", 1), 0);
    assert_int_equal(tld_store_commit(t), 0);
    groups = tld_store_resources(t, "group");
    assert_int_equal(json_array_size(groups), 1);
    json_decref(groups);
}

static long long add(struct tld *t, const char *node, const char *uuid, const char *verdict,
                     long long id)
{
    json_t *d = json_pack("{s:s, s:s, s:s}", "node", node, "node_uuid", uuid, "verdict", verdict);
    assert_int_equal(tld_store_attestation_add(t, node, verdict, d, &id), 0);
    json_decref(d);
    return id;
}

static void test_attestations(void **state)
{
    struct tld *t = &((struct fixture *)*state)->t;
    long long next = 0;
    assert_int_equal(tld_store_attestation_next_id(t, &next), 0);
    assert_int_equal(next, 1);
    /* a reserved id is the one written */
    assert_int_equal(add(t, "a", "uuid-a1", "pass", next), 1);
    assert_int_equal(tld_store_attestation_next_id(t, &next), 0);
    assert_int_equal(next, 2);
    assert_int_equal(add(t, "a", "uuid-a1", "fail", 0), 2);
    assert_int_equal(add(t, "b", "uuid-b", "pass", 0), 3);
    assert_int_equal(add(t, "a", "uuid-a2", "pass", 0), 4); /* a new node of the same name */
    assert_int_equal(tld_store_attestation_next_id(t, &next), 0);
    assert_int_equal(next, 5);

    json_t *all = tld_store_attestations(t, NULL, NULL, 10);
    assert_int_equal(json_array_size(all), 4);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(all, 0), "id")), 4);
    json_decref(all);
    json_t *a = tld_store_attestations(t, "a", NULL, 10); /* every record under the name */
    assert_int_equal(json_array_size(a), 3);
    json_decref(a);
    json_t *a1 = tld_store_attestations(t, "a", "uuid-a1", 10); /* one identity */
    assert_int_equal(json_array_size(a1), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(a1, 0), "id")), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(a1, 0), "verdict")),
                        "fail");
    json_decref(a1);
    json_t *one = tld_store_attestations(t, "a", NULL, 1);
    assert_int_equal(json_array_size(one), 1);
    json_decref(one);
    json_t *three = tld_store_attestation_get(t, 3);
    assert_string_equal(json_string_value(json_object_get(three, "node")), "b");
    assert_int_equal(json_integer_value(json_object_get(three, "id")), 3);
    json_decref(three);
    assert_null(tld_store_attestation_get(t, 99));
}

/* The ids of a node's attestations, newest first, as "id verdict," text. */
static void node_ids(struct tld *t, const char *node, char *out, size_t size)
{
    json_t *a = tld_store_attestations(t, node, NULL, 1000);
    size_t i, k = 0;
    json_t *r;
    out[0] = 0;
    json_array_foreach(a, i, r)
    {
        k += (size_t)snprintf(
            out + k, size - k, "%lld%s,", (long long)json_integer_value(json_object_get(r, "id")),
            strcmp(json_string_value(json_object_get(r, "verdict")), "fail") == 0 ? "f" : "");
        assert_true(k < size);
    }
    json_decref(a);
}

/* Retention, on a second connection as tld's thread has it: each node
 * keeps its newest `keep` attestations and every failure (with its
 * evidence); a pass visits only nodes with attestations after the last
 * pass's newest id. */
static void test_prune(void **state)
{
    struct fixture *f = *state;
    struct tld *t = &f->t;
    /* a: ids 1-12, failures at 3 and 9; b: 13-14; c: 15 (one, a failure) */
    for (int i = 1; i <= 12; i++) {
        const char *v = i == 3 || i == 9 ? "fail" : "pass";
        json_t *d = json_pack("{s:s, s:s, s:s}", "node", "a", "node_uuid", "uuid-a", "verdict", v);
        if (strcmp(v, "fail") == 0)
            json_object_set_new(d, "evidence", json_pack("{s:s}", "quote", "AAAA"));
        long long id = 0;
        assert_int_equal(tld_store_attestation_add(t, "a", v, d, &id), 0);
        assert_int_equal(id, i);
        json_decref(d);
    }
    assert_int_equal(add(t, "b", "uuid-b", "pass", 0), 13);
    assert_int_equal(add(t, "b", "uuid-b", "pass", 0), 14);
    assert_int_equal(add(t, "c", "uuid-c", "fail", 0), 15);

    struct tld_store *other = NULL;
    assert_int_equal(tld_store_open_other(f->dir, &other), 0);
    long long upto = 0;
    uint64_t deleted = 0;
    assert_int_equal(tld_store_prune(other, 0, 0, &upto, &deleted), -EINVAL);
    assert_int_equal(tld_store_prune(other, 0, 4, &upto, &deleted), 0);
    assert_int_equal(upto, 15);
    /* a: the newest 4 (12, 11, 10, 9f) and the older failure 3; 1, 2, 4-8 gone */
    assert_int_equal(deleted, 7);
    char ids[256];
    node_ids(t, "a", ids, sizeof(ids));
    assert_string_equal(ids, "12,11,10,9f,3f,");
    node_ids(t, "b", ids, sizeof(ids));
    assert_string_equal(ids, "14,13,");
    node_ids(t, "c", ids, sizeof(ids));
    assert_string_equal(ids, "15f,");
    /* the failure keeps its evidence */
    json_t *three = tld_store_attestation_get(t, 3);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(three, "evidence"), "quote")), "AAAA");
    json_decref(three);

    /* nothing new: nothing visited, nothing deleted */
    assert_int_equal(tld_store_prune(other, upto, 4, &upto, &deleted), 0);
    assert_int_equal(upto, 15);
    assert_int_equal(deleted, 7);
    /* two more of a's, one of b's, keep 3: only a and b are visited; a
     * loses 10 and 11, b (three) nothing */
    assert_int_equal(add(t, "a", "uuid-a", "pass", 0), 16);
    assert_int_equal(add(t, "a", "uuid-a", "pass", 0), 17);
    assert_int_equal(add(t, "b", "uuid-b", "pass", 0), 18);
    assert_int_equal(tld_store_prune(other, upto, 3, &upto, &deleted), 0);
    assert_int_equal(upto, 18);
    node_ids(t, "a", ids, sizeof(ids));
    assert_string_equal(ids, "17,16,12,9f,3f,");
    node_ids(t, "b", ids, sizeof(ids));
    assert_string_equal(ids, "18,14,13,");
    assert_int_equal(deleted, 9);
    /* keep 1: the newest of each, and the failures */
    assert_int_equal(tld_store_prune(other, 0, 1, &upto, &deleted), 0);
    node_ids(t, "a", ids, sizeof(ids));
    assert_string_equal(ids, "17,9f,3f,");
    node_ids(t, "b", ids, sizeof(ids));
    assert_string_equal(ids, "18,");
    node_ids(t, "c", ids, sizeof(ids));
    assert_string_equal(ids, "15f,");
    assert_int_equal(deleted, 13);
    tld_store_close_other(other);
}

/* Group commit: ids from the group's counter, records and documents
 * written at the first wait, in order with writes made the other way. */
static void test_group(void **state)
{
    struct tld *t = &((struct fixture *)*state)->t;
    assert_int_equal(add(t, "a", "uuid-a", "pass", 0), 1);
    long long id1 = 0, id2 = 0, id3 = 0;
    assert_int_equal(tld_store_group_id(t, &id1), 0);
    assert_int_equal(id1, 2);
    assert_int_equal(tld_store_group_id(t, &id2), 0);
    assert_int_equal(id2, 3);
    json_t *r1 =
        json_pack("{s:s, s:s, s:s}", "node", "a", "node_uuid", "uuid-a", "verdict", "pass");
    json_t *r2 =
        json_pack("{s:s, s:s, s:s}", "node", "b", "node_uuid", "uuid-b", "verdict", "pass");
    json_t *d1 = doc("a", 1);
    struct tld_store_pending *p1 = NULL, *p2 = NULL;
    assert_int_equal(tld_store_group_join(t, id1, "a", "pass", r1, "node", "a", d1, &p1), 0);
    assert_int_equal(tld_store_group_join(t, id2, "b", "pass", r2, NULL, NULL, NULL, &p2), 0);
    /* the first wait writes both, in one transaction */
    assert_int_equal(tld_store_group_wait(t, p1), 0);
    assert_int_equal(tld_store_group_wait(t, p2), 0);
    uint64_t batches = 0, grouped = 0;
    tld_store_group_stats(t, &batches, &grouped);
    assert_int_equal(batches, 1);
    assert_int_equal(grouped, 2);
    json_t *two = tld_store_attestation_get(t, 2);
    assert_string_equal(json_string_value(json_object_get(two, "node")), "a");
    json_decref(two);
    json_t *nodes = tld_store_resources(t, "node");
    assert_int_equal(json_array_size(nodes), 1);
    json_decref(nodes);
    /* a record written the other way moves the store's sequence: the
     * group's counter follows it */
    assert_int_equal(add(t, "c", "uuid-c", "fail", 0), 4);
    assert_int_equal(tld_store_group_id(t, &id3), 0);
    assert_int_equal(id3, 5);
    struct tld_store_pending *p3 = NULL;
    assert_int_equal(tld_store_group_join(t, id3, "a", "pass", r1, NULL, NULL, NULL, &p3), 0);
    /* any other store call lets the queue be written first: the list sees 5 */
    json_t *all = tld_store_attestations(t, NULL, NULL, 10);
    assert_int_equal(json_array_size(all), 5);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(all, 0), "id")), 5);
    json_decref(all);
    assert_int_equal(tld_store_group_wait(t, p3), 0);
    long long next = 0;
    assert_int_equal(tld_store_attestation_next_id(t, &next), 0);
    assert_int_equal(next, 6);
    json_decref(r1);
    json_decref(r2);
    json_decref(d1);
}

static void test_alerts(void **state)
{
    struct tld *t = &((struct fixture *)*state)->t;
    long long id = 0, found = 0;
    bool acked = true;
    assert_null(tld_store_alert_find(t, "a", "uuid-a", "1:0:0", &found, &acked));
    assert_int_equal(found, 0);
    json_t *d =
        json_pack("{s:s, s:s, s:[s]}", "node", "a", "node_uuid", "uuid-a", "components", "grub");
    assert_int_equal(tld_store_alert_put(t, "a", "1:0:0", d, &id, false), 0);
    assert_int_equal(id, 1);
    json_t *back = tld_store_alert_find(t, "a", "uuid-a", "1:0:0", &found, &acked);
    assert_non_null(back);
    assert_int_equal(found, 1);
    assert_false(acked);
    assert_string_equal(json_string_value(json_array_get(json_object_get(back, "components"), 0)),
                        "grub");
    json_decref(back);
    /* another identity's boot of the same name is not this alert */
    assert_null(tld_store_alert_find(t, "a", "uuid-other", "1:0:0", &found, &acked));

    assert_int_equal(tld_store_alert_ack(t, 1), 0);
    assert_int_equal(tld_store_alert_ack(t, 42), -ENOENT);
    json_t *open_ = tld_store_alerts(t, "a", "uuid-a", false);
    assert_int_equal(json_array_size(open_), 0);
    json_decref(open_);
    json_t *every = tld_store_alerts(t, "a", "uuid-a", true);
    assert_int_equal(json_array_size(every), 1);
    assert_true(json_is_true(json_object_get(json_array_get(every, 0), "acknowledged")));
    json_decref(every);
    /* reopened by a new failure */
    assert_int_equal(tld_store_alert_put(t, "a", "1:0:0", d, &id, true), 0);
    assert_int_equal(id, 1);
    json_t *one = tld_store_alert_get(t, 1);
    assert_false(json_is_true(json_object_get(one, "acknowledged")));
    json_decref(one);
    json_decref(d);
}

static void test_reopen(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(put(&f->t, "node", "kept", 9), 0);
    add(&f->t, "kept", "u", "pass", 0);
    tld_store_close(&f->t);
    assert_null(f->t.store);
    assert_int_equal(tld_store_open(&f->t), 0);
    json_t *nodes = tld_store_resources(&f->t, "node");
    assert_int_equal(json_array_size(nodes), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(nodes, 0), "count")), 9);
    json_decref(nodes);
    long long next = 0;
    assert_int_equal(tld_store_attestation_next_id(&f->t, &next), 0);
    assert_int_equal(next, 2);
}

/* PostgreSQL: tld's connection ended by the server (a restart, a
 * failover): outside a transaction the next call reconnects and succeeds;
 * inside one the transaction is lost, its commit fails and nothing of it
 * is stored. */
static void test_reconnect(void **state)
{
    struct tld *t = &((struct fixture *)*state)->t;
    const char *kill_tld = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
                           "application_name = 'tld'";
    assert_int_equal(put(t, "group", "before", 1), 0);
    char *n = pg_sql(kill_tld);
    assert_string_equal(n, "1");
    free(n);
    assert_int_equal(put(t, "group", "after", 2), 0); /* reconnected */
    json_t *groups = tld_store_resources(t, "group");
    assert_int_equal(json_array_size(groups), 2);
    json_decref(groups);

    assert_int_equal(tld_store_begin(t), 0);
    assert_int_equal(put(t, "group", "lost", 3), 0);
    n = pg_sql(kill_tld);
    assert_string_equal(n, "1");
    free(n);
    assert_int_equal(put(t, "group", "lost-too", 4), -EIO);
    assert_int_equal(tld_store_commit(t), -EIO);
    groups = tld_store_resources(t, "group"); /* reconnected again */
    assert_int_equal(json_array_size(groups), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(groups, 0), "name")),
                        "after");
    json_decref(groups);
    long long next = 0; /* the statements are prepared in the new session too */
    assert_int_equal(tld_store_attestation_next_id(t, &next), 0);
    assert_int_equal(next, 1);
}

static int user_version(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int v = -1;
    if (sqlite3_open(path, &db) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* A new directory (dir) whose tld.db (path) an earlier or later tld wrote
 * with sql; a struct tld at home there, its store not opened. */
static struct tld *written_by(const char *sql, char dir[64], char path[128])
{
    snprintf(dir, 64, "/tmp/test_tld_store.XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, 128, "%s/tld.db", dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    struct tld *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    snprintf(t->home, sizeof(t->home), "%s", dir);
    return t;
}

/* A store written by a tld of schema 3: nodes in their own table. */
static void test_migration_from_3(void **state)
{
    (void)state;
    char dir[64], path[128];
    struct tld *t =
        written_by("CREATE TABLE nodes (name TEXT PRIMARY KEY, doc TEXT NOT NULL, updated "
                   "INTEGER NOT NULL);"
                   "CREATE TABLE attestations (id INTEGER PRIMARY KEY AUTOINCREMENT, node TEXT "
                   "NOT NULL, at INTEGER NOT NULL, verdict TEXT NOT NULL, doc TEXT NOT NULL);"
                   "CREATE TABLE alerts (id INTEGER PRIMARY KEY AUTOINCREMENT, node TEXT NOT "
                   "NULL, boot TEXT NOT NULL, at INTEGER NOT NULL, acknowledged INTEGER NOT "
                   "NULL DEFAULT 0, doc TEXT NOT NULL, UNIQUE (node, boot));"
                   "CREATE TABLE resources (kind TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT "
                   "NULL, updated INTEGER NOT NULL, PRIMARY KEY (kind, id));"
                   "INSERT INTO nodes VALUES ('web-2', '{\"name\":\"web-2\",\"boots\":4}', 1);"
                   "INSERT INTO nodes VALUES ('web-1', '{\"name\":\"web-1\",\"boots\":1}', 1);"
                   "INSERT INTO resources VALUES ('group', 'g', '{\"name\":\"g\"}', 1);"
                   "PRAGMA user_version=3;",
                   dir, path);
    assert_int_equal(tld_store_open(t), 0);
    json_t *nodes = tld_store_resources(t, "node");
    assert_int_equal(json_array_size(nodes), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(nodes, 0), "name")),
                        "web-1");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(nodes, 1), "boots")), 4);
    json_decref(nodes);
    json_t *groups = tld_store_resources(t, "group");
    assert_int_equal(json_array_size(groups), 1);
    json_decref(groups);
    tld_store_close(t);
    assert_int_equal(user_version(path), 5);
    free(t);
    rm_store(dir);
}

/* An empty store is brought to schema 5, once. */
static void test_migration_from_empty(void **state)
{
    struct fixture *f = *state;
    if (!on_pg()) {
        char path[128];
        snprintf(path, sizeof(path), "%s/tld.db", f->dir);
        assert_int_equal(user_version(path), 5);
        return;
    }
    char *v = pg_sql("SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_version");
    assert_string_equal(v, "4,5");
    free(v);
    char *tables = pg_sql("SELECT string_agg(relname::text, ',' ORDER BY relname) FROM pg_class "
                          "WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace");
    assert_string_equal(tables, "alerts,attestations,resources,schema_version,tickets");
    free(tables);
    tld_store_close(&f->t);
    assert_int_equal(tld_store_open(&f->t), 0);
    v = pg_sql("SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_version");
    assert_string_equal(v, "4,5"); /* not migrated again */
    free(v);
}

/* Replicas' tickets and lease (PostgreSQL; SQLite is one tld's: none). A
 * ticket is taken once, by its node, before it expires; the lease is one
 * store's at a time and moves when its holder's connection ends. */
static void test_replicas(void **state)
{
    struct fixture *f = *state;
    if (!on_pg()) {
        assert_false(tld_store_shared(&f->t));
        assert_int_equal(tld_store_lease_try(&f->t), 1); /* always the reconciler */
        return;
    }
    struct tld *t = &f->t;
    assert_true(tld_store_shared(t));
    long long now = tld_now();
    char *data = NULL;
    assert_int_equal(tld_store_ticket_put(t, "nonce", "aa01", "web-1", now + 60, NULL), 0);
    assert_int_equal(tld_store_ticket_put(t, "nonce", "aa01", "web-1", now + 60, NULL), -EIO);
    assert_int_equal(tld_store_ticket_put(t, "challenge", "cc01", "web-1", now + 60, "{\"k\":1}"),
                     0);
    assert_int_equal(tld_store_ticket_put(t, "nonce", "aa02", "web-1", now - 1, NULL), 0);
    /* another node's, another kind's: not taken, and still there */
    assert_int_equal(tld_store_ticket_take(t, "nonce", "aa01", "web-2", &data), -ENOENT);
    assert_int_equal(tld_store_ticket_take(t, "challenge", "aa01", "web-1", &data), -ENOENT);
    assert_int_equal(tld_store_ticket_take(t, "nonce", "aa01", "web-1", &data), 0);
    assert_null(data);
    assert_int_equal(tld_store_ticket_take(t, "nonce", "aa01", "web-1", &data), -ENOENT);
    assert_int_equal(tld_store_ticket_take(t, "nonce", "aa02", "web-1", &data),
                     -ENOENT); /* expired */
    assert_int_equal(tld_store_ticket_take(t, "challenge", "cc01", "web-1", &data), 0);
    assert_string_equal(data, "{\"k\":1}");
    free(data);
    /* a second tld on the same store sees the same tickets */
    struct tld other = {0};
    assert_int_equal(tld_store_open(&other), 0);
    assert_int_equal(tld_store_ticket_put(&other, "nonce", "aa03", "web-1", now + 60, NULL), 0);
    assert_int_equal(tld_store_ticket_take(t, "nonce", "aa03", "web-1", &data), 0);
    assert_int_equal(tld_store_ticket_take(&other, "nonce", "aa03", "web-1", &data), -ENOENT);
    assert_int_equal(tld_store_tickets_prune(t, now), 0);
    char *left = pg_sql("SELECT string_agg(value, ',' ORDER BY value) FROM tickets");
    assert_string_equal(left, "aa01,aa03,cc01"); /* aa02 expired before now */
    free(left);
    /* the lease: one holder; it moves when the holder's connection ends */
    assert_int_equal(tld_store_lease_try(t), 1);
    assert_int_equal(tld_store_lease_try(t), 1);
    assert_int_equal(tld_store_lease_try(&other), 0);
    tld_store_close(t);
    int held = 0; /* the server lets go once it has seen the connection end */
    for (int i = 0; i < 200 && held != 1; i++) {
        held = tld_store_lease_try(&other);
        if (held != 1)
            usleep(10 * 1000);
    }
    assert_int_equal(held, 1);
    assert_int_equal(tld_store_open(t), 0);
    assert_int_equal(tld_store_lease_try(t), 0);
    tld_store_close(&other);
}

/* A store from a newer tld is refused, not misread. */
static void test_newer_refused(void **state)
{
    (void)state;
    if (on_pg()) {
        pg_empty();
        free(pg_sql("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied "
                    "TIMESTAMPTZ NOT NULL DEFAULT now()); INSERT INTO schema_version (version) "
                    "VALUES (99)"));
        struct tld t = {0};
        assert_int_equal(tld_store_open(&t), -EPROTO);
        assert_null(t.store);
        char *tables = pg_sql("SELECT count(*) FROM pg_class WHERE relname = 'resources'");
        assert_string_equal(tables, "0"); /* nothing written */
        free(tables);
        return;
    }
    char dir[64], path[128];
    struct tld *t = written_by("PRAGMA user_version=99", dir, path);
    assert_int_equal(tld_store_open(t), -EPROTO);
    assert_null(t->store);
    free(t);
    rm_store(dir);
}

int main(void)
{
    struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_documents, setup, teardown),
        cmocka_unit_test_setup_teardown(test_each_stops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attestations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prune, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alerts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replicas, setup, teardown),
        cmocka_unit_test(test_newer_refused),
        /* SQLite's: PostgreSQL's first schema is 4 */
        cmocka_unit_test(test_migration_from_3),
        /* PostgreSQL's: a connection SQLite does not have */
        cmocka_unit_test_setup_teardown(test_reconnect, setup, teardown),
    };
    if (on_pg())
        tests[TL_ARRAY_SIZE(tests) - 2] = tests[TL_ARRAY_SIZE(tests) - 1];
    size_t n = TL_ARRAY_SIZE(tests) - 1;
    return _cmocka_run_group_tests(on_pg() ? "store (postgresql)" : "store (sqlite)", tests, n,
                                   NULL, NULL);
}
