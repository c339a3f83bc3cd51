/* The agent's console lines ("TL: agent ...", one fact each, read by the
 * host) and its one way of waiting: the leaves every other file of the
 * agent may call. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "agent.h"

void agent_say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("TL: agent ", stdout);
    vfprintf(stdout, fmt, ap);
    fputc('\n', stdout);
    fflush(stdout);
    va_end(ap);
}

void agent_sleep(double seconds)
{
    struct timespec ts = {.tv_sec = (time_t)seconds,
                          .tv_nsec = (long)((seconds - (double)(time_t)seconds) * 1e9)};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}
