/* A guest_state node's keys, held by the key store (nodekeys.h):
 *
 *   token: KEK "tl-node:NAME"             AES-256, sensitive, not extractable
 *   HOME/keys/NAME.gueststate.sealed      the guest-state file's key
 *   HOME/keys/NAME.vtpm.sealed            the persisted vTPM's state key
 *   HOME/keys/NAME.disk.sealed            the OS-disk overlay's LUKS secret
 *                                         (DiskWithVMGuestState)
 *
 * each sealed file being tlh_keystore_seal's nonce || AES-GCM(32-byte key)
 * || tag under the KEK, the KEK's label as GCM's additional data. The kind
 * is the file's name: a file put in another kind's place opens to another
 * key's bytes, which its consumer (the guest state's GCM, LUKS, swtpm's
 * state check) refuses.
 *
 * One KEK per node, not one for the platform: a delete destroys the node's
 * KEK, so its sealed files, and any copy of its guest state or overlay
 * (a backup, a disk sold on), can no longer be opened by anyone, token or
 * not (crypto-erase, as a deleted Azure disk encryption set's key does);
 * a platform KEK would leave every deleted node readable for as long as
 * the platform lives. It also bounds what one KEK protects to one node.
 * The cost, one token object per guest_state node, is small.
 *
 * The keys' clear bytes exist only in tld's memory (and, handed on a pipe,
 * in the swtpm and QEMU that use them), wiped by the callers after use.
 * Every call takes the key store's lock (tld_keystore_lock), never
 * tld.lock. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "nodekeys.h"
#include "tl/aks.h"
#include "tl/cleanup.h"
#include "tlhost/file.h"
#include "tlhost/gueststate.h"

#define SEALED_LEN (TLD_NODEKEY_LEN + TLH_KEYSTORE_SEAL_OVERHEAD)

static const char *const kinds[] = {
    [TLD_NODEKEY_GUESTSTATE] = "gueststate",
    [TLD_NODEKEY_VTPM] = "vtpm",
    [TLD_NODEKEY_DISK] = "disk",
};

bool tld_nodekey_held(const struct tld_node *n, enum tld_nodekey which)
{
    switch (which) {
    case TLD_NODEKEY_GUESTSTATE:
        return n->spec.guest_state;
    case TLD_NODEKEY_VTPM:
        return n->spec.guest_state && n->spec.vtpm && n->spec.vtpm_persist;
    case TLD_NODEKEY_DISK:
        return n->spec.guest_state && n->spec.disk_security &&
               strcmp(n->spec.disk_security, TL_DISK_SECURITY_DISK_VMGS) == 0;
    }
    return false;
}

static void kek_label(const struct tld_node *n, char *out, size_t size)
{
    snprintf(out, size, "tl-node:%s", n->name);
}

static void key_file(const struct tld *t, const struct tld_node *n, enum tld_nodekey which,
                     const char *ext, char *out, size_t size)
{
    snprintf(out, size, "%s/keys/%s.%s.%s", t->home, n->name, kinds[which], ext);
}

static void sync_dir(const struct tld *t)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/keys", t->home);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* key sealed under the node's KEK (made when missing) into HOME/keys/
 * NAME.KIND.sealed, replacing it atomically. Under the key store's lock. */
static int seal_locked(struct tld *t, const struct tld_node *n, enum tld_nodekey which,
                       const uint8_t key[TLD_NODEKEY_LEN], struct tl_error *err)
{
    char label[TLD_NAME_MAX + 16], path[PATH_MAX], tmp[PATH_MAX + 8];
    uint8_t sealed[SEALED_LEN];
    kek_label(n, label, sizeof(label));
    key_file(t, n, which, "sealed", path, sizeof(path));
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int r = tlh_keystore_kek_ensure(&t->keyvault.ks, label, err);
    if (r < 0 ||
        (r = tlh_keystore_seal(&t->keyvault.ks, label, key, TLD_NODEKEY_LEN, sealed, err)) < 0)
        return r;
    unlink(tmp);
    if ((r = tlh_file_write_new(tmp, sealed, sizeof(sealed), 0600, err)) < 0)
        return r;
    if (rename(tmp, path) < 0) {
        r = -errno;
        unlink(tmp);
        return tl_error_set_nopos(err, r, "%s: %s", path, strerror(-r));
    }
    sync_dir(t);
    return 0;
}

int tld_nodekey_new(struct tld *t, const struct tld_node *n, enum tld_nodekey which,
                    uint8_t key[TLD_NODEKEY_LEN], struct tl_error *err)
{
    if (getrandom(key, TLD_NODEKEY_LEN, 0) != TLD_NODEKEY_LEN)
        return tl_error_set_nopos(err, -EIO, "getrandom: %s", strerror(errno));
    int r = tld_keystore_lock(t, err);
    if (r < 0) {
        OPENSSL_cleanse(key, TLD_NODEKEY_LEN);
        return r;
    }
    struct tl_error e = {0};
    r = seal_locked(t, n, which, key, &e);
    tld_keystore_unlock(t);
    if (r < 0) {
        OPENSSL_cleanse(key, TLD_NODEKEY_LEN);
        return tl_error_set_nopos(err, r, "node %s: its %s key not sealed: %s", n->name,
                                  kinds[which], e.message);
    }
    return 0;
}

/* An earlier tld's clear key file sealed, then removed. Under the key
 * store's lock: -ENOENT when there is none. */
static int migrate_locked(struct tld *t, const struct tld_node *n, enum tld_nodekey which,
                          uint8_t key[TLD_NODEKEY_LEN], struct tl_error *err)
{
    char clear[PATH_MAX];
    if (which == TLD_NODEKEY_DISK)
        return tl_error_set_nopos(err, -ENOENT, "no sealed %s key", kinds[which]);
    key_file(t, n, which, "key", clear, sizeof(clear));
    if (access(clear, F_OK) < 0)
        return tl_error_set_nopos(err, -ENOENT, "no sealed %s key", kinds[which]);
    /* the guest-state key file's reader checks the size; a vTPM key is the same 32 bytes */
    int r = tlh_gueststate_key_read(clear, key, err);
    if (r < 0 || (r = seal_locked(t, n, which, key, err)) < 0) {
        OPENSSL_cleanse(key, TLD_NODEKEY_LEN);
        return r == -ENOENT ? -EIO : r;
    }
    int fd = open(clear, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) { /* its bytes overwritten before it goes (a plain file system keeps them) */
        uint8_t zero[TLD_NODEKEY_LEN] = {0};
        if (write(fd, zero, sizeof(zero)) == (ssize_t)sizeof(zero))
            fsync(fd);
        close(fd);
    }
    if (unlink(clear) < 0)
        tld_log("node %s: %s: not removed: %s", n->name, clear, strerror(errno));
    sync_dir(t);
    tld_log("node %s: its %s key moved into the key store (%s removed)", n->name, kinds[which],
            clear);
    return 0;
}

int tld_nodekey_get(struct tld *t, const struct tld_node *n, enum tld_nodekey which,
                    uint8_t key[TLD_NODEKEY_LEN], struct tl_error *err)
{
    char label[TLD_NAME_MAX + 16], path[PATH_MAX];
    kek_label(n, label, sizeof(label));
    key_file(t, n, which, "sealed", path, sizeof(path));
    _cleanup_free_ uint8_t *sealed = NULL;
    size_t len = 0, klen = 0;
    struct tl_error e = {0};
    int fr = tlh_file_read(path, 4 * SEALED_LEN, &sealed, &len, &e);
    if (fr < 0 && fr != -ENOENT)
        return tl_error_set_nopos(err, -EIO, "node %s: %s", n->name, e.message);
    int r = tld_keystore_lock(t, err);
    if (r < 0)
        return r;
    if (fr == -ENOENT)
        r = migrate_locked(t, n, which, key, &e);
    else if (len != SEALED_LEN)
        r = tl_error_set_nopos(&e, -EBADMSG, "%s: %zu bytes, a sealed key has %d", path, len,
                               SEALED_LEN);
    else
        r = tlh_keystore_unseal(&t->keyvault.ks, label, sealed, len, key, &klen, &e);
    tld_keystore_unlock(t);
    if (r == 0 && klen && klen != TLD_NODEKEY_LEN) {
        OPENSSL_cleanse(key, TLD_NODEKEY_LEN);
        r = tl_error_set_nopos(&e, -EBADMSG, "%s: a key of %zu bytes", path, klen);
    }
    if (r < 0)
        return tl_error_set_nopos(err, r, "node %s: its %s key: %s", n->name, kinds[which],
                                  e.message);
    return 0;
}

void tld_nodekey_forget(struct tld *t, const struct tld_node *n, enum tld_nodekey which)
{
    char path[PATH_MAX];
    key_file(t, n, which, "sealed", path, sizeof(path));
    unlink(path);
}

void tld_nodekeys_destroy(struct tld *t, const struct tld_node *n)
{
    char path[PATH_MAX], label[TLD_NAME_MAX + 16];
    bool sealed = false;
    for (size_t i = 0; i < TL_ARRAY_SIZE(kinds); i++) {
        key_file(t, n, (enum tld_nodekey)i, "sealed", path, sizeof(path));
        sealed |= access(path, F_OK) == 0;
    }
    if (!sealed && !n->spec.guest_state)
        return;
    struct tl_error err = {0};
    kek_label(n, label, sizeof(label));
    int r = tld_keystore_lock(t, &err);
    if (r == 0) {
        r = tlh_keystore_label_destroy(&t->keyvault.ks, label, &err);
        tld_keystore_unlock(t);
    }
    if (r < 0) /* its sealed files stay: a KEK that is still there can open them */
        tld_log("node %s: its KEK not destroyed: %s", n->name, err.message);
    else {
        if (r > 0)
            tld_log("node %s: its KEK destroyed in the key store", n->name);
        for (size_t i = 0; i < TL_ARRAY_SIZE(kinds); i++)
            tld_nodekey_forget(t, n, (enum tld_nodekey)i);
    }
}
