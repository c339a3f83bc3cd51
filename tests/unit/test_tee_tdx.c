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
 *    changed names RTMR and record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl/tdx.h"
#include "tl/tee.h"
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dcap_rs_out_of_date),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
