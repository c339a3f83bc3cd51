/* The host library (see file.h for its rules).
 *
 * ekca.h: an EK CA folder on disk, as `tl vtpm provision --ca DIR` and tld
 * (HOME/ekca, HOME/ekca-vouched) keep it: four PEM files, root.pem (0644),
 * root.key (0600), intermediate.pem (0644), intermediate.key (0600). Keys
 * must be regular files nobody else can read. libtl (tl/ekca.h) makes,
 * loads and issues; this file only stores. */
#pragma once

#include <stdbool.h>

#include "tl/ekca.h"
#include "tl/error.h"

/* Loads the CA in dir. -ENOENT (a file missing), -EPERM (a key readable by
 * group or others, or not a regular file), -EINVAL (libtl refused it). */
int tlh_ekca_load(const char *dir, struct tl_ekca *ca, struct tl_error *err);
/* Loads the CA in dir, or creates it (dir made 0700 when missing; all four
 * files written, or none) when none of its files exist yet; *created says
 * which. A partial CA is refused (-ENOENT), never overwritten. */
int tlh_ekca_open(const char *dir, struct tl_ekca *ca, bool *created, struct tl_error *err);
