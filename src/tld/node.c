/* A node's lifecycle and its files.
 *
 *   HOME/nodes/NAME/disk.qcow2   copy-on-write overlay of IMAGE/disk.raw
 *   HOME/nodes/NAME/vars.fd      its UEFI variable store (Gen2)
 *   HOME/nodes/NAME/vtpm/        its persisted vTPM state (encrypted)
 *   HOME/nodes/NAME/agent.json   the agent's config (QEMU fw_cfg)
 *   HOME/nodes/NAME/console.log  the serial console of the current boot
 *   HOME/nodes/NAME/{qemu,swtpm,provision}.log
 *   HOME/keys/NAME.vtpm.key      the vTPM state key: the platform's, kept
 *                                apart from the state it protects
 *   HOME/run/NAME.vtpm/ + .key   a non-persisted vTPM, only while it runs
 *   HOME/run/NAME.ctrl           swtpm's control socket
 *   HOME/ekca/                   the platform's EK CA (tl vtpm provision)
 *
 * An external node (no VM here) has either a vTPM provisioned here (its
 * state under HOME/nodes/NAME/vtpm, run by whoever runs its agent), or,
 * created with "ek_public", its own TPM elsewhere: tld certifies that EK
 * itself (ekca.c) and the node holds only agent.json. Nodes are kept in a
 * growing table with a name index (tld_node_find is a hash lookup: every
 * agent call finds its node), up to TLD_MAX_NODES; the supervision loop
 * visits only the nodes with a VM here (t->vms), not 100,000 external
 * ones (~1.5 ms of cache misses under tld.lock, four times a second).
 *
 * Invariants: a create either leaves a node record and all its files, or
 * nothing (rollback); a node with state booting or running has a QEMU
 * (and, with a vTPM, a swtpm) recorded by pid + start time; every path out
 * of running (stop, crash, delete) ends with neither process left. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tl/util.h"
#include "tld.h"

extern char **environ;

bool tld_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > TLD_NAME_MAX || !(s[0] >= 'a' && s[0] <= 'z') || s[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return false;
    return true;
}

/* ---- the node table and its name index ---- */

static size_t name_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return (size_t)(h ^ (h >> 29));
}

struct tld_node *tld_node_find(struct tld *t, const char *name)
{
    if (!t->n_index)
        return NULL;
    for (struct tld_node *n = t->index[name_hash(name) & (t->n_index - 1)]; n; n = n->hash_next)
        if (strcmp(n->name, name) == 0)
            return n;
    return NULL;
}

/* Rebuilds the index with twice the chains when it holds as many nodes. */
static int index_grow(struct tld *t)
{
    size_t want = t->n_index ? t->n_index * 2 : 256;
    struct tld_node **idx = calloc(want, sizeof(*idx));
    if (!idx)
        return -ENOMEM;
    for (size_t i = 0; i < t->n_nodes; i++) {
        struct tld_node *n = t->nodes[i];
        size_t h = name_hash(n->name) & (want - 1);
        n->hash_next = idx[h];
        idx[h] = n;
    }
    free(t->index);
    t->index = idx;
    t->n_index = want;
    return 0;
}

int tld_node_add(struct tld *t, struct tld_node *n)
{
    if (t->n_nodes >= TLD_MAX_NODES)
        return -ENOSPC;
    if (t->n_nodes == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        struct tld_node **a = realloc(t->nodes, cap * sizeof(*a));
        if (!a)
            return -ENOMEM;
        t->nodes = a;
        t->cap = cap;
    }
    if (t->n_nodes + 1 > t->n_index && index_grow(t) < 0)
        return -ENOMEM;
    if (!n->spec.external && t->n_vms == t->cap_vms) {
        size_t cap = t->cap_vms ? t->cap_vms * 2 : 64;
        struct tld_node **a = realloc(t->vms, cap * sizeof(*a));
        if (!a)
            return -ENOMEM;
        t->vms = a;
        t->cap_vms = cap;
    }
    if (!n->spec.external)
        t->vms[t->n_vms++] = n;
    t->nodes[t->n_nodes++] = n;
    size_t h = name_hash(n->name) & (t->n_index - 1);
    n->hash_next = t->index[h];
    t->index[h] = n;
    return 0;
}

void tld_node_remove(struct tld *t, struct tld_node *n)
{
    if (t->n_index)
        for (struct tld_node **p = &t->index[name_hash(n->name) & (t->n_index - 1)]; *p;
             p = &(*p)->hash_next)
            if (*p == n) {
                *p = n->hash_next;
                break;
            }
    n->hash_next = NULL;
    for (size_t i = 0; i < t->n_nodes; i++)
        if (t->nodes[i] == n) {
            t->nodes[i] = t->nodes[--t->n_nodes];
            break;
        }
    for (size_t i = 0; i < t->n_vms; i++)
        if (t->vms[i] == n) {
            t->vms[i] = t->vms[--t->n_vms];
            break;
        }
}

void tld_nodes_free(struct tld *t)
{
    for (size_t i = 0; i < t->n_nodes; i++)
        tld_node_free(t->nodes[i]);
    free(t->nodes);
    free(t->index);
    free(t->vms);
    t->nodes = t->index = t->vms = NULL;
    t->n_nodes = t->cap = t->n_index = t->n_vms = t->cap_vms = 0;
}

/* Interned strings: a list; there are as many as distinct image and
 * variable store paths (a handful), each kept once for every node. */
struct interned {
    struct interned *next;
    char s[];
};
static struct interned *interned;
static pthread_mutex_t intern_lock = PTHREAD_MUTEX_INITIALIZER;

const char *tld_intern(const char *s)
{
    if (!s || !*s)
        return "";
    pthread_mutex_lock(&intern_lock);
    struct interned *i;
    for (i = interned; i && strcmp(i->s, s) != 0; i = i->next)
        ;
    if (!i && (i = malloc(sizeof(*i) + strlen(s) + 1))) {
        strcpy(i->s, s);
        i->next = interned;
        interned = i;
    }
    pthread_mutex_unlock(&intern_lock);
    return i ? i->s : NULL;
}

void tld_node_free(struct tld_node *n)
{
    if (!n)
        return;
    json_decref(n->diag);
    json_decref(n->report);
    json_decref(n->host);
    free(n->ek);
    free(n->ak);
    free(n->baseline);
    json_decref(n->ek_issued);
    if (n->challenge) {
        json_decref(n->challenge->ak);
        free(n->challenge);
    }
    free(n->nonces);
    free(n);
}

json_t *tld_node_ek(const struct tld_node *n)
{
    return n->ek ? json_loads(n->ek, 0, NULL) : NULL;
}

int tld_node_set_ek(struct tld_node *n, const json_t *ek)
{
    char *text = ek && !json_is_null(ek) ? json_dumps(ek, JSON_COMPACT) : NULL;
    if (ek && !json_is_null(ek) && !text)
        return -ENOMEM;
    free(n->ek);
    n->ek = text;
    return 0;
}

int tld_node_path(const struct tld *t, const struct tld_node *n, const char *file, char *out,
                  size_t size)
{
    int k = file ? snprintf(out, size, "%s/nodes/%s/%s", t->home, n->name, file)
                 : snprintf(out, size, "%s/nodes/%s", t->home, n->name);
    return k < 0 || (size_t)k >= size ? -ENAMETOOLONG : 0;
}

static void run_path(const struct tld *t, const struct tld_node *n, const char *suffix, char *out,
                     size_t size)
{
    snprintf(out, size, "%s/run/%s%s", t->home, n->name, suffix);
}

static void key_path(const struct tld *t, const struct tld_node *n, char *out, size_t size)
{
    snprintf(out, size, "%s/keys/%s.vtpm.key", t->home, n->name);
}

/* Runs a helper program to its end; its output goes to log (appended), or
 * is captured in *out (stdout only) when out is given. Returns its exit
 * status, or -errno when it could not run. */
static int run(char *const argv[], const char *log, char **out)
{
    int pipefd[2] = {-1, -1};
    if (out && pipe2(pipefd, O_CLOEXEC) < 0)
        return -errno;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (log) {
        posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (!out)
            posix_spawn_file_actions_adddup2(&fa, 2, 1);
    }
    if (out)
        posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
    pid_t pid;
    int r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (out)
        close(pipefd[1]);
    if (r != 0) {
        if (out)
            close(pipefd[0]);
        return -r;
    }
    if (out) {
        size_t cap = 4096, len = 0;
        char *buf = malloc(cap);
        ssize_t k;
        while (buf && (k = read(pipefd[0], buf + len, cap - len - 1)) > 0) {
            len += (size_t)k;
            if (cap - len < 2) {
                char *nb = cap < (16u << 20) ? realloc(buf, cap * 2) : NULL;
                if (!nb)
                    break;
                buf = nb;
                cap *= 2;
            }
        }
        close(pipefd[0]);
        if (buf)
            buf[len] = 0;
        *out = buf;
    }
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

static int copy_fd(int in, const char *to)
{
    int o = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (o < 0) {
        int e = errno;
        close(in);
        return -e;
    }
    char buf[65536];
    ssize_t k;
    int r = 0;
    while ((k = read(in, buf, sizeof(buf))) > 0)
        if (write(o, buf, (size_t)k) != k) {
            r = -EIO;
            break;
        }
    if (k < 0)
        r = -errno;
    if (r == 0 && fsync(o) < 0)
        r = -errno;
    close(o);
    return r;
}

static int copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return -errno;
    int r = copy_fd(in, to);
    close(in);
    return r;
}

static void remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0 && errno == ENOENT)
        return; /* nothing to remove: no rm process (a create checks for leftovers) */
    char *argv[] = {"rm", "-rf", "--one-file-system", (char *)path, NULL};
    run(argv, NULL, NULL);
}

/* ---- the image ---- */

/* IMAGE/manifest.json: its generation (2 when it does not say). */
int tld_image_generation(const struct tld *t, const char *image, int *gen, char *msg, size_t msz)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/disk.raw", image);
    int fd, r;
    if (access(path, F_OK) < 0 && errno == ENOENT)
        return ERR(400, "image %s: no disk.raw (build one with tl image build -o %s)", image,
                   image);
    if ((r = tld_hostpath_open(t, path, TLD_DISK_MAX, &fd, NULL, msg, msz)))
        return r;
    close(fd);
    snprintf(path, sizeof(path), "%s/manifest.json", image);
    if ((r = tld_hostpath_open(t, path, TLD_MANIFEST_MAX, &fd, NULL, msg, msz)))
        return r;
    json_error_t jerr;
    json_t *m = json_loadfd(fd, 0, &jerr);
    close(fd);
    if (!m)
        return ERR(400, "image %s: manifest.json: %s", image, jerr.text);
    json_t *g = json_object_get(m, "generation");
    *gen = json_is_integer(g) ? (int)json_integer_value(g) : 2;
    json_decref(m);
    if (*gen != 1 && *gen != 2)
        return ERR(400, "image %s: generation %d (1 or 2)", image, *gen);
    return 0;
}

/* ---- the firmware variable store ---- */

static int make_vars(struct tld *t, struct tld_node *n, char *msg, size_t msz)
{
    if (n->spec.generation == 1)
        return 0;
    char from[PATH_MAX + 32], to[PATH_MAX];
    if (tld_node_path(t, n, "vars.fd", to, sizeof(to)) < 0)
        return ERR(500, "node path too long");
    int r;
    if (n->spec.vars[0]) { /* a store's file: checked again as it is opened */
        int in;
        if ((r = tld_hostpath_open(t, n->spec.vars, TLD_VARS_MAX, &in, NULL, msg, msz)))
            return r;
        r = copy_fd(in, to);
        close(in);
        snprintf(from, sizeof(from), "%s", n->spec.vars);
    } else {
        snprintf(from, sizeof(from), "%s/%s", t->ovmf_dir,
                 n->spec.secure_boot ? "OVMF_VARS_4M.ms.fd" : "OVMF_VARS_4M.fd");
        r = copy_file(from, to);
    }
    if (r < 0)
        return ERR(r == -ENOENT ? 400 : 500, "%s: cannot copy the variable store: %s", from,
                   strerror(-r));
    return 0;
}

static int make_overlay(struct tld *t, struct tld_node *n, char *msg, size_t msz)
{
    char disk[PATH_MAX], base[PATH_MAX + 16], log[PATH_MAX];
    snprintf(base, sizeof(base), "%s/disk.raw", n->spec.image);
    tld_node_path(t, n, "disk.qcow2", disk, sizeof(disk));
    tld_node_path(t, n, "qemu.log", log, sizeof(log));
    unlink(disk);
    char *argv[] = {"qemu-img", "create", "-q", "-f", "qcow2", "-b", base, "-F", "raw", disk, NULL};
    int r = run(argv, log, NULL);
    if (r != 0)
        return ERR(500, "qemu-img create failed (%d; see %s)", r, log);
    return 0;
}

/* ---- the vTPM ---- */

static int provision(struct tld *t, struct tld_node *n, const char *state, const char *key,
                     char *msg, size_t msz)
{
    char ca[PATH_MAX + 8], log[PATH_MAX];
    snprintf(ca, sizeof(ca), "%s/ekca", t->home);
    tld_node_path(t, n, "provision.log", log, sizeof(log));
    char *argv[] = {t->tl_bin,    "vtpm",      "provision", "--state", (char *)state, "--ca", ca,
                    "--key-file", (char *)key, "--name",    n->name,   "--json",      NULL};
    char *out = NULL;
    int r = run(argv, log, &out);
    if (r != 0) {
        free(out);
        return ERR(500, "vTPM provisioning failed (%d; see %s)", r, log);
    }
    json_error_t jerr;
    json_t *j = out ? json_loads(out, 0, &jerr) : NULL;
    free(out);
    int e = tld_node_set_ek(n, json_object_get(j, "eks"));
    json_decref(j);
    if (e < 0)
        return ERR(500, "out of memory");
    return 0;
}

static void vtpm_paths(struct tld *t, struct tld_node *n, char *state, char *key, size_t size)
{
    if (n->spec.vtpm_persist) {
        tld_node_path(t, n, "vtpm", state, size);
        key_path(t, n, key, size);
    } else {
        run_path(t, n, ".vtpm", state, size);
        run_path(t, n, ".vtpm.key", key, size);
    }
}

static void vtpm_forget_ephemeral(struct tld *t, struct tld_node *n)
{
    char state[PATH_MAX], key[PATH_MAX];
    run_path(t, n, ".vtpm", state, sizeof(state));
    run_path(t, n, ".vtpm.key", key, sizeof(key));
    remove_tree(state);
    unlink(key);
}

static int read_key(const char *path, uint8_t key[32])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t k = read(fd, key, 32);
    close(fd);
    return k == 32 ? 0 : -EIO;
}

static int start_swtpm(struct tld *t, struct tld_node *n, char *msg, size_t msz)
{
    char state[PATH_MAX], key[PATH_MAX], log[PATH_MAX];
    vtpm_paths(t, n, state, key, sizeof(state));
    if (!n->spec.vtpm_persist) {
        vtpm_forget_ephemeral(t, n);
        n->tpm_seen = (struct tld_tpm_seen){0}; /* a new TPM: its counters start over */
        int r = provision(t, n, state, key, msg, msz);
        if (r)
            return r;
    }
    uint8_t k[32];
    if (read_key(key, k) < 0)
        return ERR(500, "%s: cannot read the vTPM key", key);
    run_path(t, n, ".ctrl", n->ctrl, sizeof(n->ctrl));
    if (strlen(n->ctrl) + 1 >= sizeof(n->ctrl) - 1)
        return ERR(400, "%s: data directory path too long for a socket", t->home);
    unlink(n->ctrl);
    int kp[2];
    if (pipe2(kp, O_CLOEXEC) < 0 || write(kp[1], k, sizeof(k)) != (ssize_t)sizeof(k)) {
        memset(k, 0, sizeof(k));
        return ERR(500, "key pipe: %s", strerror(errno));
    }
    memset(k, 0, sizeof(k));
    close(kp[1]);
    char a_state[PATH_MAX + 32], a_ctrl[160], a_key[64];
    snprintf(a_state, sizeof(a_state), "dir=%s,mode=0600", state);
    snprintf(a_ctrl, sizeof(a_ctrl), "type=unixio,path=%s,mode=0600", n->ctrl);
    snprintf(a_key, sizeof(a_key), "fd=%d,mode=aes-256-cbc,format=binary", kp[0]);
    const char *bin = getenv("TL_SWTPM");
    char *argv[] = {(char *)(bin && *bin ? bin : "swtpm"),
                    "socket",
                    "--tpm2",
                    "--tpmstate",
                    a_state,
                    "--ctrl",
                    a_ctrl,
                    "--flags",
                    "not-need-init",
                    "--key",
                    a_key,
                    NULL};
    tld_node_path(t, n, "swtpm.log", log, sizeof(log));
    int r = tld_proc_spawn(argv, log, kp[0], &n->swtpm);
    close(kp[0]);
    if (r < 0)
        return ERR(500, "cannot run swtpm: %s", strerror(-r));
    for (int i = 0; i < 250; i++) {
        struct stat st;
        if (stat(n->ctrl, &st) == 0 && S_ISSOCK(st.st_mode))
            return 0;
        if (!tld_proc_alive(&n->swtpm, NULL, NULL))
            break;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    tld_proc_kill(&n->swtpm, SIGKILL, 1000);
    return ERR(500, "swtpm did not start (see %s)", log);
}

/* ---- QEMU ---- */

/* The agent's config (docs/image.md): QEMU hands it over as fw_cfg; an
 * external node's agent reads the file. Each write is a new agent token:
 * tld keeps only its SHA-256, so the token of an earlier boot is void.
 * A VM's agent reaches tld only at 10.0.2.100:80, the forward to its own
 * agent channel (agentnet.c); an external node's agent uses the admin
 * listener with its token. */
static int write_agent_config(struct tld *t, struct tld_node *n, char *msg, size_t msz)
{
    char agent[PATH_MAX], url[256], token[TLD_NAME_MAX + 2 * TLD_TOKEN_LEN + 2];
    tld_node_path(t, n, "agent.json", agent, sizeof(agent));
    if (n->spec.external)
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/nodes/%s/report", t->port, n->name);
    else
        snprintf(url, sizeof(url), "http://" TLD_AGENT_ADDR "/v1/nodes/%s/report", n->name);
    /* "NODE.SECRET": the API knows whose token it is without a search */
    char secret[2 * TLD_TOKEN_LEN + 1];
    if (tld_secret_new(secret) < 0)
        return ERR(500, "getrandom failed");
    snprintf(token, sizeof(token), "%s.%s", n->name, secret);
    OPENSSL_cleanse(secret, sizeof(secret));
    json_t *cfg = json_pack("{s:s, s:s, s:s}", "node", n->name, "token", token, "url", url);
    int fd = open(agent, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    char *text = cfg ? json_dumps(cfg, JSON_COMPACT) : NULL;
    json_decref(cfg);
    bool ok =
        fd >= 0 && text && write(fd, text, strlen(text)) == (ssize_t)strlen(text) && fsync(fd) == 0;
    free(text);
    if (fd >= 0)
        close(fd);
    if (ok)
        tld_secret_hash(token, strlen(token), n->token_sha256);
    OPENSSL_cleanse(token, sizeof(token));
    return ok ? 0 : ERR(500, "%s: cannot write", agent);
}

static int start_qemu(struct tld *t, struct tld_node *n, char *msg, size_t msz)
{
    char disk[PATH_MAX], vars[PATH_MAX], console[PATH_MAX], log[PATH_MAX], agent[PATH_MAX];
    tld_node_path(t, n, "disk.qcow2", disk, sizeof(disk));
    tld_node_path(t, n, "vars.fd", vars, sizeof(vars));
    tld_node_path(t, n, "console.log", console, sizeof(console));
    tld_node_path(t, n, "qemu.log", log, sizeof(log));
    tld_node_path(t, n, "agent.json", agent, sizeof(agent));
    int r0 = write_agent_config(t, n, msg, msz);
    if (r0)
        return r0;
    unlink(console);

    char code[PATH_MAX + 64], a_code[PATH_MAX + 96], a_vars[PATH_MAX + 64], a_disk[PATH_MAX + 64],
        a_con[PATH_MAX + 32], a_cfg[PATH_MAX + 64], a_name[TLD_NAME_MAX + 32], a_tpm[160];
    snprintf(code, sizeof(code), "%s/OVMF_CODE_4M.secboot.fd", t->ovmf_dir);
    snprintf(a_code, sizeof(a_code), "if=pflash,format=raw,unit=0,file=%s,readonly=on", code);
    snprintf(a_vars, sizeof(a_vars), "if=pflash,format=raw,unit=1,file=%s", vars);
    snprintf(a_con, sizeof(a_con), "file,id=con0,path=%s", console);
    snprintf(a_cfg, sizeof(a_cfg), "name=opt/trustlaunch/agent.json,file=%s", agent);
    snprintf(a_name, sizeof(a_name), "%s,process=tl-%s", n->name, n->name);
    snprintf(a_tpm, sizeof(a_tpm), "socket,id=chrtpm,path=%s", n->ctrl);
    const char *accel = getenv("TL_ACCEL");
    const char *mem = getenv("TL_NODE_MEMORY");
    char a_mem[16];
    if (n->spec.memory_mib) { /* the VM size's (cluster.c) */
        snprintf(a_mem, sizeof(a_mem), "%u", n->spec.memory_mib);
        mem = a_mem;
    }
    char *argv[64];
    int k = 0;
    argv[k++] = "qemu-system-x86_64";
    argv[k++] = "-name";
    argv[k++] = a_name;
    argv[k++] = "-uuid";
    argv[k++] = n->uuid;
    argv[k++] = "-accel";
    argv[k++] = (char *)(accel && *accel ? accel : "tcg");
    argv[k++] = "-m";
    argv[k++] = (char *)(mem && *mem ? mem : "1024");
    argv[k++] = "-display";
    argv[k++] = "none";
    argv[k++] = "-monitor";
    argv[k++] = "none";
    argv[k++] = "-chardev";
    argv[k++] = a_con;
    argv[k++] = "-serial";
    argv[k++] = "chardev:con0";
    argv[k++] = "-no-reboot";
    argv[k++] = "-nodefaults";
    if (n->spec.generation == 2) {
        argv[k++] = "-machine";
        argv[k++] = "q35,smm=on";
        argv[k++] = "-global";
        argv[k++] = "driver=cfi.pflash01,property=secure,value=on";
        argv[k++] = "-drive";
        argv[k++] = a_code;
        argv[k++] = "-drive";
        argv[k++] = a_vars;
        snprintf(a_disk, sizeof(a_disk), "if=virtio,format=qcow2,file=%s", disk);
    } else {
        argv[k++] = "-machine";
        argv[k++] = "q35";
        snprintf(a_disk, sizeof(a_disk), "if=ide,format=qcow2,file=%s", disk);
    }
    argv[k++] = "-drive";
    argv[k++] = a_disk;
    /* restrict=on: the guest reaches nothing but the forward to its own
     * agent channel (agentnet.c), and with egress the one to its own
     * CONNECT proxy (egress.c); DHCP still answers */
    char a_net[2 * PATH_MAX + 512], chan[108], egress[108];
    if (tld_agentnet_path(t, n->name, chan, sizeof(chan)) < 0 ||
        tld_agentnet_egress_path(t, n->name, egress, sizeof(egress)) < 0)
        return ERR(400, "%s: data directory path too long for a socket", t->home);
    int an = snprintf(a_net, sizeof(a_net),
                      "user,id=n0,ipv6=off,restrict=on,guestfwd=tcp:" TLD_AGENT_ADDR
                      "-cmd:%s --relay %s",
                      t->tld_bin, chan);
    if (n->spec.egress)
        snprintf(a_net + an, sizeof(a_net) - (size_t)an,
                 ",guestfwd=tcp:" TLD_EGRESS_ADDR "-cmd:%s --relay %s", t->tld_bin, egress);
    if (strchr(t->tld_bin, ',') || strchr(t->tld_bin, ' ') || strchr(chan, ',') ||
        strchr(chan, ' '))
        return ERR(400, "%s or %s: a comma or space in the path (QEMU's option syntax)", t->tld_bin,
                   chan);
    int rc = tld_agentnet_open(t, n);
    if (rc < 0)
        return ERR(500, "%s: cannot listen: %s", chan, strerror(-rc));
    argv[k++] = "-netdev";
    argv[k++] = a_net;
    argv[k++] = "-device";
    argv[k++] = "virtio-net-pci,netdev=n0,romfile=";
    argv[k++] = "-fw_cfg";
    argv[k++] = a_cfg;
    /* TL_GUEST_PROBE (the operator's environment, for diagnostics and
     * tests/e2e/guest_isolation.sh): a script the image's init runs once */
    const char *probe = getenv("TL_GUEST_PROBE");
    char a_probe[PATH_MAX + 64];
    if (probe && *probe) {
        if (strchr(probe, ',')) {
            tld_agentnet_close(t, n->name);
            return ERR(400, "TL_GUEST_PROBE %s: a comma in the path (QEMU's option syntax)", probe);
        }
        snprintf(a_probe, sizeof(a_probe), "name=opt/trustlaunch/probe,file=%s", probe);
        argv[k++] = "-fw_cfg";
        argv[k++] = a_probe;
    }
    if (n->spec.vtpm) {
        argv[k++] = "-chardev";
        argv[k++] = a_tpm;
        argv[k++] = "-tpmdev";
        argv[k++] = "emulator,id=tpm0,chardev=chrtpm";
        argv[k++] = "-device";
        argv[k++] = "tpm-crb,tpmdev=tpm0";
    }
    argv[k] = NULL;
    int r = tld_proc_spawn(argv, log, -1, &n->qemu);
    if (r < 0) {
        tld_agentnet_close(t, n->name);
        return ERR(500, "cannot run qemu-system-x86_64: %s", strerror(-r));
    }
    return 0;
}

/* Reads the vTPM (QEMU gone), then shuts swtpm down; forgets a
 * non-persisted state. */
static void stop_vtpm(struct tld *t, struct tld_node *n)
{
    if (n->swtpm.pid > 0 && tld_proc_alive(&n->swtpm, NULL, NULL) && n->ctrl[0]) {
        json_t *pcrs = NULL;
        char m[256] = "";
        json_t *host = json_object();
        json_object_set_new(host, "at", json_integer(tld_now()));
        if (tld_vtpm_read_pcrs(n->ctrl, &pcrs, m, sizeof(m)) == 0) {
            json_object_set_new(host, "pcrs", pcrs);
            json_object_set_new(host, "replay", tld_report_compare_host(n, pcrs));
        } else {
            json_object_set_new(host, "error", json_string(m));
            tld_log("node %s: reading its vTPM: %s", n->name, m);
        }
        json_decref(n->host);
        n->host = host;
        tld_vtpm_shutdown(n->ctrl);
        tld_proc_kill(&n->swtpm, SIGTERM, 3000);
    } else if (n->swtpm.pid > 0) {
        tld_proc_kill(&n->swtpm, SIGKILL, 1000);
    }
    n->swtpm = (struct tld_proc){0};
    if (n->ctrl[0])
        unlink(n->ctrl);
    n->ctrl[0] = 0;
    if (!n->spec.vtpm_persist)
        vtpm_forget_ephemeral(t, n);
}

/* ---- operations ---- */

int tld_node_start(struct tld *t, struct tld_node *n, char *msg, size_t msz)
{
    if (n->state == TLD_BOOTING || n->state == TLD_RUNNING)
        return ERR(409, "node %s is already %s", n->name, tld_state_name(n->state));
    int r;
    if (n->spec.external) {
        if ((r = write_agent_config(t, n, msg, msz)))
            return r;
        json_decref(n->report);
        n->report = NULL;
        tld_attest_reset(n);
        n->state = TLD_BOOTING; /* until its agent reports in */
        n->reason[0] = 0;
        n->started = tld_now();
        n->boots++;
        tld_store_save(t, n);
        return 0;
    }
    if (n->spec.vtpm && (r = start_swtpm(t, n, msg, msz)) != 0)
        return r;
    if ((r = start_qemu(t, n, msg, msz)) != 0) {
        stop_vtpm(t, n);
        return r;
    }
    json_decref(n->diag);
    n->diag = json_pack("{s:s, s:s}", "verdict", "booting", "phase", "firmware");
    json_decref(n->report);
    n->report = NULL;
    tld_attest_reset(n); /* a new boot: nothing is proven yet */
    n->state = TLD_BOOTING;
    n->reason[0] = 0;
    n->started = tld_now();
    n->stopped = 0;
    n->boots++;
    tld_store_save(t, n);
    tld_log("node %s: started (qemu %ld, swtpm %ld)", n->name, (long)n->qemu.pid,
            (long)n->swtpm.pid);
    return 0;
}

static void halt(struct tld *t, struct tld_node *n)
{
    tld_proc_kill(&n->qemu, SIGKILL, 3000);
    if (!n->spec.external)
        tld_agentnet_close(t, n->name);
    stop_vtpm(t, n);
    n->stopped = tld_now();
}

int tld_node_stop(struct tld *t, struct tld_node *n, char *msg, size_t msz)
{
    if (n->state != TLD_BOOTING && n->state != TLD_RUNNING) {
        if (n->state == TLD_STOPPED)
            return ERR(409, "node %s is already stopped", n->name);
        /* failed or crashed: make sure nothing is left, then it is stopped */
    }
    /* A power-off: the node runs from its initramfs and keeps nothing on
     * its disk, and killing QEMU (rather than SIGTERM, on which QEMU shuts
     * swtpm down) leaves the vTPM up for the host to read. */
    halt(t, n);
    n->state = TLD_STOPPED;
    snprintf(n->reason, sizeof(n->reason), "stopped by request");
    tld_store_save(t, n);
    tld_log("node %s: stopped", n->name);
    return 0;
}

void tld_node_ended(struct tld *t, struct tld_node *n, int wstatus, bool status_known)
{
    n->qemu = (struct tld_proc){0};
    tld_agentnet_close(t, n->name);
    tld_diagnose(t, n);
    stop_vtpm(t, n);
    n->stopped = tld_now();
    const char *verdict = json_string_value(json_object_get(n->diag, "verdict"));
    char how[96];
    if (!status_known)
        snprintf(how, sizeof(how), "QEMU ended (while tld was not watching)");
    else if (WIFSIGNALED(wstatus))
        snprintf(how, sizeof(how), "QEMU killed by signal %d (%s)", WTERMSIG(wstatus),
                 strsignal(WTERMSIG(wstatus)));
    else
        snprintf(how, sizeof(how), "QEMU exited with status %d", WEXITSTATUS(wstatus));
    if (verdict && strcmp(verdict, "powered-off") == 0 && status_known && WIFEXITED(wstatus) &&
        WEXITSTATUS(wstatus) == 0) {
        n->state = TLD_STOPPED;
        snprintf(n->reason, sizeof(n->reason), "the guest powered off");
    } else if (verdict && (strcmp(verdict, "kernel-panic") == 0 ||
                           strcmp(verdict, "secure-boot-violation") == 0 ||
                           strcmp(verdict, "no-bootable-device") == 0 ||
                           strcmp(verdict, "boot-failed") == 0)) {
        n->state = TLD_FAILED;
        snprintf(n->reason, sizeof(n->reason), "%s; %s", verdict, how);
    } else {
        n->state = TLD_CRASHED;
        snprintf(n->reason, sizeof(n->reason), "%s", how);
    }
    tld_store_save(t, n);
    tld_log("node %s: %s (%s)", n->name, tld_state_name(n->state), n->reason);
}

static void remove_node_files(struct tld *t, struct tld_node *n)
{
    char p[PATH_MAX];
    tld_node_path(t, n, NULL, p, sizeof(p));
    remove_tree(p);
    key_path(t, n, p, sizeof(p));
    unlink(p);
    vtpm_forget_ephemeral(t, n);
}

static int parse_bool(const json_t *req, const char *key, bool *out, char *msg, size_t msz)
{
    json_t *v = json_object_get(req, key);
    if (!v)
        return 0;
    if (!json_is_boolean(v))
        return ERR(400, "\"%s\" must be true or false", key);
    *out = json_is_true(v);
    return 0;
}

static int parse_spec(struct tld *t, const json_t *req, struct tld_node_spec *spec, char *msg,
                      size_t msz)
{
    int r;
    if ((r = parse_bool(req, "secure_boot", &spec->secure_boot, msg, msz)) ||
        (r = parse_bool(req, "vtpm", &spec->vtpm, msg, msz)) ||
        (r = parse_bool(req, "vtpm_persist", &spec->vtpm_persist, msg, msz)) ||
        (r = parse_bool(req, "egress", &spec->egress, msg, msz)))
        return r;
    if (json_object_get(req, "egress_allow") &&
        (r = tld_egress_allow_parse(json_object_get(req, "egress_allow"), "egress_allow",
                                    &spec->egress_allow, msg, msz)))
        return r;
    json_t *mem = json_object_get(req, "memory_mib");
    if (mem) {
        if (!json_is_integer(mem) || json_integer_value(mem) < 256 ||
            json_integer_value(mem) > 65536)
            return ERR(400, "\"memory_mib\" must be an integer from 256 to 65536");
        spec->memory_mib = (unsigned)json_integer_value(mem);
    }
    json_t *img = json_object_get(req, "image");
    if (img) {
        if (!json_is_string(img) || !json_string_length(img))
            return ERR(400, "\"image\" must be a directory path");
        char real[PATH_MAX];
        if ((r = tld_hostpath_resolve(t, "image", json_string_value(img), real, sizeof(real), msg,
                                      msz)))
            return r;
        if (!(spec->image = tld_intern(real)))
            return ERR(500, "out of memory");
    }
    if (!spec->image[0]) {
        char def[PATH_MAX + 32];
        snprintf(def, sizeof(def), "%s/images/default", t->home);
        if (access(def, F_OK) < 0)
            return ERR(400, "no image given and no default image at %s (tl image build -o %s)", def,
                       def);
        char real[PATH_MAX];
        if ((r = tld_hostpath_resolve(t, "image", def, real, sizeof(real), msg, msz)))
            return r;
        if (!(spec->image = tld_intern(real)))
            return ERR(500, "out of memory");
    }
    json_t *vars = json_object_get(req, "vars");
    if (vars) {
        if (!json_is_string(vars))
            return ERR(400, "\"vars\" must be a file path");
        char real[PATH_MAX];
        int fd;
        if ((r = tld_hostpath_resolve(t, "variable store", json_string_value(vars), real,
                                      sizeof(real), msg, msz)) ||
            (r = tld_hostpath_open(t, real, TLD_VARS_MAX, &fd, NULL, msg, msz)))
            return r;
        close(fd);
        if (!(spec->vars = tld_intern(real)))
            return ERR(500, "out of memory");
    }
    if ((r = tld_image_generation(t, spec->image, &spec->generation, msg, msz)))
        return r;
    if (spec->generation == 1 && spec->secure_boot)
        return ERR(400,
                   "Secure Boot needs a Gen2 (UEFI) image; %s is Gen1 (BIOS): use a Gen2 image "
                   "or --secure-boot off",
                   spec->image);
    if (spec->generation == 1 && spec->vtpm)
        return ERR(400,
                   "a vTPM needs a Gen2 (UEFI) image (trusted launch); %s is Gen1 (BIOS): use a "
                   "Gen2 image or --vtpm off",
                   spec->image);
    if (spec->vars[0] && spec->generation == 1)
        return ERR(400, "a Gen1 (BIOS) node has no UEFI variable store");
    return 0;
}

static void new_uuid(char out[37])
{
    uint8_t u[16];
    if (getrandom(u, sizeof(u), 0) != (ssize_t)sizeof(u))
        memset(u, 0x5a, sizeof(u));
    u[6] = (u[6] & 0x0f) | 0x40;
    u[8] = (u[8] & 0x3f) | 0x80;
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0],
             u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13],
             u[14], u[15]);
}

int tld_node_create(struct tld *t, const json_t *req, struct tld_node **out, char *msg, size_t msz)
{
    if (!json_is_object(req))
        return ERR(400, "the request body must be a JSON object");
    const char *known[] = {"name",      "secure_boot", "vtpm",   "vtpm_persist",
                           "image",     "vars",        "start",  "external",
                           "ek_public", "memory_mib",  "egress", "egress_allow"};
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)req, key, v)
    {
        bool ok = false;
        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
            ok |= strcmp(key, known[i]) == 0;
        if (!ok)
            return ERR(400, "unknown field \"%s\"", key);
    }
    const char *name = json_string_value(json_object_get(req, "name"));
    if (!name)
        return ERR(400, "\"name\" is required");
    if (!tld_name_ok(name))
        return ERR(400,
                   "node name \"%s\": 1-%d lowercase letters, digits and '-', starting with a "
                   "letter",
                   name, TLD_NAME_MAX);
    if (tld_node_find(t, name))
        return ERR(409, "node %s exists already", name);
    if (t->n_nodes >= TLD_MAX_NODES)
        return ERR(409, "this tld runs its maximum of %d nodes", TLD_MAX_NODES);
    /* an external node's own EK, to be certified here instead of a vTPM
     * provisioned here */
    json_t *ek_j = json_object_get(req, "ek_public");
    uint8_t *ek_pub = NULL;
    size_t ek_len = 0;
    if (ek_j && !json_is_true(json_object_get(req, "external")))
        return ERR(400, "\"ek_public\" is for an external node (\"external\": true)");
    if (ek_j && tld_b64_decode(json_string_value(ek_j), &ek_pub, &ek_len) < 0)
        return ERR(400, "\"ek_public\" must be a base64 TPM2B_PUBLIC");
    struct tld_node *n = calloc(1, sizeof(*n));
    if (!n) {
        free(ek_pub);
        return ERR(500, "out of memory");
    }
    snprintf(n->name, sizeof(n->name), "%s", name);
    n->spec = (struct tld_node_spec){.secure_boot = true,
                                     .vtpm = true,
                                     .vtpm_persist = true,
                                     .image = "",
                                     .vars = "",
                                     .egress_allow = ""};
    int r = parse_bool(req, "external", &n->spec.external, msg, msz);
    if (!r && n->spec.external) {
        n->spec.secure_boot = false; /* not ours to enforce */
        n->spec.generation = 2;
        if (json_object_get(req, "image") || json_object_get(req, "vars") ||
            json_object_get(req, "secure_boot") || json_is_false(json_object_get(req, "vtpm")) ||
            json_is_false(json_object_get(req, "vtpm_persist")) || json_object_get(req, "egress") ||
            json_object_get(req, "egress_allow"))
            r = ERR(400, "an external node takes no image, variable store, Secure Boot or "
                         "egress, and has a persisted vTPM");
    } else if (!r) {
        r = parse_spec(t, req, &n->spec, msg, msz);
    }
    bool start = true;
    if (!r)
        r = parse_bool(req, "start", &start, msg, msz);
    if (!r && ek_pub) { /* before any file exists: a refused EK leaves nothing */
        uint8_t *der = NULL;
        size_t der_len = 0;
        json_t *ek = NULL;
        r = tld_ekca_issue(t, n->name, ek_pub, ek_len, &ek, &der, &der_len, msg, msz);
        if (!r) {
            json_t *eks = json_pack("[o]", ek);
            if (tld_node_set_ek(n, eks) < 0)
                r = ERR(500, "out of memory");
            json_decref(eks);
            char *b64 = malloc(der_len / 3 * 4 + 8);
            if (b64)
                EVP_EncodeBlock((unsigned char *)b64, der, (int)der_len);
            n->ek_issued = b64 ? json_string(b64) : NULL;
            free(b64);
            if (!r && !n->ek_issued)
                r = ERR(500, "out of memory");
        }
        free(der);
    }
    free(ek_pub);
    if (r) {
        tld_node_free(n);
        return r;
    }
    new_uuid(n->uuid);
    n->state = TLD_CREATING;
    n->created = tld_now();

    char dir[PATH_MAX];
    if (tld_node_path(t, n, NULL, dir, sizeof(dir)) < 0) {
        tld_node_free(n);
        return ERR(400, "data directory path too long");
    }
    remove_node_files(t, n); /* leftovers of a create that tld did not finish */
    if (mkdir(dir, 0700) < 0) {
        r = ERR(500, "%s: cannot create: %s", dir, strerror(errno));
        tld_node_free(n);
        return r;
    }
    if (!n->spec.external &&
        ((r = make_overlay(t, n, msg, msz)) || (r = make_vars(t, n, msg, msz))))
        goto fail;
    if (n->spec.vtpm && n->spec.vtpm_persist && !n->ek_issued) {
        char state[PATH_MAX], keyf[PATH_MAX];
        vtpm_paths(t, n, state, keyf, sizeof(state));
        if ((r = provision(t, n, state, keyf, msg, msz)))
            goto fail;
    }
    if (tld_node_add(t, n) < 0) {
        r = ERR(500, "out of memory");
        goto fail;
    }
    if (tld_store_save(t, n) < 0) {
        tld_node_remove(t, n);
        r = ERR(500, "cannot save node %s in the store", n->name);
        goto fail;
    }
    if (start && (r = tld_node_start(t, n, msg, msz))) {
        tld_node_remove(t, n);
        tld_store_delete(t, n->name);
        goto fail;
    }
    if (!start) {
        n->state = TLD_STOPPED;
        snprintf(n->reason, sizeof(n->reason), "created without starting");
        tld_store_save(t, n);
    }
    if (n->ek_issued)
        tld_log("node %s: created (external, its EK certified by the platform EK CA)", n->name);
    else
        tld_log("node %s: created (secure boot %s, vTPM %s%s, image %s)", n->name,
                n->spec.secure_boot ? "on" : "off", n->spec.vtpm ? "on" : "off",
                n->spec.vtpm ? (n->spec.vtpm_persist ? ", persisted" : ", not persisted") : "",
                n->spec.image);
    *out = n;
    return 0;
fail:
    remove_node_files(t, n);
    tld_node_free(n);
    return r;
}

int tld_node_reimage(struct tld *t, struct tld_node *n, const json_t *req, char *msg, size_t msz)
{
    if (n->spec.external)
        return ERR(409, "node %s is external: it has no image here", n->name);
    struct tld_node_spec spec = n->spec;
    bool reset_vtpm = false;
    int r;
    if (req && !json_is_object(req))
        return ERR(400, "the request body must be a JSON object");
    if (req) {
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)req, key, v)
        {
            if (strcmp(key, "secure_boot") && strcmp(key, "vtpm") && strcmp(key, "image") &&
                strcmp(key, "vars") && strcmp(key, "vtpm_persist") && strcmp(key, "reset_vtpm") &&
                strcmp(key, "egress") && strcmp(key, "egress_allow"))
                return ERR(400, "unknown field \"%s\"", key);
        }
        if (json_object_get(req, "image"))
            spec.image = "";
        if (json_object_get(req, "vars") || json_object_get(req, "secure_boot"))
            spec.vars = "";
        if ((r = parse_spec(t, req, &spec, msg, msz)) ||
            (r = parse_bool(req, "reset_vtpm", &reset_vtpm, msg, msz)))
            return r;
    }
    halt(t, n);
    bool vtpm_was = n->spec.vtpm, persist_was = n->spec.vtpm_persist;
    n->spec = spec;
    if ((r = make_overlay(t, n, msg, msz)) || (r = make_vars(t, n, msg, msz)))
        goto fail;
    char state[PATH_MAX], keyf[PATH_MAX];
    tld_node_path(t, n, "vtpm", state, sizeof(state));
    key_path(t, n, keyf, sizeof(keyf));
    bool have = vtpm_was && persist_was;
    if (have && (reset_vtpm || !spec.vtpm || !spec.vtpm_persist)) {
        remove_tree(state);
        unlink(keyf);
        tld_node_set_ek(n, NULL);
        n->tpm_seen = (struct tld_tpm_seen){0}; /* a new TPM: its counters start over */
        have = false;
    }
    if (spec.vtpm && spec.vtpm_persist && !have && (r = provision(t, n, state, keyf, msg, msz)))
        goto fail;
    n->state = TLD_STOPPED;
    tld_log("node %s: reimaged (secure boot %s, vTPM %s%s)", n->name,
            spec.secure_boot ? "on" : "off", spec.vtpm ? "on" : "off",
            reset_vtpm ? ", new vTPM" : "");
    return tld_node_start(t, n, msg, msz);
fail:
    n->state = TLD_FAILED;
    snprintf(n->reason, sizeof(n->reason), "reimage failed: %s", msg);
    tld_store_save(t, n);
    return r;
}

int tld_node_delete(struct tld *t, struct tld_node *n, char *msg, size_t msz)
{
    halt(t, n);
    if (tld_store_delete(t, n->name) < 0)
        return ERR(500, "cannot delete node %s from the store", n->name);
    remove_node_files(t, n);
    tld_node_remove(t, n);
    tld_log("node %s: deleted", n->name);
    tld_node_free(n);
    return 0;
}

/* ---- JSON ---- */

static json_t *proc_json(const struct tld_proc *p)
{
    return p->pid > 0 ? json_integer(p->pid) : json_null();
}

const char *tld_node_ek_origin(const struct tld_node *n)
{
    if (n->ak && strcmp(n->ak->ek_origin, "unknown") != 0)
        return n->ak->ek_origin; /* as enrolment found it */
    json_t *eks = tld_node_ek(n);
    const char *o = json_string_value(json_object_get(json_array_get(eks, 0), "origin"));
    bool vouched = o && strcmp(o, TLD_EK_VOUCHED) == 0;
    json_decref(eks);
    if (vouched)
        return TLD_EK_VOUCHED;
    return n->spec.vtpm ? TLD_EK_PLATFORM : "none"; /* tl vtpm provision's EKs */
}

json_t *tld_node_json(const struct tld *t, const struct tld_node *n)
{
    char dir[PATH_MAX], console[PATH_MAX];
    tld_node_path(t, n, NULL, dir, sizeof(dir));
    tld_node_path(t, n, "console.log", console, sizeof(console));
    json_t *j = json_pack(
        "{s:s, s:s, s:s, s:s, s:b, s:b, s:b, s:i, s:s, s:s?, s:I, s:I, s:I, s:i, s:{s:o, s:o}, "
        "s:s, s:s}",
        "name", n->name, "uuid", n->uuid, "state", tld_state_name(n->state), "reason", n->reason,
        "secure_boot", n->spec.secure_boot, "vtpm", n->spec.vtpm, "vtpm_persist",
        n->spec.vtpm_persist, "generation", n->spec.generation, "image", n->spec.image, "vars",
        n->spec.vars[0] ? n->spec.vars : NULL, "created", (json_int_t)n->created, "started",
        (json_int_t)n->started, "stopped", (json_int_t)n->stopped, "boots", (int)n->boots, "pids",
        "qemu", proc_json(&n->qemu), "swtpm", proc_json(&n->swtpm), "dir", dir, "console", console);
    json_object_set(j, "diagnosis", n->diag ? n->diag : json_null());
    json_t *report = n->report ? json_copy(n->report) : json_null();
    json_object_del(report, "eventlog_base64"); /* large; the store keeps it */
    json_object_set_new(j, "report", report);
    json_object_set(j, "host_vtpm", n->host ? n->host : json_null());
    json_t *ek = tld_node_ek(n);
    json_object_set_new(j, "ek", ek ? ek : json_null());
    json_object_set_new(j, "ak", tld_ak_json(n->ak));
    json_object_set_new(j, "ek_origin", json_string(tld_node_ek_origin(n)));
    json_object_set_new(j, "attestation", tld_attest_summary_json(n));
    json_t *labels = tld_attest_labels(n);
    tld_pool_node_labels(n, labels);
    json_object_set_new(j, "labels", labels);
    json_object_set_new(j, "external", json_boolean(n->spec.external));
    json_object_set_new(j, "egress", json_boolean(n->spec.egress));
    json_object_set_new(j, "egress_allow", tld_egress_allow_json(n->spec.egress_allow));
    if (n->spec.memory_mib)
        json_object_set_new(j, "memory_mib", json_integer(n->spec.memory_mib));
    if (n->pool)
        json_object_set_new(j, "pool",
                            json_pack("{s:s, s:s, s:s}", "resourceGroup", n->pool->cluster->group,
                                      "cluster", n->pool->cluster->name, "name", n->pool->name));
    return j;
}

json_t *tld_node_doc(const struct tld_node *n)
{
    char token_hex[65];
    tl_hex_encode(n->token_sha256, sizeof(n->token_sha256), token_hex);
    json_t *j = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:{s:b, s:b, s:b, s:i, s:s, s:s}, s:I, s:I, s:I, s:i, "
        "s:{s:I, s:I}, s:{s:I, s:I}, s:s}",
        "name", n->name, "uuid", n->uuid, "state", tld_state_name(n->state), "reason", n->reason,
        "token_sha256", token_hex, "spec", "secure_boot", n->spec.secure_boot, "vtpm", n->spec.vtpm,
        "vtpm_persist", n->spec.vtpm_persist, "generation", n->spec.generation, "image",
        n->spec.image, "vars", n->spec.vars, "created", (json_int_t)n->created, "started",
        (json_int_t)n->started, "stopped", (json_int_t)n->stopped, "boots", (int)n->boots, "qemu",
        "pid", (json_int_t)n->qemu.pid, "start", (json_int_t)n->qemu.start, "swtpm", "pid",
        (json_int_t)n->swtpm.pid, "start", (json_int_t)n->swtpm.start, "ctrl", n->ctrl);
    if (!j)
        return NULL;
    if (n->diag)
        json_object_set(j, "diag", n->diag);
    if (n->report)
        json_object_set(j, "report", n->report);
    if (n->host)
        json_object_set(j, "host", n->host);
    json_t *ek = tld_node_ek(n);
    if (ek)
        json_object_set_new(j, "ek", ek);
    if (n->ak)
        json_object_set_new(j, "ak", tld_ak_json(n->ak));
    if (n->attestation.id)
        json_object_set_new(j, "attestation", tld_attest_summary_json(n));
    if (n->tpm_seen.set)
        json_object_set_new(j, "tpm_seen",
                            json_pack("{s:I, s:I, s:I}", "reset_count",
                                      (json_int_t)n->tpm_seen.reset_count, "restart_count",
                                      (json_int_t)n->tpm_seen.restart_count, "clock",
                                      (json_int_t)n->tpm_seen.clock));
    if (n->baseline)
        json_object_set_new(j, "baseline", tld_baseline_json(n->baseline));
    json_object_set_new(json_object_get(j, "spec"), "external", json_boolean(n->spec.external));
    json_object_set_new(json_object_get(j, "spec"), "egress", json_boolean(n->spec.egress));
    json_object_set_new(json_object_get(j, "spec"), "egress_allow",
                        json_string(n->spec.egress_allow));
    if (n->spec.memory_mib)
        json_object_set_new(json_object_get(j, "spec"), "memory_mib",
                            json_integer(n->spec.memory_mib));
    return j;
}

static void copy_str(char *dst, size_t size, const json_t *v)
{
    snprintf(dst, size, "%s", json_is_string(v) ? json_string_value(v) : "");
}

int tld_node_from_doc(const json_t *doc, struct tld_node **out)
{
    struct tld_node *n = calloc(1, sizeof(*n));
    if (!n)
        return -ENOMEM;
    copy_str(n->name, sizeof(n->name), json_object_get(doc, "name"));
    copy_str(n->uuid, sizeof(n->uuid), json_object_get(doc, "uuid"));
    copy_str(n->reason, sizeof(n->reason), json_object_get(doc, "reason"));
    const char *th = json_string_value(json_object_get(doc, "token_sha256"));
    const char *legacy = json_string_value(json_object_get(doc, "token"));
    if (th && strlen(th) == 64)
        tl_hex_decode(th, 64, n->token_sha256, sizeof(n->token_sha256));
    else if (legacy) /* a store of an earlier tld kept the token itself */
        tld_secret_hash(legacy, strlen(legacy), n->token_sha256);
    copy_str(n->ctrl, sizeof(n->ctrl), json_object_get(doc, "ctrl"));
    json_t *spec = json_object_get(doc, "spec");
    n->spec.secure_boot = json_is_true(json_object_get(spec, "secure_boot"));
    n->spec.vtpm = json_is_true(json_object_get(spec, "vtpm"));
    n->spec.vtpm_persist = json_is_true(json_object_get(spec, "vtpm_persist"));
    n->spec.external = json_is_true(json_object_get(spec, "external"));
    n->spec.egress = json_is_true(json_object_get(spec, "egress"));
    n->spec.egress_allow = tld_intern(json_string_value(json_object_get(spec, "egress_allow")));
    n->spec.generation = (int)json_integer_value(json_object_get(spec, "generation"));
    n->spec.memory_mib = (unsigned)json_integer_value(json_object_get(spec, "memory_mib"));
    n->spec.image = tld_intern(json_string_value(json_object_get(spec, "image")));
    n->spec.vars = tld_intern(json_string_value(json_object_get(spec, "vars")));
    n->created = json_integer_value(json_object_get(doc, "created"));
    n->started = json_integer_value(json_object_get(doc, "started"));
    n->stopped = json_integer_value(json_object_get(doc, "stopped"));
    n->boots = (unsigned)json_integer_value(json_object_get(doc, "boots"));
    n->qemu.pid = (pid_t)json_integer_value(json_object_get(json_object_get(doc, "qemu"), "pid"));
    n->qemu.start = (unsigned long long)json_integer_value(
        json_object_get(json_object_get(doc, "qemu"), "start"));
    n->swtpm.pid = (pid_t)json_integer_value(json_object_get(json_object_get(doc, "swtpm"), "pid"));
    n->swtpm.start = (unsigned long long)json_integer_value(
        json_object_get(json_object_get(doc, "swtpm"), "start"));
    n->diag = json_incref(json_object_get(doc, "diag"));
    n->report = json_incref(json_object_get(doc, "report"));
    n->host = json_incref(json_object_get(doc, "host"));
    tld_node_set_ek(n, json_object_get(doc, "ek"));
    n->ak = tld_ak_from_json(json_object_get(doc, "ak"));
    tld_attest_summary_from_json(n, json_object_get(doc, "attestation"));
    json_t *seen = json_object_get(doc, "tpm_seen");
    if (json_is_object(seen))
        n->tpm_seen = (struct tld_tpm_seen){
            .set = true,
            .reset_count = (uint32_t)json_integer_value(json_object_get(seen, "reset_count")),
            .restart_count = (uint32_t)json_integer_value(json_object_get(seen, "restart_count")),
            .clock = (uint64_t)json_integer_value(json_object_get(seen, "clock"))};
    else if (n->attestation.id) /* a store of an earlier tld: this boot's is what it knew */
        n->tpm_seen = (struct tld_tpm_seen){.set = true,
                                            .reset_count = n->attestation.reset_count,
                                            .restart_count = n->attestation.restart_count,
                                            .clock = n->attestation.clock};
    n->baseline = tld_baseline_from_json(json_object_get(doc, "baseline"));
    if (!tld_name_ok(n->name) ||
        tld_state_parse(json_string_value(json_object_get(doc, "state")), &n->state) < 0 ||
        (n->spec.generation != 1 && n->spec.generation != 2) || !n->spec.image || !n->spec.vars) {
        tld_node_free(n);
        return -EBADMSG;
    }
    *out = n;
    return 0;
}
