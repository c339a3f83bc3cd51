/* One swtpm process: a node's vTPM, started on a state directory with its
 * state key, spoken to over its two sockets, stopped and reaped.
 *
 * Used by `tl vtpm` (src/tl/vtpm_cmd.c); written so that a daemon running a
 * swtpm per node can hold one struct swtpm per node: every call works on the
 * struct it is given, and this module keeps no global state.
 *
 * Signals are the caller's. A caller that wants a signal (or a watchdog
 * alarm) to interrupt a start or the TPM I/O under way owns a
 * struct swtpm_interrupt (static: its signal handler writes it) and passes it
 * to swtpm_start. The handler stores the signal number in ->signal and
 * SIGKILLs ->kill_pid when it is above 0; swtpm_start sets ->kill_pid as soon
 * as swtpm is forked, swtpm_stop clears it, and the caller clears it itself
 * when a signal should from then on ask for an orderly stop instead. With no
 * interrupt (NULL), nothing here looks at signals.
 *
 * What the caller must arrange in the process:
 *  - SIGPIPE ignored: a write to a swtpm that died must fail with EPIPE;
 *  - children reaped by nobody else (no SIGCHLD SIG_IGN, no other waitpid(-1)):
 *    swtpm_reap waits for the one pid;
 *  - swtpm on PATH, or TL_SWTPM naming the binary.
 *
 * Invariants: a started swtpm is a child in its own process group (a
 * terminal's ^C goes to the caller, which stops it) that dies with its parent
 * (PR_SET_PDEATHSIG); the state key never appears in argv, swtpm reads it from
 * a pipe (--key fd=N); swtpm_start either returns a swtpm that answers on both
 * sockets or leaves nothing running; swtpm_stop always ends with swtpm reaped
 * and its private directory (sockets, log) removed.
 *
 * The control channel is the host library's (tlhost/swtpm.h), two commands:
 * CMD_GET_CAPABILITY as the readiness probe (swtpm opens its sockets before it
 * loads the state and answers only once it has) and CMD_SHUTDOWN ("Control
 * Channel Specification", swtpm wiki; swtpm/tpm_ioctl.h); tpm2-tss has no call
 * for either. Errors are printed with tlc_report, naming the caller's subject
 * (for `tl vtpm`, the state directory). */
#pragma once

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/un.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_tcti.h>

#define SWTPM_KEY_LEN          32 /* AES-256-CBC, swtpm --key ...,mode=aes-256-cbc */
#define SWTPM_START_TIMEOUT_MS 5000
#define SWTPM_STOP_TIMEOUT_MS  5000

/* Shared between a caller's signal handler and its swtpm; see above. */
struct swtpm_interrupt {
    volatile sig_atomic_t signal; /* the signal that arrived, 0 none */
    volatile pid_t kill_pid;      /* swtpm for the handler to SIGKILL, 0 none */
};

struct swtpm {
    pid_t pid;
    int status; /* wait status once reaped */
    bool reaped;
    char dir[PATH_MAX]; /* private: sockets and swtpm's output */
    char sock[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* the TPM command socket */
    char ctrl[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* the control channel */
    char log[PATH_MAX];
    TSS2_TCTI_CONTEXT *tcti; /* open between swtpm_connect and swtpm_disconnect */
    ESYS_CONTEXT *esys;
    struct swtpm_interrupt *intr; /* the caller's, or NULL */
};

/* Starts swtpm on the state directory with the key and waits (up to
 * SWTPM_START_TIMEOUT_MS) until both sockets answer. On failure, nothing is
 * left running and the error is printed. *s needs no initialisation. */
int swtpm_start(struct swtpm *s, const char *state, const uint8_t key[SWTPM_KEY_LEN],
                struct swtpm_interrupt *intr, const char *subject);

/* Waits until swtpm answers on the control channel and accepts a connection
 * on the TPM socket: 0 ready; -1 (printed) when it exited, did not answer
 * within timeout_ms, or a signal arrived. Leaves the process as it is. */
int swtpm_wait_ready(struct swtpm *s, long timeout_ms, const char *subject);

/* Opens s->tcti and s->esys on the TPM socket (TCTI "swtpm:path=<socket>"). */
int swtpm_connect(struct swtpm *s, const char *subject);

/* Closes the ESYS context and the TCTI, leaving swtpm running. */
void swtpm_disconnect(struct swtpm *s);

/* One control channel command (4-byte code, no parameters); true when swtpm
 * answered within timeout_ms, *result (if not NULL) the 4-byte result code it
 * starts with. */
bool swtpm_ctrl(const struct swtpm *s, uint32_t cmd, long timeout_ms, uint32_t *result);

/* True once swtpm has exited and been reaped (s->status its wait status);
 * block: wait for it. */
bool swtpm_reap(struct swtpm *s, bool block);

/* Prints "what" with why swtpm failed: its exit status or signal and the
 * line of its output that says most. */
void swtpm_report(const struct swtpm *s, const char *what, const char *subject);

/* Stops swtpm and removes its directory. clean: a normal stop (after
 * TPM2_Shutdown when our ESYS context is open) that must end with swtpm
 * exiting 0; otherwise a stop after a failure, quiet. Returns 0 when a clean
 * stop went as it should. */
int swtpm_stop(struct swtpm *s, bool clean, const char *subject);

/* How an interrupt by signal sig reads: "timed out" for SIGALRM (a
 * watchdog), "interrupted" for any other. */
const char *swtpm_interrupt_reason(int sig);
