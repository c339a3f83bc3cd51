/* Typed cleanup attributes (systemd's _cleanup_ style) for the objects the
 * programs hold: a variable declared with one is released when it goes out
 * of scope, so a function returns at its error instead of jumping to a
 * ladder of labels. TL_TAKE_PTR (util.h) moves ownership out. Each cleanup
 * accepts NULL. */
#pragma once

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <unistd.h>

#include "tl/util.h"

static inline void tl_json_decrefp(json_t **p)
{
    json_decref(*p);
}
#define _cleanup_json_ _cleanup_(tl_json_decrefp)

static inline void tl_x509_freep(X509 **p)
{
    X509_free(*p);
}
#define _cleanup_x509_ _cleanup_(tl_x509_freep)

static inline void tl_evp_pkey_freep(EVP_PKEY **p)
{
    EVP_PKEY_free(*p);
}
#define _cleanup_evp_pkey_ _cleanup_(tl_evp_pkey_freep)

static inline void tl_bio_freep(BIO **p)
{
    BIO_free(*p);
}
#define _cleanup_bio_ _cleanup_(tl_bio_freep)

static inline void tl_fclosep(FILE **p)
{
    if (*p)
        fclose(*p);
}
#define _cleanup_fclose_ _cleanup_(tl_fclosep)

/* A file descriptor; -1 is none. */
static inline void tl_closep(int *fd)
{
    if (*fd >= 0)
        close(*fd);
}
#define _cleanup_close_ _cleanup_(tl_closep)
