/* --query: JMESPath (jmespath.org) evaluated by jp, Debian's package of
 * go-jmespath's command line, a maintained implementation that passes the
 * JMESPath compliance suite (az uses the Python one; the results agree).
 * jp runs as a child (tlh_run: argv, no shell) with the JSON on its stdin
 * and the expression after "--", so that one starting with "-" is not
 * taken for an option; -c makes its answer one line, parsed back. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "output.h"
#include "tlhost/proc.h"

#define QUERY_OUTPUT_MAX (256u << 20)

/* jp with expr, on input (NUL-terminated JSON); with ast, only parsed
 * (jp --ast): a syntax check that no input can fail. */
static int run_jp(const char *expr, bool ast, const char *input, struct tlh_run_result *res,
                  struct tl_error *err)
{
    const char *argv[] = {"jp", ast ? "--ast" : "-c", "--", expr, NULL};
    struct tlh_run_options o = {.argv = argv,
                                .stdout_max = QUERY_OUTPUT_MAX,
                                .stdin_data = input,
                                .stdin_len = strlen(input)};
    struct tl_error run_err = {0};
    int r = tlh_run(&o, res, &run_err);
    if (r == -ENOENT)
        return tl_error_set_nopos(err, -ENOENT,
                                  "--query needs jp (JMESPath), which is not installed: apt-get "
                                  "install jp");
    if (r < 0 && WIFEXITED(res->status) && res->err && res->err[0]) {
        /* jp's reason is its first line ("SyntaxError: ...", "Error
         * evaluating JMESPath expression: ...") */
        size_t l = strcspn(res->err, "\r\n");
        return tl_error_set_nopos(err, -EINVAL, "--query '%s': %.*s", expr, (int)l, res->err);
    }
    if (r < 0)
        return tl_error_set_nopos(err, r, "--query '%s': %s", expr, run_err.message);
    return 0;
}

int tlc_query_check(const char *expr, struct tl_error *err)
{
    struct tlh_run_result res = {0};
    int r = run_jp(expr, true, "null", &res, err);
    tlh_run_result_done(&res);
    return r;
}

int tlc_query_run(const char *expr, const json_t *in, json_t **out, struct tl_error *err)
{
    *out = NULL;
    char *text = json_dumps(in, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text)
        return tl_error_set_nopos(err, -ENOMEM, "--query: out of memory");
    struct tlh_run_result res = {0};
    int r = run_jp(expr, false, text, &res, err);
    free(text);
    if (r == 0) {
        json_error_t jerr;
        *out = json_loadb(res.out, res.out_len, JSON_DECODE_ANY, &jerr);
        if (!*out)
            r = tl_error_set_nopos(err, -EBADMSG, "--query '%s': jp's answer is not JSON: %s", expr,
                                   jerr.text);
    }
    tlh_run_result_done(&res);
    return r;
}
