/* The supervision loop (every 250 ms, under tld.lock, which lifecycle.c
 * lets go around each node's I/O: the console read, processes waited
 * for) and the re-adoption
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

void tld_supervise_once(struct tld *t)
{
    for (size_t i = 0; i < t->n_vms; i++) { /* external nodes have nothing to supervise */
        struct tld_node *n = t->vms[i];
        if ((n->state != TLD_BOOTING && n->state != TLD_RUNNING) || n->spec.external || n->busy)
            continue; /* a busy node is its operation's (lifecycle.c) */
        int st = 0;
        bool known = false;
        if (!tlh_proc_alive(&n->qemu, &st, &known)) {
            tld_node_ended(t, n, st, known);
            continue;
        }
        if (n->spec.vtpm &&
            (!tlh_proc_alive(&n->swtpm, NULL, NULL) ||
             (n->paravisor.pid > 0 && !tlh_proc_alive(&n->paravisor, NULL, NULL)))) {
            tld_node_lost_vtpm(t, n);
            continue;
        }
        if (n->state != TLD_BOOTING)
            continue;
        if (!(n = tld_node_diagnose_boot(t, n)))
            continue; /* reported in, deleted or taken meanwhile */
        const char *v = json_string_value(json_object_get(n->diag, "verdict"));
        if (v && (strcmp(v, "secure-boot-violation") == 0 || strcmp(v, "kernel-panic") == 0 ||
                  strcmp(v, "no-bootable-device") == 0 || strcmp(v, "agent-failed") == 0 ||
                  strcmp(v, "boot-failed") == 0)) {
            char why[200];
            const char *comp = json_string_value(json_object_get(n->diag, "component"));
            snprintf(why, sizeof(why), "%s%s%s", v, comp ? ": " : "", comp ? comp : "");
            tld_node_fail_boot(t, n, why);
        } else if (tld_now() - n->started > t->boot_timeout) {
            json_object_set_new(n->diag, "verdict", json_string("timeout"));
            char why[200];
            snprintf(why, sizeof(why), "timeout: no report within %d s (furthest phase: %s)",
                     t->boot_timeout,
                     json_string_value(json_object_get(n->diag, "phase")) ?: "none");
            tld_node_fail_boot(t, n, why);
        }
    }
}

void tld_readopt(struct tld *t)
{
    for (size_t i = 0; i < t->n_vms; i++) {
        struct tld_node *n = t->vms[i];
        if (n->spec.external)
            continue;
        bool qemu_up = n->qemu.pid > 0 && tlh_proc_alive(&n->qemu, NULL, NULL);
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
            tlh_proc_kill(&n->qemu, SIGKILL, 3000);
        if (n->paravisor.pid > 0 && tlh_proc_alive(&n->paravisor, NULL, NULL))
            tlh_proc_kill(&n->paravisor, SIGKILL, 3000);
        n->paravisor = (struct tlh_proc){0};
        if (n->swtpm.pid > 0 && tlh_proc_alive(&n->swtpm, NULL, NULL)) {
            struct tl_error err = {0};
            enum tld_state keep = n->state;
            char reason[sizeof(n->reason)];
            memcpy(reason, n->reason, sizeof(reason));
            tld_node_stop(t, n, &err);
            n->state = keep;
            memcpy(n->reason, reason, sizeof(reason));
            tld_store_save(t, n);
        }
        tld_node_reseal(t, n); /* a guest state a killed tld left open */
        if (n->state == TLD_CREATING) {
            n->state = TLD_FAILED;
            snprintf(n->reason, sizeof(n->reason), "tld stopped while creating the node");
            tld_store_save(t, n);
        }
    }
}
