/* Standard base64 (RFC 4648, section 4, with padding) for the JSON the agent
 * exchanges with tld: binary TPM structures and certificates go out encoded,
 * the credential tld makes comes back encoded.
 *
 * Decoding is strict (fail closed): only the alphabet, a length that is a
 * multiple of 4, padding only at the end; no whitespace, no line breaks.
 * OpenSSL's EVP_DecodeBlock would accept some of that and counts padding as
 * zero bytes, so the checks are done here first. */
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"

json_t *agent_json_base64(const uint8_t *p, size_t n)
{
    if (n > (size_t)INT32_MAX / 2)
        return NULL;
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    if (!out)
        return NULL;
    EVP_EncodeBlock((unsigned char *)out, p, (int)n);
    json_t *s = json_string(out);
    free(out);
    return s;
}

static bool b64_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

int agent_base64_decode(const char *s, size_t len, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (len % 4 != 0 || len > (size_t)INT32_MAX)
        return -EINVAL;
    size_t pad = 0;
    if (len >= 4 && s[len - 1] == '=')
        pad = s[len - 2] == '=' ? 2 : 1;
    for (size_t i = 0; i < len - pad; i++)
        if (!b64_char(s[i]))
            return -EINVAL;
    uint8_t *buf = malloc(len / 4 * 3 + 1);
    if (!buf)
        return -ENOMEM;
    int n = len ? EVP_DecodeBlock(buf, (const unsigned char *)s, (int)len) : 0;
    if (n < 0 || (size_t)n < pad) {
        free(buf);
        return -EINVAL;
    }
    *out = buf;
    *out_len = (size_t)n - pad;
    return 0;
}
