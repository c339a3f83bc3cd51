/* Describing X.509 certificates found in measurements (db entries,
 * authorities) with OpenSSL: subject, issuer, SHA-256 fingerprint. Decoding a
 * certificate costs far more than the rest of a log, so the boot state keeps
 * DER by reference and callers describe certificates only when they show
 * them. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "tl/error.h"

struct tl_x509_info {
    char *subject;     /* RFC 2253 one-line form, malloc'd */
    char *issuer;      /* malloc'd */
    char *common_name; /* subject CN, malloc'd, or NULL */
    uint8_t sha256[32];
    char not_after[32]; /* "2026-06-27T21:32:45Z" */
};

int tl_x509_describe(const uint8_t *der, size_t len, struct tl_x509_info *info,
                     struct tl_error *err);
void tl_x509_info_done(struct tl_x509_info *info);

/* A certificate given as PEM or DER, as DER (*der malloc'd). */
int tl_x509_to_der(const uint8_t *in, size_t len, uint8_t **der, size_t *der_len,
                   struct tl_error *err);
