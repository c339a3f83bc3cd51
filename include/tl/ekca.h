/* The platform's EK CA: a root and an intermediate that issue the
 * certificates of every node's vTPM endorsement keys, and the check a
 * verifier makes of such a certificate.
 *
 * Pure: keys, certificates and PEM text in memory; the caller stores them
 * (tl keeps them as files in a CA directory, tld will keep them in its
 * store). Certificates follow the TCG EK Credential Profile for TPM Family
 * 2.0, Level 0, Version 2.x, section 3.2 (see lib/tpm/ekca.c). */
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "tl/error.h"

/* tcg-kp-EKCertificate and the TPM attributes of the subjectAltName (EK
 * Credential Profile, section 3.2; the TCG OID registry). */
#define TL_OID_TCG_KP_EK_CERTIFICATE   "2.23.133.8.1"
#define TL_OID_TCG_AT_TPM_MANUFACTURER "2.23.133.2.1"
#define TL_OID_TCG_AT_TPM_MODEL        "2.23.133.2.2"
#define TL_OID_TCG_AT_TPM_VERSION      "2.23.133.2.3"

#define TL_EKCA_ROOT_CN         "trustlaunch EK Root CA"
#define TL_EKCA_INTERMEDIATE_CN "trustlaunch EK Intermediate CA"

struct tl_ekca {
    X509 *root;
    EVP_PKEY *root_key;
    X509 *intermediate;
    EVP_PKEY *intermediate_key;
};

/* The four parts as stored: PEM certificates and PKCS#8 PEM private keys. */
enum tl_ekca_part {
    TL_EKCA_ROOT_CERT,
    TL_EKCA_ROOT_KEY,
    TL_EKCA_INTERMEDIATE_CERT,
    TL_EKCA_INTERMEDIATE_KEY,
    TL_EKCA_N_PARTS,
};

struct tl_ekca_pem {
    char *part[TL_EKCA_N_PARTS]; /* NUL-terminated, malloc'd */
    size_t len[TL_EKCA_N_PARTS]; /* without the NUL */
};

/* A new CA: ECDSA P-384 keys, random 20-byte serials, the root valid for
 * 30 years and the intermediate (pathlen 0) for 20 from now. */
int tl_ekca_create(struct tl_ekca *ca, time_t now, struct tl_error *err);

/* Loads a stored CA and checks it fits together: the root is a
 * self-signed CA, the intermediate a CA the root signed, each key the
 * private half of its certificate. */
int tl_ekca_load_pem(struct tl_ekca *ca, const char *const part[TL_EKCA_N_PARTS],
                     const size_t len[TL_EKCA_N_PARTS], struct tl_error *err);

int tl_ekca_to_pem(const struct tl_ekca *ca, struct tl_ekca_pem *pem, struct tl_error *err);
void tl_ekca_pem_done(struct tl_ekca_pem *pem);
void tl_ekca_done(struct tl_ekca *ca);

/* What an EK certificate says about the TPM (its subjectAltName):
 * "id:" and the TPM_PT_MANUFACTURER vendor ID in hex (TCG Vendor ID
 * Registry), the model, and "id:" and the firmware version in hex. */
struct tl_ek_cert_request {
    EVP_PKEY *ek;             /* the EK's public key: RSA or EC */
    const char *manufacturer; /* "id:49424D00" */
    const char *model;        /* "SW   TPM" */
    const char *version;      /* "id:20191023" */
    const char *subject_cn;   /* NULL: empty subject, critical subjectAltName */
    time_t now;
};

/* Issues the EK certificate (DER, malloc'd), signed by the intermediate
 * with ECDSA-SHA384, valid from now until the intermediate expires. */
int tl_ekca_issue_ek_cert(const struct tl_ekca *ca, const struct tl_ek_cert_request *req,
                          uint8_t **der, size_t *der_len, struct tl_error *err);

/* A verifier's check of an EK certificate: it chains to root through
 * intermediate at time now, carries tcg-kp-EKCertificate and the key usage
 * of its key type, and (when ek is not NULL) certifies exactly that key.
 * Returns 0, -EBADMSG for a certificate that does not parse, -EPERM for
 * one that fails a check (the reason in err). */
int tl_ek_cert_verify(const uint8_t *der, size_t der_len, X509 *root, X509 *intermediate,
                      EVP_PKEY *ek, time_t now, struct tl_error *err);
