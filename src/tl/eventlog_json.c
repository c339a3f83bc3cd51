/* JSON forms of `tl eventlog` (keys documented in docs/cli.md; keep both in
 * step). One object per file. */
#include <stdio.h>
#include <stdlib.h>

#include "eventlog_cmd.h"
#include "tl/digest.h"
#include "tl/x509.h"

static json_t *bank_name(uint16_t alg)
{
    const char *n = tl_alg_name(alg);
    return n ? json_string(n) : json_sprintf("0x%04x", alg);
}

static const char *format_name(enum tl_eventlog_format f)
{
    return f == TL_EVENTLOG_CRYPTO_AGILE ? "crypto-agile" : "sha1";
}

static json_t *event_type_json(uint32_t type)
{
    const char *n = tl_event_type_name(type);
    return n ? json_string(n) : json_sprintf("0x%08x", type);
}

/* {"sha1": "<hex>", "sha256": ...} of one record. */
static json_t *event_digests(const struct tl_eventlog *log, const struct tl_event *ev)
{
    json_t *o = json_object();
    for (unsigned b = 0; b < log->n_banks; b++) {
        const uint8_t *d = tl_event_digest(log, ev, b);
        if (!d)
            continue;
        char name[16];
        const char *n = tl_alg_name(log->banks[b].alg);
        if (!n) {
            snprintf(name, sizeof(name), "0x%04x", log->banks[b].alg);
            n = name;
        }
        json_object_set_new(o, n, tlc_json_hex(d, log->banks[b].size));
    }
    return o;
}

json_t *eventlog_json_findings(const struct analysis *a)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < a->checks.n_findings; i++) {
        const struct tl_record_finding *f = &a->checks.findings[i];
        json_t *o = json_pack("{s:I, s:I, s:o, s:I, s:s}", "event", (json_int_t)f->event, "pcr",
                              (json_int_t)f->pcr, "type", event_type_json(f->type), "offset",
                              (json_int_t)f->offset, "reason", f->reason);
        if (a->have_state && a->state.component_of_event[f->event] >= 0)
            json_object_set_new(
                o, "component",
                json_string(a->state.components[a->state.component_of_event[f->event]].name));
        json_array_append_new(arr, o);
    }
    return arr;
}

static void add_common(json_t *o, const struct analysis *a)
{
    json_object_set_new(o, "file", json_string(a->file));
    json_object_set_new(o, "format", json_string(format_name(a->log.format)));
    json_t *banks = json_array();
    for (unsigned b = 0; b < a->log.n_banks; b++)
        json_array_append_new(banks, bank_name(a->log.banks[b].alg));
    json_object_set_new(o, "algorithms", banks);
}

static void add_verdict(json_t *o, const struct analysis *a)
{
    json_object_set_new(o, "findings", eventlog_json_findings(a));
    json_object_set_new(o, "verdict", json_string(analysis_failed(a) ? "fail" : "pass"));
}

json_t *eventlog_json_show(const struct analysis *a)
{
    const struct tl_eventlog *log = &a->log;
    json_t *o = json_object();
    add_common(o, a);
    if (log->format == TL_EVENTLOG_CRYPTO_AGILE) {
        const struct tl_spec_id *s = &log->spec_id;
        json_object_set_new(
            o, "spec_id",
            json_pack("{s:I, s:i, s:i, s:i, s:i, s:o}", "platform_class",
                      (json_int_t)s->platform_class, "version_major", s->version_major,
                      "version_minor", s->version_minor, "errata", s->errata, "uintn_size",
                      s->uintn_size, "vendor_info",
                      tlc_json_hex(log->buf + s->vendor_info_offset, s->vendor_info_size)));
        json_object_set_new(json_object_get(o, "spec_id"), "vendor_info_outside_event",
                            json_boolean(s->vendor_info_outside_event));
    } else {
        json_object_set_new(o, "spec_id", json_null());
    }
    json_object_set_new(o, "startup_locality",
                        log->startup_locality >= 0 ? json_integer(log->startup_locality)
                                                   : json_null());
    json_object_set_new(o, "trailing_zero_bytes",
                        json_integer((json_int_t)log->trailing_zero_bytes));
    json_t *events = json_array();
    for (size_t i = 0; i < log->n_events; i++) {
        const struct tl_event *ev = &log->events[i];
        char *desc = eventlog_describe(log, ev);
        json_t *e = json_pack("{s:I, s:I, s:I, s:o, s:I, s:o, s:I, s:o, s:s, s:s?}", "index",
                              (json_int_t)ev->index, "offset", (json_int_t)ev->offset, "pcr",
                              (json_int_t)ev->pcr, "type", event_type_json(ev->type), "type_value",
                              (json_int_t)ev->type, "digests", event_digests(log, ev), "data_size",
                              (json_int_t)ev->data_size, "data",
                              tlc_json_hex(tl_event_data(log, ev), ev->data_size), "status",
                              tl_record_status_name(a->checks.status[i]), "description", desc);
        free(desc);
        int32_t c = a->have_state ? a->state.component_of_event[i] : -1;
        json_object_set_new(e, "component",
                            c >= 0 ? json_string(a->state.components[c].name) : json_null());
        json_array_append_new(events, e);
    }
    json_object_set_new(o, "events", events);
    add_verdict(o, a);
    return o;
}

json_t *eventlog_json_replay(const struct analysis *a)
{
    json_t *o = json_object();
    add_common(o, a);
    json_t *banks = json_object(), *unsupported = json_array();
    for (unsigned b = 0; b < a->pcrs.n_banks; b++) {
        const struct tl_pcr_bank *bank = &a->pcrs.banks[b];
        json_t *name = bank_name(bank->alg);
        if (bank->unsupported)
            json_array_append(unsupported, name);
        else
            json_object_set_new(banks, json_string_value(name), tl_pcr_bank_to_json(bank));
        json_decref(name);
    }
    json_object_set_new(o, "banks", banks);
    json_object_set_new(o, "unsupported_banks", unsupported);
    if (a->expect) {
        json_t *mm = json_array(), *missing = json_array(), *nc = json_array();
        for (size_t i = 0; i < a->expect->n_mismatches; i++) {
            const struct tl_pcr_mismatch *m = &a->expect->mismatches[i];
            size_t size = tl_alg_digest_size(m->alg);
            if (m->pcr < 0) {
                json_array_append_new(missing, bank_name(m->alg));
                continue;
            }
            json_array_append_new(
                mm, json_pack("{s:o, s:i, s:o, s:o, s:b}", "bank", bank_name(m->alg), "pcr", m->pcr,
                              "replayed", tlc_json_hex(m->replayed, size), "expected",
                              tlc_json_hex(m->expected, size), "log_extends", !m->uncovered));
        }
        for (int i = 0; i < TL_PCR_COUNT; i++)
            if (a->expect->not_covered & (1u << i))
                json_array_append_new(nc, json_integer(i));
        json_object_set_new(o, "expect",
                            json_pack("{s:s, s:o, s:o, s:o}", "file", a->expect->file, "mismatches",
                                      mm, "missing_banks", missing, "not_covered", nc));
    } else {
        json_object_set_new(o, "expect", json_null());
    }
    add_verdict(o, a);
    return o;
}

/* ---- state ---- */

static json_t *cert_json(const uint8_t *der, size_t len)
{
    struct tl_x509_info info;
    if (tl_x509_describe(der, len, &info, NULL) < 0)
        return json_pack("{s:s}", "error", "not a DER X.509 certificate");
    json_t *o = json_pack("{s:s, s:s?, s:s, s:o, s:s}", "subject", info.subject, "common_name",
                          info.common_name, "issuer", info.issuer, "sha256",
                          tlc_json_hex(info.sha256, 32), "not_after", info.not_after);
    tl_x509_info_done(&info);
    return o;
}

static json_t *sig_entry_json(const struct tl_sig_entry *e)
{
    char owner[37];
    tl_guid_format(&e->owner, owner);
    json_t *o = json_pack("{s:s, s:s}", "kind", tl_sig_kind_name(e->kind), "owner", owner);
    if (e->kind == TL_SIG_X509)
        json_object_set_new(o, "certificate", cert_json(e->data, e->data_len));
    else
        json_object_set_new(o, "hash", tlc_json_hex(e->data, e->data_len));
    return o;
}

static json_t *sb_variable_json(const struct tl_sb_variable *v)
{
    if (!v->measured)
        return json_pack("{s:b}", "measured", 0);
    json_t *entries = json_array();
    for (size_t i = 0; i < v->lists.n_entries; i++)
        json_array_append_new(entries, sig_entry_json(&v->lists.entries[i]));
    return json_pack("{s:b, s:I, s:I, s:o, s:s?}", "measured", 1, "event", (json_int_t)v->event,
                     "size", (json_int_t)v->data_len, "entries", entries, "error",
                     v->error[0] ? v->error : NULL);
}

static json_t *tristate(int v)
{
    return v < 0 ? json_null() : json_boolean(v);
}

/* verifies: the names of the applications this authority verified (taken). */
static json_t *authority_json(const struct tl_authority *au, json_t *verifies)
{
    json_t *o =
        json_pack("{s:I, s:s, s:s}", "event", (json_int_t)au->event, "variable", au->variable,
                  "source", au->source == TL_AUTHORITY_SHIM ? "shim" : "firmware");
    if (au->is_signature_data) {
        char owner[37];
        tl_guid_format(&au->owner, owner);
        json_object_set_new(o, "owner", json_string(owner));
    }
    if (au->cert)
        json_object_set_new(o, "certificate", cert_json(au->cert, au->cert_len));
    else if (au->is_signature_data)
        json_object_set_new(o, "hash", tlc_json_hex(au->data + 16, au->data_len - 16));
    else
        json_object_set_new(o, "data", tlc_json_hex(au->data, au->data_len));
    json_object_set_new(o, "verifies", verifies);
    return o;
}

static json_t *events_json(const uint32_t *events, uint32_t n)
{
    json_t *arr = json_array();
    for (uint32_t i = 0; i < n && i < 4; i++)
        json_array_append_new(arr, json_integer(events[i]));
    return arr;
}

json_t *eventlog_json_state(const struct analysis *a)
{
    const struct tl_boot_state *bs = &a->state;
    const struct tl_eventlog *log = &a->log;
    json_t *o = json_object();
    add_common(o, a);
    json_object_set_new(o, "secure_boot", tristate(bs->secure_boot));
    json_object_set_new(o, "deployed_mode", tristate(bs->deployed_mode));
    json_object_set_new(o, "audit_mode", tristate(bs->audit_mode));
    json_object_set_new(o, "setup_mode", tristate(bs->setup_mode));
    json_object_set_new(o, "keys",
                        json_pack("{s:o, s:o, s:o, s:o}", "PK", sb_variable_json(&bs->pk), "KEK",
                                  sb_variable_json(&bs->kek), "db", sb_variable_json(&bs->db),
                                  "dbx", sb_variable_json(&bs->dbx)));

    /* Each authority's applications, in one pass over the applications
     * (not one per authority: a log can hold thousands of both). */
    json_t *auths = json_array();
    for (size_t i = 0; i < bs->n_authorities; i++)
        json_array_append_new(auths, authority_json(&bs->authorities[i], json_array()));
    for (size_t i = 0; i < bs->n_apps; i++)
        if (bs->apps[i].authority >= 0)
            json_array_append_new(
                json_object_get(json_array_get(auths, (size_t)bs->apps[i].authority), "verifies"),
                json_string(bs->apps[i].name));
    json_object_set_new(o, "authorities", auths);

    json_t *apps = json_array();
    for (size_t i = 0; i < bs->n_apps; i++) {
        const struct tl_boot_app *app = &bs->apps[i];
        const struct tl_component *c = &bs->components[app->component];
        json_t *ja = json_pack(
            "{s:s, s:s?, s:s?, s:I, s:o, s:I, s:o}", "name", app->name, "path", app->path,
            "device_path", app->device_path, "event", (json_int_t)app->event, "events",
            events_json(c->events, c->n_events), "image_length", (json_int_t)app->image_length,
            "digests", event_digests(log, &log->events[app->event]));
        if (app->authority >= 0) {
            const struct tl_authority *au = &bs->authorities[app->authority];
            json_t *jau = json_pack("{s:I, s:s, s:s, s:b}", "event", (json_int_t)au->event,
                                    "variable", au->variable, "source",
                                    au->source == TL_AUTHORITY_SHIM ? "shim" : "firmware",
                                    "inferred", app->authority_inferred);
            if (au->cert) {
                struct tl_x509_info info;
                if (tl_x509_describe(au->cert, au->cert_len, &info, NULL) == 0) {
                    json_object_set_new(jau, "subject", json_string(info.subject));
                    json_object_set_new(jau, "common_name",
                                        info.common_name ? json_string(info.common_name)
                                                         : json_null());
                    json_object_set_new(jau, "sha256", tlc_json_hex(info.sha256, 32));
                    tl_x509_info_done(&info);
                }
            }
            json_object_set_new(ja, "authority", jau);
        } else {
            json_object_set_new(ja, "authority", json_null());
        }
        json_array_append_new(apps, ja);
    }
    json_object_set_new(o, "applications", apps);

    json_t *cmds = json_array(), *files = json_array();
    for (size_t i = 0; i < bs->n_grub; i++) {
        const struct tl_grub_record *g = &bs->grub[i];
        static const char *const kinds[] = {"command", "kernel_cmdline", "module_cmdline", "file"};
        if (g->kind == TL_GRUB_FILE)
            json_array_append_new(files, json_pack("{s:I, s:s, s:o}", "event", (json_int_t)g->event,
                                                   "path", g->text, "digests",
                                                   event_digests(log, &log->events[g->event])));
        else
            json_array_append_new(cmds, json_pack("{s:I, s:s, s:s}", "event", (json_int_t)g->event,
                                                  "kind", kinds[g->kind], "text", g->text));
    }
    json_object_set_new(o, "grub", json_pack("{s:o, s:o}", "commands", cmds, "files", files));
    json_object_set_new(o, "kernel_cmdline",
                        bs->kernel_cmdline ? json_string(bs->kernel_cmdline) : json_null());

    json_t *mok = json_array();
    for (size_t i = 0; i < bs->n_mok; i++)
        json_array_append_new(mok,
                              json_pack("{s:I, s:s, s:o}", "event", (json_int_t)bs->mok[i].event,
                                        "name", bs->mok[i].name, "digests",
                                        event_digests(log, &log->events[bs->mok[i].event])));
    json_object_set_new(o, "mok", mok);

    json_t *bvs = json_array();
    for (size_t i = 0; i < bs->n_boot_vars; i++) {
        const struct tl_boot_variable *bv = &bs->boot_vars[i];
        json_t *jb =
            json_pack("{s:I, s:s, s:s?, s:s?}", "event", (json_int_t)bv->event, "name", bv->name,
                      "description", bv->description, "device_path", bv->device_path);
        if (bv->n_order) {
            json_t *order = json_array();
            for (size_t k = 0; k < bv->n_order; k++)
                json_array_append_new(order, json_sprintf("Boot%04X", bv->order[k]));
            json_object_set_new(jb, "order", order);
        }
        json_array_append_new(bvs, jb);
    }
    json_object_set_new(o, "boot_variables", bvs);

    json_t *seps = json_array();
    for (size_t i = 0; i < bs->n_separators; i++)
        json_array_append_new(seps,
                              json_pack("{s:I, s:I, s:I}", "pcr", (json_int_t)bs->separators[i].pcr,
                                        "event", (json_int_t)bs->separators[i].event, "value",
                                        (json_int_t)bs->separators[i].value));
    json_object_set_new(o, "separators", seps);

    json_t *comps = json_array();
    for (size_t i = 0; i < bs->n_components; i++) {
        const struct tl_component *c = &bs->components[i];
        json_array_append_new(
            comps, json_pack("{s:s, s:s, s:I, s:I, s:o, s:o}", "name", c->name, "kind",
                             tl_component_kind_name(c->kind), "pcr", (json_int_t)c->pcr, "event",
                             (json_int_t)c->event, "events", events_json(c->events, c->n_events),
                             "digests", event_digests(log, &log->events[c->event])));
    }
    json_object_set_new(o, "components", comps);
    add_verdict(o, a);
    return o;
}
