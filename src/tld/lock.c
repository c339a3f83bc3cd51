/* tld.lock, watched: who held it, and for how long.
 *
 * Everything of tld's in memory (the node table, the fleet) is behind one
 * mutex, and the rule is that no file or process I/O happens under it.
 * A breach shows as every other caller waiting: health checks time out,
 * `tl` concludes tld is gone. So each hold is timed, and one longer than
 * TLD_LOCK_WARN_MS is logged with its holder, after the lock is let go
 * (the log is file I/O too). Depends on log.c only. */
#include <time.h>

#include "tld.h"

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void tld_lock_at(struct tld *t, const char *who)
{
    pthread_mutex_lock(&t->lock);
    t->lock_held.since_ms = now_ms();
    t->lock_held.who = who;
}

void tld_unlock(struct tld *t)
{
    long long held = now_ms() - t->lock_held.since_ms;
    const char *who = t->lock_held.who;
    if (held >= TLD_LOCK_WARN_MS)
        t->lock_held.n_long++;
    pthread_mutex_unlock(&t->lock);
    if (held >= TLD_LOCK_WARN_MS)
        tld_log("tld.lock held %lld ms by %s", held, who ? who : "?");
}
