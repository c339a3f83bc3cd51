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
        "  daemon start|stop|status|logs        this TL_HOME's tld (and stop: its nodes)\n"
        "  completion bash                      the shell completion script\n"
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

/* The commands: main dispatches on this table, and `tl completion bash`
 * writes the shell's completion from it (installed as
 * share/bash-completion/completions/tl), so the two cannot disagree. The
 * verbs are the words completed after the command. */
struct tlc_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *verbs;
};

static int cmd_completion(int argc, char **argv);

static const struct tlc_command commands[] = {
    {"eventlog", tlc_cmd_eventlog, "show replay state"},
    {"secureboot", tlc_cmd_secureboot, "digest verify predict vars"},
    {"image", tlc_cmd_image, "build check"},
    {"vtpm", tlc_cmd_vtpm, "provision show run"},
    {"node", tlc_cmd_node, "create list show start stop reimage delete console"},
    {"attest", tlc_cmd_attest, "verify make-credential"},
    {"tee", tlc_cmd_tee, "verify show emulate"},
    {"attestation", tlc_cmd_attestation, "list show"},
    {"alert", tlc_cmd_alert, "list show ack"},
    {"policy", tlc_cmd_policy, "show learn rules"},
    {"token", tlc_cmd_token, "create list delete"},
    {"daemon", tlc_cmd_daemon, "start stop status logs"},
    {"group", tlc_cmd_group, "create show delete list"},
    {"vm", tlc_cmd_vm, "create show list start stop delete resize update"},
    {"aks", tlc_cmd_aks, "create show delete list get-credentials nodepool"},
    {"feature", tlc_cmd_feature, "register show list"},
    {"provider", tlc_cmd_provider, "register show"},
    {"keyvault", tlc_cmd_keyvault, "create show list delete key"},
    {"extension", tlc_cmd_extension, "add update"},
    {"completion", cmd_completion, "bash"},
};

/* The bash completion script: commands, then each command's verbs; files
 * after that (most verbs take paths). */
static int cmd_completion(int argc, char **argv)
{
    if (argc != 2 || strcmp(argv[1], "bash") != 0) {
        tlc_report("completion", "usage: tl completion bash");
        return TLC_EXIT_BAD;
    }
    fputs("# bash completion for tl: written by `tl completion bash` from tl's command table\n"
          "_tl() {\n"
          "    local cur=${COMP_WORDS[COMP_CWORD]} words\n"
          "    if [ \"$COMP_CWORD\" -eq 1 ]; then\n"
          "        words=\"",
          stdout);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        printf("%s%s", i ? " " : "", commands[i].name);
    fputs("\"\n"
          "    elif [ \"$COMP_CWORD\" -eq 2 ]; then\n"
          "        case ${COMP_WORDS[1]} in\n",
          stdout);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        printf("        %s) words=\"%s\" ;;\n", commands[i].name, commands[i].verbs);
    fputs("        esac\n"
          "    fi\n"
          "    if [ -n \"$words\" ]; then\n"
          "        mapfile -t COMPREPLY < <(compgen -W \"$words\" -- \"$cur\")\n"
          "    else\n"
          "        mapfile -t COMPREPLY < <(compgen -f -- \"$cur\")\n"
          "    fi\n"
          "}\n"
          "complete -o filenames -F _tl tl\n",
          stdout);
    return TLC_EXIT_OK;
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
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    tlc_report(NULL, "unknown command \"%s\" (try tl --help)", argv[1]);
    return TLC_EXIT_BAD;
}
