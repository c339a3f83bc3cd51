/* Unit tests for src/tld/capacity.c, quotas and the host's capacity,
 * without a daemon: a struct tld with its capacity read from the
 * environment, its pools given by the test (tld_fleet_pools is the
 * fleet's; here a stand-in returns the test's pools), its VM nodes in
 * t->vms.
 *
 * What is asserted (Standard_DS2_v2: 2 vCPUs, family standardDSv2Family,
 * a node of it gets 1 vCPU and 1024 MiB here):
 *  - TL_QUOTA_VCPUS "total=N,FAMILY=N" sets the limits, a malformed entry
 *    is ignored, the host's bounds come from TL_HOST_*;
 *  - a pool within its family's quota is admitted; one beyond is refused
 *    with -EDQUOT and ARM's QuotaExceeded text naming the limit and usage;
 *    other pools count, a deleting one does not, a pool's own current
 *    nodes count once; a scale-down is always admitted;
 *  - the total quota likewise, the host's memory with -ENOSPC (AllocationFailed),
 *    standalone VM nodes counting against the host;
 *  - a virtual machine counts its size's vCPUs in its family (and not its
 *    old size in its own resize);
 *  - the nodes starting now: creating or booting VM nodes only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tld.h"

static struct tld_pool *test_pools[4];
static size_t n_test_pools;

struct tld_pool **tld_fleet_pools(struct tld *t, size_t *n)
{
    (void)t;
    *n = n_test_pools;
    return test_pools;
}

static struct tld_cluster cluster = {.group = "g", .name = "c", .location = "local"};

static struct tld *new_tld(const char *quota, const char *memory, const char *vcpus)
{
    setenv("TL_QUOTA_VCPUS", quota, 1);
    setenv("TL_HOST_NODE_MEMORY_MIB", memory, 1);
    setenv("TL_HOST_VCPUS", vcpus, 1);
    setenv("TL_CONCURRENT_CREATES", "3", 1);
    struct tld *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    tld_capacity_init(t);
    n_test_pools = 0;
    return t;
}

static void test_init(void **state)
{
    (void)state;
    struct tld *t = new_tld("total=40,standardDSv2Family=6,bogus,=3", "8192", "24");
    assert_int_equal(t->capacity.total_limit, 40);
    assert_int_equal(t->capacity.n_families, 1);
    assert_string_equal(t->capacity.families[0].name, "standardDSv2Family");
    assert_int_equal(t->capacity.families[0].limit, 6);
    assert_int_equal(t->capacity.host_memory_mib, 8192);
    assert_int_equal(t->capacity.host_vcpus, 24);
    assert_int_equal(t->capacity.concurrent_creates, 3);
    free(t);
}

static void test_family_quota(void **state)
{
    (void)state;
    struct tld *t = new_tld("standardDSv2Family=6", "100000", "1000");
    char msg[1024] = "";
    /* 3 x 2 vCPUs = 6: within */
    assert_int_equal(tld_capacity_admit(t, NULL, "Standard_DS2_v2", 3, msg, sizeof(msg)), 0);
    /* 4 x 2 = 8 > 6 */
    assert_int_equal(tld_capacity_admit(t, NULL, "Standard_DS2_v2", 4, msg, sizeof(msg)), -EDQUOT);
    assert_non_null(strstr(msg, "(QuotaExceeded)"));
    assert_non_null(strstr(msg, "approved standardDSv2Family Cores quota"));
    assert_non_null(strstr(msg, "Current Limit: 6, Current Usage: 0, Additional Required: 8"));
    assert_non_null(strstr(msg, "\"standardDSv2Family=8\""));

    /* another pool of 2 nodes uses 4 of the 6 */
    struct tld_pool other = {.cluster = &cluster, .vm_size = "Standard_DS2_v2", .count = 2};
    test_pools[n_test_pools++] = &other;
    assert_int_equal(tld_capacity_admit(t, NULL, "Standard_DS2_v2", 1, msg, sizeof(msg)), 0);
    assert_int_equal(tld_capacity_admit(t, NULL, "Standard_DS2_v2", 2, msg, sizeof(msg)), -EDQUOT);
    assert_non_null(strstr(msg, "Current Usage: 4, Additional Required: 4"));
    /* a deleting pool's quota is free already */
    other.prov = TLD_PROV_DELETING;
    assert_int_equal(tld_capacity_admit(t, NULL, "Standard_DS2_v2", 3, msg, sizeof(msg)), 0);

    /* the pool itself scaling from 2 to 3: its 2 count once */
    other.prov = TLD_PROV_SUCCEEDED;
    assert_int_equal(tld_capacity_admit(t, &other, "Standard_DS2_v2", 3, msg, sizeof(msg)), 0);
    assert_int_equal(tld_capacity_admit(t, &other, "Standard_DS2_v2", 4, msg, sizeof(msg)),
                     -EDQUOT);
    assert_non_null(strstr(msg, "Location: local, Current Limit: 6, Current Usage: 4"));
    /* a scale-down is free, whatever the quota */
    other.count = 10;
    assert_int_equal(tld_capacity_admit(t, &other, "Standard_DS2_v2", 9, msg, sizeof(msg)), 0);
    /* an unknown size is the rules' to refuse, not the quota's */
    assert_int_equal(tld_capacity_admit(t, NULL, "Standard_Nope", 100, msg, sizeof(msg)), 0);
    free(t);
}

static void test_total_quota(void **state)
{
    (void)state;
    struct tld *t = new_tld("total=5", "100000", "1000");
    char msg[1024] = "";
    assert_int_equal(tld_capacity_admit(t, NULL, "Standard_DS2_v2", 2, msg, sizeof(msg)), 0);
    assert_int_equal(tld_capacity_admit(t, NULL, "Standard_DS2_v2", 3, msg, sizeof(msg)), -EDQUOT);
    assert_non_null(strstr(msg, "approved Total Regional Cores quota"));
    assert_non_null(strstr(msg, "\"total=6\""));
    free(t);
}

static void test_host(void **state)
{
    (void)state;
    struct tld *t = new_tld("total=1000,standardDSv2Family=1000", "3072", "1000");
    char msg[1024] = "";
    /* 3 nodes x 1024 MiB fill the host's 3072 */
    assert_int_equal(tld_capacity_admit(t, NULL, "Standard_DS2_v2", 3, msg, sizeof(msg)), 0);
    /* a standalone VM node of 512 MiB takes its share */
    struct tld_node standalone;
    memset(&standalone, 0, sizeof(standalone));
    standalone.spec.memory_mib = 512;
    standalone.state = TLD_RUNNING;
    struct tld_node *vms[] = {&standalone};
    t->vms = vms;
    t->n_vms = 1;
    assert_int_equal(tld_capacity_admit(t, NULL, "Standard_DS2_v2", 3, msg, sizeof(msg)), -ENOSPC);
    assert_non_null(strstr(msg, "(AllocationFailed) The host cannot take 3 more Standard_DS2_v2"));
    assert_non_null(strstr(msg, "3072 MiB of memory and 3 vCPUs; it has 3072 MiB for nodes (512"));
    assert_int_equal(tld_capacity_admit(t, NULL, "Standard_DS2_v2", 2, msg, sizeof(msg)), 0);
    /* an external node costs this host nothing */
    standalone.spec.external = true;
    assert_int_equal(tld_capacity_admit(t, NULL, "Standard_DS2_v2", 3, msg, sizeof(msg)), 0);
    t->vms = NULL;
    t->n_vms = 0;
    free(t);
}

/* A virtual machine (vmres.c) counts its size's vCPUs in its family; a
 * resize does not count the VM's old size. */
static void test_vm_quota(void **state)
{
    (void)state;
    struct tld *t = new_tld("standardDCASv5Family=4", "100000", "1000");
    char msg[1024] = "";
    assert_int_equal(
        tld_capacity_admit_vm(t, NULL, "Standard_DC4as_v5", "westeurope", msg, sizeof(msg)), 0);
    struct tld_node vm;
    memset(&vm, 0, sizeof(vm));
    vm.state = TLD_STOPPED;
    vm.vm = json_pack("{s:s}", "vmSize", "Standard_DC2as_v5");
    struct tld_node *vms[] = {&vm};
    t->vms = vms;
    t->n_vms = 1;
    assert_int_equal(
        tld_capacity_admit_vm(t, NULL, "Standard_DC4as_v5", "westeurope", msg, sizeof(msg)),
        -EDQUOT);
    assert_string_equal(msg,
                        "(QuotaExceeded) Operation could not be completed as it results in "
                        "exceeding approved standardDCASv5Family Cores quota. Additional details - "
                        "Deployment Model: Resource Manager, Location: westeurope, Current Limit: "
                        "4, Current Usage: 2, Additional Required: 4, (Minimum) New Limit "
                        "Required: 6. Raise the limit with TL_QUOTA_VCPUS in tld's environment "
                        "(\"standardDCASv5Family=6\").");
    /* a resize of that VM: its own 2 vCPUs are not in use any more */
    assert_int_equal(
        tld_capacity_admit_vm(t, &vm, "Standard_DC4as_v5", "westeurope", msg, sizeof(msg)), 0);
    /* another family is not this one's */
    assert_int_equal(
        tld_capacity_admit_vm(t, NULL, "Standard_DC4es_v5", "westeurope", msg, sizeof(msg)), 0);
    json_decref(vm.vm);
    t->vms = NULL;
    t->n_vms = 0;
    free(t);
}

static void test_starting(void **state)
{
    (void)state;
    struct tld *t = new_tld("", "4096", "16");
    struct tld_node a, b, c, d;
    memset(&a, 0, sizeof(a));
    b = c = d = a;
    a.state = TLD_CREATING;
    b.state = TLD_BOOTING;
    c.state = TLD_RUNNING;
    d.state = TLD_BOOTING;
    d.spec.external = true;
    struct tld_node *vms[] = {&a, &b, &c, &d};
    t->vms = vms;
    t->n_vms = 4;
    assert_int_equal(tld_capacity_starting(t), 2);
    t->vms = NULL;
    t->n_vms = 0;
    assert_int_equal(tld_capacity_starting(t), 0);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init),        cmocka_unit_test(test_family_quota),
        cmocka_unit_test(test_total_quota), cmocka_unit_test(test_host),
        cmocka_unit_test(test_starting),    cmocka_unit_test(test_vm_quota),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
