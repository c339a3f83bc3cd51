/* A node's data disk (issue 15): a sparse raw file, nodes/NAME/data.img,
 * attached as a second virtio disk with the serial "tl-data" (the guest
 * finds it by that, not by its order). With an encryption key ("VAULT/KEY"
 * of a key vault) the guest's init releases the key through its agent
 * (keyrelease.c decides) and formats the disk as LUKS2 on its first boot,
 * opens it on later ones: the host only ever has ciphertext. The guest
 * learns which key from fw_cfg opt/trustlaunch/datadisk ("VAULT/KEY", or
 * "plain" for a disk without a key), never the key itself.
 *
 * The file is made at create and kept by reimage and resize (a data disk
 * outlives the OS disk, as Azure's do); it goes with the node's folder. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tld.h"
#include "tlhost/keystore.h"

#define DATADISK_FILE   "data.img"
#define DATADISK_SERIAL "tl-data"
#define DATADISK_SLOT   "0x10"

int tld_datadisk_parse(struct tld *t, const json_t *req, const char *size_key, const char *key_key,
                       struct tld_node_spec *spec, struct tl_error *err)
{
    json_t *size = json_object_get(req, size_key);
    json_t *key = json_object_get(req, key_key);
    spec->data_disk_gb = 0;
    spec->data_disk_key = "";
    if (!size && !key)
        return 0;
    if (!size)
        return tl_error_set_nopos(err, -EINVAL, "\"%s\" needs a \"%s\"", key_key, size_key);
    if (!json_is_integer(size) || json_integer_value(size) < 1 ||
        json_integer_value(size) > TLD_DATADISK_MAX_GB)
        return tl_error_set_nopos(err, -EINVAL, "\"%s\" must be an integer from 1 to %d (GiB)",
                                  size_key, TLD_DATADISK_MAX_GB);
    spec->data_disk_gb = (unsigned)json_integer_value(size);
    if (!key)
        return 0;
    const char *s = json_string_value(key);
    const char *slash = s ? strchr(s, '/') : NULL;
    char vault[TLH_KEYSTORE_VAULT_MAX + 1];
    if (!slash || (size_t)(slash - s) > TLH_KEYSTORE_VAULT_MAX)
        return tl_error_set_nopos(err, -EINVAL, "\"%s\" must be \"VAULT/KEY\" (a key vault's key)",
                                  key_key);
    snprintf(vault, sizeof(vault), "%.*s", (int)(slash - s), s);
    struct tl_error e = {0};
    if (tlh_keystore_names_check(vault, slash + 1, NULL, &e) < 0)
        return tl_error_set_nopos(err, -EINVAL, "\"%s\": %s", key_key, e.message);
    if (!spec->vtpm)
        return tl_error_set_nopos(err, -EINVAL,
                                  "\"%s\": the key is released only to a key of the node's vTPM: "
                                  "the node needs a vTPM",
                                  key_key);
    if (!(spec->data_disk_key = tld_intern(t, s)))
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    return 0;
}

/* Under tld.lock: the key must exist now (a typo is an error at create,
 * not a closed disk at boot); whether it may be released is its policy's,
 * at boot. */
int tld_datadisk_check_key(struct tld *t, const struct tld_node_spec *spec, struct tl_error *err)
{
    if (!spec->data_disk_gb || !spec->data_disk_key[0] ||
        json_object_get(t->keyvault.keys, spec->data_disk_key))
        return 0;
    const char *slash = strchr(spec->data_disk_key, '/');
    return tl_error_set_nopos(err, -EINVAL,
                              "the data disk's encryption key: no key %s in vault %.*s (tl "
                              "keyvault key create)",
                              slash + 1, (int)(slash - spec->data_disk_key), spec->data_disk_key);
}

void tld_datadisk_json(const struct tld_node_spec *spec, json_t *obj)
{
    if (!spec->data_disk_gb)
        return;
    json_object_set_new(obj, "data_disk_size_gb", json_integer(spec->data_disk_gb));
    json_object_set_new(obj, "data_disk_encryption_key", json_string(spec->data_disk_key));
}

void tld_datadisk_from_json(struct tld *t, const json_t *obj, struct tld_node_spec *spec)
{
    json_int_t gb = json_integer_value(json_object_get(obj, "data_disk_size_gb"));
    spec->data_disk_gb = gb > 0 && gb <= TLD_DATADISK_MAX_GB ? (unsigned)gb : 0;
    spec->data_disk_key =
        tld_intern(t, json_string_value(json_object_get(obj, "data_disk_encryption_key")));
    if (!spec->data_disk_key)
        spec->data_disk_key = "";
}

int tld_datadisk_path(const struct tld *t, const struct tld_node *n, char *out, size_t size)
{
    return tld_node_path(t, n, DATADISK_FILE, out, size);
}

/* Without the lock: the sparse file, once (a reimage keeps what is there). */
int tld_datadisk_make(struct tld *t, struct tld_node *n, struct tl_error *err)
{
    if (!n->spec.data_disk_gb)
        return 0;
    char path[PATH_MAX];
    if (tld_datadisk_path(t, n, path, sizeof(path)) < 0)
        return tl_error_set_nopos(err, -ENAMETOOLONG, "%s: path too long", t->home);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 && errno == EEXIST)
        return 0;
    if (fd < 0)
        return tl_error_set_nopos(err, -errno, "%s: %s", path, strerror(errno));
    int r = 0;
    if (ftruncate(fd, (off_t)n->spec.data_disk_gb << 30) < 0 || fsync(fd) < 0)
        r = tl_error_set_nopos(err, -errno, "%s: %s", path, strerror(errno));
    close(fd);
    if (r < 0)
        unlink(path);
    return r;
}

/* QEMU's options for the disk: -drive DRIVE -device DEVICE -fw_cfg CFG;
 * 0 (nothing to add: *drive empty) or -ENAMETOOLONG / -EINVAL (a comma in
 * the path, QEMU's option syntax). */
int tld_datadisk_qemu_args(const struct tld *t, const struct tld_node *n, char *drive,
                           size_t drive_size, char *device, size_t device_size, char *cfg,
                           size_t cfg_size)
{
    *drive = *device = *cfg = 0;
    if (!n->spec.data_disk_gb)
        return 0;
    char path[PATH_MAX];
    if (tld_datadisk_path(t, n, path, sizeof(path)) < 0)
        return -ENAMETOOLONG;
    if (strchr(path, ',') || strchr(n->spec.data_disk_key, ','))
        return -EINVAL;
    int a = snprintf(drive, drive_size, "if=none,id=data0,format=raw,file=%s,discard=unmap", path);
    /* a PCI slot after the OS disk's: firmware and grub number disks in
     * slot order, and grub's measured commands name the boot disk (hd0) */
    int b = snprintf(device, device_size,
                     "virtio-blk-pci,drive=data0,serial=" DATADISK_SERIAL ",addr=" DATADISK_SLOT);
    int c = snprintf(cfg, cfg_size, "name=opt/trustlaunch/datadisk,string=%s",
                     n->spec.data_disk_key[0] ? n->spec.data_disk_key : "plain");
    if (a < 0 || (size_t)a >= drive_size || b < 0 || (size_t)b >= device_size || c < 0 ||
        (size_t)c >= cfg_size)
        return -ENAMETOOLONG;
    return 0;
}
