/* Unit tests for the az-compatible front end's pieces that need no tld:
 * the argument parser (src/tl/azargs.c), the output formats
 * (src/tl/output.c) on canned JSON shaped like docs/api.md's pools and
 * clusters, the progress line and path encoding (src/tl/azcall.c), the
 * kubeconfig merge (src/tl/kubeconfig.c) and SSH key generation
 * (src/tl/sshkey.c).
 *
 * What is asserted, and from where: az's layouts (json: Python's
 * json.dumps(indent=2, sort_keys=True); table: header, dashes, two spaces,
 * numbers right-aligned; tsv: values only); the OpenSSH public key is
 * decoded by hand here (RFC 4253 6.6: string "ssh-rsa", mpint e, mpint n)
 * and compared with the private key OpenSSL reads back from the PEM; the
 * kubeconfig is re-read with libyaml's loader to check the merged entries.
 * The error texts are checked by tests/cli/aks_cli.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <errno.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "azargs.h"
#include "azcall.h"
#include "kubeconfig.h"
#include "output.h"
#include "sshkey.h"

static const char *const colors[] = {"Red", "Green", NULL};
static const struct az_option test_options[] = {
    {"--name", "-n", AZ_STRING, NULL, NULL, NULL, true, "Name."},
    {"--count", "-c", AZ_INT, NULL, "3", NULL, false, "Count."},
    {"--color", NULL, AZ_ENUM, colors, "Red", NULL, false, "Color."},
    {"--enable-vtpm", NULL, AZ_FLAG, NULL, NULL, "--disable-vtpm", false, "On."},
    {"--disable-vtpm", NULL, AZ_FLAG, NULL, NULL, NULL, false, "Off."},
    {0},
};
static const struct az_command test_cmd = {"test verb", "A test.", test_options, NULL};

/* Parses a NULL-terminated argv with stderr silenced. */
static int parse(struct az_args *a, ...)
{
    char *argv[32] = {"verb"};
    int argc = 1;
    va_list ap;
    va_start(ap, a);
    for (char *s; (s = va_arg(ap, char *)) && argc < 31;)
        argv[argc++] = s;
    va_end(ap);
    fflush(stdout);
    fflush(stderr);
    int saved_out = dup(1), saved_err = dup(2);
    FILE *null = fopen("/dev/null", "w");
    dup2(fileno(null), 1);
    dup2(fileno(null), 2);
    int r = az_parse(&test_cmd, argc, argv, a, NULL);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    close(saved_out);
    close(saved_err);
    fclose(null);
    return r;
}

static void test_edit_distance(void **state)
{
    (void)state;
    assert_int_equal(az_edit_distance("--enable-utcm", "--enable-vtpm"), 2);
    assert_int_equal(az_edit_distance("--naem", "--name"), 1); /* a transposition */
    assert_int_equal(az_edit_distance("--nam", "--name"), 1);
    assert_int_equal(az_edit_distance("", "abc"), 3);
    assert_int_equal(az_edit_distance("--foo", "--name"), 4);
}

static void test_parse(void **state)
{
    (void)state;
    struct az_args a;
    assert_int_equal(parse(&a, "-n", "x", "--color", "green", NULL), 0);
    assert_string_equal(az_get(&a, "--name"), "x");
    assert_string_equal(az_get(&a, "--color"), "Green"); /* canonical */
    assert_string_equal(az_get(&a, "--count"), "3");     /* the default */
    assert_false(az_given(&a, "--count"));
    assert_false(az_flag(&a, "--enable-vtpm"));

    assert_int_equal(parse(&a, "--name=y", "--count=12", "--enable-vtpm", NULL), 0);
    assert_string_equal(az_get(&a, "--name"), "y");
    assert_int_equal(az_get_long(&a, "--count"), 12);
    assert_true(az_flag(&a, "--enable-vtpm"));

    /* Each mistake is refused (the texts: tests/cli/aks_cli.sh). */
    assert_int_equal(parse(&a, NULL), -EINVAL);                             /* --name required */
    assert_int_equal(parse(&a, "-n", "x", "-n", "y", NULL), -EINVAL);       /* twice */
    assert_int_equal(parse(&a, "-n", NULL), -EINVAL);                       /* no value */
    assert_int_equal(parse(&a, "-n", "--count", "1", NULL), -EINVAL);       /* no value */
    assert_int_equal(parse(&a, "-n", "x", "--count", "-1", NULL), -EINVAL); /* not >= 0 */
    assert_int_equal(parse(&a, "-n", "x", "--count", "1x", NULL), -EINVAL);
    assert_int_equal(parse(&a, "-n", "x", "--color", "Blue", NULL), -EINVAL);
    assert_int_equal(parse(&a, "-n", "x", "--colour", "Red", NULL), -EINVAL);
    assert_int_equal(parse(&a, "-n", "x", "extra", NULL), -EINVAL);
    assert_int_equal(parse(&a, "\xe2\x80\x93-name", "x", NULL), -EINVAL);
    assert_int_equal(parse(&a, "-n", "x \\", NULL), 0); /* a value may hold a backslash */
    assert_int_equal(parse(&a, "-n", "x", " --count", "1", NULL), -EINVAL);
    assert_int_equal(parse(&a, "-n", "x --count", NULL), -EINVAL);
    assert_int_equal(parse(&a, "-n", "x", "\\", NULL), -EINVAL);
    assert_int_equal(parse(&a, "-n", "x", "--enable-vtpm", "--disable-vtpm", NULL), -EINVAL);
    assert_int_equal(parse(&a, "-n", "x", "--enable-vtpm=yes", NULL), -EINVAL);
    assert_int_equal(parse(&a, "--help", "--bogus", NULL), 1); /* help wins */
}

static const char pool_json[] =
    "{\"id\": \"/subscriptions/local/resourceGroups/g/providers/Microsoft.ContainerService/"
    "managedClusters/c/agentPools/mynodepool\", \"name\": \"mynodepool\", \"resourceGroup\": "
    "\"g\", \"type\": \"Microsoft.ContainerService/managedClusters/agentPools\", \"count\": 3, "
    "\"vmSize\": \"Standard_DS2_v2\", \"osType\": \"Linux\", \"osSku\": \"Ubuntu\", \"mode\": "
    "\"User\", \"orchestratorVersion\": \"1.30.6\", \"maxPods\": 110, \"provisioningState\": "
    "\"Updating\", \"powerState\": {\"code\": \"Running\"}, \"securityProfile\": "
    "{\"enableSecureBoot\": true, \"enableVtpm\": false}, \"nodeLabels\": {}, \"nodes\": "
    "[\"aks-mynodepool-1234-vmss000000\"], \"operation\": {\"action\": \"update\", \"done\": 1, "
    "\"total\": 3, \"node\": \"aks-mynodepool-1234-vmss000001\", \"phase\": \"booting\"}}";

static char *render(const json_t *v, const char *format, const struct az_column *cols)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(az_output(f, v, format, cols), 0);
    fclose(f);
    return buf;
}

/* The output convention's options, taken out of argv (output_options.c). */
static void test_output_parse(void **state)
{
    (void)state;
    struct tlc_output o;
    struct tl_error err = {0};
    char *v1[] = {"tl", "node", "list", "-o", "TSV", "--query=nodes[].name", "-l", "a=b", NULL};
    int argc = 8;
    assert_int_equal(tlc_output_parse(&argc, v1, &o, &err), 0);
    assert_string_equal(o.format, "tsv");
    assert_string_equal(o.query, "nodes[].name");
    assert_int_equal(argc, 5);
    assert_string_equal(v1[3], "-l");
    assert_string_equal(v1[4], "a=b");
    assert_null(v1[5]);

    char *v2[] = {"tl", "token", "list", "--json", NULL};
    argc = 4;
    assert_int_equal(tlc_output_parse(&argc, v2, &o, &err), 0);
    assert_string_equal(o.format, "line");
    assert_null(o.query);
    assert_int_equal(argc, 3);

    /* image build's -o is its folder; --output=yaml elsewhere */
    char *v3[] = {"tl", "image", "build", "-o", "DIR", "--query", "dir", NULL};
    argc = 7;
    assert_int_equal(tlc_output_parse(&argc, v3, &o, &err), 0);
    assert_null(o.format);
    assert_string_equal(o.query, "dir");
    assert_int_equal(argc, 5);
    assert_string_equal(v3[3], "-o");

    char *v4[] = {"tl", "aks", "list", "--output", "xml", NULL};
    argc = 5;
    assert_int_equal(tlc_output_parse(&argc, v4, &o, &err), -EINVAL);
    assert_string_equal(err.message, "aks list: 'xml' is not a valid value for '--output'. "
                                     "Allowed values: json, jsonc, table, tsv, yaml, none.");
    char *v5[] = {"tl", "node", "list", "--json", "-o", "json", NULL};
    argc = 6;
    assert_int_equal(tlc_output_parse(&argc, v5, &o, &err), -EINVAL);
    char *v6[] = {"tl", "node", "list", "-o", NULL};
    argc = 4;
    assert_int_equal(tlc_output_parse(&argc, v6, &o, &err), -EINVAL);
    assert_string_equal(err.message, "node list: argument --output/-o: expected one argument");
    char *v7[] = {"tl", "node", "list", "-o", "json", "--output", "tsv", NULL};
    argc = 7;
    assert_int_equal(tlc_output_parse(&argc, v7, &o, &err), -EINVAL);
    char *v8[] = {"tl", "node", "show", "--", "-o", NULL}; /* nothing after -- */
    argc = 5;
    assert_int_equal(tlc_output_parse(&argc, v8, &o, &err), 0);
    assert_int_equal(argc, 5);
}

/* az's automatic table and tsv, and yaml, for the verbs without columns. */
static void test_output_auto(void **state)
{
    (void)state;
    json_t *v = json_loads("{\"nodes\": [{\"name\": \"n1\", \"boots\": 2, \"vtpm\": true, \"id\": "
                           "\"x\", \"labels\": {\"a\": \"b\"}, \"ek\": [1, 2], \"gone\": null}, "
                           "{\"name\": \"node-two\", \"boots\": 10, \"vtpm\": false, \"extra\": "
                           "\"e\"}]}",
                           0, NULL);
    assert_non_null(v);
    char *s = render(v, "table", NULL);
    assert_string_equal(s, "Boots  Name      Vtpm   Extra\n"
                           "-----  --------  -----  -----\n"
                           "    2  n1        True\n"
                           "   10  node-two  False  e\n");
    free(s);
    s = render(v, "tsv", NULL);
    assert_string_equal(s, "2\t2\tNone\tx\t\tn1\tTrue\n" /* ek: its length; labels: empty */
                           "10\te\tnode-two\tFalse\n");
    free(s);
    s = render(v, "yaml", NULL);
    assert_string_equal(s, "nodes:\n"
                           "- boots: 2\n"
                           "  ek:\n"
                           "  - 1\n"
                           "  - 2\n"
                           "  gone: null\n"
                           "  id: x\n"
                           "  labels:\n"
                           "    a: b\n"
                           "  name: n1\n"
                           "  vtpm: true\n"
                           "- boots: 10\n"
                           "  extra: e\n"
                           "  name: node-two\n"
                           "  vtpm: false\n");
    free(s);
    json_t *q = json_pack("[s,s]", "1.30", "yes");
    s = render(q, "yaml", NULL);
    assert_string_equal(s, "- '1.30'\n- 'yes'\n");
    free(s);
    /* quoted only what YAML 1.1 reads as another type */
    json_t *y = json_pack("[s,s,s,s,s,s,s,s]", "8856cb1f", "0x01c00002", "2046-12-08T02:16:15Z",
                          "1:30", "e", "~", "-1", "sha256");
    s = render(y, "yaml", NULL);
    assert_string_equal(s, "- 8856cb1f\n- '0x01c00002'\n- '2046-12-08T02:16:15Z'\n- '1:30'\n- e\n"
                           "- '~'\n- '-1'\n- sha256\n");
    free(s);
    json_decref(y);
    s = render(q, "tsv", NULL);
    assert_string_equal(s, "1.30\nyes\n");
    free(s);
    s = render(q, "table", NULL);
    assert_string_equal(s, "Result\n------\n1.30\nyes\n");
    free(s);
    json_decref(q);
    q = json_array();
    s = render(q, "table", NULL);
    assert_string_equal(s, "");
    free(s);
    s = render(q, "line", NULL);
    assert_string_equal(s, "[]\n");
    free(s);
    json_decref(q);
    json_decref(v);
}

static void test_output(void **state)
{
    (void)state;
    json_t *pool = json_loads(pool_json, 0, NULL);
    assert_non_null(pool);
    json_t *small =
        json_pack("{s:s,s:i,s:b,s:n,s:{},s:[],s:[s],s:{s:s}}", "name", "p\xc3\xa9", "count", 2,
                  "ok", 1, "none", "empty", "list", "one", "x", "obj", "k", "v");
    char *s = render(small, "json", NULL);
    assert_string_equal(s, "{\n"
                           "  \"count\": 2,\n"
                           "  \"empty\": {},\n"
                           "  \"list\": [],\n"
                           "  \"name\": \"p\xc3\xa9\",\n"
                           "  \"none\": null,\n"
                           "  \"obj\": {\n"
                           "    \"k\": \"v\"\n"
                           "  },\n"
                           "  \"ok\": true,\n"
                           "  \"one\": [\n"
                           "    \"x\"\n"
                           "  ]\n"
                           "}\n");
    free(s);
    s = render(small, "jsonc", NULL);
    assert_non_null(strstr(s, "\033[94m\"count\"\033[0m: \033[33m2\033[0m"));
    free(s);
    s = render(small, "none", NULL);
    assert_string_equal(s, "");
    free(s);

    s = render(pool, "table", az_pool_columns);
    assert_string_equal(s,
                        "Name        OsType  KubernetesVersion  VmSize           Count  MaxPods  "
                        "ProvisioningState  Mode  SecureBoot  Vtpm\n"
                        "----------  ------  -----------------  ---------------  -----  -------  "
                        "-----------------  ----  ----------  -----\n"
                        "mynodepool  Linux   1.30.6             Standard_DS2_v2      3      110  "
                        "Updating           User  True        False\n");
    free(s);
    s = render(pool, "tsv", az_pool_columns);
    assert_string_equal(s, "mynodepool\tLinux\t1.30.6\tStandard_DS2_v2\t3\t110\tUpdating\tUser\t"
                           "True\tFalse\n");
    free(s);
    json_t *list = json_pack("[O,{s:s,s:s}]", pool, "name", "b", "provisioningState", "Failed");
    s = render(list, "tsv", az_pool_columns);
    assert_string_equal(s, "mynodepool\tLinux\t1.30.6\tStandard_DS2_v2\t3\t110\tUpdating\tUser\t"
                           "True\tFalse\n"
                           "b\t\t\t\t\t\tFailed\t\t\t\n");
    free(s);
    json_t *empty = json_array();
    s = render(empty, "table", az_group_columns);
    assert_string_equal(s, ""); /* az: an empty table prints nothing */
    free(s);

    char line[256];
    arm_progress(pool, line, sizeof(line));
    assert_string_equal(line, "Reimaging mynodepool: node 2 of 3: aks-mynodepool-1234-vmss000001: "
                              "booting");
    json_t *cluster = json_pack("{s:s,s:[O]}", "name", "c", "agentPoolProfiles", pool);
    arm_progress(cluster, line, sizeof(line));
    assert_string_equal(line, "Reimaging mynodepool: node 2 of 3: aks-mynodepool-1234-vmss000001: "
                              "booting");
    json_object_del(pool, "operation");
    arm_progress(pool, line, sizeof(line));
    assert_string_equal(line, "");
    json_decref(cluster);
    json_decref(empty);
    json_decref(list);
    json_decref(small);
    json_decref(pool);

    char *p = arm_path("/v1/resourceGroups/%s/x/%s", "my group/1", "a-b_c.d~");
    assert_string_equal(p, "/v1/resourceGroups/my%20group%2F1/x/a-b_c.d~");
    free(p);
}

static const struct kube_credentials cred = {
    .cluster = "myAKSCluster",
    .server = "http://127.0.0.1:8443/v1/resourceGroups/g/managedClusters/myAKSCluster",
    .user = "clusterUser_g_myAKSCluster",
    .token = "0123456789",
};

/* Loads YAML text and returns the scalar at a path of keys / "[name]"
 * selectors, e.g. {"users", "[clusterUser_g_myAKSCluster]", "user", "token"}. */
static char *yaml_lookup(const char *text, const char *const *path)
{
    yaml_parser_t p;
    yaml_document_t d;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_string(&p, (const unsigned char *)text, strlen(text));
    assert_true(yaml_parser_load(&p, &d));
    yaml_node_t *n = yaml_document_get_root_node(&d);
    for (; n && *path; path++) {
        yaml_node_t *next = NULL;
        if ((*path)[0] == '[' && n->type == YAML_SEQUENCE_NODE) {
            for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top;
                 i++) {
                yaml_node_t *e = yaml_document_get_node(&d, *i);
                for (yaml_node_pair_t *q = e->data.mapping.pairs.start;
                     e->type == YAML_MAPPING_NODE && q < e->data.mapping.pairs.top; q++) {
                    yaml_node_t *k = yaml_document_get_node(&d, q->key);
                    yaml_node_t *v = yaml_document_get_node(&d, q->value);
                    if (strcmp((char *)k->data.scalar.value, "name") == 0 &&
                        v->type == YAML_SCALAR_NODE &&
                        strncmp((char *)v->data.scalar.value, *path + 1, strlen(*path) - 2) == 0 &&
                        v->data.scalar.length == strlen(*path) - 2)
                        next = e;
                }
            }
        } else if (n->type == YAML_MAPPING_NODE) {
            for (yaml_node_pair_t *q = n->data.mapping.pairs.start; q < n->data.mapping.pairs.top;
                 q++) {
                yaml_node_t *k = yaml_document_get_node(&d, q->key);
                if (k->type == YAML_SCALAR_NODE && strcmp((char *)k->data.scalar.value, *path) == 0)
                    next = yaml_document_get_node(&d, q->value);
            }
        }
        n = next;
    }
    char *out = n && n->type == YAML_SCALAR_NODE ? strdup((char *)n->data.scalar.value) : NULL;
    yaml_document_delete(&d);
    yaml_parser_delete(&p);
    return out;
}

static void assert_lookup(const char *text, const char *want, const char *const *path)
{
    char *got = yaml_lookup(text, path);
    if (!want) {
        assert_null(got);
        return;
    }
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void test_kubeconfig(void **state)
{
    (void)state;
    char *out = NULL;
    struct tl_error err = {0};
    size_t len;
    assert_int_equal(kubeconfig_merge(NULL, 0, &cred, false, &out, &len, &err), 0);
    assert_string_equal(out, "apiVersion: v1\n"
                             "kind: Config\n"
                             "clusters:\n"
                             "- cluster:\n"
                             "    server: "
                             "http://127.0.0.1:8443/v1/resourceGroups/g/managedClusters/"
                             "myAKSCluster\n"
                             "  name: myAKSCluster\n"
                             "contexts:\n"
                             "- context:\n"
                             "    cluster: myAKSCluster\n"
                             "    user: clusterUser_g_myAKSCluster\n"
                             "  name: myAKSCluster\n"
                             "users:\n"
                             "- user:\n"
                             "    token: '0123456789'\n" /* quoted: not a number */
                             "  name: clusterUser_g_myAKSCluster\n"
                             "current-context: myAKSCluster\n");
    free(out);

    /* Merged into another kubeconfig: its entries stay, ours replaces the
     * same-named (identical) one, current-context moves. */
    const char *old = "apiVersion: v1\n"
                      "kind: Config\n"
                      "preferences: {}\n"
                      "clusters:\n"
                      "- name: kind-dev\n"
                      "  cluster: {server: \"https://127.0.0.1:6443\", "
                      "insecure-skip-tls-verify: true}\n"
                      "- name: myAKSCluster\n"
                      "  cluster:\n"
                      "    server: "
                      "http://127.0.0.1:8443/v1/resourceGroups/g/managedClusters/myAKSCluster\n"
                      "contexts:\n"
                      "- name: kind-dev\n"
                      "  context: {cluster: kind-dev, user: kind-dev}\n"
                      "current-context: kind-dev\n"
                      "users:\n"
                      "- name: kind-dev\n"
                      "  user: {token: \"abc\"}\n";
    assert_int_equal(kubeconfig_merge(old, strlen(old), &cred, false, &out, &len, &err), 0);
    assert_lookup(out, "myAKSCluster", (const char *const[]){"current-context", NULL});
    assert_lookup(out, "https://127.0.0.1:6443",
                  (const char *const[]){"clusters", "[kind-dev]", "cluster", "server", NULL});
    assert_lookup(out, "true",
                  (const char *const[]){"clusters", "[kind-dev]", "cluster",
                                        "insecure-skip-tls-verify", NULL});
    assert_lookup(out, "abc", (const char *const[]){"users", "[kind-dev]", "user", "token", NULL});
    assert_lookup(
        out, cred.token,
        (const char *const[]){"users", "[clusterUser_g_myAKSCluster]", "user", "token", NULL});
    assert_lookup(out, cred.user,
                  (const char *const[]){"contexts", "[myAKSCluster]", "context", "user", NULL});
    assert_non_null(strstr(out, "preferences: {}\n"));
    assert_non_null(strstr(out, "insecure-skip-tls-verify: true")); /* plain stays plain */
    assert_null(strstr(strstr(out, "myAKSCluster") + 1, "- name: myAKSCluster")); /* once */
    /* Merging again changes nothing. */
    char *again = NULL;
    assert_int_equal(kubeconfig_merge(out, len, &cred, false, &again, &len, &err), 0);
    assert_string_equal(again, out);
    free(again);

    /* A different entry of our name: refused, unless overwrite. */
    struct kube_credentials other = cred;
    other.token = "new-token";
    assert_int_equal(kubeconfig_merge(out, strlen(out), &other, false, &again, &len, &err),
                     -EEXIST);
    assert_string_equal(err.message,
                        "a different user named \"clusterUser_g_myAKSCluster\" is already "
                        "there; use --overwrite-existing to replace it");
    assert_int_equal(kubeconfig_merge(out, strlen(out), &other, true, &again, &len, &err), 0);
    assert_lookup(
        again, "new-token",
        (const char *const[]){"users", "[clusterUser_g_myAKSCluster]", "user", "token", NULL});
    assert_lookup(again, "abc",
                  (const char *const[]){"users", "[kind-dev]", "user", "token", NULL});
    free(again);
    free(out);

    /* Not a kubeconfig: refused, unless overwrite (then replaced). */
    const char *foreign[] = {"- a\n- b\n", "kind: Pod\napiVersion: v1\n", "{{{ not yaml\n"};
    for (size_t i = 0; i < 3; i++) {
        out = NULL;
        assert_int_equal(
            kubeconfig_merge(foreign[i], strlen(foreign[i]), &cred, false, &out, &len, &err),
            -EINVAL);
        assert_null(out);
        assert_int_equal(
            kubeconfig_merge(foreign[i], strlen(foreign[i]), &cred, true, &out, &len, &err), 0);
        assert_non_null(strstr(out, "current-context: myAKSCluster\n"));
        free(out);
    }
    /* Blank or comments only: as no file. */
    const char *blank = "# nothing yet\n\n";
    assert_int_equal(kubeconfig_merge(blank, strlen(blank), &cred, false, &out, &len, &err), 0);
    free(out);

    /* Paths: --file, then $KUBECONFIG's first, then ~/.kube/config. */
    char path[256];
    setenv("HOME", "/h", 1);
    setenv("KUBECONFIG", "::/a/one:/b/two", 1);
    assert_int_equal(kubeconfig_path("f", path, sizeof(path)), 0);
    assert_string_equal(path, "f");
    assert_int_equal(kubeconfig_path(NULL, path, sizeof(path)), 0);
    assert_string_equal(path, "/a/one");
    unsetenv("KUBECONFIG");
    assert_int_equal(kubeconfig_path(NULL, path, sizeof(path)), 0);
    assert_string_equal(path, "/h/.kube/config");
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void test_sshkey(void **state)
{
    (void)state;
    char dir[] = "/tmp/tl-test-sshkey.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char priv[300], pub[300];
    snprintf(priv, sizeof(priv), "%s/.ssh/id_rsa", dir);
    snprintf(pub, sizeof(pub), "%s/.ssh/id_rsa.pub", dir);
    setenv("HOME", dir, 1);
    char *line = NULL;
    /* No key file and no --generate-ssh-keys: no key. */
    assert_int_equal(sshkey_for_cluster("t", NULL, false, &line, NULL), 0);
    assert_null(line);
    assert_int_equal(sshkey_for_cluster("t", NULL, true, &line, NULL), 0);
    assert_non_null(line);
    assert_int_equal(sshkey_public_key_check(line), 0);
    struct stat st;
    assert_int_equal(stat(priv, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(pub, &st), 0);
    snprintf(pub, sizeof(pub), "%s/.ssh", dir);
    assert_int_equal(stat(pub, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);

    /* The blob, by hand: "ssh-rsa", e, n; equal to the private key's. */
    assert_memory_equal(line, "ssh-rsa ", 8);
    unsigned char blob[1024];
    int n = EVP_DecodeBlock(blob, (unsigned char *)line + 8, (int)strlen(line + 8));
    assert_true(n > 0);
    size_t off = 0, len = be32(blob);
    assert_int_equal(len, 7);
    assert_memory_equal(blob + 4, "ssh-rsa", 7);
    off = 11;
    len = be32(blob + off);
    BIGNUM *e = BN_bin2bn(blob + off + 4, (int)len, NULL);
    off += 4 + len;
    len = be32(blob + off);
    assert_int_equal(blob[off + 4], 0); /* n's top bit is set: a leading zero */
    assert_int_equal(len, 257);
    BIGNUM *nn = BN_bin2bn(blob + off + 4, (int)len, NULL);
    FILE *f = fopen(priv, "r");
    assert_non_null(f);
    char head[64];
    assert_non_null(fgets(head, sizeof(head), f));
    assert_string_equal(head, "-----BEGIN RSA PRIVATE KEY-----\n");
    rewind(f);
    EVP_PKEY *pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(pkey);
    BIGNUM *pe = NULL, *pn = NULL;
    assert_true(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &pe));
    assert_true(EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &pn));
    assert_int_equal(BN_cmp(e, pe), 0);
    assert_int_equal(BN_cmp(nn, pn), 0);
    assert_int_equal(BN_num_bits(pn), 2048);
    BN_free(e);
    BN_free(nn);
    BN_free(pe);
    BN_free(pn);
    EVP_PKEY_free(pkey);

    /* Again: the existing key is used, nothing is regenerated. */
    char *again = NULL;
    assert_int_equal(sshkey_for_cluster("t", NULL, true, &again, NULL), 0);
    assert_string_equal(again, line);
    free(again);
    /* --ssh-key-value as a key, and as a file. */
    assert_int_equal(sshkey_for_cluster("t", line, false, &again, NULL), 0);
    assert_string_equal(again, line);
    free(again);
    assert_int_equal(sshkey_for_cluster("t", "~/.ssh/id_rsa.pub", false, &again, NULL), 0);
    assert_string_equal(again, line);
    free(again);
    assert_int_equal(sshkey_public_key_check("ssh-rsa AAAAB3NzaC1lZDI1NTE5"), -EINVAL);
    assert_int_equal(sshkey_public_key_check("ssh-dss AAAAB3NzaC1kc3M="), -EINVAL);
    free(line);

    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edit_distance), cmocka_unit_test(test_parse),
        cmocka_unit_test(test_output),        cmocka_unit_test(test_output_parse),
        cmocka_unit_test(test_output_auto),   cmocka_unit_test(test_kubeconfig),
        cmocka_unit_test(test_sshkey),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
