/* Calls to tld's resource API (docs/api.md: resource groups, managed
 * clusters, agent pools, features, providers) for the az-compatible verbs,
 * and the wait for a long-running operation.
 *
 * Errors: tld answers a refusal with a non-2xx status and {"error": "one
 * line", "code": "..."}; it is printed as "tl: <error>" and the verb exits
 * 2. The rules (trusted launch on Windows, names, counts) live in tld
 * (include/tl/aks.h); the CLI does not repeat them. */
#pragma once

#include <jansson.h>

#include "client.h"

/* A path whose %s arguments are percent-encoded (RFC 3986 unreserved
 * characters are kept). malloc'd; NULL when out of memory. */
__attribute__((format(printf, 1, 2))) char *tl_arm_path(const char *fmt, ...);

/* method path with body (stolen; may be NULL). 0 with *out (a JSON value,
 * or NULL when the answer had none) on 2xx; -EINVAL after printing
 * "tl: <error>" on a refusal, -EIO after printing why tld could not be
 * reached. *status (when given) receives the HTTP status either way. */
int tl_arm_request(struct tl_client *c, const char *method, const char *path, json_t *body,
                   long *status, json_t **out);

/* Waits while (*res)'s provisioningState is Creating, Updating, Scaling or
 * Deleting, polling GET path every 0.5 s, with progress on stderr from the
 * pool's "operation" (one line rewritten on a terminal, else one line per
 * change). Returns an exit status: 0 Succeeded (*res is the final
 * resource), 1 Failed ("tl: NAME: <its error>" printed), 2 tld refused or
 * could not be reached. With gone, waits until GET answers 404 (0). */
int tl_arm_wait(struct tl_client *c, const char *path, json_t **res, bool gone);

/* "Creating mynodepool: node 2 of 3: aks-mynodepool-1234-vmss000001: booting",
 * or "" when res has no operation in progress. */
void tl_arm_progress(const json_t *res, char *out, size_t len);

#include "azargs.h"
#include "output.h"

enum tl_arm_mode {
    TL_ARM_SHOW,      /* print the answer */
    TL_ARM_LIST,      /* print the answer's "value" list */
    TL_ARM_WAIT,      /* wait (tl_arm_wait), then print the resource */
    TL_ARM_NO_WAIT,   /* --no-wait: print the resource as returned */
    TL_ARM_WAIT_GONE, /* a delete: wait until GET answers 404; print nothing */
    TL_ARM_QUIET,     /* a delete with --no-wait: print nothing */
};

/* One verb's call: opens the client (starting tld when needed), sends
 * method path body (stolen), waits as mode says, prints per a->output with
 * columns. Returns the exit status (0, 1 a failed operation, 2 refused). */
int tl_arm_run(const struct az_args *a, const char *method, const char *path, json_t *body,
               const struct tl_column *columns, enum tl_arm_mode mode);

/* az's confirmation for deletes: true with --yes, else asks on a terminal
 * ("Are you sure you want to perform this operation? (y/n): "); without a
 * terminal prints az's error and returns false with *rc = 2. */
bool tl_arm_confirm(const struct az_args *a, int *rc);
