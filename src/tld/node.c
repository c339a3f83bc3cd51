/* The node table: a growing array with a name index (tld_node_find is a
 * hash lookup: every agent call finds its node), up to TLD_MAX_NODES; the
 * supervision loop visits only the nodes with a VM here (t->vms), not
 * 100,000 external ones (~1.5 ms of cache misses under tld.lock, four
 * times a second). Also the interned spec paths, a node's EK records and
 * the paths of its files (vm.c lists them).
 *
 * An external node (no VM here) has either a vTPM provisioned here (its
 * state under HOME/nodes/NAME/vtpm, run by whoever runs its agent), or,
 * created with "ek_public", its own TPM elsewhere: tld certifies that EK
 * itself (ekca.c) and the node holds only agent.json. */
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

#include "tl/base64.h"
#include "tl/util.h"
#include "tld.h"

extern char **environ;

bool tld_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > TLD_NAME_MAX || !(s[0] >= 'a' && s[0] <= 'z') || s[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return false;
    return true;
}

/* ---- the node table and its name index ---- */

static size_t name_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return (size_t)(h ^ (h >> 29));
}

struct tld_node *tld_node_find(struct tld *t, const char *name)
{
    if (!t->n_index)
        return NULL;
    for (struct tld_node *n = t->index[name_hash(name) & (t->n_index - 1)]; n; n = n->hash_next)
        if (strcmp(n->name, name) == 0)
            return n;
    return NULL;
}

/* Rebuilds the index with twice the chains when it holds as many nodes. */
static int index_grow(struct tld *t)
{
    size_t want = t->n_index ? t->n_index * 2 : 256;
    struct tld_node **idx = calloc(want, sizeof(*idx));
    if (!idx)
        return -ENOMEM;
    for (size_t i = 0; i < t->n_nodes; i++) {
        struct tld_node *n = t->nodes[i];
        size_t h = name_hash(n->name) & (want - 1);
        n->hash_next = idx[h];
        idx[h] = n;
    }
    free(t->index);
    t->index = idx;
    t->n_index = want;
    return 0;
}

int tld_node_add(struct tld *t, struct tld_node *n)
{
    if (t->n_nodes >= TLD_MAX_NODES)
        return -ENOSPC;
    if (t->n_nodes == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        struct tld_node **a = realloc(t->nodes, cap * sizeof(*a));
        if (!a)
            return -ENOMEM;
        t->nodes = a;
        t->cap = cap;
    }
    if (t->n_nodes + 1 > t->n_index && index_grow(t) < 0)
        return -ENOMEM;
    if (!n->spec.external && t->n_vms == t->cap_vms) {
        size_t cap = t->cap_vms ? t->cap_vms * 2 : 64;
        struct tld_node **a = realloc(t->vms, cap * sizeof(*a));
        if (!a)
            return -ENOMEM;
        t->vms = a;
        t->cap_vms = cap;
    }
    if (!n->spec.external)
        t->vms[t->n_vms++] = n;
    t->nodes[t->n_nodes++] = n;
    size_t h = name_hash(n->name) & (t->n_index - 1);
    n->hash_next = t->index[h];
    t->index[h] = n;
    return 0;
}

void tld_node_remove(struct tld *t, struct tld_node *n)
{
    if (t->n_index)
        for (struct tld_node **p = &t->index[name_hash(n->name) & (t->n_index - 1)]; *p;
             p = &(*p)->hash_next)
            if (*p == n) {
                *p = n->hash_next;
                break;
            }
    n->hash_next = NULL;
    for (size_t i = 0; i < t->n_nodes; i++)
        if (t->nodes[i] == n) {
            t->nodes[i] = t->nodes[--t->n_nodes];
            break;
        }
    for (size_t i = 0; i < t->n_vms; i++)
        if (t->vms[i] == n) {
            t->vms[i] = t->vms[--t->n_vms];
            break;
        }
}

void tld_nodes_free(struct tld *t)
{
    for (size_t i = 0; i < t->n_nodes; i++)
        tld_node_free(t->nodes[i]);
    free(t->nodes);
    free(t->index);
    free(t->vms);
    t->nodes = t->index = t->vms = NULL;
    t->n_nodes = t->cap = t->n_index = t->n_vms = t->cap_vms = 0;
}

/* Interned strings: a list; there are as many as distinct image and
 * variable store paths (a handful), each kept once for every node. */
struct tld_interned {
    struct tld_interned *next;
    char s[];
};

const char *tld_intern(struct tld *t, const char *s)
{
    if (!s || !*s)
        return "";
    struct tld_intern *in = &t->intern;
    pthread_mutex_lock(&in->lock);
    struct tld_interned *i;
    for (i = in->list; i && strcmp(i->s, s) != 0; i = i->next)
        ;
    if (!i && (i = malloc(sizeof(*i) + strlen(s) + 1))) {
        strcpy(i->s, s);
        i->next = in->list;
        in->list = i;
    }
    pthread_mutex_unlock(&in->lock);
    return i ? i->s : NULL;
}

void tld_intern_free(struct tld *t)
{
    for (struct tld_interned *i = t->intern.list, *next; i; i = next) {
        next = i->next;
        free(i);
    }
    t->intern.list = NULL;
}

void tld_node_free(struct tld_node *n)
{
    if (!n)
        return;
    json_decref(n->diag);
    json_decref(n->report);
    json_decref(n->host);
    json_decref(n->vm);
    json_decref(n->tee_policy);
    free(n->ek);
    tld_ak_free(n->ak);
    free(n->baseline);
    json_decref(n->ek_issued);
    if (n->challenge) {
        json_decref(n->challenge->ak);
        free(n->challenge);
    }
    free(n->nonces);
    free(n);
}

json_t *tld_node_ek(const struct tld_node *n)
{
    return n->ek ? json_loads(n->ek, 0, NULL) : NULL;
}

int tld_node_set_ek(struct tld_node *n, const json_t *ek)
{
    char *text = ek && !json_is_null(ek) ? json_dumps(ek, JSON_COMPACT) : NULL;
    if (ek && !json_is_null(ek) && !text)
        return -ENOMEM;
    free(n->ek);
    n->ek = text;
    return 0;
}

int tld_node_path(const struct tld *t, const struct tld_node *n, const char *file, char *out,
                  size_t size)
{
    int k = file ? snprintf(out, size, "%s/nodes/%s/%s", t->home, n->name, file)
                 : snprintf(out, size, "%s/nodes/%s", t->home, n->name);
    return k < 0 || (size_t)k >= size ? -ENAMETOOLONG : 0;
}

void tld_node_run_path(const struct tld *t, const struct tld_node *n, const char *suffix, char *out,
                       size_t size)
{
    snprintf(out, size, "%s/run/%s%s", t->home, n->name, suffix);
}

void tld_node_key_path(const struct tld *t, const struct tld_node *n, char *out, size_t size)
{
    snprintf(out, size, "%s/keys/%s.vtpm.key", t->home, n->name);
}
