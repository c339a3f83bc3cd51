/* `tl image check DIR --vars VARS.fd [--disk DISK] [--json]`: will this
 * node image boot with these firmware keys?
 *
 * The manifest (DIR/manifest.json, docs/image.md) names the boot chain's PE
 * components and their ESP paths, in load order (shim, grub, kernel). Each
 * is copied out of the disk's FAT ESP (partition 1 at 1 MiB) with mtools'
 * mcopy into a private temp folder, so what is checked is what the firmware
 * would read, not the manifest's digests. The decision is the one
 * `tl secureboot verify` makes (secureboot_chain.h + libtl's
 * tl_secureboot_check_chain): the firmware decides for the first image,
 * shim for the second and shim's protocol for the rest.
 *
 * A component missing from the ESP or not a PE image fails the check (the
 * firmware or shim could not start it); the ones after it are not checked.
 * Exit 0 pass, 1 fail, 2 bad input. */
#include "image_check.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "secureboot_chain.h"
#include "tl.h"
#include "tl/pe.h"
#include "tl/secureboot.h"
#include "tl/util.h"
#include "tlhost/proc.h"

#define MANIFEST_FORMAT "trustlaunch-image/1"
#define ESP_OFFSET      (1u << 20)
#define MAX_COMPONENTS  16

static void usage(FILE *f)
{
    fputs("usage: tl image check DIR --vars VARS.fd [--disk DISK] [--json]\n"
          "\n"
          "Would the firmware and shim, with the keys of the OVMF variable store\n"
          "VARS.fd, start the boot chain of the image in DIR (DIR/manifest.json's PE\n"
          "components, read from the ESP of DIR/disk.raw or DISK)? Names the first\n"
          "component that would be refused, and why. Exit status: 0 pass, 1 fail,\n"
          "2 bad input.\n",
          f);
}

enum state { UNCHECKED, CHECKED, BROKEN };

struct component {
    char name[64];
    char path[256]; /* as in the manifest: \EFI\BOOT\BOOTX64.EFI */
    enum state state;
    char problem[512]; /* BROKEN: not on the ESP, not a PE image */
    uint8_t *buf;
    size_t len;
    struct tl_pe pe;
    bool parsed;
};

/* ---- the manifest ---- */

/* An ESP path the way the manifest writes it: absolute, backslashes,
 * characters a FAT long name allows (no control characters, no / : * ? " < > |). */
static bool esp_path_ok(const char *p)
{
    size_t n = strlen(p);
    if (n < 2 || n >= 256 || p[0] != '\\')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c < 0x20 || c > 0x7e || strchr("/:*?\"<>|", c))
            return false;
    }
    return true;
}

static int manifest_load(const char *dir, struct component *comps, size_t *n)
{
    _cleanup_free_ char *path = NULL;
    _cleanup_free_ uint8_t *buf = NULL;
    size_t len;
    if (asprintf(&path, "%s/manifest.json", dir) < 0)
        return -ENOMEM;
    if (tl_read_file(path, &buf, &len) < 0)
        return -EIO;
    json_error_t jerr;
    json_t *m = json_loadb((const char *)buf, len, 0, &jerr);
    if (!m) {
        tl_report(path, "not JSON: %s (line %d)", jerr.text, jerr.line);
        return -EBADMSG;
    }
    int r = -EBADMSG;
    const char *format = json_string_value(json_object_get(m, "format"));
    json_t *arr = json_object_get(m, "components");
    if (!format || strcmp(format, MANIFEST_FORMAT) != 0) {
        tl_report(path, "not a trustlaunch image manifest (format is not \"%s\")", MANIFEST_FORMAT);
        goto out;
    }
    if (!json_is_array(arr)) {
        tl_report(path, "no \"components\" array");
        goto out;
    }
    *n = 0;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *c = json_array_get(arr, i);
        const char *kind = json_string_value(json_object_get(c, "kind"));
        const char *name = json_string_value(json_object_get(c, "name"));
        const char *p = json_string_value(json_object_get(c, "path"));
        if (!json_is_object(c) || !kind) {
            tl_report(path, "components[%zu]: no \"kind\"", i);
            goto out;
        }
        if (strcmp(kind, "pe") != 0)
            continue; /* initramfs, grub.cfg: files grub reads, not signature-checked */
        if (!name || !*name || strlen(name) >= sizeof(comps[0].name)) {
            tl_report(path, "components[%zu]: bad or missing \"name\"", i);
            goto out;
        }
        if (!p || !esp_path_ok(p)) {
            tl_report(path, "components[%zu] (%s): bad or missing ESP \"path\"", i, name);
            goto out;
        }
        if (*n == MAX_COMPONENTS) {
            tl_report(path, "more than %d PE components", MAX_COMPONENTS);
            goto out;
        }
        struct component *dst = &comps[(*n)++];
        *dst = (struct component){.state = UNCHECKED};
        snprintf(dst->name, sizeof(dst->name), "%s", name);
        snprintf(dst->path, sizeof(dst->path), "%s", p);
    }
    if (*n == 0) {
        tl_report(path, "no PE components (shim, grub, kernel)");
        goto out;
    }
    r = 0;
out:
    json_decref(m);
    return r;
}

/* ---- the disk ---- */

/* A FAT boot sector at 1 MiB (where image-build.sh puts the ESP): the
 * 0x55AA signature and "FAT" in the FAT12/16 or FAT32 type field. */
static int disk_check(const char *disk)
{
    uint8_t bs[512];
    int fd = open(disk, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        tl_report(disk, "%s", strerror(errno));
        return -errno;
    }
    ssize_t got = pread(fd, bs, sizeof(bs), ESP_OFFSET);
    close(fd);
    if (got < 0) {
        tl_report(disk, "cannot read: %s", strerror(errno));
        return -EIO;
    }
    if (got != (ssize_t)sizeof(bs) || bs[510] != 0x55 || bs[511] != 0xaa ||
        (memcmp(bs + 54, "FAT", 3) != 0 && memcmp(bs + 82, "FAT", 3) != 0)) {
        tl_report(disk, "no FAT file system at offset 1 MiB (the ESP)");
        return -EBADMSG;
    }
    /* mtools reads "FILE@@OFFSET": a name containing "@@" would be misread. */
    if (strstr(disk, "@@")) {
        tl_report(disk, "a disk name containing \"@@\" is not supported (mtools)");
        return -EINVAL;
    }
    return 0;
}

/* Copies the ESP file `esp_path` to `dest` with mcopy. Returns 0, 1 when
 * mcopy failed (its first stderr line in msg), or -errno when mcopy could
 * not run (reported). */
static int esp_extract(const char *disk, const char *esp_path, const char *dest,
                       const char *errfile, char *msg, size_t msg_size)
{
    _cleanup_free_ char *image = NULL, *src = NULL;
    if (asprintf(&image, "%s@@%u", disk, ESP_OFFSET) < 0 || asprintf(&src, "::%s", esp_path) < 0)
        return -ENOMEM;
    for (char *p = src; *p; p++)
        if (*p == '\\')
            *p = '/';
    /* the ESP's geometry is mformat's, not a floppy's */
    const char *env[] = {"MTOOLS_SKIP_CHECK=1", NULL};
    const char *argv[] = {"mcopy", "-n", "-i", image, src, dest, NULL};
    struct tlh_run_options o = {.argv = argv, .env = env, .stderr_log = errfile};
    struct tlh_run_result res;
    struct tl_error err = {0};
    unlink(errfile);
    int r = tlh_run(&o, &res, &err);
    tlh_run_result_done(&res);
    if (r == 0)
        return 0;
    if (r != -EIO) {
        if (r == -ENOENT)
            tl_report("mcopy", "cannot run it (apt-get install mtools)");
        else
            tl_report("mcopy", "%s", err.message);
        return r;
    }
    /* mcopy's first line says why ("File ... not found") */
    msg[0] = '\0';
    FILE *f = fopen(errfile, "r");
    if (f) {
        if (fgets(msg, (int)msg_size, f))
            msg[strcspn(msg, "\r\n")] = '\0';
        fclose(f);
    }
    if (!msg[0])
        snprintf(msg, msg_size, "%s", err.message);
    return 1;
}

/* Reads every component off the ESP and parses it. Returns 0 or -errno
 * (reported) when mcopy cannot run or the temp folder cannot be made. */
static int components_read(const char *disk, struct component *comps, size_t n)
{
    const char *tmp = getenv("TMPDIR");
    _cleanup_free_ char *dir = NULL;
    if (asprintf(&dir, "%s/tl-image-check.XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0)
        return -ENOMEM;
    if (!mkdtemp(dir)) {
        tl_report(dir, "cannot create a temp folder: %s", strerror(errno));
        return -errno;
    }
    int r = 0;
    for (size_t i = 0; i < n && r == 0; i++) {
        struct component *c = &comps[i];
        char dest[PATH_MAX], errfile[PATH_MAX], msg[256];
        snprintf(dest, sizeof(dest), "%s/%zu.efi", dir, i);
        snprintf(errfile, sizeof(errfile), "%s/mcopy.err", dir);
        r = esp_extract(disk, c->path, dest, errfile, msg, sizeof(msg));
        if (r < 0)
            break;
        if (r == 1) {
            r = 0;
            c->state = BROKEN;
            snprintf(c->problem, sizeof(c->problem), "cannot be read from the ESP: %s", msg);
            continue;
        }
        if (tl_read_file(dest, &c->buf, &c->len) < 0) {
            r = -EIO;
            break;
        }
        struct tl_error err = {0};
        if (tl_pe_parse(c->buf, c->len, &c->pe, &err) < 0) {
            c->state = BROKEN;
            snprintf(c->problem, sizeof(c->problem), "not a valid PE image: %s", err.message);
            continue;
        }
        c->parsed = true;
    }
    tl_remove_tree(dir);
    return r;
}

static void components_done(struct component *comps, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (comps[i].parsed)
            tl_pe_done(&comps[i].pe);
        free(comps[i].buf);
    }
}

/* ---- output ---- */

/* What allowed an image: "db: CN=...", "vendor_cert: CN=...", "db: sha256 <hex>". */
static void verified_by(const struct tl_sb_verdict *v, char *out, size_t size)
{
    if (v->by_certificate) {
        snprintf(out, size, "%s: %s", v->source, v->cert_subject);
    } else if (v->by_hash) {
        char hex[2 * TL_DIGEST_MAX + 1];
        tl_hex_encode(v->hash, v->hash_len, hex);
        snprintf(out, size, "%s: %s %s", v->source, tl_sig_kind_name(v->hash_kind), hex);
    } else {
        snprintf(out, size, "%s: %s", v->source[0] ? v->source : "-", v->reason);
    }
}

struct result {
    bool secure_boot;
    const char *off_why;
    size_t n_checked; /* components decided by the chain check */
    int failed;       /* index of the first failing component, or -1 */
    char reason[1024];
};

static json_t *component_json(const struct component *c, const struct tl_sb_verdict *v,
                              const struct result *res)
{
    json_t *o = json_pack("{s:s, s:s}", "name", c->name, "path", c->path);
    char by[768];
    if (c->state == BROKEN) {
        json_object_set_new(o, "verdict", json_string("fail"));
        json_object_set_new(o, "reason", json_string(c->problem));
        return o;
    }
    if (c->state == UNCHECKED) {
        json_object_set_new(o, "verdict", json_string("unchecked"));
        json_object_set_new(o, "reason", json_string("not checked: an earlier component fails"));
        return o;
    }
    json_object_set_new(o, "verdict", json_string(v->allowed ? "pass" : "fail"));
    json_object_set_new(o, "verifier", json_string(tl_verifier_name(v->verifier)));
    json_object_set_new(o, "source", json_string(v->source));
    json_object_set_new(o, "sha256", tl_json_hex(v->sha256, 32));
    if (!res->secure_boot) {
        json_object_set_new(o, "verified_by", json_null());
        json_object_set_new(o, "reason", json_string("secure boot off: no check"));
    } else if (v->allowed) {
        verified_by(v, by, sizeof(by));
        json_object_set_new(o, "verified_by", json_string(by));
    } else {
        json_object_set_new(o, "reason", json_string(v->reason));
    }
    if (v->warning[0])
        json_object_set_new(o, "warning", json_string(v->warning));
    return o;
}

static void print_text(const char *dir, const char *disk, const char *vars,
                       const struct component *comps, size_t n,
                       const struct tl_sb_verdict *verdicts, const struct result *res)
{
    char by[768];
    printf("image %s (disk %s), keys %s: Secure Boot %s%s%s%s\n", dir, disk, vars,
           res->secure_boot ? "on" : "off", res->secure_boot ? "" : " (", res->off_why,
           res->secure_boot ? "" : ")");
    for (size_t i = 0; i < n; i++) {
        const struct component *c = &comps[i];
        const struct tl_sb_verdict *v = &verdicts[i];
        if (c->state == BROKEN) {
            printf("%-8s %-9s %s\n         %s\n", c->name, "FAIL", c->path, c->problem);
        } else if (c->state == UNCHECKED) {
            printf("%-8s %-9s %s\n", c->name, "unchecked", c->path);
        } else if (!res->secure_boot) {
            printf("%-8s %-9s %s\n", c->name, "pass", c->path);
        } else if (v->allowed) {
            verified_by(v, by, sizeof(by));
            printf("%-8s %-9s %s (by %s)\n         %s\n", c->name, "pass", c->path,
                   tl_verifier_name(v->verifier), by);
        } else {
            printf("%-8s %-9s %s (by %s)\n         %s\n", c->name, "FAIL", c->path,
                   tl_verifier_name(v->verifier), v->reason);
        }
        if (c->state == CHECKED && v->warning[0])
            printf("         warning: %s\n", v->warning);
    }
    if (res->failed >= 0)
        printf("verdict: FAIL: %s\n", res->reason);
    else if (!res->secure_boot)
        printf("verdict: pass: secure boot off: no check\n");
    else
        printf("verdict: pass\n");
}

/* ---- the verb ---- */

static int check(const char *dir, const char *disk_opt, const char *vars, bool json)
{
    struct stat st;
    if (stat(dir, &st) < 0) {
        tl_report(dir, "%s", strerror(errno));
        return TL_EXIT_BAD;
    }
    if (!S_ISDIR(st.st_mode)) {
        tl_report(dir, "not a directory (the image folder: manifest.json, disk.raw)");
        return TL_EXIT_BAD;
    }
    struct component comps[MAX_COMPONENTS];
    size_t n = 0;
    if (manifest_load(dir, comps, &n) < 0)
        return TL_EXIT_BAD;
    _cleanup_free_ char *disk_default = NULL;
    if (!disk_opt && asprintf(&disk_default, "%s/disk.raw", dir) < 0)
        return TL_EXIT_BAD;
    const char *disk = disk_opt ? disk_opt : disk_default;
    if (disk_check(disk) < 0)
        return TL_EXIT_BAD;

    const struct sb_chain_sources src = {.vars = vars};
    struct sb_chain_keys k;
    struct tl_sb_verdict verdicts[MAX_COMPONENTS] = {0};
    struct result res = {.failed = -1};
    int status = sb_chain_keys_load(&src, &k, NULL);
    if (status != TL_EXIT_OK)
        goto out;
    if (components_read(disk, comps, n) < 0) {
        status = TL_EXIT_BAD;
        goto out;
    }

    /* The chain up to the first component that cannot be read or parsed. */
    const struct tl_pe *images[MAX_COMPONENTS];
    const char *names[MAX_COMPONENTS];
    while (res.n_checked < n && comps[res.n_checked].parsed) {
        images[res.n_checked] = &comps[res.n_checked].pe;
        names[res.n_checked] = comps[res.n_checked].name;
        res.n_checked++;
    }
    struct tl_error err = {0};
    int denied = res.n_checked ? tl_secureboot_check_chain(images, names, res.n_checked, &k.keys,
                                                           time(NULL), NULL, verdicts, &err)
                               : 0;
    if (denied < 0) {
        tl_report_error(disk, &err);
        status = TL_EXIT_BAD;
        goto out;
    }
    res.secure_boot = !k.keys.secure_boot_off;
    res.off_why = k.secure_boot_off_why;
    for (size_t i = 0; i < res.n_checked; i++)
        comps[i].state = CHECKED;
    for (size_t i = 0; i < n && res.failed < 0; i++) {
        if (comps[i].state == BROKEN) {
            res.failed = (int)i;
            snprintf(res.reason, sizeof(res.reason), "%s: %s", comps[i].name, comps[i].problem);
        } else if (comps[i].state == CHECKED && !verdicts[i].allowed) {
            res.failed = (int)i;
            snprintf(res.reason, sizeof(res.reason), "%s: %s", comps[i].name, verdicts[i].reason);
        }
    }
    status = res.failed >= 0 ? TL_EXIT_FAIL : TL_EXIT_OK;

    if (json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, component_json(&comps[i], &verdicts[i], &res));
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:b, s:o}", "dir", dir, "disk", disk, "vars",
                              vars, "verdict", res.failed >= 0 ? "fail" : "pass", "secure_boot",
                              res.secure_boot, "components", arr);
        if (!res.secure_boot)
            json_object_set_new(o, "secure_boot_off", json_string(res.off_why));
        json_object_set_new(o, "failed",
                            res.failed >= 0 ? json_string(comps[res.failed].name) : json_null());
        json_object_set_new(o, "reason",
                            res.failed >= 0    ? json_string(res.reason)
                            : !res.secure_boot ? json_string("secure boot off: no check")
                                               : json_null());
        tl_json_print(o);
    } else {
        print_text(dir, disk, vars, comps, n, verdicts, &res);
    }
out:
    components_done(comps, n);
    sb_chain_keys_done(&k);
    return status;
}

int tl_cmd_image_check(int argc, char **argv)
{
    static const struct option options[] = {
        {"vars", required_argument, NULL, 'v'},
        {"disk", required_argument, NULL, 'd'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *vars = NULL, *disk = NULL;
    bool json = false;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (c) {
        case 'v':
            vars = optarg;
            break;
        case 'd':
            disk = optarg;
            break;
        case 'j':
            json = true;
            break;
        case 'h':
            usage(stdout);
            return TL_EXIT_OK;
        default:
            tl_report_option_error("image check", argv);
            return TL_EXIT_BAD;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "tl: image check: no DIR given (the image folder)\n");
        return TL_EXIT_BAD;
    }
    if (argc - optind > 1) {
        fprintf(stderr, "tl: image check: one DIR only (\"%s\" is extra)\n", argv[optind + 1]);
        return TL_EXIT_BAD;
    }
    if (!vars) {
        fprintf(stderr, "tl: image check: --vars VARS.fd is required (the node's OVMF store)\n");
        return TL_EXIT_BAD;
    }
    return check(argv[optind], disk, vars, json);
}
