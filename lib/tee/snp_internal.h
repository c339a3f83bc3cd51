/* Private to lib/tee: the SEV-SNP verifier's context (roots, certificate
 * cache) shared by snp_cert.c and snp.c. */
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "amd_roots.h"
#include "tl/snp.h"

enum snp_role {
    SNP_ROLE_ASK,  /* signs VCEKs */
    SNP_ROLE_ASVK, /* signs VLEKs */
    SNP_ROLE_COUNT,
};

struct snp_root {
    X509 *ark;
    X509 *signer[SNP_ROLE_COUNT]; /* ASK, ASVK */
    time_t ark_not_before, ark_not_after;
    time_t signer_not_before[SNP_ROLE_COUNT], signer_not_after[SNP_ROLE_COUNT];
};

/* Chain results cached per certificate and issuer. */
enum snp_link { SNP_LINK_UNKNOWN, SNP_LINK_OK, SNP_LINK_BAD };

#define SNP_SPL_MAX 10 /* 1.3.6.1.4.1.3704.1.3.1 .. .3.9 */

struct snp_cert {
    bool used;
    uint8_t key[32]; /* SHA-256 of the bytes as the caller gave them */
    X509 *x509;
    EVP_PKEY *pub;               /* owned by x509 */
    EVP_PKEY_CTX *verify;        /* verify-initialised on pub, reused per report (lazy) */
    bool is_vlek;                /* subject CN "SEV-VLEK", else "SEV-VCEK" */
    enum tl_snp_product product; /* from productName, else the issuer's CN */
    char product_name[32];
    bool spl_present[SNP_SPL_MAX];
    uint8_t spl[SNP_SPL_MAX];
    uint8_t hwid[64];
    size_t hwid_len; /* 0: none (a VLEK) */
    char csp_id[128];
    time_t not_before, not_after;
    enum snp_link link[TL_AMD_ROOT_COUNT][SNP_ROLE_COUNT];
    char link_detail[160];
};

#define SNP_CACHE 8

struct tl_snp_ctx {
    struct snp_root roots[TL_AMD_ROOT_COUNT];
    EVP_MD *sha384;
    ASN1_OBJECT *oid_spl[SNP_SPL_MAX]; /* index 1..9 */
    ASN1_OBJECT *oid_product, *oid_hwid, *oid_csp;
    struct snp_cert cache[SNP_CACHE];
    unsigned next;
};

/* The certificate in data (PEM or DER), from the cache or parsed and put
 * there. -EBADMSG (err says why) when it is not an SEV-SNP VCEK/VLEK with
 * a P-384 key. */
int snp_cert_get(struct tl_snp_ctx *ctx, const uint8_t *data, size_t len, struct snp_cert **out,
                 struct tl_error *err);

/* Is data a certificate (PEM or DER) at all? Sets is_endorsement when it
 * is a VCEK/VLEK (by subject CN), root_index and role when it is one of the
 * pinned AMD certificates (ARK: role -1). */
bool snp_cert_classify(struct tl_snp_ctx *ctx, const uint8_t *data, size_t len,
                       bool *is_endorsement, int *root_index, int *role);

/* Does cert chain to roots[root] through signer role? Cached. false with a
 * detail when its signature or algorithm is wrong or the names differ. */
bool snp_cert_chains(struct tl_snp_ctx *ctx, struct snp_cert *cert, int root, enum snp_role role,
                     const char **detail);

/* A chain of cert to a root that is not AMD's, from the collateral: an
 * ASK (its subject the cert's issuer, its RSASSA-PSS SHA-384 signature on
 * the cert verifying) under a self-signed ARK (same checks, and its own
 * signature). Whether the ARK is trusted is the policy's (trusted-roots),
 * by ark_sha256. */
struct snp_foreign_chain {
    uint8_t ark_sha256[32];
    char ark_cn[64];
    time_t ark_not_before, ark_not_after, ask_not_before, ask_not_after;
};

bool snp_cert_foreign_chain(struct tl_snp_ctx *ctx, const struct tl_tee_collateral *col,
                            const struct snp_cert *cert, struct snp_foreign_chain *out);

/* The time of an ASN1_TIME, -1 when it does not convert. */
time_t snp_asn1_time(const ASN1_TIME *t);

/* An AMD CRL in data (PEM or DER) issued by roots[root]'s ARK: checks its
 * signature and window at `at` and whether the signer of role is on it,
 * into v. Returns false when data is not a CRL of that ARK. */
bool snp_crl_check(struct tl_snp_ctx *ctx, const uint8_t *data, size_t len, int root,
                   enum snp_role role, struct tl_tee_verdict *v);
