/* libFuzzer target: a guest's TPM command as the paravisor relay sees it
 * (lib/tpm/cmdparse.c, src/host/paravisor_nv.c). Any bytes: parsed with
 * each handle count, followed as a command and a response by the session
 * tracker, and classified against a 2,400-byte report; an answer
 * the relay would send must be a whole response (its responseSize equal to
 * the bytes written, within the buffer), and an NV_Read answer must carry
 * the report's own bytes. Seeds: commands ESAPI sent through the relay in
 * tests/unit/test_paravisor.c (tests/data/tpmcmd). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tl/tpmcmd.h"
#include "tlhost/paravisor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t report[2400];
    for (size_t i = 0; i < sizeof(report); i++)
        report[i] = (uint8_t)(i * 7 + 3);
    struct tl_tpm_header h;
    if (tl_tpm_header_parse(data, size, &h, NULL) < 0)
        return 0;
    struct tl_tpm_cmd c;
    for (size_t n = 0; n <= TL_TPM_MAX_HANDLES; n++) {
        if (tl_tpm_cmd_parse(data, size, n, &c, NULL) < 0)
            continue;
        if (c.params + c.params_len != data + size || c.n_sessions > TL_TPM_MAX_SESSIONS)
            abort();
        uint16_t a, b;
        const uint8_t *d;
        tl_tpm_nv_read_params(&c, &a, &b, NULL);
        if (tl_tpm_nv_write_params(&c, &d, &a, &b, NULL) == 0 && (d < data || d + a > data + size))
            abort();
    }
    /* the session follower, the bytes as a command and as its answer */
    struct tlh_pv_sessions follow = {0};
    tlh_pv_sessions_command(&follow, data, size);
    tlh_pv_sessions_response(&follow, data, size);
    if (follow.n > TLH_PV_MAX_SESSIONS || follow.n_used > TL_TPM_MAX_SESSIONS)
        abort();
    const uint8_t *d;
    uint16_t dlen;
    if (tl_tpm_rsp_nv_read_parse(data, size, &d, &dlen, NULL) == 0 &&
        (d < data || d + dlen > data + size))
        abort();
    /* one followed HMAC session, so that the HMAC path is reached too */
    static struct tlh_pv_sessions ts = {
        .s = {{.handle = 0x02000000, .plain = true, .nonce_size = 32}}, .n = 1};
    uint8_t rsp[TLH_PARAVISOR_MSG_MAX];
    struct tlh_pv_answer a = {.rsp = rsp, .cap = sizeof(rsp)};
    if (tlh_paravisor_classify(data, size, report, sizeof(report), &ts, &a) != TLH_PV_ANSWERED)
        return 0;
    size_t rsp_len = a.len;
    struct tl_tpm_header r;
    if (rsp_len > sizeof(rsp) || tl_tpm_header_parse(rsp, rsp_len, &r, NULL) < 0 ||
        r.size != rsp_len)
        abort();
    if (h.code == TPM2_CC_NV_Read && r.code == TPM2_RC_SUCCESS) {
        if (tl_tpm_rsp_nv_read_parse(rsp, rsp_len, &d, &dlen, NULL) < 0)
            abort();
        struct tl_tpm_cmd rc;
        uint16_t want, off;
        if (tl_tpm_cmd_parse(data, size, 2, &rc, NULL) < 0 ||
            tl_tpm_nv_read_params(&rc, &want, &off, NULL) < 0 || dlen != want ||
            (size_t)off + want > sizeof(report) || memcmp(d, report + off, want) != 0)
            abort();
    }
    return 0;
}
