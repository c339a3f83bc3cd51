/* `tl image check DIR --vars VARS.fd [--disk DISK] [--json]`: will this
 * node image boot with these firmware keys?
 *
 * A printer: the host library reads the image (tlhost/image.h: the
 * manifest's PE components copied off the disk's ESP with mcopy) and libtl
 * decides (tl/imagecheck.h: the decision `tl secureboot verify` makes, the
 * firmware for the first image, shim for the second and shim's protocol for
 * the rest). tld calls the same function.
 *
 * A component missing from the ESP or not a PE image fails the check (the
 * firmware or shim could not start it); the ones after it are not checked.
 * Exit 0 pass, 1 fail, 2 bad input. */
#include "image_check.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "output.h"
#include "tl.h"
#include "tl/imagecheck.h"
#include "tl/util.h"
#include "tlhost/image.h"

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

static void print_text(const char *dir, const char *disk, const char *vars,
                       const struct tl_image_verdict *v)
{
    char by[768];
    printf("image %s (disk %s), keys %s: Secure Boot %s%s%s%s\n", dir, disk, vars,
           v->secure_boot ? "on" : "off", v->secure_boot ? "" : " (", v->secure_boot_off_why,
           v->secure_boot ? "" : ")");
    for (size_t i = 0; i < v->n; i++) {
        const struct tl_image_result *r = &v->results[i];
        const struct tl_sb_verdict *sb = &r->v;
        if (r->state == TL_IMAGE_BROKEN) {
            printf("%-8s %-9s %s\n         %s\n", r->c.name, "FAIL", r->c.path, r->problem);
        } else if (r->state == TL_IMAGE_UNCHECKED) {
            printf("%-8s %-9s %s\n", r->c.name, "unchecked", r->c.path);
        } else if (!v->secure_boot) {
            printf("%-8s %-9s %s\n", r->c.name, "pass", r->c.path);
        } else if (sb->allowed) {
            tl_image_verified_by(sb, by, sizeof(by));
            printf("%-8s %-9s %s (by %s)\n         %s\n", r->c.name, "pass", r->c.path,
                   tl_verifier_name(sb->verifier), by);
        } else {
            printf("%-8s %-9s %s (by %s)\n         %s\n", r->c.name, "FAIL", r->c.path,
                   tl_verifier_name(sb->verifier), sb->reason);
        }
        if (r->state == TL_IMAGE_CHECKED && sb->warning[0])
            printf("         warning: %s\n", sb->warning);
    }
    if (v->failed >= 0)
        printf("verdict: FAIL: %s\n", v->text);
    else if (!v->secure_boot)
        printf("verdict: pass: secure boot off: no check\n");
    else
        printf("verdict: pass\n");
}

static int check(const char *dir, const char *disk_opt, const char *vars, bool json)
{
    _cleanup_free_ struct tl_image_verdict *v = calloc(1, sizeof(*v));
    _cleanup_free_ char *disk_default = NULL;
    struct tl_error err = {0};
    if (!v || (!disk_opt && asprintf(&disk_default, "%s/disk.raw", dir) < 0))
        return TLC_EXIT_BAD;
    const char *disk = disk_opt ? disk_opt : disk_default;
    if (tlh_image_check(dir, disk_opt, vars, time(NULL), v, &err) < 0) {
        tlc_report(NULL, "%s", err.message);
        return TLC_EXIT_BAD;
    }
    if (json)
        tlc_json_print(tl_image_verdict_json(v, dir, disk, vars));
    else
        print_text(dir, disk, vars, v);
    return v->failed >= 0 ? TLC_EXIT_FAIL : TLC_EXIT_OK;
}

int tlc_cmd_image_check(int argc, char **argv)
{
    static const struct option options[] = {
        {"vars", required_argument, NULL, 'v'},
        {"disk", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *vars = NULL, *disk = NULL;
    bool json = false;
    int c;
    optind = 1;
    opterr = 0;
    json = tlc_output_wants_json(); /* --json, --output, --query */
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (c) {
        case 'v':
            vars = optarg;
            break;
        case 'd':
            disk = optarg;
            break;
        case 'h':
            usage(stdout);
            return TLC_EXIT_OK;
        default:
            tlc_report_option_error("image check", argv);
            return TLC_EXIT_BAD;
        }
    }
    if (optind >= argc) {
        tlc_report("image check", "no DIR given (the image folder)");
        return TLC_EXIT_BAD;
    }
    if (argc - optind > 1) {
        tlc_report("image check", "one DIR only (\"%s\" is extra)", argv[optind + 1]);
        return TLC_EXIT_BAD;
    }
    if (!vars) {
        tlc_report("image check", "--vars VARS.fd is required (the node's OVMF store)");
        return TLC_EXIT_BAD;
    }
    return check(argv[optind], disk, vars, json);
}
