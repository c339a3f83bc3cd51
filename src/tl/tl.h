/* Shared pieces of the tl command line: exit codes, error lines, file input,
 * JSON helpers. The CLI owns I/O and exit statuses; libtl only computes. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tl/error.h"
#include "tl/eventlog.h"

/* Exit statuses (docs/cli.md). */
#define TL_EXIT_OK   0
#define TL_EXIT_FAIL 1 /* a verification verdict of fail */
#define TL_EXIT_BAD  2 /* bad usage or unreadable input */

/* Largest input file read (a firmware log is tens of KiB; a kernel tens of MiB). */
#define TL_MAX_INPUT (256u << 20)

/* "tl: FILE: message (offset N)" on stderr. */
void tl_report_error(const char *file, const struct tl_error *err);
__attribute__((format(printf, 2, 3))) void tl_report(const char *file, const char *fmt, ...);

/* After getopt_long returned '?' or ':' (with opterr = 0): one line naming
 * the option. */
void tl_report_option_error(const char *verb, char **argv);

/* Reads a whole file (or stdin for "-"), NUL-terminated past *len.
 * Returns 0 or -errno; on failure prints the error line itself. */
int tl_read_file(const char *path, uint8_t **buf, size_t *len);

/* Writes all of data to fd, syncs and closes it (always). On failure prints
 * "tl: PATH: cannot write: ..." and returns -errno; removing the file is the
 * caller's choice. */
int tl_write_fd(int fd, const char *path, const void *data, size_t len);

/* Removes a file or a directory tree (without following links); what
 * cannot be removed is left. */
void tl_remove_tree(const char *path);

/* Prints a JSON value as one line on stdout and frees it. */
void tl_json_print(json_t *v);
json_t *tl_json_hex(const uint8_t *p, size_t n);

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
json_t *tl_json_csv(const char *csv);

int tl_cmd_eventlog(int argc, char **argv);
int tl_cmd_secureboot(int argc, char **argv);
int tl_cmd_image(int argc, char **argv);
int tl_cmd_vtpm(int argc, char **argv);
int tl_cmd_node(int argc, char **argv);
int tl_cmd_attest(int argc, char **argv);
int tl_cmd_tee(int argc, char **argv);
int tl_cmd_attestation(int argc, char **argv);
int tl_cmd_token(int argc, char **argv);
int tl_cmd_alert(int argc, char **argv);
int tl_cmd_policy(int argc, char **argv);
int tl_cmd_policy_rules(int argc, char **argv);

/* The az-compatible verbs (docs/cli.md: tl group, tl aks, tl feature, ...). */
int tl_cmd_group(int argc, char **argv);
int tl_cmd_vm(int argc, char **argv);
int tl_cmd_aks(int argc, char **argv);
int tl_cmd_aks_nodepool(int argc, char **argv);
int tl_cmd_feature(int argc, char **argv);
int tl_cmd_provider(int argc, char **argv);
int tl_cmd_extension(int argc, char **argv);
