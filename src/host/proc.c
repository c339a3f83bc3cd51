/* Running other programs (proc.h): helpers that run to their end, with
 * their output captured and bounded, and detached long-lived children.
 *
 * Every child gets /dev/null as stdin (or the caller's bytes in a memfd), the default signal
 * dispositions and mask, and only the descriptors it is given: every other one is closed in the
 * child (tlh_child_close_fds), as O_CLOEXEC is not enough in a threaded caller. Our own opens are
 * O_CLOEXEC, but libraries' are not all (tpm2-tss's swtpm TCTI socket is not): a QEMU started while
 * another thread talked to a provisioning swtpm kept that connection open for its life, and swtpm,
 * which serves one connection at a time, never answered the provisioning
 * again (tld hung in Esys_FlushContext). An exec that fails is reported
 * through a close-on-exec pipe with its errno, so "not installed" is told
 * apart from "exited 127". */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tlhost/proc.h"

#define ERR_CAPTURE_MAX (64u << 10)

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void child_defaults(void)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
}

void tlh_child_close_fds(const int *keep, size_t n)
{
    int k[TLH_CHILD_KEEP_MAX];
    size_t m = 0;
    for (size_t i = 0; i < n && m < TLH_CHILD_KEEP_MAX; i++) { /* ascending, >= 3 */
        if (keep[i] < 3)
            continue;
        size_t j = m++;
        for (; j > 0 && k[j - 1] > keep[i]; j--)
            k[j] = k[j - 1];
        k[j] = keep[i];
    }
    unsigned lo = 3;
    for (size_t i = 0; i <= m; i++) {
        unsigned hi = i < m ? (unsigned)k[i] : ~0u; /* the gap [lo, hi) */
        if (hi > lo && close_range(lo, i < m ? hi - 1 : ~0u, 0) < 0) {
            /* no close_range (a kernel before 5.9): one by one to the limit */
            struct rlimit rl;
            unsigned max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536
                               ? (unsigned)rl.rlim_cur
                               : 65536;
            for (unsigned fd = lo; fd < hi && fd < max; fd++)
                close((int)fd);
        }
        if (i < m)
            lo = (unsigned)k[i] + 1;
    }
}

/* In the child after a failed exec: its errno to the parent. */
static _Noreturn void child_exec_failed(int errfd)
{
    int e = errno;
    (void)!write(errfd, &e, sizeof(e));
    _exit(127);
}

/* The exec's errno from the child, or 0 once the pipe closes on exec. */
static int exec_result(int fd)
{
    int e = 0;
    ssize_t n;
    do
        n = read(fd, &e, sizeof(e));
    while (n < 0 && errno == EINTR);
    close(fd);
    return n == (ssize_t)sizeof(e) ? (e ? e : EIO) : 0;
}

static int reap(pid_t pid, int *status)
{
    while (waitpid(pid, status, 0) < 0)
        if (errno != EINTR)
            return -errno;
    return 0;
}

/* Reads what is ready on fd into a growing buffer of at most max bytes
 * (more: *over). Returns false at end of file. */
static bool drain(int fd, char **buf, size_t *len, size_t *cap, size_t max, bool *over)
{
    char tmp[4096];
    ssize_t k = read(fd, tmp, sizeof(tmp));
    if (k < 0)
        return errno == EINTR || errno == EAGAIN;
    if (k == 0)
        return false;
    size_t take = (size_t)k;
    if (*len + take > max) {
        *over = true;
        take = max - *len;
    }
    if (*len + take + 1 > *cap) {
        size_t c = *cap ? *cap : 4096;
        while (c < *len + take + 1)
            c *= 2;
        char *b = realloc(*buf, c);
        if (!b) {
            *over = true;
            return true;
        }
        *buf = b;
        *cap = c;
    }
    memcpy(*buf + *len, tmp, take);
    *len += take;
    (*buf)[*len] = 0;
    return true;
}

/* A memfd holding len bytes of data, at offset 0: the child's stdin. A
 * file, not a pipe: the parent writes it whole before the fork, so a child
 * that reads none of it cannot block the parent. */
static int stdin_memfd(const void *data, size_t len)
{
    int fd = memfd_create("tlh-stdin", MFD_CLOEXEC);
    if (fd < 0)
        return -errno;
    for (size_t off = 0; off < len;) {
        ssize_t k = write(fd, (const char *)data + off, len - off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            int e = k < 0 ? errno : EIO;
            close(fd);
            return -e;
        }
        off += (size_t)k;
    }
    if (lseek(fd, 0, SEEK_SET) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

static char *empty_string(char *s)
{
    return s ? s : calloc(1, 1);
}

void tlh_run_result_done(struct tlh_run_result *res)
{
    free(res->out);
    free(res->err);
    res->out = res->err = NULL;
    res->out_len = res->err_len = 0;
}

int tlh_run(const struct tlh_run_options *o, struct tlh_run_result *res, struct tl_error *err)
{
    *res = (struct tlh_run_result){0};
    const char *name = o->argv[0];
    int out_p[2] = {-1, -1}, err_p[2] = {-1, -1}, exec_p[2] = {-1, -1}, log_fd = -1, in_fd = -1;
    bool capture_err = !o->stderr_inherit && !o->stderr_log;
    int r = 0;
    if (o->stderr_log &&
        (log_fd = open(o->stderr_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) < 0)
        r = -errno;
    if (!r && o->stdin_data && (in_fd = stdin_memfd(o->stdin_data, o->stdin_len)) < 0)
        r = in_fd;
    if (!r && ((o->stdout_max && pipe2(out_p, O_CLOEXEC) < 0) ||
               (capture_err && pipe2(err_p, O_CLOEXEC) < 0) || pipe2(exec_p, O_CLOEXEC) < 0))
        r = -errno;
    pid_t pid = r ? -1 : fork();
    if (!r && pid < 0)
        r = -errno;
    if (pid == 0) {
        child_defaults();
        int null = open("/dev/null", O_RDWR);
        int e = o->stderr_log ? log_fd : capture_err ? err_p[1] : 2;
        int so = o->stdout_max ? out_p[1] : o->stdout_to_stderr ? e : o->stdout_inherit ? 1 : null;
        if (null < 0 || dup2(in_fd >= 0 ? in_fd : null, 0) < 0 || dup2(so, 1) < 0 ||
            (e != 2 && dup2(e, 2) < 0))
            child_exec_failed(exec_p[1]);
        int keep = o->keep_fd > 2 ? o->keep_fd : -1;
        if (keep >= 0 && fcntl(keep, F_SETFD, 0) < 0)
            child_exec_failed(exec_p[1]);
        tlh_child_close_fds((int[]){exec_p[1], keep}, 2);
        for (const char *const *v = o->env; v && *v; v++)
            putenv((char *)*v);
        execvp(name, (char *const *)o->argv);
        child_exec_failed(exec_p[1]);
    }
    if (log_fd >= 0)
        close(log_fd);
    if (in_fd >= 0)
        close(in_fd);
    if (out_p[1] >= 0)
        close(out_p[1]);
    if (err_p[1] >= 0)
        close(err_p[1]);
    if (exec_p[1] >= 0)
        close(exec_p[1]);
    if (r < 0) {
        if (out_p[0] >= 0)
            close(out_p[0]);
        if (err_p[0] >= 0)
            close(err_p[0]);
        if (exec_p[0] >= 0)
            close(exec_p[0]);
        res->out = calloc(1, 1);
        res->err = calloc(1, 1);
        return o->stderr_log && log_fd < 0
                   ? tl_error_set_nopos(err, r, "%s: %s", o->stderr_log, strerror(-r))
                   : tl_error_set_nopos(err, r, "cannot start %s: %s", name, strerror(-r));
    }
    int exec_errno = exec_result(exec_p[0]);
    size_t out_cap = 0, err_cap = 0;
    bool out_over = false, err_over = false, timed_out = false;
    long deadline = o->timeout_ms > 0 ? now_ms() + o->timeout_ms : 0;
    while (out_p[0] >= 0 || err_p[0] >= 0) {
        struct pollfd pfd[2] = {{.fd = out_p[0], .events = POLLIN},
                                {.fd = err_p[0], .events = POLLIN}};
        long wait = deadline ? deadline - now_ms() : -1;
        if (deadline && wait <= 0) {
            timed_out = true;
            kill(pid, SIGKILL);
            break;
        }
        int n = poll(pfd, 2, (int)(wait > 60000 ? 60000 : wait));
        if (n < 0 && errno != EINTR)
            break;
        if (n <= 0)
            continue;
        if (pfd[0].revents &&
            !drain(out_p[0], &res->out, &res->out_len, &out_cap, o->stdout_max, &out_over)) {
            close(out_p[0]);
            out_p[0] = -1;
        }
        if (pfd[1].revents &&
            !drain(err_p[0], &res->err, &res->err_len, &err_cap, ERR_CAPTURE_MAX, &err_over)) {
            close(err_p[0]);
            err_p[0] = -1;
        }
        if (out_over) { /* what it says beyond the bound is not read: it ends */
            kill(pid, SIGKILL);
            break;
        }
    }
    if (out_p[0] >= 0)
        close(out_p[0]);
    if (err_p[0] >= 0)
        close(err_p[0]);
    /* a timeout still applies to a child that closed its output */
    while (deadline && !timed_out && waitpid(pid, &res->status, WNOHANG) == 0) {
        if (now_ms() >= deadline) {
            timed_out = true;
            kill(pid, SIGKILL);
            break;
        }
        sleep_ms(5);
    }
    r = reap(pid, &res->status);
    if (r == -ECHILD)
        r = 0; /* reaped by the loop above */
    res->out = empty_string(res->out);
    res->err = empty_string(res->err);
    if (!res->out || !res->err)
        return tl_error_set_nopos(err, -ENOMEM, "%s: out of memory", name);
    if (exec_errno)
        return tl_error_set_nopos(err, -exec_errno, "cannot run %s: %s", name,
                                  strerror(exec_errno));
    if (timed_out)
        return tl_error_set_nopos(err, -ETIMEDOUT, "%s: no end within %ld ms; killed", name,
                                  o->timeout_ms);
    if (r < 0)
        return tl_error_set_nopos(err, r, "%s: wait: %s", name, strerror(-r));
    if (out_over)
        return tl_error_set_nopos(err, -EFBIG, "%s: more than %zu bytes of output", name,
                                  o->stdout_max);
    if (WIFSIGNALED(res->status))
        return tl_error_set_nopos(err, -EIO, "%s: killed by signal %d", name,
                                  WTERMSIG(res->status));
    if (WIFEXITED(res->status) && WEXITSTATUS(res->status) != 0) {
        /* the first line of what it said says why */
        size_t l = strcspn(res->err, "\r\n");
        return l ? tl_error_set_nopos(err, -EIO, "%s: exit status %d: %.*s", name,
                                      WEXITSTATUS(res->status), (int)l, res->err)
                 : tl_error_set_nopos(err, -EIO, "%s: exit status %d", name,
                                      WEXITSTATUS(res->status));
    }
    return 0;
}

int tlh_run_json(const struct tlh_run_options *o, json_t **out, struct tl_error *err)
{
    *out = NULL;
    struct tlh_run_result res;
    int r = tlh_run(o, &res, err);
    if (r == 0) {
        json_error_t jerr;
        *out = json_loadb(res.out, res.out_len, 0, &jerr);
        if (!*out)
            r = tl_error_set_nopos(err, -EBADMSG, "%s: output is not JSON: %s (line %d)",
                                   o->argv[0], jerr.text, jerr.line);
    }
    tlh_run_result_done(&res);
    return r;
}

int tlh_proc_starttime(pid_t pid, unsigned long long *out)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -EIO;
    buf[n] = 0;
    /* comm (field 2) may hold spaces and parentheses: fields restart after
     * the last ')'. Field 3 is the state, 22 the start time. */
    char *p = strrchr(buf, ')');
    if (!p || p[1] != ' ')
        return -EIO;
    p += 2;
    if (*p == 'Z' || *p == 'X')
        return -ESRCH; /* a zombie has ended */
    for (int field = 3; field < 22; field++) {
        p = strchr(p, ' ');
        if (!p)
            return -EIO;
        p++;
    }
    *out = strtoull(p, NULL, 10);
    return 0;
}

int tlh_proc_start(char *const argv[], const char *log, int keep_fd, struct tlh_proc *out,
                   struct tl_error *err)
{
    int log_fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (log_fd < 0)
        return tl_error_set_nopos(err, -errno, "%s: %s", log, strerror(errno));
    int exec_p[2];
    if (pipe2(exec_p, O_CLOEXEC) < 0) {
        int e = errno;
        close(log_fd);
        return tl_error_set_nopos(err, -e, "cannot start %s: %s", argv[0], strerror(e));
    }
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(log_fd);
        close(exec_p[0]);
        close(exec_p[1]);
        return tl_error_set_nopos(err, -e, "cannot start %s: %s", argv[0], strerror(e));
    }
    if (pid == 0) {
        setsid(); /* a tld crash or restart must not take the child down */
        child_defaults();
        int null = open("/dev/null", O_RDONLY);
        if (null < 0 || dup2(null, 0) < 0 || dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0)
            child_exec_failed(exec_p[1]);
        if (keep_fd >= 0 && fcntl(keep_fd, F_SETFD, 0) < 0)
            child_exec_failed(exec_p[1]);
        tlh_child_close_fds((int[]){exec_p[1], keep_fd}, 2);
        execvp(argv[0], argv);
        child_exec_failed(exec_p[1]);
    }
    close(exec_p[1]);
    close(log_fd);
    int e = exec_result(exec_p[0]);
    if (e) {
        waitpid(pid, NULL, 0);
        return tl_error_set_nopos(err, -e, "cannot run %s: %s", argv[0], strerror(e));
    }
    out->pid = pid;
    if (tlh_proc_starttime(pid, &out->start) < 0)
        out->start = 0; /* it exited at once: left for tlh_proc_alive to reap */
    return 0;
}

bool tlh_proc_alive(const struct tlh_proc *p, int *wstatus, bool *status_known)
{
    if (status_known)
        *status_known = false;
    if (p->pid <= 0)
        return false;
    int st;
    pid_t r = waitpid(p->pid, &st, WNOHANG);
    if (r == p->pid) {
        if (wstatus)
            *wstatus = st;
        if (status_known)
            *status_known = true;
        return false;
    }
    unsigned long long start;
    if (tlh_proc_starttime(p->pid, &start) < 0) {
        /* It may have become a zombie between the waitpid above and the
         * read of /proc: if it is our child, its status is there now. */
        if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
            if (wstatus)
                *wstatus = st;
            if (status_known)
                *status_known = true;
        }
        return false;
    }
    return p->start == 0 || start == p->start;
}

void tlh_proc_kill(struct tlh_proc *p, int sig, int wait_ms)
{
    if (p->pid <= 0)
        return;
    if (tlh_proc_alive(p, NULL, NULL)) {
        kill(p->pid, sig);
        for (int waited = 0; waited < wait_ms && tlh_proc_alive(p, NULL, NULL); waited += 20)
            sleep_ms(20);
        if (tlh_proc_alive(p, NULL, NULL)) {
            kill(p->pid, SIGKILL);
            for (int waited = 0; waited < 2000 && tlh_proc_alive(p, NULL, NULL); waited += 20)
                sleep_ms(20);
        }
    }
    /* our own child is reaped here, not left a zombie for the next call:
     * it may have died between tlh_proc_alive's waitpid and its /proc read */
    for (int i = 0; i < 100; i++) {
        pid_t r = waitpid(p->pid, NULL, WNOHANG);
        if (r == p->pid || (r < 0 && errno == ECHILD))
            break;
        sleep_ms(10);
    }
    p->pid = 0;
    p->start = 0;
}
