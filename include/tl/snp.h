/* AMD SEV-SNP attestation reports: parse, and verify against AMD's roots
 * (built in, pinned) into a tl_tee_verdict.
 *
 * What is checked (AMD SEV-SNP Firmware ABI Specification 56860 rev 1.57
 * and 1.58, 7.3 "ATTESTATION_REPORT Structure" (Table 23), 2.2 TCB_VERSION
 * (Table 3 for Milan/Genoa, Table 4 for Turin), 4.3 "Guest Policy"; AMD
 * "VCEK Certificate and KDS Interface Specification" 57230, 3 (the VCEK's
 * extensions); go-sev-guest verify+validate, virtee/sev, trustee's snp
 * verifier for the union of their checks):
 *  - the report: exactly 1184 bytes; VERSION 2, 3 or 5 (else `version`);
 *    SIGNATURE_ALGO 1 (ECDSA P-384 with SHA-384); the signature's unsigned
 *    tail zero;
 *  - the product, hence the TCB_VERSION layout: from CPUID_FAM_ID /
 *    CPUID_MOD_ID (v3+), else from the certificate (issuer and productName);
 *    both present and different: `chain`;
 *  - the certificate (VCEK or VLEK, as SIGNING_KEY says): RSASSA-PSS
 *    SHA-384 (salt 48) by the product's ASK (VCEK) or ASVK (VLEK), signed by
 *    the product's ARK, all pinned by fingerprint; each validity window at
 *    the verdict's time (`expired`); no RFC 5280 path profiling (the VCEK has
 *    no AKI), signatures are verified explicitly;
 *  - the report signature: ECDSA P-384 over bytes 0x000-0x29F with the
 *    certificate's key; R and S are 72-byte little-endian fields;
 *  - TCB: REPORTED_TCB equals the certificate's SPLs (`tcb-mismatch`);
 *    COMMITTED_TCB <= CURRENT_TCB and REPORTED_TCB <= CURRENT_TCB per
 *    component, committed == current unless the policy allows provisional
 *    firmware, the policy's minimum against REPORTED_TCB and LAUNCH_TCB
 *    (`tcb-level`);
 *  - CHIP_ID equals the VCEK's hwID (64 bytes; 8 on Turin; the extension
 *    either raw or wrapped in an OCTET STRING) unless MASK_CHIP_ID
 *    (`chip-id`); a VLEK carries no hwID;
 *  - guest policy: reserved bit 17 set, bits 26-63 clear (`policy`); DEBUG
 *    (`debug`), MIGRATE_MA (`migration-agent`), SMT (`smt`) as the policy
 *    allows; the firmware's ABI at least the guest policy's and the policy's
 *    minimum (`abi`);
 *  - VMPL in the allowed set (`vmpl`); GUEST_SVN minimum (`svn`);
 *  - pins: MEASUREMENT, HOST_DATA, REPORT_DATA, ID/AUTHOR key digests;
 *    the nonce (REPORT_DATA = nonce || zeros);
 *  - PLATFORM_INFO: reported as claims; unknown bits tolerated;
 *  - an AMD CRL in the collateral (optional): signed by the ARK, current at
 *    the verdict's time (`collateral-expired`), and the ASK/ASVK not on it
 *    (`revoked`).
 *
 * Pure: bytes in, verdict out. The context holds the parsed roots and a
 * small cache of verified certificates (as a service would hold them); it
 * is not thread-safe: one per thread. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tl/error.h"
#include "tl/tee.h"

#define TL_SNP_REPORT_SIZE 0x4a0 /* 1184 */
#define TL_SNP_SIGNED_SIZE 0x2a0 /* bytes covered by the signature */

enum tl_snp_product {
    TL_SNP_PRODUCT_UNKNOWN,
    TL_SNP_PRODUCT_MILAN,
    TL_SNP_PRODUCT_GENOA,
    TL_SNP_PRODUCT_TURIN,
};

/* "Milan", "Genoa", "Turin", "unknown" */
const char *tl_snp_product_name(enum tl_snp_product p);

/* A TCB_VERSION decoded in its product's layout. */
struct tl_snp_tcb {
    uint8_t bootloader, tee, snp, microcode;
    uint8_t fmc; /* Turin only */
};

/* Decodes raw (the 64-bit little-endian field) for product (Milan and
 * Genoa share a layout; unknown decodes as Milan). */
struct tl_snp_tcb tl_snp_tcb_decode(uint64_t raw, enum tl_snp_product product);

/* Guest policy bits (ABI 4.3, Table 9). */
#define TL_SNP_POLICY_SMT         (1ull << 16)
#define TL_SNP_POLICY_RESERVED_1  (1ull << 17) /* must be 1 */
#define TL_SNP_POLICY_MIGRATE_MA  (1ull << 18)
#define TL_SNP_POLICY_DEBUG       (1ull << 19)
#define TL_SNP_POLICY_SINGLE_SOCK (1ull << 20)
#define TL_SNP_POLICY_KNOWN_MASK  ((1ull << 26) - 1) /* through PAGE_SWAP_DISABLE (25) */

struct tl_snp_report {
    uint32_t version;
    uint32_t guest_svn;
    uint64_t policy;
    uint8_t family_id[16];
    uint8_t image_id[16];
    uint32_t vmpl;
    uint32_t signature_algo;
    uint64_t current_tcb;
    uint64_t platform_info;
    bool author_key_en;
    bool mask_chip_id;
    uint8_t signing_key; /* 0 VCEK, 1 VLEK, 7 none */
    uint8_t report_data[64];
    uint8_t measurement[48];
    uint8_t host_data[32];
    uint8_t id_key_digest[48];
    uint8_t author_key_digest[48];
    uint8_t report_id[32];
    uint8_t report_id_ma[32];
    uint64_t reported_tcb;
    uint8_t cpuid_fam_id, cpuid_mod_id, cpuid_step; /* v3+; 0 in v2 */
    uint8_t chip_id[64];
    uint64_t committed_tcb;
    uint8_t current_build, current_minor, current_major;
    uint8_t committed_build, committed_minor, committed_major;
    uint64_t launch_tcb;
    uint64_t launch_mit_vector, current_mit_vector; /* v5 */
    uint8_t sig_r[72], sig_s[72];                   /* little-endian */
};

/* Parses exactly TL_SNP_REPORT_SIZE bytes (-EBADMSG otherwise, err says the
 * size). The version is not judged here (the verdict does: `version`). */
int tl_snp_report_parse(const uint8_t *buf, size_t len, struct tl_snp_report *r,
                        struct tl_error *err);

/* The product the report's CPUID fields name (v3+), or UNKNOWN. */
enum tl_snp_product tl_snp_report_product(const struct tl_snp_report *r);

/* A report as text: the hex of its 1184 bytes (either case, whitespace and
 * line breaks allowed between digits). *out is malloc'd. -EBADMSG when the
 * text is not that. */
int tl_snp_report_from_hex(const char *text, size_t len, uint8_t **out, size_t *out_len,
                           struct tl_error *err);

struct tl_snp_ctx;

/* Parses the built-in roots and checks their fingerprints and the ARK's
 * signatures (once). -ENOMEM, -EBADMSG (a built-in root is corrupt). */
int tl_snp_ctx_new(struct tl_snp_ctx **out, struct tl_error *err);
void tl_snp_ctx_free(struct tl_snp_ctx *ctx);

struct tl_snp_evidence {
    const uint8_t *report; /* TL_SNP_REPORT_SIZE bytes */
    size_t report_len;
    const uint8_t *cert; /* the VCEK or VLEK, PEM or DER; NULL: from collateral */
    size_t cert_len;
    const struct tl_tee_collateral *collateral; /* may be NULL */
};

/* Judges a report into v (tl_tee_verdict_init'd by the caller with the
 * time), claims into claims (v->claims, or a nested object for Azure
 * evidence), without finishing the verdict. Returns 0 whatever the verdict,
 * -ENOMEM when it could not run. */
int tl_snp_check(struct tl_snp_ctx *ctx, const struct tl_snp_evidence *ev,
                 const struct tl_tee_policy *policy, struct tl_tee_verdict *v, json_t *claims);

/* tl_snp_check into v->claims (with x-ms-attestation-type "sevsnpvm"),
 * then tl_tee_verdict_finish. */
int tl_snp_verify(struct tl_snp_ctx *ctx, const struct tl_snp_evidence *ev,
                  const struct tl_tee_policy *policy, struct tl_tee_verdict *v);

/* The report's fields as MAA claims (x-ms-sevsnpvm-*) into obj: what
 * `tl tee show` prints, and what tl_snp_check adds. */
void tl_snp_report_claims(const struct tl_snp_report *r, json_t *obj);
/* The same, the TCB fields decoded in product's layout (a v2 report's
 * product comes from its certificate). */
void tl_snp_report_claims_product(const struct tl_snp_report *r, enum tl_snp_product prod,
                                  json_t *obj);
