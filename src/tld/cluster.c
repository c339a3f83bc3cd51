/* Resource groups, managed clusters and node pools: AKS's model, kept in
 * the store (kind "group", "cluster", "pool") and served under
 * /v1/resourceGroups (docs/api.md, "Clusters and node pools").
 *
 * A pool is what it asks for (count, size, Secure Boot, vTPM, image) plus
 * where it is (provisioningState and the operation under way). Creating
 * or updating a pool only records the wish, after libtl's rules
 * (include/tl/aks.h) and, for Secure Boot, a check that the image would
 * boot under the keys the nodes get; the reconciler (reconcile.c) then
 * creates, reimages and deletes the nodes, and a tld restarted halfway
 * picks the operation up from the store.
 *
 * Pool nodes are ordinary tld nodes named aks-POOL-ID8-vmssNNNNNN (ID8:
 * eight digits drawn when the pool is made, as AKS names its scale-set
 * instances); the name ties a node to its pool across restarts. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tl/aks.h"
#include "tl/util.h"
#include "tld.h"

#define SUBSCRIPTION "/subscriptions/local"

struct tld_group {
    char name[91], location[64];
    long long created;
};

struct tld_fleet {
    struct tld_group **groups;
    size_t n_groups;
    struct tld_cluster **clusters;
    size_t n_clusters;
    struct tld_pool **pools;
    size_t n_pools;
};

static const char *const prov_names[] = {
    [TLD_PROV_SUCCEEDED] = "Succeeded", [TLD_PROV_CREATING] = "Creating",
    [TLD_PROV_UPDATING] = "Updating",   [TLD_PROV_SCALING] = "Scaling",
    [TLD_PROV_DELETING] = "Deleting",   [TLD_PROV_FAILED] = "Failed",
};

const char *tld_prov_name(enum tld_prov p)
{
    return (unsigned)p < sizeof(prov_names) / sizeof(prov_names[0]) ? prov_names[p] : "Failed";
}

static enum tld_prov prov_parse(const char *s)
{
    for (unsigned i = 0; i < sizeof(prov_names) / sizeof(prov_names[0]); i++)
        if (s && strcmp(s, prov_names[i]) == 0)
            return (enum tld_prov)i;
    return TLD_PROV_FAILED;
}

static int grow(void *arr, size_t n, size_t elem)
{
    void **a = arr;
    if ((n & (n - 1)) == 0) { /* 0, 1, 2, 4...: double */
        void *p = realloc(*a, (n ? 2 * n : 4) * elem);
        if (!p)
            return -ENOMEM;
        *a = p;
    }
    return 0;
}

/* ---- names ---- */

/* ARM's resource group names: 1-90 of letters, digits, '-', '_', '.',
 * '(' and ')', not ending in '.' */
static bool group_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 90 || s[n - 1] == '.')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("-_.()", s[i]))
            return false;
    return true;
}

/* AKS cluster names: 1-63 of letters, digits, '-' and '_', starting and
 * ending with a letter or digit */
static bool cluster_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 63 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
            return false;
    return true;
}

void tld_pool_node_name(const struct tld_pool *p, unsigned index, char *out, size_t size)
{
    snprintf(out, size, "aks-%s-%s-vmss%06u", p->name, p->id8, index);
}

bool tld_pool_owns(const struct tld_pool *p, const char *node)
{
    char prefix[64];
    int k = snprintf(prefix, sizeof(prefix), "aks-%s-%s-vmss", p->name, p->id8);
    return strncmp(node, prefix, (size_t)k) == 0;
}

/* ---- lookups ---- */

static struct tld_group *group_find(struct tld_fleet *f, const char *name)
{
    for (size_t i = 0; i < f->n_groups; i++) /* ARM names are case-insensitive */
        if (strcasecmp(f->groups[i]->name, name) == 0)
            return f->groups[i];
    return NULL;
}

static struct tld_cluster *cluster_find(struct tld_fleet *f, const char *group, const char *name)
{
    for (size_t i = 0; i < f->n_clusters; i++)
        if (strcasecmp(f->clusters[i]->group, group) == 0 &&
            strcasecmp(f->clusters[i]->name, name) == 0)
            return f->clusters[i];
    return NULL;
}

static struct tld_pool *pool_find(struct tld_fleet *f, const struct tld_cluster *c,
                                  const char *name)
{
    for (size_t i = 0; i < f->n_pools; i++)
        if (f->pools[i]->cluster == c && strcmp(f->pools[i]->name, name) == 0)
            return f->pools[i];
    return NULL;
}

struct tld_pool **tld_fleet_pools(struct tld *t, size_t *n)
{
    *n = t->fleet ? t->fleet->n_pools : 0;
    return t->fleet ? t->fleet->pools : NULL;
}

/* ---- JSON (az's shapes) ---- */

/* AKS's node resource group: MC_GROUP_CLUSTER_LOCATION */
static void node_resource_group(const struct tld_cluster *c, char *out, size_t size)
{
    snprintf(out, size, "MC_%s_%s_%s", c->group, c->name, c->location);
}

/* The node image a pool runs, "TL" marking a trusted-launch image as in
 * AKS's AKSUbuntu-2204gen2TLcontainerd */
static void node_image_version(const struct tld_pool *p, char *out, size_t size)
{
    snprintf(out, size, "trustlaunch-gen%d%s", p->image_generation,
             p->secure_boot || p->vtpm ? "TL" : "");
}

static json_t *group_json(const struct tld_group *g)
{
    char id[160];
    snprintf(id, sizeof(id), SUBSCRIPTION "/resourceGroups/%s", g->name);
    return json_pack("{s:s, s:s, s:s, s:s, s:{s:s}}", "id", id, "name", g->name, "location",
                     g->location, "type", "Microsoft.Resources/resourceGroups", "properties",
                     "provisioningState", "Succeeded");
}

static void cluster_id(const struct tld_cluster *c, char *out, size_t size)
{
    snprintf(out, size,
             SUBSCRIPTION "/resourceGroups/%s/providers/Microsoft.ContainerService/"
                          "managedClusters/%s",
             c->group, c->name);
}

static json_t *operation_json(const struct tld_pool *p)
{
    if (!p->action[0])
        return json_null();
    return json_pack("{s:s, s:i, s:i, s:s?, s:s?}", "action", p->action, "done", p->op_done,
                     "total", p->op_total, "node", p->op_node[0] ? p->op_node : NULL, "phase",
                     p->op_phase[0] ? p->op_phase : NULL);
}

static json_t *pool_json(struct tld *t, const struct tld_pool *p)
{
    char id[400];
    cluster_id(p->cluster, id, sizeof(id));
    size_t l = strlen(id);
    snprintf(id + l, sizeof(id) - l, "/agentPools/%s", p->name);
    json_t *nodes = json_array();
    for (size_t i = 0; i < t->n_nodes; i++)
        if (t->nodes[i]->pool == p)
            json_array_append_new(nodes, json_string(t->nodes[i]->name));
    char image_version[64];
    node_image_version(p, image_version, sizeof(image_version));
    json_t *j = json_pack(
        "{s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:i, s:s, s:s, "
        "s:{s:s}, s:{s:b, s:b}, s:{}, s:o, s:o, s:s, s:i}",
        "id", id, "name", p->name, "resourceGroup", p->cluster->group, "type",
        "Microsoft.ContainerService/managedClusters/agentPools", "count", (json_int_t)p->count,
        "vmSize", p->vm_size, "osType", p->os_type, "osSku", p->os_sku, "mode", p->mode,
        "orchestratorVersion", p->k8s_version, "currentOrchestratorVersion", p->k8s_version,
        "typePropertiesType", p->vm_set_type, "osDiskType", p->os_disk_type, "enableFips", p->fips,
        "maxPods", 250, "nodeImageVersion", image_version, "provisioningState",
        tld_prov_name(p->prov), "powerState", "code", "Running", "securityProfile",
        "enableSecureBoot", p->secure_boot, "enableVtpm", p->vtpm, "nodeLabels", "nodes", nodes,
        "operation", operation_json(p), "image", p->image, "imageGeneration", p->image_generation);
    if (p->error[0])
        json_object_set_new(j, "error", json_string(p->error));
    if (p->skip_gpu)
        json_object_set_new(j, "gpuProfile", json_pack("{s:s}", "driver", "None"));
    json_object_set_new(j, "enableWorkloadEgress", json_boolean(p->egress));
    json_object_set_new(j, "workloadEgressAllowedCidrs", tld_egress_allow_json(p->egress_allow));
    json_object_set(j, "policyRules", p->rules ? p->rules : json_null());
    return j;
}

static json_t *cluster_json(struct tld *t, const struct tld_cluster *c)
{
    char id[400], fqdn[200], mc[200];
    cluster_id(c, id, sizeof(id));
    char prefix[12];
    snprintf(prefix, sizeof(prefix), "%.10s", c->name);
    for (char *q = prefix; *q; q++)
        *q = (char)tolower((unsigned char)*q);
    snprintf(fqdn, sizeof(fqdn), "%s-%.16s-%.6s.hcp.%s.trustlaunch.local", prefix, c->group,
             c->token, c->location);
    node_resource_group(c, mc, sizeof(mc));
    json_t *pools = json_array();
    for (size_t i = 0; i < t->fleet->n_pools; i++)
        if (t->fleet->pools[i]->cluster == c)
            json_array_append_new(pools, pool_json(t, t->fleet->pools[i]));
    json_t *j = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s}, s:s, s:s, s:o, s:s, s:s}", "id", id,
        "name", c->name, "resourceGroup", c->group, "location", c->location, "type",
        "Microsoft.ContainerService/ManagedClusters", "kubernetesVersion", c->k8s_version,
        "currentKubernetesVersion", c->k8s_version, "provisioningState", tld_prov_name(c->prov),
        "powerState", "code", "Running", "fqdn", fqdn, "nodeResourceGroup", mc, "agentPoolProfiles",
        pools, "dnsPrefix", prefix, "sku", "Base");
    json_object_set_new(j, "identity",
                        c->managed_identity ? json_pack("{s:s}", "type", "SystemAssigned")
                                            : json_null());
    json_object_set_new(j, "linuxProfile",
                        c->ssh_key ? json_pack("{s:s, s:{s:[{s:s}]}}", "adminUsername", "azureuser",
                                               "ssh", "publicKeys", "keyData", c->ssh_key)
                                   : json_null());
    json_object_set_new(j, "addonProfiles",
                        c->virtual_node ? json_pack("{s:{s:b}}", "aciConnectorLinux", "enabled", 1)
                                        : json_object());
    if (c->error[0])
        json_object_set_new(j, "error", json_string(c->error));
    return j;
}

/* ---- the store ---- */

static void pool_key(const struct tld_pool *p, char *out, size_t size)
{
    snprintf(out, size, "%s/%s/%s", p->cluster->group, p->cluster->name, p->name);
}

int tld_pool_save(struct tld *t, struct tld_pool *p)
{
    char key[256];
    pool_key(p, key, sizeof(key));
    json_t *doc = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:b, s:b, s:b, s:b, "
        "s:i, s:s, s:s, s:s, s:i, s:i, s:i, s:s, s:s, s:I, s:i}",
        "group", p->cluster->group, "cluster", p->cluster->name, "name", p->name, "id8", p->id8,
        "vm_size", p->vm_size, "os_type", p->os_type, "os_sku", p->os_sku, "mode", p->mode,
        "k8s_version", p->k8s_version, "vm_set_type", p->vm_set_type, "os_disk_type",
        p->os_disk_type, "image", p->image, "count", (json_int_t)p->count, "secure_boot",
        p->secure_boot, "vtpm", p->vtpm, "fips", p->fips, "skip_gpu", p->skip_gpu,
        "image_generation", p->image_generation, "prov", tld_prov_name(p->prov), "error", p->error,
        "action", p->action, "op_done", p->op_done, "op_total", p->op_total, "op_retries",
        p->op_retries, "op_node", p->op_node, "op_phase", p->op_phase, "op_since",
        (json_int_t)p->op_since, "next_index", (int)p->next_index);
    if (!doc)
        return -ENOMEM;
    for (int i = 0; i < 2; i++)
        if (p->baseline[i])
            json_object_set_new(doc, i ? "baseline_sb_on" : "baseline_sb_off",
                                tld_baseline_json(p->baseline[i]));
    if (p->rules)
        json_object_set(doc, "rules", p->rules);
    json_object_set_new(doc, "egress", json_boolean(p->egress));
    json_object_set_new(doc, "egress_allow", json_string(p->egress_allow ? p->egress_allow : ""));
    int r = tld_store_resource_put(t, "pool", key, doc);
    json_decref(doc);
    return r;
}

int tld_cluster_save(struct tld *t, struct tld_cluster *c)
{
    char key[160];
    snprintf(key, sizeof(key), "%s/%s", c->group, c->name);
    json_t *doc =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?, s:b, s:b, s:s, s:s, s:I}", "group", c->group,
                  "name", c->name, "location", c->location, "k8s_version", c->k8s_version, "token",
                  c->token, "ssh_key", c->ssh_key, "managed_identity", c->managed_identity,
                  "virtual_node", c->virtual_node, "prov", tld_prov_name(c->prov), "error",
                  c->error, "created", (json_int_t)c->created);
    if (!doc)
        return -ENOMEM;
    int r = tld_store_resource_put(t, "cluster", key, doc);
    json_decref(doc);
    return r;
}

static int group_save(struct tld *t, const struct tld_group *g)
{
    json_t *doc = json_pack("{s:s, s:s, s:I}", "name", g->name, "location", g->location, "created",
                            (json_int_t)g->created);
    int r = doc ? tld_store_resource_put(t, "group", g->name, doc) : -ENOMEM;
    json_decref(doc);
    return r;
}

static void copy(char *dst, size_t size, const json_t *obj, const char *key)
{
    const char *v = json_string_value(json_object_get(obj, key));
    snprintf(dst, size, "%s", v ? v : "");
}

static void pool_free(struct tld_pool *p)
{
    if (p) {
        json_decref(p->rules);
        free(p->baseline[0]);
        free(p->baseline[1]);
        free(p);
    }
}

static void cluster_free(struct tld_cluster *c)
{
    if (c) {
        free(c->ssh_key);
        free(c);
    }
}

void tld_fleet_free(struct tld *t)
{
    struct tld_fleet *f = t->fleet;
    if (!f)
        return;
    for (size_t i = 0; i < f->n_groups; i++)
        free(f->groups[i]);
    for (size_t i = 0; i < f->n_clusters; i++)
        cluster_free(f->clusters[i]);
    for (size_t i = 0; i < f->n_pools; i++)
        pool_free(f->pools[i]);
    free(f->groups);
    free(f->clusters);
    free(f->pools);
    free(f);
    t->fleet = NULL;
}

static int add_group(struct tld_fleet *f, struct tld_group *g)
{
    if (grow(&f->groups, f->n_groups, sizeof(*f->groups)) < 0)
        return -ENOMEM;
    f->groups[f->n_groups++] = g;
    return 0;
}

static int add_cluster(struct tld_fleet *f, struct tld_cluster *c)
{
    if (grow(&f->clusters, f->n_clusters, sizeof(*f->clusters)) < 0)
        return -ENOMEM;
    f->clusters[f->n_clusters++] = c;
    return 0;
}

static int add_pool(struct tld *t, struct tld_pool *p)
{
    struct tld_fleet *f = t->fleet;
    if (grow(&f->pools, f->n_pools, sizeof(*f->pools)) < 0)
        return -ENOMEM;
    f->pools[f->n_pools++] = p;
    for (size_t i = 0; i < t->n_nodes; i++)
        if (!t->nodes[i]->pool && tld_pool_owns(p, t->nodes[i]->name))
            t->nodes[i]->pool = p;
    return 0;
}

void tld_fleet_remove_pool(struct tld *t, struct tld_pool *p)
{
    struct tld_fleet *f = t->fleet;
    char key[256];
    pool_key(p, key, sizeof(key));
    tld_store_resource_delete(t, "pool", key);
    for (size_t i = 0; i < t->n_nodes; i++)
        if (t->nodes[i]->pool == p)
            t->nodes[i]->pool = NULL;
    for (size_t i = 0; i < f->n_pools; i++)
        if (f->pools[i] == p) {
            f->pools[i] = f->pools[--f->n_pools];
            break;
        }
    tld_log("pool %s: removed", key);
    pool_free(p);
}

void tld_fleet_remove_cluster(struct tld *t, struct tld_cluster *c)
{
    struct tld_fleet *f = t->fleet;
    char key[160];
    snprintf(key, sizeof(key), "%s/%s", c->group, c->name);
    tld_store_resource_delete(t, "cluster", key);
    for (size_t i = 0; i < f->n_clusters; i++)
        if (f->clusters[i] == c) {
            f->clusters[i] = f->clusters[--f->n_clusters];
            break;
        }
    tld_log("cluster %s: removed", key);
    cluster_free(c);
}

int tld_fleet_load(struct tld *t)
{
    struct tld_fleet *f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    t->fleet = f;
    size_t i;
    json_t *d, *all = tld_store_resources(t, "group");
    json_array_foreach(all, i, d)
    {
        struct tld_group *g = calloc(1, sizeof(*g));
        if (!g || add_group(f, g) < 0) {
            free(g);
            json_decref(all);
            return -ENOMEM;
        }
        copy(g->name, sizeof(g->name), d, "name");
        copy(g->location, sizeof(g->location), d, "location");
        g->created = json_integer_value(json_object_get(d, "created"));
    }
    json_decref(all);
    all = tld_store_resources(t, "cluster");
    json_array_foreach(all, i, d)
    {
        struct tld_cluster *c = calloc(1, sizeof(*c));
        if (!c || add_cluster(f, c) < 0) {
            free(c);
            json_decref(all);
            return -ENOMEM;
        }
        copy(c->group, sizeof(c->group), d, "group");
        copy(c->name, sizeof(c->name), d, "name");
        copy(c->location, sizeof(c->location), d, "location");
        copy(c->k8s_version, sizeof(c->k8s_version), d, "k8s_version");
        copy(c->token, sizeof(c->token), d, "token");
        copy(c->error, sizeof(c->error), d, "error");
        const char *key = json_string_value(json_object_get(d, "ssh_key"));
        c->ssh_key = key ? strdup(key) : NULL;
        c->managed_identity = json_is_true(json_object_get(d, "managed_identity"));
        c->virtual_node = json_is_true(json_object_get(d, "virtual_node"));
        c->prov = prov_parse(json_string_value(json_object_get(d, "prov")));
        c->created = json_integer_value(json_object_get(d, "created"));
    }
    json_decref(all);
    all = tld_store_resources(t, "pool");
    json_array_foreach(all, i, d)
    {
        const char *group = json_string_value(json_object_get(d, "group"));
        const char *cname = json_string_value(json_object_get(d, "cluster"));
        struct tld_cluster *c = group && cname ? cluster_find(f, group, cname) : NULL;
        if (!c) {
            tld_log("store: a node pool of a cluster that is gone (%s/%s); skipped",
                    group ? group : "?", cname ? cname : "?");
            continue;
        }
        struct tld_pool *p = calloc(1, sizeof(*p));
        if (!p) {
            json_decref(all);
            return -ENOMEM;
        }
        p->cluster = c;
        copy(p->name, sizeof(p->name), d, "name");
        copy(p->id8, sizeof(p->id8), d, "id8");
        copy(p->vm_size, sizeof(p->vm_size), d, "vm_size");
        copy(p->os_type, sizeof(p->os_type), d, "os_type");
        copy(p->os_sku, sizeof(p->os_sku), d, "os_sku");
        copy(p->mode, sizeof(p->mode), d, "mode");
        copy(p->k8s_version, sizeof(p->k8s_version), d, "k8s_version");
        copy(p->vm_set_type, sizeof(p->vm_set_type), d, "vm_set_type");
        copy(p->os_disk_type, sizeof(p->os_disk_type), d, "os_disk_type");
        copy(p->error, sizeof(p->error), d, "error");
        copy(p->action, sizeof(p->action), d, "action");
        copy(p->op_node, sizeof(p->op_node), d, "op_node");
        copy(p->op_phase, sizeof(p->op_phase), d, "op_phase");
        p->image = tld_intern(json_string_value(json_object_get(d, "image")) ?: "");
        p->count = (long)json_integer_value(json_object_get(d, "count"));
        p->secure_boot = json_is_true(json_object_get(d, "secure_boot"));
        p->vtpm = json_is_true(json_object_get(d, "vtpm"));
        p->fips = json_is_true(json_object_get(d, "fips"));
        p->skip_gpu = json_is_true(json_object_get(d, "skip_gpu"));
        p->egress = json_is_true(json_object_get(d, "egress"));
        p->egress_allow = tld_intern(json_string_value(json_object_get(d, "egress_allow")));
        p->image_generation = (int)json_integer_value(json_object_get(d, "image_generation"));
        p->prov = prov_parse(json_string_value(json_object_get(d, "prov")));
        p->op_done = (int)json_integer_value(json_object_get(d, "op_done"));
        p->op_total = (int)json_integer_value(json_object_get(d, "op_total"));
        p->op_retries = (int)json_integer_value(json_object_get(d, "op_retries"));
        p->op_since = json_integer_value(json_object_get(d, "op_since"));
        p->next_index = (unsigned)json_integer_value(json_object_get(d, "next_index"));
        p->baseline[0] = tld_baseline_from_json(json_object_get(d, "baseline_sb_off"));
        p->baseline[1] = tld_baseline_from_json(json_object_get(d, "baseline_sb_on"));
        json_t *rules = json_object_get(d, "rules");
        p->rules = json_is_object(rules) ? json_incref(rules) : NULL;
        if (!p->image || add_pool(t, p) < 0) {
            pool_free(p);
            json_decref(all);
            return -ENOMEM;
        }
    }
    json_decref(all);
    return 0;
}

/* ---- labels and baselines ---- */

void tld_pool_node_labels(const struct tld_node *n, json_t *labels)
{
    const struct tld_pool *p = n->pool;
    if (!p)
        return;
    char mc[200];
    node_resource_group(p->cluster, mc, sizeof(mc));
    const struct tl_vm_size *size = tl_vm_size_find(p->vm_size);
    bool arm = size && size->arm64;
    char image[64];
    node_image_version(p, image, sizeof(image));
    json_object_set_new(labels, "agentpool", json_string(p->name));
    json_object_set_new(labels, "kubernetes.azure.com/agentpool", json_string(p->name));
    json_object_set_new(labels, "kubernetes.azure.com/cluster", json_string(mc));
    json_object_set_new(labels, "kubernetes.azure.com/mode", json_string(p->mode));
    json_object_set_new(labels, "kubernetes.azure.com/os-sku", json_string(p->os_sku));
    json_object_set_new(labels, "kubernetes.azure.com/node-image-version", json_string(image));
    /* the pool's configuration, as AKS labels it (not an attested fact:
     * trusted-launch and secure-boot are those) */
    if (p->secure_boot || p->vtpm)
        json_object_set_new(labels, "kubernetes.azure.com/security-type",
                            json_string("TrustedLaunch"));
    json_object_set_new(labels, "kubernetes.io/os",
                        json_string(strcasecmp(p->os_type, "Windows") == 0 ? "windows" : "linux"));
    json_object_set_new(labels, "kubernetes.io/arch", json_string(arm ? "arm64" : "amd64"));
    json_object_set_new(labels, "kubernetes.io/hostname", json_string(n->name));
    json_object_set_new(labels, "node.kubernetes.io/instance-type", json_string(p->vm_size));
    json_object_set_new(labels, "topology.kubernetes.io/region", json_string(p->cluster->location));
}

struct tld_baseline **tld_baseline_slot(struct tld_node *n)
{
    return n->pool ? &n->pool->baseline[n->spec.secure_boot ? 1 : 0] : &n->baseline;
}

/* ---- requests ---- */

/* The body's fields, each checked for its type; unknown ones refused. */
struct field {
    const char *key;
    int type; /* JSON_STRING, JSON_TRUE (a boolean), JSON_INTEGER, JSON_ARRAY */
};

static int check_fields(const json_t *body, const struct field *fields, char *msg, size_t msz)
{
    if (!json_is_object(body))
        return ERR(400, "the request body must be a JSON object");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)body, key, v)
    {
        const struct field *f = fields;
        while (f->key && strcmp(f->key, key) != 0)
            f++;
        if (!f->key)
            return ERR(400, "unknown field \"%s\"", key);
        bool ok = f->type == JSON_TRUE      ? json_is_boolean(v)
                  : f->type == JSON_STRING  ? json_is_string(v)
                  : f->type == JSON_INTEGER ? json_is_integer(v)
                                            : json_is_array(v);
        if (!ok)
            return ERR(400, "\"%s\" must be %s", key,
                       f->type == JSON_TRUE      ? "true or false"
                       : f->type == JSON_STRING  ? "a string"
                       : f->type == JSON_INTEGER ? "an integer"
                                                 : "an array");
    }
    return 0;
}

static const char *str(const json_t *body, const char *key, const char *def)
{
    const char *v = json_string_value(json_object_get(body, key));
    return v && *v ? v : def;
}

static bool flag(const json_t *body, const char *key)
{
    return json_is_true(json_object_get(body, key));
}

/* "Linux"/"linux" → "Linux": the canonical spelling of an enum value. */
static int canon(const char *v, const char *const *allowed, const char **out, const char *what,
                 char *msg, size_t msz)
{
    for (const char *const *a = allowed; *a; a++)
        if (strcasecmp(v, *a) == 0) {
            *out = *a;
            return 0;
        }
    char list[256] = "";
    for (const char *const *a = allowed; *a; a++)
        snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", a == allowed ? "" : ", ",
                 *a);
    return ERR(400, "%s '%s': not one of %s", what, v, list);
}

static const char *const os_types[] = {"Linux", "Windows", NULL};
static const char *const os_skus[] = {"Ubuntu",      "AzureLinux",  "CBLMariner", "Mariner",
                                      "Windows2019", "Windows2022", NULL};
static const char *const modes[] = {"System", "User", NULL};
static const char *const set_types[] = {"VirtualMachineScaleSets", "AvailabilitySet", NULL};
static const char *const disk_types[] = {"Managed", "Ephemeral", NULL};

static const char *image_dir(struct tld *t, int generation, const char *given, char *buf,
                             size_t size)
{
    if (given)
        return given;
    snprintf(buf, size, "%s/images/%s", t->home, generation == 1 ? "gen1" : "default");
    return buf;
}

/* What libtl's rules check of a pool. */
static void pool_spec(const struct tld_pool *p, struct tl_pool_spec *s)
{
    *s = (struct tl_pool_spec){
        .name = p->name,
        .os_type = p->os_type,
        .os_sku = p->os_sku,
        .vm_size = p->vm_size,
        .vm_set_type = p->vm_set_type,
        .os_disk_type = p->os_disk_type,
        .k8s_version = p->k8s_version,
        .count = p->count,
        .secure_boot = p->secure_boot,
        .vtpm = p->vtpm,
        .fips = p->fips,
        .skip_gpu_driver_install = p->skip_gpu,
        .virtual_node = p->cluster->virtual_node,
        .image_generation = p->image_generation,
    };
}

/* The pool spec of a create (PUT of a cluster or a pool), defaults
 * applied, rules checked, the image found. */
static int pool_from_request(struct tld *t, struct tld_cluster *c, const json_t *body,
                             const char *name, const char *default_mode, bool for_cluster,
                             struct tld_pool *p, char *msg, size_t msz)
{
    int r;
    const char *os_type = "Linux", *os_sku, *mode, *set_type, *disk;
    if ((r = canon(str(body, "osType", "Linux"), os_types, &os_type, "--os-type", msg, msz)))
        return r;
    const char *sku_default = strcmp(os_type, "Windows") == 0 ? "Windows2022" : "Ubuntu";
    if ((r = canon(str(body, "osSku", sku_default), os_skus, &os_sku, "--os-sku", msg, msz)) ||
        (r = canon(str(body, "mode", default_mode), modes, &mode, "--mode", msg, msz)) ||
        (r = canon(str(body, "vmSetType", "VirtualMachineScaleSets"), set_types, &set_type,
                   "--vm-set-type", msg, msz)) ||
        (r = canon(str(body, "nodeOsdiskType", "Managed"), disk_types, &disk, "--node-osdisk-type",
                   msg, msz)))
        return r;
    const char *size_name =
        str(body, for_cluster ? "nodeVmSize" : "vmSize", TL_AKS_DEFAULT_VM_SIZE);
    const struct tl_vm_size *size = tl_vm_size_find(size_name);
    json_t *count = json_object_get(body, for_cluster ? "nodeCount" : "count");
    *p = (struct tld_pool){.cluster = c};
    snprintf(p->name, sizeof(p->name), "%.15s", name);
    snprintf(p->vm_size, sizeof(p->vm_size), "%s", size ? size->name : size_name);
    snprintf(p->os_type, sizeof(p->os_type), "%s", os_type);
    snprintf(p->os_sku, sizeof(p->os_sku), "%s", os_sku);
    snprintf(p->mode, sizeof(p->mode), "%s", mode);
    snprintf(p->k8s_version, sizeof(p->k8s_version), "%s",
             str(body, "kubernetesVersion", c->k8s_version));
    snprintf(p->vm_set_type, sizeof(p->vm_set_type), "%s", set_type);
    snprintf(p->os_disk_type, sizeof(p->os_disk_type), "%s", disk);
    p->count = count ? (long)json_integer_value(count) : TL_AKS_DEFAULT_NODE_COUNT;
    p->secure_boot = flag(body, "enableSecureBoot");
    p->vtpm = flag(body, "enableVtpm");
    p->fips = flag(body, "enableFipsImage");
    p->skip_gpu = flag(body, "skipGpuDriverInstall");
    p->egress = flag(body, "enableWorkloadEgress"); /* off unless asked: egress.c */
    if ((r = tld_egress_allow_parse(json_object_get(body, "workloadEgressAllowedCidrs"),
                                    "workloadEgressAllowedCidrs", &p->egress_allow, msg, msz)))
        return r;
    p->image_generation = size ? tl_pool_image_generation(size, flag(body, "useGen1Image")) : 2;
    struct tl_pool_spec spec;
    pool_spec(p, &spec);
    spec.name = name;         /* as given: p->name may have been cut */
    spec.vm_size = size_name; /* as given: the rules name an unknown size */
    if (tl_pool_check(&spec, msg, msz) < 0)
        return 400;
    if ((r = tld_capacity_admit(t, NULL, p->vm_size, p->count, msg, msz)))
        return r;
    if (strcmp(p->os_type, "Windows") == 0)
        return ERR(400, "Windows node pools cannot run here: trustlaunch has a Linux node image "
                        "only (--os-type Linux)");
    /* the node image */
    char buf[PATH_MAX];
    const char *given = str(body, "nodeImage", NULL);
    const char *dir = image_dir(t, p->image_generation, given, buf, sizeof(buf));
    int gen = 0;
    if (access(dir, F_OK) < 0)
        return ERR(400, "no Gen%d node image at %s (build it: tl image build%s -o %s)",
                   p->image_generation, dir, p->image_generation == 1 ? " --gen1" : "", dir);
    char real_[PATH_MAX];
    if ((r = tld_hostpath_resolve(t, "node image", dir, real_, sizeof(real_), msg, msz)) ||
        (r = tld_image_generation(t, real_, &gen, msg, msz)))
        return r;
    if (gen != p->image_generation)
        return ERR(400, "node image %s is Gen%d; node pool '%s' needs a Gen%d image", dir, gen,
                   name, p->image_generation);
    char real[PATH_MAX];
    if ((r = tld_hostpath_resolve(t, "node image", dir, real, sizeof(real), msg, msz)))
        return r;
    if (!(p->image = tld_intern(real)))
        return ERR(500, "out of memory");
    uint32_t rnd;
    if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        rnd = (uint32_t)tld_now();
    snprintf(p->id8, sizeof(p->id8), "%08u", rnd % 100000000u);
    p->prov = p->count ? TLD_PROV_CREATING : TLD_PROV_SUCCEEDED;
    if (p->count) {
        snprintf(p->action, sizeof(p->action), "create");
        p->op_total = (int)p->count;
    }
    return 0;
}

/* "cluster 'x' not found in resource group 'g'; clusters here: a (g), b (h)" */
static int cluster_not_found(struct tld_fleet *f, const char *group, const char *name, char *msg,
                             size_t msz)
{
    int k = snprintf(msg, msz, "cluster '%s' not found in resource group '%s'", name, group);
    if (!f->n_clusters) {
        snprintf(msg + k, msz - (size_t)k, "; no clusters exist (tl aks create)");
        return 404;
    }
    k += snprintf(msg + k, msz - (size_t)k, "; clusters that exist:");
    for (size_t i = 0; i < f->n_clusters && (size_t)k < msz; i++)
        k += snprintf(msg + k, msz - (size_t)k, "%s %s (resource group %s)", i ? "," : "",
                      f->clusters[i]->name, f->clusters[i]->group);
    return 404;
}

static int group_not_found(struct tld_fleet *f, const char *group, char *msg, size_t msz)
{
    int k = snprintf(msg, msz,
                     "resource group '%s' not found (create it: tl group create --name %s "
                     "--location local)",
                     group, group);
    if (f->n_groups) {
        k += snprintf(msg + k, msz - (size_t)k, "; resource groups that exist:");
        for (size_t i = 0; i < f->n_groups && (size_t)k < msz; i++)
            k += snprintf(msg + k, msz - (size_t)k, "%s %s", i ? "," : "", f->groups[i]->name);
    }
    return 404;
}

static int pool_not_found(struct tld_fleet *f, const struct tld_cluster *c, const char *name,
                          char *msg, size_t msz)
{
    int k = snprintf(msg, msz, "node pool '%s' not found in cluster '%s'; its node pools:", name,
                     c->name);
    for (size_t i = 0; i < f->n_pools && (size_t)k < msz; i++)
        if (f->pools[i]->cluster == c)
            k += snprintf(msg + k, msz - (size_t)k, " %s", f->pools[i]->name);
    return 404;
}

static bool busy(const struct tld_pool *p)
{
    return p->prov == TLD_PROV_CREATING || p->prov == TLD_PROV_UPDATING ||
           p->prov == TLD_PROV_SCALING || p->prov == TLD_PROV_DELETING;
}

static int group_put(struct tld *t, const char *name, const json_t *body, json_t **answer,
                     char *msg, size_t msz)
{
    static const struct field fields[] = {{"location", JSON_STRING}, {0}};
    int r;
    if ((r = check_fields(body, fields, msg, msz)))
        return r;
    if (!group_name_ok(name))
        return ERR(400,
                   "resource group name '%s': 1-90 letters, digits, '-', '_', '.', '(' or ')', "
                   "not ending in '.'",
                   name);
    struct tld_group *g = group_find(t->fleet, name);
    const char *loc = str(body, "location", NULL);
    if (g && loc && strcasecmp(loc, g->location) != 0) /* ARM's answer */
        return ERR(409,
                   "Invalid resource group location '%s'. The Resource group already exists in "
                   "location '%s'.",
                   loc, g->location);
    if (g) {
        *answer = group_json(g);
        return 200;
    }
    g = calloc(1, sizeof(*g));
    if (!g)
        return ERR(500, "out of memory");
    snprintf(g->name, sizeof(g->name), "%s", name);
    snprintf(g->location, sizeof(g->location), "%s", str(body, "location", "local"));
    g->created = tld_now();
    if (group_save(t, g) < 0 || add_group(t->fleet, g) < 0) {
        free(g);
        return ERR(500, "cannot save resource group %s", name);
    }
    tld_log("resource group %s: created", name);
    *answer = group_json(g);
    return 201;
}

static int group_delete(struct tld *t, struct tld_group *g, char *msg, size_t msz)
{
    struct tld_fleet *f = t->fleet;
    char names[256] = "";
    int k = 0, held = 0;
    for (size_t i = 0; i < f->n_clusters; i++)
        if (strcasecmp(f->clusters[i]->group, g->name) == 0 && (size_t)k < sizeof(names))
            k += snprintf(names + k, sizeof(names) - (size_t)k, "%s%s", held++ ? "', '" : "",
                          f->clusters[i]->name);
    if (held)
        return ERR(409,
                   "resource group '%s' still holds %s '%s' (delete %s first: tl aks delete "
                   "--resource-group %s --name ...)",
                   g->name, held > 1 ? "clusters" : "cluster", names, held > 1 ? "them" : "it",
                   g->name);
    tld_store_resource_delete(t, "group", g->name);
    for (size_t i = 0; i < f->n_groups; i++)
        if (f->groups[i] == g) {
            f->groups[i] = f->groups[--f->n_groups];
            break;
        }
    tld_log("resource group %s: deleted", g->name);
    free(g);
    return 0;
}

static int cluster_put(struct tld *t, struct tld_group *g, const char *name, const json_t *body,
                       json_t **answer, char *msg, size_t msz)
{
    static const struct field fields[] = {
        {"location", JSON_STRING},
        {"kubernetesVersion", JSON_STRING},
        {"nodeCount", JSON_INTEGER},
        {"nodeVmSize", JSON_STRING},
        {"osSku", JSON_STRING},
        {"nodepoolName", JSON_STRING},
        {"enableSecureBoot", JSON_TRUE},
        {"enableVtpm", JSON_TRUE},
        {"enableManagedIdentity", JSON_TRUE},
        {"sshPublicKey", JSON_STRING},
        {"enableAddons", JSON_ARRAY},
        {"enableFipsImage", JSON_TRUE},
        {"vmSetType", JSON_STRING},
        {"nodeOsdiskType", JSON_STRING},
        {"skipGpuDriverInstall", JSON_TRUE},
        {"useGen1Image", JSON_TRUE},
        {"nodeImage", JSON_STRING},
        {"enableWorkloadEgress", JSON_TRUE},
        {"workloadEgressAllowedCidrs", JSON_ARRAY},
        {0},
    };
    int r;
    if ((r = check_fields(body, fields, msg, msz)))
        return r;
    if (!cluster_name_ok(name))
        return ERR(400,
                   "cluster name '%s': 1-63 letters, digits, '-' or '_', starting and ending "
                   "with a letter or digit",
                   name);
    struct tld_cluster *old = cluster_find(t->fleet, g->name, name);
    if (old)
        return ERR(409,
                   "cluster '%s' already exists in resource group '%s' (%s; tl aks show "
                   "--name %s --resource-group %s)",
                   old->name, g->name, tld_prov_name(old->prov), old->name, g->name);
    struct tld_cluster *c = calloc(1, sizeof(*c));
    if (!c)
        return ERR(500, "out of memory");
    snprintf(c->group, sizeof(c->group), "%s", g->name);
    snprintf(c->name, sizeof(c->name), "%s", name);
    snprintf(c->location, sizeof(c->location), "%s", str(body, "location", g->location));
    snprintf(c->k8s_version, sizeof(c->k8s_version), "%s",
             str(body, "kubernetesVersion", TL_AKS_DEFAULT_K8S_VERSION));
    c->managed_identity = flag(body, "enableManagedIdentity");
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(body, "enableAddons"), i, a)
    {
        const char *addon = json_string_value(a);
        if (!addon) {
            cluster_free(c);
            return ERR(400, "\"enableAddons\" must hold add-on names");
        }
        if (strcmp(addon, "virtual-node") == 0)
            c->virtual_node = true;
        else if (strcmp(addon, "monitoring") && strcmp(addon, "azure-policy") &&
                 strcmp(addon, "azure-keyvault-secrets-provider")) {
            cluster_free(c);
            return ERR(400,
                       "add-on '%s': not one of virtual-node, monitoring, azure-policy, "
                       "azure-keyvault-secrets-provider",
                       addon);
        }
    }
    int cmp;
    if (tl_k8s_version_cmp(c->k8s_version, "1.0.0", &cmp) < 0) {
        r = ERR(400, "--kubernetes-version '%s': not a version (MAJOR.MINOR.PATCH)",
                c->k8s_version);
        cluster_free(c);
        return r;
    }
    const char *key = str(body, "sshPublicKey", NULL);
    c->ssh_key = key ? strdup(key) : NULL;
    uint8_t tok[TLD_TOKEN_LEN];
    if (getrandom(tok, sizeof(tok), 0) != (ssize_t)sizeof(tok)) {
        cluster_free(c);
        return ERR(500, "getrandom failed");
    }
    tl_hex_encode(tok, sizeof(tok), c->token);
    c->created = tld_now();
    struct tld_pool *p = calloc(1, sizeof(*p));
    if (!p) {
        cluster_free(c);
        return ERR(500, "out of memory");
    }
    r = pool_from_request(t, c, body, str(body, "nodepoolName", TL_AKS_DEFAULT_POOL_NAME), "System",
                          true, p, msg, msz);
    if (r) {
        pool_free(p);
        cluster_free(c);
        return r;
    }
    c->prov = p->count ? TLD_PROV_CREATING : TLD_PROV_SUCCEEDED;
    if (add_cluster(t->fleet, c) < 0) {
        pool_free(p);
        cluster_free(c);
        return ERR(500, "out of memory");
    }
    if (add_pool(t, p) < 0) {
        pool_free(p);
        tld_fleet_remove_cluster(t, c);
        return ERR(500, "out of memory");
    }
    if (tld_store_begin(t) < 0 || tld_cluster_save(t, c) < 0 || tld_pool_save(t, p) < 0 ||
        tld_store_commit(t) < 0) {
        tld_store_rollback(t);
        tld_fleet_remove_pool(t, p);
        tld_fleet_remove_cluster(t, c);
        return ERR(500, "cannot save cluster %s", name);
    }
    tld_log("cluster %s/%s: created (pool %s: %ld x %s, secure boot %s, vTPM %s)", c->group,
            c->name, p->name, p->count, p->vm_size, p->secure_boot ? "on" : "off",
            p->vtpm ? "on" : "off");
    *answer = cluster_json(t, c);
    return 201;
}

static int pool_put(struct tld *t, struct tld_cluster *c, const char *name, const json_t *body,
                    json_t **answer, char *msg, size_t msz)
{
    static const struct field fields[] = {
        {"count", JSON_INTEGER},
        {"vmSize", JSON_STRING},
        {"osType", JSON_STRING},
        {"osSku", JSON_STRING},
        {"mode", JSON_STRING},
        {"kubernetesVersion", JSON_STRING},
        {"enableSecureBoot", JSON_TRUE},
        {"enableVtpm", JSON_TRUE},
        {"enableFipsImage", JSON_TRUE},
        {"vmSetType", JSON_STRING},
        {"nodeOsdiskType", JSON_STRING},
        {"skipGpuDriverInstall", JSON_TRUE},
        {"useGen1Image", JSON_TRUE},
        {"nodeImage", JSON_STRING},
        {"enableWorkloadEgress", JSON_TRUE},
        {"workloadEgressAllowedCidrs", JSON_ARRAY},
        {0},
    };
    int r;
    if ((r = check_fields(body, fields, msg, msz)))
        return r;
    if (c->prov == TLD_PROV_DELETING)
        return ERR(409, "cluster '%s' is being deleted", c->name);
    struct tld_pool *old = pool_find(t->fleet, c, name);
    if (old)
        return ERR(409,
                   "node pool '%s' already exists in cluster '%s' (%s; tl aks nodepool update "
                   "changes it)",
                   name, c->name, tld_prov_name(old->prov));
    struct tld_pool *p = calloc(1, sizeof(*p));
    if (!p)
        return ERR(500, "out of memory");
    if ((r = pool_from_request(t, c, body, name, "User", false, p, msg, msz))) {
        pool_free(p);
        return r;
    }
    if (add_pool(t, p) < 0) {
        pool_free(p);
        return ERR(500, "out of memory");
    }
    if (tld_pool_save(t, p) < 0) {
        tld_fleet_remove_pool(t, p);
        return ERR(500, "cannot save node pool %s", name);
    }
    tld_log("pool %s/%s/%s: created (%ld x %s, secure boot %s, vTPM %s)", c->group, c->name,
            p->name, p->count, p->vm_size, p->secure_boot ? "on" : "off", p->vtpm ? "on" : "off");
    *answer = pool_json(t, p);
    return 201;
}

/* Would the pool's image boot under the keys a node with Secure Boot gets
 * (OVMF's Microsoft keys)? tl image check runs the Secure Boot engine on
 * the image's ESP; its first line names the component that would fail. */
static int check_image_boots(struct tld *t, const struct tld_pool *p, char *msg, size_t msz)
{
    int fds[2];
    if (pipe(fds) < 0)
        return ERR(500, "pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return ERR(500, "fork: %s", strerror(errno));
    }
    char vars[PATH_MAX + 32];
    snprintf(vars, sizeof(vars), "%s/OVMF_VARS_4M.ms.fd", t->ovmf_dir);
    if (pid == 0) {
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        close(fds[0]);
        close(fds[1]);
        execl(t->tl_bin, "tl", "image", "check", p->image, "--vars", vars, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char out[4096];
    size_t len = 0;
    ssize_t k;
    while ((k = read(fds[0], out + len, sizeof(out) - 1 - len)) > 0)
        len += (size_t)k;
    close(fds[0]);
    out[len] = 0;
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 0;
    /* the verdict line names the component and why ("verdict: FAIL: grub:
     * the image's sha256 digest does not match its signature"); an error
     * of tl itself is its "tl: ..." line */
    const char *fail = "";
    char *line = out;
    for (char *nl; line && *line; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        if (strncmp(line, "verdict: FAIL: ", 15) == 0) {
            fail = line + 15;
            break;
        }
        if (!fail[0] && strncmp(line, "tl: ", 4) == 0)
            fail = line + 4;
    }
    return ERR(409,
               "update refused: with Secure Boot on, the nodes of node pool '%s' would not boot: "
               "%s (tl image check %s --vars %s)",
               p->name, fail[0] ? fail : "the image check failed", p->image, vars);
}

static int pool_patch(struct tld *t, struct tld_pool *p, const json_t *body, json_t **answer,
                      char *msg, size_t msz)
{
    static const struct field fields[] = {{"enableSecureBoot", JSON_TRUE},
                                          {"enableVtpm", JSON_TRUE},
                                          {"count", JSON_INTEGER},
                                          {"enableWorkloadEgress", JSON_TRUE},
                                          {"workloadEgressAllowedCidrs", JSON_ARRAY},
                                          {0}};
    int r;
    if ((r = check_fields(body, fields, msg, msz)))
        return r;
    if (busy(p))
        return ERR(409,
                   "node pool '%s' is %s (%s: node %d of %d); wait for it (tl aks nodepool "
                   "show)",
                   p->name, tld_prov_name(p->prov), p->action[0] ? p->action : "-", p->op_done + 1,
                   p->op_total);
    struct tld_pool want = *p;
    json_t *v;
    if ((v = json_object_get(body, "enableSecureBoot")))
        want.secure_boot = json_is_true(v);
    if ((v = json_object_get(body, "enableVtpm")))
        want.vtpm = json_is_true(v);
    if ((v = json_object_get(body, "count")))
        want.count = (long)json_integer_value(v);
    if ((v = json_object_get(body, "enableWorkloadEgress")))
        want.egress = json_is_true(v);
    if ((v = json_object_get(body, "workloadEgressAllowedCidrs")) &&
        (r = tld_egress_allow_parse(v, "workloadEgressAllowedCidrs", &want.egress_allow, msg, msz)))
        return r;
    struct tl_pool_spec from, to;
    pool_spec(p, &from);
    pool_spec(&want, &to);
    if (tl_pool_check_update(&from, &to, msg, msz) < 0)
        return 400;
    if ((r = tld_capacity_admit(t, p, p->vm_size, want.count, msg, msz)))
        return r;
    bool security = want.secure_boot != p->secure_boot || want.vtpm != p->vtpm ||
                    want.egress != p->egress || strcmp(want.egress_allow, p->egress_allow) != 0;
    if (security && want.secure_boot && (r = check_image_boots(t, &want, msg, msz)))
        return r;
    int drift = 0;
    if (security)
        for (size_t i = 0; i < t->n_nodes; i++)
            if (t->nodes[i]->pool == p)
                drift++;
    p->secure_boot = want.secure_boot;
    p->vtpm = want.vtpm;
    p->egress = want.egress;
    p->egress_allow = want.egress_allow;
    long was = p->count;
    p->count = want.count;
    p->error[0] = 0;
    p->op_done = 0, p->op_retries = 0, p->op_node[0] = 0, p->op_phase[0] = 0;
    if (security) {
        p->prov = TLD_PROV_UPDATING;
        snprintf(p->action, sizeof(p->action), "update");
        p->op_total = drift + (int)(p->count > was ? p->count - was : 0);
    } else if (p->count != was) {
        p->prov = TLD_PROV_SCALING;
        snprintf(p->action, sizeof(p->action), "scale");
        p->op_total = (int)(p->count > was ? p->count - was : was - p->count);
    } else if (p->prov == TLD_PROV_FAILED) {
        /* nothing changes: a failed pool is tried again (the reconciler
         * reimages what is not ready) */
        p->prov = TLD_PROV_UPDATING;
        snprintf(p->action, sizeof(p->action), "update");
        p->op_total = 0;
    } else {
        *answer = pool_json(t, p);
        return 200;
    }
    p->op_since = tld_now();
    if (tld_pool_save(t, p) < 0)
        return ERR(500, "cannot save node pool %s", p->name);
    tld_log("pool %s/%s/%s: update (secure boot %s, vTPM %s, count %ld): %d node(s) to reimage",
            p->cluster->group, p->cluster->name, p->name, p->secure_boot ? "on" : "off",
            p->vtpm ? "on" : "off", p->count, security ? drift : 0);
    *answer = pool_json(t, p);
    return 202;
}

static int pool_delete(struct tld *t, struct tld_pool *p, char *msg, size_t msz)
{
    struct tld_fleet *f = t->fleet;
    if (strcmp(p->mode, "System") == 0 && p->cluster->prov != TLD_PROV_DELETING) {
        int systems = 0;
        for (size_t i = 0; i < f->n_pools; i++)
            systems += f->pools[i]->cluster == p->cluster &&
                       strcmp(f->pools[i]->mode, "System") == 0 &&
                       f->pools[i]->prov != TLD_PROV_DELETING;
        if (systems <= 1)
            return ERR(409,
                       "node pool '%s' is the last System pool of cluster '%s': a cluster "
                       "needs one (delete the cluster instead)",
                       p->name, p->cluster->name);
    }
    p->prov = TLD_PROV_DELETING;
    snprintf(p->action, sizeof(p->action), "delete");
    p->op_done = 0;
    p->op_total = 0;
    for (size_t i = 0; i < t->n_nodes; i++)
        p->op_total += t->nodes[i]->pool == p;
    p->op_node[0] = 0;
    tld_pool_save(t, p);
    return 0;
}

/* GET / PUT .../agentPools/P/policy: the pool's explicit rules (a PUT
 * replaces them; {} clears them). They hold from the next attestation. */
static int pool_rules(struct tld *t, struct tld_pool *p, const char *method, const json_t *body,
                      json_t **answer, char *msg, size_t msz)
{
    if (strcmp(method, "PUT") == 0) {
        json_t *rules = NULL;
        int r = tld_policy_rules_parse(body, &rules, msg, msz);
        if (r)
            return r;
        json_decref(p->rules);
        p->rules = json_object_size(rules) ? rules : NULL;
        if (!p->rules)
            json_decref(rules);
        if (tld_pool_save(t, p) < 0)
            return ERR(500, "cannot save node pool %s", p->name);
        tld_log("pool %s/%s/%s: policy rules %s", p->cluster->group, p->cluster->name, p->name,
                p->rules ? "set" : "cleared");
    } else if (strcmp(method, "GET") != 0) {
        return ERR(405, "GET or PUT");
    }
    *answer = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o}", "resourceGroup", p->cluster->group,
                        "cluster", p->cluster->name, "pool", p->name, "rules",
                        p->rules ? json_incref(p->rules) : json_object(), "baselineSecureBootOff",
                        tld_baseline_json(p->baseline[0]), "baselineSecureBootOn",
                        tld_baseline_json(p->baseline[1]));
    return 200;
}

static json_t *credentials(struct tld *t, const struct tld_cluster *c)
{
    char server[512], user[200];
    snprintf(server, sizeof(server), "http://127.0.0.1:%d/v1/resourceGroups/%s/managedClusters/%s",
             t->port, c->group, c->name);
    snprintf(user, sizeof(user), "clusterUser_%s_%s", c->group, c->name);
    return json_pack("{s:s, s:s, s:s, s:s, s:s}", "cluster", c->name, "resourceGroup", c->group,
                     "server", server, "user", user, "token", c->token);
}

/* Splits "/a/b/c" into at most max segments (in buf); returns how many, or
 * -1 for an empty or overlong segment or too many. */
static int split(const char *url, char *buf, size_t size, const char **seg, int max)
{
    if (strlen(url) >= size)
        return -1;
    strcpy(buf, url);
    int n = 0;
    char *s = buf;
    while (*s == '/') {
        *s++ = 0;
        if (n == max || !*s || *s == '/')
            return -1;
        seg[n++] = s;
        s += strcspn(s, "/");
    }
    return *s ? -1 : n;
}

int tld_fleet_route(struct tld *t, const char *method, const char *url, const json_t *body,
                    json_t **answer, char *msg, size_t msz)
{
    struct tld_fleet *f = t->fleet;
    char buf[1024];
    const char *s[10];
    int n = split(url, buf, sizeof(buf), s, 10);
    bool get = strcmp(method, "GET") == 0, put = strcmp(method, "PUT") == 0,
         del = strcmp(method, "DELETE") == 0;
    if (n < 2)
        return ERR(404, "no such resource: %s", url);
    if (strcmp(s[1], "providers") == 0)
        return tld_feature_route(t, method, url, answer, msg, msz);
    if (n == 2 && strcmp(s[1], "managedClusters") == 0) {
        if (!get)
            return ERR(405, "GET");
        json_t *all = json_array();
        for (size_t i = 0; i < f->n_clusters; i++)
            json_array_append_new(all, cluster_json(t, f->clusters[i]));
        *answer = json_pack("{s:o}", "value", all);
        return 200;
    }
    if (strcmp(s[1], "resourceGroups") != 0)
        return ERR(404, "no such resource: %s", url);
    if (n == 2) {
        if (!get)
            return ERR(405, "GET");
        json_t *all = json_array();
        for (size_t i = 0; i < f->n_groups; i++)
            json_array_append_new(all, group_json(f->groups[i]));
        *answer = json_pack("{s:o}", "value", all);
        return 200;
    }
    if (n == 3 && put)
        return group_put(t, s[2], body, answer, msg, msz);
    struct tld_group *g = group_find(f, s[2]);
    if (!g)
        return group_not_found(f, s[2], msg, msz);
    if (n == 3) {
        if (get) {
            *answer = group_json(g);
            return 200;
        }
        if (del) {
            int r = group_delete(t, g, msg, msz);
            if (r)
                return r;
            *answer = json_object();
            return 200;
        }
        return ERR(405, "GET, PUT or DELETE");
    }
    if (strcmp(s[3], "managedClusters") != 0)
        return ERR(404, "no such resource: %s", url);
    if (n == 4) {
        if (!get)
            return ERR(405, "GET");
        json_t *all = json_array();
        for (size_t i = 0; i < f->n_clusters; i++)
            if (strcasecmp(f->clusters[i]->group, g->name) == 0)
                json_array_append_new(all, cluster_json(t, f->clusters[i]));
        *answer = json_pack("{s:o}", "value", all);
        return 200;
    }
    if (n == 5 && put)
        return cluster_put(t, g, s[4], body, answer, msg, msz);
    struct tld_cluster *c = cluster_find(f, g->name, s[4]);
    if (!c)
        return cluster_not_found(f, g->name, s[4], msg, msz);
    if (n == 5) {
        if (get) {
            *answer = cluster_json(t, c);
            return 200;
        }
        if (!del)
            return ERR(405, "GET, PUT or DELETE");
        c->prov = TLD_PROV_DELETING;
        tld_cluster_save(t, c);
        for (size_t i = 0; i < f->n_pools; i++)
            if (f->pools[i]->cluster == c)
                pool_delete(t, f->pools[i], msg, msz);
        tld_log("cluster %s/%s: deleting", c->group, c->name);
        *answer = cluster_json(t, c);
        return 202;
    }
    if (n == 6 && strcmp(s[5], "credentials") == 0) {
        if (strcmp(method, "POST") != 0)
            return ERR(405, "POST");
        *answer = credentials(t, c);
        return 200;
    }
    if (strcmp(s[5], "agentPools") != 0 || n > 8 || (n == 8 && strcmp(s[7], "policy") != 0))
        return ERR(404, "no such resource: %s", url);
    if (n == 6) {
        if (!get)
            return ERR(405, "GET");
        json_t *all = json_array();
        for (size_t i = 0; i < f->n_pools; i++)
            if (f->pools[i]->cluster == c)
                json_array_append_new(all, pool_json(t, f->pools[i]));
        *answer = json_pack("{s:o}", "value", all);
        return 200;
    }
    if (put && n == 7)
        return pool_put(t, c, s[6], body, answer, msg, msz);
    struct tld_pool *p = pool_find(f, c, s[6]);
    if (!p)
        return pool_not_found(f, c, s[6], msg, msz);
    if (n == 8)
        return pool_rules(t, p, method, body, answer, msg, msz);
    if (get) {
        *answer = pool_json(t, p);
        return 200;
    }
    if (strcmp(method, "PATCH") == 0) {
        if (c->prov == TLD_PROV_DELETING || p->prov == TLD_PROV_DELETING)
            return ERR(409, "node pool '%s' is being deleted", p->name);
        return pool_patch(t, p, body, answer, msg, msz);
    }
    if (del) {
        int r = pool_delete(t, p, msg, msz);
        if (r)
            return r;
        *answer = pool_json(t, p);
        return 202;
    }
    return ERR(405, "GET, PUT, PATCH or DELETE");
}
