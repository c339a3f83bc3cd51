/* The kubeconfig `tl aks get-credentials` writes: a cluster, a user and a
 * context named for the cluster, current-context set to it, merged into
 * an existing kubeconfig (its other entries, keys and scalar styles kept)
 * as az does. A file that is not a kubeconfig is not clobbered without
 * --overwrite-existing, and neither is a different entry of the same name.
 * YAML through libyaml (its document loader and event emitter). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "tl/error.h"

struct kube_credentials {
    const char *cluster; /* cluster and context name */
    const char *server;  /* https://... */
    const char *ca_data; /* base64 of the CA's PEM (certificate-authority-data), NULL: none */
    const char *user;    /* clusterUser_G_C */
    const char *token;   /* bearer token */
};

/* The merge of cred into the kubeconfig text old (NULL or empty: none).
 * 0 with *out (malloc'd, NUL-terminated); -EINVAL when old is not a
 * kubeconfig, -EEXIST when it holds a different entry of one of our names,
 * both with err set (and neither when overwrite: old is then replaced, or
 * the entry). */
int kubeconfig_merge(const char *old, size_t old_len, const struct kube_credentials *cred,
                     bool overwrite, char **out, size_t *out_len, struct tl_error *err);

/* The file: file when given, else $KUBECONFIG's first path, else
 * ~/.kube/config. -ENOENT when none can be named (no HOME). */
int kubeconfig_path(const char *file, char *out, size_t len);

/* Reads path (when it exists), merges, writes it back atomically with mode
 * 0600 (creating its directory, 0700). -errno with err "PATH: ...". */
int kubeconfig_write(const char *path, const struct kube_credentials *cred, bool overwrite,
                     struct tl_error *err);
