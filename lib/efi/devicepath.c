/* Device paths (UEFI 2.10, 10.3 "Device Path Nodes") decoded to their text
 * form (10.6.1 "Device Node Text Representation"), as EDK2's
 * DevicePathToText (MdePkg/Library/UefiDevicePathLib) prints them with
 * DisplayOnly = FALSE and AllowShortcuts = FALSE, so the strings match what
 * firmware setup screens, the UEFI shell and bootmgr tools show.
 *
 * A device path is a sequence of nodes, each Type u8, SubType u8, Length u16
 * (the whole node, header included, so >= 4). Decoding stops at the first
 * End Entire node (0x7f/0xff); End Instance (0x7f/0x01) separates instances
 * and prints ",". A path that simply runs out without an End node is still
 * decoded: some firmware measures such paths. Bytes after End Entire are not
 * looked at (a load option's FilePathList may hold further device paths).
 *
 * Every node's Length is checked before the node is read: < 4 or past the
 * end of the buffer is -EBADMSG with the node's offset. A node of a known
 * type that is too short for that type's fields is also -EBADMSG (EDK2
 * would read past it). Unknown nodes are printed generically, as EDK2 does:
 * "HardwarePath(sub,hex)", "AcpiPath(...)", "Msg(...)", "MediaPath(...)",
 * "BbsPath(...)" for the five defined types, "Path(type,sub,hex)" otherwise.
 *
 * Departures from EDK2, on purpose:
 *  - after End Instance's "," no "/" is added (EDK2 tests Str[Count], the
 *    terminator, instead of the last character, and prints ",/"); the spec
 *    separates instances with "," alone.
 *  - strings inside nodes (file paths, URI, BBS description, AcpiEx) are cut
 *    at the node's end when they lack a terminator instead of being read
 *    past it. */
#include "tl/efi.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl/util.h"

#define NODE_HEADER_SIZE 4

enum {
    DP_HARDWARE = 0x01,
    DP_ACPI = 0x02,
    DP_MESSAGING = 0x03,
    DP_MEDIA = 0x04,
    DP_BBS = 0x05,
    DP_END = 0x7f,
};
#define DP_END_INSTANCE 0x01
#define DP_END_ENTIRE   0xff
#define DP_MEDIA_FILE   0x04

/* ---- a growing string; errors are sticky and checked once at the end ---- */

struct str {
    char *s;
    size_t len, cap;
    bool oom;
};

static bool str_reserve(struct str *s, size_t more)
{
    if (s->oom)
        return false;
    if (s->len + more + 1 <= s->cap)
        return true;
    size_t cap = s->cap ? s->cap : 64;
    while (cap < s->len + more + 1)
        cap *= 2;
    char *n = realloc(s->s, cap);
    if (!n) {
        s->oom = true;
        return false;
    }
    s->s = n;
    s->cap = cap;
    return true;
}

static void str_printf(struct str *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void str_printf(struct str *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !str_reserve(s, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(s->s + s->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    s->len += (size_t)n;
}

static void str_hex(struct str *s, const uint8_t *p, size_t n)
{
    if (!str_reserve(s, 2 * n))
        return;
    tl_hex_encode(p, n, s->s + s->len);
    s->len += 2 * n;
}

static void str_guid(struct str *s, const uint8_t *p)
{
    tl_guid g = tl_guid_read(p);
    char text[37];
    tl_guid_format(&g, text);
    str_printf(s, "%s", text);
}

/* Appends an 8-bit string of at most max bytes, stopping at NUL. */
static void str_ascii(struct str *s, const uint8_t *p, size_t max)
{
    size_t n = strnlen((const char *)p, max);
    str_printf(s, "%.*s", (int)n, (const char *)p);
}

/* ---- node walker ---- */

struct node {
    uint8_t type, subtype;
    uint16_t len;
    const uint8_t *p;
};

static int node_read(const uint8_t *buf, size_t len, size_t off, size_t idx, struct node *n,
                     struct tl_error *err)
{
    size_t left = len - off;
    if (left < NODE_HEADER_SIZE)
        return tl_error_set(err, -EBADMSG, off,
                            "device path node %zu: %zu bytes left, shorter than a node header", idx,
                            left);
    const uint8_t *p = buf + off;
    uint16_t nlen = tl_le16(p + 2);
    if (nlen < NODE_HEADER_SIZE)
        return tl_error_set(err, -EBADMSG, off,
                            "device path node %zu (type 0x%02x, subtype 0x%02x): Length %u, less "
                            "than the 4-byte header",
                            idx, p[0], p[1], nlen);
    if (nlen > left)
        return tl_error_set(err, -EBADMSG, off,
                            "device path node %zu (type 0x%02x, subtype 0x%02x): Length %u "
                            "overruns the %zu bytes left",
                            idx, p[0], p[1], nlen, left);
    *n = (struct node){.type = p[0], .subtype = p[1], .len = nlen, .p = p};
    return 0;
}

static bool node_is_end_entire(const struct node *n)
{
    return n->type == DP_END && n->subtype == DP_END_ENTIRE;
}

/* ---- one function per node type; the table below guarantees n->len >=
 * min_len before any of them runs. Offsets are from the node start. ---- */

static void text_pci(struct str *s, const struct node *n)
{
    /* UEFI 10.3.2.1: Function u8 at 4, Device u8 at 5; text is (Device,Function). */
    str_printf(s, "Pci(0x%x,0x%x)", n->p[5], n->p[4]);
}

static void text_pccard(struct str *s, const struct node *n)
{
    str_printf(s, "PcCard(0x%x)", n->p[4]);
}

static void text_memmap(struct str *s, const struct node *n)
{
    str_printf(s, "MemoryMapped(0x%x,0x%" PRIx64 ",0x%" PRIx64 ")", tl_le32(n->p + 4),
               tl_le64(n->p + 8), tl_le64(n->p + 16));
}

static void text_vendor(struct str *s, const struct node *n)
{
    const char *type = n->type == DP_HARDWARE    ? "Hw"
                       : n->type == DP_MESSAGING ? "Msg"
                       : n->type == DP_MEDIA     ? "Media"
                                                 : "?";
    str_printf(s, "Ven%s(", type);
    str_guid(s, n->p + 4);
    if (n->len > 20) {
        str_printf(s, ",");
        str_hex(s, n->p + 20, n->len - 20u);
    }
    str_printf(s, ")");
}

static void text_controller(struct str *s, const struct node *n)
{
    str_printf(s, "Ctrl(0x%x)", tl_le32(n->p + 4));
}

static void text_bmc(struct str *s, const struct node *n)
{
    str_printf(s, "BMC(0x%x,0x%" PRIx64 ")", n->p[4], tl_le64(n->p + 5));
}

static void text_acpi(struct str *s, const struct node *n)
{
    uint32_t hid = tl_le32(n->p + 4), uid = tl_le32(n->p + 8);
    if ((hid & 0xffff) != 0x41d0) { /* not a compressed "PNP" EISA id */
        str_printf(s, "Acpi(0x%08x,0x%x)", hid, uid);
        return;
    }
    switch (hid >> 16) {
    case 0x0a03:
        str_printf(s, "PciRoot(0x%x)", uid);
        break;
    case 0x0a08:
        str_printf(s, "PcieRoot(0x%x)", uid);
        break;
    case 0x0604:
        str_printf(s, "Floppy(0x%x)", uid);
        break;
    case 0x0301:
        str_printf(s, "Keyboard(0x%x)", uid);
        break;
    case 0x0501:
        str_printf(s, "Serial(0x%x)", uid);
        break;
    case 0x0401:
        str_printf(s, "ParallelPort(0x%x)", uid);
        break;
    default:
        str_printf(s, "Acpi(PNP%04x,0x%x)", hid >> 16, uid);
        break;
    }
}

/* A compressed EISA id as three letters and four hex digits ("PNP0A03"). */
static void eisa_text(uint32_t id, char out[8])
{
    snprintf(out, 8, "%c%c%c%04X", (int)(((id >> 10) & 0x1f) + 'A' - 1),
             (int)(((id >> 5) & 0x1f) + 'A' - 1), (int)((id & 0x1f) + 'A' - 1),
             (unsigned)(id >> 16));
}

static void text_acpi_ex(struct str *s, const struct node *n)
{
    /* UEFI 10.3.3.2: HID, UID, CID (u32 each), then HIDSTR, UIDSTR, CIDSTR,
     * each NUL-terminated; a missing string is cut at the node's end. */
    uint32_t hid = tl_le32(n->p + 4), uid = tl_le32(n->p + 8), cid = tl_le32(n->p + 12);
    const uint8_t *end = n->p + n->len, *strs[3];
    const uint8_t *q = n->p + 16;
    size_t lens[3];
    for (int i = 0; i < 3; i++) {
        lens[i] = strnlen((const char *)q, (size_t)(end - q));
        strs[i] = q;
        q += lens[i] < (size_t)(end - q) ? lens[i] + 1 : lens[i];
    }
    char hid_text[8], cid_text[8];
    eisa_text(hid, hid_text);
    eisa_text(cid, cid_text);
    if (lens[0] == 0 && lens[2] == 0 && uid == 0)
        str_printf(s, "AcpiExp(%s,%s,%.*s)", hid_text, cid_text, (int)lens[1],
                   (const char *)strs[1]);
    else
        str_printf(s, "AcpiEx(%s,%s,0x%x,%.*s,%.*s,%.*s)", hid_text, cid_text, uid, (int)lens[0],
                   (const char *)strs[0], (int)lens[2], (const char *)strs[2], (int)lens[1],
                   (const char *)strs[1]);
}

static void text_acpi_adr(struct str *s, const struct node *n)
{
    str_printf(s, "AcpiAdr(0x%x", tl_le32(n->p + 4));
    for (size_t o = 8; o + 4 <= n->len; o += 4)
        str_printf(s, ",0x%x", tl_le32(n->p + o));
    str_printf(s, ")");
}

static void text_atapi(struct str *s, const struct node *n)
{
    str_printf(s, "Ata(%s,%s,0x%x)", n->p[4] == 1 ? "Secondary" : "Primary",
               n->p[5] == 1 ? "Slave" : "Master", tl_le16(n->p + 6));
}

static void text_scsi(struct str *s, const struct node *n)
{
    str_printf(s, "Scsi(0x%x,0x%x)", tl_le16(n->p + 4), tl_le16(n->p + 6));
}

static void text_fibre(struct str *s, const struct node *n)
{
    str_printf(s, "Fibre(0x%" PRIx64 ",0x%" PRIx64 ")", tl_le64(n->p + 8), tl_le64(n->p + 16));
}

static void text_1394(struct str *s, const struct node *n)
{
    str_printf(s, "I1394(%016" PRIx64 ")", tl_le64(n->p + 8));
}

static void text_usb(struct str *s, const struct node *n)
{
    str_printf(s, "USB(0x%x,0x%x)", n->p[4], n->p[5]);
}

static void text_i2o(struct str *s, const struct node *n)
{
    str_printf(s, "I2O(0x%x)", tl_le32(n->p + 4));
}

static void text_usb_class(struct str *s, const struct node *n)
{
    static const struct {
        uint8_t class;
        const char *name;
    } classes[] = {
        {1, "UsbAudio"},      {2, "UsbCDCControl"},  {3, "UsbHID"},          {6, "UsbImage"},
        {7, "UsbPrinter"},    {8, "UsbMassStorage"}, {9, "UsbHub"},          {10, "UsbCDCData"},
        {11, "UsbSmartCard"}, {14, "UsbVideo"},      {220, "UsbDiagnostic"}, {224, "UsbWireless"},
    };
    static const char *const reserved_subclasses[] = {NULL, "UsbDeviceFirmwareUpdate",
                                                      "UsbIrdaBridge", "UsbTestAndMeasurement"};
    uint16_t vid = tl_le16(n->p + 4), pid = tl_le16(n->p + 6);
    uint8_t class = n->p[8], subclass = n->p[9], protocol = n->p[10];

    for (size_t i = 0; i < TL_ARRAY_SIZE(classes); i++)
        if (classes[i].class == class) {
            str_printf(s, "%s(0x%x,0x%x,0x%x,0x%x)", classes[i].name, vid, pid, subclass, protocol);
            return;
        }
    if (class == 254 && subclass >= 1 && subclass <= 3) {
        str_printf(s, "%s(0x%x,0x%x,0x%x)", reserved_subclasses[subclass], vid, pid, protocol);
        return;
    }
    str_printf(s, "UsbClass(0x%x,0x%x,0x%x,0x%x,0x%x)", vid, pid, class, subclass, protocol);
}

static void text_unit(struct str *s, const struct node *n)
{
    str_printf(s, "Unit(0x%x)", n->p[4]);
}

static void text_sata(struct str *s, const struct node *n)
{
    str_printf(s, "Sata(0x%x,0x%x,0x%x)", tl_le16(n->p + 4), tl_le16(n->p + 6), tl_le16(n->p + 8));
}

static void text_mac(struct str *s, const struct node *n)
{
    /* MacAddress[32] at 4, IfType at 36; Ethernet (0 or 1) uses 6 bytes. */
    uint8_t if_type = n->p[36];
    str_printf(s, "MAC(");
    str_hex(s, n->p + 4, if_type <= 1 ? 6 : 32);
    str_printf(s, ",0x%x)", if_type);
}

static void ipv4_text(struct str *s, const uint8_t *a)
{
    str_printf(s, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
}

static void ipv6_text(struct str *s, const uint8_t *a)
{
    for (int i = 0; i < 16; i += 2)
        str_printf(s, "%s%02x%02x", i ? ":" : "", a[i], a[i + 1]);
}

static void protocol_text(struct str *s, uint16_t protocol)
{
    if (protocol == 6)
        str_printf(s, "TCP");
    else if (protocol == 17)
        str_printf(s, "UDP");
    else
        str_printf(s, "0x%x", protocol);
}

static void text_ipv4(struct str *s, const struct node *n)
{
    /* UEFI 10.3.4.12: Local(4) Remote(4) LocalPort RemotePort Protocol
     * StaticIP(1), then (UEFI >= 2.0, 27 bytes) Gateway(4) SubnetMask(4). */
    str_printf(s, "IPv4(");
    ipv4_text(s, n->p + 8);
    str_printf(s, ",");
    protocol_text(s, tl_le16(n->p + 16));
    str_printf(s, ",%s,", n->p[18] ? "Static" : "DHCP");
    ipv4_text(s, n->p + 4);
    if (n->len == 27) {
        str_printf(s, ",");
        ipv4_text(s, n->p + 19);
        str_printf(s, ",");
        ipv4_text(s, n->p + 23);
    }
    str_printf(s, ")");
}

static void text_ipv6(struct str *s, const struct node *n)
{
    /* UEFI 10.3.4.13: Local(16) Remote(16) LocalPort RemotePort Protocol
     * IPAddressOrigin(1), then (60 bytes) PrefixLength(1) Gateway(16). */
    static const char *const origins[] = {"Static", "StatelessAutoConfigure",
                                          "StatefulAutoConfigure"};
    str_printf(s, "IPv6(");
    ipv6_text(s, n->p + 20);
    str_printf(s, ",");
    protocol_text(s, tl_le16(n->p + 40));
    str_printf(s, ",%s,", origins[n->p[42] < 2 ? n->p[42] : 2]);
    ipv6_text(s, n->p + 4);
    if (n->len == 60) {
        str_printf(s, ",0x%x,", n->p[43]);
        ipv6_text(s, n->p + 44);
    }
    str_printf(s, ")");
}

static void text_uart(struct str *s, const struct node *n)
{
    static const char parity[] = "DNEOMS";
    static const char *const stop[] = {"D", "1", "1.5", "2"};
    uint64_t baud = tl_le64(n->p + 8);
    uint8_t data_bits = n->p[16], par = n->p[17], stop_bits = n->p[18];

    if (baud == 0)
        str_printf(s, "Uart(DEFAULT,");
    else
        str_printf(s, "Uart(%" PRIu64 ",", baud);
    if (data_bits == 0)
        str_printf(s, "DEFAULT,");
    else
        str_printf(s, "%u,", data_bits);
    str_printf(s, "%c,%s)", par < 6 ? parity[par] : 'x', stop_bits < 4 ? stop[stop_bits] : "x");
}

static void text_vlan(struct str *s, const struct node *n)
{
    str_printf(s, "Vlan(%u)", tl_le16(n->p + 4));
}

static void text_nvme(struct str *s, const struct node *n)
{
    /* NamespaceId u32 at 4, IEEE EUI-64 at 8, printed most significant first. */
    const uint8_t *e = n->p + 8;
    str_printf(s, "NVMe(0x%x,%02x-%02x-%02x-%02x-%02x-%02x-%02x-%02x)", tl_le32(n->p + 4), e[7],
               e[6], e[5], e[4], e[3], e[2], e[1], e[0]);
}

static void text_uri(struct str *s, const struct node *n)
{
    str_printf(s, "Uri(");
    str_ascii(s, n->p + 4, n->len - 4u);
    str_printf(s, ")");
}

static void text_ufs(struct str *s, const struct node *n)
{
    str_printf(s, "UFS(0x%x,0x%x)", n->p[4], n->p[5]);
}

static void text_sd(struct str *s, const struct node *n)
{
    str_printf(s, "SD(0x%x)", n->p[4]);
}

static void text_emmc(struct str *s, const struct node *n)
{
    str_printf(s, "eMMC(0x%x)", n->p[4]);
}

static void text_hd(struct str *s, const struct node *n)
{
    /* UEFI 10.3.5.1: PartitionNumber u32, PartitionStart u64, PartitionSize
     * u64, Signature[16], MBRType u8, SignatureType u8 (1 MBR, 2 GPT). */
    uint32_t part = tl_le32(n->p + 4);
    switch (n->p[41]) {
    case 1:
        str_printf(s, "HD(%u,MBR,0x%08x,", part, tl_le32(n->p + 24));
        break;
    case 2:
        str_printf(s, "HD(%u,GPT,", part);
        str_guid(s, n->p + 24);
        str_printf(s, ",");
        break;
    default:
        str_printf(s, "HD(%u,%u,0,", part, n->p[41]);
        break;
    }
    str_printf(s, "0x%" PRIx64 ",0x%" PRIx64 ")", tl_le64(n->p + 8), tl_le64(n->p + 16));
}

static void text_cdrom(struct str *s, const struct node *n)
{
    str_printf(s, "CDROM(0x%x,0x%" PRIx64 ",0x%" PRIx64 ")", tl_le32(n->p + 4), tl_le64(n->p + 8),
               tl_le64(n->p + 16));
}

static void text_file(struct str *s, const struct node *n)
{
    _cleanup_free_ char *path = tl_utf16le_to_utf8(n->p + 4, (n->len - 4u) / 2);
    if (!path) {
        s->oom = true;
        return;
    }
    str_printf(s, "%s", path);
}

static void text_media_protocol(struct str *s, const struct node *n)
{
    str_printf(s, "Media(");
    str_guid(s, n->p + 4);
    str_printf(s, ")");
}

static void text_fv_file(struct str *s, const struct node *n)
{
    str_printf(s, "FvFile(");
    str_guid(s, n->p + 4);
    str_printf(s, ")");
}

static void text_fv(struct str *s, const struct node *n)
{
    str_printf(s, "Fv(");
    str_guid(s, n->p + 4);
    str_printf(s, ")");
}

static void text_offset(struct str *s, const struct node *n)
{
    str_printf(s, "Offset(0x%" PRIx64 ",0x%" PRIx64 ")", tl_le64(n->p + 8), tl_le64(n->p + 16));
}

static void text_bbs(struct str *s, const struct node *n)
{
    static const char *const types[] = {NULL, "Floppy", "HD", "CDROM", "PCMCIA", "USB", "Network"};
    uint16_t type = tl_le16(n->p + 4);
    if (type >= 1 && type <= 6)
        str_printf(s, "BBS(%s,", types[type]);
    else
        str_printf(s, "BBS(0x%x,", type);
    str_ascii(s, n->p + 8, n->len - 8u);
    str_printf(s, ",0x%x)", tl_le16(n->p + 6));
}

static const struct node_type {
    uint8_t type, subtype;
    uint16_t min_len;
    const char *name;
    void (*text)(struct str *s, const struct node *n);
} node_types[] = {
    {DP_HARDWARE, 0x01, 6, "Pci", text_pci},
    {DP_HARDWARE, 0x02, 5, "PcCard", text_pccard},
    {DP_HARDWARE, 0x03, 24, "MemoryMapped", text_memmap},
    {DP_HARDWARE, 0x04, 20, "VenHw", text_vendor},
    {DP_HARDWARE, 0x05, 8, "Ctrl", text_controller},
    {DP_HARDWARE, 0x06, 13, "BMC", text_bmc},
    {DP_ACPI, 0x01, 12, "Acpi", text_acpi},
    {DP_ACPI, 0x02, 16, "AcpiEx", text_acpi_ex},
    {DP_ACPI, 0x03, 8, "AcpiAdr", text_acpi_adr},
    {DP_MESSAGING, 0x01, 8, "Ata", text_atapi},
    {DP_MESSAGING, 0x02, 8, "Scsi", text_scsi},
    {DP_MESSAGING, 0x03, 24, "Fibre", text_fibre},
    {DP_MESSAGING, 0x04, 16, "I1394", text_1394},
    {DP_MESSAGING, 0x05, 6, "USB", text_usb},
    {DP_MESSAGING, 0x06, 8, "I2O", text_i2o},
    {DP_MESSAGING, 0x0a, 20, "VenMsg", text_vendor},
    {DP_MESSAGING, 0x0b, 37, "MAC", text_mac},
    {DP_MESSAGING, 0x0c, 19, "IPv4", text_ipv4},
    {DP_MESSAGING, 0x0d, 43, "IPv6", text_ipv6},
    {DP_MESSAGING, 0x0e, 19, "Uart", text_uart},
    {DP_MESSAGING, 0x0f, 11, "UsbClass", text_usb_class},
    {DP_MESSAGING, 0x11, 5, "Unit", text_unit},
    {DP_MESSAGING, 0x12, 10, "Sata", text_sata},
    {DP_MESSAGING, 0x14, 6, "Vlan", text_vlan},
    {DP_MESSAGING, 0x17, 16, "NVMe", text_nvme},
    {DP_MESSAGING, 0x18, 4, "Uri", text_uri},
    {DP_MESSAGING, 0x19, 6, "UFS", text_ufs},
    {DP_MESSAGING, 0x1a, 5, "SD", text_sd},
    {DP_MESSAGING, 0x1d, 5, "eMMC", text_emmc},
    {DP_MEDIA, 0x01, 42, "HD", text_hd},
    {DP_MEDIA, 0x02, 24, "CDROM", text_cdrom},
    {DP_MEDIA, 0x03, 20, "VenMedia", text_vendor},
    {DP_MEDIA, DP_MEDIA_FILE, 4, "file path", text_file},
    {DP_MEDIA, 0x05, 20, "Media", text_media_protocol},
    {DP_MEDIA, 0x06, 20, "FvFile", text_fv_file},
    {DP_MEDIA, 0x07, 20, "Fv", text_fv},
    {DP_MEDIA, 0x08, 24, "Offset", text_offset},
    {DP_BBS, 0x01, 8, "BBS", text_bbs},
};

static void text_generic(struct str *s, const struct node *n)
{
    static const char *const type_names[] = {NULL,  "HardwarePath", "AcpiPath",
                                             "Msg", "MediaPath",    "BbsPath"};
    if (n->type >= DP_HARDWARE && n->type <= DP_BBS)
        str_printf(s, "%s(%u", type_names[n->type], n->subtype);
    else
        str_printf(s, "Path(%u,%u", n->type, n->subtype);
    if (n->len > NODE_HEADER_SIZE) {
        str_printf(s, ",");
        str_hex(s, n->p + NODE_HEADER_SIZE, n->len - (size_t)NODE_HEADER_SIZE);
    }
    str_printf(s, ")");
}

static int node_text(struct str *s, const struct node *n, size_t off, size_t idx,
                     struct tl_error *err)
{
    for (size_t i = 0; i < TL_ARRAY_SIZE(node_types); i++) {
        const struct node_type *t = &node_types[i];
        if (t->type != n->type || t->subtype != n->subtype)
            continue;
        if (n->len < t->min_len)
            return tl_error_set(err, -EBADMSG, off,
                                "device path node %zu: %s node Length %u, needs at least %u", idx,
                                t->name, n->len, t->min_len);
        t->text(s, n);
        return 0;
    }
    text_generic(s, n);
    return 0;
}

int tl_device_path_to_text(const uint8_t *buf, size_t len, char **text, struct tl_error *err)
{
    struct str s = {0};
    int r;

    for (size_t off = 0, idx = 0; off < len; idx++) {
        struct node n;
        r = node_read(buf, len, off, idx, &n, err);
        if (r < 0)
            goto fail;
        if (node_is_end_entire(&n))
            break;
        if (n.type == DP_END && n.subtype == DP_END_INSTANCE) {
            str_printf(&s, ",");
        } else {
            if (s.len > 0 && s.s[s.len - 1] != ',')
                str_printf(&s, "/");
            r = node_text(&s, &n, off, idx, err);
            if (r < 0)
                goto fail;
        }
        off += n.len;
    }

    if (!str_reserve(&s, 0)) {
        r = tl_error_set_nopos(err, -ENOMEM, "out of memory decoding a device path");
        goto fail;
    }
    s.s[s.len] = '\0';
    *text = s.s;
    return 0;

fail:
    free(s.s);
    return r;
}

int tl_device_path_file(const uint8_t *buf, size_t len, char **path, struct tl_error *err)
{
    /* UEFI 10.3.5.4: a file path may be split over consecutive file path
     * nodes; they are one path, with a "\" between pieces where neither
     * piece supplies it. Only the last run of file path nodes counts (an
     * earlier run would be a path to something else, e.g. a container). */
    _cleanup_free_ char *acc = NULL;
    size_t acc_len = 0, acc_cap = 0;
    bool in_run = false;
    int r;

    for (size_t off = 0, idx = 0; off < len; idx++) {
        struct node n;
        r = node_read(buf, len, off, idx, &n, err);
        if (r < 0)
            return r;
        if (node_is_end_entire(&n))
            break;
        off += n.len;
        if (n.type != DP_MEDIA || n.subtype != DP_MEDIA_FILE) {
            in_run = false;
            continue;
        }

        _cleanup_free_ char *piece = tl_utf16le_to_utf8(n.p + 4, (n.len - 4u) / 2);
        if (!piece)
            return tl_error_set_nopos(err, -ENOMEM, "out of memory decoding a file path");
        if (!in_run) {
            acc_len = 0;
            in_run = true;
        }
        const char *add = piece;
        bool sep = false;
        if (acc_len > 0 && add[0] != '\0') {
            bool acc_ends = acc[acc_len - 1] == '\\';
            if (acc_ends && add[0] == '\\')
                add++;
            else if (!acc_ends && add[0] != '\\')
                sep = true;
        }
        size_t add_len = strlen(add), need = acc_len + sep + add_len + 1;
        /* Doubling: a path of many one-letter nodes grows in O(length),
         * whatever realloc does with a block it cannot extend in place. */
        if (need > acc_cap) {
            size_t cap = acc_cap ? acc_cap : 64;
            while (cap < need)
                cap *= 2;
            char *grown = realloc(acc, cap);
            if (!grown)
                return tl_error_set_nopos(err, -ENOMEM, "out of memory decoding a file path");
            acc = grown;
            acc_cap = cap;
        }
        if (sep)
            acc[acc_len++] = '\\';
        memcpy(acc + acc_len, add, add_len + 1);
        acc_len += add_len;
    }

    *path = TL_TAKE_PTR(acc);
    return 0;
}
