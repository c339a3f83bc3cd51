/* Reading a set of PCR values (what --expect takes): the guest's "PCR bank
 * index hex" dump, tpm2-tools YAML, or our own replay JSON; and the JSON
 * codec tl, tld and the agent's reports share. See replay.h. */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl/replay.h"
#include "tl/util.h"

static int set_value(struct tl_pcr_values *out, const char *bank_name, long index, const char *hex,
                     size_t hex_len, unsigned line, struct tl_error *err)
{
    uint16_t alg = tl_alg_from_name(bank_name);
    size_t size = tl_alg_digest_size(alg);
    if (!alg)
        return tl_error_set_nopos(err, -EBADMSG, "line %u: unknown bank \"%s\"", line, bank_name);
    if (index < 0 || index >= TL_PCR_COUNT)
        return tl_error_set_nopos(err, -EBADMSG, "line %u: PCR index %ld out of range 0..23", line,
                                  index);
    struct tl_pcr_bank *b = tl_pcr_values_bank(out, alg);
    if (!b) {
        if (out->n_banks == TL_EVENTLOG_MAX_BANKS)
            return tl_error_set_nopos(err, -EBADMSG, "line %u: too many banks", line);
        b = &out->banks[out->n_banks++];
        *b = (struct tl_pcr_bank){.alg = alg, .size = (uint16_t)size};
    }
    if (b->mask & (1u << index))
        return tl_error_set_nopos(err, -EBADMSG, "line %u: %s PCR %ld given twice", line, bank_name,
                                  index);
    uint8_t value[TL_DIGEST_MAX];
    int n = tl_hex_decode(hex, hex_len, value, sizeof(value));
    if (n < 0 || (size_t)n != size)
        return tl_error_set_nopos(err, -EBADMSG, "line %u: %s PCR %ld: not %zu bytes of hex", line,
                                  bank_name, index, size);
    memcpy(b->value[index], value, size);
    b->mask |= 1u << index;
    return 0;
}

/* The JSON codec (replay.h): {"sha256": {"0": "<hex>", ...}}, the shape tl,
 * tld and the agent exchange, optionally under "banks". */
int tl_pcr_values_from_json(const json_t *json, struct tl_pcr_values *out, struct tl_error *err)
{
    *out = (struct tl_pcr_values){0};
    json_t *banks = json_object_get(json, "banks");
    if (!banks)
        banks = (json_t *)json;
    if (!json_is_object(banks)) {
        return tl_error_set_nopos(err, -EBADMSG, "line 1: expected an object of banks");
    }
    const char *bank_name, *key;
    json_t *pcrs, *value;
    json_object_foreach(banks, bank_name, pcrs)
    {
        if (!json_is_object(pcrs)) {
            return tl_error_set_nopos(err, -EBADMSG, "line 1: bank \"%s\" is not an object",
                                      bank_name);
        }
        json_object_foreach(pcrs, key, value)
        {
            char *end;
            long index = strtol(key, &end, 10);
            if (*key == '\0' || *end != '\0' || !json_is_string(value)) {
                return tl_error_set_nopos(err, -EBADMSG, "line 1: %s[\"%s\"] is not a PCR value",
                                          bank_name, key);
            }
            int r = set_value(out, bank_name, index, json_string_value(value),
                              json_string_length(value), 1, err);
            if (r < 0)
                return r;
        }
    }
    if (out->n_banks == 0)
        return tl_error_set_nopos(err, -EBADMSG, "no PCR values found");
    return 0;
}

json_t *tl_pcr_bank_to_json(const struct tl_pcr_bank *b)
{
    json_t *o = json_object();
    for (int i = 0; o && i < TL_PCR_COUNT; i++) {
        if (!(b->mask & (1u << i)))
            continue;
        char key[4], hex[2 * TL_DIGEST_MAX + 1];
        snprintf(key, sizeof(key), "%d", i);
        tl_hex_encode(b->value[i], b->size, hex);
        json_object_set_new(o, key, json_string(hex));
    }
    return o;
}

json_t *tl_pcr_values_to_json(const struct tl_pcr_values *v)
{
    json_t *o = json_object();
    for (unsigned b = 0; o && b < v->n_banks; b++) {
        const struct tl_pcr_bank *bank = &v->banks[b];
        const char *name = tl_alg_name(bank->alg);
        char hexname[8];
        if (bank->unsupported)
            continue;
        if (!name) {
            snprintf(hexname, sizeof(hexname), "0x%04x", bank->alg);
            name = hexname;
        }
        json_object_set_new(o, name, tl_pcr_bank_to_json(bank));
    }
    return o;
}

static int parse_json(const char *text, size_t len, struct tl_pcr_values *out, struct tl_error *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return tl_error_set_nopos(err, -EBADMSG, "line %d: %s", jerr.line, jerr.text);
    int r = tl_pcr_values_from_json(root, out, err);
    json_decref(root);
    return r;
}

/* Copies the next line into buf (trimmed, comment-free); false at the end. */
static bool next_line(const char **p, const char *end, char *buf, size_t size, size_t *indent)
{
    if (*p >= end)
        return false;
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    const char *line_end = nl ? nl : end;
    size_t n = (size_t)(line_end - *p);
    if (n >= size)
        n = size - 1;
    memcpy(buf, *p, n);
    buf[n] = '\0';
    *p = nl ? nl + 1 : end;
    char *hash = strchr(buf, '#');
    if (hash)
        *hash = '\0';
    size_t len = strlen(buf);
    while (len && isspace((unsigned char)buf[len - 1]))
        buf[--len] = '\0';
    *indent = strspn(buf, " \t");
    memmove(buf, buf + *indent, len - *indent + 1);
    return true;
}

int tl_pcr_values_parse(const char *text, size_t len, struct tl_pcr_values *out,
                        struct tl_error *err)
{
    *out = (struct tl_pcr_values){0};
    /* The text need not be NUL-terminated: every scan is bounded by len. */
    size_t skip = 0;
    while (skip < len &&
           (text[skip] == ' ' || text[skip] == '\t' || text[skip] == '\r' || text[skip] == '\n'))
        skip++;
    if (skip < len && text[skip] == '{')
        return parse_json(text, len, out, err);

    const char *end = text + len, *p = text;
    char line[512], bank[32] = "";
    size_t indent;
    unsigned lineno = 0;
    int r;

    /* Which form: PCR lines, or YAML (possibly a whole tpm2_eventlog output,
     * in which only the "pcrs:" block holds values). */
    bool pcr_lines = false, has_pcrs_block = false;
    for (const char *q = text; next_line(&q, end, line, sizeof(line), &indent);) {
        if (strncmp(line, "PCR ", 4) == 0)
            pcr_lines = true;
        if (indent == 0 && strcmp(line, "pcrs:") == 0)
            has_pcrs_block = true;
    }
    bool in_values = !has_pcrs_block;

    while (next_line(&p, end, line, sizeof(line), &indent)) {
        lineno++;
        if (line[0] == '\0')
            continue;
        if (pcr_lines) {
            /* The guest's dump also carries notes (SB, CMDLINE): only PCR
             * lines count. */
            char b[32], hex[160];
            long index;
            if (strncmp(line, "PCR ", 4) != 0)
                continue;
            if (sscanf(line, "PCR %31s %ld %159s", b, &index, hex) != 3)
                return tl_error_set_nopos(err, -EBADMSG, "line %u: expected PCR BANK INDEX HEX",
                                          lineno);
            r = set_value(out, b, index, hex, strlen(hex), lineno, err);
            if (r < 0)
                return r;
            continue;
        }
        if (indent == 0 && strcmp(line, "pcrs:") == 0) {
            in_values = true;
            continue;
        }
        if (!in_values)
            continue;
        size_t l = strlen(line);
        if (line[l - 1] == ':' && !isdigit((unsigned char)line[0])) {
            if (l - 1 >= sizeof(bank))
                return tl_error_set_nopos(err, -EBADMSG, "line %u: bank name too long", lineno);
            memcpy(bank, line, l - 1);
            bank[l - 1] = '\0';
            if (!tl_alg_from_name(bank))
                return tl_error_set_nopos(err, -EBADMSG, "line %u: unknown bank \"%s\"", lineno,
                                          bank);
            continue;
        }
        char *colon = strchr(line, ':');
        if (!isdigit((unsigned char)line[0]) || !colon || bank[0] == '\0')
            return tl_error_set_nopos(err, -EBADMSG, "line %u: not a PCR value", lineno);
        char *endp;
        long index = strtol(line, &endp, 10);
        while (endp < colon && isspace((unsigned char)*endp))
            endp++;
        if (endp != colon)
            return tl_error_set_nopos(err, -EBADMSG, "line %u: not a PCR index", lineno);
        const char *hex = colon + 1;
        hex += strspn(hex, " \t\"");
        size_t hex_len = strcspn(hex, " \t\"");
        r = set_value(out, bank, index, hex, hex_len, lineno, err);
        if (r < 0)
            return r;
    }
    if (out->n_banks == 0)
        return tl_error_set_nopos(err, -EBADMSG, "no PCR values found");
    return 0;
}
