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
 * Every finding names the component, the PCR, the event (its index in the
 * log), expected and actual, and a severity. */
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
    if (n->spec.secure_boot && bs->secure_boot != 1)
        json_array_append_new(out, finding("secure boot", 7, -1, "on",
                                           bs->secure_boot == 0 ? "off" : "not measured",
                                           "critical", "Secure Boot must be on"));
    check_apps(m, log, bs, out);
    check_grub(m, log, out);
    json_decref(m);
    return out;
}
