/* Unit tests for lib/node/bootdiag.c: a node's serial console to a verdict,
 * the phase reached, the failing component and the deciding line.
 *
 * The consoles are real: the .log files of tests/data/console, raw serial
 * output of the node image booted in QEMU + OVMF (and SeaBIOS), ANSI
 * escapes, \r and shim's code page 437 box included; tests/data/console/README.md says how
 * each was made. The expected lines and offsets were read from the files
 * with `cat -v` and are located again here with memmem, so an offset is
 * checked against the bytes, not against the code. Altered copies (an agent
 * failure, a panic after /init started, a grub error that grub survives)
 * are built from the real good boot. Garbage, truncation at every line end
 * (and at many byte offsets) and hostile escape sequences check that the
 * result stays bounded, NUL-terminated and printable. Every input is an
 * exact-size allocation so ASan sees any read past the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl/bootdiag.h"
#include "vectors.h"

/* ---- helpers ---- */

/* tests/data/console: $TL_CONSOLE_DATA, else beside this file. Meson
 * compiles it as ../tests/unit/test_bootdiag.c relative to the build
 * directory, which is where `meson test` runs the tests. */
static const char *console_path(const char *name)
{
    static char path[4096];
    const char *env = getenv("TL_CONSOLE_DATA");
    if (env && *env) {
        snprintf(path, sizeof(path), "%s/%s", env, name);
        return path;
    }
    char here[2048];
    snprintf(here, sizeof(here), "%s", __FILE__);
    char *slash = strrchr(here, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(here, sizeof(here), ".");
    snprintf(path, sizeof(path), "%s/../data/console/%s", here, name);
    return path;
}

static uint8_t *console_read(const char *name, size_t *len)
{
    const char *path = console_path(name);
    uint8_t *buf = file_read(path, len);
    if (!buf)
        fail_msg("cannot read %s (set TL_CONSOLE_DATA to tests/data/console)", path);
    uint8_t *exact = dup_exact(buf, *len);
    free(buf);
    return exact;
}

static size_t offset_of(const uint8_t *buf, size_t len, const char *needle)
{
    const uint8_t *p = memmem(buf, len, needle, strlen(needle));
    if (!p)
        fail_msg("\"%s\" is not in the capture", needle);
    return (size_t)(p - buf);
}

/* Every string of the result is NUL-terminated in its array and printable
 * ASCII; enums in range; a line's offset points at its first byte. */
static void check_bounded(const uint8_t *console, size_t len, const struct tl_bootdiag *d)
{
    const struct {
        const char *s;
        size_t size;
    } strs[] = {{d->component, sizeof(d->component)},
                {d->line, sizeof(d->line)},
                {d->reason, sizeof(d->reason)}};
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        const char *nul = memchr(strs[i].s, '\0', strs[i].size);
        assert_non_null(nul);
        for (const char *p = strs[i].s; p < nul; p++)
            assert_true(*p >= 0x20 && *p < 0x7f);
    }
    assert_true(d->verdict <= TL_BOOTDIAG_AGENT_FAILED);
    assert_true(d->phase <= TL_BOOTDIAG_PHASE_DONE);
    if (d->has_line) {
        assert_true(d->line_offset < len);
        assert_int_equal(console[d->line_offset], (uint8_t)d->line[0]);
        assert_true(d->line[0] != ' ');
    } else {
        assert_string_equal(d->line, "");
    }
    if (d->verdict != TL_BOOTDIAG_BOOTING)
        assert_true(d->has_line);
}

static struct tl_bootdiag scan(const uint8_t *buf, size_t len)
{
    struct tl_bootdiag d;
    assert_int_equal(tl_bootdiag_scan(buf, len, &d), 0);
    check_bounded(buf, len, &d);
    return d;
}

static struct tl_bootdiag scan_str(const char *s)
{
    size_t len = strlen(s);
    uint8_t *buf = dup_exact((const uint8_t *)s, len);
    struct tl_bootdiag d = scan(buf, len);
    free(buf);
    return d;
}

/* Replaces the first `from` in buf with `to`: a new exact-size buffer. */
static uint8_t *edit(const uint8_t *buf, size_t len, const char *from, const char *to,
                     size_t *out_len)
{
    size_t at = offset_of(buf, len, from), fl = strlen(from), tl = strlen(to);
    *out_len = len - fl + tl;
    uint8_t *out = malloc(*out_len);
    assert_non_null(out);
    memcpy(out, buf, at);
    memcpy(out + at, to, tl);
    memcpy(out + at + tl, buf + at + fl, len - at - fl);
    return out;
}

/* ---- the real captures ---- */

static void test_good_secure_boot_on(void **state)
{
    (void)state;
    size_t len;
    uint8_t *c = console_read("good-sb-on.log", &len);
    struct tl_bootdiag d = scan(c, len);
    assert_int_equal(d.verdict, TL_BOOTDIAG_GOOD);
    assert_int_equal(d.phase, TL_BOOTDIAG_PHASE_DONE);
    assert_string_equal(d.component, "");
    assert_string_equal(d.line, "TL: done uptime=2.56");
    assert_int_equal(d.line_offset, offset_of(c, len, "TL: done uptime="));
    assert_int_equal(d.secure_boot, TL_BOOTDIAG_YES);
    assert_int_equal(d.tpm, TL_BOOTDIAG_YES);
    assert_int_equal(d.eventlog, TL_BOOTDIAG_YES);
    assert_int_equal(d.eventlog_bytes, 20875);
    assert_false(d.mok_fallback);
    assert_string_equal(tl_bootdiag_verdict_name(d.verdict), "good");
    assert_string_equal(tl_bootdiag_phase_name(d.phase), "done");
    free(c);
}

static void test_good_secure_boot_off(void **state)
{
    (void)state;
    size_t len;
    uint8_t *c = console_read("good-sb-off.log", &len);
    struct tl_bootdiag d = scan(c, len);
    assert_int_equal(d.verdict, TL_BOOTDIAG_GOOD);
    assert_int_equal(d.phase, TL_BOOTDIAG_PHASE_DONE);
    assert_string_equal(d.line, "TL: done uptime=2.78");
    assert_int_equal(d.secure_boot, TL_BOOTDIAG_NO);
    assert_int_equal(d.tpm, TL_BOOTDIAG_YES);
    assert_int_equal(d.eventlog, TL_BOOTDIAG_YES);
    assert_int_equal(d.eventlog_bytes, 10652);
    free(c);
}

/* grub changed by one byte, Secure Boot on: shim draws its error box with
 * cursor moves and box characters and waits for a key. */
static void test_shim_violation(void **state)
{
    (void)state;
    size_t len;
    uint8_t *c = console_read("shim-violation-grub.log", &len);
    struct tl_bootdiag d = scan(c, len);
    assert_int_equal(d.verdict, TL_BOOTDIAG_SHIM_REFUSED);
    assert_int_equal(d.phase, TL_BOOTDIAG_PHASE_SHIM);
    assert_string_equal(d.component, "grub");
    assert_string_equal(d.line, "Verification failed: (0x1A) Security Violation");
    assert_int_equal(d.line_offset, offset_of(c, len, "Verification failed: (0x1A)"));
    assert_string_equal(d.reason, "Verification failed: (0x1A) Security Violation");
    assert_false(d.mok_fallback);
    assert_int_equal(d.secure_boot, TL_BOOTDIAG_UNKNOWN);
    assert_int_equal(d.tpm, TL_BOOTDIAG_UNKNOWN);
    assert_int_equal(d.eventlog, TL_BOOTDIAG_UNKNOWN);
    assert_string_equal(tl_bootdiag_verdict_name(d.verdict), "shim-refused");
    free(c);
}

/* The same boot with Enter pressed: shim falls back to MokManager (absent),
 * returns to the firmware, which tries the shell (refused: its own
 * "Security Violation", not the node's chain), boots the disk again and
 * shim draws the box again. The first violation stays the verdict. */
static void test_shim_violation_mokmanager(void **state)
{
    (void)state;
    size_t len;
    uint8_t *c = console_read("shim-violation-grub-mokmanager.log", &len);
    struct tl_bootdiag d = scan(c, len);
    assert_int_equal(d.verdict, TL_BOOTDIAG_SHIM_REFUSED);
    assert_int_equal(d.phase, TL_BOOTDIAG_PHASE_SHIM);
    assert_string_equal(d.component, "grub");
    assert_string_equal(d.line, "Verification failed: (0x1A) Security Violation");
    assert_int_equal(d.line_offset, offset_of(c, len, "Verification failed: (0x1A)"));
    assert_true(d.mok_fallback);
    /* the later lines are in the capture, and did not change the verdict */
    offset_of(c, len, "Failed to open \\EFI\\BOOT\\mmx64.efi - Not Found");
    offset_of(c, len, "BdsDxe: failed to start Boot0002 \"UEFI Misc Device\"");
    free(c);
}

/* shim changed by one byte: OVMF refuses the removable-media loader. */
static void test_firmware_access_denied(void **state)
{
    (void)state;
    size_t len;
    uint8_t *c = console_read("firmware-access-denied-shim.log", &len);
    struct tl_bootdiag d = scan(c, len);
    assert_int_equal(d.verdict, TL_BOOTDIAG_FIRMWARE_REFUSED);
    assert_int_equal(d.phase, TL_BOOTDIAG_PHASE_FIRMWARE);
    assert_string_equal(d.component, "shim");
    assert_string_equal(d.line, "BdsDxe: failed to load Boot0002 \"UEFI Misc Device\" from "
                                "PciRoot(0x0)/Pci(0x2,0x0): Access Denied");
    assert_int_equal(d.line_offset, offset_of(c, len, "BdsDxe: failed to load Boot0002"));
    assert_string_equal(d.reason, "Access Denied");
    /* "No bootable option" follows, as a consequence */
    offset_of(c, len, "BdsDxe: No bootable option or device was found.");
    assert_string_equal(tl_bootdiag_verdict_name(d.verdict), "firmware-refused");
    free(c);
}

/* The kernel changed by one byte: grub's linuxefi asks shim to verify it. */
static void test_grub_refuses_kernel(void **state)
{
    (void)state;
    size_t len;
    uint8_t *c = console_read("grub-bad-shim-signature.log", &len);
    struct tl_bootdiag d = scan(c, len);
    assert_int_equal(d.verdict, TL_BOOTDIAG_GRUB_REFUSED);
    assert_int_equal(d.phase, TL_BOOTDIAG_PHASE_GRUB);
    assert_string_equal(d.component, "kernel");
    assert_string_equal(d.line, "error: bad shim signature.");
    assert_int_equal(d.line_offset, offset_of(c, len, "error: bad shim signature."));
    assert_string_equal(d.reason, "bad shim signature.");
    free(c);
}

/* grub.cfg with rdinit=/nonexistent: the kernel finds no init and no root. */
static void test_kernel_panic(void **state)
{
    (void)state;
    size_t len;
    uint8_t *c = console_read("kernel-panic-no-root.log", &len);
    struct tl_bootdiag d = scan(c, len);
    assert_int_equal(d.verdict, TL_BOOTDIAG_KERNEL_PANIC);
    assert_int_equal(d.phase, TL_BOOTDIAG_PHASE_KERNEL);
    assert_string_equal(d.component, "kernel");
    assert_string_equal(d.line, "[    2.501419] Kernel panic - not syncing: VFS: Unable to mount "
                                "root fs on unknown-block(0,0)");
    assert_int_equal(d.line_offset, offset_of(c, len, "[    2.501419] Kernel panic"));
    assert_string_equal(d.reason, "VFS: Unable to mount root fs on unknown-block(0,0)");
    assert_int_equal(d.secure_boot, TL_BOOTDIAG_UNKNOWN);
    free(c);
}

static void test_no_bootable_device(void **state)
{
    (void)state;
    size_t len;
    uint8_t *c = console_read("ovmf-no-bootable-device.log", &len);
    struct tl_bootdiag d = scan(c, len);
    assert_int_equal(d.verdict, TL_BOOTDIAG_NO_BOOT_DEVICE);
    assert_int_equal(d.phase, TL_BOOTDIAG_PHASE_FIRMWARE);
    assert_string_equal(d.component, "");
    assert_string_equal(d.line, "BdsDxe: No bootable option or device was found.");
    assert_int_equal(d.line_offset, offset_of(c, len, "BdsDxe: No bootable option"));
    /* the UEFI shell's refusal (firmware volume) is not the node's chain */
    offset_of(c, len, "\"EFI Internal Shell\" from Fv(");
    free(c);

    c = console_read("seabios-no-bootable-device.log", &len);
    d = scan(c, len);
    assert_int_equal(d.verdict, TL_BOOTDIAG_NO_BOOT_DEVICE);
    assert_int_equal(d.phase, TL_BOOTDIAG_PHASE_FIRMWARE);
    assert_string_equal(d.line, "No bootable device.");
    assert_int_equal(d.line_offset, offset_of(c, len, "No bootable device."));
    free(c);
}

/* ---- still booting: the good boot cut at each phase's first line ---- */

static void test_still_booting(void **state)
{
    (void)state;
    size_t len;
    uint8_t *c = console_read("good-sb-on.log", &len);
    const struct {
        const char *upto; /* cut after this line (and its \r or \n) */
        enum tl_bootdiag_phase phase;
        const char *line;
    } cuts[] = {
        {"BdsDxe: failed to load Boot0001", TL_BOOTDIAG_PHASE_FIRMWARE,
         "BdsDxe: failed to load Boot0001 \"UEFI QEMU DVD-ROM QM00005 \" from "
         "PciRoot(0x0)/Pci(0x1F,0x2)/Sata(0x2,0xFFFF,0x0): Not Found"},
        {"BdsDxe: starting Boot0002", TL_BOOTDIAG_PHASE_SHIM,
         "BdsDxe: starting Boot0002 \"UEFI Misc Device\" from PciRoot(0x0)/Pci(0x2,0x0)"},
        {"Welcome to GRUB!", TL_BOOTDIAG_PHASE_GRUB, "Welcome to GRUB!"},
        {"EFI stub: UEFI Secure Boot is enabled.", TL_BOOTDIAG_PHASE_KERNEL,
         "EFI stub: UEFI Secure Boot is enabled."},
        {"TL: init uptime=", TL_BOOTDIAG_PHASE_INITRAMFS, "TL: init uptime=2.13"},
        {"TL: agent=none", TL_BOOTDIAG_PHASE_AGENT, "TL: agent=none"},
    };
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        size_t at = offset_of(c, len, cuts[i].upto);
        size_t end = at;
        while (end < len && c[end] != '\n' && c[end] != '\r')
            end++;
        uint8_t *part = dup_exact(c, end);
        struct tl_bootdiag d = scan(part, end);
        assert_int_equal(d.verdict, TL_BOOTDIAG_BOOTING);
        assert_int_equal(d.phase, cuts[i].phase);
        assert_string_equal(d.line, cuts[i].line);
        assert_int_equal(d.line_offset, at);
        assert_string_equal(d.component, "");
        free(part);
    }
    /* the facts come as /init prints them */
    size_t end = offset_of(c, len, "TL: tpm=present");
    uint8_t *part = dup_exact(c, end);
    struct tl_bootdiag d = scan(part, end);
    assert_int_equal(d.secure_boot, TL_BOOTDIAG_YES);
    assert_int_equal(d.tpm, TL_BOOTDIAG_UNKNOWN);
    assert_int_equal(d.eventlog, TL_BOOTDIAG_UNKNOWN);
    assert_string_equal(tl_bootdiag_verdict_name(d.verdict), "booting");
    assert_string_equal(tl_bootdiag_phase_name(d.phase), "initramfs");
    free(part);
    free(c);
}

/* Cut at every line end: the phase never goes back, and once a verdict
 * appears it is the whole capture's. Cut at byte offsets (every one for the
 * small captures): always bounded. */
static void test_truncated_everywhere(void **state)
{
    (void)state;
    static const char *const files[] = {
        "good-sb-on.log",
        "good-sb-off.log",
        "shim-violation-grub.log",
        "shim-violation-grub-mokmanager.log",
        "firmware-access-denied-shim.log",
        "grub-bad-shim-signature.log",
        "kernel-panic-no-root.log",
        "ovmf-no-bootable-device.log",
        "seabios-no-bootable-device.log",
    };
    for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
        size_t len;
        uint8_t *c = console_read(files[f], &len);
        struct tl_bootdiag full = scan(c, len);
        enum tl_bootdiag_phase last = TL_BOOTDIAG_PHASE_NONE;
        bool decided = false;
        for (size_t cut = 0; cut <= len; cut++) {
            bool line_end = cut > 0 && c[cut - 1] == '\n';
            if (!line_end && !(len < 8192 || cut % 97 == 0))
                continue;
            uint8_t *part = dup_exact(c, cut);
            struct tl_bootdiag d = scan(part, cut);
            if (line_end) {
                assert_true(d.phase >= last);
                last = d.phase;
                if (decided)
                    assert_int_equal(d.verdict, full.verdict);
                if (d.verdict != TL_BOOTDIAG_BOOTING) {
                    assert_int_equal(d.verdict, full.verdict);
                    assert_int_equal(d.line_offset, full.line_offset);
                    decided = true;
                }
            }
            free(part);
        }
        assert_true(full.phase >= last);
        free(c);
    }
}

/* ---- altered copies of the good boot ---- */

static void test_agent_failed(void **state)
{
    (void)state;
    size_t len, n;
    uint8_t *c = console_read("good-sb-on.log", &len);
    uint8_t *e = edit(c, len, "TL: agent=none",
                      "TL: agent start\r\nTL: agent failed: HTTP 400: bad token\r\n"
                      "TL: agent exit=1",
                      &n);
    struct tl_bootdiag d = scan(e, n);
    assert_int_equal(d.verdict, TL_BOOTDIAG_AGENT_FAILED);
    assert_int_equal(d.phase, TL_BOOTDIAG_PHASE_DONE); /* /init went on */
    assert_string_equal(d.component, "agent");
    assert_string_equal(d.line, "TL: agent failed: HTTP 400: bad token");
    assert_int_equal(d.line_offset, offset_of(e, n, "TL: agent failed:"));
    assert_string_equal(d.reason, "HTTP 400: bad token");
    free(e);

    /* a reporting agent keeps running: no "TL: done", still good */
    size_t cut = offset_of(c, len, "TL: agent=none");
    e = edit(c, cut, "TL: net=none",
             "TL: net=eth0 10.0.2.15/24\r\nTL: agent start\r\n"
             "TL: agent config url=http://10.0.2.2:8080/v1 node=n1\r\n"
             "TL: agent reported\r\n",
             &n);
    d = scan(e, n);
    assert_int_equal(d.verdict, TL_BOOTDIAG_GOOD);
    assert_int_equal(d.phase, TL_BOOTDIAG_PHASE_AGENT);
    assert_string_equal(d.line, "TL: agent reported");
    free(e);
    free(c);
}

static void test_panic_after_init(void **state)
{
    (void)state;
    size_t len, n;
    uint8_t *c = console_read("good-sb-on.log", &len);
    size_t cut = offset_of(c, len, "TL: agent=none");
    uint8_t *e = edit(c, cut, "TL: net=none",
                      "TL: net=none\r\n[    2.600000] Kernel panic - not syncing: Attempted to "
                      "kill init! exitcode=0x00000100\r\n",
                      &n);
    struct tl_bootdiag d = scan(e, n);
    assert_int_equal(d.verdict, TL_BOOTDIAG_KERNEL_PANIC);
    assert_int_equal(d.phase, TL_BOOTDIAG_PHASE_INITRAMFS); /* the furthest phase */
    assert_string_equal(d.component, "kernel");
    assert_string_equal(d.reason, "Attempted to kill init! exitcode=0x00000100");
    free(e);
    free(c);
}

/* grub prints errors it survives: the kernel starting undoes the verdict. */
static void test_grub_error_then_kernel(void **state)
{
    (void)state;
    size_t len, n;
    uint8_t *c = console_read("good-sb-on.log", &len);
    uint8_t *e = edit(c, len, "TL: grub linuxefi",
                      "error: no such device: 1234-ABCD.\n\rTL: grub linuxefi", &n);
    struct tl_bootdiag d = scan(e, n);
    assert_int_equal(d.verdict, TL_BOOTDIAG_GOOD);
    assert_string_equal(d.reason, "");
    /* cut before the kernel: the error stands */
    size_t cut = offset_of(e, n, "TL: grub linuxefi");
    uint8_t *part = dup_exact(e, cut);
    d = scan(part, cut);
    assert_int_equal(d.verdict, TL_BOOTDIAG_GRUB_REFUSED);
    assert_string_equal(d.component, "");
    assert_string_equal(d.reason, "no such device: 1234-ABCD.");
    free(part);
    free(e);
    free(c);
}

/* ---- synthetic lines: the rules one by one ---- */

static void test_rules(void **state)
{
    (void)state;
    struct tl_bootdiag d;
    d = scan_str(
        "BdsDxe: loading Boot0004 \"debian\" from HD(1,GPT,X)/\\EFI\\debian\\grubx64.efi\r\n"
        "BdsDxe: failed to load Boot0004 \"debian\" from "
        "HD(1,GPT,X)/\\EFI\\debian\\grubx64.efi: Access Denied\r\n");
    assert_int_equal(d.verdict, TL_BOOTDIAG_FIRMWARE_REFUSED);
    assert_string_equal(d.component, "grub");
    d = scan_str("BdsDxe: failed to start Boot0005 \"x\" from HD(1,GPT,X)/\\EFI\\tl\\SHIMX64.EFI: "
                 "Security Violation\r\n");
    assert_int_equal(d.verdict, TL_BOOTDIAG_FIRMWARE_REFUSED);
    assert_string_equal(d.component, "shim");
    assert_string_equal(d.reason, "Security Violation");
    d = scan_str("BdsDxe: failed to load Boot0006 \"x\" from HD(1,GPT,X)/\\EFI\\a\\custom.efi: "
                 "Access Denied\n");
    assert_string_equal(d.component, "custom.efi");
    /* not a refusal: Not Found; the firmware's own shell in Fv() */
    d = scan_str("BdsDxe: failed to load Boot0001 \"x\" from PciRoot(0x0): Not Found\n"
                 "BdsDxe: failed to start Boot0003 \"EFI Internal Shell\" from Fv(1)/FvFile(2): "
                 "Security Violation\n");
    assert_int_equal(d.verdict, TL_BOOTDIAG_BOOTING);
    assert_int_equal(d.phase, TL_BOOTDIAG_PHASE_FIRMWARE);
    /* grub's refusals */
    d = scan_str("Welcome to GRUB!\n\rerror: you need to load the kernel first.\n\r");
    assert_int_equal(d.verdict, TL_BOOTDIAG_GRUB_REFUSED);
    assert_string_equal(d.component, "kernel");
    d = scan_str("Welcome to GRUB!\n\rerror: file `/EFI/debian/initrd.img' not found.\n\r");
    assert_string_equal(d.component, "initramfs");
    d = scan_str("Welcome to GRUB!\n\rTL: grub linuxefi\n\rTL: grub: boot failed\n\r");
    assert_int_equal(d.verdict, TL_BOOTDIAG_GRUB_REFUSED);
    assert_string_equal(d.component, "kernel");
    /* "error: " before any boot loader ran, or from the running kernel: not grub's */
    d = scan_str("error: something\n");
    assert_int_equal(d.verdict, TL_BOOTDIAG_BOOTING);
    d = scan_str("Linux version 6.1\nerror: something\n");
    assert_int_equal(d.verdict, TL_BOOTDIAG_BOOTING);
    assert_int_equal(d.phase, TL_BOOTDIAG_PHASE_KERNEL);
    /* escapes inside a line, \r\n, tabs, control characters */
    d = scan_str("\x1b[0m\x1b[37m\x1b[40mTL: \x1b[1mdone\x1b[0m\tup\x01\x7f\r\n");
    assert_int_equal(d.verdict, TL_BOOTDIAG_GOOD);
    assert_string_equal(d.line, "TL: done up");
    assert_int_equal(d.line_offset, 14);
    /* a cursor move ends a line (shim's box rows) */
    d = scan_str("\x1b[03;01H\xb3   Verification failed: (0x1A) Security Violation   \xb3"
                 "\x1b[04;01H\xb3   \xb3");
    assert_int_equal(d.verdict, TL_BOOTDIAG_SHIM_REFUSED);
    assert_string_equal(d.line, "Verification failed: (0x1A) Security Violation");
    assert_int_equal(d.line_offset, 12);
    /* facts: exact words only */
    d = scan_str("TL: secure-boot=onion\nTL: tpm=present-ish\nTL: eventlog=12x bytes\n");
    assert_int_equal(d.secure_boot, TL_BOOTDIAG_UNKNOWN);
    assert_int_equal(d.tpm, TL_BOOTDIAG_UNKNOWN);
    assert_int_equal(d.eventlog, TL_BOOTDIAG_UNKNOWN);
    d = scan_str("TL: secure-boot=unknown (no /sys/...)\nTL: secure-boot=off\nTL: "
                 "tpm=absent\nTL: eventlog=absent\nTL: secure-boot=on\n");
    assert_int_equal(d.secure_boot, TL_BOOTDIAG_NO); /* the first understood */
    assert_int_equal(d.tpm, TL_BOOTDIAG_NO);
    assert_int_equal(d.eventlog, TL_BOOTDIAG_NO);
    /* 20 digits: more than a uint64_t's worth, refused */
    d = scan_str("TL: eventlog=99999999999999999999 bytes\n");
    assert_int_equal(d.eventlog, TL_BOOTDIAG_UNKNOWN);
    d = scan_str("TL: eventlog=9999999999999999999 bytes\n");
    assert_int_equal(d.eventlog, TL_BOOTDIAG_YES);
    assert_true(d.eventlog_bytes == 9999999999999999999ull);
}

/* The diagnosis tld shows for each real capture: a refusal by the firmware,
 * by shim, or grub's "bad shim signature" is one Secure Boot violation; a
 * node that finished its work powered itself off. */
static void test_diagnosis(void **state)
{
    (void)state;
    static const struct {
        const char *file, *diagnosis;
    } want[] = {
        {"good-sb-on.log", "powered-off"},
        {"good-sb-off.log", "powered-off"},
        {"shim-violation-grub.log", "secure-boot-violation"},
        {"shim-violation-grub-mokmanager.log", "secure-boot-violation"},
        {"firmware-access-denied-shim.log", "secure-boot-violation"},
        {"grub-bad-shim-signature.log", "secure-boot-violation"},
        {"kernel-panic-no-root.log", "kernel-panic"},
        {"ovmf-no-bootable-device.log", "no-bootable-device"},
        {"seabios-no-bootable-device.log", "no-bootable-device"},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        size_t len;
        uint8_t *c = console_read(want[i].file, &len);
        struct tl_bootdiag d = scan(c, len);
        assert_string_equal(tl_bootdiag_diagnosis_name(tl_bootdiag_diagnose(&d)),
                            want[i].diagnosis);
        free(c);
    }
    struct tl_bootdiag d =
        scan_str("Welcome to GRUB!\nerror: you need to load the kernel first.\n");
    assert_int_equal(tl_bootdiag_diagnose(&d), TL_BOOTDIAG_DX_BOOT_FAILED);
    assert_string_equal(tl_bootdiag_diagnosis_name(TL_BOOTDIAG_DX_BOOT_FAILED), "boot-failed");
    d = scan_str("Linux version 6.1\nTL: init\nTL: agent reported\n");
    assert_int_equal(tl_bootdiag_diagnose(&d), TL_BOOTDIAG_DX_GOOD);
    d = scan_str("TL: agent failed: no network\n");
    assert_string_equal(tl_bootdiag_diagnosis_name(tl_bootdiag_diagnose(&d)), "agent-failed");
    d = scan_str("BdsDxe: loading Boot0001\n");
    assert_string_equal(tl_bootdiag_diagnosis_name(tl_bootdiag_diagnose(&d)), "booting");
    assert_string_equal(tl_bootdiag_diagnosis_name((enum tl_bootdiag_diagnosis)99), "unknown");
}

/* ---- garbage and hostile input ---- */

static void test_empty_and_bad_arguments(void **state)
{
    (void)state;
    struct tl_bootdiag d;
    assert_int_equal(tl_bootdiag_scan(NULL, 0, &d), 0);
    assert_int_equal(d.verdict, TL_BOOTDIAG_BOOTING);
    assert_int_equal(d.phase, TL_BOOTDIAG_PHASE_NONE);
    assert_false(d.has_line);
    assert_string_equal(d.line, "");
    assert_int_equal(d.n_lines, 0);
    assert_int_equal(tl_bootdiag_scan(NULL, 1, &d), -EINVAL);
    assert_int_equal(tl_bootdiag_scan((const uint8_t *)"x", 1, NULL), -EINVAL);
    d = scan_str("\r\n\r\n   \t \x1b[2J\x1b[01;01H\n");
    assert_int_equal(d.n_lines, 0);
    assert_string_equal(tl_bootdiag_verdict_name((enum tl_bootdiag_verdict)99), "?");
    assert_string_equal(tl_bootdiag_phase_name((enum tl_bootdiag_phase)99), "?");
}

static void test_garbage(void **state)
{
    (void)state;
    size_t len = 1 << 20;
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    /* random bytes (a fixed LCG, so the test is repeatable) */
    uint32_t x = 12345;
    for (size_t i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t)(x >> 16);
    }
    struct tl_bootdiag d = scan(buf, len);
    assert_true(d.n_lines > 0);
    /* all 0xff, all ESC, all NUL, an ESC [ that never ends */
    static const uint8_t fills[] = {0xff, 0x1b, 0x00, '['};
    for (size_t f = 0; f < sizeof(fills); f++) {
        memset(buf, fills[f], len);
        if (fills[f] == '[')
            buf[0] = 0x1b;
        d = scan(buf, len);
        assert_int_equal(d.verdict, TL_BOOTDIAG_BOOTING);
    }
    free(buf);
}

static void test_long_lines_and_escapes(void **state)
{
    (void)state;
    size_t len = 200000;
    char *s = malloc(len + 1);
    assert_non_null(s);
    /* a panic whose reason and line are longer than the result's arrays */
    memset(s, 'R', len);
    memcpy(s, "Kernel panic - not syncing: ", 28);
    s[len] = '\0';
    struct tl_bootdiag d = scan_str(s);
    assert_int_equal(d.verdict, TL_BOOTDIAG_KERNEL_PANIC);
    assert_int_equal(strlen(d.line), TL_BOOTDIAG_LINE_MAX - 1);
    assert_int_equal(strlen(d.reason), TL_BOOTDIAG_REASON_MAX - 1);
    /* beyond the first TL_BOOTDIAG_SCAN_MAX characters nothing is read */
    memset(s, 'x', len);
    memcpy(s + TL_BOOTDIAG_SCAN_MAX, "Kernel panic - not syncing: late", 32);
    d = scan_str(s);
    assert_int_equal(d.verdict, TL_BOOTDIAG_BOOTING);
    /* an OSC (a window title) ends at BEL or ESC \\; one that does not is
     * cut at the end of its line, or after OSC_MAX bytes */
    d = scan_str("\x1b]0;title\x07TL: \x1b]2;t\x1b\\done\n");
    assert_int_equal(d.verdict, TL_BOOTDIAG_GOOD);
    d = scan_str("\x1b]0;title\nTL: done\n");
    assert_int_equal(d.verdict, TL_BOOTDIAG_GOOD);
    assert_int_equal(d.n_lines, 1);
    memset(s, 'o', len);
    memcpy(s, "\x1b]0;", 4);
    memcpy(s + len - 12, "\nTL: done\r\n", 11);
    s[len - 1] = '\0';
    d = scan_str(s);
    assert_int_equal(d.verdict, TL_BOOTDIAG_GOOD);
    /* a CSI longer than CSI_MAX: its bytes become text, the next line is read */
    memset(s, '1', len);
    memcpy(s, "\x1b[", 2);
    memcpy(s + len - 12, "\nTL: done\r\n", 11);
    s[len - 1] = '\0';
    d = scan_str(s);
    assert_int_equal(d.verdict, TL_BOOTDIAG_GOOD);
    assert_int_equal(d.n_lines, 2);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_secure_boot_on),
        cmocka_unit_test(test_good_secure_boot_off),
        cmocka_unit_test(test_shim_violation),
        cmocka_unit_test(test_shim_violation_mokmanager),
        cmocka_unit_test(test_firmware_access_denied),
        cmocka_unit_test(test_grub_refuses_kernel),
        cmocka_unit_test(test_kernel_panic),
        cmocka_unit_test(test_no_bootable_device),
        cmocka_unit_test(test_still_booting),
        cmocka_unit_test(test_truncated_everywhere),
        cmocka_unit_test(test_agent_failed),
        cmocka_unit_test(test_panic_after_init),
        cmocka_unit_test(test_grub_error_then_kernel),
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_diagnosis),
        cmocka_unit_test(test_empty_and_bad_arguments),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_long_lines_and_escapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
