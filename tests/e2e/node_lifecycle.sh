#!/usr/bin/env bash
# e2e: nodes run by tld (tl node ...), booting the real signed chain under
# QEMU + OVMF (TCG) with their own swtpm vTPMs.
#
#  1. Three nodes at once: Secure Boot + vTPM, vTPM only, Secure Boot only.
#     Each reports in through its agent: the guest saw the Secure Boot state
#     its policy says; with a vTPM its event log replays to the PCRs it
#     read and its EK certificates are the platform's; without one the guest
#     has no TPM.
#  2. Stop: the host reads the vTPM's PCRs itself (swtpm, after QEMU let go)
#     and they equal the replay of the log the agent sent.
#  3. The EK certificate read from the stopped node's vTPM NV (tpm2_nvread on
#     a swtpm started here on its state) verifies with openssl to the
#     platform root, and certifies the vTPM's EK (tpm2_createek); the state
#     is encrypted (swtpm refuses it with a wrong key).
#  4. Persisted vs not: a persisted node keeps its EK across a restart, a
#     non-persisted one gets a new one.
#  5. A one-byte change to grub with Secure Boot on: the node does not boot;
#     tl node show says secure boot violation and names grub.
#  6. kill -9 of a node's QEMU: crashed, its swtpm gone. kill -9 of tld: the
#     next tl command restarts it; same nodes, same states; a booting node
#     still reports in to the restarted tld.
#  7. Bad input: one line, exit 2, nothing half-created.
#
# Environment: TL_BIN, TL_TLD, TL_AGENT (the builds'), TL_FIXTURES;
# TL_E2E_KEEP=1 keeps the work folder. Exit 0 pass, 1 fail, 77 skip (no
# QEMU/OVMF/swtpm).
set -u
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"

: "${TL_BIN:?TL_BIN must point to the tl binary}"
: "${TL_TLD:?TL_TLD must point to the tld binary}"
: "${TL_FIXTURES:?TL_FIXTURES must point to the fixtures folder}"
OVMF=${TL_OVMF_DIR:-/usr/share/OVMF}
NODE_TIMEOUT=${TL_E2E_NODE_TIMEOUT:-240} # seconds a node may take to boot (more on a loaded machine)
for t in qemu-system-x86_64 swtpm; do
	command -v "$t" >/dev/null 2>&1 || {
		skip_all "$t not installed"
	}
done
[ -r "$OVMF/OVMF_CODE_4M.secboot.fd" ] || {
	skip_all "OVMF missing"
}
for t in jq mcopy openssl tpm2_nvread tpm2_createek swtpm_ioctl; do
	command -v "$t" >/dev/null 2>&1 || bail "$t missing (make deps)"
done

W=$(mktemp -d "${TMPDIR:-/tmp}/tl-e2e-node.XXXXXX") || bail mktemp
export TL_HOME=$W/home
export TL_STORE_DIRS=$W # the test's images are built in $W (tld takes images only from its stores)
export TL_TLD
# shellcheck disable=SC2317 # called through trap
cleanup() {
	if [ -r "$TL_HOME/tld.addr" ]; then
		for n in $("$TL_BIN" node list --json 2>/dev/null | jq -r '.nodes[].name'); do
			"$TL_BIN" node delete "$n" >/dev/null 2>&1
		done
		kill "$(awk '{print $2}' "$TL_HOME/tld.addr")" 2>/dev/null
	fi
	[ -n "${SW_PID:-}" ] && kill "$SW_PID" 2>/dev/null
	if [ "${TL_E2E_KEEP:-0}" = 1 ]; then echo "# kept: $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
tl() { "$TL_BIN" "$@"; }
show() { tl node show "$1" --json; }
jqn() { show "$1" | jq -r "$2"; }
# gone PID: no such process, or a zombie its new parent has not reaped yet
gone() { [ ! -e "/proc/$1" ] || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]; }

# ---- the image -------------------------------------------------------------------
IMG=$TL_HOME/images/default
mkdir -p "$TL_HOME/images"
tl image build -o "$IMG" --fixtures "$TL_FIXTURES" >"$W/image.log" 2>&1 || {
	cat "$W/image.log"
	bail "tl image build failed"
}
ok "image built: $(jq -r .image.sha256 "$IMG/manifest.json")"

# ---- 1. three nodes at once -------------------------------------------------------
t0=$EPOCHREALTIME
tl node create sbvtpm --no-wait --json >"$W/c1.json" 2>"$W/c1.err"
tl node create vtpmonly --secure-boot off --no-wait --json >"$W/c2.json" 2>"$W/c2.err"
tl node create sbonly --vtpm off --no-wait --json >"$W/c3.json" 2>"$W/c3.err"
check "tl node create (three nodes) answers at once, state booting" \
	test "$(jq -rs 'map(.state) | join(",")' "$W/c1.json" "$W/c2.json" "$W/c3.json")" = booting,booting,booting
for n in sbvtpm vtpmonly sbonly; do
	tl node wait "$n" --timeout "$NODE_TIMEOUT" --json >"$W/$n.json" 2>"$W/$n.err"
	[ "$(jq -r .state "$W/$n.json")" = running ] || tl node console "$n" | tail -20
done
secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
check "all three report in (${secs}s for three concurrent TCG boots)" \
	test "$(jq -rs 'map(.state) | join(",")' "$W/sbvtpm.json" "$W/vtpmonly.json" "$W/sbonly.json")" = running,running,running
check "Secure Boot + vTPM: the guest saw Secure Boot on and a TPM; the log measured Secure Boot on" \
	test "$(jq -c '.report | [.secure_boot, .tpm, .logged_secure_boot]' "$W/sbvtpm.json")" = '["on",true,"on"]'
check "Secure Boot + vTPM: its event log replays to the PCRs it read, in every bank" \
	test "$(jq -c '.report.replay | [.verdict, .banks]' "$W/sbvtpm.json")" = '["match",["sha1","sha256","sha384","sha512"]]'
check "Secure Boot + vTPM: both EK certificates in its NV are the ones the platform issued" \
	test "$(jq -c '[.report.ek_certs[].verdict]' "$W/sbvtpm.json")" = '["issued-by-platform","issued-by-platform"]'
check "Secure Boot + vTPM: no findings, consistent" \
	test "$(jq -c '.report | [.consistent, .findings]' "$W/sbvtpm.json")" = '[true,[]]'
check "vTPM only: Secure Boot off (guest and log), event log delivered and consistent" \
	test "$(jq -c '.report | [.secure_boot, .logged_secure_boot, .tpm, (.eventlog_bytes > 0), .replay.verdict, .consistent]' "$W/vtpmonly.json")" = '["off","off",true,true,"match",true]'
check "Secure Boot only: Secure Boot on, no TPM in the guest, no event log" \
	test "$(jq -c '.report | [.secure_boot, .tpm, .eventlog_bytes, .consistent]' "$W/sbonly.json")" = '["on",false,null,true]'
check "Secure Boot only: the guest console says tpm=absent" \
	sh -c "'$TL_BIN' node console sbonly | grep -q '^TL: tpm=absent'"
check "tl node list shows the three running" \
	test "$(tl node list --json | jq -c '[.nodes[] | [.name, .state]] | sort')" = \
	'[["sbonly","running"],["sbvtpm","running"],["vtpmonly","running"]]'

# ---- 2. stop: the host reads the vTPM -------------------------------------------------
ek1=$(jq -r '.report.ek_certs.rsa2048.sha256' "$W/sbvtpm.json")
swtpm_pid=$(jq -r .pids.swtpm "$W/sbvtpm.json")
qemu_pid=$(jq -r .pids.qemu "$W/sbvtpm.json")
tl node stop sbvtpm --json >"$W/stop.json"
check "stop: state stopped, QEMU and swtpm gone" \
	sh -c "[ \"\$(jq -r .state '$W/stop.json')\" = stopped ] && [ ! -e /proc/$swtpm_pid ] && [ ! -e /proc/$qemu_pid ]" # tld's children: reaped
check "stop: the host read the vTPM's PCRs itself and they equal the replay of the agent's log (4 banks)" \
	test "$(jq -c '.host_vtpm.replay | [.verdict, .banks]' "$W/stop.json")" = '["match",["sha1","sha256","sha384","sha512"]]'
check "stop: the host's PCR 7 (sha256) equals the one the agent reported" \
	test "$(jq -r '.host_vtpm.pcrs.sha256["7"]' "$W/stop.json")" = "$(jq -r '.report.pcrs.sha256["7"]' "$W/sbvtpm.json")"

# ---- 3. the EK certificate from NV, the state's encryption ------------------------------
ST=$TL_HOME/nodes/sbvtpm/vtpm
KEY=$TL_HOME/keys/sbvtpm.vtpm.key
CA=$TL_HOME/ekca
check "the vTPM state is the node's, its key is kept apart (0600, outside the state)" \
	sh -c "[ -f '$ST/tpm2-00.permall' ] && [ \"\$(stat -c %a '$KEY')\" = 600 ]"
swtpm socket --tpm2 --tpmstate dir="$ST" --ctrl type=unixio,path="$W/sw.sock.ctrl" \
	--server type=unixio,path="$W/sw.sock" --flags not-need-init,startup-clear \
	--key file="$KEY",mode=aes-256-cbc,format=binary --log file="$W/sw.log" &
SW_PID=$!
wait_for 10 test -S "$W/sw.sock"
T="swtpm:path=$W/sw.sock"
tpm2_nvread -T "$T" -C o 0x01c00002 -o "$W/ek-rsa.der" >/dev/null 2>&1
tpm2_nvread -T "$T" -C o 0x01c0000a -o "$W/ek-ecc.der" >/dev/null 2>&1
tpm2_createek -T "$T" -c - -G rsa -u "$W/ek-rsa.pub.pem" -f pem >/dev/null 2>&1
swtpm_ioctl --unix "$W/sw.sock.ctrl" -s >/dev/null 2>&1
wait "$SW_PID"
SW_PID=
for k in rsa ecc; do
	openssl x509 -inform DER -in "$W/ek-$k.der" -out "$W/ek-$k.pem" 2>/dev/null
	check "EK certificate ($k) from the node's NV: openssl verify to the platform root" \
		openssl verify -CAfile "$CA/root.pem" -untrusted "$CA/intermediate.pem" "$W/ek-$k.pem"
done
spki() { openssl pkey -pubin -in "$1" -outform DER | sha256sum | cut -d' ' -f1; }
check "the RSA EK certificate's key is the vTPM's EK (tpm2_createek)" \
	test "$(openssl x509 -in "$W/ek-rsa.pem" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1)" = "$(spki "$W/ek-rsa.pub.pem")"
check "the certificate in NV is the one the agent reported" \
	test "$(sha256sum <"$W/ek-rsa.der" | cut -d' ' -f1)" = "$ek1"
head -c 32 /dev/urandom >"$W/wrong.key"
swtpm socket --tpm2 --tpmstate dir="$ST" --ctrl type=unixio,path="$W/w.ctrl" \
	--flags not-need-init --key file="$W/wrong.key",mode=aes-256-cbc,format=binary \
	--log file="$W/w.log" &
wp=$!
wait_for 10 sh -c "[ -S '$W/w.ctrl' ] || ! kill -0 $wp 2>/dev/null"
swtpm_ioctl --unix "$W/w.ctrl" -i >/dev/null 2>&1
swtpm_ioctl --unix "$W/w.ctrl" -s >/dev/null 2>&1
wait $wp
check "the state on disk is encrypted: swtpm refuses it with a wrong key" \
	grep -q 'GetDecryptedData' "$W/w.log"

# ---- 4. persisted vs not -------------------------------------------------------------
tl node start sbvtpm --timeout "$NODE_TIMEOUT" --json >"$W/restart.json" 2>"$W/restart.err"
check "persisted: restarted, reports in with the same EK certificate" \
	test "$(jq -r '[.state, .report.ek_certs.rsa2048.sha256] | join(" ")' "$W/restart.json")" = "running $ek1"
tl node create eph --vtpm-persist off --timeout "$NODE_TIMEOUT" --json >"$W/e1.json" 2>"$W/e1.err"
tl node stop eph >/dev/null
check "non-persisted: no vTPM state left once stopped" \
	sh -c "! ls '$TL_HOME/run/eph.vtpm' >/dev/null 2>&1 && ! ls '$TL_HOME/nodes/eph/vtpm' >/dev/null 2>&1"
tl node start eph --timeout "$NODE_TIMEOUT" --json >"$W/e2.json" 2>"$W/e2.err"
e1=$(jq -r .report.ek_certs.rsa2048.sha256 "$W/e1.json")
e2=$(jq -r .report.ek_certs.rsa2048.sha256 "$W/e2.json")
check "non-persisted: a restart gives a fresh vTPM (a new EK certificate, still the platform's)" \
	sh -c "[ '$e1' != '$e2' ] && [ '$e1' != null ] && [ '$e2' != null ] && [ \"\$(jq -r .report.ek_certs.rsa2048.verdict '$W/e2.json')\" = issued-by-platform ]"
tl node delete eph >/dev/null

# ---- 5. a one-byte change to grub -------------------------------------------------------
BAD=$W/bad-image
cp -r "$IMG" "$BAD"
mcopy -n -i "$BAD/disk.raw@@1M" ::/EFI/BOOT/grubx64.efi "$W/grub.efi"
off=$(($(stat -c %s "$W/grub.efi") / 2))
printf '\x5a' | dd of="$W/grub.efi" bs=1 seek=$off conv=notrunc status=none
mcopy -o -i "$BAD/disk.raw@@1M" "$W/grub.efi" ::/EFI/BOOT/grubx64.efi
tl node create tampered --image "$BAD" --timeout "$NODE_TIMEOUT" --json >"$W/t.json" 2>"$W/t.err"
rc=$?
check "tampered grub: tl node create exits 1 (the node did not boot)" test "$rc" = 1
tl node show tampered >"$W/t.txt"
check "tampered grub: the node failed with a secure boot violation naming grub" \
	test "$(jq -c '[.state, .diagnosis.verdict, .diagnosis.component]' "$W/t.json")" = '["failed","secure-boot-violation","grub"]'
check "tampered grub: tl node show says so in words" \
	grep -q 'secure-boot-violation.*grub' "$W/t.txt"
check "tampered grub: the console line is shim's" \
	grep -q 'Verification failed: (0x1A) Security Violation' "$W/t.txt"
check "tampered grub: no QEMU or swtpm left" \
	test "$(jq -c '.pids' "$W/t.json")" = '{"qemu":null,"swtpm":null}'
tl node delete tampered >/dev/null

# ---- 6. kill -9 --------------------------------------------------------------------------
show vtpmonly >"$W/v.json"
q=$(jq -r .pids.qemu "$W/v.json")
s=$(jq -r .pids.swtpm "$W/v.json")
kill -9 "$q"
for _ in $(seq 40); do [ "$(jqn vtpmonly .state)" = crashed ] && break; sleep 0.25; done
show vtpmonly >"$W/v2.json"
check "kill -9 of QEMU: reported as crashed, by signal 9" \
	test "$(jq -r '[.state, .reason] | join(": ")' "$W/v2.json")" = "crashed: QEMU killed by signal 9 (Killed)"
check "kill -9 of QEMU: its swtpm is cleaned up" gone "$s"

tl node start vtpmonly --no-wait >/dev/null 2>&1
tld_pid=$(awk '{print $2}' "$TL_HOME/tld.addr")
before=$(tl node list --json | jq -c '[.nodes[] | [.name, .state, .pids.qemu]] | sort')
kill -9 "$tld_pid"
wait_for 10 sh -c "! kill -0 $tld_pid 2>/dev/null || grep -q '^State:.*Z' /proc/$tld_pid/status"
after=$(tl node list --json | jq -c '[.nodes[] | [.name, .state, .pids.qemu]] | sort')
check "kill -9 of tld: the next tl command restarts it, it lists the same nodes with the same states and processes" \
	sh -c "[ '$before' = '$after' ] && [ \"\$(awk '{print \$2}' '$TL_HOME/tld.addr')\" != $tld_pid ]"
tl node wait vtpmonly --timeout "$NODE_TIMEOUT" >/dev/null 2>&1
check "kill -9 of tld: the node that was booting reports in to the restarted tld" \
	test "$(jqn vtpmonly .state)" = running

# ---- Gen1 (BIOS): not trusted-launch capable --------------------------------------------
tl image build --gen1 -o "$W/gen1" --fixtures "$TL_FIXTURES" >"$W/gen1.log" 2>&1 || bail "gen1 image: $(tail -2 "$W/gen1.log")"
tl node create g1 --image "$W/gen1" >/dev/null 2>"$W/g1.err"
check "Gen1: Secure Boot on a Gen1 image is refused, naming the rule" \
	grep -q '^tl: node create: Secure Boot needs a Gen2 (UEFI) image; .* is Gen1 (BIOS)' "$W/g1.err"
tl node create g1 --image "$W/gen1" --secure-boot off --vtpm off --timeout "$NODE_TIMEOUT" --json >"$W/g1.json" 2>>"$W/g1.err"
check "Gen1: boots under SeaBIOS and reports in: no TPM, no Secure Boot variable, consistent" \
	test "$(jq -c '[.state, .generation, .report.tpm, .report.secure_boot, .report.consistent]' "$W/g1.json")" = '["running",1,false,"unknown",true]'
tl node delete g1 >/dev/null

# ---- 7. bad input ---------------------------------------------------------------------------
bad() { # bad DESCRIPTION EXPECTED-STDERR-REGEX ARGS...
	local d=$1 re=$2
	shift 2
	"$@" >"$W/bad.out" 2>"$W/bad.err"
	local rc=$?
	if [ "$rc" = 2 ] && [ "$(wc -l <"$W/bad.err")" = 1 ] && grep -Eq "$re" "$W/bad.err"; then
		ok "$d: exit 2, one line: $(cat "$W/bad.err")"
	else
		not_ok "$d: exit $rc, stderr: $(cat "$W/bad.err")"
	fi
}
bad "unknown flag" '^tl: node create: option --enable-vtpm is unknown or needs a value$' tl node create x --enable-vtpm
bad "bad on/off" '^tl: node create: --vtpm takes on or off, not "maybe"$' tl node create x --vtpm maybe
bad "missing image" "^tl: $W/nope: image not found" tl node create x --image "$W/nope"
bad "an image folder without a disk" "no disk.raw" tl node create x --image "$W"
bad "a name in use" '^tl: node create: node sbonly exists already$' tl node create sbonly
bad "an invalid name" 'node name "Bad_Name"' tl node create Bad_Name
bad "an unknown node" '^tl: node stop: no node named ghost$' tl node stop ghost
TL_HOME=/proc/trustlaunch bad "an unwritable data dir" '^tl: /proc/trustlaunch: data directory not writable' \
	"$TL_BIN" node list
check "nothing half-created: the failed creates left no node and no files" \
	sh -c "[ \"\$('$TL_BIN' node list --json | jq -c '[.nodes[].name] | sort')\" = '[\"sbonly\",\"sbvtpm\",\"vtpmonly\"]' ] && [ \"\$(ls '$TL_HOME/nodes' | sort | tr '\n' ' ')\" = 'sbonly sbvtpm vtpmonly ' ] && [ \"\$(ls '$TL_HOME/keys' | grep -v '^token-signing.pem$')\" = 'sbvtpm.vtpm.key
vtpmonly.vtpm.key' ]"

# ---- delete: nothing left -------------------------------------------------------------------
pids=$(tl node list --json | jq -r '.nodes[].pids | .qemu, .swtpm' | grep -v null | tr '\n' ' ')
for n in sbvtpm vtpmonly sbonly; do tl node delete "$n" >/dev/null; done
left=0
for p in $pids; do gone "$p" || left=1; done
check "delete: no QEMU or swtpm left, no node files" \
	sh -c "[ $left = 0 ] && [ -z \"\$(ls '$TL_HOME/nodes')\" ] && [ -z \"\$(ls '$TL_HOME/keys' | grep -v '^token-signing.pem$')\" ]"
finish
