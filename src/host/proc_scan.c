/* Finding a data directory's processes by their command line (proc.h):
 * tld, and the QEMU, swtpm and relay processes it started, all name a path
 * in that directory in their argv (--home HOME, HOME/nodes/NAME/...). `tl
 * daemon stop` uses it to leave nothing of a home running; reading /proc
 * rather than tld's store keeps it working when tld is gone or its store
 * is on a server. Only the programs named are matched, never a shell or a
 * `tail` that happens to name the home. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tlhost/proc.h"

/* comm (/proc/PID/comm, 15 bytes at most) begins with one of names. */
static bool comm_matches(pid_t pid, const char *const *names)
{
    char path[64], comm[32];
    snprintf(path, sizeof(path), "/proc/%ld/comm", (long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, comm, sizeof(comm) - 1);
    close(fd);
    if (n <= 0)
        return false;
    comm[n] = 0;
    comm[strcspn(comm, "\n")] = 0;
    for (size_t i = 0; names[i]; i++)
        if (strncmp(comm, names[i], strlen(names[i])) == 0)
            return true;
    return false;
}

/* An argument of pid is dir or lies under it (dir + "/"). */
static bool argv_names(pid_t pid, const char *dir)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%ld/cmdline", (long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    char buf[16384];
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = 0;
    size_t dlen = strlen(dir);
    for (ssize_t o = 0; o < n; o += (ssize_t)strlen(buf + o) + 1) {
        /* "file=DIR/...", "dir=DIR/...": the path may follow a key */
        const char *hit = strstr(buf + o, dir);
        if (hit && (hit[dlen] == 0 || hit[dlen] == '/' || hit[dlen] == ','))
            return true;
    }
    return false;
}

int tlh_proc_find(const char *const *names, const char *dir, struct tlh_proc *out, size_t max,
                  size_t *n, struct tl_error *err)
{
    *n = 0;
    DIR *d = opendir("/proc");
    if (!d)
        return tl_error_set_nopos(err, -errno, "/proc: %s", strerror(errno));
    struct dirent *e;
    pid_t self = getpid();
    while ((e = readdir(d))) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0 || pid == self)
            continue;
        if (!comm_matches((pid_t)pid, names) || !argv_names((pid_t)pid, dir))
            continue;
        unsigned long long start;
        if (tlh_proc_starttime((pid_t)pid, &start) < 0)
            continue; /* ended, or a zombie */
        if (*n == max) {
            closedir(d);
            return tl_error_set_nopos(err, -E2BIG, "more than %zu processes name %s", max, dir);
        }
        out[(*n)++] = (struct tlh_proc){.pid = (pid_t)pid, .start = start};
    }
    closedir(d);
    return 0;
}
