/* What a node's agent posts when it comes up (the body is the agent's
 * contract, docs/image.md): its Secure Boot state, its TPM's PCRs, the
 * firmware event log and the EK certificates read from NV.
 *
 * This is the report-in of a node, not attestation: nothing here is signed
 * by the TPM (the attestation service adds quotes with fresh nonces). What
 * tld can check it checks, and says so in the summary:
 *  - the bearer token is the node's own (a node cannot report as another);
 *  - the event log parses and replays, bank by bank, to the PCRs the
 *    agent read (a consistent report);
 *  - the Secure Boot state the log measured agrees with the one the guest
 *    read from its variable;
 *  - the EK certificates in the vTPM are the ones the platform issued;
 *  - a vTPM-less node reports no TPM, a node with one reports one.
 * Later, when the node stops, tld reads the vTPM's PCRs itself and compares
 * them with the same replay (tld_report_compare_host). */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl/base64.h"
#include "tl/bootstate.h"
#include "tl/eventcheck.h"
#include "tl/eventlog.h"
#include "tl/replay.h"
#include "tl/util.h"
#include "tld.h"

/* Replays the log and compares it with pcrs ({"sha256": {"0": hex}}):
 * {"verdict": "match"|"mismatch", "banks": [...], "mismatches": [...]} */
static json_t *compare(const uint8_t *log_buf, size_t log_len, const json_t *pcrs)
{
    json_t *res = json_object();
    struct tl_eventlog log;
    struct tl_error err = {0};
    if (tl_eventlog_parse(log_buf, log_len, &log, &err) < 0) {
        json_object_set_new(res, "verdict", json_string("unparsable-log"));
        json_object_set_new(res, "error", json_string(err.message));
        return res;
    }
    struct tl_pcr_values *replayed = calloc(1, sizeof(*replayed));
    struct tl_pcr_values *expected = calloc(1, sizeof(*expected));
    if (!replayed || !expected || tl_replay(&log, NULL, replayed, &err) < 0 ||
        tl_pcr_values_from_json(pcrs, expected, &err) < 0) {
        json_object_set_new(res, "verdict", json_string("error"));
        json_object_set_new(res, "error", json_string(err.message[0] ? err.message : "replay"));
        goto out;
    }
    struct tl_pcr_mismatch mm[32];
    uint32_t not_covered = 0;
    size_t count = tl_replay_compare(replayed, expected, mm, 32, &not_covered);
    json_object_set_new(res, "verdict", json_string(count ? "mismatch" : "match"));
    json_object_set_new(res, "events", json_integer((json_int_t)log.n_events));
    json_t *banks = json_array();
    for (unsigned b = 0; b < expected->n_banks; b++)
        json_array_append_new(banks, json_string(tl_alg_name(expected->banks[b].alg)));
    json_object_set_new(res, "banks", banks);
    json_t *list = json_array();
    for (size_t i = 0; i < count && i < 32; i++) {
        const struct tl_pcr_bank *eb = tl_pcr_values_bank_const(expected, mm[i].alg);
        size_t size = eb ? eb->size : 0;
        char hex_r[2 * TL_DIGEST_MAX + 1] = "", hex_e[2 * TL_DIGEST_MAX + 1] = "";
        tl_hex_encode(mm[i].replayed, size, hex_r);
        tl_hex_encode(mm[i].expected, size, hex_e);
        json_array_append_new(list,
                              json_pack("{s:s, s:i, s:s, s:s}", "bank", tl_alg_name(mm[i].alg),
                                        "pcr", mm[i].pcr, "replayed", hex_r, "tpm", hex_e));
    }
    json_object_set_new(res, "mismatches", list);
out:
    free(replayed);
    free(expected);
    tl_eventlog_done(&log);
    return res;
}

json_t *tld_report_compare_host(const struct tld_node *n, const json_t *pcrs)
{
    const char *b64 = json_string_value(json_object_get(n->report, "eventlog_base64"));
    if (!b64)
        return json_pack("{s:s}", "verdict", "no-eventlog");
    uint8_t *buf;
    size_t len;
    if (tl_base64_decode_string(b64, &buf, &len) < 0)
        return json_pack("{s:s}", "verdict", "error");
    json_t *r = compare(buf, len, pcrs);
    free(buf);
    return r;
}

bool tld_token_ok(const struct tld_node *n, const char *auth)
{
    uint8_t h[32];
    return tld_bearer_hash(auth, h) && CRYPTO_memcmp(h, n->token_sha256, 32) == 0;
}

/* The Secure Boot state the log measured (EV_EFI_VARIABLE_DRIVER_CONFIG
 * SecureBoot in PCR 7): 1, 0, -1 not measured or unreadable. */
static int logged_secure_boot(const uint8_t *buf, size_t len)
{
    struct tl_eventlog log;
    struct tl_error err = {0};
    if (tl_eventlog_parse(buf, len, &log, &err) < 0)
        return -1;
    struct tl_eventlog_checks checks = {0};
    struct tl_boot_state bs = {0};
    int sb = -1;
    if (tl_eventlog_check(&log, NULL, &checks, &err) >= 0 &&
        tl_boot_state_extract(&log, &checks, &bs, &err) >= 0)
        sb = bs.secure_boot;
    tl_boot_state_done(&bs);
    tl_eventlog_checks_done(&checks);
    tl_eventlog_done(&log);
    return sb;
}

static json_t *ek_check(const struct tld_node *n, const json_t *certs)
{
    json_t *res = json_object();
    size_t i;
    json_t *ek, *eks = tld_node_ek(n);
    json_array_foreach(eks, i, ek)
    {
        const char *type = json_string_value(json_object_get(ek, "type"));
        const char *want =
            json_string_value(json_object_get(json_object_get(ek, "certificate"), "sha256"));
        const char *b64 = json_string_value(json_object_get(certs, type ? type : ""));
        const char *verdict = "missing";
        uint8_t *der;
        size_t len;
        char hex[65] = "";
        if (b64 && tl_base64_decode_string(b64, &der, &len) == 0) {
            uint8_t md[32];
            SHA256(der, len, md);
            tl_hex_encode(md, 32, hex);
            verdict = want && strcmp(hex, want) == 0 ? "issued-by-platform" : "unknown";
            free(der);
        }
        if (type)
            json_object_set_new(
                res, type,
                json_pack("{s:s, s:s?}", "verdict", verdict, "sha256", hex[0] ? hex : NULL));
    }
    json_decref(eks);
    return res;
}

/* The pure half: the body parsed and checked, the event log decoded,
 * replayed and its Secure Boot read, without tld.lock (api.c). */
int tld_report_prepare(const char *body, size_t len, struct tld_report_pre *pre,
                       struct tl_error *err)
{
    *pre = (struct tld_report_pre){.logged = -1};
    json_error_t jerr;
    json_t *r = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(r)) {
        json_decref(r);
        return tl_error_set_nopos(err, -EINVAL, "report: not a JSON object (%s)", jerr.text);
    }
    const char *sb = json_string_value(json_object_get(r, "secure_boot"));
    json_t *tpm = json_object_get(r, "tpm");
    json_t *pcrs = json_object_get(r, "pcrs");
    json_t *elog = json_object_get(r, "eventlog");
    json_t *certs = json_object_get(r, "ek_certs");
    if (json_integer_value(json_object_get(r, "version")) != 1 || !sb || !json_is_boolean(tpm) ||
        !(json_is_null(pcrs) || json_is_object(pcrs)) ||
        !(json_is_null(elog) || json_is_string(elog)) ||
        !(certs == NULL || json_is_object(certs)) || !json_is_string(json_object_get(r, "node"))) {
        json_decref(r);
        return tl_error_set_nopos(
            err, -EINVAL,
            "report: missing or malformed fields (version 1, node, secure_boot, tpm, "
            "pcrs, eventlog)");
    }
    pre->r = r;
    if (json_is_string(elog)) {
        uint8_t *buf;
        size_t blen;
        if (tl_base64_decode_string(json_string_value(elog), &buf, &blen) == 0) {
            pre->eventlog_ok = true;
            pre->eventlog_bytes = blen;
            pre->logged = logged_secure_boot(buf, blen);
            if (json_is_object(pcrs))
                pre->replay = compare(buf, blen, pcrs);
            free(buf);
        }
    }
    return 0;
}

void tld_report_pre_done(struct tld_report_pre *pre)
{
    json_decref(pre->r);
    json_decref(pre->replay);
    *pre = (struct tld_report_pre){0};
}

int tld_report_accept(struct tld *t, struct tld_node *n, const char *auth,
                      const struct tld_report_pre *pre, struct tl_error *err)
{
    if (!tld_token_ok(n, auth))
        return tl_error_set_nopos(err, -EACCES, "not this node's token");
    if (n->state != TLD_BOOTING && n->state != TLD_RUNNING)
        return tl_error_set_nopos(err, -EBUSY, "node %s is %s, not booting", n->name,
                                  tld_state_name(n->state));
    json_t *r = pre->r;
    if (strcmp(json_string_value(json_object_get(r, "node")), n->name) != 0)
        return tl_error_set_nopos(err, -EINVAL, "report: node is %s, not %s",
                                  json_string_value(json_object_get(r, "node")), n->name);
    int status = 0;
    const char *sb = json_string_value(json_object_get(r, "secure_boot"));
    json_t *tpm = json_object_get(r, "tpm");
    json_t *pcrs = json_object_get(r, "pcrs");
    json_t *elog = json_object_get(r, "eventlog");
    json_t *certs = json_object_get(r, "ek_certs");
    json_t *sum = json_object();
    json_object_set_new(sum, "at", json_integer(tld_now()));
    json_object_set_new(sum, "secure_boot", json_string(sb));
    json_object_set(sum, "tpm", tpm);
    json_object_set(sum, "kernel", json_object_get(r, "kernel"));
    json_object_set(sum, "cmdline", json_object_get(r, "cmdline"));
    json_object_set(sum, "uptime", json_object_get(r, "uptime"));
    json_t *findings = json_array();
    if (json_is_true(tpm) != n->spec.vtpm)
        json_array_append_new(findings,
                              json_string(n->spec.vtpm ? "the node has a vTPM but reported none"
                                                       : "the node has no vTPM but reported one"));
    /* a BIOS (Gen1) guest has no SecureBoot variable to read: "unknown" */
    const char *want_sb = n->spec.generation == 1 ? "unknown" : n->spec.secure_boot ? "on" : "off";
    if (!n->spec.external && strcmp(sb, want_sb) != 0)
        json_array_append_new(
            findings,
            json_sprintf("Secure Boot is %s in the policy, the guest saw %s", want_sb, sb));
    if (json_is_string(elog)) {
        if (!pre->eventlog_ok) {
            json_array_append_new(findings, json_string("the event log is not base64"));
        } else {
            int logged = pre->logged;
            json_object_set_new(sum, "eventlog_bytes",
                                json_integer((json_int_t)pre->eventlog_bytes));
            json_object_set(sum, "eventlog_base64", elog);
            json_object_set_new(sum, "logged_secure_boot",
                                logged < 0 ? json_null() : json_string(logged ? "on" : "off"));
            if (logged >= 0 && strcmp(sb, logged ? "on" : "off") != 0)
                json_array_append_new(
                    findings, json_sprintf("the event log measured Secure Boot %s, the guest "
                                           "read %s",
                                           logged ? "on" : "off", sb));
            if (pre->replay) {
                if (strcmp(json_string_value(json_object_get(pre->replay, "verdict")), "match") !=
                    0)
                    json_array_append_new(findings,
                                          json_string("the event log does not replay to the PCRs"));
                json_object_set(sum, "replay", pre->replay);
            }
        }
    } else if (n->spec.vtpm && n->spec.generation == 2) {
        json_array_append_new(findings, json_string("no event log from a node with a vTPM"));
    }
    if (json_is_object(pcrs)) {
        json_object_set(sum, "pcrs", pcrs);
        json_t *banks = json_array();
        const char *bank;
        json_t *v;
        json_object_foreach(pcrs, bank, v) json_array_append_new(banks, json_string(bank));
        json_object_set_new(sum, "banks", banks);
    }
    if (n->spec.vtpm && n->ek && certs) {
        json_t *ek = ek_check(n, certs);
        const char *type;
        json_t *v;
        json_object_foreach(ek, type, v)
        {
            const char *verdict = json_string_value(json_object_get(v, "verdict"));
            if (strcmp(verdict, "issued-by-platform") != 0)
                json_array_append_new(findings,
                                      json_sprintf("EK certificate %s: %s", type, verdict));
        }
        json_object_set_new(sum, "ek_certs", ek);
    }
    json_object_set_new(sum, "consistent", json_boolean(json_array_size(findings) == 0));
    json_object_set_new(sum, "findings", findings);
    json_decref(n->report);
    n->report = sum;
    n->state = TLD_RUNNING;
    n->reason[0] = 0;
    json_decref(n->diag);
    n->diag = json_pack("{s:s, s:s}", "verdict", "reported", "phase", "agent");
    if (tld_store_save(t, n) < 0)
        status = tl_error_set_nopos(err, -EIO, "cannot store the report");
    tld_log("node %s: reported in (secure boot %s, tpm %s, %s)", n->name, sb,
            json_is_true(tpm) ? "yes" : "no",
            json_array_size(findings) ? "with findings" : "consistent");
    return status;
}
