/* libFuzzer target: a key release policy (lib/keyrel/release_policy.c)
 * parsed and evaluated. The input is POLICY [NUL CLAIMS]: the policy text,
 * then optionally a claims JSON document (a fixed node's claims when absent
 * or not an object). A policy is refused with -EINVAL or -E2BIG (-ENOMEM
 * under the allocator's limit) and a message (one line, valid UTF-8: it
 * becomes an HTTP error), nothing allocated; an
 * accepted one has a well-formed clause array within the caps, and its
 * evaluation, for its first entry's authority and for another, gives a
 * decision whose clause and reason are one line without control characters
 * and no broken UTF-8 (claims come from the node and the reason goes to
 * the release log, and into JSON).
 *   build-fuzz/tests/fuzz/fuzz_release_policy CORPUS */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tl/release_policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One non-empty line: terminated, no control characters, valid UTF-8. */
static void check_line(const char *s, size_t size)
{
    const char *end = memchr(s, '\0', size);
    if (!end || end == s)
        __builtin_trap();
    for (const char *c = s; c < end; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            __builtin_trap();
    json_t *utf8 = json_string(s); /* NULL when not valid UTF-8 */
    if (!utf8)
        __builtin_trap();
    json_decref(utf8);
}

static void check_nodes(const struct tl_release_policy *p)
{
    if (p->n_nodes < 2 || p->n_nodes - 1 > TL_RELEASE_POLICY_MAX_CLAUSES)
        __builtin_trap();
    for (size_t i = 0; i < p->n_nodes; i++) {
        const struct tl_release_node *n = &p->nodes[i];
        bool entry = i >= p->nodes[0].first && i < p->nodes[0].first + p->nodes[0].n;
        if ((n->authority != NULL) != entry)
            __builtin_trap();
        if (n->kind == TL_RELEASE_CLAIM) {
            if (i == 0 || entry || !n->claim || !*n->claim || !n->value)
                __builtin_trap();
            continue;
        }
        /* children after their parent, inside the array, never the root */
        if (n->n == 0 || n->first <= i || n->first + n->n > p->n_nodes)
            __builtin_trap();
    }
}

static void decide(const struct tl_release_policy *p, const char *authority, const json_t *claims)
{
    struct tl_release_decision d;
    memset(&d, 0x41, sizeof(d));
    if (tl_release_policy_eval(p, authority, claims, &d) != 0)
        __builtin_trap();
    /* a grant names an authority entry ("anyOf[2]") or the top-level "allOf" */
    if (d.granted && strchr(d.clause, '.'))
        __builtin_trap();
    check_line(d.clause, sizeof(d.clause));
    check_line(d.reason, sizeof(d.reason));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > TL_RELEASE_POLICY_MAX_BYTES + 4096)
        return 0;
    const uint8_t *nul = memchr(data, '\0', size);
    size_t policy_len = nul ? (size_t)(nul - data) : size;
    /* an exact-size copy, so a read past the end is seen */
    char *text = malloc(policy_len ? policy_len : 1);
    if (!text)
        return 0;
    memcpy(text, data, policy_len);
    struct tl_release_policy *p = (void *)1;
    struct tl_error err = {0};
    int r = tl_release_policy_parse(text, policy_len, &p, &err);
    free(text);
    if (r < 0) {
        if ((r != -EINVAL && r != -E2BIG && r != -ENOMEM) || p)
            __builtin_trap();
        check_line(err.message, sizeof(err.message));
        return 0;
    }
    if (r != 0 || !p)
        __builtin_trap();
    check_nodes(p);

    json_t *claims = NULL;
    if (nul)
        claims = json_loadb((const char *)nul + 1, size - policy_len - 1, 0, NULL);
    if (!json_is_object(claims)) {
        json_decref(claims);
        claims =
            json_pack("{s:b, s:s, s:i, s:{s:s, s:s}}", "secureboot", 1, "x-ms-attestation-type",
                      "azurevm", "x-ms-sgx-svn", 2, "x-ms-isolation-tee", "x-ms-attestation-type",
                      "sevsnpvm", "x-ms-compliance-status", "azure-compliant-cvm");
        if (!claims) {
            tl_release_policy_free(p);
            return 0;
        }
    }
    decide(p, p->nodes[p->nodes[0].first].authority, claims);
    decide(p, "https://tld.invalid", claims);
    json_decref(claims);
    tl_release_policy_free(p);
    return 0;
}
