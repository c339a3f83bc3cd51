/* What the Kubernetes API's files share (kube_api.c the server, its
 * views and lists; kube_watch.c a watch's stream). Internal to them; the
 * rest of tld sees tld.h's tld_kube_*. */
#pragma once

#include <microhttpd.h>
#include <stdbool.h>

#include "tl/k8s.h"
#include "tld.h"

/* Which nodes a request sees: a managed cluster's (cluster) or all. */
struct kube_view {
    bool cluster;
    char group[91], name[64];
};

/* A list's or a watch's selectors. */
struct kube_query {
    struct tl_selector labels, fields; /* fields: metadata.name = / != only */
};

/* A Status object (the Kubernetes API's error), and an answer sent (j taken) */
json_t *kube_status(unsigned code, const char *reason, const char *message);
enum MHD_Result kube_send_json(struct MHD_Connection *c, unsigned code, json_t *j);
bool kube_view_has(struct tld *t, const struct kube_view *v, const struct tld_node *n);
/* Not being created or changed, and the selectors hold. */
bool kube_node_selected(const struct kube_query *q, const struct tld_node *n);
/* 0, or 400 with msg naming the parameter. */
int kube_query_parse(struct MHD_Connection *c, struct kube_query *q, char *msg, size_t msz);
void kube_query_free(struct kube_query *q);
/* A list's resourceVersion: the time, in ms (a watch compares nothing with it) */
void kube_list_version(char out[32]);
/* kubectl's get asks for a Table (Accept: ...;as=Table;g=meta.k8s.io); the
 * Table of items (Nodes, not taken) with list_meta (not taken) */
bool kube_wants_table(struct MHD_Connection *c);
json_t *kube_table(json_t *items, json_t *list_meta);
/* GET .../api/v1/nodes?watch=true: the answer (kube_watch.c) */
enum MHD_Result kube_watch(struct tld *t, struct MHD_Connection *c, const struct kube_view *v);
