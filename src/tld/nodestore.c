/* Nodes in the store: the node side of the store's inversion. store.c
 * keeps documents (kind, key, JSON) and knows nothing of nodes; here a
 * node becomes its document of kind "node" under its name (node.c's
 * tld_node_doc: everything, secrets and pids included) and back
 * (tld_node_from_doc), and the table is filled at start. */
#include <errno.h>
#include <string.h>

#include "tld.h"

#define NODE_KIND "node"

int tld_store_save(struct tld *t, const struct tld_node *n)
{
    json_t *doc = tld_node_doc(n);
    if (!doc)
        return -ENOMEM;
    int r = tld_store_resource_put(t, NODE_KIND, n->name, doc);
    json_decref(doc);
    return r;
}

int tld_store_node_join(struct tld *t, const struct tld_node *n, long long id, const char *verdict,
                        const json_t *record, struct tld_store_pending **out)
{
    json_t *doc = tld_node_doc(n);
    if (!doc)
        return -ENOMEM;
    int r = tld_store_group_join(t, id, n->name, verdict, record, NODE_KIND, n->name, doc, out);
    json_decref(doc);
    return r;
}

int tld_store_delete(struct tld *t, const char *name)
{
    return tld_store_resource_delete(t, NODE_KIND, name);
}

static int load_one(void *ctx, const char *name, json_t *doc)
{
    struct tld *t = ctx;
    struct tld_node *n = NULL;
    if (!doc || tld_node_from_doc(t, doc, &n) < 0) {
        tld_log("store: node %s: unreadable record, skipped", name);
        return 0;
    }
    int r = tld_node_add(t, n);
    if (r < 0)
        tld_node_free(n);
    return r;
}

int tld_store_load(struct tld *t)
{
    return tld_store_resource_each(t, NODE_KIND, load_one, t);
}

/* What another tld may have changed of a node (its agent's calls, an
 * operator's through the other replica): moved from the record just read
 * into the table's node, which keeps what is this tld's own (its
 * processes, an operation in flight, the name index, its pool). */
static void node_take(struct tld_node *n, struct tld_node *fresh, bool same_ak)
{
#define TAKE(field)                                                                                \
    do {                                                                                           \
        __typeof__(n->field) _old = n->field;                                                      \
        n->field = fresh->field;                                                                   \
        fresh->field = _old;                                                                       \
    } while (0)
    memcpy(n->uuid, fresh->uuid, sizeof(n->uuid));
    memcpy(n->reason, fresh->reason, sizeof(n->reason));
    memcpy(n->token_sha256, fresh->token_sha256, sizeof(n->token_sha256));
    n->spec = fresh->spec; /* interned strings: copied by value */
    n->state = fresh->state;
    n->created = fresh->created, n->started = fresh->started, n->stopped = fresh->stopped;
    n->boots = fresh->boots;
    n->attestation = fresh->attestation;
    n->tpm_seen = fresh->tpm_seen;
    if (!same_ak) /* the same AK: the one in memory keeps its built key */
        TAKE(ak);
    TAKE(baseline);
    TAKE(ek);
    TAKE(diag);
    TAKE(report);
    TAKE(host);
    TAKE(tee_policy);
#undef TAKE
}

struct tld_node *tld_store_node_sync(struct tld *t, const char *name, bool for_update, int *r)
{
    struct tld_node *n = tld_node_find(t, name);
    *r = 0;
    /* a VM node is its host tld's (issue 16, part 3); an operation of ours
     * may hold an external one */
    if (!tld_store_shared(t) || (n && (!n->spec.external || n->busy)))
        return n;
    json_t *doc = NULL;
    *r = tld_store_resource_get(t, NODE_KIND, name, for_update, &doc);
    if (*r == -ENOENT && n && !n->pool) { /* deleted through another tld */
        tld_node_remove(t, n);
        tld_node_free(n);
    }
    if (*r < 0)
        return NULL;
    /* the AK we hold, still enrolled: not decoded again (its OpenSSL key
     * costs more than the rest of the record) */
    json_t *ak = json_object_get(doc, "ak");
    const char *ak_name = json_string_value(json_object_get(ak, "name"));
    bool same_ak = n && n->ak && ak_name && strcmp(ak_name, n->ak->name) == 0 &&
                   json_integer_value(json_object_get(ak, "enrolled")) == n->ak->enrolled;
    if (same_ak)
        json_object_del(doc, "ak");
    struct tld_node *fresh = NULL;
    *r = tld_node_from_doc(t, doc, &fresh);
    json_decref(doc);
    if (*r < 0) {
        tld_log("store: node %s: unreadable record", name);
        return NULL;
    }
    if (!n && !fresh->spec.external) { /* another host's VM: not served here */
        tld_node_free(fresh);
        *r = -ENOENT;
        return NULL;
    }
    if (!n) { /* created through another tld */
        *r = tld_node_add(t, fresh);
        if (*r < 0) {
            tld_node_free(fresh);
            return NULL;
        }
        return fresh;
    }
    node_take(n, fresh, same_ak);
    tld_node_free(fresh);
    return n;
}
