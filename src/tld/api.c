/* The REST API (docs/api.md) on libmicrohttpd: one routing table (method,
 * path pattern, the roles that may call it, handler) for two listeners:
 *
 *   - the admin listener on loopback TCP (HOST:PORT): every route, each
 *     caller authenticated (auth.c) before its body is read: no
 *     credentials is 401, a role the route does not admit 403;
 *   - the nodes' agent channels (agentnet.c): a connection there comes from
 *     one node's guest and reaches only that node's agent routes; anything
 *     else is 403. A guest has no other way to the host (node.c: QEMU's
 *     user network is restricted to this one forward).
 *
 * Bounded work: bodies are capped per route (agent evidence up to
 * TLD_BODY_MAX, everything else TLD_ADMIN_BODY_MAX) and all bodies in
 * flight together by TLD_INFLIGHT_MAX (503 beyond: a caller holding
 * unfinished bodies cannot exhaust memory); an idle connection is closed
 * after TLD_IDLE_TIMEOUT seconds; the admin listener takes at most
 * TLD_API_CONNECTIONS connections, each agent channel TLD_CHANNEL_CONNECTIONS.
 * Both daemons poll() (select() refuses every socket numbered FD_SETSIZE or
 * more: a local user's 1,000 idle connections would have locked the guests'
 * channels out too), and tld raises its open-file limit to take them.
 * An agent route on the admin listener checks the node's token before the
 * body is read: a caller without one cannot spend the bodies' budget.
 *
 * Handlers run under tld.lock (the API and the supervision loop see one
 * node table), except attest: its JSON body is parsed before the lock is
 * taken (agentbody.c: the event log's base64 out of jansson's way), then
 * attest.c's begin and finish take the lock and the quote and event log are
 * checked between the two, unlocked. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "attest.h"
#include "tld.h"

#define CONSOLE_MAX (4u << 20)

/* The roles, as route masks. */
#define R_PUBLIC   0u
#define R_OPERATOR (1u << TLD_ROLE_OPERATOR)
#define R_READER   (R_OPERATOR | 1u << TLD_ROLE_READER)
#define R_RP       (R_READER | 1u << TLD_ROLE_RELYING_PARTY)
#define R_AGENT    (1u << TLD_ROLE_AGENT)

/* route flags */
#define F_AGENT_BODY 1u /* an agent's evidence: a body up to TLD_BODY_MAX */
#define F_UNLOCKED   2u /* the handler takes tld.lock itself */
#define F_JSON_EARLY 4u /* the JSON body parsed before any lock (agentbody.c) */

struct call;
struct route {
    const char *method;  /* NULL: any */
    const char *pattern; /* segments; "{x}" takes one; a final "*" takes the rest */
    unsigned roles;
    unsigned flags;
    enum MHD_Result (*fn)(struct call *);
};

struct request {
    const struct route *route;
    struct tld_caller caller;
    char arg[2][TLD_NAME_MAX + 2]; /* the pattern's {x} segments, in order */
    const char *rest;              /* what a final "*" took */
    char *body;
    size_t len, cap;
    bool too_large, busy;
    json_t *json; /* an agent call's body, parsed outside the lock (NULL: not an object) */
};

struct call {
    struct tld *t;
    struct MHD_Connection *c;
    const char *method, *url;
    struct request *rq;
    char msg[512];
};

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *type,
                                 char *text, size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", type);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!text)
        return MHD_NO;
    size_t len = strlen(text);
    char *with_nl = realloc(text, len + 2);
    if (!with_nl) {
        free(text);
        return MHD_NO;
    }
    with_nl[len] = '\n';
    with_nl[len + 1] = 0;
    return send_text(c, status, "application/json", with_nl, len + 1);
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
    return send_json(c, status, json_pack("{s:s}", "error", msg));
}

/* The console log's tail; read without tld.lock (the caller found the path). */
static enum MHD_Result send_console(struct MHD_Connection *c, const char *path)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return send_text(c, 200, "text/plain; charset=utf-8", strdup(""), 0);
    struct stat st;
    off_t from = 0;
    if (fstat(fd, &st) == 0 && st.st_size > (off_t)CONSOLE_MAX)
        from = st.st_size - (off_t)CONSOLE_MAX; /* the tail: the latest lines */
    char *buf = malloc(CONSOLE_MAX + 1);
    ssize_t k = buf ? pread(fd, buf, CONSOLE_MAX, from) : -1;
    close(fd);
    if (k < 0) {
        free(buf);
        return send_error(c, 500, "cannot read the console log");
    }
    return send_text(c, 200, "text/plain; charset=utf-8", buf, (size_t)k);
}

static json_t *parse_body(const struct request *rq, char *msg, size_t msz)
{
    if (!rq->len)
        return json_object();
    json_error_t jerr;
    json_t *j = json_loadb(rq->body, rq->len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j)
        snprintf(msg, msz, "request body: %s (line %d)", jerr.text, jerr.line);
    return j;
}

static json_t *call_body(struct call *k)
{
    return parse_body(k->rq, k->msg, sizeof(k->msg));
}

static int ERR_(struct call *k, int status, const char *text)
{
    snprintf(k->msg, sizeof(k->msg), "%s", text);
    return status;
}

static enum MHD_Result fail(struct call *k, int status)
{
    return send_error(k->c, (unsigned)(status >= 400 ? status : 500), k->msg);
}

static const char *query(struct call *k, const char *key)
{
    return MHD_lookup_connection_value(k->c, MHD_GET_ARGUMENT_KIND, key);
}

/* The node named by the route's {node} (404 when none). */
static struct tld_node *call_node(struct call *k)
{
    struct tld_node *n = tld_node_find(k->t, k->rq->arg[0]);
    if (!n)
        snprintf(k->msg, sizeof(k->msg), "no node named %s", k->rq->arg[0]);
    return n;
}

/* The node, when no operation holds it (lifecycle.c lets tld.lock go for
 * its I/O): else NULL with *status 404, or busy: 409 for the operator, 503
 * for its agent (temporary: the agent tries again). */
static struct tld_node *call_node_idle(struct call *k, int *status)
{
    struct tld_node *n = call_node(k);
    *status = n ? 0 : 404;
    if (n && n->busy) {
        bool agent = k->rq->caller.role == TLD_ROLE_AGENT;
        snprintf(k->msg, sizeof(k->msg), "node %s is busy (%s); try again when it is done", n->name,
                 n->busy);
        *status = agent ? 503 : 409;
        n = NULL;
    }
    return n;
}

/* ---- handlers ---- */

static enum MHD_Result h_health(struct call *k)
{
    json_t *j = json_pack("{s:s, s:s}", "status", "ok", "version", TL_VERSION);
    if (k->rq->caller.role != TLD_ROLE_NONE) { /* where and who: for tl and the benchmarks */
        json_object_set_new(j, "pid", json_integer((json_int_t)getpid()));
        json_object_set_new(j, "home", json_string(k->t->home));
        json_object_set_new(j, "role", json_string(tld_role_name(k->rq->caller.role)));
    }
    return send_json(k->c, 200, j);
}

static enum MHD_Result h_fleet(struct call *k)
{
    json_t *req = call_body(k);
    if (!req)
        return send_error(k->c, 400, k->msg);
    json_t *answer = NULL;
    struct tld *t = k->t;
    struct tld_image_check *ic = calloc(1, sizeof(*ic));
    if (!ic) {
        json_decref(req);
        return send_error(k->c, 500, "out of memory");
    }
    pthread_mutex_lock(&t->lock);
    int status = tld_fleet_route(t, k->method, k->url, req, ic, &answer, k->msg, sizeof(k->msg));
    pthread_mutex_unlock(&t->lock);
    /* an update's image check reads the image: without the lock, then the
     * request again (it may find the pool changed: once more at most) */
    for (int i = 0; status == TLD_FLEET_CHECK_IMAGE && i < 2; i++) {
        json_decref(answer);
        answer = NULL;
        tld_fleet_image_check(t, ic);
        pthread_mutex_lock(&t->lock);
        status = tld_fleet_route(t, k->method, k->url, req, ic, &answer, k->msg, sizeof(k->msg));
        pthread_mutex_unlock(&t->lock);
    }
    free(ic);
    json_decref(req);
    if (status == TLD_FLEET_CHECK_IMAGE)
        status = ERR_(k, 409, "the node pool changed during its image check; try again");
    if (status >= 300 || !answer) {
        json_decref(answer);
        return fail(k, status);
    }
    return send_json(k->c, (unsigned)status, answer);
}

static enum MHD_Result h_nodes_list(struct call *k)
{
    json_t *list = json_array();
    for (size_t i = 0; i < k->t->n_nodes; i++)
        json_array_append_new(list, tld_node_json(k->t, k->t->nodes[i]));
    return send_json(k->c, 200, json_pack("{s:o}", "nodes", list));
}

static enum MHD_Result h_node_create(struct call *k)
{
    json_t *req = call_body(k);
    if (!req)
        return send_error(k->c, 400, k->msg);
    struct tld_node *n = NULL;
    int status = tld_node_create(k->t, req, NULL, &n, k->msg, sizeof(k->msg));
    json_decref(req);
    if (status)
        return fail(k, status);
    json_t *j = tld_node_json(k->t, n);
    if (n->ek_issued) { /* said once: the node keeps its fingerprint */
        json_object_set_new(j, "ek_cert_issued", n->ek_issued);
        n->ek_issued = NULL;
    }
    return send_json(k->c, 201, j);
}

static enum MHD_Result h_jwks(struct call *k)
{
    return send_json(k->c, 200, tld_token_jwks(k->t));
}

/* Tokens are handed to the node's agent and to an operator who asks for
 * one attestation; a list never carries them (a reader could otherwise
 * present another node's token to a relying party). */
static json_t *without_tokens(json_t *list)
{
    size_t i;
    json_t *a;
    json_array_foreach(list, i, a)
    {
        json_object_del(a, "token");
        json_object_del(a, "evidence"); /* up to a MiB each: one attestation at a time */
    }
    return list;
}

/* ?node=NAME: the records of the node of that name now (its identity: a
 * node deleted and made again under the name does not inherit), or, when
 * there is none, of every node that had the name. */
static const char *node_uuid(struct call *k, const char *node)
{
    struct tld_node *n = node ? tld_node_find(k->t, node) : NULL;
    return n ? n->uuid : NULL;
}

static enum MHD_Result h_attestations(struct call *k)
{
    const char *lim = query(k, "limit"), *node = query(k, "node");
    int limit = lim ? atoi(lim) : 100;
    if (limit <= 0 || limit > 10000)
        limit = 100;
    return send_json(
        k->c, 200,
        json_pack("{s:o}", "attestations",
                  without_tokens(tld_store_attestations(k->t, node, node_uuid(k, node), limit))));
}

static bool record_id(struct call *k, long long *id)
{
    char *end;
    *id = strtoll(k->rq->arg[0], &end, 10);
    return *k->rq->arg[0] && !*end && *id > 0;
}

static enum MHD_Result h_attestation(struct call *k)
{
    long long id;
    json_t *one = record_id(k, &id) ? tld_store_attestation_get(k->t, id) : NULL;
    if (!one)
        return send_error(k->c, 404, "no such attestation");
    if (k->rq->caller.role != TLD_ROLE_OPERATOR)
        json_object_del(one, "token");
    return send_json(k->c, 200, one);
}

/* GET /v1/attestations/ID/status: may a relying party still believe a
 * token of this attestation (its "attestation" claim)? "active" while it
 * is the node's latest verified attestation and a pass; "superseded" by a
 * later pass; "revoked" by a later failure, a reboot (a new boot proves
 * nothing yet), or the node's deletion. */
static enum MHD_Result h_attestation_status(struct call *k)
{
    long long id;
    json_t *a = record_id(k, &id) ? tld_store_attestation_get(k->t, id) : NULL;
    if (!a)
        return send_error(k->c, 404, "no such attestation");
    const char *name = json_string_value(json_object_get(a, "node"));
    const char *uuid = json_string_value(json_object_get(a, "node_uuid"));
    const char *verdict = json_string_value(json_object_get(a, "verdict"));
    struct tld_node *n = name ? tld_node_find(k->t, name) : NULL;
    bool same = n && uuid && strcmp(n->uuid, uuid) == 0;
    const char *status, *reason;
    if (!verdict || strcmp(verdict, "pass") != 0)
        status = "revoked", reason = "the attestation failed";
    else if (!same)
        status = "revoked", reason = "the node was deleted";
    else if (n->attestation.id == id && n->attestation.pass)
        status = "active", reason = "the node's latest verified attestation";
    else if (n->attestation.id > id && n->attestation.pass)
        status = "superseded", reason = "a later attestation of the node passed";
    else if (n->attestation.id > id)
        status = "revoked", reason = "a later attestation of the node failed";
    else
        status = "revoked", reason = "the node booted again (nothing of the new boot is proven)";
    json_t *j = json_pack("{s:I, s:s?, s:s, s:b, s:s, s:I}", "attestation", (json_int_t)id, "node",
                          name, "status", status, "active", strcmp(status, "active") == 0, "reason",
                          reason, "latest", (json_int_t)(same ? n->attestation.id : 0));
    json_decref(a);
    return send_json(k->c, 200, j);
}

static enum MHD_Result h_alerts(struct call *k)
{
    const char *all = query(k, "all"), *node = query(k, "node");
    return send_json(
        k->c, 200,
        json_pack("{s:o}", "alerts",
                  tld_store_alerts(k->t, node, node_uuid(k, node), all && strcmp(all, "1") == 0)));
}

static enum MHD_Result h_alert(struct call *k)
{
    long long id;
    json_t *one = record_id(k, &id) ? tld_store_alert_get(k->t, id) : NULL;
    if (!one)
        return send_error(k->c, 404, "no such alert");
    return send_json(k->c, 200, one);
}

static enum MHD_Result h_alert_ack(struct call *k)
{
    long long id;
    if (!record_id(k, &id) || tld_store_alert_ack(k->t, id) < 0)
        return send_error(k->c, 404, "no such alert");
    return send_json(k->c, 200, tld_store_alert_get(k->t, id));
}

static enum MHD_Result h_tokens_list(struct call *k)
{
    return send_json(k->c, 200, tld_auth_tokens(k->t));
}

static enum MHD_Result h_token_create(struct call *k)
{
    json_t *req = call_body(k), *answer = NULL;
    if (!req)
        return send_error(k->c, 400, k->msg);
    int status = tld_auth_token_create(k->t, req, &answer, k->msg, sizeof(k->msg));
    json_decref(req);
    return status ? fail(k, status) : send_json(k->c, 201, answer);
}

static enum MHD_Result h_token_delete(struct call *k)
{
    int status = tld_auth_token_delete(k->t, k->rq->arg[0], k->msg, sizeof(k->msg));
    if (status)
        return fail(k, status);
    return send_json(k->c, 200, json_pack("{s:s, s:b}", "name", k->rq->arg[0], "deleted", 1));
}

static enum MHD_Result h_node_show(struct call *k)
{
    struct tld_node *n = call_node(k);
    return n ? send_json(k->c, 200, tld_node_json(k->t, n)) : send_error(k->c, 404, k->msg);
}

static enum MHD_Result h_node_delete(struct call *k)
{
    struct tld *t = k->t;
    struct tld_node *n = call_node(k);
    if (!n)
        return send_error(k->c, 404, k->msg);
    /* a pool's node leaves the pool with it, as a scale set's deleted
     * instance does: the pool asks for one node fewer, or the reconciler
     * would make a new one */
    struct tld_pool *p = n->pool;
    char name[TLD_NAME_MAX + 1];
    snprintf(name, sizeof(name), "%s", n->name);
    int status = tld_node_delete(t, n, k->msg, sizeof(k->msg));
    if (status)
        return fail(k, status);
    if (p && p->count > 0) {
        p->count--;
        tld_pool_save(t, p);
        tld_log("pool %s/%s/%s: node %s deleted by hand: count %ld", p->cluster->group,
                p->cluster->name, p->name, name, p->count);
    }
    return send_json(k->c, 200, json_pack("{s:s, s:b}", "name", name, "deleted", 1));
}

static enum MHD_Result h_node_policy(struct call *k)
{
    int status;
    struct tld_node *n = call_node_idle(k, &status);
    return n ? send_json(k->c, 200, tld_attest_policy(k->t, n)) : fail(k, status);
}

static enum MHD_Result h_node_console(struct call *k)
{
    char path[PATH_MAX];
    pthread_mutex_lock(&k->t->lock);
    struct tld_node *n = call_node(k);
    if (n)
        tld_node_path(k->t, n, "console.log", path, sizeof(path));
    pthread_mutex_unlock(&k->t->lock);
    return n ? send_console(k->c, path) : send_error(k->c, 404, k->msg);
}

/* start, stop, reimage, policy/learn: the node's JSON after the action */
static enum MHD_Result h_node_action(struct call *k)
{
    int status;
    struct tld_node *n = call_node_idle(k, &status);
    if (!n)
        return fail(k, status);
    json_t *req = call_body(k);
    if (!req)
        return send_error(k->c, 400, k->msg);
    const char *action = k->rq->rest;
    char *msg = k->msg;
    size_t msz = sizeof(k->msg);
    if (strcmp(action, "start") == 0)
        status = tld_node_start(k->t, n, msg, msz);
    else if (strcmp(action, "stop") == 0)
        status = tld_node_stop(k->t, n, msg, msz);
    else if (strcmp(action, "reimage") == 0)
        status = tld_node_reimage(k->t, n, req, msg, msz);
    else
        status = tld_attest_learn(k->t, n, msg, msz);
    json_decref(req);
    return status ? fail(k, status) : send_json(k->c, 200, tld_node_json(k->t, n));
}

static const char *authorization(struct call *k)
{
    return MHD_lookup_connection_value(k->c, MHD_HEADER_KIND, "Authorization");
}

/* activate, nonce: the node's token is checked by attest.c */
static enum MHD_Result h_agent(struct call *k)
{
    int status;
    struct tld_node *n = call_node_idle(k, &status);
    if (!n)
        return fail(k, status);
    json_t *answer = NULL;
    status = tld_attest_handle(k->t, n, k->rq->rest, authorization(k), k->rq->json, &answer, k->msg,
                               sizeof(k->msg));
    return status ? fail(k, status) : send_json(k->c, 200, answer);
}

/* POST /v1/nodes/NAME/enroll: the node's checks under tld.lock, the EK
 * certificate's chain (the CAs' files), the EK and AK checks and
 * MakeCredential without it, then the challenge kept under it (the node
 * found and checked again: it may have gone or restarted meanwhile). */
static enum MHD_Result h_enroll(struct call *k)
{
    struct tld *t = k->t;
    const char *auth = authorization(k);
    json_t *answer = NULL;
    int status;
    pthread_mutex_lock(&t->lock);
    struct tld_node *n = call_node_idle(k, &status);
    if (n)
        status = tld_attest_agent_checks(n, "enroll", auth, k->rq->json, k->msg, sizeof(k->msg));
    pthread_mutex_unlock(&t->lock);
    if (status)
        return fail(k, status);
    struct tld_enrol_pre pre;
    status = tld_enrol_prepare(t, k->rq->json, &pre, k->msg, sizeof(k->msg));
    if (!status) {
        pthread_mutex_lock(&t->lock);
        n = call_node_idle(k, &status);
        if (n && !(status = tld_attest_agent_checks(n, "enroll", auth, k->rq->json, k->msg,
                                                    sizeof(k->msg))))
            status = tld_enrol_accept(n, &pre, &answer, k->msg, sizeof(k->msg));
        pthread_mutex_unlock(&t->lock);
    }
    tld_enrol_pre_done(&pre);
    return status ? fail(k, status) : send_json(k->c, 200, answer);
}

/* POST /v1/nodes/NAME/report: the token checked first (an unknown
 * caller's log is not analysed), then the log replayed without tld.lock,
 * then the node updated under it (the node found again: it may have gone). */
static enum MHD_Result h_report(struct call *k)
{
    struct tld *t = k->t;
    const char *auth = authorization(k);
    pthread_mutex_lock(&t->lock);
    struct tld_node *n = call_node(k);
    int status = !n ? 404 : !tld_token_ok(n, auth) ? ERR_(k, 403, "not this node's token") : 0;
    pthread_mutex_unlock(&t->lock);
    if (status)
        return fail(k, status);
    struct tld_report_pre pre;
    status = tld_report_prepare(k->rq->body ? k->rq->body : "", k->rq->len, &pre, k->msg,
                                sizeof(k->msg));
    if (!status) {
        pthread_mutex_lock(&t->lock);
        n = call_node_idle(k, &status);
        if (n)
            status = tld_report_accept(t, n, auth, &pre, k->msg, sizeof(k->msg));
        pthread_mutex_unlock(&t->lock);
    }
    tld_report_pre_done(&pre);
    if (status)
        return fail(k, status);
    return send_json(k->c, 200, json_pack("{s:s, s:b}", "node", k->rq->arg[0], "accepted", 1));
}

/* POST /v1/nodes/NAME/attest: the lock for attest.c's begin and finish
 * only; the quote and the event log are checked without it. */
static enum MHD_Result h_attest(struct call *k)
{
    struct tld *t = k->t;
    const char *auth = authorization(k);
    struct tld_attest_job *job = NULL;
    json_t *answer = NULL;
    int status;
    pthread_mutex_lock(&t->lock);
    struct tld_node *n = call_node_idle(k, &status);
    if (n)
        status = tld_attest_begin(n, auth, k->rq->json, &job, k->msg, sizeof(k->msg));
    pthread_mutex_unlock(&t->lock);
    if (!status) {
        tld_attest_prefetch(t, job); /* file I/O: without the lock */
        status = tld_attest_work(job, k->msg, sizeof(k->msg));
    }
    if (!status) {
        pthread_mutex_lock(&t->lock);
        if (call_node_idle(k, &status)) /* found again: it may have gone or been taken */
            status = tld_attest_finish(t, job, auth, &answer, k->msg, sizeof(k->msg));
        pthread_mutex_unlock(&t->lock);
    }
    tld_attest_job_free(job);
    return status ? fail(k, status) : send_json(k->c, 200, answer);
}

/* ---- the routing table (docs/api.md lists it with the same roles) ---- */

static const struct route routes[] = {
    {"GET", "/v1/health", R_PUBLIC, 0, h_health},
    {"GET", "/v1/resourceGroups*", R_READER, F_UNLOCKED, h_fleet},
    {NULL, "/v1/resourceGroups*", R_OPERATOR, F_UNLOCKED, h_fleet},
    {"GET", "/v1/managedClusters*", R_READER, F_UNLOCKED, h_fleet},
    {NULL, "/v1/managedClusters*", R_OPERATOR, F_UNLOCKED, h_fleet},
    {"GET", "/v1/providers/*", R_READER, F_UNLOCKED, h_fleet},
    {NULL, "/v1/providers/*", R_OPERATOR, F_UNLOCKED, h_fleet},
    {"GET", "/v1/nodes", R_READER, 0, h_nodes_list},
    {"POST", "/v1/nodes", R_OPERATOR, 0, h_node_create},
    {"GET", "/v1/jwks", R_RP, 0, h_jwks},
    {"GET", "/.well-known/jwks.json", R_RP, 0, h_jwks},
    {"GET", "/v1/attestations", R_READER, 0, h_attestations},
    {"GET", "/v1/attestations/{id}", R_READER, 0, h_attestation},
    {"GET", "/v1/attestations/{id}/status", R_RP, 0, h_attestation_status},
    {"GET", "/v1/alerts", R_READER, 0, h_alerts},
    {"GET", "/v1/alerts/{id}", R_READER, 0, h_alert},
    {"POST", "/v1/alerts/{id}/ack", R_OPERATOR, 0, h_alert_ack},
    {"GET", "/v1/tokens", R_OPERATOR, 0, h_tokens_list},
    {"POST", "/v1/tokens", R_OPERATOR, 0, h_token_create},
    {"DELETE", "/v1/tokens/{name}", R_OPERATOR, 0, h_token_delete},
    {"GET", "/v1/nodes/{node}", R_READER, 0, h_node_show},
    {"DELETE", "/v1/nodes/{node}", R_OPERATOR, 0, h_node_delete},
    {"GET", "/v1/nodes/{node}/policy", R_READER, 0, h_node_policy},
    {"GET", "/v1/nodes/{node}/console", R_READER, F_UNLOCKED, h_node_console},
    {"POST", "/v1/nodes/{node}/start", R_OPERATOR, 0, h_node_action},
    {"POST", "/v1/nodes/{node}/stop", R_OPERATOR, 0, h_node_action},
    {"POST", "/v1/nodes/{node}/reimage", R_OPERATOR, 0, h_node_action},
    {"POST", "/v1/nodes/{node}/policy/learn", R_OPERATOR, 0, h_node_action},
    {"POST", "/v1/nodes/{node}/report", R_AGENT, F_AGENT_BODY | F_UNLOCKED, h_report},
    {"POST", "/v1/nodes/{node}/enroll", R_AGENT, F_AGENT_BODY | F_JSON_EARLY | F_UNLOCKED,
     h_enroll},
    {"POST", "/v1/nodes/{node}/activate", R_AGENT, F_AGENT_BODY | F_JSON_EARLY, h_agent},
    {"POST", "/v1/nodes/{node}/nonce", R_AGENT, F_AGENT_BODY | F_JSON_EARLY, h_agent},
    {"POST", "/v1/nodes/{node}/attest", R_AGENT, F_AGENT_BODY | F_JSON_EARLY | F_UNLOCKED,
     h_attest},
};

/* Does url match pattern? Fills rq's {x} arguments and rest: for a final
 * "*" what follows the prefix; else what follows the last {x} ("start" of
 * "/v1/nodes/{node}/start"), the action the handler does. */
static bool match(const char *pattern, const char *url, struct request *rq)
{
    size_t plen = strlen(pattern);
    if (plen && pattern[plen - 1] == '*') {
        if (strncmp(url, pattern, plen - 1) != 0)
            return false;
        rq->rest = url + plen - 1;
        return true;
    }
    const char *p = pattern, *u = url;
    int nargs = 0;
    rq->rest = "";
    while (*p) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            size_t n = strcspn(u, "/");
            if (!close || n == 0 || n > TLD_NAME_MAX || nargs == 2)
                return false;
            memcpy(rq->arg[nargs], u, n);
            rq->arg[nargs++][n] = 0;
            p = close + 1;
            u += n;
            if (*p == '/' && *u == '/')
                rq->rest = u + 1;
            continue;
        }
        if (*p++ != *u++)
            return false;
    }
    return *u == 0;
}

/* The route for (method, url); *status 404 (no path) or 405 (no method)
 * when none. */
static const struct route *find_route(const char *method, const char *url, struct request *rq,
                                      unsigned *status)
{
    bool path_seen = false;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        struct request probe = {0};
        if (!match(routes[i].pattern, url, &probe))
            continue;
        path_seen = true;
        if (routes[i].method && strcmp(routes[i].method, method) != 0)
            continue;
        memcpy(rq->arg, probe.arg, sizeof(rq->arg));
        rq->rest = probe.rest;
        return &routes[i];
    }
    *status = path_seen ? 405 : 404;
    return NULL;
}

/* A connection from a node's agent channel (agentnet.c hands it over with
 * the node's name as its address): that node, nothing else. */
static const char *channel_node(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr || ci->client_addr->sa_family != AF_UNIX)
        return NULL;
    return ((const struct sockaddr_un *)(const void *)ci->client_addr)->sun_path;
}

/* An agent's token ("NODE.SECRET", node.c) presented where it does not
 * belong: 0 with the caller set when it is a node's current token. */
static int tld_agent_caller(struct tld *t, const char *authz, struct tld_caller *out)
{
    const char *tok = authz + strlen("Bearer ");
    const char *dot = strchr(tok, '.');
    if (!dot || dot == tok || (size_t)(dot - tok) > TLD_NAME_MAX)
        return -EACCES;
    char name[TLD_NAME_MAX + 1];
    memcpy(name, tok, (size_t)(dot - tok));
    name[dot - tok] = 0;
    pthread_mutex_lock(&t->lock);
    struct tld_node *n = tld_node_find(t, name);
    bool ok = n && tld_token_ok(n, authz);
    pthread_mutex_unlock(&t->lock);
    if (!ok)
        return -EACCES;
    *out = (struct tld_caller){.role = TLD_ROLE_AGENT};
    snprintf(out->node, sizeof(out->node), "%s", name);
    snprintf(out->who, sizeof(out->who), "the agent of node %s", name);
    return 0;
}

/* No route for this method and path: which of 404 and 405 it is tells
 * only an authenticated caller (the table is not shown to strangers, nor
 * to a guest); msg set. */
static unsigned unrouted(struct tld *t, struct MHD_Connection *c, unsigned status, char *msg,
                         size_t msz)
{
    const char *chan = channel_node(c);
    if (chan)
        return (unsigned)ERR(403, "node %s's agent channel serves only its own agent routes", chan);
    const char *authz = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    struct tld_caller who;
    int a = tld_auth_caller(t, authz, &who);
    if (a == -ENOENT)
        return (unsigned)ERR(401, "credentials required (Authorization: Bearer; docs/api.md)");
    if (a < 0 && tld_agent_caller(t, authz, &who) < 0)
        return (unsigned)ERR(401, "invalid credentials");
    return (unsigned)ERR(status, "%s", status == 404 ? "no such resource" : "method not allowed");
}

/* Who may call this route? 0, or a status with msg set. */
static unsigned admit(struct tld *t, struct MHD_Connection *c, const struct route *r,
                      struct request *rq, char *msg, size_t msz)
{
    const char *chan = channel_node(c);
    const char *authz = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (chan) { /* a guest: its own node's agent routes only */
        if (!(r->roles & R_AGENT) || strcmp(rq->arg[0], chan) != 0)
            return (unsigned)ERR(403, "node %s's agent channel serves only its own agent routes",
                                 chan);
        rq->caller = (struct tld_caller){.role = TLD_ROLE_AGENT, .channel = true};
        snprintf(rq->caller.node, sizeof(rq->caller.node), "%s", chan);
        return authz ? 0 : (unsigned)ERR(401, "credentials required: the node's agent token");
    }
    int a = tld_auth_caller(t, authz, &rq->caller);
    if (r->roles == R_PUBLIC)
        return 0;
    if (a == -ENOENT)
        return (unsigned)ERR(401, "credentials required (Authorization: Bearer; docs/api.md)");
    if (r->roles & R_AGENT) {
        /* an agent elsewhere (an external node): the token of the node the
         * path names, checked here, before its body is read (and again by
         * the handler, which may run much later) */
        if (a == 0)
            return (unsigned)ERR(403, "%s may not call a node's agent routes", rq->caller.who);
        pthread_mutex_lock(&t->lock);
        struct tld_node *n = tld_node_find(t, rq->arg[0]);
        bool ok = n && tld_token_ok(n, authz);
        pthread_mutex_unlock(&t->lock);
        if (!ok) /* the same answer whether the node exists or not: no names are told */
            return (unsigned)ERR(403, "not this node's token");
        rq->caller = (struct tld_caller){.role = TLD_ROLE_AGENT};
        snprintf(rq->caller.node, sizeof(rq->caller.node), "%s", rq->arg[0]);
        return 0;
    }
    if (a == -EACCES && tld_agent_caller(t, authz, &rq->caller) == 0)
        return (unsigned)ERR(403, "%s may call only its node's agent routes", rq->caller.who);
    if (a < 0)
        return (unsigned)ERR(401, "invalid credentials");
    if (!(r->roles & (1u << rq->caller.role)))
        return (unsigned)ERR(403, "%s (role %s) may not %s %s", rq->caller.who,
                             tld_role_name(rq->caller.role), r->method ? r->method : "call",
                             r->pattern);
    return 0;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
    (void)version;
    struct tld *t = cls;
    struct request *rq = *con_cls;
    tld_deadline_request(t, c, !rq, rq && !*upload_size);
    if (!rq) { /* headers only: route and authenticate before any body is read */
        rq = calloc(1, sizeof(*rq));
        if (!rq)
            return MHD_NO;
        *con_cls = rq;
        char msg[512] = "";
        unsigned status = 0;
        rq->route = find_route(method, url, rq, &status);
        if (!rq->route && (status = unrouted(t, c, status, msg, sizeof(msg))))
            return send_error(c, status, msg);
        status = admit(t, c, rq->route, rq, msg, sizeof(msg));
        if (status)
            return send_error(c, status, msg);
        return MHD_YES;
    }
    if (*upload_size) {
        size_t cap = rq->route->flags & F_AGENT_BODY ? TLD_BODY_MAX : TLD_ADMIN_BODY_MAX;
        size_t add = *upload_size;
        *upload_size = 0;
        /* over a cap: the rest is read and dropped, the answer comes at the
         * end (libmicrohttpd cannot answer in the middle of an upload) */
        if (rq->too_large || rq->busy)
            return MHD_YES;
        if (rq->len + add > cap) {
            rq->too_large = true;
            return MHD_YES;
        }
        if (rq->len + add + 1 > rq->cap) { /* grows by doubling, charged to the budget */
            size_t ncap = rq->cap ? rq->cap : 4096;
            while (ncap < rq->len + add + 1)
                ncap *= 2;
            if (ncap > cap + 1) /* never charged more than the route admits */
                ncap = cap + 1;
            size_t total = atomic_fetch_add(&t->api.inflight, ncap - rq->cap) + ncap - rq->cap;
            if (total > TLD_INFLIGHT_MAX) {
                atomic_fetch_sub(&t->api.inflight, ncap - rq->cap);
                rq->busy = true;
                return MHD_YES;
            }
            char *nb = realloc(rq->body, ncap);
            if (!nb) {
                atomic_fetch_sub(&t->api.inflight, ncap - rq->cap);
                return MHD_NO;
            }
            rq->body = nb;
            rq->cap = ncap;
        }
        memcpy(rq->body + rq->len, upload, add);
        rq->len += add;
        rq->body[rq->len] = 0;
        return MHD_YES;
    }
    if (rq->too_large)
        return send_error(c, 413, "request body too large");
    if (rq->busy)
        return send_error(c, 503, "too many request bodies in flight; retry");
    struct call k = {.t = t, .c = c, .method = method, .url = url, .rq = rq};
    if ((rq->route->flags & F_JSON_EARLY) && !rq->json)
        rq->json = tld_agent_body_parse(rq->body, rq->len);
    if (rq->route->flags & F_UNLOCKED)
        return rq->route->fn(&k);
    pthread_mutex_lock(&t->lock);
    enum MHD_Result r = rq->route->fn(&k);
    pthread_mutex_unlock(&t->lock);
    return r;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode code)
{
    struct tld *t = cls;
    (void)code;
    tld_deadline_request_done(t, c);
    struct request *rq = *con_cls;
    if (rq) {
        atomic_fetch_sub(&t->api.inflight, rq->cap);
        json_decref(rq->json);
        free(rq->body);
        free(rq);
    }
    *con_cls = NULL;
}

static void connection_event(void *cls, struct MHD_Connection *c, void **socket_context,
                             enum MHD_ConnectionNotificationCode code)
{
    tld_deadline_notify(cls, c, socket_context, code); /* deadlines, client limits */
    const char *node = channel_node(c);
    if (node && code == MHD_CONNECTION_NOTIFY_CLOSED)
        tld_agentnet_closed(cls, node);
}

static int add_agent_connection(struct tld *t, int fd, const char *node);

int tld_api_start(struct tld *t, const char *listen_addr, int *port)
{
    char host[64];
    const char *colon = strrchr(listen_addr, ':');
    if (!colon || (size_t)(colon - listen_addr) >= sizeof(host)) {
        tld_log("--listen %s: HOST:PORT", listen_addr);
        return -EINVAL;
    }
    memcpy(host, listen_addr, (size_t)(colon - listen_addr));
    host[colon - listen_addr] = 0;
    char *end;
    long p = strtol(colon + 1, &end, 10);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p)};
    if (*end || p < 0 || p > 65535 || inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        tld_log("--listen %s: an IPv4 HOST:PORT", listen_addr);
        return -EINVAL;
    }
    t->api.admin = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL |
            MHD_USE_ERROR_LOG,
        0, NULL, NULL, handler, t, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_NOTIFY_COMPLETED,
        completed, t, MHD_OPTION_NOTIFY_CONNECTION, connection_event, t,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)TLD_IDLE_TIMEOUT, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)TLD_API_CONNECTIONS, MHD_OPTION_THREAD_STACK_SIZE, (size_t)(256u << 10),
        MHD_OPTION_END);
    if (!t->api.admin)
        return -EADDRINUSE;
    /* the agent channels' connections arrive by MHD_add_connection */
    t->api.agents = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL |
            MHD_USE_ITC | MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ERROR_LOG,
        0, NULL, NULL, handler, t, MHD_OPTION_NOTIFY_COMPLETED, completed, t,
        MHD_OPTION_NOTIFY_CONNECTION, connection_event, t, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)TLD_IDLE_TIMEOUT, MHD_OPTION_THREAD_STACK_SIZE, (size_t)(256u << 10),
        MHD_OPTION_END);
    if (!t->api.agents) {
        MHD_stop_daemon(t->api.admin);
        t->api.admin = NULL;
        return -ENOMEM;
    }
    pthread_mutex_lock(&t->agentnet.lock);
    t->agentnet.hand = add_agent_connection;
    pthread_mutex_unlock(&t->agentnet.lock);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(t->api.admin, MHD_DAEMON_INFO_BIND_PORT);
    *port = info ? info->port : (int)p;
    return 0;
}

/* A connection accepted on node's agent channel (agentnet.c's hand). */
static int add_agent_connection(struct tld *t, int fd, const char *node)
{
    if (!t->api.agents) { /* not serving yet (a restart re-adopting nodes) */
        close(fd);
        return -EAGAIN;
    }
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", node);
    return MHD_add_connection(t->api.agents, fd, (const struct sockaddr *)&sa, sizeof(sa)) ==
                   MHD_YES
               ? 0
               : -EIO;
}

void tld_api_stop(struct tld *t)
{
    if (t->api.admin)
        MHD_stop_daemon(t->api.admin);
    if (t->api.agents)
        MHD_stop_daemon(t->api.agents);
    t->api.admin = t->api.agents = NULL;
}

void tld_api_routes_print(FILE *f)
{
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        const struct route *r = &routes[i];
        fprintf(f, "%s %s ", r->method ? r->method : "*", r->pattern);
        if (r->roles == R_PUBLIC)
            fputs("public", f);
        for (int role = TLD_ROLE_READER, first = 1; role <= TLD_ROLE_RELYING_PARTY; role++)
            if (r->roles & (1u << role)) {
                fprintf(f, "%s%s", first ? "" : ",", tld_role_name((enum tld_role)role));
                first = 0;
            }
        fputc('\n', f);
    }
}
