/* Private to lib/tee: what the emulated secure processor's generators
 * (snp_emul.c, tdx_emul.c) share to build X.509 certificates and CRLs
 * with OpenSSL. Not part of libtl's interface. */
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "tl/error.h"

enum emul_sig {
    EMUL_SIG_RSA_PSS_SHA384, /* AMD: RSASSA-PSS, SHA-384, MGF1-SHA-384, salt 48 */
    EMUL_SIG_ECDSA_SHA256,   /* Intel: ECDSA with SHA-256 */
};

struct emul_cert_spec {
    const char *const *subject; /* NULL-terminated pairs: "CN", "ARK-Milan", ... */
    X509 *issuer;               /* NULL: self-signed (issuer name = subject) */
    EVP_PKEY *key;              /* the subject's key (only its public half is used) */
    EVP_PKEY *signer;           /* the issuer's private key (self-signed: key) */
    enum emul_sig sig;
    uint64_t serial;
    time_t not_before, not_after;
    bool ca;
    int pathlen;       /* CA path length constraint; -1 none */
    bool key_ids;      /* subject and authority key identifiers (Intel's profile) */
    const char *usage; /* keyUsage value for X509V3_EXT_conf_nid, NULL none */
};

/* A certificate, not yet signed: emul_ext_add the custom extensions, then
 * emul_cert_sign. NULL with err. */
X509 *emul_cert_new(const struct emul_cert_spec *s, struct tl_error *err);

/* A non-critical extension oid whose OCTET STRING holds der. */
int emul_ext_add(X509 *x, const char *oid, const uint8_t *der, size_t len, struct tl_error *err);

/* Signs x as the spec says. -EINVAL with err. */
int emul_cert_sign(X509 *x, const struct emul_cert_spec *s, struct tl_error *err);

/* x as malloc'd DER. */
int emul_der(X509 *x, uint8_t **der, size_t *len, struct tl_error *err);

/* A DER certificate parsed (exact length). NULL with err. */
X509 *emul_parse(const uint8_t *der, size_t len, const char *what, struct tl_error *err);

/* A CRL by issuer (its key signer), current from this_update to
 * next_update, revoking the serials given. Malloc'd DER. */
int emul_crl(X509 *issuer, EVP_PKEY *signer, enum emul_sig sig, time_t this_update,
             time_t next_update, const uint64_t *revoked, size_t n_revoked, uint8_t **der,
             size_t *len, struct tl_error *err);

/* The ECDSA signature of data (SHA-256 or SHA-384, per md) as fixed-size
 * big-endian r || s of width bytes each. */
int emul_ecdsa_sign(EVP_PKEY *key, const EVP_MD *md, const uint8_t *data, size_t len, size_t width,
                    uint8_t *r_out, uint8_t *s_out, struct tl_error *err);
