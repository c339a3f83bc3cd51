/* A watch of nodes (GET .../api/v1/nodes?watch=true), as kubectl reads
 * one: a stream of {"type": ADDED|MODIFIED|DELETED, "object": Node}
 * lines. Without a resourceVersion (or "0") it opens with every node the
 * view and selectors take, as ADDED; with one (kubectl's `get -w` after
 * its list) it starts from what is there now. Then once a second the
 * nodes' versions (kube_node.c: state, boots, latest attestation) are
 * compared under tld.lock and what changed is sent; a node that leaves the
 * view or stops matching is DELETED, as the Kubernetes API does. A blank
 * line every KEEPALIVE seconds keeps the connection from idling out.
 *
 * Bounded: TLD_KUBE_WATCHES at once (429 beyond); each ends after
 * timeoutSeconds, at most TLD_KUBE_WATCH_MAX, or when tld stops (within a
 * second). It runs in its connection's own thread (thread per connection). */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kube.h"

#define KEEPALIVE 10 /* s */

struct watch {
    struct tld *t;
    struct kube_view view;
    struct kube_query q;
    json_t *seen;               /* name -> the metadata last sent */
    long long until, last_sent; /* CLOCK_MONOTONIC s */
    bool started, quiet_start;
    bool table; /* each object a Table of its one row (kubectl's get -w) */
    char *buf;
    size_t len, off, cap;
};

static long long mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec;
}

static void emit(struct watch *w, const char *type, json_t *obj)
{
    if (w->table && obj) {
        json_t *items = json_pack("[o]", obj), *meta = json_object();
        obj = kube_table(items, meta);
        json_decref(items);
        json_decref(meta);
    }
    json_t *ev = json_pack("{s:s, s:o}", "type", type, "object", obj);
    char *line = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
    json_decref(ev);
    if (!line)
        return;
    size_t n = strlen(line);
    if (w->len + n + 1 > w->cap) {
        size_t cap = (w->len + n + 1) * 2;
        char *b = realloc(w->buf, cap);
        if (!b) {
            free(line);
            return;
        }
        w->buf = b;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, line, n);
    w->buf[w->len + n] = '\n';
    w->len += n + 1;
    free(line);
}

/* What changed since the last look, into w->buf. */
static void look(struct watch *w, bool silent)
{
    struct tld *t = w->t;
    json_t *now = json_object();
    tld_lock_at(t, "kube API: a watch");
    for (size_t i = 0; i < t->n_nodes; i++) {
        const struct tld_node *n = t->nodes[i];
        if (!kube_view_has(t, &w->view, n) || !kube_node_selected(&w->q, n))
            continue;
        char rv[32];
        tld_kube_node_version(n, rv);
        json_t *before = json_object_get(w->seen, n->name);
        const char *was = json_string_value(json_object_get(before, "resourceVersion"));
        if (was && strcmp(was, rv) == 0) { /* unchanged: not built again */
            json_object_set(now, n->name, before);
            continue;
        }
        json_t *obj = tld_kube_node(t, n);
        json_object_set(now, n->name, json_object_get(obj, "metadata"));
        if (silent)
            json_decref(obj);
        else
            emit(w, before ? "MODIFIED" : "ADDED", obj);
    }
    tld_unlock(t);
    const char *name;
    json_t *meta;
    json_object_foreach(w->seen, name, meta)
    {
        if (!json_object_get(now, name) && !silent)
            emit(
                w, "DELETED",
                json_pack("{s:s, s:s, s:O}", "kind", "Node", "apiVersion", "v1", "metadata", meta));
    }
    json_decref(w->seen);
    w->seen = now;
}

static ssize_t reader(void *cls, uint64_t pos, char *out, size_t max)
{
    (void)pos;
    struct watch *w = cls;
    for (;;) {
        if (w->off < w->len) {
            size_t n = w->len - w->off < max ? w->len - w->off : max;
            memcpy(out, w->buf + w->off, n);
            w->off += n;
            w->last_sent = mono();
            return (ssize_t)n;
        }
        w->len = w->off = 0;
        if (w->t->quit || mono() >= w->until)
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (!w->started) {
            w->started = true;
            look(w, w->quiet_start);
            continue;
        }
        struct timespec second = {1, 0};
        nanosleep(&second, NULL);
        look(w, false);
        if (w->len == 0 && mono() - w->last_sent >= KEEPALIVE) {
            out[0] = '\n';
            w->last_sent = mono();
            return 1;
        }
    }
}

static void done(void *cls)
{
    struct watch *w = cls;
    atomic_fetch_sub(&w->t->kube.watches, 1);
    kube_query_free(&w->q);
    json_decref(w->seen);
    free(w->buf);
    free(w);
}

enum MHD_Result kube_watch(struct tld *t, struct MHD_Connection *c, const struct kube_view *v)
{
    char msg[512];
    size_t msz = sizeof(msg);
    struct watch *w = calloc(1, sizeof(*w));
    if (!w)
        return MHD_NO;
    if (kube_query_parse(c, &w->q, msg, msz)) {
        free(w);
        return kube_send_json(c, 400, kube_status(400, "BadRequest", msg));
    }
    if (atomic_fetch_add(&t->kube.watches, 1) >= TLD_KUBE_WATCHES) {
        atomic_fetch_sub(&t->kube.watches, 1);
        kube_query_free(&w->q);
        free(w);
        snprintf(msg, sizeof(msg), "too many watches at once (%d); retry", TLD_KUBE_WATCHES);
        return kube_send_json(c, 429, kube_status(429, "TooManyRequests", msg));
    }
    const char *ts = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "timeoutSeconds");
    const char *rv = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "resourceVersion");
    long secs = ts ? strtol(ts, NULL, 10) : 0;
    if (secs <= 0 || secs > TLD_KUBE_WATCH_MAX)
        secs = TLD_KUBE_WATCH_MAX;
    w->t = t;
    w->view = *v;
    w->seen = json_object();
    w->until = mono() + secs;
    w->last_sent = mono();
    w->quiet_start = rv && *rv && strcmp(rv, "0") != 0;
    w->table = kube_wants_table(c);
    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, reader, w, done);
    if (!r) {
        done(w);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "application/json");
    MHD_add_response_header(r, "Cache-Control", "no-cache, private");
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
}
