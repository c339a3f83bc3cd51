/* What tl aks create (aks_cmd.c) and tl aks nodepool (nodepool_cmd.c)
 * share: allowed values and --aks-custom-headers. */
#pragma once

#include <stdbool.h>

#include "azargs.h"

extern const char *const aks_os_skus[];
extern const char *const aks_vm_set_types[];
extern const char *const aks_osdisk_types[];

/* --aks-custom-headers KEY=VALUE,...: *gen1 for UseGen1Image=true; other
 * headers are accepted and ignored, as ARM ignores headers it does not use.
 * -EINVAL after printing the error line. */
int aks_custom_headers(const struct az_args *a, bool *gen1);
