/* Unit tests for lib/efi/varstore.c: OVMF/EDK2 variable stores
 * (EFI_FIRMWARE_VOLUME_HEADER, PI 1.8 vol. 3 3.2.1; VARIABLE_STORE_HEADER and
 * AUTHENTICATED_VARIABLE_HEADER, EDK2 MdeModulePkg/Include/Guid/
 * VariableFormat.h; liveness as in EDK2's VariableParsing.c FindVariableEx).
 *
 * The stores are Debian 12's OVMF 2022.11 (package ovmf 2022.11-6+deb12u2):
 * OVMF_VARS_4M.fd (empty, Secure Boot off) and OVMF_VARS_4M.ms.fd (PK and
 * KEK with Debian's key, Microsoft's KEK CA and db CAs enrolled), read from
 * $TL_OVMF_DIR (default /usr/share/OVMF); a missing file is a failure.
 *
 * Every expected value was taken independently with a separate Python
 * decoder (struct.unpack over the raw file, sha256 of each variable's data):
 * the .ms.fd store holds 57 variable headers, 31 of them VAR_ADDED, 25
 * deleted (State 0x3c) and one 0x3d, and no copy is in deleted transition.
 * The keys are compared byte for byte with what OVMF measured into PCR 7 on
 * a real boot from this very store
 * (../shared/vectors/eventlog/ovmf-debian12/secureboot-on.eventlog.bin,
 * EV_EFI_VARIABLE_DRIVER_CONFIG events 5..8, TCG PFP 1.05 10.4.4).
 *
 * Malformed-input tests copy every prefix into an exact-size allocation so
 * that ASan catches any read past the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl/efi.h"
#include "tl/eventlog.h"
#include "tl/util.h"
#include "tl/varstore.h"
#include "vectors.h"

#define OVMF_LOG "eventlog/ovmf-debian12/secureboot-on.eventlog.bin"

#define STORE_OFFSET 0x48    /* HeaderLength of the FV header */
#define STORE_SIZE   0x3ffb8 /* VARIABLE_STORE_HEADER.Size (4 MiB builds) */
#define STORE_END    0x40000
#define FIRST_VAR    0x64 /* store header + 28 */
#define FILE_SIZE_4M 540672
#define MS_VARS_END  0x5998 /* after the last of the 57 headers */
#define MS_COMPACTED 0x48c0 /* end of the 31 live variables once compacted */

#define MICROSOFT_OWNER "77fa9abd-0359-4d32-bd60-28f4e78f784b"

/* The live variables of OVMF_VARS_4M.ms.fd, in store order. */
static const struct expected_var {
    const char *name;
    const char *vendor;
    uint32_t attributes;
    size_t data_len;
    size_t offset;
    const char *sha256;
} ms_vars[] = {
    {"certdb", "d9bee56e-75dc-49d9-b4d7-b534210f637a", 0x27, 4, 0x000b8,
     "fb5e512425fc9449316ec95969ebe71e2d576dbab833d61e2a5b9330fd70ee02"},
    {"MTC", "eb704011-1402-11d3-8e77-00a0c969723b", 0x07, 4, 0x00160,
     "67abdd721024f0ff4e0b3f4c2fc13bc5bad42d0b7851d456d88d203d15aaa450"},
    {"Attempt 1", "59324945-ec44-4c0d-b1cd-9db139df070c", 0x03, 1049, 0x00210,
     "e8b3e8fecde34cc7ea40d000802c1e4ba158a6f8547fddf2990faac2327920c8"},
    {"Attempt 2", "59324945-ec44-4c0d-b1cd-9db139df070c", 0x03, 1049, 0x006e4,
     "b7a53e9872fa078d10c2f202958bed383661f145a65dbae5b1ee53588cf03012"},
    {"Attempt 3", "59324945-ec44-4c0d-b1cd-9db139df070c", 0x03, 1049, 0x00bb8,
     "106fe021f321f4f9883b71695a1a489c3ca8b67ffb5b809978d0e4449d8d26c2"},
    {"Attempt 4", "59324945-ec44-4c0d-b1cd-9db139df070c", 0x03, 1049, 0x0108c,
     "1efcfc3bc6bdbf0f9f1c70ef3ae80d58081247dd2fdd05c9dd7c1eda7e423237"},
    {"Attempt 5", "59324945-ec44-4c0d-b1cd-9db139df070c", 0x03, 1049, 0x01564,
     "1384737ec986196138af63014c5311197c3eaa60c4756ac6f88ddb1a6b59de67"},
    {"Attempt 6", "59324945-ec44-4c0d-b1cd-9db139df070c", 0x03, 1049, 0x01a3c,
     "24ed9b369ab8fc168c17139ce8c38b1102aeab324f930f8017e68fb5bb7a24e5"},
    {"Attempt 7", "59324945-ec44-4c0d-b1cd-9db139df070c", 0x03, 1049, 0x01f14,
     "0f70b871f7e4b3748839112d2128cf3122486d200cdf16bae374ff2e9f21a49f"},
    {"InitialAttemptOrder", "4b47d616-a8d6-4552-9d44-ccad2e0f4cf9", 0x03, 8, 0x02380,
     "66840dda154e8a113c31dd0ad32f7f3a366a80e8136979d8f5a101d3d29d6f72"},
    {"Attempt 8", "59324945-ec44-4c0d-b1cd-9db139df070c", 0x03, 1049, 0x023ec,
     "c65e3b5eafc0bc415b28da9b8048748c24744e1401ad4f4f9af9b792f1aed8d5"},
    {"Boot0000", "8be4df61-93ca-11d2-aa0d-00e098032b8c", 0x07, 62, 0x028ac,
     "3197be1e300fa1600d1884c3a4bd4a90a15405bfb546cf2e6cf6095f8c362a93"},
    {"Timeout", "8be4df61-93ca-11d2-aa0d-00e098032b8c", 0x07, 2, 0x02938,
     "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"},
    {"PlatformLang", "8be4df61-93ca-11d2-aa0d-00e098032b8c", 0x07, 3, 0x02988,
     "6d045d0432f6e365c8a003ddb3a7721b7a1f66071812090dfe3361305256c2fc"},
    {"Lang", "8be4df61-93ca-11d2-aa0d-00e098032b8c", 0x07, 4, 0x029e4,
     "71872dcd42d448e768463ca21f5242b8d9f483497cd4a8c72d35f642a06fb5f6"},
    {"VarErrorFlag", "04b37fe8-f6ae-480b-bdd5-37d98c5e89aa", 0x07, 1, 0x02a30,
     "a8100ae6aa1940d0b663bb31cd466142ebbdbd5187131b92d93818987832eb89"},
    {"Key0000", "8be4df61-93ca-11d2-aa0d-00e098032b8c", 0x07, 14, 0x03580,
     "7c1bdb4a08e19c7601a0fe0651107b902c9c28eddf90caeb5fa6f7a88751b7c1"},
    {"Key0001", "8be4df61-93ca-11d2-aa0d-00e098032b8c", 0x07, 14, 0x035dc,
     "d20fb9e6af12f7547263fc47a6739350d9898c8374432b11f0406cd55525fdda"},
    {"ConOut", "8be4df61-93ca-11d2-aa0d-00e098032b8c", 0x07, 146, 0x03734,
     "b071b9237c43e9b3e718bdb31ef6ffe8ec949e954af28c9d1b2bb767fb0792b2"},
    {"ConIn", "8be4df61-93ca-11d2-aa0d-00e098032b8c", 0x07, 195, 0x03810,
     "4872a6ac1e49546f7a605cdcfed00474379569b5c5adfb6e2c5b266badad6577"},
    {"ErrOut", "8be4df61-93ca-11d2-aa0d-00e098032b8c", 0x07, 146, 0x0391c,
     "b071b9237c43e9b3e718bdb31ef6ffe8ec949e954af28c9d1b2bb767fb0792b2"},
    {"Boot0001", "8be4df61-93ca-11d2-aa0d-00e098032b8c", 0x07, 110, 0x03a4c,
     "7d43f8316be25778fc1cfa35769a15003d8db992065df9f8bb3ac043ff4fafe2"},
    {"Boot0002", "8be4df61-93ca-11d2-aa0d-00e098032b8c", 0x07, 88, 0x03b60,
     "4d387b02d63b2f4cd7f667feb0a387fe47a10a3e26bf3533ddd001c605f3dec5"},
    {"MemoryTypeInformation", "4c19049f-4137-4dd3-9c10-8b97a83ffdfa", 0x03, 48, 0x03c08,
     "ec34e26bc6de2b25cc0236de87e089786323bae48bd1a6f77b702aeac42f62dc"},
    {"db", "d719b2cb-3d3a-4596-a3bc-dad00e67656f", 0x27, 3143, 0x03cf4,
     "30a99e7b4cab47dd6117198711ec0aa42b413935b7fb891419dddb44139d49f1"},
    {"dbx", "d719b2cb-3d3a-4596-a3bc-dad00e67656f", 0x27, 76, 0x04980,
     "6cc1e93b2b3f263e5442e1717348ab721230c33d9f69a7265e8480fd7f087ff9"},
    {"KEK", "8be4df61-93ca-11d2-aa0d-00e098032b8c", 0x27, 2565, 0x04a10,
     "398f3cd481726ede65880109ad6d7443963c5f939c74e941973e39c5b4582095"},
    {"PK", "8be4df61-93ca-11d2-aa0d-00e098032b8c", 0x27, 1005, 0x0545c,
     "fb514c4fa21477bbdb7979173141de6d852b0df3a260da6602873c1c7f9666ab"},
    {"VendorKeysNv", "9073e4e0-60ec-4b6e-9903-4c223c260f3c", 0x23, 1, 0x0588c,
     "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"},
    {"SecureBootEnable", "f0a30bc7-af08-4556-99c4-001009c93a44", 0x03, 1, 0x058e4,
     "4bf5122f344554c53bde2ebb8cd2b7e3d1600ad631c385a5d7cce23c7785459a"},
    {"CustomMode", "c076ec0c-7028-4399-a072-71ee5c448b9f", 0x03, 1, 0x05944,
     "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"},
};

/* Every variable header of OVMF_VARS_4M.ms.fd: offset, State, end of its
 * data (before the padding to the next 4-byte boundary). */
static const struct {
    size_t offset;
    uint8_t state;
    size_t data_end;
} ms_headers[] = {
    {0x00064, 0x3c, 0x000b7}, {0x000b8, 0x3f, 0x00106}, {0x00108, 0x3c, 0x0015f},
    {0x00160, 0x3f, 0x001a8}, {0x001a8, 0x3c, 0x0020d}, {0x00210, 0x3f, 0x00679},
    {0x0067c, 0x3c, 0x006e2}, {0x006e4, 0x3f, 0x00b4d}, {0x00b50, 0x3c, 0x00bb7},
    {0x00bb8, 0x3f, 0x01021}, {0x01024, 0x3c, 0x0108c}, {0x0108c, 0x3f, 0x014f5},
    {0x014f8, 0x3c, 0x01561}, {0x01564, 0x3f, 0x019cd}, {0x019d0, 0x3c, 0x01a3a},
    {0x01a3c, 0x3f, 0x01ea5}, {0x01ea8, 0x3c, 0x01f13}, {0x01f14, 0x3f, 0x0237d},
    {0x02380, 0x3f, 0x023ec}, {0x023ec, 0x3f, 0x02855}, {0x02858, 0x3c, 0x028aa},
    {0x028ac, 0x3f, 0x02938}, {0x02938, 0x3f, 0x02986}, {0x02988, 0x3f, 0x029e1},
    {0x029e4, 0x3f, 0x02a2e}, {0x02a30, 0x3f, 0x02a87}, {0x02a88, 0x3c, 0x02af2},
    {0x02af4, 0x3c, 0x02b87}, {0x02b88, 0x3c, 0x02c3b}, {0x02c3c, 0x3c, 0x02ccf},
    {0x02cd0, 0x3c, 0x02dac}, {0x02dac, 0x3c, 0x02ea8}, {0x02ea8, 0x3c, 0x02f84},
    {0x02f84, 0x3c, 0x030bf}, {0x030c0, 0x3c, 0x031db}, {0x031dc, 0x3c, 0x032f7},
    {0x032f8, 0x3c, 0x03442}, {0x03444, 0x3c, 0x0357f}, {0x03580, 0x3f, 0x035da},
    {0x035dc, 0x3f, 0x03636}, {0x03638, 0x3c, 0x03734}, {0x03734, 0x3f, 0x03810},
    {0x03810, 0x3f, 0x0391b}, {0x0391c, 0x3f, 0x039f8}, {0x039f8, 0x3c, 0x03a4c},
    {0x03a4c, 0x3f, 0x03b08}, {0x03b08, 0x3d, 0x03b5e}, {0x03b60, 0x3f, 0x03c06},
    {0x03c08, 0x3f, 0x03ca0}, {0x03ca0, 0x3c, 0x03cf3}, {0x03cf4, 0x3f, 0x0497d},
    {0x04980, 0x3f, 0x04a10}, {0x04a10, 0x3f, 0x05459}, {0x0545c, 0x3f, 0x0588b},
    {0x0588c, 0x3f, 0x058e3}, {0x058e4, 0x3f, 0x05943}, {0x05944, 0x3f, 0x05997},
};

/* EFI_TIME of PK/KEK/db/dbx: 2025-03-10 02:53:39, the enrolment time. */
static const uint8_t keys_timestamp[16] = {0xe9, 0x07, 0x03, 0x0a, 0x02, 0x35, 0x27};

/* ---- helpers ---- */

static uint8_t *ovmf_read(const char *name, size_t *len)
{
    const char *dir = getenv("TL_OVMF_DIR");
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir ? dir : "/usr/share/OVMF", name);
    uint8_t *b = file_read(path, len);
    if (!b)
        fail_msg("cannot read %s (Debian package ovmf)", path);
    return b;
}

static void sha256_hex(const uint8_t *p, size_t len, char out[65])
{
    uint8_t md[32];
    unsigned int n = 0;
    assert_int_equal(EVP_Digest(p, len, md, &n, EVP_sha256(), NULL), 1);
    assert_int_equal(n, 32);
    tl_hex_encode(md, 32, out);
}

static void assert_guid(const tl_guid *g, const char *text)
{
    char buf[37];
    tl_guid_format(g, buf);
    assert_string_equal(buf, text);
}

static void assert_name(const struct tl_varstore_var *v, const char *ascii)
{
    _cleanup_free_ char *name = tl_utf16le_to_utf8(v->name_utf16, v->name_len);
    assert_non_null(name);
    assert_string_equal(name, ascii);
}

static void assert_same_var(const struct tl_varstore_var *a, const struct tl_varstore_var *b)
{
    assert_true(tl_guid_equal(&a->vendor, &b->vendor));
    assert_int_equal(a->name_len, b->name_len);
    assert_memory_equal(a->name_utf16, b->name_utf16, 2 * a->name_len);
    assert_int_equal(a->attributes, b->attributes);
    assert_int_equal(a->monotonic_count, b->monotonic_count);
    assert_memory_equal(a->timestamp, b->timestamp, 16);
    assert_int_equal(a->pubkey_index, b->pubkey_index);
    assert_int_equal(a->data_len, b->data_len);
    assert_memory_equal(a->data, b->data, a->data_len);
}

/* Recomputes the FV header checksum after an edit (PI vol. 3, 3.2.1). */
static void fix_fv_checksum(uint8_t *b)
{
    size_t hlen = tl_le16(b + 48);
    put16(b + 50, 0);
    uint16_t sum = 0;
    for (size_t i = 0; i < hlen; i += 2)
        sum = (uint16_t)(sum + tl_le16(b + i));
    put16(b + 50, (uint16_t)(0x10000 - sum));
}

static int parse_quiet(const uint8_t *b, size_t len, struct tl_varstore *vs, struct tl_error *err)
{
    *err = (struct tl_error){0};
    return tl_varstore_parse(b, len, vs, err);
}

/* Parses a modified copy of a store and expects failure at offset. */
static void expect_error(const uint8_t *b, size_t len, int code, size_t offset, const char *what)
{
    struct tl_varstore vs;
    struct tl_error err;
    int r = parse_quiet(b, len, &vs, &err);
    if (r != code || !err.has_offset || err.offset != offset)
        fail_msg("expected %d at offset %zu, got %d at %zu: %s", code, offset, r, err.offset,
                 err.message);
    if (what && !strstr(err.message, what))
        fail_msg("message \"%s\" does not mention \"%s\"", err.message, what);
    assert_null(vs.vars);
    assert_int_equal(vs.n_vars, 0);
}

/* ---- reading the real stores ---- */

static void test_ms_variables(void **state)
{
    (void)state;
    size_t len;
    _cleanup_free_ uint8_t *b = ovmf_read("OVMF_VARS_4M.ms.fd", &len);
    assert_int_equal(len, FILE_SIZE_4M);

    struct tl_varstore vs;
    struct tl_error err = {0};
    assert_int_equal(tl_varstore_parse(b, len, &vs, &err), 0);
    assert_ptr_equal(vs.buf, b);
    assert_int_equal(vs.len, len);
    assert_int_equal(vs.store_offset, STORE_OFFSET);
    assert_int_equal(vs.store_size, STORE_SIZE);
    assert_true(vs.authenticated);
    assert_int_equal(vs.n_vars, TL_ARRAY_SIZE(ms_vars));
    assert_int_equal(vs.n_vars, 31);

    for (size_t i = 0; i < vs.n_vars; i++) {
        const struct tl_varstore_var *v = &vs.vars[i];
        const struct expected_var *e = &ms_vars[i];
        assert_name(v, e->name);
        assert_guid(&v->vendor, e->vendor);
        assert_int_equal(v->attributes, e->attributes);
        assert_int_equal(v->data_len, e->data_len);
        assert_int_equal(v->offset, e->offset);
        assert_int_equal(v->monotonic_count, 0);
        assert_int_equal(v->pubkey_index, 0);
        assert_ptr_equal(v->name_utf16, b + e->offset + 60);
        assert_ptr_equal(v->data, b + e->offset + 60 + 2 * (v->name_len + 1));
        char hex[65];
        sha256_hex(v->data, v->data_len, hex);
        assert_string_equal(hex, e->sha256);
        /* The keys carry their enrolment time, nothing else has one. */
        bool key = strcmp(e->name, "PK") == 0 || strcmp(e->name, "KEK") == 0 ||
                   strcmp(e->name, "db") == 0 || strcmp(e->name, "dbx") == 0;
        static const uint8_t zero[16];
        assert_memory_equal(v->timestamp, key ? keys_timestamp : zero, 16);
        assert_ptr_equal(tl_varstore_find(&vs, e->name, &v->vendor), v);
    }

    /* EDK2's EnrollDefaultKeys left Secure Boot enabled (SecureBootEnable
     * 1), back in standard mode (CustomMode 0), keys not the vendor's
     * (VendorKeysNv 0). */
    static const struct {
        const char *name;
        uint8_t value;
    } flags[] = {{"SecureBootEnable", 1}, {"CustomMode", 0}, {"VendorKeysNv", 0}};
    for (size_t i = 0; i < TL_ARRAY_SIZE(flags); i++) {
        const struct tl_varstore_var *v = NULL;
        for (size_t k = 0; k < vs.n_vars && !v; k++)
            if (strcmp(ms_vars[k].name, flags[i].name) == 0)
                v = &vs.vars[k];
        assert_non_null(v);
        assert_int_equal(v->data_len, 1);
        assert_int_equal(v->data[0], flags[i].value);
    }

    /* Deleted copies are not variables; names are case-sensitive; the
     * vendor is part of the name. SecureBoot and SetupMode are volatile,
     * made at boot, so they are not in the store. */
    assert_null(tl_varstore_find(&vs, "BootOrder", &TL_EFI_GLOBAL_VARIABLE_GUID));
    assert_null(tl_varstore_find(&vs, "SecureBoot", &TL_EFI_GLOBAL_VARIABLE_GUID));
    assert_null(tl_varstore_find(&vs, "SetupMode", &TL_EFI_GLOBAL_VARIABLE_GUID));
    assert_null(tl_varstore_find(&vs, "pk", &TL_EFI_GLOBAL_VARIABLE_GUID));
    assert_null(tl_varstore_find(&vs, "P", &TL_EFI_GLOBAL_VARIABLE_GUID));
    assert_null(tl_varstore_find(&vs, "PKX", &TL_EFI_GLOBAL_VARIABLE_GUID));
    assert_null(tl_varstore_find(&vs, "PK", &TL_EFI_IMAGE_SECURITY_DB_GUID));
    assert_null(tl_varstore_find(&vs, "db", &TL_EFI_GLOBAL_VARIABLE_GUID));

    tl_varstore_done(&vs);
    assert_null(vs.vars);
    assert_int_equal(vs.n_vars, 0);
    tl_varstore_done(&vs); /* twice is fine */
}

static void test_ms_keys(void **state)
{
    (void)state;
    size_t len, n;
    _cleanup_free_ uint8_t *b = ovmf_read("OVMF_VARS_4M.ms.fd", &len);
    struct tl_varstore vs;
    struct tl_error err = {0};
    assert_int_equal(tl_varstore_parse(b, len, &vs, &err), 0);

    const uint32_t keys_attr = TL_EFI_VARIABLE_NON_VOLATILE | TL_EFI_VARIABLE_BOOTSERVICE_ACCESS |
                               TL_EFI_VARIABLE_RUNTIME_ACCESS |
                               TL_EFI_VARIABLE_TIME_BASED_AUTHENTICATED_WRITE_ACCESS;
    assert_int_equal(keys_attr, 0x27);
    const struct tl_varstore_var *pk = tl_varstore_find(&vs, "PK", &TL_EFI_GLOBAL_VARIABLE_GUID);
    const struct tl_varstore_var *kek = tl_varstore_find(&vs, "KEK", &TL_EFI_GLOBAL_VARIABLE_GUID);
    const struct tl_varstore_var *db = tl_varstore_find(&vs, "db", &TL_EFI_IMAGE_SECURITY_DB_GUID);
    const struct tl_varstore_var *dbx =
        tl_varstore_find(&vs, "dbx", &TL_EFI_IMAGE_SECURITY_DB_GUID);
    assert_non_null(pk);
    assert_non_null(kek);
    assert_non_null(db);
    assert_non_null(dbx);
    assert_int_equal(pk->attributes, keys_attr);
    assert_int_equal(kek->attributes, keys_attr);
    assert_int_equal(db->attributes, keys_attr);
    assert_int_equal(dbx->attributes, keys_attr);

    /* db: Microsoft Windows Production PCA 2011 and Microsoft Corporation
     * UEFI CA 2011, two X.509 lists. */
    struct tl_sig_db sdb;
    assert_int_equal(tl_sig_db_parse(db->data, db->data_len, &sdb, &err), 0);
    assert_int_equal(sdb.n_lists, 2);
    assert_int_equal(sdb.n_entries, 2);
    _cleanup_free_ uint8_t *pca =
        vector_read("secureboot/certs/MicWinProPCA2011_2011-10-19.crt", &n);
    assert_int_equal(sdb.entries[0].kind, TL_SIG_X509);
    assert_int_equal(sdb.entries[0].data_len, n);
    assert_memory_equal(sdb.entries[0].data, pca, n);
    _cleanup_free_ uint8_t *uefi_ca =
        vector_read("secureboot/certs/MicCorUEFCA2011_2011-06-27.crt", &n);
    assert_int_equal(sdb.entries[1].kind, TL_SIG_X509);
    assert_int_equal(sdb.entries[1].data_len, n);
    assert_memory_equal(sdb.entries[1].data, uefi_ca, n);
    assert_guid(&sdb.entries[0].owner, MICROSOFT_OWNER);
    assert_guid(&sdb.entries[1].owner, MICROSOFT_OWNER);
    tl_sig_db_done(&sdb);

    /* KEK: Debian's PK/KEK certificate, then Microsoft's KEK CA 2011. */
    assert_int_equal(tl_sig_db_parse(kek->data, kek->data_len, &sdb, &err), 0);
    assert_int_equal(sdb.n_entries, 2);
    assert_int_equal(sdb.entries[0].kind, TL_SIG_X509);
    assert_non_null(memmem(sdb.entries[0].data, sdb.entries[0].data_len,
                           "Debian UEFI Secure Boot (PK/KEK key)", 36));
    _cleanup_free_ uint8_t *kek_ca =
        vector_read("secureboot/certs/MicCorKEKCA2011_2011-06-24.crt", &n);
    assert_int_equal(sdb.entries[1].kind, TL_SIG_X509);
    assert_int_equal(sdb.entries[1].data_len, n);
    assert_memory_equal(sdb.entries[1].data, kek_ca, n);
    assert_guid(&sdb.entries[1].owner, MICROSOFT_OWNER);
    const uint8_t *debian_cert = sdb.entries[0].data;
    size_t debian_len = sdb.entries[0].data_len;
    tl_sig_db_done(&sdb);

    /* PK: the same Debian certificate (961 bytes of DER). */
    assert_int_equal(tl_sig_db_parse(pk->data, pk->data_len, &sdb, &err), 0);
    assert_int_equal(sdb.n_entries, 1);
    assert_int_equal(sdb.entries[0].kind, TL_SIG_X509);
    assert_int_equal(sdb.entries[0].data_len, 961);
    assert_int_equal(sdb.entries[0].data_len, debian_len);
    assert_memory_equal(sdb.entries[0].data, debian_cert, debian_len);
    tl_sig_db_done(&sdb);

    /* dbx: EDK2's EnrollDefaultKeys placeholder, one SHA-256 entry that is
     * the hash of nothing (no image can match it). */
    assert_int_equal(tl_sig_db_parse(dbx->data, dbx->data_len, &sdb, &err), 0);
    assert_int_equal(sdb.n_entries, 1);
    assert_int_equal(sdb.entries[0].kind, TL_SIG_SHA256);
    char hex[65];
    tl_hex_encode(sdb.entries[0].data, 32, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_guid(&sdb.entries[0].owner, "a0baa8a3-041d-48a8-bc87-c36d121b5e3d");
    tl_sig_db_done(&sdb);

    tl_varstore_done(&vs);
}

/* The keys OVMF measured into PCR 7 when it booted from this store. */
static void test_ms_matches_eventlog(void **state)
{
    (void)state;
    size_t len, log_len;
    _cleanup_free_ uint8_t *b = ovmf_read("OVMF_VARS_4M.ms.fd", &len);
    _cleanup_free_ uint8_t *lb = vector_read(OVMF_LOG, &log_len);
    struct tl_varstore vs;
    struct tl_eventlog log;
    struct tl_error err = {0};
    assert_int_equal(tl_varstore_parse(b, len, &vs, &err), 0);
    assert_int_equal(tl_eventlog_parse(lb, log_len, &log, &err), 0);

    static const struct {
        size_t event;
        const char *name;
        const tl_guid *vendor;
        size_t data_len;
    } keys[] = {
        {5, "PK", &TL_EFI_GLOBAL_VARIABLE_GUID, 1005},
        {6, "KEK", &TL_EFI_GLOBAL_VARIABLE_GUID, 2565},
        {7, "db", &TL_EFI_IMAGE_SECURITY_DB_GUID, 3143},
        {8, "dbx", &TL_EFI_IMAGE_SECURITY_DB_GUID, 76},
    };
    for (size_t i = 0; i < TL_ARRAY_SIZE(keys); i++) {
        assert_true(keys[i].event < log.n_events);
        const struct tl_event *ev = &log.events[keys[i].event];
        assert_int_equal(ev->pcr, 7);
        assert_int_equal(ev->type, TL_EV_EFI_VARIABLE_DRIVER_CONFIG);
        struct tl_efi_variable ev_var;
        assert_int_equal(
            tl_efi_variable_parse(tl_event_data(&log, ev), ev->data_size, &ev_var, &err), 0);
        assert_true(tl_efi_variable_name_is(&ev_var, keys[i].name));
        assert_true(tl_guid_equal(&ev_var.vendor, keys[i].vendor));

        const struct tl_varstore_var *v = tl_varstore_find(&vs, keys[i].name, keys[i].vendor);
        assert_non_null(v);
        assert_int_equal(v->data_len, keys[i].data_len);
        assert_int_equal(ev_var.data_len, v->data_len);
        assert_memory_equal(ev_var.data, v->data, v->data_len);
    }
    tl_eventlog_done(&log);
    tl_varstore_done(&vs);
}

static void test_plain_store(void **state)
{
    (void)state;
    size_t len;
    _cleanup_free_ uint8_t *b = ovmf_read("OVMF_VARS_4M.fd", &len);
    assert_int_equal(len, FILE_SIZE_4M);
    struct tl_varstore vs;
    struct tl_error err = {0};
    assert_int_equal(tl_varstore_parse(b, len, &vs, &err), 0);
    assert_true(vs.authenticated);
    assert_int_equal(vs.store_offset, STORE_OFFSET);
    assert_int_equal(vs.store_size, STORE_SIZE);
    /* Empty: no PK, so OVMF starts in Setup Mode with Secure Boot off. */
    assert_int_equal(vs.n_vars, 0);
    assert_null(tl_varstore_find(&vs, "PK", &TL_EFI_GLOBAL_VARIABLE_GUID));

    /* Writing it back with nothing changed gives the very same bytes. */
    _cleanup_free_ uint8_t *out = NULL;
    size_t out_len = 0;
    assert_int_equal(tl_varstore_write(&vs, NULL, 0, &out, &out_len, &err), 0);
    assert_int_equal(out_len, len);
    assert_memory_equal(out, b, len);
    tl_varstore_done(&vs);
}

/* The 2 MiB build (OVMF_VARS.ms.fd): same variables in a 0xdfb8-byte store. */
static void test_2m_store(void **state)
{
    (void)state;
    size_t len, len4;
    _cleanup_free_ uint8_t *b = ovmf_read("OVMF_VARS.ms.fd", &len);
    _cleanup_free_ uint8_t *b4 = ovmf_read("OVMF_VARS_4M.ms.fd", &len4);
    assert_int_equal(len, 131072);
    struct tl_varstore vs, vs4;
    struct tl_error err = {0};
    assert_int_equal(tl_varstore_parse(b, len, &vs, &err), 0);
    assert_int_equal(tl_varstore_parse(b4, len4, &vs4, &err), 0);
    assert_int_equal(vs.store_size, 0xdfb8);
    assert_int_equal(vs.n_vars, 31);
    for (size_t i = 0; i < vs.n_vars; i++) {
        assert_name(&vs.vars[i], ms_vars[i].name);
        assert_int_equal(vs.vars[i].offset, ms_vars[i].offset);
        /* Only MemoryTypeInformation (page counts) and the keys' enrolment
         * times (a few seconds apart) differ between the builds. */
        const struct tl_varstore_var *a = &vs.vars[i], *c = &vs4.vars[i];
        assert_true(tl_guid_equal(&a->vendor, &c->vendor));
        assert_int_equal(a->attributes, c->attributes);
        assert_int_equal(a->data_len, c->data_len);
        if (strcmp(ms_vars[i].name, "MemoryTypeInformation") != 0)
            assert_memory_equal(a->data, c->data, a->data_len);
        assert_memory_equal(a->timestamp, c->timestamp, 5); /* 2025-03-10 02h */
    }
    tl_varstore_done(&vs4);
    tl_varstore_done(&vs);
}

/* ---- writing ---- */

static void test_write_unchanged(void **state)
{
    (void)state;
    size_t len;
    _cleanup_free_ uint8_t *b = ovmf_read("OVMF_VARS_4M.ms.fd", &len);
    struct tl_varstore vs, vs2;
    struct tl_error err = {0};
    assert_int_equal(tl_varstore_parse(b, len, &vs, &err), 0);

    _cleanup_free_ uint8_t *out = NULL;
    size_t out_len = 0;
    assert_int_equal(tl_varstore_write(&vs, NULL, 0, &out, &out_len, &err), 0);
    assert_int_equal(out_len, len);

    /* FV header, store header, FTW working block and spare: unchanged. */
    assert_memory_equal(out, b, FIRST_VAR);
    assert_memory_equal(out + STORE_END, b + STORE_END, len - STORE_END);
    /* The 31 live variables compacted, the rest erased. */
    for (size_t i = MS_COMPACTED; i < STORE_END; i++)
        if (out[i] != 0xff)
            fail_msg("byte at 0x%zx is 0x%02x, not erased", i, out[i]);

    assert_int_equal(tl_varstore_parse(out, out_len, &vs2, &err), 0);
    assert_int_equal(vs2.n_vars, vs.n_vars);
    size_t expect_off = FIRST_VAR;
    for (size_t i = 0; i < vs2.n_vars; i++) {
        assert_same_var(&vs2.vars[i], &vs.vars[i]);
        assert_name(&vs2.vars[i], ms_vars[i].name);
        assert_int_equal(vs2.vars[i].offset, expect_off);
        assert_int_equal(out[expect_off + 2], 0x3f); /* VAR_ADDED */
        assert_int_equal(out[expect_off + 3], 0);
        expect_off = (expect_off + 60 + 2 * (vs2.vars[i].name_len + 1) + vs2.vars[i].data_len + 3) &
                     ~(size_t)3;
    }
    assert_int_equal(expect_off, MS_COMPACTED);

    /* Writing the written store again changes nothing. */
    _cleanup_free_ uint8_t *out2 = NULL;
    size_t out2_len = 0;
    assert_int_equal(tl_varstore_write(&vs2, NULL, 0, &out2, &out2_len, &err), 0);
    assert_int_equal(out2_len, out_len);
    assert_memory_equal(out2, out, out_len);

    tl_varstore_done(&vs2);
    tl_varstore_done(&vs);
}

static void test_write_clear_keys(void **state)
{
    (void)state;
    size_t len;
    _cleanup_free_ uint8_t *b = ovmf_read("OVMF_VARS_4M.ms.fd", &len);
    struct tl_varstore vs, vs2;
    struct tl_error err = {0};
    assert_int_equal(tl_varstore_parse(b, len, &vs, &err), 0);

    const struct tl_varstore_change clear[] = {
        {.name = "PK", .vendor = TL_EFI_GLOBAL_VARIABLE_GUID},
        {.name = "KEK", .vendor = TL_EFI_GLOBAL_VARIABLE_GUID},
        {.name = "db", .vendor = TL_EFI_IMAGE_SECURITY_DB_GUID},
        {.name = "dbx", .vendor = TL_EFI_IMAGE_SECURITY_DB_GUID},
        /* Not in the store: removing it is not an error. */
        {.name = "dbt", .vendor = TL_EFI_IMAGE_SECURITY_DB_GUID},
    };
    _cleanup_free_ uint8_t *out = NULL;
    size_t out_len = 0;
    assert_int_equal(tl_varstore_write(&vs, clear, TL_ARRAY_SIZE(clear), &out, &out_len, &err), 0);
    assert_int_equal(tl_varstore_parse(out, out_len, &vs2, &err), 0);

    assert_int_equal(vs2.n_vars, 27);
    assert_null(tl_varstore_find(&vs2, "PK", &TL_EFI_GLOBAL_VARIABLE_GUID));
    assert_null(tl_varstore_find(&vs2, "KEK", &TL_EFI_GLOBAL_VARIABLE_GUID));
    assert_null(tl_varstore_find(&vs2, "db", &TL_EFI_IMAGE_SECURITY_DB_GUID));
    assert_null(tl_varstore_find(&vs2, "dbx", &TL_EFI_IMAGE_SECURITY_DB_GUID));
    /* Everything else, in the same order. */
    size_t k = 0;
    for (size_t i = 0; i < vs.n_vars; i++) {
        const char *name = ms_vars[i].name;
        if (!strcmp(name, "PK") || !strcmp(name, "KEK") || !strcmp(name, "db") ||
            !strcmp(name, "dbx"))
            continue;
        assert_same_var(&vs2.vars[k], &vs.vars[i]);
        assert_name(&vs2.vars[k], name);
        k++;
    }
    assert_int_equal(k, 27);
    tl_varstore_done(&vs2);
    tl_varstore_done(&vs);
}

/* An EFI_SIGNATURE_LIST holding one X.509 certificate (UEFI 2.10, 32.4.1). */
static uint8_t *x509_list(const uint8_t *der, size_t der_len, const tl_guid *owner, size_t *len)
{
    *len = 28 + 16 + der_len;
    uint8_t *l = malloc(*len);
    assert_non_null(l);
    memcpy(l, TL_EFI_CERT_X509_GUID.b, 16);
    put32(l + 16, (uint32_t)*len);
    put32(l + 20, 0);
    put32(l + 24, (uint32_t)(16 + der_len));
    memcpy(l + 28, owner->b, 16);
    memcpy(l + 44, der, der_len);
    return l;
}

static void test_write_new_db(void **state)
{
    (void)state;
    size_t len, der_len, list_len;
    _cleanup_free_ uint8_t *b = ovmf_read("OVMF_VARS_4M.ms.fd", &len);
    _cleanup_free_ uint8_t *der = vector_read("secureboot/certs/debian-boothole.crt", &der_len);
    struct tl_varstore vs, vs2;
    struct tl_error err = {0};
    assert_int_equal(tl_varstore_parse(b, len, &vs, &err), 0);
    const struct tl_varstore_var *db = tl_varstore_find(&vs, "db", &TL_EFI_IMAGE_SECURITY_DB_GUID);
    assert_non_null(db);

    /* db + one more list, a certificate owned by an arbitrary GUID. */
    const tl_guid owner = {{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc,
                            0xdd, 0xee, 0xff, 0x00}};
    _cleanup_free_ uint8_t *list = x509_list(der, der_len, &owner, &list_len);
    size_t new_len = db->data_len + list_len;
    _cleanup_free_ uint8_t *new_db = malloc(new_len);
    assert_non_null(new_db);
    memcpy(new_db, db->data, db->data_len);
    memcpy(new_db + db->data_len, list, list_len);

    const uint8_t tl_vendor_bytes[16] = {0xde, 0xad, 0xbe, 0xef, 1, 2,  3,  4,
                                         5,    6,    7,    8,    9, 10, 11, 12};
    const uint8_t bytes[] = {1, 2, 3};
    struct tl_varstore_change set[] = {
        {.name = "db",
         .vendor = TL_EFI_IMAGE_SECURITY_DB_GUID,
         .attributes = 0x27,
         .timestamp = {0xe9, 0x07, 0x0b, 0x16, 0x0c, 0x22, 0x38},
         .data = new_db,
         .data_len = new_len},
        {.name = "TlTest", .attributes = 0x07, .data = bytes, .data_len = sizeof(bytes)},
    };
    memcpy(set[1].vendor.b, tl_vendor_bytes, 16);

    _cleanup_free_ uint8_t *out = NULL;
    size_t out_len = 0;
    assert_int_equal(tl_varstore_write(&vs, set, TL_ARRAY_SIZE(set), &out, &out_len, &err), 0);
    assert_int_equal(tl_varstore_parse(out, out_len, &vs2, &err), 0);
    assert_int_equal(vs2.n_vars, 32);

    /* The untouched variables first, in order, then the set ones. */
    size_t k = 0;
    for (size_t i = 0; i < vs.n_vars; i++)
        if (strcmp(ms_vars[i].name, "db") != 0)
            assert_same_var(&vs2.vars[k++], &vs.vars[i]);
    assert_int_equal(k, 30);
    const struct tl_varstore_var *ndb =
        tl_varstore_find(&vs2, "db", &TL_EFI_IMAGE_SECURITY_DB_GUID);
    assert_ptr_equal(ndb, &vs2.vars[30]);
    assert_int_equal(ndb->attributes, 0x27);
    assert_memory_equal(ndb->timestamp, set[0].timestamp, 16);
    assert_int_equal(ndb->monotonic_count, 0);
    assert_int_equal(ndb->pubkey_index, 0);
    assert_int_equal(ndb->data_len, new_len);
    assert_memory_equal(ndb->data, new_db, new_len);

    struct tl_sig_db sdb;
    assert_int_equal(tl_sig_db_parse(ndb->data, ndb->data_len, &sdb, &err), 0);
    assert_int_equal(sdb.n_lists, 3);
    assert_int_equal(sdb.n_entries, 3);
    assert_int_equal(sdb.entries[2].kind, TL_SIG_X509);
    assert_int_equal(sdb.entries[2].data_len, der_len);
    assert_memory_equal(sdb.entries[2].data, der, der_len);
    assert_true(tl_guid_equal(&sdb.entries[2].owner, &owner));
    tl_sig_db_done(&sdb);

    const struct tl_varstore_var *t = tl_varstore_find(&vs2, "TlTest", &set[1].vendor);
    assert_ptr_equal(t, &vs2.vars[31]);
    assert_int_equal(t->attributes, 0x07);
    assert_int_equal(t->data_len, 3);
    assert_memory_equal(t->data, bytes, 3);
    static const uint8_t zero[16];
    assert_memory_equal(t->timestamp, zero, 16);

    tl_varstore_done(&vs2);
    tl_varstore_done(&vs);
}

static void test_write_enospc(void **state)
{
    (void)state;
    size_t len;
    _cleanup_free_ uint8_t *b = ovmf_read("OVMF_VARS_4M.fd", &len);
    struct tl_varstore vs, vs2;
    struct tl_error err = {0};
    assert_int_equal(tl_varstore_parse(b, len, &vs, &err), 0);

    /* One variable named "X" filling the store to its last byte:
     * 60-byte header + 4 bytes of name + data = 0x40000 - 0x64. */
    size_t fit = STORE_END - FIRST_VAR - 60 - 4;
    _cleanup_free_ uint8_t *data = malloc(fit + 1);
    assert_non_null(data);
    memset(data, 0x5a, fit + 1);
    struct tl_varstore_change c = {
        .name = "X", .vendor = TL_EFI_GLOBAL_VARIABLE_GUID, .attributes = 3, .data = data};

    c.data_len = fit;
    _cleanup_free_ uint8_t *out = NULL;
    size_t out_len = 0;
    assert_int_equal(tl_varstore_write(&vs, &c, 1, &out, &out_len, &err), 0);
    assert_int_equal(tl_varstore_parse(out, out_len, &vs2, &err), 0);
    assert_int_equal(vs2.n_vars, 1);
    assert_int_equal(vs2.vars[0].data_len, fit);
    assert_memory_equal(out + STORE_END, b + STORE_END, len - STORE_END);
    tl_varstore_done(&vs2);

    c.data_len = fit + 1;
    _cleanup_free_ uint8_t *out2 = NULL;
    err = (struct tl_error){0};
    assert_int_equal(tl_varstore_write(&vs, &c, 1, &out2, &out_len, &err), -ENOSPC);
    assert_null(out2);
    assert_non_null(strstr(err.message, "do not fit"));

    /* A full .ms.fd store: the second 250000-byte variable does not fit. */
    size_t ms_len;
    _cleanup_free_ uint8_t *ms = ovmf_read("OVMF_VARS_4M.ms.fd", &ms_len);
    struct tl_varstore vms;
    assert_int_equal(tl_varstore_parse(ms, ms_len, &vms, &err), 0);
    c.data_len = STORE_END - MS_COMPACTED - 64;
    assert_int_equal(tl_varstore_write(&vms, &c, 1, &out2, &out_len, &err), 0);
    free(TL_TAKE_PTR(out2));
    c.data_len++;
    assert_int_equal(tl_varstore_write(&vms, &c, 1, &out2, &out_len, &err), -ENOSPC);
    assert_null(out2);
    tl_varstore_done(&vms);
    tl_varstore_done(&vs);
}

static void test_write_bad_changes(void **state)
{
    (void)state;
    size_t len;
    _cleanup_free_ uint8_t *b = ovmf_read("OVMF_VARS_4M.ms.fd", &len);
    struct tl_varstore vs;
    struct tl_error err = {0};
    assert_int_equal(tl_varstore_parse(b, len, &vs, &err), 0);
    const uint8_t one = 1;
    const struct tl_varstore_change good = {.name = "Foo",
                                            .vendor = TL_EFI_GLOBAL_VARIABLE_GUID,
                                            .attributes = 0x07,
                                            .data = &one,
                                            .data_len = 1};
    static const struct {
        const char *name;
        uint32_t attributes;
        size_t data_len;
    } bad[] = {
        {"", 0x07, 1},           /* empty name */
        {"F\xc3\xb6o", 0x07, 1}, /* not ASCII */
        {"Foo\n", 0x07, 1},      /* control character */
        {"Foo", 0x06, 1},        /* volatile */
        {"Foo", 0x05, 1},        /* no boot service access */
        {"Foo", 0x47, 1},        /* APPEND_WRITE is not stored */
        {"Foo", 0x107, 1},       /* unknown bit */
        {"Foo", 0x07, 0},        /* empty data: a removal is data NULL */
    };
    for (size_t i = 0; i < TL_ARRAY_SIZE(bad); i++) {
        struct tl_varstore_change c = good;
        c.name = bad[i].name;
        c.attributes = bad[i].attributes;
        c.data_len = bad[i].data_len;
        uint8_t *out = NULL;
        size_t out_len = 0;
        err = (struct tl_error){0};
        assert_int_equal(tl_varstore_write(&vs, &c, 1, &out, &out_len, &err), -EINVAL);
        assert_null(out);
        assert_true(err.message[0] != 0);
    }
    /* Two changes to one variable (even a set and a removal). */
    struct tl_varstore_change two[] = {good, good};
    two[1].data = NULL;
    uint8_t *out = NULL;
    size_t out_len = 0;
    assert_int_equal(tl_varstore_write(&vs, two, 2, &out, &out_len, &err), -EINVAL);
    assert_null(out);
    assert_non_null(strstr(err.message, "both change"));
    /* Same name, other vendor: two different variables. */
    two[1] = good;
    two[1].vendor = TL_EFI_IMAGE_SECURITY_DB_GUID;
    assert_int_equal(tl_varstore_write(&vs, two, 2, &out, &out_len, &err), 0);
    free(out);
    tl_varstore_done(&vs);
}

/* ---- malformed stores ---- */

static void test_truncations(void **state)
{
    (void)state;
    size_t len;
    _cleanup_free_ uint8_t *b = ovmf_read("OVMF_VARS_4M.ms.fd", &len);
    size_t tried = 0;
    for (size_t l = 0; l < len; l++) {
        if (l >= 4096 && l % 512 != 0)
            continue;
        _cleanup_free_ uint8_t *p = dup_exact(b, l);
        struct tl_varstore vs;
        struct tl_error err;
        int r = parse_quiet(p, l, &vs, &err);
        if (r != -EBADMSG)
            fail_msg("prefix of %zu bytes: %d (%s)", l, r, err.message);
        assert_true(err.message[0] != 0);
        assert_null(vs.vars);
        tried++;
    }
    assert_int_equal(tried, 4096 + (len - 4096) / 512);
}

/* Cuts the store (its Size field) at every offset through the variables:
 * only a cut at the end of a variable (or in its padding) is a valid, shorter
 * store; any other cut fails at the offset of the variable it cuts. */
static void test_store_size_cuts(void **state)
{
    (void)state;
    size_t len;
    _cleanup_free_ uint8_t *b = ovmf_read("OVMF_VARS_4M.ms.fd", &len);
    size_t n_ok = 0;
    for (size_t end = FIRST_VAR; end <= MS_VARS_END + 8; end++) {
        put32(b + STORE_OFFSET + 16, (uint32_t)(end - STORE_OFFSET));
        struct tl_varstore vs;
        struct tl_error err;
        int r = parse_quiet(b, len, &vs, &err);

        bool ok = end == FIRST_VAR || end >= MS_VARS_END;
        size_t cut = 0, live = 0;
        for (size_t i = 0; i < TL_ARRAY_SIZE(ms_headers); i++) {
            size_t next = (ms_headers[i].data_end + 3) & ~(size_t)3;
            if (end >= ms_headers[i].data_end && end <= next)
                ok = true;
            if (end > ms_headers[i].offset && end < ms_headers[i].data_end)
                cut = ms_headers[i].offset;
            if (end >= ms_headers[i].data_end && ms_headers[i].state == 0x3f)
                live++;
        }
        if (ok) {
            if (r != 0)
                fail_msg("store cut at 0x%zx: %s", end, err.message);
            assert_int_equal(vs.n_vars, live);
            n_ok++;
        } else {
            if (r != -EBADMSG || err.offset != cut)
                fail_msg("store cut at 0x%zx: %d at 0x%zx, expected failure at 0x%zx (%s)", end, r,
                         err.offset, cut, err.message);
        }
        tl_varstore_done(&vs);
    }
    /* The empty store, each of the 57 ends and the padding after it, and
     * the 8 cuts into the erased space (counted in Python). */
    assert_int_equal(n_ok, 147);
}

static void test_overruns(void **state)
{
    (void)state;
    size_t len;
    _cleanup_free_ uint8_t *b = ovmf_read("OVMF_VARS_4M.ms.fd", &len);
    _cleanup_free_ uint8_t *m = dup_exact(b, len);
    const size_t db = 0x3cf4, last = 0x5944;

    /* db's DataSize (header + 40) and NameSize (+ 36) running far past the store. */
    put32(m + db + 40, 0xffffffff);
    expect_error(m, len, -EBADMSG, db, "DataSize 4294967295 overruns");
    memcpy(m, b, len);
    put32(m + db + 36, 0x40000);
    expect_error(m, len, -EBADMSG, db, "NameSize");
    memcpy(m, b, len);

    /* The last variable grown to end exactly at the store's end (its data
     * then covers the erased space), and one byte more. */
    uint32_t to_end = STORE_END - last - 60 - 22;
    put32(m + last + 40, to_end);
    struct tl_varstore vs;
    struct tl_error err;
    assert_int_equal(parse_quiet(m, len, &vs, &err), 0);
    assert_int_equal(vs.n_vars, 31);
    assert_int_equal(vs.vars[30].data_len, to_end);
    tl_varstore_done(&vs);
    put32(m + last + 40, to_end + 1);
    expect_error(m, len, -EBADMSG, last, "overruns the store");
    memcpy(m, b, len);

    /* A header cut by the end of the store: the last variable grown so
     * that the next header starts 4 bytes before the end. */
    put32(m + last + 40, to_end - 4);
    put16(m + STORE_END - 4, 0x55aa);
    expect_error(m, len, -EBADMSG, STORE_END - 4, "header overruns");
    memcpy(m, b, len);

    /* Live variable names must be NUL-terminated UTF-16 (certdb, 0xb8). */
    put32(m + 0xb8 + 36, 13);
    expect_error(m, len, -EBADMSG, 0xb8, "NameSize 13");
    memcpy(m, b, len);
    m[0xb8 + 60 + 12] = 'x';
    expect_error(m, len, -EBADMSG, 0xb8 + 60 + 12, "not NUL-terminated");
    memcpy(m, b, len);
    put16(m + 0xb8 + 60 + 4, 0);
    expect_error(m, len, -EBADMSG, 0xb8 + 60 + 4, "NUL before its end");
    memcpy(m, b, len);
    /* ... but a deleted copy's name is not looked at (CustomMode, 0x64). */
    m[0x64 + 60 + 20] = 'x';
    assert_int_equal(parse_quiet(m, len, &vs, &err), 0);
    tl_varstore_done(&vs);
}

static void test_header_errors(void **state)
{
    (void)state;
    size_t len;
    _cleanup_free_ uint8_t *b = ovmf_read("OVMF_VARS_4M.ms.fd", &len);
    _cleanup_free_ uint8_t *m = dup_exact(b, len);

    /* Any header byte changed without fixing the checksum (Attributes). */
    m[44] ^= 0x01;
    expect_error(m, len, -EBADMSG, 50, "checksum");
    memcpy(m, b, len);
    m[50] ^= 0x01;
    expect_error(m, len, -EBADMSG, 50, "checksum");
    memcpy(m, b, len);
    /* ... and with it fixed, the changed Attributes are accepted. */
    m[44] ^= 0x01;
    fix_fv_checksum(m);
    struct tl_varstore vs;
    struct tl_error err;
    assert_int_equal(parse_quiet(m, len, &vs, &err), 0);
    tl_varstore_done(&vs);
    memcpy(m, b, len);

    m[40] = 'X';
    expect_error(m, len, -EBADMSG, 40, "_FVH");
    memcpy(m, b, len);
    m[16] ^= 1; /* FileSystemGuid */
    fix_fv_checksum(m);
    expect_error(m, len, -EBADMSG, 16, "EFI_SYSTEM_NV_DATA_FV_GUID");
    memcpy(m, b, len);
    m[55] = 1; /* Revision */
    fix_fv_checksum(m);
    expect_error(m, len, -EBADMSG, 55, "Revision");
    memcpy(m, b, len);
    put64(m + 32, len + 0x1000); /* FvLength past the file */
    fix_fv_checksum(m);
    expect_error(m, len, -EBADMSG, 32, "FvLength");
    memcpy(m, b, len);
    put32(m + 56, 0x83); /* 0x83 blocks of 4 KiB do not cover 0x84000 */
    fix_fv_checksum(m);
    expect_error(m, len, -EBADMSG, 56, "block map covers");
    memcpy(m, b, len);
    put32(m + 60, 0); /* {0x84, 0}: half-empty entry */
    fix_fv_checksum(m);
    expect_error(m, len, -EBADMSG, 56, "empty");
    memcpy(m, b, len);
    put16(m + 48, 0x50); /* HeaderLength past the block map's terminator */
    fix_fv_checksum(m);
    expect_error(m, len, -EBADMSG, 72, "block map ends");
    memcpy(m, b, len);
    put16(m + 48, 0x49); /* odd */
    expect_error(m, len, -EBADMSG, 48, "HeaderLength");
    memcpy(m, b, len);

    /* The variable store header (not covered by the FV checksum). */
    m[STORE_OFFSET] ^= 1;
    expect_error(m, len, -EBADMSG, STORE_OFFSET, "neither");
    memcpy(m, b, len);
    put32(m + STORE_OFFSET + 16, 0x84000); /* Size past the volume */
    expect_error(m, len, -EBADMSG, STORE_OFFSET + 16, "Size");
    memcpy(m, b, len);
    put32(m + STORE_OFFSET + 16, 27);
    expect_error(m, len, -EBADMSG, STORE_OFFSET + 16, "Size");
    memcpy(m, b, len);
    m[STORE_OFFSET + 20] = 0xff; /* Format: not formatted */
    expect_error(m, len, -EBADMSG, STORE_OFFSET + 20, "formatted");
    memcpy(m, b, len);
    m[STORE_OFFSET + 21] = 0xff; /* State: not healthy */
    expect_error(m, len, -EBADMSG, STORE_OFFSET + 20, "healthy");
    memcpy(m, b, len);

    /* Something in the free space: EDK2 would reclaim; we refuse. */
    m[0x10000] = 0x00;
    expect_error(m, len, -EBADMSG, 0x10000, "not erased");
    memcpy(m, b, len);
    m[MS_VARS_END] = 0x00; /* right where the next StartId would be */
    expect_error(m, len, -EBADMSG, MS_VARS_END, "not erased");
    memcpy(m, b, len);
    /* ... but the FTW areas after the store are not ours to judge. */
    m[STORE_END + 0x1000 + 0x20] = 0x00;
    assert_int_equal(parse_quiet(m, len, &vs, &err), 0);
    tl_varstore_done(&vs);
}

/* States other than VAR_ADDED, made by hand from the real store. */
static void test_states(void **state)
{
    (void)state;
    size_t len;
    _cleanup_free_ uint8_t *b = ovmf_read("OVMF_VARS_4M.ms.fd", &len);
    _cleanup_free_ uint8_t *m = dup_exact(b, len);
    struct tl_varstore vs, vs2;
    struct tl_error err;
    const size_t pk = 0x545c, custom_deleted = 0x64, custom_live = 0x5944;
    const size_t bootorder1 = 0x2858, bootorder2 = 0x39f8;

    /* PK in deleted transition with no newer copy: still PK. */
    m[pk + 2] = 0x3e;
    assert_int_equal(parse_quiet(m, len, &vs, &err), 0);
    assert_int_equal(vs.n_vars, 31);
    const struct tl_varstore_var *v = tl_varstore_find(&vs, "PK", &TL_EFI_GLOBAL_VARIABLE_GUID);
    assert_non_null(v);
    assert_int_equal(v->offset, pk);
    /* ... and written back as VAR_ADDED. */
    _cleanup_free_ uint8_t *out = NULL;
    size_t out_len;
    assert_int_equal(tl_varstore_write(&vs, NULL, 0, &out, &out_len, &err), 0);
    assert_int_equal(tl_varstore_parse(out, out_len, &vs2, &err), 0);
    v = tl_varstore_find(&vs2, "PK", &TL_EFI_GLOBAL_VARIABLE_GUID);
    assert_non_null(v);
    assert_int_equal(out[v->offset + 2], 0x3f);
    tl_varstore_done(&vs2);
    tl_varstore_done(&vs);
    memcpy(m, b, len);

    /* An old copy in deleted transition beside a VAR_ADDED one: the added
     * one wins, wherever it is. */
    m[custom_deleted + 2] = 0x3e;
    assert_int_equal(parse_quiet(m, len, &vs, &err), 0);
    assert_int_equal(vs.n_vars, 31);
    v = tl_varstore_find(&vs, "CustomMode", &vs.vars[30].vendor);
    assert_ptr_equal(v, &vs.vars[30]);
    assert_int_equal(v->offset, custom_live);
    assert_int_equal(v->data[0], 0);
    tl_varstore_done(&vs);

    /* Two VAR_ADDED copies: EDK2 would pick one; we refuse. */
    m[custom_deleted + 2] = 0x3f;
    expect_error(m, len, -EBADMSG, custom_live, "second live copy");
    memcpy(m, b, len);

    /* A deleted BootOrder revived as in-transition appears in store order. */
    m[bootorder1 + 2] = 0x3e;
    assert_int_equal(parse_quiet(m, len, &vs, &err), 0);
    assert_int_equal(vs.n_vars, 32);
    assert_name(&vs.vars[11], "BootOrder");
    assert_int_equal(vs.vars[11].offset, bootorder1);
    assert_int_equal(vs.vars[11].data_len, 2);
    tl_varstore_done(&vs);
    /* Two in transition and none added: ambiguous. */
    m[bootorder2 + 2] = 0x3e;
    expect_error(m, len, -EBADMSG, bootorder2, "second live copy");
    memcpy(m, b, len);

    /* Header written, data not yet (VAR_HEADER_VALID_ONLY), and any other
     * state: not a variable. */
    static const uint8_t not_live[] = {0x7f, 0xff, 0x3d, 0x3c, 0x00, 0x1f};
    for (size_t i = 0; i < TL_ARRAY_SIZE(not_live); i++) {
        m[pk + 2] = not_live[i];
        assert_int_equal(parse_quiet(m, len, &vs, &err), 0);
        assert_int_equal(vs.n_vars, 30);
        assert_null(tl_varstore_find(&vs, "PK", &TL_EFI_GLOBAL_VARIABLE_GUID));
        tl_varstore_done(&vs);
    }
}

/* ---- a gEfiVariableGuid store (VARIABLE_HEADER, no authentication) ---- */

/* An 8 KiB NV firmware volume (2 blocks of 4 KiB) whose 4 KiB store holds
 * "Foo" (vendor EFI_GLOBAL_VARIABLE) = {0xab, 0xcd}, and a deleted "Bar". */
static uint8_t *make_plain_store(size_t *len)
{
    *len = 0x2000;
    uint8_t *b = malloc(*len);
    assert_non_null(b);
    memset(b, 0xff, *len);
    memset(b, 0, 72);
    static const uint8_t nv_fv[16] = {0x8d, 0x2b, 0xf1, 0xff, 0x96, 0x76, 0x8b, 0x4c,
                                      0xa9, 0x85, 0x27, 0x47, 0x07, 0x5b, 0x4f, 0x50};
    memcpy(b + 16, nv_fv, 16);
    put64(b + 32, *len);
    memcpy(b + 40, "_FVH", 4);
    put32(b + 44, 0x0004feff);
    put16(b + 48, 72);
    b[55] = 2;
    put32(b + 56, 2);
    put32(b + 60, 0x1000);
    fix_fv_checksum(b);

    static const uint8_t var_guid[16] = {0x16, 0x36, 0xcf, 0xdd, 0x75, 0x32, 0x64, 0x41,
                                         0x98, 0xb6, 0xfe, 0x85, 0x70, 0x7f, 0xfe, 0x7d};
    uint8_t *s = b + 72;
    memcpy(s, var_guid, 16);
    put32(s + 16, 0x1000 - 72);
    s[20] = 0x5a;
    s[21] = 0xfe;
    memset(s + 22, 0, 6);

    /* "Bar", deleted, at 100; "Foo" at 100 + 32 + 8 + 2 = 142 -> 144. */
    uint8_t *v = b + 100;
    put16(v, 0x55aa);
    v[2] = 0x3c;
    v[3] = 0;
    put32(v + 4, 7);
    put32(v + 8, 8);
    put32(v + 12, 2);
    memcpy(v + 16, TL_EFI_GLOBAL_VARIABLE_GUID.b, 16);
    memcpy(v + 32, "B\0a\0r\0\0\0", 8);
    v[40] = 1;
    v[41] = 2;
    v = b + 144;
    put16(v, 0x55aa);
    v[2] = 0x3f;
    v[3] = 0;
    put32(v + 4, 7);
    put32(v + 8, 8);
    put32(v + 12, 2);
    memcpy(v + 16, TL_EFI_GLOBAL_VARIABLE_GUID.b, 16);
    memcpy(v + 32, "F\0o\0o\0\0\0", 8);
    v[40] = 0xab;
    v[41] = 0xcd;
    return b;
}

static void test_non_authenticated(void **state)
{
    (void)state;
    size_t len;
    _cleanup_free_ uint8_t *b = make_plain_store(&len);
    struct tl_varstore vs, vs2;
    struct tl_error err = {0};
    assert_int_equal(tl_varstore_parse(b, len, &vs, &err), 0);
    assert_false(vs.authenticated);
    assert_int_equal(vs.store_offset, 72);
    assert_int_equal(vs.store_size, 0x1000 - 72);
    assert_int_equal(vs.n_vars, 1);
    assert_name(&vs.vars[0], "Foo");
    assert_int_equal(vs.vars[0].offset, 144);
    assert_int_equal(vs.vars[0].attributes, 7);
    assert_int_equal(vs.vars[0].data_len, 2);
    assert_memory_equal(vs.vars[0].data, "\xab\xcd", 2);
    assert_ptr_equal(vs.vars[0].data, b + 144 + 40);

    /* Authenticated attributes need an authenticated store. */
    const uint8_t d[] = {9};
    struct tl_varstore_change c = {.name = "Baz",
                                   .vendor = TL_EFI_GLOBAL_VARIABLE_GUID,
                                   .attributes = 0x27,
                                   .timestamp = {1, 2, 3},
                                   .data = d,
                                   .data_len = 1};
    uint8_t *out = NULL;
    size_t out_len;
    assert_int_equal(tl_varstore_write(&vs, &c, 1, &out, &out_len, &err), -EINVAL);
    assert_null(out);

    /* A set with 32-byte headers: Foo compacted to 100, Baz at 144. */
    c.attributes = 0x07;
    assert_int_equal(tl_varstore_write(&vs, &c, 1, &out, &out_len, &err), 0);
    assert_int_equal(out_len, len);
    assert_int_equal(tl_varstore_parse(out, out_len, &vs2, &err), 0);
    assert_int_equal(vs2.n_vars, 2);
    assert_int_equal(vs2.vars[0].offset, 100);
    assert_same_var(&vs2.vars[0], &vs.vars[0]);
    assert_int_equal(vs2.vars[1].offset, 100 + 44);
    assert_name(&vs2.vars[1], "Baz");
    assert_int_equal(vs2.vars[1].data_len, 1);
    assert_int_equal(vs2.vars[1].data[0], 9);
    static const uint8_t zero[16];
    assert_memory_equal(vs2.vars[1].timestamp, zero, 16); /* not stored */
    assert_int_equal(out[144 + 32 + 8 + 1], 0xff);        /* padding erased */
    assert_memory_equal(out + 0x1000, b + 0x1000, len - 0x1000);
    tl_varstore_done(&vs2);
    free(out);

    /* Every truncation of the plain store fails too. */
    for (size_t l = 0; l < len; l++) {
        _cleanup_free_ uint8_t *p = dup_exact(b, l);
        assert_int_equal(parse_quiet(p, l, &vs2, &err), -EBADMSG);
    }
    tl_varstore_done(&vs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ms_variables),
        cmocka_unit_test(test_ms_keys),
        cmocka_unit_test(test_ms_matches_eventlog),
        cmocka_unit_test(test_plain_store),
        cmocka_unit_test(test_2m_store),
        cmocka_unit_test(test_write_unchanged),
        cmocka_unit_test(test_write_clear_keys),
        cmocka_unit_test(test_write_new_db),
        cmocka_unit_test(test_write_enospc),
        cmocka_unit_test(test_write_bad_changes),
        cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_store_size_cuts),
        cmocka_unit_test(test_overruns),
        cmocka_unit_test(test_header_errors),
        cmocka_unit_test(test_states),
        cmocka_unit_test(test_non_authenticated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
