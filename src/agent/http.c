/* POSTs to tld through the host library's HTTP client (tlhost/http.h),
 * with retries: the report, and the attestation requests (enrol, activate,
 * nonce, attest).
 *
 * A node boots while its platform may still be coming up (or restarting), so
 * "cannot connect" and 5xx are temporary: retry with exponential backoff,
 * 0.5 s doubling to 8 s, until --retry-for seconds have passed. Anything else
 * is the platform's answer and final; the caller decides what a status means
 * (2xx success; for attestation, 404 on /enroll is "an older tld").
 *
 * The server's body is untrusted: the caller gets it whole (up to
 * AGENT_REPLY_MAX, NUL-terminated) to parse, and a reason line for the
 * console made of its first line only (tlh_http_reason). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "tlhost/http.h"

#define BACKOFF_FIRST      0.5
#define BACKOFF_MAX        8.0
#define CONNECT_TIMEOUT_MS 5000L
#define ATTEMPT_TIMEOUT_MS 20000L

static void on_retry(void *ud, unsigned attempt, double delay, const char *reason)
{
    (void)ud;
    agent_say("retry %u in %.1f s (%s)", attempt, delay, reason);
}

int agent_post(const char *url, const char *token, const char *body, double retry_for,
               struct agent_reply *reply)
{
    *reply = (struct agent_reply){0};
    struct tlh_http_request rq = {.url = url,
                                  .body = body,
                                  .bearer = token,
                                  .user_agent = "tl-agent/1",
                                  .timeout_ms = ATTEMPT_TIMEOUT_MS,
                                  .connect_timeout_ms = CONNECT_TIMEOUT_MS,
                                  .body_max = AGENT_REPLY_MAX,
                                  .direct = true};
    struct tlh_http_retry rt = {.first_delay = BACKOFF_FIRST,
                                .max_delay = BACKOFF_MAX,
                                .total = retry_for,
                                .on_retry = on_retry};
    struct tlh_http_response rs = {0};
    struct tl_error err = {0};
    tlh_http_global_init();
    int r = tlh_http_send_retry(&rq, &rt, &rs, &err);
    tlh_http_global_cleanup();
    reply->status = rs.status;
    reply->body = rs.body;
    reply->len = rs.len;
    reply->cap = rs.cap;
    reply->truncated = rs.truncated;
    if (r < 0)
        snprintf(reply->reason, sizeof(reply->reason), "%.*s", (int)sizeof(reply->reason) - 1,
                 err.message);
    else
        tlh_http_reason(&rs, reply->reason, sizeof(reply->reason));
    return r < 0 ? -1 : 0;
}

void agent_reply_done(struct agent_reply *reply)
{
    free(reply->body);
    *reply = (struct agent_reply){0};
}

int agent_report_send(const struct agent_config *cfg, const char *body, double retry_for)
{
    struct agent_reply reply;
    int r = agent_post(cfg->url, cfg->token, body, retry_for, &reply);
    if (r == 0 && (reply.status < 200 || reply.status > 299))
        r = -1;
    if (r == 0)
        agent_say("reported");
    else
        agent_say("failed: %s", reply.reason);
    agent_reply_done(&reply);
    return r;
}
