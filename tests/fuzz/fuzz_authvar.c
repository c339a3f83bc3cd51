/* libFuzzer target for authenticated variable updates (UEFI 2.10, 8.2.2):
 * tl_auth2_parse over arbitrary bytes, then what a consumer does with a
 * header that parses: tl_sig_db_parse of the payload (EFI_SIGNATURE_LISTs,
 * UEFI 2.10 32.4.1), tl_auth2_verify against an empty authorising database
 * (which still decodes the PKCS#7, wraps a bare SignedData and checks the
 * signature over the detached content) and tl_sig_db_append of the payload
 * onto itself (every entry a duplicate: the result must be the payload).
 *
 * Seeds: the .bin files of ../shared/vectors/secureboot/dbx.
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude \
 *     tests/fuzz/fuzz_authvar.c <libtl sources or libtl.a> -lcrypto -ljansson */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tl/authvar.h"
#include "tl/efi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tl_auth2 a;
    struct tl_error err;
    if (tl_auth2_parse(data, size, &a, &err) < 0)
        return 0;

    struct tl_sig_db db;
    int lists_ok = tl_sig_db_parse(a.data, a.data_len, &db, &err) >= 0;
    if (lists_ok)
        tl_sig_db_done(&db);

    struct tl_sig_db none = {0};
    struct tl_auth2_verdict v;
    int r = tl_auth2_verify(&a, "dbx", &TL_EFI_IMAGE_SECURITY_DB_GUID, 0x67, &none, &v, &err);
    /* Nothing can verify against an empty database. */
    if (r == 0)
        abort();

    uint8_t *out = NULL;
    size_t out_len = 0;
    r = tl_sig_db_append(a.data, a.data_len, a.data, a.data_len, &out, &out_len, &err);
    if ((r >= 0) != lists_ok)
        abort();
    if (r >= 0 && (out_len != a.data_len || (out_len && memcmp(out, a.data, out_len) != 0)))
        abort();
    free(out);
    return 0;
}
