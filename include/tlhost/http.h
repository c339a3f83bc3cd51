/* The host library (see file.h for its rules).
 *
 * http.h: one libcurl client for tl (tld's REST API), tld (alert webhooks)
 * and tl-agent (reports and attestation to tld). Response bodies are kept
 * up to a bound (the rest is read and dropped, the response marked
 * truncated); every request has a timeout; tlh_http_send_retry retries what
 * may get better (no connection, a timeout, 5xx) with exponential backoff.
 * Call tlh_http_global_init once before any thread sends (libcurl's global
 * state), tlh_http_global_cleanup at the end. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "tl/error.h"

struct tlh_http_request {
    const char *method; /* NULL: POST with a body, GET without */
    const char *url;
    const char *body;        /* sent as is, with Content-Type: application/json; may be NULL */
    const char *bearer;      /* "Authorization: Bearer <bearer>" unless NULL or "" */
    const char *user_agent;  /* may be NULL */
    long timeout_ms;         /* the whole exchange */
    long connect_timeout_ms; /* 0: timeout_ms */
    size_t body_max;         /* response bytes kept (0: none kept) */
    bool direct;             /* no proxy, http and https only (the platform's own hosts) */
};

struct tlh_http_response {
    long status; /* 0 until a response came */
    char *body;  /* NUL-terminated, or NULL when empty */
    size_t len;
    bool truncated; /* more than body_max came */
    char content_type[96];
    size_t cap;
};

void tlh_http_global_init(void);
void tlh_http_global_cleanup(void);

/* One exchange: 0 when the server answered (any status: rs->status), else
 * -EAGAIN (no connection, a timeout: may get better), -EINVAL (a URL curl
 * refuses), -ENOMEM, with curl's reason in err. */
int tlh_http_send(const struct tlh_http_request *rq, struct tlh_http_response *rs,
                  struct tl_error *err);

struct tlh_http_retry {
    double first_delay;    /* seconds before the second attempt; doubling */
    double max_delay;      /* up to this */
    double total;          /* > 0: give up once this many seconds would pass; each
                            * attempt's timeout is cut to what is left (at least 1 s) */
    unsigned max_attempts; /* > 0: give up after this many */
    /* called before each wait; may be NULL */
    void (*on_retry)(void *ud, unsigned attempt, double delay, const char *reason);
    void *ud;
};

/* tlh_http_send until the server answers with something other than 5xx
 * (0), or the retry gives up: -EIO after a 5xx (rs holds it) or the last
 * transport error, err saying "<reason> (gave up after N attempts in S s)".
 * A URL curl refuses is not retried. */
int tlh_http_send_retry(const struct tlh_http_request *rq, const struct tlh_http_retry *rt,
                        struct tlh_http_response *rs, struct tl_error *err);
void tlh_http_response_done(struct tlh_http_response *rs);

/* A line for a log about a response: "HTTP 400: <first line of the body>",
 * or of its "error" string when the body is a JSON object with one (tld's
 * error answers). The body is untrusted: printable ASCII only, cut to 200
 * characters. */
void tlh_http_reason(const struct tlh_http_response *rs, char *out, size_t size);
