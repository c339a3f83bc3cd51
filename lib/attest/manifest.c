/* Parsing an image's manifest (manifest.h): JSON to plain structs, once, so
 * that the policy evaluated on every attestation reads fields, not JSON.
 *
 * Invariant: every string in a parsed manifest is the manifest's own text,
 * copied (the policy compares digests as the image build wrote them). */
#include "tl/manifest.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* A copy of the string at key, NULL when absent or not a string; *oom is
 * set when the copy could not be made. */
static char *string_at(const json_t *o, const char *key, bool *oom)
{
    const char *s = json_string_value(json_object_get(o, key));
    if (!s)
        return NULL;
    char *c = strdup(s);
    if (!c)
        *oom = true;
    return c;
}

static char *sha256_of(const json_t *o, bool *oom)
{
    return string_at(json_object_get(o, "digests"), "sha256", oom);
}

static int parse_doc(const json_t *doc, struct tl_manifest *m, struct tl_error *err)
{
    bool oom = false;
    const json_t *comps = json_object_get(doc, "components");
    const json_t *grub = json_object_get(doc, "grub_events");
    size_t nc = json_array_size(comps), ng = json_array_size(grub);
    if (nc > TL_MANIFEST_MAX_ENTRIES || ng > TL_MANIFEST_MAX_ENTRIES)
        return tl_error_set_nopos(err, -EBADMSG, "more than %d components or grub records",
                                  TL_MANIFEST_MAX_ENTRIES);
    m->format = string_at(doc, "format", &oom);
    m->kernel_cmdline = string_at(doc, "kernel_cmdline", &oom);
    m->has_components = json_is_array(comps);
    if (nc && !(m->components = calloc(nc, sizeof(*m->components))))
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    m->n_components = nc;
    for (size_t i = 0; i < nc; i++) {
        const json_t *c = json_array_get(comps, i);
        struct tl_manifest_component *dst = &m->components[i];
        dst->is_object = json_is_object(c);
        dst->kind = string_at(c, "kind", &oom);
        dst->name = string_at(c, "name", &oom);
        dst->path = string_at(c, "path", &oom);
        dst->sha256 = sha256_of(c, &oom);
    }
    if (ng && !(m->grub_events = calloc(ng, sizeof(*m->grub_events))))
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    m->n_grub_events = ng;
    for (size_t i = 0; i < ng; i++) {
        const json_t *g = json_array_get(grub, i);
        m->grub_events[i].event = string_at(g, "event", &oom);
        m->grub_events[i].sha256 = sha256_of(g, &oom);
    }
    return oom ? tl_error_set_nopos(err, -ENOMEM, "out of memory") : 0;
}

int tl_manifest_parse(const uint8_t *buf, size_t len, struct tl_manifest *m, struct tl_error *err)
{
    *m = (struct tl_manifest){0};
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(doc)) {
        int r = tl_error_set_nopos(err, -EBADMSG, "%s",
                                   !doc && jerr.text[0] ? jerr.text : "not a JSON object");
        json_decref(doc);
        return r;
    }
    int r = parse_doc(doc, m, err);
    json_decref(doc);
    if (r < 0)
        tl_manifest_done(m);
    return r;
}

void tl_manifest_done(struct tl_manifest *m)
{
    for (size_t i = 0; i < m->n_components; i++) {
        free(m->components[i].kind);
        free(m->components[i].name);
        free(m->components[i].path);
        free(m->components[i].sha256);
    }
    for (size_t i = 0; i < m->n_grub_events; i++) {
        free(m->grub_events[i].event);
        free(m->grub_events[i].sha256);
    }
    free(m->components);
    free(m->grub_events);
    free(m->format);
    free(m->kernel_cmdline);
    *m = (struct tl_manifest){0};
}

const struct tl_manifest_component *tl_manifest_component(const struct tl_manifest *m,
                                                          const char *name)
{
    for (size_t i = 0; i < m->n_components; i++)
        if (m->components[i].name && strcmp(m->components[i].name, name) == 0)
            return &m->components[i];
    return NULL;
}
