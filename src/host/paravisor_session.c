/* Following the guest's auth sessions through the relay (paravisor.h).
 *
 * The relay never changes a byte swtpm sees; it only watches. A session it
 * can speak for is "plain": an HMAC session started with tpmKey and bind
 * both TPM_RH_NULL and SHA-256 (Part 1, 19.6.3: its sessionKey is then
 * empty). Its nonceTPM is the one in swtpm's last answer naming it
 * (StartAuthSession's nonceTPM, then each response's session area). A
 * session ends with FlushContext, with a command that cleared
 * continueSession, and all end with TPM2_Startup.
 *
 * Which command bytes are handles and which the sessions area depends on
 * the command; rather than a table of every command, the sessions are
 * found by trying 0 to 3 handles and keeping the parse that consumes the
 * command exactly with session handles only (TPM_RS_PW, 0x02/0x03......).
 * A wrong guess can only make the relay lose track of a session, and then
 * it answers TPM_RC_AUTH_UNAVAILABLE for its own index, as it would for a
 * session it never knew: swtpm's traffic is not affected. */
#include <string.h>

#include "tlhost/paravisor.h"

static bool session_handle(uint32_t h)
{
    return h == TPM2_RS_PW || (h >> 24) == TPM2_HT_HMAC_SESSION ||
           (h >> 24) == TPM2_HT_POLICY_SESSION;
}

const struct tlh_pv_session *tlh_pv_sessions_find(const struct tlh_pv_sessions *t, uint32_t handle)
{
    for (size_t i = 0; t && i < t->n; i++)
        if (t->s[i].handle == handle)
            return &t->s[i];
    return NULL;
}

void tlh_pv_sessions_forget(struct tlh_pv_sessions *t, uint32_t handle)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->s[i].handle == handle) {
            t->s[i] = t->s[--t->n];
            return;
        }
}

static void remember(struct tlh_pv_sessions *t, uint32_t handle, bool plain, const uint8_t *nonce,
                     uint16_t nonce_size)
{
    tlh_pv_sessions_forget(t, handle);
    if (nonce_size > sizeof(t->s[0].nonce))
        return;
    if (t->n == TLH_PV_MAX_SESSIONS) /* the oldest goes: the relay loses track of it */
        memmove(&t->s[0], &t->s[1], --t->n * sizeof(t->s[0]));
    struct tlh_pv_session *s = &t->s[t->n++];
    *s = (struct tlh_pv_session){.handle = handle, .plain = plain, .nonce_size = nonce_size};
    memcpy(s->nonce, nonce, nonce_size);
}

void tlh_pv_sessions_command(struct tlh_pv_sessions *t, const uint8_t *cmd, size_t len)
{
    struct tl_tpm_header h;
    t->cc = 0;
    t->n_used = 0;
    t->start_plain = false;
    t->flush = 0;
    if (tl_tpm_header_parse(cmd, len, &h, NULL) < 0)
        return;
    t->cc = h.code;
    struct tl_tpm_cmd c;
    if (h.code == TPM2_CC_StartAuthSession) {
        struct tl_tpm_start_session ss;
        t->start_plain = tl_tpm_cmd_parse(cmd, len, 2, &c, NULL) == 0 &&
                         tl_tpm_start_session_params(&c, &ss, NULL) == 0 &&
                         c.handles[0] == TPM2_RH_NULL && c.handles[1] == TPM2_RH_NULL &&
                         !ss.salted && ss.session_type == TPM2_SE_HMAC &&
                         ss.auth_hash == TPM2_ALG_SHA256;
    }
    if (h.code == TPM2_CC_FlushContext && tl_tpm_cmd_parse(cmd, len, 0, &c, NULL) == 0 &&
        c.params_len == 4)
        t->flush = (uint32_t)c.params[0] << 24 | (uint32_t)c.params[1] << 16 |
                   (uint32_t)c.params[2] << 8 | c.params[3];
    if (h.tag != TPM2_ST_SESSIONS)
        return;
    for (size_t n = 0; n <= TL_TPM_MAX_HANDLES; n++) {
        if (tl_tpm_cmd_parse(cmd, len, n, &c, NULL) < 0)
            continue;
        bool ok = true;
        for (size_t i = 0; i < c.n_sessions; i++)
            ok = ok && session_handle(c.sessions[i].handle);
        if (!ok)
            continue;
        for (size_t i = 0; i < c.n_sessions; i++) {
            t->used[i] = c.sessions[i].handle;
            t->used_attrs[i] = c.sessions[i].attributes;
        }
        t->n_used = c.n_sessions;
        return;
    }
}

void tlh_pv_sessions_response(struct tlh_pv_sessions *t, const uint8_t *rsp, size_t len)
{
    struct tl_tpm_rsp r;
    if (!t->cc || tl_tpm_rsp_parse(rsp, len, tl_tpm_rsp_handles(t->cc), &r, NULL) < 0 ||
        r.hdr.code != TPM2_RC_SUCCESS)
        return; /* an error rolls no nonce */
    if (t->cc == TPM2_CC_Startup) {
        t->n = 0;
        return;
    }
    if (t->cc == TPM2_CC_FlushContext)
        tlh_pv_sessions_forget(t, t->flush);
    if (t->cc == TPM2_CC_StartAuthSession && r.n_handles == 1) {
        const uint8_t *nonce = r.params + 2;
        uint16_t size = r.params_len >= 2 ? (uint16_t)(r.params[0] << 8 | r.params[1]) : 0;
        if (r.params_len >= 2 && (size_t)size + 2 <= r.params_len)
            remember(t, r.handles[0], t->start_plain, nonce, size);
    }
    for (size_t i = 0; i < t->n_used && i < r.n_sessions; i++) {
        if (t->used[i] == TPM2_RS_PW || !tlh_pv_sessions_find(t, t->used[i]))
            continue;
        if (!(t->used_attrs[i] & TPMA_SESSION_CONTINUESESSION))
            tlh_pv_sessions_forget(t, t->used[i]);
        else
            remember(t, t->used[i], tlh_pv_sessions_find(t, t->used[i])->plain, r.sessions[i].nonce,
                     r.sessions[i].nonce_size);
    }
}
