/* One libcurl client (http.h). No state of its own: each exchange has its
 * own easy handle, so threads (tld's webhook worker) need nothing shared
 * beyond libcurl's global init. */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tlhost/http.h"

#define REASON_LINE 200

void tlh_http_global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

void tlh_http_global_cleanup(void)
{
    curl_global_cleanup();
}

struct sink {
    struct tlh_http_response *rs;
    size_t max;
};

/* The body as received; over the bound the rest is read and dropped. */
static size_t on_data(char *p, size_t size, size_t n, void *user)
{
    struct sink *k = user;
    struct tlh_http_response *rs = k->rs;
    size_t total = size * n, room = k->max - rs->len;
    size_t take = total < room ? total : room;
    if (take < total)
        rs->truncated = true;
    if (take == 0)
        return total;
    if (rs->len + take + 1 > rs->cap) {
        size_t cap = rs->cap ? rs->cap : 4096;
        while (cap < rs->len + take + 1)
            cap *= 2;
        char *b = realloc(rs->body, cap);
        if (!b)
            return 0; /* libcurl fails the transfer: CURLE_WRITE_ERROR */
        rs->body = b;
        rs->cap = cap;
    }
    memcpy(rs->body + rs->len, p, take);
    rs->len += take;
    rs->body[rs->len] = 0;
    return total;
}

void tlh_http_response_done(struct tlh_http_response *rs)
{
    free(rs->body);
    *rs = (struct tlh_http_response){0};
}

int tlh_http_send(const struct tlh_http_request *rq, struct tlh_http_response *rs,
                  struct tl_error *err)
{
    tlh_http_response_done(rs);
    CURL *h = curl_easy_init();
    if (!h)
        return tl_error_set_nopos(err, -ENOMEM, "libcurl does not initialise");
    struct curl_slist *hdrs = NULL;
    bool ok = true;
    char auth[512];
    if (rq->body) {
        struct curl_slist *n = curl_slist_append(hdrs, "Content-Type: application/json");
        ok &= n != NULL;
        hdrs = n ? n : hdrs;
        /* no "Expect: 100-continue" round trip */
        n = curl_slist_append(hdrs, "Expect:");
        ok &= n != NULL;
        hdrs = n ? n : hdrs;
    }
    if (rq->bearer && rq->bearer[0]) {
        if (snprintf(auth, sizeof(auth), "Authorization: Bearer %s", rq->bearer) >=
            (int)sizeof(auth))
            ok = false;
        struct curl_slist *n = ok ? curl_slist_append(hdrs, auth) : NULL;
        ok &= n != NULL;
        hdrs = n ? n : hdrs;
    }
    if (!ok) {
        curl_slist_free_all(hdrs);
        curl_easy_cleanup(h);
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    }
    struct sink sink = {.rs = rs, .max = rq->body_max};
    char curl_err[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_URL, rq->url);
    if (rq->method)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
    if (rq->body || (rq->method && strcmp(rq->method, "POST") == 0)) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)(rq->body ? strlen(rq->body) : 0));
    }
    if (rq->direct) {
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    }
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     rq->connect_timeout_ms > 0 ? rq->connect_timeout_ms : rq->timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, rq->timeout_ms);
    if (rq->user_agent)
        curl_easy_setopt(h, CURLOPT_USERAGENT, rq->user_agent);
    CURLcode rc = curl_easy_perform(h);
    curl_slist_free_all(hdrs);
    int r = 0;
    if (rc != CURLE_OK) {
        /* a URL curl refuses will not get better */
        r = rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL ? -EINVAL
            : rc == CURLE_OUT_OF_MEMORY                                   ? -ENOMEM
                                                                          : -EAGAIN;
        tl_error_set_nopos(err, r, "%s", curl_err[0] ? curl_err : curl_easy_strerror(rc));
    } else {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &rs->status);
        char *ctype = NULL;
        if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ctype) == CURLE_OK && ctype)
            snprintf(rs->content_type, sizeof(rs->content_type), "%s", ctype);
    }
    curl_easy_cleanup(h);
    return r;
}

void tlh_http_reason(const struct tlh_http_response *rs, char *out, size_t size)
{
    json_t *root = rs->body && !rs->truncated ? json_loadb(rs->body, rs->len, 0, NULL) : NULL;
    const char *text = rs->body ? rs->body : "";
    size_t len = rs->len;
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
        snprintf(out, size, "HTTP %ld: %s", rs->status, line);
    else
        snprintf(out, size, "HTTP %ld", rs->status);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double seconds)
{
    struct timespec ts = {.tv_sec = (time_t)seconds,
                          .tv_nsec = (long)((seconds - (double)(time_t)seconds) * 1e9)};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

int tlh_http_send_retry(const struct tlh_http_request *rq, const struct tlh_http_retry *rt,
                        struct tlh_http_response *rs, struct tl_error *err)
{
    double start = now(), delay = rt->first_delay;
    struct tlh_http_request one = *rq;
    char reason[sizeof(((struct tl_error *)0)->message)];
    for (unsigned attempt = 1;; attempt++) {
        if (rt->total > 0) {
            double left = rt->total - (now() - start);
            long ms = left * 1000 < (double)rq->timeout_ms ? (long)(left * 1000) : rq->timeout_ms;
            one.timeout_ms = ms < 1000 ? 1000 : ms;
            if (rq->connect_timeout_ms > one.timeout_ms || rq->connect_timeout_ms == 0)
                one.connect_timeout_ms = one.timeout_ms;
        }
        struct tl_error e = {0};
        int r = tlh_http_send(&one, rs, &e);
        if (r == 0 && !(rs->status >= 500 && rs->status <= 599))
            return 0;
        if (r < 0 && r != -EAGAIN)
            return tl_error_set_nopos(err, r, "%s", e.message);
        if (r == 0)
            tlh_http_reason(rs, reason, sizeof(reason));
        else
            snprintf(reason, sizeof(reason), "%s", e.message);
        double elapsed = now() - start;
        if ((rt->total > 0 && elapsed + delay > rt->total) ||
            (rt->max_attempts && attempt >= rt->max_attempts)) {
            return tl_error_set_nopos(err, r < 0 ? r : -EIO,
                                      "%s (gave up after %u attempts in %.1f s)", reason, attempt,
                                      elapsed);
        }
        if (rt->on_retry)
            rt->on_retry(rt->ud, attempt, delay, reason);
        sleep_s(delay);
        delay = delay * 2 > rt->max_delay ? rt->max_delay : delay * 2;
    }
}
