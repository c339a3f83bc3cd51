/* tl-agent: the node agent. It runs in the node's initramfs, reads the
 * platform's config (QEMU fw_cfg), collects the boot evidence (Secure Boot
 * state, PCRs, the firmware event log, EK certificates) and posts it to tld;
 * then enrols an attestation key and attests, again every period.
 *
 * The program owns I/O, console lines and exit codes; the parts that read
 * untrusted input (the config) are pure functions over a buffer. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <tss2/tss2_esys.h>

#include "tl/pcrread.h"
#include "tl/vtpm.h"

/* Exit statuses (docs/image.md, "tl-agent"). */
#define AGENT_EXIT_OK          0 /* reported, attested (--once) */
#define AGENT_EXIT_FAIL        1 /* evidence, report or attestation failed */
#define AGENT_EXIT_BAD         2 /* bad usage or bad config */
#define AGENT_EXIT_NO_PLATFORM 3 /* no config at all: not started by a platform */

/* Where QEMU's fw_cfg file "opt/trustlaunch/agent.json" appears (module
 * qemu_fw_cfg, CONFIG_FW_CFG_SYSFS). */
#define AGENT_FW_CFG_PATH "/sys/firmware/qemu_fw_cfg/by_name/opt/trustlaunch/agent.json/raw"

#define AGENT_CONFIG_MAX (64u << 10) /* a config is ~150 bytes */
#define AGENT_URL_MAX    2048
#define AGENT_TOKEN_MAX  512
#define AGENT_NODE_MAX   63

/* ---- config.c ------------------------------------------------------------ */

/* Seconds between attestations: the config's "attest_interval" (10 to
 * 86400); --interval also takes 1 to 9 (host tests). */
#define AGENT_INTERVAL_MIN     10
#define AGENT_INTERVAL_MAX     86400
#define AGENT_INTERVAL_DEFAULT 300

/* Empty strings and 0 mean "not given". */
struct agent_config {
    char url[AGENT_URL_MAX + 1];
    char token[AGENT_TOKEN_MAX + 1];
    char node[AGENT_NODE_MAX + 1];
    unsigned attest_interval;
};

/* Parses a config document {"url": ..., "token": ..., "node": ...,
 * "attest_interval": N} (pure).
 * Each key is optional here; present keys must be valid (see the checks
 * below); unknown keys are ignored (later agents get more settings).
 * Returns 0, or -EINVAL with a one-line reason in err. */
int agent_config_parse(const uint8_t *buf, size_t len, struct agent_config *cfg, char *err,
                       size_t err_size);

/* Field checks, shared by the parser and the command-line overrides; each
 * returns NULL when the value is fine, else what is wrong with it.
 * url: http:// or https://, printable ASCII without spaces.
 * token: RFC 7235 token68 characters (it goes into an HTTP header).
 * node: 1-63 of [A-Za-z0-9._-]. */
const char *agent_config_check_url(const char *s);
const char *agent_config_check_token(const char *s);
const char *agent_config_check_node(const char *s);

/* ---- file.c -------------------------------------------------------------- */

/* Reads a whole file, also sysfs/securityfs ones that report size 0, up to
 * max bytes. *out is NUL-terminated past *len. Returns 0, -ENOENT when it
 * does not exist, -EFBIG when larger than max, or another -errno. */

/* ---- evidence.c, tpm.c ---------------------------------------------------- */

#define AGENT_EVENTLOG_MAX (16u << 20)

struct agent_ek_cert {
    const char *name; /* "rsa2048", "ecc-p256" */
    uint8_t *der;
    size_t len;
};

struct agent_evidence {
    const char *secure_boot; /* "on", "off", "unknown" */
    bool tpm;
    struct tl_pcr_banks pcr;
    size_t n_ek_certs;
    struct agent_ek_cert ek_certs[2];
    bool has_eventlog;
    uint8_t *eventlog;
    size_t eventlog_len;
    char kernel[65];
    char *cmdline;
    double uptime;
};

struct agent_sources {
    const char *tcti;     /* "device:/dev/tpmrm0" */
    const char *eventlog; /* the kernel's binary_bios_measurements */
    const char *efivars;  /* /sys/firmware/efi/efivars */
};

/* "on" / "off" / "unknown" from the SecureBoot variable in an efivarfs
 * directory (4 attribute bytes, then the 1-byte value). */
const char *agent_secure_boot_state(const char *efivars_dir);

/* Reads everything; returns 0, or -errno with a reason in err (a TPM that
 * answers but fails a command, an event log that exists but cannot be
 * read). */
int agent_evidence_collect(const struct agent_sources *src, struct agent_evidence *ev, char *err,
                           size_t err_size);
void agent_evidence_done(struct agent_evidence *ev);

/* The TPM part: opens the TCTI; when it does not open (no device), sets
 * ev->tpm = false and returns 0. Otherwise reads every allocated PCR bank
 * (PCRs 0-23) and the EK certificates present in NV. */
int agent_tpm_collect(const char *tcti, struct agent_evidence *ev, char *err, size_t err_size);

/* An open TPM: the TCTI and the ESYS context on it. */
struct agent_tpm {
    TSS2_TCTI_CONTEXT *tcti;
    ESYS_CONTEXT *esys;
};

/* Returns 0 when open, 1 when there is no TPM behind the TCTI (no device,
 * the TCTI does not open), or -errno with the reason when the TPM does not
 * answer. */
int agent_tpm_open(const char *tcti, struct agent_tpm *tpm, char *err, size_t err_size);
void agent_tpm_close(struct agent_tpm *tpm);

/* "TPM what: <the TSS's decoding of rc>"; returns -EIO. */
int agent_tpm_fail(char *err, size_t err_size, const char *what, TSS2_RC rc);

/* ---- ak.c: the endorsement key and the attestation key -------------------- */

enum agent_ak_type { AGENT_AK_ECC_P256, AGENT_AK_RSA2048 };

/* Recreates the EK from the default template (TPM2_CreatePrimary in the
 * endorsement hierarchy) and leaves it loaded in *ek. */
int agent_ek_create(ESYS_CONTEXT *esys, enum tl_ek_type type, ESYS_TR *ek, TPM2B_PUBLIC *pub,
                    char *err, size_t err_size);

/* Creates a restricted signing key under the EK and loads it: *ak, its
 * public area and its name. */
int agent_ak_create(ESYS_CONTEXT *esys, ESYS_TR ek, enum agent_ak_type type, ESYS_TR *ak,
                    TPM2B_PUBLIC *pub, TPM2B_NAME *name, char *err, size_t err_size);

/* The platform's AK at a persistent handle (an Azure CVM's 0x81000003):
 * *ak (an ESYS resource: Esys_TR_Close it, never flush it), its public
 * area and name. Refused unless it is a restricted signing key with
 * fixedTPM and sensitiveDataOrigin. */
int agent_ak_persistent(ESYS_CONTEXT *esys, uint32_t handle, ESYS_TR *ak, TPM2B_PUBLIC *pub,
                        TPM2B_NAME *name, char *err, size_t err_size);

/* TPM2_ActivateCredential: the secret the service sealed to (EK, AK name). */
int agent_ak_activate(ESYS_CONTEXT *esys, ESYS_TR ak, ESYS_TR ek, const TPM2B_ID_OBJECT *blob,
                      const TPM2B_ENCRYPTED_SECRET *secret, TPM2B_DIGEST *out, char *err,
                      size_t err_size);

/* Flushes a loaded object or session, if any; *h becomes ESYS_TR_NONE. */
void agent_tpm_flush(ESYS_CONTEXT *esys, ESYS_TR *h);

/* ---- quote.c: a quote and the PCRs it covers ----------------------------- */

#define AGENT_NONCE_MAX 64 /* TPM2B_DATA: at most a digest */

struct agent_quote {
    TPM2B_ATTEST attest;                 /* attestationData: the TPMS_ATTEST as signed */
    uint8_t sig[sizeof(TPMT_SIGNATURE)]; /* the marshalled TPMT_SIGNATURE */
    size_t sig_len;
    uint32_t pcrs;           /* the selection (sha256) */
    struct tl_pcr_bank bank; /* the selection's values */
};

/* TPM2_Quote of the sha256 PCRs in the mask with the AK's own scheme and
 * the nonce as qualifyingData, and the PCR values it covers; checks that
 * the quote says what was asked (nonce, selection) and that the values
 * read hash to its pcrDigest (quotes again when a PCR moved in between). */
int agent_quote(ESYS_CONTEXT *esys, ESYS_TR ak, const uint8_t *nonce, size_t nonce_len,
                uint32_t pcrs, struct agent_quote *q, char *err, size_t err_size);

/* ---- release.c: the TPM side of a key release (issue 15) ----------------- */

/* A decryption key in the NULL hierarchy, certified by the AK over tld's
 * nonce: its TPM2B_PUBLIC, its parent's, the TPMS_ATTEST and the
 * TPMT_SIGNATURE, all marshalled as tld takes them. */
struct agent_release_key {
    ESYS_TR primary, key;
    uint8_t parent_public[sizeof(TPM2B_PUBLIC)], key_public[sizeof(TPM2B_PUBLIC)];
    size_t parent_len, key_len;
    uint8_t certify[sizeof(TPMS_ATTEST)];
    size_t certify_len;
    uint8_t sig[sizeof(TPMT_SIGNATURE)];
    size_t sig_len;
    /* TPM2B_PRIVATE: the key's private area as the TPM protects it (under
     * the NULL primary: loadable by this TPM until its next reset only) */
    uint8_t key_private[sizeof(TPM2B_PRIVATE)];
    size_t private_len;
};
/* ak ESYS_TR_NONE: the key is made and loaded but not certified. */
int agent_release_key_create(ESYS_CONTEXT *esys, ESYS_TR ak, const uint8_t *nonce, size_t nonce_len,
                             struct agent_release_key *k, char *err, size_t err_size);
/* A key made by agent_release_key_create loaded again from its marshalled
 * TPM2B_PUBLIC and TPM2B_PRIVATE (k->key; not certified). */
int agent_release_key_load(ESYS_CONTEXT *esys, const uint8_t *pub, size_t pub_len,
                           const uint8_t *priv, size_t priv_len, struct agent_release_key *k,
                           char *err, size_t err_size);
/* --release-open DUMP: the answer a --release-dump DUMP run saved (DUMP,
 * DUMP.answer, DUMP.private) opened with the TPM behind tcti, the key's
 * bytes to out_path (new, 0600). Says on stdout what happened ("TL: agent
 * release-open: ..."): the saved key loaded and opened it (exit 0), or it
 * does not load here and this TPM's own key does not open it either, with
 * the TPM's reasons (exit 1). */
int agent_release_open_saved(const char *tcti, const char *dump, const char *out_path);
/* tld's answer opened: RSA_Decrypt (OAEP SHA-256) of the ephemeral AES key
 * in the TPM, then RFC 5649 unwrap; *out malloc'd (the key's bytes: an oct
 * key's value, an RSA key's PKCS#8, possibly followed by zero padding). */
int agent_release_unwrap(ESYS_CONTEXT *esys, const struct agent_release_key *k,
                         const uint8_t *wrapped, size_t len, uint8_t **out, size_t *out_len,
                         char *err, size_t err_size);
/* Flushes both objects. */
void agent_release_key_done(ESYS_CONTEXT *esys, struct agent_release_key *k);

/* ---- hcl.c: Azure's vTPM-bound CVM evidence ------------------------------ */

#define AGENT_HCL_REPORT_NV     0x01400001u
#define AGENT_HCL_USER_DATA_NV  0x01400002u
#define AGENT_HCL_AK_HANDLE     0x81000003u
#define AGENT_HCL_USER_DATA_MAX 64
#define AGENT_HCL_REPORT_MAX    (64u << 10)

/* 1 when the TPM has the HCL report index (a confidential VM), else 0. */
int agent_hcl_present(ESYS_CONTEXT *esys);
/* Writes user_data (n <= 64, zero-padded to 64) to NV 0x01400002 and reads
 * the fresh HCL report from NV 0x01400001 (*report malloc'd). */
int agent_hcl_report(ESYS_CONTEXT *esys, const uint8_t *user_data, size_t n, uint8_t **report,
                     size_t *len, char *err, size_t err_size);

/* ---- attest.c: enrolment and attestation with tld ------------------------ */

struct agent_attest_options {
    const char *tcti;
    const char *eventlog;                /* sent with every quote (re-read each time) */
    enum tl_ek_type ek;                  /* default RSA 2048 */
    enum agent_ak_type ak;               /* default ECC P-256 */
    uint32_t pcrs;                       /* quoted sha256 PCRs, bit i = PCR i */
    unsigned interval;                   /* seconds */
    bool once;                           /* enrol, attest once, return */
    double retry_for;                    /* per request, as for the report */
    const struct agent_ek_cert *ek_cert; /* from the evidence; NULL: none in NV */
    const char *rp_nonce;                /* a relying party's nonce (hex) for the token */
    const char *audience;                /* the token's "aud"; NULL: the platform's */
    /* after a passing attestation (with once): release the key VAULT/KEY
     * to this TPM and write its bytes to release_out (0600) */
    const char *release;
    const char *release_out;
    const char *release_dump; /* the release request written here too (tests) */
};

/* Enrols and attests; without once, attests every interval seconds and
 * never returns. Returns the exit status: OK (attested, or the service does
 * not support attestation), FAIL. */
int agent_attest_run(const struct agent_config *cfg, const struct agent_attest_options *o);

/* ---- report.c -------------------------------------------------------------- */

/* The POST body (docs/image.md, "tl-agent"), compact JSON, malloc'd; NULL
 * when out of memory. */
char *agent_report_body(const struct agent_config *cfg, const struct agent_evidence *ev);

/* ---- http.c ---------------------------------------------------------------- */

#define AGENT_REPLY_MAX (1u << 20)

struct agent_reply {
    long status; /* the HTTP status; 0: no answer */
    char *body;  /* NUL-terminated; NULL when empty */
    size_t len, cap;
    bool truncated;   /* longer than AGENT_REPLY_MAX */
    char reason[400]; /* "HTTP 404: <first body line>", or libcurl's error */
};

/* POSTs the JSON body to url with "Authorization: Bearer TOKEN", retrying
 * with exponential backoff (0.5 s doubling to 8 s) while the server is
 * unreachable or answers 5xx, for up to retry_for seconds (console: "retry N
 * in S s (reason)"). Returns 0 when the server gave a final answer (any
 * status but 5xx: see reply->status), -1 when it did not (reply->reason).
 * Free the reply with agent_reply_done either way. */
int agent_post(const char *url, const char *token, const char *body, double retry_for,
               struct agent_reply *reply);
void agent_reply_done(struct agent_reply *reply);

/* agent_post to cfg->url; prints "reported" or "failed: reason". Returns 0
 * when the server answered 2xx, -1 otherwise. */
int agent_report_send(const struct agent_config *cfg, const char *body, double retry_for);

/* ---- say.c: console lines, waiting (the leaves) ----------------------------- */

__attribute__((format(printf, 1, 2))) void agent_say(const char *fmt, ...);
void agent_sleep(double seconds);
