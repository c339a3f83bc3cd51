/* The GCP Shielded VM attestation vector, decoded (see gcp.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "gcp.h"
#include "tl/digest.h"
#include "vectors.h"

static struct buf b64(json_t *v)
{
    const char *s = json_string_value(v);
    assert_non_null(s);
    size_t n = strlen(s);
    struct buf b = {.p = malloc(n / 4 * 3 + 1)};
    assert_non_null(b.p);
    int r = EVP_DecodeBlock(b.p, (const unsigned char *)s, (int)n);
    assert_true(r >= 0);
    b.len = (size_t)r;
    while (n > 0 && s[n - 1] == '=') { /* DecodeBlock counts padding as zeros */
        n--;
        b.len--;
    }
    return b;
}

void gcp_load(struct gcp_attestation *g)
{
    *g = (struct gcp_attestation){0};
    json_error_t je;
    json_t *j = json_load_file(vector_path(GCP), 0, &je);
    assert_non_null(j);
    g->ak = b64(json_object_get(json_object_get(j, "AK"), "Public"));
    g->create_attest = b64(json_object_get(json_object_get(j, "AK"), "CreateAttestation"));
    g->quote = b64(json_object_get(json_object_get(j, "Quote"), "Quote"));
    g->sig = b64(json_object_get(json_object_get(j, "Quote"), "Signature"));
    g->log = b64(json_object_get(json_object_get(j, "Log"), "Raw"));
    json_t *pcrs = json_object_get(json_object_get(j, "Log"), "PCRs");
    g->pcrs.n_banks = 1;
    struct tl_pcr_bank *bank = &g->pcrs.banks[0];
    bank->alg = TL_ALG_SHA1;
    bank->size = 20;
    size_t i;
    json_t *pcr;
    json_array_foreach(pcrs, i, pcr)
    {
        int index = (int)json_integer_value(json_object_get(pcr, "Index"));
        struct buf d = b64(json_object_get(pcr, "Digest"));
        assert_int_equal(d.len, 20);
        assert_int_equal(json_integer_value(json_object_get(pcr, "DigestAlg")), 3); /* SHA1 */
        memcpy(bank->value[index], d.p, 20);
        bank->mask |= 1u << index;
        free(d.p);
    }
    assert_int_equal(bank->mask, 0xffffff);
    json_decref(j);
}

void gcp_free(struct gcp_attestation *g)
{
    free(g->ak.p);
    free(g->create_attest.p);
    free(g->quote.p);
    free(g->sig.p);
    free(g->log.p);
    *g = (struct gcp_attestation){0};
}
