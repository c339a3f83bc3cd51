/* tpm-fdpipe CTRL: a TPM data channel on stdin/stdout, for tpm2-tools'
 * "cmd" TCTI (TPM2TOOLS_TCTI="cmd:tpm-fdpipe CTRL"). It does what QEMU does
 * with a vTPM's control socket (swtpm's, or the paravisor relay's): hands
 * over one end of a socket pair with CMD_SET_DATAFD, then copies commands
 * from stdin to it and responses back to stdout until stdin ends. A test
 * tool: tests/cli/paravisor_cli.sh points tpm2_nvread at the relay with it. */
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tlhost/swtpm.h"

static int copy(int from, int to)
{
    char buf[4096];
    ssize_t n = read(from, buf, sizeof(buf));
    if (n <= 0)
        return -1;
    for (ssize_t off = 0; off < n;) {
        ssize_t w = write(to, buf + off, (size_t)(n - off));
        if (w <= 0)
            return -1;
        off += w;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: tpm-fdpipe CTRL_SOCKET\n");
        return 2;
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return 1;
    uint32_t res = 1;
    struct tl_error err = {0};
    /* a vTPM holds one data channel: the previous command's tpm-fdpipe may
     * still be exiting (the cmd TCTI does not wait for it), so a refusal is
     * retried for up to two seconds before it is final */
    int r = -1;
    for (int tries = 0; tries < 40; tries++) {
        err = (struct tl_error){0};
        r = tlh_swtpm_ctrl(argv[1], TLH_SWTPM_CMD_SET_DATAFD, sv[1], TLH_SWTPM_IO_TIMEOUT_MS,
                           &res, &err);
        if (r < 0 || res == 0)
            break;
        usleep(50000);
    }
    if (r < 0 || res != 0) {
        fprintf(stderr, "tpm-fdpipe: %s: no data channel (%s)\n", argv[1],
                err.message[0] ? err.message : "refused");
        return 1;
    }
    close(sv[1]);
    for (;;) {
        struct pollfd p[2] = {{.fd = 0, .events = POLLIN}, {.fd = sv[0], .events = POLLIN}};
        if (poll(p, 2, -1) < 0)
            return 1;
        if (p[0].revents && copy(0, sv[0]) < 0)
            return 0;
        if (p[1].revents && copy(sv[0], 1) < 0)
            return 1;
    }
}
