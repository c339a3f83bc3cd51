/* Release policies: Azure Secure Key Release's grammar, parsed strictly and
 * evaluated against one node's attestation claims (tl/release_policy.h).
 *
 * Sources, and the reading taken where the grammar is silent:
 *  - The grammar: https://learn.microsoft.com/azure/key-vault/keys/policy-grammar
 *    (MicrosoftDocs/azure-docs includes/key-management-policy-grammar.md, 2023-07-20).
 *    policy = { "version": "1.0.0", "anyOf": [ authority, ... ] }; authority =
 *    { "authority": string, anyOf | allOf }; condition = claim | anyOf | allOf;
 *    "A list of conditions, one is required": an empty list is refused.
 *  - version: the grammar names "1.0.0" only, and no published policy uses
 *    another, so any other version is refused. An absent version is read as
 *    "1.0.0": the grammar page's own "Key Release Policy" example omits it.
 *  - A top-level "allOf" of authority entries: outside the EBNF, but
 *    Microsoft's "SKR policy examples" page (CVM example 2,
 *    learn.microsoft.com/azure/confidential-computing/skr-policy-examples)
 *    publishes one. It is accepted with its plain meaning, every entry met
 *    (so every entry must name this node's issuer); it can only grant less
 *    than the same entries under "anyOf".
 *  - "If a specified claim isn't present, its condition is considered to
 *    haven't been met." So every operator is false on an absent claim,
 *    notEquals included. The one exception is `"exists": false`, which
 *    would otherwise never hold: it is met exactly when the claim is absent.
 *  - "Claim names allow 'dot notation' to enable JSON object navigation"
 *    and "Array specifications aren't presently supported": a claim name is
 *    split at every '.', each segment a member name (an empty segment is
 *    refused); "[0]" is no index, just part of a name.
 *  - "Per the grammar, objects aren't allowed as values for matching":
 *    value = string | number | true | false; null, objects and arrays are
 *    refused at parse time. less/lessOrEquals/greater/greaterOrEquals take a
 *    number or a string (ordering booleans means nothing: refused);
 *    "exists" takes true or false.
 *  - Types: the grammar says nothing of comparing a claim of one JSON type
 *    with a value of another. The grammar is "modeled on Azure Policy",
 *    whose definition-structure page says for less/greater that "if the
 *    property type doesn't match the condition type, an error is thrown";
 *    for a release an error and a failed condition end the same way (no
 *    key), so a type mismatch is a condition not met, for every operator:
 *    notEquals 5 does not hold for the string "5". Numbers compare by value
 *    (integer 1 equals real 1.0); strings compare byte for byte, case
 *    included (MAA claim values are lower-case tokens, and an exact match is
 *    the reading that never grants more).
 *  - authority: "functions in the same fashion as the iss claim in a JSON
 *    Web Token". It is compared exactly with the caller's issuer, except
 *    that one trailing '/' on either is ignored (Azure's CVM policy,
 *    Azure/confidential-computing-cvm cvm_deployment/key/skr-policy.json,
 *    writes "https://sharedeus.eus.attest.azure.net/" while the examples
 *    page writes "https://sharedweu.weu.attest.azure.net"). Several entries
 *    may name the same authority (that file names sharedfrs twice): any one
 *    met grants.
 *
 * Layout: the clauses are one array; the children of a list are contiguous
 * (reserved before any of them is parsed), node 0 the root. Parsing and
 * evaluation are recursive, bounded by TL_RELEASE_POLICY_MAX_DEPTH, and
 * evaluation visits each clause at most once. */
#include "tl/release_policy.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl/cleanup.h"
#include "tl/util.h"

/* ---- JSON paths ("anyOf[1].allOf[0]") ---- */

struct path {
    char s[TL_RELEASE_POLICY_MAX_DEPTH * 20 + 32];
    size_t len;
};

static const char *list_keyword(enum tl_release_node_kind kind)
{
    return kind == TL_RELEASE_ALL_OF ? "allOf" : "anyOf";
}

/* Appends ".keyword[i]" (no dot at the root); returns the length to pop back to. */
static size_t path_push(struct path *p, const char *keyword, size_t i)
{
    size_t old = p->len;
    int n =
        snprintf(p->s + p->len, sizeof(p->s) - p->len, "%s%s[%zu]", p->len ? "." : "", keyword, i);
    if (n > 0)
        p->len += (size_t)n < sizeof(p->s) - p->len ? (size_t)n : sizeof(p->s) - 1 - p->len;
    return old;
}

static void path_pop(struct path *p, size_t old)
{
    p->len = old;
    p->s[old] = '\0';
}

/* ---- values in messages ---- */

/* Writes s (len bytes) quoted, control characters, quotes and backslashes
 * escaped, cut after 64 bytes with "...": claims come from the node and the
 * line goes to a log. s is UTF-8 (jansson checks what it loads); the cut
 * falls between characters. */
static void quote(char *out, size_t size, const char *s, size_t len)
{
    size_t o = 0;
    const size_t cut = 64;
    if (size < 16) {
        if (size)
            out[0] = '\0';
        return;
    }
    out[o++] = '"';
    size_t i = 0;
    for (; i < len && i < cut && o + 8 < size; i++) {
        unsigned char c = (unsigned char)s[i];
        /* never cut inside a UTF-8 sequence: the line may go into JSON */
        size_t seq = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
        if (seq > 1 && (i + seq > cut || o + seq + 8 >= size))
            break;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            o += (size_t)snprintf(out + o, size - o, "\\x%02x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    if (i < len && o + 5 < size) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o++] = '"';
    out[o] = '\0';
}

/* jansson's error text quotes the input near the error, raw: control
 * characters and bytes of broken UTF-8 included. Escapes every byte outside
 * printable ASCII as \xNN so the message stays one clean line. */
static void escape_bytes(char *out, size_t size, const char *s)
{
    size_t o = 0;
    for (; *s && o + 5 < size; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c >= 0x7f)
            o += (size_t)snprintf(out + o, size - o, "\\x%02x", c);
        else
            out[o++] = (char)c;
    }
    out[o] = '\0';
}

static void render(char *out, size_t size, const json_t *v)
{
    if (json_is_string(v))
        quote(out, size, json_string_value(v), json_string_length(v));
    else if (json_is_integer(v))
        snprintf(out, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        snprintf(out, size, "%.17g", json_real_value(v));
    else if (json_is_boolean(v))
        snprintf(out, size, "%s", json_is_true(v) ? "true" : "false");
    else if (json_is_null(v))
        snprintf(out, size, "null");
    else if (json_is_object(v))
        snprintf(out, size, "an object");
    else
        snprintf(out, size, "an array");
}

static const char *type_name(const json_t *v)
{
    if (json_is_string(v))
        return "a string";
    if (json_is_number(v))
        return "a number";
    if (json_is_boolean(v))
        return "a boolean";
    if (json_is_null(v))
        return "null";
    return json_is_object(v) ? "an object" : "an array";
}

static const char *const op_names[] = {
    [TL_RELEASE_EQUALS] = "equals",   [TL_RELEASE_NOT_EQUALS] = "notEquals",
    [TL_RELEASE_LESS] = "less",       [TL_RELEASE_LESS_OR_EQUALS] = "lessOrEquals",
    [TL_RELEASE_GREATER] = "greater", [TL_RELEASE_GREATER_OR_EQUALS] = "greaterOrEquals",
    [TL_RELEASE_EXISTS] = "exists",
};

const char *tl_release_op_name(enum tl_release_op op)
{
    return (size_t)op < TL_ARRAY_SIZE(op_names) ? op_names[op] : "?";
}

static int op_from_name(const char *name, enum tl_release_op *op)
{
    for (size_t i = 0; i < TL_ARRAY_SIZE(op_names); i++)
        if (strcmp(name, op_names[i]) == 0) {
            *op = (enum tl_release_op)i;
            return 0;
        }
    return -ENOENT;
}

/* ---- parsing ---- */

struct parser {
    struct tl_release_node *nodes;
    size_t n, cap;
    struct path path;
    struct tl_error *err;
};

/* "PATH[.member]: what", or "policy: what" at the root. */
__attribute__((format(printf, 4, 5))) static int fail(struct parser *ps, int code,
                                                      const char *member, const char *fmt, ...)
{
    char what[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (ps->path.len == 0 && !member)
        return tl_error_set_nopos(ps->err, code, "policy: %s", what);
    return tl_error_set_nopos(ps->err, code, "%s%s%s: %s", ps->path.s,
                              member && ps->path.len ? "." : "", member ? member : "", what);
}

/* Reserves count contiguous nodes; returns the first index or a negative errno. */
static long reserve(struct parser *ps, size_t count)
{
    /* node 0 (the root) is not a clause */
    if (ps->n + count > TL_RELEASE_POLICY_MAX_CLAUSES + 1)
        return fail(ps, -E2BIG, NULL, "more than %d clauses (the cap)",
                    TL_RELEASE_POLICY_MAX_CLAUSES);
    if (ps->n + count > ps->cap) {
        size_t cap = ps->cap ? ps->cap : 16;
        while (cap < ps->n + count)
            cap *= 2;
        struct tl_release_node *nodes = reallocarray(ps->nodes, cap, sizeof(*nodes));
        if (!nodes)
            return tl_error_set_nopos(ps->err, -ENOMEM, "out of memory");
        ps->nodes = nodes;
        ps->cap = cap;
    }
    memset(ps->nodes + ps->n, 0, count * sizeof(*ps->nodes));
    long first = (long)ps->n;
    ps->n += count;
    return first;
}

/* Member k of an object: when it is "anyOf" or "allOf", takes it as the
 * object's one list (1), or refuses a second (the grammar's "both aren't
 * allowed together"); 0 for any other name. */
static int take_list(struct parser *ps, const char *k, const json_t *v, const char **list,
                     const json_t **list_v)
{
    if (strcmp(k, "anyOf") != 0 && strcmp(k, "allOf") != 0)
        return 0;
    if (*list)
        return fail(ps, -EINVAL, NULL, "\"%s\" and \"%s\" both given", *list, k);
    *list = k;
    *list_v = v;
    return 1;
}

static int unknown_member(struct parser *ps, const char *k, const char *expected)
{
    char q[96];
    quote(q, sizeof(q), k, strlen(k));
    return fail(ps, -EINVAL, NULL, "unknown member %s (%s)", q, expected);
}

enum list_level { LEVEL_ROOT, LEVEL_ENTRY, LEVEL_CONDITION };

static int parse_condition(struct parser *ps, size_t idx, const json_t *obj, unsigned depth);
static int parse_entry(struct parser *ps, size_t idx, const json_t *obj);

/* The list member `keyword` of the object at ps->path, into node idx;
 * level says what its elements are. */
static int parse_list(struct parser *ps, size_t idx, const char *keyword, const json_t *arr,
                      enum list_level level, unsigned depth)
{
    if (!json_is_array(arr))
        return fail(ps, -EINVAL, keyword, "expected an array, not %s", type_name(arr));
    size_t n = json_array_size(arr);
    if (n == 0)
        return fail(ps, -EINVAL, keyword, "empty (the grammar requires at least one %s)",
                    level == LEVEL_ROOT ? "authority" : "condition");
    if (n > TL_RELEASE_POLICY_MAX_CLAUSES)
        return fail(ps, -E2BIG, keyword, "%zu elements, more than %d clauses (the cap)", n,
                    TL_RELEASE_POLICY_MAX_CLAUSES);
    long first = reserve(ps, n);
    if (first < 0)
        return (int)first;
    ps->nodes[idx].kind = strcmp(keyword, "allOf") == 0 ? TL_RELEASE_ALL_OF : TL_RELEASE_ANY_OF;
    ps->nodes[idx].first = (uint32_t)first;
    ps->nodes[idx].n = (uint32_t)n;
    for (size_t i = 0; i < n; i++) {
        size_t old = path_push(&ps->path, keyword, i);
        const json_t *el = json_array_get(arr, i);
        int r = level == LEVEL_ROOT ? parse_entry(ps, (size_t)first + i, el)
                                    : parse_condition(ps, (size_t)first + i, el, depth);
        if (r < 0)
            return r;
        path_pop(&ps->path, old);
    }
    return 0;
}

/* A claim name or authority: a non-empty string of bounded length. (The
 * document is loaded without JSON_ALLOW_NUL: no string holds a NUL.) */
static int parse_name(struct parser *ps, const char *member, const json_t *v, const char **out)
{
    if (!json_is_string(v))
        return fail(ps, -EINVAL, member, "expected a string, not %s", type_name(v));
    size_t len = json_string_length(v);
    if (len == 0)
        return fail(ps, -EINVAL, member, "empty");
    if (len > TL_RELEASE_POLICY_MAX_NAME)
        return fail(ps, -E2BIG, member, "%zu bytes, more than %d (the cap)", len,
                    TL_RELEASE_POLICY_MAX_NAME);
    *out = json_string_value(v);
    return 0;
}

static int parse_entry(struct parser *ps, size_t idx, const json_t *obj)
{
    if (!json_is_object(obj))
        return fail(ps, -EINVAL, NULL, "expected an authority object, not %s", type_name(obj));
    const char *k, *list = NULL;
    const json_t *v, *list_v = NULL, *auth_v = NULL;
    json_object_foreach((json_t *)obj, k, v)
    {
        int r = take_list(ps, k, v, &list, &list_v);
        if (r < 0)
            return r;
        if (r == 0 && strcmp(k, "authority") == 0)
            auth_v = v;
        else if (r == 0)
            return unknown_member(ps, k,
                                  "an authority entry has \"authority\" and \"allOf\" or "
                                  "\"anyOf\"");
    }
    if (!auth_v)
        return fail(ps, -EINVAL, NULL, "\"authority\" missing");
    int r = parse_name(ps, "authority", auth_v, &ps->nodes[idx].authority);
    if (r < 0)
        return r;
    if (!list)
        return fail(ps, -EINVAL, NULL, "\"allOf\" or \"anyOf\" missing");
    return parse_list(ps, idx, list, list_v, LEVEL_ENTRY, 1);
}

static int parse_claim_name(struct parser *ps, const json_t *v, const char **out)
{
    int r = parse_name(ps, "claim", v, out);
    if (r < 0)
        return r;
    const char *s = *out;
    size_t len = strlen(s);
    if (s[0] == '.' || s[len - 1] == '.' || strstr(s, "..")) {
        char q[96];
        quote(q, sizeof(q), s, len);
        return fail(ps, -EINVAL, "claim", "%s has an empty name between dots", q);
    }
    return 0;
}

static int parse_value(struct parser *ps, enum tl_release_op op, const json_t *v)
{
    const char *name = op_names[op];
    if (op == TL_RELEASE_EXISTS) {
        if (!json_is_boolean(v))
            return fail(ps, -EINVAL, name, "expected true or false, not %s", type_name(v));
        return 0;
    }
    if (!json_is_string(v) && !json_is_number(v) && !json_is_boolean(v))
        return fail(ps, -EINVAL, name,
                    "expected a string, number or boolean, not %s (the grammar allows no "
                    "objects, arrays or null as values)",
                    type_name(v));
    if (op != TL_RELEASE_EQUALS && op != TL_RELEASE_NOT_EQUALS && json_is_boolean(v))
        return fail(ps, -EINVAL, name, "expected a number or a string, not a boolean");
    return 0;
}

static int parse_condition(struct parser *ps, size_t idx, const json_t *obj, unsigned depth)
{
    if (!json_is_object(obj))
        return fail(ps, -EINVAL, NULL, "expected a condition object, not %s", type_name(obj));
    const char *k, *list = NULL, *op_name = NULL;
    const json_t *v, *list_v = NULL, *claim_v = NULL, *value = NULL;
    enum tl_release_op op = TL_RELEASE_EQUALS;
    json_object_foreach((json_t *)obj, k, v)
    {
        enum tl_release_op this_op;
        int r = take_list(ps, k, v, &list, &list_v);
        if (r < 0)
            return r;
        if (r == 1) {
            continue;
        } else if (strcmp(k, "claim") == 0) {
            claim_v = v;
        } else if (op_from_name(k, &this_op) == 0) {
            if (op_name)
                return fail(ps, -EINVAL, NULL, "\"%s\" and \"%s\" both given", op_name, k);
            op_name = k;
            op = this_op;
            value = v;
        } else {
            return unknown_member(ps, k,
                                  "a condition has \"claim\" and one of equals, notEquals, "
                                  "less, lessOrEquals, greater, greaterOrEquals, exists; or "
                                  "\"allOf\" or \"anyOf\"");
        }
    }
    if (list) {
        if (claim_v || op_name)
            return fail(ps, -EINVAL, NULL, "\"%s\" and \"%s\" both given", list,
                        claim_v ? "claim" : op_name);
        if (depth >= TL_RELEASE_POLICY_MAX_DEPTH)
            return fail(ps, -E2BIG, NULL, "anyOf/allOf nested more than %d deep (the cap)",
                        TL_RELEASE_POLICY_MAX_DEPTH);
        return parse_list(ps, idx, list, list_v, LEVEL_CONDITION, depth + 1);
    }
    if (!claim_v && !op_name)
        return fail(ps, -EINVAL, NULL,
                    "empty condition (expected \"claim\" with an operator, "
                    "\"allOf\" or \"anyOf\")");
    if (!claim_v)
        return fail(ps, -EINVAL, NULL, "\"%s\" without \"claim\"", op_name);
    struct tl_release_node *node = &ps->nodes[idx];
    int r = parse_claim_name(ps, claim_v, &node->claim);
    if (r < 0)
        return r;
    if (!op_name)
        return fail(ps, -EINVAL, NULL,
                    "\"claim\" without an operator (equals, notEquals, less, lessOrEquals, "
                    "greater, greaterOrEquals or exists)");
    r = parse_value(ps, op, value);
    if (r < 0)
        return r;
    node->kind = TL_RELEASE_CLAIM;
    node->op = op;
    node->value = value;
    return 0;
}

static int parse_root(struct parser *ps, const json_t *root)
{
    if (!json_is_object(root))
        return fail(ps, -EINVAL, NULL, "expected a JSON object, not %s", type_name(root));
    const char *k, *list = NULL;
    const json_t *v, *list_v = NULL;
    json_object_foreach((json_t *)root, k, v)
    {
        int r = take_list(ps, k, v, &list, &list_v);
        if (r < 0)
            return r;
        if (r == 1)
            continue;
        if (strcmp(k, "version") == 0) {
            if (!json_is_string(v))
                return fail(ps, -EINVAL, "version", "expected a string, not %s", type_name(v));
            if (strcmp(json_string_value(v), "1.0.0") != 0) {
                char q[96];
                quote(q, sizeof(q), json_string_value(v), json_string_length(v));
                return fail(ps, -EINVAL, "version",
                            "%s is not a version this parser knows "
                            "(1.0.0)",
                            q);
            }
        } else {
            return unknown_member(ps, k, "a policy has \"version\" and \"anyOf\"");
        }
    }
    if (!list)
        return fail(ps, -EINVAL, NULL, "\"anyOf\" missing");
    long r = reserve(ps, 1); /* the root, node 0 */
    if (r < 0)
        return (int)r;
    return parse_list(ps, 0, list, list_v, LEVEL_ROOT, 0);
}

int tl_release_policy_parse(const char *text, size_t len, struct tl_release_policy **out,
                            struct tl_error *err)
{
    *out = NULL;
    if (len > TL_RELEASE_POLICY_MAX_BYTES)
        return tl_error_set_nopos(err, -E2BIG, "policy: %zu bytes, more than %d (the cap)", len,
                                  TL_RELEASE_POLICY_MAX_BYTES);
    json_error_t je;
    _cleanup_json_ json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!doc) {
        char what[4 * JSON_ERROR_TEXT_LENGTH];
        escape_bytes(what, sizeof(what), je.text);
        return tl_error_set(err, -EINVAL, (size_t)je.position, "policy: %s (line %d)", what,
                            je.line);
    }
    struct parser ps = {.err = err};
    int r = parse_root(&ps, doc);
    if (r < 0) {
        free(ps.nodes);
        return r;
    }
    struct tl_release_policy *p = malloc(sizeof(*p));
    if (!p) {
        free(ps.nodes);
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    }
    *p = (struct tl_release_policy){.doc = TL_TAKE_PTR(doc), .nodes = ps.nodes, .n_nodes = ps.n};
    *out = p;
    return 0;
}

void tl_release_policy_free(struct tl_release_policy *p)
{
    if (!p)
        return;
    json_decref(p->doc);
    free(p->nodes);
    free(p);
}

/* ---- evaluation ---- */

struct evaluator {
    const struct tl_release_node *nodes;
    const json_t *claims;
    struct path path;
    /* the first failure on the recorded descent */
    char clause[sizeof(((struct tl_release_decision *)0)->clause)];
    char reason[sizeof(((struct tl_release_decision *)0)->reason)];
};

/* The claim at a dotted name, or NULL when a segment is absent or a parent
 * is not an object. */
static const json_t *claim_lookup(const json_t *claims, const char *name)
{
    const json_t *cur = claims;
    for (;;) {
        const char *dot = strchr(name, '.');
        size_t seg = dot ? (size_t)(dot - name) : strlen(name);
        if (!json_is_object(cur))
            return NULL;
        cur = json_object_getn(cur, name, seg);
        if (!cur || !dot)
            return cur;
        name = dot + 1;
    }
}

static int num_cmp(const json_t *a, const json_t *b)
{
    if (json_is_integer(a) && json_is_integer(b)) {
        json_int_t x = json_integer_value(a), y = json_integer_value(b);
        return (x > y) - (x < y);
    }
    double x = json_number_value(a), y = json_number_value(b);
    return (x > y) - (x < y);
}

static int str_cmp(const json_t *a, const json_t *b)
{
    size_t la = json_string_length(a), lb = json_string_length(b);
    int c = memcmp(json_string_value(a), json_string_value(b), la < lb ? la : lb);
    if (c)
        return c < 0 ? -1 : 1;
    return (la > lb) - (la < lb);
}

static bool same_type(const json_t *a, const json_t *b)
{
    return (json_is_string(a) && json_is_string(b)) || (json_is_number(a) && json_is_number(b)) ||
           (json_is_boolean(a) && json_is_boolean(b));
}

/* Drops an incomplete UTF-8 sequence a cut left at the end of s. */
static void utf8_trim(char *s)
{
    size_t len = strlen(s);
    for (size_t back = 1; back <= 4 && back <= len; back++) {
        unsigned char c = (unsigned char)s[len - back];
        if (c < 0x80)
            return;
        if (c >= 0xc0) {
            size_t seq = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
            if (seq > back)
                s[len - back] = '\0';
            return;
        }
    }
}

/* snprintf whose cut is intended: reasons are one bounded line. */
__attribute__((format(printf, 3, 4))) static void line(char *out, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, size, fmt, ap);
    va_end(ap);
    utf8_trim(out);
}

/* Writes the failure of claim condition n (the claim's value is v, NULL when
 * absent) to the evaluator's record. */
static void claim_failure(struct evaluator *ev, const struct tl_release_node *n, const json_t *v,
                          bool mismatch)
{
    char name[96], want[96], got[96];
    quote(name, sizeof(name), n->claim, strlen(n->claim));
    render(want, sizeof(want), n->value);
    line(ev->clause, sizeof(ev->clause), "%s", ev->path.s);
    if (!v) {
        line(ev->reason, sizeof(ev->reason), "claim %s is absent, want %s %s", name,
             op_names[n->op], want);
        return;
    }
    render(got, sizeof(got), v);
    if (n->op == TL_RELEASE_EXISTS)
        line(ev->reason, sizeof(ev->reason), "claim %s is present, want exists false", name);
    else if (mismatch && (json_is_string(v) || json_is_number(v) || json_is_boolean(v)))
        line(ev->reason, sizeof(ev->reason), "claim %s is %s (%s), want %s %s (%s)", name, got,
             type_name(v), op_names[n->op], want, type_name(n->value));
    else if (mismatch)
        line(ev->reason, sizeof(ev->reason), "claim %s is %s, want %s %s (%s)", name, type_name(v),
             op_names[n->op], want, type_name(n->value));
    else
        line(ev->reason, sizeof(ev->reason), "claim %s is %s, want %s %s", name, got,
             op_names[n->op], want);
}

static bool claim_met(struct evaluator *ev, const struct tl_release_node *n, bool record)
{
    const json_t *v = claim_lookup(ev->claims, n->claim);
    bool met;
    if (n->op == TL_RELEASE_EXISTS) {
        met = (v != NULL) == json_is_true(n->value);
    } else if (!v || !same_type(v, n->value)) {
        met = false;
    } else {
        int c;
        if (json_is_string(v))
            c = str_cmp(v, n->value);
        else if (json_is_number(v))
            c = num_cmp(v, n->value);
        else
            c = json_is_true(v) == json_is_true(n->value) ? 0 : 1; /* equals/notEquals only */
        switch (n->op) {
        case TL_RELEASE_EQUALS:
            met = c == 0;
            break;
        case TL_RELEASE_NOT_EQUALS:
            met = c != 0;
            break;
        case TL_RELEASE_LESS:
            met = c < 0;
            break;
        case TL_RELEASE_LESS_OR_EQUALS:
            met = c <= 0;
            break;
        case TL_RELEASE_GREATER:
            met = c > 0;
            break;
        case TL_RELEASE_GREATER_OR_EQUALS:
            met = c >= 0;
            break;
        default:
            met = false;
        }
    }
    if (!met && record)
        claim_failure(ev, n, v, v && n->op != TL_RELEASE_EXISTS && !same_type(v, n->value));
    return met;
}

/* Replaces the recorded failure by "none of N met; first: CLAUSE: REASON",
 * naming the list at the current path. */
static void none_met(struct evaluator *ev, const char *what, size_t n)
{
    char inner[sizeof(ev->reason)];
    snprintf(inner, sizeof(inner), "%s", ev->reason);
    char clause[sizeof(ev->clause)];
    snprintf(clause, sizeof(clause), "%s", ev->clause);
    line(ev->reason, sizeof(ev->reason), "none of %zu %s met; first: %s: %s", n, what, clause,
         inner);
}

/* Is node idx met? Each node is visited at most once. With record, a false
 * result leaves its deciding clause and reason in ev (only the first
 * alternative of an anyOf is recorded). */
static bool node_met(struct evaluator *ev, size_t idx, bool record)
{
    const struct tl_release_node *n = &ev->nodes[idx];
    if (n->kind == TL_RELEASE_CLAIM)
        return claim_met(ev, n, record);
    const char *kw = list_keyword(n->kind);
    for (size_t i = 0; i < n->n; i++) {
        size_t old = path_push(&ev->path, kw, i);
        bool met = node_met(ev, n->first + i, record && (n->kind == TL_RELEASE_ALL_OF || i == 0));
        path_pop(&ev->path, old);
        if (n->kind == TL_RELEASE_ALL_OF && !met)
            return false;
        if (n->kind == TL_RELEASE_ANY_OF && met)
            return true;
    }
    if (n->kind == TL_RELEASE_ALL_OF)
        return true;
    if (record && n->n > 1) {
        none_met(ev, "alternatives", n->n);
        line(ev->clause, sizeof(ev->clause), "%s", ev->path.s);
    }
    return false;
}

/* Authorities compare exactly, one trailing '/' on either side aside. */
static bool authority_matches(const char *policy, const char *issuer)
{
    size_t a = strlen(policy), b = strlen(issuer);
    if (a && policy[a - 1] == '/')
        a--;
    if (b && issuer[b - 1] == '/')
        b--;
    return a == b && memcmp(policy, issuer, a) == 0;
}

static void decide(struct tl_release_decision *d, bool granted, const char *clause, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));
static void decide(struct tl_release_decision *d, bool granted, const char *clause, const char *fmt,
                   ...)
{
    d->granted = granted;
    snprintf(d->clause, sizeof(d->clause), "%s", clause);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
    va_end(ap);
    utf8_trim(d->reason);
}

int tl_release_policy_eval(const struct tl_release_policy *p, const char *authority,
                           const json_t *claims, struct tl_release_decision *d)
{
    if (!authority || !json_is_object(claims)) {
        decide(d, false, "", "%s", !authority ? "no authority given" : "claims are not an object");
        return -EINVAL;
    }
    struct evaluator ev = {.nodes = p->nodes, .claims = claims};
    const struct tl_release_node *root = &p->nodes[0];
    const char *kw = list_keyword(root->kind);
    char issuer[96];
    quote(issuer, sizeof(issuer), authority, strlen(authority));
    size_t matching = 0;
    for (size_t i = 0; i < root->n; i++) {
        const struct tl_release_node *e = &p->nodes[root->first + i];
        size_t old = path_push(&ev.path, kw, i);
        if (!authority_matches(e->authority, authority)) {
            if (root->kind == TL_RELEASE_ALL_OF) {
                char q[96];
                quote(q, sizeof(q), e->authority, strlen(e->authority));
                decide(d, false, ev.path.s, "entry's authority %s is not the issuer %s", q, issuer);
                return 0;
            }
            path_pop(&ev.path, old);
            continue;
        }
        bool met = node_met(&ev, root->first + i, matching == 0 || root->kind == TL_RELEASE_ALL_OF);
        matching++;
        if (met && root->kind == TL_RELEASE_ANY_OF) {
            decide(d, true, ev.path.s, "authority %s: %s of %u condition%s met", issuer,
                   list_keyword(e->kind), e->n, e->n == 1 ? "" : "s");
            return 0;
        }
        if (!met && root->kind == TL_RELEASE_ALL_OF) {
            decide(d, false, ev.clause, "%s", ev.reason);
            return 0;
        }
        path_pop(&ev.path, old);
    }
    if (root->kind == TL_RELEASE_ALL_OF) {
        decide(d, true, kw, "authority %s: all %u entries met", issuer, root->n);
        return 0;
    }
    if (matching == 0) {
        decide(d, false, kw, "no entry for authority %s", issuer);
        return 0;
    }
    if (matching > 1) {
        none_met(&ev, "entries for this authority", matching);
        snprintf(ev.clause, sizeof(ev.clause), "%s", kw);
    }
    decide(d, false, ev.clause, "%s", ev.reason);
    return 0;
}
