/* One swtpm process: start with the state key on a pipe, readiness through
 * the control channel, control channel commands, the ESYS connection, a
 * clean stop, and SIGKILL plus reaping on every failure. The API, the
 * caller's duties and the invariants kept are described in tlhost/swtpm.h.
 *
 * No global state: everything lives in the caller's struct tlh_swtpm, and
 * the only link to signal handling is the caller's struct
 * tlh_swtpm_interrupt. Errors name the caller's subject (tl vtpm's: the
 * state directory): "SUBJECT: what". */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>
#include <unistd.h>

#include "tl/util.h"
#include "tl/vtpm.h"
#include "tlhost/file.h"
#include "tlhost/proc.h"
#include "tlhost/swtpm.h"

const char *tlh_swtpm_interrupt_reason(int sig)
{
    return sig == SIGALRM ? "timed out" : "interrupted";
}

/* The signal that arrived since the caller's interrupt was last cleared. */
static int interrupted(const struct tlh_swtpm *s)
{
    return s->intr ? s->intr->signal : 0;
}

static void set_kill_pid(struct tlh_swtpm *s, pid_t pid)
{
    if (s->intr)
        s->intr->kill_pid = pid;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static bool ctrl(const struct tlh_swtpm *s, uint32_t cmd, long timeout_ms, uint32_t *result)
{
    return tlh_swtpm_ctrl(s->ctrl, cmd, -1, timeout_ms, result, NULL) == 0;
}

bool tlh_swtpm_reap(struct tlh_swtpm *s, bool block)
{
    if (s->pid <= 0 || s->reaped)
        return true;
    for (;;) {
        pid_t r = waitpid(s->pid, &s->status, block ? 0 : WNOHANG);
        if (r == s->pid) {
            s->reaped = true;
            return true;
        }
        if (r < 0 && errno == EINTR && block)
            continue;
        return false;
    }
}

/* Why swtpm failed, from its output: the line that says most. */
static void swtpm_why(const struct tlh_swtpm *s, char *out, size_t size)
{
    _cleanup_free_ uint8_t *buf = NULL;
    size_t len = 0;
    FILE *f = fopen(s->log, "re");
    snprintf(out, size, "no output");
    if (!f)
        return;
    buf = malloc(8192);
    if (buf)
        len = fread(buf, 1, 8191, f);
    fclose(f);
    if (!buf || len == 0)
        return;
    buf[len] = 0;
    if (strstr((char *)buf, "GetDecryptedData") || strstr((char *)buf, "decrypt")) {
        snprintf(out, size, "the state does not decrypt with this key");
        return;
    }
    char *last = NULL;
    for (char *line = strtok((char *)buf, "\n"); line; line = strtok(NULL, "\n"))
        if (*line)
            last = line;
    if (last)
        snprintf(out, size, "%s", last);
}

int tlh_swtpm_report(const struct tlh_swtpm *s, const char *what, const char *subject,
                     struct tl_error *err)
{
    char why[240];
    swtpm_why(s, why, sizeof(why));
    if (s->reaped && WIFEXITED(s->status))
        return tl_error_set_nopos(err, -EIO, "%s: %s (exit status %d): %s", subject, what,
                                  WEXITSTATUS(s->status), why);
    if (s->reaped && WIFSIGNALED(s->status) && !interrupted(s))
        return tl_error_set_nopos(err, -EIO, "%s: %s (killed by signal %d)", subject, what,
                                  WTERMSIG(s->status));
    return tl_error_set_nopos(err, -EIO, "%s: %s: %s", subject, what, why);
}

static int make_run_dir(struct tlh_swtpm *s, struct tl_error *err)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    if (snprintf(s->dir, sizeof(s->dir), "%s/tl-vtpm.XXXXXX", tmp) >= (int)sizeof(s->dir) ||
        !mkdtemp(s->dir)) {
        int e = -errno;
        s->dir[0] = 0;
        return tl_error_set_nopos(err, e, "%s: cannot create a private directory: %s", tmp,
                                  strerror(-e));
    }
    if (snprintf(s->sock, sizeof(s->sock), "%s/swtpm.sock", s->dir) >= (int)sizeof(s->sock) ||
        snprintf(s->ctrl, sizeof(s->ctrl), "%s.ctrl", s->sock) >= (int)sizeof(s->ctrl) ||
        strchr(s->dir, ',')) {
        tl_error_set_nopos(
            err, -EINVAL, "%s: unusable for sockets (too long or has a comma); set TMPDIR", s->dir);
        rmdir(s->dir);
        s->dir[0] = 0;
        return -EINVAL;
    }
    if (snprintf(s->log, sizeof(s->log), "%s/swtpm.log", s->dir) >= (int)sizeof(s->log)) {
        rmdir(s->dir);
        s->dir[0] = 0;
        return tl_error_set_nopos(err, -ENAMETOOLONG, "%s: path too long", tmp);
    }
    return 0;
}

static void child_exec(struct tlh_swtpm *s, const char *state, int key_fd, int log_fd, pid_t parent)
{
    setpgid(0, 0); /* the terminal's ^C goes to the caller, which stops swtpm */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
        _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    int null = open("/dev/null", O_RDONLY);
    if (null < 0 || dup2(null, 0) < 0 || dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0)
        _exit(127);
    if (fcntl(key_fd, F_SETFD, 0) < 0)
        _exit(127);
    tlh_child_close_fds(&key_fd, 1);
    char tpmstate[PATH_MAX + 32], ctrl[PATH_MAX], server[PATH_MAX], key[64], log[PATH_MAX + 32];
    snprintf(tpmstate, sizeof(tpmstate), "dir=%s,mode=0600", state);
    snprintf(ctrl, sizeof(ctrl), "type=unixio,path=%s,mode=0600", s->ctrl);
    snprintf(server, sizeof(server), "type=unixio,path=%s,mode=0600", s->sock);
    snprintf(key, sizeof(key), "fd=%d,mode=aes-256-cbc,format=binary", key_fd);
    /* Level 0: errors only, not a line per client connection. */
    snprintf(log, sizeof(log), "file=%s,level=0", s->log);
    const char *bin = getenv("TL_SWTPM");
    if (!bin || !*bin)
        bin = "swtpm";
    char *argv[] = {(char *)bin,
                    "socket",
                    "--tpm2",
                    "--tpmstate",
                    tpmstate,
                    "--ctrl",
                    ctrl,
                    "--server",
                    server,
                    "--flags",
                    "not-need-init,startup-clear",
                    "--key",
                    key,
                    "--log",
                    log,
                    NULL};
    execvp(bin, argv);
    dprintf(2, "cannot run %s: %s\n", bin, strerror(errno));
    _exit(127);
}

int tlh_swtpm_wait_ready(struct tlh_swtpm *s, long timeout_ms, const char *subject,
                         struct tl_error *err)
{
    long deadline = now_ms() + timeout_ms;
    for (;;) {
        if (interrupted(s))
            return tl_error_set_nopos(err, -EINTR, "%s: starting swtpm: %s", subject,
                                      tlh_swtpm_interrupt_reason(interrupted(s)));
        if (tlh_swtpm_reap(s, false))
            return tlh_swtpm_report(s, "swtpm refused to start", subject, err);
        /* swtpm opens its sockets before it loads the state, and answers
         * on the control channel only once it has: an answer is ready. */
        if (ctrl(s, TLH_SWTPM_CMD_GET_CAPABILITY, deadline - now_ms(), NULL)) {
            int fd = tlh_swtpm_socket_connect(s->sock, NULL);
            if (fd >= 0) {
                close(fd);
                return 0;
            }
        }
        if (now_ms() > deadline)
            return tl_error_set_nopos(err, -ETIMEDOUT, "%s: swtpm did not answer within %ld ms",
                                      subject, timeout_ms);
        sleep_ms(5);
    }
}

int tlh_swtpm_start(struct tlh_swtpm *s, const char *state, const uint8_t key[TLH_SWTPM_KEY_LEN],
                    struct tlh_swtpm_interrupt *intr, const char *subject, struct tl_error *err)
{
    *s = (struct tlh_swtpm){.pid = -1, .intr = intr};
    if (strchr(state, ','))
        return tl_error_set_nopos(err, -EINVAL, "%s: swtpm cannot take a state path with a comma",
                                  state);
    int r = make_run_dir(s, err);
    if (r < 0)
        return r;
    int kp[2];
    int log_fd = open(s->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (log_fd < 0 || pipe2(kp, O_CLOEXEC) < 0) {
        r = tl_error_set_nopos(err, -errno, "%s: cannot set up swtpm: %s", s->dir, strerror(errno));
        if (log_fd >= 0)
            close(log_fd);
        tlh_file_remove_tree(s->dir, false);
        return r;
    }
    /* 32 bytes fit in any pipe: written before fork, so swtpm reads the
     * key and then end-of-file. */
    bool key_ok = write(kp[1], key, TLH_SWTPM_KEY_LEN) == TLH_SWTPM_KEY_LEN;
    close(kp[1]);
    pid_t parent = getpid();
    s->pid = key_ok ? fork() : -1;
    if (s->pid == 0)
        child_exec(s, state, kp[0], log_fd, parent);
    close(kp[0]);
    close(log_fd);
    if (s->pid < 0) {
        r = tl_error_set_nopos(err, -errno, "%s: cannot start swtpm: %s", subject, strerror(errno));
        tlh_file_remove_tree(s->dir, false);
        return r;
    }
    set_kill_pid(s, s->pid);
    if ((r = tlh_swtpm_wait_ready(s, TLH_SWTPM_START_TIMEOUT_MS, subject, err)) == 0)
        return 0;
    if (!s->reaped)
        kill(s->pid, SIGKILL);
    tlh_swtpm_reap(s, true);
    set_kill_pid(s, 0);
    tlh_file_remove_tree(s->dir, false);
    return r;
}

int tlh_swtpm_connect(struct tlh_swtpm *s, const char *subject, struct tl_error *err)
{
    char conf[sizeof(s->sock) + 16];
    snprintf(conf, sizeof(conf), "swtpm:path=%s", s->sock);
    TSS2_RC rc = Tss2_TctiLdr_Initialize(conf, &s->tcti);
    if (rc == TSS2_RC_SUCCESS)
        rc = Esys_Initialize(&s->esys, s->tcti, NULL);
    if (rc != TSS2_RC_SUCCESS) {
        /* swtpm opens its sockets before it loads the state: a state it
         * refuses shows here, as its exit. */
        long deadline = now_ms() + 500;
        while (!tlh_swtpm_reap(s, false) && now_ms() < deadline && !interrupted(s))
            sleep_ms(5);
        if (s->reaped)
            return tlh_swtpm_report(s, "swtpm refused to start", subject, err);
        return tl_error_set_nopos(err, -EIO, "%s: cannot talk to swtpm (TCTI \"%s\"): %s", subject,
                                  conf, Tss2_RC_Decode(rc));
    }
    return 0;
}

void tlh_swtpm_disconnect(struct tlh_swtpm *s)
{
    if (s->esys)
        Esys_Finalize(&s->esys);
    if (s->tcti)
        Tss2_TctiLdr_Finalize(&s->tcti);
}

int tlh_swtpm_stop(struct tlh_swtpm *s, bool clean, const char *subject, struct tl_error *err)
{
    int r = 0;
    if (s->esys) {
        struct tl_error e = {0};
        if (clean && tl_vtpm_shutdown(s->esys, &e) < 0)
            r = tl_error_set_nopos(err, -EIO, "%s: %s", subject, e.message);
    }
    tlh_swtpm_disconnect(s);
    if (s->pid > 0 && !s->reaped) {
        uint32_t res = 1;
        if (ctrl(s, TLH_SWTPM_CMD_SHUTDOWN, TLH_SWTPM_STOP_TIMEOUT_MS, &res) && res == 0) {
            long deadline = now_ms() + TLH_SWTPM_STOP_TIMEOUT_MS;
            while (!tlh_swtpm_reap(s, false) && now_ms() < deadline)
                sleep_ms(2);
        }
        if (!s->reaped) {
            if (clean && r == 0)
                r = tl_error_set_nopos(err, -ETIMEDOUT, "%s: swtpm did not stop on request; killed",
                                       subject);
            kill(s->pid, SIGKILL);
            tlh_swtpm_reap(s, true);
        } else if (clean && !(WIFEXITED(s->status) && WEXITSTATUS(s->status) == 0) && r == 0) {
            r = tlh_swtpm_report(s, "stopping swtpm", subject, err);
        }
    }
    set_kill_pid(s, 0);
    if (s->dir[0])
        tlh_file_remove_tree(s->dir, false);
    s->dir[0] = 0;
    return r;
}
