/* Event type names and where the PFP lets each type be measured.
 *
 * A record's type is not covered by its digest, so an attacker who controls
 * the log can relabel a record: turning the kernel's
 * EV_EFI_BOOT_SERVICES_APPLICATION in PCR 4 into an EV_POST_CODE keeps the
 * replay intact but hides the kernel from anyone reading types. The PCR each
 * type may go to (PFP 1.05 rev 23, 3.3.4 and 10.4.1, and what real firmware
 * does, see the vectors) is the check that makes such relabelling visible. */
#include "tl/eventlog.h"

#include "tl/util.h"

#define PCR(n)  (1u << (n))
#define ANY_PCR 0xffffffffu

struct type_info {
    uint32_t type;
    const char *name;
    uint32_t pcrs;
};

static const struct type_info types[] = {
    {TL_EV_PREBOOT_CERT, "EV_PREBOOT_CERT", ANY_PCR},
    {TL_EV_POST_CODE, "EV_POST_CODE", PCR(0) | PCR(1) | PCR(2)},
    {TL_EV_UNUSED, "EV_UNUSED", 0},
    {TL_EV_NO_ACTION, "EV_NO_ACTION", ANY_PCR},
    {TL_EV_SEPARATOR, "EV_SEPARATOR", ANY_PCR},
    {TL_EV_ACTION, "EV_ACTION", ANY_PCR},
    {TL_EV_EVENT_TAG, "EV_EVENT_TAG", ANY_PCR},
    {TL_EV_S_CRTM_CONTENTS, "EV_S_CRTM_CONTENTS", PCR(0)},
    {TL_EV_S_CRTM_VERSION, "EV_S_CRTM_VERSION", PCR(0)},
    {TL_EV_CPU_MICROCODE, "EV_CPU_MICROCODE", PCR(1)},
    {TL_EV_PLATFORM_CONFIG_FLAGS, "EV_PLATFORM_CONFIG_FLAGS", PCR(1)},
    {TL_EV_TABLE_OF_DEVICES, "EV_TABLE_OF_DEVICES", PCR(1)},
    {TL_EV_COMPACT_HASH, "EV_COMPACT_HASH", ANY_PCR},
    /* Boot loaders' own records (grub 8/9, systemd 12, shim 14); PCR 4/5
     * in legacy BIOS boots (the IPL code and its data). */
    {TL_EV_IPL, "EV_IPL", 0xffffff00u | PCR(4) | PCR(5)},
    {TL_EV_IPL_PARTITION_DATA, "EV_IPL_PARTITION_DATA", PCR(5)},
    {TL_EV_NONHOST_CODE, "EV_NONHOST_CODE", PCR(0)},
    {TL_EV_NONHOST_CONFIG, "EV_NONHOST_CONFIG", PCR(1)},
    {TL_EV_NONHOST_INFO, "EV_NONHOST_INFO", PCR(0)},
    {TL_EV_OMIT_BOOT_DEVICE_EVENTS, "EV_OMIT_BOOT_DEVICE_EVENTS", PCR(4)},
    {TL_EV_POST_CODE2, "EV_POST_CODE2", PCR(0) | PCR(1) | PCR(2)},
    {TL_EV_EFI_VARIABLE_DRIVER_CONFIG, "EV_EFI_VARIABLE_DRIVER_CONFIG",
     PCR(1) | PCR(3) | PCR(5) | PCR(6) | PCR(7)},
    {TL_EV_EFI_VARIABLE_BOOT, "EV_EFI_VARIABLE_BOOT", PCR(1)},
    {TL_EV_EFI_BOOT_SERVICES_APPLICATION, "EV_EFI_BOOT_SERVICES_APPLICATION", PCR(2) | PCR(4)},
    {TL_EV_EFI_BOOT_SERVICES_DRIVER, "EV_EFI_BOOT_SERVICES_DRIVER", PCR(0) | PCR(2)},
    {TL_EV_EFI_RUNTIME_SERVICES_DRIVER, "EV_EFI_RUNTIME_SERVICES_DRIVER", PCR(0) | PCR(2)},
    {TL_EV_EFI_GPT_EVENT, "EV_EFI_GPT_EVENT", PCR(5)},
    {TL_EV_EFI_ACTION, "EV_EFI_ACTION", ANY_PCR},
    {TL_EV_EFI_PLATFORM_FIRMWARE_BLOB, "EV_EFI_PLATFORM_FIRMWARE_BLOB", PCR(0) | PCR(2)},
    {TL_EV_EFI_HANDOFF_TABLES, "EV_EFI_HANDOFF_TABLES", PCR(1)},
    {TL_EV_EFI_PLATFORM_FIRMWARE_BLOB2, "EV_EFI_PLATFORM_FIRMWARE_BLOB2", PCR(0) | PCR(2)},
    {TL_EV_EFI_HANDOFF_TABLES2, "EV_EFI_HANDOFF_TABLES2", PCR(1)},
    {TL_EV_EFI_VARIABLE_BOOT2, "EV_EFI_VARIABLE_BOOT2", PCR(1)},
    {TL_EV_EFI_GPT_EVENT2, "EV_EFI_GPT_EVENT2", PCR(5)},
    {TL_EV_EFI_HCRTM_EVENT, "EV_EFI_HCRTM_EVENT", PCR(0)},
    {TL_EV_EFI_VARIABLE_AUTHORITY, "EV_EFI_VARIABLE_AUTHORITY", PCR(7)},
    {TL_EV_EFI_SPDM_FIRMWARE_BLOB, "EV_EFI_SPDM_FIRMWARE_BLOB", PCR(2)},
    {TL_EV_EFI_SPDM_FIRMWARE_CONFIG, "EV_EFI_SPDM_FIRMWARE_CONFIG", PCR(3)},
    {TL_EV_EFI_SPDM_DEVICE_POLICY, "EV_EFI_SPDM_DEVICE_POLICY", PCR(7)},
    {TL_EV_EFI_SPDM_DEVICE_AUTHORITY, "EV_EFI_SPDM_DEVICE_AUTHORITY", PCR(7)},
};

static const struct type_info *type_lookup(uint32_t type)
{
    for (size_t i = 0; i < TL_ARRAY_SIZE(types); i++)
        if (types[i].type == type)
            return &types[i];
    return NULL;
}

const char *tl_event_type_name(uint32_t type)
{
    const struct type_info *t = type_lookup(type);
    return t ? t->name : NULL;
}

uint32_t tl_event_type_pcrs(uint32_t type)
{
    const struct type_info *t = type_lookup(type);
    return t ? t->pcrs : 0;
}
