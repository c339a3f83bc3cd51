/* tld: the platform daemon. This header is the map of its parts:
 *
 *   main.c     options, the data directory, the lock, the address file,
 *              the HTTP server and the supervision loop
 *   store.c    SQLite (WAL) store of nodes: each node is one row
 *   node.c     a node's lifecycle: create, start, stop, reimage, delete;
 *              its files under HOME/nodes/NAME
 *   launch.c   spawning swtpm and QEMU detached from tld (they outlive a
 *              tld crash), process identity (pid + start time), killing
 *   vtpmread.c the host's own read of a vTPM's PCRs once QEMU let go of it
 *   report.c   what a node's agent posts: checked and summarised
 *   supervise.c the loop: crashes, boot diagnostics, boot timeouts,
 *              re-adopting running nodes after a tld restart
 *   api.c      the REST API (libmicrohttpd), docs/api.md
 *
 * Locking: one mutex (tld.lock) guards the node table and the store; the
 * HTTP threads and the supervision loop take it for every operation. The
 * operations are short (a vTPM provision is ~0.1 s) except a stop, which
 * waits for QEMU to go (bounded).
 *
 * Every process tld starts is recorded with its pid and its start time
 * (field 22 of /proc/PID/stat): a pid alone could be reused by an unrelated
 * process after a crash; the pair cannot. */
#pragma once

#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define TLD_NAME_MAX     63
#define TLD_MAX_NODES    256
#define TLD_TOKEN_LEN    32 /* bytes; hex in the agent's config */
#define TLD_BODY_MAX     (8u << 20)
#define TLD_BOOT_TIMEOUT 240 /* s, TCG boots take 15-25 s; TL_BOOT_TIMEOUT moves it */

enum tld_state {
    TLD_CREATING,
    TLD_BOOTING, /* QEMU started, the agent has not reported in */
    TLD_RUNNING, /* reported in */
    TLD_STOPPED, /* stopped by a request, or the guest powered off */
    TLD_FAILED,  /* did not boot: a diagnosis says why */
    TLD_CRASHED, /* QEMU or swtpm ended without being asked */
};

struct tld_proc {
    pid_t pid;                /* 0: none */
    unsigned long long start; /* /proc/PID/stat starttime */
};

struct tld_node_spec {
    bool secure_boot;
    bool vtpm;
    bool vtpm_persist;
    int generation; /* 2 UEFI, 1 BIOS */
    char image[PATH_MAX];
    char vars[PATH_MAX]; /* a prepared variable store, "" for the defaults */
};

struct tld_node {
    char name[TLD_NAME_MAX + 1];
    char uuid[37];
    struct tld_node_spec spec;
    enum tld_state state;
    char token[TLD_TOKEN_LEN * 2 + 1];
    struct tld_proc qemu, swtpm;
    long long created, started, stopped; /* unix seconds, 0 none */
    unsigned boots;
    char ctrl[108];   /* swtpm's control socket while it runs */
    json_t *diag;     /* boot diagnosis: {"verdict", "phase", "component", "line", ...} */
    json_t *report;   /* the agent's last report, summarised (report.c) */
    json_t *host;     /* host-side vTPM read: {"at", "pcrs", "matches_report"} */
    json_t *ek;       /* provisioned EK certificates' SHA-256 fingerprints */
    char reason[256]; /* why the state is what it is ("" when obvious) */
    bool busy;        /* an operation holds the node (tld.lock released inside) */
};

struct tld {
    char home[PATH_MAX];
    char tl_bin[PATH_MAX]; /* tl, for vTPM provisioning and image checks */
    char ovmf_dir[PATH_MAX];
    int port;
    int boot_timeout;
    sqlite3 *db;
    pthread_mutex_t lock;
    struct tld_node *nodes[TLD_MAX_NODES];
    size_t n_nodes;
    volatile int quit;
};

/* main.c: logging to tld.log (stderr once daemonised) */
__attribute__((format(printf, 1, 2))) void tld_log(const char *fmt, ...);
long long tld_now(void);
const char *tld_state_name(enum tld_state s);
int tld_state_parse(const char *s, enum tld_state *out);

/* store.c */
int tld_store_open(struct tld *t);
void tld_store_close(struct tld *t);
int tld_store_save(struct tld *t, const struct tld_node *n);
int tld_store_delete(struct tld *t, const char *name);
int tld_store_load(struct tld *t);

/* node.c: each returns 0, or an HTTP status (400/404/409/500) with msg set */
struct tld_node *tld_node_find(struct tld *t, const char *name);
int tld_node_create(struct tld *t, const json_t *req, struct tld_node **out, char *msg, size_t msz);
int tld_node_start(struct tld *t, struct tld_node *n, char *msg, size_t msz);
int tld_node_stop(struct tld *t, struct tld_node *n, char *msg, size_t msz);
int tld_node_reimage(struct tld *t, struct tld_node *n, const json_t *req, char *msg, size_t msz);
int tld_node_delete(struct tld *t, struct tld_node *n, char *msg, size_t msz);
/* After QEMU ended without being asked: reads the vTPM, stops swtpm,
 * sets the state from how QEMU ended and what the console says. */
void tld_node_ended(struct tld *t, struct tld_node *n, int wstatus, bool status_known);
json_t *tld_node_json(const struct tld *t, const struct tld_node *n);
/* The store's form: everything, secrets and pids included. */
json_t *tld_node_doc(const struct tld_node *n);
int tld_node_from_doc(const json_t *doc, struct tld_node **out);
void tld_node_free(struct tld_node *n);
int tld_node_path(const struct tld *t, const struct tld_node *n, const char *file, char *out,
                  size_t size);
bool tld_name_ok(const char *s);

/* launch.c */
int tld_proc_spawn(char *const argv[], const char *log, int keep_fd, struct tld_proc *out);
bool tld_proc_alive(const struct tld_proc *p, int *wstatus, bool *status_known);
void tld_proc_kill(struct tld_proc *p, int sig, int wait_ms);
int tld_proc_starttime(pid_t pid, unsigned long long *out);

/* vtpmread.c: PCRs 0-23 of every bank of the swtpm behind ctrl, which no
 * QEMU holds any more: {"sha1": {"0": hex...}, "sha256": {...}} */
int tld_vtpm_read_pcrs(const char *ctrl, json_t **out, char *msg, size_t msz);
/* CMD_SHUTDOWN on the control channel: swtpm saves its state and exits. */
int tld_vtpm_shutdown(const char *ctrl);

/* report.c: the agent's POST; returns an HTTP status, msg for errors */
int tld_report_accept(struct tld *t, struct tld_node *n, const char *auth, const char *body,
                      size_t len, char *msg, size_t msz);
/* Does the replay of the last report's event log equal these PCRs? */
json_t *tld_report_compare_host(const struct tld_node *n, const json_t *pcrs);

/* supervise.c */
void tld_supervise_once(struct tld *t);
void tld_readopt(struct tld *t);
void tld_diagnose(struct tld *t, struct tld_node *n);

/* api.c */
int tld_api_start(struct tld *t, const char *listen_addr, int *port);
void tld_api_stop(void);
