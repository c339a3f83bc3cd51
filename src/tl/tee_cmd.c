/* `tl tee verify|show`: confidential-VM evidence, offline.
 *
 * Each FILE is recognised by its content: an SEV-SNP ATTESTATION_REPORT
 * (1184 raw bytes, or their hex as text), a TDX quote (v4/v5 header with
 * TEE type 0x81), or Azure CVM evidence in trustee's JSON forms
 * (az-snp-vtpm / az-tdx-vtpm, v0-v2). libtl's tee.h, snp.h and azure.h do
 * the judging; this file reads the files (the evidence, --vcek, the
 * --collateral folder, --policy), prints the verdict and maps it to the
 * exit status: 0 every file passes, 1 a verdict of fail, 2 bad usage or
 * input (a file that is none of the above or does not parse as what it
 * claims to be: one line on stderr).
 *
 * TDX: the TDX verifier is the other half of issue 13 (tl/tdx.h). When
 * libtl has it (__has_include below), a bare TD quote and the TD quote
 * inside Azure evidence are verified with tl_tdx_verify against the TDX
 * collateral found in --collateral; without it a TDX quote is a fail with
 * `not-verified`, never a pass. The two hooks are tdx_verify() and
 * az_td_verify(). */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "output.h"
#include "tl.h"
#include "tl/azure.h"
#include "tl/quote.h"
#include "tl/snp.h"
#include "tl/tee.h"
#include "tl/util.h"
#include "tl/x509.h"

#if __has_include("tl/tdx.h")
#include "tl/tdx.h"
#define HAVE_TDX 1
#else
#define HAVE_TDX 0
struct tl_tdx_collateral;
#endif

#define COLLATERAL_MAX_FILES 256
#define COLLATERAL_MAX_BYTES (4u << 20)

static void usage(FILE *f)
{
    fputs("usage: tl tee verify [--json] [--at TIME] [--nonce HEX] [--vcek FILE]\n"
          "                     [--collateral DIR] [--policy FILE] FILE...\n"
          "       tl tee show [--json] FILE\n"
          "       tl tee emulate snp|tdx --dir DIR --out FILE [...] (tl tee emulate --help)\n"
          "\n"
          "verify: judges each FILE (an SEV-SNP report, raw or hex; a TDX quote; Azure CVM\n"
          "  evidence as trustee's JSON) at TIME (RFC 3339 UTC or @UNIX; default now)\n"
          "  against AMD's and Intel's built-in roots, the collateral in DIR, and the\n"
          "  policy FILE (JSON; strict defaults: no debug, VMPL 0, TCB UpToDate; other\n"
          "  roots only as its trusted-roots name them: the verdict then says emulated).\n"
          "  --nonce: the vTPM quote's extraData (Azure), or REPORT_DATA's start.\n"
          "  --vcek: the VCEK or VLEK of a bare SEV-SNP report (PEM or DER).\n"
          "show: decodes FILE's fields (MAA claim names).\n"
          "Exit status: 0 pass, 1 a verdict of fail, 2 bad usage or input.\n",
          f);
}

/* ---- inputs ---- */

struct collateral {
    struct tl_tee_blob *items;
    char **names;
    size_t n;
};

static void collateral_done(struct collateral *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free((void *)c->items[i].data);
        free(c->names[i]);
    }
    free(c->items);
    free(c->names);
    *c = (struct collateral){0};
}

static int collateral_add(struct collateral *c, const char *path)
{
    if (c->n >= COLLATERAL_MAX_FILES) {
        tlc_report(path, "more than %d collateral files", COLLATERAL_MAX_FILES);
        return -E2BIG;
    }
    uint8_t *buf;
    size_t len;
    if (tlc_read_file(path, &buf, &len) < 0)
        return -EIO;
    if (len > COLLATERAL_MAX_BYTES) {
        free(buf);
        tlc_report(path, "larger than %u MiB", COLLATERAL_MAX_BYTES >> 20);
        return -EFBIG;
    }
    struct tl_tee_blob *items = realloc(c->items, (c->n + 1) * sizeof(*items));
    char **names = items ? realloc(c->names, (c->n + 1) * sizeof(*names)) : NULL;
    if (items)
        c->items = items;
    if (names)
        c->names = names;
    char *name = names ? strdup(path) : NULL;
    if (!name) {
        free(buf);
        tlc_report(path, "out of memory");
        return -ENOMEM;
    }
    c->names[c->n] = name;
    c->items[c->n] = (struct tl_tee_blob){.name = name, .data = buf, .len = len};
    c->n++;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of dir (not recursive), in name order. */
static int collateral_read_dir(struct collateral *c, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        tlc_report(dir, "cannot open: %s", strerror(errno));
        return -errno;
    }
    char *names[COLLATERAL_MAX_FILES + 1];
    size_t n = 0;
    struct dirent *de;
    int r = 0;
    while ((de = readdir(d)) && r == 0) {
        if (de->d_name[0] == '.')
            continue;
        if (n > COLLATERAL_MAX_FILES) {
            tlc_report(dir, "more than %d files", COLLATERAL_MAX_FILES);
            r = -E2BIG;
            break;
        }
        if (asprintf(&names[n], "%s/%s", dir, de->d_name) < 0) {
            r = -ENOMEM;
            break;
        }
        struct stat st;
        if (stat(names[n], &st) < 0 || !S_ISREG(st.st_mode)) {
            free(names[n]);
            continue;
        }
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof(names[0]), cmp_str);
    for (size_t i = 0; i < n; i++) {
        if (r == 0)
            r = collateral_add(c, names[i]);
        free(names[i]);
    }
    return r;
}

enum file_kind { FILE_UNKNOWN, FILE_SNP, FILE_TDX, FILE_AZURE };

static bool is_text_hex(const uint8_t *p, size_t n)
{
    size_t digits = 0;
    for (size_t i = 0; i < n; i++) {
        char c = (char)p[i];
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
            continue;
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return false;
        digits++;
    }
    return digits > 0;
}

static bool is_json(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\n' || p[i] == '\r' || p[i] == '\t'))
        i++;
    return i < n && p[i] == '{';
}

/* TDX quote header (DCAP Quote Library, A.3): version 4/5, attestation key
 * type 2 (ECDSA P-256), TEE type 0x81. */
static bool is_tdx_quote(const uint8_t *p, size_t n)
{
    return n >= 48 && (tl_le16(p) == 4 || tl_le16(p) == 5) && tl_le16(p + 2) == 2 &&
           tl_le32(p + 4) == 0x81;
}

/* The evidence of one FILE, decoded; *kind says which member is set. */
struct input {
    enum file_kind kind;
    uint8_t *raw; /* the file */
    size_t raw_len;
    uint8_t *report; /* SNP: the 1184 bytes (raw or decoded hex) */
    size_t report_len;
    struct tl_az_evidence az;
};

static void input_done(struct input *in)
{
    if (in->report != in->raw)
        free(in->report);
    free(in->raw);
    tl_az_evidence_done(&in->az);
    *in = (struct input){0};
}

static int input_recognise(const char *path, struct input *in);

/* Reads and recognises path. -1 after printing the one error line (in then
 * holds nothing). */
static int input_load(const char *path, struct input *in)
{
    int r = input_recognise(path, in);
    if (r < 0)
        input_done(in);
    return r;
}

static int input_recognise(const char *path, struct input *in)
{
    *in = (struct input){0};
    if (tlc_read_file(path, &in->raw, &in->raw_len) < 0)
        return -1;
    struct tl_error err = {0};
    /* The TDX header first: read as an SEV-SNP VERSION word it is 0x2000x,
     * never a report's, while a TDX quote cut to 1184 bytes is a bad quote
     * (bad input), not a report of an unknown version. */
    if (is_tdx_quote(in->raw, in->raw_len)) {
        in->kind = FILE_TDX;
        return 0;
    }
    /* JSON next: a report starts with its VERSION's low byte (2, 3 or 5),
     * never whitespace or "{", while evidence cut to 1184 bytes is bad
     * JSON, not a report */
    if (is_json(in->raw, in->raw_len)) {
        if (tl_az_evidence_parse(in->raw, in->raw_len, &in->az, &err) < 0) {
            tlc_report_error(path, &err);
            return -1;
        }
        /* structure errors are bad input; only judged parts make a verdict */
        struct tl_hcl_report hcl;
        struct tl_quote q;
        if (tl_hcl_report_parse(in->az.hcl_report, in->az.hcl_len, &hcl, &err) < 0 ||
            tl_quote_parse(in->az.tpm_message, in->az.tpm_message_len, &q, &err) < 0) {
            tlc_report_error(path, &err);
            return -1;
        }
        in->kind = FILE_AZURE;
        return 0;
    }
    if (in->raw_len == TL_SNP_REPORT_SIZE && !is_text_hex(in->raw, in->raw_len)) {
        in->kind = FILE_SNP;
        in->report = in->raw;
        in->report_len = in->raw_len;
        return 0;
    }
    if (is_text_hex(in->raw, in->raw_len)) {
        if (tl_snp_report_from_hex((const char *)in->raw, in->raw_len, &in->report, &in->report_len,
                                   &err) < 0) {
            tlc_report_error(path, &err);
            return -1;
        }
        in->kind = FILE_SNP;
        return 0;
    }
    if (in->raw_len < TL_SNP_REPORT_SIZE + 64 && in->raw_len >= 4 && tl_le32(in->raw) >= 2 &&
        tl_le32(in->raw) <= 5)
        tlc_report(path,
                   "%zu bytes: not an SEV-SNP report (%d bytes), a TDX quote or Azure "
                   "evidence JSON",
                   in->raw_len, TL_SNP_REPORT_SIZE);
    else
        tlc_report(path, "not an SEV-SNP report, a TDX quote or Azure evidence JSON");
    return -1;
}

/* ---- TDX hooks (the TDX half of issue 13) ---- */

/* Initialises and fills v for a bare TD quote. -EBADMSG (err says why)
 * when the quote does not parse: bad input. */
static int tdx_verify(const uint8_t *quote, size_t len, const struct tl_tdx_collateral *col,
                      const struct tl_tee_policy *pol, time_t at, struct tl_tee_verdict *v,
                      struct tl_error *err)
{
#if HAVE_TDX
    return tl_tdx_verify(quote, len, col, pol, at, v, NULL, err);
#else
    (void)quote, (void)len, (void)col, (void)pol, (void)err;
    int r = tl_tee_verdict_init(v, TL_TEE_KIND_TDX, at);
    if (r < 0)
        return r;
    tl_tee_fail(v, TL_TEE_NOT_VERIFIED, "TDX quotes: no TDX verifier in this build");
    tl_tee_verdict_finish(v);
    return 0;
#endif
}

#if HAVE_TDX
/* tl_az_td_verify_fn: the TD quote inside Azure evidence; opaque is the
 * TDX collateral. A quote that does not parse is a reason (malformed), as
 * everything inside evidence that parsed is. */
static int az_td_verify_fn(void *opaque, const uint8_t *quote, size_t len,
                           const struct tl_tee_policy *policy, time_t at, struct tl_tee_verdict *td)
{
    struct tl_error err = {0};
    int r = tl_tdx_verify(quote, len, opaque, policy, at, td, NULL, &err);
    return r == -ENOMEM ? r : 0;
}
static const tl_az_td_verify_fn az_td_verify = az_td_verify_fn;
#else
static const tl_az_td_verify_fn az_td_verify = NULL;
#endif

/* The TDX collateral of the --collateral blobs, parsed once (NULL without
 * a TDX verifier). */
static int tdx_collateral(const struct collateral *c, struct tl_tdx_collateral **out)
{
    *out = NULL;
#if HAVE_TDX
    struct tl_error err = {0};
    if (tl_tdx_collateral_new(c->items, c->n, out, &err) < 0) {
        tlc_report("tee verify", "collateral: %s", err.message[0] ? err.message : "out of memory");
        return -1;
    }
#else
    (void)c;
#endif
    return 0;
}

static void tdx_collateral_free(struct tl_tdx_collateral *col)
{
#if HAVE_TDX
    tl_tdx_collateral_free(col);
#else
    (void)col;
#endif
}

/* ---- output ---- */

static void print_verdict(const char *path, const struct tl_tee_verdict *v)
{
    char at[40];
    tl_tee_time_format(v->at, at, sizeof(at));
    printf("%s: %s (%s%s, at %s)\n", path, v->pass ? "pass" : "fail", tl_tee_kind_name(v->kind),
           v->emulated ? ", emulated" : "", at);
    for (unsigned i = 0; i < v->n_reasons; i++)
        printf("  %s: %s\n", tl_tee_code_name(v->reasons[i].code), v->reasons[i].detail);
    if (v->n_dropped)
        printf("  (%u more reasons)\n", v->n_dropped);
}

/* key: value for every scalar claim, nested objects as "outer.inner". */
static void print_claims(const char *prefix, json_t *obj)
{
    const char *k;
    json_t *val;
    json_object_foreach(obj, k, val)
    {
        if (json_is_object(val)) {
            char p[256];
            snprintf(p, sizeof(p), "%s%s.", prefix, k);
            print_claims(p, val);
            continue;
        }
        char *s = json_is_string(val) ? strdup(json_string_value(val))
                                      : json_dumps(val, JSON_COMPACT | JSON_ENCODE_ANY);
        printf("%s%s: %s\n", prefix, k, s ? s : "?");
        free(s);
    }
}

/* ---- verify ---- */

struct verify_opts {
    bool json;
    time_t at;
    struct tl_tee_policy policy;
    uint8_t *vcek;
    size_t vcek_len;
    struct collateral col;
    struct tl_tdx_collateral *tdx_col;
};

static int verify_one(struct tl_snp_ctx *snp, const struct verify_opts *o, const char *path,
                      struct tl_tee_verdict *v)
{
    struct input in;
    if (input_load(path, &in) < 0)
        return -1;
    struct tl_tee_collateral col = {.n = o->col.n, .items = o->col.items};
    enum tl_tee_kind kind = in.kind == FILE_SNP   ? TL_TEE_KIND_SNP
                            : in.kind == FILE_TDX ? TL_TEE_KIND_TDX
                                                  : in.az.kind;
    struct tl_error err = {0};
    if (in.kind == FILE_TDX) { /* the TDX verifier initialises v itself */
        int r = tdx_verify(in.raw, in.raw_len, o->tdx_col, &o->policy, o->at, v, &err);
        input_done(&in);
        if (r < 0) {
            if (r == -ENOMEM)
                tlc_report(path, "out of memory");
            else
                tlc_report_error(path, &err);
            tl_tee_verdict_done(v);
            return -1;
        }
        return 0;
    }
    int r = tl_tee_verdict_init(v, kind, o->at);
    if (r == 0 && in.kind == FILE_SNP) {
        struct tl_snp_evidence ev = {.report = in.report,
                                     .report_len = in.report_len,
                                     .cert = o->vcek,
                                     .cert_len = o->vcek_len,
                                     .collateral = &col};
        r = tl_snp_verify(snp, &ev, &o->policy, v);
    } else if (r == 0) {
        struct tl_az_verifier az = {.snp = snp, .td_verify = az_td_verify, .td_opaque = o->tdx_col};
        r = tl_az_verify(&az, &in.az, &col, &o->policy, v);
    }
    input_done(&in);
    if (r < 0) {
        tlc_report(path, "out of memory");
        tl_tee_verdict_done(v);
        return -1;
    }
    return 0;
}

static int cmd_verify(int argc, char **argv)
{
    static const struct option options[] = {
        {"help", no_argument, NULL, 'h'},
        {"at", required_argument, NULL, 'a'},
        {"nonce", required_argument, NULL, 'n'},
        {"vcek", required_argument, NULL, 'v'},
        {"collateral", required_argument, NULL, 'c'},
        {"policy", required_argument, NULL, 'p'},
        {0},
    };
    struct verify_opts o = {.at = time(NULL)};
    tl_tee_policy_init(&o.policy);
    const char *nonce = NULL, *policy = NULL, *vcek = NULL, *coldir = NULL;
    int c;
    opterr = 0;
    o.json = tlc_output_wants_json(); /* --json, --output, --query */
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (c) {
        case 'h':
            usage(stdout);
            return TLC_EXIT_OK;
        case 'a':
            if (tl_tee_time_parse(optarg, &o.at) < 0) {
                tlc_report("tee verify",
                           "--at \"%s\" is not RFC 3339 UTC "
                           "(2026-02-03T00:00:00Z) or @UNIX",
                           optarg);
                return TLC_EXIT_BAD;
            }
            break;
        case 'n':
            nonce = optarg;
            break;
        case 'v':
            vcek = optarg;
            break;
        case 'c':
            coldir = optarg;
            break;
        case 'p':
            policy = optarg;
            break;
        default:
            tlc_report_option_error("tee verify", argv);
            return TLC_EXIT_BAD;
        }
    }
    if (optind >= argc) {
        tlc_report("tee verify", "no FILE given (try --help)");
        return TLC_EXIT_BAD;
    }
    int ret = TLC_EXIT_BAD;
    struct tl_snp_ctx *snp = NULL;
    uint8_t *text = NULL;
    size_t text_len;
    if (policy) {
        struct tl_error err = {0};
        if (tlc_read_file(policy, &text, &text_len) < 0)
            goto out;
        if (tl_tee_policy_parse((const char *)text, text_len, &o.policy, &err) < 0) {
            tlc_report(policy, "%s", err.message);
            goto out;
        }
    }
    if (nonce) {
        int n = tl_hex_decode(nonce, strlen(nonce), o.policy.nonce.v, sizeof(o.policy.nonce.v));
        if (n < 0) {
            tlc_report("tee verify", "--nonce: %s",
                       n == -ENOBUFS ? "longer than 64 bytes" : "not a hex string");
            goto out;
        }
        o.policy.nonce.set = true;
        o.policy.nonce.len = (size_t)n;
    }
    if (vcek) {
        uint8_t *der = NULL;
        size_t der_len;
        struct tl_error e = {0};
        if (tlc_read_file(vcek, &o.vcek, &o.vcek_len) < 0)
            goto out;
        if (tl_x509_to_der(o.vcek, o.vcek_len, &der, &der_len, &e) < 0) {
            tlc_report(vcek, "not a certificate (PEM or DER): %s", e.message);
            goto out;
        }
        free(der);
    }
    if (coldir && collateral_read_dir(&o.col, coldir) < 0)
        goto out;
    if (tdx_collateral(&o.col, &o.tdx_col) < 0)
        goto out;
    struct tl_error err = {0};
    if (tl_snp_ctx_new(&snp, &err) < 0) {
        tlc_report("tee verify", "%s", err.message[0] ? err.message : "out of memory");
        goto out;
    }
    bool bad = false, failed = false;
    for (int i = optind; i < argc; i++) {
        struct tl_tee_verdict v;
        if (verify_one(snp, &o, argv[i], &v) < 0) {
            bad = true;
            continue;
        }
        failed = failed || !v.pass;
        if (o.json) { /* JSON Lines: one object per file (docs/cli.md) */
            json_t *j = tl_tee_verdict_json(&v);
            if (j) {
                json_object_set_new(j, "file", json_string(argv[i]));
                tlc_json_print(j);
            }
        } else {
            print_verdict(argv[i], &v);
        }
        tl_tee_verdict_done(&v);
    }
    ret = bad ? TLC_EXIT_BAD : failed ? TLC_EXIT_FAIL : TLC_EXIT_OK;
out:
    tl_snp_ctx_free(snp);
    tdx_collateral_free(o.tdx_col);
    collateral_done(&o.col);
    free(o.vcek);
    free(text);
    return ret;
}

/* ---- show ---- */

/* NULL with err set (a TDX quote that does not parse: bad input) or, err
 * untouched, out of memory. */
static json_t *show_json(const struct input *in, struct tl_error *err)
{
#if HAVE_TDX
    struct tl_tdx_quote q;
    if (in->kind == FILE_TDX && tl_tdx_quote_parse(in->raw, in->raw_len, &q, err) < 0)
        return NULL;
#endif
    json_t *o = json_object();
    if (!o)
        return NULL;
    if (in->kind == FILE_SNP) {
        struct tl_snp_report r;
        if (tl_snp_report_parse(in->report, in->report_len, &r, NULL) == 0) {
            tl_tee_claim_str(o, "kind", "snp");
            tl_snp_report_claims(&r, o);
        }
    } else if (in->kind == FILE_TDX) {
        tl_tee_claim_str(o, "kind", "tdx");
        tl_tee_claim_int(o, "version", tl_le16(in->raw));
#if HAVE_TDX
        tl_tdx_claims(o, &q);
#else
        tl_tee_claim_str(o, "note", "TDX quotes: no TDX decoder in this build");
#endif
    } else {
        const struct tl_az_evidence *ev = &in->az;
        struct tl_hcl_report h;
        tl_tee_claim_str(o, "kind", tl_tee_kind_name(ev->kind));
        tl_tee_claim_int(o, "evidence-version", ev->version);
        if (tl_hcl_report_parse(ev->hcl_report, ev->hcl_len, &h, NULL) == 0) {
            json_t *hcl =
                json_pack("{s:I,s:I,s:I,s:I}", "header-version", (json_int_t)h.header_version,
                          "report-type", (json_int_t)h.report_type, "hash-type",
                          (json_int_t)h.hash_type, "runtime-data-size", (json_int_t)h.var_len);
            json_object_set_new(o, "hcl", hcl);
            struct tl_az_runtime rt;
            if (tl_az_runtime_parse(h.var_data, h.var_len, &rt, NULL) == 0) {
                json_object_set(o, "x-ms-runtime", rt.root);
                tl_az_runtime_done(&rt);
            }
            struct tl_snp_report r;
            if (h.report_type == TL_HCL_REPORT_SNP &&
                tl_snp_report_parse(h.hw_report, h.hw_len, &r, NULL) == 0) {
                json_t *tee = json_object();
                tl_snp_report_claims(&r, tee);
                json_object_set_new(o, "x-ms-isolation-tee", tee);
            }
#if HAVE_TDX
            /* Azure TDX: the TD quote's fields (tl_az_verify names them so) */
            struct tl_tdx_quote tq;
            if (h.report_type == TL_HCL_REPORT_TDX &&
                tl_tdx_quote_parse(ev->td_quote, ev->td_quote_len, &tq, NULL) == 0) {
                json_t *tee = json_object();
                tl_tdx_claims(tee, &tq);
                json_object_set_new(o, "x-ms-isolation-tee", tee);
            }
#endif
        }
        struct tl_quote vq;
        if (tl_quote_parse(ev->tpm_message, ev->tpm_message_len, &vq, NULL) == 0) {
            tl_tee_claim_hex(o, "tpm-nonce", vq.extra_data.buffer, vq.extra_data.size);
            tl_tee_claim_hex(o, "tpm-pcr-digest", vq.pcr_digest.buffer, vq.pcr_digest.size);
        }
        tl_tee_claim_int(o, "tpm-pcrs-sent", (long long)ev->n_pcrs);
    }
    return o;
}

static int cmd_show(int argc, char **argv)
{
    static const struct option options[] = {
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    bool json = tlc_output_wants_json(); /* --json, --output, --query */
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (c == 'h') {
            usage(stdout);
            return TLC_EXIT_OK;
        }
        tlc_report_option_error("tee show", argv);
        return TLC_EXIT_BAD;
    }
    if (optind != argc - 1) {
        tlc_report("tee show", "expected one FILE (try --help)");
        return TLC_EXIT_BAD;
    }
    struct input in;
    if (input_load(argv[optind], &in) < 0)
        return TLC_EXIT_BAD;
    struct tl_error err = {0};
    json_t *o = show_json(&in, &err);
    input_done(&in);
    if (!o) {
        if (err.message[0])
            tlc_report_error(argv[optind], &err);
        else
            tlc_report(argv[optind], "out of memory");
        return TLC_EXIT_BAD;
    }
    if (json) {
        tlc_json_print(o);
    } else {
        print_claims("", o);
        json_decref(o);
    }
    return TLC_EXIT_OK;
}

int tlc_cmd_tee(int argc, char **argv)
{
    static const struct cli_verb verbs[] = {
        {"verify", cmd_verify},
        {"show", cmd_show},
        {"emulate", tlc_cmd_tee_emulate},
        {NULL, NULL},
    };
    return cli_dispatch("tee", verbs, usage, argc, argv);
}
