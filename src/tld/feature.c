/* Feature flags and resource providers: the preview flow of the
 * trusted-launch docs (az feature register --namespace
 * Microsoft.ContainerService --name TrustedLaunchPreview, az provider
 * register). Recorded in the store and shown; nothing depends on them, as
 * with trusted launch generally available. A registered feature reads
 * "Registering" for its first seconds, then "Registered", as in Azure.
 *
 *   GET  /v1/providers/NS                         {"namespace", "registrationState"}
 *   POST /v1/providers/NS/register
 *   GET  /v1/providers/NS/features                {"value": [feature...]}
 *   GET  /v1/providers/NS/features/NAME           feature
 *   POST /v1/providers/NS/features/NAME/register  feature */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "tld.h"

#define REGISTERING_SECONDS 2

struct known_feature {
    const char *ns, *name;
};

/* The preview features of Microsoft.ContainerService this platform knows. */
static const struct known_feature features[] = {
    {"Microsoft.ContainerService", "TrustedLaunchPreview"},
    {"Microsoft.ContainerService", "AKS-ConfidentialVMPreview"},
    {"Microsoft.ContainerService", "KataVMIsolationPreview"},
};

static bool namespace_ok(const char *ns)
{
    /* Company.Service: letters, digits and dots */
    if (!isalpha((unsigned char)ns[0]) || !strchr(ns, '.') || strlen(ns) > 64)
        return false;
    for (const char *p = ns; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '.')
            return false;
    return true;
}

static const struct known_feature *feature_find(const char *ns, const char *name)
{
    for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++)
        if (strcasecmp(features[i].ns, ns) == 0 && strcasecmp(features[i].name, name) == 0)
            return &features[i];
    return NULL;
}

/* When the feature (or provider, name NULL) was registered; 0: never. */
static long long registered_at(struct tld *t, const char *kind, const char *id)
{
    json_t *all = tld_store_resources(t, kind);
    long long at = 0;
    size_t i;
    json_t *d;
    json_array_foreach(all, i, d)
    {
        const char *k = json_string_value(json_object_get(d, "id"));
        if (k && strcasecmp(k, id) == 0)
            at = json_integer_value(json_object_get(d, "registered"));
    }
    json_decref(all);
    return at;
}

static int record(struct tld *t, const char *kind, const char *id)
{
    if (registered_at(t, kind, id))
        return 0;
    json_t *doc = json_pack("{s:s, s:I}", "id", id, "registered", (json_int_t)tld_now());
    int r = doc ? tld_store_resource_put(t, kind, id, doc) : -1;
    json_decref(doc);
    tld_log("%s %s: registered", kind, id);
    return r;
}

static const char *state(long long at)
{
    if (!at)
        return "NotRegistered";
    return tld_now() - at < REGISTERING_SECONDS ? "Registering" : "Registered";
}

static json_t *feature_json(struct tld *t, const struct known_feature *f)
{
    char id[256], full[128];
    snprintf(full, sizeof(full), "%s/%s", f->ns, f->name);
    snprintf(id, sizeof(id),
             "/subscriptions/local/providers/Microsoft.Features/providers/%s/features/%s", f->ns,
             f->name);
    return json_pack("{s:s, s:s, s:{s:s}, s:s}", "id", id, "name", full, "properties", "state",
                     state(registered_at(t, "feature", full)), "type",
                     "Microsoft.Features/providers/features");
}

int tld_feature_route(struct tld *t, const char *method, const char *url, json_t **answer,
                      struct tl_error *err)
{
    /* /v1/providers/NS[/register | /features[/NAME[/register]]] */
    char ns[80] = "", a[32] = "", name[80] = "", b[32] = "";
    int n = 0;
    const char *p = url + strlen("/v1/providers/");
    if (strncmp(url, "/v1/providers/", 14) != 0 ||
        (n = sscanf(p, "%79[^/]/%31[^/]/%79[^/]/%31[^/]", ns, a, name, b)) < 1)
        return tl_error_set_nopos(err, -ENOENT, "no such resource: %s", url);
    bool get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
    if (!namespace_ok(ns))
        return tl_error_set_nopos(
            err, -ENOENT, "resource provider namespace '%s' is not valid (Company.Service)", ns);
    if (n == 1) {
        if (!get)
            return tl_error_set_nopos(err, -EOPNOTSUPP, "GET");
        *answer = json_pack("{s:s, s:s}", "namespace", ns, "registrationState",
                            state(registered_at(t, "provider", ns)));
        return 0;
    }
    if (n == 2 && strcmp(a, "register") == 0) {
        if (!post)
            return tl_error_set_nopos(err, -EOPNOTSUPP, "POST");
        if (record(t, "provider", ns) < 0)
            return tl_error_set_nopos(err, -EIO, "cannot save the registration");
        *answer = json_pack("{s:s, s:s}", "namespace", ns, "registrationState",
                            state(registered_at(t, "provider", ns)));
        return 0;
    }
    if (strcmp(a, "features") != 0)
        return tl_error_set_nopos(err, -ENOENT, "no such resource: %s", url);
    if (n == 2) {
        if (!get)
            return tl_error_set_nopos(err, -EOPNOTSUPP, "GET");
        json_t *all = json_array();
        for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++)
            if (strcasecmp(features[i].ns, ns) == 0)
                json_array_append_new(all, feature_json(t, &features[i]));
        *answer = json_pack("{s:o}", "value", all);
        return 0;
    }
    const struct known_feature *f = feature_find(ns, name);
    if (!f) {
        char *msg = err->message;
        size_t msz = sizeof(err->message);
        int k = snprintf(msg, msz, "feature '%s' not found in namespace '%s'; known:", name, ns);
        for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++)
            k += snprintf(msg + k, msz > (size_t)k ? msz - (size_t)k : 0, " %s/%s", features[i].ns,
                          features[i].name);
        return -ENOENT;
    }
    if (n == 3) {
        if (!get)
            return tl_error_set_nopos(err, -EOPNOTSUPP, "GET");
        *answer = feature_json(t, f);
        return 0;
    }
    if (n == 4 && strcmp(b, "register") == 0) {
        if (!post)
            return tl_error_set_nopos(err, -EOPNOTSUPP, "POST");
        char full[128];
        snprintf(full, sizeof(full), "%s/%s", f->ns, f->name);
        if (record(t, "feature", full) < 0)
            return tl_error_set_nopos(err, -EIO, "cannot save the registration");
        *answer = feature_json(t, f);
        return 0;
    }
    return tl_error_set_nopos(err, -ENOENT, "no such resource: %s", url);
}
