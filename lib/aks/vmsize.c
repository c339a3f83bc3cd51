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
 * here, only a VM that carries the size's name and rules.
 *
 * Confidential sizes (issue 14). Sources (read 2026-12):
 *  - shapes: the series pages "DCasv5 sizes series" (azure-compute-docs
 *    sizes/general-purpose/dcasv5-series.md, 2026-03) and "DCasv5 and
 *    DCadsv5-series confidential VMs" (azure-docs dcasv5-dcadsv5-series.md);
 *    ECasv5/ECadsv5 and the Intel TDX series DCesv5/DCedsv5/ECesv5/ECedsv5
 *    from the size lists of the AKS node-size reference (aspire.dev,
 *    Aspire.Hosting.Azure.Kubernetes StandardDCASv5 ... StandardECEDV5), which
 *    also gives the quota family names (standardDCASv5Family,
 *    standardECASv5Family, standardDCEV5Family, standardDCEDV5Family,
 *    standardECEV5Family, standardECEDV5Family). JUDGED: that list gives
 *    Standard_EC32as_v5 192 GiB; every other ECasv5 size is 8 GiB per vCPU
 *    (EC20as 160, EC48as 384) and the ECadsv5 twin is 256: we keep 256. The
 *    DCADSv5 / ECADSv5 family names follow the DCASv5 pattern (JUDGED: not
 *    in the sources we read).
 *  - the TEE: SEV-SNP for the "a" (AMD EPYC) series, TDX for the "e"
 *    (Intel) series ("Azure confidential virtual machines FAQ",
 *    confidential-vm-faq.yml);
 *  - features, all eight series: Gen2 only, no ephemeral OS disk, and
 *    "Accelerated Networking: Not Supported", "Nested Virtualization: Not
 *    Supported" (the DCasv5 page's Feature support table); the FAQ says the
 *    same of every confidential VM ("Confidential VMs don't support
 *    Accelerated Networking"; "don't currently support nested
 *    virtualization"). No trusted launch: the ConfidentialVM security type
 *    instead.
 *  - regions: the FAQ sends the reader to "Products available by region", a
 *    page of the Azure web site that is not among our sources. JUDGED: the
 *    lists below are the regions the confidential VM overview named when the
 *    series became generally available (SEV-SNP) and during the TDX preview
 *    (West Europe, Central US, East US 2, North Europe); they are narrower
 *    than today's. A location not in a list gets ARM's SkuNotAvailable.
 *  - the other sizes: accelerated networking and nested virtualization are
 *    not modelled per size (JUDGED: true for every non-confidential size;
 *    no rule here reads them but the confidential ones). */
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
        .node_memory_mib = NODE_MEMORY((gib)*GIB), .accelerated_networking = true,                 \
        .nested_virtualization = true, __VA_ARGS__                                                 \
    }

/* A confidential size: Gen2 only, no trusted launch, no ephemeral OS disk,
 * no accelerated networking, no nested virtualization. */
#define SNP_REGIONS                                                                                \
    "eastus,westus,northeurope,westeurope,southeastasia,switzerlandnorth,centralindia,eastasia,"   \
    "japaneast,germanywestcentral,uaenorth,italynorth,centralus"
#define TDX_REGIONS "westeurope,centralus,eastus2,northeurope"
#define CSIZE(n, cpus, gib, fam, t)                                                                \
    {                                                                                              \
        .name = (n), .family = (fam), .vcpus = (cpus), .memory_mib = (gib)*GIB, .gen2 = true,      \
        .node_vcpus = NODE_VCPUS, .node_memory_mib = NODE_MEMORY((gib)*GIB), .tee = (t),           \
        .regions = (t) == TL_TEE_SNP ? SNP_REGIONS : TDX_REGIONS                                   \
    }
#define DCASV5(n, c, g)  CSIZE(n, c, g, "standardDCASv5Family", TL_TEE_SNP)
#define DCADSV5(n, c, g) CSIZE(n, c, g, "standardDCADSv5Family", TL_TEE_SNP)
#define ECASV5(n, c, g)  CSIZE(n, c, g, "standardECASv5Family", TL_TEE_SNP)
#define ECADSV5(n, c, g) CSIZE(n, c, g, "standardECADSv5Family", TL_TEE_SNP)
#define DCESV5(n, c, g)  CSIZE(n, c, g, "standardDCEV5Family", TL_TEE_TDX)
#define DCEDSV5(n, c, g) CSIZE(n, c, g, "standardDCEDV5Family", TL_TEE_TDX)
#define ECESV5(n, c, g)  CSIZE(n, c, g, "standardECEV5Family", TL_TEE_TDX)
#define ECEDSV5(n, c, g) CSIZE(n, c, g, "standardECEDV5Family", TL_TEE_TDX)

static const struct tl_vm_size catalog[] = {
    /* General purpose. Dsv2: Standard_DS1_v2 (1 vCPU, 3.5 GiB; 7 GiB temp,
     * 43 GiB cache: too small for a 30 GiB image plus VMGS) is az vm
     * create's default size; DS2_v2: 14 GiB temp, 86 GiB cache. */
    {.name = "Standard_DS1_v2",
     .family = "standardDSv2Family",
     .vcpus = 1,
     .memory_mib = 3584,
     .node_vcpus = NODE_VCPUS,
     .node_memory_mib = NODE_MEMORY_MAX,
     .gen1 = true,
     .gen2 = true,
     .trusted_launch = true,
     .nested_virtualization = true}, /* 1 vCPU: no accelerated networking */
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
    /* Confidential, AMD SEV-SNP: DCasv5 (no temp disk), DCadsv5 (temp
     * disk), ECasv5, ECadsv5 (memory optimized). */
    DCASV5("Standard_DC2as_v5", 2, 8),
    DCASV5("Standard_DC4as_v5", 4, 16),
    DCASV5("Standard_DC8as_v5", 8, 32),
    DCASV5("Standard_DC16as_v5", 16, 64),
    DCASV5("Standard_DC32as_v5", 32, 128),
    DCASV5("Standard_DC48as_v5", 48, 192),
    DCASV5("Standard_DC64as_v5", 64, 256),
    DCASV5("Standard_DC96as_v5", 96, 384),
    DCADSV5("Standard_DC2ads_v5", 2, 8),
    DCADSV5("Standard_DC4ads_v5", 4, 16),
    DCADSV5("Standard_DC8ads_v5", 8, 32),
    DCADSV5("Standard_DC16ads_v5", 16, 64),
    DCADSV5("Standard_DC32ads_v5", 32, 128),
    DCADSV5("Standard_DC48ads_v5", 48, 192),
    DCADSV5("Standard_DC64ads_v5", 64, 256),
    DCADSV5("Standard_DC96ads_v5", 96, 384),
    ECASV5("Standard_EC2as_v5", 2, 16),
    ECASV5("Standard_EC4as_v5", 4, 32),
    ECASV5("Standard_EC8as_v5", 8, 64),
    ECASV5("Standard_EC16as_v5", 16, 128),
    ECASV5("Standard_EC20as_v5", 20, 160),
    ECASV5("Standard_EC32as_v5", 32, 256),
    ECASV5("Standard_EC48as_v5", 48, 384),
    ECASV5("Standard_EC64as_v5", 64, 512),
    ECASV5("Standard_EC96as_v5", 96, 672),
    ECADSV5("Standard_EC2ads_v5", 2, 16),
    ECADSV5("Standard_EC4ads_v5", 4, 32),
    ECADSV5("Standard_EC8ads_v5", 8, 64),
    ECADSV5("Standard_EC16ads_v5", 16, 128),
    ECADSV5("Standard_EC20ads_v5", 20, 160),
    ECADSV5("Standard_EC32ads_v5", 32, 256),
    ECADSV5("Standard_EC48ads_v5", 48, 384),
    ECADSV5("Standard_EC64ads_v5", 64, 512),
    ECADSV5("Standard_EC96ads_v5", 96, 672),
    /* Confidential, Intel TDX: DCesv5, DCedsv5, ECesv5, ECedsv5. */
    DCESV5("Standard_DC2es_v5", 2, 8),
    DCESV5("Standard_DC4es_v5", 4, 16),
    DCESV5("Standard_DC8es_v5", 8, 32),
    DCESV5("Standard_DC16es_v5", 16, 64),
    DCESV5("Standard_DC32es_v5", 32, 128),
    DCESV5("Standard_DC48es_v5", 48, 192),
    DCESV5("Standard_DC64es_v5", 64, 256),
    DCESV5("Standard_DC96es_v5", 96, 384),
    DCEDSV5("Standard_DC2eds_v5", 2, 8),
    DCEDSV5("Standard_DC4eds_v5", 4, 16),
    DCEDSV5("Standard_DC8eds_v5", 8, 32),
    DCEDSV5("Standard_DC16eds_v5", 16, 64),
    DCEDSV5("Standard_DC32eds_v5", 32, 128),
    DCEDSV5("Standard_DC48eds_v5", 48, 192),
    DCEDSV5("Standard_DC64eds_v5", 64, 256),
    DCEDSV5("Standard_DC96eds_v5", 96, 384),
    ECESV5("Standard_EC2es_v5", 2, 16),
    ECESV5("Standard_EC4es_v5", 4, 32),
    ECESV5("Standard_EC8es_v5", 8, 64),
    ECESV5("Standard_EC16es_v5", 16, 128),
    ECESV5("Standard_EC32es_v5", 32, 256),
    ECESV5("Standard_EC48es_v5", 48, 384),
    ECESV5("Standard_EC64es_v5", 64, 512),
    ECESV5("Standard_EC128es_v5", 128, 768),
    ECEDSV5("Standard_EC2eds_v5", 2, 16),
    ECEDSV5("Standard_EC4eds_v5", 4, 32),
    ECEDSV5("Standard_EC8eds_v5", 8, 64),
    ECEDSV5("Standard_EC16eds_v5", 16, 128),
    ECEDSV5("Standard_EC32eds_v5", 32, 256),
    ECEDSV5("Standard_EC48eds_v5", 48, 384),
    ECEDSV5("Standard_EC64eds_v5", 64, 512),
    ECEDSV5("Standard_EC128eds_v5", 128, 768),
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
