/* Time-based authenticated variable updates (UEFI 2.10, 8.2.2) and the
 * APPEND_WRITE merge of signature databases (UEFI 2.10, 8.2.1 and 32.4.1),
 * checked the way EDK2 does it (SecurityPkg AuthVariableLib
 * VerifyTimeBasedPayload / FilterSignatureList, CryptoPkg Pkcs7Verify).
 *
 * An update (a signed .auth file such as Microsoft's dbxupdate.bin) is
 *
 *   EFI_VARIABLE_AUTHENTICATION_2
 *     TimeStamp          EFI_TIME                    16
 *     AuthInfo           WIN_CERTIFICATE_UEFI_GUID
 *       dwLength         u32   4   header + CertData
 *       wRevision        u16   2   0x0200
 *       wCertificateType u16   2   WIN_CERT_TYPE_EFI_GUID 0x0EF1
 *       CertType         GUID 16   EFI_CERT_TYPE_PKCS7_GUID
 *       CertData         dwLength - 24 bytes: DER PKCS#7 SignedData
 *   Data                 the rest: the new variable content
 *
 * The signature is detached: it covers VariableName (UTF-16LE, no NUL) ||
 * VendorGuid || Attributes (u32 LE) || TimeStamp || Data, so a file says
 * nothing by itself about which variable it is for; the caller names it.
 *
 * CertData is usually a bare SignedData (Microsoft's files are), not the
 * ContentInfo around it that d2i_PKCS7 wants; EDK2 (WrapPkcs7Data) adds the
 * ContentInfo when the bytes do not start with one, and so do we. We decode
 * DER lengths properly instead of EDK2's fixed-offset byte test, and refuse
 * bytes after the SignedData (fail closed: they would be covered by
 * nothing).
 *
 * Verification mirrors Pkcs7Verify, once per X.509 entry of the authorising
 * database: a store holding that one certificate, partial chains allowed
 * (the anchor may be an intermediate, as Microsoft KEK CA 2011 is), no time
 * checks (firmware has no trusted clock), any purpose, intermediates taken
 * from the PKCS#7 certificates. Before that we check the signature alone, so
 * that a verdict can say "the data differs from what was signed" apart from
 * "signed by someone not trusted". Before any of it come the rules of 8.2.2
 * that EDK2 applies too (ProcessVarWithKek, VerifyTimeBasedPayload): the
 * Attributes include TIME_BASED_AUTHENTICATED_WRITE_ACCESS; the TimeStamp's
 * Pad1, Nanosecond, TimeZone, Daylight and Pad2 are zero; the digest is
 * SHA-256. (EDK2 compares bytes at a fixed offset for the digest; we read
 * SignedData.digestAlgorithms and every SignerInfo. Recent EDK2 also takes
 * SHA-384/512, which UEFI 2.10 does not: we refuse them.)
 *
 * The OpenSSL error queue is left as the caller had it (mark / pop). */
#include "tl/authvar.h"
#include "tl/sigverify.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl/util.h"

#define EFI_TIME_SIZE          16
#define WIN_CERT_HEADER_SIZE   24 /* dwLength, wRevision, wCertificateType, CertType */
#define AUTH2_HEADER_SIZE      (EFI_TIME_SIZE + WIN_CERT_HEADER_SIZE)
#define WIN_CERT_REVISION      0x0200
#define WIN_CERT_TYPE_EFI_GUID 0x0EF1

#define LIST_HEADER_SIZE 28 /* EFI_SIGNATURE_LIST: SignatureType + three u32 */

#define EFI_VARIABLE_TIME_BASED_AUTHENTICATED_WRITE_ACCESS 0x20

/* 4aafd29d-68df-49ee-8aa9-347d375665a7 (UEFI 2.10, 8.2.2 / 32.2.4) */
static const tl_guid EFI_CERT_TYPE_PKCS7_GUID = {{0x9d, 0xd2, 0xaf, 0x4a, 0xdf, 0x68, 0xee, 0x49,
                                                  0x8a, 0xa9, 0x34, 0x7d, 0x37, 0x56, 0x65, 0xa7}};

/* DER of OID 1.2.840.113549.1.7.2 (pkcs7-signedData), tag and length included. */
static const uint8_t OID_SIGNED_DATA[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
                                          0xf7, 0x0d, 0x01, 0x07, 0x02};

static void pkcs7_freep(PKCS7 **p)
{
    PKCS7_free(*p);
}
typedef STACK_OF(X509) x509_stack;
static void x509_stack_freep(x509_stack **p)
{
    sk_X509_free(*p); /* PKCS7_get0_signers: the certificates are not ours */
}
static void bio_freep(BIO **p)
{
    BIO_free(*p);
}
static void err_pop_markp(int *mark)
{
    (void)mark;
    ERR_pop_to_mark();
}

/* ---- EFI_VARIABLE_AUTHENTICATION_2 ---- */

int tl_auth2_parse(const uint8_t *buf, size_t len, struct tl_auth2 *a, struct tl_error *err)
{
    assert(buf || len == 0);
    assert(a);

    if (len < AUTH2_HEADER_SIZE)
        return tl_error_set(err, -EBADMSG, 0,
                            "%zu bytes, shorter than the %d-byte EFI_VARIABLE_AUTHENTICATION_2 "
                            "header (TimeStamp + WIN_CERTIFICATE_UEFI_GUID)",
                            len, AUTH2_HEADER_SIZE);

    const uint8_t *wc = buf + EFI_TIME_SIZE;
    uint32_t dw_length = tl_le32(wc);
    uint16_t revision = tl_le16(wc + 4);
    uint16_t cert_type = tl_le16(wc + 6);
    tl_guid type = tl_guid_read(wc + 8);

    if (revision != WIN_CERT_REVISION)
        return tl_error_set(err, -EBADMSG, EFI_TIME_SIZE + 4,
                            "WIN_CERTIFICATE wRevision 0x%04x, expected 0x%04x", revision,
                            WIN_CERT_REVISION);
    if (cert_type != WIN_CERT_TYPE_EFI_GUID)
        return tl_error_set(err, -EBADMSG, EFI_TIME_SIZE + 6,
                            "WIN_CERTIFICATE wCertificateType 0x%04x, expected "
                            "WIN_CERT_TYPE_EFI_GUID (0x%04x)",
                            cert_type, WIN_CERT_TYPE_EFI_GUID);
    if (!tl_guid_equal(&type, &EFI_CERT_TYPE_PKCS7_GUID)) {
        char g[37], want[37];
        tl_guid_format(&type, g);
        tl_guid_format(&EFI_CERT_TYPE_PKCS7_GUID, want);
        return tl_error_set(err, -EBADMSG, EFI_TIME_SIZE + 8,
                            "WIN_CERTIFICATE_UEFI_GUID CertType %s, expected "
                            "EFI_CERT_TYPE_PKCS7_GUID (%s)",
                            g, want);
    }
    if (dw_length < WIN_CERT_HEADER_SIZE)
        return tl_error_set(err, -EBADMSG, EFI_TIME_SIZE,
                            "WIN_CERTIFICATE dwLength %u smaller than the %d-byte "
                            "WIN_CERTIFICATE_UEFI_GUID header",
                            dw_length, WIN_CERT_HEADER_SIZE);
    if (dw_length > len - EFI_TIME_SIZE)
        return tl_error_set(err, -EBADMSG, EFI_TIME_SIZE,
                            "WIN_CERTIFICATE dwLength %u overruns the %zu bytes after the "
                            "TimeStamp",
                            dw_length, len - EFI_TIME_SIZE);
    if (dw_length == WIN_CERT_HEADER_SIZE)
        return tl_error_set(err, -EBADMSG, EFI_TIME_SIZE,
                            "WIN_CERTIFICATE dwLength %u leaves no room for the PKCS#7 CertData",
                            dw_length);

    *a = (struct tl_auth2){
        .pkcs7 = buf + AUTH2_HEADER_SIZE,
        .pkcs7_len = dw_length - WIN_CERT_HEADER_SIZE,
        .data = buf + EFI_TIME_SIZE + dw_length,
        .data_len = len - EFI_TIME_SIZE - dw_length,
    };
    memcpy(a->timestamp, buf, EFI_TIME_SIZE);
    return 0;
}

/* ---- PKCS#7 decoding ---- */

/* Reads a DER identifier (single byte) and definite length at p[0..len).
 * Returns the header size and sets *content_len, which fits in len, or
 * -EBADMSG. */
static int der_header(const uint8_t *p, size_t len, uint8_t *tag, size_t *content_len)
{
    if (len < 2)
        return -EBADMSG;
    *tag = p[0];
    size_t hdr, n;
    if (p[1] < 0x80) {
        hdr = 2;
        n = p[1];
    } else {
        size_t k = p[1] & 0x7f;
        if (k == 0 || k > 4 || len < 2 + k) /* indefinite or absurd: not DER */
            return -EBADMSG;
        n = 0;
        for (size_t i = 0; i < k; i++)
            n = n << 8 | p[2 + i];
        hdr = 2 + k;
    }
    if (n > len - hdr)
        return -EBADMSG;
    *content_len = n;
    return (int)hdr;
}

/* Writes a DER definite length; returns its size (at most 5). */
static size_t der_put_length(uint8_t *out, size_t n)
{
    if (n < 0x80) {
        out[0] = (uint8_t)n;
        return 1;
    }
    size_t k = 0;
    for (size_t v = n; v; v >>= 8)
        k++;
    out[0] = (uint8_t)(0x80 | k);
    for (size_t i = 0; i < k; i++)
        out[1 + i] = (uint8_t)(n >> 8 * (k - 1 - i));
    return 1 + k;
}

/* Decodes CertData, a ContentInfo(signedData) or a bare SignedData, which
 * must fill it exactly. */
static int pkcs7_decode(const uint8_t *der, size_t len, PKCS7 **ret, struct tl_error *err)
{
    uint8_t tag, inner_tag;
    size_t content_len, inner_len;

    if (len > INT_MAX)
        return tl_error_set_nopos(err, -EFBIG, "PKCS#7 CertData of %zu bytes is too large", len);

    int hdr = der_header(der, len, &tag, &content_len);
    if (hdr < 0 || tag != 0x30)
        return tl_error_set(err, -EBADMSG, 0, "PKCS#7 CertData does not start with a DER SEQUENCE");
    if ((size_t)hdr + content_len != len)
        return tl_error_set(err, -EBADMSG, (size_t)hdr + content_len,
                            "%zu bytes after the PKCS#7 SignedData in CertData",
                            len - (size_t)hdr - content_len);
    int inner = der_header(der + hdr, content_len, &inner_tag, &inner_len);
    if (inner < 0)
        return tl_error_set(err, -EBADMSG, (size_t)hdr,
                            "PKCS#7 CertData: malformed first element of the SEQUENCE");

    /* ContentInfo starts with contentType (OID), SignedData with version
     * (INTEGER). Anything else is neither. */
    _cleanup_free_ uint8_t *wrapped = NULL;
    const uint8_t *p = der;
    size_t p_len = len;
    if (inner_tag == 0x02) {
        /* ContentInfo ::= SEQUENCE { contentType OID, content [0] EXPLICIT } */
        uint8_t len0[5], len1[5];
        size_t n0 = der_put_length(len0, len);
        size_t body = sizeof(OID_SIGNED_DATA) + 1 + n0 + len;
        size_t n1 = der_put_length(len1, body);
        p_len = 1 + n1 + body;
        wrapped = malloc(p_len);
        if (!wrapped)
            return tl_error_set_nopos(err, -ENOMEM, "out of memory");
        uint8_t *w = wrapped;
        *w++ = 0x30;
        memcpy(w, len1, n1);
        w += n1;
        memcpy(w, OID_SIGNED_DATA, sizeof(OID_SIGNED_DATA));
        w += sizeof(OID_SIGNED_DATA);
        *w++ = 0xa0;
        memcpy(w, len0, n0);
        w += n0;
        memcpy(w, der, len);
        p = wrapped;
    } else if (inner_tag != 0x06)
        return tl_error_set(err, -EBADMSG, (size_t)hdr,
                            "PKCS#7 CertData is neither a ContentInfo nor a SignedData "
                            "(first element has tag 0x%02x)",
                            inner_tag);

    const unsigned char *q = p;
    PKCS7 *p7 = d2i_PKCS7(NULL, &q, (long)p_len);
    if (!p7)
        return tl_error_set(err, -EBADMSG, 0, "PKCS#7 CertData is not valid DER PKCS#7");
    if ((size_t)(q - p) != p_len) {
        PKCS7_free(p7);
        return tl_error_set(err, -EBADMSG, 0, "PKCS#7 CertData: bytes after the ContentInfo");
    }
    if (!PKCS7_type_is_signed(p7) || !p7->d.sign) {
        PKCS7_free(p7);
        return tl_error_set(err, -EBADMSG, 0, "PKCS#7 CertData is not a SignedData");
    }
    *ret = p7;
    return 0;
}

/* ---- Verification ---- */

static void name_to_buf(const X509_NAME *name, char *out, size_t size)
{
    out[0] = 0;
    _cleanup_(bio_freep) BIO *bio = BIO_new(BIO_s_mem());
    if (!bio)
        return;
    if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0)
        return;
    char *p;
    long n = BIO_get_mem_data(bio, &p);
    if (n > 0)
        snprintf(out, size, "%.*s", (int)n, p);
}

__attribute__((format(printf, 2, 3))) static int refuse(struct tl_auth2_verdict *v, const char *fmt,
                                                        ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
    va_end(ap);
    return 1;
}

/* VariableName || VendorGuid || Attributes || TimeStamp || Data (8.2.2). */
static int build_signed_bytes(const struct tl_auth2 *a, const char *name, const tl_guid *vendor,
                              uint32_t attributes, uint8_t **ret, size_t *ret_len,
                              struct tl_error *err)
{
    size_t name_len = strlen(name);
    if (name_len == 0)
        return tl_error_set_nopos(err, -EINVAL, "empty variable name");
    for (size_t i = 0; i < name_len; i++)
        if ((unsigned char)name[i] >= 0x80)
            return tl_error_set_nopos(err, -EINVAL, "variable name is not ASCII");

    size_t fixed = 2 * name_len + 16 + 4 + EFI_TIME_SIZE;
    if (a->data_len > SIZE_MAX - fixed || a->data_len > INT_MAX - fixed)
        return tl_error_set_nopos(err, -EFBIG, "payload of %zu bytes is too large", a->data_len);
    size_t n = fixed + a->data_len;
    uint8_t *buf = malloc(n);
    if (!buf)
        return tl_error_set_nopos(err, -ENOMEM, "out of memory for %zu signed bytes", n);

    uint8_t *w = buf;
    for (size_t i = 0; i < name_len; i++) {
        *w++ = (uint8_t)name[i];
        *w++ = 0;
    }
    memcpy(w, vendor->b, 16);
    w += 16;
    for (int i = 0; i < 4; i++)
        *w++ = (uint8_t)(attributes >> 8 * i);
    memcpy(w, a->timestamp, EFI_TIME_SIZE);
    w += EFI_TIME_SIZE;
    if (a->data_len)
        memcpy(w, a->data, a->data_len);

    *ret = buf;
    *ret_len = n;
    return 0;
}

/* Which database authorises updates of this variable, for messages; NULL
 * when not one of the Secure Boot variables. */
static const char *authority_name(const char *name, const tl_guid *vendor)
{
    if (tl_guid_equal(vendor, &TL_EFI_IMAGE_SECURITY_DB_GUID) &&
        (!strcmp(name, "db") || !strcmp(name, "dbx") || !strcmp(name, "dbt") ||
         !strcmp(name, "dbr")))
        return "KEK";
    if (tl_guid_equal(vendor, &TL_EFI_GLOBAL_VARIABLE_GUID) &&
        (!strcmp(name, "KEK") || !strcmp(name, "PK")))
        return "PK";
    return NULL;
}

int tl_auth2_verify(const struct tl_auth2 *a, const char *name, const tl_guid *vendor,
                    uint32_t attributes, const struct tl_sig_db *authorities,
                    struct tl_auth2_verdict *v, struct tl_error *err)
{
    int r;

    assert(a && name && vendor && authorities && v);
    *v = (struct tl_auth2_verdict){.signer_entry = -1};

    if (!a->pkcs7 || a->pkcs7_len == 0)
        return tl_error_set_nopos(err, -EINVAL, "no PKCS#7 CertData");
    if (!a->data && a->data_len)
        return tl_error_set_nopos(err, -EINVAL, "payload pointer missing");

    _cleanup_(err_pop_markp) int mark = ERR_set_mark();
    (void)mark;

    _cleanup_free_ uint8_t *content = NULL;
    size_t content_len = 0;
    r = build_signed_bytes(a, name, vendor, attributes, &content, &content_len, err);
    if (r < 0)
        return r;

    _cleanup_(pkcs7_freep) PKCS7 *p7 = NULL;
    r = pkcs7_decode(a->pkcs7, a->pkcs7_len, &p7, err);
    if (r < 0)
        return r;

    STACK_OF(PKCS7_SIGNER_INFO) *infos = PKCS7_get_signer_info(p7);
    int n_infos = infos ? sk_PKCS7_SIGNER_INFO_num(infos) : 0;
    if (n_infos <= 0)
        return refuse(v, "the PKCS#7 SignedData has no SignerInfo");
    _cleanup_(x509_stack_freep) x509_stack *signers = PKCS7_get0_signers(p7, NULL, 0);
    if (!signers || sk_X509_num(signers) != n_infos)
        return refuse(v, "the signer's certificate is not among the PKCS#7 certificates");
    name_to_buf(X509_get_subject_name(sk_X509_value(signers, 0)), v->signer_subject,
                sizeof(v->signer_subject));

    /* Rules the firmware applies before the signature (8.2.2). */
    if (!(attributes & EFI_VARIABLE_TIME_BASED_AUTHENTICATED_WRITE_ACCESS))
        return refuse(v,
                      "attributes 0x%x lack TIME_BASED_AUTHENTICATED_WRITE_ACCESS (0x20): "
                      "the firmware does not take the update as authenticated",
                      attributes);
    const uint8_t *ts = a->timestamp;
    if (ts[7] || tl_le32(ts + 8) || tl_le16(ts + 12) || ts[14] || ts[15])
        return refuse(v, "TimeStamp has a non-zero Pad1, Nanosecond, TimeZone, Daylight or Pad2 "
                         "(UEFI 8.2.2 requires zero)");

    /* "Only a digest algorithm of SHA-256 is accepted" (8.2.2), in
     * SignedData.digestAlgorithms as in every SignerInfo. Checking the
     * former first also keeps PKCS7_verify from failing in PKCS7_dataInit
     * on an unknown digest, where OpenSSL 3.0 leaks its temporary BIO. */
    STACK_OF(X509_ALGOR) *md_algs = p7->d.sign->md_algs;
    int n_algs = md_algs ? sk_X509_ALGOR_num(md_algs) : 0;
    for (int i = 0; i < n_algs; i++) {
        int nid = OBJ_obj2nid(sk_X509_ALGOR_value(md_algs, i)->algorithm);
        if (nid != NID_sha256)
            return refuse(v,
                          "SignedData.digestAlgorithms names %s; UEFI 8.2.2 accepts only SHA-256",
                          nid == NID_undef ? "an unknown digest" : OBJ_nid2sn(nid));
    }
    for (int i = 0; i < n_infos; i++) {
        X509_ALGOR *digest = NULL;
        PKCS7_SIGNER_INFO_get0_algs(sk_PKCS7_SIGNER_INFO_value(infos, i), NULL, &digest, NULL);
        int nid = digest ? OBJ_obj2nid(digest->algorithm) : NID_undef;
        if (nid != NID_sha256)
            return refuse(v, "SignerInfo %d uses digest %s; UEFI 8.2.2 accepts only SHA-256", i,
                          nid == NID_undef ? "(unknown)" : OBJ_nid2sn(nid));
    }

    /* The signature and the signer's chain, with the firmware's rules
     * (sigverify.c: partial chain to an X.509 entry, no clock, any
     * purpose). The SignedData goes in as re-encoded DER: pkcs7_decode
     * wrapped a bare one in its ContentInfo. */
    size_t n_x509 = 0;
    _cleanup_free_ struct tl_cert_ref *refs =
        calloc(authorities->n_entries ? authorities->n_entries : 1, sizeof(*refs));
    _cleanup_free_ size_t *entry_of =
        calloc(authorities->n_entries ? authorities->n_entries : 1, sizeof(*entry_of));
    if (!refs || !entry_of)
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < authorities->n_entries; i++)
        if (authorities->entries[i].kind == TL_SIG_X509) {
            refs[n_x509] = (struct tl_cert_ref){authorities->entries[i].data,
                                                authorities->entries[i].data_len};
            entry_of[n_x509++] = i;
        }
    unsigned char *der = NULL;
    int der_len = i2d_PKCS7(p7, &der);
    if (der_len <= 0)
        return tl_error_set_nopos(err, -ENOMEM, "cannot re-encode the SignedData");
    struct tl_sigcheck chk;
    r = tl_pkcs7_check(der, (size_t)der_len, content, content_len, refs, n_x509, 0, &chk, err);
    OPENSSL_free(der);
    if (r < 0)
        return r;
    enum tl_sigcheck_status status = chk.status;
    if (status == TL_SIGCHECK_OK && chk.anchor >= 0) {
        v->signer_entry = (int)entry_of[chk.anchor];
        snprintf(v->anchor_subject, sizeof(v->anchor_subject), "%s",
                 chk.chain[chk.n_chain - 1].subject);
    }
    tl_sigcheck_done(&chk);
    if (status == TL_SIGCHECK_OK && v->signer_entry >= 0)
        return 0;
    if (status == TL_SIGCHECK_BAD_SIGNATURE || status == TL_SIGCHECK_MALFORMED)
        return refuse(v,
                      "signature does not match the data (variable name, vendor GUID, "
                      "attributes 0x%x, TimeStamp or payload differ from what was signed)",
                      attributes);

    const char *db = authority_name(name, vendor);
    if (n_x509 == 0)
        return refuse(v, "%s holds no X.509 certificate to verify against",
                      db ? db : "the authorising database");
    if (db)
        return refuse(v, "signed by %s, which does not chain to any %s entry", v->signer_subject,
                      db);
    return refuse(v,
                  "signed by %s, which does not chain to any X.509 entry of the authorising "
                  "database",
                  v->signer_subject);
}

/* ---- APPEND_WRITE to a signature database ---- */

struct sig_list {
    tl_guid type;
    size_t off; /* of the EFI_SIGNATURE_LIST */
    uint32_t list_size, header_size, sig_size;
};

/* Reads the list at *off of a buffer tl_sig_db_parse has accepted and moves
 * *off past it; false at the end (or, defensively, on anything that would
 * not fit). */
static bool sig_list_next(const uint8_t *buf, size_t len, size_t *off, struct sig_list *l)
{
    if (*off >= len || len - *off < LIST_HEADER_SIZE)
        return false;
    const uint8_t *p = buf + *off;
    *l = (struct sig_list){
        .type = tl_guid_read(p),
        .off = *off,
        .list_size = tl_le32(p + 16),
        .header_size = tl_le32(p + 20),
        .sig_size = tl_le32(p + 24),
    };
    if (l->list_size < LIST_HEADER_SIZE || l->list_size > len - *off ||
        l->header_size > l->list_size - LIST_HEADER_SIZE || l->sig_size == 0)
        return false;
    *off += l->list_size;
    return true;
}

static size_t sig_list_first(const struct sig_list *l)
{
    return l->off + LIST_HEADER_SIZE + l->header_size;
}

/* Is this EFI_SIGNATURE_DATA (owner + data, sig_size bytes) already in a
 * list of the same type and SignatureSize? (FilterSignatureList compares
 * whole EFI_SIGNATURE_DATA, SignatureOwner included.) */
static bool already_present(const uint8_t *cur, size_t cur_len, const tl_guid *type,
                            uint32_t sig_size, const uint8_t *sig)
{
    struct sig_list l;
    for (size_t off = 0; sig_list_next(cur, cur_len, &off, &l);) {
        if (l.sig_size != sig_size || !tl_guid_equal(&l.type, type))
            continue;
        for (size_t e = sig_list_first(&l); e + sig_size <= l.off + l.list_size; e += sig_size)
            if (memcmp(cur + e, sig, sig_size) == 0)
                return true;
    }
    return false;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> 8 * i);
}

/* Validates a signature database with tl_sig_db_parse, naming which one. */
static int check_db(const uint8_t *buf, size_t len, const char *what, struct tl_error *err)
{
    struct tl_sig_db db;
    struct tl_error e = {0};
    int r = tl_sig_db_parse(buf, len, &db, &e);
    if (r < 0)
        return e.has_offset ? tl_error_set(err, r, e.offset, "%s: %s", what, e.message)
                            : tl_error_set_nopos(err, r, "%s: %s", what, e.message);
    tl_sig_db_done(&db);
    return 0;
}

int tl_sig_db_append(const uint8_t *current, size_t current_len, const uint8_t *update,
                     size_t update_len, uint8_t **out, size_t *out_len, struct tl_error *err)
{
    int r;

    assert(current || current_len == 0);
    assert(update || update_len == 0);
    assert(out && out_len);

    r = check_db(current, current_len, "current database", err);
    if (r < 0)
        return r;
    r = check_db(update, update_len, "update", err);
    if (r < 0)
        return r;

    if (update_len > SIZE_MAX - current_len - 1)
        return tl_error_set_nopos(err, -EFBIG, "databases too large to append");
    _cleanup_free_ uint8_t *buf = malloc(current_len + update_len + 1);
    if (!buf)
        return tl_error_set_nopos(err, -ENOMEM, "out of memory for %zu bytes",
                                  current_len + update_len);
    if (current_len)
        memcpy(buf, current, current_len);
    size_t tail = current_len;

    /* As FilterSignatureList: each update list keeps its header and the
     * entries not already in current; a list left empty is dropped. Entries
     * are compared with current only, not with each other. */
    struct sig_list l;
    for (size_t off = 0; sig_list_next(update, update_len, &off, &l);) {
        size_t head = LIST_HEADER_SIZE + l.header_size;
        size_t list_start = tail;
        size_t kept = 0;
        for (size_t e = sig_list_first(&l); e + l.sig_size <= l.off + l.list_size;
             e += l.sig_size) {
            if (already_present(current, current_len, &l.type, l.sig_size, update + e))
                continue;
            if (kept++ == 0) {
                memcpy(buf + tail, update + l.off, head);
                tail += head;
            }
            memcpy(buf + tail, update + e, l.sig_size);
            tail += l.sig_size;
        }
        if (kept)
            put_le32(buf + list_start + 16, (uint32_t)(tail - list_start));
    }

    *out = TL_TAKE_PTR(buf);
    *out_len = tail;
    return 0;
}
