/* Helpers for tests that build altered copies of real logs. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tl/eventlog.h"

/* Parses buf and returns the offset of event `index` (asserts success). */
size_t logedit_event_offset(const uint8_t *buf, size_t len, uint32_t index);
/* Parses buf and returns the event's data offset and size. */
size_t logedit_event_data(const uint8_t *buf, size_t len, uint32_t index, uint32_t *size);

static inline void logedit_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}
