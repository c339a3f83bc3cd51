/* Secrets sealed by a key-encryption key that never leaves the token
 * (keystore.h): tld keeps a node's guest-state, vTPM and OS-disk keys on
 * disk only in this sealed form, and opens them in its memory when it uses
 * them. The KEK is an AES-256 token object, sensitive and not extractable,
 * usable for CKM_AES_GCM encryption and decryption and nothing else (no
 * wrap or unwrap: no other key can be made to leave the token under it).
 *
 * AES-GCM rather than AES key wrap: the secrets are bytes tld drew and
 * must read back (a LUKS passphrase, a swtpm key), not key objects, and
 * C_Decrypt returns them; GCM also authenticates the label (additional
 * data), so one node's blob does not open as another's even under a
 * shared KEK. Nonces are random (12 bytes, one per seal; a KEK seals a
 * handful of secrets in its life, far from GCM's 2^32 random-nonce bound). */
#include <errno.h>
#include <openssl/crypto.h>
#include <string.h>
#include <sys/random.h>

#include "keystore_p11.h"
#include "tl/cleanup.h"
#include "tl/util.h"

static int label_ok(const char *label, struct tl_error *err)
{
    size_t n = label ? strlen(label) : 0;
    if (n == 0 || n > 128 || strchr(label, '/'))
        return tl_error_set_nopos(err, -EINVAL, "KEK label \"%s\": 1-128 characters, no \"/\"",
                                  label ? label : "");
    return 0;
}

static int label_find(struct tlh_keystore *ks, const char *label, bool kek_only,
                      CK_OBJECT_HANDLE **h, size_t *n, struct tl_error *err)
{
    CK_OBJECT_CLASS cl = CKO_SECRET_KEY;
    CK_ATTRIBUTE t[] = {
        {CKA_LABEL, (void *)label, strlen(label)},
        {CKA_CLASS, &cl, sizeof(cl)},
    };
    int r = label_ok(label, err);
    return r < 0 ? r : tlh_p11_objects_find(ks, t, kek_only ? 2 : 1, h, n, err);
}

int tlh_keystore_label_count(struct tlh_keystore *ks, const char *label, struct tl_error *err)
{
    _cleanup_free_ CK_OBJECT_HANDLE *h = NULL;
    size_t n;
    int r = label_find(ks, label, false, &h, &n, err);
    return r < 0 ? r : (int)n;
}

int tlh_keystore_label_destroy(struct tlh_keystore *ks, const char *label, struct tl_error *err)
{
    _cleanup_free_ CK_OBJECT_HANDLE *h = NULL;
    size_t n;
    int r = label_find(ks, label, false, &h, &n, err);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n; i++) {
        CK_RV rv = tlh_p11(ks)->C_DestroyObject(ks->session, h[i]);
        if (rv != CKR_OK)
            return tlh_p11_fail(err, rv, "KEK %s: C_DestroyObject", label);
    }
    return (int)n;
}

/* The one KEK labelled label: -ENOENT when none, -EEXIST when several. */
static int kek_find(struct tlh_keystore *ks, const char *label, CK_OBJECT_HANDLE *out,
                    struct tl_error *err)
{
    _cleanup_free_ CK_OBJECT_HANDLE *h = NULL;
    size_t n;
    int r = label_find(ks, label, true, &h, &n, err);
    if (r < 0)
        return r;
    if (n != 1)
        return tl_error_set_nopos(err, n ? -EEXIST : -ENOENT, "KEK %s: %zu in the key store", label,
                                  n);
    *out = h[0];
    return 0;
}

int tlh_keystore_kek_ensure(struct tlh_keystore *ks, const char *label, struct tl_error *err)
{
    CK_OBJECT_HANDLE h;
    int r = kek_find(ks, label, &h, err);
    if (r != -ENOENT)
        return r;
    CK_OBJECT_CLASS cl = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_AES;
    CK_ULONG len = 32;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ATTRIBUTE t[] = {
        {CKA_CLASS, &cl, sizeof(cl)},
        {CKA_KEY_TYPE, &kt, sizeof(kt)},
        {CKA_VALUE_LEN, &len, sizeof(len)},
        {CKA_TOKEN, &yes, 1},
        {CKA_PRIVATE, &yes, 1},
        {CKA_SENSITIVE, &yes, 1},
        {CKA_EXTRACTABLE, &no, 1},
        {CKA_ENCRYPT, &yes, 1},
        {CKA_DECRYPT, &yes, 1},
        {CKA_WRAP, &no, 1},
        {CKA_UNWRAP, &no, 1},
        {CKA_LABEL, (void *)label, strlen(label)},
    };
    CK_MECHANISM m = {CKM_AES_KEY_GEN, NULL, 0};
    CK_RV rv = tlh_p11(ks)->C_GenerateKey(ks->session, &m, t, TL_ARRAY_SIZE(t), &h);
    if (rv != CKR_OK)
        return tlh_p11_fail(err, rv, "KEK %s: generating AES-256", label);
    return 1;
}

static void gcm_params(CK_GCM_PARAMS *p, uint8_t *nonce, const char *label)
{
    *p = (CK_GCM_PARAMS){
        .pIv = nonce,
        .ulIvLen = TLH_KEYSTORE_SEAL_NONCE,
        .ulIvBits = TLH_KEYSTORE_SEAL_NONCE * 8,
        .pAAD = (CK_BYTE_PTR)label,
        .ulAADLen = strlen(label),
        .ulTagBits = TLH_KEYSTORE_SEAL_TAG * 8,
    };
}

int tlh_keystore_seal(struct tlh_keystore *ks, const char *label, const uint8_t *plain, size_t len,
                      uint8_t *out, struct tl_error *err)
{
    if (len == 0 || len > TLH_KEYSTORE_SEAL_MAX)
        return tl_error_set_nopos(err, -EINVAL, "KEK %s: a secret of %zu bytes (1-%d)", label, len,
                                  TLH_KEYSTORE_SEAL_MAX);
    CK_OBJECT_HANDLE h;
    int r = kek_find(ks, label, &h, err);
    if (r < 0)
        return r;
    if (getrandom(out, TLH_KEYSTORE_SEAL_NONCE, 0) != TLH_KEYSTORE_SEAL_NONCE)
        return tl_error_set_nopos(err, -EIO, "getrandom: %s", strerror(errno));
    CK_GCM_PARAMS p;
    gcm_params(&p, out, label);
    CK_MECHANISM m = {CKM_AES_GCM, &p, sizeof(p)};
    CK_FUNCTION_LIST_PTR f = tlh_p11(ks);
    CK_ULONG olen = len + TLH_KEYSTORE_SEAL_TAG;
    CK_RV rv = f->C_EncryptInit(ks->session, &m, h);
    if (rv == CKR_OK)
        rv = f->C_Encrypt(ks->session, (CK_BYTE_PTR)plain, len, out + TLH_KEYSTORE_SEAL_NONCE,
                          &olen);
    if (rv != CKR_OK)
        return tlh_p11_fail(err, rv, "KEK %s: C_Encrypt (CKM_AES_GCM)", label);
    if (olen != len + TLH_KEYSTORE_SEAL_TAG)
        return tl_error_set_nopos(err, -EIO, "KEK %s: C_Encrypt gave %lu bytes for %zu", label,
                                  (unsigned long)olen, len);
    return 0;
}

int tlh_keystore_unseal(struct tlh_keystore *ks, const char *label, const uint8_t *blob,
                        size_t blob_len, uint8_t *plain, size_t *len, struct tl_error *err)
{
    if (blob_len <= TLH_KEYSTORE_SEAL_OVERHEAD ||
        blob_len > TLH_KEYSTORE_SEAL_MAX + TLH_KEYSTORE_SEAL_OVERHEAD)
        return tl_error_set_nopos(err, -EBADMSG, "KEK %s: a sealed secret of %zu bytes", label,
                                  blob_len);
    CK_OBJECT_HANDLE h;
    int r = kek_find(ks, label, &h, err);
    if (r < 0)
        return r;
    uint8_t nonce[TLH_KEYSTORE_SEAL_NONCE];
    memcpy(nonce, blob, sizeof(nonce));
    CK_GCM_PARAMS p;
    gcm_params(&p, nonce, label);
    CK_MECHANISM m = {CKM_AES_GCM, &p, sizeof(p)};
    CK_FUNCTION_LIST_PTR f = tlh_p11(ks);
    /* SoftHSM2 asks for room for the tag too before it checks it */
    uint8_t buf[TLH_KEYSTORE_SEAL_MAX + TLH_KEYSTORE_SEAL_TAG];
    CK_ULONG olen = sizeof(buf);
    CK_RV rv = f->C_DecryptInit(ks->session, &m, h);
    if (rv != CKR_OK)
        return tlh_p11_fail(err, rv, "KEK %s: C_DecryptInit (CKM_AES_GCM)", label);
    rv = f->C_Decrypt(ks->session, (CK_BYTE_PTR)blob + TLH_KEYSTORE_SEAL_NONCE,
                      blob_len - TLH_KEYSTORE_SEAL_NONCE, buf, &olen);
    /* a tag that does not verify: PKCS#11 v3 says CKR_ENCRYPTED_DATA_INVALID;
     * SoftHSM2 2.6 answers CKR_GENERAL_ERROR (its OpenSSL final step failed) */
    if (rv == CKR_ENCRYPTED_DATA_INVALID || rv == CKR_FUNCTION_FAILED ||
        rv == CKR_ENCRYPTED_DATA_LEN_RANGE || rv == CKR_GENERAL_ERROR)
        return tl_error_set_nopos(err, -EBADMSG,
                                  "KEK %s: the sealed secret does not open (altered, or "
                                  "another's)",
                                  label);
    if (rv != CKR_OK)
        return tlh_p11_fail(err, rv, "KEK %s: C_Decrypt (CKM_AES_GCM)", label);
    if (olen != blob_len - TLH_KEYSTORE_SEAL_OVERHEAD) {
        OPENSSL_cleanse(buf, sizeof(buf));
        return tl_error_set_nopos(err, -EBADMSG, "KEK %s: C_Decrypt gave %lu bytes", label,
                                  (unsigned long)olen);
    }
    memcpy(plain, buf, olen);
    *len = olen;
    OPENSSL_cleanse(buf, sizeof(buf));
    return 0;
}
