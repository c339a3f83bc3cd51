/* A node's lifecycle: create, start, stop, reimage, delete, and the ends
 * the supervision loop sees (QEMU gone, a boot that failed, a vTPM lost).
 *
 * Each operation is called with tld.lock held and returns with it held,
 * but its slow half (files copied, qemu-img, vTPM provisioning, swtpm and
 * QEMU started or stopped, the console read) runs WITHOUT the lock
 * (vm.c), so a slow disk or a stuck helper never stalls the API, the
 * supervision loop or another node's attestation. While the lock is out
 * the node is claimed (n->busy names the operation): every other path
 * leaves a busy node alone (the API answers 409, the supervision loop and
 * the reconciler skip it, its JSON leaves out what the operation is
 * changing), and it cannot be deleted, so the pointer stays valid. Only
 * the claiming thread writes the node's process and vTPM fields while it
 * is busy (vm.h); its spec and state change only under the lock.
 *
 * A create first reserves the name with a node in state "creating" (a
 * second create of the name is a 409 at once), then makes its files
 * without the lock; a failure removes the files, then the node.
 *
 * Invariants: a create either leaves a node record and all its files, or
 * nothing (rollback); a node with state booting or running has a QEMU
 * (and, with a vTPM, a swtpm) recorded by pid + start time; every path out
 * of running (stop, crash, delete) ends with neither process left. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gueststate.h"
#include "tl/base64.h"
#include "tld.h"
#include "vm.h"

/* The node is taken for op: -EBUSY when another operation holds it. */
static int claim(struct tld_node *n, const char *op, struct tl_error *err)
{
    if (n->busy)
        return tl_error_set_nopos(err, -EBUSY, "node %s is busy (%s); try again when it is done",
                                  n->name, n->busy);
    n->busy = op;
    return 0;
}

/* tld.lock out and back, around a claimed node's I/O */
static void io_begin(struct tld *t)
{
    tld_unlock(t);
}

static void io_end(struct tld *t)
{
    tld_lock_at(t, "a node operation, after its I/O (lifecycle.c)");
}

/* The end of an operation that left a claimed node halted: when, its
 * state and why, saved; the claim let go. */
static void settle_halted(struct tld *t, struct tld_node *n, enum tld_state state, const char *why)
{
    n->stopped = tld_now();
    n->state = state;
    snprintf(n->reason, sizeof(n->reason), "%s", why);
    tld_store_save(t, n);
    n->busy = NULL;
}

/* A claimed node boots: the processes without the lock, the state with it. */
static int boot(struct tld *t, struct tld_node *n, struct tl_error *err)
{
    uint8_t token_sha256[32];
    io_begin(t);
    int r = tld_gueststate_open(t, n, err);
    bool refused = r != 0;
    if (!r && (r = tld_vm_boot(t, n, token_sha256, err)))
        tld_gueststate_close(t, n); /* sealed already, unless swtpm never started */
    io_end(t);
    if (refused) { /* its guest state is not to be trusted: said on the node */
        n->state = TLD_FAILED;
        n->stopped = tld_now();
        snprintf(n->reason, sizeof(n->reason), "%s", err->message);
        tld_store_save(t, n);
    }
    if (r)
        return r;
    memcpy(n->token_sha256, token_sha256, sizeof(token_sha256));
    json_decref(n->report);
    n->report = NULL;
    tld_attest_reset(n);    /* a new boot: nothing is proven yet */
    n->state = TLD_BOOTING; /* an external node: until its agent reports in */
    n->reason[0] = 0;
    n->started = tld_now();
    n->boots++;
    if (!n->spec.external) {
        json_decref(n->diag);
        n->diag = json_pack("{s:s, s:s}", "verdict", "booting", "phase", "firmware");
        n->stopped = 0;
        tld_log("node %s: started (qemu %ld, swtpm %ld)", n->name, (long)n->qemu.pid,
                (long)n->swtpm.pid);
    }
    tld_store_save(t, n);
    return 0;
}

int tld_node_start(struct tld *t, struct tld_node *n, struct tl_error *err)
{
    if (n->state == TLD_BOOTING || n->state == TLD_RUNNING)
        return tl_error_set_nopos(err, -EBUSY, "node %s is already %s", n->name,
                                  tld_state_name(n->state));
    int r = claim(n, "starting", err);
    if (r)
        return r;
    r = boot(t, n, err);
    n->busy = NULL;
    return r;
}

int tld_node_stop(struct tld *t, struct tld_node *n, struct tl_error *err)
{
    if (n->state == TLD_STOPPED)
        return tl_error_set_nopos(err, -EBUSY, "node %s is already stopped", n->name);
    /* failed or crashed: make sure nothing is left, then it is stopped */
    int r = claim(n, "stopping", err);
    if (r)
        return r;
    /* A power-off: the node runs from its initramfs and keeps nothing on
     * its disk, and killing QEMU (rather than SIGTERM, on which QEMU shuts
     * swtpm down) leaves the vTPM up for the host to read. */
    io_begin(t);
    tld_vm_halt(t, n);
    io_end(t);
    settle_halted(t, n, TLD_STOPPED, "stopped by request");
    tld_log("node %s: stopped", n->name);
    return 0;
}

void tld_node_ended(struct tld *t, struct tld_node *n, int wstatus, bool status_known)
{
    n->busy = "ending";
    n->qemu = (struct tlh_proc){0};
    io_begin(t);
    tld_agentnet_close(t, n->name);
    tld_diagnose(t, n);
    tld_vm_stop_vtpm(t, n);
    io_end(t);
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
    n->busy = NULL;
    tld_log("node %s: %s (%s)", n->name, tld_state_name(n->state), n->reason);
}

void tld_node_fail_boot(struct tld *t, struct tld_node *n, const char *why)
{
    n->busy = "failing";
    io_begin(t);
    tlh_proc_kill(&n->qemu, SIGKILL, 3000);
    /* the end of QEMU is ours: it is not a crash */
    n->qemu = (struct tlh_proc){0};
    tld_diagnose(t, n);
    tld_vm_halt(t, n); /* swtpm: read, shut down */
    io_end(t);
    if (strncmp(why, "timeout", 7) == 0) /* the console's diagnosis does not know it */
        json_object_set_new(n->diag, "verdict", json_string("timeout"));
    settle_halted(t, n, TLD_FAILED, why);
    tld_log("node %s: failed to boot: %s", n->name, why);
}

void tld_node_lost_vtpm(struct tld *t, struct tld_node *n)
{
    n->busy = "failing";
    /* swtpm, or a confidential node's paravisor relay in front of it */
    bool swtpm_gone = !tlh_proc_alive(&n->swtpm, NULL, NULL);
    if (swtpm_gone)
        n->swtpm = (struct tlh_proc){0};
    const char *what = swtpm_gone ? "swtpm" : "the paravisor (the vTPM's relay)";
    io_begin(t);
    tlh_proc_kill(&n->qemu, SIGKILL, 3000);
    tld_diagnose(t, n);
    tld_vm_halt(t, n); /* the agent channel; a non-persisted vTPM's files */
    io_end(t);
    char why[96];
    snprintf(why, sizeof(why), "%s ended while the node ran", what);
    settle_halted(t, n, TLD_CRASHED, why);
    tld_log("node %s: crashed (%s ended)", n->name, what);
}

void tld_node_reseal(struct tld *t, struct tld_node *n)
{
    if (!n->spec.guest_state || n->busy)
        return;
    n->busy = "sealing";
    io_begin(t);
    tld_gueststate_close(t, n); /* nothing when it is not open */
    io_end(t);
    n->busy = NULL;
}

struct tld_node *tld_node_diagnose_boot(struct tld *t, struct tld_node *n)
{
    /* what the read needs, copied: the node may be deleted meanwhile */
    struct tld_node *view = calloc(1, sizeof(*view));
    json_t *old = json_deep_copy(n->diag);
    if (!view) {
        json_decref(old);
        return n;
    }
    memcpy(view->name, n->name, sizeof(view->name));
    memcpy(view->uuid, n->uuid, sizeof(view->uuid));
    view->spec = n->spec;
    unsigned boots = n->boots;
    io_begin(t);
    json_t *diag = tld_diagnosis(t, view, old);
    io_end(t);
    json_decref(old);
    n = tld_node_find(t, view->name);
    if (n && (strcmp(n->uuid, view->uuid) != 0 || n->boots != boots || n->busy ||
              n->state != TLD_BOOTING))
        n = NULL; /* another node of that name, another boot, or taken */
    if (n && diag) {
        json_decref(n->diag);
        n->diag = diag;
    } else {
        json_decref(diag);
    }
    free(view);
    return n;
}

static int parse_bool(const json_t *req, const char *key, bool *out, struct tl_error *err)
{
    json_t *v = json_object_get(req, key);
    if (!v)
        return 0;
    if (!json_is_boolean(v))
        return tl_error_set_nopos(err, -EINVAL, "\"%s\" must be true or false", key);
    *out = json_is_true(v);
    return 0;
}

static int parse_spec(struct tld *t, const json_t *req, struct tld_node_spec *spec,
                      struct tl_error *err)
{
    int r;
    if ((r = parse_bool(req, "secure_boot", &spec->secure_boot, err)) ||
        (r = parse_bool(req, "vtpm", &spec->vtpm, err)) ||
        (r = parse_bool(req, "vtpm_persist", &spec->vtpm_persist, err)) ||
        (r = parse_bool(req, "egress", &spec->egress, err)) ||
        (r = parse_bool(req, "guest_state", &spec->guest_state, err)))
        return r;
    if (json_object_get(req, "egress_allow") &&
        (r = tld_egress_allow_parse(t, json_object_get(req, "egress_allow"), "egress_allow",
                                    &spec->egress_allow, err)))
        return r;
    json_t *mem = json_object_get(req, "memory_mib");
    if (mem) {
        if (!json_is_integer(mem) || json_integer_value(mem) < 256 ||
            json_integer_value(mem) > 65536)
            return tl_error_set_nopos(err, -EINVAL,
                                      "\"memory_mib\" must be an integer from 256 to 65536");
        spec->memory_mib = (unsigned)json_integer_value(mem);
    }
    json_t *img = json_object_get(req, "image");
    if (img) {
        if (!json_is_string(img) || !json_string_length(img))
            return tl_error_set_nopos(err, -EINVAL, "\"image\" must be a directory path");
        char real[PATH_MAX];
        if ((r = tld_hostpath_resolve(t, "image", json_string_value(img), real, sizeof(real), err)))
            return r;
        if (!(spec->image = tld_intern(t, real)))
            return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    }
    if (!spec->image[0]) {
        char def[PATH_MAX + 32];
        snprintf(def, sizeof(def), "%s/images/default", t->home);
        if (access(def, F_OK) < 0)
            return tl_error_set_nopos(
                err, -EINVAL, "no image given and no default image at %s (tl image build -o %s)",
                def, def);
        char real[PATH_MAX];
        if ((r = tld_hostpath_resolve(t, "image", def, real, sizeof(real), err)))
            return r;
        if (!(spec->image = tld_intern(t, real)))
            return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    }
    json_t *vars = json_object_get(req, "vars");
    if (vars) {
        if (!json_is_string(vars))
            return tl_error_set_nopos(err, -EINVAL, "\"vars\" must be a file path");
        char real[PATH_MAX];
        int fd;
        if ((r = tld_hostpath_resolve(t, "variable store", json_string_value(vars), real,
                                      sizeof(real), err)) ||
            (r = tld_hostpath_open(t, real, TLD_VARS_MAX, &fd, NULL, err)))
            return r;
        close(fd);
        if (!(spec->vars = tld_intern(t, real)))
            return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    }
    if ((r = tld_image_generation(t, spec->image, &spec->generation, NULL, 0, err)))
        return r;
    if (spec->generation == 1 && spec->secure_boot)
        return tl_error_set_nopos(
            err, -EINVAL,
            "Secure Boot needs a Gen2 (UEFI) image; %s is Gen1 (BIOS): use a Gen2 image "
            "or --secure-boot off",
            spec->image);
    if (spec->generation == 1 && spec->vtpm)
        return tl_error_set_nopos(
            err, -EINVAL,
            "a vTPM needs a Gen2 (UEFI) image (trusted launch); %s is Gen1 (BIOS): use a "
            "Gen2 image or --vtpm off",
            spec->image);
    if (spec->vars[0] && spec->generation == 1)
        return tl_error_set_nopos(err, -EINVAL, "a Gen1 (BIOS) node has no UEFI variable store");
    if (spec->guest_state && spec->generation == 1)
        return tl_error_set_nopos(err, -EINVAL,
                                  "\"guest_state\" holds a UEFI variable store: it needs a Gen2 "
                                  "(UEFI) image; %s is Gen1 (BIOS)",
                                  spec->image);
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

/* A create's checks, without the lock: the spec's paths and image, and an
 * external node's own EK certified (before any file exists: a refused EK
 * leaves nothing). */
static int create_check(struct tld *t, struct tld_node *n, const json_t *req,
                        struct tld_node_spec *spec, json_t **tee_policy, struct tl_error *err)
{
    int r;
    if ((!spec->external && (r = parse_spec(t, req, spec, err))) ||
        (r = tld_node_security_parse(req, spec, err)) ||
        (r = tld_node_tee_policy_parse(req, spec, tee_policy, err)) ||
        (!spec->external && (r = tld_datadisk_parse(t, req, "data_disk_size_gb",
                                                    "data_disk_encryption_key", spec, err))))
        return r;
    json_t *ek_j = json_object_get(req, "ek_public");
    if (!ek_j)
        return 0;
    uint8_t *ek_pub = NULL, *der = NULL;
    size_t ek_len = 0, der_len = 0;
    json_t *ek = NULL;
    if (tl_base64_decode_string(json_string_value(ek_j), &ek_pub, &ek_len) < 0)
        return tl_error_set_nopos(err, -EINVAL, "\"ek_public\" must be a base64 TPM2B_PUBLIC");
    pthread_mutex_lock(&t->ekca_lock);
    r = tld_ekca_issue(t, n->name, ek_pub, ek_len, &ek, &der, &der_len, err);
    pthread_mutex_unlock(&t->ekca_lock);
    free(ek_pub);
    if (!r) {
        json_t *eks = json_pack("[o]", ek);
        n->ek_issued = tl_base64_json(der, der_len);
        if (tld_node_set_ek(n, eks) < 0 || !n->ek_issued)
            r = tl_error_set_nopos(err, -ENOMEM, "out of memory");
        json_decref(eks);
    }
    free(der);
    return r;
}

/* A create's files, without the lock: the folder, the overlay and the
 * variable store of a VM, a persisted vTPM. */
static int create_files(struct tld *t, struct tld_node *n, struct tl_error *err)
{
    int r;
    if ((r = tld_vm_make_dir(t, n, err)) || (r = tld_gueststate_prepare(t, n, err)))
        return r;
    if (!n->spec.external &&
        ((r = tld_vm_make_overlay(t, n, err)) || (r = tld_vm_make_vars(t, n, err)) ||
         (r = tld_datadisk_make(t, n, err))))
        return r;
    if (n->spec.vtpm && n->spec.vtpm_persist && !n->ek_issued &&
        (r = tld_vm_provision_persisted(t, n, err)))
        return r;
    return tld_gueststate_seal(t, n, err); /* its first guest state */
}

int tld_node_create(struct tld *t, const json_t *req, struct tld_pool *pool, struct tld_node **out,
                    struct tl_error *err)
{
    if (!json_is_object(req))
        return tl_error_set_nopos(err, -EINVAL, "the request body must be a JSON object");
    const char *known[] = {"name",
                           "secure_boot",
                           "vtpm",
                           "vtpm_persist",
                           "image",
                           "vars",
                           "start",
                           "external",
                           "ek_public",
                           "memory_mib",
                           "egress",
                           "egress_allow",
                           "security_type",
                           "tee",
                           "disk_security",
                           "guest_state",
                           "tee_policy",
                           "data_disk_size_gb",
                           "data_disk_encryption_key"};
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)req, key, v)
    {
        bool ok = false;
        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
            ok |= strcmp(key, known[i]) == 0;
        if (!ok)
            return tl_error_set_nopos(err, -EINVAL, "unknown field \"%s\"", key);
    }
    const char *name = json_string_value(json_object_get(req, "name"));
    if (!name)
        return tl_error_set_nopos(err, -EINVAL, "\"name\" is required");
    if (!tld_name_ok(name))
        return tl_error_set_nopos(
            err, -EINVAL,
            "node name \"%s\": 1-%d lowercase letters, digits and '-', starting with a "
            "letter",
            name, TLD_NAME_MAX);
    if (tld_node_find(t, name))
        return tl_error_set_nopos(err, -EEXIST, "node %s exists already", name);
    if (t->n_nodes >= TLD_MAX_NODES)
        return tl_error_set_nopos(err, -EBUSY, "this tld runs its maximum of %d nodes",
                                  TLD_MAX_NODES);
    struct tld_node_spec spec = {.secure_boot = true,
                                 .vtpm = true,
                                 .vtpm_persist = true,
                                 .image = "",
                                 .vars = "",
                                 .egress_allow = ""};
    bool start = true;
    int r;
    json_t *ek_j = json_object_get(req, "ek_public");
    if ((r = parse_bool(req, "external", &spec.external, err)) ||
        (r = parse_bool(req, "start", &start, err)))
        return r;
    if (ek_j && !spec.external)
        return tl_error_set_nopos(err, -EINVAL,
                                  "\"ek_public\" is for an external node (\"external\": true)");
    if (ek_j && !json_is_string(ek_j))
        return tl_error_set_nopos(err, -EINVAL, "\"ek_public\" must be a base64 TPM2B_PUBLIC");
    if (spec.external) {
        spec.secure_boot = false; /* not ours to enforce */
        spec.generation = 2;
        if (json_object_get(req, "image") || json_object_get(req, "vars") ||
            json_object_get(req, "secure_boot") || json_is_false(json_object_get(req, "vtpm")) ||
            json_is_false(json_object_get(req, "vtpm_persist")) || json_object_get(req, "egress") ||
            json_object_get(req, "egress_allow") || json_object_get(req, "guest_state") ||
            json_object_get(req, "data_disk_size_gb") ||
            json_object_get(req, "data_disk_encryption_key"))
            return tl_error_set_nopos(
                err, -EINVAL,
                "an external node takes no image, variable store, Secure Boot, "
                "egress, guest state or data disk, and has a persisted vTPM");
    }
    /* the name reserved: a node "creating", claimed */
    struct tld_node *n = calloc(1, sizeof(*n));
    if (!n)
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    snprintf(n->name, sizeof(n->name), "%s", name);
    n->spec = (struct tld_node_spec){
        .external = spec.external, .image = "", .vars = "", .egress_allow = ""};
    n->state = TLD_CREATING;
    n->created = tld_now();
    n->pool = pool;
    n->busy = "creating";
    new_uuid(n->uuid);
    if (tld_node_add(t, n) < 0) {
        tld_node_free(n);
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    }
    json_t *tee_policy = NULL;
    io_begin(t);
    r = create_check(t, n, req, &spec, &tee_policy, err);
    io_end(t);
    if (!r && (r = tld_datadisk_check_key(t, &spec, err)))
        json_decref(tee_policy);
    if (!r) {
        n->spec = spec; /* under the lock: others read a busy node's spec */
        n->tee_policy = tee_policy;
        io_begin(t);
        r = create_files(t, n, err);
        io_end(t);
    }
    if (!r && tld_store_save(t, n) < 0)
        r = tl_error_set_nopos(err, -EIO, "cannot save node %s in the store", n->name);
    if (!r && start && (r = boot(t, n, err)))
        tld_store_delete(t, n->name);
    if (r) {
        io_begin(t);
        tld_vm_remove_files(t, n); /* the name is still ours: nothing else has these files */
        io_end(t);
        tld_node_remove(t, n);
        tld_node_free(n);
        return r;
    }
    if (!start) {
        n->state = TLD_STOPPED;
        snprintf(n->reason, sizeof(n->reason), "created without starting");
        tld_store_save(t, n);
    }
    n->busy = NULL;
    if (n->ek_issued)
        tld_log("node %s: created (external, its EK certified by the platform EK CA)", n->name);
    else
        tld_log("node %s: created (secure boot %s, vTPM %s%s, image %s)", n->name,
                n->spec.secure_boot ? "on" : "off", n->spec.vtpm ? "on" : "off",
                n->spec.vtpm ? (n->spec.vtpm_persist ? ", persisted" : ", not persisted") : "",
                n->spec.image);
    *out = n;
    return 0;
}

/* The slow half of a reimage: the old boot stopped, the files made anew,
 * the vTPM kept, replaced or dropped. */
static int reimage_files(struct tld *t, struct tld_node *n, const struct tld_node_spec *old,
                         bool reset_vtpm, struct tl_error *err)
{
    int r;
    if ((r = tld_vm_make_overlay(t, n, err)) || (r = tld_vm_make_vars(t, n, err)))
        return r;
    bool have = old->vtpm && old->vtpm_persist;
    if (have && (reset_vtpm || !n->spec.vtpm || !n->spec.vtpm_persist)) {
        tld_vm_forget_vtpm(t, n);
        n->tpm_seen = (struct tld_tpm_seen){0}; /* a new TPM: its counters start over */
        have = false;
    }
    if (n->spec.vtpm && n->spec.vtpm_persist && !have)
        return tld_vm_provision_persisted(t, n, err);
    return 0;
}

/* The slow half of a reimage (a guest state opened around its files). */
static int reimage_io(struct tld *t, struct tld_node *n, const struct tld_node_spec *old,
                      bool reset_vtpm, struct tl_error *err)
{
    tld_vm_halt(t, n);
    int r = tld_gueststate_open(t, n, err);
    if (r)
        return r;
    r = reimage_files(t, n, old, reset_vtpm, err);
    int s = r ? (tld_gueststate_close(t, n), 0) : tld_gueststate_seal(t, n, err);
    return r ? r : s;
}

int tld_node_reimage(struct tld *t, struct tld_node *n, const json_t *req, struct tl_error *err)
{
    if (n->spec.external)
        return tl_error_set_nopos(err, -EBUSY, "node %s is external: it has no image here",
                                  n->name);
    if (req && !json_is_object(req))
        return tl_error_set_nopos(err, -EINVAL, "the request body must be a JSON object");
    bool reset_vtpm = false;
    int r;
    if (req) {
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)req, key, v)
        {
            if (strcmp(key, "secure_boot") && strcmp(key, "vtpm") && strcmp(key, "image") &&
                strcmp(key, "vars") && strcmp(key, "vtpm_persist") && strcmp(key, "reset_vtpm") &&
                strcmp(key, "egress") && strcmp(key, "egress_allow"))
                return tl_error_set_nopos(err, -EINVAL, "unknown field \"%s\"", key);
        }
        if ((r = parse_bool(req, "reset_vtpm", &reset_vtpm, err)))
            return r;
    }
    if ((r = claim(n, "reimaging", err)))
        return r;
    struct tld_node_spec old = n->spec, spec = n->spec;
    if (req) {
        if (json_object_get(req, "image"))
            spec.image = "";
        if (json_object_get(req, "vars") || json_object_get(req, "secure_boot"))
            spec.vars = "";
        io_begin(t);
        r = parse_spec(t, req, &spec, err);
        io_end(t);
        if (r) {
            n->busy = NULL;
            return r;
        }
    }
    n->spec = spec;
    n->state = TLD_STOPPED; /* on its way: no longer booting or running */
    snprintf(n->reason, sizeof(n->reason), "reimaging");
    io_begin(t);
    r = reimage_io(t, n, &old, reset_vtpm, err);
    io_end(t);
    n->stopped = tld_now();
    if (r) {
        n->state = TLD_FAILED;
        snprintf(n->reason, sizeof(n->reason), "reimage failed: %s", err->message);
        tld_store_save(t, n);
        n->busy = NULL;
        return r;
    }
    tld_log("node %s: reimaged (secure boot %s, vTPM %s%s)", n->name,
            spec.secure_boot ? "on" : "off", spec.vtpm ? "on" : "off",
            reset_vtpm ? ", new vTPM" : "");
    r = boot(t, n, err);
    if (r) {
        n->state = TLD_FAILED;
        snprintf(n->reason, sizeof(n->reason), "reimage failed: %s", err->message);
        tld_store_save(t, n);
    }
    n->busy = NULL;
    return r;
}

/* A halted node made anew with spec, not booted (vmres.c: a VM resized
 * into the other TEE, or its Secure Boot / vTPM changed): its overlay and
 * variable store re-created, its vTPM replaced. */
int tld_node_respec(struct tld *t, struct tld_node *n, const struct tld_node_spec *spec,
                    struct tl_error *err)
{
    if (n->spec.external || (n->state != TLD_STOPPED && n->state != TLD_FAILED))
        return tl_error_set_nopos(err, -EBUSY, "node %s must be stopped first", n->name);
    int r = claim(n, "reimaging", err);
    if (r)
        return r;
    struct tld_node_spec old = n->spec;
    n->spec = *spec;
    io_begin(t);
    r = reimage_io(t, n, &old, true, err);
    io_end(t);
    if (r) {
        settle_halted(t, n, TLD_FAILED, err->message);
        return r;
    }
    tld_store_save(t, n);
    n->busy = NULL;
    tld_log("node %s: made anew (%s, tee %s, secure boot %s, vTPM %s)", n->name,
            spec->security_type, spec->tee, spec->secure_boot ? "on" : "off",
            spec->vtpm ? "on" : "off");
    return 0;
}

int tld_node_delete(struct tld *t, struct tld_node *n, struct tl_error *err)
{
    int r = claim(n, "deleting", err);
    if (r)
        return r;
    io_begin(t);
    tld_vm_halt(t, n);
    io_end(t);
    if (tld_store_delete(t, n->name) < 0) {
        /* halted all the same: say so, rather than look as if it ran */
        settle_halted(t, n, TLD_STOPPED, "a delete failed: it could not leave the store");
        return tl_error_set_nopos(err, -EIO, "cannot delete node %s from the store", n->name);
    }
    /* out of the table only once its files are gone: until then the name
     * is taken, and a new node of that name cannot meet them */
    io_begin(t);
    tld_vm_remove_files(t, n);
    io_end(t);
    tld_node_remove(t, n);
    tld_log("node %s: deleted", n->name);
    tld_node_free(n);
    return 0;
}
