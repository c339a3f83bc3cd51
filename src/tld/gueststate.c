/* A node's guest state (gueststate.h): Azure keeps a confidential VM's
 * vTPM state and UEFI variable store in one encrypted guest-state disk
 * (VMGS); a trustlaunch node with guest_state keeps them in one file,
 *
 *   HOME/nodes/NAME/guest-state.vmgs  AES-256-GCM (tl/gueststate.h)
 *   HOME/keys/NAME.gueststate.sealed  its key, sealed by the node's KEK in
 *                                     the key store (nodekeys.c), opened in
 *                                     tld's memory for each seal and open
 *   OPEN/NAME.gs/{vars.fd,vtpm/}      the plaintext, only while it runs
 *
 * OPEN is HOME/run when that is a tmpfs, else a private folder on a tmpfs:
 * $XDG_RUNTIME_DIR/trustlaunch-HASH, else /dev/shm/tld-UID-HASH (HASH: the
 * first 16 hex digits of SHA-256 of HOME, so two tlds never share one);
 * HOME/run when no tmpfs is found. It is made 0700 and used only when it
 * is a folder of ours that no one else may enter: the plaintext never
 * reaches a disk.
 *
 * A start opens the file into OPEN/NAME.gs (whole or not at all); every
 * end of a run (stop, QEMU gone, a failed boot, a lost vTPM, tld finding
 * the node ended after its own restart) seals the folder back, atomically,
 * then removes it. A tld killed meanwhile leaves the folder: the next
 * start, or tld's restart (tld_node_reseal), seals it first. */
#include <errno.h>
#include <linux/magic.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "gueststate.h"
#include "nodekeys.h"
#include "tl/gueststate.h"
#include "tl/util.h"
#include "tlhost/gueststate.h"

#define GS_FILE "guest-state.vmgs"

static bool is_tmpfs(const char *path)
{
    struct statfs s;
    return statfs(path, &s) == 0 && s.f_type == TMPFS_MAGIC;
}

void tld_gueststate_init(struct tld *t)
{
    char run[PATH_MAX];
    snprintf(run, sizeof(run), "%s/run", t->home);
    uint8_t d[32];
    char hex[65];
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    if (is_tmpfs(run) || !EVP_Digest(t->home, strlen(t->home), d, NULL, EVP_sha256(), NULL)) {
        snprintf(t->gueststate_open, sizeof(t->gueststate_open), "%s", run);
        return;
    }
    tl_hex_encode(d, sizeof(d), hex);
    if (xdg && *xdg == '/' && is_tmpfs(xdg))
        snprintf(t->gueststate_open, sizeof(t->gueststate_open), "%s/trustlaunch-%.16s", xdg, hex);
    else if (is_tmpfs("/dev/shm"))
        snprintf(t->gueststate_open, sizeof(t->gueststate_open), "/dev/shm/tld-%u-%.16s",
                 (unsigned)geteuid(), hex);
    else
        snprintf(t->gueststate_open, sizeof(t->gueststate_open), "%s", run);
}

/* OPEN (see the top), made when make is set */
static int open_root(const struct tld *t, bool make, char *out, size_t size)
{
    if (snprintf(out, size, "%s", t->gueststate_open) >= (int)size)
        return -ENAMETOOLONG;
    if (!make)
        return 0;
    if (mkdir(out, 0700) < 0 && errno != EEXIST)
        return -errno;
    struct stat st;
    if (lstat(out, &st) < 0)
        return -errno;
    /* /dev/shm is everyone's: a folder someone else made, or a link, is refused */
    if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077))
        return -EPERM;
    return 0;
}

static int open_dir(const struct tld *t, const struct tld_node *n, bool make, char *out,
                    size_t size)
{
    char root[PATH_MAX];
    int r = open_root(t, make, root, sizeof(root));
    if (r < 0)
        return r;
    return snprintf(out, size, "%s/%s.gs", root, n->name) < (int)size ? 0 : -ENAMETOOLONG;
}

/* an earlier tld's clear key file (nodekeys.c moves one it finds into the key store) */
static void key_path(const struct tld *t, const struct tld_node *n, char *out, size_t size)
{
    snprintf(out, size, "%s/keys/%s.gueststate.key", t->home, n->name);
}

int tld_gueststate_path(const struct tld *t, const struct tld_node *n, const char *file, char *out,
                        size_t size)
{
    if (!n->spec.guest_state)
        return tld_node_path(t, n, file, out, size);
    char dir[PATH_MAX];
    int r = open_dir(t, n, false, dir, sizeof(dir));
    if (r < 0)
        return r;
    return snprintf(out, size, "%s/%s", dir, file) < (int)size ? 0 : -ENAMETOOLONG;
}

int tld_gueststate_prepare(struct tld *t, struct tld_node *n, struct tl_error *err)
{
    if (!n->spec.guest_state)
        return 0;
    char key[PATH_MAX], dir[PATH_MAX];
    key_path(t, n, key, sizeof(key));
    int r = open_dir(t, n, true, dir, sizeof(dir));
    if (r < 0)
        return tl_error_set_nopos(err, -EIO, "guest state of node %s: no private tmpfs folder: %s",
                                  n->name, strerror(-r));
    unlink(key);
    struct tl_error e = {0};
    uint8_t k[TLD_NODEKEY_LEN];
    if ((r = tld_nodekey_new(t, n, TLD_NODEKEY_GUESTSTATE, k, err)) < 0)
        return r;
    OPENSSL_cleanse(k, sizeof(k));
    if ((r = tlh_gueststate_remove_dir(dir, &e)) < 0)
        return tl_error_set_nopos(err, r == -ENOMEM ? r : -EIO, "guest state: %s", e.message);
    if (mkdir(dir, 0700) < 0)
        return tl_error_set_nopos(err, -EIO, "guest state: %s: %s", dir, strerror(errno));
    return 0;
}

static int node_uuid(const struct tld_node *n, uint8_t uuid[16], struct tl_error *err)
{
    if (tl_gueststate_uuid_parse(n->uuid, uuid) < 0)
        return tl_error_set_nopos(err, -EIO, "node %s: uuid \"%s\" is not a uuid", n->name,
                                  n->uuid);
    return 0;
}

int tld_gueststate_seal(struct tld *t, struct tld_node *n, struct tl_error *err)
{
    if (!n->spec.guest_state)
        return 0;
    char dir[PATH_MAX], file[PATH_MAX];
    uint8_t uuid[16], key[TLD_NODEKEY_LEN];
    struct tl_error e = {0};
    int r;
    if ((r = open_dir(t, n, false, dir, sizeof(dir))) < 0)
        return tl_error_set_nopos(err, -EIO, "guest state of node %s: %s", n->name, strerror(-r));
    if (access(dir, F_OK) < 0)
        return 0; /* not open */
    if ((r = node_uuid(n, uuid, err)))
        return r;
    if ((r = tld_nodekey_get(t, n, TLD_NODEKEY_GUESTSTATE, key, &e)) < 0)
        return tl_error_set_nopos(err, r == -EAGAIN ? r : -EIO,
                                  "guest state not sealed (its open copy %s is kept): %s", dir,
                                  e.message);
    tld_node_path(t, n, GS_FILE, file, sizeof(file));
    r = tlh_gueststate_seal_dir(dir, file, key, uuid, &e);
    OPENSSL_cleanse(key, sizeof(key));
    if (r < 0)
        return tl_error_set_nopos(
            err, -EIO, "guest state not sealed (its open copy %s is kept): %s", dir, e.message);
    if (tlh_gueststate_remove_dir(dir, &e) < 0)
        tld_log("node %s: guest state sealed, but %s", n->name, e.message);
    return 0;
}

void tld_gueststate_close(struct tld *t, struct tld_node *n)
{
    struct tl_error err = {0};
    if (tld_gueststate_seal(t, n, &err))
        tld_log("node %s: %s", n->name, err.message);
}

int tld_gueststate_open(struct tld *t, struct tld_node *n, struct tl_error *err)
{
    if (!n->spec.guest_state)
        return 0;
    int r = tld_gueststate_seal(t, n, err); /* a leftover of a run tld did not see end */
    if (r)
        return r;
    char dir[PATH_MAX], file[PATH_MAX];
    uint8_t uuid[16], key[TLD_NODEKEY_LEN];
    struct tl_error e = {0};
    if ((r = node_uuid(n, uuid, err)))
        return r;
    if ((r = open_dir(t, n, true, dir, sizeof(dir))) < 0)
        return tl_error_set_nopos(err, -EIO, "guest state of node %s: no private tmpfs folder: %s",
                                  n->name, strerror(-r));
    /* no key (the key store gone, the node's KEK or sealed key lost): the
     * node does not start, and says why */
    if ((r = tld_nodekey_get(t, n, TLD_NODEKEY_GUESTSTATE, key, &e)) < 0)
        return tl_error_set_nopos(err, r == -EAGAIN ? r : -EBUSY, "guest state not opened: %s",
                                  e.message);
    tld_node_path(t, n, GS_FILE, file, sizeof(file));
    r = tlh_gueststate_open_dir(file, key, uuid, dir, &e);
    OPENSSL_cleanse(key, sizeof(key));
    /* 409 (-EBUSY): the node's state says why it does not start */
    if (r == -EBADMSG)
        return tl_error_set_nopos(err, -EBUSY, "guest state refused, the node does not start: %s",
                                  e.message);
    if (r < 0)
        return tl_error_set_nopos(err, r == -ENOENT ? -EBUSY : -EIO, "guest state not opened: %s",
                                  e.message);
    return 0;
}

void tld_gueststate_remove(struct tld *t, struct tld_node *n)
{
    char key[PATH_MAX], dir[PATH_MAX + 8];
    struct tl_error err = {0};
    key_path(t, n, key, sizeof(key));
    unlink(key);
    if (open_dir(t, n, false, dir, PATH_MAX) < 0)
        return;
    if (tlh_gueststate_remove_dir(dir, &err) < 0)
        tld_log("node %s: %s", n->name, err.message);
    strcat(dir, ".new"); /* an open that did not finish */
    tlh_gueststate_remove_dir(dir, NULL);
}
