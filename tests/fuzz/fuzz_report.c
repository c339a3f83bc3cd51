/* libFuzzer target: what a node's agent posts to tld (src/tld/report.c,
 * tld_report_accept), a body the guest controls entirely: JSON, base64
 * event log, PCR values, EK certificates. Any bytes must give a status
 * (0 accepted, 400 refused) and, when accepted, a summary that says
 * whether the report is consistent; never a crash or a leak. The store and
 * the log are stubbed: this is the parser and the checks alone. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <openssl/sha.h>

#include "tld.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

void tld_log(const char *fmt, ...)
{
    (void)fmt;
}
long long tld_now(void)
{
    return 1;
}
/* node.c's, which this target does not link: the EK records are JSON text */
json_t *tld_node_ek(const struct tld_node *n)
{
    return n->ek ? json_loads(n->ek, 0, NULL) : NULL;
}
const char *tld_state_name(enum tld_state s)
{
    return s == TLD_RUNNING ? "running" : "booting";
}
/* auth.c's, which this target does not link */
bool tld_bearer_hash(const char *authz, uint8_t out[32])
{
    if (!authz || strncmp(authz, "Bearer ", 7) != 0)
        return false;
    SHA256((const unsigned char *)authz + 7, strlen(authz + 7), out);
    return true;
}
int tld_store_save(struct tld *t, const struct tld_node *n)
{
    (void)t;
    (void)n;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct tld t;
    struct tld_node n = {.state = TLD_BOOTING,
                         .spec = {.secure_boot = true, .vtpm = true, .generation = 2}};
    strcpy(n.name, "n1");
    SHA256((const unsigned char *)"n1.00112233", 11, n.token_sha256);
    char ek[] = "[{\"type\": \"rsa2048\", \"certificate\": {\"sha256\": "
                "\"0000000000000000000000000000000000000000000000000000000000000000\"}}]";
    n.ek = ek;
    struct tl_error err = {0};
    char *msg = err.message;
    struct tld_report_pre pre;
    int status = tld_report_prepare((const char *)data, size, &pre, &err);
    if (status == 0)
        status = tld_report_accept(&t, &n, "Bearer n1.00112233", &pre, &err);
    tld_report_pre_done(&pre);
    if (status == 0) {
        if (n.state != TLD_RUNNING || !json_is_boolean(json_object_get(n.report, "consistent")))
            __builtin_trap();
        json_t *pcrs = json_object_get(n.report, "pcrs");
        if (pcrs)
            json_decref(tld_report_compare_host(&n, pcrs));
    } else if (status > 0 || !memchr(msg, 0, sizeof(err.message)) || !msg[0]) {
        __builtin_trap();
    }
    json_decref(n.report);
    json_decref(n.diag);
    return 0;
}
