/* The host library (src/host, "tlh_"): what tl, tld and tl-agent do with
 * the host: files, processes, the swtpm control channel, the EK-CA folder,
 * HTTP. It may do I/O; it never prints and never exits: a failing function
 * returns a negative errno value and fills a tl_error, as libtl does.
 *
 * file.h: whole-file reads and writes. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tl/error.h"

/* The whole of path, to its end, in a malloc'd buffer with a NUL after the
 * last byte (*len excludes it). The size comes from reading, never from
 * stat: sysfs and securityfs files report 0 or a page. -ENOENT, -EISDIR,
 * -EFBIG beyond max bytes, or the open or read error. */
int tlh_file_read(const char *path, size_t max, uint8_t **out, size_t *len, struct tl_error *err);

/* Writes data to a new file at path (never over an existing one: -EEXIST)
 * with mode, synced and closed; on a write error the file is removed. */
int tlh_file_write_new(const char *path, const void *data, size_t len, mode_t mode,
                       struct tl_error *err);
