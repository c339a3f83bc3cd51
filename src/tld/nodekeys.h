/* nodekeys.c: a guest_state node's keys, held by the key store (issue 15,
 * part 4): the guest-state file's key, its persisted vTPM's state key and,
 * for DiskWithVMGuestState, its OS-disk overlay's LUKS secret. On disk
 * only sealed by the node's KEK in the token; opened into the caller's
 * buffer when used (the caller wipes it). WITHOUT tld.lock, on a node
 * lifecycle.c claimed: every call takes the key store's own lock. */
#pragma once

#include "tld.h"

#define TLD_NODEKEY_LEN 32

enum tld_nodekey {
    TLD_NODEKEY_GUESTSTATE, /* HOME/keys/NAME.gueststate.sealed */
    TLD_NODEKEY_VTPM,       /* HOME/keys/NAME.vtpm.sealed */
    TLD_NODEKEY_DISK,       /* HOME/keys/NAME.disk.sealed */
};

/* Whether the node's key which is held by the key store (else, for the
 * vTPM, the clear key file of a node without guest_state, or no key). */
bool tld_nodekey_held(const struct tld_node *n, enum tld_nodekey which);
/* A fresh random key, sealed (the node's KEK made when it has none; the
 * sealed file replaced atomically), into key. */
int tld_nodekey_new(struct tld *t, const struct tld_node *n, enum tld_nodekey which,
                    uint8_t key[TLD_NODEKEY_LEN], struct tl_error *err);
/* The node's key opened into key. A clear key file an earlier tld left
 * (HOME/keys/NAME.gueststate.key, NAME.vtpm.key) is moved into the key
 * store first: sealed, the sealed file synced, the clear one removed and
 * its folder synced. -ENOENT: the node has no such key. */
int tld_nodekey_get(struct tld *t, const struct tld_node *n, enum tld_nodekey which,
                    uint8_t key[TLD_NODEKEY_LEN], struct tl_error *err);
/* The sealed file of one key removed (a vTPM forgotten). */
void tld_nodekey_forget(struct tld *t, const struct tld_node *n, enum tld_nodekey which);
/* A delete: the node's KEK destroyed in the token (what was sealed under
 * it, and any copy of the files, is then unreadable) and its sealed files
 * removed. Nothing is asked of the token when the node never had keys
 * there. */
void tld_nodekeys_destroy(struct tld *t, const struct tld_node *n);
