/* tld's judgement of a confidential node's hardware evidence
 * (src/tld/attest_tee.c), on trustee's real Azure SEV-SNP CVM evidence
 * (../shared/vectors/tee/azure): the node's attestation is played by the
 * evidence's own vTPM quote, nonce ("challenge") and HCLAkPub as the
 * enrolled AK.
 *  - as it is, at 2026-06-01: everything verifies but its user-data
 *    (zeros, not this attestation's nonce): one finding, `user-data` (a
 *    stale HCL report replayed with a fresh quote fails so);
 *  - one byte of the runtime JSON changed: `binding`;
 *  - an enrolled AK that is not HCLAkPub: `binding`;
 *  - another quote than the attestation's: `binding`;
 *  - a node created without a persisted vTPM: `vm-config`;
 *  - TDX evidence for an SEV-SNP node: `malformed`, nothing else judged;
 *  - no evidence at all: `malformed`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>
#include <tss2/tss2_mu.h>

#include "attest.h"
#include "tl/azure.h"
#include "tl/base64.h"
#include "tl/tee.h"
#include "tl/util.h"
#include "vectors.h"

#define AZ_SNP "tee/azure/az-snp-vtpm-evidence-v1.json"
#define AZ_TDX "tee/azure/az-tdx-vtpm-evidence-v1.json"
#define NONCE  "challenge"

struct fixture {
    struct tld_tee tee;
    json_t *snp, *tdx;
    uint8_t *quote;
    size_t quote_len;
    uint8_t ak[sizeof(TPM2B_PUBLIC)];
    size_t ak_len;
};

/* An RSA key as the TPM2B_PUBLIC an enrolment would have stored. */
static size_t tpm_public(EVP_PKEY *key, uint8_t *out, size_t size)
{
    BIGNUM *n = NULL;
    assert_int_equal(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n), 1);
    TPM2B_PUBLIC pub = {0};
    pub.publicArea.type = TPM2_ALG_RSA;
    pub.publicArea.nameAlg = TPM2_ALG_SHA256;
    pub.publicArea.objectAttributes = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT |
                                      TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                                      TPMA_OBJECT_SENSITIVEDATAORIGIN;
    pub.publicArea.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
    pub.publicArea.parameters.rsaDetail.scheme.scheme = TPM2_ALG_RSASSA;
    pub.publicArea.parameters.rsaDetail.scheme.details.rsassa.hashAlg = TPM2_ALG_SHA256;
    pub.publicArea.parameters.rsaDetail.keyBits = (TPMI_RSA_KEY_BITS)BN_num_bits(n);
    pub.publicArea.unique.rsa.size = (UINT16)BN_num_bytes(n);
    BN_bn2bin(n, pub.publicArea.unique.rsa.buffer);
    BN_free(n);
    size_t off = 0;
    assert_int_equal(Tss2_MU_TPM2B_PUBLIC_Marshal(&pub, out, size, &off), TSS2_RC_SUCCESS);
    return off;
}

static json_t *load(const char *rel)
{
    size_t n;
    uint8_t *text = vector_read(rel, &n);
    json_t *j = json_loadb((const char *)text, n, 0, NULL);
    free(text);
    assert_non_null(j);
    return j;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct tl_error err = {0};
    assert_int_equal(tld_tee_open(&f->tee, NULL, 0, &err), 0);
    f->snp = load(AZ_SNP);
    f->tdx = load(AZ_TDX);
    const char *msg =
        json_string_value(json_object_get(json_object_get(f->snp, "tpm_quote"), "message"));
    f->quote = malloc(strlen(msg) / 2);
    int k = tl_hex_decode(msg, strlen(msg), f->quote, strlen(msg) / 2);
    assert_true(k > 0);
    f->quote_len = (size_t)k;
    /* HCLAkPub, as credential activation would have enrolled it */
    uint8_t *hcl;
    size_t hcl_len;
    const char *b = json_string_value(json_object_get(f->snp, "hcl_report"));
    assert_int_equal(
        tl_base64_decode(b, strlen(b), TL_BASE64_URL | TL_BASE64_PAD_OPTIONAL, &hcl, &hcl_len), 0);
    struct tl_hcl_report rep;
    struct tl_az_runtime rt;
    assert_int_equal(tl_hcl_report_parse(hcl, hcl_len, &rep, &err), 0);
    assert_int_equal(tl_az_runtime_parse(rep.var_data, rep.var_len, &rt, &err), 0);
    assert_non_null(rt.ak);
    f->ak_len = tpm_public(rt.ak, f->ak, sizeof(f->ak));
    tl_az_runtime_done(&rt);
    free(hcl);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    tld_tee_close(&f->tee);
    json_decref(f->snp);
    json_decref(f->tdx);
    free(f->quote);
    free(f);
    return 0;
}

static struct tld_tee_expect snp_node(void)
{
    struct tld_tee_expect x = {
        .kind = TL_TEE_KIND_AZ_SNP_VTPM, .secure_boot = true, .tpm_persisted = true};
    assert_int_equal(tl_tee_time_parse("2026-06-01T00:00:00Z", &x.at), 0);
    return x;
}

/* The findings' rules, comma-separated, in order. */
static void check(struct fixture *f, const struct tld_tee_expect *x, json_t *evidence,
                  const uint8_t *quote, size_t quote_len, const uint8_t *ak, size_t ak_len,
                  const char *want)
{
    json_t *findings = json_array(), *claims = NULL;
    assert_int_equal(tld_tee_check(&f->tee, x, evidence, (const uint8_t *)NONCE, strlen(NONCE),
                                   quote, quote_len, ak, ak_len, findings, &claims),
                     0);
    char got[512] = "";
    size_t i;
    json_t *g;
    json_array_foreach(findings, i, g)
    {
        print_message("  %s: %s\n", json_string_value(json_object_get(g, "rule")),
                      json_string_value(json_object_get(g, "actual")));
        if (i)
            strcat(got, ",");
        strncat(got, json_string_value(json_object_get(g, "rule")), 64);
    }
    assert_string_equal(got, want);
    json_decref(findings);
    json_decref(claims);
}

static void real_evidence_only_user_data(void **state)
{
    struct fixture *f = *state;
    struct tld_tee_expect x = snp_node();
    json_t *findings = json_array(), *claims = NULL;
    assert_int_equal(tld_tee_check(&f->tee, &x, f->snp, (const uint8_t *)NONCE, strlen(NONCE),
                                   f->quote, f->quote_len, f->ak, f->ak_len, findings, &claims),
                     0);
    assert_int_equal(json_array_size(findings), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(findings, 0), "rule")),
                        "user-data");
    /* MAA's claims for the token */
    assert_string_equal(json_string_value(json_object_get(claims, "x-ms-attestation-type")),
                        "azurevm");
    json_t *tee = json_object_get(claims, "x-ms-isolation-tee");
    assert_string_equal(json_string_value(json_object_get(tee, "x-ms-attestation-type")),
                        "sevsnpvm");
    assert_true(json_is_string(json_object_get(tee, "x-ms-sevsnpvm-launchmeasurement")));
    json_decref(findings);
    json_decref(claims);
}

static void runtime_json_changed(void **state)
{
    struct fixture *f = *state;
    struct tld_tee_expect x = snp_node();
    const char *b = json_string_value(json_object_get(f->snp, "hcl_report"));
    uint8_t *hcl;
    size_t len;
    assert_int_equal(
        tl_base64_decode(b, strlen(b), TL_BASE64_URL | TL_BASE64_PAD_OPTIONAL, &hcl, &len), 0);
    uint8_t *p = memmem(hcl, len, "\"tpm-enabled\":true", 18);
    assert_non_null(p);
    p[1] = 'T'; /* "Tpm-enabled": still JSON, another document */
    char *enc;
    size_t n;
    assert_int_equal(tl_base64_encode(hcl, len, TL_BASE64_URL | TL_BASE64_NO_PAD, &enc, &n), 0);
    json_t *ev = json_deep_copy(f->snp);
    json_object_set_new(ev, "hcl_report", json_string(enc));
    json_t *findings = json_array(), *claims = NULL;
    assert_int_equal(tld_tee_check(&f->tee, &x, ev, (const uint8_t *)NONCE, strlen(NONCE), f->quote,
                                   f->quote_len, f->ak, f->ak_len, findings, &claims),
                     0);
    bool binding = false;
    size_t i;
    json_t *g;
    json_array_foreach(findings, i, g) binding =
        binding || strcmp(json_string_value(json_object_get(g, "rule")), "binding") == 0;
    assert_true(binding);
    json_decref(findings);
    json_decref(claims);
    json_decref(ev);
    free(enc);
    free(hcl);
}

static void another_ak(void **state)
{
    struct fixture *f = *state;
    struct tld_tee_expect x = snp_node();
    EVP_PKEY *other = EVP_RSA_gen(2048);
    uint8_t ak[sizeof(TPM2B_PUBLIC)];
    size_t ak_len = tpm_public(other, ak, sizeof(ak));
    EVP_PKEY_free(other);
    check(f, &x, f->snp, f->quote, f->quote_len, ak, ak_len, "binding,user-data");
}

static void another_quote(void **state)
{
    struct fixture *f = *state;
    struct tld_tee_expect x = snp_node();
    uint8_t *q = malloc(f->quote_len);
    memcpy(q, f->quote, f->quote_len);
    q[f->quote_len - 1] ^= 1;
    check(f, &x, f->snp, q, f->quote_len, f->ak, f->ak_len, "binding,user-data");
    free(q);
}

static void not_persisted(void **state)
{
    struct fixture *f = *state;
    struct tld_tee_expect x = snp_node();
    x.tpm_persisted = false;
    check(f, &x, f->snp, f->quote, f->quote_len, f->ak, f->ak_len, "user-data,vm-config");
}

static void wrong_kind_and_none(void **state)
{
    struct fixture *f = *state;
    struct tld_tee_expect x = snp_node();
    check(f, &x, f->tdx, f->quote, f->quote_len, f->ak, f->ak_len, "malformed");
    check(f, &x, NULL, f->quote, f->quote_len, f->ak, f->ak_len, "malformed");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(real_evidence_only_user_data),
        cmocka_unit_test(runtime_json_changed),
        cmocka_unit_test(another_ak),
        cmocka_unit_test(another_quote),
        cmocka_unit_test(not_persisted),
        cmocka_unit_test(wrong_kind_and_none),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
