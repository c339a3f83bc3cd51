/* tdx-verify: a test and benchmark driver for libtl's TDX verifier, until
 * `tl tee verify` carries TDX. Reads a quote and every file of a
 * collateral folder, verifies at --at, prints the verdict as JSON with
 * the TCB status and advisory IDs on top:
 *   {"tcb_status":"OutOfDate","advisory_ids":[...],"verdict":{...}}
 * Exit 0 pass, 1 fail, 2 bad input (one line on stderr).
 *   tdx-verify [--at TIME] [--accept STATUS]... [--policy FILE]
 *              [--collateral DIR] [--repeat N] QUOTE
 * --repeat N verifies N times with the collateral loaded once and prints
 * verifications per second on stderr (the benchmark's measure). */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tl/tdx.h"
#include "tl/tee.h"

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0, r;
    do {
        if (n == cap) {
            uint8_t *nb = realloc(buf, cap = cap ? cap * 2 : 65536);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        r = fread(buf + n, 1, cap - n, f);
        n += r;
    } while (r > 0);
    fclose(f);
    *len = n;
    return buf;
}

static int die(const char *what, const char *msg)
{
    fprintf(stderr, "tdx-verify: %s: %s\n", what, msg);
    return 2;
}

int main(int argc, char **argv)
{
    const char *dir = NULL, *quote_path = NULL, *policy_path = NULL;
    time_t at = time(NULL);
    long repeat = 0;
    struct tl_tee_policy policy;
    tl_tee_policy_init(&policy);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--at") == 0 && next) {
            if (tl_tee_time_parse(next, &at) < 0)
                return die(next, "not a time");
            i++;
        } else if (strcmp(a, "--collateral") == 0 && next) {
            dir = argv[++i];
        } else if (strcmp(a, "--policy") == 0 && next) {
            policy_path = argv[++i];
        } else if (strcmp(a, "--accept") == 0 && next) {
            int s = tl_tee_tcb_status_from_name(next);
            if (s < 0)
                return die(next, "not a TCB status");
            policy.tcb_status_mask |= 1u << s;
            i++;
        } else if (strcmp(a, "--repeat") == 0 && next) {
            repeat = strtol(argv[++i], NULL, 10);
        } else if (a[0] != '-' && !quote_path) {
            quote_path = a;
        } else {
            fprintf(stderr, "usage: tdx-verify [--at TIME] [--accept STATUS] [--policy FILE] "
                            "[--collateral DIR] [--repeat N] QUOTE\n");
            return 2;
        }
    }
    if (!quote_path)
        return die("usage", "a quote file is needed");
    struct tl_error err = {0};
    if (policy_path) {
        size_t n;
        char *text = (char *)slurp(policy_path, &n);
        if (!text)
            return die(policy_path, strerror(errno));
        if (tl_tee_policy_parse(text, n, &policy, &err) < 0)
            return die(policy_path, err.message);
        free(text);
    }
    struct tl_tee_blob blobs[64];
    size_t n_blobs = 0;
    char names[64][512];
    if (dir) {
        DIR *d = opendir(dir);
        if (!d)
            return die(dir, strerror(errno));
        struct dirent *e;
        while ((e = readdir(d)) && n_blobs < 64) {
            if (e->d_name[0] == '.')
                continue;
            snprintf(names[n_blobs], sizeof(names[0]), "%s/%s", dir, e->d_name);
            size_t n;
            uint8_t *p = slurp(names[n_blobs], &n);
            if (!p)
                continue; /* a subfolder */
            blobs[n_blobs] = (struct tl_tee_blob){.name = names[n_blobs], .data = p, .len = n};
            n_blobs++;
        }
        closedir(d);
    }
    struct tl_tdx_collateral *col = NULL;
    if (tl_tdx_collateral_new(blobs, n_blobs, &col, &err) < 0)
        return die("collateral", err.message);
    size_t qlen;
    uint8_t *quote = slurp(quote_path, &qlen);
    if (!quote)
        return die(quote_path, strerror(errno));

    struct tl_tee_verdict v;
    struct tl_tdx_tcb_result tcb;
    if (repeat > 0) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (long i = 0; i < repeat; i++) {
            tl_tdx_verify(quote, qlen, col, &policy, at, &v, &tcb, &err);
            tl_tee_verdict_done(&v);
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        fprintf(stderr, "%.1f verifications/s (%ld in %.3f s)\n", (double)repeat / s, repeat, s);
    }
    int r = tl_tdx_verify(quote, qlen, col, &policy, at, &v, &tcb, &err);
    if (r < 0 && r != -EBADMSG)
        return die(quote_path, err.message);
    json_t *out = json_object();
    if (tcb.evaluated) {
        json_object_set_new(out, "tcb_status", json_string(tl_tee_tcb_status_name(tcb.status)));
        json_t *ids = json_array();
        for (unsigned i = 0; i < tcb.advisories.n; i++)
            json_array_append_new(ids, json_string(tcb.advisories.id[i]));
        json_object_set_new(out, "advisory_ids", ids);
    }
    json_object_set_new(out, "verdict", tl_tee_verdict_json(&v));
    char *text = json_dumps(out, JSON_COMPACT);
    puts(text);
    free(text);
    json_decref(out);
    int code = r == -EBADMSG ? 2 : v.pass ? 0 : 1;
    if (r == -EBADMSG)
        fprintf(stderr, "tdx-verify: %s: %s\n", quote_path, err.message);
    tl_tee_verdict_done(&v);
    tl_tdx_collateral_free(col);
    free(quote);
    for (size_t i = 0; i < n_blobs; i++)
        free((void *)blobs[i].data);
    return code;
}
