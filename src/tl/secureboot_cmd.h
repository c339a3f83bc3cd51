/* Shared pieces of `tl secureboot`: its verbs, the stores and lists read
 * from files (secureboot_store.h) and signature entries printed
 * (secureboot_sigprint.h). */
#pragma once

#include "secureboot_sigprint.h"
#include "secureboot_store.h"
#include "tl.h"
#include "tl/authvar.h"

/* The default source of the Microsoft key set: Debian's OVMF store with
 * Microsoft's KEK and db (and Debian's PK) enrolled. */
#define TLC_MICROSOFT_VARS "/usr/share/OVMF/OVMF_VARS_4M.ms.fd"

/* The verbs under `tl secureboot` beside digest and verify. */
int secureboot_vars_cmd(int argc, char **argv);
int secureboot_predict_cmd(int argc, char **argv);
