#!/usr/bin/env bash
# e2e: the Gen1 node image (scripts/image-build-gen1.sh) boots from legacy
# BIOS (SeaBIOS) through GRUB i386-pc.
#
# 1. Builds the image twice (different work folders, umask and clock) and
#    requires the same disk.raw SHA-256, equal to the manifest's; checks the
#    disk's layout (MBR, bootable FAT32 partition at 1 MiB, GRUB's boot.img
#    code in the MBR, core.img from LBA 1) against the manifest.
# 2. Boots it in QEMU q35 + SeaBIOS (TCG), on a qcow2 overlay so disk.raw
#    stays untouched:
#    a. virtio-blk, no TPM: grub's "TL: grub i386-pc linux", then the
#       initramfs: "TL: efi-stub=no (type_of_loader=0x72)" (grub's legacy
#       loader), "TL: secure-boot=unknown" (no /sys/firmware/efi),
#       "TL: tpm=absent", "TL: done"; the kernel printed no "efi:" line;
#    b. the same disk on q35's AHCI controller (ide-hd): "TL: done";
#    c. virtio-blk + swtpm (tpm-tis): what a Gen1 boot measures. The log
#       (from ACPI's TPM2 table) replays to the PCRs, PCR 4 holds the MBR
#       code and PCR 5 the partition data with the manifest's digests, and
#       PCR 8 and 9 stay zero: nothing after the MBR is measured.
# Each boot's time is printed: firmware, grub, grub loading the kernel,
# kernel to done (host timestamps of console lines).
#
# Environment:
#   TL_BIN        path to tl                          (required)
#   TL_FIXTURES   scripts/fixtures.sh's folder         (required)
#   TL_SEABIOS    SeaBIOS image (default /usr/share/seabios/bios-256k.bin)
#   TL_E2E_BOOT_TIMEOUT  seconds per boot before giving up (default 120)
#   TL_E2E_KEEP   1: keep the work folder (images, manifests, serial logs)
#
# Prints "ok - ..." / "not ok - ..." lines; exit 0 all passed, 1 a failure,
# 77 skip (only when qemu-system-x86_64 or the SeaBIOS image is missing).
set -u
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"

: "${TL_BIN:?TL_BIN must point to the tl binary}"
: "${TL_FIXTURES:?TL_FIXTURES must point to the fixtures folder}"
SEABIOS=${TL_SEABIOS:-/usr/share/seabios/bios-256k.bin}
BOOT_TIMEOUT=${TL_E2E_BOOT_TIMEOUT:-120}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=$repo/scripts/image-build-gen1.sh

# ---- skip only for a missing emulator or firmware -----------------------------
if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
	skip_all "qemu-system-x86_64 not installed (apt-get install qemu-system-x86)"
fi
if [ ! -r "$SEABIOS" ]; then
	skip_all "$SEABIOS missing (apt-get install seabios, or set TL_SEABIOS)"
fi


missing=
for t in qemu-img grub-mkimage mformat mmd mcopy sfdisk cpio gzip jq timeout base64 swtpm; do
	command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
done
[ -z "$missing" ] || bail "tools missing:$missing (make deps)"
[ -r /usr/lib/grub/i386-pc/boot.img ] || bail "/usr/lib/grub/i386-pc missing (apt-get install grub-pc-bin)"
[ "${BASH_VERSINFO[0]}" -ge 5 ] || bail "bash >= 5 needed (EPOCHREALTIME)"
[ -x "$TL_BIN" ] || bail "TL_BIN=$TL_BIN is not executable"
[ -r "$TL_FIXTURES/vmlinuz" ] || bail "$TL_FIXTURES/vmlinuz missing (make fixtures)"
# the script works in its own folder: make relative paths absolute
TL_BIN=$(realpath "$TL_BIN") TL_FIXTURES=$(realpath "$TL_FIXTURES")

W=$(mktemp -d "${TMPDIR:-/tmp}/tl-e2e-gen1.XXXXXX") || bail "mktemp"
QEMU_PID=
SWTPM_PID=
stop() { # stop PID: TERM, then wait (our own children only)
	[ -n "$1" ] || return 0
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}
# shellcheck disable=SC2317 # called through trap
cleanup() {
	stop "$QEMU_PID"
	stop "$SWTPM_PID"
	if [ "${TL_E2E_KEEP:-0}" = 1 ]; then
		echo "# work folder kept: $W"
	else
		rm -rf "$W"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cd "$W" || bail "cd $W"
echo "# work folder: $W"

# tl.dumplog: with a TPM, the initramfs prints the PCRs and the event log
CMDLINE="console=ttyS0 panic=-1 tl.dumplog"
cp "$TL_BIN" "$W/tl" || bail "copy $TL_BIN"
TL_BIN=$W/tl

# ---- 1. build twice: same digest ------------------------------------------------
build() { # build OUT_DIR TMP_DIR UMASK [more options]: leaves $build_secs
	local out=$1 tmp=$2 mask=$3 t0
	shift 3
	mkdir -p "$tmp"
	t0=$EPOCHREALTIME
	(umask "$mask" && TMPDIR=$tmp bash "$BUILD" "$out" --fixtures "$TL_FIXTURES" --tl "$TL_BIN" \
		--cmdline "$CMDLINE" "$@") >"$out.log" 2>&1
	local rc=$?
	build_secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
	return $rc
}
build img1 tmp1 022 || {
	cat img1.log
	bail "image-build-gen1.sh failed"
}
secs1=$build_secs
sleep 2 # a different clock: FAT and cpio times must not follow it
build img2 tmp2 077 || {
	cat img2.log
	bail "image-build-gen1.sh (second build) failed"
}
sum1=$(sha256sum <img1/disk.raw | cut -d' ' -f1)
sum2=$(sha256sum <img2/disk.raw | cut -d' ' -f1)
if [ "$sum1" = "$sum2" ]; then
	ok "two builds (other work folder, umask 077, 2 s later) give the same disk.raw: sha256 $sum1 (${secs1}s, ${build_secs}s)"
else
	not_ok "builds differ: $sum1 vs $sum2"
fi
check "the manifests are identical too" cmp -s img1/manifest.json img2/manifest.json
M=img1/manifest.json
check "manifest image.sha256 is the disk's digest" test "$(jq -r .image.sha256 $M)" = "$sum1"
check "manifest: generation 1, firmware bios, msdos partition table" \
	test "$(jq -c '[.generation, .firmware, .image.partition_table]' $M)" = '[1,"bios","msdos"]'
check "manifest: mbr, grub, kernel, initramfs, grub.cfg" \
	test "$(jq -c '[.components[].name]' $M)" = '["mbr","grub","kernel","initramfs","grub.cfg"]'
check "manifest: kernel_cmdline is the one asked for" test "$(jq -r .kernel_cmdline $M)" = "$CMDLINE"
want=$("$TL_BIN" secureboot digest "$TL_FIXTURES/vmlinuz" --json | jq -c .digests)
check "manifest: the kernel's Authenticode digests are tl secureboot digest's (the Gen2 kernel)" \
	test "$(jq -c '.components[2].authenticode.digests' $M)" = "$want"

# the layout, read back from the disk
sfdisk -d img1/disk.raw 2>/dev/null | sed -n 's/^label: //p; s/^label-id: //p; s/^[^ ]*1 : //p' | tr -s ' ' >layout.txt
check "MBR: dos label, disk id 0x544c0101, partition 1 at 2048, bootable, type c (FAT32 LBA)" \
	test "$(tr '\n' '|' <layout.txt)" = "dos|0x544c0101|start= 2048, size= $(jq -r .image.partition.sectors $M), type=c, bootable|"
# shellcheck disable=SC2317 # called through check
sha_of() { sha256sum | cut -d' ' -f1; }
check "MBR bytes 0-439 are the manifest's mbr (GRUB's boot.img, drive-check jump NOP'd)" \
	test "$(head -c 440 img1/disk.raw | sha_of)" = "$(jq -r '.components[0].digests.sha256' $M)"
check "MBR code differs from boot.img only at 0x66-0x67 (the jump)" \
	test "$(cmp -l <(head -c 440 img1/disk.raw) <(head -c 440 /usr/lib/grub/i386-pc/boot.img) | awk '{print $1}' | tr '\n' ' ')" = "103 104 "
check "MBR: boot.img reads core.img from LBA 1 (offset 0x5c)" \
	test "$(od -An -tu8 -j 92 -N 8 img1/disk.raw | tr -d ' ')" = 1
check "MBR bytes 440-511 are the manifest's mbr_partition_data" \
	test "$(tail -c +441 img1/disk.raw | head -c 72 | sha_of)" = "$(jq -r '.image.mbr_partition_data.digests.sha256' $M)"
core_size=$(jq -r '.components[1].size' $M)
check "LBA 1..: core.img, the manifest's grub ($core_size bytes, $(jq -r .image.core.sectors $M) sectors)" \
	test "$(tail -c +513 img1/disk.raw | head -c "$core_size" | sha_of)" = "$(jq -r '.components[1].digests.sha256' $M)"
check "core.img starts with diskboot.img, whose block list loads LBA 2 on" \
	test "$(tail -c +513 img1/disk.raw | head -c 500 | sha_of)" = "$(head -c 500 /usr/lib/grub/i386-pc/diskboot.img | sha_of)"
# shellcheck disable=SC2317 # called through check
part_file_is() { # part_file_is PATH SHA256: a file on the FAT partition (at 1 MiB)
	test "$(mcopy -n -i "img1/disk.raw@@1M" "::$1" - 2>/dev/null | sha_of)" = "$2"
}
check "the partition's /boot/vmlinuz is fixtures/vmlinuz" \
	part_file_is /boot/vmlinuz "$(sha_of <"$TL_FIXTURES/vmlinuz")"
check "the partition's initramfs is the manifest's" \
	part_file_is /boot/initrd.img "$(jq -r '.components[3].digests.sha256' $M)"
check "the partition's grub.cfg is the manifest's" \
	part_file_is /boot/grub/grub.cfg "$(jq -r '.components[4].digests.sha256' $M)"

# ---- 2. boots ---------------------------------------------------------------------
clean() { tr -d '\r' | sed 's/\x1b\[[0-9;?=]*[A-Za-z]//g; s/\x1bc//g'; }

# boot NAME IMAGE DISK(virtio|ahci) TPM(yes|no): NAME.log = "SECONDS<TAB>line"
# per console line (seconds since QEMU started); $boot_end done | exited |
# timeout.
boot() {
	local name=$1 diskargs=() tpmargs=() t0
	qemu-img create -q -f qcow2 -b "$W/$2/disk.raw" -F raw "$name.qcow2" || bail "qemu-img create"
	# SeaBIOS boots both: virtio-blk, and a SATA disk on q35's AHCI (ide.0)
	# shellcheck disable=SC2054 # commas belong to QEMU's option syntax
	case $3 in
	virtio) diskargs=(-drive "file=$name.qcow2,format=qcow2,if=none,id=d0" -device virtio-blk-pci,drive=d0) ;;
	ahci) diskargs=(-drive "file=$name.qcow2,format=qcow2,if=none,id=d0" -device ide-hd,drive=d0,bus=ide.0) ;;
	*) bail "boot: disk $3?" ;;
	esac
	if [ "$4" = yes ]; then
		mkdir -p "$name.tpm"
		swtpm socket --tpm2 --tpmstate dir="$W/$name.tpm" \
			--ctrl type=unixio,path="$W/$name.swtpm.sock" --terminate \
			--log file="$W/$name.swtpm.log" &
		SWTPM_PID=$!
		for _ in $(seq 50); do
			[ -S "$name.swtpm.sock" ] && break
			sleep 0.1
		done
		[ -S "$name.swtpm.sock" ] || bail "swtpm did not create its socket ($(cat "$name.swtpm.log"))"
		# shellcheck disable=SC2054
		tpmargs=(-chardev "socket,id=chrtpm,path=$W/$name.swtpm.sock"
			-tpmdev emulator,id=tpm0,chardev=chrtpm -device tpm-tis,tpmdev=tpm0)
	fi
	mkfifo "$name.fifo"
	t0=$EPOCHREALTIME
	timeout -k 5 "$BOOT_TIMEOUT" qemu-system-x86_64 \
		-machine q35 -accel tcg -m 512 -bios "$SEABIOS" \
		-nographic -monitor none -serial stdio -net none \
		"${diskargs[@]}" "${tpmargs[@]}" -no-reboot \
		</dev/null >"$name.fifo" 2>"$name.stderr" &
	QEMU_PID=$!
	while IFS= read -r line; do
		printf '%s\t%s\n' "$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')" "$line"
	done <"$name.fifo" | clean >"$name.log"
	wait "$QEMU_PID"
	local rc=$?
	QEMU_PID=
	stop "$SWTPM_PID"
	SWTPM_PID=
	if grep -q $'\tTL: done' "$name.log"; then
		boot_end='done'
	elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		boot_end=timeout
	else
		boot_end="exited ($rc)"
	fi
	echo "# boot $name: $boot_end; console (firmware, grub, TL lines):"
	grep -E $'\t(SeaBIOS|Booting from|GRUB loading|.*TL: [^PE]|TL: efi|TL: PCR sha256 [0-9] )' "$name.log" |
		cut -c1-160 | sed 's/^/#   /'
	[ -s "$name.stderr" ] && sed 's/^/#   qemu: /' "$name.stderr"
}

at() { # at NAME ERE: seconds of the first console line matching
	grep -E -m1 $'\t'"$2" "$1.log" | cut -f1
}
line() { grep -E -m1 $'\t'"$2" "$1.log" | cut -f2-; }
timings() { # timings NAME: firmware / grub / grub->kernel / kernel->done
	local fw grub init up fin kernel
	fw=$(at "$1" 'Booting from Hard Disk')
	grub=$(at "$1" '.*TL: grub i386-pc')
	init=$(at "$1" 'TL: init uptime=')
	up=$(line "$1" 'TL: init uptime=' | sed 's/.*uptime=//')
	fin=$(at "$1" 'TL: done')
	if [ -z "$fw" ] || [ -z "$grub" ] || [ -z "$init" ] || [ -z "$fin" ]; then
		echo "# timing $1: incomplete console"
		return
	fi
	kernel=$(awk -v i="$init" -v u="$up" 'BEGIN { printf "%.2f", i - u }')
	awk -v n="$1" -v f="$fw" -v g="$grub" -v k="$kernel" -v d="$fin" 'BEGIN {
		printf "# timing %s: firmware %.1fs, grub %.1fs, grub->kernel %.1fs, kernel->done %.1fs, total %.1fs\n",
			n, f, g - f, k - g, d - k, d }'
}
# shellcheck disable=SC2317 # called through check
has() { # has NAME ERE...: every ERE matches a console line (after the timestamp)
	local n=$1 e
	shift
	for e in "$@"; do grep -qE $'\t'"$e" "$n.log" || return 1; done
}
# shellcheck disable=SC2317
hasnt() { ! grep -qE $'\t'"$2" "$1.log"; }

# 2a. virtio-blk, no TPM
boot bios img1 virtio no
check "bios: the boot reached 'TL: done'" test "$boot_end" = 'done'
check "bios: SeaBIOS booted the disk ('Booting from Hard Disk...', 'GRUB loading')" \
	has bios 'SeaBIOS \(version' 'Booting from Hard Disk' 'GRUB loading'
# SeaBIOS's serial console (-nographic) and grub's serial terminal share the
# UART; a line can start mid-way through "Welcome to GRUB!".
check "bios: grub i386-pc ran grub.cfg ('TL: grub i386-pc linux')" has bios '.*TL: grub i386-pc linux'
check "bios: the kernel saw SeaBIOS (DMI: ... BIOS 1.x)" has bios '\[ *[0-9.]+\] DMI: .*BIOS [0-9]'
check "bios: TL: efi-stub=no (type_of_loader=0x72: grub's legacy linux loader), no EFI table line" \
	has bios 'TL: efi-stub=no \(type_of_loader=0x72\) *$'
check "bios: TL: secure-boot=unknown (no /sys/firmware/efi)" has bios 'TL: secure-boot=unknown \(no /sys/firmware/efi/'
check "bios: the kernel found no EFI (no 'efi:' line)" hasnt bios '\[ *[0-9.]+\] efi: '
check "bios: TL: tpm=absent, eventlog=absent" has bios 'TL: tpm=absent$' 'TL: eventlog=absent$'
check "bios: the virtio modules loaded; no module but efivarfs (no EFI: ENODEV) failed" \
	test "$(grep -E $'\tTL: module .* failed' bios.log | grep -vc 'module efivarfs failed:.*No such device')" = 0
check "bios: the kernel command line is the manifest's" \
	has bios "TL: kernel=[^ ]+ cmdline=BOOT_IMAGE=/boot/vmlinuz $CMDLINE\$"
timings bios

# 2b. the same disk on q35's AHCI controller
boot bios-ahci img1 ahci no
check "bios-ahci: the boot reached 'TL: done'" test "$boot_end" = 'done'
check "bios-ahci: grub i386-pc ran grub.cfg" has bios-ahci '.*TL: grub i386-pc linux'
timings bios-ahci

# 2c. with a vTPM: what Gen1 measures
boot bios-tpm img1 virtio yes
check "bios-tpm: the boot reached 'TL: done'" test "$boot_end" = 'done'
check "bios-tpm: TL: tpm=present" has bios-tpm 'TL: tpm=present$'
n=$(line bios-tpm 'TL: eventlog=[0-9]+ bytes' | sed -n 's/^TL: eventlog=\([0-9]*\) bytes$/\1/p')
check "bios-tpm: TL: eventlog=${n:-?} bytes (SeaBIOS's log, through ACPI's TPM2 table), N > 0" test "${n:-0}" -gt 0
sed -n $'/\tTL: eventlog-base64-begin/,/\tTL: eventlog-base64-end/p' bios-tpm.log |
	cut -f2- | grep -v '^TL: ' | base64 -d >bios-tpm.eventlog.bin 2>/dev/null
grep $'\tTL: PCR ' bios-tpm.log | cut -f2- | sed 's/^TL: //' >bios-tpm.pcrs
if [ -s bios-tpm.eventlog.bin ] && [ -s bios-tpm.pcrs ]; then
	# SeaBIOS writes 0xffffffff separators on every boot, which tl reports as
	# findings (exit 1): check the PCR comparison itself.
	"$TL_BIN" eventlog replay bios-tpm.eventlog.bin --expect bios-tpm.pcrs --json >bios-tpm.replay.json 2>/dev/null
	check "bios-tpm: the log replays to the TPM's PCRs 0-7, every bank ($(jq '.expect.mismatches | length' bios-tpm.replay.json 2>/dev/null) mismatches; $(jq '.findings | length' bios-tpm.replay.json 2>/dev/null) separator findings)" \
		test "$(jq -c '[.expect.mismatches, .expect.missing_banks]' bios-tpm.replay.json 2>/dev/null)" = '[[],[]]'
	"$TL_BIN" eventlog show bios-tpm.eventlog.bin --json >bios-tpm.events.json 2>/dev/null
	check "bios-tpm: PCR 4 EV_IPL \"MBR\" is the manifest's mbr, every bank" \
		test "$(jq -c '[.events[] | select(.pcr == 4 and .type == "EV_IPL") | .digests]' bios-tpm.events.json)" = \
		"$(jq -c '[.components[0].digests]' $M)"
	check "bios-tpm: PCR 5 EV_IPL_PARTITION_DATA is the manifest's mbr_partition_data, every bank" \
		test "$(jq -c '[.events[] | select(.pcr == 5 and .type == "EV_IPL_PARTITION_DATA") | .digests]' bios-tpm.events.json)" = \
		"$(jq -c '[.image.mbr_partition_data.digests]' $M)"
	check "bios-tpm: no event after the MBR: PCR 8 and 9 are zero in every bank (grub measures nothing)" \
		test "$(awk '$1 == "PCR" && ($3 == 8 || $3 == 9) && $4 !~ /^0+$/' bios-tpm.pcrs | wc -l)" = 0
	check "bios-tpm: neither core.img, the kernel nor the initramfs appears in the log" \
		test "$(jq --slurpfile m $M '[.events[].digests.sha256 // empty] as $d
			| [$m[0].components[1:4][] | .digests.sha256 | select(. as $x | $d | index($x))] | length' bios-tpm.events.json)" = 0
else
	not_ok "bios-tpm: no event log or PCRs dumped on the console"
fi
timings bios-tpm

check "disk.raw is unchanged by the boots (qcow2 overlays)" test "$(sha_of <img1/disk.raw)" = "$sum1"

finish
