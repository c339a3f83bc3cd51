/* PCR 7 / PCR 4 prediction; see predict.h for the sources of the rules. */
#include "tl/predict.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl/eventlog.h"
#include "tl/util.h"

static int add_event(struct tl_prediction *p, uint32_t type, const char *what, uint8_t *data,
                     size_t len, struct tl_error *err)
{
    if (!data && len)
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    if (p->n_events == TL_PREDICT_MAX_EVENTS) {
        free(data);
        return tl_error_set_nopos(err, -E2BIG, "too many predicted events");
    }
    struct tl_predicted_event *e = &p->events[p->n_events++];
    *e = (struct tl_predicted_event){.pcr = 7, .type = type, .data = data, .data_len = len};
    snprintf(e->what, sizeof(e->what), "%s", what);
    return 0;
}

/* UEFI_VARIABLE_DATA (PFP 10.4.4): GUID, u64 name length in characters,
 * u64 data length, UTF-16 name (no NUL), data. Names here are ASCII. */
static uint8_t *variable_data(const tl_guid *vendor, const char *name, const uint8_t *data,
                              size_t data_len, size_t *out_len)
{
    size_t n = strlen(name);
    size_t len = 32 + 2 * n + data_len;
    uint8_t *b = malloc(len ? len : 1);
    if (!b)
        return NULL;
    memcpy(b, vendor->b, 16);
    for (int i = 0; i < 8; i++) {
        b[16 + i] = (uint8_t)((uint64_t)n >> (8 * i));
        b[24 + i] = (uint8_t)((uint64_t)data_len >> (8 * i));
    }
    for (size_t i = 0; i < n; i++) {
        b[32 + 2 * i] = (uint8_t)name[i];
        b[33 + 2 * i] = 0;
    }
    if (data_len)
        memcpy(b + 32 + 2 * n, data, data_len);
    *out_len = len;
    return b;
}

/* EFI_SIGNATURE_DATA (owner + entry) of the db-style entry whose
 * certificate has this SHA-256 fingerprint. */
static const struct tl_sig_entry *entry_by_fingerprint(const struct tl_sig_db *db,
                                                       const uint8_t fp[32], struct tl_hasher *h)
{
    for (size_t i = 0; db && i < db->n_entries; i++) {
        uint8_t d[TL_DIGEST_MAX];
        if (db->entries[i].kind == TL_SIG_X509 &&
            tl_hasher_digest(h, TL_ALG_SHA256, db->entries[i].data, db->entries[i].data_len, d) ==
                32 &&
            memcmp(d, fp, 32) == 0)
            return &db->entries[i];
    }
    return NULL;
}

static uint8_t *signature_data(const tl_guid *owner, const uint8_t *data, size_t len,
                               size_t *out_len)
{
    uint8_t *b = malloc(16 + len);
    if (!b)
        return NULL;
    memcpy(b, owner->b, 16);
    memcpy(b + 16, data, len);
    *out_len = 16 + len;
    return b;
}

/* Adds an authority record unless the same data was logged already. */
static int add_authority(struct tl_prediction *p, const tl_guid *vendor, const char *name,
                         uint8_t *sig_data, size_t sig_len, const char *what, struct tl_error *err)
{
    size_t len;
    uint8_t *data = variable_data(vendor, name, sig_data, sig_len, &len);
    free(sig_data);
    if (!data)
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < p->n_events; i++)
        if (p->events[i].type == TL_EV_EFI_VARIABLE_AUTHORITY && p->events[i].data_len == len &&
            memcmp(p->events[i].data, data, len) == 0) {
            free(data);
            return 0;
        }
    return add_event(p, TL_EV_EFI_VARIABLE_AUTHORITY, what, data, len, err);
}

static int predict_authority(struct tl_prediction *p, const struct tl_sb_verdict *v,
                             const struct tl_pe *shim, const struct tl_sig_db *db,
                             struct tl_hasher *h, struct tl_error *err)
{
    char what[64];
    snprintf(what, sizeof(what), "authority for %s", v->component);
    if (strcmp(v->source, "db") == 0 && v->by_certificate) {
        const struct tl_sig_entry *e = entry_by_fingerprint(db, v->cert_sha256, h);
        if (!e)
            return tl_error_set_nopos(err, -EINVAL, "%s: its db certificate is not in db",
                                      v->component);
        size_t len = 0;
        uint8_t *sd = signature_data(&e->owner, e->data, e->data_len, &len);
        /* The firmware logs db; shim logs the db entry it matched too. */
        return add_authority(p, &TL_EFI_IMAGE_SECURITY_DB_GUID, "db", sd, len, what, err);
    }
    if (strcmp(v->source, "vendor_cert") == 0 && shim) {
        /* shim 15.x mirrors its vendor certificate into MokListRT (owner
         * SHIM_LOCK_GUID) and logs the entry it matched. */
        size_t len = 0;
        uint8_t *sd =
            signature_data(&TL_SHIM_LOCK_GUID, shim->vendor_cert, shim->vendor_cert_len, &len);
        return add_authority(p, &TL_SHIM_LOCK_GUID, "MokListRT", sd, len, what, err);
    }
    return tl_error_set_nopos(err, -EOPNOTSUPP,
                              "%s: cannot predict the authority record for an image allowed by %s",
                              v->component, v->source[0] ? v->source : "nothing");
}

int tl_predict(const struct tl_varstore *vs, const struct tl_pe *const *chain,
               const struct tl_sb_verdict *verdicts, size_t n, const uint16_t *algs, size_t n_algs,
               struct tl_hasher *h, struct tl_prediction *out, struct tl_error *err)
{
    *out = (struct tl_prediction){0};
    if (n_algs == 0 || n_algs > TL_PREDICT_MAX_BANKS || n > TL_ARRAY_SIZE(out->apps))
        return tl_error_set_nopos(err, -EINVAL, "bad number of banks or images");
    for (size_t i = 0; i < n; i++)
        if (!verdicts[i].allowed)
            return tl_error_set_nopos(err, -EINVAL, "%s would not boot: %s", verdicts[i].component,
                                      verdicts[i].reason);
    struct tl_hasher *own = NULL;
    if (!h && !(h = own = tl_hasher_new()))
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    int r = 0;
    struct tl_sig_db db = {0};
    out->n_banks = (unsigned)n_algs;
    memcpy(out->algs, algs, n_algs * sizeof(*algs));

    /* 1. The Secure Boot variables, as OVMF measures them at boot. */
    const struct tl_varstore_var *pk = tl_varstore_find(vs, "PK", &TL_EFI_GLOBAL_VARIABLE_GUID);
    static const uint8_t on = 1;
    struct {
        const char *name;
        const tl_guid *vendor;
    } vars[] = {{"PK", &TL_EFI_GLOBAL_VARIABLE_GUID},
                {"KEK", &TL_EFI_GLOBAL_VARIABLE_GUID},
                {"db", &TL_EFI_IMAGE_SECURITY_DB_GUID},
                {"dbx", &TL_EFI_IMAGE_SECURITY_DB_GUID}};
    size_t len;
    uint8_t *d = variable_data(&TL_EFI_GLOBAL_VARIABLE_GUID, "SecureBoot", &on, pk ? 1 : 0, &len);
    r = add_event(out, TL_EV_EFI_VARIABLE_DRIVER_CONFIG, "SecureBoot", d, len, err);
    for (size_t i = 0; r == 0 && i < TL_ARRAY_SIZE(vars); i++) {
        const struct tl_varstore_var *v = tl_varstore_find(vs, vars[i].name, vars[i].vendor);
        d = variable_data(vars[i].vendor, vars[i].name, v ? v->data : NULL, v ? v->data_len : 0,
                          &len);
        r = add_event(out, TL_EV_EFI_VARIABLE_DRIVER_CONFIG, vars[i].name, d, len, err);
    }
    /* 2. The separator (PFP 3.3.4.8: before any authority). */
    if (r == 0) {
        d = calloc(1, 4);
        r = add_event(out, TL_EV_SEPARATOR, "separator", d, 4, err);
    }
    /* 3. Authorities, in load order; shim logs its SbatLevel first. */
    const struct tl_varstore_var *dbv = tl_varstore_find(vs, "db", &TL_EFI_IMAGE_SECURITY_DB_GUID);
    if (r == 0 && dbv && tl_sig_db_parse(dbv->data, dbv->data_len, &db, err) < 0)
        r = -EBADMSG;
    const struct tl_pe *shim = n > 0 && chain[0]->has_vendor_cert_section ? chain[0] : NULL;
    /* Secure Boot off (no PK): nothing is verified, so no authority is
     * logged. */
    for (size_t i = 0; r == 0 && pk && i < n; i++) {
        if (i == 1 && shim && shim->sbatlevel_len > 12) {
            /* shim writes and logs its "previous" level (the automatic
             * policy): the NUL-terminated string at that offset. */
            uint32_t off = tl_le32(shim->sbatlevel + 4);
            if (off < shim->sbatlevel_len - 4) {
                const uint8_t *s = shim->sbatlevel + 4 + off;
                size_t max = shim->sbatlevel_len - 4 - off;
                const uint8_t *nul = memchr(s, 0, max);
                size_t slen = nul ? (size_t)(nul - s) : max;
                uint8_t *copy = malloc(slen ? slen : 1);
                if (copy)
                    memcpy(copy, s, slen);
                r = copy ? add_authority(out, &TL_SHIM_LOCK_GUID, "SbatLevel", copy, slen,
                                         "SbatLevel", err)
                         : tl_error_set_nopos(err, -ENOMEM, "out of memory");
                if (r < 0)
                    break;
            }
        }
        r = predict_authority(out, &verdicts[i], shim, &db, h, err);
    }
    /* PCR 7 from the records, every bank. */
    for (unsigned b = 0; r == 0 && b < out->n_banks; b++) {
        memset(out->pcr7[b], 0, TL_DIGEST_MAX);
        for (size_t i = 0; r == 0 && i < out->n_events; i++) {
            uint8_t digest[TL_DIGEST_MAX];
            r = tl_hasher_digest(h, out->algs[b], out->events[i].data, out->events[i].data_len,
                                 digest);
            if (r >= 0)
                r = tl_hasher_extend(h, out->algs[b], out->pcr7[b], digest);
        }
        if (r < 0)
            r = tl_error_set_nopos(err, r, "cannot hash with %s", tl_alg_name(out->algs[b]));
    }
    /* PCR 4: the images' Authenticode digests. With Secure Boot off, what
     * grub starts through shim's protocol (the kernel, by linuxefi) is
     * loaded by grub itself and measured by nobody into PCR 4 (seen in the
     * node image's real boots, tests/e2e/image_boot.sh). */
    size_t measured = shim && !pk && n > 2 ? 2 : n;
    for (size_t i = 0; r == 0 && i < measured; i++) {
        struct tl_predicted_app *a = &out->apps[out->n_apps++];
        snprintf(a->component, sizeof(a->component), "%s", verdicts[i].component);
        for (unsigned b = 0; r == 0 && b < out->n_banks; b++) {
            int k = tl_pe_authenticode_digest(chain[i], h, out->algs[b], a->digest[b], err);
            r = k < 0 ? k : 0;
        }
    }
    tl_sig_db_done(&db);
    tl_hasher_free(own);
    if (r < 0)
        tl_prediction_done(out);
    return r < 0 ? r : 0;
}

void tl_prediction_done(struct tl_prediction *p)
{
    for (size_t i = 0; i < p->n_events; i++)
        free(p->events[i].data);
    p->n_events = 0;
}
