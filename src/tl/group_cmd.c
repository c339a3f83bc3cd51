/* `tl group`: resource groups, as `az group` (create, show, delete, list).
 * The AKS documentation assumes one exists; clusters live in one. A table
 * and a small function per verb; tld keeps the groups (docs/api.md). */
#include <stdlib.h>
#include <string.h>

#include "azcall.h"
#include "tl.h"

#define NAME_OPT                                                                                   \
    {                                                                                              \
        "--name", "-n", AZ_STRING, NULL, NULL, NULL, true, "Name of the resource group."           \
    }

static const struct az_option create_options[] = {
    NAME_OPT,
    {"--location", "-l", AZ_STRING, NULL, "local", NULL, false,
     "Location. trustlaunch runs everything on this host; any name is kept as given."},
    {0},
};
static const struct az_command create_cmd = {"group create", "Create a new resource group.",
                                             create_options, NULL};

static const struct az_option show_options[] = {NAME_OPT, {0}};
static const struct az_command show_cmd = {"group show", "Get a resource group.", show_options,
                                           NULL};

static const struct az_option delete_options[] = {
    NAME_OPT,
    {"--yes", "-y", AZ_FLAG, NULL, NULL, NULL, false, "Do not prompt for confirmation."},
    {"--no-wait", NULL, AZ_FLAG, NULL, NULL, NULL, false,
     "Do not wait for the long-running operation to finish."},
    {0},
};
static const struct az_command delete_cmd = {
    "group delete", "Delete a resource group.", delete_options,
    "tld refuses to delete a group that still holds clusters (delete them first).\n"};

static const struct az_option list_options[] = {{0}};
static const struct az_command list_cmd = {"group list", "List resource groups.", list_options,
                                           NULL};

static const struct arm_resource group = {"/v1/resourceGroups/%s", {"--name"}, az_group_columns};
static const struct arm_resource groups = {"/v1/resourceGroups", {NULL}, az_group_columns};

static int run_create(int argc, char **argv)
{
    struct az_args a;
    int r = arm_parse(&create_cmd, argc, argv, &a);
    if (r)
        return r > 0 ? TLC_EXIT_OK : TLC_EXIT_BAD;
    json_t *body = json_pack("{s:s}", "location", az_get(&a, "--location"));
    /* Groups are made at once: provisioningState lives in properties. */
    return arm_resource_run(&a, "PUT", &group, body, ARM_SHOW);
}

static int run_show(int argc, char **argv)
{
    return arm_get(&show_cmd, &group, ARM_SHOW, argc, argv);
}

static int run_delete(int argc, char **argv)
{
    return arm_delete(&delete_cmd, &group, true, argc, argv);
}

static int run_list(int argc, char **argv)
{
    return arm_get(&list_cmd, &groups, ARM_LIST, argc, argv);
}

int tlc_cmd_group(int argc, char **argv)
{
    static const struct az_entry entries[] = {
        {"create", "Create a new resource group.", false, run_create},
        {"delete", "Delete a resource group.", false, run_delete},
        {"list", "List resource groups.", false, run_list},
        {"show", "Get a resource group.", false, run_show},
        {0},
    };
    return az_dispatch("group", "Manage resource groups.", entries, argc, argv);
}
