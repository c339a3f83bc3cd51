/* The host library (see file.h for its rules).
 *
 * swtpm.h: speaking to a running swtpm. Its control channel ("Control
 * Channel Specification", swtpm wiki; swtpm's tpm_ioctl.h): a command is a
 * 4-byte big-endian code (plus parameters), an answer starts with a 4-byte
 * result, 0 for success; tpm2-tss has no call for it. And a TPM data
 * channel the way QEMU gets one: one end of a socket pair handed over with
 * CMD_SET_DATAFD, spoken to through ESAPI over a minimal TCTI on that
 * descriptor. swtpm accepts that only while nobody (no QEMU) holds one. */
#pragma once

#include <stdint.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_tcti.h>

#include "tl/error.h"

#define TLH_SWTPM_CMD_GET_CAPABILITY 0x01
#define TLH_SWTPM_CMD_SHUTDOWN       0x03
#define TLH_SWTPM_CMD_SET_DATAFD     0x10
#define TLH_SWTPM_IO_TIMEOUT_MS      5000

/* A connection to one of swtpm's Unix sockets (close-on-exec): the fd, or
 * -errno (-ENOENT, -ECONNREFUSED: no swtpm there). */
int tlh_swtpm_socket_connect(const char *path, struct tl_error *err);
/* One control command without parameters on the socket ctrl; pass_fd >= 0
 * goes along (SCM_RIGHTS). *result (if not NULL) gets the 4-byte result.
 * -errno of the connection (-ENOENT, -ECONNREFUSED: no swtpm there),
 * -ETIMEDOUT when no answer came within timeout_ms. */
int tlh_swtpm_ctrl(const char *ctrl, uint32_t cmd, int pass_fd, long timeout_ms, uint32_t *result,
                   struct tl_error *err);
/* CMD_SHUTDOWN: 0 once swtpm said it stops (it exits then), -EIO when it
 * refused. */
int tlh_swtpm_shutdown(const char *ctrl, long timeout_ms, struct tl_error *err);

/* A TPM data channel on a descriptor and the ESYS context on it. */
struct tlh_swtpm_data {
    TSS2_TCTI_CONTEXT_COMMON_V1 tcti; /* first: the TCTI tpm2-tss sees */
    int fd;
    ESYS_CONTEXT *esys;
};

/* Hands swtpm (control socket ctrl) a data channel and opens ESYS on it. */
int tlh_swtpm_data_open(const char *ctrl, struct tlh_swtpm_data *d, struct tl_error *err);
void tlh_swtpm_data_close(struct tlh_swtpm_data *d);
