/* The fleet page's static files, compiled in (ui/embed.py makes the table
 * from src/tld/ui/ at build time; ui.c serves it). */
#pragma once

#include <stddef.h>

struct tld_ui_asset {
    const char *path; /* "/ui/index.html" */
    const char *type; /* its Content-Type */
    const unsigned char *data;
    size_t len;
};

/* ends with an entry whose path is NULL */
extern const struct tld_ui_asset tld_ui_assets[];
