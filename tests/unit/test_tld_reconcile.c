/* Unit tests for src/tld/reconcile_plan.c, the reconciler's decisions,
 * without a daemon: a pool asking for N nodes with M present, against the
 * host's bound on nodes booting at once.
 *
 * What is asserted:
 *  - a scale-down deletes exactly the excess and creates nothing;
 *  - missing nodes are created up to the bound (TL_CONCURRENT_CREATES less
 *    those booting), none when the bound is reached, and never beyond
 *    TLD_POOL_NODES_MAX;
 *  - a node is ready only running with the pool's Secure Boot and vTPM
 *    and, with a vTPM, a passing attestation of this boot;
 *  - drift (Secure Boot, vTPM or image differ) and the first drifted node
 *    in index order (an update reimages one at a time, in order). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <string.h>

#include "tld.h"

static struct tld_reconcile_plan plan(long count, size_t present, unsigned starting, unsigned bound)
{
    struct tld_reconcile_plan p;
    memset(&p, 0xa5, sizeof(p)); /* every field is set */
    tld_reconcile_plan(count, present, starting, bound, &p);
    return p;
}

static void test_create_up_to_bound(void **state)
{
    (void)state;
    struct tld_reconcile_plan p = plan(3, 0, 0, 4); /* a new pool of 3 */
    assert_int_equal(p.creates, 3);
    assert_int_equal(p.deletes, 0);
    p = plan(50, 0, 0, 4); /* a pool of 50 does not start 50 QEMUs together */
    assert_int_equal(p.creates, 4);
    p = plan(10, 2, 1, 4); /* one of the host's nodes is booting: 3 more */
    assert_int_equal(p.creates, 3);
    assert_int_equal(p.deletes, 0);
    p = plan(10, 2, 4, 4); /* the bound is reached: none now */
    assert_int_equal(p.creates, 0);
    p = plan(10, 2, 6, 4); /* above it (a lowered bound): none, no wrap-around */
    assert_int_equal(p.creates, 0);
    p = plan(5000, TLD_POOL_NODES_MAX - 1, 0, 4); /* the pool's list is full but one */
    assert_int_equal(p.creates, 1);
    p = plan(5000, TLD_POOL_NODES_MAX, 0, 4);
    assert_int_equal(p.creates, 0);
}

static void test_steady_and_scale_down(void **state)
{
    (void)state;
    struct tld_reconcile_plan p = plan(5, 5, 0, 4);
    assert_int_equal(p.creates, 0);
    assert_int_equal(p.deletes, 0);
    p = plan(2, 5, 0, 4); /* the newest 3 go */
    assert_int_equal(p.deletes, 3);
    assert_int_equal(p.creates, 0);
    p = plan(0, 3, 4, 4); /* a pool scaled to zero, whatever boots */
    assert_int_equal(p.deletes, 3);
    p = plan(-1, 2, 0, 4); /* a negative count is zero */
    assert_int_equal(p.deletes, 2);
    assert_int_equal(p.creates, 0);
}

static struct tld_node node(enum tld_state state, bool sb, bool vtpm, const char *image)
{
    struct tld_node n;
    memset(&n, 0, sizeof(n));
    n.state = state;
    n.spec.secure_boot = sb;
    n.spec.vtpm = vtpm;
    n.spec.image = image;
    n.spec.egress_allow = ""; /* interned "" when none, never NULL */
    return n;
}

static void test_ready(void **state)
{
    (void)state;
    struct tld_pool p = {.secure_boot = true, .vtpm = true, .image = "/img/a", .egress_allow = ""};
    struct tld_node n = node(TLD_RUNNING, true, true, "/img/a");
    assert_false(tld_pool_node_ready(&p, &n)); /* not attested yet */
    n.attestation = (struct tld_attested){.id = 7, .pass = false};
    assert_false(tld_pool_node_ready(&p, &n)); /* attested: fail */
    n.attestation.pass = true;
    assert_true(tld_pool_node_ready(&p, &n));
    n.state = TLD_BOOTING;
    assert_false(tld_pool_node_ready(&p, &n));
    n.state = TLD_RUNNING;
    n.spec.secure_boot = false; /* not what the pool asks for */
    assert_false(tld_pool_node_ready(&p, &n));
    /* without a vTPM, running is enough */
    struct tld_pool plain = {
        .secure_boot = false, .vtpm = false, .image = "/img/a", .egress_allow = ""};
    struct tld_node m = node(TLD_RUNNING, false, false, "/img/a");
    assert_true(tld_pool_node_ready(&plain, &m));
    m.state = TLD_CRASHED;
    assert_false(tld_pool_node_ready(&plain, &m));
}

static void test_drift(void **state)
{
    (void)state;
    struct tld_pool p = {.secure_boot = true, .vtpm = true, .image = "/img/a", .egress_allow = ""};
    struct tld_node same = node(TLD_RUNNING, true, true, "/img/a");
    struct tld_node sb = node(TLD_RUNNING, false, true, "/img/a");
    struct tld_node vtpm = node(TLD_STOPPED, true, false, "/img/a");
    struct tld_node image = node(TLD_RUNNING, true, true, "/img/b");
    assert_false(tld_pool_node_drifted(&p, &same));
    assert_true(tld_pool_node_drifted(&p, &sb));
    assert_true(tld_pool_node_drifted(&p, &vtpm));
    assert_true(tld_pool_node_drifted(&p, &image));
    struct tld_node *nodes[] = {&same, &image, &sb};
    assert_int_equal(tld_reconcile_next_drifted(&p, nodes, 3), 1);
    assert_int_equal(tld_reconcile_next_drifted(&p, nodes, 1), -1);
    assert_int_equal(tld_reconcile_next_drifted(&p, nodes, 0), -1);
    /* an operation holds the first drifted node: the next one is chosen */
    image.busy = "starting";
    assert_int_equal(tld_reconcile_next_drifted(&p, nodes, 3), 2);
    image.busy = NULL;
    /* workload egress, and its allow-list, are the pool's too */
    struct tld_node egress = node(TLD_RUNNING, true, true, "/img/a");
    egress.spec.egress = true;
    assert_true(tld_pool_node_drifted(&p, &egress));
    struct tld_pool open_ = p;
    open_.egress = true;
    assert_false(tld_pool_node_drifted(&open_, &egress));
    open_.egress_allow = "192.0.2.2/32";
    assert_true(tld_pool_node_drifted(&open_, &egress));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_up_to_bound),
        cmocka_unit_test(test_steady_and_scale_down),
        cmocka_unit_test(test_ready),
        cmocka_unit_test(test_drift),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
