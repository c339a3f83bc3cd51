/* `tld --paravisor LISTEN SWTPM_CTRL NODE_DIR`: a confidential node's
 * paravisor relay (src/host/paravisor.c), one process per node, between
 * QEMU's vTPM chardev (LISTEN) and swtpm's control socket.
 *
 * Why a process of its own, and why tld's binary: the relay parses guest
 * bytes, so a fault in it must not take tld down, and tld restarting must
 * not take a running VM's vTPM away (tld adopts running nodes by pid, as
 * it does QEMU and swtpm); a mode of tld rather than a new program because
 * it needs what tld links (the host library, the report builder) and the
 * node launch already knows how to find and supervise tld (`--relay` is
 * the same idea for the agent channel).
 *
 * The report: NODE_DIR/hcl-report.bin is the HCL report the launch wrote
 * (zero user-data); a refresh with other user-data needs the emulated
 * secure processor to sign a new hardware report, which
 * tld_paravisor_report_build() will call once it exists (branch cvmemu):
 * until then a refresh fails, the relay keeps serving the report it has,
 * and a verifier sees the user-data it asked for missing.
 *
 * Ends on SIGTERM / SIGINT, or when QEMU has closed both channels; exit
 * status 0, 1 when the relay could not start (the reason on stderr: the
 * launch sends it to the node's paravisor.log). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "tld.h"
#include "tlhost/file.h"
#include "tlhost/paravisor.h"

static const uint8_t zero_user_data[TLH_PARAVISOR_USER_DATA];

/* A fresh report for user_data. */
static int report_build(void *opaque, const uint8_t user_data[TLH_PARAVISOR_USER_DATA],
                        uint8_t **report, size_t *len, struct tl_error *err)
{
    const char *node_dir = opaque;
    if (memcmp(user_data, zero_user_data, sizeof(zero_user_data)) != 0)
        return tl_error_set_nopos(err, -ENOSYS,
                                  "a report with user-data needs the emulated secure processor");
    char path[4096];
    if ((size_t)snprintf(path, sizeof(path), "%s/hcl-report.bin", node_dir) >= sizeof(path))
        return tl_error_set_nopos(err, -ENAMETOOLONG, "%s: path too long", node_dir);
    return tlh_file_read(path, TLH_PARAVISOR_REPORT_MAX, report, len, err);
}

int tld_paravisor_main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: tld --paravisor LISTEN SWTPM_CTRL NODE_DIR\n");
        return 2;
    }
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    signal(SIGPIPE, SIG_IGN);
    int sfd = -1;
    if (sigprocmask(SIG_BLOCK, &stop, NULL) < 0 || (sfd = signalfd(-1, &stop, SFD_CLOEXEC)) < 0) {
        fprintf(stderr, "tld --paravisor: signalfd: %s\n", strerror(errno));
        return 1;
    }
    struct tlh_paravisor_config cfg = {.listen_path = argv[2],
                                       .swtpm_ctrl = argv[3],
                                       .refresh = report_build,
                                       .opaque = argv[4],
                                       .stop_fd = sfd,
                                       .once = true};
    struct tlh_paravisor pv;
    struct tl_error err = {0};
    int r = tlh_paravisor_open(&pv, &cfg, &err);
    if (r < 0) {
        fprintf(stderr, "tld --paravisor: %s\n", err.message);
        close(sfd);
        return 1;
    }
    r = tlh_paravisor_run(&pv, &err);
    if (r < 0)
        fprintf(stderr, "tld --paravisor: %s\n", err.message);
    fprintf(stderr,
            "tld --paravisor: %lu commands relayed, %lu answered, %lu refused, %lu refreshes "
            "(%lu failed)%s%s\n",
            pv.stats.forwarded, pv.stats.served, pv.stats.refused, pv.stats.refreshes,
            pv.stats.refresh_failures, pv.last_error.message[0] ? "; last: " : "",
            pv.last_error.message);
    unlink(argv[2]);
    tlh_paravisor_close(&pv);
    close(sfd);
    return r < 0 ? 1 : 0;
}
