/* SSH keys for cluster nodes: see sshkey.h. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sshkey.h"
#include "tl.h"
#include "tl/base64.h"
#include "tl/cleanup.h"

struct wire {
    unsigned char *p;
    size_t len, cap;
};

static void wire_done(struct wire *w)
{
    free(w->p);
}

static int wire_put(struct wire *w, const void *data, size_t len)
{
    if (w->len + len > w->cap) {
        size_t cap = (w->len + len) * 2;
        unsigned char *n = realloc(w->p, cap);
        if (!n)
            return -ENOMEM;
        w->p = n;
        w->cap = cap;
    }
    memcpy(w->p + w->len, data, len);
    w->len += len;
    return 0;
}

static int wire_string(struct wire *w, const void *data, size_t len)
{
    unsigned char be[4] = {(unsigned char)(len >> 24), (unsigned char)(len >> 16),
                           (unsigned char)(len >> 8), (unsigned char)len};
    int r = wire_put(w, be, 4);
    return r < 0 ? r : wire_put(w, data, len);
}

/* RFC 4251 5 mpint: big-endian two's complement, minimal; a positive
 * number whose top bit is set gets a leading zero byte. */
static int wire_mpint(struct wire *w, const BIGNUM *bn)
{
    int n = BN_num_bytes(bn);
    unsigned char *buf = malloc((size_t)n + 1);
    if (!buf)
        return -ENOMEM;
    buf[0] = 0;
    BN_bn2bin(bn, buf + 1);
    bool pad = n > 0 && (buf[1] & 0x80);
    int r = wire_string(w, pad ? buf : buf + 1, (size_t)n + pad);
    free(buf);
    return r;
}

static void bn_freep(BIGNUM **p)
{
    BN_free(*p);
}

int sshkey_rsa_public_key(EVP_PKEY *pkey, char **out)
{
    _cleanup_(bn_freep) BIGNUM *n = NULL, *e = NULL;
    _cleanup_(wire_done) struct wire w = {0};
    int r;
    if (!EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) ||
        !EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e))
        return -EINVAL;
    if ((r = wire_string(&w, "ssh-rsa", 7)) < 0 || (r = wire_mpint(&w, e)) < 0 ||
        (r = wire_mpint(&w, n)) < 0)
        return r;
    _cleanup_free_ char *b64 = NULL;
    size_t b64_len = 0;
    if ((r = tl_base64_encode(w.p, w.len, 0, &b64, &b64_len)) < 0)
        return r;
    char *text = malloc(8 + b64_len + 1);
    if (!text)
        return -ENOMEM;
    memcpy(text, "ssh-rsa ", 8);
    memcpy(text + 8, b64, b64_len + 1);
    *out = text;
    return 0;
}

int sshkey_public_key_check(const char *line)
{
    static const char *const types[] = {
        "ssh-rsa",
        "ssh-ed25519",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
    };
    size_t tlen = strcspn(line, " ");
    bool known = false;
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        known |= strlen(types[i]) == tlen && strncmp(types[i], line, tlen) == 0;
    if (!known || line[tlen] != ' ')
        return -EINVAL;
    const char *b = line + tlen + 1;
    size_t blen = strcspn(b, " \r\n");
    uint8_t *blob = NULL;
    size_t n = 0;
    if (blen < 8 || tl_base64_decode(b, blen, 0, &blob, &n) < 0)
        return -EINVAL;
    int r = -EINVAL;
    if (n >= 4) {
        size_t slen =
            (size_t)blob[0] << 24 | (size_t)blob[1] << 16 | (size_t)blob[2] << 8 | blob[3];
        if (slen == tlen && 4 + slen <= n && memcmp(blob + 4, line, tlen) == 0)
            r = 0;
    }
    free(blob);
    return r;
}

static int write_new(const char *path, mode_t mode, const void *data, size_t len,
                     struct tl_error *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return tl_error_set_nopos(err, -errno, "%s: cannot create: %s", path, strerror(errno));
    return tlc_fd_write_all(fd, path, data, len, err);
}

int sshkey_generate(const char *private_path, const char *public_path, char **pub,
                    struct tl_error *err)
{
    _cleanup_evp_pkey_ EVP_PKEY *pkey = EVP_RSA_gen(2048);
    _cleanup_bio_ BIO *bio = BIO_new(BIO_s_mem());
    /* "BEGIN RSA PRIVATE KEY", as az (paramiko) writes it; ssh reads it. */
    if (!pkey || !bio ||
        !PEM_write_bio_PrivateKey_traditional(bio, pkey, NULL, NULL, 0, NULL, NULL))
        return tl_error_set_nopos(err, -ENOMEM, "%s: cannot make an RSA key", private_path);
    char *pem;
    long pem_len = BIO_get_mem_data(bio, &pem);
    _cleanup_free_ char *line = NULL;
    int r = sshkey_rsa_public_key(pkey, &line);
    if (r == -ENOMEM)
        return tl_error_set_nopos(err, r, "%s: cannot make an RSA key", private_path);
    if (r < 0)
        return tl_error_set_nopos(err, r, "%s: %s", private_path, strerror(-r));
    if ((r = write_new(private_path, 0600, pem, (size_t)pem_len, err)) < 0)
        return r;
    size_t len = strlen(line);
    line[len] = '\n'; /* written with a newline, returned without */
    r = write_new(public_path, 0644, line, len + 1, err);
    line[len] = 0;
    if (r < 0) {
        unlink(private_path);
        return r;
    }
    *pub = TL_TAKE_PTR(line);
    return 0;
}

/* The first line of a key file, checked. */
static int read_key_file(const char *what, const char *path, char **pub, struct tl_error *err)
{
    _cleanup_fclose_ FILE *f = fopen(path, "re");
    if (!f)
        return -errno;
    char buf[16384];
    bool ok = fgets(buf, sizeof(buf), f) != NULL;
    buf[strcspn(buf, "\r\n")] = 0;
    if (!ok || sshkey_public_key_check(buf) < 0)
        return tl_error_set_nopos(err, -EINVAL, "%s: %s is not an SSH public key file", what, path);
    *pub = strdup(buf);
    return *pub ? 0 : -ENOMEM;
}

static int mkdir_for(const char *path)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = 0;
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

int sshkey_for_cluster(const char *what, const char *key_value, bool generate, char **pub,
                       struct tl_error *err)
{
    *pub = NULL;
    char path[PATH_MAX];
    const char *home = getenv("HOME");
    if (key_value && (sshkey_public_key_check(key_value) == 0)) {
        *pub = strdup(key_value);
        return *pub ? 0 : tl_error_set_nopos(err, -ENOMEM, "%s: out of memory", what);
    }
    if (key_value && strncmp(key_value, "~/", 2) == 0 && home)
        snprintf(path, sizeof(path), "%s/%s", home, key_value + 2);
    else if (key_value)
        snprintf(path, sizeof(path), "%s", key_value);
    else if (home && *home)
        snprintf(path, sizeof(path), "%s/.ssh/id_rsa.pub", home);
    else
        return 0; /* no HOME, no key asked for: none */
    int r = read_key_file(what, path, pub, err);
    if (r == 0 || r == -EINVAL)
        return r;
    if (r != -ENOENT)
        return tl_error_set_nopos(err, r, "%s: %s: %s", what, path, strerror(-r));
    if (!generate) {
        if (!key_value)
            return 0;
        return tl_error_set_nopos(err, -ENOENT,
                                  "%s: --ssh-key-value: %s is neither a public key nor a file "
                                  "(add --generate-ssh-keys to make one there)",
                                  what, key_value);
    }
    char private_path[PATH_MAX];
    size_t len = strlen(path);
    if (len > 4 && strcmp(path + len - 4, ".pub") == 0)
        snprintf(private_path, sizeof(private_path), "%.*s", (int)(len - 4), path);
    else {
        snprintf(private_path, sizeof(private_path), "%s", path);
        if (snprintf(path, sizeof(path), "%s.pub", private_path) >= (int)sizeof(path))
            return tl_error_set_nopos(err, -ENAMETOOLONG, "%s: %s: name too long", what, path);
    }
    if ((r = mkdir_for(path)) < 0)
        return tl_error_set_nopos(err, r, "%s: cannot create the directory of %s: %s", what, path,
                                  strerror(-r));
    r = sshkey_generate(private_path, path, pub, err);
    if (r == 0)
        fprintf(stderr,
                "SSH key files '%s' and '%s' have been generated to allow SSH access to the "
                "nodes.\n",
                private_path, path);
    return r;
}
