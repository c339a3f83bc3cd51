#!/usr/bin/env bash
# Replicas (issue 16 part 2, docs/scale.md "Replicas"): two tlds share one
# PostgreSQL behind Debian's haproxy (round robin, health-checked, a
# refused connection sent to the other); bench-attest's simulated nodes
# (1,000 by default) are created, enrolled and attested through haproxy
# with --keep-going, so that a lost or refused call is counted and the
# node tried again later; the replica holding the reconciler's lease is
# killed with -9 in the middle of the run. Then, in the database:
#  - every attestation bench-attest was answered "pass" for is stored, a
#    pass, under its node;
#  - no nonce was redeemed twice (no two attestations carry one nonce,
#    each pass's nonce is a redeemed ticket) and nothing failed: no
#    attestation with another verdict, no alert;
#  - both replicas served attestations before the kill;
#  - the agents carried on through the other: failures only in the
#    seconds around the kill, passes after it;
#  - the lease moved to the survivor (GET /v1/health "lease") within a few
#    seconds.
# Runs in the pg suite (tests/lib/pg.sh gives TL_STORE); ~1-2 minutes.
# TL_REPLICAS_NODES (1000), TL_REPLICAS_SECONDS (20: the measured window).
# Needs TL_TLD, TL_VECTORS, TL_BUILD_ROOT (bench/bench-attest), TL_STORE;
# haproxy, psql, jq, curl.
set -u
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
: "${TL_TLD:?}" "${TL_VECTORS:?}" "${TL_BUILD_ROOT:?}"
[ -n "${TL_STORE:-}" ] || bail "TL_STORE unset: run under tests/lib/pg.sh (the pg suite)"
for c in haproxy psql jq curl python3; do
	command -v "$c" >/dev/null || bail "$c missing (make deps)"
done
BENCH=${TL_BENCH_ATTEST:-$TL_BUILD_ROOT/bench/bench-attest}
[ -x "$BENCH" ] || bail "no $BENCH (ninja -C BUILD bench/bench-attest)"
NODES=${TL_REPLICAS_NODES:-1000}
SECONDS_RUN=${TL_REPLICAS_SECONDS:-20}
LOG=$TL_VECTORS/eventlog/ovmf-debian12/secureboot-on.eventlog.bin
W=$(mktemp -d "${TMPDIR:-/tmp}/tl-replicas.XXXXXX")
A=$W/a B=$W/b
HAPROXY_PID= BENCH_PID=
# shellcheck disable=SC2317
cleanup() {
	[ -n "$BENCH_PID" ] && kill "$BENCH_PID" 2>/dev/null
	[ -n "$HAPROXY_PID" ] && kill "$HAPROXY_PID" 2>/dev/null
	for h in "$A" "$B"; do
		[ -r "$h/tld.addr" ] && kill "$(awk '{print $2}' "$h/tld.addr")" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
sql() { psql "$TL_STORE" -X -A -t -q -c "$1"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
lease_gauge() {
	curl -fsS -m 2 -H "Authorization: Bearer $(cat "$A/operator.token")" "$(url_of "$1")/metrics" |
		awk '$1 == "tld_reconcile_lease" { print $2 }'
}
pid_of() { awk '{print $2}' "$1/tld.addr"; }
url_of() { awk '{print $1}' "$1/tld.addr"; }
# GET /v1/health's lease as the operator sees it: true or false
lease_of() {
	curl -fsS -m 2 -H "Authorization: Bearer $(cat "$A/operator.token")" "$(url_of "$1")/v1/health" |
		jq -r '.lease.reconciler'
}

# Replica a, and one node through it: the EK CA for external nodes
# (HOME/ekca-vouched) is made at the first create, and the replicas must
# share it (docs/scale.md: what replicas share).
TL_HOME=$A "$TL_TLD" --home "$A" --daemon || bail "replica a did not start: $(tail -n 5 "$A/tld.log")"
"$BENCH" --url "$(url_of "$A")" --home "$A" --eventlog "$LOG" --nodes 1 --seconds 1 \
	--prefix first --ek-keys 1 >"$W/first.out" 2>&1 || bail "a first node on replica a: $(tail -n 5 "$W/first.out")"
# Replica b: its own data directory (address, log, lock) sharing a's keys
# and folders
mkdir -p "$B/keys" && chmod 700 "$B"
cp -p "$A/operator.token" "$B/"
cp -p "$A/keys/token-signing.pem" "$B/keys/"
for d in nodes ekca-vouched; do ln -s "$A/$d" "$B/$d"; done
TL_HOME=$B "$TL_TLD" --home "$B" --daemon || bail "replica b did not start: $(tail -n 5 "$B/tld.log")"
jwks() { curl -fsS -H "Authorization: Bearer $(cat "$A/operator.token")" "$(url_of "$1")/v1/jwks" | jq -c .; }
is "the two replicas publish one JWKS (a token either signs, both verify)" "$(jwks "$B")" "$(jwks "$A")"
wait_for 10 test "$(lease_of "$A")" = true || bail "replica a never took the reconciler's lease"
is "replica b does not hold the lease while a does" "$(lease_of "$B")" "false"
is "GET /metrics's tld_reconcile_lease says so (a, b)" "$(lease_gauge "$A") $(lease_gauge "$B")" "1 0"

PORT=$(free_port)
cat >"$W/haproxy.cfg" <<EOF
global
    maxconn 4096
defaults
    mode http
    timeout connect 1s
    timeout client 60s
    timeout server 60s
    retries 3
    option redispatch
    retry-on conn-failure
frontend agents
    bind 127.0.0.1:$PORT
    default_backend tld
backend tld
    balance roundrobin
    option httpchk GET /v1/health
    http-check expect status 200
    default-server inter 300ms fall 2 rise 2
    server a $(url_of "$A" | sed 's|http://||') check
    server b $(url_of "$B" | sed 's|http://||') check
EOF
haproxy -f "$W/haproxy.cfg" -db >"$W/haproxy.log" 2>&1 &
HAPROXY_PID=$!
wait_for 10 curl -fsS -o /dev/null "http://127.0.0.1:$PORT/v1/health" 2>/dev/null || bail "haproxy does not answer: $(tail -n 5 "$W/haproxy.log")"

# The run: every node through haproxy, a's node files read from a
"$BENCH" --url "http://127.0.0.1:$PORT" --home "$A" --eventlog "$LOG" --nodes "$NODES" \
	--threads 4 --ek-keys 8 --seconds "$SECONDS_RUN" --keep-going --acked "$W/acked" \
	--rollback-probe "$(url_of "$A"),$(url_of "$B")" >"$W/bench.out" 2>"$W/bench.err" &
BENCH_PID=$!
warm() { grep -q '^warm-up:' "$W/bench.out"; }
wait_for 240 warm || bail "bench-attest did not attest every node once: $(tail -n 5 "$W/bench.out" "$W/bench.err")"
sleep $((SECONDS_RUN / 3))
na=$(grep -c 'attestation [0-9]*: pass' "$A/tld.log")
nb=$(grep -c 'attestation [0-9]*: pass' "$B/tld.log")
check "both replicas served attestations before the kill (a $na, b $nb)" test "$na" -gt 0 -a "$nb" -gt 0
victim=$A survivor=$B
[ "$(lease_of "$A")" = true ] || { victim=$B survivor=$A; }
kill_pid=$(pid_of "$victim")
kill -9 "$kill_pid"
kill_at=$(date +%s)
t0=$(date +%s.%N)
diag "killed replica $(basename "$victim") (pid $kill_pid, the lease holder) at $kill_at"
moved() { [ "$(lease_of "$survivor")" = true ]; }
if wait_for 15 moved; then
	took=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	ok "the reconciler's lease moved to replica $(basename "$survivor") (${took} s after the kill)"
else
	not_ok "the reconciler's lease moved to replica $(basename "$survivor")" "$(tail -n 5 "$survivor/tld.log")"
fi
is "the survivor's tld_reconcile_lease gauge is 1" "$(lease_gauge "$survivor")" "1"
wait "$BENCH_PID"
st=$?
BENCH_PID=
is "bench-attest ran to its end through the kill (exit status)" "$st" "0"
[ "$st" = 0 ] || diag "$(tail -n 5 "$W/bench.out" "$W/bench.err")"

# Acknowledged means stored
n=$(wc -l <"$W/acked")
check "bench-attest was answered pass $n times (at least $NODES)" test "$n" -ge "$NODES"
awk '{print $1 " " $2}' "$W/acked" | sort >"$W/acked.sorted"
sql "SELECT id || ' ' || node FROM attestations WHERE verdict = 'pass'" | sort >"$W/stored"
missing=$(comm -23 "$W/acked.sorted" "$W/stored" | head -n 5)
check "every acknowledged attestation is stored as a pass of its node ($n)" test -z "$missing"
[ -z "$missing" ] || diag "missing: $missing"
is "no nonce was redeemed twice (attestations sharing a nonce)" \
	"$(sql "SELECT count(*) FROM (SELECT doc::json->>'nonce' FROM attestations GROUP BY 1 HAVING count(*) > 1) x")" "0"
is "each pass's nonce is a redeemed ticket" \
	"$(sql "SELECT count(*) FROM attestations a WHERE verdict = 'pass' AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.kind = 'nonce' AND t.value = a.doc::json->>'nonce' AND t.redeemed)")" "0"
# The rollback probe: node 0 attested through a with its TPM clock far
# ahead, then through b (which never saw that clock itself) and a again
# with clocks behind it: both refused, one alert for that boot
P=bench-000000
check "the probe's quotes behind the TPM's clock were refused by both replicas" \
	grep -q '^ROLLBACK node=bench-000000 .* refused=2 of 2' "$W/bench.out"
is "the probe's two refusals are stored, each for the TPM clock" \
	"$(sql "SELECT count(*) FROM attestations WHERE node = '$P' AND verdict = 'fail' AND doc::jsonb->'components' ? 'tpm clock'")" "2"
is "no other attestation failed (no replay, no counter gone back)" \
	"$(sql "SELECT count(*) FROM attestations WHERE verdict <> 'pass'")" "2"
is "one alert for the probe's boot, not one per replica or per failure" \
	"$(sql "SELECT node || ' ' || count(*) FROM alerts GROUP BY node")" "$P 1"
is "no enrolment challenge is left to redeem" \
	"$(sql "SELECT count(*) FROM tickets WHERE kind = 'challenge' AND NOT redeemed")" "0"

# The agents carried on: failures only around the kill, passes after it
grep '^TIMELINE' "$W/bench.out" >"$W/timeline"
fail_before=$(awk -v k="$kill_at" '{split($2,t,"="); split($4,f,"="); if (t[2] < k) s += f[2]} END {print s + 0}' "$W/timeline")
fail_after=$(awk -v k="$kill_at" '{split($2,t,"="); split($4,f,"="); if (t[2] > k + 5) s += f[2]} END {print s + 0}' "$W/timeline")
fail_near=$(awk -v k="$kill_at" '{split($2,t,"="); split($4,f,"="); if (t[2] >= k && t[2] <= k + 5) s += f[2]} END {print s + 0}' "$W/timeline")
pass_after=$(awk -v k="$kill_at" '{split($2,t,"="); split($3,p,"="); if (t[2] > k + 5) s += p[2]} END {print s + 0}' "$W/timeline")
is "no attestation failed before the kill" "$fail_before" "0"
is "no attestation failed from 5 s after the kill on" "$fail_after" "0"
check "attestations passed through the survivor after the kill ($pass_after)" test "$pass_after" -gt 0
diag "failed in the 5 s after the kill: $fail_near; $(grep '^attest:' "$W/bench.out")"
nb2=$(grep -c 'attestation [0-9]*: pass' "$survivor/tld.log")
diag "the survivor's attestations: $nb2; $(grep -c 'attestation [0-9]*: pass' "$victim/tld.log") by the killed one"
finish
