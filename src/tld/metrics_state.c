/* A scrape of GET /metrics (metrics.c has the counters and the format):
 * the gauges read from tld's state under tld.lock, held only to copy
 * numbers (one pass over the node table, one over the pools, the store's
 * count of open alerts); the counters copied under their own mutex; the
 * answer rendered with neither held. The two locks are never held
 * together here.
 *
 * The reconciler's work (reconcile.c) as numbers: per pool not failed, the
 * nodes to create (asked for, not present), to delete (present, not asked
 * for; every node of a deleting pool) and to reimage (drifted from the
 * pool: reconcile_plan.c's tld_pool_node_drifted); the VM nodes creating
 * or booting and the bound on them (capacity.c). */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tl/aks.h"
#include "tld.h"

static int security_index(const char *type)
{
    if (strcmp(type, TL_SECURITY_CONFIDENTIAL) == 0)
        return 2;
    if (strcmp(type, TL_SECURITY_TRUSTED_LAUNCH) == 0)
        return 1;
    return 0; /* node_security.c gives every node one of the three */
}

struct pool_count {
    const struct tld_pool *p;
    size_t present;
};

static int by_pool(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const struct pool_count *)a)->p;
    uintptr_t y = (uintptr_t)((const struct pool_count *)b)->p;
    return x < y ? -1 : x > y;
}

/* Under tld.lock: the pools' pending work, the nodes counted per pool in
 * one pass over the table (a pool found by bsearch: 100,000 nodes and
 * many pools stay one pass). */
static void reconcile_work(struct tld *t, struct tld_metrics_gauges *g)
{
    size_t np;
    struct tld_pool **pools = tld_fleet_pools(t, &np);
    for (int s = 0; s < TLD_METRICS_PROV; s++)
        g->pools[s].state = tld_prov_name((enum tld_prov)s);
    if (!np)
        return;
    struct pool_count *pc = calloc(np, sizeof(*pc));
    if (!pc)
        return; /* the pools' numbers stay 0 this time */
    for (size_t i = 0; i < np; i++) {
        pc[i].p = pools[i];
        if ((unsigned)pools[i]->prov < TLD_METRICS_PROV)
            g->pools[pools[i]->prov].n++;
    }
    qsort(pc, np, sizeof(*pc), by_pool);
    for (size_t i = 0; i < t->n_nodes; i++) {
        const struct tld_node *n = t->nodes[i];
        if (!n->pool)
            continue;
        struct pool_count key = {.p = n->pool};
        struct pool_count *c = bsearch(&key, pc, np, sizeof(*pc), by_pool);
        if (c)
            c->present++;
        if (n->pool->prov != TLD_PROV_FAILED && n->pool->prov != TLD_PROV_DELETING &&
            tld_pool_node_drifted(n->pool, n))
            g->pending_reimage++;
    }
    for (size_t i = 0; i < np; i++) {
        const struct tld_pool *p = pc[i].p;
        size_t want = p->count > 0 ? (size_t)p->count : 0;
        if (p->prov == TLD_PROV_DELETING)
            g->pending_delete += pc[i].present;
        else if (p->prov == TLD_PROV_FAILED)
            continue; /* until its next update */
        else if (pc[i].present > want)
            g->pending_delete += pc[i].present - want;
        else
            g->pending_create += want - pc[i].present;
    }
    free(pc);
}

void tld_metrics_gauges_read(struct tld *t, struct tld_metrics_gauges *g)
{
    *g = (struct tld_metrics_gauges){0};
    tld_lock(t);
    for (size_t i = 0; i < t->n_nodes; i++) {
        const struct tld_node *n = t->nodes[i];
        if ((unsigned)n->state < TLD_METRICS_STATES)
            g->nodes[n->state][security_index(n->spec.security_type)]++;
    }
    g->alerts_known = tld_store_alerts_open(t, &g->alerts_open) == 0;
    reconcile_work(t, g);
    g->starting = tld_capacity_starting(t);
    g->starting_limit = t->capacity.concurrent_creates;
    g->lock_long_holds = t->lock_held.n_long;
    g->lease = atomic_load(&t->lease.held);
    tld_unlock(t);
}

int tld_metrics_scrape(struct tld *t, char **text, size_t *len)
{
    struct tld_metrics_gauges g;
    tld_metrics_gauges_read(t, &g);
    struct tld_metrics_counts *c = malloc(sizeof(*c));
    if (!c)
        return -ENOMEM;
    pthread_mutex_lock(&t->metrics.lock);
    *c = t->metrics.c;
    pthread_mutex_unlock(&t->metrics.lock);
    int r = tld_metrics_render(c, &g, text, len);
    free(c);
    return r;
}
