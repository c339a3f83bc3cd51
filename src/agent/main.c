/* tl-agent: the node agent (docs/image.md, "tl-agent"). The initramfs's
 * /init runs it in the foreground after the network is up:
 *
 *   1. config: the platform's opt/trustlaunch/agent.json through QEMU fw_cfg
 *      (or --config / --url ... on a host); none at all = not started by a
 *      platform: "TL: agent no-platform", exit 3, and /init powers off;
 *   2. evidence: Secure Boot, PCRs, EK certificates, the event log;
 *   3. report: POST to tld, retried while tld is unreachable or answers 5xx;
 *   4. attestation (attest.c): an AK under the EK, enrolled with tld through
 *      TPM2_ActivateCredential, then a quote for a nonce of tld's, again
 *      every attest_interval seconds; the node keeps running (so does the
 *      agent: /init waits on it). An older tld (404 on /enroll) or no TPM:
 *      it just stays running.
 *
 * Console lines on stdout ("TL: agent ...", one fact each, read by the host);
 * usage errors are one "tl-agent: ..." line on stderr. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "tlhost/file.h"

__attribute__((format(printf, 1, 2))) static int bad(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("tl-agent: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return AGENT_EXIT_BAD;
}

static void usage(void)
{
    fputs("usage: tl-agent [--config FILE] [--url URL] [--token T] [--node NAME]\n"
          "                [--tcti CONF] [--eventlog FILE] [--efivars DIR] [--fw-cfg FILE]\n"
          "                [--once] [--retry-for SECONDS] [--no-attest] [--ek rsa|ecc]\n"
          "                [--ak ecc|rsa] [--pcrs LIST] [--interval SECONDS]\n"
          "                [--rp-nonce HEX] [--audience AUD]\n"
          "                [--release VAULT/KEY[/VERSION] --release-out FILE]\n"
          "                [--release-open DUMP --release-out FILE]\n"
          "\n"
          "Reads the platform's config (QEMU fw_cfg opt/trustlaunch/agent.json), the\n"
          "node's boot evidence (Secure Boot, TPM PCRs and EK certificates, the firmware\n"
          "event log) and posts it to tld; then enrols an attestation key and attests,\n"
          "again every attest_interval seconds (--once: attests once and exits).\n"
          "\n"
          "  --config FILE      the config instead of fw_cfg's\n"
          "  --url, --token, --node  override the config's values\n"
          "  --tcti CONF        tpm2-tss TCTI (default device:/dev/tpmrm0)\n"
          "  --eventlog FILE    default /sys/kernel/security/tpm0/binary_bios_measurements\n"
          "  --efivars DIR      default /sys/firmware/efi/efivars\n"
          "  --fw-cfg FILE      default " AGENT_FW_CFG_PATH "\n"
          "  --retry-for SECONDS  keep retrying an unreachable or failing (5xx) tld this\n"
          "                     long (default 90), for each request\n"
          "  --no-attest        report only\n"
          "  --ek rsa|ecc       the EK the AK is made under (default rsa: RSA 2048)\n"
          "  --ak ecc|rsa       the AK: ECC P-256 ECDSA (default) or RSA 2048 RSASSA\n"
          "  --pcrs LIST        the sha256 PCRs quoted (default 0-9,14), e.g. 0,7,14\n"
          "  --interval SECONDS between attestations, 1 to 86400 (default the config's\n"
          "                     attest_interval, else 300)\n"
          "  --rp-nonce HEX     a relying party's nonce (1-64 bytes), carried into the\n"
          "                     token (its \"rp_nonce\" claim)\n"
          "  --audience AUD     the token's \"aud\" (default the platform's)\n"
          "  --release VAULT/KEY[/VERSION]  with --once, after a passing attestation: the\n"
          "                     key (that version, default the newest) released to a key\n"
          "                     of this TPM, its bytes written to\n"
          "  --release-out FILE (new, 0600)\n"
          "  --release-dump FILE  the release request written there too, the answer to\n"
          "                     FILE.answer, the TPM key's private area (as the TPM\n"
          "                     protects it) to FILE.private: for tests\n"
          "  --release-open DUMP  no tld: open DUMP.answer with this TPM (--tcti), by\n"
          "                     loading DUMP's key again, else with a key of this TPM;\n"
          "                     says why it cannot (tests: another node's TPM cannot)\n"
          "\n"
          "Exit status: 0 reported and attested (--once), 1 failed, 2 bad usage or config,\n"
          "3 no platform config.\n",
          stdout);
}

/* Reads and parses a config file; -ENOENT (silently) when missing_ok and it
 * does not exist; otherwise prints the one-line error and returns < 0. */
static int load_config(const char *path, bool missing_ok, struct agent_config *cfg)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int r = tlh_file_read(path, AGENT_CONFIG_MAX, &buf, &len, NULL);
    if (r == -ENOENT && missing_ok)
        return r;
    if (r < 0) {
        bad("%s: cannot read: %s", path, r == -EFBIG ? "larger than 64 KiB" : strerror(-r));
        return r;
    }
    char err[256];
    r = agent_config_parse(buf, len, cfg, err, sizeof(err));
    free(buf);
    if (r < 0)
        bad("%s: %s", path, err);
    return r;
}

/* "0,1,2-9,14": PCR numbers 0-23 and ranges, as a mask. */
static int parse_pcrs(const char *s, uint32_t *mask)
{
    *mask = 0;
    const char *p = s;
    for (;;) {
        char *end;
        if (*p < '0' || *p > '9')
            return -EINVAL;
        unsigned long a = strtoul(p, &end, 10), b = a;
        if (*end == '-') {
            p = end + 1;
            if (*p < '0' || *p > '9')
                return -EINVAL;
            b = strtoul(p, &end, 10);
        }
        if (a >= TL_PCR_READ_PCRS || b >= TL_PCR_READ_PCRS || a > b)
            return -EINVAL;
        for (unsigned long i = a; i <= b; i++)
            *mask |= 1u << i;
        if (*end == 0)
            return 0;
        if (*end != ',')
            return -EINVAL;
        p = end + 1;
    }
}

static int set_option(char *dst, size_t size, const char *opt, const char *v,
                      const char *(*check)(const char *))
{
    const char *why = strlen(v) >= size ? "is too long" : check(v);
    if (why)
        return bad("--%s %s", opt, why);
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},
        {"url", required_argument, NULL, 'u'},
        {"token", required_argument, NULL, 't'},
        {"node", required_argument, NULL, 'n'},
        {"tcti", required_argument, NULL, 'T'},
        {"eventlog", required_argument, NULL, 'e'},
        {"efivars", required_argument, NULL, 'v'},
        {"fw-cfg", required_argument, NULL, 'f'},
        {"once", no_argument, NULL, '1'},
        {"retry-for", required_argument, NULL, 'r'},
        {"no-attest", no_argument, NULL, 'N'},
        {"ek", required_argument, NULL, 'E'},
        {"ak", required_argument, NULL, 'A'},
        {"pcrs", required_argument, NULL, 'P'},
        {"interval", required_argument, NULL, 'I'},
        {"rp-nonce", required_argument, NULL, 'R'},
        {"audience", required_argument, NULL, 'D'},
        {"release", required_argument, NULL, 'K'},
        {"release-out", required_argument, NULL, 'O'},
        {"release-dump", required_argument, NULL, 'Q'},
        {"release-open", required_argument, NULL, 'W'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);

    struct agent_config over = {0};
    struct agent_sources src = {
        .tcti = "device:/dev/tpmrm0",
        .eventlog = "/sys/kernel/security/tpm0/binary_bios_measurements",
        .efivars = "/sys/firmware/efi/efivars",
    };
    const char *config = NULL, *fw_cfg = AGENT_FW_CFG_PATH, *release_open = NULL;
    bool once = false, attest = true;
    double retry_for = 90;
    unsigned interval = 0;
    struct agent_attest_options ao = {
        .ek = TL_EK_RSA2048,
        .ak = AGENT_AK_ECC_P256,
        .pcrs = 0x3ffu | 1u << 14, /* sha256 0-9 and 14 */
    };
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case 'u':
            if (set_option(over.url, sizeof(over.url), "url", optarg, agent_config_check_url))
                return AGENT_EXIT_BAD;
            break;
        case 't':
            if (set_option(over.token, sizeof(over.token), "token", optarg,
                           agent_config_check_token))
                return AGENT_EXIT_BAD;
            break;
        case 'n':
            if (set_option(over.node, sizeof(over.node), "node", optarg, agent_config_check_node))
                return AGENT_EXIT_BAD;
            break;
        case 'T':
            src.tcti = optarg;
            break;
        case 'e':
            src.eventlog = optarg;
            break;
        case 'v':
            src.efivars = optarg;
            break;
        case 'f':
            fw_cfg = optarg;
            break;
        case '1':
            once = true;
            break;
        case 'r':
            errno = 0;
            retry_for = strtod(optarg, &end);
            if (errno || end == optarg || *end || !isfinite(retry_for) || retry_for < 0 ||
                retry_for > 86400)
                return bad("--retry-for: seconds from 0 to 86400, not \"%s\"", optarg);
            break;
        case 'N':
            attest = false;
            break;
        case 'E':
            if (strcmp(optarg, "rsa") == 0)
                ao.ek = TL_EK_RSA2048;
            else if (strcmp(optarg, "ecc") == 0)
                ao.ek = TL_EK_ECC_P256;
            else
                return bad("--ek: rsa or ecc, not \"%s\"", optarg);
            break;
        case 'A':
            if (strcmp(optarg, "ecc") == 0)
                ao.ak = AGENT_AK_ECC_P256;
            else if (strcmp(optarg, "rsa") == 0)
                ao.ak = AGENT_AK_RSA2048;
            else
                return bad("--ak: ecc or rsa, not \"%s\"", optarg);
            break;
        case 'P':
            if (parse_pcrs(optarg, &ao.pcrs) < 0)
                return bad("--pcrs: PCR numbers 0-23 and ranges (0,7,10-14), not \"%s\"", optarg);
            break;
        case 'I': {
            errno = 0;
            unsigned long v = strtoul(optarg, &end, 10);
            if (errno || end == optarg || *end || optarg[0] < '0' || optarg[0] > '9' || v < 1 ||
                v > AGENT_INTERVAL_MAX)
                return bad("--interval: seconds from 1 to %u, not \"%s\"", AGENT_INTERVAL_MAX,
                           optarg);
            interval = (unsigned)v;
            break;
        }
        case 'R': {
            size_t n = strlen(optarg);
            bool hex = n >= 2 && n <= 128 && n % 2 == 0;
            for (size_t i = 0; hex && i < n; i++)
                hex = isxdigit((unsigned char)optarg[i]) != 0;
            if (!hex)
                return bad("--rp-nonce: 1-64 bytes in hex, not \"%s\"", optarg);
            ao.rp_nonce = optarg;
            break;
        }
        case 'D':
            if (!*optarg || strlen(optarg) > 256)
                return bad("--audience: 1-256 characters");
            ao.audience = optarg;
            break;
        case 'K': {
            /* VAULT/KEY or VAULT/KEY/VERSION (tld checks the names) */
            const char *slash = strchr(optarg, '/');
            const char *ver = slash ? strchr(slash + 1, '/') : NULL;
            if (!slash || slash == optarg || !slash[1] || ver == slash + 1 ||
                (ver && (!ver[1] || strchr(ver + 1, '/'))))
                return bad("--release: VAULT/KEY or VAULT/KEY/VERSION, not \"%s\"", optarg);
            ao.release = optarg;
            break;
        }
        case 'O':
            ao.release_out = optarg;
            break;
        case 'Q':
            ao.release_dump = optarg;
            break;
        case 'W':
            release_open = optarg;
            break;
        case 'h':
            usage();
            return AGENT_EXIT_OK;
        default:
            return bad("option %s is unknown or needs a value",
                       optind > 0 && optind <= argc ? argv[optind - 1] : "?");
        }
    }
    if (optind < argc)
        return bad("unexpected argument \"%s\" (try --help)", argv[optind]);
    if (release_open) { /* a test's tool: no config, no tld */
        if (!ao.release_out || ao.release)
            return bad("--release-open DUMP goes with --release-out FILE, without --release");
        return agent_release_open_saved(src.tcti, release_open, ao.release_out);
    }
    if (!ao.release != !ao.release_out || (ao.release && (!once || !attest)))
        return bad("--release VAULT/KEY goes with --release-out FILE and --once");

    /* ---- config: --config FILE, else fw_cfg; options override ---------- */
    struct agent_config cfg = {0};
    const char *from = NULL;
    int r;
    if (config) {
        if (load_config(config, false, &cfg) < 0)
            return AGENT_EXIT_BAD;
        from = config;
    } else {
        r = load_config(fw_cfg, true, &cfg);
        if (r == 0)
            from = "fw_cfg";
        else if (r != -ENOENT)
            return AGENT_EXIT_BAD;
    }
    if (over.url[0])
        memcpy(cfg.url, over.url, sizeof(cfg.url));
    if (over.token[0])
        memcpy(cfg.token, over.token, sizeof(cfg.token));
    if (over.node[0])
        memcpy(cfg.node, over.node, sizeof(cfg.node));
    if (!from && !over.url[0]) {
        /* Booted without a platform (a test boot, a bare QEMU): nothing to
         * report to. */
        agent_say("no-platform");
        return AGENT_EXIT_NO_PLATFORM;
    }
    const char *origin = from ? from : "the options";
    if (!cfg.url[0])
        return bad("%s: no \"url\" (and no --url)", origin);
    if (!cfg.token[0])
        return bad("%s: no \"token\" (and no --token)", origin);
    if (!cfg.node[0])
        return bad("%s: no \"node\" (and no --node)", origin);
    agent_say("config url=%s node=%s", cfg.url, cfg.node);

    /* ---- evidence ------------------------------------------------------ */
    struct agent_evidence ev;
    char err[512] = "";
    if (agent_evidence_collect(&src, &ev, err, sizeof(err)) < 0) {
        agent_say("failed: %s", err);
        agent_evidence_done(&ev);
        return AGENT_EXIT_FAIL;
    }
    char banks[TL_PCR_READ_BANKS * 12] = "", certs[32] = "", log[32];
    for (size_t i = 0; i < ev.pcr.count; i++)
        snprintf(banks + strlen(banks), sizeof(banks) - strlen(banks), "%s%s", i ? "," : "",
                 ev.pcr.bank[i].name);
    for (size_t i = 0; i < ev.n_ek_certs; i++)
        snprintf(certs + strlen(certs), sizeof(certs) - strlen(certs), "%s%s", i ? "," : "",
                 ev.ek_certs[i].name);
    if (ev.has_eventlog)
        snprintf(log, sizeof(log), "%zu bytes", ev.eventlog_len);
    else
        snprintf(log, sizeof(log), "absent");
    agent_say("evidence tpm=%s banks=%s eventlog=%s secure-boot=%s ek-certs=%s",
              ev.tpm ? "yes" : "no", banks[0] ? banks : "none", log, ev.secure_boot,
              certs[0] ? certs : "none");

    /* ---- report -------------------------------------------------------- */
    char *body = agent_report_body(&cfg, &ev);
    /* The EK certificate goes to the enrolment: kept past the evidence. */
    struct agent_ek_cert ek_cert = {0};
    for (size_t i = 0; i < ev.n_ek_certs; i++)
        if (strcmp(ev.ek_certs[i].name, tl_ek_type_name(ao.ek)) == 0) {
            ek_cert = ev.ek_certs[i];
            ev.ek_certs[i].der = NULL;
        }
    bool tpm = ev.tpm;
    agent_evidence_done(&ev);
    if (!body) {
        free(ek_cert.der);
        agent_say("failed: out of memory building the report");
        return AGENT_EXIT_FAIL;
    }
    r = agent_report_send(&cfg, body, retry_for);
    free(body);
    if (r < 0) {
        free(ek_cert.der);
        return AGENT_EXIT_FAIL;
    }

    /* ---- attestation ----------------------------------------------------- */
    int status = AGENT_EXIT_OK;
    if (attest && !tpm)
        agent_say("attestation off: no TPM");
    if (attest && tpm) {
        ao.tcti = src.tcti;
        ao.eventlog = src.eventlog;
        ao.interval = interval              ? interval
                      : cfg.attest_interval ? cfg.attest_interval
                                            : AGENT_INTERVAL_DEFAULT;
        ao.once = once;
        ao.retry_for = retry_for;
        ao.ek_cert = ek_cert.der ? &ek_cert : NULL;
        status = agent_attest_run(&cfg, &ao); /* without --once: returns only if unsupported */
    }
    free(ek_cert.der);
    if (once)
        return status;

    /* The node keeps running; /init waits on us. */
    for (;;)
        pause();
}
