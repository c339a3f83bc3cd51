/* Whole-file reads (file.h). */
#include <errno.h>
#include <fcntl.h>
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
