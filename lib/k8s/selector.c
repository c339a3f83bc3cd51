/* Kubernetes label selectors (include/tl/k8s.h), the grammar of
 * k8s.io/apimachinery/pkg/labels (selector.go) that `kubectl -l` takes:
 *
 *   selector    := requirement ( "," requirement )*   (empty: everything)
 *   requirement := "!" KEY | KEY [ ("=" | "==" | "!=") VALUE
 *                                | ("in" | "notin") "(" VALUE ("," VALUE)* ")"
 *                                | (">" | "<") INTEGER ]
 *
 * Whitespace separates tokens and is otherwise ignored; an identifier runs
 * to the next whitespace or one of ! = ( ) , < >. Keys and values are
 * checked as label keys and values. Matching: "!=" and "notin" also match
 * a node without the label; ">" and "<" need the label to be an integer.
 * Invariants: parsing allocates only into *out (freed on failure); a
 * message names the 1-based character where the selector went wrong. */
#include "tl/k8s.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "tl/util.h"

/* ---- label syntax ---- */

static bool alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* A qualified name part: [A-Za-z0-9] at the ends, [-_.A-Za-z0-9] inside. */
static bool name_valid(const char *s, size_t n)
{
    if (n == 0 || n > TL_LABEL_NAME_MAX || !alnum(s[0]) || !alnum(s[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
            return false;
    return true;
}

/* RFC 1123 subdomain: lowercase labels [a-z0-9]([-a-z0-9]*[a-z0-9])? joined
 * by dots, at most 253 characters. */
static bool subdomain_valid(const char *s, size_t n)
{
    if (n == 0 || n > TL_LABEL_PREFIX_MAX)
        return false;
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != '.') {
            char c = s[i];
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
                return false;
            continue;
        }
        if (i == start || s[start] == '-' || s[i - 1] == '-' || i - start > 63)
            return false;
        start = i + 1;
    }
    return true;
}

bool tl_label_key_valid(const char *key)
{
    if (!key)
        return false;
    size_t n = strlen(key);
    const char *slash = memchr(key, '/', n);
    if (!slash)
        return name_valid(key, n);
    return subdomain_valid(key, (size_t)(slash - key)) &&
           name_valid(slash + 1, n - (size_t)(slash - key) - 1);
}

bool tl_label_value_valid(const char *value)
{
    return value && (value[0] == '\0' || name_valid(value, strlen(value)));
}

const char *tl_selector_op_name(enum tl_selector_op op)
{
    static const char *const names[] = {
        [TL_SEL_EQ] = "=",         [TL_SEL_NE] = "!=",         [TL_SEL_IN] = "in",
        [TL_SEL_NOT_IN] = "notin", [TL_SEL_EXISTS] = "exists", [TL_SEL_NOT_EXISTS] = "!",
        [TL_SEL_GT] = ">",         [TL_SEL_LT] = "<",
    };
    return (unsigned)op < TL_ARRAY_SIZE(names) ? names[op] : "?";
}

/* ---- lexer ---- */

enum tok {
    T_END,
    T_IDENT,
    T_NOT,
    T_EQ,
    T_DEQ,
    T_NE,
    T_IN,
    T_NOTIN,
    T_LPAREN,
    T_RPAREN,
    T_COMMA,
    T_GT,
    T_LT
};

struct lexer {
    const char *s;
    size_t pos;       /* next character */
    size_t tok_start; /* of the current token */
    enum tok tok;
    const char *ident; /* T_IDENT, T_IN, T_NOTIN: not NUL-terminated */
    size_t ident_len;
};

static bool special(char c)
{
    return c == '!' || c == '=' || c == '(' || c == ')' || c == ',' || c == '<' || c == '>' ||
           isspace((unsigned char)c) || c == '\0';
}

static void next(struct lexer *l)
{
    while (isspace((unsigned char)l->s[l->pos]))
        l->pos++;
    l->tok_start = l->pos;
    const char *p = l->s + l->pos;
    switch (*p) {
    case '\0':
        l->tok = T_END;
        return;
    case '!':
        l->tok = p[1] == '=' ? T_NE : T_NOT;
        l->pos += p[1] == '=' ? 2 : 1;
        return;
    case '=':
        l->tok = p[1] == '=' ? T_DEQ : T_EQ;
        l->pos += p[1] == '=' ? 2 : 1;
        return;
    case '(':
        l->tok = T_LPAREN;
        l->pos++;
        return;
    case ')':
        l->tok = T_RPAREN;
        l->pos++;
        return;
    case ',':
        l->tok = T_COMMA;
        l->pos++;
        return;
    case '>':
        l->tok = T_GT;
        l->pos++;
        return;
    case '<':
        l->tok = T_LT;
        l->pos++;
        return;
    }
    size_t n = 0;
    while (!special(p[n]))
        n++;
    l->ident = p;
    l->ident_len = n;
    l->pos += n;
    l->tok = (n == 2 && memcmp(p, "in", 2) == 0)      ? T_IN
             : (n == 5 && memcmp(p, "notin", 5) == 0) ? T_NOTIN
                                                      : T_IDENT;
}

/* ---- parser ---- */

static int fail(struct tl_error *err, const struct lexer *l, const char *what)
{
    return tl_error_set_nopos(err, -EINVAL, "label selector: character %zu: %s", l->tok_start + 1,
                              what);
}

static void req_free(struct tl_selector_req *r)
{
    free(r->key);
    for (size_t i = 0; i < r->n_values; i++)
        free(r->values[i]);
    free(r->values);
    *r = (struct tl_selector_req){0};
}

void tl_selector_free(struct tl_selector *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        req_free(&s->reqs[i]);
    free(s->reqs);
    *s = (struct tl_selector){0};
}

/* Makes room for element n of an array that holds n, growing it to the next
 * power of two when n is one (capacities are implied by the counts): a
 * selector of many values grows in O(length), not O(length^2) copies. */
static int room_for(void *array_ptr, size_t n, size_t elem_size)
{
    void **array = array_ptr;
    if (n != 0 && (n & (n - 1)) != 0)
        return 0;
    void *p = realloc(*array, (n ? 2 * n : 1) * elem_size);
    if (!p)
        return -ENOMEM;
    *array = p;
    return 0;
}

static int add_value(struct tl_selector_req *r, const char *v, size_t n)
{
    if (room_for(&r->values, r->n_values, sizeof(*r->values)) < 0)
        return -ENOMEM;
    char **values = r->values;
    if (!(values[r->n_values] = strndup(v, n)))
        return -ENOMEM;
    r->n_values++;
    return 0;
}

static bool integer(const char *s, long long *out)
{
    if (!*s)
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end || errno || isspace((unsigned char)*s))
        return false;
    if (out)
        *out = v;
    return true;
}

/* A value: an identifier, or nothing (the empty value) before "," ")" or
 * the end. */
static int parse_value(struct lexer *l, struct tl_selector_req *r, struct tl_error *err)
{
    const char *v = "";
    size_t n = 0;
    if (l->tok == T_IDENT || l->tok == T_IN || l->tok == T_NOTIN) {
        v = l->ident;
        n = l->ident_len;
        next(l);
    } else if (l->tok != T_COMMA && l->tok != T_RPAREN && l->tok != T_END) {
        return fail(err, l, "expected a value");
    }
    if (add_value(r, v, n) < 0)
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    if (!tl_label_value_valid(r->values[r->n_values - 1]))
        return tl_error_set_nopos(err, -EINVAL,
                                  "label selector: '%.63s': not a label value (at most 63 "
                                  "letters, digits, '-', '_', '.'; alphanumeric at both ends)",
                                  r->values[r->n_values - 1]);
    return 0;
}

static int parse_requirement(struct lexer *l, struct tl_selector_req *r, struct tl_error *err)
{
    bool negated = l->tok == T_NOT;
    if (negated)
        next(l);
    if (l->tok != T_IDENT)
        return fail(err, l, negated ? "expected a label key after '!'" : "expected a label key");
    if (!(r->key = strndup(l->ident, l->ident_len)))
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    if (!tl_label_key_valid(r->key))
        return tl_error_set_nopos(err, -EINVAL,
                                  "label selector: '%.80s': not a label key ([prefix/]name, the "
                                  "name at most 63 letters, digits, '-', '_', '.')",
                                  r->key);
    next(l);
    if (negated) {
        r->op = TL_SEL_NOT_EXISTS;
        if (l->tok != T_COMMA && l->tok != T_END)
            return fail(err, l, "expected ',' or the end after '!KEY'");
        return 0;
    }
    int rc;
    switch (l->tok) {
    case T_COMMA:
    case T_END:
        r->op = TL_SEL_EXISTS;
        return 0;
    case T_EQ:
    case T_DEQ:
    case T_NE:
        r->op = l->tok == T_NE ? TL_SEL_NE : TL_SEL_EQ;
        next(l);
        return parse_value(l, r, err);
    case T_GT:
    case T_LT:
        r->op = l->tok == T_GT ? TL_SEL_GT : TL_SEL_LT;
        next(l);
        if (l->tok != T_IDENT)
            return fail(err, l, "expected an integer");
        if ((rc = parse_value(l, r, err)) < 0)
            return rc;
        if (!integer(r->values[0], NULL))
            return tl_error_set_nopos(err, -EINVAL, "label selector: '%s %s': needs an integer",
                                      r->key, tl_selector_op_name(r->op));
        return 0;
    case T_IN:
    case T_NOTIN:
        r->op = l->tok == T_IN ? TL_SEL_IN : TL_SEL_NOT_IN;
        next(l);
        if (l->tok != T_LPAREN)
            return fail(err, l,
                        r->op == TL_SEL_IN ? "expected '(' after 'in'"
                                           : "expected '(' after 'notin'");
        next(l);
        if (l->tok == T_RPAREN)
            return fail(err, l, "'in' and 'notin' need at least one value");
        for (;;) {
            if ((rc = parse_value(l, r, err)) < 0)
                return rc;
            if (l->tok == T_RPAREN)
                break;
            if (l->tok != T_COMMA)
                return fail(err, l, "expected ',' or ')'");
            next(l);
        }
        next(l);
        if (l->tok != T_COMMA && l->tok != T_END)
            return fail(err, l, "expected ',' or the end after ')'");
        return 0;
    default:
        return fail(err, l, "expected '=', '==', '!=', 'in', 'notin', '>', '<', ',' or the end");
    }
}

int tl_selector_parse(const char *text, struct tl_selector *out, struct tl_error *err)
{
    *out = (struct tl_selector){0};
    if (!text)
        return tl_error_set_nopos(err, -EINVAL, "label selector: none given");
    struct lexer l = {.s = text};
    next(&l);
    if (l.tok == T_END)
        return 0;
    for (;;) {
        if (room_for(&out->reqs, out->n, sizeof(*out->reqs)) < 0) {
            tl_selector_free(out);
            return tl_error_set_nopos(err, -ENOMEM, "out of memory");
        }
        struct tl_selector_req *reqs = out->reqs;
        reqs[out->n] = (struct tl_selector_req){0};
        int r = parse_requirement(&l, &reqs[out->n++], err);
        if (r < 0) {
            tl_selector_free(out);
            return r;
        }
        if (l.tok == T_END)
            return 0;
        if (l.tok != T_COMMA) {
            r = fail(err, &l, "expected ',' or the end");
            tl_selector_free(out);
            return r;
        }
        next(&l);
        if (l.tok == T_END) {
            tl_selector_free(out);
            return fail(err, &l, "expected a requirement after ','");
        }
    }
}

/* ---- matching ---- */

static const char *label_get(const struct tl_label *labels, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (labels[i].key && strcmp(labels[i].key, key) == 0)
            return labels[i].value ? labels[i].value : "";
    return NULL;
}

static bool in_values(const struct tl_selector_req *r, const char *v)
{
    for (size_t i = 0; i < r->n_values; i++)
        if (strcmp(r->values[i], v) == 0)
            return true;
    return false;
}

static bool req_matches(const struct tl_selector_req *r, const struct tl_label *labels, size_t n)
{
    const char *v = label_get(labels, n, r->key);
    long long have, want;
    switch (r->op) {
    case TL_SEL_EQ:
    case TL_SEL_IN:
        return v && in_values(r, v);
    case TL_SEL_NE:
    case TL_SEL_NOT_IN:
        return !v || !in_values(r, v);
    case TL_SEL_EXISTS:
        return v != NULL;
    case TL_SEL_NOT_EXISTS:
        return v == NULL;
    case TL_SEL_GT:
    case TL_SEL_LT:
        if (!v || r->n_values != 1 || !integer(v, &have) || !integer(r->values[0], &want))
            return false;
        return r->op == TL_SEL_GT ? have > want : have < want;
    }
    return false;
}

bool tl_selector_matches(const struct tl_selector *s, const struct tl_label *labels, size_t n)
{
    for (size_t i = 0; i < s->n; i++)
        if (!req_matches(&s->reqs[i], labels, n))
            return false;
    return true;
}
