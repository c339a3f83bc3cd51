/* TPM 2.0 commands and responses on the wire, as a relay between a guest
 * and its vTPM needs them (pure: bytes in, results out).
 *
 * A command (TPM 2.0 Part 1, 18.2-18.4; Part 3, section 4): tag (2),
 * commandSize (4), commandCode (4), the command's handles (4 each, their
 * number fixed by the command code), then with tag TPM_ST_SESSIONS an
 * authorizationSize (4) and that many bytes of sessions (sessionHandle 4,
 * nonce TPM2B, sessionAttributes 1, hmac TPM2B), then the parameters. A
 * response: tag, responseSize, responseCode, then (success only) its
 * handles, with TPM_ST_SESSIONS a parameterSize (4), the parameters and
 * the session responses.
 *
 * Every parse checks each length against what is left before reading, and
 * the whole: commandSize must equal the bytes given, the sessions must
 * fill authorizationSize exactly. The parsed structures point into the
 * caller's buffer (nothing is allocated). The builders write into caller
 * buffers and say how many bytes they used. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <tss2/tss2_tpm2_types.h>

#include "tl/error.h"

#define TL_TPM_HEADER_SIZE  10u
#define TL_TPM_MAX_HANDLES  3u
#define TL_TPM_MAX_SESSIONS 3u
#define TL_TPM_NAME_SHA256  34u /* nameAlg (2) + SHA-256 */

struct tl_tpm_header {
    uint16_t tag;  /* TPM2_ST_NO_SESSIONS or TPM2_ST_SESSIONS */
    uint32_t size; /* commandSize or responseSize */
    uint32_t code; /* commandCode or responseCode */
};

struct tl_tpm_session {
    uint32_t handle; /* TPM2_RS_PW, an HMAC or a policy session */
    uint8_t attributes;
    const uint8_t *nonce; /* nonceCaller in a command, nonceTPM in a response */
    uint16_t nonce_size;
    const uint8_t *hmac; /* the password, for TPM2_RS_PW */
    uint16_t hmac_size;
};

struct tl_tpm_cmd {
    struct tl_tpm_header hdr;
    uint32_t handles[TL_TPM_MAX_HANDLES];
    size_t n_handles;
    struct tl_tpm_session sessions[TL_TPM_MAX_SESSIONS];
    size_t n_sessions;
    const uint8_t *params;
    size_t params_len;
};

/* The 10-byte header of a command or a response (len >= 10; no check of
 * the values: the caller decides what a size means). -EBADMSG when short. */
int tl_tpm_header_parse(const uint8_t *buf, size_t len, struct tl_tpm_header *h,
                        struct tl_error *err);

/* How many handles precede the sessions or parameters of a command, for
 * the commands this module knows (NV_ReadPublic, NV_Read, NV_Write); -1
 * for any other code. */
int tl_tpm_cc_handles(uint32_t cc);

/* A whole command of n_handles handles: commandSize equal to len, a known
 * tag, at most TL_TPM_MAX_SESSIONS sessions filling authorizationSize
 * exactly, no sessions area for TPM2_ST_NO_SESSIONS. -EBADMSG with what
 * was wrong and where. */
int tl_tpm_cmd_parse(const uint8_t *buf, size_t len, size_t n_handles, struct tl_tpm_cmd *cmd,
                     struct tl_error *err);

/* A response of n_handles handles (tl_tpm_rsp_handles): responseSize
 * equal to len; for success, its handles, parameters and (TPM2_ST_SESSIONS)
 * the session responses filling the rest exactly. An error response is its
 * header alone. */
struct tl_tpm_rsp {
    struct tl_tpm_header hdr;
    uint32_t handles[1];
    size_t n_handles;
    const uint8_t *params;
    size_t params_len;
    struct tl_tpm_session sessions[TL_TPM_MAX_SESSIONS]; /* handle not set */
    size_t n_sessions;
};
int tl_tpm_rsp_parse(const uint8_t *buf, size_t len, size_t n_handles, struct tl_tpm_rsp *rsp,
                     struct tl_error *err);
/* How many handles a command's successful response starts with: 1 for
 * the commands that create an object, a sequence or a session
 * (CreatePrimary, Load, LoadExternal, CreateLoaded, ContextLoad,
 * StartAuthSession, HMAC_Start, HashSequenceStart), else 0. */
size_t tl_tpm_rsp_handles(uint32_t cc);

/* TPM2_StartAuthSession's parameters (its handles are tpmKey, bind). */
struct tl_tpm_start_session {
    uint8_t session_type; /* TPM2_SE_HMAC, _POLICY, _TRIAL */
    uint16_t auth_hash;   /* the session's hash */
    uint16_t symmetric;   /* TPM2_ALG_NULL: no parameter encryption */
    bool salted;          /* an encryptedSalt was given */
};
int tl_tpm_start_session_params(const struct tl_tpm_cmd *cmd, struct tl_tpm_start_session *out,
                                struct tl_error *err);

/* ---- session authorization, SHA-256 (cmdauth.c; Part 1, 19.6) ---- */

/* cpHash = H(commandCode || Name of each handle || parameters). */
int tl_tpm_cp_hash(uint32_t cc, const uint8_t *const names[], const size_t name_lens[],
                   size_t n_names, const uint8_t *params, size_t params_len, uint8_t out[32]);
/* rpHash = H(responseCode || commandCode || parameters). */
int tl_tpm_rp_hash(uint32_t rc, uint32_t cc, const uint8_t *params, size_t params_len,
                   uint8_t out[32]);
/* HMAC(key, pHash || nonceNewer || nonceOlder || sessionAttributes): the
 * command's (newer = nonceCaller) or the response's (newer = nonceTPM). */
int tl_tpm_session_hmac(const uint8_t *key, size_t key_len, const uint8_t p_hash[32],
                        const uint8_t *newer, size_t newer_len, const uint8_t *older,
                        size_t older_len, uint8_t attributes, uint8_t out[32]);

/* TPM2_NV_Read's parameters: size, offset (and nothing after them). */
int tl_tpm_nv_read_params(const struct tl_tpm_cmd *cmd, uint16_t *size, uint16_t *offset,
                          struct tl_error *err);
/* TPM2_NV_Write's parameters: data (TPM2B_MAX_NV_BUFFER), offset. */
int tl_tpm_nv_write_params(const struct tl_tpm_cmd *cmd, const uint8_t **data, uint16_t *len,
                           uint16_t *offset, struct tl_error *err);

/* The Name of an NV index: nameAlg || H(marshalled TPMS_NV_PUBLIC) (Part 1,
 * 16: "Names"). SHA-256 only: -EOPNOTSUPP for another nameAlg. */
int tl_tpm_nv_name(const TPMS_NV_PUBLIC *pub, uint8_t name[TL_TPM_NAME_SHA256],
                   struct tl_error *err);

/* ---- builders; each returns the bytes written or -ENOSPC ---- */

/* A response with only a header: responseCode rc (an error). */
int tl_tpm_rsp_error(uint32_t rc, uint8_t *out, size_t cap);
/* TPM2_NV_ReadPublic's response: the public area and its Name. */
int tl_tpm_rsp_nv_read_public(const TPMS_NV_PUBLIC *pub, uint8_t *out, size_t cap,
                              struct tl_error *err);
/* TPM2_NV_Read's response: parameterSize, the data, then the session's
 * response: s, or for a password session (s NULL) an empty nonce,
 * continueSession and an empty hmac (Part 1, 19.6.8). */
int tl_tpm_rsp_nv_read(const uint8_t *data, uint16_t len, const struct tl_tpm_session *s,
                       uint8_t *out, size_t cap);
/* TPM2_FlushContext(handle). */
int tl_tpm_cmd_flush(uint32_t handle, uint8_t *out, size_t cap);
/* TPM2_NV_Read of size bytes at offset, authorized by auth_handle with an
 * empty password. */
int tl_tpm_cmd_nv_read(uint32_t auth_handle, uint32_t index, uint16_t size, uint16_t offset,
                       uint8_t *out, size_t cap);

/* The data of a successful TPM2_NV_Read response (points into rsp). -EIO
 * with the response code when the TPM refused; -EBADMSG when malformed. */
int tl_tpm_rsp_nv_read_parse(const uint8_t *rsp, size_t len, const uint8_t **data, uint16_t *dlen,
                             struct tl_error *err);
