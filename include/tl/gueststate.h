/* A node's guest state, sealed at rest: the file format.
 *
 * Azure keeps a confidential VM's vTPM state and UEFI variable store in one
 * small encrypted guest-state disk (VMGS). A trustlaunch node with
 * guest_state keeps them in one file, HOME/nodes/NAME/guest-state.vmgs,
 * sealed with AES-256-GCM under a per-node key kept apart from it. This
 * header is the format only (bytes in, bytes out); the host library
 * (tlhost/gueststate.h) reads and writes the files.
 *
 * The file (integers little-endian):
 *    0  magic "TLGUESTS"              8 bytes
 *    8  version, 1                    u32
 *   12  flags, 0 (reserved)           u32
 *   16  the node's uuid (RFC 4122)    16 bytes
 *   32  nonce (the GCM IV)            12 bytes
 *   44  reserved, 0                   4 bytes
 *   48  ciphertext length N           u64
 *   56  ciphertext                    N bytes
 *   56+N GCM tag                      16 bytes
 * The whole 56-byte header is GCM's additional data: a header moved to
 * another node's file, or any field changed, fails the tag.
 *
 * The plaintext is an archive of the files of the state:
 *    0  magic "TLGSARCH"              8 bytes
 *    8  count (at most 64)            u32
 *   then count entries: name length L u16 (1-255), the name (relative
 *   path: 1-4 components of [A-Za-z0-9._-], none "." or "..", joined by
 *   '/'), size S u64, S bytes of data;
 *   nothing after the last entry, no name twice. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tl/error.h"

#define TL_GUESTSTATE_HEADER_LEN 56
#define TL_GUESTSTATE_TAG_LEN    16
#define TL_GUESTSTATE_KEY_LEN    32
#define TL_GUESTSTATE_NONCE_LEN  12
#define TL_GUESTSTATE_VERSION    1
#define TL_GUESTSTATE_FILES_MAX  64
#define TL_GUESTSTATE_NAME_MAX   255
#define TL_GUESTSTATE_MAX        (64u << 20) /* a whole file: vars are 528 KiB, a vTPM ~10 */

struct tl_gueststate_header {
    uint32_t version;
    uint8_t uuid[16];
    uint8_t nonce[TL_GUESTSTATE_NONCE_LEN];
    uint64_t ciphertext_len;
};

/* One file of the archive; data points into the buffer it was parsed from. */
struct tl_gueststate_file {
    char name[TL_GUESTSTATE_NAME_MAX + 1];
    const uint8_t *data;
    size_t len;
};

/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" into its 16 bytes; -EINVAL. */
int tl_gueststate_uuid_parse(const char *text, uint8_t uuid[16]);

/* Is name a path the archive may hold (see above)? */
bool tl_gueststate_name_ok(const char *name);

/* The header of a sealed file of len bytes: magic, version, flags and
 * reserved checked, and the ciphertext length equal to what follows the
 * header less the tag. -EBADMSG with err saying what. */
int tl_gueststate_header_parse(const uint8_t *in, size_t len, struct tl_gueststate_header *h,
                               struct tl_error *err);

/* The files of an archive into files[max] (names copied, data pointing
 * into in); every size checked before it is read. -EBADMSG, -E2BIG beyond
 * max files. */
int tl_gueststate_archive_parse(const uint8_t *in, size_t len, struct tl_gueststate_file *files,
                                size_t max, size_t *count, struct tl_error *err);

/* An archive of files (malloc'd into *out); -EINVAL for a bad or repeated
 * name, -E2BIG beyond TL_GUESTSTATE_FILES_MAX or TL_GUESTSTATE_MAX. */
int tl_gueststate_archive_build(const struct tl_gueststate_file *files, size_t count, uint8_t **out,
                                size_t *out_len, struct tl_error *err);

/* A sealed file of plain for the node uuid (malloc'd into *out). The nonce
 * must be fresh for every seal under a key (the host library draws it). */
int tl_gueststate_seal(const uint8_t key[TL_GUESTSTATE_KEY_LEN], const uint8_t uuid[16],
                       const uint8_t nonce[TL_GUESTSTATE_NONCE_LEN], const uint8_t *plain,
                       size_t plain_len, uint8_t **out, size_t *out_len, struct tl_error *err);

/* A sealed file verified and opened: the header parsed, its uuid the
 * node's (-EBADMSG "belongs to node ..." otherwise), the tag checked over
 * header and ciphertext (-EBADMSG "authentication failed") before any
 * plaintext is handed out (malloc'd into *plain). */
int tl_gueststate_open(const uint8_t key[TL_GUESTSTATE_KEY_LEN], const uint8_t uuid[16],
                       const uint8_t *in, size_t len, uint8_t **plain, size_t *plain_len,
                       struct tl_error *err);
