/* One libcurl client (http.h). Each exchange has its own easy handle, so
 * threads (tld's webhook worker) share nothing beyond libcurl's global
 * init and the table below.
 *
 * libcurl is loaded with dlopen on first use, not linked: it brings 28
 * shared libraries (GnuTLS, Kerberos, LDAP, ...) whose relocation cost
 * every `tl` run about 12 ms of its start, though only the verbs that talk
 * to tld use it (issue 17's CLI figures). The table is process-wide, as
 * libcurl's own global state is: filled once under pthread_once, never
 * unloaded. The initramfs ships libcurl.so.4 for tl-agent explicitly
 * (image/mkinitramfs.sh), since ldd no longer lists it. */
#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tlhost/http.h"

#define REASON_LINE    200
#define LIBCURL_SONAME "libcurl.so.4"

struct curl_api {
    CURLcode (*global_init)(long flags);
    void (*global_cleanup)(void);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *h, CURLoption option, ...);
    CURLcode (*easy_perform)(CURL *h);
    CURLcode (*easy_getinfo)(CURL *h, CURLINFO info, ...);
    void (*easy_cleanup)(CURL *h);
    const char *(*easy_strerror)(CURLcode rc);
    struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
    void (*slist_free_all)(struct curl_slist *l);
    bool loaded;
    char why[200]; /* when not loaded */
};

static struct curl_api curl_api;
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_load(void)
{
    struct curl_api *a = &curl_api;
    void *lib = dlopen(LIBCURL_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *e = dlerror();
        snprintf(a->why, sizeof(a->why), "cannot load libcurl: %s", e ? e : LIBCURL_SONAME);
        return;
    }
    const struct {
        void **slot;
        const char *name;
    } syms[] = {
        {(void **)&a->global_init, "curl_global_init"},
        {(void **)&a->global_cleanup, "curl_global_cleanup"},
        {(void **)&a->easy_init, "curl_easy_init"},
        {(void **)&a->easy_setopt, "curl_easy_setopt"},
        {(void **)&a->easy_perform, "curl_easy_perform"},
        {(void **)&a->easy_getinfo, "curl_easy_getinfo"},
        {(void **)&a->easy_cleanup, "curl_easy_cleanup"},
        {(void **)&a->easy_strerror, "curl_easy_strerror"},
        {(void **)&a->slist_append, "curl_slist_append"},
        {(void **)&a->slist_free_all, "curl_slist_free_all"},
    };
    for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
        *syms[i].slot = dlsym(lib, syms[i].name);
        if (!*syms[i].slot) {
            snprintf(a->why, sizeof(a->why), "%s: no symbol %s", LIBCURL_SONAME, syms[i].name);
            return; /* the library stays loaded: harmless, and never used */
        }
    }
    a->loaded = true;
}

static const struct curl_api *curl_get(void)
{
    pthread_once(&curl_once, curl_load);
    return &curl_api;
}

void tlh_http_global_init(void)
{
    const struct curl_api *c = curl_get();
    if (c->loaded)
        c->global_init(CURL_GLOBAL_DEFAULT);
}

void tlh_http_global_cleanup(void)
{
    const struct curl_api *c = curl_get();
    if (c->loaded)
        c->global_cleanup();
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
    const struct curl_api *c = curl_get();
    if (!c->loaded)
        return tl_error_set_nopos(err, -ELIBACC, "%s", c->why);
    CURL *h = c->easy_init();
    if (!h)
        return tl_error_set_nopos(err, -ENOMEM, "libcurl does not initialise");
    struct curl_slist *hdrs = NULL;
    bool ok = true;
    char auth[512];
    if (rq->body) {
        struct curl_slist *n = c->slist_append(hdrs, "Content-Type: application/json");
        ok &= n != NULL;
        hdrs = n ? n : hdrs;
        /* no "Expect: 100-continue" round trip */
        n = c->slist_append(hdrs, "Expect:");
        ok &= n != NULL;
        hdrs = n ? n : hdrs;
    }
    if (rq->bearer && rq->bearer[0]) {
        if (snprintf(auth, sizeof(auth), "Authorization: Bearer %s", rq->bearer) >=
            (int)sizeof(auth))
            ok = false;
        struct curl_slist *n = ok ? c->slist_append(hdrs, auth) : NULL;
        ok &= n != NULL;
        hdrs = n ? n : hdrs;
    }
    if (!ok) {
        c->slist_free_all(hdrs);
        c->easy_cleanup(h);
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    }
    struct sink sink = {.rs = rs, .max = rq->body_max};
    char curl_err[CURL_ERROR_SIZE] = "";
    c->easy_setopt(h, CURLOPT_URL, rq->url);
    if (rq->method)
        c->easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
    if (rq->body || (rq->method && strcmp(rq->method, "POST") == 0)) {
        c->easy_setopt(h, CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
        c->easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                       (curl_off_t)(rq->body ? strlen(rq->body) : 0));
    }
    if (rq->direct) {
        c->easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        c->easy_setopt(h, CURLOPT_NOPROXY, "*");
    }
    c->easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    c->easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    c->easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    c->easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    c->easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err);
    c->easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   rq->connect_timeout_ms > 0 ? rq->connect_timeout_ms : rq->timeout_ms);
    c->easy_setopt(h, CURLOPT_TIMEOUT_MS, rq->timeout_ms);
    if (rq->user_agent)
        c->easy_setopt(h, CURLOPT_USERAGENT, rq->user_agent);
    CURLcode rc = c->easy_perform(h);
    c->slist_free_all(hdrs);
    int r = 0;
    if (rc != CURLE_OK) {
        /* a URL curl refuses will not get better */
        r = rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL ? -EINVAL
            : rc == CURLE_OUT_OF_MEMORY                                   ? -ENOMEM
                                                                          : -EAGAIN;
        tl_error_set_nopos(err, r, "%s", curl_err[0] ? curl_err : c->easy_strerror(rc));
    } else {
        c->easy_getinfo(h, CURLINFO_RESPONSE_CODE, &rs->status);
        char *ctype = NULL;
        if (c->easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ctype) == CURLE_OK && ctype)
            snprintf(rs->content_type, sizeof(rs->content_type), "%s", ctype);
    }
    c->easy_cleanup(h);
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
