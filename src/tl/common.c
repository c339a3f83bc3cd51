/* Error lines, file input and JSON helpers for the tl command line. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tl.h"
#include "tl/cleanup.h"
#include "tl/digest.h"

static void report_line(const char *file, const char *message, const struct tl_error *err)
{
    fprintf(stderr, "tl: %s%s%s", file ? file : "", file ? ": " : "", message);
    if (err && err->has_offset)
        fprintf(stderr, " (offset %zu)", err->offset);
    fputc('\n', stderr);
}

void tlc_report_error(const char *file, const struct tl_error *err)
{
    report_line(file, err->message, err);
}

void tlc_report(const char *file, const char *fmt, ...)
{
    char message[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    report_line(file, message, NULL);
}

int tlc_fail(int status, const struct tl_error *err)
{
    tlc_report_error(NULL, err);
    return status;
}

void tlc_report_option_error(const char *verb, char **argv)
{
    /* getopt_long leaves optind past the offending argument. */
    const char *arg = optind > 0 ? argv[optind - 1] : "?";
    tlc_report(verb, "option %s is unknown or needs a value", arg);
}

int tlc_file_load(const char *path, uint8_t **out, size_t *out_len, struct tl_error *err)
{
    _cleanup_close_ int fd =
        strcmp(path, "-") == 0 ? dup(STDIN_FILENO) : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return tl_error_set_nopos(err, -errno, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    bool stated = fstat(fd, &st) == 0;
    if (stated && S_ISDIR(st.st_mode))
        return tl_error_set_nopos(err, -EISDIR, "%s: is a directory", path);
    /* A regular file is read into one buffer of its size + 1 (the read that
     * sees end of file, then the NUL below, need no growth): an 8 MiB
     * kernel was otherwise read through seven reallocs, a third of `tl
     * secureboot digest`'s time. Pipes and the like start at 64 KiB. */
    size_t cap = 64 << 10, len = 0;
    if (stated && S_ISREG(st.st_mode) && st.st_size > 0 && (uint64_t)st.st_size < TLC_MAX_INPUT)
        cap = (size_t)st.st_size + 1;
    _cleanup_free_ uint8_t *buf = malloc(cap);
    if (!buf)
        return tl_error_set_nopos(err, -ENOMEM, "%s: out of memory", path);
    for (;;) {
        if (len == cap) {
            if (cap >= TLC_MAX_INPUT)
                return tl_error_set_nopos(err, -EFBIG, "%s: larger than %u MiB", path,
                                          TLC_MAX_INPUT >> 20);
            uint8_t *n = realloc(buf, cap * 2);
            if (!n)
                return tl_error_set_nopos(err, -ENOMEM, "%s: out of memory", path);
            buf = n;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return tl_error_set_nopos(err, -errno, "%s: cannot read: %s", path, strerror(errno));
        if (n == 0)
            break;
        len += (size_t)n;
    }
    /* NUL-terminated past len, so text inputs can never be over-read. */
    if (len == cap) {
        uint8_t *n = realloc(buf, cap + 1);
        if (!n)
            return tl_error_set_nopos(err, -ENOMEM, "%s: out of memory", path);
        buf = n;
    }
    buf[len] = 0;
    *out = TL_TAKE_PTR(buf);
    *out_len = len;
    return 0;
}

int tlc_error_prefix(struct tl_error *err, int code, const char *what)
{
    if (err) {
        char message[sizeof(err->message)];
        snprintf(message, sizeof(message), "%s", err->message);
        snprintf(err->message, sizeof(err->message), "%s: %s", what, message);
    }
    return code;
}

int tlc_read_file(const char *path, uint8_t **out, size_t *out_len)
{
    struct tl_error err = {0};
    int r = tlc_file_load(path, out, out_len, &err);
    if (r < 0)
        tlc_report_error(NULL, &err);
    return r;
}

int tlc_fd_write_all(int fd, const char *path, const void *data, size_t len, struct tl_error *err)
{
    const uint8_t *p = data;
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, p + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int r = tl_error_set_nopos(err, -errno, "%s: cannot write: %s", path, strerror(errno));
            close(fd);
            return r;
        }
        done += (size_t)n;
    }
    if (fsync(fd) < 0 || close(fd) < 0)
        return tl_error_set_nopos(err, -errno, "%s: cannot write: %s", path, strerror(errno));
    return 0;
}

int tlc_write_fd(int fd, const char *path, const void *data, size_t len)
{
    struct tl_error err = {0};
    int r = tlc_fd_write_all(fd, path, data, len, &err);
    if (r < 0)
        tlc_report_error(NULL, &err);
    return r;
}

static int compare_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char **tlc_json_sorted_keys(const json_t *obj, size_t *n)
{
    size_t i = 0;
    const char *k;
    const json_t *x;
    *n = json_object_size(obj);
    const char **keys = malloc((*n ? *n : 1) * sizeof(*keys));
    if (!keys)
        return NULL;
    json_object_foreach((json_t *)obj, k, x) keys[i++] = k;
    qsort(keys, *n, sizeof(*keys), compare_keys);
    return keys;
}

json_t *tlc_json_hex(const uint8_t *p, size_t n)
{
    char *s = malloc(2 * n + 1);
    if (!s)
        return NULL;
    tl_hex_encode(p, n, s);
    json_t *v = json_stringn(s, 2 * n);
    free(s);
    return v;
}

int cli_dispatch(const char *cmd, const struct cli_verb *verbs, void (*usage)(FILE *f), int argc,
                 char **argv)
{
    char names[256] = "";
    for (const struct cli_verb *v = verbs; v->name; v++)
        snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
                 v == verbs ? "" : ", ", v->name);
    if (argc < 2) {
        tlc_report(cmd, "no verb given (%s; try --help)", names);
        return TLC_EXIT_BAD;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return TLC_EXIT_OK;
    }
    for (const struct cli_verb *v = verbs; v->name; v++)
        if (strcmp(argv[1], v->name) == 0)
            return v->run(argc - 1, argv + 1);
    tlc_report(cmd, "unknown verb \"%s\" (%s)", argv[1], names);
    return TLC_EXIT_BAD;
}

json_t *tlc_json_csv(const char *csv)
{
    json_t *a = json_array();
    for (const char *p = csv; p && *p;) {
        const char *c = strchr(p, ',');
        size_t l = c ? (size_t)(c - p) : strlen(p);
        if (l)
            json_array_append_new(a, json_stringn(p, l));
        p = c ? c + 1 : p + l;
    }
    return a;
}
