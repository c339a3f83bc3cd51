/* The launch measurements of the emulated secure processor: an SEV-SNP
 * launch digest in PAGE_INFO form and the TDX MRTD, over a firmware file
 * (the computation, and how it differs from hardware's, is documented in
 * tl/tee_emul.h). One linear pass over the firmware; OpenSSL's SHA-384. */
#include <errno.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "tl/tee_emul.h"

#define PAGE          4096u
#define FOUR_GIB      0x100000000ull
#define VMSA_GPA      0xFFFFFFFFF000ull
#define PAGE_INFO_LEN 0x70

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static int fw_check(const uint8_t *fw, size_t fw_len, struct tl_error *err)
{
    if (!fw || fw_len == 0 || fw_len > TL_TEE_EMUL_FW_MAX)
        return tl_error_set_nopos(err, -EINVAL, "firmware: %zu bytes (1 to %u)", fw_len,
                                  TL_TEE_EMUL_FW_MAX);
    return 0;
}

/* Page i of the firmware, zero-padded. */
static void fw_page(const uint8_t *fw, size_t fw_len, size_t i, uint8_t page[PAGE])
{
    size_t off = i * PAGE, n = fw_len - off < PAGE ? fw_len - off : PAGE;
    memcpy(page, fw + off, n);
    memset(page + n, 0, PAGE - n);
}

/* D = SHA-384(PAGE_INFO{D, contents, 0x70, type, 0, 0, 0, 0, gpa}) */
static bool page_info(uint8_t d[48], const uint8_t contents[48], uint8_t type, uint64_t gpa)
{
    uint8_t pi[PAGE_INFO_LEN] = {0};
    memcpy(pi, d, 48);
    memcpy(pi + 0x30, contents, 48);
    put_le(pi + 0x60, PAGE_INFO_LEN, 2);
    pi[0x62] = type;
    put_le(pi + 0x68, gpa, 8);
    unsigned int n = 48;
    return EVP_Digest(pi, sizeof(pi), d, &n, EVP_sha384(), NULL) == 1;
}

int tl_tee_emul_snp_measurement(const uint8_t *fw, size_t fw_len, unsigned vcpus,
                                uint64_t guest_features, uint8_t out[48], struct tl_error *err)
{
    int r = fw_check(fw, fw_len, err);
    if (r < 0)
        return r;
    if (vcpus == 0 || vcpus > 512)
        return tl_error_set_nopos(err, -EINVAL, "vCPUs: %u (1 to 512)", vcpus);
    size_t pages = (fw_len + PAGE - 1) / PAGE;
    uint64_t base = FOUR_GIB - (uint64_t)pages * PAGE;
    uint8_t d[48] = {0}, page[PAGE], h[48];
    unsigned int n = 48;
    bool ok = true;
    for (size_t i = 0; ok && i < pages; i++) {
        fw_page(fw, fw_len, i, page);
        ok = EVP_Digest(page, PAGE, h, &n, EVP_sha384(), NULL) == 1 &&
             page_info(d, h, 1, base + i * PAGE);
    }
    for (unsigned i = 0; ok && i < vcpus; i++) {
        memset(page, 0, PAGE);
        memcpy(page, "TL-EMUL-VMSA", 12);
        put_le(page + 12, i, 4);
        put_le(page + 16, guest_features, 8);
        ok = EVP_Digest(page, PAGE, h, &n, EVP_sha384(), NULL) == 1 && page_info(d, h, 2, VMSA_GPA);
    }
    if (!ok)
        return tl_error_set_nopos(err, -ENOMEM, "SHA-384 failed");
    memcpy(out, d, 48);
    return 0;
}

int tl_tee_emul_tdx_mrtd(const uint8_t *fw, size_t fw_len, uint8_t out[48], struct tl_error *err)
{
    int r = fw_check(fw, fw_len, err);
    if (r < 0)
        return r;
    size_t pages = (fw_len + PAGE - 1) / PAGE;
    uint64_t base = FOUR_GIB - (uint64_t)pages * PAGE;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool ok = md && EVP_DigestInit_ex(md, EVP_sha384(), NULL) == 1;
    uint8_t page[PAGE];
    for (size_t i = 0; ok && i < pages; i++) {
        uint64_t gpa = base + i * PAGE;
        uint8_t blk[128] = {0};
        memcpy(blk, "MEM.PAGE.ADD", 12);
        put_le(blk + 16, gpa, 8);
        ok = EVP_DigestUpdate(md, blk, sizeof(blk)) == 1;
        fw_page(fw, fw_len, i, page);
        for (unsigned c = 0; ok && c < PAGE / 256; c++) {
            memset(blk, 0, sizeof(blk));
            memcpy(blk, "MR.EXTEND", 9);
            put_le(blk + 16, gpa + c * 256u, 8);
            ok = EVP_DigestUpdate(md, blk, sizeof(blk)) == 1 &&
                 EVP_DigestUpdate(md, page + c * 256u, 256) == 1;
        }
    }
    unsigned int n = 48;
    ok = ok && EVP_DigestFinal_ex(md, out, &n) == 1;
    EVP_MD_CTX_free(md);
    return ok ? 0 : tl_error_set_nopos(err, -ENOMEM, "SHA-384 failed");
}

int tl_tee_emul_pem(const uint8_t *const *ders, const size_t *lens, size_t n, char **out,
                    size_t *len, struct tl_error *err)
{
    size_t cap = 1;
    for (size_t i = 0; i < n; i++)
        cap += 64 + (lens[i] + 2) / 3 * 4 + (lens[i] + 47) / 48 + 64;
    char *buf = malloc(cap), *p = buf;
    if (!buf)
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        p += sprintf(p, "-----BEGIN CERTIFICATE-----\n");
        for (size_t off = 0; off < lens[i]; off += 48) {
            size_t k = lens[i] - off < 48 ? lens[i] - off : 48;
            p += EVP_EncodeBlock((unsigned char *)p, ders[i] + off, (int)k);
            *p++ = '\n';
        }
        p += sprintf(p, "-----END CERTIFICATE-----\n");
    }
    *p = 0;
    *out = buf;
    *len = (size_t)(p - buf);
    return 0;
}
