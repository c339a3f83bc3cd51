/* tl-agent: the node agent. It runs in the node's initramfs, reads the
 * platform's config (QEMU fw_cfg), collects the boot evidence (Secure Boot
 * state, PCRs, the firmware event log, EK certificates) and posts it to tld.
 *
 * The program owns I/O, console lines and exit codes; the parts that read
 * untrusted input (the config) are pure functions over a buffer. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Exit statuses (docs/image.md, "tl-agent"). */
#define AGENT_EXIT_OK          0 /* reported (--once) */
#define AGENT_EXIT_FAIL        1 /* evidence or report failed */
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

/* Empty strings mean "not given". */
struct agent_config {
    char url[AGENT_URL_MAX + 1];
    char token[AGENT_TOKEN_MAX + 1];
    char node[AGENT_NODE_MAX + 1];
};

/* Parses a config document {"url": ..., "token": ..., "node": ...} (pure).
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
int agent_read_file(const char *path, size_t max, uint8_t **out, size_t *len);

/* ---- evidence.c, tpm.c ---------------------------------------------------- */

#define AGENT_MAX_BANKS    8
#define AGENT_NUM_PCRS     24
#define AGENT_DIGEST_MAX   64
#define AGENT_EVENTLOG_MAX (16u << 20)

struct agent_pcr_bank {
    uint16_t alg;
    const char *name; /* "sha256" */
    size_t size;      /* digest size */
    uint32_t read;    /* bit i: PCR i was read */
    uint8_t value[AGENT_NUM_PCRS][AGENT_DIGEST_MAX];
};

struct agent_ek_cert {
    const char *name; /* "rsa2048", "ecc-p256" */
    uint8_t *der;
    size_t len;
};

struct agent_evidence {
    const char *secure_boot; /* "on", "off", "unknown" */
    bool tpm;
    size_t n_banks;
    struct agent_pcr_bank banks[AGENT_MAX_BANKS];
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

/* ---- report.c -------------------------------------------------------------- */

/* The POST body (docs/image.md, "tl-agent"), compact JSON, malloc'd; NULL
 * when out of memory. */
char *agent_report_body(const struct agent_config *cfg, const struct agent_evidence *ev);

/* ---- http.c ---------------------------------------------------------------- */

/* POSTs the body to cfg->url with "Authorization: Bearer TOKEN", retrying
 * with exponential backoff (0.5 s doubling to 8 s) while the server is
 * unreachable or answers 5xx, for up to retry_for seconds. Prints the
 * console lines (retry, reported, failed). Returns 0 when the server answered
 * 2xx, -1 otherwise. */
int agent_report_send(const struct agent_config *cfg, const char *body, double retry_for);

/* ---- main.c: console lines ------------------------------------------------- */

__attribute__((format(printf, 1, 2))) void agent_say(const char *fmt, ...);
