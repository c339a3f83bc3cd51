#!/usr/bin/env bash
# e2e: the Secure Boot engine against real firmware.
#
# Acceptance: a variable store enrolled by `tl secureboot vars enroll` with our
# own PK/KEK/db, plus a kernel signed by our db key (sbsign), boots in OVMF with
# Secure Boot on (real QEMU boot, TCG); the same image against the Microsoft
# store is refused by the firmware -- and `tl secureboot verify` predicted both.
# Extra: our store refuses the same kernel signed by an unenrolled key.
#
# Environment:
#   TL_BIN        path to tl                              (required)
#   TL_FIXTURES   folder holding vmlinuz (Debian's signed 6.1 kernel)  (required)
#   TL_OVMF_DIR   OVMF files (default /usr/share/OVMF)
#   TL_E2E_BOOT_TIMEOUT  seconds per boot before giving up (default 120)
#   TL_E2E_KEEP   set to 1 to keep the work folder (keys, images, serial logs)
#
# Prints "ok - ..." / "not ok - ..." lines; exit 0 all passed, 1 a failure,
# 77 skip (only when qemu-system-x86_64 or the OVMF files are missing).
set -u
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"

: "${TL_BIN:?TL_BIN must point to the tl binary}"
: "${TL_FIXTURES:?TL_FIXTURES must point to the fixtures folder}"
OVMF=${TL_OVMF_DIR:-/usr/share/OVMF}
BOOT_TIMEOUT=${TL_E2E_BOOT_TIMEOUT:-120}
GRACE=3 # seconds to keep watching after the EFI stub speaks

OVMF_CODE=$OVMF/OVMF_CODE_4M.secboot.fd
OVMF_VARS_EMPTY=$OVMF/OVMF_VARS_4M.fd
OVMF_VARS_MS=$OVMF/OVMF_VARS_4M.ms.fd

# ---- skip only for a missing emulator or firmware --------------------------
if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
	skip_all "qemu-system-x86_64 not installed (apt-get install qemu-system-x86)"
fi
for f in "$OVMF_CODE" "$OVMF_VARS_EMPTY" "$OVMF_VARS_MS"; do
	if [ ! -r "$f" ]; then
		skip_all "$f missing (apt-get install ovmf, or set TL_OVMF_DIR)"
	fi
done


# Anything else missing is a broken test environment, not a skip.
missing=
for t in openssl sbsign sbverify mkfs.vfat mmd mcopy jq timeout; do
	command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
done
command -v osslsigncode >/dev/null 2>&1 || command -v sbattach >/dev/null 2>&1 ||
	missing="$missing osslsigncode|sbattach"
[ -z "$missing" ] || bail "tools missing:$missing (make deps)"
[ -x "$TL_BIN" ] || bail "TL_BIN=$TL_BIN is not executable"
[ -r "$TL_FIXTURES/vmlinuz" ] || bail "$TL_FIXTURES/vmlinuz missing (make fixtures)"

W=$(mktemp -d "${TMPDIR:-/tmp}/tl-e2e-sb.XXXXXX") || bail "mktemp"
QEMU_PID=
# shellcheck disable=SC2317 # called through trap
cleanup() {
	if [ -n "$QEMU_PID" ]; then
		kill "$QEMU_PID" 2>/dev/null
		wait "$QEMU_PID" 2>/dev/null
	fi
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

# ---- 1. our own keys --------------------------------------------------------
for n in PK KEK db other; do
	if ! openssl req -new -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 \
		-subj "/CN=trustlaunch test $n" -keyout "$n.key" -out "$n.crt" >"$n.openssl.log" 2>&1 ||
		! openssl x509 -in "$n.crt" -outform DER -out "$n.cer" 2>>"$n.openssl.log"; then
		cat "$n.openssl.log"
		bail "openssl: key + certificate for $n"
	fi
done
ok "openssl made RSA-2048 PK, KEK, db (+ an unenrolled 'other') with self-signed certificates"

fingerprint() { # lower-case hex SHA-256 of a certificate's DER
	openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f'
}

# ---- 2. enroll them ---------------------------------------------------------
if "$TL_BIN" secureboot vars enroll --template "$OVMF_VARS_EMPTY" \
	--pk PK.crt --kek KEK.crt --db db.crt -o ours.fd >enroll.log 2>&1; then
	ok "tl secureboot vars enroll (PEM) wrote ours.fd: $(head -n1 enroll.log)"
else
	cat enroll.log
	bail "tl secureboot vars enroll (PEM) failed"
fi
if "$TL_BIN" secureboot vars enroll --template "$OVMF_VARS_EMPTY" \
	--pk PK.cer --kek KEK.cer --db db.cer -o ours-der.fd >enroll-der.log 2>&1; then
	check "enrolling the same certificates as DER gives the same store" cmp -s ours.fd ours-der.fd
else
	cat enroll-der.log
	not_ok "tl secureboot vars enroll (DER) failed"
fi

if "$TL_BIN" secureboot vars show ours.fd --json >show.json 2>show.err; then
	for v in PK KEK db; do
		want_fp=$(fingerprint "$v.crt")
		got=$(jq -r --arg v "$v" '[.variables[] | select(.name == $v) | .entries[]
			| "\(.kind) \(.subject) \(.sha256)"] | join(";")' show.json)
		if [ "$got" = "x509 CN=trustlaunch test $v $want_fp" ]; then
			ok "vars show: $v holds exactly our certificate (CN=trustlaunch test $v)"
		else
			not_ok "vars show: $v: got '$got', want 'x509 CN=trustlaunch test $v $want_fp'"
		fi
	done
else
	cat show.err
	not_ok "tl secureboot vars show ours.fd --json failed"
fi

# ---- 3. the image: Debian's kernel, re-signed by our db key ----------------
if command -v osslsigncode >/dev/null 2>&1; then
	osslsigncode remove-signature -in "$TL_FIXTURES/vmlinuz" -out kernel.unsigned >strip.log 2>&1
else
	cp "$TL_FIXTURES/vmlinuz" kernel.unsigned && chmod u+w kernel.unsigned &&
		sbattach --remove kernel.unsigned >strip.log 2>&1
fi || {
	cat strip.log
	bail "could not strip Debian's signature from vmlinuz"
}
if sbverify --list kernel.unsigned 2>&1 | grep -q 'No signature table present'; then
	ok "stripped Debian's signature from vmlinuz"
else
	not_ok "kernel.unsigned still carries a signature"
fi
sbsign --key db.key --cert db.crt --output kernel.signed kernel.unsigned >sign.log 2>&1 ||
	bail "sbsign with the db key failed: $(cat sign.log)"
sbsign --key other.key --cert other.crt --output kernel.other kernel.unsigned >sign-other.log 2>&1 ||
	bail "sbsign with the other key failed: $(cat sign-other.log)"
check "sbverify --cert db.crt accepts kernel.signed" \
	sh -c 'sbverify --cert db.crt kernel.signed >sbverify.log 2>&1'
check "sbverify --cert db.crt rejects kernel.other" \
	sh -c '! sbverify --cert db.crt kernel.other >sbverify-other.log 2>&1'

# ---- 4. prediction first ----------------------------------------------------
# predict NAME VARS IMAGE: runs tl secureboot verify --json, leaves the exit
# status in $rc and the JSON in predict-NAME.json.
predict() {
	"$TL_BIN" secureboot verify --vars "$2" "$3" --json >"predict-$1.json" 2>"predict-$1.err"
	rc=$?
}
jqc() { jq -r "$1" "$2" 2>/dev/null; }

predict ours ours.fd kernel.signed
predicted_ours=$rc
if [ "$rc" = 0 ] &&
	[ "$(jqc '.verdict' predict-ours.json)" = pass ] &&
	[ "$(jqc '.components | length' predict-ours.json)" = 1 ] &&
	[ "$(jqc '.components[0] | "\(.component) \(.allowed) \(.source) \(.certificate.subject)"' \
		predict-ours.json)" = "kernel true db CN=trustlaunch test db" ]; then
	ok "tl predicts ours.fd allows kernel.signed (kernel, source db, CN=trustlaunch test db)"
else
	not_ok "tl verify --vars ours.fd kernel.signed: exit $rc, $(cat predict-ours.json predict-ours.err)"
fi

predict ms "$OVMF_VARS_MS" kernel.signed
predicted_ms=$rc
if [ "$rc" = 1 ] &&
	[ "$(jqc '.verdict' predict-ms.json)" = fail ] &&
	[ "$(jqc '.components[0].allowed' predict-ms.json)" = false ] &&
	jqc '.components[0].reason' predict-ms.json | grep -q 'does not chain'; then
	ok "tl predicts the Microsoft store refuses kernel.signed: $(jqc '.components[0].reason' predict-ms.json)"
else
	not_ok "tl verify --vars OVMF_VARS_4M.ms.fd kernel.signed: exit $rc, $(cat predict-ms.json predict-ms.err)"
fi
# The human-readable form says the same.
"$TL_BIN" secureboot verify --vars "$OVMF_VARS_MS" kernel.signed >predict-ms.txt 2>&1
rc=$?
if [ "$rc" = 1 ] && grep -q 'does not chain' predict-ms.txt; then
	ok "tl secureboot verify (text) against the Microsoft store exits 1, 'does not chain'"
else
	not_ok "tl secureboot verify (text) against the Microsoft store: exit $rc: $(cat predict-ms.txt)"
fi

predict other ours.fd kernel.other
predicted_other=$rc
if [ "$rc" = 1 ] && [ "$(jqc '.components[0].allowed' predict-other.json)" = false ]; then
	ok "tl predicts ours.fd refuses kernel.other: $(jqc '.components[0].reason' predict-other.json)"
else
	not_ok "tl verify --vars ours.fd kernel.other: exit $rc, $(cat predict-other.json predict-other.err)"
fi

# ---- 5. real boots ----------------------------------------------------------
# ESP: a plain FAT "superfloppy" (no partition table) built with mtools;
# OVMF's fallback boot option picks up \EFI\BOOT\BOOTX64.EFI from it.
make_esp() { # make_esp IMAGE EFI_FILE
	rm -f "$1"
	mkfs.vfat -C -n ESP "$1" 65536 >/dev/null 2>&1 &&
		mmd -i "$1" ::/EFI ::/EFI/BOOT &&
		mcopy -i "$1" "$2" ::/EFI/BOOT/BOOTX64.EFI
}
make_esp esp-signed.img kernel.signed || bail "could not build esp-signed.img"
make_esp esp-other.img kernel.other || bail "could not build esp-other.img"
ok "built FAT ESPs holding \\EFI\\BOOT\\BOOTX64.EFI (kernel.signed / kernel.other)"

STUB_SB='EFI stub: UEFI Secure Boot is enabled.'
# A refusal of the boot option that points at our disk (a PciRoot path, not
# the firmware volume's internal shell, not the empty DVD drive).
REFUSED='BdsDxe: failed to (load|start) Boot[0-9A-F]{4} "[^"]*" from PciRoot\([^"]*: (Access Denied|Security Violation)'
STARTED='BdsDxe: starting Boot[0-9A-F]{4} "[^"]*" from PciRoot'
NO_BOOT='BdsDxe: No bootable option or device was found'

now() { date +%s.%N; }
clean_log() { # serial output without CRs and terminal escapes
	tr -d '\r' <"$1.serial" | sed 's/\x1b\[[0-9;?=]*[A-Za-z]//g' >"$1.log"
}

# boot NAME VARS_TEMPLATE ESP: boots, leaves $1.log and $boot_secs, $boot_end
# (stub | refused | exited | timeout).
boot() {
	local name=$1 t0 deadline
	cp "$2" "$name.vars.fd" || bail "copy $2"
	t0=$(now)
	timeout -k 5 "$((BOOT_TIMEOUT + 10))" qemu-system-x86_64 \
		-machine q35,smm=on -accel tcg -m 1024 \
		-nographic -monitor none -serial stdio \
		-global driver=cfi.pflash01,property=secure,value=on \
		-drive if=pflash,format=raw,unit=0,file="$OVMF_CODE",readonly=on \
		-drive if=pflash,format=raw,unit=1,file="$name.vars.fd" \
		-drive if=virtio,format=raw,file="$3" \
		-net none \
		</dev/null >"$name.serial" 2>"$name.stderr" &
	QEMU_PID=$!
	deadline=$(($(date +%s) + BOOT_TIMEOUT))
	boot_end=timeout
	while [ "$(date +%s)" -lt "$deadline" ]; do
		sleep 0.5
		if ! kill -0 "$QEMU_PID" 2>/dev/null; then
			boot_end=exited
			break
		fi
		clean_log "$name"
		if grep -q 'EFI stub: ' "$name.log"; then
			boot_end=stub
			break
		fi
		if grep -Eq "$REFUSED" "$name.log" && grep -q "$NO_BOOT" "$name.log"; then
			boot_end=refused
			break
		fi
	done
	boot_secs=$(echo "$(now) $t0" | awk '{ printf "%.1f", $1 - $2 }')
	# After the stub speaks, watch a little longer for an "EFI stub: ERROR".
	[ "$boot_end" = stub ] && sleep "$GRACE"
	kill "$QEMU_PID" 2>/dev/null
	wait "$QEMU_PID" 2>/dev/null
	QEMU_PID=
	clean_log "$name"
	echo "# boot $name: ended '$boot_end' after $boot_secs s (serial log, firmware lines):"
	grep -E 'BdsDxe|EFI stub|Security Violation|Access Denied' "$name.log" | sed 's/^/#   /'
	if [ -s "$name.stderr" ]; then
		grep -v 'terminating on signal' "$name.stderr" | sed 's/^/#   qemu: /'
	fi
}

# 5a. our store + our kernel: the firmware starts it with Secure Boot on.
boot ours ours.fd esp-signed.img
secs_ours=$boot_secs
if grep -qF "$STUB_SB" ours.log; then
	ok "ours.fd: OVMF started kernel.signed; the EFI stub says '$STUB_SB' ($secs_ours s)"
else
	not_ok "ours.fd: no '$STUB_SB' on the serial console (ended '$boot_end')"
fi
check "ours.fd: BdsDxe started the boot option on our disk" grep -Eq "$STARTED" ours.log
check "ours.fd: no 'Security Violation' / 'Access Denied' on the console" \
	sh -c '! grep -Eq "Security Violation|Access Denied" ours.log'
check "ours.fd: the EFI stub reported no error" sh -c '! grep -q "EFI stub: ERROR" ours.log'

# 5b. the Microsoft store + our kernel: refused by the firmware.
boot ms "$OVMF_VARS_MS" esp-signed.img
secs_ms=$boot_secs
if line=$(grep -Em1 "$REFUSED" ms.log); then
	ok "OVMF_VARS_4M.ms.fd: firmware refused kernel.signed: '$line' ($secs_ms s)"
else
	not_ok "OVMF_VARS_4M.ms.fd: no refusal of our boot option on the console (ended '$boot_end')"
fi
check "OVMF_VARS_4M.ms.fd: the firmware never started the image (no 'starting', no EFI stub)" \
	sh -c "! grep -Eq '$STARTED|EFI stub' ms.log"

# 5c. our store + a kernel signed by an unenrolled key: refused.
boot other ours.fd esp-other.img
secs_other=$boot_secs
if line=$(grep -Em1 "$REFUSED" other.log); then
	ok "ours.fd: firmware refused kernel.other (unenrolled key): '$line' ($secs_other s)"
else
	not_ok "ours.fd: no refusal of kernel.other on the console (ended '$boot_end')"
fi
check "ours.fd + kernel.other: the firmware never started the image (no 'starting', no EFI stub)" \
	sh -c "! grep -Eq '$STARTED|EFI stub' other.log"

# ---- tl's prediction == the firmware's decision -----------------------------
# The firmware's decision, from its own console lines: 0 it started the image
# on our disk, 1 it refused it, ? neither (hung, crashed, timed out).
outcome() {
	if grep -Eq "$STARTED" "$1.log"; then
		echo 0
	elif grep -Eq "$REFUSED" "$1.log"; then
		echo 1
	else
		echo '?'
	fi
}
agree=1
for c in "ours $predicted_ours" "ms $predicted_ms" "other $predicted_other"; do
	read -r run predicted <<<"$c"
	decided=$(outcome "$run")
	echo "# $run: tl verify exit $predicted, firmware $(case $decided in 0) echo started ;; 1) echo refused ;; *) echo 'did not decide' ;; esac) the image"
	[ "$decided" = "$predicted" ] || agree=0
done
if [ "$agree" = 1 ]; then
	ok "tl secureboot verify predicted all three firmware decisions"
else
	not_ok "tl secureboot verify and the firmware disagree"
fi

echo "# timings: ours ${secs_ours}s, ms ${secs_ms}s, other ${secs_other}s (TCG, until the deciding line)"
finish
