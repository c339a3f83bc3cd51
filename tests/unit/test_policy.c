/* The attestation policy (tl/policy.h) and the image manifest parser
 * (tl/manifest.h) on the recorded OVMF + Debian boot: a manifest made from
 * that boot's own digests yields no finding; each change to it (a kernel,
 * a command line, a file grub read, a record more or less, an application
 * the image does not have) yields the one finding that names it; the
 * pool's rules (allowed kernels, required dbx, command line) likewise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "tl/bootstate.h"
#include "tl/manifest.h"
#include "tl/policy.h"
#include "vectors.h"

#define OVMF_LOG "eventlog/ovmf-debian12/secureboot-on.eventlog.bin"

/* The recorded boot's PCR 4 Authenticode digests and grub records
 * (events 26, 32, 43; 33-47), as the image build would have predicted. */
#define SHIM_SHA256   "80a66d53a945d2286fcadd780fae1c225aa732079cd67b5225dc78aaab4e2ff8"
#define GRUB_SHA256   "a68f6d71ebddaa19751ff8d729f67d11b0df8e4c49400c3e7e90de16119e1265"
#define KERNEL_SHA256 "6b1bf35c3bee9918250f593a6fff889c75c1e239cd2fe9e5bb0cd3de9dcb8e51"
#define OTHER_SHA256  "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define EMPTY_SHA256  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static const struct {
    const char *event, *sha256;
} grub_records[] = {
    {"grub_cmd: [ -z (hd0)/EFI/debian -o ! -e (hd0)/EFI/debian ]",
     "d06be2d961a80d33c720c99d2c0e68026f3f1b7677c5ab2b8836a27d796b6a4c"},
    {"grub_cmd: [ -e (hd0)/EFI/debian/x86_64-efi/grub.cfg ]",
     "b1b502c179ef3d4a459cbf0854f54f4bb1fae6ee770397bc1fead1688028094d"},
    {"grub_cmd: [ -e (hd0)/EFI/debian/grub.cfg ]",
     "247b367927044ed05c6c5731f991d8133e62a09f6ca8ddddd404bad6989cec85"},
    {"grub_cmd: source (hd0)/EFI/debian/grub.cfg",
     "ca1ba4bc560f5ab1da01957ca19eb7efaa9ae08901cb43e67005632326398aa7"},
    {"(hd0)/EFI/debian/grub.cfg",
     "a07dd838d0235b05e1d5406b3faed28941a2e4c458320c2e4f2fc2a01de9108a"},
    {"grub_cmd: set timeout=0", "d3a793f471b6bfe8d783f5e629314cad4763d48986a8cd4df25475334b40f49b"},
    {"grub_cmd: menuentry tl {",
     "0c6efc2e809388860288690df580c9f36f0cc46e49e461bdcf5885356dc135c3"},
    {"grub_cmd: setparams tl", "b0230b74197344292c0eba5ce2066f19a435dae13284ebfae8afed98b93863a7"},
    {"grub_cmd: linux /vmlinuz console=ttyS0 quiet panic=-1",
     "7ea36a601009047c61de6ba7c5a1830cadce9cf0bc5227961439b035c7c3406a"},
    {"/vmlinuz", "26f2e57c99338feaf71c46fa4babdc7e1a6c115943002d109fdb746667104f5f"},
    {"kernel_cmdline: /vmlinuz console=ttyS0 quiet panic=-1",
     "064244b228c3c21c5f25567f49084f10a28c3450d7179e13381c3eea0b0e8cbe"},
    {"grub_cmd: initrd /initrd.gz",
     "d94ff7cf6dd1b3a67231260a8c63526e0d4d15b13d31d15eaec458080d2a5675"},
    {"/initrd.gz", "96266d28d6b3a397fc2ed6642fcb7d389df61d3d223ecd3c5c6aebb0c34ee823"},
};
#define N_GRUB (sizeof(grub_records) / sizeof(grub_records[0]))

struct boot {
    uint8_t *buf;
    size_t len;
    struct tl_eventlog log;
    struct tl_eventlog_checks checks;
    struct tl_boot_state bs;
};

static int boot_setup(void **state)
{
    struct boot *b = calloc(1, sizeof(*b));
    struct tl_error err = {0};
    b->buf = vector_read(OVMF_LOG, &b->len);
    if (tl_eventlog_parse(b->buf, b->len, &b->log, &err) < 0 ||
        tl_eventlog_check(&b->log, NULL, &b->checks, &err) < 0 ||
        tl_boot_state_extract(&b->log, &b->checks, &b->bs, &err) < 0)
        fail_msg("%s: %s", OVMF_LOG, err.message);
    *state = b;
    return 0;
}

static int boot_teardown(void **state)
{
    struct boot *b = *state;
    tl_boot_state_done(&b->bs);
    tl_eventlog_checks_done(&b->checks);
    tl_eventlog_done(&b->log);
    free(b->buf);
    free(b);
    return 0;
}

static json_t *component(const char *kind, const char *name, const char *path, const char *sha256)
{
    return json_pack("{s:s, s:s, s:s, s:{s:s}}", "kind", kind, "name", name, "path", path,
                     "digests", "sha256", sha256);
}

/* The manifest the image build writes for the recorded boot. */
static json_t *manifest_json(void)
{
    json_t *grub = json_array();
    for (size_t i = 0; i < N_GRUB; i++)
        json_array_append_new(grub, json_pack("{s:s, s:{s:s}}", "event", grub_records[i].event,
                                              "digests", "sha256", grub_records[i].sha256));
    return json_pack(
        "{s:s, s:s, s:[o,o,o,o], s:o}", "format", TL_MANIFEST_FORMAT, "kernel_cmdline",
        "console=ttyS0 quiet panic=-1", "components",
        component("pe", "shim", "\\EFI\\BOOT\\BOOTX64.EFI", SHIM_SHA256),
        component("pe", "grub", "\\EFI\\BOOT\\grubx64.efi", GRUB_SHA256),
        component("pe", "kernel", "\\vmlinuz", KERNEL_SHA256),
        component("file", "grub.cfg", "\\EFI\\debian\\grub.cfg", grub_records[4].sha256),
        "grub_events", grub);
}

static void manifest_from(json_t *doc, struct tl_manifest *m)
{
    char *text = json_dumps(doc, 0);
    struct tl_error err = {0};
    int r = tl_manifest_parse((const uint8_t *)text, strlen(text), m, &err);
    free(text);
    json_decref(doc);
    if (r < 0)
        fail_msg("manifest: %s", err.message);
}

static void evaluate(const struct boot *b, const struct tl_manifest *m,
                     const struct tl_policy_rules *rules, bool secure_boot, struct tl_findings *f)
{
    const struct tl_policy_input in = {
        .manifest = m, .log = &b->log, .bs = &b->bs, .rules = rules, .secure_boot = secure_boot};
    *f = (struct tl_findings){0};
    assert_int_equal(tl_policy_evaluate(&in, f, NULL), 0);
}

static void assert_finding(const struct tl_finding *f, enum tl_policy_reason reason,
                           const char *component_name, int pcr, long event, const char *expected,
                           const char *actual)
{
    assert_string_equal(tl_policy_reason_name(f->reason), tl_policy_reason_name(reason));
    assert_string_equal(f->component, component_name);
    assert_int_equal(f->pcr, pcr);
    assert_int_equal(f->event, event);
    if (expected)
        assert_string_equal(f->expected, expected);
    else
        assert_null(f->expected);
    assert_string_equal(f->actual, actual);
}

static void test_manifest_parse(void **state)
{
    (void)state;
    struct tl_manifest m;
    manifest_from(manifest_json(), &m);
    assert_string_equal(m.format, "trustlaunch-image/1");
    assert_string_equal(m.kernel_cmdline, "console=ttyS0 quiet panic=-1");
    assert_true(m.has_components);
    assert_int_equal(m.n_components, 4);
    assert_int_equal(m.n_grub_events, N_GRUB);
    const struct tl_manifest_component *k = tl_manifest_component(&m, "kernel");
    assert_non_null(k);
    assert_string_equal(k->kind, "pe");
    assert_string_equal(k->path, "\\vmlinuz");
    assert_string_equal(k->sha256, KERNEL_SHA256);
    assert_null(tl_manifest_component(&m, "initramfs"));
    assert_string_equal(m.grub_events[10].event,
                        "kernel_cmdline: /vmlinuz console=ttyS0 quiet panic=-1");
    tl_manifest_done(&m);

    /* fields of the wrong type read as absent; a non-object entry says so */
    static const char odd[] = "{\"format\": 1, \"components\": [7, {\"name\": \"x\", \"digests\": "
                              "{\"sha256\": 3}}], \"grub_events\": {}}";
    struct tl_error err = {0};
    assert_int_equal(tl_manifest_parse((const uint8_t *)odd, strlen(odd), &m, &err), 0);
    assert_null(m.format);
    assert_int_equal(m.n_components, 2);
    assert_false(m.components[0].is_object);
    assert_true(m.components[1].is_object);
    assert_string_equal(m.components[1].name, "x");
    assert_null(m.components[1].sha256);
    assert_int_equal(m.n_grub_events, 0);
    tl_manifest_done(&m);
}

static void test_manifest_refused(void **state)
{
    (void)state;
    static const char *bad[] = {"{", "[]", "\"x\"", "{\"format\": \"a\", \"format\": \"b\"}", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct tl_manifest m;
        struct tl_error err = {0};
        assert_int_equal(tl_manifest_parse((const uint8_t *)bad[i], strlen(bad[i]), &m, &err),
                         -EBADMSG);
        assert_true(err.message[0] != '\0');
        assert_int_equal(m.n_components, 0);
    }
    struct tl_manifest m;
    struct tl_error err = {0};
    assert_int_equal(tl_manifest_parse((const uint8_t *)"[1]", 3, &m, &err), -EBADMSG);
    assert_string_equal(err.message, "not a JSON object");
    /* too many entries: refused before anything is copied */
    json_t *many = json_array();
    for (int i = 0; i <= TL_MANIFEST_MAX_ENTRIES; i++)
        json_array_append_new(many, json_object());
    json_t *doc = json_pack("{s:o}", "components", many);
    char *text = json_dumps(doc, 0);
    json_decref(doc);
    assert_int_equal(tl_manifest_parse((const uint8_t *)text, strlen(text), &m, &err), -EBADMSG);
    assert_string_equal(err.message, "more than 4096 components or grub records");
    free(text);
}

static void test_policy_clean_boot(void **state)
{
    struct boot *b = *state;
    struct tl_manifest m;
    manifest_from(manifest_json(), &m);
    struct tl_findings f;
    evaluate(b, &m, NULL, true, &f);
    assert_int_equal(f.n, 0);
    tl_findings_done(&f);
    tl_manifest_done(&m);
}

static void test_policy_kernel_changed(void **state)
{
    struct boot *b = *state;
    json_t *doc = manifest_json();
    json_t *kernel = json_array_get(json_object_get(doc, "components"), 2);
    json_object_set_new(json_object_get(kernel, "digests"), "sha256", json_string(OTHER_SHA256));
    struct tl_manifest m;
    manifest_from(doc, &m);
    struct tl_findings f;
    evaluate(b, &m, NULL, true, &f);
    assert_int_equal(f.n, 1);
    assert_finding(&f.items[0], TL_POLICY_APP_DIGEST, "kernel", 4, 43, OTHER_SHA256, KERNEL_SHA256);
    assert_string_equal(tl_policy_reason_text(f.items[0].reason),
                        "Authenticode digest of the image's component");
    tl_findings_done(&f);
    tl_manifest_done(&m);
}

static void test_policy_unknown_application(void **state)
{
    struct boot *b = *state;
    json_t *doc = manifest_json();
    json_array_remove(json_object_get(doc, "components"), 0); /* no shim */
    struct tl_manifest m;
    manifest_from(doc, &m);
    struct tl_findings f;
    evaluate(b, &m, NULL, true, &f);
    assert_int_equal(f.n, 1);
    assert_finding(&f.items[0], TL_POLICY_UNKNOWN_APP, "shim", 4, 26, NULL, SHIM_SHA256);
    tl_findings_done(&f);
    tl_manifest_done(&m);
}

static void test_policy_grub_records(void **state)
{
    struct boot *b = *state;
    /* the image sets another command line: named as such, event 45, PCR 8 */
    json_t *doc = manifest_json();
    json_t *cmd = json_array_get(json_object_get(doc, "grub_events"), 10);
    json_object_set_new(cmd, "event", json_string("kernel_cmdline: /vmlinuz console=ttyS0"));
    json_object_set_new(json_object_get(cmd, "digests"), "sha256", json_string(OTHER_SHA256));
    /* and another grub.cfg: named by its component, with the file */
    json_t *cfg = json_array_get(json_object_get(doc, "grub_events"), 4);
    json_object_set_new(json_object_get(cfg, "digests"), "sha256", json_string(OTHER_SHA256));
    struct tl_manifest m;
    manifest_from(doc, &m);
    struct tl_findings f;
    evaluate(b, &m, NULL, true, &f);
    assert_int_equal(f.n, 2);
    assert_finding(&f.items[0], TL_POLICY_FILE_DIGEST, "grub.cfg", 9, 37, OTHER_SHA256,
                   grub_records[4].sha256);
    assert_string_equal(f.items[0].file, "(hd0)/EFI/debian/grub.cfg");
    assert_finding(&f.items[1], TL_POLICY_CMDLINE, "kernel command line", 8, 45,
                   "/vmlinuz console=ttyS0", "/vmlinuz console=ttyS0 quiet panic=-1");
    tl_findings_done(&f);
    tl_manifest_done(&m);

    /* the image makes one record fewer: the log's last is one too many */
    doc = manifest_json();
    json_array_remove(json_object_get(doc, "grub_events"), N_GRUB - 1);
    manifest_from(doc, &m);
    evaluate(b, &m, NULL, true, &f);
    assert_int_equal(f.n, 1);
    assert_finding(&f.items[0], TL_POLICY_GRUB_EXTRA, "boot sequence", 9, 47, NULL, "/initrd.gz");
    tl_findings_done(&f);
    tl_manifest_done(&m);

    /* one record more: grub stopped early */
    doc = manifest_json();
    json_array_append_new(
        json_object_get(doc, "grub_events"),
        json_pack("{s:s, s:{s:s}}", "event", "grub_cmd: boot", "digests", "sha256", OTHER_SHA256));
    manifest_from(doc, &m);
    evaluate(b, &m, NULL, true, &f);
    assert_int_equal(f.n, 1);
    assert_finding(&f.items[0], TL_POLICY_GRUB_SHORT, "boot sequence", 9, -1, "all grub records",
                   "fewer");
    tl_findings_done(&f);
    tl_manifest_done(&m);
}

static void test_policy_secure_boot_and_no_manifest(void **state)
{
    struct boot *b = *state;
    struct tl_manifest m;
    manifest_from(manifest_json(), &m);
    /* the same boot with Secure Boot measured off (a copy of its state) */
    struct boot off = *b;
    off.bs.secure_boot = 0;
    struct tl_findings f;
    evaluate(&off, &m, NULL, false, &f);
    assert_int_equal(f.n, 0); /* not wanted: no finding */
    evaluate(&off, &m, NULL, true, &f);
    assert_int_equal(f.n, 1);
    assert_finding(&f.items[0], TL_POLICY_SECURE_BOOT, "secure boot", 7, -1, "on", "off");
    tl_findings_done(&f);
    /* wanted by the pool's rule alone */
    struct tl_policy_rules rules;
    json_t *req = json_pack("{s:b}", "requireSecureBoot", 1);
    assert_int_equal(tl_policy_rules_from_json(req, &rules, NULL), 0);
    json_decref(req);
    off.bs.secure_boot = -1;
    evaluate(&off, &m, &rules, false, &f);
    assert_int_equal(f.n, 1);
    assert_finding(&f.items[0], TL_POLICY_SECURE_BOOT, "secure boot", 7, -1, "on", "not measured");
    tl_findings_done(&f);
    tl_policy_rules_done(&rules);
    tl_manifest_done(&m);

    /* no manifest: the one finding says why */
    const struct tl_policy_input in = {
        .manifest_error = "img/manifest.json: No such file", .log = &b->log, .bs = &b->bs};
    f = (struct tl_findings){0};
    assert_int_equal(tl_policy_evaluate(&in, &f, NULL), 0);
    assert_int_equal(f.n, 1);
    assert_finding(&f.items[0], TL_POLICY_NO_MANIFEST, "policy", -1, -1, "the image's manifest",
                   "img/manifest.json: No such file");
    assert_string_equal(tl_policy_reason_text(f.items[0].reason), "reference values");
    tl_findings_done(&f);
}

static void rules_from(const char *text, struct tl_policy_rules *rules)
{
    json_t *req = json_loads(text, 0, NULL);
    struct tl_error err = {0};
    assert_non_null(req);
    if (tl_policy_rules_from_json(req, rules, &err) < 0)
        fail_msg("rules: %s", err.message);
    json_decref(req);
}

static void test_policy_pool_rules(void **state)
{
    struct boot *b = *state;
    struct tl_manifest m;
    manifest_from(manifest_json(), &m);
    struct tl_policy_rules rules;
    struct tl_findings f;

    /* what the boot measured: no finding (the command line with or
     * without grub's kernel path; the kernel in upper case hex) */
    rules_from("{\"kernelCmdline\": \"console=ttyS0 quiet panic=-1\", \"allowedKernels\": "
               "[\"" OTHER_SHA256 "\", \"6B1BF35C3BEE9918250F593A6FFF889C75C1E239CD2FE9E5BB0CD3DE9D"
               "CB8E51\"], \"requiredDbx\": [\"" EMPTY_SHA256 "\"]}",
               &rules);
    assert_string_equal(rules.allowed_kernels[1], KERNEL_SHA256);
    evaluate(b, &m, &rules, true, &f);
    assert_int_equal(f.n, 0);
    tl_policy_rules_done(&rules);

    /* what it did not */
    rules_from("{\"kernelCmdline\": \"console=ttyS0\", \"allowedKernels\": [\"" OTHER_SHA256
               "\"], \"requiredDbx\": [\"" OTHER_SHA256 "\"]}",
               &rules);
    evaluate(b, &m, &rules, true, &f);
    assert_int_equal(f.n, 3);
    assert_finding(&f.items[0], TL_POLICY_RULE_CMDLINE, "kernel command line", 8, 45,
                   "console=ttyS0", "/vmlinuz console=ttyS0 quiet panic=-1");
    assert_finding(&f.items[1], TL_POLICY_RULE_KERNEL, "kernel", 4, 43,
                   "one of the pool's 1 allowed kernels", KERNEL_SHA256);
    assert_finding(&f.items[2], TL_POLICY_RULE_DBX, "dbx", 7, 8, OTHER_SHA256,
                   "absent (dbx holds 1 entries)");
    assert_string_equal(tl_policy_reason_text(f.items[2].reason),
                        "the pool's required dbx entries");
    tl_findings_done(&f);
    tl_policy_rules_done(&rules);
    tl_manifest_done(&m);
}

static void test_policy_rules_json(void **state)
{
    (void)state;
    static const struct {
        const char *req, *message;
    } bad[] = {
        {"[]", "the request body must be a JSON object"},
        {"{\"kernels\": []}", "unknown field \"kernels\" (kernelCmdline, allowedKernels, "
                              "requiredDbx, requireSecureBoot, refuseVouchedEk, teePolicy)"},
        {"{\"allowedKernels\": \"ab\"}",
         "\"allowedKernels\" must be an array of at most 256 SHA-256 values (hex)"},
        {"{\"requiredDbx\": [\"" EMPTY_SHA256 "\", \"xyz\"]}",
         "\"requiredDbx\" entry 1: not a SHA-256 value (64 hex digits)"},
        {"{\"kernelCmdline\": \"a\\nb\"}",
         "\"kernelCmdline\" must be printable text of at most 1024 bytes"},
        {"{\"refuseVouchedEk\": 1}", "\"refuseVouchedEk\" must be true, false or null"},
        {"{\"teePolicy\": true}", "\"teePolicy\" must be a JSON object"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *req = json_loads(bad[i].req, JSON_DECODE_ANY, NULL);
        struct tl_policy_rules rules;
        struct tl_error err = {0};
        assert_non_null(req);
        assert_int_equal(tl_policy_rules_from_json(req, &rules, &err), -EINVAL);
        assert_string_equal(err.message, bad[i].message);
        json_decref(req);
    }
    struct tl_policy_rules rules;
    rules_from("{\"requireSecureBoot\": null, \"refuseVouchedEk\": true, \"allowedKernels\": [], "
               "\"kernelCmdline\": \"quiet\"}",
               &rules);
    json_t *back = tl_policy_rules_to_json(&rules);
    char *text = json_dumps(back, JSON_SORT_KEYS);
    assert_string_equal(
        text, "{\"allowedKernels\": [], \"kernelCmdline\": \"quiet\", \"refuseVouchedEk\": "
              "true}");
    free(text);
    json_decref(back);
    tl_policy_rules_done(&rules);

    /* teePolicy: libtl's TEE policy parser judges it, its words in the error */
    json_t *req = json_loads("{\"teePolicy\": {\"allow-debug\": \"yes\"}}", 0, NULL);
    struct tl_error err = {0};
    assert_int_equal(tl_policy_rules_from_json(req, &rules, &err), -EINVAL);
    assert_non_null(strstr(err.message, "\"teePolicy\": "));
    assert_non_null(strstr(err.message, "allow-debug"));
    json_decref(req);
    rules_from("{\"teePolicy\": {\"allow-debug\": true}}", &rules);
    assert_string_equal(rules.tee_policy, "{\"allow-debug\":true}");
    back = tl_policy_rules_to_json(&rules);
    text = json_dumps(back, JSON_SORT_KEYS | JSON_COMPACT);
    assert_string_equal(text, "{\"teePolicy\":{\"allow-debug\":true}}");
    free(text);
    json_decref(back);
    tl_policy_rules_done(&rules);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_manifest_parse),
        cmocka_unit_test(test_manifest_refused),
        cmocka_unit_test_setup_teardown(test_policy_clean_boot, boot_setup, boot_teardown),
        cmocka_unit_test_setup_teardown(test_policy_kernel_changed, boot_setup, boot_teardown),
        cmocka_unit_test_setup_teardown(test_policy_unknown_application, boot_setup, boot_teardown),
        cmocka_unit_test_setup_teardown(test_policy_grub_records, boot_setup, boot_teardown),
        cmocka_unit_test_setup_teardown(test_policy_secure_boot_and_no_manifest, boot_setup,
                                        boot_teardown),
        cmocka_unit_test_setup_teardown(test_policy_pool_rules, boot_setup, boot_teardown),
        cmocka_unit_test(test_policy_rules_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
