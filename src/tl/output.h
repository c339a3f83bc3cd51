/* az's output formats for the az-compatible verbs (--output/-o):
 *   json   pretty-printed, 2-space indent, keys sorted (az's default)
 *   jsonc  the same, coloured (ANSI)
 *   table  the command's columns, header and a dashed rule, 2 spaces apart
 *   tsv    the table's values, tab-separated, no header
 *   none   nothing
 * A value that is a list ({"value": [...]} answers are unwrapped by the
 * caller) prints one table row per element. */
#pragma once

#include <jansson.h>
#include <stdio.h>

/* One table column: its header and where its value lives ("a.b": key b of
 * object a). Booleans print as True/False, null and missing as empty. */
struct az_column {
    const char *header;
    const char *path;
};

/* Columns of az's tables (and ours: SecureBoot, Vtpm). NULL-terminated. */
extern const struct az_column az_cluster_columns[];
extern const struct az_column az_pool_columns[];
extern const struct az_column az_group_columns[];
extern const struct az_column az_vm_columns[];
extern const struct az_column az_feature_columns[];
extern const struct az_column az_provider_columns[];
extern const struct az_column az_credentials_columns[];

/* Prints v to f in format; columns for table and tsv. Returns 0, or
 * -EINVAL for an unknown format. */
int az_output(FILE *f, const json_t *v, const char *format, const struct az_column *columns);
