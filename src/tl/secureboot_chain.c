/* Loading the keys of a boot-chain decision (secureboot_chain.h), shared by
 * `tl secureboot verify` and `tl image check`. */
#include "secureboot_chain.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl/authvar.h"
#include "tl/imagecheck.h"
#include "tl/util.h"

/* Verifies signed dbx updates against the store's KEK and appends them. */
static int apply_dbx_updates(const struct sb_chain_sources *src, struct sb_chain_keys *k,
                             json_t *applied, struct tl_error *err)
{
    struct tl_sig_db kek;
    int r = store_sig_db(&k->store, "KEK", &kek, NULL, NULL, err);
    if (r < 0)
        return r;
    for (size_t i = 0; i < src->n_dbx_updates && r >= 0; i++) {
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len;
        struct tl_auth2 a;
        struct tl_auth2_verdict v;
        const char *path = src->dbx_updates[i];
        if ((r = tlc_file_load(path, &buf, &len, err)) < 0)
            break;
        if ((r = tl_auth2_parse(buf, len, &a, err)) < 0) {
            tlc_error_prefix(err, r, path);
            break;
        }
        r = tl_auth2_verify(&a, "dbx", &TL_EFI_IMAGE_SECURITY_DB_GUID,
                            0x27 | TL_EFI_VARIABLE_APPEND_WRITE, &kek, &v, err);
        if (r < 0) {
            tlc_error_prefix(err, r, path);
            break;
        }
        if (r == 1) {
            r = tl_error_set_nopos(err, -EPERM,
                                   "%s: dbx update does not verify against the store's KEK: %s",
                                   path, v.reason);
            break;
        }
        uint8_t *merged;
        size_t merged_len;
        if ((r = tl_sig_db_append(k->dbx_buf, k->dbx_len, a.data, a.data_len, &merged, &merged_len,
                                  err)) < 0) {
            tlc_error_prefix(err, r, path);
            break;
        }
        free(k->dbx_buf);
        k->dbx_buf = merged;
        k->dbx_len = merged_len;
        if (applied)
            json_array_append_new(applied, json_pack("{s:s, s:s, s:s}", "file", path, "signer",
                                                     v.signer_subject, "anchor", v.anchor_subject));
    }
    tl_sig_db_done(&kek);
    return r < 0 ? r : 0;
}

static int load_optional_list(const char *path, uint8_t **buf, size_t *len, struct tl_sig_db *db,
                              struct tl_error *err)
{
    *db = (struct tl_sig_db){0};
    if (!path)
        return 0;
    int r = siglist_file_load(path, buf, len, err);
    if (r < 0)
        return r;
    r = tl_sig_db_parse(*buf, *len, db, err);
    return r < 0 ? tlc_error_prefix(err, r, path) : 0;
}

/* Secure Boot on or off: libtl's reading of the store (imagecheck.h), the
 * same one `tl image check` and tld make. */
static void secure_boot_state(struct sb_chain_keys *k)
{
    snprintf(k->secure_boot_off_why, sizeof(k->secure_boot_off_why), "%s",
             tl_secureboot_off_reason(&k->store.vs));
}

int sb_chain_keys_load(const struct sb_chain_sources *src, struct sb_chain_keys *k,
                       json_t *dbx_applied, struct tl_error *err)
{
    *k = (struct sb_chain_keys){0};
    int r = store_load(src->vars, &k->store, err);
    if (r < 0)
        return r;
    const uint8_t *dbx_data;
    if ((r = store_sig_db(&k->store, "db", &k->db, NULL, NULL, err)) < 0 ||
        (r = store_sig_db(&k->store, "dbx", &k->dbx, &dbx_data, &k->dbx_len, err)) < 0)
        return r;
    if (k->dbx_len) {
        k->dbx_buf = malloc(k->dbx_len);
        if (!k->dbx_buf)
            return tl_error_set_nopos(err, -ENOMEM, "%s: out of memory", src->vars);
        memcpy(k->dbx_buf, dbx_data, k->dbx_len);
    }
    if (src->n_dbx_updates) {
        if ((r = apply_dbx_updates(src, k, dbx_applied, err)) < 0)
            return r;
        tl_sig_db_done(&k->dbx);
        tl_sig_db_parse(k->dbx_buf, k->dbx_len, &k->dbx, NULL);
    }
    if ((r = load_optional_list(src->mok, &k->mok_buf, &k->mok_len, &k->mok, err)) < 0 ||
        (r = load_optional_list(src->mokx, &k->mokx_buf, &k->mokx_len, &k->mokx, err)) < 0)
        return r;
    if (src->sbat_level) {
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len;
        if ((r = tlc_file_load(src->sbat_level, &buf, &len, err)) < 0)
            return r;
        /* An efivarfs dump carries 4 bytes of attributes first. */
        size_t skip = len > 4 && memcmp(buf, "sbat", 4) != 0 ? 4 : 0;
        if ((r = tl_sbat_parse(buf + skip, len - skip, TL_SBAT_LEVEL, &k->level, err)) < 0)
            return tlc_error_prefix(err, r, src->sbat_level);
    }
    secure_boot_state(k);
    k->keys = (struct tl_sb_keys){
        .db = &k->db,
        .dbx = &k->dbx,
        .mok = src->mok ? &k->mok : NULL,
        .mokx = src->mokx ? &k->mokx : NULL,
        .sbat_level = src->sbat_level ? &k->level : NULL,
        .secure_boot_off = k->secure_boot_off_why[0] != '\0',
    };
    return 0;
}

void sb_chain_keys_done(struct sb_chain_keys *k)
{
    tl_sig_db_done(&k->db);
    tl_sig_db_done(&k->dbx);
    tl_sig_db_done(&k->mok);
    tl_sig_db_done(&k->mokx);
    free(k->dbx_buf);
    free(k->mok_buf);
    free(k->mokx_buf);
    k->dbx_buf = k->mok_buf = k->mokx_buf = NULL;
    store_done(&k->store);
}
