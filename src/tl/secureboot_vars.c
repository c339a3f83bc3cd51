/* `tl secureboot vars show|enroll|clear|apply-update`: read and write the
 * firmware variable stores that turn Secure Boot on or off for a node. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "secureboot_cmd.h"
#include "tl/util.h"

/* OVMF's own switches (OvmfPkg/Include/Guid, SecureBootConfigDxe). */
static const tl_guid secure_boot_enable_guid =
    TL_GUID_INIT(0xf0a30bc7, 0xaf08, 0x4556, 0x99, 0xc4, 0x00, 0x10, 0x09, 0xc9, 0x3a, 0x44);
static const tl_guid custom_mode_guid =
    TL_GUID_INIT(0xc076ec0c, 0x7028, 0x4399, 0xa0, 0x72, 0x71, 0xee, 0x5c, 0x44, 0x8b, 0x9f);

#define AUTH_ATTRS 0x27 /* NV | BS | RT | TIME_BASED_AUTHENTICATED_WRITE_ACCESS */
#define NV_BS      0x03

static int write_file(const char *path, const uint8_t *buf, size_t len)
{
    _cleanup_free_ char *tmp = NULL;
    if (asprintf(&tmp, "%s.tmp.%d", path, (int)getpid()) < 0)
        return -ENOMEM;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        tlc_report(path, "cannot create: %s", strerror(errno));
        return -errno;
    }
    int r = tlc_write_fd(fd, path, buf, len);
    if (r < 0 || rename(tmp, path) < 0) {
        if (r == 0) {
            r = -errno;
            tlc_report(path, "cannot write: %s", strerror(errno));
        }
        unlink(tmp);
        return r;
    }
    return 0;
}

/* ---- show ---- */

static json_t *siglist_show(const char *path, const uint8_t *data, size_t len, bool json)
{
    struct tl_sig_db db;
    struct tl_error err = {0};
    if (tl_sig_db_parse(data, len, &db, &err) < 0) {
        tlc_report_error(path, &err);
        return NULL;
    }
    json_t *entries = sig_db_json(&db);
    if (!json)
        sig_db_print("  ", &db);
    tl_sig_db_done(&db);
    return entries;
}

static int show_one(const char *path, bool json)
{
    _cleanup_free_ uint8_t *buf = NULL;
    size_t len;
    if (tlc_read_file(path, &buf, &len) < 0)
        return TLC_EXIT_BAD;
    json_t *o = json_pack("{s:s}", "file", path);
    struct tl_varstore vs;
    struct tl_auth2 a;
    struct tl_sig_db probe;

    if (tl_varstore_parse(buf, len, &vs, NULL) == 0) {
        json_object_set_new(o, "type", json_string("varstore"));
        json_t *vars = json_array();
        if (!json)
            printf("%s: variable store, %zu variables\n", path, vs.n_vars);
        for (size_t i = 0; i < vs.n_vars; i++) {
            const struct tl_varstore_var *v = &vs.vars[i];
            _cleanup_free_ char *name = tl_utf16le_to_utf8(v->name_utf16, v->name_len);
            char guid[37];
            tl_guid_format(&v->vendor, guid);
            json_t *jv =
                json_pack("{s:s, s:s, s:I, s:I}", "name", name ? name : "?", "vendor", guid,
                          "attributes", (json_int_t)v->attributes, "size", (json_int_t)v->data_len);
            if (!json)
                printf("%-24s %s attr 0x%02x %zu bytes\n", name ? name : "?", guid, v->attributes,
                       v->data_len);
            bool keys = name && (strcmp(name, "PK") == 0 || strcmp(name, "KEK") == 0 ||
                                 strcmp(name, "db") == 0 || strcmp(name, "dbx") == 0);
            if (keys) {
                json_t *entries = siglist_show(path, v->data, v->data_len, json);
                json_object_set_new(jv, "entries", entries ? entries : json_null());
            }
            json_array_append_new(vars, jv);
        }
        json_object_set_new(o, "variables", vars);
        tl_varstore_done(&vs);
    } else if (tl_auth2_parse(buf, len, &a, NULL) == 0) {
        /* A signed update: who signed it (checked against no authority:
         * only the signer is wanted here), and what it carries. */
        struct tl_auth2_verdict v = {0};
        struct tl_sig_db none = {0};
        tl_auth2_verify(&a, "dbx", &TL_EFI_IMAGE_SECURITY_DB_GUID,
                        0x27 | TL_EFI_VARIABLE_APPEND_WRITE, &none, &v, NULL);
        json_object_set_new(o, "type", json_string("authenticated-update"));
        json_object_set_new(o, "signer",
                            v.signer_subject[0] ? json_string(v.signer_subject) : json_null());
        if (!json)
            printf("%s: signed update (EFI_VARIABLE_AUTHENTICATION_2), signer %s\n", path,
                   v.signer_subject[0] ? v.signer_subject : "(not in the signature)");
        json_t *entries = siglist_show(path, a.data, a.data_len, json);
        if (!entries) {
            json_decref(o);
            return TLC_EXIT_BAD;
        }
        json_object_set_new(o, "entries", entries);
    } else if (len > 0 && (tl_sig_db_parse(buf, len, &probe, NULL) == 0 ||
                           (len > 4 && tl_sig_db_parse(buf + 4, len - 4, &probe, NULL) == 0))) {
        tl_sig_db_done(&probe);
        size_t skip = tl_sig_db_parse(buf, len, &probe, NULL) == 0 ? 0 : 4;
        if (!skip)
            tl_sig_db_done(&probe);
        json_object_set_new(o, "type", json_string(skip ? "efivarfs" : "signature-lists"));
        if (!json)
            printf("%s: signature lists%s\n", path, skip ? " (efivarfs dump)" : "");
        json_object_set_new(o, "entries", siglist_show(path, buf + skip, len - skip, json));
    } else {
        tlc_report(path, "neither a variable store, a signed update nor signature lists");
        json_decref(o);
        return TLC_EXIT_BAD;
    }
    if (json)
        tlc_json_print(o);
    else
        json_decref(o);
    return TLC_EXIT_OK;
}

/* ---- enroll / clear / apply-update ---- */

struct vars_opts {
    const char *template_path, *vars, *out, *dbx, *variable;
    const char *pk;
    const char *kek[8], *db[16];
    size_t n_kek, n_db;
    bool microsoft, json;
};

static int append_certs(const char *const *paths, size_t n, uint8_t **buf, size_t *len,
                        struct tl_error *err)
{
    for (size_t i = 0; i < n; i++) {
        _cleanup_free_ uint8_t *lists = NULL;
        size_t lists_len;
        int r = siglist_file_load(paths[i], &lists, &lists_len, err);
        if (r < 0)
            return r;
        uint8_t *nb = realloc(*buf, *len + lists_len);
        if (!nb)
            return tl_error_set_nopos(err, -ENOMEM, "%s: out of memory", paths[i]);
        memcpy(nb + *len, lists, lists_len);
        *buf = nb;
        *len += lists_len;
    }
    return 0;
}

static int write_store(const struct store_file *tpl, const struct tl_varstore_change *changes,
                       size_t n, const char *out)
{
    uint8_t *img;
    size_t img_len;
    struct tl_error err = {0};
    if (tl_varstore_write(&tpl->vs, changes, n, &img, &img_len, &err) < 0) {
        tlc_report_error(out, &err);
        return TLC_EXIT_BAD;
    }
    int r = write_file(out, img, img_len);
    free(img);
    return r < 0 ? TLC_EXIT_BAD : TLC_EXIT_OK;
}

static struct tl_varstore_change change(const char *name, const tl_guid *vendor, uint32_t attrs,
                                        const uint8_t *data, size_t len)
{
    struct tl_varstore_change c = {
        .name = name, .vendor = *vendor, .attributes = attrs, .data = data, .data_len = len};
    return c;
}

static int enroll(const struct vars_opts *o)
{
    struct store_file tpl, ms = {0};
    struct tl_error err = {0};
    if (store_load(o->template_path, &tpl, &err) < 0)
        return tlc_fail(TLC_EXIT_BAD, &err);
    int status = TLC_EXIT_BAD;
    _cleanup_free_ uint8_t *pk = NULL, *kek = NULL, *db = NULL, *dbx = NULL;
    size_t pk_len = 0, kek_len = 0, db_len = 0, dbx_len = 0;
    static const uint8_t one = 1, zero = 0;

    if (o->microsoft) {
        static const char *const names[] = {"PK", "KEK", "db", "dbx"};
        uint8_t **bufs[] = {&pk, &kek, &db, &dbx};
        size_t *lens[] = {&pk_len, &kek_len, &db_len, &dbx_len};
        if (store_load(TLC_MICROSOFT_VARS, &ms, &err) < 0) {
            tlc_report_error(NULL, &err);
            goto out;
        }
        for (size_t i = 0; i < 4; i++) {
            struct tl_sig_db parsed;
            const uint8_t *data;
            if (store_sig_db(&ms, names[i], &parsed, &data, lens[i], &err) < 0) {
                tlc_report_error(NULL, &err);
                goto out;
            }
            tl_sig_db_done(&parsed);
            if (!data && i < 3) {
                tlc_report(TLC_MICROSOFT_VARS, "has no %s", names[i]);
                goto out;
            }
            *bufs[i] = *lens[i] ? malloc(*lens[i]) : NULL;
            if (*lens[i] && !*bufs[i])
                goto out;
            if (*lens[i])
                memcpy(*bufs[i], data, *lens[i]);
        }
    } else {
        const char *pk_path[] = {o->pk};
        if (append_certs(pk_path, 1, &pk, &pk_len, &err) < 0 ||
            append_certs(o->kek, o->n_kek, &kek, &kek_len, &err) < 0 ||
            append_certs(o->db, o->n_db, &db, &db_len, &err) < 0) {
            if (*err.message) /* out of memory was silent */
                tlc_report_error(NULL, &err);
            goto out;
        }
    }
    if (o->dbx) {
        free(dbx);
        dbx = NULL;
        if (siglist_file_load(o->dbx, &dbx, &dbx_len, &err) < 0) {
            tlc_report_error(NULL, &err);
            goto out;
        }
    }
    struct tl_varstore_change changes[] = {
        change("PK", &TL_EFI_GLOBAL_VARIABLE_GUID, AUTH_ATTRS, pk, pk_len),
        change("KEK", &TL_EFI_GLOBAL_VARIABLE_GUID, AUTH_ATTRS, kek, kek_len),
        change("db", &TL_EFI_IMAGE_SECURITY_DB_GUID, AUTH_ATTRS, db, db_len),
        change("dbx", &TL_EFI_IMAGE_SECURITY_DB_GUID, AUTH_ATTRS, dbx, dbx_len),
        change("SecureBootEnable", &secure_boot_enable_guid, NV_BS, &one, 1),
        change("CustomMode", &custom_mode_guid, NV_BS, &zero, 1),
    };
    /* No dbx given: keep none rather than an empty variable. */
    if (!dbx_len)
        changes[3].data = NULL;
    status = write_store(&tpl, changes, TL_ARRAY_SIZE(changes), o->out);
    if (status == TLC_EXIT_OK && !o->json)
        printf("%s: PK, KEK, db%s enrolled (Secure Boot on)\n", o->out, dbx_len ? ", dbx" : "");
    if (status == TLC_EXIT_OK && o->json)
        tlc_json_print(json_pack("{s:s, s:s, s:b, s:I, s:I, s:I, s:I}", "file", o->out, "template",
                                 o->template_path, "secure_boot", 1, "pk_size", (json_int_t)pk_len,
                                 "kek_size", (json_int_t)kek_len, "db_size", (json_int_t)db_len,
                                 "dbx_size", (json_int_t)dbx_len));
out:
    store_done(&ms);
    store_done(&tpl);
    return status;
}

static int clear(const struct vars_opts *o)
{
    struct store_file tpl;
    struct tl_error err = {0};
    if (store_load(o->template_path, &tpl, &err) < 0)
        return tlc_fail(TLC_EXIT_BAD, &err);
    static const uint8_t zero = 0;
    struct tl_varstore_change changes[] = {
        change("PK", &TL_EFI_GLOBAL_VARIABLE_GUID, 0, NULL, 0),
        change("KEK", &TL_EFI_GLOBAL_VARIABLE_GUID, 0, NULL, 0),
        change("db", &TL_EFI_IMAGE_SECURITY_DB_GUID, 0, NULL, 0),
        change("dbx", &TL_EFI_IMAGE_SECURITY_DB_GUID, 0, NULL, 0),
        change("SecureBootEnable", &secure_boot_enable_guid, NV_BS, &zero, 1),
    };
    int status = write_store(&tpl, changes, TL_ARRAY_SIZE(changes), o->out);
    if (status == TLC_EXIT_OK)
        o->json ? tlc_json_print(json_pack("{s:s, s:s, s:b}", "file", o->out, "template",
                                           o->template_path, "secure_boot", 0))
                : (void)printf("%s: keys cleared (no PK: Secure Boot off)\n", o->out);
    store_done(&tpl);
    return status;
}

static int apply_update(const struct vars_opts *o, char **updates, int n)
{
    struct store_file s;
    struct tl_error err = {0};
    if (store_load(o->vars, &s, &err) < 0)
        return tlc_fail(TLC_EXIT_BAD, &err);
    const char *var = o->variable ? o->variable : "dbx";
    int status = TLC_EXIT_OK;
    struct tl_sig_db kek = {0};
    const uint8_t *cur;
    size_t cur_len;
    _cleanup_free_ uint8_t *value = NULL;
    size_t value_len = 0;
    json_t *applied = json_array();
    struct tl_sig_db current;

    if (store_sig_db(&s, "KEK", &kek, NULL, NULL, &err) < 0 ||
        store_sig_db(&s, var, &current, &cur, &cur_len, &err) < 0) {
        status = tlc_fail(TLC_EXIT_BAD, &err);
        goto out;
    }
    tl_sig_db_done(&current);
    value = cur_len ? malloc(cur_len) : NULL;
    if (cur_len)
        memcpy(value, cur, cur_len);
    value_len = cur_len;
    for (int i = 0; i < n; i++) {
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len;
        struct tl_auth2 a;
        struct tl_auth2_verdict v;
        err = (struct tl_error){0};
        if (tlc_read_file(updates[i], &buf, &len) < 0) {
            status = TLC_EXIT_BAD;
            goto out;
        }
        if (tl_auth2_parse(buf, len, &a, &err) < 0) {
            tlc_report_error(updates[i], &err);
            status = TLC_EXIT_BAD;
            goto out;
        }
        int r = tl_auth2_verify(&a, var, &TL_EFI_IMAGE_SECURITY_DB_GUID,
                                AUTH_ATTRS | TL_EFI_VARIABLE_APPEND_WRITE, &kek, &v, &err);
        if (r < 0) {
            tlc_report_error(updates[i], &err);
            status = TLC_EXIT_BAD;
            goto out;
        }
        if (r == 1) {
            tlc_report(updates[i], "rejected, as the firmware would: %s", v.reason);
            status = TLC_EXIT_FAIL;
            goto out;
        }
        uint8_t *merged;
        size_t merged_len;
        if (tl_sig_db_append(value, value_len, a.data, a.data_len, &merged, &merged_len, &err) <
            0) {
            tlc_report_error(updates[i], &err);
            status = TLC_EXIT_BAD;
            goto out;
        }
        json_array_append_new(applied,
                              json_pack("{s:s, s:s, s:s, s:I}", "file", updates[i], "signer",
                                        v.signer_subject, "anchor", v.anchor_subject, "added",
                                        (json_int_t)(merged_len - value_len)));
        if (!o->json)
            printf("%s: verified (signed by %s, chains to KEK %s), %zu bytes added to %s\n",
                   updates[i], v.signer_subject, v.anchor_subject, merged_len - value_len, var);
        free(value);
        value = merged;
        value_len = merged_len;
    }
    struct tl_varstore_change c =
        change(var, &TL_EFI_IMAGE_SECURITY_DB_GUID, AUTH_ATTRS, value, value_len);
    status = write_store(&s, &c, 1, o->out);
    if (status == TLC_EXIT_OK && o->json)
        tlc_json_print(json_pack("{s:s, s:s, s:O, s:I}", "file", o->out, "variable", var, "updates",
                                 applied, "size", (json_int_t)value_len));
out:
    json_decref(applied);
    tl_sig_db_done(&kek);
    store_done(&s);
    return status;
}

int secureboot_vars_cmd(int argc, char **argv)
{
    static const struct option options[] = {

        {"template", required_argument, NULL, 't'}, {"vars", required_argument, NULL, 'v'},
        {"output", required_argument, NULL, 'o'},   {"microsoft", no_argument, NULL, 'M'},
        {"pk", required_argument, NULL, 'p'},       {"kek", required_argument, NULL, 'k'},
        {"db", required_argument, NULL, 'd'},       {"dbx", required_argument, NULL, 'x'},
        {"variable", required_argument, NULL, 'V'}, {0},
    };
    if (argc < 2) {
        tlc_report("secureboot vars", "show, enroll, clear or apply-update");
        return TLC_EXIT_BAD;
    }
    const char *verb = argv[1];
    if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0) {
        fputs("usage: tl secureboot vars show FILE... [--json]\n"
              "       tl secureboot vars enroll --template F (--microsoft | --pk C --kek C... "
              "--db C...) [--dbx F] -o OUT [--json]\n"
              "       tl secureboot vars clear --template F -o OUT [--json]\n"
              "       tl secureboot vars apply-update --vars F UPDATE... [--variable db|dbx] "
              "-o OUT [--json]\n",
              stdout);
        return TLC_EXIT_OK;
    }
    struct vars_opts o = {0};
    int c;
    argc--;
    argv++;
    optind = 1;
    opterr = 0;
    o.json = tlc_output_wants_json(); /* --json, --output, --query */
    while ((c = getopt_long(argc, argv, "o:", options, NULL)) != -1) {
        switch (c) {
        case 't':
            o.template_path = optarg;
            break;
        case 'v':
            o.vars = optarg;
            break;
        case 'o':
            o.out = optarg;
            break;
        case 'M':
            o.microsoft = true;
            break;
        case 'p':
            o.pk = optarg;
            break;
        case 'k':
            if (o.n_kek == TL_ARRAY_SIZE(o.kek))
                return TLC_EXIT_BAD;
            o.kek[o.n_kek++] = optarg;
            break;
        case 'd':
            if (o.n_db == TL_ARRAY_SIZE(o.db))
                return TLC_EXIT_BAD;
            o.db[o.n_db++] = optarg;
            break;
        case 'x':
            o.dbx = optarg;
            break;
        case 'V':
            o.variable = optarg;
            break;
        default:
            tlc_report_option_error("secureboot vars", argv);
            return TLC_EXIT_BAD;
        }
    }
    if (strcmp(verb, "show") == 0) {
        if (optind >= argc) {
            tlc_report("secureboot vars show", "no FILE given");
            return TLC_EXIT_BAD;
        }
        int status = TLC_EXIT_OK;
        for (int i = optind; i < argc; i++) {
            int r = show_one(argv[i], o.json);
            if (r > status)
                status = r;
        }
        return status;
    }
    if (strcmp(verb, "enroll") == 0 || strcmp(verb, "clear") == 0) {
        if (!o.template_path || !o.out || optind < argc) {
            tlc_report(NULL, "secureboot vars %s: needs --template F and -o OUT", verb);
            return TLC_EXIT_BAD;
        }
        if (strcmp(verb, "clear") == 0)
            return clear(&o);
        if (o.microsoft == (o.pk || o.n_kek || o.n_db) ||
            (!o.microsoft && (!o.pk || !o.n_kek || !o.n_db))) {
            tlc_report("secureboot vars enroll", "give --microsoft, or --pk, --kek and "
                                                 "--db");
            return TLC_EXIT_BAD;
        }
        return enroll(&o);
    }
    if (strcmp(verb, "apply-update") == 0) {
        if (!o.vars || !o.out || optind >= argc) {
            tlc_report("secureboot vars apply-update", "needs --vars F, UPDATE... and "
                                                       "-o OUT");
            return TLC_EXIT_BAD;
        }
        if (o.variable && strcmp(o.variable, "db") != 0 && strcmp(o.variable, "dbx") != 0) {
            tlc_report("secureboot vars apply-update", "--variable is db or dbx");
            return TLC_EXIT_BAD;
        }
        return apply_update(&o, argv + optind, argc - optind);
    }
    tlc_report("secureboot vars", "unknown verb \"%s\"", verb);
    return TLC_EXIT_BAD;
}
