/* Key release policies in Azure Secure Key Release's grammar (issue 15).
 *
 * A key leaves the token only for a node whose attestation claims meet the
 * key's release policy. The policy is Azure Key Vault's JSON document
 * (https://learn.microsoft.com/azure/key-vault/keys/policy-grammar):
 *
 *   { "version": "1.0.0",
 *     "anyOf": [ { "authority": "<issuer>",
 *                  "allOf" | "anyOf": [ condition, ... ] }, ... ] }
 *   condition = { "claim": "a.b.c", OP: value } | { "anyOf": [...] } | { "allOf": [...] }
 *   OP        = equals | notEquals | less | lessOrEquals | greater | greaterOrEquals | exists
 *
 * tl_release_policy_parse refuses anything outside the grammar when the key
 * is created, with the JSON path of the offending member in the message
 * ("anyOf[1].allOf[0]: \"equals\" and \"exists\" both given"), so a
 * misspelt operator never becomes a condition that is silently ignored.
 * tl_release_policy_eval decides a release against one node's claims and
 * names the deciding clause for the release log. Pure: no I/O, no globals;
 * the evaluation visits each clause at most once. lib/keyrel/release_policy.c
 * documents each reading of the grammar with the sentence it rests on. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tl/error.h"

/* Caps, refused (with the cap named) past them. A policy is a few hundred
 * bytes; Azure's CVM policy naming every region's attestation service is
 * 23 KB and a few hundred clauses. */
#define TL_RELEASE_POLICY_MAX_BYTES   (64 * 1024)
#define TL_RELEASE_POLICY_MAX_CLAUSES 1024 /* authority entries + conditions */
#define TL_RELEASE_POLICY_MAX_DEPTH   8    /* anyOf/allOf nested inside an authority entry */
#define TL_RELEASE_POLICY_MAX_NAME    256  /* bytes of a claim name or an authority */

enum tl_release_node_kind {
    TL_RELEASE_ANY_OF, /* true when one child is (the policy root, an entry, a condition) */
    TL_RELEASE_ALL_OF, /* true when every child is */
    TL_RELEASE_CLAIM,  /* a claim condition: claim OP value */
};

enum tl_release_op {
    TL_RELEASE_EQUALS,
    TL_RELEASE_NOT_EQUALS,
    TL_RELEASE_LESS,
    TL_RELEASE_LESS_OR_EQUALS,
    TL_RELEASE_GREATER,
    TL_RELEASE_GREATER_OR_EQUALS,
    TL_RELEASE_EXISTS,
};

/* One clause. Children of a list node are the contiguous nodes
 * [first, first + n); node 0 is the policy's root (its top-level anyOf),
 * its children the authority entries. Strings and values point into the
 * policy's parsed document. */
struct tl_release_node {
    enum tl_release_node_kind kind;
    enum tl_release_op op; /* TL_RELEASE_CLAIM */
    const char *authority; /* an authority entry (a child of the root), else NULL */
    const char *claim;     /* TL_RELEASE_CLAIM: the dotted claim name */
    const json_t *value;   /* TL_RELEASE_CLAIM: string, integer, real or boolean */
    uint32_t first, n;     /* list nodes: the children */
};

struct tl_release_policy {
    json_t *doc; /* the parsed document, owned */
    struct tl_release_node *nodes;
    size_t n_nodes;
};

/* Parses a policy document of len bytes. Returns 0 with *out allocated
 * (tl_release_policy_free), or -EINVAL (not JSON, outside the grammar, an
 * unknown version), -E2BIG (past a cap) or -ENOMEM, with err naming the JSON
 * path of the member ("anyOf[0].allOf[2].equals: ...") and *out NULL. */
int tl_release_policy_parse(const char *text, size_t len, struct tl_release_policy **out,
                            struct tl_error *err);

void tl_release_policy_free(struct tl_release_policy *p);

struct tl_release_decision {
    bool granted;
    /* The deciding clause as a JSON path into the policy: on a grant the
     * authority entry that was met ("anyOf[2]"), on a refusal the condition
     * that was not ("anyOf[0].allOf[1]"), or "anyOf" when no entry names the
     * authority. */
    char clause[192];
    /* One line for the release log; claim values are quoted with control
     * characters escaped and long ones cut ("..."), since claims come from
     * the node. E.g. `claim "secureboot" is false, want equals true`. */
    char reason[512];
};

/* Decides whether a node whose attestation was issued by `authority` (tld's
 * issuer string) with these claims (a JSON object, MAA claim names) meets
 * the policy. Only entries whose authority is this one are considered.
 * Returns 0 with *d filled (granted or refused), or -EINVAL when claims is
 * not an object or authority is NULL (then *d is a refusal saying so). */
int tl_release_policy_eval(const struct tl_release_policy *p, const char *authority,
                           const json_t *claims, struct tl_release_decision *d);

/* The text of an operator as the grammar spells it ("greaterOrEquals"). */
const char *tl_release_op_name(enum tl_release_op op);
