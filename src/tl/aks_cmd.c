/* `tl aks`: managed clusters, as `az aks` (create, show, delete, list,
 * get-credentials, and the nodepool group in nodepool_cmd.c). Commands
 * from the "Trusted launch for AKS" documentation run as written with az
 * replaced by tl. tld owns clusters and enforces the rules (tl/aks.h); this
 * file turns options into the REST bodies of docs/api.md. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "aks_cmd.h"
#include "azcall.h"
#include "client.h"
#include "kubeconfig.h"
#include "sshkey.h"
#include "tl.h"
#include "tl/aks.h"

#define NAME_OPT                                                                                   \
    {                                                                                              \
        "--name", "-n", AZ_STRING, NULL, NULL, NULL, true, "Name of the managed cluster."          \
    }
#define GROUP_OPT                                                                                  \
    {                                                                                              \
        "--resource-group", "-g", AZ_STRING, NULL, NULL, NULL, true, "Name of resource group."     \
    }
#define STR(x)  #x
#define XSTR(x) STR(x)

static const struct az_option create_options[] = {
    NAME_OPT,
    GROUP_OPT,
    {"--location", "-l", AZ_STRING, NULL, NULL, NULL, false,
     "Location. Default: the resource group's."},
    {"--node-count", "-c", AZ_INT, NULL, XSTR(TL_AKS_DEFAULT_NODE_COUNT), NULL, false,
     "Number of nodes in the first node pool."},
    {"--nodepool-name", NULL, AZ_STRING, NULL, TL_AKS_DEFAULT_POOL_NAME, NULL, false,
     "Name of the first node pool."},
    {"--node-vm-size", "-s", AZ_STRING, NULL, TL_AKS_DEFAULT_VM_SIZE, NULL, false,
     "Size of the nodes' VMs."},
    {"--kubernetes-version", "-k", AZ_STRING, NULL, TL_AKS_DEFAULT_K8S_VERSION, NULL, false,
     "Kubernetes version."},
    {"--os-sku", NULL, AZ_ENUM, aks_os_skus, "Ubuntu", NULL, false, "OS SKU of the nodes."},
    {"--enable-secure-boot", NULL, AZ_FLAG, NULL, NULL, NULL, false,
     "Secure Boot on the first pool's nodes (trusted launch)."},
    {"--enable-vtpm", NULL, AZ_FLAG, NULL, NULL, NULL, false,
     "A vTPM on the first pool's nodes (trusted launch)."},
    {"--enable-fips-image", NULL, AZ_FLAG, NULL, NULL, NULL, false, "FIPS-enabled OS image."},
    {"--enable-managed-identity", NULL, AZ_FLAG, NULL, NULL, NULL, false,
     "A system-assigned managed identity (az's default; always on)."},
    {"--vm-set-type", NULL, AZ_ENUM, aks_vm_set_types, "VirtualMachineScaleSets", NULL, false,
     "Agent pool VM set type."},
    {"--node-osdisk-type", NULL, AZ_ENUM, aks_osdisk_types, NULL, NULL, false,
     "OS disk type of the nodes."},
    {"--enable-addons", "-a", AZ_STRING, NULL, NULL, NULL, false,
     "Comma-separated add-ons, e.g. virtual-node."},
    {"--skip-gpu-driver-install", NULL, AZ_FLAG, NULL, NULL, NULL, false,
     "Do not install the GPU driver on GPU sizes."},
    {"--data-disk-size-gb", NULL, AZ_INT, NULL, NULL, NULL, false,
     "A data disk of this many GiB on each node of the first pool (trustlaunch)."},
    {"--data-disk-encryption-key", NULL, AZ_STRING, NULL, NULL, NULL, false,
     "VAULT/KEY: the data disk is LUKS2 under this key vault key, released to a node only "
     "when its attestation meets the key's release policy (trustlaunch; needs the vTPM)."},
    {"--aks-custom-headers", NULL, AZ_STRING, NULL, NULL, NULL, false,
     "KEY=VALUE[,KEY=VALUE...]; UseGen1Image=true gives the first pool the Gen1 (BIOS) image."},
    {"--ssh-key-value", NULL, AZ_STRING, NULL, "~/.ssh/id_rsa.pub", NULL, false,
     "Public key, or the file holding it, for SSH access to the nodes."},
    {"--generate-ssh-keys", NULL, AZ_FLAG, NULL, NULL, "--no-ssh-key", false,
     "Generate SSH key files (~/.ssh/id_rsa, id_rsa.pub) when missing."},
    {"--no-ssh-key", "-x", AZ_FLAG, NULL, NULL, "--ssh-key-value", false,
     "Do not give the nodes an SSH key."},
    {"--no-wait", NULL, AZ_FLAG, NULL, NULL, NULL, false,
     "Do not wait for the long-running operation to finish."},
    {0},
};
static const struct az_command create_cmd = {
    "aks create", "Create a new managed Kubernetes cluster.", create_options,
    "Waits until provisioningState leaves Creating (progress on stderr), then prints the\n"
    "cluster; exit 1 when it ends Failed. tld checks the trusted-launch rules (Gen2 sizes,\n"
    "Kubernetes >= " TL_AKS_MIN_TRUSTED_LAUNCH_K8S ", no FIPS, no availability sets, ...).\n"};

static const struct az_option show_options[] = {NAME_OPT, GROUP_OPT, {0}};
static const struct az_command show_cmd = {"aks show", "Show the details for a managed cluster.",
                                           show_options, NULL};

static const struct az_option delete_options[] = {
    NAME_OPT,
    GROUP_OPT,
    {"--yes", "-y", AZ_FLAG, NULL, NULL, NULL, false, "Do not prompt for confirmation."},
    {"--no-wait", NULL, AZ_FLAG, NULL, NULL, NULL, false,
     "Do not wait for the long-running operation to finish."},
    {0},
};
static const struct az_command delete_cmd = {
    "aks delete", "Delete a managed Kubernetes cluster.", delete_options,
    "Waits until the cluster is gone (its nodes deleted), unless --no-wait.\n"};

static const struct az_option list_options[] = {
    {"--resource-group", "-g", AZ_STRING, NULL, NULL, NULL, false,
     "Name of resource group. Default: all groups."},
    {0},
};
static const struct az_command list_cmd = {"aks list", "List managed Kubernetes clusters.",
                                           list_options, NULL};

static const struct az_option credentials_options[] = {
    NAME_OPT,
    GROUP_OPT,
    {"--file", "-f", AZ_STRING, NULL, "~/.kube/config", NULL, false,
     "Kubernetes configuration file to update (\"-\": print it). Default: $KUBECONFIG's "
     "first path, else ~/.kube/config."},
    {"--overwrite-existing", NULL, AZ_FLAG, NULL, NULL, NULL, false,
     "Overwrite an entry of the same name that differs (or a file that is not a "
     "kubeconfig)."},
    {0},
};
static const struct az_command credentials_cmd = {
    "aks get-credentials", "Get access credentials for a managed Kubernetes cluster.",
    credentials_options,
    "Writes a cluster, a user (clusterUser_GROUP_NAME) and a context NAME, and makes NAME the\n"
    "current context; other entries of the file are kept. Mode 0600.\n"};

static const struct arm_resource cluster = {
    "/v1/resourceGroups/%s/managedClusters/%s", {"--resource-group", "--name"}, az_cluster_columns};

/* "virtual-node,monitoring" -> ["virtual-node", "monitoring"]. */
static json_t *addons(const char *list)
{
    json_t *arr = json_array();
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ",");
        if (n)
            json_array_append_new(arr, json_stringn(p, n));
        p += n + (p[n] == ',');
    }
    return arr;
}

static int run_create(int argc, char **argv)
{
    struct az_args a;
    int r = arm_parse(&create_cmd, argc, argv, &a);
    if (r)
        return r > 0 ? TLC_EXIT_OK : TLC_EXIT_BAD;
    bool gen1;
    if (aks_custom_headers(&a, &gen1) < 0)
        return TLC_EXIT_BAD;
    char *pub = NULL;
    if (!az_flag(&a, "--no-ssh-key")) {
        const char *key = az_given(&a, "--ssh-key-value") ? az_get(&a, "--ssh-key-value") : NULL;
        struct tl_error err = {0};
        if (sshkey_for_cluster(a.cmd->name, key, az_flag(&a, "--generate-ssh-keys"), &pub, &err) <
            0)
            return tlc_fail(TLC_EXIT_BAD, &err);
    }
    json_t *body = json_object();
    arm_body_set_given(body, &a, "location", "--location");
    arm_body_set_given(body, &a, "kubernetesVersion", "--kubernetes-version");
    if (az_given(&a, "--node-count"))
        json_object_set_new(body, "nodeCount", json_integer(az_get_long(&a, "--node-count")));
    arm_body_set_given(body, &a, "nodeVmSize", "--node-vm-size");
    arm_body_set_given(body, &a, "osSku", "--os-sku");
    arm_body_set_given(body, &a, "nodepoolName", "--nodepool-name");
    json_object_set_new(body, "enableSecureBoot",
                        json_boolean(az_flag(&a, "--enable-secure-boot")));
    json_object_set_new(body, "enableVtpm", json_boolean(az_flag(&a, "--enable-vtpm")));
    /* az enables a system-assigned identity whether or not the flag is given. */
    json_object_set_new(body, "enableManagedIdentity", json_true());
    if (pub)
        json_object_set_new(body, "sshPublicKey", json_string(pub));
    free(pub);
    if (az_given(&a, "--enable-addons"))
        json_object_set_new(body, "enableAddons", addons(az_get(&a, "--enable-addons")));
    if (az_flag(&a, "--enable-fips-image"))
        json_object_set_new(body, "enableFipsImage", json_true());
    arm_body_set_given(body, &a, "vmSetType", "--vm-set-type");
    arm_body_set_given(body, &a, "nodeOsdiskType", "--node-osdisk-type");
    if (az_flag(&a, "--skip-gpu-driver-install"))
        json_object_set_new(body, "skipGpuDriverInstall", json_true());
    if (az_given(&a, "--data-disk-size-gb"))
        json_object_set_new(body, "dataDiskSizeGB",
                            json_integer(az_get_long(&a, "--data-disk-size-gb")));
    arm_body_set_given(body, &a, "dataDiskEncryptionKey", "--data-disk-encryption-key");
    if (gen1)
        json_object_set_new(body, "useGen1Image", json_true());
    if ((r = tlc_client_node_image(a.cmd->name, gen1)) != TLC_EXIT_OK) {
        json_decref(body);
        return r;
    }
    return arm_write(&a, "PUT", &cluster, body);
}

static int run_show(int argc, char **argv)
{
    return arm_get(&show_cmd, &cluster, ARM_SHOW, argc, argv);
}

static int run_delete(int argc, char **argv)
{
    return arm_delete(&delete_cmd, &cluster, true, argc, argv);
}

static int run_list(int argc, char **argv)
{
    return arm_list(&list_cmd, "managedClusters", az_cluster_columns, argc, argv);
}

static int run_get_credentials(int argc, char **argv)
{
    struct az_args a;
    int r = arm_parse(&credentials_cmd, argc, argv, &a);
    if (r)
        return r > 0 ? TLC_EXIT_OK : TLC_EXIT_BAD;
    char file[PATH_MAX];
    const char *opt = az_given(&a, "--file") ? az_get(&a, "--file") : NULL;
    const char *home = getenv("HOME");
    if (opt && strncmp(opt, "~/", 2) == 0 && home) {
        snprintf(file, sizeof(file), "%s/%s", home, opt + 2);
        opt = file;
    }
    bool to_stdout = opt && strcmp(opt, "-") == 0;
    if (!to_stdout && kubeconfig_path(opt, file, sizeof(file)) < 0) {
        tlc_report(a.cmd->name, "no kubeconfig file: set HOME or KUBECONFIG, or give --file");
        return TLC_EXIT_BAD;
    }
    struct tlc_client c;
    struct tl_error err = {0};
    if (tlc_client_open(&c, a.cmd->name, &err) < 0)
        return tlc_fail(TLC_EXIT_BAD, &err);
    char *path = arm_path("/v1/resourceGroups/%s/managedClusters/%s/credentials",
                          az_get(&a, "--resource-group"), az_get(&a, "--name"));
    json_t *out = NULL;
    r = path ? arm_request(&c, "POST", path, NULL, NULL, &out, &err) : -ENOMEM;
    free(path);
    if (r < 0 && r != -ENOMEM)
        arm_report(out, &err);
    if (r < 0) {
        json_decref(out);
        return TLC_EXIT_BAD;
    }
    struct kube_credentials cred = {
        .cluster = json_string_value(json_object_get(out, "cluster")),
        .server = json_string_value(json_object_get(out, "server")),
        .user = json_string_value(json_object_get(out, "user")),
        .token = json_string_value(json_object_get(out, "token")),
        .ca_data = json_string_value(json_object_get(out, "certificateAuthorityData")),
    };
    if (!cred.cluster || !cred.server || !cred.user || !cred.token) {
        tlc_report(a.cmd->name, "tld's credentials lack cluster, server, user or token");
        json_decref(out);
        return TLC_EXIT_BAD;
    }
    if (to_stdout) {
        char *text = NULL;
        size_t len;
        r = kubeconfig_merge(NULL, 0, &cred, false, &text, &len, &err);
        if (r == 0)
            fwrite(text, 1, len, stdout);
        free(text);
    } else {
        r = kubeconfig_write(file, &cred, az_flag(&a, "--overwrite-existing"), &err);
        if (r < 0)
            tlc_report_error(NULL, &err);
        else
            fprintf(stderr, "Merged \"%s\" as current context in %s\n", cred.cluster, file);
    }
    json_decref(out);
    return r < 0 ? TLC_EXIT_BAD : TLC_EXIT_OK;
}

static const struct az_option vm_sizes_options[] = {{0}};
static const struct az_command vm_sizes_cmd = {
    "aks vm-sizes", "List the VM sizes node pools can use (the catalog of libtl's rules).",
    vm_sizes_options,
    "For each size: its vCPUs and memory in the cloud, architecture, hypervisor generations,\n"
    "GPU, whether it supports trusted launch and an ephemeral OS disk with it, and what a\n"
    "node of that size gets here (QEMU under TCG); its quota family; for the confidential\n"
    "sizes their TEE (snp, tdx), and where they are offered (regions; null: everywhere).\n"};

static const struct az_column vm_size_columns[] = {
    {"Name", "name"},
    {"vCPUs", "vCpus"},
    {"MemoryMiB", "memoryMiB"},
    {"Arch", "architecture"},
    {"Gen1", "gen1"},
    {"Gen2", "gen2"},
    {"Gpu", "gpu"},
    {"TrustedLaunch", "trustedLaunch"},
    {"EphemeralOsTL", "ephemeralOsDiskWithTrustedLaunch"},
    {"Tee", "tee"},
    {"NodeMemoryMiB", "node.memoryMiB"},
    {NULL, NULL},
};

/* The catalog is libtl's (pure): no tld needed. */
static int run_vm_sizes(int argc, char **argv)
{
    struct az_args a;
    int r = arm_parse(&vm_sizes_cmd, argc, argv, &a);
    if (r)
        return r > 0 ? TLC_EXIT_OK : TLC_EXIT_BAD;
    size_t n;
    const struct tl_vm_size *s = tl_vm_sizes(&n);
    json_t *all = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(
            all, json_pack("{s:s, s:i, s:i, s:s, s:b, s:b, s:b, s:b, s:b, s:{s:i, s:i}}", "name",
                           s[i].name, "vCpus", (int)s[i].vcpus, "memoryMiB", (int)s[i].memory_mib,
                           "architecture", s[i].arm64 ? "Arm64" : "x64", "gen1", s[i].gen1, "gen2",
                           s[i].gen2, "gpu", s[i].gpu, "trustedLaunch", s[i].trusted_launch,
                           "ephemeralOsDiskWithTrustedLaunch", s[i].ephemeral_os, "node", "vcpus",
                           (int)s[i].node_vcpus, "memoryMiB", (int)s[i].node_memory_mib));
    for (size_t i = 0; i < n; i++) { /* the confidential VM facts (issue 14) */
        json_t *e = json_array_get(all, i);
        json_object_set_new(e, "family", json_string(s[i].family));
        json_object_set_new(e, "tee", json_string(tl_tee_name(s[i].tee)));
        json_object_set_new(e, "acceleratedNetworking", json_boolean(s[i].accelerated_networking));
        json_object_set_new(e, "nestedVirtualization", json_boolean(s[i].nested_virtualization));
        json_object_set_new(e, "regions", s[i].regions ? json_string(s[i].regions) : json_null());
    }
    return tlc_output_print(all, "json", vm_size_columns);
}

int tlc_cmd_aks(int argc, char **argv)
{
    static const struct az_entry entries[] = {
        {"nodepool", "Manage node pools in a managed Kubernetes cluster.", true,
         tlc_cmd_aks_nodepool},
        {"create", "Create a new managed Kubernetes cluster.", false, run_create},
        {"delete", "Delete a managed Kubernetes cluster.", false, run_delete},
        {"get-credentials", "Get access credentials for a managed Kubernetes cluster.", false,
         run_get_credentials},
        {"list", "List managed Kubernetes clusters.", false, run_list},
        {"show", "Show the details for a managed Kubernetes cluster.", false, run_show},
        {"vm-sizes", "List the VM sizes node pools can use (trustlaunch).", false, run_vm_sizes},
        {0},
    };
    return az_dispatch("aks", "Manage Azure Kubernetes Service clusters, the trustlaunch way.",
                       entries, argc, argv);
}
