/* Image manifests (docs/image.md), read once per image and kept: the
 * attestation policy (policy.c) is predicted from them on every
 * attestation, which must not read a file each time, nor under tld.lock.
 *
 * tld_manifest_get is called without tld.lock (api.c, before an
 * attestation's finish): it opens the manifest like any store file
 * (hostpath.c: no symlink, a regular file, capped), and returns the kept
 * JSON while the file is the same one (device, inode, size, mtime), else
 * reads it again. The cache has its own mutex, held for memory only. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tld.h"

struct tld_manifest_entry {
    char image[PATH_MAX];
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    json_t *doc;
};

void tld_manifests_init(struct tld *t)
{
    pthread_mutex_init(&t->manifests.lock, NULL);
}

void tld_manifests_free(struct tld *t)
{
    for (size_t i = 0; i < t->manifests.n; i++) {
        json_decref(t->manifests.entries[i]->doc);
        free(t->manifests.entries[i]);
    }
    free(t->manifests.entries);
    t->manifests.entries = NULL;
    t->manifests.n = 0;
}

static bool same_file(const struct tld_manifest_entry *e, const struct stat *st)
{
    return e->dev == st->st_dev && e->ino == st->st_ino && e->size == st->st_size &&
           e->mtime.tv_sec == st->st_mtim.tv_sec && e->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

json_t *tld_manifest_get(struct tld *t, const char *image, char *msg, size_t msz)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/manifest.json", image);
    int fd;
    if (tld_hostpath_open(t, path, TLD_MANIFEST_MAX, &fd, NULL, msg, msz))
        return NULL;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        close(fd);
        snprintf(msg, msz, "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct tld_manifests *c = &t->manifests;
    json_t *doc = NULL;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->entries[i]->image, image) == 0 && same_file(c->entries[i], &st))
            doc = json_incref(c->entries[i]->doc);
    pthread_mutex_unlock(&c->lock);
    if (doc) {
        close(fd);
        return doc;
    }
    json_error_t jerr;
    doc = json_loadfd(fd, JSON_REJECT_DUPLICATES, &jerr);
    close(fd);
    if (!json_is_object(doc)) {
        json_decref(doc);
        snprintf(msg, msz, "%s: %s", path, jerr.text[0] ? jerr.text : "not a JSON object");
        return NULL;
    }
    struct tld_manifest_entry *e = calloc(1, sizeof(*e));
    if (!e)
        return doc; /* uncached: still the right answer */
    snprintf(e->image, sizeof(e->image), "%s", image);
    e->dev = st.st_dev, e->ino = st.st_ino, e->size = st.st_size, e->mtime = st.st_mtim;
    e->doc = json_incref(doc);
    pthread_mutex_lock(&c->lock);
    size_t i = 0;
    while (i < c->n && strcmp(c->entries[i]->image, image) != 0)
        i++;
    if (i < c->n) { /* the image's file changed: the new one replaces it */
        json_decref(c->entries[i]->doc);
        free(c->entries[i]);
        c->entries[i] = e;
    } else {
        struct tld_manifest_entry **ne = realloc(c->entries, (c->n + 1) * sizeof(*ne));
        if (ne) {
            c->entries = ne;
            c->entries[c->n++] = e;
        } else {
            json_decref(e->doc);
            free(e);
        }
    }
    pthread_mutex_unlock(&c->lock);
    return doc;
}
