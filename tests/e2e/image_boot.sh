#!/usr/bin/env bash
# e2e: the node image (scripts/image-build.sh) boots the real signed chain.
#
# 1. Builds the image twice (different work folders, umask and clock) and
#    requires the same disk.raw SHA-256, equal to the manifest's.
# 2. Boots it in QEMU + OVMF (TCG) with swtpm as vTPM:
#    a. Secure Boot on (OVMF_VARS_4M.ms.fd): "TL: secure-boot=on",
#       "TL: tpm=present", "TL: eventlog=N bytes" with N > 0, "TL: done";
#    b. Secure Boot off (OVMF_VARS_4M.fd): "TL: secure-boot=off", the kernel
#       still started through its EFI stub and still has the event log;
#    c. Secure Boot on, no TPM: "TL: tpm=absent", "TL: eventlog=absent".
#    In a and b the image's initramfs prints the PCRs and the event log
#    (kernel command line "tl.dumplog"): the log must replay to the PCRs, and
#    every PCR 8/9 event and the PCR 8/9 values the manifest predicted must
#    be in the log / equal the TPM's.
# 3. The first trial's finding, reproduced: the same image with grub's
#    "linux" command (--boot linux) under Secure Boot off starts the kernel
#    without its EFI stub and the kernel has no event log.
# The stand-in agent is tl itself (dynamically linked: it proves the
# initramfs carries its libraries): it prints its usage and exits 2.
# Each boot's time is printed: firmware, shim + grub, grub loading the
# kernel, kernel to done (host timestamps of console lines).
#
# Environment:
#   TL_BIN        path to tl                          (required)
#   TL_FIXTURES   scripts/fixtures.sh's folder         (required)
#   TL_OVMF_DIR   OVMF files (default /usr/share/OVMF)
#   TL_E2E_BOOT_TIMEOUT  seconds per boot before giving up (default 120)
#   TL_E2E_KEEP   1: keep the work folder (images, manifests, serial logs)
#
# Prints "ok - ..." / "not ok - ..." lines; exit 0 all passed, 1 a failure,
# 77 skip (only when qemu-system-x86_64, the OVMF files or swtpm are missing).
set -u

: "${TL_BIN:?TL_BIN must point to the tl binary}"
: "${TL_FIXTURES:?TL_FIXTURES must point to the fixtures folder}"
OVMF=${TL_OVMF_DIR:-/usr/share/OVMF}
BOOT_TIMEOUT=${TL_E2E_BOOT_TIMEOUT:-120}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=$repo/scripts/image-build.sh

OVMF_CODE=$OVMF/OVMF_CODE_4M.secboot.fd
OVMF_VARS_OFF=$OVMF/OVMF_VARS_4M.fd
OVMF_VARS_MS=$OVMF/OVMF_VARS_4M.ms.fd

# ---- skip only for a missing emulator, firmware or vTPM ---------------------
if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
	echo "1..0 # SKIP qemu-system-x86_64 not installed (apt-get install qemu-system-x86)"
	exit 77
fi
for f in "$OVMF_CODE" "$OVMF_VARS_OFF" "$OVMF_VARS_MS"; do
	if [ ! -r "$f" ]; then
		echo "1..0 # SKIP $f missing (apt-get install ovmf, or set TL_OVMF_DIR)"
		exit 77
	fi
done
if ! command -v swtpm >/dev/null 2>&1; then
	echo "1..0 # SKIP swtpm not installed (apt-get install swtpm)"
	exit 77
fi

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

missing=
for t in qemu-img mformat mmd mcopy sfdisk cpio gzip jq timeout base64; do
	command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
done
[ -z "$missing" ] || bail "tools missing:$missing (make deps)"
[ "${BASH_VERSINFO[0]}" -ge 5 ] || bail "bash >= 5 needed (EPOCHREALTIME)"
[ -x "$TL_BIN" ] || bail "TL_BIN=$TL_BIN is not executable"
for f in shimx64.efi.signed grubx64.efi.signed vmlinuz; do
	[ -r "$TL_FIXTURES/$f" ] || bail "$TL_FIXTURES/$f missing (make fixtures)"
done

W=$(mktemp -d "${TMPDIR:-/tmp}/tl-e2e-image.XXXXXX") || bail "mktemp"
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

CMDLINE="console=ttyS0 panic=-1 tl.dumplog"
# One copy of tl for the whole run: it is also the stand-in agent built into
# both images, and a rebuild of TL_BIN during the run must not change them.
cp "$TL_BIN" "$W/tl" || bail "copy $TL_BIN"
TL_BIN=$W/tl

# ---- 1. build twice: same digest -----------------------------------------------
build() { # build OUT_DIR TMP_DIR UMASK [more options]: leaves $build_secs
	local out=$1 tmp=$2 mask=$3 t0
	shift 3
	mkdir -p "$tmp"
	t0=$EPOCHREALTIME
	(umask "$mask" && TMPDIR=$tmp bash "$BUILD" "$out" --fixtures "$TL_FIXTURES" --tl "$TL_BIN" \
		--agent "$TL_BIN" --cmdline "$CMDLINE" "$@") >"$out.log" 2>&1
	local rc=$?
	build_secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
	return $rc
}
build img1 tmp1 022 || {
	cat img1.log
	bail "image-build.sh failed"
}
secs1=$build_secs
sleep 2 # a different clock: FAT and cpio times must not follow it
build img2 tmp2 077 || {
	cat img2.log
	bail "image-build.sh (second build) failed"
}
sum1=$(sha256sum <img1/disk.raw | cut -d' ' -f1)
sum2=$(sha256sum <img2/disk.raw | cut -d' ' -f1)
if [ "$sum1" = "$sum2" ]; then
	ok "two builds (other work folder, umask 077, 2 s later) give the same disk.raw: sha256 $sum1 (${secs1}s, ${build_secs}s)"
else
	notok "builds differ: $sum1 vs $sum2"
fi
check "the manifests are identical too" cmp -s img1/manifest.json img2/manifest.json
check "manifest image.sha256 is the disk's digest" \
	test "$(jq -r .image.sha256 img1/manifest.json)" = "$sum1"
check "manifest: shim, grub, kernel, initramfs, grub.cfg at their ESP paths" \
	test "$(jq -c '[.components[] | [.name, .path]]' img1/manifest.json)" = \
	'[["shim","\\EFI\\BOOT\\BOOTX64.EFI"],["grub","\\EFI\\BOOT\\grubx64.efi"],["kernel","\\EFI\\debian\\vmlinuz"],["initramfs","\\EFI\\debian\\initrd.img"],["grub.cfg","\\EFI\\debian\\grub.cfg"]]'
want=$("$TL_BIN" secureboot digest "$TL_FIXTURES/shimx64.efi.signed" --json | jq -c .digests)
check "manifest: shim's Authenticode digests are tl secureboot digest's" \
	test "$(jq -c '.components[0].digests' img1/manifest.json)" = "$want"
check "manifest: shim signed by Microsoft, grub and kernel by Debian" \
	test "$(jq -r '[.components[0:3][] | .signer | capture("CN=(?<cn>[^,]*)").cn] | join("|")' img1/manifest.json)" = \
	"Microsoft Windows UEFI Driver Publisher|Debian Secure Boot Signer 2022 - grub2|Debian Secure Boot Signer 2022 - linux"
check "manifest: kernel_cmdline is the one asked for" \
	test "$(jq -r .kernel_cmdline img1/manifest.json)" = "$CMDLINE"
# shellcheck disable=SC2317 # called through check
esp_file_is() { # esp_file_is ESP_PATH SHA256: the file on the ESP (partition 1 at 1 MiB)
	test "$(mcopy -n -i "img1/disk.raw@@1M" "::$1" - 2>/dev/null | sha256sum | cut -d' ' -f1)" = "$2"
}
check "the ESP's initramfs is the manifest's" \
	esp_file_is /EFI/debian/initrd.img "$(jq -r '.components[3].digests.sha256' img1/manifest.json)"
check "the ESP's grub.cfg is the manifest's" \
	esp_file_is /EFI/debian/grub.cfg "$(jq -r '.components[4].digests.sha256' img1/manifest.json)"
check "the ESP's BOOTX64.EFI is Debian's shimx64.efi.signed" \
	esp_file_is /EFI/BOOT/BOOTX64.EFI "$(sha256sum <"$TL_FIXTURES/shimx64.efi.signed" | cut -d' ' -f1)"

build imgL tmpL 022 --boot linux || {
	cat imgL.log
	bail "image-build.sh --boot linux failed"
}

# ---- 2. boots -------------------------------------------------------------------
clean() { tr -d '\r' | sed 's/\x1b\[[0-9;?=]*[A-Za-z]//g'; }

# boot NAME IMAGE VARS_TEMPLATE TPM(yes|no) [NET(none|user)]: NAME.log =
# "SECONDS<TAB>line" per console line (seconds since QEMU started);
# $boot_end done | exited | timeout. NET=user adds a virtio NIC on QEMU's
# user-mode network (no option ROM, so the firmware does not try PXE).
boot() {
	local name=$1 img=$2 tpmargs=() netargs=(-net none) t0
	if [ "${5:-none}" = user ]; then
		# shellcheck disable=SC2054 # commas belong to QEMU's option syntax
		netargs=(-netdev user,id=n0,ipv6=off -device virtio-net-pci,netdev=n0,romfile=)
	fi
	cp "$3" "$name.vars.fd" || bail "copy $3"
	qemu-img create -q -f qcow2 -b "$W/$img/disk.raw" -F raw "$name.qcow2" || bail "qemu-img create"
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
			-tpmdev emulator,id=tpm0,chardev=chrtpm -device tpm-crb,tpmdev=tpm0)
	fi
	mkfifo "$name.fifo"
	t0=$EPOCHREALTIME
	timeout -k 5 "$BOOT_TIMEOUT" qemu-system-x86_64 \
		-machine q35,smm=on -accel tcg -m 1024 \
		-nographic -monitor none -serial stdio \
		-global driver=cfi.pflash01,property=secure,value=on \
		-drive if=pflash,format=raw,unit=0,file="$OVMF_CODE",readonly=on \
		-drive if=pflash,format=raw,unit=1,file="$name.vars.fd" \
		-drive if=virtio,format=qcow2,file="$name.qcow2" \
		"${tpmargs[@]}" "${netargs[@]}" -no-reboot \
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
	echo "# boot $name: $boot_end; console (TL lines, EFI stub, firmware):"
	grep -E $'\t(TL: [^PE]|TL: efi|TL: PCR sha256 [0-9] |EFI stub|BdsDxe: (loading|starting)|tl: )' "$name.log" |
		grep -v 'eventlog-base64' | cut -c1-160 | sed 's/^/#   /'
	[ -s "$name.stderr" ] && sed 's/^/#   qemu: /' "$name.stderr"
}

at() { # at NAME ERE: seconds of the first console line matching
	grep -E -m1 $'\t'"$2" "$1.log" | cut -f1
}
line() { grep -E -m1 $'\t'"$2" "$1.log" | cut -f2-; }
timings() { # timings NAME: firmware / shim+grub / grub->kernel / kernel->done
	local fw grub init up fin kernel
	fw=$(at "$1" 'BdsDxe: starting')
	grub=$(at "$1" 'TL: grub ')
	init=$(at "$1" 'TL: init uptime=')
	up=$(line "$1" 'TL: init uptime=' | sed 's/.*uptime=//')
	fin=$(at "$1" 'TL: done')
	if [ -z "$fw" ] || [ -z "$grub" ] || [ -z "$init" ] || [ -z "$fin" ]; then
		echo "# timing $1: incomplete console"
		return
	fi
	kernel=$(awk -v i="$init" -v u="$up" 'BEGIN { printf "%.2f", i - u }')
	awk -v n="$1" -v f="$fw" -v g="$grub" -v k="$kernel" -v d="$fin" 'BEGIN {
		printf "# timing %s: firmware %.1fs, shim+grub %.1fs, grub->kernel %.1fs, kernel->done %.1fs, total %.1fs\n",
			n, f, g - f, k - g, d - k, d }'
}
eventlog_of() { # eventlog_of NAME: NAME.eventlog.bin and NAME.pcrs from the console
	sed -n $'/\tTL: eventlog-base64-begin/,/\tTL: eventlog-base64-end/p' "$1.log" |
		cut -f2- | grep -v '^TL: ' | base64 -d >"$1.eventlog.bin" 2>/dev/null
	grep $'\tTL: PCR ' "$1.log" | cut -f2- | sed 's/^TL: //' >"$1.pcrs"
}
# check_pcrs NAME IMAGE_DIR: the TPM's PCR 8 and 9 (printed by the initramfs)
# against the values the image's manifest predicts, every bank.
check_pcrs() {
	local n=$1 bad='' p a got want
	[ -s "$n.pcrs" ] || grep $'\tTL: PCR ' "$n.log" | cut -f2- | sed 's/^TL: //' >"$n.pcrs"
	for p in 8 9; do
		for a in sha1 sha256 sha384 sha512; do
			got=$(awk -v a="$a" -v p="$p" '$1 == "PCR" && $2 == a && $3 == p { print $4 }' "$n.pcrs")
			want=$(jq -r --arg p "$p" --arg a "$a" '.pcrs[$p][$a]' "$2/manifest.json")
			[ -n "$got" ] && [ "$got" = "$want" ] || bad="$bad $a:$p"
		done
	done
	if [ -z "$bad" ]; then
		ok "$n: the TPM's PCR 8 and 9 equal $2/manifest.json's prediction (4 banks)"
	else
		notok "$n: PCR values differ from $2/manifest.json:$bad"
	fi
}
# check_log NAME MODE(on|off): the log the guest kernel had, against the TPM
# and against the manifest's predictions.
check_log() {
	local n=$1 m=$2 missing_ev k4
	eventlog_of "$n"
	if [ ! -s "$n.eventlog.bin" ]; then
		notok "$n: no event log dumped on the console"
		return
	fi
	if "$TL_BIN" eventlog replay "$n.eventlog.bin" --expect "$n.pcrs" >"$n.replay" 2>&1; then
		ok "$n: the guest's event log replays to the TPM's PCRs, every bank ($(grep -c '^PCR' "$n.pcrs") PCR values)"
	else
		notok "$n: tl eventlog replay --expect: $(tail -n3 "$n.replay" | tr '\n' ' ')"
	fi
	"$TL_BIN" eventlog show "$n.eventlog.bin" --json >"$n.events.json" 2>/dev/null
	missing_ev=$(jq -r --slurpfile ev "$n.events.json" '.grub_events[] as $p
		| select([$ev[0].events[] | select(.pcr == $p.pcr and .description == $p.event
		          and .digests == $p.digests)] | length == 0) | "PCR\($p.pcr) \($p.event)"' img1/manifest.json)
	if [ -z "$missing_ev" ]; then
		ok "$n: every PCR 8/9 event the manifest predicted is in the log, every bank ($(jq '.grub_events | length' img1/manifest.json) events)"
	else
		notok "$n: predicted events not in the log: $missing_ev"
	fi
	check_pcrs "$n" img1
	check "$n: the firmware's EV_EFI_GPT_EVENT (PCR 5) is the manifest's, every bank" \
		test "$(jq -c '[.events[] | select(.type == "EV_EFI_GPT_EVENT") | .digests]' "$n.events.json")" = \
		"$(jq -c '[.image.gpt_event.digests]' img1/manifest.json)"
	# The kernel in PCR 4 (Authenticode, no device path): shim measures it when
	# grub asks it to verify the kernel, i.e. with Secure Boot on only.
	k4=$(jq --arg d "$(jq -r '.components[2].digests.sha256' img1/manifest.json)" \
		'[.events[] | select(.pcr == 4 and .type == "EV_EFI_BOOT_SERVICES_APPLICATION"
		  and .digests.sha256 == $d)] | length' "$n.events.json")
	if [ "$m" = on ]; then
		check "$n: the kernel's Authenticode digest is in PCR 4 ($k4 records, shim's verification)" test "$k4" -ge 1
	else
		check "$n: no kernel record in PCR 4 with Secure Boot off (grub does not ask shim to verify)" test "$k4" -eq 0
	fi
}
# shellcheck disable=SC2317 # called through check
has() { # has NAME ERE...: every ERE matches a console line (after the timestamp)
	local n=$1 e
	shift
	for e in "$@"; do grep -qE $'\t'"$e" "$n.log" || return 1; done
}
# shellcheck disable=SC2317
hasnt() { ! grep -qE $'\t'"$2" "$1.log"; }
eventlog_n() { line "$1" 'TL: eventlog=[0-9]+ bytes' | sed -n 's/^TL: eventlog=\([0-9]*\) bytes$/\1/p'; }

# 2a. Secure Boot on + vTPM
boot sb-on img1 "$OVMF_VARS_MS" yes
check "sb-on: the boot reached 'TL: done'" test "$boot_end" = 'done'
check "sb-on: grub started the kernel through linuxefi" has sb-on 'TL: grub linuxefi'
check "sb-on: the EFI stub says 'UEFI Secure Boot is enabled.'" has sb-on 'EFI stub: UEFI Secure Boot is enabled\.'
check "sb-on: TL: secure-boot=on" has sb-on 'TL: secure-boot=on$'
check "sb-on: TL: tpm=present" has sb-on 'TL: tpm=present$'
n=$(eventlog_n sb-on)
check "sb-on: TL: eventlog=${n:-?} bytes, N > 0" test "${n:-0}" -gt 0
check "sb-on: TL: efi-stub=yes" has sb-on 'TL: efi-stub=yes'
check "sb-on: the signed modules loaded under lockdown (virtio_net, efivarfs, ...)" \
	has sb-on 'TL: modules=9 loaded'
check "sb-on: no module failed" hasnt sb-on 'TL: module .* failed' 
check "sb-on: the agent stand-in (tl, dynamically linked) ran from the initramfs: 'tl: no command given', exit 2" \
	has sb-on 'tl: no command given' 'TL: agent exit=2$' 
check_log sb-on on
timings sb-on

# 2b. Secure Boot off + vTPM: the event log must survive
boot sb-off img1 "$OVMF_VARS_OFF" yes
check "sb-off: the boot reached 'TL: done'" test "$boot_end" = 'done'
check "sb-off: TL: secure-boot=off" has sb-off 'TL: secure-boot=off$'
check "sb-off: TL: tpm=present" has sb-off 'TL: tpm=present$'
check "sb-off: TL: efi-stub=yes (linuxefi kept the EFI stub with Secure Boot off)" has sb-off 'TL: efi-stub=yes'
n=$(eventlog_n sb-off)
check "sb-off: TL: eventlog=${n:-?} bytes, N > 0" test "${n:-0}" -gt 0
check_log sb-off off
timings sb-off

# 2c. Secure Boot on, no TPM; a virtio NIC on QEMU's user network
boot sb-on-notpm img1 "$OVMF_VARS_MS" no user
check "sb-on-notpm: the boot reached 'TL: done'" test "$boot_end" = 'done'
check "sb-on-notpm: TL: secure-boot=on" has sb-on-notpm 'TL: secure-boot=on$'
check "sb-on-notpm: TL: tpm=absent" has sb-on-notpm 'TL: tpm=absent$'
check "sb-on-notpm: TL: eventlog=absent" has sb-on-notpm 'TL: eventlog=absent$'
check "sb-on-notpm: virtio_net (signed module, lockdown) + DHCP: TL: net=eth0 10.0.2.15/24" \
	has sb-on-notpm 'TL: net=eth0 10\.0\.2\.15/24$'
timings sb-on-notpm

# ---- 3. the first trial's finding: grub's "linux" with Secure Boot off --------------
boot linux-sb-off imgL "$OVMF_VARS_OFF" yes
check "linux-sb-off: the boot reached 'TL: done'" test "$boot_end" = 'done'
check "linux-sb-off: grub used 'linux'" has linux-sb-off 'TL: grub linux$'
check "linux-sb-off: TL: secure-boot=off, tpm=present" \
	has linux-sb-off 'TL: secure-boot=off$' 'TL: tpm=present$' 
check "linux-sb-off: reproduced: the kernel started without its EFI stub (TL: efi-stub=no)" \
	has linux-sb-off 'TL: efi-stub=no'
check "linux-sb-off: reproduced: no event log (TL: eventlog=absent)" has linux-sb-off 'TL: eventlog=absent$'
# grub measured the same way on this path: the manifest still predicts PCR 8/9
check_pcrs linux-sb-off imgL
timings linux-sb-off

finish
