/* Azure's HCL report and its runtime-data JSON (layout in tl/azure.h),
 * and where a TD quote keeps its REPORTDATA.
 *
 * Nothing in the HCL report's header or IGVM request data is signed: they
 * only locate the signed hardware report and the runtime JSON, whose bytes
 * the hardware report's REPORT_DATA hashes. So they are parsed strictly
 * (sizes that agree, no bytes left unaccounted for) and never trusted
 * beyond locating. The runtime JSON is what REPORT_DATA binds; its JWK
 * "HCLAkPub" is the vTPM's attestation key (RFC 7517/7518 6.3: "n" and "e"
 * base64url, unsigned big-endian).
 *
 * TD quote (Intel TDX DCAP Quote Generation Library, Appendix A.3/A.4):
 * 48-byte header (version u16 first); v4: the TD report body follows at
 * 48; v5: a body descriptor (type u16, size u32) then the body at 54. In
 * both TD 1.0 and 1.5 bodies REPORTDATA is at body offset 520 (64
 * bytes). */
#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <string.h>

#include "tl/azure.h"
#include "tl/base64.h"
#include "tl/util.h"

#define RUNTIME_MAX (64 * 1024)

int tl_hcl_report_parse(const uint8_t *buf, size_t len, struct tl_hcl_report *out,
                        struct tl_error *err)
{
    *out = (struct tl_hcl_report){0};
    if (len < TL_HCL_VAR_OFFSET)
        return tl_error_set(err, -EBADMSG, len,
                            "HCL report: %zu bytes, shorter than its fixed part (%d)", len,
                            TL_HCL_VAR_OFFSET);
    if (memcmp(buf, "HCLA", 4) != 0)
        return tl_error_set(err, -EBADMSG, 0, "HCL report: no \"HCLA\" signature");
    const uint8_t *ig = buf + TL_HCL_IGVM_OFFSET;
    *out = (struct tl_hcl_report){
        .header_version = tl_le32(buf + 4),
        .report_size = tl_le32(buf + 8),
        .request_type = tl_le32(buf + 12),
        .status = tl_le32(buf + 16),
        .igvm_data_size = tl_le32(ig),
        .igvm_version = tl_le32(ig + 4),
        .report_type = tl_le32(ig + 8),
        .hash_type = tl_le32(ig + 12),
        .var_len = tl_le32(ig + 16),
        .hw_report = buf + TL_HCL_HEADER_SIZE,
    };
    if (out->report_type == TL_HCL_REPORT_SNP)
        out->hw_len = TL_SNP_REPORT_SIZE;
    else if (out->report_type == TL_HCL_REPORT_TDX)
        out->hw_len = TL_TDX_TDREPORT_LEN;
    else
        return tl_error_set(err, -EBADMSG, TL_HCL_IGVM_OFFSET + 8,
                            "HCL report: report type %u is neither SEV-SNP (2) nor TDX (4)",
                            out->report_type);
    if (out->hash_type < 1 || out->hash_type > 3)
        return tl_error_set(err, -EBADMSG, TL_HCL_IGVM_OFFSET + 12,
                            "HCL report: report-data hash type %u is not SHA-256/384/512 (1-3)",
                            out->hash_type);
    if (out->var_len > len - TL_HCL_VAR_OFFSET)
        return tl_error_set(err, -EBADMSG, TL_HCL_IGVM_OFFSET + 16,
                            "HCL report: runtime data of %zu bytes runs past the end (%zu left)",
                            out->var_len, len - TL_HCL_VAR_OFFSET);
    if ((uint64_t)out->igvm_data_size != (uint64_t)TL_HCL_IGVM_SIZE + out->var_len)
        return tl_error_set(err, -EBADMSG, TL_HCL_IGVM_OFFSET,
                            "HCL report: IGVM data size %u is not 20 + runtime data size %zu",
                            out->igvm_data_size, out->var_len);
    if (out->hw_len < TL_HCL_HW_SIZE &&
        !tl_is_zero(out->hw_report + out->hw_len, TL_HCL_HW_SIZE - out->hw_len))
        return tl_error_set(err, -EBADMSG, TL_HCL_HEADER_SIZE + out->hw_len,
                            "HCL report: non-zero bytes after the TDREPORT");
    out->var_data = buf + TL_HCL_VAR_OFFSET;
    size_t end = TL_HCL_VAR_OFFSET + out->var_len;
    if (!tl_is_zero(buf + end, len - end))
        return tl_error_set(err, -EBADMSG, end,
                            "HCL report: non-zero bytes after the runtime data");
    return 0;
}

/* BIGNUM from a base64url JWK member. */
static BIGNUM *jwk_bn(json_t *jwk, const char *name)
{
    json_t *j = json_object_get(jwk, name);
    if (!json_is_string(j))
        return NULL;
    uint8_t *raw;
    size_t n;
    if (tl_base64_decode(json_string_value(j), json_string_length(j),
                         TL_BASE64_URL | TL_BASE64_PAD_OPTIONAL, &raw, &n) < 0)
        return NULL;
    BIGNUM *bn = n ? BN_bin2bn(raw, (int)n, NULL) : NULL;
    free(raw);
    return bn;
}

static EVP_PKEY *jwk_rsa(json_t *jwk)
{
    if (!json_is_string(json_object_get(jwk, "kty")) ||
        strcmp(json_string_value(json_object_get(jwk, "kty")), "RSA") != 0)
        return NULL;
    BIGNUM *n = jwk_bn(jwk, "n"), *e = jwk_bn(jwk, "e");
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    if (n && e && bld && BN_num_bits(n) >= 2048 && BN_num_bits(n) <= 8192 &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) &&
        (params = OSSL_PARAM_BLD_to_param(bld)) &&
        (pctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) && EVP_PKEY_fromdata_init(pctx) == 1)
        EVP_PKEY_fromdata(pctx, &pkey, EVP_PKEY_PUBLIC_KEY, params);
    EVP_PKEY_CTX_free(pctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    ERR_clear_error();
    return pkey;
}

int tl_az_runtime_parse(const uint8_t *buf, size_t len, struct tl_az_runtime *rt,
                        struct tl_error *err)
{
    *rt = (struct tl_az_runtime){0};
    if (len > RUNTIME_MAX)
        return tl_error_set_nopos(err, -EBADMSG, "runtime data: %zu bytes exceeds the %d cap", len,
                                  RUNTIME_MAX);
    json_error_t je;
    json_t *root = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return tl_error_set(err, -EBADMSG, (size_t)je.position, "runtime data: %s", je.text);
    if (!json_is_object(root)) {
        json_decref(root);
        return tl_error_set_nopos(err, -EBADMSG, "runtime data: not a JSON object");
    }
    rt->root = root;
    json_t *keys = json_object_get(root, "keys");
    size_t i;
    json_t *k;
    int found = 0;
    json_array_foreach(keys, i, k)
    {
        json_t *kid = json_object_get(k, "kid");
        if (json_is_string(kid) && strcmp(json_string_value(kid), "HCLAkPub") == 0) {
            found++;
            if (found == 1)
                rt->ak = jwk_rsa(k);
        }
    }
    if (found > 1) { /* two AKs: which one the quote means is ambiguous */
        EVP_PKEY_free(rt->ak);
        rt->ak = NULL;
    }
    json_t *vm = json_object_get(root, "vm-configuration");
    rt->vm_config = json_is_object(vm) ? vm : NULL;
    json_t *ud = json_object_get(root, "user-data");
    if (json_is_string(ud) && json_string_length(ud) == 128 &&
        tl_hex_decode(json_string_value(ud), 128, rt->user_data, 64) == 64)
        rt->has_user_data = true;
    return 0;
}

void tl_az_runtime_done(struct tl_az_runtime *rt)
{
    EVP_PKEY_free(rt->ak);
    json_decref(rt->root);
    *rt = (struct tl_az_runtime){0};
}

int tl_az_td_quote_report_data(const uint8_t *quote, size_t len, const uint8_t **report_data,
                               struct tl_error *err)
{
    *report_data = NULL;
    if (len < 48)
        return tl_error_set(err, -EBADMSG, len, "TD quote: %zu bytes, shorter than its header",
                            len);
    uint16_t version = tl_le16(quote);
    size_t body;
    if (version == 4) {
        body = 48;
    } else if (version == 5) {
        if (len < 54)
            return tl_error_set(err, -EBADMSG, len, "TD quote v5: no body descriptor");
        body = 54;
    } else {
        return tl_error_set(err, -EBADMSG, 0, "TD quote: version %u is not 4 or 5", version);
    }
    if (len < body + 584)
        return tl_error_set(err, -EBADMSG, len, "TD quote: %zu bytes, shorter than its TD report",
                            len);
    *report_data = quote + body + 520;
    return 0;
}
