/* A record's data decoded for people (a string, a variable name, a device
 * path): the "description" of `tl eventlog show` in text and JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eventlog_describe.h"
#include "tl/efi.h"
#include "tl/util.h"

static char *printable_copy(const uint8_t *d, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n && d[i]; i++)
        s[o++] = (d[i] >= 0x20 && d[i] < 0x7f) ? (char)d[i] : (d[i] == '\n' ? ' ' : '?');
    s[o] = '\0';
    return s;
}

char *eventlog_describe(const struct tl_eventlog *log, const struct tl_event *ev)
{
    const uint8_t *d = tl_event_data(log, ev);
    size_t n = ev->data_size;
    char *out = NULL;

    switch (ev->type) {
    case TL_EV_NO_ACTION:
        if (ev->index == 0 && log->format == TL_EVENTLOG_CRYPTO_AGILE)
            return strdup("Spec ID Event03");
        if (log->startup_locality >= 0 && n == 17 && memcmp(d, "StartupLocality", 15) == 0) {
            if (asprintf(&out, "StartupLocality %u", d[16]) < 0)
                return NULL;
            return out;
        }
        return n >= 16 ? printable_copy(d, 16) : NULL;
    case TL_EV_SEPARATOR:
        if (n == 4 && asprintf(&out, "0x%08x", tl_le32(d)) >= 0)
            return out;
        return NULL;
    case TL_EV_S_CRTM_VERSION:
        return tl_utf16le_to_utf8(d, n / 2);
    case TL_EV_EFI_VARIABLE_DRIVER_CONFIG:
    case TL_EV_EFI_VARIABLE_BOOT:
    case TL_EV_EFI_VARIABLE_BOOT2:
    case TL_EV_EFI_VARIABLE_AUTHORITY: {
        struct tl_efi_variable var;
        if (tl_efi_variable_parse(d, n, &var, NULL) < 0)
            return strdup("(malformed UEFI_VARIABLE_DATA)");
        _cleanup_free_ char *name = tl_utf16le_to_utf8(var.name_utf16, var.name_len);
        char guid[37];
        tl_guid_format(&var.vendor, guid);
        if (!name ||
            asprintf(&out, "%s-%s (%llu bytes)", name, guid, (unsigned long long)var.data_len) < 0)
            return NULL;
        return out;
    }
    case TL_EV_EFI_BOOT_SERVICES_APPLICATION:
    case TL_EV_EFI_BOOT_SERVICES_DRIVER:
    case TL_EV_EFI_RUNTIME_SERVICES_DRIVER:
        if (n >= 32) {
            uint64_t dp_len = tl_le64(d + 24);
            char *text = NULL;
            if (dp_len == 0)
                return strdup("(no device path)");
            if (dp_len <= n - 32 && tl_device_path_to_text(d + 32, dp_len, &text, NULL) == 0)
                return text;
        }
        return strdup("(malformed UEFI_IMAGE_LOAD_EVENT)");
    case TL_EV_EFI_PLATFORM_FIRMWARE_BLOB:
        if (n == 16 && asprintf(&out, "base 0x%llx length 0x%llx", (unsigned long long)tl_le64(d),
                                (unsigned long long)tl_le64(d + 8)) >= 0)
            return out;
        return NULL;
    case TL_EV_EFI_PLATFORM_FIRMWARE_BLOB2:
    case TL_EV_EFI_HANDOFF_TABLES2:
        if (n >= 1 && d[0] <= n - 1)
            return printable_copy(d + 1, d[0]);
        return NULL;
    case TL_EV_EVENT_TAG:
        if (n >= 8 && asprintf(&out, "tag 0x%08x, %u bytes", tl_le32(d), tl_le32(d + 4)) >= 0)
            return out;
        return NULL;
    case TL_EV_IPL:
        /* systemd-boot / sd-stub log UTF-16 strings. */
        if (n >= 4 && d[1] == 0 && d[3] == 0)
            return tl_utf16le_to_utf8(d, n / 2);
        return printable_copy(d, n);
    case TL_EV_EFI_ACTION:
    case TL_EV_ACTION:
    case TL_EV_POST_CODE:
    case TL_EV_OMIT_BOOT_DEVICE_EVENTS:
        return printable_copy(d, n);
    default:
        return NULL;
    }
}
