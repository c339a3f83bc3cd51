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

/* tl_FNp(&ptr) calls FN(ptr) unless ptr is NULL: the cleanup of a `type *`. */
#define TL_DEFINE_CLEANUP(type, fn)                                                                \
    static inline void tl_##fn##p(type **p)                                                        \
    {                                                                                              \
        if (*p)                                                                                    \
            fn(*p);                                                                                \
    }

TL_DEFINE_CLEANUP(json_t, json_decref)
TL_DEFINE_CLEANUP(X509, X509_free)
TL_DEFINE_CLEANUP(EVP_PKEY, EVP_PKEY_free)
TL_DEFINE_CLEANUP(BIO, BIO_free)
TL_DEFINE_CLEANUP(FILE, fclose)
#define _cleanup_json_     _cleanup_(tl_json_decrefp)
#define _cleanup_x509_     _cleanup_(tl_X509_freep)
#define _cleanup_evp_pkey_ _cleanup_(tl_EVP_PKEY_freep)
#define _cleanup_bio_      _cleanup_(tl_BIO_freep)
#define _cleanup_fclose_   _cleanup_(tl_fclosep)

/* A file descriptor; -1 is none. */
static inline void tl_closep(int *fd)
{
    if (*fd >= 0)
        close(*fd);
}
#define _cleanup_close_ _cleanup_(tl_closep)
