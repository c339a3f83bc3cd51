/* systemd's readiness protocol (sd_notify(3)), without libsystemd: one
 * datagram "READY=1" to $NOTIFY_SOCKET once tld serves, so that tld.service
 * (Type=notify) counts tld started only when tld.addr is written and the
 * API answers, as `tld --daemon`'s parent does for tl. No socket set: no-op. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tld.h"

int tld_notify(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !*path)
        return 0;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t len = strlen(path);
    /* "/run/..." or "@abstract" (a leading NUL on the wire) */
    if ((path[0] != '/' && path[0] != '@') || len >= sizeof(sa.sun_path))
        return -EINVAL;
    memcpy(sa.sun_path, path, len);
    if (path[0] == '@')
        sa.sun_path[0] = 0;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    ssize_t n = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa,
                       (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
    int r = n < 0 ? -errno : 0;
    close(fd);
    return r;
}
