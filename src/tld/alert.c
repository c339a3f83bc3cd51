/* Integrity alerts: a failed attestation raises (or updates) its node's
 * alert for that boot, naming the components; the alert is stored in the
 * attestation's transaction and posted to the webhook after the commit
 * (attest.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest.h"
#include "tld.h"

/* The finding is in the list already (the same component, PCR, event,
 * expected and actual)? */
static bool has_finding(const json_t *list, const json_t *f)
{
    size_t i;
    json_t *g;
    json_array_foreach(list, i, g) if (json_equal(f, g)) return true;
    return false;
}

void tld_alert_boot(const struct tld_node *n, uint32_t reset_count, uint32_t restart_count,
                    char *out, size_t size)
{
    snprintf(out, size, "%u:%u:%u", n->boots, reset_count, restart_count);
}

/* A failure's integrity alert: one per node identity and boot. A later
 * failure of the same boot adds its findings and components (nothing is
 * overwritten) and its attestation to the alert's list; an acknowledged
 * alert is reopened by a new failure. Returns the alert to post to the
 * webhook (after the commit) when it is new, reopened or has new findings,
 * else NULL. Under tld.lock, inside the attestation's transaction. */
json_t *tld_alert_record(struct tld *t, struct tld_node *n, const char *boot, long long att,
                         const json_t *components, const json_t *findings)
{
    long long aid = 0;
    bool acked = false;
    json_t *alert = tld_store_alert_find(t, n->name, n->uuid, boot, &aid, &acked);
    size_t added = 0;
    if (!alert) {
        alert = json_pack("{s:s, s:s, s:s, s:I, s:I, s:[I], s:O, s:O, s:i}", "node", n->name,
                          "node_uuid", n->uuid, "boot", boot, "at", (json_int_t)tld_now(),
                          "attestation", (json_int_t)att, "attestations", (json_int_t)att,
                          "components", components, "findings", findings, "reopened", 0);
        added = json_array_size(findings);
    } else {
        json_t *fl = json_object_get(alert, "findings"), *cl = json_object_get(alert, "components");
        json_t *al = json_object_get(alert, "attestations");
        if (!json_is_array(fl))
            json_object_set_new(alert, "findings", fl = json_array());
        if (!json_is_array(cl))
            json_object_set_new(alert, "components", cl = json_array());
        if (!json_is_array(al)) /* an alert of an earlier tld: its one attestation */
            json_object_set_new(alert, "attestations",
                                al = json_pack("[O]", json_object_get(alert, "attestation")));
        size_t i;
        json_t *v;
        json_array_foreach(findings, i, v) if (json_array_size(fl) < TLD_MAX_ALERT_FINDINGS &&
                                               !has_finding(fl, v))
        {
            json_array_append(fl, v);
            added++;
        }
        json_array_foreach(components, i, v) if (!has_finding(cl, v)) json_array_append(cl, v);
        json_array_append_new(al, json_integer(att));
        json_object_set_new(alert, "attestation", json_integer(att));
        json_object_set_new(alert, "at", json_integer(tld_now()));
        if (acked)
            json_object_set_new(
                alert, "reopened",
                json_integer(json_integer_value(json_object_get(alert, "reopened")) + 1));
    }
    json_object_del(alert, "id");
    json_object_del(alert, "acknowledged");
    if (tld_store_alert_put(t, n->name, boot, alert, &aid, acked) < 0) {
        json_decref(alert);
        return NULL;
    }
    json_object_set_new(alert, "id", json_integer(aid));
    json_object_set_new(alert, "type", json_string("integrity-alert"));
    json_object_set_new(alert, "acknowledged", json_false());
    char *comps = json_dumps(json_object_get(alert, "components"), JSON_COMPACT);
    tld_log("node %s: integrity alert %lld%s: %s", n->name, aid,
            acked ? " reopened" : (added ? "" : " (no new finding)"), comps ? comps : "?");
    free(comps);
    if (!acked && !added) {
        json_decref(alert);
        return NULL;
    }
    return alert;
}

/* A key release refused to n (keyrelease.c): the alert of the node's
 * current boot (the one its latest attestation saw; made when there is
 * none, with no findings) says which key was withheld, by which clause and
 * why, once per key and clause. Returns the alert to post to the webhook
 * (after the caller lets go of the lock) when it changed, else NULL. Under
 * tld.lock. */
json_t *tld_alert_withheld(struct tld *t, struct tld_node *n, const char *kid, const char *clause,
                           const char *reason)
{
    char boot[64];
    tld_alert_boot(n, n->attestation.reset_count, n->attestation.restart_count, boot, sizeof(boot));
    long long aid = 0;
    bool acked = false;
    json_t *alert = tld_store_alert_find(t, n->name, n->uuid, boot, &aid, &acked);
    if (!alert)
        alert = json_pack("{s:s, s:s, s:s, s:I, s:I, s:[], s:[], s:[], s:i}", "node", n->name,
                          "node_uuid", n->uuid, "boot", boot, "at", (json_int_t)tld_now(),
                          "attestation", (json_int_t)n->attestation.id, "attestations",
                          "components", "findings", "reopened", 0);
    if (!alert)
        return NULL;
    json_t *w = json_object_get(alert, "withheld");
    if (!json_is_array(w))
        json_object_set_new(alert, "withheld", w = json_array());
    size_t i;
    json_t *v;
    json_array_foreach(w, i, v)
    {
        const char *k = json_string_value(json_object_get(v, "key"));
        const char *c = json_string_value(json_object_get(v, "clause"));
        if (k && c && strcmp(k, kid) == 0 && strcmp(c, clause) == 0) {
            json_decref(alert); /* said already for this boot */
            return NULL;
        }
    }
    json_array_append_new(w, json_pack("{s:s, s:s, s:s, s:I}", "key", kid, "clause", clause,
                                       "reason", reason, "at", (json_int_t)tld_now()));
    json_object_set_new(alert, "at", json_integer(tld_now()));
    json_object_del(alert, "id");
    json_object_del(alert, "acknowledged");
    if (tld_store_alert_put(t, n->name, boot, alert, &aid, acked) < 0) {
        json_decref(alert);
        return NULL;
    }
    json_object_set_new(alert, "id", json_integer(aid));
    json_object_set_new(alert, "type", json_string("integrity-alert"));
    json_object_set_new(alert, "acknowledged", json_false());
    tld_log("node %s: alert %lld: key %s withheld (%s: %s)", n->name, aid, kid, clause, reason);
    return alert;
}
