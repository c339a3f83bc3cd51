/* Will a node image boot with these firmware keys? The decision half of
 * `tl image check` (lib/secureboot/imagecheck.c), pure: the boot chain the
 * manifest names, the bytes of each component as read off the ESP (or why
 * they could not be read), and an OVMF variable store in; a verdict out
 * that names the first component refused, a reason code, and why in words.
 * The reading is the host library's (tlhost/image.h).
 *
 * The decision is tl_secureboot_check_chain's, as `tl secureboot verify`
 * makes it: the firmware decides for the first image, shim for the second
 * and shim's protocol for the rest. A component missing from the ESP or
 * not a PE image fails (the firmware or shim could not start it); the ones
 * after it are not checked. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "tl/error.h"
#include "tl/manifest.h"
#include "tl/secureboot.h"
#include "tl/varstore.h"

#define TL_IMAGE_CHECK_MAX 16 /* PE components in a chain */

/* ---- the keys of a variable store ---- */

/* Why Secure Boot is off with this store ("no PK enrolled",
 * "SecureBootEnable is 0"), or "" when it is on: PK enrolled (user mode,
 * UEFI 2.10 32.3) and OVMF's SecureBootEnable not 0 (EDK2's AuthVariableLib
 * sets SecureBoot to 1 only then; a store without SecureBootEnable gets it
 * created as 1 in user mode). */
const char *tl_secureboot_off_reason(const struct tl_varstore *vs);

/* db and dbx of a store, and whether Secure Boot is on. Points into the
 * caller's buffer, which must outlive it. */
struct tl_store_keys {
    struct tl_varstore vs;
    struct tl_sig_db db, dbx;
    const char *secure_boot_off_why; /* "" when on */
    struct tl_sb_keys keys;
};
/* -EBADMSG with err ("db: ..." for a list that does not parse). */
int tl_store_keys_load(const uint8_t *vars, size_t len, struct tl_store_keys *k,
                       struct tl_error *err);
void tl_store_keys_done(struct tl_store_keys *k);

/* ---- the chain ---- */

struct tl_image_component {
    char name[64];
    char path[256]; /* as in the manifest: \EFI\BOOT\BOOTX64.EFI */
};

/* The manifest's PE components in load order (shim, grub, kernel); files
 * grub reads (initramfs, grub.cfg) are not signature-checked. -EBADMSG with
 * err when the manifest is not a trustlaunch image's or a PE component has
 * no name or no valid ESP path. */
int tl_image_chain(const struct tl_manifest *m, struct tl_image_component *chain, size_t *n,
                   struct tl_error *err);

/* A component as read off the ESP: its bytes, or why there are none. */
struct tl_image_input {
    const uint8_t *buf;
    size_t len;
    const char *unreadable; /* NULL: read */
};

enum tl_image_reason {
    TL_IMAGE_PASS,            /* every component allowed */
    TL_IMAGE_SECURE_BOOT_OFF, /* pass: the store verifies nothing */
    TL_IMAGE_UNREADABLE,      /* a component is not on the ESP */
    TL_IMAGE_NOT_PE,          /* a component is not a PE image */
    TL_IMAGE_DENIED,          /* the firmware or shim refuses a component */
};
/* "pass", "secure-boot-off", "unreadable", "not-pe", "denied" */
const char *tl_image_reason_name(enum tl_image_reason r);

enum tl_image_state { TL_IMAGE_UNCHECKED, TL_IMAGE_CHECKED, TL_IMAGE_BROKEN };

struct tl_image_result {
    struct tl_image_component c;
    enum tl_image_state state;
    char problem[512];      /* BROKEN: not on the ESP, not a PE image */
    struct tl_sb_verdict v; /* CHECKED */
};

struct tl_image_verdict {
    bool secure_boot;
    char secure_boot_off_why[48];
    size_t n;
    struct tl_image_result results[TL_IMAGE_CHECK_MAX];
    int failed; /* index of the first failing component, -1: none */
    enum tl_image_reason reason;
    char text[1024]; /* "grub: the image's sha256 digest does not match its signature",
                      * "secure boot off: no check", or "" for a plain pass */
};

/* Decides. inputs[i] is chain[i]'s; `now` only drives expiry warnings.
 * Returns 0 with v filled (pass or fail), or -errno (a chain check that
 * could not run) with err. */
int tl_image_check(const struct tl_image_component *chain, const struct tl_image_input *inputs,
                   size_t n, const struct tl_store_keys *keys, time_t now,
                   struct tl_image_verdict *v, struct tl_error *err);

/* What allowed a component: "db: CN=...", "vendor_cert: CN=...",
 * "db: sha256 <hex>". */
void tl_image_verified_by(const struct tl_sb_verdict *v, char *out, size_t size);

/* The verdict as `tl image check --json` prints it (docs/cli.md), for
 * image folder dir, disk and store vars. A new reference. */
json_t *tl_image_verdict_json(const struct tl_image_verdict *v, const char *dir, const char *disk,
                              const char *vars);
