/* A stored row as the document callers get: the JSON text an engine read
 * (store_sqlite.c, store_pg.c), with the row's id and, for an alert, its
 * acknowledged flag. A leaf of its own so that the engines need nothing
 * of store.c, which opens them. */
#include "store.h"

json_t *tld_store_row(const char *text, long long id, int acked)
{
    json_t *doc = text ? json_loads(text, 0, NULL) : NULL;
    if (!doc)
        return NULL;
    json_object_set_new(doc, "id", json_integer(id));
    if (acked >= 0)
        json_object_set_new(doc, "acknowledged", json_boolean(acked));
    return doc;
}
