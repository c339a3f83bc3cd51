/* libFuzzer target: the offline quote check a verifier runs on what an
 * attester sends (lib/tpm/akey.c, lib/tpm/quote.c): AK public area,
 * TPMS_ATTEST, TPMT_SIGNATURE, PCR values; plus the EK check of
 * make-credential on the same public area.
 *
 * Input: [flags][u16 BE n][AK public, n bytes][u16 BE n][TPMS_ATTEST]
 * [u16 BE n][TPMT_SIGNATURE][PCR values as text (tl_pcr_values_parse), the
 * rest]. Lengths beyond the input are clamped. Seeds (tests/fuzz/run.sh):
 * the GCP Shielded VM attestation of go-attestation's testdata in this
 * layout, with and without TL_ATTEST_ALLOW_SHA1.
 *
 * A pass is not a bug by itself (bytes outside the signature, such as the
 * AK's authPolicy, may change), so the harness traps on inconsistency: a
 * pass with a reason or without AK, quote and signature all verified, a
 * quote that parses in the verdict but not alone, unterminated messages. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tl/akey.h"
#include "tl/credential.h"
#include "tl/quote.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    setenv("TSS2_LOG", "all+none", 1); /* libtss2-mu logs what it refuses */
    return 0;
}

static const uint8_t *take(const uint8_t **p, size_t *left, size_t *n)
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
    const uint8_t *out = *p;
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
    if (size < 1)
        return 0;
    unsigned flags = data[0] & (TL_ATTEST_ALLOW_SHA1 | TL_ATTEST_ALLOW_UNBOUND_DATA);
    const uint8_t *p = data + 1;
    size_t left = size - 1, ak_len, quote_len, sig_len;
    const uint8_t *ak = take(&p, &left, &ak_len);
    const uint8_t *quote = take(&p, &left, &quote_len);
    const uint8_t *sig = take(&p, &left, &sig_len);

    /* Exact-size heap copies, so ASan sees any over-read. */
    uint8_t *akc = malloc(ak_len ? ak_len : 1), *qc = malloc(quote_len ? quote_len : 1),
            *sc = malloc(sig_len ? sig_len : 1);
    if (!akc || !qc || !sc)
        goto out;
    memcpy(akc, ak, ak_len);
    memcpy(qc, quote, quote_len);
    memcpy(sc, sig, sig_len);

    struct tl_pcr_values *pcrs = malloc(sizeof(*pcrs));
    struct tl_error err = {0};
    bool have_pcrs = pcrs && left && tl_pcr_values_parse((const char *)p, left, pcrs, &err) == 0;

    struct tl_quote_evidence ev = {akc, ak_len, qc, quote_len, sc, sig_len, NULL};
    struct tl_quote_expect ex = {.check_nonce = true,
                                 .nonce = (const uint8_t *)"",
                                 .nonce_len = 0,
                                 .pcrs = have_pcrs ? pcrs : NULL,
                                 .flags = flags};
    struct tl_quote_verdict *v = malloc(sizeof(*v));
    if (v && tl_quote_verify(&ev, &ex, v) == 0) {
        if (v->pass && (v->n_reasons || !v->ak_ok || !v->quote_ok || !v->signature_ok))
            __builtin_trap();
        if (v->n_reasons > TL_QUOTE_MAX_REASONS)
            __builtin_trap();
        for (unsigned i = 0; i < v->n_reasons; i++)
            terminated(v->reasons[i].message, sizeof(v->reasons[i].message));
        struct tl_quote q;
        if (v->quote_ok != (tl_quote_parse(qc, quote_len, &q, &err) == 0))
            __builtin_trap();
    }
    free(v);
    free(pcrs);

    /* The same public area as an EK for make-credential. */
    TPM2B_PUBLIC pub;
    if (tl_tpm_public_parse(akc, ak_len, &pub, &err) == 0) {
        uint8_t name[TL_TPM_NAME_MAX];
        size_t name_len;
        (void)tl_tpm_public_name(&pub, name, &name_len, &err);
        (void)tl_credential_check_ek(&pub, &err);
    }
    terminated(err.message, sizeof(err.message));
out:
    free(akc);
    free(qc);
    free(sc);
    return 0;
}
