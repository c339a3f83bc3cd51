/* The host library (see file.h for its rules).
 *
 * watchdog.h: a deadline for swtpm I/O in a threaded caller. tpm2-tss's
 * swtpm TCTI reads its answer with no timeout, so a swtpm that never
 * answers (stuck, or serving another connection: proc.c tells how that
 * happened) holds the caller forever, and in tld a provisioning that held
 * the EK CA's lock held every other one too. A signal handler cannot be the
 * watchdog in a daemon of many threads; this thread is: past the deadline it
 * does what swtpm.h's interrupt asks of a handler (->signal = SIGALRM, so
 * the error reads "timed out"; SIGKILL to ->kill_pid), the TCTI's read then
 * ends, and the caller's swtpm code reaps and cleans up as after a signal. */
#pragma once

#include <pthread.h>
#include <stdbool.h>

#include "tlhost/swtpm.h"

struct tlh_watchdog {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cv;
    bool done, started, fired;
    long timeout_ms;
    struct tlh_swtpm_interrupt *intr;
};

/* Arms the watchdog over intr (the caller then passes intr to its swtpm
 * calls): 0, or -errno when no thread could be made (then nothing is
 * armed and the caller runs without a deadline). */
int tlh_watchdog_start(struct tlh_watchdog *w, struct tlh_swtpm_interrupt *intr, long timeout_ms);
/* Disarms and joins: true when the deadline had passed (swtpm was killed). */
bool tlh_watchdog_stop(struct tlh_watchdog *w);
