/* Processes tld starts for a node (swtpm, QEMU): detached, so that they
 * outlive tld (a tld crash or restart must not take the nodes down), and
 * identified by pid + start time, so that a pid reused after a crash is
 * never mistaken for the node's process.
 *
 * A spawned process gets its own session (setsid), /dev/null as stdin, a
 * log file as stdout and stderr, and only the descriptors it is given
 * (everything else tld opens is O_CLOEXEC). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tld.h"

int tld_proc_starttime(pid_t pid, unsigned long long *out)
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

int tld_proc_spawn(char *const argv[], const char *log, int keep_fd, struct tld_proc *out)
{
    int log_fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (log_fd < 0)
        return -errno;
    int err[2];
    if (pipe2(err, O_CLOEXEC) < 0) {
        close(log_fd);
        return -errno;
    }
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(log_fd);
        close(err[0]);
        close(err[1]);
        return -e;
    }
    if (pid == 0) {
        setsid();
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        int null = open("/dev/null", O_RDONLY);
        if (null < 0 || dup2(null, 0) < 0 || dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0)
            _exit(127);
        if (keep_fd >= 0 && fcntl(keep_fd, F_SETFD, 0) < 0)
            _exit(127);
        execvp(argv[0], argv);
        int e = errno;
        (void)!write(err[1], &e, sizeof(e));
        _exit(127);
    }
    close(err[1]);
    close(log_fd);
    int e = 0;
    ssize_t n = read(err[0], &e, sizeof(e)); /* EOF: exec succeeded */
    close(err[0]);
    if (n == (ssize_t)sizeof(e)) {
        waitpid(pid, NULL, 0);
        return -e;
    }
    out->pid = pid;
    if (tld_proc_starttime(pid, &out->start) < 0) {
        /* it exited at once: leave it for tld_proc_alive to reap */
        out->start = 0;
    }
    return 0;
}

bool tld_proc_alive(const struct tld_proc *p, int *wstatus, bool *status_known)
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
    if (tld_proc_starttime(p->pid, &start) < 0) {
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

void tld_proc_kill(struct tld_proc *p, int sig, int wait_ms)
{
    if (p->pid <= 0)
        return;
    if (tld_proc_alive(p, NULL, NULL)) {
        kill(p->pid, sig);
        for (int waited = 0; waited < wait_ms; waited += 20) {
            if (!tld_proc_alive(p, NULL, NULL))
                break;
            struct timespec ts = {0, 20 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        if (tld_proc_alive(p, NULL, NULL)) {
            kill(p->pid, SIGKILL);
            for (int waited = 0; waited < 2000 && tld_proc_alive(p, NULL, NULL); waited += 20) {
                struct timespec ts = {0, 20 * 1000 * 1000};
                nanosleep(&ts, NULL);
            }
        }
    }
    /* our own child is reaped here, not left a zombie for the next call:
     * it may have died between tld_proc_alive's waitpid and its /proc read */
    for (int i = 0; i < 100; i++) {
        pid_t r = waitpid(p->pid, NULL, WNOHANG);
        if (r == p->pid || (r < 0 && errno == ECHILD))
            break;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    p->pid = 0;
    p->start = 0;
}
