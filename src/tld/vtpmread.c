/* The host reads a node's vTPM itself.
 *
 * While QEMU runs it holds swtpm's only control connection, and swtpm
 * refuses a data socket of its own once QEMU passed it one
 * (CMD_SET_DATAFD), so a running node's TPM cannot be read from outside.
 * Once QEMU is gone (a stop, a crash), swtpm is still up with the guest's
 * volatile state, PCRs included: tld then does what QEMU does, connects to
 * the control channel, hands swtpm one end of a socket pair with
 * CMD_SET_DATAFD, and speaks TPM commands on the other end through tpm2-tss
 * (ESAPI over a minimal TCTI on that descriptor). The values read are the
 * TPM's, independent of anything the guest said.
 *
 * Control channel: "Control Channel Specification", swtpm wiki, and
 * swtpm's tpm_ioctl.h: commands are a 4-byte big-endian code, answers start
 * with a 4-byte result (0 success). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_tcti.h>
#include <unistd.h>

#include "tl/util.h"
#include "tld.h"

#define CMD_SHUTDOWN   3
#define CMD_SET_DATAFD 16
#define IO_TIMEOUT_MS  5000
#define TCTI_MAGIC     0x746c642d66647463ull /* "tld-fdtc" */

static int ctrl_connect(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(a.sun_path))
        return -ENAMETOOLONG;
    strcpy(a.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

static int read_full(int fd, void *buf, size_t len, int timeout_ms)
{
    uint8_t *p = buf;
    while (len) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int r = poll(&pfd, 1, timeout_ms);
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
        ssize_t n = write(fd, p, len);
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

/* One control command, optionally passing a descriptor; the 4-byte result. */
static int ctrl_command(const char *ctrl, uint32_t cmd, int pass_fd, uint32_t *result)
{
    int fd = ctrl_connect(ctrl);
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
        r = -errno ? -errno : -EIO;
    uint8_t res[4];
    if (r == 0)
        r = read_full(fd, res, sizeof(res), IO_TIMEOUT_MS);
    close(fd);
    if (r == 0)
        *result = (uint32_t)res[0] << 24 | (uint32_t)res[1] << 16 | (uint32_t)res[2] << 8 | res[3];
    return r;
}

int tld_vtpm_shutdown(const char *ctrl)
{
    uint32_t res;
    int r = ctrl_command(ctrl, CMD_SHUTDOWN, -1, &res);
    return r < 0 ? r : res == 0 ? 0 : -EIO;
}

/* ---- a TCTI over one descriptor ---- */

struct fd_tcti {
    TSS2_TCTI_CONTEXT_COMMON_V1 common;
    int fd;
};

static TSS2_RC fd_transmit(TSS2_TCTI_CONTEXT *ctx, size_t size, const uint8_t *cmd)
{
    struct fd_tcti *t = (struct fd_tcti *)ctx;
    return write_full(t->fd, cmd, size) == 0 ? TSS2_RC_SUCCESS : TSS2_TCTI_RC_IO_ERROR;
}

static TSS2_RC fd_receive(TSS2_TCTI_CONTEXT *ctx, size_t *size, uint8_t *resp, int32_t timeout)
{
    struct fd_tcti *t = (struct fd_tcti *)ctx;
    (void)timeout; /* bounded by IO_TIMEOUT_MS */
    if (!resp) {
        *size = 4096;
        return TSS2_RC_SUCCESS;
    }
    if (*size < 10)
        return TSS2_TCTI_RC_INSUFFICIENT_BUFFER;
    if (read_full(t->fd, resp, 10, IO_TIMEOUT_MS) < 0)
        return TSS2_TCTI_RC_IO_ERROR;
    uint32_t len =
        (uint32_t)resp[2] << 24 | (uint32_t)resp[3] << 16 | (uint32_t)resp[4] << 8 | resp[5];
    if (len < 10 || len > *size)
        return TSS2_TCTI_RC_MALFORMED_RESPONSE;
    if (len > 10 && read_full(t->fd, resp + 10, len - 10, IO_TIMEOUT_MS) < 0)
        return TSS2_TCTI_RC_IO_ERROR;
    *size = len;
    return TSS2_RC_SUCCESS;
}

static void fd_finalize(TSS2_TCTI_CONTEXT *ctx)
{
    (void)ctx;
}

static const char *alg_name(TPMI_ALG_HASH alg)
{
    switch (alg) {
    case TPM2_ALG_SHA1:
        return "sha1";
    case TPM2_ALG_SHA256:
        return "sha256";
    case TPM2_ALG_SHA384:
        return "sha384";
    case TPM2_ALG_SHA512:
        return "sha512";
    case TPM2_ALG_SM3_256:
        return "sm3_256";
    default:
        return NULL;
    }
}

static int read_pcrs(ESYS_CONTEXT *esys, json_t *out, char *msg, size_t msz)
{
    TPMS_CAPABILITY_DATA *cap = NULL;
    TSS2_RC rc = Esys_GetCapability(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_PCRS,
                                    0, 1, NULL, &cap);
    if (rc != TSS2_RC_SUCCESS) {
        snprintf(msg, msz, "TPM2_GetCapability(PCRS): 0x%x", rc);
        return -EIO;
    }
    TPML_PCR_SELECTION banks = cap->data.assignedPCR;
    Esys_Free(cap);
    for (UINT32 b = 0; b < banks.count; b++) {
        const char *name = alg_name(banks.pcrSelections[b].hash);
        bool any = false;
        for (int i = 0; i < banks.pcrSelections[b].sizeofSelect; i++)
            any |= banks.pcrSelections[b].pcrSelect[i] != 0;
        if (!name || !any)
            continue;
        json_t *bank = json_object();
        json_object_set_new(out, name, bank);
        /* TPML_DIGEST holds at most 8 values: one group of 8 PCRs a call */
        for (unsigned group = 0; group < 3; group++) {
            TPML_PCR_SELECTION sel = {.count = 1};
            sel.pcrSelections[0].hash = banks.pcrSelections[b].hash;
            sel.pcrSelections[0].sizeofSelect = 3;
            sel.pcrSelections[0].pcrSelect[group] = 0xff;
            UINT32 counter;
            TPML_PCR_SELECTION *got = NULL;
            TPML_DIGEST *values = NULL;
            rc = Esys_PCR_Read(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &sel, &counter, &got,
                               &values);
            if (rc != TSS2_RC_SUCCESS) {
                snprintf(msg, msz, "TPM2_PCR_Read(%s): 0x%x", name, rc);
                return -EIO;
            }
            unsigned k = 0;
            for (unsigned i = 8 * group; i < 8 * group + 8 && got->count == 1; i++) {
                if (!(got->pcrSelections[0].pcrSelect[i / 8] & (1u << (i % 8))) ||
                    k >= values->count)
                    continue;
                char hex[2 * sizeof(values->digests[k].buffer) + 1], key[4];
                tl_hex_encode(values->digests[k].buffer, values->digests[k].size, hex);
                snprintf(key, sizeof(key), "%u", i);
                json_object_set_new(bank, key, json_string(hex));
                k++;
            }
            Esys_Free(got);
            Esys_Free(values);
        }
    }
    return 0;
}

int tld_vtpm_read_pcrs(const char *ctrl, json_t **out, char *msg, size_t msz)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        snprintf(msg, msz, "socketpair: %s", strerror(errno));
        return -errno;
    }
    uint32_t res = 0;
    int r = ctrl_command(ctrl, CMD_SET_DATAFD, sv[1], &res);
    close(sv[1]);
    if (r < 0 || res != 0) {
        snprintf(msg, msz, "swtpm did not take a data channel (%s)",
                 r < 0 ? strerror(-r) : "refused");
        close(sv[0]);
        return r < 0 ? r : -EIO;
    }
    struct fd_tcti tcti = {
        .common = {.magic = TCTI_MAGIC,
                   .version = 1,
                   .transmit = fd_transmit,
                   .receive = fd_receive,
                   .finalize = fd_finalize},
        .fd = sv[0],
    };
    ESYS_CONTEXT *esys = NULL;
    TSS2_RC rc = Esys_Initialize(&esys, (TSS2_TCTI_CONTEXT *)&tcti, NULL);
    if (rc != TSS2_RC_SUCCESS) {
        snprintf(msg, msz, "Esys_Initialize: 0x%x", rc);
        close(sv[0]);
        return -EIO;
    }
    json_t *pcrs = json_object();
    r = read_pcrs(esys, pcrs, msg, msz);
    /* End the TPM's power cycle in order, as firmware does at S5: the
     * guest was killed and never sent TPM2_Shutdown, and a TPM counts each
     * unorderly shutdown against its dictionary-attack limit (3 in a fresh
     * swtpm): a node stopped or reimaged three times would find its
     * DA-protected keys (the agent's AK) locked out. */
    TSS2_RC src = Esys_Shutdown(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_SU_STATE);
    if (src != TSS2_RC_SUCCESS)
        tld_log("vTPM %s: TPM2_Shutdown(STATE): 0x%x", ctrl, src);
    Esys_Finalize(&esys);
    close(sv[0]);
    if (r < 0) {
        json_decref(pcrs);
        return r;
    }
    *out = pcrs;
    return 0;
}
