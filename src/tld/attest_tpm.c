/* attest_tpm.h over libtl (akey.h, quote.h, credential.h, vtpm.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest_tpm.h"
#include "tl/akey.h"
#include "tl/credential.h"
#include "tl/quote.h"
#include "tl/util.h"
#include "tl/vtpm.h"

int tld_attest_ek_check(const uint8_t *ek_pub, size_t len, bool rsa, EVP_PKEY *cert_key, char *msg,
                        size_t msz)
{
    TPM2B_PUBLIC pub;
    struct tl_error err = {0};
    EVP_PKEY *key = NULL;
    if (tl_tpm_public_parse(ek_pub, len, &pub, &err) < 0) {
        snprintf(msg, msz, "enroll: EK public area: %s", err.message);
        return -EINVAL;
    }
    if (!tl_ek_public_matches_template(&pub, rsa ? TL_EK_RSA2048 : TL_EK_ECC_P256)) {
        snprintf(msg, msz, "enroll: the EK public area is not from the default %s EK template",
                 rsa ? "RSA-2048" : "ECC P-256");
        return -EPERM;
    }
    if (tl_tpm2b_public_to_pkey(&pub, &key, &err) < 0) {
        snprintf(msg, msz, "enroll: EK public area: %s", err.message);
        return -EINVAL;
    }
    int eq = EVP_PKEY_eq(key, cert_key);
    EVP_PKEY_free(key);
    if (eq != 1) {
        snprintf(msg, msz, "enroll: the EK certificate does not certify this EK");
        return -EPERM;
    }
    return 0;
}

int tld_attest_ak_check(const uint8_t *ak_pub, size_t len, char *name_hex, size_t name_size,
                        char *msg, size_t msz)
{
    struct tl_akey ak;
    struct tl_error err = {0};
    /* the wire format is a TPM2B_PUBLIC: a bare TPMT_PUBLIC is refused */
    TPM2B_PUBLIC pub;
    if (tl_tpm_public_parse(ak_pub, len, &pub, &err) < 0) {
        snprintf(msg, msz, "enroll: AK public area: %s", err.message);
        return -EINVAL;
    }
    if (tl_akey_load(ak_pub, len, 0, &ak, &err) < 0) {
        snprintf(msg, msz, "enroll: %s", err.message); /* libtl says "AK: ..." */
        return -EPERM;
    }
    if (name_size < 2 * ak.name_len + 1) {
        tl_akey_done(&ak);
        return -ENOBUFS;
    }
    tl_hex_encode(ak.name, ak.name_len, name_hex);
    tl_akey_done(&ak);
    return 0;
}

int tld_attest_make_credential(const uint8_t *ek_pub, size_t ek_len, const char *ak_name_hex,
                               const uint8_t *secret, size_t secret_len, uint8_t **blob,
                               size_t *blob_len, uint8_t **enc, size_t *enc_len, char *msg,
                               size_t msz)
{
    TPM2B_PUBLIC ek;
    struct tl_error err = {0};
    uint8_t name[TL_TPM_NAME_MAX];
    int n = tl_hex_decode(ak_name_hex, strlen(ak_name_hex), name, sizeof(name));
    struct tl_credential *c = calloc(1, sizeof(*c));
    *blob = malloc(TL_CREDENTIAL_MARSHAL_MAX);
    *enc = malloc(TL_CREDENTIAL_MARSHAL_MAX);
    if (!c || !*blob || !*enc || n <= 0 || tl_tpm_public_parse(ek_pub, ek_len, &ek, &err) < 0 ||
        tl_credential_make(&ek, name, (size_t)n, secret, secret_len, c, &err) < 0 ||
        tl_credential_marshal(c, TL_CREDENTIAL_BLOB, *blob, TL_CREDENTIAL_MARSHAL_MAX, blob_len,
                              &err) < 0 ||
        tl_credential_marshal(c, TL_CREDENTIAL_SECRET, *enc, TL_CREDENTIAL_MARSHAL_MAX, enc_len,
                              &err) < 0) {
        snprintf(msg, msz, "enroll: MakeCredential: %s", err.message[0] ? err.message : "failed");
        free(c);
        free(*blob);
        free(*enc);
        *blob = *enc = NULL;
        return -EINVAL;
    }
    free(c);
    return 0;
}

int tld_attest_quote_verify(const uint8_t *ak_pub, size_t ak_len, EVP_PKEY *ak_key,
                            const uint8_t *quote, size_t quote_len, const uint8_t *sig,
                            size_t sig_len, const uint8_t *nonce, size_t nonce_len,
                            const struct tl_pcr_values *pcrs, struct tl_pcr_values *selected,
                            struct tld_quote_result *out)
{
    struct tl_quote_verdict *v = calloc(1, sizeof(*v));
    if (!v) {
        snprintf(out->reason, sizeof(out->reason), "out of memory");
        return -ENOMEM;
    }
    struct tl_quote_evidence ev = {.ak_public = ak_pub,
                                   .ak_public_len = ak_len,
                                   .attest = quote,
                                   .attest_len = quote_len,
                                   .signature = sig,
                                   .signature_len = sig_len,
                                   .ak_key = ak_key};
    struct tl_quote_expect ex = {
        .check_nonce = true, .nonce = nonce, .nonce_len = nonce_len, .pcrs = pcrs, .flags = 0};
    /* The bank first: a quote of the wrong bank is refused for that, whatever
     * else is wrong with it (a downgraded bank is an attack of its own). */
    struct tl_quote parsed;
    struct tl_error perr = {0};
    if (tl_quote_parse(quote, quote_len, &parsed, &perr) == 0 &&
        (tl_quote_pcr_mask(&parsed, TPM2_ALG_SHA256) & 0x3ffu) != 0x3ffu) {
        snprintf(out->reason, sizeof(out->reason),
                 "quote: it does not cover PCRs 0-9 of the sha256 bank (SHA-256 is required%s)",
                 tl_quote_pcr_mask(&parsed, TPM2_ALG_SHA1) ? "; this is a SHA-1 quote" : "");
        free(v);
        return -EPERM;
    }
    int r = tl_quote_verify(&ev, &ex, v);
    if (r == 0 && !v->pass) {
        size_t used = 0;
        out->reason[0] = 0;
        /* libtl's messages name their part ("signature: ...") */
        for (unsigned i = 0; i < v->n_reasons && used < sizeof(out->reason) - 1; i++)
            used += (size_t)snprintf(out->reason + used, sizeof(out->reason) - used, "%s%s",
                                     i ? "; " : "", v->reasons[i].message);
        r = -EPERM;
    } else if (r == 0 && (tl_quote_pcr_mask(&v->quote, TPM2_ALG_SHA256) & 0x3ffu) != 0x3ffu) {
        snprintf(out->reason, sizeof(out->reason),
                 "quote: it does not cover PCRs 0-9 of the sha256 bank (SHA-256 is required%s)",
                 tl_quote_pcr_mask(&v->quote, TPM2_ALG_SHA1) ? "; this is a SHA-1 quote" : "");
        r = -EPERM;
    } else if (r == 0) {
        struct tl_error err = {0};
        if (tl_quote_selected_values(&v->quote, pcrs, selected, &err) < 0) {
            snprintf(out->reason, sizeof(out->reason), "pcrs: %s", err.message);
            r = -EPERM;
        }
    } else {
        snprintf(out->reason, sizeof(out->reason), "the quote could not be checked");
    }
    out->reset_count = v->quote.reset_count;
    out->restart_count = v->quote.restart_count;
    out->clock = v->quote.clock;
    if (v->pcr_digest_len <= sizeof(out->pcr_digest)) {
        memcpy(out->pcr_digest, v->pcr_digest, v->pcr_digest_len);
        out->pcr_digest_len = v->pcr_digest_len;
    }
    free(v);
    return r;
}
