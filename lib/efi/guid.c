/* EFI GUIDs (UEFI 2.10, Appendix A "GUID and Time Formats"): the constants
 * that name variables and signature types in measurements, and the text form.
 *
 * A GUID is kept exactly as it is stored in firmware data: data1 (u32),
 * data2 (u16) and data3 (u16) little-endian, then the 8 bytes of data4 in
 * order. Comparing is therefore a byte comparison, and only formatting has
 * to know about the mixed endianness. */
#include "tl/efi.h"

#include <stdio.h>
#include <string.h>

#include "tl/util.h"

/* UEFI 2.10, 3.3 (EFI_GLOBAL_VARIABLE) and 32.6.1 (image security database). */
const tl_guid TL_EFI_GLOBAL_VARIABLE_GUID =
    TL_GUID_INIT(0x8be4df61, 0x93ca, 0x11d2, 0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c);
const tl_guid TL_EFI_IMAGE_SECURITY_DB_GUID =
    TL_GUID_INIT(0xd719b2cb, 0x3d3a, 0x4596, 0xa3, 0xbc, 0xda, 0xd0, 0x0e, 0x67, 0x65, 0x6f);
/* shim's vendor GUID (MokList, SbatLevel, the "Shim" authority event). */
const tl_guid TL_SHIM_LOCK_GUID =
    TL_GUID_INIT(0x605dab50, 0xe046, 0x4300, 0xab, 0xb6, 0x3d, 0xd8, 0x10, 0xdd, 0x8b, 0x23);

/* Signature types, UEFI 2.10, 32.4.1. */
const tl_guid TL_EFI_CERT_X509_GUID =
    TL_GUID_INIT(0xa5c059a1, 0x94e4, 0x4aa7, 0x87, 0xb5, 0xab, 0x15, 0x5c, 0x2b, 0xf0, 0x72);
const tl_guid TL_EFI_CERT_SHA256_GUID =
    TL_GUID_INIT(0xc1c41626, 0x504c, 0x4092, 0xac, 0xa9, 0x41, 0xf9, 0x36, 0x93, 0x43, 0x28);
const tl_guid TL_EFI_CERT_SHA1_GUID =
    TL_GUID_INIT(0x826ca512, 0xcf10, 0x4ac9, 0xb1, 0x87, 0xbe, 0x01, 0x49, 0x66, 0x31, 0xbd);
const tl_guid TL_EFI_CERT_SHA384_GUID =
    TL_GUID_INIT(0xff3e5307, 0x9fd0, 0x48c9, 0x85, 0xf1, 0x8a, 0xd5, 0x6c, 0x70, 0x1e, 0x01);
const tl_guid TL_EFI_CERT_SHA512_GUID =
    TL_GUID_INIT(0x093e0fae, 0xa6c4, 0x4f50, 0x9f, 0x1b, 0xd4, 0x1e, 0x2b, 0x89, 0xc1, 0x9a);
const tl_guid TL_EFI_CERT_X509_SHA256_GUID =
    TL_GUID_INIT(0x3bd2a492, 0x96c0, 0x4079, 0xb4, 0x20, 0xfc, 0xf9, 0x8e, 0xf1, 0x03, 0xed);
const tl_guid TL_EFI_CERT_X509_SHA384_GUID =
    TL_GUID_INIT(0x7076876e, 0x80c2, 0x4ee6, 0xaa, 0xd2, 0x28, 0xb3, 0x49, 0xa6, 0x86, 0x5b);
const tl_guid TL_EFI_CERT_X509_SHA512_GUID =
    TL_GUID_INIT(0x446dbf63, 0x2502, 0x4cda, 0xbc, 0xfa, 0x24, 0x65, 0xd2, 0xb0, 0xfe, 0x9d);
const tl_guid TL_EFI_CERT_RSA2048_GUID =
    TL_GUID_INIT(0x3c5766e8, 0x269c, 0x4e34, 0xaa, 0x14, 0xed, 0x77, 0x6e, 0x85, 0xb3, 0xb6);

void tl_guid_format(const tl_guid *g, char out[37])
{
    const uint8_t *b = g->b;
    snprintf(out, 37, "%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x", (unsigned)tl_le32(b),
             (unsigned)tl_le16(b + 4), (unsigned)tl_le16(b + 6), b[8], b[9], b[10], b[11], b[12],
             b[13], b[14], b[15]);
}

bool tl_guid_equal(const tl_guid *a, const tl_guid *b)
{
    return memcmp(a->b, b->b, sizeof(a->b)) == 0;
}

tl_guid tl_guid_read(const uint8_t *p)
{
    tl_guid g;
    memcpy(g.b, p, sizeof(g.b));
    return g;
}
