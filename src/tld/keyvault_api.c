/* The key vault's routes (docs/api.md, "Key vaults"): HTTP in and out of
 * keyvault.c. Every route is F_UNLOCKED: keyvault.c takes tld.lock around
 * its records and its own lock around the key store, never both. */
#include <errno.h>
#include <string.h>

#include "api.h"

/* keyvault.c's -errno as a status: a refused download is 403 (tld's
 * general map has no -EPERM). */
static enum MHD_Result kv_answer(struct call *k, int r, unsigned ok, json_t *answer)
{
    if (r == -EPERM)
        return api_send_error(k->c, 403, k->err.message);
    if (r < 0) {
        json_decref(answer);
        return api_fail(k, r);
    }
    return api_send_json(k->c, ok, answer);
}

enum MHD_Result api_vaults(struct call *k)
{
    return api_send_json(k->c, 200, tld_vault_list(k->t));
}

enum MHD_Result api_vault_create(struct call *k)
{
    json_t *req = api_call_body(k), *answer = NULL;
    if (!req)
        return api_send_error(k->c, 400, k->msg);
    int r = json_is_object(req)
                ? tld_vault_create(k->t, req, &answer, &k->err)
                : tl_error_set_nopos(&k->err, -EINVAL, "request body: not an object");
    json_decref(req);
    return kv_answer(k, r, 201, answer);
}

enum MHD_Result api_vault(struct call *k)
{
    json_t *answer = NULL;
    int r;
    if (strcmp(k->method, "DELETE") == 0) {
        r = tld_vault_delete(k->t, k->rq->arg[0], &k->err);
        if (r == 0)
            answer = json_pack("{s:s, s:b}", "name", k->rq->arg[0], "deleted", 1);
    } else {
        r = tld_vault_show(k->t, k->rq->arg[0], &answer, &k->err);
    }
    return kv_answer(k, r, 200, answer);
}

enum MHD_Result api_keys(struct call *k)
{
    json_t *answer = NULL;
    if (strcmp(k->method, "GET") == 0) {
        int r = tld_vault_key_list(k->t, k->rq->arg[0], NULL, &answer, &k->err);
        return kv_answer(k, r, 200, answer);
    }
    json_t *req = api_call_body(k);
    if (!req)
        return api_send_error(k->c, 400, k->msg);
    int r = json_is_object(req)
                ? tld_vault_key_create(k->t, k->rq->arg[0], req, &answer, &k->err)
                : tl_error_set_nopos(&k->err, -EINVAL, "request body: not an object");
    json_decref(req);
    return kv_answer(k, r, 201, answer);
}

/* /v1/vaults/{vault}/keys/{key}[/ACTION] */
enum MHD_Result api_key(struct call *k)
{
    const char *vault = k->rq->arg[0], *name = k->rq->arg[1], *action = k->rq->rest;
    json_t *answer = NULL;
    int r;
    if (strcmp(k->method, "DELETE") == 0)
        r = tld_vault_key_delete(k->t, vault, name, &answer, &k->err);
    else if (strcmp(action, "versions") == 0)
        r = tld_vault_key_list(k->t, vault, name, &answer, &k->err);
    else if (strcmp(action, "rotate") == 0)
        r = tld_vault_key_rotate(k->t, vault, name, &answer, &k->err);
    else if (strcmp(action, "download") == 0)
        r = tld_vault_key_download(k->t, vault, name, &k->err);
    else if (strcmp(action, "releases") == 0)
        r = tld_vault_key_releases(k->t, vault, name, &answer, &k->err);
    else
        r = tld_vault_key_show(k->t, vault, name, api_query(k, "version"), &answer, &k->err);
    return kv_answer(k, r, strcmp(action, "rotate") == 0 ? 201 : 200, answer);
}

/* POST /v1/nodes/{node}/keys/release: the node's agent (keyrelease.c) */
enum MHD_Result api_key_release(struct call *k)
{
    json_t *answer = NULL;
    int r = k->rq->json ? tld_key_release(k->t, k->rq->arg[0], api_authorization(k), k->rq->json,
                                          &answer, &k->err)
                        : tl_error_set_nopos(&k->err, -EINVAL, "request body: not a JSON object");
    return kv_answer(k, r, 200, answer);
}
