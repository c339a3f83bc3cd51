/* An EK CA folder on disk (ekca.h): tl's `vtpm provision --ca` and tld's
 * platform and vouched CAs keep the same four files. Keys are read only
 * from private regular files and cleansed from memory once loaded. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tlhost/ekca.h"
#include "tlhost/file.h"

#define PART_MAX (1u << 20)

static const char *const ca_files[TL_EKCA_N_PARTS] = {
    [TL_EKCA_ROOT_CERT] = "root.pem",
    [TL_EKCA_ROOT_KEY] = "root.key",
    [TL_EKCA_INTERMEDIATE_CERT] = "intermediate.pem",
    [TL_EKCA_INTERMEDIATE_KEY] = "intermediate.key",
};

static bool is_key(int part)
{
    return part == TL_EKCA_ROOT_KEY || part == TL_EKCA_INTERMEDIATE_KEY;
}

static int part_path(const char *dir, int part, char out[PATH_MAX], struct tl_error *err)
{
    if (snprintf(out, PATH_MAX, "%s/%s", dir, ca_files[part]) >= PATH_MAX)
        return tl_error_set_nopos(err, -ENAMETOOLONG, "%s: path too long", dir);
    return 0;
}

/* A key must be a regular file nobody else can read. */
static int check_private_file(const char *path, struct tl_error *err)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return tl_error_set_nopos(err, -errno, "%s: cannot open: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return tl_error_set_nopos(err, -EPERM, "%s: not a regular file", path);
    if (st.st_mode & 077)
        return tl_error_set_nopos(err, -EPERM,
                                  "%s: readable by group or others (mode %04o); chmod 600 it", path,
                                  st.st_mode & 07777);
    return 0;
}

int tlh_ekca_load(const char *dir, struct tl_ekca *ca, struct tl_error *err)
{
    char *part[TL_EKCA_N_PARTS] = {0};
    size_t len[TL_EKCA_N_PARTS] = {0};
    int r = 0;
    for (int i = 0; i < TL_EKCA_N_PARTS && r == 0; i++) {
        char path[PATH_MAX];
        uint8_t *buf = NULL;
        if ((r = part_path(dir, i, path, err)) < 0 ||
            (is_key(i) && (r = check_private_file(path, err)) < 0))
            break;
        r = tlh_file_read(path, PART_MAX, &buf, &len[i], err);
        if (r == -ENOENT)
            tl_error_set_nopos(err, r, "%s: cannot open: %s", path, strerror(ENOENT));
        part[i] = (char *)buf;
    }
    struct tl_error e = {0};
    if (r == 0 && tl_ekca_load_pem(ca, (const char *const *)part, len, &e) < 0)
        r = tl_error_set_nopos(err, -EINVAL, "%s: EK CA: %s", dir, e.message);
    for (int i = 0; i < TL_EKCA_N_PARTS; i++) {
        if (part[i])
            OPENSSL_cleanse(part[i], len[i]);
        free(part[i]);
    }
    return r;
}

/* A new CA in dir (made 0700 if missing): all four files or none. */
static int ca_create(const char *dir, struct tl_ekca *ca, struct tl_error *err)
{
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return tl_error_set_nopos(err, -errno, "%s: cannot create: %s", dir, strerror(errno));
    struct tl_error e = {0};
    if (tl_ekca_create(ca, time(NULL), &e) < 0)
        return tl_error_set_nopos(err, -EIO, "%s: %s", dir, e.message);
    struct tl_ekca_pem pem;
    if (tl_ekca_to_pem(ca, &pem, &e) < 0) {
        tl_ekca_done(ca);
        return tl_error_set_nopos(err, -EIO, "%s: %s", dir, e.message);
    }
    int written = 0, r = 0;
    for (; written < TL_EKCA_N_PARTS && r == 0; written++) {
        char path[PATH_MAX];
        if ((r = part_path(dir, written, path, err)) == 0)
            r = tlh_file_write_new(path, pem.part[written], pem.len[written],
                                   is_key(written) ? 0600 : 0644, err);
    }
    if (r < 0) {
        for (int i = 0; i < written - 1; i++) {
            char path[PATH_MAX];
            if (part_path(dir, i, path, NULL) == 0)
                unlink(path);
        }
        tl_ekca_done(ca);
    }
    tl_ekca_pem_done(&pem);
    return r;
}

int tlh_ekca_open(const char *dir, struct tl_ekca *ca, bool *created, struct tl_error *err)
{
    int present = 0;
    const char *missing = NULL;
    *created = false;
    for (int i = 0; i < TL_EKCA_N_PARTS; i++) {
        char path[PATH_MAX];
        int r = part_path(dir, i, path, err);
        if (r < 0)
            return r;
        if (access(path, F_OK) == 0)
            present++;
        else
            missing = ca_files[i];
    }
    if (present == 0) {
        int r = ca_create(dir, ca, err);
        *created = r == 0;
        return r;
    }
    if (present < TL_EKCA_N_PARTS)
        return tl_error_set_nopos(
            err, -ENOENT, "%s: incomplete EK CA (%s missing); not creating a new one over it", dir,
            missing);
    return tlh_ekca_load(dir, ca, err);
}
