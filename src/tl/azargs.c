/* The az-style argument parser: see azargs.h.
 *
 * Checks run in the order of argv, so the first mistake a user made is the
 * one reported: a pasted line continuation or a typographic dash (each of
 * which also explains any "required" error that would follow), a
 * misspelled option with a close match, a value that is missing or not
 * allowed, an option given twice. Then, as az does, the unrecognized
 * arguments without a close match are listed together, then the missing
 * required ones, then options that exclude each other. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "azargs.h"
#include "tl.h"

static const char *const output_choices[] = {"json", "jsonc", "table", "tsv", "yaml", "none", NULL};

/* Options every command takes. --only-show-errors is accepted for az's
 * scripts and does nothing: tl prints no warnings on success. --output and
 * --query are every tl verb's (output_options.c): main takes them out of
 * the command line before a verb runs; they are here for the help and the
 * "did you mean" of a misspelling. */
static const struct az_option global_options[] = {
    {"--help", "-h", AZ_FLAG, NULL, NULL, NULL, false, "Show this help message and exit."},
    {"--only-show-errors", NULL, AZ_FLAG, NULL, NULL, NULL, false,
     "Only show errors, suppressing warnings."},
    {"--output", "-o", AZ_ENUM, output_choices, "json", NULL, false, "Output format."},
    {"--query", NULL, AZ_STRING, NULL, NULL, NULL, false,
     "JMESPath query string. See http://jmespath.org/ for more information and examples."},
    {0},
};
#define N_GLOBAL (sizeof(global_options) / sizeof(global_options[0]) - 1)

static size_t count_options(const struct az_command *cmd)
{
    size_t n = 0;
    while (cmd->options[n].name)
        n++;
    return n;
}

/* Option i of the command, then the global ones. */
static const struct az_option *option_at(const struct az_command *cmd, size_t n, size_t i)
{
    return i < n ? &cmd->options[i] : &global_options[i - n];
}

static int find_option(const struct az_command *cmd, const char *arg, size_t len)
{
    size_t n = count_options(cmd);
    for (size_t i = 0; i < n + N_GLOBAL; i++) {
        const struct az_option *o = option_at(cmd, n, i);
        if ((strlen(o->name) == len && strncmp(o->name, arg, len) == 0) ||
            (o->alias && strlen(o->alias) == len && strncmp(o->alias, arg, len) == 0))
            return (int)i;
    }
    return -1;
}

unsigned az_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return UINT_MAX;
    unsigned d[65][65];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = (unsigned)i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = (unsigned)j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            unsigned cost = a[i - 1] != b[j - 1];
            unsigned best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < best)
                best = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[la][lb];
}

static unsigned substitutions(const char *a, const char *b)
{
    unsigned n = 0;
    for (; *a && *b; a++, b++)
        n += *a != *b;
    return n;
}

/* The known long option closest to arg (Damerau-Levenshtein <= 2, or the
 * same length with <= 2 substitutions), or NULL. */
static const char *closest_option(const struct az_command *cmd, const char *arg)
{
    size_t n = count_options(cmd);
    const char *best = NULL;
    unsigned best_d = UINT_MAX;
    for (size_t i = 0; i < n + N_GLOBAL; i++) {
        const char *name = option_at(cmd, n, i)->name;
        unsigned d = az_edit_distance(arg, name);
        bool close = d <= 2 || (strlen(arg) == strlen(name) && substitutions(arg, name) <= 2);
        if (close && d < best_d) {
            best = name;
            best_d = d;
        }
    }
    return best;
}

/* A "\" line continuation pasted onto one line: "\ " makes the shell keep
 * the space, so the next word arrives as " --name" (or " " alone, or glued
 * to the previous value: "myAKSCluster --resource-group"). */
static bool is_pasted_continuation(const char *s)
{
    return strcmp(s, "\\") == 0 || s[0] == ' ' || s[0] == '\t' || strstr(s, " --") ||
           strstr(s, "\\\n");
}

/* 0x2013 or 0x2014 when the dashes that start s include an en or em dash
 * (UTF-8 E2 80 93 / E2 80 94); *rest is set past all leading dashes. */
static unsigned leading_unicode_dash(const char *s, const char **rest)
{
    unsigned found = 0;
    const unsigned char *p = (const unsigned char *)s;
    for (;;) {
        if (*p == '-') {
            p++;
        } else if (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0x93 || p[2] == 0x94)) {
            if (!found)
                found = p[2] == 0x93 ? 0x2013 : 0x2014;
            p += 3;
        } else {
            break;
        }
    }
    *rest = (const char *)p;
    return found;
}

static int report_continuation(const char *name, const char *arg, struct tl_error *err)
{
    return tl_error_set_nopos(
        err, -EINVAL,
        "%s: argument \"%s\" comes from a \\ line continuation pasted onto one line; "
        "remove the \\ or keep the line breaks",
        name, arg);
}

static int report_dash(const struct az_command *cmd, const char *arg, unsigned dash,
                       const char *rest, struct tl_error *err)
{
    char fixed[128];
    snprintf(fixed, sizeof(fixed), "--%.*s", (int)strcspn(rest, "="), rest);
    const char *suggest = fixed;
    if (find_option(cmd, fixed, strlen(fixed)) < 0) {
        const char *c = closest_option(cmd, fixed);
        if (c)
            suggest = c;
    }
    return tl_error_set_nopos(err, -EINVAL,
                              "%s: argument \"%s\" contains an %s (U+%04X) where -- belongs "
                              "(typically copied from a web page); did you mean %s?",
                              cmd->name, arg, dash == 0x2013 ? "en dash" : "em dash", dash,
                              suggest);
}

static void option_label(const struct az_option *o, char *out, size_t len)
{
    if (o->alias)
        snprintf(out, len, "%s/%s", o->name, o->alias);
    else
        snprintf(out, len, "%s", o->name);
}

/* Checks and canonicalises a value; NULL with err set. */
static const char *check_value(const struct az_command *cmd, const struct az_option *o,
                               const char *v, struct tl_error *err)
{
    char label[96];
    option_label(o, label, sizeof(label));
    if (o->kind == AZ_INT) {
        errno = 0;
        char *end;
        long n = strtol(v, &end, 10);
        if (!isdigit((unsigned char)v[0]) || *end || errno || n > INT_MAX) {
            tl_error_set_nopos(err, -EINVAL, "%s: argument %s: invalid int value: '%s'", cmd->name,
                               label, v);
            return NULL;
        }
        return v;
    }
    if (o->kind == AZ_ENUM) {
        for (const char *const *c = o->choices; *c; c++)
            if (strcasecmp(*c, v) == 0)
                return *c;
        char allowed[256] = "";
        for (const char *const *c = o->choices; *c; c++)
            snprintf(allowed + strlen(allowed), sizeof(allowed) - strlen(allowed), "%s%s",
                     c == o->choices ? "" : ", ", *c);
        tl_error_set_nopos(err, -EINVAL,
                           "%s: '%s' is not a valid value for '%s'. Allowed values: %s.", cmd->name,
                           v, o->name, allowed);
        return NULL;
    }
    return v;
}

static bool wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    return false;
}

int az_parse(const struct az_command *cmd, int argc, char **argv, struct az_args *a,
             struct tl_error *err)
{
    size_t n = count_options(cmd);
    const char *global_value[N_GLOBAL] = {0};
    *a = (struct az_args){.cmd = cmd};
    if (n > AZ_MAX_OPTIONS)
        abort(); /* a table too long for struct az_args: a bug */
    if (wants_help(argc, argv)) {
        az_help(stdout, cmd);
        return 1;
    }
    const char *unknown[64];
    size_t n_unknown = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *rest;
        if (is_pasted_continuation(arg))
            return report_continuation(cmd->name, arg, err);
        unsigned dash = leading_unicode_dash(arg, &rest);
        if (dash)
            return report_dash(cmd, arg, dash, rest, err);
        if (arg[0] != '-' || arg[1] == 0) {
            if (n_unknown < 64)
                unknown[n_unknown++] = arg;
            continue;
        }
        const char *eq = strchr(arg, '='); /* --name=VALUE, -n=VALUE (argparse) */
        size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
        int idx = find_option(cmd, arg, len);
        if (idx < 0) {
            char name[128];
            snprintf(name, sizeof(name), "%.*s", (int)len, arg);
            const char *c = strncmp(arg, "--", 2) == 0 ? closest_option(cmd, name) : NULL;
            if (c)
                return tl_error_set_nopos(err, -EINVAL,
                                          "%s: unrecognized argument %s; did you mean %s?",
                                          cmd->name, name, c);
            if (n_unknown < 64)
                unknown[n_unknown++] = arg;
            continue;
        }
        const struct az_option *o = option_at(cmd, n, (size_t)idx);
        const char **slot = (size_t)idx < n ? &a->value[idx] : &global_value[idx - (int)n];
        char label[96];
        option_label(o, label, sizeof(label));
        if (*slot)
            return tl_error_set_nopos(err, -EINVAL, "%s: argument %s: given more than once",
                                      cmd->name, label);
        if (o->kind == AZ_FLAG) {
            if (eq)
                return tl_error_set_nopos(err, -EINVAL,
                                          "%s: argument %s: ignored explicit argument '%s'",
                                          cmd->name, label, eq + 1);
            *slot = "true";
            continue;
        }
        const char *v;
        if (eq) {
            v = eq + 1;
        } else {
            if (i + 1 >= argc)
                return tl_error_set_nopos(err, -EINVAL, "%s: argument %s: expected one argument",
                                          cmd->name, label);
            v = argv[i + 1];
            if (strcmp(v, "\\") == 0 || v[0] == ' ' || v[0] == '\t')
                return report_continuation(cmd->name, v, err);
            dash = leading_unicode_dash(v, &rest);
            if (dash && rest != v)
                return report_dash(cmd, v, dash, rest, err);
            if (v[0] == '-' && v[1] && !isdigit((unsigned char)v[1]))
                return tl_error_set_nopos(err, -EINVAL, "%s: argument %s: expected one argument",
                                          cmd->name, label);
            i++;
        }
        if (is_pasted_continuation(v))
            return report_continuation(cmd->name, v, err);
        v = check_value(cmd, o, v, err);
        if (!v)
            return -EINVAL;
        *slot = v;
    }
    char list[512] = "";
    for (size_t i = 0; i < n_unknown; i++)
        snprintf(list + strlen(list), sizeof(list) - strlen(list), " %s", unknown[i]);
    if (n_unknown)
        return tl_error_set_nopos(err, -EINVAL, "%s: unrecognized arguments:%s", cmd->name, list);
    for (size_t i = 0; i < n; i++) {
        const struct az_option *o = &cmd->options[i];
        if (!o->required || a->value[i])
            continue;
        char label[96];
        option_label(o, label, sizeof(label));
        snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", *list ? ", " : "",
                 label);
    }
    if (*list)
        return tl_error_set_nopos(err, -EINVAL, "%s: the following arguments are required: %s",
                                  cmd->name, list);
    for (size_t i = 0; i < n; i++) {
        const struct az_option *o = &cmd->options[i];
        if (!o->conflicts || !a->value[i])
            continue;
        int j = find_option(cmd, o->conflicts, strlen(o->conflicts));
        if (j < 0)
            abort(); /* a table naming an option it does not have: a bug */
        if ((size_t)j < n && a->value[j])
            return tl_error_set_nopos(err, -EINVAL, "%s: cannot specify %s and %s at the same time",
                                      cmd->name, o->name, o->conflicts);
    }
    return 0;
}

static int index_of(const struct az_args *a, const char *name)
{
    size_t n = count_options(a->cmd);
    for (size_t i = 0; i < n; i++)
        if (strcmp(a->cmd->options[i].name, name) == 0)
            return (int)i;
    abort(); /* the verb asked for an option its table lacks: a bug */
}

const char *az_get(const struct az_args *a, const char *name)
{
    int i = index_of(a, name);
    return a->value[i] ? a->value[i] : a->cmd->options[i].def;
}

bool az_given(const struct az_args *a, const char *name)
{
    return a->value[index_of(a, name)] != NULL;
}

bool az_flag(const struct az_args *a, const char *name)
{
    return az_given(a, name);
}

long az_get_long(const struct az_args *a, const char *name)
{
    const char *v = az_get(a, name);
    return v ? strtol(v, NULL, 10) : -1;
}

static void help_option(FILE *f, const struct az_option *o, int width)
{
    char label[96];
    if (o->alias)
        snprintf(label, sizeof(label), "%s %s", o->name, o->alias);
    else
        snprintf(label, sizeof(label), "%s", o->name);
    fprintf(f, "    %-*s %-10s : %s", width, label, o->required ? "[Required]" : "", o->help);
    if (o->choices) {
        fputs("  Allowed values: ", f);
        for (const char *const *c = o->choices; *c; c++)
            fprintf(f, "%s%s", c == o->choices ? "" : ", ", *c);
        fputc('.', f);
    }
    if (o->def)
        fprintf(f, "  Default: %s.", o->def);
    fputc('\n', f);
}

void az_help(FILE *f, const struct az_command *cmd)
{
    size_t n = count_options(cmd);
    int width = 0;
    for (size_t i = 0; i < n + N_GLOBAL; i++) {
        const struct az_option *o = option_at(cmd, n, i);
        int w = (int)strlen(o->name) + (o->alias ? (int)strlen(o->alias) + 1 : 0);
        if (w > width)
            width = w;
    }
    fprintf(f, "\nCommand\n    tl %s : %s\n\n", cmd->name, cmd->summary);
    if (n) {
        fputs("Arguments\n", f);
        for (size_t i = 0; i < n; i++)
            if (cmd->options[i].required)
                help_option(f, &cmd->options[i], width);
        for (size_t i = 0; i < n; i++)
            if (!cmd->options[i].required)
                help_option(f, &cmd->options[i], width);
        fputc('\n', f);
    }
    fputs("Global Arguments\n", f);
    for (size_t i = 0; i < N_GLOBAL; i++)
        help_option(f, &global_options[i], width);
    if (cmd->notes)
        fprintf(f, "\n%s", cmd->notes);
    fputc('\n', f);
}

static void group_help(FILE *f, const char *group, const char *summary,
                       const struct az_entry *entries)
{
    fprintf(f, "\nGroup\n    tl %s : %s\n", group, summary);
    for (int pass = 0; pass < 2; pass++) {
        bool any = false;
        for (const struct az_entry *e = entries; e->name; e++) {
            if (e->group != (pass == 0))
                continue;
            if (!any)
                fprintf(f, "\n%s:\n", pass == 0 ? "Subgroups" : "Commands");
            any = true;
            fprintf(f, "    %-16s : %s\n", e->name, e->summary);
        }
    }
    fprintf(f, "\nRun tl %s COMMAND --help for a command's arguments.\n", group);
}

int az_dispatch(const char *group, const char *summary, const struct az_entry *entries, int argc,
                char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        group_help(stdout, group, summary, entries);
        return 0;
    }
    const char *verb = argv[1];
    for (const struct az_entry *e = entries; e->name; e++)
        if (strcmp(e->name, verb) == 0)
            return e->run(argc - 1, argv + 1);
    struct tl_error err = {0};
    if (is_pasted_continuation(verb))
        return report_continuation(group, verb, &err), tlc_fail(2, &err);
    if (verb[0] == '-') {
        tlc_report(group, "a command is required before %s (try tl %s --help)", verb, group);
        return 2;
    }
    const char *best = NULL;
    unsigned best_d = 3;
    for (const struct az_entry *e = entries; e->name; e++) {
        unsigned d = az_edit_distance(verb, e->name);
        if (d < best_d) {
            best = e->name;
            best_d = d;
        }
    }
    if (best)
        tlc_report(group, "'%s' is not a tl %s command; did you mean '%s'?", verb, group, best);
    else
        tlc_report(group, "'%s' is not a tl %s command (try tl %s --help)", verb, group, group);
    return 2;
}
