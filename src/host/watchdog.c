/* A deadline for swtpm I/O in a threaded caller: see watchdog.h. */
#include <errno.h>
#include <signal.h>
#include <time.h>

#include "tlhost/watchdog.h"

static void *watch(void *arg)
{
    struct tlh_watchdog *w = arg;
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += w->timeout_ms / 1000;
    until.tv_nsec += (w->timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&w->lock);
    int r = 0;
    while (!w->done && r != ETIMEDOUT)
        r = pthread_cond_timedwait(&w->cv, &w->lock, &until);
    if (!w->done) {
        w->fired = true;
        w->intr->signal = SIGALRM;
        pid_t pid = w->intr->kill_pid;
        if (pid > 0)
            kill(pid, SIGKILL);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

int tlh_watchdog_start(struct tlh_watchdog *w, struct tlh_swtpm_interrupt *intr, long timeout_ms)
{
    *w = (struct tlh_watchdog){.timeout_ms = timeout_ms, .intr = intr};
    pthread_mutex_init(&w->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    int r = pthread_create(&w->thread, NULL, watch, w);
    if (r != 0) {
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->lock);
        return -r;
    }
    w->started = true;
    return 0;
}

bool tlh_watchdog_stop(struct tlh_watchdog *w)
{
    if (!w->started)
        return false;
    pthread_mutex_lock(&w->lock);
    w->done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->lock);
    w->started = false;
    return w->fired;
}
