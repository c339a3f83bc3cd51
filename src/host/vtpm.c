/* A vTPM's files on disk (the state key file, the state directory) and
 * its provisioning: a new state, both EKs, their certificates from an EK
 * CA written into the EK certificate NV indices; see tlhost/vtpm.h for the
 * invariants kept. The swtpm process is swtpm_proc.c's, the EK CA folder
 * ekca.c's, the TPM commands libtl's (tl/vtpm.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tl/util.h"
#include "tl/x509.h"
#include "tlhost/ekca.h"
#include "tlhost/file.h"
#include "tlhost/vtpm.h"

/* The absolute form of a path: symlinks resolved as far as the path
 * exists, the rest appended as given ("." and ".." only where it exists). */
static int abs_path(const char *path, char out[PATH_MAX])
{
    if (realpath(path, out))
        return 0;
    if (errno != ENOENT)
        return -errno;
    char copy[PATH_MAX];
    if (snprintf(copy, sizeof(copy), "%s", path) >= (int)sizeof(copy))
        return -ENAMETOOLONG;
    size_t n = strlen(copy);
    while (n > 1 && copy[n - 1] == '/')
        copy[--n] = 0;
    char *slash = strrchr(copy, '/');
    const char *base = slash ? slash + 1 : copy;
    if (strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
        return -ENOENT;
    char parent[PATH_MAX];
    int r = abs_path(slash ? (slash == copy ? "/" : (*slash = 0, copy)) : ".", parent);
    if (r < 0)
        return r;
    if (snprintf(out, PATH_MAX, "%s/%s", strcmp(parent, "/") == 0 ? "" : parent, base) >= PATH_MAX)
        return -ENAMETOOLONG;
    return 0;
}

/* ---- the state key ---- */

int tlh_vtpm_key_path(const char *state, const char *given, struct tlh_vtpm_key *k,
                      struct tl_error *err)
{
    char abs_state[PATH_MAX], abs_key[PATH_MAX], def[PATH_MAX];
    if (!given) {
        size_t n = strlen(state);
        while (n > 1 && state[n - 1] == '/')
            n--;
        if (snprintf(def, sizeof(def), "%.*s.key", (int)n, state) >= (int)sizeof(def))
            return tl_error_set_nopos(err, -ENAMETOOLONG, "%s: path too long", state);
        given = def;
    }
    int r = abs_path(state, abs_state);
    if (r == 0)
        r = abs_path(given, abs_key);
    if (r < 0)
        return tl_error_set_nopos(err, r, "%s: cannot resolve: %s",
                                  r == -ENAMETOOLONG ? state : given, strerror(-r));
    size_t n = strlen(abs_state);
    if (strncmp(abs_key, abs_state, n) == 0 && (abs_key[n] == '/' || abs_key[n] == 0))
        return tl_error_set_nopos(err, -EINVAL,
                                  "%s: the key file must not be inside the state directory %s",
                                  given, state);
    snprintf(k->path, sizeof(k->path), "%s", given);
    return 0;
}

int tlh_vtpm_key_load(struct tlh_vtpm_key *k, struct tl_error *err)
{
    int r = tlh_file_check_private(k->path, err);
    if (r < 0)
        return r;
    uint8_t *buf = NULL;
    size_t len;
    if ((r = tlh_file_read(k->path, 4096, &buf, &len, err)) < 0)
        return r;
    if (len != TLH_SWTPM_KEY_LEN) {
        OPENSSL_cleanse(buf, len);
        free(buf);
        return tl_error_set_nopos(err, -EINVAL, "%s: a state key is %d bytes, this file has %zu",
                                  k->path, TLH_SWTPM_KEY_LEN, len);
    }
    memcpy(k->key, buf, TLH_SWTPM_KEY_LEN);
    OPENSSL_cleanse(buf, len);
    free(buf);
    return 0;
}

int tlh_vtpm_key_random(uint8_t key[TLH_SWTPM_KEY_LEN], struct tl_error *err)
{
    size_t done = 0;
    while (done < TLH_SWTPM_KEY_LEN) {
        ssize_t n = getrandom(key + done, TLH_SWTPM_KEY_LEN - done, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return tl_error_set_nopos(err, -errno, "no random bytes: %s", strerror(errno));
        done += (size_t)n;
    }
    return 0;
}

int tlh_vtpm_key_load_or_create(struct tlh_vtpm_key *k, struct tl_error *err)
{
    if (access(k->path, F_OK) == 0 || errno != ENOENT)
        return tlh_vtpm_key_load(k, err); /* says why when it cannot */
    struct tl_error e = {0};
    int r = tlh_vtpm_key_random(k->key, &e);
    if (r < 0)
        return tl_error_set_nopos(err, r, "%s: %s", k->path, e.message);
    if ((r = tlh_file_write_new(k->path, k->key, TLH_SWTPM_KEY_LEN, 0600, err)) < 0)
        return r;
    k->created = true;
    return 0;
}

/* ---- the state directory ---- */

static bool dir_is_empty(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return false;
    struct dirent *e;
    bool empty = true;
    while (empty && (e = readdir(d)))
        empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
    closedir(d);
    return empty;
}

int tlh_vtpm_state_prepare(const char *state, bool *created, struct tl_error *err)
{
    *created = false;
    if (mkdir(state, 0700) == 0) {
        *created = true;
        return 0;
    }
    if (errno != EEXIST)
        return tl_error_set_nopos(err, -errno, "%s: cannot create: %s", state, strerror(errno));
    struct stat st;
    if (stat(state, &st) < 0 || !S_ISDIR(st.st_mode))
        return tl_error_set_nopos(err, -ENOTDIR, "%s: not a directory", state);
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", state, TLH_VTPM_STATE_FILE);
    if (access(path, F_OK) == 0)
        return tl_error_set_nopos(err, -EEXIST,
                                  "%s: already holds a vTPM state (%s); not provisioning over it",
                                  state, TLH_VTPM_STATE_FILE);
    if (!dir_is_empty(state))
        return tl_error_set_nopos(
            err, -ENOTEMPTY, "%s: not empty; provisioning needs a new or empty directory", state);
    return 0;
}

int tlh_vtpm_state_require(const char *state, struct tl_error *err)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s/%s", state, TLH_VTPM_STATE_FILE) >= (int)sizeof(path))
        return tl_error_set_nopos(err, -ENAMETOOLONG, "%s: path too long", state);
    if (access(path, F_OK) < 0)
        return tl_error_set_nopos(err, -ENOENT, "%s: not a provisioned vTPM state (no %s)", state,
                                  TLH_VTPM_STATE_FILE);
    return 0;
}

int tlh_vtpm_state_ephemeral(char out[PATH_MAX], struct tl_error *err)
{
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    snprintf(out, PATH_MAX, "%s/tl-vtpm-state.XXXXXX", base);
    if (!mkdtemp(out))
        return tl_error_set_nopos(err, -errno, "%s: cannot create an ephemeral state directory: %s",
                                  base, strerror(errno));
    return 0;
}

void tlh_vtpm_rollback(const char *state, bool state_created, bool state_prepared,
                       const struct tlh_vtpm_key *key)
{
    if (state_created)
        tlh_file_remove_tree(state, false);
    else if (state_prepared)
        tlh_file_remove_tree(state, true);
    if (key->created)
        unlink(key->path);
}

/* ---- provisioning ---- */

bool tlh_vtpm_spki_sha256(EVP_PKEY *k, uint8_t out[32])
{
    unsigned char *der = NULL;
    int n = k ? i2d_PUBKEY(k, &der) : -1;
    bool ok = n > 0 && EVP_Digest(der, (size_t)n, out, NULL, EVP_sha256(), NULL);
    OPENSSL_free(der);
    return ok;
}

json_t *tlh_vtpm_ek_json(const struct tlh_vtpm_ek *e)
{
    char idx[16], hex[65];
    snprintf(idx, sizeof(idx), "0x%08x", tl_ek_cert_nv_index(e->type));
    json_t *o = json_pack("{s:s, s:s}", "type", tl_ek_type_name(e->type), "nv_index", idx);
    uint8_t h[32];
    if (!o)
        return NULL;
    if (tlh_vtpm_spki_sha256(e->ek.key, h)) {
        tl_hex_encode(h, 32, hex);
        json_object_set_new(o, "ek_sha256", json_string(hex));
    } else {
        json_object_set_new(o, "ek_sha256", json_null());
    }
    struct tl_x509_info xi;
    if (e->cert && tl_x509_describe(e->cert, e->cert_len, &xi, NULL) == 0) {
        tl_hex_encode(xi.sha256, 32, hex);
        json_object_set_new(o, "certificate",
                            json_pack("{s:s, s:s, s:s, s:s, s:I}", "subject", xi.subject, "issuer",
                                      xi.issuer, "sha256", hex, "not_after", xi.not_after, "size",
                                      (json_int_t)e->cert_len));
        tl_x509_info_done(&xi);
    } else {
        json_object_set_new(o, "certificate", json_null());
    }
    return o;
}

void tlh_vtpm_eks_done(struct tlh_vtpm_ek eks[TL_EK_N_TYPES])
{
    for (int i = 0; i < TL_EK_N_TYPES; i++) {
        tl_ek_done(&eks[i].ek);
        free(eks[i].cert);
        eks[i] = (struct tlh_vtpm_ek){0};
    }
}

int tlh_vtpm_provision_tpm(ESYS_CONTEXT *esys, const struct tl_ekca *ca, const char *name,
                           const struct tlh_swtpm_interrupt *intr, struct tl_vtpm_info *info,
                           struct tlh_vtpm_ek out[TL_EK_N_TYPES], const char *subject,
                           struct tl_error *err)
{
    struct tl_error e = {0};
    if (tl_vtpm_get_info(esys, info, &e) < 0)
        return tl_error_set_nopos(err, -EIO, "%s: %s", subject, e.message);
    for (int t = 0; t < TL_EK_N_TYPES; t++) {
        struct tlh_vtpm_ek *r = &out[t];
        r->type = (enum tl_ek_type)t;
        struct tl_ek_cert_request req = {.manufacturer = info->manufacturer,
                                         .model = info->model,
                                         .version = info->version,
                                         .subject_cn = name,
                                         .now = time(NULL)};
        int rc = tl_vtpm_create_ek(esys, r->type, &r->ek, &e);
        req.ek = r->ek.key;
        if (rc == 0)
            rc = tl_ekca_issue_ek_cert(ca, &req, &r->cert, &r->cert_len, &e);
        if (rc == 0)
            rc =
                tl_vtpm_nv_write_cert(esys, tl_ek_cert_nv_index(r->type), r->cert, r->cert_len, &e);
        if (rc < 0) {
            if (intr && intr->signal)
                return tl_error_set_nopos(err, -EINTR, "%s: provisioning: %s", subject,
                                          tlh_swtpm_interrupt_reason(intr->signal));
            return tl_error_set_nopos(err, rc, "%s: %s", subject, e.message);
        }
    }
    return 0;
}

int tlh_vtpm_provision(const struct tlh_vtpm_provision_options *o,
                       struct tlh_vtpm_provision_result *res, struct tl_error *err)
{
    *res = (struct tlh_vtpm_provision_result){0};
    int r = o->key ? 0 : tlh_vtpm_key_path(o->state, o->key_file, &res->key, err);
    if (r < 0)
        return r;
    struct tl_ekca ca = {0};
    bool state_created = false, state_prepared = false;
    if ((r = tlh_ekca_open(o->ca, &ca, &res->ca_created, err)) < 0)
        return r;
    struct tlh_swtpm s = {.pid = -1};
    struct tl_error quiet = {0};
    if ((r = tlh_vtpm_state_prepare(o->state, &state_created, err)) < 0)
        goto out;
    state_prepared = true;
    if (o->key)
        memcpy(res->key.key, o->key, TLH_SWTPM_KEY_LEN);
    else if ((r = tlh_vtpm_key_load_or_create(&res->key, err)) < 0)
        goto out;
    if ((r = tlh_swtpm_start(&s, o->state, res->key.key, o->intr, o->state, err)) < 0)
        goto out;
    if ((r = tlh_swtpm_connect(&s, o->state, err)) < 0 ||
        (r = tlh_vtpm_provision_tpm(s.esys, &ca, o->name, o->intr, &res->info, res->eks, o->state,
                                    err)) < 0) {
        tlh_swtpm_stop(&s, false, o->state, &quiet);
        goto out;
    }
    if ((r = tlh_swtpm_stop(&s, true, o->state, err)) < 0)
        goto out;
    if (o->intr && o->intr->signal)
        r = tl_error_set_nopos(err, -EINTR, "%s: provisioning: %s", o->state,
                               tlh_swtpm_interrupt_reason(o->intr->signal));
out:
    if (r < 0) {
        tlh_vtpm_rollback(o->state, state_created, state_prepared, &res->key);
        tlh_vtpm_eks_done(res->eks);
    }
    OPENSSL_cleanse(res->key.key, sizeof(res->key.key));
    tl_ekca_done(&ca);
    return r;
}
