/* Unit tests for lib/tee/hcl.c and lib/tee/azure.c with trustee's real
 * Azure CVM evidence ($TL_VECTORS/tee/azure, SOURCES.md). The producer's
 * nonce is "challenge" (trustee's az_snp_vtpm tests; it is the vTPM quote's
 * extraData).
 *
 * What is asserted:
 *  - the HCL report's fields (HCLA, SNP type 2 / TDX type 4, SHA-256, the
 *    runtime JSON's size and the REPORT_DATA binding);
 *  - the SNP evidence passes at 2026-06-01 with nonce "challenge", with
 *    MAA-named claims (azurevm, x-ms-isolation-tee sevsnpvm, 24 attested
 *    PCRs, PCR 0's value, the VM id); the same evidence re-encoded in
 *    trustee's v0 form passes too;
 *  - one runtime JSON byte changed fails `binding` (and only that); a
 *    wrong nonce fails `nonce`; a PCR changed fails `pcr-digest`; a
 *    vTPM signature byte fails `tpm-signature`; secure-boot made
 *    non-true fails `secure-boot-off` (with `binding`); a hardware report
 *    byte fails `signature`; v2 with a user-data that lacks the nonce fails
 *    `user-data`;
 *  - the TDX evidence: binding and vTPM parts pass, the TD quote is
 *    `not-verified` without a TDX verifier, and a stub verifier's reasons
 *    are merged;
 *  - trustee's three forms, v0 (byte arrays, the VCEK as PEM), v1 and v2,
 *    of both evidence files decode to the same bytes and verify (the TDX
 *    one's TD quote with libtl's TDX verifier and dcap-rs's collateral at
 *    2025-03-01, OutOfDate accepted); v2 with the nonce fails `user-data`
 *    (its user-data is zeros); version 3, unknown members, a missing
 *    member are refused; azure.c's one-pass reader of the v1/v2 shape and
 *    its jansson reader (escapes, v0) decode the same evidence alike;
 *  - the Azure policy keys: user-data pinned right passes and wrong fails
 *    `user-data`; require-secure-boot / require-tpm-enabled / allow-console;
 *    tpm-enabled false fails `tpm-disabled`;
 *  - truncations of the HCL report at every offset and of the evidence JSON
 *    are clean errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <errno.h>
#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl/azure.h"
#include "tl/snp.h"
#include "tl/tdx.h"
#include "tl/tee.h"
#include "tl/util.h"
#include "vectors.h"

#define AZ_SNP "tee/azure/az-snp-vtpm-evidence-v1.json"
#define AZ_TDX "tee/azure/az-tdx-vtpm-evidence-v1.json"

static time_t when(const char *s)
{
    time_t t;
    assert_int_equal(tl_tee_time_parse(s, &t), 0);
    return t;
}

static void load(const char *rel, struct tl_az_evidence *ev)
{
    size_t n;
    uint8_t *json = vector_read(rel, &n);
    struct tl_error err;
    int r = tl_az_evidence_parse(json, n, ev, &err);
    if (r < 0)
        fail_msg("%s: %s", rel, err.message);
    free(json);
}

static void nonce(struct tl_tee_policy *p, const char *s)
{
    p->nonce = (struct tl_tee_pin){.set = true, .len = strlen(s)};
    memcpy(p->nonce.v, s, strlen(s));
}

static void run(struct tl_snp_ctx *ctx, const struct tl_az_evidence *ev,
                const struct tl_tee_policy *pol, struct tl_tee_verdict *v)
{
    assert_int_equal(tl_tee_verdict_init(v, ev->kind, when("2026-06-01T00:00:00Z")), 0);
    struct tl_az_verifier az = {.snp = ctx};
    assert_int_equal(tl_az_verify(&az, ev, NULL, pol, v), 0);
    for (unsigned i = 0; i < v->n_reasons; i++)
        print_message("  %s: %s\n", tl_tee_code_name(v->reasons[i].code), v->reasons[i].detail);
}

static bool only(const struct tl_tee_verdict *v, enum tl_tee_code code)
{
    if (v->pass || v->n_reasons == 0)
        return false;
    for (unsigned i = 0; i < v->n_reasons; i++)
        if (v->reasons[i].code != code)
            return false;
    return true;
}

static int setup(void **state)
{
    struct tl_snp_ctx *ctx;
    assert_int_equal(tl_snp_ctx_new(&ctx, NULL), 0);
    *state = ctx;
    return 0;
}

static int teardown(void **state)
{
    tl_snp_ctx_free(*state);
    return 0;
}

static void test_hcl_fields(void **state)
{
    (void)state;
    struct tl_az_evidence ev;
    load(AZ_SNP, &ev);
    assert_int_equal(ev.version, 1);
    assert_int_equal(ev.kind, TL_TEE_KIND_AZ_SNP_VTPM);
    assert_int_equal(ev.hcl_len, 2600);
    assert_int_equal(ev.n_pcrs, 24);
    assert_int_equal(ev.tpm_signature_len, 256);
    struct tl_hcl_report h;
    assert_int_equal(tl_hcl_report_parse(ev.hcl_report, ev.hcl_len, &h, NULL), 0);
    assert_int_equal(h.report_type, TL_HCL_REPORT_SNP);
    assert_int_equal(h.hash_type, 1);
    assert_int_equal(h.var_len, 1110);
    assert_int_equal(h.hw_len, 1184);
    assert_int_equal(tl_le32(h.hw_report), 3); /* a v3 SEV-SNP report */
    struct tl_az_runtime rt;
    assert_int_equal(tl_az_runtime_parse(h.var_data, h.var_len, &rt, NULL), 0);
    assert_non_null(rt.ak);
    assert_true(rt.has_user_data);
    assert_true(tl_is_zero(rt.user_data, 64));
    tl_az_runtime_done(&rt);
    tl_az_evidence_done(&ev);

    load(AZ_TDX, &ev);
    assert_int_equal(ev.kind, TL_TEE_KIND_AZ_TDX_VTPM);
    assert_int_equal(tl_hcl_report_parse(ev.hcl_report, ev.hcl_len, &h, NULL), 0);
    assert_int_equal(h.report_type, TL_HCL_REPORT_TDX);
    assert_int_equal(h.var_len, 1201);
    assert_int_equal(h.hw_len, 1024);
    tl_az_evidence_done(&ev);
}

static void test_snp_passes(void **state)
{
    struct tl_az_evidence ev;
    load(AZ_SNP, &ev);
    struct tl_tee_policy pol;
    tl_tee_policy_init(&pol);
    nonce(&pol, "challenge");
    struct tl_tee_verdict v;
    run(*state, &ev, &pol, &v);
    assert_true(v.pass);
    assert_string_equal(json_string_value(json_object_get(v.claims, "x-ms-attestation-type")),
                        "azurevm");
    json_t *tee = json_object_get(v.claims, "x-ms-isolation-tee");
    assert_string_equal(json_string_value(json_object_get(tee, "x-ms-attestation-type")),
                        "sevsnpvm");
    assert_int_equal(json_integer_value(json_object_get(tee, "x-ms-sevsnpvm-vmpl")), 0);
    assert_string_equal(json_string_value(json_object_get(tee, "x-ms-sevsnpvm-product")), "Milan");
    assert_non_null(json_object_get(json_object_get(tee, "x-ms-runtime"), "keys"));
    assert_int_equal(json_array_size(json_object_get(v.claims, "x-ms-azurevm-attested-pcrs")), 24);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(v.claims, "x-ms-azurevm-pcrs-sha256"), "0")),
                        "e15c44796beabf46abcec7c57e590942041e47497e4ec27571c8b7664f48dced");
    assert_string_equal(json_string_value(json_object_get(v.claims, "x-ms-azurevm-vmid")),
                        "26F8BC30-774E-4290-8E7A-535F3B672AEE");
    assert_string_equal(json_string_value(json_object_get(v.claims, "x-ms-azurevm-tpm-nonce")),
                        "6368616c6c656e6765");
    tl_tee_verdict_done(&v);
    tl_az_evidence_done(&ev);
}

/* Offset of needle inside the HCL report's runtime JSON. */
static size_t runtime_offset(const struct tl_az_evidence *ev, const char *needle)
{
    const uint8_t *p = memmem(ev->hcl_report, ev->hcl_len, needle, strlen(needle));
    assert_non_null(p);
    return (size_t)(p - ev->hcl_report);
}

static void test_snp_negatives(void **state)
{
    struct tl_az_evidence ev;
    load(AZ_SNP, &ev);
    struct tl_tee_policy pol;
    tl_tee_policy_init(&pol);
    nonce(&pol, "challenge");
    struct tl_tee_verdict v;

    /* one byte of the runtime JSON (inside the VM id) */
    size_t off = runtime_offset(&ev, "26F8BC30");
    ev.hcl_report[off] = '3';
    run(*state, &ev, &pol, &v);
    assert_true(only(&v, TL_TEE_BINDING));
    tl_tee_verdict_done(&v);
    ev.hcl_report[off] = '2';

    /* secure-boot no longer true (binding breaks as well) */
    off = runtime_offset(&ev, "\"secure-boot\":true") + strlen("\"secure-boot\":");
    memcpy(ev.hcl_report + off, "0   ", 4);
    run(*state, &ev, &pol, &v);
    assert_true(tl_tee_verdict_has(&v, TL_TEE_SECURE_BOOT_OFF));
    assert_true(tl_tee_verdict_has(&v, TL_TEE_BINDING));
    tl_tee_verdict_done(&v);
    memcpy(ev.hcl_report + off, "true", 4);

    /* a wrong nonce */
    tl_tee_policy_init(&pol);
    nonce(&pol, "challengf");
    run(*state, &ev, &pol, &v);
    assert_true(only(&v, TL_TEE_NONCE));
    tl_tee_verdict_done(&v);
    nonce(&pol, "challenge");

    /* a PCR changed */
    ev.pcrs[7][31] ^= 0x80;
    run(*state, &ev, &pol, &v);
    assert_true(only(&v, TL_TEE_PCR_DIGEST));
    tl_tee_verdict_done(&v);
    ev.pcrs[7][31] ^= 0x80;

    /* a PCR missing (23 sent, 24 quoted) */
    ev.n_pcrs = 23;
    run(*state, &ev, &pol, &v);
    assert_true(only(&v, TL_TEE_PCR_DIGEST));
    tl_tee_verdict_done(&v);
    ev.n_pcrs = 24;

    /* the vTPM signature */
    ev.tpm_signature[100] ^= 1;
    run(*state, &ev, &pol, &v);
    assert_true(only(&v, TL_TEE_TPM_SIGNATURE));
    tl_tee_verdict_done(&v);
    ev.tpm_signature[100] ^= 1;

    /* the quote's bytes (the signature covers them) */
    ev.tpm_message[ev.tpm_message_len - 1] ^= 1;
    run(*state, &ev, &pol, &v);
    assert_true(tl_tee_verdict_has(&v, TL_TEE_TPM_SIGNATURE));
    assert_false(v.pass);
    tl_tee_verdict_done(&v);
    ev.tpm_message[ev.tpm_message_len - 1] ^= 1;

    /* the hardware report's MEASUREMENT */
    ev.hcl_report[TL_HCL_HEADER_SIZE + 0x90] ^= 1;
    run(*state, &ev, &pol, &v);
    assert_true(only(&v, TL_TEE_SIGNATURE));
    tl_tee_verdict_done(&v);
    ev.hcl_report[TL_HCL_HEADER_SIZE + 0x90] ^= 1;

    /* v2: user-data (zeros here) must start with the nonce */
    ev.version = 2;
    run(*state, &ev, &pol, &v);
    assert_true(only(&v, TL_TEE_USER_DATA));
    tl_tee_verdict_done(&v);
    ev.version = 1;

    /* a policy that refuses the serial console */
    pol.allow_console = false;
    run(*state, &ev, &pol, &v);
    assert_true(only(&v, TL_TEE_VM_CONFIG));
    tl_tee_verdict_done(&v);
    pol.allow_console = true;

    /* sanity: back to a pass */
    run(*state, &ev, &pol, &v);
    assert_true(v.pass);
    tl_tee_verdict_done(&v);
    tl_az_evidence_done(&ev);
}

static json_t *byte_array(const uint8_t *p, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_integer(p[i]));
    return a;
}

/* trustee's v0 form of the same evidence: byte arrays, the VCEK as PEM */
static void test_snp_v0(void **state)
{
    struct tl_az_evidence ev;
    load(AZ_SNP, &ev);
    const unsigned char *p = ev.vcek;
    X509 *x = d2i_X509(NULL, &p, (long)ev.vcek_len);
    assert_non_null(x);
    BIO *bio = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_X509(bio, x), 1);
    char *pem;
    long pem_len = BIO_get_mem_data(bio, &pem);
    json_t *pcrs = json_array();
    for (size_t i = 0; i < ev.n_pcrs; i++)
        json_array_append_new(pcrs, byte_array(ev.pcrs[i], 32));
    json_t *root = json_pack("{s:{s:o,s:o,s:o},s:o,s:s%}", "quote", "signature",
                             byte_array(ev.tpm_signature, ev.tpm_signature_len), "message",
                             byte_array(ev.tpm_message, ev.tpm_message_len), "pcrs", pcrs, "report",
                             byte_array(ev.hcl_report, ev.hcl_len), "vcek", pem, (size_t)pem_len);
    assert_non_null(root);
    char *text = json_dumps(root, 0);
    struct tl_az_evidence ev0;
    struct tl_error err;
    assert_int_equal(tl_az_evidence_parse((const uint8_t *)text, strlen(text), &ev0, &err), 0);
    assert_int_equal(ev0.version, 0);
    assert_int_equal(ev0.kind, TL_TEE_KIND_AZ_SNP_VTPM);
    struct tl_tee_policy pol;
    tl_tee_policy_init(&pol);
    nonce(&pol, "challenge");
    struct tl_tee_verdict v;
    run(*state, &ev0, &pol, &v);
    assert_true(v.pass);
    tl_tee_verdict_done(&v);
    tl_az_evidence_done(&ev0);
    free(text);
    json_decref(root);
    BIO_free(bio);
    X509_free(x);
    tl_az_evidence_done(&ev);
}

static int td_stub(void *opaque, const uint8_t *quote, size_t len,
                   const struct tl_tee_policy *policy, time_t at, struct tl_tee_verdict *td)
{
    (void)quote;
    (void)len;
    (void)policy;
    int *calls = opaque;
    (*calls)++;
    assert_int_equal(tl_tee_verdict_init(td, TL_TEE_KIND_TDX, at), 0);
    tl_tee_claim_str(td->claims, "tdx-stub", "yes");
    tl_tee_fail(td, TL_TEE_TCB_STATUS, "stub: OutOfDate");
    return 0;
}

static void test_tdx(void **state)
{
    struct tl_az_evidence ev;
    load(AZ_TDX, &ev);
    struct tl_tee_policy pol;
    tl_tee_policy_init(&pol);
    nonce(&pol, "challenge");
    struct tl_tee_verdict v;
    run(*state, &ev, &pol, &v);
    assert_true(only(&v, TL_TEE_NOT_VERIFIED));
    json_t *tee = json_object_get(v.claims, "x-ms-isolation-tee");
    assert_string_equal(json_string_value(json_object_get(tee, "x-ms-attestation-type")), "tdxvm");
    tl_tee_verdict_done(&v);

    int calls = 0;
    struct tl_az_verifier az = {.snp = *state, .td_verify = td_stub, .td_opaque = &calls};
    assert_int_equal(tl_tee_verdict_init(&v, ev.kind, when("2026-06-01")), 0);
    assert_int_equal(tl_az_verify(&az, &ev, NULL, &pol, &v), 0);
    assert_int_equal(calls, 1);
    assert_true(only(&v, TL_TEE_TCB_STATUS));
    tee = json_object_get(v.claims, "x-ms-isolation-tee");
    assert_string_equal(json_string_value(json_object_get(tee, "tdx-stub")), "yes");
    tl_tee_verdict_done(&v);

    /* the TD quote's REPORTDATA is what binds the runtime data */
    const uint8_t *rd;
    assert_int_equal(tl_az_td_quote_report_data(ev.td_quote, ev.td_quote_len, &rd, NULL), 0);
    size_t off = (size_t)(rd - ev.td_quote);
    ev.td_quote[off] ^= 1;
    run(*state, &ev, &pol, &v);
    assert_true(tl_tee_verdict_has(&v, TL_TEE_BINDING));
    tl_tee_verdict_done(&v);
    tl_az_evidence_done(&ev);
}

/* The TD quote of Azure TDX evidence through libtl's TDX verifier, with
 * dcap-rs's collateral (the TD quote's platform: FMSPC 00806f050000). */
static int td_real(void *opaque, const uint8_t *quote, size_t len,
                   const struct tl_tee_policy *policy, time_t at, struct tl_tee_verdict *td)
{
    int r = tl_tdx_verify(quote, len, opaque, policy, at, td, NULL, NULL);
    return r == -EBADMSG ? 0 : r;
}

static struct tl_tdx_collateral *dcap_rs_collateral(void)
{
    static const char *const files[] = {
        "tee/tdx/dcap-rs/tcbinfov3_00806f050000.json", "tee/tdx/dcap-rs/qeidentityv2_apiv4.json",
        "tee/tdx/dcap-rs/pck_platform_crl.der", "tee/tdx/dcap-rs/intel_root_ca_crl.der",
        "tee/tdx/intel-tcb-signing-2018.pem"};
    struct tl_tee_blob blobs[5];
    uint8_t *owned[5];
    for (size_t i = 0; i < 5; i++) {
        size_t n;
        owned[i] = vector_read(files[i], &n);
        blobs[i] = (struct tl_tee_blob){.name = files[i], .data = owned[i], .len = n};
    }
    struct tl_tdx_collateral *c = NULL;
    assert_int_equal(tl_tdx_collateral_new(blobs, 5, &c, NULL), 0);
    for (size_t i = 0; i < 5; i++)
        free(owned[i]);
    return c;
}

/* trustee's forms of one evidence: v0 (no version; byte arrays; SNP's VCEK
 * as PEM), v1 (the vector) and v2 (v1 with "version":2), for SNP and TDX. */
static char *form_v0(const struct tl_az_evidence *ev)
{
    json_t *pcrs = json_array();
    for (size_t i = 0; i < ev->n_pcrs; i++)
        json_array_append_new(pcrs, byte_array(ev->pcrs[i], 32));
    json_t *quote = json_pack("{s:o,s:o,s:o}", "signature",
                              byte_array(ev->tpm_signature, ev->tpm_signature_len), "message",
                              byte_array(ev->tpm_message, ev->tpm_message_len), "pcrs", pcrs);
    json_t *root;
    if (ev->kind == TL_TEE_KIND_AZ_SNP_VTPM) {
        const unsigned char *p = ev->vcek;
        X509 *x = d2i_X509(NULL, &p, (long)ev->vcek_len);
        assert_non_null(x);
        BIO *bio = BIO_new(BIO_s_mem());
        assert_int_equal(PEM_write_bio_X509(bio, x), 1);
        char *pem;
        long pem_len = BIO_get_mem_data(bio, &pem);
        root = json_pack("{s:o,s:o,s:s%}", "quote", quote, "report",
                         byte_array(ev->hcl_report, ev->hcl_len), "vcek", pem, (size_t)pem_len);
        BIO_free(bio);
        X509_free(x);
    } else {
        root = json_pack("{s:o,s:o,s:o}", "tpm_quote", quote, "hcl_report",
                         byte_array(ev->hcl_report, ev->hcl_len), "td_quote",
                         byte_array(ev->td_quote, ev->td_quote_len));
    }
    assert_non_null(root);
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return text;
}

static char *form_v2(const char *rel)
{
    size_t n;
    uint8_t *json = vector_read(rel, &n);
    json_t *root = json_loadb((const char *)json, n, 0, NULL);
    assert_non_null(root);
    assert_int_equal(json_integer_value(json_object_get(root, "version")), 1);
    json_object_set_new(root, "version", json_integer(2));
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    free(json);
    return text;
}

static void same_evidence(const struct tl_az_evidence *a, const struct tl_az_evidence *b)
{
    assert_int_equal(a->kind, b->kind);
    assert_int_equal(a->hcl_len, b->hcl_len);
    assert_memory_equal(a->hcl_report, b->hcl_report, a->hcl_len);
    assert_int_equal(a->td_quote_len, b->td_quote_len);
    if (a->td_quote_len)
        assert_memory_equal(a->td_quote, b->td_quote, a->td_quote_len);
    assert_int_equal(a->tpm_message_len, b->tpm_message_len);
    assert_memory_equal(a->tpm_message, b->tpm_message, a->tpm_message_len);
    assert_int_equal(a->tpm_signature_len, b->tpm_signature_len);
    assert_memory_equal(a->tpm_signature, b->tpm_signature, a->tpm_signature_len);
    assert_int_equal(a->n_pcrs, b->n_pcrs);
    assert_memory_equal(a->pcrs, b->pcrs, sizeof(a->pcrs));
}

static void test_forms(void **state)
{
    struct tl_tdx_collateral *tdx = dcap_rs_collateral();
    const struct {
        const char *rel, *at;
    } kinds[] = {{AZ_SNP, "2026-06-01T00:00:00Z"}, {AZ_TDX, "2025-03-01T00:00:00Z"}};
    for (size_t k = 0; k < 2; k++) {
        struct tl_az_evidence v1;
        load(kinds[k].rel, &v1);
        assert_int_equal(v1.version, 1);
        char *texts[2] = {form_v0(&v1), form_v2(kinds[k].rel)};
        for (int f = 0; f < 2; f++) {
            struct tl_az_evidence ev;
            struct tl_error err = {0};
            if (tl_az_evidence_parse((const uint8_t *)texts[f], strlen(texts[f]), &ev, &err) < 0)
                fail_msg("%s v%d: %s", kinds[k].rel, f * 2, err.message);
            assert_int_equal(ev.version, f * 2);
            same_evidence(&v1, &ev);
            if (ev.kind == TL_TEE_KIND_AZ_SNP_VTPM) /* v0 PEM, v1/v2 DER: the same VCEK */
                assert_true(f == 0 ? ev.vcek_len > v1.vcek_len : ev.vcek_len == v1.vcek_len);
            /* the whole verification, TDX's TD quote by libtl's TDX verifier
             * (its platform is OutOfDate at 2025-03-01: accepted here) */
            for (int with_nonce = 0; with_nonce < 2; with_nonce++) {
                struct tl_tee_policy pol;
                tl_tee_policy_init(&pol);
                pol.tcb_status_mask |= 1u << TL_TEE_TCB_OUT_OF_DATE;
                if (with_nonce)
                    nonce(&pol, "challenge");
                struct tl_tee_verdict v;
                assert_int_equal(tl_tee_verdict_init(&v, ev.kind, when(kinds[k].at)), 0);
                struct tl_az_verifier az = {.snp = *state, .td_verify = td_real, .td_opaque = tdx};
                assert_int_equal(tl_az_verify(&az, &ev, NULL, &pol, &v), 0);
                /* v2's user-data must start with the nonce: this evidence's
                 * user-data is zeros, so v2 with the nonce fails user-data */
                if (f == 1 && with_nonce)
                    assert_true(only(&v, TL_TEE_USER_DATA));
                else if (!v.pass)
                    fail_msg("%s v%d%s: %s: %s", kinds[k].rel, f * 2, with_nonce ? " + nonce" : "",
                             tl_tee_code_name(v.reasons[0].code), v.reasons[0].detail);
                tl_tee_verdict_done(&v);
            }
            tl_az_evidence_done(&ev);
            free(texts[f]);
        }
        tl_az_evidence_done(&v1);
    }
    /* The one-pass reader (v1/v2's shape, no escapes) and jansson's (any
     * JSON) agree: the same v1 evidence, its HCL report's first character
     * written as a \u escape (jansson's reader), reindented (one-pass). */
    for (size_t k = 0; k < 2; k++) {
        struct tl_az_evidence fast, slow, spaced;
        load(kinds[k].rel, &fast);
        size_t n;
        char *text = (char *)vector_read(kinds[k].rel, &n);
        char *at = strstr(text, "\"hcl_report\"");
        assert_non_null(at);
        at = strchr(at + strlen("\"hcl_report\""), '"') + 1; /* the value's first character */
        char *esc = malloc(n + 8);
        size_t pre = (size_t)(at - text);
        memcpy(esc, text, pre);
        int w = sprintf(esc + pre, "\\u%04x", (unsigned char)*at);
        memcpy(esc + pre + (size_t)w, at + 1, n - pre - 1);
        assert_int_equal(tl_az_evidence_parse((uint8_t *)esc, n - 1 + (size_t)w, &slow, NULL), 0);
        same_evidence(&fast, &slow);
        json_t *root = json_loadb(text, n, 0, NULL);
        char *pretty = json_dumps(root, JSON_INDENT(3) | JSON_SORT_KEYS);
        assert_int_equal(tl_az_evidence_parse((uint8_t *)pretty, strlen(pretty), &spaced, NULL), 0);
        same_evidence(&fast, &spaced);
        assert_int_equal(fast.version, slow.version);
        assert_int_equal(fast.vcek_len, slow.vcek_len);
        tl_az_evidence_done(&fast);
        tl_az_evidence_done(&slow);
        tl_az_evidence_done(&spaced);
        json_decref(root);
        free(pretty);
        free(esc);
        free(text);
    }
    /* what no form is: a version 3, an unknown member, v1 without one */
    const char *bad[] = {
        "{\"version\":3,\"tpm_quote\":{},\"hcl_report\":\"\",\"vcek\":\"\"}",
        "{\"version\":1,\"tpm_quote\":{},\"hcl_report\":\"\",\"vcek\":\"\",\"extra\":1}",
        ("{\"version\":1,\"tpm_quote\":{\"signature\":\"\",\"message\":\"\",\"pcrs\":[]},"
         "\"hcl_report\":\"\"}"),
        "{\"quote\":{},\"report\":[],\"vcek\":\"\",\"td_quote\":[]}",
        "{\"tpm_quote\":{},\"hcl_report\":[256],\"td_quote\":[]}",
    };
    for (size_t i = 0; i < TL_ARRAY_SIZE(bad); i++) {
        struct tl_az_evidence ev;
        struct tl_error err = {0};
        assert_int_equal(tl_az_evidence_parse((const uint8_t *)bad[i], strlen(bad[i]), &ev, &err),
                         -EBADMSG);
        assert_true(err.message[0] != '\0');
    }
    tl_tdx_collateral_free(tdx);
}

/* The Azure policy keys on the SNP evidence: user-data (zeros here) pinned
 * right and wrong, and the vm-configuration flags required or not. */
static void test_policy_keys(void **state)
{
    struct tl_az_evidence ev;
    load(AZ_SNP, &ev);
    char zeros[129];
    memset(zeros, '0', 128);
    zeros[128] = '\0';
    char right[160], wrong[160];
    snprintf(right, sizeof(right), "{\"user-data\":\"%s\"}", zeros);
    zeros[127] = '1';
    snprintf(wrong, sizeof(wrong), "{\"user-data\":\"%s\"}", zeros);
    const struct {
        const char *text;
        int code;
    } cases[] = {
        {right, -1},
        {wrong, TL_TEE_USER_DATA},
        {"{\"require-secure-boot\":false,\"require-tpm-enabled\":false,\"allow-console\":true}",
         -1},
        {"{\"allow-console\":false}", TL_TEE_VM_CONFIG},
        {"{\"vmpl\":[1]}", TL_TEE_VMPL},
        {"{\"measurement\":\"" /* 48 zero bytes: not this VM's */
         "000000000000000000000000000000000000000000000000"
         "000000000000000000000000000000000000000000000000\"}",
         TL_TEE_MEASUREMENT},
    };
    for (size_t i = 0; i < TL_ARRAY_SIZE(cases); i++) {
        struct tl_tee_policy pol;
        tl_tee_policy_init(&pol);
        assert_int_equal(tl_tee_policy_parse(cases[i].text, strlen(cases[i].text), &pol, NULL), 0);
        nonce(&pol, "challenge");
        struct tl_tee_verdict v;
        run(*state, &ev, &pol, &v);
        if (cases[i].code < 0)
            assert_true(v.pass);
        else
            assert_true(only(&v, (enum tl_tee_code)cases[i].code));
        tl_tee_verdict_done(&v);
    }
    /* tpm-enabled made false in the runtime JSON: tpm-disabled (and binding) */
    size_t off = runtime_offset(&ev, "\"tpm-enabled\":true") + strlen("\"tpm-enabled\":");
    memcpy(ev.hcl_report + off, "0   ", 4);
    struct tl_tee_policy pol;
    tl_tee_policy_init(&pol);
    struct tl_tee_verdict v;
    run(*state, &ev, &pol, &v);
    assert_true(tl_tee_verdict_has(&v, TL_TEE_TPM_DISABLED));
    assert_true(tl_tee_verdict_has(&v, TL_TEE_BINDING));
    tl_tee_verdict_done(&v);
    tl_az_evidence_done(&ev);
}

static void test_truncations(void **state)
{
    struct tl_az_evidence ev;
    load(AZ_SNP, &ev);
    struct tl_tee_policy pol;
    tl_tee_policy_init(&pol);
    size_t full = ev.hcl_len;
    uint8_t *orig = ev.hcl_report;
    for (size_t n = 0; n < full; n++) {
        /* only lengths that cut the fixed part or the runtime data matter;
         * the zero padding after it may be cut (every 7th: keep it quick) */
        if (n > TL_HCL_VAR_OFFSET + 1110 && n % 7)
            continue;
        uint8_t *cut = dup_exact(orig, n);
        struct tl_hcl_report h;
        struct tl_error err;
        int r = tl_hcl_report_parse(cut, n, &h, &err);
        if (n < TL_HCL_VAR_OFFSET + 1110)
            assert_int_equal(r, -EBADMSG);
        else
            assert_int_equal(r, 0);
        if (n % 61 == 0 && r < 0) {
            ev.hcl_report = cut;
            ev.hcl_len = n;
            struct tl_tee_verdict v;
            run(*state, &ev, &pol, &v);
            assert_true(only(&v, TL_TEE_MALFORMED));
            tl_tee_verdict_done(&v);
        }
        free(cut);
    }
    ev.hcl_report = orig;
    ev.hcl_len = full;
    tl_az_evidence_done(&ev);

    size_t n;
    uint8_t *json = vector_read(AZ_SNP, &n);
    for (size_t k = 0; k < n - 2; k++) { /* the file ends in "}\n" */
        uint8_t *cut = dup_exact(json, k);
        struct tl_az_evidence e2;
        struct tl_error err;
        assert_int_equal(tl_az_evidence_parse(cut, k, &e2, &err), -EBADMSG);
        free(cut);
    }
    free(json);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hcl_fields),
        cmocka_unit_test_setup_teardown(test_snp_passes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snp_negatives, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snp_v0, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tdx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_policy_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncations, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
