/* SEV-SNP certificates: the built-in AMD roots (pinned), VCEKs and VLEKs
 * with their extensions, the chain links, and AMD's CRL.
 *
 * The VCEK profile (AMD "VCEK Certificate and KDS Interface Specification"
 * 57230, 3.1, Table 8): RSASSA-PSS with SHA-384, MGF1-SHA-384, salt 48,
 * signed by the ASK (a VLEK by the ASVK), subject CN "SEV-VCEK" /
 * "SEV-VLEK", an ECDSA P-384 public key, and extensions under
 * 1.3.6.1.4.1.3704.1: .1 structVersion, .2 productName (IA5String,
 * "Milan-B0", "Genoa", "Turin"), .3.1 blSPL, .3.2 teeSPL, .3.3 snpSPL,
 * .3.4-.3.7 reserved SPLs, .3.8 ucodeSPL, .3.9 fmcSPL (Turin), .4 hwID
 * (64 bytes; 8 on Turin; AMD's KDS puts the bytes directly in the
 * extension's OCTET STRING, other issuers wrap them in a second OCTET
 * STRING: both are read), .5 CSP_ID (VLEK). The VCEK has no authority key
 * identifier, so OpenSSL's path building (RFC 5280) is not used: each link
 * is verified explicitly with X509_verify, the algorithm checked first, and
 * the issuer's subject compared with the certificate's issuer.
 *
 * Invariants: the roots in a context have their pinned fingerprints and
 * verified signatures (checked once in tl_snp_ctx_new); the OpenSSL error
 * queue is left empty. */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "snp_internal.h"
#include "tl/util.h"

time_t snp_asn1_time(const ASN1_TIME *t)
{
    struct tm tm;
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
        return (time_t)-1;
    return timegm(&tm);
}

static void sha256(const uint8_t *p, size_t n, uint8_t out[32])
{
    unsigned int len = 32;
    EVP_Digest(p, n, out, &len, EVP_sha256(), NULL);
}

static bool looks_pem(const uint8_t *data, size_t len)
{
    return len >= 11 && memmem(data, len < 256 ? len : 256, "-----BEGIN", 10) != NULL;
}

/* One certificate from PEM or DER (exact length). */
static X509 *cert_parse(const uint8_t *data, size_t len)
{
    if (len == 0 || len > 64 * 1024)
        return NULL;
    if (looks_pem(data, len)) {
        BIO *bio = BIO_new_mem_buf(data, (int)len);
        X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
        BIO_free(bio);
        return x;
    }
    const unsigned char *p = data;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (x && p != data + len) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static bool cert_fingerprint_is(X509 *x, const uint8_t want[32])
{
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);
    if (n <= 0)
        return false;
    uint8_t got[32];
    sha256(der, (size_t)n, got);
    OPENSSL_free(der);
    return memcmp(got, want, 32) == 0;
}

/* RSASSA-PSS with SHA-384 (the only algorithm AMD signs its chain with). */
static bool sig_alg_ok(const X509 *x)
{
    int md = 0, pk = 0;
    return X509_get_signature_nid(x) == NID_rsassaPss &&
           X509_get_signature_info((X509 *)x, &md, &pk, NULL, NULL) == 1 && md == NID_sha384;
}

static int ctx_load_roots(struct tl_snp_ctx *ctx, struct tl_error *err)
{
    for (int i = 0; i < TL_AMD_ROOT_COUNT; i++) {
        const struct tl_amd_root *def = &tl_amd_roots[i];
        struct snp_root *r = &ctx->roots[i];
        const char *pems[3] = {def->ark_pem, def->ask_pem, def->asvk_pem};
        const uint8_t *fps[3] = {def->ark_sha256, def->ask_sha256, def->asvk_sha256};
        X509 *xs[3] = {NULL, NULL, NULL};
        for (int k = 0; k < 3; k++) {
            xs[k] = cert_parse((const uint8_t *)pems[k], strlen(pems[k]));
            if (!xs[k] || !cert_fingerprint_is(xs[k], fps[k])) {
                for (int j = 0; j <= k; j++)
                    X509_free(xs[j]);
                return tl_error_set_nopos(err, -EBADMSG,
                                          "built-in AMD %s certificate %d does not match its "
                                          "pinned fingerprint",
                                          def->product, k);
            }
        }
        r->ark = xs[0];
        r->signer[SNP_ROLE_ASK] = xs[1];
        r->signer[SNP_ROLE_ASVK] = xs[2];
        EVP_PKEY *ark_pub = X509_get0_pubkey(r->ark);
        if (!sig_alg_ok(r->ark) || X509_verify(r->ark, ark_pub) != 1 || !sig_alg_ok(xs[1]) ||
            X509_verify(xs[1], ark_pub) != 1 || !sig_alg_ok(xs[2]) ||
            X509_verify(xs[2], ark_pub) != 1)
            return tl_error_set_nopos(
                err, -EBADMSG, "built-in AMD %s chain: a signature does not verify", def->product);
        r->ark_not_before = snp_asn1_time(X509_get0_notBefore(r->ark));
        r->ark_not_after = snp_asn1_time(X509_get0_notAfter(r->ark));
        for (int k = 0; k < SNP_ROLE_COUNT; k++) {
            r->signer_not_before[k] = snp_asn1_time(X509_get0_notBefore(r->signer[k]));
            r->signer_not_after[k] = snp_asn1_time(X509_get0_notAfter(r->signer[k]));
        }
    }
    return 0;
}

int tl_snp_ctx_new(struct tl_snp_ctx **out, struct tl_error *err)
{
    *out = NULL;
    struct tl_snp_ctx *ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return -ENOMEM;
    ctx->sha384 = EVP_MD_fetch(NULL, "SHA384", NULL);
    char oid[64];
    bool ok = ctx->sha384 != NULL;
    for (int i = 1; ok && i < SNP_SPL_MAX; i++) {
        snprintf(oid, sizeof(oid), "1.3.6.1.4.1.3704.1.3.%d", i);
        ok = (ctx->oid_spl[i] = OBJ_txt2obj(oid, 1)) != NULL;
    }
    ok = ok && (ctx->oid_product = OBJ_txt2obj("1.3.6.1.4.1.3704.1.2", 1)) &&
         (ctx->oid_hwid = OBJ_txt2obj("1.3.6.1.4.1.3704.1.4", 1)) &&
         (ctx->oid_csp = OBJ_txt2obj("1.3.6.1.4.1.3704.1.5", 1));
    if (!ok) {
        tl_snp_ctx_free(ctx);
        ERR_clear_error();
        return -ENOMEM;
    }
    int r = ctx_load_roots(ctx, err);
    ERR_clear_error();
    if (r < 0) {
        tl_snp_ctx_free(ctx);
        return r;
    }
    *out = ctx;
    return 0;
}

void tl_snp_ctx_free(struct tl_snp_ctx *ctx)
{
    if (!ctx)
        return;
    for (int i = 0; i < TL_AMD_ROOT_COUNT; i++) {
        X509_free(ctx->roots[i].ark);
        for (int k = 0; k < SNP_ROLE_COUNT; k++)
            X509_free(ctx->roots[i].signer[k]);
    }
    for (int i = 0; i < SNP_CACHE; i++) {
        X509_free(ctx->cache[i].x509);
        EVP_PKEY_CTX_free(ctx->cache[i].verify);
    }
    for (int i = 0; i < SNP_SPL_MAX; i++)
        ASN1_OBJECT_free(ctx->oid_spl[i]);
    ASN1_OBJECT_free(ctx->oid_product);
    ASN1_OBJECT_free(ctx->oid_hwid);
    ASN1_OBJECT_free(ctx->oid_csp);
    EVP_MD_free(ctx->sha384);
    free(ctx);
}

/* The contents of extension obj's OCTET STRING, or NULL. A repeated
 * extension is refused (RFC 5280 4.2: at most one instance). */
static const ASN1_OCTET_STRING *ext_data(X509 *x, const ASN1_OBJECT *obj, bool *dup)
{
    int i = X509_get_ext_by_OBJ(x, obj, -1);
    if (i < 0)
        return NULL;
    if (X509_get_ext_by_OBJ(x, obj, i) >= 0)
        *dup = true;
    return X509_EXTENSION_get_data(X509_get_ext(x, i));
}

/* A DER INTEGER 0..255 filling the whole extension value. */
static bool ext_small_int(const ASN1_OCTET_STRING *os, uint8_t *out)
{
    const unsigned char *p = ASN1_STRING_get0_data(os);
    long n = ASN1_STRING_length(os);
    ASN1_INTEGER *ai = d2i_ASN1_INTEGER(NULL, &p, n);
    if (!ai)
        return false;
    int64_t v = -1;
    bool ok = p == ASN1_STRING_get0_data(os) + n && ASN1_INTEGER_get_int64(&v, ai) == 1 && v >= 0 &&
              v <= 255;
    ASN1_INTEGER_free(ai);
    if (ok)
        *out = (uint8_t)v;
    return ok;
}

static enum tl_snp_product product_from_text(const char *s)
{
    if (strncmp(s, "Milan", 5) == 0)
        return TL_SNP_PRODUCT_MILAN;
    if (strncmp(s, "Genoa", 5) == 0)
        return TL_SNP_PRODUCT_GENOA;
    if (strncmp(s, "Turin", 5) == 0)
        return TL_SNP_PRODUCT_TURIN;
    return TL_SNP_PRODUCT_UNKNOWN;
}

static bool name_cn(const X509_NAME *name, char *buf, size_t size)
{
    return X509_NAME_get_text_by_NID((X509_NAME *)name, NID_commonName, buf, (int)size) > 0;
}

/* Fills c from x (owned by c on success). */
static int cert_fill(struct tl_snp_ctx *ctx, X509 *x, struct snp_cert *c, struct tl_error *err)
{
    char cn[64];
    if (!name_cn(X509_get_subject_name(x), cn, sizeof(cn)))
        return tl_error_set_nopos(err, -EBADMSG, "certificate: no subject CN");
    if (strcmp(cn, "SEV-VCEK") == 0)
        c->is_vlek = false;
    else if (strcmp(cn, "SEV-VLEK") == 0)
        c->is_vlek = true;
    else
        return tl_error_set_nopos(err, -EBADMSG,
                                  "certificate \"%s\" is not a VCEK or VLEK (CN SEV-VCEK or "
                                  "SEV-VLEK)",
                                  cn);
    EVP_PKEY *pub = X509_get0_pubkey(x);
    char group[32] = "";
    size_t glen = 0;
    if (!pub || EVP_PKEY_get_base_id(pub) != EVP_PKEY_EC ||
        !EVP_PKEY_get_utf8_string_param(pub, "group", group, sizeof(group), &glen) ||
        strcmp(group, "secp384r1") != 0)
        return tl_error_set_nopos(err, -EBADMSG, "%s: the key is not ECDSA P-384", cn);
    bool dup = false;
    for (int i = 1; i < SNP_SPL_MAX; i++) {
        const ASN1_OCTET_STRING *os = ext_data(x, ctx->oid_spl[i], &dup);
        if (!os)
            continue;
        if (!ext_small_int(os, &c->spl[i]))
            return tl_error_set_nopos(err, -EBADMSG,
                                      "%s: SPL extension 1.3.6.1.4.1.3704.1.3.%d is not an "
                                      "INTEGER 0..255",
                                      cn, i);
        c->spl_present[i] = true;
    }
    const ASN1_OCTET_STRING *os = ext_data(x, ctx->oid_product, &dup);
    if (os) {
        const unsigned char *p = ASN1_STRING_get0_data(os);
        long n = ASN1_STRING_length(os);
        ASN1_IA5STRING *s = d2i_ASN1_IA5STRING(NULL, &p, n);
        bool ok = s && p == ASN1_STRING_get0_data(os) + n &&
                  (size_t)ASN1_STRING_length(s) < sizeof(c->product_name);
        if (ok) {
            memcpy(c->product_name, ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s));
            c->product_name[ASN1_STRING_length(s)] = 0;
            ok = strlen(c->product_name) == (size_t)ASN1_STRING_length(s);
        }
        ASN1_IA5STRING_free(s);
        if (!ok)
            return tl_error_set_nopos(err, -EBADMSG, "%s: productName is not an IA5String", cn);
        c->product = product_from_text(c->product_name);
    }
    if (c->product == TL_SNP_PRODUCT_UNKNOWN) {
        char icn[64];
        if (name_cn(X509_get_issuer_name(x), icn, sizeof(icn))) {
            const char *d = strrchr(icn, '-');
            c->product = d ? product_from_text(d + 1) : TL_SNP_PRODUCT_UNKNOWN;
        }
    }
    os = ext_data(x, ctx->oid_hwid, &dup);
    if (os) {
        const uint8_t *p = ASN1_STRING_get0_data(os);
        size_t n = (size_t)ASN1_STRING_length(os);
        /* wrapped: 04 <len> <bytes>, the length one byte (8 or 64) */
        if (n >= 2 && p[0] == 0x04 && p[1] < 0x80 && (size_t)p[1] + 2 == n) {
            p += 2;
            n -= 2;
        }
        if (n != 64 && n != 8)
            return tl_error_set_nopos(err, -EBADMSG, "%s: hwID is %zu bytes, not 64 or 8", cn, n);
        memcpy(c->hwid, p, n);
        c->hwid_len = n;
    }
    os = ext_data(x, ctx->oid_csp, &dup);
    if (os) {
        const unsigned char *p = ASN1_STRING_get0_data(os);
        long n = ASN1_STRING_length(os);
        ASN1_STRING *s = d2i_ASN1_UTF8STRING(NULL, &p, n);
        if (!s) {
            p = ASN1_STRING_get0_data(os);
            s = d2i_ASN1_IA5STRING(NULL, &p, n);
        }
        if (s && (size_t)ASN1_STRING_length(s) < sizeof(c->csp_id)) {
            memcpy(c->csp_id, ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s));
            c->csp_id[ASN1_STRING_length(s)] = 0;
        }
        ASN1_STRING_free(s);
    }
    if (dup)
        return tl_error_set_nopos(err, -EBADMSG, "%s: an AMD extension appears twice", cn);
    c->not_before = snp_asn1_time(X509_get0_notBefore(x));
    c->not_after = snp_asn1_time(X509_get0_notAfter(x));
    if (c->not_before == (time_t)-1 || c->not_after == (time_t)-1)
        return tl_error_set_nopos(err, -EBADMSG, "%s: unreadable validity dates", cn);
    c->x509 = x;
    c->pub = pub;
    return 0;
}

int snp_cert_get(struct tl_snp_ctx *ctx, const uint8_t *data, size_t len, struct snp_cert **out,
                 struct tl_error *err)
{
    uint8_t key[32];
    sha256(data, len, key);
    for (int i = 0; i < SNP_CACHE; i++)
        if (ctx->cache[i].used && memcmp(ctx->cache[i].key, key, 32) == 0) {
            *out = &ctx->cache[i];
            return 0;
        }
    X509 *x = cert_parse(data, len);
    if (!x) {
        ERR_clear_error();
        return tl_error_set_nopos(err, -EBADMSG, "not an X.509 certificate (PEM or DER)");
    }
    struct snp_cert c = {.used = true};
    memcpy(c.key, key, 32);
    int r = cert_fill(ctx, x, &c, err);
    ERR_clear_error();
    if (r < 0) {
        X509_free(x);
        return r;
    }
    struct snp_cert *slot = &ctx->cache[ctx->next];
    ctx->next = (ctx->next + 1) % SNP_CACHE;
    X509_free(slot->x509);
    EVP_PKEY_CTX_free(slot->verify);
    *slot = c;
    *out = slot;
    return 0;
}

bool snp_cert_classify(struct tl_snp_ctx *ctx, const uint8_t *data, size_t len,
                       bool *is_endorsement, int *root_index, int *role)
{
    *is_endorsement = false;
    *root_index = -1;
    *role = -2;
    X509 *x = cert_parse(data, len);
    if (!x) {
        ERR_clear_error();
        return false;
    }
    char cn[64] = "";
    name_cn(X509_get_subject_name(x), cn, sizeof(cn));
    *is_endorsement = strcmp(cn, "SEV-VCEK") == 0 || strcmp(cn, "SEV-VLEK") == 0;
    for (int i = 0; i < TL_AMD_ROOT_COUNT && *root_index < 0; i++) {
        struct snp_root *r = &ctx->roots[i];
        if (X509_cmp(x, r->ark) == 0) {
            *root_index = i;
            *role = -1;
        }
        for (int k = 0; k < SNP_ROLE_COUNT; k++)
            if (X509_cmp(x, r->signer[k]) == 0) {
                *root_index = i;
                *role = k;
            }
    }
    X509_free(x);
    return true;
}

bool snp_cert_chains(struct tl_snp_ctx *ctx, struct snp_cert *cert, int root, enum snp_role role,
                     const char **detail)
{
    enum snp_link *link = &cert->link[root][role];
    if (*link == SNP_LINK_UNKNOWN) {
        X509 *signer = ctx->roots[root].signer[role];
        const char *what = NULL;
        if (X509_NAME_cmp(X509_get_issuer_name(cert->x509), X509_get_subject_name(signer)) != 0)
            what = "its issuer is not the signer's subject";
        else if (!sig_alg_ok(cert->x509))
            what = "not signed with RSASSA-PSS SHA-384";
        else if (X509_verify(cert->x509, X509_get0_pubkey(signer)) != 1)
            what = "the signature does not verify";
        ERR_clear_error();
        *link = what ? SNP_LINK_BAD : SNP_LINK_OK;
        if (what)
            snprintf(cert->link_detail, sizeof(cert->link_detail), "%s", what);
    }
    *detail = cert->link_detail;
    return *link == SNP_LINK_OK;
}

/* Is x one of the built-in AMD certificates? */
static bool is_amd(struct tl_snp_ctx *ctx, X509 *x)
{
    for (int i = 0; i < TL_AMD_ROOT_COUNT; i++) {
        if (X509_cmp(x, ctx->roots[i].ark) == 0)
            return true;
        for (int k = 0; k < SNP_ROLE_COUNT; k++)
            if (X509_cmp(x, ctx->roots[i].signer[k]) == 0)
                return true;
    }
    return false;
}

/* issuer signed x: names, RSASSA-PSS SHA-384, signature. */
static bool signed_by(X509 *x, X509 *issuer)
{
    return X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(issuer)) == 0 &&
           sig_alg_ok(x) && X509_verify(x, X509_get0_pubkey(issuer)) == 1;
}

bool snp_cert_foreign_chain(struct tl_snp_ctx *ctx, const struct tl_tee_collateral *col,
                            const struct snp_cert *cert, struct snp_foreign_chain *out)
{
    X509 *ask = NULL, *ark = NULL;
    for (size_t i = 0; col && i < col->n && !ask; i++) {
        X509 *x = cert_parse(col->items[i].data, col->items[i].len);
        if (x && !is_amd(ctx, x) && signed_by(cert->x509, x))
            ask = x;
        else
            X509_free(x);
    }
    for (size_t i = 0; ask && col && i < col->n && !ark; i++) {
        X509 *x = cert_parse(col->items[i].data, col->items[i].len);
        if (x && !is_amd(ctx, x) && X509_cmp(x, ask) != 0 && signed_by(ask, x) && signed_by(x, x))
            ark = x;
        else
            X509_free(x);
    }
    bool ok = ark != NULL;
    if (ok) {
        unsigned char *der = NULL;
        int n = i2d_X509(ark, &der);
        ok = n > 0;
        if (ok)
            sha256(der, (size_t)n, out->ark_sha256);
        OPENSSL_free(der);
        if (!name_cn(X509_get_subject_name(ark), out->ark_cn, sizeof(out->ark_cn)))
            snprintf(out->ark_cn, sizeof(out->ark_cn), "(no CN)");
        out->ark_not_before = snp_asn1_time(X509_get0_notBefore(ark));
        out->ark_not_after = snp_asn1_time(X509_get0_notAfter(ark));
        out->ask_not_before = snp_asn1_time(X509_get0_notBefore(ask));
        out->ask_not_after = snp_asn1_time(X509_get0_notAfter(ask));
    }
    X509_free(ark);
    X509_free(ask);
    ERR_clear_error();
    return ok;
}

static X509_CRL *crl_parse(const uint8_t *data, size_t len)
{
    if (len == 0 || len > 1024 * 1024)
        return NULL;
    X509_CRL *crl = NULL;
    if (looks_pem(data, len)) {
        BIO *bio = BIO_new_mem_buf(data, (int)len);
        crl = bio ? PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL) : NULL;
        BIO_free(bio);
    } else {
        const unsigned char *p = data;
        crl = d2i_X509_CRL(NULL, &p, (long)len);
        if (crl && p != data + len) {
            X509_CRL_free(crl);
            crl = NULL;
        }
    }
    ERR_clear_error();
    return crl;
}

bool snp_crl_check(struct tl_snp_ctx *ctx, const uint8_t *data, size_t len, int root,
                   enum snp_role role, struct tl_tee_verdict *v)
{
    X509_CRL *crl = crl_parse(data, len);
    if (!crl)
        return false;
    struct snp_root *r = &ctx->roots[root];
    const char *product = tl_amd_roots[root].product;
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(r->ark)) != 0) {
        X509_CRL_free(crl);
        return false;
    }
    if (X509_CRL_verify(crl, X509_get0_pubkey(r->ark)) != 1) {
        tl_tee_fail(v, TL_TEE_CHAIN, "AMD %s CRL: the ARK's signature does not verify", product);
    } else {
        time_t last = snp_asn1_time(X509_CRL_get0_lastUpdate(crl));
        time_t next = snp_asn1_time(X509_CRL_get0_nextUpdate(crl));
        char a[32], b[32];
        tl_tee_time_format(last, a, sizeof(a));
        tl_tee_time_format(next, b, sizeof(b));
        if (last == (time_t)-1 || next == (time_t)-1 || v->at < last || v->at >= next)
            tl_tee_fail(v, TL_TEE_COLLATERAL_EXPIRED, "AMD %s CRL is current from %s to %s",
                        product, a, b);
        X509_REVOKED *rev = NULL;
        if (X509_CRL_get0_by_serial(crl, &rev, X509_get0_serialNumber(r->signer[role])) == 1)
            tl_tee_fail(v, TL_TEE_REVOKED, "AMD %s CRL revokes the %s", product,
                        role == SNP_ROLE_ASK ? "ASK" : "ASVK");
    }
    ERR_clear_error();
    X509_CRL_free(crl);
    return true;
}
