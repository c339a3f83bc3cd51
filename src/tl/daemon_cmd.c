/* `tl daemon start|stop|status|logs`: the per-user tld of a TL_HOME.
 *
 * tl starts tld on demand (client.c); these verbs make that explicit and
 * add what on-demand start cannot: stopping everything the home runs.
 * tld itself leaves its nodes running when it stops (main.c: a restarted
 * tld re-adopts them), so `stop` sends tld SIGTERM, waits for it, and then
 * ends the QEMU, swtpm and relay processes still naming the home in their
 * command line (tlh_proc_find): afterwards nothing of that home runs. The
 * system service (tld.service) is systemctl's; these verbs act on the home
 * tl would use ($TL_HOME, else ~/.local/share/trustlaunch). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "tl.h"
#include "tl/util.h"
#include "tlhost/proc.h"

#define DAEMON_PROCS_MAX 4096

static void usage(FILE *f)
{
    fputs("usage: tl daemon start [-o json|--json]\n"
          "       tl daemon stop\n"
          "       tl daemon status [-o json|--json]\n"
          "       tl daemon logs [--tail N] [--follow|-f]\n"
          "\n"
          "The tld of $TL_HOME (else ~/.local/share/trustlaunch). start: starts it if it\n"
          "is not running (other verbs start it on demand too) and prints its status.\n"
          "stop: stops tld and then every QEMU, swtpm and relay of the home's nodes.\n"
          "status: pid, address, home, uptime and node count; exit 1 when not running.\n"
          "logs: HOME/tld.log, the last N lines with --tail, then new lines with -f.\n",
          f);
}

/* No options of its own but --help: -o/--output, --json and --query are
 * main's (output.h), and *json says whether one asked for JSON. */
static int parse_output(const char *verb, int argc, char **argv, bool *json)
{
    static const struct option options[] = {
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    *json = tlc_output_wants_json();
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (c) {
        case 'h':
            usage(stdout);
            return 1;
        default:
            tlc_report_option_error(verb, argv);
            return -1;
        }
    }
    if (optind < argc) {
        tlc_report(verb, "unexpected argument \"%s\"", argv[optind]);
        return -1;
    }
    return 0;
}

static int print_status(struct tlc_client *c, const char *what, bool json)
{
    long status = 0;
    json_t *out = NULL;
    struct tl_error err = {0};
    if (tlc_client_call(c, "GET", "/v1/health", NULL, &status, &out, NULL, NULL, what, &err) < 0)
        return tlc_fail(TLC_EXIT_BAD, &err);
    if (status != 200 || !json_is_integer(json_object_get(out, "pid"))) {
        tlc_report(what, "tld at %s answered %ld without its pid", c->base, status);
        json_decref(out);
        return TLC_EXIT_BAD;
    }
    json_int_t pid = json_integer_value(json_object_get(out, "pid"));
    json_int_t up = json_integer_value(json_object_get(out, "uptimeSeconds"));
    json_int_t nodes = json_integer_value(json_object_get(out, "nodes"));
    if (json) {
        tlc_json_print(json_pack("{s:b, s:I, s:s, s:s, s:I, s:I, s:O}", "running", 1, "pid", pid,
                                 "address", c->base, "home", c->home, "uptimeSeconds", up, "nodes",
                                 nodes, "version", json_object_get(out, "version")));
    } else {
        printf("running   yes\npid       %lld\naddress   %s\nhome      %s\n", (long long)pid,
               c->base, c->home);
        printf("uptime    %lldh%02lldm%02llds\nnodes     %lld\n", (long long)(up / 3600),
               (long long)(up / 60 % 60), (long long)(up % 60), (long long)nodes);
    }
    json_decref(out);
    return TLC_EXIT_OK;
}

static int run_start(int argc, char **argv)
{
    bool json;
    int r = parse_output("daemon start", argc, argv, &json);
    if (r)
        return r > 0 ? TLC_EXIT_OK : TLC_EXIT_BAD;
    struct tlc_client c;
    struct tl_error err = {0};
    if (tlc_client_open(&c, "daemon start", &err) < 0)
        return tlc_fail(TLC_EXIT_BAD, &err);
    return print_status(&c, "daemon start", json);
}

static int run_status(int argc, char **argv)
{
    bool json;
    int r = parse_output("daemon status", argc, argv, &json);
    if (r)
        return r > 0 ? TLC_EXIT_OK : TLC_EXIT_BAD;
    struct tlc_client c;
    struct tl_error err = {0};
    if ((r = tlc_client_find(&c, "daemon status", &err)) < 0) {
        if (r != -ECONNREFUSED)
            return tlc_fail(TLC_EXIT_BAD, &err);
        if (json)
            tlc_json_print(json_pack("{s:b, s:s}", "running", 0, "home", c.home));
        else
            printf("running   no\nhome      %s\n", c.home);
        return TLC_EXIT_FAIL;
    }
    return print_status(&c, "daemon status", json);
}

/* Ends the processes of home among names: SIGTERM, then SIGKILL after
 * wait_ms. The number ended, or -errno. */
static int stop_named(const char *const *names, const char *home, int wait_ms)
{
    _cleanup_free_ struct tlh_proc *procs = calloc(DAEMON_PROCS_MAX, sizeof(*procs));
    if (!procs)
        return -ENOMEM;
    size_t n = 0;
    struct tl_error err = {0};
    int r = tlh_proc_find(names, home, procs, DAEMON_PROCS_MAX, &n, &err);
    if (r < 0) {
        tlc_report_error(NULL, &err);
        return r;
    }
    for (size_t i = 0; i < n; i++)
        kill(procs[i].pid, SIGTERM);
    for (size_t i = 0; i < n; i++)
        tlh_proc_kill(&procs[i], SIGTERM, wait_ms); /* waits, then SIGKILL */
    return (int)n;
}

static int run_stop(int argc, char **argv)
{
    bool json;
    int r = parse_output("daemon stop", argc, argv, &json);
    if (r)
        return r > 0 ? TLC_EXIT_OK : TLC_EXIT_BAD;
    char home[PATH_MAX];
    if (tlc_client_home(home, sizeof(home)) < 0) {
        tlc_report("daemon stop", "no data directory: set TL_HOME or HOME");
        return TLC_EXIT_BAD;
    }
    /* the home as the processes were given it, and as resolved */
    _cleanup_free_ char *real = realpath(home, NULL);
    const char *homes[] = {home, real && strcmp(real, home) != 0 ? real : NULL};
    /* tld first (its supervision would restart what dies under it), for up
     * to 30 s: it finishes its loop and closes the store */
    static const char *const tld_names[] = {"tld", NULL};
    static const char *const node_names[] = {"qemu-system", "swtpm", "tld", NULL};
    int stopped_tld = 0, stopped_nodes = 0;
    for (size_t i = 0; i < TL_ARRAY_SIZE(homes); i++) {
        if (!homes[i])
            continue;
        if ((r = stop_named(tld_names, homes[i], 30000)) < 0)
            return TLC_EXIT_BAD;
        stopped_tld += r;
    }
    /* then the nodes: QEMU first ends its guest, swtpm and the relays after */
    for (size_t i = 0; i < TL_ARRAY_SIZE(homes); i++) {
        if (!homes[i])
            continue;
        if ((r = stop_named(node_names, homes[i], 5000)) < 0)
            return TLC_EXIT_BAD;
        stopped_nodes += r;
    }
    if (json)
        tlc_json_print(json_pack("{s:s, s:i, s:i}", "home", home, "tld", stopped_tld,
                                 "nodeProcesses", stopped_nodes));
    else if (stopped_tld + stopped_nodes == 0)
        printf("nothing of %s was running\n", home);
    else
        printf("stopped tld (%d) and %d node processes of %s\n", stopped_tld, stopped_nodes, home);
    return TLC_EXIT_OK;
}

/* Copies fd from *off to its end onto stdout; *off advances. */
static int copy_from(int fd, off_t *off)
{
    char buf[65536];
    for (;;) {
        ssize_t n = pread(fd, buf, sizeof(buf), *off);
        if (n < 0)
            return -errno;
        if (n == 0)
            return fflush(stdout) == 0 ? 0 : -EIO;
        if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
            return -EIO;
        *off += n;
    }
}

/* The offset of the last n lines of fd (size bytes): read backwards. */
static off_t tail_offset(int fd, off_t size, long n)
{
    char buf[65536];
    off_t pos = size;
    long lines = 0;
    /* a last line without its newline counts as one */
    char last;
    if (size > 0 && pread(fd, &last, 1, size - 1) == 1 && last == '\n')
        lines = -1;
    while (pos > 0) {
        size_t k = pos > (off_t)sizeof(buf) ? sizeof(buf) : (size_t)pos;
        if (pread(fd, buf, k, pos - (off_t)k) != (ssize_t)k)
            return 0;
        for (size_t i = k; i-- > 0;)
            if (buf[i] == '\n' && ++lines == n)
                return pos - (off_t)k + (off_t)i + 1;
        pos -= (off_t)k;
    }
    return 0;
}

static int run_logs(int argc, char **argv)
{
    static const struct option options[] = {
        {"tail", required_argument, NULL, 'n'},
        {"follow", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    long tail = -1;
    bool follow = false;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "n:fh", options, NULL)) != -1) {
        switch (c) {
        case 'n': {
            char *end;
            errno = 0;
            tail = strtol(optarg, &end, 10);
            if (errno || *end || end == optarg || tail < 0) {
                tlc_report("daemon logs", "--tail: a number of lines, not \"%s\"", optarg);
                return TLC_EXIT_BAD;
            }
            break;
        }
        case 'f':
            follow = true;
            break;
        case 'h':
            usage(stdout);
            return TLC_EXIT_OK;
        default:
            tlc_report_option_error("daemon logs", argv);
            return TLC_EXIT_BAD;
        }
    }
    if (optind < argc) {
        tlc_report("daemon logs", "unexpected argument \"%s\"", argv[optind]);
        return TLC_EXIT_BAD;
    }
    char home[PATH_MAX], path[PATH_MAX + 16];
    if (tlc_client_home(home, sizeof(home)) < 0) {
        tlc_report("daemon logs", "no data directory: set TL_HOME or HOME");
        return TLC_EXIT_BAD;
    }
    snprintf(path, sizeof(path), "%s/tld.log", home);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        tlc_report(path, "cannot open: %s (has tld run on this home?)", strerror(errno));
        return TLC_EXIT_BAD;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        close(fd);
        return TLC_EXIT_BAD;
    }
    off_t off = tail >= 0 ? tail_offset(fd, st.st_size, tail) : 0;
    int r = copy_from(fd, &off);
    while (r == 0 && follow) {
        struct timespec ts = {0, 250 * 1000 * 1000};
        nanosleep(&ts, NULL);
        if (fstat(fd, &st) == 0 && st.st_size < off)
            off = 0; /* truncated: from its start */
        r = copy_from(fd, &off);
    }
    close(fd);
    if (r < 0) {
        tlc_report(path, "cannot copy: %s", strerror(-r));
        return TLC_EXIT_BAD;
    }
    return TLC_EXIT_OK;
}

int tlc_cmd_daemon(int argc, char **argv)
{
    static const struct cli_verb verbs[] = {
        {"start", run_start}, {"stop", run_stop}, {"status", run_status},
        {"logs", run_logs},   {NULL, NULL},
    };
    return cli_dispatch("daemon", verbs, usage, argc, argv);
}
