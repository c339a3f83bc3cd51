#!/usr/bin/env bash
# Event log throughput: trustlaunch (bench-eventlog, one process, one thread)
# against tpm2_eventlog (tpm2-tools, one process per log, as its users run
# it), on the OVMF log and the largest tpm2-tools log; and the time per
# record of a synthetic log of 10,000 boot applications without a device
# path (the slow shape of issue 11) next to the OVMF log's: linear means
# within 2x per record. See bench/README.md.
#
#   bash bench/eventlog.sh BUILD_DIR VECTORS [SECONDS]
#
# SECONDS (default 3, or $BENCH_SECONDS): how long the pipeline runs per log
# in bench-eventlog, and how long tpm2_eventlog is run per log.
# BENCH_PIN=0: do not pin to CPU 0. BENCH_CALLGRIND=0: skip the instruction
# counts (they take a few seconds under valgrind).
set -euo pipefail

usage() {
    echo "usage: bash bench/eventlog.sh BUILD_DIR VECTORS [SECONDS]" >&2
    exit 2
}
if [ $# -lt 2 ] || [ $# -gt 3 ]; then usage; fi
build=$1
vectors=$2
secs=${3:-${BENCH_SECONDS:-3}}
bench=$build/bench/bench-eventlog

if [ ! -x "$bench" ]; then
    ninja -C "$build" bench/bench-eventlog >/dev/null 2>&1 || true
fi
if [ ! -x "$bench" ]; then
    echo "eventlog.sh: $bench missing; build it (a build directory configured before" \
        "bench/eventlog.c existed needs: meson setup --reconfigure $build)" >&2
    exit 1
fi
buildtype=$(sed -n 's/.*"name": "buildtype", "value": "\([a-z]*\)".*/\1/p' \
    "$build/meson-info/intro-buildoptions.json" 2>/dev/null | head -1 || true)
case ${buildtype:-unknown} in
debug | plain) echo "warning: $build is a '$buildtype' build; figures are not for -O2" >&2 ;;
esac

ovmf=$vectors/eventlog/ovmf-debian12/secureboot-on.eventlog.bin
# The largest tpm2-tools log (event-gce-ubuntu-2104-log.bin, 33824 bytes,
# when this was written); chosen here so a new vector cannot be missed.
largest=$(find "$vectors/eventlog/tpm2-tools" -maxdepth 1 -name '*.bin' -printf '%s %p\n' \
    2>/dev/null | sort -n | tail -1 | cut -d' ' -f2- || true)
for f in "$ovmf" "$largest"; do
    if [ -z "$f" ] || [ ! -r "$f" ]; then
        echo "eventlog.sh: missing vector ${f:-$vectors/eventlog/tpm2-tools/*.bin}" >&2
        exit 1
    fi
done
logs=("$ovmf" "$largest")
apps=apps:${BENCH_APPS:-10000} # bench-eventlog builds it (tests/unit/applog.c)

pin=()
if [ "${BENCH_PIN:-1}" != 0 ] && command -v taskset >/dev/null && taskset -c 0 true 2>/dev/null; then
    pin=(taskset -c 0)
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

size_of() { stat -c %s "$1"; }

echo "== event log benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs" \
    "($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), build '${buildtype:-?}'"
if [ ${#pin[@]} -gt 0 ]; then
    echo "   pinned to CPU 0 (taskset -c 0) for both tools; the machine may still be shared"
else
    echo "   not pinned (taskset unavailable or BENCH_PIN=0)"
fi
echo "   largest tpm2-tools log: $(basename "$largest") ($(size_of "$largest") bytes)"
echo

# ---- trustlaunch ----
"${pin[@]}" "$bench" --seconds "$secs" "${logs[@]}" "$apps" | tee "$tmp/bench.out"

field() { # field LOGNAME KEY: a value from bench-eventlog's RESULT line
    sed -n "s/^RESULT log=$1 .* $2=\([^ ]*\).*/\1/p" "$tmp/bench.out"
}

# ---- linearity: time per record, synthetic applications vs OVMF ----
echo
echo "== time per record (pipeline): $apps vs the OVMF log; linear: ratio <= 2"
printf '  %-28s %8s %14s %14s\n' log records "median us/rec" "best us/rec"
for name in "$(basename "$ovmf")" "$apps"; do
    printf '  %-28s %8s %14s %14s\n' "$name" "$(field "$name" events)" \
        "$(field "$name" us_per_event)" "$(field "$name" best_us_per_event)"
done
lin_median=$(awk -v a="$(field "$apps" us_per_event)" -v b="$(field "$(basename "$ovmf")" us_per_event)" \
    'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
lin_best=$(awk -v a="$(field "$apps" best_us_per_event)" \
    -v b="$(field "$(basename "$ovmf")" best_us_per_event)" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
echo "  ratio $apps/OVMF per record: median $lin_median, best $lin_best" \
    "($(awk -v r="$lin_best" 'BEGIN { print (r <= 2 ? "within 2x" : "OVER 2x") }') on the best batches)"
echo "LINEAR log=$apps ratio_median=$lin_median ratio_best=$lin_best"

# ---- tpm2_eventlog ----
echo
if ! command -v tpm2_eventlog >/dev/null; then
    echo "tpm2_eventlog not found (apt-get install tpm2-tools): no comparison"
    exit 0
fi
echo "== tpm2_eventlog ($(tpm2_eventlog --version 2>&1 | sed -n 's/.*version="\([^"]*\)".*/\1/p')):" \
    "one process per log, stdout to /dev/null, ${secs} s per log"

# Runs tpm2_eventlog LOG in a loop for ~LIMIT_US; prints "count wall_us
# children_cpu_s" (user + system time of the tpm2_eventlog processes, from
# the shell's `times`, which must not run in a subshell).
peer_loop() {
    # shellcheck disable=SC2016 # the inner script expands its own arguments
    "${pin[@]}" bash -c '
        log=$1 limit_us=$2 n=0
        start=${EPOCHREALTIME/./}
        while :; do
            tpm2_eventlog "$log" >/dev/null || { echo "tpm2_eventlog failed on $log" >&2; exit 1; }
            n=$((n + 1))
            elapsed=$((${EPOCHREALTIME/./} - start))
            [ "$elapsed" -lt "$limit_us" ] || break
        done
        times >"$3"
        echo "$n $elapsed"
    ' _ "$1" "$2" "$tmp/times" >"$tmp/loop"
    local cpu
    cpu=$(tail -1 "$tmp/times" | tr -d 's' | awk '{ split($1, u, "m"); split($2, s, "m");
        print u[1] * 60 + u[2] + s[1] * 60 + s[2] }')
    echo "$(cat "$tmp/loop") $cpu"
}

limit_us=$(awk -v s="$secs" 'BEGIN { printf "%d", s * 1000000 }')
declare -A peer_rate peer_cpu_rate
for log in "${logs[@]}"; do
    name=$(basename "$log")
    tpm2_eventlog "$log" >/dev/null # warm the page cache
    read -r n us cpu < <(peer_loop "$log" "$limit_us")
    rate=$(awk -v n="$n" -v us="$us" 'BEGIN { printf "%.1f", n * 1e6 / us }')
    cpu_rate=$(awk -v n="$n" -v c="$cpu" 'BEGIN { printf "%.1f", (c > 0 ? n / c : 0) }')
    peer_rate[$name]=$rate
    peer_cpu_rate[$name]=$cpu_rate
    echo "  $name: tpm2_eventlog: $rate logs/s ($n processes in" \
        "$(awk -v us="$us" 'BEGIN { printf "%.2f", us / 1e6 }') s;" \
        "CPU of the processes: $cpu_rate logs/s)"
done

echo
echo "== trustlaunch (parse + record checks + replay of all banks + boot state, one process)"
echo "   vs tpm2_eventlog (parse + replay + YAML output, one process per log)"
printf '  %-32s %7s %14s %14s %10s %10s\n' log bytes trustlaunch tpm2_eventlog ratio "CPU ratio"
for log in "${logs[@]}"; do
    name=$(basename "$log")
    ours=$(field "$name" logs_per_s)
    ours_cpu=$(field "$name" cpu_logs_per_s)
    ratio=$(awk -v a="$ours" -v b="${peer_rate[$name]}" 'BEGIN { printf "%.0f", (b > 0 ? a / b : 0) }')
    cpu_ratio=$(awk -v a="$ours_cpu" -v b="${peer_cpu_rate[$name]}" \
        'BEGIN { printf "%.0f", (b > 0 ? a / b : 0) }')
    printf '  %-32s %7s %10s/s %10s/s %9sx %9sx\n' "$name" "$(size_of "$log")" "$ours" \
        "${peer_rate[$name]}" "$ratio" "$cpu_ratio"
    echo "  $name: trustlaunch/tpm2_eventlog = $ratio (logs/s, wall clock; per CPU second: $cpu_ratio)"
    echo "PEER log=$name size=$(size_of "$log") trustlaunch_logs_per_s=$ours" \
        "tpm2_eventlog_logs_per_s=${peer_rate[$name]} ratio=$ratio" \
        "trustlaunch_cpu_logs_per_s=$ours_cpu tpm2_eventlog_cpu_logs_per_s=${peer_cpu_rate[$name]}" \
        "cpu_ratio=$cpu_ratio"
done

# ---- instruction counts (repeatable whatever the noise) ----
if [ "${BENCH_CALLGRIND:-1}" = 0 ] || ! command -v valgrind >/dev/null; then
    echo
    echo "(instruction counts skipped: ${BENCH_CALLGRIND:+BENCH_CALLGRIND=0}$(command -v valgrind >/dev/null || echo 'no valgrind'))"
    exit 0
fi
echo
echo "== instructions (valgrind --tool=callgrind; valgrind hides SHA-NI/AVX-512 from OpenSSL,"
echo "   so hashing costs more instructions than it does natively)"
ir_total() { sed -n 's/^\(summary\|totals\): *\([0-9]*\).*/\2/p' "$1" | head -1; }
ir_fn() { # ir_fn OUT FUNCTION: inclusive instructions of a function
    callgrind_annotate --inclusive=yes --threshold=100 "$1" 2>/dev/null |
        awk -v f=":$2 [" 'index($0, f) && !done { gsub(",", "", $1); print $1; done = 1 }'
}
iters=10
for log in "${logs[@]}"; do
    name=$(basename "$log")
    out=$tmp/cg.$name
    valgrind --tool=callgrind --callgrind-out-file="$out" --collect-atstart=no \
        --toggle-collect=measured_pipeline "$bench" --iterations "$iters" "$log" >/dev/null 2>&1
    total=$(ir_total "$out")
    per=$((total / iters))
    split=""
    for fn in tl_eventlog_parse tl_eventlog_check tl_replay tl_boot_state_extract; do
        v=$(ir_fn "$out" "$fn")
        split+=" ${fn#tl_}=$(((${v:-0}) / iters))"
    done
    valgrind --tool=callgrind --callgrind-out-file="$out.peer" tpm2_eventlog "$log" \
        >/dev/null 2>&1
    peer=$(ir_total "$out.peer")
    echo "  $name: trustlaunch $per instructions per log ($split )"
    echo "  $name: tpm2_eventlog $peer instructions per process (start-up and YAML output" \
        "included); ratio $(awk -v a="$peer" -v b="$per" 'BEGIN { printf "%.1f", a / b }')"
    echo "IR log=$name trustlaunch_ir_per_log=$per tpm2_eventlog_ir_per_process=$peer"
    [ "$log" = "$ovmf" ] && ovmf_ir=$per
done

# Linearity without the noise: instructions per record, $apps vs OVMF.
out=$tmp/cg.apps
valgrind --tool=callgrind --callgrind-out-file="$out" --collect-atstart=no \
    --toggle-collect=measured_pipeline "$bench" --iterations 2 "$apps" >/dev/null 2>&1
apps_ir=$(($(ir_total "$out") / 2))
split=""
for fn in tl_eventlog_parse tl_eventlog_check tl_replay tl_boot_state_extract; do
    v=$(ir_fn "$out" "$fn")
    split+=" ${fn#tl_}=$(((${v:-0}) / 2))"
done
ovmf_n=$(field "$(basename "$ovmf")" events)
apps_n=$(field "$apps" events)
echo "  $apps: trustlaunch $apps_ir instructions per log ($split )"
awk -v a="$apps_ir" -v an="$apps_n" -v o="$ovmf_ir" -v on="$ovmf_n" -v name="$apps" 'BEGIN {
    ar = a / an; or = o / on
    printf "  per record: %s %.0f, OVMF %.0f instructions: ratio %.2f (%s)\n", name, ar, or, ar / or,
        ar / or <= 2 ? "within 2x" : "OVER 2x"
    printf "IRLINEAR log=%s ir_per_event=%.0f ovmf_ir_per_event=%.0f ratio=%.2f\n", name, ar, or, ar / or
}' 
