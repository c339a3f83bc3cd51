/* Unit tests for src/tld/kube_node.c, a node as the Kubernetes API's
 * core/v1 Node, without a daemon (nodes outside pools: fleet.c's pool
 * labels are stubbed out as for a node with no pool).
 *
 * What is asserted, field by field:
 *  - an external node that attested pass, running: trusted-launch and
 *    secure-boot labels "true", kubernetes.io/hostname, its security type
 *    as a label; Ready True (AgentReporting); TrustedLaunchAttested True
 *    (AttestationPassed, "attestation 7 passed (Secure Boot on)"); no
 *    capacity (its size is not known here); nodeInfo amd64/linux, its
 *    kernel as the agent reported, no kubelet version;
 *  - a VM node stopped after a failure naming "shim": no trusted-launch
 *    label; Ready False; TrustedLaunchAttested False (AttestationFailed,
 *    the message naming shim and the findings); capacity cpu 1, memory
 *    its MiB, pods 0;
 *  - a booting node never attested: Ready Unknown, the condition Unknown
 *    (NotAttested);
 *  - the attestation summary keeps the failed component across the store
 *    (tld_attest_summary_json / _from_json);
 *  - the resourceVersion changes with a new attestation and state. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet.h"
#include "tld.h"

/* fleet.c's, for nodes outside pools */
void tld_pool_node_labels(const struct tld_node *n, json_t *labels)
{
    (void)labels;
    assert_null(n->pool);
}

void tld_pool_node_image_version(const struct tld_pool *p, char *out, size_t size)
{
    (void)p;
    snprintf(out, size, "unused");
    fail();
}

static struct tld_node *node(const char *name, enum tld_state state, bool external)
{
    struct tld_node *n = calloc(1, sizeof(*n));
    assert_non_null(n);
    snprintf(n->name, sizeof(n->name), "%s", name);
    snprintf(n->uuid, sizeof(n->uuid), "00000000-0000-4000-8000-00000000000%d", (int)state);
    n->state = state;
    n->created = 1765152000; /* 2025-12-08T00:00:00Z */
    n->started = n->created + 10;
    n->spec = (struct tld_node_spec){.external = external,
                                     .vtpm = true,
                                     .image = "",
                                     .vars = "",
                                     .egress_allow = "",
                                     .security_type = "TrustedLaunch",
                                     .tee = "none",
                                     .disk_security = "none",
                                     .data_disk_key = ""};
    return n;
}

static const char *str(json_t *j, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", path);
    json_t *at = j;
    for (char *save = NULL, *k = strtok_r(buf, "/", &save); k; k = strtok_r(NULL, "/", &save))
        at = json_is_array(at) ? json_array_get(at, (size_t)atoi(k)) : json_object_get(at, k);
    return json_string_value(at);
}

static void expect_condition(json_t *obj, int i, const char *type, const char *status,
                             const char *reason, const char *message)
{
    char p[64];
    snprintf(p, sizeof(p), "status/conditions/%d/type", i);
    assert_string_equal(str(obj, p), type);
    snprintf(p, sizeof(p), "status/conditions/%d/status", i);
    assert_string_equal(str(obj, p), status);
    snprintf(p, sizeof(p), "status/conditions/%d/reason", i);
    assert_string_equal(str(obj, p), reason);
    snprintf(p, sizeof(p), "status/conditions/%d/message", i);
    assert_string_equal(str(obj, p), message);
}

static void test_passed_external(void **state)
{
    (void)state;
    struct tld_node *n = node("a1", TLD_RUNNING, true);
    n->attestation =
        (struct tld_attested){.id = 7, .at = n->created + 20, .pass = true, .secure_boot = true};
    n->report = json_pack("{s:s}", "kernel", "6.1.0-56-amd64");
    json_t *o = tld_kube_node(NULL, n);
    assert_string_equal(str(o, "kind"), "Node");
    assert_string_equal(str(o, "metadata/name"), "a1");
    assert_string_equal(str(o, "metadata/uid"), n->uuid);
    assert_string_equal(str(o, "metadata/creationTimestamp"), "2025-12-08T00:00:00Z");
    json_t *l = json_object_get(json_object_get(o, "metadata"), "labels");
    assert_int_equal(json_object_size(l), 4);
    assert_string_equal(
        json_string_value(json_object_get(l, "kubernetes.azure.com/trusted-launch")), "true");
    assert_string_equal(json_string_value(json_object_get(l, "kubernetes.azure.com/secure-boot")),
                        "true");
    assert_string_equal(json_string_value(json_object_get(l, "kubernetes.io/hostname")), "a1");
    assert_string_equal(json_string_value(json_object_get(l, "kubernetes.azure.com/security-type")),
                        "TrustedLaunch");
    expect_condition(o, 0, "Ready", "True", "AgentReporting", "tld: node running");
    expect_condition(o, 1, "TrustedLaunchAttested", "True", "AttestationPassed",
                     "attestation 7 passed (Secure Boot on)");
    assert_null(json_object_get(json_object_get(o, "status"), "capacity"));
    assert_string_equal(str(o, "status/nodeInfo/architecture"), "amd64");
    assert_string_equal(str(o, "status/nodeInfo/operatingSystem"), "linux");
    assert_string_equal(str(o, "status/nodeInfo/kernelVersion"), "6.1.0-56-amd64");
    assert_string_equal(str(o, "status/nodeInfo/kubeletVersion"), "");
    assert_string_equal(str(o, "status/addresses/0/address"), "a1");
    json_t *a = json_object_get(json_object_get(o, "metadata"), "annotations");
    assert_string_equal(json_string_value(json_object_get(a, "trustlaunch.io/verdict")), "pass");
    json_decref(o);
    json_decref(n->report);
    free(n);
}

static void test_failed_vm(void **state)
{
    (void)state;
    struct tld_node *n = node("v1", TLD_STOPPED, false);
    n->spec.memory_mib = 2048;
    snprintf(n->reason, sizeof(n->reason), "stopped by a request");
    n->attestation = (struct tld_attested){.id = 9, .at = n->created + 20, .findings = 2};
    snprintf(n->attestation.component, sizeof(n->attestation.component), "shim");
    json_t *o = tld_kube_node(NULL, n);
    json_t *l = json_object_get(json_object_get(o, "metadata"), "labels");
    assert_null(json_object_get(l, "kubernetes.azure.com/trusted-launch"));
    expect_condition(o, 0, "Ready", "False", "NodeNotReady",
                     "tld: node stopped: stopped by a request");
    expect_condition(o, 1, "TrustedLaunchAttested", "False", "AttestationFailed",
                     "attestation 9 failed: component shim (2 findings)");
    assert_string_equal(str(o, "status/capacity/cpu"), "1");
    assert_string_equal(str(o, "status/capacity/memory"), "2048Mi");
    assert_string_equal(str(o, "status/capacity/pods"), "0");
    assert_string_equal(str(o, "status/allocatable/memory"), "2048Mi");

    /* the summary keeps the component across the store */
    json_t *sum = tld_attest_summary_json(n);
    struct tld_node *back = node("v1", TLD_STOPPED, false);
    tld_attest_summary_from_json(back, sum);
    assert_string_equal(back->attestation.component, "shim");
    assert_false(back->attestation.pass);
    assert_int_equal(back->attestation.findings, 2);
    json_decref(sum);
    free(back);
    json_decref(o);
    free(n);
}

static void test_booting_unattested(void **state)
{
    (void)state;
    struct tld_node *n = node("b1", TLD_BOOTING, true);
    json_t *o = tld_kube_node(NULL, n);
    expect_condition(o, 0, "Ready", "Unknown", "NodeBooting", "tld: node booting");
    expect_condition(o, 1, "TrustedLaunchAttested", "Unknown", "NotAttested",
                     "no verified attestation of this boot yet");
    char v1[32], v2[32], v3[32];
    tld_kube_node_version(n, v1);
    assert_string_equal(str(o, "metadata/resourceVersion"), v1);
    n->attestation = (struct tld_attested){.id = 1, .pass = true};
    tld_kube_node_version(n, v2);
    n->state = TLD_RUNNING;
    tld_kube_node_version(n, v3);
    assert_string_not_equal(v1, v2);
    assert_string_not_equal(v2, v3);
    json_decref(o);
    free(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_passed_external),
        cmocka_unit_test(test_failed_vm),
        cmocka_unit_test(test_booting_unattested),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
