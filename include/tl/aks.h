/* Node pools the way AKS defines them: the VM size catalog and the
 * documented trusted-launch rules ("Trusted launch for AKS": Gen2 images
 * only, not on Windows, FIPS, Arm64, availability sets or virtual nodes,
 * Secure Boot on GPU sizes only with --skip-gpu-driver-install, ephemeral
 * OS disks only on sizes that support them with trusted launch,
 * Kubernetes >= 1.25.2), plus AKS's pool naming rules.
 *
 * Pure: no I/O, no globals but the constant catalog. tld checks every
 * create and update with these before storing anything; each refusal is
 * one line that names the rule (and the option that breaks it). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* The trusted execution environment a confidential size runs in. */
enum tl_tee {
    TL_TEE_NONE, /* not a confidential size */
    TL_TEE_SNP,  /* AMD SEV-SNP: DCasv5, DCadsv5, ECasv5, ECadsv5 */
    TL_TEE_TDX,  /* Intel TDX: DCesv5, DCedsv5, ECesv5, ECedsv5 */
};

/* One VM size: what the cloud size offers, and what a node of that size
 * gets here (QEMU under TCG on a small host cannot give 8 vCPUs). */
struct tl_vm_size {
    const char *name;            /* "Standard_DS2_v2": canonical spelling */
    const char *family;          /* its vCPU quota family, as `az vm list-usage` names it */
    unsigned vcpus;              /* as in the cloud */
    unsigned memory_mib;         /* as in the cloud */
    bool arm64;                  /* Arm64 (Ampere) sizes: no trusted launch */
    bool gen1, gen2;             /* hypervisor generations the size supports */
    bool gpu;                    /* has an NVIDIA GPU (driver installed by default) */
    bool trusted_launch;         /* the size supports trusted launch */
    bool ephemeral_os;           /* ephemeral OS disk possible with trusted launch */
    unsigned node_vcpus;         /* what a node of this size gets here (QEMU -smp) */
    unsigned node_memory_mib;    /* what a node of this size gets here (QEMU -m) */
    enum tl_tee tee;             /* a confidential size's TEE (ConfidentialVM security type) */
    bool accelerated_networking; /* the size's page: "Accelerated Networking: Supported" */
    bool nested_virtualization;  /* the size's page: "Nested Virtualization: Supported" */
    const char *regions; /* "eastus,westeurope,...": where it is offered; NULL: everywhere */
};

/* The catalog, and a lookup (case-insensitive, as Azure's). NULL when unknown. */
const struct tl_vm_size *tl_vm_sizes(size_t *n);
const struct tl_vm_size *tl_vm_size_find(const char *name);

/* The size `az aks create` / `az aks nodepool add` use when none is given. */
#define TL_AKS_DEFAULT_VM_SIZE        "Standard_DS2_v2"
#define TL_AKS_DEFAULT_NODE_COUNT     3
#define TL_AKS_DEFAULT_POOL_NAME      "nodepool1"
#define TL_AKS_DEFAULT_K8S_VERSION    "1.30.6"
#define TL_AKS_MIN_TRUSTED_LAUNCH_K8S "1.25.2"

/* A pool as asked for (after defaults are applied). Strings are never NULL
 * once defaults are applied; the checks treat NULL as "not given". */
struct tl_pool_spec {
    const char *name;         /* pool name */
    const char *os_type;      /* "Linux" | "Windows" */
    const char *os_sku;       /* "Ubuntu" | "AzureLinux" | "Windows2022" | ... */
    const char *vm_size;      /* catalog name */
    const char *vm_set_type;  /* "VirtualMachineScaleSets" | "AvailabilitySet" */
    const char *os_disk_type; /* "Managed" | "Ephemeral" */
    const char *k8s_version;  /* "1.30.6" */
    long count;               /* nodes; 0..1000 */
    bool secure_boot, vtpm;   /* trusted launch */
    bool fips;                /* --enable-fips-image */
    bool skip_gpu_driver_install;
    bool virtual_node;    /* the cluster runs the virtual-node add-on */
    int image_generation; /* 1 or 2: the node image the pool was created on */
    const char *location; /* the cluster's location (the size must be offered there); NULL: any */
};

/* 0 when s may be created; -EINVAL with msg set (one line, naming the rule
 * and the option) when not. Checks the name, count, size (known), and with
 * secure_boot or vtpm every trusted-launch rule. */
int tl_pool_check(const struct tl_pool_spec *s, char *msg, size_t len);

/* 0 when a pool that is `from` may become `to` (an update: Secure Boot and
 * vTPM switched on or off); adds the rules of a change (a pool created on
 * the Gen1 image cannot be updated to trusted launch) to tl_pool_check(to). */
int tl_pool_check_update(const struct tl_pool_spec *from, const struct tl_pool_spec *to, char *msg,
                         size_t len);

/* The image generation a new pool gets: 2 when the size supports Gen2 and
 * Gen1 was not asked for, else 1. */
int tl_pool_image_generation(const struct tl_vm_size *size, bool want_gen1);

/* Kubernetes versions "MAJOR.MINOR.PATCH" (a leading "v" allowed; PATCH may
 * be missing: "1.29"): *out < 0, 0, > 0 as a < b. -EINVAL when malformed. */
int tl_k8s_version_cmp(const char *a, const char *b, int *out);

/* ---- Confidential VMs (lib/aks/confidential.c) ----
 * The security types of `az vm create --security-type` and the rules of the
 * "Azure confidential virtual machines FAQ" (confidential-vm-faq.yml). */
#define TL_SECURITY_STANDARD       "Standard"
#define TL_SECURITY_TRUSTED_LAUNCH "TrustedLaunch"
#define TL_SECURITY_CONFIDENTIAL   "ConfidentialVM"
/* --os-disk-security-encryption-type; "none" for a VM that is not confidential */
/* `az vm create --size` when none is given (its documented default) */
#define TL_VM_DEFAULT_SIZE            "Standard_DS1_v2"
#define TL_DISK_SECURITY_NONE         "none"
#define TL_DISK_SECURITY_VMGS         "VMGuestStateOnly"
#define TL_DISK_SECURITY_DISK_VMGS    "DiskWithVMGuestState"
#define TL_DISK_SECURITY_NONPERSISTED "NonPersistedTPM"

/* "none", "snp", "tdx"; tl_tee_parse: -EINVAL when not one of them */
const char *tl_tee_name(enum tl_tee tee);
int tl_tee_parse(const char *s, enum tl_tee *out);
/* The canonical spelling of a security type or disk security value (case-
 * insensitive, as az's enums), NULL when it is not one. */
const char *tl_security_type_canonical(const char *s);
const char *tl_disk_security_canonical(const char *s);

/* Is size offered in location? "local" (tld's own location) offers every
 * size; a size without a region list is offered everywhere. */
bool tl_vm_size_offered(const struct tl_vm_size *size, const char *location);
/* ARM's SkuNotAvailable text for size in location (msg), -EINVAL; 0 when offered. */
int tl_vm_size_check_offered(const struct tl_vm_size *size, const char *location, char *msg,
                             size_t len);

/* A standalone VM as `az vm create` asks for it. NULL / -1: not given. */
struct tl_vm_spec {
    const char *vm_size;       /* catalog name */
    const char *location;      /* where; NULL: not checked */
    const char *security_type; /* Standard | TrustedLaunch | ConfidentialVM */
    const char *disk_security; /* --os-disk-security-encryption-type */
    int secure_boot, vtpm;     /* --enable-secure-boot / --enable-vtpm: 0, 1, -1 */
    bool accelerated_networking, nested_virtualization;
    /* out, after tl_vm_spec_resolve */
    const struct tl_vm_size *size;
    enum tl_tee tee;
};

/* az's defaults applied (security type TrustedLaunch when the size supports
 * it, else Standard; Secure Boot and vTPM on for TrustedLaunch and
 * ConfidentialVM; disk security "none" outside ConfidentialVM), values made
 * canonical, then every create rule checked: 0, or -EINVAL with msg (one
 * line naming the rule and the option). */
int tl_vm_spec_resolve(struct tl_vm_spec *s, char *msg, size_t len);

/* 0 when a VM that is `from` (resolved) may become `to` (resolved): no
 * conversion to or from ConfidentialVM (a resize across the confidential
 * line included), no other security type change, no change of a confidential
 * VM's OS disk encryption. A resize between the SNP and TDX families is
 * allowed. -EINVAL with msg otherwise. */
int tl_vm_check_change(const struct tl_vm_spec *from, const struct tl_vm_spec *to, char *msg,
                       size_t len);

/* A node pool's VM size changed from from_size to to_size (case-
 * insensitive): 0 when it is the same size; else -EINVAL with msg: across
 * the confidential line the FAQ's conversion rule, otherwise that tld does
 * not resize a pool (add one of the new size). */
int tl_pool_check_resize(const char *pool, const char *from_size, const char *to_size, char *msg,
                         size_t len);

/* The FAQ's "Can I generate a host memory dump from within my confidential
 * VM? No": what (e.g. "the serial console") refused for a confidential
 * node, -EPERM with msg; 0 for any other security type. */
int tl_confidential_debug_check(const char *security_type, const char *what, char *msg, size_t len);
