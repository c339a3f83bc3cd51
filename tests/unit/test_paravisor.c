/* The paravisor relay (src/host/paravisor*.c) against a real swtpm and real
 * tpm2-tss: swtpm is started and provisioned (AK at 0x81000003, NV
 * 0x01400002), the relay runs in a thread with a refresh callback that
 * builds a recognisable report, and this test acts as QEMU does: a data
 * channel handed over with CMD_SET_DATAFD through the relay's socket, then
 * ESAPI on it. Also the pure wire parsing (lib/tpm/cmdparse.c) on
 * hand-made commands.
 *
 * TL_PARAVISOR_CAPTURE=DIR writes every command ESAPI sent through the
 * relay to DIR (the seeds of tests/fuzz/fuzz_tpm_cmd, tests/data/tpmcmd). */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <tss2/tss2_mu.h>

#include "tl/tpmcmd.h"
#include "tl/vtpm.h"
#include "tlhost/paravisor.h"
#include "tlhost/proc.h"
#include "tlhost/swtpm.h"

#define REPORT_BASE 2400 /* over libtpms' 2048-byte NV cap, like a real SNP HCL report */

struct fixture {
    char dir[64], ctrl[96], relay[96];
    struct tlh_proc swtpm;
    struct tlh_paravisor_keys keys;
    struct tlh_paravisor pv;
    pthread_t thread;
    int stop[2];
    int run_rc;
    bool running;       /* the relay's thread */
    unsigned refreshes; /* calls of the callback */
    uint8_t last_user_data[64];
    struct tlh_swtpm_data g; /* "QEMU" */
    TSS2_TCTI_TRANSMIT_FCN transmit;
    const char *capture;
    unsigned captured;
};

static struct fixture *fx_of_tcti; /* the capture wrapper's way back (test only) */

/* The report: "HCLA", a counter, a pattern, the user-data at the end; its
 * length grows by one per refresh so that dataSize changes are seen. */
static int refresh(void *opaque, const uint8_t ud[64], uint8_t **report, size_t *len,
                   struct tl_error *err)
{
    (void)err;
    struct fixture *f = opaque;
    size_t n = REPORT_BASE + f->refreshes;
    uint8_t *r = malloc(n);
    if (!r)
        return -ENOMEM;
    memcpy(r, "HCLA", 4);
    r[4] = (uint8_t)f->refreshes;
    for (size_t i = 5; i < n - 64; i++)
        r[i] = (uint8_t)(i * 7 + 3);
    memcpy(r + n - 64, ud, 64);
    memcpy(f->last_user_data, ud, 64);
    f->refreshes++;
    *report = r;
    *len = n;
    return 0;
}

static void expected_report(const struct fixture *f, unsigned gen, uint8_t *out, size_t *len)
{
    size_t n = REPORT_BASE + gen;
    memcpy(out, "HCLA", 4);
    out[4] = (uint8_t)gen;
    for (size_t i = 5; i < n - 64; i++)
        out[i] = (uint8_t)(i * 7 + 3);
    memcpy(out + n - 64, f->last_user_data, 64);
    *len = n;
}

static void *relay_thread(void *arg)
{
    struct fixture *f = arg;
    f->run_rc = tlh_paravisor_run(&f->pv, NULL);
    return NULL;
}

static TSS2_RC capture_transmit(TSS2_TCTI_CONTEXT *ctx, size_t size, const uint8_t *cmd)
{
    struct fixture *f = fx_of_tcti;
    char path[256];
    snprintf(path, sizeof(path), "%s/cmd-%03u.bin", f->capture, f->captured++);
    FILE *fp = fopen(path, "wb");
    if (fp) {
        fwrite(cmd, 1, size, fp);
        fclose(fp);
    }
    return f->transmit(ctx, size, cmd);
}

static void wait_socket(const char *path)
{
    for (int i = 0; i < 250; i++) {
        struct stat st;
        if (stat(path, &st) == 0 && S_ISSOCK(st.st_mode))
            return;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fail_msg("%s did not appear", path);
}

static void startup(ESYS_CONTEXT *esys)
{
    TSS2_RC rc = Esys_Startup(esys, TPM2_SU_CLEAR);
    assert_true(rc == TSS2_RC_SUCCESS || rc == TPM2_RC_INITIALIZE);
}

/* A data channel by CMD_SET_DATAFD on the control socket ctrl. swtpm binds
 * its socket before it listens, and takes a new channel only once the last
 * one is closed: both are retried for a second. */
static void open_data(const char *ctrl, struct tlh_swtpm_data *d)
{
    struct tl_error err = {0};
    int r = -1;
    for (int i = 0; i < 50 && r < 0; i++) {
        r = tlh_swtpm_data_open(ctrl, d, &err);
        if (r < 0) {
            struct timespec ts = {0, 20 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    if (r < 0)
        fail_msg("%s: no data channel: %s", ctrl, err.message);
}

static int setup(void **state)
{
    static struct fixture f;
    f = (struct fixture){.stop = {-1, -1}, .g = {.fd = -1}};
    *state = &f; /* teardown undoes what was done */
    strcpy(f.dir, "/tmp/tl-paravisor-XXXXXX");
    assert_non_null(mkdtemp(f.dir));
    snprintf(f.ctrl, sizeof(f.ctrl), "%s/swtpm.ctrl", f.dir);
    snprintf(f.relay, sizeof(f.relay), "%s/relay.ctrl", f.dir);
    char a_state[128], a_ctrl[160], log[128];
    snprintf(a_state, sizeof(a_state), "dir=%s", f.dir);
    snprintf(a_ctrl, sizeof(a_ctrl), "type=unixio,path=%s", f.ctrl);
    snprintf(log, sizeof(log), "%s/swtpm.log", f.dir);
    const char *bin = getenv("TL_SWTPM");
    char *argv[] = {(char *)(bin && *bin ? bin : "swtpm"),
                    "socket",
                    "--tpm2",
                    "--tpmstate",
                    a_state,
                    "--ctrl",
                    a_ctrl,
                    "--flags",
                    "not-need-init",
                    NULL};
    struct tl_error err = {0};
    assert_int_equal(tlh_proc_start(argv, log, -1, &f.swtpm, &err), 0);
    wait_socket(f.ctrl);

    /* the platform's provisioning, before QEMU */
    struct tlh_swtpm_data d;
    open_data(f.ctrl, &d);
    startup(d.esys);
    int r = tlh_paravisor_provision(d.esys, &f.keys, &err);
    if (r < 0)
        fail_msg("provision: %s", err.message);
    /* again: idempotent, the same AK */
    struct tlh_paravisor_keys again;
    assert_int_equal(tlh_paravisor_provision(d.esys, &again, &err), 0);
    assert_memory_equal(&again.ak, &f.keys.ak, sizeof(again.ak));
    assert_memory_equal(&again.ek, &f.keys.ek, sizeof(again.ek));
    tlh_swtpm_data_close(&d);

    assert_int_equal(pipe2(f.stop, O_CLOEXEC), 0);
    struct tlh_paravisor_config cfg = {.listen_path = f.relay,
                                       .swtpm_ctrl = f.ctrl,
                                       .refresh = refresh,
                                       .opaque = &f,
                                       .stop_fd = f.stop[0],
                                       .io_timeout_ms = 300};
    r = tlh_paravisor_open(&f.pv, &cfg, &err);
    if (r < 0)
        fail_msg("open: %s", err.message);
    assert_int_equal(f.refreshes, 1); /* the report at start, zero user-data */
    assert_int_equal(pthread_create(&f.thread, NULL, relay_thread, &f), 0);
    f.running = true;

    /* QEMU: CMD_SET_DATAFD with a socket pair, through the relay */
    open_data(f.relay, &f.g);
    f.capture = getenv("TL_PARAVISOR_CAPTURE");
    if (f.capture && *f.capture) {
        fx_of_tcti = &f;
        f.transmit = f.g.tcti.transmit;
        f.g.tcti.transmit = capture_transmit;
    }
    startup(f.g.esys);
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (!f)
        return 0;
    tlh_swtpm_data_close(&f->g);
    if (f->running) {
        assert_int_equal(write(f->stop[1], "x", 1), 1);
        pthread_join(f->thread, NULL);
        assert_int_equal(f->run_rc, 0);
        tlh_paravisor_close(&f->pv);
    }
    if (f->stop[0] >= 0) {
        close(f->stop[0]);
        close(f->stop[1]);
    }
    tlh_swtpm_shutdown(f->ctrl, 3000, NULL);
    tlh_proc_kill(&f->swtpm, SIGTERM, 3000);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

/* ---- helpers speaking ESAPI through the relay ---- */

static ESYS_TR nv_tr(struct fixture *f, uint32_t index)
{
    ESYS_TR tr = ESYS_TR_NONE;
    /* reads the public area and checks the Name the TPM (relay) returned
     * against the one ESAPI computes from it */
    TSS2_RC rc =
        Esys_TR_FromTPMPublic(f->g.esys, index, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &tr);
    assert_int_equal(rc, TSS2_RC_SUCCESS);
    return tr;
}

/* The whole of 0x01400001 in chunks of at most 1024, authorized by auth. */
static size_t read_report(struct fixture *f, ESYS_TR auth, uint8_t *out, size_t cap)
{
    ESYS_TR nv = nv_tr(f, TLH_PARAVISOR_NV_REPORT);
    TPM2B_NV_PUBLIC *pub = NULL;
    TPM2B_NAME *name = NULL;
    assert_int_equal(
        Esys_NV_ReadPublic(f->g.esys, nv, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, &name),
        TSS2_RC_SUCCESS);
    size_t size = pub->nvPublic.dataSize;
    assert_int_equal(pub->nvPublic.nvIndex, TLH_PARAVISOR_NV_REPORT);
    assert_int_equal(pub->nvPublic.nameAlg, TPM2_ALG_SHA256);
    assert_int_equal(pub->nvPublic.attributes, TLH_PARAVISOR_REPORT_ATTRIBUTES);
    uint8_t expect_name[TL_TPM_NAME_SHA256];
    assert_int_equal(tl_tpm_nv_name(&pub->nvPublic, expect_name, NULL), 0);
    assert_int_equal(name->size, sizeof(expect_name));
    assert_memory_equal(name->name, expect_name, sizeof(expect_name));
    Esys_Free(pub);
    Esys_Free(name);
    assert_true(size <= cap);
    if (auth == ESYS_TR_NONE)
        auth = nv;
    for (size_t off = 0; off < size;) {
        uint16_t n = (uint16_t)(size - off > 1024 ? 1024 : size - off);
        TPM2B_MAX_NV_BUFFER *data = NULL;
        TSS2_RC rc = Esys_NV_Read(f->g.esys, auth, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                                  n, (uint16_t)off, &data);
        assert_int_equal(rc, TSS2_RC_SUCCESS);
        assert_int_equal(data->size, n);
        memcpy(out + off, data->buffer, n);
        Esys_Free(data);
        off += n;
    }
    Esys_TR_Close(f->g.esys, &nv);
    return size;
}

static void test_report_read(void **state)
{
    struct fixture *f = *state;
    uint8_t got[4096], want[4096];
    size_t want_len;
    expected_report(f, 0, want, &want_len);
    size_t len = read_report(f, ESYS_TR_NONE, got, sizeof(got));
    assert_int_equal(len, REPORT_BASE);
    assert_memory_equal(got, want, want_len);
    /* the owner may read it too (az-snp-vtpm reads with NvAuth::Owner) */
    memset(got, 0, sizeof(got));
    assert_int_equal(read_report(f, ESYS_TR_RH_OWNER, got, sizeof(got)), REPORT_BASE);
    assert_memory_equal(got, want, want_len);
}

static TSS2_RC nv_read_rc(struct fixture *f, ESYS_TR session, uint16_t size, uint16_t off)
{
    ESYS_TR nv = nv_tr(f, TLH_PARAVISOR_NV_REPORT);
    TPM2B_MAX_NV_BUFFER *data = NULL;
    TSS2_RC rc =
        Esys_NV_Read(f->g.esys, nv, nv, session, ESYS_TR_NONE, ESYS_TR_NONE, size, off, &data);
    Esys_Free(data);
    Esys_TR_Close(f->g.esys, &nv);
    return rc;
}

static void test_report_refusals(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(nv_read_rc(f, ESYS_TR_PASSWORD, 1000, REPORT_BASE - 999), TPM2_RC_NV_RANGE);
    assert_int_equal(nv_read_rc(f, ESYS_TR_PASSWORD, 1025, 0),
                     TPM2_RC_VALUE | TPM2_RC_P | TPM2_RC_1);
    assert_int_equal(nv_read_rc(f, ESYS_TR_PASSWORD, 0, REPORT_BASE), TSS2_RC_SUCCESS);
    /* a bound HMAC session: the relay cannot follow it */
    ESYS_TR s = ESYS_TR_NONE;
    TPMT_SYM_DEF sym = {.algorithm = TPM2_ALG_NULL};
    assert_int_equal(Esys_StartAuthSession(f->g.esys, ESYS_TR_NONE, ESYS_TR_RH_OWNER, ESYS_TR_NONE,
                                           ESYS_TR_NONE, ESYS_TR_NONE, NULL, TPM2_SE_HMAC, &sym,
                                           TPM2_ALG_SHA256, &s),
                     TSS2_RC_SUCCESS);
    assert_int_equal(nv_read_rc(f, s, 16, 0), TPM2_RC_AUTH_UNAVAILABLE);
    Esys_FlushContext(f->g.esys, s);
    /* a policy session neither */
    assert_int_equal(Esys_StartAuthSession(f->g.esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                           ESYS_TR_NONE, ESYS_TR_NONE, NULL, TPM2_SE_POLICY, &sym,
                                           TPM2_ALG_SHA256, &s),
                     TSS2_RC_SUCCESS);
    assert_int_equal(nv_read_rc(f, s, 16, 0), TPM2_RC_AUTH_UNAVAILABLE);
    Esys_FlushContext(f->g.esys, s);
    /* the index's auth is empty: a password is wrong */
    ESYS_TR nv = nv_tr(f, TLH_PARAVISOR_NV_REPORT);
    TPM2B_AUTH pw = {.size = 3, .buffer = "abc"};
    Esys_TR_SetAuth(f->g.esys, nv, &pw);
    TPM2B_MAX_NV_BUFFER *data = NULL;
    assert_int_equal(
        Esys_NV_Read(f->g.esys, nv, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, 16, 0, &data),
        TPM2_RC_AUTH_FAIL | TPM2_RC_S | TPM2_RC_1);
    Esys_TR_Close(f->g.esys, &nv);
    assert_true(f->pv.stats.refused >= 4);
}

/* An unbound, unsalted HMAC session (what tpm2_nvread starts): the relay
 * checks its HMAC, answers with one ESAPI verifies, and the session stays
 * usable in swtpm afterwards. */
static void test_report_hmac_session(void **state)
{
    struct fixture *f = *state;
    ESYS_TR s = ESYS_TR_NONE;
    TPMT_SYM_DEF sym = {.algorithm = TPM2_ALG_NULL};
    assert_int_equal(Esys_StartAuthSession(f->g.esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                           ESYS_TR_NONE, ESYS_TR_NONE, NULL, TPM2_SE_HMAC, &sym,
                                           TPM2_ALG_SHA256, &s),
                     TSS2_RC_SUCCESS);
    assert_int_equal(Esys_TRSess_SetAttributes(f->g.esys, s, TPMA_SESSION_CONTINUESESSION, 0xff),
                     TSS2_RC_SUCCESS);
    uint8_t want[4096];
    size_t want_len;
    expected_report(f, f->refreshes - 1, want, &want_len);
    ESYS_TR nv = nv_tr(f, TLH_PARAVISOR_NV_REPORT);
    unsigned long served = f->pv.stats.served;
    for (int i = 0; i < 3; i++) {
        TPM2B_MAX_NV_BUFFER *data = NULL;
        ESYS_TR auth = i == 1 ? ESYS_TR_RH_OWNER : nv;
        TSS2_RC rc = Esys_NV_Read(f->g.esys, auth, nv, s, ESYS_TR_NONE, ESYS_TR_NONE, 1024,
                                  (uint16_t)(i * 512), &data);
        assert_int_equal(rc, TSS2_RC_SUCCESS); /* ESAPI checked the response HMAC */
        assert_int_equal(data->size, 1024);
        assert_memory_equal(data->buffer, want + i * 512, 1024);
        Esys_Free(data);
    }
    assert_int_equal(f->pv.stats.served, served + 3);
    /* the same session on a command swtpm answers: its nonce is still right */
    ESYS_TR ud = nv_tr(f, TLH_PARAVISOR_NV_USER_DATA);
    TPM2B_MAX_NV_BUFFER *data = NULL;
    TSS2_RC rc = Esys_NV_Read(f->g.esys, ud, ud, s, ESYS_TR_NONE, ESYS_TR_NONE, 64, 0, &data);
    assert_true(rc == TSS2_RC_SUCCESS || rc == TPM2_RC_NV_UNINITIALIZED);
    Esys_Free(data);
    /* and back on the relay's index */
    assert_int_equal(Esys_NV_Read(f->g.esys, nv, nv, s, ESYS_TR_NONE, ESYS_TR_NONE, 16, 0, &data),
                     TSS2_RC_SUCCESS);
    assert_memory_equal(data->buffer, want, 16);
    Esys_Free(data);
    /* a wrong auth value makes a wrong HMAC: TPM_RC_AUTH_FAIL, session 1 */
    TPM2B_AUTH pw = {.size = 3, .buffer = "abc"};
    Esys_TR_SetAuth(f->g.esys, nv, &pw);
    assert_int_equal(Esys_NV_Read(f->g.esys, nv, nv, s, ESYS_TR_NONE, ESYS_TR_NONE, 16, 0, &data),
                     TPM2_RC_AUTH_FAIL | TPM2_RC_S | TPM2_RC_1);
    /* the last use ends the session: the relay flushes it from swtpm */
    TPM2B_AUTH none = {0};
    Esys_TR_SetAuth(f->g.esys, nv, &none);
    assert_int_equal(Esys_TRSess_SetAttributes(f->g.esys, s, 0, TPMA_SESSION_CONTINUESESSION),
                     TSS2_RC_SUCCESS);
    assert_int_equal(Esys_NV_Read(f->g.esys, nv, nv, s, ESYS_TR_NONE, ESYS_TR_NONE, 16, 0, &data),
                     TSS2_RC_SUCCESS);
    Esys_Free(data);
    TPMI_YES_NO more;
    TPMS_CAPABILITY_DATA *cap = NULL;
    assert_int_equal(Esys_GetCapability(f->g.esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                        TPM2_CAP_HANDLES, TPM2_HMAC_SESSION_FIRST, 16, &more, &cap),
                     TSS2_RC_SUCCESS);
    assert_int_equal(cap->data.handles.count, 0); /* no session left in swtpm */
    Esys_Free(cap);
    Esys_TR_Close(f->g.esys, &nv);
    Esys_TR_Close(f->g.esys, &ud);
}

static void test_user_data_refresh(void **state)
{
    struct fixture *f = *state;
    unsigned before = f->refreshes;
    ESYS_TR ud = nv_tr(f, TLH_PARAVISOR_NV_USER_DATA);
    TPM2B_MAX_NV_BUFFER data = {.size = 64};
    for (int i = 0; i < 64; i++)
        data.buffer[i] = (uint8_t)(0xa0 ^ i);
    assert_int_equal(Esys_NV_Write(f->g.esys, ESYS_TR_RH_OWNER, ud, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                   ESYS_TR_NONE, &data, 0),
                     TSS2_RC_SUCCESS);
    assert_int_equal(f->refreshes, before + 1);
    assert_memory_equal(f->last_user_data, data.buffer, 64); /* read back from swtpm */
    uint8_t got[4096], want[4096];
    size_t want_len;
    expected_report(f, before, want, &want_len);
    size_t len = read_report(f, ESYS_TR_NONE, got, sizeof(got));
    assert_int_equal(len, want_len);
    assert_memory_equal(got, want, want_len);
    assert_memory_equal(got + len - 64, data.buffer, 64);
    /* a partial write at offset 8, through the index's own auth: the
     * relay reads the whole index back */
    TPM2B_MAX_NV_BUFFER part = {.size = 4, .buffer = {1, 2, 3, 4}};
    assert_int_equal(
        Esys_NV_Write(f->g.esys, ud, ud, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &part, 8),
        TSS2_RC_SUCCESS);
    assert_int_equal(f->refreshes, before + 2);
    memcpy(data.buffer + 8, part.buffer, 4);
    assert_memory_equal(f->last_user_data, data.buffer, 64);
    Esys_TR_Close(f->g.esys, &ud);
    assert_int_equal(f->pv.stats.refreshes, 2);
}

static void test_ak_quote(void **state)
{
    struct fixture *f = *state;
    ESYS_TR ak = ESYS_TR_NONE;
    assert_int_equal(Esys_TR_FromTPMPublic(f->g.esys, TLH_PARAVISOR_AK_HANDLE, ESYS_TR_NONE,
                                           ESYS_TR_NONE, ESYS_TR_NONE, &ak),
                     TSS2_RC_SUCCESS);
    TPM2B_PUBLIC *pub = NULL;
    assert_int_equal(
        Esys_ReadPublic(f->g.esys, ak, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, NULL, NULL),
        TSS2_RC_SUCCESS);
    uint8_t a[sizeof(TPMT_PUBLIC)], b[sizeof(TPMT_PUBLIC)];
    size_t la = 0, lb = 0;
    assert_int_equal(Tss2_MU_TPMT_PUBLIC_Marshal(&pub->publicArea, a, sizeof(a), &la), 0);
    assert_int_equal(Tss2_MU_TPMT_PUBLIC_Marshal(&f->keys.ak.publicArea, b, sizeof(b), &lb), 0);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    assert_int_equal(pub->publicArea.parameters.rsaDetail.keyBits, 2048);
    Esys_Free(pub);

    TPM2B_DATA nonce = {.size = 32};
    memset(nonce.buffer, 0x5a, 32);
    TPMT_SIG_SCHEME scheme = {.scheme = TPM2_ALG_NULL};
    TPML_PCR_SELECTION sel = {
        .count = 1,
        .pcrSelections = {{.hash = TPM2_ALG_SHA256, .sizeofSelect = 3, .pcrSelect = {0x03}}}};
    TPM2B_ATTEST *quoted = NULL;
    TPMT_SIGNATURE *sig = NULL;
    assert_int_equal(Esys_Quote(f->g.esys, ak, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &nonce,
                                &scheme, &sel, &quoted, &sig),
                     TSS2_RC_SUCCESS);
    TPMS_ATTEST att;
    size_t off = 0;
    assert_int_equal(
        Tss2_MU_TPMS_ATTEST_Unmarshal(quoted->attestationData, quoted->size, &off, &att), 0);
    assert_int_equal(att.type, TPM2_ST_ATTEST_QUOTE);
    assert_int_equal(att.extraData.size, 32);
    assert_memory_equal(att.extraData.buffer, nonce.buffer, 32);
    assert_int_equal(sig->sigAlg, TPM2_ALG_RSASSA);
    EVP_PKEY *key = NULL;
    assert_int_equal(tl_tpm2b_public_to_pkey(&f->keys.ak, &key, NULL), 0);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key), 1);
    assert_int_equal(EVP_DigestVerify(md, sig->signature.rsassa.sig.buffer,
                                      sig->signature.rsassa.sig.size, quoted->attestationData,
                                      quoted->size),
                     1);
    quoted->attestationData[quoted->size - 1] ^= 1; /* and not anything */
    assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key), 1);
    assert_int_not_equal(EVP_DigestVerify(md, sig->signature.rsassa.sig.buffer,
                                          sig->signature.rsassa.sig.size, quoted->attestationData,
                                          quoted->size),
                         1);
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(key);
    Esys_Free(quoted);
    Esys_Free(sig);
    Esys_TR_Close(f->g.esys, &ak);
}

static void get_random_works(struct fixture *f)
{
    TPM2B_DIGEST *rnd = NULL;
    assert_int_equal(Esys_GetRandom(f->g.esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, 16, &rnd),
                     TSS2_RC_SUCCESS);
    assert_int_equal(rnd->size, 16);
    Esys_Free(rnd);
}

static void test_passthrough(void **state)
{
    struct fixture *f = *state;
    unsigned long fwd = f->pv.stats.forwarded;
    get_random_works(f);
    TPML_PCR_SELECTION sel = {
        .count = 1,
        .pcrSelections = {{.hash = TPM2_ALG_SHA256, .sizeofSelect = 3, .pcrSelect = {0x01}}}};
    UINT32 counter;
    TPML_PCR_SELECTION *out_sel = NULL;
    TPML_DIGEST *vals = NULL;
    assert_int_equal(Esys_PCR_Read(f->g.esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &sel,
                                   &counter, &out_sel, &vals),
                     TSS2_RC_SUCCESS);
    assert_int_equal(vals->count, 1);
    assert_int_equal(vals->digests[0].size, 32);
    static const uint8_t zero[32];
    assert_memory_equal(vals->digests[0].buffer, zero, 32); /* PCR 0 of a fresh TPM */
    Esys_Free(out_sel);
    Esys_Free(vals);
    assert_int_equal(f->pv.stats.forwarded, fwd + 2);
    assert_int_equal(f->pv.stats.data_channels, 1);
}

/* Raw bytes on QEMU's side of the data channel: one response back. */
static uint32_t raw(struct fixture *f, const uint8_t *cmd, size_t len)
{
    assert_int_equal(send(f->g.fd, cmd, len, MSG_NOSIGNAL), (ssize_t)len);
    uint8_t rsp[4096];
    size_t have = 0;
    while (have < 10) {
        ssize_t n = recv(f->g.fd, rsp + have, sizeof(rsp) - have, 0);
        assert_true(n > 0);
        have += (size_t)n;
    }
    uint32_t size = (uint32_t)rsp[2] << 24 | rsp[3] << 16 | rsp[4] << 8 | rsp[5];
    while (have < size) {
        ssize_t n = recv(f->g.fd, rsp + have, sizeof(rsp) - have, 0);
        assert_true(n > 0);
        have += (size_t)n;
    }
    return (uint32_t)rsp[6] << 24 | rsp[7] << 16 | rsp[8] << 8 | rsp[9];
}

static void test_bad_commands(void **state)
{
    struct fixture *f = *state;
    /* oversized: commandSize 0xffffffff */
    uint8_t big[10] = {0x80, 0x01, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x01, 0x7b};
    assert_int_equal(raw(f, big, sizeof(big)), TPM2_RC_COMMAND_SIZE);
    get_random_works(f);
    /* commandSize 4 (under a header) */
    uint8_t tiny[10] = {0x80, 0x01, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x01, 0x7b};
    assert_int_equal(raw(f, tiny, sizeof(tiny)), TPM2_RC_COMMAND_SIZE);
    get_random_works(f);
    /* truncated: says 100 bytes, 20 come, then nothing (io_timeout 300 ms) */
    uint8_t trunc[20] = {0x80, 0x01, 0x00, 0x00, 0x00, 100, 0x00, 0x00, 0x01, 0x7b};
    assert_int_equal(raw(f, trunc, sizeof(trunc)), TPM2_RC_COMMAND_SIZE);
    get_random_works(f);
    /* garbage of a plausible size: relayed, and swtpm refuses it (libtpms
     * answers a tag it cannot unmarshal with TPM_RC_VALUE) */
    uint8_t junk[64];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)(i * 37 + 11);
    junk[2] = junk[3] = junk[4] = 0;
    junk[5] = sizeof(junk);
    unsigned long fwd = f->pv.stats.forwarded;
    assert_int_equal(raw(f, junk, sizeof(junk)), TPM2_RC_VALUE);
    assert_int_equal(f->pv.stats.forwarded, fwd + 1);
    get_random_works(f);
    /* a command code no TPM has */
    uint8_t nocc[10] = {0x80, 0x01, 0x00, 0x00, 0x00, 0x0a, 0x7f, 0xff, 0xff, 0xff};
    assert_int_equal(raw(f, nocc, sizeof(nocc)), TPM2_RC_COMMAND_CODE);
    get_random_works(f);
    /* an NV_Read of 0x01400001 whose authorizationSize overruns: not the
     * relay's to answer, swtpm refuses it */
    uint8_t bad_read[35];
    assert_int_equal(tl_tpm_cmd_nv_read(TLH_PARAVISOR_NV_REPORT, TLH_PARAVISOR_NV_REPORT, 16, 0,
                                        bad_read, sizeof(bad_read)),
                     35);
    bad_read[21] = 0x40; /* authorizationSize 0x40 */
    uint32_t rc = raw(f, bad_read, sizeof(bad_read));
    assert_int_not_equal(rc, TPM2_RC_SUCCESS);
    get_random_works(f);
    /* still serving the report */
    uint8_t got[4096];
    assert_true(read_report(f, ESYS_TR_NONE, got, sizeof(got)) >= REPORT_BASE);
    assert_memory_equal(got, "HCLA", 4);
}

/* QEMU goes and comes back: the relay lets go of swtpm's data channel and
 * relays the next CMD_SET_DATAFD (swtpm takes one once the last is closed). */
static void reopen(struct fixture *f)
{
    open_data(f->relay, &f->g);
    startup(f->g.esys);
}

static void test_reconnect(void **state)
{
    struct fixture *f = *state;
    unsigned long channels = f->pv.stats.data_channels;
    tlh_swtpm_data_close(&f->g);
    reopen(f);
    get_random_works(f);
    uint8_t got[4096];
    assert_true(read_report(f, ESYS_TR_NONE, got, sizeof(got)) >= REPORT_BASE);
    assert_int_equal(f->pv.stats.data_channels, channels + 1);
}

/* tpm2-tools through the relay: its "cmd" TCTI runs tests/tools/tpm-fdpipe,
 * which takes a data channel from the relay as QEMU does. */
static void test_tpm2_tools(void **state)
{
    struct fixture *f = *state;
    const char *pipe_tool = getenv("TL_TPM_FDPIPE");
    if (!pipe_tool ||
        system("command -v tpm2_nvread >/dev/null && command -v tpm2_nvreadpublic "
               ">/dev/null && test -e /usr/lib/x86_64-linux-gnu/libtss2-tcti-cmd.so.0") != 0)
        skip(); /* reported as skipped, never as passed */
    tlh_swtpm_data_close(&f->g);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "export TPM2TOOLS_TCTI='cmd:%s %s'; tpm2_nvread 0x01400001 -o %s/nv.bin && "
             "tpm2_nvread 0x01400001 -C o -o %s/nv-owner.bin && "
             "tpm2_nvreadpublic 0x01400001 > %s/nvpub.yaml",
             pipe_tool, f->relay, f->dir, f->dir, f->dir);
    int rc = system(cmd);
    reopen(f);
    assert_int_equal(rc, 0);
    uint8_t want[4096];
    size_t want_len = read_report(f, ESYS_TR_NONE, want, sizeof(want));
    const char *files[] = {"nv.bin", "nv-owner.bin"};
    for (size_t i = 0; i < 2; i++) {
        char path[160];
        snprintf(path, sizeof(path), "%s/%s", f->dir, files[i]);
        FILE *fp = fopen(path, "rb");
        assert_non_null(fp);
        uint8_t got[4096];
        size_t n = fread(got, 1, sizeof(got), fp);
        fclose(fp);
        assert_int_equal(n, want_len);
        assert_memory_equal(got, want, want_len);
    }
    char path[160], yaml[2048] = {0};
    snprintf(path, sizeof(path), "%s/nvpub.yaml", f->dir);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    assert_true(fread(yaml, 1, sizeof(yaml) - 1, fp) > 0);
    fclose(fp);
    char size_line[32];
    snprintf(size_line, sizeof(size_line), "size: %zu", want_len);
    assert_non_null(strstr(yaml, size_line));
    assert_non_null(strstr(yaml, "value: 0x62070001"));
}

/* ---- the pure parsing ---- */

static void test_cmdparse(void **state)
{
    (void)state;
    uint8_t c[64];
    int n = tl_tpm_cmd_nv_read(TPM2_RH_OWNER, TLH_PARAVISOR_NV_REPORT, 512, 1024, c, sizeof(c));
    assert_int_equal(n, 35);
    struct tl_tpm_cmd cmd;
    assert_int_equal(tl_tpm_cmd_parse(c, (size_t)n, 2, &cmd, NULL), 0);
    assert_int_equal(cmd.handles[0], TPM2_RH_OWNER);
    assert_int_equal(cmd.handles[1], TLH_PARAVISOR_NV_REPORT);
    assert_int_equal(cmd.n_sessions, 1);
    assert_int_equal(cmd.sessions[0].handle, TPM2_RS_PW);
    uint16_t size, off;
    assert_int_equal(tl_tpm_nv_read_params(&cmd, &size, &off, NULL), 0);
    assert_int_equal(size, 512);
    assert_int_equal(off, 1024);
    struct tl_error err = {0};
    /* one byte short of its commandSize */
    assert_int_equal(tl_tpm_cmd_parse(c, (size_t)n - 1, 2, &cmd, &err), -EBADMSG);
    assert_non_null(strstr(err.message, "commandSize 35"));
    /* authorizationSize one short: the session overruns it */
    c[21] = 8;
    assert_int_equal(tl_tpm_cmd_parse(c, (size_t)n, 2, &cmd, &err), -EBADMSG);
    assert_non_null(strstr(err.message, "session 1 overruns"));
    /* the relay's verdicts on an NV_Read out of range and an NV_Write */
    c[21] = 9;
    uint8_t report[100] = "HCLA", rsp[256];
    struct tlh_pv_answer a = {.rsp = rsp, .cap = sizeof(rsp)};
    assert_int_equal(tlh_paravisor_classify(c, (size_t)n, report, sizeof(report), NULL, &a),
                     TLH_PV_ANSWERED);
    assert_int_equal(a.len, 10);
    assert_int_equal(rsp[8] << 8 | rsp[9], TPM2_RC_NV_RANGE); /* 1024 + 512 > 100 */
    n = tl_tpm_cmd_nv_read(TPM2_RH_OWNER, TLH_PARAVISOR_NV_REPORT, 4, 96, c, sizeof(c));
    assert_int_equal(tlh_paravisor_classify(c, (size_t)n, report, sizeof(report), NULL, &a),
                     TLH_PV_ANSWERED);
    const uint8_t *data;
    uint16_t dlen;
    assert_int_equal(tl_tpm_rsp_nv_read_parse(rsp, a.len, &data, &dlen, NULL), 0);
    assert_int_equal(dlen, 4);
    /* no report yet (refresh never succeeded): swtpm answers */
    assert_int_equal(tlh_paravisor_classify(c, (size_t)n, NULL, 0, NULL, &a), TLH_PV_FORWARD);
    c[17] = 0x02; /* nvIndex 0x01400002: an NV_Read of the user-data is swtpm's */
    assert_int_equal(tlh_paravisor_classify(c, (size_t)n, report, sizeof(report), NULL, &a),
                     TLH_PV_FORWARD);
    /* now an NV_Write of 0x01400002 (with malformed parameters): relayed,
     * and swtpm's answer decides whether the report is refreshed */
    c[9] = (uint8_t)TPM2_CC_NV_Write;
    assert_int_equal(tlh_paravisor_classify(c, (size_t)n, report, sizeof(report), NULL, &a),
                     TLH_PV_USER_DATA);
}

int main(void)
{
    const struct CMUnitTest pure[] = {
        cmocka_unit_test(test_cmdparse),
    };
    const struct CMUnitTest relay[] = {
        cmocka_unit_test(test_report_read),       cmocka_unit_test(test_report_refusals),
        cmocka_unit_test(test_user_data_refresh), cmocka_unit_test(test_report_hmac_session),
        cmocka_unit_test(test_ak_quote),          cmocka_unit_test(test_passthrough),
        cmocka_unit_test(test_bad_commands),      cmocka_unit_test(test_reconnect),
        cmocka_unit_test(test_tpm2_tools),
    };
    int failed = cmocka_run_group_tests_name("cmdparse", pure, NULL, NULL);
    return failed + cmocka_run_group_tests_name("paravisor relay + swtpm", relay, setup, teardown);
}
