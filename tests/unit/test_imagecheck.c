/* The image-check decision (tl/imagecheck.h) on Debian's signed shim, grub
 * and kernel ($TL_FIXTURES) and OVMF's real stores: the chain a manifest
 * names, the keys a store holds, and the verdict for the chain as built,
 * with one component changed, missing or not a PE image, and with a store
 * that verifies nothing. The reading off a disk is the host library's,
 * tested through `tl image check` (tests/cli/image_check_cli.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl/imagecheck.h"
#include "vectors.h"

struct world {
    uint8_t *bin[3];
    size_t len[3];
    uint8_t *ms, *nokeys;
    size_t ms_len, nokeys_len;
    struct tl_image_component chain[3];
};

static uint8_t *must_read(const char *dir_env, const char *fallback, const char *name, size_t *len)
{
    const char *dir = getenv(dir_env);
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : fallback, name);
    uint8_t *buf = file_read(path, len);
    if (!buf)
        fail_msg("cannot read %s (make fixtures; apt-get install ovmf)", path);
    return buf;
}

static const char manifest[] =
    "{\"format\": \"trustlaunch-image/1\", \"components\": ["
    "{\"kind\": \"pe\", \"name\": \"shim\", \"path\": \"\\\\EFI\\\\BOOT\\\\BOOTX64.EFI\"},"
    "{\"kind\": \"pe\", \"name\": \"grub\", \"path\": \"\\\\EFI\\\\BOOT\\\\grubx64.efi\"},"
    "{\"kind\": \"file\", \"name\": \"initramfs\", \"path\": \"\\\\EFI\\\\debian\\\\initrd.img\"},"
    "{\"kind\": \"pe\", \"name\": \"kernel\", \"path\": \"\\\\EFI\\\\debian\\\\vmlinuz\"}]}";

static int world_setup(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    static const char *names[] = {"shimx64.efi.signed", "grubx64.efi.signed", "measured/vmlinuz"};
    for (int i = 0; i < 3; i++)
        w->bin[i] = must_read("TL_FIXTURES", "fixtures", names[i], &w->len[i]);
    w->ms = must_read("TL_OVMF_DIR", "/usr/share/OVMF", "OVMF_VARS_4M.ms.fd", &w->ms_len);
    w->nokeys = must_read("TL_OVMF_DIR", "/usr/share/OVMF", "OVMF_VARS_4M.fd", &w->nokeys_len);
    struct tl_manifest m;
    size_t n = 0;
    assert_int_equal(tl_manifest_parse((const uint8_t *)manifest, strlen(manifest), &m, NULL), 0);
    assert_int_equal(tl_image_chain(&m, w->chain, &n, NULL), 0);
    assert_int_equal(n, 3);
    tl_manifest_done(&m);
    *state = w;
    return 0;
}

static int world_teardown(void **state)
{
    struct world *w = *state;
    for (int i = 0; i < 3; i++)
        free(w->bin[i]);
    free(w->ms);
    free(w->nokeys);
    free(w);
    return 0;
}

/* Checks the chain with inputs (NULL: the fixtures as they are) against
 * the Microsoft store (ms) or the store without keys. */
static struct tl_image_verdict *check(const struct world *w, const struct tl_image_input *inputs,
                                      bool ms)
{
    struct tl_image_input in[3];
    for (int i = 0; i < 3; i++)
        in[i] = inputs ? inputs[i] : (struct tl_image_input){.buf = w->bin[i], .len = w->len[i]};
    struct tl_store_keys keys;
    struct tl_error err = {0};
    if (tl_store_keys_load(ms ? w->ms : w->nokeys, ms ? w->ms_len : w->nokeys_len, &keys, &err) < 0)
        fail_msg("store: %s", err.message);
    struct tl_image_verdict *v = calloc(1, sizeof(*v));
    assert_int_equal(tl_image_check(w->chain, in, 3, &keys, 0, v, &err), 0);
    tl_store_keys_done(&keys);
    return v;
}

static void test_chain_from_manifest(void **state)
{
    struct world *w = *state;
    assert_string_equal(w->chain[0].name, "shim");
    assert_string_equal(w->chain[1].path, "\\EFI\\BOOT\\grubx64.efi");
    assert_string_equal(w->chain[2].name, "kernel"); /* the initramfs is not signature-checked */
    static const struct {
        const char *json, *message;
    } bad[] = {
        {"{\"components\": []}",
         "not a trustlaunch image manifest (format is not \"trustlaunch-image/1\")"},
        {"{\"format\": \"trustlaunch-image/1\"}", "no \"components\" array"},
        {"{\"format\": \"trustlaunch-image/1\", \"components\": [3]}",
         "components[0]: no \"kind\""},
        {"{\"format\": \"trustlaunch-image/1\", \"components\": [{\"kind\": \"pe\", \"name\": "
         "\"shim\", \"path\": \"EFI/BOOT/BOOTX64.EFI\"}]}",
         "components[0] (shim): bad or missing ESP \"path\""},
        {"{\"format\": \"trustlaunch-image/1\", \"components\": [{\"kind\": \"pe\", \"path\": "
         "\"\\\\a\"}]}",
         "components[0]: bad or missing \"name\""},
        {"{\"format\": \"trustlaunch-image/1\", \"components\": [{\"kind\": \"file\"}]}",
         "no PE components (shim, grub, kernel)"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct tl_manifest m;
        struct tl_image_component chain[TL_IMAGE_CHECK_MAX];
        struct tl_error err = {0};
        size_t n;
        assert_int_equal(
            tl_manifest_parse((const uint8_t *)bad[i].json, strlen(bad[i].json), &m, NULL), 0);
        assert_int_equal(tl_image_chain(&m, chain, &n, &err), -EBADMSG);
        assert_string_equal(err.message, bad[i].message);
        tl_manifest_done(&m);
    }
}

static void test_store_keys(void **state)
{
    struct world *w = *state;
    struct tl_store_keys k;
    assert_int_equal(tl_store_keys_load(w->ms, w->ms_len, &k, NULL), 0);
    assert_string_equal(k.secure_boot_off_why, "");
    assert_false(k.keys.secure_boot_off);
    assert_true(k.db.n_entries > 0);
    tl_store_keys_done(&k);
    assert_int_equal(tl_store_keys_load(w->nokeys, w->nokeys_len, &k, NULL), 0);
    assert_string_equal(k.secure_boot_off_why, "no PK enrolled");
    assert_true(k.keys.secure_boot_off);
    tl_store_keys_done(&k);
    struct tl_error err = {0};
    assert_int_equal(tl_store_keys_load(w->bin[0], w->len[0], &k, &err), -EBADMSG);
    assert_true(err.message[0] != '\0');
}

static void test_pass(void **state)
{
    struct world *w = *state;
    struct tl_image_verdict *v = check(w, NULL, true);
    assert_int_equal(v->failed, -1);
    assert_string_equal(tl_image_reason_name(v->reason), "pass");
    assert_string_equal(v->text, "");
    assert_true(v->secure_boot);
    static const char *verifiers[] = {"firmware", "shim", "shim-protocol"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(v->results[i].state, TL_IMAGE_CHECKED);
        assert_true(v->results[i].v.allowed);
        assert_string_equal(tl_verifier_name(v->results[i].v.verifier), verifiers[i]);
    }
    char by[768];
    tl_image_verified_by(&v->results[0].v, by, sizeof(by));
    assert_non_null(strstr(by, "db: CN=Microsoft Corporation UEFI CA 2011,"));
    tl_image_verified_by(&v->results[1].v, by, sizeof(by));
    assert_string_equal(by, "vendor_cert: CN=Debian Secure Boot CA");
    json_t *j = tl_image_verdict_json(v, "img", "img/disk.raw", "VARS.fd");
    assert_string_equal(json_string_value(json_object_get(j, "verdict")), "pass");
    assert_true(json_is_null(json_object_get(j, "failed")));
    assert_true(json_is_null(json_object_get(j, "reason")));
    json_t *c = json_array_get(json_object_get(j, "components"), 2);
    assert_string_equal(json_string_value(json_object_get(c, "verifier")), "shim-protocol");
    assert_int_equal(strlen(json_string_value(json_object_get(c, "sha256"))), 64);
    json_decref(j);
    free(v);
}

static void test_grub_changed(void **state)
{
    struct world *w = *state;
    uint8_t *grub = dup_exact(w->bin[1], w->len[1]);
    grub[w->len[1] / 2] ^= 0xff;
    const struct tl_image_input in[3] = {
        {w->bin[0], w->len[0], NULL}, {grub, w->len[1], NULL}, {w->bin[2], w->len[2], NULL}};
    struct tl_image_verdict *v = check(w, in, true);
    assert_int_equal(v->failed, 1);
    assert_int_equal(v->reason, TL_IMAGE_DENIED);
    assert_string_equal(tl_image_reason_name(v->reason), "denied");
    assert_string_equal(v->text, "grub: the image's sha256 digest does not match its signature");
    assert_true(v->results[0].v.allowed);
    assert_false(v->results[1].v.allowed);
    json_t *j = tl_image_verdict_json(v, "img", "grub.raw", "VARS.fd");
    assert_string_equal(json_string_value(json_object_get(j, "failed")), "grub");
    assert_string_equal(json_string_value(json_object_get(j, "reason")), v->text);
    json_decref(j);
    free(v);

    /* a store that verifies nothing: pass, and says so */
    v = check(w, in, false);
    assert_int_equal(v->failed, -1);
    assert_int_equal(v->reason, TL_IMAGE_SECURE_BOOT_OFF);
    assert_string_equal(v->text, "secure boot off: no check");
    assert_string_equal(v->secure_boot_off_why, "no PK enrolled");
    j = tl_image_verdict_json(v, "img", "grub.raw", "VARS.fd");
    assert_string_equal(json_string_value(json_object_get(j, "secure_boot_off")), "no PK enrolled");
    assert_true(json_is_null(
        json_object_get(json_array_get(json_object_get(j, "components"), 1), "verified_by")));
    json_decref(j);
    free(v);
    free(grub);
}

static void test_missing_and_not_pe(void **state)
{
    struct world *w = *state;
    struct tl_image_input in[3] = {{w->bin[0], w->len[0], NULL},
                                   {NULL, 0, "File \"::/EFI/BOOT/grubx64.efi\" not found"},
                                   {w->bin[2], w->len[2], NULL}};
    struct tl_image_verdict *v = check(w, in, true);
    assert_int_equal(v->failed, 1);
    assert_int_equal(v->reason, TL_IMAGE_UNREADABLE);
    assert_string_equal(v->text, "grub: cannot be read from the ESP: File "
                                 "\"::/EFI/BOOT/grubx64.efi\" not found");
    assert_int_equal(v->results[0].state, TL_IMAGE_CHECKED);
    assert_int_equal(v->results[1].state, TL_IMAGE_BROKEN);
    assert_int_equal(v->results[2].state, TL_IMAGE_UNCHECKED);
    free(v);

    static const uint8_t text[] = "#!/bin/sh\necho not an EFI image\n";
    in[1] = (struct tl_image_input){text, sizeof(text) - 1, NULL};
    v = check(w, in, true);
    assert_int_equal(v->failed, 1);
    assert_string_equal(tl_image_reason_name(v->reason), "not-pe");
    assert_int_equal(strncmp(v->text, "grub: not a valid PE image: ", 28), 0);
    assert_int_equal(v->results[2].state, TL_IMAGE_UNCHECKED);
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_from_manifest),
        cmocka_unit_test(test_store_keys),
        cmocka_unit_test(test_pass),
        cmocka_unit_test(test_grub_changed),
        cmocka_unit_test(test_missing_and_not_pe),
    };
    return cmocka_run_group_tests(tests, world_setup, world_teardown);
}
