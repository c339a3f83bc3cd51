/* What the platform may take on: vCPU quotas as a cloud subscription has
 * them, and this host's memory and CPUs (issue 11, "Bounded work").
 *
 * A pool's create or scale-up is admitted before anything is stored:
 *   - quotas, in the VM size's own vCPUs (Standard_DS2_v2: 2), per family
 *     (`az vm list-usage`'s names, libtl's catalog) and in all ("Total
 *     Regional vCPUs"); a request beyond one is refused with ARM's
 *     QuotaExceeded text. Limits: TL_QUOTA_VCPUS in tld's environment,
 *     "total=N,FAMILY=N,..." (default 100 each);
 *   - the host: every VM node's memory (what QEMU gets: the size's
 *     node_memory_mib, a standalone node's 1024 MiB) within the host's
 *     MemTotal less 2 GiB (TL_HOST_NODE_MEMORY_MIB), and every node's vCPUs
 *     within the host's CPUs times 16 (TCG runs a node on one host thread;
 *     TL_HOST_VCPUS); beyond that: AllocationFailed.
 * And the reconciler starts at most TLD_CONCURRENT_CREATES (4; TL_CONCURRENT_CREATES)
 * nodes booting at once: a pool of 50 does not start 50 QEMUs together.
 *
 * Usage is counted from the pools' asked-for counts (what they will run)
 * and the standalone VM nodes: a deterministic sum, no sampling. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tl/aks.h>

#include "tld.h"

#define DEFAULT_QUOTA 100
#define MAX_FAMILIES  16

static void quota_parse(struct tld_capacity *c, const char *spec)
{
    char *copy = spec ? strdup(spec) : NULL, *save = NULL;
    for (char *kv = copy ? strtok_r(copy, ",", &save) : NULL; kv; kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        char *end;
        long v = eq ? strtol(eq + 1, &end, 10) : -1;
        if (!eq || eq == kv || *end || v < 0 || v > 1000000) {
            tld_log("TL_QUOTA_VCPUS: \"%s\" is not NAME=N; ignored", kv);
            continue;
        }
        *eq = 0;
        if (strcmp(kv, "total") == 0) {
            c->total_limit = (unsigned)v;
        } else if (c->n_families < sizeof(c->families) / sizeof(c->families[0])) {
            snprintf(c->families[c->n_families].name, sizeof(c->families[0].name), "%s", kv);
            c->families[c->n_families++].limit = (unsigned)v;
        }
    }
    free(copy);
}

static unsigned env_uint(const char *name, unsigned def)
{
    const char *v = getenv(name);
    char *end;
    long n = v && *v ? strtol(v, &end, 10) : -1;
    return n > 0 && !*end && n < 100000000 ? (unsigned)n : def;
}

void tld_capacity_init(struct tld *t)
{
    struct tld_capacity *c = &t->capacity;
    *c = (struct tld_capacity){.total_limit = DEFAULT_QUOTA};
    quota_parse(c, getenv("TL_QUOTA_VCPUS"));
    unsigned long long mem_kib = 0;
    FILE *f = fopen("/proc/meminfo", "re");
    char line[128];
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "MemTotal: %llu kB", &mem_kib) == 1)
            break;
    if (f)
        fclose(f);
    unsigned host = mem_kib / 1024 > 2048 ? (unsigned)(mem_kib / 1024 - 2048) : 1024;
    c->host_memory_mib = env_uint("TL_HOST_NODE_MEMORY_MIB", host);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    c->host_vcpus = env_uint("TL_HOST_VCPUS", (unsigned)(cpus > 0 ? cpus : 1) * 16);
    c->concurrent_creates = env_uint("TL_CONCURRENT_CREATES", TLD_CONCURRENT_CREATES);
}

static unsigned family_limit(const struct tld_capacity *c, const char *family)
{
    for (size_t i = 0; i < c->n_families; i++)
        if (strcmp(c->families[i].name, family) == 0)
            return c->families[i].limit;
    return DEFAULT_QUOTA;
}

struct usage {
    unsigned long total, family, memory_mib, node_vcpus;
};

/* What is asked for now, skipping pool `except` and VM node `except_vm`
 * (being changed). */
static void usage_of(struct tld *t, const struct tld_pool *except, const struct tld_node *except_vm,
                     const char *family, struct usage *u)
{
    *u = (struct usage){0};
    size_t np = 0;
    struct tld_pool **pools = tld_fleet_pools(t, &np);
    for (size_t i = 0; i < np; i++) {
        const struct tld_pool *p = pools[i];
        const struct tl_vm_size *s = tl_vm_size_find(p->vm_size);
        if (p == except || !s || p->prov == TLD_PROV_DELETING)
            continue;
        u->total += (unsigned long)p->count * s->vcpus;
        if (s->family && strcmp(s->family, family) == 0)
            u->family += (unsigned long)p->count * s->vcpus;
        u->memory_mib += (unsigned long)p->count * s->node_memory_mib;
        u->node_vcpus += (unsigned long)p->count * s->node_vcpus;
    }
    for (size_t i = 0; i < t->n_vms; i++) { /* standalone VM nodes */
        const struct tld_node *n = t->vms[i];
        if (n->pool || n->spec.external || n == except_vm)
            continue;
        u->memory_mib += n->spec.memory_mib ? n->spec.memory_mib : 1024;
        u->node_vcpus += 1;
        /* a virtual machine (vmres.c) counts against its size's quotas */
        const struct tl_vm_size *s =
            n->vm ? tl_vm_size_find(json_string_value(json_object_get(n->vm, "vmSize"))) : NULL;
        if (s) {
            u->total += s->vcpus;
            if (s->family && strcmp(s->family, family) == 0)
                u->family += s->vcpus;
        }
    }
}

static int admit(struct tld *t, const struct tl_vm_size *s, const char *location, struct usage *up,
                 long was, long count, char *msg, size_t msz);

int tld_capacity_admit(struct tld *t, const struct tld_pool *p, const char *vm_size, long count,
                       char *msg, size_t msz)
{
    const struct tl_vm_size *s = tl_vm_size_find(vm_size);
    long was = p && p->count > 0 ? p->count : 0;
    if (!s || count <= was) /* an unknown size is the rules' to refuse; a scale-down is free */
        return 0;
    const char *family = s->family ? s->family : s->name;
    const char *location = p ? p->cluster->location : "local";
    struct usage u;
    usage_of(t, p, NULL, family, &u);
    return admit(t, s, location, &u, was, count, msg, msz);
}

int tld_capacity_admit_vm(struct tld *t, const struct tld_node *except, const char *vm_size,
                          const char *location, char *msg, size_t msz)
{
    const struct tl_vm_size *s = tl_vm_size_find(vm_size);
    if (!s)
        return 0;
    struct usage u;
    usage_of(t, NULL, except, s->family ? s->family : s->name, &u);
    return admit(t, s, location, &u, 0, 1, msg, msz);
}

/* u: what is in use besides the `was` nodes of s being changed to count. */
static int admit(struct tld *t, const struct tl_vm_size *s, const char *location, struct usage *up,
                 long was, long count, char *msg, size_t msz)
{
    const struct tld_capacity *c = &t->capacity;
    const char *family = s->family ? s->family : s->name;
    struct usage u = *up;
    u.total += (unsigned long)was * s->vcpus; /* the pool's current nodes are in use */
    u.family += (unsigned long)was * s->vcpus;
    unsigned long add = (unsigned long)(count - was) * s->vcpus;
    unsigned flimit = family_limit(c, family);
    const char *which = NULL;
    unsigned long limit = 0, used = 0;
    if (u.family + add > flimit)
        which = family, limit = flimit, used = u.family;
    else if (u.total + add > c->total_limit)
        which = "Total Regional", limit = c->total_limit, used = u.total;
    if (which) {
        snprintf(msg, msz,
                 "(QuotaExceeded) Operation could not be completed as it results in exceeding "
                 "approved %s Cores quota. Additional details - Deployment Model: Resource "
                 "Manager, Location: %s, Current Limit: %lu, Current Usage: %lu, Additional "
                 "Required: %lu, (Minimum) New Limit Required: %lu. Raise the limit with "
                 "TL_QUOTA_VCPUS in tld's environment (\"%s=%lu\").",
                 which, location, limit, used, add, used + add,
                 strcmp(which, family) == 0 ? family : "total", used + add);
        return -EDQUOT;
    }
    unsigned long mem = u.memory_mib + (unsigned long)was * s->node_memory_mib;
    unsigned long vcpus = u.node_vcpus + (unsigned long)was * s->node_vcpus;
    unsigned long add_mem = (unsigned long)(count - was) * s->node_memory_mib;
    unsigned long add_vcpus = (unsigned long)(count - was) * s->node_vcpus;
    if (mem + add_mem > c->host_memory_mib || vcpus + add_vcpus > c->host_vcpus) {
        snprintf(msg, msz,
                 "(AllocationFailed) The host cannot take %ld more %s node(s): they need %lu "
                 "MiB of memory and %lu vCPUs; it has %u MiB for nodes (%lu in use) and %u "
                 "vCPUs (%lu in use). Scale down or delete other pools, or raise "
                 "TL_HOST_NODE_MEMORY_MIB / TL_HOST_VCPUS in tld's environment.",
                 count - was, s->name, add_mem, add_vcpus, c->host_memory_mib, mem, c->host_vcpus,
                 vcpus);
        return -ENOSPC;
    }
    return 0;
}

unsigned tld_capacity_starting(const struct tld *t)
{
    unsigned starting = 0;
    for (size_t i = 0; i < t->n_vms; i++) {
        const struct tld_node *n = t->vms[i];
        if (!n->spec.external && (n->state == TLD_CREATING || n->state == TLD_BOOTING))
            starting++;
    }
    return starting;
}
