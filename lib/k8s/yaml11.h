/* YAML 1.1 plain-scalar resolution as go-yaml v2 does it (lib/k8s/yaml11.c);
 * private to lib/k8s. */
#pragma once

enum tl_yaml11 { TL_YAML11_STRING, TL_YAML11_BOOL, TL_YAML11_NULL, TL_YAML11_NUMBER };

/* What an untagged plain scalar s is to go-yaml v2 (and so to kubectl). */
enum tl_yaml11 tl_yaml11_resolve_plain(const char *s);
