/* Policy, tld's side: the node's image and pool rules handed to libtl's
 * attestation policy (include/tl/policy.h, lib/attest/policy.c), and its
 * findings as the JSON the attestation stores and alerts carry
 * ({component, pcr, event, expected, actual, severity, rule}). The pool's
 * rules are checked and normalised by libtl too (policyrules.c). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tl/policy.h"
#include "tld.h"

static json_t *finding_json(const struct tl_finding *f)
{
    json_t *o = json_pack("{s:s, s:i, s:o, s:s?, s:s?, s:s, s:s}", "component", f->component, "pcr",
                          f->pcr, "event", f->event >= 0 ? json_integer(f->event) : json_null(),
                          "expected", f->expected, "actual", f->actual, "severity", "critical",
                          "rule", tl_policy_reason_text(f->reason));
    if (o && f->file)
        json_object_set_new(o, "file", json_string(f->file));
    return o;
}

int tld_policy_rules_parse(const json_t *req, json_t **rules, char *msg, size_t msz)
{
    struct tl_policy_rules r;
    struct tl_error err = {0};
    if (tl_policy_rules_from_json(req, &r, &err) < 0) {
        snprintf(msg, msz, "%s", err.message);
        return 400;
    }
    *rules = tl_policy_rules_to_json(&r);
    tl_policy_rules_done(&r);
    return 0;
}

json_t *tld_policy_evaluate(const struct tld_node *n, const struct tld_manifest *m,
                            const char *manifest_error, const struct tl_eventlog *log,
                            const struct tl_boot_state *bs)
{
    json_t *out = json_array();
    if (!n->spec.image[0]) /* an external node: no image, the baseline speaks */
        return out;
    /* the pool's rules were normalised when they were set */
    struct tl_policy_rules rules;
    const json_t *pool_rules = n->pool ? n->pool->rules : NULL;
    bool has_rules = pool_rules && tl_policy_rules_from_json(pool_rules, &rules, NULL) == 0;
    const struct tl_policy_input in = {
        .manifest = m ? tld_manifest_parsed(m) : NULL,
        .manifest_error = manifest_error,
        .log = log,
        .bs = bs,
        .rules = has_rules ? &rules : NULL,
        .secure_boot = n->spec.secure_boot,
    };
    struct tl_findings findings = {0};
    struct tl_error err = {0};
    if (tl_policy_evaluate(&in, &findings, &err) < 0)
        json_array_append_new(out, json_pack("{s:s, s:i, s:n, s:s, s:s, s:s}", "component",
                                             "policy", "pcr", -1, "event", "actual", err.message,
                                             "severity", "critical", "rule", "reference values"));
    for (size_t i = 0; i < findings.n; i++)
        json_array_append_new(out, finding_json(&findings.items[i]));
    tl_findings_done(&findings);
    if (has_rules)
        tl_policy_rules_done(&rules);
    return out;
}
