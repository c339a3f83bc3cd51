#!/usr/bin/env bash
# `tld --paravisor LISTEN SWTPM_CTRL NODE_DIR`, the relay process, against a
# real swtpm and tpm2-tools: a report written to NODE_DIR/hcl-report.bin
# (3,000 bytes: over libtpms' 2,048-byte NV cap) is what tpm2_nvread reads
# at 0x01400001 through the relay, with the index's auth and with the
# owner's (Microsoft's how-to: tpm2_nvread -C o 0x01400001); tpm2_nvreadpublic
# gives its size and attributes; an ordinary command passes through; the
# relay ends when QEMU (here tpm-fdpipe) is gone, and on SIGTERM, with its
# counts on stderr; bad arguments exit 2.
# Needs: TL_TLD, TL_TPM_FDPIPE; swtpm, tpm2-tools with the cmd TCTI.
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
mkdir -p "$W/node"
python3 -c 'import sys; sys.stdout.buffer.write(b"HCLA" + bytes((i * 7 + 3) & 255 for i in range(2996)))' \
    >"$W/node/hcl-report.bin"

"$TL_TLD" --paravisor "$W/relay.ctrl" "$W/swtpm.ctrl" 2>"$W/usage.err"
is "too few arguments: exit 2" "$?" 2
check "usage line" grep -q "^usage: tld --paravisor LISTEN SWTPM_CTRL NODE_DIR" "$W/usage.err"

start_relay() {
    "$TL_TLD" --paravisor "$W/relay.ctrl" "$W/swtpm.ctrl" "$W/node" 2>"$W/relay.err" &
    RELAY=$!
    pids+=("$RELAY")
    wait_for 5 test -S "$W/relay.ctrl" || bail "the relay did not start: $(cat "$W/relay.err")"
}
start_relay
export TPM2TOOLS_TCTI="cmd:$TL_TPM_FDPIPE $W/relay.ctrl"
# one tool run is one QEMU: the relay (once) ends with it, so one run
check "tpm2_nvread 0x01400001 through the relay" tpm2_nvread 0x01400001 -o "$W/nv.bin"
check "the bytes of hcl-report.bin" cmp "$W/nv.bin" "$W/node/hcl-report.bin"
wait_for 5 sh -c "! kill -0 $RELAY 2>/dev/null" && ok "the relay ends when QEMU is gone" ||
    not_ok "the relay ends when QEMU is gone"
wait "$RELAY"
is "its exit status" "$?" 0
check "its counts on stderr" grep -q "^tld --paravisor: [0-9]* commands relayed, [1-9][0-9]* answered" "$W/relay.err"

start_relay
check "tpm2_nvread -C o (the owner's auth)" tpm2_nvread -C o 0x01400001 -o "$W/nv-owner.bin"
check "the same bytes" cmp "$W/nv-owner.bin" "$W/node/hcl-report.bin"
wait "$RELAY"
start_relay
check "tpm2_nvreadpublic 0x01400001" sh -c "tpm2_nvreadpublic 0x01400001 >$W/pub.yaml"
check "size 3000" grep -q "size: 3000" "$W/pub.yaml"
check "attributes 0x62070001" grep -q "value: 0x62070001" "$W/pub.yaml"
wait "$RELAY"
start_relay
check "an ordinary command passes through (GetRandom)" sh -c "tpm2_getrandom --hex 16 >$W/rnd"
is "16 random bytes" "$(wc -c <"$W/rnd")" 32
wait "$RELAY"

start_relay
kill -TERM "$RELAY"
wait "$RELAY"
is "SIGTERM: exit 0" "$?" 0
check "the socket is gone" test ! -e "$W/relay.ctrl"

rm "$W/node/hcl-report.bin"
"$TL_TLD" --paravisor "$W/relay.ctrl" "$W/swtpm.ctrl" "$W/node" 2>"$W/relay.err"
is "no report: exit 1" "$?" 1
check "naming the file" grep -q "hcl-report.bin" "$W/relay.err"
finish
