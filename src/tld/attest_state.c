/* What attestation says of a node, beyond one call: the baseline
 * learned from a passing attestation (its pool's, per Secure Boot
 * setting, for a pool node), and the policy predicted from its image. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl/manifest.h"
#include "tl/replay.h"
#include "tld.h"

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *tld_attest_policy(struct tld_node *n, const struct tl_manifest *m)
{
    json_t *refs = json_array();
    for (size_t i = 0; m && i < m->n_components; i++) {
        const struct tl_manifest_component *c = &m->components[i];
        json_array_append_new(refs, json_pack("{s:o, s:o, s:o}", "component", str_or_null(c->name),
                                              "path", str_or_null(c->path), "sha256",
                                              str_or_null(c->sha256)));
    }
    return json_pack("{s:s, s:s, s:o, s:o, s:o, s:{s:b, s:s?}}", "node", n->name, "source",
                     "predicted from the image manifest", "reference", refs, "kernel_cmdline",
                     str_or_null(m ? m->kernel_cmdline : NULL), "baseline",
                     tld_baseline_json(*tld_baseline_slot(n)), "rules", "secure_boot",
                     n->spec.secure_boot, "image", n->spec.image);
}

int tld_attest_learn(struct tld *t, struct tld_node *n, struct tl_error *err)
{
    json_t *list = tld_store_attestations(t, n->name, n->uuid, 50);
    json_t *pcrs = NULL;
    size_t i;
    json_t *a;
    json_array_foreach(list, i, a)
    {
        /* the newest attestation whose only findings are baseline ones */
        size_t j;
        json_t *f;
        bool usable = json_object_get(a, "pcrs") != NULL;
        json_array_foreach(json_object_get(a, "findings"), j, f) usable &=
            strcmp(json_string_value(json_object_get(f, "rule")) ?: "",
                   "the pool's learned baseline") == 0;
        if (usable) {
            pcrs = json_incref(json_object_get(a, "pcrs"));
            break;
        }
    }
    json_decref(list);
    if (!pcrs)
        return tl_error_set_nopos(err, -EBUSY, "node %s has no attestation to learn from", n->name);
    /* the values as the quote check read them (tl_pcr_values_parse) */
    char *text = json_dumps(pcrs, JSON_COMPACT);
    json_decref(pcrs);
    struct tl_pcr_values *v = calloc(1, sizeof(*v));
    struct tld_baseline *bl = calloc(1, sizeof(*bl));
    struct tl_error perr = {0};
    const struct tl_pcr_bank *bank = NULL;
    if (text && v && bl && tl_pcr_values_parse(text, strlen(text), v, &perr) == 0)
        bank = tl_pcr_values_bank_const(v, 0x000b);
    for (int k = 0; bank && k < 8; k++)
        if (bank->mask & (1u << k)) {
            memcpy(bl->sha256[k], bank->value[k], 32);
            bl->mask |= (uint8_t)(1u << k);
        }
    free(text);
    free(v);
    if (!bank) {
        free(bl);
        return tl_error_set_nopos(err, -EIO, "node %s: the attestation's PCR values do not parse",
                                  n->name);
    }
    bl->learned = tld_now();
    struct tld_baseline **slot = tld_baseline_slot(n);
    free(*slot);
    *slot = bl;
    if (n->pool) /* learned for the pool: every node of it is held to it */
        tld_pool_save(t, n->pool);
    else
        tld_store_save(t, n);
    return 0;
}
