/* Shared parts of the benchmark programs; see bench.h. */
#include "bench.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

double bench_clock(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void bench_die(const char *what, const struct tl_error *err)
{
    fprintf(stderr, "%s: %s: %s\n", bench_prog, what, err ? err->message : strerror(errno));
    exit(1);
}

uint8_t *bench_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        uint8_t *b = realloc(buf, cap *= 2);
        if (!b)
            free(buf);
        buf = b;
    }
    if (buf && ferror(f)) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = n;
    return buf;
}

const char *bench_base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static void run_batch(struct bench_timing *t, int stage, bench_run_fn *run_once, void *ctx)
{
    double w0 = bench_clock(CLOCK_MONOTONIC), c0 = bench_clock(CLOCK_PROCESS_CPUTIME_ID);
    for (uint64_t i = 0; i < t->batch; i++)
        run_once(ctx, stage);
    double w = bench_clock(CLOCK_MONOTONIC) - w0;
    double cpu = bench_clock(CLOCK_PROCESS_CPUTIME_ID) - c0;
    t->iterations += t->batch;
    t->wall += w;
    t->cpu += cpu;
    if (t->n_batches < BENCH_MAX_BATCHES) {
        t->batch_cpu[t->n_batches] = cpu / (double)t->batch;
        t->batch_wall[t->n_batches++] = w / (double)t->batch;
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Warm-up that also sizes a stage's batches to about target seconds. */
static void calibrate(struct bench_timing *t, int stage, bench_run_fn *run_once, void *ctx,
                      double target)
{
    for (t->batch = 1;; t->batch *= 2) {
        double t0 = bench_clock(CLOCK_MONOTONIC);
        for (uint64_t i = 0; i < t->batch; i++)
            run_once(ctx, stage);
        double dt = bench_clock(CLOCK_MONOTONIC) - t0;
        if (dt >= target || t->batch >= (1u << 24)) {
            double per = dt / (double)t->batch;
            t->batch = per > 0 ? (uint64_t)(target / per) : t->batch;
            if (t->batch == 0)
                t->batch = 1;
            return;
        }
    }
}

void bench_run_stages(struct bench_timing *t, int n_stages, const double *target_s, int until,
                      double seconds, bench_run_fn *run_once, void *ctx)
{
    for (int st = 0; st < n_stages; st++) {
        memset(&t[st], 0, sizeof(t[st]));
        calibrate(&t[st], st, run_once, ctx, target_s[st]);
    }
    do {
        for (int st = 0; st < n_stages; st++)
            run_batch(&t[st], st, run_once, ctx);
    } while (t[until].wall < seconds);
    for (int st = 0; st < n_stages; st++) {
        struct bench_timing *s = &t[st];
        qsort(s->batch_wall, s->n_batches, sizeof(double), cmp_double);
        qsort(s->batch_cpu, s->n_batches, sizeof(double), cmp_double);
        s->best = s->batch_wall[0];
        s->median = s->batch_wall[s->n_batches / 2];
        s->cpu_best = s->batch_cpu[0];
        s->cpu_median = s->batch_cpu[s->n_batches / 2];
    }
}

void bench_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", bench_prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

long bench_rss_kib(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    FILE *f = fopen(path, "re");
    long v = -1;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &v) == 1)
            break;
    if (f)
        fclose(f);
    return v;
}

double bench_proc_cpu(int pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    FILE *f = fopen(path, "re");
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    unsigned long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

double bench_self_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

void bench_lat_add(struct bench_lat *l, double x)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4096;
        l->v = realloc(l->v, l->cap * sizeof(double));
        if (!l->v)
            bench_fail("out of memory");
    }
    l->v[l->n++] = x;
}

void bench_lat_sort(struct bench_lat *l)
{
    if (l->n)
        qsort(l->v, l->n, sizeof(double), cmp_double);
}

double bench_lat_pct_ms(const struct bench_lat *l, double q)
{
    if (!l->n)
        return 0;
    size_t k = (size_t)(q * (double)(l->n - 1) + 0.5);
    return l->v[k] * 1e3;
}
