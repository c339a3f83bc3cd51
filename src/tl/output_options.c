/* The output convention every verb follows (output.h, docs/cli.md
 * "Output"): --output/-o, --query and --json are taken out of the command
 * line once, by main, before any verb parses its own options; a verb
 * produces its JSON value and hands it to tlc_output_print, which applies
 * the --query (jp) and prints the format. So no verb parses these options
 * or prints JSON by itself, and each verb takes all of them. */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "output.h"
#include "tl.h"

static const char *const formats[] = {"json", "jsonc", "table", "tsv", "yaml", "none", NULL};

/* Verbs whose -o/--output names the file they write (kept as theirs):
 * argv's first words. */
static const char *const file_output_verbs[][3] = {
    {"image", "build", NULL},
    {"attest", "make-credential", NULL},
    {"secureboot", "vars", "enroll"},
    {"secureboot", "vars", "clear"},
    {"secureboot", "vars", "apply-update"},
};

/* The process's convention (tlc_output_use); NULL before main installs it
 * (a unit test calling a verb's printer): defaults then. */
static struct tlc_output *current;

/* "aks nodepool list": the leading words of argv, for error lines. */
static void command_words(int argc, char **argv, char *out, size_t size)
{
    out[0] = 0;
    for (int i = 1; i < argc && i <= 3; i++) {
        const char *w = argv[i];
        if (!islower((unsigned char)w[0]) || strspn(w, "abcdefghijklmnopqrstuvwxyz-") != strlen(w))
            break;
        snprintf(out + strlen(out), size - strlen(out), "%s%s", i > 1 ? " " : "", w);
    }
    if (!out[0])
        snprintf(out, size, "tl");
}

static bool file_output_verb(int argc, char **argv)
{
    for (size_t i = 0; i < sizeof(file_output_verbs) / sizeof(file_output_verbs[0]); i++) {
        bool match = true;
        for (int w = 0; w < 3 && file_output_verbs[i][w] && match; w++)
            match = argc > w + 1 && strcmp(argv[w + 1], file_output_verbs[i][w]) == 0;
        if (match)
            return true;
    }
    return false;
}

/* argv[i] is the option name (len chars): its value, from "=VALUE" or the
 * next argument (*used counts the arguments taken). NULL when missing. */
static const char *option_value(int argc, char **argv, int i, size_t len, int *used)
{
    if (argv[i][len] == '=') {
        *used = 1;
        return argv[i] + len + 1;
    }
    *used = 2;
    return i + 1 < argc ? argv[i + 1] : NULL;
}

int tlc_output_parse(int *argc, char **argv, struct tlc_output *o, struct tl_error *err)
{
    char words[96];
    command_words(*argc, argv, words, sizeof(words));
    *o = (struct tlc_output){0};
    bool own_o = file_output_verb(*argc, argv), json_flag = false;
    for (int i = 1; i < *argc;) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0)
            break;
        size_t len = strcspn(a, "=");
        bool is_output =
            !own_o && ((len == 8 && strncmp(a, "--output", 8) == 0) || strcmp(a, "-o") == 0);
        bool is_query = len == 7 && strncmp(a, "--query", 7) == 0;
        int used = 1;
        if (strcmp(a, "--json") == 0) {
            if (json_flag)
                return tl_error_set_nopos(err, -EINVAL, "%s: argument --json: given more than once",
                                          words);
            json_flag = true;
        } else if (is_output || is_query) {
            const char *v = option_value(*argc, argv, i, a[1] == 'o' ? 2 : len, &used);
            const char *label = is_query ? "--query" : "--output/-o";
            if (!v || (used == 2 && v[0] == '-' && v[1] == '-'))
                return tl_error_set_nopos(err, -EINVAL, "%s: argument %s: expected one argument",
                                          words, label);
            if ((is_query ? o->query : o->format) != NULL)
                return tl_error_set_nopos(err, -EINVAL, "%s: argument %s: given more than once",
                                          words, label);
            if (is_query) {
                if (!*v)
                    return tl_error_set_nopos(err, -EINVAL,
                                              "%s: argument --query: an empty expression", words);
                o->query = v;
            } else {
                for (const char *const *f = formats; *f && !o->format; f++)
                    if (strcasecmp(*f, v) == 0)
                        o->format = *f;
                if (!o->format)
                    return tl_error_set_nopos(
                        err, -EINVAL,
                        "%s: '%s' is not a valid value for '--output'. Allowed values: json, "
                        "jsonc, table, tsv, yaml, none.",
                        words, v);
            }
        } else {
            i++;
            continue;
        }
        memmove(&argv[i], &argv[i + used], (size_t)(*argc - i - used + 1) * sizeof(*argv));
        *argc -= used;
    }
    if (json_flag && o->format)
        return tl_error_set_nopos(
            err, -EINVAL, "%s: --json is --output json on one line; give one of them", words);
    if (json_flag)
        o->format = "line";
    return 0;
}

int tlc_output_check(const struct tlc_output *o, struct tl_error *err)
{
    return o->query ? tlc_query_check(o->query, err) : 0;
}

void tlc_output_use(struct tlc_output *o)
{
    current = o;
}

bool tlc_output_wants_json(void)
{
    return current && (current->format || current->query);
}

/* tl.h's one-line default, kept here with the printer it goes through
 * (common.c, which the fuzz targets link, stays free of --query's child). */
int tlc_json_print(json_t *v)
{
    return tlc_output_print(v, "line", NULL);
}

int tlc_output_print(json_t *v, const char *default_format, const struct az_column *columns)
{
    const char *format = current && current->format ? current->format : default_format;
    const char *query = current ? current->query : NULL;
    struct tl_error err = {0};
    if (!v) {
        tlc_report(NULL, "out of memory");
        return TLC_EXIT_BAD;
    }
    if (query && strcmp(format, "none") != 0) {
        json_t *q = NULL;
        if (tlc_query_run(query, v, &q, &err) < 0) {
            json_decref(v);
            tlc_report_error(NULL, &err);
            current->failed = true;
            return TLC_EXIT_BAD;
        }
        json_decref(v);
        v = q;
        columns = NULL; /* az: a --query's result is tabulated as it is */
    }
    if (strcmp(format, "jsonc") == 0 && !isatty(STDOUT_FILENO))
        format = "json"; /* colour only for a terminal, as az */
    int r = az_output(stdout, v, format, columns);
    json_decref(v);
    fflush(stdout);
    return r < 0 ? TLC_EXIT_BAD : TLC_EXIT_OK;
}
