/* Unit tests for lib/util/base64.c: the RFC 4648 section 10 test vectors
 * both ways, the URL alphabet and unpadded output (JWK, JWT), and the strict
 * decoder's refusals (whitespace after the padding, as agents once sent and
 * tld once accepted; non-zero pad bits; padding in the middle). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <stdlib.h>
#include <string.h>

#include "tl/base64.h"

static const char *const rfc[][2] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

static void test_rfc4648_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rfc / sizeof rfc[0]; i++) {
        char *enc;
        size_t enc_len;
        assert_int_equal(
            tl_base64_encode((const uint8_t *)rfc[i][0], strlen(rfc[i][0]), 0, &enc, &enc_len), 0);
        assert_string_equal(enc, rfc[i][1]);
        assert_int_equal(enc_len, strlen(rfc[i][1]));
        free(enc);
        uint8_t *dec;
        size_t dec_len;
        assert_int_equal(tl_base64_decode(rfc[i][1], strlen(rfc[i][1]), 0, &dec, &dec_len), 0);
        assert_int_equal(dec_len, strlen(rfc[i][0]));
        assert_memory_equal(dec, rfc[i][0], dec_len);
        free(dec);
    }
}

static void test_url_unpadded(void **state)
{
    (void)state;
    const uint8_t bytes[] = {0xfb, 0xff, 0xbf, 0x7e};
    char *enc;
    assert_int_equal(
        tl_base64_encode(bytes, sizeof bytes, TL_BASE64_URL | TL_BASE64_NO_PAD, &enc, NULL), 0);
    assert_string_equal(enc, "-_-_fg");
    uint8_t *dec;
    size_t n;
    assert_int_equal(
        tl_base64_decode(enc, strlen(enc), TL_BASE64_URL | TL_BASE64_PAD_OPTIONAL, &dec, &n), 0);
    assert_int_equal(n, sizeof bytes);
    assert_memory_equal(dec, bytes, n);
    free(dec);
    free(enc);
    assert_int_equal(tl_base64_encode(bytes, sizeof bytes, 0, &enc, NULL), 0);
    assert_string_equal(enc, "+/+/fg==");
    free(enc);
}

static void test_strict_refusals(void **state)
{
    (void)state;
    const char *bad[] = {"QQ==\n\n", "QQ==\n\n\n\n", "QR==",  "QQ=", "Q===",
                         "QQ==QQ==", "Zm9v\n",       " Zm9v", "Zg",  "-_-_"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t *dec = (uint8_t *)1;
        size_t n = 99;
        assert_int_equal(tl_base64_decode(bad[i], strlen(bad[i]), 0, &dec, &n), -22);
        assert_null(dec);
        assert_int_equal(n, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4648_vectors),
        cmocka_unit_test(test_url_unpadded),
        cmocka_unit_test(test_strict_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
