/* Secure Boot decisions, firmware and shim (see secureboot.h).
 *
 * Firmware (EDK2 DxeImageVerificationLib, DxeImageVerificationHandler):
 *   1. the image's hash in dbx (any hash type dbx lists): denied;
 *   2. a signature that verifies against an X.509 entry of dbx: denied;
 *   3. a signature that verifies against db, unless a certificate of its
 *      chain is revoked by an EFI_CERT_X509_SHA256/384/512 entry: allowed;
 *   4. the image's hash in db: allowed;
 *   5. otherwise denied: not signed, or why each signature failed.
 * shim 15.x (shim.c verify_buffer): SBAT first (mandatory for images shim
 * starts, optional for those verified through its protocol), then its
 * deny list (dbx, vendor dbx, MokListX: hashes and certificates), then its
 * allow list (db, MokList: hashes and certificates; the vendor certificate). */
#include "tl/secureboot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl/sigverify.h"
#include "tl/util.h"
#include "tl/x509.h"

struct image_ctx {
    const struct tl_pe *pe;
    struct tl_hasher *h;
    uint8_t digest[4][TL_DIGEST_MAX];
    int size[4]; /* 0: not computed yet */
};

static int alg_slot(uint16_t alg)
{
    switch (alg) {
    case TL_ALG_SHA1:
        return 0;
    case TL_ALG_SHA256:
        return 1;
    case TL_ALG_SHA384:
        return 2;
    case TL_ALG_SHA512:
        return 3;
    }
    return -1;
}

static int image_digest(void *vctx, uint16_t alg, uint8_t out[TL_DIGEST_MAX])
{
    struct image_ctx *c = vctx;
    int slot = alg_slot(alg);
    if (slot < 0)
        return -EOPNOTSUPP;
    if (!c->size[slot]) {
        int r = tl_pe_authenticode_digest(c->pe, c->h, alg, c->digest[slot], NULL);
        if (r < 0)
            return r;
        c->size[slot] = r;
    }
    memcpy(out, c->digest[slot], (size_t)c->size[slot]);
    return c->size[slot];
}

static uint16_t hash_kind_alg(enum tl_sig_kind k)
{
    switch (k) {
    case TL_SIG_SHA1:
        return TL_ALG_SHA1;
    case TL_SIG_SHA256:
        return TL_ALG_SHA256;
    case TL_SIG_SHA384:
        return TL_ALG_SHA384;
    case TL_SIG_SHA512:
        return TL_ALG_SHA512;
    default:
        return 0;
    }
}

/* Is one of the image's digests listed as a hash entry? */
static const struct tl_sig_entry *hash_listed(struct image_ctx *c, const struct tl_sig_db *db)
{
    if (!db)
        return NULL;
    for (size_t i = 0; i < db->n_entries; i++) {
        const struct tl_sig_entry *e = &db->entries[i];
        uint16_t alg = hash_kind_alg(e->kind);
        uint8_t d[TL_DIGEST_MAX];
        if (!alg)
            continue;
        int n = image_digest(c, alg, d);
        if (n > 0 && (size_t)n == e->data_len && memcmp(d, e->data, e->data_len) == 0)
            return e;
    }
    return NULL;
}

/* The X.509 entries of a list, as trusted certificates (all of them: a
 * deny list cut short would fail open). */
struct cert_set {
    struct tl_cert_ref *refs;
    size_t n;
};

static void cert_set_done(struct cert_set *s)
{
    free(s->refs);
    *s = (struct cert_set){0};
}

static int cert_set_add_db(struct cert_set *s, const struct tl_sig_db *db)
{
    if (!db || db->n_entries == 0)
        return 0;
    struct tl_cert_ref *n = realloc(s->refs, (s->n + db->n_entries) * sizeof(*n));
    if (!n)
        return -ENOMEM;
    s->refs = n;
    for (size_t i = 0; i < db->n_entries; i++)
        if (db->entries[i].kind == TL_SIG_X509)
            s->refs[s->n++] = (struct tl_cert_ref){db->entries[i].data, db->entries[i].data_len};
    return 0;
}

static void verdict_hash(struct tl_sb_verdict *v, const char *source, const struct tl_sig_entry *e)
{
    snprintf(v->source, sizeof(v->source), "%s", source);
    v->by_hash = true;
    v->hash_kind = e->kind;
    v->hash_len = e->data_len < TL_DIGEST_MAX ? e->data_len : TL_DIGEST_MAX;
    memcpy(v->hash, e->data, v->hash_len);
}

static void verdict_cert(struct tl_sb_verdict *v, const char *source, const struct tl_sigcheck *chk)
{
    const struct tl_chain_cert *anchor = &chk->chain[chk->n_chain - 1];
    snprintf(v->source, sizeof(v->source), "%s", source);
    v->by_certificate = true;
    snprintf(v->cert_subject, sizeof(v->cert_subject), "%s", anchor->subject);
    memcpy(v->cert_sha256, anchor->sha256, 32);
    snprintf(v->signer_subject, sizeof(v->signer_subject), "%s", chk->signer_subject);
    if (chk->warning[0])
        snprintf(v->warning, sizeof(v->warning), "%s", chk->warning);
}

static const char *hash_kind_label(enum tl_sig_kind k)
{
    return tl_sig_kind_name(k);
}

/* Remembers the most telling failure among an image's signatures: a digest
 * mismatch (the image was changed) beats a bad signature, which beats an
 * untrusted signer, which beats a malformed signature. */
struct failure {
    int rank;
    char reason[320];
};

static void failure_note(struct failure *f, const struct tl_sigcheck *chk)
{
    static const int rank[] = {
        [TL_SIGCHECK_OK] = 0,
        [TL_SIGCHECK_MALFORMED] = 1,
        [TL_SIGCHECK_UNTRUSTED] = 2,
        [TL_SIGCHECK_BAD_SIGNATURE] = 3,
        [TL_SIGCHECK_DIGEST_MISMATCH] = 4,
    };
    if (rank[chk->status] > f->rank) {
        f->rank = rank[chk->status];
        snprintf(f->reason, sizeof(f->reason), "%s", chk->reason);
    }
}

/* Checks every Authenticode signature of the image against `trusted`;
 * returns 1 and fills *ok for the first that verifies, 0 when none does. */
static int any_signature(struct image_ctx *c, const struct cert_set *trusted, time_t now,
                         struct tl_sigcheck *ok, struct failure *f, struct tl_error *err)
{
    const struct tl_pe *pe = c->pe;
    for (size_t i = 0; i < pe->n_signatures; i++) {
        const struct tl_pe_signature *sig = &pe->signatures[i];
        struct tl_sigcheck chk;
        if (sig->type != TL_WIN_CERT_TYPE_PKCS_SIGNED_DATA)
            continue;
        int r = tl_authenticode_check(sig->data, sig->data_len, image_digest, c, trusted->refs,
                                      trusted->n, now, &chk, err);
        if (r < 0)
            return r;
        if (chk.status == TL_SIGCHECK_OK && chk.n_chain > 0) {
            *ok = chk;
            return 1;
        }
        if (f)
            failure_note(f, &chk);
        tl_sigcheck_done(&chk);
    }
    return 0;
}

/* EFI_CERT_X509_SHA256/384/512 entries revoke a certificate by the hash of
 * its TBSCertificate (UEFI 2.10, 32.4.1). */
static const struct tl_sig_entry *chain_revoked(const struct tl_sigcheck *chk,
                                                const struct tl_sig_db *dbx, size_t *which)
{
    for (size_t i = 0; dbx && i < dbx->n_entries; i++) {
        const struct tl_sig_entry *e = &dbx->entries[i];
        for (size_t k = 0; k < chk->n_chain; k++) {
            const struct tl_chain_cert *cc = &chk->chain[k];
            const uint8_t *h = e->kind == TL_SIG_X509_SHA256   ? cc->tbs_sha256
                               : e->kind == TL_SIG_X509_SHA384 ? cc->tbs_sha384
                               : e->kind == TL_SIG_X509_SHA512 ? cc->tbs_sha512
                                                               : NULL;
            if (h && memcmp(h, e->data, e->data_len) == 0) {
                *which = k;
                return e;
            }
        }
    }
    return NULL;
}

static size_t count_pkcs7(const struct tl_pe *pe)
{
    size_t n = 0;
    for (size_t i = 0; i < pe->n_signatures; i++)
        n += pe->signatures[i].type == TL_WIN_CERT_TYPE_PKCS_SIGNED_DATA;
    return n;
}

static void deny_unverified(struct tl_sb_verdict *v, const struct failure *f, const char *trusted)
{
    v->allowed = false;
    if (v->n_signatures == 0)
        snprintf(v->reason, sizeof(v->reason), "not signed");
    else if (f->rank == 2)
        snprintf(v->reason, sizeof(v->reason), "%s (trusted here: %s)", f->reason, trusted);
    else
        snprintf(v->reason, sizeof(v->reason), "%s", f->reason);
}

/* EFI_CERT_X509_SHA256/384/512 entries against every certificate every
 * signature of the image carries, verified or not (EDK2's IsForbiddenByDbx
 * walks them all): a revoked CA cannot be hidden behind a longer chain or a
 * second signature. */
static int embedded_revoked(struct image_ctx *c, const struct tl_sig_db *list, const char *name,
                            struct tl_sb_verdict *v, struct tl_error *err)
{
    bool any_tbs = false;
    for (size_t i = 0; list && i < list->n_entries; i++)
        any_tbs |= list->entries[i].kind == TL_SIG_X509_SHA256 ||
                   list->entries[i].kind == TL_SIG_X509_SHA384 ||
                   list->entries[i].kind == TL_SIG_X509_SHA512;
    if (!any_tbs)
        return 0;
    for (size_t s = 0; s < c->pe->n_signatures; s++) {
        const struct tl_pe_signature *sig = &c->pe->signatures[s];
        struct tl_chain_cert *certs;
        size_t n;
        if (sig->type != TL_WIN_CERT_TYPE_PKCS_SIGNED_DATA ||
            tl_pkcs7_certificates(sig->data, sig->data_len, &certs, &n, NULL) < 0)
            continue; /* unreadable signatures allow nothing either */
        struct tl_sigcheck view = {0};
        size_t which = 0;
        const struct tl_sig_entry *e = NULL;
        for (size_t k = 0; k < n && !e; k += TL_SIGCHECK_MAX_CHAIN) {
            view.n_chain = n - k < TL_SIGCHECK_MAX_CHAIN ? n - k : TL_SIGCHECK_MAX_CHAIN;
            memcpy(view.chain, certs + k, view.n_chain * sizeof(*certs));
            e = chain_revoked(&view, list, &which);
            which += k;
        }
        if (e) {
            char hex[2 * TL_DIGEST_MAX + 1];
            tl_hex_encode(e->data, e->data_len, hex);
            verdict_hash(v, name, e);
            snprintf(v->reason, sizeof(v->reason),
                     "forbidden by %s: signature %zu carries certificate %.200s, revoked by %s "
                     "entry %s",
                     name, s + 1, certs[which].subject, hash_kind_label(e->kind), hex);
        }
        for (size_t k = 0; k < n; k++)
            free(certs[k].der);
        free(certs);
        if (e)
            return 1;
    }
    (void)err;
    return 0;
}

/* Steps 1-2 of both verifiers: hash or certificate on a deny list. */
static int check_denied(struct image_ctx *c, const struct tl_sig_db *list, const char *name,
                        struct tl_sb_verdict *v, struct tl_error *err)
{
    const struct tl_sig_entry *e = hash_listed(c, list);
    if (e) {
        char hex[2 * TL_DIGEST_MAX + 1];
        verdict_hash(v, name, e);
        tl_hex_encode(e->data, e->data_len, hex);
        snprintf(v->reason, sizeof(v->reason), "forbidden by %s: %s entry %s", name,
                 hash_kind_label(e->kind), hex);
        return 1;
    }
    int r = embedded_revoked(c, list, name, v, err);
    if (r != 0)
        return r;
    struct cert_set denied = {0};
    if (cert_set_add_db(&denied, list) < 0)
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    struct tl_sigcheck chk;
    r = denied.n ? any_signature(c, &denied, 0, &chk, NULL, err) : 0;
    cert_set_done(&denied);
    if (r <= 0)
        return r;
    verdict_cert(v, name, &chk);
    snprintf(v->reason, sizeof(v->reason), "forbidden by %s: signed by %s, revoked certificate %s",
             name, chk.signer_subject, v->cert_subject);
    tl_sigcheck_done(&chk);
    return 1;
}

static int firmware_decide(struct image_ctx *c, const struct tl_sb_keys *keys, time_t now,
                           struct tl_sb_verdict *v, struct tl_error *err)
{
    int r = check_denied(c, keys->dbx, "dbx", v, err);
    if (r != 0)
        return r < 0 ? r : 0;

    struct cert_set db = {0};
    if (cert_set_add_db(&db, keys->db) < 0)
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    struct failure f = {0};
    struct tl_sigcheck chk;
    r = any_signature(c, &db, now, &chk, &f, err);
    cert_set_done(&db);
    if (r < 0)
        return r;
    if (r == 1) {
        size_t which;
        const struct tl_sig_entry *e = chain_revoked(&chk, keys->dbx, &which);
        verdict_cert(v, e ? "dbx" : "db", &chk);
        if (e) {
            char hex[2 * TL_DIGEST_MAX + 1];
            tl_hex_encode(e->data, e->data_len, hex);
            v->by_certificate = false;
            verdict_hash(v, "dbx", e);
            snprintf(v->reason, sizeof(v->reason),
                     "forbidden by dbx: certificate %s revoked by %s entry %s",
                     chk.chain[which].subject, hash_kind_label(e->kind), hex);
        } else {
            v->allowed = true;
            snprintf(v->reason, sizeof(v->reason), "%s in db", chk.reason);
        }
        tl_sigcheck_done(&chk);
        return 0;
    }
    const struct tl_sig_entry *e = hash_listed(c, keys->db);
    if (e) {
        verdict_hash(v, "db", e);
        v->allowed = true;
        snprintf(v->reason, sizeof(v->reason), "its %s digest is in db", hash_kind_label(e->kind));
        return 0;
    }
    deny_unverified(v, &f, "db");
    return 0;
}

static int shim_sbat(const struct tl_pe *pe, enum tl_verifier verifier, const struct tl_pe *shim,
                     const struct tl_sb_keys *keys, struct tl_sb_verdict *v)
{
    if (!pe->sbat || pe->sbat_len == 0) {
        if (verifier == TL_VERIFIER_SHIM_PROTOCOL)
            return 0;
        snprintf(v->source, sizeof(v->source), "SbatLevel");
        snprintf(v->reason, sizeof(v->reason),
                 "no .sbat section (shim requires one for images it starts)");
        return 1;
    }
    struct tl_sbat image, previous, latest;
    struct tl_error perr = {0};
    if (tl_sbat_parse(pe->sbat, pe->sbat_len, TL_SBAT_IMAGE, &image, &perr) < 0) {
        snprintf(v->source, sizeof(v->source), "SbatLevel");
        snprintf(v->reason, sizeof(v->reason), "malformed .sbat: %s", perr.message);
        return 1;
    }
    /* shim applies its built-in "previous" level unless the machine's
     * SbatLevel is newer. */
    const struct tl_sbat *level = keys->sbat_level;
    if (shim->sbatlevel) {
        if (tl_sbat_level_section_parse(shim->sbatlevel, shim->sbatlevel_len, &previous, &latest,
                                        &perr) < 0) {
            /* Fail closed: a level we cannot read cannot be shown harmless. */
            snprintf(v->source, sizeof(v->source), "SbatLevel");
            snprintf(v->reason, sizeof(v->reason), "shim's .sbatlevel does not parse: %s",
                     perr.message);
            return 1;
        }
        level = tl_sbat_newer(level, &previous);
    }
    const struct tl_sbat_entry *which, *rule;
    if (level && tl_sbat_check(&image, level, &which, &rule)) {
        snprintf(v->source, sizeof(v->source), "SbatLevel");
        snprintf(v->reason, sizeof(v->reason),
                 "revoked by SBAT: %s generation %u, SbatLevel %s requires %s,%u", which->component,
                 which->generation, level->datestamp, rule->component, rule->generation);
        return 1;
    }
    return 0;
}

struct deny_list {
    const struct tl_sig_db *list;
    const char *name;
};

/* shim allows through a signature whose chain verified; unless a
 * certificate of that chain (the anchor included) is revoked by an
 * X509_SHA* entry of a deny list. */
static void shim_allow(struct tl_sb_verdict *v, const char *source, const struct tl_sigcheck *chk,
                       const struct deny_list *deny, size_t n_deny)
{
    verdict_cert(v, source, chk);
    for (size_t i = 0; i < n_deny; i++) {
        size_t which;
        const struct tl_sig_entry *e = chain_revoked(chk, deny[i].list, &which);
        if (e) {
            char hex[2 * TL_DIGEST_MAX + 1];
            tl_hex_encode(e->data, e->data_len, hex);
            v->by_certificate = false;
            verdict_hash(v, deny[i].name, e);
            snprintf(v->reason, sizeof(v->reason),
                     "forbidden by %s: certificate %.200s revoked "
                     "by %s entry %s",
                     deny[i].name, chk->chain[which].subject, hash_kind_label(e->kind), hex);
            return;
        }
    }
    v->allowed = true;
    if (strcmp(source, "vendor_cert") == 0)
        snprintf(v->reason, sizeof(v->reason), "%s, shim's vendor certificate", chk->reason);
    else
        snprintf(v->reason, sizeof(v->reason), "%s in %s", chk->reason, source);
}

static int shim_decide(struct image_ctx *c, enum tl_verifier verifier, const struct tl_pe *shim,
                       const struct tl_sb_keys *keys, time_t now, struct tl_sb_verdict *v,
                       struct tl_error *err)
{
    if (!shim)
        return tl_error_set_nopos(err, -EINVAL, "%s: a shim verifier needs the shim image",
                                  v->component);
    if (shim_sbat(c->pe, verifier, shim, keys, v))
        return 0;

    struct tl_sig_db vendor_dbx = {0};
    struct tl_error perr = {0};
    if (shim->vendor_dbx && shim->vendor_dbx_len &&
        tl_sig_db_parse(shim->vendor_dbx, shim->vendor_dbx_len, &vendor_dbx, &perr) < 0) {
        /* Fail closed: revocations we cannot read cannot be shown absent. */
        snprintf(v->source, sizeof(v->source), "vendor_dbx");
        snprintf(v->reason, sizeof(v->reason), "shim's vendor dbx does not parse: %s",
                 perr.message);
        return 0;
    }
    const struct deny_list deny[] = {
        {keys->dbx, "dbx"}, {&vendor_dbx, "vendor_dbx"}, {keys->mokx, "MokListX"}};
    int r = 0;
    for (size_t i = 0; i < TL_ARRAY_SIZE(deny) && r == 0; i++)
        r = check_denied(c, deny[i].list, deny[i].name, v, err);
    if (r != 0) {
        tl_sig_db_done(&vendor_dbx);
        return r < 0 ? r : 0;
    }

    struct failure f = {0};
    const struct {
        const struct tl_sig_db *list;
        const char *name;
    } allow[] = {{keys->db, "db"}, {keys->mok, "MokList"}};
    for (size_t i = 0; i < TL_ARRAY_SIZE(allow); i++) {
        const struct tl_sig_entry *e = hash_listed(c, allow[i].list);
        if (e) {
            verdict_hash(v, allow[i].name, e);
            v->allowed = true;
            snprintf(v->reason, sizeof(v->reason), "its %s digest is in %s",
                     hash_kind_label(e->kind), allow[i].name);
            return 0;
        }
        struct cert_set set = {0};
        struct tl_sigcheck chk;
        r = cert_set_add_db(&set, allow[i].list) < 0 ? -ENOMEM
            : set.n                                  ? any_signature(c, &set, now, &chk, &f, err)
                                                     : 0;
        cert_set_done(&set);
        if (r < 0) {
            tl_sig_db_done(&vendor_dbx);
            return r;
        }
        if (r == 1) {
            shim_allow(v, allow[i].name, &chk, deny, TL_ARRAY_SIZE(deny));
            tl_sigcheck_done(&chk);
            tl_sig_db_done(&vendor_dbx);
            return 0;
        }
    }
    /* The vendor certificate built into shim. */
    struct tl_cert_ref vendor_ref = {shim->vendor_cert, shim->vendor_cert_len};
    struct cert_set vendor = {.refs = &vendor_ref, .n = shim->vendor_cert_len ? 1 : 0};
    struct tl_sigcheck chk;
    r = vendor.n ? any_signature(c, &vendor, now, &chk, &f, err) : 0;
    if (r == 1) {
        shim_allow(v, "vendor_cert", &chk, deny, TL_ARRAY_SIZE(deny));
        tl_sigcheck_done(&chk);
    } else if (r == 0) {
        deny_unverified(v, &f, "db, MokList and shim's vendor certificate");
    }
    tl_sig_db_done(&vendor_dbx);
    return r < 0 ? r : 0;
}

int tl_secureboot_check_image(const struct tl_pe *pe, const char *component,
                              enum tl_verifier verifier, const struct tl_pe *shim,
                              const struct tl_sb_keys *keys, time_t now, struct tl_hasher *h,
                              struct tl_sb_verdict *v, struct tl_error *err)
{
    *v = (struct tl_sb_verdict){.verifier = verifier};
    snprintf(v->component, sizeof(v->component), "%s", component);
    struct tl_hasher *own = NULL;
    if (!h && !(h = own = tl_hasher_new()))
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    struct image_ctx c = {.pe = pe, .h = h};
    v->n_signatures = count_pkcs7(pe);
    uint8_t d[TL_DIGEST_MAX];
    int r = image_digest(&c, TL_ALG_SHA256, d);
    if (r < 0) {
        tl_hasher_free(own);
        return tl_error_set_nopos(err, r, "%s: cannot compute its Authenticode digest", component);
    }
    memcpy(v->sha256, d, 32);
    if (keys->secure_boot_off) {
        v->allowed = true;
        snprintf(v->reason, sizeof(v->reason),
                 "Secure Boot is off (no PK enrolled): started without verification");
        tl_hasher_free(own);
        return 0;
    }
    r = verifier == TL_VERIFIER_FIRMWARE ? firmware_decide(&c, keys, now, v, err)
                                         : shim_decide(&c, verifier, shim, keys, now, v, err);
    tl_hasher_free(own);
    return r;
}

const char *tl_secureboot_component_name(const struct tl_pe *pe)
{
    if (pe->has_vendor_cert_section)
        return "shim";
    if (pe->sbat) {
        struct tl_sbat s;
        if (tl_sbat_parse(pe->sbat, pe->sbat_len, TL_SBAT_IMAGE, &s, NULL) == 0 &&
            s.n_entries > 1) {
            if (strcmp(s.entries[1].component, "grub") == 0)
                return "grub";
            if (strcmp(s.entries[1].component, "systemd-boot") == 0 ||
                strcmp(s.entries[1].component, "systemd") == 0)
                return "systemd-boot";
            if (strcmp(s.entries[1].component, "linux") == 0)
                return "kernel";
        }
    }
    /* x86 Linux boot protocol: "HdrS" at 0x202 (Documentation/x86/boot). */
    if (pe->len > 0x206 && memcmp(pe->buf + 0x202, "HdrS", 4) == 0)
        return "kernel";
    return NULL;
}

int tl_secureboot_check_chain(const struct tl_pe *const *images, const char *const *names, size_t n,
                              const struct tl_sb_keys *keys, time_t now, struct tl_hasher *h,
                              struct tl_sb_verdict *verdicts, struct tl_error *err)
{
    const struct tl_pe *shim = n > 0 && images[0]->has_vendor_cert_section ? images[0] : NULL;
    int denied = 0;
    for (size_t i = 0; i < n; i++) {
        char fallback[32];
        const char *name = names && names[i] ? names[i] : tl_secureboot_component_name(images[i]);
        if (!name) {
            snprintf(fallback, sizeof(fallback), "image%zu", i + 1);
            name = fallback;
        }
        enum tl_verifier verifier = i == 0 || !shim ? TL_VERIFIER_FIRMWARE
                                    : i == 1        ? TL_VERIFIER_SHIM
                                                    : TL_VERIFIER_SHIM_PROTOCOL;
        int r = tl_secureboot_check_image(images[i], name, verifier, shim, keys, now, h,
                                          &verdicts[i], err);
        if (r < 0)
            return r;
        denied += !verdicts[i].allowed;
    }
    return denied;
}

const char *tl_verifier_name(enum tl_verifier v)
{
    switch (v) {
    case TL_VERIFIER_FIRMWARE:
        return "firmware";
    case TL_VERIFIER_SHIM:
        return "shim";
    case TL_VERIFIER_SHIM_PROTOCOL:
        return "shim-protocol";
    }
    return "?";
}
