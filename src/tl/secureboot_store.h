/* OVMF variable stores and signature-list files read for `tl secureboot`
 * and `tl image check` (secureboot_store.c). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "tl/efi.h"
#include "tl/error.h"
#include "tl/varstore.h"

struct store_file {
    const char *path;
    uint8_t *buf;
    size_t len;
    struct tl_varstore vs;
};

/* Reads and parses an OVMF store; -errno with err "PATH: ...". */
int store_load(const char *path, struct store_file *s, struct tl_error *err);
void store_done(struct store_file *s);
/* The signature lists of PK/KEK/db/dbx in a store (empty db when absent). */
int store_sig_db(const struct store_file *s, const char *name, struct tl_sig_db *db,
                 const uint8_t **data, size_t *len, struct tl_error *err);

/* A file holding signature lists: raw EFI_SIGNATURE_LISTs, an efivarfs dump
 * (4-byte attributes first), or one certificate (PEM/DER) made into a list.
 * *out is malloc'd lists. */
int siglist_file_load(const char *path, uint8_t **out, size_t *out_len, struct tl_error *err);
