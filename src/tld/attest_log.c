/* An attestation's event log against its quote, pure (no node, no lock:
 * it runs in tld_attest_work, outside tld.lock): parsed once, replayed
 * bank by bank against the quoted PCR values, its records checked, its
 * boot state extracted for the policy, and the components digest (what a
 * token names as the boot's software). Also the shape of a finding.
 *
 * Only the quoted banks are replayed and have their records' digests
 * recomputed from the data: the quote binds those alone, so a record's
 * digest in another bank decides nothing (a log whose SHA-384 digest of
 * a variable disagrees with its data replays the same quoted SHA-256
 * PCRs). The parser still checks every bank's digest for algorithm and
 * size, and the record checks still require every declared bank's digest
 * and zero EV_NO_ACTION digests in all of them. OVMF's log has four
 * banks: this hashes a quarter of what checking them all did. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest.h"
#include "tl/util.h"

json_t *tld_finding(const char *component, int pcr, long event, const char *expected,
                    const char *actual, const char *rule)
{
    return json_pack("{s:s, s:i, s:o, s:s?, s:s?, s:s, s:s}", "component", component, "pcr", pcr,
                     "event", event >= 0 ? json_integer(event) : json_null(), "expected", expected,
                     "actual", actual, "severity", "critical", "rule", rule);
}

static const char *record_component(const struct tl_boot_state *bs, uint32_t event)
{
    if (!bs->component_of_event)
        return "event log";
    int32_t c = bs->component_of_event[event];
    return c >= 0 && (size_t)c < bs->n_components ? bs->components[c].name : "event log";
}

void tld_parsed_log_done(struct tld_parsed_log *pl)
{
    if (pl->parsed) {
        tl_boot_state_done(&pl->bs);
        tl_eventlog_checks_done(&pl->checks);
        tl_eventlog_done(&pl->log);
    }
    pl->parsed = pl->ok = false;
}

/* The log against the quoted PCR values and its record checks (pure: no
 * node). Appends findings; sets *secure_boot and the components digest.
 * The policy (needs the node) follows with pl when pl->ok. */
void tld_attest_evaluate_log(const uint8_t *buf, size_t len, const struct tl_pcr_values *quoted,
                             struct tld_parsed_log *pl, json_t *findings, bool *secure_boot,
                             char components_digest[65])
{
    struct tl_error err = {0};
    struct tl_pcr_values *replayed = calloc(1, sizeof(*replayed));
    *secure_boot = false;
    components_digest[0] = 0;
    *pl = (struct tld_parsed_log){0};
    if (!replayed)
        return;
    if (tl_eventlog_parse(buf, len, &pl->log, &err) < 0) {
        json_array_append_new(findings, tld_finding("event log", -1, -1, "a well-formed log",
                                                    err.message, "the event log must parse"));
        free(replayed);
        return;
    }
    pl->parsed = true;
    struct tl_eventlog *log = &pl->log;
    struct tl_boot_state *bs = &pl->bs;
    uint16_t algs[TL_EVENTLOG_MAX_BANKS];
    size_t n_algs = 0;
    for (unsigned i = 0; i < quoted->n_banks && n_algs < TL_EVENTLOG_MAX_BANKS; i++)
        if (quoted->banks[i].mask)
            algs[n_algs++] = quoted->banks[i].alg;
    struct tl_hasher *h = tl_hasher_new(); /* one for both: its EVP_MD fetches */
    if (!h || tl_replay_banks(log, h, algs, n_algs, replayed, &err) < 0 ||
        tl_eventlog_check_banks(log, h, algs, n_algs, &pl->checks, &err) < 0 ||
        tl_boot_state_extract(log, &pl->checks, bs, &err) < 0) {
        json_array_append_new(findings, tld_finding("event log", -1, -1, NULL,
                                                    h ? err.message : "out of memory",
                                                    "the event log must replay"));
        tl_hasher_free(h);
        free(replayed);
        return;
    }
    tl_hasher_free(h);
    pl->ok = true;
    struct tl_pcr_mismatch mm[24];
    uint32_t not_covered = 0;
    size_t count = tl_replay_compare(replayed, quoted, mm, 24, &not_covered);
    for (size_t i = 0; i < count && i < 24; i++) {
        const struct tl_pcr_bank *qb = tl_pcr_values_bank_const(quoted, mm[i].alg);
        char e[2 * TL_DIGEST_MAX + 1] = "", a[2 * TL_DIGEST_MAX + 1] = "", what[64];
        if (mm[i].pcr < 0) {
            snprintf(what, sizeof(what), "the quoted %s bank", tl_alg_name(mm[i].alg));
            json_array_append_new(findings, tld_finding("event log", -1, -1, what, "no such bank",
                                                        "the log must carry every quoted bank"));
            continue;
        }
        tl_hex_encode(mm[i].expected, qb ? qb->size : 0, e);
        tl_hex_encode(mm[i].replayed, qb ? qb->size : 0, a);
        snprintf(what, sizeof(what), "PCR %d (%s)", mm[i].pcr, tl_alg_name(mm[i].alg));
        json_t *f = tld_finding("event log", mm[i].pcr, -1, e, a,
                                "the event log must replay to the quoted PCR values");
        json_object_set_new(f, "what", json_string(what));
        json_array_append_new(findings, f);
    }
    for (size_t i = 0; i < pl->checks.n_findings; i++) {
        const struct tl_record_finding *rf = &pl->checks.findings[i];
        json_array_append_new(
            findings, tld_finding(record_component(bs, rf->event), (int)log->events[rf->event].pcr,
                                  (long)rf->event, NULL, rf->reason, "record check"));
    }
    *secure_boot = bs->secure_boot == 1;
    /* components digest: SHA-256 over each boot application's SHA-256
     * digest in log order, then the kernel command line */
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    int b = tl_eventlog_bank_index(log, 0x000b);
    for (size_t i = 0; b >= 0 && i < bs->n_apps; i++) {
        const uint8_t *d = tl_event_digest(log, &log->events[bs->apps[i].event], (unsigned)b);
        if (d)
            EVP_DigestUpdate(ctx, d, 32);
    }
    if (bs->kernel_cmdline)
        EVP_DigestUpdate(ctx, bs->kernel_cmdline, strlen(bs->kernel_cmdline));
    uint8_t md[32];
    EVP_DigestFinal_ex(ctx, md, NULL);
    EVP_MD_CTX_free(ctx);
    tl_hex_encode(md, 32, components_digest);
    free(replayed);
}
