/* What the TDX collateral set holds, shared by the loader (tdxcoll.c) and
 * the verifier (tdxverify.c); not part of libtl's interface. */
#pragma once

#include <openssl/x509.h>

#include "tl/tdx.h"

struct tl_tdx_collateral {
    X509 *root;                /* Intel SGX Root CA, built in */
    STACK_OF(X509) * certs;    /* every certificate handed in */
    STACK_OF(X509_CRL) * crls; /* every CRL handed in */
    size_t n_tcbinfos;
    struct tl_tdx_tcbinfo *tcbinfos;
    int *tcbinfo_signer; /* index in certs of the key that verified it, or -1 */
    size_t n_qe_identities;
    struct tl_tdx_qe_identity *qe_identities;
    int *qe_identity_signer;
    size_t n_ignored;
};

/* ECDSA P-256 with SHA-256 over data; sig is r || s (32 + 32). True when
 * it verifies. */
bool tl_tdx_ecdsa_verify(EVP_PKEY *key, const uint8_t *data, size_t len, const uint8_t sig[64]);
