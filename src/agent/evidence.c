/* The boot evidence a node reports: the Secure Boot state the firmware
 * exposes, the TPM's PCRs and EK certificates (tpm.c), the firmware event
 * log the kernel's EFI stub handed over, and what kernel runs with which
 * command line.
 *
 * None of it is trusted by the receiver on its own: the event log is checked
 * against the PCRs, the PCRs (later) against a quote. The agent reports what
 * it reads, as it reads it, and fails rather than guess: a log that exists
 * but cannot be read is an error, not "absent". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "agent.h"
#include "tlhost/file.h"

/* EFI_GLOBAL_VARIABLE (UEFI 2.10, 3.3). */
#define SECURE_BOOT_VAR "SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"

const char *agent_secure_boot_state(const char *efivars_dir)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", efivars_dir, SECURE_BOOT_VAR) >= sizeof(path))
        return "unknown";
    uint8_t *buf = NULL;
    size_t len = 0;
    if (tlh_file_read(path, 64, &buf, &len, NULL) < 0)
        return "unknown";
    /* efivarfs: UINT32 attributes, then the data: one byte, 1 = enabled. */
    const char *state = "unknown";
    if (len == 5)
        state = buf[4] == 1 ? "on" : buf[4] == 0 ? "off" : "unknown";
    free(buf);
    return state;
}

/* The kernel command line as printable ASCII (it goes into JSON and console
 * lines; anything else becomes '?'), without the trailing newline. */
static char *read_cmdline(void)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    if (tlh_file_read("/proc/cmdline", 64 << 10, &buf, &len, NULL) < 0)
        return strdup("");
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' ' || buf[len - 1] == 0))
        buf[--len] = 0;
    for (size_t i = 0; i < len; i++)
        if (buf[i] < 0x20 || buf[i] >= 0x7f)
            buf[i] = '?';
    return (char *)buf;
}

static double read_uptime(void)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    double up = 0;
    if (tlh_file_read("/proc/uptime", 4096, &buf, &len, NULL) == 0) {
        up = strtod((const char *)buf, NULL);
        free(buf);
    }
    return up;
}

int agent_evidence_collect(const struct agent_sources *src, struct agent_evidence *ev, char *err,
                           size_t err_size)
{
    *ev = (struct agent_evidence){.secure_boot = agent_secure_boot_state(src->efivars)};

    int r =
        tlh_file_read(src->eventlog, AGENT_EVENTLOG_MAX, &ev->eventlog, &ev->eventlog_len, NULL);
    if (r == 0) {
        ev->has_eventlog = true;
    } else if (r != -ENOENT) {
        snprintf(err, err_size, "event log %s: %s", src->eventlog,
                 r == -EFBIG ? "larger than 16 MiB" : strerror(-r));
        return r;
    }

    r = agent_tpm_collect(src->tcti, ev, err, err_size);
    if (r < 0)
        return r;

    struct utsname u;
    if (uname(&u) == 0)
        snprintf(ev->kernel, sizeof(ev->kernel), "%s", u.release);
    ev->cmdline = read_cmdline();
    if (!ev->cmdline) {
        snprintf(err, err_size, "out of memory");
        return -ENOMEM;
    }
    ev->uptime = read_uptime();
    return 0;
}

void agent_evidence_done(struct agent_evidence *ev)
{
    for (size_t i = 0; i < ev->n_ek_certs; i++)
        free(ev->ek_certs[i].der);
    free(ev->eventlog);
    free(ev->cmdline);
    *ev = (struct agent_evidence){0};
}
