/* libFuzzer target: a label selector (kubectl -l) through
 * lib/k8s/selector.c. The input is the selector text (cut at the first
 * NUL). Any text must give 0 with requirements whose keys and values are
 * labels, or -EINVAL with a NUL-terminated message and nothing allocated;
 * matching must not read outside the labels given.
 *   build-fuzz/tests/fuzz/fuzz_selector CORPUS */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tl/k8s.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct tl_selector s;
    struct tl_error err = {0};
    int r = tl_selector_parse(text, &s, &err);
    if (r < 0) {
        if (r != -EINVAL || s.reqs || s.n || !memchr(err.message, '\0', sizeof(err.message)))
            __builtin_trap();
        free(text);
        return 0;
    }
    for (size_t i = 0; i < s.n; i++) {
        if (!tl_label_key_valid(s.reqs[i].key))
            __builtin_trap();
        for (size_t j = 0; j < s.reqs[i].n_values; j++)
            if (!tl_label_value_valid(s.reqs[i].values[j]))
                __builtin_trap();
    }
    static const struct tl_label labels[] = {{"a", "1"}, {"b", ""}, {"x.io/y", "z"}};
    (void)tl_selector_matches(&s, labels, 3);
    (void)tl_selector_matches(&s, NULL, 0);
    tl_selector_free(&s);
    free(text);
    return 0;
}
