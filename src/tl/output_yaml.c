/* The yaml output format (output.h): a JSON value emitted with libyaml's
 * emitter, as az's `-o yaml` (PyYAML's safe_dump): block style, keys
 * sorted, {} and [] for empty containers, strings quoted only where YAML
 * 1.1 would read them as something else. Read back with any YAML loader,
 * the document is the JSON value. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "output.h"
#include "tl.h"

/* Whether PyYAML's YAML 1.1 resolvers would read v as something else than
 * a string: null (~, null), a boolean (yes, no, on, off, ...), an int or a
 * float (decimal, 0x hex, 0b binary, sexagesimal 1:30, .inf, .nan), a
 * timestamp (2026-12-08...), the merge key << or the value key =. A loose
 * superset (1.30.6 is quoted though PyYAML would not), never a subset. */
static bool implicit_non_string(const char *v)
{
    static const char *const words[] = {"true", "false", "yes",  "no",    "on",    "off", "y",
                                        "n",    "null",  ".inf", "-.inf", "+.inf", ".nan"};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strcasecmp(v, words[i]) == 0)
            return true;
    if (!*v || strcmp(v, "~") == 0 || strcmp(v, "<<") == 0 || strcmp(v, "=") == 0)
        return true;
    const char *p = v + (*v == '+' || *v == '-');
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && p[2])
        return strspn(p + 2, "0123456789abcdefABCDEF_") == strlen(p + 2);
    if (p[0] == '0' && p[1] == 'b' && p[2])
        return strspn(p + 2, "01_") == strlen(p + 2);
    if (strspn(v, "0123456789") == 4 && v[4] == '-') /* a timestamp's year */
        return true;
    return strpbrk(p, "0123456789") && strspn(p, "0123456789._:eE+-") == strlen(p);
}

yaml_scalar_style_t tlc_yaml_string_style(const char *v)
{
    return implicit_non_string(v) ? YAML_SINGLE_QUOTED_SCALAR_STYLE : YAML_ANY_SCALAR_STYLE;
}

static int emit(yaml_emitter_t *e, yaml_event_t *ev)
{
    return yaml_emitter_emit(e, ev) ? 0 : -EIO;
}

static int emit_scalar(yaml_emitter_t *e, const char *text, yaml_scalar_style_t style)
{
    yaml_event_t ev;
    if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)text, (int)strlen(text), 1, 1,
                                      style))
        return -ENOMEM;
    return emit(e, &ev);
}

static int emit_value(yaml_emitter_t *e, const json_t *v)
{
    yaml_event_t ev;
    int r = 0;
    if (json_is_object(v)) {
        size_t n, i;
        const char **keys = tlc_json_sorted_keys(v, &n);
        if (!keys)
            return -ENOMEM;
        yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
                                            n ? YAML_BLOCK_MAPPING_STYLE : YAML_FLOW_MAPPING_STYLE);
        r = emit(e, &ev);
        for (i = 0; r == 0 && i < n; i++) {
            r = emit_scalar(e, keys[i], tlc_yaml_string_style(keys[i]));
            if (r == 0)
                r = emit_value(e, json_object_get(v, keys[i]));
        }
        free(keys);
        if (r == 0) {
            yaml_mapping_end_event_initialize(&ev);
            r = emit(e, &ev);
        }
        return r;
    }
    if (json_is_array(v)) {
        size_t i;
        const json_t *x;
        yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
                                             json_array_size(v) ? YAML_BLOCK_SEQUENCE_STYLE
                                                                : YAML_FLOW_SEQUENCE_STYLE);
        r = emit(e, &ev);
        json_array_foreach((json_t *)v, i, x)
        {
            if (r == 0)
                r = emit_value(e, x);
        }
        if (r == 0) {
            yaml_sequence_end_event_initialize(&ev);
            r = emit(e, &ev);
        }
        return r;
    }
    if (json_is_string(v))
        return emit_scalar(e, json_string_value(v), tlc_yaml_string_style(json_string_value(v)));
    char *s = json_dumps(v, JSON_ENCODE_ANY); /* a number, true, false, null */
    if (!s)
        return -ENOMEM;
    r = emit_scalar(e, s, YAML_PLAIN_SCALAR_STYLE);
    free(s);
    return r;
}

int tlc_yaml_document(yaml_emitter_t *e, int (*body)(yaml_emitter_t *e, void *ctx), void *ctx)
{
    yaml_event_t ev;
    yaml_emitter_set_unicode(e, 1);
    yaml_emitter_set_width(e, -1); /* no folding of long strings */
    yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
    int r = emit(e, &ev);
    if (r == 0) {
        yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
        r = emit(e, &ev);
    }
    if (r == 0)
        r = body(e, ctx);
    if (r == 0) {
        yaml_document_end_event_initialize(&ev, 1);
        r = emit(e, &ev);
    }
    if (r == 0) {
        yaml_stream_end_event_initialize(&ev);
        r = emit(e, &ev);
    }
    if (r == 0 && !yaml_emitter_flush(e))
        r = -EIO;
    return r;
}

static int write_file(void *data, unsigned char *buffer, size_t size)
{
    return fwrite(buffer, 1, size, data) == size;
}

static int emit_json(yaml_emitter_t *e, void *v)
{
    return emit_value(e, v);
}

int tlc_output_yaml(FILE *f, const json_t *v)
{
    yaml_emitter_t e;
    if (!yaml_emitter_initialize(&e))
        return -ENOMEM;
    yaml_emitter_set_output(&e, write_file, f);
    int r = tlc_yaml_document(&e, emit_json, (void *)v);
    yaml_emitter_delete(&e);
    return r;
}
