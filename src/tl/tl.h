/* Shared pieces of the tl command line: exit codes, error lines, file input,
 * JSON helpers. The CLI owns I/O and exit statuses; libtl only computes. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "output.h"
#include "tl/error.h"
#include "tl/eventlog.h"

/* Exit statuses (docs/cli.md). */
#define TLC_EXIT_OK   0
#define TLC_EXIT_FAIL 1 /* a verification verdict of fail */
#define TLC_EXIT_BAD  2 /* bad usage or unreadable input */

/* Largest input file read (a firmware log is tens of KiB; a kernel tens of MiB). */
#define TLC_MAX_INPUT (256u << 20)

/* The one error line of tl, on stderr: "tl: FILE: message (offset N)"; without
 * FILE (NULL) the message names what it is about itself, as the messages of
 * tl's modules do ("PATH: cannot open: ..."). Only the command layer
 * (main.c, *_cmd.c, the verbs) prints errors; the modules below it return
 * -errno and fill a tl_error. */
void tlc_report_error(const char *file, const struct tl_error *err);
__attribute__((format(printf, 2, 3))) void tlc_report(const char *file, const char *fmt, ...);
/* err's line (tlc_report_error), then status: `return tlc_fail(TLC_EXIT_BAD, &err);` */
int tlc_fail(int status, const struct tl_error *err);

/* After getopt_long returned '?' or ':' (with opterr = 0): one line naming
 * the option. */
void tlc_report_option_error(const char *verb, char **argv);

/* Reads a whole file (or stdin for "-"), NUL-terminated past *len. Returns
 * 0 or -errno with err "PATH: cannot open: ...", "PATH: is a directory",
 * "PATH: larger than 256 MiB", ... */
int tlc_file_load(const char *path, uint8_t **buf, size_t *len, struct tl_error *err);
/* Prefixes err's message (a libtl error) with "WHAT: ", the file it is
 * about, keeping its offset; returns code. err may be NULL. */
int tlc_error_prefix(struct tl_error *err, int code, const char *what);

/* The same for the command layer: the error line printed. */
int tlc_read_file(const char *path, uint8_t **buf, size_t *len);

/* Writes all of data to fd, syncs and closes it (always). -errno with err
 * "PATH: cannot write: ..."; removing the file is the caller's choice. */
int tlc_fd_write_all(int fd, const char *path, const void *data, size_t len, struct tl_error *err);
/* The same for the command layer: the error line printed. */
int tlc_write_fd(int fd, const char *path, const void *data, size_t len);

/* A verb's JSON value (stolen) to stdout, per the output convention
 * (output.h: --query, --output; by default one line). Returns 0, or 2 with
 * the error line printed. */
int tlc_json_print(json_t *v);
json_t *tlc_json_hex(const uint8_t *p, size_t n);
/* obj's keys, sorted (az's order): malloc'd, *n of them; NULL when out
 * of memory. The strings are obj's. */
const char **tlc_json_sorted_keys(const json_t *obj, size_t *n);

/* A command's verbs, ended by {NULL}: each runs with argv from its name on. */
struct cli_verb {
    const char *name;
    int (*run)(int argc, char **argv);
};

/* Runs the verb argv[1] names, or prints usage for --help / -h; no verb or
 * an unknown one is one line "tl: CMD: ... (VERB, VERB...)" and exit 2. */
int cli_dispatch(const char *cmd, const struct cli_verb *verbs, void (*usage)(FILE *f), int argc,
                 char **argv);
/* "a,b,c" → ["a","b","c"] (empty items dropped): a comma-separated option */
json_t *tlc_json_csv(const char *csv);

int tlc_cmd_eventlog(int argc, char **argv);
int tlc_cmd_secureboot(int argc, char **argv);
int tlc_cmd_image(int argc, char **argv);
/* `tl image build` as a function (image_cmd.c): runs the recipe, its
 * progress on stderr; an exit status. NULL fields take the defaults. */
struct tlc_image_build {
    const char *out, *fixtures, *agent, *cmdline;
    int generation; /* 1 or 2 */
    bool json;
    bool to_stderr; /* the recipe's stdout too goes to stderr (nothing on stdout) */
};
int tlc_image_build(const struct tlc_image_build *b);
/* Where the recipe is: $TL_DATADIR, ../share/trustlaunch beside tl, or the
 * source tree. 0 or -errno. */
int tlc_image_datadir(char *out, size_t size);
/* HOME/images/default (Gen2) or HOME/images/gen1, built on first use
 * (image_default.c); an exit status, TLC_EXIT_OK when it is there. */
int tlc_image_ensure_default(const char *home, int generation);
int tlc_cmd_daemon(int argc, char **argv);
int tlc_cmd_vtpm(int argc, char **argv);
int tlc_cmd_node(int argc, char **argv);
int tlc_cmd_attest(int argc, char **argv);
int tlc_cmd_tee(int argc, char **argv);
/* `tl tee emulate` (tee_emulate_cmd.c), a verb of tlc_cmd_tee. */
int tlc_cmd_tee_emulate(int argc, char **argv);
int tlc_cmd_attestation(int argc, char **argv);
int tlc_cmd_token(int argc, char **argv);
int tlc_cmd_alert(int argc, char **argv);
int tlc_cmd_policy(int argc, char **argv);
int tlc_cmd_policy_rules(int argc, char **argv);

/* The az-compatible verbs (docs/cli.md: tl group, tl aks, tl feature, ...). */
int tlc_cmd_group(int argc, char **argv);
int tlc_cmd_vm(int argc, char **argv);
int tlc_cmd_aks(int argc, char **argv);
int tlc_cmd_aks_nodepool(int argc, char **argv);
int tlc_cmd_feature(int argc, char **argv);
int tlc_cmd_provider(int argc, char **argv);
int tlc_cmd_extension(int argc, char **argv);
int tlc_cmd_keyvault(int argc, char **argv);
