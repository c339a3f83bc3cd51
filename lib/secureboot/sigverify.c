/* PKCS#7 and Authenticode signature checks with OpenSSL, following what
 * EDK2's CryptoPkg (Pkcs7Verify, AuthenticodeVerify) accepts; see
 * sigverify.h for the rules and why.
 *
 * Authenticode (Authenticode PE spec 1.0): SignedData whose content is a
 * SpcIndirectDataContent (OID 1.3.6.1.4.1.311.2.1.4) = SEQUENCE {
 *   data SpcAttributeTypeAndOptionalValue, messageDigest DigestInfo }.
 * The signer's messageDigest attribute covers the content's value without
 * its outer tag and length; the DigestInfo carries the image digest. */
#include "tl/sigverify.h"

#include <errno.h>
#include <openssl/asn1t.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl/util.h"

/* OpenSSL's ASN.1 template macros (no trailing semicolon) and STACK_OF
 * confuse clang-format up to the end of the cleanup helpers. */
// clang-format off
typedef struct {
    ASN1_OBJECT *type;
    ASN1_TYPE *value;
} SPC_ATTRIBUTE_TYPE_AND_OPTIONAL_VALUE;

ASN1_SEQUENCE(SPC_ATTRIBUTE_TYPE_AND_OPTIONAL_VALUE) = {
    ASN1_SIMPLE(SPC_ATTRIBUTE_TYPE_AND_OPTIONAL_VALUE, type, ASN1_OBJECT),
    ASN1_OPT(SPC_ATTRIBUTE_TYPE_AND_OPTIONAL_VALUE, value, ASN1_ANY),
} static_ASN1_SEQUENCE_END(SPC_ATTRIBUTE_TYPE_AND_OPTIONAL_VALUE)

typedef struct {
    SPC_ATTRIBUTE_TYPE_AND_OPTIONAL_VALUE *data;
    X509_SIG *message_digest;
} SPC_INDIRECT_DATA_CONTENT;

ASN1_SEQUENCE(SPC_INDIRECT_DATA_CONTENT) = {
    ASN1_SIMPLE(SPC_INDIRECT_DATA_CONTENT, data, SPC_ATTRIBUTE_TYPE_AND_OPTIONAL_VALUE),
    ASN1_SIMPLE(SPC_INDIRECT_DATA_CONTENT, message_digest, X509_SIG),
} static_ASN1_SEQUENCE_END(SPC_INDIRECT_DATA_CONTENT)

#define SPC_INDIRECT_DATA_OID "1.3.6.1.4.1.311.2.1.4"

static void pkcs7_freep(PKCS7 **p)
{
    PKCS7_free(*p);
}

static void x509_stack_freep(STACK_OF(X509) **p)
{
    sk_X509_pop_free(*p, X509_free);
}
// clang-format on
static void x509_store_freep(X509_STORE **p)
{
    X509_STORE_free(*p);
}
static void x509_store_ctx_freep(X509_STORE_CTX **p)
{
    X509_STORE_CTX_free(*p);
}
static void bio_freep(BIO **p)
{
    BIO_free(*p);
}

/* The caller's OpenSSL error queue is left as it was: what a check pushes
 * is popped again at the public entry points. */
static void err_pop_markp(int *mark)
{
    (void)mark;
    ERR_pop_to_mark();
}

void tl_sigcheck_done(struct tl_sigcheck *c)
{
    for (size_t i = 0; i < c->n_chain; i++)
        free(c->chain[i].der);
    c->n_chain = 0;
}

const char *tl_sigcheck_status_name(enum tl_sigcheck_status s)
{
    switch (s) {
    case TL_SIGCHECK_OK:
        return "ok";
    case TL_SIGCHECK_MALFORMED:
        return "malformed";
    case TL_SIGCHECK_DIGEST_MISMATCH:
        return "digest-mismatch";
    case TL_SIGCHECK_BAD_SIGNATURE:
        return "bad-signature";
    case TL_SIGCHECK_UNTRUSTED:
        return "untrusted";
    }
    return "?";
}

static void subject_of(X509 *x, char *out, size_t size)
{
    out[0] = '\0';
    BIO *bio = BIO_new(BIO_s_mem());
    if (!bio)
        return;
    if (X509_NAME_print_ex(bio, X509_get_subject_name(x), 0, XN_FLAG_RFC2253) >= 0) {
        char *p;
        long n = BIO_get_mem_data(bio, &p);
        snprintf(out, size, "%.*s", (int)n, p);
    }
    BIO_free(bio);
}

static const char *openssl_reason(void)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    return r ? r : "unknown reason";
}

/* The TBSCertificate's encoding inside a certificate's DER. */
static int tbs_of(const uint8_t *der, size_t len, const uint8_t **tbs, size_t *tbs_len)
{
    const unsigned char *p = der;
    long n;
    int tag, cls;
    if (ASN1_get_object(&p, &n, &tag, &cls, (long)len) & 0x80 || tag != V_ASN1_SEQUENCE)
        return -EBADMSG;
    const unsigned char *start = p;
    if (ASN1_get_object(&p, &n, &tag, &cls, (long)(len - (size_t)(p - der))) & 0x80 ||
        tag != V_ASN1_SEQUENCE)
        return -EBADMSG;
    *tbs = start;
    *tbs_len = (size_t)(p - start) + (size_t)n;
    return 0;
}

static int chain_cert_fill(struct tl_chain_cert *c, X509 *x)
{
    *c = (struct tl_chain_cert){0};
    int n = i2d_X509(x, NULL);
    if (n <= 0)
        return -EBADMSG;
    c->der = malloc((size_t)n);
    if (!c->der)
        return -ENOMEM;
    unsigned char *p = c->der;
    i2d_X509(x, &p);
    c->der_len = (size_t)n;
    subject_of(x, c->subject, sizeof(c->subject));
    unsigned int len;
    EVP_Digest(c->der, c->der_len, c->sha256, &len, EVP_sha256(), NULL);
    const uint8_t *tbs;
    size_t tbs_len;
    if (tbs_of(c->der, c->der_len, &tbs, &tbs_len) == 0) {
        EVP_Digest(tbs, tbs_len, c->tbs_sha256, &len, EVP_sha256(), NULL);
        EVP_Digest(tbs, tbs_len, c->tbs_sha384, &len, EVP_sha384(), NULL);
        EVP_Digest(tbs, tbs_len, c->tbs_sha512, &len, EVP_sha512(), NULL);
    }
    return 0;
}

static void warn_expired(struct tl_sigcheck *out, X509 *x, time_t now)
{
    if (!now || out->warning[0])
        return;
    if (X509_cmp_time(X509_get0_notAfter(x), &now) < 0) {
        char subject[200];
        subject_of(x, subject, sizeof(subject));
        snprintf(out->warning, sizeof(out->warning),
                 "certificate %s has expired (firmware does not check time)", subject);
    }
}

/* Loads the trusted certificates; entries that are not certificates are
 * skipped (they cannot anchor anything). index[i] maps back to `trusted`. */
static STACK_OF(X509) * load_trusted(const struct tl_cert_ref *trusted, size_t n, int *index)
{
    STACK_OF(X509) *sk = sk_X509_new_null();
    if (!sk)
        return NULL;
    /* Entries that do not decode leave no error behind. */
    _cleanup_(err_pop_markp) int mark = ERR_set_mark();
    (void)mark;
    for (size_t i = 0; i < n; i++) {
        const unsigned char *p = trusted[i].der;
        X509 *x = d2i_X509(NULL, &p, (long)trusted[i].len);
        if (!x)
            continue;
        index[sk_X509_num(sk)] = (int)i;
        if (!sk_X509_push(sk, x)) {
            X509_free(x);
            sk_X509_pop_free(sk, X509_free);
            return NULL;
        }
    }
    return sk;
}

static int check_signed(PKCS7 *p7, const uint8_t *content, size_t content_len,
                        const struct tl_cert_ref *trusted, size_t n_trusted, time_t now,
                        struct tl_sigcheck *out)
{
    _cleanup_free_ int *index = malloc((n_trusted ? n_trusted : 1) * sizeof(int));
    if (!index)
        return -ENOMEM;
    _cleanup_(x509_stack_freep) STACK_OF(X509) *anchors = load_trusted(trusted, n_trusted, index);
    _cleanup_(x509_store_freep) X509_STORE *empty = X509_STORE_new();
    _cleanup_(bio_freep) BIO *data = BIO_new_mem_buf(content, (int)content_len);
    if (!anchors || !empty || !data)
        return -ENOMEM;

    /* The signer certificate: from the PKCS#7, or (kernel modules carry
     * none) among the trusted ones. */
    STACK_OF(X509) *signers = PKCS7_get0_signers(p7, anchors, 0);
    if (!signers || sk_X509_num(signers) != 1) {
        sk_X509_free(signers);
        out->status = TL_SIGCHECK_UNTRUSTED;
        snprintf(out->reason, sizeof(out->reason),
                 "the signer's certificate is neither in the signature nor trusted");
        return 0;
    }
    X509 *signer = sk_X509_value(signers, 0);
    sk_X509_free(signers);
    subject_of(signer, out->signer_subject, sizeof(out->signer_subject));
    unsigned int len;
    X509_digest(signer, EVP_sha256(), out->signer_sha256, &len);

    /* The signature over the content (chain checked below, our way). */
    if (PKCS7_verify(p7, anchors, empty, data, NULL, PKCS7_BINARY | PKCS7_NOVERIFY) != 1) {
        out->status = TL_SIGCHECK_BAD_SIGNATURE;
        snprintf(out->reason, sizeof(out->reason), "the signature does not verify (%s)",
                 openssl_reason());
        return 0;
    }

    /* The chain: partial chains, no time, no purpose (as the firmware). */
    _cleanup_(x509_store_freep) X509_STORE *store = X509_STORE_new();
    _cleanup_(x509_store_ctx_freep) X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    if (!store || !ctx)
        return -ENOMEM;
    for (int i = 0; i < sk_X509_num(anchors); i++)
        X509_STORE_add_cert(store, sk_X509_value(anchors, i));
    X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN | X509_V_FLAG_NO_CHECK_TIME);
    if (X509_STORE_CTX_init(ctx, store, signer, p7->d.sign->cert) != 1)
        return -ENOMEM;
    /* EDK2's Pkcs7Verify sets purpose "any": it also makes OpenSSL accept a
     * trusted leaf (a db entry that is the signer itself) while untrusted
     * intermediates are present. */
    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_ANY);
    if (X509_verify_cert(ctx) != 1) {
        out->status = TL_SIGCHECK_UNTRUSTED;
        snprintf(out->reason, sizeof(out->reason),
                 "signed by %s, which does not chain to a trusted certificate (%s)",
                 out->signer_subject, X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
        return 0;
    }
    _cleanup_(x509_stack_freep) STACK_OF(X509) *chain = X509_STORE_CTX_get1_chain(ctx);
    int n = chain ? sk_X509_num(chain) : 0;
    /* The anchor is the first certificate of the chain, from the signer up,
     * that is trusted: with partial chains OpenSSL may return untrusted
     * certificates above it (from the signature), which the verdict does not
     * rely on and are not reported. */
    int top = -1;
    out->anchor = -1;
    for (int i = 0; i < n && top < 0; i++)
        for (int k = 0; k < sk_X509_num(anchors); k++)
            if (X509_cmp(sk_X509_value(chain, i), sk_X509_value(anchors, k)) == 0) {
                top = i;
                out->anchor = index[k];
                break;
            }
    if (top >= TL_SIGCHECK_MAX_CHAIN) {
        /* Every certificate the verdict relies on must be checked against
         * revocations: a chain we cannot hold whole is not trusted. */
        out->status = TL_SIGCHECK_UNTRUSTED;
        snprintf(out->reason, sizeof(out->reason),
                 "signed by %.200s through a chain of %d certificates (more than %d)",
                 out->signer_subject, top + 1, TL_SIGCHECK_MAX_CHAIN);
        out->anchor = -1;
        return 0;
    }
    if (top < 0) {
        out->status = TL_SIGCHECK_UNTRUSTED;
        snprintf(out->reason, sizeof(out->reason),
                 "signed by %s, whose chain holds no trusted certificate", out->signer_subject);
        return 0;
    }
    for (int i = 0; i <= top && out->n_chain < TL_SIGCHECK_MAX_CHAIN; i++) {
        X509 *x = sk_X509_value(chain, i);
        int r = chain_cert_fill(&out->chain[out->n_chain], x);
        if (r < 0)
            return r;
        out->n_chain++;
        warn_expired(out, x, now);
    }
    out->status = TL_SIGCHECK_OK;
    snprintf(out->reason, sizeof(out->reason), "signed by %s, chains to %s", out->signer_subject,
             out->n_chain ? out->chain[out->n_chain - 1].subject : "?");
    return 0;
}

static PKCS7 *parse_signed_data(const uint8_t *der, size_t len, struct tl_sigcheck *out)
{
    const unsigned char *p = der;
    PKCS7 *p7 = d2i_PKCS7(NULL, &p, (long)len);
    if (!p7 || !PKCS7_type_is_signed(p7) || !p7->d.sign || !p7->d.sign->contents) {
        PKCS7_free(p7);
        out->status = TL_SIGCHECK_MALFORMED;
        snprintf(out->reason, sizeof(out->reason), "not a DER PKCS#7 SignedData");
        return NULL;
    }
    return p7;
}

int tl_pkcs7_check(const uint8_t *pkcs7, size_t pkcs7_len, const uint8_t *content,
                   size_t content_len, const struct tl_cert_ref *trusted, size_t n_trusted,
                   time_t now, struct tl_sigcheck *out, struct tl_error *err)
{
    *out = (struct tl_sigcheck){.anchor = -1};
    _cleanup_(err_pop_markp) int mark = ERR_set_mark();
    (void)mark;
    _cleanup_(pkcs7_freep) PKCS7 *p7 = parse_signed_data(pkcs7, pkcs7_len, out);
    if (!p7)
        return 0;
    int r = check_signed(p7, content, content_len, trusted, n_trusted, now, out);
    if (r < 0)
        return tl_error_set_nopos(err, r, "out of memory checking a signature");
    return 0;
}

static uint16_t alg_from_nid(int nid)
{
    switch (nid) {
    case NID_sha1:
        return TL_ALG_SHA1;
    case NID_sha256:
        return TL_ALG_SHA256;
    case NID_sha384:
        return TL_ALG_SHA384;
    case NID_sha512:
        return TL_ALG_SHA512;
    default:
        return 0;
    }
}

int tl_authenticode_check(const uint8_t *pkcs7, size_t pkcs7_len, tl_image_digest_fn image_digest,
                          void *ctx, const struct tl_cert_ref *trusted, size_t n_trusted,
                          time_t now, struct tl_sigcheck *out, struct tl_error *err)
{
    *out = (struct tl_sigcheck){.anchor = -1};
    _cleanup_(err_pop_markp) int mark = ERR_set_mark();
    (void)mark;
    _cleanup_(pkcs7_freep) PKCS7 *p7 = parse_signed_data(pkcs7, pkcs7_len, out);
    if (!p7)
        return 0;

    PKCS7 *contents = p7->d.sign->contents;
    char oid[64] = "";
    if (contents->type)
        OBJ_obj2txt(oid, sizeof(oid), contents->type, 1);
    if (strcmp(oid, SPC_INDIRECT_DATA_OID) != 0 || !contents->d.other ||
        contents->d.other->type != V_ASN1_SEQUENCE) {
        out->status = TL_SIGCHECK_MALFORMED;
        snprintf(out->reason, sizeof(out->reason), "content type %s is not SpcIndirectDataContent",
                 oid[0] ? oid : "(none)");
        return 0;
    }
    const ASN1_STRING *seq = contents->d.other->value.sequence;
    const unsigned char *p = seq->data;
    SPC_INDIRECT_DATA_CONTENT *spc = (SPC_INDIRECT_DATA_CONTENT *)ASN1_item_d2i(
        NULL, &p, seq->length, ASN1_ITEM_rptr(SPC_INDIRECT_DATA_CONTENT));
    if (!spc) {
        out->status = TL_SIGCHECK_MALFORMED;
        snprintf(out->reason, sizeof(out->reason), "SpcIndirectDataContent does not parse");
        return 0;
    }
    const X509_ALGOR *alg;
    const ASN1_OCTET_STRING *digest;
    X509_SIG_get0(spc->message_digest, &alg, &digest);
    out->digest_alg = alg_from_nid(OBJ_obj2nid(alg->algorithm));
    size_t dlen = (size_t)ASN1_STRING_length(digest);
    if (dlen <= TL_DIGEST_MAX) {
        memcpy(out->signed_digest, ASN1_STRING_get0_data(digest), dlen);
        out->signed_digest_len = dlen;
    }
    ASN1_item_free((ASN1_VALUE *)spc, ASN1_ITEM_rptr(SPC_INDIRECT_DATA_CONTENT));

    uint8_t actual[TL_DIGEST_MAX];
    int n = out->digest_alg && out->signed_digest_len ? image_digest(ctx, out->digest_alg, actual)
                                                      : -EOPNOTSUPP;
    if (n == -ENOMEM)
        return tl_error_set_nopos(err, n, "out of memory hashing the image");
    if (n < 0) {
        out->status = TL_SIGCHECK_MALFORMED;
        snprintf(out->reason, sizeof(out->reason), "unsupported digest algorithm in signature");
        return 0;
    }
    if ((size_t)n != out->signed_digest_len || memcmp(actual, out->signed_digest, (size_t)n)) {
        out->status = TL_SIGCHECK_DIGEST_MISMATCH;
        snprintf(out->reason, sizeof(out->reason),
                 "the image's %s digest does not match its signature",
                 tl_alg_name(out->digest_alg));
        return 0;
    }

    /* The signed bytes: the SEQUENCE's value, without tag and length. */
    const unsigned char *q = seq->data;
    long inner_len;
    int tag, cls;
    if (ASN1_get_object(&q, &inner_len, &tag, &cls, seq->length) & 0x80) {
        out->status = TL_SIGCHECK_MALFORMED;
        snprintf(out->reason, sizeof(out->reason), "SpcIndirectDataContent header is malformed");
        return 0;
    }
    int r = check_signed(p7, q, (size_t)inner_len, trusted, n_trusted, now, out);
    if (r < 0)
        return tl_error_set_nopos(err, r, "out of memory checking a signature");
    return 0;
}

int tl_pkcs7_certificates(const uint8_t *pkcs7, size_t pkcs7_len, struct tl_chain_cert **certs,
                          size_t *n, struct tl_error *err)
{
    *certs = NULL;
    *n = 0;
    _cleanup_(err_pop_markp) int mark = ERR_set_mark();
    (void)mark;
    const unsigned char *p = pkcs7;
    _cleanup_(pkcs7_freep) PKCS7 *p7 = d2i_PKCS7(NULL, &p, (long)pkcs7_len);
    if (!p7 || !PKCS7_type_is_signed(p7) || !p7->d.sign)
        return tl_error_set_nopos(err, -EBADMSG, "not a DER PKCS#7 SignedData");
    STACK_OF(X509) *sk = p7->d.sign->cert;
    int count = sk ? sk_X509_num(sk) : 0;
    if (count == 0)
        return 0;
    struct tl_chain_cert *out = calloc((size_t)count, sizeof(*out));
    if (!out)
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    for (int i = 0; i < count; i++) {
        int r = chain_cert_fill(&out[i], sk_X509_value(sk, i));
        if (r < 0) {
            for (int k = 0; k < i; k++)
                free(out[k].der);
            free(out);
            return tl_error_set_nopos(err, r, "cannot read certificate %d of the signature", i);
        }
    }
    *certs = out;
    *n = (size_t)count;
    return 0;
}
