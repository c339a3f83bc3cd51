/* The key material of `tl secureboot` and `tl image check` read from files:
 * an OVMF variable store and its signature databases, and a file of
 * signature lists (raw, an efivarfs dump, or one certificate). Errors are
 * returned as -errno with err "FILE: ..."; the verbs print them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "secureboot_store.h"
#include "tl.h"
#include "tl/util.h"
#include "tl/x509.h"

/* Owner GUID of the signature list entries trustlaunch enrols:
 * 8c5cd5cf-0b6a-4f55-9d3f-7c5f1b0e2f1a */
static const tl_guid owner_guid =
    TL_GUID_INIT(0x8c5cd5cf, 0x0b6a, 0x4f55, 0x9d, 0x3f, 0x7c, 0x5f, 0x1b, 0x0e, 0x2f, 0x1a);

int store_load(const char *path, struct store_file *s, struct tl_error *err)
{
    *s = (struct store_file){.path = path};
    int r = tlc_file_load(path, &s->buf, &s->len, err);
    if (r < 0)
        return r;
    r = tl_varstore_parse(s->buf, s->len, &s->vs, err);
    if (r < 0) {
        free(s->buf);
        s->buf = NULL;
        return tlc_error_prefix(err, r, path);
    }
    return 0;
}

void store_done(struct store_file *s)
{
    if (s->buf)
        tl_varstore_done(&s->vs);
    free(s->buf);
    s->buf = NULL;
}

int store_sig_db(const struct store_file *s, const char *name, struct tl_sig_db *db,
                 const uint8_t **data, size_t *len, struct tl_error *err)
{
    bool secdb = strcmp(name, "db") == 0 || strcmp(name, "dbx") == 0;
    const struct tl_varstore_var *v = tl_varstore_find(
        &s->vs, name, secdb ? &TL_EFI_IMAGE_SECURITY_DB_GUID : &TL_EFI_GLOBAL_VARIABLE_GUID);
    *db = (struct tl_sig_db){0};
    if (data) {
        *data = v ? v->data : NULL;
        *len = v ? v->data_len : 0;
    }
    if (!v)
        return 0;
    struct tl_error parse_err = {0};
    int r = tl_sig_db_parse(v->data, v->data_len, db, &parse_err);
    if (r < 0)
        return tl_error_set_nopos(err, r, "%s: %s: %s", s->path, name, parse_err.message);
    return 0;
}

int siglist_file_load(const char *path, uint8_t **out, size_t *out_len, struct tl_error *err)
{
    _cleanup_free_ uint8_t *buf = NULL;
    size_t len;
    struct tl_sig_db db;
    int r = tlc_file_load(path, &buf, &len, err);
    if (r < 0)
        return r;
    *out = NULL;
    *out_len = 0;
    if (len > 0 && tl_sig_db_parse(buf, len, &db, NULL) == 0) {
        tl_sig_db_done(&db);
        *out = TL_TAKE_PTR(buf);
        *out_len = len;
        return 0;
    }
    if (len > 4 && tl_sig_db_parse(buf + 4, len - 4, &db, NULL) == 0) {
        tl_sig_db_done(&db);
        *out = malloc(len - 4);
        if (!*out)
            return tl_error_set_nopos(err, -ENOMEM, "%s: out of memory", path);
        memcpy(*out, buf + 4, len - 4);
        *out_len = len - 4;
        return 0;
    }
    _cleanup_free_ uint8_t *der = NULL;
    size_t der_len;
    if (tl_x509_to_der(buf, len, &der, &der_len, NULL) < 0)
        return tl_error_set_nopos(err, -EINVAL, "%s: neither signature lists nor a certificate",
                                  path);
    r = tl_sig_list_append(out, out_len, TL_SIG_X509, &owner_guid, der, der_len);
    if (r < 0)
        return tl_error_set_nopos(err, r, "%s: out of memory", path);
    return 0;
}
