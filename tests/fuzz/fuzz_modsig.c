/* libFuzzer target: a kernel module's appended signature through
 * lib/secureboot/modsig.c: tl_modsig_parse (the trailer: marker, struct
 * module_signature, sig_len; include/linux/module_signature.h and the
 * kernel's mod_check_sig) and tl_modsig_verify (the kernel's PKCS#7 rules for
 * module signatures, then tl_pkcs7_check, with no trusted certificate).
 *
 * Each input is tried twice: as is, and with the 28-byte marker appended, so
 * that the fuzzer spends its time on the struct and the PKCS#7 rather than on
 * finding the marker. Seeds: the last few KB of real modules (the PKCS#7 and
 * trailer), e.g. `tail -c 2048 efivarfs.ko`. The inputs are buffers of
 * exactly their size, so AddressSanitizer sees any read past the end; the
 * harness also checks that what the parser returns tiles the input exactly
 * and that every failure says why. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tl/modsig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one(const uint8_t *data, size_t size)
{
    struct tl_modsig sig;
    struct tl_error err = {0};
    int r = tl_modsig_parse(data, size, &sig, &err);
    if (r < 0 && !err.message[0])
        __builtin_trap(); /* every failure says why */
    if (r == 1) {
        if (sig.content != data || sig.pkcs7 != data + sig.content_len || sig.content_len == 0 ||
            sig.content_len + sig.pkcs7_len + TL_MODSIG_INFO_LEN + TL_MODSIG_MARKER_LEN != size ||
            sig.id_type != TL_MODSIG_PKEY_ID_PKCS7)
            __builtin_trap();
    }

    struct tl_modsig_result res;
    if (tl_modsig_verify(data, size, NULL, 0, &res, &err) < 0)
        return; /* -ENOMEM only */
    if (!res.reason[0] || res.status == TL_MODSIG_OK || res.signer_index != -1)
        __builtin_trap(); /* nothing is trusted, so nothing verifies */
    if ((r == 0) != (res.status == TL_MODSIG_UNSIGNED) && res.status != TL_MODSIG_MALFORMED)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    if (size)
        memcpy(copy, data, size);
    one(copy, size);
    free(copy);

    uint8_t *marked = malloc(size + TL_MODSIG_MARKER_LEN);
    if (!marked)
        return 0;
    if (size)
        memcpy(marked, data, size);
    memcpy(marked + size, TL_MODSIG_MARKER, TL_MODSIG_MARKER_LEN);
    one(marked, size + TL_MODSIG_MARKER_LEN);
    free(marked);
    return 0;
}
