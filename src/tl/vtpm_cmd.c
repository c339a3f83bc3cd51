/* `tl vtpm provision|show|run`: a node's vTPM, one swtpm process per node.
 *
 * The program owns everything libtl must not do: the swtpm child process,
 * its sockets, the state directory, the state encryption key and the EK
 * CA's files. libtl's vtpm module sends the TPM commands through the ESYS
 * context opened here (TCTI "swtpm:path=<socket>"); its ekca module makes
 * the certificates.
 *
 * Invariants:
 *  - every swtpm started here is a child in its own process group that
 *    dies with us (PR_SET_PDEATHSIG) and is stopped (control channel
 *    CMD_SHUTDOWN, then SIGKILL after a timeout) and reaped before we
 *    return; a signal or the watchdog while provisioning kills it at once,
 *    which fails the TPM I/O under way and takes the normal cleanup path;
 *  - provisioning is all or nothing: a state directory and a key file
 *    created for it are removed again when any step fails (an empty
 *    directory given is emptied again), so a state on disk always holds
 *    both EK certificates; an EK CA made on first use is kept: it is
 *    complete in itself;
 *  - the state key never appears in argv: swtpm reads it from a pipe
 *    (--key fd=N); the key file is checked (32 bytes, mode 0600, outside the
 *    state directory) before swtpm sees it;
 *  - `show` and `run` never create a state: a directory without
 *    tpm2-00.permall is refused.
 *
 * The swtpm control channel is the one protocol spoken by hand, two
 * commands of 4 bytes each: CMD_GET_CAPABILITY as the readiness probe
 * (swtpm opens its sockets before it loads the state and answers only once
 * it has) and CMD_SHUTDOWN ("Control Channel Specification", swtpm wiki;
 * swtpm/tpm_ioctl.h); tpm2-tss has no call for either. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>
#include <unistd.h>

#include "tl.h"
#include "tl/ekca.h"
#include "tl/util.h"
#include "tl/vtpm.h"
#include "tl/x509.h"

#define STATE_KEY_LEN            32 /* AES-256-CBC, swtpm --key ...,mode=aes-256-cbc */
#define STATE_FILE               "tpm2-00.permall"
#define START_TIMEOUT_MS         5000
#define STOP_TIMEOUT_MS          5000
#define WATCHDOG_SECONDS         60
#define SWTPM_CMD_GET_CAPABILITY 0x01
#define SWTPM_CMD_SHUTDOWN       0x03

static const char *const ca_files[TL_EKCA_N_PARTS] = {
    [TL_EKCA_ROOT_CERT] = "root.pem",
    [TL_EKCA_ROOT_KEY] = "root.key",
    [TL_EKCA_INTERMEDIATE_CERT] = "intermediate.pem",
    [TL_EKCA_INTERMEDIATE_KEY] = "intermediate.key",
};

static void usage(FILE *f)
{
    fputs("usage: tl vtpm provision --state DIR --ca CA_DIR [--key-file KEYFILE] [--name NAME]\n"
          "                         [--json]\n"
          "       tl vtpm show --state DIR [--key-file KEYFILE] [--ca CA_DIR] [--json]\n"
          "       tl vtpm run --state DIR [--key-file KEYFILE] [--json]\n"
          "       tl vtpm run --ephemeral --ca CA_DIR [--name NAME] [--json]\n"
          "\n"
          "provision: a new vTPM state in DIR (swtpm, encrypted with KEYFILE, default\n"
          "  DIR.key, made when missing), RSA-2048 and ECC P-256 EKs, their certificates from\n"
          "  the EK CA in CA_DIR (made on first use) in NV 0x01c00002 and 0x01c0000a.\n"
          "show: both certificates and whether each certifies the vTPM's EK (and, with\n"
          "  --ca, chains to the root). Exit 1 when not.\n"
          "run: swtpm on the state until SIGTERM/SIGINT, or until swtpm ends (QEMU shuts\n"
          "  it down with the VM); --ephemeral: a fresh vTPM in memory-backed storage,\n"
          "  provisioned, deleted at stop (a new EK every run).\n"
          "Exit status: 0 ok, 1 show's verdict is fail, 2 bad usage or a failure.\n",
          f);
}

/* ---- signals ---- */

static volatile sig_atomic_t got_signal;
static volatile pid_t abort_pid; /* swtpm to kill on a signal (while provisioning) */

static void on_signal(int sig)
{
    got_signal = sig;
    if (abort_pid > 0)
        kill(abort_pid, SIGKILL);
}

static void on_sigchld(int sig)
{
    (void)sig;
}

/* No SA_RESTART: a signal interrupts what we wait for. */
static void signals_install(void)
{
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGALRM, &sa, NULL);
    sa.sa_handler = on_sigchld;
    sigaction(SIGCHLD, &sa, NULL);
    signal(SIGPIPE, SIG_IGN); /* a dead swtpm: EPIPE, not death */
}

static const char *signal_reason(void)
{
    return got_signal == SIGALRM ? "timed out" : "interrupted";
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

/* ---- files ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

static int rm_below(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag;
    if (ftw->level > 0)
        remove(path);
    return 0;
}

static void rm_rf(const char *path)
{
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Empties a directory, keeping it. */
static void rm_contents(const char *path)
{
    nftw(path, rm_below, 16, FTW_DEPTH | FTW_PHYS);
}

/* Writes a new file (never over an existing one) with mode, synced. */
static int write_new_file(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        tl_report(path, "cannot create: %s", strerror(errno));
        return -1;
    }
    const uint8_t *p = data;
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, p + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            tl_report(path, "cannot write: %s", strerror(errno));
            close(fd);
            unlink(path);
            return -1;
        }
        done += (size_t)n;
    }
    if (fsync(fd) < 0 || close(fd) < 0) {
        tl_report(path, "cannot write: %s", strerror(errno));
        unlink(path);
        return -1;
    }
    return 0;
}

/* A secret file must be a regular file nobody else can read. */
static int check_private_file(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        tl_report(path, "cannot open: %s", strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        tl_report(path, "not a regular file");
        return -1;
    }
    if (st.st_mode & 077) {
        tl_report(path, "readable by group or others (mode %04o); chmod 600 it",
                  st.st_mode & 07777);
        return -1;
    }
    return 0;
}

/* The absolute form of a path: symlinks resolved as far as the path
 * exists, the rest appended as given ("." and ".." only where it exists). */
static int abs_path(const char *path, char out[PATH_MAX])
{
    if (realpath(path, out))
        return 0;
    if (errno != ENOENT)
        return -errno;
    char copy[PATH_MAX];
    if (snprintf(copy, sizeof(copy), "%s", path) >= (int)sizeof(copy))
        return -ENAMETOOLONG;
    size_t n = strlen(copy);
    while (n > 1 && copy[n - 1] == '/')
        copy[--n] = 0;
    char *slash = strrchr(copy, '/');
    const char *base = slash ? slash + 1 : copy;
    if (strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
        return -ENOENT;
    char parent[PATH_MAX];
    int r = abs_path(slash ? (slash == copy ? "/" : (*slash = 0, copy)) : ".", parent);
    if (r < 0)
        return r;
    if (snprintf(out, PATH_MAX, "%s/%s", strcmp(parent, "/") == 0 ? "" : parent, base) >= PATH_MAX)
        return -ENAMETOOLONG;
    return 0;
}

/* ---- the state key ---- */

struct state_key {
    char path[PATH_MAX];
    uint8_t key[STATE_KEY_LEN];
    bool created;
};

/* DIR.key next to DIR unless given; refuses a key inside DIR (the key is
 * held apart from the state it protects). */
static int key_path(const char *state, const char *given, struct state_key *k)
{
    char abs_state[PATH_MAX], abs_key[PATH_MAX], def[PATH_MAX];
    if (!given) {
        size_t n = strlen(state);
        while (n > 1 && state[n - 1] == '/')
            n--;
        if (snprintf(def, sizeof(def), "%.*s.key", (int)n, state) >= (int)sizeof(def)) {
            tl_report(state, "path too long");
            return -1;
        }
        given = def;
    }
    int r = abs_path(state, abs_state);
    if (r == 0)
        r = abs_path(given, abs_key);
    if (r < 0) {
        tl_report(r == -ENAMETOOLONG ? state : given, "cannot resolve: %s", strerror(-r));
        return -1;
    }
    size_t n = strlen(abs_state);
    if (strncmp(abs_key, abs_state, n) == 0 && (abs_key[n] == '/' || abs_key[n] == 0)) {
        tl_report(given, "the key file must not be inside the state directory %s", state);
        return -1;
    }
    snprintf(k->path, sizeof(k->path), "%s", given);
    return 0;
}

static int key_load(struct state_key *k)
{
    if (check_private_file(k->path) < 0)
        return -1;
    _cleanup_free_ uint8_t *buf = NULL;
    size_t len;
    if (tl_read_file(k->path, &buf, &len) < 0)
        return -1;
    if (len != STATE_KEY_LEN) {
        OPENSSL_cleanse(buf, len);
        tl_report(k->path, "a state key is %d bytes, this file has %zu", STATE_KEY_LEN, len);
        return -1;
    }
    memcpy(k->key, buf, STATE_KEY_LEN);
    OPENSSL_cleanse(buf, len);
    return 0;
}

static int key_random(uint8_t key[STATE_KEY_LEN])
{
    size_t done = 0;
    while (done < STATE_KEY_LEN) {
        ssize_t n = getrandom(key + done, STATE_KEY_LEN - done, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        done += (size_t)n;
    }
    return 0;
}

/* Loads the key, or makes one when the file does not exist. */
static int key_load_or_create(struct state_key *k)
{
    if (access(k->path, F_OK) == 0)
        return key_load(k);
    if (errno != ENOENT)
        return key_load(k); /* reports why */
    if (key_random(k->key) < 0) {
        tl_report(k->path, "no random bytes: %s", strerror(errno));
        return -1;
    }
    if (write_new_file(k->path, k->key, STATE_KEY_LEN, 0600) < 0)
        return -1;
    k->created = true;
    return 0;
}

/* ---- the EK CA directory ---- */

static int ca_path(const char *dir, int part, char out[PATH_MAX])
{
    return snprintf(out, PATH_MAX, "%s/%s", dir, ca_files[part]) < PATH_MAX ? 0 : -1;
}

static int ca_load(const char *dir, struct tl_ekca *ca)
{
    char *part[TL_EKCA_N_PARTS] = {0};
    size_t len[TL_EKCA_N_PARTS] = {0};
    int r = 0;
    for (int i = 0; i < TL_EKCA_N_PARTS && r == 0; i++) {
        char path[PATH_MAX];
        uint8_t *buf = NULL;
        if (ca_path(dir, i, path) < 0 || (i % 2 == 1 && check_private_file(path) < 0) ||
            tl_read_file(path, &buf, &len[i]) < 0)
            r = -1;
        part[i] = (char *)buf;
    }
    struct tl_error err = {0};
    if (r == 0 && tl_ekca_load_pem(ca, (const char *const *)part, len, &err) < 0) {
        tl_report(dir, "EK CA: %s", err.message);
        r = -1;
    }
    for (int i = 0; i < TL_EKCA_N_PARTS; i++) {
        if (part[i])
            OPENSSL_cleanse(part[i], len[i]);
        free(part[i]);
    }
    return r;
}

/* A new CA in dir (made 0700 if missing): all four files or none. */
static int ca_create(const char *dir, struct tl_ekca *ca)
{
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        tl_report(dir, "cannot create: %s", strerror(errno));
        return -1;
    }
    struct tl_error err = {0};
    if (tl_ekca_create(ca, time(NULL), &err) < 0) {
        tl_report(dir, "%s", err.message);
        return -1;
    }
    struct tl_ekca_pem pem;
    if (tl_ekca_to_pem(ca, &pem, &err) < 0) {
        tl_report(dir, "%s", err.message);
        tl_ekca_done(ca);
        return -1;
    }
    int written = 0, r = 0;
    for (; written < TL_EKCA_N_PARTS && r == 0; written++) {
        char path[PATH_MAX];
        if (ca_path(dir, written, path) < 0 ||
            write_new_file(path, pem.part[written], pem.len[written], written % 2 ? 0600 : 0644) <
                0)
            r = -1;
    }
    if (r < 0) {
        for (int i = 0; i < written - 1; i++) {
            char path[PATH_MAX];
            if (ca_path(dir, i, path) == 0)
                unlink(path);
        }
        tl_ekca_done(ca);
    }
    tl_ekca_pem_done(&pem);
    return r;
}

/* Loads the CA in dir, or creates it when none of its files exist yet;
 * refuses a partial one. */
static int ca_open(const char *dir, struct tl_ekca *ca, bool *created)
{
    int present = 0;
    const char *missing = NULL;
    for (int i = 0; i < TL_EKCA_N_PARTS; i++) {
        char path[PATH_MAX];
        if (ca_path(dir, i, path) < 0) {
            tl_report(dir, "path too long");
            return -1;
        }
        if (access(path, F_OK) == 0)
            present++;
        else
            missing = ca_files[i];
    }
    *created = present == 0;
    if (present == 0)
        return ca_create(dir, ca);
    if (present < TL_EKCA_N_PARTS) {
        tl_report(dir, "incomplete EK CA (%s missing); not creating a new one over it", missing);
        return -1;
    }
    return ca_load(dir, ca);
}

/* ---- swtpm ---- */

struct swtpm {
    pid_t pid;
    int status; /* wait status once reaped */
    bool reaped;
    char dir[PATH_MAX]; /* private: sockets and swtpm's output */
    char sock[sizeof(((struct sockaddr_un *)0)->sun_path)];
    char ctrl[sizeof(((struct sockaddr_un *)0)->sun_path)];
    char log[PATH_MAX];
    TSS2_TCTI_CONTEXT *tcti;
    ESYS_CONTEXT *esys;
};

static int unix_connect(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* One control channel command (4-byte code, no parameters); true when
 * swtpm answered within timeout_ms, *result (if not NULL) the 4-byte
 * result code it starts with. */
static bool swtpm_ctrl(const struct swtpm *s, uint32_t cmd, long timeout_ms, uint32_t *result)
{
    int fd = unix_connect(s->ctrl);
    if (fd < 0)
        return false;
    uint8_t out[4] = {(uint8_t)(cmd >> 24), (uint8_t)(cmd >> 16), (uint8_t)(cmd >> 8),
                      (uint8_t)cmd};
    uint8_t in[16];
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    bool ok = write(fd, out, 4) == 4 &&
              poll(&pfd, 1, (int)(timeout_ms > 0 ? timeout_ms : 0)) == 1 &&
              read(fd, in, sizeof(in)) >= 4;
    close(fd);
    if (ok && result)
        *result = (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | in[3];
    return ok;
}

static bool swtpm_reap(struct swtpm *s, bool block)
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
static void swtpm_why(const struct swtpm *s, char *out, size_t size)
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

static void swtpm_report(const struct swtpm *s, const char *what, const char *subject)
{
    char why[240];
    swtpm_why(s, why, sizeof(why));
    if (s->reaped && WIFEXITED(s->status))
        tl_report(subject, "%s (exit status %d): %s", what, WEXITSTATUS(s->status), why);
    else if (s->reaped && WIFSIGNALED(s->status) && !got_signal)
        tl_report(subject, "%s (killed by signal %d)", what, WTERMSIG(s->status));
    else
        tl_report(subject, "%s: %s", what, why);
}

static int make_run_dir(struct swtpm *s)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    if (snprintf(s->dir, sizeof(s->dir), "%s/tl-vtpm.XXXXXX", tmp) >= (int)sizeof(s->dir) ||
        !mkdtemp(s->dir)) {
        tl_report(tmp, "cannot create a private directory: %s", strerror(errno));
        s->dir[0] = 0;
        return -1;
    }
    if (snprintf(s->sock, sizeof(s->sock), "%s/swtpm.sock", s->dir) >= (int)sizeof(s->sock) ||
        snprintf(s->ctrl, sizeof(s->ctrl), "%s.ctrl", s->sock) >= (int)sizeof(s->ctrl) ||
        strchr(s->dir, ',')) {
        tl_report(s->dir, "unusable for sockets (too long or has a comma); set TMPDIR");
        rmdir(s->dir);
        s->dir[0] = 0;
        return -1;
    }
    if (snprintf(s->log, sizeof(s->log), "%s/swtpm.log", s->dir) >= (int)sizeof(s->log)) {
        rmdir(s->dir);
        s->dir[0] = 0;
        return -1;
    }
    return 0;
}

static void child_exec(struct swtpm *s, const char *state, int key_fd, int log_fd, pid_t parent)
{
    setpgid(0, 0); /* the terminal's ^C goes to tl, which stops swtpm */
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

/* Starts swtpm on the state with the key and waits until both sockets
 * answer. On failure, nothing is left running and the error is printed. */
static int swtpm_start(struct swtpm *s, const char *state, const uint8_t key[STATE_KEY_LEN],
                       const char *subject)
{
    *s = (struct swtpm){.pid = -1};
    if (strchr(state, ',')) {
        tl_report(state, "swtpm cannot take a state path with a comma");
        return -1;
    }
    if (make_run_dir(s) < 0)
        return -1;
    int kp[2];
    int log_fd = open(s->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (log_fd < 0 || pipe2(kp, O_CLOEXEC) < 0) {
        tl_report(s->dir, "cannot set up swtpm: %s", strerror(errno));
        if (log_fd >= 0)
            close(log_fd);
        rm_rf(s->dir);
        return -1;
    }
    /* 32 bytes fit in any pipe: written before fork, so swtpm reads the
     * key and then end-of-file. */
    bool key_ok = write(kp[1], key, STATE_KEY_LEN) == STATE_KEY_LEN;
    close(kp[1]);
    pid_t parent = getpid();
    s->pid = key_ok ? fork() : -1;
    if (s->pid == 0)
        child_exec(s, state, kp[0], log_fd, parent);
    close(kp[0]);
    close(log_fd);
    if (s->pid < 0) {
        tl_report(subject, "cannot start swtpm: %s", strerror(errno));
        rm_rf(s->dir);
        return -1;
    }
    abort_pid = s->pid;
    long deadline = now_ms() + START_TIMEOUT_MS;
    for (;;) {
        if (got_signal) {
            tl_report(subject, "starting swtpm: %s", signal_reason());
            break;
        }
        if (swtpm_reap(s, false)) {
            swtpm_report(s, "swtpm refused to start", subject);
            break;
        }
        /* swtpm opens its sockets before it loads the state, and answers
         * on the control channel only once it has: an answer is ready. */
        if (swtpm_ctrl(s, SWTPM_CMD_GET_CAPABILITY, deadline - now_ms(), NULL)) {
            int fd = unix_connect(s->sock);
            if (fd >= 0) {
                close(fd);
                return 0;
            }
        }
        if (now_ms() > deadline) {
            tl_report(subject, "swtpm did not answer within %d ms", START_TIMEOUT_MS);
            break;
        }
        sleep_ms(5);
    }
    if (!s->reaped)
        kill(s->pid, SIGKILL);
    swtpm_reap(s, true);
    abort_pid = 0;
    rm_rf(s->dir);
    return -1;
}

static int swtpm_connect(struct swtpm *s, const char *subject)
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
        while (!swtpm_reap(s, false) && now_ms() < deadline && !got_signal)
            sleep_ms(5);
        if (s->reaped)
            swtpm_report(s, "swtpm refused to start", subject);
        else
            tl_report(subject, "cannot talk to swtpm (TCTI \"%s\"): %s", conf, Tss2_RC_Decode(rc));
        return -1;
    }
    return 0;
}

/* Stops swtpm and removes its directory. clean: a normal stop (after
 * TPM2_Shutdown when our ESYS context is open) that must end with swtpm
 * exiting 0; otherwise a stop after a failure, quiet. Returns 0 when a
 * clean stop went as it should. */
static int swtpm_stop(struct swtpm *s, bool clean, const char *subject)
{
    int r = 0;
    if (s->esys) {
        struct tl_error err = {0};
        if (clean && tl_vtpm_shutdown(s->esys, &err) < 0) {
            tl_report(subject, "%s", err.message);
            r = -1;
        }
        Esys_Finalize(&s->esys);
    }
    if (s->tcti)
        Tss2_TctiLdr_Finalize(&s->tcti);
    if (s->pid > 0 && !s->reaped) {
        uint32_t res = 1;
        if (swtpm_ctrl(s, SWTPM_CMD_SHUTDOWN, STOP_TIMEOUT_MS, &res) && res == 0) {
            long deadline = now_ms() + STOP_TIMEOUT_MS;
            while (!swtpm_reap(s, false) && now_ms() < deadline)
                sleep_ms(2);
        }
        if (!s->reaped) {
            if (clean) {
                tl_report(subject, "swtpm did not stop on request; killed");
                r = -1;
            }
            kill(s->pid, SIGKILL);
            swtpm_reap(s, true);
        } else if (clean && !(WIFEXITED(s->status) && WEXITSTATUS(s->status) == 0)) {
            swtpm_report(s, "stopping swtpm", subject);
            r = -1;
        }
    }
    abort_pid = 0;
    if (s->dir[0])
        rm_rf(s->dir);
    s->dir[0] = 0;
    return r;
}

/* ---- EK reports ---- */

struct ek_report {
    enum tl_ek_type type;
    struct tl_ek ek;
    uint8_t *cert;
    size_t cert_len;
    uint32_t nv_attributes;
    int matches;       /* 1 the certificate's key is the EK, 0 not, -1 unknown */
    int chain;         /* 0 verified, 1 failed, -1 not checked */
    char problem[240]; /* why the certificate is missing or fails */
};

static void reports_done(struct ek_report *r)
{
    for (int i = 0; i < TL_EK_N_TYPES; i++) {
        tl_ek_done(&r[i].ek);
        free(r[i].cert);
        r[i] = (struct ek_report){0};
    }
}

static bool report_pass(const struct ek_report *r)
{
    return r->cert && r->matches == 1 && r->chain != 1 && !r->problem[0];
}

static bool spki_sha256(EVP_PKEY *k, uint8_t out[32])
{
    unsigned char *der = NULL;
    int n = k ? i2d_PUBKEY(k, &der) : -1;
    bool ok = n > 0 && EVP_Digest(der, (size_t)n, out, NULL, EVP_sha256(), NULL);
    OPENSSL_free(der);
    return ok;
}

static EVP_PKEY *cert_pubkey(const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    EVP_PKEY *k = x ? X509_get_pubkey(x) : NULL;
    X509_free(x);
    return k;
}

static json_t *info_json(const struct tl_vtpm_info *info)
{
    return json_pack("{s:s, s:s, s:s}", "manufacturer", info->manufacturer, "model", info->model,
                     "version", info->version);
}

static json_t *report_json(const struct ek_report *r, bool verdicts)
{
    char idx[16];
    snprintf(idx, sizeof(idx), "0x%08x", tl_ek_cert_nv_index(r->type));
    json_t *o = json_pack("{s:s, s:s}", "type", tl_ek_type_name(r->type), "nv_index", idx);
    uint8_t h[32];
    json_object_set_new(o, "ek_sha256",
                        spki_sha256(r->ek.key, h) ? tl_json_hex(h, 32) : json_null());
    struct tl_x509_info xi;
    if (r->cert && tl_x509_describe(r->cert, r->cert_len, &xi, NULL) == 0) {
        json_object_set_new(o, "certificate",
                            json_pack("{s:s, s:s, s:o, s:s, s:I}", "subject", xi.subject, "issuer",
                                      xi.issuer, "sha256", tl_json_hex(xi.sha256, 32), "not_after",
                                      xi.not_after, "size", (json_int_t)r->cert_len));
        tl_x509_info_done(&xi);
    } else {
        json_object_set_new(o, "certificate", json_null());
    }
    if (verdicts) {
        snprintf(idx, sizeof(idx), "0x%08x", r->nv_attributes);
        json_object_set_new(o, "nv_attributes", json_string(idx));
        json_object_set_new(o, "matches_ek",
                            r->matches < 0 ? json_null() : json_boolean(r->matches));
        json_object_set_new(o, "chain",
                            r->chain < 0    ? json_null()
                            : r->chain == 0 ? json_string("verified")
                                            : json_string("failed"));
        json_object_set_new(o, "problem", r->problem[0] ? json_string(r->problem) : json_null());
    }
    return o;
}

static void report_print(const struct ek_report *r, bool verdicts)
{
    uint8_t h[32];
    char hex[65] = "?";
    printf("%-9s NV 0x%08x", tl_ek_type_name(r->type), tl_ek_cert_nv_index(r->type));
    if (verdicts)
        printf("  attributes 0x%08x", r->nv_attributes);
    putchar('\n');
    if (spki_sha256(r->ek.key, h))
        tl_hex_encode(h, 32, hex);
    printf("  EK           sha256:%s (SubjectPublicKeyInfo)\n", hex);
    struct tl_x509_info xi;
    if (r->cert && tl_x509_describe(r->cert, r->cert_len, &xi, NULL) == 0) {
        tl_hex_encode(xi.sha256, 32, hex);
        printf("  certificate  subject \"%s\"\n"
               "               issuer  \"%s\"\n"
               "               sha256:%s, %zu bytes, until %s\n",
               xi.subject, xi.issuer, hex, r->cert_len, xi.not_after);
        tl_x509_info_done(&xi);
    } else {
        printf("  certificate  none\n");
    }
    if (verdicts) {
        printf("  matches EK   %s\n", r->matches == 1 ? "yes" : r->matches == 0 ? "NO" : "unknown");
        if (r->chain >= 0)
            printf("  chain        %s\n", r->chain == 0 ? "verified to the EK CA root" : "FAILED");
        if (r->problem[0])
            printf("  problem      %s\n", r->problem);
    }
}

/* ---- provisioning ---- */

/* Both EKs, their certificates, written to NV. */
static int provision_tpm(ESYS_CONTEXT *esys, const struct tl_ekca *ca, const char *name,
                         struct tl_vtpm_info *info, struct ek_report *out, const char *subject)
{
    struct tl_error err = {0};
    if (tl_vtpm_get_info(esys, info, &err) < 0) {
        tl_report(subject, "%s", err.message);
        return -1;
    }
    for (int t = 0; t < TL_EK_N_TYPES; t++) {
        struct ek_report *r = &out[t];
        r->type = (enum tl_ek_type)t;
        r->matches = r->chain = -1;
        struct tl_ek_cert_request req = {.manufacturer = info->manufacturer,
                                         .model = info->model,
                                         .version = info->version,
                                         .subject_cn = name,
                                         .now = time(NULL)};
        int e = tl_vtpm_create_ek(esys, r->type, &r->ek, &err);
        req.ek = r->ek.key;
        if (e == 0)
            e = tl_ekca_issue_ek_cert(ca, &req, &r->cert, &r->cert_len, &err);
        if (e == 0)
            e = tl_vtpm_nv_write_cert(esys, tl_ek_cert_nv_index(r->type), r->cert, r->cert_len,
                                      &err);
        if (e < 0) {
            if (got_signal)
                tl_report(subject, "provisioning: %s", signal_reason());
            else
                tl_report(subject, "%s", err.message);
            return -1;
        }
    }
    return 0;
}

struct common_opts {
    const char *state;
    const char *ca;
    const char *key_file;
    const char *name;
    bool json;
    bool ephemeral;
};

static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return false;
    return true;
}

static int parse_opts(const char *verb, int argc, char **argv, struct common_opts *o)
{
    static const struct option options[] = {
        {"state", required_argument, NULL, 's'},    {"ca", required_argument, NULL, 'c'},
        {"key-file", required_argument, NULL, 'k'}, {"name", required_argument, NULL, 'n'},
        {"json", no_argument, NULL, 'j'},           {"ephemeral", no_argument, NULL, 'e'},
        {"help", no_argument, NULL, 'h'},           {0},
    };
    *o = (struct common_opts){0};
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (c) {
        case 's':
            o->state = optarg;
            break;
        case 'c':
            o->ca = optarg;
            break;
        case 'k':
            o->key_file = optarg;
            break;
        case 'n':
            o->name = optarg;
            break;
        case 'j':
            o->json = true;
            break;
        case 'e':
            o->ephemeral = true;
            break;
        case 'h':
            usage(stdout);
            return 1;
        default:
            tl_report_option_error(verb, argv);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "tl: %s: unexpected argument \"%s\"\n", verb, argv[optind]);
        return -1;
    }
    if (o->name && !name_ok(o->name)) {
        fprintf(stderr, "tl: %s: --name must be 1-64 printable ASCII characters\n", verb);
        return -1;
    }
    return 0;
}

static int require(const char *verb, const char *value, const char *option)
{
    if (value)
        return 0;
    fprintf(stderr, "tl: %s: %s is required (try tl vtpm --help)\n", verb, option);
    return -1;
}

static bool dir_is_empty(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return false;
    struct dirent *e;
    bool empty = true;
    while (empty && (e = readdir(d)))
        empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
    closedir(d);
    return empty;
}

/* A state directory for provisioning: new (*created), or existing and
 * empty (*created false: a failure empties it again but keeps it). */
static int state_prepare(const char *state, bool *created)
{
    *created = false;
    if (mkdir(state, 0700) == 0) {
        *created = true;
        return 0;
    }
    if (errno != EEXIST) {
        tl_report(state, "cannot create: %s", strerror(errno));
        return -1;
    }
    struct stat st;
    if (stat(state, &st) < 0 || !S_ISDIR(st.st_mode)) {
        tl_report(state, "not a directory");
        return -1;
    }
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", state, STATE_FILE);
    if (access(path, F_OK) == 0) {
        tl_report(state, "already holds a vTPM state (%s); not provisioning over it", STATE_FILE);
        return -1;
    }
    if (!dir_is_empty(state)) {
        tl_report(state, "not empty; provisioning needs a new or empty directory");
        return -1;
    }
    return 0;
}

static int state_require(const char *state)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s/%s", state, STATE_FILE) >= (int)sizeof(path)) {
        tl_report(state, "path too long");
        return -1;
    }
    if (access(path, F_OK) < 0) {
        tl_report(state, "not a provisioned vTPM state (no %s)", STATE_FILE);
        return -1;
    }
    return 0;
}

static void print_provisioned(const struct common_opts *o, const char *key_file, bool ca_created,
                              const struct tl_vtpm_info *info, const struct ek_report *eks,
                              const struct swtpm *running)
{
    if (o->json) {
        json_t *j = json_object();
        json_object_set_new(j, "state", o->state ? json_string(o->state) : json_null());
        json_object_set_new(j, "ephemeral", json_boolean(o->ephemeral));
        if (key_file)
            json_object_set_new(j, "key_file", json_string(key_file));
        if (o->ca) {
            json_object_set_new(j, "ca", json_string(o->ca));
            json_object_set_new(j, "ca_created", json_boolean(ca_created));
        }
        if (info)
            json_object_set_new(j, "tpm", info_json(info));
        json_t *arr = json_array();
        for (int t = 0; eks && t < TL_EK_N_TYPES; t++)
            json_array_append_new(arr, report_json(&eks[t], false));
        json_object_set_new(j, "eks", arr);
        if (running) {
            json_object_set_new(j, "socket", json_string(running->sock));
            json_object_set_new(j, "ctrl_socket", json_string(running->ctrl));
            json_object_set_new(j, "pid", json_integer(running->pid));
        }
        tl_json_print(j);
    } else {
        if (running)
            printf("vTPM running: socket %s, control %s, swtpm pid %d\n", running->sock,
                   running->ctrl, (int)running->pid);
        if (o->state)
            printf("state %s%s\n", o->state, key_file ? "" : " (ephemeral)");
        if (key_file)
            printf("key   %s\n", key_file);
        if (o->ca)
            printf("CA    %s%s\n", o->ca, ca_created ? " (created)" : "");
        if (info)
            printf("TPM   %s \"%s\" %s\n", info->manufacturer, info->model, info->version);
        for (int t = 0; eks && t < TL_EK_N_TYPES; t++)
            report_print(&eks[t], false);
    }
    fflush(stdout);
}

static int cmd_provision(int argc, char **argv)
{
    const char *verb = "vtpm provision";
    struct common_opts o;
    int r = parse_opts(verb, argc, argv, &o);
    if (r != 0)
        return r > 0 ? TL_EXIT_OK : TL_EXIT_BAD;
    if (require(verb, o.state, "--state") < 0 || require(verb, o.ca, "--ca") < 0)
        return TL_EXIT_BAD;
    if (o.ephemeral) {
        fprintf(stderr, "tl: %s: --ephemeral is for tl vtpm run\n", verb);
        return TL_EXIT_BAD;
    }
    struct state_key key = {0};
    if (key_path(o.state, o.key_file, &key) < 0)
        return TL_EXIT_BAD;
    struct tl_ekca ca = {0};
    bool ca_created = false, state_created = false, state_prepared = false;
    if (ca_open(o.ca, &ca, &ca_created) < 0)
        return TL_EXIT_BAD;
    int status = TL_EXIT_BAD;
    struct swtpm s = {.pid = -1};
    struct tl_vtpm_info info;
    struct ek_report eks[TL_EK_N_TYPES] = {0};
    if (state_prepare(o.state, &state_created) < 0)
        goto out;
    state_prepared = true;
    if (key_load_or_create(&key) < 0)
        goto out;
    signals_install();
    alarm(WATCHDOG_SECONDS);
    if (swtpm_start(&s, o.state, key.key, o.state) < 0)
        goto out;
    if (swtpm_connect(&s, o.state) < 0 ||
        provision_tpm(s.esys, &ca, o.name, &info, eks, o.state) < 0) {
        swtpm_stop(&s, false, o.state);
        goto out;
    }
    if (swtpm_stop(&s, true, o.state) < 0)
        goto out;
    if (got_signal) {
        tl_report(o.state, "provisioning: %s", signal_reason());
        goto out;
    }
    status = TL_EXIT_OK;
    print_provisioned(&o, key.path, ca_created, &info, eks, NULL);
out:
    alarm(0);
    if (status != TL_EXIT_OK) {
        if (state_created)
            rm_rf(o.state);
        else if (state_prepared)
            rm_contents(o.state);
        if (key.created)
            unlink(key.path);
    }
    OPENSSL_cleanse(key.key, sizeof(key.key));
    reports_done(eks);
    tl_ekca_done(&ca);
    return status;
}

/* ---- show ---- */

static bool nv_attributes_expected(uint32_t a)
{
    const uint32_t need = TL_NV_EK_CERT_ATTRIBUTES | TPMA_NV_WRITTEN | TPMA_NV_WRITELOCKED;
    const uint32_t never = TPMA_NV_OWNERWRITE | TPMA_NV_AUTHWRITE | TPMA_NV_POLICYWRITE;
    return (a & need) == need && !(a & never) && (a & TPMA_NV_TPM2_NT_MASK) == 0;
}

/* Reads and checks both certificates against the EKs the TPM makes now. */
static void check_tpm(ESYS_CONTEXT *esys, const struct tl_ekca *ca, struct ek_report *out)
{
    for (int t = 0; t < TL_EK_N_TYPES; t++) {
        struct ek_report *r = &out[t];
        struct tl_error err = {0};
        r->type = (enum tl_ek_type)t;
        r->matches = r->chain = -1;
        if (tl_vtpm_create_ek(esys, r->type, &r->ek, &err) < 0) {
            snprintf(r->problem, sizeof(r->problem), "%s", err.message);
            continue;
        }
        if (tl_vtpm_nv_read_cert(esys, tl_ek_cert_nv_index(r->type), &r->cert, &r->cert_len,
                                 &r->nv_attributes, &err) < 0) {
            snprintf(r->problem, sizeof(r->problem), "%s", err.message);
            continue;
        }
        EVP_PKEY *k = cert_pubkey(r->cert, r->cert_len);
        if (!k) {
            snprintf(r->problem, sizeof(r->problem), "NV 0x%08x: not a DER X.509 certificate",
                     tl_ek_cert_nv_index(r->type));
            continue;
        }
        r->matches = EVP_PKEY_eq(k, r->ek.key) == 1;
        EVP_PKEY_free(k);
        if (ca) {
            r->chain = tl_ek_cert_verify(r->cert, r->cert_len, ca->root, ca->intermediate,
                                         r->ek.key, time(NULL), &err) == 0
                           ? 0
                           : 1;
            if (r->chain)
                snprintf(r->problem, sizeof(r->problem), "%s", err.message);
        }
        if (!r->problem[0] && !nv_attributes_expected(r->nv_attributes))
            snprintf(r->problem, sizeof(r->problem),
                     "NV attributes 0x%08x are not an EK certificate index's "
                     "(platform-written, write-locked)",
                     r->nv_attributes);
        if (!r->problem[0] && r->matches == 0)
            snprintf(r->problem, sizeof(r->problem), "the certificate is not for this TPM's EK");
    }
}

static int cmd_show(int argc, char **argv)
{
    const char *verb = "vtpm show";
    struct common_opts o;
    int r = parse_opts(verb, argc, argv, &o);
    if (r != 0)
        return r > 0 ? TL_EXIT_OK : TL_EXIT_BAD;
    if (require(verb, o.state, "--state") < 0)
        return TL_EXIT_BAD;
    if (o.ephemeral || o.name) {
        fprintf(stderr, "tl: %s: --ephemeral and --name are not for show\n", verb);
        return TL_EXIT_BAD;
    }
    struct state_key key = {0};
    if (key_path(o.state, o.key_file, &key) < 0 || state_require(o.state) < 0 || key_load(&key) < 0)
        return TL_EXIT_BAD;
    struct tl_ekca ca = {0};
    if (o.ca && ca_load(o.ca, &ca) < 0) {
        OPENSSL_cleanse(key.key, sizeof(key.key));
        return TL_EXIT_BAD;
    }
    int status = TL_EXIT_BAD;
    struct swtpm s = {.pid = -1};
    struct tl_vtpm_info info;
    struct tl_error err = {0};
    struct ek_report eks[TL_EK_N_TYPES] = {0};
    signals_install();
    alarm(WATCHDOG_SECONDS);
    if (swtpm_start(&s, o.state, key.key, o.state) < 0)
        goto out;
    if (swtpm_connect(&s, o.state) < 0) {
        swtpm_stop(&s, false, o.state);
        goto out;
    }
    if (tl_vtpm_get_info(s.esys, &info, &err) < 0) {
        tl_report(o.state, "%s", err.message);
        swtpm_stop(&s, false, o.state);
        goto out;
    }
    check_tpm(s.esys, o.ca ? &ca : NULL, eks);
    if (swtpm_stop(&s, true, o.state) < 0 || got_signal) {
        if (got_signal)
            tl_report(o.state, "%s", signal_reason());
        goto out;
    }
    bool pass = report_pass(&eks[0]) && report_pass(&eks[1]);
    status = pass ? TL_EXIT_OK : TL_EXIT_FAIL;
    if (o.json) {
        json_t *j = json_pack("{s:s, s:o}", "state", o.state, "tpm", info_json(&info));
        json_t *arr = json_array();
        for (int t = 0; t < TL_EK_N_TYPES; t++)
            json_array_append_new(arr, report_json(&eks[t], true));
        json_object_set_new(j, "eks", arr);
        json_object_set_new(j, "verdict", json_string(pass ? "pass" : "fail"));
        tl_json_print(j);
    } else {
        printf("state %s\nTPM   %s \"%s\" %s\n", o.state, info.manufacturer, info.model,
               info.version);
        for (int t = 0; t < TL_EK_N_TYPES; t++)
            report_print(&eks[t], true);
        printf("verdict: %s\n", pass ? "pass" : "fail");
    }
out:
    alarm(0);
    OPENSSL_cleanse(key.key, sizeof(key.key));
    reports_done(eks);
    tl_ekca_done(&ca);
    return status;
}

/* ---- run ---- */

/* Where an ephemeral state lives: memory-backed when /dev/shm is there. */
static int ephemeral_dir(char out[PATH_MAX])
{
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    snprintf(out, PATH_MAX, "%s/tl-vtpm-state.XXXXXX", base);
    if (!mkdtemp(out)) {
        tl_report(base, "cannot create an ephemeral state directory: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* Waits for SIGTERM/SIGINT/SIGHUP or swtpm's exit. */
static void serve(struct swtpm *s)
{
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    sigaddset(&block, SIGCHLD);
    sigprocmask(SIG_BLOCK, &block, &old);
    while (!got_signal && !swtpm_reap(s, false))
        sigsuspend(&old);
    sigprocmask(SIG_SETMASK, &old, NULL);
}

static int cmd_run(int argc, char **argv)
{
    const char *verb = "vtpm run";
    struct common_opts o;
    int r = parse_opts(verb, argc, argv, &o);
    if (r != 0)
        return r > 0 ? TL_EXIT_OK : TL_EXIT_BAD;
    if (o.ephemeral) {
        if (o.state || o.key_file) {
            fprintf(stderr, "tl: %s: --ephemeral takes no --state or --key-file\n", verb);
            return TL_EXIT_BAD;
        }
        if (require(verb, o.ca, "--ca") < 0)
            return TL_EXIT_BAD;
    } else if (require(verb, o.state, "--state") < 0) {
        return TL_EXIT_BAD;
    } else if (o.ca || o.name) {
        fprintf(stderr,
                "tl: %s: --ca and --name are for --ephemeral (a persisted state is "
                "provisioned with tl vtpm provision)\n",
                verb);
        return TL_EXIT_BAD;
    }
    struct state_key key = {0};
    struct tl_ekca ca = {0};
    bool ca_created = false;
    char state[PATH_MAX] = "";
    if (o.ephemeral) {
        if (ca_open(o.ca, &ca, &ca_created) < 0)
            return TL_EXIT_BAD;
        /* A key that lives only in this process and swtpm's memory. */
        if (key_random(key.key) < 0 || ephemeral_dir(state) < 0) {
            tl_ekca_done(&ca);
            return TL_EXIT_BAD;
        }
        o.state = state;
    } else if (key_path(o.state, o.key_file, &key) < 0 || state_require(o.state) < 0 ||
               key_load(&key) < 0) {
        return TL_EXIT_BAD;
    }
    int status = TL_EXIT_BAD;
    struct swtpm s = {.pid = -1};
    struct tl_vtpm_info info;
    struct tl_error err = {0};
    struct ek_report eks[TL_EK_N_TYPES] = {0};
    signals_install();
    alarm(WATCHDOG_SECONDS);
    if (swtpm_start(&s, o.state, key.key, o.state) < 0)
        goto out;
    OPENSSL_cleanse(key.key, sizeof(key.key));
    if (swtpm_connect(&s, o.state) < 0) {
        swtpm_stop(&s, false, o.state);
        goto out;
    }
    if (o.ephemeral ? provision_tpm(s.esys, &ca, o.name, &info, eks, o.state) < 0
                    : tl_vtpm_get_info(s.esys, &info, &err) < 0) {
        if (err.message[0])
            tl_report(o.state, "%s", err.message);
        swtpm_stop(&s, false, o.state);
        goto out;
    }
    if (!o.ephemeral)
        check_tpm(s.esys, NULL, eks);
    /* The TPM is the node's from here: no ESYS context of ours stays open. */
    Esys_Finalize(&s.esys);
    Tss2_TctiLdr_Finalize(&s.tcti);
    alarm(0);
    abort_pid = 0; /* from now on a signal asks for an orderly stop */
    if (got_signal) {
        tl_report(o.state, "%s", signal_reason());
        swtpm_stop(&s, false, o.state);
        goto out;
    }
    print_provisioned(&o, o.ephemeral ? NULL : key.path, ca_created, &info, eks, &s);
    serve(&s);
    if (s.reaped && !got_signal) {
        /* QEMU shuts swtpm down (CMD_SHUTDOWN) when the VM ends: exit 0
         * is a normal end, anything else is not. */
        bool clean = WIFEXITED(s.status) && WEXITSTATUS(s.status) == 0;
        if (!clean)
            swtpm_report(&s, "swtpm exited while serving", o.state);
        swtpm_stop(&s, false, o.state);
        status = clean ? TL_EXIT_OK : TL_EXIT_BAD;
        goto out;
    }
    status = swtpm_stop(&s, true, o.state) < 0 ? TL_EXIT_BAD : TL_EXIT_OK;
out:
    alarm(0);
    if (o.ephemeral && state[0])
        rm_rf(state);
    OPENSSL_cleanse(key.key, sizeof(key.key));
    reports_done(eks);
    tl_ekca_done(&ca);
    return status;
}

int tl_cmd_vtpm(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "tl: vtpm: no verb given (provision, show, run)\n");
        return TL_EXIT_BAD;
    }
    const char *verb = argv[1];
    if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0) {
        usage(stdout);
        return TL_EXIT_OK;
    }
    /* tpm2-tss logs to stderr by default; our errors are one line each. */
    setenv("TSS2_LOG", "all+none", 0);
    if (strcmp(verb, "provision") == 0)
        return cmd_provision(argc - 1, argv + 1);
    if (strcmp(verb, "show") == 0)
        return cmd_show(argc - 1, argv + 1);
    if (strcmp(verb, "run") == 0)
        return cmd_run(argc - 1, argv + 1);
    fprintf(stderr, "tl: vtpm: unknown verb \"%s\" (provision, show, run)\n", verb);
    return TL_EXIT_BAD;
}
