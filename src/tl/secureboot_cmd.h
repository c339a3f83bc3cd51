/* Shared pieces of `tl secureboot`: loading stores, lists and certificates
 * from files, and JSON for signature entries. */
#pragma once

#include "tl.h"
#include "tl/authvar.h"
#include "tl/efi.h"
#include "tl/varstore.h"

/* The default source of the Microsoft key set: Debian's OVMF store with
 * Microsoft's KEK and db (and Debian's PK) enrolled. */
#define TL_MICROSOFT_VARS "/usr/share/OVMF/OVMF_VARS_4M.ms.fd"

/* Owner GUID of the signature list entries trustlaunch enrols. */
extern const tl_guid tl_owner_guid;

struct store_file {
    const char *path;
    uint8_t *buf;
    size_t len;
    struct tl_varstore vs;
};

int store_load(const char *path, struct store_file *s);
void store_done(struct store_file *s);
/* The signature lists of PK/KEK/db/dbx in a store (empty db when absent). */
int store_sig_db(const struct store_file *s, const char *name, struct tl_sig_db *db,
                 const uint8_t **data, size_t *len);

/* A file holding signature lists: raw EFI_SIGNATURE_LISTs, an efivarfs dump
 * (4-byte attributes first), or one certificate (PEM/DER) made into a list.
 * *out is malloc'd lists. */
int siglist_file_load(const char *path, uint8_t **out, size_t *out_len);

json_t *sig_entry_json(const struct tl_sig_entry *e);
json_t *sig_db_json(const struct tl_sig_db *db);
void sig_db_print(const char *indent, const struct tl_sig_db *db);

int tl_secureboot_vars(int argc, char **argv);
