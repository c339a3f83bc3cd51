/* Record integrity checks: real logs verify, and each way of lying about a
 * record (its data, its type, its PCR, its banks) is a finding that names
 * the record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <stdlib.h>
#include <string.h>

#include "logedit.h"
#include "tl/eventcheck.h"
#include "tl/replay.h"
#include "vectors.h"

#define OVMF_LOG "eventlog/ovmf-debian12/secureboot-on.eventlog.bin"

struct checked {
    uint8_t *buf;
    size_t len;
    struct tl_eventlog log;
    struct tl_eventlog_checks checks;
};

static void check_buf(struct checked *c)
{
    struct tl_error err = {0};
    if (tl_eventlog_parse(c->buf, c->len, &c->log, &err) < 0)
        fail_msg("parse: %s", err.message);
    assert_int_equal(tl_eventlog_check(&c->log, NULL, &c->checks, &err), 0);
}

static void check_vector(const char *rel, struct checked *c)
{
    c->buf = vector_read(rel, &c->len);
    check_buf(c);
}

static void checked_done(struct checked *c)
{
    tl_eventlog_checks_done(&c->checks);
    tl_eventlog_done(&c->log);
    free(c->buf);
}

static void assert_one_finding(struct checked *c, uint32_t event, const char *needle)
{
    if (c->checks.n_findings != 1)
        fail_msg("%zu findings, first: %s", c->checks.n_findings,
                 c->checks.n_findings ? c->checks.findings[0].reason : "-");
    assert_int_equal(c->checks.findings[0].event, event);
    if (!strstr(c->checks.findings[0].reason, needle))
        fail_msg("\"%s\" lacks \"%s\"", c->checks.findings[0].reason, needle);
    assert_int_equal(c->checks.status[event], TL_RECORD_FAILED);
}

static void test_real_logs_verify(void **state)
{
    (void)state;
    static const char *clean[] = {
        OVMF_LOG,
        "eventlog/tpm2-tools/event-arch-linux.bin",
        "eventlog/tpm2-tools/event-bootorder.bin",
        "eventlog/tpm2-tools/event-gce-ubuntu-2104-log.bin",
        "eventlog/tpm2-tools/event-moklisttrusted.bin",
        "eventlog/tpm2-tools/event-sd-boot-fedora37.bin",
        "eventlog/tpm2-tools/event-uefi-sha1-log.bin",
        "eventlog/go-attestation/crypto_agile_eventlog",
    };
    for (size_t i = 0; i < sizeof(clean) / sizeof(clean[0]); i++) {
        struct checked c;
        check_vector(clean[i], &c);
        if (c.checks.n_findings)
            fail_msg("%s: %s", clean[i], c.checks.findings[0].reason);
        checked_done(&c);
    }

    /* What is verified and what is opaque in the OVMF log. */
    struct checked c;
    check_vector(OVMF_LOG, &c);
    assert_int_equal(c.checks.status[0], TL_RECORD_NOT_EXTENDED);
    assert_int_equal(c.checks.status[1], TL_RECORD_VERIFIED);  /* EV_S_CRTM_VERSION */
    assert_int_equal(c.checks.status[2], TL_RECORD_OPAQUE);    /* firmware volume */
    assert_int_equal(c.checks.status[4], TL_RECORD_VERIFIED);  /* SecureBoot */
    assert_int_equal(c.checks.status[26], TL_RECORD_OPAQUE);   /* shim's image */
    assert_int_equal(c.checks.status[27], TL_RECORD_OPAQUE);   /* MokList (PCR 14) */
    assert_int_equal(c.checks.status[41], TL_RECORD_VERIFIED); /* grub_cmd: linux ... */
    assert_int_equal(c.checks.status[45], TL_RECORD_VERIFIED); /* kernel_cmdline */
    size_t verified = 0;
    for (size_t i = 0; i < c.log.n_events; i++)
        verified += c.checks.status[i] == TL_RECORD_VERIFIED;
    assert_int_equal(verified, 37);
    checked_done(&c);
}

/* Real quirks: old shim logged its "Shim" authority with a
 * UEFI_VARIABLE_DATA whose lengths disagree with the record; tpm2-tools'
 * small fixtures declare a sha384 bank their records do not carry. Both are
 * reported, not skipped. */
static void test_real_quirks_reported(void **state)
{
    (void)state;
    struct checked c;
    check_vector("eventlog/go-attestation/sb_cert_eventlog", &c);
    assert_int_equal(c.checks.n_findings, 2);
    assert_int_equal(c.checks.findings[0].event, 12);
    assert_int_equal(c.checks.findings[1].event, 14);
    assert_non_null(strstr(c.checks.findings[0].reason, "VariableDataLength 1080"));
    checked_done(&c);

    check_vector("eventlog/tpm2-tools/event-uefiaction.bin", &c);
    assert_one_finding(&c, 1, "no sha384 digest although the header declares that bank");
    checked_done(&c);
}

/* grub's kernel_cmdline record with one character changed. */
static void test_forged_grub_string(void **state)
{
    (void)state;
    struct checked c = {0};
    c.buf = vector_read(OVMF_LOG, &c.len);
    uint32_t size;
    size_t d = logedit_event_data(c.buf, c.len, 45, &size);
    assert_memory_equal(c.buf + d, "kernel_cmdline: /vmlinuz console=ttyS0", 38);
    c.buf[d + 33] = '1'; /* ttyS0 -> ttyS1 */
    check_buf(&c);
    assert_one_finding(&c, 45, "sha1 digest is not the hash of the grub string it logs");
    checked_done(&c);
}

/* The kernel's image record relabelled EV_POST_CODE: replay is unchanged,
 * but EV_POST_CODE has no business in PCR 4. */
static void test_swapped_type(void **state)
{
    (void)state;
    struct checked c = {0};
    c.buf = vector_read(OVMF_LOG, &c.len);
    size_t off = logedit_event_offset(c.buf, c.len, 43);
    put32(c.buf + off + 4, 1);
    check_buf(&c);
    assert_one_finding(&c, 43, "EV_POST_CODE is not measured into PCR 4");
    checked_done(&c);

    c.buf = vector_read(OVMF_LOG, &c.len);
    put32(c.buf + off + 4, 0x12345678);
    check_buf(&c);
    assert_one_finding(&c, 43, "unknown event type 0x12345678");
    checked_done(&c);

    /* An authority record moved to PCR 4. */
    c.buf = vector_read(OVMF_LOG, &c.len);
    put32(c.buf + logedit_event_offset(c.buf, c.len, 25), 4);
    check_buf(&c);
    assert_one_finding(&c, 25, "EV_EFI_VARIABLE_AUTHORITY is not measured into PCR 4");
    checked_done(&c);
}

/* Relabelling attacks the replay cannot see (found in review): grub's image
 * record as EV_IPL hides grub; shim's MokListRT authority as a
 * DRIVER_CONFIG record would credit grub to the firmware db. */
static void test_relabelled_pcr4_and_pcr7(void **state)
{
    (void)state;
    struct checked c = {0};
    c.buf = vector_read(OVMF_LOG, &c.len);
    put32(c.buf + logedit_event_offset(c.buf, c.len, 32) + 4, TL_EV_IPL);
    check_buf(&c);
    assert_one_finding(&c, 32, "EV_IPL in PCR 4 of a UEFI boot");
    checked_done(&c);

    c.buf = vector_read(OVMF_LOG, &c.len);
    put32(c.buf + logedit_event_offset(c.buf, c.len, 31) + 4, TL_EV_EFI_VARIABLE_DRIVER_CONFIG);
    check_buf(&c);
    assert_one_finding(&c, 31, "EV_EFI_VARIABLE_DRIVER_CONFIG in PCR 7 after its separator");
    checked_done(&c);

    /* Before the separator, only Secure Boot variables: the Boot0000
     * variable moved into PCR 7 is not one. */
    c.buf = vector_read(OVMF_LOG, &c.len);
    size_t off = logedit_event_offset(c.buf, c.len, 11);
    put32(c.buf + off, 7);
    put32(c.buf + off + 4, TL_EV_EFI_VARIABLE_DRIVER_CONFIG);
    check_buf(&c);
    assert_true(c.checks.n_findings >= 1);
    assert_int_equal(c.checks.findings[0].event, 11);
    checked_done(&c);
}

static void test_forged_variable(void **state)
{
    (void)state;
    struct checked c = {0};
    c.buf = vector_read(OVMF_LOG, &c.len);
    uint32_t size;
    size_t d = logedit_event_data(c.buf, c.len, 4, &size); /* SecureBoot = 1 */
    assert_int_equal(c.buf[d + size - 1], 1);
    c.buf[d + size - 1] = 0;
    check_buf(&c);
    assert_one_finding(&c, 4, "digest is not the hash of its UEFI_VARIABLE_DATA");
    checked_done(&c);
}

static void test_separator_and_no_action(void **state)
{
    (void)state;
    struct checked c = {0};
    c.buf = vector_read(OVMF_LOG, &c.len);
    uint32_t size;
    /* A firmware separator with the error value: digest still H(data). */
    size_t d = logedit_event_data(c.buf, c.len, 16, &size);
    c.buf[d] = 1;
    check_buf(&c);
    assert_true(c.checks.n_findings >= 1);
    assert_int_equal(c.checks.findings[0].event, 16);
    checked_done(&c);

    /* EV_NO_ACTION records carry zero digests (PFP 10.4.5). Turn the
     * shim-image record into one with its digests intact. */
    c.buf = vector_read(OVMF_LOG, &c.len);
    put32(c.buf + logedit_event_offset(c.buf, c.len, 26) + 4, 3);
    check_buf(&c);
    assert_one_finding(&c, 26, "EV_NO_ACTION with a non-zero sha1 digest");
    checked_done(&c);
}

/* A verifier's quoted banks only (tl_eventlog_check_banks,
 * tl_replay_banks): a record whose SHA-384 digest is not the hash of its
 * data is a finding when that bank is checked and none when only SHA-256
 * is (the quote binds SHA-256 alone); the checks that need no hash still
 * cover every bank; the SHA-256 replay is the full replay's. */
static void test_quoted_banks_only(void **state)
{
    (void)state;
    const uint16_t sha256[] = {0x000b}, sha384[] = {0x000c};
    struct checked c = {0};
    check_vector(OVMF_LOG, &c);
    assert_int_equal(c.log.n_banks, 4);
    int b384 = tl_eventlog_bank_index(&c.log, 0x000c);
    assert_true(b384 >= 0);
    size_t at = (size_t)(tl_event_digest(&c.log, &c.log.events[4], (unsigned)b384) - c.buf);
    assert_true(at < c.len);
    struct tl_pcr_values all, one;
    struct tl_error err = {0};
    assert_int_equal(tl_replay(&c.log, NULL, &all, &err), 0);
    assert_int_equal(tl_replay_banks(&c.log, NULL, sha256, 1, &one, &err), 0);
    assert_int_equal(all.n_banks, 4);
    assert_int_equal(one.n_banks, 1);
    assert_int_equal(one.banks[0].alg, 0x000b);
    const struct tl_pcr_bank *full = tl_pcr_values_bank_const(&all, 0x000b);
    assert_non_null(full);
    assert_int_equal(one.banks[0].mask, full->mask);
    assert_memory_equal(one.banks[0].value, full->value, sizeof(full->value));
    tl_eventlog_checks_done(&c.checks);
    tl_eventlog_done(&c.log);

    c.buf[at] ^= 1; /* SecureBoot's SHA-384 digest */
    check_buf(&c);
    assert_one_finding(&c, 4, "sha384 digest is not the hash of its UEFI_VARIABLE_DATA");
    tl_eventlog_checks_done(&c.checks);
    assert_int_equal(tl_eventlog_check_banks(&c.log, NULL, sha256, 1, &c.checks, &err), 0);
    assert_int_equal(c.checks.n_findings, 0);
    assert_int_equal(c.checks.status[4], TL_RECORD_VERIFIED);
    tl_eventlog_checks_done(&c.checks);
    assert_int_equal(tl_eventlog_check_banks(&c.log, NULL, sha384, 1, &c.checks, &err), 0);
    assert_one_finding(&c, 4, "sha384 digest is not the hash of its UEFI_VARIABLE_DATA");
    checked_done(&c);

    /* shim's record made EV_NO_ACTION: its non-zero digests are refused in
     * every bank, checked or not (sha1, the first, is not selected) */
    c = (struct checked){0};
    c.buf = vector_read(OVMF_LOG, &c.len);
    put32(c.buf + logedit_event_offset(c.buf, c.len, 26) + 4, 3);
    if (tl_eventlog_parse(c.buf, c.len, &c.log, &err) < 0)
        fail_msg("parse: %s", err.message);
    assert_int_equal(tl_eventlog_check_banks(&c.log, NULL, sha256, 1, &c.checks, &err), 0);
    assert_one_finding(&c, 26, "EV_NO_ACTION with a non-zero sha1 digest");
    checked_done(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_logs_verify),
        cmocka_unit_test(test_real_quirks_reported),
        cmocka_unit_test(test_forged_grub_string),
        cmocka_unit_test(test_swapped_type),
        cmocka_unit_test(test_relabelled_pcr4_and_pcr7),
        cmocka_unit_test(test_forged_variable),
        cmocka_unit_test(test_separator_and_no_action),
        cmocka_unit_test(test_quoted_banks_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
