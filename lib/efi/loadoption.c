/* EFI_LOAD_OPTION (UEFI 2.10, 3.1.3 "Load Options"): the content of the
 * Boot####, Driver####, SysPrep#### variables that firmware measures into
 * PCR 1 (EV_EFI_VARIABLE_BOOT) and that say what the machine boots.
 *
 *   Attributes          u32
 *   FilePathListLength  u16   bytes of FilePathList
 *   Description         NUL-terminated UTF-16LE string
 *   FilePathList        FilePathListLength bytes: one or more device paths
 *   OptionalData        the rest of the variable
 *
 * The description must end within the buffer and the file path list must
 * fit after it and not be empty (FilePathList[0] locates the image). The file path list must also
 * be a sequence of well-formed device path nodes that fills it exactly (Length >= 4, no node
 * overruns), as EDK2's boot manager requires before using an option; its content is decoded by
 * tl_device_path_to_text. OptionalData is opaque. */
#include "tl/efi.h"

#include <errno.h>
#include <stdlib.h>

#include "tl/util.h"

#define LOAD_OPTION_HEADER_SIZE 6 /* Attributes + FilePathListLength */

static int check_file_path_list(const uint8_t *p, size_t len, size_t base, struct tl_error *err)
{
    for (size_t off = 0, idx = 0; off < len; idx++) {
        if (len - off < 4)
            return tl_error_set(err, -EBADMSG, base + off,
                                "load option: FilePathList node %zu: %zu bytes left, shorter than "
                                "a node header",
                                idx, len - off);
        uint16_t nlen = tl_le16(p + off + 2);
        if (nlen < 4 || nlen > len - off)
            return tl_error_set(err, -EBADMSG, base + off,
                                "load option: FilePathList node %zu: Length %u does not fit in "
                                "the %zu bytes left",
                                idx, nlen, len - off);
        off += nlen;
    }
    return 0;
}

int tl_load_option_parse(const uint8_t *buf, size_t len, struct tl_load_option *opt,
                         struct tl_error *err)
{
    int r;

    if (len < LOAD_OPTION_HEADER_SIZE)
        return tl_error_set(err, -EBADMSG, 0,
                            "load option: %zu bytes, shorter than the %d-byte header", len,
                            LOAD_OPTION_HEADER_SIZE);

    uint32_t attributes = tl_le32(buf);
    uint16_t fpl = tl_le16(buf + 4);

    /* Find the description's terminating NUL code unit. */
    size_t desc_end = LOAD_OPTION_HEADER_SIZE; /* offset of the NUL unit */
    while (desc_end + 2 <= len && tl_le16(buf + desc_end) != 0)
        desc_end += 2;
    if (desc_end + 2 > len)
        return tl_error_set(err, -EBADMSG, LOAD_OPTION_HEADER_SIZE,
                            "load option: Description not NUL-terminated within the %zu bytes",
                            len);

    size_t fp_off = desc_end + 2;
    if (fpl == 0) /* 3.1.3: FilePathList[0] is the device path of the image */
        return tl_error_set(err, -EBADMSG, 4, "load option: FilePathListLength is 0");
    if (fpl > len - fp_off)
        return tl_error_set(err, -EBADMSG, 4,
                            "load option: FilePathListLength %u overruns the %zu bytes after the "
                            "description",
                            fpl, len - fp_off);
    r = check_file_path_list(buf + fp_off, fpl, fp_off, err);
    if (r < 0)
        return r;

    char *description =
        tl_utf16le_to_utf8(buf + LOAD_OPTION_HEADER_SIZE, (desc_end - LOAD_OPTION_HEADER_SIZE) / 2);
    if (!description)
        return tl_error_set_nopos(err, -ENOMEM, "out of memory for a load option description");

    *opt = (struct tl_load_option){
        .attributes = attributes,
        .description = description,
        .file_path = buf + fp_off,
        .file_path_len = fpl,
        .optional_data = buf + fp_off + fpl,
        .optional_data_len = len - fp_off - fpl,
    };
    return 0;
}

void tl_load_option_done(struct tl_load_option *opt)
{
    if (!opt)
        return;
    free(opt->description);
    *opt = (struct tl_load_option){0};
}
