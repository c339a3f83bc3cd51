/* libFuzzer target: what tld checks of a key release request
 * (lib/tpm/certify.c): the key's and its parent's TPM2B_PUBLIC, TPM2_Certify's
 * TPMS_ATTEST and TPMT_SIGNATURE, against an AK and a nonce.
 *
 * Input: [u16 BE n][AK public][u16 BE n][key public][u16 BE n][parent public]
 * [u16 BE n][TPMS_ATTEST][u16 BE n][TPMT_SIGNATURE][nonce: the rest].
 * Lengths beyond the input are clamped. Seeds (tests/fuzz/run.sh): the real
 * release of tests/data/certify in this layout, and with the other AK.
 *
 * Traps on inconsistency: a verified release whose TPMS_ATTEST does not
 * parse alone, whose key fails the key check, whose certified extraData is
 * not the nonce, or without an SPKI; unterminated messages. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tl/akey.h"
#include "tl/certify.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    setenv("TSS2_LOG", "all+none", 1);
    return 0;
}

/* the next length-prefixed part as an exact-size heap copy (ASan sees an
 * over-read); NULL only when out of memory */
static uint8_t *take(const uint8_t **p, size_t *left, size_t *n)
{
    size_t len = 0;
    if (*left >= 2) {
        len = (size_t)(*p)[0] << 8 | (*p)[1];
        *p += 2;
        *left -= 2;
    } else {
        *p += *left;
        *left = 0;
    }
    if (len > *left)
        len = *left;
    uint8_t *out = malloc(len ? len : 1);
    if (out)
        memcpy(out, *p, len);
    *p += len;
    *left -= len;
    *n = len;
    return out;
}

static void terminated(const char *s, size_t size)
{
    if (!memchr(s, 0, size))
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data;
    size_t left = size;
    struct tl_release_evidence ev = {0};
    uint8_t *ak = take(&p, &left, &ev.ak_len), *key = take(&p, &left, &ev.key_len),
            *parent = take(&p, &left, &ev.parent_len), *cert = take(&p, &left, &ev.certify_len),
            *sig = take(&p, &left, &ev.signature_len);
    uint8_t *nonce = malloc(left ? left : 1);
    if (ak && key && parent && cert && sig && nonce) {
        memcpy(nonce, p, left);
        ev.ak_public = ak, ev.key_public = key, ev.parent_public = parent;
        ev.certify = cert, ev.signature = sig, ev.nonce = nonce, ev.nonce_len = left;
        struct tl_error err = {0};
        uint8_t *spki = NULL;
        size_t spki_len = 0;
        int r = tl_release_key_verify(&ev, &spki, &spki_len, &err);
        terminated(err.message, sizeof(err.message));
        struct tl_certify c;
        bool parses = tl_certify_parse(cert, ev.certify_len, &c, &err) == 0;
        terminated(err.message, sizeof(err.message));
        TPM2B_PUBLIC pub;
        bool key_ok = tl_tpm_public_parse(key, ev.key_len, &pub, &err) == 0 &&
                      tl_release_key_check(&pub, &err) == 0;
        if (r == 0 && (!spki || !spki_len || !parses || !key_ok || c.extra_data.size != left ||
                       memcmp(c.extra_data.buffer, nonce, left)))
            __builtin_trap();
        if (r < 0 && spki)
            __builtin_trap();
        free(spki);
    }
    free(ak), free(key), free(parent), free(cert), free(sig), free(nonce);
    return 0;
}
