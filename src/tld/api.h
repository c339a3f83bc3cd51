/* What the API's files share (api.c the server, routes.c the routing
 * table and its handlers, call.c a call's helpers): a request, a call, a
 * route. Internal to tld's API layer; the rest of tld sees tld.h. */
#pragma once

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

#include "tld.h"

/* The roles, as route masks. */
#define R_PUBLIC   0u
#define R_OPERATOR (1u << TLD_ROLE_OPERATOR)
#define R_READER   (R_OPERATOR | 1u << TLD_ROLE_READER)
#define R_RP       (R_READER | 1u << TLD_ROLE_RELYING_PARTY)
#define R_AGENT    (1u << TLD_ROLE_AGENT)

/* route flags */
#define F_AGENT_BODY 1u /* an agent's evidence: a body up to TLD_BODY_MAX */
#define F_UNLOCKED   2u /* the handler takes tld.lock itself */
#define F_JSON_EARLY 4u /* the JSON body parsed before any lock (agentbody.c) */

struct call;
struct route {
    const char *method;  /* NULL: any */
    const char *pattern; /* segments; "{x}" takes one; a final "*" takes the rest */
    unsigned roles;
    unsigned flags;
    enum MHD_Result (*fn)(struct call *);
};

struct request {
    const struct route *route;
    struct tld_caller caller;
    char arg[2][TLD_NAME_MAX + 2]; /* the pattern's {x} segments, in order */
    const char *rest;              /* what a final "*" took */
    char *body;
    size_t len, cap;
    bool too_large, busy;
    const char *method; /* tld_metrics_method's: the request's, as a label */
    json_t *json;       /* an agent call's body, parsed outside the lock (NULL: not an object) */
};

struct call {
    struct tld *t;
    struct MHD_Connection *c;
    const char *method, *url;
    struct request *rq;
    char msg[512];
    struct tl_error err; /* what a domain function that returned -errno said */
};

/* call.c: answers (each takes j / the text and sends it) and a call's
 * parts; api_err sets k->msg and gives status; api_fail answers status
 * (500 for anything from 0 to 399) with k->msg, or a domain function's
 * -errno as tld_http_status maps it with k->err's message. */
enum MHD_Result api_send_text(struct MHD_Connection *c, unsigned status, const char *type,
                              char *text, size_t len);
enum MHD_Result api_send_json(struct MHD_Connection *c, unsigned status, json_t *j);
enum MHD_Result api_send_error(struct MHD_Connection *c, unsigned status, const char *msg);
enum MHD_Result api_send_console(struct MHD_Connection *c, const char *path);
json_t *api_parse_body(const struct request *rq, char *msg, size_t msz);
json_t *api_call_body(struct call *k);
int api_err(struct call *k, int status, const char *text);
enum MHD_Result api_fail(struct call *k, int status);
const char *api_query(struct call *k, const char *key);
const char *api_authorization(struct call *k);
/* The node the route's {node} names (NULL with k->msg: 404); _idle: one no
 * operation holds (else *status 404, or 409 / 503 to its agent). */
struct tld_node *api_call_node(struct call *k);
struct tld_node *api_call_node_idle(struct call *k, int *status);

/* ui.c: GET /ui and /ui/FILE, the fleet page's static files (public: they
 * hold no data; the page fetches the reader routes with a token) */
enum MHD_Result api_ui(struct call *k);

/* routes.c: the routing table (docs/api.md lists it with the same roles) */
const struct route *api_routes(size_t *n);

/* keyvault_api.c: the key vault's handlers (routes.c's table names them):
 * the vault list and create, one vault (GET, DELETE), its keys (GET list,
 * POST create), one key (GET, DELETE, and the action after it: versions,
 * rotate, download, releases). */
enum MHD_Result api_vaults(struct call *k);
enum MHD_Result api_vault_create(struct call *k);
enum MHD_Result api_vault(struct call *k);
enum MHD_Result api_keys(struct call *k);
enum MHD_Result api_key(struct call *k);
/* POST /v1/nodes/{node}/keys/release (the node's agent) */
enum MHD_Result api_key_release(struct call *k);
