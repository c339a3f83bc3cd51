/* `tl vtpm provision|show|run`: a node's vTPM, one swtpm process per node.
 * This file holds the verbs, their options and their text/JSON output; the
 * swtpm process, the vTPM's files (state directory, key file) and
 * provisioning are the host library's (tlhost/swtpm.h, tlhost/vtpm.h; the
 * EK CA folder tlhost/ekca.h), which tld calls too. libtl's vtpm module sends the TPM
 * commands through the ESYS context opened on swtpm (TCTI
 * "swtpm:path=<socket>"); its ekca module makes the certificates.
 *
 * Invariants:
 *  - every swtpm started here is stopped (control channel CMD_SHUTDOWN,
 *    then SIGKILL after a timeout) and reaped before we return; a signal or
 *    the watchdog (SIGALRM, WATCHDOG_SECONDS) while provisioning kills it at
 *    once (struct tlh_swtpm_interrupt), which fails the TPM I/O under way and
 *    takes the normal cleanup path;
 *  - provisioning is all or nothing: what was created for it is rolled back
 *    when any step fails (tlh_vtpm_rollback), so a state on disk always
 *    holds both EK certificates;
 *  - `show` and `run` never create a state: a directory without
 *    tpm2-00.permall is refused. */
#include <getopt.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "output.h"
#include "tl.h"
#include "tl/ekca.h"
#include "tl/util.h"
#include "tl/vtpm.h"
#include "tl/x509.h"
#include "tlhost/ekca.h"
#include "tlhost/file.h"
#include "tlhost/swtpm.h"
#include "tlhost/vtpm.h"

#define WATCHDOG_SECONDS 60

static void usage(FILE *f)
{
    fputs("usage: tl vtpm provision --state DIR --ca CA_DIR [--key-file KEYFILE] [--name NAME]\n"
          "                         [--json]\n"
          "       tl vtpm show --state DIR [--key-file KEYFILE] [--ca CA_DIR] [--json]\n"
          "       tl vtpm run --state DIR [--key-file KEYFILE] [--json]\n"
          "       tl vtpm run --ephemeral --ca CA_DIR [--name NAME] [--json]\n"
          "\n"
          "provision: a new vTPM state in DIR (swtpm, encrypted with KEYFILE, default\n"
          "  DIR.key, made when missing), RSA-2048 and ECC P-256 EKs, their certificates from\n"
          "  the EK CA in CA_DIR (made on first use) in NV 0x01c00002 and 0x01c0000a.\n"
          "show: both certificates and whether each certifies the vTPM's EK (and, with\n"
          "  --ca, chains to the root). Exit 1 when not.\n"
          "run: swtpm on the state until SIGTERM/SIGINT, or until swtpm ends (QEMU shuts\n"
          "  it down with the VM); --ephemeral: a fresh vTPM in memory-backed storage,\n"
          "  provisioned, deleted at stop (a new EK every run).\n"
          "Exit status: 0 ok, 1 show's verdict is fail, 2 bad usage or a failure.\n",
          f);
}

/* ---- signals ---- */

/* The handler's: the signal that arrived, and the swtpm to kill on one
 * (while provisioning). */
static struct tlh_swtpm_interrupt intr;

static void on_signal(int sig)
{
    intr.signal = sig;
    if (intr.kill_pid > 0)
        kill(intr.kill_pid, SIGKILL);
}

static void on_sigchld(int sig)
{
    (void)sig;
}

/* No SA_RESTART: a signal interrupts what we wait for. */
static void signals_install(void)
{
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGALRM, &sa, NULL);
    sa.sa_handler = on_sigchld;
    sigaction(SIGCHLD, &sa, NULL);
    signal(SIGPIPE, SIG_IGN); /* a dead swtpm: EPIPE, not death */
}

static const char *signal_reason(void)
{
    return tlh_swtpm_interrupt_reason(intr.signal);
}

/* ---- EK reports ---- */

struct ek_report {
    enum tl_ek_type type;
    struct tl_ek ek;
    uint8_t *cert;
    size_t cert_len;
    uint32_t nv_attributes;
    int matches;       /* 1 the certificate's key is the EK, 0 not, -1 unknown */
    int chain;         /* 0 verified, 1 failed, -1 not checked */
    char problem[240]; /* why the certificate is missing or fails */
};

static void reports_done(struct ek_report *r)
{
    for (int i = 0; i < TL_EK_N_TYPES; i++) {
        tl_ek_done(&r[i].ek);
        free(r[i].cert);
        r[i] = (struct ek_report){0};
    }
}

static bool report_pass(const struct ek_report *r)
{
    return r->cert && r->matches == 1 && r->chain != 1 && !r->problem[0];
}

static EVP_PKEY *cert_pubkey(const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    EVP_PKEY *k = x ? X509_get_pubkey(x) : NULL;
    X509_free(x);
    return k;
}

static json_t *info_json(const struct tl_vtpm_info *info)
{
    return json_pack("{s:s, s:s, s:s}", "manufacturer", info->manufacturer, "model", info->model,
                     "version", info->version);
}

static json_t *report_json(const struct ek_report *r, bool verdicts)
{
    struct tlh_vtpm_ek view = {
        .type = r->type, .ek = r->ek, .cert = r->cert, .cert_len = r->cert_len};
    json_t *o = tlh_vtpm_ek_json(&view);
    char idx[16];
    if (verdicts) {
        snprintf(idx, sizeof(idx), "0x%08x", r->nv_attributes);
        json_object_set_new(o, "nv_attributes", json_string(idx));
        json_object_set_new(o, "matches_ek",
                            r->matches < 0 ? json_null() : json_boolean(r->matches));
        json_object_set_new(o, "chain",
                            r->chain < 0    ? json_null()
                            : r->chain == 0 ? json_string("verified")
                                            : json_string("failed"));
        json_object_set_new(o, "problem", r->problem[0] ? json_string(r->problem) : json_null());
    }
    return o;
}

static void report_print(const struct ek_report *r, bool verdicts)
{
    uint8_t h[32];
    char hex[65] = "?";
    printf("%-9s NV 0x%08x", tl_ek_type_name(r->type), tl_ek_cert_nv_index(r->type));
    if (verdicts)
        printf("  attributes 0x%08x", r->nv_attributes);
    putchar('\n');
    if (tlh_vtpm_spki_sha256(r->ek.key, h))
        tl_hex_encode(h, 32, hex);
    printf("  EK           sha256:%s (SubjectPublicKeyInfo)\n", hex);
    struct tl_x509_info xi;
    if (r->cert && tl_x509_describe(r->cert, r->cert_len, &xi, NULL) == 0) {
        tl_hex_encode(xi.sha256, 32, hex);
        printf("  certificate  subject \"%s\"\n"
               "               issuer  \"%s\"\n"
               "               sha256:%s, %zu bytes, until %s\n",
               xi.subject, xi.issuer, hex, r->cert_len, xi.not_after);
        tl_x509_info_done(&xi);
    } else {
        printf("  certificate  none\n");
    }
    if (verdicts) {
        printf("  matches EK   %s\n", r->matches == 1 ? "yes" : r->matches == 0 ? "NO" : "unknown");
        if (r->chain >= 0)
            printf("  chain        %s\n", r->chain == 0 ? "verified to the EK CA root" : "FAILED");
        if (r->problem[0])
            printf("  problem      %s\n", r->problem);
    }
}

/* ---- provisioning ---- */

/* The host library's error: one line, "tl: PATH: what". */
static void say(const struct tl_error *err)
{
    fprintf(stderr, "tl: %s\n", err->message);
}

/* The provisioned EKs into the reports printed (their keys and
 * certificates moved over). */
static void take_eks(struct tlh_vtpm_ek from[TL_EK_N_TYPES], struct ek_report *to)
{
    for (int t = 0; t < TL_EK_N_TYPES; t++) {
        to[t].type = from[t].type;
        to[t].ek = from[t].ek;
        to[t].cert = from[t].cert;
        to[t].cert_len = from[t].cert_len;
        to[t].matches = to[t].chain = -1;
        from[t] = (struct tlh_vtpm_ek){0};
    }
}

struct common_opts {
    const char *state;
    const char *ca;
    const char *key_file;
    const char *name;
    bool json;
    bool ephemeral;
};

static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return false;
    return true;
}

static int parse_opts(const char *verb, int argc, char **argv, struct common_opts *o)
{
    static const struct option options[] = {
        {"state", required_argument, NULL, 's'},
        {"ca", required_argument, NULL, 'c'},
        {"key-file", required_argument, NULL, 'k'},
        {"name", required_argument, NULL, 'n'},
        {"ephemeral", no_argument, NULL, 'e'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    *o = (struct common_opts){0};
    int c;
    optind = 1;
    opterr = 0;
    o->json = tlc_output_wants_json(); /* --json, --output, --query */
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (c) {
        case 's':
            o->state = optarg;
            break;
        case 'c':
            o->ca = optarg;
            break;
        case 'k':
            o->key_file = optarg;
            break;
        case 'n':
            o->name = optarg;
            break;
        case 'e':
            o->ephemeral = true;
            break;
        case 'h':
            usage(stdout);
            return 1;
        default:
            tlc_report_option_error(verb, argv);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "tl: %s: unexpected argument \"%s\"\n", verb, argv[optind]);
        return -1;
    }
    if (o->name && !name_ok(o->name)) {
        fprintf(stderr, "tl: %s: --name must be 1-64 printable ASCII characters\n", verb);
        return -1;
    }
    return 0;
}

static int require(const char *verb, const char *value, const char *option)
{
    if (value)
        return 0;
    fprintf(stderr, "tl: %s: %s is required (try tl vtpm --help)\n", verb, option);
    return -1;
}

static void print_provisioned(const struct common_opts *o, const char *key_file, bool ca_created,
                              const struct tl_vtpm_info *info, const struct ek_report *eks,
                              const struct tlh_swtpm *running)
{
    if (o->json) {
        json_t *j = json_object();
        json_object_set_new(j, "state", o->state ? json_string(o->state) : json_null());
        json_object_set_new(j, "ephemeral", json_boolean(o->ephemeral));
        if (key_file)
            json_object_set_new(j, "key_file", json_string(key_file));
        if (o->ca) {
            json_object_set_new(j, "ca", json_string(o->ca));
            json_object_set_new(j, "ca_created", json_boolean(ca_created));
        }
        if (info)
            json_object_set_new(j, "tpm", info_json(info));
        json_t *arr = json_array();
        for (int t = 0; eks && t < TL_EK_N_TYPES; t++)
            json_array_append_new(arr, report_json(&eks[t], false));
        json_object_set_new(j, "eks", arr);
        if (running) {
            json_object_set_new(j, "socket", json_string(running->sock));
            json_object_set_new(j, "ctrl_socket", json_string(running->ctrl));
            json_object_set_new(j, "pid", json_integer(running->pid));
        }
        tlc_json_print(j);
    } else {
        if (running)
            printf("vTPM running: socket %s, control %s, swtpm pid %d\n", running->sock,
                   running->ctrl, (int)running->pid);
        if (o->state)
            printf("state %s%s\n", o->state, key_file ? "" : " (ephemeral)");
        if (key_file)
            printf("key   %s\n", key_file);
        if (o->ca)
            printf("CA    %s%s\n", o->ca, ca_created ? " (created)" : "");
        if (info)
            printf("TPM   %s \"%s\" %s\n", info->manufacturer, info->model, info->version);
        for (int t = 0; eks && t < TL_EK_N_TYPES; t++)
            report_print(&eks[t], false);
    }
    fflush(stdout);
}

static int cmd_provision(int argc, char **argv)
{
    const char *verb = "vtpm provision";
    struct common_opts o;
    int r = parse_opts(verb, argc, argv, &o);
    if (r != 0)
        return r > 0 ? TLC_EXIT_OK : TLC_EXIT_BAD;
    if (require(verb, o.state, "--state") < 0 || require(verb, o.ca, "--ca") < 0)
        return TLC_EXIT_BAD;
    if (o.ephemeral) {
        fprintf(stderr, "tl: %s: --ephemeral is for tl vtpm run\n", verb);
        return TLC_EXIT_BAD;
    }
    signals_install();
    alarm(WATCHDOG_SECONDS);
    struct tlh_vtpm_provision_options po = {
        .state = o.state, .key_file = o.key_file, .ca = o.ca, .name = o.name, .intr = &intr};
    struct tlh_vtpm_provision_result res;
    struct tl_error err = {0};
    int r2 = tlh_vtpm_provision(&po, &res, &err);
    alarm(0);
    if (r2 < 0) {
        say(&err);
        return TLC_EXIT_BAD;
    }
    struct ek_report eks[TL_EK_N_TYPES] = {0};
    take_eks(res.eks, eks);
    print_provisioned(&o, res.key.path, res.ca_created, &res.info, eks, NULL);
    reports_done(eks);
    return TLC_EXIT_OK;
}

/* ---- show ---- */

static bool nv_attributes_expected(uint32_t a)
{
    const uint32_t need = TL_NV_EK_CERT_ATTRIBUTES | TPMA_NV_WRITTEN | TPMA_NV_WRITELOCKED;
    const uint32_t never = TPMA_NV_OWNERWRITE | TPMA_NV_AUTHWRITE | TPMA_NV_POLICYWRITE;
    return (a & need) == need && !(a & never) && (a & TPMA_NV_TPM2_NT_MASK) == 0;
}

/* Reads and checks both certificates against the EKs the TPM makes now. */
static void check_tpm(ESYS_CONTEXT *esys, const struct tl_ekca *ca, struct ek_report *out)
{
    for (int t = 0; t < TL_EK_N_TYPES; t++) {
        struct ek_report *r = &out[t];
        struct tl_error err = {0};
        r->type = (enum tl_ek_type)t;
        r->matches = r->chain = -1;
        if (tl_vtpm_create_ek(esys, r->type, &r->ek, &err) < 0) {
            snprintf(r->problem, sizeof(r->problem), "%s", err.message);
            continue;
        }
        if (tl_tpm_nv_read(esys, tl_ek_cert_nv_index(r->type), TL_EK_CERT_MAX, &r->cert,
                           &r->cert_len, &r->nv_attributes, &err) < 0) {
            snprintf(r->problem, sizeof(r->problem), "%s", err.message);
            continue;
        }
        EVP_PKEY *k = cert_pubkey(r->cert, r->cert_len);
        if (!k) {
            snprintf(r->problem, sizeof(r->problem), "NV 0x%08x: not a DER X.509 certificate",
                     tl_ek_cert_nv_index(r->type));
            continue;
        }
        r->matches = EVP_PKEY_eq(k, r->ek.key) == 1;
        EVP_PKEY_free(k);
        if (ca) {
            r->chain = tl_ek_cert_verify(r->cert, r->cert_len, ca->root, ca->intermediate,
                                         r->ek.key, time(NULL), &err) == 0
                           ? 0
                           : 1;
            if (r->chain)
                snprintf(r->problem, sizeof(r->problem), "%s", err.message);
        }
        if (!r->problem[0] && !nv_attributes_expected(r->nv_attributes))
            snprintf(r->problem, sizeof(r->problem),
                     "NV attributes 0x%08x are not an EK certificate index's "
                     "(platform-written, write-locked)",
                     r->nv_attributes);
        if (!r->problem[0] && r->matches == 0)
            snprintf(r->problem, sizeof(r->problem), "the certificate is not for this TPM's EK");
    }
}

static int cmd_show(int argc, char **argv)
{
    const char *verb = "vtpm show";
    struct common_opts o;
    int r = parse_opts(verb, argc, argv, &o);
    if (r != 0)
        return r > 0 ? TLC_EXIT_OK : TLC_EXIT_BAD;
    if (require(verb, o.state, "--state") < 0)
        return TLC_EXIT_BAD;
    if (o.ephemeral || o.name) {
        fprintf(stderr, "tl: %s: --ephemeral and --name are not for show\n", verb);
        return TLC_EXIT_BAD;
    }
    struct tlh_vtpm_key key = {0};
    struct tl_error err = {0}, quiet = {0};
    if (tlh_vtpm_key_path(o.state, o.key_file, &key, &err) < 0 ||
        tlh_vtpm_state_require(o.state, &err) < 0 || tlh_vtpm_key_load(&key, &err) < 0) {
        say(&err);
        return TLC_EXIT_BAD;
    }
    struct tl_ekca ca = {0};
    if (o.ca && tlh_ekca_load(o.ca, &ca, &err) < 0) {
        say(&err);
        OPENSSL_cleanse(key.key, sizeof(key.key));
        return TLC_EXIT_BAD;
    }
    int status = TLC_EXIT_BAD;
    struct tlh_swtpm s = {.pid = -1};
    struct tl_vtpm_info info;
    struct ek_report eks[TL_EK_N_TYPES] = {0};
    signals_install();
    alarm(WATCHDOG_SECONDS);
    if (tlh_swtpm_start(&s, o.state, key.key, &intr, o.state, &err) < 0) {
        say(&err);
        goto out;
    }
    if (tlh_swtpm_connect(&s, o.state, &err) < 0) {
        say(&err);
        tlh_swtpm_stop(&s, false, o.state, &quiet);
        goto out;
    }
    if (tl_vtpm_get_info(s.esys, &info, &err) < 0) {
        tlc_report(o.state, "%s", err.message);
        tlh_swtpm_stop(&s, false, o.state, &quiet);
        goto out;
    }
    check_tpm(s.esys, o.ca ? &ca : NULL, eks);
    if (tlh_swtpm_stop(&s, true, o.state, &err) < 0 || intr.signal) {
        if (intr.signal)
            tlc_report(o.state, "%s", signal_reason());
        else
            say(&err);
        goto out;
    }
    bool pass = report_pass(&eks[0]) && report_pass(&eks[1]);
    status = pass ? TLC_EXIT_OK : TLC_EXIT_FAIL;
    if (o.json) {
        json_t *j = json_pack("{s:s, s:o}", "state", o.state, "tpm", info_json(&info));
        json_t *arr = json_array();
        for (int t = 0; t < TL_EK_N_TYPES; t++)
            json_array_append_new(arr, report_json(&eks[t], true));
        json_object_set_new(j, "eks", arr);
        json_object_set_new(j, "verdict", json_string(pass ? "pass" : "fail"));
        tlc_json_print(j);
    } else {
        printf("state %s\nTPM   %s \"%s\" %s\n", o.state, info.manufacturer, info.model,
               info.version);
        for (int t = 0; t < TL_EK_N_TYPES; t++)
            report_print(&eks[t], true);
        printf("verdict: %s\n", pass ? "pass" : "fail");
    }
out:
    alarm(0);
    OPENSSL_cleanse(key.key, sizeof(key.key));
    reports_done(eks);
    tl_ekca_done(&ca);
    return status;
}

/* ---- run ---- */

/* Waits for SIGTERM/SIGINT/SIGHUP or swtpm's exit. */
static void serve(struct tlh_swtpm *s)
{
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    sigaddset(&block, SIGCHLD);
    sigprocmask(SIG_BLOCK, &block, &old);
    while (!intr.signal && !tlh_swtpm_reap(s, false))
        sigsuspend(&old);
    sigprocmask(SIG_SETMASK, &old, NULL);
}

static int cmd_run(int argc, char **argv)
{
    const char *verb = "vtpm run";
    struct common_opts o;
    int r = parse_opts(verb, argc, argv, &o);
    if (r != 0)
        return r > 0 ? TLC_EXIT_OK : TLC_EXIT_BAD;
    if (o.ephemeral) {
        if (o.state || o.key_file) {
            fprintf(stderr, "tl: %s: --ephemeral takes no --state or --key-file\n", verb);
            return TLC_EXIT_BAD;
        }
        if (require(verb, o.ca, "--ca") < 0)
            return TLC_EXIT_BAD;
    } else if (require(verb, o.state, "--state") < 0) {
        return TLC_EXIT_BAD;
    } else if (o.ca || o.name) {
        fprintf(stderr,
                "tl: %s: --ca and --name are for --ephemeral (a persisted state is "
                "provisioned with tl vtpm provision)\n",
                verb);
        return TLC_EXIT_BAD;
    }
    struct tlh_vtpm_key key = {0};
    struct tl_ekca ca = {0};
    struct tl_error err = {0}, quiet = {0};
    bool ca_created = false;
    char state[PATH_MAX] = "";
    if (o.ephemeral) {
        if (tlh_ekca_open(o.ca, &ca, &ca_created, &err) < 0) {
            say(&err);
            return TLC_EXIT_BAD;
        }
        /* A key that lives only in this process and swtpm's memory. */
        if (tlh_vtpm_key_random(key.key, &err) < 0 || tlh_vtpm_state_ephemeral(state, &err) < 0) {
            say(&err);
            tl_ekca_done(&ca);
            return TLC_EXIT_BAD;
        }
        o.state = state;
    } else if (tlh_vtpm_key_path(o.state, o.key_file, &key, &err) < 0 ||
               tlh_vtpm_state_require(o.state, &err) < 0 || tlh_vtpm_key_load(&key, &err) < 0) {
        say(&err);
        return TLC_EXIT_BAD;
    }
    int status = TLC_EXIT_BAD;
    struct tlh_swtpm s = {.pid = -1};
    struct tl_vtpm_info info;
    struct ek_report eks[TL_EK_N_TYPES] = {0};
    struct tlh_vtpm_ek made[TL_EK_N_TYPES] = {0};
    signals_install();
    alarm(WATCHDOG_SECONDS);
    if (tlh_swtpm_start(&s, o.state, key.key, &intr, o.state, &err) < 0) {
        say(&err);
        goto out;
    }
    OPENSSL_cleanse(key.key, sizeof(key.key));
    if (tlh_swtpm_connect(&s, o.state, &err) < 0) {
        say(&err);
        tlh_swtpm_stop(&s, false, o.state, &quiet);
        goto out;
    }
    if (o.ephemeral
            ? tlh_vtpm_provision_tpm(s.esys, &ca, o.name, &intr, &info, made, o.state, &err) < 0
            : tl_vtpm_get_info(s.esys, &info, &err) < 0) {
        if (o.ephemeral)
            say(&err);
        else
            tlc_report(o.state, "%s", err.message);
        tlh_swtpm_stop(&s, false, o.state, &quiet);
        goto out;
    }
    if (o.ephemeral)
        take_eks(made, eks);
    else
        check_tpm(s.esys, NULL, eks);
    /* The TPM is the node's from here: no ESYS context of ours stays open. */
    tlh_swtpm_disconnect(&s);
    alarm(0);
    intr.kill_pid = 0; /* from now on a signal asks for an orderly stop */
    if (intr.signal) {
        tlc_report(o.state, "%s", signal_reason());
        tlh_swtpm_stop(&s, false, o.state, &quiet);
        goto out;
    }
    print_provisioned(&o, o.ephemeral ? NULL : key.path, ca_created, &info, eks, &s);
    serve(&s);
    if (s.reaped && !intr.signal) {
        /* QEMU shuts swtpm down (CMD_SHUTDOWN) when the VM ends: exit 0
         * is a normal end, anything else is not. */
        bool clean = WIFEXITED(s.status) && WEXITSTATUS(s.status) == 0;
        if (!clean) {
            tlh_swtpm_report(&s, "swtpm exited while serving", o.state, &err);
            say(&err);
        }
        tlh_swtpm_stop(&s, false, o.state, &quiet);
        status = clean ? TLC_EXIT_OK : TLC_EXIT_BAD;
        goto out;
    }
    status = TLC_EXIT_OK;
    if (tlh_swtpm_stop(&s, true, o.state, &err) < 0) {
        say(&err);
        status = TLC_EXIT_BAD;
    }
out:
    alarm(0);
    if (o.ephemeral && state[0])
        tlh_file_remove_tree(state, false);
    tlh_vtpm_eks_done(made);
    OPENSSL_cleanse(key.key, sizeof(key.key));
    reports_done(eks);
    tl_ekca_done(&ca);
    return status;
}

int tlc_cmd_vtpm(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "tl: vtpm: no verb given (provision, show, run)\n");
        return TLC_EXIT_BAD;
    }
    const char *verb = argv[1];
    if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0) {
        usage(stdout);
        return TLC_EXIT_OK;
    }
    /* tpm2-tss logs to stderr by default; our errors are one line each. */
    setenv("TSS2_LOG", "all+none", 0);
    if (strcmp(verb, "provision") == 0)
        return cmd_provision(argc - 1, argv + 1);
    if (strcmp(verb, "show") == 0)
        return cmd_show(argc - 1, argv + 1);
    if (strcmp(verb, "run") == 0)
        return cmd_run(argc - 1, argv + 1);
    fprintf(stderr, "tl: vtpm: unknown verb \"%s\" (provision, show, run)\n", verb);
    return TLC_EXIT_BAD;
}
