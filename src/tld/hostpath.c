/* Host paths a caller names (a node's image, a variable store): only from
 * the platform's own stores.
 *
 * A request may name an image folder or a variable store; tld copies the
 * store and QEMU reads the image as tld's user. Taken as given, such a path
 * is a way to read any file tld may read (a node created with /etc/shadow
 * as its variable store), to stall tld (a FIFO opened under its lock) or
 * to hand QEMU a block device. So:
 *   - the path, with every symlink resolved, must lie in a store root:
 *     TL_HOME/images, TL_HOME/vars, or a folder listed in TL_STORE_DIRS
 *     (colon-separated, read once at tld's start: the operator's
 *     configuration, never a request's);
 *   - the files read (disk.raw, manifest.json, the variable store) are
 *     opened with O_NOFOLLOW | O_NONBLOCK and must be regular files within
 *     a size cap: a symlink swapped in after the check, a FIFO or a device
 *     is refused without blocking.
 * A refusal is a 400 that names the rule. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tld.h"

static int add_root(struct tld *t, const char *path)
{
    if (t->n_store_roots == sizeof(t->store_roots) / sizeof(t->store_roots[0]))
        return -ENOSPC;
    char *real = realpath(path, NULL);
    /* a root that does not exist yet (TL_HOME/vars) is kept as written */
    snprintf(t->store_roots[t->n_store_roots++], PATH_MAX, "%s", real ? real : path);
    free(real);
    return 0;
}

int tld_hostpath_init(struct tld *t)
{
    char p[PATH_MAX + 16];
    char *home = realpath(t->home, NULL);
    if (!home)
        return -errno;
    snprintf(p, sizeof(p), "%s/images", home);
    add_root(t, p);
    snprintf(p, sizeof(p), "%s/vars", home);
    add_root(t, p);
    free(home);
    const char *env = getenv("TL_STORE_DIRS");
    if (!env)
        return 0;
    char *list = strdup(env), *save = NULL;
    if (!list)
        return -ENOMEM;
    for (char *d = strtok_r(list, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        if (d[0] != '/') {
            tld_log("TL_STORE_DIRS: %s is not an absolute path; ignored", d);
            continue;
        }
        if (add_root(t, d) < 0) {
            tld_log("TL_STORE_DIRS: more than %zu folders; %s and after ignored",
                    sizeof(t->store_roots) / sizeof(t->store_roots[0]) - 2, d);
            break;
        }
    }
    free(list);
    return 0;
}

int tld_hostpath_resolve(const struct tld *t, const char *what, const char *given, char *out,
                         size_t size, struct tl_error *err)
{
    char *real = realpath(given, NULL);
    if (!real)
        return tl_error_set_nopos(err, -EINVAL, "%s %s: %s", what, given, strerror(errno));
    int status =
        tl_error_set_nopos(err, -EINVAL,
                           "%s %s: not in the platform's stores (TL_HOME/images, TL_HOME/vars or a "
                           "folder of TL_STORE_DIRS)",
                           what, given);
    for (size_t i = 0; i < t->n_store_roots; i++) {
        size_t n = strlen(t->store_roots[i]);
        if (n == 1 && t->store_roots[i][0] == '/')
            n = 0; /* "/": everything is beneath it */
        if (strncmp(real, t->store_roots[i], n) == 0 && (real[n] == '/' || real[n] == 0)) {
            status = snprintf(out, size, "%s", real) < (int)size
                         ? 0
                         : tl_error_set_nopos(err, -EINVAL, "%s: too long", what);
            break;
        }
    }
    free(real);
    return status;
}

int tld_hostpath_open(const struct tld *t, const char *path, off_t max, int *fd_out, off_t *size,
                      struct tl_error *err)
{
    /* A link inside a store is followed only to a file in a store (an
     * image folder of links to another image's files); then the file
     * itself is opened without following anything. */
    char real[PATH_MAX];
    int r = tld_hostpath_resolve(t, "file", path, real, sizeof(real), err);
    if (r)
        return r;
    int fd = open(real, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return tl_error_set_nopos(err, -EINVAL, "%s: %s", path,
                                  errno == ELOOP ? "a symlink (swapped in: refused)"
                                                 : strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return tl_error_set_nopos(
            err, -EINVAL, "%s: not a regular file (a FIFO, a device or a folder is refused)", path);
    }
    if (st.st_size > max) {
        close(fd);
        return tl_error_set_nopos(err, -EINVAL, "%s: %lld bytes, over the cap of %lld", path,
                                  (long long)st.st_size, (long long)max);
    }
    /* regular: reads do not block; clear O_NONBLOCK for the callers' loops */
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    *fd_out = fd;
    if (size)
        *size = st.st_size;
    return 0;
}
