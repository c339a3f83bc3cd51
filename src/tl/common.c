/* Error lines, file input and JSON helpers for the tl command line. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tl.h"
#include "tl/digest.h"
#include "tl/util.h"

void tl_report_error(const char *file, const struct tl_error *err)
{
    if (err->has_offset)
        fprintf(stderr, "tl: %s: %s (offset %zu)\n", file, err->message, err->offset);
    else
        fprintf(stderr, "tl: %s: %s\n", file, err->message);
}

void tl_report(const char *file, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "tl: %s: ", file);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void tl_report_option_error(const char *verb, char **argv)
{
    /* getopt_long leaves optind past the offending argument. */
    const char *arg = optind > 0 ? argv[optind - 1] : "?";
    fprintf(stderr, "tl: %s: option %s is unknown or needs a value\n", verb, arg);
}

int tl_read_file(const char *path, uint8_t **out, size_t *out_len)
{
    int fd = strcmp(path, "-") == 0 ? dup(STDIN_FILENO) : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int r = -errno;
        tl_report(path, "cannot open: %s", strerror(errno));
        return r;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        tl_report(path, "is a directory");
        return -EISDIR;
    }
    size_t cap = 64 << 10, len = 0;
    uint8_t *buf = malloc(cap);
    int r = 0;
    if (!buf) {
        r = -ENOMEM;
        goto fail;
    }
    for (;;) {
        if (len == cap) {
            if (cap >= TL_MAX_INPUT) {
                tl_report(path, "larger than %u MiB", TL_MAX_INPUT >> 20);
                r = -EFBIG;
                goto fail;
            }
            uint8_t *n = realloc(buf, cap * 2);
            if (!n) {
                r = -ENOMEM;
                goto fail;
            }
            buf = n;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = -errno;
            tl_report(path, "cannot read: %s", strerror(errno));
            goto fail;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    /* NUL-terminated past len, so text inputs can never be over-read. */
    if (len == cap) {
        uint8_t *n = realloc(buf, cap + 1);
        if (!n) {
            free(buf);
            tl_report(path, "out of memory");
            return -ENOMEM;
        }
        buf = n;
    }
    buf[len] = 0;
    *out = buf;
    *out_len = len;
    return 0;
fail:
    if (r == -ENOMEM)
        tl_report(path, "out of memory");
    close(fd);
    free(buf);
    return r;
}

int tl_write_fd(int fd, const char *path, const void *data, size_t len)
{
    const uint8_t *p = data;
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, p + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int r = -errno;
            tl_report(path, "cannot write: %s", strerror(errno));
            close(fd);
            return r;
        }
        done += (size_t)n;
    }
    if (fsync(fd) < 0 || close(fd) < 0) {
        int r = -errno;
        tl_report(path, "cannot write: %s", strerror(errno));
        return r;
    }
    return 0;
}

void tl_json_print(json_t *v)
{
    json_dumpf(v, stdout, JSON_COMPACT | JSON_ENSURE_ASCII);
    fputc('\n', stdout);
    json_decref(v);
}

json_t *tl_json_hex(const uint8_t *p, size_t n)
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
        fprintf(stderr, "tl: %s: no verb given (%s; try --help)\n", cmd, names);
        return TL_EXIT_BAD;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return TL_EXIT_OK;
    }
    for (const struct cli_verb *v = verbs; v->name; v++)
        if (strcmp(argv[1], v->name) == 0)
            return v->run(argc - 1, argv + 1);
    fprintf(stderr, "tl: %s: unknown verb \"%s\" (%s)\n", cmd, argv[1], names);
    return TL_EXIT_BAD;
}

json_t *tl_json_csv(const char *csv)
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
