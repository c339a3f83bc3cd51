/* The pieces of `tl eventlog`: one analysis per file, printed as text or JSON. */
#pragma once

#include "tl.h"
#include "tl/bootstate.h"
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

json_t *eventlog_json_show(const struct analysis *a);
json_t *eventlog_json_replay(const struct analysis *a);
json_t *eventlog_json_state(const struct analysis *a);
json_t *eventlog_json_findings(const struct analysis *a);

void eventlog_text_show(const struct analysis *a);
void eventlog_text_replay(const struct analysis *a);
void eventlog_text_state(const struct analysis *a);

/* A record's data decoded for people: a string, a variable name, a path. */
char *eventlog_describe(const struct tl_eventlog *log, const struct tl_event *ev);
