/* keystore-wrap HOME VAULT KEY TARGET_SPKI_DER: the newest version of
 * VAULT/KEY in HOME's key store wrapped for release to the RSA public key
 * in TARGET_SPKI_DER (tlh_keystore_wrap: OAEP-SHA-256 of an ephemeral
 * AES-256 key || RFC 5649 wrap of the key), written to stdout. A test tool:
 * tests/cli/keyvault_cli.sh takes an exportable key's bytes out of the
 * token this way (tld stopped: one process holds the token at a time),
 * unwraps them with openssl, and looks for them in TL_HOME's files. */
#include <stdio.h>
#include <stdlib.h>

#include "tlhost/file.h"
#include "tlhost/keystore.h"

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: keystore-wrap HOME VAULT KEY TARGET_SPKI_DER\n");
        return 2;
    }
    struct tl_error err = {0};
    uint8_t *spki = NULL, *out = NULL;
    size_t spki_len = 0, out_len = 0;
    struct tlh_keystore ks = {0};
    struct tlh_key key;
    struct tlh_keystore_config cfg = {.home = argv[1], .module = getenv("TL_PKCS11_MODULE")};
    int r = tlh_file_read(argv[4], 1 << 16, &spki, &spki_len, &err);
    if (r >= 0)
        r = tlh_keystore_open(&ks, &cfg, &err);
    if (r >= 0)
        r = tlh_keystore_key_find(&ks, argv[2], argv[3], NULL, &key, &err);
    if (r >= 0)
        r = tlh_keystore_wrap(&ks, &key, spki, spki_len, &out, &out_len, &err);
    tlh_keystore_close(&ks);
    if (r < 0) {
        fprintf(stderr, "keystore-wrap: %s\n", err.message);
        free(spki);
        return 1;
    }
    fwrite(out, 1, out_len, stdout);
    free(spki);
    free(out);
    return 0;
}
