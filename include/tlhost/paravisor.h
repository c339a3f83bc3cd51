/* The host library (see file.h for its rules).
 *
 * paravisor.h: what Azure's paravisor (the HCL) does for a confidential
 * VM's vTPM, for a node whose vTPM is swtpm.
 *
 * On an Azure confidential VM the platform creates the vTPM's attestation
 * key at persistent handle 0x81000003 and exposes the HCL report ("HCLA"
 * header, hardware report, IGVM request data, runtime JSON) at NV index
 * 0x01400001; a guest writing 64 bytes to NV 0x01400002 gets a fresh
 * report carrying them as user-data. libtpms caps an NV index at 2048 bytes
 * (TPM_PT_NV_INDEX_MAX) and an SNP HCL report with two RSA JWKs is ~2.4 KB,
 * so 0x01400001 cannot live in swtpm. The relay sits where the HCL sits:
 * between QEMU and swtpm. It relays swtpm's control channel byte for byte;
 * when QEMU hands over a data channel (CMD_SET_DATAFD) it gives swtpm one
 * of its own and relays TPM commands one at a time, answering
 * NV_ReadPublic and NV_Read of 0x01400001 itself and refreshing the report
 * after a successful NV_Write to 0x01400002. Everything else passes
 * through untouched. See docs/architecture.md, "The paravisor relay".
 *
 * The provisioning helpers prepare swtpm before QEMU starts (through a data
 * channel of tlh_swtpm_data): the attestation key at 0x81000003 and the
 * user-data index 0x01400002. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <tss2/tss2_esys.h>

#include "tl/error.h"
#include "tl/tpmcmd.h"

#define TLH_PARAVISOR_NV_REPORT    0x01400001u /* the HCL report (served by the relay) */
#define TLH_PARAVISOR_NV_USER_DATA 0x01400002u /* 64 bytes of user-data (in swtpm) */
#define TLH_PARAVISOR_AK_HANDLE    0x81000003u
#define TLH_PARAVISOR_USER_DATA    64u
/* TPMS_NV_PUBLIC.dataSize is a UINT16 */
#define TLH_PARAVISOR_REPORT_MAX 65535u
/* TPM_PT_NV_BUFFER_MAX of libtpms (MAX_NV_BUFFER_SIZE): the largest NV_Read
 * the relay answers, as swtpm would for its own indices. */
#define TLH_PARAVISOR_NV_BUFFER_MAX 1024u
/* The largest command or response the relay carries: swtpm's own buffer
 * (TPM_BUFFER_MAX, 4096). A longer command is answered TPM_RC_COMMAND_SIZE. */
#define TLH_PARAVISOR_MSG_MAX 4096u

/* The attributes of 0x01400001 as the relay publishes them: written by the
 * platform, readable by the owner, the platform and with the index's own
 * (empty) auth, no dictionary-attack protection, already written. The
 * guest cannot write it. */
#define TLH_PARAVISOR_REPORT_ATTRIBUTES                                                            \
    (TPMA_NV_PPWRITE | TPMA_NV_PPREAD | TPMA_NV_OWNERREAD | TPMA_NV_AUTHREAD | TPMA_NV_NO_DA |     \
     TPMA_NV_WRITTEN | TPMA_NV_PLATFORMCREATE)
/* The attributes of 0x01400002 as Microsoft's guest tooling defines it
 * (Azure/confidential-computing-cvm-guest-attestation, tpm_wrapper.py):
 * owner or index auth, read and write. */
#define TLH_PARAVISOR_USER_DATA_ATTRIBUTES                                                         \
    (TPMA_NV_OWNERWRITE | TPMA_NV_OWNERREAD | TPMA_NV_AUTHWRITE | TPMA_NV_AUTHREAD)

/* A fresh HCL report carrying user_data (all zero for the report at
 * start): a malloc'd buffer of at most TLH_PARAVISOR_REPORT_MAX bytes in
 * *report, which the relay owns from then on. Called from the relay's
 * loop, so it must not block for long. <0 keeps the report served before. */
typedef int (*tlh_paravisor_refresh_fn)(void *opaque,
                                        const uint8_t user_data[TLH_PARAVISOR_USER_DATA],
                                        uint8_t **report, size_t *len, struct tl_error *err);

struct tlh_paravisor_config {
    const char *listen_path; /* the socket QEMU's chardev connects to */
    const char *swtpm_ctrl;  /* swtpm's control socket */
    tlh_paravisor_refresh_fn refresh;
    void *opaque;
    int stop_fd;         /* readable: tlh_paravisor_run returns 0 (-1: none) */
    long io_timeout_ms;  /* the rest of a started command; a write to QEMU (0: 5 s) */
    long tpm_timeout_ms; /* swtpm's answer to one command (0: 60 s) */
    bool once; /* run returns 0 when QEMU's control connection and data channel are gone */
};

/* What happened, for logs and tests. */
struct tlh_paravisor_stats {
    unsigned long forwarded; /* commands relayed to swtpm */
    unsigned long served;    /* answered by the relay (0x01400001) */
    unsigned long refused;   /* answered with an error by the relay */
    unsigned long refreshes; /* reports obtained after an NV_Write to 0x01400002 */
    unsigned long refresh_failures;
    unsigned long data_channels; /* CMD_SET_DATAFD relayed */
};

/* The guest's auth sessions, as far as the relay can follow them
 * (paravisor_session.c): an unbound, unsalted HMAC session with SHA-256
 * ("plain": its sessionKey is empty) and its last nonceTPM, learnt from
 * swtpm's answers, so that the relay can answer an NV_Read of 0x01400001
 * under it (tpm2-tools' default) and hand back the same nonceTPM, which
 * keeps swtpm's view of the session valid. */
#define TLH_PV_MAX_SESSIONS 16
struct tlh_pv_session {
    uint32_t handle;
    bool plain;
    uint16_t nonce_size;
    uint8_t nonce[64];
};
struct tlh_pv_sessions {
    struct tlh_pv_session s[TLH_PV_MAX_SESSIONS];
    size_t n;
    /* the command relayed to swtpm, whose answer is awaited */
    uint32_t cc;
    uint32_t used[TL_TPM_MAX_SESSIONS];
    uint8_t used_attrs[TL_TPM_MAX_SESSIONS];
    size_t n_used;
    bool start_plain; /* a StartAuthSession of a plain session */
    uint32_t flush;   /* a FlushContext's handle */
};
/* Before a command goes to swtpm / once swtpm answered it. */
void tlh_pv_sessions_command(struct tlh_pv_sessions *t, const uint8_t *cmd, size_t len);
void tlh_pv_sessions_response(struct tlh_pv_sessions *t, const uint8_t *rsp, size_t len);
const struct tlh_pv_session *tlh_pv_sessions_find(const struct tlh_pv_sessions *t, uint32_t handle);
void tlh_pv_sessions_forget(struct tlh_pv_sessions *t, uint32_t handle);

struct tlh_paravisor {
    struct tlh_paravisor_config cfg;
    int listen_fd;
    int qemu_ctrl, swtpm_ctrl; /* the control connection, both sides */
    int guest_data, tpm_data;  /* QEMU's data channel; the relay's to swtpm */
    uint8_t *report;
    size_t report_len;
    /* the command being read from QEMU, or waiting for swtpm's answer */
    uint8_t cmd[TLH_PARAVISOR_MSG_MAX];
    size_t cmd_have;
    bool in_flight;        /* cmd went to swtpm, its answer is awaited */
    long long deadline_ms; /* of the partial command, or of swtpm's answer */
    struct tlh_pv_sessions sessions;
    struct tlh_paravisor_stats stats;
    struct tl_error last_error; /* the last refresh or channel failure */
};

/* Listens on cfg->listen_path (the file appears only once it accepts; a
 * stale socket there is replaced) and gets
 * the first report from cfg->refresh with zero user-data. */
int tlh_paravisor_open(struct tlh_paravisor *pv, const struct tlh_paravisor_config *cfg,
                       struct tl_error *err);
/* Serves until cfg->stop_fd is readable (or, with cfg->once, QEMU is
 * gone): 0. A guest's bad command never ends it; -errno only when the
 * listening socket fails. */
int tlh_paravisor_run(struct tlh_paravisor *pv, struct tl_error *err);
void tlh_paravisor_close(struct tlh_paravisor *pv);

/* ---- serving 0x01400001 (paravisor_nv.c) ---- */

/* The public area of 0x01400001 for a report of len bytes. */
void tlh_paravisor_report_public(size_t len, TPMS_NV_PUBLIC *out);

enum tlh_paravisor_verdict {
    TLH_PV_FORWARD,   /* not ours: relay to swtpm */
    TLH_PV_ANSWERED,  /* the relay answered (success or a TPM error) */
    TLH_PV_USER_DATA, /* an NV_Write to 0x01400002: relay, refresh on success */
};

/* The relay's answer to a command. */
struct tlh_pv_answer {
    uint8_t *rsp; /* the caller's buffer */
    size_t cap;
    size_t len;
    uint32_t flush; /* a session the guest ended with this command (0: none) */
};

/* Looks at one whole command from the guest: a well-formed NV_ReadPublic or
 * NV_Read of 0x01400001 is answered into a from report (sessions: the ones
 * the relay follows, NULL for none); a well-formed NV_Write to 0x01400002
 * is flagged. Anything else, malformed commands included, goes to swtpm,
 * which refuses what is wrong. */
enum tlh_paravisor_verdict tlh_paravisor_classify(const uint8_t *cmd, size_t len,
                                                  const uint8_t *report, size_t report_len,
                                                  const struct tlh_pv_sessions *sessions,
                                                  struct tlh_pv_answer *a);

/* ---- provisioning (paravisor_provision.c), before QEMU starts ---- */

struct tlh_paravisor_keys {
    TPM2B_PUBLIC ak; /* at 0x81000003 */
    TPM2B_PUBLIC ek; /* RSA 2048, template L-1 */
};

/* The attestation key's template: RSA 2048, restricted signing, RSASSA
 * with SHA-256, fixedTPM, fixedParent, sensitiveDataOrigin, userWithAuth,
 * nameAlg SHA-256, no policy (see paravisor_provision.c for the source). */
void tlh_paravisor_ak_template(TPM2B_PUBLIC *out);

/* Creates the attestation key (a primary in the endorsement hierarchy from
 * the template) and makes it persistent at 0x81000003, defines 0x01400002
 * (64 bytes, owner auth, empty index auth), and returns the AK's and the
 * RSA EK's public areas for the runtime JSON; defines 0x01400001 too, a
 * 16-byte placeholder in the platform hierarchy with the report's
 * attributes, so that GetCapability(TPM2_CAP_HANDLES) names it (the
 * relay serves its reads). Idempotent: an AK already at
 * 0x81000003 is kept when it matches the template (-EEXIST otherwise) and
 * an index already defined is left as it is. Empty hierarchy auths, as a
 * freshly manufactured swtpm has. */
int tlh_paravisor_provision(ESYS_CONTEXT *esys, struct tlh_paravisor_keys *keys,
                            struct tl_error *err);
