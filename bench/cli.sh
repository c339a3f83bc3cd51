#!/usr/bin/env bash
# The CLI as users run it (issue 17 part 6): each offline `tl` verb as one
# whole process against the peer tool a user would run instead, on the same
# input, A B A B ... in the same run, so that the machine's drift hits both
# alike. Printed per pair: the median wall and CPU (user + system) ms of a
# process, and the median of the pairwise ratios ours/peer (≤ 1.00: no
# slower than the peer). See bench/README.md, "bench/cli.sh".
#
#   bash bench/cli.sh BUILD_DIR FIXTURES VECTORS [RUNS]
#
# FIXTURES holds Debian's signed shimx64.efi.signed, grubx64.efi.signed and
# vmlinuz (make fixtures: fixtures/measured); VECTORS is ../shared/vectors.
# RUNS (default 21, or $BENCH_RUNS) pairs per verb, after one warm-up pair.
# BENCH_VARS: the OVMF variable store (default OVMF_VARS_4M.ms.fd). Not
# pinned: a user's process may use both cores (the digest verb does).
set -euo pipefail

usage() {
    echo "usage: bash bench/cli.sh BUILD_DIR FIXTURES VECTORS [RUNS]" >&2
    exit 2
}
if [ $# -lt 3 ] || [ $# -gt 4 ]; then usage; fi
build=$1
fixtures=$2
vectors=$3
runs=${4:-${BENCH_RUNS:-21}}
vars=${BENCH_VARS:-/usr/share/OVMF/OVMF_VARS_4M.ms.fd}
tl=$build/src/tl/tl
case $runs in '' | *[!0-9]*) usage ;; esac
[ "$runs" -ge 3 ] || usage

shim=$fixtures/shimx64.efi.signed
grub=$fixtures/grubx64.efi.signed
kernel=$fixtures/vmlinuz
log=$vectors/eventlog/ovmf-debian12/secureboot-on.eventlog.bin
for f in "$tl" "$shim" "$grub" "$kernel" "$vars" "$log"; do
    if [ ! -r "$f" ]; then
        echo "cli.sh: missing $f (ninja -C $build; make fixtures; apt-get install ovmf)" >&2
        exit 1
    fi
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Debian's CA for sbverify --cert: cut out of shim's .vendor_cert (its
# cert_table header: 4 x uint32 sizes then offsets, the DER at its offset).
ca=
if objcopy -O binary --only-section=.vendor_cert "$shim" "$tmp/vendor" 2>/dev/null; then
    read -r size off < <(od -An -tu4 -N16 "$tmp/vendor" | awk '{ print $1, $3 }')
    if [ -n "${size:-}" ] && dd if="$tmp/vendor" of="$tmp/ca.der" bs=1 skip="$off" count="$size" \
        status=none 2>/dev/null && openssl x509 -inform DER -in "$tmp/ca.der" -out "$tmp/ca.pem" 2>/dev/null; then
        ca=$tmp/ca.pem
    fi
fi

# one RUN: "wall_ms cpu_ms status" of one process (bash's time: the child's
# user + system CPU, wall from the same clock)
one() {
    local out TIMEFORMAT='%3R %3U %3S' st=0
    out=$({ time "$@" >/dev/null 2>&1; } 2>&1) || st=$?
    # time's line is the last one (a failing command's exit status is kept)
    awk -v st="$st" 'END { printf "%.3f %.3f %d\n", $1 * 1000, ($2 + $3) * 1000, st }' <<<"$out"
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }

# pair NAME PEER_NAME -- OURS... -- PEER...
pair() {
    local name=$1 peer=$2
    shift 3
    local ours=() theirs=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do ours+=("$1"); shift; done
    shift
    theirs=("$@")
    : >"$tmp/a"
    : >"$tmp/b"
    local i a b
    one "${ours[@]}" >/dev/null
    one "${theirs[@]}" >/dev/null
    for ((i = 0; i < runs; i++)); do
        a=$(one "${ours[@]}")
        b=$(one "${theirs[@]}")
        echo "$a $b" >>"$tmp/a"
    done
    local aw ac bw bc rw rc sa sb
    aw=$(awk '{ print $1 }' "$tmp/a" | median)
    ac=$(awk '{ print $2 }' "$tmp/a" | median)
    bw=$(awk '{ print $4 }' "$tmp/a" | median)
    bc=$(awk '{ print $5 }' "$tmp/a" | median)
    rw=$(awk '$4 > 0 { print $1 / $4 }' "$tmp/a" | median)
    rc=$(awk '$5 > 0 { print $2 / $5 }' "$tmp/a" | median)
    sa=$(awk '{ print $3 }' "$tmp/a" | sort -u | tr '\n' ',' | sed 's/,$//')
    sb=$(awk '{ print $6 }' "$tmp/a" | sort -u | tr '\n' ',' | sed 's/,$//')
    printf 'CLI ours="%s" peer="%s" runs=%d ours_wall_ms=%s ours_cpu_ms=%s peer_wall_ms=%s peer_cpu_ms=%s ratio_wall=%.2f ratio_cpu=%.2f status=%s/%s no_slower=%s\n' \
        "$name" "$peer" "$runs" "$aw" "$ac" "$bw" "$bc" "${rw:-0}" "${rc:-0}" "$sa" "$sb" \
        "$(awk -v r="${rw:-9}" 'BEGIN { print (r <= 1.0 ? "yes" : "no") }')"
}

echo "== CLI benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs," \
    "load $(cut -d' ' -f1-3 /proc/loadavg), $runs pairs per verb"
echo "   tl's shared libraries: $(ldd "$tl" | wc -l)"

command -v pesign >/dev/null &&
    pair "tl secureboot digest vmlinuz" "pesign -h -i vmlinuz" -- \
        "$tl" secureboot digest "$kernel" -- pesign -h -i "$kernel"
if command -v sbverify >/dev/null && [ -n "$ca" ]; then
    pair "tl secureboot verify --vars VARS shim grub vmlinuz" "sbverify --cert CA vmlinuz" -- \
        "$tl" secureboot verify --vars "$vars" "$shim" "$grub" "$kernel" -- \
        sbverify --cert "$ca" "$kernel"
    pair "tl secureboot verify --vars VARS vmlinuz" "sbverify --cert CA vmlinuz" -- \
        "$tl" secureboot verify --vars "$vars" "$kernel" -- sbverify --cert "$ca" "$kernel"
fi
command -v sbverify >/dev/null &&
    pair "tl secureboot digest shim" "sbverify --list shim" -- \
        "$tl" secureboot digest "$shim" -- sbverify --list "$shim"
command -v tpm2_eventlog >/dev/null &&
    pair "tl eventlog show OVMF log" "tpm2_eventlog OVMF log" -- \
        "$tl" eventlog show "$log" -- tpm2_eventlog "$log"
command -v tpm2_eventlog >/dev/null &&
    pair "tl eventlog replay OVMF log" "tpm2_eventlog OVMF log" -- \
        "$tl" eventlog replay "$log" -- tpm2_eventlog "$log"
pair "tl --version" "pesign --help" -- "$tl" --version -- pesign --help
