/* An agent call's JSON body, parsed fast: an attest body carries the event
 * log as one long base64 string (~27 KB for OVMF's), which jansson reads a
 * byte at a time (~0.3 ms, a third of an attestation's CPU). When that
 * string is a plain base64 member of the top-level object, jansson parses
 * the body with it emptied and the string is put back without a second
 * look. The result must equal json_loadb(body, JSON_REJECT_DUPLICATES)
 * for every input: tests/fuzz/fuzz_agentbody.c checks exactly that.
 * Pure: no tld state. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "tl/base64.h"
#include "tld.h"

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Finds the top-level member `key` of the JSON object in b when its value
 * is a string of base64 characters only: its content is b[*vs, *ve).
 * JSON's lexical rules are all that is needed to skip the rest: a string
 * runs from an unescaped quote to the next one, a backslash escapes the
 * byte after it (\uXXXX's hex digits are neither quote nor backslash), and
 * outside strings { [ open and } ] close. A key is a string at depth 1
 * followed by ':' (only invalid JSON has another such string, and it stays
 * invalid after the splice below). false: anything else (an escaped key,
 * a value with escapes, no such member): the caller parses the whole. */
static bool find_b64_member(const char *b, size_t len, const char *key, size_t *vs, size_t *ve)
{
    size_t i = 0, klen = strlen(key);
    int depth = 0;
    while (i < len && is_ws(b[i]))
        i++;
    if (i == len || b[i] != '{')
        return false;
    for (; i < len; i++) {
        char c = b[i];
        if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (--depth <= 0)
                return false; /* the top-level object ended */
        } else if (c == '"') {
            size_t s = ++i;
            for (; i < len && b[i] != '"'; i++)
                if (b[i] == '\\')
                    i++;
            if (i >= len)
                return false;
            if (depth != 1 || i - s != klen || memcmp(b + s, key, klen) != 0)
                continue;
            size_t k = i + 1;
            while (k < len && is_ws(b[k]))
                k++;
            if (k == len || b[k] != ':')
                continue; /* a value, not a key */
            for (k++; k < len && is_ws(b[k]); k++)
                ;
            if (k == len || b[k] != '"')
                return false;
            size_t v = ++k;
            k += tl_base64_span(b + k, len - k, 0);
            if (k == len || b[k] != '"')
                return false;
            *vs = v;
            *ve = k;
            return true;
        }
    }
    return false;
}

/* An agent call's body as a JSON object (NULL: it is not one). For a large
 * body whose "eventlog" is a plain base64 string, jansson parses the body
 * with that string emptied (a valid document exactly when the original
 * is: one string's content changed for another's, duplicate keys still
 * seen) and the string is put back without a second look (base64 is
 * ASCII). The same object as json_loadb of the whole body, ~20x faster. */
json_t *tld_agent_body_parse(const char *b, size_t len)
{
    json_error_t jerr;
    size_t vs, ve;
    json_t *j = NULL;
    if (!len)
        return json_object();
    if (len >= 4096 && find_b64_member(b, len, "eventlog", &vs, &ve)) {
        size_t cut = len - (ve - vs);
        char *copy = malloc(cut);
        if (copy) {
            memcpy(copy, b, vs);
            memcpy(copy + vs, b + ve, len - ve);
            j = json_loadb(copy, cut, JSON_REJECT_DUPLICATES, &jerr);
            free(copy);
            if (json_is_object(j) &&
                json_object_set_new(j, "eventlog", json_stringn_nocheck(b + vs, ve - vs)) < 0) {
                json_decref(j);
                j = NULL;
            }
        }
    } else {
        j = json_loadb(b, len, JSON_REJECT_DUPLICATES, &jerr);
    }
    if (!json_is_object(j)) {
        json_decref(j);
        return NULL;
    }
    return j;
}
