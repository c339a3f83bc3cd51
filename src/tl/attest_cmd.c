/* `tl attest verify|make-credential`: offline remote attestation.
 *
 * verify: a TPM quote (AK public area, TPMS_ATTEST, TPMT_SIGNATURE) and
 * optionally its PCR values and event log, as files (tpm2-tools' forms:
 * tpm2_createak -u, tpm2_quote -m / -s / its YAML) or as go-attestation's
 * JSON (AK public, quote, signature, nonce, PCRs, raw log). libtl's
 * attest.h does the checking; this file reads the files, prints the verdict
 * and maps it to the exit status: 0 pass, 1 fail (with every reason,
 * evidence that does not parse included: to a verifier a truncated quote is
 * a failed attestation), 2 bad input (usage, unreadable files, a --nonce
 * that is not hex, a PCR file or JSON that is not what it should be).
 *
 * make-credential: TPM2_MakeCredential in software (credential.h) for an
 * EK public area and an object Name; writes the blob, the encrypted seed,
 * or tpm2-tools' combined file for tpm2_activatecredential.
 *
 * libtss2-mu logs what it refuses to stderr; TSS2_LOG is set to silence it
 * (unless the caller set it), so errors stay one line. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "output.h"
#include "tl.h"
#include "tl/akey.h"
#include "tl/attest.h"
#include "tl/base64.h"
#include "tl/credential.h"
#include "tl/eventlog.h"
#include "tl/util.h"

static void usage(FILE *f)
{
    fputs("usage: tl attest verify --ak AKPUB --quote ATTEST --signature SIG [--nonce HEX]\n"
          "                        [--pcrs FILE] [--eventlog FILE] [--allow-sha1]\n"
          "                        [--allow-unbound-data] [--json]\n"
          "       tl attest verify --go-attestation FILE [--nonce HEX] [--allow-sha1]\n"
          "                        [--allow-unbound-data] [--json]\n"
          "       tl attest make-credential --ek-public FILE --name HEX --secret HEX\n"
          "                        [-o BLOB] [--secret-out FILE] [--tpm2-tools FILE] [--json]\n"
          "\n"
          "verify: the AK is an attestation key, the quote is a TPM-generated quote signed\n"
          "  by it, its nonce is HEX, its PCR digest is that of the PCR values (FILE, or\n"
          "  the event log's replay), and the event log replays to the quoted PCRs.\n"
          "  AKPUB: TPM2B_PUBLIC or TPMT_PUBLIC; ATTEST: TPMS_ATTEST (tpm2_quote -m);\n"
          "  SIG: TPMT_SIGNATURE (tpm2_quote -s); FILE: PCR values (tl eventlog replay\n"
          "  forms, tpm2_pcrread/tpm2_quote YAML). SHA-1 is refused unless --allow-sha1.\n"
          "make-credential: a credential only the TPM with this EK (TPM2B_PUBLIC,\n"
          "  tpm2_createek -u) can recover, for the object named HEX (tpm2_createak -n);\n"
          "  -o writes the TPM2B_ID_OBJECT, --secret-out the TPM2B_ENCRYPTED_SECRET,\n"
          "  --tpm2-tools the file tpm2_activatecredential -i reads.\n"
          "Exit status: 0 pass, 1 the attestation fails, 2 bad usage or input.\n",
          f);
}

/* ---- input ---- */

struct blob {
    uint8_t *p;
    size_t len;
};

static void blob_free(struct blob *b)
{
    free(b->p);
    *b = (struct blob){0};
}

static int read_blob(const char *path, struct blob *b)
{
    return tlc_read_file(path, &b->p, &b->len) < 0 ? -1 : 0;
}

static int parse_hex(const char *what, const char *hex, uint8_t *out, size_t size, size_t *len)
{
    int n = tl_hex_decode(hex, strlen(hex), out, size);
    if (n < 0) {
        tlc_report("attest", "%s: %s", what, n == -ENOBUFS ? "too long" : "not a hex string");
        return -1;
    }
    *len = (size_t)n;
    return 0;
}

static int b64_decode(const char *in, struct blob *out)
{
    *out = (struct blob){0};
    return tl_base64_decode_string(in, &out->p, &out->len) < 0 ? -1 : 0;
}

/* Go's crypto.Hash values in go-attestation's PCRs. */
static uint16_t go_hash_alg(json_int_t h)
{
    switch (h) {
    case 3:
        return TL_ALG_SHA1;
    case 5:
        return TL_ALG_SHA256;
    case 6:
        return TL_ALG_SHA384;
    case 7:
        return TL_ALG_SHA512;
    default:
        return 0;
    }
}

struct evidence {
    struct blob ak, quote, sig, log;
    bool have_log;
    bool have_nonce;
    uint8_t nonce[TL_DIGEST_MAX + 2];
    size_t nonce_len;
    struct tl_pcr_values *pcrs; /* NULL: from the log */
    const char *pcrs_source;
};

static void evidence_done(struct evidence *e)
{
    blob_free(&e->ak);
    blob_free(&e->quote);
    blob_free(&e->sig);
    blob_free(&e->log);
    free(e->pcrs);
}

static int json_b64(const char *file, json_t *root, const char *obj, const char *key,
                    struct blob *out)
{
    json_t *v = json_object_get(json_object_get(root, obj), key);
    if (!json_is_string(v) || b64_decode(json_string_value(v), out) < 0) {
        tlc_report(file, "%s.%s: missing or not base64", obj, key);
        return -1;
    }
    return 0;
}

/* go-attestation's attest.AttestationParameters + PlatformParameters as
 * its testdata stores them: {"AK": {"Public"}, "Quote": {"Nonce", "Quote",
 * "Signature"}, "Log": {"PCRs": [{"Index", "Digest", "DigestAlg"}], "Raw"}}. */
static int load_go_attestation(const char *file, struct evidence *e, bool nonce_given)
{
    struct blob text = {0};
    if (read_blob(file, &text) < 0)
        return -1;
    json_error_t je;
    json_t *root = json_loadb((const char *)text.p, text.len, 0, &je);
    blob_free(&text);
    if (!json_is_object(root)) {
        tlc_report(file, "not JSON: %s (line %d)", je.text, je.line);
        json_decref(root);
        return -1;
    }
    int r = -1;
    struct blob nonce = {0};
    if (json_b64(file, root, "AK", "Public", &e->ak) < 0 ||
        json_b64(file, root, "Quote", "Quote", &e->quote) < 0 ||
        json_b64(file, root, "Quote", "Signature", &e->sig) < 0 ||
        json_b64(file, root, "Log", "Raw", &e->log) < 0)
        goto out;
    e->have_log = true;
    if (!nonce_given) {
        if (json_b64(file, root, "Quote", "Nonce", &nonce) < 0)
            goto out;
        if (nonce.len > sizeof(e->nonce)) {
            tlc_report(file, "Quote.Nonce: %zu bytes, too long", nonce.len);
            goto out;
        }
        memcpy(e->nonce, nonce.p, nonce.len);
        e->nonce_len = nonce.len;
        e->have_nonce = true;
    }
    json_t *pcrs = json_object_get(json_object_get(root, "Log"), "PCRs");
    if (!json_is_array(pcrs)) {
        tlc_report(file, "Log.PCRs: missing");
        goto out;
    }
    e->pcrs = calloc(1, sizeof(*e->pcrs));
    if (!e->pcrs)
        goto out;
    e->pcrs_source = "go-attestation Log.PCRs";
    size_t i;
    json_t *p;
    json_array_foreach(pcrs, i, p)
    {
        json_int_t index = json_integer_value(json_object_get(p, "Index"));
        uint16_t alg = go_hash_alg(json_integer_value(json_object_get(p, "DigestAlg")));
        struct blob d = {0};
        const char *s = json_string_value(json_object_get(p, "Digest"));
        if (!alg || index < 0 || index >= TL_PCR_COUNT || !s || b64_decode(s, &d) < 0 ||
            d.len != tl_alg_digest_size(alg)) {
            blob_free(&d);
            tlc_report(file,
                       "Log.PCRs[%zu]: not an Index 0-23, a DigestAlg 3/5/6/7 and a digest "
                       "of its size",
                       i);
            goto out;
        }
        struct tl_pcr_bank *b = tl_pcr_values_bank(e->pcrs, alg);
        if (!b) {
            if (e->pcrs->n_banks == TL_EVENTLOG_MAX_BANKS) {
                blob_free(&d);
                goto out;
            }
            b = &e->pcrs->banks[e->pcrs->n_banks++];
            *b = (struct tl_pcr_bank){.alg = alg, .size = (uint16_t)d.len};
        }
        if (b->mask & (1u << index)) {
            blob_free(&d);
            tlc_report(file, "Log.PCRs[%zu]: %s PCR %d twice", i, tl_alg_name(alg), (int)index);
            goto out;
        }
        memcpy(b->value[index], d.p, d.len);
        b->mask |= 1u << index;
        blob_free(&d);
    }
    r = 0;
out:
    blob_free(&nonce);
    json_decref(root);
    return r;
}

static int load_pcrs(const char *path, struct evidence *e)
{
    struct blob text = {0};
    struct tl_error err = {0};
    if (read_blob(path, &text) < 0)
        return -1;
    e->pcrs = calloc(1, sizeof(*e->pcrs));
    int r = e->pcrs ? tl_pcr_values_parse((const char *)text.p, text.len, e->pcrs, &err) : -ENOMEM;
    blob_free(&text);
    if (r < 0) {
        if (r == -ENOMEM)
            tlc_report(path, "out of memory");
        else
            tlc_report_error(path, &err);
        return -1;
    }
    e->pcrs_source = path;
    return 0;
}

/* ---- output ---- */

static const char *alg_or_hex(uint16_t alg, char buf[8])
{
    const char *n = tl_alg_name(alg);
    if (n)
        return n;
    snprintf(buf, 8, "0x%04x", alg);
    return buf;
}

static json_t *mask_json(uint32_t mask)
{
    json_t *a = json_array();
    for (int i = 0; i < TL_PCR_COUNT; i++)
        if (mask & (1u << i))
            json_array_append_new(a, json_integer(i));
    return a;
}

static void print_mask(uint32_t mask)
{
    for (int i = 0; i < TL_PCR_COUNT; i++)
        if (mask & (1u << i))
            printf(" %d", i);
}

static void all_reasons(const struct tl_attest_verdict *v,
                        void (*fn)(const struct tl_quote_reason *, void *), void *ctx)
{
    for (unsigned i = 0; i < v->quote.n_reasons; i++)
        fn(&v->quote.reasons[i], ctx);
    for (unsigned i = 0; i < v->n_reasons; i++)
        fn(&v->reasons[i], ctx);
}

static void reason_json(const struct tl_quote_reason *r, void *ctx)
{
    json_array_append_new(
        ctx, json_pack("{s:s, s:s}", "part", tl_quote_part_name(r->part), "message", r->message));
}

static void reason_text(const struct tl_quote_reason *r, void *ctx)
{
    (void)ctx;
    printf("FAIL: %s\n", r->message);
}

static json_t *verdict_json(const struct tl_attest_verdict *v, const struct tl_akey *ak,
                            const struct evidence *e)
{
    const struct tl_quote_verdict *qv = &v->quote;
    char b[8];
    json_t *reasons = json_array();
    all_reasons(v, reason_json, reasons);
    size_t dropped = v->n_reasons_total - v->n_reasons;

    json_t *akj = json_null();
    if (ak) {
        const TPMT_PUBLIC *p = &ak->public.publicArea;
        char attrs[16];
        snprintf(attrs, sizeof(attrs), "0x%08x", p->objectAttributes);
        akj = json_pack("{s:o, s:s, s:i, s:s, s:s}", "name", tlc_json_hex(ak->name, ak->name_len),
                        "type", p->type == TPM2_ALG_RSA ? "rsa" : "ecc", "bits",
                        EVP_PKEY_get_bits(ak->key), "name_alg", alg_or_hex(p->nameAlg, b),
                        "attributes", attrs);
    }
    json_t *qj = json_null();
    if (qv->quote_ok) {
        const struct tl_quote *q = &qv->quote;
        json_t *banks = json_object();
        for (uint32_t i = 0; i < q->pcr_select.count; i++) {
            uint16_t alg = q->pcr_select.pcrSelections[i].hash;
            json_object_set_new(banks, alg_or_hex(alg, b), mask_json(tl_quote_pcr_mask(q, alg)));
        }
        char fw[24];
        snprintf(fw, sizeof(fw), "0x%016llx", (unsigned long long)q->firmware_version);
        qj = json_pack("{s:o, s:o, s:I, s:I, s:I, s:b, s:s, s:o, s:o}", "signer",
                       tlc_json_hex(q->qualified_signer.name, q->qualified_signer.size), "nonce",
                       tlc_json_hex(q->extra_data.buffer, q->extra_data.size), "clock",
                       (json_int_t)q->clock, "reset_count", (json_int_t)q->reset_count,
                       "restart_count", (json_int_t)q->restart_count, "safe", q->safe,
                       "firmware_version", fw, "pcr_digest",
                       tlc_json_hex(q->pcr_digest.buffer, q->pcr_digest.size), "banks", banks);
    }
    json_t *sj = json_null();
    if (qv->sig_scheme)
        sj = json_pack("{s:s, s:s, s:b}", "scheme", tl_tpm_sig_scheme_name(qv->sig_scheme) ?: "?",
                       "hash", alg_or_hex(qv->sig_hash, b), "verified", qv->signature_ok);
    json_t *nj = json_pack("{s:b, s:o}", "checked", qv->nonce_checked, "ok",
                           qv->nonce_checked ? json_boolean(qv->nonce_ok) : json_null());
    json_t *pj = json_pack("{s:b, s:o, s:o, s:o}", "checked", qv->pcrs_checked, "ok",
                           qv->pcrs_checked ? json_boolean(qv->pcrs_ok) : json_null(), "source",
                           !qv->pcrs_checked  ? json_null()
                           : v->pcrs_from_log ? json_string("eventlog")
                                              : json_string(e->pcrs_source),
                           "digest",
                           qv->pcr_digest_len ? tlc_json_hex(qv->pcr_digest, qv->pcr_digest_len)
                                              : json_null());
    json_t *lj = json_null();
    if (v->log_given) {
        json_t *unbound = json_array();
        for (size_t i = 0; i < v->n_unbound; i++) {
            const struct tl_attest_unbound *u = &v->unbound[i];
            const char *tn = tl_event_type_name(u->type);
            json_array_append_new(
                unbound, json_pack("{s:I, s:I, s:s, s:I, s:I, s:b}", "event", (json_int_t)u->event,
                                   "pcr", (json_int_t)u->pcr, "type", tn ? tn : "unknown",
                                   "data_offset", (json_int_t)u->data_offset, "data_size",
                                   (json_int_t)u->data_size, "not_quoted", u->not_quoted));
        }
        lj = json_pack("{s:b, s:b, s:I, s:o, s:o, s:o, s:o}", "parsed", v->log_parsed, "ok",
                       v->log_ok, "events", (json_int_t)v->n_events, "compared",
                       mask_json(v->compared), "not_covered", mask_json(v->not_covered),
                       "not_quoted", mask_json(v->not_quoted), "unbound", unbound);
    }
    return json_pack("{s:s, s:o, s:I, s:o, s:o, s:o, s:o, s:o, s:o}", "verdict",
                     v->pass ? "pass" : "fail", "reasons", reasons, "reasons_not_shown",
                     (json_int_t)dropped, "ak", akj, "quote", qj, "signature", sj, "nonce", nj,
                     "pcrs", pj, "eventlog", lj);
}

static void verdict_text(const struct tl_attest_verdict *v, const struct tl_akey *ak)
{
    const struct tl_quote_verdict *qv = &v->quote;
    char b[8], hex[2 * TL_DIGEST_MAX + 8];
    if (ak) {
        tl_hex_encode(ak->name, ak->name_len, hex);
        printf("ak: %s %d, name %s, attributes 0x%08x\n",
               ak->public.publicArea.type == TPM2_ALG_RSA ? "rsa" : "ecc",
               EVP_PKEY_get_bits(ak->key), hex, ak->public.publicArea.objectAttributes);
    }
    if (qv->quote_ok) {
        const struct tl_quote *q = &qv->quote;
        tl_hex_encode(q->qualified_signer.name, q->qualified_signer.size, hex);
        printf("quote: signer %s, clock %llu, resets %u, restarts %u, safe %s, firmware "
               "0x%016llx\n",
               hex, (unsigned long long)q->clock, q->reset_count, q->restart_count,
               q->safe ? "yes" : "no", (unsigned long long)q->firmware_version);
        for (uint32_t i = 0; i < q->pcr_select.count; i++) {
            uint16_t alg = q->pcr_select.pcrSelections[i].hash;
            printf("quoted: %s PCRs", alg_or_hex(alg, b));
            print_mask(tl_quote_pcr_mask(q, alg));
            putchar('\n');
        }
    }
    if (qv->sig_scheme)
        printf("signature: %s %s, %s\n", tl_tpm_sig_scheme_name(qv->sig_scheme) ?: "?",
               alg_or_hex(qv->sig_hash, b), qv->signature_ok ? "verified" : "not verified");
    if (qv->quote_ok) {
        char n[2 * 64 + 1];
        tl_hex_encode(qv->quote.extra_data.buffer, qv->quote.extra_data.size, n);
        printf("nonce: \"%s\" (%u bytes), %s\n", n, qv->quote.extra_data.size,
               !qv->nonce_checked ? "not checked (no --nonce)"
               : qv->nonce_ok     ? "as expected"
                                  : "NOT the expected one");
    }
    if (qv->pcrs_checked) {
        tl_hex_encode(qv->pcr_digest, qv->pcr_digest_len, hex);
        printf("pcrs: digest of the %s: %s, %s\n",
               v->pcrs_from_log ? "event log's replay" : "PCR values", hex,
               qv->pcrs_ok ? "the quote's" : "NOT the quote's");
    } else {
        printf("pcrs: not checked\n");
    }
    if (v->log_given && v->log_parsed) {
        printf("eventlog: %zu events, replay compared with the quote for PCRs", v->n_events);
        print_mask(v->compared);
        putchar('\n');
        if (v->not_covered) {
            printf("eventlog: quoted PCRs the log never extends:");
            print_mask(v->not_covered);
            putchar('\n');
        }
        if (v->not_quoted) {
            printf("eventlog: PCRs the log extends that the quote does not cover:");
            print_mask(v->not_quoted);
            putchar('\n');
        }
        for (size_t i = 0; i < v->n_unbound; i++) {
            const struct tl_attest_unbound *u = &v->unbound[i];
            const char *tn = tl_event_type_name(u->type);
            printf("unbound: event %u (PCR %u, %s): data at offset %u, %u bytes, %s\n", u->event,
                   u->pcr, tn ? tn : "unknown type", u->data_offset, u->data_size,
                   u->not_quoted ? "in a PCR the quote does not cover" : "covered by no digest");
        }
    }
    all_reasons(v, reason_text, NULL);
    if (v->n_reasons_total > v->n_reasons)
        printf("FAIL eventlog: %zu more reasons not shown\n", v->n_reasons_total - v->n_reasons);
    if (v->pass)
        printf("verdict: pass\n");
    else
        printf("verdict: FAIL (%zu reasons)\n", qv->n_reasons + v->n_reasons_total);
}

/* ---- verbs ---- */

static int cmd_verify(int argc, char **argv)
{
    static const struct option options[] = {
        {"ak", required_argument, NULL, 'a'},
        {"quote", required_argument, NULL, 'q'},
        {"signature", required_argument, NULL, 's'},
        {"nonce", required_argument, NULL, 'n'},
        {"pcrs", required_argument, NULL, 'p'},
        {"eventlog", required_argument, NULL, 'l'},
        {"go-attestation", required_argument, NULL, 'g'},
        {"allow-sha1", no_argument, NULL, '1'},
        {"allow-unbound-data", no_argument, NULL, 'u'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *ak = NULL, *quote = NULL, *sig = NULL, *nonce = NULL, *pcrs = NULL, *log = NULL,
               *go = NULL;
    unsigned flags = 0;
    bool json = false;
    int c;
    optind = 1;
    opterr = 0;
    json = tlc_output_wants_json(); /* --json, --output, --query */
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (c) {
        case 'a':
            ak = optarg;
            break;
        case 'q':
            quote = optarg;
            break;
        case 's':
            sig = optarg;
            break;
        case 'n':
            nonce = optarg;
            break;
        case 'p':
            pcrs = optarg;
            break;
        case 'l':
            log = optarg;
            break;
        case 'g':
            go = optarg;
            break;
        case '1':
            flags |= TL_ATTEST_ALLOW_SHA1;
            break;
        case 'u':
            flags |= TL_ATTEST_ALLOW_UNBOUND_DATA;
            break;
        case 'h':
            usage(stdout);
            return TLC_EXIT_OK;
        default:
            tlc_report_option_error("attest verify", argv);
            return TLC_EXIT_BAD;
        }
    }
    if (optind < argc) {
        tlc_report("attest verify", "unexpected argument \"%s\"", argv[optind]);
        return TLC_EXIT_BAD;
    }
    if (go && (ak || quote || sig || pcrs || log)) {
        tlc_report("attest verify",
                   "--go-attestation carries the AK, quote, signature, "
                   "PCRs and log: give none of --ak --quote --signature --pcrs --eventlog");
        return TLC_EXIT_BAD;
    }
    if (!go && (!ak || !quote || !sig)) {
        tlc_report("attest verify", "--ak, --quote and --signature are required (or "
                                    "--go-attestation)");
        return TLC_EXIT_BAD;
    }

    struct evidence e = {0};
    int status = TLC_EXIT_BAD;
    if (nonce) {
        if (parse_hex("--nonce", nonce, e.nonce, sizeof(e.nonce), &e.nonce_len) < 0)
            goto out;
        e.have_nonce = true;
    }
    if (go) {
        if (load_go_attestation(go, &e, nonce != NULL) < 0)
            goto out;
    } else {
        if (read_blob(ak, &e.ak) < 0 || read_blob(quote, &e.quote) < 0 ||
            read_blob(sig, &e.sig) < 0)
            goto out;
        if (log) {
            if (read_blob(log, &e.log) < 0)
                goto out;
            e.have_log = true;
        }
        if (pcrs && load_pcrs(pcrs, &e) < 0)
            goto out;
    }

    struct tl_quote_evidence ev = {e.ak.p,  e.ak.len,  e.quote.p, e.quote.len,
                                   e.sig.p, e.sig.len, NULL};
    struct tl_quote_expect ex = {.check_nonce = e.have_nonce,
                                 .nonce = e.nonce,
                                 .nonce_len = e.nonce_len,
                                 .pcrs = e.pcrs,
                                 .flags = flags};
    struct tl_attest_verdict v;
    if (tl_attest_verify(&ev, e.have_log ? e.log.p : NULL, e.log.len, &ex, &v) < 0) {
        tlc_report("attest verify", "out of memory");
        goto out;
    }
    /* The AK again, for what the output says about it (the verdict keeps
     * only its Name); shown also when only SHA-1 made it fail. */
    struct tl_akey key;
    bool have_key = tl_akey_load(e.ak.p, e.ak.len, flags | TL_ATTEST_ALLOW_SHA1, &key, NULL) == 0;
    if (json)
        tlc_json_print(verdict_json(&v, have_key ? &key : NULL, &e));
    else
        verdict_text(&v, have_key ? &key : NULL);
    if (have_key)
        tl_akey_done(&key);
    status = v.pass ? TLC_EXIT_OK : TLC_EXIT_FAIL;
    tl_attest_verdict_done(&v);
out:
    evidence_done(&e);
    return status;
}

static int write_file(const char *path, const uint8_t *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        tlc_report(path, "cannot create: %s", strerror(errno));
        return -1;
    }
    return tlc_write_fd(fd, path, data, len) < 0 ? -1 : 0;
}

static int cmd_make_credential(int argc, char **argv)
{
    static const struct option options[] = {
        {"ek-public", required_argument, NULL, 'e'},
        {"name", required_argument, NULL, 'n'},
        {"secret", required_argument, NULL, 's'},
        {"output", required_argument, NULL, 'o'},
        {"secret-out", required_argument, NULL, 'S'},
        {"tpm2-tools", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *ek_file = NULL, *name_hex = NULL, *secret_hex = NULL;
    const char *out[3] = {NULL, NULL, NULL}; /* indexed by enum tl_credential_form */
    bool json = false;
    int c;
    optind = 1;
    opterr = 0;
    json = tlc_output_wants_json(); /* --json, --output, --query */
    while ((c = getopt_long(argc, argv, "o:h", options, NULL)) != -1) {
        switch (c) {
        case 'e':
            ek_file = optarg;
            break;
        case 'n':
            name_hex = optarg;
            break;
        case 's':
            secret_hex = optarg;
            break;
        case 'o':
            out[TL_CREDENTIAL_BLOB] = optarg;
            break;
        case 'S':
            out[TL_CREDENTIAL_SECRET] = optarg;
            break;
        case 't':
            out[TL_CREDENTIAL_TPM2_TOOLS] = optarg;
            break;
        case 'h':
            usage(stdout);
            return TLC_EXIT_OK;
        default:
            tlc_report_option_error("attest make-credential", argv);
            return TLC_EXIT_BAD;
        }
    }
    if (optind < argc || !ek_file || !name_hex || !secret_hex || !(out[0] || out[1] || out[2])) {
        tlc_report("attest make-credential", "--ek-public, --name, --secret and one of "
                                             "-o, --secret-out, --tpm2-tools are required");
        return TLC_EXIT_BAD;
    }
    uint8_t name[sizeof(TPMU_NAME)], secret[TL_DIGEST_MAX];
    size_t name_len, secret_len;
    if (parse_hex("--name", name_hex, name, sizeof(name), &name_len) < 0 ||
        parse_hex("--secret", secret_hex, secret, sizeof(secret), &secret_len) < 0)
        return TLC_EXIT_BAD;

    struct blob ekb = {0};
    if (read_blob(ek_file, &ekb) < 0)
        return TLC_EXIT_BAD;
    TPM2B_PUBLIC ek;
    struct tl_error err = {0};
    int r = tl_tpm_public_parse(ekb.p, ekb.len, &ek, &err);
    blob_free(&ekb);
    if (r < 0) {
        tlc_report_error(ek_file, &err);
        return TLC_EXIT_BAD;
    }
    struct tl_credential cred;
    r = tl_credential_make(&ek, name, name_len, secret, secret_len, &cred, &err);
    OPENSSL_cleanse(secret, sizeof(secret));
    if (r < 0) {
        tlc_report_error(r == -EINVAL || r == -EOPNOTSUPP ? ek_file : "attest make-credential",
                         &err);
        return TLC_EXIT_BAD;
    }
    for (int f = 0; f < 3; f++) {
        if (!out[f])
            continue;
        uint8_t buf[TL_CREDENTIAL_MARSHAL_MAX];
        size_t len = 0;
        if (tl_credential_marshal(&cred, (enum tl_credential_form)f, buf, sizeof(buf), &len, &err) <
            0) {
            tlc_report_error(out[f], &err);
            return TLC_EXIT_BAD;
        }
        if (write_file(out[f], buf, len) < 0)
            return TLC_EXIT_BAD;
    }
    if (json) {
        char ek_type[16];
        snprintf(ek_type, sizeof(ek_type), "%s",
                 ek.publicArea.type == TPM2_ALG_RSA ? "rsa" : "ecc");
        tlc_json_print(json_pack(
            "{s:s, s:o, s:I, s:I, s:o, s:o, s:o}", "ek_type", ek_type, "name",
            tlc_json_hex(name, name_len), "blob_size", (json_int_t)cred.blob.size, "secret_size",
            (json_int_t)cred.secret.size, "output", out[0] ? json_string(out[0]) : json_null(),
            "secret_out", out[1] ? json_string(out[1]) : json_null(), "tpm2_tools",
            out[2] ? json_string(out[2]) : json_null()));
    }
    return TLC_EXIT_OK;
}

int tlc_cmd_attest(int argc, char **argv)
{
    static const struct cli_verb verbs[] = {
        {"verify", cmd_verify},
        {"make-credential", cmd_make_credential},
        {NULL, NULL},
    };
    setenv("TSS2_LOG", "all+none", 0);
    return cli_dispatch("attest", verbs, usage, argc, argv);
}
