/* Retention: the store keeps each node's newest TL_ATTEST_KEEP
 * attestations (default TLD_ATTEST_KEEP) and every failure with the
 * evidence its record holds; older passes are deleted. Without it the
 * store grows by every attestation (~2.2 KB of JSON plus the table's and
 * index's pages: 697 MB after 126,000 attestations of 100,000 nodes,
 * bench/README.md); with it a node's rows are bounded by keep plus its
 * failures, and SQLite reuses the freed pages.
 *
 * One background thread, its own connection to the store
 * (tld_store_open_other), never tld.lock: every TL_ATTEST_PRUNE_SECONDS
 * (default 10) it prunes the nodes that had an attestation since its last
 * pass (tld_store_prune: the first pass after a start visits them all),
 * in transactions of a few nodes, so that tld's own writes wait for little.
 * A node's newest attestation (what its token, key releases and GET
 * /v1/nodes/NAME name) is always among the kept. TL_ATTEST_KEEP=0 keeps
 * everything (no thread). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tld.h"

static int env_int(const char *name, int def, int max)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return def;
    char *end;
    long n = strtol(v, &end, 10);
    if (*end || n < 0 || n > max) {
        tld_log("%s=%s: not a number from 0 to %d; %d", name, v, max, def);
        return def;
    }
    return (int)n;
}

static void *worker(void *arg)
{
    struct tld_retention *rt = arg;
    pthread_mutex_lock(&rt->lock);
    while (!rt->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += rt->period_s;
        while (!rt->stopping && pthread_cond_timedwait(&rt->cv, &rt->lock, &until) != ETIMEDOUT)
            ;
        if (rt->stopping)
            break;
        long long after = rt->upto;
        pthread_mutex_unlock(&rt->lock);
        long long upto = after;
        uint64_t deleted = 0;
        int r = tld_store_prune(rt->store, after, rt->keep, &upto, &deleted);
        if (r < 0)
            tld_log("retention: pruning attestations after %lld failed (%s); tried again later",
                    after, strerror(-r));
        pthread_mutex_lock(&rt->lock);
        rt->upto = upto;
        rt->deleted += deleted;
        rt->passes++;
    }
    pthread_mutex_unlock(&rt->lock);
    return NULL;
}

int tld_retention_start(struct tld_retention *rt, const char *home)
{
    *rt = (struct tld_retention){0};
    rt->keep = env_int("TL_ATTEST_KEEP", TLD_ATTEST_KEEP, 1000000);
    rt->period_s = env_int("TL_ATTEST_PRUNE_SECONDS", 10, 86400);
    if (rt->period_s < 1)
        rt->period_s = 1;
    if (rt->keep == 0)
        return 0; /* keep everything */
    int r = tld_store_open_other(home, &rt->store);
    if (r < 0)
        return r;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&rt->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&rt->lock, NULL);
    if (pthread_create(&rt->thread, NULL, worker, rt) != 0) {
        pthread_mutex_destroy(&rt->lock);
        pthread_cond_destroy(&rt->cv);
        tld_store_close_other(rt->store);
        rt->store = NULL;
        return -EAGAIN;
    }
    rt->running = true;
    return 0;
}

void tld_retention_stop(struct tld_retention *rt)
{
    if (!rt->running)
        return;
    pthread_mutex_lock(&rt->lock);
    rt->stopping = true;
    pthread_cond_signal(&rt->cv);
    pthread_mutex_unlock(&rt->lock);
    pthread_join(rt->thread, NULL);
    pthread_mutex_destroy(&rt->lock);
    pthread_cond_destroy(&rt->cv);
    tld_store_close_other(rt->store);
    rt->store = NULL;
    rt->running = false;
}
