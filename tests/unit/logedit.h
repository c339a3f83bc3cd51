/* Helpers for tests that build altered copies of real logs. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tl/eventlog.h"
#include "vectors.h"

/* Parses buf and returns the offset of event `index` (asserts success). */
size_t logedit_event_offset(const uint8_t *buf, size_t len, uint32_t index);
/* Parses buf and returns the event's data offset and size. */
size_t logedit_event_data(const uint8_t *buf, size_t len, uint32_t index, uint32_t *size);
