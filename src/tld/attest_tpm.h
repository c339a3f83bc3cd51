/* The TPM-structure checks the attestation service makes, over libtl's
 * quote, AK and credential modules (pure): attest.c speaks in base64 and
 * JSON, these in marshalled TPM structures. Each returns 0 or a negative
 * errno with the reason in msg (or out->reason). */
#pragma once

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tl/replay.h"

struct tld_quote_result {
    char reason[256];
    uint32_t reset_count, restart_count;
    uint64_t clock;
    uint8_t pcr_digest[64];
    size_t pcr_digest_len;
};

/* ek_pub: a marshalled TPM2B_PUBLIC; an EK from the default template of
 * its type whose key is the certificate's. */
int tld_attest_ek_check(const uint8_t *ek_pub, size_t len, bool rsa, EVP_PKEY *cert_key, char *msg,
                        size_t msz);
/* ak_pub: a marshalled TPM2B_PUBLIC; a restricted signing key, fixedTPM,
 * fixedParent, sensitiveDataOrigin; its Name in hex. */
int tld_attest_ak_check(const uint8_t *ak_pub, size_t len, char *name_hex, size_t name_size,
                        char *msg, size_t msz);
/* MakeCredential in software: the marshalled TPM2B_ID_OBJECT and
 * TPM2B_ENCRYPTED_SECRET (malloc'd). */
int tld_attest_make_credential(const uint8_t *ek_pub, size_t ek_len, const char *ak_name_hex,
                               const uint8_t *secret, size_t secret_len, uint8_t **blob,
                               size_t *blob_len, uint8_t **enc, size_t *enc_len, char *msg,
                               size_t msz);
/* quote: TPMS_ATTEST bytes; sig: a marshalled TPMT_SIGNATURE. SHA-256
 * signatures only; the quote's extraData must equal nonce and its PCR
 * digest the digest of pcrs over the quote's selection, which must cover
 * PCRs 0-9 of the sha256 bank. *selected: the values the quote covers
 * (only those are bound to the TPM). ak_key: the AK's key built once from
 * ak_pub (struct tld_ak), or NULL: built here. */
int tld_attest_quote_verify(const uint8_t *ak_pub, size_t ak_len, EVP_PKEY *ak_key,
                            const uint8_t *quote, size_t quote_len, const uint8_t *sig,
                            size_t sig_len, const uint8_t *nonce, size_t nonce_len,
                            const struct tl_pcr_values *pcrs, struct tl_pcr_values *selected,
                            struct tld_quote_result *out);
