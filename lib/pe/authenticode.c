/* The Authenticode image digest of a PE/COFF image: what a signature signs,
 * what db/dbx hash entries hold, and what EDK2 extends into PCR 4 for an
 * EV_EFI_BOOT_SERVICES_APPLICATION.
 *
 * Authenticode PE spec 1.0, "Calculating the PE Image Hash", exactly as
 * EDK2's DxeImageVerificationLib HashPeImage (and Tcg2Dxe's
 * MeasurePeImageAndExtend, which is the same algorithm) computes it:
 *  1. the headers from 0 to OptionalHeader.CheckSum, then from after
 *     CheckSum to the security directory entry, then from after that entry
 *     to SizeOfHeaders (without a directory 4: from after CheckSum to
 *     SizeOfHeaders);
 *  2. the sections with SizeOfRawData != 0, sorted by PointerToRawData
 *     (stable: EDK2 uses an insertion sort), SizeOfRawData bytes each;
 *  3. SUM_OF_BYTES_HASHED = SizeOfHeaders + the sizes hashed in 2; when the
 *     file is longer, the bytes from that offset to FileSize - CertSize
 *     ("extra data"); a file shorter than SUM_OF_BYTES_HASHED + CertSize
 *     (but longer than SUM_OF_BYTES_HASHED) cannot be hashed.
 * Note that step 3 starts at SUM_OF_BYTES_HASHED, not at the end of the
 * last section: the two differ when sections overlap or leave gaps, and
 * the firmware's answer is the one that counts.
 *
 * tl_pe_parse has checked every range; big ranges go to the hash in one
 * update each, straight from the caller's buffer. */
#include <errno.h>
#include <stdlib.h>

#include "tl/pe.h"
#include "tl/util.h"

struct hash_range {
    uint32_t offset, size;
    size_t index; /* in the section table: makes the sort stable */
};

static int range_compare(const void *a, const void *b)
{
    const struct hash_range *x = a, *y = b;
    if (x->offset != y->offset)
        return x->offset < y->offset ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static void hasher_freep(struct tl_hasher **h)
{
    tl_hasher_free(*h);
}

static int hash(struct tl_hasher *h, const struct tl_pe *pe, uint64_t from, uint64_t to)
{
    if (to <= from)
        return 0;
    return tl_hasher_update(h, pe->buf + from, to - from);
}

int tl_pe_authenticode_digest(const struct tl_pe *pe, struct tl_hasher *h, uint16_t alg,
                              uint8_t out[TL_DIGEST_MAX], struct tl_error *err)
{
    const char *name = tl_alg_name(alg);
    if (!name)
        return tl_error_set_nopos(err, -EOPNOTSUPP, "unknown hash algorithm 0x%04x", alg);
    if (!pe->buf || pe->size_of_headers > pe->len)
        return tl_error_set_nopos(err, -EINVAL, "not a parsed PE image");

    _cleanup_(hasher_freep) struct tl_hasher *owned = NULL;
    if (!h) {
        owned = tl_hasher_new();
        if (!owned)
            return tl_error_set_nopos(err, -ENOMEM, "out of memory");
        h = owned;
    }

    /* Sections with raw data, in file order. */
    _cleanup_free_ struct hash_range *ranges =
        malloc((pe->n_sections ? pe->n_sections : 1) * sizeof(*ranges));
    if (!ranges)
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    size_t n = 0;
    uint64_t sum = pe->size_of_headers;
    bool sorted = true;
    for (size_t i = 0; i < pe->n_sections; i++) {
        const struct tl_pe_section *s = &pe->sections[i];
        if (s->raw_size == 0)
            continue;
        if (n > 0 && s->raw_offset < ranges[n - 1].offset)
            sorted = false;
        ranges[n++] = (struct hash_range){s->raw_offset, s->raw_size, i};
        sum += s->raw_size;
    }
    if (!sorted)
        qsort(ranges, n, sizeof(*ranges), range_compare);

    /* Extra data: EDK2 measures [sum, FileSize - CertSize) when the file is
     * longer than sum, and gives up when the certificate table would not
     * fit after sum (overlapping sections hash more bytes than the file
     * has). */
    uint64_t extra_end = sum;
    if (pe->len > sum) {
        if (pe->len < sum + pe->cert_table_size)
            return tl_error_set_nopos(err, -EBADMSG,
                                      "sections hash 0x%llx bytes: no room for the 0x%x-byte "
                                      "certificate table in a file of %zu bytes (overlapping "
                                      "sections?)",
                                      (unsigned long long)sum, pe->cert_table_size, pe->len);
        extra_end = pe->len - pe->cert_table_size;
    }

    int r = tl_hasher_begin(h, alg);
    if (r < 0)
        return tl_error_set_nopos(err, r, "cannot hash with %s", name);

    uint64_t checksum = pe->checksum_offset, headers_end = pe->size_of_headers;
    if (pe->secdir_offset != 0) {
        uint64_t secdir = pe->secdir_offset;
        r = hash(h, pe, 0, checksum);
        if (r >= 0)
            r = hash(h, pe, checksum + 4, secdir);
        if (r >= 0)
            r = hash(h, pe, secdir + 8, headers_end);
    } else {
        r = hash(h, pe, 0, checksum);
        if (r >= 0)
            r = hash(h, pe, checksum + 4, headers_end);
    }
    for (size_t i = 0; r >= 0 && i < n; i++)
        r = tl_hasher_update(h, pe->buf + ranges[i].offset, ranges[i].size);
    if (r >= 0)
        r = hash(h, pe, sum, extra_end);
    if (r >= 0)
        r = tl_hasher_end(h, out);
    if (r < 0)
        return tl_error_set_nopos(err, r, "%s hashing failed", name);
    return r;
}
