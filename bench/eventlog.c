/* bench-eventlog: throughput and memory of the event log pipeline.
 *
 *   bench-eventlog [--seconds S] [--hold N] LOG...
 *   bench-eventlog --iterations N LOG       (fixed work, for callgrind)
 *
 * A LOG named "apps:N" is not a file: it is a synthetic log of N boot
 * applications without a device path (tests/unit/applog.c), the shape that
 * made the boot state superlinear (issue 11); it shows whether the time per
 * record stays that of a real log.
 *
 * For each log, on one thread:
 *  - stages, each run repeatedly after a warm-up:
 *      parse          tl_eventlog_parse + tl_eventlog_done
 *      parse+replay   ... + tl_replay (all banks)
 *      parse+check    ... + tl_eventlog_check
 *      pipeline       parse + check + replay + boot state, everything freed
 *    The stages run interleaved, one batch each per round (~30 ms of the
 *    pipeline, ~10 ms of the others), so all see the same disturbances of a
 *    shared machine, until the pipeline has run S seconds (default 3; about
 *    2S in all). Rates are given per wall-clock second and per second of
 *    this process's CPU time (the per-core figure: wall time also counts
 *    the time the machine gave to others), with the median and the best
 *    batch; the split between stages comes from the best batches.
 *  - memory: N logs held at once (default 1000; fewer of a log so large
 *    that N copies would pass ~256 MiB), each a malloc'd holder with
 *    its own copy of the log, the parsed log, the record checks and the boot
 *    state; heap growth measured with mallinfo2() (glibc) divided by N. That
 *    is what a verifier pays per log it keeps, malloc overhead included.
 *
 * The last line per log is machine-readable:
 *   RESULT log=<name> size=<bytes> events=<n> logs_per_s=<n> ...
 * (us_per_event: the pipeline's median batch per record.)
 *
 * One hasher (tl_hasher) serves every iteration, as a long-running verifier
 * would hold it: it caches the OpenSSL EVP_MD fetches. */
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "applog.h"
#include "bench.h"
#include "tl/bootstate.h"
#include "tl/digest.h"
#include "tl/error.h"
#include "tl/eventcheck.h"
#include "tl/eventlog.h"
#include "tl/replay.h"

enum stage {
    STAGE_PARSE,
    STAGE_PARSE_REPLAY,
    STAGE_PARSE_CHECK,
    STAGE_PIPELINE,
    N_STAGES,
};

static const char *const stage_names[N_STAGES] = {
    [STAGE_PARSE] = "parse",
    [STAGE_PARSE_REPLAY] = "parse+replay",
    [STAGE_PARSE_CHECK] = "parse+check",
    [STAGE_PIPELINE] = "parse+check+replay+state",
};

/* Folded into by every iteration so nothing can be optimised away. */
static volatile uint64_t sink;

const char bench_prog[] = "bench-eventlog";

/* One iteration of a stage; exits on any library error (a benchmark of a
 * failing pipeline measures nothing). */
static __attribute__((noinline)) void run_once(enum stage st, const uint8_t *buf, size_t len,
                                               struct tl_hasher *h)
{
    struct tl_eventlog log;
    struct tl_eventlog_checks checks;
    struct tl_boot_state bs;
    struct tl_pcr_values pcrs;
    struct tl_error err;
    uint64_t s = 0;

    if (tl_eventlog_parse(buf, len, &log, &err) < 0)
        bench_die("parse", &err);
    s += log.n_events;
    if (st == STAGE_PARSE_CHECK || st == STAGE_PIPELINE) {
        if (tl_eventlog_check(&log, h, &checks, &err) < 0)
            bench_die("check", &err);
        s += checks.n_findings;
    }
    if (st == STAGE_PARSE_REPLAY || st == STAGE_PIPELINE) {
        if (tl_replay(&log, h, &pcrs, &err) < 0)
            bench_die("replay", &err);
        s += pcrs.banks[0].value[0][0];
    }
    if (st == STAGE_PIPELINE) {
        if (tl_boot_state_extract(&log, &checks, &bs, &err) < 0)
            bench_die("boot state", &err);
        s += bs.n_components;
        tl_boot_state_done(&bs);
    }
    if (st == STAGE_PARSE_CHECK || st == STAGE_PIPELINE)
        tl_eventlog_checks_done(&checks);
    tl_eventlog_done(&log);
    sink += s;
}

/* The one function callgrind collects in --iterations mode
 * (--toggle-collect=measured_pipeline), so start-up and warm-up are left
 * out of the count. */
__attribute__((noinline)) void measured_pipeline(const uint8_t *buf, size_t len,
                                                 struct tl_hasher *h);
__attribute__((noinline)) void measured_pipeline(const uint8_t *buf, size_t len,
                                                 struct tl_hasher *h)
{
    run_once(STAGE_PIPELINE, buf, len, h);
}

/* What an iteration of the timed stages needs. */
struct input {
    const uint8_t *buf;
    size_t len;
    struct tl_hasher *h;
};

static void run_stage(void *ctx, int st)
{
    const struct input *in = ctx;
    run_once(st, in->buf, in->len, in->h);
}

/* Runs the stages interleaved, one batch of each per round, so that all of
 * them see the same disturbances of a shared machine: ~30 ms batches of the
 * pipeline, ~10 ms of the partial stages, until the pipeline has run for
 * `seconds` (the partial stages then ran about a third of that each). */
static void run_stages(struct bench_timing t[N_STAGES], const uint8_t *buf, size_t len,
                       struct tl_hasher *h, double seconds)
{
    struct input in = {buf, len, h};
    double target_s[N_STAGES];
    for (int st = 0; st < N_STAGES; st++)
        target_s[st] = st == STAGE_PIPELINE ? 0.03 : 0.01;
    bench_run_stages(t, N_STAGES, target_s, STAGE_PIPELINE, seconds, run_stage, &in);
}

struct held {
    uint8_t *buf;
    struct tl_eventlog log;
    struct tl_eventlog_checks checks;
    struct tl_boot_state bs;
};

static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd; /* brk/arena chunks in use + mmap'd chunks */
}

struct memory {
    size_t per_log; /* heap growth / N */
    size_t copy;    /* of which: the copy of the log (chunk, malloc header included) */
    size_t holder;  /* the struct held */
    size_t library; /* what libtl allocated: the rest */
    size_t parsed, checks, state; /* libtl's, by call (heap growth across it) */
    long maxrss_kb;
};

static struct memory measure_memory(const uint8_t *buf, size_t len, struct tl_hasher *h, size_t n)
{
    struct memory m = {0};
    struct held **held = calloc(n, sizeof(*held));
    struct tl_error err;
    if (!held)
        bench_die("calloc", NULL);

    malloc_trim(0);
    size_t before = heap_in_use(), parsed = 0, checked = 0, state = 0;
    for (size_t i = 0; i < n; i++) {
        struct held *x = malloc(sizeof(*x));
        if (!x || !(x->buf = malloc(len)))
            bench_die("malloc", NULL);
        memcpy(x->buf, buf, len);
        size_t a = heap_in_use();
        if (tl_eventlog_parse(x->buf, len, &x->log, &err) < 0)
            bench_die("parse", &err);
        size_t b = heap_in_use();
        if (tl_eventlog_check(&x->log, h, &x->checks, &err) < 0)
            bench_die("check", &err);
        size_t c = heap_in_use();
        if (tl_boot_state_extract(&x->log, &x->checks, &x->bs, &err) < 0)
            bench_die("boot state", &err);
        size_t d = heap_in_use();
        parsed += b - a;
        checked += c - b;
        state += d - c;
        held[i] = x;
    }
    size_t after = heap_in_use();
    m.per_log = (after - before) / n;
    m.parsed = parsed / n;
    m.checks = checked / n;
    m.state = state / n;

    /* The library's own share: everything but the holder and the copy
     * (a chunk is its usable size plus glibc's size_t header). */
    size_t holders = 0, copies = 0;
    for (size_t i = 0; i < n; i++) {
        holders += malloc_usable_size(held[i]) + sizeof(size_t);
        copies += malloc_usable_size(held[i]->buf) + sizeof(size_t);
    }
    m.holder = holders / n;
    m.copy = copies / n;
    m.library = m.per_log > m.holder + m.copy ? m.per_log - m.holder - m.copy : 0;

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    m.maxrss_kb = ru.ru_maxrss;

    for (size_t i = 0; i < n; i++) {
        tl_boot_state_done(&held[i]->bs);
        tl_eventlog_checks_done(&held[i]->checks);
        tl_eventlog_done(&held[i]->log);
        free(held[i]->buf);
        free(held[i]);
    }
    free(held);
    return m;
}

/* A file, or "apps:N" (see the top of this file). */
static uint8_t *read_log(const char *arg, size_t *len)
{
    if (strncmp(arg, "apps:", 5) == 0) {
        char *end;
        unsigned long n = strtoul(arg + 5, &end, 10);
        if (*end || n == 0 || n >= TL_EVENTLOG_MAX_EVENTS)
            bench_die(arg, NULL);
        return applog_build(n, len);
    }
    return bench_read_file(arg, len);
}

static size_t describe(const char *name, const uint8_t *buf, size_t len, struct tl_hasher *h)
{
    struct tl_eventlog log;
    struct tl_eventlog_checks checks;
    struct tl_boot_state bs;
    struct tl_error err;
    if (tl_eventlog_parse(buf, len, &log, &err) < 0)
        bench_die(name, &err);
    if (tl_eventlog_check(&log, h, &checks, &err) < 0)
        bench_die(name, &err);
    if (tl_boot_state_extract(&log, &checks, &bs, &err) < 0)
        bench_die(name, &err);
    printf("%s: %zu bytes, %zu records, %u bank%s (", name, len, log.n_events, log.n_banks,
           log.n_banks == 1 ? "" : "s");
    for (unsigned b = 0; b < log.n_banks; b++)
        printf("%s%s", b ? " " : "",
               tl_alg_name(log.banks[b].alg) ? tl_alg_name(log.banks[b].alg) : "?");
    printf("), %zu findings, %zu components, %zu applications, secure boot %d\n", checks.n_findings,
           bs.n_components, bs.n_apps, bs.secure_boot);
    size_t n_events = log.n_events;
    tl_boot_state_done(&bs);
    tl_eventlog_checks_done(&checks);
    tl_eventlog_done(&log);
    return n_events;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench-eventlog [--seconds S] [--hold N] LOG...\n"
                    "       bench-eventlog --iterations N LOG\n");
    exit(2);
}

int main(int argc, char **argv)
{
    double seconds = 3;
    long hold = 1000, iterations = -1;
    int i = 1;

    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        if (i + 1 >= argc)
            usage();
        char *end;
        if (strcmp(argv[i], "--seconds") == 0) {
            seconds = strtod(argv[++i], &end);
            if (*end || !(seconds > 0))
                usage();
        } else if (strcmp(argv[i], "--hold") == 0) {
            hold = strtol(argv[++i], &end, 10);
            if (*end || hold <= 0)
                usage();
        } else if (strcmp(argv[i], "--iterations") == 0) {
            iterations = strtol(argv[++i], &end, 10);
            if (*end || iterations <= 0)
                usage();
        } else {
            usage();
        }
    }
    if (i >= argc)
        usage();

    struct tl_hasher *h = tl_hasher_new();
    if (!h)
        bench_die("tl_hasher_new", NULL);

    if (iterations > 0) {
        /* Fixed work for instruction counting: one warm-up iteration (EVP
         * fetches, first allocations), then N collected ones. */
        for (; i < argc; i++) {
            size_t len;
            uint8_t *buf = read_log(argv[i], &len);
            if (!buf)
                bench_die(argv[i], NULL);
            run_once(STAGE_PIPELINE, buf, len, h);
            for (long k = 0; k < iterations; k++)
                measured_pipeline(buf, len, h);
            free(buf);
        }
        tl_hasher_free(h);
        return 0;
    }

    printf("bench-eventlog: one thread; per log the stages run interleaved in batches until the "
           "pipeline has run %.3g s; %ld logs held for memory\n",
           seconds, hold);
    for (; i < argc; i++) {
        const char *name = bench_base_name(argv[i]);
        size_t len;
        uint8_t *buf = read_log(argv[i], &len);
        if (!buf)
            bench_die(argv[i], NULL);

        printf("\n");
        size_t n_events = describe(name, buf, len, h);

        static struct bench_timing t[N_STAGES];
        run_stages(t, buf, len, h, seconds);
        for (int st = 0; st < N_STAGES; st++) {
            double us = t[st].wall * 1e6 / (double)t[st].iterations;
            double cpu_us = t[st].cpu * 1e6 / (double)t[st].iterations;
            printf("  %-25s %8.0f logs/s %8.2f us/log | CPU %8.0f logs/s | batches: median "
                   "%8.2f best %8.2f us/log | %llu logs\n",
                   stage_names[st], 1e6 / us, us, 1e6 / cpu_us, t[st].median * 1e6,
                   t[st].best * 1e6, (unsigned long long)t[st].iterations);
        }
        /* Where the time goes: differences of the best batches (noise only
         * ever adds time, so the fastest batch is the closest to the cost). */
        double p = t[STAGE_PARSE].best * 1e6;
        double replay = t[STAGE_PARSE_REPLAY].best * 1e6 - p;
        double check = t[STAGE_PARSE_CHECK].best * 1e6 - p;
        double total = t[STAGE_PIPELINE].best * 1e6;
        double state = total - p - replay - check;
        printf("  split (best batches): parse %.2f us (%.0f%%), check %.2f us (%.0f%%), "
               "replay %.2f us (%.0f%%), boot state %.2f us (%.0f%%)\n",
               p, 100 * p / total, check, 100 * check / total, replay, 100 * replay / total, state,
               100 * state / total);

        /* A large log is held fewer times: about 256 MiB of copies and
         * state at most (the real logs, ~30 KB, are held N times). */
        size_t n_hold = (size_t)hold, most = (256u << 20) / (4 * len);
        if (n_hold > most)
            n_hold = most > 10 ? most : 10;
        if (n_hold != (size_t)hold)
            printf("  (held %zu times, not %ld: the log is %zu bytes)\n", n_hold, hold, len);
        struct memory m = measure_memory(buf, len, h, n_hold);
        /* Less than the copy of the log itself: mallinfo2() does not see
         * this allocator (ASan's, another malloc preloaded). */
        bool mem_ok = m.per_log >= len;
        if (mem_ok)
            printf("  held: %zu bytes per log (%.2fx the log; copy %zu + holder %zu + libtl %zu "
                   "= records %zu + checks %zu + boot state %zu), peak RSS %ld KiB\n",
                   m.per_log, (double)m.per_log / (double)len, m.copy, m.holder, m.library,
                   m.parsed, m.checks, m.state, m.maxrss_kb);
        else
            printf("  held: not measurable (mallinfo2 does not see this allocator), peak RSS "
                   "%ld KiB\n",
                   m.maxrss_kb);
        char held_s[32] = "NA", ratio_s[32] = "NA";
        if (mem_ok) {
            snprintf(held_s, sizeof(held_s), "%zu", m.per_log);
            snprintf(ratio_s, sizeof(ratio_s), "%.2f", (double)m.per_log / (double)len);
        }

        const struct bench_timing *pl = &t[STAGE_PIPELINE];
        double us = pl->wall * 1e6 / (double)pl->iterations;
        double us_event = pl->median * 1e6 / (double)n_events;
        printf("  per record: %.3f us (median batch; best %.3f us) over %zu records\n", us_event,
               pl->best * 1e6 / (double)n_events, n_events);
        printf("RESULT log=%s size=%zu events=%zu logs_per_s=%.0f us_per_log=%.2f "
               "cpu_logs_per_s=%.0f median_us_per_log=%.2f best_us_per_log=%.2f us_per_event=%.4f "
               "best_us_per_event=%.4f parse_us=%.2f parse_replay_us=%.2f parse_check_us=%.2f "
               "bytes_held=%s ratio_to_size=%s maxrss_kb=%ld\n",
               name, len, n_events, 1e6 / us, us, (double)pl->iterations / pl->cpu,
               pl->median * 1e6, pl->best * 1e6, us_event, pl->best * 1e6 / (double)n_events,
               t[STAGE_PARSE].median * 1e6, t[STAGE_PARSE_REPLAY].median * 1e6,
               t[STAGE_PARSE_CHECK].median * 1e6, held_s, ratio_s, m.maxrss_kb);
        fflush(stdout);
        free(buf);
    }
    tl_hasher_free(h);
    return 0;
}
