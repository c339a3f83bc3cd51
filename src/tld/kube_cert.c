/* The Kubernetes API's TLS identity (kube_api.c): HOME/kube holds ca.pem
 * (a CA kubeconfigs trust, as certificate-authority-data), server.pem (the
 * listener's certificate, for 127.0.0.1 and localhost, signed by that CA)
 * and server.key (0600). Made once, at the first start, all three or
 * none; the CA's key is never written: it signs the server certificate
 * and is dropped, so nothing can be issued under the CA afterwards.
 * Keys are ECDSA P-256 (Go's crypto/tls, kubectl's, takes them). A
 * partial folder (a file missing) is made again, whole. */
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tld.h"
#include "tlhost/file.h"

#define CERT_DAYS 3650
#define PEM_MAX   (64u << 10)

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext)
        return -EINVAL;
    int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : -ENOMEM;
}

/* A certificate for key's public half, named cn, signed by signer (NULL:
 * itself) with signer_key; ca: a CA, else a server for 127.0.0.1. */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *signer, EVP_PKEY *signer_key, bool ca)
{
    X509 *c = X509_new();
    uint8_t serial[16];
    BIGNUM *bn = NULL;
    if (!c || RAND_bytes(serial, sizeof(serial)) != 1)
        goto fail;
    serial[0] &= 0x7f; /* positive */
    bn = BN_bin2bn(serial, sizeof(serial), NULL);
    if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c)) || !X509_set_version(c, 2) ||
        !X509_gmtime_adj(X509_getm_notBefore(c), -3600) ||
        !X509_gmtime_adj(X509_getm_notAfter(c), 60L * 60 * 24 * CERT_DAYS) ||
        !X509_set_pubkey(c, key))
        goto fail;
    X509_NAME *name = X509_get_subject_name(c);
    if (!X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"trustlaunch",
                                    -1, -1, 0) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
                                    0) ||
        !X509_set_issuer_name(c, signer ? X509_get_subject_name(signer) : name))
        goto fail;
    X509 *issuer = signer ? signer : c;
    if (ca ? add_ext(c, issuer, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") < 0 ||
                 add_ext(c, issuer, NID_key_usage, "critical,keyCertSign,cRLSign") < 0 ||
                 add_ext(c, issuer, NID_subject_key_identifier, "hash") < 0
           : add_ext(c, issuer, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
                 add_ext(c, issuer, NID_key_usage, "critical,digitalSignature") < 0 ||
                 add_ext(c, issuer, NID_ext_key_usage, "serverAuth") < 0 ||
                 add_ext(c, issuer, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost") < 0 ||
                 add_ext(c, issuer, NID_authority_key_identifier, "keyid:always") < 0)
        goto fail;
    if (!X509_sign(c, signer_key, EVP_sha256()))
        goto fail;
    BN_free(bn);
    return c;
fail:
    BN_free(bn);
    X509_free(c);
    return NULL;
}

static char *pem_of(int (*write)(BIO *, void *), void *obj)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *out = NULL;
    if (b && write(b, obj)) {
        char *data;
        long len = BIO_get_mem_data(b, &data);
        out = len > 0 ? strndup(data, (size_t)len) : NULL;
    }
    BIO_free(b);
    return out;
}

static int write_cert(BIO *b, void *x)
{
    return PEM_write_bio_X509(b, x);
}

static int write_key(BIO *b, void *k)
{
    return PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
}

static void path_of(const struct tld *t, const char *file, char out[PATH_MAX])
{
    snprintf(out, PATH_MAX, "%s/kube/%s", t->home, file);
}

static const char *const files[3] = {"ca.pem", "server.pem", "server.key"};

/* Makes the three PEM texts into t->kube. */
static int create(struct tld *t, struct tl_error *err)
{
    EVP_PKEY *ca_key = EVP_EC_gen("P-256"), *key = EVP_EC_gen("P-256");
    X509 *ca = ca_key ? make_cert(ca_key, "tld Kubernetes API CA", NULL, ca_key, true) : NULL;
    X509 *srv = ca && key ? make_cert(key, "tld", ca, ca_key, false) : NULL;
    if (srv) {
        t->kube.ca_pem = pem_of(write_cert, ca);
        t->kube.cert_pem = pem_of(write_cert, srv);
        t->kube.key_pem = pem_of(write_key, key);
    }
    X509_free(ca);
    X509_free(srv);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(key);
    if (!t->kube.ca_pem || !t->kube.cert_pem || !t->kube.key_pem)
        return tl_error_set_nopos(err, -ENOMEM, "cannot make the Kubernetes API's certificate");
    char dir[PATH_MAX], path[PATH_MAX];
    path_of(t, "", dir);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return tl_error_set_nopos(err, -errno, "%s: %s", dir, strerror(errno));
    const char *texts[3] = {t->kube.ca_pem, t->kube.cert_pem, t->kube.key_pem};
    for (int i = 0; i < 3; i++) {
        path_of(t, files[i], path);
        unlink(path);
    }
    for (int i = 0; i < 3; i++) { /* the key last: with it there, the set is whole */
        path_of(t, files[i], path);
        int r = tlh_file_write_new(path, texts[i], strlen(texts[i]), i == 2 ? 0600 : 0644, err);
        if (r < 0)
            return r;
    }
    return 0;
}

int tld_kube_cert_load(struct tld *t, struct tl_error *err)
{
    char *texts[3] = {0};
    int r = 0;
    for (int i = 0; i < 3 && r == 0; i++) {
        char path[PATH_MAX];
        path_of(t, files[i], path);
        uint8_t *data = NULL;
        size_t len;
        if (i == 2 && (r = tlh_file_check_private(path, err)) < 0)
            break;
        r = tlh_file_read(path, PEM_MAX, &data, &len, err);
        texts[i] = (char *)data;
    }
    if (r == -ENOENT) { /* none yet, or a part missing: a new set */
        for (int i = 0; i < 3; i++)
            free(texts[i]);
        *err = (struct tl_error){0};
        return create(t, err);
    }
    if (r < 0) {
        for (int i = 0; i < 3; i++)
            free(texts[i]);
        return r;
    }
    t->kube.ca_pem = texts[0];
    t->kube.cert_pem = texts[1];
    t->kube.key_pem = texts[2];
    return 0;
}

void tld_kube_cert_free(struct tld *t)
{
    free(t->kube.ca_pem);
    free(t->kube.cert_pem);
    if (t->kube.key_pem)
        OPENSSL_cleanse(t->kube.key_pem, strlen(t->kube.key_pem));
    free(t->kube.key_pem);
    t->kube.ca_pem = t->kube.cert_pem = t->kube.key_pem = NULL;
}
