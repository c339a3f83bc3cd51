/* Writing and merging kubeconfigs: see kubeconfig.h.
 *
 * The existing file is loaded as a libyaml document and re-emitted event
 * by event; the three lists (clusters, contexts, users) are emitted without
 * the entries of our names, then with ours appended, and current-context is
 * set. Everything else (other keys, their order, quoting) passes through.
 * Anchors and aliases are expanded (the loader resolves them). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "kubeconfig.h"
#include "output.h"
#include "tl.h"
#include "tl/cleanup.h"

struct out {
    char *p;
    size_t len, cap;
};

static int on_output(void *data, unsigned char *buffer, size_t size)
{
    struct out *o = data;
    if (o->len + size + 1 > o->cap) {
        size_t cap = (o->len + size + 1) * 2;
        char *n = realloc(o->p, cap);
        if (!n)
            return 0;
        o->p = n;
        o->cap = cap;
    }
    memcpy(o->p + o->len, buffer, size);
    o->len += size;
    o->p[o->len] = 0;
    return 1;
}

/* Emitting: each returns 0 or -EIO (emitter failure). */
static int emit(yaml_emitter_t *e, yaml_event_t *ev)
{
    return yaml_emitter_emit(e, ev) ? 0 : -EIO;
}

static int emit_str(yaml_emitter_t *e, const char *v)
{
    yaml_event_t ev;
    yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)v, (int)strlen(v), 1, 1,
                                 tlc_yaml_string_style(v));
    return emit(e, &ev);
}

static int emit_map_start(yaml_emitter_t *e)
{
    yaml_event_t ev;
    yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
    return emit(e, &ev);
}

static int emit_map_end(yaml_emitter_t *e)
{
    yaml_event_t ev;
    yaml_mapping_end_event_initialize(&ev);
    return emit(e, &ev);
}

/* A mapping of string pairs, NULL-terminated: {k1, v1, k2, v2, NULL}. A
 * value of NULL followed by a nested list opens a submapping: see callers. */
static int emit_pairs(yaml_emitter_t *e, const char *const *kv)
{
    int r = emit_map_start(e);
    for (; r == 0 && kv[0]; kv += 2)
        if ((r = emit_str(e, kv[0])) == 0)
            r = emit_str(e, kv[1]);
    return r < 0 ? r : emit_map_end(e);
}

/* {name: NAME, KIND: {pairs}} as kubectl writes entries. */
static int emit_entry(yaml_emitter_t *e, const char *kind, const char *name,
                      const char *const *pairs)
{
    int r;
    if ((r = emit_map_start(e)) < 0 || (r = emit_str(e, kind)) < 0 ||
        (r = emit_pairs(e, pairs)) < 0 || (r = emit_str(e, "name")) < 0 ||
        (r = emit_str(e, name)) < 0)
        return r;
    return emit_map_end(e);
}

static int emit_ours(yaml_emitter_t *e, const char *list, const struct kube_credentials *c)
{
    if (strcmp(list, "clusters") == 0) {
        const char *const with_ca[] = {"certificate-authority-data", c->ca_data, "server",
                                       c->server, NULL};
        const char *const pairs[] = {"server", c->server, NULL};
        return emit_entry(e, "cluster", c->cluster, c->ca_data ? with_ca : pairs);
    }
    if (strcmp(list, "contexts") == 0) {
        const char *const pairs[] = {"cluster", c->cluster, "user", c->user, NULL};
        return emit_entry(e, "context", c->cluster, pairs);
    }
    const char *const pairs[] = {"token", c->token, NULL};
    return emit_entry(e, "user", c->user, pairs);
}

static bool is_default_tag(const yaml_node_t *n)
{
    const char *tag = (const char *)n->tag;
    return !tag || strcmp(tag, YAML_DEFAULT_SCALAR_TAG) == 0 ||
           strcmp(tag, YAML_DEFAULT_SEQUENCE_TAG) == 0 ||
           strcmp(tag, YAML_DEFAULT_MAPPING_TAG) == 0;
}

/* Re-emits a loaded node as it was (style and explicit tags kept). */
static int emit_node(yaml_emitter_t *e, yaml_document_t *doc, yaml_node_t *n, int depth)
{
    yaml_event_t ev;
    int r = 0;
    bool implicit = is_default_tag(n);
    if (depth > 64)
        return -ELOOP;
    switch (n->type) {
    case YAML_SCALAR_NODE:
        yaml_scalar_event_initialize(&ev, NULL, implicit ? NULL : n->tag, n->data.scalar.value,
                                     (int)n->data.scalar.length, implicit, implicit,
                                     n->data.scalar.style);
        return emit(e, &ev);
    case YAML_SEQUENCE_NODE:
        yaml_sequence_start_event_initialize(&ev, NULL, implicit ? NULL : n->tag, implicit,
                                             n->data.sequence.style);
        if ((r = emit(e, &ev)) < 0)
            return r;
        for (yaml_node_item_t *i = n->data.sequence.items.start;
             r == 0 && i < n->data.sequence.items.top; i++)
            r = emit_node(e, doc, yaml_document_get_node(doc, *i), depth + 1);
        if (r < 0)
            return r;
        yaml_sequence_end_event_initialize(&ev);
        return emit(e, &ev);
    case YAML_MAPPING_NODE:
        yaml_mapping_start_event_initialize(&ev, NULL, implicit ? NULL : n->tag, implicit,
                                            n->data.mapping.style);
        if ((r = emit(e, &ev)) < 0)
            return r;
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
             r == 0 && p < n->data.mapping.pairs.top; p++) {
            r = emit_node(e, doc, yaml_document_get_node(doc, p->key), depth + 1);
            if (r == 0)
                r = emit_node(e, doc, yaml_document_get_node(doc, p->value), depth + 1);
        }
        return r < 0 ? r : emit_map_end(e);
    default:
        return -EINVAL;
    }
}

static const char *scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* The value of key in mapping n, or NULL. */
static yaml_node_t *get(yaml_document_t *doc, const yaml_node_t *n, const char *key)
{
    if (!n || n->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        const char *k = scalar(yaml_document_get_node(doc, p->key));
        if (k && strcmp(k, key) == 0)
            return yaml_document_get_node(doc, p->value);
    }
    return NULL;
}

static bool same(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

static const char *our_name(const char *list, const struct kube_credentials *c)
{
    return strcmp(list, "users") == 0 ? c->user : c->cluster;
}

/* An entry of list named like ours that differs from ours: its kind
 * ("cluster", "context", "user"), else NULL. */
static const char *conflict(yaml_document_t *doc, yaml_node_t *root, const char *list,
                            const struct kube_credentials *c)
{
    yaml_node_t *seq = get(doc, root, list);
    if (!seq || seq->type != YAML_SEQUENCE_NODE)
        return NULL;
    for (yaml_node_item_t *i = seq->data.sequence.items.start; i < seq->data.sequence.items.top;
         i++) {
        yaml_node_t *entry = yaml_document_get_node(doc, *i);
        if (!same(scalar(get(doc, entry, "name")), our_name(list, c)))
            continue;
        if (strcmp(list, "clusters") == 0 &&
            !same(scalar(get(doc, get(doc, entry, "cluster"), "server")), c->server))
            return "cluster";
        if (strcmp(list, "contexts") == 0 &&
            (!same(scalar(get(doc, get(doc, entry, "context"), "cluster")), c->cluster) ||
             !same(scalar(get(doc, get(doc, entry, "context"), "user")), c->user)))
            return "context";
        if (strcmp(list, "users") == 0 &&
            !same(scalar(get(doc, get(doc, entry, "user"), "token")), c->token))
            return "user";
    }
    return NULL;
}

static int emit_list(yaml_emitter_t *e, yaml_document_t *doc, yaml_node_t *old, const char *list,
                     const struct kube_credentials *c)
{
    yaml_event_t ev;
    int r;
    if ((r = emit_str(e, list)) < 0)
        return r;
    yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
    if ((r = emit(e, &ev)) < 0)
        return r;
    if (old && old->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *i = old->data.sequence.items.start;
             r == 0 && i < old->data.sequence.items.top; i++) {
            yaml_node_t *entry = yaml_document_get_node(doc, *i);
            if (!same(scalar(get(doc, entry, "name")), our_name(list, c)))
                r = emit_node(e, doc, entry, 0);
        }
    }
    if (r == 0)
        r = emit_ours(e, list, c);
    if (r < 0)
        return r;
    yaml_sequence_end_event_initialize(&ev);
    return emit(e, &ev);
}

static const char *const lists[] = {"clusters", "contexts", "users"};

/* The root mapping, each of our keys replaced in place or appended. */
static int emit_config(yaml_emitter_t *e, yaml_document_t *doc, yaml_node_t *root,
                       const struct kube_credentials *c)
{
    bool done_list[3] = {false, false, false}, done_current = false;
    int r = emit_map_start(e);
    if (r == 0 && !root) {
        const char *const head[] = {"apiVersion", "v1", "kind", "Config", NULL};
        for (const char *const *kv = head; r == 0 && *kv; kv += 2)
            if ((r = emit_str(e, kv[0])) == 0)
                r = emit_str(e, kv[1]);
    }
    if (root) {
        for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
             r == 0 && p < root->data.mapping.pairs.top; p++) {
            yaml_node_t *key = yaml_document_get_node(doc, p->key);
            yaml_node_t *value = yaml_document_get_node(doc, p->value);
            const char *k = scalar(key);
            size_t which = 3;
            for (size_t i = 0; k && i < 3; i++)
                if (strcmp(k, lists[i]) == 0)
                    which = i;
            if (which < 3 && !done_list[which]) {
                r = emit_list(e, doc, value, lists[which], c);
                done_list[which] = true;
            } else if (k && strcmp(k, "current-context") == 0 && !done_current) {
                if ((r = emit_str(e, k)) == 0)
                    r = emit_str(e, c->cluster);
                done_current = true;
            } else if ((r = emit_node(e, doc, key, 0)) == 0) {
                r = emit_node(e, doc, value, 0);
            }
        }
    }
    for (size_t i = 0; r == 0 && i < 3; i++)
        if (!done_list[i])
            r = emit_list(e, doc, NULL, lists[i], c);
    if (r == 0 && !done_current && (r = emit_str(e, "current-context")) == 0)
        r = emit_str(e, c->cluster);
    return r < 0 ? r : emit_map_end(e);
}

struct config_body {
    yaml_document_t *doc;
    yaml_node_t *root;
    const struct kube_credentials *cred;
};

static int emit_config_body(yaml_emitter_t *e, void *ctx)
{
    struct config_body *b = ctx;
    return emit_config(e, b->doc, b->root, b->cred);
}

static bool blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '#') /* a comment line */
            i += strcspn(s + i, "\n");
        else if (!isspace((unsigned char)s[i]))
            return false;
    }
    return true;
}

int kubeconfig_merge(const char *old, size_t old_len, const struct kube_credentials *cred,
                     bool overwrite, char **out, size_t *out_len, struct tl_error *err)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_emitter_t e;
    struct out o = {0};
    bool have_doc = false, parser_ok = false;
    yaml_node_t *root = NULL;
    int r = 0;
    if (old && !blank(old, old_len)) {
        parser_ok = yaml_parser_initialize(&parser);
        if (!parser_ok)
            return -ENOMEM;
        yaml_parser_set_input_string(&parser, (const unsigned char *)old, old_len);
        have_doc = yaml_parser_load(&parser, &doc);
        if (!have_doc) {
            r = tl_error_set_nopos(err, -EINVAL, "not YAML (%s at line %zu)",
                                   parser.problem ? parser.problem : "parse error",
                                   parser.problem_mark.line + 1);
        } else {
            root = yaml_document_get_root_node(&doc);
            const char *kind = scalar(get(&doc, root, "kind"));
            if (root && (root->type != YAML_MAPPING_NODE || (kind && strcmp(kind, "Config")))) {
                r = tl_error_set_nopos(err, -EINVAL, "not a kubeconfig (%s)",
                                       root->type != YAML_MAPPING_NODE
                                           ? "its top level is not a mapping"
                                           : "its kind is not Config");
            }
        }
        if (r == -EINVAL && overwrite) {
            root = NULL; /* replaced as a whole */
            r = 0;
        }
    }
    for (size_t i = 0; r == 0 && root && !overwrite && i < 3; i++) {
        const char *kind = conflict(&doc, root, lists[i], cred);
        if (kind) {
            r = tl_error_set_nopos(err, -EEXIST,
                                   "a different %s named \"%s\" is already there; use "
                                   "--overwrite-existing to replace it",
                                   kind, our_name(lists[i], cred));
        }
    }
    if (r == 0 && !yaml_emitter_initialize(&e))
        r = tl_error_set_nopos(err, -ENOMEM, "out of memory");
    else if (r == 0) {
        yaml_emitter_set_output(&e, on_output, &o);
        struct config_body body = {&doc, root, cred};
        r = tlc_yaml_document(&e, emit_config_body, &body);
        if (r < 0)
            tl_error_set_nopos(err, r, "cannot write YAML: %s",
                               e.problem ? e.problem : strerror(-r));
        yaml_emitter_delete(&e);
    }
    if (have_doc)
        yaml_document_delete(&doc);
    if (parser_ok)
        yaml_parser_delete(&parser);
    if (r < 0 || !o.p) {
        free(o.p);
        return r < 0 ? r : tl_error_set_nopos(err, -EIO, "cannot write YAML: no output");
    }
    *out = o.p;
    *out_len = o.len;
    return 0;
}

int kubeconfig_path(const char *file, char *out, size_t len)
{
    if (file && *file)
        return snprintf(out, len, "%s", file) < (int)len ? 0 : -ENAMETOOLONG;
    const char *env = getenv("KUBECONFIG");
    if (env) {
        /* The first non-empty path of a colon-separated list. */
        for (const char *p = env; *p;) {
            size_t n = strcspn(p, ":");
            if (n)
                return snprintf(out, len, "%.*s", (int)n, p) < (int)len ? 0 : -ENAMETOOLONG;
            p += n + (p[n] == ':');
        }
    }
    const char *home = getenv("HOME");
    if (!home || !*home)
        return -ENOENT;
    return snprintf(out, len, "%s/.kube/config", home) < (int)len ? 0 : -ENAMETOOLONG;
}

static int mkdir_parents(const char *path)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = 0;
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

int kubeconfig_write(const char *path, const struct kube_credentials *cred, bool overwrite,
                     struct tl_error *err)
{
    _cleanup_free_ uint8_t *old = NULL;
    size_t old_len = 0;
    int r;
    if (access(path, F_OK) == 0) {
        if ((r = tlc_file_load(path, &old, &old_len, err)) < 0)
            return r;
    } else if (errno != ENOENT) {
        return tl_error_set_nopos(err, -errno, "%s: %s", path, strerror(errno));
    }
    _cleanup_free_ char *text = NULL;
    size_t len = 0;
    struct tl_error merge_err = {0};
    r = kubeconfig_merge((const char *)old, old_len, cred, overwrite, &text, &len, &merge_err);
    if (r == -EINVAL)
        return tl_error_set_nopos(err, r,
                                  "%s: %s; not overwritten (use --overwrite-existing, or --file)",
                                  path, merge_err.message);
    if (r < 0)
        return tl_error_set_nopos(err, r, "%s: %s", path,
                                  *merge_err.message ? merge_err.message : strerror(-r));
    if ((r = mkdir_parents(path)) < 0)
        return tl_error_set_nopos(err, r, "%s: cannot create its directory: %s", path,
                                  strerror(-r));
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return tl_error_set_nopos(err, -errno, "%s: cannot create a file beside it: %s", path,
                                  strerror(errno));
    fchmod(fd, 0600);
    r = tlc_fd_write_all(fd, tmp, text, len, err);
    if (r == 0 && rename(tmp, path) < 0)
        r = tl_error_set_nopos(err, -errno, "%s: cannot replace: %s", path, strerror(errno));
    if (r < 0)
        unlink(tmp);
    return r;
}
