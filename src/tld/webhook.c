/* Integrity alerts delivered to a webhook: an HTTP POST of the alert's
 * JSON to $TL_ALERT_WEBHOOK, from one background thread, retried with
 * backoff (1, 2, 4, 8, 16 s) while the receiver is away or answers 5xx; a
 * 2xx is delivered, a 4xx is refused for good. The alert itself is in the
 * store before it is queued: the webhook is a notification, not the
 * record. A queue of at most TLD_WEBHOOK_QUEUE alerts; beyond it the
 * oldest is dropped (and logged). Its state is the caller's struct
 * tld_webhook; the HTTP client is the host library's. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tld.h"
#include "tlhost/http.h"

#define WEBHOOK_ATTEMPTS   6
#define WEBHOOK_TIMEOUT_MS 10000L

/* 0 delivered, 1 not delivered (the receiver stayed away), -1 refused */
static int deliver(const struct tld_webhook *w, const char *body)
{
    struct tlh_http_request rq = {.url = w->url, .body = body, .timeout_ms = WEBHOOK_TIMEOUT_MS};
    struct tlh_http_retry rt = {
        .first_delay = 1, .max_delay = 16, .max_attempts = WEBHOOK_ATTEMPTS};
    struct tlh_http_response rs = {0};
    int r = tlh_http_send_retry(&rq, &rt, &rs, NULL);
    long status = rs.status;
    tlh_http_response_done(&rs);
    if (r < 0)
        return 1;
    return status >= 200 && status < 300 ? 0 : -1;
}

static void *worker(void *arg)
{
    struct tld_webhook *w = arg;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->count && !w->stopping)
            pthread_cond_wait(&w->cv, &w->lock);
        if (w->stopping)
            break;
        char *body = w->queue[w->head];
        w->head = (w->head + 1) % TLD_WEBHOOK_QUEUE;
        w->count--;
        pthread_mutex_unlock(&w->lock);
        int r = deliver(w, body);
        tld_log("webhook: alert %s", r == 0 ? "delivered" : r < 0 ? "refused" : "not delivered");
        free(body);
        pthread_mutex_lock(&w->lock);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

void tld_webhook_start(struct tld_webhook *w)
{
    *w = (struct tld_webhook){0};
    const char *u = getenv("TL_ALERT_WEBHOOK");
    if (!u || !*u || strlen(u) >= sizeof(w->url))
        return;
    strcpy(w->url, u);
    tlh_http_global_init();
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->running = pthread_create(&w->thread, NULL, worker, w) == 0;
}

void tld_webhook_post(struct tld_webhook *w, json_t *alert)
{
    if (!w->running)
        return;
    char *body = json_dumps(alert, JSON_COMPACT);
    if (!body)
        return;
    pthread_mutex_lock(&w->lock);
    if (w->count == TLD_WEBHOOK_QUEUE) {
        tld_log("webhook: queue full, oldest alert dropped");
        free(w->queue[w->head]);
        w->head = (w->head + 1) % TLD_WEBHOOK_QUEUE;
        w->count--;
    }
    w->queue[(w->head + w->count) % TLD_WEBHOOK_QUEUE] = body;
    w->count++;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->lock);
}

void tld_webhook_stop(struct tld_webhook *w)
{
    if (!w->running)
        return;
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    while (w->count) {
        free(w->queue[w->head]);
        w->head = (w->head + 1) % TLD_WEBHOOK_QUEUE;
        w->count--;
    }
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cv);
    w->running = false;
}
