/* tld's resource API for the az verbs: see azcall.h. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "azcall.h"
#include "tl.h"
#include "tl/util.h"

/* fmt with its %s replaced, in order, by vals (percent-encoded); NULL when
 * out of memory or short of values. */
static char *path_fill(const char *fmt, const char *const *vals, size_t n_vals)
{
    size_t cap = 256, len = 0, used = 0;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    for (const char *p = fmt; *p; p++) {
        char piece[4] = {*p, 0};
        const char *s = piece;
        bool escape = false;
        if (p[0] == '%' && p[1] == 's') {
            if (used == n_vals || !vals[used]) {
                free(out);
                return NULL;
            }
            s = vals[used++];
            escape = true;
            p++;
        }
        for (; *s; s++) {
            if (len + 4 >= cap) {
                char *n = realloc(out, cap * 2);
                if (!n) {
                    free(out);
                    return NULL;
                }
                out = n;
                cap *= 2;
            }
            unsigned char ch = (unsigned char)*s;
            if (escape && !isalnum(ch) && !strchr("-._~", ch))
                len += (size_t)sprintf(out + len, "%%%02X", ch);
            else
                out[len++] = (char)ch;
        }
    }
    out[len] = 0;
    return out;
}

char *arm_path(const char *fmt, ...)
{
    const char *vals[8];
    size_t n = 0;
    va_list ap;
    va_start(ap, fmt);
    for (const char *p = fmt; *p && n < TL_ARRAY_SIZE(vals); p++) {
        if (p[0] == '%' && p[1] == 's') {
            vals[n++] = va_arg(ap, const char *);
            p++;
        }
    }
    va_end(ap);
    return path_fill(fmt, vals, n);
}

int arm_request(struct tlc_client *c, const char *method, const char *path, json_t *body,
                long *status, json_t **out, struct tl_error *err)
{
    long st = 0;
    json_t *answer = NULL;
    char *raw = NULL;
    size_t raw_len = 0;
    *out = NULL;
    int r = tlc_client_call(c, method, path, body, &st, &answer, &raw, &raw_len, "tld", err);
    json_decref(body);
    if (status)
        *status = st;
    if (r < 0)
        return -EIO;
    if (st >= 200 && st < 300) {
        free(raw);
        *out = answer;
        return 0;
    }
    const char *why = json_string_value(json_object_get(answer, "error"));
    if (why)
        tl_error_set_nopos(err, -EINVAL, "%s", why);
    else
        tl_error_set_nopos(err, -EINVAL, "%s %s: tld answered HTTP %ld%s%.*s", method, path, st,
                           raw && raw_len ? ": " : "", (int)(raw_len > 200 ? 200 : raw_len),
                           raw ? raw : "");
    free(raw);
    *out = answer;
    return -EINVAL;
}

void arm_report(const json_t *answer, const struct tl_error *err)
{
    const char *why = json_string_value(json_object_get(answer, "error"));
    if (why)
        tlc_report(NULL, "%s", why);
    else
        tlc_report_error(NULL, err);
}

static const char *str(const json_t *j, const char *key)
{
    const char *s = json_string_value(json_object_get(j, key));
    return s ? s : "";
}

static bool transitional(const char *state)
{
    static const char *const states[] = {"Creating", "Updating", "Scaling", "Deleting"};
    for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
        if (strcmp(state, states[i]) == 0)
            return true;
    return false;
}

/* The operation in progress: the pool's own, or for a cluster the first of
 * its pools that has one; *pool is that pool's name. */
static const json_t *find_operation(const json_t *res, const char **pool)
{
    const json_t *op = json_object_get(res, "operation");
    if (json_is_object(op)) {
        *pool = str(res, "name");
        return op;
    }
    size_t i;
    const json_t *p;
    json_array_foreach(json_object_get(res, "agentPoolProfiles"), i, p)
    {
        op = json_object_get(p, "operation");
        if (json_is_object(op)) {
            *pool = str(p, "name");
            return op;
        }
    }
    return NULL;
}

void arm_progress(const json_t *res, char *out, size_t len)
{
    const char *pool = "";
    const json_t *op = find_operation(res, &pool);
    out[0] = 0;
    if (!op)
        return;
    static const struct {
        const char *action, *verb;
    } verbs[] = {
        {"create", "Creating"},
        {"update", "Reimaging"},
        {"scale", "Scaling"},
        {"delete", "Deleting"},
    };
    const char *action = str(op, "action"), *verb = action;
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
        if (strcmp(action, verbs[i].action) == 0)
            verb = verbs[i].verb;
    long long done = json_integer_value(json_object_get(op, "done"));
    long long total = json_integer_value(json_object_get(op, "total"));
    long long k = done + 1 > total ? total : done + 1;
    const char *node = str(op, "node"), *phase = str(op, "phase");
    int n = snprintf(out, len, "%s %s", verb, pool);
    if (n < 0 || (size_t)n >= len)
        return;
    if (total > 0)
        n += snprintf(out + n, len - (size_t)n, ": node %lld of %lld", k, total);
    if ((size_t)n < len && *node)
        n += snprintf(out + n, len - (size_t)n, ": %s", node);
    if ((size_t)n < len && *phase)
        snprintf(out + n, len - (size_t)n, ": %s", phase);
}

/* The resource's own error, or the first of its pools'. */
static const char *error_of(const json_t *res)
{
    const char *e = str(res, "error");
    if (*e)
        return e;
    size_t i;
    const json_t *p;
    json_array_foreach(json_object_get(res, "agentPoolProfiles"), i, p)
    {
        if (*str(p, "error"))
            return str(p, "error");
    }
    return "provisioning failed";
}

int arm_wait(struct tlc_client *c, const char *path, json_t **res, bool gone)
{
    bool tty = isatty(STDERR_FILENO);
    struct tl_error err = {0};
    char last[512] = "", line[512];
    bool shown = false;
    int rc = 0;
    for (;;) {
        const char *state = str(*res, "provisioningState");
        if (!gone && !transitional(state))
            break;
        arm_progress(*res, line, sizeof(line));
        if (*line && strcmp(line, last) != 0) {
            if (tty)
                fprintf(stderr, "\r%s\033[K", line);
            else
                fprintf(stderr, "%s\n", line);
            snprintf(last, sizeof(last), "%s", line);
            shown = true;
        }
        struct timespec ts = {0, 500 * 1000 * 1000};
        nanosleep(&ts, NULL);
        long status = 0;
        json_t *next = NULL;
        if (gone) {
            /* 404 is the answer waited for: ask without printing it. */
            char *raw = NULL;
            size_t raw_len = 0;
            if (tlc_client_call(c, "GET", path, NULL, &status, &next, &raw, &raw_len, "tld", &err) <
                0) {
                tlc_report_error(NULL, &err);
                rc = 2;
                break;
            }
            free(raw);
            if (status == 404) {
                json_decref(next);
                break;
            }
            if (status >= 300) {
                tlc_report(NULL, "%s",
                           *str(next, "error") ? str(next, "error") : "tld refused the request");
                json_decref(next);
                rc = 2;
                break;
            }
            /* A delete that failed leaves the resource Failed, not gone. */
            if (strcmp(str(next, "provisioningState"), "Failed") == 0) {
                json_decref(*res);
                *res = next;
                break;
            }
        } else if (arm_request(c, "GET", path, NULL, &status, &next, &err) < 0) {
            arm_report(next, &err);
            json_decref(next);
            rc = 2;
            break;
        }
        json_decref(*res);
        *res = next;
    }
    if (shown && tty)
        fputs("\r\033[K", stderr);
    if (rc)
        return rc;
    const char *state = str(*res, "provisioningState");
    if (gone && strcmp(state, "Failed") != 0)
        return 0;
    if (strcmp(state, "Succeeded") == 0)
        return 0;
    tlc_report(*str(*res, "name") ? str(*res, "name") : path, "%s",
               strcmp(state, "Failed") == 0 ? error_of(*res) : state);
    return 1;
}

int arm_run(const struct az_args *a, const char *method, const char *path, json_t *body,
            const struct az_column *columns, enum arm_mode mode)
{
    struct tlc_client c;
    json_t *res = NULL;
    struct tl_error err = {0};
    if (!path || tlc_client_open(&c, a->cmd->name, &err) < 0) {
        json_decref(body);
        if (path)
            tlc_report_error(NULL, &err);
        return 2;
    }
    if (arm_request(&c, method, path, body, NULL, &res, &err) < 0) {
        arm_report(res, &err);
        json_decref(res);
        return 2;
    }
    int rc = 0;
    if (mode == ARM_WAIT || mode == ARM_WAIT_GONE)
        rc = arm_wait(&c, path, &res, mode == ARM_WAIT_GONE);
    if (rc == 0 && mode != ARM_WAIT_GONE && mode != ARM_QUIET) {
        json_t *empty = json_array();
        const json_t *v = res;
        if (mode == ARM_LIST && !json_is_array(v = json_object_get(res, "value")))
            v = empty;
        if (tlc_output_print(json_incref(v ? (json_t *)v : json_null()), "json", columns))
            rc = 2;
        json_decref(empty);
    }
    json_decref(res);
    return rc;
}

bool arm_confirm(const struct az_args *a, int *rc)
{
    *rc = 0;
    if (az_flag(a, "--yes"))
        return true;
    if (!isatty(STDIN_FILENO) || !isatty(STDERR_FILENO)) {
        tlc_report(a->cmd->name, "unable to prompt for confirmation as no tty available; use "
                                 "--yes");
        *rc = 2;
        return false;
    }
    fputs("Are you sure you want to perform this operation? (y/n): ", stderr);
    char line[16] = "";
    if (!fgets(line, sizeof(line), stdin))
        return false;
    line[strcspn(line, "\r\n")] = 0;
    return strcasecmp(line, "y") == 0 || strcasecmp(line, "yes") == 0;
}

char *arm_resource_path(const struct arm_resource *res, const struct az_args *a)
{
    const char *vals[TL_ARRAY_SIZE(res->opts)];
    size_t n = 0;
    for (; n < TL_ARRAY_SIZE(res->opts) && res->opts[n]; n++)
        vals[n] = az_get(a, res->opts[n]);
    return path_fill(res->path, vals, n);
}

int arm_resource_run(const struct az_args *a, const char *method, const struct arm_resource *res,
                     json_t *body, enum arm_mode mode)
{
    char *path = arm_resource_path(res, a);
    int rc = arm_run(a, method, path, body, res->columns, mode);
    free(path);
    return rc;
}

int arm_write(const struct az_args *a, const char *method, const struct arm_resource *res,
              json_t *body)
{
    return arm_resource_run(a, method, res, body, az_flag(a, "--no-wait") ? ARM_NO_WAIT : ARM_WAIT);
}

int arm_parse(const struct az_command *cmd, int argc, char **argv, struct az_args *a)
{
    struct tl_error err = {0};
    int r = az_parse(cmd, argc, argv, a, &err);
    if (r < 0)
        tlc_report_error(NULL, &err);
    return r;
}

int arm_get(const struct az_command *cmd, const struct arm_resource *res, enum arm_mode mode,
            int argc, char **argv)
{
    struct az_args a;
    int r = arm_parse(cmd, argc, argv, &a);
    if (r)
        return r > 0 ? TLC_EXIT_OK : TLC_EXIT_BAD;
    return arm_resource_run(&a, "GET", res, NULL, mode);
}

int arm_delete(const struct az_command *cmd, const struct arm_resource *res, bool confirm, int argc,
               char **argv)
{
    struct az_args a;
    int r = arm_parse(cmd, argc, argv, &a);
    if (r)
        return r > 0 ? TLC_EXIT_OK : TLC_EXIT_BAD;
    int rc;
    if (confirm && !arm_confirm(&a, &rc))
        return rc;
    return arm_resource_run(&a, "DELETE", res, NULL,
                            az_flag(&a, "--no-wait") ? ARM_QUIET : ARM_WAIT_GONE);
}

void arm_body_set_given(json_t *body, const struct az_args *a, const char *key, const char *option)
{
    if (az_given(a, option))
        json_object_set_new(body, key, json_string(az_get(a, option)));
}

int arm_list(const struct az_command *cmd, const char *kind, const struct az_column *columns,
             int argc, char **argv)
{
    struct az_args a;
    int r = arm_parse(cmd, argc, argv, &a);
    if (r)
        return r > 0 ? TLC_EXIT_OK : TLC_EXIT_BAD;
    const char *group = az_get(&a, "--resource-group");
    char *path =
        group ? arm_path("/v1/resourceGroups/%s/%s", group, kind) : arm_path("/v1/%s", kind);
    int rc = arm_run(&a, "GET", path, NULL, columns, ARM_LIST);
    free(path);
    return rc;
}
