/* API tokens from the command line (tld's /v1/tokens, operator only):
 *   tl token create NAME --role reader|operator|relying-party [--json]
 *   tl token list [--json]
 *   tl token delete NAME [--json]
 * The secret is printed once, by create; tld keeps only its SHA-256. A
 * caller elsewhere sends it as "Authorization: Bearer SECRET" (tl itself
 * with TL_TOKEN=SECRET). Exit status: 0 ok, 2 bad usage or a refused
 * request. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "output.h"
#include "tl.h"

static int usage(FILE *f, int status)
{
    fputs("usage: tl token create NAME --role reader|operator|relying-party [--json]\n"
          "       tl token list [--json]\n"
          "       tl token delete NAME [--json]\n"
          "\n"
          "API tokens for callers other than the owner of TL_HOME (who authenticates\n"
          "with TL_HOME/operator.token). create prints the secret once.\n",
          f);
    return status;
}

int tlc_cmd_token(int argc, char **argv)
{
    static const struct option options[] = {
        {"role", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *verb = argc > 1 ? argv[1] : "";
    if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0)
        return usage(stdout, TLC_EXIT_OK);
    bool create = strcmp(verb, "create") == 0, list = strcmp(verb, "list") == 0,
         del = strcmp(verb, "delete") == 0;
    if (!create && !list && !del) {
        tlc_report("token", "%s verb \"%s\" (create, list, delete)", *verb ? "unknown" : "no",
                   verb);
        return TLC_EXIT_BAD;
    }
    const char *role = NULL;
    bool json = tlc_output_wants_json(); /* --json, --output, --query */
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc - 1, argv + 1, "h", options, NULL)) != -1) {
        if (c == 'h')
            return usage(stdout, TLC_EXIT_OK);
        if (c == '?' || c == ':') {
            tlc_report_option_error("token", argv + 1);
            return TLC_EXIT_BAD;
        }
        role = optarg;
    }
    const char *name = optind < argc - 1 ? argv[1 + optind++] : NULL;
    if (optind < argc - 1) {
        tlc_report(NULL, "token %s: unexpected argument \"%s\"", verb, argv[1 + optind]);
        return TLC_EXIT_BAD;
    }
    if ((create || del) && !name) {
        tlc_report(NULL, "token %s: a NAME is required (try --help)", verb);
        return TLC_EXIT_BAD;
    }
    if (list && name) {
        tlc_report("token list", "unexpected argument \"%s\"", name);
        return TLC_EXIT_BAD;
    }
    if (create != (role != NULL)) {
        tlc_report(NULL, "token %s: %s", verb,
                   create ? "--role is required (reader, operator, relying-party)"
                          : "--role applies to create only");
        return TLC_EXIT_BAD;
    }
    char what[32], path[128];
    snprintf(what, sizeof(what), "token %s", verb);
    snprintf(path, sizeof(path), "/v1/tokens%s%s", del ? "/" : "", del ? name : "");
    struct tlc_client cl;
    struct tl_error err = {0};
    if (tlc_client_open(&cl, what, &err) < 0)
        return tlc_fail(TLC_EXIT_BAD, &err);
    json_t *body = create ? json_pack("{s:s, s:s}", "name", name, "role", role) : NULL;
    json_t *out = NULL;
    long status = 0;
    int r = tlc_client_call(&cl,
                            create ? "POST"
                            : del  ? "DELETE"
                                   : "GET",
                            path, body, &status, &out, NULL, NULL, what, &err);
    json_decref(body);
    if (r < 0)
        return tlc_fail(TLC_EXIT_BAD, &err);
    if (status >= 300 || !out) {
        const char *e = json_string_value(json_object_get(out, "error"));
        tlc_report(what, "%s", e ? e : "refused");
        json_decref(out);
        return TLC_EXIT_BAD;
    }
    if (json) {
        tlc_json_print(json_incref(out));
    } else if (create) {
        const char *secret = json_string_value(json_object_get(out, "token"));
        printf("token %s (role %s): %s\n", name, role, secret);
        puts("(shown once: tld keeps only its SHA-256)");
        /* the fleet page reads as a reader; the fragment never leaves the browser */
        if (strcmp(role, "relying-party") != 0)
            printf("fleet page: %s/ui/#token=%s\n", cl.base, secret);
    } else if (del) {
        printf("token %s deleted\n", name);
    } else {
        size_t i;
        json_t *k;
        json_array_foreach(json_object_get(out, "tokens"), i, k)
            printf("%-24s %-14s created %lld\n", json_string_value(json_object_get(k, "name")),
                   json_string_value(json_object_get(k, "role")),
                   (long long)json_integer_value(json_object_get(k, "created")));
    }
    json_decref(out);
    return TLC_EXIT_OK;
}
