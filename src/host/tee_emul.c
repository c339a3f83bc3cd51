/* The emulated secure processor's key store and report service
 * (tlhost/tee_emul.h: the layout under the store's directory, the
 * create-once rule, the threads).
 *
 * Files are written whole to a temporary name and then linked into place
 * (keys, certificates: never over an existing file; a lost race loads the
 * winner's) or renamed over (collateral re-issued at each open). Keys are
 * read only from private regular files (0600, as ekca.c reads its). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tl/hcl_build.h"
#include "tl/snp_emul.h"
#include "tl/tdx_emul.h"
#include "tl/util.h"
#include "tl/x509.h"
#include "tlhost/file.h"
#include "tlhost/tee_emul.h"

#define FILE_MAX      (1u << 20)
#define CERT_YEARS    25
#define COLL_DAYS     30
#define QE_AUTH_BYTES 32

struct tlh_tee_emul {
    char *dir, *snp_dir, *tdx_dir, *keys_dir;
    time_t now;
    EVP_PKEY *ark, *ask, *root, *pck_ca, *tcb_signer;
    uint8_t *ark_der, *ask_der, *root_der, *ca_der;
    size_t ark_len, ask_len, root_len, ca_len;
    uint8_t ark_sha[32], root_sha[32];
    struct tl_snp_tcb tcb;
    struct tl_tdx_td_report td;
    struct tl_sgx_report qe;
    struct tl_tdx_pck_info platform;
};

struct tlh_tee_emul_chip {
    char *dir, *vcek_path;
    uint8_t chip_id[64];
    EVP_PKEY *vcek, *pck, *ak;
    char *pck_chain;
    size_t pck_chain_len;
};

/* ---- files ---- */

static int path_join(char out[PATH_MAX], const char *dir, const char *name, struct tl_error *err)
{
    if (snprintf(out, PATH_MAX, "%s/%s", dir, name) >= PATH_MAX)
        return tl_error_set_nopos(err, -ENAMETOOLONG, "%s/%s: path too long", dir, name);
    return 0;
}

static int dir_make(const char *path, mode_t mode, struct tl_error *err)
{
    if (mkdir(path, mode) < 0 && errno != EEXIST)
        return tl_error_set_nopos(err, -errno, "%s: cannot create: %s", path, strerror(errno));
    struct stat st;
    if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
        return tl_error_set_nopos(err, -ENOTDIR, "%s: not a directory", path);
    return 0;
}

static bool exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* data into a temporary file beside path; its name in tmp. */
static int write_tmp(const char *path, const void *data, size_t len, mode_t mode,
                     char tmp[PATH_MAX], struct tl_error *err)
{
    if (snprintf(tmp, PATH_MAX, "%s.tmp.%ld", path, (long)getpid()) >= PATH_MAX)
        return tl_error_set_nopos(err, -ENAMETOOLONG, "%s: path too long", path);
    unlink(tmp); /* a crashed run's */
    return tlh_file_write_new(tmp, data, len, mode, err);
}

/* A new file; an existing one is kept (returns 0 either way). */
static int write_once(const char *path, const void *data, size_t len, mode_t mode,
                      struct tl_error *err)
{
    char tmp[PATH_MAX];
    int r = write_tmp(path, data, len, mode, tmp, err);
    if (r < 0)
        return r;
    if (link(tmp, path) < 0 && errno != EEXIST) {
        r = tl_error_set_nopos(err, -errno, "%s: cannot create: %s", path, strerror(errno));
        unlink(tmp);
        return r;
    }
    unlink(tmp);
    return 0;
}

static int write_replace(const char *path, const void *data, size_t len, struct tl_error *err)
{
    char tmp[PATH_MAX];
    int r = write_tmp(path, data, len, 0644, tmp, err);
    if (r == 0 && rename(tmp, path) < 0) {
        r = tl_error_set_nopos(err, -errno, "%s: cannot replace: %s", path, strerror(errno));
        unlink(tmp);
    }
    return r;
}

/* ---- keys ---- */

static int key_read(const char *path, EVP_PKEY **out, struct tl_error *err)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return tl_error_set_nopos(err, -errno, "%s: cannot open: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode) || (st.st_mode & 077))
        return tl_error_set_nopos(err, -EPERM, "%s: not a regular file of mode 0600", path);
    uint8_t *buf;
    size_t len;
    int r = tlh_file_read(path, FILE_MAX, &buf, &len, err);
    if (r < 0)
        return r;
    BIO *bio = BIO_new_mem_buf(buf, (int)len);
    *out = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    OPENSSL_cleanse(buf, len);
    free(buf);
    ERR_clear_error();
    return *out ? 0 : tl_error_set_nopos(err, -EINVAL, "%s: not a PEM private key", path);
}

/* The key at dir/name, or a new one (RSA-4096 when rsa, else EC curve). */
static int key_open(const char *dir, const char *name, bool rsa, const char *curve, EVP_PKEY **out,
                    struct tl_error *err)
{
    char path[PATH_MAX];
    int r = path_join(path, dir, name, err);
    if (r < 0)
        return r;
    if (!exists(path)) {
        EVP_PKEY *k = rsa ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096)
                          : EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
        BIO *bio = BIO_new(BIO_s_mem());
        char *pem = NULL;
        long n = 0;
        if (!k || !bio || PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL) != 1 ||
            (n = BIO_get_mem_data(bio, &pem)) <= 0)
            r = tl_error_set_nopos(err, -ENOMEM, "%s: cannot generate the key", path);
        else
            r = write_once(path, pem, (size_t)n, 0600, err);
        BIO_free(bio);
        EVP_PKEY_free(k);
        ERR_clear_error();
        if (r < 0)
            return r;
    }
    return key_read(path, out, err); /* ours, or the winner's of a race */
}

/* ---- certificates ---- */

typedef int (*cert_make_fn)(void *ctx, uint8_t **der, size_t *len, struct tl_error *err);

/* The certificate at dir/name as DER, or a new one from make (PEM on disk). */
static int cert_open(const char *dir, const char *name, cert_make_fn make, void *ctx, uint8_t **der,
                     size_t *len, struct tl_error *err)
{
    char path[PATH_MAX];
    int r = path_join(path, dir, name, err);
    if (r < 0)
        return r;
    if (!exists(path)) {
        uint8_t *d = NULL;
        size_t n = 0;
        char *pem = NULL;
        size_t pem_len = 0;
        r = make(ctx, &d, &n, err);
        if (r == 0) {
            const uint8_t *ders[1] = {d};
            r = tl_tee_emul_pem(ders, &n, 1, &pem, &pem_len, err);
        }
        if (r == 0)
            r = write_once(path, pem, pem_len, 0644, err);
        free(d);
        free(pem);
        if (r < 0)
            return r;
    }
    uint8_t *buf;
    size_t blen;
    r = tlh_file_read(path, FILE_MAX, &buf, &blen, err);
    if (r < 0)
        return r;
    r = tl_x509_to_der(buf, blen, der, len, err);
    free(buf);
    return r < 0 ? tl_error_set_nopos(err, -EINVAL, "%s: not a certificate", path) : 0;
}

static struct tl_tee_emul_window cert_window(time_t now)
{
    return (struct tl_tee_emul_window){now - 86400, now + (time_t)CERT_YEARS * 365 * 86400};
}

struct mk {
    struct tlh_tee_emul *e;
    struct tlh_tee_emul_chip *c;
};

static int mk_ark(void *p, uint8_t **der, size_t *len, struct tl_error *err)
{
    struct mk *m = p;
    return tl_snp_emul_ark(m->e->ark, TL_SNP_PRODUCT_MILAN, cert_window(m->e->now), der, len, err);
}

static int mk_ask(void *p, uint8_t **der, size_t *len, struct tl_error *err)
{
    struct mk *m = p;
    return tl_snp_emul_ask(m->e->ask, m->e->ark, m->e->ark_der, m->e->ark_len, TL_SNP_PRODUCT_MILAN,
                           cert_window(m->e->now), der, len, err);
}

static int mk_root(void *p, uint8_t **der, size_t *len, struct tl_error *err)
{
    struct mk *m = p;
    return tl_tdx_emul_root(m->e->root, cert_window(m->e->now), der, len, err);
}

static int mk_ca(void *p, uint8_t **der, size_t *len, struct tl_error *err)
{
    struct mk *m = p;
    return tl_tdx_emul_pck_ca(m->e->pck_ca, m->e->root, m->e->root_der, m->e->root_len,
                              cert_window(m->e->now), der, len, err);
}

static int mk_signer(void *p, uint8_t **der, size_t *len, struct tl_error *err)
{
    struct mk *m = p;
    return tl_tdx_emul_tcb_signer(m->e->tcb_signer, m->e->root, m->e->root_der, m->e->root_len,
                                  cert_window(m->e->now), der, len, err);
}

static int mk_vcek(void *p, uint8_t **der, size_t *len, struct tl_error *err)
{
    struct mk *m = p;
    return tl_snp_emul_vcek(m->c->vcek, m->e->ask, m->e->ask_der, m->e->ask_len,
                            TL_SNP_PRODUCT_MILAN, &m->e->tcb, m->c->chip_id, cert_window(m->e->now),
                            der, len, err);
}

static int mk_pck(void *p, uint8_t **der, size_t *len, struct tl_error *err)
{
    struct mk *m = p;
    return tl_tdx_emul_pck(m->c->pck, m->e->pck_ca, m->e->ca_der, m->e->ca_len, &m->e->platform,
                           cert_window(m->e->now), der, len, err);
}

/* ---- the store ---- */

static void sha256(const uint8_t *p, size_t n, uint8_t out[32])
{
    unsigned int len = 32;
    EVP_Digest(p, n, out, &len, EVP_sha256(), NULL);
}

/* The TDX collateral, re-issued: CRLs and PCS JSON current at e->now. */
static int tdx_collateral_write(struct tlh_tee_emul *e, struct tl_error *err)
{
    struct tl_tee_emul_window w = {e->now - 86400, e->now + (time_t)COLL_DAYS * 86400};
    uint8_t *root_crl = NULL, *pck_crl = NULL, *signer_der = NULL;
    size_t root_crl_len, pck_crl_len, signer_len;
    char *tcbinfo = NULL, *qeid = NULL, path[PATH_MAX];
    size_t tcbinfo_len, qeid_len;
    struct mk m = {e, NULL};
    int r = cert_open(e->tdx_dir, "tcb-signing.pem", mk_signer, &m, &signer_der, &signer_len, err);
    if (r == 0)
        r = tl_tdx_emul_crl(e->root, e->root_der, e->root_len, w, NULL, 0, &root_crl, &root_crl_len,
                            err);
    if (r == 0)
        r = tl_tdx_emul_crl(e->pck_ca, e->ca_der, e->ca_len, w, NULL, 0, &pck_crl, &pck_crl_len,
                            err);
    if (r == 0)
        r = tl_tdx_emul_tcbinfo(&e->platform, &e->td, w, e->tcb_signer, &tcbinfo, &tcbinfo_len,
                                err);
    if (r == 0)
        r = tl_tdx_emul_qe_identity(&e->qe, w, e->tcb_signer, &qeid, &qeid_len, err);
    if (r == 0 && (r = path_join(path, e->tdx_dir, "root.crl", err)) == 0)
        r = write_replace(path, root_crl, root_crl_len, err);
    if (r == 0 && (r = path_join(path, e->tdx_dir, "pck.crl", err)) == 0)
        r = write_replace(path, pck_crl, pck_crl_len, err);
    if (r == 0 && (r = path_join(path, e->tdx_dir, "tcbinfo.json", err)) == 0)
        r = write_replace(path, tcbinfo, tcbinfo_len, err);
    if (r == 0 && (r = path_join(path, e->tdx_dir, "qe_identity.json", err)) == 0)
        r = write_replace(path, qeid, qeid_len, err);
    free(root_crl);
    free(pck_crl);
    free(signer_der);
    free(tcbinfo);
    free(qeid);
    return r;
}

int tlh_tee_emul_open(const char *dir, time_t now, struct tlh_tee_emul **out, struct tl_error *err)
{
    *out = NULL;
    struct tlh_tee_emul *e = calloc(1, sizeof(*e));
    if (!e)
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    e->now = now;
    e->tcb = (struct tl_snp_tcb){.bootloader = 4, .tee = 0, .snp = 22, .microcode = 213};
    tl_tdx_emul_defaults(&e->td, &e->qe, &e->platform);
    int r = 0;
    if (asprintf(&e->dir, "%s", dir) < 0 || asprintf(&e->snp_dir, "%s/snp", dir) < 0 ||
        asprintf(&e->tdx_dir, "%s/tdx", dir) < 0 || asprintf(&e->keys_dir, "%s/keys", dir) < 0) {
        r = tl_error_set_nopos(err, -ENOMEM, "out of memory");
        goto fail;
    }
    struct mk m = {e, NULL};
    char chips[PATH_MAX];
    if ((r = dir_make(dir, 0755, err)) < 0 || (r = dir_make(e->keys_dir, 0700, err)) < 0 ||
        (r = dir_make(e->snp_dir, 0755, err)) < 0 || (r = dir_make(e->tdx_dir, 0755, err)) < 0 ||
        (r = path_join(chips, dir, "chips", err)) < 0 || (r = dir_make(chips, 0700, err)) < 0)
        goto fail;
    if ((r = key_open(e->keys_dir, "ark.key", true, NULL, &e->ark, err)) < 0 ||
        (r = key_open(e->keys_dir, "ask.key", true, NULL, &e->ask, err)) < 0 ||
        (r = key_open(e->keys_dir, "tdx-root.key", false, "P-256", &e->root, err)) < 0 ||
        (r = key_open(e->keys_dir, "tdx-pck-ca.key", false, "P-256", &e->pck_ca, err)) < 0 ||
        (r = key_open(e->keys_dir, "tdx-tcb-signing.key", false, "P-256", &e->tcb_signer, err)) < 0)
        goto fail;
    if ((r = cert_open(e->snp_dir, "ark.pem", mk_ark, &m, &e->ark_der, &e->ark_len, err)) < 0 ||
        (r = cert_open(e->snp_dir, "ask.pem", mk_ask, &m, &e->ask_der, &e->ask_len, err)) < 0 ||
        (r = cert_open(e->tdx_dir, "root.pem", mk_root, &m, &e->root_der, &e->root_len, err)) < 0 ||
        (r = cert_open(e->tdx_dir, "pck-ca.pem", mk_ca, &m, &e->ca_der, &e->ca_len, err)) < 0)
        goto fail;
    sha256(e->ark_der, e->ark_len, e->ark_sha);
    sha256(e->root_der, e->root_len, e->root_sha);
    if ((r = tdx_collateral_write(e, err)) < 0)
        goto fail;
    *out = e;
    return 0;
fail:
    tlh_tee_emul_free(e);
    return r;
}

void tlh_tee_emul_free(struct tlh_tee_emul *e)
{
    if (!e)
        return;
    EVP_PKEY_free(e->ark);
    EVP_PKEY_free(e->ask);
    EVP_PKEY_free(e->root);
    EVP_PKEY_free(e->pck_ca);
    EVP_PKEY_free(e->tcb_signer);
    free(e->ark_der);
    free(e->ask_der);
    free(e->root_der);
    free(e->ca_der);
    free(e->dir);
    free(e->snp_dir);
    free(e->tdx_dir);
    free(e->keys_dir);
    free(e);
}

void tlh_tee_emul_info(const struct tlh_tee_emul *e, struct tlh_tee_emul_info *out)
{
    *out = (struct tlh_tee_emul_info){.snp_collateral = e->snp_dir, .tdx_collateral = e->tdx_dir};
    tl_hex_encode(e->ark_sha, 32, out->snp_ark_sha256);
    tl_hex_encode(e->root_sha, 32, out->tdx_root_sha256);
}

/* ---- chips ---- */

static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63 || s[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '-'))
            return false;
    return true;
}

static int chip_id_open(struct tlh_tee_emul_chip *c, const uint8_t *want, struct tl_error *err)
{
    char path[PATH_MAX];
    int r = path_join(path, c->dir, "chip-id", err);
    if (r < 0)
        return r;
    if (!exists(path)) {
        uint8_t id[64];
        if (want)
            memcpy(id, want, 64);
        else if (RAND_bytes(id, sizeof(id)) != 1)
            return tl_error_set_nopos(err, -EIO, "no random bytes for a CHIP_ID");
        if ((r = write_once(path, id, sizeof(id), 0600, err)) < 0)
            return r;
    }
    uint8_t *buf;
    size_t len;
    if ((r = tlh_file_read(path, 4096, &buf, &len, err)) < 0)
        return r;
    if (len != 64) {
        free(buf);
        return tl_error_set_nopos(err, -EINVAL, "%s: %zu bytes, a CHIP_ID is 64", path, len);
    }
    memcpy(c->chip_id, buf, 64);
    free(buf);
    if (want && memcmp(want, c->chip_id, 64) != 0)
        return tl_error_set_nopos(err, -EEXIST, "%s: the chip exists with another CHIP_ID", path);
    return 0;
}

int tlh_tee_emul_chip_open(struct tlh_tee_emul *e, const char *name, const uint8_t *chip_id,
                           struct tlh_tee_emul_chip **out, struct tl_error *err)
{
    *out = NULL;
    if (!name_ok(name))
        return tl_error_set_nopos(
            err, -EINVAL, "chip name \"%s\": 1-63 of [A-Za-z0-9._-], not starting with '.'", name);
    struct tlh_tee_emul_chip *c = calloc(1, sizeof(*c));
    if (!c)
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    struct mk m = {e, c};
    uint8_t *vcek_der = NULL, *pck_der = NULL;
    size_t vcek_len, pck_len;
    int r = 0;
    if (asprintf(&c->dir, "%s/chips/%s", e->dir, name) < 0 ||
        asprintf(&c->vcek_path, "%s/vcek.pem", c->dir) < 0) {
        r = tl_error_set_nopos(err, -ENOMEM, "out of memory");
        goto out;
    }
    if ((r = dir_make(c->dir, 0700, err)) < 0 || (r = chip_id_open(c, chip_id, err)) < 0 ||
        (r = key_open(c->dir, "vcek.key", false, "P-384", &c->vcek, err)) < 0 ||
        (r = key_open(c->dir, "pck.key", false, "P-256", &c->pck, err)) < 0 ||
        (r = key_open(c->dir, "ak.key", false, "P-256", &c->ak, err)) < 0 ||
        (r = cert_open(c->dir, "vcek.pem", mk_vcek, &m, &vcek_der, &vcek_len, err)) < 0 ||
        (r = cert_open(c->dir, "pck.pem", mk_pck, &m, &pck_der, &pck_len, err)) < 0)
        goto out;
    const uint8_t *chain[3] = {pck_der, e->ca_der, e->root_der};
    size_t lens[3] = {pck_len, e->ca_len, e->root_len};
    r = tl_tee_emul_pem(chain, lens, 3, &c->pck_chain, &c->pck_chain_len, err);
out:
    free(vcek_der);
    free(pck_der);
    if (r < 0)
        tlh_tee_emul_chip_free(c);
    else
        *out = c;
    return r;
}

void tlh_tee_emul_chip_free(struct tlh_tee_emul_chip *c)
{
    if (!c)
        return;
    EVP_PKEY_free(c->vcek);
    EVP_PKEY_free(c->pck);
    EVP_PKEY_free(c->ak);
    free(c->pck_chain);
    free(c->dir);
    free(c->vcek_path);
    free(c);
}

const char *tlh_tee_emul_chip_vcek_path(const struct tlh_tee_emul_chip *c)
{
    return c->vcek_path;
}

const uint8_t *tlh_tee_emul_chip_id(const struct tlh_tee_emul_chip *c)
{
    return c->chip_id;
}

/* ---- reports ---- */

int tlh_tee_emul_measure(enum tlh_tee_emul_kind kind, const char *fw_path, unsigned vcpus,
                         uint64_t guest_features, uint8_t out[48], struct tl_error *err)
{
    uint8_t *fw;
    size_t len;
    int r = tlh_file_read(fw_path, TL_TEE_EMUL_FW_MAX, &fw, &len, err);
    if (r < 0)
        return r;
    if (kind == TLH_TEE_EMUL_SNP)
        r = tl_tee_emul_snp_measurement(fw, len, vcpus, guest_features, out, err);
    else
        r = tl_tee_emul_tdx_mrtd(fw, len, out, err);
    free(fw);
    return r;
}

int tlh_tee_emul_report(const struct tlh_tee_emul *e, const struct tlh_tee_emul_chip *c,
                        const struct tlh_tee_emul_request *req, uint8_t **out, size_t *out_len,
                        struct tl_error *err)
{
    if (req->kind == TLH_TEE_EMUL_SNP) {
        struct tl_snp_report r;
        int rc = tl_snp_emul_report_init(&r, req->snp_version ? req->snp_version : 3,
                                         TL_SNP_PRODUCT_MILAN, &e->tcb, err);
        if (rc < 0)
            return rc;
        memcpy(r.report_data, req->report_data, 64);
        memcpy(r.measurement, req->measurement, 48);
        memcpy(r.chip_id, c->chip_id, 64);
        /* REPORT_ID names the guest for its life, not the report: here
         * SHA-256(CHIP_ID || MEASUREMENT), one per launched image on a chip */
        uint8_t idm[64 + 48];
        memcpy(idm, c->chip_id, 64);
        memcpy(idm + 64, req->measurement, 48);
        sha256(idm, sizeof(idm), r.report_id);
        uint8_t *buf = malloc(TL_SNP_REPORT_SIZE);
        if (!buf)
            return tl_error_set_nopos(err, -ENOMEM, "out of memory");
        rc = tl_snp_emul_report(&r, c->vcek, buf, err);
        if (rc < 0) {
            free(buf);
            return rc;
        }
        *out = buf;
        *out_len = TL_SNP_REPORT_SIZE;
        return 0;
    }
    struct tl_tdx_td_report td = e->td;
    memcpy(td.mrtd, req->measurement, 48);
    memcpy(td.report_data, req->report_data, 64);
    if (req->tdreport)
        tl_tdx_emul_tdreport(&td, req->tdreport);
    uint8_t auth[QE_AUTH_BYTES];
    for (int i = 0; i < QE_AUTH_BYTES; i++)
        auth[i] = (uint8_t)i; /* what Intel's QE puts there: 0x00..0x1f */
    return tl_tdx_emul_quote(&td, &e->qe, auth, sizeof(auth), c->ak, c->pck, c->pck_chain,
                             c->pck_chain_len, out, out_len, err);
}
