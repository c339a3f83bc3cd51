/* The store's PostgreSQL engine (store.h), through libpq: chosen by
 * TL_STORE=postgresql://... (or a key=value conninfo, "host=/run/pg
 * dbname=tl"). One connection per tld, its statements prepared once per
 * session (again after a reconnect); the connection lost outside a
 * transaction is reset and the statement tried once more, lost inside one
 * fails the transaction (its commit returns -EIO).
 *
 * The schema is store.h's: documents as JSON text (byte for byte what tld
 * wrote, as SQLite keeps them; queries read a member with doc::json),
 * ids from identity columns (SQLite's AUTOINCREMENT), keys in the "C"
 * collation (SQLite's binary order, whatever the database's locale). The
 * version is the highest row of schema_version; migrations run under an
 * advisory lock so that tlds starting together migrate once.
 *
 * Durability: a write returns, and COMMIT returns, once the server has
 * answered it, which under the server's synchronous_commit (on by default)
 * is after the commit's WAL reached its disk (and a synchronous standby's,
 * when one is configured): an acknowledged change survives a kill -9 of
 * tld and a crash of the database server. tld does not change the
 * setting: the database's operator chooses it.
 *
 * Attestation ids: tld_store_attestation_next_id takes the sequence's next
 * value and keeps it until an attestation is written with it (a reserved
 * id another session can never get); a write with no id takes the
 * reserved one first, as SQLite's next id would be.
 *
 * Callers hold tld.lock; a mutex of the store's own keeps the connection
 * whole should a reader not (SQLite's FULLMUTEX did the same). */
#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "tl/util.h"
#include "tld.h"

enum pg_query {
    Q_PUT,
    Q_DELETE,
    Q_EACH,
    Q_NEXT_ID,
    Q_ADD,
    Q_ADD_ID,
    Q_SEQ_AT_LEAST,
    Q_ATTESTATIONS,
    Q_ATTESTATIONS_NODE,
    Q_ATTESTATION_GET,
    Q_ALERT_FIND,
    Q_ALERT_NEW,
    Q_ALERT_UPDATE,
    Q_ALERT_REOPEN,
    Q_ALERTS,
    Q_ALERT_GET,
    Q_ALERT_ACK,
    Q_ALERTS_OPEN,
    Q_PRUNE_NODES,
    Q_PRUNE_NODE,
    Q_GET,
    Q_GET_FOR_UPDATE,
    Q_TICKET_PUT,
    Q_TICKET_TAKE,
    Q_TICKETS_PRUNE,
    Q_N
};

#define ATTESTATION_SEQ "pg_get_serial_sequence('attestations', 'id')"
/* a node's records: those of its identity when the node exists ($2),
 * else every record under the name (a deleted node's history) */
#define BY_NODE "node = $1 AND ($2::text IS NULL OR doc::json->>'node_uuid' = $2)"

static const char *const pg_sql[Q_N] = {
    [Q_PUT] = "INSERT INTO resources (kind, id, doc, updated) VALUES ($1, $2, $3, $4) ON "
              "CONFLICT (kind, id) DO UPDATE SET doc = EXCLUDED.doc, updated = EXCLUDED.updated",
    [Q_DELETE] = "DELETE FROM resources WHERE kind = $1 AND id = $2",
    [Q_EACH] = "SELECT id, doc FROM resources WHERE kind = $1 ORDER BY id",
    [Q_NEXT_ID] = "SELECT nextval(" ATTESTATION_SEQ ")",
    [Q_ADD] = "INSERT INTO attestations (node, at, verdict, doc) VALUES ($1, $2, $3, $4) "
              "RETURNING id",
    [Q_ADD_ID] = "INSERT INTO attestations (id, node, at, verdict, doc) VALUES ($5, $1, $2, $3, "
                 "$4) RETURNING id",
    /* an id written by hand: the sequence moves past it */
    [Q_SEQ_AT_LEAST] = "SELECT setval(" ATTESTATION_SEQ ", GREATEST($1::bigint, "
                       "coalesce(pg_sequence_last_value(" ATTESTATION_SEQ "::regclass), 0)))",
    [Q_ATTESTATIONS] = "SELECT id, doc FROM attestations ORDER BY id DESC LIMIT $1",
    [Q_ATTESTATIONS_NODE] =
        "SELECT id, doc FROM attestations WHERE " BY_NODE " ORDER BY id DESC LIMIT $3",
    [Q_ATTESTATION_GET] = "SELECT id, doc FROM attestations WHERE id = $1",
    [Q_ALERT_FIND] = "SELECT id, doc, acknowledged FROM alerts WHERE node = $1 AND boot = $2 AND "
                     "doc::json->>'node_uuid' = $3",
    [Q_ALERT_NEW] = "INSERT INTO alerts (node, boot, doc, at) VALUES ($1, $2, $3, $4) RETURNING id",
    [Q_ALERT_UPDATE] = "UPDATE alerts SET doc = $1, at = $2 WHERE id = $3",
    [Q_ALERT_REOPEN] = "UPDATE alerts SET doc = $1, at = $2, acknowledged = 0 WHERE id = $3",
    /* $1 NULL: every node; $3: acknowledged ones too */
    [Q_ALERTS] = "SELECT id, doc, acknowledged FROM alerts WHERE ($1::text IS NULL OR (" BY_NODE
                 ")) AND ($3::boolean OR acknowledged = 0) ORDER BY id DESC",
    [Q_ALERT_GET] = "SELECT id, doc, acknowledged FROM alerts WHERE id = $1",
    [Q_ALERT_ACK] = "UPDATE alerts SET acknowledged = 1 WHERE id = $1",
    [Q_ALERTS_OPEN] = "SELECT COUNT(*) FROM alerts WHERE acknowledged = 0",
    [Q_PRUNE_NODES] = "SELECT node, max(id) FROM attestations WHERE id > $1 GROUP BY node",
    /* the $2-th newest id, counted from 0 (attestations_node's order): older passes go */
    [Q_PRUNE_NODE] = "DELETE FROM attestations WHERE node = $1 AND verdict <> 'fail' AND id < "
                     "(SELECT id FROM attestations WHERE node = $1 ORDER BY id DESC LIMIT 1 OFFSET "
                     "$2::bigint)",
    [Q_GET] = "SELECT doc FROM resources WHERE kind = $1 AND id = $2",
    [Q_GET_FOR_UPDATE] = "SELECT doc FROM resources WHERE kind = $1 AND id = $2 FOR UPDATE",
    [Q_TICKET_PUT] = "INSERT INTO tickets (value, kind, node, expires, data) VALUES ($1, $2, $3, "
                     "$4, $5)",
    /* exactly once: the row's lock makes a second taker wait for the
     * first's commit, then find it redeemed */
    [Q_TICKET_TAKE] = "UPDATE tickets SET redeemed = true WHERE value = $1 AND kind = $2 AND node "
                      "= $3 AND NOT redeemed AND expires >= $4 RETURNING data",
    [Q_TICKETS_PRUNE] = "DELETE FROM tickets WHERE expires < $1",
};

/* Schema 4 is PostgreSQL's first: what SQLite's 1-4 built, at once. */
static const struct tld_store_migration pg_migrations[] = {
    {4, "CREATE TABLE resources (kind TEXT COLLATE \"C\" NOT NULL, id TEXT COLLATE \"C\" NOT "
        "NULL, doc TEXT NOT NULL, updated BIGINT NOT NULL, PRIMARY KEY (kind, id));"
        "CREATE TABLE attestations (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, node "
        "TEXT COLLATE \"C\" NOT NULL, at BIGINT NOT NULL, verdict TEXT NOT NULL, doc TEXT NOT "
        "NULL);"
        "CREATE INDEX attestations_node ON attestations (node, id);"
        "CREATE TABLE alerts (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, node TEXT "
        "COLLATE \"C\" NOT NULL, boot TEXT COLLATE \"C\" NOT NULL, at BIGINT NOT NULL, "
        "acknowledged INTEGER NOT NULL DEFAULT 0, doc TEXT NOT NULL, UNIQUE (node, boot))"},
    {5, "CREATE TABLE tickets (value TEXT COLLATE \"C\" PRIMARY KEY, kind TEXT NOT NULL, node "
        "TEXT COLLATE \"C\" NOT NULL, expires BIGINT NOT NULL, redeemed BOOLEAN NOT NULL DEFAULT "
        "false, data TEXT)"},
};

/* pg_advisory_xact_lock's key: "tl" 16 (the issue), schema */
#define MIGRATION_LOCK "SELECT pg_advisory_xact_lock(7412160001)"
/* the reconciler's lease: a session lock on a connection of its own, let
 * go by the server when that connection ends (the tld died: the next
 * pg_try_advisory_lock of another tld takes it) */
#define LEASE_KEY "7412160002"

struct pg_store {
    struct tld_store base;
    PGconn *conn;
    pthread_mutex_t mu;    /* recursive: resource_each's callback may call back */
    bool prepared;         /* this session has pg_sql's statements */
    bool in_tx, tx_failed; /* a failed statement (or a lost connection) in it */
    bool tx_held;          /* pg_begin's hold of mu */
    long long reserved;    /* attestation_next_id's, not written yet (0: none) */
    char *conninfo;        /* for the lease's connection */
    PGconn *lease;         /* the lease's own connection, NULL: not opened (yet, or lost) */
    bool lease_held;
};

static struct pg_store *pg(struct tld_store *s)
{
    return (struct pg_store *)s;
}

static void pg_notice(void *arg, const char *message)
{
    (void)arg;
    size_t n = strlen(message);
    while (n && message[n - 1] == '\n')
        n--;
    tld_log("store (postgresql): %.*s", (int)n, message);
}

/* The connection's last error, one line: libpq's message ends in a
 * newline and may add a hint on another line. */
static const char *pg_error(struct pg_store *s, char *buf, size_t size)
{
    snprintf(buf, size, "%s", PQerrorMessage(s->conn));
    for (char *p = buf; *p; p++)
        if (*p == '\n' || *p == '\t')
            *p = ' ';
    size_t n = strlen(buf);
    while (n && buf[n - 1] == ' ')
        buf[--n] = '\0';
    return buf;
}
#define PG_ERROR(s) pg_error((s), (char[512]){0}, 512)

/* The session as tld wants it: warnings and worse in tld.log. */
static int pg_session(struct pg_store *s)
{
    PQsetNoticeProcessor(s->conn, pg_notice, NULL);
    PGresult *res = PQexec(s->conn, "SET client_min_messages TO warning");
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    s->prepared = false;
    return ok ? 0 : -EIO;
}

/* The connection, reset when lost (not inside a transaction: it is gone
 * with the connection). */
static int pg_connected(struct pg_store *s)
{
    if (PQstatus(s->conn) != CONNECTION_OK) {
        if (s->in_tx) {
            s->tx_failed = true;
            return -EIO;
        }
        PQreset(s->conn);
        if (PQstatus(s->conn) != CONNECTION_OK) {
            tld_log("store (postgresql): reconnecting: %s", PG_ERROR(s));
            return -EIO;
        }
        tld_log("store (postgresql): reconnected");
        if (pg_session(s) < 0)
            return -EIO;
    }
    return 0;
}

/* The connection, and pg_sql's statements prepared in its session (once
 * the migrations made the tables). */
static int pg_ready(struct pg_store *s)
{
    if (pg_connected(s) < 0)
        return -EIO;
    if (s->prepared)
        return 0;
    for (int q = 0; q < Q_N; q++) {
        char name[8];
        snprintf(name, sizeof(name), "q%d", q);
        PGresult *res = PQprepare(s->conn, name, pg_sql[q], 0, NULL);
        bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        PQclear(res);
        if (!ok) {
            tld_log("store (postgresql): preparing %s: %s", pg_sql[q], PG_ERROR(s));
            return -EIO;
        }
    }
    s->prepared = true;
    return 0;
}

/* A result of the statement, or NULL (logged). A statement that failed
 * because the connection was lost is tried once more on a new one,
 * outside a transaction. */
static PGresult *pg_run(struct pg_store *s, enum pg_query q, int n, const char *const *params)
{
    char name[8];
    snprintf(name, sizeof(name), "q%d", q);
    for (int attempt = 0; attempt < 2; attempt++) {
        if (pg_ready(s) < 0)
            return NULL;
        PGresult *res = PQexecPrepared(s->conn, name, n, params, NULL, NULL, 0);
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
            return res;
        PQclear(res);
        bool lost = PQstatus(s->conn) != CONNECTION_OK;
        tld_log("store (postgresql): %s: %s", pg_sql[q], PG_ERROR(s));
        if (s->in_tx) {
            s->tx_failed = true;
            return NULL;
        }
        if (!lost)
            return NULL;
    }
    return NULL;
}

/* Statements without parameters (transactions, migrations). BEGIN,
 * COMMIT and ROLLBACK keep in_tx; a COMMIT the server turned into a
 * ROLLBACK (the transaction had failed) is a failure. */
static int pg_exec(struct tld_store *base, const char *sql)
{
    struct pg_store *s = pg(base);
    bool begin = strcmp(sql, "BEGIN") == 0, commit = strcmp(sql, "COMMIT") == 0,
         rollback = strcmp(sql, "ROLLBACK") == 0;
    if (rollback && PQstatus(s->conn) != CONNECTION_OK) {
        s->in_tx = s->tx_failed = false; /* gone with the connection */
        return 0;
    }
    int r = -EIO;
    for (int attempt = 0; attempt < 2 && r < 0; attempt++) {
        if (commit && s->tx_failed)
            break;
        if (pg_connected(s) < 0)
            break;
        PGresult *res = PQexec(s->conn, sql);
        ExecStatusType st = PQresultStatus(res);
        if ((st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) &&
            (!commit || strcmp(PQcmdStatus(res), "COMMIT") == 0)) {
            r = 0;
        } else {
            tld_log("store (postgresql): %s: %s", sql,
                    st == PGRES_COMMAND_OK ? "the transaction had failed" : PG_ERROR(s));
        }
        PQclear(res);
        if (r < 0 && (s->in_tx || PQstatus(s->conn) == CONNECTION_OK))
            break;
    }
    if (begin && r == 0)
        s->in_tx = true, s->tx_failed = false;
    else if (!begin && s->in_tx && r < 0)
        s->tx_failed = true;
    if (commit || rollback) {
        if (commit && r < 0 && s->in_tx && PQstatus(s->conn) == CONNECTION_OK &&
            PQtransactionStatus(s->conn) != PQTRANS_IDLE) {
            PGresult *res = PQexec(s->conn, "ROLLBACK");
            PQclear(res);
        }
        s->in_tx = s->tx_failed = false;
    }
    return r;
}

static int pg_version(struct tld_store *base, int *version)
{
    struct pg_store *s = pg(base);
    *version = 0;
    PGresult *res = PQexec(s->conn, "SELECT coalesce(max(version), 0) FROM schema_version");
    bool ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
    if (ok)
        *version = atoi(PQgetvalue(res, 0, 0));
    else
        tld_log("store (postgresql): schema_version: %s", PG_ERROR(s));
    PQclear(res);
    return ok ? 0 : -EIO;
}

static int pg_version_set(struct tld_store *s, int version)
{
    char sql[80];
    snprintf(sql, sizeof(sql), "INSERT INTO schema_version (version) VALUES (%d)", version);
    return pg_exec(s, sql);
}

static void pg_close(struct tld_store *base)
{
    struct pg_store *s = pg(base);
    PQfinish(s->conn);
    if (s->lease)
        PQfinish(s->lease);
    free(s->conninfo);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* ---- the engine's operations, each under the store's mutex ---- */

struct num {
    char s[24];
};

static struct num num(long long v)
{
    struct num n;
    snprintf(n.s, sizeof(n.s), "%lld", v);
    return n;
}

static int pg_command(struct pg_store *s, enum pg_query q, int n, const char *const *params)
{
    PGresult *res = pg_run(s, q, n, params);
    PQclear(res);
    return res ? 0 : -EIO;
}

/* The first column of the first row as a number. */
static int pg_returning(struct pg_store *s, enum pg_query q, int n, const char *const *params,
                        long long *out)
{
    PGresult *res = pg_run(s, q, n, params);
    int r = -EIO;
    if (res && PQntuples(res) == 1) {
        *out = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        r = 0;
    }
    PQclear(res);
    return r;
}

/* Rows of "SELECT id, doc [, acknowledged]" as store.h's array. */
static json_t *pg_rows(struct pg_store *s, enum pg_query q, int n, const char *const *params)
{
    json_t *out = json_array();
    PGresult *res = pg_run(s, q, n, params);
    for (int i = 0; res && i < PQntuples(res); i++) {
        json_t *doc = tld_store_row(PQgetvalue(res, i, 1), strtoll(PQgetvalue(res, i, 0), NULL, 10),
                                    PQnfields(res) > 2 ? atoi(PQgetvalue(res, i, 2)) != 0 : -1);
        if (doc)
            json_array_append_new(out, doc);
    }
    PQclear(res);
    return out;
}

#define LOCKED(s, expr)                                                                            \
    ({                                                                                             \
        pthread_mutex_lock(&(s)->mu);                                                              \
        __typeof__(expr) _r = (expr);                                                              \
        pthread_mutex_unlock(&(s)->mu);                                                            \
        _r;                                                                                        \
    })

/* A transaction holds the store's mutex from its BEGIN to its COMMIT or
 * ROLLBACK (tx_held); a commit or rollback with none (a caller's cleanup
 * after a failed begin or commit) does nothing. */
static int pg_begin(struct tld_store *base)
{
    struct pg_store *s = pg(base);
    pthread_mutex_lock(&s->mu);
    int r = pg_exec(base, "BEGIN");
    if (r < 0)
        pthread_mutex_unlock(&s->mu);
    else
        s->tx_held = true;
    return r;
}

static int tx_end(struct pg_store *s, const char *sql)
{
    pthread_mutex_lock(&s->mu);
    int r = s->in_tx ? pg_exec(&s->base, sql) : -EIO;
    if (s->tx_held) {
        s->tx_held = false;
        pthread_mutex_unlock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return r;
}

static int pg_commit(struct tld_store *s)
{
    return tx_end(pg(s), "COMMIT");
}

static void pg_rollback(struct tld_store *s)
{
    tx_end(pg(s), "ROLLBACK");
}

static int pg_resource_put(struct tld_store *base, const char *kind, const char *id,
                           const char *text)
{
    struct pg_store *s = pg(base);
    struct num now = num(tld_now());
    const char *p[] = {kind, id, text, now.s};
    return LOCKED(s, pg_command(s, Q_PUT, 4, p));
}

static int pg_resource_delete(struct tld_store *base, const char *kind, const char *id)
{
    struct pg_store *s = pg(base);
    const char *p[] = {kind, id};
    return LOCKED(s, pg_command(s, Q_DELETE, 2, p));
}

static int pg_resource_each(struct tld_store *base, const char *kind,
                            int (*each)(void *ctx, const char *id, const char *text), void *ctx)
{
    struct pg_store *s = pg(base);
    const char *p[] = {kind};
    PGresult *res = LOCKED(s, pg_run(s, Q_EACH, 1, p));
    if (!res)
        return -EIO;
    int r = 0;
    for (int i = 0; r >= 0 && i < PQntuples(res); i++)
        r = each(ctx, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
    PQclear(res);
    return r;
}

static int next_id(struct pg_store *s, long long *id)
{
    if (!s->reserved) {
        int r = pg_returning(s, Q_NEXT_ID, 0, NULL, &s->reserved);
        if (r < 0)
            return r;
    }
    *id = s->reserved;
    return 0;
}

static int pg_attestation_next_id(struct tld_store *base, long long *id)
{
    struct pg_store *s = pg(base);
    return LOCKED(s, next_id(s, id));
}

static int attestation_add(struct pg_store *s, const char *node, const char *verdict,
                           const char *text, long long *id)
{
    long long use = *id > 0 ? *id : s->reserved;
    struct num now = num(tld_now()), given = num(use);
    const char *p[] = {node, now.s, verdict, text, given.s};
    long long got = 0;
    if (pg_returning(s, use > 0 ? Q_ADD_ID : Q_ADD, use > 0 ? 5 : 4, p, &got) < 0) {
        tld_log("store (postgresql): attestation of %s not written", node);
        return -EIO;
    }
    if (use > 0 && use == s->reserved) {
        s->reserved = 0;
    } else if (use > 0) {
        const char *q[] = {given.s};
        if (pg_command(s, Q_SEQ_AT_LEAST, 1, q) < 0)
            return -EIO;
    }
    *id = got;
    return 0;
}

static int pg_attestation_add(struct tld_store *base, const char *node, const char *verdict,
                              const char *text, long long *id)
{
    struct pg_store *s = pg(base);
    return LOCKED(s, attestation_add(s, node, verdict, text, id));
}

static json_t *pg_attestations(struct tld_store *base, const char *node, const char *uuid,
                               int limit)
{
    struct pg_store *s = pg(base);
    struct num lim = num(limit);
    if (!node) {
        const char *p[] = {lim.s};
        return LOCKED(s, pg_rows(s, Q_ATTESTATIONS, 1, p));
    }
    const char *p[] = {node, uuid, lim.s};
    return LOCKED(s, pg_rows(s, Q_ATTESTATIONS_NODE, 3, p));
}

/* The rows of a statement whose one parameter is an id. */
static json_t *by_id(struct tld_store *base, enum pg_query q, long long id)
{
    struct pg_store *s = pg(base);
    struct num i = num(id);
    const char *p[] = {i.s};
    return LOCKED(s, pg_rows(s, q, 1, p));
}

static json_t *pg_attestation_get(struct tld_store *s, long long id)
{
    return by_id(s, Q_ATTESTATION_GET, id);
}

static json_t *alert_find(struct pg_store *s, const char *node, const char *uuid, const char *boot,
                          long long *id, bool *acked)
{
    const char *p[] = {node, boot, uuid};
    PGresult *res = pg_run(s, Q_ALERT_FIND, 3, p);
    json_t *doc = NULL;
    if (res && PQntuples(res) > 0) {
        doc = json_loads(PQgetvalue(res, 0, 1), 0, NULL);
        if (doc) {
            *id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
            *acked = atoi(PQgetvalue(res, 0, 2)) != 0;
        }
    }
    PQclear(res);
    return doc;
}

static json_t *pg_alert_find(struct tld_store *base, const char *node, const char *uuid,
                             const char *boot, long long *id, bool *acked)
{
    struct pg_store *s = pg(base);
    return LOCKED(s, alert_find(s, node, uuid, boot, id, acked));
}

static int alert_put(struct pg_store *s, const char *node, const char *boot, const char *text,
                     long long *id, bool reopen)
{
    struct num now = num(tld_now());
    if (!*id) {
        const char *p[] = {node, boot, text, now.s};
        return pg_returning(s, Q_ALERT_NEW, 4, p, id);
    }
    struct num i = num(*id);
    const char *p[] = {text, now.s, i.s};
    return pg_command(s, reopen ? Q_ALERT_REOPEN : Q_ALERT_UPDATE, 3, p);
}

static int pg_alert_put(struct tld_store *base, const char *node, const char *boot,
                        const char *text, long long *id, bool reopen)
{
    struct pg_store *s = pg(base);
    return LOCKED(s, alert_put(s, node, boot, text, id, reopen));
}

static json_t *pg_alerts(struct tld_store *base, const char *node, const char *uuid, bool all)
{
    struct pg_store *s = pg(base);
    const char *p[] = {node, uuid, all ? "true" : "false"};
    return LOCKED(s, pg_rows(s, Q_ALERTS, 3, p));
}

static json_t *pg_alert_get(struct tld_store *s, long long id)
{
    return by_id(s, Q_ALERT_GET, id);
}

static int alert_ack(struct pg_store *s, long long id)
{
    struct num i = num(id);
    const char *p[] = {i.s};
    PGresult *res = pg_run(s, Q_ALERT_ACK, 1, p);
    int r = !res ? -EIO : strcmp(PQcmdTuples(res), "0") == 0 ? -ENOENT : 0;
    PQclear(res);
    return r;
}

static int pg_alert_ack(struct tld_store *base, long long id)
{
    struct pg_store *s = pg(base);
    return LOCKED(s, alert_ack(s, id));
}

static int alerts_open(struct pg_store *s, uint64_t *n)
{
    PGresult *res = pg_run(s, Q_ALERTS_OPEN, 0, NULL);
    int r = -EIO;
    if (res && PQntuples(res) == 1) {
        *n = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
        r = 0;
    }
    PQclear(res);
    return r;
}

static int pg_alerts_open(struct tld_store *base, uint64_t *n)
{
    struct pg_store *s = pg(base);
    return LOCKED(s, alerts_open(s, n));
}

/* ---- retention ---- */

static int pg_prune_nodes(struct tld_store *base, long long after,
                          int (*each)(void *ctx, const char *node, long long newest), void *ctx)
{
    struct pg_store *s = pg(base);
    struct num a = num(after);
    const char *p[] = {a.s};
    PGresult *res = LOCKED(s, pg_run(s, Q_PRUNE_NODES, 1, p));
    if (!res)
        return -EIO;
    int r = 0;
    for (int i = 0; r >= 0 && i < PQntuples(res); i++)
        r = each(ctx, PQgetvalue(res, i, 0), strtoll(PQgetvalue(res, i, 1), NULL, 10));
    PQclear(res);
    return r;
}

static int pg_prune_node(struct tld_store *base, const char *node, int keep, long long *deleted)
{
    struct pg_store *s = pg(base);
    struct num k = num(keep - 1);
    const char *p[] = {node, k.s};
    PGresult *res = LOCKED(s, pg_run(s, Q_PRUNE_NODE, 2, p));
    if (!res)
        return -EIO;
    *deleted = strtoll(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    return 0;
}

/* ---- replicas ---- */

static int resource_get(struct pg_store *s, const char *kind, const char *id, bool for_update,
                        char **text)
{
    const char *p[] = {kind, id};
    PGresult *res = pg_run(s, for_update ? Q_GET_FOR_UPDATE : Q_GET, 2, p);
    int r = !res ? -EIO : PQntuples(res) != 1 ? -ENOENT : 0;
    if (!r && !(*text = strdup(PQgetvalue(res, 0, 0))))
        r = -ENOMEM;
    PQclear(res);
    return r;
}

static int pg_resource_get(struct tld_store *base, const char *kind, const char *id,
                           bool for_update, char **text)
{
    struct pg_store *s = pg(base);
    *text = NULL;
    return LOCKED(s, resource_get(s, kind, id, for_update, text));
}

static int pg_ticket_put(struct tld_store *base, const char *kind, const char *value,
                         const char *node, long long expires, const char *data)
{
    struct pg_store *s = pg(base);
    struct num e = num(expires);
    const char *p[] = {value, kind, node, e.s, data};
    return LOCKED(s, pg_command(s, Q_TICKET_PUT, 5, p));
}

static int ticket_take(struct pg_store *s, const char *const *p, char **data)
{
    PGresult *res = pg_run(s, Q_TICKET_TAKE, 4, p);
    int r = !res ? -EIO : PQntuples(res) != 1 ? -ENOENT : 0;
    if (!r && !PQgetisnull(res, 0, 0) && !(*data = strdup(PQgetvalue(res, 0, 0))))
        r = -ENOMEM;
    PQclear(res);
    return r;
}

static int pg_ticket_take(struct tld_store *base, const char *kind, const char *value,
                          const char *node, long long now, char **data)
{
    struct pg_store *s = pg(base);
    struct num n = num(now);
    const char *p[] = {value, kind, node, n.s};
    *data = NULL;
    return LOCKED(s, ticket_take(s, p, data));
}

static int pg_tickets_prune(struct tld_store *base, long long before)
{
    struct pg_store *s = pg(base);
    struct num b = num(before);
    const char *p[] = {b.s};
    return LOCKED(s, pg_command(s, Q_TICKETS_PRUNE, 1, p));
}

/* Held while the lease's connection lives: asked again only after it was
 * lost (the server let the lock go with it; another tld may have it now). */
static int lease_try(struct pg_store *s)
{
    if (s->lease && PQstatus(s->lease) != CONNECTION_OK) {
        if (s->lease_held)
            tld_log("store (postgresql): the reconciler's lease is lost with its connection");
        PQfinish(s->lease);
        s->lease = NULL;
        s->lease_held = false;
    }
    if (s->lease_held) { /* a round trip that notices a dead connection */
        PGresult *res = PQexec(s->lease, "SELECT 1");
        bool ok = PQresultStatus(res) == PGRES_TUPLES_OK;
        PQclear(res);
        if (ok)
            return 1;
        /* whatever failed, the lock is not known to be ours any more: the
         * connection goes (and the lock with it), the next try starts anew */
        const char *m = PQerrorMessage(s->lease);
        tld_log("store (postgresql): the reconciler's lease: %.*s", (int)strcspn(m, "\n"), m);
        PQfinish(s->lease);
        s->lease = NULL;
        s->lease_held = false;
        return -EIO;
    }
    if (!s->lease) {
        const char *keys[] = {"dbname", "fallback_application_name", NULL};
        const char *values[] = {s->conninfo, "tld-lease", NULL};
        s->lease = PQconnectdbParams(keys, values, 1);
        if (PQstatus(s->lease) != CONNECTION_OK) {
            PQfinish(s->lease);
            s->lease = NULL;
            return -EIO;
        }
    }
    PGresult *res = PQexec(s->lease, "SELECT pg_try_advisory_lock(" LEASE_KEY ")");
    int r = -EIO;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        r = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    s->lease_held = r == 1;
    return r;
}

/* Not under the store's mutex: the lease has its own connection, used by
 * the supervision loop alone. */
static int pg_lease_try(struct tld_store *base)
{
    return lease_try(pg(base));
}

static const struct tld_store_engine pg_engine = {
    .name = "postgresql",
    .close = pg_close,
    .exec = pg_exec,
    .version = pg_version,
    .version_set = pg_version_set,
    .lock = MIGRATION_LOCK,
    .migrations = pg_migrations,
    .n_migrations = TL_ARRAY_SIZE(pg_migrations),
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .resource_put = pg_resource_put,
    .resource_delete = pg_resource_delete,
    .resource_each = pg_resource_each,
    .attestation_next_id = pg_attestation_next_id,
    .attestation_add = pg_attestation_add,
    .attestations = pg_attestations,
    .attestation_get = pg_attestation_get,
    .alert_find = pg_alert_find,
    .alert_put = pg_alert_put,
    .alerts = pg_alerts,
    .alert_get = pg_alert_get,
    .alert_ack = pg_alert_ack,
    .alerts_open = pg_alerts_open,
    .prune_nodes = pg_prune_nodes,
    .prune_node = pg_prune_node,
    .resource_get = pg_resource_get,
    .ticket_put = pg_ticket_put,
    .ticket_take = pg_ticket_take,
    .tickets_prune = pg_tickets_prune,
    .lease_try = pg_lease_try,
};

int tld_store_pg_open(const char *conninfo, struct tld_store **out)
{
    struct pg_store *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->base.engine = &pg_engine;
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&s->mu, &attr);
    pthread_mutexattr_destroy(&attr);
    /* conninfo as dbname is expanded: a URI or key=value pairs */
    const char *keys[] = {"dbname", "fallback_application_name", NULL};
    const char *values[] = {conninfo, "tld", NULL};
    s->conn = PQconnectdbParams(keys, values, 1);
    if (!(s->conninfo = strdup(conninfo)) || PQstatus(s->conn) != CONNECTION_OK) {
        tld_log("store (postgresql): connecting: %s", PG_ERROR(s));
        pg_close(&s->base);
        return -EIO;
    }
    /* the version's table, made once under the migrations' lock */
    if (pg_session(s) < 0 || pg_exec(&s->base, "BEGIN") < 0 ||
        pg_exec(&s->base, MIGRATION_LOCK) < 0 ||
        pg_exec(&s->base, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY "
                          "KEY, applied TIMESTAMPTZ NOT NULL DEFAULT now())") < 0 ||
        pg_exec(&s->base, "COMMIT") < 0) {
        pg_close(&s->base);
        return -EIO;
    }
    *out = &s->base;
    return 0;
}
