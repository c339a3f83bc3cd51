/* A vTPM's files: the EK CA directory, the state key file and the state
 * directory. Creation, the checks made before swtpm or libtl see them, and
 * the rollback of what a failed provisioning created.
 *
 * Invariants:
 *  - a key file is 32 bytes, a regular file of mode 0600 (nothing for group
 *    or others), outside the state directory it protects; a new one is
 *    written with O_EXCL, never over an existing file;
 *  - an EK CA directory holds all four files (root and intermediate
 *    certificate and key, the keys 0600) or none: a partial one is refused,
 *    a new one is written whole or removed again;
 *  - provisioning is all or nothing: vtpm_store_rollback removes a state
 *    directory and a key file made for it and empties a directory that was
 *    given empty; an EK CA made on first use is kept: it is complete in
 *    itself;
 *  - a state directory is provisioned when it holds VTPM_STATE_FILE.
 *
 * Errors are printed with tlc_report, naming the file or directory. */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "swtpm.h"
#include "tl/ekca.h"

#define VTPM_STATE_FILE "tpm2-00.permall" /* swtpm's TPM 2.0 permanent state */

struct vtpm_key {
    char path[PATH_MAX];
    uint8_t key[SWTPM_KEY_LEN];
    bool created; /* by vtpm_key_load_or_create */
};

/* The key file's path: given, or DIR.key next to the state DIR; refuses a
 * key inside DIR (the key is held apart from the state it protects). */
int vtpm_key_path(const char *state, const char *given, struct vtpm_key *k);
/* Reads the key from k->path after checking the file. */
int vtpm_key_load(struct vtpm_key *k);
/* Loads the key, or makes one (k->created) when the file does not exist. */
int vtpm_key_load_or_create(struct vtpm_key *k);
/* A fresh random key (getrandom); -1 with errno set. */
int vtpm_key_random(uint8_t key[SWTPM_KEY_LEN]);

/* Loads the EK CA in dir (its four PEM files). */
int vtpm_ca_load(const char *dir, struct tl_ekca *ca);
/* Loads the CA in dir, or creates it (*created; dir made 0700 if missing)
 * when none of its files exist yet; refuses a partial one. */
int vtpm_ca_open(const char *dir, struct tl_ekca *ca, bool *created);

/* A state directory for provisioning: new (*created), or existing and empty
 * (*created false: a rollback empties it again but keeps it). */
int vtpm_state_prepare(const char *state, bool *created);
/* Refuses a directory that is not a provisioned state. */
int vtpm_state_require(const char *state);
/* A new private directory for an ephemeral state: memory-backed when
 * /dev/shm is there, else in TMPDIR or /tmp. */
int vtpm_state_ephemeral(char out[PATH_MAX]);
/* Removes a state directory and everything in it. */
void vtpm_state_remove(const char *state);

/* Undoes a failed provisioning: state_created, state_prepared as
 * vtpm_state_prepare left them; the key file when key->created. */
void vtpm_store_rollback(const char *state, bool state_created, bool state_prepared,
                         const struct vtpm_key *key);
