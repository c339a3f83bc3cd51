/* The SGX extension of an Intel PCK certificate (Intel SGX PCK Certificate
 * and Certificate Revocation List Profile Specification, 1.2.840.113741.
 * 1.13.1): PPID, TCB (16 component SVNs, PCESVN, CPUSVN), PCE-ID, FMSPC,
 * SGX type. These are what the TCB info's levels are compared with.
 *
 * OpenSSL finds the extension; its value (a SEQUENCE of SEQUENCE {OID,
 * value}) is walked with a small DER reader that checks every length
 * against what encloses it. Each field must appear exactly once with its
 * exact size: a PCK certificate is signed by Intel, but a parser that
 * guesses is a parser that can be steered. */
#include <errno.h>
#include <openssl/x509.h>
#include <string.h>

#include "tdx-internal.h"

#define DER_INTEGER    0x02
#define DER_OCTET      0x04
#define DER_OID        0x06
#define DER_ENUMERATED 0x0a
#define DER_SEQUENCE   0x30

/* 1.2.840.113741.1.13.1 */
static const uint8_t sgx_oid[] = {0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01};

struct der {
    const uint8_t *p;
    size_t len;
};

/* Reads one TLV of the given tag from d, advancing it. */
static int der_take(struct der *d, uint8_t tag, struct der *out)
{
    if (d->len < 2 || d->p[0] != tag)
        return -EBADMSG;
    size_t n = d->p[1], hdr = 2;
    if (n & 0x80) {
        size_t k = n & 0x7f;
        if (k == 0 || k > 3 || d->len - 2 < k)
            return -EBADMSG;
        n = 0;
        for (size_t i = 0; i < k; i++)
            n = n << 8 | d->p[2 + i];
        hdr += k;
    }
    if (n > d->len - hdr)
        return -EBADMSG;
    *out = (struct der){d->p + hdr, n};
    d->p += hdr + n;
    d->len -= hdr + n;
    return 0;
}

static int der_small_uint(const struct der *v, unsigned max, unsigned *out)
{
    if (v->len == 0 || v->len > 3 || (v->p[0] & 0x80))
        return -EBADMSG;
    unsigned x = 0;
    for (size_t i = 0; i < v->len; i++)
        x = x << 8 | v->p[i];
    if (x > max)
        return -EBADMSG;
    *out = x;
    return 0;
}

static int octets(const struct der *v, uint8_t *out, size_t size)
{
    if (v->len != size)
        return -EBADMSG;
    memcpy(out, v->p, size);
    return 0;
}

/* The TCB SEQUENCE: 16 component SVNs, PCESVN, CPUSVN. */
static int parse_tcb(struct der tcb, struct tl_tdx_pck_info *out)
{
    uint32_t seen = 0;
    while (tcb.len) {
        struct der item, oid, val;
        unsigned x;
        if (der_take(&tcb, DER_SEQUENCE, &item) < 0 || der_take(&item, DER_OID, &oid) < 0)
            return -EBADMSG;
        if (oid.len != sizeof(sgx_oid) + 2 || memcmp(oid.p, sgx_oid, sizeof(sgx_oid)) != 0 ||
            oid.p[sizeof(sgx_oid)] != 2)
            return -EBADMSG;
        unsigned arc = oid.p[sizeof(sgx_oid) + 1];
        if (arc < 1 || arc > 18 || (seen & (1u << arc)))
            return -EBADMSG;
        seen |= 1u << arc;
        if (arc <= 16) {
            if (der_take(&item, DER_INTEGER, &val) < 0 || der_small_uint(&val, 255, &x) < 0)
                return -EBADMSG;
            out->tcb_comp[arc - 1] = (uint8_t)x;
        } else if (arc == 17) {
            if (der_take(&item, DER_INTEGER, &val) < 0 || der_small_uint(&val, 65535, &x) < 0)
                return -EBADMSG;
            out->pcesvn = (uint16_t)x;
        } else {
            if (der_take(&item, DER_OCTET, &val) < 0 || octets(&val, out->cpusvn, 16) < 0)
                return -EBADMSG;
        }
        if (item.len)
            return -EBADMSG;
    }
    return seen == 0x7fffeu ? 0 : -EBADMSG;
}

static int parse_sgx_extension(struct der ext, struct tl_tdx_pck_info *out)
{
    struct der top;
    uint32_t seen = 0;
    if (der_take(&ext, DER_SEQUENCE, &top) < 0 || ext.len)
        return -EBADMSG;
    while (top.len) {
        struct der item, oid, val;
        unsigned x = 0;
        if (der_take(&top, DER_SEQUENCE, &item) < 0 || der_take(&item, DER_OID, &oid) < 0)
            return -EBADMSG;
        if (oid.len != sizeof(sgx_oid) + 1 || memcmp(oid.p, sgx_oid, sizeof(sgx_oid)) != 0)
            return -EBADMSG;
        unsigned arc = oid.p[sizeof(sgx_oid)];
        if (arc >= 32 || (seen & (1u << arc)))
            return -EBADMSG;
        seen |= 1u << arc;
        int r = 0;
        switch (arc) {
        case 1: /* PPID */
            r = der_take(&item, DER_OCTET, &val) < 0 ? -EBADMSG : octets(&val, out->ppid, 16);
            break;
        case 2:
            r = der_take(&item, DER_SEQUENCE, &val) < 0 ? -EBADMSG : parse_tcb(val, out);
            break;
        case 3: /* PCE-ID */
            r = der_take(&item, DER_OCTET, &val) < 0 ? -EBADMSG : octets(&val, out->pce_id, 2);
            break;
        case 4: /* FMSPC */
            r = der_take(&item, DER_OCTET, &val) < 0 ? -EBADMSG : octets(&val, out->fmspc, 6);
            break;
        case 5: /* SGX type: Standard (0), Scalable (1), Scalable with integrity (2) */
            r = der_take(&item, DER_ENUMERATED, &val) < 0 || der_small_uint(&val, 2, &x) < 0
                    ? -EBADMSG
                    : 0;
            out->sgx_type = (int)x;
            break;
        default: /* platform instance ID, configuration: not used */
            item.len = 0;
        }
        if (r < 0 || item.len)
            return -EBADMSG;
    }
    /* PPID, TCB, PCE-ID, FMSPC and SGX type are required. */
    return (seen & 0x3e) == 0x3e ? 0 : -EBADMSG;
}

int tl_tdx_pck_info_from_x509(X509 *x, struct tl_tdx_pck_info *out, struct tl_error *err)
{
    *out = (struct tl_tdx_pck_info){0};
    int r = -EBADMSG;
    ASN1_OBJECT *obj = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
    int idx = obj ? X509_get_ext_by_OBJ(x, obj, -1) : -1;
    if (idx < 0 || X509_get_ext_by_OBJ(x, obj, idx) >= 0) {
        r = tl_error_set_nopos(err, -EBADMSG,
                               "PCK certificate: needs exactly one SGX extension (1.2.840.113741."
                               "1.13.1)");
        goto out;
    }
    ASN1_OCTET_STRING *data = X509_EXTENSION_get_data(X509_get_ext(x, idx));
    struct der ext = {ASN1_STRING_get0_data(data), (size_t)ASN1_STRING_length(data)};
    if (parse_sgx_extension(ext, out) < 0) {
        r = tl_error_set_nopos(err, -EBADMSG, "PCK certificate: SGX extension is malformed");
        goto out;
    }
    r = 0;
out:
    ASN1_OBJECT_free(obj);
    return r;
}

int tl_tdx_pck_info_parse(const uint8_t *der, size_t len, struct tl_tdx_pck_info *out,
                          struct tl_error *err)
{
    *out = (struct tl_tdx_pck_info){0};
    const uint8_t *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (!x)
        return tl_error_set_nopos(err, -EBADMSG, "PCK certificate: not DER X.509");
    int r = tl_tdx_pck_info_from_x509(x, out, err);
    X509_free(x);
    return r;
}
