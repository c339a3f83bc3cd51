/* The node constraints of pod manifests (include/tl/k8s.h), read from YAML
 * with libyaml's event parser into a small tree per document.
 *
 * Kubernetes reads manifests with sigs.k8s.io/yaml (go-yaml v2, YAML 1.1)
 * into JSON, then into typed structs: a nodeSelector value that YAML 1.1
 * resolves to a boolean (y, yes, on, true, ... in any of go-yaml's
 * spellings) or a number is not a string, and the API server refuses the
 * pod ("json: cannot unmarshal bool into Go struct field
 * PodSpec.spec.nodeSelector of type string"). So plain scalars are
 * resolved as go-yaml v2 resolves them, and a nodeSelector or
 * matchExpressions value that is not a string is an error naming the line
 * and the fix, never a silent match or mismatch.
 *
 * Invariants, for hostile input: the input size, the nesting depth, the
 * node, alias and anchor counts are capped before anything grows; an alias
 * shares the anchored node (never a copy), and an anchor is defined only
 * once its node is complete, so the tree of a document is a DAG without
 * cycles and walking it is bounded (each walk follows fixed paths and
 * counts what it collects); merge keys ("<<") are followed to a fixed
 * depth. Every scalar is NUL-terminated; libyaml's own errors are passed on
 * with their line. Nothing is logged; errors are one line in a tl_error. */
#include "tl/k8s.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "tl/util.h"
#include "yaml11.h"

#define TAG_STR     "tag:yaml.org,2002:str"
#define TAG_MERGE   "tag:yaml.org,2002:merge"
#define MERGE_DEPTH 8
#define SCALAR_MAX  (64u << 10)
/* Steps of walking the trees (map lookups through merges, merged entries):
 * aliases make a small file a large DAG, and its walks must stay cheap. */
#define WORK_MAX 2000000u

enum ykind { Y_SCALAR, Y_SEQ, Y_MAP };

struct ynode {
    enum ykind kind;
    char *value; /* scalar, NUL-terminated */
    size_t len;
    bool plain; /* plain style without a tag: resolved as go-yaml does */
    char *tag;  /* explicit tag (scalar), NULL without */
    size_t line;
    struct ynode **items; /* seq: items; map: key, value, key, value, ... */
    size_t n, cap;
};

struct anchor {
    char *name;
    struct ynode *node;
};

struct reader {
    yaml_parser_t parser;
    struct ynode **arena; /* every node of the current document */
    size_t n_arena, cap_arena;
    struct ynode *stack[TL_PODSPEC_MAX_DEPTH];
    char *stack_anchor[TL_PODSPEC_MAX_DEPTH];
    size_t depth;
    struct ynode *root;
    struct anchor anchors[TL_PODSPEC_MAX_ANCHORS];
    size_t n_anchors;
    size_t n_nodes, n_aliases; /* over the whole stream */
    size_t n_collected;        /* requirements and values, over the whole stream */
    size_t work;               /* lookups and merge steps, over the whole stream */
    bool too_complex;          /* work went past WORK_MAX */
    size_t document;
    struct tl_error *err;
    struct tl_pod_specs *out;
};

/* ---- the tree ---- */

static void doc_free(struct reader *r)
{
    for (size_t i = 0; i < r->n_arena; i++) {
        free(r->arena[i]->value);
        free(r->arena[i]->tag);
        free(r->arena[i]->items);
        free(r->arena[i]);
    }
    free(r->arena);
    r->arena = NULL;
    r->n_arena = r->cap_arena = 0;
    for (size_t i = 0; i < r->depth; i++)
        free(r->stack_anchor[i]);
    r->depth = 0;
    for (size_t i = 0; i < r->n_anchors; i++)
        free(r->anchors[i].name);
    r->n_anchors = 0;
    r->root = NULL;
}

static int oom(struct reader *r)
{
    return tl_error_set_nopos(r->err, -ENOMEM, "out of memory");
}

static int node_new(struct reader *r, enum ykind kind, const yaml_mark_t *mark, struct ynode **out)
{
    if (r->n_nodes >= TL_PODSPEC_MAX_NODES)
        return tl_error_set_nopos(r->err, -E2BIG, "more than %d YAML nodes (line %zu)",
                                  TL_PODSPEC_MAX_NODES, (size_t)mark->line + 1);
    if (r->n_arena == r->cap_arena) {
        size_t cap = r->cap_arena ? 2 * r->cap_arena : 64;
        struct ynode **a = realloc(r->arena, cap * sizeof(*a));
        if (!a)
            return oom(r);
        r->arena = a;
        r->cap_arena = cap;
    }
    struct ynode *n = calloc(1, sizeof(*n));
    if (!n)
        return oom(r);
    *n = (struct ynode){.kind = kind, .line = (size_t)mark->line + 1};
    r->arena[r->n_arena++] = n;
    r->n_nodes++;
    *out = n;
    return 0;
}

static int add_child(struct reader *r, struct ynode *child)
{
    if (r->depth == 0) {
        r->root = child;
        return 0;
    }
    struct ynode *p = r->stack[r->depth - 1];
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 8;
        struct ynode **items = realloc(p->items, cap * sizeof(*items));
        if (!items)
            return oom(r);
        p->items = items;
        p->cap = cap;
    }
    p->items[p->n++] = child;
    return 0;
}

static int anchor_define(struct reader *r, char *name, struct ynode *node)
{
    /* a later definition of the same name wins, as in YAML */
    for (size_t i = 0; i < r->n_anchors; i++)
        if (strcmp(r->anchors[i].name, name) == 0) {
            free(name);
            r->anchors[i].node = node;
            return 0;
        }
    if (r->n_anchors >= TL_PODSPEC_MAX_ANCHORS) {
        free(name);
        return tl_error_set_nopos(r->err, -E2BIG, "more than %d YAML anchors (line %zu)",
                                  TL_PODSPEC_MAX_ANCHORS, node->line);
    }
    r->anchors[r->n_anchors++] = (struct anchor){.name = name, .node = node};
    return 0;
}

static char *dup_anchor(struct reader *r, const yaml_char_t *a)
{
    if (!a)
        return NULL;
    char *s = strdup((const char *)a);
    if (!s)
        oom(r);
    return s;
}

static int extract(struct reader *r);

/* One event into the tree; a finished document is handed to extract(). */
static int on_event(struct reader *r, const yaml_event_t *e)
{
    const yaml_mark_t *m = &e->start_mark;
    int rc;
    switch (e->type) {
    case YAML_DOCUMENT_START_EVENT:
        r->document++;
        return 0;
    case YAML_DOCUMENT_END_EVENT:
        rc = r->root ? extract(r) : 0;
        doc_free(r);
        return rc;
    case YAML_SCALAR_EVENT: {
        if (e->data.scalar.length > SCALAR_MAX)
            return tl_error_set_nopos(r->err, -E2BIG,
                                      "a YAML scalar longer than %u bytes (line %zu)", SCALAR_MAX,
                                      (size_t)m->line + 1);
        struct ynode *n;
        if ((rc = node_new(r, Y_SCALAR, m, &n)) < 0)
            return rc;
        if (!(n->value = malloc(e->data.scalar.length + 1)))
            return oom(r);
        memcpy(n->value, e->data.scalar.value, e->data.scalar.length);
        n->value[e->data.scalar.length] = '\0';
        n->len = e->data.scalar.length;
        n->plain = e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !e->data.scalar.tag;
        if (e->data.scalar.tag && !(n->tag = strdup((const char *)e->data.scalar.tag)))
            return oom(r);
        if ((rc = add_child(r, n)) < 0)
            return rc;
        if (e->data.scalar.anchor) {
            char *a = dup_anchor(r, e->data.scalar.anchor);
            if (!a)
                return -ENOMEM;
            return anchor_define(r, a, n);
        }
        return 0;
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        if (r->depth >= TL_PODSPEC_MAX_DEPTH)
            return tl_error_set_nopos(r->err, -E2BIG,
                                      "YAML nested deeper than %d levels (line %zu)",
                                      TL_PODSPEC_MAX_DEPTH, (size_t)m->line + 1);
        bool seq = e->type == YAML_SEQUENCE_START_EVENT;
        struct ynode *n;
        if ((rc = node_new(r, seq ? Y_SEQ : Y_MAP, m, &n)) < 0)
            return rc;
        if ((rc = add_child(r, n)) < 0)
            return rc;
        const yaml_char_t *a = seq ? e->data.sequence_start.anchor : e->data.mapping_start.anchor;
        char *name = NULL;
        if (a && !(name = dup_anchor(r, a)))
            return -ENOMEM;
        r->stack_anchor[r->depth] = name; /* defined at the end: no cycles */
        r->stack[r->depth++] = n;
        return 0;
    }
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT: {
        if (r->depth == 0)
            return tl_error_set_nopos(r->err, -EINVAL, "unbalanced YAML (line %zu)",
                                      (size_t)m->line + 1);
        struct ynode *n = r->stack[--r->depth];
        char *name = TL_TAKE_PTR(r->stack_anchor[r->depth]);
        if (n->kind == Y_MAP && n->n % 2 != 0)
            return tl_error_set_nopos(r->err, -EINVAL, "a YAML mapping without a value (line %zu)",
                                      n->line);
        return name ? anchor_define(r, name, n) : 0;
    }
    case YAML_ALIAS_EVENT: {
        if (++r->n_aliases > TL_PODSPEC_MAX_ALIASES)
            return tl_error_set_nopos(r->err, -E2BIG, "more than %d YAML aliases (line %zu)",
                                      TL_PODSPEC_MAX_ALIASES, (size_t)m->line + 1);
        const char *name = (const char *)e->data.alias.anchor;
        for (size_t i = 0; i < r->n_anchors; i++)
            if (strcmp(r->anchors[i].name, name) == 0)
                return add_child(r, r->anchors[i].node);
        return tl_error_set_nopos(r->err, -EINVAL,
                                  "YAML alias *%.60s: no such anchor before it (line %zu)", name,
                                  (size_t)m->line + 1);
    }
    default:
        return 0;
    }
}

static enum tl_yaml11 resolve(const struct ynode *n)
{
    return n->plain ? tl_yaml11_resolve_plain(n->value) : TL_YAML11_STRING;
}

static bool is_null(const struct ynode *n)
{
    return !n || (n->kind == Y_SCALAR && resolve(n) == TL_YAML11_NULL && !n->tag);
}

/* A scalar that is a string to Kubernetes: quoted, block, !!str, "!", or a
 * plain scalar that resolves to one. */
static bool is_string(const struct ynode *n)
{
    if (!n || n->kind != Y_SCALAR)
        return false;
    if (n->tag)
        return strcmp(n->tag, TAG_STR) == 0 || strcmp(n->tag, "!") == 0;
    return resolve(n) == TL_YAML11_STRING;
}

/* Why n is not a string, for "... is NOT-A-STRING, not a string". */
static const char *what_is(const struct ynode *n)
{
    if (n->kind == Y_MAP)
        return "a mapping";
    if (n->kind == Y_SEQ)
        return "a list";
    if (n->tag)
        return "a tagged scalar";
    switch (resolve(n)) {
    case TL_YAML11_BOOL:
        return "a YAML boolean";
    case TL_YAML11_NUMBER:
        return "a YAML number";
    case TL_YAML11_NULL:
        return "YAML null";
    default:
        return "a string";
    }
}

/* ---- walking a document ---- */

static bool key_is(const struct ynode *k, const char *key)
{
    return k->kind == Y_SCALAR && strcmp(k->value, key) == 0;
}

static bool is_merge_key(const struct ynode *k)
{
    return k->kind == Y_SCALAR && ((k->plain && strcmp(k->value, "<<") == 0) ||
                                   (k->tag && strcmp(k->tag, TAG_MERGE) == 0));
}

/* The value of key in map: the last direct one, else from merged maps
 * (earlier ones first). NULL when absent or map is not a mapping. */
static const struct ynode *map_get_depth(struct reader *r, const struct ynode *map, const char *key,
                                         int depth)
{
    if (!map || map->kind != Y_MAP || depth > MERGE_DEPTH)
        return NULL;
    r->work += map->n / 2 + 1;
    if (r->work > WORK_MAX) {
        r->too_complex = true;
        return NULL;
    }
    const struct ynode *found = NULL;
    for (size_t i = 0; i + 1 < map->n; i += 2)
        if (key_is(map->items[i], key) && !is_merge_key(map->items[i]))
            found = map->items[i + 1];
    if (found)
        return found;
    for (size_t i = 0; i + 1 < map->n; i += 2) {
        if (!is_merge_key(map->items[i]))
            continue;
        const struct ynode *m = map->items[i + 1];
        if (m->kind == Y_MAP && (found = map_get_depth(r, m, key, depth + 1)))
            return found;
        for (size_t j = 0; m->kind == Y_SEQ && j < m->n; j++)
            if ((found = map_get_depth(r, m->items[j], key, depth + 1)))
                return found;
    }
    return NULL;
}

static const struct ynode *map_get(struct reader *r, const struct ynode *map, const char *key)
{
    return map_get_depth(r, map, key, 0);
}

static const struct ynode *path(struct reader *r, const struct ynode *n, const char *const *keys)
{
    for (; n && *keys; keys++)
        n = map_get(r, n, *keys);
    return n;
}

static int collected(struct reader *r, size_t line)
{
    if (++r->n_collected > TL_PODSPEC_MAX_REQS)
        return tl_error_set_nopos(r->err, -E2BIG,
                                  "more than %d node constraints and values (line %zu)",
                                  TL_PODSPEC_MAX_REQS, line);
    return 0;
}

static int add_req(struct reader *r, struct tl_selector *s, const char *key, enum tl_selector_op op,
                   size_t line, struct tl_selector_req **out)
{
    int rc = collected(r, line);
    if (rc < 0)
        return rc;
    struct tl_selector_req *reqs = realloc(s->reqs, (s->n + 1) * sizeof(*reqs));
    if (!reqs)
        return oom(r);
    s->reqs = reqs;
    reqs[s->n] = (struct tl_selector_req){.op = op, .line = line};
    if (!(reqs[s->n].key = strdup(key)))
        return oom(r);
    *out = &reqs[s->n++];
    return 0;
}

static int req_add_value(struct reader *r, struct tl_selector_req *q, const char *v)
{
    int rc = collected(r, q->line);
    if (rc < 0)
        return rc;
    char **values = realloc(q->values, (q->n_values + 1) * sizeof(*values));
    if (!values)
        return oom(r);
    q->values = values;
    if (!(values[q->n_values] = strdup(v)))
        return oom(r);
    q->n_values++;
    return 0;
}

/* The value of a label (nodeSelector, matchExpressions) must be a string. */
static int check_value(struct reader *r, const char *where, const char *key, const struct ynode *v)
{
    if (is_string(v)) {
        if (!tl_label_value_valid(v->value))
            return tl_error_set_nopos(r->err, -EINVAL,
                                      "%s %.100s: '%.63s' is not a label value (at most 63 "
                                      "letters, digits, '-', '_', '.'; alphanumeric at both "
                                      "ends) (line %zu)",
                                      where, key, v->value, v->line);
        return 0;
    }
    if (v->kind == Y_SCALAR && !v->tag && resolve(v) == TL_YAML11_NULL)
        return tl_error_set_nopos(r->err, -EINVAL,
                                  "%s %.100s: %s%s is YAML null, not a string: write \"\" for an "
                                  "empty label value (line %zu)",
                                  where, key, v->len ? "" : "(no value)", v->value, v->line);
    if (v->kind == Y_SCALAR && !v->tag)
        return tl_error_set_nopos(r->err, -EINVAL,
                                  "%s %.100s: %.40s is %s, not a string; Kubernetes rejects the "
                                  "pod (label values are strings): write \"%.40s\" in quotes "
                                  "(line %zu)",
                                  where, key, v->value, what_is(v), v->value, v->line);
    if (v->kind == Y_SCALAR)
        return tl_error_set_nopos(r->err, -EINVAL,
                                  "%s %.100s: the value tagged %.40s is not a string; Kubernetes "
                                  "rejects the pod (label values are strings) (line %zu)",
                                  where, key, v->tag, v->line);
    return tl_error_set_nopos(r->err, -EINVAL,
                              "%s %.100s: the value is %s, not a string (line %zu)", where, key,
                              what_is(v), v->line);
}

static int check_key(struct reader *r, const char *where, const struct ynode *k)
{
    if (!is_string(k))
        return tl_error_set_nopos(r->err, -EINVAL,
                                  "%s: a key that is %s, not a string: quote it (line %zu)", where,
                                  what_is(k), k->line);
    if (!tl_label_key_valid(k->value))
        return tl_error_set_nopos(r->err, -EINVAL,
                                  "%s: '%.100s' is not a label key ([prefix/]name, the name at "
                                  "most 63 letters, digits, '-', '_', '.') (line %zu)",
                                  where, k->value, k->line);
    return 0;
}

/* nodeSelector's entries (merged maps' too) into EQ requirements. */
static int node_selector(struct reader *r, const struct ynode *map, struct tl_selector *s,
                         int depth)
{
    if (depth > MERGE_DEPTH)
        return tl_error_set_nopos(r->err, -E2BIG, "nodeSelector: merges nested too deep (line %zu)",
                                  map->line);
    if (map->kind != Y_MAP)
        return tl_error_set_nopos(r->err, -EINVAL,
                                  "nodeSelector is %s, not a mapping of labels (line %zu)",
                                  what_is(map), map->line);
    int rc;
    for (size_t i = 0; i + 1 < map->n; i += 2) {
        const struct ynode *k = map->items[i], *v = map->items[i + 1];
        if (is_merge_key(k))
            continue;
        if ((rc = check_key(r, "nodeSelector", k)) < 0 ||
            (rc = check_value(r, "nodeSelector", k->value, v)) < 0)
            return rc;
        for (size_t j = 0; j < s->n; j++)
            if (strcmp(s->reqs[j].key, k->value) == 0 && depth == 0)
                return tl_error_set_nopos(r->err, -EINVAL,
                                          "nodeSelector %.100s: given twice (lines %zu and %zu)",
                                          k->value, s->reqs[j].line, k->line);
        struct tl_selector_req *q;
        if ((rc = add_req(r, s, k->value, TL_SEL_EQ, v->line, &q)) < 0 ||
            (rc = req_add_value(r, q, v->value)) < 0)
            return rc;
    }
    for (size_t i = 0; i + 1 < map->n; i += 2) {
        if (!is_merge_key(map->items[i]))
            continue;
        const struct ynode *m = map->items[i + 1];
        size_t n = m->kind == Y_SEQ ? m->n : 1;
        for (size_t j = 0; j < n; j++) {
            const struct ynode *src = m->kind == Y_SEQ ? m->items[j] : m;
            struct tl_selector merged = {0};
            rc = node_selector(r, src, &merged, depth + 1);
            for (size_t x = 0; rc == 0 && x < merged.n; x++) {
                bool have = false;
                if ((r->work += s->n + 1) > WORK_MAX)
                    return tl_selector_free(&merged),
                           tl_error_set_nopos(r->err, -E2BIG,
                                              "nodeSelector: too many merged entries (line %zu)",
                                              map->line);
                for (size_t y = 0; y < s->n; y++)
                    have |= strcmp(s->reqs[y].key, merged.reqs[x].key) == 0;
                struct tl_selector_req *q;
                if (!have && (rc = add_req(r, s, merged.reqs[x].key, TL_SEL_EQ, merged.reqs[x].line,
                                           &q)) == 0)
                    rc = req_add_value(r, q, merged.reqs[x].values[0]);
            }
            tl_selector_free(&merged);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

static const struct {
    const char *name;
    enum tl_selector_op op;
} operators[] = {
    {"In", TL_SEL_IN},         {"NotIn", TL_SEL_NOT_IN},
    {"Exists", TL_SEL_EXISTS}, {"DoesNotExist", TL_SEL_NOT_EXISTS},
    {"Gt", TL_SEL_GT},         {"Lt", TL_SEL_LT},
};

static int match_expression(struct reader *r, const struct ynode *e, struct tl_selector *term)
{
    static const char where[] = "matchExpressions";
    if (e->kind != Y_MAP)
        return tl_error_set_nopos(r->err, -EINVAL, "%s: an entry is %s, not a mapping (line %zu)",
                                  where, what_is(e), e->line);
    const struct ynode *k = map_get(r, e, "key"), *op = map_get(r, e, "operator"),
                       *values = map_get(r, e, "values");
    int rc;
    if (!k)
        return tl_error_set_nopos(r->err, -EINVAL, "%s: an entry without a key (line %zu)", where,
                                  e->line);
    if ((rc = check_key(r, where, k)) < 0)
        return rc;
    if (!op || !is_string(op))
        return tl_error_set_nopos(r->err, -EINVAL, "%s %.100s: no operator (line %zu)", where,
                                  k->value, e->line);
    size_t i = 0;
    while (i < TL_ARRAY_SIZE(operators) && strcmp(operators[i].name, op->value) != 0)
        i++;
    if (i == TL_ARRAY_SIZE(operators))
        return tl_error_set_nopos(r->err, -EINVAL,
                                  "%s %.100s: operator '%.20s' is not In, NotIn, Exists, "
                                  "DoesNotExist, Gt or Lt (line %zu)",
                                  where, k->value, op->value, op->line);
    struct tl_selector_req *q;
    if ((rc = add_req(r, term, k->value, operators[i].op, e->line, &q)) < 0)
        return rc;
    if (values && !is_null(values)) {
        if (values->kind != Y_SEQ)
            return tl_error_set_nopos(r->err, -EINVAL,
                                      "%s %.100s: values is %s, not a list (line %zu)", where,
                                      k->value, what_is(values), values->line);
        for (size_t j = 0; j < values->n; j++) {
            if ((rc = check_value(r, where, k->value, values->items[j])) < 0 ||
                (rc = req_add_value(r, q, values->items[j]->value)) < 0)
                return rc;
        }
    }
    bool need_values = q->op == TL_SEL_IN || q->op == TL_SEL_NOT_IN;
    bool one_value = q->op == TL_SEL_GT || q->op == TL_SEL_LT;
    if (need_values && q->n_values == 0)
        return tl_error_set_nopos(r->err, -EINVAL, "%s %.100s: %s needs values (line %zu)", where,
                                  k->value, op->value, e->line);
    if (one_value && q->n_values != 1)
        return tl_error_set_nopos(r->err, -EINVAL,
                                  "%s %.100s: %s needs exactly one value (line %zu)", where,
                                  k->value, op->value, e->line);
    if (!need_values && !one_value && q->n_values != 0)
        return tl_error_set_nopos(r->err, -EINVAL, "%s %.100s: %s takes no values (line %zu)",
                                  where, k->value, op->value, e->line);
    if (one_value) {
        char *end;
        errno = 0;
        (void)strtoll(q->values[0], &end, 10);
        if (!q->values[0][0] || *end || errno)
            return tl_error_set_nopos(r->err, -EINVAL,
                                      "%s %.100s: %s needs an integer, not '%.40s' (line %zu)",
                                      where, k->value, op->value, q->values[0], e->line);
    }
    return 0;
}

static int node_affinity(struct reader *r, const struct ynode *spec, struct tl_pod_spec *p)
{
    static const char *const keys[] = {"affinity", "nodeAffinity",
                                       "requiredDuringSchedulingIgnoredDuringExecution", NULL};
    const struct ynode *req = path(r, spec, keys);
    if (is_null(req))
        return 0;
    const struct ynode *terms = map_get(r, req, "nodeSelectorTerms");
    if (is_null(terms) || terms->kind != Y_SEQ || terms->n == 0)
        return tl_error_set_nopos(
            r->err, -EINVAL,
            "requiredDuringSchedulingIgnoredDuringExecution: "
            "nodeSelectorTerms must be a list of at least one term (line %zu)",
            req->line);
    if (terms->n > TL_PODSPEC_MAX_REQS)
        return tl_error_set_nopos(r->err, -E2BIG, "more than %d nodeSelectorTerms (line %zu)",
                                  TL_PODSPEC_MAX_REQS, terms->line);
    if (!(p->terms = calloc(terms->n, sizeof(*p->terms))))
        return oom(r);
    int rc;
    for (size_t i = 0; i < terms->n; i++) {
        const struct ynode *t = terms->items[i];
        p->n_terms++;
        if (t->kind != Y_MAP)
            return tl_error_set_nopos(r->err, -EINVAL,
                                      "nodeSelectorTerms: a term is %s, not a mapping (line %zu)",
                                      what_is(t), t->line);
        const struct ynode *fields = map_get(r, t, "matchFields");
        if (!is_null(fields) && !(fields->kind == Y_SEQ && fields->n == 0))
            return tl_error_set_nopos(r->err, -EINVAL,
                                      "nodeSelectorTerms: matchFields is not supported, only "
                                      "matchExpressions (line %zu)",
                                      fields->line);
        const struct ynode *exprs = map_get(r, t, "matchExpressions");
        if (is_null(exprs))
            continue; /* an empty term: matches no node */
        if (exprs->kind != Y_SEQ)
            return tl_error_set_nopos(r->err, -EINVAL,
                                      "matchExpressions is %s, not a list (line %zu)",
                                      what_is(exprs), exprs->line);
        for (size_t j = 0; j < exprs->n; j++)
            if ((rc = match_expression(r, exprs->items[j], &p->terms[i])) < 0)
                return rc;
    }
    return 0;
}

static void copy_name(char *dst, size_t size, const struct ynode *n)
{
    dst[0] = '\0';
    if (is_string(n))
        snprintf(dst, size, "%s", n->value);
}

static void pod_spec_free(struct tl_pod_spec *p)
{
    tl_selector_free(&p->node_selector);
    for (size_t i = 0; i < p->n_terms; i++)
        tl_selector_free(&p->terms[i]);
    free(p->terms);
    *p = (struct tl_pod_spec){0};
}

static const char *const pod_path[] = {"spec", NULL};
static const char *const template_path[] = {"spec", "template", "spec", NULL};
static const char *const cronjob_path[] = {"spec", "jobTemplate", "spec", "template", "spec", NULL};
static const struct {
    const char *kind;
    const char *const *path;
} kinds[] = {
    {"Pod", pod_path},
    {"Deployment", template_path},
    {"StatefulSet", template_path},
    {"DaemonSet", template_path},
    {"ReplicaSet", template_path},
    {"ReplicationController", template_path},
    {"Job", template_path},
    {"CronJob", cronjob_path},
};

/* The pod spec of the finished document, if it has one. */
static int extract_pod(struct reader *r)
{
    const struct ynode *kind = map_get(r, r->root, "kind");
    if (!is_string(kind))
        return 0;
    size_t i = 0;
    while (i < TL_ARRAY_SIZE(kinds) && strcmp(kinds[i].kind, kind->value) != 0)
        i++;
    if (i == TL_ARRAY_SIZE(kinds))
        return 0;
    const struct ynode *spec = path(r, r->root, kinds[i].path);
    if (!spec || spec->kind != Y_MAP)
        return 0;
    struct tl_pod_specs *out = r->out;
    if (out->n >= TL_PODSPEC_MAX_PODS)
        return tl_error_set_nopos(r->err, -E2BIG, "more than %d pod specs (line %zu)",
                                  TL_PODSPEC_MAX_PODS, spec->line);
    struct tl_pod_spec *pods = realloc(out->pods, (out->n + 1) * sizeof(*pods));
    if (!pods)
        return oom(r);
    out->pods = pods;
    struct tl_pod_spec *p = &pods[out->n++];
    *p = (struct tl_pod_spec){.document = r->document, .line = spec->line};
    snprintf(p->kind, sizeof(p->kind), "%s", kinds[i].kind);
    static const char *const name[] = {"metadata", "name", NULL};
    copy_name(p->name, sizeof(p->name), path(r, r->root, name));
    const struct ynode *sel = map_get(r, spec, "nodeSelector");
    int rc;
    if (!is_null(sel) && (rc = node_selector(r, sel, &p->node_selector, 0)) < 0)
        return rc;
    return node_affinity(r, spec, p);
}

static int extract(struct reader *r)
{
    int rc = extract_pod(r);
    if (rc == 0 && r->too_complex)
        rc = tl_error_set_nopos(
            r->err, -E2BIG, "document %zu: too many merge keys and aliases to follow", r->document);
    return rc;
}

/* ---- the API ---- */

void tl_pod_specs_free(struct tl_pod_specs *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        pod_spec_free(&p->pods[i]);
    free(p->pods);
    *p = (struct tl_pod_specs){0};
}

int tl_podspec_parse(const uint8_t *data, size_t len, struct tl_pod_specs *out,
                     struct tl_error *err)
{
    *out = (struct tl_pod_specs){0};
    if (len > TL_PODSPEC_MAX_INPUT)
        return tl_error_set_nopos(err, -E2BIG, "%zu bytes: a manifest of at most %u bytes is read",
                                  len, TL_PODSPEC_MAX_INPUT);
    struct reader *r = calloc(1, sizeof(*r));
    if (!r)
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    r->err = err;
    r->out = out;
    if (!yaml_parser_initialize(&r->parser)) {
        free(r);
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    }
    yaml_parser_set_input_string(&r->parser, data, len);
    int rc = 0;
    for (bool done = false; !done && rc == 0;) {
        yaml_event_t e;
        if (!yaml_parser_parse(&r->parser, &e)) {
            const char *problem = r->parser.problem ? r->parser.problem : "invalid YAML";
            rc = r->parser.error == YAML_MEMORY_ERROR
                     ? tl_error_set_nopos(err, -ENOMEM, "out of memory")
                     : tl_error_set_nopos(err, -EINVAL, "YAML: %s%s%s (line %zu)",
                                          r->parser.context ? r->parser.context : "",
                                          r->parser.context ? ": " : "", problem,
                                          (size_t)r->parser.problem_mark.line + 1);
            break;
        }
        done = e.type == YAML_STREAM_END_EVENT;
        rc = on_event(r, &e);
        yaml_event_delete(&e);
    }
    doc_free(r);
    yaml_parser_delete(&r->parser);
    free(r);
    if (rc == 0 && out->n == 0)
        rc = tl_error_set_nopos(err, -ENOENT,
                                "no pod spec: no document is a Pod, Deployment, StatefulSet, "
                                "DaemonSet, ReplicaSet, ReplicationController, Job or CronJob");
    if (rc < 0)
        tl_pod_specs_free(out);
    return rc;
}

bool tl_pod_spec_admits(const struct tl_pod_spec *p, const struct tl_label *labels, size_t n)
{
    if (!tl_selector_matches(&p->node_selector, labels, n))
        return false;
    if (p->n_terms == 0)
        return true;
    for (size_t i = 0; i < p->n_terms; i++)
        if (p->terms[i].n > 0 && tl_selector_matches(&p->terms[i], labels, n))
            return true;
    return false;
}
