/* Calls to tld's resource API (docs/api.md: resource groups, managed
 * clusters, agent pools, features, providers) for the az-compatible verbs,
 * and the wait for a long-running operation.
 *
 * Errors: tld answers a refusal with a non-2xx status and {"error": "one
 * line", "code": "..."}; arm_request returns it in a tl_error, and the verb
 * runners below (arm_run, arm_wait, arm_get, ...: the az verbs' shared
 * command layer, returning exit statuses) print it as "tl: <error>" and
 * exit 2. The rules (trusted launch on Windows, names, counts) live in tld
 * (include/tl/aks.h); the CLI does not repeat them. */
#pragma once

#include <jansson.h>

#include "client.h"

/* A path whose %s arguments are percent-encoded (RFC 3986 unreserved
 * characters are kept). malloc'd; NULL when out of memory. */
__attribute__((format(printf, 1, 2))) char *arm_path(const char *fmt, ...);

/* method path with body (stolen; may be NULL). 0 with *out (a JSON value,
 * or NULL when the answer had none) on 2xx; -EINVAL on a refusal (err: tld's
 * error line, *out: tld's answer, whose "error" may be longer than a
 * tl_error holds), -EIO when tld could not be reached (err: why). *status
 * (when given) receives the HTTP status either way. Prints nothing. */
int arm_request(struct tlc_client *c, const char *method, const char *path, json_t *body,
                long *status, json_t **out, struct tl_error *err);
/* A failed arm_request's line: "tl: <tld's error>" whole from answer when
 * it has one, else err's. */
void arm_report(const json_t *answer, const struct tl_error *err);

/* Waits while (*res)'s provisioningState is Creating, Updating, Scaling or
 * Deleting, polling GET path every 0.5 s, with progress on stderr from the
 * pool's "operation" (one line rewritten on a terminal, else one line per
 * change). Returns an exit status: 0 Succeeded (*res is the final
 * resource), 1 Failed ("tl: NAME: <its error>" printed), 2 tld refused or
 * could not be reached. With gone, waits until GET answers 404 (0). */
int arm_wait(struct tlc_client *c, const char *path, json_t **res, bool gone);

/* "Creating mynodepool: node 2 of 3: aks-mynodepool-1234-vmss000001: booting",
 * or "" when res has no operation in progress. */
void arm_progress(const json_t *res, char *out, size_t len);

#include "azargs.h"
#include "output.h"

enum arm_mode {
    ARM_SHOW,      /* print the answer */
    ARM_LIST,      /* print the answer's "value" list */
    ARM_WAIT,      /* wait (arm_wait), then print the resource */
    ARM_NO_WAIT,   /* --no-wait: print the resource as returned */
    ARM_WAIT_GONE, /* a delete: wait until GET answers 404; print nothing */
    ARM_QUIET,     /* a delete with --no-wait: print nothing */
};

/* One verb's call: opens the client (starting tld when needed), sends
 * method path body (stolen), waits as mode says, prints per a->output with
 * columns. Returns the exit status (0, 1 a failed operation, 2 refused). */
int arm_run(const struct az_args *a, const char *method, const char *path, json_t *body,
            const struct az_column *columns, enum arm_mode mode);

/* az's confirmation for deletes: true with --yes, else asks on a terminal
 * ("Are you sure you want to perform this operation? (y/n): "); without a
 * terminal prints az's error and returns false with *rc = 2. */
bool arm_confirm(const struct az_args *a, int *rc);

/* A resource the az verbs name: a path whose %s are filled, in order and
 * percent-encoded, with the values of the options in opts (required ones),
 * and the columns of its table. */
struct arm_resource {
    const char *path;
    const char *opts[3];
    const struct az_column *columns;
};

/* res's path for a's option values: malloc'd, NULL when out of memory. */
char *arm_resource_path(const struct arm_resource *res, const struct az_args *a);

/* arm_run on res's path with res's columns. */
int arm_resource_run(const struct az_args *a, const char *method, const struct arm_resource *res,
                     json_t *body, enum arm_mode mode);

/* A create or an update: method (PUT, PATCH) with body (stolen), then the
 * wait, unless --no-wait. */
int arm_write(const struct az_args *a, const char *method, const struct arm_resource *res,
              json_t *body);

/* az_parse, its error line printed: a verb's first step. 0 parsed, 1 the
 * help was printed, -EINVAL the error was. */
int arm_parse(const struct az_command *cmd, int argc, char **argv, struct az_args *a);
/* A resource kind's list verb: GET /v1/resourceGroups/G/KIND with
 * --resource-group, else /v1/KIND (every group). */
int arm_list(const struct az_command *cmd, const char *kind, const struct az_column *columns,
             int argc, char **argv);

/* The verbs that only name a resource: parse argv per cmd, then GET it
 * (mode ARM_SHOW, or ARM_LIST for a collection), or DELETE it and
 * wait until it is gone (not with --no-wait), after az's confirmation
 * (arm_confirm) when confirm. Return the exit status. */
int arm_get(const struct az_command *cmd, const struct arm_resource *res, enum arm_mode mode,
            int argc, char **argv);
int arm_delete(const struct az_command *cmd, const struct arm_resource *res, bool confirm, int argc,
               char **argv);

/* body[key] = the option's value, when the option was given. */
void arm_body_set_given(json_t *body, const struct az_args *a, const char *key, const char *option);
