/* tl's client of tld: see client.h. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"
#include "tl.h"
#include "tlhost/http.h"
#include "tlhost/proc.h"

#define BODY_MAX (64u << 20)

int tlc_client_home(char *out, size_t size)
{
    const char *h = getenv("TL_HOME");
    if (h && *h)
        return snprintf(out, size, "%s", h) < (int)size ? 0 : -1;
    const char *home = getenv("HOME");
    if (!home || !*home)
        return -1;
    return snprintf(out, size, "%s/.local/share/trustlaunch", home) < (int)size ? 0 : -1;
}

int tlc_mkdir_p(const char *path)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, 0700) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

/* HOME/tld.addr: "URL PID" (tld's main.c); *pid 0 when not given. */
static bool read_addr(struct tlc_client *c, long *pid)
{
    *pid = 0;
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/tld.addr", c->home);
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    char line[256];
    bool ok = fgets(line, sizeof(line), f) && sscanf(line, "%127s %ld", c->base, pid) >= 1 &&
              strncmp(c->base, "http://", 7) == 0;
    fclose(f);
    return ok;
}

/* The credential: $TL_TOKEN, else HOME/operator.token (tld makes it at its
 * first start; unreadable for anyone but the home's owner). */
static void read_token(struct tlc_client *c)
{
    const char *env = getenv("TL_TOKEN");
    char tok[130] = "";
    if (env && *env) {
        snprintf(tok, sizeof(tok), "%s", env);
    } else {
        char path[PATH_MAX + 32];
        snprintf(path, sizeof(path), "%s/operator.token", c->home);
        int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0) {
            ssize_t k = read(fd, tok, sizeof(tok) - 1);
            tok[k > 0 ? k : 0] = 0;
            close(fd);
        }
    }
    tok[strcspn(tok, "\r\n")] = 0;
    snprintf(c->token, sizeof(c->token), "%s", tok);
}

static bool healthy(struct tlc_client *c, long timeout_ms)
{
    char url[256];
    snprintf(url, sizeof(url), "%s/v1/health", c->base);
    read_token(c);
    struct tlh_http_request rq = {.method = "GET",
                                  .url = url,
                                  .bearer = c->token,
                                  .timeout_ms = timeout_ms,
                                  .body_max = BODY_MAX};
    struct tlh_http_response rs = {0};
    bool ok = tlh_http_send(&rq, &rs, NULL) == 0 && rs.status == 200 && !rs.truncated;
    if (ok) {
        json_t *out = rs.body ? json_loads(rs.body, 0, NULL) : NULL;
        const char *home = json_string_value(json_object_get(out, "home"));
        ok = home && strcmp(home, c->home) == 0;
        json_decref(out);
    }
    tlh_http_response_done(&rs);
    return ok;
}

static int find_tld(char *out, size_t size)
{
    const char *env = getenv("TL_TLD");
    if (env && *env)
        return snprintf(out, size, "%s", env) < (int)size ? 0 : -1;
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n < 0)
        return -1;
    self[n] = 0;
    char *slash = strrchr(self, '/');
    if (!slash)
        return -1;
    *slash = 0;
    const char *cands[] = {"%s/tld", "%s/../tld/tld"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(out, size, cands[i], self);
        if (access(out, X_OK) == 0)
            return 0;
    }
    return -1;
}

/* Runs `tld --home HOME --daemon`, which returns once it serves; its one
 * error line, if any, becomes ours. */
static int start_tld(struct tlc_client *c, const char *what, struct tl_error *err)
{
    char tld[PATH_MAX];
    if (find_tld(tld, sizeof(tld)) < 0)
        return tl_error_set_nopos(
            err, -ENOENT, "%s: tld is not running and was not found beside tl (set TL_TLD)", what);
    const char *argv[] = {tld, "--home", c->home, "--daemon", NULL};
    struct tlh_run_options o = {.argv = argv};
    struct tlh_run_result res;
    struct tl_error run_err = {0};
    int r = tlh_run(&o, &res, &run_err);
    if (r < 0) {
        if (res.err)
            res.err[strcspn(res.err, "\n")] = 0;
        r = tl_error_set_nopos(err, r, "%s: cannot start tld: %s", what,
                               res.err && res.err[0] ? res.err : run_err.message);
        tlh_run_result_done(&res);
        return r;
    }
    tlh_run_result_done(&res);
    return 0;
}

/* A tld serves c's home at the address in HOME/tld.addr. */
static bool serving(struct tlc_client *c)
{
    long pid;
    if (!read_addr(c, &pid))
        return false;
    if (healthy(c, 3000))
        return true;
    /* tld's process lives but did not answer in 3 s (a host loaded with
     * TCG vCPUs): wait for it, as starting a second one can only fail
     * on the data directory's lock (CI's confidential.sh met that) */
    return pid > 0 && kill((pid_t)pid, 0) == 0 && healthy(c, 60000);
}

/* c zeroed, its home set, libcurl ready. */
static int client_init(struct tlc_client *c, const char *what, struct tl_error *err)
{
    memset(c, 0, sizeof(*c));
    if (tlc_client_home(c->home, sizeof(c->home)) < 0)
        return tl_error_set_nopos(err, -ENOENT, "%s: no data directory: set TL_HOME or HOME", what);
    tlh_http_global_init();
    return 0;
}

int tlc_client_find(struct tlc_client *c, const char *what, struct tl_error *err)
{
    int r = client_init(c, what, err);
    if (r < 0)
        return r;
    if (serving(c))
        return 0;
    return tl_error_set_nopos(err, -ECONNREFUSED, "%s: no tld serves %s", what, c->home);
}

int tlc_client_open(struct tlc_client *c, const char *what, struct tl_error *err)
{
    int r = client_init(c, what, err);
    if (r < 0)
        return r;
    if (serving(c))
        return 0;
    long pid;
    r = tlc_mkdir_p(c->home);
    if (r < 0 || access(c->home, W_OK) < 0) {
        r = r < 0 ? r : -errno;
        return tl_error_set_nopos(err, r, "%s: data directory not writable: %s", c->home,
                                  strerror(-r));
    }
    r = start_tld(c, what, err);
    if (r < 0)
        return r;
    if (read_addr(c, &pid) && healthy(c, 30000)) /* it said it serves */
        return 0;
    return tl_error_set_nopos(
        err, -ECONNREFUSED, "%s: tld started but does not answer (see %s/tld.log)", what, c->home);
}

int tlc_client_call(struct tlc_client *c, const char *method, const char *path, json_t *body,
                    long *status, json_t **out, char **raw, size_t *raw_len, const char *what,
                    struct tl_error *err)
{
    char url[PATH_MAX];
    snprintf(url, sizeof(url), "%s%s", c->base, path);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    struct tlh_http_request rq = {.method = method,
                                  .url = url,
                                  .body = text,
                                  .bearer = c->token,
                                  .timeout_ms = 600000,
                                  .body_max = BODY_MAX};
    struct tlh_http_response rs = {0};
    struct tl_error http_err = {0};
    int r = tlh_http_send(&rq, &rs, &http_err);
    free(text);
    *out = NULL;
    if (r < 0 || rs.truncated) {
        r = tl_error_set_nopos(err, r < 0 ? r : -EFBIG, "%s: tld at %s: %s", what, c->base,
                               r < 0 ? http_err.message : "an answer larger than tl takes");
        tlh_http_response_done(&rs);
        return r;
    }
    *status = rs.status;
    if (strncmp(rs.content_type, "application/json", 16) == 0) {
        json_error_t jerr;
        *out = rs.body ? json_loads(rs.body, 0, &jerr) : NULL;
        tlh_http_response_done(&rs);
        if (!*out)
            return tl_error_set_nopos(err, -EBADMSG, "%s: tld answered malformed JSON", what);
        return 0;
    }
    if (raw) {
        *raw = rs.body ? rs.body : strdup("");
        *raw_len = rs.len;
        rs.body = NULL;
    }
    tlh_http_response_done(&rs);
    return 0;
}
