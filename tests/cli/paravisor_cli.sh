#!/usr/bin/env bash
# `tld --paravisor LISTEN SWTPM_CTRL NODE_DIR`, the relay process, against a
# real swtpm and tpm2-tools. NODE_DIR/paravisor.json names an SEV-SNP node
# on the emulated secure processor (a new emulator folder) and the OVMF
# file; the relay provisions the vTPM (the AK at 0x81000003, the indexes),
# and what tpm2_nvread reads at 0x01400001 (with the index's auth and with
# the owner's, as Microsoft's how-to: tpm2_nvread -C o 0x01400001) is an
# HCL report of 2,600 bytes (over libtpms' 2,048-byte NV cap): "HCLA", an
# SNP report whose REPORT_DATA is SHA-256 of the runtime JSON it carries,
# whose HCLAkPub is the key at 0x81000003; tpm2_nvreadpublic gives its size
# and attributes; GetCapability lists 0x01400001 (how a guest finds out it
# is on a CVM); an ordinary command passes through; the relay ends when
# QEMU (here tpm-fdpipe) is gone, and on SIGTERM, with its counts on
# stderr; bad arguments exit 2, a missing paravisor.json exits 1 naming it.
# Needs: TL_TLD, TL_TPM_FDPIPE; swtpm, tpm2-tools with the cmd TCTI, OVMF.
set -u
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
: "${TL_TLD:?}" "${TL_TPM_FDPIPE:?}"
for t in swtpm tpm2_nvread tpm2_nvreadpublic tpm2_getrandom; do
    command -v "$t" >/dev/null || bail "$t missing (apt-get install swtpm tpm2-tools)"
done
W=$(mktemp -d /tmp/tl-paravisor-cli.XXXXXX)
export TSS2_LOG=all+none
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT

swtpm socket --tpm2 --tpmstate dir="$W" --ctrl type=unixio,path="$W/swtpm.ctrl" \
    --flags not-need-init,startup-clear --log file="$W/swtpm.log" &
pids+=($!)
wait_for 5 test -S "$W/swtpm.ctrl" || bail "swtpm did not start"
FW=${TL_OVMF_DIR:-/usr/share/OVMF}/OVMF_CODE_4M.secboot.fd
[ -r "$FW" ] || bail "$FW missing (apt-get install ovmf)"
mkdir -p "$W/node"
printf '{"tee":"snp","emulator":"%s","chip":"n1","firmware":"%s","secure_boot":true,"tpm_persisted":true,"vm_unique_id":"6b7c8d9e-0000-4000-8000-000000000001"}' \
    "$W/emul" "$FW" >"$W/node/paravisor.json"
# hcl FILE: "ok" when FILE is a 2,600-byte HCL report, SNP, whose REPORT_DATA
# binds its runtime JSON (else what is wrong); the JSON in FILE.json
hcl() {
    python3 - "$1" <<'EOF'
import hashlib, json, struct, sys
b = open(sys.argv[1], 'rb').read()
hw = b[0x20:0x20 + 1184]
size, _, rtype, _, rt_len = struct.unpack_from('<IIIII', b, 0x20 + 1184)
rt = b[0x4d4:0x4d4 + rt_len]
rd = hw[0x50:0x90]
why = ('size %d' % len(b) if len(b) != 2600 else 'header %r' % b[:4] if b[:4] != b'HCLA' else
       'report type %d' % rtype if rtype != 2 else
       'REPORT_DATA does not bind the runtime JSON' if rd != hashlib.sha256(rt).digest() + bytes(32) else '')
open(sys.argv[1] + '.json', 'wb').write(rt)
print(why or 'ok')
EOF
}

"$TL_TLD" --paravisor "$W/relay.ctrl" "$W/swtpm.ctrl" 2>"$W/usage.err"
is "too few arguments: exit 2" "$?" 2
check "usage line" grep -q "^usage: tld --paravisor LISTEN SWTPM_CTRL NODE_DIR" "$W/usage.err"

start_relay() {
    "$TL_TLD" --paravisor "$W/relay.ctrl" "$W/swtpm.ctrl" "$W/node" 2>"$W/relay.err" &
    RELAY=$!
    pids+=("$RELAY")
    # the first start makes the emulator's keys (RSA-4096 ARK and ASK): seconds
    wait_for 120 test -S "$W/relay.ctrl" || bail "the relay did not start: $(cat "$W/relay.err")"
}
start_relay
export TPM2TOOLS_TCTI="cmd:$TL_TPM_FDPIPE $W/relay.ctrl"
# one tool run is one QEMU: the relay (once) ends with it, so one run
check "tpm2_nvread 0x01400001 through the relay" tpm2_nvread 0x01400001 -o "$W/nv.bin"
is "an HCL report: 2,600 bytes, HCLA, SNP, REPORT_DATA = SHA-256 of its runtime JSON" "$(hcl "$W/nv.bin")" ok
is "its runtime JSON: the node's vm-configuration and uuid, zero user-data" \
    "$(jq -c '[."vm-configuration"["secure-boot"], ."vm-configuration"["tpm-persisted"], ."vm-configuration".vmUniqueId, (."user-data" | test("^0{128}$")), [.keys[].kid]]' "$W/nv.bin.json")" \
    '[true,true,"6b7c8d9e-0000-4000-8000-000000000001",true,["HCLAkPub","HCLEkPub"]]'
wait_for 5 sh -c "! kill -0 $RELAY 2>/dev/null" && ok "the relay ends when QEMU is gone" ||
    not_ok "the relay ends when QEMU is gone"
wait "$RELAY"
is "its exit status" "$?" 0
check "its counts on stderr" grep -q "^tld --paravisor: [0-9]* commands relayed, [1-9][0-9]* answered" "$W/relay.err"

start_relay
check "tpm2_nvread -C o (the owner's auth)" tpm2_nvread -C o 0x01400001 -o "$W/nv-owner.bin"
is "an HCL report again, the same runtime JSON" "$(hcl "$W/nv-owner.bin") $(cmp "$W/nv.bin.json" "$W/nv-owner.bin.json" && echo same)" "ok same"
wait "$RELAY"
start_relay
check "tpm2_nvreadpublic 0x01400001" sh -c "tpm2_nvreadpublic 0x01400001 >$W/pub.yaml"
check "size 2600" grep -q "size: 2600" "$W/pub.yaml"
check "attributes 0x62070001" grep -q "value: 0x62070001" "$W/pub.yaml"
wait "$RELAY"
start_relay
check "GetCapability lists 0x01400001 (swtpm's placeholder; its reads are the relay's)" \
    sh -c "tpm2_getcap handles-nv-index >$W/nv.yaml && grep -qi 0x1400001 $W/nv.yaml && grep -qi 0x1400002 $W/nv.yaml"
wait "$RELAY"
start_relay
check "HCLAkPub is the key at 0x81000003" sh -c "tpm2_readpublic -c 0x81000003 -f pem -o $W/ak.pem >/dev/null"
wait "$RELAY"
python3 - "$W/ak.pem" "$W/nv.bin.json" >"$W/ak-same" <<'EOF'
import base64, json, subprocess, sys
k = [k for k in json.load(open(sys.argv[2]))['keys'] if k['kid'] == 'HCLAkPub'][0]
out = subprocess.run(['openssl', 'rsa', '-pubin', '-in', sys.argv[1], '-noout', '-modulus'], capture_output=True, text=True).stdout
n = int(out.strip().split('=')[1], 16)
m = int.from_bytes(base64.urlsafe_b64decode(k['n'] + '=' * (-len(k['n']) % 4)), 'big')
print('same' if n == m else 'different')
EOF
is "... the same modulus" "$(cat "$W/ak-same")" same
start_relay
check "an ordinary command passes through (GetRandom)" sh -c "tpm2_getrandom --hex 16 >$W/rnd"
is "16 random bytes" "$(wc -c <"$W/rnd")" 32
wait "$RELAY"

start_relay
kill -TERM "$RELAY"
wait "$RELAY"
is "SIGTERM: exit 0" "$?" 0
check "the socket is gone" test ! -e "$W/relay.ctrl"

rm "$W/node/paravisor.json"
"$TL_TLD" --paravisor "$W/relay.ctrl" "$W/swtpm.ctrl" "$W/node" 2>"$W/relay.err"
is "no paravisor.json: exit 1" "$?" 1
check "naming the file" grep -q "paravisor.json" "$W/relay.err"
finish
