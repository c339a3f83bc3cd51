/* Unit tests for the emulated secure processor (lib/tee: snp_emul.c,
 * tdx_emul.c, hcl_build.c, emul_measure.c) judged by the real verifiers
 * (tl_snp_verify, tl_tdx_verify, tl_hcl_report_parse, tl_az_runtime_parse).
 *
 * What is asserted:
 *  - the launch measurements: known answers computed independently
 *    (Python hashlib over the documented byte layout) for a 5000-byte
 *    firmware, 2 vCPUs, guest features 0x1; one vCPU more changes the
 *    SEV-SNP value, not MRTD;
 *  - SEV-SNP v3 (Milan) and v5 (Genoa) reports under a local ARK/ASK/VCEK:
 *    the default policy fails with exactly `root-untrusted`; a policy whose
 *    trusted-roots name the ARK passes, the verdict and its JSON say
 *    "emulated", the claims carry the MEASUREMENT and REPORT_DATA given;
 *    a policy naming another root: `root-untrusted`; without the ARK/ASK
 *    in the collateral: `chain`; a flipped MEASUREMENT byte: `signature`;
 *    the DEBUG policy bit: `debug`; a REPORT_DATA that is not the nonce:
 *    `nonce`;
 *  - TDX quote v4 with the local PCK chain and collateral (TCB info v3, QE
 *    identity v2, root and PCK CRLs): default policy `root-untrusted` only
 *    (for the PCK chain and the TCB signing chain);
 *    naming the root: pass, emulated, UpToDate, the MRTD given; a flipped
 *    body byte `signature`; TDATTRIBUTES.DEBUG `debug`; another nonce
 *    `nonce`; the PCK on its CA's CRL `revoked`; collateral outside its
 *    window `collateral-expired`;
 *  - the HCL report builder round-trips through hcl.c's parsers (SNP and
 *    TDX): the same header, types, hardware report, runtime bytes, AK,
 *    user-data and vm-configuration, and REPORT_DATA = SHA-256(runtime);
 *  - Azure SNP evidence end to end (the HCL report built here, a vTPM
 *    quote signed by the runtime JSON's HCLAkPub): `root-untrusted` under
 *    the default policy; pass, emulated, x-ms-isolation-tee sevsnpvm under
 *    the naming one; one byte of the runtime JSON changed: `binding`; a
 *    quote signed by another key: `tpm-signature`;
 *  - the policy key trusted-roots: read, and refused when malformed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl/azure.h"
#include "tl/hcl_build.h"
#include "tl/snp.h"
#include "tl/snp_emul.h"
#include "tl/tdx.h"
#include "tl/tdx_emul.h"
#include "tl/tee.h"
#include "tl/tee_emul.h"
#include "tl/util.h"

#define T0 1796083200 /* 2026-12-01T00:00:00Z */
#define AT (T0 + 86400)

static EVP_PKEY *keygen(const char *alg, const char *param)
{
    EVP_PKEY *k = NULL;
    if (strcmp(alg, "RSA") == 0)
        k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    else
        k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", param);
    assert_non_null(k);
    return k;
}

static void sha256(const uint8_t *p, size_t n, uint8_t out[32])
{
    unsigned int len = 32;
    assert_int_equal(EVP_Digest(p, n, out, &len, EVP_sha256(), NULL), 1);
}

static void fw_bytes(uint8_t *fw, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fw[i] = (uint8_t)((i * 7 + 3) % 251);
}

static void hex_is(const uint8_t *p, size_t n, const char *want)
{
    char hex[2 * 64 + 1];
    tl_hex_encode(p, n, hex);
    assert_string_equal(hex, want);
}

static void only_reason(const struct tl_tee_verdict *v, enum tl_tee_code code)
{
    if (v->n_reasons != 1 || v->reasons[0].code != code)
        for (unsigned i = 0; i < v->n_reasons; i++)
            fprintf(stderr, "reason %s: %s\n", tl_tee_code_name(v->reasons[i].code),
                    v->reasons[i].detail);
    assert_false(v->pass);
    assert_int_equal(v->n_reasons, 1);
    assert_int_equal(v->reasons[0].code, code);
}

/* Fails, every reason with code (the TDX PCK and TCB signing chains
 * each say it). */
static void all_reasons(const struct tl_tee_verdict *v, enum tl_tee_code code)
{
    assert_false(v->pass);
    assert_true(v->n_reasons >= 1);
    for (unsigned i = 0; i < v->n_reasons; i++)
        assert_int_equal(v->reasons[i].code, code);
}

static void passes(const struct tl_tee_verdict *v)
{
    for (unsigned i = 0; i < v->n_reasons; i++)
        fprintf(stderr, "reason %s: %s\n", tl_tee_code_name(v->reasons[i].code),
                v->reasons[i].detail);
    assert_true(v->pass);
}

/* ---- measurements ---- */

static void test_measurements(void **state)
{
    (void)state;
    uint8_t fw[5000], m[48], m3[48], t[48], t2[48];
    struct tl_error err = {0};
    fw_bytes(fw, sizeof(fw));
    assert_int_equal(tl_tee_emul_snp_measurement(fw, sizeof(fw), 2, 0x1, m, &err), 0);
    hex_is(
        m, 48,
        "2ff59155cc070f9ff55f26afb8f8a75fce4995565e5106ef34c724c86419fd41878b972d3175ca12ec225002"
        "51b105d1");
    assert_int_equal(tl_tee_emul_snp_measurement(fw, sizeof(fw), 3, 0x1, m3, &err), 0);
    assert_memory_not_equal(m, m3, 48);
    assert_int_equal(tl_tee_emul_tdx_mrtd(fw, sizeof(fw), t, &err), 0);
    hex_is(
        t, 48,
        "06d6ea8c37e5c3797891b14fa63d4adad8e96626b0a09d34fdfebbb1ae942eb2763c36a79e781e383eba57bb"
        "4801dab3");
    fw[4999] ^= 1;
    assert_int_equal(tl_tee_emul_tdx_mrtd(fw, sizeof(fw), t2, &err), 0);
    assert_memory_not_equal(t, t2, 48);
    assert_int_equal(tl_tee_emul_snp_measurement(fw, 0, 1, 0, m, &err), -EINVAL);
    assert_int_equal(tl_tee_emul_snp_measurement(fw, sizeof(fw), 0, 0, m, &err), -EINVAL);
}

/* ---- SEV-SNP ---- */

struct snp_world {
    EVP_PKEY *ark, *ask, *vcek;
    enum tl_snp_product product;
    uint8_t *ark_der, *ask_der, *vcek_der;
    size_t ark_len, ask_len, vcek_len;
    uint8_t ark_sha[32];
    uint8_t chip_id[64];
    struct tl_snp_tcb tcb;
    struct tl_snp_ctx *ctx;
};

static void snp_world_init(struct snp_world *w, enum tl_snp_product product)
{
    struct tl_error err = {0};
    struct tl_tee_emul_window win = {T0, T0 + 365 * 86400};
    *w = (struct snp_world){.product = product,
                            .tcb = {.bootloader = 4, .tee = 0, .snp = 22, .microcode = 213}};
    w->ark = keygen("RSA", NULL);
    w->ask = keygen("RSA", NULL);
    w->vcek = keygen("EC", "P-384");
    for (int i = 0; i < 64; i++)
        w->chip_id[i] = (uint8_t)(0xc0 + i);
    assert_int_equal(tl_snp_emul_ark(w->ark, product, win, &w->ark_der, &w->ark_len, &err), 0);
    assert_int_equal(tl_snp_emul_ask(w->ask, w->ark, w->ark_der, w->ark_len, product, win,
                                     &w->ask_der, &w->ask_len, &err),
                     0);
    assert_int_equal(tl_snp_emul_vcek(w->vcek, w->ask, w->ask_der, w->ask_len, product, &w->tcb,
                                      w->chip_id, win, &w->vcek_der, &w->vcek_len, &err),
                     0);
    sha256(w->ark_der, w->ark_len, w->ark_sha);
    assert_int_equal(tl_snp_ctx_new(&w->ctx, &err), 0);
}

static void snp_world_done(struct snp_world *w)
{
    EVP_PKEY_free(w->ark);
    EVP_PKEY_free(w->ask);
    EVP_PKEY_free(w->vcek);
    free(w->ark_der);
    free(w->ask_der);
    free(w->vcek_der);
    tl_snp_ctx_free(w->ctx);
}

static void snp_report(struct snp_world *w, uint32_t version, uint64_t extra_policy,
                       const uint8_t rd[64], const uint8_t m[48], uint8_t out[TL_SNP_REPORT_SIZE])
{
    struct tl_snp_report r;
    struct tl_error err = {0};
    assert_int_equal(tl_snp_emul_report_init(&r, version, w->product, &w->tcb, &err), 0);
    r.policy |= extra_policy;
    memcpy(r.report_data, rd, 64);
    memcpy(r.measurement, m, 48);
    memcpy(r.chip_id, w->chip_id, 64);
    assert_int_equal(tl_snp_emul_report(&r, w->vcek, out, &err), 0);
}

/* Verifies with the ARK and ASK in the collateral (with_chain). */
static void snp_judge(struct snp_world *w, const uint8_t *report, bool with_chain,
                      const struct tl_tee_policy *pol, struct tl_tee_verdict *v)
{
    struct tl_tee_blob blobs[2] = {{"ark.der", w->ark_der, w->ark_len},
                                   {"ask.der", w->ask_der, w->ask_len}};
    struct tl_tee_collateral col = {with_chain ? 2 : 0, blobs};
    struct tl_snp_evidence ev = {report, TL_SNP_REPORT_SIZE, w->vcek_der, w->vcek_len, &col};
    assert_int_equal(tl_tee_verdict_init(v, TL_TEE_KIND_SNP, AT), 0);
    assert_int_equal(tl_snp_verify(w->ctx, &ev, pol, v), 0);
}

static void snp_case(enum tl_snp_product product, uint32_t version)
{
    struct snp_world w;
    snp_world_init(&w, product);
    uint8_t fw[5000], m[48], rd[64], rep[TL_SNP_REPORT_SIZE];
    struct tl_error err = {0};
    fw_bytes(fw, sizeof(fw));
    assert_int_equal(tl_tee_emul_snp_measurement(fw, sizeof(fw), 2, 0x1, m, &err), 0);
    for (int i = 0; i < 64; i++)
        rd[i] = (uint8_t)i;
    snp_report(&w, version, 0, rd, m, rep);

    struct tl_snp_report parsed;
    assert_int_equal(tl_snp_report_parse(rep, sizeof(rep), &parsed, &err), 0);
    assert_int_equal(parsed.version, version);
    assert_int_equal(tl_snp_report_product(&parsed), product);
    assert_int_equal(parsed.vmpl, 0);
    assert_false(parsed.policy & TL_SNP_POLICY_DEBUG);

    struct tl_tee_policy def, named, other;
    struct tl_tee_verdict v;
    tl_tee_policy_init(&def);
    named = other = def;
    named.n_trusted_roots = other.n_trusted_roots = 1;
    named.trusted_roots[0] = (struct tl_tee_trusted_root){TL_TEE_ROOT_SNP_ARK};
    memcpy(named.trusted_roots[0].sha256, w.ark_sha, 32);
    other.trusted_roots[0] = named.trusted_roots[0];
    other.trusted_roots[0].sha256[0] ^= 1;

    snp_judge(&w, rep, true, &def, &v);
    only_reason(&v, TL_TEE_ROOT_UNTRUSTED);
    assert_false(v.emulated);
    tl_tee_verdict_done(&v);

    snp_judge(&w, rep, true, &named, &v);
    passes(&v);
    assert_true(v.emulated);
    char hex[129];
    tl_hex_encode(m, 48, hex);
    assert_string_equal(
        json_string_value(json_object_get(v.claims, "x-ms-sevsnpvm-launchmeasurement")), hex);
    tl_hex_encode(rd, 64, hex);
    assert_string_equal(json_string_value(json_object_get(v.claims, "x-ms-sevsnpvm-reportdata")),
                        hex);
    json_t *j = tl_tee_verdict_json(&v);
    assert_true(json_is_true(json_object_get(j, "emulated")));
    assert_string_equal(json_string_value(json_object_get(j, "verdict")), "pass");
    json_decref(j);
    tl_tee_verdict_done(&v);

    /* a TDX root of the same fingerprint is not an ARK */
    struct tl_tee_policy wrong_kind = named;
    wrong_kind.trusted_roots[0].kind = TL_TEE_ROOT_TDX_ROOT;
    snp_judge(&w, rep, true, &wrong_kind, &v);
    only_reason(&v, TL_TEE_ROOT_UNTRUSTED);
    tl_tee_verdict_done(&v);

    snp_judge(&w, rep, true, &other, &v);
    only_reason(&v, TL_TEE_ROOT_UNTRUSTED);
    tl_tee_verdict_done(&v);

    snp_judge(&w, rep, false, &named, &v);
    only_reason(&v, TL_TEE_CHAIN);
    assert_false(v.emulated);
    tl_tee_verdict_done(&v);

    uint8_t bad[TL_SNP_REPORT_SIZE];
    memcpy(bad, rep, sizeof(bad));
    bad[0x90] ^= 0x01; /* MEASUREMENT */
    snp_judge(&w, bad, true, &named, &v);
    only_reason(&v, TL_TEE_SIGNATURE);
    tl_tee_verdict_done(&v);

    snp_report(&w, version, TL_SNP_POLICY_DEBUG, rd, m, bad);
    snp_judge(&w, bad, true, &named, &v);
    only_reason(&v, TL_TEE_DEBUG);
    tl_tee_verdict_done(&v);

    struct tl_tee_policy nonce = named;
    nonce.nonce.set = true;
    nonce.nonce.len = 32;
    memcpy(nonce.nonce.v, rd, 32);
    nonce.nonce.v[31] ^= 0xff;
    snp_judge(&w, rep, true, &nonce, &v);
    only_reason(&v, TL_TEE_NONCE);
    tl_tee_verdict_done(&v);

    snp_world_done(&w);
}

static void test_snp_v3_milan(void **state)
{
    (void)state;
    snp_case(TL_SNP_PRODUCT_MILAN, 3);
}

static void test_snp_v5_genoa(void **state)
{
    (void)state;
    snp_case(TL_SNP_PRODUCT_GENOA, 5);
}

/* ---- TDX ---- */

struct tdx_world {
    EVP_PKEY *root, *ca, *pck, *signer, *ak;
    struct tl_tdx_td_report td;
    struct tl_sgx_report qe;
    struct tl_tdx_pck_info platform;
    uint8_t *der[4]; /* root, ca, pck, signer */
    size_t len[4];
    uint8_t *crl[2]; /* root's, ca's */
    size_t crl_len[2];
    char *tcbinfo, *qeid, *pem;
    size_t tcbinfo_len, qeid_len, pem_len;
    uint8_t root_sha[32];
};

static void tdx_world_init(struct tdx_world *w, struct tl_tee_emul_window coll)
{
    struct tl_error err = {0};
    struct tl_tee_emul_window win = {T0, T0 + 365 * 86400};
    *w = (struct tdx_world){0};
    w->root = keygen("EC", "P-256");
    w->ca = keygen("EC", "P-256");
    w->pck = keygen("EC", "P-256");
    w->signer = keygen("EC", "P-256");
    w->ak = keygen("EC", "P-256");
    tl_tdx_emul_defaults(&w->td, &w->qe, &w->platform);
    assert_int_equal(tl_tdx_emul_root(w->root, win, &w->der[0], &w->len[0], &err), 0);
    assert_int_equal(
        tl_tdx_emul_pck_ca(w->ca, w->root, w->der[0], w->len[0], win, &w->der[1], &w->len[1], &err),
        0);
    assert_int_equal(tl_tdx_emul_pck(w->pck, w->ca, w->der[1], w->len[1], &w->platform, win,
                                     &w->der[2], &w->len[2], &err),
                     0);
    assert_int_equal(tl_tdx_emul_tcb_signer(w->signer, w->root, w->der[0], w->len[0], win,
                                            &w->der[3], &w->len[3], &err),
                     0);
    assert_int_equal(tl_tdx_emul_crl(w->root, w->der[0], w->len[0], coll, NULL, 0, &w->crl[0],
                                     &w->crl_len[0], &err),
                     0);
    assert_int_equal(tl_tdx_emul_crl(w->ca, w->der[1], w->len[1], coll, NULL, 0, &w->crl[1],
                                     &w->crl_len[1], &err),
                     0);
    assert_int_equal(tl_tdx_emul_tcbinfo(&w->platform, &w->td, coll, w->signer, &w->tcbinfo,
                                         &w->tcbinfo_len, &err),
                     0);
    assert_int_equal(tl_tdx_emul_qe_identity(&w->qe, coll, w->signer, &w->qeid, &w->qeid_len, &err),
                     0);
    const uint8_t *chain[3] = {w->der[2], w->der[1], w->der[0]};
    size_t lens[3] = {w->len[2], w->len[1], w->len[0]};
    assert_int_equal(tl_tee_emul_pem(chain, lens, 3, &w->pem, &w->pem_len, &err), 0);
    sha256(w->der[0], w->len[0], w->root_sha);
    struct tl_tdx_pck_info back;
    assert_int_equal(tl_tdx_pck_info_parse(w->der[2], w->len[2], &back, &err), 0);
    assert_memory_equal(back.fmspc, w->platform.fmspc, 6);
    assert_memory_equal(back.tcb_comp, w->platform.tcb_comp, 16);
    assert_int_equal(back.pcesvn, w->platform.pcesvn);
}

static void tdx_world_done(struct tdx_world *w)
{
    EVP_PKEY_free(w->root);
    EVP_PKEY_free(w->ca);
    EVP_PKEY_free(w->pck);
    EVP_PKEY_free(w->signer);
    EVP_PKEY_free(w->ak);
    for (int i = 0; i < 4; i++)
        free(w->der[i]);
    free(w->crl[0]);
    free(w->crl[1]);
    free(w->tcbinfo);
    free(w->qeid);
    free(w->pem);
}

static void tdx_quote(struct tdx_world *w, const struct tl_tdx_td_report *td, uint8_t **q,
                      size_t *n)
{
    struct tl_error err = {0};
    uint8_t auth[32];
    for (int i = 0; i < 32; i++)
        auth[i] = (uint8_t)i;
    assert_int_equal(tl_tdx_emul_quote(td, &w->qe, auth, sizeof(auth), w->ak, w->pck, w->pem,
                                       w->pem_len, q, n, &err),
                     0);
}

static void tdx_judge(struct tdx_world *w, const uint8_t *q, size_t n,
                      const struct tl_tee_policy *pol, struct tl_tee_verdict *v)
{
    struct tl_tee_blob blobs[] = {
        {"root.der", w->der[0], w->len[0]},
        {"tcb-signing.der", w->der[3], w->len[3]},
        {"root.crl", w->crl[0], w->crl_len[0]},
        {"pck.crl", w->crl[1], w->crl_len[1]},
        {"tcbinfo.json", (const uint8_t *)w->tcbinfo, w->tcbinfo_len},
        {"qe_identity.json", (const uint8_t *)w->qeid, w->qeid_len},
    };
    struct tl_tdx_collateral *col;
    struct tl_error err = {0};
    assert_int_equal(tl_tdx_collateral_new(blobs, TL_ARRAY_SIZE(blobs), &col, &err), 0);
    struct tl_tdx_collateral_counts c;
    tl_tdx_collateral_counts(col, &c);
    assert_int_equal(c.tcbinfos, 1);
    assert_int_equal(c.qe_identities, 1);
    assert_int_equal(c.crls, 2);
    assert_int_equal(tl_tdx_verify(q, n, col, pol, AT, v, NULL, &err), 0);
    tl_tdx_collateral_free(col);
}

static void test_tdx_v4(void **state)
{
    (void)state;
    struct tdx_world w;
    tdx_world_init(&w, (struct tl_tee_emul_window){T0, T0 + 30 * 86400});
    uint8_t fw[5000], *q, *bad;
    size_t n, bn;
    struct tl_error err = {0};
    fw_bytes(fw, sizeof(fw));
    struct tl_tdx_td_report td = w.td;
    assert_int_equal(tl_tee_emul_tdx_mrtd(fw, sizeof(fw), td.mrtd, &err), 0);
    for (int i = 0; i < 64; i++)
        td.report_data[i] = (uint8_t)(0x40 + i);
    tdx_quote(&w, &td, &q, &n);
    struct tl_tdx_quote parsed;
    assert_int_equal(tl_tdx_quote_parse(q, n, &parsed, &err), 0);
    assert_int_equal(parsed.version, 4);
    assert_memory_equal(parsed.td.mrtd, td.mrtd, 48);
    assert_int_equal(parsed.trailing_zero_bytes, 0);

    struct tl_tee_policy def, named;
    struct tl_tee_verdict v;
    tl_tee_policy_init(&def);
    named = def;
    named.n_trusted_roots = 1;
    named.trusted_roots[0] = (struct tl_tee_trusted_root){TL_TEE_ROOT_TDX_ROOT};
    memcpy(named.trusted_roots[0].sha256, w.root_sha, 32);

    tdx_judge(&w, q, n, &def, &v);
    all_reasons(&v, TL_TEE_ROOT_UNTRUSTED);
    assert_int_equal(v.n_reasons, 2);
    assert_non_null(strstr(v.reasons[0].detail, "PCK chain"));
    assert_non_null(strstr(v.reasons[1].detail, "TCB signing chain"));
    assert_false(v.emulated);
    tl_tee_verdict_done(&v);

    tdx_judge(&w, q, n, &named, &v);
    passes(&v);
    assert_true(v.emulated);
    assert_string_equal(json_string_value(json_object_get(v.claims, "attester_tcb_status")),
                        "UpToDate");
    char hex[129];
    tl_hex_encode(td.mrtd, 48, hex);
    assert_string_equal(json_string_value(json_object_get(v.claims, "tdx_mrtd")), hex);
    tl_tee_verdict_done(&v);

    bad = malloc(n);
    memcpy(bad, q, n);
    bad[TL_TDX_HEADER_SIZE + 136] ^= 1; /* MRTD */
    tdx_judge(&w, bad, n, &named, &v);
    only_reason(&v, TL_TEE_SIGNATURE);
    tl_tee_verdict_done(&v);
    free(bad);

    struct tl_tdx_td_report dbg = td;
    dbg.td_attributes[0] |= TL_TDX_TD_ATTR_DEBUG;
    tdx_quote(&w, &dbg, &bad, &bn);
    tdx_judge(&w, bad, bn, &named, &v);
    only_reason(&v, TL_TEE_DEBUG);
    tl_tee_verdict_done(&v);
    free(bad);

    struct tl_tee_policy nonce = named;
    nonce.nonce.set = true;
    nonce.nonce.len = 64;
    memcpy(nonce.nonce.v, td.report_data, 64);
    nonce.nonce.v[0] ^= 1;
    tdx_judge(&w, q, n, &nonce, &v);
    only_reason(&v, TL_TEE_NONCE);
    tl_tee_verdict_done(&v);

    /* the PCK on its CA's CRL: revoked (a CRL re-issued with its serial) */
    const uint8_t *pp = w.der[2];
    X509 *pck = d2i_X509(NULL, &pp, (long)w.len[2]);
    uint64_t serial = 0;
    assert_non_null(pck);
    assert_int_equal(ASN1_INTEGER_get_uint64(&serial, X509_get0_serialNumber(pck)), 1);
    X509_free(pck);
    free(w.crl[1]);
    assert_int_equal(tl_tdx_emul_crl(w.ca, w.der[1], w.len[1],
                                     (struct tl_tee_emul_window){T0, T0 + 30 * 86400}, &serial, 1,
                                     &w.crl[1], &w.crl_len[1], &err),
                     0);
    tdx_judge(&w, q, n, &named, &v);
    only_reason(&v, TL_TEE_REVOKED);
    tl_tee_verdict_done(&v);

    free(q);
    /* judged after the collateral's window: stale, not trusted less */
    tdx_world_done(&w);

    tdx_world_init(&w, (struct tl_tee_emul_window){T0 - 60 * 86400, T0 - 30 * 86400});
    memcpy(named.trusted_roots[0].sha256, w.root_sha, 32); /* a new root */
    tdx_quote(&w, &td, &q, &n);
    tdx_judge(&w, q, n, &named, &v);
    all_reasons(&v, TL_TEE_COLLATERAL_EXPIRED);
    tl_tee_verdict_done(&v);
    free(q);
    tdx_world_done(&w);
}

/* ---- HCL ---- */

static void hcl_roundtrip(uint32_t type, const uint8_t *hw, size_t hw_len, EVP_PKEY *ak,
                          EVP_PKEY *ek, const char *runtime, size_t runtime_len)
{
    struct tl_error err = {0};
    struct tl_hcl_build b = {type, hw, hw_len, (const uint8_t *)runtime, runtime_len, 2600};
    uint8_t *out;
    size_t n;
    assert_int_equal(tl_hcl_report_build(&b, &out, &n, &err), 0);
    assert_int_equal(n, 2600);
    struct tl_hcl_report h;
    assert_int_equal(tl_hcl_report_parse(out, n, &h, &err), 0);
    assert_int_equal(h.header_version, type == TL_HCL_REPORT_SNP ? 1 : 2);
    assert_int_equal(h.report_size, TL_HCL_VAR_OFFSET + runtime_len);
    assert_int_equal(h.request_type, 2);
    assert_int_equal(h.report_type, type);
    assert_int_equal(h.hash_type, 1);
    assert_int_equal(h.igvm_data_size, 20 + runtime_len);
    assert_int_equal(h.hw_len, hw_len);
    assert_memory_equal(h.hw_report, hw, hw_len);
    assert_int_equal(h.var_len, runtime_len);
    assert_memory_equal(h.var_data, runtime, runtime_len);
    struct tl_az_runtime rt;
    assert_int_equal(tl_az_runtime_parse(h.var_data, h.var_len, &rt, &err), 0);
    assert_non_null(rt.ak);
    assert_int_equal(EVP_PKEY_eq(rt.ak, ak), 1);
    assert_true(rt.has_user_data);
    for (int i = 0; i < 64; i++)
        assert_int_equal(rt.user_data[i], 0xa0 ^ i);
    assert_true(json_is_true(json_object_get(rt.vm_config, "secure-boot")));
    assert_true(json_is_true(json_object_get(rt.vm_config, "tpm-enabled")));
    assert_true(json_is_false(json_object_get(rt.vm_config, "tpm-persisted")));
    assert_true(json_is_false(json_object_get(rt.vm_config, "console-enabled")));
    assert_string_equal(json_string_value(json_object_get(rt.vm_config, "vmUniqueId")),
                        "4f4c8d1e-0000-4000-8000-000000000001");
    json_t *keys = json_object_get(rt.root, "keys");
    assert_int_equal(json_array_size(keys), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(keys, 1), "kid")),
                        "HCLEkPub");
    (void)ek;
    tl_az_runtime_done(&rt);
    /* the binding: REPORT_DATA = SHA-256(runtime) || zeros */
    const uint8_t *rd = type == TL_HCL_REPORT_SNP ? h.hw_report + 0x50 : h.hw_report + 128;
    uint8_t want[64];
    assert_int_equal(tl_az_runtime_report_data(h.var_data, h.var_len, want, &err), 0);
    assert_memory_equal(rd, want, 64);
    free(out);

    b.report_type = 3;
    assert_int_equal(tl_hcl_report_build(&b, &out, &n, &err), -EINVAL);
    b.report_type = type;
    b.hw_len--;
    assert_int_equal(tl_hcl_report_build(&b, &out, &n, &err), -EINVAL);
}

static void test_hcl_roundtrip(void **state)
{
    (void)state;
    struct tl_error err = {0};
    EVP_PKEY *ak = keygen("RSA", NULL), *ek = keygen("RSA", NULL);
    struct tl_az_runtime_spec spec = {.ak = ak,
                                      .ek = ek,
                                      .secure_boot = true,
                                      .tpm_enabled = true,
                                      .tpm_persisted = false,
                                      .console_enabled = false,
                                      .vm_unique_id = "4f4c8d1e-0000-4000-8000-000000000001",
                                      .has_user_data = true};
    for (int i = 0; i < 64; i++)
        spec.user_data[i] = (uint8_t)(0xa0 ^ i);
    char *json;
    size_t len;
    assert_int_equal(tl_az_runtime_build(&spec, &json, &len, &err), 0);
    uint8_t rd[64], zero[48] = {0};
    assert_int_equal(tl_az_runtime_report_data((const uint8_t *)json, len, rd, &err), 0);

    struct snp_world w;
    snp_world_init(&w, TL_SNP_PRODUCT_MILAN);
    uint8_t rep[TL_SNP_REPORT_SIZE];
    snp_report(&w, 3, 0, rd, zero, rep);
    hcl_roundtrip(TL_HCL_REPORT_SNP, rep, sizeof(rep), ak, ek, json, len);
    snp_world_done(&w);

    struct tl_tdx_td_report td;
    struct tl_sgx_report qe;
    struct tl_tdx_pck_info pf;
    tl_tdx_emul_defaults(&td, &qe, &pf);
    memcpy(td.report_data, rd, 64);
    uint8_t tdr[TL_TDX_TDREPORT_LEN];
    tl_tdx_emul_tdreport(&td, tdr);
    hcl_roundtrip(TL_HCL_REPORT_TDX, tdr, sizeof(tdr), ak, ek, json, len);

    struct tl_az_runtime_spec no_rsa = spec;
    EVP_PKEY *ec = keygen("EC", "P-256");
    no_rsa.ak = ec;
    char *j2;
    assert_int_equal(tl_az_runtime_build(&no_rsa, &j2, &len, &err), -EINVAL);
    EVP_PKEY_free(ec);
    free(json);
    EVP_PKEY_free(ak);
    EVP_PKEY_free(ek);
}

/* ---- Azure evidence end to end: HCL report + vTPM quote ---- */

static size_t put_be(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    return (size_t)n;
}

/* A TPMS_ATTEST quote (TPM 2.0 Part 2, 10.12.12) over PCRs 0-7 of SHA-256
 * (all zero) with extraData nonce, signed RSASSA-PKCS1-v1_5 SHA-256 by ak,
 * as the vTPM's AK at 0x81000003 signs it. */
static void vtpm_quote(EVP_PKEY *ak, const uint8_t *nonce, size_t nonce_len,
                       struct tl_az_evidence *ev)
{
    uint8_t m[256], zero[8 * 32] = {0}, digest[32];
    size_t o = 0;
    o += put_be(m + o, 0xff544347, 4); /* TPM_GENERATED_VALUE */
    o += put_be(m + o, 0x8018, 2);     /* TPM_ST_ATTEST_QUOTE */
    o += put_be(m + o, 0, 2);          /* qualifiedSigner: empty */
    o += put_be(m + o, nonce_len, 2);
    memcpy(m + o, nonce, nonce_len);
    o += nonce_len;
    o += put_be(m + o, 1000, 8); /* clock */
    o += put_be(m + o, 1, 4);    /* resetCount */
    o += put_be(m + o, 0, 4);    /* restartCount */
    m[o++] = 1;                  /* safe */
    o += put_be(m + o, 0x2000100, 8);
    o += put_be(m + o, 1, 4);      /* TPML_PCR_SELECTION count */
    o += put_be(m + o, 0x000b, 2); /* SHA-256 */
    m[o++] = 3;
    m[o++] = 0xff;
    m[o++] = 0;
    m[o++] = 0;
    sha256(zero, sizeof(zero), digest);
    o += put_be(m + o, 32, 2);
    memcpy(m + o, digest, 32);
    o += 32;
    ev->tpm_message = malloc(o);
    memcpy(ev->tpm_message, m, o);
    ev->tpm_message_len = o;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    size_t sl = (size_t)EVP_PKEY_get_size(ak);
    ev->tpm_signature = malloc(sl);
    assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, ak), 1);
    assert_int_equal(EVP_DigestSign(md, ev->tpm_signature, &sl, m, o), 1);
    ev->tpm_signature_len = sl;
    EVP_MD_CTX_free(md);
    ev->n_pcrs = 24;
}

static void test_azure_snp(void **state)
{
    (void)state;
    struct tl_error err = {0};
    EVP_PKEY *ak = keygen("RSA", NULL), *ek = keygen("RSA", NULL);
    struct tl_az_runtime_spec spec = {
        .ak = ak, .ek = ek, .secure_boot = true, .tpm_enabled = true, .vm_unique_id = "n1"};
    char *json;
    size_t len;
    assert_int_equal(tl_az_runtime_build(&spec, &json, &len, &err), 0);
    uint8_t rd[64], zero[48] = {0}, rep[TL_SNP_REPORT_SIZE];
    assert_int_equal(tl_az_runtime_report_data((const uint8_t *)json, len, rd, &err), 0);
    struct snp_world w;
    snp_world_init(&w, TL_SNP_PRODUCT_MILAN);
    snp_report(&w, 3, 0, rd, zero, rep);
    struct tl_hcl_build b = {TL_HCL_REPORT_SNP, rep, sizeof(rep), (const uint8_t *)json, len, 2600};
    struct tl_az_evidence ev = {.version = 1, .kind = TL_TEE_KIND_AZ_SNP_VTPM};
    assert_int_equal(tl_hcl_report_build(&b, &ev.hcl_report, &ev.hcl_len, &err), 0);
    ev.vcek = malloc(w.vcek_len);
    memcpy(ev.vcek, w.vcek_der, w.vcek_len);
    ev.vcek_len = w.vcek_len;
    const uint8_t nonce[] = "fresh-nonce";
    vtpm_quote(ak, nonce, sizeof(nonce) - 1, &ev);

    struct tl_tee_blob blobs[2] = {{"ark", w.ark_der, w.ark_len}, {"ask", w.ask_der, w.ask_len}};
    struct tl_tee_collateral col = {2, blobs};
    struct tl_az_verifier az = {.snp = w.ctx};
    struct tl_tee_policy def, named;
    tl_tee_policy_init(&def);
    def.nonce = (struct tl_tee_pin){.set = true, .len = sizeof(nonce) - 1};
    memcpy(def.nonce.v, nonce, sizeof(nonce) - 1);
    named = def;
    named.n_trusted_roots = 1;
    named.trusted_roots[0].kind = TL_TEE_ROOT_SNP_ARK;
    memcpy(named.trusted_roots[0].sha256, w.ark_sha, 32);
    struct tl_tee_verdict v;

    assert_int_equal(tl_tee_verdict_init(&v, TL_TEE_KIND_AZ_SNP_VTPM, AT), 0);
    assert_int_equal(tl_az_verify(&az, &ev, &col, &def, &v), 0);
    only_reason(&v, TL_TEE_ROOT_UNTRUSTED);
    tl_tee_verdict_done(&v);

    assert_int_equal(tl_tee_verdict_init(&v, TL_TEE_KIND_AZ_SNP_VTPM, AT), 0);
    assert_int_equal(tl_az_verify(&az, &ev, &col, &named, &v), 0);
    passes(&v);
    assert_true(v.emulated);
    json_t *tee = json_object_get(v.claims, "x-ms-isolation-tee");
    assert_string_equal(json_string_value(json_object_get(tee, "x-ms-attestation-type")),
                        "sevsnpvm");
    assert_string_equal(json_string_value(json_object_get(v.claims, "x-ms-azurevm-vmid")), "n1");
    tl_tee_verdict_done(&v);

    /* the runtime JSON changed by one byte after the report: binding */
    uint8_t *p = memmem(ev.hcl_report, ev.hcl_len, "\"n1\"", 4);
    assert_non_null(p);
    p[1] = 'm';
    assert_int_equal(tl_tee_verdict_init(&v, TL_TEE_KIND_AZ_SNP_VTPM, AT), 0);
    assert_int_equal(tl_az_verify(&az, &ev, &col, &named, &v), 0);
    only_reason(&v, TL_TEE_BINDING);
    tl_tee_verdict_done(&v);
    p[1] = 'n';

    /* a quote signed by another key */
    EVP_PKEY *other = keygen("RSA", NULL);
    free(ev.tpm_message);
    free(ev.tpm_signature);
    vtpm_quote(other, nonce, sizeof(nonce) - 1, &ev);
    assert_int_equal(tl_tee_verdict_init(&v, TL_TEE_KIND_AZ_SNP_VTPM, AT), 0);
    assert_int_equal(tl_az_verify(&az, &ev, &col, &named, &v), 0);
    only_reason(&v, TL_TEE_TPM_SIGNATURE);
    tl_tee_verdict_done(&v);

    EVP_PKEY_free(other);
    tl_az_evidence_done(&ev);
    snp_world_done(&w);
    free(json);
    EVP_PKEY_free(ak);
    EVP_PKEY_free(ek);
}

/* ---- policy ---- */

static void test_policy_roots(void **state)
{
    (void)state;
    struct tl_tee_policy p;
    struct tl_error err = {0};
    const char *ok = "{\"trusted-roots\":[{\"kind\":\"snp-ark\",\"sha256\":"
                     "\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"},"
                     "{\"kind\":\"tdx-root\",\"sha256\":"
                     "\"ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100\"}]}";
    tl_tee_policy_init(&p);
    assert_int_equal(p.n_trusted_roots, 0);
    assert_int_equal(tl_tee_policy_parse(ok, strlen(ok), &p, &err), 0);
    assert_int_equal(p.n_trusted_roots, 2);
    assert_int_equal(p.trusted_roots[0].kind, TL_TEE_ROOT_SNP_ARK);
    assert_int_equal(p.trusted_roots[1].sha256[0], 0xff);
    assert_true(tl_tee_policy_trusts_root(&p, TL_TEE_ROOT_TDX_ROOT, p.trusted_roots[1].sha256));
    assert_false(tl_tee_policy_trusts_root(&p, TL_TEE_ROOT_SNP_ARK, p.trusted_roots[1].sha256));
    static const char *const bad[] = {
        "{\"trusted-roots\":{}}",
        "{\"trusted-roots\":[{\"kind\":\"sgx\",\"sha256\":"
        "\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"}]}",
        "{\"trusted-roots\":[{\"kind\":\"snp-ark\",\"sha256\":\"0011\"}]}",
        "{\"trusted-roots\":[{\"kind\":\"snp-ark\"}]}",
        "{\"trusted-roots\":[{\"kind\":\"snp-ark\",\"sha256\":"
        "\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\",\"x\":1}]}",
    };
    for (size_t i = 0; i < TL_ARRAY_SIZE(bad); i++) {
        tl_tee_policy_init(&p);
        assert_int_equal(tl_tee_policy_parse(bad[i], strlen(bad[i]), &p, &err), -EINVAL);
        assert_non_null(strstr(err.message, "trusted-roots"));
    }
    assert_string_equal(tl_tee_code_name(TL_TEE_ROOT_UNTRUSTED), "root-untrusted");
    assert_int_equal(tl_tee_code_from_name("root-untrusted"), TL_TEE_ROOT_UNTRUSTED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_measurements), cmocka_unit_test(test_policy_roots),
        cmocka_unit_test(test_snp_v3_milan), cmocka_unit_test(test_snp_v5_genoa),
        cmocka_unit_test(test_tdx_v4),       cmocka_unit_test(test_hcl_roundtrip),
        cmocka_unit_test(test_azure_snp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
