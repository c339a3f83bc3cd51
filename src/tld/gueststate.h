/* gueststate.c: a guest_state node's vTPM state and UEFI variable store,
 * sealed at rest in HOME/nodes/NAME/guest-state.vmgs (tl/gueststate.h)
 * under a key the key store holds (nodekeys.c: HOME/keys/NAME.gueststate
 * .sealed, the node's KEK in the token), and opened into a private folder
 * on a tmpfs only while the node runs. Called like vm.c: WITHOUT tld.lock,
 * on a node lifecycle.c claimed; each int function returns 0 or
 * -errno with err set (a refused guest state -EBUSY: 409). For a node without guest_state every one
 * of them does nothing (and the path is the node folder's). */
#pragma once

#include "tld.h"

/* t->gueststate_open chosen (at start, before any node is read) */
void tld_gueststate_init(struct tld *t);
/* Where the node's FILE ("vars.fd", "vtpm") is while it is in use: the
 * open folder with guest_state, else HOME/nodes/NAME/FILE. -ENAMETOOLONG. */
int tld_gueststate_path(const struct tld *t, const struct tld_node *n, const char *file, char *out,
                        size_t size);
/* A create: a new key and an empty open folder for the node's files. */
int tld_gueststate_prepare(struct tld *t, struct tld_node *n, struct tl_error *err);
/* A start: the file verified and opened (a leftover open folder sealed
 * first). 409 naming the file when it is refused: altered, truncated,
 * another node's or the key is wrong. */
int tld_gueststate_open(struct tld *t, struct tld_node *n, struct tl_error *err);
/* The open folder (when there is one) sealed back into the file, then
 * removed; on a failure the folder stays, to be sealed again. */
int tld_gueststate_seal(struct tld *t, struct tld_node *n, struct tl_error *err);
/* tld_gueststate_seal, its failure logged (the ends of a run) */
void tld_gueststate_close(struct tld *t, struct tld_node *n);
/* The key and any open folder removed (a delete; the file goes with the
 * node folder) */
void tld_gueststate_remove(struct tld *t, struct tld_node *n);
