/* What a boot was, read from its event log: Secure Boot state, the key
 * databases as measured, the authorities that verified each boot
 * application, the applications in order, grub's commands and files, the
 * kernel command line, MOK variables, boot variables, separators.
 *
 * Everything is summed up as a list of components: every record that was
 * extended into a PCR belongs to exactly one component (name, kind, PCR,
 * records), the unit that policy findings and integrity alerts name.
 *
 * Only data bound to its digest (record status "verified") is read for
 * meaning; a record that failed its checks contributes no state, only a
 * component, so a forged "SecureBoot=1" cannot switch Secure Boot on. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tl/efi.h"
#include "tl/eventcheck.h"
#include "tl/eventlog.h"

enum tl_component_kind {
    TL_COMPONENT_FIRMWARE,            /* PCR 0/2 code: CRTM, firmware volumes, drivers */
    TL_COMPONENT_FIRMWARE_CONFIG,     /* PCR 1/3/5: handoff tables, config, GPT */
    TL_COMPONENT_SECUREBOOT_VARIABLE, /* PCR 7: SecureBoot, PK, KEK, db, dbx, ... */
    TL_COMPONENT_AUTHORITY,           /* PCR 7: what verified a boot application */
    TL_COMPONENT_BOOT_VARIABLE,       /* PCR 1: BootOrder, Boot#### */
    TL_COMPONENT_BOOT_APPLICATION,    /* PCR 4: shim, grub, kernel, ... */
    TL_COMPONENT_BOOTLOADER_COMMAND,  /* PCR 8: grub commands */
    TL_COMPONENT_KERNEL_CMDLINE,      /* PCR 8 (grub) or 9/12 (EFI stub / sd-stub) */
    TL_COMPONENT_BOOT_FILE,           /* PCR 9: files grub read (grub.cfg, kernel, initrd) */
    TL_COMPONENT_MOK_VARIABLE,        /* PCR 14: MokList, MokListX, MokListTrusted */
    TL_COMPONENT_SEPARATOR,
    TL_COMPONENT_ACTION, /* EV_EFI_ACTION / EV_ACTION strings */
    TL_COMPONENT_OTHER,
};

struct tl_component {
    char *name;
    enum tl_component_kind kind;
    uint32_t pcr;
    uint32_t event;     /* first record */
    uint32_t n_events;  /* >1 when one thing was measured several times */
    uint32_t events[4]; /* the first records (up to 4) */
};

/* A Secure Boot variable as measured (EV_EFI_VARIABLE_DRIVER_CONFIG, PCR 7). */
struct tl_sb_variable {
    char name[16];
    bool measured;
    uint32_t event;
    const uint8_t *data; /* VariableData, in the log */
    size_t data_len;
    struct tl_sig_db lists; /* decoded signature lists (PK, KEK, db, dbx) */
    char error[240];        /* set when the lists do not parse */
};

enum tl_authority_source { TL_AUTHORITY_FIRMWARE, TL_AUTHORITY_SHIM };

/* EV_EFI_VARIABLE_AUTHORITY (PFP 3.3.4.8): the db / MOK entry that verified
 * an image, or shim's SbatLevel. */
struct tl_authority {
    uint32_t event;
    char *variable; /* "db", "MokListRT", "Shim", "SbatLevel", ... */
    tl_guid vendor;
    enum tl_authority_source source;
    bool is_signature_data; /* data is EFI_SIGNATURE_DATA: owner + entry */
    tl_guid owner;
    const uint8_t *cert; /* DER certificate, when the entry is one */
    size_t cert_len;
    const uint8_t *data; /* the raw VariableData */
    size_t data_len;
};

struct tl_boot_app {
    uint32_t event;
    uint32_t n_events; /* the same image measured again right after (shim, then LoadImage) */
    char *name;        /* "shim", "grub", "kernel", or the file's name */
    char *path;        /* file path, from the device path or grub's file record */
    char *device_path; /* full device path text, or NULL */
    uint64_t image_length;
    int authority;           /* index in authorities, -1: none recorded */
    bool authority_inferred; /* not measured for this image: the PFP logs an
                              * authority once, so it is the last one used */
    uint32_t component;
};

enum tl_grub_kind { TL_GRUB_COMMAND, TL_GRUB_KERNEL_CMDLINE, TL_GRUB_MODULE_CMDLINE, TL_GRUB_FILE };

struct tl_grub_record {
    uint32_t event;
    enum tl_grub_kind kind;
    const char *text; /* commands and files: the component's name, shared */
    char *text_owned; /* command lines: their own copy */
};

struct tl_mok_record {
    uint32_t event;
    char *name;
};

struct tl_boot_variable {
    uint32_t event;
    char *name;         /* "BootOrder", "Boot0001" */
    char *description;  /* Boot####: the option's description */
    char *device_path;  /* Boot####: its file path list as text */
    uint16_t order[32]; /* BootOrder entries */
    size_t n_order;
};

struct tl_separator {
    uint32_t event;
    uint32_t pcr;
    uint32_t value;
};

struct tl_boot_state {
    int secure_boot;                           /* 1 on, 0 off, -1 not measured */
    int deployed_mode, audit_mode, setup_mode; /* -1 not measured */
    struct tl_sb_variable pk, kek, db, dbx;
    struct tl_authority *authorities;
    size_t n_authorities;
    struct tl_boot_app *apps;
    size_t n_apps;
    struct tl_grub_record *grub;
    size_t n_grub;
    char *kernel_cmdline; /* the last one measured, or NULL */
    uint32_t kernel_cmdline_event;
    struct tl_mok_record *mok;
    size_t n_mok;
    struct tl_boot_variable *boot_vars;
    size_t n_boot_vars;
    struct tl_separator *separators;
    size_t n_separators;
    struct tl_component *components;
    size_t n_components;
    int32_t *component_of_event; /* per record: index in components, -1 none */
    /* Steps the extraction took: one per record, one per application name
     * looked up or tried. At most 4 per record whatever the log (tests hold
     * it to that): the extraction is linear in the records, n log n with
     * the name lookups. */
    size_t work;
};

/* Extracts the boot state. checks must come from tl_eventlog_check on the
 * same log. Returns 0 or -ENOMEM. */
int tl_boot_state_extract(const struct tl_eventlog *log, const struct tl_eventlog_checks *checks,
                          struct tl_boot_state *bs, struct tl_error *err);
void tl_boot_state_done(struct tl_boot_state *bs);

const char *tl_component_kind_name(enum tl_component_kind kind);
