/* The VM size catalog (include/tl/aks.h): real Azure sizes with the facts
 * the pool rules need, and what a node of each size gets here.
 *
 * Sources (read 2025): the size series pages of learn.microsoft.com
 * ("Sizes in series", "Feature support"), "Support for Generation 2 VMs on
 * Azure" (generation-2.md), "Trusted Launch for Azure virtual machines"
 * (trusted-launch.md, "Virtual machines sizes"), "Ephemeral OS disks"
 * ("Trusted Launch for Ephemeral OS disks") and "Trusted launch for AKS"
 * (use-trusted-launch.md, "Limitations").
 *
 * memory_mib is the cloud's GiB times 1024 (Azure's "GB" in the size
 * tables is GiB: Standard_DS2_v2 is 7 GiB = 7168 MiB).
 *
 * trusted_launch follows trusted-launch.md. The table there changed over
 * time; where it did, the current text wins and the entry says so:
 *  - Gen1-only families (A, Dv2, Dv3: "don't support Generation 2") and
 *    Arm64 Dpsv5/Dpdsv5/Epsv5 ("currently not supported") have none.
 *  - NCv3 (Standard_NC6s_v3): not in the 2022 table, listed as
 *    "NCv3-series" from 2023, and "NC-family" (all but the original NC
 *    series) now. A 2024 report that NC6s_v3 refused trusted launch
 *    (MicrosoftDocs/azure-docs#122515) was withdrawn by its author. So:
 *    supported. (NCv3 itself was retired on 2025-09-30.)
 *  - DC-family confidential sizes (Standard_DC2as_v5, AMD SEV-SNP) are
 *    "not supported" for trusted launch: they are created with the
 *    ConfidentialVM security type instead, which AKS also refuses to
 *    combine with trusted launch in one pool.
 *
 * ephemeral_os: the OS disk can live on the VM's cache or temp (resource)
 * disk with trusted launch. Trusted launch reserves 1 GiB of that disk for
 * the VM guest state (VMGS), and AKS's Linux node image is a 30 GiB disk,
 * so the size needs ephemeral OS support, premium storage and a cache or
 * temp disk of at least 31 GiB. JUDGED: the documents give the rule and the
 * disk sizes, not a per-size list; the 31 GiB bound is ours. Hence false for
 * sizes without a temp disk (Das_v5, Ds_v5, Dps_v5), for B2s/B2ms (8/16
 * GiB temp disk, although the B series supports ephemeral OS disks with a
 * larger image-less OS disk), and for every size without trusted launch.
 * Standard_F4s_v2 (32 GiB temp) passes by 1 GiB.
 *
 * Standard_DS2_v2: its current series page says "Generation 1" and
 * "Premium Storage: Not Supported", copied from the Dv2 page; the Dsv2
 * series is premium storage (the "s"), Gen1 + Gen2, listed by
 * trusted-launch.md and is AKS's default size with trusted launch. We keep
 * the latter.
 *
 * node_vcpus / node_memory_mib: nodes run under QEMU TCG on a 2-core host
 * shared with other work, so every node gets one vCPU, and the size's
 * memory capped at 1024 MiB (and at least 512 MiB, what the node image
 * needs to boot): a Standard_NC24ads_A100_v4 node is not a 220 GiB VM
 * here, only a VM that carries the size's name and rules. */
#include "tl/aks.h"

#include <strings.h>

#define GIB             1024u
#define NODE_VCPUS      1u
#define NODE_MEMORY_MAX 1024u
#define NODE_MEMORY_MIN 512u
#define NODE_MEMORY(m)                                                                             \
    ((m) < NODE_MEMORY_MIN ? NODE_MEMORY_MIN : (m) > NODE_MEMORY_MAX ? NODE_MEMORY_MAX : (m))

#define SIZE(n, cpus, gib, ...)                                                                    \
    {                                                                                              \
        .name = (n), .vcpus = (cpus), .memory_mib = (gib)*GIB, .node_vcpus = NODE_VCPUS,           \
        .node_memory_mib = NODE_MEMORY((gib)*GIB), __VA_ARGS__                                     \
    }

static const struct tl_vm_size catalog[] = {
    /* General purpose. Dsv2: 14 GiB temp, 86 GiB cache. */
    SIZE("Standard_DS2_v2", 2, 7, .family = "standardDSv2Family", .gen1 = true, .gen2 = true,
         .trusted_launch = true, .ephemeral_os = true),
    /* Dsv3: temp 16/32/64 GiB, cache 50/100/200 GiB. */
    SIZE("Standard_D2s_v3", 2, 8, .family = "standardDSv3Family", .gen1 = true, .gen2 = true,
         .trusted_launch = true, .ephemeral_os = true),
    SIZE("Standard_D4s_v3", 4, 16, .family = "standardDSv3Family", .gen1 = true, .gen2 = true,
         .trusted_launch = true, .ephemeral_os = true),
    SIZE("Standard_D8s_v3", 8, 32, .family = "standardDSv3Family", .gen1 = true, .gen2 = true,
         .trusted_launch = true, .ephemeral_os = true),
    /* Dsv4 and Dsv5: no temp disk. */
    SIZE("Standard_D4s_v4", 4, 16, .family = "standardDSv4Family", .gen1 = true, .gen2 = true,
         .trusted_launch = true),
    SIZE("Standard_D2s_v5", 2, 8, .family = "standardDSv5Family", .gen1 = true, .gen2 = true,
         .trusted_launch = true),
    SIZE("Standard_D4s_v5", 4, 16, .family = "standardDSv5Family", .gen1 = true, .gen2 = true,
         .trusted_launch = true),
    /* Ddsv5: temp 75/150/300 GiB. */
    SIZE("Standard_D2ds_v5", 2, 8, .family = "standardDDSv5Family", .gen1 = true, .gen2 = true,
         .trusted_launch = true, .ephemeral_os = true),
    SIZE("Standard_D4ds_v5", 4, 16, .family = "standardDDSv5Family", .gen1 = true, .gen2 = true,
         .trusted_launch = true, .ephemeral_os = true),
    SIZE("Standard_D8ds_v5", 8, 32, .family = "standardDDSv5Family", .gen1 = true, .gen2 = true,
         .trusted_launch = true, .ephemeral_os = true),
    /* Dasv5: no temp disk; Dadsv5: 75 GiB (ephemeral-os-disks.md's own
     * trusted-launch example: "greater than 74 GB is not allowed for VM size
     * Standard_D2ads_v5"). */
    SIZE("Standard_D2as_v5", 2, 8, .family = "standardDASv5Family", .gen1 = true, .gen2 = true,
         .trusted_launch = true),
    SIZE("Standard_D2ads_v5", 2, 8, .family = "standardDADSv5Family", .gen1 = true, .gen2 = true,
         .trusted_launch = true, .ephemeral_os = true),
    /* B series (Bv1): temp 8 / 16 GiB. */
    SIZE("Standard_B2s", 2, 4, .family = "standardBSFamily", .gen1 = true, .gen2 = true,
         .trusted_launch = true),
    SIZE("Standard_B2ms", 2, 8, .family = "standardBSFamily", .gen1 = true, .gen2 = true,
         .trusted_launch = true),
    /* Memory and compute optimized: Esv3 64 GiB temp, 100 GiB cache; Fsv2 32
     * GiB temp. */
    SIZE("Standard_E4s_v3", 4, 32, .family = "standardESv3Family", .gen1 = true, .gen2 = true,
         .trusted_launch = true, .ephemeral_os = true),
    SIZE("Standard_F4s_v2", 4, 8, .family = "standardFSv2Family", .gen1 = true, .gen2 = true,
         .trusted_launch = true, .ephemeral_os = true),
    /* Storage optimized: Lsv3, 80 GiB temp plus NVMe. */
    SIZE("Standard_L8s_v3", 8, 64, .family = "standardLSv3Family", .gen1 = true, .gen2 = true,
         .trusted_launch = true, .ephemeral_os = true),
    /* Arm64 (Ampere Altra): Gen2 only; Dpsv5, Dpdsv5, Epsv5 have no trusted
     * launch (AKS: not with Arm64). */
    SIZE("Standard_D2ps_v5", 2, 8, .family = "standardDPSv5Family", .arm64 = true, .gen2 = true),
    SIZE("Standard_D4pds_v5", 4, 16, .family = "standardDPDSv5Family", .arm64 = true, .gen2 = true),
    SIZE("Standard_E2ps_v5", 2, 16, .family = "standardEPSv5Family", .arm64 = true, .gen2 = true),
    /* Gen1 only: the A family and Dv2 (its series page: "VM Generation
     * Support: Generation 1"; no premium storage, no ephemeral OS disk). */
    SIZE("Standard_A2_v2", 2, 4, .family = "standardAv2Family", .gen1 = true),
    SIZE("Standard_A4_v2", 4, 8, .family = "standardAv2Family", .gen1 = true),
    SIZE("Standard_D2_v2", 2, 7, .family = "standardDv2Family", .gen1 = true),
    /* Confidential (AMD SEV-SNP, DCasv5): Gen2 only, no temp disk, the
     * ConfidentialVM security type rather than trusted launch. */
    SIZE("Standard_DC2as_v5", 2, 8, .family = "standardDCASv5Family", .gen2 = true),
    /* GPU (NVIDIA): NCv3 V100 (736 GiB temp), NCasT4_v3 T4 (180 GiB temp),
     * NC A100 v4 (64 GiB temp + NVMe), NVadsA10 v5 (720 GiB temp; the GRID
     * driver these need wants Secure Boot off on Linux). Gen1 and Gen2. */
    SIZE("Standard_NC6s_v3", 6, 112, .family = "standardNCSv3Family", .gen1 = true, .gen2 = true,
         .gpu = true, .trusted_launch = true, .ephemeral_os = true),
    SIZE("Standard_NC4as_T4_v3", 4, 28, .family = "Standard NCASv3_T4 Family", .gen1 = true,
         .gen2 = true, .gpu = true, .trusted_launch = true, .ephemeral_os = true),
    SIZE("Standard_NC24ads_A100_v4", 24, 220, .family = "StandardNCADSA100v4Family", .gen1 = true,
         .gen2 = true, .gpu = true, .trusted_launch = true, .ephemeral_os = true),
    SIZE("Standard_NV36ads_A10_v5", 36, 440, .family = "StandardNVADSA10v5Family", .gen1 = true,
         .gen2 = true, .gpu = true, .trusted_launch = true, .ephemeral_os = true),
};

const struct tl_vm_size *tl_vm_sizes(size_t *n)
{
    if (n)
        *n = sizeof(catalog) / sizeof(catalog[0]);
    return catalog;
}

const struct tl_vm_size *tl_vm_size_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < sizeof(catalog) / sizeof(catalog[0]); i++)
        if (strcasecmp(catalog[i].name, name) == 0)
            return &catalog[i];
    return NULL;
}
