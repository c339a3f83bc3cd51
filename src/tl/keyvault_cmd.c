/* `tl keyvault`: vaults and HSM keys, as `az keyvault` (issue 15):
 *   tl keyvault create|show|delete --name V, tl keyvault list
 *   tl keyvault key create --vault-name V --name K --kty RSA-HSM|oct-HSM
 *       [--size N] [--exportable true|false] [--policy @FILE|JSON]
 *   tl keyvault key show|delete|rotate|list-versions|download|release-log
 *       --vault-name V --name K; tl keyvault key list --vault-name V
 * tld keeps vaults and release policies, the token keeps the keys
 * (docs/api.md, "Key vaults"); every rule (names, sizes, the policy's
 * grammar, refusing a download) is tld's, and its refusal is the one line
 * printed (exit 2). */
#include <stdlib.h>
#include <string.h>

#include "azcall.h"
#include "tl.h"

static const struct az_column vault_columns[] = {
    {"Name", "name"},
    {"Keys", "keys"},
    {"Created", "created"},
    {0},
};
static const struct az_column key_columns[] = {
    {"Kid", "kid"}, {"Kty", "kty"}, {"Size", "size"}, {"Exportable", "exportable"}, {0},
};
static const struct az_column release_columns[] = {
    {"At", "at"},
    {"Node", "node"},
    {"Version", "version"},
    {"Granted", "granted"},
    {"Clause", "clause"},
    {"Reason", "reason"},
    {0},
};

#define VAULT_NAME_OPT                                                                             \
    {                                                                                              \
        "--name", "-n", AZ_STRING, NULL, NULL, NULL, true, "Name of the vault."                    \
    }
#define KEY_VAULT_OPT                                                                              \
    {                                                                                              \
        "--vault-name", NULL, AZ_STRING, NULL, NULL, NULL, true, "Name of the vault."              \
    }
#define KEY_NAME_OPT                                                                               \
    {                                                                                              \
        "--name", "-n", AZ_STRING, NULL, NULL, NULL, true, "Name of the key."                      \
    }

static const struct az_option vault_options[] = {VAULT_NAME_OPT, {0}};
static const struct az_command vault_create_cmd = {"keyvault create", "Create a key vault.",
                                                   vault_options, NULL};
static const struct az_command vault_show_cmd = {"keyvault show", "Show a key vault.",
                                                 vault_options, NULL};
static const struct az_command vault_delete_cmd = {
    "keyvault delete", "Delete a key vault.", vault_options,
    "tld refuses to delete a vault that still holds keys (delete them first).\n"};
static const struct az_option none_options[] = {{0}};
static const struct az_command vault_list_cmd = {"keyvault list", "List key vaults.", none_options,
                                                 NULL};

static const char *const kty_choices[] = {"RSA-HSM", "oct-HSM", NULL};
static const char *const bool_choices[] = {"true", "false", NULL};
static const struct az_option key_create_options[] = {
    KEY_VAULT_OPT,
    KEY_NAME_OPT,
    {"--kty", NULL, AZ_ENUM, kty_choices, "RSA-HSM", NULL, false,
     "Key type: RSA-HSM (2048, 3072, 4096 bits) or oct-HSM (AES 128, 192, 256)."},
    {"--size", NULL, AZ_INT, NULL, NULL, NULL, false,
     "Key size in bits (RSA-HSM: 2048; oct-HSM: 256 by default)."},
    {"--exportable", NULL, AZ_ENUM, bool_choices, "false", NULL, false,
     "May the key be released (wrapped to an attested node's TPM key)? Needs --policy."},
    {"--policy", NULL, AZ_STRING, NULL, NULL, NULL, false,
     "The release policy (Azure's grammar): @FILE, or the JSON text."},
    {0},
};
static const struct az_command key_create_cmd = {
    "keyvault key create", "Create a key in the vault's HSM.", key_create_options,
    "The key is generated in the PKCS#11 token and never leaves it in clear. A malformed\n"
    "policy is refused with the JSON path of its error.\n"};
static const struct az_option key_options[] = {KEY_VAULT_OPT, KEY_NAME_OPT, {0}};
static const struct az_option key_show_options[] = {
    KEY_VAULT_OPT,
    KEY_NAME_OPT,
    {"--version", "-v", AZ_STRING, NULL, NULL, NULL, false,
     "The key's version (32 hex digits); the newest when not given."},
    {0},
};
static const struct az_command key_show_cmd = {"keyvault key show", "Show a key's version.",
                                               key_show_options, NULL};
static const struct az_command key_delete_cmd = {
    "keyvault key delete", "Delete a key (every version).", key_options, NULL};
static const struct az_command key_rotate_cmd = {"keyvault key rotate",
                                                 "Make a new version of a key.", key_options, NULL};
static const struct az_command key_versions_cmd = {
    "keyvault key list-versions", "List a key's versions, oldest first.", key_options, NULL};
static const struct az_option key_download_options[] = {
    KEY_VAULT_OPT,
    KEY_NAME_OPT,
    {"--file", "-f", AZ_STRING, NULL, NULL, NULL, false, "Where the key would be written."},
    {0},
};
static const struct az_command key_download_cmd = {
    "keyvault key download", "Download a key's public half (refused for HSM keys).",
    key_download_options,
    "An HSM key never leaves the token in clear: tld refuses, with the reason. An exportable\n"
    "key is released only wrapped to an attested node's TPM key.\n"};
static const struct az_command key_release_log_cmd = {
    "keyvault key release-log", "Every release of a key, granted or refused, with the clause.",
    key_options, NULL};
static const struct az_option key_list_options[] = {KEY_VAULT_OPT, {0}};
static const struct az_command key_list_cmd = {"keyvault key list",
                                               "List a vault's keys (each one's newest version).",
                                               key_list_options, NULL};

static const struct arm_resource vault = {"/v1/vaults/%s", {"--name"}, vault_columns};
static const struct arm_resource vaults = {"/v1/vaults", {NULL}, vault_columns};
static const struct arm_resource keys = {"/v1/vaults/%s/keys", {"--vault-name"}, key_columns};
static const struct arm_resource key = {
    "/v1/vaults/%s/keys/%s", {"--vault-name", "--name"}, key_columns};
static const struct arm_resource key_versions = {
    "/v1/vaults/%s/keys/%s/versions", {"--vault-name", "--name"}, key_columns};
static const struct arm_resource key_rotate = {
    "/v1/vaults/%s/keys/%s/rotate", {"--vault-name", "--name"}, key_columns};
static const struct arm_resource key_download = {
    "/v1/vaults/%s/keys/%s/download", {"--vault-name", "--name"}, key_columns};
static const struct arm_resource key_releases = {
    "/v1/vaults/%s/keys/%s/releases", {"--vault-name", "--name"}, release_columns};

/* parse, then method on res (body stolen) printed as mode */
static int run_on(const struct az_command *cmd, const char *method, const struct arm_resource *res,
                  enum arm_mode mode, int argc, char **argv)
{
    struct az_args a;
    int r = arm_parse(cmd, argc, argv, &a);
    if (r)
        return r > 0 ? TLC_EXIT_OK : TLC_EXIT_BAD;
    return arm_resource_run(&a, method, res, NULL, mode);
}

static int run_vault_create(int argc, char **argv)
{
    struct az_args a;
    int r = arm_parse(&vault_create_cmd, argc, argv, &a);
    if (r)
        return r > 0 ? TLC_EXIT_OK : TLC_EXIT_BAD;
    return arm_run(&a, "POST", "/v1/vaults", json_pack("{s:s}", "name", az_get(&a, "--name")),
                   vault_columns, ARM_SHOW);
}

static int run_vault_show(int argc, char **argv)
{
    return run_on(&vault_show_cmd, "GET", &vault, ARM_SHOW, argc, argv);
}

static int run_vault_delete(int argc, char **argv)
{
    return run_on(&vault_delete_cmd, "DELETE", &vault, ARM_SHOW, argc, argv);
}

static int run_vault_list(int argc, char **argv)
{
    return run_on(&vault_list_cmd, "GET", &vaults, ARM_LIST, argc, argv);
}

/* --policy @FILE (az's spelling) or the text itself: sent as text, so
 * tld's parser (not this one) says where a malformed policy goes wrong */
static int policy_text(const char *arg, json_t **out)
{
    if (arg[0] != '@') {
        *out = json_string(arg);
        return 0;
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    struct tl_error err = {0};
    if (tlc_file_load(arg + 1, &buf, &len, &err) < 0)
        return tlc_fail(TLC_EXIT_BAD, &err);
    *out = json_stringn((const char *)buf, len);
    free(buf);
    if (!*out) {
        tlc_report("keyvault key create", "--policy %s: not UTF-8 text", arg);
        return TLC_EXIT_BAD;
    }
    return 0;
}

static int run_key_create(int argc, char **argv)
{
    struct az_args a;
    int r = arm_parse(&key_create_cmd, argc, argv, &a);
    if (r)
        return r > 0 ? TLC_EXIT_OK : TLC_EXIT_BAD;
    json_t *body =
        json_pack("{s:s, s:s, s:b}", "name", az_get(&a, "--name"), "kty", az_get(&a, "--kty"),
                  "exportable", strcmp(az_get(&a, "--exportable"), "true") == 0);
    if (az_given(&a, "--size"))
        json_object_set_new(body, "size", json_integer(az_get_long(&a, "--size")));
    if (az_given(&a, "--policy")) {
        json_t *policy = NULL;
        if ((r = policy_text(az_get(&a, "--policy"), &policy)) != 0) {
            json_decref(body);
            return r;
        }
        json_object_set_new(body, "release_policy", policy);
    }
    char *path = arm_resource_path(&keys, &a);
    r = arm_run(&a, "POST", path, body, key_columns, ARM_SHOW);
    free(path);
    return r;
}

static int run_key_show(int argc, char **argv)
{
    struct az_args a;
    int r = arm_parse(&key_show_cmd, argc, argv, &a);
    if (r)
        return r > 0 ? TLC_EXIT_OK : TLC_EXIT_BAD;
    if (!az_given(&a, "--version"))
        return arm_resource_run(&a, "GET", &key, NULL, ARM_SHOW);
    char *base = arm_resource_path(&key, &a), *version = arm_path("%s", az_get(&a, "--version"));
    size_t len = (base ? strlen(base) : 0) + (version ? strlen(version) : 0) + 16;
    char *path = base && version ? malloc(len) : NULL;
    if (path)
        snprintf(path, len, "%s?version=%s", base, version);
    r = arm_run(&a, "GET", path, NULL, key_columns, ARM_SHOW);
    free(base);
    free(version);
    free(path);
    return r;
}

static int run_key_list(int argc, char **argv)
{
    return run_on(&key_list_cmd, "GET", &keys, ARM_LIST, argc, argv);
}

static int run_key_versions(int argc, char **argv)
{
    return run_on(&key_versions_cmd, "GET", &key_versions, ARM_LIST, argc, argv);
}

static int run_key_delete(int argc, char **argv)
{
    return run_on(&key_delete_cmd, "DELETE", &key, ARM_SHOW, argc, argv);
}

static int run_key_rotate(int argc, char **argv)
{
    return run_on(&key_rotate_cmd, "POST", &key_rotate, ARM_SHOW, argc, argv);
}

static int run_key_download(int argc, char **argv)
{
    return run_on(&key_download_cmd, "POST", &key_download, ARM_SHOW, argc, argv);
}

static int run_key_release_log(int argc, char **argv)
{
    return run_on(&key_release_log_cmd, "GET", &key_releases, ARM_LIST, argc, argv);
}

static int run_key(int argc, char **argv)
{
    static const struct az_entry entries[] = {
        {"create", "Create a key in the vault's HSM.", false, run_key_create},
        {"delete", "Delete a key (every version).", false, run_key_delete},
        {"download", "Download a key (refused for HSM keys).", false, run_key_download},
        {"list", "List a vault's keys.", false, run_key_list},
        {"list-versions", "List a key's versions, oldest first.", false, run_key_versions},
        {"release-log", "A key's releases, granted or refused.", false, run_key_release_log},
        {"rotate", "Make a new version of a key.", false, run_key_rotate},
        {"show", "Show a key's version.", false, run_key_show},
        {0},
    };
    return az_dispatch("key", "Manage a vault's HSM keys.", entries, argc, argv);
}

int tlc_cmd_keyvault(int argc, char **argv)
{
    static const struct az_entry entries[] = {
        {"create", "Create a key vault.", false, run_vault_create},
        {"delete", "Delete a key vault.", false, run_vault_delete},
        {"key", "Manage a vault's HSM keys.", true, run_key},
        {"list", "List key vaults.", false, run_vault_list},
        {"show", "Show a key vault.", false, run_vault_show},
        {0},
    };
    return az_dispatch("keyvault", "Manage key vaults and their HSM keys.", entries, argc, argv);
}
