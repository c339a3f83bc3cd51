/* One event log file analysed by `tl eventlog` (eventlog_analysis.c). */
#pragma once

#include "tl.h"
#include "tl/bootstate.h"
#include "tl/digest.h"
#include "tl/eventcheck.h"
#include "tl/replay.h"

struct expect_result {
    const char *file;
    struct tl_pcr_mismatch mismatches[64];
    size_t n_mismatches;
    uint32_t not_covered;
};

struct analysis {
    const char *file;
    uint8_t *buf;
    size_t len;
    struct tl_eventlog log;
    struct tl_eventlog_checks checks;
    struct tl_pcr_values pcrs;
    struct tl_boot_state state;
    bool have_state;
    struct expect_result *expect; /* replay --expect, or NULL */
};

/* Does the analysis end in a fail verdict? */
bool analysis_failed(const struct analysis *a);

/* Reads a->file and analyses it: the boot state too when want_state, the
 * comparison with expect when not NULL. 0 (the verdict is analysis_failed's)
 * or -errno with err "FILE: what (offset N)". Call analysis_done whatever
 * the result. */
int analysis_run(struct analysis *a, bool want_state, const struct tl_pcr_values *expect,
                 struct tl_hasher *h, struct tl_error *err);
void analysis_done(struct analysis *a);
