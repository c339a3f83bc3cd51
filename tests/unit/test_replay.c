/* Replay against PCR values that other tools and real TPMs produced:
 * tpm2_eventlog's pcrs blocks, the real swtpm PCRs of the OVMF boot, the
 * quoted PCRs of a GCP Shielded VM. And what a comparison must catch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logedit.h"
#include "tl/replay.h"
#include "tl/util.h"
#include "vectors.h"

#define OVMF_LOG  "eventlog/ovmf-debian12/secureboot-on.eventlog.bin"
#define OVMF_PCRS "eventlog/ovmf-debian12/secureboot-on.tpm-pcrs.txt"

static void replay_file(const uint8_t *buf, size_t len, struct tl_pcr_values *out)
{
    struct tl_eventlog log;
    struct tl_error err = {0};
    if (tl_eventlog_parse(buf, len, &log, &err) < 0)
        fail_msg("parse: %s", err.message);
    assert_int_equal(tl_replay(&log, NULL, out, &err), 0);
    tl_eventlog_done(&log);
}

static void load_pcrs(const char *rel, struct tl_pcr_values *out)
{
    size_t len;
    uint8_t *text = vector_read(rel, &len);
    struct tl_error err = {0};
    if (tl_pcr_values_parse((const char *)text, len, out, &err) < 0)
        fail_msg("%s: %s", rel, err.message);
    free(text);
}

static unsigned count_values(const struct tl_pcr_values *v)
{
    unsigned n = 0;
    for (unsigned b = 0; b < v->n_banks; b++)
        n += (unsigned)__builtin_popcount(v->banks[b].mask);
    return n;
}

/* Every log with a tpm2_eventlog YAML: every bank, every PCR it lists. */
static void test_tpm2_tools_yaml(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        unsigned n_values; /* PCR values in the yaml's pcrs block */
    } cases[] = {
        {"event-arch-linux.bin", 18},
        {"event-bootorder.bin", 20},
        {"event-gce-ubuntu-2104-log.bin", 33},
        {"event-moklisttrusted.bin", 11},
        {"event-postcode.bin", 20},
        {"event-sd-boot-fedora37.bin", 10},
        {"event-uefi-sha1-log.bin", 8},
        {"event-uefiaction.bin", 2},
        {"event-uefiservices.bin", 2},
        {"event-uefivar.bin", 2},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char log_path[256], yaml_path[256];
        snprintf(log_path, sizeof(log_path), "eventlog/tpm2-tools/%s", cases[i].name);
        snprintf(yaml_path, sizeof(yaml_path), "eventlog/tpm2-tools/expected-yaml/%s.yaml",
                 cases[i].name);
        size_t len;
        uint8_t *buf = vector_read(log_path, &len);
        struct tl_pcr_values replayed, expected;
        replay_file(buf, len, &replayed);
        load_pcrs(yaml_path, &expected);
        if (count_values(&expected) != cases[i].n_values)
            fail_msg("%s: yaml has %u values", cases[i].name, count_values(&expected));
        struct tl_pcr_mismatch mm[4];
        uint32_t not_covered = 1;
        size_t n = tl_replay_compare(&replayed, &expected, mm, 4, &not_covered);
        if (n)
            fail_msg("%s: %zu mismatches, first %s PCR %d", cases[i].name, n,
                     tl_alg_name(mm[0].alg), mm[0].pcr);
        assert_int_equal(not_covered, 0); /* the yaml lists only replayed PCRs */
        free(buf);
    }
}

/* The real swtpm's PCRs at the end of the OVMF boot, every bank. PCR 10
 * (IMA) is not the firmware's; PCR 17-22 stay at all ones. */
static void test_ovmf_real_tpm(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = vector_read(OVMF_LOG, &len);
    struct tl_pcr_values replayed, tpm;
    replay_file(buf, len, &replayed);
    load_pcrs(OVMF_PCRS, &tpm);
    assert_int_equal(tpm.n_banks, 4);
    assert_int_equal(count_values(&tpm), 96);
    uint32_t not_covered;
    assert_int_equal(tl_replay_compare(&replayed, &tpm, NULL, 0, &not_covered), 0);
    assert_true(not_covered & (1u << 10));
    assert_false(not_covered & 0xff);
    /* A value as the TPM read it, and as we replay it. */
    const struct tl_pcr_bank *sha256 = tl_pcr_values_bank_const(&replayed, TL_ALG_SHA256);
    char hex[65];
    tl_hex_encode(sha256->value[7], 32, hex);
    size_t text_len;
    char *text = (char *)vector_read(OVMF_PCRS, &text_len);
    const char *line = strstr(text, "PCR sha256 7 ");
    assert_non_null(line);
    for (int i = 0; i < 64; i++)
        assert_int_equal(hex[i], (char)(line[13 + i] | 0x20));
    free(text);
    free(buf);
}

/* GCP Shielded VM (go-attestation): a SHA-1 log and the quoted PCRs. */
static void test_gcp_shielded_vm(void **state)
{
    (void)state;
    json_error_t jerr;
    json_t *root = json_load_file(
        vector_path("eventlog/go-attestation/windows_gcp_shielded_vm.json"), 0, &jerr);
    assert_non_null(root);
    const char *raw = json_string_value(json_object_get(json_object_get(root, "Log"), "Raw"));
    assert_non_null(raw);
    size_t raw_len = strlen(raw);
    uint8_t *log_buf = malloc(raw_len);
    int n = EVP_DecodeBlock(log_buf, (const unsigned char *)raw, (int)raw_len);
    assert_true(n > 0);
    while (raw_len && raw[raw_len - 1] == '=') { /* DecodeBlock counts padding */
        n--;
        raw_len--;
    }
    struct tl_pcr_values replayed, quoted = {0};
    replay_file(log_buf, (size_t)n, &replayed);
    assert_int_equal(replayed.n_banks, 1);
    assert_int_equal(replayed.banks[0].alg, TL_ALG_SHA1);

    quoted.n_banks = 1;
    quoted.banks[0] = (struct tl_pcr_bank){.alg = TL_ALG_SHA1, .size = 20};
    size_t i;
    json_t *pcr;
    json_array_foreach(json_object_get(json_object_get(root, "Log"), "PCRs"), i, pcr)
    {
        assert_int_equal(json_integer_value(json_object_get(pcr, "DigestAlg")), 3);
        int index = (int)json_integer_value(json_object_get(pcr, "Index"));
        uint8_t d[32];
        const char *b64 = json_string_value(json_object_get(pcr, "Digest"));
        assert_int_equal(EVP_DecodeBlock(d, (const unsigned char *)b64, (int)strlen(b64)), 21);
        memcpy(quoted.banks[0].value[index], d, 20);
        quoted.banks[0].mask |= 1u << index;
    }
    assert_int_equal(quoted.banks[0].mask, 0xffffff);
    uint32_t not_covered;
    assert_int_equal(tl_replay_compare(&replayed, &quoted, NULL, 0, &not_covered), 0);
    /* The log extends PCR 0, 4, 5, 7 (firmware) and 11-14 (Windows boot
     * manager); the quote's PCR 1-3 and 6 are still compared (at zero). */
    assert_int_equal(replayed.banks[0].mask, 0x78b1);
    json_decref(root);
    free(log_buf);
}

/* One changed digest: the comparison names that PCR in every bank. */
static void test_tampered_digest(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = vector_read(OVMF_LOG, &len);
    struct tl_pcr_values good, bad;
    replay_file(buf, len, &good);
    size_t off = logedit_event_offset(buf, len, 43); /* the kernel, PCR 4 */
    buf[off + 12 + 2 + 5] ^= 1;                      /* its sha1 digest */
    buf[off + 12 + 22 + 2 + 5] ^= 1;                 /* its sha256 digest */
    replay_file(buf, len, &bad);
    struct tl_pcr_mismatch mm[8];
    size_t n = tl_replay_compare(&bad, &good, mm, 8, NULL);
    assert_int_equal(n, 2);
    assert_int_equal(mm[0].alg, TL_ALG_SHA1);
    assert_int_equal(mm[0].pcr, 4);
    assert_int_equal(mm[1].alg, TL_ALG_SHA256);
    assert_int_equal(mm[1].pcr, 4);
    assert_memory_equal(mm[1].expected, good.banks[1].value[4], 32);
    free(buf);
}

/* A quote over SHA-256 with a log that only carries SHA-1: the log cannot
 * explain the quote, which is a mismatch, not a pass (downgrade). */
static void test_bank_downgrade(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = vector_read("eventlog/tpm2-tools/event-uefi-sha1-log.bin", &len);
    struct tl_pcr_values replayed, quoted = {0};
    replay_file(buf, len, &replayed);
    quoted.n_banks = 1;
    quoted.banks[0] = (struct tl_pcr_bank){.alg = TL_ALG_SHA256, .size = 32, .mask = 0xff};
    struct tl_pcr_mismatch mm[2];
    assert_int_equal(tl_replay_compare(&replayed, &quoted, mm, 2, NULL), 1);
    assert_int_equal(mm[0].pcr, -1);
    assert_int_equal(mm[0].alg, TL_ALG_SHA256);
    free(buf);
}

/* A quoted firmware PCR (0-7) that the log never extends is still compared:
 * dropping all of PCR 5's records cannot hide PCR 5. */
static void test_firmware_pcr_always_compared(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = vector_read(OVMF_LOG, &len);
    struct tl_pcr_values replayed, tpm;
    replay_file(buf, len, &replayed);
    load_pcrs(OVMF_PCRS, &tpm);
    replayed.banks[1].mask &= ~(1u << 5);
    memset(replayed.banks[1].value[5], 0, 32);
    struct tl_pcr_mismatch mm[2];
    assert_int_equal(tl_replay_compare(&replayed, &tpm, mm, 2, NULL), 1);
    assert_int_equal(mm[0].pcr, 5);
    assert_true(mm[0].uncovered);
    free(buf);
}

static void expect_parse_error(const char *text, const char *needle)
{
    struct tl_pcr_values v;
    struct tl_error err = {0};
    assert_int_equal(tl_pcr_values_parse(text, strlen(text), &v, &err), -EBADMSG);
    if (!strstr(err.message, needle))
        fail_msg("\"%s\" lacks \"%s\"", err.message, needle);
}

static void test_pcr_values_formats(void **state)
{
    (void)state;
    static const char *forms[] = {
        "PCR sha1 3 B2A83B0EBF2F8374299A5B2BDFC31EA955AD7236\n",
        "sha1:\n  3 : 0xb2a83b0ebf2f8374299a5b2bdfc31ea955ad7236\n",
        "{\"banks\": {\"sha1\": {\"3\": \"b2a83b0ebf2f8374299a5b2bdfc31ea955ad7236\"}}}",
    };
    for (size_t i = 0; i < 3; i++) {
        struct tl_pcr_values v;
        assert_int_equal(tl_pcr_values_parse(forms[i], strlen(forms[i]), &v, NULL), 0);
        assert_int_equal(v.n_banks, 1);
        assert_int_equal(v.banks[0].mask, 1u << 3);
        assert_int_equal(v.banks[0].value[3][0], 0xb2);
        assert_int_equal(v.banks[0].value[3][19], 0x36);
    }
    expect_parse_error("PCR sha1 3 B2A8\n", "line 1: sha1 PCR 3: not 20 bytes of hex");
    expect_parse_error("PCR md5 3 B2A8\n", "unknown bank \"md5\"");
    expect_parse_error("PCR sha1 24 B2A83B0EBF2F8374299A5B2BDFC31EA955AD7236\n",
                       "PCR index 24 out of range");
    expect_parse_error("sha1:\n  3 : 0xb2a83b0ebf2f8374299a5b2bdfc31ea955ad7236\n"
                       "  3 : 0xb2a83b0ebf2f8374299a5b2bdfc31ea955ad7236\n",
                       "line 3: sha1 PCR 3 given twice");
    expect_parse_error("hello\n", "line 1: not a PCR value");
    expect_parse_error("", "no PCR values found");
    expect_parse_error("{\"sha1\": [1]}", "bank \"sha1\" is not an object");
}

/* The JSON codec: the real swtpm PCRs of the OVMF boot to
 * {"sha256": {"0": hex}} and back, unchanged, and what it refuses. */
static void test_pcr_values_json(void **state)
{
    (void)state;
    struct tl_pcr_values tpm, back;
    load_pcrs(OVMF_PCRS, &tpm);
    json_t *j = tl_pcr_values_to_json(&tpm);
    assert_int_equal(json_object_size(j), 4);
    assert_int_equal(json_object_size(json_object_get(j, "sha256")), 24);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "sha256"), "7")),
                        "75677db6f14082d3bfec4d14bdd75c8d72612ef6914ca99cd5a5997b7a21309d");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "sha256"), "0")),
                        "27fcccfa7f522e228d13ff449bd8c39507a97d7d96b808e9608ddff9b6b0719a");
    struct tl_error err = {0};
    assert_int_equal(tl_pcr_values_from_json(j, &back, &err), 0);
    assert_int_equal(back.n_banks, 4);
    assert_int_equal(count_values(&back), 96);
    uint32_t not_covered = 0;
    assert_int_equal(tl_replay_compare(&tpm, &back, NULL, 0, &not_covered), 0);
    /* under "banks", as `tl eventlog replay --json` prints */
    json_t *wrapped = json_pack("{s:O}", "banks", j);
    assert_int_equal(tl_pcr_values_from_json(wrapped, &back, &err), 0);
    assert_int_equal(count_values(&back), 96);
    json_decref(wrapped);
    json_decref(j);

    static const struct {
        const char *json, *message;
    } bad[] = {
        {"[]", "line 1: expected an object of banks"},
        {"{}", "no PCR values found"},
        {"{\"sha256\": 1}", "line 1: bank \"sha256\" is not an object"},
        {"{\"sha256\": {\"x\": \"00\"}}", "line 1: sha256[\"x\"] is not a PCR value"},
        {"{\"sha256\": {\"24\": \"00\"}}", "line 1: PCR index 24 out of range 0..23"},
        {"{\"sha256\": {\"0\": \"00\"}}", "line 1: sha256 PCR 0: not 32 bytes of hex"},
        {"{\"md5\": {\"0\": \"00\"}}", "line 1: unknown bank \"md5\""},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *b = json_loads(bad[i].json, JSON_DECODE_ANY, NULL);
        assert_non_null(b);
        assert_int_equal(tl_pcr_values_from_json(b, &back, &err), -EBADMSG);
        assert_string_equal(err.message, bad[i].message);
        json_decref(b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tpm2_tools_yaml),
        cmocka_unit_test(test_ovmf_real_tpm),
        cmocka_unit_test(test_gcp_shielded_vm),
        cmocka_unit_test(test_tampered_digest),
        cmocka_unit_test(test_bank_downgrade),
        cmocka_unit_test(test_firmware_pcr_always_compared),
        cmocka_unit_test(test_pcr_values_formats),
        cmocka_unit_test(test_pcr_values_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
