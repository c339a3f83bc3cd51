/* az's output formats, for every verb (docs/cli.md, "Output"):
 *   json   pretty-printed, 2-space indent, keys sorted (az's default)
 *   jsonc  the same, coloured (ANSI; tlc_output_print only on a terminal)
 *   table  the command's columns (az's table transformer), or without
 *          columns az's automatic table: one column per scalar member
 *          (sorted, first letter capitalised; id, type, etag, null, nested
 *          lists and objects dropped), header and a dashed rule, 2 spaces
 *          apart; an empty list prints nothing at all
 *   tsv    the command's columns' values, or without columns az's: the
 *          values (sorted by key; a nested list as its length, a nested
 *          object empty), tab-separated, no header
 *   yaml   PyYAML's safe_dump layout (output_yaml.c)
 *   none   nothing
 *   line   the JSON on one line (`--json`, scripts' form of json)
 * A value that is a list prints one table row per element; without columns,
 * an object whose only member is a list ({"nodes": [...]}) tabulates as
 * that list. ({"value": [...]} answers are unwrapped by the caller.)
 *
 * output_options.c holds the convention around them: the options every
 * verb takes (--output/-o, --query, --json), parsed once by main, and
 * tlc_output_print, the one path by which a verb's JSON value reaches
 * stdout (--query through jp, then the format). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <yaml.h>

#include "tl/error.h"

/* One table column: its header and where its value lives ("a.b": key b of
 * object a). Booleans print as True/False, null and missing as empty. */
struct az_column {
    const char *header;
    const char *path;
};

/* Columns of az's tables (and ours: SecureBoot, Vtpm). NULL-terminated. */
extern const struct az_column az_cluster_columns[];
extern const struct az_column az_pool_columns[];
extern const struct az_column az_group_columns[];
extern const struct az_column az_vm_columns[];
extern const struct az_column az_feature_columns[];
extern const struct az_column az_provider_columns[];
extern const struct az_column az_credentials_columns[];

/* Prints v to f in format; columns for table and tsv (NULL: az's automatic
 * table). Returns 0, or -EINVAL for an unknown format. */
int az_output(FILE *f, const json_t *v, const char *format, const struct az_column *columns);

/* The yaml format (output_yaml.c); 0 or -ENOMEM/-EIO. */
int tlc_output_yaml(FILE *f, const json_t *v);
/* Plain unless YAML 1.1 would read the text as something else than a
 * string (a number, a boolean, null) or it is empty: single-quoted then.
 * (kubeconfig.c emits its strings so too.) */
yaml_scalar_style_t tlc_yaml_string_style(const char *v);
/* One YAML document on e (unicode, no line folding): stream and document
 * start, body(e, ctx), the ends, flushed. 0, body's error, or -EIO. */
int tlc_yaml_document(yaml_emitter_t *e, int (*body)(yaml_emitter_t *e, void *ctx), void *ctx);

/* ---- the convention (output_options.c) ---- */

/* What the command line asked for. */
struct tlc_output {
    const char *format; /* NULL: the verb's default; "line" for --json */
    const char *query;  /* a JMESPath expression, or NULL */
    bool failed;        /* a --query failed while printing: exit status 2 */
};

/* Takes the output options out of argv (argv[0] is "tl"; nothing after
 * "--"): --output/-o FORMAT (json, jsonc, table, tsv, yaml, none; any
 * case), --query EXPR, --json (the JSON on one line; not with --output),
 * each as "--opt VALUE" or "--opt=VALUE". The verbs whose -o/--output names
 * a file (image build, attest make-credential, secureboot vars enroll|
 * clear|apply-update) keep
 * theirs. -EINVAL with err "WORDS: ..." for a bad or repeated value. */
int tlc_output_parse(int *argc, char **argv, struct tlc_output *o, struct tl_error *err);

/* Checks that o's --query parses (jp --ast): -EINVAL with jp's reason for
 * an expression that does not parse, -ENOENT when jp is not installed. */
int tlc_output_check(const struct tlc_output *o, struct tl_error *err);

/* Installs o as the process's output convention: main does so once,
 * before the verb runs. The command layer's one piece of process-wide
 * state, like stdout itself; the verbs read it through the two calls
 * below rather than each parsing the options again. */
void tlc_output_use(struct tlc_output *o);

/* Whether the command line asked for JSON (any --output, --query or
 * --json): a verb whose default output is text then builds its JSON. */
bool tlc_output_wants_json(void);

/* The one way a verb's JSON value v (stolen) reaches stdout: --query
 * applied (jp), then printed in the format asked for, else in
 * default_format ("line" for the native verbs, "json" for the az ones).
 * Returns 0, or 2 with the error line printed (and the convention marked
 * failed, so that main exits 2 even when the verb ignores the return). */
int tlc_output_print(json_t *v, const char *default_format, const struct az_column *columns);

/* JMESPath: expr evaluated on in by jp (Debian's jp, go-jmespath's CLI:
 * a maintained implementation that passes the compliance suite) run with
 * the JSON on its stdin. 0 with *out; -ENOENT "--query needs jp ...",
 * -EINVAL "--query EXPR: jp's reason". */
int tlc_query_run(const char *expr, const json_t *in, json_t **out, struct tl_error *err);
/* Whether expr parses (jp --ast): the errors of tlc_query_run. */
int tlc_query_check(const char *expr, struct tl_error *err);
