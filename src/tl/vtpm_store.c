/* A vTPM's files on disk: the state key file, the EK CA directory and the
 * state directory; see vtpm_store.h for the invariants kept. Nothing here
 * runs swtpm or speaks to a TPM. */
#include "vtpm_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tl.h"
#include "tl/util.h"
#include "tlhost/ekca.h"

/* ---- files ---- */

static int rm_below(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag;
    if (ftw->level > 0)
        remove(path);
    return 0;
}

/* Empties a directory, keeping it. */
static void rm_contents(const char *path)
{
    nftw(path, rm_below, 16, FTW_DEPTH | FTW_PHYS);
}

/* Writes a new file (never over an existing one) with mode, synced. */
static int write_new_file(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        tlc_report(path, "cannot create: %s", strerror(errno));
        return -1;
    }
    if (tlc_write_fd(fd, path, data, len) < 0) {
        unlink(path);
        return -1;
    }
    return 0;
}

/* A secret file must be a regular file nobody else can read. */
static int check_private_file(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        tlc_report(path, "cannot open: %s", strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        tlc_report(path, "not a regular file");
        return -1;
    }
    if (st.st_mode & 077) {
        tlc_report(path, "readable by group or others (mode %04o); chmod 600 it",
                   st.st_mode & 07777);
        return -1;
    }
    return 0;
}

/* The absolute form of a path: symlinks resolved as far as the path
 * exists, the rest appended as given ("." and ".." only where it exists). */
static int abs_path(const char *path, char out[PATH_MAX])
{
    if (realpath(path, out))
        return 0;
    if (errno != ENOENT)
        return -errno;
    char copy[PATH_MAX];
    if (snprintf(copy, sizeof(copy), "%s", path) >= (int)sizeof(copy))
        return -ENAMETOOLONG;
    size_t n = strlen(copy);
    while (n > 1 && copy[n - 1] == '/')
        copy[--n] = 0;
    char *slash = strrchr(copy, '/');
    const char *base = slash ? slash + 1 : copy;
    if (strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
        return -ENOENT;
    char parent[PATH_MAX];
    int r = abs_path(slash ? (slash == copy ? "/" : (*slash = 0, copy)) : ".", parent);
    if (r < 0)
        return r;
    if (snprintf(out, PATH_MAX, "%s/%s", strcmp(parent, "/") == 0 ? "" : parent, base) >= PATH_MAX)
        return -ENAMETOOLONG;
    return 0;
}

/* ---- the state key ---- */

/* DIR.key next to DIR unless given; refuses a key inside DIR (the key is
 * held apart from the state it protects). */
int vtpm_key_path(const char *state, const char *given, struct vtpm_key *k)
{
    char abs_state[PATH_MAX], abs_key[PATH_MAX], def[PATH_MAX];
    if (!given) {
        size_t n = strlen(state);
        while (n > 1 && state[n - 1] == '/')
            n--;
        if (snprintf(def, sizeof(def), "%.*s.key", (int)n, state) >= (int)sizeof(def)) {
            tlc_report(state, "path too long");
            return -1;
        }
        given = def;
    }
    int r = abs_path(state, abs_state);
    if (r == 0)
        r = abs_path(given, abs_key);
    if (r < 0) {
        tlc_report(r == -ENAMETOOLONG ? state : given, "cannot resolve: %s", strerror(-r));
        return -1;
    }
    size_t n = strlen(abs_state);
    if (strncmp(abs_key, abs_state, n) == 0 && (abs_key[n] == '/' || abs_key[n] == 0)) {
        tlc_report(given, "the key file must not be inside the state directory %s", state);
        return -1;
    }
    snprintf(k->path, sizeof(k->path), "%s", given);
    return 0;
}

int vtpm_key_load(struct vtpm_key *k)
{
    if (check_private_file(k->path) < 0)
        return -1;
    _cleanup_free_ uint8_t *buf = NULL;
    size_t len;
    if (tlc_read_file(k->path, &buf, &len) < 0)
        return -1;
    if (len != SWTPM_KEY_LEN) {
        OPENSSL_cleanse(buf, len);
        tlc_report(k->path, "a state key is %d bytes, this file has %zu", SWTPM_KEY_LEN, len);
        return -1;
    }
    memcpy(k->key, buf, SWTPM_KEY_LEN);
    OPENSSL_cleanse(buf, len);
    return 0;
}

int vtpm_key_random(uint8_t key[SWTPM_KEY_LEN])
{
    size_t done = 0;
    while (done < SWTPM_KEY_LEN) {
        ssize_t n = getrandom(key + done, SWTPM_KEY_LEN - done, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        done += (size_t)n;
    }
    return 0;
}

/* Loads the key, or makes one when the file does not exist. */
int vtpm_key_load_or_create(struct vtpm_key *k)
{
    if (access(k->path, F_OK) == 0)
        return vtpm_key_load(k);
    if (errno != ENOENT)
        return vtpm_key_load(k); /* reports why */
    if (vtpm_key_random(k->key) < 0) {
        tlc_report(k->path, "no random bytes: %s", strerror(errno));
        return -1;
    }
    if (write_new_file(k->path, k->key, SWTPM_KEY_LEN, 0600) < 0)
        return -1;
    k->created = true;
    return 0;
}

/* ---- the EK CA directory ---- */

/* The folder itself is the host library's (tlhost/ekca.h); tl prints. */
int vtpm_ca_load(const char *dir, struct tl_ekca *ca)
{
    struct tl_error err = {0};
    if (tlh_ekca_load(dir, ca, &err) < 0) {
        fprintf(stderr, "tl: %s\n", err.message);
        return -1;
    }
    return 0;
}

int vtpm_ca_open(const char *dir, struct tl_ekca *ca, bool *created)
{
    struct tl_error err = {0};
    if (tlh_ekca_open(dir, ca, created, &err) < 0) {
        fprintf(stderr, "tl: %s\n", err.message);
        return -1;
    }
    return 0;
}

/* ---- the state directory ---- */

static bool dir_is_empty(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return false;
    struct dirent *e;
    bool empty = true;
    while (empty && (e = readdir(d)))
        empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
    closedir(d);
    return empty;
}

/* A state directory for provisioning: new (*created), or existing and
 * empty (*created false: a failure empties it again but keeps it). */
int vtpm_state_prepare(const char *state, bool *created)
{
    *created = false;
    if (mkdir(state, 0700) == 0) {
        *created = true;
        return 0;
    }
    if (errno != EEXIST) {
        tlc_report(state, "cannot create: %s", strerror(errno));
        return -1;
    }
    struct stat st;
    if (stat(state, &st) < 0 || !S_ISDIR(st.st_mode)) {
        tlc_report(state, "not a directory");
        return -1;
    }
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", state, VTPM_STATE_FILE);
    if (access(path, F_OK) == 0) {
        tlc_report(state, "already holds a vTPM state (%s); not provisioning over it",
                   VTPM_STATE_FILE);
        return -1;
    }
    if (!dir_is_empty(state)) {
        tlc_report(state, "not empty; provisioning needs a new or empty directory");
        return -1;
    }
    return 0;
}

int vtpm_state_require(const char *state)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s/%s", state, VTPM_STATE_FILE) >= (int)sizeof(path)) {
        tlc_report(state, "path too long");
        return -1;
    }
    if (access(path, F_OK) < 0) {
        tlc_report(state, "not a provisioned vTPM state (no %s)", VTPM_STATE_FILE);
        return -1;
    }
    return 0;
}

/* Where an ephemeral state lives: memory-backed when /dev/shm is there. */
int vtpm_state_ephemeral(char out[PATH_MAX])
{
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    snprintf(out, PATH_MAX, "%s/tl-vtpm-state.XXXXXX", base);
    if (!mkdtemp(out)) {
        tlc_report(base, "cannot create an ephemeral state directory: %s", strerror(errno));
        return -1;
    }
    return 0;
}

void vtpm_state_remove(const char *state)
{
    tlc_remove_tree(state);
}

void vtpm_store_rollback(const char *state, bool state_created, bool state_prepared,
                         const struct vtpm_key *key)
{
    if (state_created)
        tlc_remove_tree(state);
    else if (state_prepared)
        rm_contents(state);
    if (key->created)
        unlink(key->path);
}
