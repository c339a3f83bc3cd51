/* The report body the agent posts to tld (the contract tld is written
 * against; docs/image.md, "tl-agent"):
 *
 *   {"version": 1, "node": NAME, "token": HEX,
 *    "secure_boot": "on" | "off" | "unknown", "tpm": true | false,
 *    "pcrs": {"sha1": {"0": hex, ..., "23": hex}, "sha256": {...}} | null,
 *    "eventlog": base64 | null,
 *    "ek_certs": {"rsa2048": base64 DER, "ecc-p256": base64 DER},
 *    "kernel": "6.1.0-56-amd64", "cmdline": "...", "uptime": 12.34}
 *
 * Keys in that order; PCRs as lowercase hex, in the TPM's bank order;
 * binary data as standard base64 with padding. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "agent.h"
#include "tl/base64.h"
#include "tl/util.h"

static json_t *pcrs(const struct agent_evidence *ev)
{
    if (!ev->tpm)
        return json_null();
    json_t *all = json_object();
    for (size_t b = 0; all && b < ev->pcr.count; b++) {
        const struct tl_pcr_bank *bank = &ev->pcr.bank[b];
        json_t *o = json_object();
        for (unsigned i = 0; o && i < TL_PCR_READ_PCRS; i++) {
            if (!(bank->read & (1u << i)))
                continue;
            char key[4], hex[2 * TL_PCR_READ_DIGEST + 1];
            snprintf(key, sizeof(key), "%u", i);
            tl_hex_encode(bank->value[i], bank->size, hex);
            if (json_object_set_new(o, key, json_string(hex)) < 0) {
                json_decref(o);
                o = NULL;
            }
        }
        if (!o || json_object_set_new(all, bank->name, o) < 0) {
            json_decref(all);
            all = NULL;
        }
    }
    return all;
}

static json_t *ek_certs(const struct agent_evidence *ev)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < ev->n_ek_certs; i++) {
        if (json_object_set_new(o, ev->ek_certs[i].name,
                                tl_base64_json(ev->ek_certs[i].der, ev->ek_certs[i].len)) < 0) {
            json_decref(o);
            o = NULL;
        }
    }
    return o;
}

char *agent_report_body(const struct agent_config *cfg, const struct agent_evidence *ev)
{
    json_t *log = ev->has_eventlog ? tl_base64_json(ev->eventlog, ev->eventlog_len) : json_null();
    /* "o" takes the reference; pack fails as a whole if one part is NULL. */
    json_t *body =
        json_pack("{s:i, s:s, s:s, s:s, s:b, s:o, s:o, s:o, s:s, s:s, s:f}", "version", 1, "node",
                  cfg->node, "token", cfg->token, "secure_boot", ev->secure_boot, "tpm", ev->tpm,
                  "pcrs", pcrs(ev), "eventlog", log, "ek_certs", ek_certs(ev), "kernel", ev->kernel,
                  "cmdline", ev->cmdline ? ev->cmdline : "", "uptime", ev->uptime);
    if (!body)
        return NULL;
    char *s = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(body);
    return s;
}
