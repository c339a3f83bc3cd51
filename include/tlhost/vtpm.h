/* The host library (see file.h for its rules).
 *
 * vtpm.h: a vTPM's files (the state key file, the state directory) and its
 * provisioning, as `tl vtpm` and tld make them: a new state in swtpm
 * (swtpm.h), both EKs (RSA-2048, ECC P-256), their certificates from an EK
 * CA folder (ekca.h) written into NV 0x01c00002 and 0x01c0000a (libtl's
 * tl/vtpm.h sends the TPM commands).
 *
 * Invariants:
 *  - a key file is 32 bytes, a regular file of mode 0600 (nothing for group
 *    or others), outside the state directory it protects; a new one is
 *    written with O_EXCL, never over an existing file;
 *  - provisioning is all or nothing: tlh_vtpm_rollback removes a state
 *    directory and a key file made for it and empties a directory that was
 *    given empty; an EK CA made on first use is kept: it is complete in
 *    itself;
 *  - a state directory is provisioned when it holds TLH_VTPM_STATE_FILE.
 *
 * Errors name the file or directory: "PATH: what". */
#pragma once

#include <jansson.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>

#include "tl/ekca.h"
#include "tl/error.h"
#include "tl/vtpm.h"
#include "tlhost/swtpm.h"

#define TLH_VTPM_STATE_FILE "tpm2-00.permall" /* swtpm's TPM 2.0 permanent state */

struct tlh_vtpm_key {
    char path[PATH_MAX];
    uint8_t key[TLH_SWTPM_KEY_LEN];
    bool created; /* by tlh_vtpm_key_load_or_create */
};

/* The key file's path: given, or DIR.key next to the state DIR; refuses a
 * key inside DIR (the key is held apart from the state it protects). */
int tlh_vtpm_key_path(const char *state, const char *given, struct tlh_vtpm_key *k,
                      struct tl_error *err);
/* Reads the key from k->path after checking the file. */
int tlh_vtpm_key_load(struct tlh_vtpm_key *k, struct tl_error *err);
/* Loads the key, or makes one (k->created) when the file does not exist. */
int tlh_vtpm_key_load_or_create(struct tlh_vtpm_key *k, struct tl_error *err);
/* A fresh random key (getrandom). */
int tlh_vtpm_key_random(uint8_t key[TLH_SWTPM_KEY_LEN], struct tl_error *err);

/* A state directory for provisioning: new (*created), or existing and empty
 * (*created false: a rollback empties it again but keeps it). */
int tlh_vtpm_state_prepare(const char *state, bool *created, struct tl_error *err);
/* Refuses a directory that is not a provisioned state (-ENOENT). */
int tlh_vtpm_state_require(const char *state, struct tl_error *err);
/* A new private directory for an ephemeral state: memory-backed when
 * /dev/shm is there, else in TMPDIR or /tmp. */
int tlh_vtpm_state_ephemeral(char out[PATH_MAX], struct tl_error *err);
/* Undoes a failed provisioning: state_created, state_prepared as
 * tlh_vtpm_state_prepare left them; the key file when key->created. */
void tlh_vtpm_rollback(const char *state, bool state_created, bool state_prepared,
                       const struct tlh_vtpm_key *key);

/* One EK of a provisioned vTPM: its key and the certificate written. */
struct tlh_vtpm_ek {
    enum tl_ek_type type;
    struct tl_ek ek;
    uint8_t *cert;
    size_t cert_len;
};
void tlh_vtpm_eks_done(struct tlh_vtpm_ek eks[TL_EK_N_TYPES]);
/* An EK as `tl vtpm provision --json` and tld's node records give it:
 * {"type", "nv_index", "ek_sha256" (of its SubjectPublicKeyInfo), "certificate":
 * {"subject", "issuer", "sha256", "not_after", "size"} or null}. */
json_t *tlh_vtpm_ek_json(const struct tlh_vtpm_ek *e);
/* SHA-256 of a key's DER SubjectPublicKeyInfo: the EK's fingerprint. */
bool tlh_vtpm_spki_sha256(EVP_PKEY *k, uint8_t out[32]);

/* Both EKs of the TPM on esys, their certificates from ca (subject CN
 * name, NULL: none) written to NV; info the TPM's vendor strings. A signal
 * in intr (may be NULL) reads as "SUBJECT: provisioning: interrupted". */
int tlh_vtpm_provision_tpm(ESYS_CONTEXT *esys, const struct tl_ekca *ca, const char *name,
                           const struct tlh_swtpm_interrupt *intr, struct tl_vtpm_info *info,
                           struct tlh_vtpm_ek out[TL_EK_N_TYPES], const char *subject,
                           struct tl_error *err);

struct tlh_vtpm_provision_options {
    const char *state;                /* a new or empty directory */
    const char *key_file;             /* NULL: STATE.key; made when missing */
    const uint8_t *key;               /* else the key itself (TLH_SWTPM_KEY_LEN bytes, the
                                       * caller's, kept in no file): key_file unused */
    const char *ca;                   /* the EK CA folder, made on first use */
    const char *name;                 /* the certificates' subject CN, or NULL */
    struct tlh_swtpm_interrupt *intr; /* the caller's signals (swtpm.h), or NULL */
};

struct tlh_vtpm_provision_result {
    struct tlh_vtpm_key key; /* its path (the key bytes are cleansed) */
    bool ca_created;
    struct tl_vtpm_info info;
    struct tlh_vtpm_ek eks[TL_EK_N_TYPES]; /* free with tlh_vtpm_eks_done */
};

/* A new vTPM state in o->state: the key loaded or made, swtpm started on
 * it, both EKs certified by the CA in o->ca, swtpm stopped cleanly. All or
 * nothing: on failure what was made for it is removed again (the CA
 * stays) and nothing is left running. */
int tlh_vtpm_provision(const struct tlh_vtpm_provision_options *o,
                       struct tlh_vtpm_provision_result *res, struct tl_error *err);
