/* Unit tests for lib/tpm/ekca.c (the platform EK CA and EK certificates)
 * and the pure half of lib/tpm/vtpm.c (EK templates, TPM2B_PUBLIC to
 * OpenSSL keys).
 *
 * What is asserted, and from where:
 *  - the CA: ECDSA P-384 root and intermediate, the intermediate a CA with
 *    pathlen 0 signed by the root, random 20-octet serials;
 *  - an EK certificate has every field the TCG EK Credential Profile 2.x,
 *    3.2 asks for (subjectAltName directoryName with the three TPM
 *    attributes in one RDN, critical when the subject is empty; key usage
 *    keyEncipherment for RSA / keyAgreement for ECC, critical; basic
 *    constraints CA:FALSE, critical; tcg-kp-EKCertificate; the
 *    intermediate's key identifier) and X509_verify_cert, strict, chains it
 *    to the root;
 *  - the verifier fails closed: another key, another CA, outside the
 *    validity, trailing bytes, a certificate re-signed without the EK
 *    extended key usage or without the TPM attributes;
 *  - the EK templates' authPolicy is PolicySecret(TPM_RH_ENDORSEMENT),
 *    recomputed here from TPM 2.0 Part 3, 23.4 (PolicySecret) and 23.2.3
 *    (PolicyUpdate).
 * The EK keys here are OpenSSL keys; tests/cli/vtpm_cli.sh does the same
 * against swtpm's real EKs and tpm2-tools. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl/ekca.h"
#include "tl/vtpm.h"
#include "vectors.h"

/* 2026-11-22T00:00:00Z */
#define NOW ((time_t)1795305600)
#define DAY ((time_t)86400)

#define MANUFACTURER "id:49424D00"
#define MODEL        "SW   TPM"
#define VERSION      "id:20191023"

/* One CA and one RSA and one ECC "EK" for the whole file (RSA generation
 * is slow). */
struct fixture {
    struct tl_ekca ca;
    EVP_PKEY *rsa;
    EVP_PKEY *ecc;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(tl_ekca_create(&f->ca, NOW, NULL), 0);
    f->rsa = EVP_RSA_gen(2048);
    f->ecc = EVP_EC_gen("P-256");
    assert_non_null(f->rsa);
    assert_non_null(f->ecc);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    tl_ekca_done(&f->ca);
    EVP_PKEY_free(f->rsa);
    EVP_PKEY_free(f->ecc);
    free(f);
    return 0;
}

/* ---- helpers ---- */

static X509 *d2i_exact(const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    assert_non_null(x);
    assert_ptr_equal(p, der + len);
    return x;
}

static void assert_cn(const X509_NAME *name, const char *want)
{
    char buf[256];
    assert_true(X509_NAME_get_text_by_NID((X509_NAME *)name, NID_commonName, buf, sizeof(buf)) > 0);
    assert_string_equal(buf, want);
}

/* An extension's criticality, -1 when absent (exactly one expected). */
static int ext_critical(X509 *x, int nid)
{
    int i = X509_get_ext_by_NID(x, nid, -1);
    if (i < 0)
        return -1;
    assert_true(X509_get_ext_by_NID(x, nid, i) < 0);
    return X509_EXTENSION_get_critical(X509_get_ext(x, i));
}

static void assert_serial_20_octets(X509 *x)
{
    const ASN1_INTEGER *s = X509_get0_serialNumber(x);
    assert_int_equal(ASN1_STRING_type(s), V_ASN1_INTEGER); /* positive */
    assert_int_equal(ASN1_STRING_length(s), 20);
}

static int days_valid(X509 *x)
{
    int days = 0, secs = 0;
    assert_int_equal(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), X509_get0_notAfter(x)),
                     1);
    return days;
}

static uint8_t *issue(const struct fixture *f, EVP_PKEY *ek, const char *cn, size_t *len)
{
    struct tl_ek_cert_request req = {.ek = ek,
                                     .manufacturer = MANUFACTURER,
                                     .model = MODEL,
                                     .version = VERSION,
                                     .subject_cn = cn,
                                     .now = NOW};
    uint8_t *der = NULL;
    struct tl_error err = {0};
    int r = tl_ekca_issue_ek_cert(&f->ca, &req, &der, len, &err);
    if (r < 0)
        fail_msg("issue: %s", err.message);
    return der;
}

/* X509_verify_cert at `now`, strict, root trusted, intermediate untrusted. */
static int chain_verify(X509 *root, X509 *intermediate, X509 *x, time_t now)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    assert_true(X509_STORE_add_cert(store, root));
    assert_true(sk_X509_push(untrusted, intermediate));
    assert_true(X509_STORE_CTX_init(ctx, store, x, untrusted));
    X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), now);
    X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(ctx), X509_V_FLAG_X509_STRICT);
    int ok = X509_verify_cert(ctx);
    int e = X509_STORE_CTX_get_error(ctx);
    sk_X509_free(untrusted);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return ok == 1 ? 0 : e;
}

/* ---- the CA ---- */

static void test_ca_create(void **state)
{
    struct fixture *f = *state;
    X509 *root = f->ca.root, *in = f->ca.intermediate;

    assert_cn(X509_get_subject_name(root), TL_EKCA_ROOT_CN);
    assert_cn(X509_get_issuer_name(root), TL_EKCA_ROOT_CN);
    assert_cn(X509_get_subject_name(in), TL_EKCA_INTERMEDIATE_CN);
    assert_cn(X509_get_issuer_name(in), TL_EKCA_ROOT_CN);
    assert_int_equal(X509_get_version(root), X509_VERSION_3);
    assert_int_equal(X509_get_version(in), X509_VERSION_3);

    /* CAs, the intermediate limited to issuing end-entity certificates. */
    assert_true(X509_check_ca(root) >= 1);
    assert_true(X509_check_ca(in) >= 1);
    assert_int_equal(X509_get_pathlen(root), -1);
    assert_int_equal(X509_get_pathlen(in), 0);
    assert_int_equal(ext_critical(root, NID_basic_constraints), 1);
    assert_int_equal(ext_critical(in, NID_basic_constraints), 1);
    assert_int_equal(ext_critical(in, NID_key_usage), 1);
    assert_int_equal(X509_get_key_usage(in), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
    assert_int_equal(X509_get_key_usage(root), KU_KEY_CERT_SIGN | KU_CRL_SIGN);

    /* ECDSA P-384, SHA-384; the root self-signed, the intermediate by it. */
    assert_int_equal(EVP_PKEY_get_bits(f->ca.root_key), 384);
    assert_int_equal(EVP_PKEY_get_bits(f->ca.intermediate_key), 384);
    assert_int_equal(X509_get_signature_nid(root), NID_ecdsa_with_SHA384);
    assert_int_equal(X509_get_signature_nid(in), NID_ecdsa_with_SHA384);
    assert_int_equal(X509_verify(root, X509_get0_pubkey(root)), 1);
    assert_int_equal(X509_verify(in, X509_get0_pubkey(root)), 1);
    assert_int_equal(X509_check_private_key(root, f->ca.root_key), 1);
    assert_int_equal(X509_check_private_key(in, f->ca.intermediate_key), 1);
    assert_int_equal(
        ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(in), X509_get0_subject_key_id(root)), 0);

    /* Validity from NOW: 30 and 20 years. */
    assert_int_equal(ASN1_TIME_cmp_time_t(X509_get0_notBefore(root), NOW), 0);
    assert_int_equal(days_valid(root), 30 * 365 + 7);
    assert_int_equal(days_valid(in), 20 * 365 + 5);
    assert_int_equal(chain_verify(root, in, in, NOW), 0);

    /* Serials: 20 random octets, different for every certificate. */
    assert_serial_20_octets(root);
    assert_serial_20_octets(in);
    struct tl_ekca other;
    assert_int_equal(tl_ekca_create(&other, NOW, NULL), 0);
    assert_int_not_equal(
        ASN1_INTEGER_cmp(X509_get0_serialNumber(root), X509_get0_serialNumber(other.root)), 0);
    assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(root), X509_get0_serialNumber(in)),
                         0);
    assert_int_not_equal(EVP_PKEY_eq(f->ca.root_key, other.root_key), 1);
    tl_ekca_done(&other);
}

static void test_pem_round_trip(void **state)
{
    struct fixture *f = *state;
    struct tl_ekca_pem pem;
    assert_int_equal(tl_ekca_to_pem(&f->ca, &pem, NULL), 0);
    assert_non_null(strstr(pem.part[TL_EKCA_ROOT_CERT], "-----BEGIN CERTIFICATE-----"));
    assert_non_null(strstr(pem.part[TL_EKCA_INTERMEDIATE_CERT], "-----BEGIN CERTIFICATE-----"));
    /* PKCS#8, unencrypted: the caller keeps the file 0600. */
    assert_non_null(strstr(pem.part[TL_EKCA_ROOT_KEY], "-----BEGIN PRIVATE KEY-----"));
    assert_non_null(strstr(pem.part[TL_EKCA_INTERMEDIATE_KEY], "-----BEGIN PRIVATE KEY-----"));
    for (int i = 0; i < TL_EKCA_N_PARTS; i++)
        assert_int_equal(strlen(pem.part[i]), pem.len[i]);

    struct tl_ekca loaded;
    struct tl_error err = {0};
    int r = tl_ekca_load_pem(&loaded, (const char *const *)pem.part, pem.len, &err);
    if (r < 0)
        fail_msg("load: %s", err.message);
    assert_int_equal(X509_cmp(loaded.root, f->ca.root), 0);
    assert_int_equal(X509_cmp(loaded.intermediate, f->ca.intermediate), 0);
    assert_int_equal(EVP_PKEY_eq(loaded.root_key, f->ca.root_key), 1);
    assert_int_equal(EVP_PKEY_eq(loaded.intermediate_key, f->ca.intermediate_key), 1);

    /* What the loaded CA issues verifies against the original root. */
    struct fixture g = {.ca = loaded};
    size_t len;
    uint8_t *der = issue(&g, f->ecc, NULL, &len);
    assert_int_equal(tl_ek_cert_verify(der, len, f->ca.root, f->ca.intermediate, f->ecc, NOW, NULL),
                     0);
    free(der);
    tl_ekca_done(&loaded);
    tl_ekca_pem_done(&pem);
}

/* Loads parts; expects failure with a message starting with want. */
static void assert_load_fails(char *const part[TL_EKCA_N_PARTS], const size_t len[TL_EKCA_N_PARTS],
                              const char *want)
{
    struct tl_ekca ca;
    struct tl_error err = {0};
    assert_int_equal(tl_ekca_load_pem(&ca, (const char *const *)part, len, &err), -EBADMSG);
    if (strncmp(err.message, want, strlen(want)) != 0)
        fail_msg("got \"%s\", want \"%s...\"", err.message, want);
    assert_null(ca.root);
    assert_null(ca.root_key);
    assert_int_equal(ERR_peek_error(), 0);
}

static void test_pem_rejects(void **state)
{
    struct fixture *f = *state;
    struct tl_ekca other;
    assert_int_equal(tl_ekca_create(&other, NOW, NULL), 0);
    struct tl_ekca_pem a, b;
    assert_int_equal(tl_ekca_to_pem(&f->ca, &a, NULL), 0);
    assert_int_equal(tl_ekca_to_pem(&other, &b, NULL), 0);
    char *part[TL_EKCA_N_PARTS];
    size_t len[TL_EKCA_N_PARTS];
#define RESET()        (memcpy(part, a.part, sizeof(part)), memcpy(len, a.len, sizeof(len)))
#define USE(i, src, j) (part[i] = (src).part[j], len[i] = (src).len[j])

    RESET();
    USE(TL_EKCA_ROOT_KEY, a, TL_EKCA_INTERMEDIATE_KEY);
    assert_load_fails(part, len, "root key: not the root certificate's key");

    RESET();
    USE(TL_EKCA_INTERMEDIATE_KEY, b, TL_EKCA_INTERMEDIATE_KEY);
    assert_load_fails(part, len, "intermediate key: not the intermediate certificate's key");

    /* Another CA's intermediate (with its own key): not issued by our root. */
    RESET();
    USE(TL_EKCA_INTERMEDIATE_CERT, b, TL_EKCA_INTERMEDIATE_CERT);
    USE(TL_EKCA_INTERMEDIATE_KEY, b, TL_EKCA_INTERMEDIATE_KEY);
    assert_load_fails(part, len, "intermediate certificate: not a CA issued by the root");

    /* The intermediate in the root's place. */
    RESET();
    USE(TL_EKCA_ROOT_CERT, a, TL_EKCA_INTERMEDIATE_CERT);
    USE(TL_EKCA_ROOT_KEY, a, TL_EKCA_INTERMEDIATE_KEY);
    assert_load_fails(part, len, "root certificate: not a self-signed CA");

    /* A key where a certificate belongs, and the other way round. */
    RESET();
    USE(TL_EKCA_ROOT_CERT, a, TL_EKCA_ROOT_KEY);
    assert_load_fails(part, len, "root certificate: not a PEM certificate");
    RESET();
    USE(TL_EKCA_INTERMEDIATE_KEY, a, TL_EKCA_INTERMEDIATE_CERT);
    assert_load_fails(part, len, "intermediate key: not a PEM private key");

    /* Truncated at every tenth byte, and empty. */
    for (size_t n = 0; n < a.len[TL_EKCA_ROOT_KEY]; n += 10) {
        RESET();
        char *cut = malloc(n + 1);
        assert_non_null(cut);
        memcpy(cut, a.part[TL_EKCA_ROOT_KEY], n);
        cut[n] = 0;
        part[TL_EKCA_ROOT_KEY] = cut;
        len[TL_EKCA_ROOT_KEY] = n;
        assert_load_fails(part, len, "root key: not a PEM private key");
        free(cut);
    }
#undef RESET
#undef USE
    tl_ekca_pem_done(&a);
    tl_ekca_pem_done(&b);
    tl_ekca_done(&other);
}

/* ---- EK certificates ---- */

/* The subjectAltName's directoryName: one RDN of the three UTF8String
 * attributes (a SET OF, so DER orders them by encoding, not as added). */
static void assert_tpm_san(X509 *x)
{
    int crit = -1;
    GENERAL_NAMES *gns = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
    assert_non_null(gns);
    assert_int_equal(sk_GENERAL_NAME_num(gns), 1);
    const GENERAL_NAME *gn = sk_GENERAL_NAME_value(gns, 0);
    assert_int_equal(gn->type, GEN_DIRNAME);
    const X509_NAME *dn = gn->d.directoryName;
    assert_int_equal(X509_NAME_entry_count(dn), 3);
    const char *oid[3] = {"2.23.133.2.1", "2.23.133.2.2", "2.23.133.2.3"};
    const char *want[3] = {MANUFACTURER, MODEL, VERSION};
    for (int i = 0; i < 3; i++) {
        ASN1_OBJECT *o = OBJ_txt2obj(oid[i], 1);
        int at = X509_NAME_get_index_by_OBJ(dn, o, -1);
        assert_true(at >= 0);
        assert_true(X509_NAME_get_index_by_OBJ(dn, o, at) < 0);
        ASN1_OBJECT_free(o);
        const X509_NAME_ENTRY *e = X509_NAME_get_entry(dn, at);
        const ASN1_STRING *s = X509_NAME_ENTRY_get_data(e);
        assert_int_equal(ASN1_STRING_type(s), V_ASN1_UTF8STRING);
        assert_int_equal(ASN1_STRING_length(s), strlen(want[i]));
        assert_memory_equal(ASN1_STRING_get0_data(s), want[i], strlen(want[i]));
        assert_int_equal(X509_NAME_ENTRY_set(e), 0); /* all in the first RDN */
    }
    GENERAL_NAMES_free(gns);
}

static void assert_ek_eku_only(X509 *x)
{
    int crit = -1;
    EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, &crit, NULL);
    assert_non_null(eku);
    assert_int_equal(crit, 0);
    assert_int_equal(sk_ASN1_OBJECT_num(eku), 1);
    char oid[32];
    OBJ_obj2txt(oid, sizeof(oid), sk_ASN1_OBJECT_value(eku, 0), 1);
    assert_string_equal(oid, "2.23.133.8.1");
    sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
}

/* Everything the profile fixes, for either key type. */
static void assert_ek_cert(const struct fixture *f, X509 *x, EVP_PKEY *ek, uint32_t ku)
{
    X509 *in = f->ca.intermediate;
    assert_int_equal(X509_get_version(x), X509_VERSION_3);
    assert_serial_20_octets(x);
    assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(in)), 0);
    assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA384);
    assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(x), ek), 1);
    assert_int_equal(ASN1_TIME_cmp_time_t(X509_get0_notBefore(x), NOW), 0);
    assert_int_equal(ASN1_TIME_compare(X509_get0_notAfter(x), X509_get0_notAfter(in)), 0);

    assert_tpm_san(x);
    assert_int_equal(ext_critical(x, NID_key_usage), 1);
    assert_int_equal(X509_get_key_usage(x), ku);
    assert_int_equal(ext_critical(x, NID_basic_constraints), 1);
    assert_int_equal(X509_check_ca(x), 0);
    BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(x, NID_basic_constraints, NULL, NULL);
    assert_non_null(bc);
    assert_int_equal(bc->ca, 0);
    BASIC_CONSTRAINTS_free(bc);
    assert_ek_eku_only(x);
    assert_int_equal(ext_critical(x, NID_authority_key_identifier), 0);
    assert_int_equal(
        ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(x), X509_get0_subject_key_id(in)), 0);
    assert_int_equal(X509_get_ext_count(x), 5);

    assert_int_equal(chain_verify(f->ca.root, in, x, NOW), 0);
    assert_int_equal(chain_verify(f->ca.root, in, x, NOW + 3650 * DAY), 0);
}

static void test_issue_rsa(void **state)
{
    struct fixture *f = *state;
    size_t len;
    uint8_t *der = issue(f, f->rsa, NULL, &len);
    X509 *x = d2i_exact(der, len);
    assert_ek_cert(f, x, f->rsa, KU_KEY_ENCIPHERMENT);
    /* Empty subject: the subjectAltName carries the identity, critical
     * (RFC 5280 4.2.1.6; EK Credential Profile 3.2). */
    assert_int_equal(X509_NAME_entry_count(X509_get_subject_name(x)), 0);
    assert_int_equal(ext_critical(x, NID_subject_alt_name), 1);
    struct tl_error err = {0};
    assert_int_equal(tl_ek_cert_verify(der, len, f->ca.root, f->ca.intermediate, f->rsa, NOW, &err),
                     0);
    X509_free(x);
    free(der);
}

static void test_issue_ecc_with_subject(void **state)
{
    struct fixture *f = *state;
    size_t len;
    uint8_t *der = issue(f, f->ecc, "node-1", &len);
    X509 *x = d2i_exact(der, len);
    assert_ek_cert(f, x, f->ecc, KU_KEY_AGREEMENT);
    assert_cn(X509_get_subject_name(x), "node-1");
    assert_int_equal(X509_NAME_entry_count(X509_get_subject_name(x)), 1);
    assert_int_equal(ext_critical(x, NID_subject_alt_name), 0);
    assert_int_equal(tl_ek_cert_verify(der, len, f->ca.root, f->ca.intermediate, f->ecc, NOW, NULL),
                     0);
    /* Two certificates for one key differ in serial. */
    size_t len2;
    uint8_t *der2 = issue(f, f->ecc, "node-1", &len2);
    X509 *y = d2i_exact(der2, len2);
    assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(x), X509_get0_serialNumber(y)), 0);
    X509_free(y);
    free(der2);
    X509_free(x);
    free(der);
}

static void test_issue_rejects(void **state)
{
    struct fixture *f = *state;
    EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    assert_non_null(ed);
    struct tl_ek_cert_request req = {
        .ek = ed, .manufacturer = MANUFACTURER, .model = MODEL, .version = VERSION, .now = NOW};
    uint8_t *der = (uint8_t *)"x";
    size_t len = 1;
    struct tl_error err = {0};
    assert_int_equal(tl_ekca_issue_ek_cert(&f->ca, &req, &der, &len, &err), -EINVAL);
    assert_string_equal(err.message, "EK certificate: the EK is neither RSA nor EC");
    assert_null(der);
    assert_int_equal(len, 0);
    req.ek = NULL;
    assert_int_equal(tl_ekca_issue_ek_cert(&f->ca, &req, &der, &len, NULL), -EINVAL);
    req.ek = f->ecc;
    req.model = "";
    assert_int_equal(tl_ekca_issue_ek_cert(&f->ca, &req, &der, &len, &err), -EINVAL);
    req.model = MODEL;
    req.version = NULL;
    assert_int_equal(tl_ekca_issue_ek_cert(&f->ca, &req, &der, &len, &err), -EINVAL);
    assert_null(der);
    /* Nothing issues from an expired intermediate. */
    req.version = VERSION;
    req.now = NOW + (20 * 365 + 6) * DAY;
    assert_int_equal(tl_ekca_issue_ek_cert(&f->ca, &req, &der, &len, &err), -EKEYEXPIRED);
    assert_string_equal(err.message, "EK certificate: the intermediate CA has expired");
    assert_null(der);
    EVP_PKEY_free(ed);
}

/* Expects tl_ek_cert_verify to fail with code and a message starting with
 * want. */
static void assert_verify_fails(const uint8_t *der, size_t len, X509 *root, X509 *in, EVP_PKEY *ek,
                                time_t now, int code, const char *want)
{
    struct tl_error err = {0};
    uint8_t *copy = dup_exact(der, len);
    assert_int_equal(tl_ek_cert_verify(copy, len, root, in, ek, now, &err), code);
    if (strncmp(err.message, want, strlen(want)) != 0)
        fail_msg("got \"%s\", want \"%s...\"", err.message, want);
    assert_int_equal(ERR_peek_error(), 0);
    free(copy);
}

/* The certificate with one extension removed, re-signed by the
 * intermediate: a CA-signed certificate the profile does not allow. */
static uint8_t *without_ext(const struct fixture *f, const uint8_t *der, size_t len, int nid,
                            size_t *out_len)
{
    X509 *x = d2i_exact(der, len);
    int i = X509_get_ext_by_NID(x, nid, -1);
    assert_true(i >= 0);
    X509_EXTENSION_free(X509_delete_ext(x, i));
    assert_true(X509_sign(x, f->ca.intermediate_key, EVP_sha384()) > 0);
    unsigned char *p = NULL;
    int n = i2d_X509(x, &p);
    assert_true(n > 0);
    uint8_t *out = malloc((size_t)n);
    memcpy(out, p, (size_t)n);
    *out_len = (size_t)n;
    OPENSSL_free(p);
    X509_free(x);
    return out;
}

static void test_verify_rejects(void **state)
{
    struct fixture *f = *state;
    X509 *root = f->ca.root, *in = f->ca.intermediate;
    size_t len;
    uint8_t *der = issue(f, f->rsa, NULL, &len);

    assert_verify_fails(der, len, root, in, f->ecc, NOW, -EPERM,
                        "certifies another key than the TPM's EK");
    struct tl_ekca other;
    assert_int_equal(tl_ekca_create(&other, NOW, NULL), 0);
    assert_verify_fails(der, len, other.root, other.intermediate, f->rsa, NOW, -EPERM, "chain: ");
    assert_verify_fails(der, len, other.root, in, f->rsa, NOW, -EPERM, "chain: ");
    tl_ekca_done(&other);
    assert_verify_fails(der, len, root, in, f->rsa, NOW - DAY, -EPERM,
                        "chain: certificate is not yet valid");
    assert_verify_fails(der, len, root, in, f->rsa, NOW + (20 * 365 + 6) * DAY, -EPERM,
                        "chain: certificate has expired");

    /* Framing: a byte more, a byte less, nothing. */
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, der, len);
    longer[len] = 0;
    assert_verify_fails(longer, len + 1, root, in, f->rsa, NOW, -EBADMSG,
                        "not a DER X.509 certificate");
    free(longer);
    assert_verify_fails(der, len - 1, root, in, f->rsa, NOW, -EBADMSG,
                        "not a DER X.509 certificate");

    /* The intermediate itself is no EK certificate. */
    unsigned char *ider = NULL;
    int ilen = i2d_X509(in, &ider);
    assert_verify_fails(ider, (size_t)ilen, root, in, NULL, NOW, -EPERM, "key usage lacks");
    OPENSSL_free(ider);

    /* Re-signed by the CA without the EK purpose, or without the TPM. */
    size_t n;
    uint8_t *bad = without_ext(f, der, len, NID_ext_key_usage, &n);
    assert_verify_fails(bad, n, root, in, f->rsa, NOW, -EPERM,
                        "extended key usage lacks tcg-kp-EKCertificate");
    free(bad);
    bad = without_ext(f, der, len, NID_subject_alt_name, &n);
    /* An empty subject and no subjectAltName fails strict chain checks
     * already (RFC 5280 4.1.2.6). */
    assert_verify_fails(bad, n, root, in, f->rsa, NOW, -EPERM,
                        "chain: Subject name empty (depth 0)");
    free(bad);
    uint8_t *ecc = issue(f, f->ecc, "node-1", &len);
    bad = without_ext(f, ecc, len, NID_subject_alt_name, &n);
    assert_verify_fails(bad, n, root, in, f->ecc, NOW, -EPERM,
                        "subjectAltName lacks the TPM manufacturer, model and version");
    free(bad);
    bad = without_ext(f, ecc, len, NID_key_usage, &n);
    assert_verify_fails(bad, n, root, in, f->ecc, NOW, -EPERM, "key usage lacks keyAgreement");
    free(bad);
    free(ecc);
    free(der);
}

/* ---- EK templates and public areas (lib/tpm/vtpm.c) ---- */

/* PolicySecret(TPM_RH_ENDORSEMENT), empty policyRef, SHA-256:
 *   d1 = H(0^32 || TPM_CC_PolicySecret || Name(TPM_RH_ENDORSEMENT))
 *   d2 = H(d1 || policyRef) */
static void ek_policy(uint8_t out[32])
{
    uint8_t buf[32 + 4 + 4] = {0};
    const uint8_t cc[4] = {0x00, 0x00, 0x01, 0x51};   /* TPM_CC_PolicySecret */
    const uint8_t name[4] = {0x40, 0x00, 0x00, 0x0b}; /* TPM_RH_ENDORSEMENT */
    memcpy(buf + 32, cc, 4);
    memcpy(buf + 36, name, 4);
    uint8_t d1[32];
    assert_true(EVP_Digest(buf, sizeof(buf), d1, NULL, EVP_sha256(), NULL));
    assert_true(EVP_Digest(d1, sizeof(d1), out, NULL, EVP_sha256(), NULL));
}

static void test_ek_templates(void **state)
{
    (void)state;
    uint8_t policy[32];
    ek_policy(policy);
    for (int t = 0; t < TL_EK_N_TYPES; t++) {
        TPM2B_PUBLIC p;
        tl_ek_template((enum tl_ek_type)t, &p);
        const TPMT_PUBLIC *a = &p.publicArea;
        assert_int_equal(a->nameAlg, TPM2_ALG_SHA256);
        /* fixedTPM | fixedParent | sensitiveDataOrigin | adminWithPolicy |
         * restricted | decrypt */
        assert_int_equal(a->objectAttributes, 0x000300b2);
        assert_int_equal(a->authPolicy.size, 32);
        assert_memory_equal(a->authPolicy.buffer, policy, 32);
        assert_true(tl_ek_public_matches_template(&p, (enum tl_ek_type)t));
        assert_false(tl_ek_public_matches_template(&p, (enum tl_ek_type)(1 - t)));
        TPM2B_PUBLIC q = p;
        q.publicArea.objectAttributes |= TPMA_OBJECT_USERWITHAUTH;
        assert_false(tl_ek_public_matches_template(&q, (enum tl_ek_type)t));
        q = p;
        q.publicArea.authPolicy.buffer[0] ^= 1;
        assert_false(tl_ek_public_matches_template(&q, (enum tl_ek_type)t));
    }
    TPM2B_PUBLIC p;
    tl_ek_template(TL_EK_RSA2048, &p);
    const TPMS_RSA_PARMS *rsa = &p.publicArea.parameters.rsaDetail;
    assert_int_equal(p.publicArea.type, TPM2_ALG_RSA);
    assert_int_equal(rsa->symmetric.algorithm, TPM2_ALG_AES);
    assert_int_equal(rsa->symmetric.keyBits.aes, 128);
    assert_int_equal(rsa->symmetric.mode.aes, TPM2_ALG_CFB);
    assert_int_equal(rsa->scheme.scheme, TPM2_ALG_NULL);
    assert_int_equal(rsa->keyBits, 2048);
    assert_int_equal(rsa->exponent, 0);
    assert_int_equal(p.publicArea.unique.rsa.size, 256);
    tl_ek_template(TL_EK_ECC_P256, &p);
    const TPMS_ECC_PARMS *ecc = &p.publicArea.parameters.eccDetail;
    assert_int_equal(p.publicArea.type, TPM2_ALG_ECC);
    assert_int_equal(ecc->symmetric.keyBits.aes, 128);
    assert_int_equal(ecc->symmetric.mode.aes, TPM2_ALG_CFB);
    assert_int_equal(ecc->scheme.scheme, TPM2_ALG_NULL);
    assert_int_equal(ecc->curveID, TPM2_ECC_NIST_P256);
    assert_int_equal(ecc->kdf.scheme, TPM2_ALG_NULL);
    assert_int_equal(p.publicArea.unique.ecc.x.size, 32);
    assert_int_equal(p.publicArea.unique.ecc.y.size, 32);

    assert_string_equal(tl_ek_type_name(TL_EK_RSA2048), "rsa2048");
    assert_string_equal(tl_ek_type_name(TL_EK_ECC_P256), "ecc-p256");
    assert_int_equal(tl_ek_cert_nv_index(TL_EK_RSA2048), 0x01c00002);
    assert_int_equal(tl_ek_cert_nv_index(TL_EK_ECC_P256), 0x01c0000a);
    /* PLATFORMCREATE | AUTHREAD | OWNERREAD | PPREAD | PPWRITE | NO_DA |
     * WRITEDEFINE, as swtpm_setup defines EK certificate indices. */
    assert_int_equal(TL_NV_EK_CERT_ATTRIBUTES, 0x42072001);
}

static void bn_to_buf(const EVP_PKEY *k, const char *param, uint8_t *out, size_t len)
{
    BIGNUM *bn = NULL;
    assert_true(EVP_PKEY_get_bn_param(k, param, &bn));
    assert_int_equal(BN_bn2binpad(bn, out, (int)len), (int)len);
    BN_free(bn);
}

static void test_public_to_pkey(void **state)
{
    struct fixture *f = *state;
    struct tl_error err = {0};
    EVP_PKEY *k = NULL;

    /* RSA: the modulus, exponent 0 standing for 65537. */
    TPM2B_PUBLIC p;
    tl_ek_template(TL_EK_RSA2048, &p);
    bn_to_buf(f->rsa, OSSL_PKEY_PARAM_RSA_N, p.publicArea.unique.rsa.buffer, 256);
    assert_int_equal(tl_tpm2b_public_to_pkey(&p, &k, &err), 0);
    assert_int_equal(EVP_PKEY_eq(k, f->rsa), 1);
    EVP_PKEY_free(k);
    p.publicArea.unique.rsa.size = 255;
    assert_int_equal(tl_tpm2b_public_to_pkey(&p, &k, &err), -EBADMSG);
    assert_string_equal(err.message, "RSA public area: modulus of 255 bytes for 2048 bits");
    assert_null(k);

    /* ECC: x and y; a leading zero byte may be left out. */
    tl_ek_template(TL_EK_ECC_P256, &p);
    bn_to_buf(f->ecc, OSSL_PKEY_PARAM_EC_PUB_X, p.publicArea.unique.ecc.x.buffer, 32);
    bn_to_buf(f->ecc, OSSL_PKEY_PARAM_EC_PUB_Y, p.publicArea.unique.ecc.y.buffer, 32);
    assert_int_equal(tl_tpm2b_public_to_pkey(&p, &k, &err), 0);
    assert_int_equal(EVP_PKEY_eq(k, f->ecc), 1);
    EVP_PKEY_free(k);
    TPM2B_PUBLIC q = p;
    TPM2B_ECC_PARAMETER *x = &q.publicArea.unique.ecc.x;
    memmove(x->buffer + 1, x->buffer, 31);
    x->buffer[0] = 0;
    x->size = 33;
    assert_int_equal(tl_tpm2b_public_to_pkey(&q, &k, &err), -EBADMSG);
    /* A point not on the curve. */
    q = p;
    q.publicArea.unique.ecc.y.buffer[31] ^= 1;
    assert_int_equal(tl_tpm2b_public_to_pkey(&q, &k, &err), -EBADMSG);
    assert_string_equal(err.message, "ECC public area: not a point on P-256");
    assert_null(k);
    q = p;
    q.publicArea.parameters.eccDetail.curveID = TPM2_ECC_BN_P256;
    assert_int_equal(tl_tpm2b_public_to_pkey(&q, &k, &err), -EOPNOTSUPP);
    q.publicArea.type = TPM2_ALG_KEYEDHASH;
    assert_int_equal(tl_tpm2b_public_to_pkey(&q, &k, &err), -EOPNOTSUPP);
    ERR_clear_error();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ca_create),
        cmocka_unit_test(test_pem_round_trip),
        cmocka_unit_test(test_pem_rejects),
        cmocka_unit_test(test_issue_rsa),
        cmocka_unit_test(test_issue_ecc_with_subject),
        cmocka_unit_test(test_issue_rejects),
        cmocka_unit_test(test_verify_rejects),
        cmocka_unit_test(test_ek_templates),
        cmocka_unit_test(test_public_to_pkey),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
