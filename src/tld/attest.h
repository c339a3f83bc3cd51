/* The attestation service's pieces, shared among its files (tld.h has
 * what the rest of tld calls):
 *   attest.c        an agent's calls: nonces, attest (begin, work, finish)
 *   attest_log.c    a quote's event log: parse, replay, record checks (pure)
 *   attest_codec.c  the AK, baseline and latest attestation to and from JSON
 *   attest_state.c  what attestation says of a node: labels, the learned
 *                   baseline, the predicted policy
 *   enrol.c         enrolment: the EK certificate's chain, credential activation
 *   alert.c         a failed boot's integrity alert
 *   attest_tee.c    a confidential node's hardware evidence (Azure's vTPM-bound form)
 *   attest_tpm.c    TPM structures (attest_tpm.h) */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "tl/bootstate.h"
#include "tl/eventcheck.h"
#include "tl/eventlog.h"
#include "tl/replay.h"
#include "tl/tee.h"
#include "tld.h"

/* attest.c: consumes a nonce this service issued to n (single use, within
 * TLD_NONCE_TTL): true when it was one; under tld.lock. */
bool tld_attest_nonce_take(struct tld *t, struct tld_node *n, const uint8_t *v, size_t len);

/* attest_log.c: one finding of an attestation (a new reference); pcr and
 * event -1: none; expected and actual may be NULL. */
json_t *tld_finding(const char *component, int pcr, long event, const char *expected,
                    const char *actual, const char *rule);

/* The event log of an attest call, parsed outside tld.lock (records point
 * into the caller's buffer, which it keeps) and kept for the policy, which
 * runs under it. */
struct tld_parsed_log {
    bool parsed, ok; /* ok: replayed, checked, boot state extracted */
    struct tl_eventlog log;
    struct tl_eventlog_checks checks;
    struct tl_boot_state bs;
};
void tld_parsed_log_done(struct tld_parsed_log *pl);
/* The log against the quoted PCR values and its record checks (pure: no
 * node). Appends findings; sets *secure_boot and the components digest.
 * The policy (needs the node) follows with pl when pl->ok. */
void tld_attest_evaluate_log(const uint8_t *buf, size_t len, const struct tl_pcr_values *quoted,
                             struct tld_parsed_log *pl, json_t *findings, bool *secure_boot,
                             char components_digest[65]);

/* enrol.c: enroll (a challenge for the AK, bound to the EK) and activate
 * (the secret back: the AK is the node's); req checked by the caller
 * (tld_attest_agent_checks); 0 with *answer or -errno with err set.
 * Enroll is in two halves: prepare without tld.lock (the request alone:
 * the EK certificate's chain read from the CAs' files, the EK and AK
 * checked, MakeCredential), accept under it (the certificate is the one
 * issued to this node; the challenge kept). */
struct tld_enrol_pre {
    char ek_type[16];
    char cert_sha256[65];
    const char *origin; /* TLD_EK_PLATFORM, _MANUFACTURER, _VOUCHED */
    uint8_t *ak_pub;
    size_t ak_len;
    char ak_name[2 * 68 + 1];
    uint8_t secret_value[32], id[16];
    uint8_t *blob, *secret; /* MakeCredential's */
    size_t blob_len, secret_len;
    int status; /* -errno: a failure after the chain, told after the node's own check */
    char why[256];
};
int tld_enrol_prepare(struct tld *t, const json_t *req, struct tld_enrol_pre *pre,
                      struct tl_error *err);
int tld_enrol_accept(struct tld *t, struct tld_node *n, struct tld_enrol_pre *pre, json_t **answer,
                     struct tl_error *err);
void tld_enrol_pre_done(struct tld_enrol_pre *pre);
int tld_enrol_activate(struct tld *t, struct tld_node *n, json_t *req, json_t **answer,
                       struct tl_error *err);

/* alert.c: a failure's integrity alert (one per node identity and boot),
 * raised or updated in the store; the alert to post to the webhook when it
 * is new, reopened or has new findings, else NULL. Under tld.lock, inside
 * the attestation's transaction. */
/* The boot an alert is for: "BOOTS:RESET_COUNT:RESTART_COUNT" (tld's
 * boot count and the TPM's counters as a verified quote showed them). */
void tld_alert_boot(const struct tld_node *n, uint32_t reset_count, uint32_t restart_count,
                    char *out, size_t size);
json_t *tld_alert_record(struct tld *t, struct tld_node *n, const char *boot, long long att,
                         const json_t *components, const json_t *findings);
/* A key release refused to n: its current boot's alert (made when there is
 * none) lists the key withheld ("withheld": [{"key", "clause", "reason",
 * "at"}]); the alert to post when it changed, else NULL. Under tld.lock. */
json_t *tld_alert_withheld(struct tld *t, struct tld_node *n, const char *kid, const char *clause,
                           const char *reason);

/* attest_tee.c: what a confidential node's evidence must show, taken from
 * the node under tld.lock (tld_attest_begin). */
struct tld_tee_expect {
    enum tl_tee_kind kind; /* TL_TEE_KIND_AZ_SNP_VTPM, _AZ_TDX_VTPM; _UNKNOWN: not confidential */
    bool secure_boot;      /* the vm-configuration's secure-boot must be on */
    bool tpm_persisted;    /* ... and its tpm-persisted must say this */
    time_t at;             /* the verification time; 0: now */
    char *policy;          /* the node's TEE policy (JSON text, tl_tee_policy_parse), NULL: the
                            * strict defaults, which trust only AMD's and Intel's roots */
};
/* Fills x from the node (its size's TEE, its security settings, its
 * pool's "teePolicy"); -ENOMEM. */
int tld_tee_expect_of(const struct tld_node *n, struct tld_tee_expect *x);
/* Judges the agent's "tee_evidence" (NULL: none) against this
 * attestation's nonce, quote and the node's enrolled AK (a marshalled
 * TPM2B_PUBLIC); appends a finding per reason (component "tee", rule the
 * reason code) and sets *claims (the verifier's, MAA names; NULL when the
 * evidence did not parse). Without tld.lock. 0, or -ENOMEM. */
int tld_tee_check(struct tld_tee *tee, const struct tld_tee_expect *x, const json_t *evidence,
                  const uint8_t *nonce, size_t nonce_len, const uint8_t *quote, size_t quote_len,
                  const uint8_t *ak_public, size_t ak_len, json_t *findings, json_t **claims);
