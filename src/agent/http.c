/* POSTs to tld with libcurl, with retries: the report, and the attestation
 * requests (enrol, activate, nonce, attest).
 *
 * A node boots while its platform may still be coming up (or restarting), so
 * "cannot connect" and 5xx are temporary: retry with exponential backoff,
 * 0.5 s doubling to 8 s, until --retry-for seconds have passed. Anything else
 * is the platform's answer and final; the caller decides what a status means
 * (2xx success; for attestation, 404 on /enroll is "an older tld").
 *
 * The server's body is untrusted: the caller gets it whole (up to
 * AGENT_REPLY_MAX, NUL-terminated) to parse, and a reason line for the
 * console made of its first line only (of its "error" string when it is
 * tld's JSON error), printable and cut to 200 characters. */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"

#define BACKOFF_FIRST      0.5
#define BACKOFF_MAX        8.0
#define CONNECT_TIMEOUT_MS 5000L
#define ATTEMPT_TIMEOUT_MS 20000L
#define REASON_LINE        200

enum post_outcome { POST_ANSWERED, POST_RETRY, POST_FAIL };

/* The body as received; over AGENT_REPLY_MAX the rest is read and dropped
 * and the reply marked truncated (a caller that parses it refuses it). */
static size_t on_data(char *p, size_t size, size_t n, void *user)
{
    struct agent_reply *reply = user;
    size_t total = size * n, room = AGENT_REPLY_MAX - reply->len;
    size_t take = total < room ? total : room;
    if (take < total)
        reply->truncated = true;
    if (take == 0)
        return total;
    if (reply->len + take + 1 > reply->cap) {
        size_t cap = reply->cap ? reply->cap : 4096;
        while (cap < reply->len + take + 1)
            cap *= 2;
        char *b = realloc(reply->body, cap);
        if (!b)
            return 0; /* libcurl fails the transfer: CURLE_WRITE_ERROR */
        reply->body = b;
        reply->cap = cap;
    }
    memcpy(reply->body + reply->len, p, take);
    reply->len += take;
    reply->body[reply->len] = 0;
    return total;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void agent_sleep(double seconds)
{
    struct timespec ts = {.tv_sec = (time_t)seconds,
                          .tv_nsec = (long)((seconds - (double)(time_t)seconds) * 1e9)};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* "HTTP 400: first line of the body", or of its "error" when the body is
 * a JSON object with one (tld's error answers: {"error": "..."}). */
static void describe_status(struct agent_reply *reply)
{
    json_t *root =
        reply->body && !reply->truncated ? json_loadb(reply->body, reply->len, 0, NULL) : NULL;
    const char *text = reply->body ? reply->body : "";
    size_t len = reply->len;
    json_t *error = json_is_object(root) ? json_object_get(root, "error") : NULL;
    if (json_is_string(error)) {
        text = json_string_value(error);
        len = json_string_length(error);
    }
    char line[REASON_LINE + 1];
    size_t n = 0;
    for (size_t i = 0; i < len && n < REASON_LINE; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '\n' || c == '\r')
            break;
        line[n++] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
    }
    line[n] = 0;
    json_decref(root);
    if (n)
        snprintf(reply->reason, sizeof(reply->reason), "HTTP %ld: %s", reply->status, line);
    else
        snprintf(reply->reason, sizeof(reply->reason), "HTTP %ld", reply->status);
}

static void reply_reset(struct agent_reply *reply)
{
    free(reply->body);
    *reply = (struct agent_reply){0};
}

static enum post_outcome post(CURL *curl, const char *url, const char *token, const char *body,
                              long timeout_ms, struct agent_reply *reply)
{
    reply_reset(reply);
    char auth[sizeof("Authorization: Bearer ") + AGENT_TOKEN_MAX];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    struct curl_slist *h2 = headers ? curl_slist_append(headers, auth) : NULL;
    if (!h2) {
        curl_slist_free_all(headers);
        snprintf(reply->reason, sizeof(reply->reason), "out of memory");
        return POST_FAIL;
    }
    headers = h2;
    /* no "Expect: 100-continue" round trip */
    h2 = curl_slist_append(headers, "Expect:");
    if (h2)
        headers = h2;

    char curl_err[CURL_ERROR_SIZE] = "";
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_NOPROXY, "*"); /* the platform is reached directly */
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, reply);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                     timeout_ms < CONNECT_TIMEOUT_MS ? timeout_ms : CONNECT_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "tl-agent/1");
    CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);

    if (rc != CURLE_OK) {
        snprintf(reply->reason, sizeof(reply->reason), "%s",
                 curl_err[0] ? curl_err : curl_easy_strerror(rc));
        /* a URL curl refuses will not get better */
        return rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL ? POST_FAIL
                                                                             : POST_RETRY;
    }
    reply->status = status;
    describe_status(reply);
    return status >= 500 && status <= 599 ? POST_RETRY : POST_ANSWERED;
}

int agent_post(const char *url, const char *token, const char *body, double retry_for,
               struct agent_reply *reply)
{
    *reply = (struct agent_reply){0};
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(reply->reason, sizeof(reply->reason), "libcurl does not initialise");
        return -1;
    }
    CURL *curl = curl_easy_init();
    if (!curl) {
        curl_global_cleanup();
        snprintf(reply->reason, sizeof(reply->reason), "libcurl does not initialise");
        return -1;
    }
    double start = now(), delay = BACKOFF_FIRST;
    int r = -1;
    for (unsigned attempt = 1;; attempt++) {
        double left = retry_for - (now() - start);
        long timeout_ms =
            left * 1000 < ATTEMPT_TIMEOUT_MS ? (long)(left * 1000) : ATTEMPT_TIMEOUT_MS;
        if (timeout_ms < 1000)
            timeout_ms = 1000;
        enum post_outcome o = post(curl, url, token, body, timeout_ms, reply);
        if (o == POST_ANSWERED) {
            r = 0;
            break;
        }
        if (o == POST_FAIL)
            break;
        double elapsed = now() - start;
        if (elapsed + delay > retry_for) {
            size_t n = strlen(reply->reason);
            snprintf(reply->reason + n, sizeof(reply->reason) - n,
                     " (gave up after %u attempts in %.1f s)", attempt, elapsed);
            break;
        }
        agent_say("retry %u in %.1f s (%s)", attempt, delay, reply->reason);
        agent_sleep(delay);
        delay = delay * 2 > BACKOFF_MAX ? BACKOFF_MAX : delay * 2;
    }
    curl_easy_cleanup(curl);
    curl_global_cleanup();
    return r;
}

void agent_reply_done(struct agent_reply *reply)
{
    reply_reset(reply);
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
