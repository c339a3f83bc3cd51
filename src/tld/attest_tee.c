/* A confidential node's hardware evidence, judged beside its TPM
 * attestation (docs/api.md "Confidential nodes").
 *
 * The agent of a confidential node sends, with its quote, Azure's
 * vTPM-bound evidence in trustee's form ("tee_evidence", src/agent/hcl.c):
 * the HCL report carrying this attestation's nonce as user-data, the
 * hardware report or TD quote inside it bound to the runtime JSON, the
 * runtime JSON naming the vTPM's AK (HCLAkPub), and the same vTPM quote.
 * libtl's verifier (lib/tee/azure.c) judges it; here:
 *  - the evidence must be the node's kind (SEV-SNP or TDX, from its size);
 *  - its vTPM quote must be the attestation's own quote, byte for byte, and
 *    HCLAkPub must be the AK enrolled for the node (credential activation
 *    tied that AK to the node's EK): the hardware report, the vTPM and the
 *    boot log are one machine's;
 *  - the nonce is the attestation's (the quote's extraData), and the
 *    runtime JSON's user-data must start with it (trustee's v2 rule): an
 *    old HCL report replayed with a fresh quote fails `user-data`;
 *  - the vm-configuration claims must say what the node was created with
 *    (secure boot, a persisted TPM or not);
 *  - the roots: AMD's and Intel's built in; the platform's emulated secure
 *    processor's only under a policy that names them (the node's pool or
 *    VM policy, tl_tee_policy_parse keys; a node without a pool's may carry
 *    its own, POST /v1/nodes "tee_policy").
 * Every reason becomes a finding (component "tee", rule the reason code);
 * the claims go into the token.
 *
 * Runs without tld.lock (tld_attest_work). libtl's SNP context is one per
 * thread: tee->lock serialises its use, CPU only. */
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <tss2/tss2_mu.h>

#include "attest.h"
#include "tl/azure.h"
#include "tl/snp.h"
#include "tl/tdx.h"
#include "tl/tee.h"
#include "tl/vtpm.h"
#include "tld.h"
#include "tlhost/file.h"

#define TEE_EVIDENCE_MAX (1u << 20)

int tld_tee_open(struct tld_tee *tee, const struct tl_tee_blob *items, size_t n,
                 struct tl_error *err)
{
    int r = pthread_mutex_init(&tee->lock, NULL);
    if (r)
        return tl_error_set_nopos(err, -r, "tee lock: %s", strerror(r));
    tee->items = items;
    tee->n_items = n;
    r = tl_snp_ctx_new(&tee->snp, err);
    if (r < 0)
        return r;
    if (n && tl_tdx_collateral_new(items, n, &tee->tdx, err) < 0)
        tee->tdx = NULL; /* no TDX collateral among them: TD quotes fail `collateral` */
    return 0;
}

void tld_tee_set_platform(struct tld_tee *tee, const char *dir)
{
    snprintf(tee->platform_dir, sizeof(tee->platform_dir), "%s", dir);
}

static void blobs_free(struct tl_tee_blob *b, size_t from, size_t n)
{
    for (size_t i = from; b && i < n; i++) {
        free((char *)b[i].name);
        free((uint8_t *)b[i].data);
    }
    free(b);
}

/* Under tee->lock, without tld.lock: the emulator's collateral files, once
 * they exist (a paravisor makes them at the first confidential launch). */
static void platform_load(struct tld_tee *tee)
{
    static const char *const files[] = {
        "snp/ark.pem",    "snp/ask.pem",         "tdx/root.pem",
        "tdx/pck-ca.pem", "tdx/tcb-signing.pem", "tdx/root.crl",
        "tdx/pck.crl",    "tdx/tcbinfo.json",    "tdx/qe_identity.json"};
    const size_t nf = sizeof(files) / sizeof(files[0]);
    if (tee->platform_loaded || !tee->platform_dir[0])
        return;
    struct tl_tee_blob *all = calloc(tee->n_items + nf, sizeof(*all));
    if (!all)
        return;
    if (tee->n_items)
        memcpy(all, tee->items, tee->n_items * sizeof(*all));
    size_t n = tee->n_items;
    for (size_t i = 0; i < nf; i++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", tee->platform_dir, files[i]);
        uint8_t *data = NULL;
        size_t len = 0;
        if (tlh_file_read(path, 1u << 20, &data, &len, NULL) < 0) {
            blobs_free(all, tee->n_items, n);
            return; /* not made yet (or partly): tried again next time */
        }
        all[n++] = (struct tl_tee_blob){.name = strdup(path), .data = data, .len = len};
    }
    struct tl_tdx_collateral *tdx = NULL;
    struct tl_error e = {0};
    if (tl_tdx_collateral_new(all, n, &tdx, &e) < 0)
        tdx = NULL; /* TD quotes fail `collateral`, with the reason */
    tl_tdx_collateral_free(tee->tdx);
    tee->tdx = tdx;
    tee->all = all;
    tee->n_all = n;
    tee->platform_loaded = true;
}

void tld_tee_close(struct tld_tee *tee)
{
    blobs_free(tee->all, tee->n_items, tee->n_all);
    tee->all = NULL;
    tl_snp_ctx_free(tee->snp);
    tl_tdx_collateral_free(tee->tdx);
    tee->snp = NULL;
    tee->tdx = NULL;
    pthread_mutex_destroy(&tee->lock);
}

static int td_verify(void *opaque, const uint8_t *quote, size_t len,
                     const struct tl_tee_policy *policy, time_t at, struct tl_tee_verdict *td)
{
    struct tl_error err = {0};
    int r = tl_tdx_verify(quote, len, opaque, policy, at, td, NULL, &err);
    if (r == -ENOMEM)
        return r;
    if (r < 0) { /* a quote that does not parse: a reason, not an error */
        if (!td->claims && tl_tee_verdict_init(td, TL_TEE_KIND_TDX, at) < 0)
            return -ENOMEM;
        tl_tee_fail(td, TL_TEE_MALFORMED, "%s", err.message);
        tl_tee_verdict_finish(td);
    }
    return 0;
}

static void add(json_t *findings, const char *code, const char *expected, const char *actual)
{
    json_array_append_new(findings, tld_finding("tee", -1, -1, expected, actual, code));
}

/* HCLAkPub of the evidence's runtime JSON equals the enrolled AK. */
static bool same_ak(const struct tl_az_evidence *ev, const uint8_t *ak_public, size_t ak_len)
{
    struct tl_hcl_report hcl;
    struct tl_az_runtime rt = {0};
    struct tl_error e = {0};
    TPM2B_PUBLIC pub = {0};
    size_t off = 0;
    EVP_PKEY *ak = NULL;
    bool same = false;
    if (tl_hcl_report_parse(ev->hcl_report, ev->hcl_len, &hcl, &e) == 0 &&
        tl_az_runtime_parse(hcl.var_data, hcl.var_len, &rt, &e) == 0 && rt.ak &&
        Tss2_MU_TPM2B_PUBLIC_Unmarshal(ak_public, ak_len, &off, &pub) == TSS2_RC_SUCCESS &&
        off == ak_len && tl_tpm2b_public_to_pkey(&pub, &ak, &e) == 0)
        same = EVP_PKEY_eq(ak, rt.ak) == 1;
    EVP_PKEY_free(ak);
    tl_az_runtime_done(&rt);
    return same;
}

int tld_tee_check(struct tld_tee *tee, const struct tld_tee_expect *x, const json_t *evidence,
                  const uint8_t *nonce, size_t nonce_len, const uint8_t *quote, size_t quote_len,
                  const uint8_t *ak_public, size_t ak_len, json_t *findings, json_t **claims)
{
    *claims = NULL;
    if (!json_is_object(evidence)) {
        add(findings, "malformed", "the confidential node's evidence (tee_evidence)", "none");
        return 0;
    }
    char *text = json_dumps(evidence, JSON_COMPACT);
    if (!text)
        return -ENOMEM;
    struct tl_az_evidence ev = {0};
    struct tl_error e = {0};
    size_t len = strlen(text);
    int r = len > TEE_EVIDENCE_MAX ? tl_error_set_nopos(&e, -EBADMSG, "larger than 1 MiB")
                                   : tl_az_evidence_parse((const uint8_t *)text, len, &ev, &e);
    free(text);
    if (r == -ENOMEM)
        return r;
    if (r < 0) {
        add(findings, "malformed", "Azure vTPM-bound evidence", e.message);
        return 0;
    }
    if (ev.kind != x->kind) {
        add(findings, "malformed", tl_tee_kind_name(x->kind), tl_tee_kind_name(ev.kind));
        tl_az_evidence_done(&ev);
        return 0;
    }
    if (ev.tpm_message_len != quote_len || memcmp(ev.tpm_message, quote, quote_len) != 0)
        add(findings, "binding", "the attestation's own vTPM quote",
            "the evidence carries another quote");
    if (!same_ak(&ev, ak_public, ak_len))
        add(findings, "binding", "HCLAkPub = the node's enrolled AK",
            "the HCL report names another key");

    struct tl_tee_policy pol;
    tl_tee_policy_init(&pol);
    if (x->policy && tl_tee_policy_parse(x->policy, strlen(x->policy), &pol, &e) < 0) {
        add(findings, "policy", "a TEE policy that parses", e.message);
        tl_az_evidence_done(&ev);
        return 0;
    }
    if (nonce_len <= sizeof(pol.nonce.v)) {
        pol.nonce.set = true;
        pol.nonce.len = nonce_len;
        memcpy(pol.nonce.v, nonce, nonce_len);
    }
    /* user-data: the nonce, zero-padded to 64 (what the agent wrote) */
    pol.user_data.set = true;
    pol.user_data.len = 64;
    memset(pol.user_data.v, 0, sizeof(pol.user_data.v));
    memcpy(pol.user_data.v, nonce, nonce_len < 64 ? nonce_len : 64);
    pol.require_secure_boot = x->secure_boot;

    struct tl_tee_verdict v;
    if (tl_tee_verdict_init(&v, ev.kind, x->at ? x->at : time(NULL)) < 0) {
        tl_az_evidence_done(&ev);
        return -ENOMEM;
    }
    pthread_mutex_lock(&tee->lock);
    platform_load(tee);
    struct tl_tee_collateral col = {.n = tee->all ? tee->n_all : tee->n_items,
                                    .items = tee->all ? tee->all : tee->items};
    struct tl_az_verifier az = {.snp = tee->snp, .td_verify = td_verify, .td_opaque = tee->tdx};
    r = tl_az_verify(&az, &ev, &col, &pol, &v);
    pthread_mutex_unlock(&tee->lock);
    tl_az_evidence_done(&ev);
    if (r < 0) {
        tl_tee_verdict_done(&v);
        return r;
    }
    for (unsigned i = 0; i < v.n_reasons; i++)
        add(findings, tl_tee_code_name(v.reasons[i].code), "hardware evidence that verifies",
            v.reasons[i].detail);
    if (v.n_dropped) {
        char more[64];
        snprintf(more, sizeof(more), "%u more reasons", v.n_dropped);
        add(findings, "malformed", NULL, more);
    }
    /* the vm-configuration the node was created with */
    json_t *persisted = json_object_get(v.claims, "x-ms-azurevm-tpm-persisted");
    /* absent is what Azure's older HCL says of a persisted vTPM; a node
     * created without one must say false */
    if (json_is_boolean(persisted) ? json_is_true(persisted) != x->tpm_persisted
                                   : !x->tpm_persisted)
        add(findings, "vm-config",
            x->tpm_persisted ? "tpm-persisted: true" : "tpm-persisted: false",
            !json_is_boolean(persisted) ? "tpm-persisted absent"
            : json_is_true(persisted)   ? "tpm-persisted: true"
                                        : "tpm-persisted: false");
    *claims = json_incref(v.claims);
    tl_tee_verdict_done(&v);
    return 0;
}

int tld_tee_expect_of(const struct tld_node *n, struct tld_tee_expect *x)
{
    const char *tee = n->spec.tee ? n->spec.tee : "none";
    *x = (struct tld_tee_expect){.kind = strcmp(tee, "snp") == 0   ? TL_TEE_KIND_AZ_SNP_VTPM
                                         : strcmp(tee, "tdx") == 0 ? TL_TEE_KIND_AZ_TDX_VTPM
                                                                   : TL_TEE_KIND_UNKNOWN,
                                 .secure_boot = n->spec.secure_boot,
                                 .tpm_persisted = n->spec.vtpm_persist};
    json_t *pol = n->pool ? json_object_get(n->pool->rules, "teePolicy") : NULL;
    if (!json_is_object(pol))
        pol = n->tee_policy; /* a node's own (an external or standalone confidential node) */
    if (x->kind != TL_TEE_KIND_UNKNOWN && json_is_object(pol) &&
        !(x->policy = json_dumps(pol, JSON_COMPACT)))
        return -ENOMEM;
    return 0;
}
