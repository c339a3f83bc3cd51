/* Boot diagnostics from a node's serial console (include/tl/bootdiag.h).
 *
 * One pass over the bytes: a small escape-sequence state machine feeds a
 * fixed line buffer; each finished line is classified. Invariants: the work
 * per input byte is bounded (a line is classified once, on at most
 * TL_BOOTDIAG_SCAN_MAX characters; escape sequences are cut off after a
 * fixed length), nothing is allocated, the line buffer only ever holds
 * printable ASCII (so the C string functions are safe on it), and every
 * string written to the result is NUL-terminated within its array.
 *
 * The console is the guest's to write: this is diagnostics, never evidence. */
#include "tl/bootdiag.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Longest escape sequence followed before it is given up (xterm's CSI
 * parameters are far shorter; OSC titles may be longer). */
#define CSI_MAX 32
#define OSC_MAX 256

enum esc_state { NORMAL, ESC, CSI, ESC_INTER, OSC, OSC_ESC };

struct scan {
    struct tl_bootdiag *out;
    enum esc_state esc;
    size_t esc_len;
    char buf[TL_BOOTDIAG_SCAN_MAX + 1];
    size_t n;
    size_t start; /* console offset of buf[0] */
    /* The line that showed the furthest phase: the result's line while no
     * verdict is reached. */
    char phase_line[TL_BOOTDIAG_LINE_MAX];
    size_t phase_offset;
    bool has_phase_line;
};

/* Copies a C string, cut to size - 1 bytes (truncation is the intent). */
static void copy_str(char *dst, size_t size, const char *src)
{
    size_t n = strnlen(src, size - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static bool starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* s starts with word and the word ends there (end of line or a space). */
static bool word(const char *s, const char *w)
{
    size_t n = strlen(w);
    return strncmp(s, w, n) == 0 && (s[n] == '\0' || s[n] == ' ');
}

static void set_phase(struct scan *s, enum tl_bootdiag_phase p)
{
    struct tl_bootdiag *o = s->out;
    if (p <= o->phase)
        return;
    o->phase = p;
    copy_str(s->phase_line, sizeof(s->phase_line), s->buf);
    s->phase_offset = s->start;
    s->has_phase_line = true;
    /* grub printed an error but the kernel started after all */
    if (p >= TL_BOOTDIAG_PHASE_KERNEL && o->verdict == TL_BOOTDIAG_GRUB_REFUSED) {
        o->verdict = TL_BOOTDIAG_BOOTING;
        o->component[0] = o->reason[0] = o->line[0] = '\0';
        o->has_line = false;
        o->line_offset = 0;
    }
}

/* The first decisive line wins (a grub error is undone by set_phase). */
static void set_verdict(struct scan *s, enum tl_bootdiag_verdict v, const char *component,
                        const char *reason)
{
    struct tl_bootdiag *o = s->out;
    if (o->verdict != TL_BOOTDIAG_BOOTING)
        return;
    o->verdict = v;
    copy_str(o->component, sizeof(o->component), component);
    copy_str(o->reason, sizeof(o->reason), reason);
    copy_str(o->line, sizeof(o->line), s->buf);
    o->line_offset = s->start;
    o->has_line = true;
}

/* A printk line: "[    2.501419] " (CONFIG_PRINTK_TIME). Returns the text
 * after it, or NULL. */
static const char *after_printk_time(const char *p)
{
    if (p[0] != '[')
        return NULL;
    bool digit = false, dot = false;
    for (size_t i = 1; i < 20 && p[i]; i++) {
        char c = p[i];
        if (c == ']') {
            if (!digit || !dot)
                return NULL;
            return p[i + 1] == ' ' ? p + i + 2 : p + i + 1;
        }
        if (c >= '0' && c <= '9')
            digit = true;
        else if (c == '.')
            dot = true;
        else if (c != ' ')
            return NULL;
    }
    return NULL;
}

/* ---- /init's lines ---- */

static void fact_line(struct scan *s, const char *p)
{
    struct tl_bootdiag *o = s->out;
    if (starts(p, "TL: secure-boot=") && o->secure_boot == TL_BOOTDIAG_UNKNOWN) {
        p += strlen("TL: secure-boot=");
        o->secure_boot = word(p, "on")    ? TL_BOOTDIAG_YES
                         : word(p, "off") ? TL_BOOTDIAG_NO
                                          : TL_BOOTDIAG_UNKNOWN;
    } else if (starts(p, "TL: tpm=") && o->tpm == TL_BOOTDIAG_UNKNOWN) {
        p += strlen("TL: tpm=");
        o->tpm = word(p, "present")  ? TL_BOOTDIAG_YES
                 : word(p, "absent") ? TL_BOOTDIAG_NO
                                     : TL_BOOTDIAG_UNKNOWN;
    } else if (starts(p, "TL: eventlog=") && o->eventlog == TL_BOOTDIAG_UNKNOWN) {
        p += strlen("TL: eventlog=");
        if (word(p, "absent")) {
            o->eventlog = TL_BOOTDIAG_NO;
            return;
        }
        /* "N bytes": at most 19 digits, so no overflow */
        uint64_t v = 0;
        size_t i = 0;
        while (i < 19 && p[i] >= '0' && p[i] <= '9')
            v = v * 10 + (uint64_t)(p[i++] - '0');
        if (i > 0 && word(p + i, " bytes")) {
            o->eventlog = TL_BOOTDIAG_YES;
            o->eventlog_bytes = v;
        }
    }
}

static void tl_line(struct scan *s, const char *p)
{
    if (starts(p, "TL: grub: boot failed")) {
        /* grub.cfg's line after `boot` returned: the kernel did not start */
        set_phase(s, TL_BOOTDIAG_PHASE_GRUB);
        set_verdict(s, TL_BOOTDIAG_GRUB_REFUSED, "kernel", "boot failed");
    } else if (word(p, "TL: grub") || starts(p, "TL: grub:")) {
        set_phase(s, TL_BOOTDIAG_PHASE_GRUB);
    } else if (word(p, "TL: done")) {
        set_phase(s, TL_BOOTDIAG_PHASE_DONE);
        set_verdict(s, TL_BOOTDIAG_GOOD, "", "");
    } else if (word(p, "TL: agent") || starts(p, "TL: agent=")) {
        set_phase(s, TL_BOOTDIAG_PHASE_AGENT);
        if (word(p, "TL: agent reported"))
            set_verdict(s, TL_BOOTDIAG_GOOD, "", "");
        else if (starts(p, "TL: agent failed:")) {
            const char *why = p + strlen("TL: agent failed:");
            set_verdict(s, TL_BOOTDIAG_AGENT_FAILED, "agent", why + (*why == ' '));
        }
    } else {
        /* "TL: init", the facts, the PCR dump: /init is running */
        set_phase(s, TL_BOOTDIAG_PHASE_INITRAMFS);
        fact_line(s, p);
    }
}

/* ---- firmware ---- */

/* The component a boot option loads: its device path's file node, or,
 * with none (a removable-media option: the firmware loads
 * \EFI\BOOT\BOOTX64.EFI), shim. */
static void option_component(const char *path, size_t path_len, char *out, size_t size)
{
    const char *file = NULL;
    for (size_t i = 0; i < path_len; i++)
        if (path[i] == '\\')
            file = path + i + 1;
    if (!file) {
        copy_str(out, size, "shim");
        return;
    }
    size_t n = (size_t)(path + path_len - file);
    if ((n == 11 && strncasecmp(file, "BOOTX64.EFI", 11) == 0) ||
        (n >= 4 && strncasecmp(file, "shim", 4) == 0))
        copy_str(out, size, "shim");
    else if (n >= 4 && strncasecmp(file, "grub", 4) == 0)
        copy_str(out, size, "grub");
    else
        snprintf(out, size, "%.*s", (int)(n < size ? n : size - 1), file);
}

/* OVMF's BdsDxe (MdeModulePkg/Universal/BdsDxe/BdsEntry.c):
 *   BdsDxe: loading Boot0002 "UEFI Misc Device" from PciRoot(0x0)/Pci(0x2,0x0)
 *   BdsDxe: starting Boot0002 "UEFI Misc Device" from PciRoot(0x0)/Pci(0x2,0x0)
 *   BdsDxe: failed to load Boot0002 "UEFI Misc Device" from PATH: Access Denied
 *   BdsDxe: failed to start Boot0003 "EFI Internal Shell" from Fv(...)/FvFile(...): Security
 * Violation BdsDxe: No bootable option or device was found. Images in the firmware volume (the UEFI
 * shell, which this OVMF refuses under Secure Boot) are the firmware's own, not the node's boot
 * chain. */
static void bdsdxe_line(struct scan *s, const char *p)
{
    set_phase(s, TL_BOOTDIAG_PHASE_FIRMWARE);
    if (starts(p, "BdsDxe: No bootable option or device was found")) {
        set_verdict(s, TL_BOOTDIAG_NO_BOOT_DEVICE, "", "no bootable option or device");
        return;
    }
    bool starting = starts(p, "BdsDxe: starting Boot");
    bool failed =
        starts(p, "BdsDxe: failed to load Boot") || starts(p, "BdsDxe: failed to start Boot");
    if (!starting && !failed)
        return;
    const char *from = strstr(p, "\" from ");
    if (!from)
        return;
    const char *path = from + strlen("\" from ");
    bool firmware_volume = starts(path, "Fv(");
    if (starting) {
        if (!firmware_volume)
            set_phase(s, TL_BOOTDIAG_PHASE_SHIM);
        return;
    }
    const char *status = NULL;
    for (const char *q = strstr(path, ": "); q; q = strstr(q + 1, ": "))
        status = q;
    if (!status || firmware_volume)
        return;
    const char *st = status + 2;
    if (strcmp(st, "Access Denied") != 0 && strcmp(st, "Security Violation") != 0)
        return;
    char component[32];
    option_component(path, (size_t)(status - path), component, sizeof(component));
    set_verdict(s, TL_BOOTDIAG_FIRMWARE_REFUSED, component, st);
}

/* ---- shim ---- */

/* shim 15/16 (shim.c, replacements.c): the verification failure is drawn
 * in a box (console_error), then shim falls back to MokManager. */
static bool shim_line(struct scan *s, const char *p)
{
    const char *vf = strstr(p, "Verification failed: ");
    if (vf && strstr(vf, "Security Violation")) {
        set_phase(s, TL_BOOTDIAG_PHASE_SHIM);
        set_verdict(s, TL_BOOTDIAG_SHIM_REFUSED, "grub", vf);
        return true;
    }
    if (starts(p, "Failed to load image: Security Policy Violation")) {
        set_phase(s, TL_BOOTDIAG_PHASE_SHIM);
        set_verdict(s, TL_BOOTDIAG_SHIM_REFUSED, "grub", p);
        return true;
    }
    if (starts(p, "Failed to open \\") || starts(p, "Failed to load image") ||
        starts(p, "start_image() returned") || starts(p, "Something has gone seriously wrong") ||
        starts(p, "Booting in insecure mode") || starts(p, "Could not create MokListRT")) {
        set_phase(s, TL_BOOTDIAG_PHASE_SHIM);
        if (strstr(p, "mmx64.efi") || strstr(p, "MokManager"))
            s->out->mok_fallback = true;
        return true;
    }
    return false;
}

/* ---- grub ---- */

static void grub_error(struct scan *s, const char *p)
{
    const char *msg = p + strlen("error: ");
    const char *component = "";
    if (strstr(msg, "shim signature") || strstr(msg, "kernel") || strstr(msg, "vmlinuz") ||
        strstr(msg, "linux"))
        component = "kernel";
    else if (strstr(msg, "initrd"))
        component = "initramfs";
    set_phase(s, TL_BOOTDIAG_PHASE_GRUB);
    set_verdict(s, TL_BOOTDIAG_GRUB_REFUSED, component, msg);
}

/* ---- one line ---- */

static void classify(struct scan *s)
{
    struct tl_bootdiag *o = s->out;
    const char *p = s->buf;
    o->n_lines++;

    const char *text = after_printk_time(p);
    if (text) {
        set_phase(s, TL_BOOTDIAG_PHASE_KERNEL);
        p = text;
    }
    const char *panic = strstr(p, "Kernel panic - not syncing: ");
    if (panic) {
        set_phase(s, TL_BOOTDIAG_PHASE_KERNEL);
        set_verdict(s, TL_BOOTDIAG_KERNEL_PANIC, "kernel",
                    panic + strlen("Kernel panic - not syncing: "));
        return;
    }
    if (text)
        return;
    if (starts(p, "TL: ")) {
        tl_line(s, p);
    } else if (starts(p, "BdsDxe: ")) {
        bdsdxe_line(s, p);
    } else if (shim_line(s, p)) {
        /* done */
    } else if (starts(p, "No bootable device.")) { /* SeaBIOS */
        set_phase(s, TL_BOOTDIAG_PHASE_FIRMWARE);
        set_verdict(s, TL_BOOTDIAG_NO_BOOT_DEVICE, "", "no bootable device");
    } else if (starts(p, "SeaBIOS (version") || starts(p, "Booting from ")) {
        set_phase(s, TL_BOOTDIAG_PHASE_FIRMWARE);
    } else if (starts(p, "Welcome to GRUB!") || starts(p, "GNU GRUB ")) {
        set_phase(s, TL_BOOTDIAG_PHASE_GRUB);
    } else if (starts(p, "error: ")) {
        /* grub's messages; once the kernel runs, "error: " is someone else's */
        if (o->phase >= TL_BOOTDIAG_PHASE_SHIM && o->phase <= TL_BOOTDIAG_PHASE_GRUB)
            grub_error(s, p);
    } else if (starts(p, "EFI stub: ") || starts(p, "Linux version ") ||
               starts(p, "Decompressing Linux")) {
        set_phase(s, TL_BOOTDIAG_PHASE_KERNEL);
    }
}

/* ---- bytes to lines ---- */

static void end_line(struct scan *s)
{
    while (s->n > 0 && s->buf[s->n - 1] == ' ')
        s->n--;
    if (s->n == 0)
        return;
    s->buf[s->n] = '\0';
    classify(s);
    s->n = 0;
}

static void put(struct scan *s, char c, size_t offset)
{
    if (s->n == 0) {
        if (c == ' ')
            return; /* leading blanks (and box drawing) */
        s->start = offset;
    }
    if (s->n < TL_BOOTDIAG_SCAN_MAX)
        s->buf[s->n++] = c;
}

static void normal_byte(struct scan *s, uint8_t b, size_t offset)
{
    if (b == 0x1b) {
        s->esc = ESC;
        s->esc_len = 0;
    } else if (b == '\n' || b == '\r') {
        end_line(s);
    } else if (b == '\t' || b >= 0x80) {
        put(s, ' ', offset);
    } else if (b >= 0x20 && b != 0x7f) {
        put(s, (char)b, offset);
    }
    /* other control characters: dropped */
}

/* ECMA-48: CSI = ESC [ parameters (0x30-0x3f) intermediates (0x20-0x2f)
 * final (0x40-0x7e); other ESC sequences: ESC intermediates* final; OSC =
 * ESC ] ... BEL or ESC \. A byte that cannot continue a sequence ends it and
 * is read as text. */
static void feed(struct scan *s, uint8_t b, size_t offset)
{
    switch (s->esc) {
    case NORMAL:
        normal_byte(s, b, offset);
        return;
    case ESC:
        if (b == '[') {
            s->esc = CSI;
        } else if (b == ']') {
            s->esc = OSC;
        } else if (b >= 0x20 && b <= 0x2f) {
            s->esc = ESC_INTER;
        } else if (b >= 0x30 && b <= 0x7e) {
            s->esc = NORMAL; /* two-byte sequence: ESC c, ESC 7, ... */
        } else {
            s->esc = NORMAL;
            normal_byte(s, b, offset);
        }
        return;
    case CSI:
        if (b >= 0x40 && b <= 0x7e) {
            s->esc = NORMAL;
            /* cursor position, clear screen: the screen's next text is a new line */
            if (b == 'H' || b == 'f' || b == 'J')
                end_line(s);
        } else if (b >= 0x20 && b <= 0x3f && ++s->esc_len <= CSI_MAX) {
            /* parameter or intermediate */
        } else {
            s->esc = NORMAL;
            normal_byte(s, b, offset);
        }
        return;
    case ESC_INTER:
        if (b >= 0x20 && b <= 0x2f && ++s->esc_len <= CSI_MAX)
            return;
        s->esc = NORMAL;
        if (!(b >= 0x30 && b <= 0x7e))
            normal_byte(s, b, offset);
        return;
    case OSC:
        if (b == 0x07) {
            s->esc = NORMAL;
        } else if (b == 0x1b) {
            s->esc = OSC_ESC;
        } else if (b == '\n' || b == '\r' || ++s->esc_len > OSC_MAX) {
            s->esc = NORMAL;
            normal_byte(s, b, offset);
        }
        return;
    case OSC_ESC:
        s->esc = NORMAL;
        if (b != '\\')
            normal_byte(s, b, offset);
        return;
    }
}

int tl_bootdiag_scan(const uint8_t *console, size_t len, struct tl_bootdiag *out)
{
    if (!out || (!console && len > 0))
        return -EINVAL;
    *out = (struct tl_bootdiag){.verdict = TL_BOOTDIAG_BOOTING};
    /* The scan state is ~800 bytes: on the stack, no allocation. */
    struct scan s = {.out = out, .esc = NORMAL};
    for (size_t i = 0; i < len; i++)
        feed(&s, console[i], i);
    end_line(&s);
    if (out->verdict == TL_BOOTDIAG_BOOTING && s.has_phase_line) {
        copy_str(out->line, sizeof(out->line), s.phase_line);
        out->line_offset = s.phase_offset;
        out->has_line = true;
    }
    return 0;
}

const char *tl_bootdiag_verdict_name(enum tl_bootdiag_verdict v)
{
    switch (v) {
    case TL_BOOTDIAG_BOOTING:
        return "booting";
    case TL_BOOTDIAG_GOOD:
        return "good";
    case TL_BOOTDIAG_SHIM_REFUSED:
        return "shim-refused";
    case TL_BOOTDIAG_FIRMWARE_REFUSED:
        return "firmware-refused";
    case TL_BOOTDIAG_GRUB_REFUSED:
        return "grub-refused";
    case TL_BOOTDIAG_KERNEL_PANIC:
        return "kernel-panic";
    case TL_BOOTDIAG_NO_BOOT_DEVICE:
        return "no-bootable-device";
    case TL_BOOTDIAG_AGENT_FAILED:
        return "agent-failed";
    }
    return "?";
}

const char *tl_bootdiag_phase_name(enum tl_bootdiag_phase p)
{
    static const char *const names[] = {"none",   "firmware",  "shim",  "grub",
                                        "kernel", "initramfs", "agent", "done"};
    return (size_t)p < sizeof(names) / sizeof(names[0]) ? names[p] : "?";
}

enum tl_bootdiag_diagnosis tl_bootdiag_diagnose(const struct tl_bootdiag *d)
{
    switch (d->verdict) {
    case TL_BOOTDIAG_BOOTING:
        return TL_BOOTDIAG_DX_BOOTING;
    case TL_BOOTDIAG_GOOD:
        return d->phase == TL_BOOTDIAG_PHASE_DONE ? TL_BOOTDIAG_DX_POWERED_OFF
                                                  : TL_BOOTDIAG_DX_GOOD;
    case TL_BOOTDIAG_SHIM_REFUSED:
    case TL_BOOTDIAG_FIRMWARE_REFUSED:
        return TL_BOOTDIAG_DX_SECURE_BOOT_VIOLATION;
    case TL_BOOTDIAG_GRUB_REFUSED:
        return strstr(d->reason, "signature") ? TL_BOOTDIAG_DX_SECURE_BOOT_VIOLATION
                                              : TL_BOOTDIAG_DX_BOOT_FAILED;
    case TL_BOOTDIAG_KERNEL_PANIC:
        return TL_BOOTDIAG_DX_KERNEL_PANIC;
    case TL_BOOTDIAG_NO_BOOT_DEVICE:
        return TL_BOOTDIAG_DX_NO_BOOTABLE_DEVICE;
    case TL_BOOTDIAG_AGENT_FAILED:
        return TL_BOOTDIAG_DX_AGENT_FAILED;
    }
    return TL_BOOTDIAG_DX_BOOT_FAILED; /* a verdict from beyond the enum: not good */
}

const char *tl_bootdiag_diagnosis_name(enum tl_bootdiag_diagnosis x)
{
    static const char *const names[TL_BOOTDIAG_DX_COUNT] = {
        [TL_BOOTDIAG_DX_BOOTING] = "booting",
        [TL_BOOTDIAG_DX_GOOD] = "good",
        [TL_BOOTDIAG_DX_POWERED_OFF] = "powered-off",
        [TL_BOOTDIAG_DX_SECURE_BOOT_VIOLATION] = "secure-boot-violation",
        [TL_BOOTDIAG_DX_BOOT_FAILED] = "boot-failed",
        [TL_BOOTDIAG_DX_KERNEL_PANIC] = "kernel-panic",
        [TL_BOOTDIAG_DX_NO_BOOTABLE_DEVICE] = "no-bootable-device",
        [TL_BOOTDIAG_DX_AGENT_FAILED] = "agent-failed",
    };
    return (unsigned)x < TL_BOOTDIAG_DX_COUNT ? names[x] : "unknown";
}
