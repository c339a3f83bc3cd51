/* Kernel module signatures: the appended-trailer parser and the kernel's
 * verdict (see modsig.h for the layout and the rules, with their sources).
 *
 * The trailer is read from the end, as the kernel does (mod_verify_sig):
 * marker, then the 12-byte struct module_signature before it, then sig_len
 * bytes of PKCS#7 before that. Every length is checked against what is left
 * before it is used, so any truncated or shifted trailer is a verdict, never
 * a read outside the buffer. The PKCS#7 is then held to the kernel's rules
 * for module signatures (pkcs7_verify, VERIFYING_MODULE_SIGNATURE) before
 * tl_pkcs7_check verifies it: there the signer, which module signatures do
 * not carry, is looked up among the trusted certificates by issuer and
 * serial number, as the kernel looks up its keyrings. */
#include "tl/modsig.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tl/util.h"

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

int tl_modsig_parse(const uint8_t *buf, size_t len, struct tl_modsig *sig, struct tl_error *err)
{
    assert(buf || len == 0);
    assert(sig);
    *sig = (struct tl_modsig){0};

    /* module_sig_check: the marker must be there and not be all there is. */
    if (len <= TL_MODSIG_MARKER_LEN ||
        memcmp(buf + len - TL_MODSIG_MARKER_LEN, TL_MODSIG_MARKER, TL_MODSIG_MARKER_LEN) != 0)
        return 0;
    size_t modlen = len - TL_MODSIG_MARKER_LEN;

    /* mod_verify_sig: room for struct module_signature. */
    if (modlen <= TL_MODSIG_INFO_LEN)
        return tl_error_set(err, -EBADMSG, 0,
                            "%zu bytes before the signature marker, too few for the %d-byte "
                            "signature info and a module",
                            modlen, TL_MODSIG_INFO_LEN);
    size_t info_off = modlen - TL_MODSIG_INFO_LEN;
    const uint8_t *ms = buf + info_off;

    /* mod_check_sig, in its order: length, type, then the unused fields. */
    uint32_t sig_len = be32(ms + 8);
    if (sig_len >= info_off)
        return tl_error_set(err, -EBADMSG, info_off + 8,
                            "signature length %" PRIu32 " leaves no module bytes (%zu before the "
                            "signature info)",
                            sig_len, info_off);
    if (ms[2] != TL_MODSIG_PKEY_ID_PKCS7)
        return tl_error_set(err, -ENOPKG, info_off + 2, "signature type %u is not PKCS#7 (%d)",
                            ms[2], TL_MODSIG_PKEY_ID_PKCS7);
    static const char *const fields[] = {"algo",       "hash", NULL,  "signer_len",
                                         "key_id_len", "pad",  "pad", "pad"};
    for (size_t i = 0; i < TL_ARRAY_SIZE(fields); i++)
        if (fields[i] && ms[i] != 0)
            return tl_error_set(err, -EBADMSG, info_off + i,
                                "PKCS#7 signature info has %s %u, must be 0", fields[i], ms[i]);

    *sig = (struct tl_modsig){
        .content = buf,
        .content_len = info_off - sig_len,
        .pkcs7 = buf + info_off - sig_len,
        .pkcs7_len = sig_len,
        .algo = ms[0],
        .hash = ms[1],
        .id_type = ms[2],
        .signer_len = ms[3],
        .key_id_len = ms[4],
    };
    return 1;
}

static const char *compression_of(const uint8_t *buf, size_t len)
{
    static const struct {
        const char *name;
        const char *magic;
        size_t len;
    } kinds[] = {
        {"xz", "\xfd\x37\x7a\x58\x5a\x00", 6},
        {"zstd", "\x28\xb5\x2f\xfd", 4},
        {"gzip", "\x1f\x8b", 2},
    };
    for (size_t i = 0; i < TL_ARRAY_SIZE(kinds); i++)
        if (len >= kinds[i].len && memcmp(buf, kinds[i].magic, kinds[i].len) == 0)
            return kinds[i].name;
    return NULL;
}

static void pkcs7_freep(PKCS7 **p)
{
    PKCS7_free(*p);
}

/* The signer's issuer (RFC 2253) and serial (hex), from the SignerInfo:
 * all a module signature says about its key. */
static void signer_id(PKCS7_SIGNER_INFO *si, struct tl_modsig_result *out)
{
    PKCS7_ISSUER_AND_SERIAL *ias = si->issuer_and_serial;
    if (!ias)
        return;
    BIO *bio = BIO_new(BIO_s_mem());
    if (bio && ias->issuer && X509_NAME_print_ex(bio, ias->issuer, 0, XN_FLAG_RFC2253) >= 0) {
        char *p;
        long n = BIO_get_mem_data(bio, &p);
        snprintf(out->signer_issuer, sizeof(out->signer_issuer), "%.*s", (int)n, p);
    }
    BIO_free(bio);
    BIGNUM *bn = ias->serial ? ASN1_INTEGER_to_BN(ias->serial, NULL) : NULL;
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    if (hex)
        snprintf(out->signer_serial, sizeof(out->signer_serial), "%s", hex);
    OPENSSL_free(hex);
    BN_free(bn);
    ERR_clear_error();
}

static void verdict(struct tl_modsig_result *out, enum tl_modsig_status status, const char *fmt,
                    ...) __attribute__((format(printf, 3, 4)));
static void verdict(struct tl_modsig_result *out, enum tl_modsig_status status, const char *fmt,
                    ...)
{
    va_list ap;
    out->status = status;
    va_start(ap, fmt);
    vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
    va_end(ap);
}

/* pkcs7_verify's rules for VERIFYING_MODULE_SIGNATURE, and pkcs7_supply_
 * detached_data's (the content must not be embedded). Returns 0 when the
 * PKCS#7 may go on to be verified, 1 with the verdict set otherwise. */
static int check_kernel_rules(const uint8_t *der, size_t len, struct tl_modsig_result *out)
{
    if (len > LONG_MAX) {
        verdict(out, TL_MODSIG_MALFORMED, "signature of %zu bytes is too large", len);
        return 1;
    }
    const unsigned char *p = der;
    _cleanup_(pkcs7_freep) PKCS7 *p7 = d2i_PKCS7(NULL, &p, (long)len);
    ERR_clear_error();
    if (!p7) {
        verdict(out, TL_MODSIG_MALFORMED, "the %zu signature bytes are not a DER PKCS#7", len);
        return 1;
    }
    if ((size_t)(p - der) != len) {
        verdict(out, TL_MODSIG_MALFORMED,
                "%zu bytes follow the PKCS#7 inside the signature length %zu",
                len - (size_t)(p - der), len);
        return 1;
    }
    if (!PKCS7_type_is_signed(p7) || !p7->d.sign || !p7->d.sign->contents) {
        verdict(out, TL_MODSIG_MALFORMED, "the PKCS#7 is not SignedData");
        return 1;
    }
    if (!PKCS7_type_is_data(p7->d.sign->contents)) {
        char oid[64] = "(none)";
        if (p7->d.sign->contents->type)
            OBJ_obj2txt(oid, sizeof(oid), p7->d.sign->contents->type, 1);
        verdict(out, TL_MODSIG_MALFORMED, "content type %s is not id-data", oid);
        return 1;
    }
    if (p7->d.sign->contents->d.data) {
        verdict(out, TL_MODSIG_MALFORMED,
                "the PKCS#7 embeds its content; module signatures are detached");
        return 1;
    }
    STACK_OF(PKCS7_SIGNER_INFO) *infos = PKCS7_get_signer_info(p7);
    int n = infos ? sk_PKCS7_SIGNER_INFO_num(infos) : 0;
    if (n <= 0) {
        /* pkcs7_validate_trust finds no trusted signer: -ENOKEY. */
        verdict(out, TL_MODSIG_UNTRUSTED, "the PKCS#7 has no signer");
        return 1;
    }
    for (int i = 0; i < n; i++) {
        PKCS7_SIGNER_INFO *si = sk_PKCS7_SIGNER_INFO_value(infos, i);
        if (i == 0)
            signer_id(si, out);
        if (sk_X509_ATTRIBUTE_num(PKCS7_get_signed_attributes(si)) > 0) {
            verdict(out, TL_MODSIG_MALFORMED,
                    "signer %d has authenticated attributes, which the kernel rejects in "
                    "module signatures",
                    i);
            return 1;
        }
    }
    PKCS7_SIGNER_INFO *si = sk_PKCS7_SIGNER_INFO_value(infos, 0);
    const char *name = si->digest_alg ? OBJ_nid2ln(OBJ_obj2nid(si->digest_alg->algorithm)) : NULL;
    snprintf(out->digest, sizeof(out->digest), "%s", name ? name : "");
    return 0;
}

int tl_modsig_verify(const uint8_t *module, size_t len, const struct tl_cert_ref *trusted,
                     size_t n_trusted, struct tl_modsig_result *out, struct tl_error *err)
{
    assert(module || len == 0);
    assert(trusted || n_trusted == 0);
    assert(out);
    *out = (struct tl_modsig_result){.signer_index = -1};

    struct tl_modsig sig;
    struct tl_error perr = {0};
    int r = tl_modsig_parse(module, len, &sig, &perr);
    if (r == 0) {
        const char *c = compression_of(module, len);
        if (c)
            verdict(out, TL_MODSIG_MALFORMED,
                    "%s-compressed module: its signature is inside, decompress it first", c);
        else
            verdict(out, TL_MODSIG_UNSIGNED,
                    "no appended signature (no \"~Module signature appended~\" marker at the end)");
        return 0;
    }
    if (r < 0) {
        verdict(out, r == -ENOPKG ? TL_MODSIG_UNSUPPORTED : TL_MODSIG_MALFORMED, "%s (offset %zu)",
                perr.message, perr.offset);
        return 0;
    }
    out->content_len = sig.content_len;
    out->sig_len = sig.pkcs7_len;
    if (sig.content_len > INT_MAX) {
        verdict(out, TL_MODSIG_MALFORMED, "module of %zu bytes is too large", sig.content_len);
        return 0;
    }

    if (check_kernel_rules(sig.pkcs7, sig.pkcs7_len, out))
        return 0;

    struct tl_sigcheck c;
    r = tl_pkcs7_check(sig.pkcs7, sig.pkcs7_len, sig.content, sig.content_len, trusted, n_trusted,
                       0, &c, err);
    if (r < 0)
        return r;
    switch (c.status) {
    case TL_SIGCHECK_OK:
        out->status = TL_MODSIG_OK;
        break;
    case TL_SIGCHECK_MALFORMED:
        out->status = TL_MODSIG_MALFORMED;
        break;
    case TL_SIGCHECK_DIGEST_MISMATCH: /* Authenticode only; a signature failure anyway */
    case TL_SIGCHECK_BAD_SIGNATURE:
        out->status = TL_MODSIG_BAD_SIGNATURE;
        break;
    case TL_SIGCHECK_UNTRUSTED:
        out->status = TL_MODSIG_UNTRUSTED;
        break;
    }
    if (out->status == TL_MODSIG_UNTRUSTED && !c.signer_subject[0])
        /* The key is none of ours: say which key it is. */
        verdict(out, TL_MODSIG_UNTRUSTED,
                "signed by the key of issuer \"%s\" serial %s, which is none of the %zu "
                "trusted certificates",
                out->signer_issuer, out->signer_serial, n_trusted);
    else
        snprintf(out->reason, sizeof(out->reason), "%s", c.reason);
    if (c.signer_subject[0]) {
        snprintf(out->signer_subject, sizeof(out->signer_subject), "%s", c.signer_subject);
        memcpy(out->signer_sha256, c.signer_sha256, sizeof(out->signer_sha256));
    }
    out->signer_index = out->status == TL_MODSIG_OK ? c.anchor : -1;
    tl_sigcheck_done(&c);
    return 0;
}

bool tl_modsig_loads(const struct tl_modsig_result *r, bool enforcing)
{
    switch (r->status) {
    case TL_MODSIG_OK:
        return true;
    case TL_MODSIG_UNSIGNED:
    case TL_MODSIG_UNSUPPORTED:
    case TL_MODSIG_UNTRUSTED:
        return !enforcing;
    case TL_MODSIG_MALFORMED:
    case TL_MODSIG_BAD_SIGNATURE:
        return false;
    }
    return false;
}

const char *tl_modsig_status_name(enum tl_modsig_status s)
{
    switch (s) {
    case TL_MODSIG_OK:
        return "ok";
    case TL_MODSIG_UNSIGNED:
        return "unsigned";
    case TL_MODSIG_UNSUPPORTED:
        return "unsupported";
    case TL_MODSIG_MALFORMED:
        return "malformed";
    case TL_MODSIG_BAD_SIGNATURE:
        return "bad-signature";
    case TL_MODSIG_UNTRUSTED:
        return "untrusted";
    }
    return "?";
}
