#!/usr/bin/env bash
# Nothing acknowledged is lost, for documents: tl group create in a loop
# (each a resource written to the store before tld answers), tld killed
# with -9 in the middle of the stream; every group tl was told was created
# (exit 0) is listed once tld runs again on the same store. Run with
# SQLite (cli) and with TL_STORE naming a PostgreSQL (pg_store_durability.sh,
# tests/lib/pg.sh).
# Needs TL_BIN, TL_TLD; jq.
set -u
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
: "${TL_BIN:?}" "${TL_TLD:?}"
command -v jq >/dev/null || bail "jq missing (make deps)"
W=$(mktemp -d "${TMPDIR:-/tmp}/tl-store-durability.XXXXXX")
export TL_HOME=$W/home TL_TLD
WRITER=
# shellcheck disable=SC2317
cleanup() {
	[ -n "$WRITER" ] && kill "$WRITER" 2>/dev/null
	[ -r "$TL_HOME/tld.addr" ] && kill "$(awk '{print $2}' "$TL_HOME/tld.addr")" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
tl() { "$TL_BIN" "$@"; }

tl group create -n first -o none 2>"$W/first.err" || bail "tl group create: $(cat "$W/first.err")"
read -r _ tld_pid <"$TL_HOME/tld.addr" || bail "no tld.addr"
# the writer: one group after another, each one tl acknowledged noted
(
	i=0
	while :; do
		i=$((i + 1))
		tl group create -n "g$i" -o none 2>>"$W/writer.err" && echo "g$i" >>"$W/acked"
	done
) &
WRITER=$!
acked() { [ -r "$W/acked" ] && [ "$(wc -l <"$W/acked")" -ge "$1" ]; }
wait_for 60 acked 20 || bail "fewer than 20 groups created in 60 s"
kill -9 "$tld_pid"
# let the writer meet the dead tld (and tl start another), then stop it
sleep 1
kill "$WRITER" 2>/dev/null
wait "$WRITER" 2>/dev/null
WRITER=
n=$(wc -l <"$W/acked")
check "tl acknowledged $n group creations, 20 before the kill" test "$n" -ge 20
tl group list -o json >"$W/list.json" 2>"$W/list.err" || bail "tl group list: $(cat "$W/list.err")"
read -r _ new_pid <"$TL_HOME/tld.addr" || bail "no tld.addr after the kill"
check "a new tld serves the same store (pid $new_pid, was $tld_pid)" test "$new_pid" != "$tld_pid"
missing=$(comm -23 <(sort -u "$W/acked") <(jq -r '.[].name' "$W/list.json" | sort -u))
check "every acknowledged group is in the store after the kill ($n of $n)" test -z "$missing"
is "the group created before the stream is there" \
	"$(jq -r '[.[] | select(.name == "first")] | length' "$W/list.json")" "1"
finish
