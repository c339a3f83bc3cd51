/* The emulated secure processor, TDX half: a TD quote v4 (header + TD
 * report 1.0 body, Intel TDX DCAP Quote Library API, A.3) signed ECDSA
 * P-256 by an attestation key; certification data type 6 carrying the
 * Quoting Enclave's SGX report (its REPORT_DATA = SHA-256(attestation key
 * || QE authentication data) || zeros, binding the key), that report's
 * signature by a PCK key, the authentication data and, nested, type 5: the
 * PCK chain in PEM (PCK -> PCK Platform CA -> root CA). And the collateral
 * the verifier takes (tl/tdx.h): TCB info v3 ("id":"TDX") and QE identity
 * v2 ("id":"TD_QE") JSON signed by a TCB signing certificate under the same
 * root, and the root and PCK CRLs, each with the window the caller gives.
 *
 * Certificates follow Intel's profile (SGX PCK Certificate and CRL
 * Profile): ECDSA P-256 with SHA-256, key identifiers, basic constraints
 * and key usage critical; the PCK carries the SGX extension
 * 1.2.840.113741.1.13.1 (PPID, TCB components, PCESVN, CPUSVN, PCE-ID,
 * FMSPC, SGX type) as pck.c reads it. Names say "Emulated" and
 * O = "trustlaunch emulated secure processor": none is Intel's.
 *
 * Nothing here trusts anything: tl_tdx_verify judges the result, passing
 * it only under a policy whose trusted-roots name the root's SHA-256.
 *
 * Pure: keys (EC P-256 private) come from the caller; bytes out are
 * malloc'd; -errno + tl_error. */
#pragma once

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include "tl/error.h"
#include "tl/tdx.h"
#include "tl/tee_emul.h"

/* Emulator constants: a TD report body (TEE_TCB_SVN 03 00 ..: TDX module
 * SVN 3, major version 0; MRSIGNERSEAM and MRSEAM fixed non-zero values;
 * SEAMATTRIBUTES 0; TDATTRIBUTES SEPT_VE_DISABLE only (debug off); XFAM
 * 0x00000000000602e7), the QE's SGX report (MRSIGNER a fixed value,
 * ISVPRODID 2, ISVSVN 4, ATTRIBUTES INIT|MODE64, MISCSELECT 0) and the
 * platform the PCK describes (FMSPC 00806F050000, PCE-ID 0000, SGX TCB
 * components and CPUSVN all 2, PCESVN 11, SGX type 0). The caller sets
 * MRTD, RTMRs, REPORT_DATA, ... afterwards. */
void tl_tdx_emul_defaults(struct tl_tdx_td_report *td, struct tl_sgx_report *qe,
                          struct tl_tdx_pck_info *platform);

/* The quote: header (v4, ECDSA P-256, TEE type 0x81, Intel's QE vendor
 * ID), td serialised (the inverse of the parser), signed with att_key; the
 * QE report from qe (report_data computed from att_key and qe_auth),
 * signed with pck_key; qe_auth (<= 256 bytes); the PEM chain (PCK first).
 * *out malloc'd. */
int tl_tdx_emul_quote(const struct tl_tdx_td_report *td, const struct tl_sgx_report *qe,
                      const uint8_t *qe_auth, size_t qe_auth_len, EVP_PKEY *att_key,
                      EVP_PKEY *pck_key, const char *pck_chain_pem, size_t pem_len, uint8_t **out,
                      size_t *out_len, struct tl_error *err);

/* The root CA, self-signed by root (CN "Emulated SGX Root CA"; CA,
 * pathlen 1; serial 1). DER. */
int tl_tdx_emul_root(EVP_PKEY *root, struct tl_tee_emul_window w, uint8_t **der, size_t *len,
                     struct tl_error *err);

/* The PCK Platform CA (CN "Emulated SGX PCK Platform CA"; pathlen 0;
 * serial 2) under the root. */
int tl_tdx_emul_pck_ca(EVP_PKEY *ca, EVP_PKEY *root_key, const uint8_t *root_der, size_t root_len,
                       struct tl_tee_emul_window w, uint8_t **der, size_t *len,
                       struct tl_error *err);

/* The PCK certificate (CN "Emulated SGX PCK Certificate"; serial 3) under
 * the Platform CA, its SGX extension from platform. */
int tl_tdx_emul_pck(EVP_PKEY *pck, EVP_PKEY *ca_key, const uint8_t *ca_der, size_t ca_len,
                    const struct tl_tdx_pck_info *platform, struct tl_tee_emul_window w,
                    uint8_t **der, size_t *len, struct tl_error *err);

/* The TCB signing certificate (CN "Emulated SGX TCB Signing"; serial 4)
 * under the root. */
int tl_tdx_emul_tcb_signer(EVP_PKEY *signer, EVP_PKEY *root_key, const uint8_t *root_der,
                           size_t root_len, struct tl_tee_emul_window w, uint8_t **der, size_t *len,
                           struct tl_error *err);

/* A CRL by the CA issuer_der (key issuer_key), current over w, revoking
 * the given serials (n may be 0). DER. */
int tl_tdx_emul_crl(EVP_PKEY *issuer_key, const uint8_t *issuer_der, size_t issuer_len,
                    struct tl_tee_emul_window w, const uint64_t *revoked, size_t n, uint8_t **der,
                    size_t *len, struct tl_error *err);

/* TCB info v3 for TDX: {"tcbInfo":{...},"signature":hex}, one TCB level,
 * UpToDate, whose SGX components and PCESVN are the platform's and whose
 * TDX components are td's TEE_TCB_SVN; FMSPC and PCE-ID the platform's;
 * "tdxModule" MRSIGNER td's MRSIGNERSEAM with SEAMATTRIBUTES under a full
 * mask; issueDate/nextUpdate from w; signed (ECDSA P-256 SHA-256 over the
 * member's bytes, r || s hex) by signer. *json NUL-terminated. */
int tl_tdx_emul_tcbinfo(const struct tl_tdx_pck_info *platform, const struct tl_tdx_td_report *td,
                        struct tl_tee_emul_window w, EVP_PKEY *signer, char **json, size_t *len,
                        struct tl_error *err);

/* QE identity v2 for TD_QE: the QE's MRSIGNER, ISVPRODID, MISCSELECT and
 * ATTRIBUTES (masks all ones), one level at its ISVSVN, UpToDate. */
int tl_tdx_emul_qe_identity(const struct tl_sgx_report *qe, struct tl_tee_emul_window w,
                            EVP_PKEY *signer, char **json, size_t *len, struct tl_error *err);

/* A TDX TDREPORT (TDX Module ABI, TDREPORT_STRUCT, 1024 bytes) as the HCL
 * report carries it: REPORTMACSTRUCT (REPORTTYPE TDX 0x81 v1, REPORTDATA
 * at 128, MAC zero: only the CPU could check it), TEE_TCB_INFO at 256
 * (TEE_TCB_SVN, MRSEAM, MRSIGNERSEAM, ATTRIBUTES), TDINFO at 512
 * (ATTRIBUTES, XFAM, MRTD, MRCONFIGID, MROWNER, MROWNERCONFIG, RTMR0-3).
 * Its quote is tl_tdx_emul_quote of the same td (what Azure's TDX HCL
 * report carries, tl/hcl_build.h). */
void tl_tdx_emul_tdreport(const struct tl_tdx_td_report *td, uint8_t out[1024]);
