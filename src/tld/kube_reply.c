/* The Kubernetes API's requests and replies (kube.h), shared by the list
 * and get routes (kube_api.c) and the watch stream (kube_watch.c): a
 * request's query (labelSelector, fieldSelector, limit, continue), which
 * nodes a view and a query select, Status objects, JSON answers and the
 * Table kubectl's get asks for. Apart from kube_api.c so that the watch
 * stream and the routes it is dispatched from form no circle. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fleet.h"
#include "kube.h"
#include "tl/k8s.h"

json_t *kube_status(unsigned code, const char *reason, const char *message)
{
    return json_pack("{s:s, s:s, s:{}, s:s, s:s, s:s, s:i}", "kind", "Status", "apiVersion", "v1",
                     "metadata", "status", "Failure", "message", message, "reason", reason, "code",
                     (int)code);
}

enum MHD_Result kube_send_json(struct MHD_Connection *c, unsigned code, json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text)
        return MHD_NO;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "application/json");
    MHD_add_response_header(r, "Cache-Control", "no-cache, private");
    enum MHD_Result ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

bool kube_view_has(struct tld *t, const struct kube_view *v, const struct tld_node *n)
{
    (void)t;
    if (!v->cluster)
        return true;
    if (!n->pool)
        return false;
    const struct tld_cluster *c = n->pool->cluster;
    return strcasecmp(c->group, v->group) == 0 && strcasecmp(c->name, v->name) == 0;
}

bool kube_node_selected(const struct kube_query *q, const struct tld_node *n)
{
    if (n->busy)
        return false; /* being created or changed: shown once done */
    struct tl_label name = {"metadata.name", n->name};
    if (!tl_selector_matches(&q->fields, &name, 1))
        return false;
    if (!q->labels.n)
        return true;
    json_t *labels = tld_kube_node_labels(n);
    struct tl_label l[64];
    size_t k = 0;
    const char *key;
    json_t *val;
    json_object_foreach(labels, key, val) if (k < 64) l[k++] =
        (struct tl_label){key, json_string_value(val)};
    bool ok = tl_selector_matches(&q->labels, l, k);
    json_decref(labels);
    return ok;
}

/* labelSelector and fieldSelector (metadata.name only, = == !=): 0, or
 * 400 with msg naming the parameter. */
int kube_query_parse(struct MHD_Connection *c, struct kube_query *q, char *msg, size_t msz)
{
    *q = (struct kube_query){0};
    struct tl_error err = {0};
    const char *ls = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "labelSelector");
    if (ls && tl_selector_parse(ls, &q->labels, &err) < 0)
        return ERR(400, "labelSelector: %s", err.message);
    const char *fs = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "fieldSelector");
    if (fs && tl_selector_parse(fs, &q->fields, &err) < 0) {
        tl_selector_free(&q->labels);
        return ERR(400, "fieldSelector: %s", err.message);
    }
    for (size_t i = 0; i < q->fields.n; i++) {
        const struct tl_selector_req *r = &q->fields.reqs[i];
        if (strcmp(r->key, "metadata.name") != 0 || (r->op != TL_SEL_EQ && r->op != TL_SEL_NE)) {
            kube_query_free(q);
            return ERR(400,
                       "fieldSelector: \"%s\" is not a supported field selector (metadata.name=, "
                       "metadata.name!=)",
                       fs);
        }
    }
    return 0;
}

void kube_query_free(struct kube_query *q)
{
    tl_selector_free(&q->labels);
    tl_selector_free(&q->fields);
}

/* ---- answers ---- */

void kube_list_version(char out[32])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(out, 32, "%lld", (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* kubectl asks for a Table (Accept: ...;as=Table;g=meta.k8s.io): the
 * columns a kubelet's Node prints (NAME STATUS ROLES AGE VERSION), each
 * row with the node's metadata (--show-labels reads its labels). */
bool kube_wants_table(struct MHD_Connection *c)
{
    const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept");
    return a && strstr(a, "as=Table") && strstr(a, "g=meta.k8s.io");
}

static void age(const char *created, char out[16])
{
    struct tm tm = {0};
    long long d = 0;
    if (created && strptime(created, "%Y-%m-%dT%H:%M:%SZ", &tm))
        d = (long long)time(NULL) - (long long)timegm(&tm);
    if (d < 0)
        d = 0;
    if (d < 120)
        snprintf(out, 16, "%llds", d);
    else if (d < 7200)
        snprintf(out, 16, "%lldm", d / 60);
    else if (d < 2 * 86400)
        snprintf(out, 16, "%lldh", d / 3600);
    else
        snprintf(out, 16, "%lldd", d / 86400);
}

json_t *kube_table(json_t *items, json_t *list_meta)
{
    json_t *rows = json_array();
    size_t i;
    json_t *node;
    json_array_foreach(items, i, node)
    {
        json_t *meta = json_object_get(node, "metadata");
        json_t *status = json_object_get(node, "status");
        const char *ready = "Unknown";
        json_t *conds = json_object_get(status, "conditions");
        for (size_t j = 0; j < json_array_size(conds); j++) {
            json_t *cnd = json_array_get(conds, j);
            if (strcmp(json_string_value(json_object_get(cnd, "type")) ?: "", "Ready") == 0)
                ready = json_string_value(json_object_get(cnd, "status"));
        }
        char a[16];
        age(json_string_value(json_object_get(meta, "creationTimestamp")), a);
        json_array_append_new(
            rows, json_pack("{s:[s, s, s, s, s], s:{s:s, s:s, s:O}}", "cells",
                            json_string_value(json_object_get(meta, "name")) ?: "",
                            strcmp(ready ?: "", "True") == 0 ? "Ready" : "NotReady", "<none>", a,
                            json_string_value(json_object_get(json_object_get(status, "nodeInfo"),
                                                              "kubeletVersion"))
                                ?: "",
                            "object", "kind", "PartialObjectMetadata", "apiVersion",
                            "meta.k8s.io/v1", "metadata", meta));
    }
    json_t *cols = json_array();
    const char *const names[] = {"Name", "Status", "Roles", "Age", "Version"};
    for (size_t k = 0; k < 5; k++)
        json_array_append_new(cols, json_pack("{s:s, s:s, s:s, s:s, s:i}", "name", names[k], "type",
                                              "string", "format", k == 0 ? "name" : "",
                                              "description", "", "priority", 0));
    json_t *t =
        json_pack("{s:s, s:s, s:O, s:o, s:o}", "kind", "Table", "apiVersion", "meta.k8s.io/v1",
                  "metadata", list_meta, "columnDefinitions", cols, "rows", rows);
    return t;
}

/* The answer in the form asked for: j itself, or (kubectl's get) a Table
 * of its nodes. */
