#!/usr/bin/env bash
# e2e: a node's guest state (issue 14: Azure's VMGS; docs/architecture.md,
# "Guest state"): its vTPM state and UEFI variable store in one file,
# HOME/nodes/NAME/guest-state.vmgs, AES-256-GCM under its own key in
# HOME/keys, opened onto a tmpfs only while the node runs.
#
#  1. A guest_state node (POST /v1/nodes {"guest_state": true}) boots with
#     Secure Boot and a persisted vTPM; while it runs its files are in a
#     0700 folder on a tmpfs and nowhere under the node's folder.
#  2. Stopped: the open folder is gone; the node folder holds the sealed
#     file (header TLGUESTS, version 1, the node's uuid), the key is 0600
#     and apart; and none of the known bytes are in the file: the EK
#     certificate's DER (read from the vTPM's NV, equal to the one the agent
#     reported), the PK certificate (Debian's, in the store), the UTF-16 name
#     BootOrder (written by the firmware), a slice of the vTPM state file.
#     Each is first shown to be in the plaintext copy taken while it ran.
#  3. Started again: reports in with the same EK certificate (persisted).
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
check "the key is apart from the state: HOME/keys/gs.gueststate.key, 32 bytes, 0600" \
	sh -c "[ \"\$(stat -c '%s %a' '$TL_HOME/keys/gs.gueststate.key')\" = '32 600' ]"

# 64 bytes of the vTPM state as it was sealed (before a swtpm here changes the copy)
cp "$W/vtpm-plain/tpm2-00.permall" "$W/permall-sealed"
dd if="$W/permall-sealed" of="$W/permall.slice" bs=64 skip=4 count=1 status=none
# the EK certificate from the vTPM's NV (a swtpm here on the plaintext copy)
swtpm socket --tpm2 --tpmstate dir="$W/vtpm-plain" --ctrl type=unixio,path="$W/sw.sock.ctrl" \
	--server type=unixio,path="$W/sw.sock" --flags not-need-init,startup-clear \
	--key file="$TL_HOME/keys/gs.vtpm.key",mode=aes-256-cbc,format=binary --log file="$W/sw.log" &
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

# ---- 3. started again: the same vTPM ---------------------------------------------------------
cp "$GS" "$W/gs-sealed-1"
tl node start gs --timeout "$NODE_TIMEOUT" --json >"$W/gs2.json" 2>"$W/gs2.err"
check "persisted: restarted from the file, reports in with the same EK certificate" \
	test "$(jq -r '[.state, .report.ek_certs.rsa2048.sha256] | join(" ")' "$W/gs2.json")" = "running $ek1"
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
check "non-persisted: the open folder holds the variable store but no vTPM (that is in HOME/run)" \
	sh -c "[ -f '$EOPEN/vars.fd' ] && [ ! -e '$EOPEN/vtpm' ] && [ -d '$TL_HOME/run/eph.vtpm' ]"
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
	'400 an external node takes no image, variable store, Secure Boot, egress or guest state, and has a persisted vTPM'

# ---- delete: nothing left ---------------------------------------------------------------------------
tl node delete gs >/dev/null
tl node delete eph >/dev/null
check "delete: no node folder, no key, no open folder" \
	sh -c "[ -z \"\$(ls '$TL_HOME/nodes')\" ] && [ -z \"\$(ls '$TL_HOME/keys' | grep -v '^token-signing.pem$')\" ] && [ ! -e '$OPEN' ] && [ ! -e '$EOPEN' ]"
finish
