#!/usr/bin/env bash
# Authenticode digest and Secure Boot verification throughput: trustlaunch
# (bench-authenticode, one process, one thread) against `openssl speed` on
# this machine, and against pesign, sbverify and osslsigncode run on the same
# signed kernel as their users run them (one process per file). See
# bench/README.md.
#
#   bash bench/authenticode.sh BUILD_DIR FIXTURES [SECONDS]
#
# FIXTURES holds Debian's signed shimx64.efi.signed, grubx64.efi.signed and
# vmlinuz (make fixtures). SECONDS (default 3, or $BENCH_SECONDS): how long
# bench-authenticode's digest stage runs, how long `openssl speed` runs, and
# how long each tool is run in a loop. BENCH_VARS: the OVMF variable store
# with db/dbx (default /usr/share/OVMF/OVMF_VARS_4M.ms.fd). BENCH_PIN=0: do
# not pin to CPU 0. BENCH_CALLGRIND=0: skip the instruction counts (~30 s
# under valgrind).
set -euo pipefail

usage() {
    echo "usage: bash bench/authenticode.sh BUILD_DIR FIXTURES [SECONDS]" >&2
    exit 2
}
if [ $# -lt 2 ] || [ $# -gt 3 ]; then usage; fi
build=$1
fixtures=$2
secs=${3:-${BENCH_SECONDS:-3}}
vars=${BENCH_VARS:-/usr/share/OVMF/OVMF_VARS_4M.ms.fd}
bench=$build/bench/bench-authenticode
tl=$build/src/tl/tl

if [ ! -x "$bench" ] || [ ! -x "$tl" ]; then
    ninja -C "$build" bench/bench-authenticode src/tl/tl >/dev/null 2>&1 || true
fi
if [ ! -x "$bench" ]; then
    echo "authenticode.sh: $bench missing; build it (a build directory configured before" \
        "bench/authenticode.c existed needs: meson setup --reconfigure $build)" >&2
    exit 1
fi
if [ ! -x "$tl" ]; then
    echo "authenticode.sh: $tl missing; build it (ninja -C $build)" >&2
    exit 1
fi
buildtype=$(sed -n 's/.*"name": "buildtype", "value": "\([a-z]*\)".*/\1/p' \
    "$build/meson-info/intro-buildoptions.json" 2>/dev/null | head -1 || true)
case ${buildtype:-unknown} in
debug | plain) echo "warning: $build is a '$buildtype' build; figures are not for -O2" >&2 ;;
esac

shim=$fixtures/shimx64.efi.signed
grub=$fixtures/grubx64.efi.signed
kernel=$fixtures/vmlinuz
for f in "$shim" "$grub" "$kernel" "$vars"; do
    if [ ! -r "$f" ]; then
        echo "authenticode.sh: missing $f (make fixtures; apt-get install ovmf)" >&2
        exit 1
    fi
done

pin=()
if [ "${BENCH_PIN:-1}" != 0 ] && command -v taskset >/dev/null && taskset -c 0 true 2>/dev/null; then
    pin=(taskset -c 0)
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

size_of() { stat -L -c %s "$1"; }
calc() { awk "BEGIN { $1 }"; } # calc 'printf "%.1f", 1/3'
kernel_size=$(size_of "$kernel")

echo "== Authenticode benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs" \
    "($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), build '${buildtype:-?}'," \
    "load $(cut -d' ' -f1-3 /proc/loadavg)"
if [ ${#pin[@]} -gt 0 ]; then
    echo "   pinned to CPU 0 (taskset -c 0) for every tool; the machine may still be shared"
else
    echo "   not pinned (taskset unavailable or BENCH_PIN=0)"
fi
echo "   SHA extensions: $(grep -qw sha_ni /proc/cpuinfo && echo 'SHA-NI' || echo 'no SHA-NI')," \
    "$(openssl version)"
echo

# ---- trustlaunch, in process ----
"${pin[@]}" "$bench" --seconds "$secs" --vars "$vars" "$shim" "$grub" "$kernel" |
    tee "$tmp/bench.out"

field() { # field STAGE KEY: a value from bench-authenticode's RESULT line
    sed -n "s/^RESULT stage=$1 .*[ ]$2=\([^ ]*\).*/\1/p" "$tmp/bench.out"
}

# ---- openssl speed ----
# `openssl speed` prints 1000s of bytes per second for each block size (one
# here: 8 MiB, about the kernel). It divides by its user CPU time unless
# given -elapsed: the first run is compared with our CPU-time rate, the
# second with our wall-clock rate.
echo
ossl_secs=$(calc "s = int($secs + 0.999); printf \"%d\", (s < 1 ? 1 : s)") # whole seconds only
echo "== openssl speed sha256, 8 MiB blocks, ${ossl_secs} s each (CPU user time; then -elapsed)"
speed() { # speed [-elapsed]: MB/s (10^6 bytes/s) of SHA-256 on 8 MiB blocks
    local out
    out=$("${pin[@]}" openssl speed "$@" -evp sha256 -bytes 8388608 -seconds "$ossl_secs" \
        2>/dev/null || "${pin[@]}" openssl speed "$@" -bytes 8388608 -seconds "$ossl_secs" sha256 \
        2>/dev/null || true)
    # "sha256   1811939.33k": the last figure of the algorithm's line.
    awk '$1 == "sha256" || $1 == "SHA256" { v = $NF } END {
        if (v == "") exit 1; sub(/k$/, "", v); printf "%.1f", v / 1000 }' <<<"$out"
}
ossl_cpu=$(speed) || ossl_cpu=""
ossl_wall=$(speed -elapsed) || ossl_wall=""
ours_cpu=$(field digest-sha256 cpu_mb_per_s)
ours_cpu_best=$(field digest-sha256 cpu_best_mb_per_s)
ours_wall=$(field digest-sha256 mb_per_s)
raw_cpu=$(field sha256-raw cpu_mb_per_s)
if [ -n "$ossl_cpu" ] && [ -n "$ossl_wall" ]; then
    pct() { calc "printf \"%.0f\", 100 * $1 / $2"; }
    echo "  openssl speed -evp sha256: $ossl_cpu MB/s per CPU second, $ossl_wall MB/s wall clock"
    echo "  trustlaunch parse + Authenticode SHA-256 of vmlinuz: $ours_cpu MB/s per CPU second" \
        "= $(pct "$ours_cpu" "$ossl_cpu")% of openssl (best batch $ours_cpu_best MB/s" \
        "= $(pct "$ours_cpu_best" "$ossl_cpu")%); wall clock $ours_wall MB/s" \
        "= $(pct "$ours_wall" "$ossl_wall")% of openssl -elapsed (goal: >= 70%)"
    echo "  trustlaunch raw SHA-256 of the file through tl_hasher: $raw_cpu MB/s per CPU second" \
        "= $(pct "$raw_cpu" "$ossl_cpu")%"
    echo "OPENSSL openssl_mb_per_s=$ossl_cpu openssl_elapsed_mb_per_s=$ossl_wall" \
        "digest_cpu_mb_per_s=$ours_cpu digest_mb_per_s=$ours_wall" \
        "pct_cpu=$(pct "$ours_cpu" "$ossl_cpu") pct_wall=$(pct "$ours_wall" "$ossl_wall")" \
        "pct_cpu_best=$(pct "$ours_cpu_best" "$ossl_cpu")"
else
    echo "  openssl speed failed or printed nothing we can read: no comparison"
fi

# ---- the vendor certificate, for the --cert / -CAfile forms ----
# shim's .vendor_cert section is a struct cert_table (authorized size,
# deauthorized size, authorized offset, deauthorized offset; little-endian
# uint32) followed by the DER certificate: Debian's CA, which signs grub and
# the kernel.
ca=""
if command -v objcopy >/dev/null &&
    objcopy -O binary --only-section=.vendor_cert "$shim" "$tmp/vendor_cert.bin" 2>/dev/null &&
    [ -s "$tmp/vendor_cert.bin" ]; then
    read -r asz _ aoff _ < <(od -An -t u4 -N 16 "$tmp/vendor_cert.bin")
    if [ "${asz:-0}" -gt 0 ] &&
        dd if="$tmp/vendor_cert.bin" of="$tmp/ca.der" bs=1 skip="$aoff" count="$asz" \
            status=none 2>/dev/null &&
        openssl x509 -inform DER -in "$tmp/ca.der" -out "$tmp/ca.pem" 2>/dev/null; then
        ca=$tmp/ca.pem
    fi
fi
echo
if [ -n "$ca" ]; then
    echo "== vendor certificate from shim's .vendor_cert (objcopy + dd):" \
        "$(openssl x509 -in "$ca" -noout -subject 2>/dev/null | sed 's/^subject=//')"
else
    echo "== could not extract shim's .vendor_cert (objcopy/dd/openssl): the sbverify --cert" \
        "and osslsigncode -CAfile forms are skipped"
fi

# ---- tools, one process per run ----
echo
echo "== tools on $(basename "$(readlink -f "$kernel")") ($kernel_size bytes), one process per" \
    "run, stdout/stderr to /dev/null, ~${secs} s each"

# Runs a command in a loop for ~LIMIT_US; prints "count wall_us children_cpu_s
# failures last_status" (CPU: user + system time of the processes, from the
# shell's `times`, which must not run in a subshell).
peer_loop() {
    local limit_us=$1
    shift
    # shellcheck disable=SC2016 # the inner script expands its own arguments
    "${pin[@]}" bash -c '
        limit_us=$1 times_out=$2
        shift 2
        n=0 fails=0 status=0
        start=${EPOCHREALTIME/./}
        while :; do
            status=0
            "$@" >/dev/null 2>&1 || status=$?
            [ "$status" = 0 ] || fails=$((fails + 1))
            n=$((n + 1))
            elapsed=$((${EPOCHREALTIME/./} - start))
            [ "$elapsed" -lt "$limit_us" ] || break
        done
        times >"$times_out"
        echo "$n $elapsed $fails $status"
    ' _ "$limit_us" "$tmp/times" "$@" >"$tmp/loop"
    local cpu n us fails status
    read -r n us fails status <"$tmp/loop"
    cpu=$(tail -1 "$tmp/times" | tr -d 's' | awk '{ split($1, u, "m"); split($2, s, "m");
        print u[1] * 60 + u[2] + s[1] * 60 + s[2] }')
    echo "$n $us $cpu $fails $status"
}

limit_us=$(calc "printf \"%d\", $secs * 1000000")
declare -a labels=() rates=() cpu_ms=() kinds=()
run_tool() { # run_tool KIND LABEL COMMAND...: KIND is ours or peer
    local kind=$1 label=$2
    shift 2
    if ! command -v "$1" >/dev/null; then
        echo "  $label: $1 not found, skipped"
        return
    fi
    "$@" >/dev/null 2>&1 || true # warm the page cache
    local n us cpu fails status
    read -r n us cpu fails status < <(peer_loop "$limit_us" "$@")
    local rate ms cms mbs
    rate=$(calc "printf \"%.1f\", $n * 1e6 / $us")
    ms=$(calc "printf \"%.2f\", $us / 1e3 / $n")
    cms=$(calc "printf \"%.2f\", $cpu * 1e3 / $n")
    mbs=$(calc "printf \"%.0f\", $kernel_size * $n / $us")
    local exit_s="exit 0"
    [ "$fails" = 0 ] || exit_s="exit $status in $fails/$n runs"
    printf '  %-44s %7s/s %8s ms %8s ms CPU %6s MB/s  %s\n' "$label" "$rate" "$ms" "$cms" \
        "$mbs" "$exit_s"
    echo "TOOL name=\"$label\" kind=$kind runs=$n wall_s=$(calc "printf \"%.3f\", $us / 1e6")" \
        "per_s=$rate ms=$ms cpu_ms=$cms kernel_mb_per_s=$mbs failures=$fails status=$status" \
        >>"$tmp/tools"
    labels+=("$label")
    rates+=("$rate")
    cpu_ms+=("$cms")
    kinds+=("$kind")
}

printf '  %-44s %9s %11s %15s %11s\n' "command (kernel MB/s: its size / wall time)" runs \
    "wall/run" "CPU/run" "kernel"
: >"$tmp/tools"
run_tool ours "tl secureboot digest (sha1+256+384+512)" "$tl" secureboot digest "$kernel"
run_tool ours "tl secureboot verify shim+grub+kernel" "$tl" secureboot verify --vars "$vars" \
    "$shim" "$grub" "$kernel"
run_tool peer "pesign -h (sha256 digest)" pesign -h -i "$kernel"
run_tool peer "sbverify --list" sbverify --list "$kernel"
if [ -n "$ca" ]; then
    run_tool peer "sbverify --cert <Debian CA>" sbverify --cert "$ca" "$kernel"
fi
run_tool peer "osslsigncode verify (no CA file)" osslsigncode verify -in "$kernel"
if [ -n "$ca" ]; then
    run_tool peer "osslsigncode verify -CAfile <Debian CA>" osslsigncode verify -CAfile "$ca" \
        -in "$kernel"
fi

# ---- ratios: ours / peer, per process ----
echo
echo "== ratios, ours/peer in processes per second (wall clock; CPU time per process in" \
    "brackets): >1 means ours is faster"
printf '  %-40s' "peer \\ ours"
for i in "${!labels[@]}"; do
    [ "${kinds[$i]}" = ours ] && printf ' %30s' "${labels[$i]}"
done
printf '\n'
for j in "${!labels[@]}"; do
    [ "${kinds[$j]}" = peer ] || continue
    printf '  %-40s' "${labels[$j]}"
    for i in "${!labels[@]}"; do
        [ "${kinds[$i]}" = ours ] || continue
        r=$(calc "printf \"%.2f\", ${rates[$i]} / ${rates[$j]}")
        c=$(calc "printf \"%.2f\", (${cpu_ms[$i]} > 0 ? ${cpu_ms[$j]} / ${cpu_ms[$i]} : 0)")
        printf ' %30s' "$r ($c)"
        echo "RATIO ours=\"${labels[$i]}\" peer=\"${labels[$j]}\" ratio=$r cpu_ratio=$c" \
            >>"$tmp/ratios"
    done
    printf '\n'
done
echo "  (tl secureboot digest computes four digests, pesign -h one; tl secureboot verify"
echo "   hashes and checks 13.5 MB in three images, the peers the 8.2 MB kernel only)"

# What a program linking libtl pays per kernel, files already in memory
# (bench-authenticode, mean wall clock per iteration), against one peer
# process on the kernel.
dig_ms=$(field digest-sha256 ms)
ver_ms=$(field verify ms)
echo
echo "== in process (libtl, kernel in memory: digest $dig_ms ms, digest + verify as shim" \
    "$ver_ms ms) vs one peer process on the kernel: peer time / ours"
for j in "${!labels[@]}"; do
    [ "${kinds[$j]}" = peer ] || continue
    ms=$(calc "printf \"%.2f\", 1e3 / ${rates[$j]}")
    printf '  %-44s %8s ms: digest %6sx, verify %6sx\n' "${labels[$j]}" "$ms" \
        "$(calc "printf \"%.1f\", $ms / $dig_ms")" "$(calc "printf \"%.1f\", $ms / $ver_ms")"
done
echo
cat "$tmp/tools"
cat "$tmp/ratios" 2>/dev/null || true
chain_med=$(field chain median_ms)
chain_best=$(field chain best_ms)
chain_cpu=$(field chain cpu_median_ms)
echo "CHAIN median_ms=$chain_med best_ms=$chain_best cpu_median_ms=$chain_cpu goal_ms=50" \
    "within_goal=$(calc "print ($chain_med <= 50 ? \"yes\" : \"no\")")"

# ---- instruction counts (repeatable whatever the noise) ----
if [ "${BENCH_CALLGRIND:-1}" = 0 ] || ! command -v valgrind >/dev/null; then
    echo
    echo "(instruction counts skipped: ${BENCH_CALLGRIND:+BENCH_CALLGRIND=0}$(command -v valgrind >/dev/null || echo 'no valgrind'))"
    exit 0
fi
echo
echo "== instructions for one iteration (valgrind --tool=callgrind; valgrind hides SHA-NI and"
echo "   AVX-512 from OpenSSL, so hashing costs more instructions than natively)"
ir_total() { sed -n 's/^\(summary\|totals\): *\([0-9]*\).*/\2/p' "$1" | head -1; }
ir_fn() { # ir_fn OUT FUNCTION: inclusive instructions of a function
    callgrind_annotate --inclusive=yes --threshold=100 "$1" 2>/dev/null |
        awk -v f=":$2 [" 'index($0, f) && !done { gsub(",", "", $1); print $1; done = 1 }'
}
for stage in digest-sha256 verify chain; do
    out=$tmp/cg.$stage
    start=$SECONDS
    if ! timeout 60 valgrind --tool=callgrind --callgrind-out-file="$out" --collect-atstart=no \
        --toggle-collect=measured_stage "$bench" --iterations 1 --stage "$stage" --vars "$vars" \
        "$shim" "$grub" "$kernel" >/dev/null 2>&1; then
        echo "  $stage: skipped (valgrind failed or took more than 60 s)"
        continue
    fi
    total=$(ir_total "$out")
    split=""
    for fn in tl_pe_parse tl_pe_authenticode_digest tl_authenticode_check d2i_PKCS7 d2i_X509 \
        OSSL_DECODER_CTX_new_for_pkey PKCS7_verify X509_verify_cert; do
        v=$(ir_fn "$out" "$fn")
        split+=" $fn=${v:-0}"
    done
    echo "  $stage: $total instructions ($((SECONDS - start)) s under valgrind); inclusive:$split"
    echo "IR stage=$stage total=$total$split"
done
