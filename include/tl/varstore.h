/* OVMF/EDK2 non-volatile variable stores (OVMF_VARS*.fd): the firmware
 * volume (EFI_FIRMWARE_VOLUME_HEADER, PI spec vol. 3, 3.2.1) holding a
 * VARIABLE_STORE_HEADER with authenticated variables
 * (EDK2 MdeModulePkg/Include/Guid/VariableFormat.h:
 * AUTHENTICATED_VARIABLE_HEADER), followed by the fault-tolerant-write
 * working block and spare area, which are kept as they are.
 *
 * Reading gives every variable whose State is VAR_ADDED (older, deleted
 * copies are skipped). Writing builds a new store from a template: the
 * variables of the template minus the removed ones, plus the set ones,
 * compacted, in the same layout and size, so OVMF boots from it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tl/efi.h"
#include "tl/error.h"

/* UEFI 2.10, 8.2 */
#define TL_EFI_VARIABLE_NON_VOLATILE                          0x00000001
#define TL_EFI_VARIABLE_BOOTSERVICE_ACCESS                    0x00000002
#define TL_EFI_VARIABLE_RUNTIME_ACCESS                        0x00000004
#define TL_EFI_VARIABLE_TIME_BASED_AUTHENTICATED_WRITE_ACCESS 0x00000020
#define TL_EFI_VARIABLE_APPEND_WRITE                          0x00000040

struct tl_varstore_var {
    tl_guid vendor;
    const uint8_t *name_utf16; /* name_len UTF-16 units, without the NUL */
    size_t name_len;
    uint32_t attributes;
    uint64_t monotonic_count;
    uint8_t timestamp[16]; /* EFI_TIME */
    uint32_t pubkey_index;
    const uint8_t *data;
    size_t data_len;
    size_t offset; /* of the variable header in the file */
};

struct tl_varstore {
    const uint8_t *buf;
    size_t len;
    size_t store_offset;          /* of the VARIABLE_STORE_HEADER */
    size_t store_size;            /* its Size field */
    bool authenticated;           /* gEfiAuthenticatedVariableGuid store */
    struct tl_varstore_var *vars; /* malloc'd, in store order */
    size_t n_vars;
};

int tl_varstore_parse(const uint8_t *buf, size_t len, struct tl_varstore *vs, struct tl_error *err);
void tl_varstore_done(struct tl_varstore *vs);

/* The variable with this ASCII name and vendor GUID, or NULL. */
const struct tl_varstore_var *tl_varstore_find(const struct tl_varstore *vs, const char *name,
                                               const tl_guid *vendor);

/* A change for tl_varstore_write: set (data != NULL) or remove (data NULL). */
struct tl_varstore_change {
    const char *name; /* ASCII */
    tl_guid vendor;
    uint32_t attributes;
    uint8_t timestamp[16];
    const uint8_t *data;
    size_t data_len;
};

/* Writes a new store image (*out, malloc'd, same size as the template).
 * -ENOSPC (with err) when the variables do not fit. */
int tl_varstore_write(const struct tl_varstore *template_store,
                      const struct tl_varstore_change *changes, size_t n_changes, uint8_t **out,
                      size_t *out_len, struct tl_error *err);
