#!/usr/bin/env bash
# Key releases per second (issue 15, "Performance"): a private tld (its own
# TL_HOME in a temporary directory, SoftHSM2 its key store), bench-release
# against it over loopback, then the token's ceiling on a token of the
# bench's own, then tld is stopped and everything removed. See
# bench/README.md, "bench-release".
#
#   bash bench/release.sh BUILD_DIR [NODES] [SECONDS]
#
# NODES (default 16, or $BENCH_NODES), SECONDS of measured releases
# (default 10, or $BENCH_SECONDS). Knobs: BENCH_THREADS (4), BENCH_TPM_KEYS
# (simulated TPM keys, 16), BENCH_VERIFY_EVERY (every N-th answer opened,
# 16), BENCH_WARMUP (1 s), BENCH_CEILING_SECONDS (3), TL_VECTORS (default
# ../shared/vectors), TL_PKCS11_MODULE (default SoftHSM2's), KEEP=1 (keep
# the directory: tld.db, tld.log).
set -euo pipefail

usage() {
    echo "usage: bash bench/release.sh BUILD_DIR [NODES] [SECONDS]" >&2
    exit 2
}
if [ $# -lt 1 ] || [ $# -gt 3 ]; then usage; fi
build=$(realpath "$1")
nodes=${2:-${BENCH_NODES:-16}}
secs=${3:-${BENCH_SECONDS:-10}}
here=$(cd "$(dirname "$0")" && pwd)
vectors=${TL_VECTORS:-$here/../../shared/vectors}
log=$vectors/eventlog/ovmf-debian12/secureboot-on.eventlog.bin
tld=$build/src/tld/tld
bench=$build/bench/bench-release
module=${TL_PKCS11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}

if [ ! -x "$bench" ]; then
    ninja -C "$build" bench/bench-release >/dev/null 2>&1 || true
fi
for f in "$tld" "$bench"; do
    [ -x "$f" ] || {
        echo "release.sh: $f missing; build it (a build directory configured before" \
            "bench/release.c existed needs: meson setup --reconfigure $build)" >&2
        exit 1
    }
done
[ -r "$log" ] || {
    echo "release.sh: $log missing (TL_VECTORS)" >&2
    exit 1
}
[ -r "$module" ] || {
    echo "release.sh: no PKCS#11 module at $module (apt-get install softhsm2)" >&2
    exit 1
}
buildtype=$(sed -n 's/.*"name": "buildtype", "value": "\([a-z]*\)".*/\1/p' \
    "$build/meson-info/intro-buildoptions.json" 2>/dev/null | head -1 || true)
case ${buildtype:-unknown} in
debug | plain) echo "warning: $build is a '$buildtype' build; figures are not for -O2" >&2 ;;
esac

W=$(mktemp -d "${TMPDIR:-/tmp}/tl-bench-release.XXXXXX")
home=$W/home
tld_pid=
cleanup() {
    if [ -n "$tld_pid" ] && kill -0 "$tld_pid" 2>/dev/null; then
        kill -TERM "$tld_pid"
        for _ in $(seq 300); do kill -0 "$tld_pid" 2>/dev/null || break; sleep 0.05; done
    fi
    if [ -n "${KEEP:-}" ]; then echo "# kept: $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

echo "== key release benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs" \
    "($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), build '${buildtype:-?}'," \
    "load $(cut -d' ' -f1-3 /proc/loadavg), PKCS#11 $module"
TL_HOME=$home TL_PKCS11_MODULE=$module "$tld" --home "$home" --daemon
read -r url tld_pid <"$home/tld.addr"
echo "   tld $url (pid $tld_pid), TL_HOME $home"
TL_PKCS11_MODULE=$module "$bench" --url "$url" --home "$home" --eventlog "$log" --nodes "$nodes" \
    --seconds "$secs" --threads "${BENCH_THREADS:-4}" --tpm-keys "${BENCH_TPM_KEYS:-16}" \
    --verify-every "${BENCH_VERIFY_EVERY:-16}" --warmup "${BENCH_WARMUP:-1}" \
    --ceiling-home "$W/ceiling" --ceiling-seconds "${BENCH_CEILING_SECONDS:-3}"
echo "   store: $(du -sh "$home/tld.db" | cut -f1) tld.db, $(du -sh "$home/tld.db-wal" 2>/dev/null | cut -f1 || echo 0) WAL"
