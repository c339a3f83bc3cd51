/* The keys a boot-chain decision is made against, loaded from files the way
 * `tl secureboot verify` and `tl image check` take them: an OVMF variable
 * store (db, dbx, PK, SecureBootEnable), signed dbx updates verified against
 * the store's KEK, and shim's optional MokList / MokListX / SbatLevel. Both
 * verbs then run tl_secureboot_check_chain on `keys`, so they decide alike. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "secureboot_cmd.h"
#include "tl/efi.h"
#include "tl/sbat.h"
#include "tl/secureboot.h"

/* Where the keys come from; only vars is required. */
struct sb_chain_sources {
    const char *vars;
    const char *const *dbx_updates; /* signed EFI_VARIABLE_AUTHENTICATION_2 dbx appends */
    size_t n_dbx_updates;
    const char *mok, *mokx, *sbat_level;
};

/* Owns everything `keys` points at: keep it in place while keys is used. */
struct sb_chain_keys {
    struct store_file store;
    struct tl_sig_db db, dbx, mok, mokx;
    uint8_t *dbx_buf, *mok_buf, *mokx_buf;
    size_t dbx_len, mok_len, mokx_len;
    struct tl_sbat level;
    /* Why Secure Boot is off ("no PK enrolled", "SecureBootEnable is 0"),
     * or "" when it is on. */
    char secure_boot_off_why[48];
    struct tl_sb_keys keys;
};

/* Loads the keys: 0, or -errno with err "FILE: what" (the verbs print it
 * and exit 2); a dbx update that does not verify against the store's KEK
 * is bad input too (-EPERM). `dbx_applied` (may be NULL) receives
 * {"file","signer","anchor"} per update applied. Call sb_chain_keys_done
 * whatever the result. */
int sb_chain_keys_load(const struct sb_chain_sources *src, struct sb_chain_keys *k,
                       json_t *dbx_applied, struct tl_error *err);
void sb_chain_keys_done(struct sb_chain_keys *k);
