/* Building Azure's HCL report and its runtime JSON (tl/hcl_build.h): the
 * inverse of hcl.c's parsers, so that what an emulated confidential node's
 * platform writes is read by the same code that reads Azure's. */
#include <errno.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <string.h>

#include "tl/base64.h"
#include "tl/hcl_build.h"
#include "tl/util.h"

#define RUNTIME_MAX (64 * 1024)

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* A JWK member: the BIGNUM param of key, base64url without padding. */
static json_t *jwk_b64(EVP_PKEY *key, const char *param)
{
    BIGNUM *bn = NULL;
    json_t *j = NULL;
    if (EVP_PKEY_get_bn_param(key, param, &bn) != 1) {
        ERR_clear_error();
        return NULL;
    }
    int n = BN_num_bytes(bn);
    uint8_t *raw = malloc(n ? (size_t)n : 1);
    char *s = NULL;
    size_t sl;
    if (raw && BN_bn2bin(bn, raw) == n &&
        tl_base64_encode(raw, (size_t)n, TL_BASE64_URL | TL_BASE64_NO_PAD, &s, &sl) == 0)
        j = json_string(s);
    free(s);
    free(raw);
    BN_free(bn);
    return j;
}

static json_t *jwk(EVP_PKEY *key, const char *kid, const char *op)
{
    if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA)
        return NULL;
    json_t *e = jwk_b64(key, OSSL_PKEY_PARAM_RSA_E), *n = jwk_b64(key, OSSL_PKEY_PARAM_RSA_N);
    if (!e || !n) {
        json_decref(e);
        json_decref(n);
        return NULL;
    }
    return json_pack("{s:s,s:[s],s:s,s:o,s:o}", "kid", kid, "key_ops", op, "kty", "RSA", "e", e,
                     "n", n);
}

int tl_az_runtime_build(const struct tl_az_runtime_spec *s, char **json, size_t *len,
                        struct tl_error *err)
{
    json_t *ak = jwk(s->ak, "HCLAkPub", "sign");
    json_t *ek = s->ek ? jwk(s->ek, "HCLEkPub", "encrypt") : NULL;
    if (!ak || (s->ek && !ek)) {
        json_decref(ak);
        json_decref(ek);
        return tl_error_set_nopos(err, -EINVAL, "runtime data: the %s is not an RSA key",
                                  ak ? "EK" : "AK");
    }
    json_t *keys = json_array();
    json_array_append_new(keys, ak);
    if (ek)
        json_array_append_new(keys, ek);
    char ud[129];
    uint8_t zero[64] = {0};
    tl_hex_encode(s->has_user_data ? s->user_data : zero, 64, ud);
    json_t *root =
        json_pack("{s:o,s:{s:b,s:s,s:b,s:b,s:b,s:s},s:s}", "keys", keys, "vm-configuration",
                  "console-enabled", s->console_enabled, "root-cert-thumbprint", "", "secure-boot",
                  s->secure_boot, "tpm-enabled", s->tpm_enabled, "tpm-persisted", s->tpm_persisted,
                  "vmUniqueId", s->vm_unique_id ? s->vm_unique_id : "", "user-data", ud);
    char *text = root ? json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(root);
    if (!text)
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    *json = text;
    *len = strlen(text);
    return 0;
}

int tl_az_runtime_report_data(const uint8_t *json, size_t len, uint8_t report_data[64],
                              struct tl_error *err)
{
    unsigned int n = 32;
    memset(report_data, 0, 64);
    if (EVP_Digest(json, len, report_data, &n, EVP_sha256(), NULL) != 1)
        return tl_error_set_nopos(err, -ENOMEM, "SHA-256 failed");
    return 0;
}

int tl_hcl_report_build(const struct tl_hcl_build *b, uint8_t **out, size_t *out_len,
                        struct tl_error *err)
{
    size_t want = b->report_type == TL_HCL_REPORT_SNP   ? TL_SNP_REPORT_SIZE
                  : b->report_type == TL_HCL_REPORT_TDX ? TL_TDX_TDREPORT_LEN
                                                        : 0;
    if (!want)
        return tl_error_set_nopos(err, -EINVAL, "HCL report: report type %u is not 2 or 4",
                                  b->report_type);
    if (b->hw_len != want)
        return tl_error_set_nopos(err, -EINVAL, "HCL report: hardware report of %zu bytes, not %zu",
                                  b->hw_len, want);
    if (b->runtime_len > RUNTIME_MAX)
        return tl_error_set_nopos(err, -EINVAL, "HCL report: runtime data of %zu bytes (cap %d)",
                                  b->runtime_len, RUNTIME_MAX);
    size_t size = TL_HCL_VAR_OFFSET + b->runtime_len;
    size_t total = b->pad_to > size ? b->pad_to : size;
    uint8_t *p = calloc(1, total);
    if (!p)
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    memcpy(p, "HCLA", 4);
    put_le32(p + 4, b->report_type == TL_HCL_REPORT_SNP ? 1 : 2);
    put_le32(p + 8, (uint32_t)size);
    put_le32(p + 12, 2);
    memcpy(p + TL_HCL_HEADER_SIZE, b->hw_report, b->hw_len);
    uint8_t *ig = p + TL_HCL_IGVM_OFFSET;
    put_le32(ig, (uint32_t)(TL_HCL_IGVM_SIZE + b->runtime_len));
    put_le32(ig + 4, 1);
    put_le32(ig + 8, b->report_type);
    put_le32(ig + 12, 1);
    put_le32(ig + 16, (uint32_t)b->runtime_len);
    if (b->runtime_len)
        memcpy(p + TL_HCL_VAR_OFFSET, b->runtime, b->runtime_len);
    *out = p;
    *out_len = total;
    return 0;
}
