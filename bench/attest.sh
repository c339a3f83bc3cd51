#!/usr/bin/env bash
# The attestation service's throughput: a private tld (its own TL_HOME in a
# temporary directory), bench-attest against it over loopback, then tld is
# stopped and everything removed. See bench/README.md, "bench-attest".
#
#   bash bench/attest.sh BUILD_DIR [NODES] [SECONDS]
#
# NODES (default 1000, or $BENCH_NODES), SECONDS of measured attestations
# (default 20, or $BENCH_SECONDS). Knobs: BENCH_THREADS (client threads and
# connections, default 4), BENCH_EK_KEYS (distinct RSA EKs, default 32),
# BENCH_WARMUP (s, default 2), BENCH_SPEED_SECONDS (openssl speed, default
# 3; 0 skips it), TL_STORE (tld's store, an empty PostgreSQL database:
# bash tests/lib/pg.sh bash bench/attest.sh build runs on a server of its own), TL_VECTORS (default ../shared/vectors), BENCH_PERF=1
# (perf record --call-graph dwarf of tld during the measured window, then
# the top functions), KEEP=1 (keep the directory: tld.db, tld.log),
# BENCH_CONFIDENTIAL (snp, the default: after the trusted-launch run, the
# same run with NODES SEV-SNP confidential nodes on the same tld,
# bench-attest --confidential snp, and the ratio of the two rates; none
# skips it), BENCH_CHIPS (emulated SNP chips, default 4), BENCH_TLD (the tld
# binary to run, default BUILD_DIR/src/tld/tld: an older build to compare).
# tld's own knobs pass through, e.g. TL_ATTEST_KEEP (retention: newest per
# node, default 16) and TL_ATTEST_PRUNE_SECONDS (default 10); with the
# sqlite3 shell the store's rows and bytes per node are printed (STORE line).
set -euo pipefail

usage() {
    echo "usage: bash bench/attest.sh BUILD_DIR [NODES] [SECONDS]" >&2
    exit 2
}
if [ $# -lt 1 ] || [ $# -gt 3 ]; then usage; fi
build=$(realpath "$1")
nodes=${2:-${BENCH_NODES:-1000}}
secs=${3:-${BENCH_SECONDS:-20}}
here=$(cd "$(dirname "$0")" && pwd)
vectors=${TL_VECTORS:-$here/../../shared/vectors}
log=$vectors/eventlog/ovmf-debian12/secureboot-on.eventlog.bin
tld=${BENCH_TLD:-$build/src/tld/tld}
bench=$build/bench/bench-attest

if [ ! -x "$bench" ]; then
    ninja -C "$build" bench/bench-attest >/dev/null 2>&1 || true
fi
for f in "$tld" "$bench"; do
    [ -x "$f" ] || {
        echo "attest.sh: $f missing; build it (a build directory configured before" \
            "bench/attest.c existed needs: meson setup --reconfigure $build)" >&2
        exit 1
    }
done
[ -r "$log" ] || {
    echo "attest.sh: $log missing (TL_VECTORS)" >&2
    exit 1
}
buildtype=$(sed -n 's/.*"name": "buildtype", "value": "\([a-z]*\)".*/\1/p' \
    "$build/meson-info/intro-buildoptions.json" 2>/dev/null | head -1 || true)
case ${buildtype:-unknown} in
debug | plain) echo "warning: $build is a '$buildtype' build; figures are not for -O2" >&2 ;;
esac

W=$(mktemp -d "${TMPDIR:-/tmp}/tl-bench-attest.XXXXXX")
home=$W/home
tld_pid=
perf_pid=
gs_dir=
cleanup() {
    [ -n "$perf_pid" ] && kill -INT "$perf_pid" 2>/dev/null && wait "$perf_pid" 2>/dev/null
    if [ -n "$tld_pid" ] && kill -0 "$tld_pid" 2>/dev/null; then
        kill -TERM "$tld_pid"
        for _ in $(seq 300); do kill -0 "$tld_pid" 2>/dev/null || break; sleep 0.05; done
    fi
    # the confidential nodes' guest-state folder (tmpfs), which tld leaves
    # open for nodes it would adopt
    case $gs_dir in /dev/shm/tld-*) rm -rf "$gs_dir" ;; esac
    if [ -n "${KEEP:-}" ]; then echo "# kept: $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
# result FILE KEY: the integer KEY= of FILE's RESULT line
result() { sed -n "s/^RESULT.* $2=\([0-9]*\).*/\1/p" "$1"; }

echo "== attestation service benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs" \
    "($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), build '${buildtype:-?}'," \
    "load $(cut -d' ' -f1-3 /proc/loadavg)"
TL_HOME=$home "$tld" --home "$home" --daemon
read -r url tld_pid <"$home/tld.addr"
echo "   tld $url (pid $tld_pid), TL_HOME $home"

args=(--url "$url" --home "$home" --eventlog "$log" --nodes "$nodes" --seconds "$secs"
    --threads "${BENCH_THREADS:-4}" --ek-keys "${BENCH_EK_KEYS:-32}"
    --warmup "${BENCH_WARMUP:-2}" --speed-seconds "${BENCH_SPEED_SECONDS:-3}")
if [ "${BENCH_PERF:-0}" = 1 ] && command -v perf >/dev/null; then
    # perf records tld for the measured window: bench-attest prints
    # "warm-up:" when every node has been attested once, then waits
    # BENCH_WARMUP seconds and measures SECONDS.
    "$bench" "${args[@]}" | tee "$W/ours.out" | while IFS= read -r line; do
        printf '%s\n' "$line"
        case $line in
        warm-up:*)
            perf record --call-graph dwarf,16384 -F 499 -o "$W/perf.data" -p "$tld_pid" \
                -- sleep "$secs" >/dev/null 2>&1 &
            echo "$!" >"$W/perf.pid"
            ;;
        esac
    done
    # perf ran in the pipeline's subshell: not a child to wait for
    [ -r "$W/perf.pid" ] && perf_pid=$(cat "$W/perf.pid")
    while [ -n "$perf_pid" ] && kill -0 "$perf_pid" 2>/dev/null; do sleep 0.2; done
    perf_pid=
    echo
    # The reports go to files first, then the top lines: "| head" would
    # close the pipe under perf report, whose SIGPIPE is the pipeline's
    # status under pipefail, and set -e would end the script there.
    perf report -i "$W/perf.data" --children --sort symbol --stdio -g none \
        >"$W/perf.children" 2>/dev/null || true
    perf report -i "$W/perf.data" --no-children --sort symbol --stdio -g none \
        >"$W/perf.self" 2>/dev/null || true
    perf report -i "$W/perf.data" --no-children --sort dso --stdio -g none \
        >"$W/perf.dso" 2>/dev/null || true
    top() { awk -v max="$2" '!/^#/ && /%/ && !/\] 0x0000/ && n++ < max' "$1"; }
    echo "== perf: tld, inclusive time by function (top 50)"
    top "$W/perf.children" 50
    echo "== perf: tld, self time by function (top 30)"
    top "$W/perf.self" 30
    echo "== perf: tld, self time by library"
    top "$W/perf.dso" 12
else
    "$bench" "${args[@]}" | tee "$W/ours.out"
    if [ "${BENCH_CONFIDENTIAL:-snp}" != none ]; then
        echo
        echo "== the same run, SEV-SNP confidential nodes (--confidential ${BENCH_CONFIDENTIAL:-snp}), same tld"
        "$bench" "${args[@]}" --confidential "${BENCH_CONFIDENTIAL:-snp}" --prefix cvm \
            --chips "${BENCH_CHIPS:-4}" --speed-seconds 0 | tee "$W/cvm.out"
        gs_dir=$(curl -s -H "Authorization: Bearer $(cat "$home/operator.token")" "$url/v1/nodes/cvm-000000" |
            sed -n 's/.*"guest_state_open": *"\([^"]*\)".*/\1/p')
        gs_dir=${gs_dir%/*}
        t=$(result "$W/ours.out" per_s) c=$(result "$W/cvm.out" per_s)
        tu=$(result "$W/ours.out" tld_us_per) cu=$(result "$W/cvm.out" tld_us_per)
        if [ -n "$t" ] && [ -n "$c" ] && [ "$t" -gt 0 ]; then
            echo "confidential: $c/s with SEV-SNP evidence, $t/s trusted launch: ratio $(awk -v a="$c" -v b="$t" 'BEGIN { printf "%.3f", a / b }')"
            echo "confidential: tld CPU ${cu} us per attestation with SEV-SNP evidence, ${tu} us trusted launch: ratio $(awk -v a="$cu" -v b="$tu" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')"
        fi
    fi
fi
if [ -n "${TL_STORE:-}" ] && [ "$TL_STORE" != sqlite ]; then
    echo "   store: PostgreSQL (TL_STORE), $(psql -d "$TL_STORE" -Atc \
        "SELECT pg_size_pretty(pg_database_size(current_database()))" 2>/dev/null || echo '?')"
else
    echo "   store: $(du -sh "$home/tld.db" | cut -f1) tld.db, $(du -sh "$home/tld.db-wal" 2>/dev/null | cut -f1 || echo 0) WAL"
    # per node: what retention bounds (TL_ATTEST_KEEP newest + failures)
    if command -v sqlite3 >/dev/null; then
        bytes=$(($(stat -c %s "$home/tld.db") + $(stat -c %s "$home/tld.db-wal" 2>/dev/null || echo 0)))
        sqlite3 -readonly "$home/tld.db" "SELECT count(*), count(DISTINCT node) FROM attestations" 2>/dev/null |
            awk -F'|' -v b="$bytes" -v keep="${TL_ATTEST_KEEP:-16}" '$2 > 0 {
                printf "   store: %d attestations of %d nodes: %.1f per node (retention keeps %s), %d bytes per node, %d per attestation\n",
                    $1, $2, $1 / $2, keep, b / $2, b / $1
                printf "STORE attestations=%d nodes=%d per_node=%.1f bytes=%d bytes_per_node=%d bytes_per_attestation=%d\n",
                    $1, $2, $1 / $2, b, b / $2, b / $1 }'
    fi
fi

# The same run against tld without authentication (BENCH_PEER_REV, default
# 44167be: the last tld before callers were authenticated, routes had roles
# and agent tokens were hashed), built from git here, side by side: the
# cost of authentication is the ratio. BENCH_PEER_REV=none skips it.
peer=${BENCH_PEER_REV:-44167be}
if [ "$peer" != none ] && [ -r "$W/ours.out" ]; then
    repo=$(cd "$here/.." && pwd)
    kill -TERM "$tld_pid" 2>/dev/null
    for _ in $(seq 300); do kill -0 "$tld_pid" 2>/dev/null || break; sleep 0.05; done
    if git -C "$repo" worktree add -q --detach "$W/peer-src" "$peer" 2>"$W/peer.err" &&
        meson setup "$W/peer-build" "$W/peer-src" -Dvectors="$vectors" >/dev/null 2>>"$W/peer.err" &&
        ninja -C "$W/peer-build" src/tld/tld src/tl/tl >/dev/null 2>>"$W/peer.err"; then
        phome=$W/peer-home
        TL_HOME=$phome "$W/peer-build/src/tld/tld" --home "$phome" --daemon
        read -r purl tld_pid <"$phome/tld.addr"
        echo
        echo "== the same run against tld $peer (no authentication), pid $tld_pid"
        pargs=("${args[@]}")
        pargs[1]=$purl
        pargs[3]=$phome
        # that tld takes no credentials: the token bench-attest sends is ignored
        TL_TOKEN=unused "$bench" "${pargs[@]}" | tee "$W/peer.out" | grep -E '^(attest|RESULT)'
        o=$(result "$W/ours.out" per_s) p=$(result "$W/peer.out" per_s)
        ou=$(result "$W/ours.out" tld_us_per) pu=$(result "$W/peer.out" tld_us_per)
        if [ -n "$o" ] && [ -n "$p" ] && [ "$p" -gt 0 ]; then
            echo "authentication: $o/s with it, $p/s without (tld $peer): ratio $(awk -v a="$o" -v b="$p" 'BEGIN { printf "%.3f", a / b }') (goal >= 0.95)"
            # throughput follows the machine's load; tld's CPU per attestation much less so
            echo "authentication: tld CPU ${ou} us per attestation with it, ${pu} us without: ratio $(awk -v a="$pu" -v b="$ou" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }') (goal >= 0.95)"
        fi
    else
        echo "authentication: the peer tld ($peer) did not build: $(tail -2 "$W/peer.err")" >&2
    fi
    git -C "$repo" worktree remove --force "$W/peer-src" 2>/dev/null
fi
