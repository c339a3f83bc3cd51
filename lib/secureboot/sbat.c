/* SBAT parsing and the revocation check (shim's sbat.c semantics). */
#include "tl/sbat.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl/util.h"

#define MAX_FIELDS 8

/* Splits one CSV line (no quoting in SBAT) into at most MAX_FIELDS fields. */
static size_t split_fields(char *line, char **fields)
{
    size_t n = 0;
    char *p = line;
    while (n < MAX_FIELDS) {
        fields[n++] = p;
        char *comma = strchr(p, ',');
        if (!comma)
            break;
        *comma = '\0';
        p = comma + 1;
    }
    return n;
}

static int parse_generation(const char *s, uint32_t *out)
{
    char *end;
    if (!*s)
        return -EBADMSG;
    unsigned long v = strtoul(s, &end, 10);
    if (*end != '\0' || v > UINT32_MAX)
        return -EBADMSG;
    *out = (uint32_t)v;
    return 0;
}

int tl_sbat_parse(const uint8_t *buf, size_t len, enum tl_sbat_kind kind, struct tl_sbat *out,
                  struct tl_error *err)
{
    *out = (struct tl_sbat){0};
    const uint8_t *nul = memchr(buf, 0, len);
    size_t n = nul ? (size_t)(nul - buf) : len;
    size_t min_fields = kind == TL_SBAT_IMAGE ? 6 : 2;
    unsigned lineno = 0;

    for (size_t pos = 0; pos < n;) {
        const uint8_t *eol = memchr(buf + pos, '\n', n - pos);
        size_t line_len = eol ? (size_t)(eol - (buf + pos)) : n - pos;
        size_t line_start = pos;
        pos += line_len + (eol ? 1 : 0);
        lineno++;
        if (line_len && buf[line_start + line_len - 1] == '\r')
            line_len--;
        if (line_len == 0)
            continue;
        if (line_len > 511)
            return tl_error_set(err, -EBADMSG, line_start, "SBAT line %u is too long", lineno);
        char line[512], *fields[MAX_FIELDS];
        memcpy(line, buf + line_start, line_len);
        line[line_len] = '\0';
        for (size_t i = 0; i < line_len; i++)
            if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] > 0x7e)
                return tl_error_set(err, -EBADMSG, line_start + i,
                                    "SBAT line %u: byte 0x%02x is not printable", lineno,
                                    (unsigned char)line[i]);
        size_t nf = split_fields(line, fields);
        /* The "sbat,1,<datestamp>" header of a level has 3 fields. */
        if (nf < min_fields && !(kind == TL_SBAT_LEVEL && nf >= 2))
            return tl_error_set(err, -EBADMSG, line_start, "SBAT line %u: %zu fields, needs %zu",
                                lineno, nf, min_fields);
        if (out->n_entries == TL_SBAT_MAX_ENTRIES)
            return tl_error_set(err, -EBADMSG, line_start, "more than %d SBAT entries",
                                TL_SBAT_MAX_ENTRIES);
        struct tl_sbat_entry *e = &out->entries[out->n_entries];
        if (strlen(fields[0]) == 0 || strlen(fields[0]) >= sizeof(e->component))
            return tl_error_set(err, -EBADMSG, line_start, "SBAT line %u: bad component name",
                                lineno);
        if (parse_generation(fields[1], &e->generation) < 0)
            return tl_error_set(err, -EBADMSG, line_start,
                                "SBAT line %u: generation \"%s\" is not a number", lineno,
                                fields[1]);
        snprintf(e->component, sizeof(e->component), "%s", fields[0]);
        if (kind == TL_SBAT_LEVEL && out->n_entries == 0 && strcmp(e->component, "sbat") == 0 &&
            nf >= 3)
            snprintf(out->datestamp, sizeof(out->datestamp), "%.31s", fields[2]);
        out->n_entries++;
    }
    if (out->n_entries == 0)
        return tl_error_set_nopos(err, -EBADMSG, "SBAT data has no entries");
    if (strcmp(out->entries[0].component, "sbat") != 0)
        return tl_error_set_nopos(err, -EBADMSG, "SBAT data does not start with an \"sbat\" line");
    return 0;
}

int tl_sbat_level_section_parse(const uint8_t *buf, size_t len, struct tl_sbat *previous,
                                struct tl_sbat *latest, struct tl_error *err)
{
    if (len < 12)
        return tl_error_set(err, -EBADMSG, 0, ".sbatlevel section of %zu bytes is too short", len);
    uint32_t version = tl_le32(buf);
    if (version != 0)
        return tl_error_set(err, -EBADMSG, 0, ".sbatlevel version %u is not 0", version);
    const uint8_t *payload = buf + 4;
    size_t payload_len = len - 4;
    uint32_t offsets[2] = {tl_le32(buf + 4), tl_le32(buf + 8)};
    struct tl_sbat *out[2] = {previous, latest};
    for (int i = 0; i < 2; i++) {
        if (offsets[i] >= payload_len)
            return tl_error_set(err, -EBADMSG, 4 + 4 * (size_t)i,
                                ".sbatlevel %s offset %u is outside the section",
                                i ? "latest" : "previous", offsets[i]);
        int r = tl_sbat_parse(payload + offsets[i], payload_len - offsets[i], TL_SBAT_LEVEL, out[i],
                              err);
        if (r < 0)
            return r;
    }
    return 0;
}

const struct tl_sbat *tl_sbat_newer(const struct tl_sbat *a, const struct tl_sbat *b)
{
    if (!a)
        return b;
    if (!b)
        return a;
    return strcmp(b->datestamp, a->datestamp) > 0 ? b : a;
}

int tl_sbat_check(const struct tl_sbat *image, const struct tl_sbat *level,
                  const struct tl_sbat_entry **which, const struct tl_sbat_entry **level_entry)
{
    for (size_t l = 0; l < level->n_entries; l++) {
        /* The header line takes part too: shim compares the "sbat" entry
         * (the format generation) like any component. */
        const struct tl_sbat_entry *rule = &level->entries[l];
        for (size_t i = 0; i < image->n_entries; i++)
            if (strcmp(image->entries[i].component, rule->component) == 0 &&
                image->entries[i].generation < rule->generation) {
                *which = &image->entries[i];
                *level_entry = rule;
                return 1;
            }
    }
    return 0;
}
