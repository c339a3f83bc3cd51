/* Boot diagnostics of a node: its console scanned by libtl's bootdiag
 * (how far the boot got, which component stopped it, the line), and, for a
 * Secure Boot refusal, the Secure Boot engine's own verdict on the node's
 * image and variable store (`tl image check`), which names the component
 * and says why (a digest that does not match its signature, a signer no db
 * entry trusts, a dbx entry).
 *
 * The console is the guest's: the diagnosis is for people, never for a
 * security decision (the agent's report and, later, attestation are). */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tl/bootdiag.h"
#include "tld.h"

extern char **environ;

#define CONSOLE_SCAN_MAX (8u << 20)

static uint8_t *read_console(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    uint8_t *buf = malloc(CONSOLE_SCAN_MAX);
    ssize_t k = buf ? pread(fd, buf, CONSOLE_SCAN_MAX, 0) : -1;
    close(fd);
    if (k < 0) {
        free(buf);
        return NULL;
    }
    *len = (size_t)k;
    return buf;
}

/* tld's name for a console verdict: a Secure Boot refusal is one verdict
 * whichever stage refused (the component says which). */
static const char *verdict_name(const struct tl_bootdiag *d)
{
    switch (d->verdict) {
    case TL_BOOTDIAG_BOOTING:
        return "booting";
    case TL_BOOTDIAG_GOOD:
        return d->phase == TL_BOOTDIAG_PHASE_DONE ? "powered-off" : "good";
    case TL_BOOTDIAG_SHIM_REFUSED:
    case TL_BOOTDIAG_FIRMWARE_REFUSED:
        return "secure-boot-violation";
    case TL_BOOTDIAG_GRUB_REFUSED:
        return strstr(d->reason, "signature") ? "secure-boot-violation" : "boot-failed";
    case TL_BOOTDIAG_KERNEL_PANIC:
        return "kernel-panic";
    case TL_BOOTDIAG_NO_BOOT_DEVICE:
        return "no-bootable-device";
    case TL_BOOTDIAG_AGENT_FAILED:
        return "agent-failed";
    }
    return "unknown";
}

/* `tl image check IMAGE --vars VARS --json`: the engine's verdict. */
static json_t *engine_check(struct tld *t, struct tld_node *n)
{
    char vars[PATH_MAX], log[PATH_MAX];
    if (n->spec.generation != 2 || tld_node_path(t, n, "vars.fd", vars, sizeof(vars)) < 0)
        return NULL;
    tld_node_path(t, n, "qemu.log", log, sizeof(log));
    char *argv[] = {t->tl_bin, "image", "check",  (char *)n->spec.image,
                    "--vars",  vars,    "--json", NULL};
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0)
        return NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    pid_t pid;
    int r = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(pipefd[1]);
    if (r != 0) {
        close(pipefd[0]);
        return NULL;
    }
    char buf[65536];
    size_t len = 0;
    ssize_t k;
    while (len < sizeof(buf) - 1 && (k = read(pipefd[0], buf + len, sizeof(buf) - 1 - len)) > 0)
        len += (size_t)k;
    close(pipefd[0]);
    buf[len] = 0;
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    return json_loads(buf, 0, NULL);
}

json_t *tld_diagnosis(struct tld *t, struct tld_node *n, const json_t *old)
{
    char path[PATH_MAX];
    if (tld_node_path(t, n, "console.log", path, sizeof(path)) < 0)
        return json_incref((json_t *)old);
    size_t len = 0;
    uint8_t *buf = read_console(path, &len);
    struct tl_bootdiag d;
    tl_bootdiag_scan(buf, buf ? len : 0, &d);
    free(buf);
    const char *verdict = verdict_name(&d);
    json_t *engine = json_object_get(old, "engine");
    json_t *diag = json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s?}", "verdict", verdict, "phase",
                             tl_bootdiag_phase_name(d.phase), "console_verdict",
                             tl_bootdiag_verdict_name(d.verdict), "component",
                             d.component[0] ? d.component : NULL, "reason",
                             d.reason[0] ? d.reason : NULL, "line", d.has_line ? d.line : NULL);
    if (engine) {
        json_object_set(diag, "engine", engine);
    } else if (strcmp(verdict, "secure-boot-violation") == 0) {
        engine = engine_check(t, n);
        if (engine)
            json_object_set_new(diag, "engine", engine);
    }
    if (engine) {
        /* the engine names the component from the image and the keys; the
         * console's guess stands only when the engine found nothing */
        const char *failed = json_string_value(json_object_get(engine, "failed"));
        const char *why = json_string_value(json_object_get(engine, "reason"));
        if (failed)
            json_object_set_new(diag, "component", json_string(failed));
        if (why)
            json_object_set_new(diag, "detail", json_string(why));
    }
    return diag;
}

void tld_diagnose(struct tld *t, struct tld_node *n)
{
    json_t *diag = tld_diagnosis(t, n, n->diag);
    json_decref(n->diag);
    n->diag = diag;
}
