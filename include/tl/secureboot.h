/* The Secure Boot decisions: would the firmware (EDK2's
 * DxeImageVerificationLib) or shim (15.x) start this image, given these keys?
 * And for a whole boot chain, which component fails and why.
 *
 * Each verdict names the component, the decision, the reason, and the entry
 * that allowed or denied it (a certificate: subject + fingerprint; or a hash
 * entry), so that "the node will not boot" becomes "grub: the image's sha256
 * digest does not match its signature". */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "tl/efi.h"
#include "tl/pe.h"
#include "tl/sbat.h"

/* The keys a decision is made against (all optional but db for allowing). */
struct tl_sb_keys {
    const struct tl_sig_db *db, *dbx;   /* firmware */
    const struct tl_sig_db *mok, *mokx; /* shim's MokList / MokListX, may be NULL */
    const struct tl_sbat *sbat_level;   /* the machine's SbatLevel, may be NULL */
    /* No PK enrolled: the firmware is in setup mode, Secure Boot is off and
     * nothing is verified (UEFI 2.10, 32.3); shim then does not verify
     * either. Every image starts. */
    bool secure_boot_off;
};

enum tl_verifier {
    TL_VERIFIER_FIRMWARE,      /* LoadImage by the firmware: db/dbx */
    TL_VERIFIER_SHIM,          /* started by shim itself: .sbat mandatory */
    TL_VERIFIER_SHIM_PROTOCOL, /* verified through shim's protocol (grub's kernel): .sbat optional
                                */
};

struct tl_sb_verdict {
    char component[64];
    enum tl_verifier verifier;
    bool allowed;
    char reason[768];
    /* What decided: source is "db", "dbx", "MokList", "MokListX",
     * "vendor_cert", "vendor_dbx", "SbatLevel", or "" when nothing matched. */
    char source[16];
    bool by_certificate;
    char cert_subject[256]; /* the certificate entry that allowed/denied */
    uint8_t cert_sha256[32];
    char signer_subject[256]; /* who signed the image (allowing signature) */
    bool by_hash;
    enum tl_sig_kind hash_kind;
    uint8_t hash[TL_DIGEST_MAX];
    size_t hash_len;
    char warning[256];
    size_t n_signatures;
    uint8_t sha256[32]; /* the image's Authenticode SHA-256 */
};

/* Decides for one image. `shim` is the shim that verifies it (its vendor
 * certificate, vendor dbx and built-in SBAT levels), required for the shim
 * verifiers. `now` only drives expiry warnings (0: none). */
int tl_secureboot_check_image(const struct tl_pe *pe, const char *component,
                              enum tl_verifier verifier, const struct tl_pe *shim,
                              const struct tl_sb_keys *keys, time_t now, struct tl_hasher *h,
                              struct tl_sb_verdict *v, struct tl_error *err);

/* A component name for an image: "shim" (has .vendor_cert), "grub" (its
 * .sbat names grub), "systemd-boot", "kernel" (x86 boot protocol header
 * "HdrS"), else NULL (callers use the file name). */
const char *tl_secureboot_component_name(const struct tl_pe *pe);

/* Verifies a boot chain in load order: the first image by the firmware;
 * when it is shim, the second by shim and the rest through shim's protocol;
 * otherwise every image by the firmware. `names` may hold NULLs (then
 * tl_secureboot_component_name or "image<N>"). Fills verdicts[n]. Returns
 * the number of images denied, or -errno. */
int tl_secureboot_check_chain(const struct tl_pe *const *images, const char *const *names, size_t n,
                              const struct tl_sb_keys *keys, time_t now, struct tl_hasher *h,
                              struct tl_sb_verdict *verdicts, struct tl_error *err);

const char *tl_verifier_name(enum tl_verifier v);
