/* The host library (see file.h for its rules).
 *
 * proc.h: running other programs. Two shapes:
 *  - tlh_run: a helper that runs to its end (mcopy, bash recipes, tld
 *    --daemon, jp for tl's --query): argv, never a shell; stdin /dev/null
 *    or bytes the caller gives (a sealed memfd, so that a child that does
 *    not read it never blocks us); stdout captured into
 *    a bounded buffer (or dropped); stderr appended to a log file or
 *    captured; an optional timeout that kills it. Its exit status or signal
 *    becomes tl_error text.
 *  - tlh_proc_start: a long-lived child (QEMU, swtpm) started detached (own
 *    session, stdin /dev/null, stdout and stderr to a log file) and known by
 *    pid + start time, so that a pid reused after a crash is never taken for
 *    it. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "tl/error.h"

struct tlh_run_options {
    const char *const *argv; /* argv[0] is looked up in PATH */
    const char *const *env;  /* "NAME=value" set in the child; NULL-terminated, may be NULL */
    size_t stdout_max;       /* capture up to this many bytes (more: -EFBIG); 0 drops stdout */
    bool stdout_to_stderr;   /* the child's stdout goes where its stderr goes (progress) */
    bool stdout_inherit;     /* the child writes to the caller's stdout */
    bool stderr_inherit;     /* the child writes to the caller's stderr */
    const char *stderr_log;  /* else: stderr appended to this file (0600), or captured */
    long timeout_ms;         /* > 0: SIGKILL after this long (-ETIMEDOUT) */
    int keep_fd;             /* > 2: inherited by the child under the same number (a
                              * secret on a pipe, read as /dev/fd/N); 0: none */
    const void *stdin_data;  /* non-NULL: the child's stdin holds these stdin_len bytes */
    size_t stdin_len;
};

struct tlh_run_result {
    int status; /* the wait status */
    char *out;  /* stdout, NUL-terminated (NULL only when out of memory) */
    size_t out_len;
    char *err; /* captured stderr (up to 64 KiB), NUL-terminated (idem) */
    size_t err_len;
};

/* Runs o->argv to its end. 0 when it exited with status 0. When it did
 * not: -ENOENT (or the exec errno) "cannot run NAME: ...", -ETIMEDOUT,
 * -EIO "NAME: exit status N: first stderr line" or "NAME: killed by
 * signal N"; res keeps what it captured either way (release it with
 * tlh_run_result_done). */
int tlh_run(const struct tlh_run_options *o, struct tlh_run_result *res, struct tl_error *err);
void tlh_run_result_done(struct tlh_run_result *res);
/* tlh_run, then stdout parsed as one JSON value into *out. */
int tlh_run_json(const struct tlh_run_options *o, json_t **out, struct tl_error *err);

/* In a child between fork and exec: closes every descriptor but 0-2 and
 * the n in keep (negative ones ignored; at most TLH_CHILD_KEEP_MAX), so a
 * descriptor another thread or a library opened without O_CLOEXEC never
 * reaches the program. Async-signal-safe (close_range, or close one by one
 * where the kernel lacks it). */
#define TLH_CHILD_KEEP_MAX 8
void tlh_child_close_fds(const int *keep, size_t n);

/* A detached child: its pid and its start time (/proc/PID/stat field 22;
 * 0 when it had exited before it was read). */
struct tlh_proc {
    pid_t pid;
    unsigned long long start;
};

/* Starts argv detached with stdout and stderr truncated into log (0600);
 * keep_fd >= 0 is inherited, every other descriptor but 0-2 closed. The exec's failure is reported
 * here, not by the child. */
int tlh_proc_start(char *const argv[], const char *log, int keep_fd, struct tlh_proc *out,
                   struct tl_error *err);
/* Whether p still runs (and is p, not a reused pid); the wait status of our
 * own child when it has ended. */
bool tlh_proc_alive(const struct tlh_proc *p, int *wstatus, bool *status_known);
/* sig, up to wait_ms for it to end, then SIGKILL; reaps our own child and
 * clears p. */
void tlh_proc_kill(struct tlh_proc *p, int sig, int wait_ms);
/* The running processes whose name (/proc/PID/comm) begins with one of
 * names (NULL-terminated) and one of whose arguments names dir or a path
 * under it (proc_scan.c); this process excluded. -E2BIG past max. */
int tlh_proc_find(const char *const *names, const char *dir, struct tlh_proc *out, size_t max,
                  size_t *n, struct tl_error *err);
/* The start time of pid from /proc; -ESRCH for a zombie. */
int tlh_proc_starttime(pid_t pid, unsigned long long *out);
