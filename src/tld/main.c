/* tld: options, the data directory, one tld per directory (a lock), the
 * address file tl reads to find it, the HTTP server and the supervision
 * loop.
 *
 * Stopping tld (SIGTERM) leaves the nodes running: QEMU and swtpm are not
 * tld's to take down with it, and a tld started again on the same data
 * directory re-adopts them (supervise.c). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gueststate.h"
#include "tld.h"

static struct tld tld;

static void usage(FILE *f)
{
    fputs("usage: tld [--home DIR] [--listen HOST:PORT] [--daemon] [--tl FILE]\n"
          "\n"
          "The trustlaunch platform daemon: runs nodes (QEMU + OVMF + swtpm) and serves\n"
          "the REST API (docs/api.md). DIR defaults to $TL_HOME, else\n"
          "~/.local/share/trustlaunch; HOST:PORT to 127.0.0.1:0 (a free port). The\n"
          "address is written to DIR/tld.addr. --daemon: returns once serving, logging\n"
          "to DIR/tld.log. SIGTERM stops tld and leaves the nodes running; the next tld\n"
          "on DIR finds them again. --routes prints the API's routes and their roles.\n",
          f);
}

static void on_signal(int sig)
{
    (void)sig;
    tld.quit = 1;
}

static int default_home(char *out, size_t size)
{
    const char *h = getenv("TL_HOME");
    if (h && *h)
        return snprintf(out, size, "%s", h) < (int)size ? 0 : -ENAMETOOLONG;
    const char *home = getenv("HOME");
    if (!home || !*home)
        return -ENOENT;
    return snprintf(out, size, "%s/.local/share/trustlaunch", home) < (int)size ? 0 : -ENAMETOOLONG;
}

static int mkdir_p(const char *path, mode_t mode)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
        return -ENAMETOOLONG;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, mode) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

/* tl beside tld: installed in one bin directory, or build/src/tl/tl next
 * to build/src/tld/tld. */
static int find_tl(char *out, size_t size)
{
    const char *env = getenv("TL_BIN");
    if (env && *env)
        return snprintf(out, size, "%s", env) < (int)size ? 0 : -ENAMETOOLONG;
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n < 0)
        return -errno;
    self[n] = 0;
    char *slash = strrchr(self, '/');
    if (!slash)
        return -ENOENT;
    *slash = 0;
    const char *cands[] = {"%s/tl", "%s/../tl/tl"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(out, size, cands[i], self);
        if (access(out, X_OK) == 0)
            return 0;
    }
    return -ENOENT;
}

/* TL_HOME is the owner's alone: umask 077 for everything tld makes, and a
 * home that others may enter is made private (it holds vTPM keys, the
 * operator token and the store). A home owned by someone else is refused. */
static int private_home(const char *home)
{
    struct stat st;
    if (lstat(home, &st) < 0)
        return -errno;
    if (!S_ISDIR(st.st_mode)) {
        fprintf(stderr, "tld: %s: not a directory (a symlink is refused)\n", home);
        return -ENOTDIR;
    }
    if (st.st_uid != geteuid()) {
        fprintf(stderr, "tld: %s: owned by uid %ld, not by this user (uid %ld)\n", home,
                (long)st.st_uid, (long)geteuid());
        return -EPERM;
    }
    if (st.st_mode & 077) {
        if (chmod(home, 0700) < 0) {
            fprintf(stderr, "tld: %s: mode %03o, and cannot make it 0700: %s\n", home,
                    (unsigned)(st.st_mode & 0777), strerror(errno));
            return -errno;
        }
        tld_log("%s: mode %03o made 0700 (the data directory is private)", home,
                (unsigned)(st.st_mode & 0777));
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--routes") == 0) {
        tld_api_routes_print(stdout); /* the table docs/api.md and tests/cli/api_auth.sh check */
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "--relay") == 0)
        return tld_relay_main(argv[2]); /* QEMU's guestfwd command (agentnet.c) */
    if (argc >= 2 && strcmp(argv[1], "--paravisor") == 0)
        return tld_paravisor_main(argc, argv); /* a confidential node's vTPM relay */
    umask(077);
    /* connections are file descriptors: TLD_API_CONNECTIONS of them, the
     * channels', the store's and the nodes' above the usual 1,024 */
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
        nofile.rlim_cur = nofile.rlim_max > 65536 ? 65536 : nofile.rlim_max;
        setrlimit(RLIMIT_NOFILE, &nofile);
    }
    static const struct option options[] = {
        {"home", required_argument, NULL, 'H'}, {"listen", required_argument, NULL, 'l'},
        {"daemon", no_argument, NULL, 'd'},     {"tl", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},       {0},
    };
    const char *home = NULL, *listen_addr = "127.0.0.1:0", *tl = NULL;
    bool daemon_mode = false, listen_given = false;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (c) {
        case 'H':
            home = optarg;
            break;
        case 'l':
            listen_addr = optarg;
            listen_given = true;
            break;
        case 'd':
            daemon_mode = true;
            break;
        case 't':
            tl = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            fprintf(stderr, "tld: unknown or incomplete option \"%s\" (try --help)\n",
                    argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "tld: unexpected argument \"%s\" (try --help)\n", argv[optind]);
        return 2;
    }
    struct tld *t = &tld;
    pthread_mutex_init(&t->lock, NULL);
    pthread_mutex_init(&t->ekca_lock, NULL);
    pthread_mutex_init(&t->intern.lock, NULL);
    pthread_mutex_init(&t->keyvault.lock, NULL);
    tld_metrics_init(&t->metrics);
    int r = home ? (snprintf(t->home, sizeof(t->home), "%s", home) < (int)sizeof(t->home)
                        ? 0
                        : -ENAMETOOLONG)
                 : default_home(t->home, sizeof(t->home));
    if (r < 0) {
        fprintf(stderr, "tld: no data directory: set TL_HOME or HOME, or give --home\n");
        return 2;
    }
    if (tl ? snprintf(t->tl_bin, sizeof(t->tl_bin), "%s", tl) >= (int)sizeof(t->tl_bin)
           : find_tl(t->tl_bin, sizeof(t->tl_bin)) < 0) {
        fprintf(stderr, "tld: tl not found beside tld (give --tl or TL_BIN)\n");
        return 2;
    }
    ssize_t self = readlink("/proc/self/exe", t->tld_bin, sizeof(t->tld_bin) - 1);
    if (self <= 0) {
        fprintf(stderr, "tld: cannot find its own executable\n");
        return 2;
    }
    t->tld_bin[self] = 0;
    tld_capacity_init(t);
    tld_manifests_init(t);
    const char *aud = getenv("TL_TOKEN_AUDIENCE");
    snprintf(t->token_audience, sizeof(t->token_audience), "%s", aud && *aud ? aud : "trustlaunch");
    const char *ovmf = getenv("TL_OVMF_DIR");
    snprintf(t->ovmf_dir, sizeof(t->ovmf_dir), "%s", ovmf && *ovmf ? ovmf : "/usr/share/OVMF");
    const char *bt = getenv("TL_BOOT_TIMEOUT");
    t->boot_timeout = bt && atoi(bt) > 0 ? atoi(bt) : TLD_BOOT_TIMEOUT;

    char sub[PATH_MAX + 16];
    if ((r = mkdir_p(t->home, 0700)) < 0) {
        fprintf(stderr, "tld: %s: cannot create the data directory: %s\n", t->home, strerror(-r));
        return 2;
    }
    if (private_home(t->home) < 0)
        return 2;
    if (access(t->home, W_OK) < 0) {
        fprintf(stderr, "tld: %s: data directory not writable: %s\n", t->home, strerror(errno));
        return 2;
    }
    const char *subdirs[] = {"nodes", "keys", "run"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(sub, sizeof(sub), "%s/%s", t->home, subdirs[i]);
        if ((r = mkdir_p(sub, 0700)) < 0) {
            fprintf(stderr, "tld: %s: cannot create: %s\n", sub, strerror(-r));
            return 2;
        }
    }
    if ((r = tld_hostpath_init(t)) < 0) {
        fprintf(stderr, "tld: %s: %s\n", t->home, strerror(-r));
        return 2;
    }
    tld_gueststate_init(t);
    snprintf(sub, sizeof(sub), "%s/tld.lock", t->home);
    int lock_fd = open(sub, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd < 0) {
        fprintf(stderr, "tld: %s: %s\n", sub, strerror(errno));
        return 2;
    }
    if (flock(lock_fd, LOCK_EX | LOCK_NB) < 0) {
        fprintf(stderr, "tld: %s: another tld serves this data directory\n", t->home);
        return 2;
    }

    int ready[2] = {-1, -1};
    if (daemon_mode) {
        if (pipe2(ready, O_CLOEXEC) < 0)
            return 2;
        pid_t pid = fork();
        if (pid < 0) {
            fprintf(stderr, "tld: fork: %s\n", strerror(errno));
            return 2;
        }
        if (pid > 0) {
            close(ready[1]);
            char ok = 0;
            ssize_t n = read(ready[0], &ok, 1);
            if (n == 1 && ok == 'y')
                return 0;
            fprintf(stderr, "tld: failed to start; see %s/tld.log\n", t->home);
            return 2;
        }
        close(ready[0]);
        setsid();
        snprintf(sub, sizeof(sub), "%s/tld.log", t->home);
        int log = open(sub, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (log < 0 || null < 0 || dup2(null, 0) < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0)
            _exit(2);
        close(log);
        close(null);
    }
    setvbuf(stderr, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    /* tpm2-tss logs what it refuses to stderr: every bad agent request would
     * land in tld.log; the reasons go back to the agent instead. */
    setenv("TSS2_LOG", "all+none", 0);
    /* the key store's module configuration (keystore.h), before any thread */
    char softhsm_conf[PATH_MAX + 32];
    snprintf(softhsm_conf, sizeof(softhsm_conf), "%s/keys/softhsm2.conf", t->home);
    setenv("SOFTHSM2_CONF", softhsm_conf, 1);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    if (tld_store_open(t) < 0 || tld_store_load(t) < 0 || tld_fleet_load(t) < 0 ||
        tld_keyvault_load(t) < 0) {
        tld_log("%s: cannot open the store", t->home);
        return 2;
    }
    tld_egress_init(t); /* before the agent channels: it serves their egress half */
    struct tl_error terr = {0};
    if (tld_tee_open(&t->tee, NULL, 0, &terr) < 0) {
        tld_log("cannot set up the hardware evidence verifiers: %s", terr.message);
        tld_store_close(t);
        return 2;
    }
    char emul[PATH_MAX];
    snprintf(emul, sizeof(emul), "%s/tee-emul", t->home);
    tld_tee_set_platform(&t->tee, emul);
    if (tld_token_init(t) < 0 || tld_auth_init(t) < 0 || tld_agentnet_start(t) < 0) {
        tld_log("%s: cannot set up tokens and credentials", t->home);
        tld_store_close(t);
        return 2;
    }
    tld_webhook_start(&t->webhook);
    if ((r = tld_retention_start(&t->retention, t->home)) < 0)
        tld_log("retention: cannot start (%s); attestations are kept", strerror(-r));
    tld_lock(t); /* lifecycle.c lets it go around the nodes' I/O */
    tld_readopt(t);
    tld_unlock(t);
    /* The nodes' agents were given this tld's port (agent.json): a tld
     * restarted without --listen takes the port of the one before, so that
     * running nodes reach it again. */
    char previous[64];
    int r_api = -1;
    if (tld_deadline_start(t) < 0) {
        tld_log("cannot start the API's deadline sweeper");
        tld_store_close(t);
        return 2;
    }
    /* before the admin API: a kubeconfig asked for as soon as tld.addr
     * is there names the Kubernetes API's port */
    struct tl_error kerr = {0};
    if (tld_kube_start(t, &kerr) < 0) {
        tld_log("the Kubernetes API: %s", kerr.message);
        tld_kube_stop(t);
        tld_store_close(t);
        return 2;
    }
    int pport = listen_given ? -1 : tld_addr_previous(t, "tld.addr", "http");
    if (pport > 0) {
        snprintf(previous, sizeof(previous), "127.0.0.1:%d", pport);
        r_api = tld_api_start(t, previous, &t->port);
    }
    if (r_api < 0 && tld_api_start(t, listen_addr, &t->port) < 0) {
        tld_log("cannot serve on %s", listen_addr);
        tld_kube_stop(t);
        tld_store_close(t);
        return 2;
    }
    if ((r = tld_addr_write(t, "tld.addr", "http", t->port)) < 0) {
        tld_log("%s/tld.addr: cannot write: %s", t->home, strerror(-r));
        tld_kube_stop(t);
        tld_api_stop(t);
        tld_store_close(t);
        return 2;
    }
    t->started = time(NULL);
    tld_log("serving %s on http://127.0.0.1:%d, the Kubernetes API on https://127.0.0.1:%d "
            "(pid %ld, %zu nodes)",
            t->home, t->port, t->kube.port, (long)getpid(), t->n_nodes);
    if (daemon_mode) {
        (void)!write(ready[1], "y", 1);
        close(ready[1]);
    }
    if ((r = tld_notify("READY=1")) < 0)
        tld_log("$NOTIFY_SOCKET: cannot tell systemd tld is ready: %s", strerror(-r));
    while (!t->quit) {
        tld_lease_tick(t); /* a round trip to a shared store: not under tld.lock */
        tld_lock_at(t, "the supervision and reconcile loop");
        tld_supervise_once(t);
        if (atomic_load(&t->lease.held)) /* one replica at a time */
            tld_reconcile_once(t);
        tld_unlock(t);
        struct timespec ts = {0, 250 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    tld_log("stopping (nodes keep running)");
    tld_notify("STOPPING=1");
    tld_agentnet_stop(t);
    tld_kube_stop(t);
    tld_api_stop(t);
    tld_deadline_stop(t);
    tld_webhook_stop(&t->webhook);
    tld_retention_stop(&t->retention);
    tld_lock(t);
    /* tld.addr stays: the next tld takes the same port back (addrfile.c),
     * where external nodes' agents were told to go; tl finds it not
     * answering and starts one */
    tld_fleet_free(t);
    tld_nodes_free(t);
    tld_intern_free(t);
    tld_ekca_close(t);
    tld_auth_free(t);
    tld_manifests_free(t);
    tld_tee_close(&t->tee);
    tld_store_close(t);
    tld_unlock(t);
    tld_keyvault_free(t); /* its own lock: never under tld.lock */
    return 0;
}
