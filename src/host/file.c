/* Whole-file reads, private files, new files, trees removed (file.h). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tlhost/file.h"

int tlh_file_read(const char *path, size_t max, uint8_t **out, size_t *len, struct tl_error *err)
{
    *out = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int r = errno == ENOTDIR ? -ENOENT : -errno;
        return tl_error_set_nopos(err, r, "%s: %s", path, strerror(-r));
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        return tl_error_set_nopos(err, -EISDIR, "%s: is a directory", path);
    }
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap + 1);
    int r = buf ? 0 : -ENOMEM;
    while (r == 0) {
        if (n == cap) {
            if (cap > max) {
                r = -EFBIG;
                break;
            }
            uint8_t *b = realloc(buf, cap * 2 + 1);
            if (!b) {
                r = -ENOMEM;
                break;
            }
            buf = b;
            cap *= 2;
        }
        ssize_t k = read(fd, buf + n, cap - n);
        if (k < 0) {
            if (errno != EINTR)
                r = -errno;
            continue;
        }
        if (k == 0)
            break;
        n += (size_t)k;
    }
    close(fd);
    if (r == 0 && n > max)
        r = -EFBIG;
    if (r < 0) {
        free(buf);
        return r == -EFBIG ? tl_error_set_nopos(err, r, "%s: larger than %zu bytes", path, max)
                           : tl_error_set_nopos(err, r, "%s: %s", path, strerror(-r));
    }
    buf[n] = 0;
    *out = buf;
    *len = n;
    return 0;
}

/* A key must be a regular file nobody else can read. */
int tlh_file_map(const char *path, size_t max, struct tlh_file_map *m, struct tl_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0) {
        close(fd);
        return 0;
    }
    if ((uint64_t)st.st_size > max) {
        close(fd);
        return tl_error_set_nopos(err, -EFBIG, "%s: larger than %zu MiB", path, max >> 20);
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    int e = errno;
    close(fd);
    if (p == MAP_FAILED)
        return tl_error_set_nopos(err, -e, "%s: cannot map: %s", path, strerror(e));
    *m = (struct tlh_file_map){.buf = p, .len = (size_t)st.st_size};
    return 1;
}

void tlh_file_unmap(struct tlh_file_map *m)
{
    if (m->buf)
        munmap(m->buf, m->len);
    *m = (struct tlh_file_map){0};
}

int tlh_file_check_private(const char *path, struct tl_error *err)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return tl_error_set_nopos(err, -errno, "%s: cannot open: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return tl_error_set_nopos(err, -EPERM, "%s: not a regular file", path);
    if (st.st_mode & 077)
        return tl_error_set_nopos(err, -EPERM,
                                  "%s: readable by group or others (mode %04o); chmod 600 it", path,
                                  st.st_mode & 07777);
    return 0;
}

/* A new file (never over an existing one) with mode, synced. */
int tlh_file_write_new(const char *path, const void *data, size_t len, mode_t mode,
                       struct tl_error *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return tl_error_set_nopos(err, -errno, "%s: cannot create: %s", path, strerror(errno));
    const uint8_t *p = data;
    int r = 0;
    while (len > 0 && r == 0) {
        ssize_t k = write(fd, p, len);
        if (k < 0 && errno != EINTR)
            r = -errno;
        else if (k > 0)
            p += k, len -= (size_t)k;
    }
    if (r == 0 && fsync(fd) < 0)
        r = -errno;
    close(fd);
    if (r < 0) {
        unlink(path);
        return tl_error_set_nopos(err, r, "%s: cannot write: %s", path, strerror(-r));
    }
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

static int remove_below(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag;
    if (ftw->level > 0)
        remove(path);
    return 0;
}

void tlh_file_remove_tree(const char *path, bool keep_top)
{
    nftw(path, keep_top ? remove_below : remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}
