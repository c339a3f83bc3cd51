/* See applog.h. Layout (TCG PC Client PFP 1.05 rev 23):
 *  - record 0: TCG_PCR_EVENT, PCR 0, EV_NO_ACTION, zero SHA-1, the
 *    TCG_EfiSpecIdEvent (10.4.5.1) declaring SHA-1 (20) and SHA-256 (32);
 *  - records 1..n: TCG_PCR_EVENT2 (10.2.2), PCR 4,
 *    EV_EFI_BOOT_SERVICES_APPLICATION, both digests, and a 32-byte
 *    UEFI_IMAGE_LOAD_EVENT (10.2.3) whose DevicePath length is 0, or (with
 *    applog_build_paths) a device path of one file path node (UEFI 2.10,
 *    10.3.5.4) and the End node. */
#include "applog.h"

#include <stdlib.h>
#include <string.h>

#define SPEC_ID_SIZE  (16 + 4 + 4 + 4 + 2 * 4 + 1)
#define HEADER_SIZE   (4 + 4 + 20 + 4 + SPEC_ID_SIZE)
#define APP_DATA      32
#define APP_SIZE      (4 + 4 + 4 + (2 + 20) + (2 + 32) + 4 + APP_DATA)
#define DP_SIZE(path) (4 + 2 * (strlen(path) + 1) + 4)

static uint8_t *le(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    return p + bytes;
}

size_t applog_size(size_t n)
{
    return HEADER_SIZE + n * APP_SIZE;
}

uint8_t *applog_build(size_t n, size_t *len)
{
    return applog_build_paths(NULL, n, len);
}

uint8_t *applog_build_paths(const char *const *paths, size_t n, size_t *len)
{
    *len = applog_size(n);
    for (size_t i = 0; paths && i < n; i++)
        *len += paths[i] ? DP_SIZE(paths[i]) : 0;
    uint8_t *buf = calloc(1, *len), *p = buf;
    if (!buf)
        return NULL;
    p = le(p, 0, 4); /* PCRIndex */
    p = le(p, 3, 4); /* EV_NO_ACTION */
    p += 20;         /* zero SHA-1 */
    p = le(p, SPEC_ID_SIZE, 4);
    memcpy(p, "Spec ID Event03", 16);
    p += 16;
    p = le(p, 0, 4); /* platformClass */
    *p++ = 0;        /* specVersionMinor */
    *p++ = 2;        /* specVersionMajor */
    *p++ = 0;        /* specErrata */
    *p++ = 2;        /* uintnSize: UINT64 */
    p = le(p, 2, 4); /* numberOfAlgorithms */
    p = le(p, 0x0004, 2);
    p = le(p, 20, 2);
    p = le(p, 0x000b, 2);
    p = le(p, 32, 2);
    *p++ = 0; /* vendorInfoSize */
    for (size_t i = 0; i < n; i++) {
        p = le(p, 4, 4);
        p = le(p, 0x80000003u, 4);
        p = le(p, 2, 4);
        /* A different image each time: the index in the first bytes of both
         * digests, a constant pattern after it. */
        p = le(p, 0x0004, 2);
        memset(p, 0xa5, 20);
        le(p, i + 1, 8);
        p += 20;
        p = le(p, 0x000b, 2);
        memset(p, 0x5a, 32);
        le(p, i + 1, 8);
        p += 32;
        const char *path = paths ? paths[i] : NULL;
        size_t dp = path ? DP_SIZE(path) : 0;
        p = le(p, APP_DATA + dp, 4);
        p = le(p, 0x7e000000u + 0x10000u * (i % 256), 8); /* ImageLocationInMemory */
        p = le(p, 0x10000, 8);                            /* ImageLengthInMemory */
        p = le(p, 0, 8);                                  /* ImageLinkTimeAddress */
        p = le(p, dp, 8);                                 /* LengthOfDevicePath */
        if (!path)
            continue;
        *p++ = 0x04; /* media */
        *p++ = 0x04; /* file path */
        p = le(p, dp - 4, 2);
        for (const char *c = path;; c++) { /* UTF-16LE, NUL included */
            p = le(p, (uint8_t)*c, 2);
            if (!*c)
                break;
        }
        *p++ = 0x7f; /* End Entire */
        *p++ = 0xff;
        p = le(p, 4, 2);
    }
    return buf;
}
