/* X.509 description for output (subject, issuer, fingerprint, expiry). */
#include "tl/x509.h"

#include <errno.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tl/util.h"

static char *name_to_string(const X509_NAME *name)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *out = NULL;
    if (!bio)
        return NULL;
    if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
        char *p = NULL;
        long n = BIO_get_mem_data(bio, &p);
        /* An empty name (an EK certificate's subject) leaves no buffer. */
        out = n > 0 && p ? strndup(p, (size_t)n) : strdup("");
    }
    BIO_free(bio);
    return out;
}

static char *common_name(const X509_NAME *name)
{
    int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    if (i < 0)
        return NULL;
    const ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
    unsigned char *utf8 = NULL;
    int n = ASN1_STRING_to_UTF8(&utf8, s);
    if (n < 0)
        return NULL;
    char *out = strndup((char *)utf8, (size_t)n);
    OPENSSL_free(utf8);
    return out;
}

int tl_x509_describe(const uint8_t *der, size_t len, struct tl_x509_info *info,
                     struct tl_error *err)
{
    *info = (struct tl_x509_info){0};
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (!x)
        return tl_error_set_nopos(err, -EBADMSG, "not a DER X.509 certificate");
    int r = 0;
    info->subject = name_to_string(X509_get_subject_name(x));
    info->issuer = name_to_string(X509_get_issuer_name(x));
    info->common_name = common_name(X509_get_subject_name(x));
    if (!info->subject || !info->issuer) {
        r = tl_error_set_nopos(err, -ENOMEM, "out of memory");
        goto out;
    }
    unsigned n = 0;
    EVP_Digest(der, len, info->sha256, &n, EVP_sha256(), NULL);
    struct tm tm;
    if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
        strftime(info->not_after, sizeof(info->not_after), "%Y-%m-%dT%H:%M:%SZ", &tm);
out:
    X509_free(x);
    if (r < 0)
        tl_x509_info_done(info);
    return r;
}

void tl_x509_info_done(struct tl_x509_info *info)
{
    free(info->subject);
    free(info->issuer);
    free(info->common_name);
    *info = (struct tl_x509_info){0};
}

int tl_x509_to_der(const uint8_t *in, size_t len, uint8_t **der, size_t *der_len,
                   struct tl_error *err)
{
    const unsigned char *p = in;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (!x) {
        BIO *bio = BIO_new_mem_buf(in, (int)len);
        if (bio)
            x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        BIO_free(bio);
    }
    ERR_clear_error();
    if (!x)
        return tl_error_set_nopos(err, -EBADMSG, "not an X.509 certificate (PEM or DER)");
    int n = i2d_X509(x, NULL);
    unsigned char *out = n > 0 ? malloc((size_t)n) : NULL, *q = out;
    if (!out) {
        X509_free(x);
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    }
    i2d_X509(x, &q);
    X509_free(x);
    *der = out;
    *der_len = (size_t)n;
    return 0;
}
