/* A node as JSON: the API's view (tld_node_json) and the store's
 * document (tld_node_doc, tld_node_from_doc). */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gueststate.h"
#include "tl/util.h"
#include "tld.h"

static json_t *proc_json(const struct tlh_proc *p)
{
    return p->pid > 0 ? json_integer(p->pid) : json_null();
}

const char *tld_node_ek_origin(const struct tld_node *n)
{
    if (n->ak && strcmp(n->ak->ek_origin, "unknown") != 0)
        return n->ak->ek_origin; /* as enrolment found it */
    json_t *eks = tld_node_ek(n);
    const char *o = json_string_value(json_object_get(json_array_get(eks, 0), "origin"));
    bool vouched = o && strcmp(o, TLD_EK_VOUCHED) == 0;
    json_decref(eks);
    if (vouched)
        return TLD_EK_VOUCHED;
    return n->spec.vtpm ? TLD_EK_PLATFORM : "none"; /* tl vtpm provision's EKs */
}

json_t *tld_node_json(const struct tld *t, const struct tld_node *n)
{
    char dir[PATH_MAX], console[PATH_MAX];
    tld_node_path(t, n, NULL, dir, sizeof(dir));
    tld_node_path(t, n, "console.log", console, sizeof(console));
    json_t *j = json_pack(
        "{s:s, s:s, s:s, s:s, s:b, s:b, s:b, s:i, s:s, s:s?, s:I, s:I, s:I, s:i, s:{s:o, s:o}, "
        "s:s, s:s}",
        "name", n->name, "uuid", n->uuid, "state", tld_state_name(n->state), "reason", n->reason,
        "secure_boot", n->spec.secure_boot, "vtpm", n->spec.vtpm, "vtpm_persist",
        n->spec.vtpm_persist, "generation", n->spec.generation, "image", n->spec.image, "vars",
        n->spec.vars[0] ? n->spec.vars : NULL, "created", (json_int_t)n->created, "started",
        (json_int_t)n->started, "stopped", (json_int_t)n->stopped, "boots", (int)n->boots, "pids",
        "qemu", n->busy ? json_null() : proc_json(&n->qemu), "swtpm",
        n->busy ? json_null() : proc_json(&n->swtpm), "dir", dir, "console", console);
    if (n->spec.security_type) /* not yet while a create checks its request */
        tld_node_security_json(&n->spec, j);
    if (n->busy) {
        /* its operation is changing its processes, vTPM and diagnosis
         * without tld.lock (lifecycle.c): shown when it is done */
        json_object_set_new(j, "operation", json_string(n->busy));
        json_object_set_new(j, "labels", json_object());
        json_object_set_new(j, "external", json_boolean(n->spec.external));
        return j;
    }
    json_object_set(j, "diagnosis", n->diag ? n->diag : json_null());
    json_t *report = n->report ? json_copy(n->report) : json_null();
    json_object_del(report, "eventlog_base64"); /* large; the store keeps it */
    json_object_set_new(j, "report", report);
    json_object_set(j, "host_vtpm", n->host ? n->host : json_null());
    json_t *ek = tld_node_ek(n);
    json_object_set_new(j, "ek", ek ? ek : json_null());
    json_object_set_new(j, "ak", tld_ak_json(n->ak));
    json_object_set_new(j, "ek_origin", json_string(tld_node_ek_origin(n)));
    json_object_set_new(j, "attestation", tld_attest_summary_json(n));
    json_t *labels = tld_attest_labels(n);
    tld_pool_node_labels(n, labels);
    json_object_set_new(j, "labels", labels);
    json_object_set_new(j, "external", json_boolean(n->spec.external));
    json_object_set_new(j, "egress", json_boolean(n->spec.egress));
    json_object_set_new(j, "egress_allow", tld_egress_allow_json(n->spec.egress_allow));
    if (n->spec.memory_mib)
        json_object_set_new(j, "memory_mib", json_integer(n->spec.memory_mib));
    if (n->spec.data_disk_gb) {
        char dd[PATH_MAX];
        tld_datadisk_path(t, n, dd, sizeof(dd));
        json_object_set_new(j, "data_disk",
                            json_pack("{s:i, s:s, s:b, s:s}", "size_gb", (int)n->spec.data_disk_gb,
                                      "encryption_key", n->spec.data_disk_key, "encrypted",
                                      n->spec.data_disk_key[0] != 0, "file", dd));
    }
    if (n->vm)
        json_object_set_new(j, "vm",
                            json_pack("{s:O, s:O}", "resourceGroup",
                                      json_object_get(n->vm, "resourceGroup"), "name",
                                      json_object_get(n->vm, "name")));
    if (n->spec.guest_state) {
        char gs[PATH_MAX], open[PATH_MAX];
        tld_node_path(t, n, "guest-state.vmgs", gs, sizeof(gs));
        tld_gueststate_path(t, n, ".", open, sizeof(open));
        open[strlen(open) > 2 ? strlen(open) - 2 : 0] = 0; /* "DIR/." */
        json_object_set_new(j, "guest_state_file", json_string(gs));
        json_object_set_new(j, "guest_state_open", json_string(open)); /* while it runs */
    }
    if (n->tee_policy)
        json_object_set(j, "tee_policy", n->tee_policy);
    if (n->pool)
        json_object_set_new(j, "pool",
                            json_pack("{s:s, s:s, s:s}", "resourceGroup", n->pool->cluster->group,
                                      "cluster", n->pool->cluster->name, "name", n->pool->name));
    return j;
}

json_t *tld_node_doc(const struct tld_node *n)
{
    char token_hex[65];
    tl_hex_encode(n->token_sha256, sizeof(n->token_sha256), token_hex);
    json_t *j = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:{s:b, s:b, s:b, s:i, s:s, s:s}, s:I, s:I, s:I, s:i, "
        "s:{s:I, s:I}, s:{s:I, s:I}, s:s}",
        "name", n->name, "uuid", n->uuid, "state", tld_state_name(n->state), "reason", n->reason,
        "token_sha256", token_hex, "spec", "secure_boot", n->spec.secure_boot, "vtpm", n->spec.vtpm,
        "vtpm_persist", n->spec.vtpm_persist, "generation", n->spec.generation, "image",
        n->spec.image, "vars", n->spec.vars, "created", (json_int_t)n->created, "started",
        (json_int_t)n->started, "stopped", (json_int_t)n->stopped, "boots", (int)n->boots, "qemu",
        "pid", (json_int_t)n->qemu.pid, "start", (json_int_t)n->qemu.start, "swtpm", "pid",
        (json_int_t)n->swtpm.pid, "start", (json_int_t)n->swtpm.start, "ctrl", n->ctrl);
    if (!j)
        return NULL;
    if (n->paravisor.pid > 0)
        json_object_set_new(j, "paravisor",
                            json_pack("{s:I, s:I}", "pid", (json_int_t)n->paravisor.pid, "start",
                                      (json_int_t)n->paravisor.start));
    if (n->diag)
        json_object_set(j, "diag", n->diag);
    if (n->report)
        json_object_set(j, "report", n->report);
    if (n->host)
        json_object_set(j, "host", n->host);
    json_t *ek = tld_node_ek(n);
    if (ek)
        json_object_set_new(j, "ek", ek);
    if (n->ak)
        json_object_set_new(j, "ak", tld_ak_json(n->ak));
    if (n->attestation.id)
        json_object_set_new(j, "attestation", tld_attest_summary_json(n));
    if (n->tpm_seen.set)
        json_object_set_new(j, "tpm_seen",
                            json_pack("{s:I, s:I, s:I}", "reset_count",
                                      (json_int_t)n->tpm_seen.reset_count, "restart_count",
                                      (json_int_t)n->tpm_seen.restart_count, "clock",
                                      (json_int_t)n->tpm_seen.clock));
    if (n->baseline)
        json_object_set_new(j, "baseline", tld_baseline_json(n->baseline));
    json_object_set_new(json_object_get(j, "spec"), "external", json_boolean(n->spec.external));
    json_object_set_new(json_object_get(j, "spec"), "egress", json_boolean(n->spec.egress));
    json_object_set_new(json_object_get(j, "spec"), "guest_state",
                        json_boolean(n->spec.guest_state));
    json_object_set_new(json_object_get(j, "spec"), "egress_allow",
                        json_string(n->spec.egress_allow));
    if (n->spec.memory_mib)
        json_object_set_new(json_object_get(j, "spec"), "memory_mib",
                            json_integer(n->spec.memory_mib));
    if (n->spec.security_type)
        tld_node_security_json(&n->spec, json_object_get(j, "spec"));
    tld_datadisk_json(&n->spec, json_object_get(j, "spec"));
    if (n->vm)
        json_object_set(j, "vm", n->vm);
    if (n->tee_policy)
        json_object_set(j, "tee_policy", n->tee_policy);
    return j;
}

static void copy_str(char *dst, size_t size, const json_t *v)
{
    snprintf(dst, size, "%s", json_is_string(v) ? json_string_value(v) : "");
}

int tld_node_from_doc(struct tld *t, const json_t *doc, struct tld_node **out)
{
    struct tld_node *n = calloc(1, sizeof(*n));
    if (!n)
        return -ENOMEM;
    copy_str(n->name, sizeof(n->name), json_object_get(doc, "name"));
    copy_str(n->uuid, sizeof(n->uuid), json_object_get(doc, "uuid"));
    copy_str(n->reason, sizeof(n->reason), json_object_get(doc, "reason"));
    const char *th = json_string_value(json_object_get(doc, "token_sha256"));
    const char *legacy = json_string_value(json_object_get(doc, "token"));
    if (th && strlen(th) == 64)
        tl_hex_decode(th, 64, n->token_sha256, sizeof(n->token_sha256));
    else if (legacy) /* a store of an earlier tld kept the token itself */
        tld_secret_hash(legacy, strlen(legacy), n->token_sha256);
    copy_str(n->ctrl, sizeof(n->ctrl), json_object_get(doc, "ctrl"));
    json_t *spec = json_object_get(doc, "spec");
    n->spec.secure_boot = json_is_true(json_object_get(spec, "secure_boot"));
    n->spec.vtpm = json_is_true(json_object_get(spec, "vtpm"));
    n->spec.vtpm_persist = json_is_true(json_object_get(spec, "vtpm_persist"));
    n->spec.external = json_is_true(json_object_get(spec, "external"));
    n->spec.egress = json_is_true(json_object_get(spec, "egress"));
    n->spec.guest_state = json_is_true(json_object_get(spec, "guest_state"));
    n->spec.egress_allow = tld_intern(t, json_string_value(json_object_get(spec, "egress_allow")));
    n->spec.generation = (int)json_integer_value(json_object_get(spec, "generation"));
    n->spec.memory_mib = (unsigned)json_integer_value(json_object_get(spec, "memory_mib"));
    n->spec.image = tld_intern(t, json_string_value(json_object_get(spec, "image")));
    n->spec.vars = tld_intern(t, json_string_value(json_object_get(spec, "vars")));
    tld_node_security_from_json(spec, &n->spec);
    tld_datadisk_from_json(t, spec, &n->spec);
    json_t *vm = json_object_get(doc, "vm");
    n->vm = json_is_object(vm) ? json_deep_copy(vm) : NULL;
    json_t *tp = json_object_get(doc, "tee_policy");
    n->tee_policy = json_is_object(tp) ? json_deep_copy(tp) : NULL;
    n->created = json_integer_value(json_object_get(doc, "created"));
    n->started = json_integer_value(json_object_get(doc, "started"));
    n->stopped = json_integer_value(json_object_get(doc, "stopped"));
    n->boots = (unsigned)json_integer_value(json_object_get(doc, "boots"));
    n->qemu.pid = (pid_t)json_integer_value(json_object_get(json_object_get(doc, "qemu"), "pid"));
    n->qemu.start = (unsigned long long)json_integer_value(
        json_object_get(json_object_get(doc, "qemu"), "start"));
    n->swtpm.pid = (pid_t)json_integer_value(json_object_get(json_object_get(doc, "swtpm"), "pid"));
    n->swtpm.start = (unsigned long long)json_integer_value(
        json_object_get(json_object_get(doc, "swtpm"), "start"));
    json_t *pv = json_object_get(doc, "paravisor");
    n->paravisor.pid = (pid_t)json_integer_value(json_object_get(pv, "pid"));
    n->paravisor.start = (unsigned long long)json_integer_value(json_object_get(pv, "start"));
    n->diag = json_incref(json_object_get(doc, "diag"));
    n->report = json_incref(json_object_get(doc, "report"));
    n->host = json_incref(json_object_get(doc, "host"));
    tld_node_set_ek(n, json_object_get(doc, "ek"));
    n->ak = tld_ak_from_json(json_object_get(doc, "ak"));
    tld_attest_summary_from_json(n, json_object_get(doc, "attestation"));
    json_t *seen = json_object_get(doc, "tpm_seen");
    if (json_is_object(seen))
        n->tpm_seen = (struct tld_tpm_seen){
            .set = true,
            .reset_count = (uint32_t)json_integer_value(json_object_get(seen, "reset_count")),
            .restart_count = (uint32_t)json_integer_value(json_object_get(seen, "restart_count")),
            .clock = (uint64_t)json_integer_value(json_object_get(seen, "clock"))};
    else if (n->attestation.id) /* a store of an earlier tld: this boot's is what it knew */
        n->tpm_seen = (struct tld_tpm_seen){.set = true,
                                            .reset_count = n->attestation.reset_count,
                                            .restart_count = n->attestation.restart_count,
                                            .clock = n->attestation.clock};
    n->baseline = tld_baseline_from_json(json_object_get(doc, "baseline"));
    if (!tld_name_ok(n->name) ||
        tld_state_parse(json_string_value(json_object_get(doc, "state")), &n->state) < 0 ||
        (n->spec.generation != 1 && n->spec.generation != 2) || !n->spec.image || !n->spec.vars) {
        tld_node_free(n);
        return -EBADMSG;
    }
    *out = n;
    return 0;
}
