#!/usr/bin/env bash
# image-build-gen1.sh - the Gen1 trustlaunch node image: a legacy-BIOS
# (SeaBIOS) bootable disk for pools that are not trusted-launch capable,
# built without root, loop devices or grub-install, reproducibly.
#
# Usage: scripts/image-build-gen1.sh OUT_DIR [--fixtures DIR] [--agent FILE|none]
#            [--agent-lib FILE]... [--cmdline "..."] [--busybox FILE]
#            [--tl FILE] [--grub-dir DIR] [--size MIB] [--epoch SECONDS]
#
#   OUT_DIR     receives disk.raw (MBR, GRUB i386-pc in the MBR and the
#               post-MBR gap, one bootable FAT32 partition with grub.cfg,
#               kernel and initramfs) and manifest.json
#   --fixtures  scripts/fixtures.sh's folder (default <repo>/fixtures): vmlinuz,
#               linux-image-*/lib/modules/* (the same kernel as the Gen2 image)
#   --agent     the node agent, /bin/tl-agent in the initramfs, with its
#               libraries (default none: the initramfs reports and powers off)
#   --agent-lib shared objects the agent loads at run time (repeatable)
#   --cmdline   kernel command line (default "console=ttyS0 panic=-1")
#   --busybox   a static busybox (default: FIXTURES/busybox-static/bin/busybox,
#               fetched with `apt-get download busybox-static` when missing)
#   --tl        the tl binary, only to list the kernel's Authenticode digest
#               (default $TL_BIN, else <repo>/build/src/tl/tl; optional)
#   --grub-dir  GRUB's i386-pc modules and images (default /usr/lib/grub/i386-pc,
#               Debian's grub-pc-bin)
#   --size      disk size in MiB (default 64)
#   --epoch     every timestamp in the image (default $SOURCE_DATE_EPOCH, else
#               1704067200 = 2024-01-01T00:00:00Z)
#
# Same inputs and options -> byte-identical disk.raw (see docs/image.md,
# "Gen1 image"). Exit status: 0 ok, 1 build failed, 2 bad usage or missing input.
set -euo pipefail

prog=${0##*/}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
image_dir=$repo/image
die() {
	echo "$prog: $*" >&2
	exit 1
}
bad() {
	echo "$prog: $*" >&2
	exit 2
}
usage() {
	sed -n '6,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

# Pinned like scripts/image-build.sh: the busybox every image gets by default.

# Fixed identities: the MBR disk signature, the FAT volume serial and label.
DISK_ID=0x544c0101
FAT_SERIAL=544c0101
FAT_LABEL=TL-BOOT
PART_TYPE=0c # FAT32 (LBA)

# GRUB i386-pc: boot.img's code in the MBR, core.img (diskboot.img + the
# LZMA'd kernel and modules) from LBA 1 in the gap before the partition.
GRUB_MODULES=(biosdisk part_msdos fat normal linux echo sleep reboot serial)
GRUB_PREFIX='(hd0,msdos1)/boot/grub'
# paths on the FAT partition, as grub sees them
P_GRUBCFG=/boot/grub/grub.cfg
P_KERNEL=/boot/vmlinuz
P_INITRD=/boot/initrd.img

[ $# -ge 1 ] || usage
case $1 in -*) usage ;; esac
out=$1
shift
fixtures=$repo/fixtures agent=none cmdline="console=ttyS0 panic=-1" busybox=
tl=${TL_BIN:-$repo/build/src/tl/tl} grub_dir=/usr/lib/grub/i386-pc size_mib=64
epoch=${SOURCE_DATE_EPOCH:-1704067200}
agent_libs=()
while [ $# -gt 0 ]; do
	[ $# -ge 2 ] || bad "$1 needs a value"
	case $1 in
	--fixtures) fixtures=$2 ;;
	--agent) agent=$2 ;;
	--agent-lib) agent_libs+=(--agent-lib "$2") ;;
	--cmdline) cmdline=$2 ;;
	--busybox) busybox=$2 ;;
	--tl) tl=$2 ;;
	--grub-dir) grub_dir=$2 ;;
	--size) size_mib=$2 ;;
	--epoch) epoch=$2 ;;
	*) bad "unknown option $1" ;;
	esac
	shift 2
done
case $size_mib in '' | *[!0-9]*) bad "--size: MiB, a number" ;; esac
[ "$size_mib" -ge 40 ] || bad "--size: FAT32 needs at least 40 MiB"
case $epoch in '' | *[!0-9]*) bad "--epoch: seconds since 1970, a number" ;; esac
[ "$epoch" -ge 315532800 ] || bad "--epoch: FAT cannot store times before 1980"
# The command line goes into grub.cfg verbatim: allow only characters grub's
# script reads as plain words, and normalise the spacing (as for Gen2).
case $cmdline in *[!A-Za-z0-9\ _.,:=/+@%-]*)
	bad "--cmdline: only letters, digits, spaces and _.,:=/+@%- (it goes into grub.cfg unquoted)" ;;
esac
read -ra words <<<"$cmdline"
cmdline="${words[*]}"

for t in grub-mkimage mformat mmd mcopy sfdisk jq sha1sum sha256sum sha384sum sha512sum cpio gzip dd; do
	command -v "$t" >/dev/null ||
		bad "$t not found (apt-get install grub-common grub-pc-bin mtools fdisk jq coreutils cpio gzip)"
done
for f in boot.img diskboot.img kernel.img lzma_decompress.img moddep.lst; do
	[ -r "$grub_dir/$f" ] || bad "$grub_dir/$f missing (apt-get install grub-pc-bin, or --grub-dir)"
done
for m in "${GRUB_MODULES[@]}"; do
	[ -r "$grub_dir/$m.mod" ] || bad "$grub_dir/$m.mod missing"
done

kernel=$fixtures/vmlinuz
[ -r "$kernel" ] || bad "$kernel missing (bash scripts/fixtures.sh $fixtures)"
# ---- the initramfs's inputs: modules, agent, busybox ----------------------------
# shellcheck source=image/lib.sh
. "$image_dir/lib.sh"
image_initramfs_inputs

# ---- work area -----------------------------------------------------------------
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/tl-image-gen1.XXXXXX")
trap 'rm -rf "$work"' EXIT
export TZ=UTC SOURCE_DATE_EPOCH=$epoch LC_ALL=C MTOOLS_SKIP_CHECK=1

# ---- initramfs: the same recipe as Gen2 ----------------------------------------
bash "$image_dir/mkinitramfs.sh" "$work/initrd.img" --busybox "$busybox" --moddir "$moddir" \
	--agent "$agent" "${agent_libs[@]}" --tool "$cryptsetup" --epoch "$epoch" --contents "$work/initramfs.json" ||
	die "initramfs failed"

# ---- grub.cfg and core.img -------------------------------------------------------
sed -e "s|@KERNEL@|$P_KERNEL|g" -e "s|@INITRD@|$P_INITRD|g" -e "s|@CMDLINE@|$cmdline|g" \
	"$image_dir/grub-gen1.cfg.in" >"$work/grub.cfg"
# core.img = diskboot.img (its block list: the sectors after it, from LBA 2)
# + lzma_decompress.img + the LZMA'd kernel.img, the modules (with their
# dependencies) and the embedded config, which puts grub's terminal on the
# serial line. The prefix names the device: normal mode reads
# $prefix/grub.cfg. grub-mkimage writes no time and no host path.
grub-mkimage -O i386-pc -d "$grub_dir" -o "$work/core.img" -c "$image_dir/grub-gen1-embed.cfg" \
	-p "$GRUB_PREFIX" "${GRUB_MODULES[@]}" || die "grub-mkimage failed"
core_size=$(stat -c %s "$work/core.img")
core_sectors=$(((core_size + 511) / 512))
part_start=2048 # 1 MiB: the gap holds core.img from LBA 1
[ "$core_sectors" -lt "$part_start" ] || die "core.img is $core_sectors sectors: it does not fit before LBA $part_start"
# diskboot.img's default block list (the last 12 bytes of its sector:
# start LBA 2 as 8 bytes, length, segment 0x820); grub-mkimage fills in the
# length. Check both, so a different grub cannot silently produce a disk
# that loads the wrong sectors.
bl_start=$(od -An -tu8 -j 500 -N 8 "$work/core.img" | tr -d ' ')
bl_len=$(od -An -tu2 -j 508 -N 2 "$work/core.img" | tr -d ' ')
if [ "$bl_start" != 2 ] || [ "$bl_len" != $((core_sectors - 1)) ]; then
	die "core.img's block list is start $bl_start, length $bl_len: expected 2, $((core_sectors - 1))"
fi
# boot.img reads core.img's first sector from the LBA at 0x5c (default 1).
kernel_sector=$(od -An -tu8 -j $((0x5c)) -N 8 "$grub_dir/boot.img" | tr -d ' ')
[ "$kernel_sector" = 1 ] || die "$grub_dir/boot.img: kernel sector is $kernel_sector, expected 1"

# ---- the disk: MBR + one FAT32 partition ----------------------------------------
disk=$work/disk.raw
sectors=$((size_mib * 2048))
part_size=$((sectors - part_start))
truncate -s "${size_mib}M" "$disk"
sfdisk --quiet --no-reread --no-tell-kernel --wipe never "$disk" >"$work/sfdisk.log" 2>&1 <<EOF || {
label: dos
label-id: $DISK_ID
unit: sectors
sector-size: 512
start=$part_start, size=$part_size, type=$PART_TYPE, bootable
EOF
	cat "$work/sfdisk.log" >&2
	die "sfdisk failed"
}
part="$disk@@$((part_start * 512))"
mformat -i "$part" -F -c 1 -T "$part_size" -h 64 -s 32 -H "$part_start" -m 0xf8 \
	-N "$FAT_SERIAL" -v "$FAT_LABEL" :: || die "mformat failed"
mmd -i "$part" ::/boot ::/boot/grub || die "mmd failed"
put() { # put HOST_FILE PATH
	mcopy -i "$part" -D o "$1" "::$2" || die "mcopy $1 failed"
}
put "$work/grub.cfg" "$P_GRUBCFG"
put "$kernel" "$P_KERNEL"
put "$work/initrd.img" "$P_INITRD"

# The MBR's code: boot.img's first 440 bytes (its BPB area is zeros, as on
# a fresh disk); the disk signature, the partition table and 0x55AA stay
# sfdisk's. Like grub-install on a hard disk, the 2-byte jump at 0x66 becomes
# two NOPs, so a BIOS that passes a boot drive without bit 7 gets 0x80.
head -c 440 "$grub_dir/boot.img" >"$work/mbr-code.bin"
printf '\220\220' | dd of="$work/mbr-code.bin" bs=1 seek=$((0x66)) conv=notrunc status=none
dd if="$work/mbr-code.bin" of="$disk" bs=440 count=1 conv=notrunc status=none
dd if="$work/core.img" of="$disk" bs=512 seek=1 conv=notrunc status=none
head -c 512 "$disk" | tail -c 2 | od -An -tx1 | grep -q '55 aa' || die "the MBR lost its 0x55AA signature"

# ---- manifest ----------------------------------------------------------------------
# What is measured: nothing, without a TPM. With one, SeaBIOS's TCG BIOS
# measures the MBR's 440 bytes of code (PCR 4, EV_IPL "MBR") and bytes
# 440-511 (PCR 5, EV_IPL_PARTITION_DATA), as plain SHA digests; GRUB 2.06
# for i386-pc has no TPM support, so nothing after the MBR is measured.
digests() { # file digests, every hash a TPM bank has
	jq -cn --arg a "$(sha1sum <"$1" | cut -d' ' -f1)" --arg b "$(sha256sum <"$1" | cut -d' ' -f1)" \
		--arg c "$(sha384sum <"$1" | cut -d' ' -f1)" --arg d "$(sha512sum <"$1" | cut -d' ' -f1)" \
		'{sha1: $a, sha256: $b, sha384: $c, sha512: $d}'
}
# The kernel is Gen2's: its Authenticode digest and signer tie the two images
# together, though nothing verifies or measures it on this boot path.
authenticode=null
if [ -x "$tl" ] && "$tl" secureboot digest "$kernel" --json >"$work/pe.json" 2>/dev/null; then
	authenticode=$(jq -c '{digests, signer: (.signatures[0].signer // null)}' "$work/pe.json")
fi
dd if="$disk" bs=1 skip=440 count=72 status=none >"$work/mbr-table.bin" # signature .. 0x55AA
grub_version=$(grub-mkimage --version 2>/dev/null | awk '{print $NF}')
grub_pkg=$(dpkg-query -W -f '${Version}' grub-pc-bin 2>/dev/null || true)

mv "$disk" "$out/disk.raw.tmp"
mv "$out/disk.raw.tmp" "$out/disk.raw"

# os: what the node runs, for its labels (tld: kubernetes.azure.com/os-sku):
# Debian 12's signed shim, grub and kernel (scripts/fixtures.sh fetches
# bookworm's), the kernel's version as the fixtures record it, and a
# busybox initramfs for user space (no Debian user space).
jq -n \
	--arg img_sha "$(sha256sum <"$out/disk.raw" | cut -d' ' -f1)" \
	--argjson img_size "$(stat -c %s "$out/disk.raw")" \
	--argjson epoch "$epoch" \
	--arg disk_id "$DISK_ID" --arg part_type "0x$PART_TYPE" \
	--argjson part_start "$part_start" --argjson part_size "$part_size" \
	--arg fat_serial "$FAT_SERIAL" --arg fat_label "$FAT_LABEL" \
	--argjson mbr_d "$(digests "$work/mbr-code.bin")" \
	--argjson table_d "$(digests "$work/mbr-table.bin")" \
	--argjson core_d "$(digests "$work/core.img")" --argjson core_size "$core_size" \
	--argjson core_sectors "$core_sectors" \
	--argjson kernel_d "$(digests "$kernel")" --argjson kernel_size "$(stat -L -c %s "$kernel")" \
	--argjson authenticode "$authenticode" \
	--argjson initrd_d "$(digests "$work/initrd.img")" --argjson initrd_size "$(stat -c %s "$work/initrd.img")" \
	--slurpfile initramfs "$work/initramfs.json" --arg bb_version "$busybox_version" \
	--arg os_kernel "$(cat "$fixtures/kernel-version" 2>/dev/null)" \
	--argjson grubcfg_d "$(digests "$work/grub.cfg")" --argjson grubcfg_size "$(stat -c %s "$work/grub.cfg")" \
	--arg grubcfg "$(cat "$work/grub.cfg")" --arg embed "$(cat "$image_dir/grub-gen1-embed.cfg")" \
	--arg prefix "$GRUB_PREFIX" --arg modules "${GRUB_MODULES[*]}" \
	--arg grub_version "$grub_version" --arg grub_pkg "$grub_pkg" \
	--arg p_grubcfg "$P_GRUBCFG" --arg p_kernel "$P_KERNEL" --arg p_initrd "$P_INITRD" \
	--arg cmdline "$cmdline" \
	'{
	  format: "trustlaunch-image/1",
	  generation: 1,
	  os: {name: "Debian", version: "12", kernel: (if $os_kernel == "" then null else $os_kernel end),
	       userspace: "busybox"},
	  firmware: "bios",
	  image: {file: "disk.raw", sha256: $img_sha, size: $img_size, partition_table: "msdos",
	          disk_id: $disk_id,
	          mbr_partition_data: {bytes: "440-511", digests: $table_d,
	                               measured: [{pcr: 5, by: "firmware, with a TPM", type: "EV_IPL_PARTITION_DATA"}]},
	          core: {start_lba: 1, sectors: $core_sectors},
	          partition: {partition: 1, type: $part_type, bootable: true,
	                      start_lba: $part_start, sectors: $part_size,
	                      filesystem: "fat32", serial: $fat_serial, label: $fat_label}},
	  epoch: $epoch,
	  boot_path: "linux",
	  grub: {platform: "i386-pc", version: $grub_version,
	         package: (if $grub_pkg == "" then null else $grub_pkg end),
	         prefix: $prefix, modules: ($modules | split(" ")), embedded_config: ($embed + "\n")},
	  components: [
	    {name: "mbr", path: "LBA 0, bytes 0-439", kind: "mbr", size: 440,
	     source: "boot.img", digests: $mbr_d, file_digests: $mbr_d, digest: "file",
	     measured: [{pcr: 4, by: "firmware, with a TPM", type: "EV_IPL", event: "MBR"}]},
	    {name: "grub", path: "LBA 1-\($core_sectors)", kind: "core", size: $core_size,
	     source: "grub-mkimage -O i386-pc", digests: $core_d, file_digests: $core_d,
	     digest: "file", measured: []},
	    {name: "kernel", path: $p_kernel, kind: "file", size: $kernel_size,
	     digests: $kernel_d, file_digests: $kernel_d, digest: "file",
	     authenticode: $authenticode, measured: []},
	    {name: "initramfs", path: $p_initrd, kind: "file", size: $initrd_size,
	     digests: $initrd_d, file_digests: $initrd_d, digest: "file", measured: [],
	     contents: $initramfs[0], busybox_version: (if $bb_version == "" then null else $bb_version end)},
	    {name: "grub.cfg", path: $p_grubcfg, kind: "file", size: $grubcfg_size,
	     digests: $grubcfg_d, file_digests: $grubcfg_d, digest: "file", measured: [],
	     text: ($grubcfg + "\n")}
	  ],
	  kernel_cmdline: $cmdline,
	  measured_boot: "firmware only: with a TPM, SeaBIOS measures the MBR (PCR 4) and its partition data (PCR 5); GRUB i386-pc measures nothing, so grub, grub.cfg, the kernel, its command line and the initramfs are in no PCR"
	}' >"$out/manifest.json.tmp"
mv "$out/manifest.json.tmp" "$out/manifest.json"
echo "$out/disk.raw $(jq -r .image.sha256 "$out/manifest.json")"
