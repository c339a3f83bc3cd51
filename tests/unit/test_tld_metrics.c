/* Unit tests for src/tld/metrics.c, GET /metrics's counters and its
 * Prometheus text format (0.0.4), without a daemon.
 *
 * What is asserted:
 *  - a label value is escaped as the format requires: backslash, double
 *    quote and line feed, nothing else;
 *  - a guest's label value is bounded: 64 bytes at most, cut before a
 *    UTF-8 character that would not fit whole; bytes that are not UTF-8
 *    and control characters (but the line feed) made '?'; 32 distinct
 *    values, the 33rd and later, "" and "other" itself counted as "other",
 *    so no series appears twice; a value cut to one already kept counts
 *    there;
 *  - the whole answer for known counts and gauges: exact sample lines,
 *    both verdicts from 0, the histogram cumulative with +Inf = _count,
 *    key releases by outcome and clause, HTTP answers by route, method and
 *    code (the 257th series as "other"), every family's HELP then TYPE
 *    once, before its samples, and every sample line of a known family;
 *  - a method a client invents is "other". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tld.h"

static char *escaped(const char *s)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    assert_non_null(f);
    tld_metrics_escape(f, s);
    fclose(f);
    return out;
}

static void test_escape(void **state)
{
    (void)state;
    char *e = escaped("a\\b\"c\nd\te}{=,");
    assert_string_equal(e, "a\\\\b\\\"c\\nd\te}{=,");
    free(e);
    e = escaped("");
    assert_string_equal(e, "");
    free(e);
    e = escaped("\xc3\xa9t\xc3\xa9"); /* UTF-8 is written as it is */
    assert_string_equal(e, "\xc3\xa9t\xc3\xa9");
    free(e);
}

static void test_label_bounds(void **state)
{
    (void)state;
    struct tld_metric_labels *l = calloc(1, sizeof(*l));
    assert_non_null(l);
    char name[300];
    /* 63 'a' then an 'é' (2 bytes): the é does not fit, the value is 63 bytes */
    memset(name, 'a', 63);
    strcpy(name + 63, "\xc3\xa9 and more");
    tld_metrics_label_count(l, name);
    assert_int_equal(l->n, 1);
    assert_int_equal(strlen(l->v[0].value), 63);
    /* 200 'a': cut to 64 */
    memset(name, 'a', 200);
    name[200] = 0;
    tld_metrics_label_count(l, name);
    assert_int_equal(l->n, 2);
    assert_int_equal(strlen(l->v[1].value), TLD_METRICS_LABEL_MAX);
    /* 300 'a' cut to the same 64: counted there, no new value */
    memset(name, 'a', 299);
    name[299] = 0;
    tld_metrics_label_count(l, name);
    assert_int_equal(l->n, 2);
    assert_int_equal(l->v[1].n, 2);
    /* not UTF-8 (a lone continuation byte, an overlong '/', a surrogate),
     * a carriage return, DEL: '?'; a line feed kept (escaped when written) */
    tld_metrics_label_count(l, "x\x80y\xc0\xafz\xed\xa0\x80w\r\x7f\nq");
    assert_int_equal(l->n, 3);
    assert_string_equal(l->v[2].value, "x?y??z???w??\nq");
    /* "", NULL and "other" itself: the overflow bucket */
    tld_metrics_label_count(l, "");
    tld_metrics_label_count(l, NULL);
    tld_metrics_label_count(l, "other");
    assert_int_equal(l->n, 3);
    assert_int_equal(l->other, 3);
    /* up to 32 distinct values, then "other" */
    for (int i = 0; l->n < TLD_METRICS_LABELS; i++) {
        snprintf(name, sizeof(name), "component %d", i);
        tld_metrics_label_count(l, name);
    }
    tld_metrics_label_count(l, "one too many");
    tld_metrics_label_count(l, "component 0"); /* kept: counted */
    assert_int_equal(l->n, TLD_METRICS_LABELS);
    assert_int_equal(l->other, 4);
    assert_string_equal(l->v[3].value, "component 0");
    assert_int_equal(l->v[3].n, 2);
    free(l);
}

static void test_method(void **state)
{
    (void)state;
    assert_string_equal(tld_metrics_method("GET"), "GET");
    assert_string_equal(tld_metrics_method("DELETE"), "DELETE");
    assert_string_equal(tld_metrics_method("get"), "other");
    assert_string_equal(tld_metrics_method("BREW\n"), "other");
    assert_string_equal(tld_metrics_method(NULL), "other");
}

/* lines of text starting with prefix */
static int count_lines(const char *text, const char *prefix)
{
    int n = 0;
    size_t pl = strlen(prefix);
    for (const char *p = text; *p;) {
        if (strncmp(p, prefix, pl) == 0)
            n++;
        const char *nl = strchr(p, '\n');
        p = nl ? nl + 1 : p + strlen(p);
    }
    return n;
}

static bool has_line(const char *text, const char *line)
{
    size_t len = strlen(line);
    for (const char *p = text; (p = strstr(p, line)); p++)
        if ((p == text || p[-1] == '\n') && p[len] == '\n')
            return true;
    return false;
}

static void test_render(void **state)
{
    (void)state;
    struct tld_metrics *m = calloc(1, sizeof(*m));
    assert_non_null(m);
    tld_metrics_init(m);
    json_t *comps = json_pack("[s, s, s]", "grub", "quo\"te\\d\nname", "other");
    tld_metrics_attestation(m, true, NULL, 0.003);
    tld_metrics_attestation(m, true, NULL, 0.2);
    tld_metrics_attestation(m, false, comps, 30); /* beyond the last bound: +Inf only */
    tld_metrics_attestation(m, false, comps, 0.01);
    json_decref(comps);
    tld_metrics_release(m, true, "anyOf[0]");
    tld_metrics_release(m, false, "nonce");
    tld_metrics_release(m, false, "nonce");
    tld_metrics_release(m, false, "anyOf[0].allOf[1]");
    static const char route[] = "/v1/nodes/{node}";
    tld_metrics_http(m, route, tld_metrics_method("GET"), 200);
    tld_metrics_http(m, route, tld_metrics_method("GET"), 200);
    tld_metrics_http(m, route, tld_metrics_method("GET"), 401);
    tld_metrics_http(m, "unmatched", tld_metrics_method("FOO"), 404);
    for (unsigned code = 0; m->c.n_http < TLD_METRICS_HTTP; code++)
        tld_metrics_http(m, "/metrics", tld_metrics_method("GET"), 300 + code);
    tld_metrics_http(m, "/metrics", tld_metrics_method("GET"), 599); /* the 257th */

    struct tld_metrics_gauges g = {0};
    g.nodes[TLD_RUNNING][1] = 2;
    g.nodes[TLD_FAILED][2] = 1;
    g.alerts_known = true;
    g.alerts_open = 5;
    g.pools[0].state = "Succeeded";
    g.pools[0].n = 3;
    g.pools[5].state = "Failed";
    g.pools[5].n = 1;
    g.pending_create = 4;
    g.pending_reimage = 2;
    g.starting = 1;
    g.starting_limit = 4;
    g.lease = true;

    char *text = NULL;
    size_t len = 0;
    assert_int_equal(tld_metrics_render(&m->c, &g, &text, &len), 0);
    assert_int_equal(strlen(text), len);
    const char *want[] = {
        "tld_attestations_total{verdict=\"pass\"} 2",
        "tld_attestations_total{verdict=\"fail\"} 2",
        "tld_attestation_failed_components_total{component=\"grub\"} 2",
        "tld_attestation_failed_components_total{component=\"quo\\\"te\\\\d\\nname\"} 2",
        "tld_attestation_failed_components_total{component=\"other\"} 2",
        "tld_attestation_duration_seconds_bucket{le=\"0.005\"} 1",
        "tld_attestation_duration_seconds_bucket{le=\"0.01\"} 2",
        "tld_attestation_duration_seconds_bucket{le=\"0.1\"} 2",
        "tld_attestation_duration_seconds_bucket{le=\"0.25\"} 3",
        "tld_attestation_duration_seconds_bucket{le=\"10\"} 3",
        "tld_attestation_duration_seconds_bucket{le=\"+Inf\"} 4",
        "tld_attestation_duration_seconds_sum 30.213000",
        "tld_attestation_duration_seconds_count 4",
        "tld_key_releases_total{outcome=\"granted\",clause=\"anyOf[0]\"} 1",
        "tld_key_releases_total{outcome=\"refused\",clause=\"nonce\"} 2",
        "tld_key_releases_total{outcome=\"refused\",clause=\"anyOf[0].allOf[1]\"} 1",
        "tld_http_requests_total{route=\"/v1/nodes/{node}\",method=\"GET\",code=\"200\"} 2",
        "tld_http_requests_total{route=\"/v1/nodes/{node}\",method=\"GET\",code=\"401\"} 1",
        "tld_http_requests_total{route=\"unmatched\",method=\"other\",code=\"404\"} 1",
        "tld_http_requests_total{route=\"other\",method=\"other\",code=\"other\"} 1",
        "tld_nodes{state=\"running\",security_type=\"TrustedLaunch\"} 2",
        "tld_nodes{state=\"failed\",security_type=\"ConfidentialVM\"} 1",
        "tld_nodes{state=\"running\",security_type=\"Standard\"} 0",
        "tld_alerts_open 5",
        "tld_node_pools{provisioning_state=\"Succeeded\"} 3",
        "tld_node_pools{provisioning_state=\"Failed\"} 1",
        "tld_reconcile_pending_nodes{operation=\"create\"} 4",
        "tld_reconcile_pending_nodes{operation=\"delete\"} 0",
        "tld_reconcile_pending_nodes{operation=\"reimage\"} 2",
        "tld_reconcile_lease 1",
        "tld_reconcile_starting_nodes 1",
        "tld_reconcile_starting_limit 4",
        "tld_lock_long_holds_total 0",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (!has_line(text, want[i]))
            fail_msg("missing line: %s\n--- answer:\n%s", want[i], text);
    /* one "other" component series (the guest's "other" and the overflow are one) */
    assert_int_equal(
        count_lines(text, "tld_attestation_failed_components_total{component=\"other\"}"), 1);
    assert_int_equal(count_lines(text, "tld_nodes{"), TLD_METRICS_STATES * TLD_METRICS_SECURITY);
    assert_int_equal(count_lines(text, "tld_node_pools{"), 2); /* the states named */
    assert_int_equal(count_lines(text, "tld_http_requests_total{"), TLD_METRICS_HTTP + 1);
    assert_int_equal(count_lines(text, "tld_attestation_duration_seconds_bucket{"),
                     TLD_METRICS_BUCKETS + 1);
    /* each family: HELP then TYPE, once, and every sample line is one of them */
    const char *families[] = {"tld_attestations_total",
                              "tld_attestation_failed_components_total",
                              "tld_attestation_duration_seconds",
                              "tld_key_releases_total",
                              "tld_http_requests_total",
                              "tld_nodes",
                              "tld_alerts_open",
                              "tld_node_pools",
                              "tld_reconcile_pending_nodes",
                              "tld_reconcile_lease",
                              "tld_reconcile_starting_nodes",
                              "tld_reconcile_starting_limit",
                              "tld_lock_long_holds_total"};
    const size_t nf = sizeof(families) / sizeof(families[0]);
    int samples = 0;
    for (size_t i = 0; i < nf; i++) {
        char help[128], type[128];
        snprintf(help, sizeof(help), "# HELP %s ", families[i]);
        snprintf(type, sizeof(type), "# TYPE %s ", families[i]);
        assert_int_equal(count_lines(text, help), 1);
        assert_int_equal(count_lines(text, type), 1);
        const char *h = strstr(text, help), *t = strstr(text, type);
        assert_true(h < t);
        assert_true(t[-1] == '\n' && strchr(h, '\n') + 1 == t);
        /* its samples follow its TYPE, before the next family's HELP */
        const char *end = strstr(t, "\n# HELP ");
        end = end ? end + 1 : text + len;
        for (const char *p = strchr(t, '\n') + 1; p < end; p = strchr(p, '\n') + 1) {
            size_t fl = strlen(families[i]);
            assert_memory_equal(p, families[i], fl);
            assert_true(p[fl] == '{' || p[fl] == ' ' || p[fl] == '_');
            samples++;
        }
    }
    assert_int_equal(count_lines(text, "#"), 2 * (int)nf);
    assert_int_equal(samples + 2 * (int)nf, count_lines(text, ""));
    assert_true(len > 0 && text[len - 1] == '\n');
    free(text);

    /* no series yet: both verdicts at 0, the empty families' HELP and TYPE only */
    struct tld_metrics_counts zero = {0};
    struct tld_metrics_gauges nog = {0};
    assert_int_equal(tld_metrics_render(&zero, &nog, &text, &len), 0);
    assert_true(has_line(text, "tld_attestations_total{verdict=\"pass\"} 0"));
    assert_true(has_line(text, "tld_attestations_total{verdict=\"fail\"} 0"));
    assert_int_equal(count_lines(text, "tld_attestation_failed_components_total{"), 0);
    assert_int_equal(count_lines(text, "tld_key_releases_total{"), 0);
    assert_int_equal(count_lines(text, "tld_alerts_open"), 0); /* the store did not answer */
    free(text);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_label_bounds),
        cmocka_unit_test(test_method),
        cmocka_unit_test(test_render),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
