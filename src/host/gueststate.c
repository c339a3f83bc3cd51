/* A node's guest state file and its open folder (tlhost/gueststate.h).
 *
 * The plaintext exists only in the open folder, which the caller places on
 * a tmpfs while the node runs; a seal never changes the folder, an open
 * never leaves a half-filled one under its final name, and a write of the
 * sealed file replaces the old one only once the new one is on disk. So a
 * process killed at any point leaves either the old sealed state or a
 * complete folder to seal again, never a state lost. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tl/gueststate.h"
#include "tl/util.h"
#include "tlhost/file.h"
#include "tlhost/gueststate.h"

/* The files collected from a folder for a seal. */
struct collect {
    struct tl_gueststate_file files[TL_GUESTSTATE_FILES_MAX];
    uint8_t *bufs[TL_GUESTSTATE_FILES_MAX];
    size_t count, total;
};

static void collect_done(struct collect *c)
{
    for (size_t i = 0; i < c->count; i++) {
        if (c->bufs[i])
            OPENSSL_cleanse(c->bufs[i], c->files[i].len);
        free(c->bufs[i]);
    }
    c->count = 0;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len) {
        ssize_t k = write(fd, p, len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return k < 0 ? -errno : -EIO;
        p += k;
        len -= (size_t)k;
    }
    return 0;
}

int tlh_gueststate_key_read(const char *path, uint8_t key[TL_GUESTSTATE_KEY_LEN],
                            struct tl_error *err)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int r = tlh_file_read(path, 64, &buf, &len, err);
    if (r < 0)
        return r;
    if (len != TL_GUESTSTATE_KEY_LEN) {
        OPENSSL_cleanse(buf, len);
        free(buf);
        return tl_error_set_nopos(err, -EBADMSG, "%s: %zu bytes, a key has %d", path, len,
                                  TL_GUESTSTATE_KEY_LEN);
    }
    memcpy(key, buf, TL_GUESTSTATE_KEY_LEN);
    OPENSSL_cleanse(buf, len);
    free(buf);
    return 0;
}

int tlh_gueststate_key_new(const char *path, struct tl_error *err)
{
    uint8_t key[TL_GUESTSTATE_KEY_LEN];
    if (getrandom(key, sizeof(key), 0) != (ssize_t)sizeof(key))
        return tl_error_set_nopos(err, -EIO, "getrandom: %s", strerror(errno));
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    int r = fd < 0 ? -errno : write_all(fd, key, sizeof(key));
    OPENSSL_cleanse(key, sizeof(key));
    if (r == 0 && fsync(fd) < 0)
        r = -errno;
    if (fd >= 0)
        close(fd);
    if (r < 0) {
        if (fd >= 0)
            unlink(path);
        return tl_error_set_nopos(err, r, "%s: %s", path, strerror(-r));
    }
    return 0;
}

/* The regular files of dir/rel (rel "" the top), depth levels below. */
static int collect_dir(const char *dir, const char *rel, int depth, struct collect *c,
                       struct tl_error *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s%s%s", dir, rel[0] ? "/" : "", rel);
    DIR *d = opendir(path);
    if (!d)
        return tl_error_set_nopos(err, -errno, "%s: %s", path, strerror(errno));
    int r = 0;
    struct dirent *e;
    while (r == 0 && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char name[TL_GUESTSTATE_NAME_MAX + 2], full[PATH_MAX];
        if ((size_t)snprintf(name, sizeof(name), "%s%s%s", rel, rel[0] ? "/" : "", e->d_name) >=
                sizeof(name) ||
            (size_t)snprintf(full, sizeof(full), "%s/%s", dir, name) >= sizeof(full)) {
            r = tl_error_set_nopos(err, -ENAMETOOLONG, "%s/%s: name too long", path, e->d_name);
            break;
        }
        struct stat st;
        if (lstat(full, &st) < 0) {
            r = tl_error_set_nopos(err, -errno, "%s: %s", full, strerror(errno));
            break;
        }
        if (S_ISDIR(st.st_mode)) {
            if (depth <= 1) {
                r = tl_error_set_nopos(err, -E2BIG, "%s: folders nested too deep", full);
                break;
            }
            r = collect_dir(dir, name, depth - 1, c, err);
            continue;
        }
        if (!S_ISREG(st.st_mode)) /* a socket, a link: not state */
            continue;
        if (!tl_gueststate_name_ok(name)) {
            r = tl_error_set_nopos(err, -EINVAL, "%s: a name the guest state cannot hold", full);
            break;
        }
        if (c->count == TL_GUESTSTATE_FILES_MAX) {
            r = tl_error_set_nopos(err, -E2BIG, "%s: more than %d files", dir,
                                   TL_GUESTSTATE_FILES_MAX);
            break;
        }
        struct tl_gueststate_file *f = &c->files[c->count];
        memcpy(f->name, name, strlen(name) + 1); /* name_ok: at most NAME_MAX */
        r = tlh_file_read(full, TL_GUESTSTATE_MAX - c->total, &c->bufs[c->count], &f->len, err);
        if (r < 0)
            break;
        f->data = c->bufs[c->count];
        c->total += f->len;
        c->count++;
    }
    closedir(d);
    return r;
}

/* file's folder, fsync'd: the rename in it is on disk */
static void sync_parent(const char *file)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", file);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == dir)
        dir[1] = 0;
    else
        *slash = 0;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

static int write_atomic(const char *file, const uint8_t *data, size_t len, struct tl_error *err)
{
    char tmp[PATH_MAX];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", file) >= sizeof(tmp))
        return tl_error_set_nopos(err, -ENAMETOOLONG, "%s: name too long", file);
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return tl_error_set_nopos(err, -errno, "%s: %s", tmp, strerror(errno));
    int r = write_all(fd, data, len);
    if (r == 0 && fsync(fd) < 0)
        r = -errno;
    close(fd);
    if (r == 0 && rename(tmp, file) < 0)
        r = -errno;
    if (r < 0) {
        unlink(tmp);
        return tl_error_set_nopos(err, r, "%s: cannot write: %s", file, strerror(-r));
    }
    sync_parent(file);
    return 0;
}

int tlh_gueststate_seal_dir(const char *dir, const char *file,
                            const uint8_t key[TL_GUESTSTATE_KEY_LEN], const uint8_t uuid[16],
                            struct tl_error *err)
{
    uint8_t nonce[TL_GUESTSTATE_NONCE_LEN];
    int r;
    struct collect c = {.count = 0};
    uint8_t *plain = NULL, *sealed = NULL;
    size_t plain_len = 0, sealed_len = 0;
    if ((r = collect_dir(dir, "", 4, &c, err)) == 0)
        r = tl_gueststate_archive_build(c.files, c.count, &plain, &plain_len, err);
    collect_done(&c);
    if (r == 0 && getrandom(nonce, sizeof(nonce), 0) != (ssize_t)sizeof(nonce))
        r = tl_error_set_nopos(err, -EIO, "getrandom: %s", strerror(errno));
    if (r == 0)
        r = tl_gueststate_seal(key, uuid, nonce, plain, plain_len, &sealed, &sealed_len, err);
    if (plain)
        OPENSSL_cleanse(plain, plain_len);
    free(plain);
    if (r == 0)
        r = write_atomic(file, sealed, sealed_len, err);
    free(sealed);
    return r;
}

/* one file of the archive written under root (its folders made 0700) */
static int write_member(const char *root, const struct tl_gueststate_file *f, struct tl_error *err)
{
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", root, f->name) >= sizeof(path))
        return tl_error_set_nopos(err, -ENAMETOOLONG, "%s/%s: name too long", root, f->name);
    for (char *s = path + strlen(root) + 1; (s = strchr(s, '/')); s++) {
        *s = 0;
        int m = mkdir(path, 0700);
        *s = '/';
        if (m < 0 && errno != EEXIST)
            return tl_error_set_nopos(err, -errno, "%s: %s", path, strerror(errno));
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return tl_error_set_nopos(err, -errno, "%s: %s", path, strerror(errno));
    int r = write_all(fd, f->data, f->len);
    close(fd);
    return r < 0 ? tl_error_set_nopos(err, r, "%s: %s", path, strerror(-r)) : 0;
}

int tlh_gueststate_open_dir(const char *file, const uint8_t key[TL_GUESTSTATE_KEY_LEN],
                            const uint8_t uuid[16], const char *dir, struct tl_error *err)
{
    int r;
    uint8_t *sealed = NULL, *plain = NULL;
    size_t sealed_len = 0, plain_len = 0, count = 0;
    r = tlh_file_read(file, TL_GUESTSTATE_MAX + TL_GUESTSTATE_HEADER_LEN + TL_GUESTSTATE_TAG_LEN,
                      &sealed, &sealed_len, err);
    if (r == 0) {
        struct tl_error e = {0};
        r = tl_gueststate_open(key, uuid, sealed, sealed_len, &plain, &plain_len, &e);
        if (r < 0)
            tl_error_set_nopos(err, r, "%s: %s", file, e.message);
    }
    free(sealed);
    if (r < 0)
        return r;
    struct tl_gueststate_file *files = calloc(TL_GUESTSTATE_FILES_MAX, sizeof(*files));
    struct tl_error e = {0};
    if (!files)
        r = tl_error_set_nopos(err, -ENOMEM, "out of memory");
    else if ((r = tl_gueststate_archive_parse(plain, plain_len, files, TL_GUESTSTATE_FILES_MAX,
                                              &count, &e)) < 0)
        tl_error_set_nopos(err, r, "%s: %s", file, e.message);
    char tmp[PATH_MAX];
    if (r == 0 && (size_t)snprintf(tmp, sizeof(tmp), "%s.new", dir) >= sizeof(tmp))
        r = tl_error_set_nopos(err, -ENAMETOOLONG, "%s: name too long", dir);
    if (r == 0 && (r = tlh_gueststate_remove_dir(tmp, err)) == 0 && mkdir(tmp, 0700) < 0)
        r = tl_error_set_nopos(err, -errno, "%s: %s", tmp, strerror(errno));
    for (size_t i = 0; r == 0 && i < count; i++)
        r = write_member(tmp, &files[i], err);
    if (r == 0 && rename(tmp, dir) < 0)
        r = tl_error_set_nopos(err, -errno, "%s: %s", dir, strerror(errno));
    if (r < 0 && files && count)
        tlh_gueststate_remove_dir(tmp, NULL);
    free(files);
    if (plain)
        OPENSSL_cleanse(plain, plain_len);
    free(plain);
    return r;
}

static int remove_at(int parent, const char *name, int depth)
{
    struct stat st;
    if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISDIR(st.st_mode))
        return unlinkat(parent, name, 0) < 0 && errno != ENOENT ? -errno : 0;
    if (depth <= 0)
        return -ELOOP;
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -errno;
    }
    int r = 0;
    struct dirent *e;
    while (r == 0 && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            r = remove_at(dirfd(d), e->d_name, depth - 1);
    closedir(d);
    if (r == 0 && unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        r = -errno;
    return r;
}

int tlh_gueststate_remove_dir(const char *dir, struct tl_error *err)
{
    int r = remove_at(AT_FDCWD, dir, 8);
    return r < 0 ? tl_error_set_nopos(err, r, "%s: cannot remove: %s", dir, strerror(-r)) : 0;
}
