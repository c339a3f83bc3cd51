/* TDX quote framing (Intel TDX DCAP Quote Generation Library and Quote
 * Library API, appendix "TD Quote Format": v4 and v5; SGX report body from
 * the SGX DCAP ECDSA Quote Library API, "Enclave Report Body").
 *
 *   v4: header(48) | TD report 1.0 body(584) | u32 sig_len | sig data
 *   v5: header(48) | u16 body type | u32 body size | body(584 or 648) |
 *       u32 sig_len | sig data
 *   sig data: ECDSA sig(64) | attestation key(64) | u16 type | u32 size |
 *             certification data
 *   type 6:   QE report(384) | QE report sig(64) | u16 auth_len | auth |
 *             u16 type (5) | u32 size | PCK chain (PEM)
 *
 * Invariants: each size is checked against the bytes left in the structure
 * that encloses it before it is used; nested structures end exactly where
 * their container does (a gap would be bytes no signature or size
 * accounts for); after the signature data only zero padding is accepted
 * (quote buffers are often handed out at a fixed size). One linear pass. */
#include "tl/tdx.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tl/util.h"

void tl_sgx_report_parse(const uint8_t *p, struct tl_sgx_report *r)
{
    /* CPUSVN 16 | MISCSELECT 4 | reserved 28 | ATTRIBUTES 16 | MRENCLAVE 32
     * | reserved 32 | MRSIGNER 32 | reserved 96 | ISVPRODID 2 | ISVSVN 2 |
     * reserved 60 | REPORTDATA 64 */
    *r = (struct tl_sgx_report){0};
    memcpy(r->cpusvn, p, 16);
    r->miscselect = tl_le32(p + 16);
    memcpy(r->attributes, p + 48, 16);
    memcpy(r->mrenclave, p + 64, 32);
    memcpy(r->mrsigner, p + 128, 32);
    r->isvprodid = tl_le16(p + 256);
    r->isvsvn = tl_le16(p + 258);
    memcpy(r->report_data, p + 320, 64);
}

static void td_report_parse(const uint8_t *p, bool v15, struct tl_tdx_td_report *td)
{
    size_t o = 0;
#define TAKE(field)                                                                                \
    do {                                                                                           \
        memcpy(td->field, p + o, sizeof(td->field));                                               \
        o += sizeof(td->field);                                                                    \
    } while (0)
    *td = (struct tl_tdx_td_report){.v15 = v15};
    TAKE(tee_tcb_svn);
    TAKE(mrseam);
    TAKE(mrsignerseam);
    TAKE(seam_attributes);
    TAKE(td_attributes);
    TAKE(xfam);
    TAKE(mrtd);
    TAKE(mrconfigid);
    TAKE(mrowner);
    TAKE(mrownerconfig);
    TAKE(rtmr);
    TAKE(report_data);
    if (v15) {
        TAKE(tee_tcb_svn2);
        TAKE(mrservicetd);
    }
#undef TAKE
}

int tl_tdx_quote_parse(const uint8_t *buf, size_t len, struct tl_tdx_quote *q, struct tl_error *err)
{
    *q = (struct tl_tdx_quote){0};
    if (len < TL_TDX_HEADER_SIZE)
        return tl_error_set(err, -EBADMSG, 0, "quote: %zu bytes, the header alone needs %d", len,
                            TL_TDX_HEADER_SIZE);
    q->version = tl_le16(buf);
    q->att_key_type = tl_le16(buf + 2);
    q->tee_type = tl_le32(buf + 4);
    memcpy(q->qe_vendor_id, buf + 12, 16);
    if (q->version != 4 && q->version != 5)
        return tl_error_set(err, -EPROTONOSUPPORT, 0,
                            "quote: version %u, only TDX quotes v4 and v5 are verified",
                            q->version);
    if (q->tee_type != TL_TDX_TEE_TYPE)
        return tl_error_set(err, -EPROTONOSUPPORT, 4, "quote: TEE type 0x%x is not TDX (0x81)",
                            q->tee_type);
    if (q->att_key_type != TL_TDX_ATT_KEY_ECDSA_P256)
        return tl_error_set(err, -EPROTONOSUPPORT, 2,
                            "quote: attestation key type %u, only ECDSA P-256 (2)",
                            q->att_key_type);

    size_t off = TL_TDX_HEADER_SIZE, body_size = TL_TDX_TD10_SIZE;
    q->body_type = TL_TDX_BODY_TD10;
    if (q->version == 5) {
        if (len - off < 6)
            return tl_error_set(err, -EBADMSG, off, "quote: body descriptor truncated");
        q->body_type = tl_le16(buf + off);
        uint32_t size = tl_le32(buf + off + 2);
        if (q->body_type == TL_TDX_BODY_TD10)
            body_size = TL_TDX_TD10_SIZE;
        else if (q->body_type == TL_TDX_BODY_TD15)
            body_size = TL_TDX_TD15_SIZE;
        else
            return tl_error_set(err, -EPROTONOSUPPORT, off,
                                "quote: body type %u, only TD report 1.0 (2) and 1.5 (3)",
                                q->body_type);
        if (size != body_size)
            return tl_error_set(err, -EBADMSG, off + 2,
                                "quote: body size %u, a body of type %u has %zu bytes", size,
                                q->body_type, body_size);
        off += 6;
    }
    if (len - off < body_size + 4)
        return tl_error_set(err, -EBADMSG, off,
                            "quote: body and signature size need %zu bytes, %zu left",
                            body_size + 4, len - off);
    td_report_parse(buf + off, q->body_type == TL_TDX_BODY_TD15, &q->td);
    off += body_size;
    q->signed_data = buf;
    q->signed_len = off;

    uint32_t sig_len = tl_le32(buf + off);
    off += 4;
    if (sig_len > len - off)
        return tl_error_set(err, -EBADMSG, off - 4,
                            "quote: signature data of %u bytes overruns the quote (%zu left)",
                            sig_len, len - off);
    size_t sig_end = off + sig_len;
    if (sig_len < 64 + 64 + 6)
        return tl_error_set(err, -EBADMSG, off - 4,
                            "quote: signature data of %u bytes, needs at least 134", sig_len);
    q->signature = buf + off;
    q->attest_key = buf + off + 64;
    off += 128;
    uint16_t cert_type = tl_le16(buf + off);
    uint32_t cert_size = tl_le32(buf + off + 2);
    off += 6;
    if (cert_type != TL_TDX_CERT_QE_REPORT)
        return tl_error_set(err, -EPROTONOSUPPORT, off - 6,
                            "quote: certification data type %u, only QE report data (6)",
                            cert_type);
    if (cert_size != sig_end - off)
        return tl_error_set(err, -EBADMSG, off - 4,
                            "quote: certification data size %u, the signature data leaves %zu",
                            cert_size, sig_end - off);

    /* type 6: QE report certification data */
    if (sig_end - off < TL_SGX_REPORT_SIZE + 64 + 2)
        return tl_error_set(err, -EBADMSG, off, "quote: QE report certification data truncated");
    q->qe_report = buf + off;
    tl_sgx_report_parse(q->qe_report, &q->qe);
    q->qe_report_signature = buf + off + TL_SGX_REPORT_SIZE;
    off += TL_SGX_REPORT_SIZE + 64;
    q->qe_auth_len = tl_le16(buf + off);
    off += 2;
    if (q->qe_auth_len > sig_end - off)
        return tl_error_set(err, -EBADMSG, off - 2,
                            "quote: QE authentication data of %u bytes overruns (%zu left)",
                            q->qe_auth_len, sig_end - off);
    q->qe_auth = buf + off;
    off += q->qe_auth_len;
    if (sig_end - off < 6)
        return tl_error_set(err, -EBADMSG, off, "quote: PCK certification data header truncated");
    uint16_t inner_type = tl_le16(buf + off);
    uint32_t inner_size = tl_le32(buf + off + 2);
    off += 6;
    if (inner_type != TL_TDX_CERT_PCK_CHAIN)
        return tl_error_set(err, -EPROTONOSUPPORT, off - 6,
                            "quote: QE certification data type %u, only the PCK chain (5)",
                            inner_type);
    if (inner_size != sig_end - off)
        return tl_error_set(err, -EBADMSG, off - 4,
                            "quote: PCK chain size %u, the certification data leaves %zu",
                            inner_size, sig_end - off);
    if (inner_size == 0)
        return tl_error_set(err, -EBADMSG, off - 4, "quote: empty PCK chain");
    q->pck_chain = buf + off;
    q->pck_chain_len = inner_size;
    off = sig_end;
    if (!tl_is_zero(buf + off, len - off)) {
        size_t i = off;
        while (buf[i] == 0)
            i++;
        return tl_error_set(err, -EBADMSG, i, "quote: %zu bytes after the signature data",
                            len - off);
    }
    q->trailing_zero_bytes = len - off;
    return 0;
}

void tl_tdx_claims(json_t *obj, const struct tl_tdx_quote *q)
{
    const struct tl_tdx_td_report *td = &q->td;
    uint64_t attrs = tl_le64(td->td_attributes);
    char name[16];

    tl_tee_claim_str(obj, "x-ms-attestation-type", "tdxvm");
    tl_tee_claim_int(obj, "tdx_quote_version", q->version);
    tl_tee_claim_hex(obj, "tdx_mrtd", td->mrtd, 48);
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof(name), "tdx_rtmr%d", i);
        tl_tee_claim_hex(obj, name, td->rtmr[i], 48);
    }
    tl_tee_claim_hex(obj, "tdx_mrseam", td->mrseam, 48);
    tl_tee_claim_hex(obj, "tdx_mrsignerseam", td->mrsignerseam, 48);
    tl_tee_claim_hex(obj, "tdx_seam_attributes", td->seam_attributes, 8);
    tl_tee_claim_hex(obj, "tdx_mrconfigid", td->mrconfigid, 48);
    tl_tee_claim_hex(obj, "tdx_mrowner", td->mrowner, 48);
    tl_tee_claim_hex(obj, "tdx_mrownerconfig", td->mrownerconfig, 48);
    tl_tee_claim_hex(obj, "tdx_report_data", td->report_data, 64);
    tl_tee_claim_hex(obj, "tdx_tee_tcb_svn", td->tee_tcb_svn, 16);
    tl_tee_claim_hex(obj, "tdx_td_attributes", td->td_attributes, 8);
    tl_tee_claim_bool(obj, "tdx_td_attributes_debug", attrs & TL_TDX_TD_ATTR_DEBUG);
    tl_tee_claim_bool(obj, "tdx_td_attributes_septve_disable", attrs & TL_TDX_TD_ATTR_SEPT_VE_DIS);
    tl_tee_claim_bool(obj, "tdx_td_attributes_protection_keys", attrs & (1ull << 30));
    tl_tee_claim_bool(obj, "tdx_td_attributes_key_locker", attrs & (1ull << 31));
    tl_tee_claim_bool(obj, "tdx_td_attributes_perfmon", attrs & (1ull << 63));
    tl_tee_claim_hex(obj, "tdx_xfam", td->xfam, 8);
    tl_tee_claim_int(obj, "tdx_seamsvn", td->tee_tcb_svn[0] | td->tee_tcb_svn[1] << 8);
    if (td->v15) {
        tl_tee_claim_hex(obj, "tdx_tee_tcb_svn2", td->tee_tcb_svn2, 16);
        tl_tee_claim_hex(obj, "tdx_mrservicetd", td->mrservicetd, 48);
    }
}
