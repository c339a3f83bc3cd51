/* TCG PC Client Platform Firmware Profile event logs (PFP 1.05 rev 23,
 * section 10): the legacy SHA-1 log (TCG_PCR_EVENT records only) and the
 * crypto-agile log (a TCG_PCR_EVENT carrying the Spec ID Event, then
 * TCG_PCR_EVENT2 records with one digest per bank).
 *
 * tl_eventlog_parse walks the log once and produces an array of records
 * that point into the caller's buffer (offsets, no copies): replay, record
 * checks, boot state and printing all consume those records. The parser
 * checks framing only (sizes, counts, algorithms); what the data means is the
 * consumers' business. It does not allocate anything but the record array.
 *
 * Caps: a log comes from the guest it describes, so what it may make the
 * verifier do is bounded here, far above real logs (OVMF + shim + grub +
 * Linux: ~100 records and ~30 KB; the largest real record is a dbx of
 * ~25 KB). Parsing, checks, replay and boot state are each linear in the
 * records and their bytes (boot state names: n log n), so the caps bound
 * the time as well as the memory. Beyond a cap the parse is -E2BIG with a
 * message naming it. Digests per record are bounded by the banks the Spec
 * ID event declares (TL_EVENTLOG_MAX_BANKS); boot state components, by the
 * records (at most one per record). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tl/error.h"

#define TL_EVENTLOG_MAX_BANKS      16
#define TL_PCR_COUNT               24
#define TL_EVENTLOG_MAX_SIZE       (16u << 20) /* bytes of a log */
#define TL_EVENTLOG_MAX_EVENTS     65536u      /* records of a log, the header included */
#define TL_EVENTLOG_MAX_EVENT_DATA (1u << 20)  /* bytes of one record's data */

enum tl_eventlog_format {
    TL_EVENTLOG_SHA1 = 1,         /* TCG_PCR_EVENT records, SHA-1 only */
    TL_EVENTLOG_CRYPTO_AGILE = 2, /* Spec ID Event03 + TCG_PCR_EVENT2 */
};

struct tl_bank {
    uint16_t alg;  /* TPM_ALG_ID */
    uint16_t size; /* digest size as the Spec ID event declares it */
};

struct tl_event {
    uint32_t index; /* 0-based position in the log; the header event is 0 */
    uint32_t pcr;
    uint32_t type;
    uint32_t offset; /* of the record in the log */
    uint32_t size;   /* of the whole record */
    uint32_t data_offset;
    uint32_t data_size;
    /* Offset of this record's digest for bank i of the log (the header's
     * order, whatever order the record lists them in), from the start of
     * the record; 0 when absent. Digests lie in the record's header, within
     * 12 + 16 * (2 + 64) bytes of its start, so 16 bits hold them and a
     * record stays small next to the log it describes. */
    uint16_t digest_offset[TL_EVENTLOG_MAX_BANKS];
};

struct tl_spec_id {
    uint32_t platform_class;
    uint8_t version_major, version_minor, errata, uintn_size;
    uint32_t vendor_info_offset;
    uint8_t vendor_info_size;
    bool vendor_info_outside_event; /* vendorInfo not counted in EventSize */
};

struct tl_eventlog {
    enum tl_eventlog_format format;
    const uint8_t *buf; /* the caller's buffer; must outlive the log */
    size_t len;
    unsigned n_banks;
    struct tl_bank banks[TL_EVENTLOG_MAX_BANKS];
    struct tl_spec_id spec_id;  /* crypto-agile logs only */
    int startup_locality;       /* from the StartupLocality event, or -1 */
    size_t trailing_zero_bytes; /* padding after the last record (zero; 0xFF in a CC log) */
    bool cc;                    /* a CC event log: `pcr` of each record is a CC MR index */
    struct tl_event *events;    /* malloc'd */
    size_t n_events;
};

/* Parses a whole log. On failure returns -EBADMSG (malformed), -E2BIG
 * (beyond a cap above) or -ENOMEM and fills err with the record and offset;
 * *log is left empty. A log must hold at least one record. */
int tl_eventlog_parse(const uint8_t *buf, size_t len, struct tl_eventlog *log,
                      struct tl_error *err);
void tl_eventlog_done(struct tl_eventlog *log);

/* Parses a confidential-computing event log (UEFI 2.10, 38.4
 * EFI_CC_MEASUREMENT_PROTOCOL; the TDX CCEL's log area): the same
 * crypto-agile records, in which PCRIndex holds the CC measurement
 * register index (for TDX 0 = MRTD, 1..4 = RTMR0..3). Differences from a
 * TPM log, and only these: the log must be crypto-agile; the Spec ID
 * event may carry MR index 0 or 1 (firmware writes either); the unused
 * rest of the log area may be 0xFF (its erased state) as well as zero.
 * log->cc is set. */
int tl_eventlog_parse_cc(const uint8_t *buf, size_t len, struct tl_eventlog *log,
                         struct tl_error *err);

/* Index of the bank with this algorithm, or -1. */
int tl_eventlog_bank_index(const struct tl_eventlog *log, uint16_t alg);

static inline const uint8_t *tl_event_digest(const struct tl_eventlog *log,
                                             const struct tl_event *ev, unsigned bank)
{
    return ev->digest_offset[bank] ? log->buf + ev->offset + ev->digest_offset[bank] : NULL;
}

static inline const uint8_t *tl_event_data(const struct tl_eventlog *log, const struct tl_event *ev)
{
    return log->buf + ev->data_offset;
}

/* ---- Event types (PFP 1.05, 10.4.1) ---- */
#define TL_EV_PREBOOT_CERT                  0x00000000
#define TL_EV_POST_CODE                     0x00000001
#define TL_EV_UNUSED                        0x00000002
#define TL_EV_NO_ACTION                     0x00000003
#define TL_EV_SEPARATOR                     0x00000004
#define TL_EV_ACTION                        0x00000005
#define TL_EV_EVENT_TAG                     0x00000006
#define TL_EV_S_CRTM_CONTENTS               0x00000007
#define TL_EV_S_CRTM_VERSION                0x00000008
#define TL_EV_CPU_MICROCODE                 0x00000009
#define TL_EV_PLATFORM_CONFIG_FLAGS         0x0000000A
#define TL_EV_TABLE_OF_DEVICES              0x0000000B
#define TL_EV_COMPACT_HASH                  0x0000000C
#define TL_EV_IPL                           0x0000000D
#define TL_EV_IPL_PARTITION_DATA            0x0000000E
#define TL_EV_NONHOST_CODE                  0x0000000F
#define TL_EV_NONHOST_CONFIG                0x00000010
#define TL_EV_NONHOST_INFO                  0x00000011
#define TL_EV_OMIT_BOOT_DEVICE_EVENTS       0x00000012
#define TL_EV_POST_CODE2                    0x00000013
#define TL_EV_EFI_EVENT_BASE                0x80000000
#define TL_EV_EFI_VARIABLE_DRIVER_CONFIG    0x80000001
#define TL_EV_EFI_VARIABLE_BOOT             0x80000002
#define TL_EV_EFI_BOOT_SERVICES_APPLICATION 0x80000003
#define TL_EV_EFI_BOOT_SERVICES_DRIVER      0x80000004
#define TL_EV_EFI_RUNTIME_SERVICES_DRIVER   0x80000005
#define TL_EV_EFI_GPT_EVENT                 0x80000006
#define TL_EV_EFI_ACTION                    0x80000007
#define TL_EV_EFI_PLATFORM_FIRMWARE_BLOB    0x80000008
#define TL_EV_EFI_HANDOFF_TABLES            0x80000009
#define TL_EV_EFI_PLATFORM_FIRMWARE_BLOB2   0x8000000A
#define TL_EV_EFI_HANDOFF_TABLES2           0x8000000B
#define TL_EV_EFI_VARIABLE_BOOT2            0x8000000C
#define TL_EV_EFI_GPT_EVENT2                0x8000000D
#define TL_EV_EFI_HCRTM_EVENT               0x80000010
#define TL_EV_EFI_VARIABLE_AUTHORITY        0x800000E0
#define TL_EV_EFI_SPDM_FIRMWARE_BLOB        0x800000E1
#define TL_EV_EFI_SPDM_FIRMWARE_CONFIG      0x800000E2
#define TL_EV_EFI_SPDM_DEVICE_POLICY        0x800000E3
#define TL_EV_EFI_SPDM_DEVICE_AUTHORITY     0x800000E4

/* "EV_SEPARATOR", ... or NULL for a type this project does not know. */
const char *tl_event_type_name(uint32_t type);
/* Bit i set: the PFP allows this type in PCR i. All ones: any PCR. 0 for an
 * unknown type. */
uint32_t tl_event_type_pcrs(uint32_t type);
