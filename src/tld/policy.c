/* Policy: what a node's boot must look like, and the findings when it does
 * not. Evaluated on an event log that the quote has already bound to the
 * TPM (attest.c checks the quote, the PCR digest and the replay first).
 *
 * Reference values are predicted from the node image's manifest.json,
 * written when the image was built (scripts/image-build.sh), before any
 * boot:
 *  - PCR 4: every boot application (EV_EFI_BOOT_SERVICES_APPLICATION) the
 *    log names shim, grub or kernel must carry the Authenticode digest of
 *    that component in the image; any other application is a finding;
 *  - PCR 8/9: grub's records in order (commands, the kernel command line,
 *    the files it read: grub.cfg, the kernel, the initramfs) must equal the
 *    manifest's, text and digest; a changed kernel command line is named as
 *    such, a changed file by the component it is;
 *  - rules: Secure Boot on when the node's policy says so (the log's
 *    SecureBoot variable, PCR 7); PCR 7 itself is checked through the
 *    variables the log carries and the authorities, by the record checks.
 *  - a pool's explicit rules (PUT .../agentPools/P/policy), each a
 *    further constraint on top of the above, never a relaxation:
 *    requireSecureBoot (true: Secure Boot must be measured on, even on a
 *    node whose pool does not switch it on), kernelCmdline (the measured command line, with
 *    or without grub's leading kernel path), allowedKernels (the kernel's
 *    PCR 4 Authenticode SHA-256 must be one of them), requiredDbx (SHA-256
 *    values that the measured dbx must hold: a hash entry, or the SHA-256
 *    of a certificate entry; an unmeasured dbx fails), refuseVouchedEk
 *    (true: a node whose EK only an operator vouched for fails; checked by
 *    attest.c, which knows the EK's origin).
 * Every finding names the component, the PCR, the event (its index in the
 * log), expected and actual, and a severity. */
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "tl/bootstate.h"
#include "tl/eventlog.h"
#include "tl/util.h"
#include "tld.h"

static json_t *finding(const char *component, int pcr, long event, const char *expected,
                       const char *actual, const char *severity, const char *rule)
{
    return json_pack("{s:s, s:i, s:o, s:s?, s:s?, s:s, s:s}", "component", component, "pcr", pcr,
                     "event", event >= 0 ? json_integer(event) : json_null(), "expected", expected,
                     "actual", actual, "severity", severity, "rule", rule);
}

static void event_sha256(const struct tl_eventlog *log, const struct tl_event *ev, char *hex)
{
    int b = tl_eventlog_bank_index(log, 0x000b /* TPM_ALG_SHA256 */);
    hex[0] = 0;
    if (b >= 0 && ev->digest_offset[b])
        tl_hex_encode(tl_event_digest(log, ev, (unsigned)b), 32, hex);
}

static const json_t *manifest_component(const json_t *m, const char *name)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(m, "components"), i, c)
    {
        const char *cn = json_string_value(json_object_get(c, "name"));
        if (cn && strcmp(cn, name) == 0)
            return c;
    }
    return NULL;
}

/* The component a grub file record is: by the file's base name against
 * the manifest's component paths ("\EFI\debian\vmlinuz" → kernel). */
static const char *file_component(const json_t *m, const char *text)
{
    const char *base = strrchr(text, '/');
    base = base ? base + 1 : text;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(m, "components"), i, c)
    {
        const char *path = json_string_value(json_object_get(c, "path"));
        const char *pb = path ? strrchr(path, '\\') : NULL;
        if (pb && strcmp(pb + 1, base) == 0)
            return json_string_value(json_object_get(c, "name"));
    }
    return NULL;
}

static void check_apps(const json_t *m, const struct tl_eventlog *log,
                       const struct tl_boot_state *bs, json_t *out)
{
    for (size_t i = 0; i < bs->n_apps; i++) {
        const struct tl_boot_app *a = &bs->apps[i];
        const struct tl_event *ev = &log->events[a->event];
        char actual[65];
        event_sha256(log, ev, actual);
        const json_t *c = a->name ? manifest_component(m, a->name) : NULL;
        const char *want =
            c ? json_string_value(json_object_get(json_object_get(c, "digests"), "sha256")) : NULL;
        if (!want) {
            json_array_append_new(out, finding(a->name ? a->name : "boot application", 4, a->event,
                                               NULL, actual, "critical",
                                               "a boot application the image does not have"));
        } else if (strcmp(want, actual) != 0) {
            json_array_append_new(out, finding(a->name, 4, a->event, want, actual, "critical",
                                               "Authenticode digest of the image's component"));
        }
    }
}

static void check_grub(const json_t *m, const struct tl_eventlog *log, json_t *out)
{
    const json_t *want = json_object_get(m, "grub_events");
    size_t k = 0, n_want = json_array_size(want);
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
        if (k >= n_want) {
            json_array_append_new(out,
                                  finding("boot sequence", (int)ev->pcr, (long)i, NULL, text,
                                          "critical", "a grub record the image does not make"));
            continue;
        }
        const json_t *w = json_array_get(want, k++);
        const char *wtext = json_string_value(json_object_get(w, "event"));
        const char *wdig =
            json_string_value(json_object_get(json_object_get(w, "digests"), "sha256"));
        if (wdig && strcmp(wdig, actual) == 0)
            continue;
        const char *kc = "kernel_cmdline: ";
        if (wtext && strncmp(wtext, kc, strlen(kc)) == 0 && strncmp(text, kc, strlen(kc)) == 0) {
            json_array_append_new(out, finding("kernel command line", (int)ev->pcr, (long)i,
                                               wtext + strlen(kc), text + strlen(kc), "critical",
                                               "the kernel command line the image sets"));
        } else if (strncmp(text, "grub_cmd: ", 10) == 0 || strncmp(text, kc, strlen(kc)) == 0) {
            json_array_append_new(out, finding("grub command", (int)ev->pcr, (long)i, wtext, text,
                                               "critical", "grub's commands from the image"));
        } else {
            const char *comp = file_component(m, text);
            char label[128];
            snprintf(label, sizeof(label), "%s", comp ? comp : text);
            json_t *f = finding(label, (int)ev->pcr, (long)i, wdig, actual, "critical",
                                "the file digest of the image's component");
            json_object_set_new(f, "file", json_string(text));
            json_array_append_new(out, f);
        }
    }
    if (k < n_want)
        json_array_append_new(out,
                              finding("boot sequence", 9, -1, "all grub records", "fewer",
                                      "critical", "grub stopped before the image's last record"));
}

#define MAX_RULE_ENTRIES 256

static int hex_list(const json_t *v, const char *key, json_t *out, char *msg, size_t msz)
{
    if (!v)
        return 0;
    if (!json_is_array(v) || json_array_size(v) > MAX_RULE_ENTRIES) {
        snprintf(msg, msz, "\"%s\" must be an array of at most %d SHA-256 values (hex)", key,
                 MAX_RULE_ENTRIES);
        return 400;
    }
    json_t *list = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        const char *h = json_string_value(e);
        uint8_t bin[32];
        char low[65];
        if (!h || strlen(h) != 64 || tl_hex_decode(h, 64, bin, sizeof(bin)) != 32) {
            json_decref(list);
            snprintf(msg, msz, "\"%s\" entry %zu: not a SHA-256 value (64 hex digits)", key, i);
            return 400;
        }
        tl_hex_encode(bin, sizeof(bin), low); /* lowercase, as findings print digests */
        json_array_append_new(list, json_string(low));
    }
    json_object_set_new(out, key, list);
    return 0;
}

int tld_policy_rules_parse(const json_t *req, json_t **rules, char *msg, size_t msz)
{
    if (!json_is_object(req)) {
        snprintf(msg, msz, "the request body must be a JSON object");
        return 400;
    }
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)req, key, v)
    {
        if (strcmp(key, "kernelCmdline") && strcmp(key, "allowedKernels") &&
            strcmp(key, "requiredDbx") && strcmp(key, "requireSecureBoot") &&
            strcmp(key, "refuseVouchedEk")) {
            snprintf(msg, msz,
                     "unknown field \"%s\" (kernelCmdline, allowedKernels, requiredDbx, "
                     "requireSecureBoot, refuseVouchedEk)",
                     key);
            return 400;
        }
    }
    json_t *out = json_object();
    int r;
    if ((r = hex_list(json_object_get(req, "allowedKernels"), "allowedKernels", out, msg, msz)) ||
        (r = hex_list(json_object_get(req, "requiredDbx"), "requiredDbx", out, msg, msz))) {
        json_decref(out);
        return r;
    }
    json_t *cmd = json_object_get(req, "kernelCmdline");
    if (cmd && !json_is_null(cmd)) {
        const char *c = json_string_value(cmd);
        bool ok = c && strlen(c) <= 1024;
        for (const char *p = c; ok && *p; p++)
            ok = *p >= 0x20 && *p <= 0x7e;
        if (!ok) {
            json_decref(out);
            snprintf(msg, msz, "\"kernelCmdline\" must be printable text of at most 1024 bytes");
            return 400;
        }
        json_object_set(out, "kernelCmdline", cmd);
    }
    json_t *sb = json_object_get(req, "requireSecureBoot");
    if (sb && !json_is_null(sb)) {
        if (!json_is_boolean(sb)) {
            json_decref(out);
            snprintf(msg, msz, "\"requireSecureBoot\" must be true, false or null");
            return 400;
        }
        json_object_set(out, "requireSecureBoot", sb);
    }
    json_t *rv = json_object_get(req, "refuseVouchedEk");
    if (rv && !json_is_null(rv)) {
        if (!json_is_boolean(rv)) {
            json_decref(out);
            snprintf(msg, msz, "\"refuseVouchedEk\" must be true, false or null");
            return 400;
        }
        json_object_set(out, "refuseVouchedEk", rv);
    }
    *rules = out;
    return 0;
}

static bool list_has(const json_t *list, const char *hex)
{
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) if (strcmp(json_string_value(e), hex) == 0) return true;
    return false;
}

/* Does the measured dbx hold this SHA-256 (a hash entry, or a
 * certificate whose DER hashes to it)? */
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

static void check_rules(const json_t *rules, const struct tl_eventlog *log,
                        const struct tl_boot_state *bs, json_t *out)
{
    const char *want = json_string_value(json_object_get(rules, "kernelCmdline"));
    if (want) {
        const char *got = bs->kernel_cmdline;
        const char *args = got && got[0] == '/' ? strchr(got, ' ') : NULL;
        if (!got || (strcmp(got, want) != 0 && !(args && strcmp(args + 1, want) == 0)))
            json_array_append_new(out, finding("kernel command line", 8,
                                               got ? (long)bs->kernel_cmdline_event : -1, want,
                                               got ? got : "not measured", "critical",
                                               "the pool's kernel command line rule"));
    }
    const json_t *kernels = json_object_get(rules, "allowedKernels");
    if (json_array_size(kernels)) {
        bool seen = false;
        for (size_t i = 0; i < bs->n_apps; i++) {
            const struct tl_boot_app *a = &bs->apps[i];
            if (!a->name || strcmp(a->name, "kernel") != 0)
                continue;
            seen = true;
            char actual[65];
            event_sha256(log, &log->events[a->event], actual);
            if (!list_has(kernels, actual)) {
                char e[64];
                snprintf(e, sizeof(e), "one of the pool's %zu allowed kernels",
                         json_array_size(kernels));
                json_array_append_new(out, finding("kernel", 4, a->event, e, actual, "critical",
                                                   "the pool's allowed kernels"));
            }
        }
        if (!seen)
            json_array_append_new(out, finding("kernel", 4, -1, "an allowed kernel",
                                               "no kernel in the log", "critical",
                                               "the pool's allowed kernels"));
    }
    const json_t *dbx = json_object_get(rules, "requiredDbx");
    size_t i;
    json_t *e;
    json_array_foreach(dbx, i, e)
    {
        const char *hex = json_string_value(e);
        if (!bs->dbx.measured) {
            json_array_append_new(out, finding("dbx", 7, -1, hex, "dbx not measured", "critical",
                                               "the pool's required dbx entries"));
            break;
        }
        if (!dbx_has(&bs->dbx, hex)) {
            char a[64];
            snprintf(a, sizeof(a), "absent (dbx holds %zu entries)", bs->dbx.lists.n_entries);
            json_array_append_new(out, finding("dbx", 7, (long)bs->dbx.event, hex, a, "critical",
                                               "the pool's required dbx entries"));
        }
    }
}

json_t *tld_policy_evaluate(const struct tld_node *n, const struct tl_eventlog *log,
                            const struct tl_boot_state *bs)
{
    json_t *out = json_array();
    if (!n->spec.image[0]) /* an external node: no image, the baseline speaks */
        return out;
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/manifest.json", n->spec.image);
    json_error_t jerr;
    json_t *m = json_load_file(path, 0, &jerr);
    if (!m) {
        json_array_append_new(out, finding("policy", -1, -1, "the image's manifest", jerr.text,
                                           "critical", "reference values"));
        return out;
    }
    const json_t *rules = n->pool ? n->pool->rules : NULL;
    const json_t *require = json_object_get(rules, "requireSecureBoot");
    bool want_sb = n->spec.secure_boot || json_is_true(require);
    if (want_sb && bs->secure_boot != 1)
        json_array_append_new(out, finding("secure boot", 7, -1, "on",
                                           bs->secure_boot == 0 ? "off" : "not measured",
                                           "critical", "Secure Boot must be on"));
    check_apps(m, log, bs, out);
    check_grub(m, log, out);
    if (rules)
        check_rules(rules, log, bs, out);
    json_decref(m);
    return out;
}
