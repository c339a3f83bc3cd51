/* The reconciler's lease (docs/scale.md, "Replicas"): several tlds may
 * share one PostgreSQL store, and one of them at a time runs the
 * reconciler (reconcile.c) and the tickets' clean-up. The lease is a
 * PostgreSQL session advisory lock held on a connection of its own
 * (store_pg.c, lease_try): the server lets it go when that connection
 * ends, so a tld killed with -9 loses it at once and another takes it at
 * its next try, within TLD_LEASE_TRY_MS. A store of one tld (SQLite):
 * always held.
 *
 * The main loop calls tld_lease_tick without tld.lock (the try is a round
 * trip to the server); the reconciler reads t->lease.held under it. */
#include <stdatomic.h>
#include <time.h>

#include "tld.h"

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void tld_lease_tick(struct tld *t)
{
    struct tld_lease *l = &t->lease;
    long long now = mono_ms();
    if (l->tried_ms && now - l->tried_ms < TLD_LEASE_TRY_MS)
        return;
    l->tried_ms = now;
    int r = tld_store_lease_try(t);
    bool held = r == 1;
    if (held != atomic_load(&l->held)) {
        tld_log(held ? "the reconciler's lease is ours: reconciling"
                     : "the reconciler's lease is another tld's (or the store is gone)");
        if (held)
            l->since = tld_now();
        atomic_store(&l->held, held);
    }
    if (held && tld_store_shared(t) && now - l->pruned_ms >= TLD_TICKETS_PRUNE_MS) {
        l->pruned_ms = now;
        tld_lock(t);
        /* kept an hour past their expiry: what was redeemed stays visible */
        tld_store_tickets_prune(t, tld_now() - 3600);
        tld_unlock(t);
    }
}

json_t *tld_lease_json(const struct tld *t)
{
    bool held = atomic_load(&t->lease.held);
    return json_pack("{s:b, s:I}", "reconciler", held, "since",
                     (json_int_t)(held ? t->lease.since : 0));
}
