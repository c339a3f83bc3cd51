/* libFuzzer target: the UEFI structure parsers on the same input:
 * EFI_SIGNATURE_LIST chains (tl_sig_db_parse, then the X.509 entries through
 * tl_x509_describe), device paths (tl_device_path_to_text / _file),
 * EFI_LOAD_OPTION (tl_load_option_parse, then its file path list as text),
 * UEFI_VARIABLE_DATA (tl_efi_variable_parse, then its data as a signature
 * database and as a load option, its name as UTF-16).
 *
 * The seeds (tests/fuzz/run.sh) are real db/dbx contents, efivarfs files
 * and DBX updates; their wrappers (the 4-byte efivarfs attributes, an
 * EFI_VARIABLE_AUTHENTICATION_2 header) are also skipped here so the
 * mutations reach the lists inside. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tl/efi.h"
#include "tl/util.h"
#include "tl/x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void sig_db(const uint8_t *p, size_t n)
{
    struct tl_sig_db db;
    struct tl_error err = {0};
    if (tl_sig_db_parse(p, n, &db, &err) < 0)
        return;
    for (size_t i = 0; i < db.n_entries; i++) {
        const struct tl_sig_entry *e = &db.entries[i];
        if (e->data < p || e->data + e->data_len > p + n || e->offset >= n)
            __builtin_trap(); /* entries must point into the input */
        if (e->kind == TL_SIG_X509 && i < 4) {
            struct tl_x509_info info;
            if (tl_x509_describe(e->data, e->data_len, &info, NULL) == 0)
                tl_x509_info_done(&info);
        }
        (void)tl_sig_kind_name(e->kind);
    }
    tl_sig_db_done(&db);
}

static void device_path(const uint8_t *p, size_t n)
{
    char *text = NULL;
    struct tl_error err = {0};
    if (tl_device_path_to_text(p, n, &text, &err) == 0 && !text)
        __builtin_trap();
    free(text);
    text = NULL;
    if (tl_device_path_file(p, n, &text, &err) == 0)
        free(text);
}

static void load_option(const uint8_t *p, size_t n)
{
    struct tl_load_option opt;
    struct tl_error err = {0};
    if (tl_load_option_parse(p, n, &opt, &err) < 0)
        return;
    if (opt.file_path < p || opt.file_path + opt.file_path_len > p + n)
        __builtin_trap();
    device_path(opt.file_path, opt.file_path_len);
    tl_load_option_done(&opt);
}

static void variable(const uint8_t *p, size_t n)
{
    struct tl_efi_variable var;
    struct tl_error err = {0};
    if (tl_efi_variable_parse(p, n, &var, &err) < 0)
        return;
    if (var.data < p || var.data_len > n || var.data + var.data_len > p + n)
        __builtin_trap();
    free(tl_utf16le_to_utf8(var.name_utf16, var.name_len));
    (void)tl_efi_variable_name_is(&var, "db");
    sig_db(var.data, var.data_len);
    load_option(var.data, var.data_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Copy into a buffer of exactly the input's size (libFuzzer's already is;
     * this keeps it so if the harness is reused). */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);

    sig_db(buf, size);
    device_path(buf, size);
    load_option(buf, size);
    variable(buf, size);

    /* efivarfs file: u32 attributes, then the variable's content. */
    if (size >= 4)
        sig_db(buf + 4, size - 4);
    /* Authenticated variable (UEFI 8.2.2): EFI_TIME (16 bytes), then a
     * WIN_CERTIFICATE whose dwLength covers itself, then the content. */
    if (size >= 20) {
        uint32_t cert_len = tl_le32(buf + 16);
        if (cert_len >= 8 && cert_len <= size - 16)
            sig_db(buf + 16 + cert_len, size - 16 - cert_len);
    }
    free(buf);
    return 0;
}
