/* The yaml output format (output.h): a JSON value emitted with libyaml's
 * emitter, as az's `-o yaml` (PyYAML's safe_dump): block style, keys
 * sorted, {} and [] for empty containers, strings quoted only where YAML
 * 1.1 would read them as something else. Read back with any YAML loader,
 * the document is the JSON value. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "output.h"

/* YAML 1.1's implicit types (PyYAML's resolvers) begin with a digit, a
 * sign, a dot, "~", "<<" or "=" (ints, floats, sexagesimals, timestamps,
 * null, merge, value), or are one of the words below: such a string is
 * quoted, so that it reads back as the string. */
yaml_scalar_style_t tlc_yaml_string_style(const char *v)
{
    static const char *const words[] = {"true", "false", "yes", "no",  "on",
                                        "off",  "y",     "n",   "null"};
    if (!*v || strchr("0123456789+-.~<=", v[0]))
        return YAML_SINGLE_QUOTED_SCALAR_STYLE;
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strcasecmp(v, words[i]) == 0)
            return YAML_SINGLE_QUOTED_SCALAR_STYLE;
    return YAML_ANY_SCALAR_STYLE;
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
