/* Boot state extraction: one pass over the records, classifying each
 * extended record into a component and reading the meaning of the ones whose
 * data is bound to their digest. See bootstate.h.
 *
 * Sources for the shapes read here:
 *  - PFP 1.05 rev 23: 3.3.4 (PCR usage), 10.4.4 (UEFI_VARIABLE_DATA),
 *    10.2.3 (UEFI_IMAGE_LOAD_EVENT), 10.4.2 (UEFI_PLATFORM_FIRMWARE_BLOB(2));
 *  - shim 15.x: MokList/MokListX/MokListTrusted as EV_IPL in PCR 14, its
 *    verification authorities and SbatLevel as EV_EFI_VARIABLE_AUTHORITY;
 *  - grub 2.06: "grub_cmd: " / "kernel_cmdline: " strings in PCR 8, files
 *    in PCR 9;
 *  - Linux EFI stub: EV_EVENT_TAG 0x8F3B22ED (initrd) and 0x8F3B22EC (load
 *    options) in PCR 9. */
#include "tl/bootstate.h"

#include <ctype.h>
#include <errno.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tl/util.h"

#define LINUX_EVENT_TAG_LOAD_OPTIONS 0x8F3B22ECu
#define LINUX_EVENT_TAG_INITRD       0x8F3B22EDu

/* An application's name in the tree of names given so far (tsearch, a
 * balanced tree: O(log n) comparisons whatever the names, where a hash table
 * could be flooded by names chosen to collide). */
struct app_name {
    const char *name;   /* the application's, not owned */
    size_t next_suffix; /* the next "#N" to try for a name equal to this one */
};

struct extractor {
    const struct tl_eventlog *log;
    const struct tl_eventlog_checks *checks;
    struct tl_boot_state *bs;
    size_t cap_components, cap_authorities, cap_apps, cap_grub, cap_mok, cap_boot_vars,
        cap_separators;
    size_t authority_mark;    /* authorities before this index precede the last app */
    int last_verifier;        /* the last authority that verifies images, or -1 */
    const char *pending_file; /* grub's last PCR 9 file, for the next app */
    bool shim_seen;
    void *names;                /* tsearch tree of struct app_name */
    struct app_name *name_pool; /* one per record at most: never moves */
    size_t n_names;
};

/* Grows *array (of elem_size) to hold one more; returns the new slot. */
static void *grow(void *array_ptr, size_t *n, size_t *cap, size_t elem_size)
{
    void **array = array_ptr;
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 8;
        void *p = realloc(*array, c * elem_size);
        if (!p)
            return NULL;
        *array = p;
        *cap = c;
    }
    void *slot = (char *)*array + (*n)++ * elem_size;
    memset(slot, 0, elem_size);
    return slot;
}

static void shrink(void *array_ptr, size_t n, size_t elem_size)
{
    void **array = array_ptr;
    if (!*array || n == 0)
        return;
    void *p = realloc(*array, n * elem_size);
    if (p)
        *array = p;
}

static bool verified(const struct extractor *x, const struct tl_event *ev)
{
    return x->checks->status[ev->index] == TL_RECORD_VERIFIED;
}

/* Printable copy of a firmware string (ASCII, NUL-terminated or not). */
static char *printable(const uint8_t *d, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n && d[i]; i++)
        s[o++] = (d[i] >= 0x20 && d[i] < 0x7f) || d[i] == '\n' || d[i] == '\t' ? (char)d[i] : '?';
    s[o] = '\0';
    return s;
}

static int add_component(struct extractor *x, const struct tl_event *ev,
                         enum tl_component_kind kind, char *name_owned)
{
    struct tl_boot_state *bs = x->bs;
    if (!name_owned)
        return -ENOMEM;
    struct tl_component *c =
        grow(&bs->components, &bs->n_components, &x->cap_components, sizeof(*c));
    if (!c) {
        free(name_owned);
        return -ENOMEM;
    }
    *c = (struct tl_component){.name = name_owned,
                               .kind = kind,
                               .pcr = ev->pcr,
                               .event = ev->index,
                               .n_events = 1,
                               .events = {ev->index}};
    bs->component_of_event[ev->index] = (int32_t)(bs->n_components - 1);
    return (int)(bs->n_components - 1);
}

static void component_add_event(struct extractor *x, uint32_t component, const struct tl_event *ev)
{
    struct tl_component *c = &x->bs->components[component];
    if (c->n_events < TL_ARRAY_SIZE(c->events))
        c->events[c->n_events] = ev->index;
    c->n_events++;
    x->bs->component_of_event[ev->index] = (int32_t)component;
}

static char *name_of_type(const struct tl_event *ev)
{
    const char *n = tl_event_type_name(ev->type);
    char buf[40];
    if (!n) {
        snprintf(buf, sizeof(buf), "unknown-type-0x%08x", ev->type);
        n = buf;
    }
    return strdup(n);
}

/* ---- Secure Boot variables (PCR 7) ---- */

static int read_sb_variable(struct extractor *x, const struct tl_event *ev,
                            const struct tl_efi_variable *var, const char *name)
{
    struct tl_boot_state *bs = x->bs;
    bool global = tl_guid_equal(&var->vendor, &TL_EFI_GLOBAL_VARIABLE_GUID);
    bool secdb = tl_guid_equal(&var->vendor, &TL_EFI_IMAGE_SECURITY_DB_GUID);
    if (ev->pcr != 7 || !(global || secdb))
        return 0;

    int *flag = NULL;
    if (global && strcmp(name, "SecureBoot") == 0)
        flag = &bs->secure_boot;
    else if (global && strcmp(name, "DeployedMode") == 0)
        flag = &bs->deployed_mode;
    else if (global && strcmp(name, "AuditMode") == 0)
        flag = &bs->audit_mode;
    else if (global && strcmp(name, "SetupMode") == 0)
        flag = &bs->setup_mode;
    if (flag) {
        /* One byte, 1 = on (UEFI 2.10, 3.3). Empty means not set: off. A
         * second measurement that disagrees makes the state unknown. */
        int v = var->data_len >= 1 && var->data[0] == 1 ? 1 : 0;
        if (var->data_len > 1)
            v = 0;
        *flag = (*flag == -1 || *flag == v) ? v : -1;
        return 0;
    }

    struct tl_sb_variable *sv = NULL;
    if (global && strcmp(name, "PK") == 0)
        sv = &bs->pk;
    else if (global && strcmp(name, "KEK") == 0)
        sv = &bs->kek;
    else if (secdb && strcmp(name, "db") == 0)
        sv = &bs->db;
    else if (secdb && strcmp(name, "dbx") == 0)
        sv = &bs->dbx;
    if (!sv || sv->measured)
        return 0;
    sv->measured = true;
    sv->event = ev->index;
    sv->data = var->data;
    sv->data_len = var->data_len;
    struct tl_error perr;
    int r = tl_sig_db_parse(var->data, var->data_len, &sv->lists, &perr);
    if (r == -ENOMEM)
        return r;
    if (r < 0)
        snprintf(sv->error, sizeof(sv->error), "%.*s", (int)sizeof(sv->error) - 1, perr.message);
    return 0;
}

static int on_variable(struct extractor *x, const struct tl_event *ev)
{
    const uint8_t *d = tl_event_data(x->log, ev);
    struct tl_efi_variable var;
    enum tl_component_kind kind =
        ev->type == TL_EV_EFI_VARIABLE_DRIVER_CONFIG
            ? (ev->pcr == 7 ? TL_COMPONENT_SECUREBOOT_VARIABLE : TL_COMPONENT_FIRMWARE_CONFIG)
            : TL_COMPONENT_BOOT_VARIABLE;
    if (tl_efi_variable_parse(d, ev->data_size, &var, NULL) < 0)
        return add_component(x, ev, kind, name_of_type(ev));
    _cleanup_free_ char *name = tl_utf16le_to_utf8(var.name_utf16, var.name_len);
    if (!name)
        return -ENOMEM;
    int r = add_component(x, ev, kind, strdup(name));
    if (r < 0 || !verified(x, ev))
        return r;
    if (ev->type == TL_EV_EFI_VARIABLE_DRIVER_CONFIG)
        return read_sb_variable(x, ev, &var, name);

    /* Boot variables (PCR 1). */
    struct tl_boot_state *bs = x->bs;
    struct tl_boot_variable *bv =
        grow(&bs->boot_vars, &bs->n_boot_vars, &x->cap_boot_vars, sizeof(*bv));
    if (!bv)
        return -ENOMEM;
    bv->event = ev->index;
    bv->name = TL_TAKE_PTR(name);
    if (strcmp(bv->name, "BootOrder") == 0) {
        for (size_t i = 0; i + 1 < var.data_len && bv->n_order < TL_ARRAY_SIZE(bv->order); i += 2)
            bv->order[bv->n_order++] = tl_le16(var.data + i);
    } else if (strncmp(bv->name, "Boot", 4) == 0) {
        struct tl_load_option opt;
        if (tl_load_option_parse(var.data, var.data_len, &opt, NULL) == 0) {
            bv->description = TL_TAKE_PTR(opt.description);
            tl_device_path_to_text(opt.file_path, opt.file_path_len, &bv->device_path, NULL);
            tl_load_option_done(&opt);
        }
    }
    return 0;
}

/* ---- Authorities (PCR 7) ---- */

static bool is_der_sequence(const uint8_t *d, size_t n)
{
    return n >= 4 && d[0] == 0x30 && d[1] == 0x82;
}

/* An authority that verifies images (not shim's SbatLevel policy). */
static bool authority_verifies(const struct tl_authority *a)
{
    return strcmp(a->variable, "SbatLevel") != 0;
}

static int on_authority(struct extractor *x, const struct tl_event *ev)
{
    const uint8_t *d = tl_event_data(x->log, ev);
    struct tl_efi_variable var;
    if (tl_efi_variable_parse(d, ev->data_size, &var, NULL) < 0)
        return add_component(x, ev, TL_COMPONENT_AUTHORITY, name_of_type(ev));
    _cleanup_free_ char *name = tl_utf16le_to_utf8(var.name_utf16, var.name_len);
    char *cname = NULL;
    if (!name || asprintf(&cname, "authority:%s", name) < 0)
        return -ENOMEM;
    int r = add_component(x, ev, TL_COMPONENT_AUTHORITY, cname);
    if (r < 0 || !verified(x, ev))
        return r;

    struct tl_boot_state *bs = x->bs;
    struct tl_authority *a =
        grow(&bs->authorities, &bs->n_authorities, &x->cap_authorities, sizeof(*a));
    if (!a)
        return -ENOMEM;
    bool shim = tl_guid_equal(&var.vendor, &TL_SHIM_LOCK_GUID) || strcmp(name, "Shim") == 0;
    *a = (struct tl_authority){
        .event = ev->index,
        .vendor = var.vendor,
        .source = shim ? TL_AUTHORITY_SHIM : TL_AUTHORITY_FIRMWARE,
        .data = var.data,
        .data_len = var.data_len,
    };
    a->variable = TL_TAKE_PTR(name);
    if (shim)
        x->shim_seen = true;
    if (authority_verifies(a))
        x->last_verifier = (int)(bs->n_authorities - 1);
    /* PFP 3.3.4.8: the EFI_SIGNATURE_DATA (owner + entry) of the db entry
     * used; shim logs its vendor certificate either bare ("Shim") or as
     * the MokListRT entry it mirrors. */
    if (var.data_len > 16 && strcmp(a->variable, "SbatLevel") != 0 &&
        !is_der_sequence(var.data, var.data_len)) {
        a->is_signature_data = true;
        a->owner = tl_guid_read(var.data);
        if (is_der_sequence(var.data + 16, var.data_len - 16)) {
            a->cert = var.data + 16;
            a->cert_len = var.data_len - 16;
        }
    } else if (is_der_sequence(var.data, var.data_len)) {
        a->cert = var.data;
        a->cert_len = var.data_len;
    }
    return 0;
}

/* ---- Boot applications (PCR 4) ---- */

static const char *basename_of(const char *path)
{
    const char *b = path;
    for (const char *p = path; *p; p++)
        if (*p == '\\' || *p == '/')
            b = p + 1;
    return b;
}

static char *app_name(struct extractor *x, const char *path, size_t app_index, bool from_grub_file)
{
    if (!path)
        return strdup(app_index == 0 ? "bootloader" : "application");
    const char *base = basename_of(path);
    if (strncasecmp(base, "shim", 4) == 0)
        return strdup("shim");
    if (strncasecmp(base, "grub", 4) == 0)
        return strdup("grub");
    if (strncasecmp(base, "mm", 2) == 0 && strcasestr(base, ".efi"))
        return strdup("mokmanager");
    if (strncasecmp(base, "fb", 2) == 0 && strcasestr(base, ".efi"))
        return strdup("fallback");
    if (strncasecmp(base, "systemd-boot", 12) == 0)
        return strdup("systemd-boot");
    if (strcasestr(base, "vmlinuz") || strcasestr(base, "bzimage") || from_grub_file ||
        strcasestr(path, "\\EFI\\Linux\\"))
        return strdup("kernel");
    /* The removable-media path of the first stage is shim when shim's own
     * measurements follow (decided again once the log is read). */
    if (app_index == 0 && strncasecmp(base, "boot", 4) == 0)
        return strdup(x->shim_seen ? "shim" : "bootloader");
    return strdup(base);
}

static bool same_digests(const struct tl_eventlog *log, const struct tl_event *a,
                         const struct tl_event *b)
{
    for (unsigned i = 0; i < log->n_banks; i++) {
        const uint8_t *da = tl_event_digest(log, a, i), *db = tl_event_digest(log, b, i);
        if (!da || !db || memcmp(da, db, log->banks[i].size) != 0)
            return false;
    }
    return true;
}

static int name_compare(const void *a, const void *b)
{
    return strcmp(((const struct app_name *)a)->name, ((const struct app_name *)b)->name);
}

/* Component names are unique among applications: the second "kernel" is
 * "kernel#2", the third "kernel#3". A suffixed name that is already taken
 * (a file really called "kernel#2") moves on to the next number. Each name
 * remembers the next number to try, so every failed try lands on a
 * different name given earlier: at most one failed try per application in
 * all, each O(log n) in the tree of names. The final name enters the tree
 * (it points to *name, which the caller hands on to the application);
 * *name is replaced when renamed. */
static int unique_app_name(struct extractor *x, char **name)
{
    struct app_name *mine = &x->name_pool[x->n_names];
    *mine = (struct app_name){.name = *name, .next_suffix = 2};
    struct app_name **in = tsearch(mine, &x->names, name_compare);
    x->bs->work++;
    if (!in)
        return -ENOMEM;
    if (*in == mine) {
        x->n_names++;
        return 0;
    }
    struct app_name *same = *in;
    size_t size = strlen(*name) + 22; /* "#" and a size_t */
    _cleanup_free_ char *n2 = malloc(size);
    if (!n2)
        return -ENOMEM;
    mine->name = n2;
    for (;;) {
        snprintf(n2, size, "%s#%zu", *name, same->next_suffix++);
        x->bs->work++;
        if (!(in = tsearch(mine, &x->names, name_compare)))
            return -ENOMEM;
        if (*in == mine)
            break;
    }
    x->n_names++;
    free(*name);
    *name = TL_TAKE_PTR(n2);
    return 0;
}

static int on_application(struct extractor *x, const struct tl_event *ev)
{
    struct tl_boot_state *bs = x->bs;
    const uint8_t *d = tl_event_data(x->log, ev);
    _cleanup_free_ char *path = NULL, *dp_text = NULL;
    uint64_t image_length = 0;

    /* UEFI_IMAGE_LOAD_EVENT: location, length, link address, device path
     * length (all UINT64), device path. Not bound by the digest (which is
     * the image's), so it only names things. */
    if (ev->data_size >= 32) {
        image_length = tl_le64(d + 8);
        uint64_t dp_len = tl_le64(d + 24);
        if (dp_len > 0 && dp_len <= ev->data_size - 32) {
            tl_device_path_to_text(d + 32, dp_len, &dp_text, NULL);
            tl_device_path_file(d + 32, dp_len, &path, NULL);
        }
    }
    if (ev->pcr != 4) {
        /* PCR 2: applications from option ROMs. */
        return add_component(x, ev, TL_COMPONENT_FIRMWARE,
                             strdup(path      ? path
                                    : dp_text ? dp_text
                                              : "option-rom-application"));
    }

    /* shim measures the kernel, then LoadImage measures it again: the same
     * image, one component. */
    if (bs->n_apps > 0 && !path) {
        struct tl_boot_app *prev = &bs->apps[bs->n_apps - 1];
        if (same_digests(x->log, &x->log->events[prev->event], ev)) {
            prev->n_events++;
            component_add_event(x, prev->component, ev);
            return 0;
        }
    }

    bool from_grub_file = false;
    if (!path && x->pending_file) {
        path = strdup(x->pending_file);
        from_grub_file = true;
        if (!path)
            return -ENOMEM;
    }
    x->pending_file = NULL;

    _cleanup_free_ char *name = app_name(x, path, bs->n_apps, from_grub_file);
    if (!name)
        return -ENOMEM;
    int r = unique_app_name(x, &name);
    if (r < 0)
        return r;

    int comp = add_component(x, ev, TL_COMPONENT_BOOT_APPLICATION, strdup(name));
    if (comp < 0)
        return comp;
    struct tl_boot_app *app = grow(&bs->apps, &bs->n_apps, &x->cap_apps, sizeof(*app));
    if (!app)
        return -ENOMEM;
    *app = (struct tl_boot_app){
        .event = ev->index,
        .n_events = 1,
        .name = TL_TAKE_PTR(name),
        .path = TL_TAKE_PTR(path),
        .device_path = TL_TAKE_PTR(dp_text),
        .image_length = image_length,
        .authority = -1,
        .component = (uint32_t)comp,
    };
    /* The authority measured since the previous application verified this
     * one; none means it was already measured (PFP logs each once), so the
     * last one used applies. Either way it is the last verifying authority
     * so far, kept as they come (no search back: O(1) per application). */
    if (x->last_verifier >= 0) {
        app->authority = x->last_verifier;
        app->authority_inferred = (size_t)x->last_verifier < x->authority_mark;
    }
    x->authority_mark = bs->n_authorities;
    return 0;
}

/* ---- EV_IPL: grub strings and files, shim's MOK variables ---- */

/* ASCII text in UTF-16LE: every odd byte of the first characters is zero. */
static bool looks_utf16(const uint8_t *d, size_t n)
{
    if (n < 4)
        return false;
    for (size_t i = 0; i + 1 < n && i < 16; i += 2)
        if (d[i + 1] != 0 || (d[i] == 0 && i + 2 < n))
            return false;
    return true;
}

static int on_ipl(struct extractor *x, const struct tl_event *ev)
{
    struct tl_boot_state *bs = x->bs;
    const uint8_t *d = tl_event_data(x->log, ev);
    static const struct {
        const char *prefix;
        enum tl_grub_kind kind;
    } grub_prefixes[] = {{"grub_cmd: ", TL_GRUB_COMMAND},
                         {"kernel_cmdline: ", TL_GRUB_KERNEL_CMDLINE},
                         {"module_cmdline: ", TL_GRUB_MODULE_CMDLINE}};

    if (ev->pcr == 14) {
        _cleanup_free_ char *name = printable(d, ev->data_size);
        int r = add_component(x, ev, TL_COMPONENT_MOK_VARIABLE, name ? strdup(name) : NULL);
        if (r < 0)
            return r;
        x->shim_seen = true;
        struct tl_mok_record *m = grow(&bs->mok, &bs->n_mok, &x->cap_mok, sizeof(*m));
        if (!m)
            return -ENOMEM;
        *m = (struct tl_mok_record){.event = ev->index, .name = TL_TAKE_PTR(name)};
        return 0;
    }
    /* systemd-boot and sd-stub measure the kernel command line as UTF-16
     * (PCR 8 in older systemd-boot, PCR 12 since v251). */
    if ((ev->pcr == 8 || ev->pcr == 12) && looks_utf16(d, ev->data_size)) {
        int r = add_component(x, ev, TL_COMPONENT_KERNEL_CMDLINE, strdup("kernel-cmdline"));
        if (r < 0 || !verified(x, ev))
            return r;
        char *cmdline = tl_utf16le_to_utf8(d, ev->data_size / 2);
        if (!cmdline)
            return -ENOMEM;
        free(bs->kernel_cmdline);
        bs->kernel_cmdline = cmdline;
        bs->kernel_cmdline_event = ev->index;
        return 0;
    }
    if (ev->pcr != 8 && ev->pcr != 9)
        return add_component(x, ev, TL_COMPONENT_OTHER, printable(d, ev->data_size));

    enum tl_grub_kind kind = TL_GRUB_FILE;
    size_t skip = 0;
    for (size_t i = 0; i < TL_ARRAY_SIZE(grub_prefixes); i++) {
        size_t l = strlen(grub_prefixes[i].prefix);
        if (ev->data_size >= l && memcmp(d, grub_prefixes[i].prefix, l) == 0) {
            kind = grub_prefixes[i].kind;
            skip = l;
        }
    }
    _cleanup_free_ char *text = printable(d + skip, ev->data_size - skip);
    if (!text)
        return -ENOMEM;
    enum tl_component_kind ckind = kind == TL_GRUB_FILE ? TL_COMPONENT_BOOT_FILE
                                   : kind == TL_GRUB_KERNEL_CMDLINE
                                       ? TL_COMPONENT_KERNEL_CMDLINE
                                       : TL_COMPONENT_BOOTLOADER_COMMAND;
    /* Commands and files are named by their text: one copy, owned by the
     * component, shared with the grub record. */
    bool named_by_text = ckind != TL_COMPONENT_KERNEL_CMDLINE;
    int r =
        add_component(x, ev, ckind, named_by_text ? TL_TAKE_PTR(text) : strdup("kernel-cmdline"));
    if (r < 0)
        return r;
    const char *shared = bs->components[r].name;
    /* A file's name is not bound by its digest (which is of the file); a
     * grub string is, once verified. */
    if (kind != TL_GRUB_FILE && !verified(x, ev))
        return 0;
    struct tl_grub_record *g = grow(&bs->grub, &bs->n_grub, &x->cap_grub, sizeof(*g));
    if (!g)
        return -ENOMEM;
    *g = (struct tl_grub_record){.event = ev->index, .kind = kind};
    if (named_by_text) {
        g->text = shared;
    } else {
        g->text_owned = TL_TAKE_PTR(text);
        g->text = g->text_owned;
    }
    if (kind == TL_GRUB_FILE)
        x->pending_file = g->text;
    if (kind == TL_GRUB_KERNEL_CMDLINE) {
        free(bs->kernel_cmdline);
        bs->kernel_cmdline = strdup(g->text);
        bs->kernel_cmdline_event = ev->index;
        if (!bs->kernel_cmdline)
            return -ENOMEM;
    }
    return 0;
}

/* Linux EFI stub tagged events (PCR 9). */
static int on_event_tag(struct extractor *x, const struct tl_event *ev)
{
    const uint8_t *d = tl_event_data(x->log, ev);
    if (ev->data_size >= 8 && tl_le32(d + 4) <= ev->data_size - 8) {
        uint32_t id = tl_le32(d), n = tl_le32(d + 4);
        if (id == LINUX_EVENT_TAG_INITRD)
            return add_component(x, ev, TL_COMPONENT_BOOT_FILE, strdup("initrd"));
        if (id == LINUX_EVENT_TAG_LOAD_OPTIONS) {
            int r = add_component(x, ev, TL_COMPONENT_KERNEL_CMDLINE, strdup("kernel-cmdline"));
            if (r < 0)
                return r;
            (void)n;
            return 0;
        }
    }
    return add_component(x, ev, TL_COMPONENT_OTHER, name_of_type(ev));
}

static int on_firmware_blob(struct extractor *x, const struct tl_event *ev)
{
    const uint8_t *d = tl_event_data(x->log, ev);
    char *name = NULL;
    if (ev->type == TL_EV_EFI_PLATFORM_FIRMWARE_BLOB2 && ev->data_size >= 1 &&
        d[0] <= ev->data_size - 1 && d[0] > 0) {
        name = printable(d + 1, d[0]);
    } else if (ev->data_size >= 16) {
        if (asprintf(&name, "firmware-blob@0x%llx", (unsigned long long)tl_le64(d)) < 0)
            name = NULL;
    } else {
        name = name_of_type(ev);
    }
    return add_component(x, ev, TL_COMPONENT_FIRMWARE, name);
}

static int on_separator(struct extractor *x, const struct tl_event *ev)
{
    struct tl_boot_state *bs = x->bs;
    int r = add_component(x, ev, TL_COMPONENT_SEPARATOR, strdup("separator"));
    if (r < 0 || ev->data_size != 4)
        return r;
    struct tl_separator *s =
        grow(&bs->separators, &bs->n_separators, &x->cap_separators, sizeof(*s));
    if (!s)
        return -ENOMEM;
    *s = (struct tl_separator){
        .event = ev->index, .pcr = ev->pcr, .value = tl_le32(tl_event_data(x->log, ev))};
    return 0;
}

static int on_record(struct extractor *x, const struct tl_event *ev)
{
    const uint8_t *d = tl_event_data(x->log, ev);
    switch (ev->type) {
    case TL_EV_EFI_VARIABLE_DRIVER_CONFIG:
    case TL_EV_EFI_VARIABLE_BOOT:
    case TL_EV_EFI_VARIABLE_BOOT2:
        return on_variable(x, ev);
    case TL_EV_EFI_VARIABLE_AUTHORITY:
        return on_authority(x, ev);
    case TL_EV_EFI_BOOT_SERVICES_APPLICATION:
        return on_application(x, ev);
    case TL_EV_IPL:
        return on_ipl(x, ev);
    case TL_EV_EVENT_TAG:
        return on_event_tag(x, ev);
    case TL_EV_SEPARATOR:
        return on_separator(x, ev);
    case TL_EV_EFI_ACTION:
    case TL_EV_ACTION:
        return add_component(x, ev, TL_COMPONENT_ACTION, printable(d, ev->data_size));
    case TL_EV_EFI_PLATFORM_FIRMWARE_BLOB:
    case TL_EV_EFI_PLATFORM_FIRMWARE_BLOB2:
        return on_firmware_blob(x, ev);
    case TL_EV_S_CRTM_VERSION:
        return add_component(x, ev, TL_COMPONENT_FIRMWARE, strdup("crtm-version"));
    case TL_EV_S_CRTM_CONTENTS:
        return add_component(x, ev, TL_COMPONENT_FIRMWARE, strdup("crtm"));
    case TL_EV_POST_CODE:
    case TL_EV_POST_CODE2:
    case TL_EV_EFI_HCRTM_EVENT:
    case TL_EV_EFI_BOOT_SERVICES_DRIVER:
    case TL_EV_EFI_RUNTIME_SERVICES_DRIVER:
    case TL_EV_NONHOST_CODE:
    case TL_EV_EFI_SPDM_FIRMWARE_BLOB:
        return add_component(x, ev, TL_COMPONENT_FIRMWARE, name_of_type(ev));
    case TL_EV_EFI_GPT_EVENT:
    case TL_EV_EFI_GPT_EVENT2:
        return add_component(x, ev, TL_COMPONENT_FIRMWARE_CONFIG, strdup("gpt"));
    case TL_EV_EFI_HANDOFF_TABLES:
    case TL_EV_EFI_HANDOFF_TABLES2:
        return add_component(x, ev, TL_COMPONENT_FIRMWARE_CONFIG, strdup("handoff-tables"));
    case TL_EV_CPU_MICROCODE:
    case TL_EV_PLATFORM_CONFIG_FLAGS:
    case TL_EV_TABLE_OF_DEVICES:
    case TL_EV_NONHOST_CONFIG:
    case TL_EV_NONHOST_INFO:
    case TL_EV_EFI_SPDM_FIRMWARE_CONFIG:
        return add_component(x, ev, TL_COMPONENT_FIRMWARE_CONFIG, name_of_type(ev));
    default:
        return add_component(x, ev, TL_COMPONENT_OTHER, name_of_type(ev));
    }
}

static void keep_name(void *node)
{
    (void)node; /* in name_pool */
}

static void extractor_done(struct extractor *x)
{
    tdestroy(x->names, keep_name);
    x->names = NULL;
    free(x->name_pool);
    x->name_pool = NULL;
}

int tl_boot_state_extract(const struct tl_eventlog *log, const struct tl_eventlog_checks *checks,
                          struct tl_boot_state *bs, struct tl_error *err)
{
    *bs = (struct tl_boot_state){
        .secure_boot = -1, .deployed_mode = -1, .audit_mode = -1, .setup_mode = -1};
    bs->component_of_event = malloc((log->n_events ? log->n_events : 1) * sizeof(int32_t));
    if (!bs->component_of_event)
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < log->n_events; i++)
        bs->component_of_event[i] = -1;

    struct extractor x = {.log = log, .checks = checks, .bs = bs, .last_verifier = -1};
    x.name_pool = malloc((log->n_events ? log->n_events : 1) * sizeof(*x.name_pool));
    if (!x.name_pool) {
        tl_boot_state_done(bs);
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < log->n_events; i++) {
        const struct tl_event *ev = &log->events[i];
        bs->work++;
        if (ev->type == TL_EV_NO_ACTION || (i == 0 && log->format == TL_EVENTLOG_CRYPTO_AGILE))
            continue;
        int r = on_record(&x, ev);
        if (r < 0) {
            extractor_done(&x);
            tl_boot_state_done(bs);
            return tl_error_set(err, r, ev->offset, "event %u: out of memory", ev->index);
        }
    }
    extractor_done(&x);
    /* Give back the slack of the doubling growth: a verifier holds a boot
     * state per node. */
    shrink(&bs->components, bs->n_components, sizeof(*bs->components));
    shrink(&bs->grub, bs->n_grub, sizeof(*bs->grub));
    shrink(&bs->authorities, bs->n_authorities, sizeof(*bs->authorities));
    shrink(&bs->apps, bs->n_apps, sizeof(*bs->apps));
    shrink(&bs->mok, bs->n_mok, sizeof(*bs->mok));
    shrink(&bs->boot_vars, bs->n_boot_vars, sizeof(*bs->boot_vars));
    shrink(&bs->separators, bs->n_separators, sizeof(*bs->separators));
    /* The first application was named before shim's own measurements were
     * seen: a BOOTX64.EFI followed by them is shim. */
    if (x.shim_seen && bs->n_apps > 0 && strcmp(bs->apps[0].name, "bootloader") == 0) {
        char *n = strdup("shim"), *n2 = strdup("shim");
        if (n && n2) {
            free(bs->apps[0].name);
            bs->apps[0].name = n;
            free(bs->components[bs->apps[0].component].name);
            bs->components[bs->apps[0].component].name = n2;
        } else {
            free(n);
            free(n2);
        }
    }
    return 0;
}

static void sb_variable_done(struct tl_sb_variable *v)
{
    tl_sig_db_done(&v->lists);
}

void tl_boot_state_done(struct tl_boot_state *bs)
{
    sb_variable_done(&bs->pk);
    sb_variable_done(&bs->kek);
    sb_variable_done(&bs->db);
    sb_variable_done(&bs->dbx);
    for (size_t i = 0; i < bs->n_authorities; i++)
        free(bs->authorities[i].variable);
    for (size_t i = 0; i < bs->n_apps; i++) {
        free(bs->apps[i].name);
        free(bs->apps[i].path);
        free(bs->apps[i].device_path);
    }
    for (size_t i = 0; i < bs->n_grub; i++)
        free(bs->grub[i].text_owned);
    for (size_t i = 0; i < bs->n_mok; i++)
        free(bs->mok[i].name);
    for (size_t i = 0; i < bs->n_boot_vars; i++) {
        free(bs->boot_vars[i].name);
        free(bs->boot_vars[i].description);
        free(bs->boot_vars[i].device_path);
    }
    for (size_t i = 0; i < bs->n_components; i++)
        free(bs->components[i].name);
    free(bs->authorities);
    free(bs->apps);
    free(bs->grub);
    free(bs->mok);
    free(bs->boot_vars);
    free(bs->separators);
    free(bs->components);
    free(bs->kernel_cmdline);
    free(bs->component_of_event);
    *bs = (struct tl_boot_state){0};
}

const char *tl_component_kind_name(enum tl_component_kind kind)
{
    static const char *const names[] = {
        [TL_COMPONENT_FIRMWARE] = "firmware",
        [TL_COMPONENT_FIRMWARE_CONFIG] = "firmware-config",
        [TL_COMPONENT_SECUREBOOT_VARIABLE] = "secureboot-variable",
        [TL_COMPONENT_AUTHORITY] = "authority",
        [TL_COMPONENT_BOOT_VARIABLE] = "boot-variable",
        [TL_COMPONENT_BOOT_APPLICATION] = "boot-application",
        [TL_COMPONENT_BOOTLOADER_COMMAND] = "bootloader-command",
        [TL_COMPONENT_KERNEL_CMDLINE] = "kernel-cmdline",
        [TL_COMPONENT_BOOT_FILE] = "boot-file",
        [TL_COMPONENT_MOK_VARIABLE] = "mok-variable",
        [TL_COMPONENT_SEPARATOR] = "separator",
        [TL_COMPONENT_ACTION] = "action",
        [TL_COMPONENT_OTHER] = "other",
    };
    return (unsigned)kind < TL_ARRAY_SIZE(names) ? names[kind] : "other";
}
