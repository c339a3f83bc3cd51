/* The image-check decision (imagecheck.h): a node image's boot chain, read
 * off its ESP by the caller, against an OVMF variable store's keys.
 *
 * Invariant: results[i] is chain[i]'s; only the components before the
 * first unreadable or unparsable one are checked (the firmware or shim
 * would stop there), the rest stay UNCHECKED. */
#include "tl/imagecheck.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl/util.h"

/* ---- the keys of a variable store ---- */

/* OVMF's switch (OvmfPkg SecureBootConfigDxe, gEfiSecureBootEnableDisableGuid). */
static const tl_guid secure_boot_enable_guid =
    TL_GUID_INIT(0xf0a30bc7, 0xaf08, 0x4556, 0x99, 0xc4, 0x00, 0x10, 0x09, 0xc9, 0x3a, 0x44);

const char *tl_secureboot_off_reason(const struct tl_varstore *vs)
{
    const struct tl_varstore_var *sbe =
        tl_varstore_find(vs, "SecureBootEnable", &secure_boot_enable_guid);
    if (!tl_varstore_find(vs, "PK", &TL_EFI_GLOBAL_VARIABLE_GUID))
        return "no PK enrolled";
    if (sbe && sbe->data_len == 1 && sbe->data[0] == 0)
        return "SecureBootEnable is 0";
    return "";
}

static int sig_db(const struct tl_varstore *vs, const char *name, struct tl_sig_db *db,
                  struct tl_error *err)
{
    const struct tl_varstore_var *v = tl_varstore_find(vs, name, &TL_EFI_IMAGE_SECURITY_DB_GUID);
    struct tl_error e = {0};
    *db = (struct tl_sig_db){0};
    if (v && tl_sig_db_parse(v->data, v->data_len, db, &e) < 0)
        return tl_error_set_nopos(err, -EBADMSG, "%s: %s", name, e.message);
    return 0;
}

int tl_store_keys_load(const uint8_t *vars, size_t len, struct tl_store_keys *k,
                       struct tl_error *err)
{
    *k = (struct tl_store_keys){0};
    int r = tl_varstore_parse(vars, len, &k->vs, err);
    if (r < 0)
        return r;
    if ((r = sig_db(&k->vs, "db", &k->db, err)) < 0 ||
        (r = sig_db(&k->vs, "dbx", &k->dbx, err)) < 0) {
        tl_store_keys_done(k);
        return r;
    }
    k->secure_boot_off_why = tl_secureboot_off_reason(&k->vs);
    k->keys = (struct tl_sb_keys){
        .db = &k->db,
        .dbx = &k->dbx,
        .secure_boot_off = k->secure_boot_off_why[0] != '\0',
    };
    return 0;
}

void tl_store_keys_done(struct tl_store_keys *k)
{
    tl_sig_db_done(&k->db);
    tl_sig_db_done(&k->dbx);
    tl_varstore_done(&k->vs);
    *k = (struct tl_store_keys){0};
}

/* ---- the chain ---- */

/* An ESP path the way the manifest writes it: absolute, backslashes,
 * characters a FAT long name allows (no control characters, no / : * ? " < > |). */
static bool esp_path_ok(const char *p)
{
    size_t n = strlen(p);
    if (n < 2 || n >= 256 || p[0] != '\\')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c < 0x20 || c > 0x7e || strchr("/:*?\"<>|", c))
            return false;
    }
    return true;
}

int tl_image_chain(const struct tl_manifest *m, struct tl_image_component *chain, size_t *n,
                   struct tl_error *err)
{
    *n = 0;
    if (!m->format || strcmp(m->format, TL_MANIFEST_FORMAT) != 0)
        return tl_error_set_nopos(err, -EBADMSG,
                                  "not a trustlaunch image manifest (format is not \"%s\")",
                                  TL_MANIFEST_FORMAT);
    if (!m->has_components)
        return tl_error_set_nopos(err, -EBADMSG, "no \"components\" array");
    for (size_t i = 0; i < m->n_components; i++) {
        const struct tl_manifest_component *c = &m->components[i];
        if (!c->is_object || !c->kind)
            return tl_error_set_nopos(err, -EBADMSG, "components[%zu]: no \"kind\"", i);
        if (strcmp(c->kind, "pe") != 0)
            continue; /* initramfs, grub.cfg: files grub reads, not signature-checked */
        if (!c->name || !*c->name || strlen(c->name) >= sizeof(chain[0].name))
            return tl_error_set_nopos(err, -EBADMSG, "components[%zu]: bad or missing \"name\"", i);
        if (!c->path || !esp_path_ok(c->path))
            return tl_error_set_nopos(
                err, -EBADMSG, "components[%zu] (%s): bad or missing ESP \"path\"", i, c->name);
        if (*n == TL_IMAGE_CHECK_MAX)
            return tl_error_set_nopos(err, -EBADMSG, "more than %d PE components",
                                      TL_IMAGE_CHECK_MAX);
        struct tl_image_component *dst = &chain[(*n)++];
        snprintf(dst->name, sizeof(dst->name), "%s", c->name);
        snprintf(dst->path, sizeof(dst->path), "%s", c->path);
    }
    if (*n == 0)
        return tl_error_set_nopos(err, -EBADMSG, "no PE components (shim, grub, kernel)");
    return 0;
}

/* ---- the decision ---- */

const char *tl_image_reason_name(enum tl_image_reason r)
{
    static const char *const names[] = {
        [TL_IMAGE_PASS] = "pass",
        [TL_IMAGE_SECURE_BOOT_OFF] = "secure-boot-off",
        [TL_IMAGE_UNREADABLE] = "unreadable",
        [TL_IMAGE_NOT_PE] = "not-pe",
        [TL_IMAGE_DENIED] = "denied",
    };
    return (unsigned)r < TL_ARRAY_SIZE(names) ? names[r] : "unknown";
}

int tl_image_check(const struct tl_image_component *chain, const struct tl_image_input *inputs,
                   size_t n, const struct tl_store_keys *keys, time_t now,
                   struct tl_image_verdict *v, struct tl_error *err)
{
    if (n > TL_IMAGE_CHECK_MAX)
        return tl_error_set_nopos(err, -EINVAL, "more than %d PE components", TL_IMAGE_CHECK_MAX);
    memset(v, 0, sizeof(*v));
    v->n = n;
    v->failed = -1;
    v->secure_boot = !keys->keys.secure_boot_off;
    snprintf(v->secure_boot_off_why, sizeof(v->secure_boot_off_why), "%s",
             keys->secure_boot_off_why);
    struct tl_pe pes[TL_IMAGE_CHECK_MAX];
    const struct tl_pe *images[TL_IMAGE_CHECK_MAX];
    const char *names[TL_IMAGE_CHECK_MAX];
    size_t n_checked = 0;
    bool stopped = false;
    /* The chain up to the first component that cannot be read or parsed. */
    for (size_t i = 0; i < n; i++) {
        struct tl_image_result *res = &v->results[i];
        res->c = chain[i];
        res->state = TL_IMAGE_UNCHECKED;
        if (stopped)
            continue;
        struct tl_error e = {0};
        if (inputs[i].unreadable) {
            res->state = TL_IMAGE_BROKEN;
            snprintf(res->problem, sizeof(res->problem), "cannot be read from the ESP: %s",
                     inputs[i].unreadable);
        } else if (tl_pe_parse(inputs[i].buf, inputs[i].len, &pes[n_checked], &e) < 0) {
            res->state = TL_IMAGE_BROKEN;
            snprintf(res->problem, sizeof(res->problem), "not a valid PE image: %.*s",
                     (int)(sizeof(res->problem) - sizeof("not a valid PE image: ")), e.message);
        } else {
            images[n_checked] = &pes[n_checked];
            names[n_checked] = res->c.name;
            n_checked++;
            continue;
        }
        stopped = true;
    }
    struct tl_sb_verdict *verdicts = calloc(n_checked ? n_checked : 1, sizeof(*verdicts));
    int denied = verdicts ? 0 : tl_error_set_nopos(err, -ENOMEM, "out of memory");
    if (verdicts && n_checked)
        denied = tl_secureboot_check_chain(images, names, n_checked, &keys->keys, now, NULL,
                                           verdicts, err);
    for (size_t i = 0; i < n_checked; i++) {
        if (denied >= 0) {
            v->results[i].state = TL_IMAGE_CHECKED;
            v->results[i].v = verdicts[i];
        }
        tl_pe_done(&pes[i]);
    }
    free(verdicts);
    if (denied < 0)
        return denied;
    for (size_t i = 0; i < n && v->failed < 0; i++) {
        const struct tl_image_result *res = &v->results[i];
        if (res->state == TL_IMAGE_BROKEN) {
            v->failed = (int)i;
            v->reason = inputs[i].unreadable ? TL_IMAGE_UNREADABLE : TL_IMAGE_NOT_PE;
            snprintf(v->text, sizeof(v->text), "%s: %s", res->c.name, res->problem);
        } else if (res->state == TL_IMAGE_CHECKED && !res->v.allowed) {
            v->failed = (int)i;
            v->reason = TL_IMAGE_DENIED;
            snprintf(v->text, sizeof(v->text), "%s: %s", res->c.name, res->v.reason);
        }
    }
    if (v->failed < 0) {
        v->reason = v->secure_boot ? TL_IMAGE_PASS : TL_IMAGE_SECURE_BOOT_OFF;
        snprintf(v->text, sizeof(v->text), "%s", v->secure_boot ? "" : "secure boot off: no check");
    }
    return 0;
}

/* ---- rendering ---- */

void tl_image_verified_by(const struct tl_sb_verdict *v, char *out, size_t size)
{
    if (v->by_certificate) {
        snprintf(out, size, "%s: %s", v->source, v->cert_subject);
    } else if (v->by_hash) {
        char hex[2 * TL_DIGEST_MAX + 1];
        tl_hex_encode(v->hash, v->hash_len, hex);
        snprintf(out, size, "%s: %s %s", v->source, tl_sig_kind_name(v->hash_kind), hex);
    } else {
        snprintf(out, size, "%s: %s", v->source[0] ? v->source : "-", v->reason);
    }
}

static json_t *result_json(const struct tl_image_result *res, bool secure_boot)
{
    json_t *o = json_pack("{s:s, s:s}", "name", res->c.name, "path", res->c.path);
    if (res->state == TL_IMAGE_BROKEN) {
        json_object_set_new(o, "verdict", json_string("fail"));
        json_object_set_new(o, "reason", json_string(res->problem));
        return o;
    }
    if (res->state == TL_IMAGE_UNCHECKED) {
        json_object_set_new(o, "verdict", json_string("unchecked"));
        json_object_set_new(o, "reason", json_string("not checked: an earlier component fails"));
        return o;
    }
    const struct tl_sb_verdict *v = &res->v;
    char sha[65], by[768];
    tl_hex_encode(v->sha256, 32, sha);
    json_object_set_new(o, "verdict", json_string(v->allowed ? "pass" : "fail"));
    json_object_set_new(o, "verifier", json_string(tl_verifier_name(v->verifier)));
    json_object_set_new(o, "source", json_string(v->source));
    json_object_set_new(o, "sha256", json_string(sha));
    if (!secure_boot) {
        json_object_set_new(o, "verified_by", json_null());
        json_object_set_new(o, "reason", json_string("secure boot off: no check"));
    } else if (v->allowed) {
        tl_image_verified_by(v, by, sizeof(by));
        json_object_set_new(o, "verified_by", json_string(by));
    } else {
        json_object_set_new(o, "reason", json_string(v->reason));
    }
    if (v->warning[0])
        json_object_set_new(o, "warning", json_string(v->warning));
    return o;
}

json_t *tl_image_verdict_json(const struct tl_image_verdict *v, const char *dir, const char *disk,
                              const char *vars)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < v->n; i++)
        json_array_append_new(arr, result_json(&v->results[i], v->secure_boot));
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:b, s:o}", "dir", dir, "disk", disk, "vars", vars,
                          "verdict", v->failed >= 0 ? "fail" : "pass", "secure_boot",
                          v->secure_boot, "components", arr);
    if (!o)
        return NULL;
    if (!v->secure_boot)
        json_object_set_new(o, "secure_boot_off", json_string(v->secure_boot_off_why));
    json_object_set_new(o, "failed",
                        v->failed >= 0 ? json_string(v->results[v->failed].c.name) : json_null());
    json_object_set_new(o, "reason", v->text[0] ? json_string(v->text) : json_null());
    return o;
}
