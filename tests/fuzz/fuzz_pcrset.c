/* libFuzzer target: tl_pcr_values_parse, what `replay --expect` reads
 * (PCR lines, tpm2-tools YAML, replay JSON). The text is handed over as
 * (pointer, length) with no NUL after it, exactly as the API allows, so a
 * read past the end is an ASan report. */
#include <stddef.h>
#include <stdint.h>

#include "tl/replay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct tl_pcr_values values; /* ~25 KiB: keep it off the stack */
    struct tl_error err = {0};

    if (tl_pcr_values_parse((const char *)data, size, &values, &err) == 0) {
        /* A successful parse holds at least one bank with sane sizes. */
        if (values.n_banks == 0 || values.n_banks > TL_EVENTLOG_MAX_BANKS)
            __builtin_trap();
        for (unsigned b = 0; b < values.n_banks; b++)
            if (values.banks[b].size == 0 || values.banks[b].size > TL_DIGEST_MAX ||
                (values.banks[b].mask >> TL_PCR_COUNT) != 0)
                __builtin_trap();
    }
    return 0;
}
