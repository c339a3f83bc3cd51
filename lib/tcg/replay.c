/* Replay (TPM 2.0 Part 1, 17.5 "PCR extend": new = H(old || digest)) and the
 * comparison of a replay with the PCR values a quote carries. */
#include "tl/replay.h"

#include <errno.h>
#include <string.h>

#include "tl/util.h"

#define DRTM_PCRS 0x7e0000u /* PCR 17-22 reset to all ones */

static void bank_reset(struct tl_pcr_bank *b, uint16_t alg, uint16_t size, int locality)
{
    *b = (struct tl_pcr_bank){.alg = alg, .size = size};
    for (unsigned i = 0; i < TL_PCR_COUNT; i++)
        if (DRTM_PCRS & (1u << i))
            memset(b->value[i], 0xff, size);
    if (locality > 0)
        b->value[0][size - 1] = (uint8_t)locality;
}

int tl_replay(const struct tl_eventlog *log, struct tl_hasher *h, struct tl_pcr_values *out,
              struct tl_error *err)
{
    return tl_replay_banks(log, h, NULL, 0, out, err);
}

static bool selected(uint16_t alg, const uint16_t *algs, size_t n_algs)
{
    for (size_t i = 0; i < n_algs; i++)
        if (algs[i] == alg)
            return true;
    return !algs;
}

int tl_replay_banks(const struct tl_eventlog *log, struct tl_hasher *h, const uint16_t *algs,
                    size_t n_algs, struct tl_pcr_values *out, struct tl_error *err)
{
    struct tl_hasher *own = NULL;
    int r = 0;

    if (!h) {
        h = own = tl_hasher_new();
        if (!h)
            return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    }
    out->n_banks = 0;
    for (unsigned b = 0; b < log->n_banks; b++) {
        if (!selected(log->banks[b].alg, algs, n_algs))
            continue;
        struct tl_pcr_bank *bank = &out->banks[out->n_banks++];
        bank_reset(bank, log->banks[b].alg, log->banks[b].size, log->startup_locality);
        if (!tl_alg_digest_size(bank->alg)) {
            bank->unsupported = true;
            continue;
        }
        for (size_t i = 0; i < log->n_events; i++) {
            const struct tl_event *ev = &log->events[i];
            const uint8_t *digest = tl_event_digest(log, ev, b);
            if (ev->type == TL_EV_NO_ACTION || !digest)
                continue;
            r = tl_hasher_extend(h, bank->alg, bank->value[ev->pcr], digest);
            if (r == -EOPNOTSUPP) {
                bank->unsupported = true;
                bank->mask = 0;
                r = 0;
                break;
            }
            if (r < 0) {
                r = tl_error_set(err, r, ev->offset, "event %u: hashing failed", ev->index);
                goto out;
            }
            bank->mask |= 1u << ev->pcr;
        }
    }
out:
    tl_hasher_free(own);
    return r;
}

struct tl_pcr_bank *tl_pcr_values_bank(struct tl_pcr_values *v, uint16_t alg)
{
    for (unsigned i = 0; i < v->n_banks; i++)
        if (v->banks[i].alg == alg)
            return &v->banks[i];
    return NULL;
}

const struct tl_pcr_bank *tl_pcr_values_bank_const(const struct tl_pcr_values *v, uint16_t alg)
{
    return tl_pcr_values_bank((struct tl_pcr_values *)v, alg);
}

size_t tl_replay_compare(const struct tl_pcr_values *replayed, const struct tl_pcr_values *expected,
                         struct tl_pcr_mismatch *out, size_t max, uint32_t *not_covered)
{
    size_t n = 0;
    uint32_t uncovered = 0;

    for (unsigned b = 0; b < expected->n_banks; b++) {
        const struct tl_pcr_bank *want = &expected->banks[b];
        const struct tl_pcr_bank *got = tl_pcr_values_bank_const(replayed, want->alg);
        if (!want->mask)
            continue;
        if (!got || got->unsupported) {
            if (n < max)
                out[n] = (struct tl_pcr_mismatch){.alg = want->alg, .pcr = -1};
            n++;
            continue;
        }
        for (int i = 0; i < TL_PCR_COUNT; i++) {
            uint32_t bit = 1u << i;
            if (!(want->mask & bit))
                continue;
            if (!(got->mask & bit) && !(TL_PCR_FIRMWARE_MASK & bit)) {
                uncovered |= bit;
                continue;
            }
            if (memcmp(got->value[i], want->value[i], want->size) == 0)
                continue;
            if (n < max) {
                out[n] = (struct tl_pcr_mismatch){
                    .alg = want->alg, .pcr = i, .uncovered = !(got->mask & bit)};
                memcpy(out[n].replayed, got->value[i], want->size);
                memcpy(out[n].expected, want->value[i], want->size);
            }
            n++;
        }
    }
    if (not_covered)
        *not_covered = uncovered;
    return n;
}
