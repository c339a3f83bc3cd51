/* keystore-unseal HOME LABEL SEALED_FILE: the secret in SEALED_FILE opened
 * by the KEK LABEL in HOME's key store (tlh_keystore_unseal), written to
 * stdout; keystore-unseal HOME LABEL --count: how many token objects carry
 * LABEL. A test tool: tests/e2e/guest_state.sh takes a node's keys out of
 * the token this way (tld stopped: one process holds the token at a time)
 * and looks for them in TL_HOME's files and tld.log. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlhost/file.h"
#include "tlhost/keystore.h"

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: keystore-unseal HOME LABEL SEALED_FILE|--count\n");
        return 2;
    }
    struct tl_error err = {0};
    struct tlh_keystore ks = {0};
    struct tlh_keystore_config cfg = {.home = argv[1], .module = getenv("TL_PKCS11_MODULE")};
    uint8_t *blob = NULL, plain[TLH_KEYSTORE_SEAL_MAX];
    size_t blob_len = 0, len = 0;
    bool count = strcmp(argv[3], "--count") == 0;
    int r = count ? 0 : tlh_file_read(argv[3], 4096, &blob, &blob_len, &err);
    if (r >= 0)
        r = tlh_keystore_open(&ks, &cfg, &err);
    if (r >= 0)
        r = count ? tlh_keystore_label_count(&ks, argv[2], &err)
                  : tlh_keystore_unseal(&ks, argv[2], blob, blob_len, plain, &len, &err);
    tlh_keystore_close(&ks);
    free(blob);
    if (r < 0) {
        fprintf(stderr, "keystore-unseal: %s\n", err.message);
        return 1;
    }
    if (count)
        printf("%d\n", r);
    else
        fwrite(plain, 1, len, stdout);
    return 0;
}
