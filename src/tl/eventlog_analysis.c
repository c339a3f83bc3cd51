/* One event log file analysed: read, parsed, its records checked, replayed,
 * its boot state read (when asked) and compared with expected PCR values
 * (when given). `tl eventlog` renders the result as text or JSON
 * (eventlog_text.c, eventlog_json.c); the verdict is analysis_failed's. */
#include <errno.h>
#include <stdlib.h>

#include "eventlog_analysis.h"
#include "tl/util.h"

bool analysis_failed(const struct analysis *a)
{
    return a->checks.n_findings > 0 || (a->expect && a->expect->n_mismatches > 0);
}

int analysis_run(struct analysis *a, bool want_state, const struct tl_pcr_values *expect,
                 struct tl_hasher *h, struct tl_error *err)
{
    int r = tlc_file_load(a->file, &a->buf, &a->len, err);
    if (r < 0)
        return r;
    if ((r = tl_eventlog_parse(a->buf, a->len, &a->log, err)) < 0 ||
        (r = tl_eventlog_check(&a->log, h, &a->checks, err)) < 0 ||
        (r = tl_replay(&a->log, h, &a->pcrs, err)) < 0)
        return tlc_error_prefix(err, r, a->file);
    if (want_state) {
        if ((r = tl_boot_state_extract(&a->log, &a->checks, &a->state, err)) < 0)
            return tlc_error_prefix(err, r, a->file);
        a->have_state = true;
    }
    if (expect) {
        a->expect = calloc(1, sizeof(*a->expect));
        if (!a->expect)
            return tl_error_set_nopos(err, -ENOMEM, "%s: out of memory", a->file);
        a->expect->n_mismatches =
            tl_replay_compare(&a->pcrs, expect, a->expect->mismatches,
                              TL_ARRAY_SIZE(a->expect->mismatches), &a->expect->not_covered);
        if (a->expect->n_mismatches > TL_ARRAY_SIZE(a->expect->mismatches))
            a->expect->n_mismatches = TL_ARRAY_SIZE(a->expect->mismatches);
    }
    return 0;
}

void analysis_done(struct analysis *a)
{
    if (a->have_state)
        tl_boot_state_done(&a->state);
    tl_eventlog_checks_done(&a->checks);
    tl_eventlog_done(&a->log);
    free(a->expect);
    free(a->buf);
}
