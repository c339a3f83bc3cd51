/* Confidential-VM evidence: the verdict model every TEE verifier of libtl
 * shares (AMD SEV-SNP reports, Intel TDX quotes, Azure's vTPM-bound CVM
 * evidence), the policy they are judged against, and the collateral a
 * caller hands them.
 *
 * A verdict is pass or fail with every reason, each reason a stable code
 * (enum tl_tee_code; its string, "signature", "chain", ..., is the
 * interface: the CLI prints it and scripts match it) plus a detail line;
 * the claims the evidence makes, as a jansson object named as Microsoft
 * Azure Attestation names them (x-ms-attestation-type "sevsnpvm" or
 * "tdxvm", x-ms-sevsnpvm-*, x-ms-isolation-tee for the vTPM-bound forms);
 * and the time it was judged at (every certificate, CRL and collateral
 * window is checked against `at`, never against the machine's clock).
 *
 * Fail closed: a verdict starts as fail and only tl_tee_verdict_finish()
 * turns it into pass, when no reason was recorded. A verifier that stops
 * early records why; a check that could not run is a reason, not a pass.
 *
 * Policy defaults are strict (tl_tee_policy_init): debug refused, VMPL 0
 * only, TCB status UpToDate only, migration agent refused, and only AMD's
 * and Intel's built-in roots trusted: a policy's trusted-roots adds others
 * (an emulated secure processor's, tl/tee_emul.h), and a verdict that
 * relies on one says so (emulated); any other root is `root-untrusted`. A policy file
 * (JSON, tl_tee_policy_parse) pins values and relaxes those defaults; its
 * keys are listed in docs/cli.md ("tl tee").
 *
 * Pure: no I/O, no globals, no logging. Errors are -errno + tl_error.
 *
 * Sources: Microsoft Azure Attestation, "Examples of an attestation token"
 * / "Claim sets" (x-ms-* claim names); AMD SEV-SNP ABI 1.57, 7.3 (the
 * report fields the policy pins); Intel TDX DCAP Quote Generation Library
 * and Quote Verification Library (TCB statuses). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "tl/error.h"

/* ---- reasons ---- */

/* Stable reason codes. Append only: the numeric values are not the
 * interface, the names are, but both stay put once released. */
enum tl_tee_code {
    TL_TEE_SIGNATURE,          /* "signature": the report/quote signature does not verify */
    TL_TEE_CHAIN,              /* "chain": a certificate chain does not lead to a pinned root */
    TL_TEE_TCB_MISMATCH,       /* "tcb-mismatch": reported TCB differs from the certificate's */
    TL_TEE_CHIP_ID,            /* "chip-id": CHIP_ID is not the VCEK's hwID */
    TL_TEE_DEBUG,              /* "debug": the guest is debuggable and the policy refuses it */
    TL_TEE_VMPL,               /* "vmpl": the report's VMPL is not allowed */
    TL_TEE_VERSION,            /* "version": a structure version this code does not accept */
    TL_TEE_EXPIRED,            /* "expired": a certificate outside its validity window at `at` */
    TL_TEE_COLLATERAL_EXPIRED, /* "collateral-expired": CRL / TCB info / QE identity stale */
    TL_TEE_TCB_LEVEL,          /* "tcb-level": no TCB level matches, or below the minimum */
    TL_TEE_TCB_STATUS,         /* "tcb-status": the matched level's status is not accepted */
    TL_TEE_REVOKED,            /* "revoked": a certificate is on its issuer's CRL */
    TL_TEE_QE_BINDING,         /* "qe-binding": QE report does not bind the attestation key */
    TL_TEE_NONCE,              /* "nonce": the freshness value is not the caller's */
    TL_TEE_USER_DATA,          /* "user-data": user data differs from the expected */
    TL_TEE_BINDING,            /* "binding": REPORT_DATA does not hash the runtime data */
    TL_TEE_TPM_SIGNATURE,      /* "tpm-signature": the vTPM quote does not verify */
    TL_TEE_PCR_DIGEST,         /* "pcr-digest": PCR values sent do not match the quote */
    TL_TEE_SECURE_BOOT_OFF,    /* "secure-boot-off": the VM booted without Secure Boot */
    TL_TEE_MEASUREMENT,     /* "measurement": launch measurement / MRTD / RTMR not pinned value */
    TL_TEE_POLICY,          /* "policy": a guest policy bit or pinned value refused */
    TL_TEE_MALFORMED,       /* "malformed": a structure does not parse */
    TL_TEE_COLLATERAL,      /* "collateral": needed collateral is missing or unusable */
    TL_TEE_NOT_VERIFIED,    /* "not-verified": a part this build cannot verify */
    TL_TEE_HOST_DATA,       /* "host-data": HOST_DATA differs from the pinned value */
    TL_TEE_REPORT_DATA,     /* "report-data": REPORT_DATA differs from the pinned value */
    TL_TEE_ID_KEY,          /* "id-key": ID key digest differs from the pinned value */
    TL_TEE_AUTHOR_KEY,      /* "author-key": author key digest differs from the pinned value */
    TL_TEE_MIGRATION_AGENT, /* "migration-agent": migration agent allowed, policy refuses */
    TL_TEE_SMT,             /* "smt": SMT allowed by the guest policy, policy refuses */
    TL_TEE_ABI,             /* "abi": firmware ABI below the guest's or the policy's minimum */
    TL_TEE_SVN,             /* "svn": a security version below the policy's minimum */
    TL_TEE_TPM_DISABLED,    /* "tpm-disabled": the CVM's vTPM is not enabled */
    TL_TEE_VM_CONFIG,       /* "vm-config": a vm-configuration claim refused by policy */
    TL_TEE_ROOT_UNTRUSTED,  /* "root-untrusted": the chain ends at a root that is neither a
                               built-in (AMD/Intel) one nor named by the policy's trusted-roots */
    TL_TEE_CODE_COUNT,
};

/* The stable string of a code ("signature", "tcb-mismatch", ...), or "?" */
const char *tl_tee_code_name(enum tl_tee_code code);
/* The code of a string, or -EINVAL. */
int tl_tee_code_from_name(const char *name);

#define TL_TEE_MAX_REASONS 32

struct tl_tee_reason {
    enum tl_tee_code code;
    char detail[256];
};

/* What kind of evidence a verdict is about. */
enum tl_tee_kind {
    TL_TEE_KIND_UNKNOWN,
    TL_TEE_KIND_SNP,         /* a bare SEV-SNP attestation report */
    TL_TEE_KIND_TDX,         /* a bare TDX quote */
    TL_TEE_KIND_AZ_SNP_VTPM, /* Azure CVM on SEV-SNP: HCL report + vTPM quote */
    TL_TEE_KIND_AZ_TDX_VTPM, /* Azure CVM on TDX: HCL report + TD quote + vTPM quote */
};

/* "snp", "tdx", "az-snp-vtpm", "az-tdx-vtpm", "unknown" */
const char *tl_tee_kind_name(enum tl_tee_kind kind);

struct tl_tee_verdict {
    bool pass; /* only tl_tee_verdict_finish sets it */
    enum tl_tee_kind kind;
    time_t at; /* the verification time every window was checked at */
    unsigned n_reasons;
    unsigned n_dropped; /* reasons past TL_TEE_MAX_REASONS (still a fail) */
    struct tl_tee_reason reasons[TL_TEE_MAX_REASONS];
    json_t *claims; /* object, owned; MAA claim names */
    /* The evidence chained to a root the policy's trusted-roots named and
     * that is not one of the built-in AMD/Intel roots (an emulated secure
     * processor's). Said in the JSON form ("emulated": true) and carried
     * by tl_tee_verdict_merge. */
    bool emulated;
};

/* Starts a verdict as fail with an empty claims object. -ENOMEM. */
int tl_tee_verdict_init(struct tl_tee_verdict *v, enum tl_tee_kind kind, time_t at);
void tl_tee_verdict_done(struct tl_tee_verdict *v);

/* Records a reason (printf-style detail). Always keeps the verdict fail. */
void tl_tee_fail(struct tl_tee_verdict *v, enum tl_tee_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Pass when no reason was recorded; returns v->pass. */
bool tl_tee_verdict_finish(struct tl_tee_verdict *v);

/* Was a reason with this code recorded? */
bool tl_tee_verdict_has(const struct tl_tee_verdict *v, enum tl_tee_code code);

/* Copies every reason of src (and its emulated flag) into dst (a nested verification: the TD quote
 * inside Azure evidence) with prefix ("td quote: ") before each detail. */
void tl_tee_verdict_merge(struct tl_tee_verdict *dst, const struct tl_tee_verdict *src,
                          const char *prefix);

/* {"verdict":"pass"|"fail","kind":...,"at":"2026-02-03T00:00:00Z",
 *  "reasons":[{"code":...,"detail":...}],"claims":{...}}, plus
 *  "emulated":true when v->emulated; NULL on ENOMEM. */
json_t *tl_tee_verdict_json(const struct tl_tee_verdict *v);

/* Claim setters into obj (v->claims or a nested object). They ignore
 * allocation failure of a single claim: claims are a report, the verdict
 * is the reasons. Hex is lowercase. */
void tl_tee_claim_hex(json_t *obj, const char *name, const uint8_t *p, size_t len);
void tl_tee_claim_int(json_t *obj, const char *name, long long value);
void tl_tee_claim_bool(json_t *obj, const char *name, bool value);
void tl_tee_claim_str(json_t *obj, const char *name, const char *value);

/* "2026-02-03T00:00:00Z" into buf (>= 21 bytes). */
void tl_tee_time_format(time_t t, char *buf, size_t size);
/* Parses RFC 3339 UTC ("2026-02-03T00:00:00Z", fraction ignored, or a date
 * "2026-02-03") or a decimal Unix time ("@1770076800" or "1770076800").
 * -EINVAL otherwise. */
int tl_tee_time_parse(const char *s, time_t *out);

/* ---- TCB status (Intel PCS names; SEV-SNP verdicts use UpToDate) ---- */

enum tl_tee_tcb_status {
    TL_TEE_TCB_UP_TO_DATE,
    TL_TEE_TCB_SW_HARDENING_NEEDED,
    TL_TEE_TCB_CONFIGURATION_NEEDED,
    TL_TEE_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED,
    TL_TEE_TCB_OUT_OF_DATE,
    TL_TEE_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED,
    TL_TEE_TCB_REVOKED,
    TL_TEE_TCB_STATUS_COUNT,
};

/* "UpToDate", "SWHardeningNeeded", "ConfigurationNeeded",
 * "ConfigurationAndSWHardeningNeeded", "OutOfDate",
 * "OutOfDateConfigurationNeeded", "Revoked" */
const char *tl_tee_tcb_status_name(enum tl_tee_tcb_status s);
/* Exact PCS spelling, or -EINVAL. */
int tl_tee_tcb_status_from_name(const char *name);

/* ---- policy ---- */

/* An optional pinned byte string. */
struct tl_tee_pin {
    bool set;
    size_t len;
    uint8_t v[64];
};

/* Minimum SEV-SNP TCB (TCB_VERSION fields; fmc only on Turin and later). */
struct tl_tee_snp_tcb_min {
    bool set;
    uint8_t bootloader, tee, snp, microcode, fmc;
};

/* A root a policy trusts beside the built-in ones: an emulated secure
 * processor's ARK (SEV-SNP) or root CA (TDX), by the SHA-256 of its DER. */
enum tl_tee_root_kind {
    TL_TEE_ROOT_SNP_ARK,  /* "snp-ark" */
    TL_TEE_ROOT_TDX_ROOT, /* "tdx-root" */
};

#define TL_TEE_MAX_TRUSTED_ROOTS 8

struct tl_tee_trusted_root {
    enum tl_tee_root_kind kind;
    uint8_t sha256[32];
};

struct tl_tee_policy {
    /* common */
    /* Extra roots (policy key "trusted-roots"); none by default: only
     * AMD's and Intel's pinned roots are trusted. */
    unsigned n_trusted_roots;
    struct tl_tee_trusted_root trusted_roots[TL_TEE_MAX_TRUSTED_ROOTS];
    bool allow_debug;              /* default false */
    uint32_t tcb_status_mask;      /* bit (1 << enum tl_tee_tcb_status); default UpToDate */
    struct tl_tee_pin measurement; /* SNP MEASUREMENT (48) or TDX MRTD (48) */
    struct tl_tee_pin report_data; /* the whole 64 bytes */
    /* Per request (CLI --nonce), never from a policy file: Azure evidence
     * checks it against the vTPM quote's extraData; a bare report or quote
     * against the start of REPORT_DATA (the rest zero). Unset: the
     * freshness is not checked (and no reason says so: the caller chose). */
    struct tl_tee_pin nonce;

    /* SEV-SNP */
    uint8_t vmpl_mask;                   /* bit n: VMPL n allowed; default 0x1 (VMPL 0) */
    bool allow_migration_agent;          /* default false */
    bool allow_smt;                      /* default true (SMT is the cloud norm) */
    struct tl_tee_pin host_data;         /* 32 */
    struct tl_tee_pin id_key_digest;     /* 48 */
    struct tl_tee_pin author_key_digest; /* 48 */
    struct tl_tee_snp_tcb_min snp_min_tcb;
    bool snp_min_abi_set;
    uint8_t snp_min_abi_major, snp_min_abi_minor; /* firmware CURRENT_MAJOR/MINOR */
    uint32_t min_guest_svn;                       /* SNP GUEST_SVN; 0: any */
    bool allow_provisional_firmware;              /* default false: COMMITTED must equal CURRENT */

    /* TDX */
    struct tl_tee_pin rtmr[4];         /* 48 each */
    struct tl_tee_pin mrconfigid;      /* 48 */
    struct tl_tee_pin mrowner;         /* 48 */
    struct tl_tee_pin mrownerconfig;   /* 48 */
    struct tl_tee_pin min_tee_tcb_svn; /* 16 bytes, compared component-wise */

    /* Azure CVM evidence (vm-configuration claims of the runtime data) */
    bool require_secure_boot;    /* default true */
    bool require_tpm_enabled;    /* default true */
    bool allow_console;          /* default true (Azure enables the serial console) */
    struct tl_tee_pin user_data; /* the runtime data's user-data (64) */
};

/* Fills the strict defaults. */
void tl_tee_policy_init(struct tl_tee_policy *p);

/* Parses a policy file over the defaults in p (call tl_tee_policy_init
 * first). JSON object; hex strings for pins (exact sizes); unknown keys are
 * refused (-EINVAL, err names the key) so a misspelt pin never goes quietly
 * unenforced. Keys: allow-debug, allow-migration-agent, allow-smt,
 * vmpl [0..3], tcb-status ["UpToDate", ...], measurement, mrtd (same as
 * measurement), report-data, host-data, id-key-digest, author-key-digest,
 * min-tcb {bootloader, tee, snp, microcode, fmc}, min-abi "1.55",
 * min-guest-svn, allow-provisional-firmware, rtmr [4 x hex or null], mrconfigid, mrowner,
 * mrownerconfig, min-tee-tcb-svn, require-secure-boot, require-tpm-enabled,
 * allow-console, user-data, trusted-roots [{"kind": "snp-ark"|"tdx-root",
 * "sha256": hex of the root certificate's DER}] (at most 8). */
int tl_tee_policy_parse(const char *text, size_t len, struct tl_tee_policy *p,
                        struct tl_error *err);

/* Does the policy name this root (kind and SHA-256 of its DER)? */
bool tl_tee_policy_trusts_root(const struct tl_tee_policy *p, enum tl_tee_root_kind kind,
                               const uint8_t sha256[32]);

/* Compares value with a pin; true when the pin is unset or equal. */
bool tl_tee_pin_matches(const struct tl_tee_pin *pin, const uint8_t *value, size_t len);

/* ---- collateral ---- */

/* What the caller holds beside the evidence (the contents of --collateral
 * DIR, a --vcek file): each verifier picks the items it recognises by their
 * content (certificates PEM or DER, CRLs, PCS JSON) and ignores the rest.
 * The bytes stay the caller's. */
struct tl_tee_blob {
    const char *name; /* for messages (a file name); may be NULL */
    const uint8_t *data;
    size_t len;
};

struct tl_tee_collateral {
    size_t n;
    const struct tl_tee_blob *items;
};
