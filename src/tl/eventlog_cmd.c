/* `tl eventlog show|replay|state FILE...`: parse, check, replay and read
 * the boot state of TCG event logs. Exit 0 all pass, 1 any PCR or record
 * mismatch, 2 any file unreadable or malformed (see docs/cli.md). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eventlog_cmd.h"
#include "tl/util.h"

enum verb { VERB_SHOW, VERB_REPLAY, VERB_STATE };

static void usage(FILE *f)
{
    fputs("usage: tl eventlog show FILE... [--json]\n"
          "       tl eventlog replay FILE... [--expect PCRS] [--json]\n"
          "       tl eventlog state FILE... [--json]\n"
          "\n"
          "FILE is a binary TCG event log (SHA-1 or crypto-agile), e.g.\n"
          "/sys/kernel/security/tpm0/binary_bios_measurements; - reads stdin.\n"
          "PCRS holds PCR values: \"PCR sha256 0 <hex>\" lines, tpm2_pcrread YAML,\n"
          "or the JSON of replay --json.\n"
          "Exit status: 0 ok, 1 a PCR or record integrity mismatch, 2 bad input.\n",
          f);
}

static int load_expect(const char *path, struct tl_pcr_values *out)
{
    _cleanup_free_ uint8_t *buf = NULL;
    size_t len;
    struct tl_error err = {0};
    if (tlc_read_file(path, &buf, &len) < 0)
        return -1;
    if (tl_pcr_values_parse((const char *)buf, len, out, &err) < 0) {
        tlc_report_error(path, &err);
        return -1;
    }
    return 0;
}

int tlc_cmd_eventlog(int argc, char **argv)
{
    static const struct option options[] = {

        {"expect", required_argument, NULL, 'e'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *expect_file = NULL;
    bool json = false;
    int c;

    if (argc < 2) {
        tlc_report("eventlog", "no verb given (show, replay, state; try --help)");
        return TLC_EXIT_BAD;
    }
    const char *verb_name = argv[1];
    enum verb verb;
    if (strcmp(verb_name, "show") == 0)
        verb = VERB_SHOW;
    else if (strcmp(verb_name, "replay") == 0)
        verb = VERB_REPLAY;
    else if (strcmp(verb_name, "state") == 0)
        verb = VERB_STATE;
    else if (strcmp(verb_name, "--help") == 0 || strcmp(verb_name, "-h") == 0) {
        usage(stdout);
        return TLC_EXIT_OK;
    } else {
        tlc_report("eventlog", "unknown verb \"%s\" (show, replay, state)", verb_name);
        return TLC_EXIT_BAD;
    }

    argc--;
    argv++;
    optind = 1;
    opterr = 0;
    json = tlc_output_wants_json(); /* --json, --output, --query */
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (c) {
        case 'e':
            if (verb != VERB_REPLAY) {
                tlc_report(NULL, "eventlog %s: --expect belongs to replay", verb_name);
                return TLC_EXIT_BAD;
            }
            expect_file = optarg;
            break;
        case 'h':
            usage(stdout);
            return TLC_EXIT_OK;
        default:
            tlc_report_option_error("eventlog", argv);
            return TLC_EXIT_BAD;
        }
    }
    if (optind >= argc) {
        tlc_report(NULL, "eventlog %s: no FILE given", verb_name);
        return TLC_EXIT_BAD;
    }

    struct tl_pcr_values *expect = NULL;
    if (expect_file) {
        expect = malloc(sizeof(*expect));
        if (!expect || load_expect(expect_file, expect) < 0) {
            free(expect);
            return TLC_EXIT_BAD;
        }
        /* The expected-values file may be given under any name; remember it. */
    }

    struct tl_hasher *h = tl_hasher_new();
    int status = TLC_EXIT_OK;
    int n_files = argc - optind;
    for (int i = optind; i < argc; i++) {
        struct analysis a = {.file = argv[i]};
        struct tl_error err = {0};
        int r = analysis_run(&a, verb != VERB_REPLAY, expect, h, &err);
        if (r < 0)
            r = tlc_fail(TLC_EXIT_BAD, &err);
        else
            r = analysis_failed(&a) ? TLC_EXIT_FAIL : TLC_EXIT_OK;
        if (r != TLC_EXIT_BAD) {
            if (a.expect)
                a.expect->file = expect_file;
            if (!json && n_files > 1)
                printf("%s== %s ==\n", i > optind ? "\n" : "", a.file);
            switch (verb) {
            case VERB_SHOW:
                json ? tlc_json_print(eventlog_json_show(&a)) : eventlog_text_show(&a);
                break;
            case VERB_REPLAY:
                json ? tlc_json_print(eventlog_json_replay(&a)) : eventlog_text_replay(&a);
                break;
            case VERB_STATE:
                json ? tlc_json_print(eventlog_json_state(&a)) : eventlog_text_state(&a);
                break;
            }
        }
        if (r > status)
            status = r;
        analysis_done(&a);
    }
    fflush(stdout);
    tl_hasher_free(h);
    free(expect);
    return status;
}
