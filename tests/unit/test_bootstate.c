/* Boot state from real logs: what the OVMF + Debian boot was (Secure Boot,
 * keys, who verified shim, grub and the kernel, the command line), what
 * other real boots were, and that forged data is not believed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "applog.h"
#include "logedit.h"
#include "tl/bootstate.h"
#include "tl/util.h"
#include "tl/x509.h"
#include "vectors.h"

#define OVMF_LOG "eventlog/ovmf-debian12/secureboot-on.eventlog.bin"

struct boot {
    uint8_t *buf;
    size_t len;
    struct tl_eventlog log;
    struct tl_eventlog_checks checks;
    struct tl_boot_state bs;
};

static void boot_from_buf(struct boot *b)
{
    struct tl_error err = {0};
    if (tl_eventlog_parse(b->buf, b->len, &b->log, &err) < 0)
        fail_msg("parse: %s", err.message);
    assert_int_equal(tl_eventlog_check(&b->log, NULL, &b->checks, &err), 0);
    assert_int_equal(tl_boot_state_extract(&b->log, &b->checks, &b->bs, &err), 0);
}

static void boot_load(const char *rel, struct boot *b)
{
    b->buf = vector_read(rel, &b->len);
    boot_from_buf(b);
}

static void boot_done(struct boot *b)
{
    tl_boot_state_done(&b->bs);
    tl_eventlog_checks_done(&b->checks);
    tl_eventlog_done(&b->log);
    free(b->buf);
}

static void assert_cn(const uint8_t *der, size_t len, const char *cn)
{
    struct tl_x509_info info;
    assert_non_null(der);
    assert_int_equal(tl_x509_describe(der, len, &info, NULL), 0);
    assert_non_null(info.common_name);
    assert_string_equal(info.common_name, cn);
    tl_x509_info_done(&info);
}

static void assert_sha256(const struct boot *b, uint32_t event, const char *hex)
{
    char got[65];
    int bank = tl_eventlog_bank_index(&b->log, TL_ALG_SHA256);
    assert_true(bank >= 0);
    tl_hex_encode(tl_event_digest(&b->log, &b->log.events[event], (unsigned)bank), 32, got);
    assert_string_equal(got, hex);
}

static void test_ovmf_debian_boot(void **state)
{
    (void)state;
    struct boot b = {0};
    boot_load(OVMF_LOG, &b);
    const struct tl_boot_state *bs = &b.bs;

    assert_int_equal(bs->secure_boot, 1);
    assert_int_equal(bs->n_authorities, 3);

    /* Keys as measured: OVMF_VARS_4M.ms.fd of Debian 12. */
    assert_int_equal(bs->pk.lists.n_entries, 1);
    assert_cn(bs->pk.lists.entries[0].data, bs->pk.lists.entries[0].data_len,
              "Debian UEFI Secure Boot (PK/KEK key)");
    assert_int_equal(bs->kek.lists.n_entries, 2);
    assert_cn(bs->kek.lists.entries[1].data, bs->kek.lists.entries[1].data_len,
              "Microsoft Corporation KEK CA 2011");
    assert_int_equal(bs->db.lists.n_entries, 2);
    assert_int_equal(bs->db.lists.entries[0].kind, TL_SIG_X509);
    assert_cn(bs->db.lists.entries[0].data, bs->db.lists.entries[0].data_len,
              "Microsoft Windows Production PCA 2011");
    assert_cn(bs->db.lists.entries[1].data, bs->db.lists.entries[1].data_len,
              "Microsoft Corporation UEFI CA 2011");
    assert_int_equal(bs->dbx.lists.n_entries, 1);
    assert_int_equal(bs->dbx.lists.entries[0].kind, TL_SIG_SHA256);

    /* The boot applications, in order, with who verified them. */
    assert_int_equal(bs->n_apps, 3);
    const struct tl_boot_app *shim = &bs->apps[0], *grub = &bs->apps[1], *kernel = &bs->apps[2];
    assert_string_equal(shim->name, "shim");
    assert_string_equal(shim->path, "\\EFI\\BOOT\\BOOTX64.EFI");
    assert_string_equal(shim->device_path, "PciRoot(0x0)/Pci(0x2,0x0)/\\EFI\\BOOT\\BOOTX64.EFI");
    assert_sha256(&b, shim->event,
                  "80a66d53a945d2286fcadd780fae1c225aa732079cd67b5225dc78aaab4e2ff8");
    assert_string_equal(grub->name, "grub");
    assert_string_equal(grub->path, "\\EFI\\BOOT\\grubx64.efi");
    assert_sha256(&b, grub->event,
                  "a68f6d71ebddaa19751ff8d729f67d11b0df8e4c49400c3e7e90de16119e1265");
    assert_string_equal(kernel->name, "kernel");
    assert_string_equal(kernel->path, "/vmlinuz");
    assert_int_equal(kernel->event, 43);
    assert_int_equal(kernel->n_events, 2); /* shim, then LoadImage */
    assert_int_equal(kernel->image_length, 8247232);
    assert_sha256(&b, kernel->event,
                  "6b1bf35c3bee9918250f593a6fff889c75c1e239cd2fe9e5bb0cd3de9dcb8e51");

    const struct tl_authority *a = &bs->authorities[shim->authority];
    assert_string_equal(a->variable, "db");
    assert_int_equal(a->source, TL_AUTHORITY_FIRMWARE);
    assert_false(shim->authority_inferred);
    assert_cn(a->cert, a->cert_len, "Microsoft Corporation UEFI CA 2011");
    a = &bs->authorities[grub->authority];
    assert_string_equal(a->variable, "MokListRT");
    assert_int_equal(a->source, TL_AUTHORITY_SHIM);
    assert_false(grub->authority_inferred);
    assert_cn(a->cert, a->cert_len, "Debian Secure Boot CA");
    assert_int_equal(kernel->authority, grub->authority);
    assert_true(kernel->authority_inferred);

    /* grub, the command line, shim's MOK variables. */
    assert_non_null(bs->kernel_cmdline);
    assert_string_equal(bs->kernel_cmdline, "/vmlinuz console=ttyS0 quiet panic=-1");
    assert_int_equal(bs->kernel_cmdline_event, 45);
    static const char *files[] = {"(hd0)/EFI/debian/grub.cfg", "/vmlinuz", "/initrd.gz"};
    size_t n_files = 0, n_cmds = 0;
    for (size_t i = 0; i < bs->n_grub; i++) {
        if (bs->grub[i].kind == TL_GRUB_FILE)
            assert_string_equal(bs->grub[i].text, files[n_files++]);
        else if (bs->grub[i].kind == TL_GRUB_COMMAND)
            n_cmds++;
    }
    assert_int_equal(n_files, 3);
    assert_int_equal(n_cmds, 9);
    assert_int_equal(bs->n_mok, 3);
    assert_string_equal(bs->mok[0].name, "MokList");
    assert_string_equal(bs->mok[1].name, "MokListX");
    assert_string_equal(bs->mok[2].name, "MokListTrusted");

    /* Boot variables and separators. */
    assert_int_equal(bs->n_boot_vars, 5);
    assert_string_equal(bs->boot_vars[0].name, "BootOrder");
    assert_int_equal(bs->boot_vars[0].n_order, 4);
    assert_int_equal(bs->boot_vars[0].order[3], 3);
    assert_string_equal(bs->boot_vars[2].description, "UEFI QEMU DVD-ROM QM00005 ");
    assert_string_equal(bs->boot_vars[2].device_path,
                        "PciRoot(0x0)/Pci(0x1f,0x2)/Sata(0x2,0xffff,0x0)");
    assert_int_equal(bs->n_separators, 8);
    for (size_t i = 0; i < bs->n_separators; i++)
        assert_int_equal(bs->separators[i].value, 0);

    /* Every extended record belongs to exactly one component. */
    for (size_t i = 1; i < b.log.n_events; i++)
        assert_true(bs->component_of_event[i] >= 0);
    assert_int_equal(bs->n_components, 48);
    const struct tl_component *kc = &bs->components[kernel->component];
    assert_string_equal(kc->name, "kernel");
    assert_int_equal(kc->kind, TL_COMPONENT_BOOT_APPLICATION);
    assert_int_equal(kc->n_events, 2);
    assert_int_equal(kc->events[1], 44);
    assert_string_equal(bs->components[bs->component_of_event[45]].name, "kernel-cmdline");
    boot_done(&b);
}

/* A forged SecureBoot value fails its digest and is not believed. */
static void test_forged_secure_boot_not_believed(void **state)
{
    (void)state;
    struct boot b = {0};
    b.buf = vector_read(OVMF_LOG, &b.len);
    uint32_t size;
    size_t d = logedit_event_data(b.buf, b.len, 4, &size);
    b.buf[d + size - 1] = 0;
    boot_from_buf(&b);
    assert_int_equal(b.bs.secure_boot, -1);
    assert_string_equal(b.bs.components[b.bs.component_of_event[4]].name, "SecureBoot");
    boot_done(&b);
}

static void test_other_real_boots(void **state)
{
    (void)state;
    struct boot b = {0};

    /* RHEL 9 with shim 15.6: grub verified by shim's vendor cert logged as
     * the "Shim" variable. */
    boot_load("eventlog/tpm2-tools/event-moklisttrusted.bin", &b);
    assert_int_equal(b.bs.secure_boot, 1);
    assert_int_equal(b.bs.n_apps, 3);
    assert_string_equal(b.bs.apps[1].name, "grub");
    const struct tl_authority *a = &b.bs.authorities[b.bs.apps[1].authority];
    assert_string_equal(a->variable, "Shim");
    assert_cn(a->cert, a->cert_len, "Red Hat Secure Boot CA 5");
    assert_string_equal(b.bs.apps[2].path, "(hd0,gpt2)/vmlinuz-5.14.0-130.el9.x86_64");
    boot_done(&b);

    /* Arch with systemd-boot, Secure Boot off, no authorities. */
    boot_load("eventlog/tpm2-tools/event-arch-linux.bin", &b);
    assert_int_equal(b.bs.secure_boot, 0);
    assert_int_equal(b.bs.n_apps, 2);
    assert_string_equal(b.bs.apps[0].name, "systemd-boot");
    assert_string_equal(b.bs.apps[1].name, "kernel");
    assert_int_equal(b.bs.apps[1].authority, -1);
    assert_int_equal(b.bs.dbx.lists.n_entries, 77);
    boot_done(&b);

    /* Fedora 37 with systemd-boot: the command line from PCR 12 (UTF-16). */
    boot_load("eventlog/tpm2-tools/event-sd-boot-fedora37.bin", &b);
    assert_string_equal(b.bs.kernel_cmdline, " console=ttyS0 console=tty0 efi=debug ");
    assert_int_equal(b.bs.kernel_cmdline_event, 24);
    boot_done(&b);

    /* Ubuntu on GCE with grub: its command line. */
    boot_load("eventlog/tpm2-tools/event-gce-ubuntu-2104-log.bin", &b);
    assert_int_equal(b.bs.secure_boot, 0);
    assert_non_null(strstr(b.bs.kernel_cmdline, "/boot/vmlinuz-5.11.0-1008-gcp root=PARTUUID="));
    boot_done(&b);
}

/* Random single-byte changes to a real log: whatever parses yields a state
 * in which every extended record has a component (and nothing crashes). */
static void test_mutations(void **state)
{
    (void)state;
    size_t len;
    uint8_t *orig = vector_read(OVMF_LOG, &len);
    srand(4242);
    for (int iter = 0; iter < 3000; iter++) {
        struct boot b = {0};
        b.len = len;
        b.buf = malloc(len);
        memcpy(b.buf, orig, len);
        for (int k = 0; k < 1 + iter % 4; k++)
            b.buf[(size_t)rand() % len] = (uint8_t)rand();
        if (tl_eventlog_parse(b.buf, b.len, &b.log, NULL) == 0) {
            assert_int_equal(tl_eventlog_check(&b.log, NULL, &b.checks, NULL), 0);
            assert_int_equal(tl_boot_state_extract(&b.log, &b.checks, &b.bs, NULL), 0);
            for (size_t i = 0; i < b.log.n_events; i++)
                if (b.log.events[i].type != TL_EV_NO_ACTION && i > 0)
                    assert_true(b.bs.component_of_event[i] >= 0);
            assert_true(b.bs.work <= 4 * b.log.n_events);
            tl_boot_state_done(&b.bs);
            tl_eventlog_checks_done(&b.checks);
            tl_eventlog_done(&b.log);
        }
        free(b.buf);
    }
    free(orig);
}

/* Slow-input regression (issue 11): applications without a device path
 * were named by renaming the new one while any earlier one had its name,
 * suffix on suffix ("application#2#3#4..."), about n^4 in all: 1,600 took
 * 40 s. Now they are application, application#2, ..., and the work is
 * bounded per record (bs.work; time is left to the fuzz clock and
 * bench/eventlog, the machine is too noisy to assert it). */
static void assert_many_apps(size_t n)
{
    struct boot b = {0};
    b.buf = applog_build(n, &b.len);
    assert_non_null(b.buf);
    boot_from_buf(&b);
    assert_int_equal(b.log.n_events, n + 1);
    assert_int_equal(b.checks.n_findings, 0);
    assert_int_equal(b.bs.n_apps, n);
    assert_int_equal(b.bs.n_components, n);
    /* The first application is the boot loader; the others are named
     * "application" with a number from the second one on. */
    assert_string_equal(b.bs.apps[0].name, "bootloader");
    assert_string_equal(b.bs.apps[1].name, "application");
    for (size_t i = 2; i < n; i++) {
        char want[32];
        snprintf(want, sizeof(want), "application#%zu", i);
        assert_string_equal(b.bs.apps[i].name, want);
        assert_string_equal(b.bs.components[b.bs.apps[i].component].name, want);
        assert_int_equal(b.bs.apps[i].event, i + 1);
    }
    /* One step per record, one lookup and one try per application. */
    assert_true(b.bs.work <= b.log.n_events + 2 * n);
    boot_done(&b);
}

static void test_many_apps_without_device_path(void **state)
{
    (void)state;
    assert_many_apps(3);
    assert_many_apps(1600);
    assert_many_apps(10000);
}

/* Names made unique never collide with a file's own name: a file really
 * called "foo.efi#3" keeps it, and the next "foo.efi" moves on to #4; a
 * second "foo.efi#3" becomes "foo.efi#3#2". */
static void test_app_names_unique(void **state)
{
    (void)state;
    static const char *const paths[] = {
        "\\EFI\\x\\foo.efi",
        "\\foo.efi",
        "\\foo.efi#3",
        "\\EFI\\foo.efi",
        "\\foo.efi#3",
        NULL,
        NULL,
        "\\application#2",
        NULL,
    };
    static const char *const want[] = {
        "foo.efi",     "foo.efi#2",     "foo.efi#3",       "foo.efi#4",     "foo.efi#3#2",
        "application", "application#2", "application#2#2", "application#3",
    };
    struct boot b = {0};
    b.buf = applog_build_paths(paths, TL_ARRAY_SIZE(paths), &b.len);
    boot_from_buf(&b);
    assert_int_equal(b.bs.n_apps, TL_ARRAY_SIZE(want));
    for (size_t i = 0; i < TL_ARRAY_SIZE(want); i++)
        assert_string_equal(b.bs.apps[i].name, want[i]);
    assert_string_equal(b.bs.apps[1].path, "\\foo.efi");
    assert_true(b.bs.work <= 4 * b.log.n_events);
    boot_done(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ovmf_debian_boot),
        cmocka_unit_test(test_forged_secure_boot_not_believed),
        cmocka_unit_test(test_other_real_boots),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_many_apps_without_device_path),
        cmocka_unit_test(test_app_names_unique),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
