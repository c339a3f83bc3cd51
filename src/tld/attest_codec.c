/* The attestation state a node keeps, to and from JSON: its enrolled AK
 * (struct tld_ak), its learned baseline (struct tld_baseline) and its
 * latest verified attestation (struct tld_attested). Kept in C rather than
 * JSON in memory (a node costs ~2.5 KiB at 100,000 nodes); JSON is the
 * store's and the API's form. Pure: no I/O, no lock. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest.h"
#include "tl/akey.h"
#include "tl/base64.h"
#include "tl/util.h"
#include "tld.h"

json_t *tld_attest_summary_json(const struct tld_node *n)
{
    const struct tld_attested *a = &n->attestation;
    if (!a->id)
        return json_null();
    json_t *j = json_pack("{s:I, s:s, s:I, s:b, s:I, s:I, s:I, s:i}", "id", (json_int_t)a->id,
                          "verdict", a->pass ? "pass" : "fail", "at", (json_int_t)a->at,
                          "secure_boot", a->secure_boot, "reset_count", (json_int_t)a->reset_count,
                          "restart_count", (json_int_t)a->restart_count, "clock",
                          (json_int_t)a->clock, "findings", a->findings);
    if (a->component[0])
        json_object_set_new(j, "component", json_string(a->component));
    return j;
}

void tld_attest_summary_from_json(struct tld_node *n, const json_t *j)
{
    struct tld_attested *a = &n->attestation;
    *a = (struct tld_attested){0};
    if (!json_is_object(j))
        return;
    a->id = json_integer_value(json_object_get(j, "id"));
    a->at = json_integer_value(json_object_get(j, "at"));
    a->pass = strcmp(json_string_value(json_object_get(j, "verdict")) ?: "", "pass") == 0;
    a->secure_boot = json_is_true(json_object_get(j, "secure_boot"));
    a->reset_count = (uint32_t)json_integer_value(json_object_get(j, "reset_count"));
    a->restart_count = (uint32_t)json_integer_value(json_object_get(j, "restart_count"));
    a->clock = (uint64_t)json_integer_value(json_object_get(j, "clock"));
    a->findings = (int)json_integer_value(json_object_get(j, "findings"));
    snprintf(a->component, sizeof(a->component), "%s",
             json_string_value(json_object_get(j, "component")) ?: "");
}

json_t *tld_ak_json(const struct tld_ak *ak)
{
    if (!ak)
        return json_null();
    return json_pack("{s:o, s:s, s:s, s:s, s:I}", "public",
                     tl_base64_json(ak->public, ak->public_len), "name", ak->name, "ek_type",
                     ak->ek_type, "ek_origin", ak->ek_origin, "enrolled", (json_int_t)ak->enrolled);
}

struct tld_ak *tld_ak_from_json(const json_t *j)
{
    const char *name = json_string_value(json_object_get(j, "name"));
    const char *type = json_string_value(json_object_get(j, "ek_type"));
    uint8_t *pub = NULL;
    size_t len = 0;
    if (!name || strlen(name) >= sizeof(((struct tld_ak *)0)->name) || !type ||
        strlen(type) >= sizeof(((struct tld_ak *)0)->ek_type) ||
        tl_base64_decode_string(json_string_value(json_object_get(j, "public")), &pub, &len) < 0)
        return NULL;
    struct tld_ak *ak = malloc(sizeof(*ak) + len);
    if (ak) {
        ak->enrolled = json_integer_value(json_object_get(j, "enrolled"));
        snprintf(ak->ek_type, sizeof(ak->ek_type), "%s", type);
        /* an AK enrolled before origins were recorded: its EK was checked
         * against the platform CA or a manufacturer root, and vouched EKs
         * were certified by the platform CA then: unknown */
        const char *origin = json_string_value(json_object_get(j, "ek_origin"));
        snprintf(ak->ek_origin, sizeof(ak->ek_origin), "%s", origin ? origin : "unknown");
        snprintf(ak->name, sizeof(ak->name), "%s", name);
        ak->public_len = len;
        memcpy(ak->public, pub, len);
        /* the quote's verifying key, once (an AK was checked at enrolment;
         * one that fails here leaves key NULL and every quote refused) */
        struct tl_akey loaded;
        struct tl_error err = {0};
        ak->key = NULL;
        if (tl_akey_load(pub, len, 0, &loaded, &err) == 0) {
            ak->key = loaded.key;
            loaded.key = NULL;
            tl_akey_done(&loaded);
        }
    }
    free(pub);
    return ak;
}

struct tld_ak *tld_ak_dup(const struct tld_ak *ak)
{
    size_t size = sizeof(*ak) + ak->public_len;
    struct tld_ak *c = malloc(size);
    if (!c)
        return NULL;
    memcpy(c, ak, size);
    if (c->key && EVP_PKEY_up_ref(c->key) != 1)
        c->key = NULL; /* the quote builds its own */
    return c;
}

void tld_ak_free(struct tld_ak *ak)
{
    if (!ak)
        return;
    EVP_PKEY_free(ak->key);
    free(ak);
}

json_t *tld_baseline_json(const struct tld_baseline *b)
{
    if (!b)
        return json_null();
    json_t *bank = json_object();
    for (int i = 0; i < 8; i++) {
        char key[4], h[65];
        if (!(b->mask & (1u << i)))
            continue;
        snprintf(key, sizeof(key), "%d", i);
        tl_hex_encode(b->sha256[i], 32, h);
        json_object_set_new(bank, key, json_string(h));
    }
    return json_pack("{s:o, s:I}", "sha256", bank, "learned", (json_int_t)b->learned);
}

struct tld_baseline *tld_baseline_from_json(const json_t *j)
{
    const json_t *bank = json_object_get(j, "sha256");
    if (!json_is_object(bank))
        return NULL;
    struct tld_baseline *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->learned = json_integer_value(json_object_get(j, "learned"));
    for (int i = 0; i < 8; i++) {
        char key[4];
        snprintf(key, sizeof(key), "%d", i);
        const char *h = json_string_value(json_object_get(bank, key));
        if (h && strlen(h) == 64 && tl_hex_decode(h, 64, b->sha256[i], 32) == 32)
            b->mask |= (uint8_t)(1u << i);
    }
    return b;
}

/* Its Kubernetes labels: trusted-launch and secure-boot, only while its
 * latest verified attestation of this boot passed; a new boot resets it. */
static const char *const label_tl = "kubernetes.azure.com/trusted-launch";
static const char *const label_sb = "kubernetes.azure.com/secure-boot";

void tld_attest_reset(struct tld_node *n)
{
    n->attestation = (struct tld_attested){0};
}

json_t *tld_attest_labels(const struct tld_node *n)
{
    json_t *labels = json_object();
    if (n->attestation.id && n->attestation.pass &&
        (n->state == TLD_RUNNING || n->state == TLD_BOOTING)) {
        json_object_set_new(labels, label_tl, json_string("true"));
        if (n->attestation.secure_boot)
            json_object_set_new(labels, label_sb, json_string("true"));
    }
    return labels;
}
