/* TPM2_MakeCredential in software: a secret that only the TPM holding a
 * given EK can recover, and only for a key with a given Name loaded in it
 * (TPM2_ActivateCredential). A verifier uses it to bind an AK to an EK:
 * it sends the credential for (EK, AK Name) and the attester proves it
 * has both by returning the secret.
 *
 * Pure apart from randomness (OpenSSL's RAND for the seed and the ECC
 * ephemeral key). Errors: -EINVAL for an EK that cannot protect a
 * credential, a Name or a secret of the wrong size; -EOPNOTSUPP for an
 * algorithm not done here; -ENOMEM / -EIO for OpenSSL failures.
 *
 * API
 *   int tl_credential_check_ek(&ek_TPM2B_PUBLIC, err)
 *   int tl_credential_make(&ek, name, name_len, secret, secret_len, &cred, err)
 *   int tl_credential_marshal(&cred, form, buf, size, &len, err)
 *
 * TPM 2.0 Part 1 rev 1.59, 24 (Credential Protection) and Part 3, 12.6
 * (TPM2_MakeCredential), Part 1 11.4.10.3 (KDFa), 11.4.10.4 (KDFe),
 * Annex B.10.3 (RSA secret sharing: OAEP, label "IDENTITY"), Annex C.6.4
 * (ECC: one-pass Diffie-Hellman, C(1e, 1s, ECC CDH)):
 *   seed      random, the size of the EK nameAlg's digest; for ECC it is
 *             KDFe(nameAlg, Z, "IDENTITY", ephemeral.x, EK.x, bits) with
 *             Z the x coordinate of ECDH(ephemeral, EK)
 *   secret    RSA: RSAES-OAEP(EK, seed), hash and MGF1 the EK's nameAlg,
 *             label "IDENTITY\0"; ECC: the ephemeral point (TPMS_ECC_POINT)
 *   symKey    KDFa(nameAlg, seed, "STORAGE", Name, -, the EK's symmetric
 *             key bits)
 *   encIdentity  AES-CFB(symKey, IV 0, marshalled TPM2B_DIGEST(secret))
 *   HMACkey   KDFa(nameAlg, seed, "INTEGRITY", -, -, digest bits)
 *   credentialBlob  TPM2B_DIGEST(HMAC(HMACkey, encIdentity || Name)) ||
 *             encIdentity   (TPMS_ID_OBJECT: encIdentity carries no clear
 *             size, its TPM2B size is inside the ciphertext)
 * The EK must be a restricted decryption key with an AES CFB symmetric
 * definition (the default EK templates L-1 and L-2 and the high-range
 * ones are). */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <tss2/tss2_tpm2_types.h>

#include "tl/error.h"

struct tl_credential {
    TPM2B_ID_OBJECT blob;          /* credentialBlob */
    TPM2B_ENCRYPTED_SECRET secret; /* the seed, encrypted to the EK */
};

/* Can this public area protect a credential? 0, or -EINVAL / -EOPNOTSUPP
 * with the reason. */
int tl_credential_check_ek(const TPM2B_PUBLIC *ek, struct tl_error *err);

/* secret: 1 to (digest size of the EK's nameAlg) bytes, the limit
 * TPM2_MakeCredential and TPM2_ActivateCredential enforce. name: the
 * object's Name, 1 to sizeof(TPMU_NAME) bytes (tl_tpm_public_name). */
int tl_credential_make(const TPM2B_PUBLIC *ek, const uint8_t *name, size_t name_len,
                       const uint8_t *secret, size_t secret_len, struct tl_credential *out,
                       struct tl_error *err);

enum tl_credential_form {
    TL_CREDENTIAL_BLOB,   /* marshalled TPM2B_ID_OBJECT */
    TL_CREDENTIAL_SECRET, /* marshalled TPM2B_ENCRYPTED_SECRET */
    /* tpm2-tools' credential file (tpm2_makecredential -o, read by
     * tpm2_activatecredential -i): UINT32 0xBADCC0DE, UINT32 1, then the
     * two above. */
    TL_CREDENTIAL_TPM2_TOOLS,
};

#define TL_CREDENTIAL_MARSHAL_MAX (8 + sizeof(TPM2B_ID_OBJECT) + sizeof(TPM2B_ENCRYPTED_SECRET))

int tl_credential_marshal(const struct tl_credential *c, enum tl_credential_form form, uint8_t *buf,
                          size_t size, size_t *len, struct tl_error *err);
