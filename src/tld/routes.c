/* The routing table and its handlers (api.h; docs/api.md lists every
 * route with its role). A handler runs under tld.lock unless its route
 * says F_UNLOCKED: then it takes the lock itself, around the short parts
 * (report, enroll, attest, the fleet routes, the console). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "attest.h"
#include "tl/aks.h"
#include "tl/base64.h"

/* ---- handlers ---- */

static enum MHD_Result h_health(struct call *k)
{
    json_t *j = json_pack("{s:s, s:s}", "status", "ok", "version", TL_VERSION);
    if (k->rq->caller.role != TLD_ROLE_NONE) { /* where and who: for tl and the benchmarks */
        json_object_set_new(j, "pid", json_integer((json_int_t)getpid()));
        json_object_set_new(j, "home", json_string(k->t->home));
        json_object_set_new(j, "role", json_string(tld_role_name(k->rq->caller.role)));
        tld_lock(k->t); /* the route is F_UNLOCKED: the count under the lock */
        size_t n_nodes = k->t->n_nodes;
        tld_unlock(k->t);
        json_object_set_new(j, "nodes", json_integer((json_int_t)n_nodes));
        json_object_set_new(j, "uptimeSeconds",
                            json_integer((json_int_t)(time(NULL) - k->t->started)));
        json_object_set_new(j, "lease", tld_lease_json(k->t));
    }
    return api_send_json(k->c, 200, j);
}

/* GET /metrics: Prometheus's text format (metrics.c); tld.lock only to
 * copy the gauges' numbers (metrics_state.c) */
static enum MHD_Result h_metrics(struct call *k)
{
    char *text = NULL;
    size_t len = 0;
    if (tld_metrics_scrape(k->t, &text, &len) < 0)
        return api_send_error(k->c, 500, "out of memory");
    return api_send_text(k->c, 200, TLD_METRICS_CONTENT_TYPE, text, len);
}

static enum MHD_Result h_fleet(struct call *k)
{
    json_t *req = api_call_body(k);
    if (!req)
        return api_send_error(k->c, 400, k->msg);
    json_t *answer = NULL;
    struct tld *t = k->t;
    struct tld_image_check *ic = calloc(1, sizeof(*ic));
    if (!ic) {
        json_decref(req);
        return api_send_error(k->c, 500, "out of memory");
    }
    tld_lock(t);
    int status = tld_fleet_route(t, k->method, k->url, req, ic, &answer, k->msg, sizeof(k->msg));
    tld_unlock(t);
    /* an update's image check reads the image: without the lock, then the
     * request again (it may find the pool changed: once more at most) */
    for (int i = 0; status == TLD_FLEET_CHECK_IMAGE && i < 2; i++) {
        json_decref(answer);
        answer = NULL;
        tld_fleet_image_check(t, ic);
        tld_lock(t);
        status = tld_fleet_route(t, k->method, k->url, req, ic, &answer, k->msg, sizeof(k->msg));
        tld_unlock(t);
    }
    free(ic);
    json_decref(req);
    if (status == TLD_FLEET_CHECK_IMAGE)
        status = api_err(k, 409, "the node pool changed during its image check; try again");
    if (status >= 300 || !answer) {
        json_decref(answer);
        return api_fail(k, status);
    }
    return api_send_json(k->c, (unsigned)status, answer);
}

static enum MHD_Result h_nodes_list(struct call *k)
{
    json_t *list = json_array();
    for (size_t i = 0; i < k->t->n_nodes; i++)
        json_array_append_new(list, tld_node_json(k->t, k->t->nodes[i]));
    return api_send_json(k->c, 200, json_pack("{s:o}", "nodes", list));
}

static enum MHD_Result h_node_create(struct call *k)
{
    json_t *req = api_call_body(k);
    if (!req)
        return api_send_error(k->c, 400, k->msg);
    struct tld_node *n = NULL;
    int status = tld_node_create(k->t, req, NULL, &n, &k->err);
    json_decref(req);
    if (status)
        return api_fail(k, status);
    json_t *j = tld_node_json(k->t, n);
    if (n->ek_issued) { /* said once: the node keeps its fingerprint */
        json_object_set_new(j, "ek_cert_issued", n->ek_issued);
        n->ek_issued = NULL;
    }
    return api_send_json(k->c, 201, j);
}

static enum MHD_Result h_jwks(struct call *k)
{
    return api_send_json(k->c, 200, tld_token_jwks(k->t));
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
    const char *lim = api_query(k, "limit"), *node = api_query(k, "node");
    int limit = lim ? atoi(lim) : 100;
    if (limit <= 0 || limit > 10000)
        limit = 100;
    return api_send_json(
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
        return api_send_error(k->c, 404, "no such attestation");
    if (k->rq->caller.role != TLD_ROLE_OPERATOR)
        json_object_del(one, "token");
    return api_send_json(k->c, 200, one);
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
        return api_send_error(k->c, 404, "no such attestation");
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
    return api_send_json(k->c, 200, j);
}

static enum MHD_Result h_alerts(struct call *k)
{
    const char *all = api_query(k, "all"), *node = api_query(k, "node");
    return api_send_json(
        k->c, 200,
        json_pack("{s:o}", "alerts",
                  tld_store_alerts(k->t, node, node_uuid(k, node), all && strcmp(all, "1") == 0)));
}

static enum MHD_Result h_alert(struct call *k)
{
    long long id;
    json_t *one = record_id(k, &id) ? tld_store_alert_get(k->t, id) : NULL;
    if (!one)
        return api_send_error(k->c, 404, "no such alert");
    return api_send_json(k->c, 200, one);
}

static enum MHD_Result h_alert_ack(struct call *k)
{
    long long id;
    if (!record_id(k, &id) || tld_store_alert_ack(k->t, id) < 0)
        return api_send_error(k->c, 404, "no such alert");
    return api_send_json(k->c, 200, tld_store_alert_get(k->t, id));
}

static enum MHD_Result h_tokens_list(struct call *k)
{
    return api_send_json(k->c, 200, tld_auth_tokens(k->t));
}

static enum MHD_Result h_token_create(struct call *k)
{
    json_t *req = api_call_body(k), *answer = NULL;
    if (!req)
        return api_send_error(k->c, 400, k->msg);
    int status = tld_auth_token_create(k->t, req, &answer, &k->err);
    json_decref(req);
    return status ? api_fail(k, status) : api_send_json(k->c, 201, answer);
}

static enum MHD_Result h_token_delete(struct call *k)
{
    int status = tld_auth_token_delete(k->t, k->rq->arg[0], &k->err);
    if (status)
        return api_fail(k, status);
    return api_send_json(k->c, 200, json_pack("{s:s, s:b}", "name", k->rq->arg[0], "deleted", 1));
}

static enum MHD_Result h_node_show(struct call *k)
{
    struct tld_node *n = api_call_node(k);
    return n ? api_send_json(k->c, 200, tld_node_json(k->t, n)) : api_send_error(k->c, 404, k->msg);
}

static enum MHD_Result h_node_delete(struct call *k)
{
    struct tld *t = k->t;
    struct tld_node *n = api_call_node(k);
    if (!n)
        return api_send_error(k->c, 404, k->msg);
    /* a pool's node leaves the pool with it, as a scale set's deleted
     * instance does: the pool asks for one node fewer, or the reconciler
     * would make a new one */
    struct tld_pool *p = n->pool;
    char name[TLD_NAME_MAX + 1];
    snprintf(name, sizeof(name), "%s", n->name);
    int status = tld_node_delete(t, n, &k->err);
    if (status)
        return api_fail(k, status);
    if (p && p->count > 0) {
        p->count--;
        tld_pool_save(t, p);
        tld_log("pool %s/%s/%s: node %s deleted by hand: count %ld", p->cluster->group,
                p->cluster->name, p->name, name, p->count);
    }
    return api_send_json(k->c, 200, json_pack("{s:s, s:b}", "name", name, "deleted", 1));
}

/* GET /v1/nodes/NAME/policy: the image's manifest read (and cached)
 * without tld.lock, the policy built under it (the node found again) */
static enum MHD_Result h_node_policy(struct call *k)
{
    struct tld *t = k->t;
    int status;
    char image[PATH_MAX] = "";
    tld_lock(t);
    struct tld_node *n = api_call_node_idle(k, &status);
    if (n)
        snprintf(image, sizeof(image), "%s", n->spec.image);
    tld_unlock(t);
    if (!n)
        return api_fail(k, status);
    char why[256];
    struct tld_manifest *m = image[0] ? tld_manifest_get(t, image, why, sizeof(why)) : NULL;
    json_t *policy = NULL;
    tld_lock(t);
    n = api_call_node_idle(k, &status);
    if (n)
        policy = tld_attest_policy(
            n, m && strcmp(n->spec.image, image) == 0 ? tld_manifest_parsed(m) : NULL);
    tld_unlock(t);
    tld_manifest_unref(m);
    return policy ? api_send_json(k->c, 200, policy) : api_fail(k, n ? 500 : status);
}

static enum MHD_Result h_node_console(struct call *k)
{
    char path[PATH_MAX];
    int refused = 0;
    tld_lock(k->t);
    struct tld_node *n = api_call_node(k);
    if (n && tl_confidential_debug_check(n->spec.security_type, "the serial console", k->msg,
                                         sizeof(k->msg)) < 0)
        refused = 403; /* the FAQ: no host access to a confidential VM's state */
    else if (n)
        tld_node_path(k->t, n, "console.log", path, sizeof(path));
    tld_unlock(k->t);
    if (refused)
        return api_send_error(k->c, refused, k->msg);
    return n ? api_send_console(k->c, path) : api_send_error(k->c, 404, k->msg);
}

/* start, stop, reimage, policy/learn: the node's JSON after the action */
static enum MHD_Result h_node_action(struct call *k)
{
    int status;
    struct tld_node *n = api_call_node_idle(k, &status);
    if (!n)
        return api_fail(k, status);
    json_t *req = api_call_body(k);
    if (!req)
        return api_send_error(k->c, 400, k->msg);
    const char *action = k->rq->rest;
    if (strcmp(action, "start") == 0)
        status = tld_node_start(k->t, n, &k->err);
    else if (strcmp(action, "stop") == 0)
        status = tld_node_stop(k->t, n, &k->err);
    else if (strcmp(action, "reimage") == 0)
        status = tld_node_reimage(k->t, n, req, &k->err);
    else
        status = tld_attest_learn(k->t, n, &k->err);
    json_decref(req);
    return status ? api_fail(k, status) : api_send_json(k->c, 200, tld_node_json(k->t, n));
}

/* activate, nonce: the node's token is checked by attest.c */
static enum MHD_Result h_agent(struct call *k)
{
    int status;
    struct tld_node *n = api_call_node_idle(k, &status);
    if (!n)
        return api_fail(k, status);
    json_t *answer = NULL;
    status = tld_attest_handle(k->t, n, k->rq->rest, api_authorization(k), k->rq->json, &answer,
                               &k->err);
    return status ? api_fail(k, status) : api_send_json(k->c, 200, answer);
}

/* POST /v1/nodes/NAME/enroll: the node's checks under tld.lock, the EK
 * certificate's chain (the CAs' files), the EK and AK checks and
 * MakeCredential without it, then the challenge kept under it (the node
 * found and checked again: it may have gone or restarted meanwhile). */
static enum MHD_Result h_enroll(struct call *k)
{
    struct tld *t = k->t;
    const char *auth = api_authorization(k);
    json_t *answer = NULL;
    int status;
    tld_lock(t);
    struct tld_node *n = api_call_node_idle(k, &status);
    if (n)
        status = tld_attest_agent_checks(n, "enroll", auth, k->rq->json, &k->err);
    tld_unlock(t);
    if (status)
        return api_fail(k, status);
    struct tld_enrol_pre pre;
    status = tld_enrol_prepare(t, k->rq->json, &pre, &k->err);
    if (!status) {
        tld_lock(t);
        n = api_call_node_idle(k, &status);
        if (n && !(status = tld_attest_agent_checks(n, "enroll", auth, k->rq->json, &k->err)))
            status = tld_enrol_accept(k->t, n, &pre, &answer, &k->err);
        tld_unlock(t);
    }
    tld_enrol_pre_done(&pre);
    return status ? api_fail(k, status) : api_send_json(k->c, 200, answer);
}

/* POST /v1/nodes/NAME/report: the token checked first (an unknown
 * caller's log is not analysed), then the log replayed without tld.lock,
 * then the node updated under it (the node found again: it may have gone). */
static enum MHD_Result h_report(struct call *k)
{
    struct tld *t = k->t;
    const char *auth = api_authorization(k);
    tld_lock(t);
    struct tld_node *n = api_call_node(k);
    int status = !n ? 404 : !tld_token_ok(n, auth) ? api_err(k, 403, "not this node's token") : 0;
    tld_unlock(t);
    if (status)
        return api_fail(k, status);
    struct tld_report_pre pre;
    status = tld_report_prepare(k->rq->body ? k->rq->body : "", k->rq->len, &pre, &k->err);
    if (!status) {
        tld_lock(t);
        n = api_call_node_idle(k, &status);
        if (n)
            status = tld_report_accept(t, n, auth, &pre, &k->err);
        tld_unlock(t);
    }
    tld_report_pre_done(&pre);
    if (status)
        return api_fail(k, status);
    return api_send_json(k->c, 200, json_pack("{s:s, s:b}", "node", k->rq->arg[0], "accepted", 1));
}

/* POST /v1/nodes/NAME/attest: the lock for attest.c's begin and finish
 * only; the quote and the event log are checked without it. */
static enum MHD_Result h_attest(struct call *k)
{
    struct tld *t = k->t;
    const char *auth = api_authorization(k);
    struct tld_attest_job *job = NULL;
    json_t *answer = NULL;
    int status;
    tld_lock(t);
    struct tld_node *n = api_call_node_idle(k, &status);
    if (n)
        status = tld_attest_begin(n, auth, k->rq->json, &job, &k->err);
    tld_unlock(t);
    if (!status) {
        tld_attest_prefetch(t, job); /* file I/O: without the lock */
        status = tld_attest_work(t, job, &k->err);
    }
    struct tld_store_pending *pending = NULL;
    if (!status) {
        tld_store_group_coming(t, 1);
        tld_lock(t);
        if (api_call_node_idle(k, &status)) /* found again: it may have gone or been taken */
            status = tld_attest_finish(t, job, auth, &answer, &pending, &k->err);
        tld_unlock(t);
        tld_store_group_coming(t, -1);
    }
    /* a group commit's member: answered once the transaction holding it
     * has committed (store.c) */
    if (pending && tld_store_group_wait(t, pending) < 0) {
        json_decref(answer);
        answer = NULL;
        status = tl_error_set_nopos(&k->err, -EIO, "cannot store the attestation");
    }
    tld_attest_job_free(job);
    return status ? api_fail(k, status) : api_send_json(k->c, 200, answer);
}

/* POST /v1/nodes/NAME/tee/certification {} -> {"vcek": b64url DER} and
 * POST /v1/nodes/NAME/tee/tdquote {"report": b64url TDREPORT} ->
 * {"quote": b64url}: the node's own token, a confidential node of the
 * kind; the files read without the lock (tee_service.c). */
static enum MHD_Result h_tee(struct call *k)
{
    struct tld *t = k->t;
    const char *auth = api_authorization(k);
    bool tdquote = strcmp(k->rq->rest, "tee/tdquote") == 0;
    char dir[PATH_MAX] = "";
    tld_lock(t);
    struct tld_node *n = api_call_node(k);
    int status =
        !n                       ? 404
        : !tld_token_ok(n, auth) ? api_err(k, 403, "not this node's token")
        : strcmp(n->spec.tee, tdquote ? "tdx" : "snp") != 0
            ? api_err(k, 409,
                      tdquote ? "not a TDX confidential node" : "not an SEV-SNP confidential node")
            : 0;
    if (!status)
        tld_node_path(t, n, NULL, dir, sizeof(dir));
    tld_unlock(t);
    if (status)
        return api_fail(k, status);
    uint8_t *out = NULL, *report = NULL;
    size_t out_len = 0, report_len = 0;
    int r;
    if (!tdquote) {
        r = tld_tee_certification(t, k->rq->arg[0], &out, &out_len, &k->err);
    } else {
        const char *b = json_string_value(json_object_get(k->rq->json, "report"));
        if (!b || tl_base64_decode(b, strlen(b), TL_BASE64_URL | TL_BASE64_PAD_OPTIONAL, &report,
                                   &report_len) < 0)
            return api_send_error(k->c, 400, "\"report\": not base64url");
        r = tld_tee_tdquote(dir, report, report_len, &out, &out_len, &k->err);
        free(report);
    }
    if (r < 0)
        return api_fail(k, r);
    char *text = NULL;
    size_t text_len = 0;
    r = tl_base64_encode(out, out_len, TL_BASE64_URL | TL_BASE64_NO_PAD, &text, &text_len);
    free(out);
    if (r < 0)
        return api_send_error(k->c, 500, "out of memory");
    json_t *answer = json_pack("{s:s}", tdquote ? "quote" : "vcek", text);
    free(text);
    return api_send_json(k->c, 200, answer);
}

/* ---- the routing table (docs/api.md lists it with the same roles) ---- */

static const struct route routes[] = {
    {"GET", "/v1/health", R_PUBLIC, F_UNLOCKED, h_health},
    {"GET", "/metrics", R_READER, F_UNLOCKED, h_metrics},
    /* the fleet page (ui.c): its files are public, its data the reader routes' */
    {"GET", "/ui", R_PUBLIC, F_UNLOCKED, api_ui},
    {"GET", "/ui/*", R_PUBLIC, F_UNLOCKED, api_ui},
    /* .../virtualMachines (vmres.c) are fleet routes too: reader to read,
     * operator to create, change, start, stop and delete */
    {"GET", "/v1/resourceGroups*", R_READER, F_UNLOCKED, h_fleet},
    {NULL, "/v1/resourceGroups*", R_OPERATOR, F_UNLOCKED, h_fleet},
    {"GET", "/v1/virtualMachines", R_READER, F_UNLOCKED, h_fleet},
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
    {"GET", "/v1/nodes/{node}/policy", R_READER, F_UNLOCKED, h_node_policy},
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
    {"POST", "/v1/nodes/{node}/tee/certification", R_AGENT, F_JSON_EARLY | F_UNLOCKED, h_tee},
    /* key vaults (keyvault_api.c): readers see, operators manage; no
     * route hands out a key in clear (download: 403 with the reason) */
    {"GET", "/v1/vaults", R_READER, F_UNLOCKED, api_vaults},
    {"POST", "/v1/vaults", R_OPERATOR, F_UNLOCKED, api_vault_create},
    {"GET", "/v1/vaults/{vault}", R_READER, F_UNLOCKED, api_vault},
    {"DELETE", "/v1/vaults/{vault}", R_OPERATOR, F_UNLOCKED, api_vault},
    {"GET", "/v1/vaults/{vault}/keys", R_READER, F_UNLOCKED, api_keys},
    {"POST", "/v1/vaults/{vault}/keys", R_OPERATOR, F_UNLOCKED, api_keys},
    {"GET", "/v1/vaults/{vault}/keys/{key}", R_READER, F_UNLOCKED, api_key},
    {"DELETE", "/v1/vaults/{vault}/keys/{key}", R_OPERATOR, F_UNLOCKED, api_key},
    {"GET", "/v1/vaults/{vault}/keys/{key}/versions", R_READER, F_UNLOCKED, api_key},
    {"POST", "/v1/vaults/{vault}/keys/{key}/rotate", R_OPERATOR, F_UNLOCKED, api_key},
    {"POST", "/v1/vaults/{vault}/keys/{key}/download", R_OPERATOR, F_UNLOCKED, api_key},
    {"GET", "/v1/vaults/{vault}/keys/{key}/releases", R_READER, F_UNLOCKED, api_key},
    {"POST", "/v1/nodes/{node}/keys/release", R_AGENT, F_JSON_EARLY | F_UNLOCKED, api_key_release},
    {"POST", "/v1/nodes/{node}/tee/tdquote", R_AGENT, F_AGENT_BODY | F_JSON_EARLY | F_UNLOCKED,
     h_tee},
};

/* Does url match pattern? Fills rq's {x} arguments and rest: for a final
 * "*" what follows the prefix; else what follows the last {x} ("start" of
 * "/v1/nodes/{node}/start"), the action the handler does. */

const struct route *api_routes(size_t *n)
{
    *n = sizeof(routes) / sizeof(routes[0]);
    return routes;
}
