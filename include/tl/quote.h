/* TPM2_Quote evidence: the TPMS_ATTEST a TPM signs, the PCR digest it
 * carries, and the whole offline check of a quote (AK, signature, magic and
 * type, nonce, PCR values).
 *
 * Pure: bytes in, results out (libtss2-mu to unmarshal, OpenSSL to hash
 * and verify, through akey.h). Errors are -errno plus a tl_error naming
 * the field ("quote: magic 0x... is not TPM_GENERATED_VALUE"); the whole
 * check never stops at the first failure but returns a verdict with every
 * reason.
 *
 * API
 *   int  tl_quote_parse(attest, len, &quote, err)
 *   uint32_t tl_quote_pcr_mask(&quote, alg)
 *   int  tl_quote_pcr_digest(&TPML_PCR_SELECTION, &pcr_values, hash_alg, out, &out_len, err)
 *   int  tl_quote_selected_values(&quote, &pcr_values, &out_values, err)
 *   int  tl_quote_verify(&evidence, &expect, &verdict)
 *
 * Sources: TPM 2.0 Part 2 rev 1.59, 10.12 (TPMS_ATTEST, TPMS_QUOTE_INFO,
 * TPM_GENERATED_VALUE), 10.9.7 (TPML_PCR_SELECTION); Part 3, 18.4
 * (TPM2_Quote): "pcrDigest: digest of the selected PCR using the hash of
 * the signing scheme" - the reference implementation takes
 * inScheme.details.any.hashAlg after the key's scheme is applied, i.e. the
 * hash the signature names; Part 1, 17.5 / PCRComputeCurrentDigest: the
 * values of the selected PCRs concatenated, in the order of the selection
 * list, and within one selection in increasing PCR index. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <tss2/tss2_tpm2_types.h>

#include "tl/akey.h"
#include "tl/error.h"
#include "tl/replay.h"

/* A parsed TPMS_ATTEST of type TPM_ST_ATTEST_QUOTE. */
struct tl_quote {
    uint32_t magic; /* TPM_GENERATED_VALUE, 0xff544347 */
    uint16_t type;  /* TPM_ST_ATTEST_QUOTE, 0x8018 */
    TPM2B_NAME qualified_signer;
    TPM2B_DATA extra_data; /* the caller's qualifyingData: the nonce */
    uint64_t clock;
    uint32_t reset_count;
    uint32_t restart_count;
    bool safe;
    uint64_t firmware_version;
    TPML_PCR_SELECTION pcr_select;
    TPM2B_DIGEST pcr_digest;
};

/* Parses the signed bytes of a quote (the contents of TPM2B_ATTEST),
 * exact length. Refused (-EBADMSG, with the offset): magic other than
 * TPM_GENERATED_VALUE, type other than TPM_ST_ATTEST_QUOTE, a field that
 * runs past the end, trailing bytes, a PCR bank with no known hash, a bank
 * selected twice, a PCR >= 24 selected. */
int tl_quote_parse(const uint8_t *buf, size_t len, struct tl_quote *q, struct tl_error *err);

/* The PCRs the quote selects in the bank alg (bit i: PCR i). */
uint32_t tl_quote_pcr_mask(const struct tl_quote *q, uint16_t alg);

/* The pcrDigest TPM2_Quote computes for sel over the values in pcrs:
 * H_hash_alg(concatenated selected values, selection order). -ENOENT when
 * a selected PCR has no value in pcrs (err names it). */
int tl_quote_pcr_digest(const TPML_PCR_SELECTION *sel, const struct tl_pcr_values *pcrs,
                        uint16_t hash_alg, uint8_t out[TL_DIGEST_MAX], size_t *out_len,
                        struct tl_error *err);

/* The values of pcrs the quote selects, one bank per selected bank, masks
 * the selection: the "expected" side for tl_replay_compare once the
 * quote's digest has matched them. -ENOENT when a selected PCR has none. */
int tl_quote_selected_values(const struct tl_quote *q, const struct tl_pcr_values *pcrs,
                             struct tl_pcr_values *out, struct tl_error *err);

/* ---- the whole check ---- */

/* What the attester sent, as marshalled. */
struct tl_quote_evidence {
    const uint8_t *ak_public; /* TPM2B_PUBLIC or TPMT_PUBLIC of the AK */
    size_t ak_public_len;
    const uint8_t *attest; /* TPMS_ATTEST (TPM2B_ATTEST contents) */
    size_t attest_len;
    const uint8_t *signature; /* TPMT_SIGNATURE */
    size_t signature_len;
    /* optional: the AK's OpenSSL key, made once from ak_public by
     * tl_akey_load (tl_akey_load_keyed: the public area is still checked) */
    EVP_PKEY *ak_key;
};

/* What the verifier expects. */
struct tl_quote_expect {
    bool check_nonce; /* false: the nonce is not checked (verdict says so) */
    const uint8_t *nonce;
    size_t nonce_len;                 /* 0: the quote must carry an empty extraData */
    const struct tl_pcr_values *pcrs; /* NULL: the PCR digest is not checked */
    unsigned flags;                   /* TL_ATTEST_ALLOW_SHA1 */
};

/* Which part a reason is about. */
enum tl_quote_part {
    TL_QUOTE_PART_AK,        /* the AK's public area */
    TL_QUOTE_PART_QUOTE,     /* the TPMS_ATTEST: shape, magic, type, banks */
    TL_QUOTE_PART_SIGNATURE, /* the TPMT_SIGNATURE and its verification */
    TL_QUOTE_PART_NONCE,
    TL_QUOTE_PART_PCRS,     /* the PCR values against pcrDigest */
    TL_QUOTE_PART_EVENTLOG, /* the event log against the quoted PCRs (attest.h) */
};

#define TL_QUOTE_MAX_REASONS 8

struct tl_quote_reason {
    enum tl_quote_part part;
    int code; /* the -errno of the failed step */
    char message[320];
};

struct tl_quote_verdict {
    bool pass; /* every check that ran passed, and AK, quote and signature ran */
    unsigned n_reasons;
    struct tl_quote_reason reasons[TL_QUOTE_MAX_REASONS];

    bool ak_ok, quote_ok, signature_ok;
    bool nonce_checked, nonce_ok;
    bool pcrs_checked, pcrs_ok;

    uint8_t ak_name[TL_TPM_NAME_MAX]; /* when the AK parsed */
    size_t ak_name_len;
    struct tl_quote quote;             /* when quote_ok */
    uint16_t sig_scheme;               /* when the signature parsed: TPM2_ALG_RSASSA, ... */
    uint16_t sig_hash;                 /* and its hash: the pcrDigest's too */
    uint8_t pcr_digest[TL_DIGEST_MAX]; /* computed over expect->pcrs, when checked */
    size_t pcr_digest_len;
};

/* Runs every check that the inputs allow and fills the verdict. Returns 0
 * whatever the verdict (the reasons say why a quote fails), -ENOMEM only
 * when it could not run. */
int tl_quote_verify(const struct tl_quote_evidence *ev, const struct tl_quote_expect *expect,
                    struct tl_quote_verdict *out);

/* "ak", "quote", "signature", "nonce", "pcrs", "eventlog" */
const char *tl_quote_part_name(enum tl_quote_part part);
