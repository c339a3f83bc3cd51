/* Whole-file reads and new-file writes (file.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
