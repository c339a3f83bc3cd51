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

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/un.h>
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

/* ---- one swtpm process (swtpm_proc.c): a vTPM started on a state
 * directory with its state key, spoken to over its two sockets, stopped
 * and reaped. Used by tl vtpm and tlh_vtpm_provision (vtpm.h); every call
 * works on the struct it is given: a daemon may hold one per node.
 *
 * Signals are the caller's. A caller that wants a signal (or a watchdog
 * alarm) to interrupt a start or the TPM I/O under way owns a struct
 * tlh_swtpm_interrupt (static: its signal handler writes it) and passes it
 * to tlh_swtpm_start. The handler stores the signal number in ->signal and
 * SIGKILLs ->kill_pid when it is above 0; tlh_swtpm_start sets ->kill_pid
 * as soon as swtpm is forked, tlh_swtpm_stop clears it, and the caller
 * clears it itself when a signal should from then on ask for an orderly
 * stop instead. With no interrupt (NULL), nothing here looks at signals.
 *
 * What the caller must arrange in the process:
 *  - SIGPIPE ignored: a write to a swtpm that died must fail with EPIPE;
 *  - children reaped by nobody else (no SIGCHLD SIG_IGN, no other
 *    waitpid(-1)): tlh_swtpm_reap waits for the one pid;
 *  - swtpm on PATH, or TL_SWTPM naming the binary.
 *
 * Invariants: a started swtpm is a child in its own process group (a
 * terminal's ^C goes to the caller, which stops it) that dies with its
 * parent (PR_SET_PDEATHSIG); the state key never appears in argv, swtpm
 * reads it from a pipe (--key fd=N); tlh_swtpm_start either returns a
 * swtpm that answers on both sockets or leaves nothing running;
 * tlh_swtpm_stop always ends with swtpm reaped and its private directory
 * (sockets, log) removed. Readiness is CMD_GET_CAPABILITY on the control
 * channel (swtpm opens its sockets before it loads the state and answers
 * only once it has). Errors name the caller's subject: "SUBJECT: what". */
#define TLH_SWTPM_KEY_LEN          32 /* AES-256-CBC, swtpm --key ...,mode=aes-256-cbc */
#define TLH_SWTPM_START_TIMEOUT_MS 5000
#define TLH_SWTPM_STOP_TIMEOUT_MS  5000

/* Shared between a caller's signal handler and its swtpm; see above. */
struct tlh_swtpm_interrupt {
    volatile sig_atomic_t signal; /* the signal that arrived, 0 none */
    volatile pid_t kill_pid;      /* swtpm for the handler to SIGKILL, 0 none */
};

struct tlh_swtpm {
    pid_t pid;
    int status; /* wait status once reaped */
    bool reaped;
    char dir[PATH_MAX]; /* private: sockets and swtpm's output */
    char sock[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* the TPM command socket */
    char ctrl[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* the control channel */
    char log[PATH_MAX];
    TSS2_TCTI_CONTEXT *tcti; /* open between tlh_swtpm_connect and tlh_swtpm_disconnect */
    ESYS_CONTEXT *esys;
    struct tlh_swtpm_interrupt *intr; /* the caller's, or NULL */
};

/* Starts swtpm on the state directory with the key and waits (up to
 * TLH_SWTPM_START_TIMEOUT_MS) until both sockets answer. On failure,
 * nothing is left running. *s needs no initialisation. */
int tlh_swtpm_start(struct tlh_swtpm *s, const char *state, const uint8_t key[TLH_SWTPM_KEY_LEN],
                    struct tlh_swtpm_interrupt *intr, const char *subject, struct tl_error *err);
/* Waits until swtpm answers on the control channel and accepts a
 * connection on the TPM socket: 0 ready; -errno when it exited, did not
 * answer within timeout_ms (-ETIMEDOUT), or a signal arrived (-EINTR).
 * Leaves the process as it is. */
int tlh_swtpm_wait_ready(struct tlh_swtpm *s, long timeout_ms, const char *subject,
                         struct tl_error *err);
/* Opens s->tcti and s->esys on the TPM socket (TCTI "swtpm:path=<socket>"). */
int tlh_swtpm_connect(struct tlh_swtpm *s, const char *subject, struct tl_error *err);
/* Closes the ESYS context and the TCTI, leaving swtpm running. */
void tlh_swtpm_disconnect(struct tlh_swtpm *s);
/* True once swtpm has exited and been reaped (s->status its wait status);
 * block: wait for it. */
bool tlh_swtpm_reap(struct tlh_swtpm *s, bool block);
/* "SUBJECT: what" with why swtpm failed: its exit status or signal and
 * the line of its output that says most; returns -EIO. */
int tlh_swtpm_report(const struct tlh_swtpm *s, const char *what, const char *subject,
                     struct tl_error *err);
/* Stops swtpm and removes its directory. clean: a normal stop (after
 * TPM2_Shutdown when our ESYS context is open) that must end with swtpm
 * exiting 0; otherwise a stop after a failure, quiet. Returns 0 when a
 * clean stop went as it should, else -errno with err (the first problem). */
int tlh_swtpm_stop(struct tlh_swtpm *s, bool clean, const char *subject, struct tl_error *err);
/* How an interrupt by signal sig reads: "timed out" for SIGALRM (a
 * watchdog), "interrupted" for any other. */
const char *tlh_swtpm_interrupt_reason(int sig);
