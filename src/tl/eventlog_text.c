/* Text forms of `tl eventlog` for people; scripts use --json. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eventlog_cmd.h"
#include "tl/digest.h"
#include "tl/efi.h"
#include "tl/util.h"
#include "tl/x509.h"

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
