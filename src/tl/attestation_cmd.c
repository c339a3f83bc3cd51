/* The attestation service's records from the command line (tld's API,
 * client.c):
 *   tl attestation list [--node N] [--limit K] [--json] | show ID [--json]
 *   tl alert list [--node N] [--all] [--json] | show ID [--json] | ack ID [--json]
 *   tl policy show NODE [--json] | learn NODE [--json]
 * Exit status: 0 ok, 1 (attestation show) the verdict is fail, 2 bad usage
 * or a refused request. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "output.h"
#include "tl.h"

struct opts {
    const char *node, *arg;
    long limit;
    bool all, json;
};

static int parse(const char *what, int argc, char **argv, struct opts *o, bool needs_arg,
                 const char *allowed)
{
    static const struct option options[] = {
        {"node", required_argument, NULL, 'n'},
        {"limit", required_argument, NULL, 'l'},
        {"all", no_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    *o = (struct opts){.limit = 100};
    optind = 1;
    opterr = 0;
    int c, idx;
    o->json = tlc_output_wants_json(); /* --json, --output, --query */
    while ((c = getopt_long(argc, argv, "h", options, &idx)) != -1) {
        if (c == 'h')
            return 1;
        if (c == '?' || c == ':') {
            tlc_report_option_error(what, argv);
            return -1;
        }
        if (!strchr(allowed, c)) {
            tlc_report(what, "--%s does not apply here", options[idx].name);
            return -1;
        }
        switch (c) {
        case 'n':
            o->node = optarg;
            break;
        case 'l':
            o->limit = strtol(optarg, NULL, 10);
            break;
        case 'a':
            o->all = true;
            break;
        }
    }
    if (needs_arg) {
        if (optind >= argc) {
            tlc_report(what, "an argument is required (try --help)");
            return -1;
        }
        o->arg = argv[optind++];
    }
    if (optind < argc) {
        tlc_report(what, "unexpected argument \"%s\"", argv[optind]);
        return -1;
    }
    if (o->limit <= 0 || o->limit > 10000) {
        tlc_report(what, "--limit takes 1-10000");
        return -1;
    }
    return 0;
}

static const char *str(const json_t *j, const char *k)
{
    const char *s = json_string_value(json_object_get(j, k));
    return s ? s : "";
}

static int get(const char *what, const char *method, const char *path, json_t **out)
{
    struct tlc_client c;
    struct tl_error err = {0};
    if (tlc_client_open(&c, what, &err) < 0)
        return tlc_report_error(NULL, &err), -1;
    long status = 0;
    json_t *body = strcmp(method, "POST") == 0 ? json_object() : NULL;
    int r = tlc_client_call(&c, method, path, body, &status, out, NULL, NULL, what, &err);
    json_decref(body);
    if (r < 0)
        return tlc_report_error(NULL, &err), -1;
    if (status >= 300 || !*out) {
        tlc_report(what, "%s", *out ? str(*out, "error") : "refused");
        json_decref(*out);
        return -1;
    }
    return 0;
}

static bool id_ok(const char *what, const char *s)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*end || v <= 0) {
        tlc_report(what, "\"%s\" is not an id", s);
        return false;
    }
    return true;
}

/* A list verb's table: one row per element of tld's answer[key], the
 * record's id first and its components (compact JSON) last. */
struct record_table {
    const char *key;
    void (*header)(void);
    void (*row)(const json_t *rec, long long id, const char *components);
};

static void attestation_header(void)
{
    printf("%-6s %-16s %-7s %-11s %s\n", "ID", "NODE", "VERDICT", "SECURE-BOOT", "COMPONENTS");
}

static void attestation_row(const json_t *a, long long id, const char *components)
{
    printf("%-6lld %-16s %-7s %-11s %s\n", id, str(a, "node"), str(a, "verdict"),
           json_is_true(json_object_get(a, "secure_boot")) ? "on" : "off", components);
}

static const struct record_table attestation_table = {"attestations", attestation_header,
                                                      attestation_row};

static void alert_header(void)
{
    printf("%-5s %-16s %-12s %-5s %s\n", "ID", "NODE", "BOOT", "ACKED", "COMPONENTS");
}

static void alert_row(const json_t *a, long long id, const char *components)
{
    printf("%-5lld %-16s %-12s %-5s %s\n", id, str(a, "node"), str(a, "boot"),
           json_is_true(json_object_get(a, "acknowledged")) ? "yes" : "no", components);
}

static const struct record_table alert_table = {"alerts", alert_header, alert_row};

/* GET path, then tld's answer as one JSON line (json) or as t's table. */
static int list_records(const char *what, const char *path, bool json, const struct record_table *t)
{
    json_t *out;
    if (get(what, "GET", path, &out) < 0)
        return TLC_EXIT_BAD;
    if (json) {
        tlc_json_print(out);
        return TLC_EXIT_OK;
    }
    size_t i;
    json_t *a;
    if (json_array_size(json_object_get(out, t->key)))
        t->header(); /* an empty table prints nothing, as az's */
    json_array_foreach(json_object_get(out, t->key), i, a)
    {
        char *comps = json_dumps(json_object_get(a, "components"), JSON_COMPACT);
        t->row(a, (long long)json_integer_value(json_object_get(a, "id")), comps ? comps : "");
        free(comps);
    }
    json_decref(out);
    return TLC_EXIT_OK;
}

static void print_findings(const json_t *findings)
{
    size_t i;
    json_t *f;
    json_array_foreach(findings, i, f)
    {
        printf("  finding: %s (PCR %lld", str(f, "component"),
               (long long)json_integer_value(json_object_get(f, "pcr")));
        if (json_is_integer(json_object_get(f, "event")))
            printf(", event %lld", (long long)json_integer_value(json_object_get(f, "event")));
        printf("): %s\n", str(f, "rule"));
        if (*str(f, "expected") || *str(f, "actual"))
            printf("    expected %s\n    actual   %s\n", str(f, "expected"), str(f, "actual"));
    }
}

int tlc_cmd_attestation(int argc, char **argv)
{
    struct opts o;
    const char *verb = argc > 1 ? argv[1] : "";
    bool list = strcmp(verb, "list") == 0, show = strcmp(verb, "show") == 0;
    if (!list && !show) {
        tlc_report("attestation", "%s verb \"%s\" (list, show)", *verb ? "unknown" : "no", verb);
        return TLC_EXIT_BAD;
    }
    int r = parse(list ? "attestation list" : "attestation show", argc - 1, argv + 1, &o, show,
                  list ? "nlj" : "j");
    if (r)
        return r > 0 ? (puts("usage: tl attestation list [--node N] [--limit K] [--json] | show "
                             "ID [--json]"),
                        TLC_EXIT_OK)
                     : TLC_EXIT_BAD;
    char path[256];
    json_t *out;
    if (list) {
        snprintf(path, sizeof(path), "/v1/attestations?limit=%ld%s%s", o.limit,
                 o.node ? "&node=" : "", o.node ? o.node : "");
        return list_records("attestation list", path, o.json, &attestation_table);
    }
    if (!id_ok("attestation show", o.arg))
        return TLC_EXIT_BAD;
    snprintf(path, sizeof(path), "/v1/attestations/%s", o.arg);
    if (get("attestation show", "GET", path, &out) < 0)
        return TLC_EXIT_BAD;
    bool pass = strcmp(str(out, "verdict"), "pass") == 0;
    if (o.json) {
        tlc_json_print(out);
    } else {
        printf("attestation %s: node %s, verdict %s, boot %s, secure boot %s\n", o.arg,
               str(out, "node"), str(out, "verdict"), str(out, "boot"),
               json_is_true(json_object_get(out, "secure_boot")) ? "on" : "off");
        printf("  pcr digest %s\n  components digest %s\n", str(out, "pcr_digest"),
               str(out, "components_digest"));
        print_findings(json_object_get(out, "findings"));
        json_decref(out);
    }
    return pass ? TLC_EXIT_OK : TLC_EXIT_FAIL;
}

int tlc_cmd_alert(int argc, char **argv)
{
    struct opts o;
    const char *verb = argc > 1 ? argv[1] : "";
    bool list = strcmp(verb, "list") == 0, show = strcmp(verb, "show") == 0,
         ack = strcmp(verb, "ack") == 0;
    if (!list && !show && !ack) {
        tlc_report("alert", "%s verb \"%s\" (list, show, ack)", *verb ? "unknown" : "no", verb);
        return TLC_EXIT_BAD;
    }
    char what[32];
    snprintf(what, sizeof(what), "alert %s", verb);
    int r = parse(what, argc - 1, argv + 1, &o, !list, list ? "naj" : "j");
    if (r)
        return r > 0 ? (puts("usage: tl alert list [--node N] [--all] [--json] | show ID [--json] "
                             "| ack ID [--json]"),
                        TLC_EXIT_OK)
                     : TLC_EXIT_BAD;
    char path[256];
    json_t *out;
    if (list) {
        snprintf(path, sizeof(path), "/v1/alerts?all=%d%s%s", o.all ? 1 : 0, o.node ? "&node=" : "",
                 o.node ? o.node : "");
        return list_records(what, path, o.json, &alert_table);
    }
    if (!id_ok(what, o.arg))
        return TLC_EXIT_BAD;
    snprintf(path, sizeof(path), ack ? "/v1/alerts/%s/ack" : "/v1/alerts/%s", o.arg);
    if (get(what, ack ? "POST" : "GET", path, &out) < 0)
        return TLC_EXIT_BAD;
    if (o.json) {
        tlc_json_print(out);
        return TLC_EXIT_OK;
    }
    char *comps = json_dumps(json_object_get(out, "components"), JSON_COMPACT);
    printf("alert %s: node %s, boot %s, %s; components %s\n", o.arg, str(out, "node"),
           str(out, "boot"),
           json_is_true(json_object_get(out, "acknowledged")) ? "acknowledged" : "open",
           comps ? comps : "[]");
    free(comps);
    print_findings(json_object_get(out, "findings"));
    json_decref(out);
    return TLC_EXIT_OK;
}

int tlc_cmd_policy(int argc, char **argv)
{
    struct opts o;
    const char *verb = argc > 1 ? argv[1] : "";
    bool show = strcmp(verb, "show") == 0, learn = strcmp(verb, "learn") == 0;
    if (strcmp(verb, "rules") == 0)
        return tlc_cmd_policy_rules(argc - 1, argv + 1);
    if (!show && !learn) {
        tlc_report("policy", "%s verb \"%s\" (show, learn, rules)", *verb ? "unknown" : "no", verb);
        return TLC_EXIT_BAD;
    }
    char what[32];
    snprintf(what, sizeof(what), "policy %s", verb);
    int r = parse(what, argc - 1, argv + 1, &o, true, "j");
    if (r)
        return r > 0 ? (puts("usage: tl policy show NODE [--json] | learn NODE [--json]"),
                        TLC_EXIT_OK)
                     : TLC_EXIT_BAD;
    if (strpbrk(o.arg, "/?#% ")) {
        tlc_report(what, "\"%s\" is not a node name", o.arg);
        return TLC_EXIT_BAD;
    }
    char path[256];
    json_t *out;
    snprintf(path, sizeof(path), "/v1/nodes/%s/policy%s", o.arg, learn ? "/learn" : "");
    if (get(what, learn ? "POST" : "GET", path, &out) < 0)
        return TLC_EXIT_BAD;
    if (learn) {
        json_decref(out);
        snprintf(path, sizeof(path), "/v1/nodes/%s/policy", o.arg);
        if (get(what, "GET", path, &out) < 0)
            return TLC_EXIT_BAD;
    }
    if (o.json) {
        tlc_json_print(out);
        return TLC_EXIT_OK;
    }
    printf("node %s: reference values %s (%s)\n", o.arg, str(out, "source"),
           str(json_object_get(out, "rules"), "image"));
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(out, "reference"), i, c)
        printf("  %-10s %-24s sha256 %s\n", str(c, "component"), str(c, "path"), str(c, "sha256"));
    printf("  kernel command line: %s\n", str(out, "kernel_cmdline"));
    printf("  secure boot required: %s\n",
           json_is_true(json_object_get(json_object_get(out, "rules"), "secure_boot")) ? "yes"
                                                                                       : "no");
    const json_t *bl = json_object_get(json_object_get(out, "baseline"), "sha256");
    printf("  baseline: %s\n", bl ? "learned (PCRs 0-7, sha256)" : "none yet");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)bl, k, v) printf("    PCR %s %s\n", k, json_string_value(v));
    json_decref(out);
    return TLC_EXIT_OK;
}
