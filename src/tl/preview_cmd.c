/* The preview steps the AKS documentation asks for before trusted launch:
 * `tl feature register|show|list` (the TrustedLaunchPreview feature flag),
 * `tl provider register|show` (the Microsoft.ContainerService resource
 * provider) and `tl extension add|update --name aks-preview` (a no-op: tl
 * needs no extension). tld keeps the registration states, so a script
 * that polls `feature show` until "Registered" works as it does on Azure. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "azcall.h"
#include "tl.h"

#define NAMESPACE_OPT                                                                              \
    {                                                                                              \
        "--namespace", NULL, AZ_STRING, NULL, NULL, NULL, true,                                    \
            "The resource provider namespace, e.g. Microsoft.ContainerService."                    \
    }
#define FEATURE_OPT                                                                                \
    {                                                                                              \
        "--name", "-n", AZ_STRING, NULL, NULL, NULL, true,                                         \
            "The feature name, e.g. "                                                              \
            "TrustedLaunchPreview."                                                                \
    }

static const struct az_option feature_options[] = {NAMESPACE_OPT, FEATURE_OPT, {0}};
static const struct az_command feature_register_cmd = {
    "feature register", "Register a preview feature.", feature_options, NULL};
static const struct az_command feature_show_cmd = {"feature show", "Get a preview feature.",
                                                   feature_options, NULL};
static const struct az_option feature_list_options[] = {
    {"--namespace", NULL, AZ_STRING, NULL, "Microsoft.ContainerService", NULL, false,
     "The resource provider namespace."},
    {0},
};
static const struct az_command feature_list_cmd = {"feature list", "List preview features.",
                                                   feature_list_options, NULL};

static const struct az_option provider_register_options[] = {
    {"--namespace", "-n", AZ_STRING, NULL, NULL, NULL, true,
     "The resource provider namespace, e.g. Microsoft.ContainerService."},
    {"--wait", NULL, AZ_FLAG, NULL, NULL, NULL, false, "Wait until the registration finishes."},
    {0},
};
static const struct az_command provider_register_cmd = {
    "provider register", "Register a resource provider.", provider_register_options, NULL};
static const struct az_option provider_show_options[] = {
    {"--namespace", "-n", AZ_STRING, NULL, NULL, NULL, true,
     "The resource provider namespace, e.g. Microsoft.ContainerService."},
    {0},
};
static const struct az_command provider_show_cmd = {"provider show", "Get a resource provider.",
                                                    provider_show_options, NULL};

static const char *const true_false[] = {"true", "false", NULL};
static const struct az_option extension_options[] = {
    {"--name", "-n", AZ_STRING, NULL, NULL, NULL, true, "Name of the extension."},
    {"--source", "-s", AZ_STRING, NULL, NULL, NULL, false, "Ignored."},
    {"--upgrade", NULL, AZ_FLAG, NULL, NULL, NULL, false, "Ignored."},
    {"--allow-preview", NULL, AZ_ENUM, true_false, NULL, NULL, false, "Ignored."},
    {"--yes", "-y", AZ_FLAG, NULL, NULL, NULL, false, "Ignored."},
    {0},
};
static const struct az_command extension_add_cmd = {
    "extension add", "Accepted for az's documentation: tl needs no extension.", extension_options,
    NULL};
static const struct az_command extension_update_cmd = {
    "extension update", "Accepted for az's documentation: tl needs no extension.",
    extension_options, NULL};

#define PARSE(cmd)                                                                                 \
    struct az_args a;                                                                              \
    int r = arm_parse(&(cmd), argc, argv, &a);                                                     \
    if (r)                                                                                         \
        return r > 0 ? TLC_EXIT_OK : TLC_EXIT_BAD;

static int feature_register(int argc, char **argv)
{
    PARSE(feature_register_cmd);
    char *path = arm_path("/v1/providers/%s/features/%s/register", az_get(&a, "--namespace"),
                          az_get(&a, "--name"));
    int rc = arm_run(&a, "POST", path, NULL, az_feature_columns, ARM_SHOW);
    if (rc == 0)
        fprintf(stderr,
                "Once the feature '%s' is registered, invoking 'tl provider register -n %s' is "
                "required to get the change propagated\n",
                az_get(&a, "--name"), az_get(&a, "--namespace"));
    free(path);
    return rc;
}

static int feature_show(int argc, char **argv)
{
    PARSE(feature_show_cmd);
    char *path =
        arm_path("/v1/providers/%s/features/%s", az_get(&a, "--namespace"), az_get(&a, "--name"));
    int rc = arm_run(&a, "GET", path, NULL, az_feature_columns, ARM_SHOW);
    free(path);
    return rc;
}

static int feature_list(int argc, char **argv)
{
    PARSE(feature_list_cmd);
    char *path = arm_path("/v1/providers/%s/features", az_get(&a, "--namespace"));
    int rc = arm_run(&a, "GET", path, NULL, az_feature_columns, ARM_LIST);
    free(path);
    return rc;
}

static int provider_register(int argc, char **argv)
{
    PARSE(provider_register_cmd);
    const char *ns = az_get(&a, "--namespace");
    char *path = arm_path("/v1/providers/%s/register", ns);
    char *show = arm_path("/v1/providers/%s", ns);
    struct tlc_client c;
    json_t *out = NULL;
    int rc = TLC_EXIT_BAD;
    struct tl_error err = {0};
    if (path && show &&
        (tlc_client_open(&c, a.cmd->name, &err) < 0 ||
         arm_request(&c, "POST", path, NULL, NULL, &out, &err) < 0))
        arm_report(out, &err);
    if (!path || !show || *err.message)
        goto done;
    /* az prints nothing; with --wait it returns once registered. */
    while (az_flag(&a, "--wait")) {
        const char *state = json_string_value(json_object_get(out, "registrationState"));
        if (!state || strcmp(state, "Registering") != 0)
            break;
        struct timespec ts = {0, 500 * 1000 * 1000};
        nanosleep(&ts, NULL);
        json_decref(out);
        out = NULL;
        if (arm_request(&c, "GET", show, NULL, NULL, &out, &err) < 0) {
            arm_report(out, &err);
            goto done;
        }
    }
    rc = TLC_EXIT_OK;
done:
    json_decref(out);
    free(path);
    free(show);
    return rc;
}

static int provider_show(int argc, char **argv)
{
    PARSE(provider_show_cmd);
    char *path = arm_path("/v1/providers/%s", az_get(&a, "--namespace"));
    int rc = arm_run(&a, "GET", path, NULL, az_provider_columns, ARM_SHOW);
    free(path);
    return rc;
}

static int extension(const struct az_command *cmd, int argc, char **argv)
{
    struct az_args a;
    int r = arm_parse(cmd, argc, argv, &a);
    if (r)
        return r > 0 ? TLC_EXIT_OK : TLC_EXIT_BAD;
    tlc_report(cmd->name,
               "trustlaunch needs no extension; what '%s' adds to az is built into tl "
               "(nothing to do)",
               az_get(&a, "--name"));
    return TLC_EXIT_OK;
}

static int extension_add(int argc, char **argv)
{
    return extension(&extension_add_cmd, argc, argv);
}

static int extension_update(int argc, char **argv)
{
    return extension(&extension_update_cmd, argc, argv);
}

int tlc_cmd_feature(int argc, char **argv)
{
    static const struct az_entry entries[] = {
        {"list", "List preview features.", false, feature_list},
        {"register", "Register a preview feature.", false, feature_register},
        {"show", "Get a preview feature.", false, feature_show},
        {0},
    };
    return az_dispatch("feature", "Manage resource provider features (preview flags).", entries,
                       argc, argv);
}

int tlc_cmd_provider(int argc, char **argv)
{
    static const struct az_entry entries[] = {
        {"register", "Register a resource provider.", false, provider_register},
        {"show", "Get a resource provider.", false, provider_show},
        {0},
    };
    return az_dispatch("provider", "Manage resource providers.", entries, argc, argv);
}

int tlc_cmd_extension(int argc, char **argv)
{
    static const struct az_entry entries[] = {
        {"add", "Accepted: tl needs no extension.", false, extension_add},
        {"update", "Accepted: tl needs no extension.", false, extension_update},
        {0},
    };
    return az_dispatch("extension", "az extensions: none are needed by tl.", entries, argc, argv);
}
