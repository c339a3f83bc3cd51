/* Text forms of `tl eventlog` for people; scripts use --json. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eventlog_cmd.h"
#include "tl/digest.h"
#include "tl/efi.h"
#include "tl/util.h"
#include "tl/x509.h"

static char *printable_copy(const uint8_t *d, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n && d[i]; i++)
        s[o++] = (d[i] >= 0x20 && d[i] < 0x7f) ? (char)d[i] : (d[i] == '\n' ? ' ' : '?');
    s[o] = '\0';
    return s;
}

char *eventlog_describe(const struct tl_eventlog *log, const struct tl_event *ev)
{
    const uint8_t *d = tl_event_data(log, ev);
    size_t n = ev->data_size;
    char *out = NULL;

    switch (ev->type) {
    case TL_EV_NO_ACTION:
        if (ev->index == 0 && log->format == TL_EVENTLOG_CRYPTO_AGILE)
            return strdup("Spec ID Event03");
        if (log->startup_locality >= 0 && n == 17 && memcmp(d, "StartupLocality", 15) == 0) {
            if (asprintf(&out, "StartupLocality %u", d[16]) < 0)
                return NULL;
            return out;
        }
        return n >= 16 ? printable_copy(d, 16) : NULL;
    case TL_EV_SEPARATOR:
        if (n == 4 && asprintf(&out, "0x%08x", tl_le32(d)) >= 0)
            return out;
        return NULL;
    case TL_EV_S_CRTM_VERSION:
        return tl_utf16le_to_utf8(d, n / 2);
    case TL_EV_EFI_VARIABLE_DRIVER_CONFIG:
    case TL_EV_EFI_VARIABLE_BOOT:
    case TL_EV_EFI_VARIABLE_BOOT2:
    case TL_EV_EFI_VARIABLE_AUTHORITY: {
        struct tl_efi_variable var;
        if (tl_efi_variable_parse(d, n, &var, NULL) < 0)
            return strdup("(malformed UEFI_VARIABLE_DATA)");
        _cleanup_free_ char *name = tl_utf16le_to_utf8(var.name_utf16, var.name_len);
        char guid[37];
        tl_guid_format(&var.vendor, guid);
        if (!name ||
            asprintf(&out, "%s-%s (%llu bytes)", name, guid, (unsigned long long)var.data_len) < 0)
            return NULL;
        return out;
    }
    case TL_EV_EFI_BOOT_SERVICES_APPLICATION:
    case TL_EV_EFI_BOOT_SERVICES_DRIVER:
    case TL_EV_EFI_RUNTIME_SERVICES_DRIVER:
        if (n >= 32) {
            uint64_t dp_len = tl_le64(d + 24);
            char *text = NULL;
            if (dp_len == 0)
                return strdup("(no device path)");
            if (dp_len <= n - 32 && tl_device_path_to_text(d + 32, dp_len, &text, NULL) == 0)
                return text;
        }
        return strdup("(malformed UEFI_IMAGE_LOAD_EVENT)");
    case TL_EV_EFI_PLATFORM_FIRMWARE_BLOB:
        if (n == 16 && asprintf(&out, "base 0x%llx length 0x%llx", (unsigned long long)tl_le64(d),
                                (unsigned long long)tl_le64(d + 8)) >= 0)
            return out;
        return NULL;
    case TL_EV_EFI_PLATFORM_FIRMWARE_BLOB2:
    case TL_EV_EFI_HANDOFF_TABLES2:
        if (n >= 1 && d[0] <= n - 1)
            return printable_copy(d + 1, d[0]);
        return NULL;
    case TL_EV_EVENT_TAG:
        if (n >= 8 && asprintf(&out, "tag 0x%08x, %u bytes", tl_le32(d), tl_le32(d + 4)) >= 0)
            return out;
        return NULL;
    case TL_EV_IPL:
        /* systemd-boot / sd-stub log UTF-16 strings. */
        if (n >= 4 && d[1] == 0 && d[3] == 0)
            return tl_utf16le_to_utf8(d, n / 2);
        return printable_copy(d, n);
    case TL_EV_EFI_ACTION:
    case TL_EV_ACTION:
    case TL_EV_POST_CODE:
    case TL_EV_OMIT_BOOT_DEVICE_EVENTS:
        return printable_copy(d, n);
    default:
        return NULL;
    }
}

static void print_findings(const struct analysis *a)
{
    for (size_t i = 0; i < a->checks.n_findings; i++) {
        const struct tl_record_finding *f = &a->checks.findings[i];
        const char *tn = tl_event_type_name(f->type);
        printf("FINDING event %u (PCR %u, %s, offset %u): %s\n", f->event, f->pcr,
               tn ? tn : "unknown type", f->offset, f->reason);
    }
}

static void print_verdict(const struct analysis *a)
{
    printf("verdict: %s\n", analysis_failed(a) ? "FAIL" : "pass");
}

void eventlog_text_show(const struct analysis *a)
{
    const struct tl_eventlog *log = &a->log;
    printf("format: %s, %zu events, banks:",
           log->format == TL_EVENTLOG_CRYPTO_AGILE ? "crypto-agile" : "sha1", log->n_events);
    for (unsigned b = 0; b < log->n_banks; b++)
        printf(" %s", tl_alg_name(log->banks[b].alg) ? tl_alg_name(log->banks[b].alg) : "?");
    if (log->startup_locality >= 0)
        printf(", startup locality %d", log->startup_locality);
    putchar('\n');
    for (size_t i = 0; i < log->n_events; i++) {
        const struct tl_event *ev = &log->events[i];
        const char *tn = tl_event_type_name(ev->type);
        _cleanup_free_ char *desc = eventlog_describe(log, ev);
        printf("%4u PCR%-2u %-34s %-12s %s\n", ev->index, ev->pcr, tn ? tn : "UNKNOWN",
               tl_record_status_name(a->checks.status[i]), desc ? desc : "");
        for (unsigned b = 0; b < log->n_banks; b++) {
            const uint8_t *dg = tl_event_digest(log, ev, b);
            char hex[2 * TL_DIGEST_MAX + 1];
            if (!dg || (ev->index == 0 && log->format == TL_EVENTLOG_CRYPTO_AGILE))
                continue;
            tl_hex_encode(dg, log->banks[b].size, hex);
            printf("             %-7s %s\n", tl_alg_name(log->banks[b].alg), hex);
        }
    }
    print_findings(a);
    print_verdict(a);
}

void eventlog_text_replay(const struct analysis *a)
{
    for (unsigned b = 0; b < a->pcrs.n_banks; b++) {
        const struct tl_pcr_bank *bank = &a->pcrs.banks[b];
        const char *name = tl_alg_name(bank->alg);
        if (bank->unsupported) {
            printf("%s: not replayed (algorithm 0x%04x not supported)\n", name ? name : "?",
                   bank->alg);
            continue;
        }
        printf("%s:\n", name);
        for (int i = 0; i < TL_PCR_COUNT; i++) {
            char hex[2 * TL_DIGEST_MAX + 1];
            if (!(bank->mask & (1u << i)))
                continue;
            tl_hex_encode(bank->value[i], bank->size, hex);
            printf("  %2d: %s\n", i, hex);
        }
    }
    if (a->expect) {
        for (size_t i = 0; i < a->expect->n_mismatches; i++) {
            const struct tl_pcr_mismatch *m = &a->expect->mismatches[i];
            size_t size = tl_alg_digest_size(m->alg);
            char r[2 * TL_DIGEST_MAX + 1], e[2 * TL_DIGEST_MAX + 1];
            if (m->pcr < 0) {
                printf("MISMATCH %s: the log carries no such bank\n", tl_alg_name(m->alg));
                continue;
            }
            tl_hex_encode(m->replayed, size, r);
            tl_hex_encode(m->expected, size, e);
            printf("MISMATCH %s PCR %d: replayed %s, expected %s%s\n", tl_alg_name(m->alg), m->pcr,
                   r, e, m->uncovered ? " (the log never extends it)" : "");
        }
        if (a->expect->n_mismatches == 0)
            printf("expected values: all match\n");
        if (a->expect->not_covered) {
            printf("not covered by the log:");
            for (int i = 0; i < TL_PCR_COUNT; i++)
                if (a->expect->not_covered & (1u << i))
                    printf(" %d", i);
            putchar('\n');
        }
    }
    print_findings(a);
    print_verdict(a);
}

/* Prints a measured string on one line ("\n" for newlines). */
static void print_oneline(const char *s)
{
    for (; *s; s++)
        *s == '\n' ? fputs("\\n", stdout) : putchar(*s);
}

static const char *tristate(int v)
{
    return v < 0 ? "not measured" : v ? "on" : "off";
}

static void print_cert_line(const char *indent, const uint8_t *der, size_t len)
{
    struct tl_x509_info info;
    char fp[65];
    if (tl_x509_describe(der, len, &info, NULL) < 0) {
        printf("%s(not a DER certificate)\n", indent);
        return;
    }
    tl_hex_encode(info.sha256, 32, fp);
    printf("%s%s  sha256:%.16s...\n", indent, info.subject, fp);
    tl_x509_info_done(&info);
}

static void print_sb_variable(const char *label, const struct tl_sb_variable *v)
{
    if (!v->measured) {
        printf("  %-4s not measured\n", label);
        return;
    }
    size_t certs = 0, hashes = 0;
    for (size_t i = 0; i < v->lists.n_entries; i++)
        v->lists.entries[i].kind == TL_SIG_X509 ? certs++ : hashes++;
    printf("  %-4s %zu certificate(s), %zu hash(es)%s%s\n", label, certs, hashes,
           v->error[0] ? ", malformed: " : "", v->error);
    for (size_t i = 0; i < v->lists.n_entries; i++)
        if (v->lists.entries[i].kind == TL_SIG_X509)
            print_cert_line("         ", v->lists.entries[i].data, v->lists.entries[i].data_len);
}

void eventlog_text_state(const struct analysis *a)
{
    const struct tl_boot_state *bs = &a->state;
    const struct tl_eventlog *log = &a->log;
    printf("Secure Boot: %s\n", tristate(bs->secure_boot));
    printf("Keys:\n");
    print_sb_variable("PK", &bs->pk);
    print_sb_variable("KEK", &bs->kek);
    print_sb_variable("db", &bs->db);
    print_sb_variable("dbx", &bs->dbx);
    printf("Boot applications:\n");
    int sha256 = tl_eventlog_bank_index(log, TL_ALG_SHA256);
    int bank = sha256 >= 0 ? sha256 : 0;
    for (size_t i = 0; i < bs->n_apps; i++) {
        const struct tl_boot_app *app = &bs->apps[i];
        char hex[2 * TL_DIGEST_MAX + 1] = "";
        const uint8_t *dg = tl_event_digest(log, &log->events[app->event], (unsigned)bank);
        if (dg)
            tl_hex_encode(dg, log->banks[bank].size, hex);
        printf("  %zu. %-8s %s\n", i + 1, app->name, app->path ? app->path : "(no path)");
        printf("     %s %s (event %u%s)\n", tl_alg_name(log->banks[bank].alg), hex, app->event,
               app->n_events > 1 ? ", measured twice" : "");
        if (app->authority >= 0) {
            const struct tl_authority *au = &bs->authorities[app->authority];
            printf("     verified by %s %s%s:\n",
                   au->source == TL_AUTHORITY_SHIM ? "shim" : "firmware", au->variable,
                   app->authority_inferred ? " (already measured, inferred)" : "");
            if (au->cert)
                print_cert_line("       ", au->cert, au->cert_len);
        } else {
            printf("     no verifying authority measured\n");
        }
    }
    printf("Kernel command line: %s\n", bs->kernel_cmdline ? bs->kernel_cmdline : "(none)");
    for (size_t i = 0; i < bs->n_grub; i++) {
        const struct tl_grub_record *g = &bs->grub[i];
        static const char *const kinds[] = {"cmd", "cmdline", "modline", "file"};
        printf("  grub %-7s ", kinds[g->kind]);
        print_oneline(g->text);
        putchar('\n');
    }
    if (bs->n_mok) {
        printf("MOK variables:");
        for (size_t i = 0; i < bs->n_mok; i++)
            printf(" %s", bs->mok[i].name);
        putchar('\n');
    }
    for (size_t i = 0; i < bs->n_boot_vars; i++) {
        const struct tl_boot_variable *bv = &bs->boot_vars[i];
        printf("Boot variable %s", bv->name);
        if (bv->description)
            printf(": %s  %s", bv->description, bv->device_path ? bv->device_path : "");
        for (size_t k = 0; k < bv->n_order; k++)
            printf("%s%04X", k ? "," : ": ", bv->order[k]);
        putchar('\n');
    }
    printf("Components: %zu\n", bs->n_components);
    for (size_t i = 0; i < bs->n_components; i++) {
        const struct tl_component *c = &bs->components[i];
        printf("  PCR%-2u %-20s ", c->pcr, tl_component_kind_name(c->kind));
        print_oneline(c->name);
        putchar('\n');
    }
    print_findings(a);
    print_verdict(a);
}
