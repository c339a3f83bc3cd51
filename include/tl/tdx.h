/* Intel TDX quotes and their DCAP collateral.
 *
 * A TD quote (Intel TDX DCAP Quote Generation Library / Quote Library API,
 * "Quote Format" appendix: quote v4 = header + TD report 1.0 body; v5 =
 * header + body descriptor + TD report 1.0 or 1.5 body) is signed with an
 * ECDSA P-256 attestation key; certification data type 6 carries the
 * Quoting Enclave's SGX report (whose REPORT_DATA binds that key), the
 * QE report's signature by the PCK key, the QE authentication data and,
 * nested, certification data type 5: the PCK certificate chain (PEM) up to
 * Intel's SGX Root CA, which is built in and pinned by fingerprint.
 *
 * The platform's TCB is judged with Intel PCS collateral (PCS API v4): TCB
 * info v3 for TDX ("id":"TDX") and QE identity v2 ("id":"TD_QE"), each
 * signed over the raw bytes of its "tcbInfo" / "enclaveIdentity" member by
 * the Intel SGX TCB Signing certificate; PCK and root CRLs. Every window is
 * checked against a caller-given time, never the machine's clock.
 *
 * Layers: tl_tdx_quote_parse (framing only), tl_tdx_tcbinfo_parse /
 * tl_tdx_qe_identity_parse (JSON, signature checked later), the collateral
 * set (recognises what it is handed by content, parses once, holds it for
 * many verifications), tl_tdx_verify (every check, a verdict with reasons
 * and MAA-named claims). Pure: no I/O, no globals. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "tl/error.h"
#include "tl/tee.h"

#define TL_TDX_TEE_TYPE            0x00000081u
#define TL_TDX_ATT_KEY_ECDSA_P256  2
#define TL_TDX_HEADER_SIZE         48
#define TL_TDX_TD10_SIZE           584
#define TL_TDX_TD15_SIZE           648
#define TL_SGX_REPORT_SIZE         384
#define TL_TDX_BODY_TD10           2 /* v5 body descriptor types */
#define TL_TDX_BODY_TD15           3
#define TL_TDX_CERT_PCK_CHAIN      5 /* certification data types */
#define TL_TDX_CERT_QE_REPORT      6
#define TL_TDX_TD_ATTR_DEBUG       0x1ull /* TDATTRIBUTES.TUD.DEBUG (bit 0) */
#define TL_TDX_TD_ATTR_SEPT_VE_DIS (1ull << 28)

/* TD report body (TDX Module ABI, TDREPORT_STRUCT's TEE_TCB_INFO + TDINFO
 * as the quote carries them). */
struct tl_tdx_td_report {
    uint8_t tee_tcb_svn[16];
    uint8_t mrseam[48];
    uint8_t mrsignerseam[48];
    uint8_t seam_attributes[8];
    uint8_t td_attributes[8];
    uint8_t xfam[8];
    uint8_t mrtd[48];
    uint8_t mrconfigid[48];
    uint8_t mrowner[48];
    uint8_t mrownerconfig[48];
    uint8_t rtmr[4][48];
    uint8_t report_data[64];
    bool v15; /* TD report 1.5: the two fields below are present */
    uint8_t tee_tcb_svn2[16];
    uint8_t mrservicetd[48];
};

/* SGX report body (the QE's). */
struct tl_sgx_report {
    uint8_t cpusvn[16];
    uint32_t miscselect;
    uint8_t attributes[16];
    uint8_t mrenclave[32];
    uint8_t mrsigner[32];
    uint16_t isvprodid;
    uint16_t isvsvn;
    uint8_t report_data[64];
};

/* A parsed quote; pointers are into the caller's buffer. */
struct tl_tdx_quote {
    uint16_t version;
    uint16_t att_key_type;
    uint32_t tee_type;
    uint8_t qe_vendor_id[16];
    uint16_t body_type; /* TL_TDX_BODY_TD10 / _TD15 (v4: TD10) */
    struct tl_tdx_td_report td;
    const uint8_t *signed_data; /* header (+ descriptor) + body */
    size_t signed_len;
    const uint8_t *signature;  /* ECDSA r || s, 64 */
    const uint8_t *attest_key; /* P-256 x || y, 64 */
    const uint8_t *qe_report;  /* 384, signed by the PCK */
    const uint8_t *qe_report_signature;
    struct tl_sgx_report qe;
    const uint8_t *qe_auth;
    uint16_t qe_auth_len;
    const uint8_t *pck_chain; /* certification data type 5: PEM */
    uint32_t pck_chain_len;
    size_t trailing_zero_bytes; /* zero padding after the signature data */
};

/* Parses a quote's framing: every size is checked against the buffer and
 * against the enclosing one (the signature data, the type-6 data and the
 * nested type-5 data must end exactly together); anything after the
 * signature data must be zero bytes. -EBADMSG for malformed input,
 * -EPROTONOSUPPORT for a well-formed quote of a version, TEE type, key
 * type, body type or certification type this code does not verify. */
int tl_tdx_quote_parse(const uint8_t *buf, size_t len, struct tl_tdx_quote *q,
                       struct tl_error *err);

/* Parses an SGX report body (384 bytes). */
void tl_sgx_report_parse(const uint8_t *p, struct tl_sgx_report *r);

/* ---- TCB info (TDX, v3) and QE identity (v2) ---- */

#define TL_TDX_MAX_ADVISORIES 64
#define TL_TDX_ADVISORY_LEN   24

struct tl_tdx_advisories {
    unsigned n;
    char id[TL_TDX_MAX_ADVISORIES][TL_TDX_ADVISORY_LEN];
};

struct tl_tdx_tcb_level {
    uint8_t sgx[16];
    uint16_t pcesvn;
    uint8_t tdx[16];
    enum tl_tee_tcb_status status;
    time_t tcb_date;
    struct tl_tdx_advisories advisories;
};

struct tl_tdx_module_level {
    uint8_t isvsvn;
    enum tl_tee_tcb_status status;
    time_t tcb_date;
    struct tl_tdx_advisories advisories;
};

struct tl_tdx_module_identity {
    char id[16]; /* "TDX_01" */
    uint8_t mrsigner[48];
    uint8_t attributes[8];
    uint8_t attributes_mask[8];
    size_t n_levels;
    struct tl_tdx_module_level *levels; /* malloc'd */
};

/* The signed part of a PCS response: the raw member bytes and the
 * signature over them (ECDSA P-256 SHA-256, r || s). */
struct tl_tdx_signed_json {
    uint8_t *body; /* malloc'd copy of the member's raw bytes */
    size_t body_len;
    uint8_t signature[64];
};

struct tl_tdx_tcbinfo {
    struct tl_tdx_signed_json signed_part;
    int version;
    time_t issue_date, next_update;
    uint8_t fmspc[6];
    uint8_t pce_id[2];
    int tcb_type;
    int tcb_evaluation_data_number;
    struct tl_tdx_module_identity module; /* "tdxModule" (no levels) */
    size_t n_modules;
    struct tl_tdx_module_identity *modules; /* "tdxModuleIdentities", malloc'd */
    size_t n_levels;
    struct tl_tdx_tcb_level *levels; /* malloc'd, in the response's order */
};

struct tl_tdx_qe_level {
    uint16_t isvsvn;
    enum tl_tee_tcb_status status;
    time_t tcb_date;
    struct tl_tdx_advisories advisories;
};

struct tl_tdx_qe_identity {
    struct tl_tdx_signed_json signed_part;
    int version;
    time_t issue_date, next_update;
    int tcb_evaluation_data_number;
    uint32_t miscselect, miscselect_mask;
    uint8_t attributes[16], attributes_mask[16];
    uint8_t mrsigner[32];
    uint16_t isvprodid;
    size_t n_levels;
    struct tl_tdx_qe_level *levels; /* malloc'd */
};

/* Parses a PCS TCB info response ({"tcbInfo":{...},"signature":"hex"}).
 * Only TDX TCB info v3 is accepted (-EPROTONOSUPPORT otherwise). The
 * structure is read from the very bytes the signature covers. */
int tl_tdx_tcbinfo_parse(const uint8_t *buf, size_t len, struct tl_tdx_tcbinfo *ti,
                         struct tl_error *err);
void tl_tdx_tcbinfo_done(struct tl_tdx_tcbinfo *ti);

/* Parses a PCS QE identity response ({"enclaveIdentity":{...},
 * "signature":"hex"}); only "TD_QE" v2. */
int tl_tdx_qe_identity_parse(const uint8_t *buf, size_t len, struct tl_tdx_qe_identity *qe,
                             struct tl_error *err);
void tl_tdx_qe_identity_done(struct tl_tdx_qe_identity *qe);

/* The raw bytes of a top-level member's value in a JSON object text
 * (linear scan; the text must be one object). -ENOENT when absent,
 * -EBADMSG when the text is not a JSON object or has it twice. */
int tl_json_member_span(const uint8_t *buf, size_t len, const char *name, size_t *start,
                        size_t *end, struct tl_error *err);

/* What the PCK certificate's SGX extensions say (Intel SGX PCK Certificate
 * and CRL Profile, OID 1.2.840.113741.1.13.1). */
struct tl_tdx_pck_info {
    uint8_t ppid[16];
    uint8_t tcb_comp[16]; /* SGX TCB component SVNs 1..16 */
    uint16_t pcesvn;
    uint8_t cpusvn[16];
    uint8_t pce_id[2];
    uint8_t fmspc[6];
    int sgx_type;
};

/* Reads the extension from a DER certificate. -EBADMSG when missing or
 * malformed. */
int tl_tdx_pck_info_parse(const uint8_t *der, size_t len, struct tl_tdx_pck_info *out,
                          struct tl_error *err);

/* The TCB judgement: platform level (PCK SVNs + TEE_TCB_SVN), TDX module
 * identity, QE identity level, combined as Intel's QVL combines them. */
struct tl_tdx_tcb_result {
    bool evaluated;     /* a platform level matched */
    int platform_level; /* index into tcbinfo levels, -1 */
    enum tl_tee_tcb_status platform_status;
    bool module_checked; /* TDX module identity matched */
    enum tl_tee_tcb_status module_status;
    bool qe_evaluated;
    enum tl_tee_tcb_status qe_status;
    enum tl_tee_tcb_status status; /* the combined one */
    /* QVL's order: the platform level's, the QE's, the TDX module's (each
     * once); the TCB date is the earliest of the three levels'. */
    struct tl_tdx_advisories advisories;
    time_t tcb_date;
    struct tl_tdx_advisories platform_advisories, module_advisories, qe_advisories;
    time_t module_tcb_date, qe_tcb_date; /* 0 until matched */
};

/* Selects the platform TCB level (TCB info's order: the first level whose
 * SGX components and PCESVN the PCK's are all >= and whose TDX components
 * TEE_TCB_SVN is >= from byte 0, or byte 2 when TEE_TCB_SVN[1], the TDX
 * module's major version, is not 0). -ENOENT (with err) when none matches. */
int tl_tdx_tcb_match_platform(const struct tl_tdx_tcbinfo *ti, const struct tl_tdx_pck_info *pck,
                              const struct tl_tdx_td_report *td, struct tl_tdx_tcb_result *out,
                              struct tl_error *err);

/* Checks the TDX module (MRSIGNERSEAM, SEAMATTRIBUTES) against "tdxModule"
 * (major version 0) or the "tdxModuleIdentities" entry TDX_<major> and
 * takes the module's TCB status from its levels (UpToDate, OutOfDate or
 * Revoked; any other is refused); folds it into out.
 * -EPERM when the module is not the one the TCB info describes, -ENOENT
 * when no identity or level fits. */
int tl_tdx_tcb_match_module(const struct tl_tdx_tcbinfo *ti, const struct tl_tdx_td_report *td,
                            struct tl_tdx_tcb_result *out, struct tl_error *err);

/* Checks the QE report against the QE identity (MRSIGNER, ISVPRODID,
 * MISCSELECT and ATTRIBUTES under their masks) and folds the QE's TCB
 * status (UpToDate, OutOfDate or Revoked) in. -EPERM / -ENOENT as above. */
int tl_tdx_tcb_match_qe(const struct tl_tdx_qe_identity *qe, const struct tl_sgx_report *r,
                        struct tl_tdx_tcb_result *out, struct tl_error *err);

/* ---- collateral ---- */

/* A parsed collateral set: every certificate, CRL, TCB info and QE
 * identity found in the blobs (recognised by content: PEM or DER
 * certificates and CRLs, PCS JSON; hex-encoded DER CRLs as PCCS serves
 * them). Collateral signatures (TCB info, QE identity by their signer)
 * are checked once, here; validity windows are checked at verification
 * time. Blobs nothing recognises are ignored (n_ignored says how many). */
struct tl_tdx_collateral;

int tl_tdx_collateral_new(const struct tl_tee_blob *items, size_t n, struct tl_tdx_collateral **out,
                          struct tl_error *err);
void tl_tdx_collateral_free(struct tl_tdx_collateral *c);

struct tl_tdx_collateral_counts {
    size_t certs, crls, tcbinfos, qe_identities, ignored;
};
void tl_tdx_collateral_counts(const struct tl_tdx_collateral *c,
                              struct tl_tdx_collateral_counts *out);

/* Intel SGX Root CA's SHA-256 fingerprint (of its DER), pinned. */
extern const uint8_t tl_tdx_intel_root_sha256[32];

/* ---- verification ---- */

/* Verifies a quote with the collateral at time `at` under a policy (NULL:
 * strict defaults) into v (initialised here, kind TDX). tcb may be NULL.
 * Returns 0 when a verdict was reached (pass or fail), -EBADMSG when the
 * quote does not parse (err says where; v holds a "malformed" reason),
 * -ENOMEM. A version this code does not verify is a "version" reason; no
 * collateral set (col NULL) a "collateral" one. */
int tl_tdx_verify(const uint8_t *quote, size_t len, const struct tl_tdx_collateral *col,
                  const struct tl_tee_policy *policy, time_t at, struct tl_tee_verdict *v,
                  struct tl_tdx_tcb_result *tcb, struct tl_error *err);

/* Adds the quote's claims (MAA names: tdx_mrtd, tdx_rtmr0..3, ...) to obj. */
void tl_tdx_claims(json_t *obj, const struct tl_tdx_quote *q);
