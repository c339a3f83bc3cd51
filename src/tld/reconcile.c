/* The reconciler: every 250 ms (under tld.lock, after the supervision
 * loop) each node pool takes one step toward what it asks for. A node
 * operation lets the lock go for its I/O (lifecycle.c): after one, the
 * pool's node list is read again, and a busy node is left to its
 * operation.
 *
 *  - deleting: its nodes are deleted, then the pool; a deleting cluster
 *    goes when its last pool has;
 *  - missing nodes (a create, a scale-up, a node deleted by hand) are
 *    created, in parallel up to TL_CONCURRENT_CREATES booting at once
 *    (capacity.c);
 *  - extra nodes (a scale-down) are deleted, the newest first;
 *  - nodes whose Secure Boot or vTPM differ from the pool's (an update)
 *    are reimaged ONE AT A TIME, each proven before the next: running and,
 *    with a vTPM, attested with a verdict of pass. The node under way is
 *    kept in the pool's record (op_node), so a tld restarted halfway goes
 *    on with it;
 *  - a node that fails to boot, fails attestation or is not attested in
 *    time fails the pool's operation with the node's reason (the
 *    remaining nodes are left as they are: a rollout stops at the first
 *    bad node); a node lost to a crash (QEMU killed, tld killed while
 *    reimaging it) is reimaged again, twice at most.
 *
 * A pool is Succeeded when every node is ready; its cluster is Succeeded
 * when every pool is. The decisions themselves (how many to delete or
 * create, which node next, ready or not) are reconcile_plan.c's, pure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl/aks.h"
#include "tld.h"

#define ATTEST_TIMEOUT 180 /* s from running to attested */
#define MAX_RETRIES    2

static void set_phase(struct tld_pool *p, const char *node, const char *phase, bool *changed)
{
    if (strcmp(p->op_node, node) != 0 || strcmp(p->op_phase, phase) != 0) {
        if (strcmp(p->op_node, node) != 0 || strncmp(p->op_phase, phase, 6) != 0)
            p->op_since = tld_now();
        snprintf(p->op_node, sizeof(p->op_node), "%s", node);
        snprintf(p->op_phase, sizeof(p->op_phase), "%s", phase);
        *changed = true;
    }
}

/* booting (PHASE of the console) / attesting / ready */
static void node_phase(const struct tld_node *n, char *out, size_t size)
{
    if (n->busy) { /* its diagnosis is its operation's until it is done */
        snprintf(out, size, "%s", n->busy);
    } else if (n->state == TLD_BOOTING) {
        const char *ph = json_string_value(json_object_get(n->diag, "phase"));
        if (ph && strcmp(ph, "none") == 0) /* QEMU runs; nothing on the console yet */
            ph = "firmware";
        snprintf(out, size, "booting%s%s%s", ph ? " (" : "", ph ? ph : "", ph ? ")" : "");
    } else if (n->state == TLD_RUNNING) {
        snprintf(out, size, "%s", n->spec.vtpm && !n->attestation.id ? "attesting" : "ready");
    } else {
        snprintf(out, size, "%s", tld_state_name(n->state));
    }
}

static void fail(struct tld *t, struct tld_pool *p, const char *fmt, const char *node,
                 const char *why)
{
    snprintf(p->error, sizeof(p->error), fmt, node, why);
    p->prov = TLD_PROV_FAILED;
    tld_log("pool %s/%s/%s: %s failed: %s", p->cluster->group, p->cluster->name, p->name, p->action,
            p->error);
    p->action[0] = 0;
    if (p->cluster->prov == TLD_PROV_CREATING || p->cluster->prov == TLD_PROV_UPDATING) {
        p->cluster->prov = TLD_PROV_FAILED;
        snprintf(p->cluster->error, sizeof(p->cluster->error), "node pool %s: %s", p->name,
                 p->error);
        tld_cluster_save(t, p->cluster);
    }
    tld_pool_save(t, p);
}

/* Why a node is not attested: the components of its latest alert. */
static void attestation_failure(struct tld *t, const struct tld_node *n, char *out, size_t size)
{
    json_t *alerts = tld_store_alerts(t, n->name, n->uuid, true);
    json_t *last = json_array_get(alerts, 0);
    int k = snprintf(out, size, "attestation verdict fail");
    json_t *comps = json_object_get(last, "components");
    size_t i;
    json_t *c;
    json_array_foreach(comps, i, c)
    {
        const char *name =
            json_string_value(json_is_object(c) ? json_object_get(c, "component") : c);
        if (name && (size_t)k < size)
            k += snprintf(out + k, size - (size_t)k, "%s%s", i ? ", " : ": ", name);
    }
    if ((size_t)k < size)
        snprintf(out + k, size - (size_t)k, " (tl alert list --node %s)", n->name);
    json_decref(alerts);
}

/* Its latest attestation (this boot's: a new boot clears it) failed. */
static bool attestation_failed(const struct tld_node *n)
{
    return n->state == TLD_RUNNING && n->spec.vtpm && n->attestation.id && !n->attestation.pass;
}

static void fail_attestation(struct tld *t, struct tld_pool *p, const struct tld_node *n)
{
    char why[400];
    attestation_failure(t, n, why, sizeof(why));
    fail(t, p, "node %s: %s", n->name, why);
}

/* Running, not attested in time (since its current phase began). */
static bool attestation_late(const struct tld_pool *p, const struct tld_node *n)
{
    return n->state == TLD_RUNNING && tld_now() - p->op_since > ATTEST_TIMEOUT;
}

#define STR(x)  #x
#define XSTR(x) STR(x)
#define LATE    "not attested within " XSTR(ATTEST_TIMEOUT) " s of running"

static int create_node(struct tld *t, struct tld_pool *p, struct tl_error *err)
{
    char name[TLD_NAME_MAX + 1];
    tld_pool_node_name(p, p->next_index, name, sizeof(name));
    p->next_index++;
    tld_pool_save(t, p); /* the index is never reused, even if tld stops right here */
    json_t *req = json_pack("{s:s, s:b, s:b, s:b, s:s, s:b, s:o}", "name", name, "secure_boot",
                            p->secure_boot, "vtpm", tld_pool_node_vtpm(p), "vtpm_persist", 1,
                            "image", p->image, "egress", p->egress, "egress_allow",
                            tld_egress_allow_json(p->egress_allow));
    const struct tl_vm_size *size = tl_vm_size_find(p->vm_size);
    if (size && size->node_memory_mib)
        json_object_set_new(req, "memory_mib", json_integer(size->node_memory_mib));
    if (p->data_disk_gb) {
        json_object_set_new(req, "data_disk_size_gb", json_integer(p->data_disk_gb));
        if (p->data_disk_key && p->data_disk_key[0])
            json_object_set_new(req, "data_disk_encryption_key", json_string(p->data_disk_key));
    }
    if (size && size->tee != TL_TEE_NONE) { /* a confidential size: confidential nodes, as AKS */
        json_object_set_new(req, "security_type", json_string(TL_SECURITY_CONFIDENTIAL));
        json_object_set_new(req, "tee", json_string(tl_tee_name(size->tee)));
        json_object_set_new(req, "disk_security", json_string(TL_DISK_SECURITY_VMGS));
    }
    struct tld_node *n = NULL;
    int r = tld_node_create(t, req, p, &n, err);
    json_decref(req);
    if (r)
        return r;
    tld_log("pool %s/%s/%s: node %s created", p->cluster->group, p->cluster->name, p->name,
            n->name);
    return 0;
}

static void step_delete(struct tld *t, struct tld_pool *p)
{
    for (size_t i = 0; i < t->n_nodes; i++) {
        struct tld_node *n = t->nodes[i];
        if (n->pool != p)
            continue;
        struct tl_error err = {0};
        snprintf(p->op_node, sizeof(p->op_node), "%s", n->name);
        snprintf(p->op_phase, sizeof(p->op_phase), "deleting");
        if (tld_node_delete(t, n, &err) == 0)
            p->op_done++;
        tld_pool_save(t, p);
        return; /* one per step */
    }
    struct tld_cluster *c = p->cluster;
    tld_fleet_remove_pool(t, p);
    if (c->prov == TLD_PROV_DELETING) {
        size_t n;
        struct tld_pool **pools = tld_fleet_pools(t, &n);
        for (size_t i = 0; i < n; i++)
            if (pools[i]->cluster == c)
                return;
        tld_fleet_remove_cluster(t, c);
    }
}

/* The nodes of p, by index order (their names sort so). */
static size_t pool_nodes(struct tld *t, const struct tld_pool *p, struct tld_node **out, size_t max)
{
    size_t k = 0;
    for (size_t i = 0; i < t->n_nodes && k < max; i++)
        if (t->nodes[i]->pool == p)
            out[k++] = t->nodes[i];
    for (size_t i = 1; i < k; i++) /* insertion sort: pools are small */
        for (size_t j = i; j > 0 && strcmp(out[j - 1]->name, out[j]->name) > 0; j--) {
            struct tld_node *x = out[j];
            out[j] = out[j - 1];
            out[j - 1] = x;
        }
    return k;
}

static void step(struct tld *t, struct tld_pool *p)
{
    if (p->prov == TLD_PROV_DELETING) {
        step_delete(t, p);
        return;
    }
    if (p->prov == TLD_PROV_FAILED)
        return; /* until the next update */
    struct tld_node **nodes = t->reconcile.nodes;
    size_t n = pool_nodes(t, p, nodes, TLD_POOL_NODES_MAX);
    bool changed = false;
    struct tl_error err = {0};
    struct tld_reconcile_plan plan;
    tld_reconcile_plan(p->count, n, tld_capacity_starting(t), t->capacity.concurrent_creates,
                       &plan);

    /* scale down: the newest first (each delete lets tld.lock go: the
     * list is read again after it; a busy node is left to its operation) */
    for (size_t k = 0; k < plan.deletes && n > 0; k++) {
        struct tld_node *x = nodes[n - 1];
        if (x->busy)
            break;
        int r = tld_node_delete(t, x, &err);
        n = pool_nodes(t, p, nodes, TLD_POOL_NODES_MAX); /* the lock was out either way */
        if (p->prov == TLD_PROV_DELETING)
            return; /* deleted meanwhile: that is the pool's next step */
        if (r)
            break; /* out of this step's list all the same, as before */
        p->op_done++, changed = true;
    }
    /* create what is missing, in parallel up to the host's bound
     * (capacity.c); the rest on a later step */
    for (size_t k = 0; k < plan.creates; k++) {
        int r = create_node(t, p, &err);
        n = pool_nodes(t, p, nodes, TLD_POOL_NODES_MAX);
        if (p->prov == TLD_PROV_DELETING)
            return;
        if (r) {
            fail(t, p, "node %s: %s", "(new)", err.message);
            return;
        }
        changed = true;
    }

    /* the node under way (an update's reimage) */
    struct tld_node *cur = NULL;
    for (size_t i = 0; i < n && p->op_node[0]; i++)
        if (strcmp(nodes[i]->name, p->op_node) == 0)
            cur = nodes[i];
    if (cur && strcmp(p->op_phase, "deleting") == 0)
        cur = NULL;
    if (cur && cur->busy) { /* an operation holds it (this loop's or the API's) */
        if (changed)
            tld_pool_save(t, p);
        return;
    }
    if (cur && !tld_pool_node_drifted(p, cur)) {
        char phase[64];
        node_phase(cur, phase, sizeof(phase));
        if (tld_pool_node_ready(p, cur)) {
            p->op_done++;
            p->op_node[0] = 0, p->op_phase[0] = 0;
            p->op_retries = 0;
            changed = true;
            tld_log("pool %s/%s/%s: node %s ready (%d of %d)", p->cluster->group, p->cluster->name,
                    p->name, cur->name, p->op_done, p->op_total);
            cur = NULL;
        } else if (cur->state == TLD_FAILED) {
            fail(t, p, "node %s did not boot: %s", cur->name, cur->reason);
            return;
        } else if (attestation_failed(cur)) {
            fail_attestation(t, p, cur);
            return;
        } else if (attestation_late(p, cur)) {
            fail(t, p, "node %s: %s", cur->name, LATE);
            return;
        } else if (cur->state == TLD_CRASHED || cur->state == TLD_STOPPED) {
            if (p->op_retries >= MAX_RETRIES) {
                fail(t, p, "node %s: %s", cur->name, cur->reason);
                return;
            }
            p->op_retries++;
            tld_log("pool %s/%s/%s: node %s %s (%s); reimaging it again", p->cluster->group,
                    p->cluster->name, p->name, cur->name, tld_state_name(cur->state), cur->reason);
            int r = tld_node_reimage(t, cur, NULL, &err);
            if (p->prov == TLD_PROV_DELETING)
                return;
            if (r) {
                fail(t, p, "node %s: %s", cur->name, err.message);
                return;
            }
            changed = true;
        } else {
            set_phase(p, cur->name, phase, &changed);
        }
    }
    if (!cur) {
        /* the next node to reimage */
        long next = tld_reconcile_next_drifted(p, nodes, n);
        if (next >= 0) {
            cur = nodes[next];
            set_phase(p, cur->name, "reimaging", &changed);
            tld_pool_save(t, p); /* before the reimage: a restart goes on with this node */
            json_t *req =
                json_pack("{s:b, s:b, s:s, s:b, s:o}", "secure_boot", p->secure_boot, "vtpm",
                          tld_pool_node_vtpm(p), "image", p->image, "egress", p->egress,
                          "egress_allow", tld_egress_allow_json(p->egress_allow));
            int r = tld_node_reimage(t, cur, req, &err);
            json_decref(req);
            if (p->prov == TLD_PROV_DELETING)
                return;
            if (r) {
                fail(t, p, "node %s: reimage failed: %s", cur->name, err.message);
                return;
            }
            tld_log("pool %s/%s/%s: node %s reimaged (secure boot %s, vTPM %s)", p->cluster->group,
                    p->cluster->name, p->name, cur->name, p->secure_boot ? "on" : "off",
                    p->vtpm ? "on" : "off");
            set_phase(p, cur->name, "booting", &changed);
        }
    }
    if (!cur && p->prov != TLD_PROV_SUCCEEDED) {
        /* creates and scale-ups: every node must be ready; the first not
         * ready is shown, a failed one fails the pool */
        size_t ready = 0;
        struct tld_node *wait = NULL;
        for (size_t i = 0; i < n; i++) {
            struct tld_node *x = nodes[i];
            if (x->busy) { /* judged when its operation is done */
                if (!wait)
                    wait = x;
                continue;
            }
            if (tld_pool_node_ready(p, x)) {
                ready++;
                continue;
            }
            if (x->state == TLD_FAILED || x->state == TLD_CRASHED) {
                fail(t, p, "node %s did not boot: %s", x->name, x->reason);
                return;
            }
            if (attestation_failed(x)) {
                fail_attestation(t, p, x);
                return;
            }
            if (!wait)
                wait = x;
        }
        if (strcmp(p->action, "create") == 0 && p->op_done != (int)ready)
            p->op_done = (int)ready, changed = true;
        if (wait) {
            char phase[64];
            node_phase(wait, phase, sizeof(phase));
            set_phase(p, wait->name, phase, &changed);
            if (attestation_late(p, wait)) {
                fail(t, p, "node %s: %s", wait->name, LATE);
                return;
            }
        } else {
            tld_log("pool %s/%s/%s: %s done: %zu node(s) ready", p->cluster->group,
                    p->cluster->name, p->name, p->action[0] ? p->action : "update", ready);
            p->prov = TLD_PROV_SUCCEEDED;
            p->action[0] = 0, p->op_node[0] = 0, p->op_phase[0] = 0;
            p->error[0] = 0;
            changed = true;
        }
    }
    if (changed)
        tld_pool_save(t, p);
}

void tld_reconcile_once(struct tld *t)
{
    size_t n;
    struct tld_pool **pools = tld_fleet_pools(t, &n);
    for (size_t i = 0; i < n;) {
        size_t before = n;
        step(t, pools[i]);
        pools = tld_fleet_pools(t, &n);
        if (n == before)
            i++; /* else pools[i] was removed (swapped with the last) */
    }
    /* clusters follow their pools */
    for (size_t i = 0; i < n; i++) {
        struct tld_cluster *c = pools[i]->cluster;
        if (c->prov != TLD_PROV_CREATING && c->prov != TLD_PROV_UPDATING)
            continue;
        bool done = true;
        for (size_t j = 0; j < n; j++)
            if (pools[j]->cluster == c && pools[j]->prov != TLD_PROV_SUCCEEDED)
                done = false;
        if (done) {
            c->prov = TLD_PROV_SUCCEEDED;
            c->error[0] = 0;
            tld_cluster_save(t, c);
            tld_log("cluster %s/%s: Succeeded", c->group, c->name);
        }
    }
}
