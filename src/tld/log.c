/* The leaf every part of tld uses: the log line (tld.log once daemonised,
 * stderr before), the clock, and the names of a node's states. Depends on
 * nothing else of tld. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tld.h"

void tld_log(const char *fmt, ...)
{
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    va_list ap;
    va_start(ap, fmt);
    flockfile(stderr);
    fprintf(stderr, "%s tld: ", when);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    funlockfile(stderr);
    va_end(ap);
}

long long tld_now(void)
{
    return (long long)time(NULL);
}

static const char *const state_names[] = {
    [TLD_CREATING] = "creating", [TLD_BOOTING] = "booting", [TLD_RUNNING] = "running",
    [TLD_STOPPED] = "stopped",   [TLD_FAILED] = "failed",   [TLD_CRASHED] = "crashed",
};

const char *tld_state_name(enum tld_state s)
{
    return (unsigned)s < sizeof(state_names) / sizeof(state_names[0]) ? state_names[s] : "?";
}

int tld_state_parse(const char *s, enum tld_state *out)
{
    for (unsigned i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++)
        if (s && strcmp(s, state_names[i]) == 0) {
            *out = (enum tld_state)i;
            return 0;
        }
    return -EINVAL;
}
