/* tld's counters and the Prometheus text exposition format, version 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/): what
 * GET /metrics answers (docs/api.md, "Metrics"; metrics_state.c reads the
 * gauges and puts the answer together).
 *
 * Invariants:
 *  - the counters are struct tld_metrics's, under its own mutex, which is
 *    taken for a few instructions and never while taking tld.lock (an
 *    update may come under tld.lock: attest.c's verdict; the order is
 *    always tld.lock, then this one);
 *  - a label value a guest or a policy chooses is bounded before it is
 *    kept (tld_metrics_label_count): at most TLD_METRICS_LABEL_MAX bytes,
 *    cut at a UTF-8 character, bytes that are not UTF-8 and control
 *    characters but the line feed made '?', and at most TLD_METRICS_LABELS
 *    distinct values per metric, every other one (and "" and "other"
 *    itself, so that no series appears twice) counted as "other";
 *  - every label value is escaped as the format requires when written
 *    (tld_metrics_escape: backslash, double quote, line feed);
 *  - the renderer is pure (counts and gauges in, text out), and each
 *    family is written whole: HELP, TYPE, then its samples. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tl/aks.h"
#include "tld.h"

/* the attestation latency's bucket bounds, seconds (Prometheus's default
 * buckets: an attestation takes ~10 ms of CPU, more when tld.lock is
 * contended or the machine loaded) */
static const char *const bucket_text[TLD_METRICS_BUCKETS] = {
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10"};
static const double bucket_le[TLD_METRICS_BUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                      0.5,   1,    2.5,   5,    10};

void tld_metrics_init(struct tld_metrics *m)
{
    pthread_mutex_init(&m->lock, NULL);
    memset(&m->c, 0, sizeof(m->c));
}

double tld_metrics_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The length of the UTF-8 character at s (at most avail bytes), 0 when
 * the bytes there are not one (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF). */
static size_t utf8_char(const unsigned char *s, size_t avail)
{
    unsigned c = s[0];
    size_t n;
    unsigned lo = 0x80, hi = 0xbf; /* the second byte's range */
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else
        return 0;
    if (avail < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return n;
}

/* value bounded into out (TLD_METRICS_LABEL_MAX + 1 bytes) */
static void label_bound(const char *value, char out[TLD_METRICS_LABEL_MAX + 1])
{
    const unsigned char *s = (const unsigned char *)value;
    size_t len = strlen(value), i = 0, k = 0;
    while (i < len) {
        size_t n = utf8_char(s + i, len - i);
        if (n == 0 || (n == 1 && ((s[i] < 0x20 && s[i] != '\n') || s[i] == 0x7f))) {
            if (k + 1 > TLD_METRICS_LABEL_MAX)
                break;
            out[k++] = '?';
            i += n ? n : 1;
            continue;
        }
        if (k + n > TLD_METRICS_LABEL_MAX)
            break; /* the whole character or none of it */
        memcpy(out + k, s + i, n);
        k += n;
        i += n;
    }
    out[k] = 0;
}

void tld_metrics_label_count(struct tld_metric_labels *l, const char *value)
{
    char v[TLD_METRICS_LABEL_MAX + 1];
    label_bound(value ? value : "", v);
    if (!v[0] || strcmp(v, TLD_METRICS_OTHER) == 0) {
        l->other++;
        return;
    }
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].value, v) == 0) {
            l->v[i].n++;
            return;
        }
    if (l->n == TLD_METRICS_LABELS) {
        l->other++;
        return;
    }
    memcpy(l->v[l->n].value, v, sizeof(v));
    l->v[l->n++].n = 1;
}

void tld_metrics_attestation(struct tld_metrics *m, bool pass, const json_t *components,
                             double seconds)
{
    size_t b = 0;
    while (b < TLD_METRICS_BUCKETS && seconds > bucket_le[b])
        b++;
    pthread_mutex_lock(&m->lock);
    m->c.attestations[pass ? 0 : 1]++;
    m->c.latency[b]++;
    m->c.latency_sum += seconds > 0 ? seconds : 0;
    size_t i;
    const json_t *name;
    if (!pass)
        json_array_foreach(components, i, name)
            tld_metrics_label_count(&m->c.failed_components, json_string_value(name));
    pthread_mutex_unlock(&m->lock);
}

void tld_metrics_release(struct tld_metrics *m, bool granted, const char *clause)
{
    pthread_mutex_lock(&m->lock);
    tld_metrics_label_count(granted ? &m->c.granted : &m->c.refused, clause);
    pthread_mutex_unlock(&m->lock);
}

void tld_metrics_http(struct tld_metrics *m, const char *route, const char *method, unsigned code)
{
    pthread_mutex_lock(&m->lock);
    struct tld_metrics_counts *c = &m->c;
    size_t i = 0;
    while (i < c->n_http &&
           !(c->http[i].code == code && c->http[i].route == route && c->http[i].method == method))
        i++; /* the strings are static: one pointer per route and method */
    if (i < c->n_http)
        c->http[i].n++;
    else if (c->n_http < TLD_METRICS_HTTP)
        c->http[c->n_http++] = (struct tld_metric_http){route, method, code, 1};
    else
        c->http_other++;
    pthread_mutex_unlock(&m->lock);
}

const char *tld_metrics_method(const char *method)
{
    static const char *const known[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
    for (size_t i = 0; method && i < sizeof(known) / sizeof(known[0]); i++)
        if (strcmp(method, known[i]) == 0)
            return known[i];
    return TLD_METRICS_OTHER;
}

/* ---- the text format ---- */

void tld_metrics_escape(FILE *f, const char *value)
{
    for (const char *p = value; *p; p++) {
        if (*p == '\\')
            fputs("\\\\", f);
        else if (*p == '"')
            fputs("\\\"", f);
        else if (*p == '\n')
            fputs("\\n", f);
        else
            fputc(*p, f);
    }
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{key="value"} n, the value escaped */
static void sample1(FILE *f, const char *name, const char *key, const char *value, uint64_t n)
{
    fprintf(f, "%s{%s=\"", name, key);
    tld_metrics_escape(f, value);
    fprintf(f, "\"} %" PRIu64 "\n", n);
}

static void labels_samples(FILE *f, const char *name, const char *prefix,
                           const struct tld_metric_labels *l, const char *key)
{
    for (size_t i = 0; i <= l->n; i++) {
        const char *v = i < l->n ? l->v[i].value : TLD_METRICS_OTHER;
        uint64_t n = i < l->n ? l->v[i].n : l->other;
        if (i == l->n && !n)
            continue; /* "other" only once something went there */
        fprintf(f, "%s{%s%s=\"", name, prefix, key);
        tld_metrics_escape(f, v);
        fprintf(f, "\"} %" PRIu64 "\n", n);
    }
}

static void counters(FILE *f, const struct tld_metrics_counts *c)
{
    family(f, "tld_attestations_total", "counter",
           "Attestations judged and stored since tld started, by verdict.");
    sample1(f, "tld_attestations_total", "verdict", "pass", c->attestations[0]);
    sample1(f, "tld_attestations_total", "verdict", "fail", c->attestations[1]);

    family(f, "tld_attestation_failed_components_total", "counter",
           "Failed attestations naming each component since tld started (at most 32 names, "
           "the rest as \"other\").");
    labels_samples(f, "tld_attestation_failed_components_total", "", &c->failed_components,
                   "component");

    family(f, "tld_attestation_duration_seconds", "histogram",
           "Time from an attest call's begin to its verdict stored.");
    uint64_t cum = 0;
    for (size_t b = 0; b < TLD_METRICS_BUCKETS; b++) {
        cum += c->latency[b];
        fprintf(f, "tld_attestation_duration_seconds_bucket{le=\"%s\"} %" PRIu64 "\n",
                bucket_text[b], cum);
    }
    cum += c->latency[TLD_METRICS_BUCKETS];
    fprintf(f, "tld_attestation_duration_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n", cum);
    fprintf(f, "tld_attestation_duration_seconds_sum %.6f\n", c->latency_sum);
    fprintf(f, "tld_attestation_duration_seconds_count %" PRIu64 "\n", cum);

    family(f, "tld_key_releases_total", "counter",
           "Key release decisions since tld started, by outcome and deciding clause.");
    labels_samples(f, "tld_key_releases_total", "outcome=\"granted\",", &c->granted, "clause");
    labels_samples(f, "tld_key_releases_total", "outcome=\"refused\",", &c->refused, "clause");

    family(f, "tld_http_requests_total", "counter",
           "HTTP answers since tld started, by route pattern, method and status code.");
    for (size_t i = 0; i < c->n_http; i++) {
        fputs("tld_http_requests_total{route=\"", f);
        tld_metrics_escape(f, c->http[i].route);
        fprintf(f, "\",method=\"%s\",code=\"%u\"} %" PRIu64 "\n", c->http[i].method,
                c->http[i].code, c->http[i].n);
    }
    if (c->http_other)
        fprintf(f,
                "tld_http_requests_total{route=\"other\",method=\"other\",code=\"other\"} "
                "%" PRIu64 "\n",
                c->http_other);
}

static void gauges(FILE *f, const struct tld_metrics_gauges *g)
{
    static const char *const security[TLD_METRICS_SECURITY] = {
        TL_SECURITY_STANDARD, TL_SECURITY_TRUSTED_LAUNCH, TL_SECURITY_CONFIDENTIAL};
    family(f, "tld_nodes", "gauge", "Nodes by state and security type.");
    for (int s = 0; s < TLD_METRICS_STATES; s++)
        for (int k = 0; k < TLD_METRICS_SECURITY; k++)
            fprintf(f, "tld_nodes{state=\"%s\",security_type=\"%s\"} %" PRIu64 "\n",
                    tld_state_name((enum tld_state)s), security[k], g->nodes[s][k]);

    family(f, "tld_alerts_open", "gauge", "Integrity alerts not acknowledged, in the store.");
    if (g->alerts_known)
        fprintf(f, "tld_alerts_open %" PRIu64 "\n", g->alerts_open);

    family(f, "tld_node_pools", "gauge", "Node pools by provisioning state.");
    for (int p = 0; p < TLD_METRICS_PROV; p++)
        if (g->pools[p].state)
            fprintf(f, "tld_node_pools{provisioning_state=\"%s\"} %" PRIu64 "\n", g->pools[p].state,
                    g->pools[p].n);

    family(f, "tld_reconcile_pending_nodes", "gauge",
           "Node operations the reconciler has yet to do for its pools (a failed pool's "
           "wait for its next update).");
    fprintf(f, "tld_reconcile_pending_nodes{operation=\"create\"} %" PRIu64 "\n",
            g->pending_create);
    fprintf(f, "tld_reconcile_pending_nodes{operation=\"delete\"} %" PRIu64 "\n",
            g->pending_delete);
    fprintf(f, "tld_reconcile_pending_nodes{operation=\"reimage\"} %" PRIu64 "\n",
            g->pending_reimage);
    family(f, "tld_reconcile_lease", "gauge",
           "1 when this tld holds the reconciler's lease (one replica at a time; always on "
           "SQLite).");
    fprintf(f, "tld_reconcile_lease %d\n", g->lease ? 1 : 0);
    family(f, "tld_reconcile_starting_nodes", "gauge", "VM nodes creating or booting now.");
    fprintf(f, "tld_reconcile_starting_nodes %" PRIu64 "\n", g->starting);
    family(f, "tld_reconcile_starting_limit", "gauge",
           "VM nodes the reconciler boots at once at most.");
    fprintf(f, "tld_reconcile_starting_limit %" PRIu64 "\n", g->starting_limit);

    family(f, "tld_lock_long_holds_total", "counter",
           "Holds of tld.lock of a second or more since tld started (each logged).");
    fprintf(f, "tld_lock_long_holds_total %" PRIu64 "\n", g->lock_long_holds);
}

int tld_metrics_render(const struct tld_metrics_counts *c, const struct tld_metrics_gauges *g,
                       char **text, size_t *len)
{
    *text = NULL;
    *len = 0;
    FILE *f = open_memstream(text, len);
    if (!f)
        return -ENOMEM;
    counters(f, c);
    gauges(f, g);
    if (ferror(f) | fclose(f)) {
        free(*text);
        *text = NULL;
        return -ENOMEM;
    }
    return 0;
}
