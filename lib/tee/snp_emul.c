/* The emulated SEV-SNP secure processor: report serialisation and signing,
 * and the ARK/ASK/VCEK chain (tl/snp_emul.h says what and why). The report
 * writer is the exact inverse of snp_report.c's reader (same offsets,
 * AMD SEV-SNP ABI 1.58 Table 23); the VCEK's extensions are what
 * snp_cert.c reads (AMD 57230, Table 8). */
#include <errno.h>
#include <openssl/err.h>
#include <string.h>

#include "emul_internal.h"
#include "tl/snp_emul.h"

#define EMUL_ORG "trustlaunch emulated secure processor"

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

uint64_t tl_snp_tcb_encode(const struct tl_snp_tcb *t, enum tl_snp_product product)
{
    uint8_t b[8] = {0};
    if (product == TL_SNP_PRODUCT_TURIN) {
        b[0] = t->fmc;
        b[1] = t->bootloader;
        b[2] = t->tee;
        b[3] = t->snp;
    } else {
        b[0] = t->bootloader;
        b[1] = t->tee;
        b[6] = t->snp;
    }
    b[7] = t->microcode;
    uint64_t raw = 0;
    for (int i = 0; i < 8; i++)
        raw |= (uint64_t)b[i] << (8 * i);
    return raw;
}

static const char *product_cn(enum tl_snp_product p)
{
    return p == TL_SNP_PRODUCT_MILAN ? "Milan" : p == TL_SNP_PRODUCT_GENOA ? "Genoa" : NULL;
}

int tl_snp_emul_report_init(struct tl_snp_report *r, uint32_t version, enum tl_snp_product product,
                            const struct tl_snp_tcb *tcb, struct tl_error *err)
{
    if (version != 3 && version != 5)
        return tl_error_set_nopos(err, -EINVAL, "SEV-SNP report version %u: 3 or 5", version);
    if (!product_cn(product))
        return tl_error_set_nopos(err, -EINVAL, "emulated SEV-SNP: product Milan or Genoa");
    uint64_t t = tl_snp_tcb_encode(tcb, product);
    *r = (struct tl_snp_report){
        .version = version,
        .policy = TL_SNP_POLICY_SMT | TL_SNP_POLICY_RESERVED_1,
        .signature_algo = 1,
        .current_tcb = t,
        .platform_info = 0x1,
        .reported_tcb = t,
        .committed_tcb = t,
        .launch_tcb = t,
        .cpuid_fam_id = 0x19,
        .cpuid_mod_id = product == TL_SNP_PRODUCT_MILAN ? 0x01 : 0x11,
        .cpuid_step = 0x01,
        .current_major = 1,
        .current_minor = 55,
        .committed_major = 1,
        .committed_minor = 55,
    };
    memset(r->report_id_ma, 0xff, sizeof(r->report_id_ma));
    return 0;
}

int tl_snp_emul_report(const struct tl_snp_report *r, EVP_PKEY *vcek,
                       uint8_t out[TL_SNP_REPORT_SIZE], struct tl_error *err)
{
    uint8_t *p = out;
    memset(p, 0, TL_SNP_REPORT_SIZE);
    put_le(p + 0x00, r->version, 4);
    put_le(p + 0x04, r->guest_svn, 4);
    put_le(p + 0x08, r->policy, 8);
    memcpy(p + 0x10, r->family_id, 16);
    memcpy(p + 0x20, r->image_id, 16);
    put_le(p + 0x30, r->vmpl, 4);
    put_le(p + 0x34, r->signature_algo, 4);
    put_le(p + 0x38, r->current_tcb, 8);
    put_le(p + 0x40, r->platform_info, 8);
    p[0x48] = (uint8_t)((r->author_key_en ? 1 : 0) | (r->mask_chip_id ? 2 : 0) |
                        (r->signing_key & 0x7) << 2);
    memcpy(p + 0x50, r->report_data, 64);
    memcpy(p + 0x90, r->measurement, 48);
    memcpy(p + 0xc0, r->host_data, 32);
    memcpy(p + 0xe0, r->id_key_digest, 48);
    memcpy(p + 0x110, r->author_key_digest, 48);
    memcpy(p + 0x140, r->report_id, 32);
    memcpy(p + 0x160, r->report_id_ma, 32);
    put_le(p + 0x180, r->reported_tcb, 8);
    if (r->version >= 3) {
        p[0x188] = r->cpuid_fam_id;
        p[0x189] = r->cpuid_mod_id;
        p[0x18a] = r->cpuid_step;
    }
    memcpy(p + 0x1a0, r->chip_id, 64);
    put_le(p + 0x1e0, r->committed_tcb, 8);
    p[0x1e8] = r->current_build;
    p[0x1e9] = r->current_minor;
    p[0x1ea] = r->current_major;
    p[0x1ec] = r->committed_build;
    p[0x1ed] = r->committed_minor;
    p[0x1ee] = r->committed_major;
    put_le(p + 0x1f0, r->launch_tcb, 8);
    if (r->version >= 5) {
        put_le(p + 0x1f8, r->launch_mit_vector, 8);
        put_le(p + 0x200, r->current_mit_vector, 8);
    }
    uint8_t be_r[48], be_s[48];
    int rc = emul_ecdsa_sign(vcek, EVP_sha384(), p, TL_SNP_SIGNED_SIZE, 48, be_r, be_s, err);
    if (rc < 0)
        return rc;
    for (int i = 0; i < 48; i++) {
        p[0x2a0 + i] = be_r[47 - i];
        p[0x2e8 + i] = be_s[47 - i];
    }
    return 0;
}

/* AMD's subject, with our organisation. */
#define SUBJECT(cn)                                                                                \
    (const char *const[])                                                                          \
    {                                                                                              \
        "OU", "Engineering", "C", "US", "L", "Santa Clara", "ST", "CA", "O", EMUL_ORG, "CN", cn,   \
            NULL                                                                                   \
    }

static int finish(X509 *x, const struct emul_cert_spec *s, uint8_t **der, size_t *len,
                  struct tl_error *err)
{
    int r = emul_cert_sign(x, s, err);
    if (r == 0)
        r = emul_der(x, der, len, err);
    X509_free(x);
    return r;
}

int tl_snp_emul_ark(EVP_PKEY *ark, enum tl_snp_product product, struct tl_tee_emul_window w,
                    uint8_t **der, size_t *len, struct tl_error *err)
{
    char cn[32];
    if (!product_cn(product))
        return tl_error_set_nopos(err, -EINVAL, "emulated ARK: product Milan or Genoa");
    snprintf(cn, sizeof(cn), "ARK-%s", product_cn(product));
    struct emul_cert_spec s = {.subject = SUBJECT(cn),
                               .key = ark,
                               .signer = ark,
                               .sig = EMUL_SIG_RSA_PSS_SHA384,
                               .serial = 0x10000,
                               .not_before = w.not_before,
                               .not_after = w.not_after,
                               .ca = true,
                               .pathlen = -1,
                               .usage = "critical,keyCertSign,cRLSign"};
    X509 *x = emul_cert_new(&s, err);
    return x ? finish(x, &s, der, len, err) : -EINVAL;
}

int tl_snp_emul_ask(EVP_PKEY *ask, EVP_PKEY *ark_key, const uint8_t *ark_der, size_t ark_len,
                    enum tl_snp_product product, struct tl_tee_emul_window w, uint8_t **der,
                    size_t *len, struct tl_error *err)
{
    char cn[32];
    if (!product_cn(product))
        return tl_error_set_nopos(err, -EINVAL, "emulated ASK: product Milan or Genoa");
    snprintf(cn, sizeof(cn), "SEV-%s", product_cn(product));
    X509 *ark = emul_parse(ark_der, ark_len, "ARK", err);
    if (!ark)
        return -EINVAL;
    struct emul_cert_spec s = {.subject = SUBJECT(cn),
                               .issuer = ark,
                               .key = ask,
                               .signer = ark_key,
                               .sig = EMUL_SIG_RSA_PSS_SHA384,
                               .serial = 0x10001,
                               .not_before = w.not_before,
                               .not_after = w.not_after,
                               .ca = true,
                               .pathlen = 0,
                               .usage = "critical,keyCertSign"};
    X509 *x = emul_cert_new(&s, err);
    int r = x ? finish(x, &s, der, len, err) : -EINVAL;
    X509_free(ark);
    return r;
}

/* DER INTEGER 0..255 */
static size_t der_small_int(uint8_t v, uint8_t out[4])
{
    out[0] = 0x02;
    if (v & 0x80) {
        out[1] = 2;
        out[2] = 0;
        out[3] = v;
        return 4;
    }
    out[1] = 1;
    out[2] = v;
    return 3;
}

int tl_snp_emul_vcek(EVP_PKEY *vcek, EVP_PKEY *ask_key, const uint8_t *ask_der, size_t ask_len,
                     enum tl_snp_product product, const struct tl_snp_tcb *tcb,
                     const uint8_t chip_id[64], struct tl_tee_emul_window w, uint8_t **der,
                     size_t *len, struct tl_error *err)
{
    if (!product_cn(product))
        return tl_error_set_nopos(err, -EINVAL, "emulated VCEK: product Milan or Genoa");
    X509 *ask = emul_parse(ask_der, ask_len, "ASK", err);
    if (!ask)
        return -EINVAL;
    struct emul_cert_spec s = {.subject = SUBJECT("SEV-VCEK"),
                               .issuer = ask,
                               .key = vcek,
                               .signer = ask_key,
                               .sig = EMUL_SIG_RSA_PSS_SHA384,
                               .serial = 0,
                               .not_before = w.not_before,
                               .not_after = w.not_after,
                               .pathlen = -1};
    X509 *x = emul_cert_new(&s, err);
    int r = x ? 0 : -EINVAL;
    uint8_t b[4];
    /* .1 structVersion 1; .2 productName (IA5String); .3.n SPLs; .4 hwID */
    if (r == 0)
        r = emul_ext_add(x, "1.3.6.1.4.1.3704.1.1", b, der_small_int(1, b), err);
    if (r == 0) {
        const char *name = product == TL_SNP_PRODUCT_MILAN ? "Milan-B0" : "Genoa-B1";
        uint8_t ia5[16] = {0x16, (uint8_t)strlen(name)};
        memcpy(ia5 + 2, name, strlen(name));
        r = emul_ext_add(x, "1.3.6.1.4.1.3704.1.2", ia5, 2 + strlen(name), err);
    }
    const uint8_t spl[9] = {0, tcb->bootloader, tcb->tee, tcb->snp, 0, 0, 0, 0, tcb->microcode};
    for (int i = 1; r == 0 && i <= 8; i++) {
        char oid[40];
        snprintf(oid, sizeof(oid), "1.3.6.1.4.1.3704.1.3.%d", i);
        r = emul_ext_add(x, oid, b, der_small_int(spl[i], b), err);
    }
    if (r == 0)
        r = emul_ext_add(x, "1.3.6.1.4.1.3704.1.4", chip_id, 64, err);
    if (r == 0)
        r = finish(x, &s, der, len, err);
    else
        X509_free(x);
    X509_free(ask);
    return r;
}
