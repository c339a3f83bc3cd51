/* An image's manifest (docs/image.md, "manifest.json"), parsed once: the
 * reference values the attestation policy (policy.h) predicts a boot from,
 * and the boot chain `tl image check` reads off the ESP (imagecheck.h).
 *
 * The parser keeps what the consumers read and nothing more. It is lenient
 * about fields it does not need (a field of the wrong type reads as absent:
 * the policy then reports a finding, the image check a bad manifest), strict
 * about the shape: the input must be one JSON object, no duplicate keys. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tl/error.h"

#define TL_MANIFEST_FORMAT "trustlaunch-image/1"
/* More entries than any image has; a bound so that a manifest's size, not
 * its content, bounds the work. */
#define TL_MANIFEST_MAX_ENTRIES 4096

/* One component ("components": shim, grub, kernel, grub.cfg, initramfs).
 * Strings are NULL when the manifest has no string there. */
struct tl_manifest_component {
    bool is_object; /* false: the entry is not a JSON object */
    char *kind;     /* "pe" (signature-checked) or another kind of file */
    char *name;
    char *path;   /* ESP path as written: \EFI\debian\vmlinuz */
    char *sha256; /* "digests": {"sha256": ...}, as written */
};

/* One grub record in log order ("grub_events"). */
struct tl_manifest_grub_event {
    char *event;  /* the record's text as in the log */
    char *sha256; /* "digests": {"sha256": ...} */
};

struct tl_manifest {
    char *format;         /* NULL: none */
    char *kernel_cmdline; /* NULL: none */
    bool has_components;  /* "components" is an array */
    struct tl_manifest_component *components;
    size_t n_components;
    struct tl_manifest_grub_event *grub_events;
    size_t n_grub_events;
};

/* Parses len bytes of manifest.json. -EBADMSG (not JSON, not an object, too
 * many entries) or -ENOMEM, with err set; *m is then empty. */
int tl_manifest_parse(const uint8_t *buf, size_t len, struct tl_manifest *m, struct tl_error *err);
void tl_manifest_done(struct tl_manifest *m);

/* The component named name, or NULL. */
const struct tl_manifest_component *tl_manifest_component(const struct tl_manifest *m,
                                                          const char *name);
