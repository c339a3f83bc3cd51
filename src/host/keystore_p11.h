/* What keystore.c, keystore_key.c and keystore_wrap.c share inside the host
 * library: the PKCS#11 types (p11-kit's pkcs11.h, from libp11-kit-dev) and
 * one way to turn a CK_RV into a tl_error. Not installed, not for callers. */
#pragma once

#include <p11-kit/pkcs11.h>

#include "tlhost/keystore.h"

static inline CK_FUNCTION_LIST_PTR tlh_p11(const struct tlh_keystore *ks)
{
    return (CK_FUNCTION_LIST_PTR)ks->p11;
}

/* "CKR_ARGUMENTS_BAD", or "CKR 0x..." for a value not in the table. */
const char *tlh_p11_rv_name(CK_RV rv, char buf[32]);
/* Fills err with "WHAT: CKR_NAME" and returns the errno it maps to (-EACCES
 * for PIN and login errors, -ENOMEM, -ENOSPC, -EIO otherwise). */
int tlh_p11_fail(struct tl_error *err, CK_RV rv, const char *what, ...)
    __attribute__((format(printf, 3, 4)));
/* Every object matching tmpl: *out malloc'd (NULL when *count is 0). */
int tlh_p11_objects_find(struct tlh_keystore *ks, CK_ATTRIBUTE *tmpl, CK_ULONG n,
                         CK_OBJECT_HANDLE **out, size_t *count, struct tl_error *err);
