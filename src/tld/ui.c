/* GET /ui/...: the fleet integrity page (docs/api.md, "Fleet page"). Static
 * HTML, CSS and JS compiled into tld (ui/embed.py, at build time); the page
 * holds no data: its script fetches the reader routes (/v1/nodes,
 * /v1/alerts, ...) with the reader's token as "Authorization: Bearer", so
 * these files are public and every byte of fleet data stays behind the
 * routes' own roles. Served with a Content-Security-Policy that admits only
 * this origin's files (no inline script, no CDN) and nosniff. */
#include <stdint.h>
#include <string.h>

#include "api.h"
#include "ui.h"

#define UI_CSP                                                                                     \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "                    \
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

static const struct tld_ui_asset *ui_find(const char *url)
{
    if (strcmp(url, "/ui") == 0 || strcmp(url, "/ui/") == 0)
        url = "/ui/index.html";
    for (const struct tld_ui_asset *a = tld_ui_assets; a->path; a++)
        if (strcmp(a->path, url) == 0)
            return a;
    return NULL;
}

static enum MHD_Result ui_send(struct MHD_Connection *c, const struct tld_ui_asset *a)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(a->len, (void *)(uintptr_t)a->data, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", a->type);
    MHD_add_response_header(r, "Content-Security-Policy", UI_CSP);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Cache-Control", "no-cache");
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
}

enum MHD_Result api_ui(struct call *k)
{
    const struct tld_ui_asset *a = ui_find(k->url);
    if (!a)
        return api_send_error(k->c, 404, "no such file of the fleet page");
    return ui_send(k->c, a);
}
