/* Reading a node image's boot chain off its disk (image.h). The decision
 * is libtl's (lib/secureboot/imagecheck.c); this file only finds and reads
 * the bytes: the manifest, the store, the ESP's files. */
#include "tlhost/image.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tl/manifest.h"
#include "tl/util.h"
#include "tlhost/file.h"
#include "tlhost/proc.h"

#define MANIFEST_MAX  (4u << 20)
#define VARS_MAX      (64u << 20)
#define COMPONENT_MAX (256u << 20)

int tlh_image_esp_check(const char *disk, struct tl_error *err)
{
    uint8_t bs[512];
    int fd = open(disk, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int r = -errno;
        return tl_error_set_nopos(err, r, "%s: %s", disk, strerror(-r));
    }
    ssize_t got = pread(fd, bs, sizeof(bs), TLH_IMAGE_ESP_OFFSET);
    int saved = errno;
    close(fd);
    if (got < 0)
        return tl_error_set_nopos(err, -EIO, "%s: cannot read: %s", disk, strerror(saved));
    if (got != (ssize_t)sizeof(bs) || bs[510] != 0x55 || bs[511] != 0xaa ||
        (memcmp(bs + 54, "FAT", 3) != 0 && memcmp(bs + 82, "FAT", 3) != 0))
        return tl_error_set_nopos(err, -EBADMSG, "%s: no FAT file system at offset 1 MiB (the ESP)",
                                  disk);
    /* mtools reads "FILE@@OFFSET": a name containing "@@" would be misread. */
    if (strstr(disk, "@@"))
        return tl_error_set_nopos(
            err, -EINVAL, "%s: a disk name containing \"@@\" is not supported (mtools)", disk);
    return 0;
}

/* mcopy's first stderr line, or what tlh_run said of it. */
static void mcopy_problem(const struct tlh_run_result *res, const struct tl_error *e, char *problem,
                          size_t size)
{
    const char *line = res->err && res->err[0] ? res->err : e->message;
    snprintf(problem, size, "%.*s", (int)strcspn(line, "\r\n"), line);
}

int tlh_image_esp_read(const char *disk, const char *esp_path, const char *tmpdir, uint8_t **buf,
                       size_t *len, char *problem, size_t problem_size, struct tl_error *err)
{
    char image[PATH_MAX + 16], src[300], dest[PATH_MAX];
    *buf = NULL;
    *len = 0;
    if ((size_t)snprintf(image, sizeof(image), "%s@@%u", disk, TLH_IMAGE_ESP_OFFSET) >=
            sizeof(image) ||
        (size_t)snprintf(src, sizeof(src), "::%s", esp_path) >= sizeof(src) ||
        (size_t)snprintf(dest, sizeof(dest), "%s/component.efi", tmpdir) >= sizeof(dest))
        return tl_error_set_nopos(err, -ENAMETOOLONG, "%s: path too long", disk);
    for (char *p = src; *p; p++)
        if (*p == '\\')
            *p = '/';
    unlink(dest);
    /* MTOOLS_SKIP_CHECK: the ESP's geometry is mformat's, not a floppy's */
    const char *env[] = {"MTOOLS_SKIP_CHECK=1", NULL};
    const char *argv[] = {"mcopy", "-n", "-i", image, src, dest, NULL};
    struct tlh_run_options o = {.argv = argv, .env = env};
    struct tlh_run_result res = {0};
    struct tl_error e = {0};
    int r = tlh_run(&o, &res, &e);
    if (r == -ENOENT) {
        tlh_run_result_done(&res);
        return tl_error_set_nopos(err, -ENOENT, "mcopy: cannot run it (apt-get install mtools)");
    }
    if (r == -EIO) { /* it ran and said no: the component is not there */
        mcopy_problem(&res, &e, problem, problem_size);
        tlh_run_result_done(&res);
        return 1;
    }
    tlh_run_result_done(&res);
    if (r < 0)
        return tl_error_set_nopos(err, r, "%s", e.message);
    r = tlh_file_read(dest, COMPONENT_MAX, buf, len, err);
    unlink(dest);
    return r;
}

/* The chain and the keys, then each component off the ESP, then the
 * decision. */
struct check {
    struct tl_manifest manifest;
    struct tl_image_component chain[TL_IMAGE_CHECK_MAX];
    struct tl_image_input inputs[TL_IMAGE_CHECK_MAX];
    uint8_t *bufs[TL_IMAGE_CHECK_MAX];
    char problems[TL_IMAGE_CHECK_MAX][256];
    size_t n;
    uint8_t *vars;
    size_t vars_len;
    struct tl_store_keys keys;
    bool keys_loaded;
    char tmpdir[PATH_MAX];
};

static void check_done(struct check *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->bufs[i]);
    if (c->keys_loaded)
        tl_store_keys_done(&c->keys);
    free(c->vars);
    tl_manifest_done(&c->manifest);
    if (c->tmpdir[0])
        rmdir(c->tmpdir);
}

static int load_chain(struct check *c, const char *dir, struct tl_error *err)
{
    char path[PATH_MAX];
    struct stat st;
    if (stat(dir, &st) < 0) {
        int r = -errno;
        return tl_error_set_nopos(err, r, "%s: %s", dir, strerror(-r));
    }
    if (!S_ISDIR(st.st_mode))
        return tl_error_set_nopos(
            err, -ENOTDIR, "%s: not a directory (the image folder: manifest.json, disk.raw)", dir);
    if ((size_t)snprintf(path, sizeof(path), "%s/manifest.json", dir) >= sizeof(path))
        return tl_error_set_nopos(err, -ENAMETOOLONG, "%s: path too long", dir);
    uint8_t *buf;
    size_t len;
    int r = tlh_file_read(path, MANIFEST_MAX, &buf, &len, err);
    if (r < 0)
        return r;
    struct tl_error e = {0};
    r = tl_manifest_parse(buf, len, &c->manifest, &e);
    free(buf);
    if (r == 0)
        r = tl_image_chain(&c->manifest, c->chain, &c->n, &e);
    if (r < 0)
        return tl_error_set_nopos(err, r, "%s: %s", path, e.message);
    return 0;
}

static int load_keys(struct check *c, const char *vars, struct tl_error *err)
{
    int r = tlh_file_read(vars, VARS_MAX, &c->vars, &c->vars_len, err);
    if (r < 0)
        return r;
    struct tl_error e = {0};
    r = tl_store_keys_load(c->vars, c->vars_len, &c->keys, &e);
    if (r < 0)
        return e.has_offset
                   ? tl_error_set_nopos(err, r, "%s: %s (offset %zu)", vars, e.message, e.offset)
                   : tl_error_set_nopos(err, r, "%s: %s", vars, e.message);
    c->keys_loaded = true;
    return 0;
}

static int read_components(struct check *c, const char *disk, struct tl_error *err)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(c->tmpdir, sizeof(c->tmpdir), "%s/tl-image-check.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(c->tmpdir)) {
        int r = -errno;
        tl_error_set_nopos(err, r, "%s: cannot create a temp folder: %s", c->tmpdir, strerror(-r));
        c->tmpdir[0] = '\0';
        return r;
    }
    for (size_t i = 0; i < c->n; i++) {
        int r = tlh_image_esp_read(disk, c->chain[i].path, c->tmpdir, &c->bufs[i],
                                   &c->inputs[i].len, c->problems[i], sizeof(c->problems[i]), err);
        if (r < 0)
            return r;
        c->inputs[i].buf = c->bufs[i];
        if (r == 1) {
            c->inputs[i].unreadable = c->problems[i];
            break; /* the firmware or shim stops here: the rest is not read */
        }
    }
    return 0;
}

int tlh_image_check(const char *dir, const char *disk, const char *vars, time_t now,
                    struct tl_image_verdict *v, struct tl_error *err)
{
    struct check *c = calloc(1, sizeof(*c));
    if (!c)
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    char disk_default[PATH_MAX];
    int r = load_chain(c, dir, err);
    if (r == 0 && !disk) {
        if ((size_t)snprintf(disk_default, sizeof(disk_default), "%s/disk.raw", dir) >=
            sizeof(disk_default))
            r = tl_error_set_nopos(err, -ENAMETOOLONG, "%s: path too long", dir);
        disk = disk_default;
    }
    if (r == 0)
        r = tlh_image_esp_check(disk, err);
    if (r == 0)
        r = load_keys(c, vars, err);
    if (r == 0)
        r = read_components(c, disk, err);
    if (r == 0) {
        struct tl_error e = {0};
        r = tl_image_check(c->chain, c->inputs, c->n, &c->keys, now, v, &e);
        if (r < 0)
            tl_error_set_nopos(err, r, "%s: %s", disk, e.message);
    }
    check_done(c);
    free(c);
    return r;
}
