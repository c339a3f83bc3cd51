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
 * This file is the server: the two daemons, a request's admission and
 * body, dispatch. The routing table and its handlers are routes.c's, a
 * call's helpers call.c's (api.h). A handler runs under tld.lock unless
 * its route is F_UNLOCKED (report, enroll, attest, the fleet, the
 * console): those take it around their short parts and do their slow
 * work (a log replayed, a quote checked, CA files read, an image's ESP
 * read) between. */
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

#include "api.h"

#define CONSOLE_MAX (4u << 20)

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
    size_t n_routes;
    const struct route *routes = api_routes(&n_routes);
    for (size_t i = 0; i < n_routes; i++) {
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
    tld_lock(t);
    struct tld_node *n = tld_node_find(t, name);
    bool ok = n && tld_token_ok(n, authz);
    tld_unlock(t);
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
        tld_lock(t);
        struct tld_node *n = tld_node_find(t, rq->arg[0]);
        bool ok = n && tld_token_ok(n, authz);
        int sr;
        /* created through another replica? A node we know is not asked
         * of the store here: a flood of wrong tokens is refused at
         * memory's speed, with nothing read (docs/scale.md: a token
         * changed through another replica) */
        if (!ok && tld_store_shared(t) && !n)
            ok = (n = tld_store_node_sync(t, rq->arg[0], false, &sr)) && tld_token_ok(n, authz);
        tld_unlock(t);
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
        rq->method = tld_metrics_method(method);
        char msg[512] = "";
        unsigned status = 0;
        rq->route = find_route(method, url, rq, &status);
        if (!rq->route && (status = unrouted(t, c, status, msg, sizeof(msg))))
            return api_send_error(c, status, msg);
        status = admit(t, c, rq->route, rq, msg, sizeof(msg));
        if (status)
            return api_send_error(c, status, msg);
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
        return api_send_error(c, 413, "request body too large");
    if (rq->busy)
        return api_send_error(c, 503, "too many request bodies in flight; retry");
    struct call k = {.t = t, .c = c, .method = method, .url = url, .rq = rq};
    if ((rq->route->flags & F_JSON_EARLY) && !rq->json)
        rq->json = tld_agent_body_parse(rq->body, rq->len);
    if (rq->route->flags & F_UNLOCKED)
        return rq->route->fn(&k);
    tld_lock_at(t, rq->route->pattern);
    enum MHD_Result r = rq->route->fn(&k);
    tld_unlock(t);
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
        /* the answer's status, by its route's pattern (never the path:
         * names would make a series each); none when no answer was queued */
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_HTTP_STATUS);
        if (ci && ci->http_status)
            tld_metrics_http(&t->metrics, rq->route ? rq->route->pattern : "unmatched", rq->method,
                             ci->http_status);
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
    size_t n_routes;
    const struct route *routes = api_routes(&n_routes);
    for (size_t i = 0; i < n_routes; i++) {
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
