/* Azure confidential-VM evidence: the HCL report Azure's paravisor (HCL)
 * produces, bound to the hardware report (SEV-SNP) or TD quote (TDX), and
 * the vTPM quote signed by the attestation key the HCL report carries.
 *
 * HCL report (Azure "confidential VM guest attestation"; layout as
 * azure-cvm-tooling's az-cvm-vtpm hcl module reads it):
 *   0x000  header: "HCLA", version, report size, request type, status,
 *          3 reserved words (32 bytes, not covered by anything)
 *   0x020  the hardware report: an SEV-SNP ATTESTATION_REPORT (1184 bytes)
 *          or a TDX TDREPORT (1024 bytes, zero-padded to 1184)
 *   0x4C0  IGVM request data: data size, version, report type (2 SNP,
 *          4 TDX), report-data hash type (1 SHA-256, 2 SHA-384,
 *          3 SHA-512), variable data size (5 x u32)
 *   0x4D4  the variable (runtime) data: UTF-8 JSON {"keys":[JWKs, kid
 *          "HCLAkPub" the vTPM's AK, "HCLEkPub"], "vm-configuration":
 *          {...}, "user-data": hex}
 * REPORT_DATA of the hardware report (SNP) or of the TD quote (TDX) is
 * H(runtime JSON bytes) followed by zeros: that is the whole binding of the
 * JSON, hence of the AK, to the hardware.
 *
 * Evidence forms (confidential-containers/trustee, deps/verifier
 * az_snp_vtpm / az_tdx_vtpm compat.rs): v0 (no version; byte arrays as
 * JSON number arrays, the VCEK as PEM), v1 and v2 ("version"; tpm_quote
 * fields hex; hcl_report, vcek, td_quote base64url). v2 additionally puts
 * the verifier's nonce at the start of "user-data".
 *
 * Pure: bytes in, verdict out. Size caps: evidence JSON 1 MiB, runtime
 * JSON 64 KiB, PCRs 24. */
#pragma once

#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tl/error.h"
#include "tl/snp.h"
#include "tl/tee.h"

#define TL_HCL_HEADER_SIZE  0x20
#define TL_HCL_HW_SIZE      1184 /* room for the largest hardware report */
#define TL_HCL_IGVM_OFFSET  (TL_HCL_HEADER_SIZE + TL_HCL_HW_SIZE)
#define TL_HCL_IGVM_SIZE    20
#define TL_HCL_VAR_OFFSET   (TL_HCL_IGVM_OFFSET + TL_HCL_IGVM_SIZE)
#define TL_HCL_REPORT_SNP   2
#define TL_HCL_REPORT_TDX   4
#define TL_TDX_TDREPORT_LEN 1024

struct tl_hcl_report {
    uint32_t header_version, report_size, request_type, status;
    uint32_t igvm_data_size, igvm_version, report_type, hash_type;
    const uint8_t *hw_report; /* into the caller's buffer */
    size_t hw_len;            /* 1184 (SNP) or 1024 (TDX) */
    const uint8_t *var_data;  /* the runtime JSON bytes */
    size_t var_len;
};

/* Parses an HCL report. -EBADMSG (err with the offset) for: shorter than
 * the fixed part, no "HCLA", a report type other than SNP or TDX, an
 * unknown hash type, a data size that disagrees with the variable data
 * size, variable data past the end, non-zero bytes after it. */
int tl_hcl_report_parse(const uint8_t *buf, size_t len, struct tl_hcl_report *out,
                        struct tl_error *err);

/* The runtime JSON, parsed. */
struct tl_az_runtime {
    json_t *root; /* owned */
    EVP_PKEY *ak; /* HCLAkPub as an RSA key, owned; NULL if absent/bad */
    bool has_user_data;
    uint8_t user_data[64];
    json_t *vm_config; /* borrowed from root; NULL if absent */
};

/* -EBADMSG when the bytes are not a JSON object (err says why); a missing
 * or unusable HCLAkPub leaves ak NULL (the verdict names it). */
int tl_az_runtime_parse(const uint8_t *buf, size_t len, struct tl_az_runtime *rt,
                        struct tl_error *err);
void tl_az_runtime_done(struct tl_az_runtime *rt);

/* A trustee evidence file, decoded (all buffers owned). */
struct tl_az_evidence {
    int version;           /* 0, 1, 2 */
    enum tl_tee_kind kind; /* TL_TEE_KIND_AZ_SNP_VTPM or _AZ_TDX_VTPM */
    uint8_t *hcl_report;
    size_t hcl_len;
    uint8_t *vcek; /* SNP: DER (v1+) or PEM (v0) */
    size_t vcek_len;
    uint8_t *td_quote; /* TDX */
    size_t td_quote_len;
    uint8_t *tpm_message; /* TPMS_ATTEST */
    size_t tpm_message_len;
    uint8_t *tpm_signature; /* raw RSASSA-PKCS1-v1_5 SHA-256 signature */
    size_t tpm_signature_len;
    uint8_t pcrs[24][32]; /* SHA-256 PCR values as sent, index order */
    size_t n_pcrs;
};

/* Recognises and decodes a trustee az-snp-vtpm or az-tdx-vtpm evidence
 * JSON (v0, v1, v2). -EBADMSG with a message for anything else (unknown
 * member, wrong encoding, a size cap exceeded). */
int tl_az_evidence_parse(const uint8_t *json, size_t len, struct tl_az_evidence *ev,
                         struct tl_error *err);
void tl_az_evidence_done(struct tl_az_evidence *ev);

/* Verifies a TD quote for Azure TDX evidence: fills td (which it
 * initialises, kind TDX, with the quote's claims). Set by the caller when a
 * TDX verifier is linked in; without one the TD quote is `not-verified`. */
typedef int (*tl_az_td_verify_fn)(void *opaque, const uint8_t *quote, size_t len,
                                  const struct tl_tee_policy *policy, time_t at,
                                  struct tl_tee_verdict *td);

struct tl_az_verifier {
    struct tl_snp_ctx *snp; /* required for SNP evidence */
    tl_az_td_verify_fn td_verify;
    void *td_opaque;
};

/* Verifies evidence into v (initialised by the caller: kind and time),
 * then finishes it. policy->nonce is the vTPM quote's expected extraData.
 * Returns 0 whatever the verdict, -ENOMEM. */
int tl_az_verify(const struct tl_az_verifier *az, const struct tl_az_evidence *ev,
                 const struct tl_tee_collateral *collateral, const struct tl_tee_policy *policy,
                 struct tl_tee_verdict *v);

/* The REPORTDATA of a TD quote v4/v5 (unauthenticated: the TD quote's own
 * verification authenticates it). -EBADMSG when the quote is too short or
 * not v4/v5. */
int tl_az_td_quote_report_data(const uint8_t *quote, size_t len, const uint8_t **report_data,
                               struct tl_error *err);
