/* Unit tests for lib/tee/tdx.c, pck.c, tcbinfo.c, tdxcoll.c, tdxverify.c
 * and ccel.c: Intel TDX quotes with their PCS collateral, and a TDX
 * guest's CC event log.
 *
 * What is asserted, and from where (../shared/vectors/tee/tdx, see
 * SOURCES.md):
 *  - dcap-rs's v4 quote with its complete collateral at 2025-03-01: every
 *    signature, chain, CRL and window good; platform level OutOfDate with
 *    INTEL-SA-00960, -00982, -00986 (the TDX module TDX_01 and the QE up to
 *    date); fails with exactly one reason, tcb-status, under the default
 *    policy, passes under one that accepts OutOfDate;
 *  - trustee's v4 quote with its own TCB info and QE identity: OutOfDate
 *    with no advisory IDs (its level lists none); that collateral was
 *    signed after the 2018 TCB signing certificate expired and comes
 *    without CRLs, which the verdict says (expired, collateral);
 *  - go-tdx-guest's v5 quote (TD report 1.5) at 2026-02-03, inside its TCB
 *    info's window: UpToDate, every quote-side check good; the QE identity
 *    and both CRLs are from 2023 and the signing certificate expired in
 *    2025, each reported as such, and nothing else;
 *  - collateral outside its window: collateral-expired (not signature);
 *  - every signed byte of a quote flipped: signature; a QE report byte
 *    changed: signature (the PCK's over the QE report) and, in
 *    REPORTDATA, qe-binding; the TCB info's signed text changed:
 *    signature;
 *  - every truncation of the quotes and of the TCB info: a clean error;
 *  - the PCK's SGX extension and the TCB info fields read as they are;
 *  - the CCEL log replays to the quote's RTMR0-3 exactly, and one record
 *    changed names RTMR and record;
 *  - every policy key that applies to a quote, from a policy file: at the
 *    quote's value it passes, one step off it fails with exactly its code
 *    (mrtd/measurement, rtmr[0-3], mrconfigid, mrowner, mrownerconfig,
 *    report-data, min-tee-tcb-svn, tcb-status, allow-debug). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl/ccel.h"
#include "tl/tdx.h"
#include "tl/tee.h"
#include "tl/util.h"
#include "tl/x509.h"
#include "vectors.h"

#define TDX "tee/tdx/"

struct set {
    size_t n;
    struct tl_tee_blob blobs[8];
    uint8_t *owned[8];
};

static void set_add(struct set *s, const char *rel)
{
    size_t len;
    uint8_t *p = vector_read(rel, &len);
    s->owned[s->n] = p;
    s->blobs[s->n++] = (struct tl_tee_blob){.name = rel, .data = p, .len = len};
}

static void set_free(struct set *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->owned[i]);
}

static struct tl_tdx_collateral *load(struct set *s)
{
    struct tl_tdx_collateral *c = NULL;
    struct tl_error err = {0};
    int r = tl_tdx_collateral_new(s->blobs, s->n, &c, &err);
    if (r < 0)
        fail_msg("collateral: %s", err.message);
    return c;
}

static struct tl_tdx_collateral *dcap_rs(void)
{
    struct set s = {0};
    set_add(&s, TDX "dcap-rs/tcbinfov3_00806f050000.json");
    set_add(&s, TDX "dcap-rs/qeidentityv2_apiv4.json");
    set_add(&s, TDX "dcap-rs/pck_platform_crl.der");
    set_add(&s, TDX "dcap-rs/intel_root_ca_crl.der");
    set_add(&s, TDX "intel-tcb-signing-2018.pem");
    set_add(&s, TDX "intel-sgx-root-ca.pem");
    struct tl_tdx_collateral *c = load(&s);
    set_free(&s);
    return c;
}

static time_t at(const char *s)
{
    time_t t;
    assert_int_equal(tl_tee_time_parse(s, &t), 0);
    return t;
}

static void dump(const struct tl_tee_verdict *v)
{
    for (unsigned i = 0; i < v->n_reasons; i++)
        print_message("  reason %s: %s\n", tl_tee_code_name(v->reasons[i].code),
                      v->reasons[i].detail);
}

/* The verdict's reasons are exactly these codes (in any order, each once
 * or more). */
static void assert_only(const struct tl_tee_verdict *v, const enum tl_tee_code *codes, size_t n)
{
    for (unsigned i = 0; i < v->n_reasons; i++) {
        bool known = false;
        for (size_t j = 0; j < n; j++)
            known |= v->reasons[i].code == codes[j];
        if (!known) {
            dump(v);
            fail_msg("unexpected reason %s", tl_tee_code_name(v->reasons[i].code));
        }
    }
    for (size_t j = 0; j < n; j++)
        if (!tl_tee_verdict_has(v, codes[j])) {
            dump(v);
            fail_msg("missing reason %s", tl_tee_code_name(codes[j]));
        }
}

static void test_dcap_rs_out_of_date(void **state)
{
    (void)state;
    struct tl_tdx_collateral *c = dcap_rs();
    size_t len;
    uint8_t *q = vector_read(TDX "dcap-rs/quote_tdx_00806f050000.dat", &len);
    struct tl_tee_verdict v;
    struct tl_tdx_tcb_result tcb;
    struct tl_error err = {0};

    assert_int_equal(tl_tdx_verify(q, len, c, NULL, at("2025-03-01T00:00:00Z"), &v, &tcb, &err), 0);
    dump(&v);
    assert_false(v.pass);
    const enum tl_tee_code want[] = {TL_TEE_TCB_STATUS};
    assert_only(&v, want, 1);
    assert_true(tcb.evaluated);
    assert_int_equal(tcb.platform_level, 1);
    assert_int_equal(tcb.platform_status, TL_TEE_TCB_OUT_OF_DATE);
    assert_true(tcb.module_checked);
    assert_int_equal(tcb.module_status, TL_TEE_TCB_UP_TO_DATE);
    assert_int_equal(tcb.qe_status, TL_TEE_TCB_UP_TO_DATE);
    assert_int_equal(tcb.status, TL_TEE_TCB_OUT_OF_DATE);
    assert_int_equal(tcb.advisories.n, 3);
    assert_string_equal(tcb.advisories.id[0], "INTEL-SA-00960");
    assert_string_equal(tcb.advisories.id[1], "INTEL-SA-00982");
    assert_string_equal(tcb.advisories.id[2], "INTEL-SA-00986");
    assert_string_equal(json_string_value(json_object_get(v.claims, "attester_tcb_status")),
                        "OutOfDate");
    assert_string_equal(json_string_value(json_object_get(v.claims, "x-ms-attestation-type")),
                        "tdxvm");
    tl_tee_verdict_done(&v);

    struct tl_tee_policy p;
    tl_tee_policy_init(&p);
    p.tcb_status_mask |= 1u << TL_TEE_TCB_OUT_OF_DATE;
    assert_int_equal(tl_tdx_verify(q, len, c, &p, at("2025-03-01T00:00:00Z"), &v, &tcb, &err), 0);
    dump(&v);
    assert_true(v.pass);
    tl_tee_verdict_done(&v);
    free(q);
    tl_tdx_collateral_free(c);
}

static struct tl_tdx_collateral *trustee(void)
{
    struct set s = {0};
    set_add(&s, TDX "trustee-tcbInfo.json");
    set_add(&s, TDX "trustee-enclaveIdentity.json");
    set_add(&s, TDX "intel-tcb-signing-2018.pem");
    struct tl_tdx_collateral *c = load(&s);
    set_free(&s);
    return c;
}

static struct tl_tdx_collateral *go_tdx_guest(void)
{
    struct set s = {0};
    set_add(&s, TDX "sample_tcbinfo_response_v5");
    set_add(&s, TDX "sample_qeIdentity_response");
    set_add(&s, TDX "pckcrl");
    set_add(&s, TDX "rootcrl.der");
    set_add(&s, TDX "intel-tcb-signing-2018.pem");
    struct tl_tdx_collateral *c = load(&s);
    set_free(&s);
    return c;
}

static void test_trustee_out_of_date(void **state)
{
    (void)state;
    struct tl_tdx_collateral *c = trustee();
    size_t len;
    uint8_t *q = vector_read(TDX "trustee-tdx_quote_6.dat", &len);
    struct tl_tee_verdict v;
    struct tl_tdx_tcb_result tcb;
    struct tl_error err = {0};
    struct tl_tee_policy p;
    tl_tee_policy_init(&p);

    assert_int_equal(tl_tdx_verify(q, len, c, &p, at("2025-11-01T00:00:00Z"), &v, &tcb, &err), 0);
    dump(&v);
    assert_false(v.pass);
    assert_true(tcb.evaluated);
    assert_int_equal(tcb.platform_level, 1);
    assert_int_equal(tcb.status, TL_TEE_TCB_OUT_OF_DATE);
    assert_int_equal(tcb.module_status, TL_TEE_TCB_UP_TO_DATE);
    assert_int_equal(tcb.qe_status, TL_TEE_TCB_UP_TO_DATE);
    assert_int_equal(tcb.advisories.n, 0);
    /* The collateral's own faults, each named, and the status. */
    const enum tl_tee_code want[] = {TL_TEE_TCB_STATUS, TL_TEE_EXPIRED, TL_TEE_COLLATERAL};
    assert_only(&v, want, 3);
    tl_tee_verdict_done(&v);

    /* Accepting OutOfDate removes exactly the status reason. */
    p.tcb_status_mask |= 1u << TL_TEE_TCB_OUT_OF_DATE;
    assert_int_equal(tl_tdx_verify(q, len, c, &p, at("2025-11-01T00:00:00Z"), &v, &tcb, &err), 0);
    assert_only(&v, want + 1, 2);
    assert_false(tl_tee_verdict_has(&v, TL_TEE_TCB_STATUS));
    tl_tee_verdict_done(&v);
    free(q);
    tl_tdx_collateral_free(c);
}

static void test_v5_sample(void **state)
{
    (void)state;
    struct tl_tdx_collateral *c = go_tdx_guest();
    size_t len;
    uint8_t *q = vector_read(TDX "quote_v5_sample.dat", &len);
    struct tl_tee_verdict v;
    struct tl_tdx_tcb_result tcb;
    struct tl_error err = {0};

    assert_int_equal(tl_tdx_verify(q, len, c, NULL, at("2026-02-03T00:00:00Z"), &v, &tcb, &err), 0);
    dump(&v);
    assert_true(tcb.evaluated);
    assert_int_equal(tcb.status, TL_TEE_TCB_UP_TO_DATE);
    assert_int_equal(tcb.platform_level, 0);
    assert_int_equal(tcb.advisories.n, 0);
    /* Quote, QE, PCK chain, TCB info and its signature all good; the
     * stale pieces are named as stale and nothing else is said. */
    const enum tl_tee_code want[] = {TL_TEE_COLLATERAL_EXPIRED, TL_TEE_EXPIRED};
    assert_only(&v, want, 2);
    unsigned stale = 0;
    for (unsigned i = 0; i < v.n_reasons; i++)
        stale += v.reasons[i].code == TL_TEE_COLLATERAL_EXPIRED;
    assert_int_equal(stale, 3); /* QE identity, PCK CRL, root CRL */
    json_t *claims = v.claims;
    assert_string_equal(json_string_value(json_object_get(claims, "tdx_tee_tcb_svn")),
                        "0b010400000000000000000000000000");
    assert_non_null(json_object_get(claims, "tdx_mrservicetd"));
    assert_false(json_boolean_value(json_object_get(claims, "tdx_td_attributes_debug")));
    assert_true(json_boolean_value(json_object_get(claims, "tdx_td_attributes_septve_disable")));
    tl_tee_verdict_done(&v);
    free(q);
    tl_tdx_collateral_free(c);
}

/* dcap-rs's set is whole on 2025-03-01; before and after, what is stale is
 * named collateral-expired, never signature. */
static void test_collateral_window(void **state)
{
    (void)state;
    struct tl_tdx_collateral *c = dcap_rs();
    size_t len;
    uint8_t *q = vector_read(TDX "dcap-rs/quote_tdx_00806f050000.dat", &len);
    struct tl_tee_verdict v;
    struct tl_tdx_tcb_result tcb;
    struct tl_tee_policy p;
    tl_tee_policy_init(&p);
    p.tcb_status_mask |= 1u << TL_TEE_TCB_OUT_OF_DATE;
    const char *times[] = {"2025-03-20T00:00:00Z", "2025-02-01T00:00:00Z"};
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(tl_tdx_verify(q, len, c, &p, at(times[i]), &v, &tcb, NULL), 0);
        const enum tl_tee_code want[] = {TL_TEE_COLLATERAL_EXPIRED};
        assert_only(&v, want, 1);
        assert_int_equal(tcb.status, TL_TEE_TCB_OUT_OF_DATE);
        tl_tee_verdict_done(&v);
    }
    /* After the TCB signing certificate's end (2025-05-21) it is expired too. */
    assert_int_equal(tl_tdx_verify(q, len, c, &p, at("2025-06-01T00:00:00Z"), &v, &tcb, NULL), 0);
    const enum tl_tee_code want2[] = {TL_TEE_COLLATERAL_EXPIRED, TL_TEE_EXPIRED};
    assert_only(&v, want2, 2);
    tl_tee_verdict_done(&v);
    free(q);
    tl_tdx_collateral_free(c);
}

/* Every byte the attestation key signs, the signature and the key: flipped,
 * each is a signature failure. */
static void test_signed_bytes(void **state)
{
    (void)state;
    struct tl_tdx_collateral *c = dcap_rs();
    size_t len;
    uint8_t *q = vector_read(TDX "dcap-rs/quote_tdx_00806f050000.dat", &len);
    struct tl_tdx_quote parsed;
    assert_int_equal(tl_tdx_quote_parse(q, len, &parsed, NULL), 0);
    assert_int_equal(parsed.signed_len, 48 + 584);
    size_t sig_end = (size_t)(parsed.attest_key - q) + 64;
    struct tl_tee_policy p;
    tl_tee_policy_init(&p);
    p.tcb_status_mask |= 1u << TL_TEE_TCB_OUT_OF_DATE;
    struct tl_tee_verdict v;
    for (size_t i = 0; i < sig_end; i++) {
        if (i == parsed.signed_len)
            i += 4; /* the signature data's length: a framing error, below */
        q[i] ^= 0x01;
        int r = tl_tdx_verify(q, len, c, &p, at("2025-03-01T00:00:00Z"), &v, NULL, NULL);
        if (r == 0 && !tl_tee_verdict_has(&v, TL_TEE_SIGNATURE) &&
            !tl_tee_verdict_has(&v, TL_TEE_VERSION)) {
            dump(&v);
            fail_msg("byte %zu flipped: no signature reason", i);
        }
        assert_false(v.pass);
        q[i] ^= 0x01;
        tl_tee_verdict_done(&v);
    }
    /* Untouched, it passes: the loop restored every byte. */
    assert_int_equal(tl_tdx_verify(q, len, c, &p, at("2025-03-01T00:00:00Z"), &v, NULL, NULL), 0);
    assert_true(v.pass);
    tl_tee_verdict_done(&v);

    /* The TD's debug bit: a signature failure, and debug named too. */
    q[48 + 16 + 48 + 48 + 8] |= 0x01;
    assert_int_equal(tl_tdx_verify(q, len, c, &p, at("2025-03-01T00:00:00Z"), &v, NULL, NULL), 0);
    assert_true(tl_tee_verdict_has(&v, TL_TEE_DEBUG));
    assert_true(tl_tee_verdict_has(&v, TL_TEE_SIGNATURE));
    tl_tee_verdict_done(&v);
    free(q);
    tl_tdx_collateral_free(c);
}

/* Each byte of the QE report changed: the PCK's signature over it fails;
 * in REPORTDATA the key binding fails too. */
static void test_qe_report(void **state)
{
    (void)state;
    struct tl_tdx_collateral *c = dcap_rs();
    size_t len;
    uint8_t *q = vector_read(TDX "dcap-rs/quote_tdx_00806f050000.dat", &len);
    struct tl_tdx_quote parsed;
    assert_int_equal(tl_tdx_quote_parse(q, len, &parsed, NULL), 0);
    size_t qe = (size_t)(parsed.qe_report - q);
    struct tl_tee_verdict v;
    for (size_t i = 0; i < TL_SGX_REPORT_SIZE + 64; i++) {
        q[qe + i] ^= 0x80;
        assert_int_equal(tl_tdx_verify(q, len, c, NULL, at("2025-03-01T00:00:00Z"), &v, NULL, NULL),
                         0);
        if (!tl_tee_verdict_has(&v, TL_TEE_SIGNATURE)) {
            dump(&v);
            fail_msg("QE report byte %zu: no signature reason", i);
        }
        if (i >= 320 && i < 384)
            assert_true(tl_tee_verdict_has(&v, TL_TEE_QE_BINDING));
        q[qe + i] ^= 0x80;
        tl_tee_verdict_done(&v);
    }
    /* The QE authentication data: the binding alone fails. */
    assert_true(parsed.qe_auth_len > 0);
    q[parsed.qe_auth - q] ^= 1;
    assert_int_equal(tl_tdx_verify(q, len, c, NULL, at("2025-03-01T00:00:00Z"), &v, NULL, NULL), 0);
    const enum tl_tee_code want[] = {TL_TEE_QE_BINDING, TL_TEE_TCB_STATUS};
    assert_only(&v, want, 2);
    tl_tee_verdict_done(&v);
    free(q);
    tl_tdx_collateral_free(c);
}

/* The TCB info's signed text changed (the evaluation data number): no
 * certificate's key verifies it. */
static void test_tcbinfo_tampered(void **state)
{
    (void)state;
    struct set s = {0};
    set_add(&s, TDX "dcap-rs/tcbinfov3_00806f050000.json");
    set_add(&s, TDX "dcap-rs/qeidentityv2_apiv4.json");
    set_add(&s, TDX "dcap-rs/pck_platform_crl.der");
    set_add(&s, TDX "dcap-rs/intel_root_ca_crl.der");
    set_add(&s, TDX "intel-tcb-signing-2018.pem");
    char *t = strstr((char *)s.owned[0], "\"tcbEvaluationDataNumber\":");
    assert_non_null(t);
    t += strlen("\"tcbEvaluationDataNumber\":");
    *t = *t == '9' ? '8' : '9';
    struct tl_tdx_collateral *c = load(&s);
    size_t len;
    uint8_t *q = vector_read(TDX "dcap-rs/quote_tdx_00806f050000.dat", &len);
    struct tl_tee_verdict v;
    assert_int_equal(tl_tdx_verify(q, len, c, NULL, at("2025-03-01T00:00:00Z"), &v, NULL, NULL), 0);
    assert_true(tl_tee_verdict_has(&v, TL_TEE_SIGNATURE));
    tl_tee_verdict_done(&v);
    free(q);
    tl_tdx_collateral_free(c);
    set_free(&s);
}

/* Every prefix of a quote is refused cleanly (the v5 sample has no
 * padding; dcap-rs's has 3,065 zero bytes after the signature data, which
 * are accepted as padding and only as that). */
static void test_truncations(void **state)
{
    (void)state;
    const char *files[] = {TDX "quote_v5_sample.dat", TDX "dcap-rs/quote_tdx_00806f050000.dat"};
    for (size_t f = 0; f < 2; f++) {
        size_t len;
        uint8_t *q = vector_read(files[f], &len);
        struct tl_tdx_quote parsed;
        assert_int_equal(tl_tdx_quote_parse(q, len, &parsed, NULL), 0);
        size_t end = len - parsed.trailing_zero_bytes;
        for (size_t n = 0; n < len; n++) {
            uint8_t *p = dup_exact(q, n);
            struct tl_error err = {0};
            int r = tl_tdx_quote_parse(p, n, &parsed, &err);
            if (n < end) {
                assert_int_equal(r, -EBADMSG);
                assert_true(err.message[0] != '\0');
            } else {
                assert_int_equal(r, 0);
            }
            free(p);
        }
        /* A non-zero byte in the padding is refused. */
        if (end < len) {
            q[len - 1] = 1;
            assert_int_equal(tl_tdx_quote_parse(q, len, &parsed, NULL), -EBADMSG);
        }
        free(q);
    }
}

/* Sizes that lie, versions and types this code does not verify. */
static void test_framing(void **state)
{
    (void)state;
    size_t len;
    uint8_t *q = vector_read(TDX "quote_v5_sample.dat", &len);
    struct tl_tdx_quote parsed;
    struct tl_error err = {0};
    assert_int_equal(tl_tdx_quote_parse(q, len, &parsed, &err), 0);
    assert_int_equal(parsed.version, 5);
    assert_int_equal(parsed.body_type, TL_TDX_BODY_TD15);
    assert_true(parsed.td.v15);
    assert_int_equal(parsed.signed_len, 48 + 6 + 648);
    assert_int_equal(parsed.qe_auth_len, 32);
    assert_int_equal(parsed.pck_chain_len, 3678);

    struct tl_tee_verdict nv;
    assert_int_equal(tl_tdx_verify(q, len, NULL, NULL, 0, &nv, NULL, &err), 0);
    const enum tl_tee_code none[] = {TL_TEE_COLLATERAL};
    assert_only(&nv, none, 1);
    tl_tee_verdict_done(&nv);

    uint8_t *p = dup_exact(q, len);
    put16(p, 3);
    assert_int_equal(tl_tdx_quote_parse(p, len, &parsed, &err), -EPROTONOSUPPORT);
    struct tl_tee_verdict v;
    assert_int_equal(tl_tdx_verify(p, len, NULL, NULL, 0, &v, NULL, &err), 0);
    const enum tl_tee_code want[] = {TL_TEE_VERSION};
    assert_only(&v, want, 1);
    tl_tee_verdict_done(&v);

    memcpy(p, q, len);
    put32(p + 4, 0); /* SGX */
    assert_int_equal(tl_tdx_quote_parse(p, len, &parsed, &err), -EPROTONOSUPPORT);
    memcpy(p, q, len);
    put32(p + 50, 584); /* a TD 1.5 body declared with 1.0's size */
    assert_int_equal(tl_tdx_quote_parse(p, len, &parsed, &err), -EBADMSG);
    memcpy(p, q, len);
    put32(p + 48 + 6 + 648, 0xffffffff); /* signature data length */
    assert_int_equal(tl_tdx_quote_parse(p, len, &parsed, &err), -EBADMSG);
    assert_true(err.has_offset);
    assert_int_equal(err.offset, 48 + 6 + 648);
    memcpy(p, q, len);
    put32(p + 48 + 6 + 648, 4299); /* one byte short of the nested data */
    assert_int_equal(tl_tdx_quote_parse(p, len, &parsed, &err), -EBADMSG);
    memcpy(p, q, len);
    size_t auth = 48 + 6 + 648 + 4 + 128 + 6 + 384 + 64;
    put16(p + auth, 0xffff); /* QE auth data length */
    assert_int_equal(tl_tdx_quote_parse(p, len, &parsed, &err), -EBADMSG);
    assert_int_equal(tl_tdx_verify(p, len, NULL, NULL, 0, &v, NULL, &err), -EBADMSG);
    const enum tl_tee_code bad[] = {TL_TEE_MALFORMED};
    assert_only(&v, bad, 1);
    tl_tee_verdict_done(&v);
    free(p);
    free(q);
}

/* The PCK certificate's SGX extension, as Intel wrote it. */
static void test_pck_info(void **state)
{
    (void)state;
    size_t len;
    uint8_t *q = vector_read(TDX "dcap-rs/quote_tdx_00806f050000.dat", &len);
    struct tl_tdx_quote parsed;
    assert_int_equal(tl_tdx_quote_parse(q, len, &parsed, NULL), 0);
    const char *b = strstr((const char *)parsed.pck_chain, "-----BEGIN CERTIFICATE-----");
    const char *e = strstr(b, "-----END CERTIFICATE-----");
    size_t pem_len = (size_t)(e - b) + strlen("-----END CERTIFICATE-----");
    uint8_t *der = NULL;
    size_t der_len = 0;
    assert_int_equal(tl_x509_to_der((const uint8_t *)b, pem_len, &der, &der_len, NULL), 0);
    struct tl_tdx_pck_info pck;
    struct tl_error err = {0};
    assert_int_equal(tl_tdx_pck_info_parse(der, der_len, &pck, &err), 0);
    const uint8_t fmspc[6] = {0x00, 0x80, 0x6f, 0x05, 0x00, 0x00};
    assert_memory_equal(pck.fmspc, fmspc, 6);
    assert_int_equal(pck.pce_id[0], 0);
    assert_int_equal(pck.pce_id[1], 0);
    assert_int_equal(pck.pcesvn, 11);
    const uint8_t comp[16] = {6, 6, 2, 2, 3, 1, 0, 3};
    assert_memory_equal(pck.tcb_comp, comp, 16);
    /* Any byte of the certificate changed: the parse may still succeed
     * (the signature is the chain's business) but never reads out of
     * bounds; a cut certificate is refused. */
    for (size_t n = 0; n < der_len; n += 7) {
        uint8_t *p = dup_exact(der, n);
        assert_true(tl_tdx_pck_info_parse(p, n, &pck, NULL) < 0);
        free(p);
    }
    free(der);
    free(q);
}

/* TCB info: the fields, and every truncation refused. */
static void test_tcbinfo_parse(void **state)
{
    (void)state;
    size_t len;
    uint8_t *t = vector_read(TDX "dcap-rs/tcbinfov3_00806f050000.json", &len);
    struct tl_tdx_tcbinfo ti;
    struct tl_error err = {0};
    assert_int_equal(tl_tdx_tcbinfo_parse(t, len, &ti, &err), 0);
    assert_int_equal(ti.version, 3);
    assert_int_equal(ti.n_levels, 4);
    assert_int_equal(ti.n_modules, 2);
    assert_string_equal(ti.modules[1].id, "TDX_01");
    assert_int_equal(ti.modules[1].n_levels, 2);
    assert_int_equal(ti.levels[1].status, TL_TEE_TCB_OUT_OF_DATE);
    assert_int_equal(ti.levels[3].advisories.n, 17);
    assert_int_equal(ti.levels[0].pcesvn, 11);
    assert_int_equal(ti.issue_date, at("2025-02-13T03:50:41Z"));
    assert_int_equal(ti.next_update, at("2025-03-15T03:50:41Z"));
    /* The signed span is the raw member text. */
    assert_int_equal(ti.signed_part.body[0], '{');
    assert_memory_equal(ti.signed_part.body, strstr((char *)t, "{\"id\":\"TDX\""), 12);
    tl_tdx_tcbinfo_done(&ti);
    for (size_t n = 0; n < len; n++) {
        uint8_t *p = dup_exact(t, n);
        assert_true(tl_tdx_tcbinfo_parse(p, n, &ti, &err) < 0);
        free(p);
    }
    /* A second tcbInfo member is refused, not read past. */
    const char *dup = "{\"tcbInfo\":{},\"tcbInfo\":{},\"signature\":\"00\"}";
    assert_int_equal(tl_tdx_tcbinfo_parse((const uint8_t *)dup, strlen(dup), &ti, &err), -EBADMSG);
    free(t);

    uint8_t *e = vector_read(TDX "dcap-rs/qeidentityv2_apiv4.json", &len);
    struct tl_tdx_qe_identity qe;
    assert_int_equal(tl_tdx_qe_identity_parse(e, len, &qe, &err), 0);
    assert_int_equal(qe.isvprodid, 2);
    assert_true(qe.n_levels >= 1);
    tl_tdx_qe_identity_done(&qe);
    free(e);
}

/* Policy pins: MRTD and an RTMR, right and wrong; the nonce. */
static void test_policy_pins(void **state)
{
    (void)state;
    struct tl_tdx_collateral *c = dcap_rs();
    size_t len;
    uint8_t *q = vector_read(TDX "dcap-rs/quote_tdx_00806f050000.dat", &len);
    struct tl_tdx_quote parsed;
    assert_int_equal(tl_tdx_quote_parse(q, len, &parsed, NULL), 0);
    struct tl_tee_policy p;
    tl_tee_policy_init(&p);
    p.tcb_status_mask |= 1u << TL_TEE_TCB_OUT_OF_DATE;
    p.measurement = (struct tl_tee_pin){.set = true, .len = 48};
    memcpy(p.measurement.v, parsed.td.mrtd, 48);
    p.rtmr[2] = (struct tl_tee_pin){.set = true, .len = 48};
    memcpy(p.rtmr[2].v, parsed.td.rtmr[2], 48);
    struct tl_tee_verdict v;
    assert_int_equal(tl_tdx_verify(q, len, c, &p, at("2025-03-01T00:00:00Z"), &v, NULL, NULL), 0);
    assert_true(v.pass);
    tl_tee_verdict_done(&v);
    p.rtmr[2].v[47] ^= 1;
    p.nonce = (struct tl_tee_pin){.set = true, .len = 32, .v = {0xaa}};
    assert_int_equal(tl_tdx_verify(q, len, c, &p, at("2025-03-01T00:00:00Z"), &v, NULL, NULL), 0);
    const enum tl_tee_code want[] = {TL_TEE_MEASUREMENT, TL_TEE_NONCE};
    assert_only(&v, want, 2);
    tl_tee_verdict_done(&v);
    free(q);
    tl_tdx_collateral_free(c);
}

/* Every policy key that applies to a TD quote, through the policy file
 * parser, on dcap-rs's quote at 2025-03-01 (with "tcb-status" accepting
 * its OutOfDate): the key at the quote's own value passes; one step off it
 * fails with exactly that key's reason. */
static void tdx_policy_run(const uint8_t *q, size_t len, const struct tl_tdx_collateral *c,
                           const char *text, int code)
{
    struct tl_tee_policy p;
    tl_tee_policy_init(&p);
    struct tl_error err = {0};
    if (tl_tee_policy_parse(text, strlen(text), &p, &err) < 0)
        fail_msg("policy %s: %s", text, err.message);
    struct tl_tee_verdict v;
    assert_int_equal(tl_tdx_verify(q, len, c, &p, at("2025-03-01T00:00:00Z"), &v, NULL, NULL), 0);
    bool good = code < 0 ? v.pass : !v.pass && v.n_reasons > 0;
    for (unsigned k = 0; code >= 0 && good && k < v.n_reasons; k++)
        good = (int)v.reasons[k].code == code;
    if (!good) {
        dump(&v);
        fail_msg("policy %s: want %s", text, code < 0 ? "pass" : tl_tee_code_name(code));
    }
    tl_tee_verdict_done(&v);
}

static void test_every_policy_key(void **state)
{
    (void)state;
    struct tl_tdx_collateral *c = dcap_rs();
    size_t len;
    uint8_t *q = vector_read(TDX "dcap-rs/quote_tdx_00806f050000.dat", &len);
    struct tl_tdx_quote parsed;
    assert_int_equal(tl_tdx_quote_parse(q, len, &parsed, NULL), 0);
    const struct tl_tdx_td_report *td = &parsed.td;
    static const char ood[] = "\"tcb-status\":[\"UpToDate\",\"OutOfDate\"]";
    struct {
        const char *key;
        const uint8_t *value;
        size_t len;
        enum tl_tee_code code;
    } pins[] = {
        {"mrtd", td->mrtd, 48, TL_TEE_MEASUREMENT},
        {"measurement", td->mrtd, 48, TL_TEE_MEASUREMENT},
        {"mrconfigid", td->mrconfigid, 48, TL_TEE_POLICY},
        {"mrowner", td->mrowner, 48, TL_TEE_POLICY},
        {"mrownerconfig", td->mrownerconfig, 48, TL_TEE_POLICY},
        {"report-data", td->report_data, 64, TL_TEE_REPORT_DATA},
        {"rtmr0", td->rtmr[0], 48, TL_TEE_MEASUREMENT},
        {"rtmr1", td->rtmr[1], 48, TL_TEE_MEASUREMENT},
        {"rtmr2", td->rtmr[2], 48, TL_TEE_MEASUREMENT},
        {"rtmr3", td->rtmr[3], 48, TL_TEE_MEASUREMENT},
        {"min-tee-tcb-svn", td->tee_tcb_svn, 16, TL_TEE_SVN},
    };
    char text[1024], hex[129];
    for (size_t i = 0; i < TL_ARRAY_SIZE(pins); i++) {
        for (int off = 0; off < 2; off++) {
            tl_hex_encode(pins[i].value, pins[i].len, hex);
            if (off) {
                /* one step off: a pin's last digit, a minimum SVN's first
                 * byte one above the quote's */
                size_t d = strcmp(pins[i].key, "min-tee-tcb-svn") == 0 ? 1 : 2 * pins[i].len - 1;
                hex[d] = hex[d] == 'f' ? '0' : hex[d] == '9' ? 'a' : (char)(hex[d] + 1);
            }
            if (strncmp(pins[i].key, "rtmr", 4) == 0) {
                int n = pins[i].key[4] - '0';
                snprintf(text, sizeof(text), "{%s,\"rtmr\":[%s\"%s\"%s]}", ood,
                         n == 0   ? ""
                         : n == 1 ? "null,"
                         : n == 2 ? "null,null,"
                                  : "null,null,null,",
                         hex,
                         n == 3   ? ""
                         : n == 2 ? ",null"
                         : n == 1 ? ",null,null"
                                  : ",null,null,null");
            } else {
                snprintf(text, sizeof(text), "{%s,\"%s\":\"%s\"}", ood, pins[i].key, hex);
            }
            tdx_policy_run(q, len, c, text, off ? (int)pins[i].code : -1);
        }
    }
    /* the accepted statuses (this platform is OutOfDate), debug (the TD is
     * not debuggable: allowing it changes nothing) */
    tdx_policy_run(q, len, c, "{\"tcb-status\":[\"UpToDate\"]}", TL_TEE_TCB_STATUS);
    tdx_policy_run(q, len, c, "{\"tcb-status\":[\"OutOfDate\"]}", -1);
    tdx_policy_run(q, len, c, "{\"tcb-status\":[\"UpToDate\",\"OutOfDateConfigurationNeeded\"]}",
                   TL_TEE_TCB_STATUS);
    tdx_policy_run(q, len, c, "{\"tcb-status\":[\"OutOfDate\"],\"allow-debug\":true}", -1);
    free(q);
    tl_tdx_collateral_free(c);
}

#define CCEL TDX "ccel/"

struct ccel_run {
    int r;
    struct tl_tee_verdict v;
    struct tl_ccel_result res;
};

static void ccel_run(const uint8_t *table, size_t table_len, const uint8_t *log, size_t log_len,
                     const struct tl_tdx_td_report *td, struct ccel_run *out)
{
    assert_int_equal(tl_tee_verdict_init(&out->v, TL_TEE_KIND_TDX, 0), 0);
    out->r = tl_ccel_verify(table, table_len, log, log_len, td, &out->v, &out->res, NULL);
    tl_tee_verdict_finish(&out->v);
}

/* The CCEL table, and the log replayed to the quote's RTMR0-3. */
static void test_ccel(void **state)
{
    (void)state;
    size_t tlen, llen, qlen, nlen;
    uint8_t *table = vector_read(CCEL "ccel_table.dat", &tlen);
    uint8_t *log = vector_read(CCEL "ccel_data.dat", &llen);
    uint8_t *q = vector_read(CCEL "cos-113-tdx-quote.dat", &qlen);
    uint8_t *nonce = vector_read(CCEL "nonce.dat", &nlen);
    struct tl_ccel_table t;
    struct tl_error err = {0};
    assert_int_equal(tl_ccel_table_parse(table, tlen, &t, &err), 0);
    assert_int_equal(t.cc_type, TL_CCEL_CC_TYPE_TDX);
    assert_int_equal(t.laml, 0x40000);
    assert_int_equal(t.lasa, 0xbedbf000);
    assert_int_equal(llen, t.laml);
    assert_string_equal(t.oem_id, "INTEL ");

    struct tl_tdx_quote parsed;
    assert_int_equal(tl_tdx_quote_parse(q, qlen, &parsed, &err), 0);
    assert_int_equal(nlen, 64);
    assert_memory_equal(parsed.td.report_data, nonce, 64);

    struct ccel_run run;
    ccel_run(table, tlen, log, llen, &parsed.td, &run);
    dump(&run.v);
    assert_int_equal(run.r, 0);
    assert_true(run.v.pass);
    assert_int_equal(run.res.n_events, 44);
    assert_int_equal(run.res.mismatched, 0);
    assert_int_equal(run.res.replay.extended, 0x7); /* RTMR0-2; RTMR3 untouched */
    for (int i = 0; i < 4; i++)
        assert_memory_equal(run.res.replay.rtmr[i], parsed.td.rtmr[i], 48);
    tl_tee_verdict_done(&run.v);

    /* Record 15 (EV_EFI_ACTION "Calling EFI Application from Boot
     * Option", RTMR1): one byte of its text changed. The digest no longer
     * is its data's hash: the record is named; the replay still holds. */
    uint8_t *bad = dup_exact(log, llen);
    char *text = memmem(bad, 18101, "Calling EFI Application", 23);
    assert_non_null(text);
    text[0] = 'c';
    ccel_run(table, tlen, bad, llen, &parsed.td, &run);
    assert_false(run.v.pass);
    assert_int_equal(run.res.first_finding_event, 15);
    assert_int_equal(run.res.n_record_findings, 1);
    assert_int_equal(run.res.mismatched, 0);
    assert_non_null(strstr(run.v.reasons[0].detail, "record 15 (EV_EFI_ACTION, RTMR1"));
    tl_tee_verdict_done(&run.v);
    text[0] = 'C';

    /* Its digest changed instead: RTMR1 (and only RTMR1) does not replay. */
    uint8_t *digest = (uint8_t *)text - 4 - 48;
    digest[0] ^= 1;
    ccel_run(table, tlen, bad, llen, &parsed.td, &run);
    assert_false(run.v.pass);
    assert_int_equal(run.res.mismatched, 0x2);
    assert_int_equal(run.res.first_finding_event, 15);
    tl_tee_verdict_done(&run.v);
    digest[0] ^= 1;

    /* A record moved to another RTMR: named by the record check when its
     * type does not belong there, and the replay of both RTMRs breaks. */
    uint8_t *mr = (uint8_t *)text - 4 - 48 - 2 - 12;
    assert_int_equal(tl_le32(mr), 2);
    put32(mr, 3);
    ccel_run(table, tlen, bad, llen, &parsed.td, &run);
    assert_int_equal(run.res.mismatched, 0x6);
    tl_tee_verdict_done(&run.v);
    put32(mr, 5); /* RTMR4 does not exist */
    ccel_run(table, tlen, bad, llen, &parsed.td, &run);
    assert_int_equal(run.r, -EBADMSG);
    tl_tee_verdict_done(&run.v);
    free(bad);

    /* Every truncation of the written part: a clean error, or a shorter
     * log that does not replay to the quote. Never a pass. */
    for (size_t n = 0; n < 18101; n++) {
        uint8_t *p = dup_exact(log, n);
        ccel_run(NULL, 0, p, n, &parsed.td, &run);
        assert_true(run.r == -EBADMSG || (run.r == 0 && run.res.mismatched != 0));
        assert_false(run.v.pass);
        tl_tee_verdict_done(&run.v);
        free(p);
    }
    /* The table: every truncation and a bad checksum. */
    for (size_t n = 0; n < tlen; n++)
        assert_int_equal(tl_ccel_table_parse(table, n, &t, NULL), -EBADMSG);
    table[20] ^= 1;
    assert_int_equal(tl_ccel_table_parse(table, tlen, &t, NULL), -EBADMSG);
    free(table);
    free(log);
    free(q);
    free(nonce);
}

/* A collateral set holding the PCK CA (a PCS issuer chain: here the
 * quote's own chain handed in as a file) verifies only the PCK per quote;
 * the verdict must be the one of the full validation, reason for reason,
 * at every time tried, for every set. */
static void test_cached_ca(void **state)
{
    (void)state;
    static const struct {
        const char *quote, *files[6], *times[3];
    } sets[] = {
        {TDX "dcap-rs/quote_tdx_00806f050000.dat",
         {TDX "dcap-rs/tcbinfov3_00806f050000.json", TDX "dcap-rs/qeidentityv2_apiv4.json",
          TDX "dcap-rs/pck_platform_crl.der", TDX "dcap-rs/intel_root_ca_crl.der",
          TDX "intel-tcb-signing-2018.pem"},
         {"2025-03-01T00:00:00Z", "2025-03-20T00:00:00Z", "2017-01-01T00:00:00Z"}},
        {TDX "quote_v5_sample.dat",
         {TDX "sample_tcbinfo_response_v5", TDX "sample_qeIdentity_response", TDX "pckcrl",
          TDX "rootcrl.der", TDX "intel-tcb-signing-2018.pem"},
         {"2026-02-03T00:00:00Z", "2023-06-10T00:00:00Z", "2040-01-01T00:00:00Z"}},
        {TDX "trustee-tdx_quote_6.dat",
         {TDX "trustee-tcbInfo.json", TDX "trustee-enclaveIdentity.json",
          TDX "intel-tcb-signing-2018.pem"},
         {"2025-11-01T00:00:00Z", "2025-01-01T00:00:00Z", "2030-01-01T00:00:00Z"}},
    };
    for (size_t k = 0; k < TL_ARRAY_SIZE(sets); k++) {
        struct set s = {0};
        for (size_t i = 0; i < 6 && sets[k].files[i]; i++)
            set_add(&s, sets[k].files[i]);
        struct tl_tdx_collateral *slow = load(&s);
        size_t len;
        uint8_t *q = vector_read(sets[k].quote, &len);
        struct tl_tdx_quote parsed;
        assert_int_equal(tl_tdx_quote_parse(q, len, &parsed, NULL), 0);
        /* the CA and root only (a PCS issuer chain), then the PCK too */
        const char *end = strstr((const char *)parsed.pck_chain, "-----END CERTIFICATE-----");
        assert_non_null(end);
        size_t skip = (size_t)(end - (const char *)parsed.pck_chain) + 25;
        s.blobs[s.n++] = (struct tl_tee_blob){.name = "issuer chain",
                                              .data = parsed.pck_chain + skip,
                                              .len = parsed.pck_chain_len - skip};
        struct tl_tdx_collateral *ca = load(&s);
        s.blobs[s.n - 1] = (struct tl_tee_blob){
            .name = "pck chain", .data = parsed.pck_chain, .len = parsed.pck_chain_len};
        struct tl_tdx_collateral *fast = load(&s);
        struct tl_tdx_collateral_counts counts;
        tl_tdx_collateral_counts(fast, &counts);
        assert_true(counts.certs >= 3);
        for (size_t t = 0; t < 6; t++) {
            struct tl_tdx_collateral *other = t < 3 ? ca : fast;
            struct tl_tee_verdict a, b;
            struct tl_tdx_tcb_result ta, tb;
            time_t when = at(sets[k].times[t % 3]);
            assert_int_equal(tl_tdx_verify(q, len, slow, NULL, when, &a, &ta, NULL), 0);
            assert_int_equal(tl_tdx_verify(q, len, other, NULL, when, &b, &tb, NULL), 0);
            if (a.n_reasons != b.n_reasons) {
                dump(&a);
                dump(&b);
                fail_msg("%s at %s: %u reasons, cached %s %u", sets[k].quote, sets[k].times[t % 3],
                         a.n_reasons, t < 3 ? "CA" : "PCK", b.n_reasons);
            }
            for (unsigned i = 0; i < a.n_reasons; i++) {
                assert_int_equal(a.reasons[i].code, b.reasons[i].code);
                assert_string_equal(a.reasons[i].detail, b.reasons[i].detail);
            }
            assert_int_equal(ta.status, tb.status);
            tl_tee_verdict_done(&a);
            tl_tee_verdict_done(&b);
        }
        tl_tdx_collateral_free(slow);
        tl_tdx_collateral_free(ca);
        tl_tdx_collateral_free(fast);
        free(q);
        set_free(&s);
    }
}

/* A PCK certificate whose public key is not a curve point (the fuzzer's
 * first find: OpenSSL parses the certificate but has no key for it): the
 * QE report signature and the chain fail; nothing crashes. The quote's
 * PEM is decoded, the point's format byte changed, and encoded again to
 * the same length. */
static void test_pck_bad_key(void **state)
{
    (void)state;
    struct tl_tdx_collateral *c = dcap_rs();
    size_t len;
    uint8_t *q = vector_read(TDX "dcap-rs/quote_tdx_00806f050000.dat", &len);
    struct tl_tdx_quote parsed;
    assert_int_equal(tl_tdx_quote_parse(q, len, &parsed, NULL), 0);
    char *b = strstr((char *)parsed.pck_chain, "-----BEGIN CERTIFICATE-----\n") + 28;
    char *e = strstr(b, "-----END CERTIFICATE-----");
    uint8_t der[2048], text[4096];
    int n = 0, m = 0, k = 0;
    EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
    EVP_DecodeInit(ctx);
    assert_true(EVP_DecodeUpdate(ctx, der, &n, (uint8_t *)b, (int)(e - b)) >= 0);
    assert_int_equal(EVP_DecodeFinal(ctx, der + n, &m), 1);
    n += m;
    uint8_t *spki = memmem(der, (size_t)n, "\x03\x42\x00\x04", 4);
    assert_non_null(spki);
    spki[3] = 0x05; /* no such point format */
    EVP_EncodeInit(ctx);
    assert_int_equal(EVP_EncodeUpdate(ctx, text, &k, der, n), 1);
    EVP_EncodeFinal(ctx, text + k, &m);
    EVP_ENCODE_CTX_free(ctx);
    assert_int_equal(k + m, e - b);
    memcpy(b, text, (size_t)(k + m));
    struct tl_tee_verdict v;
    assert_int_equal(tl_tdx_verify(q, len, c, NULL, at("2025-03-01T00:00:00Z"), &v, NULL, NULL), 0);
    assert_false(v.pass);
    assert_true(tl_tee_verdict_has(&v, TL_TEE_SIGNATURE));
    assert_true(tl_tee_verdict_has(&v, TL_TEE_CHAIN));
    tl_tee_verdict_done(&v);
    free(q);
    tl_tdx_collateral_free(c);
}

/* The TCB rules on the dcap-rs TCB info and QE identity with SVNs made up
 * here (Intel QVL, tdxEvaluateTCB): the platform level needs the PCK's
 * SGX components, its PCESVN and TEE_TCB_SVN, compared from byte 2 once
 * the TDX module's major version (byte 1) is not 0; the module's own
 * level from TDX_<major>; QE and module OutOfDate turn the platform's
 * status into OutOfDate or OutOfDateConfigurationNeeded. */
static void test_tcb_rules(void **state)
{
    (void)state;
    size_t len, qlen;
    uint8_t *t = vector_read(TDX "dcap-rs/tcbinfov3_00806f050000.json", &len);
    uint8_t *e = vector_read(TDX "dcap-rs/qeidentityv2_apiv4.json", &qlen);
    struct tl_tdx_tcbinfo ti;
    struct tl_tdx_qe_identity qe;
    struct tl_error err = {0};
    assert_int_equal(tl_tdx_tcbinfo_parse(t, len, &ti, &err), 0);
    assert_int_equal(tl_tdx_qe_identity_parse(e, qlen, &qe, &err), 0);
    struct tl_tdx_pck_info pck = {.pcesvn = 11, .tcb_comp = {7, 7, 2, 2, 3, 1, 0, 3}};
    struct tl_tdx_td_report td = {.tee_tcb_svn = {4, 1, 7}};
    struct tl_tdx_tcb_result r;

    /* byte 0 (4) is below level 0's 5, but is the module's SVN: level 0 */
    assert_int_equal(tl_tdx_tcb_match_platform(&ti, &pck, &td, &r, &err), 0);
    assert_int_equal(r.platform_level, 0);
    assert_int_equal(tl_tdx_tcb_match_module(&ti, &td, &r, &err), 0);
    assert_int_equal(r.module_status, TL_TEE_TCB_UP_TO_DATE);
    assert_int_equal(r.status, TL_TEE_TCB_UP_TO_DATE);
    assert_int_equal(r.advisories.n, 0);
    /* module SVN 3: TDX_01's level 2, OutOfDate: the whole is OutOfDate */
    td.tee_tcb_svn[0] = 3;
    assert_int_equal(tl_tdx_tcb_match_platform(&ti, &pck, &td, &r, &err), 0);
    assert_int_equal(tl_tdx_tcb_match_module(&ti, &td, &r, &err), 0);
    assert_int_equal(r.module_status, TL_TEE_TCB_OUT_OF_DATE);
    assert_int_equal(r.status, TL_TEE_TCB_OUT_OF_DATE);
    /* module SVN 1: below TDX_01's levels */
    td.tee_tcb_svn[0] = 1;
    assert_int_equal(tl_tdx_tcb_match_module(&ti, &td, &r, &err), -ENOENT);
    /* major version 2: no TDX_02 identity */
    td.tee_tcb_svn[1] = 2;
    assert_int_equal(tl_tdx_tcb_match_module(&ti, &td, &r, &err), -ENOENT);
    /* major version 0: every byte counts (4 < 5: level 1) and the module
     * is "tdxModule", whose signer is all zeros */
    td.tee_tcb_svn[0] = 4;
    td.tee_tcb_svn[1] = 0;
    assert_int_equal(tl_tdx_tcb_match_platform(&ti, &pck, &td, &r, &err), 0);
    assert_int_equal(r.platform_level, 1);
    assert_int_equal(tl_tdx_tcb_match_module(&ti, &td, &r, &err), 0);
    td.mrsignerseam[0] = 1;
    assert_int_equal(tl_tdx_tcb_match_module(&ti, &td, &r, &err), -EPERM);
    td.mrsignerseam[0] = 0;
    td.seam_attributes[7] = 0x80;
    assert_int_equal(tl_tdx_tcb_match_module(&ti, &td, &r, &err), -EPERM);
    td.seam_attributes[7] = 0;
    /* PCESVN 10: only the last level (PCESVN 5) is met */
    pck.pcesvn = 10;
    assert_int_equal(tl_tdx_tcb_match_platform(&ti, &pck, &td, &r, &err), 0);
    assert_int_equal(r.platform_level, 3);
    assert_int_equal(r.advisories.n, 17);
    assert_string_equal(r.advisories.id[0], "INTEL-SA-00106");
    pck.pcesvn = 4;
    assert_int_equal(tl_tdx_tcb_match_platform(&ti, &pck, &td, &r, &err), -ENOENT);

    /* The QE against its identity. */
    struct tl_sgx_report qr = {.isvprodid = 2, .isvsvn = 4, .attributes = {0x11}};
    assert_int_equal(
        tl_hex_decode("DC9E2A7C6F948F17474E34A7FC43ED030F7C1563F1BABDDF6340C82E0E54A8C5", 64,
                      qr.mrsigner, 32),
        32);
    pck.pcesvn = 11;
    td.tee_tcb_svn[1] = 1;
    assert_int_equal(tl_tdx_tcb_match_platform(&ti, &pck, &td, &r, &err), 0);
    assert_int_equal(tl_tdx_tcb_match_qe(&qe, &qr, &r, &err), 0);
    assert_int_equal(r.qe_status, TL_TEE_TCB_UP_TO_DATE);
    assert_int_equal(r.tcb_date, at("2024-03-13T00:00:00Z")); /* the earliest level date */
    qr.isvsvn = 3;
    assert_int_equal(tl_tdx_tcb_match_qe(&qe, &qr, &r, &err), -ENOENT);
    qr.isvsvn = 4;
    qr.attributes[0] = 0x13; /* DEBUG under the mask */
    assert_int_equal(tl_tdx_tcb_match_qe(&qe, &qr, &r, &err), -EPERM);
    qr.attributes[0] = 0x15; /* bit 2 is outside the mask (FB) */
    assert_int_equal(tl_tdx_tcb_match_qe(&qe, &qr, &r, &err), 0);
    qr.isvprodid = 1;
    assert_int_equal(tl_tdx_tcb_match_qe(&qe, &qr, &r, &err), -EPERM);
    tl_tdx_tcbinfo_done(&ti);
    tl_tdx_qe_identity_done(&qe);

    /* A ConfigurationNeeded platform with an OutOfDate module becomes
     * OutOfDateConfigurationNeeded (the text changed here; the parse does
     * not check the signature, the collateral set does). */
    char *first = strstr(strstr((char *)t, "\"sgxtcbcomponents\""), "\"tcbStatus\":\"UpToDate\"");
    assert_non_null(first);
    uint8_t *t2 = malloc(len + 32);
    size_t pre = (size_t)(first - (char *)t);
    memcpy(t2, t, pre);
    size_t n = pre + (size_t)sprintf((char *)t2 + pre, "\"tcbStatus\":\"ConfigurationNeeded\"");
    size_t rest = len - pre - strlen("\"tcbStatus\":\"UpToDate\"");
    memcpy(t2 + n, first + strlen("\"tcbStatus\":\"UpToDate\""), rest);
    assert_int_equal(tl_tdx_tcbinfo_parse(t2, n + rest, &ti, &err), 0);
    td.tee_tcb_svn[0] = 3;
    assert_int_equal(tl_tdx_tcb_match_platform(&ti, &pck, &td, &r, &err), 0);
    assert_int_equal(r.platform_status, TL_TEE_TCB_CONFIGURATION_NEEDED);
    assert_int_equal(tl_tdx_tcb_match_module(&ti, &td, &r, &err), 0);
    assert_int_equal(r.status, TL_TEE_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED);
    tl_tdx_tcbinfo_done(&ti);
    free(t2);
    free(t);
    free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dcap_rs_out_of_date),
        cmocka_unit_test(test_trustee_out_of_date),
        cmocka_unit_test(test_v5_sample),
        cmocka_unit_test(test_collateral_window),
        cmocka_unit_test(test_signed_bytes),
        cmocka_unit_test(test_qe_report),
        cmocka_unit_test(test_tcbinfo_tampered),
        cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_framing),
        cmocka_unit_test(test_pck_info),
        cmocka_unit_test(test_tcbinfo_parse),
        cmocka_unit_test(test_policy_pins),
        cmocka_unit_test(test_every_policy_key),
        cmocka_unit_test(test_ccel),
        cmocka_unit_test(test_cached_ca),
        cmocka_unit_test(test_pck_bad_key),
        cmocka_unit_test(test_tcb_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
