#!/usr/bin/env bash
# Nothing acknowledged is lost: kill -9 of tld during a stream of
# attestations, then every attestation the agent got an answer for (its
# console line "TL: agent attested verdict=... attestation=N") is in the
# store after tld starts again, with its verdict.
#
# An external node (tl node create --external: a vTPM and an agent config,
# no VM) attested by tl-agent on the host every second, against a swtpm on
# the node's own vTPM state, with PCRs extended from the real OVMF log.
# Needs TL_BIN, TL_TLD, TL_AGENT, TL_VECTORS; swtpm, tpm2-tools, jq.
set -u
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
: "${TL_BIN:?}" "${TL_TLD:?}" "${TL_AGENT:?}" "${TL_VECTORS:?}"
for t in swtpm swtpm_ioctl tpm2_pcrextend jq; do
	command -v "$t" >/dev/null || {
		skip_all "$t missing"
	}
done
W=$(mktemp -d "${TMPDIR:-/tmp}/tl-durability.XXXXXX")
export TL_HOME=$W/home TL_TLD
LOG=$TL_VECTORS/eventlog/ovmf-debian12/secureboot-on.eventlog.bin
SW=
AG=
# shellcheck disable=SC2317
cleanup() {
	[ -n "$AG" ] && kill "$AG" 2>/dev/null
	[ -n "$SW" ] && { swtpm_ioctl --unix "$W/sw.ctrl" -s >/dev/null 2>&1 || kill "$SW" 2>/dev/null; }
	[ -r "$TL_HOME/tld.addr" ] && kill "$(awk '{print $2}' "$TL_HOME/tld.addr")" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
tl() { "$TL_BIN" "$@"; }

tl node create d1 --external --json >"$W/create.json" 2>"$W/create.err" || bail "create: $(cat "$W/create.err")"
swtpm socket --tpm2 --tpmstate dir="$TL_HOME/nodes/d1/vtpm" --ctrl type=unixio,path="$W/sw.ctrl" \
	--server type=unixio,path="$W/sw" --flags not-need-init,startup-clear \
	--key file="$TL_HOME/keys/d1.vtpm.key",mode=aes-256-cbc,format=binary --log file="$W/swtpm.log" &
SW=$!
wait_for 10 test -S "$W/sw"
T="swtpm:path=$W/sw" # the TCTI finds the control channel at PATH.ctrl
# the OVMF boot's measurements, extended into the vTPM
tl eventlog show "$LOG" --json | jq -r '.events[] | select(.type != "EV_NO_ACTION") |
	"\(.pcr):" + ([.digests | to_entries[] | "\(.key)=\(.value)"] | join(","))' >"$W/extends"
while read -r e; do tpm2_pcrextend -T "$T" "$e" || bail "pcrextend $e"; done <"$W/extends"
mkdir -p "$W/efivars"

"$TL_AGENT" --config "$TL_HOME/nodes/d1/agent.json" --tcti "$T" --eventlog "$LOG" \
	--efivars "$W/efivars" --interval 1 --retry-for 60 >"$W/agent.log" 2>&1 &
AG=$!
for _ in $(seq 200); do
	[ "$(grep -c 'attested verdict=' "$W/agent.log")" -ge 5 ] && break
	sleep 0.1
done
retries() { grep -c 'TL: agent retry ' "$W/agent.log"; }
test_retried() { [ "$(retries)" -gt "$1" ]; }
before=$(retries)
kill -9 "$(awk '{print $2}' "$TL_HOME/tld.addr")"
# the agent retries into the void: wait for its first retry after the kill
wait_for 30 test_retried "$before" || diag "no retry in 30 s after the kill"
answered=$(grep -o 'attested verdict=[a-z]* attestation=[0-9]*' "$W/agent.log" | sed 's/attested verdict=\([a-z]*\) attestation=\([0-9]*\)/\2 \1/' | sort -n -u)
n=$(printf '%s\n' "$answered" | grep -c .)
check "the agent had $n attestations answered before the kill (at least 5)" test "$n" -ge 5
check "every answered attestation was a pass (the OVMF log replays to the vTPM's PCRs)" \
	sh -c "! printf '%s\n' '$answered' | grep -qv ' pass$'"
stored=$(tl attestation list --node d1 --limit 1000 --json | jq -r '.attestations[] | "\(.id) \(.verdict)"' | sort -n -u)
missing=$(comm -23 <(printf '%s\n' "$answered") <(printf '%s\n' "$stored"))
check "after tld restarts, every answered attestation is in the store with its verdict (${n} of ${n})" \
	test -z "$missing"
for _ in $(seq 100); do
	[ "$(grep -c 'attested verdict=' "$W/agent.log")" -gt "$n" ] && break
	sleep 0.1
done
check "the agent carries on with the restarted tld (same port)" \
	test "$(grep -c 'attested verdict=' "$W/agent.log")" -gt "$n"
finish
