/* Kubernetes scheduling constraints, read the way Kubernetes reads them:
 * label selectors (`kubectl -l`: k=v, k==v, k!=v, k, !k, k in (a,b),
 * k notin (a,b), k>N, k<N; a comma is AND), and the node constraints of a
 * pod manifest (nodeSelector, and the required node affinity's
 * matchExpressions), so a program can say which nodes would admit a pod.
 *
 * Pure: bytes in, structures out; errors as -errno plus one line in a
 * tl_error. The podspec parser reads untrusted YAML with libyaml under
 * fixed limits (input size, nesting, node and alias counts; aliases are
 * shared, never expanded, so "billion laughs" documents stay small). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tl/error.h"

/* Label syntax (k8s.io/apimachinery validation): a key is an optional DNS
 * subdomain prefix (<= 253) and "/", then a name of <= 63 characters,
 * [A-Za-z0-9] at both ends and [-_.A-Za-z0-9] between; a value is empty or
 * such a name. */
#define TL_LABEL_NAME_MAX   63
#define TL_LABEL_PREFIX_MAX 253
bool tl_label_key_valid(const char *key);
bool tl_label_value_valid(const char *value);

enum tl_selector_op {
    TL_SEL_EQ,         /* k=v, k==v; nodeSelector entries */
    TL_SEL_NE,         /* k!=v: absent or another value */
    TL_SEL_IN,         /* k in (a,b); matchExpressions In */
    TL_SEL_NOT_IN,     /* k notin (a,b): absent or none of them */
    TL_SEL_EXISTS,     /* k */
    TL_SEL_NOT_EXISTS, /* !k; DoesNotExist */
    TL_SEL_GT,         /* k>N: present and an integer > N */
    TL_SEL_LT,         /* k<N */
};

struct tl_selector_req {
    char *key;
    enum tl_selector_op op;
    char **values; /* EQ, NE, GT, LT: one; IN, NOT_IN: >= 1; else none */
    size_t n_values;
    size_t line; /* manifest line (1-based) for podspec requirements; 0 else */
};

/* All requirements must hold. No requirements: everything matches. */
struct tl_selector {
    struct tl_selector_req *reqs;
    size_t n;
};

/* A node's labels, as the caller has them. */
struct tl_label {
    const char *key, *value;
};

/* Parses a kubectl label selector. 0, or -EINVAL with a message naming the
 * position ("label selector: character 7: expected ')' or ','"), -ENOMEM. */
int tl_selector_parse(const char *text, struct tl_selector *out, struct tl_error *err);
void tl_selector_free(struct tl_selector *s);
bool tl_selector_matches(const struct tl_selector *s, const struct tl_label *labels, size_t n);
const char *tl_selector_op_name(enum tl_selector_op op);

/* Inputs larger than this are refused; nesting deeper, too many nodes or
 * aliases, too. */
#define TL_PODSPEC_MAX_INPUT   (4u << 20)
#define TL_PODSPEC_MAX_DEPTH   64
#define TL_PODSPEC_MAX_NODES   200000
#define TL_PODSPEC_MAX_ALIASES 10000
#define TL_PODSPEC_MAX_ANCHORS 1024
#define TL_PODSPEC_MAX_PODS    1024
#define TL_PODSPEC_MAX_REQS    4096 /* constraints and their values, in the whole file */

/* The node constraints of one pod template. */
struct tl_pod_spec {
    char kind[32];                    /* "Pod", "Deployment", ... */
    char name[254];                   /* metadata.name, "" when none */
    size_t document;                  /* 1-based document of the file */
    size_t line;                      /* the pod spec's line */
    struct tl_selector node_selector; /* nodeSelector: EQ requirements */
    /* requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms:
     * any one term must hold (its expressions all). None: no constraint. */
    struct tl_selector *terms;
    size_t n_terms;
};

struct tl_pod_specs {
    struct tl_pod_spec *pods;
    size_t n;
};

/* Reads every document of a YAML (or JSON) stream; each document of a
 * known kind (Pod; Deployment, StatefulSet, DaemonSet, ReplicaSet,
 * ReplicationController, Job: spec.template.spec; CronJob:
 * spec.jobTemplate.spec.template.spec) gives one tl_pod_spec. Refuses
 * (-EINVAL, message with the line) what Kubernetes would refuse about node
 * constraints: a nodeSelector value that YAML reads as a boolean, number or
 * null (`trusted-launch: true`), keys and values that are not labels,
 * matchExpressions with unknown operators or the wrong number of values;
 * and what it cannot say (matchFields). -ENOENT when no document has a pod
 * spec; -E2BIG beyond the limits; -ENOMEM. */
int tl_podspec_parse(const uint8_t *data, size_t len, struct tl_pod_specs *out,
                     struct tl_error *err);
void tl_pod_specs_free(struct tl_pod_specs *p);

/* Would a node with these labels admit the pod (nodeSelector and required
 * node affinity; taints and resources are not considered)? */
bool tl_pod_spec_admits(const struct tl_pod_spec *p, const struct tl_label *labels, size_t n);
