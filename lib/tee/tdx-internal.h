/* What the TDX collateral set holds, shared by the loader (tdxcoll.c), the
 * certificate paths (tdxchain.c) and the verifier (tdxverify.c); not part
 * of libtl's interface. */
#pragma once

#include <openssl/x509.h>

#include "tl/tdx.h"

/* ---- certificate paths to the pinned root ---- */

#define TDX_PATH_MAX    4 /* PCK, PCK Platform/Processor CA, root; or signer, root */
#define TDX_PATH_CRLS   4 /* candidate CRLs per certificate */
#define TDX_PATH_STATIC 4

struct tdx_crl_ref {
    int crl;      /* index in the collateral's crls */
    bool sig_ok;  /* its signature verifies with the certificate's issuer */
    bool revoked; /* the certificate is on it */
};

/* One certificate of a path and what its issuer's CRLs say about it. */
struct tdx_link {
    char cn[80];
    time_t not_before, not_after;
    char issuer_cn[80];
    unsigned n_crls;
    struct tdx_crl_ref crls[TDX_PATH_CRLS];
};

/* A path, leaf first, root last, with the problems that do not depend on
 * the time (structure, signatures, constraints: OpenSSL's path validation
 * without the clock and without CRLs). The time (validity windows, CRL
 * freshness) and revocation are judged per verification by
 * tdx_path_judge. A path holds no pointers: it can be kept. */
struct tdx_path {
    /* Where the path ends: Intel's pinned root (builtin), or another
     * self-signed CA handed in with the collateral or the quote, which only
     * a policy's trusted-roots can make trusted (root_sha256, its DER's
     * SHA-256; tdx_path_judge decides). rooted false: it ends at neither
     * (a "chain" problem in statics). */
    bool rooted, builtin_root;
    uint8_t root_sha256[32];
    unsigned n_links;
    struct tdx_link links[TDX_PATH_MAX];
    unsigned n_static;
    struct {
        enum tl_tee_code code;
        char detail[200];
    } statics[TDX_PATH_STATIC];
};

/* A CRL as loaded: its window and who signed it. */
struct tdx_crl_info {
    time_t this_update, next_update; /* next_update 0: none */
    char issuer_cn[80];
    int signer; /* whose key verified it: -2 the root, >= 0 certs[i], -1 none */
};

struct tl_tdx_collateral {
    X509 *root;                    /* Intel SGX Root CA, built in */
    STACK_OF(X509) * certs;        /* every certificate handed in */
    STACK_OF(X509_CRL) * crls;     /* every CRL handed in */
    struct tdx_crl_info *crl_info; /* per CRL */
    size_t n_tcbinfos;
    struct tl_tdx_tcbinfo *tcbinfos;
    int *tcbinfo_signer; /* index in certs of the key that verified it, or -1 */
    size_t n_qe_identities;
    struct tl_tdx_qe_identity *qe_identities;
    int *qe_identity_signer;
    /* Paths checked once, at load: of each certificate handed in that
     * signs collateral or is a CA below the root (the PCK CAs of a PCS
     * issuer chain). signer_path[i] for certs[i]; NULL when not built. */
    struct tdx_path **cert_path;
    uint8_t **cert_der; /* certs[i] as DER, to recognise it in a quote */
    int *cert_der_len;
    uint8_t *root_der;
    int root_der_len;
    /* The P-256 group's parameters, no key: each quote's attestation key is
     * set on a copy (EVP_PKEY_fromdata per quote cost a quarter of an
     * ECDSA verification: its provider lookup and parameter parsing). */
    EVP_PKEY *p256;
    size_t n_ignored;
};

/* Builds the path of leaf to the root: OpenSSL's validation without the
 * clock or CRLs (anchor: the pinned root, or `anchor`, a CA whose own
 * path is `anchor_path`, for a partial chain), then each certificate's
 * candidate CRLs from the collateral, their signatures checked with its
 * issuer. -ENOMEM only; every problem is in out. */
int tdx_path_build(const struct tl_tdx_collateral *c, X509 *leaf, STACK_OF(X509) * untrusted,
                   X509 *anchor, const struct tdx_path *anchor_path, struct tdx_path *out);

/* Judges a path at `at`: its static problems, its root (not Intel's and
 * not named by pol's trusted-roots: "root-untrusted"; named: the verdict
 * is "emulated"), every certificate's window ("expired"), its issuer's
 * CRL (missing: "collateral"; stale: "collateral-expired"; revoked:
 * "revoked"). what prefixes messages. */
void tdx_path_judge(const struct tl_tdx_collateral *c, const struct tdx_path *p, const char *what,
                    const struct tl_tee_policy *pol, time_t at, struct tl_tee_verdict *v);

/* A reason once (paths share CAs and CRLs). */
void tdx_fail_once(struct tl_tee_verdict *v, enum tl_tee_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ECDSA P-256 with SHA-256 over data; sig is r || s (32 + 32). True when
 * it verifies. */
bool tl_tdx_ecdsa_verify(EVP_PKEY *key, const uint8_t *data, size_t len, const uint8_t sig[64]);

/* The PCK's SGX extension from a parsed certificate. */
int tl_tdx_pck_info_from_x509(X509 *x, struct tl_tdx_pck_info *out, struct tl_error *err);

/* ASN1_TIME as a Unix time; 0 when it cannot be read. */
time_t tdx_asn1_time(const ASN1_TIME *t);
