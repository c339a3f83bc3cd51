/* az's output formats: see output.h. json is printed by hand (not
 * json_dumpf) so that json and jsonc share one printer and match az's
 * Python layout: "key": value, 2-space indent, sorted keys, {} and [] for
 * empty containers, UTF-8 as is. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "tl.h"

const struct az_column az_cluster_columns[] = {
    {"Name", "name"},
    {"Location", "location"},
    {"ResourceGroup", "resourceGroup"},
    {"KubernetesVersion", "kubernetesVersion"},
    {"CurrentKubernetesVersion", "currentKubernetesVersion"},
    {"ProvisioningState", "provisioningState"},
    {"Fqdn", "fqdn"},
    {0},
};

const struct az_column az_pool_columns[] = {
    {"Name", "name"},
    {"OsType", "osType"},
    {"KubernetesVersion", "orchestratorVersion"},
    {"VmSize", "vmSize"},
    {"Count", "count"},
    {"MaxPods", "maxPods"},
    {"ProvisioningState", "provisioningState"},
    {"Mode", "mode"},
    {"SecureBoot", "securityProfile.enableSecureBoot"},
    {"Vtpm", "securityProfile.enableVtpm"},
    {0},
};

const struct az_column az_group_columns[] = {
    {"Name", "name"},
    {"Location", "location"},
    {"Status", "properties.provisioningState"},
    {0},
};

const struct az_column az_vm_columns[] = {
    {"Name", "name"},
    {"ResourceGroup", "resourceGroup"},
    {"Location", "location"},
    {"VmSize", "hardwareProfile.vmSize"},
    {"SecurityType", "securityProfile.securityType"},
    {"Tee", "tee"},
    {"PowerState", "powerState"},
    {0},
};

const struct az_column az_feature_columns[] = {
    {"Name", "name"},
    {"RegistrationState", "properties.state"},
    {0},
};

const struct az_column az_provider_columns[] = {
    {"Namespace", "namespace"},
    {"RegistrationState", "registrationState"},
    {0},
};

const struct az_column az_credentials_columns[] = {
    {"Cluster", "cluster"},
    {"ResourceGroup", "resourceGroup"},
    {"Server", "server"},
    {"User", "user"},
    {0},
};

#define C_KEY    "\033[94m"
#define C_STRING "\033[32m"
#define C_OTHER  "\033[33m"
#define C_OFF    "\033[0m"

static void print_scalar(FILE *f, const json_t *v, bool color)
{
    char *s = json_dumps(v, JSON_ENCODE_ANY);
    const char *c = json_is_string(v) ? C_STRING : C_OTHER;
    fprintf(f, "%s%s%s", color ? c : "", s ? s : "null", color ? C_OFF : "");
    free(s);
}

static void print_pretty(FILE *f, const json_t *v, int depth, bool color)
{
    if (json_is_object(v) && json_object_size(v)) {
        size_t n, i;
        const char **keys = tlc_json_sorted_keys(v, &n);
        if (!keys)
            return;
        fputs("{\n", f);
        for (i = 0; i < n; i++) {
            json_t *key = json_string(keys[i]);
            fprintf(f, "%*s", 2 * (depth + 1), "");
            char *ks = json_dumps(key, JSON_ENCODE_ANY);
            fprintf(f, "%s%s%s: ", color ? C_KEY : "", ks ? ks : "\"\"", color ? C_OFF : "");
            free(ks);
            json_decref(key);
            print_pretty(f, json_object_get(v, keys[i]), depth + 1, color);
            fputs(i + 1 < n ? ",\n" : "\n", f);
        }
        fprintf(f, "%*s}", 2 * depth, "");
        free(keys);
    } else if (json_is_object(v)) {
        fputs("{}", f);
    } else if (json_is_array(v) && json_array_size(v)) {
        size_t i;
        const json_t *x;
        fputs("[\n", f);
        json_array_foreach((json_t *)v, i, x)
        {
            fprintf(f, "%*s", 2 * (depth + 1), "");
            print_pretty(f, x, depth + 1, color);
            fputs(i + 1 < json_array_size(v) ? ",\n" : "\n", f);
        }
        fprintf(f, "%*s]", 2 * depth, "");
    } else if (json_is_array(v)) {
        fputs("[]", f);
    } else {
        print_scalar(f, v, color);
    }
}

static const json_t *lookup(const json_t *v, const char *path)
{
    char key[64];
    const json_t *whole = json_object_get(v, path); /* a key holding dots */
    if (whole)
        return whole;
    while (v && *path) {
        size_t len = strcspn(path, ".");
        if (len >= sizeof(key))
            return NULL;
        memcpy(key, path, len);
        key[len] = 0;
        v = json_object_get(v, key);
        path += len + (path[len] == '.');
    }
    return v;
}

/* A cell's text; *numeric when it is a JSON number. */
static char *cell(const json_t *row, const char *path, bool *numeric)
{
    const json_t *v = lookup(row, path);
    char buf[64];
    *numeric = json_is_number(v);
    if (json_is_string(v))
        return strdup(json_string_value(v));
    if (json_is_integer(v))
        snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, sizeof(buf), "%g", json_real_value(v));
    else if (json_is_true(v))
        snprintf(buf, sizeof(buf), "True");
    else if (json_is_false(v))
        snprintf(buf, sizeof(buf), "False");
    else
        buf[0] = 0;
    return strdup(buf);
}

static int print_rows(FILE *f, const json_t *v, const struct az_column *cols, bool header)
{
    size_t n_cols = 0;
    while (cols[n_cols].header)
        n_cols++;
    size_t n_rows = json_is_array(v) ? json_array_size(v) : 1;
    if (n_rows == 0 || n_cols == 0)
        return 0; /* az prints nothing for an empty table */
    char **cells = calloc(n_rows * n_cols + 1, sizeof(*cells));
    size_t *width = calloc(n_cols + 1, sizeof(*width));
    bool *right = calloc(n_cols + 1, sizeof(*right));
    if (!cells || !width || !right) {
        free(cells);
        free(width);
        free(right);
        return -ENOMEM;
    }
    for (size_t c = 0; c < n_cols; c++) {
        width[c] = strlen(cols[c].header);
        right[c] = n_rows > 0;
    }
    for (size_t r = 0; r < n_rows; r++) {
        const json_t *row = json_is_array(v) ? json_array_get(v, r) : v;
        for (size_t c = 0; c < n_cols; c++) {
            bool numeric;
            char *s = cell(row, cols[c].path, &numeric);
            cells[r * n_cols + c] = s;
            if (s && strlen(s) > width[c])
                width[c] = strlen(s);
            if (s && *s && !numeric)
                right[c] = false;
        }
    }
    if (header) {
        for (size_t c = 0; c < n_cols; c++) {
            const char *sep = c ? "  " : "";
            if (right[c])
                fprintf(f, "%s%*s", sep, (int)width[c], cols[c].header);
            else if (c + 1 == n_cols)
                fprintf(f, "%s%s", sep, cols[c].header); /* no trailing blanks */
            else
                fprintf(f, "%s%-*s", sep, (int)width[c], cols[c].header);
        }
        fputc('\n', f);
        for (size_t c = 0; c < n_cols; c++) {
            fputs(c ? "  " : "", f);
            for (size_t i = 0; i < width[c]; i++)
                fputc('-', f);
        }
        fputc('\n', f);
    }
    for (size_t r = 0; r < n_rows; r++) {
        size_t last = n_cols; /* a table row ends at its last cell with text */
        while (header && last > 1 &&
               !*(cells[r * n_cols + last - 1] ? cells[r * n_cols + last - 1] : ""))
            last--;
        for (size_t c = 0; c < n_cols; c++) {
            const char *s = cells[r * n_cols + c] ? cells[r * n_cols + c] : "";
            if (!header)
                fprintf(f, "%s%s", c ? "\t" : "", s);
            else if (c >= last)
                break;
            else if (right[c])
                fprintf(f, "%s%*s", c ? "  " : "", (int)width[c], s);
            else if (c + 1 == last)
                fprintf(f, "%s%s", c ? "  " : "", s); /* no trailing blanks */
            else
                fprintf(f, "%s%-*s", c ? "  " : "", (int)width[c], s);
        }
        fputc('\n', f);
    }
    for (size_t i = 0; i < n_rows * n_cols; i++)
        free(cells[i]);
    free(cells);
    free(width);
    free(right);
    return 0;
}

/* az's automatic table (knack's _TableOutput): a row's scalar members,
 * keys sorted, first letter capitalised; a list row's elements as Column1,
 * Column2...; a scalar row as Result. */
static json_t *auto_row(const json_t *item)
{
    json_t *row = json_object();
    if (json_is_object(item)) {
        const char *k;
        const json_t *x;
        json_object_foreach((json_t *)item, k, x)
        {
            if (!*k || strcmp(k, "id") == 0 || strcmp(k, "type") == 0 || strcmp(k, "etag") == 0 ||
                json_is_null(x) || json_is_array(x) || json_is_object(x))
                continue;
            char *h = strdup(k);
            if (!h)
                continue;
            if (h[0] >= 'a' && h[0] <= 'z')
                h[0] = (char)(h[0] - 'a' + 'A');
            json_object_set(row, h, (json_t *)x);
            free(h);
        }
    } else if (json_is_array(item)) {
        size_t i;
        const json_t *x;
        json_array_foreach((json_t *)item, i, x)
        {
            char h[32];
            snprintf(h, sizeof(h), "Column%zu", i + 1);
            json_object_set(row, h, (json_t *)x);
        }
    } else {
        json_object_set(row, "Result", (json_t *)item);
    }
    return row;
}

/* The columns of the rows' automatic table: every header, in the order
 * first seen (rows' keys sorted, as az does without a --query). */
static int auto_table(FILE *f, const json_t *rows, bool header)
{
    json_t *normal = json_array(), *seen = json_object();
    size_t n_rows = json_array_size(rows), n_cols = 0, i;
    const json_t *item;
    struct az_column *cols = NULL;
    int r = -ENOMEM;
    if (!normal || !seen)
        goto out;
    json_array_foreach((json_t *)rows, i, item) json_array_append_new(normal, auto_row(item));
    for (i = 0; i < n_rows; i++) {
        const json_t *row = json_array_get(normal, i);
        size_t n, j;
        const char **keys = tlc_json_sorted_keys(row, &n);
        if (!keys)
            goto out;
        for (j = 0; j < n; j++)
            if (!json_object_get(seen, keys[j]))
                json_object_set_new(seen, keys[j], json_integer((json_int_t)n_cols++));
        free(keys);
    }
    cols = calloc(n_cols + 1, sizeof(*cols));
    if (!cols)
        goto out;
    const char *k;
    const json_t *x;
    json_object_foreach(seen, k, x)
    {
        size_t c = (size_t)json_integer_value(x);
        cols[c].header = cols[c].path = k;
    }
    r = print_rows(f, normal, cols, header);
out:
    free(cols);
    json_decref(normal);
    json_decref(seen);
    return r;
}

/* One tsv value (knack's _TsvOutput): a list as its length, an object as
 * nothing, null as None, a boolean as True/False. */
static void tsv_value(FILE *f, const json_t *v)
{
    if (json_is_array(v))
        fprintf(f, "%zu", json_array_size(v));
    else if (json_is_object(v))
        ;
    else if (json_is_string(v))
        fputs(json_string_value(v), f);
    else if (json_is_null(v))
        fputs("None", f);
    else if (json_is_true(v))
        fputs("True", f);
    else if (json_is_false(v))
        fputs("False", f);
    else {
        char *s = json_dumps(v, JSON_ENCODE_ANY);
        fputs(s ? s : "", f);
        free(s);
    }
}

static int auto_tsv(FILE *f, const json_t *rows)
{
    size_t i;
    const json_t *row;
    json_array_foreach((json_t *)rows, i, row)
    {
        if (json_is_object(row)) {
            size_t n, j;
            const char **keys = tlc_json_sorted_keys(row, &n);
            if (!keys)
                return -ENOMEM;
            for (j = 0; j < n; j++) {
                fputs(j ? "\t" : "", f);
                tsv_value(f, json_object_get(row, keys[j]));
            }
            free(keys);
        } else if (json_is_array(row)) {
            size_t j;
            const json_t *x;
            json_array_foreach((json_t *)row, j, x)
            {
                fputs(j ? "\t" : "", f);
                tsv_value(f, x);
            }
        } else if (json_is_boolean(row)) {
            fputs(json_is_true(row) ? "true" : "false", f);
        } else {
            tsv_value(f, row);
        }
        fputc('\n', f);
    }
    return 0;
}

/* The rows of an automatic table or tsv: a list's elements, the list of an
 * object whose only member is a list, else the value alone. A new
 * reference. */
static json_t *rows_of(const json_t *v)
{
    if (json_is_object(v) && json_object_size(v) == 1) {
        void *it = json_object_iter((json_t *)v);
        if (json_is_array(json_object_iter_value(it)))
            return json_incref(json_object_iter_value(it));
    }
    if (json_is_array(v))
        return json_incref((json_t *)v);
    return json_pack("[O]", v);
}

int az_output(FILE *f, const json_t *v, const char *format, const struct az_column *columns)
{
    if (strcmp(format, "none") == 0)
        return 0;
    if (strcmp(format, "json") == 0 || strcmp(format, "jsonc") == 0) {
        print_pretty(f, v, 0, strcmp(format, "jsonc") == 0);
        fputc('\n', f);
        return 0;
    }
    if (strcmp(format, "line") == 0) {
        json_dumpf(v, f, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ENCODE_ANY);
        fputc('\n', f);
        return 0;
    }
    if (strcmp(format, "yaml") == 0)
        return tlc_output_yaml(f, v);
    bool table = strcmp(format, "table") == 0;
    if (!table && strcmp(format, "tsv") != 0)
        return -EINVAL;
    if (columns)
        return print_rows(f, v, columns, table);
    json_t *rows = rows_of(v);
    if (!rows)
        return -ENOMEM;
    int r = table ? auto_table(f, rows, true) : auto_tsv(f, rows);
    json_decref(rows);
    return r;
}
