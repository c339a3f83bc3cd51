/* Signature database entries for people (text) and scripts (JSON): the
 * certificates by subject and SHA-256, the hashes in hex. */
#include <stdio.h>

#include "secureboot_sigprint.h"
#include "tl.h"
#include "tl/util.h"
#include "tl/x509.h"

json_t *sig_entry_json(const struct tl_sig_entry *e)
{
    char owner[37];
    tl_guid_format(&e->owner, owner);
    json_t *o = json_pack("{s:s, s:s}", "kind", tl_sig_kind_name(e->kind), "owner", owner);
    if (e->kind == TL_SIG_X509) {
        struct tl_x509_info info;
        if (tl_x509_describe(e->data, e->data_len, &info, NULL) == 0) {
            json_object_set_new(o, "subject", json_string(info.subject));
            json_object_set_new(o, "sha256", tlc_json_hex(info.sha256, 32));
            json_object_set_new(o, "not_after", json_string(info.not_after));
            tl_x509_info_done(&info);
        } else {
            json_object_set_new(o, "error", json_string("not a DER X.509 certificate"));
        }
    } else {
        json_object_set_new(o, "hash", tlc_json_hex(e->data, e->data_len));
    }
    return o;
}

json_t *sig_db_json(const struct tl_sig_db *db)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < db->n_entries; i++)
        json_array_append_new(arr, sig_entry_json(&db->entries[i]));
    return arr;
}

void sig_db_print(const char *indent, const struct tl_sig_db *db)
{
    size_t certs = 0, hashes = 0;
    for (size_t i = 0; i < db->n_entries; i++)
        db->entries[i].kind == TL_SIG_X509 ? certs++ : hashes++;
    printf("%s%zu certificate(s), %zu hash(es) in %zu list(s)\n", indent, certs, hashes,
           db->n_lists);
    for (size_t i = 0; i < db->n_entries; i++) {
        const struct tl_sig_entry *e = &db->entries[i];
        if (e->kind != TL_SIG_X509)
            continue;
        struct tl_x509_info info;
        char fp[65];
        if (tl_x509_describe(e->data, e->data_len, &info, NULL) < 0) {
            printf("%s  x509 (not a DER certificate)\n", indent);
            continue;
        }
        tl_hex_encode(info.sha256, 32, fp);
        printf("%s  x509 %s  sha256:%s\n", indent, info.subject, fp);
        tl_x509_info_done(&info);
    }
}
