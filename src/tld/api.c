/* The REST API (docs/api.md) on libmicrohttpd: a thread per connection,
 * bodies up to TLD_BODY_MAX (413 beyond), JSON in and out, errors as
 * {"error": "..."} with a 4xx/5xx status. Every handler runs under
 * tld.lock, so the API and the supervision loop see one node table.
 *
 * The agent's attestation calls have their JSON body parsed before the
 * lock is taken: parsing is pure. An attest body carries the event log as
 * one long base64 string (~27 KB for OVMF's), which jansson reads a byte at
 * a time: ~0.3 ms, a third of an attestation's CPU (bench/README.md,
 * "bench-attest"). parse_agent_body takes that string out of jansson's
 * way when it is a plain base64 string member of the top-level object
 * (agentbody.c, fuzzed against json_loadb).
 * An attest call then takes the lock twice (attest.c: begin, then finish)
 * and checks the quote and the event log between the two, unlocked. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tld.h"

#define CONSOLE_MAX (4u << 20)

static struct MHD_Daemon *daemon_;
static struct tld *api_tld;

struct request {
    char *body;
    size_t len;
    bool too_large;
    json_t *json; /* an agent call's body, parsed outside the lock (NULL: not an object) */
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

static enum MHD_Result send_console(struct MHD_Connection *c, struct tld_node *n)
{
    char path[PATH_MAX];
    tld_node_path(api_tld, n, "console.log", path, sizeof(path));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
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

/* /v1/attestations[?node=N][&limit=K], /v1/attestations/ID,
 * /v1/alerts[?node=N][&all=1], /v1/alerts/ID, POST /v1/alerts/ID/ack */
static enum MHD_Result route_records(struct MHD_Connection *c, const char *method, const char *url)
{
    struct tld *t = api_tld;
    bool alerts = strncmp(url, "/v1/alerts", 10) == 0;
    const char *rest = url + (alerts ? 10 : 16);
    const char *node = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "node");
    if (!*rest) {
        if (strcmp(method, "GET") != 0)
            return send_error(c, 405, "GET");
        if (alerts) {
            const char *all = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "all");
            return send_json(c, 200,
                             json_pack("{s:o}", "alerts",
                                       tld_store_alerts(t, node, all && strcmp(all, "1") == 0)));
        }
        const char *lim = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
        int limit = lim ? atoi(lim) : 100;
        if (limit <= 0 || limit > 10000)
            limit = 100;
        return send_json(
            c, 200, json_pack("{s:o}", "attestations", tld_store_attestations(t, node, limit)));
    }
    char *end;
    long long id = *rest == '/' ? strtoll(rest + 1, &end, 10) : 0;
    if (id <= 0)
        return send_error(c, 404, "no such record");
    if (alerts && strcmp(end, "/ack") == 0) {
        if (strcmp(method, "POST") != 0)
            return send_error(c, 405, "POST");
        if (tld_store_alert_ack(t, id) < 0)
            return send_error(c, 404, "no such alert");
        return send_json(c, 200, tld_store_alert_get(t, id));
    }
    if (*end || strcmp(method, "GET") != 0)
        return send_error(c, 404, "no such record");
    json_t *one = alerts ? tld_store_alert_get(t, id) : tld_store_attestation_get(t, id);
    if (!one)
        return send_error(c, 404, alerts ? "no such alert" : "no such attestation");
    return send_json(c, 200, one);
}

static enum MHD_Result route(struct MHD_Connection *c, const char *method, const char *url,
                             struct request *rq)
{
    struct tld *t = api_tld;
    char msg[512] = "";
    if (rq->too_large)
        return send_error(c, 413, "request body too large");
    if (strcmp(url, "/v1/health") == 0 && strcmp(method, "GET") == 0)
        return send_json(c, 200,
                         json_pack("{s:s, s:s, s:i, s:s}", "status", "ok", "version", TL_VERSION,
                                   "pid", (int)getpid(), "home", t->home));
    if (strncmp(url, "/v1/resourceGroups", 18) == 0 ||
        strncmp(url, "/v1/managedClusters", 19) == 0 || strncmp(url, "/v1/providers/", 14) == 0) {
        json_t *req = parse_body(rq, msg, sizeof(msg));
        if (!req)
            return send_error(c, 400, msg);
        json_t *answer = NULL;
        int status = tld_fleet_route(t, method, url, req, &answer, msg, sizeof(msg));
        json_decref(req);
        if (status >= 300 || !answer) {
            json_decref(answer);
            return send_error(c, (unsigned)(status >= 300 ? status : 500), msg);
        }
        return send_json(c, (unsigned)status, answer);
    }
    if (strcmp(url, "/v1/nodes") == 0) {
        if (strcmp(method, "GET") == 0) {
            json_t *list = json_array();
            for (size_t i = 0; i < t->n_nodes; i++)
                json_array_append_new(list, tld_node_json(t, t->nodes[i]));
            return send_json(c, 200, json_pack("{s:o}", "nodes", list));
        }
        if (strcmp(method, "POST") == 0) {
            json_t *req = parse_body(rq, msg, sizeof(msg));
            if (!req)
                return send_error(c, 400, msg);
            struct tld_node *n = NULL;
            int status = tld_node_create(t, req, &n, msg, sizeof(msg));
            json_decref(req);
            if (status)
                return send_error(c, (unsigned)status, msg);
            json_t *j = tld_node_json(t, n);
            if (n->ek_issued) { /* said once: the node keeps its fingerprint */
                json_object_set_new(j, "ek_cert_issued", n->ek_issued);
                n->ek_issued = NULL;
            }
            return send_json(c, 201, j);
        }
        return send_error(c, 405, "GET or POST");
    }
    if ((strcmp(url, "/v1/jwks") == 0 || strcmp(url, "/.well-known/jwks.json") == 0) &&
        strcmp(method, "GET") == 0)
        return send_json(c, 200, tld_token_jwks());
    if (strncmp(url, "/v1/attestations", 16) == 0 || strncmp(url, "/v1/alerts", 10) == 0)
        return route_records(c, method, url);
    const char *prefix = "/v1/nodes/";
    if (strncmp(url, prefix, strlen(prefix)) != 0)
        return send_error(c, 404, "no such resource");
    char name[TLD_NAME_MAX + 2];
    const char *rest = url + strlen(prefix);
    size_t nlen = strcspn(rest, "/");
    if (nlen == 0 || nlen > TLD_NAME_MAX)
        return send_error(c, 404, "no such node");
    memcpy(name, rest, nlen);
    name[nlen] = 0;
    const char *action = rest[nlen] == '/' ? rest + nlen + 1 : "";
    struct tld_node *n = tld_node_find(t, name);
    if (!n) {
        snprintf(msg, sizeof(msg), "no node named %s", name);
        return send_error(c, 404, msg);
    }
    int status = -1;
    if (!*action) {
        if (strcmp(method, "GET") == 0)
            return send_json(c, 200, tld_node_json(t, n));
        if (strcmp(method, "DELETE") == 0) {
            /* a pool's node leaves the pool with it, as a scale set's
             * deleted instance does: the pool asks for one node fewer, or
             * the reconciler would make a new one */
            struct tld_pool *p = n->pool;
            status = tld_node_delete(t, n, msg, sizeof(msg));
            if (!status && p && p->count > 0) {
                p->count--;
                tld_pool_save(t, p);
                tld_log("pool %s/%s/%s: node %s deleted by hand: count %ld", p->cluster->group,
                        p->cluster->name, p->name, name, p->count);
            }
            if (!status)
                return send_json(c, 200, json_pack("{s:s, s:b}", "name", name, "deleted", 1));
            return send_error(c, (unsigned)status, msg);
        }
        return send_error(c, 405, "GET or DELETE");
    }
    if (strcmp(action, "policy") == 0 && strcmp(method, "GET") == 0)
        return send_json(c, 200, tld_attest_policy(t, n));
    if (strcmp(action, "console") == 0 && strcmp(method, "GET") == 0)
        return send_console(c, n);
    if (strcmp(method, "POST") != 0)
        return send_error(c, 405, "POST");
    if (strcmp(action, "enroll") == 0 || strcmp(action, "activate") == 0 ||
        strcmp(action, "nonce") == 0 || strcmp(action, "attest") == 0) {
        const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
        json_t *answer = NULL;
        status = tld_attest_handle(t, n, action, auth, rq->json, &answer, msg, sizeof(msg));
        if (status)
            return send_error(c, (unsigned)status, msg);
        return send_json(c, 200, answer);
    }
    if (strcmp(action, "report") == 0) {
        const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
        status = tld_report_accept(t, n, auth, rq->body ? rq->body : "", rq->len, msg, sizeof(msg));
        if (status)
            return send_error(c, (unsigned)status, msg);
        return send_json(c, 200, json_pack("{s:s, s:b}", "node", n->name, "accepted", 1));
    }
    json_t *req = parse_body(rq, msg, sizeof(msg));
    if (!req)
        return send_error(c, 400, msg);
    if (strcmp(action, "start") == 0)
        status = tld_node_start(t, n, msg, sizeof(msg));
    else if (strcmp(action, "stop") == 0)
        status = tld_node_stop(t, n, msg, sizeof(msg));
    else if (strcmp(action, "reimage") == 0)
        status = tld_node_reimage(t, n, req, msg, sizeof(msg));
    else if (strcmp(action, "policy/learn") == 0)
        status = tld_attest_learn(t, n, msg, sizeof(msg));
    json_decref(req);
    if (status < 0)
        return send_error(c, 404, "no such action (start, stop, reimage, report, console)");
    if (status)
        return send_error(c, (unsigned)status, msg);
    return send_json(c, 200, tld_node_json(t, n));
}

/* /v1/nodes/NAME/{enroll,activate,nonce,attest} */
static bool is_agent_call(const char *url)
{
    const char *prefix = "/v1/nodes/";
    if (strncmp(url, prefix, strlen(prefix)) != 0)
        return false;
    const char *slash = strchr(url + strlen(prefix), '/');
    return slash && (strcmp(slash, "/enroll") == 0 || strcmp(slash, "/activate") == 0 ||
                     strcmp(slash, "/nonce") == 0 || strcmp(slash, "/attest") == 0);
}

/* POST /v1/nodes/NAME/attest: the lock for attest.c's begin and finish
 * only; the quote and the event log are checked without it. */
static enum MHD_Result attest_call(struct MHD_Connection *c, const char *url, struct request *rq)
{
    struct tld *t = api_tld;
    char name[TLD_NAME_MAX + 2], msg[512] = "";
    const char *rest = url + strlen("/v1/nodes/");
    size_t nlen = strcspn(rest, "/");
    if (nlen == 0 || nlen > TLD_NAME_MAX)
        return send_error(c, 404, "no such node");
    memcpy(name, rest, nlen);
    name[nlen] = 0;
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    struct tld_attest_job *job = NULL;
    json_t *answer = NULL;
    int status;
    pthread_mutex_lock(&t->lock);
    struct tld_node *n = tld_node_find(t, name);
    if (n)
        status = tld_attest_begin(n, auth, rq->json, &job, msg, sizeof(msg));
    else
        status = 404, snprintf(msg, sizeof(msg), "no node named %s", name);
    pthread_mutex_unlock(&t->lock);
    if (!status)
        status = tld_attest_work(job, msg, sizeof(msg));
    if (!status) {
        pthread_mutex_lock(&t->lock);
        status = tld_attest_finish(t, job, auth, &answer, msg, sizeof(msg));
        pthread_mutex_unlock(&t->lock);
    }
    tld_attest_job_free(job);
    if (status)
        return send_error(c, (unsigned)status, msg);
    return send_json(c, 200, answer);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
    (void)cls;
    (void)version;
    struct request *rq = *con_cls;
    if (!rq) {
        rq = calloc(1, sizeof(*rq));
        if (!rq)
            return MHD_NO;
        *con_cls = rq;
        return MHD_YES;
    }
    if (*upload_size) {
        if (!rq->too_large && rq->len + *upload_size <= TLD_BODY_MAX) {
            char *nb = realloc(rq->body, rq->len + *upload_size + 1);
            if (!nb)
                return MHD_NO;
            rq->body = nb;
            memcpy(rq->body + rq->len, upload, *upload_size);
            rq->len += *upload_size;
            rq->body[rq->len] = 0;
        } else {
            rq->too_large = true;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, "POST") == 0 && !rq->too_large && !rq->json && is_agent_call(url)) {
        rq->json = tld_agent_body_parse(rq->body, rq->len);
        const char *slash = strchr(url + strlen("/v1/nodes/"), '/');
        if (slash && strcmp(slash, "/attest") == 0)
            return attest_call(c, url, rq);
    }
    pthread_mutex_lock(&api_tld->lock);
    enum MHD_Result r = route(c, method, url, rq);
    pthread_mutex_unlock(&api_tld->lock);
    return r;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode code)
{
    (void)cls;
    (void)c;
    (void)code;
    struct request *rq = *con_cls;
    if (rq) {
        json_decref(rq->json);
        free(rq->body);
        free(rq);
    }
    *con_cls = NULL;
}

int tld_api_start(struct tld *t, const char *listen_addr, int *port)
{
    api_tld = t;
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
    daemon_ = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG, 0,
        NULL, NULL, handler, NULL, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_NOTIFY_COMPLETED,
        completed, NULL, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)256, MHD_OPTION_END);
    if (!daemon_)
        return -EADDRINUSE;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
    *port = info ? info->port : (int)p;
    return 0;
}

void tld_api_stop(void)
{
    if (daemon_)
        MHD_stop_daemon(daemon_);
    daemon_ = NULL;
}
