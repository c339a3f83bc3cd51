/* `tl aks nodepool`: a cluster's node pools, as `az aks nodepool` (add,
 * update, show, list, delete). Trusted launch is switched per pool with
 * --enable-secure-boot / --enable-vtpm (add, update) and --disable-* (update).
 * tld owns the pools and enforces the rules of tl/aks.h; an update that
 * changes Secure Boot or the vTPM reimages the pool's nodes one by one,
 * shown as progress while the verb waits. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aks_cmd.h"
#include "azcall.h"
#include "client.h"
#include "tl.h"
#include "tl/aks.h"

const char *const aks_os_skus[] = {
    "Ubuntu",  "Ubuntu2204",  "Ubuntu2404",  "AzureLinux",    "AzureLinux3", "CBLMariner",
    "Mariner", "Windows2019", "Windows2022", "WindowsAnnual", NULL,
};
const char *const aks_vm_set_types[] = {"VirtualMachineScaleSets", "AvailabilitySet", NULL};
const char *const aks_osdisk_types[] = {"Managed", "Ephemeral", NULL};
static const char *const os_types[] = {"Linux", "Windows", NULL};
static const char *const modes[] = {"System", "User", NULL};

#define GROUP_OPT                                                                                  \
    {                                                                                              \
        "--resource-group", "-g", AZ_STRING, NULL, NULL, NULL, true, "Name of resource group."     \
    }
#define CLUSTER_OPT                                                                                \
    {                                                                                              \
        "--cluster-name", NULL, AZ_STRING, NULL, NULL, NULL, true, "The cluster name."             \
    }
#define NAME_OPT                                                                                   \
    {                                                                                              \
        "--name", "-n", AZ_STRING, NULL, NULL, NULL, true, "The node pool name."                   \
    }
#define NO_WAIT_OPT                                                                                \
    {                                                                                              \
        "--no-wait", NULL, AZ_FLAG, NULL, NULL, NULL, false,                                       \
            "Do not wait for the long-running operation to finish."                                \
    }
#define HEADERS_OPT                                                                                \
    {                                                                                              \
        "--aks-custom-headers", NULL, AZ_STRING, NULL, NULL, NULL, false,                          \
            "KEY=VALUE[,KEY=VALUE...]; UseGen1Image=true gives the pool the Gen1 (BIOS) image."    \
    }
#define STR(x)  #x
#define XSTR(x) STR(x)

static const struct az_option add_options[] = {
    GROUP_OPT,
    CLUSTER_OPT,
    NAME_OPT,
    {"--node-count", "-c", AZ_INT, NULL, XSTR(TL_AKS_DEFAULT_NODE_COUNT), NULL, false,
     "Number of nodes."},
    {"--node-vm-size", "-s", AZ_STRING, NULL, TL_AKS_DEFAULT_VM_SIZE, NULL, false,
     "Size of the nodes' VMs."},
    {"--os-type", NULL, AZ_ENUM, os_types, "Linux", NULL, false, "OS type of the nodes."},
    {"--os-sku", NULL, AZ_ENUM, aks_os_skus, NULL, NULL, false,
     "OS SKU. Default: Ubuntu for Linux, Windows2022 for Windows."},
    {"--mode", NULL, AZ_ENUM, modes, "User", NULL, false, "The pool's mode."},
    {"--kubernetes-version", "-k", AZ_STRING, NULL, NULL, NULL, false,
     "Kubernetes version. Default: the cluster's."},
    {"--enable-secure-boot", NULL, AZ_FLAG, NULL, NULL, "--disable-secure-boot", false,
     "Secure Boot on the pool's nodes (trusted launch)."},
    {"--disable-secure-boot", NULL, AZ_FLAG, NULL, NULL, NULL, false,
     "No Secure Boot (the default)."},
    {"--enable-vtpm", NULL, AZ_FLAG, NULL, NULL, "--disable-vtpm", false,
     "A vTPM on the pool's nodes (trusted launch)."},
    {"--disable-vtpm", NULL, AZ_FLAG, NULL, NULL, NULL, false, "No vTPM (the default)."},
    {"--enable-fips-image", NULL, AZ_FLAG, NULL, NULL, NULL, false, "FIPS-enabled OS image."},
    {"--vm-set-type", NULL, AZ_ENUM, aks_vm_set_types, "VirtualMachineScaleSets", NULL, false,
     "Agent pool VM set type."},
    {"--node-osdisk-type", NULL, AZ_ENUM, aks_osdisk_types, NULL, NULL, false,
     "OS disk type of the nodes."},
    {"--skip-gpu-driver-install", NULL, AZ_FLAG, NULL, NULL, NULL, false,
     "Do not install the GPU driver on GPU sizes."},
    {"--enable-workload-egress", NULL, AZ_FLAG, NULL, NULL, NULL, false,
     "Outbound network for the nodes' workloads, through a proxy at 10.0.2.101:3128 that "
     "never reaches the host's loopback (off by default: nodes reach only their agent "
     "endpoint)."},
    {"--workload-egress-allowed-cidrs", NULL, AZ_STRING, NULL, NULL, NULL, false,
     "Comma-separated private ranges (and host addresses, as ADDRESS/32) the proxy may "
     "reach."},
    {"--data-disk-size-gb", NULL, AZ_INT, NULL, NULL, NULL, false,
     "A data disk of this many GiB on each node (trustlaunch; kept by reimage)."},
    {"--data-disk-encryption-key", NULL, AZ_STRING, NULL, NULL, NULL, false,
     "VAULT/KEY: the data disk is LUKS2 under this key vault key, released to a node only "
     "when its attestation meets the key's release policy (trustlaunch; needs the vTPM)."},
    HEADERS_OPT,
    NO_WAIT_OPT,
    {0},
};
static const struct az_command add_cmd = {
    "aks nodepool add", "Add a node pool to the managed Kubernetes cluster.", add_options,
    "Waits until provisioningState leaves Creating, with progress on stderr (node k of n:\n"
    "NAME: PHASE); exit 1 when the pool ends Failed. tld checks the trusted-launch rules.\n"};

static const struct az_option update_options[] = {
    GROUP_OPT,
    CLUSTER_OPT,
    NAME_OPT,
    {"--enable-secure-boot", NULL, AZ_FLAG, NULL, NULL, "--disable-secure-boot", false,
     "Switch Secure Boot on (reimages the nodes)."},
    {"--disable-secure-boot", NULL, AZ_FLAG, NULL, NULL, NULL, false,
     "Switch Secure Boot off (reimages the nodes)."},
    {"--enable-vtpm", NULL, AZ_FLAG, NULL, NULL, "--disable-vtpm", false,
     "Switch the vTPM on (reimages the nodes)."},
    {"--disable-vtpm", NULL, AZ_FLAG, NULL, NULL, NULL, false,
     "Switch the vTPM off (reimages the nodes)."},
    {"--node-count", "-c", AZ_INT, NULL, NULL, NULL, false, "Scale the pool to this many nodes."},
    {"--node-vm-size", "-s", AZ_STRING, NULL, NULL, NULL, false,
     "A new VM size: refused (never to or from a confidential size; add a pool instead)."},
    {"--enable-workload-egress", NULL, AZ_FLAG, NULL, NULL, "--disable-workload-egress", false,
     "Switch workload egress on (reimages the nodes)."},
    {"--disable-workload-egress", NULL, AZ_FLAG, NULL, NULL, NULL, false,
     "Switch workload egress off (reimages the nodes)."},
    {"--workload-egress-allowed-cidrs", NULL, AZ_STRING, NULL, NULL, NULL, false,
     "Replace the ranges the egress proxy may reach (\"\" for none; reimages the nodes)."},
    HEADERS_OPT,
    NO_WAIT_OPT,
    {0},
};
static const struct az_command update_cmd = {
    "aks nodepool update", "Update a node pool: trusted launch on or off, or its size.",
    update_options,
    "Waits until provisioningState leaves Updating/Scaling; switching Secure Boot or the vTPM\n"
    "reimages the nodes one at a time (progress on stderr).\n"};

static const struct az_option show_options[] = {GROUP_OPT, CLUSTER_OPT, NAME_OPT, {0}};
static const struct az_command show_cmd = {"aks nodepool show", "Show the details for a node pool.",
                                           show_options, NULL};

static const struct az_option delete_options[] = {
    GROUP_OPT, CLUSTER_OPT, NAME_OPT, NO_WAIT_OPT, {0}};
static const struct az_command delete_cmd = {
    "aks nodepool delete", "Delete a node pool.", delete_options,
    "Waits until the pool is gone (its nodes deleted), unless --no-wait.\n"};

static const struct az_option list_options[] = {GROUP_OPT, CLUSTER_OPT, {0}};
static const struct az_command list_cmd = {"aks nodepool list", "List node pools in the cluster.",
                                           list_options, NULL};

static const struct arm_resource pool = {"/v1/resourceGroups/%s/managedClusters/%s/agentPools/%s",
                                         {"--resource-group", "--cluster-name", "--name"},
                                         az_pool_columns};
static const struct arm_resource pools = {"/v1/resourceGroups/%s/managedClusters/%s/agentPools",
                                          {"--resource-group", "--cluster-name"},
                                          az_pool_columns};

int aks_custom_headers(const struct az_args *a, bool *gen1)
{
    const char *h = az_get(a, "--aks-custom-headers");
    *gen1 = false;
    for (const char *p = h; p && *p;) {
        size_t n = strcspn(p, ","), k = strcspn(p, "=");
        if (k >= n || k == 0) {
            tlc_report(a->cmd->name,
                       "--aks-custom-headers takes KEY=VALUE[,KEY=VALUE...], not \"%s\"", h);
            return -EINVAL;
        }
        if (k == strlen("UseGen1Image") && strncasecmp(p, "UseGen1Image", k) == 0)
            *gen1 = n - k - 1 == 4 && strncasecmp(p + k + 1, "true", 4) == 0;
        p += n + (p[n] == ',');
    }
    return 0;
}

static int run_add(int argc, char **argv)
{
    struct az_args a;
    int r = arm_parse(&add_cmd, argc, argv, &a);
    if (r)
        return r > 0 ? TLC_EXIT_OK : TLC_EXIT_BAD;
    bool gen1;
    if (aks_custom_headers(&a, &gen1) < 0)
        return TLC_EXIT_BAD;
    json_t *body = json_object();
    if (az_given(&a, "--node-count"))
        json_object_set_new(body, "count", json_integer(az_get_long(&a, "--node-count")));
    arm_body_set_given(body, &a, "vmSize", "--node-vm-size");
    arm_body_set_given(body, &a, "osType", "--os-type");
    arm_body_set_given(body, &a, "osSku", "--os-sku");
    arm_body_set_given(body, &a, "mode", "--mode");
    arm_body_set_given(body, &a, "kubernetesVersion", "--kubernetes-version");
    json_object_set_new(body, "enableSecureBoot",
                        json_boolean(az_flag(&a, "--enable-secure-boot")));
    json_object_set_new(body, "enableVtpm", json_boolean(az_flag(&a, "--enable-vtpm")));
    json_object_set_new(body, "enableFipsImage", json_boolean(az_flag(&a, "--enable-fips-image")));
    arm_body_set_given(body, &a, "vmSetType", "--vm-set-type");
    arm_body_set_given(body, &a, "nodeOsdiskType", "--node-osdisk-type");
    json_object_set_new(body, "skipGpuDriverInstall",
                        json_boolean(az_flag(&a, "--skip-gpu-driver-install")));
    json_object_set_new(body, "useGen1Image", json_boolean(gen1));
    if (az_flag(&a, "--enable-workload-egress"))
        json_object_set_new(body, "enableWorkloadEgress", json_true());
    if (az_given(&a, "--workload-egress-allowed-cidrs"))
        json_object_set_new(body, "workloadEgressAllowedCidrs",
                            tlc_json_csv(az_get(&a, "--workload-egress-allowed-cidrs")));
    if (az_given(&a, "--data-disk-size-gb"))
        json_object_set_new(body, "dataDiskSizeGB",
                            json_integer(az_get_long(&a, "--data-disk-size-gb")));
    arm_body_set_given(body, &a, "dataDiskEncryptionKey", "--data-disk-encryption-key");
    if ((r = tlc_client_node_image(a.cmd->name, gen1)) != TLC_EXIT_OK) {
        json_decref(body);
        return r;
    }
    return arm_write(&a, "PUT", &pool, body);
}

static int run_update(int argc, char **argv)
{
    struct az_args a;
    int r = arm_parse(&update_cmd, argc, argv, &a);
    if (r)
        return r > 0 ? TLC_EXIT_OK : TLC_EXIT_BAD;
    bool gen1;
    if (aks_custom_headers(&a, &gen1) < 0)
        return TLC_EXIT_BAD;
    json_t *body = json_object();
    if (az_flag(&a, "--enable-secure-boot") || az_flag(&a, "--disable-secure-boot"))
        json_object_set_new(body, "enableSecureBoot",
                            json_boolean(az_flag(&a, "--enable-secure-boot")));
    if (az_flag(&a, "--enable-vtpm") || az_flag(&a, "--disable-vtpm"))
        json_object_set_new(body, "enableVtpm", json_boolean(az_flag(&a, "--enable-vtpm")));
    if (az_given(&a, "--node-count"))
        json_object_set_new(body, "count", json_integer(az_get_long(&a, "--node-count")));
    arm_body_set_given(body, &a, "vmSize", "--node-vm-size");
    if (az_flag(&a, "--enable-workload-egress") || az_flag(&a, "--disable-workload-egress"))
        json_object_set_new(body, "enableWorkloadEgress",
                            json_boolean(az_flag(&a, "--enable-workload-egress")));
    if (az_given(&a, "--workload-egress-allowed-cidrs"))
        json_object_set_new(body, "workloadEgressAllowedCidrs",
                            tlc_json_csv(az_get(&a, "--workload-egress-allowed-cidrs")));
    if (json_object_size(body) == 0) {
        tlc_report(a.cmd->name,
                   "nothing to update: give --enable-secure-boot, --disable-secure-boot, "
                   "--enable-vtpm, --disable-vtpm, --enable-workload-egress, "
                   "--disable-workload-egress, --workload-egress-allowed-cidrs or --node-count");
        json_decref(body);
        return TLC_EXIT_BAD;
    }
    return arm_write(&a, "PATCH", &pool, body);
}

static int run_show(int argc, char **argv)
{
    return arm_get(&show_cmd, &pool, ARM_SHOW, argc, argv);
}

static int run_delete(int argc, char **argv)
{
    return arm_delete(&delete_cmd, &pool, false, argc, argv);
}

static int run_list(int argc, char **argv)
{
    return arm_get(&list_cmd, &pools, ARM_LIST, argc, argv);
}

int tlc_cmd_aks_nodepool(int argc, char **argv)
{
    static const struct az_entry entries[] = {
        {"add", "Add a node pool to the managed Kubernetes cluster.", false, run_add},
        {"delete", "Delete a node pool.", false, run_delete},
        {"list", "List node pools in the cluster.", false, run_list},
        {"show", "Show the details for a node pool.", false, run_show},
        {"update", "Update a node pool (trusted launch on or off, node count).", false, run_update},
        {0},
    };
    return az_dispatch("aks nodepool", "Manage node pools in a managed Kubernetes cluster.",
                       entries, argc, argv);
}
