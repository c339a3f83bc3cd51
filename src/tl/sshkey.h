/* The SSH public key `tl aks create` gives a cluster's nodes, found or made
 * the way az does it: --ssh-key-value is a key ("ssh-rsa AAAA...") or a
 * file holding one; without it ~/.ssh/id_rsa.pub when it exists; with
 * --generate-ssh-keys and no key file, a new RSA-2048 pair is written
 * (private key PEM, mode 0600; public key in OpenSSH's format, RFC 4253
 * 6.6 "ssh-rsa": string "ssh-rsa", mpint e, mpint n, base64). No
 * ssh-keygen: OpenSSL's EVP makes the key. HOME is honoured. */
#pragma once

#include <openssl/evp.h>
#include <stdbool.h>

#include "tl/error.h"

/* "ssh-rsa AAAA..." (no comment, no newline) of an RSA key; malloc'd. */
int sshkey_rsa_public_key(EVP_PKEY *pkey, char **out);

/* 0 when line is "TYPE BASE64 [comment]" whose blob starts with TYPE. */
int sshkey_public_key_check(const char *line);

/* Writes a new RSA-2048 pair to private_path (0600, refused when it
 * exists) and public_path (0644); *pub the public key line, malloc'd. */
int sshkey_generate(const char *private_path, const char *public_path, char **pub,
                    struct tl_error *err);

/* az's choice of key (see above): *pub the key line (malloc'd) or NULL for
 * none. -errno with err "WHAT: ..." (or "PATH: ..."). A key made is told
 * on stderr, as az does: that line is output, not an error. */
int sshkey_for_cluster(const char *what, const char *key_value, bool generate, char **pub,
                       struct tl_error *err);
