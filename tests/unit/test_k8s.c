/* Unit tests for lib/k8s: label selectors (kubectl -l) and the node
 * constraints of pod manifests.
 *
 * Selectors: every operator matches as Kubernetes matches (absent labels
 * satisfy != and notin), and each malformed selector gives its exact
 * message with the character. Manifests: the seeds of tests/data/pods (a
 * quoted "true", the docs' unquoted one, a Deployment with node affinity,
 * several documents, JSON flow style, anchors with a merge key, "billion
 * laughs") and small inline ones: the YAML 1.1 booleans, numbers and
 * nulls go-yaml resolves are refused with the line and the fix, quoted and
 * !!str values pass. Every input is an exact-size allocation so ASan sees
 * a read past the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl/k8s.h"
#include "vectors.h"

#define L(k, v) ((struct tl_label){(k), (v)})
static const char tl_key[] = "kubernetes.azure.com/trusted-launch";
static const char sb_key[] = "kubernetes.azure.com/secure-boot";

/* ---- selectors ---- */

static bool sel(const char *text, const struct tl_label *labels, size_t n)
{
    struct tl_selector s;
    struct tl_error err = {0};
    if (tl_selector_parse(text, &s, &err) != 0)
        fail_msg("'%s': %s", text, err.message);
    bool m = tl_selector_matches(&s, labels, n);
    tl_selector_free(&s);
    return m;
}

static void sel_bad(const char *text, const char *want)
{
    struct tl_selector s = {0};
    struct tl_error err = {0};
    assert_int_equal(tl_selector_parse(text, &s, &err), -EINVAL);
    assert_string_equal(err.message, want);
    assert_null(s.reqs);
    assert_int_equal(s.n, 0);
}

static void test_selector_match(void **state)
{
    (void)state;
    const struct tl_label node[] = {L(tl_key, "true"), L("zone", "1"), L("tier", "web"),
                                    L("empty", "")};
    const size_t n = sizeof(node) / sizeof(node[0]);
    assert_true(sel("", node, n));
    assert_true(sel("   ", node, n));
    assert_true(sel("kubernetes.azure.com/trusted-launch=true", node, n));
    assert_true(sel("kubernetes.azure.com/trusted-launch==true", node, n));
    assert_false(sel("kubernetes.azure.com/trusted-launch=false", node, n));
    assert_true(sel("tier!=db", node, n));
    assert_false(sel("tier!=web", node, n));
    assert_true(sel("absent!=x", node, n)); /* absent: != holds */
    assert_true(sel("tier", node, n));
    assert_false(sel("absent", node, n));
    assert_true(sel("!absent", node, n));
    assert_false(sel("!tier", node, n));
    assert_true(sel("tier in (db, web)", node, n));
    assert_false(sel("tier in (db,cache)", node, n));
    assert_false(sel("absent in (x)", node, n));
    assert_true(sel("tier notin (db)", node, n));
    assert_false(sel("tier notin (db,web)", node, n));
    assert_true(sel("absent notin (x)", node, n));
    assert_true(sel("zone>0", node, n));
    assert_false(sel("zone>1", node, n));
    assert_true(sel("zone<2", node, n));
    assert_false(sel("tier>0", node, n)); /* not an integer */
    assert_true(sel("empty=", node, n));
    assert_true(sel("empty in (,x)", node, n));
    assert_true(sel(" tier = web , zone in (1,2),!absent ", node, n));
    assert_false(sel("tier=web,zone=2", node, n));
    assert_true(sel("x=in,y notin (in,notin)", (struct tl_label[]){L("x", "in"), L("y", "z")}, 2));
    assert_true(sel("tier=web", node, 0) == false);
}

static void test_selector_errors(void **state)
{
    (void)state;
    sel_bad("a in (b", "label selector: character 8: expected ',' or ')'");
    sel_bad("a=b=c", "label selector: character 4: expected ',' or the end");
    sel_bad("a in b", "label selector: character 6: expected '(' after 'in'");
    sel_bad("a notin", "label selector: character 8: expected '(' after 'notin'");
    sel_bad("a in ()", "label selector: character 7: 'in' and 'notin' need at least one value");
    sel_bad("=b", "label selector: character 1: expected a label key");
    sel_bad("!", "label selector: character 2: expected a label key after '!'");
    sel_bad("!a=b", "label selector: character 3: expected ',' or the end after '!KEY'");
    sel_bad("a,", "label selector: character 3: expected a requirement after ','");
    sel_bad("a,,b", "label selector: character 3: expected a label key");
    sel_bad("a (b)", "label selector: character 3: expected '=', '==', '!=', 'in', 'notin', '>', "
                     "'<', ',' or the end");
    sel_bad("a in (b) c", "label selector: character 10: expected ',' or the end after ')'");
    sel_bad("a>x", "label selector: 'a >': needs an integer");
    sel_bad("a>", "label selector: character 3: expected an integer");
    sel_bad("-a=b", "label selector: '-a': not a label key ([prefix/]name, the name at most 63 "
                    "letters, digits, '-', '_', '.')");
    sel_bad("Example.COM/a=b", "label selector: 'Example.COM/a': not a label key ([prefix/]name, "
                               "the name at most 63 letters, digits, '-', '_', '.')");
    sel_bad("a=b c", "label selector: character 5: expected ',' or the end");
    sel_bad("a=-b", "label selector: '-b': not a label value (at most 63 letters, digits, '-', "
                    "'_', '.'; alphanumeric at both ends)");
    char longv[80];
    memset(longv, 'v', sizeof(longv));
    longv[0] = 'a', longv[1] = '=', longv[66] = '\0'; /* a 64-character value */
    sel_bad(longv, "label selector: "
                   "'vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv': not a label "
                   "value (at most 63 letters, digits, '-', '_', '.'; alphanumeric at both ends)");
}

static void test_label_syntax(void **state)
{
    (void)state;
    assert_true(tl_label_key_valid("kubernetes.azure.com/trusted-launch"));
    assert_true(tl_label_key_valid("app"));
    assert_true(tl_label_key_valid("a.b_c-d"));
    assert_false(tl_label_key_valid(""));
    assert_false(tl_label_key_valid("/a"));
    assert_false(tl_label_key_valid("a/"));
    assert_false(tl_label_key_valid("a/b/c"));
    assert_false(tl_label_key_valid("-a.com/b"));
    assert_false(tl_label_key_valid("a..com/b"));
    assert_true(tl_label_value_valid(""));
    assert_true(tl_label_value_valid("true"));
    assert_false(tl_label_value_valid("a b"));
    assert_false(tl_label_value_valid("a_"));
}

/* ---- manifests ---- */

static const char *pods_path(const char *name)
{
    static char path[4096];
    char here[2048];
    snprintf(here, sizeof(here), "%s", __FILE__);
    char *slash = strrchr(here, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(here, sizeof(here), ".");
    snprintf(path, sizeof(path), "%s/../data/pods/%s", here, name);
    return path;
}

static int parse_text(const char *text, struct tl_pod_specs *p, struct tl_error *err)
{
    size_t len = strlen(text);
    uint8_t *exact = dup_exact((const uint8_t *)text, len);
    int r = tl_podspec_parse(exact, len, p, err);
    free(exact);
    return r;
}

static int parse_file(const char *name, struct tl_pod_specs *p, struct tl_error *err)
{
    size_t len;
    uint8_t *buf = file_read(pods_path(name), &len);
    if (!buf)
        fail_msg("cannot read %s", pods_path(name));
    uint8_t *exact = dup_exact(buf, len);
    free(buf);
    int r = tl_podspec_parse(exact, len, p, err);
    free(exact);
    return r;
}

static void bad_text(const char *text, int code, const char *want)
{
    struct tl_pod_specs p;
    struct tl_error err = {0};
    assert_int_equal(parse_text(text, &p, &err), code);
    assert_string_equal(err.message, want);
    assert_null(p.pods);
}

static const struct tl_label tl_node[] = {{tl_key, "true"}, {sb_key, "true"}};
static const struct tl_label plain_node[] = {{"kubernetes.io/os", "linux"}};

static void test_pod_quoted(void **state)
{
    (void)state;
    struct tl_pod_specs p;
    struct tl_error err = {0};
    assert_int_equal(parse_file("pod-quoted.yaml", &p, &err), 0);
    assert_int_equal(p.n, 1);
    assert_string_equal(p.pods[0].kind, "Pod");
    assert_string_equal(p.pods[0].name, "attested");
    assert_int_equal(p.pods[0].document, 1);
    assert_int_equal(p.pods[0].node_selector.n, 1);
    assert_string_equal(p.pods[0].node_selector.reqs[0].key, tl_key);
    assert_string_equal(p.pods[0].node_selector.reqs[0].values[0], "true");
    assert_int_equal(p.pods[0].node_selector.reqs[0].line, 11);
    assert_true(tl_pod_spec_admits(&p.pods[0], tl_node, 2));
    assert_false(tl_pod_spec_admits(&p.pods[0], plain_node, 1));
    assert_false(tl_pod_spec_admits(&p.pods[0], (struct tl_label[]){{tl_key, "false"}}, 1));
    tl_pod_specs_free(&p);
}

static void test_pod_unquoted(void **state)
{
    (void)state;
    struct tl_pod_specs p;
    struct tl_error err = {0};
    assert_int_equal(parse_file("pod-unquoted.yaml", &p, &err), -EINVAL);
    assert_string_equal(err.message,
                        "nodeSelector kubernetes.azure.com/trusted-launch: true is a YAML boolean, "
                        "not a string; Kubernetes rejects the pod (label values are strings): "
                        "write \"true\" in quotes (line 9)");
}

static void test_yaml11_scalars(void **state)
{
    (void)state;
    static const char *const bools[] = {"y",     "Y",  "yes", "Yes",  "YES",  "n",     "N",
                                        "no",    "No", "NO",  "True", "TRUE", "false", "False",
                                        "FALSE", "on", "On",  "ON",   "off",  "Off",   "OFF"};
    char doc[256], want[512];
    for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
        snprintf(doc, sizeof(doc), "kind: Pod\nspec:\n  nodeSelector:\n    k: %s\n", bools[i]);
        snprintf(want, sizeof(want),
                 "nodeSelector k: %s is a YAML boolean, not a string; Kubernetes rejects the pod "
                 "(label values are strings): write \"%s\" in quotes (line 4)",
                 bools[i], bools[i]);
        bad_text(doc, -EINVAL, want);
    }
    static const char *const numbers[] = {"1",
                                          "-1",
                                          "+7",
                                          "0x1F",
                                          "0o17",
                                          "0b101",
                                          "1_000",
                                          "1.5",
                                          ".5",
                                          "1.",
                                          "1e3",
                                          "2E-2",
                                          ".inf",
                                          "-.Inf",
                                          ".NaN",
                                          "0777",
                                          "123456789012345678901234567890"};
    for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
        snprintf(doc, sizeof(doc), "kind: Pod\nspec:\n  nodeSelector: {k: %s}\n", numbers[i]);
        snprintf(want, sizeof(want),
                 "nodeSelector k: %s is a YAML number, not a string; Kubernetes rejects the pod "
                 "(label values are strings): write \"%s\" in quotes (line 3)",
                 numbers[i], numbers[i]);
        bad_text(doc, -EINVAL, want);
    }
    bad_text("kind: Pod\nspec:\n  nodeSelector:\n    k:\n", -EINVAL,
             "nodeSelector k: (no value) is YAML null, not a string: write \"\" for an "
             "empty label value (line 4)");
    bad_text("kind: Pod\nspec:\n  nodeSelector:\n    k: ~\n", -EINVAL,
             "nodeSelector k: ~ is YAML null, not a string: write \"\" for an empty label value "
             "(line 4)");
    bad_text("kind: Pod\nspec:\n  nodeSelector:\n    k: !!int \"1\"\n", -EINVAL,
             "nodeSelector k: the value tagged tag:yaml.org,2002:int is not a string; Kubernetes "
             "rejects the pod (label values are strings) (line 4)");
    bad_text("kind: Pod\nspec:\n  nodeSelector:\n    k: [a]\n", -EINVAL,
             "nodeSelector k: the value is a list, not a string (line 4)");
    bad_text("kind: Pod\nspec:\n  nodeSelector:\n    true: a\n", -EINVAL,
             "nodeSelector: a key that is a YAML boolean, not a string: quote it (line 4)");

    /* strings: quoted, block, !!str, "!", and plain words that only look
     * like something (go-yaml v2 keeps dates, versions as strings) */
    static const char *const strings[] = {"\"true\"", "'yes'", "!!str true", "! on",  "truee",
                                          "yes.no",   "1.2.3", "2024-01-02", "v1",    "0x",
                                          "a_1",      "1a",    "1e",         "abc.1", "NaN"};
    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
        snprintf(doc, sizeof(doc), "kind: Pod\nspec:\n  nodeSelector:\n    k: %s\n", strings[i]);
        struct tl_pod_specs p;
        struct tl_error err = {0};
        if (parse_text(doc, &p, &err) != 0)
            fail_msg("%s: %s", strings[i], err.message);
        assert_int_equal(p.pods[0].node_selector.n, 1);
        tl_pod_specs_free(&p);
    }
    bad_text("kind: Pod\nspec:\n  nodeSelector:\n    k: |\n      two words\n", -EINVAL,
             "nodeSelector k: 'two words\n' is not a label value (at most 63 letters, digits, "
             "'-', '_', '.'; alphanumeric at both ends) (line 4)");
    bad_text("kind: Pod\nspec:\n  nodeSelector:\n    Bad Key: x\n", -EINVAL,
             "nodeSelector: 'Bad Key' is not a label key ([prefix/]name, the name at most 63 "
             "letters, digits, '-', '_', '.') (line 4)");
    bad_text("kind: Pod\nspec:\n  nodeSelector:\n    a: x1\n    a: x2\n", -EINVAL,
             "nodeSelector a: given twice (lines 4 and 5)");
    bad_text("kind: Pod\nspec:\n  nodeSelector: [a]\n", -EINVAL,
             "nodeSelector is a list, not a mapping of labels (line 3)");
}

static void test_deployment_affinity(void **state)
{
    (void)state;
    struct tl_pod_specs p;
    struct tl_error err = {0};
    assert_int_equal(parse_file("deployment.yaml", &p, &err), 0);
    assert_int_equal(p.n, 1);
    const struct tl_pod_spec *d = &p.pods[0];
    assert_string_equal(d->kind, "Deployment");
    assert_string_equal(d->name, "web");
    assert_int_equal(d->node_selector.n, 1);
    assert_string_equal(d->node_selector.reqs[0].key, sb_key);
    assert_int_equal(d->n_terms, 1);
    assert_int_equal(d->terms[0].n, 2);
    assert_int_equal(d->terms[0].reqs[0].op, TL_SEL_IN);
    assert_int_equal(d->terms[0].reqs[0].line, 20);
    assert_int_equal(d->terms[0].reqs[1].op, TL_SEL_NOT_EXISTS);
    assert_true(tl_pod_spec_admits(d, tl_node, 2));
    assert_false(tl_pod_spec_admits(d, tl_node, 1)); /* no secure-boot label */
    const struct tl_label quarantined[] = {
        {tl_key, "true"}, {sb_key, "true"}, {"example.com/quarantine", "yes"}};
    assert_false(tl_pod_spec_admits(d, quarantined, 3));
    tl_pod_specs_free(&p);
}

static void test_affinity_errors(void **state)
{
    (void)state;
    const char *head = "kind: Pod\nspec:\n  affinity:\n    nodeAffinity:\n"
                       "      requiredDuringSchedulingIgnoredDuringExecution:\n";
    char doc[1024];
    snprintf(doc, sizeof(doc),
             "%s        nodeSelectorTerms:\n        - matchExpressions:\n"
             "          - {key: a, operator: In, values: [true]}\n",
             head);
    bad_text(doc, -EINVAL,
             "matchExpressions a: true is a YAML boolean, not a string; Kubernetes rejects the "
             "pod (label values are strings): write \"true\" in quotes (line 8)");
    snprintf(doc, sizeof(doc),
             "%s        nodeSelectorTerms:\n        - matchExpressions:\n"
             "          - {key: a, operator: Equals, values: [x]}\n",
             head);
    bad_text(doc, -EINVAL,
             "matchExpressions a: operator 'Equals' is not In, NotIn, Exists, "
             "DoesNotExist, Gt or Lt (line 8)");
    snprintf(doc, sizeof(doc),
             "%s        nodeSelectorTerms:\n        - matchExpressions:\n"
             "          - {key: a, operator: In}\n",
             head);
    bad_text(doc, -EINVAL, "matchExpressions a: In needs values (line 8)");
    snprintf(doc, sizeof(doc),
             "%s        nodeSelectorTerms:\n        - matchExpressions:\n"
             "          - {key: a, operator: Exists, values: [\"x\"]}\n",
             head);
    bad_text(doc, -EINVAL, "matchExpressions a: Exists takes no values (line 8)");
    snprintf(doc, sizeof(doc),
             "%s        nodeSelectorTerms:\n        - matchExpressions:\n"
             "          - {key: a, operator: Gt, values: [\"x\"]}\n",
             head);
    bad_text(doc, -EINVAL, "matchExpressions a: Gt needs an integer, not 'x' (line 8)");
    snprintf(doc, sizeof(doc),
             "%s        nodeSelectorTerms:\n        - matchFields:\n"
             "          - {key: metadata.name, operator: In, values: [n]}\n",
             head);
    bad_text(doc, -EINVAL,
             "nodeSelectorTerms: matchFields is not supported, only "
             "matchExpressions (line 8)");
    snprintf(doc, sizeof(doc), "%s        nodeSelectorTerms: []\n", head);
    bad_text(doc, -EINVAL,
             "requiredDuringSchedulingIgnoredDuringExecution: nodeSelectorTerms "
             "must be a list of at least one term (line 6)");

    /* Gt/Lt and OR between terms; an empty term matches nothing */
    snprintf(doc, sizeof(doc),
             "%s        nodeSelectorTerms:\n"
             "        - matchExpressions: [{key: gen, operator: Gt, values: [\"1\"]}]\n"
             "        - matchExpressions: [{key: zone, operator: Lt, values: [\"3\"]}]\n"
             "        - {}\n",
             head);
    struct tl_pod_specs p;
    struct tl_error err = {0};
    assert_int_equal(parse_text(doc, &p, &err), 0);
    assert_int_equal(p.pods[0].n_terms, 3);
    assert_true(tl_pod_spec_admits(&p.pods[0], (struct tl_label[]){{"gen", "2"}}, 1));
    assert_false(tl_pod_spec_admits(&p.pods[0], (struct tl_label[]){{"gen", "1"}}, 1));
    assert_true(tl_pod_spec_admits(&p.pods[0], (struct tl_label[]){{"zone", "2"}}, 1));
    assert_false(tl_pod_spec_admits(&p.pods[0], NULL, 0));
    tl_pod_specs_free(&p);
}

static void test_multi_flow_anchors(void **state)
{
    (void)state;
    struct tl_pod_specs p;
    struct tl_error err = {0};
    assert_int_equal(parse_file("multi.yaml", &p, &err), 0);
    assert_int_equal(p.n, 2); /* the Service has no pod spec */
    assert_string_equal(p.pods[0].name, "one");
    assert_int_equal(p.pods[0].document, 2);
    assert_string_equal(p.pods[1].kind, "Job");
    assert_int_equal(p.pods[1].document, 3);
    assert_string_equal(p.pods[1].node_selector.reqs[0].key, sb_key);
    tl_pod_specs_free(&p);

    assert_int_equal(parse_file("flow.yaml", &p, &err), 0);
    assert_int_equal(p.n, 1);
    assert_string_equal(p.pods[0].node_selector.reqs[0].values[0], "true");
    assert_true(tl_pod_spec_admits(&p.pods[0], tl_node, 1));
    tl_pod_specs_free(&p);

    assert_int_equal(parse_file("anchors.yaml", &p, &err), 0);
    assert_int_equal(p.pods[0].node_selector.n, 2); /* its own key and the merged one */
    assert_string_equal(p.pods[0].node_selector.reqs[0].key, sb_key);
    assert_string_equal(p.pods[0].node_selector.reqs[1].key, tl_key);
    assert_true(tl_pod_spec_admits(&p.pods[0], tl_node, 2));
    assert_false(tl_pod_spec_admits(&p.pods[0], tl_node, 1));
    tl_pod_specs_free(&p);

    /* billion laughs: refused for its list-of-lists values, quickly, small */
    assert_int_equal(parse_file("laughs.yaml", &p, &err), -EINVAL);
    assert_string_equal(err.message, "matchExpressions lol: the value is a list, not a string "
                                     "(line 10)");
}

static void test_manifest_errors(void **state)
{
    (void)state;
    bad_text("kind: Service\nspec: {}\n", -ENOENT,
             "no pod spec: no document is a Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, "
             "ReplicationController, Job or CronJob");
    bad_text("", -ENOENT,
             "no pod spec: no document is a Pod, Deployment, StatefulSet, DaemonSet, "
             "ReplicaSet, ReplicationController, Job or CronJob");
    bad_text("kind: Pod\nspec: [\n", -EINVAL,
             "YAML: while parsing a flow node: did not find expected node content (line 3)");
    bad_text("a: *nope\n", -EINVAL, "YAML alias *nope: no such anchor before it (line 1)");
    bad_text("a: &x [*x]\n", -EINVAL, "YAML alias *x: no such anchor before it (line 1)");
    char deep[4 * TL_PODSPEC_MAX_DEPTH + 8];
    size_t k = 0;
    for (int i = 0; i < TL_PODSPEC_MAX_DEPTH + 1; i++)
        deep[k++] = '[';
    deep[k] = '\0';
    bad_text(deep, -E2BIG, "YAML nested deeper than 64 levels (line 1)");
    /* too many aliases */
    size_t big = 16 * (TL_PODSPEC_MAX_ALIASES + 2);
    char *many = malloc(big);
    k = (size_t)snprintf(many, big, "a: &a x\nb: [");
    for (int i = 0; i <= TL_PODSPEC_MAX_ALIASES; i++)
        k += (size_t)snprintf(many + k, big - k, "*a,");
    snprintf(many + k, big - k, "]\n");
    bad_text(many, -E2BIG, "more than 10000 YAML aliases (line 2)");
    free(many);
    struct tl_pod_specs p;
    struct tl_error err = {0};
    assert_int_equal(tl_podspec_parse((const uint8_t *)"", TL_PODSPEC_MAX_INPUT + 1, &p, &err),
                     -E2BIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_selector_match),      cmocka_unit_test(test_selector_errors),
        cmocka_unit_test(test_label_syntax),        cmocka_unit_test(test_pod_quoted),
        cmocka_unit_test(test_pod_unquoted),        cmocka_unit_test(test_yaml11_scalars),
        cmocka_unit_test(test_deployment_affinity), cmocka_unit_test(test_affinity_errors),
        cmocka_unit_test(test_multi_flow_anchors),  cmocka_unit_test(test_manifest_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
