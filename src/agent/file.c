/* Whole-file reads for the agent's inputs. sysfs and securityfs files
 * (binary_bios_measurements, fw_cfg's raw) report a size of 0 or a page, so
 * the size comes from reading to the end, never from stat. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"

int agent_read_file(const char *path, size_t max, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOTDIR ? -ENOENT : -errno;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        return -EISDIR;
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
        return r;
    }
    buf[n] = 0;
    *out = buf;
    *len = n;
    return 0;
}
