/* The CA of operator-vouched EKs: certifying the EK of an external node
 * whose TPM is not a vTPM of ours (POST /v1/nodes with "external": true
 * and "ek_public": an operator vouches that the key is a TPM's EK; nothing
 * proves it). Never the platform vTPM CA (HOME/ekca, whose certificates
 * `tl vtpm provision` writes into the vTPMs it makes): a vouched key must
 * never pass for a platform vTPM. Enrolment tells the three origins apart
 * by the chain (attest.c) and the verdicts and tokens say which.
 *
 * The CA is HOME/ekca-vouched, laid out as `tl vtpm provision --ca` keeps
 * a CA (the same four files: root.pem, root.key, intermediate.pem,
 * intermediate.key; keys 0600): loaded on first use and kept for the life of tld, or created
 * when none of its files exist yet (all four written, or none); a partial
 * one is refused. libtl (lib/tpm/ekca.c) makes, loads and issues; the host
 * library (src/host/ekca.c) keeps the folder; this file decides what is
 * certified.
 *
 * What is certified: a marshalled TPM2B_PUBLIC from the default RSA-2048
 * (L-1) or ECC P-256 (L-2) EK template (tl_ek_public_matches_template: a
 * decrypt-only key whose use the endorsement hierarchy authorizes). The
 * certificate's subjectAltName cannot name a TPM tld never saw: it says
 * manufacturer "id:00000000", model "external", version "id:00000000". */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tl/akey.h"
#include "tl/ekca.h"
#include "tl/util.h"
#include "tl/vtpm.h"
#include "tl/x509.h"
#include "tld.h"
#include "tlhost/ekca.h"

static int ca_open(struct tld *t, struct tl_error *err)
{
    if (t->ekca)
        return 0;
    char dir[PATH_MAX + 16];
    snprintf(dir, sizeof(dir), "%s/ekca-vouched", t->home);
    struct tl_ekca *ca = calloc(1, sizeof(*ca));
    if (!ca)
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    struct tl_error e = {0};
    bool created = false;
    if (tlh_ekca_open(dir, ca, &created, &e) < 0) {
        free(ca);
        return tl_error_set_nopos(err, -EIO, "%s", e.message);
    }
    if (created)
        tld_log("EK CA created in %s", dir);
    t->ekca = ca;
    return 0;
}

void tld_ekca_close(struct tld *t)
{
    if (t->ekca) {
        tl_ekca_done(t->ekca);
        free(t->ekca);
    }
    t->ekca = NULL;
}

int tld_ekca_issue(struct tld *t, const char *node, const uint8_t *ek_public, size_t len,
                   json_t **ek, uint8_t **der, size_t *der_len, struct tl_error *err)
{
    TPM2B_PUBLIC pub;
    struct tl_error e = {0};
    *ek = NULL;
    *der = NULL;
    if (tl_tpm_public_parse(ek_public, len, &pub, &e) < 0)
        return tl_error_set_nopos(err, -EINVAL, "ek_public: %s", e.message);
    enum tl_ek_type type = pub.publicArea.type == TPM2_ALG_RSA ? TL_EK_RSA2048 : TL_EK_ECC_P256;
    if ((pub.publicArea.type != TPM2_ALG_RSA && pub.publicArea.type != TPM2_ALG_ECC) ||
        !tl_ek_public_matches_template(&pub, type))
        return tl_error_set_nopos(
            err, -EINVAL,
            "ek_public: not from the default RSA-2048 or ECC P-256 EK template "
            "(TCG EK Credential Profile, B.3.3 / B.3.4)");
    EVP_PKEY *key = NULL;
    if (tl_tpm2b_public_to_pkey(&pub, &key, &e) < 0)
        return tl_error_set_nopos(err, -EINVAL, "ek_public: %s", e.message);
    int r = ca_open(t, err);
    if (r) {
        EVP_PKEY_free(key);
        return r;
    }
    struct tl_ek_cert_request req = {.ek = key,
                                     .manufacturer = "id:00000000",
                                     .model = "external",
                                     .version = "id:00000000",
                                     .subject_cn = node,
                                     .now = time(NULL)};
    uint8_t spki_md[32];
    unsigned char *spki = NULL;
    int spki_len = i2d_PUBKEY(key, &spki);
    bool spki_ok =
        spki_len > 0 && EVP_Digest(spki, (size_t)spki_len, spki_md, NULL, EVP_sha256(), NULL) == 1;
    OPENSSL_free(spki);
    if (tl_ekca_issue_ek_cert(t->ekca, &req, der, der_len, &e) < 0) {
        EVP_PKEY_free(key);
        return tl_error_set_nopos(err, -EIO, "EK certificate: %s", e.message);
    }
    EVP_PKEY_free(key);
    struct tl_x509_info xi;
    if (!spki_ok || tl_x509_describe(*der, *der_len, &xi, &e) < 0) {
        free(*der);
        *der = NULL;
        return tl_error_set_nopos(err, -EIO, "EK certificate: %s",
                                  e.message[0] ? e.message : "describe");
    }
    char ek_hex[65], cert_hex[65];
    tl_hex_encode(spki_md, 32, ek_hex);
    tl_hex_encode(xi.sha256, 32, cert_hex);
    /* the same record as `tl vtpm provision --json` "eks" (no NV index:
     * the certificate is the node's to keep) */
    *ek = json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s, s:I}}", "type", tl_ek_type_name(type),
                    "origin", TLD_EK_VOUCHED, "ek_sha256", ek_hex, "certificate", "subject",
                    xi.subject, "issuer", xi.issuer, "sha256", cert_hex, "not_after", xi.not_after,
                    "size", (json_int_t)*der_len);
    tl_x509_info_done(&xi);
    if (!*ek) {
        free(*der);
        *der = NULL;
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    }
    return 0;
}
