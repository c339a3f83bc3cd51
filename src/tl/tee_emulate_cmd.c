/* `tl tee emulate snp|tdx`: the emulated secure processor from the command
 * line. Opens (creating once) the key store in --dir (tlhost/tee_emul.h),
 * the chip --chip, computes the launch measurement from --firmware, and
 * writes an SEV-SNP report or a TD quote carrying --report-data to --out;
 * then says where the VCEK and the collateral are and which trusted-roots
 * entry a policy needs, so that `tl tee verify --policy P [--vcek V]
 * --collateral DIR FILE` passes with it and fails `root-untrusted`
 * without. Exit status: 0 written, 2 bad usage or input. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "output.h"
#include "tl.h"
#include "tl/snp.h"
#include "tl/util.h"
#include "tlhost/tee_emul.h"

static void usage(FILE *f)
{
    fputs("usage: tl tee emulate snp|tdx --dir DIR --out FILE [--chip NAME] [--chip-id HEX]\n"
          "                     [--report-data HEX] [--firmware FILE] [--vcpus N]\n"
          "                     [--guest-features N] [--snp-version 3|5] [--json]\n"
          "Writes an SEV-SNP report (snp) or a TD quote v4 (tdx) signed by the emulated\n"
          "secure processor whose keys live in DIR (created once), for chip NAME (default\n"
          "\"default\"; --chip-id: its 64-byte CHIP_ID when new), carrying REPORT_DATA HEX\n"
          "(up to 64 bytes, zero-padded) and the launch measurement of --firmware with\n"
          "--vcpus (default 1) and --guest-features (default 0); no --firmware: zeros.\n"
          "Prints the VCEK, the collateral folder and the policy's trusted-roots entry.\n",
          f);
}

static int hex_arg(const char *opt, const char *s, uint8_t *out, size_t size, bool exact)
{
    memset(out, 0, size);
    int n = tl_hex_decode(s, strlen(s), out, size);
    if (n < 0 || (exact && (size_t)n != size)) {
        fprintf(stderr, "tl: tee emulate: %s: %s\n", opt,
                exact ? "expected 128 hex digits" : "not hex of at most 64 bytes");
        return -1;
    }
    return 0;
}

static int write_out(const char *path, const uint8_t *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        tlc_report(path, "cannot create: %s", strerror(errno));
        return -1;
    }
    return tlc_write_fd(fd, path, p, n) < 0 ? -1 : 0;
}

static int cmd_emulate(int argc, char **argv)
{
    static const struct option options[] = {
        {"help", no_argument, NULL, 'h'},
        {"dir", required_argument, NULL, 'd'},
        {"out", required_argument, NULL, 'o'},
        {"chip", required_argument, NULL, 'c'},
        {"chip-id", required_argument, NULL, 'i'},
        {"report-data", required_argument, NULL, 'r'},
        {"firmware", required_argument, NULL, 'f'},
        {"vcpus", required_argument, NULL, 'v'},
        {"guest-features", required_argument, NULL, 'g'},
        {"snp-version", required_argument, NULL, 's'},
        {0},
    };
    const char *dir = NULL, *out = NULL, *chip = "default", *fw = NULL;
    struct tlh_tee_emul_request req = {0};
    uint8_t chip_id[64];
    bool json = false, have_chip_id = false;
    unsigned long vcpus = 1;
    unsigned long long features = 0;
    char *end;
    int c;
    opterr = 0;
    json = tlc_output_wants_json(); /* --json, --output, --query */
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (c) {
        case 'h':
            usage(stdout);
            return TLC_EXIT_OK;
        case 'd':
            dir = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'c':
            chip = optarg;
            break;
        case 'i':
            if (hex_arg("--chip-id", optarg, chip_id, 64, true) < 0)
                return TLC_EXIT_BAD;
            have_chip_id = true;
            break;
        case 'r':
            if (hex_arg("--report-data", optarg, req.report_data, 64, false) < 0)
                return TLC_EXIT_BAD;
            break;
        case 'f':
            fw = optarg;
            break;
        case 'v':
            vcpus = strtoul(optarg, &end, 10);
            if (*end || vcpus < 1 || vcpus > 512) {
                fprintf(stderr, "tl: tee emulate: --vcpus \"%s\": 1 to 512\n", optarg);
                return TLC_EXIT_BAD;
            }
            break;
        case 'g':
            features = strtoull(optarg, &end, 0);
            if (*end || !optarg[0]) {
                fprintf(stderr, "tl: tee emulate: --guest-features \"%s\": not a number\n", optarg);
                return TLC_EXIT_BAD;
            }
            break;
        case 's':
            if (strcmp(optarg, "3") && strcmp(optarg, "5")) {
                fprintf(stderr, "tl: tee emulate: --snp-version \"%s\": 3 or 5\n", optarg);
                return TLC_EXIT_BAD;
            }
            req.snp_version = (uint32_t)atoi(optarg);
            break;
        default:
            tlc_report_option_error("tee emulate", argv);
            return TLC_EXIT_BAD;
        }
    }
    if (optind != argc - 1 || (strcmp(argv[optind], "snp") && strcmp(argv[optind], "tdx"))) {
        fprintf(stderr, "tl: tee emulate: expected snp or tdx (try --help)\n");
        return TLC_EXIT_BAD;
    }
    if (!dir || !out) {
        fprintf(stderr, "tl: tee emulate: --%s is required\n", dir ? "out" : "dir");
        return TLC_EXIT_BAD;
    }
    req.kind = strcmp(argv[optind], "snp") == 0 ? TLH_TEE_EMUL_SNP : TLH_TEE_EMUL_TDX;
    struct tl_error err = {0};
    struct tlh_tee_emul *e = NULL;
    struct tlh_tee_emul_chip *ch = NULL;
    uint8_t *report = NULL;
    size_t len = 0;
    int ret = TLC_EXIT_BAD;
    if (fw &&
        tlh_tee_emul_measure(req.kind, fw, (unsigned)vcpus, features, req.measurement, &err) < 0) {
        tlc_report_error(fw, &err);
        goto out;
    }
    if (tlh_tee_emul_open(dir, time(NULL), &e, &err) < 0 ||
        tlh_tee_emul_chip_open(e, chip, have_chip_id ? chip_id : NULL, &ch, &err) < 0 ||
        tlh_tee_emul_report(e, ch, &req, &report, &len, &err) < 0) {
        tlc_report_error(dir, &err);
        goto out;
    }
    if (write_out(out, report, len) < 0)
        goto out;
    struct tlh_tee_emul_info info;
    tlh_tee_emul_info(e, &info);
    bool snp = req.kind == TLH_TEE_EMUL_SNP;
    const char *root_kind = snp ? "snp-ark" : "tdx-root";
    const char *root_sha = snp ? info.snp_ark_sha256 : info.tdx_root_sha256;
    const char *col = snp ? info.snp_collateral : info.tdx_collateral;
    char m[97];
    tl_hex_encode(req.measurement, 48, m);
    if (json) {
        json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:{s:s,s:s},s:s}", "out", out, "kind", argv[optind],
                              "chip", chip, "collateral", col, "trusted-root", "kind", root_kind,
                              "sha256", root_sha, "measurement", m);
        if (o && snp)
            json_object_set_new(o, "vcek", json_string(tlh_tee_emul_chip_vcek_path(ch)));
        tlc_json_print(o);
    } else {
        printf("%s: emulated %s (chip %s)\n", out, snp ? "SEV-SNP report" : "TD quote v4", chip);
        if (snp)
            printf("  vcek: %s\n", tlh_tee_emul_chip_vcek_path(ch));
        printf("  collateral: %s\n", col);
        printf("  measurement: %s\n", m);
        printf("  policy: {\"trusted-roots\": [{\"kind\": \"%s\", \"sha256\": \"%s\"}]}\n",
               root_kind, root_sha);
    }
    ret = TLC_EXIT_OK;
out:
    free(report);
    tlh_tee_emul_chip_free(ch);
    tlh_tee_emul_free(e);
    return ret;
}

int tlc_cmd_tee_emulate(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return TLC_EXIT_OK;
    }
    return cmd_emulate(argc, argv);
}
