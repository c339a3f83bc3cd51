/* bench-authenticode: Authenticode digest and Secure Boot verification
 * throughput on real signed images (Debian's shim, grub and kernel).
 *
 *   bench-authenticode [--seconds S] --vars VARS.fd SHIM GRUB KERNEL
 *   bench-authenticode --iterations N [--stage NAME] --vars VARS.fd SHIM GRUB KERNEL
 *                                              (fixed work, for callgrind)
 *
 * On one thread, with one tl_hasher kept across iterations (it caches the
 * OpenSSL EVP_MD fetches, as a long-running verifier would), the images
 * already in memory:
 *
 *   sha256-raw      tl_hasher_digest over the whole kernel file: what OpenSSL
 *                   gives through libtl, no PE involved (the ceiling)
 *   digest-sha256   tl_pe_parse + tl_pe_authenticode_digest (SHA-256) of the
 *                   kernel + tl_pe_done
 *   verify          tl_pe_parse + tl_secureboot_check_image of the kernel as
 *                   shim checks what grub hands it (TL_VERIFIER_SHIM_PROTOCOL,
 *                   the parsed shim for its vendor certificate and vendor dbx,
 *                   db/dbx from VARS): digest, dbx/db hash lookups, PKCS#7
 *                   and chain checks
 *   chain           tl_pe_parse of shim, grub and kernel +
 *                   tl_secureboot_check_chain: the whole verdict
 *   keys            tl_varstore_parse of VARS + db/dbx tl_sig_db_parse (what
 *                   `tl secureboot verify` adds before the chain)
 *   digest-sha1, digest-sha384, digest-sha512
 *                   as digest-sha256, other algorithms
 *   sig-db, sig-vendor
 *                   tl_authenticode_check of the kernel's PKCS#7 alone (the
 *                   image digest given, computed once), against db's
 *                   certificates (untrusted: the attempt shim makes first)
 *                   and against shim's vendor certificate (passes): the
 *                   signature's share of verify, per trust list tried
 *
 * The stages run interleaved, one batch each per round (~30 ms batches for
 * digest-sha256, verify and chain; ~10 ms for the others), so they all see
 * the same disturbances of a shared machine, until digest-sha256 has run S
 * seconds (default 3; about 4.5 S in all). MB are 10^6 bytes of the input
 * files (the kernel file; for chain the three files), so the figures line up
 * with `openssl speed` (1000s of bytes per second) and with tools run on the
 * same files. Rates are per wall-clock second and per second of this
 * process's CPU time, with the median and the best batch.
 *
 * Machine-readable lines, one per stage:
 *   RESULT stage=<name> bytes=<n> mb_per_s=<x> cpu_mb_per_s=<x> best_mb_per_s=<x>
 *          cpu_best_mb_per_s=<x> ms=<x> median_ms=<x> best_ms=<x> cpu_median_ms=<x>
 *          cpu_best_ms=<x> iterations=<n>
 * (MB/s are NA for the sig-* stages; chain adds denied=<n>). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "tl/digest.h"
#include "tl/efi.h"
#include "tl/error.h"
#include "tl/pe.h"
#include "tl/secureboot.h"
#include "tl/sigverify.h"
#include "tl/varstore.h"

enum stage {
    STAGE_SHA256_RAW,
    STAGE_DIGEST_SHA256,
    STAGE_VERIFY,
    STAGE_CHAIN,
    STAGE_KEYS,
    STAGE_DIGEST_SHA1,
    STAGE_DIGEST_SHA384,
    STAGE_DIGEST_SHA512,
    STAGE_SIG_DB,
    STAGE_SIG_VENDOR,
    N_STAGES,
};

static const char *const stage_names[N_STAGES] = {
    [STAGE_SHA256_RAW] = "sha256-raw",
    [STAGE_DIGEST_SHA256] = "digest-sha256",
    [STAGE_VERIFY] = "verify",
    [STAGE_CHAIN] = "chain",
    [STAGE_KEYS] = "keys",
    [STAGE_DIGEST_SHA1] = "digest-sha1",
    [STAGE_DIGEST_SHA384] = "digest-sha384",
    [STAGE_DIGEST_SHA512] = "digest-sha512",
    [STAGE_SIG_DB] = "sig-db",
    [STAGE_SIG_VENDOR] = "sig-vendor",
};

static const char *const stage_labels[N_STAGES] = {
    [STAGE_SHA256_RAW] = "SHA-256 of the kernel file (raw)",
    [STAGE_DIGEST_SHA256] = "parse + Authenticode SHA-256",
    [STAGE_VERIFY] = "parse + verify (shim protocol)",
    [STAGE_CHAIN] = "chain verdict (shim+grub+kernel)",
    [STAGE_KEYS] = "keys (varstore + db/dbx)",
    [STAGE_DIGEST_SHA1] = "parse + Authenticode SHA-1",
    [STAGE_DIGEST_SHA384] = "parse + Authenticode SHA-384",
    [STAGE_DIGEST_SHA512] = "parse + Authenticode SHA-512",
    [STAGE_SIG_DB] = "kernel signature vs db (untrusted)",
    [STAGE_SIG_VENDOR] = "kernel signature vs vendor cert",
};

static bool stage_primary(enum stage st)
{
    return st == STAGE_DIGEST_SHA256 || st == STAGE_VERIFY || st == STAGE_CHAIN;
}

struct file {
    const char *path, *name;
    uint8_t *buf;
    size_t len;
};

/* Everything an iteration needs, read once. */
struct ctx {
    struct file shim, grub, kernel, vars;
    struct tl_pe shim_pe;   /* parsed once: the verifier of the kernel */
    struct tl_pe kernel_pe; /* parsed once: for the signature-only stages */
    uint8_t kernel_sha256[TL_DIGEST_MAX];
    struct tl_cert_ref db_certs[8], vendor_cert;
    size_t n_db_certs;
    struct tl_varstore vs;
    struct tl_sig_db db, dbx;
    struct tl_sb_keys keys;
    time_t now;
    struct tl_hasher *h;
};

/* Folded into by every iteration so nothing can be optimised away. */
static volatile uint64_t sink;

const char bench_prog[] = "bench-authenticode";

static uint16_t stage_alg(enum stage st)
{
    switch (st) {
    case STAGE_DIGEST_SHA1:
        return TL_ALG_SHA1;
    case STAGE_DIGEST_SHA384:
        return TL_ALG_SHA384;
    case STAGE_DIGEST_SHA512:
        return TL_ALG_SHA512;
    default:
        return TL_ALG_SHA256;
    }
}

/* Bytes an iteration of the stage goes through (for MB/s). */
static size_t stage_bytes(const struct ctx *c, enum stage st)
{
    switch (st) {
    case STAGE_CHAIN:
        return c->shim.len + c->grub.len + c->kernel.len;
    case STAGE_KEYS:
        return c->vars.len;
    case STAGE_SIG_DB:
    case STAGE_SIG_VENDOR:
        return 0; /* no throughput: a fixed cost per signature */
    default:
        return c->kernel.len;
    }
}

static void load_keys(const struct ctx *c, struct tl_varstore *vs, struct tl_sig_db *db,
                      struct tl_sig_db *dbx)
{
    struct tl_error err = {0};
    if (tl_varstore_parse(c->vars.buf, c->vars.len, vs, &err) < 0)
        bench_die(c->vars.name, &err);
    const struct tl_varstore_var *vdb = tl_varstore_find(vs, "db", &TL_EFI_IMAGE_SECURITY_DB_GUID);
    const struct tl_varstore_var *vdbx =
        tl_varstore_find(vs, "dbx", &TL_EFI_IMAGE_SECURITY_DB_GUID);
    *db = (struct tl_sig_db){0};
    *dbx = (struct tl_sig_db){0};
    if (vdb && tl_sig_db_parse(vdb->data, vdb->data_len, db, &err) < 0)
        bench_die("db", &err);
    if (vdbx && tl_sig_db_parse(vdbx->data, vdbx->data_len, dbx, &err) < 0)
        bench_die("dbx", &err);
}

/* The image digest callback of the signature-only stages: the kernel's
 * SHA-256, computed once. */
static int cached_digest(void *vctx, uint16_t alg, uint8_t out[TL_DIGEST_MAX])
{
    const struct ctx *c = vctx;
    if (alg != TL_ALG_SHA256)
        return -EOPNOTSUPP;
    memcpy(out, c->kernel_sha256, 32);
    return 32;
}

/* One iteration of a stage; exits on any library error or an unexpected
 * verdict (a benchmark of a failing check measures something else). */
static __attribute__((noinline)) void run_once(struct ctx *c, enum stage st)
{
    struct tl_error err = {0};
    uint8_t d[TL_DIGEST_MAX];
    uint64_t s = 0;

    switch (st) {
    case STAGE_SHA256_RAW:
        if (tl_hasher_digest(c->h, TL_ALG_SHA256, c->kernel.buf, c->kernel.len, d) < 0)
            bench_die("sha256", NULL);
        s += d[0];
        break;
    case STAGE_DIGEST_SHA256:
    case STAGE_DIGEST_SHA1:
    case STAGE_DIGEST_SHA384:
    case STAGE_DIGEST_SHA512: {
        struct tl_pe pe;
        if (tl_pe_parse(c->kernel.buf, c->kernel.len, &pe, &err) < 0)
            bench_die(c->kernel.name, &err);
        if (tl_pe_authenticode_digest(&pe, c->h, stage_alg(st), d, &err) < 0)
            bench_die(c->kernel.name, &err);
        s += d[0];
        tl_pe_done(&pe);
        break;
    }
    case STAGE_VERIFY: {
        struct tl_pe pe;
        struct tl_sb_verdict v;
        if (tl_pe_parse(c->kernel.buf, c->kernel.len, &pe, &err) < 0)
            bench_die(c->kernel.name, &err);
        if (tl_secureboot_check_image(&pe, "kernel", TL_VERIFIER_SHIM_PROTOCOL, &c->shim_pe,
                                      &c->keys, c->now, c->h, &v, &err) < 0)
            bench_die(c->kernel.name, &err);
        if (!v.allowed) {
            fprintf(stderr, "bench-authenticode: %s: not allowed by shim: %s\n", c->kernel.name,
                    v.reason);
            exit(1);
        }
        s += v.sha256[0];
        tl_pe_done(&pe);
        break;
    }
    case STAGE_CHAIN: {
        struct tl_pe pe[3];
        struct tl_sb_verdict v[3];
        const struct file *f[3] = {&c->shim, &c->grub, &c->kernel};
        const struct tl_pe *images[3] = {&pe[0], &pe[1], &pe[2]};
        for (int i = 0; i < 3; i++)
            if (tl_pe_parse(f[i]->buf, f[i]->len, &pe[i], &err) < 0)
                bench_die(f[i]->name, &err);
        int denied = tl_secureboot_check_chain(images, NULL, 3, &c->keys, c->now, c->h, v, &err);
        if (denied < 0)
            bench_die("chain", &err);
        if (denied > 0) {
            for (int i = 0; i < 3; i++)
                if (!v[i].allowed)
                    fprintf(stderr, "bench-authenticode: chain: %s denied: %s\n", v[i].component,
                            v[i].reason);
            exit(1);
        }
        for (int i = 0; i < 3; i++) {
            s += v[i].sha256[0];
            tl_pe_done(&pe[i]);
        }
        break;
    }
    case STAGE_KEYS: {
        struct tl_varstore vs;
        struct tl_sig_db db, dbx;
        load_keys(c, &vs, &db, &dbx);
        s += db.n_entries + dbx.n_entries;
        tl_sig_db_done(&dbx);
        tl_sig_db_done(&db);
        tl_varstore_done(&vs);
        break;
    }
    case STAGE_SIG_DB:
    case STAGE_SIG_VENDOR: {
        /* What shim does per trust list it tries: the kernel's PKCS#7
         * against db (fails: untrusted; shim tries it first), or against
         * its vendor certificate (passes). */
        const struct tl_pe_signature *sig = &c->kernel_pe.signatures[0];
        struct tl_sigcheck chk;
        bool db = st == STAGE_SIG_DB;
        if (tl_authenticode_check(sig->data, sig->data_len, cached_digest, c,
                                  db ? c->db_certs : &c->vendor_cert, db ? c->n_db_certs : 1,
                                  c->now, &chk, &err) < 0)
            bench_die(c->kernel.name, &err);
        if (chk.status != (db ? TL_SIGCHECK_UNTRUSTED : TL_SIGCHECK_OK)) {
            fprintf(stderr, "bench-authenticode: %s: unexpected signature check against %s: %s\n",
                    c->kernel.name, db ? "db" : "the vendor certificate", chk.reason);
            exit(1);
        }
        s += chk.n_chain;
        tl_sigcheck_done(&chk);
        break;
    }
    case N_STAGES:
        break;
    }
    sink += s;
}

/* The one function callgrind collects in --iterations mode
 * (--toggle-collect=measured_stage), so start-up and warm-up are left out
 * of the count. */
__attribute__((noinline)) void measured_stage(struct ctx *c, enum stage st);
__attribute__((noinline)) void measured_stage(struct ctx *c, enum stage st)
{
    run_once(c, st);
}

static void run_stage(void *ctx, int st)
{
    run_once(ctx, st);
}

/* ~30 ms batches for the primary stages, ~10 ms for the others, until
 * digest-sha256 has run `seconds`. */
static void run_stages(struct bench_timing t[N_STAGES], struct ctx *c, double seconds)
{
    double target_s[N_STAGES];
    for (int st = 0; st < N_STAGES; st++)
        target_s[st] = stage_primary(st) ? 0.03 : 0.01;
    bench_run_stages(t, N_STAGES, target_s, STAGE_DIGEST_SHA256, seconds, run_stage, c);
}

static double to_ms(double s)
{
    return s * 1e3;
}

static void file_load(struct file *f, const char *path)
{
    f->path = path;
    f->name = bench_base_name(path);
    f->buf = bench_read_file(path, &f->len);
    if (!f->buf)
        bench_die(path, NULL);
}

static void hex(const uint8_t *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

/* What each image is: size, what the Authenticode digest covers, the
 * signatures; and the verdicts the timed stages must reproduce. */
static void describe(struct ctx *c)
{
    const struct file *f[3] = {&c->shim, &c->grub, &c->kernel};
    struct tl_error err = {0};
    for (int i = 0; i < 3; i++) {
        struct tl_pe pe;
        uint8_t d[TL_DIGEST_MAX];
        char h[2 * TL_DIGEST_MAX + 1];
        if (tl_pe_parse(f[i]->buf, f[i]->len, &pe, &err) < 0)
            bench_die(f[i]->name, &err);
        int n = tl_pe_authenticode_digest(&pe, c->h, TL_ALG_SHA256, d, &err);
        if (n < 0)
            bench_die(f[i]->name, &err);
        hex(d, (size_t)n, h);
        size_t raw = 0;
        for (size_t k = 0; k < pe.n_sections; k++)
            raw += pe.sections[k].raw_size;
        printf("%-8s %s: %zu bytes, %zu sections (%zu bytes of raw data), certificate table %u "
               "bytes, %zu signature%s; sha256 %.16s...\n",
               i == 0   ? "shim"
               : i == 1 ? "grub"
                        : "kernel",
               f[i]->name, f[i]->len, pe.n_sections, raw, pe.cert_table_size, pe.n_signatures,
               pe.n_signatures == 1 ? "" : "s", h);
        tl_pe_done(&pe);
    }
    size_t certs = 0, hashes = 0;
    for (size_t i = 0; i < c->db.n_entries; i++)
        certs += c->db.entries[i].kind == TL_SIG_X509;
    for (size_t i = 0; i < c->dbx.n_entries; i++)
        hashes += c->dbx.entries[i].kind != TL_SIG_X509;
    printf("keys     %s: %zu bytes; db %zu entries (%zu certificates), dbx %zu entries (%zu "
           "hashes)\n",
           c->vars.name, c->vars.len, c->db.n_entries, certs, c->dbx.n_entries, hashes);

    struct tl_pe pe[3];
    struct tl_sb_verdict v[3];
    const struct tl_pe *images[3] = {&pe[0], &pe[1], &pe[2]};
    for (int i = 0; i < 3; i++)
        if (tl_pe_parse(f[i]->buf, f[i]->len, &pe[i], &err) < 0)
            bench_die(f[i]->name, &err);
    int denied = tl_secureboot_check_chain(images, NULL, 3, &c->keys, c->now, c->h, v, &err);
    if (denied < 0)
        bench_die("chain", &err);
    for (int i = 0; i < 3; i++) {
        printf("verdict  %-6s %s by %s (%s)\n", v[i].component, v[i].allowed ? "pass" : "FAIL",
               tl_verifier_name(v[i].verifier), v[i].source[0] ? v[i].source : "-");
        tl_pe_done(&pe[i]);
    }
}

static void usage(void)
{
    fprintf(stderr,
            "usage: bench-authenticode [--seconds S] --vars VARS.fd SHIM GRUB KERNEL\n"
            "       bench-authenticode --iterations N [--stage NAME] --vars VARS.fd SHIM GRUB "
            "KERNEL\n"
            "stages: sha256-raw digest-sha256 (default) verify chain keys digest-sha1 "
            "digest-sha384 digest-sha512 sig-db sig-vendor\n");
    exit(2);
}

int main(int argc, char **argv)
{
    double seconds = 3;
    long iterations = -1;
    enum stage only = STAGE_DIGEST_SHA256;
    const char *vars = NULL;
    int i = 1;

    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        if (i + 1 >= argc)
            usage();
        char *end;
        if (strcmp(argv[i], "--seconds") == 0) {
            seconds = strtod(argv[++i], &end);
            if (*end || !(seconds > 0))
                usage();
        } else if (strcmp(argv[i], "--iterations") == 0) {
            iterations = strtol(argv[++i], &end, 10);
            if (*end || iterations <= 0)
                usage();
        } else if (strcmp(argv[i], "--stage") == 0) {
            const char *name = argv[++i];
            int st = 0;
            while (st < N_STAGES && strcmp(stage_names[st], name) != 0)
                st++;
            if (st == N_STAGES)
                usage();
            only = st;
        } else if (strcmp(argv[i], "--vars") == 0) {
            vars = argv[++i];
        } else {
            usage();
        }
    }
    if (!vars || argc - i != 3)
        usage();

    static struct ctx c;
    struct tl_error err = {0};
    file_load(&c.shim, argv[i]);
    file_load(&c.grub, argv[i + 1]);
    file_load(&c.kernel, argv[i + 2]);
    file_load(&c.vars, vars);
    if (tl_pe_parse(c.shim.buf, c.shim.len, &c.shim_pe, &err) < 0)
        bench_die(c.shim.name, &err);
    load_keys(&c, &c.vs, &c.db, &c.dbx);
    c.keys = (struct tl_sb_keys){.db = &c.db, .dbx = &c.dbx};
    c.now = time(NULL); /* as `tl secureboot verify`: expiry warnings */
    c.h = tl_hasher_new();
    if (!c.h)
        bench_die("tl_hasher_new", NULL);
    if (tl_pe_parse(c.kernel.buf, c.kernel.len, &c.kernel_pe, &err) < 0)
        bench_die(c.kernel.name, &err);
    if (c.kernel_pe.n_signatures == 0 ||
        c.kernel_pe.signatures[0].type != TL_WIN_CERT_TYPE_PKCS_SIGNED_DATA) {
        fprintf(stderr, "bench-authenticode: %s: not signed\n", c.kernel.name);
        return 1;
    }
    if (tl_pe_authenticode_digest(&c.kernel_pe, c.h, TL_ALG_SHA256, c.kernel_sha256, &err) < 0)
        bench_die(c.kernel.name, &err);
    for (size_t k = 0; k < c.db.n_entries && c.n_db_certs < 8; k++)
        if (c.db.entries[k].kind == TL_SIG_X509)
            c.db_certs[c.n_db_certs++] =
                (struct tl_cert_ref){c.db.entries[k].data, c.db.entries[k].data_len};
    if (!c.shim_pe.vendor_cert) {
        fprintf(stderr, "bench-authenticode: %s: no vendor certificate\n", c.shim.name);
        return 1;
    }
    c.vendor_cert = (struct tl_cert_ref){c.shim_pe.vendor_cert, c.shim_pe.vendor_cert_len};

    if (iterations > 0) {
        /* Fixed work for instruction counting: one warm-up iteration (EVP
         * fetches, first allocations, page faults), then N collected ones. */
        run_once(&c, only);
        for (long k = 0; k < iterations; k++)
            measured_stage(&c, only);
    } else {
        printf("bench-authenticode: one thread, one tl_hasher; stages interleaved in batches "
               "until digest-sha256 has run %.3g s; MB = 10^6 bytes of input file\n",
               seconds);
        describe(&c);
        fflush(stdout);

        static struct bench_timing t[N_STAGES];
        run_stages(t, &c, seconds);
        printf("\n  %-34s %8s %8s | %8s %8s %8s | %8s %8s | %5s\n", "stage (one iteration)", "MB/s",
               "CPU MB/s", "ms/iter", "median", "best", "CPU med", "CPU best", "iters");
        for (int st = 0; st < N_STAGES; st++) {
            double mb = (double)stage_bytes(&c, st) / 1e6;
            double ms = t[st].wall * 1e3 / (double)t[st].iterations;
            char rate[16] = "-", cpu_rate[16] = "-";
            if (mb > 0) {
                snprintf(rate, sizeof(rate), "%.1f", mb * 1e3 / ms);
                snprintf(cpu_rate, sizeof(cpu_rate), "%.1f",
                         mb * (double)t[st].iterations / t[st].cpu);
            }
            printf("  %-34s %8s %8s | %8.3f %8.3f %8.3f | %8.3f %8.3f | %5llu\n", stage_labels[st],
                   rate, cpu_rate, ms, to_ms(t[st].median), to_ms(t[st].best),
                   to_ms(t[st].cpu_median), to_ms(t[st].cpu_best),
                   (unsigned long long)t[st].iterations);
        }
        double share = 0;
        for (int st = 0; st < N_STAGES; st++)
            share += t[st].cpu / t[st].wall / N_STAGES;
        printf("  (ms columns: wall clock per iteration, mean, median and best batch; CPU: this "
               "process's CPU time per iteration, median and best batch; it had %.0f%% of a "
               "core)\n",
               100 * share);

        /* Where the time goes: differences of the best CPU-time batches
         * (noise only ever adds time; CPU time leaves out the time the
         * machine gave to others). */
        double raw = to_ms(t[STAGE_SHA256_RAW].cpu_best),
               dig = to_ms(t[STAGE_DIGEST_SHA256].cpu_best);
        double ver = to_ms(t[STAGE_VERIFY].cpu_best), chain = to_ms(t[STAGE_CHAIN].cpu_best);
        double kernel_mb = (double)c.kernel.len / 1e6,
               chain_mb = stage_bytes(&c, STAGE_CHAIN) / 1e6;
        printf("\n  kernel (best CPU batches): Authenticode SHA-256 %.3f ms, %.0f%% of a raw "
               "SHA-256 of the whole file (%.3f ms); verify %.3f ms, i.e. %+.3f ms for the "
               "signature (dbx/db, PKCS#7, RSA, chain)\n",
               dig, 100 * dig / raw, raw, ver, ver - dig);
        printf("  kernel signature alone: %.3f ms against db (shim tries it first: untrusted) + "
               "%.3f ms against the vendor certificate = %.3f ms\n",
               to_ms(t[STAGE_SIG_DB].cpu_best), to_ms(t[STAGE_SIG_VENDOR].cpu_best),
               to_ms(t[STAGE_SIG_DB].cpu_best) + to_ms(t[STAGE_SIG_VENDOR].cpu_best));
        printf("  chain verdict: %.3f ms wall median, %.3f ms wall best; CPU %.3f ms median, "
               "%.3f ms best (%.0f MB/s over %.1f MB of images); the kernel's verify is %.0f%% "
               "of it\n",
               to_ms(t[STAGE_CHAIN].median), to_ms(t[STAGE_CHAIN].best),
               to_ms(t[STAGE_CHAIN].cpu_median), chain, chain_mb * 1e3 / chain, chain_mb,
               100 * ver / chain);
        printf("  kernel MB/s per CPU second (best batches): raw sha256 %.0f; Authenticode sha1 "
               "%.0f, sha256 %.0f, sha384 %.0f, sha512 %.0f\n",
               kernel_mb * 1e3 / raw, kernel_mb * 1e3 / to_ms(t[STAGE_DIGEST_SHA1].cpu_best),
               kernel_mb * 1e3 / dig, kernel_mb * 1e3 / to_ms(t[STAGE_DIGEST_SHA384].cpu_best),
               kernel_mb * 1e3 / to_ms(t[STAGE_DIGEST_SHA512].cpu_best));

        printf("\n");
        for (int st = 0; st < N_STAGES; st++) {
            double bytes = (double)stage_bytes(&c, st);
            double ms = t[st].wall * 1e3 / (double)t[st].iterations;
            char rates[160] = "mb_per_s=NA cpu_mb_per_s=NA best_mb_per_s=NA cpu_best_mb_per_s=NA";
            if (bytes > 0)
                snprintf(rates, sizeof(rates),
                         "mb_per_s=%.1f cpu_mb_per_s=%.1f best_mb_per_s=%.1f "
                         "cpu_best_mb_per_s=%.1f",
                         bytes / 1e3 / ms, bytes / 1e6 * (double)t[st].iterations / t[st].cpu,
                         bytes / 1e3 / to_ms(t[st].best), bytes / 1e3 / to_ms(t[st].cpu_best));
            printf("RESULT stage=%s bytes=%.0f %s ms=%.3f median_ms=%.3f best_ms=%.3f "
                   "cpu_median_ms=%.3f cpu_best_ms=%.3f iterations=%llu%s\n",
                   stage_names[st], bytes, rates, ms, to_ms(t[st].median), to_ms(t[st].best),
                   to_ms(t[st].cpu_median), to_ms(t[st].cpu_best),
                   (unsigned long long)t[st].iterations, st == STAGE_CHAIN ? " denied=0" : "");
        }
    }

    tl_hasher_free(c.h);
    tl_sig_db_done(&c.dbx);
    tl_sig_db_done(&c.db);
    tl_varstore_done(&c.vs);
    tl_pe_done(&c.kernel_pe);
    tl_pe_done(&c.shim_pe);
    free(c.shim.buf);
    free(c.grub.buf);
    free(c.kernel.buf);
    free(c.vars.buf);
    return 0;
}
