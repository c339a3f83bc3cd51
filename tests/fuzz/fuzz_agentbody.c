/* Differential fuzzing of tld's fast agent-body parser (src/tld/agentbody.c):
 * for every input it must give exactly what jansson gives for the whole
 * body (json_loadb with JSON_REJECT_DUPLICATES, an object or nothing). A
 * difference aborts. Seeds: a real attest body shape and the vectors'
 * event logs in base64 (run.sh). */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

#include "tld.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    json_t *want = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (!size) { /* an empty body is an empty object (no body at all) */
        json_decref(want);
        want = json_object();
    }
    if (!json_is_object(want)) {
        json_decref(want);
        want = NULL;
    }
    json_t *got = tld_agent_body_parse((const char *)data, size);
    if ((want == NULL) != (got == NULL) || (want && !json_equal(want, got)))
        abort();
    json_decref(want);
    json_decref(got);
    return 0;
}
