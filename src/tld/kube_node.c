/* A node as a Kubernetes core/v1 Node (kube_api.c serves it to kubectl):
 * only what tld knows is said, nothing is made up.
 *
 *   metadata  name, uid (the node's identity), creationTimestamp, labels
 *             (the attested ones, attest_codec.c, only while the boot's
 *             latest verified attestation passed; a pool node's AKS labels,
 *             fleet.c; kubernetes.io/hostname; a node outside a pool its
 *             security type), annotations (tld's state, its reason, the
 *             latest attestation's id and verdict)
 *   status    conditions: Ready (True while its agent reports, Unknown
 *             while booting, False stopped or failed) and
 *             TrustedLaunchAttested (True / False with the failed
 *             component / Unknown before any verified attestation);
 *             capacity and allocatable for a VM here (1 vCPU, its memory);
 *             nodeInfo (the image version for a pool's node, the kernel
 *             its agent reported; no kubelet runs, its version is "");
 *             addresses (its hostname).
 * An external node runs elsewhere: its size is not known, none is said. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fleet.h"
#include "tld.h"

#define KUBE_ATTESTED "TrustedLaunchAttested"

static void timestamp(long long when, char out[32])
{
    time_t s = (time_t)when;
    struct tm tm;
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&s, &tm));
}

json_t *tld_kube_node_labels(const struct tld_node *n)
{
    json_t *labels = tld_attest_labels(n);
    tld_pool_node_labels(n, labels);
    json_object_set_new(labels, "kubernetes.io/hostname", json_string(n->name));
    if (!n->pool && n->spec.security_type && strcmp(n->spec.security_type, "Standard") != 0)
        json_object_set_new(labels, "kubernetes.azure.com/security-type",
                            json_string(n->spec.security_type));
    return labels;
}

static json_t *condition(const char *type, const char *status, const char *reason,
                         const char *message, long long since)
{
    char at[32];
    timestamp(since, at);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", type, "status", status, "reason",
                     reason, "message", message, "lastHeartbeatTime", at, "lastTransitionTime", at);
}

static json_t *ready(const struct tld_node *n)
{
    const char *status = "False", *reason = "NodeNotReady";
    switch (n->state) {
    case TLD_RUNNING:
        status = "True";
        reason = "AgentReporting";
        break;
    case TLD_CREATING:
    case TLD_BOOTING:
        status = "Unknown";
        reason = "NodeBooting";
        break;
    default:
        break;
    }
    char message[320];
    snprintf(message, sizeof(message), "tld: node %s%s%s", tld_state_name(n->state),
             n->reason[0] ? ": " : "", n->reason);
    long long since = n->state == TLD_RUNNING || n->state == TLD_BOOTING ? n->started : n->stopped;
    return condition("Ready", status, reason, message, since ? since : n->created);
}

static json_t *attested(const struct tld_node *n)
{
    const struct tld_attested *a = &n->attestation;
    char message[256];
    if (!a->id)
        return condition(KUBE_ATTESTED, "Unknown", "NotAttested",
                         "no verified attestation of this boot yet", n->created);
    if (a->pass) {
        snprintf(message, sizeof(message), "attestation %lld passed%s", a->id,
                 a->secure_boot ? " (Secure Boot on)" : "");
        return condition(KUBE_ATTESTED, "True", "AttestationPassed", message, a->at);
    }
    snprintf(message, sizeof(message), "attestation %lld failed: component %s (%d finding%s)",
             a->id, a->component[0] ? a->component : "unknown", a->findings,
             a->findings == 1 ? "" : "s");
    return condition(KUBE_ATTESTED, "False", "AttestationFailed", message, a->at);
}

void tld_kube_node_version(const struct tld_node *n, char out[32])
{
    /* changes when what a watch shows may have: its state, reason, boots
     * and latest attestation (a pool's labels change with a reimage: a
     * new boot) */
    uint32_t h = 2166136261u; /* FNV-1a of the reason */
    for (const char *p = n->reason; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    snprintf(out, 32, "%u.%u.%lld.%u.%u", n->boots, (unsigned)n->state, n->attestation.id,
             n->busy ? 1u : 0u, h % 1000);
}

json_t *tld_kube_node(const struct tld *t, const struct tld_node *n)
{
    (void)t;
    char created[32], rv[32];
    timestamp(n->created, created);
    tld_kube_node_version(n, rv);
    json_t *annotations = json_pack("{s:s}", "trustlaunch.io/state", tld_state_name(n->state));
    if (n->reason[0])
        json_object_set_new(annotations, "trustlaunch.io/reason", json_string(n->reason));
    if (n->attestation.id) {
        char id[24];
        snprintf(id, sizeof(id), "%lld", n->attestation.id);
        json_object_set_new(annotations, "trustlaunch.io/attestation", json_string(id));
        json_object_set_new(annotations, "trustlaunch.io/verdict",
                            json_string(n->attestation.pass ? "pass" : "fail"));
    }
    char image[64] = "";
    if (n->pool)
        tld_pool_node_image_version(n->pool, image, sizeof(image));
    const char *kernel = json_string_value(json_object_get(n->report, "kernel"));
    char kver[65];
    snprintf(kver, sizeof(kver), "%s", kernel && !n->busy ? kernel : "");
    json_t *node_info =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "architecture", "amd64",
                  "operatingSystem", "linux", "osImage", image, "kernelVersion", kver,
                  "kubeletVersion", "", "kubeProxyVersion", "", "containerRuntimeVersion", "",
                  "machineID", "", "systemUUID", n->uuid, "bootID", "");
    json_t *status =
        json_pack("{s:[o, o], s:o, s:[{s:s, s:s}]}", "conditions", ready(n), attested(n),
                  "nodeInfo", node_info, "addresses", "type", "Hostname", "address", n->name);
    if (!n->spec.external) {
        char mem[32];
        snprintf(mem, sizeof(mem), "%uMi", n->spec.memory_mib ? n->spec.memory_mib : 1024);
        json_t *cap = json_pack("{s:s, s:s, s:s}", "cpu", "1", "memory", mem, "pods", "0");
        json_object_set_new(status, "capacity", cap);
        json_object_set_new(status, "allocatable", json_deep_copy(cap));
    }
    return json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s, s:o, s:o}, s:{}, s:o}", "kind", "Node",
                     "apiVersion", "v1", "metadata", "name", n->name, "uid", n->uuid,
                     "resourceVersion", rv, "creationTimestamp", created, "labels",
                     n->busy ? json_object() : tld_kube_node_labels(n), "annotations", annotations,
                     "spec", "status", status);
}
