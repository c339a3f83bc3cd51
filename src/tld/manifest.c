/* Image manifests (docs/image.md), read once per image and kept: the
 * attestation policy (policy.c) is predicted from them on every
 * attestation, which must not read a file each time, nor under tld.lock.
 *
 * tld_manifest_get is called without tld.lock (api.c, before an
 * attestation's finish): it opens the manifest like any store file
 * (hostpath.c: no symlink, a regular file, capped), and returns the kept
 * JSON while the file is the same one (device, inode, size, mtime), else
 * reads it again. What is kept is the parsed manifest (libtl's
 * tl_manifest_parse, once per file), shared by reference count: an
 * attestation holds its reference while it evaluates, even if the file
 * changes meanwhile. The cache has its own mutex, held for memory only. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tl/manifest.h"
#include "tld.h"

struct tld_manifest {
    int refs; /* atomic */
    struct tl_manifest parsed;
};

const struct tl_manifest *tld_manifest_parsed(const struct tld_manifest *m)
{
    return &m->parsed;
}

static struct tld_manifest *manifest_ref(struct tld_manifest *m)
{
    __atomic_add_fetch(&m->refs, 1, __ATOMIC_RELAXED);
    return m;
}

void tld_manifest_unref(struct tld_manifest *m)
{
    if (m && __atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        tl_manifest_done(&m->parsed);
        free(m);
    }
}

struct tld_manifest_entry {
    char image[PATH_MAX];
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    struct tld_manifest *doc;
};

void tld_manifests_init(struct tld *t)
{
    pthread_mutex_init(&t->manifests.lock, NULL);
}

void tld_manifests_free(struct tld *t)
{
    for (size_t i = 0; i < t->manifests.n; i++) {
        tld_manifest_unref(t->manifests.entries[i]->doc);
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

/* The file's bytes (at most TLD_MANIFEST_MAX: hostpath.c checked the size)
 * parsed; NULL with msg set. */
static struct tld_manifest *manifest_read(int fd, const struct stat *st, const char *path,
                                          char *msg, size_t msz)
{
    size_t cap = (size_t)st->st_size + 1, len = 0;
    uint8_t *buf = malloc(cap);
    ssize_t k = 0;
    while (buf && len < cap && (k = read(fd, buf + len, cap - len)) > 0)
        len += (size_t)k;
    if (!buf || k < 0 || len == cap) {
        snprintf(msg, msz, "%s: %s", path,
                 !buf    ? "out of memory"
                 : k < 0 ? strerror(errno)
                         : "changed while read");
        free(buf);
        return NULL;
    }
    struct tld_manifest *m = calloc(1, sizeof(*m));
    struct tl_error err = {0};
    int r = m ? tl_manifest_parse(buf, len, &m->parsed, &err) : -ENOMEM;
    free(buf);
    if (r < 0) {
        snprintf(msg, msz, "%s: %s", path, m ? err.message : "out of memory");
        free(m);
        return NULL;
    }
    m->refs = 1;
    return m;
}

struct tld_manifest *tld_manifest_get(struct tld *t, const char *image, char *msg, size_t msz)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/manifest.json", image);
    int fd;
    struct tl_error err = {0};
    if (tld_hostpath_open(t, path, TLD_MANIFEST_MAX, &fd, NULL, &err)) {
        snprintf(msg, msz, "%s", err.message);
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        close(fd);
        snprintf(msg, msz, "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct tld_manifests *c = &t->manifests;
    struct tld_manifest *doc = NULL;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->entries[i]->image, image) == 0 && same_file(c->entries[i], &st))
            doc = manifest_ref(c->entries[i]->doc);
    pthread_mutex_unlock(&c->lock);
    if (doc) {
        close(fd);
        return doc;
    }
    doc = manifest_read(fd, &st, path, msg, msz);
    close(fd);
    if (!doc)
        return NULL;
    struct tld_manifest_entry *e = calloc(1, sizeof(*e));
    if (!e)
        return doc; /* uncached: still the right answer */
    snprintf(e->image, sizeof(e->image), "%s", image);
    e->dev = st.st_dev, e->ino = st.st_ino, e->size = st.st_size, e->mtime = st.st_mtim;
    e->doc = manifest_ref(doc);
    pthread_mutex_lock(&c->lock);
    size_t i = 0;
    while (i < c->n && strcmp(c->entries[i]->image, image) != 0)
        i++;
    if (i < c->n) { /* the image's file changed: the new one replaces it */
        tld_manifest_unref(c->entries[i]->doc);
        free(c->entries[i]);
        c->entries[i] = e;
    } else {
        struct tld_manifest_entry **ne = realloc(c->entries, (c->n + 1) * sizeof(*ne));
        if (ne) {
            c->entries = ne;
            c->entries[c->n++] = e;
        } else {
            tld_manifest_unref(e->doc);
            free(e);
        }
    }
    pthread_mutex_unlock(&c->lock);
    return doc;
}
