/* Simulated nodes for the service benchmarks: see simnode.h. */
#include "simnode.h"

#include <curl/curl.h>
#include <errno.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tss2/tss2_mu.h>

#include "bench.h"
#include "tl/akey.h"
#include "tl/eventlog.h"
#include "tl/replay.h"
#include "tl/vtpm.h"

/* The AK's attributes, as src/agent/ak.c makes it. */
#define AK_ATTRIBUTES                                                                              \
    (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |            \
     TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT)

/* ---- encoding ---- */

char *sim_b64(const uint8_t *in, size_t len)
{
    char *out = malloc(len / 3 * 4 + 8);
    if (!out)
        bench_fail("out of memory");
    EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    return out;
}

int sim_unb64(const char *in, uint8_t **out, size_t *len)
{
    size_t n = in ? strlen(in) : 0;
    if (!in || n % 4)
        return -EINVAL;
    uint8_t *buf = malloc(n / 4 * 3 + 1);
    int k = buf ? EVP_DecodeBlock(buf, (const unsigned char *)in, (int)n) : -1;
    if (k < 0) {
        free(buf);
        return -EINVAL;
    }
    k -= (n && in[n - 1] == '=') + (n > 1 && in[n - 2] == '=');
    *out = buf;
    *len = (size_t)k;
    return 0;
}

/* ---- HTTP: one keep-alive connection per thread ---- */

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    struct sim_http *h = ud;
    size_t k = size * n;
    if (h->len + k + 1 > h->cap) {
        size_t cap = (h->len + k + 1) * 2;
        char *b = realloc(h->buf, cap);
        if (!b)
            return 0;
        h->buf = b;
        h->cap = cap;
    }
    memcpy(h->buf + h->len, p, k);
    h->len += k;
    h->buf[h->len] = 0;
    return k;
}

void sim_http_init(struct sim_http *h, const char *url)
{
    *h = (struct sim_http){.c = curl_easy_init(), .url = url};
    if (!h->c)
        bench_fail("curl_easy_init failed");
    curl_easy_setopt(h->c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h->c, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(h->c, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h->c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h->c, CURLOPT_TIMEOUT, 120L);
}

void sim_http_done(struct sim_http *h)
{
    curl_easy_cleanup(h->c);
    free(h->buf);
    free(h->body);
}

void sim_operator_token_load(struct sim *s)
{
    const char *env = getenv("TL_TOKEN");
    if (env && *env) {
        snprintf(s->operator_token, sizeof(s->operator_token), "%s", env);
        return;
    }
    if (!s->home)
        bench_fail("give --home (its operator.token) or TL_TOKEN");
    char path[4096];
    snprintf(path, sizeof(path), "%s/operator.token", s->home);
    FILE *f = fopen(path, "re");
    if (!f || !fgets(s->operator_token, sizeof(s->operator_token), f))
        bench_fail("%s: cannot read the operator token", path);
    fclose(f);
    s->operator_token[strcspn(s->operator_token, "\r\n")] = 0;
}

/* A request (POST when body is not NULL) to h->url + path; the status, the
 * answer in h->buf (parsed into *answer when given and JSON). */
long sim_http_call(struct sim_http *h, const char *path, const char *token, const char *body,
                   size_t len, json_t **answer)
{
    char url[512], auth[128];
    snprintf(url, sizeof(url), "%s%s", h->url, path);
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    hdr = curl_slist_append(hdr, "Expect:"); /* no 100-continue round trip */
    if (token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        hdr = curl_slist_append(hdr, auth);
    }
    h->len = 0;
    if (h->buf)
        h->buf[0] = 0;
    curl_easy_setopt(h->c, CURLOPT_URL, url);
    curl_easy_setopt(h->c, CURLOPT_HTTPHEADER, hdr);
    if (body) {
        curl_easy_setopt(h->c, CURLOPT_POST, 1L);
        curl_easy_setopt(h->c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h->c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    } else {
        curl_easy_setopt(h->c, CURLOPT_HTTPGET, 1L);
    }
    CURLcode rc = curl_easy_perform(h->c);
    curl_slist_free_all(hdr);
    if (rc != CURLE_OK)
        bench_fail("%s: %s", url, curl_easy_strerror(rc));
    long status = 0;
    curl_easy_getinfo(h->c, CURLINFO_RESPONSE_CODE, &status);
    if (answer)
        *answer = h->buf ? json_loadb(h->buf, h->len, 0, NULL) : NULL;
    return status;
}

int sim_service_open(struct sim *s)
{
    struct sim_http h;
    sim_http_init(&h, s->url);
    json_t *health = NULL;
    sim_operator_token_load(s);
    if (sim_http_call(&h, "/v1/health", s->operator_token, NULL, 0, &health) != 200)
        bench_fail("%s/v1/health: %s", s->url, h.buf ? h.buf : "no answer");
    int pid = (int)json_integer_value(json_object_get(health, "pid"));
    if (!s->home)
        s->home = strdup(json_string_value(json_object_get(health, "home")) ?: ".");
    json_decref(health);
    sim_http_done(&h);
    return pid;
}

void sim_load_average(char *out, size_t size)
{
    snprintf(out, size, "?");
    FILE *f = fopen("/proc/loadavg", "re");
    if (f && fgets(out, (int)size, f))
        out[strcspn(out, " ")] = 0;
    if (f)
        fclose(f);
}

/* ---- keys ---- */

char *sim_marshal_public_b64(const TPM2B_PUBLIC *pub)
{
    uint8_t buf[sizeof(TPM2B_PUBLIC)];
    size_t off = 0;
    if (Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS)
        bench_fail("marshalling a TPM2B_PUBLIC failed");
    return sim_b64(buf, off);
}

void sim_bn_param(EVP_PKEY *k, const char *name, uint8_t *out, int size)
{
    BIGNUM *bn = NULL;
    if (EVP_PKEY_get_bn_param(k, name, &bn) != 1 || BN_bn2binpad(bn, out, size) != size)
        bench_fail("key parameter %s", name);
    BN_free(bn);
}

/* An RSA-2048 EK: a software key in the default EK template (L-1). */
void sim_ek_make(struct sim_ek *e)
{
    e->key = EVP_RSA_gen(2048);
    if (!e->key)
        bench_fail("RSA key generation failed");
    TPM2B_PUBLIC pub;
    tl_ek_template(TL_EK_RSA2048, &pub);
    sim_bn_param(e->key, OSSL_PKEY_PARAM_RSA_N, pub.publicArea.unique.rsa.buffer, 256);
    e->public_b64 = sim_marshal_public_b64(&pub);
}

/* An ECC P-256 AK as tl-agent creates it, and its Name. */
void sim_ak_make(struct sim_node *n)
{
    n->ak = EVP_EC_gen("P-256");
    if (!n->ak)
        bench_fail("EC key generation failed");
    TPM2B_PUBLIC pub = {0};
    TPMT_PUBLIC *p = &pub.publicArea;
    p->type = TPM2_ALG_ECC;
    p->nameAlg = TPM2_ALG_SHA256;
    p->objectAttributes = AK_ATTRIBUTES;
    p->parameters.eccDetail = (TPMS_ECC_PARMS){
        .symmetric.algorithm = TPM2_ALG_NULL,
        .scheme = {.scheme = TPM2_ALG_ECDSA, .details.ecdsa.hashAlg = TPM2_ALG_SHA256},
        .curveID = TPM2_ECC_NIST_P256,
        .kdf.scheme = TPM2_ALG_NULL};
    p->unique.ecc.x.size = p->unique.ecc.y.size = 32;
    sim_bn_param(n->ak, OSSL_PKEY_PARAM_EC_PUB_X, p->unique.ecc.x.buffer, 32);
    sim_bn_param(n->ak, OSSL_PKEY_PARAM_EC_PUB_Y, p->unique.ecc.y.buffer, 32);
    struct tl_error err = {0};
    if (tl_tpm_public_name(&pub, n->ak_name, &n->ak_name_len, &err) < 0)
        bench_die("AK Name", &err);
    n->ak_public_b64 = sim_marshal_public_b64(&pub);
}

/* ---- ActivateCredential in software (tests/unit/test_credential.c) ---- */

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* KDFa, Part 1 11.4.10.3, SHA-256:
 * K(i) = HMAC(key, [i]32 || Label || 0x00 || ContextU || ContextV || [bits]32). */
static void kdfa(const uint8_t *key, size_t key_len, const char *label, const uint8_t *u,
                 size_t u_len, size_t bits, uint8_t *out)
{
    uint8_t msg[4 + 32 + 80 + 4], k[32];
    size_t done = 0;
    for (uint32_t i = 1; done < bits / 8; i++) {
        size_t n = 4;
        be32(msg, i);
        memcpy(msg + n, label, strlen(label) + 1);
        n += strlen(label) + 1;
        if (u_len)
            memcpy(msg + n, u, u_len);
        n += u_len;
        be32(msg + n, (uint32_t)bits);
        n += 4;
        unsigned kl = 0;
        if (!HMAC(EVP_sha256(), key, (int)key_len, msg, n, k, &kl))
            bench_fail("HMAC failed");
        size_t take = bits / 8 - done < 32 ? bits / 8 - done : 32;
        memcpy(out + done, k, take);
        done += take;
    }
}

/* The seed: RSA-OAEP(SHA-256, label "IDENTITY\0") with the EK's private key. */
static int seed_rsa(EVP_PKEY *k, const uint8_t *enc_m, size_t enc_len, uint8_t seed[32])
{
    TPM2B_ENCRYPTED_SECRET s = {0};
    size_t off = 0;
    if (Tss2_MU_TPM2B_ENCRYPTED_SECRET_Unmarshal(enc_m, enc_len, &off, &s) != TSS2_RC_SUCCESS ||
        off != enc_len)
        return -EBADMSG;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL);
    uint8_t *label = OPENSSL_malloc(9);
    uint8_t out[256];
    size_t n = sizeof(out);
    int r = -EPERM;
    if (c && label && EVP_PKEY_decrypt_init(c) == 1 &&
        EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) == 1 &&
        EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_sha256()) == 1) {
        memcpy(label, "IDENTITY", 9);
        if (EVP_PKEY_CTX_set0_rsa_oaep_label(c, label, 9) == 1) {
            label = NULL;
            if (EVP_PKEY_decrypt(c, out, &n, s.secret, s.size) == 1 && n == 32) {
                memcpy(seed, out, 32);
                r = 0;
            }
        }
    }
    OPENSSL_free(label);
    EVP_PKEY_CTX_free(c);
    return r;
}

/* TPM2_ActivateCredential's second half: the integrity HMAC, then
 * AES-128-CFB with a zero IV; -EPERM when the integrity check fails. */
static int activate(const uint8_t seed[32], const uint8_t *blob_m, size_t blob_len,
                    const uint8_t *name, size_t name_len, uint8_t *secret, size_t *secret_len)
{
    TPM2B_ID_OBJECT blob = {0};
    TPM2B_DIGEST integrity = {0};
    size_t off = 0;
    if (Tss2_MU_TPM2B_ID_OBJECT_Unmarshal(blob_m, blob_len, &off, &blob) != TSS2_RC_SUCCESS ||
        off != blob_len)
        return -EBADMSG;
    off = 0;
    if (Tss2_MU_TPM2B_DIGEST_Unmarshal(blob.credential, blob.size, &off, &integrity) !=
            TSS2_RC_SUCCESS ||
        integrity.size != 32)
        return -EBADMSG;
    const uint8_t *enc = blob.credential + off;
    size_t enc_len = blob.size - off;
    uint8_t hkey[32], hmac[32];
    kdfa(seed, 32, "INTEGRITY", NULL, 0, 256, hkey);
    uint8_t msg[sizeof(TPM2B_DIGEST) + sizeof(TPMU_NAME)];
    memcpy(msg, enc, enc_len);
    memcpy(msg + enc_len, name, name_len);
    unsigned hl = 0;
    if (!HMAC(EVP_sha256(), hkey, 32, msg, enc_len + name_len, hmac, &hl) ||
        CRYPTO_memcmp(hmac, integrity.buffer, 32) != 0)
        return -EPERM;
    uint8_t skey[16], plain[sizeof(TPM2B_DIGEST)];
    kdfa(seed, 32, "STORAGE", name, name_len, 128, skey);
    static const uint8_t iv[16];
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0;
    bool ok = c && EVP_DecryptInit_ex(c, EVP_aes_128_cfb128(), NULL, skey, iv) == 1 &&
              EVP_DecryptUpdate(c, plain, &n, enc, (int)enc_len) == 1;
    EVP_CIPHER_CTX_free(c);
    TPM2B_DIGEST cred = {0};
    off = 0;
    if (!ok || Tss2_MU_TPM2B_DIGEST_Unmarshal(plain, (size_t)n, &off, &cred) != TSS2_RC_SUCCESS ||
        off != (size_t)n)
        return -EBADMSG;
    memcpy(secret, cred.buffer, cred.size);
    *secret_len = cred.size;
    return 0;
}

/* ---- what the AK signs ---- */

void sim_attest_sign(struct sim_node *n, TPMS_ATTEST *a, char *attest_b64, char *sig_b64,
                     struct sim_quote_raw *raw)
{
    a->magic = TPM2_GENERATED_VALUE;
    a->qualifiedSigner.size = (UINT16)n->ak_name_len;
    memcpy(a->qualifiedSigner.name, n->ak_name, n->ak_name_len);
    n->clock += 1000;
    a->clockInfo = (TPMS_CLOCK_INFO){.clock = n->clock, .safe = TPM2_YES};
    a->firmwareVersion = 0x2019102300163636ull;
    uint8_t buf[sizeof(TPMS_ATTEST)];
    size_t len = 0;
    if (Tss2_MU_TPMS_ATTEST_Marshal(a, buf, sizeof(buf), &len) != TSS2_RC_SUCCESS)
        bench_fail("marshalling a TPMS_ATTEST failed");

    uint8_t der[512];
    size_t der_len = sizeof(der);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, n->ak) != 1 ||
        EVP_DigestSign(md, der, &der_len, buf, len) != 1)
        bench_fail("AK signing failed");
    EVP_MD_CTX_free(md);
    TPMT_SIGNATURE sig = {0};
    if (EVP_PKEY_is_a(n->ak, "RSA")) { /* PKCS#1 v1.5, the EVP default */
        if (der_len > sizeof(sig.signature.rsassa.sig.buffer) || !raw)
            bench_fail("RSA signature");
        sig.sigAlg = TPM2_ALG_RSASSA;
        sig.signature.rsassa.hash = TPM2_ALG_SHA256;
        sig.signature.rsassa.sig.size = (UINT16)der_len;
        memcpy(sig.signature.rsassa.sig.buffer, der, der_len);
        memcpy(raw->attest, buf, len);
        raw->attest_len = len;
        memcpy(raw->sig, der, der_len);
        raw->sig_len = der_len;
    } else {
        const uint8_t *p = der;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
        sig.sigAlg = TPM2_ALG_ECDSA;
        sig.signature.ecdsa.hash = TPM2_ALG_SHA256;
        sig.signature.ecdsa.signatureR.size = sig.signature.ecdsa.signatureS.size = 32;
        if (!es ||
            BN_bn2binpad(ECDSA_SIG_get0_r(es), sig.signature.ecdsa.signatureR.buffer, 32) != 32 ||
            BN_bn2binpad(ECDSA_SIG_get0_s(es), sig.signature.ecdsa.signatureS.buffer, 32) != 32)
            bench_fail("ECDSA signature");
        ECDSA_SIG_free(es);
    }
    uint8_t sbuf[sizeof(TPMT_SIGNATURE)];
    size_t slen = 0;
    if (Tss2_MU_TPMT_SIGNATURE_Marshal(&sig, sbuf, sizeof(sbuf), &slen) != TSS2_RC_SUCCESS)
        bench_fail("marshalling the signature failed");
    EVP_EncodeBlock((unsigned char *)attest_b64, buf, (int)len);
    EVP_EncodeBlock((unsigned char *)sig_b64, sbuf, (int)slen);
}

void sim_quote(struct sim_node *n, const struct sim_evidence *ev, const uint8_t nonce[32],
               char *quote_b64, char *sig_b64, struct sim_quote_raw *raw)
{
    TPMS_ATTEST a = {.type = TPM2_ST_ATTEST_QUOTE};
    a.extraData.size = 32;
    memcpy(a.extraData.buffer, nonce, 32);
    TPML_PCR_SELECTION *sel = &a.attested.quote.pcrSelect;
    sel->count = 1;
    sel->pcrSelections[0].hash = TPM2_ALG_SHA256;
    sel->pcrSelections[0].sizeofSelect = 3;
    for (unsigned i = 0; i < 24; i++)
        if (SIM_QUOTE_PCRS & (1u << i))
            sel->pcrSelections[0].pcrSelect[i / 8] |= (uint8_t)(1u << (i % 8));
    a.attested.quote.pcrDigest.size = 32;
    memcpy(a.attested.quote.pcrDigest.buffer, ev->digest, 32);
    sim_attest_sign(n, &a, quote_b64, sig_b64, raw);
}

/* ---- the evidence ---- */

void sim_evidence_load(struct sim_evidence *ev, const char *path)
{
    size_t len = 0;
    uint8_t *buf = bench_read_file(path, &len);
    if (!buf)
        bench_die(path, NULL);
    struct tl_eventlog log;
    struct tl_error err = {0};
    struct tl_pcr_values *v = calloc(1, sizeof(*v));
    if (!v || tl_eventlog_parse(buf, len, &log, &err) < 0 || tl_replay(&log, NULL, v, &err) < 0)
        bench_die(path, &err);
    const struct tl_pcr_bank *b = tl_pcr_values_bank_const(v, TPM2_ALG_SHA256);
    if (!b)
        bench_fail("%s: no sha256 bank", path);
    json_t *bank = json_object(), *list = json_array();
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    for (unsigned i = 0; i < 24; i++) {
        if (!(SIM_QUOTE_PCRS & (1u << i)))
            continue;
        uint8_t zero[32] = {0};
        const uint8_t *val = b->mask & (1u << i) ? b->value[i] : zero;
        char key[4], hex[65];
        snprintf(key, sizeof(key), "%u", i);
        tl_hex_encode(val, 32, hex);
        json_object_set_new(bank, key, json_string(hex));
        EVP_DigestUpdate(md, val, 32);
    }
    for (unsigned i = 0; i <= 14; i++) { /* 0 to the highest quoted, as tl-agent sends them */
        uint8_t zero[32] = {0};
        char hex[65];
        tl_hex_encode(SIM_QUOTE_PCRS & (1u << i) && b->mask & (1u << i) ? b->value[i] : zero, 32,
                      hex);
        json_array_append_new(list, json_string(hex));
    }
    ev->tee_pcrs = json_dumps(list, JSON_COMPACT);
    json_decref(list);
    EVP_DigestFinal_ex(md, ev->digest, NULL);
    EVP_MD_CTX_free(md);
    json_t *pcrs = json_pack("{s:o}", "sha256", bank);
    ev->pcrs_json = json_dumps(pcrs, JSON_COMPACT);
    json_decref(pcrs);
    ev->eventlog = sim_b64(buf, len);
    tl_eventlog_done(&log);
    free(v);
    free(buf);
}

/* ---- phases ---- */

struct pool_arg {
    struct sim *s;
    sim_item_fn *fn;
    long n;
};

static void *pool_thread(void *p)
{
    struct pool_arg *a = p;
    struct sim_http h;
    sim_http_init(&h, a->s->url);
    long i;
    while (!atomic_load(&a->s->failed) && (i = atomic_fetch_add(&a->s->next_item, 1)) < a->n)
        a->fn(a->s, &h, i);
    sim_http_done(&h);
    return NULL;
}

double sim_run_pool(struct sim *s, sim_item_fn *fn, long n)
{
    pthread_t th[256];
    struct pool_arg a = {s, fn, n};
    int threads = s->threads < 256 ? s->threads : 256;
    atomic_store(&s->next_item, 0);
    double t0 = bench_clock(CLOCK_MONOTONIC);
    for (int i = 0; i < threads; i++)
        if (pthread_create(&th[i], NULL, pool_thread, &a) != 0)
            bench_fail("pthread_create failed");
    for (int i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    if (atomic_load(&s->failed))
        exit(1);
    return bench_clock(CLOCK_MONOTONIC) - t0;
}

int sim_node_create(struct sim *s, struct sim_http *h, long i, const json_t *extra, json_t **answer)
{
    struct sim_node *n = &s->nodes[i];
    json_t *req = json_pack("{s:s, s:b, s:s}", "name", n->name, "external", 1, "ek_public",
                            s->eks[i % s->n_eks].public_b64);
    if (extra)
        json_object_update(req, (json_t *)extra);
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    json_t *ans = NULL;
    long st = sim_http_call(h, "/v1/nodes", s->operator_token, body, strlen(body), &ans);
    free(body);
    const char *cert = json_string_value(json_object_get(ans, "ek_cert_issued"));
    if (st != 201 || !cert) {
        fprintf(stderr, "%s: create %s: HTTP %ld %s\n", bench_prog, n->name, st,
                h->buf ? h->buf : "");
        atomic_store(&s->failed, 1);
        json_decref(ans);
        return -1;
    }
    n->ek_cert_b64 = strdup(cert);
    snprintf(n->uuid, sizeof(n->uuid), "%s", json_string_value(json_object_get(ans, "uuid")) ?: "");
    if (answer)
        *answer = ans;
    else
        json_decref(ans);
    char path[4096];
    snprintf(path, sizeof(path), "%s/nodes/%s/agent.json", s->home, n->name);
    json_t *cfg = json_load_file(path, 0, NULL);
    const char *tok = json_string_value(json_object_get(cfg, "token"));
    if (!tok || strlen(tok) >= sizeof(n->token)) {
        fprintf(stderr, "%s: %s: no token\n", bench_prog, path);
        atomic_store(&s->failed, 1);
    } else {
        snprintf(n->token, sizeof(n->token), "%s", tok);
    }
    json_decref(cfg);
    return atomic_load(&s->failed) ? -1 : 0;
}

void sim_node_enrol(struct sim *s, struct sim_http *h, long i)
{
    struct sim_node *n = &s->nodes[i];
    char path[128];
    json_t *req =
        json_pack("{s:s, s:s, s:s, s:s}", "ek_type", "rsa2048", "ek_cert", n->ek_cert_b64,
                  "ek_public", s->eks[i % s->n_eks].public_b64, "ak_public", n->ak_public_b64);
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    json_t *ans = NULL;
    snprintf(path, sizeof(path), "/v1/nodes/%s/enroll", n->name);
    long st = sim_http_call(h, path, n->token, body, strlen(body), &ans);
    free(body);
    uint8_t *blob = NULL, *enc = NULL, seed[32], secret[64];
    size_t blob_len = 0, enc_len = 0, secret_len = 0;
    const char *challenge = json_string_value(json_object_get(ans, "challenge"));
    int r = -EPROTO;
    if (st == 200 && challenge &&
        sim_unb64(json_string_value(json_object_get(ans, "credential_blob")), &blob, &blob_len) ==
            0 &&
        sim_unb64(json_string_value(json_object_get(ans, "encrypted_secret")), &enc, &enc_len) ==
            0 &&
        (r = seed_rsa(s->eks[i % s->n_eks].key, enc, enc_len, seed)) == 0)
        r = activate(seed, blob, blob_len, n->ak_name, n->ak_name_len, secret, &secret_len);
    free(blob);
    free(enc);
    if (r < 0) {
        fprintf(stderr, "%s: enrol %s: HTTP %ld, %s: %s\n", bench_prog, n->name, st,
                r == -EPERM ? "ActivateCredential's integrity check failed" : "bad answer",
                h->buf ? h->buf : "");
        json_decref(ans);
        atomic_store(&s->failed, 1);
        return;
    }
    char *sb = sim_b64(secret, secret_len);
    req = json_pack("{s:s, s:s}", "challenge", challenge, "secret", sb);
    free(sb);
    json_decref(ans);
    body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    snprintf(path, sizeof(path), "/v1/nodes/%s/activate", n->name);
    st = sim_http_call(h, path, n->token, body, strlen(body), &ans);
    free(body);
    if (st != 200 || !json_is_true(json_object_get(ans, "enrolled"))) {
        fprintf(stderr, "%s: activate %s: HTTP %ld %s\n", bench_prog, n->name, st,
                h->buf ? h->buf : "");
        atomic_store(&s->failed, 1);
    }
    json_decref(ans);
}

long sim_node_attest(struct sim *s, struct sim_http *h, long i, sim_attest_extra_fn *extra,
                     json_t **answer, double *t_attest)
{
    struct sim_node *n = &s->nodes[i];
    size_t log_len = strlen(s->evidence.eventlog), pcrs_len = strlen(s->evidence.pcrs_json);
    size_t cap = log_len + pcrs_len + 4096 + (extra ? 16384 : 0);
    if (h->body_cap < cap) {
        free(h->body);
        if (!(h->body = malloc(cap)))
            bench_fail("out of memory");
        h->body_cap = cap;
    }
    char *body = h->body;
    char quote_b64[sizeof(TPMS_ATTEST) * 4 / 3 + 8], sig_b64[sizeof(TPMT_SIGNATURE) * 4 / 3 + 8];
    char path[128];
    json_t *ans = NULL;
    *answer = NULL;
    snprintf(path, sizeof(path), "/v1/nodes/%s/nonce", n->name);
    long st = sim_http_call(h, path, n->token, "{}", 2, &ans);
    const char *nonce_hex = json_string_value(json_object_get(ans, "nonce"));
    uint8_t nonce[32];
    if (st != 200 || !nonce_hex || tl_hex_decode(nonce_hex, strlen(nonce_hex), nonce, 32) != 32) {
        fprintf(stderr, "%s: nonce %s: HTTP %ld %s\n", bench_prog, n->name, st,
                h->buf ? h->buf : "");
        json_decref(ans);
        return -1;
    }
    struct sim_quote_raw raw;
    sim_quote(n, &s->evidence, nonce, quote_b64, sig_b64, &raw);
    int k =
        snprintf(body, cap, "{\"nonce\":\"%s\",\"quote\":\"%s\",\"signature\":\"%s\",\"pcrs\":%s,",
                 nonce_hex, quote_b64, sig_b64, s->evidence.pcrs_json);
    if (extra)
        k += (int)extra(n, i, nonce, &raw, body + k, cap - (size_t)k - log_len - 32);
    k += snprintf(body + k, cap - (size_t)k, "\"eventlog\":\"");
    json_decref(ans);
    memcpy(body + k, s->evidence.eventlog, log_len);
    memcpy(body + k + log_len, "\"}", 3);
    snprintf(path, sizeof(path), "/v1/nodes/%s/attest", n->name);
    double t1 = bench_clock(CLOCK_MONOTONIC);
    st = sim_http_call(h, path, n->token, body, (size_t)k + log_len + 2, answer);
    *t_attest = bench_clock(CLOCK_MONOTONIC) - t1;
    return st;
}
