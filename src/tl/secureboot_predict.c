/* `tl secureboot predict --vars VARS.fd CHAIN...`: the PCR 7 records and
 * value, and the PCR 4 application digests, a node with this store and this
 * boot chain will measure. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "secureboot_cmd.h"
#include "tl/eventlog.h"
#include "tl/predict.h"
#include "tl/secureboot.h"
#include "tl/util.h"

int secureboot_predict_cmd(int argc, char **argv)
{
    static const struct option options[] = {
        {"vars", required_argument, NULL, 'v'},
        {0},
    };
    const char *vars = NULL;
    bool json = tlc_output_wants_json(); /* --json, --output, --query */
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (c == 'v')
            vars = optarg;
        else {
            tlc_report_option_error("secureboot predict", argv);
            return TLC_EXIT_BAD;
        }
    }
    int n = argc - optind;
    if (!vars || n <= 0) {
        tlc_report("secureboot predict", "needs --vars VARS.fd and CHAIN_FILE...");
        return TLC_EXIT_BAD;
    }
    if (n > 8) {
        tlc_report("secureboot predict", "at most 8 images");
        return TLC_EXIT_BAD;
    }
    struct store_file s;
    struct tl_error err = {0};
    if (store_load(vars, &s, &err) < 0)
        return tlc_fail(TLC_EXIT_BAD, &err);

    int status = TLC_EXIT_BAD;
    uint8_t *bufs[8] = {0};
    struct tl_pe pes[8];
    const struct tl_pe *images[8];
    int loaded = 0;
    struct tl_sig_db db = {0}, dbx = {0};
    struct tl_sb_verdict verdicts[8];
    struct tl_prediction p = {0};
    static const uint16_t algs[] = {TL_ALG_SHA1, TL_ALG_SHA256, TL_ALG_SHA384, TL_ALG_SHA512};

    for (; loaded < n; loaded++) {
        size_t len;
        const char *path = argv[optind + loaded];
        if (tlc_read_file(path, &bufs[loaded], &len) < 0)
            goto out;
        if (tl_pe_parse(bufs[loaded], len, &pes[loaded], &err) < 0) {
            tlc_report_error(path, &err);
            free(bufs[loaded]);
            bufs[loaded] = NULL;
            goto out;
        }
        images[loaded] = &pes[loaded];
    }
    if (store_sig_db(&s, "db", &db, NULL, NULL, &err) < 0 ||
        store_sig_db(&s, "dbx", &dbx, NULL, NULL, &err) < 0) {
        tlc_report_error(NULL, &err);
        goto out;
    }
    struct tl_sb_keys keys = {
        .db = &db,
        .dbx = &dbx,
        .secure_boot_off = !tl_varstore_find(&s.vs, "PK", &TL_EFI_GLOBAL_VARIABLE_GUID),
    };
    int denied = tl_secureboot_check_chain(images, NULL, (size_t)n, &keys, 0, NULL, verdicts, &err);
    if (denied < 0) {
        tlc_report_error(argv[optind], &err);
        goto out;
    }
    if (denied > 0) {
        for (int i = 0; i < n; i++)
            if (!verdicts[i].allowed)
                tlc_report(argv[optind + i], "%s would not boot: %s", verdicts[i].component,
                           verdicts[i].reason);
        status = TLC_EXIT_FAIL;
        goto out;
    }
    if (tl_predict(&s.vs, images, verdicts, (size_t)n, algs, TL_ARRAY_SIZE(algs), NULL, &p, &err) <
        0) {
        tlc_report_error(vars, &err);
        goto out;
    }
    json_t *events = json_array(), *pcr7 = json_object(), *apps = json_array();
    if (!json)
        printf("PCR 7 records:\n");
    for (size_t i = 0; i < p.n_events; i++) {
        json_t *dg = json_object();
        for (unsigned b = 0; b < p.n_banks; b++) {
            uint8_t d[TL_DIGEST_MAX];
            struct tl_hasher *h = tl_hasher_new();
            int k =
                h ? tl_hasher_digest(h, p.algs[b], p.events[i].data, p.events[i].data_len, d) : -1;
            tl_hasher_free(h);
            if (k > 0)
                json_object_set_new(dg, tl_alg_name(p.algs[b]), tlc_json_hex(d, (size_t)k));
        }
        if (!json)
            printf("  %-32s %s %s\n", tl_event_type_name(p.events[i].type), p.events[i].what,
                   json_string_value(json_object_get(dg, "sha256")));
        json_array_append_new(
            events,
            json_pack("{s:I, s:s, s:s, s:o, s:o}", "pcr", (json_int_t)p.events[i].pcr, "type",
                      tl_event_type_name(p.events[i].type), "what", p.events[i].what, "data",
                      tlc_json_hex(p.events[i].data, p.events[i].data_len), "digests", dg));
    }
    for (unsigned b = 0; b < p.n_banks; b++) {
        size_t size = tl_alg_digest_size(p.algs[b]);
        json_object_set_new(pcr7, tl_alg_name(p.algs[b]), tlc_json_hex(p.pcr7[b], size));
        if (!json) {
            char hex[2 * TL_DIGEST_MAX + 1];
            tl_hex_encode(p.pcr7[b], size, hex);
            printf("PCR 7 %-7s %s\n", tl_alg_name(p.algs[b]), hex);
        }
    }
    if (!json)
        printf("PCR 4 applications:\n");
    for (size_t i = 0; i < p.n_apps; i++) {
        json_t *dg = json_object();
        for (unsigned b = 0; b < p.n_banks; b++)
            json_object_set_new(dg, tl_alg_name(p.algs[b]),
                                tlc_json_hex(p.apps[i].digest[b], tl_alg_digest_size(p.algs[b])));
        if (!json)
            printf("  %-8s sha256 %s\n", p.apps[i].component,
                   json_string_value(json_object_get(dg, "sha256")));
        json_array_append_new(apps, json_pack("{s:s, s:s, s:o}", "component", p.apps[i].component,
                                              "file", argv[optind + (int)i], "digests", dg));
    }
    if (json)
        tlc_json_print(json_pack("{s:s, s:o, s:o, s:o}", "vars", vars, "pcr7_events", events,
                                 "pcr7", pcr7, "applications", apps));
    else {
        json_decref(events);
        json_decref(pcr7);
        json_decref(apps);
    }
    status = TLC_EXIT_OK;
out:
    tl_prediction_done(&p);
    tl_sig_db_done(&db);
    tl_sig_db_done(&dbx);
    for (int i = 0; i < loaded; i++) {
        tl_pe_done(&pes[i]);
        free(bufs[i]);
    }
    store_done(&s);
    return status;
}
