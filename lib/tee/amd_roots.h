/* AMD SEV-SNP root certificates built into libtl (amd_roots.c): private to
 * lib/tee. */
#pragma once

#include <stdint.h>

#define TL_AMD_ROOT_COUNT 3

struct tl_amd_root {
    const char *product; /* "Milan", "Genoa", "Turin": KDS's product names */
    const char *ark_pem;
    const char *ask_pem;
    const char *asvk_pem;
    uint8_t ark_sha256[32];
    uint8_t ask_sha256[32];
    uint8_t asvk_sha256[32];
};

/* Milan, Genoa, Turin, in that order (enum tl_snp_product - 1). */
extern const struct tl_amd_root tl_amd_roots[TL_AMD_ROOT_COUNT];
