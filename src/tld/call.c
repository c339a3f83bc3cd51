/* A call's helpers for the API's handlers (api.h): answers as JSON or
 * text, the body, the node the path names. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"

#define CONSOLE_MAX (4u << 20)

enum MHD_Result api_send_text(struct MHD_Connection *c, unsigned status, const char *type,
                              char *text, size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", type);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

enum MHD_Result api_send_json(struct MHD_Connection *c, unsigned status, json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!text)
        return MHD_NO;
    size_t len = strlen(text);
    char *with_nl = realloc(text, len + 2);
    if (!with_nl) {
        free(text);
        return MHD_NO;
    }
    with_nl[len] = '\n';
    with_nl[len + 1] = 0;
    return api_send_text(c, status, "application/json", with_nl, len + 1);
}

enum MHD_Result api_send_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
    return api_send_json(c, status, json_pack("{s:s}", "error", msg));
}

/* The console log's tail; read without tld.lock (the caller found the path). */
enum MHD_Result api_send_console(struct MHD_Connection *c, const char *path)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return api_send_text(c, 200, "text/plain; charset=utf-8", strdup(""), 0);
    struct stat st;
    off_t from = 0;
    if (fstat(fd, &st) == 0 && st.st_size > (off_t)CONSOLE_MAX)
        from = st.st_size - (off_t)CONSOLE_MAX; /* the tail: the latest lines */
    char *buf = malloc(CONSOLE_MAX + 1);
    ssize_t k = buf ? pread(fd, buf, CONSOLE_MAX, from) : -1;
    close(fd);
    if (k < 0) {
        free(buf);
        return api_send_error(c, 500, "cannot read the console log");
    }
    return api_send_text(c, 200, "text/plain; charset=utf-8", buf, (size_t)k);
}

json_t *api_parse_body(const struct request *rq, char *msg, size_t msz)
{
    if (!rq->len)
        return json_object();
    json_error_t jerr;
    json_t *j = json_loadb(rq->body, rq->len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j)
        snprintf(msg, msz, "request body: %s (line %d)", jerr.text, jerr.line);
    return j;
}

json_t *api_call_body(struct call *k)
{
    return api_parse_body(k->rq, k->msg, sizeof(k->msg));
}

int api_err(struct call *k, int status, const char *text)
{
    snprintf(k->msg, sizeof(k->msg), "%s", text);
    return status;
}

enum MHD_Result api_fail(struct call *k, int status)
{
    if (status < 0)
        return api_send_error(k->c, tld_http_status(status),
                              k->err.message[0] ? k->err.message : k->msg);
    return api_send_error(k->c, (unsigned)(status >= 400 ? status : 500), k->msg);
}

/* The one place a domain error becomes an HTTP status: tld's domain code
 * (lifecycle.c, vm.c, attest.c, ...) says what went wrong as -errno and a
 * message, the API answers with the status below. */
int tld_http_err(int r, const struct tl_error *e, char *msg, size_t msz)
{
    return r < 0 ? ERR((int)tld_http_status(r), "%s", e->message) : r;
}

unsigned tld_http_status(int r)
{
    switch (r) {
    case -EINVAL: /* bad input: a field, a path, an image */
        return 400;
    case -ENOKEY: /* no enrolled AK to check the evidence with */
        return 401;
    case -EACCES: /* not this caller's: a token, a certificate, a challenge */
        return 403;
    case -ENOENT:
        return 404;
    case -EOPNOTSUPP: /* the method is not the resource's (the message names the one it takes) */
        return 405;
    case -EEXIST: /* exists already */
    case -EBUSY:  /* another operation holds it, or its state refuses this one */
    case -EDQUOT: /* a quota (capacity.c) */
    case -ENOSPC: /* the host's capacity */
        return 409;
    case -EAGAIN: /* try again: the agent's answer while its node is busy */
        return 503;
    default: /* -ENOMEM, -EIO, a helper that failed */
        return 500;
    }
}

const char *api_query(struct call *k, const char *key)
{
    return MHD_lookup_connection_value(k->c, MHD_GET_ARGUMENT_KIND, key);
}

/* The node named by the route's {node} (404 when none). */
/* A shared store (replicas): the node's record as the store has it now. */
static struct tld_node *call_node(struct call *k, int *r)
{
    struct tld_node *n = tld_store_node_sync(k->t, k->rq->arg[0], false, r);
    if (!n && *r != 0 && *r != -ENOENT)
        snprintf(k->msg, sizeof(k->msg), "node %s: the store did not answer", k->rq->arg[0]);
    else if (!n)
        snprintf(k->msg, sizeof(k->msg), "no node named %s", k->rq->arg[0]);
    return n;
}

struct tld_node *api_call_node(struct call *k)
{
    int r;
    return call_node(k, &r);
}

/* The node, when no operation holds it (lifecycle.c lets tld.lock go for
 * its I/O): else NULL with *status 404, or busy: 409 for the operator, 503
 * for its agent (temporary: the agent tries again). */
struct tld_node *api_call_node_idle(struct call *k, int *status)
{
    int r;
    struct tld_node *n = call_node(k, &r);
    *status = n ? 0 : r != 0 && r != -ENOENT ? 503 : 404;
    if (n && n->busy) {
        bool agent = k->rq->caller.role == TLD_ROLE_AGENT;
        snprintf(k->msg, sizeof(k->msg), "node %s is busy (%s); try again when it is done", n->name,
                 n->busy);
        *status = agent ? 503 : 409;
        n = NULL;
    }
    return n;
}

const char *api_authorization(struct call *k)
{
    return MHD_lookup_connection_value(k->c, MHD_HEADER_KIND, "Authorization");
}
