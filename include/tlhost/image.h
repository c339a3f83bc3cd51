/* The host library (src/host, "tlh_"), image.h: a node image folder
 * (DIR/manifest.json, DIR/disk.raw; docs/image.md) read for
 * libtl's image-check decision (tl/imagecheck.h): the manifest's boot chain
 * copied off the disk's FAT ESP (partition 1 at 1 MiB) with mtools' mcopy
 * into a private temp folder, so what is checked is what the firmware
 * would read, not the manifest's digests. Used by `tl image check` and by
 * tld (a pool update, a node's boot diagnosis). */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "tl/error.h"
#include "tl/imagecheck.h"

#define TLH_IMAGE_ESP_OFFSET (1u << 20)

/* A FAT boot sector at 1 MiB of disk (where image-build.sh puts the ESP),
 * and a name mtools can take. -ENOENT..., -EBADMSG, -EINVAL with err. */
int tlh_image_esp_check(const char *disk, struct tl_error *err);

/* The ESP file esp_path (\EFI\BOOT\BOOTX64.EFI) of disk, through a file in
 * tmpdir. Returns 0 with *buf (malloc'd) and *len; 1 when mcopy could not
 * copy it (mcopy's first line in problem: "File ... not found"); -errno when
 * mcopy could not run, with err. */
int tlh_image_esp_read(const char *disk, const char *esp_path, const char *tmpdir, uint8_t **buf,
                       size_t *len, char *problem, size_t problem_size, struct tl_error *err);

/* The whole check: DIR's manifest, the chain read off disk (NULL:
 * DIR/disk.raw), the keys of the OVMF store at vars, decided at now.
 * Returns 0 with v filled (pass or fail: v->failed), or -errno with err
 * ("PATH: what") for bad input or an mcopy that cannot run. */
int tlh_image_check(const char *dir, const char *disk, const char *vars, time_t now,
                    struct tl_image_verdict *v, struct tl_error *err);
