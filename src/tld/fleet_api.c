/* The fleet's HTTP API, ARM-style (docs/api.md, "Clusters and node
 * pools"): tld_fleet_route splits the path and dispatches; the handlers
 * check a request, change the model (fleet.c) and answer in az's shapes.
 * Creating or updating a pool only records the wish: the reconciler
 * (reconcile.c) then creates, reimages and deletes the nodes. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fleet.h"
#include "tl/aks.h"
#include "tl/base64.h"
#include "tl/util.h"
#include "tld.h"
#include "tlhost/image.h"

#define SUBSCRIPTION "/subscriptions/local"

/* ---- JSON (az's shapes) ---- */

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
    tld_pool_node_image_version(p, image_version, sizeof(image_version));
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
    /* ours, beside image and imageGeneration: the OS the image's recipe
     * records (its nodes' os-sku label), which osSku, the request, is not */
    json_object_set_new(j, "imageOs", p->image_os[0] ? json_string(p->image_os) : json_null());
    if (p->error[0])
        json_object_set_new(j, "error", json_string(p->error));
    if (p->skip_gpu)
        json_object_set_new(j, "gpuProfile", json_pack("{s:s}", "driver", "None"));
    const struct tl_vm_size *size = tl_vm_size_find(p->vm_size);
    json_object_set_new(j, "tee", json_string(tl_tee_name(size ? size->tee : TL_TEE_NONE)));
    json_object_set_new(j, "enableWorkloadEgress", json_boolean(p->egress));
    json_object_set_new(j, "workloadEgressAllowedCidrs", tld_egress_allow_json(p->egress_allow));
    if (p->data_disk_gb) {
        json_object_set_new(j, "dataDiskSizeGB", json_integer(p->data_disk_gb));
        json_object_set_new(j, "dataDiskEncryptionKey",
                            p->data_disk_key && p->data_disk_key[0] ? json_string(p->data_disk_key)
                                                                    : json_null());
    }
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
    tld_cluster_node_resource_group(c, mc, sizeof(mc));
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

/* A domain function's -errno and message (fleet_request.c, egress.c) as
 * this file's HTTP status and msg. */
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
    static const struct tld_field fields[] = {{"location", JSON_STRING}, {0}};
    int r;
    struct tl_error e = {0};
    if ((r = tld_fleet_check_fields(body, fields, &e)))
        return tld_http_err(r, &e, msg, msz);
    if (!tld_fleet_group_name_ok(name))
        return ERR(400,
                   "resource group name '%s': 1-90 letters, digits, '-', '_', '.', '(' or ')', "
                   "not ending in '.'",
                   name);
    struct tld_group *g = tld_fleet_group_find(t->fleet, name);
    const char *loc = tld_fleet_str(body, "location", NULL);
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
    snprintf(g->location, sizeof(g->location), "%s", tld_fleet_str(body, "location", "local"));
    g->created = tld_now();
    if (tld_group_save(t, g) < 0 || tld_fleet_add_group(t->fleet, g) < 0) {
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
    held = tld_vmres_in_group(t, g->name, names, sizeof(names));
    if (held)
        return ERR(409,
                   "resource group '%s' still holds %s '%s' (delete %s first: tl vm delete "
                   "--resource-group %s --name ...)",
                   g->name, held > 1 ? "VMs" : "VM", names, held > 1 ? "them" : "it", g->name);
    tld_fleet_remove_group(t, g);
    return 0;
}

static int cluster_put(struct tld *t, struct tld_group *g, const char *name, const json_t *body,
                       json_t **answer, char *msg, size_t msz)
{
    static const struct tld_field fields[] = {
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
        {"dataDiskSizeGB", JSON_INTEGER},
        {"dataDiskEncryptionKey", JSON_STRING},
        {0},
    };
    int r;
    struct tl_error e = {0};
    if ((r = tld_fleet_check_fields(body, fields, &e)))
        return tld_http_err(r, &e, msg, msz);
    if (!tld_fleet_cluster_name_ok(name))
        return ERR(400,
                   "cluster name '%s': 1-63 letters, digits, '-' or '_', starting and ending "
                   "with a letter or digit",
                   name);
    struct tld_cluster *old = tld_fleet_cluster_find(t->fleet, g->name, name);
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
    snprintf(c->location, sizeof(c->location), "%s", tld_fleet_str(body, "location", g->location));
    snprintf(c->k8s_version, sizeof(c->k8s_version), "%s",
             tld_fleet_str(body, "kubernetesVersion", TL_AKS_DEFAULT_K8S_VERSION));
    c->managed_identity = tld_fleet_flag(body, "enableManagedIdentity");
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(body, "enableAddons"), i, a)
    {
        const char *addon = json_string_value(a);
        if (!addon) {
            tld_cluster_free(c);
            return ERR(400, "\"enableAddons\" must hold add-on names");
        }
        if (strcmp(addon, "virtual-node") == 0)
            c->virtual_node = true;
        else if (strcmp(addon, "monitoring") && strcmp(addon, "azure-policy") &&
                 strcmp(addon, "azure-keyvault-secrets-provider")) {
            tld_cluster_free(c);
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
        tld_cluster_free(c);
        return r;
    }
    const char *key = tld_fleet_str(body, "sshPublicKey", NULL);
    c->ssh_key = key ? strdup(key) : NULL;
    uint8_t tok[TLD_TOKEN_LEN];
    if (getrandom(tok, sizeof(tok), 0) != (ssize_t)sizeof(tok)) {
        tld_cluster_free(c);
        return ERR(500, "getrandom failed");
    }
    tl_hex_encode(tok, sizeof(tok), c->token);
    c->created = tld_now();
    struct tld_pool *p = calloc(1, sizeof(*p));
    if (!p) {
        tld_cluster_free(c);
        return ERR(500, "out of memory");
    }
    r = tld_pool_from_request(t, c, body,
                              tld_fleet_str(body, "nodepoolName", TL_AKS_DEFAULT_POOL_NAME),
                              "System", true, p, &e);
    if (r) {
        tld_pool_free(p);
        tld_cluster_free(c);
        return tld_http_err(r, &e, msg, msz);
    }
    c->prov = p->count ? TLD_PROV_CREATING : TLD_PROV_SUCCEEDED;
    if (tld_fleet_add_cluster(t->fleet, c) < 0) {
        tld_pool_free(p);
        tld_cluster_free(c);
        return ERR(500, "out of memory");
    }
    if (tld_fleet_add_pool(t, p) < 0) {
        tld_pool_free(p);
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
    static const struct tld_field fields[] = {
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
        {"dataDiskSizeGB", JSON_INTEGER},
        {"dataDiskEncryptionKey", JSON_STRING},
        {0},
    };
    int r;
    struct tl_error e = {0};
    if ((r = tld_fleet_check_fields(body, fields, &e)))
        return tld_http_err(r, &e, msg, msz);
    if (c->prov == TLD_PROV_DELETING)
        return ERR(409, "cluster '%s' is being deleted", c->name);
    struct tld_pool *old = tld_fleet_pool_find(t->fleet, c, name);
    if (old)
        return ERR(409,
                   "node pool '%s' already exists in cluster '%s' (%s; tl aks nodepool update "
                   "changes it)",
                   name, c->name, tld_prov_name(old->prov));
    struct tld_pool *p = calloc(1, sizeof(*p));
    if (!p)
        return ERR(500, "out of memory");
    if ((r = tld_pool_from_request(t, c, body, name, "User", false, p, &e))) {
        tld_pool_free(p);
        return tld_http_err(r, &e, msg, msz);
    }
    if (tld_fleet_add_pool(t, p) < 0) {
        tld_pool_free(p);
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
 * (OVMF's Microsoft keys)? The host library reads the image's ESP and
 * libtl's Secure Boot engine decides (tlhost/image.h), as `tl image check`
 * does; the verdict names the component that would fail and why. */
static int image_boots(struct tld *t, const char *image, const char *pool, char *msg, size_t msz)
{
    char vars[PATH_MAX + 32];
    snprintf(vars, sizeof(vars), "%s/OVMF_VARS_4M.ms.fd", t->ovmf_dir);
    struct tl_image_verdict *v = calloc(1, sizeof(*v));
    if (!v)
        return ERR(500, "out of memory");
    struct tl_error err = {0};
    int r = tlh_image_check(image, NULL, vars, time(NULL), v, &err);
    if (r == 0 && v->failed < 0) {
        free(v);
        return 0;
    }
    /* "grub: the image's sha256 digest does not match its signature", or
     * why the image could not be checked */
    r = ERR(409,
            "update refused: with Secure Boot on, the nodes of node pool '%s' would not boot: "
            "%s (tl image check %s --vars %s)",
            pool, r < 0 ? err.message : v->text, image, vars);
    free(v);
    return r;
}

void tld_fleet_image_check(struct tld *t, struct tld_image_check *ic)
{
    ic->status = image_boots(t, ic->image, ic->pool, ic->msg, sizeof(ic->msg));
    ic->done = true;
}

/* The image check of an update: ic's when done for this image (run by the
 * caller without the lock), else asked for; inline without ic. */
static int check_image_boots(struct tld *t, const struct tld_pool *p, struct tld_image_check *ic,
                             char *msg, size_t msz)
{
    if (!ic)
        return image_boots(t, p->image, p->name, msg, msz);
    if (!ic->done || strcmp(ic->image, p->image) != 0 || strcmp(ic->pool, p->name) != 0) {
        snprintf(ic->image, sizeof(ic->image), "%s", p->image);
        snprintf(ic->pool, sizeof(ic->pool), "%s", p->name);
        ic->done = false;
        return TLD_FLEET_CHECK_IMAGE;
    }
    return ic->status ? ERR(ic->status, "%s", ic->msg) : 0;
}

static int pool_patch(struct tld *t, struct tld_pool *p, const json_t *body,
                      struct tld_image_check *ic, json_t **answer, char *msg, size_t msz)
{
    static const struct tld_field fields[] = {{"enableSecureBoot", JSON_TRUE},
                                              {"enableVtpm", JSON_TRUE},
                                              {"count", JSON_INTEGER},
                                              {"enableWorkloadEgress", JSON_TRUE},
                                              {"workloadEgressAllowedCidrs", JSON_ARRAY},
                                              {"vmSize", JSON_STRING},
                                              {0}};
    int r;
    struct tl_error e = {0};
    if ((r = tld_fleet_check_fields(body, fields, &e)))
        return tld_http_err(r, &e, msg, msz);
    const char *size = tld_fleet_str(body, "vmSize", NULL);
    if (size && tl_pool_check_resize(p->name, p->vm_size, size, msg, msz) < 0)
        return 409; /* the FAQ: no conversion to or from confidential; no resize here */
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
        (r = tld_egress_allow_parse(t, v, "workloadEgressAllowedCidrs", &want.egress_allow, &e)))
        return tld_http_err(r, &e, msg, msz);
    struct tl_pool_spec from, to;
    tld_pool_spec(p, &from);
    tld_pool_spec(&want, &to);
    if (tl_pool_check_update(&from, &to, msg, msz) < 0)
        return 400;
    if (tld_capacity_admit(t, p, p->vm_size, want.count, msg, msz) < 0)
        return 409; /* QuotaExceeded, AllocationFailed */
    bool security = want.secure_boot != p->secure_boot || want.vtpm != p->vtpm ||
                    want.egress != p->egress || strcmp(want.egress_allow, p->egress_allow) != 0;
    if (security && want.secure_boot && (r = check_image_boots(t, &want, ic, msg, msz)))
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

/* A kubeconfig's parts: the cluster's view of the Kubernetes API
 * (kube_api.c), its CA and the cluster's token. */
static json_t *credentials(struct tld *t, const struct tld_cluster *c)
{
    char server[512], user[200];
    snprintf(server, sizeof(server), "https://127.0.0.1:%d/clusters/%s/%s", t->kube.port, c->group,
             c->name);
    snprintf(user, sizeof(user), "clusterUser_%s_%s", c->group, c->name);
    char *ca = NULL;
    size_t ca_len;
    if (!t->kube.ca_pem || tl_base64_encode((const uint8_t *)t->kube.ca_pem, strlen(t->kube.ca_pem),
                                            0, &ca, &ca_len) < 0)
        return NULL;
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "cluster", c->name, "resourceGroup",
                          c->group, "server", server, "certificateAuthorityData", ca, "user", user,
                          "token", c->token);
    free(ca);
    return j;
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
                    struct tld_image_check *ic, json_t **answer, char *msg, size_t msz)
{
    struct tld_fleet *f = t->fleet;
    char buf[1024];
    const char *s[10];
    int n = split(url, buf, sizeof(buf), s, 10);
    bool get = strcmp(method, "GET") == 0, put = strcmp(method, "PUT") == 0,
         del = strcmp(method, "DELETE") == 0;
    if (n < 2)
        return ERR(404, "no such resource: %s", url);
    if (strcmp(s[1], "providers") == 0) {
        struct tl_error e = {0};
        int r = tld_feature_route(t, method, url, answer, &e);
        return r < 0 ? tld_http_err(r, &e, msg, msz) : 200;
    }
    if (n == 2 && strcmp(s[1], "managedClusters") == 0) {
        if (!get)
            return ERR(405, "GET");
        json_t *all = json_array();
        for (size_t i = 0; i < f->n_clusters; i++)
            json_array_append_new(all, cluster_json(t, f->clusters[i]));
        *answer = json_pack("{s:o}", "value", all);
        return 200;
    }
    if (n == 2 && strcmp(s[1], "virtualMachines") == 0) {
        if (!get)
            return ERR(405, "GET");
        return tld_vmres_list_all(t, answer);
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
    struct tld_group *g = tld_fleet_group_find(f, s[2]);
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
    if (strcmp(s[3], "virtualMachines") == 0)
        return tld_vmres_route(t, g, method, s + 4, n - 4, body, answer, msg, msz);
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
    struct tld_cluster *c = tld_fleet_cluster_find(f, g->name, s[4]);
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
        return *answer ? 200 : ERR(500, "out of memory");
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
    struct tld_pool *p = tld_fleet_pool_find(f, c, s[6]);
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
        return pool_patch(t, p, body, ic, answer, msg, msz);
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
