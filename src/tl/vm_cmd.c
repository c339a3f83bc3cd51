/* `tl vm`: standalone virtual machines, as `az vm` (create, show, list,
 * start, stop, delete, resize, update). Each VM is one tld node
 * (Microsoft.Compute/virtualMachines, docs/api.md). tld applies az's
 * defaults (security type TrustedLaunch, Secure Boot and vTPM on) and the
 * confidential VM rules (include/tl/aks.h); the CLI only carries the
 * options over. A table and a small function per verb. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "azcall.h"
#include "tl.h"
#include "tl/aks.h"

static const char *const security_types[] = {TL_SECURITY_STANDARD, TL_SECURITY_TRUSTED_LAUNCH,
                                             TL_SECURITY_CONFIDENTIAL, NULL};
static const char *const disk_types[] = {TL_DISK_SECURITY_VMGS, TL_DISK_SECURITY_DISK_VMGS,
                                         TL_DISK_SECURITY_NONPERSISTED, NULL};
static const char *const booleans[] = {"true", "false", NULL};

#define GROUP_OPT                                                                                  \
    {                                                                                              \
        "--resource-group", "-g", AZ_STRING, NULL, NULL, NULL, true, "Name of resource group."     \
    }
#define NAME_OPT                                                                                   \
    {                                                                                              \
        "--name", "-n", AZ_STRING, NULL, NULL, NULL, true, "The name of the Virtual Machine."      \
    }
#define NO_WAIT_OPT                                                                                \
    {                                                                                              \
        "--no-wait", NULL, AZ_FLAG, NULL, NULL, NULL, false,                                       \
            "Do not wait for the long-running operation to finish."                                \
    }
#define SECURITY_TYPE_OPT(help)                                                                    \
    {                                                                                              \
        "--security-type", NULL, AZ_ENUM, security_types, NULL, NULL, false, help                  \
    }
#define BOOL_OPT(name, help)                                                                       \
    {                                                                                              \
        name, NULL, AZ_ENUM, booleans, NULL, NULL, false, help                                     \
    }

static const struct az_option create_options[] = {
    GROUP_OPT,
    NAME_OPT,
    {"--image", NULL, AZ_STRING, NULL, NULL, NULL, false,
     "A node image directory (tl image build); an az alias (Ubuntu2204, ...) or none: tld's "
     "default image."},
    {"--size", NULL, AZ_STRING, NULL, TL_VM_DEFAULT_SIZE, NULL, false,
     "The VM size (tl aks vm-sizes lists them)."},
    {"--location", "-l", AZ_STRING, NULL, NULL, NULL, false,
     "Location. Default: the resource group's."},
    SECURITY_TYPE_OPT("Default: TrustedLaunch when the size supports it, else Standard. A "
                      "confidential size needs ConfidentialVM."),
    {"--os-disk-security-encryption-type", NULL, AZ_ENUM, disk_types, NULL, NULL, false,
     "Required with ConfidentialVM. NonPersistedTPM (a fresh vTPM at every boot): Intel TDX "
     "sizes only."},
    BOOL_OPT("--enable-secure-boot", "Default: true for TrustedLaunch and ConfidentialVM."),
    BOOL_OPT("--enable-vtpm", "Default: true for TrustedLaunch and ConfidentialVM."),
    {"--accelerated-networking", NULL, AZ_FLAG, NULL, NULL, NULL, false,
     "Accelerated networking (not on confidential sizes)."},
    {"--nested-virtualization", NULL, AZ_FLAG, NULL, NULL, NULL, false,
     "Nested virtualization (not on confidential sizes; a tl option, not az's)."},
    {"--admin-username", NULL, AZ_STRING, NULL, NULL, NULL, false,
     "Accepted for az compatibility; the node's agent needs no login."},
    {"--generate-ssh-keys", NULL, AZ_FLAG, NULL, NULL, NULL, false,
     "Accepted for az compatibility."},
    {"--no-start", NULL, AZ_FLAG, NULL, NULL, NULL, false,
     "Create the VM stopped (tl vm start boots it; a tl option, not az's)."},
    {"--tee-policy", NULL, AZ_STRING, NULL, NULL, NULL, false,
     "A confidential VM's hardware evidence policy, the JSON file `tl tee verify --policy` "
     "takes (e.g. the trusted-roots naming the platform's emulated secure processor; a tl "
     "option, not az's)."},
    {"--data-disk-sizes-gb", NULL, AZ_INT, NULL, NULL, NULL, false,
     "A data disk of this many GiB (one disk here), kept by reimage and resize."},
    {"--data-disk-encryption-key", NULL, AZ_STRING, NULL, NULL, NULL, false,
     "VAULT/KEY: the data disk is LUKS2 under this key vault key, released to the VM only when "
     "its attestation meets the key's release policy (a tl option, not az's; needs the vTPM)."},
    NO_WAIT_OPT,
    {0},
};
static const struct az_command create_cmd = {
    "vm create", "Create an Azure Virtual Machine.", create_options,
    "tld refuses what the confidential VM FAQ rules out (accelerated networking or nested\n"
    "virtualization on a confidential size, NonPersistedTPM on AMD SEV-SNP), a size not\n"
    "offered in the location (SkuNotAvailable) and a family over its vCPU quota\n"
    "(QuotaExceeded).\n"};

static const struct az_option name_options[] = {GROUP_OPT, NAME_OPT, {0}};
static const struct az_command show_cmd = {"vm show", "Get the details of a VM.", name_options,
                                           NULL};
static const struct az_command start_cmd = {"vm start", "Start a stopped VM.", name_options, NULL};
static const struct az_command stop_cmd = {"vm stop", "Power off (stop) a running VM.",
                                           name_options, NULL};

static const struct az_option list_options[] = {
    {"--resource-group", "-g", AZ_STRING, NULL, NULL, NULL, false, "Name of resource group."},
    {0},
};
static const struct az_command list_cmd = {"vm list", "List details of Virtual Machines.",
                                           list_options, NULL};

static const struct az_option delete_options[] = {
    GROUP_OPT,
    NAME_OPT,
    {"--yes", "-y", AZ_FLAG, NULL, NULL, NULL, false, "Do not prompt for confirmation."},
    NO_WAIT_OPT,
    {0},
};
static const struct az_command delete_cmd = {"vm delete", "Delete a VM.", delete_options, NULL};

static const struct az_option resize_options[] = {
    GROUP_OPT,   NAME_OPT, {"--size", NULL, AZ_STRING, NULL, NULL, NULL, true, "The new size."},
    NO_WAIT_OPT, {0},
};
static const struct az_command resize_cmd = {
    "vm resize", "Update a VM's size.", resize_options,
    "A running VM is restarted. Not to or from a confidential size (the confidential VM FAQ);\n"
    "between the SNP and TDX families it is: the node is made anew in the other TEE.\n"};

static const struct az_option update_options[] = {
    GROUP_OPT,
    NAME_OPT,
    {"--set", NULL, AZ_STRING, NULL, NULL, NULL, false,
     "PROPERTY=VALUE: hardwareProfile.vmSize, securityProfile.securityType, "
     "securityProfile.uefiSettings.secureBootEnabled, "
     "securityProfile.uefiSettings.vTpmEnabled, "
     "storageProfile.osDisk.managedDisk.securityProfile.securityEncryptionType, "
     "networkProfile.enableAcceleratedNetworking, additionalCapabilities.nestedVirtualization."},
    SECURITY_TYPE_OPT("Change the security type (refused to or from ConfidentialVM)."),
    BOOL_OPT("--enable-secure-boot", "Switch Secure Boot on or off (the node is made anew)."),
    BOOL_OPT("--enable-vtpm", "Switch the vTPM on or off (the node is made anew)."),
    NO_WAIT_OPT,
    {0},
};
static const struct az_command update_cmd = {"vm update", "Update the properties of a VM.",
                                             update_options, NULL};

static const struct arm_resource vm = {
    "/v1/resourceGroups/%s/virtualMachines/%s", {"--resource-group", "--name"}, az_vm_columns};
static const struct arm_resource vm_start = {"/v1/resourceGroups/%s/virtualMachines/%s/start",
                                             {"--resource-group", "--name"},
                                             az_vm_columns};
static const struct arm_resource vm_stop = {"/v1/resourceGroups/%s/virtualMachines/%s/powerOff",
                                            {"--resource-group", "--name"},
                                            az_vm_columns};

static void set_bool(json_t *body, const struct az_args *a, const char *key, const char *option)
{
    if (az_given(a, option))
        json_object_set_new(body, key, json_boolean(strcmp(az_get(a, option), "true") == 0));
}

static int run_create(int argc, char **argv)
{
    struct az_args a;
    int r = arm_parse(&create_cmd, argc, argv, &a);
    if (r)
        return r > 0 ? TLC_EXIT_OK : TLC_EXIT_BAD;
    json_t *body = json_object();
    const char *image = az_get(&a, "--image");
    if (image && strchr(image, '/')) /* a directory; an az alias means the default image */
        json_object_set_new(body, "image", json_string(image));
    arm_body_set_given(body, &a, "vmSize", "--size");
    arm_body_set_given(body, &a, "location", "--location");
    arm_body_set_given(body, &a, "securityType", "--security-type");
    arm_body_set_given(body, &a, "osDiskSecurityEncryptionType",
                       "--os-disk-security-encryption-type");
    set_bool(body, &a, "enableSecureBoot", "--enable-secure-boot");
    set_bool(body, &a, "enableVtpm", "--enable-vtpm");
    if (az_flag(&a, "--accelerated-networking"))
        json_object_set_new(body, "acceleratedNetworking", json_true());
    if (az_flag(&a, "--nested-virtualization"))
        json_object_set_new(body, "nestedVirtualization", json_true());
    if (az_flag(&a, "--no-start"))
        json_object_set_new(body, "start", json_false());
    if (az_given(&a, "--data-disk-sizes-gb"))
        json_object_set_new(body, "dataDiskSizeGB",
                            json_integer(az_get_long(&a, "--data-disk-sizes-gb")));
    arm_body_set_given(body, &a, "dataDiskEncryptionKey", "--data-disk-encryption-key");
    const char *tee_file = az_get(&a, "--tee-policy");
    if (tee_file) {
        json_error_t jerr;
        json_t *tee = json_load_file(tee_file, JSON_REJECT_DUPLICATES, &jerr);
        if (!json_is_object(tee)) {
            tlc_report("vm create", "--tee-policy %s: %s", tee_file,
                       tee ? "not a JSON object" : jerr.text);
            json_decref(tee);
            json_decref(body);
            return TLC_EXIT_BAD;
        }
        json_object_set_new(body, "teePolicy", tee);
    }
    return arm_write(&a, "PUT", &vm, body);
}

/* --set PROPERTY=VALUE: the PATCH body's key for each property az names */
static int set_property(json_t *body, const char *cmd, const char *kv)
{
    static const struct {
        const char *path, *key;
        bool boolean;
    } props[] = {
        {"hardwareProfile.vmSize", "vmSize", false},
        {"securityProfile.securityType", "securityType", false},
        {"securityProfile.uefiSettings.secureBootEnabled", "enableSecureBoot", true},
        {"securityProfile.uefiSettings.vTpmEnabled", "enableVtpm", true},
        {"storageProfile.osDisk.managedDisk.securityProfile.securityEncryptionType",
         "osDiskSecurityEncryptionType", false},
        {"networkProfile.enableAcceleratedNetworking", "acceleratedNetworking", true},
        {"additionalCapabilities.nestedVirtualization", "nestedVirtualization", true},
    };
    const char *eq = strchr(kv, '=');
    size_t n = eq ? (size_t)(eq - kv) : strlen(kv);
    for (size_t i = 0; eq && i < sizeof(props) / sizeof(props[0]); i++) {
        if (strlen(props[i].path) != n || strncasecmp(props[i].path, kv, n) != 0)
            continue;
        const char *v = eq + 1;
        if (!props[i].boolean) {
            json_object_set_new(body, props[i].key, json_string(v));
            return 0;
        }
        if (strcasecmp(v, "true") && strcasecmp(v, "false")) {
            fprintf(stderr, "tl: %s: --set %s: the value must be true or false\n", cmd,
                    props[i].path);
            return -1;
        }
        json_object_set_new(body, props[i].key, json_boolean(strcasecmp(v, "true") == 0));
        return 0;
    }
    fprintf(stderr,
            "tl: %s: --set '%s': not PROPERTY=VALUE of a property tl vm update changes (tl vm "
            "update --help lists them)\n",
            cmd, kv);
    return -1;
}

static int run_update(int argc, char **argv)
{
    struct az_args a;
    int r = arm_parse(&update_cmd, argc, argv, &a);
    if (r)
        return r > 0 ? TLC_EXIT_OK : TLC_EXIT_BAD;
    json_t *body = json_object();
    if (az_given(&a, "--set") && set_property(body, a.cmd->name, az_get(&a, "--set")) < 0) {
        json_decref(body);
        return TLC_EXIT_BAD;
    }
    arm_body_set_given(body, &a, "securityType", "--security-type");
    set_bool(body, &a, "enableSecureBoot", "--enable-secure-boot");
    set_bool(body, &a, "enableVtpm", "--enable-vtpm");
    return arm_write(&a, "PATCH", &vm, body);
}

static int run_resize(int argc, char **argv)
{
    struct az_args a;
    int r = arm_parse(&resize_cmd, argc, argv, &a);
    if (r)
        return r > 0 ? TLC_EXIT_OK : TLC_EXIT_BAD;
    return arm_write(&a, "PATCH", &vm, json_pack("{s:s}", "vmSize", az_get(&a, "--size")));
}

static int run_action(const struct az_command *cmd, const struct arm_resource *res, int argc,
                      char **argv)
{
    struct az_args a;
    int r = arm_parse(cmd, argc, argv, &a);
    if (r)
        return r > 0 ? TLC_EXIT_OK : TLC_EXIT_BAD;
    return arm_resource_run(&a, "POST", res, json_object(), ARM_SHOW);
}

static int run_start(int argc, char **argv)
{
    return run_action(&start_cmd, &vm_start, argc, argv);
}

static int run_stop(int argc, char **argv)
{
    return run_action(&stop_cmd, &vm_stop, argc, argv);
}

static int run_show(int argc, char **argv)
{
    return arm_get(&show_cmd, &vm, ARM_SHOW, argc, argv);
}

static int run_delete(int argc, char **argv)
{
    return arm_delete(&delete_cmd, &vm, true, argc, argv);
}

static int run_list(int argc, char **argv)
{
    return arm_list(&list_cmd, "virtualMachines", az_vm_columns, argc, argv);
}

int tlc_cmd_vm(int argc, char **argv)
{
    static const struct az_entry entries[] = {
        {"create", "Create an Azure Virtual Machine.", false, run_create},
        {"delete", "Delete a VM.", false, run_delete},
        {"list", "List details of Virtual Machines.", false, run_list},
        {"resize", "Update a VM's size.", false, run_resize},
        {"show", "Get the details of a VM.", false, run_show},
        {"start", "Start a stopped VM.", false, run_start},
        {"stop", "Power off (stop) a running VM.", false, run_stop},
        {"update", "Update the properties of a VM.", false, run_update},
        {0},
    };
    return az_dispatch("vm", "Manage Linux or Windows virtual machines.", entries, argc, argv);
}
