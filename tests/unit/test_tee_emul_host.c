/* Unit tests for the emulated secure processor's key store
 * (src/host/tee_emul.c), judged by libtl's verifiers with the files it
 * writes, as a relying party would read them.
 *
 * What is asserted:
 *  - a new store: keys/ 0700 with keys 0600, the collateral folders; an
 *    SEV-SNP report of a chip verifies with the chip's vcek.pem and snp/
 *    under a policy naming the ARK printed by tlh_tee_emul_info (pass,
 *    emulated), carries the REPORT_DATA, MEASUREMENT and CHIP_ID given, and
 *    fails root-untrusted under the default policy; REPORT_ID is the same
 *    in two reports of the same launch;
 *  - a TD quote verifies with tdx/ under a policy naming the root, and the
 *    TDREPORT asked for carries the same REPORT_DATA and MRTD;
 *  - reopening keeps the ARK, the root and the CHIP_ID (created once);
 *    a chip asked with another CHIP_ID is -EEXIST; a bad chip name
 *    -EINVAL; a key readable by others is refused (-EPERM);
 *  - 50 SEV-SNP reports and 50 TD quotes from one opened chip take under
 *    20 s together (the keys are loaded once; hardware-speed is not the
 *    claim, a per-attestation call is). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "tl/snp.h"
#include "tl/tdx.h"
#include "tl/tee.h"
#include "tl/util.h"
#include "tlhost/file.h"
#include "tlhost/tee_emul.h"

static char dir[64];

static void rm_rf(const char *path)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
    assert_int_equal(system(cmd), 0);
}

/* Every regular file of d as collateral blobs. */
struct blobs {
    struct tl_tee_blob b[16];
    uint8_t *data[16];
    size_t n;
};

static void blobs_read(struct blobs *bl, const char *d)
{
    *bl = (struct blobs){0};
    DIR *dh = opendir(d);
    assert_non_null(dh);
    struct dirent *de;
    struct tl_error err = {0};
    while ((de = readdir(dh))) {
        if (de->d_name[0] == '.')
            continue;
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", d, de->d_name);
        assert_true(bl->n < 16);
        size_t len;
        assert_int_equal(tlh_file_read(path, 1 << 20, &bl->data[bl->n], &len, &err), 0);
        bl->b[bl->n] = (struct tl_tee_blob){NULL, bl->data[bl->n], len};
        bl->n++;
    }
    closedir(dh);
}

static void blobs_done(struct blobs *bl)
{
    for (size_t i = 0; i < bl->n; i++)
        free(bl->data[i]);
}

static void policy_naming(struct tl_tee_policy *p, enum tl_tee_root_kind kind, const char *hex)
{
    tl_tee_policy_init(p);
    p->n_trusted_roots = 1;
    p->trusted_roots[0].kind = kind;
    assert_int_equal(tl_hex_decode(hex, 64, p->trusted_roots[0].sha256, 32), 32);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/tl-tee-emul-host.XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    rm_rf(dir);
    return 0;
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

static void test_store(void **state)
{
    (void)state;
    char store[128], path[256];
    snprintf(store, sizeof(store), "%s/tee-emul", dir);
    struct tl_error err = {0};
    struct tlh_tee_emul *e;
    struct tlh_tee_emul_chip *c;
    time_t now = time(NULL);
    assert_int_equal(tlh_tee_emul_open(store, now, &e, &err), 0);
    snprintf(path, sizeof(path), "%s/keys", store);
    assert_int_equal(mode_of(path), 0700);
    snprintf(path, sizeof(path), "%s/keys/ark.key", store);
    assert_int_equal(mode_of(path), 0600);
    uint8_t id[64];
    for (int i = 0; i < 64; i++)
        id[i] = (uint8_t)(0x30 + i);
    assert_int_equal(tlh_tee_emul_chip_open(e, "node-1", id, &c, &err), 0);
    assert_memory_equal(tlh_tee_emul_chip_id(c), id, 64);
    snprintf(path, sizeof(path), "%s/chips/node-1/vcek.pem", store);
    assert_string_equal(tlh_tee_emul_chip_vcek_path(c), path);
    struct tlh_tee_emul_info info;
    tlh_tee_emul_info(e, &info);

    /* SEV-SNP */
    struct tlh_tee_emul_request req = {.kind = TLH_TEE_EMUL_SNP};
    for (int i = 0; i < 64; i++)
        req.report_data[i] = (uint8_t)(0xf0 ^ i);
    memset(req.measurement, 0x4d, 48);
    uint8_t *rep, *vcek;
    size_t len, vcek_len;
    assert_int_equal(tlh_tee_emul_report(e, c, &req, &rep, &len, &err), 0);
    assert_int_equal(len, TL_SNP_REPORT_SIZE);
    struct tl_snp_report r;
    assert_int_equal(tl_snp_report_parse(rep, len, &r, &err), 0);
    assert_memory_equal(r.report_data, req.report_data, 64);
    assert_memory_equal(r.measurement, req.measurement, 48);
    assert_memory_equal(r.chip_id, id, 64);
    assert_int_equal(r.version, 3);
    uint8_t *again;
    size_t again_len;
    struct tl_snp_report r2;
    assert_int_equal(tlh_tee_emul_report(e, c, &req, &again, &again_len, &err), 0);
    assert_int_equal(tl_snp_report_parse(again, again_len, &r2, &err), 0);
    assert_memory_equal(r2.report_id, r.report_id, 32); /* the guest's, not the report's */
    free(again);
    assert_int_equal(tlh_file_read(tlh_tee_emul_chip_vcek_path(c), 1 << 20, &vcek, &vcek_len, &err),
                     0);
    struct blobs snp;
    blobs_read(&snp, info.snp_collateral);
    assert_int_equal(snp.n, 2);
    struct tl_tee_collateral col = {snp.n, snp.b};
    struct tl_snp_evidence ev = {rep, len, vcek, vcek_len, &col};
    struct tl_snp_ctx *ctx;
    assert_int_equal(tl_snp_ctx_new(&ctx, &err), 0);
    struct tl_tee_policy def, pol;
    struct tl_tee_verdict v;
    tl_tee_policy_init(&def);
    policy_naming(&pol, TL_TEE_ROOT_SNP_ARK, info.snp_ark_sha256);
    assert_int_equal(tl_tee_verdict_init(&v, TL_TEE_KIND_SNP, now), 0);
    assert_int_equal(tl_snp_verify(ctx, &ev, &pol, &v), 0);
    for (unsigned i = 0; i < v.n_reasons; i++)
        fprintf(stderr, "%s: %s\n", tl_tee_code_name(v.reasons[i].code), v.reasons[i].detail);
    assert_true(v.pass);
    assert_true(v.emulated);
    tl_tee_verdict_done(&v);
    assert_int_equal(tl_tee_verdict_init(&v, TL_TEE_KIND_SNP, now), 0);
    assert_int_equal(tl_snp_verify(ctx, &ev, &def, &v), 0);
    assert_int_equal(v.n_reasons, 1);
    assert_int_equal(v.reasons[0].code, TL_TEE_ROOT_UNTRUSTED);
    tl_tee_verdict_done(&v);
    free(rep);

    /* TDX */
    uint8_t tdreport[1024];
    req.kind = TLH_TEE_EMUL_TDX;
    req.tdreport = tdreport;
    assert_int_equal(tlh_tee_emul_report(e, c, &req, &rep, &len, &err), 0);
    assert_memory_equal(tdreport + 128, req.report_data, 64);
    assert_memory_equal(tdreport + 512 + 16, req.measurement, 48);
    struct blobs tdx;
    blobs_read(&tdx, info.tdx_collateral);
    struct tl_tdx_collateral *tcol;
    assert_int_equal(tl_tdx_collateral_new(tdx.b, tdx.n, &tcol, &err), 0);
    policy_naming(&pol, TL_TEE_ROOT_TDX_ROOT, info.tdx_root_sha256);
    assert_int_equal(tl_tdx_verify(rep, len, tcol, &pol, now, &v, NULL, &err), 0);
    for (unsigned i = 0; i < v.n_reasons; i++)
        fprintf(stderr, "%s: %s\n", tl_tee_code_name(v.reasons[i].code), v.reasons[i].detail);
    assert_true(v.pass);
    assert_true(v.emulated);
    tl_tee_verdict_done(&v);
    free(rep);

    /* per attestation */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < 50; i++) {
        req.kind = i % 2 ? TLH_TEE_EMUL_TDX : TLH_TEE_EMUL_SNP;
        req.report_data[0] = (uint8_t)i;
        assert_int_equal(tlh_tee_emul_report(e, c, &req, &rep, &len, &err), 0);
        free(rep);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    fprintf(stderr, "# 50 reports/quotes in %.3f s\n", s);
    assert_true(s < 20.0);

    /* created once */
    char ark[65], root[65];
    memcpy(ark, info.snp_ark_sha256, 65);
    memcpy(root, info.tdx_root_sha256, 65);
    tlh_tee_emul_chip_free(c);
    tlh_tee_emul_free(e);
    assert_int_equal(tlh_tee_emul_open(store, now + 60, &e, &err), 0);
    tlh_tee_emul_info(e, &info);
    assert_string_equal(info.snp_ark_sha256, ark);
    assert_string_equal(info.tdx_root_sha256, root);
    assert_int_equal(tlh_tee_emul_chip_open(e, "node-1", NULL, &c, &err), 0);
    assert_memory_equal(tlh_tee_emul_chip_id(c), id, 64);
    tlh_tee_emul_chip_free(c);
    id[0] ^= 1;
    assert_int_equal(tlh_tee_emul_chip_open(e, "node-1", id, &c, &err), -EEXIST);
    assert_null(c);
    assert_int_equal(tlh_tee_emul_chip_open(e, "../x", NULL, &c, &err), -EINVAL);
    assert_int_equal(tlh_tee_emul_chip_open(e, ".hidden", NULL, &c, &err), -EINVAL);
    tlh_tee_emul_free(e);
    snprintf(path, sizeof(path), "%s/keys/ask.key", store);
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(tlh_tee_emul_open(store, now, &e, &err), -EPERM);
    assert_null(e);
    assert_non_null(strstr(err.message, "ask.key"));

    tl_tdx_collateral_free(tcol);
    tl_snp_ctx_free(ctx);
    blobs_done(&snp);
    blobs_done(&tdx);
    free(vcek);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
