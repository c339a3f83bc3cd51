/* The attestation policy: what a node's boot must look like, and the
 * findings when it does not (lib/attest/policy.c). Pure: the image's parsed
 * manifest, the event log (already bound to the TPM by the quote) and its
 * boot state, and the pool's rules in; findings out.
 *
 * Each finding names the component, the PCR, the event (its index in the
 * log), expected and actual, and a reason: a code (tl_policy_reason_name,
 * for programs) and the rule it broke in words (tl_policy_reason_text, what
 * alerts and `tl node show` print as "rule"). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "tl/bootstate.h"
#include "tl/error.h"
#include "tl/eventlog.h"
#include "tl/manifest.h"

enum tl_policy_reason {
    TL_POLICY_NO_MANIFEST,  /* the image's manifest could not be read */
    TL_POLICY_SECURE_BOOT,  /* Secure Boot wanted, measured off or not at all */
    TL_POLICY_UNKNOWN_APP,  /* a boot application the image does not have */
    TL_POLICY_APP_DIGEST,   /* a component's Authenticode digest differs */
    TL_POLICY_GRUB_EXTRA,   /* a grub record beyond the image's */
    TL_POLICY_CMDLINE,      /* the kernel command line differs from the image's */
    TL_POLICY_GRUB_COMMAND, /* a grub command differs */
    TL_POLICY_FILE_DIGEST,  /* a file grub read differs */
    TL_POLICY_GRUB_SHORT,   /* grub stopped before the image's last record */
    TL_POLICY_RULE_CMDLINE, /* the pool's kernelCmdline */
    TL_POLICY_RULE_KERNEL,  /* the pool's allowedKernels */
    TL_POLICY_RULE_DBX,     /* the pool's requiredDbx */
    TL_POLICY_REASON_COUNT,
};

/* "secure-boot-off", "app-digest", ...: stable codes. */
const char *tl_policy_reason_name(enum tl_policy_reason r);
/* The rule in words, as findings have always carried it. */
const char *tl_policy_reason_text(enum tl_policy_reason r);

struct tl_finding {
    enum tl_policy_reason reason;
    char *component; /* "kernel", "kernel command line", "boot sequence", ... */
    int pcr;         /* -1: none */
    long event;      /* index in the log, -1: none */
    char *expected;  /* NULL: none */
    char *actual;    /* NULL: none */
    char *file;      /* a grub file record's text, or NULL */
};

struct tl_findings {
    struct tl_finding *items;
    size_t n, cap;
};
void tl_findings_done(struct tl_findings *f);

/* A pool's explicit rules (PUT .../agentPools/P/policy), each a further
 * constraint, never a relaxation. Hex values are 64 lowercase digits. */
#define TL_POLICY_MAX_RULE_ENTRIES 256
struct tl_policy_rules {
    char *kernel_cmdline;        /* NULL: no rule */
    char (*allowed_kernels)[65]; /* the kernel's PCR 4 Authenticode SHA-256 */
    size_t n_allowed_kernels;
    bool has_allowed_kernels;
    char (*required_dbx)[65]; /* hash entries or certificates' SHA-256 */
    size_t n_required_dbx;
    bool has_required_dbx;
    int require_secure_boot; /* -1 unset, 0 false, 1 true */
    int refuse_vouched_ek;   /* -1 unset, 0, 1 (checked where the EK's origin is known) */
    char *tee_policy;        /* a confidential pool's hardware evidence policy: compact JSON that
                              * tl_tee_policy_parse accepts (tl tee's policy file); NULL: the
                              * strict defaults */
};
#define TL_POLICY_TEE_MAX (16 << 10)

/* Checks and normalises rules from a request's JSON object (NULL: none).
 * -EINVAL with err naming the field; hex values come out lowercase. */
int tl_policy_rules_from_json(const json_t *req, struct tl_policy_rules *rules,
                              struct tl_error *err);
/* The rules as JSON again (only the fields set), a new reference. */
json_t *tl_policy_rules_to_json(const struct tl_policy_rules *rules);
void tl_policy_rules_done(struct tl_policy_rules *rules);

struct tl_policy_input {
    const struct tl_manifest *manifest; /* NULL: not read, manifest_error says why */
    const char *manifest_error;
    const struct tl_eventlog *log;
    const struct tl_boot_state *bs;
    const struct tl_policy_rules *rules; /* NULL: none */
    bool secure_boot;                    /* the node is meant to boot with Secure Boot */
};

/* Appends the findings of one boot to out (which may hold findings
 * already). Returns 0, or -ENOMEM. */
int tl_policy_evaluate(const struct tl_policy_input *in, struct tl_findings *out,
                       struct tl_error *err);
