/* `tl node`: the nodes tld runs (create, list, show, start, stop, reimage,
 * delete, console). tld does the work; this verb validates the options,
 * calls the API (client.c) and prints. create, start and reimage wait until
 * the node reports in or fails to boot, unless --no-wait.
 *
 * Exit status: 0 done (a waited-for node is running), 1 the node did not
 * boot (failed or crashed: the diagnosis is printed), 2 bad usage or the
 * platform refused the request. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "output.h"
#include "tl.h"
#include "tl/k8s.h"
#include "tl/util.h"

static void usage(FILE *f)
{
    fputs("usage: tl node create NAME [--secure-boot on|off] [--vtpm on|off]\n"
          "                           [--vtpm-persist on|off] [--image DIR] [--vars FILE]\n"
          "                           [--egress on|off] [--egress-allow CIDR,...]\n"
          "                           [--data-disk-size-gb N\n"
          "                            [--data-disk-encryption-key VAULT/KEY]]\n"
          "                           [--no-wait] [--timeout SECONDS] [--json]\n"
          "       tl node create NAME --external [--json]\n"
          "       tl node list [-l SELECTOR] [--for-pod POD.yaml] [--json]\n"
          "       tl node show NAME [--json]\n"
          "       tl node start|stop|delete NAME [--no-wait] [--json]\n"
          "       tl node reimage NAME [--secure-boot on|off] [--vtpm on|off]\n"
          "                            [--vtpm-persist on|off] [--image DIR] [--vars FILE]\n"
          "                            [--egress on|off] [--egress-allow CIDR,...]\n"
          "                            [--reset-vtpm] [--no-wait] [--json]\n"
          "       tl node wait NAME [--timeout SECONDS] [--json]\n"
          "       tl node console NAME\n"
          "\n"
          "Nodes are QEMU + OVMF VMs with their own swtpm vTPM, run by tld (started on\n"
          "demand; data in $TL_HOME, default ~/.local/share/trustlaunch). Defaults:\n"
          "Secure Boot on (Microsoft keys), vTPM on and persisted, the image in\n"
          "$TL_HOME/images/default. create/start/reimage wait until the node reports in\n"
          "or fails to boot (--timeout, default 300 s). --external: no VM, a vTPM and an\n"
          "agent config (DIR/agent.json) for an agent run elsewhere (tl-agent --config).\n"
          "list -l: only nodes whose labels match a label selector (as kubectl -l);\n"
          "--for-pod: only nodes a manifest's pods would be scheduled on (nodeSelector,\n"
          "required node affinity).\n"
          "--egress on: the guest's workloads reach the network through an HTTP CONNECT\n"
          "proxy at 10.0.2.101:3128 (off by default: the guest reaches only its agent\n"
          "endpoint); never the host's loopback or link-local addresses; private ranges\n"
          "and the host's own addresses only as listed by --egress-allow (a host\n"
          "address as ADDRESS/32).\n"
          "--data-disk-size-gb N: a data disk of N GiB (sparse; kept by reimage), formatted\n"
          "by the guest; with --data-disk-encryption-key VAULT/KEY it is LUKS2 under a\n"
          "key vault key the guest gets only through a key release (its attestation must\n"
          "meet the key's release policy): the host only ever has ciphertext.\n"
          "Exit status: 0 ok, 1 the node did not boot, 2 bad usage or a refused request.\n",
          f);
}

struct opts {
    const char *name;
    int secure_boot, vtpm, vtpm_persist; /* -1 unset */
    const char *image, *vars;
    int egress;               /* -1 unset */
    const char *egress_allow; /* "cidr,cidr" */
    bool reset_vtpm, no_wait, json, external;
    long timeout;
    const char *selector, *for_pod;
    long data_disk_gb; /* 0 unset */
    const char *data_disk_key;
};

static int on_off(const char *verb, const char *opt, const char *v, int *out)
{
    if (strcmp(v, "on") == 0)
        *out = 1;
    else if (strcmp(v, "off") == 0)
        *out = 0;
    else {
        tlc_report(NULL, "node %s: %s takes on or off, not \"%s\"", verb, opt, v);
        return -1;
    }
    return 0;
}

/* Options of every verb; each verb then refuses what it does not take. */
static int parse(const char *verb, int argc, char **argv, struct opts *o, const char *allowed)
{
    static const struct option options[] = {
        {"secure-boot", required_argument, NULL, 's'},
        {"vtpm", required_argument, NULL, 'v'},
        {"vtpm-persist", required_argument, NULL, 'p'},
        {"image", required_argument, NULL, 'i'},
        {"vars", required_argument, NULL, 'V'},
        {"reset-vtpm", no_argument, NULL, 'r'},
        {"external", no_argument, NULL, 'x'},
        {"egress", required_argument, NULL, 'e'},
        {"egress-allow", required_argument, NULL, 'E'},
        {"no-wait", no_argument, NULL, 'n'},
        {"timeout", required_argument, NULL, 't'},
        {"selector", required_argument, NULL, 'l'},
        {"for-pod", required_argument, NULL, 'P'},
        {"data-disk-size-gb", required_argument, NULL, 'D'},
        {"data-disk-encryption-key", required_argument, NULL, 'K'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    *o = (struct opts){
        .secure_boot = -1, .vtpm = -1, .vtpm_persist = -1, .egress = -1, .timeout = 300};
    optind = 1;
    opterr = 0;
    int c, idx;
    o->json = tlc_output_wants_json(); /* --json, --output, --query */
    while ((c = getopt_long(argc, argv, "hl:", options, &idx)) != -1) {
        if (c == 'h') {
            usage(stdout);
            return 1;
        }
        if (c == '?' || c == ':') {
            char what[32];
            snprintf(what, sizeof(what), "node %s", verb);
            tlc_report_option_error(what, argv);
            return -1;
        }
        if (!strchr(allowed, c)) {
            if (c == 'l')
                tlc_report(NULL, "node %s: -l does not apply here (try --help)", verb);
            else
                tlc_report(NULL, "node %s: --%s does not apply here (try --help)", verb,
                           options[idx].name);
            return -1;
        }
        switch (c) {
        case 's':
            if (on_off(verb, "--secure-boot", optarg, &o->secure_boot) < 0)
                return -1;
            break;
        case 'v':
            if (on_off(verb, "--vtpm", optarg, &o->vtpm) < 0)
                return -1;
            break;
        case 'p':
            if (on_off(verb, "--vtpm-persist", optarg, &o->vtpm_persist) < 0)
                return -1;
            break;
        case 'e':
            if (on_off(verb, "--egress", optarg, &o->egress) < 0)
                return -1;
            break;
        case 'E':
            o->egress_allow = optarg;
            break;
        case 'i':
            o->image = optarg;
            break;
        case 'V':
            o->vars = optarg;
            break;
        case 'r':
            o->reset_vtpm = true;
            break;
        case 'x':
            o->external = true;
            break;
        case 'n':
            o->no_wait = true;
            break;
        case 'l':
            o->selector = optarg;
            break;
        case 'P':
            o->for_pod = optarg;
            break;
        case 'D': {
            char *end;
            o->data_disk_gb = strtol(optarg, &end, 10);
            if (*end || o->data_disk_gb <= 0 || o->data_disk_gb > 4096) {
                tlc_report(NULL, "node %s: --data-disk-size-gb takes 1-4096 (GiB), not \"%s\"",
                           verb, optarg);
                return -1;
            }
            break;
        }
        case 'K':
            o->data_disk_key = optarg;
            break;
        case 't': {
            char *end;
            o->timeout = strtol(optarg, &end, 10);
            if (*end || o->timeout <= 0) {
                tlc_report(NULL, "node %s: --timeout takes seconds, not \"%s\"", verb, optarg);
                return -1;
            }
            break;
        }
        }
    }
    bool needs_name = strcmp(verb, "list") != 0;
    if (needs_name) {
        if (optind >= argc) {
            tlc_report(NULL, "node %s: a node name is required (try --help)", verb);
            return -1;
        }
        o->name = argv[optind++];
    }
    if (optind < argc) {
        tlc_report(NULL, "node %s: unexpected argument \"%s\"", verb, argv[optind]);
        return -1;
    }
    if (o->name && (strlen(o->name) > 63 || strpbrk(o->name, "/?#% "))) {
        tlc_report(NULL, "node %s: \"%s\" is not a node name", verb, o->name);
        return -1;
    }
    return 0;
}

static const char *str(const json_t *j, const char *key)
{
    const char *s = json_string_value(json_object_get(j, key));
    return s ? s : "";
}

static const char *yes_no(const json_t *j, const char *key)
{
    return json_is_true(json_object_get(j, key)) ? "on" : "off";
}

static void print_diag(const json_t *node)
{
    const json_t *d = json_object_get(node, "diagnosis");
    if (!json_is_object(d))
        return;
    const char *comp = str(d, "component");
    printf("boot:         %s (phase %s)%s%s\n", str(d, "verdict"), str(d, "phase"),
           *comp ? ", failed component " : "", comp);
    if (*str(d, "detail"))
        printf("              %s\n", str(d, "detail"));
    if (*str(d, "line"))
        printf("console:      %s\n", str(d, "line"));
}

static void print_node(const json_t *n)
{
    printf("name:         %s\n", str(n, "name"));
    printf("state:        %s%s%s%s\n", str(n, "state"), *str(n, "reason") ? " (" : "",
           str(n, "reason"), *str(n, "reason") ? ")" : "");
    printf("generation:   %d (%s)\n", (int)json_integer_value(json_object_get(n, "generation")),
           json_integer_value(json_object_get(n, "generation")) == 1 ? "BIOS" : "UEFI");
    printf("secure boot:  %s\n", yes_no(n, "secure_boot"));
    printf("vtpm:         %s%s\n", yes_no(n, "vtpm"),
           json_is_true(json_object_get(n, "vtpm"))
               ? (json_is_true(json_object_get(n, "vtpm_persist")) ? " (persisted)"
                                                                   : " (not persisted)")
               : "");
    printf("image:        %s\n", str(n, "image"));
    printf("egress:       %s", yes_no(n, "egress"));
    size_t ei;
    json_t *ev;
    json_array_foreach(json_object_get(n, "egress_allow"), ei, ev)
        printf("%s%s", ei ? "," : " (allowed: ", json_string_value(ev));
    printf("%s\n", json_array_size(json_object_get(n, "egress_allow")) ? ")" : "");
    print_diag(n);
    const json_t *r = json_object_get(n, "report");
    if (json_is_object(r)) {
        const json_t *rep = json_object_get(r, "replay");
        printf("reported:     secure boot %s, tpm %s, event log %lld bytes, replay %s\n",
               str(r, "secure_boot"), json_is_true(json_object_get(r, "tpm")) ? "yes" : "no",
               (long long)json_integer_value(json_object_get(r, "eventlog_bytes")),
               json_is_object(rep) ? str(rep, "verdict") : "-");
        size_t i;
        json_t *f;
        json_array_foreach(json_object_get(r, "findings"), i, f)
            printf("finding:      %s\n", json_string_value(f));
    }
    const json_t *h = json_object_get(n, "host_vtpm");
    if (json_is_object(h)) {
        const json_t *rep = json_object_get(h, "replay");
        printf("host vTPM:    %s\n", json_is_object(rep) ? str(rep, "verdict") : str(h, "error"));
    }
    printf("console:      %s\n", str(n, "console"));
}

static int call(struct tlc_client *c, const char *verb, const char *method, const char *path,
                json_t *body, json_t **out)
{
    long status = 0;
    struct tl_error err = {0};
    int r = tlc_client_call(c, method, path, body, &status, out, NULL, NULL, "node", &err);
    json_decref(body);
    if (r < 0)
        return tlc_report_error(NULL, &err), -1;
    if (status >= 300) {
        tlc_report(NULL, "node %s: %s", verb,
                   *out ? str(*out, "error") : "the platform refused the request");
        json_decref(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

/* Waits until the node leaves "booting"; prints progress on a terminal. */
static int wait_boot(struct tlc_client *c, const char *verb, const char *name, long timeout,
                     json_t **node)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/nodes/%s", name);
    time_t end = time(NULL) + timeout;
    bool tty = isatty(2);
    const char *last = "";
    char last_buf[32] = "";
    for (;;) {
        const char *state = str(*node, "state");
        if (strcmp(state, "booting") != 0 && strcmp(state, "creating") != 0)
            break;
        if (time(NULL) > end) {
            tlc_report(NULL, "node %s: %s still booting after %ld s (see tl node console %s)", verb,
                       name, timeout, name);
            return -1;
        }
        const char *phase = str(json_object_get(*node, "diagnosis"), "phase");
        if (tty && strcmp(phase, last) != 0) {
            fprintf(stderr, "%s: booting (%s)\n", name, phase);
            snprintf(last_buf, sizeof(last_buf), "%s", phase);
            last = last_buf;
        }
        struct timespec ts = {0, 500 * 1000 * 1000};
        nanosleep(&ts, NULL);
        json_t *next = NULL;
        if (call(c, verb, "GET", path, NULL, &next) < 0)
            return -1;
        json_decref(*node);
        *node = next;
    }
    return 0;
}

static int finish(const struct opts *o, json_t *node, bool waited)
{
    if (o->json)
        tlc_json_print(json_incref(node));
    else
        print_node(node);
    const char *state = str(node, "state");
    int rc = TLC_EXIT_OK;
    if (waited && strcmp(state, "running") != 0)
        rc = TLC_EXIT_FAIL;
    json_decref(node);
    return rc;
}

static json_t *spec_body(const struct opts *o)
{
    json_t *b = json_object();
    if (o->secure_boot >= 0)
        json_object_set_new(b, "secure_boot", json_boolean(o->secure_boot));
    if (o->vtpm >= 0)
        json_object_set_new(b, "vtpm", json_boolean(o->vtpm));
    if (o->vtpm_persist >= 0)
        json_object_set_new(b, "vtpm_persist", json_boolean(o->vtpm_persist));
    if (o->egress >= 0)
        json_object_set_new(b, "egress", json_boolean(o->egress));
    if (o->egress_allow)
        json_object_set_new(b, "egress_allow", tlc_json_csv(o->egress_allow));
    if (o->image) {
        char *real = realpath(o->image, NULL);
        json_object_set_new(b, "image", json_string(real ? real : o->image));
        free(real);
    }
    if (o->vars) {
        char *real = realpath(o->vars, NULL);
        json_object_set_new(b, "vars", json_string(real ? real : o->vars));
        free(real);
    }
    if (o->data_disk_gb)
        json_object_set_new(b, "data_disk_size_gb", json_integer(o->data_disk_gb));
    if (o->data_disk_key)
        json_object_set_new(b, "data_disk_encryption_key", json_string(o->data_disk_key));
    return b;
}

/* ---- list filters: -l SELECTOR, --for-pod FILE ---- */

struct filter {
    bool has_selector;
    struct tl_selector selector;
    struct tl_pod_specs pods;
};

static void filter_free(struct filter *f)
{
    tl_selector_free(&f->selector);
    tl_pod_specs_free(&f->pods);
}

static int filter_load(const struct opts *o, struct filter *f)
{
    struct tl_error err = {0};
    if (o->selector) {
        if (tl_selector_parse(o->selector, &f->selector, &err) < 0) {
            tlc_report("node list", "%s", err.message);
            return -1;
        }
        f->has_selector = true;
    }
    if (o->for_pod) {
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len;
        if (tlc_read_file(o->for_pod, &buf, &len) < 0)
            return -1;
        if (tl_podspec_parse(buf, len, &f->pods, &err) < 0) {
            tlc_report_error(o->for_pod, &err);
            return -1;
        }
    }
    return 0;
}

/* Does a node (its "labels" object) pass every filter? */
static bool filter_admits(const struct filter *f, const json_t *node)
{
    const json_t *obj = json_object_get(node, "labels");
    size_t n = json_is_object(obj) ? json_object_size(obj) : 0;
    _cleanup_free_ struct tl_label *labels = calloc(n ? n : 1, sizeof(*labels));
    if (!labels)
        return false;
    size_t k = 0;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) if (json_is_string(v) && k < n) labels[k++] =
        (struct tl_label){key, json_string_value(v)};
    if (f->has_selector && !tl_selector_matches(&f->selector, labels, k))
        return false;
    for (size_t i = 0; i < f->pods.n; i++)
        if (!tl_pod_spec_admits(&f->pods.pods[i], labels, k))
            return false;
    return true;
}

static int list(struct tlc_client *c, const struct opts *o, const struct filter *f)
{
    json_t *out = NULL;
    if (call(c, "list", "GET", "/v1/nodes", NULL, &out) < 0)
        return TLC_EXIT_BAD;
    json_t *all = json_object_get(out, "nodes"), *kept = json_array(), *n;
    size_t i;
    json_array_foreach(all, i, n) if (filter_admits(f, n)) json_array_append(kept, n);
    json_decref(out);
    if (o->json) {
        tlc_json_print(json_pack("{s:o}", "nodes", kept));
        return TLC_EXIT_OK;
    }
    if (json_array_size(kept)) /* an empty table prints nothing, as az's */
        printf("%-16s %-9s %-11s %-5s %-22s %s\n", "NAME", "STATE", "SECURE-BOOT", "VTPM", "BOOT",
               "REASON");
    json_array_foreach(kept, i, n)
        printf("%-16s %-9s %-11s %-5s %-22s %s\n", str(n, "name"), str(n, "state"),
               yes_no(n, "secure_boot"), yes_no(n, "vtpm"),
               str(json_object_get(n, "diagnosis"), "verdict"), str(n, "reason"));
    json_decref(kept);
    return TLC_EXIT_OK;
}

int tlc_cmd_node(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        if (argc < 2) {
            tlc_report("node", "no verb given (create, list, show, start, stop, "
                               "reimage, delete, console; try --help)");
            return TLC_EXIT_BAD;
        }
        usage(stdout);
        return TLC_EXIT_OK;
    }
    const char *verb = argv[1];
    static const struct {
        const char *verb, *allowed;
    } verbs[] = {
        {"create", "svpiVntxeEDK"},
        {"list", "lP"},
        {"show", ""},
        {"start", "nt"},
        {"stop", ""},
        {"delete", ""},
        {"reimage", "svpiVrnteE"},
        {"console", ""},
        {"wait", "t"},
    };
    const char *allowed = NULL;
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
        if (strcmp(verbs[i].verb, verb) == 0)
            allowed = verbs[i].allowed;
    if (!allowed) {
        tlc_report("node",
                   "unknown verb \"%s\" (create, list, show, start, stop, reimage, "
                   "delete, wait, console)",
                   verb);
        return TLC_EXIT_BAD;
    }
    struct opts o;
    int r = parse(verb, argc - 1, argv + 1, &o, allowed);
    if (r)
        return r > 0 ? TLC_EXIT_OK : TLC_EXIT_BAD;
    if (strcmp(verb, "create") == 0 && o.image && access(o.image, F_OK) < 0) {
        tlc_report(o.image, "image not found: %s", strerror(errno));
        return TLC_EXIT_BAD;
    }
    /* a VM node from the default image: built here on first use */
    if (strcmp(verb, "create") == 0 && !o.image && !o.external &&
        (r = tlc_client_node_image("node create", false)) != TLC_EXIT_OK)
        return r;
    /* the filters are checked before tld is asked anything */
    _cleanup_(filter_free) struct filter filter = {0};
    if (filter_load(&o, &filter) < 0)
        return TLC_EXIT_BAD;
    struct tlc_client c;
    struct tl_error err = {0};
    if (tlc_client_open(&c, "node", &err) < 0)
        return tlc_fail(TLC_EXIT_BAD, &err);
    char path[160];
    json_t *out = NULL;
    if (strcmp(verb, "list") == 0)
        return list(&c, &o, &filter);
    snprintf(path, sizeof(path), "/v1/nodes/%s", o.name);
    if (strcmp(verb, "console") == 0) {
        long status;
        char *raw = NULL;
        size_t len = 0;
        snprintf(path, sizeof(path), "/v1/nodes/%s/console", o.name);
        if (tlc_client_call(&c, "GET", path, NULL, &status, &out, &raw, &len, "node", &err) < 0)
            return tlc_fail(TLC_EXIT_BAD, &err);
        if (status != 200) {
            tlc_report("node console", "%s", out ? str(out, "error") : "refused");
            json_decref(out);
            free(raw);
            return TLC_EXIT_BAD;
        }
        fwrite(raw, 1, len, stdout);
        free(raw);
        return TLC_EXIT_OK;
    }
    if (strcmp(verb, "show") == 0 || strcmp(verb, "wait") == 0) {
        if (call(&c, verb, "GET", path, NULL, &out) < 0)
            return TLC_EXIT_BAD;
        bool wait = strcmp(verb, "wait") == 0;
        if (wait && wait_boot(&c, verb, o.name, o.timeout, &out) < 0) {
            json_decref(out);
            return TLC_EXIT_BAD;
        }
        return finish(&o, out, wait);
    }
    if (strcmp(verb, "delete") == 0) {
        if (call(&c, verb, "DELETE", path, NULL, &out) < 0)
            return TLC_EXIT_BAD;
        if (o.json)
            tlc_json_print(out);
        else {
            printf("deleted %s\n", o.name);
            json_decref(out);
        }
        return TLC_EXIT_OK;
    }
    json_t *body;
    if (strcmp(verb, "create") == 0) {
        body = spec_body(&o);
        json_object_set_new(body, "name", json_string(o.name));
        if (o.external) {
            json_object_set_new(body, "external", json_true());
            o.no_wait = true; /* its agent runs elsewhere, whenever it likes */
        }
        if (call(&c, verb, "POST", "/v1/nodes", body, &out) < 0)
            return TLC_EXIT_BAD;
    } else {
        body = strcmp(verb, "reimage") == 0 ? spec_body(&o) : NULL;
        if (body && o.reset_vtpm)
            json_object_set_new(body, "reset_vtpm", json_true());
        snprintf(path, sizeof(path), "/v1/nodes/%s/%s", o.name, verb);
        if (call(&c, verb, "POST", path, body, &out) < 0)
            return TLC_EXIT_BAD;
    }
    bool wait = strcmp(verb, "stop") != 0 && !o.no_wait;
    if (wait && wait_boot(&c, verb, o.name, o.timeout, &out) < 0) {
        json_decref(out);
        return TLC_EXIT_BAD;
    }
    return finish(&o, out, wait);
}
