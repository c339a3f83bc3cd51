/* `tl policy rules`: a node pool's explicit policy rules (tld's
 * .../agentPools/P/policy), on top of the reference values predicted from
 * the pool's image and the learned baseline:
 *
 *   tl policy rules --resource-group G --cluster-name C --nodepool-name P
 *       [--kernel-cmdline TEXT] [--allow-kernel SHA256]... [--require-dbx SHA256]...
 *       [--require-secure-boot] [--refuse-vouched-ek] [--tee-policy FILE] [--clear] [--json]
 *
 * Without a rule option it shows the rules (and the pool's baselines);
 * with any it replaces them all; --clear removes them. They hold from each
 * node's next attestation. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "output.h"
#include "tl.h"
#include "tl/cleanup.h"

static void usage(FILE *f)
{
    fputs(
        "usage: tl policy rules --resource-group G --cluster-name C --nodepool-name P\n"
        "           [--kernel-cmdline TEXT] [--allow-kernel SHA256]... [--require-dbx SHA256]...\n"
        "           [--require-secure-boot] [--refuse-vouched-ek] [--tee-policy FILE]\n"
        "           [--clear] [--json]\n"
        "\n"
        "A node pool's explicit attestation rules, each a further constraint on its\n"
        "nodes: the kernel command line as measured, the kernels allowed (their\n"
        "Authenticode SHA-256, as PCR 4 records it), SHA-256 values the measured dbx\n"
        "must hold (hash entries, or a certificate's SHA-256), Secure Boot on, no EK\n"
        "that only an operator vouched for (POST /v1/nodes ek_public), and for a\n"
        "confidential pool the hardware evidence policy (tl tee verify's --policy\n"
        "file: e.g. the roots it trusts beside AMD's and Intel's). Given\n"
        "rule options replace the pool's rules; none shows them; --clear removes them.\n",
        f);
}

static void print_list(const char *title, const json_t *list)
{
    printf("  %s:", title);
    if (!json_array_size(list)) {
        puts(" any");
        return;
    }
    putchar('\n');
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) printf("    %s\n", json_string_value(e));
}

int tlc_cmd_policy_rules(int argc, char **argv)
{
    static const struct option options[] = {
        {"resource-group", required_argument, NULL, 'g'},
        {"cluster-name", required_argument, NULL, 'c'},
        {"nodepool-name", required_argument, NULL, 'p'},
        {"kernel-cmdline", required_argument, NULL, 'k'},
        {"allow-kernel", required_argument, NULL, 'a'},
        {"require-dbx", required_argument, NULL, 'd'},
        {"require-secure-boot", no_argument, NULL, 's'},
        {"refuse-vouched-ek", no_argument, NULL, 'v'},
        {"tee-policy", required_argument, NULL, 't'},
        {"clear", no_argument, NULL, 'x'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *group = NULL, *cluster = NULL, *pool = NULL;
    bool json = false, clear = false, set = false;
    _cleanup_json_ json_t *rules = json_object(), *kernels = json_array(), *dbx = json_array();
    int c;
    optind = 1;
    opterr = 0;
    json = tlc_output_wants_json(); /* --json, --output, --query */
    while ((c = getopt_long(argc, argv, "g:c:p:h", options, NULL)) != -1) {
        switch (c) {
        case 'g':
            group = optarg;
            break;
        case 'c':
            cluster = optarg;
            break;
        case 'p':
            pool = optarg;
            break;
        case 'k':
            json_object_set_new(rules, "kernelCmdline", json_string(optarg));
            set = true;
            break;
        case 'a':
            json_array_append_new(kernels, json_string(optarg));
            set = true;
            break;
        case 'd':
            json_array_append_new(dbx, json_string(optarg));
            set = true;
            break;
        case 's':
            json_object_set_new(rules, "requireSecureBoot", json_true());
            set = true;
            break;
        case 'v':
            json_object_set_new(rules, "refuseVouchedEk", json_true());
            set = true;
            break;
        case 't': {
            json_error_t jerr;
            json_t *tee = json_load_file(optarg, JSON_REJECT_DUPLICATES, &jerr);
            if (!json_is_object(tee)) {
                tlc_report("policy rules", "--tee-policy %s: %s", optarg,
                           tee ? "not a JSON object" : jerr.text);
                json_decref(tee);
                return TLC_EXIT_BAD;
            }
            json_object_set_new(rules, "teePolicy", tee);
            set = true;
            break;
        }
        case 'x':
            clear = true;
            break;
        case 'h':
            usage(stdout);
            return TLC_EXIT_OK;
        default:
            tlc_report_option_error("policy rules", argv);
            return TLC_EXIT_BAD;
        }
    }
    if (optind < argc) {
        tlc_report("policy rules", "unexpected argument \"%s\"", argv[optind]);
        return TLC_EXIT_BAD;
    }
    if (!group || !cluster || !pool) {
        tlc_report("policy rules", "--resource-group, --cluster-name and --nodepool-name "
                                   "are required");
        return TLC_EXIT_BAD;
    }
    if (clear && set) {
        tlc_report("policy rules", "--clear takes no rule options");
        return TLC_EXIT_BAD;
    }
    if (strpbrk(group, "/?#% ") || strpbrk(cluster, "/?#% ") || strpbrk(pool, "/?#% ")) {
        tlc_report("policy rules", "a name holds '/', '?', '#', '%%' or a space");
        return TLC_EXIT_BAD;
    }
    if (json_array_size(kernels))
        json_object_set(rules, "allowedKernels", kernels);
    if (json_array_size(dbx))
        json_object_set(rules, "requiredDbx", dbx);
    char path[512];
    snprintf(path, sizeof(path), "/v1/resourceGroups/%s/managedClusters/%s/agentPools/%s/policy",
             group, cluster, pool);
    struct tlc_client cl;
    struct tl_error err = {0};
    if (tlc_client_open(&cl, "policy rules", &err) < 0) {
        tlc_report_error(NULL, &err);
        return TLC_EXIT_BAD;
    }
    long status = 0;
    json_t *answer = NULL;
    if (tlc_client_call(&cl, set || clear ? "PUT" : "GET", path, set || clear ? rules : NULL,
                        &status, &answer, NULL, NULL, "policy rules", &err) < 0) {
        tlc_report_error(NULL, &err);
        return TLC_EXIT_BAD;
    }
    if (status >= 300 || !answer) {
        const char *e = json_string_value(json_object_get(answer, "error"));
        tlc_report("policy rules", "%s", e ? e : "refused");
        json_decref(answer);
        return TLC_EXIT_BAD;
    }
    if (json) {
        tlc_json_print(answer);
        return TLC_EXIT_OK;
    }
    const json_t *r = json_object_get(answer, "rules");
    printf("node pool %s/%s/%s: explicit rules%s\n", group, cluster, pool,
           json_object_size(r) ? "" : ": none");
    const char *cmd = json_string_value(json_object_get(r, "kernelCmdline"));
    printf("  kernel command line: %s\n", cmd ? cmd : "as the image sets it");
    print_list("allowed kernels (PCR 4 Authenticode SHA-256)",
               json_object_get(r, "allowedKernels"));
    print_list("required dbx entries (SHA-256)", json_object_get(r, "requiredDbx"));
    printf("  secure boot required by rule: %s\n",
           json_is_true(json_object_get(r, "requireSecureBoot")) ? "yes" : "no");
    printf("  operator-vouched EKs refused: %s\n",
           json_is_true(json_object_get(r, "refuseVouchedEk")) ? "yes" : "no");
    json_t *tee = json_object_get(r, "teePolicy");
    char *tee_text = tee ? json_dumps(tee, JSON_COMPACT) : NULL;
    printf("  hardware evidence policy: %s\n", tee_text ? tee_text : "the strict defaults");
    free(tee_text);
    printf("  baselines learned: secure boot off %s, on %s\n",
           json_is_null(json_object_get(answer, "baselineSecureBootOff")) ? "no" : "yes",
           json_is_null(json_object_get(answer, "baselineSecureBootOn")) ? "no" : "yes");
    json_decref(answer);
    return TLC_EXIT_OK;
}
