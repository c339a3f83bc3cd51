/* az-style command lines for the az-compatible verbs (tl group, tl aks,
 * tl aks nodepool, tl feature, tl provider, tl extension).
 *
 * Each command is a declarative table of options (long name, short alias,
 * flag or valued, enum choices, default, required) plus a small function.
 * The parser speaks az's dialect: --name VALUE or --name=VALUE, -n VALUE,
 * enum values case-insensitive (stored canonical), --help/-h. (--output/-o
 * and --query are every verb's: output.h.) It also recognises the mistakes people make when they
 * paste commands from a web page: en and em dashes where "--" belongs, a
 * "\" line continuation pasted onto one line, near-misses of an option's
 * spelling. Every error is one line, "CMD: ..." in a tl_error (printed
 * "tl: CMD: ..." by the verb), and the texts are part of the interface
 * (docs/cli.md, tests/cli/aks_cli.sh). az_dispatch and the help are the
 * command layer: they print. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "tl/error.h"

enum az_kind {
    AZ_FLAG,   /* present or not */
    AZ_STRING, /* takes a value */
    AZ_INT,    /* takes a non-negative decimal integer */
    AZ_ENUM,   /* takes one of choices (case-insensitive) */
};

struct az_option {
    const char *name;  /* "--resource-group" */
    const char *alias; /* "-g", or NULL */
    enum az_kind kind;
    const char *const *choices; /* AZ_ENUM: canonical spellings, NULL-terminated */
    const char *def;            /* default (for --help and az_get), or NULL */
    const char *conflicts;      /* an option that may not be given with this one */
    bool required;
    const char *help;
};

struct az_command {
    const char *name;                /* "aks nodepool add" */
    const char *summary;             /* one line */
    const struct az_option *options; /* ends with an entry whose name is NULL */
    const char *notes;               /* more paragraphs for --help, or NULL */
};

#define AZ_MAX_OPTIONS 48

/* A parsed command line: one slot per option of the table, in its order. */
struct az_args {
    const struct az_command *cmd;
    const char *value[AZ_MAX_OPTIONS]; /* NULL: not given; flags: "true" */
};

/* argv[0] is the verb; options follow. Returns 0 when parsed, 1 when
 * --help was printed (stdout), -EINVAL with err "CMD: ..." for a mistake. */
int az_parse(const struct az_command *cmd, int argc, char **argv, struct az_args *a,
             struct tl_error *err);

/* The value given, else the option's default, else NULL. The name must be
 * in the command's table (a typo in a verb's code aborts). */
const char *az_get(const struct az_args *a, const char *name);
bool az_given(const struct az_args *a, const char *name);
bool az_flag(const struct az_args *a, const char *name);
long az_get_long(const struct az_args *a, const char *name);

/* Prints the command's help (az layout). */
void az_help(FILE *f, const struct az_command *cmd);

/* A command group ("aks"): its verbs and subgroups. run gets argv[0] = the
 * entry's name. */
struct az_entry {
    const char *name;
    const char *summary;
    bool group;
    int (*run)(int argc, char **argv);
};

/* Dispatches argv[1] of a group (argv[0] is the group's last word) to its
 * entry; prints the group help for --help/-h, an error for a missing or
 * unknown verb (with a suggestion). Returns an exit status. */
int az_dispatch(const char *group, const char *summary, const struct az_entry *entries, int argc,
                char **argv);

/* Optimal-string-alignment (restricted Damerau-Levenshtein) distance. */
unsigned az_edit_distance(const char *a, const char *b);
