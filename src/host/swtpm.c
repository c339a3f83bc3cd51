/* Speaking to a running swtpm (swtpm.h): the control channel, and a TPM
 * data channel handed over with CMD_SET_DATAFD (what QEMU does). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tlhost/swtpm.h"

#define TCTI_MAGIC 0x746c682d66647463ull /* "tlh-fdtc" */

int tlh_swtpm_socket_connect(const char *path, struct tl_error *err)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(a.sun_path))
        return tl_error_set_nopos(err, -ENAMETOOLONG, "%s: too long for a socket", path);
    strcpy(a.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        fd = -1;
    }
    return fd >= 0 ? fd : tl_error_set_nopos(err, -errno, "%s: %s", path, strerror(errno));
}

static int read_full(int fd, void *buf, size_t len, long timeout_ms)
{
    uint8_t *p = buf;
    while (len) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int r = poll(&pfd, 1, (int)(timeout_ms > 0 ? timeout_ms : 0));
        if (r == 0)
            return -ETIMEDOUT;
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        ssize_t n = read(fd, p, len);
        if (n == 0)
            return -ECONNRESET;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int write_full(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int tlh_swtpm_ctrl(const char *ctrl, uint32_t cmd, int pass_fd, long timeout_ms, uint32_t *result,
                   struct tl_error *err)
{
    int fd = tlh_swtpm_socket_connect(ctrl, err);
    if (fd < 0)
        return fd;
    uint8_t msg[4] = {cmd >> 24, cmd >> 16, cmd >> 8, cmd};
    struct iovec iov = {.iov_base = msg, .iov_len = sizeof(msg)};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    if (pass_fd >= 0) {
        memset(&u, 0, sizeof(u));
        mh.msg_control = u.buf;
        mh.msg_controllen = sizeof(u.buf);
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
    }
    int r = 0;
    if (sendmsg(fd, &mh, MSG_NOSIGNAL) != (ssize_t)sizeof(msg))
        r = errno ? -errno : -EIO;
    uint8_t res[4];
    if (r == 0)
        r = read_full(fd, res, sizeof(res), timeout_ms);
    close(fd);
    if (r < 0)
        return tl_error_set_nopos(err, r, "%s: command 0x%x: %s", ctrl, cmd, strerror(-r));
    if (result)
        *result = (uint32_t)res[0] << 24 | (uint32_t)res[1] << 16 | (uint32_t)res[2] << 8 | res[3];
    return 0;
}

int tlh_swtpm_shutdown(const char *ctrl, long timeout_ms, struct tl_error *err)
{
    uint32_t res = 1;
    int r = tlh_swtpm_ctrl(ctrl, TLH_SWTPM_CMD_SHUTDOWN, -1, timeout_ms, &res, err);
    if (r < 0)
        return r;
    return res == 0 ? 0
                    : tl_error_set_nopos(err, -EIO, "%s: CMD_SHUTDOWN refused (0x%x)", ctrl, res);
}

/* ---- a TCTI over one descriptor ---- */

static TSS2_RC fd_transmit(TSS2_TCTI_CONTEXT *ctx, size_t size, const uint8_t *cmd)
{
    struct tlh_swtpm_data *d = (struct tlh_swtpm_data *)ctx;
    return write_full(d->fd, cmd, size) == 0 ? TSS2_RC_SUCCESS : TSS2_TCTI_RC_IO_ERROR;
}

static TSS2_RC fd_receive(TSS2_TCTI_CONTEXT *ctx, size_t *size, uint8_t *resp, int32_t timeout)
{
    struct tlh_swtpm_data *d = (struct tlh_swtpm_data *)ctx;
    (void)timeout; /* bounded by TLH_SWTPM_IO_TIMEOUT_MS */
    if (!resp) {
        *size = 4096;
        return TSS2_RC_SUCCESS;
    }
    /* TPM 2.0 Part 1, 18.4: tag (2), responseSize (4), responseCode (4) */
    if (*size < 10)
        return TSS2_TCTI_RC_INSUFFICIENT_BUFFER;
    if (read_full(d->fd, resp, 10, TLH_SWTPM_IO_TIMEOUT_MS) < 0)
        return TSS2_TCTI_RC_IO_ERROR;
    uint32_t len =
        (uint32_t)resp[2] << 24 | (uint32_t)resp[3] << 16 | (uint32_t)resp[4] << 8 | resp[5];
    if (len < 10 || len > *size)
        return TSS2_TCTI_RC_MALFORMED_RESPONSE;
    if (len > 10 && read_full(d->fd, resp + 10, len - 10, TLH_SWTPM_IO_TIMEOUT_MS) < 0)
        return TSS2_TCTI_RC_IO_ERROR;
    *size = len;
    return TSS2_RC_SUCCESS;
}

static void fd_finalize(TSS2_TCTI_CONTEXT *ctx)
{
    (void)ctx;
}

int tlh_swtpm_data_open(const char *ctrl, struct tlh_swtpm_data *d, struct tl_error *err)
{
    *d = (struct tlh_swtpm_data){.fd = -1};
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return tl_error_set_nopos(err, -errno, "socketpair: %s", strerror(errno));
    uint32_t res = 0;
    struct tl_error e = {0};
    int r =
        tlh_swtpm_ctrl(ctrl, TLH_SWTPM_CMD_SET_DATAFD, sv[1], TLH_SWTPM_IO_TIMEOUT_MS, &res, &e);
    close(sv[1]);
    if (r < 0 || res != 0) {
        close(sv[0]);
        return tl_error_set_nopos(err, r < 0 ? r : -EIO, "swtpm did not take a data channel (%s)",
                                  r < 0 ? strerror(-r) : "refused");
    }
    d->tcti = (TSS2_TCTI_CONTEXT_COMMON_V1){.magic = TCTI_MAGIC,
                                            .version = 1,
                                            .transmit = fd_transmit,
                                            .receive = fd_receive,
                                            .finalize = fd_finalize};
    d->fd = sv[0];
    TSS2_RC rc = Esys_Initialize(&d->esys, (TSS2_TCTI_CONTEXT *)&d->tcti, NULL);
    if (rc != TSS2_RC_SUCCESS) {
        close(d->fd);
        *d = (struct tlh_swtpm_data){.fd = -1};
        return tl_error_set_nopos(err, -EIO, "Esys_Initialize: 0x%x", rc);
    }
    return 0;
}

void tlh_swtpm_data_close(struct tlh_swtpm_data *d)
{
    if (d->esys)
        Esys_Finalize(&d->esys);
    if (d->fd >= 0)
        close(d->fd);
    d->fd = -1;
}
