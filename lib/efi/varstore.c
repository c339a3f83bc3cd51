/* OVMF/EDK2 non-volatile variable stores (OVMF_VARS*.fd): read the live
 * variables, and write a new image from a template with some variables set
 * or removed.
 *
 * Layout (offsets from the start of the file, all little-endian):
 *
 *   EFI_FIRMWARE_VOLUME_HEADER (PI 1.8 vol. 3, 3.2.1)
 *     0 ZeroVector[16]  16 FileSystemGuid (EFI_SYSTEM_NV_DATA_FV_GUID)
 *    32 FvLength u64    40 Signature "_FVH"   44 Attributes u32
 *    48 HeaderLength u16  50 Checksum u16  52 ExtHeaderOffset u16
 *    54 Reserved u8     55 Revision u8 (2)
 *    56 BlockMap[] {NumBlocks u32, Length u32} ending with {0, 0}
 *   VARIABLE_STORE_HEADER at HeaderLength (EDK2 MdeModulePkg/Include/Guid/
 *   VariableFormat.h): Signature GUID (gEfiAuthenticatedVariableGuid or
 *   gEfiVariableGuid), Size u32 (this header included), Format u8 (0x5a),
 *   State u8 (0xfe), Reserved u16, Reserved1 u32: 28 bytes.
 *   Variables from there, each header at HEADER_ALIGN (4 bytes):
 *     AUTHENTICATED_VARIABLE_HEADER (60 bytes): StartId u16 (0x55aa),
 *       State u8, Reserved u8, Attributes u32, MonotonicCount u64,
 *       TimeStamp EFI_TIME (16), PubKeyIndex u32, NameSize u32, DataSize u32,
 *       VendorGuid
 *     VARIABLE_HEADER (32 bytes, gEfiVariableGuid stores): the same without
 *       MonotonicCount, TimeStamp and PubKeyIndex
 *     then NameSize bytes of UTF-16LE name with its NUL, DataSize bytes of data.
 *   The variables end at the first StartId that is not 0x55aa; the rest of
 *   the store is erased flash (0xff). After the store come the fault-tolerant
 *   write working block and spare area, which are copied through untouched.
 *
 * Which variables are live follows EDK2's FindVariableEx (MdeModulePkg/
 * Universal/Variable/RuntimeDxe/VariableParsing.c): flash bits are only ever
 * cleared, so a variable's State goes VAR_HEADER_VALID_ONLY (0x7f) ->
 * VAR_ADDED (0x3f) -> & VAR_IN_DELETED_TRANSITION (0x3e) -> & VAR_DELETED
 * (0x3c or 0x3d). Only 0x3f and 0x3e are live, and a 0x3e copy (the old
 * value while an update is in progress) only when no 0x3f copy of the same
 * name and vendor exists. Two live copies that EDK2 would have to choose
 * between are an error here (fail closed), as is anything but 0xff in the
 * free space: EDK2 reclaims such a store at boot, so what we would read is
 * not what the firmware would use.
 *
 * The FV header and the store header are not changed by writing, so the
 * header checksum stays valid; the FV header is validated as OVMF's
 * QemuFlashFvbServicesRuntimeDxe (ValidateFvHeader) does, because OVMF
 * silently reformats (empties) a store whose headers it rejects. */
#include "tl/varstore.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tl/util.h"

#define FV_HEADER_FIXED_SIZE 56 /* up to BlockMap */
#define FV_BLOCK_MAP_ENTRY   8
#define FV_SIGNATURE         0x4856465f /* "_FVH" */
#define FV_REVISION          2          /* EFI_FVH_REVISION */
#define STORE_HEADER_SIZE    28
#define STORE_FORMATTED      0x5a
#define STORE_HEALTHY        0xfe
#define AUTH_VAR_HEADER_SIZE 60
#define VAR_HEADER_SIZE      32
#define VARIABLE_DATA        0x55aa
#define VAR_ADDED            0x3f
#define VAR_IN_DELETED_TRANS 0xfe
#define VAR_ADDED_IN_TRANSIT (VAR_ADDED & VAR_IN_DELETED_TRANS) /* 0x3e */
#define HEADER_ALIGNMENT     4
#define EFI_TIME_SIZE        16
#define VALID_STORED_ATTRIBUTES                                                                    \
    (TL_EFI_VARIABLE_NON_VOLATILE | TL_EFI_VARIABLE_BOOTSERVICE_ACCESS |                           \
     TL_EFI_VARIABLE_RUNTIME_ACCESS | 0x08 /* HARDWARE_ERROR_RECORD */ |                           \
     0x10 /* AUTHENTICATED_WRITE_ACCESS (deprecated) */ |                                          \
     TL_EFI_VARIABLE_TIME_BASED_AUTHENTICATED_WRITE_ACCESS)

/* PI 1.8 vol. 3, 3.2.2 (EFI_SYSTEM_NV_DATA_FV_GUID). */
static const tl_guid nv_data_fv_guid =
    TL_GUID_INIT(0xfff12b8d, 0x7696, 0x4c8b, 0xa9, 0x85, 0x27, 0x47, 0x07, 0x5b, 0x4f, 0x50);
/* EDK2 MdeModulePkg/Include/Guid/VariableFormat.h. */
static const tl_guid auth_variable_guid =
    TL_GUID_INIT(0xaaf32c78, 0x947b, 0x439a, 0xa1, 0x80, 0x2e, 0x14, 0x4e, 0xc3, 0x77, 0x92);
static const tl_guid variable_guid =
    TL_GUID_INIT(0xddcf3616, 0x3275, 0x4164, 0x98, 0xb6, 0xfe, 0x85, 0x70, 0x7f, 0xfe, 0x7d);

static size_t header_align(size_t off)
{
    return (off + HEADER_ALIGNMENT - 1) & ~(size_t)(HEADER_ALIGNMENT - 1);
}

static size_t var_header_size(bool authenticated)
{
    return authenticated ? AUTH_VAR_HEADER_SIZE : VAR_HEADER_SIZE;
}

static void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    put_le16(p, (uint16_t)v);
    put_le16(p + 2, (uint16_t)(v >> 16));
}

static void put_le64(uint8_t *p, uint64_t v)
{
    put_le32(p, (uint32_t)v);
    put_le32(p + 4, (uint32_t)(v >> 32));
}

/* ---- reading ---- */

/* Validates the firmware volume header; gives HeaderLength and FvLength. */
static int parse_fv_header(const uint8_t *buf, size_t len, size_t *header_len, size_t *fv_len,
                           struct tl_error *err)
{
    if (len < FV_HEADER_FIXED_SIZE)
        return tl_error_set(err, -EBADMSG, 0,
                            "firmware volume header: file has %zu bytes, the header needs %d", len,
                            FV_HEADER_FIXED_SIZE);
    if (tl_le32(buf + 40) != FV_SIGNATURE)
        return tl_error_set(err, -EBADMSG, 40, "firmware volume header: no \"_FVH\" signature");

    tl_guid fs = tl_guid_read(buf + 16);
    if (!tl_guid_equal(&fs, &nv_data_fv_guid)) {
        char text[37];
        tl_guid_format(&fs, text);
        return tl_error_set(err, -EBADMSG, 16,
                            "firmware volume header: FileSystemGuid %s is not "
                            "EFI_SYSTEM_NV_DATA_FV_GUID",
                            text);
    }
    if (buf[55] != FV_REVISION)
        return tl_error_set(err, -EBADMSG, 55, "firmware volume header: Revision %u, expected %d",
                            buf[55], FV_REVISION);

    size_t hlen = tl_le16(buf + 48);
    if (hlen < FV_HEADER_FIXED_SIZE + 2 * FV_BLOCK_MAP_ENTRY || hlen % 2 != 0)
        return tl_error_set(err, -EBADMSG, 48,
                            "firmware volume header: HeaderLength %zu is odd or too short for "
                            "a block map",
                            hlen);
    if (hlen > len)
        return tl_error_set(err, -EBADMSG, 48,
                            "firmware volume header: HeaderLength %zu overruns the %zu-byte file",
                            hlen, len);

    /* PI vol. 3, 3.2.1: the 16-bit sum of the whole header is zero. */
    uint16_t sum = 0;
    for (size_t i = 0; i < hlen; i += 2)
        sum = (uint16_t)(sum + tl_le16(buf + i));
    if (sum != 0)
        return tl_error_set(err, -EBADMSG, 50,
                            "firmware volume header: checksum does not verify (sum 0x%04x)", sum);

    uint64_t fvlen = tl_le64(buf + 32);
    if (fvlen < hlen || fvlen > len)
        return tl_error_set(err, -EBADMSG, 32,
                            "firmware volume header: FvLength %llu outside %zu..%zu (header "
                            "to file size)",
                            (unsigned long long)fvlen, hlen, len);

    /* The block map must tile the volume and end exactly at HeaderLength. */
    uint64_t covered = 0;
    size_t off = FV_HEADER_FIXED_SIZE;
    for (;;) {
        if (hlen - off < FV_BLOCK_MAP_ENTRY)
            return tl_error_set(err, -EBADMSG, off,
                                "firmware volume header: block map has no {0, 0} terminator "
                                "within HeaderLength %zu",
                                hlen);
        uint32_t n = tl_le32(buf + off), blen = tl_le32(buf + off + 4);
        off += FV_BLOCK_MAP_ENTRY;
        if (n == 0 && blen == 0)
            break;
        if (n == 0 || blen == 0)
            return tl_error_set(err, -EBADMSG, off - FV_BLOCK_MAP_ENTRY,
                                "firmware volume header: block map entry {%u, %u} is empty", n,
                                blen);
        uint64_t size = (uint64_t)n * blen; /* < 2^64: both are 32-bit */
        if (size > fvlen - covered)
            return tl_error_set(err, -EBADMSG, off - FV_BLOCK_MAP_ENTRY,
                                "firmware volume header: block map covers more than FvLength "
                                "%llu",
                                (unsigned long long)fvlen);
        covered += size;
    }
    if (off != hlen)
        return tl_error_set(err, -EBADMSG, off,
                            "firmware volume header: block map ends at %zu, HeaderLength is %zu",
                            off, hlen);
    if (covered != fvlen)
        return tl_error_set(err, -EBADMSG, FV_HEADER_FIXED_SIZE,
                            "firmware volume header: block map covers %llu bytes, FvLength is "
                            "%llu",
                            (unsigned long long)covered, (unsigned long long)fvlen);

    *header_len = hlen;
    *fv_len = (size_t)fvlen;
    return 0;
}

/* A variable read from the store, with what deciding liveness needs. */
struct candidate {
    struct tl_varstore_var var;
    uint8_t state;
    bool drop;
};

static bool same_variable(const struct tl_varstore_var *a, const struct tl_varstore_var *b)
{
    return tl_guid_equal(&a->vendor, &b->vendor) && a->name_len == b->name_len &&
           memcmp(a->name_utf16, b->name_utf16, 2 * a->name_len) == 0;
}

static int candidate_cmp(const void *pa, const void *pb)
{
    const struct candidate *a = *(const struct candidate *const *)pa;
    const struct candidate *b = *(const struct candidate *const *)pb;
    int r = memcmp(a->var.vendor.b, b->var.vendor.b, sizeof(a->var.vendor.b));
    if (r != 0)
        return r;
    if (a->var.name_len != b->var.name_len)
        return a->var.name_len < b->var.name_len ? -1 : 1;
    r = memcmp(a->var.name_utf16, b->var.name_utf16, 2 * a->var.name_len);
    if (r != 0)
        return r;
    /* Store order within a name, so that errors name the first offending copy. */
    return a->var.offset < b->var.offset ? -1 : a->var.offset > b->var.offset;
}

/* Drops 0x3e copies that a 0x3f copy supersedes; fails on two copies EDK2
 * would have to choose between. Sorting keeps this O(n log n) on hostile
 * stores with thousands of tiny variables. */
static int resolve_duplicates(struct candidate *cands, size_t n, struct tl_error *err)
{
    if (n < 2)
        return 0;
    _cleanup_free_ struct candidate **sorted = calloc(n, sizeof(*sorted));
    if (!sorted)
        return tl_error_set_nopos(err, -ENOMEM, "variable store: out of memory");
    for (size_t i = 0; i < n; i++)
        sorted[i] = &cands[i];
    qsort(sorted, n, sizeof(*sorted), candidate_cmp);

    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && same_variable(&sorted[i]->var, &sorted[j]->var))
            j++;
        size_t added = 0, transit = 0;
        const struct candidate *second = NULL;
        for (size_t k = i; k < j; k++) {
            size_t *count = sorted[k]->state == VAR_ADDED ? &added : &transit;
            if (++*count == 2)
                second = sorted[k];
        }
        if (added > 1 || (added == 0 && transit > 1))
            return tl_error_set(err, -EBADMSG, second->var.offset,
                                "variable at offset %zu: a second live copy (State 0x%02x) of a "
                                "variable already in the store",
                                second->var.offset, second->state);
        if (added == 1)
            for (size_t k = i; k < j; k++)
                sorted[k]->drop = sorted[k]->state != VAR_ADDED;
        i = j;
    }
    return 0;
}

/* Checks a live variable's name: whole UTF-16 units ending in its only NUL. */
static int check_name(const uint8_t *buf, size_t off, size_t hdr, uint32_t name_size,
                      struct tl_error *err)
{
    if (name_size < 2 || name_size % 2 != 0)
        return tl_error_set(err, -EBADMSG, off,
                            "variable at offset %zu: NameSize %u is not a NUL-terminated "
                            "UTF-16 name",
                            off, name_size);
    const uint8_t *name = buf + off + hdr;
    for (size_t i = 0; i + 2 < name_size; i += 2)
        if (tl_le16(name + i) == 0)
            return tl_error_set(err, -EBADMSG, off + hdr + i,
                                "variable at offset %zu: name has a NUL before its end", off);
    if (tl_le16(name + name_size - 2) != 0)
        return tl_error_set(err, -EBADMSG, off + hdr + name_size - 2,
                            "variable at offset %zu: name is not NUL-terminated", off);
    return 0;
}

/* Walks the variables of the store; every copy whose State is 0x3f or 0x3e
 * goes into *cands (growing array). Returns the offset where the walk ended
 * in *end_off. */
static int walk_variables(const uint8_t *buf, size_t store_off, size_t store_end,
                          bool authenticated, struct candidate **cands, size_t *n_cands,
                          size_t *end_off, struct tl_error *err)
{
    size_t hdr = var_header_size(authenticated);
    size_t cap = 0, n = 0;
    size_t off = header_align(store_off + STORE_HEADER_SIZE);

    while (off < store_end && store_end - off >= 2 && tl_le16(buf + off) == VARIABLE_DATA) {
        size_t room = store_end - off;
        if (room < hdr)
            return tl_error_set(err, -EBADMSG, off,
                                "variable at offset %zu: %zu-byte header overruns the store "
                                "(ends at %zu)",
                                off, hdr, store_end);
        uint8_t state = buf[off + 2];
        uint32_t name_size = tl_le32(buf + off + hdr - 24);
        uint32_t data_size = tl_le32(buf + off + hdr - 20);
        if (name_size > room - hdr)
            return tl_error_set(err, -EBADMSG, off,
                                "variable at offset %zu: NameSize %u overruns the store (%zu "
                                "bytes left after the header)",
                                off, name_size, room - hdr);
        if (data_size > room - hdr - name_size)
            return tl_error_set(err, -EBADMSG, off,
                                "variable at offset %zu: DataSize %u overruns the store (%zu "
                                "bytes left after the name)",
                                off, data_size, room - hdr - name_size);

        if (state == VAR_ADDED || state == VAR_ADDED_IN_TRANSIT) {
            int r = check_name(buf, off, hdr, name_size, err);
            if (r < 0)
                return r;
            if (n == cap) {
                size_t ncap = cap ? 2 * cap : 32;
                struct candidate *nc = reallocarray(*cands, ncap, sizeof(*nc));
                if (!nc)
                    return tl_error_set_nopos(err, -ENOMEM, "variable store: out of memory");
                *cands = nc;
                cap = ncap;
            }
            struct candidate *c = &(*cands)[n++];
            *c = (struct candidate){
                .var =
                    {
                        .vendor = tl_guid_read(buf + off + hdr - 16),
                        .name_utf16 = buf + off + hdr,
                        .name_len = name_size / 2 - 1,
                        .attributes = tl_le32(buf + off + 4),
                        .data = buf + off + hdr + name_size,
                        .data_len = data_size,
                        .offset = off,
                    },
                .state = state,
            };
            if (authenticated) {
                c->var.monotonic_count = tl_le64(buf + off + 8);
                memcpy(c->var.timestamp, buf + off + 16, EFI_TIME_SIZE);
                c->var.pubkey_index = tl_le32(buf + off + 32);
            }
        }

        /* hdr + name_size + data_size <= room, so this cannot overflow. */
        off = header_align(off + hdr + name_size + data_size);
    }
    *n_cands = n;
    *end_off = off < store_end ? off : store_end;
    return 0;
}

int tl_varstore_parse(const uint8_t *buf, size_t len, struct tl_varstore *vs, struct tl_error *err)
{
    assert(buf || len == 0);
    assert(vs);
    *vs = (struct tl_varstore){0};

    size_t hlen = 0, fv_len = 0;
    int r = parse_fv_header(buf, len, &hlen, &fv_len, err);
    if (r < 0)
        return r;

    size_t so = hlen;
    if (fv_len - so < STORE_HEADER_SIZE)
        return tl_error_set(err, -EBADMSG, so,
                            "variable store header at %zu overruns the %zu-byte firmware volume",
                            so, fv_len);
    tl_guid sig = tl_guid_read(buf + so);
    bool authenticated;
    if (tl_guid_equal(&sig, &auth_variable_guid))
        authenticated = true;
    else if (tl_guid_equal(&sig, &variable_guid))
        authenticated = false;
    else {
        char text[37];
        tl_guid_format(&sig, text);
        return tl_error_set(err, -EBADMSG, so,
                            "variable store header: Signature %s is neither "
                            "gEfiAuthenticatedVariableGuid nor gEfiVariableGuid",
                            text);
    }
    size_t store_size = tl_le32(buf + so + 16);
    if (store_size < STORE_HEADER_SIZE || store_size > fv_len - so)
        return tl_error_set(err, -EBADMSG, so + 16,
                            "variable store header: Size %zu outside %d..%zu (the firmware "
                            "volume after the header)",
                            store_size, STORE_HEADER_SIZE, fv_len - so);
    if (buf[so + 20] != STORE_FORMATTED || buf[so + 21] != STORE_HEALTHY)
        return tl_error_set(err, -EBADMSG, so + 20,
                            "variable store header: Format 0x%02x State 0x%02x, expected "
                            "formatted (0x5a) and healthy (0xfe)",
                            buf[so + 20], buf[so + 21]);

    _cleanup_free_ struct candidate *cands = NULL;
    size_t n_cands = 0, end_off = 0, store_end = so + store_size;
    r = walk_variables(buf, so, store_end, authenticated, &cands, &n_cands, &end_off, err);
    if (r < 0)
        return r;
    for (size_t i = end_off; i < store_end; i++)
        if (buf[i] != 0xff)
            return tl_error_set(err, -EBADMSG, i,
                                "variable store: byte 0x%02x at %zu in the free space after "
                                "the last variable (offset %zu) is not erased flash (0xff)",
                                buf[i], i, end_off);

    r = resolve_duplicates(cands, n_cands, err);
    if (r < 0)
        return r;

    size_t n_vars = 0;
    for (size_t i = 0; i < n_cands; i++)
        if (!cands[i].drop)
            n_vars++;
    _cleanup_free_ struct tl_varstore_var *vars = calloc(n_vars ? n_vars : 1, sizeof(*vars));
    if (!vars)
        return tl_error_set_nopos(err, -ENOMEM, "variable store: out of memory");
    for (size_t i = 0, k = 0; i < n_cands; i++)
        if (!cands[i].drop)
            vars[k++] = cands[i].var;

    *vs = (struct tl_varstore){
        .buf = buf,
        .len = len,
        .store_offset = so,
        .store_size = store_size,
        .authenticated = authenticated,
        .vars = TL_TAKE_PTR(vars),
        .n_vars = n_vars,
    };
    return 0;
}

void tl_varstore_done(struct tl_varstore *vs)
{
    if (!vs)
        return;
    free(vs->vars);
    *vs = (struct tl_varstore){0};
}

static bool name_is(const uint8_t *utf16, size_t n_units, const char *ascii)
{
    size_t n = strlen(ascii);
    if (n != n_units)
        return false;
    for (size_t i = 0; i < n; i++)
        if (tl_le16(utf16 + 2 * i) != (uint8_t)ascii[i])
            return false;
    return true;
}

const struct tl_varstore_var *tl_varstore_find(const struct tl_varstore *vs, const char *name,
                                               const tl_guid *vendor)
{
    assert(vs && name && vendor);
    for (size_t i = 0; i < vs->n_vars; i++) {
        const struct tl_varstore_var *v = &vs->vars[i];
        if (tl_guid_equal(&v->vendor, vendor) && name_is(v->name_utf16, v->name_len, name))
            return v;
    }
    return NULL;
}

/* ---- writing ---- */

/* A change's name must be non-empty 7-bit ASCII without control characters. */
static int check_change(const struct tl_varstore_change *c, size_t i, bool authenticated,
                        struct tl_error *err)
{
    if (!c->name || !c->name[0])
        return tl_error_set_nopos(err, -EINVAL, "change %zu: no variable name", i);
    for (const char *p = c->name; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            return tl_error_set_nopos(err, -EINVAL,
                                      "change %zu: variable name has a non-printable or "
                                      "non-ASCII byte 0x%02x",
                                      i, (unsigned char)*p);
    if (!c->data)
        return 0;
    /* SetVariable with no data deletes (UEFI 2.10, 8.2); a stored variable
     * always has some, so an empty set is almost certainly a caller bug. */
    if (c->data_len == 0)
        return tl_error_set_nopos(
            err, -EINVAL, "change %zu (%s): empty data; pass data NULL to remove", i, c->name);
    if (c->attributes & ~(uint32_t)VALID_STORED_ATTRIBUTES)
        return tl_error_set_nopos(err, -EINVAL,
                                  "change %zu (%s): attributes 0x%08x have bits that are not "
                                  "stored with a variable (APPEND_WRITE is a SetVariable flag)",
                                  i, c->name, c->attributes);
    uint32_t need = TL_EFI_VARIABLE_NON_VOLATILE | TL_EFI_VARIABLE_BOOTSERVICE_ACCESS;
    if ((c->attributes & need) != need)
        return tl_error_set_nopos(err, -EINVAL,
                                  "change %zu (%s): attributes 0x%08x lack NON_VOLATILE or "
                                  "BOOTSERVICE_ACCESS",
                                  i, c->name, c->attributes);
    if (!authenticated &&
        (c->attributes & (0x10 | TL_EFI_VARIABLE_TIME_BASED_AUTHENTICATED_WRITE_ACCESS)))
        return tl_error_set_nopos(err, -EINVAL,
                                  "change %zu (%s): authenticated attributes 0x%08x need an "
                                  "authenticated variable store",
                                  i, c->name, c->attributes);
    return 0;
}

static bool change_matches(const struct tl_varstore_change *c, const struct tl_varstore_var *v)
{
    return tl_guid_equal(&c->vendor, &v->vendor) && name_is(v->name_utf16, v->name_len, c->name);
}

/* One variable as it will be written. */
struct out_var {
    tl_guid vendor;
    const uint8_t *name_utf16; /* NULL: take name_ascii */
    const char *name_ascii;
    size_t name_len; /* units, without NUL */
    uint32_t attributes;
    uint64_t monotonic_count;
    const uint8_t *timestamp;
    uint32_t pubkey_index;
    const uint8_t *data;
    size_t data_len;
};

/* Writes v at *off in out (which is erased up to end); advances *off. */
static int emit_variable(uint8_t *out, size_t *off, size_t end, bool authenticated,
                         const struct out_var *v, struct tl_error *err)
{
    size_t hdr = var_header_size(authenticated);
    size_t room = end - *off; /* *off <= end */
    size_t name_size = 2 * (v->name_len + 1);
    if (hdr > room || name_size > room - hdr || v->data_len > room - hdr - name_size) {
        char *name = v->name_utf16 ? tl_utf16le_to_utf8(v->name_utf16, v->name_len) : NULL;
        int r = tl_error_set_nopos(
            err, -ENOSPC,
            "variable %s: %zu bytes of header, name and data do not fit "
            "in the %zu bytes left in the store",
            v->name_utf16 ? (name ? name : "?") : v->name_ascii,
            v->data_len > SIZE_MAX - hdr - name_size ? SIZE_MAX : hdr + name_size + v->data_len,
            room);
        free(name);
        return r;
    }
    if (v->data_len > UINT32_MAX || name_size > UINT32_MAX)
        return tl_error_set_nopos(err, -EINVAL, "variable %s: data too large for DataSize",
                                  v->name_ascii ? v->name_ascii : "?");

    uint8_t *p = out + *off;
    put_le16(p, VARIABLE_DATA);
    p[2] = VAR_ADDED;
    p[3] = 0;
    put_le32(p + 4, v->attributes);
    if (authenticated) {
        put_le64(p + 8, v->monotonic_count);
        if (v->timestamp)
            memcpy(p + 16, v->timestamp, EFI_TIME_SIZE);
        else
            memset(p + 16, 0, EFI_TIME_SIZE);
        put_le32(p + 32, v->pubkey_index);
    }
    put_le32(p + hdr - 24, (uint32_t)name_size);
    put_le32(p + hdr - 20, (uint32_t)v->data_len);
    memcpy(p + hdr - 16, v->vendor.b, sizeof(v->vendor.b));
    uint8_t *name = p + hdr;
    if (v->name_utf16)
        memcpy(name, v->name_utf16, 2 * v->name_len);
    else
        for (size_t i = 0; i < v->name_len; i++)
            put_le16(name + 2 * i, (uint8_t)v->name_ascii[i]);
    put_le16(name + 2 * v->name_len, 0);
    memcpy(name + name_size, v->data, v->data_len);

    size_t next = header_align(*off + hdr + name_size + v->data_len);
    *off = next < end ? next : end;
    return 0;
}

int tl_varstore_write(const struct tl_varstore *template_store,
                      const struct tl_varstore_change *changes, size_t n_changes, uint8_t **out,
                      size_t *out_len, struct tl_error *err)
{
    assert(template_store && template_store->buf);
    assert(changes || n_changes == 0);
    assert(out && out_len);
    const struct tl_varstore *t = template_store;
    assert(t->store_offset + t->store_size <= t->len);

    for (size_t i = 0; i < n_changes; i++) {
        int r = check_change(&changes[i], i, t->authenticated, err);
        if (r < 0)
            return r;
        for (size_t j = 0; j < i; j++)
            if (tl_guid_equal(&changes[i].vendor, &changes[j].vendor) &&
                strcmp(changes[i].name, changes[j].name) == 0)
                return tl_error_set_nopos(err, -EINVAL,
                                          "changes %zu and %zu both change variable %s", j, i,
                                          changes[i].name);
    }

    _cleanup_free_ uint8_t *img = malloc(t->len ? t->len : 1);
    if (!img)
        return tl_error_set_nopos(err, -ENOMEM, "variable store: out of memory");
    memcpy(img, t->buf, t->len);

    size_t end = t->store_offset + t->store_size;
    size_t off = header_align(t->store_offset + STORE_HEADER_SIZE);
    if (off > end)
        off = end;
    memset(img + t->store_offset + STORE_HEADER_SIZE, 0xff, t->store_size - STORE_HEADER_SIZE);

    /* The template's live variables, in order, that no change names. A
     * removal of a variable the template does not have is not an error:
     * the result is what was asked for. */
    for (size_t i = 0; i < t->n_vars; i++) {
        const struct tl_varstore_var *v = &t->vars[i];
        bool changed = false;
        for (size_t j = 0; j < n_changes && !changed; j++)
            changed = change_matches(&changes[j], v);
        if (changed)
            continue;
        struct out_var ov = {
            .vendor = v->vendor,
            .name_utf16 = v->name_utf16,
            .name_len = v->name_len,
            .attributes = v->attributes,
            .monotonic_count = v->monotonic_count,
            .timestamp = v->timestamp,
            .pubkey_index = v->pubkey_index,
            .data = v->data,
            .data_len = v->data_len,
        };
        int r = emit_variable(img, &off, end, t->authenticated, &ov, err);
        if (r < 0)
            return r;
    }

    /* Then the set ones, in the order given, as fresh VAR_ADDED copies. */
    for (size_t j = 0; j < n_changes; j++) {
        const struct tl_varstore_change *c = &changes[j];
        if (!c->data)
            continue;
        struct out_var ov = {
            .vendor = c->vendor,
            .name_ascii = c->name,
            .name_len = strlen(c->name),
            .attributes = c->attributes,
            .timestamp = c->timestamp,
            .data = c->data,
            .data_len = c->data_len,
        };
        int r = emit_variable(img, &off, end, t->authenticated, &ov, err);
        if (r < 0)
            return r;
    }

    *out = TL_TAKE_PTR(img);
    *out_len = t->len;
    return 0;
}
