/* The event log walker against every real log in the vectors, plus altered
 * copies: digests in another order, zero padding, truncation at every offset,
 * counts and sizes out of range, random bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "applog.h"
#include "logedit.h"
#include "tl/digest.h"
#include "tl/eventlog.h"
#include "tl/replay.h"
#include "vectors.h"

#define OVMF_LOG "eventlog/ovmf-debian12/secureboot-on.eventlog.bin"

struct expected_log {
    const char *path;
    enum tl_eventlog_format format;
    size_t n_events; /* cross-checked with tpm2_eventlog's EventNum count */
    unsigned n_banks;
    uint16_t first_bank;
};

static const struct expected_log logs[] = {
    {"eventlog/tpm2-tools/event-arch-linux.bin", TL_EVENTLOG_CRYPTO_AGILE, 25, 2, TL_ALG_SHA1},
    {"eventlog/tpm2-tools/event-bootorder.bin", TL_EVENTLOG_CRYPTO_AGILE, 104, 2, TL_ALG_SHA1},
    {"eventlog/tpm2-tools/event-gce-ubuntu-2104-log.bin", TL_EVENTLOG_CRYPTO_AGILE, 112, 3,
     TL_ALG_SHA1},
    {"eventlog/tpm2-tools/event-moklisttrusted.bin", TL_EVENTLOG_CRYPTO_AGILE, 97, 1,
     TL_ALG_SHA256},
    {"eventlog/tpm2-tools/event-postcode.bin", TL_EVENTLOG_CRYPTO_AGILE, 59, 2, TL_ALG_SHA1},
    {"eventlog/tpm2-tools/event-sd-boot-fedora37.bin", TL_EVENTLOG_CRYPTO_AGILE, 28, 1,
     TL_ALG_SHA256},
    {"eventlog/tpm2-tools/event-uefi-sha1-log.bin", TL_EVENTLOG_SHA1, 17, 1, TL_ALG_SHA1},
    {"eventlog/tpm2-tools/event-uefiaction.bin", TL_EVENTLOG_CRYPTO_AGILE, 2, 4, TL_ALG_SHA1},
    {"eventlog/tpm2-tools/event-uefiservices.bin", TL_EVENTLOG_CRYPTO_AGILE, 2, 2, TL_ALG_SHA1},
    {"eventlog/tpm2-tools/event-uefivar.bin", TL_EVENTLOG_CRYPTO_AGILE, 2, 4, TL_ALG_SHA1},
    {"eventlog/tpm2-tools/event.bin", TL_EVENTLOG_CRYPTO_AGILE, 2, 4, TL_ALG_SHA1},
    {"eventlog/tpm2-tools/specid-vendordata.bin", TL_EVENTLOG_CRYPTO_AGILE, 1, 2, TL_ALG_SHA1},
    {"eventlog/go-attestation/crypto_agile_eventlog", TL_EVENTLOG_CRYPTO_AGILE, 27, 1,
     TL_ALG_SHA256},
    {"eventlog/go-attestation/sb_cert_eventlog", TL_EVENTLOG_CRYPTO_AGILE, 15, 3, TL_ALG_SHA1},
    {OVMF_LOG, TL_EVENTLOG_CRYPTO_AGILE, 50, 4, TL_ALG_SHA1},
};

static void test_every_vector_parses(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(logs) / sizeof(logs[0]); i++) {
        size_t len;
        uint8_t *buf = vector_read(logs[i].path, &len);
        struct tl_eventlog log;
        struct tl_error err = {0};
        int r = tl_eventlog_parse(buf, len, &log, &err);
        if (r < 0)
            fail_msg("%s: %s", logs[i].path, err.message);
        assert_int_equal(log.format, logs[i].format);
        assert_int_equal(log.n_events, logs[i].n_events);
        assert_int_equal(log.n_banks, logs[i].n_banks);
        assert_int_equal(log.banks[0].alg, logs[i].first_bank);
        /* Records tile the log exactly. */
        size_t end = 0;
        for (size_t k = 0; k < log.n_events; k++) {
            assert_int_equal(log.events[k].offset, end);
            assert_int_equal(log.events[k].index, k);
            end += log.events[k].size;
        }
        assert_int_equal(end + log.trailing_zero_bytes, len);
        tl_eventlog_done(&log);
        free(buf);
    }
}

static void test_ovmf_records(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = vector_read(OVMF_LOG, &len);
    struct tl_eventlog log;
    assert_int_equal(tl_eventlog_parse(buf, len, &log, NULL), 0);
    assert_int_equal(log.spec_id.version_major, 2);
    assert_int_equal(log.spec_id.uintn_size, 2);
    assert_int_equal(log.banks[1].alg, TL_ALG_SHA256);
    assert_int_equal(log.banks[3].size, 64);
    assert_int_equal(log.startup_locality, -1);
    /* Event 26: shim, EV_EFI_BOOT_SERVICES_APPLICATION in PCR 4. */
    const struct tl_event *ev = &log.events[26];
    assert_int_equal(ev->pcr, 4);
    assert_int_equal(ev->type, TL_EV_EFI_BOOT_SERVICES_APPLICATION);
    assert_int_equal(ev->data_size, 102);
    char hex[65];
    extern void tl_hex_encode(const uint8_t *, size_t, char *);
    tl_hex_encode(tl_event_digest(&log, ev, 1), 32, hex);
    assert_string_equal(hex, "80a66d53a945d2286fcadd780fae1c225aa732079cd67b5225dc78aaab4e2ff8");
    assert_string_equal(tl_event_type_name(log.events[45].type), "EV_IPL");
    assert_memory_equal(tl_event_data(&log, &log.events[45]), "kernel_cmdline: ", 16);
    tl_eventlog_done(&log);
    free(buf);
}

static void test_specid_vendor_info(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = vector_read("eventlog/tpm2-tools/specid-vendordata.bin", &len);
    struct tl_eventlog log;
    assert_int_equal(tl_eventlog_parse(buf, len, &log, NULL), 0);
    assert_int_equal(log.spec_id.vendor_info_size, 4);
    assert_memory_equal(log.buf + log.spec_id.vendor_info_offset, "\xde\xad\xbe\xef", 4);
    assert_true(log.spec_id.vendor_info_outside_event);
    tl_eventlog_done(&log);
    free(buf);
}

/* TCG_PCR_EVENT2 with the digests listed in another order than the header's:
 * the record must read the same, and replay to the same values. */
static void test_digest_order(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = vector_read(OVMF_LOG, &len);
    size_t off = logedit_event_offset(buf, len, 1); /* EV_S_CRTM_VERSION */
    uint8_t *copy = malloc(len);
    memcpy(copy, buf, len);
    /* Records: pcr, type, count, then sha1 (2+20) and sha256 (2+32) ...
     * Rewrite as sha256 first, then sha1. */
    const uint8_t *d = buf + off + 12;
    uint8_t *o = copy + off + 12;
    memcpy(o, d + 22, 34);
    memcpy(o + 34, d, 22);
    struct tl_eventlog a, b;
    struct tl_pcr_values pa, pb;
    assert_int_equal(tl_eventlog_parse(buf, len, &a, NULL), 0);
    assert_int_equal(tl_eventlog_parse(copy, len, &b, NULL), 0);
    for (unsigned bank = 0; bank < 4; bank++)
        assert_memory_equal(tl_event_digest(&a, &a.events[1], bank),
                            tl_event_digest(&b, &b.events[1], bank), a.banks[bank].size);
    assert_int_equal(tl_replay(&a, NULL, &pa, NULL), 0);
    assert_int_equal(tl_replay(&b, NULL, &pb, NULL), 0);
    assert_int_equal(tl_replay_compare(&pa, &pb, NULL, 0, NULL), 0);
    tl_eventlog_done(&a);
    tl_eventlog_done(&b);
    free(copy);
    free(buf);
}

static void test_trailing_zeros(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = vector_read(OVMF_LOG, &len);
    uint8_t *padded = calloc(1, len + 4096);
    memcpy(padded, buf, len);
    struct tl_eventlog log;
    assert_int_equal(tl_eventlog_parse(padded, len + 4096, &log, NULL), 0);
    assert_int_equal(log.n_events, 50);
    assert_int_equal(log.trailing_zero_bytes, 4096);
    tl_eventlog_done(&log);
    /* Non-zero bytes after the last record are not padding. */
    padded[len + 100] = 1;
    struct tl_error err = {0};
    assert_int_equal(tl_eventlog_parse(padded, len + 4096, &log, &err), -EBADMSG);
    assert_true(err.has_offset);
    assert_true(err.offset >= len && err.offset <= len + 100);
    free(padded);
    free(buf);
}

/* Truncation at every offset: either a valid shorter log (cut on a record
 * boundary) with exactly the records before the cut, or -EBADMSG with an
 * offset inside the input. Never a crash (ASan build). */
static void test_truncated_everywhere(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(logs) / sizeof(logs[0]); i++) {
        size_t len;
        uint8_t *buf = vector_read(logs[i].path, &len);
        struct tl_eventlog full;
        assert_int_equal(tl_eventlog_parse(buf, len, &full, NULL), 0);
        for (size_t cut = 0; cut < len; cut++) {
            uint8_t *t = malloc(cut ? cut : 1);
            memcpy(t, buf, cut);
            struct tl_eventlog log;
            struct tl_error err = {0};
            int r = tl_eventlog_parse(t, cut, &log, &err);
            /* Valid when the cut leaves whole records followed only by
             * zero bytes (which read as padding). */
            size_t boundary_events = 0, end = 0;
            for (size_t k = 0; k < full.n_events; k++)
                if (full.events[k].offset + full.events[k].size <= cut) {
                    boundary_events = k + 1;
                    end = full.events[k].offset + full.events[k].size;
                }
            bool boundary = boundary_events > 0;
            for (size_t k = end; k < cut && boundary; k++)
                boundary = buf[k] == 0;
            if (boundary) {
                assert_int_equal(r, 0);
                assert_int_equal(log.n_events, boundary_events);
                tl_eventlog_done(&log);
            } else {
                if (r != -EBADMSG)
                    fail_msg("%s cut at %zu: r=%d", logs[i].path, cut, r);
                assert_true(err.message[0] != '\0');
                assert_true(err.offset <= cut);
            }
            free(t);
        }
        tl_eventlog_done(&full);
        free(buf);
    }
}

static void expect_error(const uint8_t *buf, size_t len, const char *needle)
{
    struct tl_eventlog log;
    struct tl_error err = {0};
    assert_int_equal(tl_eventlog_parse(buf, len, &log, &err), -EBADMSG);
    if (!strstr(err.message, needle))
        fail_msg("error \"%s\" lacks \"%s\"", err.message, needle);
}

static void test_out_of_range(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = vector_read(OVMF_LOG, &len);
    uint8_t *c = malloc(len);
    size_t off;

    /* Digest count above the header's. */
    memcpy(c, buf, len);
    off = logedit_event_offset(buf, len, 5);
    put32(c + off + 8, 5);
    expect_error(c, len, "event 5: digest count 5 exceeds the header's 4");

    /* An algorithm the header does not declare (SM3). */
    memcpy(c, buf, len);
    c[off + 12] = 0x12;
    c[off + 13] = 0x00;
    expect_error(c, len, "algorithm 0x0012 the header does not declare");

    /* The same algorithm twice in one record. */
    memcpy(c, buf, len);
    c[off + 12 + 22] = 0x04; /* second digest claims sha1 */
    c[off + 12 + 23] = 0x00;
    expect_error(c, len, "two sha1 digests");

    /* Event size beyond the end. */
    memcpy(c, buf, len);
    uint32_t dsize;
    size_t doff = logedit_event_data(buf, len, 49, &dsize);
    put32(c + doff - 4, 0xfffffff0u);
    expect_error(c, len, "event 49: event size 4294967280 overruns the log");

    /* numberOfAlgorithms 0 and 17. */
    memcpy(c, buf, len);
    put32(c + 32 + 24, 0);
    expect_error(c, len, "numberOfAlgorithms 0 out of range");
    put32(c + 32 + 24, 17);
    expect_error(c, len, "numberOfAlgorithms 17 out of range");

    /* A known algorithm with the wrong digest size. */
    memcpy(c, buf, len);
    c[32 + 28 + 2] = 21; /* sha1 declared with 21 bytes */
    expect_error(c, len, "sha1 declared with digest size 21, must be 20");

    /* PCR index out of range. */
    memcpy(c, buf, len);
    put32(c + off, 24);
    expect_error(c, len, "event 5: PCR index 24 out of range");

    expect_error(buf, 0, "empty event log");
    uint8_t zeros[64] = {0};
    expect_error(zeros, sizeof(zeros), "only zero bytes");
    free(c);
    free(buf);
}

static void expect_cap(const uint8_t *buf, size_t len, const char *needle)
{
    struct tl_eventlog log;
    struct tl_error err = {0};
    assert_int_equal(tl_eventlog_parse(buf, len, &log, &err), -E2BIG);
    if (!strstr(err.message, needle))
        fail_msg("error \"%s\" lacks \"%s\"", err.message, needle);
}

/* The caps of eventlog.h: at the cap a log parses, one beyond it is -E2BIG
 * naming the cap. */
static void test_caps(void **state)
{
    (void)state;
    struct tl_eventlog log;
    size_t len;

    /* Records: the header and 65,535 applications, then one more. */
    uint8_t *buf = applog_build(TL_EVENTLOG_MAX_EVENTS - 1, &len);
    assert_int_equal(tl_eventlog_parse(buf, len, &log, NULL), 0);
    assert_int_equal(log.n_events, TL_EVENTLOG_MAX_EVENTS);
    tl_eventlog_done(&log);
    free(buf);
    buf = applog_build(TL_EVENTLOG_MAX_EVENTS, &len);
    expect_cap(buf, len, "event 65536: more than 65536 records, the cap (TL_EVENTLOG_MAX_EVENTS)");
    free(buf);

    /* Bytes: a log of more than 16 MiB is not walked. */
    buf = calloc(1, TL_EVENTLOG_MAX_SIZE + 1);
    expect_cap(buf, TL_EVENTLOG_MAX_SIZE + 1, "exceeds the cap of 16777216 bytes");

    /* One record's data: 1 MiB is allowed, a byte more is not. */
    size_t header = applog_size(0), app = applog_size(1) - header;
    uint8_t *one = applog_build(1, &len);
    for (uint32_t extra = 0; extra < 2; extra++) {
        uint32_t data = TL_EVENTLOG_MAX_EVENT_DATA + extra;
        memcpy(buf, one, header + app - 36);  /* up to the event size field */
        put32(buf + header + app - 36, data); /* EventSize */
        memcpy(buf + header + app - 32, one + header + app - 32, 32);
        size_t n = header + app - 32 + data;
        if (extra == 0) {
            assert_int_equal(tl_eventlog_parse(buf, n, &log, NULL), 0);
            assert_int_equal(log.events[1].data_size, TL_EVENTLOG_MAX_EVENT_DATA);
            tl_eventlog_done(&log);
        } else {
            expect_cap(buf, n, "event 1: event size 1048577 exceeds the cap of 1048576 bytes");
        }
    }
    free(one);
    free(buf);
}

/* Slow-input regression (issue 11): zero padding was found by asking at
 * every record whether the rest of the log was zero, so a legacy SHA-1 log
 * of all-zero records (each a valid EV_PREBOOT_CERT in PCR 0) with one
 * non-zero byte at its end scanned the whole tail at every record: 40,000
 * records (1.3 MB) took 43 s. The padding is now found once. */
static void test_zero_records(void **state)
{
    (void)state;
    size_t n = TL_EVENTLOG_MAX_EVENTS, len = 32 * n;
    uint8_t *buf = calloc(1, len);
    buf[4] = 0x08;            /* record 0: EV_S_CRTM_VERSION, not a Spec ID event */
    buf[len - 32 + 4] = 0x01; /* the last: EV_POST_CODE */
    struct tl_eventlog log;
    assert_int_equal(tl_eventlog_parse(buf, len, &log, NULL), 0);
    assert_int_equal(log.format, TL_EVENTLOG_SHA1);
    assert_int_equal(log.n_events, n);
    assert_int_equal(log.events[n - 1].type, TL_EV_POST_CODE);
    assert_int_equal(log.trailing_zero_bytes, 0);
    tl_eventlog_done(&log);
    /* Without the last byte the zero records are padding. */
    buf[len - 32 + 4] = 0;
    assert_int_equal(tl_eventlog_parse(buf, len, &log, NULL), 0);
    assert_int_equal(log.n_events, 1);
    assert_int_equal(log.trailing_zero_bytes, len - 32);
    tl_eventlog_done(&log);
    free(buf);
}

static void test_random_bytes(void **state)
{
    (void)state;
    srand(12345);
    uint8_t *buf = malloc(8192);
    for (int iter = 0; iter < 2000; iter++) {
        size_t len = (size_t)(rand() % 8192);
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)rand();
        struct tl_eventlog log;
        if (tl_eventlog_parse(buf, len, &log, NULL) == 0)
            tl_eventlog_done(&log);
    }
    free(buf);
}

static void startup_locality(void **state)
{
    (void)state;
    /* Insert a StartupLocality EV_NO_ACTION (PFP 10.4.5.3) after the Spec
     * ID event of the OVMF log: PCR 0 then starts at 00..03, so its replay
     * is H(H(0..03 || d1) || d2 ...) over the same PCR 0 records. */
    size_t len;
    uint8_t *buf = vector_read(OVMF_LOG, &len);
    size_t at = logedit_event_offset(buf, len, 1);
    /* pcr, type, count=4, 4 zero digests, size 17, data */
    size_t rec = 12 + 4 * 2 + 20 + 32 + 48 + 64 + 4 + 17;
    uint8_t *c = calloc(1, len + rec);
    memcpy(c, buf, at);
    uint8_t *p = c + at;
    put32(p, 0);
    put32(p + 4, TL_EV_NO_ACTION);
    put32(p + 8, 4);
    p += 12;
    static const uint16_t algs[4][2] = {{4, 20}, {11, 32}, {12, 48}, {13, 64}};
    for (int i = 0; i < 4; i++) {
        p[0] = (uint8_t)algs[i][0];
        p += 2 + algs[i][1];
    }
    put32(p, 17);
    memcpy(p + 4, "StartupLocality\0\3", 17);
    memcpy(c + at + rec, buf + at, len - at);

    struct tl_eventlog log, orig;
    struct tl_pcr_values v, vo;
    assert_int_equal(tl_eventlog_parse(c, len + rec, &log, NULL), 0);
    assert_int_equal(log.startup_locality, 3);
    assert_int_equal(tl_eventlog_parse(buf, len, &orig, NULL), 0);
    assert_int_equal(tl_replay(&log, NULL, &v, NULL), 0);
    assert_int_equal(tl_replay(&orig, NULL, &vo, NULL), 0);

    /* Independent computation of sha256 PCR 0 from locality 3. */
    struct tl_hasher *h = tl_hasher_new();
    uint8_t pcr0[TL_DIGEST_MAX] = {0};
    pcr0[31] = 3;
    for (size_t i = 1; i < orig.n_events; i++)
        if (orig.events[i].pcr == 0 && orig.events[i].type != TL_EV_NO_ACTION)
            tl_hasher_extend(h, TL_ALG_SHA256, pcr0, tl_event_digest(&orig, &orig.events[i], 1));
    assert_memory_equal(v.banks[1].value[0], pcr0, 32);
    /* Only PCR 0 differs from the original. */
    struct tl_pcr_mismatch mm[8];
    assert_int_equal(tl_replay_compare(&v, &vo, mm, 8, NULL), 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(mm[i].pcr, 0);

    /* Locality 2 is not one the PFP allows. */
    c[at + rec - 1] = 2;
    tl_eventlog_done(&log);
    expect_error(c, len + rec, "StartupLocality 2 is not 0, 3 or 4");
    tl_hasher_free(h);
    tl_eventlog_done(&orig);
    free(c);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_vector_parses), cmocka_unit_test(test_ovmf_records),
        cmocka_unit_test(test_specid_vendor_info),  cmocka_unit_test(test_digest_order),
        cmocka_unit_test(test_trailing_zeros),      cmocka_unit_test(test_truncated_everywhere),
        cmocka_unit_test(test_out_of_range),        cmocka_unit_test(test_random_bytes),
        cmocka_unit_test(startup_locality),         cmocka_unit_test(test_caps),
        cmocka_unit_test(test_zero_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
