/* SEV-SNP ATTESTATION_REPORT: the fixed 1184-byte structure, its
 * TCB_VERSION layouts, the product its CPUID fields name, the hex text form
 * and the MAA claims.
 *
 * Offsets: AMD SEV-SNP Firmware ABI 56860 rev 1.58, Table 23
 * (ATTESTATION_REPORT); v3 added CPUID_FAM_ID/MOD_ID/STEP at 0x188-0x18A,
 * v5 LAUNCH_MIT_VECTOR and CURRENT_MIT_VECTOR at 0x1F8 and 0x200. The
 * fields are read at fixed offsets from a buffer whose size was checked
 * once: every read below is inside TL_SNP_REPORT_SIZE.
 *
 * TCB_VERSION (ABI 2.2): Milan and Genoa, Table 3: BOOT_LOADER [7:0],
 * TEE [15:8], reserved [47:16], SNP [55:48], MICROCODE [63:56]. Turin,
 * Table 4: FMC [7:0], BOOT_LOADER [15:8], TEE [23:16], SNP [31:24],
 * reserved [55:32], MICROCODE [63:56]. */
#include "tl/snp.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tl/util.h"

const char *tl_snp_product_name(enum tl_snp_product p)
{
    switch (p) {
    case TL_SNP_PRODUCT_MILAN:
        return "Milan";
    case TL_SNP_PRODUCT_GENOA:
        return "Genoa";
    case TL_SNP_PRODUCT_TURIN:
        return "Turin";
    default:
        return "unknown";
    }
}

struct tl_snp_tcb tl_snp_tcb_decode(uint64_t raw, enum tl_snp_product product)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(raw >> (8 * i));
    if (product == TL_SNP_PRODUCT_TURIN)
        return (struct tl_snp_tcb){
            .fmc = b[0], .bootloader = b[1], .tee = b[2], .snp = b[3], .microcode = b[7]};
    return (struct tl_snp_tcb){.bootloader = b[0], .tee = b[1], .snp = b[6], .microcode = b[7]};
}

int tl_snp_report_parse(const uint8_t *buf, size_t len, struct tl_snp_report *r,
                        struct tl_error *err)
{
    if (len != TL_SNP_REPORT_SIZE)
        return tl_error_set(err, -EBADMSG, len < TL_SNP_REPORT_SIZE ? len : TL_SNP_REPORT_SIZE,
                            "SEV-SNP report: %zu bytes, an ATTESTATION_REPORT is %d", len,
                            TL_SNP_REPORT_SIZE);
    const uint8_t *p = buf;
    *r = (struct tl_snp_report){
        .version = tl_le32(p + 0x00),
        .guest_svn = tl_le32(p + 0x04),
        .policy = tl_le64(p + 0x08),
        .vmpl = tl_le32(p + 0x30),
        .signature_algo = tl_le32(p + 0x34),
        .current_tcb = tl_le64(p + 0x38),
        .platform_info = tl_le64(p + 0x40),
        .author_key_en = p[0x48] & 0x1,
        .mask_chip_id = (p[0x48] >> 1) & 0x1,
        .signing_key = (p[0x48] >> 2) & 0x7,
        .reported_tcb = tl_le64(p + 0x180),
        .committed_tcb = tl_le64(p + 0x1e0),
        .current_build = p[0x1e8],
        .current_minor = p[0x1e9],
        .current_major = p[0x1ea],
        .committed_build = p[0x1ec],
        .committed_minor = p[0x1ed],
        .committed_major = p[0x1ee],
        .launch_tcb = tl_le64(p + 0x1f0),
    };
    memcpy(r->family_id, p + 0x10, 16);
    memcpy(r->image_id, p + 0x20, 16);
    memcpy(r->report_data, p + 0x50, 64);
    memcpy(r->measurement, p + 0x90, 48);
    memcpy(r->host_data, p + 0xc0, 32);
    memcpy(r->id_key_digest, p + 0xe0, 48);
    memcpy(r->author_key_digest, p + 0x110, 48);
    memcpy(r->report_id, p + 0x140, 32);
    memcpy(r->report_id_ma, p + 0x160, 32);
    memcpy(r->chip_id, p + 0x1a0, 64);
    memcpy(r->sig_r, p + 0x2a0, 72);
    memcpy(r->sig_s, p + 0x2e8, 72);
    if (r->version >= 3) {
        r->cpuid_fam_id = p[0x188];
        r->cpuid_mod_id = p[0x189];
        r->cpuid_step = p[0x18a];
    }
    if (r->version >= 5) {
        r->launch_mit_vector = tl_le64(p + 0x1f8);
        r->current_mit_vector = tl_le64(p + 0x200);
    }
    return 0;
}

/* Family 19h models 00h-0Fh Milan, 10h-1Fh and A0h-AFh Genoa (with
 * Bergamo and Siena, which share Genoa's keys); family 1Ah models 00h-1Fh
 * Turin (AMD KDS spec 57230, 2.1; go-sev-guest abi.go). */
enum tl_snp_product tl_snp_report_product(const struct tl_snp_report *r)
{
    if (r->version < 3)
        return TL_SNP_PRODUCT_UNKNOWN;
    uint8_t fam = r->cpuid_fam_id, mod = r->cpuid_mod_id;
    if (fam == 0x19 && mod <= 0x0f)
        return TL_SNP_PRODUCT_MILAN;
    if (fam == 0x19 && ((mod >= 0x10 && mod <= 0x1f) || (mod >= 0xa0 && mod <= 0xaf)))
        return TL_SNP_PRODUCT_GENOA;
    if (fam == 0x1a && mod <= 0x1f)
        return TL_SNP_PRODUCT_TURIN;
    return TL_SNP_PRODUCT_UNKNOWN;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int tl_snp_report_from_hex(const char *text, size_t len, uint8_t **out, size_t *out_len,
                           struct tl_error *err)
{
    *out = NULL;
    *out_len = 0;
    uint8_t *buf = malloc(TL_SNP_REPORT_SIZE);
    if (!buf)
        return -ENOMEM;
    size_t n = 0;
    int hi = -1;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
            continue;
        int d = hex_digit(c);
        if (d < 0 || n == TL_SNP_REPORT_SIZE) {
            free(buf);
            return tl_error_set(err, -EBADMSG, i,
                                d < 0 ? "SEV-SNP report hex: not a hex digit"
                                      : "SEV-SNP report hex: longer than %d bytes",
                                TL_SNP_REPORT_SIZE);
        }
        if (hi < 0) {
            hi = d;
        } else {
            buf[n++] = (uint8_t)(hi << 4 | d);
            hi = -1;
        }
    }
    if (n != TL_SNP_REPORT_SIZE || hi >= 0) {
        free(buf);
        return tl_error_set(err, -EBADMSG, len, "SEV-SNP report hex: %zu bytes, expected %d", n,
                            TL_SNP_REPORT_SIZE);
    }
    *out = buf;
    *out_len = n;
    return 0;
}

static void tcb_claims(json_t *obj, const char *prefix, uint64_t raw, enum tl_snp_product prod)
{
    struct tl_snp_tcb t = tl_snp_tcb_decode(raw, prod);
    char name[80];
    snprintf(name, sizeof(name), "%s-bootloader-svn", prefix);
    tl_tee_claim_int(obj, name, t.bootloader);
    snprintf(name, sizeof(name), "%s-tee-svn", prefix);
    tl_tee_claim_int(obj, name, t.tee);
    snprintf(name, sizeof(name), "%s-snpfw-svn", prefix);
    tl_tee_claim_int(obj, name, t.snp);
    snprintf(name, sizeof(name), "%s-microcode-svn", prefix);
    tl_tee_claim_int(obj, name, t.microcode);
    if (prod == TL_SNP_PRODUCT_TURIN) {
        snprintf(name, sizeof(name), "%s-fmc-svn", prefix);
        tl_tee_claim_int(obj, name, t.fmc);
    }
}

/* MAA's names (x-ms-sevsnpvm-*) where MAA has one; the fields MAA does not
 * publish follow its pattern. The TCB claims MAA names without a prefix
 * (x-ms-sevsnpvm-bootloader-svn, ...) are the REPORTED_TCB's, as in MAA. */
void tl_snp_report_claims(const struct tl_snp_report *r, json_t *obj)
{
    tl_snp_report_claims_product(r, tl_snp_report_product(r), obj);
}

void tl_snp_report_claims_product(const struct tl_snp_report *r, enum tl_snp_product prod,
                                  json_t *obj)
{
    tl_tee_claim_str(obj, "x-ms-sevsnpvm-product", tl_snp_product_name(prod));
    tl_tee_claim_int(obj, "x-ms-sevsnpvm-report-version", r->version);
    tl_tee_claim_hex(obj, "x-ms-sevsnpvm-authorkeydigest", r->author_key_digest, 48);
    tcb_claims(obj, "x-ms-sevsnpvm", r->reported_tcb, prod);
    tl_tee_claim_hex(obj, "x-ms-sevsnpvm-familyId", r->family_id, 16);
    tl_tee_claim_int(obj, "x-ms-sevsnpvm-guestsvn", r->guest_svn);
    tl_tee_claim_hex(obj, "x-ms-sevsnpvm-hostdata", r->host_data, 32);
    tl_tee_claim_hex(obj, "x-ms-sevsnpvm-idkeydigest", r->id_key_digest, 48);
    tl_tee_claim_hex(obj, "x-ms-sevsnpvm-imageId", r->image_id, 16);
    tl_tee_claim_bool(obj, "x-ms-sevsnpvm-is-debuggable", r->policy & TL_SNP_POLICY_DEBUG);
    tl_tee_claim_hex(obj, "x-ms-sevsnpvm-launchmeasurement", r->measurement, 48);
    tl_tee_claim_bool(obj, "x-ms-sevsnpvm-migration-allowed", r->policy & TL_SNP_POLICY_MIGRATE_MA);
    tl_tee_claim_hex(obj, "x-ms-sevsnpvm-reportdata", r->report_data, 64);
    tl_tee_claim_hex(obj, "x-ms-sevsnpvm-reportid", r->report_id, 32);
    tl_tee_claim_bool(obj, "x-ms-sevsnpvm-smt-allowed", r->policy & TL_SNP_POLICY_SMT);
    tl_tee_claim_int(obj, "x-ms-sevsnpvm-vmpl", r->vmpl);
    char v[64];
    snprintf(v, sizeof(v), "0x%llx", (unsigned long long)r->policy);
    tl_tee_claim_str(obj, "x-ms-sevsnpvm-guest-policy", v);
    snprintf(v, sizeof(v), "%u.%u", (unsigned)((r->policy >> 8) & 0xff),
             (unsigned)(r->policy & 0xff));
    tl_tee_claim_str(obj, "x-ms-sevsnpvm-policy-abi", v);
    snprintf(v, sizeof(v), "0x%llx", (unsigned long long)r->platform_info);
    tl_tee_claim_str(obj, "x-ms-sevsnpvm-platform-info", v);
    tl_tee_claim_bool(obj, "x-ms-sevsnpvm-platform-smt-enabled", r->platform_info & 0x1);
    tl_tee_claim_bool(obj, "x-ms-sevsnpvm-platform-tsme-enabled", r->platform_info & 0x2);
    snprintf(v, sizeof(v), "%u.%u.%u", r->current_major, r->current_minor, r->current_build);
    tl_tee_claim_str(obj, "x-ms-sevsnpvm-firmware-version", v);
    snprintf(v, sizeof(v), "%u.%u.%u", r->committed_major, r->committed_minor, r->committed_build);
    tl_tee_claim_str(obj, "x-ms-sevsnpvm-committed-firmware-version", v);
    tcb_claims(obj, "x-ms-sevsnpvm-current", r->current_tcb, prod);
    tcb_claims(obj, "x-ms-sevsnpvm-committed", r->committed_tcb, prod);
    tcb_claims(obj, "x-ms-sevsnpvm-launch", r->launch_tcb, prod);
    tl_tee_claim_str(obj, "x-ms-sevsnpvm-signing-key",
                     r->signing_key == 0   ? "vcek"
                     : r->signing_key == 1 ? "vlek"
                     : r->signing_key == 7 ? "none"
                                           : "reserved");
    tl_tee_claim_hex(obj, "x-ms-sevsnpvm-chipid", r->chip_id, 64);
    if (r->version >= 3) {
        tl_tee_claim_int(obj, "x-ms-sevsnpvm-cpuid-family", r->cpuid_fam_id);
        tl_tee_claim_int(obj, "x-ms-sevsnpvm-cpuid-model", r->cpuid_mod_id);
        tl_tee_claim_int(obj, "x-ms-sevsnpvm-cpuid-stepping", r->cpuid_step);
    }
    if (r->version >= 5) {
        snprintf(v, sizeof(v), "0x%llx", (unsigned long long)r->launch_mit_vector);
        tl_tee_claim_str(obj, "x-ms-sevsnpvm-launch-mit-vector", v);
        snprintf(v, sizeof(v), "0x%llx", (unsigned long long)r->current_mit_vector);
        tl_tee_claim_str(obj, "x-ms-sevsnpvm-current-mit-vector", v);
    }
}
