/* libFuzzer target: a pod manifest through lib/k8s/podspec.c
 * (tl_podspec_parse), then the constraints it gives against a few label
 * sets (tl_pod_spec_admits). Manifests are user input, possibly hostile:
 * any bytes must give 0 with pod specs or a negative code with a
 * NUL-terminated one-line message, within the limits (aliases shared,
 * never expanded: "billion laughs" stays small and fast).
 *
 * Seeds: tests/data/pods (quoted and unquoted "true", a Deployment,
 * several documents, JSON flow style, anchors with a merge key, billion
 * laughs). Run with a new corpus folder first:
 *   build-fuzz/tests/fuzz/fuzz_podspec CORPUS tests/data/pods
 * The harness checks what the API promises: strings end within their
 * arrays, every requirement has a key and the number of values its
 * operator needs, and a second parse gives the same result. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tl/k8s.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_selector(const struct tl_selector *s)
{
    for (size_t i = 0; i < s->n; i++) {
        const struct tl_selector_req *r = &s->reqs[i];
        if (!r->key || !tl_label_key_valid(r->key))
            __builtin_trap();
        switch (r->op) {
        case TL_SEL_EQ:
        case TL_SEL_GT:
        case TL_SEL_LT:
            if (r->n_values != 1)
                __builtin_trap();
            break;
        case TL_SEL_IN:
        case TL_SEL_NOT_IN:
            if (r->n_values == 0)
                __builtin_trap();
            break;
        case TL_SEL_EXISTS:
        case TL_SEL_NOT_EXISTS:
            if (r->n_values != 0)
                __builtin_trap();
            break;
        default:
            __builtin_trap();
        }
        for (size_t j = 0; j < r->n_values; j++)
            if (!r->values[j] || !tl_label_value_valid(r->values[j]))
                __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tl_pod_specs p, again;
    struct tl_error err = {0}, err2 = {0};
    int r = tl_podspec_parse(data, size, &p, &err);
    if (r < 0) {
        if (!memchr(err.message, '\0', sizeof(err.message)) || p.pods || p.n)
            __builtin_trap();
        if (tl_podspec_parse(data, size, &again, &err2) != r ||
            strcmp(err.message, err2.message) != 0)
            __builtin_trap();
        return 0;
    }
    if (r != 0 || p.n == 0 || p.n > TL_PODSPEC_MAX_PODS)
        __builtin_trap();
    static const struct tl_label nodes[][2] = {
        {{"kubernetes.azure.com/trusted-launch", "true"},
         {"kubernetes.azure.com/secure-boot", "true"}},
        {{"a", "1"}, {"b", ""}},
    };
    for (size_t i = 0; i < p.n; i++) {
        const struct tl_pod_spec *s = &p.pods[i];
        if (!memchr(s->kind, '\0', sizeof(s->kind)) || !memchr(s->name, '\0', sizeof(s->name)))
            __builtin_trap();
        check_selector(&s->node_selector);
        for (size_t t = 0; t < s->n_terms; t++)
            check_selector(&s->terms[t]);
        for (size_t k = 0; k < 2; k++)
            (void)tl_pod_spec_admits(s, nodes[k], 2);
        (void)tl_pod_spec_admits(s, NULL, 0);
    }
    if (tl_podspec_parse(data, size, &again, &err2) != 0 || again.n != p.n)
        __builtin_trap();
    for (size_t i = 0; i < p.n; i++)
        if (again.pods[i].node_selector.n != p.pods[i].node_selector.n ||
            again.pods[i].n_terms != p.pods[i].n_terms)
            __builtin_trap();
    tl_pod_specs_free(&again);
    tl_pod_specs_free(&p);
    return 0;
}
