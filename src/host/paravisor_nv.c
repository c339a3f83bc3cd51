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
 *  - NV_Read under an HMAC session the relay follows (paravisor_session.c:
 *    unbound, unsalted, SHA-256, no parameter encryption or audit, which is
 *    what tpm2_nvread starts): the command HMAC is checked with an empty
 *    key (empty sessionKey, the index's empty authValue, and the owner's
 *    or platform's taken as empty: a guest that set an owner password reads
 *    with the index's auth) and TPM_RC_AUTH_FAIL for session 1 when it does
 *    not match; the response carries swtpm's current nonceTPM again, so
 *    the session stays valid in swtpm, and its HMAC. A session ended by the
 *    command (continueSession clear) is flushed from swtpm by the relay.
 *  - Any other session (policy, bound, salted, encrypting, one the relay
 *    lost, or more than one) on either command, and any session on
 *    NV_ReadPublic: TPM_RC_AUTH_UNAVAILABLE (0x12f), "authValue or
 *    authPolicy is not available": those sessions live in swtpm, which does
 *    not know the index. NV_Read without a session: TPM_RC_AUTH_MISSING.
 * A command that does not parse goes to swtpm, which refuses it with its
 * own code (for 0x01400001: TPM_RC_HANDLE, the index is not in swtpm). */
#include <errno.h>
#include <openssl/crypto.h>
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

static enum tlh_paravisor_verdict answer_rc(uint32_t rc, struct tlh_pv_answer *a)
{
    int n = tl_tpm_rsp_error(rc, a->rsp, a->cap);
    a->len = n > 0 ? (size_t)n : 0;
    return TLH_PV_ANSWERED;
}

static enum tlh_paravisor_verdict read_public(const struct tl_tpm_cmd *c, size_t report_len,
                                              struct tlh_pv_answer *a)
{
    if (c->params_len != 0)
        return TLH_PV_FORWARD; /* trailing bytes: swtpm refuses */
    if (c->n_sessions != 0)
        return answer_rc(TPM2_RC_AUTH_UNAVAILABLE, a);
    TPMS_NV_PUBLIC pub;
    tlh_paravisor_report_public(report_len, &pub);
    int n = tl_tpm_rsp_nv_read_public(&pub, a->rsp, a->cap, NULL);
    if (n < 0)
        return answer_rc(TPM2_RC_FAILURE, a);
    a->len = (size_t)n;
    return TLH_PV_ANSWERED;
}

/* The Name of an NV_Read's handle: a hierarchy's is its handle (Part 1,
 * 16), the index's its public area's. */
static size_t handle_name(uint32_t h, const uint8_t nv_name[TL_TPM_NAME_SHA256],
                          uint8_t out[TL_TPM_NAME_SHA256])
{
    if (h == TLH_PARAVISOR_NV_REPORT) {
        memcpy(out, nv_name, TL_TPM_NAME_SHA256);
        return TL_TPM_NAME_SHA256;
    }
    out[0] = (uint8_t)(h >> 24);
    out[1] = (uint8_t)(h >> 16);
    out[2] = (uint8_t)(h >> 8);
    out[3] = (uint8_t)h;
    return 4;
}

/* The command HMAC of an NV_Read under a plain session, checked; the
 * response's session (nonceTPM again, attributes echoed, its HMAC) built
 * into rs over the response parameters. -EACCES: the HMAC does not match. */
static int hmac_session(const struct tl_tpm_cmd *c, const struct tlh_pv_session *ps,
                        size_t report_len, const uint8_t *rparams, size_t rparams_len,
                        uint8_t hmac[32], struct tl_tpm_session *rs)
{
    const struct tl_tpm_session *s = &c->sessions[0];
    TPMS_NV_PUBLIC pub;
    uint8_t nv_name[TL_TPM_NAME_SHA256], n0[TL_TPM_NAME_SHA256], n1[TL_TPM_NAME_SHA256];
    tlh_paravisor_report_public(report_len, &pub);
    if (tl_tpm_nv_name(&pub, nv_name, NULL) < 0)
        return -EIO;
    const uint8_t *const names[2] = {n0, n1};
    size_t lens[2] = {handle_name(c->handles[0], nv_name, n0),
                      handle_name(c->handles[1], nv_name, n1)};
    uint8_t cp[32], rp[32], want[32];
    if (tl_tpm_cp_hash(TPM2_CC_NV_Read, names, lens, 2, c->params, c->params_len, cp) < 0 ||
        tl_tpm_session_hmac(NULL, 0, cp, s->nonce, s->nonce_size, ps->nonce, ps->nonce_size,
                            s->attributes, want) < 0)
        return -EIO;
    if (s->hmac_size != sizeof(want) || CRYPTO_memcmp(s->hmac, want, sizeof(want)) != 0)
        return -EACCES;
    if (tl_tpm_rp_hash(TPM2_RC_SUCCESS, TPM2_CC_NV_Read, rparams, rparams_len, rp) < 0 ||
        tl_tpm_session_hmac(NULL, 0, rp, ps->nonce, ps->nonce_size, s->nonce, s->nonce_size,
                            s->attributes, hmac) < 0)
        return -EIO;
    *rs = (struct tl_tpm_session){.nonce = ps->nonce,
                                  .nonce_size = ps->nonce_size,
                                  .attributes = s->attributes,
                                  .hmac = hmac,
                                  .hmac_size = 32};
    return 0;
}

static enum tlh_paravisor_verdict nv_read(const struct tl_tpm_cmd *c, const uint8_t *report,
                                          size_t report_len, const struct tlh_pv_sessions *ts,
                                          struct tlh_pv_answer *a)
{
    uint16_t size, offset;
    if (tl_tpm_nv_read_params(c, &size, &offset, NULL) < 0)
        return TLH_PV_FORWARD;
    if (c->n_sessions == 0)
        return answer_rc(TPM2_RC_AUTH_MISSING, a);
    if (c->n_sessions != 1)
        return answer_rc(TPM2_RC_AUTH_UNAVAILABLE, a);
    const struct tl_tpm_session *s = &c->sessions[0];
    const struct tlh_pv_session *ps = NULL;
    if (s->handle != TPM2_RS_PW) {
        ps = tlh_pv_sessions_find(ts, s->handle);
        if (!ps || !ps->plain || (s->attributes & ~TPMA_SESSION_CONTINUESESSION))
            return answer_rc(TPM2_RC_AUTH_UNAVAILABLE, a);
    }
    uint32_t auth = c->handles[0];
    if (auth != TLH_PARAVISOR_NV_REPORT && auth != TPM2_RH_OWNER && auth != TPM2_RH_PLATFORM)
        return answer_rc(TPM2_RC_NV_AUTHORIZATION, a);
    if (!ps && auth == TLH_PARAVISOR_NV_REPORT && s->hmac_size != 0)
        return answer_rc(TPM2_RC_AUTH_FAIL | TPM2_RC_S | TPM2_RC_1, a);
    if (size > TLH_PARAVISOR_NV_BUFFER_MAX)
        return answer_rc(TPM2_RC_VALUE | TPM2_RC_P | TPM2_RC_1, a);
    if ((size_t)offset + size > report_len)
        return answer_rc(TPM2_RC_NV_RANGE, a);
    struct tl_tpm_session rs;
    uint8_t hmac[32];
    if (ps) {
        /* the response parameters: the TPM2B data */
        uint8_t rparams[2 + TLH_PARAVISOR_NV_BUFFER_MAX];
        rparams[0] = (uint8_t)(size >> 8);
        rparams[1] = (uint8_t)size;
        memcpy(rparams + 2, report + offset, size);
        int r = hmac_session(c, ps, report_len, rparams, 2u + size, hmac, &rs);
        if (r == -EACCES)
            return answer_rc(TPM2_RC_AUTH_FAIL | TPM2_RC_S | TPM2_RC_1, a);
        if (r < 0)
            return answer_rc(TPM2_RC_FAILURE, a);
        if (!(s->attributes & TPMA_SESSION_CONTINUESESSION))
            a->flush = s->handle;
    }
    int n = tl_tpm_rsp_nv_read(report + offset, size, ps ? &rs : NULL, a->rsp, a->cap);
    if (n < 0)
        return answer_rc(TPM2_RC_FAILURE, a);
    a->len = (size_t)n;
    return TLH_PV_ANSWERED;
}

enum tlh_paravisor_verdict tlh_paravisor_classify(const uint8_t *cmd, size_t len,
                                                  const uint8_t *report, size_t report_len,
                                                  const struct tlh_pv_sessions *sessions,
                                                  struct tlh_pv_answer *a)
{
    struct tl_tpm_header h;
    struct tl_tpm_cmd c;
    a->len = 0;
    a->flush = 0;
    if (tl_tpm_header_parse(cmd, len, &h, NULL) < 0)
        return TLH_PV_FORWARD;
    int n_handles = tl_tpm_cc_handles(h.code);
    if (n_handles < 0 || tl_tpm_cmd_parse(cmd, len, (size_t)n_handles, &c, NULL) < 0)
        return TLH_PV_FORWARD;
    switch (h.code) {
    case TPM2_CC_NV_ReadPublic:
        if (c.handles[0] != TLH_PARAVISOR_NV_REPORT || !report)
            return TLH_PV_FORWARD;
        return read_public(&c, report_len, a);
    case TPM2_CC_NV_Read:
        if (c.handles[1] != TLH_PARAVISOR_NV_REPORT || !report)
            return TLH_PV_FORWARD;
        return nv_read(&c, report, report_len, sessions, a);
    case TPM2_CC_NV_Write:
        return c.handles[1] == TLH_PARAVISOR_NV_USER_DATA ? TLH_PV_USER_DATA : TLH_PV_FORWARD;
    default:
        return TLH_PV_FORWARD;
    }
}
