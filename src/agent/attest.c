/* Enrolment and attestation with tld (docs/image.md, "tl-agent"). BASE is
 * the config's url without its "/report": http://10.0.2.2:PORT/v1/nodes/NAME.
 * Every request is a JSON POST with the node's bearer token.
 *
 *   enrol   POST BASE/enroll   {"ek_type", "ek_cert", "ek_public", "ak_public"}
 *           <- {"challenge", "credential_blob", "encrypted_secret"}
 *           TPM2_ActivateCredential(AK, EK) -> the secret
 *           POST BASE/activate {"challenge", "secret"} <- {"enrolled": true, "ak_name"}
 *   attest  POST BASE/nonce {} <- {"nonce": hex, "expires_in"}
 *           TPM2_Quote(AK, nonce, sha256 PCRs), PCR_Read of the same PCRs
 *           POST BASE/attest {"nonce", "quote", "signature", "pcrs", "eventlog"}
 *           <- {"verdict": "pass" | "fail", "findings": [...], "token", "attestation": N}
 *
 * Binary values are standard base64 of the TPM's marshalled structures
 * (TPM 2.0 Part 2 wire format, big-endian, TPM2B sizes included), except
 * "quote": the TPMS_ATTEST bytes the signature covers, without the TPM2B
 * size. The nonce goes back as the string it came in.
 *
 * Decisions: 404 on /enroll is an older tld (no attestation: the agent
 * keeps running as before). 401 or 404 on /nonce or /attest means the
 * service no longer knows the AK: enrol again at once, then attest. Any
 * failure resets the state (the AK is flushed, the TPM closed), so the next
 * period starts from a new enrolment; with --once it is the exit status.
 * The TPM connection stays open between periods, holding the AK (a node's
 * /dev/tpmrm0 keeps it for this connection alone).
 *
 * On a confidential VM (the TPM has the HCL report index, hcl.c) the AK is
 * the platform's, at 0x81000003, the one the HCL report's runtime JSON
 * names (HCLAkPub); it is enrolled the same way. Each attestation writes
 * the service's nonce to the HCL user-data index, reads the fresh HCL
 * report and sends, beside the usual fields, "tee_evidence": the evidence
 * in trustee's az-snp-vtpm / az-tdx-vtpm form, version 2 (the nonce at the
 * start of user-data), over the same quote:
 *   {"version": 2, "tpm_quote": {"signature", "message", "pcrs": [hex]},
 *    "hcl_report": b64url, "vcek": b64url DER | "td_quote": b64url}
 * The VCEK (SEV-SNP) comes from the platform as Azure's THIM hands it out
 * (POST BASE/tee/certification {} <- {"vcek": b64url DER}), the TD quote
 * (TDX) from its quoting service as Azure's IMDS acc/tdquote does it from
 * the TDREPORT (POST BASE/tee/tdquote {"report": b64url} <- {"quote":
 * b64url}). */
#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <tss2/tss2_mu.h>

#include "agent.h"
#include "tl/azure.h"
#include "tl/base64.h"
#include "tl/util.h"
#include "tlhost/file.h"

#define CHALLENGE_MAX 1024

enum step_result {
    STEP_OK = 0,
    STEP_UNSUPPORTED = 1, /* 404 on /enroll */
    STEP_LOST = 2,        /* 401 / 404 on /nonce or /attest */
};

struct attest_state {
    const struct agent_config *cfg;
    const struct agent_attest_options *o;
    char base[AGENT_URL_MAX + 1];
    struct agent_tpm tpm; /* tpm.esys NULL: not open */
    ESYS_TR ak;
    TPM2B_PUBLIC ak_public;
    char ak_name[2 * sizeof(TPMU_NAME) + 1]; /* hex of the TPM2B_NAME's bytes */
    bool enrolled;
    int hcl; /* -1 not looked at yet, 0 no, 1 a confidential VM (hcl.c) */
    char err[768];
};

__attribute__((format(printf, 2, 3))) static int fail(struct attest_state *st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->err, sizeof(st->err), fmt, ap);
    va_end(ap);
    return -EPROTO;
}

static void reset(struct attest_state *st)
{
    if (st->tpm.esys && st->hcl == 1 && st->ak != ESYS_TR_NONE)
        Esys_TR_Close(st->tpm.esys, &st->ak); /* the platform's: persistent */
    if (st->tpm.esys)
        agent_tpm_flush(st->tpm.esys, &st->ak);
    agent_tpm_close(&st->tpm);
    st->ak = ESYS_TR_NONE;
    st->ak_name[0] = 0;
    st->enrolled = false;
}

/* POSTs body (taken) to BASE/path. Returns STEP_OK with *answer the JSON
 * object of a 2xx answer; a positive HTTP status for any other answer (the
 * reason in st->err); < 0 when there was no answer or the answer does not
 * parse. */
static int call(struct attest_state *st, const char *path, json_t *body, json_t **answer)
{
    *answer = NULL;
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text)
        return fail(st, "%s: out of memory", path);
    char url[AGENT_URL_MAX + 32];
    snprintf(url, sizeof(url), "%s/%s", st->base, path);
    struct agent_reply reply;
    int r = agent_post(url, st->cfg->token, text, st->o->retry_for, &reply);
    free(text);
    if (r < 0) {
        fail(st, "%s: %s", path, reply.reason);
        agent_reply_done(&reply);
        return -EIO;
    }
    if (reply.status < 200 || reply.status > 299) {
        fail(st, "%s: %s", path, reply.reason);
        r = (int)reply.status;
        agent_reply_done(&reply);
        return r;
    }
    json_error_t jerr;
    json_t *root = reply.truncated || !reply.body
                       ? NULL
                       : json_loadb(reply.body, reply.len, JSON_REJECT_DUPLICATES, &jerr);
    agent_reply_done(&reply);
    if (!json_is_object(root)) {
        json_decref(root);
        return fail(st, "%s: the answer is not a JSON object", path);
    }
    *answer = root;
    return STEP_OK;
}

/* A string member of at most max bytes, without NUL; NULL if not. */
static const char *member_string(json_t *o, const char *key, size_t max)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v) || json_string_length(v) > max ||
        strlen(json_string_value(v)) != json_string_length(v))
        return NULL;
    return json_string_value(v);
}

static json_t *marshal_public(const TPM2B_PUBLIC *pub)
{
    uint8_t buf[sizeof(TPM2B_PUBLIC)];
    size_t off = 0;
    if (Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS)
        return NULL;
    return tl_base64_json(buf, off);
}

/* A base64 member that must decode to exactly one marshalled TPM2B. */
static int member_id_object(struct attest_state *st, json_t *o, TPM2B_ID_OBJECT *out)
{
    const char *s = member_string(o, "credential_blob", 4096);
    uint8_t *buf = NULL;
    size_t len = 0, off = 0;
    int ok = s && tl_base64_decode_string(s, &buf, &len) == 0 &&
             Tss2_MU_TPM2B_ID_OBJECT_Unmarshal(buf, len, &off, out) == TSS2_RC_SUCCESS &&
             off == len;
    free(buf);
    return ok ? 0 : fail(st, "enroll: \"credential_blob\" is not a base64 TPM2B_ID_OBJECT");
}

static int member_secret(struct attest_state *st, json_t *o, TPM2B_ENCRYPTED_SECRET *out)
{
    const char *s = member_string(o, "encrypted_secret", 4096);
    uint8_t *buf = NULL;
    size_t len = 0, off = 0;
    int ok = s && tl_base64_decode_string(s, &buf, &len) == 0 &&
             Tss2_MU_TPM2B_ENCRYPTED_SECRET_Unmarshal(buf, len, &off, out) == TSS2_RC_SUCCESS &&
             off == len;
    free(buf);
    return ok ? 0 : fail(st, "enroll: \"encrypted_secret\" is not a base64 TPM2B_ENCRYPTED_SECRET");
}

/* Opens the TPM, makes the AK if there is none, recreates the EK; shows
 * both to the service, answers its challenge. */
static int enrol(struct attest_state *st)
{
    const struct agent_attest_options *o = st->o;
    int r;
    if (!st->tpm.esys) {
        r = agent_tpm_open(o->tcti, &st->tpm, st->err, sizeof(st->err));
        if (r > 0)
            return fail(st, "no TPM behind %s", o->tcti);
        if (r < 0)
            return r;
    }
    ESYS_CONTEXT *esys = st->tpm.esys;
    if (st->hcl < 0)
        st->hcl = agent_hcl_present(esys);
    ESYS_TR ek;
    TPM2B_PUBLIC ek_public;
    r = agent_ek_create(esys, o->ek, &ek, &ek_public, st->err, sizeof(st->err));
    if (r < 0)
        return r;
    if (st->ak == ESYS_TR_NONE) {
        TPM2B_NAME name;
        r = st->hcl == 1 ? agent_ak_persistent(esys, AGENT_HCL_AK_HANDLE, &st->ak, &st->ak_public,
                                               &name, st->err, sizeof(st->err))
                         : agent_ak_create(esys, ek, o->ak, &st->ak, &st->ak_public, &name, st->err,
                                           sizeof(st->err));
        if (r < 0) {
            agent_tpm_flush(esys, &ek);
            return r;
        }
        tl_hex_encode(name.name, name.size, st->ak_name);
    }

    json_t *body = json_pack(
        "{s:s, s:o, s:o, s:o}", "ek_type", tl_ek_type_name(o->ek), "ek_cert",
        o->ek_cert ? tl_base64_json(o->ek_cert->der, o->ek_cert->len) : json_null(), "ek_public",
        marshal_public(&ek_public), "ak_public", marshal_public(&st->ak_public));
    json_t *answer;
    r = call(st, "enroll", body, &answer);
    if (r != STEP_OK) {
        agent_tpm_flush(esys, &ek);
        return r == 404 ? STEP_UNSUPPORTED : r > 0 ? -EACCES : r;
    }
    const char *challenge = member_string(answer, "challenge", CHALLENGE_MAX);
    TPM2B_ID_OBJECT blob;
    TPM2B_ENCRYPTED_SECRET secret;
    TPM2B_DIGEST recovered = {0};
    if (!challenge || !challenge[0])
        r = fail(st, "enroll: no \"challenge\" string");
    if (r == 0)
        r = member_id_object(st, answer, &blob);
    if (r == 0)
        r = member_secret(st, answer, &secret);
    if (r == 0)
        r = agent_ak_activate(esys, st->ak, ek, &blob, &secret, &recovered, st->err,
                              sizeof(st->err));
    agent_tpm_flush(esys, &ek);
    body = r == 0 ? json_pack("{s:s, s:o}", "challenge", challenge, "secret",
                              tl_base64_json(recovered.buffer, recovered.size))
                  : NULL;
    json_decref(answer);
    if (r < 0)
        return r;

    r = call(st, "activate", body, &answer);
    if (r != STEP_OK)
        return r > 0 ? -EACCES : r;
    const char *name = member_string(answer, "ak_name", sizeof(st->ak_name));
    if (!json_is_true(json_object_get(answer, "enrolled")))
        r = fail(st, "activate: the answer does not say \"enrolled\": true");
    else if (!name || strcasecmp(name, st->ak_name) != 0)
        r = fail(st, "activate: the service enrolled AK %.80s, not this one (%s)",
                 name ? name : "(none)", st->ak_name);
    json_decref(answer);
    if (r < 0)
        return r;
    st->enrolled = true;
    agent_say("enrolled ak=%.16s ek=%s", st->ak_name, tl_ek_type_name(o->ek));
    return STEP_OK;
}

static json_t *pcrs_json(const struct agent_quote *q)
{
    json_t *values = json_object();
    for (unsigned i = 0; values && i < TL_PCR_READ_PCRS; i++) {
        if (!(q->pcrs & (1u << i)))
            continue;
        char key[4], hex[2 * TL_PCR_READ_DIGEST + 1];
        snprintf(key, sizeof(key), "%u", i);
        tl_hex_encode(q->bank.value[i], q->bank.size, hex);
        if (json_object_set_new(values, key, json_string(hex)) < 0) {
            json_decref(values);
            values = NULL;
        }
    }
    return values ? json_pack("{s:o}", q->bank.name, values) : NULL;
}

static json_t *b64url(const uint8_t *p, size_t len)
{
    char *s = NULL;
    size_t n;
    if (tl_base64_encode(p, len, TL_BASE64_URL | TL_BASE64_NO_PAD, &s, &n) < 0)
        return NULL;
    json_t *j = json_stringn(s, n);
    free(s);
    return j;
}

static json_t *hex_json(const uint8_t *p, size_t len)
{
    char *s = malloc(2 * len + 1);
    if (!s)
        return NULL;
    tl_hex_encode(p, len, s);
    json_t *j = json_string(s);
    free(s);
    return j;
}

/* A member of a platform answer that must be base64url (the VCEK, the TD
 * quote), decoded into *out. */
static int answer_b64url(struct attest_state *st, json_t *answer, const char *path, const char *key,
                         uint8_t **out, size_t *len)
{
    const char *s = member_string(answer, key, 1u << 20);
    if (!s || tl_base64_decode(s, strlen(s), TL_BASE64_URL | TL_BASE64_PAD_OPTIONAL, out, len) < 0)
        return fail(st, "%s: no base64url \"%s\"", path, key);
    return 0;
}

/* The quote's PCR values as trustee's list: PCR i at index i, from 0 to the
 * highest quoted; a PCR between them that was not quoted is zeros (the
 * verifier hashes only the quoted ones). */
static json_t *quote_pcr_list(const struct agent_quote *q)
{
    json_t *list = json_array();
    static const uint8_t zero[TL_PCR_READ_DIGEST];
    unsigned top = 0;
    for (unsigned i = 0; i < TL_PCR_READ_PCRS; i++)
        if (q->pcrs & (1u << i))
            top = i + 1;
    for (unsigned i = 0; list && i < top; i++) {
        json_t *v = hex_json(q->pcrs & (1u << i) ? q->bank.value[i] : zero, q->bank.size);
        if (!v || json_array_append_new(list, v) < 0) {
            json_decref(list);
            list = NULL;
        }
    }
    return list;
}

/* The confidential VM's evidence (see the top): the HCL report carrying
 * the nonce, the quote made with the same nonce, and the hardware
 * collateral the platform hands out. */
static int tee_evidence(struct attest_state *st, const uint8_t *nonce, size_t n,
                        const struct agent_quote *q, json_t **out)
{
    *out = NULL;
    uint8_t *hcl = NULL;
    size_t hcl_len = 0;
    int r = agent_hcl_report(st->tpm.esys, nonce, n, &hcl, &hcl_len, st->err, sizeof(st->err));
    if (r < 0)
        return r;
    struct tl_hcl_report rep;
    struct tl_error e = {0};
    if (tl_hcl_report_parse(hcl, hcl_len, &rep, &e) < 0) {
        free(hcl);
        return fail(st, "HCL report: %s", e.message);
    }
    /* the raw RSASSA signature, as trustee carries it */
    TPMT_SIGNATURE sig;
    size_t off = 0;
    if (Tss2_MU_TPMT_SIGNATURE_Unmarshal(q->sig, q->sig_len, &off, &sig) != TSS2_RC_SUCCESS ||
        sig.sigAlg != TPM2_ALG_RSASSA) {
        free(hcl);
        return fail(st, "the HCL AK's quote is not an RSASSA signature");
    }
    json_t *ev = json_pack("{s:i, s:{s:o, s:o, s:o}, s:o}", "version", 2, "tpm_quote", "signature",
                           hex_json(sig.signature.rsassa.sig.buffer, sig.signature.rsassa.sig.size),
                           "message", hex_json(q->attest.attestationData, q->attest.size), "pcrs",
                           quote_pcr_list(q), "hcl_report", b64url(hcl, hcl_len));
    json_t *answer = NULL;
    uint8_t *bytes = NULL;
    size_t len = 0;
    const char *key = rep.report_type == TL_HCL_REPORT_SNP ? "vcek" : "td_quote";
    if (!ev) {
        r = fail(st, "out of memory");
    } else if (rep.report_type == TL_HCL_REPORT_SNP) {
        r = call(st, "tee/certification", json_object(), &answer);
        if (r == STEP_OK)
            r = answer_b64url(st, answer, "tee/certification", "vcek", &bytes, &len);
    } else {
        r = call(st, "tee/tdquote", json_pack("{s:o}", "report", b64url(rep.hw_report, rep.hw_len)),
                 &answer);
        if (r == STEP_OK)
            r = answer_b64url(st, answer, "tee/tdquote", "quote", &bytes, &len);
    }
    json_decref(answer);
    free(hcl);
    if (r == STEP_OK && json_object_set_new(ev, key, b64url(bytes, len)) < 0)
        r = fail(st, "out of memory");
    free(bytes);
    if (r != STEP_OK) {
        json_decref(ev);
        return r > 0 ? -EACCES : r;
    }
    *out = ev;
    return 0;
}

static int attest(struct attest_state *st)
{
    json_t *answer;
    int r = call(st, "nonce", json_object(), &answer);
    if (r != STEP_OK)
        return r == 401 || r == 404 ? STEP_LOST : r > 0 ? -EACCES : r;
    uint8_t nonce[AGENT_NONCE_MAX];
    const char *hex = member_string(answer, "nonce", 2 * AGENT_NONCE_MAX);
    int n = hex && hex[0] && strncmp(hex, "0x", 2) != 0 && strncmp(hex, "0X", 2) != 0
                ? tl_hex_decode(hex, strlen(hex), nonce, sizeof(nonce))
                : -EINVAL;
    char *nonce_text = n > 0 ? strdup(hex) : NULL;
    json_decref(answer);
    if (n <= 0)
        return fail(st, "nonce: no \"nonce\" of 1 to %d bytes in hex", AGENT_NONCE_MAX);
    if (!nonce_text)
        return fail(st, "out of memory");

    struct agent_quote q;
    r = agent_quote(st->tpm.esys, st->ak, nonce, (size_t)n, st->o->pcrs, &q, st->err,
                    sizeof(st->err));
    uint8_t *log = NULL;
    size_t log_len = 0;
    bool have_log = false;
    if (r == 0) {
        r = tlh_file_read(st->o->eventlog, AGENT_EVENTLOG_MAX, &log, &log_len, NULL);
        have_log = r == 0;
        if (r == -ENOENT)
            r = 0;
        else if (r < 0)
            fail(st, "event log %s: %s", st->o->eventlog,
                 r == -EFBIG ? "larger than 16 MiB" : strerror(-r));
    }
    if (r < 0) {
        free(nonce_text);
        return r;
    }
    json_t *body = json_pack("{s:s, s:o, s:o, s:o, s:o}", "nonce", nonce_text, "quote",
                             tl_base64_json(q.attest.attestationData, q.attest.size), "signature",
                             tl_base64_json(q.sig, q.sig_len), "pcrs", pcrs_json(&q), "eventlog",
                             have_log ? tl_base64_json(log, log_len) : json_null());
    free(log);
    free(nonce_text);
    if (st->hcl == 1) {
        json_t *tee = NULL;
        r = tee_evidence(st, nonce, (size_t)n, &q, &tee);
        if (r < 0) {
            json_decref(body);
            return r;
        }
        json_object_set_new(body, "tee_evidence", tee);
    }
    if (st->o->rp_nonce)
        json_object_set_new(body, "rp_nonce", json_string(st->o->rp_nonce));
    if (st->o->audience)
        json_object_set_new(body, "audience", json_string(st->o->audience));
    r = call(st, "attest", body, &answer);
    if (r != STEP_OK)
        return r == 401 || r == 404 ? STEP_LOST : r > 0 ? -EACCES : r;

    const char *verdict = member_string(answer, "verdict", 16);
    json_t *findings = json_object_get(answer, "findings");
    json_t *id = json_object_get(answer, "attestation");
    if (!verdict || (strcmp(verdict, "pass") != 0 && strcmp(verdict, "fail") != 0))
        r = fail(st, "attest: no \"verdict\" of \"pass\" or \"fail\"");
    else if (findings && !json_is_array(findings) && !json_is_null(findings))
        r = fail(st, "attest: \"findings\" is not an array");
    else if (!json_is_integer(id))
        r = fail(st, "attest: no \"attestation\" number");
    else if (strcmp(verdict, "pass") == 0)
        agent_say("attested verdict=pass attestation=%lld", (long long)json_integer_value(id));
    else
        agent_say("attested verdict=fail findings=%zu attestation=%lld", json_array_size(findings),
                  (long long)json_integer_value(id));
    json_decref(answer);
    return r;
}

/* A key released to this TPM (release.c has the TPM side): a nonce, a key
 * of this TPM certified by the AK over it, the key wrapped to it in the
 * answer and opened. version NULL: the newest; else that version (a disk's
 * key before a rotation). *out malloc'd (the key's bytes; cleanse before
 * freeing), kid the answer's "VAULT/KEY/VERSION": the version released.
 *   POST BASE/nonce {} <- {"nonce"}
 *   POST BASE/keys/release {"vault", "key", ["version",] "nonce", "key_public",
 *        "parent_public", "certify", "signature"} <- {"kid", "version", "wrapped", ...}
 * o->release_dump (when given): the request written there too, the answer
 * beside it as DUMP.answer and the TPM key's private area (as the TPM
 * protects it: loadable by this TPM in this boot only) as DUMP.private:
 * what a test replays, or tries to open with another TPM (--release-open). */
static int release_key(struct attest_state *st, const char *vault, const char *name,
                       const char *version, uint8_t **out, size_t *out_len, char *kid,
                       size_t kid_size)
{
    *out = NULL;
    *out_len = 0;
    json_t *answer;
    int r = call(st, "nonce", json_object(), &answer);
    if (r != STEP_OK)
        return r > 0 ? -EACCES : r;
    uint8_t nonce[32];
    const char *hex = member_string(answer, "nonce", 64);
    char nonce_text[65] = "";
    bool ok = hex && strlen(hex) == 64 && tl_hex_decode(hex, 64, nonce, sizeof(nonce)) == 32;
    if (ok)
        memcpy(nonce_text, hex, 65);
    json_decref(answer);
    if (!ok)
        return fail(st, "nonce: no \"nonce\" of 32 bytes in hex");
    struct agent_release_key k;
    if ((r = agent_release_key_create(st->tpm.esys, st->ak, nonce, sizeof(nonce), &k, st->err,
                                      sizeof(st->err))) < 0)
        return r;
    json_t *body = json_pack(
        "{s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "vault", vault, "key", name, "nonce", nonce_text,
        "key_public", tl_base64_json(k.key_public, k.key_len), "parent_public",
        tl_base64_json(k.parent_public, k.parent_len), "certify",
        tl_base64_json(k.certify, k.certify_len), "signature", tl_base64_json(k.sig, k.sig_len));
    if (body && version)
        json_object_set_new(body, "version", json_string(version));
    if (body && st->o->release_dump) {
        char *text = json_dumps(body, JSON_COMPACT);
        if (!text || tlh_file_write_new(st->o->release_dump, text, strlen(text), 0600, NULL) < 0)
            agent_say("release: cannot write %s", st->o->release_dump);
        free(text);
    }
    r = call(st, "keys/release", body, &answer);
    if (r != STEP_OK) {
        agent_release_key_done(st->tpm.esys, &k);
        return r > 0 ? -EACCES : r;
    }
    if (st->o->release_dump) {
        char path[4096];
        char *text = json_dumps(answer, JSON_COMPACT);
        snprintf(path, sizeof(path), "%s.answer", st->o->release_dump);
        if (!text || tlh_file_write_new(path, text, strlen(text), 0600, NULL) < 0)
            agent_say("release: cannot write %s", path);
        free(text);
        snprintf(path, sizeof(path), "%s.private", st->o->release_dump);
        if (tlh_file_write_new(path, k.key_private, k.private_len, 0600, NULL) < 0)
            agent_say("release: cannot write %s", path);
    }
    const char *wrapped = member_string(answer, "wrapped", 1 << 16);
    const char *answer_kid = member_string(answer, "kid", 256);
    const char *answer_version = member_string(answer, "version", 64);
    uint8_t *w = NULL;
    size_t w_len = 0;
    if (!wrapped || !answer_kid || !answer_version ||
        tl_base64_decode(wrapped, strlen(wrapped), 0, &w, &w_len) < 0)
        r = fail(st, "keys/release: no \"kid\", \"version\" and base64 \"wrapped\" in the answer");
    else if (version && strcmp(answer_version, version) != 0)
        r = fail(st, "keys/release: asked for version %s, the answer is version %s", version,
                 answer_version);
    else
        r = agent_release_unwrap(st->tpm.esys, &k, w, w_len, out, out_len, st->err,
                                 sizeof(st->err));
    agent_release_key_done(st->tpm.esys, &k);
    free(w);
    if (r == 0)
        snprintf(kid, kid_size, "%s", answer_kid);
    json_decref(answer);
    return r;
}

/* --release VAULT/KEY[/VERSION]: the key's bytes written to
 * o->release_out (new, 0600). */
static int release(struct attest_state *st)
{
    char vault[64] = "", name[128] = "", version[64] = "";
    const char *a = st->o->release, *b = strchr(a, '/'), *c = b ? strchr(b + 1, '/') : NULL;
    snprintf(vault, sizeof(vault), "%.*s", (int)(b - a), a);
    snprintf(name, sizeof(name), "%.*s", (int)(c ? c - b - 1 : (long)strlen(b + 1)), b + 1);
    if (c)
        snprintf(version, sizeof(version), "%s", c + 1);
    uint8_t *key = NULL;
    size_t key_len = 0;
    char kid[256];
    int r = release_key(st, vault, name, c ? version : NULL, &key, &key_len, kid, sizeof(kid));
    if (r == 0 && tlh_file_write_new(st->o->release_out, key, key_len, 0600, NULL) < 0)
        r = fail(st, "release: cannot write %s (it must not exist yet)", st->o->release_out);
    if (r == 0)
        agent_say("released %s (%zu bytes)", kid, key_len);
    if (key)
        OPENSSL_cleanse(key, key_len);
    free(key);
    return r;
}

/* One period: enrol if needed, attest; enrol again once when the service
 * lost the AK. */
static int cycle(struct attest_state *st)
{
    int r = STEP_OK;
    if (!st->enrolled)
        r = enrol(st);
    if (r == STEP_OK)
        r = attest(st);
    if (r == STEP_LOST) {
        agent_say("enrolment lost (%s): enrolling again", st->err);
        st->enrolled = false;
        r = enrol(st);
        if (r == STEP_OK)
            r = attest(st);
        if (r == STEP_LOST)
            r = -EACCES; /* st->err says why */
    }
    if (r == STEP_OK && st->o->release)
        r = release(st);
    return r;
}

int agent_attest_run(const struct agent_config *cfg, const struct agent_attest_options *o)
{
    struct attest_state st = {.cfg = cfg, .o = o, .ak = ESYS_TR_NONE, .hcl = -1};
    static const char suffix[] = "/report";
    size_t n = strlen(cfg->url), k = sizeof(suffix) - 1;
    if (n <= k || strcmp(cfg->url + n - k, suffix) != 0) {
        agent_say("attest failed: the url does not end in %s", suffix);
        return AGENT_EXIT_FAIL;
    }
    memcpy(st.base, cfg->url, n - k);
    st.base[n - k] = 0;

    double retry = 5; /* after a failure: 5, 10, 20 s ... up to the interval */
    for (;;) {
        int r = cycle(&st);
        if (r == STEP_UNSUPPORTED) {
            agent_say("attestation unsupported");
            reset(&st);
            return AGENT_EXIT_OK;
        }
        if (r < 0) {
            agent_say("attest failed: %s", st.err);
            reset(&st);
        }
        if (o->once) {
            reset(&st);
            return r < 0 ? AGENT_EXIT_FAIL : AGENT_EXIT_OK;
        }
        if (r < 0 && retry < o->interval) { /* a boot's attestation should not wait a period */
            agent_say("attest: trying again in %.0f s", retry);
            agent_sleep(retry);
            retry *= 2;
            continue;
        }
        retry = 5;
        agent_sleep(o->interval);
    }
}
