/* The fleet's pieces, shared among its files (tld.h has what the rest of
 * tld calls: pools, clusters, tld_fleet_route):
 *   fleet.c          the model: groups, clusters, pools; lookups, names,
 *                    load, save, remove; a pool node's labels
 *   fleet_request.c  a request's fields and the pool it asks for
 *   fleet_api.c      the ARM-style routes and their handlers */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "tld.h"

struct tl_pool_spec;

struct tld_group {
    char name[91], location[64];
    long long created;
};

struct tld_fleet {
    struct tld_group **groups;
    size_t n_groups;
    struct tld_cluster **clusters;
    size_t n_clusters;
    struct tld_pool **pools;
    size_t n_pools;
};

/* fleet.c: ARM's resource group names (1-90 of letters, digits, '-', '_',
 * '.', '(' and ')', not ending in '.'); AKS's cluster names (1-63 of
 * letters, digits, '-' and '_', starting and ending with a letter or
 * digit) */
bool tld_fleet_group_name_ok(const char *s);
bool tld_fleet_cluster_name_ok(const char *s);
/* ARM names are case-insensitive (a pool's name is not) */
struct tld_group *tld_fleet_group_find(struct tld_fleet *f, const char *name);
struct tld_cluster *tld_fleet_cluster_find(struct tld_fleet *f, const char *group,
                                           const char *name);
struct tld_pool *tld_fleet_pool_find(struct tld_fleet *f, const struct tld_cluster *c,
                                     const char *name);
/* into the fleet's arrays (-ENOMEM); a pool also takes its nodes */
int tld_fleet_add_group(struct tld_fleet *f, struct tld_group *g);
int tld_fleet_add_cluster(struct tld_fleet *f, struct tld_cluster *c);
int tld_fleet_add_pool(struct tld *t, struct tld_pool *p);
/* out of the store and the fleet, freed */
void tld_fleet_remove_group(struct tld *t, struct tld_group *g);
int tld_group_save(struct tld *t, const struct tld_group *g);
void tld_pool_free(struct tld_pool *p);
void tld_cluster_free(struct tld_cluster *c);
/* AKS's node resource group: MC_GROUP_CLUSTER_LOCATION */
void tld_cluster_node_resource_group(const struct tld_cluster *c, char *out, size_t size);
/* "trustlaunch-gen2TL": the node image a pool runs */
void tld_pool_node_image_version(const struct tld_pool *p, char *out, size_t size);

/* fleet_request.c: a body's fields, each checked for its type; unknown
 * ones refused (-EINVAL with err set) */
struct tld_field {
    const char *key;
    int type; /* JSON_STRING, JSON_TRUE (a boolean), JSON_INTEGER, JSON_ARRAY */
};
int tld_fleet_check_fields(const json_t *body, const struct tld_field *fields,
                           struct tl_error *err);
/* body's string member, def when absent or empty */
const char *tld_fleet_str(const json_t *body, const char *key, const char *def);
bool tld_fleet_flag(const json_t *body, const char *key);
/* What libtl's rules check of a pool. */
void tld_pool_spec(const struct tld_pool *p, struct tl_pool_spec *s);
/* The pool spec of a create (PUT of a cluster or a pool), defaults
 * applied, rules checked, the image found: 0 or -errno with err set */
int tld_pool_from_request(struct tld *t, struct tld_cluster *c, const json_t *body,
                          const char *name, const char *default_mode, bool for_cluster,
                          struct tld_pool *p, struct tl_error *err);

/* vmres.c: Microsoft.Compute/virtualMachines under a resource group; s
 * are the path's segments after ".../virtualMachines" (n_seg of them: 0
 * the group's list, 1 a VM, 2 an action: start, powerOff). As
 * tld_fleet_route. */
int tld_vmres_route(struct tld *t, struct tld_group *g, const char *method, const char *const *s,
                    int n_seg, const json_t *body, json_t **answer, char *msg, size_t msz);
/* GET /v1/virtualMachines: every VM */
int tld_vmres_list_all(struct tld *t, json_t **answer);
/* How many VMs group holds; their names in names ("a', 'b") */
int tld_vmres_in_group(struct tld *t, const char *group, char *names, size_t size);
