/* A listener's address file in HOME: "SCHEME://127.0.0.1:PORT PID", one
 * line, replaced atomically (tld.addr for the admin API, tl reads it;
 * kube.addr for the Kubernetes API). A restarted tld reads the port back
 * and takes it again when free: agents and kubeconfigs were given it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tld.h"

int tld_addr_previous(const struct tld *t, const char *file, const char *scheme)
{
    char path[PATH_MAX + 16], line[128], fmt[32];
    snprintf(path, sizeof(path), "%s/%s", t->home, file);
    snprintf(fmt, sizeof(fmt), "%s://127.0.0.1:%%d", scheme);
    FILE *f = fopen(path, "re");
    if (!f)
        return -ENOENT;
    int port = 0;
    bool ok =
        fgets(line, sizeof(line), f) && sscanf(line, fmt, &port) == 1 && port > 0 && port < 65536;
    fclose(f);
    return ok ? port : -EINVAL;
}

int tld_addr_write(const struct tld *t, const char *file, const char *scheme, int port)
{
    char path[PATH_MAX], tmp[PATH_MAX + 8];
    snprintf(path, sizeof(path), "%s/%s", t->home, file);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -errno;
    fprintf(f, "%s://127.0.0.1:%d %ld\n", scheme, port, (long)getpid());
    if (fflush(f) != 0 || fsync(fileno(f)) < 0) {
        fclose(f);
        return -EIO;
    }
    fclose(f);
    return rename(tmp, path) < 0 ? -errno : 0;
}
