/* Unit tests for lib/tee (verdict, policy, SEV-SNP) with the real vectors
 * in $TL_VECTORS/tee/snp (see SOURCES.md).
 *
 * What is asserted:
 *  - Milan v2 (virtee), Milan v3 and Genoa v3 (msft) pass with their VCEKs
 *    at 2026-06-01 (inside every window), with their TCB and product
 *    claims; the v2 report's product comes from its VCEK;
 *  - the go-sev-guest report fails with exactly `debug` (its policy sets
 *    bit 19) and passes under allow-debug;
 *  - another chip's VCEK (go-sev-guest's with the virtee report) fails
 *    `chip-id` and `signature` and `tcb-mismatch`; trustee's invalid VCEK
 *    fails `chip-id`; the Turin VCEK with a Milan report fails `chain`;
 *  - a VCEK checked against the VLEK root (the ASVK given as the chain)
 *    fails `chain`; the right chain (virtee's cert_chain) passes;
 *  - a time before the VCEK's notBefore fails `expired`;
 *  - every signed byte flipped fails with `signature` (or the field's own
 *    reason as well, never a pass); every truncation is a clean -EBADMSG
 *    from the parser and `malformed` from the verifier;
 *  - Turin: the TCB_VERSION layout (FMC byte) and 8-byte hwID, shown with a
 *    report made to say Turin for the real Turin VCEK (only `signature`
 *    fails), and a Milan VCEK for it (`chain`);
 *  - a CRL in ARK-Milan's name not signed by it fails `chain`; one of
 *    another ARK is not this chain's and is ignored;
 *  - version 1, 4 and 6 fail `version`; the policy file parser refuses
 *    unknown keys and reads every key;
 *  - every policy key that applies to a report, from a policy file: at the
 *    report's value it passes, one step off it fails with exactly its code
 *    (measurement, report-data, host-data, id-key-digest,
 *    author-key-digest, min-tcb per component, min-guest-svn, min-abi,
 *    vmpl, allow-smt, allow-migration-agent, allow-provisional-firmware,
 *    allow-debug; tcb-status is TDX's and leaves a report's verdict). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl/snp.h"
#include "tl/tee.h"
#include "tl/util.h"
#include "vectors.h"

#define SNP "tee/snp/"

static time_t when(const char *s)
{
    time_t t;
    assert_int_equal(tl_tee_time_parse(s, &t), 0);
    return t;
}

struct vec {
    uint8_t *report;
    size_t report_len;
    uint8_t *cert;
    size_t cert_len;
};

static struct vec load(const char *report, const char *cert)
{
    struct vec v = {0};
    size_t n;
    uint8_t *raw = vector_read(report, &n);
    if (strstr(report, ".hex")) {
        assert_int_equal(
            tl_snp_report_from_hex((const char *)raw, n, &v.report, &v.report_len, NULL), 0);
        free(raw);
    } else {
        v.report = raw;
        v.report_len = n;
    }
    v.cert = vector_read(cert, &v.cert_len);
    return v;
}

static void vec_free(struct vec *v)
{
    free(v->report);
    free(v->cert);
}

/* Verifies and returns the verdict (caller frees with tl_tee_verdict_done). */
static void verify(struct tl_snp_ctx *ctx, const uint8_t *report, size_t len, const uint8_t *cert,
                   size_t cert_len, const struct tl_tee_collateral *col,
                   const struct tl_tee_policy *pol, time_t at, struct tl_tee_verdict *v)
{
    assert_int_equal(tl_tee_verdict_init(v, TL_TEE_KIND_SNP, at), 0);
    struct tl_snp_evidence ev = {
        .report = report, .report_len = len, .cert = cert, .cert_len = cert_len, .collateral = col};
    assert_int_equal(tl_snp_verify(ctx, &ev, pol, v), 0);
}

static void print_reasons(const struct tl_tee_verdict *v)
{
    for (unsigned i = 0; i < v->n_reasons; i++)
        print_message("  %s: %s\n", tl_tee_code_name(v->reasons[i].code), v->reasons[i].detail);
}

static int setup(void **state)
{
    struct tl_snp_ctx *ctx;
    struct tl_error err;
    assert_int_equal(tl_snp_ctx_new(&ctx, &err), 0);
    *state = ctx;
    return 0;
}

static int teardown(void **state)
{
    tl_snp_ctx_free(*state);
    return 0;
}

static const char *claim_str(const struct tl_tee_verdict *v, const char *name)
{
    return json_string_value(json_object_get(v->claims, name));
}

static long long claim_int(const struct tl_tee_verdict *v, const char *name)
{
    json_t *j = json_object_get(v->claims, name);
    assert_non_null(j);
    return json_integer_value(j);
}

static void test_milan_v2_passes(void **state)
{
    struct vec x = load(SNP "virtee-report_milan.hex", SNP "virtee-vcek_milan.der");
    struct tl_tee_policy pol;
    tl_tee_policy_init(&pol);
    struct tl_tee_verdict v;
    verify(*state, x.report, x.report_len, x.cert, x.cert_len, NULL, &pol,
           when("2026-06-01T00:00:00Z"), &v);
    print_reasons(&v);
    assert_true(v.pass);
    assert_string_equal(claim_str(&v, "x-ms-attestation-type"), "sevsnpvm");
    assert_string_equal(claim_str(&v, "x-ms-sevsnpvm-product"), "Milan");
    assert_int_equal(claim_int(&v, "x-ms-sevsnpvm-report-version"), 2);
    assert_int_equal(claim_int(&v, "x-ms-sevsnpvm-bootloader-svn"), 3);
    assert_int_equal(claim_int(&v, "x-ms-sevsnpvm-snpfw-svn"), 8);
    assert_int_equal(claim_int(&v, "x-ms-sevsnpvm-microcode-svn"), 115);
    assert_int_equal(claim_int(&v, "x-ms-sevsnpvm-vmpl"), 0);
    assert_string_equal(claim_str(&v, "x-ms-sevsnpvm-firmware-version"), "1.52.4");
    tl_tee_verdict_done(&v);
    vec_free(&x);
}

static void test_v3_pass(void **state, const char *report, const char *vcek, const char *product,
                         int bl, int snp, int ucode)
{
    struct vec x = load(report, vcek);
    struct tl_tee_policy pol;
    tl_tee_policy_init(&pol);
    struct tl_tee_verdict v;
    verify(*state, x.report, x.report_len, x.cert, x.cert_len, NULL, &pol,
           when("2026-06-01T00:00:00Z"), &v);
    print_reasons(&v);
    assert_true(v.pass);
    assert_string_equal(claim_str(&v, "x-ms-sevsnpvm-product"), product);
    assert_int_equal(claim_int(&v, "x-ms-sevsnpvm-report-version"), 3);
    assert_int_equal(claim_int(&v, "x-ms-sevsnpvm-bootloader-svn"), bl);
    assert_int_equal(claim_int(&v, "x-ms-sevsnpvm-snpfw-svn"), snp);
    assert_int_equal(claim_int(&v, "x-ms-sevsnpvm-microcode-svn"), ucode);
    assert_int_equal(claim_int(&v, "x-ms-sevsnpvm-guestsvn"), 2);
    tl_tee_verdict_done(&v);

    /* before the VCEK was issued (2026-02-05): expired, nothing else */
    verify(*state, x.report, x.report_len, x.cert, x.cert_len, NULL, &pol,
           when("2026-01-01T00:00:00Z"), &v);
    assert_false(v.pass);
    assert_true(tl_tee_verdict_has(&v, TL_TEE_EXPIRED));
    assert_int_equal(v.n_reasons, 1);
    tl_tee_verdict_done(&v);
    vec_free(&x);
}

static void test_milan_v3_passes(void **state)
{
    test_v3_pass(state, SNP "msft-milan-v3-report.bin", SNP "msft-milan-v3-vcek.pem", "Milan", 4,
                 0x18, 0xdb);
}

static void test_genoa_v3_passes(void **state)
{
    test_v3_pass(state, SNP "msft-genoa-v3-report.bin", SNP "msft-genoa-v3-vcek.pem", "Genoa", 10,
                 0x17, 0x54);
}

static void test_go_sev_guest_debug(void **state)
{
    struct vec x = load(SNP "go-sev-guest-attestation.bin", SNP "go-sev-guest-vcek.der");
    struct tl_tee_policy pol;
    tl_tee_policy_init(&pol);
    struct tl_tee_verdict v;
    verify(*state, x.report, x.report_len, x.cert, x.cert_len, NULL, &pol,
           when("2026-06-01T00:00:00Z"), &v);
    print_reasons(&v);
    assert_false(v.pass);
    assert_int_equal(v.n_reasons, 1);
    assert_int_equal(v.reasons[0].code, TL_TEE_DEBUG);
    assert_true(json_is_true(json_object_get(v.claims, "x-ms-sevsnpvm-is-debuggable")));
    tl_tee_verdict_done(&v);

    pol.allow_debug = true;
    verify(*state, x.report, x.report_len, x.cert, x.cert_len, NULL, &pol,
           when("2026-06-01T00:00:00Z"), &v);
    print_reasons(&v);
    assert_true(v.pass);
    tl_tee_verdict_done(&v);
    vec_free(&x);
}

static void test_wrong_vcek(void **state)
{
    struct vec x = load(SNP "virtee-report_milan.hex", SNP "go-sev-guest-vcek.der");
    struct tl_tee_policy pol;
    tl_tee_policy_init(&pol);
    struct tl_tee_verdict v;
    verify(*state, x.report, x.report_len, x.cert, x.cert_len, NULL, &pol,
           when("2026-06-01T00:00:00Z"), &v);
    assert_false(v.pass);
    assert_true(tl_tee_verdict_has(&v, TL_TEE_CHIP_ID));
    assert_true(tl_tee_verdict_has(&v, TL_TEE_SIGNATURE));
    assert_true(tl_tee_verdict_has(&v, TL_TEE_TCB_MISMATCH));
    tl_tee_verdict_done(&v);

    /* trustee's VCEK whose hwID belongs to no report here */
    size_t n;
    uint8_t *bad = vector_read(SNP "trustee-vcek-invalid-new.der", &n);
    verify(*state, x.report, x.report_len, bad, n, NULL, &pol, when("2026-06-01T00:00:00Z"), &v);
    print_reasons(&v);
    assert_false(v.pass);
    assert_true(tl_tee_verdict_has(&v, TL_TEE_CHIP_ID) || tl_tee_verdict_has(&v, TL_TEE_CHAIN));
    assert_true(tl_tee_verdict_has(&v, TL_TEE_CHIP_ID));
    tl_tee_verdict_done(&v);
    free(bad);

    /* the Turin VCEK for a Milan report: another product's chain */
    uint8_t *turin = vector_read(SNP "virtee-vcek_turin.der", &n);
    verify(*state, x.report, x.report_len, turin, n, NULL, &pol, when("2026-06-01T00:00:00Z"), &v);
    print_reasons(&v);
    assert_false(v.pass);
    assert_true(tl_tee_verdict_has(&v, TL_TEE_SIGNATURE));
    assert_true(tl_tee_verdict_has(&v, TL_TEE_CHIP_ID));
    tl_tee_verdict_done(&v);
    free(turin);
    vec_free(&x);
}

static void test_vlek_root(void **state)
{
    struct vec x = load(SNP "virtee-report_milan.hex", SNP "virtee-vcek_milan.der");
    struct tl_tee_policy pol;
    tl_tee_policy_init(&pol);
    size_t n;
    uint8_t *vlek_chain = vector_read(SNP "ask_ark_milan_vlek.pem", &n);
    /* the KDS cert_chain file holds ASVK then ARK: give the ASVK alone as
     * one blob, as the PEM bundle's first certificate is what is read */
    struct tl_tee_blob blob = {.name = "ask_ark_milan_vlek.pem", .data = vlek_chain, .len = n};
    struct tl_tee_collateral col = {.n = 1, .items = &blob};
    struct tl_tee_verdict v;
    verify(*state, x.report, x.report_len, x.cert, x.cert_len, &col, &pol,
           when("2026-06-01T00:00:00Z"), &v);
    print_reasons(&v);
    assert_false(v.pass);
    assert_true(tl_tee_verdict_has(&v, TL_TEE_CHAIN));
    tl_tee_verdict_done(&v);
    free(vlek_chain);

    uint8_t *chain = vector_read(SNP "virtee-cert_chain_milan", &n);
    blob = (struct tl_tee_blob){.name = "cert_chain", .data = chain, .len = n};
    verify(*state, x.report, x.report_len, x.cert, x.cert_len, &col, &pol,
           when("2026-06-01T00:00:00Z"), &v);
    print_reasons(&v);
    assert_true(v.pass);
    tl_tee_verdict_done(&v);

    /* the VCEK found in the collateral rather than given */
    struct tl_tee_blob two[2] = {{.data = chain, .len = n}, {.data = x.cert, .len = x.cert_len}};
    col = (struct tl_tee_collateral){.n = 2, .items = two};
    verify(*state, x.report, x.report_len, NULL, 0, &col, &pol, when("2026-06-01T00:00:00Z"), &v);
    print_reasons(&v);
    assert_true(v.pass);
    tl_tee_verdict_done(&v);

    /* no VCEK at all */
    col.n = 1;
    verify(*state, x.report, x.report_len, NULL, 0, &col, &pol, when("2026-06-01T00:00:00Z"), &v);
    assert_false(v.pass);
    assert_true(tl_tee_verdict_has(&v, TL_TEE_COLLATERAL));
    tl_tee_verdict_done(&v);
    free(chain);
    vec_free(&x);
}

static void test_every_signed_byte(void **state)
{
    struct vec x = load(SNP "msft-genoa-v3-report.bin", SNP "msft-genoa-v3-vcek.pem");
    struct tl_tee_policy pol;
    tl_tee_policy_init(&pol);
    time_t at = when("2026-06-01T00:00:00Z");
    uint8_t *copy = dup_exact(x.report, x.report_len);
    for (size_t i = 0; i < TL_SNP_REPORT_SIZE; i++) {
        copy[i] ^= 0x01;
        struct tl_tee_verdict v;
        verify(*state, copy, x.report_len, x.cert, x.cert_len, NULL, &pol, at, &v);
        if (v.pass)
            fail_msg("byte 0x%zx flipped: pass", i);
        /* the version word stops before the signature is checked */
        if (i >= 4 && !tl_tee_verdict_has(&v, TL_TEE_SIGNATURE))
            fail_msg("byte 0x%zx flipped: no signature reason", i);
        tl_tee_verdict_done(&v);
        copy[i] ^= 0x01;
    }
    free(copy);
    vec_free(&x);
}

static void test_truncations(void **state)
{
    struct vec x = load(SNP "msft-milan-v3-report.bin", SNP "msft-milan-v3-vcek.pem");
    struct tl_tee_policy pol;
    tl_tee_policy_init(&pol);
    for (size_t n = 0; n <= TL_SNP_REPORT_SIZE + 1; n++) {
        if (n == TL_SNP_REPORT_SIZE)
            continue;
        uint8_t *p = malloc(n ? n : 1);
        memcpy(p, x.report, n < x.report_len ? n : x.report_len);
        struct tl_snp_report r;
        struct tl_error err;
        assert_int_equal(tl_snp_report_parse(p, n, &r, &err), -EBADMSG);
        struct tl_tee_verdict v;
        verify(*state, p, n, x.cert, x.cert_len, NULL, &pol, 0, &v);
        assert_false(v.pass);
        assert_true(tl_tee_verdict_has(&v, TL_TEE_MALFORMED));
        tl_tee_verdict_done(&v);
        free(p);
    }
    /* a truncated VCEK: not a certificate */
    for (size_t n = 0; n < x.cert_len; n += 97) {
        struct tl_tee_verdict v;
        uint8_t *c = dup_exact(x.cert, n);
        verify(*state, x.report, x.report_len, c, n, NULL, &pol, 0, &v);
        assert_false(v.pass);
        tl_tee_verdict_done(&v);
        free(c);
    }
    vec_free(&x);
}

static void test_versions(void **state)
{
    struct vec x = load(SNP "msft-milan-v3-report.bin", SNP "msft-milan-v3-vcek.pem");
    struct tl_tee_policy pol;
    tl_tee_policy_init(&pol);
    static const uint32_t bad[] = {0, 1, 4, 6, 0x80000003};
    for (size_t i = 0; i < TL_ARRAY_SIZE(bad); i++) {
        put32(x.report, bad[i]);
        struct tl_tee_verdict v;
        verify(*state, x.report, x.report_len, x.cert, x.cert_len, NULL, &pol, when("2026-06-01"),
               &v);
        assert_false(v.pass);
        assert_int_equal(v.n_reasons, 1);
        assert_int_equal(v.reasons[0].code, TL_TEE_VERSION);
        tl_tee_verdict_done(&v);
    }
    vec_free(&x);
}

static void test_policy_pins(void **state)
{
    struct vec x = load(SNP "msft-milan-v3-report.bin", SNP "msft-milan-v3-vcek.pem");
    struct tl_snp_report r;
    assert_int_equal(tl_snp_report_parse(x.report, x.report_len, &r, NULL), 0);
    char meas[97], text[512];
    tl_hex_encode(r.measurement, 48, meas);
    snprintf(text, sizeof(text),
             "{\"measurement\":\"%s\",\"vmpl\":[0],\"tcb-status\":[\"UpToDate\"],"
             "\"min-tcb\":{\"bootloader\":4,\"snp\":24,\"microcode\":219},\"min-abi\":\"1.55\"}",
             meas);
    struct tl_tee_policy pol;
    tl_tee_policy_init(&pol);
    struct tl_error err;
    assert_int_equal(tl_tee_policy_parse(text, strlen(text), &pol, &err), 0);
    struct tl_tee_verdict v;
    verify(*state, x.report, x.report_len, x.cert, x.cert_len, NULL, &pol, when("2026-06-01"), &v);
    print_reasons(&v);
    assert_true(v.pass);
    tl_tee_verdict_done(&v);

    /* one above each minimum, another measurement, VMPL 1 only */
    const char *fails[][2] = {
        {"{\"min-tcb\":{\"microcode\":220}}", "tcb-level"},
        {"{\"min-abi\":\"1.56\"}", "abi"},
        {"{\"vmpl\":[1]}", "vmpl"},
        {"{\"min-guest-svn\":3}", "svn"},
        {"{\"allow-smt\":false}", "smt"},
        {"{\"host-data\":\"0000000000000000000000000000000000000000000000000000000000000001\"}",
         "host-data"},
    };
    for (size_t i = 0; i < TL_ARRAY_SIZE(fails); i++) {
        tl_tee_policy_init(&pol);
        assert_int_equal(tl_tee_policy_parse(fails[i][0], strlen(fails[i][0]), &pol, &err), 0);
        verify(*state, x.report, x.report_len, x.cert, x.cert_len, NULL, &pol, when("2026-06-01"),
               &v);
        assert_false(v.pass);
        assert_true(v.n_reasons >= 1);
        for (unsigned k = 0; k < v.n_reasons; k++) /* only this code: REPORTED and LAUNCH TCB */
            assert_string_equal(tl_tee_code_name(v.reasons[k].code), fails[i][1]);
        tl_tee_verdict_done(&v);
    }
    /* the nonce: REPORT_DATA is zero in this report */
    tl_tee_policy_init(&pol);
    pol.nonce = (struct tl_tee_pin){.set = true, .len = 4, .v = {1, 2, 3, 4}};
    verify(*state, x.report, x.report_len, x.cert, x.cert_len, NULL, &pol, when("2026-06-01"), &v);
    assert_false(v.pass);
    assert_true(tl_tee_verdict_has(&v, TL_TEE_NONCE));
    tl_tee_verdict_done(&v);
    vec_free(&x);
}

/* Every policy key that applies to an SEV-SNP report, through the policy
 * file parser (tl_tee_policy_parse), on msft's Milan v3 report: the key set
 * to the report's own value passes; set one step off it fails with exactly
 * that key's reason code and nothing else. Keys whose condition a real
 * report cannot show (a migration agent, provisional firmware) are shown on
 * a report changed here: with the key the change leaves only `signature`,
 * without it the key's own reason as well. */
static void verify_text(void **state, const struct vec *x, const char *text,
                        struct tl_tee_verdict *v)
{
    struct tl_tee_policy pol;
    tl_tee_policy_init(&pol);
    struct tl_error err = {0};
    if (tl_tee_policy_parse(text, strlen(text), &pol, &err) < 0)
        fail_msg("policy %s: %s", text, err.message);
    verify(*state, x->report, x->report_len, x->cert, x->cert_len, NULL, &pol, when("2026-06-01"),
           v);
}

/* The verdict's reasons are all `code` (at least one), or none when code is -1. */
static void expect_only(const struct tl_tee_verdict *v, int code, const char *text)
{
    if (code < 0 && v->pass)
        return;
    bool good = !v->pass && v->n_reasons > 0;
    for (unsigned k = 0; good && k < v->n_reasons; k++)
        good = (int)v->reasons[k].code == code;
    if (!good) {
        print_reasons(v);
        fail_msg("policy %s: want %s", text, code < 0 ? "pass" : tl_tee_code_name(code));
    }
}

static void test_every_policy_key(void **state)
{
    struct vec x = load(SNP "msft-milan-v3-report.bin", SNP "msft-milan-v3-vcek.pem");
    struct tl_snp_report r;
    assert_int_equal(tl_snp_report_parse(x.report, x.report_len, &r, NULL), 0);
    struct tl_snp_tcb t = tl_snp_tcb_decode(r.reported_tcb, TL_SNP_PRODUCT_MILAN);
    struct {
        const char *key;
        const uint8_t *value;
        size_t len;
        enum tl_tee_code code;
    } pins[] = {
        {"measurement", r.measurement, 48, TL_TEE_MEASUREMENT},
        {"report-data", r.report_data, 64, TL_TEE_REPORT_DATA},
        {"host-data", r.host_data, 32, TL_TEE_HOST_DATA},
        {"id-key-digest", r.id_key_digest, 48, TL_TEE_ID_KEY},
        {"author-key-digest", r.author_key_digest, 48, TL_TEE_AUTHOR_KEY},
    };
    char text[512], hex[129];
    struct tl_tee_verdict v;
    for (size_t i = 0; i < TL_ARRAY_SIZE(pins); i++) {
        tl_hex_encode(pins[i].value, pins[i].len, hex);
        snprintf(text, sizeof(text), "{\"%s\":\"%s\"}", pins[i].key, hex);
        verify_text(state, &x, text, &v);
        expect_only(&v, -1, text);
        tl_tee_verdict_done(&v);
        hex[2 * pins[i].len - 1] = hex[2 * pins[i].len - 1] == '0' ? '1' : '0';
        snprintf(text, sizeof(text), "{\"%s\":\"%s\"}", pins[i].key, hex);
        verify_text(state, &x, text, &v);
        expect_only(&v, (int)pins[i].code, text);
        tl_tee_verdict_done(&v);
    }
    /* minimums: at the report's value, then one above (TCB: per component) */
    const struct {
        const char *fmt;
        int at, code;
    } mins[] = {
        {"{\"min-tcb\":{\"bootloader\":%d}}", t.bootloader, TL_TEE_TCB_LEVEL},
        {"{\"min-tcb\":{\"tee\":%d}}", t.tee, TL_TEE_TCB_LEVEL},
        {"{\"min-tcb\":{\"snp\":%d}}", t.snp, TL_TEE_TCB_LEVEL},
        {"{\"min-tcb\":{\"microcode\":%d}}", t.microcode, TL_TEE_TCB_LEVEL},
        {"{\"min-guest-svn\":%d}", (int)r.guest_svn, TL_TEE_SVN},
        {"{\"min-abi\":\"1.%d\"}", r.current_minor, TL_TEE_ABI},
    };
    for (size_t i = 0; i < TL_ARRAY_SIZE(mins); i++) {
        assert_true(r.current_major == 1);
        snprintf(text, sizeof(text), mins[i].fmt, mins[i].at);
        verify_text(state, &x, text, &v);
        expect_only(&v, -1, text);
        tl_tee_verdict_done(&v);
        snprintf(text, sizeof(text), mins[i].fmt, mins[i].at + 1);
        verify_text(state, &x, text, &v);
        expect_only(&v, mins[i].code, text);
        tl_tee_verdict_done(&v);
    }
    /* the allowed VMPLs (this report is VMPL 0) and SMT (its policy allows it) */
    const struct {
        const char *text;
        int code;
    } sets[] = {
        {"{\"vmpl\":[0]}", -1},
        {"{\"vmpl\":[0,1,2,3]}", -1},
        {"{\"vmpl\":[1,2,3]}", TL_TEE_VMPL},
        {"{\"allow-smt\":true}", -1},
        {"{\"allow-smt\":false}", TL_TEE_SMT},
        /* statuses are Intel's (TDX); an SEV-SNP verdict does not read them */
        {"{\"tcb-status\":[\"OutOfDate\"]}", -1},
    };
    for (size_t i = 0; i < TL_ARRAY_SIZE(sets); i++) {
        verify_text(state, &x, sets[i].text, &v);
        expect_only(&v, sets[i].code, sets[i].text);
        tl_tee_verdict_done(&v);
    }
    /* a migration agent allowed by the guest policy (bit 18) */
    x.report[0x08 + 2] |= 0x04;
    verify_text(state, &x, "{}", &v);
    assert_true(tl_tee_verdict_has(&v, TL_TEE_MIGRATION_AGENT));
    tl_tee_verdict_done(&v);
    verify_text(state, &x, "{\"allow-migration-agent\":true}", &v);
    expect_only(&v, TL_TEE_SIGNATURE, "allow-migration-agent");
    tl_tee_verdict_done(&v);
    x.report[0x08 + 2] &= (uint8_t)~0x04;
    /* provisional firmware: COMMITTED_TCB one microcode SVN below CURRENT */
    x.report[0x1e0 + 7]--;
    verify_text(state, &x, "{}", &v);
    assert_true(tl_tee_verdict_has(&v, TL_TEE_TCB_LEVEL));
    tl_tee_verdict_done(&v);
    verify_text(state, &x, "{\"allow-provisional-firmware\":true}", &v);
    expect_only(&v, TL_TEE_SIGNATURE, "allow-provisional-firmware");
    tl_tee_verdict_done(&v);
    x.report[0x1e0 + 7]++;
    /* debug: go-sev-guest's report (test_go_sev_guest_debug), here by file */
    struct vec d = load(SNP "go-sev-guest-attestation.bin", SNP "go-sev-guest-vcek.der");
    verify_text(state, &d, "{\"allow-debug\":false}", &v);
    expect_only(&v, TL_TEE_DEBUG, "allow-debug false");
    tl_tee_verdict_done(&v);
    verify_text(state, &d, "{\"allow-debug\":true}", &v);
    expect_only(&v, -1, "allow-debug true");
    tl_tee_verdict_done(&v);
    vec_free(&d);
    vec_free(&x);
}

/* Turin: no real Turin report is public here, so a Milan v3 report is made
 * to say Turin (CPUID family 1Ah) with the Turin VCEK's TCB (Turin layout:
 * FMC byte 0, microcode byte 7) and 8-byte hwID as CHIP_ID. Everything but
 * the signature then agrees: the product comes from CPUID, the chain is
 * Turin's, the TCB and hwID compare in Turin's form. */
static void test_turin_layout(void **state)
{
    struct tl_snp_tcb t = tl_snp_tcb_decode(0x0900000004030201ull, TL_SNP_PRODUCT_TURIN);
    assert_int_equal(t.fmc, 1);
    assert_int_equal(t.bootloader, 2);
    assert_int_equal(t.tee, 3);
    assert_int_equal(t.snp, 4);
    assert_int_equal(t.microcode, 9);
    t = tl_snp_tcb_decode(0x0905000004030201ull, TL_SNP_PRODUCT_MILAN);
    assert_int_equal(t.bootloader, 1);
    assert_int_equal(t.tee, 2);
    assert_int_equal(t.snp, 5);
    assert_int_equal(t.microcode, 9);

    struct vec x = load(SNP "msft-milan-v3-report.bin", SNP "virtee-vcek_turin.der");
    x.report[0x188] = 0x1a; /* CPUID_FAM_ID */
    x.report[0x189] = 0x02; /* CPUID_MOD_ID */
    static const uint8_t hwid[8] = {0x1e, 0x55, 0x0a, 0x8e, 0xe5, 0xcf, 0x9f, 0x4d};
    memset(x.report + 0x1a0, 0, 64);
    memcpy(x.report + 0x1a0, hwid, 8);
    uint64_t tcb = 9ull << 56;    /* the VCEK: fmc 0, bl 0, tee 0, snp 0, ucode 9 */
    put64(x.report + 0x38, tcb);  /* CURRENT_TCB */
    put64(x.report + 0x180, tcb); /* REPORTED_TCB */
    put64(x.report + 0x1e0, tcb); /* COMMITTED_TCB */
    put64(x.report + 0x1f0, tcb); /* LAUNCH_TCB */
    struct tl_tee_policy pol;
    tl_tee_policy_init(&pol);
    struct tl_tee_verdict v;
    verify(*state, x.report, x.report_len, x.cert, x.cert_len, NULL, &pol, when("2026-06-01"), &v);
    print_reasons(&v);
    assert_false(v.pass);
    assert_int_equal(v.n_reasons, 1);
    assert_int_equal(v.reasons[0].code, TL_TEE_SIGNATURE);
    assert_string_equal(claim_str(&v, "x-ms-sevsnpvm-product"), "Turin");
    assert_int_equal(claim_int(&v, "x-ms-sevsnpvm-microcode-svn"), 9);
    assert_int_equal(claim_int(&v, "x-ms-sevsnpvm-fmc-svn"), 0);
    tl_tee_verdict_done(&v);

    /* the Milan layout would have read the same TCB differently */
    x.report[0x38] = x.report[0x180] = x.report[0x1e0] = x.report[0x1f0] = 1; /* FMC 1 */
    verify(*state, x.report, x.report_len, x.cert, x.cert_len, NULL, &pol, when("2026-06-01"), &v);
    assert_true(tl_tee_verdict_has(&v, TL_TEE_TCB_MISMATCH));
    tl_tee_verdict_done(&v);

    /* a Turin report with a Milan VCEK: another product */
    uint8_t *milan;
    size_t n;
    milan = vector_read(SNP "msft-milan-v3-vcek.pem", &n);
    verify(*state, x.report, x.report_len, milan, n, NULL, &pol, when("2026-06-01"), &v);
    assert_true(tl_tee_verdict_has(&v, TL_TEE_CHAIN));
    tl_tee_verdict_done(&v);
    free(milan);
    vec_free(&x);
}

/* A CRL in ARK-Milan's name (AMD's CRLs are not in the vectors): signed
 * here by another key, so it must fail `chain` however current it is; a
 * CRL in another issuer's name is not AMD's and is ignored. */
static uint8_t *forged_crl(const char *issuer_pem_rel, int which, size_t *len)
{
    size_t n;
    uint8_t *pem = vector_read(issuer_pem_rel, &n);
    BIO *bio = BIO_new_mem_buf(pem, (int)n);
    X509 *x = NULL;
    for (int i = 0; i <= which; i++) {
        X509_free(x);
        x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    }
    assert_non_null(x);
    EVP_PKEY *key = EVP_EC_gen("P-384");
    X509_CRL *crl = X509_CRL_new();
    assert_int_equal(X509_CRL_set_issuer_name(crl, X509_get_subject_name(x)), 1);
    ASN1_TIME *t0 = ASN1_TIME_set(NULL, 1770000000), *t1 = ASN1_TIME_set(NULL, 1790000000);
    X509_CRL_set1_lastUpdate(crl, t0);
    X509_CRL_set1_nextUpdate(crl, t1);
    assert_true(X509_CRL_sign(crl, key, EVP_sha384()) > 0);
    unsigned char *der = NULL;
    int dlen = i2d_X509_CRL(crl, &der);
    assert_true(dlen > 0);
    uint8_t *out = dup_exact(der, (size_t)dlen);
    *len = (size_t)dlen;
    OPENSSL_free(der);
    ASN1_TIME_free(t0);
    ASN1_TIME_free(t1);
    X509_CRL_free(crl);
    EVP_PKEY_free(key);
    X509_free(x);
    BIO_free(bio);
    free(pem);
    return out;
}

static void test_crl(void **state)
{
    struct vec x = load(SNP "virtee-report_milan.hex", SNP "virtee-vcek_milan.der");
    struct tl_tee_policy pol;
    tl_tee_policy_init(&pol);
    size_t n;
    uint8_t *crl = forged_crl(SNP "ask_ark_milan.pem", 1, &n); /* ARK-Milan's name */
    struct tl_tee_blob blob = {.name = "crl", .data = crl, .len = n};
    struct tl_tee_collateral col = {.n = 1, .items = &blob};
    struct tl_tee_verdict v;
    verify(*state, x.report, x.report_len, x.cert, x.cert_len, &col, &pol, when("2026-06-01"), &v);
    print_reasons(&v);
    assert_false(v.pass);
    assert_int_equal(v.n_reasons, 1);
    assert_int_equal(v.reasons[0].code, TL_TEE_CHAIN);
    tl_tee_verdict_done(&v);
    free(crl);

    crl = forged_crl(SNP "ask_ark_genoa.pem", 1, &n); /* ARK-Genoa: not this chain's */
    blob = (struct tl_tee_blob){.name = "crl", .data = crl, .len = n};
    verify(*state, x.report, x.report_len, x.cert, x.cert_len, &col, &pol, when("2026-06-01"), &v);
    assert_true(v.pass);
    tl_tee_verdict_done(&v);
    free(crl);
    vec_free(&x);
}

static void test_policy_parser(void **state)
{
    (void)state;
    struct tl_tee_policy p;
    struct tl_error err;
    tl_tee_policy_init(&p);
    assert_false(p.allow_debug);
    assert_int_equal(p.vmpl_mask, 1);
    assert_int_equal(p.tcb_status_mask, 1u << TL_TEE_TCB_UP_TO_DATE);
    const char *bad[] = {
        "{\"measurment\":\"00\"}",        /* misspelt: refused */
        "{\"measurement\":\"00\"}",       /* wrong size */
        "{\"allow-debug\":1}",            /* not a boolean */
        "{\"vmpl\":[4]}",                 /* out of range */
        "{\"tcb-status\":[\"UpToDat\"]}", /* not a status */
        "{\"min-tcb\":{\"bootloader\":256}}",
        "[]",
        "{",
        "{\"a\":1,\"a\":2}",
    };
    for (size_t i = 0; i < TL_ARRAY_SIZE(bad); i++) {
        tl_tee_policy_init(&p);
        assert_int_equal(tl_tee_policy_parse(bad[i], strlen(bad[i]), &p, &err), -EINVAL);
    }
    const char *good = "{\"allow-debug\":true,\"tcb-status\":[\"UpToDate\",\"OutOfDate\"],"
                       "\"vmpl\":[0,2],\"rtmr\":[null,null,null,null],\"allow-console\":false}";
    tl_tee_policy_init(&p);
    assert_int_equal(tl_tee_policy_parse(good, strlen(good), &p, &err), 0);
    assert_true(p.allow_debug);
    assert_false(p.allow_console);
    assert_int_equal(p.vmpl_mask, 0x5);
    assert_int_equal(p.tcb_status_mask,
                     (1u << TL_TEE_TCB_UP_TO_DATE) | (1u << TL_TEE_TCB_OUT_OF_DATE));
    for (int c = 0; c < TL_TEE_CODE_COUNT; c++)
        assert_int_equal(tl_tee_code_from_name(tl_tee_code_name(c)), c);
    time_t t;
    assert_int_equal(tl_tee_time_parse("2026-02-03T04:05:06Z", &t), 0);
    assert_int_equal(t, 1770091506);
    assert_int_equal(tl_tee_time_parse("@1770091506", &t), 0);
    assert_int_equal(t, 1770091506);
    assert_int_equal(tl_tee_time_parse("2026-02-03T04:05Z", &t), -EINVAL);
    char buf[32];
    tl_tee_time_format(1770091506, buf, sizeof(buf));
    assert_string_equal(buf, "2026-02-03T04:05:06Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_parser),
        cmocka_unit_test_setup_teardown(test_milan_v2_passes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_milan_v3_passes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_genoa_v3_passes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_go_sev_guest_debug, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_vcek, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vlek_root, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_signed_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_policy_pins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_policy_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_turin_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crl, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
