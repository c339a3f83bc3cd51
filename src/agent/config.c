/* The platform's config for the agent: a small JSON document the platform
 * hands the node through QEMU fw_cfg (opt/trustlaunch/agent.json):
 *
 *   {"url": "http://10.0.2.2:PORT/v1/nodes/NAME/report", "token": "HEX",
 *    "node": "NAME", "attest_interval": 300}
 *
 * The parser is pure (a buffer in, a struct out) so it can be fuzzed. Every
 * value ends up somewhere that needs it clean: the URL in libcurl, the token
 * in an HTTP header, the node name in console lines and the report. So the
 * character sets are narrow and checked here, once, before anything uses
 * them; a config that breaks them is refused whole (fail closed). */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "agent.h"

static bool in_set(char c, const char *extra)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr(extra, c));
}

const char *agent_config_check_url(const char *s)
{
    size_t n = strlen(s);
    if (n == 0)
        return "is empty";
    if (n > AGENT_URL_MAX)
        return "is too long";
    if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0)
        return "is not an http:// or https:// URL";
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return "has a space, a control or a non-ASCII character";
    return NULL;
}

const char *agent_config_check_token(const char *s)
{
    size_t n = strlen(s);
    if (n == 0)
        return "is empty";
    if (n > AGENT_TOKEN_MAX)
        return "is too long";
    /* token68 (RFC 7235, 2.1): what a Bearer credential may hold. */
    for (size_t i = 0; i < n; i++)
        if (!in_set(s[i], "-._~+/="))
            return "has a character outside [A-Za-z0-9-._~+/=]";
    return NULL;
}

const char *agent_config_check_node(const char *s)
{
    size_t n = strlen(s);
    if (n == 0)
        return "is empty";
    if (n > AGENT_NODE_MAX)
        return "is longer than 63 characters";
    for (size_t i = 0; i < n; i++)
        if (!in_set(s[i], "-._"))
            return "has a character outside [A-Za-z0-9-._]";
    return NULL;
}

/* Copies a string member into out (size out_size) after checking it. */
static int take(json_t *root, const char *key, char *out, size_t out_size,
                const char *(*check)(const char *), char *err, size_t err_size)
{
    json_t *v = json_object_get(root, key);
    if (!v)
        return 0;
    if (!json_is_string(v)) {
        snprintf(err, err_size, "\"%s\" is not a string", key);
        return -EINVAL;
    }
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (strlen(s) != n) {
        snprintf(err, err_size, "\"%s\" holds a NUL character", key);
        return -EINVAL;
    }
    if (n >= out_size) {
        snprintf(err, err_size, "\"%s\" is too long (%zu bytes, at most %zu)", key, n,
                 out_size - 1);
        return -EINVAL;
    }
    const char *why = check(s);
    if (why) {
        snprintf(err, err_size, "\"%s\" %s", key, why);
        return -EINVAL;
    }
    memcpy(out, s, n + 1);
    return 0;
}

/* An integer member in [min, max]; 0 in *out when absent. */
static int take_uint(json_t *root, const char *key, unsigned min, unsigned max, unsigned *out,
                     char *err, size_t err_size)
{
    json_t *v = json_object_get(root, key);
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < (json_int_t)min ||
        json_integer_value(v) > (json_int_t)max) {
        snprintf(err, err_size, "\"%s\" is not an integer from %u to %u", key, min, max);
        return -EINVAL;
    }
    *out = (unsigned)json_integer_value(v);
    return 0;
}

int agent_config_parse(const uint8_t *buf, size_t len, struct agent_config *cfg, char *err,
                       size_t err_size)
{
    *cfg = (struct agent_config){0};
    if (len > AGENT_CONFIG_MAX) {
        snprintf(err, err_size, "larger than %u bytes", AGENT_CONFIG_MAX);
        return -EINVAL;
    }
    json_error_t jerr;
    json_t *root = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(err, err_size, "not JSON: %s (line %d, column %d)", jerr.text, jerr.line,
                 jerr.column);
        return -EINVAL;
    }
    int r = 0;
    if (!json_is_object(root)) {
        snprintf(err, err_size, "not a JSON object");
        r = -EINVAL;
    }
    if (r == 0)
        r = take(root, "url", cfg->url, sizeof(cfg->url), agent_config_check_url, err, err_size);
    if (r == 0)
        r = take(root, "token", cfg->token, sizeof(cfg->token), agent_config_check_token, err,
                 err_size);
    if (r == 0)
        r = take(root, "node", cfg->node, sizeof(cfg->node), agent_config_check_node, err,
                 err_size);
    if (r == 0)
        r = take_uint(root, "attest_interval", AGENT_INTERVAL_MIN, AGENT_INTERVAL_MAX,
                      &cfg->attest_interval, err, err_size);
    json_decref(root);
    if (r < 0)
        *cfg = (struct agent_config){0};
    return r;
}
