/* The relay's own NV index (paravisor.h): deciding, for one whole guest
 * command, whether the relay answers it from the HCL report it holds, and
 * answering. No I/O here: bytes in, a verdict and a response out.
 *
 * What the relay answers, and with which TPM response code (TPM 2.0 Part 2,
 * 6.6; Part 3, 31.6 NV_ReadPublic, 31.13 NV_Read):
 *  - NV_ReadPublic(0x01400001) without sessions: the public area
 *    (TLH_PARAVISOR_REPORT_ATTRIBUTES, nameAlg SHA-256, no policy,
 *    dataSize = the report's length) and its Name.
 *  - NV_Read(auth, 0x01400001) under one password session: auth is the
 *    index (its auth is empty: a non-empty password is TPM_RC_AUTH_FAIL for
 *    session 1), TPM_RH_OWNER or TPM_RH_PLATFORM (the relay cannot see
 *    swtpm's hierarchy auths, so their passwords are not checked: the
 *    report is public evidence, readable with the index's empty auth
 *    anyway). Another auth handle: TPM_RC_NV_AUTHORIZATION. size above
 *    TLH_PARAVISOR_NV_BUFFER_MAX: TPM_RC_VALUE for parameter 1; offset +
 *    size past the report: TPM_RC_NV_RANGE.
 *  - An HMAC or policy session (or any session beyond the password one) on
 *    either: TPM_RC_AUTH_UNAVAILABLE (0x12f), "authValue or authPolicy is
 *    not available": the sessions live in swtpm, which does not know the
 *    index, so the relay can neither check an HMAC nor a policy. NV_Read
 *    without a session: TPM_RC_AUTH_MISSING.
 * A command that does not parse goes to swtpm, which refuses it with its
 * own code (for 0x01400001: TPM_RC_HANDLE, the index is not in swtpm). */
#include <string.h>

#include "tl/tpmcmd.h"
#include "tlhost/paravisor.h"

void tlh_paravisor_report_public(size_t len, TPMS_NV_PUBLIC *out)
{
    *out = (TPMS_NV_PUBLIC){.nvIndex = TLH_PARAVISOR_NV_REPORT,
                            .nameAlg = TPM2_ALG_SHA256,
                            .attributes = TLH_PARAVISOR_REPORT_ATTRIBUTES,
                            .dataSize = (uint16_t)len};
}

static enum tlh_paravisor_verdict answer_rc(uint32_t rc, uint8_t *rsp, size_t cap, size_t *rsp_len)
{
    int n = tl_tpm_rsp_error(rc, rsp, cap);
    *rsp_len = n > 0 ? (size_t)n : 0;
    return TLH_PV_ANSWERED;
}

static enum tlh_paravisor_verdict read_public(const struct tl_tpm_cmd *c, size_t report_len,
                                              uint8_t *rsp, size_t cap, size_t *rsp_len)
{
    if (c->params_len != 0)
        return TLH_PV_FORWARD; /* trailing bytes: swtpm refuses */
    if (c->n_sessions != 0)
        return answer_rc(TPM2_RC_AUTH_UNAVAILABLE, rsp, cap, rsp_len);
    TPMS_NV_PUBLIC pub;
    tlh_paravisor_report_public(report_len, &pub);
    int n = tl_tpm_rsp_nv_read_public(&pub, rsp, cap, NULL);
    if (n < 0)
        return answer_rc(TPM2_RC_FAILURE, rsp, cap, rsp_len);
    *rsp_len = (size_t)n;
    return TLH_PV_ANSWERED;
}

static enum tlh_paravisor_verdict nv_read(const struct tl_tpm_cmd *c, const uint8_t *report,
                                          size_t report_len, uint8_t *rsp, size_t cap,
                                          size_t *rsp_len)
{
    uint16_t size, offset;
    if (tl_tpm_nv_read_params(c, &size, &offset, NULL) < 0)
        return TLH_PV_FORWARD;
    if (c->n_sessions == 0)
        return answer_rc(TPM2_RC_AUTH_MISSING, rsp, cap, rsp_len);
    const struct tl_tpm_session *s = &c->sessions[0];
    if (c->n_sessions != 1 || s->handle != TPM2_RS_PW)
        return answer_rc(TPM2_RC_AUTH_UNAVAILABLE, rsp, cap, rsp_len);
    uint32_t auth = c->handles[0];
    if (auth == TLH_PARAVISOR_NV_REPORT) {
        if (s->hmac_size != 0)
            return answer_rc(TPM2_RC_AUTH_FAIL | TPM2_RC_S | TPM2_RC_1, rsp, cap, rsp_len);
    } else if (auth != TPM2_RH_OWNER && auth != TPM2_RH_PLATFORM) {
        return answer_rc(TPM2_RC_NV_AUTHORIZATION, rsp, cap, rsp_len);
    }
    if (size > TLH_PARAVISOR_NV_BUFFER_MAX)
        return answer_rc(TPM2_RC_VALUE | TPM2_RC_P | TPM2_RC_1, rsp, cap, rsp_len);
    if ((size_t)offset + size > report_len)
        return answer_rc(TPM2_RC_NV_RANGE, rsp, cap, rsp_len);
    int n = tl_tpm_rsp_nv_read(report + offset, size, rsp, cap);
    if (n < 0)
        return answer_rc(TPM2_RC_FAILURE, rsp, cap, rsp_len);
    *rsp_len = (size_t)n;
    return TLH_PV_ANSWERED;
}

enum tlh_paravisor_verdict tlh_paravisor_classify(const uint8_t *cmd, size_t len,
                                                  const uint8_t *report, size_t report_len,
                                                  uint8_t *rsp, size_t cap, size_t *rsp_len)
{
    struct tl_tpm_header h;
    struct tl_tpm_cmd c;
    *rsp_len = 0;
    if (tl_tpm_header_parse(cmd, len, &h, NULL) < 0)
        return TLH_PV_FORWARD;
    int n_handles = tl_tpm_cc_handles(h.code);
    if (n_handles < 0 || tl_tpm_cmd_parse(cmd, len, (size_t)n_handles, &c, NULL) < 0)
        return TLH_PV_FORWARD;
    switch (h.code) {
    case TPM2_CC_NV_ReadPublic:
        if (c.handles[0] != TLH_PARAVISOR_NV_REPORT || !report)
            return TLH_PV_FORWARD;
        return read_public(&c, report_len, rsp, cap, rsp_len);
    case TPM2_CC_NV_Read:
        if (c.handles[1] != TLH_PARAVISOR_NV_REPORT || !report)
            return TLH_PV_FORWARD;
        return nv_read(&c, report, report_len, rsp, cap, rsp_len);
    case TPM2_CC_NV_Write:
        return c.handles[1] == TLH_PARAVISOR_NV_USER_DATA ? TLH_PV_USER_DATA : TLH_PV_FORWARD;
    default:
        return TLH_PV_FORWARD;
    }
}
