/* Secure Boot decisions and prediction with Debian 12's real signed chain
 * (shim, grub, kernel from $TL_FIXTURES) and OVMF's real Microsoft store:
 * who allows each component, which component a change breaks and why, and
 * that predicted PCR 7 / PCR 4 equal the real boot log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl/eventlog.h"
#include "tl/predict.h"
#include "tl/replay.h"
#include "tl/secureboot.h"
#include "tl/sigverify.h"
#include "tl/util.h"
#include "tl/varstore.h"
#include "vectors.h"

struct image {
    uint8_t *buf;
    size_t len;
    struct tl_pe pe;
};

struct world {
    struct image shim, grub, kernel;
    uint8_t *vars_buf;
    size_t vars_len;
    struct tl_varstore vs;
    struct tl_sig_db db, dbx;
};

static const char *fixture(const char *name)
{
    static char path[4096];
    const char *dir = getenv("TL_FIXTURES");
    if (!dir || !*dir)
        fail_msg("TL_FIXTURES is not set (make fixtures)");
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return path;
}

static void image_load_buf(struct image *im)
{
    struct tl_error err = {0};
    if (tl_pe_parse(im->buf, im->len, &im->pe, &err) < 0)
        fail_msg("pe: %s", err.message);
}

static void image_load(struct image *im, const char *name)
{
    im->buf = file_read(fixture(name), &im->len);
    if (!im->buf)
        fail_msg("cannot read %s (make fixtures)", fixture(name));
    image_load_buf(im);
}

static void image_done(struct image *im)
{
    tl_pe_done(&im->pe);
    free(im->buf);
}

static int world_setup(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    image_load(&w->shim, "shimx64.efi.signed");
    image_load(&w->grub, "grubx64.efi.signed");
    image_load(&w->kernel, "measured/vmlinuz"); /* the recorded boot's */
    const char *ovmf = getenv("TL_OVMF_DIR");
    char path[512];
    snprintf(path, sizeof(path), "%s/OVMF_VARS_4M.ms.fd", ovmf && *ovmf ? ovmf : "/usr/share/OVMF");
    w->vars_buf = file_read(path, &w->vars_len);
    if (!w->vars_buf)
        fail_msg("cannot read %s (apt-get install ovmf)", path);
    assert_int_equal(tl_varstore_parse(w->vars_buf, w->vars_len, &w->vs, NULL), 0);
    const struct tl_varstore_var *db =
        tl_varstore_find(&w->vs, "db", &TL_EFI_IMAGE_SECURITY_DB_GUID);
    const struct tl_varstore_var *dbx =
        tl_varstore_find(&w->vs, "dbx", &TL_EFI_IMAGE_SECURITY_DB_GUID);
    assert_int_equal(tl_sig_db_parse(db->data, db->data_len, &w->db, NULL), 0);
    assert_int_equal(tl_sig_db_parse(dbx->data, dbx->data_len, &w->dbx, NULL), 0);
    *state = w;
    return 0;
}

static int world_teardown(void **state)
{
    struct world *w = *state;
    image_done(&w->shim);
    image_done(&w->grub);
    image_done(&w->kernel);
    tl_sig_db_done(&w->db);
    tl_sig_db_done(&w->dbx);
    tl_varstore_done(&w->vs);
    free(w->vars_buf);
    free(w);
    return 0;
}

static int check_chain(struct world *w, const struct tl_pe *shim, const struct tl_pe *grub,
                       const struct tl_pe *kernel, const struct tl_sb_keys *keys,
                       struct tl_sb_verdict v[3])
{
    const struct tl_pe *chain[3] = {shim, grub, kernel};
    struct tl_error err = {0};
    (void)w;
    int r = tl_secureboot_check_chain(chain, NULL, 3, keys, 0, NULL, v, &err);
    if (r < 0)
        fail_msg("check_chain: %s", err.message);
    return r;
}

static void assert_contains(const char *haystack, const char *needle)
{
    if (!strstr(haystack, needle))
        fail_msg("\"%s\" lacks \"%s\"", haystack, needle);
}

static void test_debian_chain_passes(void **state)
{
    struct world *w = *state;
    struct tl_sb_keys keys = {.db = &w->db, .dbx = &w->dbx};
    struct tl_sb_verdict v[3];
    assert_int_equal(check_chain(w, &w->shim.pe, &w->grub.pe, &w->kernel.pe, &keys, v), 0);

    assert_string_equal(v[0].component, "shim");
    assert_int_equal(v[0].verifier, TL_VERIFIER_FIRMWARE);
    assert_string_equal(v[0].source, "db");
    assert_contains(v[0].cert_subject, "CN=Microsoft Corporation UEFI CA 2011");
    assert_contains(v[0].signer_subject, "CN=Microsoft Windows UEFI Driver Publisher");
    assert_int_equal(v[0].n_signatures, 2);

    assert_string_equal(v[1].component, "grub");
    assert_int_equal(v[1].verifier, TL_VERIFIER_SHIM);
    assert_string_equal(v[1].source, "vendor_cert");
    assert_string_equal(v[1].cert_subject, "CN=Debian Secure Boot CA");
    assert_string_equal(v[1].signer_subject, "CN=Debian Secure Boot Signer 2022 - grub2");

    assert_string_equal(v[2].component, "kernel");
    assert_int_equal(v[2].verifier, TL_VERIFIER_SHIM_PROTOCOL);
    assert_string_equal(v[2].source, "vendor_cert");
    assert_string_equal(v[2].cert_subject, "CN=Debian Secure Boot CA");
    assert_string_equal(v[2].signer_subject, "CN=Debian Secure Boot Signer 2022 - linux");

    char hex[65];
    tl_hex_encode(v[2].sha256, 32, hex);
    assert_string_equal(hex, "6b1bf35c3bee9918250f593a6fff889c75c1e239cd2fe9e5bb0cd3de9dcb8e51");
}

/* One flipped byte inside an image: that component fails, by name, with
 * the digest reason; the others still pass. */
static void test_flipped_byte_names_component(void **state)
{
    struct world *w = *state;
    struct tl_sb_keys keys = {.db = &w->db, .dbx = &w->dbx};
    struct tl_sb_verdict v[3];
    struct image *targets[] = {&w->grub, &w->kernel, &w->shim};
    for (int t = 0; t < 3; t++) {
        struct image copy = {.len = targets[t]->len};
        copy.buf = malloc(copy.len);
        memcpy(copy.buf, targets[t]->buf, copy.len);
        const struct tl_pe_section *text = tl_pe_find_section(&targets[t]->pe, ".text");
        assert_non_null(text);
        copy.buf[text->raw_offset + text->raw_size / 2] ^= 0x01;
        image_load_buf(&copy);
        const struct tl_pe *chain[3] = {&w->shim.pe, &w->grub.pe, &w->kernel.pe};
        chain[t == 2 ? 0 : t + 1] = &copy.pe;
        assert_int_equal(check_chain(w, chain[0], chain[1], chain[2], &keys, v), 1);
        int bad = t == 2 ? 0 : t + 1;
        assert_false(v[bad].allowed);
        assert_string_equal(v[bad].component, t == 0 ? "grub" : t == 1 ? "kernel" : "shim");
        assert_contains(v[bad].reason, "digest does not match its signature");
        for (int i = 0; i < 3; i++)
            if (i != bad)
                assert_true(v[i].allowed);
        image_done(&copy);
    }
}

/* The kernel with its signature removed (security directory zeroed,
 * certificate table cut off). */
static void test_unsigned(void **state)
{
    struct world *w = *state;
    struct image copy = {.len = w->kernel.pe.cert_table_offset};
    copy.buf = malloc(copy.len);
    memcpy(copy.buf, w->kernel.buf, copy.len);
    memset(copy.buf + w->kernel.pe.secdir_offset, 0, 8);
    image_load_buf(&copy);
    assert_int_equal(copy.pe.n_signatures, 0);
    struct tl_sb_keys keys = {.db = &w->db, .dbx = &w->dbx};
    struct tl_sb_verdict v;
    assert_int_equal(tl_secureboot_check_image(&copy.pe, "kernel", TL_VERIFIER_FIRMWARE, NULL,
                                               &keys, 0, NULL, &v, NULL),
                     0);
    assert_false(v.allowed);
    assert_string_equal(v.reason, "not signed");
    /* Through shim too. */
    assert_int_equal(tl_secureboot_check_image(&copy.pe, "kernel", TL_VERIFIER_SHIM_PROTOCOL,
                                               &w->shim.pe, &keys, 0, NULL, &v, NULL),
                     0);
    assert_false(v.allowed);
    assert_string_equal(v.reason, "not signed");
    /* The kernel itself has no .sbat: shim refuses to start it directly. */
    assert_int_equal(tl_secureboot_check_image(&w->kernel.pe, "kernel", TL_VERIFIER_SHIM,
                                               &w->shim.pe, &keys, 0, NULL, &v, NULL),
                     0);
    assert_false(v.allowed);
    assert_contains(v.reason, "no .sbat section");
    image_done(&copy);
}

static void build_db(struct tl_sig_db *out, uint8_t **buf, size_t *len, enum tl_sig_kind kind,
                     const uint8_t *data, size_t data_len)
{
    *buf = NULL;
    *len = 0;
    assert_int_equal(tl_sig_list_append(buf, len, kind, &TL_SHIM_LOCK_GUID, data, data_len), 0);
    assert_int_equal(tl_sig_db_parse(*buf, *len, out, NULL), 0);
}

/* dbx entries: an image hash, a certificate, a TBS hash. */
static void test_dbx(void **state)
{
    struct world *w = *state;
    struct tl_sb_verdict v[3];
    struct tl_sig_db dbx;
    uint8_t *buf;
    size_t len;
    uint8_t digest[TL_DIGEST_MAX];

    /* grub's SHA-256 as a dbx hash entry: shim denies grub. */
    assert_int_equal(tl_pe_authenticode_digest(&w->grub.pe, NULL, TL_ALG_SHA256, digest, NULL), 32);
    build_db(&dbx, &buf, &len, TL_SIG_SHA256, digest, 32);
    struct tl_sb_keys keys = {.db = &w->db, .dbx = &dbx};
    assert_int_equal(check_chain(w, &w->shim.pe, &w->grub.pe, &w->kernel.pe, &keys, v), 1);
    assert_false(v[1].allowed);
    assert_string_equal(v[1].source, "dbx");
    assert_true(v[1].by_hash);
    assert_contains(v[1].reason,
                    "forbidden by dbx: sha256 entry "
                    "a68f6d71ebddaa19751ff8d729f67d11b0df8e4c49400c3e7e90de16119e1265");
    tl_sig_db_done(&dbx);
    free(buf);

    /* shim's SHA-1 in dbx: the firmware denies shim. */
    assert_int_equal(tl_pe_authenticode_digest(&w->shim.pe, NULL, TL_ALG_SHA1, digest, NULL), 20);
    build_db(&dbx, &buf, &len, TL_SIG_SHA1, digest, 20);
    keys.dbx = &dbx;
    check_chain(w, &w->shim.pe, &w->grub.pe, &w->kernel.pe, &keys, v);
    assert_false(v[0].allowed);
    assert_contains(v[0].reason,
                    "forbidden by dbx: sha1 entry 04c4d45bd6e47fe0416305d56f4ec58c9cf1359a");
    tl_sig_db_done(&dbx);
    free(buf);

    /* Debian's CA certificate in dbx: grub and the kernel are denied. */
    build_db(&dbx, &buf, &len, TL_SIG_X509, w->shim.pe.vendor_cert, w->shim.pe.vendor_cert_len);
    keys.dbx = &dbx;
    assert_int_equal(check_chain(w, &w->shim.pe, &w->grub.pe, &w->kernel.pe, &keys, v), 2);
    assert_true(v[0].allowed);
    for (int i = 1; i < 3; i++) {
        assert_false(v[i].allowed);
        assert_string_equal(v[i].source, "dbx");
        assert_contains(v[i].reason, "revoked certificate CN=Debian Secure Boot CA");
    }
    tl_sig_db_done(&dbx);
    free(buf);
}

/* Review findings, each a way to fail open before it was fixed. */
static void test_fail_closed(void **state)
{
    struct world *w = *state;
    struct tl_sb_verdict v;
    struct tl_sig_db dbx;
    uint8_t *buf = NULL;
    size_t len = 0;
    struct tl_sb_keys keys = {.db = &w->db, .dbx = &w->dbx};

    /* The TBS hash of a certificate a signature carries, in dbx: denied
     * even though the chain used to allow is another (EDK2 walks them all). */
    const struct tl_pe_signature *sig = &w->grub.pe.signatures[0];
    struct tl_chain_cert *certs;
    size_t n;
    assert_int_equal(tl_pkcs7_certificates(sig->data, sig->data_len, &certs, &n, NULL), 0);
    assert_true(n >= 1);
    assert_string_equal(certs[0].subject, "CN=Debian Secure Boot Signer 2022 - grub2");
    uint8_t entry[32 + 16] = {0};
    memcpy(entry, certs[0].tbs_sha256, 32);
    for (size_t k = 0; k < n; k++)
        free(certs[k].der);
    free(certs);
    build_db(&dbx, &buf, &len, TL_SIG_X509_SHA256, entry, sizeof(entry));
    keys.dbx = &dbx;
    assert_int_equal(tl_secureboot_check_image(&w->grub.pe, "grub", TL_VERIFIER_SHIM, &w->shim.pe,
                                               &keys, 0, NULL, &v, NULL),
                     0);
    assert_false(v.allowed);
    assert_contains(v.reason, "carries certificate CN=Debian Secure Boot Signer 2022 - grub2, "
                              "revoked by x509-sha256 entry");
    tl_sig_db_done(&dbx);
    free(buf);

    /* A deny list is used whole: the vendor CA after 64 other certificates. */
    buf = NULL;
    len = 0;
    for (int i = 0; i < 64; i++)
        assert_int_equal(tl_sig_list_append(&buf, &len, TL_SIG_X509, &TL_SHIM_LOCK_GUID,
                                            w->db.entries[0].data, w->db.entries[0].data_len),
                         0);
    assert_int_equal(tl_sig_list_append(&buf, &len, TL_SIG_X509, &TL_SHIM_LOCK_GUID,
                                        w->shim.pe.vendor_cert, w->shim.pe.vendor_cert_len),
                     0);
    assert_int_equal(tl_sig_db_parse(buf, len, &dbx, NULL), 0);
    assert_int_equal(dbx.n_entries, 65);
    keys.dbx = &dbx;
    assert_int_equal(tl_secureboot_check_image(&w->grub.pe, "grub", TL_VERIFIER_SHIM, &w->shim.pe,
                                               &keys, 0, NULL, &v, NULL),
                     0);
    assert_false(v.allowed);
    assert_contains(v.reason, "revoked certificate CN=Debian Secure Boot CA");
    tl_sig_db_done(&dbx);
    free(buf);

    /* shim's vendor dbx or .sbatlevel that does not parse: denied. */
    keys.dbx = &w->dbx;
    struct tl_pe shim = w->shim.pe;
    shim.vendor_dbx_len += 4;
    assert_int_equal(tl_secureboot_check_image(&w->grub.pe, "grub", TL_VERIFIER_SHIM, &shim, &keys,
                                               0, NULL, &v, NULL),
                     0);
    assert_false(v.allowed);
    assert_contains(v.reason, "shim's vendor dbx does not parse");
    shim = w->shim.pe;
    shim.sbatlevel_len = 11;
    assert_int_equal(tl_secureboot_check_image(&w->grub.pe, "grub", TL_VERIFIER_SHIM, &shim, &keys,
                                               0, NULL, &v, NULL),
                     0);
    assert_false(v.allowed);
    assert_contains(v.reason, "shim's .sbatlevel does not parse");
}

/* An SbatLevel newer than shim's own that revokes grub 5. */
static void test_sbat_revocation(void **state)
{
    struct world *w = *state;
    static const char level_text[] = "sbat,1,2099010100\ngrub,6\n";
    struct tl_sbat level;
    assert_int_equal(tl_sbat_parse((const uint8_t *)level_text, sizeof(level_text) - 1,
                                   TL_SBAT_LEVEL, &level, NULL),
                     0);
    assert_string_equal(level.datestamp, "2099010100");
    struct tl_sb_keys keys = {.db = &w->db, .dbx = &w->dbx, .sbat_level = &level};
    struct tl_sb_verdict v[3];
    assert_int_equal(check_chain(w, &w->shim.pe, &w->grub.pe, &w->kernel.pe, &keys, v), 1);
    assert_false(v[1].allowed);
    assert_string_equal(v[1].source, "SbatLevel");
    assert_string_equal(v[1].reason,
                        "revoked by SBAT: grub generation 5, SbatLevel 2099010100 requires grub,6");
    /* An older machine level than shim's built-in one: shim's applies, and
     * grub 5 passes it. */
    static const char old_text[] = "sbat,1,2021030218\ngrub,1\n";
    assert_int_equal(
        tl_sbat_parse((const uint8_t *)old_text, sizeof(old_text) - 1, TL_SBAT_LEVEL, &level, NULL),
        0);
    assert_int_equal(check_chain(w, &w->shim.pe, &w->grub.pe, &w->kernel.pe, &keys, v), 0);

    /* shim's .sbatlevel: previous and latest. */
    struct tl_sbat previous, latest;
    assert_int_equal(tl_sbat_level_section_parse(w->shim.pe.sbatlevel, w->shim.pe.sbatlevel_len,
                                                 &previous, &latest, NULL),
                     0);
    assert_string_equal(previous.datestamp, "2025021800");
    assert_string_equal(latest.datestamp, "2025051000");
    assert_int_equal(latest.n_entries, 4);
    assert_string_equal(latest.entries[3].component, "grub.proxmox");
}

static void test_sbat_parse_errors(void **state)
{
    (void)state;
    struct tl_sbat s;
    struct tl_error err = {0};
    static const char *bad[] = {
        "",
        "grub,1,a,b,c,d\n",                 /* no sbat line first */
        "sbat,1,a,b,c,d\ngrub,x,a,b,c,d\n", /* generation not a number */
        "sbat,1,a,b,c,d\ngrub,1\n",         /* too few fields for an image */
        "sbat,1,a,b,c,d\ngr\x01ub,1,a,b,c,d\n",
    };
    for (size_t i = 0; i < TL_ARRAY_SIZE(bad); i++)
        assert_true(
            tl_sbat_parse((const uint8_t *)bad[i], strlen(bad[i]), TL_SBAT_IMAGE, &s, &err) < 0);
}

/* Prediction for the Debian chain and OVMF_VARS_4M.ms.fd equals the real
 * boot log: PCR 7 in every bank, and the PCR 4 application digests. */
static void test_predict_matches_real_log(void **state)
{
    struct world *w = *state;
    struct tl_sb_keys keys = {.db = &w->db, .dbx = &w->dbx};
    struct tl_sb_verdict v[3];
    assert_int_equal(check_chain(w, &w->shim.pe, &w->grub.pe, &w->kernel.pe, &keys, v), 0);
    const struct tl_pe *chain[3] = {&w->shim.pe, &w->grub.pe, &w->kernel.pe};
    static const uint16_t algs[] = {TL_ALG_SHA1, TL_ALG_SHA256, TL_ALG_SHA384, TL_ALG_SHA512};
    struct tl_prediction p;
    struct tl_error err = {0};
    if (tl_predict(&w->vs, chain, v, 3, algs, 4, NULL, &p, &err) < 0)
        fail_msg("predict: %s", err.message);
    assert_int_equal(p.n_events, 9);
    assert_string_equal(p.events[8].what, "authority for grub");

    size_t len;
    uint8_t *logbuf = vector_read("eventlog/ovmf-debian12/secureboot-on.eventlog.bin", &len);
    struct tl_eventlog log;
    struct tl_pcr_values pcrs;
    assert_int_equal(tl_eventlog_parse(logbuf, len, &log, NULL), 0);
    assert_int_equal(tl_replay(&log, NULL, &pcrs, NULL), 0);
    for (unsigned b = 0; b < 4; b++) {
        assert_int_equal(pcrs.banks[b].alg, algs[b]);
        assert_memory_equal(p.pcr7[b], pcrs.banks[b].value[7], pcrs.banks[b].size);
    }
    /* The records themselves, byte for byte: PCR 7 events of the log. */
    size_t k = 0;
    for (size_t i = 0; i < log.n_events; i++) {
        const struct tl_event *ev = &log.events[i];
        if (ev->pcr != 7 || ev->type == TL_EV_NO_ACTION)
            continue;
        assert_true(k < p.n_events);
        assert_int_equal(ev->type, p.events[k].type);
        assert_int_equal(ev->data_size, p.events[k].data_len);
        assert_memory_equal(tl_event_data(&log, ev), p.events[k].data, ev->data_size);
        k++;
    }
    assert_int_equal(k, p.n_events);
    /* PCR 4: shim (event 26), grub (32), kernel (43). */
    static const uint32_t app_events[] = {26, 32, 43};
    for (int a = 0; a < 3; a++)
        for (unsigned b = 0; b < 4; b++)
            assert_memory_equal(p.apps[a].digest[b],
                                tl_event_digest(&log, &log.events[app_events[a]], b),
                                log.banks[b].size);
    tl_prediction_done(&p);
    tl_eventlog_done(&log);
    free(logbuf);

    /* A chain that would not boot has no prediction. */
    v[1].allowed = false;
    assert_int_equal(tl_predict(&w->vs, chain, v, 3, algs, 4, NULL, &p, &err), -EINVAL);
    assert_contains(err.message, "grub would not boot");
}

/* No PK (OVMF_VARS_4M.fd): Secure Boot is off, every image starts, no
 * authority is logged, and PCR 7 is what a real OVMF boot without keys
 * measured (the Fedora 37 log of tpm2-tools). */
static void test_secure_boot_off(void **state)
{
    struct world *w = *state;
    const char *ovmf = getenv("TL_OVMF_DIR");
    char path[512];
    snprintf(path, sizeof(path), "%s/OVMF_VARS_4M.fd", ovmf && *ovmf ? ovmf : "/usr/share/OVMF");
    size_t len;
    uint8_t *buf = file_read(path, &len);
    assert_non_null(buf);
    struct tl_varstore vs;
    assert_int_equal(tl_varstore_parse(buf, len, &vs, NULL), 0);
    assert_null(tl_varstore_find(&vs, "PK", &TL_EFI_GLOBAL_VARIABLE_GUID));
    struct tl_sig_db empty = {0};
    struct tl_sb_keys keys = {.db = &empty, .dbx = &empty, .secure_boot_off = true};
    struct tl_sb_verdict v[3];
    struct image unsigned_kernel = {.len = w->kernel.pe.cert_table_offset};
    unsigned_kernel.buf = dup_exact(w->kernel.buf, unsigned_kernel.len);
    memset(unsigned_kernel.buf + w->kernel.pe.secdir_offset, 0, 8);
    image_load_buf(&unsigned_kernel);
    assert_int_equal(check_chain(w, &w->shim.pe, &w->grub.pe, &unsigned_kernel.pe, &keys, v), 0);
    assert_contains(v[2].reason, "Secure Boot is off");

    const struct tl_pe *chain[3] = {&w->shim.pe, &w->grub.pe, &unsigned_kernel.pe};
    static const uint16_t algs[] = {TL_ALG_SHA256};
    struct tl_prediction p;
    assert_int_equal(tl_predict(&vs, chain, v, 3, algs, 1, NULL, &p, NULL), 0);
    assert_int_equal(p.n_events, 6); /* five variables and the separator */
    assert_int_equal(p.n_apps, 2);   /* shim and grub: the kernel is not measured */
    uint8_t *logbuf = vector_read("eventlog/tpm2-tools/event-sd-boot-fedora37.bin", &len);
    struct tl_eventlog log;
    struct tl_pcr_values pcrs;
    assert_int_equal(tl_eventlog_parse(logbuf, len, &log, NULL), 0);
    assert_int_equal(tl_replay(&log, NULL, &pcrs, NULL), 0);
    assert_int_equal(pcrs.banks[0].alg, TL_ALG_SHA256);
    assert_memory_equal(p.pcr7[0], pcrs.banks[0].value[7], 32);
    tl_prediction_done(&p);
    tl_eventlog_done(&log);
    free(logbuf);
    image_done(&unsigned_kernel);
    tl_varstore_done(&vs);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_debian_chain_passes),
        cmocka_unit_test(test_flipped_byte_names_component),
        cmocka_unit_test(test_unsigned),
        cmocka_unit_test(test_dbx),
        cmocka_unit_test(test_fail_closed),
        cmocka_unit_test(test_sbat_revocation),
        cmocka_unit_test(test_sbat_parse_errors),
        cmocka_unit_test(test_predict_matches_real_log),
        cmocka_unit_test(test_secure_boot_off),
    };
    return cmocka_run_group_tests(tests, world_setup, world_teardown);
}
