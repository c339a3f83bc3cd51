/* The host library (src/host, "tlh_"): what tl, tld and tl-agent do with
 * the host: files, processes, the swtpm control channel, the EK-CA folder,
 * HTTP. It may do I/O; it never prints and never exits: a failing function
 * returns a negative errno value and fills a tl_error, as libtl does.
 *
 * file.h: whole-file reads, private files, new files, trees removed. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tl/error.h"

/* The whole of path, to its end, in a malloc'd buffer with a NUL after the
 * last byte (*len excludes it). The size comes from reading, never from
 * stat: sysfs and securityfs files report 0 or a page. -ENOENT, -EISDIR,
 * -EFBIG beyond max bytes, or the open or read error. */
int tlh_file_read(const char *path, size_t max, uint8_t **out, size_t *len, struct tl_error *err);
/* A large read-only input (a PE image) mapped rather than copied: a
 * regular file of 1 to max bytes is mapped private and read-only with its
 * pages populated up front (under this VM's page-fault cost, copying an 8
 * MiB kernel into fresh heap pages was a third of `tl secureboot digest`).
 * Returns 1 when mapped; 0, m untouched, when path is not such a file or
 * cannot be opened (the caller reads it its own way and reports what it
 * finds); -EFBIG or mmap's -errno with err. As with every tool that maps
 * its input (pesign, sbverify), a file truncated by another process while
 * mapped faults on access. */
struct tlh_file_map {
    uint8_t *buf;
    size_t len;
};
int tlh_file_map(const char *path, size_t max, struct tlh_file_map *m, struct tl_error *err);
void tlh_file_unmap(struct tlh_file_map *m);
/* A secret (a key) must be a regular file nobody else can read: 0, or
 * -errno of stat, -EPERM ("PATH: not a regular file", "PATH: readable by
 * group or others (mode 0644); chmod 600 it"). */
int tlh_file_check_private(const char *path, struct tl_error *err);
/* A new file (O_EXCL: never over an existing one) with mode, synced; on a
 * failed write it is removed again. */
int tlh_file_write_new(const char *path, const void *data, size_t len, mode_t mode,
                       struct tl_error *err);
/* Removes a directory tree without following links (keep_top: empties it,
 * keeping the directory itself); what cannot be removed is left. */
void tlh_file_remove_tree(const char *path, bool keep_top);
