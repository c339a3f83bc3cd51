/* The fleet: resource groups, managed clusters and node pools, AKS's
 * model, in memory (struct tld_fleet) and in the store (kind "group",
 * "cluster", "pool"): names, lookups, loading, saving, removing, a pool
 * node's labels. fleet_api.c serves it under /v1/resourceGroups
 * (docs/api.md, "Clusters and node pools"); fleet_request.c reads a
 * request's pool.
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

#include "fleet.h"
#include "tl/aks.h"
#include "tld.h"

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
bool tld_fleet_group_name_ok(const char *s)
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
bool tld_fleet_cluster_name_ok(const char *s)
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

struct tld_group *tld_fleet_group_find(struct tld_fleet *f, const char *name)
{
    for (size_t i = 0; i < f->n_groups; i++) /* ARM names are case-insensitive */
        if (strcasecmp(f->groups[i]->name, name) == 0)
            return f->groups[i];
    return NULL;
}

struct tld_cluster *tld_fleet_cluster_find(struct tld_fleet *f, const char *group, const char *name)
{
    for (size_t i = 0; i < f->n_clusters; i++)
        if (strcasecmp(f->clusters[i]->group, group) == 0 &&
            strcasecmp(f->clusters[i]->name, name) == 0)
            return f->clusters[i];
    return NULL;
}

struct tld_pool *tld_fleet_pool_find(struct tld_fleet *f, const struct tld_cluster *c,
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

/* AKS's node resource group: MC_GROUP_CLUSTER_LOCATION */
void tld_cluster_node_resource_group(const struct tld_cluster *c, char *out, size_t size)
{
    snprintf(out, size, "MC_%s_%s_%s", c->group, c->name, c->location);
}

/* The node image a pool runs, "TL" marking a trusted-launch image as in
 * AKS's AKSUbuntu-2204gen2TLcontainerd */
void tld_pool_node_image_version(const struct tld_pool *p, char *out, size_t size)
{
    snprintf(out, size, "trustlaunch-gen%d%s", p->image_generation,
             p->secure_boot || p->vtpm ? "TL" : "");
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
        "s:i, s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:s, s:s, s:I, s:i}",
        "group", p->cluster->group, "cluster", p->cluster->name, "name", p->name, "id8", p->id8,
        "vm_size", p->vm_size, "os_type", p->os_type, "os_sku", p->os_sku, "mode", p->mode,
        "k8s_version", p->k8s_version, "vm_set_type", p->vm_set_type, "os_disk_type",
        p->os_disk_type, "image", p->image, "count", (json_int_t)p->count, "secure_boot",
        p->secure_boot, "vtpm", p->vtpm, "fips", p->fips, "skip_gpu", p->skip_gpu,
        "image_generation", p->image_generation, "image_os", p->image_os, "prov",
        tld_prov_name(p->prov), "error", p->error, "action", p->action, "op_done", p->op_done,
        "op_total", p->op_total, "op_retries", p->op_retries, "op_node", p->op_node, "op_phase",
        p->op_phase, "op_since", (json_int_t)p->op_since, "next_index", (int)p->next_index);
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
    if (p->data_disk_gb) {
        json_object_set_new(doc, "data_disk_gb", json_integer(p->data_disk_gb));
        json_object_set_new(doc, "data_disk_key", json_string(p->data_disk_key));
    }
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

int tld_group_save(struct tld *t, const struct tld_group *g)
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

void tld_pool_free(struct tld_pool *p)
{
    if (p) {
        json_decref(p->rules);
        free(p->baseline[0]);
        free(p->baseline[1]);
        free(p);
    }
}

void tld_cluster_free(struct tld_cluster *c)
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
        tld_cluster_free(f->clusters[i]);
    for (size_t i = 0; i < f->n_pools; i++)
        tld_pool_free(f->pools[i]);
    free(f->groups);
    free(f->clusters);
    free(f->pools);
    free(f);
    t->fleet = NULL;
}

int tld_fleet_add_group(struct tld_fleet *f, struct tld_group *g)
{
    if (grow(&f->groups, f->n_groups, sizeof(*f->groups)) < 0)
        return -ENOMEM;
    f->groups[f->n_groups++] = g;
    return 0;
}

int tld_fleet_add_cluster(struct tld_fleet *f, struct tld_cluster *c)
{
    if (grow(&f->clusters, f->n_clusters, sizeof(*f->clusters)) < 0)
        return -ENOMEM;
    f->clusters[f->n_clusters++] = c;
    return 0;
}

int tld_fleet_add_pool(struct tld *t, struct tld_pool *p)
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
    tld_pool_free(p);
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
    tld_cluster_free(c);
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
        if (!g || tld_fleet_add_group(f, g) < 0) {
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
        if (!c || tld_fleet_add_cluster(f, c) < 0) {
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
        struct tld_cluster *c = group && cname ? tld_fleet_cluster_find(f, group, cname) : NULL;
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
        p->image = tld_intern(t, json_string_value(json_object_get(d, "image")) ?: "");
        p->count = (long)json_integer_value(json_object_get(d, "count"));
        p->secure_boot = json_is_true(json_object_get(d, "secure_boot"));
        p->vtpm = json_is_true(json_object_get(d, "vtpm"));
        p->fips = json_is_true(json_object_get(d, "fips"));
        p->skip_gpu = json_is_true(json_object_get(d, "skip_gpu"));
        p->egress = json_is_true(json_object_get(d, "egress"));
        p->egress_allow = tld_intern(t, json_string_value(json_object_get(d, "egress_allow")));
        json_int_t gb = json_integer_value(json_object_get(d, "data_disk_gb"));
        p->data_disk_gb = gb > 0 && gb <= TLD_DATADISK_MAX_GB ? (unsigned)gb : 0;
        p->data_disk_key = tld_intern(t, json_string_value(json_object_get(d, "data_disk_key")));
        p->image_generation = (int)json_integer_value(json_object_get(d, "image_generation"));
        copy(p->image_os, sizeof(p->image_os), d, "image_os");
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
        if (!p->image || tld_fleet_add_pool(t, p) < 0) {
            tld_pool_free(p);
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
    tld_cluster_node_resource_group(p->cluster, mc, sizeof(mc));
    const struct tl_vm_size *size = tl_vm_size_find(p->vm_size);
    bool arm = size && size->arm64;
    char image[64];
    tld_pool_node_image_version(p, image, sizeof(image));
    json_object_set_new(labels, "agentpool", json_string(p->name));
    json_object_set_new(labels, "kubernetes.azure.com/agentpool", json_string(p->name));
    json_object_set_new(labels, "kubernetes.azure.com/cluster", json_string(mc));
    json_object_set_new(labels, "kubernetes.azure.com/mode", json_string(p->mode));
    /* the OS the nodes run, as their image's recipe records it (manifest.json
     * "os"): AKS's values name its own images (Ubuntu, AzureLinux); ours
     * boot Debian's, and the label says so, whatever --os-sku asked for (the
     * pool's osSku keeps the request). An image built before the recipe
     * recorded it: no label rather than a guess. */
    char os_sku[48];
    snprintf(os_sku, sizeof(os_sku), "%.*s", (int)strcspn(p->image_os, " "), p->image_os);
    if (os_sku[0])
        json_object_set_new(labels, "kubernetes.azure.com/os-sku", json_string(os_sku));
    if (strchr(p->image_os, ' '))
        json_object_set_new(labels, "kubernetes.azure.com/os-version",
                            json_string(strchr(p->image_os, ' ') + 1));
    json_object_set_new(labels, "kubernetes.azure.com/node-image-version", json_string(image));
    /* the pool's configuration, as AKS labels it (not an attested fact:
     * trusted-launch and secure-boot are those): "ConfidentialVM" for a
     * pool of a confidential size (Azure's THIM doc selects CVM nodes with
     * nodeSelector kubernetes.azure.com/security-type: ConfidentialVM),
     * "TrustedLaunch" for trusted launch (AKS's Trusted Launch doc) */
    if (size && size->tee != TL_TEE_NONE)
        json_object_set_new(labels, "kubernetes.azure.com/security-type",
                            json_string("ConfidentialVM"));
    else if (p->secure_boot || p->vtpm)
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

void tld_fleet_remove_group(struct tld *t, struct tld_group *g)
{
    struct tld_fleet *f = t->fleet;
    tld_store_resource_delete(t, "group", g->name);
    for (size_t i = 0; i < f->n_groups; i++)
        if (f->groups[i] == g) {
            f->groups[i] = f->groups[--f->n_groups];
            break;
        }
    tld_log("resource group %s: deleted", g->name);
    free(g);
}
