/* Boot diagnostics of a node: its console scanned by libtl's bootdiag
 * (how far the boot got, which component stopped it, the line), and, for a
 * Secure Boot refusal, the Secure Boot engine's own verdict on the node's
 * image and variable store (libtl's image check, as `tl image check`
 * makes it, through the host library), which names the component
 * and says why (a digest that does not match its signature, a signer no db
 * entry trusts, a dbx entry).
 *
 * The console is the guest's: the diagnosis is for people, never for a
 * security decision (the agent's report and, later, attestation are). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tl/bootdiag.h"
#include "tl/imagecheck.h"
#include "tld.h"
#include "tlhost/image.h"

#define CONSOLE_SCAN_MAX (8u << 20)

static uint8_t *read_console(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    uint8_t *buf = malloc(CONSOLE_SCAN_MAX);
    ssize_t k = buf ? pread(fd, buf, CONSOLE_SCAN_MAX, 0) : -1;
    close(fd);
    if (k < 0) {
        free(buf);
        return NULL;
    }
    *len = (size_t)k;
    return buf;
}

/* The Secure Boot engine's verdict on the node's image and variable store,
 * as `tl image check IMAGE --vars VARS --json` prints it (tlhost/image.h). */
static json_t *engine_check(struct tld *t, struct tld_node *n)
{
    char vars[PATH_MAX], disk[PATH_MAX];
    if (n->spec.generation != 2 || tld_node_path(t, n, "vars.fd", vars, sizeof(vars)) < 0)
        return NULL;
    snprintf(disk, sizeof(disk), "%s/disk.raw", n->spec.image);
    struct tl_image_verdict *v = calloc(1, sizeof(*v));
    struct tl_error err = {0};
    json_t *out = NULL;
    if (v && tlh_image_check(n->spec.image, NULL, vars, time(NULL), v, &err) == 0)
        out = tl_image_verdict_json(v, n->spec.image, disk, vars);
    else
        tld_log("node %s: image check: %s", n->name, v ? err.message : "out of memory");
    free(v);
    return out;
}

json_t *tld_diagnosis(struct tld *t, struct tld_node *n, const json_t *old)
{
    char path[PATH_MAX];
    if (tld_node_path(t, n, "console.log", path, sizeof(path)) < 0)
        return json_incref((json_t *)old);
    size_t len = 0;
    uint8_t *buf = read_console(path, &len);
    struct tl_bootdiag d;
    tl_bootdiag_scan(buf, buf ? len : 0, &d);
    free(buf);
    enum tl_bootdiag_diagnosis dx = tl_bootdiag_diagnose(&d);
    const char *verdict = tl_bootdiag_diagnosis_name(dx);
    json_t *engine = json_object_get(old, "engine");
    json_t *diag = json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s?}", "verdict", verdict, "phase",
                             tl_bootdiag_phase_name(d.phase), "console_verdict",
                             tl_bootdiag_verdict_name(d.verdict), "component",
                             d.component[0] ? d.component : NULL, "reason",
                             d.reason[0] ? d.reason : NULL, "line", d.has_line ? d.line : NULL);
    if (engine) {
        json_object_set(diag, "engine", engine);
    } else if (dx == TL_BOOTDIAG_DX_SECURE_BOOT_VIOLATION) {
        engine = engine_check(t, n);
        if (engine)
            json_object_set_new(diag, "engine", engine);
    }
    if (engine) {
        /* the engine names the component from the image and the keys; the
         * console's guess stands only when the engine found nothing */
        const char *failed = json_string_value(json_object_get(engine, "failed"));
        const char *why = json_string_value(json_object_get(engine, "reason"));
        if (failed)
            json_object_set_new(diag, "component", json_string(failed));
        if (why)
            json_object_set_new(diag, "detail", json_string(why));
    }
    return diag;
}

void tld_diagnose(struct tld *t, struct tld_node *n)
{
    json_t *diag = tld_diagnosis(t, n, n->diag);
    json_decref(n->diag);
    n->diag = diag;
}
