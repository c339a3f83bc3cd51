/* The node pool rules (include/tl/aks.h): AKS's pool naming and count
 * limits, and the documented trusted-launch limitations ("Trusted launch for
 * Azure Kubernetes Service (AKS)", Limitations):
 *  - Kubernetes 1.25.2 and higher;
 *  - Generation 2 VMs only;
 *  - no Windows Server node pools;
 *  - not in one pool with FIPS, Arm64 (or Pod Sandboxing / Confidential VM:
 *    those sizes are not trusted-launch sizes in the catalog);
 *  - no virtual node;
 *  - Virtual Machine Scale Sets only, not availability sets;
 *  - Secure Boot on GPU pools only when the GPU driver is not installed
 *    (--skip-gpu-driver-install: the driver AKS installs is built on the
 *    node and not signed by a key the firmware or shim trusts);
 *  - ephemeral OS disks only on sizes that support them with trusted launch.
 * Updates: "If your node pool does not currently have a trusted launch image,
 * you will not be able to update the node pool to enable secure boot or
 * vTPM"; here that is a pool created on the Gen1 image.
 *
 * A confidential size (DCasv5 ... ECedsv5) makes a pool of confidential
 * nodes (tld gives them the size's TEE); the size must be offered in the
 * cluster's location (lib/aks/confidential.c).
 *
 * Every refusal is one line naming the rule and the option that breaks it.
 * The first broken rule wins, in the order above after the name, count,
 * size and version checks. Pure: no I/O, no state. */
#include "tl/aks.h"

#include "refuse.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define POOL_NAME_MAX_LINUX   11
#define POOL_NAME_MAX_WINDOWS 6
#define POOL_COUNT_MAX        1000
/* Suggest a catalog name this close (edits) to an unknown size. */
#define SUGGEST_MAX_DISTANCE 3
/* Version components above this are refused (no real version is near). */
#define VERSION_PART_MAX 1000000L


static bool is_windows(const struct tl_pool_spec *s)
{
    return s->os_type && strcasecmp(s->os_type, "Windows") == 0;
}

static bool name_ok(const char *name, size_t max)
{
    size_t n = name ? strlen(name) : 0;
    if (n < 1 || n > max || !(name[0] >= 'a' && name[0] <= 'z'))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9')))
            return false;
    return true;
}

/* Case-insensitive Levenshtein distance, capped: names are short. */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return SIZE_MAX;
    size_t prev[65], cur[65];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] +
                         (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, (lb + 1) * sizeof(size_t));
    }
    return prev[lb];
}

static const char *closest_size(const char *name)
{
    size_t n, best = SUGGEST_MAX_DISTANCE + 1;
    const struct tl_vm_size *sizes = tl_vm_sizes(&n), *found = NULL;
    for (size_t i = 0; i < n; i++) {
        size_t d = distance(name, sizes[i].name);
        if (d < best) {
            best = d;
            found = &sizes[i];
        }
    }
    return found ? found->name : NULL;
}

/* "v"? MAJOR "." MINOR ("." PATCH)?, decimal, no leading zeros, no sign. */
static int version_parse(const char *s, long v[3])
{
    if (!s)
        return -EINVAL;
    if (*s == 'v')
        s++;
    v[0] = v[1] = v[2] = 0;
    int parts = 0;
    for (;;) {
        if (!isdigit((unsigned char)*s) || (s[0] == '0' && isdigit((unsigned char)s[1])))
            return -EINVAL;
        long x = 0;
        while (isdigit((unsigned char)*s)) {
            x = x * 10 + (*s++ - '0');
            if (x > VERSION_PART_MAX)
                return -EINVAL;
        }
        v[parts++] = x;
        if (*s == '\0')
            break;
        if (*s != '.' || parts == 3)
            return -EINVAL;
        s++;
    }
    return parts >= 2 ? 0 : -EINVAL;
}

int tl_k8s_version_cmp(const char *a, const char *b, int *out)
{
    long va[3], vb[3];
    if (version_parse(a, va) < 0 || version_parse(b, vb) < 0)
        return -EINVAL;
    int r = 0;
    for (int i = 0; i < 3 && r == 0; i++)
        r = (va[i] > vb[i]) - (va[i] < vb[i]);
    if (out)
        *out = r;
    return 0;
}

int tl_pool_image_generation(const struct tl_vm_size *size, bool want_gen1)
{
    if (!size)
        return -EINVAL;
    if (size->gen2 && !want_gen1)
        return 2;
    /* a Gen2-only size has no Gen1 image to give */
    return size->gen1 ? 1 : -EINVAL;
}

/* The rules that hold with or without trusted launch. */
static int check_basics(const struct tl_pool_spec *s, const struct tl_vm_size **size, char *msg,
                        size_t len)
{
    const char *name = s->name ? s->name : "";
    if (s->os_type && strcasecmp(s->os_type, "Linux") != 0 && !is_windows(s))
        return refuse(msg, len, "OS type '%s': must be Linux or Windows (--os-type)", s->os_type);
    if (is_windows(s) ? !name_ok(name, POOL_NAME_MAX_WINDOWS) : !name_ok(name, POOL_NAME_MAX_LINUX))
        return refuse(msg, len,
                      "node pool name '%s': must be lowercase letters and digits, starting with "
                      "a letter, 1-%d characters for %s pools",
                      name, is_windows(s) ? POOL_NAME_MAX_WINDOWS : POOL_NAME_MAX_LINUX,
                      is_windows(s) ? "Windows" : "Linux");
    if (s->count < 0 || s->count > POOL_COUNT_MAX)
        return refuse(msg, len, "node count %ld: must be 0 to %d (--node-count)", s->count,
                      POOL_COUNT_MAX);
    *size = tl_vm_size_find(s->vm_size ? s->vm_size : TL_AKS_DEFAULT_VM_SIZE);
    if (!*size) {
        const char *near = closest_size(s->vm_size);
        return refuse(msg, len,
                      "VM size '%s': not in the catalog (tl aks vm-sizes lists them)%s%s%s",
                      s->vm_size, near ? "; did you mean " : "", near ? near : "", near ? "?" : "");
    }
    int r = tl_vm_size_check_offered(*size, s->location, msg, len);
    if (r < 0)
        return r;
    if (s->vm_set_type && strcasecmp(s->vm_set_type, "VirtualMachineScaleSets") != 0 &&
        strcasecmp(s->vm_set_type, "AvailabilitySet") != 0)
        return refuse(msg, len,
                      "VM set type '%s': must be VirtualMachineScaleSets or AvailabilitySet "
                      "(--vm-set-type)",
                      s->vm_set_type);
    if (s->os_disk_type && strcasecmp(s->os_disk_type, "Managed") != 0 &&
        strcasecmp(s->os_disk_type, "Ephemeral") != 0)
        return refuse(msg, len,
                      "OS disk type '%s': must be Managed or Ephemeral (--node-osdisk-type)",
                      s->os_disk_type);
    if (s->image_generation != 0 && s->image_generation != 1 && s->image_generation != 2)
        return refuse(msg, len, "image generation %d: must be 1 or 2", s->image_generation);
    if (s->image_generation == 2 && !(*size)->gen2)
        return refuse(msg, len, "VM size %s supports Gen1 only: no Gen2 image (--node-vm-size)",
                      (*size)->name);
    if (s->image_generation == 1 && !(*size)->gen1)
        return refuse(msg, len, "VM size %s supports Gen2 only: no Gen1 image (--node-vm-size)",
                      (*size)->name);
    int cmp;
    const char *version = s->k8s_version ? s->k8s_version : TL_AKS_DEFAULT_K8S_VERSION;
    if (tl_k8s_version_cmp(version, version, &cmp) < 0)
        return refuse(msg, len,
                      "Kubernetes version '%s': must be MAJOR.MINOR or MAJOR.MINOR.PATCH, e.g. "
                      "%s (--kubernetes-version)",
                      version, TL_AKS_DEFAULT_K8S_VERSION);
    return 0;
}

static int check_trusted_launch(const struct tl_pool_spec *s, const struct tl_vm_size *size,
                                char *msg, size_t len)
{
    if (is_windows(s))
        return refuse(msg, len,
                      "trusted launch is not supported on Windows node pools (--os-type Windows)");
    if (s->fips)
        return refuse(msg, len,
                      "trusted launch cannot be combined with a FIPS node image "
                      "(--enable-fips-image)");
    if (size->arm64)
        return refuse(msg, len,
                      "trusted launch is not supported on Arm64 VM sizes (--node-vm-size %s)",
                      size->name);
    if (s->vm_set_type && strcasecmp(s->vm_set_type, "AvailabilitySet") == 0)
        return refuse(msg, len,
                      "trusted launch needs virtual machine scale sets, not availability sets "
                      "(--vm-set-type AvailabilitySet)");
    if (s->virtual_node)
        return refuse(msg, len,
                      "trusted launch is not supported with virtual nodes (the virtual-node "
                      "add-on is enabled)");
    if (!size->gen2)
        return refuse(msg, len,
                      "trusted launch needs a Gen2 (UEFI) image; VM size %s supports Gen1 only "
                      "(--node-vm-size)",
                      size->name);
    if (s->image_generation == 1)
        return refuse(msg, len,
                      "trusted launch needs a Gen2 (UEFI) image; the pool asks for the Gen1 "
                      "image");
    if (!size->trusted_launch)
        return refuse(msg, len,
                      "trusted launch is not supported on VM size %s (--node-vm-size; tl aks "
                      "vm-sizes lists the sizes that support it)",
                      size->name);
    if (s->secure_boot && size->gpu && !s->skip_gpu_driver_install)
        return refuse(msg, len,
                      "trusted launch: Secure Boot on GPU size %s needs --skip-gpu-driver-install "
                      "(the GPU driver AKS installs is unsigned and would not load)",
                      size->name);
    if (s->os_disk_type && strcasecmp(s->os_disk_type, "Ephemeral") == 0 && !size->ephemeral_os)
        return refuse(msg, len,
                      "trusted launch with an ephemeral OS disk is not supported on VM size %s "
                      "(--node-osdisk-type Ephemeral)",
                      size->name);
    const char *version = s->k8s_version ? s->k8s_version : TL_AKS_DEFAULT_K8S_VERSION;
    int cmp;
    if (tl_k8s_version_cmp(version, TL_AKS_MIN_TRUSTED_LAUNCH_K8S, &cmp) < 0 || cmp < 0)
        return refuse(msg, len,
                      "trusted launch needs Kubernetes %s or later; --kubernetes-version is %s",
                      TL_AKS_MIN_TRUSTED_LAUNCH_K8S, version);
    return 0;
}

int tl_pool_check(const struct tl_pool_spec *s, char *msg, size_t len)
{
    if (!s)
        return -EINVAL;
    if (msg && len)
        msg[0] = '\0';
    const struct tl_vm_size *size = NULL;
    int r = check_basics(s, &size, msg, len);
    if (r < 0)
        return r;
    if (s->secure_boot || s->vtpm)
        return check_trusted_launch(s, size, msg, len);
    return 0;
}

int tl_pool_check_update(const struct tl_pool_spec *from, const struct tl_pool_spec *to, char *msg,
                         size_t len)
{
    if (!from || !to)
        return -EINVAL;
    if (msg && len)
        msg[0] = '\0';
    bool was_tl = from->secure_boot || from->vtpm, is_tl = to->secure_boot || to->vtpm;
    if (is_tl && !was_tl && from->image_generation == 1)
        return refuse(msg, len,
                      "node pool '%s' was created on the Gen1 image; trusted launch needs a Gen2 "
                      "(UEFI) image: create a new node pool",
                      from->name ? from->name : "");
    return tl_pool_check(to, msg, len);
}
