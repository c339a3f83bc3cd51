/* Boot diagnostics from a node's serial console: how far did the boot get,
 * and if it stopped, which component stopped it and with which line.
 *
 * DIAGNOSTICS ONLY. The console is written by the guest: anything running
 * in it (and anyone controlling it) can print any line, forge "TL: done" or
 * "TL: secure-boot=on", or hide a failure. Nothing here may feed a security
 * decision; attestation (the TPM quote and the event log) does that. The
 * scan is built to survive hostile bytes: one pass, bounded work per byte,
 * fixed-size output, no allocation, every copied string NUL-terminated and
 * printable ASCII only.
 *
 * What is recognised (read from real QEMU + OVMF captures of the node
 * image, tests/data/console/):
 *  - phases, in order: firmware (OVMF's "BdsDxe:" lines, SeaBIOS), shim
 *    (the firmware "starting" a boot option from a device: the image's
 *    \EFI\BOOT\BOOTX64.EFI is shim; shim's own messages), grub ("Welcome to
 *    GRUB!", grub.cfg's "TL: grub ..." echo), kernel ("EFI stub:",
 *    "Linux version", printk "[    0.000000] " lines), initramfs ("TL: init"
 *    and /init's other facts), agent ("TL: agent ..."), done ("TL: done");
 *  - verdicts: good ("TL: done", "TL: agent reported"); shim refused its
 *    second stage ("Verification failed: (0x1A) Security Violation", drawn in
 *    a box with cursor moves, then "Failed to load image: Security Policy
 *    Violation" and the fallback to MokManager, "mmx64.efi"); the firmware
 *    refused the boot loader ("BdsDxe: failed to load Boot0002 "UEFI Misc
 *    Device" from PciRoot(0x0)/Pci(0x2,0x0): Access Denied"); grub refused or
 *    failed to load the kernel ("error: bad shim signature.", "error: you
 *    need to load the kernel first.", grub.cfg's "TL: grub: boot failed");
 *    a kernel panic ("Kernel panic - not syncing: REASON"); no bootable
 *    device (OVMF "BdsDxe: No bootable option or device was found.",
 *    SeaBIOS "No bootable device."); the agent's failure ("TL: agent
 *    failed: REASON").
 *
 * A capture holds one boot (nodes run with -no-reboot). The first decisive
 * line wins: what follows a failure is its consequence (after shim's
 * violation the firmware tries the next boot option and ends with "No
 * bootable option"; after a failed agent /init still prints "TL: done").
 * The one exception is a grub error, which stands only while the boot does
 * not reach the kernel (grub may print an error and go on).
 *
 * Lines end at \n, \r, and at the cursor-positioning and screen-clearing
 * escapes OVMF's and shim's screens are drawn with (ESC [ row;col H,
 * ESC [ 2 J); other escape sequences are dropped, bytes >= 0x80 (shim's
 * box drawing, in code page 437) and tabs become spaces, other control
 * characters are dropped, and the line is trimmed. Only a line's first
 * TL_BOOTDIAG_SCAN_MAX characters are looked at. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TL_BOOTDIAG_LINE_MAX   256 /* copied line, with its NUL */
#define TL_BOOTDIAG_REASON_MAX 192
#define TL_BOOTDIAG_SCAN_MAX   512

enum tl_bootdiag_verdict {
    TL_BOOTDIAG_BOOTING,          /* no verdict yet: see phase */
    TL_BOOTDIAG_GOOD,             /* "TL: done" / "TL: agent reported" */
    TL_BOOTDIAG_SHIM_REFUSED,     /* shim: Security Violation (grub) */
    TL_BOOTDIAG_FIRMWARE_REFUSED, /* firmware: Access Denied (shim) */
    TL_BOOTDIAG_GRUB_REFUSED,     /* grub did not start the kernel */
    TL_BOOTDIAG_KERNEL_PANIC,
    TL_BOOTDIAG_NO_BOOT_DEVICE,
    TL_BOOTDIAG_AGENT_FAILED,
};

enum tl_bootdiag_phase {
    TL_BOOTDIAG_PHASE_NONE, /* nothing recognised */
    TL_BOOTDIAG_PHASE_FIRMWARE,
    TL_BOOTDIAG_PHASE_SHIM,
    TL_BOOTDIAG_PHASE_GRUB,
    TL_BOOTDIAG_PHASE_KERNEL,
    TL_BOOTDIAG_PHASE_INITRAMFS,
    TL_BOOTDIAG_PHASE_AGENT,
    TL_BOOTDIAG_PHASE_DONE,
};

/* A fact /init printed, as the guest claims it. */
enum tl_bootdiag_fact {
    TL_BOOTDIAG_UNKNOWN, /* not printed (or not understood) */
    TL_BOOTDIAG_NO,      /* secure-boot=off, tpm=absent, eventlog=absent */
    TL_BOOTDIAG_YES,     /* secure-boot=on, tpm=present, eventlog=N bytes */
};

struct tl_bootdiag {
    enum tl_bootdiag_verdict verdict;
    enum tl_bootdiag_phase phase; /* the furthest phase seen */
    /* The component that failed, when the console alone tells: "shim" (the
     * firmware refused \EFI\BOOT\BOOTX64.EFI, or another file the boot
     * option names: its base name), "grub" (shim's violation), "kernel"
     * (grub's refusal, a panic), "agent"; "" when unknown or no failure. */
    char component[32];
    /* The deciding line: for a failure or good, the line with the verdict;
     * while booting, the line that showed the furthest phase; "" if none. */
    char line[TL_BOOTDIAG_LINE_MAX];
    size_t line_offset; /* of the line's first kept byte in the console */
    bool has_line;
    /* The failure's own words: the panic's reason, grub's error, the
     * agent's reason, the firmware's status ("Access Denied"), shim's
     * message. "" otherwise. */
    char reason[TL_BOOTDIAG_REASON_MAX];
    /* /init's facts ("TL: secure-boot=", "TL: tpm=", "TL: eventlog="), the
     * first of each. */
    enum tl_bootdiag_fact secure_boot, tpm, eventlog;
    uint64_t eventlog_bytes; /* with eventlog == YES */
    bool mok_fallback;       /* shim tried MokManager (mmx64.efi) */
    size_t n_lines;          /* non-empty lines seen */
};

/* Scans a console capture (any bytes, any length). Returns 0, or -EINVAL
 * when out is NULL or console is NULL with len > 0. */
int tl_bootdiag_scan(const uint8_t *console, size_t len, struct tl_bootdiag *out);

const char *tl_bootdiag_verdict_name(enum tl_bootdiag_verdict v);
const char *tl_bootdiag_phase_name(enum tl_bootdiag_phase p);

/* The diagnosis a node shows (tld's "diagnosis.verdict", docs/api.md): the
 * console's verdict as an operator reads it. A Secure Boot refusal is one
 * diagnosis whichever stage refused (the component says which); grub's
 * refusal is one when grub's words name a signature ("bad shim
 * signature"), else the boot failed; good with the "done" phase means the
 * node powered itself off after its work. */
enum tl_bootdiag_diagnosis {
    TL_BOOTDIAG_DX_BOOTING,
    TL_BOOTDIAG_DX_GOOD,
    TL_BOOTDIAG_DX_POWERED_OFF,
    TL_BOOTDIAG_DX_SECURE_BOOT_VIOLATION,
    TL_BOOTDIAG_DX_BOOT_FAILED,
    TL_BOOTDIAG_DX_KERNEL_PANIC,
    TL_BOOTDIAG_DX_NO_BOOTABLE_DEVICE,
    TL_BOOTDIAG_DX_AGENT_FAILED,
    TL_BOOTDIAG_DX_COUNT,
};

enum tl_bootdiag_diagnosis tl_bootdiag_diagnose(const struct tl_bootdiag *d);
/* "booting", "good", "powered-off", "secure-boot-violation", "boot-failed",
 * "kernel-panic", "no-bootable-device", "agent-failed" */
const char *tl_bootdiag_diagnosis_name(enum tl_bootdiag_diagnosis x);
