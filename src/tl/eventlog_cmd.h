/* The pieces of `tl eventlog`: one analysis per file, printed as text or JSON. */
#pragma once

#include "eventlog_analysis.h"
#include "eventlog_describe.h"
#include "tl.h"

json_t *eventlog_json_show(const struct analysis *a);
json_t *eventlog_json_replay(const struct analysis *a);
json_t *eventlog_json_state(const struct analysis *a);
json_t *eventlog_json_findings(const struct analysis *a);

void eventlog_text_show(const struct analysis *a);
void eventlog_text_replay(const struct analysis *a);
void eventlog_text_state(const struct analysis *a);
