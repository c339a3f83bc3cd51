/* Posting the report to tld with libcurl, with retries.
 *
 * A node boots while its platform may still be coming up (or restarting), so
 * "cannot connect" and 5xx are temporary: retry with exponential backoff,
 * 0.5 s doubling to 8 s, until --retry-for seconds have passed. Anything else
 * that is not 2xx (4xx: bad token, unknown node, a body tld refuses; 3xx: no
 * redirects are followed) is the platform's answer and final.
 *
 * The server's body is untrusted: only its first line, made printable and
 * cut to 200 characters, goes to the console. */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"

#define BACKOFF_FIRST      0.5
#define BACKOFF_MAX        8.0
#define CONNECT_TIMEOUT_MS 5000L
#define ATTEMPT_TIMEOUT_MS 20000L
#define RESPONSE_KEEP      4096
#define REASON_LINE        200

enum post_outcome { POST_OK, POST_RETRY, POST_FAIL };

struct response {
    char buf[RESPONSE_KEEP + 1];
    size_t len;
};

static size_t on_data(char *p, size_t size, size_t n, void *user)
{
    struct response *resp = user;
    size_t total = size * n, room = RESPONSE_KEEP - resp->len;
    memcpy(resp->buf + resp->len, p, total < room ? total : room);
    resp->len += total < room ? total : room;
    return total; /* read and drop the rest */
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_for(double seconds)
{
    struct timespec ts = {.tv_sec = (time_t)seconds,
                          .tv_nsec = (long)((seconds - (double)(time_t)seconds) * 1e9)};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* "HTTP 400: first line of the body" */
static void describe_status(long status, const struct response *resp, char *out, size_t out_size)
{
    char line[REASON_LINE + 1];
    size_t n = 0;
    for (size_t i = 0; i < resp->len && n < REASON_LINE; i++) {
        unsigned char c = (unsigned char)resp->buf[i];
        if (c == '\n' || c == '\r')
            break;
        line[n++] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
    }
    line[n] = 0;
    if (n)
        snprintf(out, out_size, "HTTP %ld: %s", status, line);
    else
        snprintf(out, out_size, "HTTP %ld", status);
}

static enum post_outcome post(CURL *curl, const struct agent_config *cfg, const char *body,
                              long timeout_ms, char *reason, size_t reason_size)
{
    char auth[sizeof("Authorization: Bearer ") + AGENT_TOKEN_MAX];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", cfg->token);
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    struct curl_slist *h2 = headers ? curl_slist_append(headers, auth) : NULL;
    if (!h2) {
        curl_slist_free_all(headers);
        snprintf(reason, reason_size, "out of memory");
        return POST_FAIL;
    }
    headers = h2;
    /* no "Expect: 100-continue" round trip */
    h2 = curl_slist_append(headers, "Expect:");
    if (h2)
        headers = h2;

    struct response resp = {.len = 0};
    char curl_err[CURL_ERROR_SIZE] = "";
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, cfg->url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_NOPROXY, "*"); /* the platform is reached directly */
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &resp);
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
        snprintf(reason, reason_size, "%s", curl_err[0] ? curl_err : curl_easy_strerror(rc));
        /* a URL curl refuses will not get better */
        return rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL ? POST_FAIL
                                                                             : POST_RETRY;
    }
    describe_status(status, &resp, reason, reason_size);
    if (status >= 200 && status <= 299)
        return POST_OK;
    return status >= 500 && status <= 599 ? POST_RETRY : POST_FAIL;
}

int agent_report_send(const struct agent_config *cfg, const char *body, double retry_for)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        agent_say("failed: libcurl does not initialise");
        return -1;
    }
    CURL *curl = curl_easy_init();
    if (!curl) {
        curl_global_cleanup();
        agent_say("failed: libcurl does not initialise");
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
        char reason[REASON_LINE + 128];
        enum post_outcome o = post(curl, cfg, body, timeout_ms, reason, sizeof(reason));
        if (o == POST_OK) {
            agent_say("reported");
            r = 0;
            break;
        }
        if (o == POST_FAIL) {
            agent_say("failed: %s", reason);
            break;
        }
        double elapsed = now() - start;
        if (elapsed + delay > retry_for) {
            agent_say("failed: %s (gave up after %u attempts in %.1f s)", reason, attempt, elapsed);
            break;
        }
        agent_say("retry %u in %.1f s (%s)", attempt, delay, reason);
        sleep_for(delay);
        delay = delay * 2 > BACKOFF_MAX ? BACKOFF_MAX : delay * 2;
    }
    curl_easy_cleanup(curl);
    curl_global_cleanup();
    return r;
}
