/* libFuzzer target: an image's manifest.json through lib/attest/manifest.c
 * (tl_manifest_parse). tld parses the manifest of whatever image folder a
 * node names, so any bytes must give a manifest or an error, never a
 * crash. The harness checks what the API promises: on error the manifest
 * is empty and the message set; on success the counts are within the
 * bound and every component is found again by its name.
 *
 * Seeds: manifests like the image build's (tests/fuzz/run.sh writes them). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tl/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tl_manifest m;
    struct tl_error err = {0};
    if (tl_manifest_parse(data, size, &m, &err) < 0) {
        if (m.n_components || m.n_grub_events || m.format || !err.message[0])
            __builtin_trap();
        return 0;
    }
    if (m.n_components > TL_MANIFEST_MAX_ENTRIES || m.n_grub_events > TL_MANIFEST_MAX_ENTRIES ||
        (m.n_components && !m.has_components))
        __builtin_trap();
    for (size_t i = 0; i < m.n_components; i++) {
        const struct tl_manifest_component *c = &m.components[i];
        if (c->name) {
            const struct tl_manifest_component *found = tl_manifest_component(&m, c->name);
            if (!found || strcmp(found->name, c->name) != 0)
                __builtin_trap();
        }
        if (!c->is_object && (c->kind || c->name || c->path || c->sha256))
            __builtin_trap();
    }
    tl_manifest_done(&m);
    return 0;
}
