/* Record integrity checks; see eventcheck.h for what is checked and why. */
#include "tl/eventcheck.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl/efi.h"
#include "tl/util.h"

struct checker {
    const struct tl_eventlog *log;
    struct tl_hasher *h;
    struct tl_eventlog_checks *out;
    uint64_t hashed; /* bit b: bank b's digests are recomputed from the data */
    size_t capacity;
    bool uefi;           /* the log holds EV_EFI_* records: a UEFI boot */
    bool pcr7_separated; /* the PCR 7 separator has been seen */
};

__attribute__((format(printf, 3, 4))) static int
add_finding(struct checker *c, const struct tl_event *ev, const char *fmt, ...)
{
    struct tl_eventlog_checks *out = c->out;
    if (out->n_findings == c->capacity) {
        size_t cap = c->capacity ? c->capacity * 2 : 8;
        struct tl_record_finding *n = realloc(out->findings, cap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        out->findings = n;
        c->capacity = cap;
    }
    struct tl_record_finding *f = &out->findings[out->n_findings++];
    *f = (struct tl_record_finding){
        .event = ev->index, .pcr = ev->pcr, .type = ev->type, .offset = ev->offset};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->reason, sizeof(f->reason), fmt, ap);
    va_end(ap);
    out->status[ev->index] = TL_RECORD_FAILED;
    return 0;
}

/* Does every hashed bank's digest equal H(a)? Sets *bad_alg to the first
 * bank that differs. Banks we cannot hash are skipped (replay reports
 * them), and so are the banks the caller did not select (c->hashed). */
static int digests_match(struct checker *c, const struct tl_event *ev, const uint8_t *a,
                         size_t a_len, bool *match, uint16_t *bad_alg)
{
    const struct tl_eventlog *log = c->log;
    *match = true;
    for (unsigned b = 0; b < log->n_banks; b++) {
        const uint8_t *digest = tl_event_digest(log, ev, b);
        uint8_t want[TL_DIGEST_MAX];
        if (!digest || !(c->hashed & (1ull << b)))
            continue;
        int r = tl_hasher_digest(c->h, log->banks[b].alg, a, a_len, want);
        if (r == -EOPNOTSUPP)
            continue;
        if (r < 0)
            return r;
        if (memcmp(want, digest, log->banks[b].size) != 0) {
            *match = false;
            *bad_alg = log->banks[b].alg;
            return 0;
        }
    }
    return 0;
}

static const char *alg_label(uint16_t alg)
{
    return tl_alg_name(alg) ? tl_alg_name(alg) : "unknown-algorithm";
}

/* The digest must be the hash of `len` bytes at `p` (a part of the data). */
static int require_digest_of(struct checker *c, const struct tl_event *ev, const uint8_t *p,
                             size_t len, const char *what)
{
    bool match;
    uint16_t bad = 0;
    int r = digests_match(c, ev, p, len, &match, &bad);
    if (r < 0)
        return r;
    if (!match)
        return add_finding(c, ev, "%s digest is not the hash of %s", alg_label(bad), what);
    return 0;
}

/* grub 2.06 (grub-core/commands/tpm.c) logs "<prefix><string>\0" as the
 * event data and extends the hash of <string> alone. */
static const char *const grub_prefixes[] = {"grub_cmd: ", "kernel_cmdline: ", "module_cmdline: "};

static const char *grub_prefix(const uint8_t *d, size_t n)
{
    for (size_t i = 0; i < TL_ARRAY_SIZE(grub_prefixes); i++) {
        size_t l = strlen(grub_prefixes[i]);
        if (n >= l && memcmp(d, grub_prefixes[i], l) == 0)
            return grub_prefixes[i];
    }
    return NULL;
}

static int check_ipl(struct checker *c, const struct tl_event *ev)
{
    const uint8_t *d = tl_event_data(c->log, ev);
    size_t n = ev->data_size;
    bool match;
    uint16_t bad;
    const char *prefix = grub_prefix(d, n);
    if (prefix) {
        /* grub's own strings: the hash of the string without its prefix
         * (tried first: it is what grub does; the whole data would never
         * match and would cost a hash per bank). */
        size_t l = strlen(prefix);
        size_t body = n - l;
        if (body > 0 && d[n - 1] == '\0')
            body--;
        int r = digests_match(c, ev, d + l, body, &match, &bad);
        if (r < 0 || match)
            return r;
    }
    int r = digests_match(c, ev, d, n, &match, &bad);
    if (r < 0 || match)
        return r;
    if (prefix)
        return add_finding(c, ev, "%s digest is not the hash of the grub string it logs",
                           alg_label(bad));
    /* A file grub loaded (PCR 9), a MOK variable shim measured (PCR 14):
     * the digest is of content that is not in the log. */
    c->out->status[ev->index] = TL_RECORD_OPAQUE;
    return 0;
}

static int check_variable(struct checker *c, const struct tl_event *ev)
{
    const uint8_t *d = tl_event_data(c->log, ev);
    struct tl_efi_variable var;
    struct tl_error perr;
    if (tl_efi_variable_parse(d, ev->data_size, &var, &perr) < 0)
        return add_finding(c, ev, "%s", perr.message);
    if (ev->type != TL_EV_EFI_VARIABLE_BOOT)
        return require_digest_of(c, ev, d, ev->data_size, "its UEFI_VARIABLE_DATA");
    /* EV_EFI_VARIABLE_BOOT: PFP 1.05 says the whole UEFI_VARIABLE_DATA, EDK2
     * (and so most firmware) hashes only VariableData; BOOT2 fixed that.
     * Either binds the data we show. */
    bool match;
    uint16_t bad;
    int r = digests_match(c, ev, d, ev->data_size, &match, &bad);
    if (r < 0 || match)
        return r;
    return require_digest_of(c, ev, var.data, var.data_len,
                             "its UEFI_VARIABLE_DATA or its VariableData");
}

static int check_separator(struct checker *c, const struct tl_event *ev)
{
    const uint8_t *d = tl_event_data(c->log, ev);
    if (ev->data_size != 4)
        return add_finding(c, ev, "separator data is %u bytes, must be 4", ev->data_size);
    int r = require_digest_of(c, ev, d, 4, "its data");
    if (r < 0 || c->out->status[ev->index] == TL_RECORD_FAILED)
        return r;
    uint32_t v = tl_le32(d);
    /* PFP 3.3.2.2: a firmware separator (PCR 0-7) is 0, or 1 (all ones in
     * older firmware) when the pre-OS environment reports an error. OS
     * loaders separate their own PCRs with other values (Windows: "WBCL"). */
    if (v != 0 && ev->pcr < 8)
        return add_finding(c, ev, "separator value 0x%08x signals a pre-OS error", v);
    return 0;
}

/* Types whose digest may be of their data; when it is not, the record is
 * opaque rather than wrong (the spec leaves the content to the platform). */
static int check_maybe_self(struct checker *c, const struct tl_event *ev)
{
    bool match;
    uint16_t bad;
    int r = digests_match(c, ev, tl_event_data(c->log, ev), ev->data_size, &match, &bad);
    if (r < 0)
        return r;
    if (!match)
        c->out->status[ev->index] = TL_RECORD_OPAQUE;
    return 0;
}

/* Variables OVMF/EDK2 measure as EV_EFI_VARIABLE_DRIVER_CONFIG in PCR 7
 * (PFP 3.3.4.8). */
static bool secure_boot_variable(const struct tl_event *ev, const uint8_t *d)
{
    static const char *const names[] = {"SecureBoot", "PK",  "KEK",          "db",       "dbx",
                                        "dbt",        "dbr", "DeployedMode", "AuditMode"};
    struct tl_efi_variable var;
    if (tl_efi_variable_parse(d, ev->data_size, &var, NULL) < 0)
        return true; /* reported by the variable check */
    bool global = tl_guid_equal(&var.vendor, &TL_EFI_GLOBAL_VARIABLE_GUID);
    bool secdb = tl_guid_equal(&var.vendor, &TL_EFI_IMAGE_SECURITY_DB_GUID);
    for (size_t i = 0; i < TL_ARRAY_SIZE(names); i++)
        if (tl_efi_variable_name_is(&var, names[i]))
            return i >= 3 && i <= 6 ? secdb : global;
    return false;
}

/* Where a record may stand beyond its type's PCRs. A record's type is not
 * covered by its digest, so a relabelled record keeps the replay intact:
 * these rules make relabelling visible in the two PCRs the boot state reads.
 *  - PCR 4 of a UEFI boot holds the boot applications and the boot
 *    manager's actions and separator (PFP 3.3.4.5); an EV_IPL or
 *    EV_EVENT_TAG there would hide an application.
 *  - PCR 7: Secure Boot variables before the separator, authorities
 *    (and SPDM records) around it, nothing else (PFP 3.3.4.8); a relabelled
 *    authority would hide who verified an image.
 * Returns 1 when a finding was added. */
static int check_placement(struct checker *c, const struct tl_event *ev, const char *name)
{
    if (!c->uefi || ev->type == TL_EV_NO_ACTION)
        return 0;
    if (ev->pcr == 4) {
        switch (ev->type) {
        case TL_EV_EFI_BOOT_SERVICES_APPLICATION:
        case TL_EV_EFI_ACTION:
        case TL_EV_SEPARATOR:
        case TL_EV_OMIT_BOOT_DEVICE_EVENTS:
            return 0;
        default: {
            int r = add_finding(c, ev,
                                "%s in PCR 4 of a UEFI boot, where only boot applications, "
                                "actions and the separator belong",
                                name);
            return r < 0 ? r : 1;
        }
        }
    }
    if (ev->pcr != 7)
        return 0;
    int r = 0;
    switch (ev->type) {
    case TL_EV_SEPARATOR:
        c->pcr7_separated = true;
        return 0;
    case TL_EV_EFI_VARIABLE_AUTHORITY:
    case TL_EV_EFI_SPDM_DEVICE_POLICY:
    case TL_EV_EFI_SPDM_DEVICE_AUTHORITY:
        return 0;
    case TL_EV_EFI_ACTION: /* "UEFI Debug Mode" and the like, before the separator */
        if (!c->pcr7_separated)
            return 0;
        r = add_finding(c, ev, "EV_EFI_ACTION in PCR 7 after its separator");
        break;
    case TL_EV_EFI_VARIABLE_DRIVER_CONFIG:
        if (c->pcr7_separated)
            r = add_finding(c, ev,
                            "EV_EFI_VARIABLE_DRIVER_CONFIG in PCR 7 after its separator, "
                            "where only authorities belong");
        else if (!secure_boot_variable(ev, tl_event_data(c->log, ev)))
            r = add_finding(c, ev,
                            "EV_EFI_VARIABLE_DRIVER_CONFIG in PCR 7 for a variable that "
                            "is not a Secure Boot variable");
        else
            return 0;
        break;
    default:
        r = add_finding(c, ev,
                        "%s in PCR 7, where only Secure Boot variables and authorities "
                        "belong",
                        name);
    }
    return r < 0 ? r : 1;
}

static int check_record(struct checker *c, const struct tl_event *ev)
{
    const struct tl_eventlog *log = c->log;
    const char *name = tl_event_type_name(ev->type);
    int r;

    if (!name)
        return add_finding(c, ev, "unknown event type 0x%08x", ev->type);
    uint32_t pcrs = tl_event_type_pcrs(ev->type);
    if (log->cc) {
        /* A CC MR gathers several PCRs (UEFI 2.10, 38.4.1, TDX: RTMR0 =
         * PCR 1 and 7 (and 0), RTMR1 = PCR 2-6, RTMR2 = PCR 8-15): the type
         * must belong in one of them. Which one is not recorded, so the
         * PCR 4 / PCR 7 placement rules do not apply. */
        static const uint32_t mr_pcrs[] = {0, 0x83, 0x7c, 0xff00, 0xffff0000};
        uint32_t m = ev->pcr < TL_ARRAY_SIZE(mr_pcrs) ? mr_pcrs[ev->pcr] : 0;
        if (!(pcrs & m) && ev->type != TL_EV_NO_ACTION)
            return add_finding(c, ev, "%s is not measured into CC MR %u", name, ev->pcr);
    } else {
        bool allowed = ev->pcr < 32 ? (pcrs & (1u << ev->pcr)) != 0 : ev->type == TL_EV_NO_ACTION;
        if (!allowed)
            return add_finding(c, ev, "%s is not measured into PCR %u", name, ev->pcr);
        r = check_placement(c, ev, name);
        if (r != 0)
            return r < 0 ? r : 0;
    }

    if (ev->type == TL_EV_NO_ACTION) {
        c->out->status[ev->index] = TL_RECORD_NOT_EXTENDED;
        for (unsigned b = 0; b < log->n_banks; b++) {
            const uint8_t *digest = tl_event_digest(log, ev, b);
            if (digest && !tl_is_zero(digest, log->banks[b].size))
                return add_finding(c, ev, "EV_NO_ACTION with a non-zero %s digest",
                                   alg_label(log->banks[b].alg));
        }
        return 0;
    }
    for (unsigned b = 0; b < log->n_banks; b++)
        if (!tl_event_digest(log, ev, b))
            return add_finding(c, ev, "no %s digest although the header declares that bank",
                               alg_label(log->banks[b].alg));

    switch (ev->type) {
    case TL_EV_SEPARATOR:
        return check_separator(c, ev);
    case TL_EV_EFI_VARIABLE_DRIVER_CONFIG:
    case TL_EV_EFI_VARIABLE_AUTHORITY:
    case TL_EV_EFI_VARIABLE_BOOT:
    case TL_EV_EFI_VARIABLE_BOOT2:
        return check_variable(c, ev);
    case TL_EV_ACTION:
    case TL_EV_EFI_ACTION:
    case TL_EV_S_CRTM_VERSION:
    case TL_EV_EFI_GPT_EVENT:
    case TL_EV_EFI_GPT_EVENT2:
    case TL_EV_OMIT_BOOT_DEVICE_EVENTS:
        return require_digest_of(c, ev, tl_event_data(log, ev), ev->data_size, "its data");
    case TL_EV_IPL:
        return check_ipl(c, ev);
    case TL_EV_EVENT_TAG:
    case TL_EV_COMPACT_HASH:
    case TL_EV_PLATFORM_CONFIG_FLAGS:
    case TL_EV_TABLE_OF_DEVICES:
    case TL_EV_NONHOST_CONFIG:
    case TL_EV_NONHOST_INFO:
    case TL_EV_EFI_SPDM_DEVICE_POLICY:
    case TL_EV_EFI_SPDM_DEVICE_AUTHORITY:
        return check_maybe_self(c, ev);
    default:
        c->out->status[ev->index] = TL_RECORD_OPAQUE;
        r = 0;
    }
    return r;
}

int tl_eventlog_check(const struct tl_eventlog *log, struct tl_hasher *h,
                      struct tl_eventlog_checks *out, struct tl_error *err)
{
    return tl_eventlog_check_banks(log, h, NULL, 0, out, err);
}

int tl_eventlog_check_banks(const struct tl_eventlog *log, struct tl_hasher *h,
                            const uint16_t *algs, size_t n_algs, struct tl_eventlog_checks *out,
                            struct tl_error *err)
{
    struct tl_hasher *own = NULL;
    int r = 0;

    *out = (struct tl_eventlog_checks){0};
    out->status = calloc(log->n_events ? log->n_events : 1, 1);
    if (!h)
        h = own = tl_hasher_new();
    if (!out->status || !h) {
        r = tl_error_set_nopos(err, -ENOMEM, "out of memory");
        goto out;
    }
    struct checker c = {.log = log, .h = h, .out = out};
    for (unsigned b = 0; b < log->n_banks && b < 64; b++) {
        bool want = !algs;
        for (size_t i = 0; i < n_algs && !want; i++)
            want = algs[i] == log->banks[b].alg;
        if (want)
            c.hashed |= 1ull << b;
    }
    for (size_t i = 0; i < log->n_events && !c.uefi; i++)
        c.uefi = log->events[i].type >= TL_EV_EFI_EVENT_BASE &&
                 tl_event_type_name(log->events[i].type) != NULL;
    /* Record 0 of a crypto-agile log is the Spec ID header, checked by the
     * parser. */
    size_t first = log->format == TL_EVENTLOG_CRYPTO_AGILE ? 1 : 0;
    if (first)
        out->status[0] = TL_RECORD_NOT_EXTENDED;
    for (size_t i = first; i < log->n_events; i++) {
        r = check_record(&c, &log->events[i]);
        if (r < 0) {
            r = tl_error_set(err, r, log->events[i].offset, "event %zu: check failed", i);
            goto out;
        }
    }
out:
    tl_hasher_free(own);
    if (r < 0)
        tl_eventlog_checks_done(out);
    return r;
}

void tl_eventlog_checks_done(struct tl_eventlog_checks *c)
{
    free(c->status);
    free(c->findings);
    *c = (struct tl_eventlog_checks){0};
}

const char *tl_record_status_name(enum tl_record_status s)
{
    switch (s) {
    case TL_RECORD_VERIFIED:
        return "verified";
    case TL_RECORD_OPAQUE:
        return "opaque";
    case TL_RECORD_NOT_EXTENDED:
        return "not-extended";
    case TL_RECORD_FAILED:
        return "failed";
    }
    return "?";
}
