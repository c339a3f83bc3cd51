/* The paravisor relay (paravisor.h): QEMU <-> relay <-> swtpm.
 *
 * One thread, one poll loop, no state outside struct tlh_paravisor.
 *  - Control channel: QEMU connects to listen_path; the relay connects to
 *    swtpm's control socket and copies bytes both ways as they come. The
 *    one thing it changes: the descriptor QEMU passes with CMD_SET_DATAFD
 *    (SCM_RIGHTS, on the message that starts with the command) stays with
 *    the relay, and swtpm gets one end of a socket pair of the relay's own
 *    with the same bytes. Like swtpm, one control connection at a time
 *    (the next waits in the listen backlog).
 *  - Data channel: one command in flight. A command is read header first
 *    (tag, commandSize, commandCode); a commandSize under 10 or over
 *    TLH_PARAVISOR_MSG_MAX is answered TPM_RC_COMMAND_SIZE and what the
 *    guest already sent is dropped; a command that stops arriving for
 *    io_timeout_ms is answered TPM_RC_COMMAND_SIZE too. A whole command
 *    is classified (paravisor_nv.c): answered by the relay, or written to
 *    swtpm, whose answer (checked the same way) goes back to QEMU. swtpm
 *    not answering within tpm_timeout_ms, or answering nonsense, ends the
 *    data channel (QEMU sees its vTPM gone), never the relay.
 *  - After swtpm accepted an NV_Write to 0x01400002, the relay reads the
 *    index back on its own channel (an NV_Read with the index's empty
 *    password: the guest may have used an HMAC session with parameter
 *    encryption, and may have written part of it), falls back to the
 *    written bytes when that read fails (the guest may have redefined the
 *    index with a password), asks refresh() for a report carrying them and
 *    only then answers the guest, so its next read sees the new report. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "tl/tpmcmd.h"
#include "tlhost/paravisor.h"
#include "tlhost/swtpm.h"

#define CTRL_CHUNK     4096
#define MAX_PASSED_FDS 4

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* Waits for fd to be ready for events until deadline: 0, -ETIMEDOUT. */
static int wait_fd(int fd, short events, long long deadline)
{
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0)
            return -ETIMEDOUT;
        struct pollfd p = {.fd = fd, .events = events};
        int r = poll(&p, 1, (int)(left > 60000 ? 60000 : left));
        if (r > 0)
            return 0;
        if (r < 0 && errno != EINTR)
            return -errno;
    }
}

/* Sends (out) or receives len bytes of buf by deadline: 0, -ETIMEDOUT,
 * -ECONNRESET when the peer closed, or the socket's error. */
static int transfer(int fd, uint8_t *buf, size_t len, long long deadline, bool out)
{
    while (len) {
        ssize_t n = out ? send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT)
                        : recv(fd, buf, len, MSG_DONTWAIT);
        if (n == 0 && !out)
            return -ECONNRESET;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int r = wait_fd(fd, out ? POLLOUT : POLLIN, deadline);
            if (r < 0)
                return r;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static int write_all(int fd, const void *buf, size_t len, long timeout_ms)
{
    return transfer(fd, (uint8_t *)buf, len, now_ms() + timeout_ms, true);
}

static int read_all(int fd, void *buf, size_t len, long long deadline)
{
    return transfer(fd, buf, len, deadline, false);
}

static uint32_t be32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* ---- opening ---- */

static int replace_report(struct tlh_paravisor *pv, const uint8_t user_data[64],
                          struct tl_error *err)
{
    uint8_t *rep = NULL;
    size_t len = 0;
    struct tl_error e = {0};
    int r = pv->cfg.refresh(pv->cfg.opaque, user_data, &rep, &len, &e);
    if (r < 0) {
        free(rep);
        return tl_error_set_nopos(err, r, "refresh: %s", e.message);
    }
    if (!rep || len == 0 || len > TLH_PARAVISOR_REPORT_MAX) {
        free(rep);
        return tl_error_set_nopos(err, -EMSGSIZE, "refresh: a report of %zu bytes (at most %u)",
                                  len, TLH_PARAVISOR_REPORT_MAX);
    }
    free(pv->report);
    pv->report = rep;
    pv->report_len = len;
    return 0;
}

int tlh_paravisor_open(struct tlh_paravisor *pv, const struct tlh_paravisor_config *cfg,
                       struct tl_error *err)
{
    *pv = (struct tlh_paravisor){.cfg = *cfg,
                                 .listen_fd = -1,
                                 .qemu_ctrl = -1,
                                 .swtpm_ctrl = -1,
                                 .guest_data = -1,
                                 .tpm_data = -1};
    if (!pv->cfg.io_timeout_ms)
        pv->cfg.io_timeout_ms = 5000;
    if (!pv->cfg.tpm_timeout_ms)
        pv->cfg.tpm_timeout_ms = 60000;
    if (!cfg->refresh)
        return tl_error_set_nopos(err, -EINVAL, "paravisor: no refresh callback");
    /* bound and listening under a temporary name, then renamed: whoever
     * waits for the socket file (the launch, then QEMU) never finds one
     * that refuses connections */
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(cfg->listen_path) + 4 >= sizeof(a.sun_path))
        return tl_error_set_nopos(err, -ENAMETOOLONG, "%s: too long for a socket",
                                  cfg->listen_path);
    snprintf(a.sun_path, sizeof(a.sun_path), "%s.new", cfg->listen_path);
    struct stat st;
    if (lstat(cfg->listen_path, &st) == 0 && !S_ISSOCK(st.st_mode))
        return tl_error_set_nopos(err, -EEXIST, "%s: exists and is not a socket", cfg->listen_path);
    const uint8_t zero[TLH_PARAVISOR_USER_DATA] = {0};
    int r = replace_report(pv, zero, err);
    if (r < 0)
        return r;
    if (lstat(a.sun_path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(a.sun_path);
    pv->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool bound = pv->listen_fd >= 0 && bind(pv->listen_fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    if (!bound || chmod(a.sun_path, 0600) < 0 || listen(pv->listen_fd, 4) < 0 ||
        rename(a.sun_path, cfg->listen_path) < 0) {
        r = -errno;
        if (bound)
            unlink(a.sun_path);
        tlh_paravisor_close(pv);
        return tl_error_set_nopos(err, r, "%s: %s", cfg->listen_path, strerror(-r));
    }
    return 0;
}

void tlh_paravisor_close(struct tlh_paravisor *pv)
{
    close_fd(&pv->listen_fd);
    close_fd(&pv->qemu_ctrl);
    close_fd(&pv->swtpm_ctrl);
    close_fd(&pv->guest_data);
    close_fd(&pv->tpm_data);
    free(pv->report);
    pv->report = NULL;
    pv->report_len = 0;
}

/* ---- the control channel ---- */

static void ctrl_end(struct tlh_paravisor *pv)
{
    close_fd(&pv->qemu_ctrl);
    close_fd(&pv->swtpm_ctrl);
}

static void data_end(struct tlh_paravisor *pv, const char *why)
{
    if (why && pv->guest_data >= 0)
        tl_error_set_nopos(&pv->last_error, -EIO, "data channel closed: %s", why);
    close_fd(&pv->guest_data);
    close_fd(&pv->tpm_data);
    pv->cmd_have = 0;
    pv->in_flight = false;
}

static void ctrl_accept(struct tlh_paravisor *pv)
{
    int fd = accept4(pv->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return;
    struct tl_error e = {0};
    int s = tlh_swtpm_socket_connect(pv->cfg.swtpm_ctrl, &e);
    if (s < 0) {
        pv->last_error = e;
        close(fd); /* QEMU sees its vTPM fail, as it would without swtpm */
        return;
    }
    pv->qemu_ctrl = fd;
    pv->swtpm_ctrl = s;
}

/* Sends bytes to swtpm's control socket, with fd (SCM_RIGHTS) if >= 0. */
static int ctrl_send(struct tlh_paravisor *pv, const uint8_t *buf, size_t len, int fd)
{
    if (fd < 0)
        return write_all(pv->swtpm_ctrl, buf, len, pv->cfg.io_timeout_ms);
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
    union {
        char b[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof(u));
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof(u.b)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
    ssize_t n = sendmsg(pv->swtpm_ctrl, &mh, MSG_NOSIGNAL);
    if (n < 0)
        return -errno;
    return (size_t)n == len
               ? 0
               : write_all(pv->swtpm_ctrl, buf + n, len - (size_t)n, pv->cfg.io_timeout_ms);
}

/* QEMU's descriptor with CMD_SET_DATAFD becomes the guest side; swtpm gets
 * the other end of a pair whose first end the relay keeps. */
static int set_datafd(struct tlh_paravisor *pv, const uint8_t *buf, size_t len, int qemu_fd)
{
    /* a channel whose other end is gone but whose hang-up the loop has not
     * seen yet (it was closed a moment before this connection) is over: it
     * does not make the new one "a second channel" */
    if (pv->guest_data >= 0) {
        struct pollfd p = {.fd = pv->guest_data, .events = POLLRDHUP};
        if (poll(&p, 1, 0) == 1 && p.revents & (POLLHUP | POLLRDHUP | POLLERR))
            data_end(pv, NULL);
    }
    int sv[2];
    if (pv->guest_data >= 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        /* a second channel: swtpm refuses it without a descriptor, as it
         * refuses one while it holds a channel */
        close(qemu_fd);
        return ctrl_send(pv, buf, len, -1);
    }
    int r = ctrl_send(pv, buf, len, sv[1]);
    close(sv[1]);
    if (r < 0) {
        close(sv[0]);
        close(qemu_fd);
        return r;
    }
    pv->guest_data = qemu_fd;
    pv->tpm_data = sv[0];
    pv->sessions = (struct tlh_pv_sessions){0};
    pv->cmd_have = 0;
    pv->in_flight = false;
    pv->stats.data_channels++;
    return 0;
}

static void ctrl_from_qemu(struct tlh_paravisor *pv)
{
    uint8_t buf[CTRL_CHUNK];
    struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
    union {
        char b[CMSG_SPACE(MAX_PASSED_FDS * sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof(u.b)};
    ssize_t n = recvmsg(pv->qemu_ctrl, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    int fds[MAX_PASSED_FDS];
    size_t n_fds = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < k && n_fds < MAX_PASSED_FDS; i++)
            memcpy(&fds[n_fds++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
    }
    int r = n > 0 ? 0 : -ECONNRESET;
    if (r == 0 && n_fds == 1 && n >= 4 && be32(buf) == TLH_SWTPM_CMD_SET_DATAFD) {
        r = set_datafd(pv, buf, (size_t)n, fds[0]);
        n_fds = 0;
    } else if (r == 0) {
        r = ctrl_send(pv, buf, (size_t)n, -1);
    }
    for (size_t i = 0; i < n_fds; i++)
        close(fds[i]); /* a descriptor on any other command: swtpm takes none */
    if (r < 0)
        ctrl_end(pv);
}

static void ctrl_from_swtpm(struct tlh_paravisor *pv)
{
    uint8_t buf[CTRL_CHUNK];
    ssize_t n = recv(pv->swtpm_ctrl, buf, sizeof(buf), MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0 || write_all(pv->qemu_ctrl, buf, (size_t)n, pv->cfg.io_timeout_ms) < 0)
        ctrl_end(pv);
}

/* ---- the data channel ---- */

static void answer_guest(struct tlh_paravisor *pv, const uint8_t *rsp, size_t len)
{
    if (write_all(pv->guest_data, rsp, len, pv->cfg.io_timeout_ms) < 0)
        data_end(pv, "QEMU does not take the response");
}

static void refuse(struct tlh_paravisor *pv, uint32_t rc)
{
    uint8_t rsp[TL_TPM_HEADER_SIZE];
    tl_tpm_rsp_error(rc, rsp, sizeof(rsp));
    pv->stats.refused++;
    pv->cmd_have = 0;
    answer_guest(pv, rsp, sizeof(rsp));
}

/* One response from swtpm into buf: header first, its size checked. */
static int tpm_response(struct tlh_paravisor *pv, uint8_t *buf, size_t *len)
{
    long long deadline = now_ms() + pv->cfg.tpm_timeout_ms;
    int r = read_all(pv->tpm_data, buf, TL_TPM_HEADER_SIZE, deadline);
    if (r < 0)
        return r;
    uint32_t size = be32(buf + 2);
    if (size < TL_TPM_HEADER_SIZE || size > TLH_PARAVISOR_MSG_MAX)
        return -EBADMSG;
    r = read_all(pv->tpm_data, buf + TL_TPM_HEADER_SIZE, size - TL_TPM_HEADER_SIZE,
                 now_ms() + pv->cfg.io_timeout_ms);
    *len = size;
    return r;
}

/* The user-data now in 0x01400002: read back through the relay's channel;
 * the NV_Write's own data when that fails. */
static void user_data_of(struct tlh_paravisor *pv, const uint8_t *write_cmd, size_t write_len,
                         uint8_t ud[TLH_PARAVISOR_USER_DATA])
{
    uint8_t buf[TLH_PARAVISOR_MSG_MAX];
    memset(ud, 0, TLH_PARAVISOR_USER_DATA);
    int n = tl_tpm_cmd_nv_read(TLH_PARAVISOR_NV_USER_DATA, TLH_PARAVISOR_NV_USER_DATA,
                               TLH_PARAVISOR_USER_DATA, 0, buf, sizeof(buf));
    size_t len = 0;
    const uint8_t *data;
    uint16_t dlen;
    if (n > 0 && write_all(pv->tpm_data, buf, (size_t)n, pv->cfg.io_timeout_ms) == 0 &&
        tpm_response(pv, buf, &len) == 0 &&
        tl_tpm_rsp_nv_read_parse(buf, len, &data, &dlen, NULL) == 0 &&
        dlen == TLH_PARAVISOR_USER_DATA) {
        memcpy(ud, data, dlen);
        return;
    }
    struct tl_tpm_cmd c;
    uint16_t off, wlen;
    if (tl_tpm_cmd_parse(write_cmd, write_len, 2, &c, NULL) == 0 &&
        tl_tpm_nv_write_params(&c, &data, &wlen, &off, NULL) == 0 && off < TLH_PARAVISOR_USER_DATA)
        memcpy(ud + off, data,
               wlen < TLH_PARAVISOR_USER_DATA - off ? wlen : TLH_PARAVISOR_USER_DATA - off);
}

/* The guest ended a session with a command the relay answered: swtpm
 * still holds it, and is told to let it go on the relay's channel. */
static void flush_session(struct tlh_paravisor *pv, uint32_t handle)
{
    uint8_t buf[TLH_PARAVISOR_MSG_MAX];
    size_t len;
    int n = tl_tpm_cmd_flush(handle, buf, sizeof(buf));
    tlh_pv_sessions_forget(&pv->sessions, handle);
    if (n < 0 || write_all(pv->tpm_data, buf, (size_t)n, pv->cfg.io_timeout_ms) < 0 ||
        tpm_response(pv, buf, &len) < 0)
        data_end(pv, "swtpm did not answer the relay's FlushContext");
}

/* swtpm answered the command in flight. */
static void data_from_swtpm(struct tlh_paravisor *pv, bool user_data)
{
    uint8_t rsp[TLH_PARAVISOR_MSG_MAX];
    size_t len = 0;
    int r = tpm_response(pv, rsp, &len);
    if (r < 0) {
        data_end(pv, r == -ETIMEDOUT ? "swtpm did not answer" : "swtpm's answer is malformed");
        return;
    }
    pv->in_flight = false;
    tlh_pv_sessions_response(&pv->sessions, rsp, len);
    if (user_data && be32(rsp + 6) == TPM2_RC_SUCCESS) {
        uint8_t ud[TLH_PARAVISOR_USER_DATA];
        user_data_of(pv, pv->cmd, pv->cmd_have, ud);
        if (replace_report(pv, ud, &pv->last_error) == 0)
            pv->stats.refreshes++;
        else
            pv->stats.refresh_failures++;
    }
    pv->cmd_have = 0;
    if (pv->tpm_data >= 0)
        answer_guest(pv, rsp, len);
}

/* A whole command is in pv->cmd. */
static void command(struct tlh_paravisor *pv, bool *user_data)
{
    uint8_t rsp[TLH_PARAVISOR_MSG_MAX];
    struct tlh_pv_answer a = {.rsp = rsp, .cap = sizeof(rsp)};
    enum tlh_paravisor_verdict v = tlh_paravisor_classify(pv->cmd, pv->cmd_have, pv->report,
                                                          pv->report_len, &pv->sessions, &a);
    if (v == TLH_PV_ANSWERED) {
        uint32_t rc = a.len >= TL_TPM_HEADER_SIZE ? be32(rsp + 6) : TPM2_RC_FAILURE;
        if (rc == TPM2_RC_SUCCESS)
            pv->stats.served++;
        else
            pv->stats.refused++;
        pv->cmd_have = 0;
        if (a.flush)
            flush_session(pv, a.flush);
        if (pv->guest_data >= 0)
            answer_guest(pv, rsp, a.len);
        return;
    }
    *user_data = v == TLH_PV_USER_DATA;
    tlh_pv_sessions_command(&pv->sessions, pv->cmd, pv->cmd_have);
    if (write_all(pv->tpm_data, pv->cmd, pv->cmd_have, pv->cfg.io_timeout_ms) < 0) {
        data_end(pv, "swtpm does not take the command");
        return;
    }
    pv->stats.forwarded++;
    pv->in_flight = true;
    pv->deadline_ms = now_ms() + pv->cfg.tpm_timeout_ms;
}

/* Drops what the guest already sent after a command refused for its size. */
static void drain_guest(struct tlh_paravisor *pv)
{
    uint8_t junk[TLH_PARAVISOR_MSG_MAX];
    for (int i = 0; i < 64; i++)
        if (recv(pv->guest_data, junk, sizeof(junk), MSG_DONTWAIT) <= 0)
            break;
}

static void data_from_guest(struct tlh_paravisor *pv, bool *user_data)
{
    size_t want = TL_TPM_HEADER_SIZE;
    if (pv->cmd_have >= TL_TPM_HEADER_SIZE)
        want = be32(pv->cmd + 2);
    ssize_t n = recv(pv->guest_data, pv->cmd + pv->cmd_have, want - pv->cmd_have, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        data_end(pv, NULL); /* QEMU closed it */
        return;
    }
    if (pv->cmd_have == 0)
        pv->deadline_ms = now_ms() + pv->cfg.io_timeout_ms;
    pv->cmd_have += (size_t)n;
    if (pv->cmd_have == TL_TPM_HEADER_SIZE) {
        uint32_t size = be32(pv->cmd + 2);
        if (size < TL_TPM_HEADER_SIZE || size > TLH_PARAVISOR_MSG_MAX) {
            drain_guest(pv);
            refuse(pv, TPM2_RC_COMMAND_SIZE);
            return;
        }
    }
    if (pv->cmd_have >= TL_TPM_HEADER_SIZE && pv->cmd_have == be32(pv->cmd + 2))
        command(pv, user_data);
}

/* ---- the loop ---- */

int tlh_paravisor_run(struct tlh_paravisor *pv, struct tl_error *err)
{
    bool user_data = false, had_qemu = false;
    for (;;) {
        if (pv->cfg.once && had_qemu && pv->qemu_ctrl < 0 && pv->guest_data < 0)
            return 0;
        struct pollfd p[6];
        int n = 0, i_stop = -1, i_listen = -1, i_qc = -1, i_sc = -1, i_gd = -1, i_td = -1;
        if (pv->cfg.stop_fd >= 0)
            p[i_stop = n++] = (struct pollfd){.fd = pv->cfg.stop_fd, .events = POLLIN};
        if (pv->qemu_ctrl < 0)
            p[i_listen = n++] = (struct pollfd){.fd = pv->listen_fd, .events = POLLIN};
        else {
            p[i_qc = n++] = (struct pollfd){.fd = pv->qemu_ctrl, .events = POLLIN};
            p[i_sc = n++] = (struct pollfd){.fd = pv->swtpm_ctrl, .events = POLLIN};
        }
        if (pv->guest_data >= 0 && !pv->in_flight)
            p[i_gd = n++] = (struct pollfd){.fd = pv->guest_data, .events = POLLIN};
        if (pv->tpm_data >= 0)
            p[i_td = n++] = (struct pollfd){.fd = pv->tpm_data, .events = POLLIN};
        int timeout = -1;
        if (pv->guest_data >= 0 && (pv->in_flight || pv->cmd_have > 0)) {
            long long left = pv->deadline_ms - now_ms();
            timeout = left < 0 ? 0 : left > 60000 ? 60000 : (int)left;
        }
        int r = poll(p, (nfds_t)n, timeout);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return tl_error_set_nopos(err, -errno, "paravisor: poll: %s", strerror(errno));
        if (i_stop >= 0 && p[i_stop].revents)
            return 0;
        if (i_listen >= 0 && p[i_listen].revents & (POLLERR | POLLNVAL))
            return tl_error_set_nopos(err, -EIO, "%s: the listening socket failed",
                                      pv->cfg.listen_path);
        if (i_listen >= 0 && p[i_listen].revents & POLLIN) {
            ctrl_accept(pv);
            had_qemu |= pv->qemu_ctrl >= 0;
        }
        if (i_qc >= 0 && p[i_qc].revents && pv->qemu_ctrl >= 0)
            ctrl_from_qemu(pv);
        if (i_sc >= 0 && p[i_sc].revents && pv->swtpm_ctrl >= 0)
            ctrl_from_swtpm(pv);
        if (i_td >= 0 && p[i_td].revents && pv->tpm_data >= 0) {
            if (pv->in_flight)
                data_from_swtpm(pv, user_data);
            else
                data_end(pv, "swtpm closed the data channel or spoke unasked");
        } else if (i_gd >= 0 && p[i_gd].revents && pv->guest_data >= 0) {
            data_from_guest(pv, &user_data);
        }
        /* the clock: a command that stopped arriving, an answer that does not come */
        if (pv->guest_data >= 0 && now_ms() >= pv->deadline_ms) {
            if (pv->in_flight)
                data_end(pv, "swtpm did not answer in time");
            else if (pv->cmd_have > 0)
                refuse(pv, TPM2_RC_COMMAND_SIZE);
        }
    }
}
