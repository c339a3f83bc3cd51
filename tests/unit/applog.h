/* A synthetic crypto-agile event log (SHA-1 and SHA-256 banks) of N
 * EV_EFI_BOOT_SERVICES_APPLICATION records in PCR 4, each a different image
 * (distinct digests) loaded without a device path: the shape a guest can
 * send to make the boot state name many applications. Shared by the unit
 * tests (slow-input regressions) and bench-eventlog ("apps:N"). */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Bytes of the log with n applications. */
size_t applog_size(size_t n);
/* A malloc'd log of exactly applog_size(n) bytes, or NULL (out of memory). */
uint8_t *applog_build(size_t n, size_t *len);
/* The same, application i loaded from the file paths[i] (ASCII, e.g.
 * "\\EFI\\debian\\grubx64.efi"), or without a device path when NULL. */
uint8_t *applog_build_paths(const char *const *paths, size_t n, size_t *len);
