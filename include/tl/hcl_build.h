/* Azure's HCL report, built: the inverse of tl_hcl_report_parse and
 * tl_az_runtime_parse (tl/azure.h has the layout). What Azure's paravisor
 * writes into the vTPM's NV index 0x01400001 and what an emulated
 * confidential node's platform writes in its place:
 *
 *   "HCLA" | header version (1 SNP, 2 TDX, as Azure's) | report size
 *   (0x4D4 + runtime size) | request type 2 | status 0 | 3 reserved
 *   | the hardware report (SNP ATTESTATION_REPORT, 1184 bytes; or a TDX
 *   TDREPORT, 1024 bytes zero-padded to 1184)
 *   | IGVM request data: data size (20 + runtime size), version 1,
 *   report type (2 SNP, 4 TDX), hash type 1 (SHA-256), runtime size
 *   | the runtime JSON | zeros to `pad_to` (Azure's NV content is 2600).
 *
 * The binding the verifier checks: the hardware report's REPORT_DATA (SNP)
 * or the TD quote's (TDX) is SHA-256(runtime JSON bytes) || 32 zeros;
 * tl_az_runtime_report_data computes it for the report generator.
 *
 * Pure: bytes in, bytes out (malloc'd); -errno + tl_error. */
#pragma once

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tl/azure.h"
#include "tl/error.h"

/* The runtime JSON: {"keys":[{"kid":"HCLAkPub","key_ops":["sign"],
 * "kty":"RSA","e":..,"n":..},{"kid":"HCLEkPub","key_ops":["encrypt"],...}],
 * "vm-configuration":{"console-enabled":..,"root-cert-thumbprint":"",
 * "secure-boot":..,"tpm-enabled":..,"tpm-persisted":..,"vmUniqueId":..},
 * "user-data": 128 hex digits (zeros when has_user_data is false, as Azure
 * writes them)}; JWK "n"/"e" base64url without padding, unsigned
 * big-endian (RFC 7518 6.3). */
struct tl_az_runtime_spec {
    EVP_PKEY *ak; /* RSA: the vTPM's attestation key (HCLAkPub) */
    EVP_PKEY *ek; /* RSA: the vTPM's endorsement key (HCLEkPub); NULL: left out */
    bool secure_boot, tpm_enabled, tpm_persisted, console_enabled;
    const char *vm_unique_id; /* NULL: "" */
    bool has_user_data;
    uint8_t user_data[64];
};

/* *json malloc'd, NUL-terminated (*len excludes the NUL). -EINVAL when ak
 * (or ek) is not an RSA key. */
int tl_az_runtime_build(const struct tl_az_runtime_spec *s, char **json, size_t *len,
                        struct tl_error *err);

/* SHA-256(json) || 32 zero bytes: the REPORT_DATA that binds it. */
int tl_az_runtime_report_data(const uint8_t *json, size_t len, uint8_t report_data[64],
                              struct tl_error *err);

struct tl_hcl_build {
    uint32_t report_type; /* TL_HCL_REPORT_SNP or TL_HCL_REPORT_TDX */
    const uint8_t *hw_report;
    size_t hw_len; /* 1184 (SNP) or 1024 (TDX TDREPORT) */
    const uint8_t *runtime;
    size_t runtime_len; /* at most 64 KiB (the parser's cap) */
    size_t pad_to;      /* total size with trailing zeros; 0 or less than needed: none */
};

/* -EINVAL (err) for a report type other than SNP/TDX, a hardware report
 * of the wrong size, a runtime JSON over the cap. */
int tl_hcl_report_build(const struct tl_hcl_build *b, uint8_t **out, size_t *out_len,
                        struct tl_error *err);
