/* tl: the trustlaunch command line. Offline verbs work on files; platform
 * verbs (tl node) talk to tld. */
#include <stdio.h>
#include <string.h>

#include "output.h"
#include "tl.h"

static void usage(FILE *f)
{
    fputs(
        "usage: tl <command> [args]\n"
        "\n"
        "commands:\n"
        "  eventlog show|replay|state FILE...   TCG event logs (see tl eventlog --help)\n"
        "  secureboot digest|verify|predict|vars  Secure Boot chains and key stores\n"
        "  image build -o DIR                   the node image (disk.raw + manifest.json)\n"
        "  vtpm provision|show|run              a node's vTPM (swtpm), EKs and EK certificates\n"
        "  node create|list|show|start|stop|reimage|delete|console\n"
        "                                       nodes (QEMU + OVMF + swtpm) run by tld\n"
        "  attest verify|make-credential        TPM quotes, event logs, credentials (offline)\n"
        "  tee verify|show                      confidential-VM evidence: SEV-SNP, TDX, Azure\n"
        "  attestation list|show                the attestation service's verdicts\n"
        "  alert list|show|ack                  integrity alerts, naming the components\n"
        "  policy show|learn                    a node's reference values and baseline\n"
        "  token create|list|delete             API tokens for other callers (roles)\n"
        "\n"
        "az-compatible (the AKS documentation's commands, az replaced by tl):\n"
        "  group create|show|delete|list        resource groups\n"
        "  vm create|show|list|start|stop|delete|resize|update\n"
        "                                       standalone VMs: Standard, TrustedLaunch,\n"
        "                                       ConfidentialVM (SEV-SNP, TDX sizes)\n"
        "  aks create|show|delete|list|get-credentials\n"
        "                                       clusters (nodes run by tld)\n"
        "  aks nodepool add|update|show|list|delete\n"
        "                                       node pools; trusted launch per pool\n"
        "  feature register|show|list           preview features (TrustedLaunchPreview)\n"
        "  provider register|show               resource providers\n"
        "  extension add|update                 accepted; tl needs no extension\n"
        "  keyvault create|show|list|delete     key vaults; keyvault key create|show|list|\n"
        "                                       list-versions|rotate|delete|download|release-log:\n"
        "                                       HSM keys (PKCS#11) with release policies\n"
        "\n"
        "Every verb takes --output/-o json|jsonc|table|tsv|yaml|none, --query JMESPATH\n"
        "(evaluated by jp) and --json (the JSON on one line); see docs/cli.md, Output.\n"
        "\n"
        "Exit status: 0 ok, 1 a verification verdict of fail, 2 bad usage or input.\n",
        f);
}

static int run(int argc, char **argv);

int main(int argc, char **argv)
{
    struct tlc_output out;
    struct tl_error err = {0};
    if (tlc_output_parse(&argc, argv, &out, &err) < 0 || tlc_output_check(&out, &err) < 0)
        return tlc_fail(TLC_EXIT_BAD, &err);
    tlc_output_use(&out);
    int rc = run(argc, argv);
    return out.failed ? TLC_EXIT_BAD : rc;
}

static int run(int argc, char **argv)
{
    if (argc < 2) {
        tlc_report(NULL, "no command given (try tl --help)");
        return TLC_EXIT_BAD;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return TLC_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        puts("tl " TL_VERSION);
        return TLC_EXIT_OK;
    }
    if (strcmp(argv[1], "eventlog") == 0)
        return tlc_cmd_eventlog(argc - 1, argv + 1);
    if (strcmp(argv[1], "secureboot") == 0)
        return tlc_cmd_secureboot(argc - 1, argv + 1);
    if (strcmp(argv[1], "image") == 0)
        return tlc_cmd_image(argc - 1, argv + 1);
    if (strcmp(argv[1], "vtpm") == 0)
        return tlc_cmd_vtpm(argc - 1, argv + 1);
    if (strcmp(argv[1], "node") == 0)
        return tlc_cmd_node(argc - 1, argv + 1);
    if (strcmp(argv[1], "attest") == 0)
        return tlc_cmd_attest(argc - 1, argv + 1);
    if (strcmp(argv[1], "tee") == 0)
        return tlc_cmd_tee(argc - 1, argv + 1);
    if (strcmp(argv[1], "attestation") == 0)
        return tlc_cmd_attestation(argc - 1, argv + 1);
    if (strcmp(argv[1], "alert") == 0)
        return tlc_cmd_alert(argc - 1, argv + 1);
    if (strcmp(argv[1], "policy") == 0)
        return tlc_cmd_policy(argc - 1, argv + 1);
    if (strcmp(argv[1], "token") == 0)
        return tlc_cmd_token(argc - 1, argv + 1);
    if (strcmp(argv[1], "group") == 0)
        return tlc_cmd_group(argc - 1, argv + 1);
    if (strcmp(argv[1], "vm") == 0)
        return tlc_cmd_vm(argc - 1, argv + 1);
    if (strcmp(argv[1], "aks") == 0)
        return tlc_cmd_aks(argc - 1, argv + 1);
    if (strcmp(argv[1], "feature") == 0)
        return tlc_cmd_feature(argc - 1, argv + 1);
    if (strcmp(argv[1], "provider") == 0)
        return tlc_cmd_provider(argc - 1, argv + 1);
    if (strcmp(argv[1], "keyvault") == 0)
        return tlc_cmd_keyvault(argc - 1, argv + 1);
    if (strcmp(argv[1], "extension") == 0)
        return tlc_cmd_extension(argc - 1, argv + 1);
    tlc_report(NULL, "unknown command \"%s\" (try tl --help)", argv[1]);
    return TLC_EXIT_BAD;
}
