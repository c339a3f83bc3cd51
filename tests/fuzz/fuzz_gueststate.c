/* libFuzzer target for a node's guest state (lib/node/gueststate.c,
 * tl/gueststate.h): the sealed file's header and the archive inside.
 *
 * Each input is read two ways:
 *   - as a sealed file: the header parsed, then opened with the all-zero
 *     key for the uuid its header names; what opens must parse as an
 *     archive or be refused, never read outside the input;
 *   - as an archive: when it parses, building it again from its files
 *     gives the input byte for byte (the parser accepts only what the
 *     builder writes), and sealing it then opening it gives it back.
 *
 * Seeds (tests/fuzz/run.sh): a real node's state, OVMF's Microsoft
 * variable store and a vTPM state file (tests/data/gueststate), as an
 * archive and sealed with the zero key (by Python's AESGCM: another
 * implementation of the same format).
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude \
 *     tests/fuzz/fuzz_gueststate.c <libtl sources or libtl.a> -lcrypto */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tl/gueststate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tl_gueststate_file files[TL_GUESTSTATE_FILES_MAX];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t key[TL_GUESTSTATE_KEY_LEN] = {0};
    struct tl_gueststate_header h;
    size_t count;
    if (tl_gueststate_header_parse(data, size, &h, NULL) == 0) {
        if (h.ciphertext_len + TL_GUESTSTATE_HEADER_LEN + TL_GUESTSTATE_TAG_LEN != size)
            abort();
        uint8_t *plain = NULL;
        size_t plain_len = 0;
        if (tl_gueststate_open(key, h.uuid, data, size, &plain, &plain_len, NULL) == 0) {
            if (plain_len != h.ciphertext_len)
                abort();
            tl_gueststate_archive_parse(plain, plain_len, files, TL_GUESTSTATE_FILES_MAX, &count,
                                        NULL);
        } else if (plain || plain_len) {
            abort();
        }
        free(plain);
    }
    if (tl_gueststate_archive_parse(data, size, files, TL_GUESTSTATE_FILES_MAX, &count, NULL) != 0)
        return 0;
    uint8_t *again = NULL, *sealed = NULL, *opened = NULL;
    size_t again_len = 0, sealed_len = 0, opened_len = 0;
    static const uint8_t uuid[16] = {1}, nonce[TL_GUESTSTATE_NONCE_LEN] = {2};
    if (tl_gueststate_archive_build(files, count, &again, &again_len, NULL) != 0 ||
        again_len != size || memcmp(again, data, size) != 0)
        abort();
    if (tl_gueststate_seal(key, uuid, nonce, again, again_len, &sealed, &sealed_len, NULL) != 0 ||
        tl_gueststate_open(key, uuid, sealed, sealed_len, &opened, &opened_len, NULL) != 0 ||
        opened_len != size || memcmp(opened, data, size) != 0)
        abort();
    free(again);
    free(sealed);
    free(opened);
    return 0;
}
