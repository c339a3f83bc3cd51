/* A pool's explicit policy rules (policy.h, PUT .../agentPools/P/policy):
 * checked and normalised from JSON, and back. What each rule means is
 * policy.c's; refuseVouchedEk is checked by the attestation, which knows
 * the EK's origin. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl/policy.h"
#include "tl/tee.h"
#include "tl/util.h"

static int hex_list(const json_t *v, const char *key, char (**out)[65], size_t *n, bool *has,
                    struct tl_error *err)
{
    if (!v)
        return 0;
    if (!json_is_array(v) || json_array_size(v) > TL_POLICY_MAX_RULE_ENTRIES)
        return tl_error_set_nopos(err, -EINVAL,
                                  "\"%s\" must be an array of at most %d SHA-256 values (hex)", key,
                                  TL_POLICY_MAX_RULE_ENTRIES);
    size_t count = json_array_size(v);
    *has = true;
    if (count && !(*out = calloc(count, sizeof(**out))))
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        const char *h = json_string_value(e);
        uint8_t bin[32];
        if (!h || strlen(h) != 64 || tl_hex_decode(h, 64, bin, sizeof(bin)) != 32)
            return tl_error_set_nopos(
                err, -EINVAL, "\"%s\" entry %zu: not a SHA-256 value (64 hex digits)", key, i);
        tl_hex_encode(bin, sizeof(bin), (*out)[i]); /* lowercase, as findings print digests */
        (*n)++;
    }
    return 0;
}

static int tristate(const json_t *req, const char *key, int *out, struct tl_error *err)
{
    const json_t *v = json_object_get(req, key);
    *out = -1;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_boolean(v))
        return tl_error_set_nopos(err, -EINVAL, "\"%s\" must be true, false or null", key);
    *out = json_is_true(v);
    return 0;
}

static int parse(const json_t *req, struct tl_policy_rules *rules, struct tl_error *err)
{
    if (!json_is_object(req))
        return tl_error_set_nopos(err, -EINVAL, "the request body must be a JSON object");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)req, key, v)
    {
        if (strcmp(key, "kernelCmdline") && strcmp(key, "allowedKernels") &&
            strcmp(key, "requiredDbx") && strcmp(key, "requireSecureBoot") &&
            strcmp(key, "refuseVouchedEk") && strcmp(key, "teePolicy"))
            return tl_error_set_nopos(err, -EINVAL,
                                      "unknown field \"%s\" (kernelCmdline, allowedKernels, "
                                      "requiredDbx, requireSecureBoot, refuseVouchedEk, teePolicy)",
                                      key);
    }
    int r;
    if ((r = hex_list(json_object_get(req, "allowedKernels"), "allowedKernels",
                      &rules->allowed_kernels, &rules->n_allowed_kernels,
                      &rules->has_allowed_kernels, err)) < 0 ||
        (r = hex_list(json_object_get(req, "requiredDbx"), "requiredDbx", &rules->required_dbx,
                      &rules->n_required_dbx, &rules->has_required_dbx, err)) < 0)
        return r;
    const json_t *cmd = json_object_get(req, "kernelCmdline");
    if (cmd && !json_is_null(cmd)) {
        const char *c = json_string_value(cmd);
        bool ok = c && strlen(c) <= 1024;
        for (const char *p = c; ok && *p; p++)
            ok = *p >= 0x20 && *p <= 0x7e;
        if (!ok)
            return tl_error_set_nopos(
                err, -EINVAL, "\"kernelCmdline\" must be printable text of at most 1024 bytes");
        if (!(rules->kernel_cmdline = strdup(c)))
            return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    }
    if ((r = tristate(req, "requireSecureBoot", &rules->require_secure_boot, err)) < 0 ||
        (r = tristate(req, "refuseVouchedEk", &rules->refuse_vouched_ek, err)) < 0)
        return r;
    /* a confidential pool's hardware evidence policy: tl tee's policy file,
     * checked here so that a pool never holds one the verifier refuses */
    const json_t *tee = json_object_get(req, "teePolicy");
    if (tee && !json_is_null(tee)) {
        char *text = json_is_object(tee) ? json_dumps(tee, JSON_COMPACT) : NULL;
        struct tl_tee_policy pol;
        struct tl_error e = {0};
        if (!json_is_object(tee))
            return tl_error_set_nopos(err, -EINVAL, "\"teePolicy\" must be a JSON object");
        if (!text)
            return tl_error_set_nopos(err, -ENOMEM, "out of memory");
        if (strlen(text) > TL_POLICY_TEE_MAX) {
            free(text);
            return tl_error_set_nopos(err, -EINVAL, "\"teePolicy\" is larger than %d bytes",
                                      TL_POLICY_TEE_MAX);
        }
        if (tl_tee_policy_parse(text, strlen(text), &pol, &e) < 0) {
            free(text);
            return tl_error_set_nopos(err, -EINVAL, "\"teePolicy\": %s", e.message);
        }
        rules->tee_policy = text;
    }
    return 0;
}

int tl_policy_rules_from_json(const json_t *req, struct tl_policy_rules *rules,
                              struct tl_error *err)
{
    *rules = (struct tl_policy_rules){.require_secure_boot = -1, .refuse_vouched_ek = -1};
    int r = parse(req, rules, err);
    if (r < 0)
        tl_policy_rules_done(rules);
    return r;
}

static json_t *hex_array(char (*list)[65], size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(list[i]));
    return a;
}

json_t *tl_policy_rules_to_json(const struct tl_policy_rules *rules)
{
    json_t *o = json_object();
    if (rules->has_allowed_kernels)
        json_object_set_new(o, "allowedKernels",
                            hex_array(rules->allowed_kernels, rules->n_allowed_kernels));
    if (rules->has_required_dbx)
        json_object_set_new(o, "requiredDbx",
                            hex_array(rules->required_dbx, rules->n_required_dbx));
    if (rules->kernel_cmdline)
        json_object_set_new(o, "kernelCmdline", json_string(rules->kernel_cmdline));
    if (rules->require_secure_boot >= 0)
        json_object_set_new(o, "requireSecureBoot", json_boolean(rules->require_secure_boot));
    if (rules->refuse_vouched_ek >= 0)
        json_object_set_new(o, "refuseVouchedEk", json_boolean(rules->refuse_vouched_ek));
    if (rules->tee_policy)
        json_object_set_new(o, "teePolicy", json_loads(rules->tee_policy, 0, NULL));
    return o;
}

void tl_policy_rules_done(struct tl_policy_rules *rules)
{
    free(rules->kernel_cmdline);
    free(rules->allowed_kernels);
    free(rules->required_dbx);
    free(rules->tee_policy);
    *rules = (struct tl_policy_rules){.require_secure_boot = -1, .refuse_vouched_ek = -1};
}
