/* Shared parts of the benchmark programs: clocks, error exits, reading a
 * file, the batch timing engine that runs a program's stages interleaved,
 * another process's CPU and memory, and latency samples (the service
 * benchmarks; their simulated nodes are simnode.h).
 *
 * Each program defines bench_prog (its name, for error messages) and a
 * bench_run_fn that runs one iteration of a stage. */
#ifndef TL_BENCH_H
#define TL_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "tl/error.h"

/* The program's name, prefixed to bench_die's messages; defined by each
 * program. */
extern const char bench_prog[];

/* Seconds on clock id (CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID). */
double bench_clock(clockid_t id);

/* Prints "PROG: what: message" (err's message, else strerror(errno)) and
 * exits 1. */
__attribute__((noreturn)) void bench_die(const char *what, const struct tl_error *err);

/* Prints "PROG: " and the message, and exits 1. */
__attribute__((format(printf, 1, 2), noreturn)) void bench_fail(const char *fmt, ...);

/* The whole file, malloc'd, its size in *len; NULL on error (errno set). */
uint8_t *bench_read_file(const char *path, size_t *len);

/* The part of path after its last '/'. */
const char *bench_base_name(const char *path);

/* One iteration of stage, on the program's context; exits on any error (a
 * benchmark of a failing operation measures nothing). */
typedef void bench_run_fn(void *ctx, int stage);

#define BENCH_MAX_BATCHES 4096

/* One stage's figures. Per-iteration times are in seconds. */
struct bench_timing {
    uint64_t batch;      /* iterations per batch */
    uint64_t iterations; /* in all measured batches */
    double wall, cpu;    /* summed over the measured batches */
    size_t n_batches;
    double batch_wall[BENCH_MAX_BATCHES]; /* wall clock per iteration, each batch (sorted) */
    double batch_cpu[BENCH_MAX_BATCHES];  /* CPU time per iteration, each batch (sorted) */
    double best, median, cpu_best, cpu_median;
};

/* Runs n_stages stages interleaved, one batch of each per round, so that
 * all of them see the same disturbances of a shared machine, until stage
 * `until` has run `seconds` of wall clock. Each stage is first warmed up
 * (caches, malloc's free lists, the hasher's EVP_MD fetches, page faults),
 * which also sizes its batches to about target_s[stage] seconds. Then fills
 * in t[stage] for every stage, medians and bests included. */
void bench_run_stages(struct bench_timing *t, int n_stages, const double *target_s, int until,
                      double seconds, bench_run_fn *run_once, void *ctx);

/* VmRSS of a process (KiB, -1 when unknown); its utime + stime (seconds,
 * -1); this process's user + system time (seconds). */
long bench_rss_kib(int pid);
double bench_proc_cpu(int pid);
double bench_self_cpu(void);

/* Latency samples (seconds): add, sort, then read percentiles (ms). */
struct bench_lat {
    double *v;
    size_t n, cap;
};
void bench_lat_add(struct bench_lat *l, double x);
void bench_lat_sort(struct bench_lat *l);
double bench_lat_pct_ms(const struct bench_lat *l, double q);

#endif
