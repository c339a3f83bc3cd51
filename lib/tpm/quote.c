/* TPM2_Quote: parse the TPMS_ATTEST, recompute its PCR digest, and the
 * whole offline check of a quote.
 *
 * The TPMS_ATTEST is walked field by field with libtss2-mu's unmarshallers
 * (so an error names the field and its offset), then handed whole to
 * Tss2_MU_TPMS_ATTEST_Unmarshal and marshalled back as a cross-check: the
 * walk and MU must agree on every byte, and the bytes must be the only
 * encoding of what was parsed (what is signed is the bytes, what is read
 * is the structure).
 *
 * Fail closed: a quote is only "pass" when the AK is an attestation key,
 * the quote parses and is a TPM-generated quote, and its signature
 * verifies with the AK; a nonce and PCR values, when the caller gives
 * them, must match. Checks that depend on a failed one are skipped, not
 * passed (the verdict's *_checked flags say which ran). The signer's
 * qualifiedSigner is reported, not compared: it is the AK's Qualified Name
 * (Part 1, 16.6: a hash over the AK's whole parent chain), which the AK's
 * public area alone does not determine. */
#include "tl/quote.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <tss2/tss2_mu.h>

#include "tl/digest.h"
#include "tl/util.h"
#include "tpms_attest.h"

const char *tl_quote_part_name(enum tl_quote_part part)
{
    static const char *const names[] = {
        [TL_QUOTE_PART_AK] = "ak",
        [TL_QUOTE_PART_QUOTE] = "quote",
        [TL_QUOTE_PART_SIGNATURE] = "signature",
        [TL_QUOTE_PART_NONCE] = "nonce",
        [TL_QUOTE_PART_PCRS] = "pcrs",
        [TL_QUOTE_PART_EVENTLOG] = "eventlog",
    };
    return (unsigned)part < TL_ARRAY_SIZE(names) ? names[part] : "?";
}

static const char *attest_type_name(uint16_t type)
{
    switch (type) {
    case TPM2_ST_ATTEST_NV:
        return "TPM_ST_ATTEST_NV";
    case TPM2_ST_ATTEST_COMMAND_AUDIT:
        return "TPM_ST_ATTEST_COMMAND_AUDIT";
    case TPM2_ST_ATTEST_SESSION_AUDIT:
        return "TPM_ST_ATTEST_SESSION_AUDIT";
    case TPM2_ST_ATTEST_CERTIFY:
        return "TPM_ST_ATTEST_CERTIFY";
    case TPM2_ST_ATTEST_QUOTE:
        return "TPM_ST_ATTEST_QUOTE";
    case TPM2_ST_ATTEST_TIME:
        return "TPM_ST_ATTEST_TIME";
    case TPM2_ST_ATTEST_CREATION:
        return "TPM_ST_ATTEST_CREATION";
    case 0x801c: /* TPM_ST_ATTEST_NV_DIGEST, Part 2 rev 1.59 */
        return "TPM_ST_ATTEST_NV_DIGEST";
    default:
        return "not an attestation type";
    }
}

/* ---- parse ---- */

static int parse_fields(const uint8_t *buf, size_t len, struct tl_quote *q, struct tl_error *err)
{
    const char *what = "quote";
    size_t off = 0;
    TL_TPMS_FIELD(Tss2_MU_UINT32_Unmarshal, "magic", &q->magic);
    if (q->magic != TPM2_GENERATED_VALUE)
        return tl_error_set(err, -EBADMSG, 0,
                            "quote: magic 0x%08x is not TPM_GENERATED_VALUE (0x%08x): the TPM "
                            "did not produce these bytes",
                            q->magic, TPM2_GENERATED_VALUE);
    TL_TPMS_FIELD(Tss2_MU_TPM2_ST_Unmarshal, "type", &q->type);
    if (q->type != TPM2_ST_ATTEST_QUOTE)
        return tl_error_set(err, -EBADMSG, 4,
                            "quote: type 0x%04x (%s) is not TPM_ST_ATTEST_QUOTE (0x%04x)", q->type,
                            attest_type_name(q->type), TPM2_ST_ATTEST_QUOTE);
    TL_TPMS_FIELD(Tss2_MU_TPM2B_NAME_Unmarshal, "qualifiedSigner", &q->qualified_signer);
    TL_TPMS_FIELD(Tss2_MU_TPM2B_DATA_Unmarshal, "extraData", &q->extra_data);
    TPMS_CLOCK_INFO clock = {0};
    size_t clock_at = off;
    TL_TPMS_FIELD(Tss2_MU_TPMS_CLOCK_INFO_Unmarshal, "clockInfo", &clock);
    if (clock.safe != TPM2_YES && clock.safe != TPM2_NO)
        return tl_error_set(err, -EBADMSG, clock_at + 16,
                            "quote: clockInfo.safe is %u, not YES or NO", clock.safe);
    q->clock = clock.clock;
    q->reset_count = clock.resetCount;
    q->restart_count = clock.restartCount;
    q->safe = clock.safe == TPM2_YES;
    TL_TPMS_FIELD(Tss2_MU_UINT64_Unmarshal, "firmwareVersion", &q->firmware_version);
    size_t sel_at = off;
    TL_TPMS_FIELD(Tss2_MU_TPML_PCR_SELECTION_Unmarshal, "pcrSelect", &q->pcr_select);
    TL_TPMS_FIELD(Tss2_MU_TPM2B_DIGEST_Unmarshal, "pcrDigest", &q->pcr_digest);
    if (off != len)
        return tl_error_set(err, -EBADMSG, off, "quote: %zu trailing bytes after the TPMS_ATTEST",
                            len - off);

    /* The selection: known banks, each once, PCRs 0-23 (PC Client). */
    const TPML_PCR_SELECTION *sel = &q->pcr_select;
    size_t at = sel_at + 4;
    for (uint32_t i = 0; i < sel->count; i++) {
        const TPMS_PCR_SELECTION *s = &sel->pcrSelections[i];
        if (!tl_alg_digest_size(s->hash))
            return tl_error_set(err, -EBADMSG, at,
                                "quote: PCR selection %u: bank 0x%04x is not a known hash", i,
                                s->hash);
        for (uint32_t j = 0; j < i; j++)
            if (sel->pcrSelections[j].hash == s->hash)
                return tl_error_set(err, -EBADMSG, at, "quote: bank %s selected twice",
                                    tl_alg_name(s->hash));
        for (unsigned p = TL_PCR_COUNT; p < 8u * s->sizeofSelect; p++)
            if (s->pcrSelect[p / 8] & (1u << (p % 8)))
                return tl_error_set(err, -EBADMSG, at + 3 + p / 8,
                                    "quote: selects %s PCR %u (a PC Client TPM has %d)",
                                    tl_alg_name(s->hash), p, TL_PCR_COUNT);
        at += 3 + s->sizeofSelect;
    }
    return 0;
}

int tl_quote_parse(const uint8_t *buf, size_t len, struct tl_quote *q, struct tl_error *err)
{
    *q = (struct tl_quote){0};
    int r = parse_fields(buf, len, q, err);
    if (r < 0) {
        *q = (struct tl_quote){0};
        return r;
    }
    /* Cross-check with libtss2-mu's own TPMS_ATTEST, both ways. */
    if (!tl_tpms_attest_canonical(buf, len)) {
        *q = (struct tl_quote){0};
        return tl_error_set_nopos(err, -EBADMSG, "quote: not canonically encoded");
    }
    return 0;
}

uint32_t tl_quote_pcr_mask(const struct tl_quote *q, uint16_t alg)
{
    uint32_t mask = 0;
    for (uint32_t i = 0; i < q->pcr_select.count; i++) {
        const TPMS_PCR_SELECTION *s = &q->pcr_select.pcrSelections[i];
        if (s->hash != alg)
            continue;
        for (unsigned p = 0; p < TL_PCR_COUNT && p < 8u * s->sizeofSelect; p++)
            if (s->pcrSelect[p / 8] & (1u << (p % 8)))
                mask |= 1u << p;
    }
    return mask;
}

/* ---- PCR digest ---- */

static const struct tl_pcr_bank *selected_bank(const TPMS_PCR_SELECTION *s,
                                               const struct tl_pcr_values *pcrs, unsigned *missing,
                                               struct tl_error *err, int *r)
{
    const struct tl_pcr_bank *bank = tl_pcr_values_bank_const(pcrs, s->hash);
    *r = 0;
    for (unsigned p = 0; p < 8u * s->sizeofSelect; p++) {
        if (!(s->pcrSelect[p / 8] & (1u << (p % 8))))
            continue;
        if (p >= TL_PCR_COUNT || !bank || !(bank->mask & (1u << p)) ||
            bank->size != tl_alg_digest_size(s->hash)) {
            *missing = p;
            *r = tl_error_set_nopos(err, -ENOENT, "pcrs: %s PCR %u is quoted but has no value",
                                    tl_alg_name(s->hash) ?: "?", p);
            return NULL;
        }
    }
    return bank;
}

int tl_quote_pcr_digest(const TPML_PCR_SELECTION *sel, const struct tl_pcr_values *pcrs,
                        uint16_t hash_alg, uint8_t out[TL_DIGEST_MAX], size_t *out_len,
                        struct tl_error *err)
{
    *out_len = 0;
    if (!tl_alg_digest_size(hash_alg))
        return tl_error_set_nopos(err, -EOPNOTSUPP, "pcrs: digest algorithm 0x%04x", hash_alg);
    struct tl_hasher *h = tl_hasher_new();
    if (!h)
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    int r = tl_hasher_begin(h, hash_alg);
    for (uint32_t i = 0; r >= 0 && i < sel->count && i < TPM2_NUM_PCR_BANKS; i++) {
        const TPMS_PCR_SELECTION *s = &sel->pcrSelections[i];
        unsigned missing;
        const struct tl_pcr_bank *bank = selected_bank(s, pcrs, &missing, err, &r);
        if (r < 0)
            break;
        for (unsigned p = 0; p < 8u * s->sizeofSelect && r >= 0; p++)
            if (s->pcrSelect[p / 8] & (1u << (p % 8)))
                r = tl_hasher_update(h, bank->value[p], bank->size);
    }
    if (r >= 0) {
        r = tl_hasher_end(h, out);
        if (r > 0)
            *out_len = (size_t)r;
    }
    tl_hasher_free(h);
    if (r < 0 && r != -ENOENT)
        return tl_error_set_nopos(err, r, "pcrs: hashing with %s failed",
                                  tl_alg_name(hash_alg) ?: "?");
    return r < 0 ? r : 0;
}

int tl_quote_selected_values(const struct tl_quote *q, const struct tl_pcr_values *pcrs,
                             struct tl_pcr_values *out, struct tl_error *err)
{
    *out = (struct tl_pcr_values){0};
    for (uint32_t i = 0; i < q->pcr_select.count && i < TL_EVENTLOG_MAX_BANKS; i++) {
        const TPMS_PCR_SELECTION *s = &q->pcr_select.pcrSelections[i];
        unsigned missing;
        int r;
        const struct tl_pcr_bank *bank = selected_bank(s, pcrs, &missing, err, &r);
        if (r < 0)
            return r;
        struct tl_pcr_bank *b = &out->banks[out->n_banks++];
        *b = (struct tl_pcr_bank){.alg = s->hash, .size = (uint16_t)tl_alg_digest_size(s->hash)};
        b->mask = tl_quote_pcr_mask(q, s->hash);
        for (unsigned p = 0; p < TL_PCR_COUNT; p++)
            if (b->mask & (1u << p))
                memcpy(b->value[p], bank->value[p], b->size);
    }
    return 0;
}

/* ---- the whole check ---- */

__attribute__((format(printf, 4, 5))) static void
add_reason(struct tl_quote_verdict *v, enum tl_quote_part part, int code, const char *fmt, ...)
{
    if (v->n_reasons >= TL_QUOTE_MAX_REASONS)
        return;
    struct tl_quote_reason *r = &v->reasons[v->n_reasons++];
    r->part = part;
    r->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof(r->message), fmt, ap);
    va_end(ap);
}

static void add_error(struct tl_quote_verdict *v, enum tl_quote_part part, int code,
                      const struct tl_error *e)
{
    if (e->has_offset)
        add_reason(v, part, code, "%s (offset %zu)", e->message, e->offset);
    else
        add_reason(v, part, code, "%s", e->message);
}

static void hex_short(const uint8_t *p, size_t n, char *out, size_t out_size)
{
    size_t max = (out_size - 4) / 2;
    if (n <= max) {
        tl_hex_encode(p, n, out);
        return;
    }
    tl_hex_encode(p, max, out);
    strcpy(out + 2 * max, "...");
}

int tl_quote_verify(const struct tl_quote_evidence *ev, const struct tl_quote_expect *expect,
                    struct tl_quote_verdict *v)
{
    *v = (struct tl_quote_verdict){0};
    struct tl_error e = {0};
    unsigned flags = expect->flags;
    int r;

    struct tl_akey ak;
    r = tl_akey_load_keyed(ev->ak_public, ev->ak_public_len, flags, ev->ak_key, &ak, &e);
    if (r == -ENOMEM)
        return r;
    if (r < 0) {
        add_error(v, TL_QUOTE_PART_AK, r, &e);
    } else {
        v->ak_ok = true;
        memcpy(v->ak_name, ak.name, ak.name_len);
        v->ak_name_len = ak.name_len;
    }

    r = tl_quote_parse(ev->attest, ev->attest_len, &v->quote, &e);
    if (r < 0) {
        add_error(v, TL_QUOTE_PART_QUOTE, r, &e);
    } else {
        v->quote_ok = true;
        const TPML_PCR_SELECTION *sel = &v->quote.pcr_select;
        if (tl_quote_pcr_mask(&v->quote, TPM2_ALG_SHA1) && !(flags & TL_ATTEST_ALLOW_SHA1))
            add_reason(v, TL_QUOTE_PART_QUOTE, -EPERM,
                       "quote: quotes the sha1 PCR bank (SHA-1 is not allowed)");
        bool any = false;
        for (uint32_t i = 0; i < sel->count; i++)
            any = any || tl_quote_pcr_mask(&v->quote, sel->pcrSelections[i].hash);
        if (!any)
            add_reason(v, TL_QUOTE_PART_QUOTE, -EBADMSG,
                       "quote: selects no PCR (it attests nothing about the boot)");
    }

    TPMT_SIGNATURE sig;
    r = tl_tpm_signature_parse(ev->signature, ev->signature_len, &sig, &e);
    bool sig_parsed = r >= 0;
    if (r < 0) {
        add_error(v, TL_QUOTE_PART_SIGNATURE, r, &e);
    } else {
        v->sig_scheme = sig.sigAlg;
        v->sig_hash = sig.signature.any.hashAlg;
        if (!v->ak_ok) {
            add_reason(v, TL_QUOTE_PART_SIGNATURE, -EKEYREJECTED,
                       "signature: not verified: the AK was refused");
        } else {
            /* Over the bytes as received, whether or not they parsed: a
             * forged quote is rejected for its signature too. */
            r = tl_akey_verify(&ak, ev->attest, ev->attest_len, &sig, flags, &e);
            if (r == -ENOMEM) {
                tl_akey_done(&ak);
                return r;
            }
            if (r < 0)
                add_error(v, TL_QUOTE_PART_SIGNATURE, r, &e);
            else
                v->signature_ok = true;
        }
    }
    tl_akey_done(&ak);

    if (v->quote_ok && expect->check_nonce) {
        v->nonce_checked = true;
        const TPM2B_DATA *x = &v->quote.extra_data;
        if (x->size == expect->nonce_len &&
            (expect->nonce_len == 0 || memcmp(x->buffer, expect->nonce, x->size) == 0)) {
            v->nonce_ok = true;
        } else {
            char got[2 * 24 + 4], want[2 * 24 + 4];
            hex_short(x->buffer, x->size, got, sizeof(got));
            hex_short(expect->nonce, expect->nonce_len, want, sizeof(want));
            add_reason(v, TL_QUOTE_PART_NONCE, -EBADMSG,
                       "quote: nonce does not match: extraData is %u bytes \"%s\", expected %zu "
                       "bytes \"%s\"",
                       x->size, got, expect->nonce_len, want);
        }
    }

    if (v->quote_ok && sig_parsed && expect->pcrs) {
        v->pcrs_checked = true;
        const TPM2B_DIGEST *d = &v->quote.pcr_digest;
        r = tl_quote_pcr_digest(&v->quote.pcr_select, expect->pcrs, v->sig_hash, v->pcr_digest,
                                &v->pcr_digest_len, &e);
        if (r == -ENOMEM)
            return r;
        if (r < 0) {
            add_error(v, TL_QUOTE_PART_PCRS, r, &e);
        } else if (d->size != v->pcr_digest_len) {
            add_reason(v, TL_QUOTE_PART_PCRS, -EBADMSG,
                       "pcrs: the quote's pcrDigest has %u bytes, the signature's hash %s %zu",
                       d->size, tl_alg_name(v->sig_hash) ?: "?", v->pcr_digest_len);
        } else if (memcmp(d->buffer, v->pcr_digest, d->size) != 0) {
            char got[2 * TL_DIGEST_MAX + 1], want[2 * TL_DIGEST_MAX + 1];
            tl_hex_encode(v->pcr_digest, v->pcr_digest_len, got);
            tl_hex_encode(d->buffer, d->size, want);
            add_reason(v, TL_QUOTE_PART_PCRS, -EBADMSG,
                       "pcrs: the PCR values do not match the quote's pcrDigest (%s of the "
                       "values is %s, the quote has %s)",
                       tl_alg_name(v->sig_hash), got, want);
        } else {
            v->pcrs_ok = true;
        }
    }

    v->pass = v->n_reasons == 0 && v->ak_ok && v->quote_ok && v->signature_ok;
    return 0;
}
