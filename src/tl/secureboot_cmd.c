/* `tl secureboot digest|verify|predict` and the dispatch of `vars`: would a
 * boot chain start under these firmware keys, and which component fails. */
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "secureboot_chain.h"
#include "secureboot_cmd.h"
#include "tl/modsig.h"
#include "tl/pe.h"
#include "tl/secureboot.h"
#include "tl/sigverify.h"
#include "tl/util.h"
#include "tl/x509.h"
#include "tlhost/file.h"

static void usage(FILE *f)
{
    fputs("usage: tl secureboot digest FILE... [--json]\n"
          "       tl secureboot verify --vars VARS.fd [--dbx-update F]... [--mok F] [--mokx F]\n"
          "                            [--sbat-level F] CHAIN_FILE... [--modules F]...\n"
          "                            [--module-cert PEM]... [--json]\n"
          "       tl secureboot predict --vars VARS.fd CHAIN_FILE... [--json]\n"
          "       tl secureboot vars show FILE... [--json]\n"
          "       tl secureboot vars enroll --template F (--microsoft | --pk C --kek C... --db "
          "C...)\n"
          "                                 [--dbx F] -o OUT\n"
          "       tl secureboot vars clear --template F -o OUT\n"
          "       tl secureboot vars apply-update --vars F UPDATE... [--variable db|dbx] -o OUT\n"
          "\n"
          "CHAIN_FILE: PE images in load order (shim, grub, kernel). Exit status: 0 pass,\n"
          "1 a component fails, 2 bad input.\n",
          f);
}

/* ---- digest ---- */

struct pe_file {
    const char *path;
    uint8_t *buf; /* read (pipes, "-"), or NULL when mapped */
    struct tlh_file_map map;
    size_t len;
    struct tl_pe pe;
};

static int pe_load(const char *path, struct pe_file *f)
{
    *f = (struct pe_file){.path = path};
    struct tl_error err = {0};
    int m = strcmp(path, "-") == 0 ? 0 : tlh_file_map(path, TLC_MAX_INPUT, &f->map, &err);
    if (m < 0) {
        tlc_report_error(NULL, &err);
        return -1;
    }
    if (m == 0 && tlc_read_file(path, &f->buf, &f->len) < 0)
        return -1;
    const uint8_t *data = m ? f->map.buf : f->buf;
    size_t len = m ? f->map.len : f->len;
    if (tl_pe_parse(data, len, &f->pe, &err) < 0) {
        tlc_report_error(path, &err);
        tlh_file_unmap(&f->map);
        free(f->buf);
        f->buf = NULL;
        return -1;
    }
    f->len = len;
    return 0;
}

static void pe_file_done(struct pe_file *f)
{
    tl_pe_done(&f->pe);
    tlh_file_unmap(&f->map);
    free(f->buf);
}

static const char *file_base(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* The four Authenticode digests of one image. The two SHA-512 family
 * digests (each about 8 ms for an 8 MiB kernel here) run on a second
 * thread with its own hasher while this one does SHA-1 and SHA-256 (about
 * 5 ms each with SHA-NI): the digests are independent reads of the same
 * mapped image, so the verb's wall time is the slower half, not the sum. */
static const uint16_t digest_algs[] = {TL_ALG_SHA1, TL_ALG_SHA256, TL_ALG_SHA384, TL_ALG_SHA512};
#define DIGEST_SPLIT 2 /* digest_algs[DIGEST_SPLIT..] on the second thread */

struct digest_job {
    const struct tl_pe *pe;
    struct tl_hasher *h;
    size_t from, to;
    uint8_t d[TL_ARRAY_SIZE(digest_algs)][TL_DIGEST_MAX];
    int n[TL_ARRAY_SIZE(digest_algs)];
    struct tl_error err;
    int r;
};

static void *digest_run(void *arg)
{
    struct digest_job *j = arg;
    for (size_t i = j->from; i < j->to && j->r == 0; i++) {
        j->n[i] = tl_pe_authenticode_digest(j->pe, j->h, digest_algs[i], j->d[i], &j->err);
        if (j->n[i] < 0)
            j->r = j->n[i];
    }
    return NULL;
}

/* All four digests into job->d/n, or -errno with job->err (the first
 * failure, in algorithm order). */
static int digest_all(const struct tl_pe *pe, struct tl_hasher *h, struct digest_job *job)
{
    struct digest_job other = {.pe = pe, .from = DIGEST_SPLIT, .to = TL_ARRAY_SIZE(digest_algs)};
    *job = (struct digest_job){.pe = pe, .h = h, .from = 0, .to = DIGEST_SPLIT};
    pthread_t th;
    other.h = tl_hasher_new();
    bool threaded = other.h && pthread_create(&th, NULL, digest_run, &other) == 0;
    if (!threaded)
        job->to = TL_ARRAY_SIZE(digest_algs); /* all on this thread */
    digest_run(job);
    if (threaded) {
        pthread_join(th, NULL);
        if (job->r == 0 && other.r < 0) {
            job->r = other.r;
            job->err = other.err;
        }
        for (size_t i = DIGEST_SPLIT; i < TL_ARRAY_SIZE(digest_algs); i++) {
            memcpy(job->d[i], other.d[i], sizeof(job->d[i]));
            job->n[i] = other.n[i];
        }
    }
    tl_hasher_free(other.h);
    return job->r;
}

static int digest_one(const char *path, bool json, struct tl_hasher *h)
{
    struct pe_file f;
    if (pe_load(path, &f) < 0)
        return TLC_EXIT_BAD;
    struct digest_job job;
    if (digest_all(&f.pe, h, &job) < 0) {
        tlc_report_error(path, &job.err);
        pe_file_done(&f);
        return TLC_EXIT_BAD;
    }
    json_t *o = json_object(), *digests = json_object(), *sigs = json_array();
    const char *component = tl_secureboot_component_name(&f.pe);
    json_object_set_new(o, "file", json_string(path));
    json_object_set_new(o, "component", component ? json_string(component) : json_null());
    json_object_set_new(o, "format", json_string(f.pe.pe32_plus ? "pe32+" : "pe32"));
    if (!json)
        printf("%s%s%s%s\n", path, component ? " (" : "", component ? component : "",
               component ? ")" : "");
    for (size_t i = 0; i < TL_ARRAY_SIZE(digest_algs); i++) {
        char hex[2 * TL_DIGEST_MAX + 1];
        tl_hex_encode(job.d[i], (size_t)job.n[i], hex);
        json_object_set_new(digests, tl_alg_name(digest_algs[i]), json_string(hex));
        if (!json)
            printf("  %-7s %s\n", tl_alg_name(digest_algs[i]), hex);
    }
    for (size_t i = 0; i < f.pe.n_signatures; i++) {
        const struct tl_pe_signature *s = &f.pe.signatures[i];
        struct tl_sigcheck chk = {0};
        if (s->type == TL_WIN_CERT_TYPE_PKCS_SIGNED_DATA)
            tl_pkcs7_check(s->data, s->data_len, (const uint8_t *)"", 0, NULL, 0, 0, &chk, NULL);
        json_array_append_new(sigs, json_pack("{s:I, s:i, s:s}", "offset", (json_int_t)s->offset,
                                              "type", s->type, "signer", chk.signer_subject));
        if (!json)
            printf("  signature %zu: %s\n", i + 1,
                   chk.signer_subject[0] ? chk.signer_subject : "(signer not found)");
        tl_sigcheck_done(&chk);
    }
    json_object_set_new(o, "digests", digests);
    json_object_set_new(o, "signatures", sigs);
    json_object_set_new(
        o, "sbat", f.pe.sbat ? json_stringn((const char *)f.pe.sbat, f.pe.sbat_len) : json_null());
    if (!json && f.pe.sbat)
        printf("  .sbat:\n    %.*s\n", (int)f.pe.sbat_len, f.pe.sbat);
    if (json)
        tlc_json_print(o);
    else
        json_decref(o);
    pe_file_done(&f);
    return TLC_EXIT_OK;
}

/* ---- verify ---- */

struct verify_opts {
    const char *vars, *mok, *mokx, *sbat_level;
    const char *dbx_updates[16];
    size_t n_dbx_updates;
    const char *modules[256];
    size_t n_modules;
    const char *module_certs[8];
    size_t n_module_certs;
    bool json;
};

static json_t *verdict_json(const struct tl_sb_verdict *v, const char *file)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:s, s:s, s:o, s:I}", "component", v->component,
                          "file", file, "verifier", tl_verifier_name(v->verifier), "allowed",
                          v->allowed, "reason", v->reason, "source", v->source, "sha256",
                          tlc_json_hex(v->sha256, 32), "signatures", (json_int_t)v->n_signatures);
    json_object_set_new(o, "certificate",
                        v->by_certificate ? json_pack("{s:s, s:o}", "subject", v->cert_subject,
                                                      "sha256", tlc_json_hex(v->cert_sha256, 32))
                                          : json_null());
    json_object_set_new(o, "hash",
                        v->by_hash ? json_pack("{s:s, s:o}", "kind", tl_sig_kind_name(v->hash_kind),
                                               "value", tlc_json_hex(v->hash, v->hash_len))
                                   : json_null());
    json_object_set_new(o, "signer",
                        v->signer_subject[0] ? json_string(v->signer_subject) : json_null());
    json_object_set_new(o, "warning", v->warning[0] ? json_string(v->warning) : json_null());
    return o;
}

/* Kernel modules: with Secure Boot on, Debian's kernel is locked down and
 * loads only modules whose signature verifies against its keys. */
static int verify_modules(const struct verify_opts *o, json_t *out, int *denied)
{
    struct tl_cert_ref certs[8];
    uint8_t *ders[8] = {0};
    size_t n = 0;
    int status = TLC_EXIT_OK;
    for (size_t i = 0; i < o->n_module_certs; i++) {
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len;
        struct tl_error err = {0};
        if (tlc_read_file(o->module_certs[i], &buf, &len) < 0) {
            status = TLC_EXIT_BAD;
            goto out;
        }
        if (tl_x509_to_der(buf, len, &ders[n], &certs[n].len, &err) < 0) {
            tlc_report_error(o->module_certs[i], &err);
            status = TLC_EXIT_BAD;
            goto out;
        }
        certs[n].der = ders[n];
        n++;
    }
    for (size_t i = 0; i < o->n_modules; i++) {
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len;
        struct tl_modsig_result res;
        struct tl_error err = {0};
        if (tlc_read_file(o->modules[i], &buf, &len) < 0) {
            status = TLC_EXIT_BAD;
            goto out;
        }
        if (tl_modsig_verify(buf, len, certs, n, &res, &err) < 0) {
            tlc_report_error(o->modules[i], &err);
            status = TLC_EXIT_BAD;
            goto out;
        }
        bool loads = tl_modsig_loads(&res, true);
        *denied += !loads;
        json_array_append_new(
            out, json_pack("{s:s, s:s, s:b, s:s, s:s, s:s}", "module", file_base(o->modules[i]),
                           "file", o->modules[i], "allowed", loads, "status",
                           tl_modsig_status_name(res.status), "reason", res.reason, "signer",
                           res.signer_subject[0] ? res.signer_subject : res.signer_issuer));
    }
out:
    for (size_t i = 0; i < n; i++)
        free(ders[i]);
    return status;
}

static int verify_chain(const struct verify_opts *o, char **files, int n_files)
{
    const struct sb_chain_sources src = {.vars = o->vars,
                                         .dbx_updates = o->dbx_updates,
                                         .n_dbx_updates = o->n_dbx_updates,
                                         .mok = o->mok,
                                         .mokx = o->mokx,
                                         .sbat_level = o->sbat_level};
    struct sb_chain_keys k;
    json_t *applied = json_array();
    struct tl_error err = {0};
    int status = sb_chain_keys_load(&src, &k, applied, &err) < 0 ? tlc_fail(TLC_EXIT_BAD, &err)
                                                                 : TLC_EXIT_OK;
    struct pe_file *pes = calloc((size_t)n_files, sizeof(*pes));
    const struct tl_pe **images = calloc((size_t)n_files, sizeof(*images));
    struct tl_sb_verdict *verdicts = calloc((size_t)n_files, sizeof(*verdicts));

    if (status != TLC_EXIT_OK)
        goto out;
    if (!pes || !images || !verdicts) {
        status = TLC_EXIT_BAD;
        goto out;
    }
    for (int i = 0; i < n_files; i++) {
        if (pe_load(files[i], &pes[i]) < 0) {
            status = TLC_EXIT_BAD;
            goto out;
        }
        images[i] = &pes[i].pe;
    }

    int denied = tl_secureboot_check_chain(images, NULL, (size_t)n_files, &k.keys, time(NULL), NULL,
                                           verdicts, &err);
    if (denied < 0) {
        tlc_report_error(files[0], &err);
        status = TLC_EXIT_BAD;
        goto out;
    }
    json_t *modules = json_array();
    status = verify_modules(o, modules, &denied);
    if (status != TLC_EXIT_OK) {
        json_decref(modules);
        goto out;
    }
    status = denied ? TLC_EXIT_FAIL : TLC_EXIT_OK;
    if (o->json) {
        json_t *arr = json_array();
        for (int i = 0; i < n_files; i++)
            json_array_append_new(arr, verdict_json(&verdicts[i], files[i]));
        tlc_json_print(json_pack("{s:s, s:o, s:o, s:O, s:s}", "vars", o->vars, "components", arr,
                                 "modules", modules, "dbx_updates", applied, "verdict",
                                 denied ? "fail" : "pass"));
    } else {
        json_decref(modules);
        for (int i = 0; i < n_files; i++) {
            const struct tl_sb_verdict *v = &verdicts[i];
            printf("%-8s %-5s %s (%s, by %s)\n", v->component, v->allowed ? "pass" : "FAIL",
                   file_base(files[i]), v->source[0] ? v->source : "-",
                   tl_verifier_name(v->verifier));
            printf("         %s\n", v->reason);
            if (v->warning[0])
                printf("         warning: %s\n", v->warning);
        }
        for (size_t i = 0; i < json_array_size(modules); i++) {
            json_t *m = json_array_get(modules, i);
            printf("%-8s %-5s %s\n         %s\n", "module",
                   json_is_true(json_object_get(m, "allowed")) ? "pass" : "FAIL",
                   json_string_value(json_object_get(m, "module")),
                   json_string_value(json_object_get(m, "reason")));
        }
        printf("verdict: %s\n", denied ? "FAIL" : "pass");
    }
out:
    for (int i = 0; pes && i < n_files; i++)
        pe_file_done(&pes[i]);
    free(pes);
    free(images);
    free(verdicts);
    json_decref(applied);
    sb_chain_keys_done(&k);
    return status;
}

/* digest and verify: argv[0] is the verb. */
static int digest_or_verify(int argc, char **argv)
{
    const char *verb = argv[0];
    static const struct option options[] = {

        {"vars", required_argument, NULL, 'v'},
        {"dbx-update", required_argument, NULL, 'u'},
        {"mok", required_argument, NULL, 'm'},
        {"mokx", required_argument, NULL, 'x'},
        {"sbat-level", required_argument, NULL, 's'},
        {"modules", required_argument, NULL, 'M'},
        {"module-cert", required_argument, NULL, 'C'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    struct verify_opts o = {0};
    int c;
    optind = 1;
    opterr = 0;
    o.json = tlc_output_wants_json(); /* --json, --output, --query */
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (c) {
        case 'v':
            o.vars = optarg;
            break;
        case 'u':
            if (o.n_dbx_updates == TL_ARRAY_SIZE(o.dbx_updates)) {
                tlc_report("secureboot", "too many --dbx-update");
                return TLC_EXIT_BAD;
            }
            o.dbx_updates[o.n_dbx_updates++] = optarg;
            break;
        case 'm':
            o.mok = optarg;
            break;
        case 'x':
            o.mokx = optarg;
            break;
        case 's':
            o.sbat_level = optarg;
            break;
        case 'M':
            if (o.n_modules == TL_ARRAY_SIZE(o.modules)) {
                tlc_report("secureboot", "too many --modules");
                return TLC_EXIT_BAD;
            }
            o.modules[o.n_modules++] = optarg;
            break;
        case 'C':
            if (o.n_module_certs == TL_ARRAY_SIZE(o.module_certs)) {
                tlc_report("secureboot", "too many --module-cert");
                return TLC_EXIT_BAD;
            }
            o.module_certs[o.n_module_certs++] = optarg;
            break;
        case 'h':
            usage(stdout);
            return TLC_EXIT_OK;
        default:
            tlc_report_option_error("secureboot", argv);
            return TLC_EXIT_BAD;
        }
    }
    if (optind >= argc) {
        tlc_report(NULL, "secureboot %s: no FILE given", verb);
        return TLC_EXIT_BAD;
    }
    if (strcmp(verb, "digest") == 0) {
        if (o.vars || o.n_dbx_updates || o.mok || o.mokx || o.sbat_level || o.n_modules ||
            o.n_module_certs) {
            tlc_report("secureboot digest", "takes only FILE... and --json");
            return TLC_EXIT_BAD;
        }
        struct tl_hasher *h = tl_hasher_new();
        int status = TLC_EXIT_OK;
        for (int i = optind; i < argc; i++) {
            int r = digest_one(argv[i], o.json, h);
            if (r > status)
                status = r;
        }
        tl_hasher_free(h);
        return status;
    }
    if (!o.vars) {
        tlc_report("secureboot verify", "--vars VARS.fd is required");
        return TLC_EXIT_BAD;
    }
    return verify_chain(&o, argv + optind, argc - optind);
}

int tlc_cmd_secureboot(int argc, char **argv)
{
    static const struct cli_verb verbs[] = {
        {"digest", digest_or_verify},
        {"verify", digest_or_verify},
        {"predict", secureboot_predict_cmd},
        {"vars", secureboot_vars_cmd},
        {NULL, NULL},
    };
    return cli_dispatch("secureboot", verbs, usage, argc, argv);
}
