/* `tld --paravisor LISTEN SWTPM_CTRL NODE_DIR`: a confidential node's
 * paravisor relay (src/host/paravisor.c), one process per node, between
 * QEMU's vTPM chardev (LISTEN) and swtpm's control socket.
 *
 * Why a process of its own, and why tld's binary: the relay parses guest
 * bytes, so a fault in it must not take tld down, and tld restarting must
 * not take a running VM's vTPM away (tld adopts running nodes by pid, as
 * it does QEMU and swtpm); a mode of tld rather than a new program because
 * it needs what tld links (the host library, the report builder) and the
 * node launch already knows how to find and supervise tld (`--relay` is
 * the same idea for the agent channel).
 *
 * The report: the paravisor stands where Azure's HCL stands, so it asks
 * the emulated secure processor (src/host/tee_emul.c, HOME/tee-emul) for
 * the hardware report itself, at start and at every refresh:
 *   runtime JSON (HCLAkPub, HCLEkPub from the vTPM it provisions before
 *   QEMU connects; the node's vm-configuration; the user-data the guest
 *   wrote to 0x01400002)
 *   -> REPORT_DATA = SHA-256(runtime JSON) || zeros
 *   -> an SNP report (the node's chip's VCEK) or a TDREPORT + TD quote,
 *      MEASUREMENT / MRTD of the node's firmware file (tl/tee_emul.h), one
 *      vCPU, as QEMU runs it
 *   -> the HCL report (tl/hcl_build.h), padded to Azure's 2600 bytes.
 * NODE_DIR/paravisor.json (written by the launch, vm.c) says which:
 *   {"tee": "snp"|"tdx", "emulator": DIR, "chip": NAME, "firmware": PATH,
 *    "secure_boot": bool, "tpm_persisted": bool, "vm_unique_id": UUID}
 * For TDX the quote is the host's quoting service's answer (Azure's IMDS
 * acc/tdquote; tld's POST /v1/nodes/NAME/tee/tdquote): the paravisor
 * leaves the last TDREPORT and its quote in NODE_DIR/td-report.bin and
 * td-quote.bin, and tld quotes only a TDREPORT that is byte for byte the
 * one this node's (emulated) TDX module made: what the Quoting Enclave's
 * check of the report's MAC does on real hardware.
 *
 * Ends on SIGTERM / SIGINT, or when QEMU has closed both channels; exit
 * status 0, 1 when the relay could not start (the reason on stderr: the
 * launch sends it to the node's paravisor.log). */
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "tl/hcl_build.h"
#include "tl/vtpm.h"
#include "tld.h"
#include "tlhost/file.h"
#include "tlhost/paravisor.h"
#include "tlhost/swtpm.h"
#include "tlhost/tee_emul.h"

#define HCL_PAD_TO 2600 /* Azure's NV 0x01400001 content */

struct pv_platform {
    const char *node_dir;
    enum tlh_tee_emul_kind kind;
    struct tlh_tee_emul *emul;
    struct tlh_tee_emul_chip *chip;
    uint8_t measurement[48];
    EVP_PKEY *ak, *ek;
    bool secure_boot, tpm_persisted;
    char vm_unique_id[64];
};

static void platform_done(struct pv_platform *p)
{
    tlh_tee_emul_chip_free(p->chip);
    tlh_tee_emul_free(p->emul);
    EVP_PKEY_free(p->ak);
    EVP_PKEY_free(p->ek);
}

/* Writes name in node_dir whole or not at all (a temporary, renamed). */
static int write_node_file(const char *node_dir, const char *name, const uint8_t *data, size_t len,
                           struct tl_error *err)
{
    char path[4096], tmp[4200];
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", node_dir, name) >= sizeof(path))
        return tl_error_set_nopos(err, -ENAMETOOLONG, "%s: path too long", node_dir);
    snprintf(tmp, sizeof(tmp), "%s.%ld.new", path, (long)getpid());
    unlink(tmp);
    int r = tlh_file_write_new(tmp, data, len, 0600, err);
    if (r < 0)
        return r;
    if (rename(tmp, path) < 0) {
        r = -errno;
        unlink(tmp);
        return tl_error_set_nopos(err, r, "%s: %s", path, strerror(-r));
    }
    return 0;
}

/* A fresh HCL report carrying user_data. */
static int report_build(void *opaque, const uint8_t user_data[TLH_PARAVISOR_USER_DATA],
                        uint8_t **report, size_t *len, struct tl_error *err)
{
    struct pv_platform *p = opaque;
    struct tl_az_runtime_spec rs = {.ak = p->ak,
                                    .ek = p->ek,
                                    .secure_boot = p->secure_boot,
                                    .tpm_enabled = true,
                                    .tpm_persisted = p->tpm_persisted,
                                    .vm_unique_id = p->vm_unique_id,
                                    .has_user_data = true};
    memcpy(rs.user_data, user_data, sizeof(rs.user_data));
    char *json = NULL;
    size_t json_len = 0;
    int r = tl_az_runtime_build(&rs, &json, &json_len, err);
    if (r < 0)
        return r;
    struct tlh_tee_emul_request req = {.kind = p->kind, .snp_version = 3};
    uint8_t tdreport[1024];
    memcpy(req.measurement, p->measurement, sizeof(req.measurement));
    if (p->kind == TLH_TEE_EMUL_TDX)
        req.tdreport = tdreport;
    uint8_t *hw = NULL;
    size_t hw_len = 0;
    r = tl_az_runtime_report_data((const uint8_t *)json, json_len, req.report_data, err);
    if (r == 0)
        r = tlh_tee_emul_report(p->emul, p->chip, &req, &hw, &hw_len, err);
    if (r == 0 && p->kind == TLH_TEE_EMUL_TDX &&
        (r = write_node_file(p->node_dir, "td-quote.bin", hw, hw_len, err)) == 0)
        r = write_node_file(p->node_dir, "td-report.bin", tdreport, sizeof(tdreport), err);
    if (r == 0) {
        bool snp = p->kind == TLH_TEE_EMUL_SNP;
        struct tl_hcl_build b = {.report_type = snp ? TL_HCL_REPORT_SNP : TL_HCL_REPORT_TDX,
                                 .hw_report = snp ? hw : tdreport,
                                 .hw_len = snp ? hw_len : sizeof(tdreport),
                                 .runtime = (const uint8_t *)json,
                                 .runtime_len = json_len,
                                 .pad_to = HCL_PAD_TO};
        r = tl_hcl_report_build(&b, report, len, err);
    }
    free(hw);
    free(json);
    return r;
}

/* The vTPM made a paravisor's (the attestation key at 0x81000003, the
 * user-data index) on a data channel of its own, closed before QEMU
 * comes; QEMU's CMD_INIT then resets the TPM as a power-on does. */
static int provision(struct pv_platform *p, const char *swtpm_ctrl, struct tl_error *err)
{
    struct tlh_swtpm_data d;
    int r = -EAGAIN;
    for (int i = 0; i < 100; i++) { /* swtpm binds its socket before it listens */
        r = tlh_swtpm_data_open(swtpm_ctrl, &d, err);
        if (r == 0)
            break;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (r < 0)
        return r;
    struct tlh_paravisor_keys keys;
    TSS2_RC rc = Esys_Startup(d.esys, TPM2_SU_CLEAR);
    if (rc != TSS2_RC_SUCCESS && rc != TPM2_RC_INITIALIZE)
        r = tl_error_set_nopos(err, -EIO, "TPM2_Startup: 0x%x", rc);
    else
        r = tlh_paravisor_provision(d.esys, &keys, err);
    tlh_swtpm_data_close(&d);
    if (r == 0 && (r = tl_tpm2b_public_to_pkey(&keys.ak, &p->ak, err)) == 0)
        r = tl_tpm2b_public_to_pkey(&keys.ek, &p->ek, err);
    return r;
}

static int platform_open(struct pv_platform *p, const char *node_dir, const char *swtpm_ctrl,
                         struct tl_error *err)
{
    *p = (struct pv_platform){.node_dir = node_dir};
    char path[4096];
    if ((size_t)snprintf(path, sizeof(path), "%s/paravisor.json", node_dir) >= sizeof(path))
        return tl_error_set_nopos(err, -ENAMETOOLONG, "%s: path too long", node_dir);
    json_error_t je;
    json_t *cfg = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    const char *tee = NULL, *emul = NULL, *chip = NULL, *fw = NULL, *uuid = "";
    int sb = 0, persisted = 0;
    if (!cfg ||
        json_unpack_ex(cfg, &je, JSON_STRICT, "{s:s, s:s, s:s, s:s, s:b, s:b, s?s}", "tee", &tee,
                       "emulator", &emul, "chip", &chip, "firmware", &fw, "secure_boot", &sb,
                       "tpm_persisted", &persisted, "vm_unique_id", &uuid) < 0 ||
        (strcmp(tee, "snp") != 0 && strcmp(tee, "tdx") != 0)) {
        json_decref(cfg);
        return tl_error_set_nopos(err, -EINVAL, "%s: %s", path,
                                  cfg ? "not {tee snp|tdx, emulator, chip, firmware, ...}"
                                      : je.text);
    }
    p->kind = strcmp(tee, "snp") == 0 ? TLH_TEE_EMUL_SNP : TLH_TEE_EMUL_TDX;
    p->secure_boot = sb;
    p->tpm_persisted = persisted;
    snprintf(p->vm_unique_id, sizeof(p->vm_unique_id), "%s", uuid);
    int r = tlh_tee_emul_measure(p->kind, fw, 1, 0, p->measurement, err);
    if (r == 0)
        r = tlh_tee_emul_open(emul, time(NULL), &p->emul, err);
    if (r == 0)
        r = tlh_tee_emul_chip_open(p->emul, chip, NULL, &p->chip, err);
    json_decref(cfg);
    if (r == 0)
        r = provision(p, swtpm_ctrl, err);
    return r;
}

int tld_paravisor_main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: tld --paravisor LISTEN SWTPM_CTRL NODE_DIR\n");
        return 2;
    }
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    signal(SIGPIPE, SIG_IGN);
    int sfd = -1;
    if (sigprocmask(SIG_BLOCK, &stop, NULL) < 0 || (sfd = signalfd(-1, &stop, SFD_CLOEXEC)) < 0) {
        fprintf(stderr, "tld --paravisor: signalfd: %s\n", strerror(errno));
        return 1;
    }
    struct pv_platform plat;
    struct tl_error err = {0};
    int r = platform_open(&plat, argv[4], argv[3], &err);
    struct tlh_paravisor_config cfg = {.listen_path = argv[2],
                                       .swtpm_ctrl = argv[3],
                                       .refresh = report_build,
                                       .opaque = &plat,
                                       .stop_fd = sfd,
                                       .once = true};
    struct tlh_paravisor pv;
    if (r == 0)
        r = tlh_paravisor_open(&pv, &cfg, &err);
    if (r < 0) {
        fprintf(stderr, "tld --paravisor: %s\n", err.message);
        platform_done(&plat);
        close(sfd);
        return 1;
    }
    r = tlh_paravisor_run(&pv, &err);
    if (r < 0)
        fprintf(stderr, "tld --paravisor: %s\n", err.message);
    fprintf(stderr,
            "tld --paravisor: %lu commands relayed, %lu answered, %lu refused, %lu refreshes "
            "(%lu failed)%s%s\n",
            pv.stats.forwarded, pv.stats.served, pv.stats.refused, pv.stats.refreshes,
            pv.stats.refresh_failures, pv.last_error.message[0] ? "; last: " : "",
            pv.last_error.message);
    unlink(argv[2]);
    tlh_paravisor_close(&pv);
    platform_done(&plat);
    close(sfd);
    return r < 0 ? 1 : 0;
}
