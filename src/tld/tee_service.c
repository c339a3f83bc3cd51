/* The platform's services a confidential guest asks for beside its
 * evidence, as Azure's hosts offer them (docs/api.md "Confidential
 * nodes"):
 *  - certification: the VCEK of the (emulated) chip the node runs on, what
 *    Azure's THIM / the host's certificate cache hands out
 *    (POST /v1/nodes/NAME/tee/certification);
 *  - TD quoting: a TD quote for a TDREPORT, what Azure's IMDS acc/tdquote
 *    does with the host's Quoting Enclave (POST .../tee/tdquote).
 * The quoting enclave signs only a report the platform's TDX module made:
 * on hardware the QE checks the report's MAC (a key only that CPU holds);
 * here the node's paravisor leaves its last TDREPORT and the quote of it
 * in the node's folder (paravisor.c), and a TDREPORT that is not byte for
 * byte that one is refused. A guest cannot forge a report and have the
 * platform sign it.
 *
 * Runs without tld.lock (the callers look the node up under it and pass
 * its folder and name): file reads only. */
#include <errno.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tld.h"
#include "tlhost/file.h"

#define TDREPORT_SIZE 1024
#define TDQUOTE_MAX   (64u << 10)

int tld_tee_certification(const struct tld *t, const char *node, uint8_t **der, size_t *len,
                          struct tl_error *err)
{
    *der = NULL;
    *len = 0;
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof(path), "%s/tee-emul/chips/%s/vcek.pem", t->home, node) >=
        sizeof(path))
        return tl_error_set_nopos(err, -ENAMETOOLONG, "path too long");
    uint8_t *pem = NULL;
    size_t pem_len = 0;
    int r = tlh_file_read(path, 1u << 16, &pem, &pem_len, NULL);
    if (r == -ENOENT)
        return tl_error_set_nopos(err, r, "node %s: no certificate: its paravisor has made no chip",
                                  node);
    if (r < 0)
        return tl_error_set_nopos(err, r, "%s: %s", path, strerror(-r));
    BIO *bio = BIO_new_mem_buf(pem, (int)pem_len);
    X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    free(pem);
    int n = x ? i2d_X509(x, der) : -1;
    X509_free(x);
    if (n <= 0)
        return tl_error_set_nopos(err, -EIO, "%s: not a PEM certificate", path);
    *len = (size_t)n;
    return 0;
}

int tld_tee_tdquote(const char *node_dir, const uint8_t *report, size_t report_len, uint8_t **quote,
                    size_t *quote_len, struct tl_error *err)
{
    *quote = NULL;
    *quote_len = 0;
    if (report_len != TDREPORT_SIZE)
        return tl_error_set_nopos(err, -EINVAL, "report: %zu bytes, a TDREPORT is %d", report_len,
                                  TDREPORT_SIZE);
    char path[PATH_MAX];
    uint8_t *mine = NULL, *q = NULL;
    size_t mine_len = 0, q_len = 0;
    snprintf(path, sizeof(path), "%s/td-report.bin", node_dir);
    int r = tlh_file_read(path, TDREPORT_SIZE, &mine, &mine_len, NULL);
    if (r == 0) {
        snprintf(path, sizeof(path), "%s/td-quote.bin", node_dir);
        r = tlh_file_read(path, TDQUOTE_MAX, &q, &q_len, NULL);
    }
    if (r < 0) {
        free(mine);
        return tl_error_set_nopos(err, -ENOENT, "no TD report made on this node's platform");
    }
    /* the platform's last report, as its TDX module made it: anything else
     * (an older one, one edited by the guest) is not quoted */
    bool same = mine_len == report_len && memcmp(mine, report, report_len) == 0;
    free(mine);
    if (!same) {
        free(q);
        return tl_error_set_nopos(err, -EACCES,
                                  "report: not the TDREPORT this node's TDX module made last");
    }
    *quote = q;
    *quote_len = q_len;
    return 0;
}
