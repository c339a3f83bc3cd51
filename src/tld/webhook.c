/* Integrity alerts delivered to a webhook: an HTTP POST of the alert's
 * JSON to $TL_ALERT_WEBHOOK, from one background thread, retried with
 * backoff (1, 2, 4, 8, 16 s) while the receiver is away or answers 5xx; a
 * 2xx is delivered, a 4xx is refused for good. The alert itself is in the
 * store before it is queued: the webhook is a notification, not the
 * record. A queue of at most WEBHOOK_QUEUE alerts; beyond it the oldest is
 * dropped (and logged). */
#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tld.h"

#define WEBHOOK_QUEUE    256
#define WEBHOOK_ATTEMPTS 6

static pthread_t thread;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static char *queue[WEBHOOK_QUEUE];
static size_t head, count;
static bool running, stopping;
static char url[1024];

static size_t discard(char *p, size_t s, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return s * n;
}

/* 0 delivered, 1 retry, -1 refused */
static int post(const char *body)
{
    CURL *h = curl_easy_init();
    if (!h)
        return 1;
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    long status = 0;
    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    if (rc != CURLE_OK || status >= 500)
        return 1;
    return status >= 200 && status < 300 ? 0 : -1;
}

static void *worker(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&mu);
    for (;;) {
        while (!count && !stopping)
            pthread_cond_wait(&cv, &mu);
        if (stopping)
            break;
        char *body = queue[head];
        head = (head + 1) % WEBHOOK_QUEUE;
        count--;
        pthread_mutex_unlock(&mu);
        int r = 1;
        for (int attempt = 0; attempt < WEBHOOK_ATTEMPTS && r == 1; attempt++) {
            if (attempt) {
                struct timespec ts = {1 << (attempt - 1), 0};
                nanosleep(&ts, NULL);
            }
            r = post(body);
        }
        tld_log("webhook: alert %s", r == 0 ? "delivered" : r < 0 ? "refused" : "not delivered");
        free(body);
        pthread_mutex_lock(&mu);
    }
    pthread_mutex_unlock(&mu);
    return NULL;
}

void tld_webhook_start(void)
{
    const char *u = getenv("TL_ALERT_WEBHOOK");
    if (!u || !*u || strlen(u) >= sizeof(url))
        return;
    strcpy(url, u);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    running = pthread_create(&thread, NULL, worker, NULL) == 0;
}

void tld_webhook_post(json_t *alert)
{
    if (!running)
        return;
    char *body = json_dumps(alert, JSON_COMPACT);
    if (!body)
        return;
    pthread_mutex_lock(&mu);
    if (count == WEBHOOK_QUEUE) {
        tld_log("webhook: queue full, oldest alert dropped");
        free(queue[head]);
        head = (head + 1) % WEBHOOK_QUEUE;
        count--;
    }
    queue[(head + count) % WEBHOOK_QUEUE] = body;
    count++;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
}

void tld_webhook_stop(void)
{
    if (!running)
        return;
    pthread_mutex_lock(&mu);
    stopping = true;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
    pthread_join(thread, NULL);
    while (count) {
        free(queue[head]);
        head = (head + 1) % WEBHOOK_QUEUE;
        count--;
    }
    running = false;
}
