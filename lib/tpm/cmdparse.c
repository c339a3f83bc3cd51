/* TPM 2.0 commands and responses on the wire (tpmcmd.h): the parsing a
 * relay between a guest and its vTPM does on guest bytes, and the few
 * responses it builds. Guest-controlled input: every read is preceded by a
 * check of what is left, and a command must be consumed exactly (its
 * commandSize, its authorizationSize, its parameters). */
#include "tl/tpmcmd.h"

#include <errno.h>
#include <openssl/evp.h>
#include <string.h>
#include <tss2/tss2_mu.h>

/* A cursor over a buffer: reads fail once the bytes run out. */
struct rd {
    const uint8_t *p;
    size_t len, at;
};

static int rd_u8(struct rd *r, uint8_t *v)
{
    if (r->len - r->at < 1)
        return -EBADMSG;
    *v = r->p[r->at++];
    return 0;
}

static int rd_u16(struct rd *r, uint16_t *v)
{
    if (r->len - r->at < 2)
        return -EBADMSG;
    *v = (uint16_t)(r->p[r->at] << 8 | r->p[r->at + 1]);
    r->at += 2;
    return 0;
}

static int rd_u32(struct rd *r, uint32_t *v)
{
    if (r->len - r->at < 4)
        return -EBADMSG;
    const uint8_t *b = r->p + r->at;
    *v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    r->at += 4;
    return 0;
}

/* A TPM2B: its size, then that many bytes. */
static int rd_2b(struct rd *r, const uint8_t **data, uint16_t *size)
{
    if (rd_u16(r, size) < 0 || r->len - r->at < *size)
        return -EBADMSG;
    *data = r->p + r->at;
    r->at += *size;
    return 0;
}

static void put_u16(uint8_t *b, uint16_t v)
{
    b[0] = (uint8_t)(v >> 8);
    b[1] = (uint8_t)v;
}

static void put_u32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)(v >> 24);
    b[1] = (uint8_t)(v >> 16);
    b[2] = (uint8_t)(v >> 8);
    b[3] = (uint8_t)v;
}

int tl_tpm_header_parse(const uint8_t *buf, size_t len, struct tl_tpm_header *h,
                        struct tl_error *err)
{
    struct rd r = {buf, len, 0};
    if (len < TL_TPM_HEADER_SIZE)
        return tl_error_set(err, -EBADMSG, 0, "TPM header: %zu bytes, a header has 10", len);
    rd_u16(&r, &h->tag);
    rd_u32(&r, &h->size);
    rd_u32(&r, &h->code);
    return 0;
}

int tl_tpm_cc_handles(uint32_t cc)
{
    switch (cc) {
    case TPM2_CC_NV_ReadPublic:
        return 1; /* nvIndex */
    case TPM2_CC_NV_Read:
    case TPM2_CC_NV_Write:
        return 2; /* authHandle, nvIndex */
    default:
        return -1;
    }
}

int tl_tpm_cmd_parse(const uint8_t *buf, size_t len, size_t n_handles, struct tl_tpm_cmd *cmd,
                     struct tl_error *err)
{
    *cmd = (struct tl_tpm_cmd){0};
    int r = tl_tpm_header_parse(buf, len, &cmd->hdr, err);
    if (r < 0)
        return r;
    if (cmd->hdr.size != len)
        return tl_error_set(err, -EBADMSG, 2, "command: commandSize %u, %zu bytes given",
                            cmd->hdr.size, len);
    if (cmd->hdr.tag != TPM2_ST_NO_SESSIONS && cmd->hdr.tag != TPM2_ST_SESSIONS)
        return tl_error_set(err, -EBADMSG, 0, "command: tag 0x%04x", cmd->hdr.tag);
    if (n_handles > TL_TPM_MAX_HANDLES)
        return tl_error_set_nopos(err, -EINVAL, "command: %zu handles", n_handles);
    struct rd rd = {buf, len, TL_TPM_HEADER_SIZE};
    for (size_t i = 0; i < n_handles; i++)
        if (rd_u32(&rd, &cmd->handles[i]) < 0)
            return tl_error_set(err, -EBADMSG, rd.at, "command: handle %zu missing", i + 1);
    cmd->n_handles = n_handles;
    if (cmd->hdr.tag == TPM2_ST_SESSIONS) {
        uint32_t auth_size;
        if (rd_u32(&rd, &auth_size) < 0 || auth_size > rd.len - rd.at)
            return tl_error_set(err, -EBADMSG, rd.at, "command: authorizationSize past the end");
        /* the sessions, read from a cursor that ends where the area does */
        struct rd s = {buf, rd.at + auth_size, rd.at};
        while (s.at < s.len) {
            if (cmd->n_sessions == TL_TPM_MAX_SESSIONS)
                return tl_error_set(err, -EBADMSG, s.at, "command: more than %u sessions",
                                    TL_TPM_MAX_SESSIONS);
            struct tl_tpm_session *ss = &cmd->sessions[cmd->n_sessions];
            if (rd_u32(&s, &ss->handle) < 0 || rd_2b(&s, &ss->nonce, &ss->nonce_size) < 0 ||
                rd_u8(&s, &ss->attributes) < 0 || rd_2b(&s, &ss->hmac, &ss->hmac_size) < 0)
                return tl_error_set(err, -EBADMSG, s.at,
                                    "command: session %zu overruns authorizationSize",
                                    cmd->n_sessions + 1);
            cmd->n_sessions++;
        }
        if (cmd->n_sessions == 0)
            return tl_error_set(err, -EBADMSG, rd.at, "command: TPM_ST_SESSIONS without a session");
        rd.at = s.at;
    }
    cmd->params = buf + rd.at;
    cmd->params_len = len - rd.at;
    return 0;
}

size_t tl_tpm_rsp_handles(uint32_t cc)
{
    switch (cc) {
    case TPM2_CC_CreatePrimary:
    case TPM2_CC_Load:
    case TPM2_CC_LoadExternal:
    case TPM2_CC_CreateLoaded:
    case TPM2_CC_ContextLoad:
    case TPM2_CC_StartAuthSession:
    case TPM2_CC_HMAC_Start:
    case TPM2_CC_HashSequenceStart:
        return 1;
    default:
        return 0;
    }
}

int tl_tpm_rsp_parse(const uint8_t *buf, size_t len, size_t n_handles, struct tl_tpm_rsp *rsp,
                     struct tl_error *err)
{
    *rsp = (struct tl_tpm_rsp){0};
    int r = tl_tpm_header_parse(buf, len, &rsp->hdr, err);
    if (r < 0)
        return r;
    if (rsp->hdr.size != len)
        return tl_error_set(err, -EBADMSG, 2, "response: responseSize %u, %zu bytes given",
                            rsp->hdr.size, len);
    if (rsp->hdr.code != TPM2_RC_SUCCESS)
        return len == TL_TPM_HEADER_SIZE
                   ? 0
                   : tl_error_set(err, -EBADMSG, 10, "response: an error with a body");
    if (n_handles > 1)
        return tl_error_set_nopos(err, -EINVAL, "response: %zu handles", n_handles);
    struct rd rd = {buf, len, TL_TPM_HEADER_SIZE};
    if (n_handles && rd_u32(&rd, &rsp->handles[0]) < 0)
        return tl_error_set(err, -EBADMSG, rd.at, "response: handle missing");
    rsp->n_handles = n_handles;
    if (rsp->hdr.tag == TPM2_ST_NO_SESSIONS) {
        rsp->params = buf + rd.at;
        rsp->params_len = len - rd.at;
        return 0;
    }
    if (rsp->hdr.tag != TPM2_ST_SESSIONS)
        return tl_error_set(err, -EBADMSG, 0, "response: tag 0x%04x", rsp->hdr.tag);
    uint32_t psize;
    if (rd_u32(&rd, &psize) < 0 || psize > rd.len - rd.at)
        return tl_error_set(err, -EBADMSG, rd.at, "response: parameterSize past the end");
    rsp->params = buf + rd.at;
    rsp->params_len = psize;
    rd.at += psize;
    while (rd.at < rd.len) {
        if (rsp->n_sessions == TL_TPM_MAX_SESSIONS)
            return tl_error_set(err, -EBADMSG, rd.at, "response: more than %u sessions",
                                TL_TPM_MAX_SESSIONS);
        struct tl_tpm_session *ss = &rsp->sessions[rsp->n_sessions];
        if (rd_2b(&rd, &ss->nonce, &ss->nonce_size) < 0 || rd_u8(&rd, &ss->attributes) < 0 ||
            rd_2b(&rd, &ss->hmac, &ss->hmac_size) < 0)
            return tl_error_set(err, -EBADMSG, rd.at, "response: session %zu truncated",
                                rsp->n_sessions + 1);
        rsp->n_sessions++;
    }
    return 0;
}

int tl_tpm_start_session_params(const struct tl_tpm_cmd *cmd, struct tl_tpm_start_session *out,
                                struct tl_error *err)
{
    struct rd r = {cmd->params, cmd->params_len, 0};
    const uint8_t *nonce, *salt;
    uint16_t nonce_size, salt_size, bits, mode;
    *out = (struct tl_tpm_start_session){0};
    if (rd_2b(&r, &nonce, &nonce_size) < 0 || rd_2b(&r, &salt, &salt_size) < 0 ||
        rd_u8(&r, &out->session_type) < 0 || rd_u16(&r, &out->symmetric) < 0)
        return tl_error_set_nopos(err, -EBADMSG, "StartAuthSession: parameters truncated");
    /* TPMT_SYM_DEF: keyBits and mode for a block cipher, a hash for XOR */
    if (out->symmetric == TPM2_ALG_XOR    ? rd_u16(&r, &bits) < 0
        : out->symmetric != TPM2_ALG_NULL ? rd_u16(&r, &bits) < 0 || rd_u16(&r, &mode) < 0
                                          : false)
        return tl_error_set_nopos(err, -EBADMSG, "StartAuthSession: symmetric truncated");
    if (rd_u16(&r, &out->auth_hash) < 0 || r.at != r.len)
        return tl_error_set_nopos(err, -EBADMSG, "StartAuthSession: parameters malformed");
    out->salted = salt_size != 0;
    return 0;
}

int tl_tpm_nv_read_params(const struct tl_tpm_cmd *cmd, uint16_t *size, uint16_t *offset,
                          struct tl_error *err)
{
    struct rd r = {cmd->params, cmd->params_len, 0};
    if (rd_u16(&r, size) < 0 || rd_u16(&r, offset) < 0 || r.at != r.len)
        return tl_error_set_nopos(err, -EBADMSG, "NV_Read: parameters are %zu bytes, not 4",
                                  cmd->params_len);
    return 0;
}

int tl_tpm_nv_write_params(const struct tl_tpm_cmd *cmd, const uint8_t **data, uint16_t *len,
                           uint16_t *offset, struct tl_error *err)
{
    struct rd r = {cmd->params, cmd->params_len, 0};
    if (rd_2b(&r, data, len) < 0 || rd_u16(&r, offset) < 0 || r.at != r.len)
        return tl_error_set_nopos(err, -EBADMSG, "NV_Write: parameters malformed (%zu bytes)",
                                  cmd->params_len);
    return 0;
}

int tl_tpm_nv_name(const TPMS_NV_PUBLIC *pub, uint8_t name[TL_TPM_NAME_SHA256],
                   struct tl_error *err)
{
    uint8_t buf[sizeof(TPMS_NV_PUBLIC)];
    size_t off = 0;
    unsigned n = 0;
    if (pub->nameAlg != TPM2_ALG_SHA256)
        return tl_error_set_nopos(err, -EOPNOTSUPP, "NV public: nameAlg 0x%04x is not SHA-256",
                                  pub->nameAlg);
    if (Tss2_MU_TPMS_NV_PUBLIC_Marshal(pub, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS)
        return tl_error_set_nopos(err, -EINVAL, "NV public: does not marshal");
    put_u16(name, TPM2_ALG_SHA256);
    if (!EVP_Digest(buf, off, name + 2, &n, EVP_sha256(), NULL) || n != 32)
        return tl_error_set_nopos(err, -ENOMEM, "NV public: hashing the Name failed");
    return 0;
}

/* ---- builders ---- */

static void put_header(uint8_t *out, uint16_t tag, size_t size, uint32_t code)
{
    put_u16(out, tag);
    put_u32(out + 2, (uint32_t)size);
    put_u32(out + 6, code);
}

int tl_tpm_rsp_error(uint32_t rc, uint8_t *out, size_t cap)
{
    if (cap < TL_TPM_HEADER_SIZE)
        return -ENOSPC;
    put_header(out, TPM2_ST_NO_SESSIONS, TL_TPM_HEADER_SIZE, rc);
    return TL_TPM_HEADER_SIZE;
}

int tl_tpm_rsp_nv_read_public(const TPMS_NV_PUBLIC *pub, uint8_t *out, size_t cap,
                              struct tl_error *err)
{
    uint8_t name[TL_TPM_NAME_SHA256];
    int r = tl_tpm_nv_name(pub, name, err);
    if (r < 0)
        return r;
    TPM2B_NV_PUBLIC p = {.nvPublic = *pub};
    size_t off = TL_TPM_HEADER_SIZE;
    if (cap < off)
        return tl_error_set_nopos(err, -ENOSPC, "NV_ReadPublic: response buffer too small");
    if (Tss2_MU_TPM2B_NV_PUBLIC_Marshal(&p, out, cap, &off) != TSS2_RC_SUCCESS ||
        cap - off < 2 + sizeof(name))
        return tl_error_set_nopos(err, -ENOSPC, "NV_ReadPublic: response buffer too small");
    put_u16(out + off, sizeof(name));
    memcpy(out + off + 2, name, sizeof(name));
    off += 2 + sizeof(name);
    put_header(out, TPM2_ST_NO_SESSIONS, off, TPM2_RC_SUCCESS);
    return (int)off;
}

int tl_tpm_rsp_nv_read(const uint8_t *data, uint16_t len, const struct tl_tpm_session *s,
                       uint8_t *out, size_t cap)
{
    static const struct tl_tpm_session pw = {.attributes = TPMA_SESSION_CONTINUESESSION};
    if (!s)
        s = &pw;
    /* header, parameterSize, TPM2B data, nonce, attributes (1), hmac */
    size_t total =
        TL_TPM_HEADER_SIZE + 4 + 2 + (size_t)len + 2 + s->nonce_size + 1 + 2 + s->hmac_size;
    if (cap < total)
        return -ENOSPC;
    put_header(out, TPM2_ST_SESSIONS, total, TPM2_RC_SUCCESS);
    put_u32(out + 10, 2u + len);
    put_u16(out + 14, len);
    if (len)
        memcpy(out + 16, data, len);
    uint8_t *p = out + 16 + len;
    put_u16(p, s->nonce_size);
    if (s->nonce_size)
        memcpy(p + 2, s->nonce, s->nonce_size);
    p += 2 + s->nonce_size;
    *p++ = s->attributes;
    put_u16(p, s->hmac_size);
    if (s->hmac_size)
        memcpy(p + 2, s->hmac, s->hmac_size);
    return (int)total;
}

int tl_tpm_cmd_flush(uint32_t handle, uint8_t *out, size_t cap)
{
    if (cap < TL_TPM_HEADER_SIZE + 4)
        return -ENOSPC;
    put_header(out, TPM2_ST_NO_SESSIONS, TL_TPM_HEADER_SIZE + 4, TPM2_CC_FlushContext);
    put_u32(out + 10, handle);
    return TL_TPM_HEADER_SIZE + 4;
}

int tl_tpm_cmd_nv_read(uint32_t auth_handle, uint32_t index, uint16_t size, uint16_t offset,
                       uint8_t *out, size_t cap)
{
    /* header, 2 handles, authorizationSize, password session (9), size, offset */
    size_t total = TL_TPM_HEADER_SIZE + 8 + 4 + 9 + 4;
    if (cap < total)
        return -ENOSPC;
    put_header(out, TPM2_ST_SESSIONS, total, TPM2_CC_NV_Read);
    put_u32(out + 10, auth_handle);
    put_u32(out + 14, index);
    put_u32(out + 18, 9);
    put_u32(out + 22, TPM2_RS_PW);
    put_u16(out + 26, 0);
    out[28] = 0;
    put_u16(out + 29, 0);
    put_u16(out + 31, size);
    put_u16(out + 33, offset);
    return (int)total;
}

int tl_tpm_rsp_nv_read_parse(const uint8_t *rsp, size_t len, const uint8_t **data, uint16_t *dlen,
                             struct tl_error *err)
{
    struct tl_tpm_header h;
    int r = tl_tpm_header_parse(rsp, len, &h, err);
    if (r < 0)
        return r;
    if (h.size != len)
        return tl_error_set(err, -EBADMSG, 2, "NV_Read response: responseSize %u, %zu bytes",
                            h.size, len);
    if (h.code != TPM2_RC_SUCCESS)
        return tl_error_set_nopos(err, -EIO, "NV_Read: response code 0x%x", h.code);
    if (h.tag != TPM2_ST_SESSIONS)
        return tl_error_set(err, -EBADMSG, 0, "NV_Read response: tag 0x%04x", h.tag);
    struct rd rd = {rsp, len, TL_TPM_HEADER_SIZE};
    uint32_t psize;
    if (rd_u32(&rd, &psize) < 0 || psize > rd.len - rd.at)
        return tl_error_set(err, -EBADMSG, rd.at, "NV_Read response: parameterSize past the end");
    struct rd p = {rsp, rd.at + psize, rd.at};
    if (rd_2b(&p, data, dlen) < 0 || p.at != p.len)
        return tl_error_set(err, -EBADMSG, rd.at, "NV_Read response: parameters malformed");
    return 0;
}
