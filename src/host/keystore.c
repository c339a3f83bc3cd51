/* The PKCS#11 token behind the key store (keystore.h): the module loaded
 * with dlopen, SoftHSM2's configuration and token directory under
 * HOME/keys, the token initialised on first use with random PINs kept in a
 * 0600 file, a logged-in session, and the mechanisms the module offers.
 *
 * SoftHSM2 reads its configuration from the file SOFTHSM2_CONF names when
 * C_Initialize runs, so open sets that variable (process-wide) first. A
 * module is initialised once per process: the context that called
 * C_Initialize finalises it; tld holds one context. */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keystore_p11.h"
#include "tl/cleanup.h"
#include "tl/util.h"
#include "tlhost/file.h"

#define PIN_BYTES 16

static const struct {
    CK_RV rv;
    const char *name;
} rv_names[] = {
    {CKR_OK, "CKR_OK"},
    {CKR_HOST_MEMORY, "CKR_HOST_MEMORY"},
    {CKR_SLOT_ID_INVALID, "CKR_SLOT_ID_INVALID"},
    {CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR"},
    {CKR_FUNCTION_FAILED, "CKR_FUNCTION_FAILED"},
    {CKR_ARGUMENTS_BAD, "CKR_ARGUMENTS_BAD"},
    {CKR_ATTRIBUTE_SENSITIVE, "CKR_ATTRIBUTE_SENSITIVE"},
    {CKR_ATTRIBUTE_TYPE_INVALID, "CKR_ATTRIBUTE_TYPE_INVALID"},
    {CKR_ATTRIBUTE_VALUE_INVALID, "CKR_ATTRIBUTE_VALUE_INVALID"},
    {CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR"},
    {CKR_DEVICE_MEMORY, "CKR_DEVICE_MEMORY"},
    {CKR_KEY_HANDLE_INVALID, "CKR_KEY_HANDLE_INVALID"},
    {CKR_KEY_SIZE_RANGE, "CKR_KEY_SIZE_RANGE"},
    {CKR_KEY_TYPE_INCONSISTENT, "CKR_KEY_TYPE_INCONSISTENT"},
    {CKR_KEY_FUNCTION_NOT_PERMITTED, "CKR_KEY_FUNCTION_NOT_PERMITTED"},
    {CKR_KEY_NOT_WRAPPABLE, "CKR_KEY_NOT_WRAPPABLE"},
    {CKR_KEY_UNEXTRACTABLE, "CKR_KEY_UNEXTRACTABLE"},
    {CKR_MECHANISM_INVALID, "CKR_MECHANISM_INVALID"},
    {CKR_MECHANISM_PARAM_INVALID, "CKR_MECHANISM_PARAM_INVALID"},
    {CKR_OBJECT_HANDLE_INVALID, "CKR_OBJECT_HANDLE_INVALID"},
    {CKR_OPERATION_ACTIVE, "CKR_OPERATION_ACTIVE"},
    {CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT"},
    {CKR_PIN_LOCKED, "CKR_PIN_LOCKED"},
    {CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID"},
    {CKR_TEMPLATE_INCOMPLETE, "CKR_TEMPLATE_INCOMPLETE"},
    {CKR_TEMPLATE_INCONSISTENT, "CKR_TEMPLATE_INCONSISTENT"},
    {CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT"},
    {CKR_TOKEN_NOT_RECOGNIZED, "CKR_TOKEN_NOT_RECOGNIZED"},
    {CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN"},
    {CKR_USER_PIN_NOT_INITIALIZED, "CKR_USER_PIN_NOT_INITIALIZED"},
    {CKR_WRAPPING_KEY_HANDLE_INVALID, "CKR_WRAPPING_KEY_HANDLE_INVALID"},
    {CKR_WRAPPING_KEY_SIZE_RANGE, "CKR_WRAPPING_KEY_SIZE_RANGE"},
    {CKR_WRAPPING_KEY_TYPE_INCONSISTENT, "CKR_WRAPPING_KEY_TYPE_INCONSISTENT"},
    {CKR_BUFFER_TOO_SMALL, "CKR_BUFFER_TOO_SMALL"},
    {CKR_CRYPTOKI_NOT_INITIALIZED, "CKR_CRYPTOKI_NOT_INITIALIZED"},
    {CKR_CRYPTOKI_ALREADY_INITIALIZED, "CKR_CRYPTOKI_ALREADY_INITIALIZED"},
};

const char *tlh_p11_rv_name(CK_RV rv, char buf[32])
{
    for (size_t i = 0; i < TL_ARRAY_SIZE(rv_names); i++)
        if (rv_names[i].rv == rv)
            return rv_names[i].name;
    snprintf(buf, 32, "CKR 0x%lx", (unsigned long)rv);
    return buf;
}

int tlh_p11_fail(struct tl_error *err, CK_RV rv, const char *what, ...)
{
    char text[256], buf[32];
    va_list ap;
    va_start(ap, what);
    vsnprintf(text, sizeof(text), what, ap);
    va_end(ap);
    int code = -EIO;
    if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED || rv == CKR_USER_NOT_LOGGED_IN)
        code = -EACCES;
    else if (rv == CKR_HOST_MEMORY)
        code = -ENOMEM;
    else if (rv == CKR_DEVICE_MEMORY)
        code = -ENOSPC;
    return tl_error_set_nopos(err, code, "%s: %s", text, tlh_p11_rv_name(rv, buf));
}

int tlh_key_type_parse(const char *s, enum tlh_key_type *out, struct tl_error *err)
{
    if (strcasecmp(s, "RSA-HSM") == 0)
        *out = TLH_KEY_RSA_HSM;
    else if (strcasecmp(s, "oct-HSM") == 0)
        *out = TLH_KEY_OCT_HSM;
    else
        return tl_error_set_nopos(
            err, -EINVAL, "key type %s: not RSA-HSM or oct-HSM (keys are kept in the HSM)", s);
    return 0;
}

const char *tlh_key_type_name(enum tlh_key_type kty)
{
    return kty == TLH_KEY_RSA_HSM ? "RSA-HSM" : "oct-HSM";
}

int tlh_keystore_key_download(const struct tlh_key *key, struct tl_error *err)
{
    return tl_error_set_nopos(err, -EPERM,
                              "key %s/%s/%s: an HSM key never leaves the token in clear; "
                              "an exportable key is released wrapped to an attested node's key",
                              key->vault, key->name, key->version);
}

/* HOME/keys and HOME/keys/tokens (0700), and SoftHSM2's configuration, kept
 * when it exists so an operator may edit it. */
static int write_layout(const char *home, char conf[PATH_MAX], struct tl_error *err)
{
    char keys[PATH_MAX], tokens[PATH_MAX];
    if ((size_t)snprintf(keys, sizeof(keys), "%s/keys", home) >= sizeof(keys) ||
        (size_t)snprintf(tokens, sizeof(tokens), "%s/tokens", keys) >= sizeof(tokens) ||
        (size_t)snprintf(conf, PATH_MAX, "%s/softhsm2.conf", keys) >= PATH_MAX)
        return tl_error_set_nopos(err, -ENAMETOOLONG, "%s: path too long", home);
    const char *dirs[] = {keys, tokens};
    for (size_t i = 0; i < TL_ARRAY_SIZE(dirs); i++)
        if (mkdir(dirs[i], 0700) < 0 && errno != EEXIST)
            return tl_error_set_nopos(err, -errno, "%s: %s", dirs[i], strerror(errno));
    _cleanup_free_ char *text = NULL;
    int n = asprintf(&text,
                     "# SoftHSM2's token store for this TL_HOME (written by trustlaunch)\n"
                     "directories.tokendir = %s\n"
                     "objectstore.backend = file\n"
                     "log.level = ERROR\n"
                     "slots.removable = false\n"
                     "slots.mechanisms = ALL\n"
                     "library.reset_on_fork = false\n",
                     tokens);
    if (n < 0)
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    struct stat st;
    if (stat(conf, &st) == 0)
        return 0;
    return tlh_file_write_new(conf, text, (size_t)n, 0600, err);
}

static int random_pin(char out[2 * PIN_BYTES + 1], struct tl_error *err)
{
    uint8_t b[PIN_BYTES];
    if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
        return tl_error_set_nopos(err, -EIO, "getrandom: %s", strerror(errno));
    tl_hex_encode(b, sizeof(b), out);
    explicit_bzero(b, sizeof(b));
    return 0;
}

struct pins {
    char so[2 * PIN_BYTES + 1];
    char user[2 * PIN_BYTES + 1];
};

/* HOME/keys/token.json: 0 and the PINs, -ENOENT when there is none yet. */
static int pins_read(const char *path, const char *label, struct pins *p, struct tl_error *err)
{
    if (access(path, F_OK) < 0 && errno == ENOENT)
        return -ENOENT;
    int r = tlh_file_check_private(path, err);
    if (r < 0)
        return r;
    _cleanup_free_ uint8_t *buf = NULL;
    size_t len;
    if ((r = tlh_file_read(path, 4096, &buf, &len, err)) < 0)
        return r;
    _cleanup_json_ json_t *j = json_loadb((const char *)buf, len, 0, NULL);
    explicit_bzero(buf, len);
    const char *l = json_string_value(json_object_get(j, "label"));
    const char *so = json_string_value(json_object_get(j, "so_pin"));
    const char *user = json_string_value(json_object_get(j, "user_pin"));
    if (!l || !so || !user || strlen(so) != 2 * PIN_BYTES || strlen(user) != 2 * PIN_BYTES)
        return tl_error_set_nopos(err, -EINVAL, "%s: not label, so_pin and user_pin of %d digits",
                                  path, 2 * PIN_BYTES);
    if (strcmp(l, label) != 0)
        return tl_error_set_nopos(err, -EINVAL, "%s: holds the PINs of token %s, not %s", path, l,
                                  label);
    memcpy(p->so, so, sizeof(p->so));
    memcpy(p->user, user, sizeof(p->user));
    return 0;
}

static int pins_write(const char *path, const char *label, const struct pins *p,
                      struct tl_error *err)
{
    _cleanup_json_ json_t *j =
        json_pack("{s:s, s:s, s:s}", "label", label, "so_pin", p->so, "user_pin", p->user);
    _cleanup_free_ char *text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
    if (!text)
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    int r = tlh_file_write_new(path, text, strlen(text), 0600, err);
    explicit_bzero(text, strlen(text));
    return r;
}

static void label_pad(const char *label, CK_UTF8CHAR out[32])
{
    memset(out, ' ', 32);
    memcpy(out, label, strlen(label));
}

/* The slot whose token carries label (initialised), or, with uninit, the
 * first slot with a token not yet initialised: 0, or -ENOENT. */
static int slot_find(CK_FUNCTION_LIST_PTR f, const char *label, bool uninit, CK_SLOT_ID *out,
                     struct tl_error *err)
{
    CK_ULONG n = 0;
    CK_RV rv = f->C_GetSlotList(CK_TRUE, NULL, &n);
    if (rv != CKR_OK)
        return tlh_p11_fail(err, rv, "C_GetSlotList");
    _cleanup_free_ CK_SLOT_ID *slots = calloc(n ? n : 1, sizeof(*slots));
    if (!slots)
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    if ((rv = f->C_GetSlotList(CK_TRUE, slots, &n)) != CKR_OK)
        return tlh_p11_fail(err, rv, "C_GetSlotList");
    CK_UTF8CHAR want[32];
    label_pad(label, want);
    for (CK_ULONG i = 0; i < n; i++) {
        CK_TOKEN_INFO ti;
        if (f->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
            continue;
        bool init = ti.flags & CKF_TOKEN_INITIALIZED;
        if ((uninit && !init) || (!uninit && init && memcmp(ti.label, want, 32) == 0)) {
            *out = slots[i];
            return 0;
        }
    }
    return -ENOENT;
}

/* First use: PINs written first (O_EXCL: a second opener fails there rather
 * than re-initialising a token), then C_InitToken and C_InitPIN as the SO. */
static int token_init(struct tlh_keystore *ks, const char *pins_path, struct pins *p,
                      struct tl_error *err)
{
    CK_FUNCTION_LIST_PTR f = tlh_p11(ks);
    CK_SLOT_ID slot;
    int r = slot_find(f, ks->label, true, &slot, err);
    if (r == -ENOENT)
        return tl_error_set_nopos(err, -ENOSPC, "PKCS#11 module %s: no free slot for token %s",
                                  ks->module, ks->label);
    if (r < 0 || (r = random_pin(p->so, err)) < 0 || (r = random_pin(p->user, err)) < 0 ||
        (r = pins_write(pins_path, ks->label, p, err)) < 0)
        return r;
    CK_UTF8CHAR label[32];
    label_pad(ks->label, label);
    CK_RV rv = f->C_InitToken(slot, (CK_UTF8CHAR_PTR)p->so, strlen(p->so), label);
    if (rv != CKR_OK) {
        unlink(pins_path); /* no token holds these PINs */
        return tlh_p11_fail(err, rv, "C_InitToken %s", ks->label);
    }
    /* SoftHSM2 moves an initialised token to a new slot id: look again */
    if ((r = slot_find(f, ks->label, false, &slot, err)) < 0)
        return r == -ENOENT
                   ? tl_error_set_nopos(err, -EIO, "token %s: gone after C_InitToken", ks->label)
                   : r;
    CK_SESSION_HANDLE s;
    if ((rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s)) !=
        CKR_OK)
        return tlh_p11_fail(err, rv, "C_OpenSession");
    rv = f->C_Login(s, CKU_SO, (CK_UTF8CHAR_PTR)p->so, strlen(p->so));
    if (rv == CKR_OK)
        rv = f->C_InitPIN(s, (CK_UTF8CHAR_PTR)p->user, strlen(p->user));
    f->C_Logout(s);
    f->C_CloseSession(s);
    return rv == CKR_OK ? 0 : tlh_p11_fail(err, rv, "token %s: setting the user PIN", ks->label);
}

static int mechs_probe(struct tlh_keystore *ks, struct tl_error *err)
{
    CK_FUNCTION_LIST_PTR f = tlh_p11(ks);
    CK_ULONG n = 0;
    CK_RV rv = f->C_GetMechanismList(ks->slot, NULL, &n);
    if (rv != CKR_OK)
        return tlh_p11_fail(err, rv, "C_GetMechanismList");
    _cleanup_free_ CK_MECHANISM_TYPE *m = calloc(n ? n : 1, sizeof(*m));
    if (!m)
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    if ((rv = f->C_GetMechanismList(ks->slot, m, &n)) != CKR_OK)
        return tlh_p11_fail(err, rv, "C_GetMechanismList");
    for (CK_ULONG i = 0; i < n; i++) {
        CK_MECHANISM_INFO mi;
        if (f->C_GetMechanismInfo(ks->slot, m[i], &mi) != CKR_OK || !(mi.flags & CKF_WRAP))
            continue;
        if (m[i] == CKM_RSA_AES_KEY_WRAP)
            ks->mechs.rsa_aes_key_wrap = true;
        else if (m[i] == CKM_AES_KEY_WRAP_PAD)
            ks->mechs.aes_key_wrap_pad = true;
        else if (m[i] == CKM_RSA_PKCS_OAEP)
            ks->mechs.rsa_oaep = true;
    }
    if (!ks->mechs.rsa_aes_key_wrap && !(ks->mechs.aes_key_wrap_pad && ks->mechs.rsa_oaep))
        return tl_error_set_nopos(err, -EOPNOTSUPP,
                                  "PKCS#11 module %s: wraps with neither CKM_RSA_AES_KEY_WRAP nor "
                                  "CKM_AES_KEY_WRAP_PAD + CKM_RSA_PKCS_OAEP",
                                  ks->module);
    return 0;
}

static int module_load(struct tlh_keystore *ks, struct tl_error *err)
{
    struct stat st;
    if (stat(ks->module, &st) < 0)
        return tl_error_set_nopos(err, -errno, "PKCS#11 module %s: %s", ks->module,
                                  strerror(errno));
    ks->dl = dlopen(ks->module, RTLD_NOW | RTLD_LOCAL);
    if (!ks->dl)
        return tl_error_set_nopos(err, -ELIBBAD, "PKCS#11 module %s: %s", ks->module, dlerror());
    CK_C_GetFunctionList get = (CK_C_GetFunctionList)dlsym(ks->dl, "C_GetFunctionList");
    CK_FUNCTION_LIST_PTR f = NULL;
    if (!get || get(&f) != CKR_OK || !f)
        return tl_error_set_nopos(err, -ELIBBAD, "PKCS#11 module %s: no C_GetFunctionList",
                                  ks->module);
    ks->p11 = f;
    CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK};
    CK_RV rv = f->C_Initialize(&args);
    if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED)
        return tlh_p11_fail(err, rv, "PKCS#11 module %s: C_Initialize", ks->module);
    ks->initialized = rv == CKR_OK;
    return 0;
}

static int keystore_open(struct tlh_keystore *ks, const struct tlh_keystore_config *cfg,
                         struct tl_error *err)
{
    const char *module = cfg->module ? cfg->module : TLH_KEYSTORE_DEFAULT_MODULE;
    const char *label = cfg->label ? cfg->label : TLH_KEYSTORE_DEFAULT_LABEL;
    if (!cfg->home || !*cfg->home)
        return tl_error_set_nopos(err, -EINVAL, "key store: no home directory");
    if (!*module || strlen(module) >= sizeof(ks->module))
        return tl_error_set_nopos(err, -EINVAL, "PKCS#11 module: no path, or one too long");
    if (!*label || strlen(label) >= sizeof(ks->label))
        return tl_error_set_nopos(err, -EINVAL, "token label %s: 1 to 32 characters", label);
    strcpy(ks->module, module);
    strcpy(ks->label, label);

    char conf[PATH_MAX], pins_path[PATH_MAX];
    int r = write_layout(cfg->home, conf, err);
    if (r < 0)
        return r;
    snprintf(pins_path, sizeof(pins_path), "%s/keys/token.json", cfg->home);
    /* a threaded caller set it before its threads (keystore.h): then no
     * setenv here, which would race with another thread's getenv */
    const char *cur = getenv("SOFTHSM2_CONF");
    if ((!cur || strcmp(cur, conf) != 0) && setenv("SOFTHSM2_CONF", conf, 1) < 0)
        return tl_error_set_nopos(err, -errno, "setenv SOFTHSM2_CONF: %s", strerror(errno));
    if ((r = module_load(ks, err)) < 0)
        return r;

    CK_FUNCTION_LIST_PTR f = tlh_p11(ks);
    struct pins p = {0};
    r = pins_read(pins_path, label, &p, err);
    if (r == -ENOENT)
        r = token_init(ks, pins_path, &p, err);
    if (r == 0) {
        CK_SLOT_ID slot = 0;
        r = slot_find(f, label, false, &slot, err);
        if (r == -ENOENT)
            r = tl_error_set_nopos(err, -ENOENT,
                                   "token %s: not in PKCS#11 module %s, though %s holds its PINs",
                                   label, module, pins_path);
        ks->slot = slot;
    }
    CK_SESSION_HANDLE s;
    CK_RV rv = CKR_OK;
    if (r == 0 && (rv = f->C_OpenSession(ks->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
                                         &s)) != CKR_OK)
        r = tlh_p11_fail(err, rv, "token %s: C_OpenSession", label);
    if (r == 0) {
        ks->session = s;
        rv = f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)p.user, strlen(p.user));
        if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN)
            r = tlh_p11_fail(err, rv, "token %s: user login", label);
    }
    explicit_bzero(&p, sizeof(p));
    if (r < 0)
        return r;
    return mechs_probe(ks, err);
}

int tlh_keystore_open(struct tlh_keystore *ks, const struct tlh_keystore_config *cfg,
                      struct tl_error *err)
{
    *ks = (struct tlh_keystore){0};
    int r = keystore_open(ks, cfg, err);
    if (r < 0)
        tlh_keystore_close(ks);
    return r;
}

void tlh_keystore_close(struct tlh_keystore *ks)
{
    CK_FUNCTION_LIST_PTR f = tlh_p11(ks);
    if (f && ks->session) {
        f->C_Logout(ks->session);
        f->C_CloseSession(ks->session);
    }
    if (f && ks->initialized)
        f->C_Finalize(NULL);
    if (ks->dl)
        dlclose(ks->dl);
    *ks = (struct tlh_keystore){0};
}
