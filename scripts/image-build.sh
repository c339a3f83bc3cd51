#!/usr/bin/env bash
# image-build.sh - the trustlaunch node image: a UEFI-bootable disk built from
# Debian's signed packages, without root or loop devices, reproducibly.
#
# Usage: scripts/image-build.sh OUT_DIR [--fixtures DIR] [--agent FILE|none]
#            [--agent-lib FILE]... [--cmdline "..."] [--busybox FILE]
#            [--tl FILE] [--boot linuxefi|linux] [--size MIB] [--epoch SECONDS]
#
#   OUT_DIR     receives disk.raw (GPT, one FAT32 EFI System Partition) and
#               manifest.json (every boot component, its digests and signer,
#               and what grub will measure)
#   --fixtures  Debian's signed binaries unpacked by scripts/fixtures.sh
#               (default <repo>/fixtures): shimx64.efi.signed,
#               grubx64.efi.signed, vmlinuz, linux-image-*/lib/modules/*
#   --agent     the node agent, /bin/tl-agent in the initramfs, with its
#               libraries (default none: the initramfs reports and powers off;
#               `tl image build` passes its own build's tl-agent). An agent
#               built with AddressSanitizer is refused
#   --agent-lib shared objects the agent loads at run time (repeatable); the
#               device TCTI of an agent linked with libtss2-tctildr is added
#               without asking
#   --cmdline   kernel command line (default "console=ttyS0 panic=-1")
#   --busybox   a static busybox (default: FIXTURES/busybox-static/bin/busybox,
#               fetched with `apt-get download busybox-static` when missing)
#   --tl        the tl binary, for Authenticode digests and signers
#               (default $TL_BIN, else <repo>/build/src/tl/tl)
#   --boot      how grub starts the kernel (default linuxefi: through the
#               kernel's EFI stub, in both Secure Boot modes; "linux" is
#               Debian's default, which skips the stub when Secure Boot is off
#               and loses the TPM event log: kept to show that, see docs/image.md)
#   --size      disk size in MiB (default 64)
#   --epoch     every timestamp in the image (default $SOURCE_DATE_EPOCH, else
#               1704067200 = 2024-01-01T00:00:00Z)
#
# Same inputs and options -> byte-identical disk.raw (see docs/image.md).
# Exit status: 0 ok, 1 build failed, 2 bad usage or missing input.
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
	sed -n '5,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

# Pinned like scripts/fixtures.sh: the busybox every image gets by default.

# Fixed identities: the GPT disk and partition GUIDs, the FAT volume serial
# and label. Every image has the same ones; the content tells images apart.
DISK_GUID=7D0C5A4E-6C72-4F1B-9A3E-54524C000001
ESP_GUID=7D0C5A4E-6C72-4F1B-9A3E-54524C000002
ESP_TYPE=C12A7328-F81F-11D2-BA4B-00A0C93EC93B
FAT_SERIAL=544c0001
FAT_LABEL=TL-ESP

# ESP paths (shim loads grubx64.efi from its own folder; Debian's signed grub
# has prefix /EFI/debian and reads grub.cfg there).
ESP_SHIM='\EFI\BOOT\BOOTX64.EFI'
ESP_GRUB='\EFI\BOOT\grubx64.efi'
ESP_GRUBCFG='\EFI\debian\grub.cfg'
ESP_KERNEL='\EFI\debian\vmlinuz'
ESP_INITRD='\EFI\debian\initrd.img'

[ $# -ge 1 ] || usage
case $1 in -*) usage ;; esac
out=$1
shift
fixtures=$repo/fixtures agent=none cmdline="console=ttyS0 panic=-1" busybox=
tl=${TL_BIN:-$repo/build/src/tl/tl} boot=linuxefi size_mib=64
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
	--boot) boot=$2 ;;
	--size) size_mib=$2 ;;
	--epoch) epoch=$2 ;;
	*) bad "unknown option $1" ;;
	esac
	shift 2
done
case $boot in linuxefi | linux) ;; *) bad "--boot: linuxefi or linux, not $boot" ;; esac
case $size_mib in '' | *[!0-9]*) bad "--size: MiB, a number" ;; esac
[ "$size_mib" -ge 40 ] || bad "--size: FAT32 needs at least 40 MiB"
case $epoch in '' | *[!0-9]*) bad "--epoch: seconds since 1970, a number" ;; esac
[ "$epoch" -ge 315532800 ] || bad "--epoch: FAT cannot store times before 1980"
# The command line goes into grub.cfg verbatim and grub measures it as its
# words joined by one space: allow only characters grub's script reads as
# plain words, and normalise the spacing so the prediction is exact.
case $cmdline in *[!A-Za-z0-9\ _.,:=/+@%-]*)
	bad "--cmdline: only letters, digits, spaces and _.,:=/+@%- (it goes into grub.cfg unquoted)" ;;
esac
read -ra words <<<"$cmdline"
cmdline="${words[*]}"

for t in mformat mmd mcopy sfdisk jq sha1sum sha256sum sha384sum sha512sum cpio gzip; do
	command -v "$t" >/dev/null ||
		bad "$t not found (apt-get install mtools fdisk jq coreutils cpio gzip)"
done
[ -x "$tl" ] || bad "tl not found at $tl (ninja -C build, or --tl / TL_BIN)"

shim=$fixtures/shimx64.efi.signed
grub=$fixtures/grubx64.efi.signed
kernel=$fixtures/vmlinuz
for f in "$shim" "$grub" "$kernel"; do
	[ -r "$f" ] || bad "$f missing (bash scripts/fixtures.sh $fixtures)"
done
# ---- the initramfs's inputs: modules, agent, busybox ----------------------------
# shellcheck source=image/lib.sh
. "$image_dir/lib.sh"
image_initramfs_inputs

# ---- work area ----------------------------------------------------------------
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/tl-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
export TZ=UTC SOURCE_DATE_EPOCH=$epoch LC_ALL=C MTOOLS_SKIP_CHECK=1

# ---- initramfs ----------------------------------------------------------------
bash "$image_dir/mkinitramfs.sh" "$work/initrd.img" --busybox "$busybox" --moddir "$moddir" \
	--agent "$agent" "${agent_libs[@]}" --tool "$cryptsetup" --epoch "$epoch" --contents "$work/initramfs.json" ||
	die "initramfs failed"

# ---- grub.cfg ------------------------------------------------------------------
# grub paths: the ESP is grub's root device, forward slashes.
gpath() { printf '%s' "${1//\\//}"; }
case $boot in
linuxefi) linux_cmd=linuxefi initrd_cmd=initrdefi ;;
linux) linux_cmd=linux initrd_cmd=initrd ;;
esac
sed -e "s|@BOOT_PATH@|$boot|g" -e "s|@LINUX_CMD@|$linux_cmd|g" -e "s|@INITRD_CMD@|$initrd_cmd|g" \
	-e "s|@KERNEL@|$(gpath "$ESP_KERNEL")|g" -e "s|@INITRD@|$(gpath "$ESP_INITRD")|g" \
	-e "s|@CMDLINE@|$cmdline|g" "$image_dir/grub.cfg.in" >"$work/grub.cfg"

# ---- the disk: GPT + FAT32 ESP ------------------------------------------------
disk=$work/disk.raw
sectors=$((size_mib * 2048))
esp_start=2048                          # 1 MiB
esp_size=$((sectors - esp_start - 2048)) # 1 MiB at the end for the backup GPT (33 sectors), aligned
truncate -s "${size_mib}M" "$disk"
sfdisk --quiet --no-reread --no-tell-kernel --wipe never "$disk" >"$work/sfdisk.log" 2>&1 <<EOF || {
label: gpt
label-id: $DISK_GUID
unit: sectors
sector-size: 512
first-lba: 2048
start=$esp_start, size=$esp_size, type=$ESP_TYPE, uuid=$ESP_GUID, name="EFI System Partition"
EOF
	cat "$work/sfdisk.log" >&2
	die "sfdisk failed"
}
esp="$disk@@$((esp_start * 512))"
# FAT32 (-F), 512-byte clusters, fixed serial and label; hidden sectors = the
# partition's start LBA; timestamps from SOURCE_DATE_EPOCH (mtools >= 4.0.30).
mformat -i "$esp" -F -c 1 -T "$esp_size" -h 64 -s 32 -H "$esp_start" -m 0xf8 \
	-N "$FAT_SERIAL" -v "$FAT_LABEL" :: || die "mformat failed"
espp() { printf '::%s' "$(gpath "$1")"; }
mmd -i "$esp" ::/EFI ::/EFI/BOOT ::/EFI/debian || die "mmd failed"
put() { # put HOST_FILE ESP_PATH
	mcopy -i "$esp" -D o "$1" "$(espp "$2")" || die "mcopy $1 failed"
}
put "$shim" "$ESP_SHIM"
put "$grub" "$ESP_GRUB"
put "$work/grub.cfg" "$ESP_GRUBCFG"
put "$kernel" "$ESP_KERNEL"
put "$work/initrd.img" "$ESP_INITRD"

# ---- manifest -------------------------------------------------------------------
digests() { # file digests, every TPM bank
	jq -cn --arg a "$(sha1sum <"$1" | cut -d' ' -f1)" --arg b "$(sha256sum <"$1" | cut -d' ' -f1)" \
		--arg c "$(sha384sum <"$1" | cut -d' ' -f1)" --arg d "$(sha512sum <"$1" | cut -d' ' -f1)" \
		'{sha1: $a, sha256: $b, sha384: $c, sha512: $d}'
}
sdigests() { # string digests, every TPM bank (grub measures strings without their NUL)
	local f=$work/str
	printf '%s' "$1" >"$f"
	digests "$f"
}
"$tl" secureboot digest "$shim" "$grub" "$kernel" --json >"$work/pe.json" ||
	die "tl secureboot digest failed"
verify_json=null
vars=${TL_OVMF_DIR:-/usr/share/OVMF}/OVMF_VARS_4M.ms.fd
if [ -r "$vars" ]; then
	rc=0
	"$tl" secureboot verify --vars "$vars" "$shim" "$grub" "$kernel" --json >"$work/verify.json" || rc=$?
	[ $rc -le 1 ] || die "tl secureboot verify failed"
	verify_json=$(jq -c --arg v "${vars##*/}" '{vars: $v, verdict, components: [.components[] |
		{component, verifier, allowed, source, certificate: .certificate.subject}]}' "$work/verify.json")
fi
modsig_json=null
if [ -r "$fixtures/module-cert.pem" ]; then
	mods=()
	while read -r p; do mods+=(--modules "$moddir/${p#/lib/modules/*/}"); done \
		< <(jq -r '.files[] | select(.kind == "module") | .path' "$work/initramfs.json")
	rc=0
	"$tl" secureboot verify --vars "${vars}" "$shim" "$grub" "$kernel" "${mods[@]}" \
		--module-cert "$fixtures/module-cert.pem" --json >"$work/modverify.json" 2>/dev/null || rc=$?
	[ $rc -gt 1 ] || modsig_json=$(jq -c '[.modules[] | {name: .module, allowed, signer}]' "$work/modverify.json")
fi

# What grub 2.06 (Debian) measures: every command it runs -> PCR 8 as
# "grub_cmd: <command>" (the digest covers the text after the prefix), the
# kernel command line -> PCR 8 as "kernel_cmdline: <path> <args>", every file
# it reads -> PCR 9 (digest of the file, the event names the path).
# The first four commands come from the config built into Debian's signed
# grub image; the device is the ESP, GPT partition 1 of the boot disk.
dev='(hd0,gpt1)'
prefix="$dev/EFI/debian"
kpath=$(gpath "$ESP_KERNEL")
ipath=$(gpath "$ESP_INITRD")
grub_commands=(
	"[ -z $prefix -o ! -e $prefix ]"
	"[ -e $prefix/x86_64-efi/grub.cfg ]"
	"[ -e $prefix/grub.cfg ]"
	"source $prefix/grub.cfg"
	"echo TL: grub $boot"
	"$linux_cmd $kpath $cmdline"
	"$initrd_cmd $ipath"
	"boot"
)
cmdline_measured="$kpath $cmdline"
{
	for c in "${grub_commands[@]:0:4}"; do
		jq -cn --arg e "grub_cmd: $c" --argjson d "$(sdigests "$c")" '{pcr: 8, event: $e, digests: $d}'
	done
	jq -cn --arg e "$prefix/grub.cfg" --argjson d "$(digests "$work/grub.cfg")" \
		'{pcr: 9, event: $e, component: "grub.cfg", digests: $d}'
	for c in "${grub_commands[@]:4:2}"; do
		jq -cn --arg e "grub_cmd: $c" --argjson d "$(sdigests "$c")" '{pcr: 8, event: $e, digests: $d}'
	done
	jq -cn --arg e "$kpath" --argjson d "$(digests "$kernel")" \
		'{pcr: 9, event: $e, component: "kernel", digests: $d}'
	jq -cn --arg e "kernel_cmdline: $cmdline_measured" --argjson d "$(sdigests "$cmdline_measured")" \
		'{pcr: 8, event: $e, digests: $d}'
	jq -cn --arg e "grub_cmd: ${grub_commands[6]}" --argjson d "$(sdigests "${grub_commands[6]}")" \
		'{pcr: 8, event: $e, digests: $d}'
	jq -cn --arg e "$ipath" --argjson d "$(digests "$work/initrd.img")" \
		'{pcr: 9, event: $e, component: "initramfs", digests: $d}'
	jq -cn --arg e "grub_cmd: ${grub_commands[7]}" --argjson d "$(sdigests "${grub_commands[7]}")" \
		'{pcr: 8, event: $e, digests: $d}'
} | jq -s . >"$work/grub-events.json"

# PCR 8 and 9 start at zero and only grub extends them on this image (the
# kernel's EFI stub measures nothing here: grub hands it the initrd; IMA uses
# PCR 10): their final values follow from the events above.
extend() { # extend ALG OLD_HEX DIGEST_HEX -> new PCR value
	local esc
	esc=$(printf '%s%s' "$2" "$3" | sed 's/../\\x&/g')
	printf '%b' "$esc" | "${1}sum" | cut -d' ' -f1
}
pcr_value() { # pcr_value PCR ALG
	local v zero
	zero=$(printf '%0*d' "$(($(printf '' | "${2}sum" | cut -d' ' -f1 | wc -c) - 1))" 0)
	v=$zero
	while read -r d; do v=$(extend "$2" "$v" "$d"); done \
		< <(jq -r --argjson p "$1" --arg a "$2" '.[] | select(.pcr == $p) | .digests[$a]' "$work/grub-events.json")
	echo "$v"
}
for p in 8 9; do
	jq -cn --arg p "$p" --arg a "$(pcr_value "$p" sha1)" --arg b "$(pcr_value "$p" sha256)" \
		--arg c "$(pcr_value "$p" sha384)" --arg d "$(pcr_value "$p" sha512)" \
		'{($p): {sha1: $a, sha256: $b, sha384: $c, sha512: $d}}'
done | jq -s add >"$work/pcrs.json"

# The firmware measures the GPT into PCR 5 (EV_EFI_GPT_EVENT, UEFI_GPT_DATA):
# the header (92 bytes at LBA 1), the number of partitions in use (UINT64)
# and those entries (128 bytes each, from LBA 2). Fixed GUIDs make it a
# constant of the image.
{
	dd if="$disk" bs=1 skip=512 count=92 status=none
	printf '\001\0\0\0\0\0\0\0'
	dd if="$disk" bs=1 skip=1024 count=128 status=none
} >"$work/gpt-event.bin"
gpt_event=$(jq -cn --arg data "$(od -An -tx1 -v "$work/gpt-event.bin" | tr -d ' \n')" \
	--argjson d "$(digests "$work/gpt-event.bin")" \
	'{pcr: 5, type: "EV_EFI_GPT_EVENT", data: $data, digests: $d}')

mv "$disk" "$out/disk.raw.tmp"
mv "$out/disk.raw.tmp" "$out/disk.raw"

# os: what the node runs, for its labels (tld: kubernetes.azure.com/os-sku):
# Debian 12's signed shim, grub and kernel (scripts/fixtures.sh fetches
# bookworm's), the kernel's version as the fixtures record it, and a
# busybox initramfs for user space (no Debian user space).
jq -n \
	--arg img_sha "$(sha256sum <"$out/disk.raw" | cut -d' ' -f1)" \
	--argjson img_size "$(stat -c %s "$out/disk.raw")" \
	--slurpfile pe "$work/pe.json" \
	--argjson verify "$verify_json" \
	--argjson modsig "$modsig_json" \
	--slurpfile initramfs "$work/initramfs.json" \
	--slurpfile events "$work/grub-events.json" \
	--slurpfile pcrs "$work/pcrs.json" \
	--argjson gpt_event "$gpt_event" \
	--argjson grubcfg_d "$(digests "$work/grub.cfg")" \
	--argjson grubcfg_size "$(stat -c %s "$work/grub.cfg")" \
	--argjson filed "$(jq -cn --argjson s "$(digests "$shim")" --argjson g "$(digests "$grub")" \
		--argjson k "$(digests "$kernel")" '{shim: $s, grub: $g, kernel: $k}')" \
	--arg grubcfg "$(cat "$work/grub.cfg")" \
	--argjson initrd_d "$(digests "$work/initrd.img")" \
	--argjson initrd_size "$(stat -c %s "$work/initrd.img")" \
	--arg cmdline "$cmdline" --arg cmdline_measured "$cmdline_measured" \
	--arg boot "$boot" --argjson epoch "$epoch" \
	--arg shim_p "$ESP_SHIM" --arg grub_p "$ESP_GRUB" --arg kernel_p "$ESP_KERNEL" \
	--arg initrd_p "$ESP_INITRD" --arg grubcfg_p "$ESP_GRUBCFG" \
	--arg disk_guid "$DISK_GUID" --arg esp_guid "$ESP_GUID" \
	--arg fat_serial "$FAT_SERIAL" --arg fat_label "$FAT_LABEL" \
	--argjson esp_start "$esp_start" --argjson esp_size "$esp_size" \
	--arg bb_version "$busybox_version" \
	--arg os_kernel "$(cat "$fixtures/kernel-version" 2>/dev/null)" \
	--args '
	def pe($name; $path; $pcrs):
		($pe[] | select(.component == $name)) as $p
		| {name: $name, path: $path, kind: "pe", size: null,
		   digests: $p.digests, digest: "authenticode",
		   signer: ($p.signatures[0].signer // null),
		   signers: [$p.signatures[].signer], sbat: $p.sbat,
		   allowed_by: (if $verify == null then null
		     else ($verify.components[] | select(.component == $name)
		           | {vars: $verify.vars, verifier, allowed, source, certificate}) end),
		   file_digests: $filed[$name],
		   measured: $pcrs};
	{
	  format: "trustlaunch-image/1",
	  generation: 2,
	  os: {name: "Debian", version: "12", kernel: (if $os_kernel == "" then null else $os_kernel end),
	       userspace: "busybox"},
	  firmware: "uefi",
	  image: {file: "disk.raw", sha256: $img_sha, size: $img_size, partition_table: "gpt",
	          disk_guid: $disk_guid, gpt_event: $gpt_event,
	          esp: {partition: 1, guid: $esp_guid, start_lba: $esp_start, sectors: $esp_size,
	                filesystem: "fat32", serial: $fat_serial, label: $fat_label}},
	  epoch: $epoch,
	  boot_path: $boot,
	  components: [
	    pe("shim"; $shim_p; [{pcr: 4, by: "firmware", digest: "authenticode"}]),
	    pe("grub"; $grub_p; [{pcr: 4, by: "shim", digest: "authenticode"}]),
	    pe("kernel"; $kernel_p; [{pcr: 9, by: "grub", digest: "file"},
	                             {pcr: 4, by: "shim (grub asks it to verify the kernel)",
	                              digest: "authenticode", count: 2, when: "secure-boot-on"}]),
	    {name: "initramfs", path: $initrd_p, kind: "file", size: $initrd_size, digests: $initrd_d, file_digests: $initrd_d,
	     digest: "file", measured: [{pcr: 9, by: "grub", digest: "file"}],
	     contents: $initramfs[0], busybox_version: (if $bb_version == "" then null else $bb_version end),
	     module_signatures: $modsig},
	    {name: "grub.cfg", path: $grubcfg_p, kind: "file", size: $grubcfg_size,
	     digests: $grubcfg_d, file_digests: $grubcfg_d, digest: "file", text: ($grubcfg + "\n"),
	     measured: [{pcr: 9, by: "grub", digest: "file"}]}
	  ]
	  | map(if .kind == "pe" then .size = null else . end),
	  kernel_cmdline: $cmdline,
	  kernel_cmdline_measured: $cmdline_measured,
	  grub_commands: [$events[0][] | select(.pcr == 8) | .event | select(startswith("grub_cmd: ")) | ltrimstr("grub_cmd: ")],
	  grub_events: $events[0],
	  pcrs: $pcrs[0]
	}' >"$out/manifest.json.tmp"
# PE sizes (jq has no file access)
jq --argjson s "$(stat -L -c %s "$shim")" --argjson g "$(stat -L -c %s "$grub")" --argjson k "$(stat -L -c %s "$kernel")" \
	'.components |= map(if .name == "shim" then .size = $s elif .name == "grub" then .size = $g
	                    elif .name == "kernel" then .size = $k else . end)' \
	"$out/manifest.json.tmp" >"$out/manifest.json"
rm -f "$out/manifest.json.tmp"
echo "$out/disk.raw $(jq -r .image.sha256 "$out/manifest.json")"
