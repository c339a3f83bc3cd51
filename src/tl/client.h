/* tl's side of the platform: finding tld (HOME/tld.addr), starting it on
 * demand, and JSON requests to its REST API (libcurl).
 *
 * HOME is $TL_HOME, else ~/.local/share/trustlaunch. tld is found beside
 * tl (installed in one bin directory, or build/src/tld/tld next to
 * build/src/tl/tl), or $TL_TLD. tl authenticates as the operator with
 * HOME/operator.token, the owner-only file tld writes at its first start
 * ($TL_TOKEN, when set, is sent instead: another role, or a token made
 * with `tl token create`). These functions never print: they return -errno
 * with err's message naming `what` ("WHAT: tld at URL: ..."). */
#pragma once

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>

#include "tl/error.h"

struct tlc_client {
    char home[PATH_MAX];
    char base[128];  /* http://127.0.0.1:PORT */
    char token[130]; /* the bearer token; "" before tld made its token */
};

/* HOME: $TL_HOME, else ~/.local/share/trustlaunch. 0 or -1 (neither set,
 * too long). */
int tlc_client_home(char *out, size_t size);

/* mkdir -p: parents 0755, the last 0700 (a home). 0 or -errno. */
int tlc_mkdir_p(const char *path);

/* The node image a pool of generation gen1 ? 1 : 2 starts from, built on
 * first use in HOME/images (image_default.c); an exit status. */
int tlc_client_node_image(const char *what, bool gen1);

/* Finds a running tld or starts one. */
int tlc_client_open(struct tlc_client *c, const char *what, struct tl_error *err);
/* Finds a running tld, never starts one: -ECONNREFUSED when none answers. */
int tlc_client_find(struct tlc_client *c, const char *what, struct tl_error *err);

/* method on base + path with body (may be NULL). *status the HTTP status,
 * *out the parsed JSON answer (an object; {"error"} for failures) or NULL
 * for a non-JSON answer, whose bytes are then in *raw (when raw is given). */
int tlc_client_call(struct tlc_client *c, const char *method, const char *path, json_t *body,
                    long *status, json_t **out, char **raw, size_t *raw_len, const char *what,
                    struct tl_error *err);
