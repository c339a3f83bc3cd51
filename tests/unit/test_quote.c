/* Unit tests for lib/tpm/akey.c and lib/tpm/quote.c: attestation keys,
 * TPM2_Quote parsing, PCR digests and the whole offline check.
 *
 * What is asserted, and from where:
 *  - the real GCP Shielded VM attestation (go-attestation's
 *    windows_gcp_shielded_vm.json): the AK's Name (SHA-256 of the
 *    TPMT_PUBLIC, equal to the objectName in the JSON's own
 *    CreateAttestation), every field of the quote, its SHA-1 pcrDigest
 *    recomputed from the JSON's 24 PCR values, and a pass with
 *    TL_ATTEST_ALLOW_SHA1; a fail without it (the AK signs RSASSA-SHA1, the
 *    quote is of the SHA-1 bank), each reason named;
 *  - every byte of that quote and signature changed: never a pass;
 *    every truncation and a trailing byte: refused as malformed;
 *  - attacks with quotes made here (AKs are OpenSSL keys in TPM public
 *    areas, quotes marshalled with libtss2-mu and signed with OpenSSL): a
 *    different nonce, another AK's signature, PCR values that do not
 *    match the digest, a SHA-1 quote when SHA-256 is required, a swapped
 *    attestation type and a changed magic (re-signed: the signature
 *    verifies, the type/magic check alone refuses), scheme mismatches;
 *  - RSASSA, RSAPSS and ECDSA signatures verify; each AK attribute
 *    failure gives its own reason;
 *  - the PCR digest follows the selection order across banks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <errno.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tss2/tss2_mu.h>

#include "gcp.h"
#include "tl/akey.h"
#include "tl/attest.h"
#include "tl/quote.h"
#include "tl/util.h"
#include "tl/vtpm.h"
#include "vectors.h"

#define AK_ATTRS                                                                                   \
    (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |            \
     TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT)

struct fixture {
    struct gcp_attestation gcp; /* its fields under the names below */
    struct buf ak, quote, sig, create_attest, log;
    struct tl_pcr_values pcrs; /* the JSON's SHA-1 PCR values */
    EVP_PKEY *rsa, *rsa2, *ecc;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    gcp_load(&f->gcp);
    f->ak = f->gcp.ak;
    f->create_attest = f->gcp.create_attest;
    f->quote = f->gcp.quote;
    f->sig = f->gcp.sig;
    f->log = f->gcp.log;
    f->pcrs = f->gcp.pcrs;
    f->rsa = EVP_RSA_gen(2048);
    f->rsa2 = EVP_RSA_gen(2048);
    f->ecc = EVP_EC_gen("P-256");
    assert_non_null(f->rsa);
    assert_non_null(f->rsa2);
    assert_non_null(f->ecc);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    gcp_free(&f->gcp);
    EVP_PKEY_free(f->rsa);
    EVP_PKEY_free(f->rsa2);
    EVP_PKEY_free(f->ecc);
    free(f);
    return 0;
}

static void hex_eq(const uint8_t *p, size_t n, const char *hex)
{
    char s[2 * 256 + 1];
    assert_true(n <= 256);
    tl_hex_encode(p, n, s);
    assert_string_equal(s, hex);
}

static bool has_reason(const struct tl_quote_verdict *v, enum tl_quote_part part, const char *sub)
{
    for (unsigned i = 0; i < v->n_reasons; i++)
        if (v->reasons[i].part == part && strstr(v->reasons[i].message, sub))
            return true;
    return false;
}

static void print_reasons(const struct tl_quote_verdict *v)
{
    for (unsigned i = 0; i < v->n_reasons; i++)
        print_message("  %s: %s\n", tl_quote_part_name(v->reasons[i].part), v->reasons[i].message);
}

/* ---- building AKs, quotes and signatures ---- */

static void ak_public(EVP_PKEY *k, uint16_t scheme, uint16_t hash, TPM2B_PUBLIC *out)
{
    *out = (TPM2B_PUBLIC){0};
    TPMT_PUBLIC *p = &out->publicArea;
    p->nameAlg = TPM2_ALG_SHA256;
    p->objectAttributes = AK_ATTRS;
    BIGNUM *bn = NULL;
    if (EVP_PKEY_is_a(k, "RSA")) {
        p->type = TPM2_ALG_RSA;
        p->parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
        p->parameters.rsaDetail.scheme.scheme = scheme;
        p->parameters.rsaDetail.scheme.details.anySig.hashAlg = hash;
        p->parameters.rsaDetail.keyBits = 2048;
        assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &bn), 1);
        p->unique.rsa.size = 256;
        assert_int_equal(BN_bn2binpad(bn, p->unique.rsa.buffer, 256), 256);
    } else {
        p->type = TPM2_ALG_ECC;
        p->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
        p->parameters.eccDetail.scheme.scheme = scheme;
        p->parameters.eccDetail.scheme.details.anySig.hashAlg = hash;
        p->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
        p->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
        assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, &bn), 1);
        p->unique.ecc.x.size = 32;
        assert_int_equal(BN_bn2binpad(bn, p->unique.ecc.x.buffer, 32), 32);
        BN_free(bn);
        bn = NULL;
        assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, &bn), 1);
        p->unique.ecc.y.size = 32;
        assert_int_equal(BN_bn2binpad(bn, p->unique.ecc.y.buffer, 32), 32);
    }
    BN_free(bn);
}

static struct buf marshal_public(const TPM2B_PUBLIC *pub)
{
    struct buf b = {.p = malloc(sizeof(TPM2B_PUBLIC))};
    assert_non_null(b.p);
    assert_int_equal(Tss2_MU_TPM2B_PUBLIC_Marshal(pub, b.p, sizeof(TPM2B_PUBLIC), &b.len), 0);
    return b;
}

static const EVP_MD *md_of(uint16_t alg)
{
    return alg == TPM2_ALG_SHA1 ? EVP_sha1() : alg == TPM2_ALG_SHA384 ? EVP_sha384() : EVP_sha256();
}

/* A quote of the PCRs in sel (banks and masks) with values from pcrs,
 * pcrDigest with digest_alg, marshalled by libtss2-mu. */
static struct buf make_quote(uint16_t type, const uint8_t *nonce, size_t nonce_len,
                             const TPML_PCR_SELECTION *sel, const struct tl_pcr_values *pcrs,
                             uint16_t digest_alg)
{
    TPMS_ATTEST a = {.magic = TPM2_GENERATED_VALUE, .type = type};
    a.qualifiedSigner.size = 34;
    a.qualifiedSigner.name[1] = 0x0b;
    memset(a.qualifiedSigner.name + 2, 0x5a, 32);
    a.extraData.size = (uint16_t)nonce_len;
    memcpy(a.extraData.buffer, nonce, nonce_len);
    a.clockInfo = (TPMS_CLOCK_INFO){.clock = 123456, .resetCount = 3, .restartCount = 1, .safe = 1};
    a.firmwareVersion = 0x2019102300000000ull;
    a.attested.quote.pcrSelect = *sel;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestInit(c, md_of(digest_alg)), 1);
    for (uint32_t i = 0; i < sel->count; i++) {
        const struct tl_pcr_bank *b = tl_pcr_values_bank_const(pcrs, sel->pcrSelections[i].hash);
        for (unsigned p = 0; p < 24; p++)
            if (sel->pcrSelections[i].pcrSelect[p / 8] & (1u << (p % 8)))
                assert_int_equal(EVP_DigestUpdate(c, b->value[p], b->size), 1);
    }
    unsigned n = 0;
    assert_int_equal(EVP_DigestFinal(c, a.attested.quote.pcrDigest.buffer, &n), 1);
    a.attested.quote.pcrDigest.size = (uint16_t)n;
    EVP_MD_CTX_free(c);
    struct buf b = {.p = malloc(sizeof(TPMS_ATTEST))};
    assert_non_null(b.p);
    assert_int_equal(Tss2_MU_TPMS_ATTEST_Marshal(&a, b.p, sizeof(TPMS_ATTEST), &b.len), 0);
    return b;
}

static struct buf sign(EVP_PKEY *k, uint16_t scheme, uint16_t hash, const struct buf *data)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    assert_int_equal(EVP_DigestSignInit(c, &pc, md_of(hash), NULL, k), 1);
    if (scheme == TPM2_ALG_RSAPSS) {
        assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING), 1);
        assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_DIGEST), 1);
    }
    uint8_t s[512];
    size_t n = sizeof(s);
    assert_int_equal(EVP_DigestSign(c, s, &n, data->p, data->len), 1);
    EVP_MD_CTX_free(c);
    TPMT_SIGNATURE sig = {.sigAlg = scheme};
    if (scheme == TPM2_ALG_ECDSA) {
        const unsigned char *q = s;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &q, (long)n);
        assert_non_null(es);
        sig.signature.ecdsa.hash = hash;
        sig.signature.ecdsa.signatureR.size = 32;
        sig.signature.ecdsa.signatureS.size = 32;
        BN_bn2binpad(ECDSA_SIG_get0_r(es), sig.signature.ecdsa.signatureR.buffer, 32);
        BN_bn2binpad(ECDSA_SIG_get0_s(es), sig.signature.ecdsa.signatureS.buffer, 32);
        ECDSA_SIG_free(es);
    } else {
        sig.signature.rsassa.hash = hash;
        sig.signature.rsassa.sig.size = (uint16_t)n;
        memcpy(sig.signature.rsassa.sig.buffer, s, n);
    }
    struct buf b = {.p = malloc(sizeof(TPMT_SIGNATURE))};
    assert_non_null(b.p);
    assert_int_equal(Tss2_MU_TPMT_SIGNATURE_Marshal(&sig, b.p, sizeof(TPMT_SIGNATURE), &b.len), 0);
    return b;
}

static TPML_PCR_SELECTION selection1(uint16_t alg, uint32_t mask)
{
    TPML_PCR_SELECTION s = {.count = 1};
    s.pcrSelections[0].hash = alg;
    s.pcrSelections[0].sizeofSelect = 3;
    for (int i = 0; i < 3; i++)
        s.pcrSelections[0].pcrSelect[i] = (uint8_t)(mask >> (8 * i));
    return s;
}

/* Some PCR values: sha1 and sha256, every PCR, value[i] = i repeated. */
static void demo_pcrs(struct tl_pcr_values *v)
{
    *v = (struct tl_pcr_values){.n_banks = 2};
    v->banks[0] = (struct tl_pcr_bank){.alg = TL_ALG_SHA1, .size = 20, .mask = 0xffffff};
    v->banks[1] = (struct tl_pcr_bank){.alg = TL_ALG_SHA256, .size = 32, .mask = 0xffffff};
    for (int i = 0; i < 24; i++) {
        memset(v->banks[0].value[i], i, 20);
        memset(v->banks[1].value[i], 0x80 | i, 32);
    }
}

static struct tl_quote_verdict verify(const struct buf *ak, const struct buf *quote,
                                      const struct buf *sig, const uint8_t *nonce, size_t nonce_len,
                                      const struct tl_pcr_values *pcrs, unsigned flags)
{
    struct tl_quote_evidence ev = {ak->p, ak->len, quote->p, quote->len, sig->p, sig->len, NULL};
    struct tl_quote_expect ex = {.check_nonce = nonce != NULL,
                                 .nonce = nonce,
                                 .nonce_len = nonce_len,
                                 .pcrs = pcrs,
                                 .flags = flags};
    struct tl_quote_verdict v;
    assert_int_equal(tl_quote_verify(&ev, &ex, &v), 0);
    return v;
}

/* ---- the GCP vector ---- */

/* The AK's key built once and given with the evidence (ev.ak_key, as tld
 * holds an enrolled AK's): the same verdicts as building it per quote, and
 * the public area is still checked (SHA-1 refused without the flag). */
static void test_gcp_verify_keyed(void **state)
{
    struct fixture *f = *state;
    struct tl_akey ak;
    struct tl_error err = {0};
    assert_int_equal(tl_akey_load(f->ak.p, f->ak.len, TL_ATTEST_ALLOW_SHA1, &ak, &err), 0);
    struct tl_quote_evidence ev = {.ak_public = f->ak.p,
                                   .ak_public_len = f->ak.len,
                                   .attest = f->quote.p,
                                   .attest_len = f->quote.len,
                                   .signature = f->sig.p,
                                   .signature_len = f->sig.len,
                                   .ak_key = ak.key};
    struct tl_quote_expect ex = {.check_nonce = true,
                                 .nonce = (const uint8_t *)"",
                                 .pcrs = &f->pcrs,
                                 .flags = TL_ATTEST_ALLOW_SHA1};
    struct tl_quote_verdict v;
    for (int i = 0; i < 2; i++) { /* the key is referenced, not consumed */
        assert_int_equal(tl_quote_verify(&ev, &ex, &v), 0);
        assert_true(v.pass && v.signature_ok && v.pcrs_ok);
        hex_eq(v.ak_name, v.ak_name_len,
               "000b4ce9b151f75089d74c15dabe9d520cffafbcafd5d43be0aad2e2d88d54717e2e");
    }
    ex.flags = 0;
    assert_int_equal(tl_quote_verify(&ev, &ex, &v), 0);
    assert_false(v.pass);
    assert_true(has_reason(&v, TL_QUOTE_PART_AK, "AK: scheme hash sha1 refused"));
    ex.flags = TL_ATTEST_ALLOW_SHA1;
    uint8_t *q = malloc(f->quote.len);
    memcpy(q, f->quote.p, f->quote.len);
    q[f->quote.len - 1] ^= 1; /* a flipped quote byte: the held key refuses the signature */
    ev.attest = q;
    assert_int_equal(tl_quote_verify(&ev, &ex, &v), 0);
    assert_false(v.pass || v.signature_ok);
    free(q);
    assert_int_equal(EVP_PKEY_get_bits(ak.key), 2048);
    tl_akey_done(&ak);
}

static void test_gcp_ak(void **state)
{
    struct fixture *f = *state;
    struct tl_akey ak;
    struct tl_error err = {0};
    assert_int_equal(tl_akey_load(f->ak.p, f->ak.len, TL_ATTEST_ALLOW_SHA1, &ak, &err), 0);
    const TPMT_PUBLIC *p = &ak.public.publicArea;
    assert_int_equal(p->type, TPM2_ALG_RSA);
    assert_int_equal(p->nameAlg, TPM2_ALG_SHA256);
    assert_int_equal(p->objectAttributes, 0x00050472); /* + userWithAuth, noDA */
    assert_int_equal(p->authPolicy.size, 32);
    assert_int_equal(p->parameters.rsaDetail.scheme.scheme, TPM2_ALG_RSASSA);
    assert_int_equal(p->parameters.rsaDetail.scheme.details.rsassa.hashAlg, TPM2_ALG_SHA1);
    assert_int_equal(EVP_PKEY_get_bits(ak.key), 2048);
    hex_eq(ak.name, ak.name_len,
           "000b4ce9b151f75089d74c15dabe9d520cffafbcafd5d43be0aad2e2d88d54717e2e");
    /* go-attestation's CreateAttestation (TPMS_ATTEST of TPM2_Certify-
     * Creation) names the same object: its objectName sits after the
     * creationHash... check it is in there. */
    bool found = false;
    for (size_t i = 0; i + ak.name_len <= f->create_attest.len; i++)
        found = found || memcmp(f->create_attest.p + i, ak.name, ak.name_len) == 0;
    assert_true(found);
    tl_akey_done(&ak);

    /* As a TPM2B_PUBLIC: the same Name. */
    struct buf b2 = {.p = malloc(f->ak.len + 2), .len = f->ak.len + 2};
    b2.p[0] = (uint8_t)(f->ak.len >> 8);
    b2.p[1] = (uint8_t)f->ak.len;
    memcpy(b2.p + 2, f->ak.p, f->ak.len);
    TPM2B_PUBLIC pub;
    uint8_t name[TL_TPM_NAME_MAX];
    size_t name_len;
    assert_int_equal(tl_tpm_public_parse(b2.p, b2.len, &pub, &err), 0);
    assert_int_equal(tl_tpm_public_name(&pub, name, &name_len, &err), 0);
    hex_eq(name, name_len, "000b4ce9b151f75089d74c15dabe9d520cffafbcafd5d43be0aad2e2d88d54717e2e");
    /* ... whose size must be exact. */
    b2.p[1]++;
    assert_int_equal(tl_tpm_public_parse(b2.p, b2.len, &pub, &err), -EBADMSG);
    assert_non_null(strstr(err.message, "TPM2B size"));
    free(b2.p);

    /* SHA-1 refused by default: the AK's scheme is RSASSA-SHA1. */
    assert_int_equal(tl_akey_load(f->ak.p, f->ak.len, 0, &ak, &err), -EPERM);
    assert_string_equal(err.message, "AK: scheme hash sha1 refused (SHA-1 is not allowed)");
    assert_null(ak.key);

    /* Every truncation, and a trailing byte, are malformed. */
    for (size_t n = 0; n < f->ak.len; n++) {
        uint8_t *t = dup_exact(f->ak.p, n);
        int r = tl_akey_load(t, n, TL_ATTEST_ALLOW_SHA1, &ak, &err);
        assert_int_equal(r, -EBADMSG);
        free(t);
    }
    uint8_t *t = malloc(f->ak.len + 1);
    memcpy(t, f->ak.p, f->ak.len);
    t[f->ak.len] = 0;
    assert_int_equal(tl_akey_load(t, f->ak.len + 1, TL_ATTEST_ALLOW_SHA1, &ak, &err), -EBADMSG);
    assert_non_null(strstr(err.message, "1 trailing bytes"));
    free(t);
}

static void test_gcp_quote_parse(void **state)
{
    struct fixture *f = *state;
    struct tl_quote q;
    struct tl_error err = {0};
    assert_int_equal(tl_quote_parse(f->quote.p, f->quote.len, &q, &err), 0);
    assert_int_equal(q.magic, 0xff544347);
    assert_int_equal(q.type, 0x8018);
    hex_eq(q.qualified_signer.name, q.qualified_signer.size,
           "000bad427e7fc8821f74c7c6964641f9fa053772122d4b94a6cc3a3fcfccdd55b5ad");
    assert_int_equal(q.extra_data.size, 0);
    assert_int_equal(q.clock, 10257171);
    assert_int_equal(q.reset_count, 1045281252);
    assert_int_equal(q.restart_count, 822490842);
    assert_true(q.safe);
    assert_true(q.firmware_version == 0x41e4356df966e035ull);
    assert_int_equal(q.pcr_select.count, 1);
    assert_int_equal(q.pcr_select.pcrSelections[0].hash, TPM2_ALG_SHA1);
    assert_int_equal(tl_quote_pcr_mask(&q, TPM2_ALG_SHA1), 0xffffff);
    assert_int_equal(tl_quote_pcr_mask(&q, TPM2_ALG_SHA256), 0);
    hex_eq(q.pcr_digest.buffer, q.pcr_digest.size, "a610f27bc687ce906243287d832706036e79f6e1");

    /* The digest of the JSON's PCR values, SHA-1 (the signature's hash). */
    uint8_t d[TL_DIGEST_MAX];
    size_t dlen;
    assert_int_equal(tl_quote_pcr_digest(&q.pcr_select, &f->pcrs, TPM2_ALG_SHA1, d, &dlen, &err),
                     0);
    hex_eq(d, dlen, "a610f27bc687ce906243287d832706036e79f6e1");

    struct tl_pcr_values sel;
    assert_int_equal(tl_quote_selected_values(&q, &f->pcrs, &sel, &err), 0);
    assert_int_equal(sel.n_banks, 1);
    assert_int_equal(sel.banks[0].mask, 0xffffff);
    assert_memory_equal(sel.banks[0].value[7], f->pcrs.banks[0].value[7], 20);

    /* Every truncation and a trailing byte: malformed, never a pass. */
    for (size_t n = 0; n < f->quote.len; n++) {
        uint8_t *t = dup_exact(f->quote.p, n);
        assert_int_equal(tl_quote_parse(t, n, &q, &err), -EBADMSG);
        free(t);
    }
    uint8_t *t = malloc(f->quote.len + 1);
    memcpy(t, f->quote.p, f->quote.len);
    t[f->quote.len] = 0;
    assert_int_equal(tl_quote_parse(t, f->quote.len + 1, &q, &err), -EBADMSG);
    assert_string_equal(err.message, "quote: 1 trailing bytes after the TPMS_ATTEST");
    assert_int_equal(err.offset, f->quote.len);
    free(t);

    /* Field messages. */
    t = dup_exact(f->quote.p, f->quote.len);
    t[0] = 0xfe;
    assert_int_equal(tl_quote_parse(t, f->quote.len, &q, &err), -EBADMSG);
    assert_string_equal(err.message, "quote: magic 0xfe544347 is not TPM_GENERATED_VALUE "
                                     "(0xff544347): the TPM did not produce these bytes");
    t[0] = 0xff;
    t[5] = 0x17;
    assert_int_equal(tl_quote_parse(t, f->quote.len, &q, &err), -EBADMSG);
    assert_string_equal(err.message, "quote: type 0x8017 (TPM_ST_ATTEST_CERTIFY) is not "
                                     "TPM_ST_ATTEST_QUOTE (0x8018)");
    t[5] = 0x18;
    t[6 + 2 + 34 + 2 + 16] = 2; /* clockInfo.safe */
    assert_int_equal(tl_quote_parse(t, f->quote.len, &q, &err), -EBADMSG);
    assert_string_equal(err.message, "quote: clockInfo.safe is 2, not YES or NO");
    free(t);
    t = dup_exact(f->quote.p, 50);
    assert_int_equal(tl_quote_parse(t, 50, &q, &err), -EBADMSG);
    assert_string_equal(err.message, "quote: clockInfo runs past the end (50 bytes)");
    assert_int_equal(err.offset, 44);
    free(t);
}

static void test_gcp_verify(void **state)
{
    struct fixture *f = *state;
    struct tl_quote_verdict v =
        verify(&f->ak, &f->quote, &f->sig, (const uint8_t *)"", 0, &f->pcrs, TL_ATTEST_ALLOW_SHA1);
    print_reasons(&v);
    assert_true(v.pass);
    assert_int_equal(v.n_reasons, 0);
    assert_true(v.ak_ok && v.quote_ok && v.signature_ok);
    assert_true(v.nonce_checked && v.nonce_ok);
    assert_true(v.pcrs_checked && v.pcrs_ok);
    assert_int_equal(v.sig_scheme, TPM2_ALG_RSASSA);
    assert_int_equal(v.sig_hash, TPM2_ALG_SHA1);
    hex_eq(v.pcr_digest, v.pcr_digest_len, "a610f27bc687ce906243287d832706036e79f6e1");

    /* No nonce, no PCRs: still a pass, with both unchecked. */
    v = verify(&f->ak, &f->quote, &f->sig, NULL, 0, NULL, TL_ATTEST_ALLOW_SHA1);
    assert_true(v.pass);
    assert_false(v.nonce_checked);
    assert_false(v.pcrs_checked);

    /* SHA-1 is refused by default: the AK, the bank, and so no signature. */
    v = verify(&f->ak, &f->quote, &f->sig, (const uint8_t *)"", 0, &f->pcrs, 0);
    assert_false(v.pass);
    assert_true(has_reason(&v, TL_QUOTE_PART_AK, "AK: scheme hash sha1 refused"));
    assert_true(has_reason(&v, TL_QUOTE_PART_QUOTE, "quotes the sha1 PCR bank"));
    assert_true(has_reason(&v, TL_QUOTE_PART_SIGNATURE, "not verified: the AK was refused"));
    assert_false(v.signature_ok);

    /* A nonce the quote does not carry. */
    v = verify(&f->ak, &f->quote, &f->sig, (const uint8_t *)"\x01\x02", 2, &f->pcrs,
               TL_ATTEST_ALLOW_SHA1);
    assert_false(v.pass);
    assert_int_equal(v.n_reasons, 1);
    assert_string_equal(v.reasons[0].message, "quote: nonce does not match: extraData is 0 "
                                              "bytes \"\", expected 2 bytes \"0102\"");

    /* PCR 7 (Secure Boot policy) not the quoted value. */
    struct tl_pcr_values pcrs = f->pcrs;
    pcrs.banks[0].value[7][0] ^= 1;
    v = verify(&f->ak, &f->quote, &f->sig, NULL, 0, &pcrs, TL_ATTEST_ALLOW_SHA1);
    assert_false(v.pass);
    assert_int_equal(v.n_reasons, 1);
    assert_int_equal(v.reasons[0].part, TL_QUOTE_PART_PCRS);
    assert_non_null(strstr(v.reasons[0].message, "do not match the quote's pcrDigest"));
    assert_non_null(strstr(v.reasons[0].message, "a610f27bc687ce906243287d832706036e79f6e1"));
    /* A quoted PCR without a value. */
    pcrs = f->pcrs;
    pcrs.banks[0].mask &= ~(1u << 23);
    v = verify(&f->ak, &f->quote, &f->sig, NULL, 0, &pcrs, TL_ATTEST_ALLOW_SHA1);
    assert_false(v.pass);
    assert_true(has_reason(&v, TL_QUOTE_PART_PCRS, "pcrs: sha1 PCR 23 is quoted but has no value"));
    /* PCR values of another bank only. */
    demo_pcrs(&pcrs);
    pcrs.banks[0] = pcrs.banks[1];
    pcrs.n_banks = 1;
    v = verify(&f->ak, &f->quote, &f->sig, NULL, 0, &pcrs, TL_ATTEST_ALLOW_SHA1);
    assert_true(has_reason(&v, TL_QUOTE_PART_PCRS, "sha1 PCR 0 is quoted but has no value"));
}

/* Every byte of the quote and of the signature changed (three ways):
 * never a pass, and the reason is the signature or the structure. */
static void test_gcp_every_byte(void **state)
{
    struct fixture *f = *state;
    static const uint8_t xors[] = {0x01, 0x80, 0xff};
    struct {
        struct buf *b;
        const char *what;
    } parts[] = {{&f->quote, "quote"}, {&f->sig, "signature"}};
    for (size_t k = 0; k < TL_ARRAY_SIZE(parts); k++) {
        struct buf *b = parts[k].b;
        for (size_t i = 0; i < b->len; i++) {
            for (size_t x = 0; x < sizeof(xors); x++) {
                struct buf c = {dup_exact(b->p, b->len), b->len};
                c.p[i] ^= xors[x];
                const struct buf *q = k == 0 ? &c : &f->quote, *s = k == 1 ? &c : &f->sig;
                struct tl_quote_verdict v =
                    verify(&f->ak, q, s, (const uint8_t *)"", 0, &f->pcrs, TL_ATTEST_ALLOW_SHA1);
                if (v.pass || v.n_reasons == 0)
                    fail_msg("%s byte %zu ^ 0x%02x: passed", parts[k].what, i, xors[x]);
                assert_false(v.signature_ok);
                free(c.p);
            }
        }
    }
}

/* ---- the GCP quote with its event log ---- */

static struct tl_attest_verdict attest(const struct fixture *f, const struct buf *quote,
                                       const struct buf *log, const struct tl_pcr_values *pcrs)
{
    struct tl_quote_evidence ev = {f->ak.p,  f->ak.len,  quote->p, quote->len,
                                   f->sig.p, f->sig.len, NULL};
    struct tl_quote_expect ex = {.check_nonce = true,
                                 .nonce = (const uint8_t *)"",
                                 .pcrs = pcrs,
                                 .flags = TL_ATTEST_ALLOW_SHA1};
    struct tl_attest_verdict v;
    assert_int_equal(tl_attest_verify(&ev, log ? log->p : NULL, log ? log->len : 0, &ex, &v), 0);
    return v;
}

static void test_gcp_attest(void **state)
{
    struct fixture *f = *state;
    struct tl_attest_verdict v = attest(f, &f->quote, &f->log, &f->pcrs);
    print_reasons(&v.quote);
    assert_true(v.pass);
    assert_true(v.log_given && v.log_parsed && v.log_ok);
    assert_false(v.pcrs_from_log);
    assert_int_equal(v.n_events, 21);
    /* PCR 0-7 always, 11-14 extended by the log; the rest out of scope. */
    assert_int_equal(v.compared, 0x78ff);
    assert_int_equal(v.not_covered, 0xff8700);
    assert_int_equal(v.not_quoted, 0);
    /* One record's data is bound by no digest: bootmgfw.efi's
     * EV_EFI_BOOT_SERVICES_APPLICATION (its digest is the image's). */
    assert_int_equal(v.n_unbound, 1);
    assert_int_equal(v.unbound[0].event, 9);
    assert_int_equal(v.unbound[0].type, TL_EV_EFI_BOOT_SERVICES_APPLICATION);
    tl_attest_verdict_done(&v);

    /* No PCR values: the log's replay must give the quote's digest. */
    v = attest(f, &f->quote, &f->log, NULL);
    assert_true(v.pass);
    assert_true(v.pcrs_from_log && v.quote.pcrs_ok);
    tl_attest_verdict_done(&v);

    /* Another quote (a byte of the digest changed): neither the log nor
     * the PCR values explain it, and the signature fails. */
    struct buf q = {dup_exact(f->quote.p, f->quote.len), f->quote.len};
    q.p[q.len - 1] ^= 1;
    v = attest(f, &q, &f->log, NULL);
    assert_false(v.pass);
    assert_true(has_reason(&v.quote, TL_QUOTE_PART_PCRS, "do not match the quote's pcrDigest"));
    assert_int_equal(v.n_reasons, 1);
    assert_non_null(strstr(v.reasons[0].message, "its replay does not give the quote's pcrDigest"));
    tl_attest_verdict_done(&v);
    free(q.p);

    /* A PCR the log does not explain: PCR 14's value changed in the PCR
     * values only is caught by the digest; the same with a log event's
     * digest changed is caught by the replay (below, every byte). */
    struct tl_pcr_values pcrs = f->pcrs;
    pcrs.banks[0].value[14][0] ^= 1;
    v = attest(f, &f->quote, &f->log, &pcrs);
    assert_false(v.pass);
    assert_true(has_reason(&v.quote, TL_QUOTE_PART_PCRS, "do not match"));
    tl_attest_verdict_done(&v);

    /* A byte of a Windows EV_EVENT_TAG's data (event 15, PCR 13): its
     * digest no longer is the hash of its data. Fails by default; with
     * TL_ATTEST_ALLOW_UNBOUND_DATA it passes and the record is unbound. */
    struct buf l2 = {dup_exact(f->log.p, f->log.len), f->log.len};
    l2.p[20000] ^= 1;
    v = attest(f, &f->quote, &l2, &f->pcrs);
    assert_false(v.pass);
    assert_int_equal(v.n_reasons, 1);
    assert_string_equal(v.reasons[0].message,
                        "eventlog: event 15 (PCR 13, EV_EVENT_TAG, offset 19135): no digest is the "
                        "hash of its data, so its data is unverified (allow with "
                        "TL_ATTEST_ALLOW_UNBOUND_DATA when the platform measures something else)");
    tl_attest_verdict_done(&v);
    struct tl_quote_evidence ev = {f->ak.p,  f->ak.len,  f->quote.p, f->quote.len,
                                   f->sig.p, f->sig.len, NULL};
    struct tl_quote_expect ex = {.pcrs = &f->pcrs,
                                 .flags = TL_ATTEST_ALLOW_SHA1 | TL_ATTEST_ALLOW_UNBOUND_DATA};
    assert_int_equal(tl_attest_verify(&ev, l2.p, l2.len, &ex, &v), 0);
    assert_true(v.pass);
    assert_int_equal(v.n_unbound, 2);
    assert_int_equal(v.unbound[1].event, 15);
    tl_attest_verdict_done(&v);
    /* A byte of a digest (event 7's, PCR 7): the replay differs. */
    memcpy(l2.p, f->log.p, f->log.len);
    l2.p[11229 + 8] ^= 1;
    v = attest(f, &f->quote, &l2, &f->pcrs);
    assert_false(v.pass);
    assert_int_equal(v.n_reasons, 2);
    assert_non_null(strstr(v.reasons[0].message, "eventlog: event 7 (PCR 7, "
                                                 "EV_EFI_VARIABLE_AUTHORITY, offset 11229)"));
    assert_non_null(strstr(v.reasons[1].message, "eventlog: sha1 PCR 7: the log replays to "));
    assert_non_null(strstr(v.reasons[1].message, "the quote has "
                                                 "859a5877266b5c909613468091a73380a5386786"));
    tl_attest_verdict_done(&v);
    free(l2.p);

    /* Not an event log. */
    struct buf junk = {dup_exact((const uint8_t *)"garbage!", 8), 8};
    v = attest(f, &f->quote, &junk, &f->pcrs);
    assert_false(v.pass);
    assert_false(v.log_parsed);
    assert_true(v.quote.pass);
    assert_int_equal(v.reasons[0].part, TL_QUOTE_PART_EVENTLOG);
    tl_attest_verdict_done(&v);
    free(junk.p);
}

/* Every byte of the log changed (^0x01 and ^0x80): the verdict is a fail,
 * or the byte is one no digest covers:
 *  - the data of a record the verdict lists as unbound: bootmgfw.efi's
 *    EV_EFI_BOOT_SERVICES_APPLICATION, whose digest is the image's
 *    Authenticode hash (its load address, length and device path are in
 *    no digest);
 *  - an event type field: the type is not covered by the digest (PFP
 *    10.4.1; eventcheck.h). A relabelling is caught when the new type is
 *    not allowed in the record's PCR or the data does not meet the new
 *    type's digest rule; measured, 8 of the 2 x 84 type-byte changes meet
 *    both (EV_EFI_GPT_EVENT -> EV_EFI_ACTION: both digests of the data,
 *    both allowed in PCR 5; EV_SEPARATOR "WBCL" -> EV_ACTION; ...) and are
 *    listed by the test.
 * Every other change fails: framing, a digest (replay), the data of a
 * record whose digest is of its data (eventcheck, and for EV_EVENT_TAG /
 * EV_COMPACT_HASH the default TL_ATTEST_ALLOW_UNBOUND_DATA off). */
static void test_gcp_log_every_byte(void **state)
{
    struct fixture *f = *state;
    static const uint8_t xors[] = {0x01, 0x80};
    struct tl_eventlog log;
    struct tl_error err = {0};
    assert_int_equal(tl_eventlog_parse(f->log.p, f->log.len, &log, &err), 0);
    size_t failed = 0, unbound = 0, relabelled = 0;
    for (size_t x = 0; x < sizeof(xors); x++) {
        for (size_t i = 0; i < f->log.len; i++) {
            struct buf c = {dup_exact(f->log.p, f->log.len), f->log.len};
            c.p[i] ^= xors[x];
            struct tl_attest_verdict v = attest(f, &f->quote, &c, &f->pcrs);
            if (!v.pass) {
                failed++;
                assert_true(v.n_reasons > 0); /* the log's own reason */
                assert_true(v.quote.pass);
            } else {
                bool in = false;
                for (size_t u = 0; u < v.n_unbound; u++)
                    in = in || (i >= v.unbound[u].data_offset &&
                                i < (size_t)v.unbound[u].data_offset + v.unbound[u].data_size);
                const struct tl_event *ev = NULL;
                for (size_t k = 0; k < log.n_events; k++)
                    if (i >= log.events[k].offset + 4u && i < log.events[k].offset + 8u)
                        ev = &log.events[k];
                if (in) {
                    unbound++;
                } else if (ev) {
                    uint32_t t = ev->type ^ ((uint32_t)xors[x] << (8 * (i - ev->offset - 4)));
                    print_message("undetectable: event %u (PCR %u) relabelled %s -> %s\n",
                                  ev->index, ev->pcr, tl_event_type_name(ev->type),
                                  tl_event_type_name(t) ?: "?");
                    relabelled++;
                } else {
                    fail_msg("log byte %zu ^ 0x%02x: passed, not in unbound data or a type", i,
                             xors[x]);
                }
            }
            tl_attest_verdict_done(&v);
            free(c.p);
        }
    }
    print_message("log of %zu bytes, 2 flips each: %zu fail, %zu in unbound data, %zu relabel "
                  "a type\n",
                  f->log.len, failed, unbound, relabelled);
    /* Measured: the 174 data bytes of event 9 (both flips), 8 relabels. */
    assert_int_equal(unbound, 2 * 174);
    assert_int_equal(relabelled, 8);
    assert_int_equal(failed, 2 * f->log.len - 2 * 174 - 8);
    tl_eventlog_done(&log);
}

/* ---- quotes made here ---- */

static void test_schemes(void **state)
{
    struct fixture *f = *state;
    struct tl_pcr_values pcrs;
    demo_pcrs(&pcrs);
    TPML_PCR_SELECTION sel = selection1(TPM2_ALG_SHA256, 0x0000ff); /* PCR 0-7 */
    static const uint8_t nonce[32] = {1, 2, 3, 4, 5};
    struct buf q = make_quote(TPM2_ST_ATTEST_QUOTE, nonce, 32, &sel, &pcrs, TPM2_ALG_SHA256);
    struct {
        EVP_PKEY *k;
        uint16_t key_scheme, sig_scheme;
    } cases[] = {
        {f->rsa, TPM2_ALG_RSASSA, TPM2_ALG_RSASSA}, {f->rsa, TPM2_ALG_NULL, TPM2_ALG_RSASSA},
        {f->rsa, TPM2_ALG_RSAPSS, TPM2_ALG_RSAPSS}, {f->rsa, TPM2_ALG_NULL, TPM2_ALG_RSAPSS},
        {f->ecc, TPM2_ALG_ECDSA, TPM2_ALG_ECDSA},   {f->ecc, TPM2_ALG_NULL, TPM2_ALG_ECDSA},
    };
    for (size_t i = 0; i < TL_ARRAY_SIZE(cases); i++) {
        TPM2B_PUBLIC pub;
        ak_public(cases[i].k, cases[i].key_scheme,
                  cases[i].key_scheme == TPM2_ALG_NULL ? 0 : TPM2_ALG_SHA256, &pub);
        struct buf ak = marshal_public(&pub);
        struct buf s = sign(cases[i].k, cases[i].sig_scheme, TPM2_ALG_SHA256, &q);
        struct tl_quote_verdict v = verify(&ak, &q, &s, nonce, 32, &pcrs, 0);
        print_reasons(&v);
        assert_true(v.pass);
        assert_true(v.pcrs_ok && v.nonce_ok);
        assert_int_equal(v.sig_scheme, cases[i].sig_scheme);
        free(s.p);
        free(ak.p);
    }

    /* The key's scheme binds the signature's. */
    TPM2B_PUBLIC pub;
    ak_public(f->rsa, TPM2_ALG_RSASSA, TPM2_ALG_SHA256, &pub);
    struct buf ak = marshal_public(&pub);
    struct buf s = sign(f->rsa, TPM2_ALG_RSAPSS, TPM2_ALG_SHA256, &q);
    struct tl_quote_verdict v = verify(&ak, &q, &s, nonce, 32, &pcrs, 0);
    assert_false(v.pass);
    assert_true(has_reason(&v, TL_QUOTE_PART_SIGNATURE,
                           "signature: scheme rsapss/sha256 but the AK signs only with "
                           "rsassa/sha256"));
    free(s.p);
    s = sign(f->ecc, TPM2_ALG_ECDSA, TPM2_ALG_SHA256, &q);
    v = verify(&ak, &q, &s, nonce, 32, &pcrs, 0);
    assert_true(has_reason(&v, TL_QUOTE_PART_SIGNATURE,
                           "signature: scheme ecdsa does not fit the AK's RSA key"));
    free(s.p);
    free(ak.p);
    free(q.p);
}

static void test_attacks(void **state)
{
    struct fixture *f = *state;
    struct tl_pcr_values pcrs;
    demo_pcrs(&pcrs);
    TPML_PCR_SELECTION sel = selection1(TPM2_ALG_SHA256, 0x00ffff);
    static const uint8_t nonce[32] = {0xaa, 0xbb}, other[32] = {0xaa, 0xbc};
    TPM2B_PUBLIC pub;
    ak_public(f->rsa, TPM2_ALG_RSASSA, TPM2_ALG_SHA256, &pub);
    struct buf ak = marshal_public(&pub);
    ak_public(f->rsa2, TPM2_ALG_RSASSA, TPM2_ALG_SHA256, &pub);
    struct buf ak2 = marshal_public(&pub);
    struct buf q = make_quote(TPM2_ST_ATTEST_QUOTE, nonce, 32, &sel, &pcrs, TPM2_ALG_SHA256);
    struct buf s = sign(f->rsa, TPM2_ALG_RSASSA, TPM2_ALG_SHA256, &q);
    struct tl_quote_verdict v = verify(&ak, &q, &s, nonce, 32, &pcrs, 0);
    assert_true(v.pass);

    /* A replayed quote: the verifier's nonce is another. */
    v = verify(&ak, &q, &s, other, 32, &pcrs, 0);
    assert_false(v.pass);
    assert_int_equal(v.n_reasons, 1);
    assert_int_equal(v.reasons[0].part, TL_QUOTE_PART_NONCE);
    assert_non_null(strstr(v.reasons[0].message, "quote: nonce does not match"));

    /* Signed by another AK. */
    v = verify(&ak2, &q, &s, nonce, 32, &pcrs, 0);
    assert_false(v.pass);
    assert_int_equal(v.n_reasons, 1);
    assert_string_equal(v.reasons[0].message,
                        "signature: does not verify with the AK (RSASSA-PKCS1-v1_5, sha256)");
    /* ... and the GCP quote with its signature, against our AK. */
    v = verify(&ak, &f->quote, &f->sig, NULL, 0, NULL, TL_ATTEST_ALLOW_SHA1);
    assert_false(v.pass);
    assert_true(has_reason(&v, TL_QUOTE_PART_SIGNATURE, "but the AK signs only with"));

    /* PCR values that are not the quoted ones. */
    struct tl_pcr_values bad = pcrs;
    bad.banks[1].value[4][31] ^= 0x40;
    v = verify(&ak, &q, &s, nonce, 32, &bad, 0);
    assert_false(v.pass);
    assert_int_equal(v.n_reasons, 1);
    assert_int_equal(v.reasons[0].part, TL_QUOTE_PART_PCRS);
    /* A PCR outside the selection may be anything. */
    bad = pcrs;
    bad.banks[1].value[20][0] ^= 0x40;
    v = verify(&ak, &q, &s, nonce, 32, &bad, 0);
    assert_true(v.pass);

    /* Type swapped and re-signed: the signature verifies, the type does not. */
    struct buf q2 = make_quote(TPM2_ST_ATTEST_CERTIFY, nonce, 32, &sel, &pcrs, TPM2_ALG_SHA256);
    struct buf s2 = sign(f->rsa, TPM2_ALG_RSASSA, TPM2_ALG_SHA256, &q2);
    v = verify(&ak, &q2, &s2, nonce, 32, &pcrs, 0);
    assert_false(v.pass);
    assert_true(v.signature_ok);
    assert_false(v.quote_ok);
    assert_true(
        has_reason(&v, TL_QUOTE_PART_QUOTE,
                   "quote: type 0x8017 (TPM_ST_ATTEST_CERTIFY) is not TPM_ST_ATTEST_QUOTE"));
    free(q2.p);
    free(s2.p);
    /* Magic changed and re-signed: what a TPM never signs (it prefixes
     * TPM_GENERATED_VALUE to everything it produces; a restricted key only
     * signs external data that does not start with it). */
    q2 = (struct buf){dup_exact(q.p, q.len), q.len};
    q2.p[3] = 0;
    s2 = sign(f->rsa, TPM2_ALG_RSASSA, TPM2_ALG_SHA256, &q2);
    v = verify(&ak, &q2, &s2, nonce, 32, &pcrs, 0);
    assert_false(v.pass);
    assert_true(v.signature_ok);
    assert_true(
        has_reason(&v, TL_QUOTE_PART_QUOTE, "quote: magic 0xff544300 is not TPM_GENERATED_VALUE"));
    free(q2.p);
    free(s2.p);

    /* Truncated evidence: every prefix of quote and signature fails. */
    for (size_t n = 0; n < q.len; n++) {
        struct buf t = {dup_exact(q.p, n), n};
        v = verify(&ak, &t, &s, nonce, 32, &pcrs, 0);
        assert_false(v.pass);
        assert_false(v.quote_ok);
        free(t.p);
    }
    for (size_t n = 0; n < s.len; n++) {
        struct buf t = {dup_exact(s.p, n), n};
        v = verify(&ak, &q, &t, nonce, 32, &pcrs, 0);
        assert_false(v.pass);
        assert_false(v.signature_ok);
        free(t.p);
    }
    free(s.p);
    free(q.p);

    /* A SHA-1 quote (bank and signature) when SHA-256 is required. */
    ak_public(f->rsa, TPM2_ALG_NULL, 0, &pub);
    struct buf ak3 = marshal_public(&pub);
    sel = selection1(TPM2_ALG_SHA1, 0x0000ff);
    q = make_quote(TPM2_ST_ATTEST_QUOTE, nonce, 32, &sel, &pcrs, TPM2_ALG_SHA1);
    s = sign(f->rsa, TPM2_ALG_RSASSA, TPM2_ALG_SHA1, &q);
    v = verify(&ak3, &q, &s, nonce, 32, &pcrs, 0);
    assert_false(v.pass);
    assert_true(v.ak_ok);
    assert_true(has_reason(&v, TL_QUOTE_PART_QUOTE,
                           "quote: quotes the sha1 PCR bank (SHA-1 is not allowed)"));
    assert_true(has_reason(&v, TL_QUOTE_PART_SIGNATURE,
                           "signature: hash sha1 refused (SHA-1 is not allowed)"));
    v = verify(&ak3, &q, &s, nonce, 32, &pcrs, TL_ATTEST_ALLOW_SHA1);
    assert_true(v.pass);
    free(s.p);
    /* SHA-256 bank, SHA-1 signature: the pcrDigest is the signature's hash. */
    free(q.p);
    sel = selection1(TPM2_ALG_SHA256, 0x0000ff);
    q = make_quote(TPM2_ST_ATTEST_QUOTE, nonce, 32, &sel, &pcrs, TPM2_ALG_SHA1);
    s = sign(f->rsa, TPM2_ALG_RSASSA, TPM2_ALG_SHA1, &q);
    v = verify(&ak3, &q, &s, nonce, 32, &pcrs, TL_ATTEST_ALLOW_SHA1);
    assert_true(v.pass);
    assert_int_equal(v.pcr_digest_len, 20);
    v = verify(&ak3, &q, &s, nonce, 32, &pcrs, 0);
    assert_false(v.pass);
    assert_false(has_reason(&v, TL_QUOTE_PART_QUOTE, "sha1 PCR bank"));
    assert_true(has_reason(&v, TL_QUOTE_PART_SIGNATURE, "hash sha1 refused"));
    free(s.p);
    free(q.p);

    /* A quote that selects nothing attests nothing. */
    sel = (TPML_PCR_SELECTION){.count = 0};
    q = make_quote(TPM2_ST_ATTEST_QUOTE, nonce, 32, &sel, &pcrs, TPM2_ALG_SHA256);
    s = sign(f->rsa, TPM2_ALG_RSASSA, TPM2_ALG_SHA256, &q);
    v = verify(&ak, &q, &s, nonce, 32, &pcrs, 0);
    assert_false(v.pass);
    assert_true(has_reason(&v, TL_QUOTE_PART_QUOTE, "selects no PCR"));
    free(s.p);
    free(q.p);

    free(ak.p);
    free(ak2.p);
    free(ak3.p);
}

static void test_ak_checks(void **state)
{
    struct fixture *f = *state;
    struct {
        TPMA_OBJECT clear, set;
        const char *message;
    } attrs[] = {
        {TPMA_OBJECT_RESTRICTED, 0, "AK: not restricted"},
        {TPMA_OBJECT_SIGN_ENCRYPT, 0, "AK: not a signing key"},
        {0, TPMA_OBJECT_DECRYPT, "AK: decrypt set"},
        {TPMA_OBJECT_FIXEDTPM, 0, "AK: not fixedTPM"},
        {TPMA_OBJECT_FIXEDPARENT, 0, "AK: not fixedParent"},
        {TPMA_OBJECT_SENSITIVEDATAORIGIN, 0, "AK: not sensitiveDataOrigin"},
    };
    struct tl_error err = {0};
    for (size_t i = 0; i < TL_ARRAY_SIZE(attrs); i++) {
        TPM2B_PUBLIC pub;
        ak_public(f->rsa, TPM2_ALG_RSASSA, TPM2_ALG_SHA256, &pub);
        pub.publicArea.objectAttributes =
            (pub.publicArea.objectAttributes & ~attrs[i].clear) | attrs[i].set;
        assert_int_equal(tl_akey_check(&pub, 0, &err), -EPERM);
        assert_non_null(strstr(err.message, attrs[i].message));
    }
    TPM2B_PUBLIC pub;
    ak_public(f->rsa, TPM2_ALG_RSASSA, TPM2_ALG_SHA256, &pub);
    assert_int_equal(tl_akey_check(&pub, 0, &err), 0);
    /* noDA and an authPolicy are fine. */
    pub.publicArea.objectAttributes |= TPMA_OBJECT_NODA;
    pub.publicArea.authPolicy.size = 32;
    assert_int_equal(tl_akey_check(&pub, 0, &err), 0);

    pub.publicArea.nameAlg = TPM2_ALG_SHA1;
    assert_int_equal(tl_akey_check(&pub, 0, &err), -EPERM);
    assert_string_equal(err.message, "AK: nameAlg sha1 refused (SHA-1 is not allowed)");
    assert_int_equal(tl_akey_check(&pub, TL_ATTEST_ALLOW_SHA1, &err), 0);
    pub.publicArea.nameAlg = TPM2_ALG_SHA256;
    pub.publicArea.parameters.rsaDetail.keyBits = 3072;
    assert_int_equal(tl_akey_check(&pub, 0, &err), -EPERM);
    assert_string_equal(err.message,
                        "AK: an RSA key of 3072 bits (an AK is RSA 2048 or ECC P-256)");
    pub.publicArea.parameters.rsaDetail.keyBits = 2048;
    pub.publicArea.parameters.rsaDetail.scheme.scheme = TPM2_ALG_OAEP;
    assert_int_equal(tl_akey_check(&pub, 0, &err), -EPERM);
    assert_string_equal(err.message, "AK: scheme 0x0017 is not RSASSA, RSAPSS or NULL");
    pub.publicArea.parameters.rsaDetail.scheme.scheme = TPM2_ALG_RSASSA;
    pub.publicArea.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_AES;
    pub.publicArea.parameters.rsaDetail.symmetric.keyBits.aes = 128;
    pub.publicArea.parameters.rsaDetail.symmetric.mode.aes = TPM2_ALG_CFB;
    assert_int_equal(tl_akey_check(&pub, 0, &err), -EPERM);
    assert_string_equal(err.message, "AK: symmetric algorithm 0x0006 (a signing key has none)");

    ak_public(f->ecc, TPM2_ALG_ECDSA, TPM2_ALG_SHA256, &pub);
    assert_int_equal(tl_akey_check(&pub, 0, &err), 0);
    pub.publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P384;
    assert_int_equal(tl_akey_check(&pub, 0, &err), -EPERM);
    assert_string_equal(err.message, "AK: ECC curve 0x0004 (an AK is RSA 2048 or ECC NIST P-256)");

    /* An EK is not an AK. */
    tl_ek_template(TL_EK_RSA2048, &pub);
    assert_int_equal(tl_akey_check(&pub, 0, &err), -EPERM);
    assert_non_null(strstr(err.message, "AK: not a signing key"));

    /* A restricted signing key of this shape loads and names itself. */
    ak_public(f->ecc, TPM2_ALG_NULL, 0, &pub);
    struct buf b = marshal_public(&pub);
    struct tl_akey ak;
    assert_int_equal(tl_akey_load(b.p, b.len, 0, &ak, &err), 0);
    assert_int_equal(ak.name_len, 34);
    uint8_t h[32];
    assert_int_equal(EVP_Digest(b.p + 2, b.len - 2, h, NULL, EVP_sha256(), NULL), 1);
    assert_memory_equal(ak.name + 2, h, 32);
    assert_int_equal(ak.name[0], 0x00);
    assert_int_equal(ak.name[1], 0x0b);
    tl_akey_done(&ak);
    free(b.p);
}

/* The digest is over the selection in order: sha256 then sha1 differs
 * from sha1 then sha256. */
static void test_pcr_digest_order(void **state)
{
    (void)state;
    struct tl_pcr_values pcrs;
    demo_pcrs(&pcrs);
    TPML_PCR_SELECTION sel = {.count = 2};
    sel.pcrSelections[0] = (TPMS_PCR_SELECTION){
        .hash = TPM2_ALG_SHA256, .sizeofSelect = 3, .pcrSelect = {0x81, 0x00, 0x40}}; /* 0 7 22 */
    sel.pcrSelections[1] = (TPMS_PCR_SELECTION){
        .hash = TPM2_ALG_SHA1, .sizeofSelect = 3, .pcrSelect = {0x10, 0x00, 0x00}}; /* 4 */
    uint8_t cat[3 * 32 + 20];
    memcpy(cat, pcrs.banks[1].value[0], 32);
    memcpy(cat + 32, pcrs.banks[1].value[7], 32);
    memcpy(cat + 64, pcrs.banks[1].value[22], 32);
    memcpy(cat + 96, pcrs.banks[0].value[4], 20);
    uint8_t want[32], got[TL_DIGEST_MAX];
    size_t n;
    struct tl_error err = {0};
    assert_int_equal(EVP_Digest(cat, sizeof(cat), want, NULL, EVP_sha256(), NULL), 1);
    assert_int_equal(tl_quote_pcr_digest(&sel, &pcrs, TPM2_ALG_SHA256, got, &n, &err), 0);
    assert_int_equal(n, 32);
    assert_memory_equal(got, want, 32);
    TPMS_PCR_SELECTION t = sel.pcrSelections[0];
    sel.pcrSelections[0] = sel.pcrSelections[1];
    sel.pcrSelections[1] = t;
    assert_int_equal(tl_quote_pcr_digest(&sel, &pcrs, TPM2_ALG_SHA256, got, &n, &err), 0);
    assert_memory_not_equal(got, want, 32);
    /* SHA-384 of the same values (a P-384 or SHA-384 signing scheme). */
    assert_int_equal(tl_quote_pcr_digest(&sel, &pcrs, TPM2_ALG_SHA384, got, &n, &err), 0);
    assert_int_equal(n, 48);
}

/* Selections the parser refuses: a bank twice, a PCR beyond 23, an
 * unknown bank. */
static void test_quote_selection_refused(void **state)
{
    (void)state;
    struct tl_pcr_values pcrs;
    demo_pcrs(&pcrs);
    struct {
        TPML_PCR_SELECTION sel;
        const char *message;
    } cases[] = {
        {{.count = 2, .pcrSelections = {{TPM2_ALG_SHA256, 3, {1}}, {TPM2_ALG_SHA256, 3, {2}}}},
         "quote: bank sha256 selected twice"},
        {{.count = 1, .pcrSelections = {{TPM2_ALG_SHA256, 4, {1, 0, 0, 0x08}}}},
         "quote: selects sha256 PCR 27 (a PC Client TPM has 24)"},
        {{.count = 1, .pcrSelections = {{0x0099, 3, {1}}}},
         "quote: PCR selection 0: bank 0x0099 is not a known hash"},
    };
    for (size_t i = 0; i < TL_ARRAY_SIZE(cases); i++) {
        TPMS_ATTEST a = {.magic = TPM2_GENERATED_VALUE, .type = TPM2_ST_ATTEST_QUOTE};
        a.clockInfo.safe = 1;
        a.attested.quote.pcrSelect = cases[i].sel;
        a.attested.quote.pcrDigest.size = 32;
        uint8_t buf[sizeof(TPMS_ATTEST)];
        size_t len = 0;
        assert_int_equal(Tss2_MU_TPMS_ATTEST_Marshal(&a, buf, sizeof(buf), &len), 0);
        struct tl_quote q;
        struct tl_error err = {0};
        assert_int_equal(tl_quote_parse(buf, len, &q, &err), -EBADMSG);
        assert_string_equal(err.message, cases[i].message);
    }
}

int main(void)
{
    setenv("TSS2_LOG", "all+none", 0); /* libtss2-mu logs what it refuses */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gcp_ak),
        cmocka_unit_test(test_gcp_quote_parse),
        cmocka_unit_test(test_gcp_verify),
        cmocka_unit_test(test_gcp_verify_keyed),
        cmocka_unit_test(test_gcp_every_byte),
        cmocka_unit_test(test_gcp_attest),
        cmocka_unit_test(test_gcp_log_every_byte),
        cmocka_unit_test(test_schemes),
        cmocka_unit_test(test_attacks),
        cmocka_unit_test(test_ak_checks),
        cmocka_unit_test(test_pcr_digest_order),
        cmocka_unit_test(test_quote_selection_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
