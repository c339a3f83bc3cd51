/* A node's VM plumbing (vm.h): its files, swtpm and QEMU.
 *
 *   HOME/nodes/NAME/disk.qcow2   copy-on-write overlay of IMAGE/disk.raw
 *   HOME/nodes/NAME/vars.fd      its UEFI variable store (Gen2)
 *   HOME/nodes/NAME/vtpm/        its persisted vTPM state (encrypted)
 *   HOME/nodes/NAME/agent.json   the agent's config (QEMU fw_cfg)
 *   HOME/nodes/NAME/console.log  the serial console of the current boot
 *   HOME/nodes/NAME/{qemu,swtpm}.log
 *   HOME/keys/NAME.vtpm.key      the vTPM state key: the platform's, kept
 *                                apart from the state it protects; a
 *                                guest_state node's is NAME.vtpm.sealed,
 *                                held by the key store (nodekeys.c)
 *   HOME/keys/NAME.disk.sealed   a DiskWithVMGuestState node's overlay
 *                                secret (qcow2 LUKS), held likewise
 *   HOME/run/NAME.vtpm/          a non-persisted vTPM, only while it runs
 *                                (its key only in tld's memory and swtpm's)
 *   HOME/run/NAME.ctrl           swtpm's control socket
 *   HOME/ekca/                   the platform's EK CA (tlh_vtpm_provision)
 *
 * Everything here runs without tld.lock, on a node lifecycle.c claimed. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gueststate.h"
#include "nodekeys.h"
#include "tl/util.h"
#include "tld.h"
#include "tlhost/file.h"
#include "tlhost/proc.h"
#include "tlhost/vtpm.h"
#include "tlhost/watchdog.h"
#include "vm.h"

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
    const char *argv[] = {"rm", "-rf", "--one-file-system", path, NULL};
    struct tlh_run_options o = {.argv = argv, .stderr_inherit = true}; /* into tld.log */
    struct tlh_run_result res = {0};
    struct tl_error err = {0};
    if (tlh_run(&o, &res, &err) < 0)
        tld_log("%s: not removed: %s", path, err.message);
    tlh_run_result_done(&res);
}

/* ---- the image ---- */

/* IMAGE/manifest.json: its generation (2 when it does not say) and, when
 * os is given, the OS its recipe records ("os": {"name", "version"}:
 * "Debian 12"; "" for an image built before it did). */
int tld_image_generation(const struct tld *t, const char *image, int *gen, char *os, size_t os_size,
                         struct tl_error *err)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/disk.raw", image);
    int fd, r;
    if (access(path, F_OK) < 0 && errno == ENOENT)
        return tl_error_set_nopos(err, -EINVAL,
                                  "image %s: no disk.raw (build one with tl image build -o %s)",
                                  image, image);
    if ((r = tld_hostpath_open(t, path, TLD_DISK_MAX, &fd, NULL, err)))
        return r;
    close(fd);
    snprintf(path, sizeof(path), "%s/manifest.json", image);
    if ((r = tld_hostpath_open(t, path, TLD_MANIFEST_MAX, &fd, NULL, err)))
        return r;
    json_error_t jerr;
    json_t *m = json_loadfd(fd, 0, &jerr);
    close(fd);
    if (!m)
        return tl_error_set_nopos(err, -EINVAL, "image %s: manifest.json: %s", image, jerr.text);
    json_t *g = json_object_get(m, "generation");
    *gen = json_is_integer(g) ? (int)json_integer_value(g) : 2;
    if (os) {
        const json_t *o = json_object_get(m, "os");
        const char *name = json_string_value(json_object_get(o, "name"));
        const char *version = json_string_value(json_object_get(o, "version"));
        snprintf(os, os_size, "%s%s%s", name ? name : "", name && version ? " " : "",
                 name && version ? version : "");
    }
    json_decref(m);
    if (*gen != 1 && *gen != 2)
        return tl_error_set_nopos(err, -EINVAL, "image %s: generation %d (1 or 2)", image, *gen);
    return 0;
}

/* ---- the firmware variable store ---- */

int tld_vm_make_vars(struct tld *t, struct tld_node *n, struct tl_error *err)
{
    if (n->spec.generation == 1)
        return 0;
    char from[PATH_MAX + 32], to[PATH_MAX];
    if (tld_gueststate_path(t, n, "vars.fd", to, sizeof(to)) < 0)
        return tl_error_set_nopos(err, -EIO, "node path too long");
    int r;
    if (n->spec.vars[0]) { /* a store's file: checked again as it is opened */
        int in;
        if ((r = tld_hostpath_open(t, n->spec.vars, TLD_VARS_MAX, &in, NULL, err)))
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
        return tl_error_set_nopos(err, r == -ENOENT ? -EINVAL : -EIO,
                                  "%s: cannot copy the variable store: %s", from, strerror(-r));
    return 0;
}

/* A DiskWithVMGuestState node's overlay is qcow2 with QEMU's own LUKS
 * encryption (its guest-state file is the other half of Azure's
 * "DiskWithVMGuestState"). The LUKS secret is the hex of a 32-byte key the
 * key store holds (nodekeys.c; QEMU takes a LUKS secret as UTF-8 text):
 * qemu-img and QEMU read it from a pipe they inherit (an -object secret
 * with file=/dev/fd/N), so it is on no command line (/proc/PID/cmdline)
 * and in no file. A reimage or resize makes a new overlay under a new key.
 * The secret's 256 random bits need no slow key derivation: LUKS's
 * PBKDF2 runs 10 ms, not its 2 s default. Secret pipe read end in *fd,
 * the -object's value in obj. */
static int disk_secret(const uint8_t key[TLD_NODEKEY_LEN], int *fd, char *obj, size_t size,
                       struct tl_error *err)
{
    char hex[2 * TLD_NODEKEY_LEN + 1];
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return tl_error_set_nopos(err, -errno, "the disk secret's pipe: %s", strerror(errno));
    tl_hex_encode(key, TLD_NODEKEY_LEN, hex);
    bool ok = write(p[1], hex, 2 * TLD_NODEKEY_LEN) == 2 * TLD_NODEKEY_LEN;
    OPENSSL_cleanse(hex, sizeof(hex));
    close(p[1]);
    if (!ok) {
        close(p[0]);
        return tl_error_set_nopos(err, -EIO, "the disk secret's pipe: a short write");
    }
    *fd = p[0];
    snprintf(obj, size, "secret,id=sec0,format=raw,file=/dev/fd/%d", p[0]);
    return 0;
}

/* For an encrypted overlay: ",encrypt.key-secret=sec0" added to the
 * -drive value drive, its secret's -object in obj and *fd (-1 and
 * nothing done for a plain overlay). */
static int os_disk_secret(struct tld *t, struct tld_node *n, char *drive, size_t dsize, char *obj,
                          size_t osize, int *fd, struct tl_error *err)
{
    *fd = -1;
    if (!tld_nodekey_held(n, TLD_NODEKEY_DISK))
        return 0;
    uint8_t key[TLD_NODEKEY_LEN];
    int r = tld_nodekey_get(t, n, TLD_NODEKEY_DISK, key, err);
    if (r)
        return r == -ENOENT ? -EIO : r;
    r = disk_secret(key, fd, obj, osize, err);
    OPENSSL_cleanse(key, sizeof(key));
    size_t len = strlen(drive);
    if (!r && snprintf(drive + len, dsize - len, ",encrypt.key-secret=sec0") >= (int)(dsize - len))
        r = tl_error_set_nopos(err, -ENAMETOOLONG, "the OS disk's -drive: too long");
    if (r && *fd >= 0) {
        close(*fd);
        *fd = -1;
    }
    return r;
}

int tld_vm_make_overlay(struct tld *t, struct tld_node *n, struct tl_error *err)
{
    char disk[PATH_MAX], base[PATH_MAX + 16], log[PATH_MAX], obj[64];
    snprintf(base, sizeof(base), "%s/disk.raw", n->spec.image);
    tld_node_path(t, n, "disk.qcow2", disk, sizeof(disk));
    tld_node_path(t, n, "qemu.log", log, sizeof(log));
    unlink(disk);
    const char *plain[] = {"qemu-img", "create", "-q",  "-f", "qcow2", "-b",
                           base,       "-F",     "raw", disk, NULL};
    const char *luks[] = {
        "qemu-img", "create", "-q",
        "--object", obj,      "-f",
        "qcow2",    "-o",     "encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10",
        "-b",       base,     "-F",
        "raw",      disk,     NULL};
    int fd = -1, r;
    if (tld_nodekey_held(n, TLD_NODEKEY_DISK)) {
        uint8_t key[TLD_NODEKEY_LEN];
        if ((r = tld_nodekey_new(t, n, TLD_NODEKEY_DISK, key, err)))
            return r;
        r = disk_secret(key, &fd, obj, sizeof(obj), err);
        OPENSSL_cleanse(key, sizeof(key));
        if (r)
            return r;
    }
    struct tlh_run_options o = {.argv = fd >= 0 ? luks : plain,
                                .stdout_to_stderr = true,
                                .stderr_log = log,
                                .keep_fd = fd >= 0 ? fd : 0};
    struct tlh_run_result res = {0};
    struct tl_error run_err = {0};
    r = tlh_run(&o, &res, &run_err);
    tlh_run_result_done(&res);
    if (fd >= 0)
        close(fd);
    if (r < 0)
        return tl_error_set_nopos(err, -EIO, "qemu-img create failed (%s; see %s)", run_err.message,
                                  log);
    return 0;
}

/* ---- the vTPM ---- */

/* A new vTPM in state (its key: key_bytes, else the key file key), its EKs
 * certified by the platform EK CA (HOME/ekca): the host library's
 * tlh_vtpm_provision, as `tl vtpm provision` runs it; n->ek set from what
 * it made. */
static int provision(struct tld *t, struct tld_node *n, const char *state, const char *key,
                     const uint8_t *key_bytes, struct tl_error *err)
{
    char ca[PATH_MAX + 8];
    snprintf(ca, sizeof(ca), "%s/ekca", t->home);
    /* a deadline (watchdog.h): a swtpm that never answers must not hold
     * this node, and the EK CA's lock below, forever */
    struct tlh_swtpm_interrupt intr = {0};
    struct tlh_vtpm_provision_options o = {.state = state,
                                           .key_file = key,
                                           .key = key_bytes,
                                           .ca = ca,
                                           .name = n->name,
                                           .intr = &intr};
    struct tlh_vtpm_provision_result res;
    struct tl_error perr = {0};
    struct tlh_watchdog dog;
    int wr = tlh_watchdog_start(&dog, &intr, TLD_PROVISION_TIMEOUT_MS);
    if (wr < 0)
        return tl_error_set_nopos(err, wr, "vTPM provisioning: no watchdog thread: %s",
                                  strerror(-wr));
    /* the first provision makes the platform EK CA (HOME/ekca): one at a
     * time until one has worked, or two creates would race to make it;
     * then in parallel (a slow one does not hold the others up) */
    bool first = !t->ekca_made;
    if (first)
        pthread_mutex_lock(&t->ekca_lock);
    int rr = tlh_vtpm_provision(&o, &res, &perr);
    if (tlh_watchdog_stop(&dog) && rr < 0)
        tld_log("node %s: vTPM provisioning still unanswered after %d s: swtpm killed", n->name,
                TLD_PROVISION_TIMEOUT_MS / 1000);
    if (first) {
        if (rr == 0)
            t->ekca_made = true;
        pthread_mutex_unlock(&t->ekca_lock);
    }
    if (rr < 0)
        return tl_error_set_nopos(err, -EIO, "vTPM provisioning failed (%s)", perr.message);
    json_t *eks = json_array();
    for (int i = 0; eks && i < TL_EK_N_TYPES; i++)
        if (json_array_append_new(eks, tlh_vtpm_ek_json(&res.eks[i])) < 0) {
            json_decref(eks);
            eks = NULL;
        }
    tlh_vtpm_eks_done(res.eks);
    int e = eks ? tld_node_set_ek(n, eks) : -ENOMEM;
    json_decref(eks);
    if (e < 0)
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    return 0;
}

static void vtpm_paths(struct tld *t, struct tld_node *n, char *state, char *key, size_t size)
{
    if (n->spec.vtpm_persist) {
        tld_gueststate_path(t, n, "vtpm", state, size);
        tld_node_key_path(t, n, key, size);
    } else {
        tld_node_run_path(t, n, ".vtpm", state, size);
        tld_node_run_path(t, n, ".vtpm.key", key, size);
    }
}

static void forget_ephemeral(struct tld *t, struct tld_node *n)
{
    char state[PATH_MAX], key[PATH_MAX];
    tld_node_run_path(t, n, ".vtpm", state, sizeof(state));
    tld_node_run_path(t, n, ".vtpm.key", key, sizeof(key));
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

/* Until the process p has made its socket at path (true), or has ended or
 * ms have passed (false). */
static bool wait_socket(const char *path, const struct tlh_proc *p, int ms)
{
    for (int i = 0; i < ms / 20; i++) {
        struct stat st;
        if (stat(path, &st) == 0 && S_ISSOCK(st.st_mode))
            return true;
        if (!tlh_proc_alive(p, NULL, NULL))
            return false;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return false;
}

/* The vTPM's state key into k: a non-persisted vTPM's drawn now and
 * provisioned with (it is in no file, only in tld's memory and swtpm's), a
 * guest_state node's from the key store, else the node's key file. */
static int vtpm_key(struct tld *t, struct tld_node *n, const char *state, const char *key,
                    uint8_t k[32], struct tl_error *err)
{
    if (!n->spec.vtpm_persist) {
        forget_ephemeral(t, n);
        n->tpm_seen = (struct tld_tpm_seen){0}; /* a new TPM: its counters start over */
        if (getrandom(k, 32, 0) != 32)
            return tl_error_set_nopos(err, -EIO, "getrandom: %s", strerror(errno));
        int r = provision(t, n, state, NULL, k, err);
        if (r)
            OPENSSL_cleanse(k, 32);
        return r;
    }
    if (tld_nodekey_held(n, TLD_NODEKEY_VTPM))
        return tld_nodekey_get(t, n, TLD_NODEKEY_VTPM, k, err);
    if (read_key(key, k) < 0)
        return tl_error_set_nopos(err, -EIO, "%s: cannot read the vTPM key", key);
    return 0;
}

static int start_swtpm(struct tld *t, struct tld_node *n, struct tl_error *err)
{
    char state[PATH_MAX], key[PATH_MAX], log[PATH_MAX];
    vtpm_paths(t, n, state, key, sizeof(state));
    uint8_t k[32];
    int kr = vtpm_key(t, n, state, key, k, err);
    if (kr)
        return kr;
    tld_node_run_path(t, n, ".ctrl", n->ctrl, sizeof(n->ctrl));
    if (strlen(n->ctrl) + 1 >= sizeof(n->ctrl) - 1) {
        OPENSSL_cleanse(k, sizeof(k));
        return tl_error_set_nopos(err, -EINVAL, "%s: data directory path too long for a socket",
                                  t->home);
    }
    unlink(n->ctrl);
    int kp[2];
    if (pipe2(kp, O_CLOEXEC) < 0 || write(kp[1], k, sizeof(k)) != (ssize_t)sizeof(k)) {
        memset(k, 0, sizeof(k));
        return tl_error_set_nopos(err, -EIO, "key pipe: %s", strerror(errno));
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
    int r = tlh_proc_start(argv, log, kp[0], &n->swtpm, NULL);
    close(kp[0]);
    if (r < 0)
        return tl_error_set_nopos(err, -EIO, "cannot run swtpm: %s", strerror(-r));
    if (wait_socket(n->ctrl, &n->swtpm, 5000))
        return 0;
    tlh_proc_kill(&n->swtpm, SIGKILL, 1000);
    return tl_error_set_nopos(err, -EIO, "swtpm did not start (see %s)", log);
}

/* ---- the paravisor (confidential nodes) ---- */

/* A confidential node's vTPM is reached through its paravisor relay
 * (`tld --paravisor`, paravisor.c), which serves Azure's HCL report from
 * the emulated secure processor (HOME/tee-emul): its settings in
 * NODE_DIR/paravisor.json, its socket RUN/NAME.pv (QEMU's chardev), its
 * output in NODE_DIR/paravisor.log. Up once its socket is there: it
 * provisions the vTPM first (and, the first time on this host, makes the
 * emulator's keys: RSA-4096 ARK and ASK, seconds). */
static int start_paravisor(struct tld *t, struct tld_node *n, struct tl_error *err)
{
    char dir[PATH_MAX], sock[108], log[PATH_MAX], emul[PATH_MAX], fw[PATH_MAX];
    tld_node_path(t, n, NULL, dir, sizeof(dir));
    tld_node_path(t, n, "paravisor.log", log, sizeof(log));
    tld_node_run_path(t, n, ".pv", sock, sizeof(sock));
    snprintf(emul, sizeof(emul), "%s/tee-emul", t->home);
    snprintf(fw, sizeof(fw), "%s/OVMF_CODE_4M.secboot.fd", t->ovmf_dir);
    json_t *cfg =
        json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:s}", "tee", n->spec.tee, "emulator", emul,
                  "chip", n->name, "firmware", fw, "secure_boot", n->spec.secure_boot,
                  "tpm_persisted", n->spec.vtpm_persist, "vm_unique_id", n->uuid);
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/paravisor.json", dir);
    char *text = cfg ? json_dumps(cfg, JSON_COMPACT) : NULL;
    json_decref(cfg);
    if (!text)
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    unlink(path);
    int r = tlh_file_write_new(path, text, strlen(text), 0600, err);
    free(text);
    if (r < 0)
        return r;
    unlink(sock);
    char *argv[] = {t->tld_bin, "--paravisor", sock, n->ctrl, dir, NULL};
    r = tlh_proc_start(argv, log, -1, &n->paravisor, NULL);
    if (r < 0)
        return tl_error_set_nopos(err, -EIO, "cannot run tld --paravisor: %s", strerror(-r));
    if (wait_socket(sock, &n->paravisor, 60000)) /* the first launch makes RSA-4096 keys */
        return 0;
    tlh_proc_kill(&n->paravisor, SIGKILL, 1000);
    return tl_error_set_nopos(err, -EIO, "the paravisor did not start (see %s)", log);
}

static bool confidential(const struct tld_node *n)
{
    return strcmp(n->spec.tee, "none") != 0;
}

/* ---- QEMU ---- */

/* The agent's config (docs/image.md): QEMU hands it over as fw_cfg; an
 * external node's agent reads the file. Each write is a new agent token:
 * tld keeps only its SHA-256, so the token of an earlier boot is void.
 * A VM's agent reaches tld only at 10.0.2.100:80, the forward to its own
 * agent channel (agentnet.c); an external node's agent uses the admin
 * listener with its token. */
static int write_agent_config(struct tld *t, struct tld_node *n, uint8_t token_sha256[32],
                              struct tl_error *err)
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
        return tl_error_set_nopos(err, -EIO, "getrandom failed");
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
        tld_secret_hash(token, strlen(token), token_sha256);
    OPENSSL_cleanse(token, sizeof(token));
    return ok ? 0 : tl_error_set_nopos(err, -EIO, "%s: cannot write", agent);
}

static int start_qemu(struct tld *t, struct tld_node *n, uint8_t token_sha256[32],
                      struct tl_error *err)
{
    char disk[PATH_MAX], vars[PATH_MAX], console[PATH_MAX], log[PATH_MAX], agent[PATH_MAX];
    tld_node_path(t, n, "disk.qcow2", disk, sizeof(disk));
    tld_gueststate_path(t, n, "vars.fd", vars, sizeof(vars));
    tld_node_path(t, n, "console.log", console, sizeof(console));
    tld_node_path(t, n, "qemu.log", log, sizeof(log));
    tld_node_path(t, n, "agent.json", agent, sizeof(agent));
    int r0 = write_agent_config(t, n, token_sha256, err);
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
    char pv_sock[108];
    tld_node_run_path(t, n, ".pv", pv_sock, sizeof(pv_sock));
    snprintf(a_tpm, sizeof(a_tpm), "socket,id=chrtpm,path=%s", confidential(n) ? pv_sock : n->ctrl);
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
    char dd_drive[PATH_MAX + 96], dd_dev[96], dd_cfg[160];
    int ddr = tld_datadisk_qemu_args(t, n, dd_drive, sizeof(dd_drive), dd_dev, sizeof(dd_dev),
                                     dd_cfg, sizeof(dd_cfg));
    if (ddr < 0)
        return tl_error_set_nopos(err, ddr, "node %s: its data disk: %s", n->name,
                                  ddr == -EINVAL ? "a comma in its path (QEMU's option syntax)"
                                                 : "path too long");
    if (dd_drive[0]) {
        argv[k++] = "-drive";
        argv[k++] = dd_drive;
        argv[k++] = "-device";
        argv[k++] = dd_dev;
        argv[k++] = "-fw_cfg";
        argv[k++] = dd_cfg;
    }
    /* restrict=on: the guest reaches nothing but the forward to its own
     * agent channel (agentnet.c), and with egress the one to its own
     * CONNECT proxy (egress.c); DHCP still answers */
    char a_net[2 * PATH_MAX + 512], chan[108], egress[108];
    if (tld_agentnet_path(t, n->name, chan, sizeof(chan)) < 0 ||
        tld_agentnet_egress_path(t, n->name, egress, sizeof(egress)) < 0)
        return tl_error_set_nopos(err, -EINVAL, "%s: data directory path too long for a socket",
                                  t->home);
    int an = snprintf(a_net, sizeof(a_net),
                      "user,id=n0,ipv6=off,restrict=on,guestfwd=tcp:" TLD_AGENT_ADDR
                      "-cmd:%s --relay %s",
                      t->tld_bin, chan);
    if (n->spec.egress)
        snprintf(a_net + an, sizeof(a_net) - (size_t)an,
                 ",guestfwd=tcp:" TLD_EGRESS_ADDR "-cmd:%s --relay %s", t->tld_bin, egress);
    if (strchr(t->tld_bin, ',') || strchr(t->tld_bin, ' ') || strchr(chan, ',') ||
        strchr(chan, ' '))
        return tl_error_set_nopos(err, -EINVAL,
                                  "%s or %s: a comma or space in the path (QEMU's option syntax)",
                                  t->tld_bin, chan);
    int rc = tld_agentnet_open(t, n);
    if (rc < 0)
        return tl_error_set_nopos(err, -EIO, "%s: cannot listen: %s", chan, strerror(-rc));
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
            return tl_error_set_nopos(
                err, -EINVAL, "TL_GUEST_PROBE %s: a comma in the path (QEMU's option syntax)",
                probe);
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
    int secret_fd;
    char a_secret[64];
    int rs =
        os_disk_secret(t, n, a_disk, sizeof(a_disk), a_secret, sizeof(a_secret), &secret_fd, err);
    if (rs) {
        tld_agentnet_close(t, n->name);
        return rs;
    }
    if (secret_fd >= 0) { /* QEMU makes its secrets before its drives: anywhere in argv */
        argv[k++] = "-object";
        argv[k++] = a_secret;
    }
    argv[k] = NULL;
    int r = tlh_proc_start(argv, log, secret_fd, &n->qemu, NULL);
    if (secret_fd >= 0)
        close(secret_fd);
    if (r < 0) {
        tld_agentnet_close(t, n->name);
        return tl_error_set_nopos(err, -EIO, "cannot run qemu-system-x86_64: %s", strerror(-r));
    }
    return 0;
}

/* Reads the vTPM (QEMU gone), then shuts swtpm down; forgets a
 * non-persisted state. */
void tld_vm_stop_vtpm(struct tld *t, struct tld_node *n)
{
    if (n->paravisor.pid > 0) { /* QEMU gone: its relay ends, freeing swtpm's control socket */
        tlh_proc_kill(&n->paravisor, SIGTERM, 3000);
        n->paravisor = (struct tlh_proc){0};
        char sock[108];
        tld_node_run_path(t, n, ".pv", sock, sizeof(sock));
        unlink(sock);
    }
    if (n->swtpm.pid > 0 && tlh_proc_alive(&n->swtpm, NULL, NULL) && n->ctrl[0]) {
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
        tlh_proc_kill(&n->swtpm, SIGTERM, 3000);
    } else if (n->swtpm.pid > 0) {
        tlh_proc_kill(&n->swtpm, SIGKILL, 1000);
    }
    n->swtpm = (struct tlh_proc){0};
    if (n->ctrl[0])
        unlink(n->ctrl);
    n->ctrl[0] = 0;
    /* a non-persisted vTPM's state goes; also when a reimage has just
     * made the node's vTPM persisted (its spec is already the new one) */
    forget_ephemeral(t, n);
    tld_gueststate_close(t, n); /* QEMU and swtpm gone: their files sealed */
}

void tld_vm_halt(struct tld *t, struct tld_node *n)
{
    tlh_proc_kill(&n->qemu, SIGKILL, 3000);
    if (!n->spec.external)
        tld_agentnet_close(t, n->name);
    tld_vm_stop_vtpm(t, n);
}

void tld_vm_remove_files(struct tld *t, struct tld_node *n)
{
    char p[PATH_MAX];
    tld_node_path(t, n, NULL, p, sizeof(p));
    remove_tree(p);
    tld_node_key_path(t, n, p, sizeof(p));
    unlink(p);
    forget_ephemeral(t, n);
    tld_gueststate_remove(t, n);
    tld_nodekeys_destroy(t, n); /* its KEK: what was sealed under it is unreadable */
}

int tld_vm_make_dir(struct tld *t, struct tld_node *n, struct tl_error *err)
{
    char dir[PATH_MAX];
    if (tld_node_path(t, n, NULL, dir, sizeof(dir)) < 0)
        return tl_error_set_nopos(err, -EINVAL, "data directory path too long");
    tld_vm_remove_files(t, n); /* leftovers of a create that tld did not finish */
    if (mkdir(dir, 0700) < 0)
        return tl_error_set_nopos(err, -EIO, "%s: cannot create: %s", dir, strerror(errno));
    return 0;
}

int tld_vm_provision_persisted(struct tld *t, struct tld_node *n, struct tl_error *err)
{
    char state[PATH_MAX], keyf[PATH_MAX];
    tld_gueststate_path(t, n, "vtpm", state, sizeof(state));
    tld_node_key_path(t, n, keyf, sizeof(keyf));
    if (!tld_nodekey_held(n, TLD_NODEKEY_VTPM))
        return provision(t, n, state, keyf, NULL, err);
    uint8_t k[TLD_NODEKEY_LEN];
    int r = tld_nodekey_new(t, n, TLD_NODEKEY_VTPM, k, err);
    if (r)
        return r;
    unlink(keyf); /* an earlier tld's, of a vTPM this one replaces */
    r = provision(t, n, state, NULL, k, err);
    OPENSSL_cleanse(k, sizeof(k));
    return r;
}

void tld_vm_forget_vtpm(struct tld *t, struct tld_node *n)
{
    char state[PATH_MAX], keyf[PATH_MAX];
    tld_gueststate_path(t, n, "vtpm", state, sizeof(state));
    tld_node_key_path(t, n, keyf, sizeof(keyf));
    remove_tree(state);
    unlink(keyf);
    tld_nodekey_forget(t, n, TLD_NODEKEY_VTPM);
    tld_node_set_ek(n, NULL);
}

int tld_vm_boot(struct tld *t, struct tld_node *n, uint8_t token_sha256[32], struct tl_error *err)
{
    if (n->spec.external)
        return write_agent_config(t, n, token_sha256, err);
    int r;
    if (n->spec.vtpm && (r = start_swtpm(t, n, err)) != 0)
        return r;
    if (n->spec.vtpm && confidential(n) && (r = start_paravisor(t, n, err)) != 0) {
        tld_vm_stop_vtpm(t, n);
        return r;
    }
    if ((r = start_qemu(t, n, token_sha256, err)) != 0) {
        tld_vm_stop_vtpm(t, n);
        return r;
    }
    return 0;
}
