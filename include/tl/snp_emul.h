/* The emulated secure processor, SEV-SNP half: an ATTESTATION_REPORT as the
 * AMD secure processor writes it (SEV-SNP Firmware ABI 1.57/1.58, 7.3,
 * Table 23; v3 and v5 layouts, CPUID fields for v3+, Milan/Genoa
 * TCB_VERSION layout), signed ECDSA P-384 SHA-384 by a VCEK key, and a
 * local ARK -> ASK -> VCEK chain shaped like AMD's (VCEK spec 57230, 3.1):
 * RSASSA-PSS SHA-384 (salt 48) ARK, self-signed, over the ASK, the ASK over
 * the VCEK; the VCEK an ECDSA P-384 key carrying AMD's extensions under
 * 1.3.6.1.4.1.3704.1 (.1 structVersion, .2 productName, .3.1-.3.8 SPLs,
 * .4 hwID = CHIP_ID), no authority key identifier, as AMD's. Subjects are
 * AMD's but for O = "trustlaunch emulated secure processor", so no name of
 * this chain is one of AMD's.
 *
 * Nothing here trusts anything: tl_snp_verify judges the result, and
 * passes it only under a policy whose trusted-roots name the ARK's
 * SHA-256 (and then says "emulated").
 *
 * Pure: keys come from the caller as EVP_PKEY (ARK and ASK RSA, the VCEK
 * an EC P-384 private key); bytes out malloc'd; -errno + tl_error. */
#pragma once

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include "tl/error.h"
#include "tl/snp.h"
#include "tl/tee_emul.h"

/* Fills r with an emulated report's fields: VERSION version (3 or 5),
 * GUEST_SVN 0, guest policy 0x30000 (SMT allowed, reserved bit 17; debug,
 * migration agent off; ABI minimum 0.0), VMPL 0, SIGNATURE_ALGO 1,
 * SIGNING_KEY 0 (VCEK), PLATFORM_INFO 0x1 (SMT enabled), CURRENT,
 * REPORTED, COMMITTED and LAUNCH TCB all tcb in product's layout, firmware
 * 1.55 build 0 (committed the same), CPUID family 19h model 01h (Milan) or
 * 11h (Genoa) stepping 1, REPORT_ID_MA all ones (no migration agent),
 * the rest zero. The caller then sets report_data, measurement, chip_id,
 * host_data, report_id, ... -EINVAL for another version or product. */
int tl_snp_emul_report_init(struct tl_snp_report *r, uint32_t version, enum tl_snp_product product,
                            const struct tl_snp_tcb *tcb, struct tl_error *err);

/* The TCB_VERSION of tcb in product's layout (the inverse of
 * tl_snp_tcb_decode). */
uint64_t tl_snp_tcb_encode(const struct tl_snp_tcb *tcb, enum tl_snp_product product);

/* Serialises r into out (the inverse of tl_snp_report_parse: every field
 * at its Table 23 offset; CPUID fields only for v3+, mitigation vectors
 * only for v5) and signs bytes 0x000-0x29F with vcek (ECDSA P-384,
 * SHA-384; R and S little-endian, zero-extended to 72 bytes), ignoring
 * r->sig_r/sig_s. -EINVAL when vcek is not a P-384 private key. */
int tl_snp_emul_report(const struct tl_snp_report *r, EVP_PKEY *vcek,
                       uint8_t out[TL_SNP_REPORT_SIZE], struct tl_error *err);

/* The ARK: self-signed by ark (RSA), "ARK-Milan"/"ARK-Genoa", CA, serial
 * 0x10000. DER, malloc'd. */
int tl_snp_emul_ark(EVP_PKEY *ark, enum tl_snp_product product, struct tl_tee_emul_window w,
                    uint8_t **der, size_t *len, struct tl_error *err);

/* The ASK ("SEV-Milan"/"SEV-Genoa", key ask, RSA) signed by ark_key under
 * the ARK certificate ark_der. CA pathlen 0, serial 0x10001. */
int tl_snp_emul_ask(EVP_PKEY *ask, EVP_PKEY *ark_key, const uint8_t *ark_der, size_t ark_len,
                    enum tl_snp_product product, struct tl_tee_emul_window w, uint8_t **der,
                    size_t *len, struct tl_error *err);

/* The VCEK ("SEV-VCEK", key vcek, EC P-384) signed by ask_key under the
 * ASK certificate ask_der, with the SPLs of tcb (productName "Milan-B0" or
 * "Genoa-B1") and hwID chip_id (64 bytes, raw in the extension as AMD's
 * KDS writes it). */
int tl_snp_emul_vcek(EVP_PKEY *vcek, EVP_PKEY *ask_key, const uint8_t *ask_der, size_t ask_len,
                     enum tl_snp_product product, const struct tl_snp_tcb *tcb,
                     const uint8_t chip_id[64], struct tl_tee_emul_window w, uint8_t **der,
                     size_t *len, struct tl_error *err);
