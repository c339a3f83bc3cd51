#!/usr/bin/env bash
# vTPM provisioning: how long `tl vtpm provision` takes to make a vTPM with
# both EK certificates (goal: median <= 1 s), and how much memory an idle
# swtpm holds (goal: <= 10 MiB RSS). swtpm_setup, swtpm's own provisioning
# tool, runs side by side on a private swtpm-localca (it makes one EK and
# its certificate per run; we make two).
#
#   bash bench/vtpm.sh BUILD_DIR [N]       (N, default 10 or $BENCH_N)
#
# Every figure is wall-clock time of whole processes, as an operator or
# tld runs them: process start, swtpm start and stop included.
set -u
BUILD=${1:?usage: bench/vtpm.sh BUILD_DIR [N]}
N=${2:-${BENCH_N:-10}}
TL=$(realpath "$BUILD/src/tl/tl")
[ -x "$TL" ] || { echo "bench/vtpm.sh: no $TL (build first)" >&2; exit 2; }
for t in swtpm swtpm_ioctl ps; do
    command -v "$t" >/dev/null || { echo "bench/vtpm.sh: $t missing" >&2; exit 2; }
done
W=$(mktemp -d /tmp/tl-bench-vtpm.XXXXXX)
export TMPDIR=$W/tmp
mkdir -p "$TMPDIR"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT

now_ns() { date +%s%N; }
# stats NAME < values (ms, one per line): "NAME n=.. median_ms=.. min_ms=.. max_ms=.."
stats() {
    sort -n | awk -v name="$1" '{ a[NR] = $1 } END {
        m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
        printf "%s n=%d median_ms=%.1f min_ms=%.1f max_ms=%.1f\n", name, NR, m, a[1], a[NR] }'
}
timed() { # timed COMMAND...: prints the command's wall time in ms; fails with it
    local t0 t1
    t0=$(now_ns)
    "$@" >/dev/null 2>"$W/err" || { echo "bench/vtpm.sh: failed: $* ($(head -c 300 "$W/err"))" >&2; exit 1; }
    t1=$(now_ns)
    awk -v d=$((t1 - t0)) 'BEGIN { printf "%.1f\n", d / 1e6 }'
}
median_of() { awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^median_ms=/) { sub(/median_ms=/, "", $i); print $i } }'; }

echo "# $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $(swtpm --version 2>&1 | head -1)"

# 1. tl vtpm provision: the first one also makes the EK CA.
first=$(timed "$TL" vtpm provision --state "$W/n0" --ca "$W/ca")
echo "PROVISION first_use_ms=$first (EK CA created)"
for i in $(seq 1 "$N"); do
    timed "$TL" vtpm provision --state "$W/n$i" --ca "$W/ca"
done | stats PROVISION | tee "$W/provision.txt"
med=$(median_of <"$W/provision.txt")
echo "PROVISION_GOAL median_ms=$med goal_ms=1000 within_goal=$(awk -v m="$med" 'BEGIN { print m <= 1000 ? "yes" : "no" }')"

# 2. Where the time goes: swtpm start + stop alone, and tl vtpm show (start,
#    both EKs recreated, both certificates read, stop).
for i in $(seq 1 "$N"); do
    mkdir -p "$W/bare$i"
    head -c 32 /dev/urandom >"$W/bare.key"
    t0=$(now_ns)
    swtpm socket --tpm2 --tpmstate dir="$W/bare$i" --ctrl type=unixio,path="$W/bare.ctrl" \
        --server type=unixio,path="$W/bare.sock" --flags not-need-init,startup-clear \
        --key file="$W/bare.key",mode=aes-256-cbc,format=binary --log file=-,level=0 &
    p=$!
    until swtpm_ioctl --unix "$W/bare.ctrl" -c >/dev/null 2>&1; do sleep 0.002; done
    swtpm_ioctl --unix "$W/bare.ctrl" -s >/dev/null
    wait "$p"
    t1=$(now_ns)
    awk -v d=$((t1 - t0)) 'BEGIN { printf "%.1f\n", d / 1e6 }'
done | stats SWTPM_START_STOP
for i in $(seq 1 "$N"); do
    timed "$TL" vtpm show --state "$W/n$i" --ca "$W/ca"
done | stats SHOW

# 3. The peer: swtpm_setup with swtpm_localca, RSA EK + certificate, locked
#    NV (its default CA config lives in /etc and /var/lib: use a private one).
if command -v swtpm_setup >/dev/null && command -v swtpm_localca >/dev/null; then
    mkdir -p "$W/localca"
    cat >"$W/localca.conf" <<EOF
statedir = $W/localca
signingkey = $W/localca/signkey.pem
issuercert = $W/localca/issuercert.pem
certserial = $W/localca/certserial
EOF
    printf -- '--platform-manufacturer trustlaunch\n--platform-version 1\n--platform-model bench\n' >"$W/localca.options"
    cat >"$W/swtpm_setup.conf" <<EOF
create_certs_tool = $(command -v swtpm_localca)
create_certs_tool_config = $W/localca.conf
create_certs_tool_options = $W/localca.options
active_pcr_banks = sha256
EOF
    setup() { mkdir -p "$1" && swtpm_setup --tpm2 --tpmstate "$1" --config "$W/swtpm_setup.conf" --create-ek-cert --lock-nvram "${@:2}"; }
    first=$(timed setup "$W/ss0")
    echo "PEER swtpm_setup first_use_ms=$first (swtpm-localca CA created)"
    for i in $(seq 1 "$N"); do timed setup "$W/ss$i"; done | stats PEER_SWTPM_SETUP_RSA
    for i in $(seq 1 "$N"); do timed setup "$W/sse$i" --ecc; done | stats PEER_SWTPM_SETUP_ECC
else
    echo "PEER swtpm_setup skipped (swtpm-tools not installed)"
fi

# 4. Memory: an idle swtpm (and the tl vtpm run supervising it), persisted
#    and ephemeral, 1 s after it is ready.
rss_of() { ps -o rss= -p "$1" | tr -d ' '; }
# PSS (shared pages split among their users) and private (this process's
# own) KiB, from smaps_rollup: the part of RSS a node really adds.
own_of() {
    awk '/^Pss:/ { pss = $2 } /^Private_(Clean|Dirty):/ { priv += $2 } END { printf "swtpm_pss_kib=%d swtpm_private_kib=%d", pss, priv }' "/proc/$1/smaps_rollup" 2>/dev/null
}
idle() { # idle LABEL ARGS...: tl vtpm run ARGS, then RSS of swtpm and of tl
    local label=$1 out=$W/run-$1.json
    shift
    "$TL" vtpm run "$@" --json >"$out" 2>"$W/err" &
    local p=$!
    pids+=("$p")
    for _ in $(seq 500); do [ -s "$out" ] && break; sleep 0.01; done
    local sp
    sp=$(jq -r .pid "$out" 2>/dev/null || sed -n 's/.*"pid":\([0-9]*\).*/\1/p' "$out")
    sleep 1
    local s t o
    s=$(rss_of "$sp")
    o=$(own_of "$sp")
    t=$(rss_of "$p")
    kill -TERM "$p"
    wait "$p"
    echo "RSS $label swtpm_kib=$s $o tl_run_kib=$t swtpm_within_goal=$([ "${s:-99999}" -le 10240 ] && echo yes || echo no)"
}
idle persisted --state "$W/n1"
idle ephemeral --ephemeral --ca "$W/ca"
# The same swtpm without tl, as a host could start it.
swtpm socket --tpm2 --tpmstate dir="$W/n2" --ctrl type=unixio,path="$W/plain.ctrl" \
    --server type=unixio,path="$W/plain.sock" --flags not-need-init,startup-clear \
    --key file="$W/n2.key",mode=aes-256-cbc,format=binary --log file=-,level=0 &
p=$!
pids+=("$p")
until swtpm_ioctl --unix "$W/plain.ctrl" -c >/dev/null 2>&1; do sleep 0.01; done
sleep 1
echo "RSS plain swtpm_kib=$(rss_of "$p") $(own_of "$p")"
swtpm_ioctl --unix "$W/plain.ctrl" -s >/dev/null
wait "$p"
