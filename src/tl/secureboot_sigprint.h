/* Signature database entries as JSON and text (secureboot_sigprint.c). */
#pragma once

#include <jansson.h>

#include "tl/efi.h"

json_t *sig_entry_json(const struct tl_sig_entry *e);
json_t *sig_db_json(const struct tl_sig_db *db);
/* A count line, then one line per certificate, each prefixed by indent. */
void sig_db_print(const char *indent, const struct tl_sig_db *db);
