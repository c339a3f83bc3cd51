/* Nodes in the store: the node side of the store's inversion. store.c
 * keeps documents (kind, key, JSON) and knows nothing of nodes; here a
 * node becomes its document of kind "node" under its name (node.c's
 * tld_node_doc: everything, secrets and pids included) and back
 * (tld_node_from_doc), and the table is filled at start. */
#include <errno.h>

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
