/* keystore.h: keys kept in a PKCS#11 token (issue 15, key custody), and
 * wrapped for release to an RSA key that lives elsewhere (a node's vTPM).
 *
 * The module is loaded with dlopen + C_GetFunctionList; its path is
 * configuration, SoftHSM2 the default. Every key operation (generation,
 * wrapping, destruction) is the token's: no key value is ever read into this
 * process, written to a file or returned, except the ephemeral AES key of a
 * release when the module lacks RSA-OAEP with SHA-256 (see tlh_keystore_wrap).
 *
 * Layout under the caller's home (TL_HOME):
 *   HOME/keys/softhsm2.conf   SoftHSM2's configuration (SOFTHSM2_CONF is set
 *                             to it before the module is initialised)
 *   HOME/keys/tokens/         SoftHSM2's token directory (its own encrypted
 *                             object store)
 *   HOME/keys/token.json      0600: the token's label, SO PIN and user PIN
 *
 * A key is "vault/name/version": az's vault and key names, and a version of
 * 32 hex digits. In the token its objects (RSA: private + public; oct: one
 * secret key) carry CKA_LABEL "vault/name/version" and CKA_ID = the version's
 * 16 bytes, whose first 8 are a big-endian nanosecond clock, so the newest
 * version of a key is the one with the greatest id. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tl/error.h"

#define TLH_KEYSTORE_DEFAULT_MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define TLH_KEYSTORE_DEFAULT_LABEL  "trustlaunch"

/* az's limits: a vault name is 3-24 letters, digits and hyphens; a key name
 * 1-127 of the same. */
#define TLH_KEYSTORE_VAULT_MAX   24
#define TLH_KEYSTORE_NAME_MAX    127
#define TLH_KEYSTORE_VERSION_LEN 32

struct tlh_keystore_config {
    const char *home;   /* required: keys live under HOME/keys */
    const char *module; /* PKCS#11 module; NULL: TLH_KEYSTORE_DEFAULT_MODULE */
    const char *label;  /* token label; NULL: TLH_KEYSTORE_DEFAULT_LABEL */
};

/* What the module offers, probed from C_GetMechanismList at open. */
struct tlh_keystore_mechs {
    bool rsa_aes_key_wrap; /* CKM_RSA_AES_KEY_WRAP: the whole release in one call */
    bool aes_key_wrap_pad; /* CKM_AES_KEY_WRAP_PAD (RFC 5649) */
    bool rsa_oaep;         /* CKM_RSA_PKCS_OAEP (hash support is found by trying) */
};

/* An open token session, logged in as the user. One thread at a time: a
 * PKCS#11 session is not for concurrent calls, so a threaded caller holds a
 * lock around the context. Fields are PKCS#11 handles (pkcs11.h types, kept
 * opaque here so callers need not include it). */
struct tlh_keystore {
    void *dl;              /* dlopen handle */
    void *p11;             /* CK_FUNCTION_LIST_PTR */
    unsigned long slot;    /* CK_SLOT_ID */
    unsigned long session; /* CK_SESSION_HANDLE */
    bool initialized;      /* this context called C_Initialize (and will finalise) */
    struct tlh_keystore_mechs mechs;
    char module[4096];
    char label[33];
};

enum tlh_key_type {
    TLH_KEY_RSA_HSM, /* RSA 2048, 3072 or 4096 */
    TLH_KEY_OCT_HSM, /* AES 128, 192 or 256 */
};

struct tlh_key {
    char vault[TLH_KEYSTORE_VAULT_MAX + 1];
    char name[TLH_KEYSTORE_NAME_MAX + 1];
    char version[TLH_KEYSTORE_VERSION_LEN + 1];
    enum tlh_key_type kty;
    unsigned bits;
    bool exportable; /* CKA_EXTRACTABLE */
    /* object handles: valid in the context that found or created the key */
    unsigned long handle; /* the private or secret key object */
    unsigned long pub;    /* RSA: the public key object; 0 for oct */
};

/* Loads the module, writes HOME/keys (conf, token dir) when absent,
 * initialises the token (label, fresh random PINs kept in HOME/keys/token.json)
 * on first use, opens a session and logs in. -ENOENT "PKCS#11 module PATH: No
 * such file or directory" when the module is not there; -ELIBBAD when it is
 * not a PKCS#11 module; -EIO with the module's CKR_ name otherwise.
 * SoftHSM2 finds its configuration through SOFTHSM2_CONF, which this sets
 * to HOME/keys/softhsm2.conf unless it is that already: a threaded caller
 * sets it itself before its threads start (setenv beside another thread's
 * getenv is a race), as tld's main does. */
int tlh_keystore_open(struct tlh_keystore *ks, const struct tlh_keystore_config *cfg,
                      struct tl_error *err);
/* Logs out, closes the session, finalises and unloads; safe on a zeroed or
 * already closed context. */
void tlh_keystore_close(struct tlh_keystore *ks);

/* Checks the names given (NULL: not checked) as the key store does: a vault
 * name 3-24 letters, digits and hyphens, a key name 1-127, a version 32
 * lowercase hex digits. 0 or -EINVAL naming the one refused. */
int tlh_keystore_names_check(const char *vault, const char *name, const char *version,
                             struct tl_error *err);

/* "RSA-HSM" / "oct-HSM" (az's spelling, case-insensitive) to a type: 0 or
 * -EINVAL. */
int tlh_key_type_parse(const char *s, enum tlh_key_type *out, struct tl_error *err);
const char *tlh_key_type_name(enum tlh_key_type kty);

/* A new key, version 1 of vault/name: -EEXIST if vault/name has a version;
 * -EINVAL for a bad name or size (RSA 2048/3072/4096, AES 128/192/256).
 * CKA_SENSITIVE is always true; exportable sets CKA_EXTRACTABLE. */
int tlh_keystore_key_create(struct tlh_keystore *ks, const char *vault, const char *name,
                            enum tlh_key_type kty, unsigned bits, bool exportable,
                            struct tlh_key *out, struct tl_error *err);
/* A new version of an existing key, with its type, size and exportability:
 * the newest from then on. -ENOENT if vault/name has none. */
int tlh_keystore_key_rotate(struct tlh_keystore *ks, const char *vault, const char *name,
                            struct tlh_key *out, struct tl_error *err);
/* vault/name/version, or the newest version when version is NULL: -ENOENT. */
int tlh_keystore_key_find(struct tlh_keystore *ks, const char *vault, const char *name,
                          const char *version, struct tlh_key *out, struct tl_error *err);
/* Every key version, filtered by vault and name when not NULL, sorted by
 * vault, name, then version (oldest first). *out is malloc'd (NULL when
 * *n is 0). */
int tlh_keystore_key_list(struct tlh_keystore *ks, const char *vault, const char *name,
                          struct tlh_key **out, size_t *n, struct tl_error *err);
/* Destroys one version, or every version of vault/name when version is NULL:
 * the number of versions destroyed, or -ENOENT. */
int tlh_keystore_key_delete(struct tlh_keystore *ks, const char *vault, const char *name,
                            const char *version, struct tl_error *err);
/* An RSA key's public key as SubjectPublicKeyInfo DER (malloc'd); -EINVAL for
 * an oct key. */
int tlh_keystore_public_key(struct tlh_keystore *ks, const struct tlh_key *key, uint8_t **spki,
                            size_t *len, struct tl_error *err);
/* Clear export ("key download") is refused for every HSM key: always -EPERM
 * with the reason, so every front end says the same. */
int tlh_keystore_key_download(const struct tlh_key *key, struct tl_error *err);

/* How a release was wrapped (tlh_keystore_wrap's return value). */
enum tlh_wrap_path {
    /* CKM_RSA_AES_KEY_WRAP with OAEP SHA-256: one C_WrapKey */
    TLH_WRAP_TOKEN_RSA_AES = 0,
    /* composed in the token: an ephemeral AES-256 session key wraps the key
     * (CKM_AES_KEY_WRAP_PAD), CKM_RSA_PKCS_OAEP SHA-256 wraps the ephemeral */
    TLH_WRAP_TOKEN_COMPOSED = 1,
    /* as above, but the module refuses OAEP with SHA-256 (SoftHSM2 2.6 takes
     * SHA-1 only): the ephemeral key's value is read from the token and
     * OAEP-encrypted with OpenSSL; the key itself is still wrapped in the token */
    TLH_WRAP_OAEP_OPENSSL = 2,
};

/* The key wrapped for release to the RSA public key target_spki (DER
 * SubjectPublicKeyInfo, RSA, 2048 bits or more), in the CKM_RSA_AES_KEY_WRAP
 * form (PKCS#11 v2.40 2.1.21): RSA-OAEP(SHA-256, MGF1-SHA-256, no label) of a
 * fresh AES-256 key, followed by AES key wrap with padding (RFC 5649) of the
 * key's value (oct: the raw key; RSA: PKCS#8 PrivateKeyInfo) under it.
 * SoftHSM2 2.6.1 zero-pads what it wraps to a multiple of 8 first: an RSA
 * key's PKCS#8 then ends in up to 7 zero bytes inside the wrap, which the
 * unwrapper tells apart by the DER's own length. *out is malloc'd. Returns an enum tlh_wrap_path
 * (>= 0), or -EPERM for a key that is not exportable, -EINVAL for a target that is not an RSA SPKI.
 */
int tlh_keystore_wrap(struct tlh_keystore *ks, const struct tlh_key *key,
                      const uint8_t *target_spki, size_t target_len, uint8_t **out, size_t *out_len,
                      struct tl_error *err);

/* ---- secrets sealed by a key-encryption key in the token (keystore_seal.c) ----
 *
 * A KEK is an AES-256 secret key object with CKA_LABEL label (a label with
 * no "/", so it is never taken for a vault's key): a token object,
 * private, sensitive, not extractable, for CKM_AES_GCM encryption and
 * decryption only. A sealed secret is nonce (12 random bytes) || AES-GCM
 * ciphertext || tag (16), the label as additional data: the blob opens
 * only under that KEK and only as that label's. */
#define TLH_KEYSTORE_SEAL_NONCE    12
#define TLH_KEYSTORE_SEAL_TAG      16
#define TLH_KEYSTORE_SEAL_OVERHEAD (TLH_KEYSTORE_SEAL_NONCE + TLH_KEYSTORE_SEAL_TAG)
#define TLH_KEYSTORE_SEAL_MAX      256 /* the largest secret sealed */

/* The number of objects (of any class) labelled label: >= 0. */
int tlh_keystore_label_count(struct tlh_keystore *ks, const char *label, struct tl_error *err);
/* Every object labelled label destroyed: how many. */
int tlh_keystore_label_destroy(struct tlh_keystore *ks, const char *label, struct tl_error *err);
/* A KEK labelled label, made when there is none: 1 made, 0 there already. */
int tlh_keystore_kek_ensure(struct tlh_keystore *ks, const char *label, struct tl_error *err);
/* plain (len <= TLH_KEYSTORE_SEAL_MAX) sealed under the KEK label into out,
 * which has room for len + TLH_KEYSTORE_SEAL_OVERHEAD. -ENOENT: no KEK. */
int tlh_keystore_seal(struct tlh_keystore *ks, const char *label, const uint8_t *plain, size_t len,
                      uint8_t *out, struct tl_error *err);
/* A sealed blob opened into plain (room for blob_len - overhead bytes; *len
 * set). -EBADMSG: altered, another label's, or sealed under another KEK;
 * -ENOENT: no KEK. The caller wipes plain after use. */
int tlh_keystore_unseal(struct tlh_keystore *ks, const char *label, const uint8_t *blob,
                        size_t blob_len, uint8_t *plain, size_t *len, struct tl_error *err);
