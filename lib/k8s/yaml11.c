/* YAML 1.1 plain scalars the way go-yaml v2 (resolve.go) resolves them,
 * which is how Kubernetes (sigs.k8s.io/yaml) reads manifests: the 22
 * boolean spellings (y, yes, on, true, ... in three cases), the nulls ("",
 * ~, null), integers in strconv.ParseInt(s, 0, 64) syntax after removing
 * every '_' (0x, 0o, 0b, and a leading 0 for octal), floats by go-yaml's
 * pattern, and .inf / .nan. Everything else (dates, versions such as
 * 1.2.3, words) stays a string. Pure; no allocation. */
#include "yaml11.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

static bool is_one_of(const char *s, const char *const *words)
{
    for (; *words; words++)
        if (strcmp(s, *words) == 0)
            return true;
    return false;
}

static bool digits(const char *s, const char *set, size_t *n)
{
    size_t i = 0;
    while (s[i] && strchr(set, s[i]))
        i++;
    *n = i;
    return i > 0;
}

/* strconv.ParseInt(s, 0, 64)'s syntax (range aside: a too large integer is
 * a float to go-yaml), after go-yaml dropped the underscores; or its float
 * pattern ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$; or .inf,
 * .nan. */
static bool is_number(const char *in)
{
    char s[128];
    size_t k = 0;
    for (const char *p = in; *p; p++) {
        if (*p == '_')
            continue;
        if (k + 1 >= sizeof(s))
            return false; /* nothing this long is a number we need to spot */
        s[k++] = *p;
    }
    s[k] = '\0';
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    static const char *const special[] = {".inf", ".Inf", ".INF", ".nan", ".NaN", ".NAN", NULL};
    if (is_one_of(p, special))
        return p == s || (p[1] != 'n' && p[1] != 'N'); /* no sign on .nan */
    size_t n;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        return digits(p + 2, "0123456789abcdefABCDEF", &n) && p[2 + n] == '\0';
    if (p[0] == '0' && (p[1] == 'o' || p[1] == 'O'))
        return digits(p + 2, "01234567", &n) && p[2 + n] == '\0';
    if (p[0] == '0' && (p[1] == 'b' || p[1] == 'B'))
        return digits(p + 2, "01", &n) && p[2 + n] == '\0';
    bool lead = digits(p, "0123456789", &n);
    p += n;
    if (*p == '.') {
        p++;
        bool frac = digits(p, "0123456789", &n);
        p += n;
        if (!lead && !frac)
            return false;
    } else if (!lead) {
        return false;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!digits(p, "0123456789", &n))
            return false;
        p += n;
    }
    return *p == '\0';
}

enum tl_yaml11 tl_yaml11_resolve_plain(const char *s)
{
    static const char *const bools[] = {
        "y",    "Y",     "yes",   "Yes",   "YES", "n",  "N",  "no",  "No",  "NO",  "true", "True",
        "TRUE", "false", "False", "FALSE", "on",  "On", "ON", "off", "Off", "OFF", NULL};
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
    if (is_one_of(s, bools))
        return TL_YAML11_BOOL;
    if (is_one_of(s, nulls))
        return TL_YAML11_NULL;
    return is_number(s) ? TL_YAML11_NUMBER : TL_YAML11_STRING;
}
