/* The host library (src/host, "tlh_"; never prints, -errno + tl_error).
 *
 * gueststate.h: a node's guest state file (tl/gueststate.h is its format)
 * and the folder its files are opened into while the node runs. The key
 * is 32 random bytes the caller holds (tld: sealed by the key store, see
 * src/tld/nodekeys.c; a key file of 0600 for tools and tests); every seal
 * draws a new nonce. Every message names the file it is about. */
#pragma once

#include <stdint.h>

#include "tl/error.h"
#include "tl/gueststate.h"

/* A new key at path (0600; -EEXIST when there is one already). */
int tlh_gueststate_key_new(const char *path, struct tl_error *err);
/* The key in the file at path (exactly TL_GUESTSTATE_KEY_LEN bytes, else
 * -EBADMSG); the caller wipes it. */
int tlh_gueststate_key_read(const char *path, uint8_t key[TL_GUESTSTATE_KEY_LEN],
                            struct tl_error *err);

/* The regular files under dir (sub-folders up to the archive's depth;
 * names relative to dir) sealed into file for the node uuid, atomically:
 * FILE.tmp written and fsync'd, renamed over file, its folder fsync'd.
 * dir is left as it was. */
int tlh_gueststate_seal_dir(const char *dir, const char *file,
                            const uint8_t key[TL_GUESTSTATE_KEY_LEN], const uint8_t uuid[16],
                            struct tl_error *err);

/* file verified with the key (and the node's uuid) and its files written
 * into dir, which must not exist: they go to DIR.new (0700) first, which is
 * renamed to dir once complete, so dir exists only whole. -EBADMSG when
 * the file is refused (altered, truncated, another node's, a wrong key). */
int tlh_gueststate_open_dir(const char *file, const uint8_t key[TL_GUESTSTATE_KEY_LEN],
                            const uint8_t uuid[16], const char *dir, struct tl_error *err);

/* dir and everything in it removed (symbolic links not followed); 0 when
 * there was none. */
int tlh_gueststate_remove_dir(const char *dir, struct tl_error *err);
