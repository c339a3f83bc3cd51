/* A fleet request's body: its fields checked against the route's list
 * (types; unknown ones refused), enum values in their canonical spelling,
 * and the pool a cluster or pool PUT asks for, with AKS's defaults, libtl's
 * rules (include/tl/aks.h), the capacity's admission and its node image
 * found. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#include "fleet.h"
#include "tl/aks.h"
#include "tld.h"

int tld_fleet_check_fields(const json_t *body, const struct tld_field *fields, struct tl_error *err)
{
    if (!json_is_object(body))
        return tl_error_set_nopos(err, -EINVAL, "the request body must be a JSON object");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)body, key, v)
    {
        const struct tld_field *f = fields;
        while (f->key && strcmp(f->key, key) != 0)
            f++;
        if (!f->key)
            return tl_error_set_nopos(err, -EINVAL, "unknown field \"%s\"", key);
        bool ok = f->type == JSON_TRUE      ? json_is_boolean(v)
                  : f->type == JSON_STRING  ? json_is_string(v)
                  : f->type == JSON_INTEGER ? json_is_integer(v)
                  : f->type == JSON_OBJECT  ? json_is_object(v)
                                            : json_is_array(v);
        if (!ok)
            return tl_error_set_nopos(err, -EINVAL, "\"%s\" must be %s", key,
                                      f->type == JSON_TRUE      ? "true or false"
                                      : f->type == JSON_STRING  ? "a string"
                                      : f->type == JSON_INTEGER ? "an integer"
                                      : f->type == JSON_OBJECT  ? "an object"
                                                                : "an array");
    }
    return 0;
}

const char *tld_fleet_str(const json_t *body, const char *key, const char *def)
{
    const char *v = json_string_value(json_object_get(body, key));
    return v && *v ? v : def;
}

bool tld_fleet_flag(const json_t *body, const char *key)
{
    return json_is_true(json_object_get(body, key));
}

/* "Linux"/"linux" → "Linux": the canonical spelling of an enum value. */
static int canon(const char *v, const char *const *allowed, const char **out, const char *what,
                 struct tl_error *err)
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
    return tl_error_set_nopos(err, -EINVAL, "%s '%s': not one of %s", what, v, list);
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
void tld_pool_spec(const struct tld_pool *p, struct tl_pool_spec *s)
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
        .location = p->cluster->location,
    };
}

/* The pool spec of a create (PUT of a cluster or a pool), defaults
 * applied, rules checked, the image found. */
int tld_pool_from_request(struct tld *t, struct tld_cluster *c, const json_t *body,
                          const char *name, const char *default_mode, bool for_cluster,
                          struct tld_pool *p, struct tl_error *err)
{
    int r;
    const char *os_type = "Linux", *os_sku, *mode, *set_type, *disk;
    if ((r = canon(tld_fleet_str(body, "osType", "Linux"), os_types, &os_type, "--os-type", err)))
        return r;
    const char *sku_default = strcmp(os_type, "Windows") == 0 ? "Windows2022" : "Ubuntu";
    if ((r = canon(tld_fleet_str(body, "osSku", sku_default), os_skus, &os_sku, "--os-sku", err)) ||
        (r = canon(tld_fleet_str(body, "mode", default_mode), modes, &mode, "--mode", err)) ||
        (r = canon(tld_fleet_str(body, "vmSetType", "VirtualMachineScaleSets"), set_types,
                   &set_type, "--vm-set-type", err)) ||
        (r = canon(tld_fleet_str(body, "nodeOsdiskType", "Managed"), disk_types, &disk,
                   "--node-osdisk-type", err)))
        return r;
    const char *size_name =
        tld_fleet_str(body, for_cluster ? "nodeVmSize" : "vmSize", TL_AKS_DEFAULT_VM_SIZE);
    const struct tl_vm_size *size = tl_vm_size_find(size_name);
    json_t *count = json_object_get(body, for_cluster ? "nodeCount" : "count");
    *p = (struct tld_pool){.cluster = c};
    snprintf(p->name, sizeof(p->name), "%.15s", name);
    snprintf(p->vm_size, sizeof(p->vm_size), "%s", size ? size->name : size_name);
    snprintf(p->os_type, sizeof(p->os_type), "%s", os_type);
    snprintf(p->os_sku, sizeof(p->os_sku), "%s", os_sku);
    snprintf(p->mode, sizeof(p->mode), "%s", mode);
    snprintf(p->k8s_version, sizeof(p->k8s_version), "%s",
             tld_fleet_str(body, "kubernetesVersion", c->k8s_version));
    snprintf(p->vm_set_type, sizeof(p->vm_set_type), "%s", set_type);
    snprintf(p->os_disk_type, sizeof(p->os_disk_type), "%s", disk);
    p->count = count ? (long)json_integer_value(count) : TL_AKS_DEFAULT_NODE_COUNT;
    p->secure_boot = tld_fleet_flag(body, "enableSecureBoot");
    p->vtpm = tld_fleet_flag(body, "enableVtpm");
    p->fips = tld_fleet_flag(body, "enableFipsImage");
    p->skip_gpu = tld_fleet_flag(body, "skipGpuDriverInstall");
    p->egress = tld_fleet_flag(body, "enableWorkloadEgress"); /* off unless asked: egress.c */
    int er = tld_egress_allow_parse(t, json_object_get(body, "workloadEgressAllowedCidrs"),
                                    "workloadEgressAllowedCidrs", &p->egress_allow, err);
    if (er)
        return er;
    /* the nodes' data disk, checked as a node create checks it */
    struct tld_node_spec ds = {.vtpm = tld_pool_node_vtpm(p)};
    if ((er = tld_datadisk_parse(t, body, "dataDiskSizeGB", "dataDiskEncryptionKey", &ds, err)) ||
        (er = tld_datadisk_check_key(t, &ds, err)))
        return er;
    p->data_disk_gb = ds.data_disk_gb;
    p->data_disk_key = ds.data_disk_key;
    p->image_generation =
        size ? tl_pool_image_generation(size, tld_fleet_flag(body, "useGen1Image")) : 2;
    struct tl_pool_spec spec;
    tld_pool_spec(p, &spec);
    spec.name = name;         /* as given: p->name may have been cut */
    spec.vm_size = size_name; /* as given: the rules name an unknown size */
    if (tl_pool_check(&spec, err->message, sizeof(err->message)) < 0)
        return -EINVAL;
    if ((r = tld_capacity_admit(t, NULL, p->vm_size, p->count, err->message,
                                sizeof(err->message))) < 0)
        return r; /* QuotaExceeded, AllocationFailed: 409 */
    if (strcmp(p->os_type, "Windows") == 0)
        return tl_error_set_nopos(
            err, -EINVAL,
            "Windows node pools cannot run here: trustlaunch has a Linux node image "
            "only (--os-type Linux)");
    /* the node image */
    char buf[PATH_MAX];
    const char *given = tld_fleet_str(body, "nodeImage", NULL);
    const char *dir = image_dir(t, p->image_generation, given, buf, sizeof(buf));
    int gen = 0;
    if (access(dir, F_OK) < 0)
        return tl_error_set_nopos(
            err, -EINVAL, "no Gen%d node image at %s (build it: tl image build%s -o %s)",
            p->image_generation, dir, p->image_generation == 1 ? " --gen1" : "", dir);
    char real_[PATH_MAX];
    if ((r = tld_hostpath_resolve(t, "node image", dir, real_, sizeof(real_), err)) ||
        (r = tld_image_generation(t, real_, &gen, p->image_os, sizeof(p->image_os), err)))
        return r;
    if (gen != p->image_generation)
        return tl_error_set_nopos(err, -EINVAL,
                                  "node image %s is Gen%d; node pool '%s' needs a Gen%d image", dir,
                                  gen, name, p->image_generation);
    char real[PATH_MAX];
    if ((r = tld_hostpath_resolve(t, "node image", dir, real, sizeof(real), err)))
        return r;
    if (!(p->image = tld_intern(t, real)))
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
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
