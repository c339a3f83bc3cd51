/* libFuzzer target: a PE/COFF image through lib/pe: tl_pe_parse (headers,
 * section table and long names, certificate table, .sbat / .sbatlevel /
 * .vendor_cert; PE Format spec and EDK2's loader checks), then, when it
 * parses, the Authenticode SHA-256 digest (Authenticode PE spec 1.0 as
 * EDK2's HashPeImage computes it).
 *
 * Seeds: Debian's signed shim, grub and kernel (scripts/fixtures.sh); run
 * with -max_len large enough for them or on their first pages. The input
 * is a buffer of exactly its size, so AddressSanitizer sees any read past
 * the end; the harness also checks that everything the parser returns
 * points inside the input. Any error return is fine. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tl/digest.h"
#include "tl/pe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tl_hasher *hasher; /* fetched once: EVP_MD_fetch is slow */

static void check_inside(const uint8_t *data, size_t size, const uint8_t *p, size_t n)
{
    if (!p)
        return;
    if (p < data || n > size || (size_t)(p - data) > size - n)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tl_pe pe;
    struct tl_error err = {0};

    if (!hasher)
        hasher = tl_hasher_new();
    if (tl_pe_parse(data, size, &pe, &err) < 0) {
        if (!err.message[0])
            __builtin_trap(); /* every failure says why */
        return 0;
    }

    for (size_t i = 0; i < pe.n_sections; i++) {
        const struct tl_pe_section *s = &pe.sections[i];
        if (s->raw_size)
            check_inside(data, size, data + s->raw_offset, s->raw_size);
        if (memchr(s->name, 0, sizeof(s->name)) == NULL)
            __builtin_trap();
        if (tl_pe_find_section(&pe, s->name) == NULL)
            __builtin_trap();
    }
    for (size_t i = 0; i < pe.n_signatures; i++) {
        const struct tl_pe_signature *sig = &pe.signatures[i];
        check_inside(data, size, data + sig->offset, sig->length);
        check_inside(data, size, sig->data, sig->data_len);
    }
    check_inside(data, size, pe.sbat, pe.sbat_len);
    check_inside(data, size, pe.sbatlevel, pe.sbatlevel_len);
    check_inside(data, size, pe.vendor_cert, pe.vendor_cert_len);
    check_inside(data, size, pe.vendor_dbx, pe.vendor_dbx_len);
    if (pe.cert_table_size && (uint64_t)pe.cert_table_offset + pe.cert_table_size != size)
        __builtin_trap(); /* the table ends the file */

    uint8_t out[TL_DIGEST_MAX];
    int r = tl_pe_authenticode_digest(&pe, hasher, TL_ALG_SHA256, out, &err);
    if (r != 32 && !(r < 0 && err.message[0]))
        __builtin_trap();

    tl_pe_done(&pe);
    return 0;
}
