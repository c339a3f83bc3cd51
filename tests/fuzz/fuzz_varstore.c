/* libFuzzer target for OVMF/EDK2 variable stores (lib/efi/varstore.c):
 * EFI_FIRMWARE_VOLUME_HEADER (PI 1.8 vol. 3, 3.2.1), VARIABLE_STORE_HEADER
 * and (AUTHENTICATED_)VARIABLE_HEADER records (EDK2 MdeModulePkg/Include/
 * Guid/VariableFormat.h).
 *
 * Each input is parsed twice: as it is, and with the firmware volume
 * header's checksum recomputed, so that mutations get past the checksum and
 * reach the store and variable walker. For every store that parses it
 * checks what must hold, and traps otherwise:
 *   - every variable points inside the store, tl_varstore_find finds it;
 *   - writing it back unchanged succeeds (compaction never grows a store),
 *     the result parses to the same variables, and writing that again gives
 *     the same bytes;
 *   - removing the first variable and setting a small one either succeeds
 *     and parses back with the new variable last, or fails with -ENOSPC.
 *
 * Seeds: /usr/share/OVMF/OVMF_VARS*.fd (Debian package ovmf) and small
 * synthetic stores.
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude \
 *     tests/fuzz/fuzz_varstore.c <libtl sources or libtl.a> -lcrypto -ljansson */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tl/efi.h"
#include "tl/util.h"
#include "tl/varstore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same_var(const struct tl_varstore_var *a, const struct tl_varstore_var *b)
{
    return tl_guid_equal(&a->vendor, &b->vendor) && a->name_len == b->name_len &&
           memcmp(a->name_utf16, b->name_utf16, 2 * a->name_len) == 0 &&
           a->attributes == b->attributes && a->monotonic_count == b->monotonic_count &&
           memcmp(a->timestamp, b->timestamp, 16) == 0 && a->pubkey_index == b->pubkey_index &&
           a->data_len == b->data_len && memcmp(a->data, b->data, a->data_len) == 0;
}

/* The variable's name as ASCII, when it is (for tl_varstore_find). */
static char *ascii_name(const struct tl_varstore_var *v)
{
    char *s = malloc(v->name_len + 1);
    if (!s)
        return NULL;
    for (size_t i = 0; i < v->name_len; i++) {
        uint16_t u = tl_le16(v->name_utf16 + 2 * i);
        if (u < 0x20 || u > 0x7e) {
            free(s);
            return NULL;
        }
        s[i] = (char)u;
    }
    s[v->name_len] = 0;
    return s;
}

static void check_store(const struct tl_varstore *vs)
{
    const uint8_t *start = vs->buf + vs->store_offset;
    const uint8_t *end = start + vs->store_size;
    if (vs->store_offset + vs->store_size > vs->len)
        __builtin_trap();
    for (size_t i = 0; i < vs->n_vars; i++) {
        const struct tl_varstore_var *v = &vs->vars[i];
        if (v->name_utf16 < start || v->data < v->name_utf16 || v->data > end ||
            v->data_len > (size_t)(end - v->data))
            __builtin_trap();
        char *name = ascii_name(v);
        if (name && tl_varstore_find(vs, name, &v->vendor) != v)
            __builtin_trap(); /* duplicates are rejected, so it is this one */
        free(name);
    }
}

static void round_trip(const struct tl_varstore *vs)
{
    struct tl_error err = {0};
    uint8_t *out = NULL, *out2 = NULL;
    size_t out_len = 0, out2_len = 0;
    if (tl_varstore_write(vs, NULL, 0, &out, &out_len, &err) < 0)
        __builtin_trap();
    struct tl_varstore vs2;
    if (out_len != vs->len || tl_varstore_parse(out, out_len, &vs2, &err) < 0)
        __builtin_trap();
    if (vs2.n_vars != vs->n_vars)
        __builtin_trap();
    for (size_t i = 0; i < vs->n_vars; i++)
        if (!same_var(&vs->vars[i], &vs2.vars[i]))
            __builtin_trap();
    if (tl_varstore_write(&vs2, NULL, 0, &out2, &out2_len, &err) < 0 || out2_len != out_len ||
        memcmp(out, out2, out_len) != 0)
        __builtin_trap();
    free(out2);
    tl_varstore_done(&vs2);
    free(out);
}

static void change(const struct tl_varstore *vs)
{
    static const uint8_t payload[] = {0x01, 0x02, 0x03, 0x04, 0x05};
    struct tl_varstore_change c[2] = {
        {.name = "TlFuzz",
         .vendor = TL_EFI_GLOBAL_VARIABLE_GUID,
         .attributes = 0x07,
         .data = payload,
         .data_len = sizeof(payload)},
    };
    size_t n = 1;
    char *first = vs->n_vars ? ascii_name(&vs->vars[0]) : NULL;
    if (first && strcmp(first, "TlFuzz") != 0)
        c[n++] = (struct tl_varstore_change){.name = first, .vendor = vs->vars[0].vendor};

    struct tl_error err = {0};
    uint8_t *out = NULL;
    size_t out_len = 0;
    int r = tl_varstore_write(vs, c, n, &out, &out_len, &err);
    if (r == -ENOSPC && !out)
        goto done;
    if (r < 0)
        __builtin_trap();
    struct tl_varstore vs2;
    if (tl_varstore_parse(out, out_len, &vs2, &err) < 0 || vs2.n_vars == 0)
        __builtin_trap();
    const struct tl_varstore_var *v = tl_varstore_find(&vs2, "TlFuzz", &c[0].vendor);
    if (v != &vs2.vars[vs2.n_vars - 1] || v->data_len != sizeof(payload))
        __builtin_trap();
    if (n == 2 && tl_varstore_find(&vs2, first, &c[1].vendor))
        __builtin_trap();
    tl_varstore_done(&vs2);
    free(out);
done:
    free(first);
}

static void one(const uint8_t *buf, size_t size)
{
    struct tl_varstore vs;
    struct tl_error err = {0};
    if (tl_varstore_parse(buf, size, &vs, &err) < 0) {
        if (vs.vars || vs.n_vars)
            __builtin_trap();
        return;
    }
    check_store(&vs);
    round_trip(&vs);
    change(&vs);
    tl_varstore_done(&vs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    one(buf, size);

    /* Recompute the FV checksum (PI vol. 3, 3.2.1) over HeaderLength. */
    if (size >= 56) {
        size_t hlen = tl_le16(buf + 48);
        if (hlen >= 56 && hlen % 2 == 0 && hlen <= size) {
            buf[50] = buf[51] = 0;
            uint16_t sum = 0;
            for (size_t i = 0; i < hlen; i += 2)
                sum = (uint16_t)(sum + tl_le16(buf + i));
            sum = (uint16_t)(0x10000 - sum);
            buf[50] = (uint8_t)sum;
            buf[51] = (uint8_t)(sum >> 8);
            one(buf, size);
        }
    }
    free(buf);
    return 0;
}
