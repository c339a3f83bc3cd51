/* The host library (see file.h for its rules).
 *
 * tee_emul.h: the emulated secure processor's key store and report
 * service: what stands in for AMD's secure processor or Intel's TDX
 * module + Quoting Enclave on a host that has neither (libtl's generators,
 * tl/snp_emul.h and tl/tdx_emul.h, do the building; this file keeps the
 * keys and writes the files). Under dir (tld: HOME/tee-emul):
 *
 *   keys/           0700; every private key, PEM PKCS#8, 0600:
 *     ark.key ask.key (RSA-4096, as AMD's), tdx-root.key tdx-pck-ca.key
 *     tdx-tcb-signing.key (EC P-256)
 *   snp/            the SEV-SNP collateral a verifier takes (--collateral):
 *     ark.pem ask.pem (the ARK -> ASK chain, Milan, valid 25 years)
 *   tdx/            the TDX collateral (--collateral): root.pem pck-ca.pem
 *     tcb-signing.pem root.crl pck.crl tcbinfo.json qe_identity.json
 *     (CRLs and PCS JSON re-issued at every open, current from a day
 *     before to 30 days after it)
 *   chips/NAME/     one emulated chip per node, 0700: chip-id (64 bytes),
 *     vcek.key vcek.pem (P-384; its SPLs the emulator's TCB), pck.key
 *     pck.pem (P-256, under the PCK Platform CA), ak.key (the TD quote's
 *     attestation key, P-256)
 *
 * Everything is created once (a file that exists is loaded, never
 * replaced; two processes racing each keep the first written), and the
 * keys are loaded once into the context and the chip, so a report costs
 * one signature (SNP) or two (TDX: the quote and the QE report).
 *
 * The roots are trusted only by a policy naming them: the fingerprints a
 * policy's trusted-roots need are in struct tlh_tee_emul_info.
 *
 * Threads: a context and a chip may be used by several threads for
 * tlh_tee_emul_report at once (OpenSSL signs with a shared key); opening
 * and freeing are the caller's to serialise. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "tl/error.h"

struct tlh_tee_emul;
struct tlh_tee_emul_chip;

enum tlh_tee_emul_kind {
    TLH_TEE_EMUL_SNP, /* an SEV-SNP ATTESTATION_REPORT (1184 bytes) */
    TLH_TEE_EMUL_TDX, /* a TD quote v4 */
};

/* Opens the store under dir at time now (the windows of what it creates),
 * creating what is missing. -errno with err naming the file. */
int tlh_tee_emul_open(const char *dir, time_t now, struct tlh_tee_emul **out, struct tl_error *err);
void tlh_tee_emul_free(struct tlh_tee_emul *e);

/* Where things are, and the roots' SHA-256 (hex) a policy names as
 * {"kind":"snp-ark","sha256":snp_ark_sha256} and
 * {"kind":"tdx-root","sha256":tdx_root_sha256}. Strings owned by e. */
struct tlh_tee_emul_info {
    const char *snp_collateral; /* dir/snp */
    const char *tdx_collateral; /* dir/tdx */
    char snp_ark_sha256[65];
    char tdx_root_sha256[65];
};
void tlh_tee_emul_info(const struct tlh_tee_emul *e, struct tlh_tee_emul_info *out);

/* Opens (creating once) the chip of a node: name is [A-Za-z0-9._-], 1-63
 * characters, not starting with '.'. chip_id: NULL to keep the stored one
 * (a new chip takes 64 random bytes), else the CHIP_ID a new chip gets
 * (an existing chip with another is -EEXIST). */
int tlh_tee_emul_chip_open(struct tlh_tee_emul *e, const char *name, const uint8_t *chip_id,
                           struct tlh_tee_emul_chip **out, struct tl_error *err);
void tlh_tee_emul_chip_free(struct tlh_tee_emul_chip *c);

/* The chip's VCEK certificate file (dir/chips/NAME/vcek.pem) and
 * CHIP_ID. */
const char *tlh_tee_emul_chip_vcek_path(const struct tlh_tee_emul_chip *c);
const uint8_t *tlh_tee_emul_chip_id(const struct tlh_tee_emul_chip *c);

/* The launch measurement (MEASUREMENT or MRTD, tl/tee_emul.h documents
 * the computation) of the firmware file at fw_path for vcpus and
 * guest_features (SEV_FEATURES; ignored for TDX). Reads the file. */
int tlh_tee_emul_measure(enum tlh_tee_emul_kind kind, const char *fw_path, unsigned vcpus,
                         uint64_t guest_features, uint8_t out[48], struct tl_error *err);

struct tlh_tee_emul_request {
    enum tlh_tee_emul_kind kind;
    uint8_t report_data[64];
    uint8_t measurement[48]; /* MEASUREMENT (SNP) or MRTD (TDX) */
    uint32_t snp_version;    /* 3 (0 means 3) or 5 */
    uint8_t *tdreport;       /* TDX: when not NULL, the TDREPORT (1024 bytes) too */
};

/* A report (SNP: guest policy debug off, VMPL 0, the chip's CHIP_ID, its
 * VCEK's signature) or a quote (TDX: TD attributes debug off, the chip's
 * attestation key and PCK) carrying the request's REPORT_DATA and
 * measurement. *out malloc'd. */
int tlh_tee_emul_report(const struct tlh_tee_emul *e, const struct tlh_tee_emul_chip *c,
                        const struct tlh_tee_emul_request *req, uint8_t **out, size_t *out_len,
                        struct tl_error *err);
