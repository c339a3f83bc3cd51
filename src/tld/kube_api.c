/* The read-only Kubernetes API kubectl reads (docs/api.md "Kubernetes
 * API"): its own HTTPS listener on 127.0.0.1 (kube_cert.c's certificate;
 * the port in HOME/kube.addr), separate from the admin listener, so that
 * kubectl's TLS and bearer-token client talks to it unchanged.
 *
 * Two views, by path:
 *   /clusters/GROUP/NAME/...  a managed cluster's nodes (its pools'):
 *                             what `tl aks get-credentials` points at;
 *                             its cluster's token (the kubeconfig's), a
 *                             reader's or the operator's may read it
 *   /...                      every node tld has (external ones too): a
 *                             reader's or the operator's token
 * Served: discovery (/api, /api/v1, /apis), core/v1 nodes (list with
 * labelSelector, fieldSelector metadata.name, limit and continue; get;
 * watch, kube_watch.c) and the empty pod and event lists `kubectl
 * describe node` reads (no kubelet runs: no pod is ever on a node).
 * Everything else answers as the Kubernetes API does, with a Status
 * object: 401 without a valid token, 403 for a token that may not read
 * this view, 404 for what is not served, 405 for a method other than GET,
 * 400 naming the parameter for a bad selector.
 *
 * Bounded: TLD_KUBE_CONNECTIONS connections (TLD_KUBE_PER_CLIENT from one
 * address), each idle one closed after TLD_IDLE_TIMEOUT; no request body
 * is read; a page has at most KUBE_PAGE_MAX nodes; TLD_KUBE_WATCHES
 * watches at once, none longer than TLD_KUBE_WATCH_MAX. A guest cannot
 * reach it: QEMU's user network forwards only its agent channel. */
#include <arpa/inet.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fleet.h"
#include "kube.h"
#include "tl/k8s.h"

#define KUBE_PAGE_MAX 1000

static enum MHD_Result send_status(struct MHD_Connection *c, unsigned code, const char *reason,
                                   const char *message)
{
    return kube_send_json(c, code, kube_status(code, reason, message));
}

/* ---- who may read which view ---- */

/* The cluster a /clusters/GROUP/NAME/ path names into v (group, name),
 * *rest what follows; false when the path is not of that form. */
static bool cluster_path(const char *url, struct kube_view *v, const char **rest)
{
    const char *p = url + strlen("/clusters/");
    size_t g = strcspn(p, "/");
    if (g == 0 || g >= sizeof(v->group) || p[g] != '/')
        return false;
    const char *q = p + g + 1;
    size_t n = strcspn(q, "/");
    if (n == 0 || n >= sizeof(v->name))
        return false;
    memcpy(v->group, p, g);
    v->group[g] = 0;
    memcpy(v->name, q, n);
    v->name[n] = 0;
    *rest = q + n;
    return tld_fleet_group_name_ok(v->group) && tld_fleet_cluster_name_ok(v->name);
}

/* 0 when authz may read view v; else a status with its reason and msg. */
static unsigned admit(struct tld *t, const char *authz, const struct kube_view *v,
                      const char **reason, char *msg, size_t msz)
{
    *reason = "Unauthorized";
    if (!authz)
        return ERR(401, "Unauthorized");
    struct tld_caller who;
    int a = tld_auth_caller(t, authz, &who);
    if (a == 0) {
        if (who.role == TLD_ROLE_OPERATOR || who.role == TLD_ROLE_READER)
            return 0;
        *reason = "Forbidden";
        return ERR(403, "%s (role %s) may not read nodes: a reader's token may", who.who,
                   tld_role_name(who.role));
    }
    uint8_t h[32], want[32];
    if (!v->cluster || !tld_bearer_hash(authz, h))
        return ERR(401, "Unauthorized");
    tld_lock_at(t, "kube API: a cluster's token");
    struct tld_cluster *c = tld_fleet_cluster_find(t->fleet, v->group, v->name);
    if (c)
        tld_secret_hash(c->token, strlen(c->token), want);
    tld_unlock(t);
    if (!c || CRYPTO_memcmp(h, want, 32) != 0) /* the same whether the cluster exists or not */
        return ERR(401, "Unauthorized");
    return 0;
}

/* ---- the view's nodes ---- */

static json_t *list_of(const char *kind, json_t *items, const char *rv, const char *cont)
{
    json_t *meta = json_pack("{s:s}", "resourceVersion", rv);
    if (cont)
        json_object_set_new(meta, "continue", json_string(cont));
    return json_pack("{s:s, s:s, s:o, s:o}", "kind", kind, "apiVersion", "v1", "metadata", meta,
                     "items", items);
}

static enum MHD_Result send_nodes(struct MHD_Connection *c, json_t *j, bool list)
{
    if (!kube_wants_table(c))
        return kube_send_json(c, 200, j);
    json_t *items = list ? json_incref(json_object_get(j, "items")) : json_pack("[O]", j);
    json_t *meta = list ? json_incref(json_object_get(j, "metadata")) : json_object();
    json_t *t = kube_table(items, meta);
    json_decref(items);
    json_decref(meta);
    json_decref(j);
    return kube_send_json(c, 200, t);
}

static enum MHD_Result nodes_list(struct tld *t, struct MHD_Connection *c,
                                  const struct kube_view *v)
{
    char msg[512];
    size_t msz = sizeof(msg);
    struct kube_query q;
    if (kube_query_parse(c, &q, msg, msz))
        return send_status(c, 400, "BadRequest", msg);
    const char *lim = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
    const char *cont = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "continue");
    long limit = lim ? strtol(lim, NULL, 10) : 0;
    if (limit <= 0 || limit > KUBE_PAGE_MAX)
        limit = KUBE_PAGE_MAX;
    long skip = 0;
    if (cont && *cont) { /* ours: "o" and how many matching nodes came before */
        char *end;
        skip = cont[0] == 'o' ? strtol(cont + 1, &end, 10) : -1;
        if (skip < 0 || cont[0] != 'o' || *end) {
            kube_query_free(&q);
            return send_status(c, 410, "Expired",
                               "continue: not a continue token of this server; list again");
        }
    }
    char rv[32], next[32];
    kube_list_version(rv);
    json_t *items = json_array();
    long seen = 0;
    bool more = false;
    tld_lock_at(t, "kube API: nodes");
    for (size_t i = 0; i < t->n_nodes; i++) {
        const struct tld_node *n = t->nodes[i];
        if (!kube_view_has(t, v, n) || !kube_node_selected(&q, n))
            continue;
        if (seen++ < skip)
            continue;
        if ((long)json_array_size(items) == limit) {
            more = true;
            break;
        }
        json_array_append_new(items, tld_kube_node(t, n));
    }
    tld_unlock(t);
    kube_query_free(&q);
    snprintf(next, sizeof(next), "o%ld", skip + limit);
    return send_nodes(c, list_of("NodeList", items, rv, more ? next : NULL), true);
}

static enum MHD_Result node_get(struct tld *t, struct MHD_Connection *c, const struct kube_view *v,
                                const char *name)
{
    tld_lock_at(t, "kube API: a node");
    struct tld_node *n = strlen(name) <= TLD_NAME_MAX ? tld_node_find(t, name) : NULL;
    json_t *j = n && !n->busy && kube_view_has(t, v, n) ? tld_kube_node(t, n) : NULL;
    tld_unlock(t);
    if (j)
        return send_nodes(c, j, false);
    char msg[160];
    snprintf(msg, sizeof(msg), "nodes \"%.63s\" not found", name);
    json_t *s = kube_status(404, "NotFound", msg);
    json_object_set_new(s, "details", json_pack("{s:s, s:s}", "name", name, "kind", "nodes"));
    return kube_send_json(c, 404, s);
}

static json_t *resource(const char *name, const char *kind, bool namespaced, const char *verbs,
                        const char *short_name)
{
    json_t *v = json_array();
    for (const char *p = verbs; *p;) {
        size_t n = strcspn(p, ",");
        json_array_append_new(v, json_stringn(p, n));
        p += n + (p[n] == ',');
    }
    json_t *r = json_pack("{s:s, s:s, s:s, s:b, s:o}", "name", name, "singularName", "", "kind",
                          kind, "namespaced", namespaced, "verbs", v);
    if (short_name)
        json_object_set_new(r, "shortNames", json_pack("[s]", short_name));
    return r;
}

static json_t *discovery_v1(void)
{
    return json_pack("{s:s, s:s, s:s, s:[o, o, o]}", "kind", "APIResourceList", "apiVersion", "v1",
                     "groupVersion", "v1", "resources",
                     resource("nodes", "Node", false, "get,list,watch", "no"),
                     resource("pods", "Pod", true, "list", "po"),
                     resource("events", "Event", true, "list", "ev"));
}

/* An empty list of pods or events, in any namespace: no kubelet runs, no
 * pod is on any node, nothing is recorded as an event. */
static bool empty_list(const char *rest, const char **kind)
{
    const char *p = rest;
    if (strncmp(p, "/namespaces/", 12) == 0) {
        p += 12;
        size_t ns = strcspn(p, "/");
        if (ns == 0 || ns > 63)
            return false;
        p += ns;
    }
    if (strcmp(p, "/pods") == 0)
        *kind = "PodList";
    else if (strcmp(p, "/events") == 0)
        *kind = "EventList";
    else
        return false;
    return true;
}

static enum MHD_Result route(struct tld *t, struct MHD_Connection *c, const struct kube_view *v,
                             const char *path)
{
    const char *kind;
    if (strcmp(path, "/api") == 0)
        return kube_send_json(c, 200,
                              json_pack("{s:s, s:[s], s:[{s:s, s:s}]}", "kind", "APIVersions",
                                        "versions", "v1", "serverAddressByClientCIDRs",
                                        "clientCIDR", "0.0.0.0/0", "serverAddress", "127.0.0.1"));
    if (strcmp(path, "/apis") == 0)
        return kube_send_json(
            c, 200,
            json_pack("{s:s, s:s, s:[]}", "kind", "APIGroupList", "apiVersion", "v1", "groups"));
    if (strcmp(path, "/api/v1") == 0)
        return kube_send_json(c, 200, discovery_v1());
    if (strcmp(path, "/api/v1/nodes") == 0) {
        const char *w = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "watch");
        if (w && (strcmp(w, "true") == 0 || strcmp(w, "1") == 0))
            return kube_watch(t, c, v);
        return nodes_list(t, c, v);
    }
    if (strncmp(path, "/api/v1/nodes/", 14) == 0 && path[14] && !strchr(path + 14, '/'))
        return node_get(t, c, v, path + 14);
    if (strncmp(path, "/api/v1", 7) == 0 && empty_list(path + 7, &kind)) {
        char rv[32];
        kube_list_version(rv);
        return kube_send_json(c, 200, list_of(kind, json_array(), rv, NULL));
    }
    if (strncmp(path, "/apis/coordination.k8s.io/", 26) == 0) /* describe node's Lease */
        return send_status(c, 404, "NotFound", "no node leases: no kubelet runs on these nodes");
    return send_status(c, 404, "NotFound", "the server could not find the requested resource");
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
    (void)version, (void)upload;
    struct tld *t = cls;
    if (*con_cls) { /* a body: never read (the answer is queued already) */
        *upload_size = 0;
        return MHD_YES;
    }
    *con_cls = c;
    struct kube_view v = {0};
    const char *path = url;
    if (strncmp(url, "/clusters/", 10) == 0) {
        if (!cluster_path(url, &v, &path))
            return send_status(c, 404, "NotFound", "no such cluster path");
        v.cluster = true;
    }
    char msg[256];
    const char *reason;
    unsigned st = admit(t, MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"), &v,
                        &reason, msg, sizeof(msg));
    if (st)
        return send_status(c, st, reason, msg);
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return send_status(c, 405, "MethodNotAllowed",
                           "this Kubernetes API is read-only: GET, list and watch");
    return route(t, c, &v, path);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode code)
{
    (void)cls, (void)c, (void)code;
    *con_cls = NULL;
}

static struct MHD_Daemon *start(struct tld *t, const struct sockaddr_in *sa)
{
    return MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                                MHD_USE_POLL | MHD_USE_TLS | MHD_USE_ERROR_LOG,
                            0, NULL, NULL, handler, t, MHD_OPTION_SOCK_ADDR, sa,
                            MHD_OPTION_HTTPS_MEM_KEY, t->kube.key_pem, MHD_OPTION_HTTPS_MEM_CERT,
                            t->kube.cert_pem, MHD_OPTION_NOTIFY_COMPLETED, completed, t,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)TLD_IDLE_TIMEOUT,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)TLD_KUBE_CONNECTIONS,
                            MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)TLD_KUBE_PER_CLIENT,
                            MHD_OPTION_THREAD_STACK_SIZE, (size_t)(256u << 10), MHD_OPTION_END);
}

int tld_kube_start(struct tld *t, struct tl_error *err)
{
    int r = tld_kube_cert_load(t, err);
    if (r < 0)
        return r;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int previous = tld_addr_previous(t, "kube.addr", "https");
    if (previous > 0) { /* kubeconfigs name it: the same port again when free */
        sa.sin_port = htons((uint16_t)previous);
        t->kube.daemon = start(t, &sa);
    }
    if (!t->kube.daemon) {
        sa.sin_port = 0;
        t->kube.daemon = start(t, &sa);
    }
    if (!t->kube.daemon)
        return tl_error_set_nopos(err, -EADDRINUSE, "cannot serve the Kubernetes API on 127.0.0.1");
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(t->kube.daemon, MHD_DAEMON_INFO_BIND_PORT);
    t->kube.port = info ? info->port : 0;
    r = tld_addr_write(t, "kube.addr", "https", t->kube.port);
    if (r < 0)
        return tl_error_set_nopos(err, r, "%s/kube.addr: cannot write: %s", t->home, strerror(-r));
    return 0;
}

void tld_kube_stop(struct tld *t)
{
    if (t->kube.daemon)
        MHD_stop_daemon(t->kube.daemon);
    t->kube.daemon = NULL;
    tld_kube_cert_free(t);
}
