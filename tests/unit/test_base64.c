/* Unit tests for lib/util/base64.c: the RFC 4648 section 10 test vectors
 * both ways, the URL alphabet and unpadded output (JWK, JWT), and the strict
 * decoder's refusals (whitespace after the padding, as agents once sent and
 * tld once accepted; non-zero pad bits; padding in the middle). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <stdbool.h>
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

/* The decoder reads four characters at a time through a table: against a
 * character-at-a-time reference (the alphabet by strchr), every byte value
 * in every position of 8- to 12-character inputs, both alphabets, decodes
 * or is refused alike; and tl_base64_span stops at the first non-alphabet
 * character. */
static int ref_decode(const char *s, size_t len, bool url, uint8_t *out, size_t *out_len)
{
    const char *alpha = url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                            : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t pad = 0;
    while (pad < 2 && len > pad && s[len - 1 - pad] == '=')
        pad++;
    size_t n = len - pad;
    if ((pad && len % 4) || n % 4 == 1 || (pad && n % 4 + pad != 4))
        return -1;
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        const char *p = s[i] ? strchr(alpha, s[i]) : NULL;
        if (!p)
            return -1;
        acc = acc << 6 | (uint32_t)(p - alpha);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    *out_len = o;
    return acc ? -1 : 0;
}

static void test_table_decoder_matches_reference(void **state)
{
    (void)state;
    const char *base[] = {"QUJDREVGR0hJ", "QUJDREVGR0g=", "QUJDREVGRw==", "QUJDREVGR0g",
                          "QUJDREVGRw",   "QUJDREVG",     "-_-_QUJD_w"};
    size_t tried = 0, accepted = 0;
    for (size_t k = 0; k < sizeof(base) / sizeof(base[0]); k++) {
        size_t len = strlen(base[k]);
        for (size_t pos = 0; pos < len; pos++)
            for (int c = 0; c < 256; c++)
                for (int url = 0; url < 2; url++) {
                    char s[16];
                    memcpy(s, base[k], len);
                    s[pos] = (char)c;
                    uint8_t want[16], *got = NULL;
                    size_t want_len = 0, got_len = 0;
                    int rr = ref_decode(s, len, url, want, &want_len);
                    int r = tl_base64_decode(
                        s, len, TL_BASE64_PAD_OPTIONAL | (url ? TL_BASE64_URL : 0), &got, &got_len);
                    if ((rr == 0) != (r == 0))
                        fail_msg("base %zu pos %zu char %d url %d: reference %d, decoder %d", k,
                                 pos, c, url, rr, r);
                    if (r == 0) {
                        assert_int_equal(got_len, want_len);
                        assert_memory_equal(got, want, want_len);
                        accepted++;
                    }
                    free(got);
                    tried++;
                }
    }
    assert_int_equal(tried, 2u * 256 * (12 + 12 + 12 + 11 + 10 + 8 + 10));
    assert_true(accepted > 1000);
    assert_int_equal(tl_base64_span("QUJD+/==\"x", 10, 0), 8);
    assert_int_equal(tl_base64_span("QUJD-_==", 8, 0), 4);
    assert_int_equal(tl_base64_span("QUJD-_==", 8, TL_BASE64_URL), 8);
    assert_int_equal(tl_base64_span("", 0, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4648_vectors),
        cmocka_unit_test(test_url_unpadded),
        cmocka_unit_test(test_strict_refusals),
        cmocka_unit_test(test_table_decoder_matches_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
