#!/usr/bin/env bash
# e2e: a node's guest state (issue 14: Azure's VMGS; docs/architecture.md,
# "Guest state"): its vTPM state and UEFI variable store in one file,
# HOME/nodes/NAME/guest-state.vmgs, AES-256-GCM under its own key, held
# by the key store (issue 15 part 4: sealed by the node's KEK in the
# PKCS#11 token, HOME/keys/NAME.*.sealed), opened onto a tmpfs only while
# the node runs.
#
#  1. A guest_state node (POST /v1/nodes {"guest_state": true}) boots with
#     Secure Boot and a persisted vTPM; while it runs its files are in a
#     0700 folder on a tmpfs and nowhere under the node's folder.
#  2. Stopped: the open folder is gone; the node folder holds the sealed
#     file (header TLGUESTS, version 1, the node's uuid); no key file in
#     clear, the guest-state and vTPM keys sealed (0600); the keys' bytes,
#     taken from the token (tests/tools/keystore-unseal.c, tld stopped),
#     in no file under TL_HOME (tld.log included); and none of the known
#     bytes are in the file: the EK
#     certificate's DER (read from the vTPM's NV, equal to the one the agent
#     reported), the PK certificate (Debian's, in the store), the UTF-16 name
#     BootOrder (written by the firmware), a slice of the vTPM state file.
#     Each is first shown to be in the plaintext copy taken while it ran.
#  3. Migration: the guest-state key put back in clear as an earlier tld
#     kept it (HOME/keys/gs.gueststate.key, no sealed file): the start moves
#     it into the key store (sealed, the clear file removed, logged).
#     Started again: reports in with the same EK certificate (persisted).
#  4. One byte flipped: the start is refused (409), naming the file; the
#     node is failed with that reason, no QEMU or swtpm, no open folder; a
#     truncated file likewise. The byte put back: it starts.
#  5. kill -9 of tld and then of the node's QEMU: the restarted tld seals
#     the open folder (a new nonce), removes it, and the node starts with
#     the same EK.
#  6. NonPersistedTPM: guest_state with vtpm_persist false: the variable
#     store is in the file, the vTPM is not; a restart gives a new EK
#     certificate (the platform's still).
#  7. Bad input: "guest_state" not a boolean, and on an external node: 400
#     naming the field.
#  8. A DiskWithVMGuestState confidential node (SEV-SNP, emulated, its own
#     policy naming the emulated root): its overlay is qcow2 with LUKS
#     encryption, its secret the token-held disk key (qemu-img opens it with
#     that key and refuses another); no key in clear, no key's bytes in
#     TL_HOME or tld.log, nor on QEMU's command line; it boots and attests
#     (pass, sevsnpvm), stops and starts and attests again. Deleting it
#     destroys its KEK in the token (1 object, then 0) and its sealed keys.
#     A VMGuestStateOnly node's overlay is plain qcow2.
#
# Environment: TL_BIN, TL_TLD, TL_FIXTURES (the builds'); TL_E2E_KEEP=1
# keeps the work folder. Exit 0 pass, 1 fail, 77 skip (no QEMU/OVMF/swtpm).
set -u
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"

: "${TL_BIN:?TL_BIN must point to the tl binary}"
: "${TL_TLD:?TL_TLD must point to the tld binary}"
: "${TL_FIXTURES:?TL_FIXTURES must point to the fixtures folder}"
OVMF=${TL_OVMF_DIR:-/usr/share/OVMF}
# seconds a node may take to boot: five boots here, 2-8 minutes each on a
# loaded 2-core machine under TCG; tld's own boot timeout follows it
NODE_TIMEOUT=${TL_E2E_NODE_TIMEOUT:-600}
export TL_BOOT_TIMEOUT=$NODE_TIMEOUT
for t in qemu-system-x86_64 swtpm; do
	command -v "$t" >/dev/null 2>&1 || skip_all "$t not installed"
done
[ -r "$OVMF/OVMF_CODE_4M.secboot.fd" ] || skip_all "OVMF missing"
for t in jq curl mcopy python3 tpm2_nvread swtpm_ioctl; do
	command -v "$t" >/dev/null 2>&1 || bail "$t missing (make deps)"
done

W=$(mktemp -d "${TMPDIR:-/tmp}/tl-e2e-gs.XXXXXX") || bail mktemp
export TL_HOME=$W/home
export TL_STORE_DIRS=$W
export TL_TLD
unset TL_TOKEN
# shellcheck disable=SC2317 # called through trap
cleanup() {
	if [ -r "$TL_HOME/tld.addr" ]; then
		for n in $("$TL_BIN" node list --json 2>/dev/null | jq -r '.nodes[].name'); do
			"$TL_BIN" node delete "$n" >/dev/null 2>&1
		done
		kill "$(awk '{print $2}' "$TL_HOME/tld.addr")" 2>/dev/null
	fi
	[ -n "${SW_PID:-}" ] && kill "$SW_PID" 2>/dev/null
	[ -n "${OPEN:-}" ] && rmdir "$(dirname "$OPEN")" 2>/dev/null # tld's tmpfs folder, when empty
	if [ "${TL_E2E_KEEP:-0}" = 1 ]; then echo "# kept: $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
tl() { "$TL_BIN" "$@"; }
: "${TL_KEYSTORE_UNSEAL:?TL_KEYSTORE_UNSEAL must point to tests/tools/keystore-unseal}"
# tld_stop: tld ended (the next tl command starts it again): one process
# holds the key store's token at a time
tld_stop() {
	local p
	p=$(awk '{print $2}' "$TL_HOME/tld.addr")
	kill "$p" && wait_for 20 gone "$p"
}
# unseal NODE KIND OUT: the node's KIND key opened by its KEK (tld stopped)
unseal() { "$TL_KEYSTORE_UNSEAL" "$TL_HOME" "tl-node:$1" "$TL_HOME/keys/$1.$2.sealed" >"$3"; }
kek_count() { "$TL_KEYSTORE_UNSEAL" "$TL_HOME" "tl-node:$1" --count; }
# nowhere NEEDLE-FILE: the needle's bytes are in no file under TL_HOME
# (tld.log, the store, the token's folder, the nodes' files); prints the first holder
nowhere() {
	python3 - "$TL_HOME" "$1" <<'PY'
import os, sys
needle = open(sys.argv[2], 'rb').read()
assert len(needle) >= 32
for root, dirs, files in os.walk(sys.argv[1]):
    for f in files:
        p = os.path.join(root, f)
        if os.path.islink(p) or not os.path.isfile(p):
            continue
        if needle in open(p, 'rb').read():
            print(p)
            sys.exit(1)
PY
}
show() { tl node show "$1" --json; }
# has FILE NEEDLE-FILE: the needle's bytes occur in the file
has() { python3 -c 'import sys; sys.exit(0 if open(sys.argv[2], "rb").read() in open(sys.argv[1], "rb").read() else 1)' "$1" "$2"; }
gone() { [ ! -e "/proc/$1" ] || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]; }

IMG=$TL_HOME/images/default
mkdir -p "$TL_HOME/images"
tl image build -o "$IMG" --fixtures "$TL_FIXTURES" >"$W/image.log" 2>&1 || {
	cat "$W/image.log"
	bail "tl image build failed"
}
ok "image built: $(jq -r .image.sha256 "$IMG/manifest.json")"
tl node list >/dev/null 2>&1 || bail "tld did not start"
read -r URL _ <"$TL_HOME/tld.addr" || bail "no tld.addr"
OP=$(cat "$TL_HOME/operator.token")
# api METHOD PATH [BODY]: the HTTP status (the body in $W/resp)
api() {
	curl -s -m 900 -o "$W/resp" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $OP" \
		-H 'Content-Type: application/json' ${3:+--data-binary "$3"} "$URL$2"
}

# ---- 1. a guest_state node runs ----------------------------------------------------------
is "POST /v1/nodes with guest_state: 201, booting, guest_state true" \
	"$(api POST /v1/nodes '{"name": "gs", "guest_state": true}') $(jq -c '[.state, .guest_state]' "$W/resp")" \
	'201 ["booting",true]'
GS=$TL_HOME/nodes/gs/guest-state.vmgs
OPEN=$(jq -r .guest_state_open "$W/resp")
is "its JSON names the file" "$(jq -r .guest_state_file "$W/resp")" "$GS"
tl node wait gs --timeout "$NODE_TIMEOUT" --json >"$W/gs1.json" 2>"$W/gs1.err"
[ "$(jq -r .state "$W/gs1.json")" = running ] || tl node console gs | tail -20
check "it boots and reports in: Secure Boot on, a vTPM whose EK certificates are the platform's" \
	test "$(jq -c '[.state, .report.secure_boot, .report.tpm, [.report.ek_certs[].verdict]]' "$W/gs1.json")" = \
	'["running","on",true,["issued-by-platform","issued-by-platform"]]'
ek1=$(jq -r .report.ek_certs.rsa2048.sha256 "$W/gs1.json")
check "while it runs: its vars.fd and vTPM state are in a 0700 folder on a tmpfs ($OPEN)" \
	sh -c "[ \"\$(stat -f -c %T '$OPEN')\" = tmpfs ] && [ \"\$(stat -c %a '$OPEN')\" = 700 ] && [ -f '$OPEN/vars.fd' ] && [ -f '$OPEN/vtpm/tpm2-00.permall' ]"
check "while it runs: no variable store or vTPM state under the node's folder" \
	sh -c "[ ! -e '$TL_HOME/nodes/gs/vars.fd' ] && [ ! -e '$TL_HOME/nodes/gs/vtpm' ]"
# the plaintext, copied while it runs: where the known bytes come from
cp "$OPEN/vars.fd" "$W/vars-plain.fd"
cp -r "$OPEN/vtpm" "$W/vtpm-plain"

# ---- 2. stopped: sealed, and no known bytes in the file -----------------------------------
tl node stop gs --json >"$W/stop1.json"
check "stop: state stopped, the open folder removed" \
	sh -c "[ \"\$(jq -r .state '$W/stop1.json')\" = stopped ] && [ ! -e '$OPEN' ] && [ ! -e '$OPEN.new' ]"
check "stop: the node's folder holds the sealed file, no vars.fd, no vtpm/" \
	sh -c "[ -s '$GS' ] && [ ! -e '$TL_HOME/nodes/gs/vars.fd' ] && [ ! -e '$TL_HOME/nodes/gs/vtpm' ] && [ ! -e '$GS.tmp' ]"
uuid_hex=$(jq -r .uuid "$W/stop1.json" | tr -d -)
is "the header: TLGUESTS, version 1, flags 0, the node's uuid" \
	"$(head -c 32 "$GS" | od -An -tx1 | tr -d ' \n')" \
	"$(printf TLGUESTS | od -An -tx1 | tr -d ' \n')0100000000000000$uuid_hex"
size=$(stat -c %s "$GS")
clen=$(od -An -tu8 -j48 -N8 "$GS" | tr -d ' ')
is "the header's ciphertext length is the file less header and tag" "$clen" "$((size - 56 - 16))"
check "no key in clear (HOME/keys/gs.*.key); the guest-state and vTPM keys sealed: 60 bytes, 0600" \
	sh -c "! ls '$TL_HOME'/keys/gs.*.key >/dev/null 2>&1 && [ \"\$(stat -c '%s %a' '$TL_HOME/keys/gs.gueststate.sealed' '$TL_HOME/keys/gs.vtpm.sealed' | sort -u)\" = '60 600' ]"
tld_stop || bail "tld did not stop"
unseal gs gueststate "$W/gs.gueststate.key" || bail "unsealing gs's guest-state key"
unseal gs vtpm "$W/gs.vtpm.key" || bail "unsealing gs's vTPM key"
is "the keys taken from the token: 32 bytes each, and one KEK for the node" \
	"$(stat -c %s "$W/gs.gueststate.key" "$W/gs.vtpm.key" | sort -u) $(kek_count gs)" "32 1"
for k in gueststate vtpm; do
	where=$(nowhere "$W/gs.$k.key")
	is "gs's $k key: its bytes in no file under TL_HOME (tld.log included)" "$where" ""
done

# 64 bytes of the vTPM state as it was sealed (before a swtpm here changes the copy)
cp "$W/vtpm-plain/tpm2-00.permall" "$W/permall-sealed"
dd if="$W/permall-sealed" of="$W/permall.slice" bs=64 skip=4 count=1 status=none
# the EK certificate from the vTPM's NV (a swtpm here on the plaintext copy)
swtpm socket --tpm2 --tpmstate dir="$W/vtpm-plain" --ctrl type=unixio,path="$W/sw.sock.ctrl" \
	--server type=unixio,path="$W/sw.sock" --flags not-need-init,startup-clear \
	--key file="$W/gs.vtpm.key",mode=aes-256-cbc,format=binary --log file="$W/sw.log" &
SW_PID=$!
wait_for 10 test -S "$W/sw.sock"
tpm2_nvread -T "swtpm:path=$W/sw.sock" -C o 0x01c00002 -o "$W/ek-rsa.der" >/dev/null 2>&1
swtpm_ioctl --unix "$W/sw.sock.ctrl" -s >/dev/null 2>&1
wait "$SW_PID"
SW_PID=
is "the EK certificate from NV is the one the agent reported" \
	"$(sha256sum <"$W/ek-rsa.der" | cut -d' ' -f1)" "$ek1"
# Debian's PK certificate, found in the store by its SHA-256 (tl secureboot vars show)
pk_sha=$(tl secureboot vars show "$W/vars-plain.fd" --json | jq -r '.variables[] | select(.name == "PK") | .entries[0].sha256')
python3 - "$W/vars-plain.fd" "$pk_sha" "$W/pk.der" <<'PY'
import hashlib, sys
b = open(sys.argv[1], 'rb').read()
for i in range(len(b) - 4):
    if b[i] == 0x30 and b[i + 1] == 0x82:
        n = 4 + (b[i + 2] << 8 | b[i + 3])
        if hashlib.sha256(b[i:i + n]).hexdigest() == sys.argv[2]:
            open(sys.argv[3], 'wb').write(b[i:i + n])
            break
PY
printf 'B\0o\0o\0t\0O\0r\0d\0e\0r\0' >"$W/bootorder.utf16"
# known NAME NEEDLE [PLAINTEXT]: the needle is absent from the sealed file
# (and, given one, present in the plaintext copy it came from)
known() {
	if [ -s "$2" ] && { [ -z "${3:-}" ] || has "$3" "$2"; } && ! has "$GS" "$2"; then
		ok "known bytes absent from the sealed file: $1 ($(stat -c %s "$2") bytes${3:+, present in the plaintext})"
	else
		not_ok "known bytes: $1: $(stat -c %s "$2" 2>/dev/null) bytes, in the plaintext: $([ -n "${3:-}" ] && has "$3" "$2" && echo yes), in the sealed file: $(has "$GS" "$2" && echo yes)"
	fi
}
known "the EK certificate's DER" "$W/ek-rsa.der" # in NV: swtpm encrypts its own state too
known "the PK certificate (Debian's)" "$W/pk.der" "$W/vars-plain.fd"
known "the UTF-16 name BootOrder" "$W/bootorder.utf16" "$W/vars-plain.fd"
known "64 bytes of the vTPM state file" "$W/permall.slice" "$W/permall-sealed"

# ---- 3. migration of a clear key; started again: the same vTPM ---------------------------------
cp "$GS" "$W/gs-sealed-1"
install -m 0600 "$W/gs.gueststate.key" "$TL_HOME/keys/gs.gueststate.key"
rm "$TL_HOME/keys/gs.gueststate.sealed"
tl node start gs --timeout "$NODE_TIMEOUT" --json >"$W/gs2.json" 2>"$W/gs2.err"
read -r URL _ <"$TL_HOME/tld.addr"
check "persisted: restarted from the file, reports in with the same EK certificate" \
	test "$(jq -r '[.state, .report.ek_certs.rsa2048.sha256] | join(" ")' "$W/gs2.json")" = "running $ek1"
check "a clear key an earlier tld left: moved into the key store (sealed, the clear file gone, logged)" \
	sh -c "[ ! -e '$TL_HOME/keys/gs.gueststate.key' ] && [ -s '$TL_HOME/keys/gs.gueststate.sealed' ] && grep -q 'node gs: its gueststate key moved into the key store' '$TL_HOME/tld.log'"
tl node stop gs >/dev/null
nonce() { od -An -tx1 -j32 -N12 "$1" | tr -d ' \n'; }
check "a second seal: a new nonce" test "$(nonce "$GS")" != "$(nonce "$W/gs-sealed-1")"

# ---- 4. a flipped byte, a truncation: refused --------------------------------------------------
off=$((size / 2))
orig=$(od -An -tx1 -j$off -N1 "$GS" | tr -d ' ')
printf '%b' "\\x$(printf %02x $((0x$orig ^ 0x01)))" | dd of="$GS" bs=1 seek=$off conv=notrunc status=none
is "one byte flipped: the start is refused (409)" "$(api POST /v1/nodes/gs/start)" 409
check "the answer names the file and says why" \
	grep -q "guest state refused, the node does not start: $GS: authentication failed: a wrong key, or the file was altered" "$W/resp"
show gs >"$W/refused.json"
check "the node: failed, its reason naming the file; no QEMU, no swtpm, no open folder" \
	sh -c "[ \"\$(jq -c '[.state, .pids.qemu, .pids.swtpm]' '$W/refused.json')\" = '[\"failed\",null,null]' ] && jq -r .reason '$W/refused.json' | grep -qF '$GS: authentication failed' && [ ! -e '$OPEN' ] && [ ! -e '$OPEN.new' ]"
tl node start gs >"$W/cli-refused.out" 2>"$W/cli-refused.err"
rc=$?
check "tl node start: exit 2 (a refused request), one line naming the file" \
	sh -c "[ $rc = 2 ] && [ \$(wc -l <'$W/cli-refused.err') = 1 ] && grep -qF '$GS' '$W/cli-refused.err'"
cp "$GS" "$W/gs-flipped"
head -c $((size - 1)) "$W/gs-flipped" >"$GS"
api POST /v1/nodes/gs/start >/dev/null
check "a truncated file: refused, naming the file" \
	grep -qF "$GS: ciphertext length $clen, but the file holds $((clen - 1)) (truncated or extended)" "$W/resp"
printf '%b' "\\x$orig" | dd of="$W/gs-flipped" bs=1 seek=$off conv=notrunc status=none
cp "$W/gs-flipped" "$GS"
is "the byte put back: it starts (booting)" \
	"$(api POST /v1/nodes/gs/start) $(jq -r .state "$W/resp")" "200 booting"

# ---- 5. kill -9 of tld, then of QEMU: the restarted tld seals -----------------------------------
show gs >"$W/k.json"
q=$(jq -r .pids.qemu "$W/k.json")
s=$(jq -r .pids.swtpm "$W/k.json")
tld_pid=$(awk '{print $2}' "$TL_HOME/tld.addr")
cp "$GS" "$W/gs-before-kill"
kill -9 "$tld_pid"
wait_for 10 gone "$tld_pid"
kill -9 "$q"
wait_for 10 gone "$q"
check "tld and QEMU killed: the open folder is still there (the only copy of this run's state)" \
	test -f "$OPEN/vars.fd"
tl node list >/dev/null 2>&1
read -r URL _ <"$TL_HOME/tld.addr"
show gs >"$W/k2.json"
wait_for 10 gone "$s"
is "the restarted tld: the node ended while it was down, its swtpm stopped" \
	"$(jq -r .reason "$W/k2.json") $(gone "$s" && echo gone)" "QEMU ended (while tld was not watching) gone"
check "... and its guest state sealed back (a new nonce), the open folder removed" \
	sh -c "[ ! -e '$OPEN' ] && [ '$(nonce "$GS")' != '$(nonce "$W/gs-before-kill")' ]"
tl node start gs --timeout "$NODE_TIMEOUT" --json >"$W/gs3.json" 2>"$W/gs3.err"
check "it starts from the file, with the same EK certificate" \
	test "$(jq -r '[.state, .report.ek_certs.rsa2048.sha256] | join(" ")' "$W/gs3.json")" = "running $ek1"
tl node stop gs >/dev/null

# ---- 6. NonPersistedTPM -------------------------------------------------------------------------
is "guest_state with vtpm_persist false: 201" \
	"$(api POST /v1/nodes '{"name": "eph", "guest_state": true, "vtpm_persist": false}')" 201
EOPEN=$(jq -r .guest_state_open "$W/resp")
tl node wait eph --timeout "$NODE_TIMEOUT" --json >"$W/e1.json" 2>"$W/e1.err"
check "non-persisted: the open folder holds the variable store but no vTPM (that is in HOME/run, its key in no file)" \
	sh -c "[ -f '$EOPEN/vars.fd' ] && [ ! -e '$EOPEN/vtpm' ] && [ -d '$TL_HOME/run/eph.vtpm' ] && [ ! -e '$TL_HOME/run/eph.vtpm.key' ] && [ ! -e '$TL_HOME/keys/eph.vtpm.sealed' ]"
tl node stop eph >/dev/null
check "non-persisted, stopped: the sealed file, no vTPM state anywhere" \
	sh -c "[ -s '$TL_HOME/nodes/eph/guest-state.vmgs' ] && [ ! -e '$TL_HOME/run/eph.vtpm' ] && [ ! -e '$EOPEN' ] && [ ! -e '$TL_HOME/nodes/eph/vtpm' ]"
tl node start eph --timeout "$NODE_TIMEOUT" --json >"$W/e2.json" 2>"$W/e2.err"
e1=$(jq -r .report.ek_certs.rsa2048.sha256 "$W/e1.json")
e2=$(jq -r .report.ek_certs.rsa2048.sha256 "$W/e2.json")
check "non-persisted: a restart gives a fresh vTPM (a new EK certificate, still the platform's)" \
	sh -c "[ '$e1' != '$e2' ] && [ '$e1' != null ] && [ '$e2' != null ] && [ \"\$(jq -r .report.ek_certs.rsa2048.verdict '$W/e2.json')\" = issued-by-platform ]"
tl node stop eph >/dev/null

# ---- 7. bad input ---------------------------------------------------------------------------------
is "\"guest_state\": \"yes\": 400 naming the field" \
	"$(api POST /v1/nodes '{"name": "x", "guest_state": "yes"}') $(jq -r .error "$W/resp")" \
	'400 "guest_state" must be true or false'
is "guest_state on an external node: 400" \
	"$(api POST /v1/nodes '{"name": "x", "external": true, "guest_state": true}') $(jq -r .error "$W/resp")" \
	'400 an external node takes no image, variable store, Secure Boot, egress, guest state or data disk, and has a persisted vTPM'

# ---- 8. DiskWithVMGuestState: the OS disk encrypted ------------------------------------------------
tl tee emulate snp --dir "$TL_HOME/tee-emul" --out "$W/x.bin" --json >"$W/snp-root.json" || bail "tee emulate snp"
POLICY=$(jq -c '{"trusted-roots": [."trusted-root"]}' "$W/snp-root.json")
read -r URL _ <"$TL_HOME/tld.addr"
is "a ConfidentialVM node, DiskWithVMGuestState: 201" \
	"$(api POST /v1/nodes '{"name": "cvm", "security_type": "ConfidentialVM", "tee": "snp", "disk_security": "DiskWithVMGuestState", "tee_policy": '"$POLICY"'}') $(jq -r .disk_security "$W/resp")" \
	"201 DiskWithVMGuestState"
is "a ConfidentialVM node, VMGuestStateOnly, not started: 201" \
	"$(api POST /v1/nodes '{"name": "vgs", "security_type": "ConfidentialVM", "tee": "snp", "disk_security": "VMGuestStateOnly", "start": false}') $(jq -r .disk_security "$W/resp")" \
	"201 VMGuestStateOnly"
# attested NAME [OLD_ID]: until an attestation other than OLD_ID; its id
attested() {
	for _ in $(seq $((NODE_TIMEOUT * 2))); do
		v=$(show "$1" 2>/dev/null | jq -r '.attestation.id // empty')
		[ -n "$v" ] && [ "$v" != "${2:-}" ] && { echo "$v"; return 0; }
		case $(show "$1" 2>/dev/null | jq -r .state) in failed | crashed | stopped) return 1 ;; esac
		sleep 0.5
	done
	return 1
}
verdict() { tl attestation show "$1" --json | jq -c '[.verdict, .tee."x-ms-isolation-tee"."x-ms-attestation-type"]'; }
a1=$(attested cvm) || { tl node console cvm | tail -20; bail "cvm: not attested ($(show cvm | jq -r .reason))"; }
is "cvm boots from its encrypted overlay and attests: pass, sevsnpvm" "$(verdict "$a1")" '["pass","sevsnpvm"]'
q=$(show cvm | jq -r .pids.qemu)
tr '\0' ' ' <"/proc/$q/cmdline" >"$W/cvm.cmdline"
check "QEMU's command line: the disk's secret comes from an inherited pipe (file=/dev/fd/N)" \
	grep -qE 'secret,id=sec0,format=raw,file=/dev/fd/[0-9]+ ' "$W/cvm.cmdline"
tl node stop cvm >/dev/null
CVMD=$TL_HOME/nodes/cvm/disk.qcow2
qemu-img info --output=json "$CVMD" >"$W/cvm-info.json"
is "cvm's overlay: qcow2, encrypted, format-specific encrypt luks, over the image's disk.raw" \
	"$(jq -c '[.format, .encrypted, ."format-specific".data.encrypt.format, ."backing-filename-format"]' "$W/cvm-info.json")" \
	'["qcow2",true,"luks","raw"]'
qemu-img info --output=json "$TL_HOME/nodes/vgs/disk.qcow2" >"$W/vgs-info.json"
is "vgs (VMGuestStateOnly): its overlay plain qcow2, no encryption" \
	"$(jq -c '[.format, (.encrypted // false), ."format-specific".data.encrypt]' "$W/vgs-info.json")" '["qcow2",false,null]'
check "no key in clear for cvm; its guest-state, vTPM and disk keys sealed; vgs has no disk key" \
	sh -c "! ls '$TL_HOME'/keys/*.key >/dev/null 2>&1 && [ \"\$(stat -c '%s %a' '$TL_HOME'/keys/cvm.gueststate.sealed '$TL_HOME'/keys/cvm.vtpm.sealed '$TL_HOME'/keys/cvm.disk.sealed | sort -u)\" = '60 600' ] && [ -e '$TL_HOME/keys/vgs.gueststate.sealed' ] && [ ! -e '$TL_HOME/keys/vgs.disk.sealed' ]"
tld_stop || bail "tld did not stop"
for k in gueststate vtpm disk; do unseal cvm $k "$W/cvm.$k.key" || bail "unsealing cvm's $k key"; done
printf '%s' "$(xxd -p -c 64 "$W/cvm.disk.key")" >"$W/cvm.disk.hex"
is "cvm's keys from the token: 32 bytes each; the LUKS secret their hex (64); one KEK" \
	"$(stat -c %s "$W"/cvm.{gueststate,vtpm,disk}.key | sort -u) $(stat -c %s "$W/cvm.disk.hex") $(kek_count cvm)" "32 64 1"
check "the overlay opens with the token-held disk key (qemu-img check)" \
	qemu-img check -q --object secret,id=s0,format=raw,file="$W/cvm.disk.hex" \
	--image-opts "driver=qcow2,file.filename=$CVMD,encrypt.key-secret=s0"
head -c 64 /dev/zero | tr '\0' 0 >"$W/wrong.hex"
if qemu-img check -q --object secret,id=s0,format=raw,file="$W/wrong.hex" \
	--image-opts "driver=qcow2,file.filename=$CVMD,encrypt.key-secret=s0" >"$W/wrong.out" 2>&1; then
	not_ok "the overlay refuses another secret"
else
	ok "the overlay refuses another secret: $(head -1 "$W/wrong.out")"
fi
for k in cvm.gueststate.key cvm.vtpm.key cvm.disk.key cvm.disk.hex; do
	where=$(nowhere "$W/$k")
	is "$k: its bytes in no file under TL_HOME (tld.log included)" "$where" ""
	check "$k: not on QEMU's command line" sh -c "! grep -qF '$(xxd -p -c 64 "$W/$k" | head -c 64)' '$W/cvm.cmdline'"
done
tl node start cvm --timeout "$NODE_TIMEOUT" >"$W/cvm2.out" 2>&1
a2=$(attested cvm "$a1") || bail "cvm: not attested after its restart ($(show cvm | jq -r .reason))"
is "cvm stopped and started: attests again (pass, sevsnpvm)" "$(verdict "$a2")" '["pass","sevsnpvm"]'
tl node stop cvm >/dev/null
tl node delete cvm >/dev/null
tl node delete vgs >/dev/null
check "cvm deleted: its sealed keys removed" sh -c "! ls '$TL_HOME'/keys/cvm.* >/dev/null 2>&1"
tld_stop || bail "tld did not stop"
is "cvm deleted: its KEK destroyed in the token (1 object, now 0)" "$(kek_count cvm) $(kek_count vgs)" "0 0"
tl node list >/dev/null 2>&1 || bail "tld did not start again"

# ---- delete: nothing left ---------------------------------------------------------------------------
tl node delete gs >/dev/null
tl node delete eph >/dev/null
check "delete: no node folder, no node key, no open folder" \
	sh -c "[ -z \"\$(ls '$TL_HOME/nodes')\" ] && [ -z \"\$(ls '$TL_HOME/keys' | grep -Ev '^(token-signing.pem|softhsm2.conf|token.json|tokens)$')\" ] && [ ! -e '$OPEN' ] && [ ! -e '$EOPEN' ]"
tld_stop || bail "tld did not stop"
is "delete: gs's and eph's KEKs destroyed in the token" "$(kek_count gs) $(kek_count eph)" "0 0"
finish
