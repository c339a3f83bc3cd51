/* UEFI_VARIABLE_DATA (TCG PC Client PFP 1.05, 10.4.4): the event data of
 * EV_EFI_VARIABLE_DRIVER_CONFIG, EV_EFI_VARIABLE_BOOT(2) and
 * EV_EFI_VARIABLE_AUTHORITY.
 *
 *   VariableName        GUID  16 bytes (the vendor GUID)
 *   UnicodeNameLength   u64   in UTF-16 code units, no terminator
 *   VariableDataLength  u64   in bytes
 *   UnicodeName         UnicodeNameLength * 2 bytes
 *   VariableData        VariableDataLength bytes
 *
 * Both lengths are untrusted 64-bit values: they are checked against the
 * bytes actually present one at a time, so neither 2 * UnicodeNameLength nor
 * any sum can overflow. The record must be exactly as long as its fields say:
 * trailing bytes are hashed into the PCR but invisible to anyone reading the
 * variable, so they are an error (fail closed). */
#include "tl/efi.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "tl/util.h"

#define VARIABLE_HEADER_SIZE 32 /* GUID + two u64 lengths */

int tl_efi_variable_parse(const uint8_t *buf, size_t len, struct tl_efi_variable *var,
                          struct tl_error *err)
{
    if (len < VARIABLE_HEADER_SIZE)
        return tl_error_set(err, -EBADMSG, 0,
                            "UEFI_VARIABLE_DATA: %zu bytes, shorter than the %d-byte header", len,
                            VARIABLE_HEADER_SIZE);

    uint64_t name_len = tl_le64(buf + 16);
    uint64_t data_len = tl_le64(buf + 24);
    size_t rest = len - VARIABLE_HEADER_SIZE;

    if (name_len > rest / 2)
        return tl_error_set(err, -EBADMSG, 16,
                            "UEFI_VARIABLE_DATA: UnicodeNameLength %" PRIu64
                            " characters overruns the %zu bytes after the header",
                            name_len, rest);
    rest -= (size_t)name_len * 2;

    if (data_len != rest)
        return tl_error_set(
            err, -EBADMSG, 24,
            "UEFI_VARIABLE_DATA: UnicodeNameLength %" PRIu64 " and VariableDataLength %" PRIu64
            " need %zu+%" PRIu64 " bytes after the header, record has %zu",
            name_len, data_len, (size_t)name_len * 2, data_len, len - VARIABLE_HEADER_SIZE);

    *var = (struct tl_efi_variable){
        .vendor = tl_guid_read(buf),
        .name_utf16 = buf + VARIABLE_HEADER_SIZE,
        .name_len = name_len,
        .data = buf + VARIABLE_HEADER_SIZE + (size_t)name_len * 2,
        .data_len = data_len,
    };
    return 0;
}

bool tl_efi_variable_name_is(const struct tl_efi_variable *var, const char *ascii)
{
    size_t n = strlen(ascii);
    if (var->name_len != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (tl_le16(var->name_utf16 + 2 * i) != (uint8_t)ascii[i])
            return false;
    return true;
}
