/* The attestation policy (policy.h): findings of a boot against the image
 * it was meant to boot and the pool's rules. Evaluated on an event log that
 * the quote has already bound to the TPM (the caller checks the quote, the
 * PCR digest and the replay first).
 *
 * Reference values are predicted from the image's manifest, written when
 * the image was built (scripts/image-build.sh), before any boot:
 *  - PCR 4: every boot application (EV_EFI_BOOT_SERVICES_APPLICATION) the
 *    log names shim, grub or kernel must carry the Authenticode digest of
 *    that component in the image; any other application is a finding;
 *  - PCR 8/9: grub's records in order (commands, the kernel command line,
 *    the files it read: grub.cfg, the kernel, the initramfs) must equal the
 *    manifest's, text and digest; a changed kernel command line is named as
 *    such, a changed file by the component it is;
 *  - Secure Boot on when the node is meant to have it, or the pool's
 *    requireSecureBoot says so (the log's SecureBoot variable, PCR 7);
 *  - the pool's rules (policyrules.c): kernelCmdline (the measured command
 *    line, with or without grub's leading kernel path), allowedKernels (the
 *    kernel's PCR 4 Authenticode SHA-256 must be one of them), requiredDbx
 *    (SHA-256 values the measured dbx must hold: a hash entry, or the
 *    SHA-256 of a certificate entry; an unmeasured dbx fails).
 * Linear in the log's records times the manifest's components. */
#include "tl/policy.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl/util.h"

static const struct {
    const char *name, *text;
} reasons[TL_POLICY_REASON_COUNT] = {
    [TL_POLICY_NO_MANIFEST] = {"no-manifest", "reference values"},
    [TL_POLICY_SECURE_BOOT] = {"secure-boot-off", "Secure Boot must be on"},
    [TL_POLICY_UNKNOWN_APP] = {"unknown-application", "a boot application the image does not have"},
    [TL_POLICY_APP_DIGEST] = {"application-digest", "Authenticode digest of the image's component"},
    [TL_POLICY_GRUB_EXTRA] = {"grub-extra-record", "a grub record the image does not make"},
    [TL_POLICY_CMDLINE] = {"kernel-cmdline", "the kernel command line the image sets"},
    [TL_POLICY_GRUB_COMMAND] = {"grub-command", "grub's commands from the image"},
    [TL_POLICY_FILE_DIGEST] = {"file-digest", "the file digest of the image's component"},
    [TL_POLICY_GRUB_SHORT] = {"grub-short", "grub stopped before the image's last record"},
    [TL_POLICY_RULE_CMDLINE] = {"rule-kernel-cmdline", "the pool's kernel command line rule"},
    [TL_POLICY_RULE_KERNEL] = {"rule-allowed-kernels", "the pool's allowed kernels"},
    [TL_POLICY_RULE_DBX] = {"rule-required-dbx", "the pool's required dbx entries"},
};

const char *tl_policy_reason_name(enum tl_policy_reason r)
{
    return (unsigned)r < TL_POLICY_REASON_COUNT ? reasons[r].name : "unknown";
}

const char *tl_policy_reason_text(enum tl_policy_reason r)
{
    return (unsigned)r < TL_POLICY_REASON_COUNT ? reasons[r].text : "unknown";
}

void tl_findings_done(struct tl_findings *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->items[i].component);
        free(f->items[i].expected);
        free(f->items[i].actual);
        free(f->items[i].file);
    }
    free(f->items);
    *f = (struct tl_findings){0};
}

/* The evaluation's state: where findings go, and whether memory ran out
 * (then evaluate returns -ENOMEM and the findings are incomplete). */
struct eval {
    struct tl_findings *out;
    bool oom;
};

static char *dup_or_null(struct eval *e, const char *s)
{
    char *c = s ? strdup(s) : NULL;
    if (s && !c)
        e->oom = true;
    return c;
}

static struct tl_finding *add(struct eval *e, enum tl_policy_reason reason, const char *component,
                              int pcr, long event, const char *expected, const char *actual)
{
    struct tl_findings *f = e->out;
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 8;
        struct tl_finding *items = realloc(f->items, cap * sizeof(*items));
        if (!items) {
            e->oom = true;
            return NULL;
        }
        f->items = items;
        f->cap = cap;
    }
    struct tl_finding *x = &f->items[f->n++];
    *x = (struct tl_finding){
        .reason = reason,
        .component = dup_or_null(e, component),
        .pcr = pcr,
        .event = event,
        .expected = dup_or_null(e, expected),
        .actual = dup_or_null(e, actual),
    };
    return x;
}

static void event_sha256(const struct tl_eventlog *log, const struct tl_event *ev, char *hex)
{
    int b = tl_eventlog_bank_index(log, 0x000b /* TPM_ALG_SHA256 */);
    hex[0] = 0;
    if (b >= 0 && ev->digest_offset[b])
        tl_hex_encode(tl_event_digest(log, ev, (unsigned)b), 32, hex);
}

/* The component a grub file record is: by the file's base name against
 * the manifest's component paths ("\EFI\debian\vmlinuz" -> kernel). */
static const char *file_component(const struct tl_manifest *m, const char *text)
{
    const char *base = strrchr(text, '/');
    base = base ? base + 1 : text;
    for (size_t i = 0; i < m->n_components; i++) {
        const char *path = m->components[i].path;
        const char *pb = path ? strrchr(path, '\\') : NULL;
        if (pb && strcmp(pb + 1, base) == 0)
            return m->components[i].name;
    }
    return NULL;
}

static void check_apps(struct eval *e, const struct tl_manifest *m, const struct tl_eventlog *log,
                       const struct tl_boot_state *bs)
{
    for (size_t i = 0; i < bs->n_apps; i++) {
        const struct tl_boot_app *a = &bs->apps[i];
        char actual[65];
        event_sha256(log, &log->events[a->event], actual);
        const struct tl_manifest_component *c = a->name ? tl_manifest_component(m, a->name) : NULL;
        const char *want = c ? c->sha256 : NULL;
        if (!want)
            add(e, TL_POLICY_UNKNOWN_APP, a->name ? a->name : "boot application", 4, a->event, NULL,
                actual);
        else if (strcmp(want, actual) != 0)
            add(e, TL_POLICY_APP_DIGEST, a->name, 4, a->event, want, actual);
    }
}

static void check_grub(struct eval *e, const struct tl_manifest *m, const struct tl_eventlog *log)
{
    static const char kc[] = "kernel_cmdline: ";
    const size_t kcl = sizeof(kc) - 1;
    size_t k = 0;
    for (size_t i = 0; i < log->n_events; i++) {
        const struct tl_event *ev = &log->events[i];
        if ((ev->pcr != 8 && ev->pcr != 9) || ev->type != 0x0d /* EV_IPL */)
            continue;
        char text[512], actual[65];
        size_t len = ev->data_size < sizeof(text) - 1 ? ev->data_size : sizeof(text) - 1;
        memcpy(text, tl_event_data(log, ev), len);
        text[len] = 0;
        for (size_t j = 0; j < len; j++)
            if ((unsigned char)text[j] < 0x20 || (unsigned char)text[j] > 0x7e)
                text[j] = text[j] ? '?' : 0;
        event_sha256(log, ev, actual);
        if (k >= m->n_grub_events) {
            add(e, TL_POLICY_GRUB_EXTRA, "boot sequence", (int)ev->pcr, (long)i, NULL, text);
            continue;
        }
        const struct tl_manifest_grub_event *w = &m->grub_events[k++];
        if (w->sha256 && strcmp(w->sha256, actual) == 0)
            continue;
        if (w->event && strncmp(w->event, kc, kcl) == 0 && strncmp(text, kc, kcl) == 0) {
            add(e, TL_POLICY_CMDLINE, "kernel command line", (int)ev->pcr, (long)i, w->event + kcl,
                text + kcl);
        } else if (strncmp(text, "grub_cmd: ", 10) == 0 || strncmp(text, kc, kcl) == 0) {
            add(e, TL_POLICY_GRUB_COMMAND, "grub command", (int)ev->pcr, (long)i, w->event, text);
        } else {
            const char *comp = file_component(m, text);
            char label[128];
            snprintf(label, sizeof(label), "%.127s", comp ? comp : text);
            struct tl_finding *f =
                add(e, TL_POLICY_FILE_DIGEST, label, (int)ev->pcr, (long)i, w->sha256, actual);
            if (f)
                f->file = dup_or_null(e, text);
        }
    }
    if (k < m->n_grub_events)
        add(e, TL_POLICY_GRUB_SHORT, "boot sequence", 9, -1, "all grub records", "fewer");
}

static bool list_has(char (*list)[65], size_t n, const char *hex)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], hex) == 0)
            return true;
    return false;
}

/* Does the measured dbx hold this SHA-256 (a hash entry, or a certificate
 * whose DER hashes to it)? */
static bool dbx_has(const struct tl_sb_variable *dbx, const char *hex)
{
    for (size_t i = 0; i < dbx->lists.n_entries; i++) {
        const struct tl_sig_entry *e = &dbx->lists.entries[i];
        char h[65];
        if (e->kind == TL_SIG_SHA256 && e->data_len == 32) {
            tl_hex_encode(e->data, 32, h);
        } else if (e->kind == TL_SIG_X509) {
            uint8_t md[32];
            unsigned len = 0;
            if (!EVP_Digest(e->data, e->data_len, md, &len, EVP_sha256(), NULL) || len != 32)
                continue;
            tl_hex_encode(md, 32, h);
        } else {
            continue;
        }
        if (strcmp(h, hex) == 0)
            return true;
    }
    return false;
}

static void check_rules(struct eval *e, const struct tl_policy_rules *rules,
                        const struct tl_eventlog *log, const struct tl_boot_state *bs)
{
    const char *want = rules->kernel_cmdline;
    if (want) {
        const char *got = bs->kernel_cmdline;
        const char *args = got && got[0] == '/' ? strchr(got, ' ') : NULL;
        if (!got || (strcmp(got, want) != 0 && !(args && strcmp(args + 1, want) == 0)))
            add(e, TL_POLICY_RULE_CMDLINE, "kernel command line", 8,
                got ? (long)bs->kernel_cmdline_event : -1, want, got ? got : "not measured");
    }
    if (rules->n_allowed_kernels) {
        bool seen = false;
        for (size_t i = 0; i < bs->n_apps; i++) {
            const struct tl_boot_app *a = &bs->apps[i];
            if (!a->name || strcmp(a->name, "kernel") != 0)
                continue;
            seen = true;
            char actual[65];
            event_sha256(log, &log->events[a->event], actual);
            if (!list_has(rules->allowed_kernels, rules->n_allowed_kernels, actual)) {
                char x[64];
                snprintf(x, sizeof(x), "one of the pool's %zu allowed kernels",
                         rules->n_allowed_kernels);
                add(e, TL_POLICY_RULE_KERNEL, "kernel", 4, a->event, x, actual);
            }
        }
        if (!seen)
            add(e, TL_POLICY_RULE_KERNEL, "kernel", 4, -1, "an allowed kernel",
                "no kernel in the log");
    }
    for (size_t i = 0; i < rules->n_required_dbx; i++) {
        const char *hex = rules->required_dbx[i];
        if (!bs->dbx.measured) {
            add(e, TL_POLICY_RULE_DBX, "dbx", 7, -1, hex, "dbx not measured");
            break;
        }
        if (!dbx_has(&bs->dbx, hex)) {
            char a[64];
            snprintf(a, sizeof(a), "absent (dbx holds %zu entries)", bs->dbx.lists.n_entries);
            add(e, TL_POLICY_RULE_DBX, "dbx", 7, (long)bs->dbx.event, hex, a);
        }
    }
}

int tl_policy_evaluate(const struct tl_policy_input *in, struct tl_findings *out,
                       struct tl_error *err)
{
    struct eval e = {.out = out};
    if (!in->manifest) {
        add(&e, TL_POLICY_NO_MANIFEST, "policy", -1, -1, "the image's manifest",
            in->manifest_error ? in->manifest_error : "not read");
    } else {
        const struct tl_boot_state *bs = in->bs;
        bool want_sb = in->secure_boot || (in->rules && in->rules->require_secure_boot == 1);
        if (want_sb && bs->secure_boot != 1)
            add(&e, TL_POLICY_SECURE_BOOT, "secure boot", 7, -1, "on",
                bs->secure_boot == 0 ? "off" : "not measured");
        check_apps(&e, in->manifest, in->log, bs);
        check_grub(&e, in->manifest, in->log);
        if (in->rules)
            check_rules(&e, in->rules, in->log, bs);
    }
    return e.oom ? tl_error_set_nopos(err, -ENOMEM, "out of memory") : 0;
}
