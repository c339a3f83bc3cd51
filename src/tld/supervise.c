/* The supervision loop (every 250 ms, under tld.lock) and the re-adoption
 * of nodes after a tld restart.
 *
 * For every booting or running node:
 *  - QEMU gone: the node ended (tld_node_ended says how: powered off,
 *    failed to boot, crashed) and its swtpm is read and shut down;
 *  - swtpm gone while QEMU runs: the guest lost its TPM; the node is
 *    stopped and marked crashed;
 *  - booting: the console is scanned (diag.c); a Secure Boot violation, a
 *    kernel panic or no bootable device fails the node at once, and a node
 *    that has not reported in within the boot timeout fails as "timeout".
 *
 * A restarted tld finds its nodes in the store with the pid and start time
 * of their processes: a match is re-adopted (tld is no longer their parent,
 * so an exit is seen by polling /proc rather than waitpid); no match means
 * the node ended while tld was down. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "tld.h"

static void fail_boot(struct tld *t, struct tld_node *n, const char *why)
{
    tld_proc_kill(&n->qemu, SIGKILL, 3000);
    /* the end of QEMU is ours: tld_node_ended would call it a crash */
    n->qemu = (struct tld_proc){0};
    tld_diagnose(t, n);
    char stop_msg[64];
    n->state = TLD_FAILED;
    tld_node_stop(t, n, stop_msg, sizeof(stop_msg)); /* swtpm: read, shut down */
    n->state = TLD_FAILED;
    snprintf(n->reason, sizeof(n->reason), "%s", why);
    tld_store_save(t, n);
    tld_log("node %s: failed to boot: %s", n->name, why);
}

void tld_supervise_once(struct tld *t)
{
    for (size_t i = 0; i < t->n_vms; i++) { /* external nodes have nothing to supervise */
        struct tld_node *n = t->vms[i];
        if ((n->state != TLD_BOOTING && n->state != TLD_RUNNING) || n->spec.external)
            continue;
        int st = 0;
        bool known = false;
        if (!tld_proc_alive(&n->qemu, &st, &known)) {
            tld_node_ended(t, n, st, known);
            continue;
        }
        if (n->spec.vtpm && !tld_proc_alive(&n->swtpm, NULL, NULL)) {
            n->swtpm = (struct tld_proc){0};
            tld_proc_kill(&n->qemu, SIGKILL, 3000);
            tld_diagnose(t, n);
            n->state = TLD_CRASHED;
            n->stopped = tld_now();
            snprintf(n->reason, sizeof(n->reason), "swtpm ended while the node ran");
            tld_store_save(t, n);
            tld_log("node %s: crashed (swtpm ended)", n->name);
            continue;
        }
        if (n->state != TLD_BOOTING)
            continue;
        tld_diagnose(t, n);
        const char *v = json_string_value(json_object_get(n->diag, "verdict"));
        if (v && (strcmp(v, "secure-boot-violation") == 0 || strcmp(v, "kernel-panic") == 0 ||
                  strcmp(v, "no-bootable-device") == 0 || strcmp(v, "agent-failed") == 0 ||
                  strcmp(v, "boot-failed") == 0)) {
            char why[200];
            const char *comp = json_string_value(json_object_get(n->diag, "component"));
            snprintf(why, sizeof(why), "%s%s%s", v, comp ? ": " : "", comp ? comp : "");
            fail_boot(t, n, why);
        } else if (tld_now() - n->started > t->boot_timeout) {
            json_object_set_new(n->diag, "verdict", json_string("timeout"));
            char why[200];
            snprintf(why, sizeof(why), "timeout: no report within %d s (furthest phase: %s)",
                     t->boot_timeout,
                     json_string_value(json_object_get(n->diag, "phase")) ?: "none");
            fail_boot(t, n, why);
        }
    }
}

void tld_readopt(struct tld *t)
{
    for (size_t i = 0; i < t->n_vms; i++) {
        struct tld_node *n = t->vms[i];
        if (n->spec.external)
            continue;
        bool qemu_up = n->qemu.pid > 0 && tld_proc_alive(&n->qemu, NULL, NULL);
        if ((n->state == TLD_BOOTING || n->state == TLD_RUNNING) && qemu_up) {
            int r = tld_agentnet_open(t, n); /* its guest's way back to us */
            if (r < 0)
                tld_log("node %s: agent channel: %s", n->name, strerror(-r));
            tld_log("node %s: re-adopted (%s, qemu %ld, swtpm %ld)", n->name,
                    tld_state_name(n->state), (long)n->qemu.pid, (long)n->swtpm.pid);
            continue;
        }
        if (n->state == TLD_BOOTING || n->state == TLD_RUNNING) {
            tld_node_ended(t, n, 0, false);
            continue;
        }
        if (qemu_up) /* recorded for a node that is not running: not ours to keep */
            tld_proc_kill(&n->qemu, SIGKILL, 3000);
        if (n->swtpm.pid > 0 && tld_proc_alive(&n->swtpm, NULL, NULL)) {
            char m[64];
            enum tld_state keep = n->state;
            char reason[sizeof(n->reason)];
            memcpy(reason, n->reason, sizeof(reason));
            tld_node_stop(t, n, m, sizeof(m));
            n->state = keep;
            memcpy(n->reason, reason, sizeof(reason));
            tld_store_save(t, n);
        }
        if (n->state == TLD_CREATING) {
            n->state = TLD_FAILED;
            snprintf(n->reason, sizeof(n->reason), "tld stopped while creating the node");
            tld_store_save(t, n);
        }
    }
}
