/* The reconciler's decisions, pure: a pool's nodes and the host's bound in,
 * what to do out (how many to delete, how many to create now, which node
 * to reimage next, whether a node is what its pool wants). No store, no
 * processes, no clock: reconcile.c carries the decisions out, and
 * tests/unit/test_tld_reconcile.c checks them without a daemon. */
#include <string.h>

#include "tl/aks.h"
#include "tld.h"

bool tld_pool_node_vtpm(const struct tld_pool *p)
{
    const struct tl_vm_size *size = tl_vm_size_find(p->vm_size);
    return p->vtpm || (size && size->tee != TL_TEE_NONE); /* a confidential VM has one */
}

bool tld_pool_node_ready(const struct tld_pool *p, const struct tld_node *n)
{
    if (n->state != TLD_RUNNING || n->spec.secure_boot != p->secure_boot ||
        n->spec.vtpm != tld_pool_node_vtpm(p))
        return false;
    return !n->spec.vtpm || (n->attestation.id && n->attestation.pass);
}

bool tld_pool_node_drifted(const struct tld_pool *p, const struct tld_node *n)
{
    return n->spec.secure_boot != p->secure_boot || n->spec.vtpm != tld_pool_node_vtpm(p) ||
           strcmp(n->spec.image, p->image) != 0 || n->spec.egress != p->egress ||
           strcmp(n->spec.egress_allow, p->egress_allow) != 0;
}

void tld_reconcile_plan(long count, size_t present, unsigned starting, unsigned bound,
                        struct tld_reconcile_plan *out)
{
    *out = (struct tld_reconcile_plan){0};
    size_t want = count > 0 ? (size_t)count : 0;
    if (present > want) { /* scale down: the newest first */
        out->deletes = present - want;
        return;
    }
    size_t missing = want - present;
    size_t room = present < TLD_POOL_NODES_MAX ? TLD_POOL_NODES_MAX - present : 0;
    size_t slots = starting < bound ? bound - starting : 0; /* nodes booting at once */
    out->creates = missing < room ? missing : room;
    if (out->creates > slots)
        out->creates = slots;
}

long tld_reconcile_next_drifted(const struct tld_pool *p, struct tld_node *const *nodes, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (tld_pool_node_drifted(p, nodes[i]) && !nodes[i]->busy)
            return (long)i;
    return -1;
}
