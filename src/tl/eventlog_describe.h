/* A record's data decoded for people (eventlog_describe.c). */
#pragma once

#include "tl/eventlog.h"

/* A string, a variable name, a device path; malloc'd, or NULL when the
 * record's data says nothing to people (or memory ran out). */
char *eventlog_describe(const struct tl_eventlog *log, const struct tl_event *ev);
