/* Unit tests for lib/aks: the VM size catalog's facts, and every node pool
 * rule with its exact one-line message (tld shows these to users; a
 * changed word is a changed interface). Good specs pass: the az defaults
 * with Secure Boot and vTPM, Kubernetes 1.25.2 exactly, a GPU pool with
 * --skip-gpu-driver-install. Version comparison edge cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <errno.h>
#include <string.h>

#include "tl/aks.h"

/* The az defaults, with trusted launch on. */
static struct tl_pool_spec good(void)
{
    return (struct tl_pool_spec){
        .name = TL_AKS_DEFAULT_POOL_NAME,
        .os_type = "Linux",
        .os_sku = "Ubuntu",
        .vm_size = TL_AKS_DEFAULT_VM_SIZE,
        .vm_set_type = "VirtualMachineScaleSets",
        .os_disk_type = "Managed",
        .k8s_version = TL_AKS_DEFAULT_K8S_VERSION,
        .count = TL_AKS_DEFAULT_NODE_COUNT,
        .secure_boot = true,
        .vtpm = true,
        .image_generation = 2,
    };
}

static void refused(const struct tl_pool_spec *s, const char *want)
{
    char msg[256];
    assert_int_equal(tl_pool_check(s, msg, sizeof(msg)), -EINVAL);
    assert_string_equal(msg, want);
}

static void passes(const struct tl_pool_spec *s)
{
    char msg[256] = "untouched";
    int r = tl_pool_check(s, msg, sizeof(msg));
    if (r != 0)
        fail_msg("refused: %s", msg);
    assert_string_equal(msg, "");
}

/* ---- catalog ---- */

static void test_catalog_facts(void **state)
{
    (void)state;
    const struct tl_vm_size *s = tl_vm_size_find("Standard_DS2_v2");
    assert_non_null(s);
    assert_int_equal(s->vcpus, 2);
    assert_int_equal(s->memory_mib, 7168);
    assert_true(s->gen1 && s->gen2 && s->trusted_launch && s->ephemeral_os);
    assert_false(s->arm64 || s->gpu);
    assert_int_equal(s->node_vcpus, 1);
    assert_int_equal(s->node_memory_mib, 1024);

    s = tl_vm_size_find("Standard_D2ps_v5");
    assert_non_null(s);
    assert_true(s->arm64 && s->gen2);
    assert_false(s->gen1 || s->trusted_launch || s->ephemeral_os);
    assert_int_equal(s->memory_mib, 8192);

    s = tl_vm_size_find("Standard_A2_v2");
    assert_true(s->gen1 && !s->gen2 && !s->trusted_launch);
    s = tl_vm_size_find("Standard_D2_v2");
    assert_true(s->gen1 && !s->gen2 && !s->trusted_launch);
    s = tl_vm_size_find("Standard_NC4as_T4_v3");
    assert_true(s->gpu && s->trusted_launch && s->gen2);
    assert_int_equal(s->memory_mib, 28 * 1024);
    s = tl_vm_size_find("Standard_DC2as_v5");
    assert_true(s->gen2 && !s->gen1 && !s->trusted_launch);
    s = tl_vm_size_find("Standard_D2as_v5");
    assert_true(s->trusted_launch && !s->ephemeral_os); /* no temp disk */
    s = tl_vm_size_find("Standard_D2ds_v5");
    assert_true(s->trusted_launch && s->ephemeral_os);

    size_t n;
    const struct tl_vm_size *all = tl_vm_sizes(&n);
    assert_true(n >= 90 && n <= 110); /* 29 sizes and the 8 confidential series */
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(all[i].node_vcpus, 1);
        assert_true(all[i].node_memory_mib >= 512 && all[i].node_memory_mib <= 1024);
        assert_true(all[i].node_memory_mib <= all[i].memory_mib);
        assert_true(all[i].gen1 || all[i].gen2);
        /* trusted launch is Gen2 only and never on Arm64 here */
        assert_true(!all[i].trusted_launch || (all[i].gen2 && !all[i].arm64));
        assert_true(!all[i].ephemeral_os || all[i].trusted_launch);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(all[i].name, all[j].name);
        assert_ptr_equal(tl_vm_size_find(all[i].name), &all[i]);
    }
}

static void test_catalog_lookup_case(void **state)
{
    (void)state;
    const struct tl_vm_size *s = tl_vm_size_find("standard_ds2_V2");
    assert_non_null(s);
    assert_string_equal(s->name, "Standard_DS2_v2");
    assert_ptr_equal(tl_vm_size_find("STANDARD_B2S"), tl_vm_size_find("Standard_B2s"));
    assert_null(tl_vm_size_find("Standard_DS2_v9"));
    assert_null(tl_vm_size_find(""));
    assert_null(tl_vm_size_find(NULL));
}

static void test_image_generation(void **state)
{
    (void)state;
    assert_int_equal(tl_pool_image_generation(tl_vm_size_find("Standard_DS2_v2"), false), 2);
    assert_int_equal(tl_pool_image_generation(tl_vm_size_find("Standard_DS2_v2"), true), 1);
    assert_int_equal(tl_pool_image_generation(tl_vm_size_find("Standard_A2_v2"), false), 1);
    assert_int_equal(tl_pool_image_generation(tl_vm_size_find("Standard_D2ps_v5"), false), 2);
    assert_int_equal(tl_pool_image_generation(tl_vm_size_find("Standard_D2ps_v5"), true), -EINVAL);
    assert_int_equal(tl_pool_image_generation(NULL, false), -EINVAL);
}

/* ---- good specs ---- */

static void test_good_specs(void **state)
{
    (void)state;
    struct tl_pool_spec s = good();
    passes(&s);
    s.k8s_version = "1.25.2"; /* exactly the minimum */
    passes(&s);
    s.k8s_version = "v1.25.2";
    passes(&s);
    s = good();
    s.vm_size = "Standard_NC4as_T4_v3";
    s.skip_gpu_driver_install = true;
    passes(&s);
    s = good(); /* a GPU pool with the vTPM only needs no skip */
    s.vm_size = "Standard_NC4as_T4_v3";
    s.secure_boot = false;
    passes(&s);
    s = good();
    s.vm_size = "standard_d2ds_v5";
    s.os_disk_type = "Ephemeral";
    passes(&s);
    s = good(); /* without trusted launch the TL rules do not apply */
    s.secure_boot = s.vtpm = false;
    s.vm_size = "Standard_A2_v2";
    s.image_generation = 1;
    s.k8s_version = "1.24.9";
    passes(&s);
    s.os_type = "Windows";
    s.name = "win1";
    passes(&s);
    s = good();
    s.name = "a";
    s.count = 0;
    passes(&s);
    s.name = "abcdefghij1"; /* 11 */
    s.count = 1000;
    passes(&s);
}

/* ---- each rule, its message ---- */

static void test_rule_name(void **state)
{
    (void)state;
    struct tl_pool_spec s = good();
    s.name = "MyPool";
    refused(&s, "node pool name 'MyPool': must be lowercase letters and digits, starting with a "
                "letter, 1-11 characters for Linux pools");
    s.name = "abcdefghijkl"; /* 12 */
    refused(&s, "node pool name 'abcdefghijkl': must be lowercase letters and digits, starting "
                "with a letter, 1-11 characters for Linux pools");
    s.name = "1pool";
    refused(&s, "node pool name '1pool': must be lowercase letters and digits, starting with a "
                "letter, 1-11 characters for Linux pools");
    s.name = "";
    refused(&s, "node pool name '': must be lowercase letters and digits, starting with a "
                "letter, 1-11 characters for Linux pools");
    s.name = "pool-1";
    refused(&s, "node pool name 'pool-1': must be lowercase letters and digits, starting with a "
                "letter, 1-11 characters for Linux pools");
    s = good();
    s.os_type = "Windows";
    s.secure_boot = s.vtpm = false;
    s.name = "winpool";
    refused(&s, "node pool name 'winpool': must be lowercase letters and digits, starting with a "
                "letter, 1-6 characters for Windows pools");
}

static void test_rule_count_size_version(void **state)
{
    (void)state;
    struct tl_pool_spec s = good();
    s.count = 1001;
    refused(&s, "node count 1001: must be 0 to 1000 (--node-count)");
    s.count = -1;
    refused(&s, "node count -1: must be 0 to 1000 (--node-count)");
    s = good();
    s.vm_size = "Standard_DS2_v3";
    refused(&s, "VM size 'Standard_DS2_v3': not in the catalog (tl aks vm-sizes lists them); did "
                "you mean Standard_DS2_v2?");
    s.vm_size = "huge";
    refused(&s, "VM size 'huge': not in the catalog (tl aks vm-sizes lists them)");
    s = good();
    s.k8s_version = "1.x";
    refused(&s, "Kubernetes version '1.x': must be MAJOR.MINOR or MAJOR.MINOR.PATCH, e.g. 1.30.6 "
                "(--kubernetes-version)");
    s.secure_boot = s.vtpm = false; /* malformed without trusted launch too */
    refused(&s, "Kubernetes version '1.x': must be MAJOR.MINOR or MAJOR.MINOR.PATCH, e.g. 1.30.6 "
                "(--kubernetes-version)");
    s = good();
    s.os_type = "Mac";
    refused(&s, "OS type 'Mac': must be Linux or Windows (--os-type)");
    s = good();
    s.vm_set_type = "Cluster";
    refused(&s, "VM set type 'Cluster': must be VirtualMachineScaleSets or AvailabilitySet "
                "(--vm-set-type)");
    s = good();
    s.os_disk_type = "Ultra";
    refused(&s, "OS disk type 'Ultra': must be Managed or Ephemeral (--node-osdisk-type)");
}

static void test_rule_trusted_launch(void **state)
{
    (void)state;
    struct tl_pool_spec s = good();
    s.os_type = "Windows";
    s.name = "win1";
    refused(&s, "trusted launch is not supported on Windows node pools (--os-type Windows)");
    s = good();
    s.fips = true;
    refused(&s, "trusted launch cannot be combined with a FIPS node image (--enable-fips-image)");
    s = good();
    s.vm_size = "Standard_D2ps_v5";
    refused(&s,
            "trusted launch is not supported on Arm64 VM sizes (--node-vm-size Standard_D2ps_v5)");
    s = good();
    s.vm_set_type = "AvailabilitySet";
    refused(&s, "trusted launch needs virtual machine scale sets, not availability sets "
                "(--vm-set-type AvailabilitySet)");
    s = good();
    s.virtual_node = true;
    refused(&s, "trusted launch is not supported with virtual nodes (the virtual-node add-on is "
                "enabled)");
    s = good();
    s.vm_size = "Standard_A2_v2";
    s.image_generation = 0; /* not chosen yet */
    refused(&s, "trusted launch needs a Gen2 (UEFI) image; VM size Standard_A2_v2 supports Gen1 "
                "only (--node-vm-size)");
    s = good();
    s.image_generation = 1;
    refused(&s, "trusted launch needs a Gen2 (UEFI) image; the pool asks for the Gen1 image");
    s = good();
    s.vm_size = "Standard_DC2as_v5";
    refused(&s, "trusted launch is not supported on VM size Standard_DC2as_v5 (--node-vm-size; tl "
                "aks vm-sizes lists the sizes that support it)");
    s = good();
    s.vm_size = "Standard_NC24ads_A100_v4";
    refused(&s, "trusted launch: Secure Boot on GPU size Standard_NC24ads_A100_v4 needs "
                "--skip-gpu-driver-install (the GPU driver AKS installs is unsigned and would not "
                "load)");
    s = good();
    s.vm_size = "Standard_D2as_v5";
    s.os_disk_type = "Ephemeral";
    refused(&s, "trusted launch with an ephemeral OS disk is not supported on VM size "
                "Standard_D2as_v5 (--node-osdisk-type Ephemeral)");
    s = good();
    s.k8s_version = "1.24.9";
    refused(&s, "trusted launch needs Kubernetes 1.25.2 or later; --kubernetes-version is 1.24.9");
    s.k8s_version = "1.25.1";
    refused(&s, "trusted launch needs Kubernetes 1.25.2 or later; --kubernetes-version is 1.25.1");
    s.k8s_version = "1.25";
    refused(&s, "trusted launch needs Kubernetes 1.25.2 or later; --kubernetes-version is 1.25");
    s = good(); /* the vTPM alone is trusted launch too */
    s.secure_boot = false;
    s.fips = true;
    refused(&s, "trusted launch cannot be combined with a FIPS node image (--enable-fips-image)");
}

static void test_rule_update(void **state)
{
    (void)state;
    struct tl_pool_spec from = good(), to;
    from.name = "gen1pool";
    from.secure_boot = from.vtpm = false;
    from.image_generation = 1;
    to = from;
    to.vtpm = true;
    char msg[256];
    assert_int_equal(tl_pool_check_update(&from, &to, msg, sizeof(msg)), -EINVAL);
    assert_string_equal(msg, "node pool 'gen1pool' was created on the Gen1 image; trusted launch "
                             "needs a Gen2 (UEFI) image: create a new node pool");
    /* switching off is fine; switching on a Gen2 pool is fine */
    to = from;
    assert_int_equal(tl_pool_check_update(&from, &to, msg, sizeof(msg)), 0);
    from = good();
    from.secure_boot = false;
    to = from;
    to.secure_boot = true;
    assert_int_equal(tl_pool_check_update(&from, &to, msg, sizeof(msg)), 0);
    to.secure_boot = to.vtpm = false;
    assert_int_equal(tl_pool_check_update(&from, &to, msg, sizeof(msg)), 0);
    /* the create rules still apply to the result */
    to = from;
    to.k8s_version = "1.24.0";
    assert_int_equal(tl_pool_check_update(&from, &to, msg, sizeof(msg)), -EINVAL);
    assert_string_equal(msg,
                        "trusted launch needs Kubernetes 1.25.2 or later; --kubernetes-version is "
                        "1.24.0");
}

/* ---- versions ---- */

static int cmp(const char *a, const char *b)
{
    int out = 99;
    assert_int_equal(tl_k8s_version_cmp(a, b, &out), 0);
    return out;
}

static void test_version_cmp(void **state)
{
    (void)state;
    assert_true(cmp("1.25.2", "1.25.10") < 0); /* numeric, not text */
    assert_true(cmp("1.25.10", "1.25.2") > 0);
    assert_int_equal(cmp("1.25.2", "1.25.2"), 0);
    assert_int_equal(cmp("v1.30", "1.30.0"), 0);
    assert_int_equal(cmp("1.29", "1.29.0"), 0);
    assert_true(cmp("1.29", "1.29.1") < 0);
    assert_true(cmp("2.0", "1.99.99") > 0);
    assert_true(cmp("1.9.0", "1.10.0") < 0);
    int out = 7;
    const char *bad[] = {"",      "1",       "v",     "1.",     ".1",    "1..2",      "1.2.3.4",
                         "1.2.x", "garbage", "-1.2",  "+1.2",   "1.2 ",  " 1.2",      "V1.2",
                         "01.2",  "1.02",    "vv1.2", "1.2-rc", "1e3.1", "99999999.1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(tl_k8s_version_cmp(bad[i], "1.25.2", &out), -EINVAL);
        assert_int_equal(tl_k8s_version_cmp("1.25.2", bad[i], &out), -EINVAL);
    }
    assert_int_equal(out, 7);
    assert_int_equal(tl_k8s_version_cmp(NULL, "1.2", &out), -EINVAL);
    assert_int_equal(cmp("1.0.0", "1.0"), 0); /* zero is a number, not a leading zero */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_catalog_facts),       cmocka_unit_test(test_catalog_lookup_case),
        cmocka_unit_test(test_image_generation),    cmocka_unit_test(test_good_specs),
        cmocka_unit_test(test_rule_name),           cmocka_unit_test(test_rule_count_size_version),
        cmocka_unit_test(test_rule_trusted_launch), cmocka_unit_test(test_rule_update),
        cmocka_unit_test(test_version_cmp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
