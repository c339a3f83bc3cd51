#!/usr/bin/env bash
# TDX quote verification throughput: libtl (bench-tee-tdx, one thread,
# collateral loaded once) next to the crypto ceiling measured in the same
# run (`openssl speed ecdsap256`, verifications per CPU second, divided by
# the ECDSA P-256 verifications each configuration needs per quote) and
# next to @phala/dcap-qvl (npm, under Node) on the same quote, collateral
# and time. Rates are per CPU second (the machine is shared; wall-clock
# figures are printed too).
#
#   bash bench/tee_tdx.sh BUILD_DIR VECTORS [SECONDS]
#
# The quote is dcap-rs's v4 quote at 2025-03-01, the one TDX set whose
# artifacts are all current at one instant. ECDSA verifications per quote:
#   pck-cached  2: the quote's signature and the QE report's
#   ca-cached   3: + the PCK certificate's, by the held CA
#   full        5: + the CA's by the root and the PCK CRL's by the quote's CA
# (the TCB info, QE identity, TCB signing certificate and root CRL are
# verified when the collateral is loaded, in every configuration).
# dcap-qvl is the one `make deps` installs into tests/node ($TL_NPM_DIR
# overrides); BENCH_DCAPQVL=0 leaves it out.
set -euo pipefail
if [ $# -lt 2 ] || [ $# -gt 3 ]; then
    echo "usage: bash bench/tee_tdx.sh BUILD_DIR VECTORS [SECONDS]" >&2
    exit 2
fi
build=$1 vectors=$2 secs=${3:-${BENCH_SECONDS:-3}}
bench=$build/bench/bench-tee-tdx
[ -x "$bench" ] || ninja -C "$build" bench/bench-tee-tdx >/dev/null
T=$vectors/tee/tdx
Q=$T/dcap-rs/quote_tdx_00806f050000.dat
AT=2025-03-01T00:00:00Z
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
calc() { awk "BEGIN { $1 }"; }

echo "== TDX quote verification, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs," \
    "load $(cut -d' ' -f1-3 /proc/loadavg), $(openssl version)"
"$bench" --seconds "$secs" --at "$AT" --collateral-files "$T/dcap-rs/tcbinfov3_00806f050000.json" \
    "$T/dcap-rs/qeidentityv2_apiv4.json" "$T/dcap-rs/pck_platform_crl.der" \
    "$T/dcap-rs/intel_root_ca_crl.der" "$T/intel-tcb-signing-2018.pem" -- "$Q" | tee "$tmp/ours"
field() { sed -n "s/^RESULT stage=$1 .*[ ]$2=\([^ ]*\).*/\1/p" "$tmp/ours"; }

ossl_secs=$(calc "s = int($secs + 0.999); printf \"%d\", (s < 1 ? 1 : s)")
speed=$(openssl speed -seconds "$ossl_secs" ecdsap256 2>/dev/null |
    awk '/ecdsa \(nistp256\)/ { print $NF }')
echo
echo "== openssl speed ecdsap256: $speed verifications per CPU second"

qvl=""
npm_dir=${TL_NPM_DIR:-$here/tests/node}
if [ "${BENCH_DCAPQVL:-1}" != 0 ]; then
    if ! command -v node >/dev/null || [ ! -d "$npm_dir/node_modules/@phala/dcap-qvl" ]; then
        echo "bench/tee_tdx.sh: node or @phala/dcap-qvl missing in $npm_dir: run make deps" \
            "(or BENCH_DCAPQVL=0)" >&2
        exit 1
    fi
    qvl_version=$(node -p "require('$npm_dir/node_modules/@phala/dcap-qvl/package.json').version")
    n=$(calc "printf \"%d\", 64 * $secs")
    node "$here/tests/cli/tdx_dcapqvl.js" "$npm_dir" "$Q" "$T/dcap-rs/tcbinfov3_00806f050000.json" \
        "$T/dcap-rs/qeidentityv2_apiv4.json" "$T/intel-tcb-signing-2018.pem" \
        "$T/intel-sgx-root-ca.pem" "$T/dcap-rs/pck_platform_crl.der" \
        "$T/dcap-rs/intel_root_ca_crl.der" "$(date -u -d "$AT" +%s)" "$n" 2>"$tmp/qvl" >/dev/null || true
    qvl=$(sed -n 's/^DCAPQVL .*cpu_per_s=\([^ ]*\).*/\1/p' "$tmp/qvl")
    qvl_wall=$(sed -n 's/^DCAPQVL per_s=\([^ ]*\).*/\1/p' "$tmp/qvl")
    echo "== @phala/dcap-qvl $qvl_version (Node $(node --version)), same quote and time:" \
        "${qvl:-?} verifications per CPU second (${qvl_wall:-?}/s wall clock)"
fi

echo
printf '  %-11s %12s %6s %14s %9s %12s\n' stage "per CPU s" ECDSA "ceiling/s" "of ceil." "x dcap-qvl"
for st in pck-cached:2 ca-cached:3 full:5; do
    name=${st%%:*} sigs=${st##*:}
    ours=$(field "$name" cpu_per_s)
    ceil=$(calc "printf \"%.0f\", $speed / $sigs")
    pct=$(calc "printf \"%.0f%%\", 100 * $ours / $ceil")
    x=${qvl:+$(calc "printf \"%.1f\", $ours / $qvl")}
    printf '  %-11s %12s %6s %14s %9s %12s\n' "$name" "$ours" "$sigs" "$ceil" "$pct" "${x:-n/a}"
    echo "RATIO stage=$name cpu_per_s=$ours ecdsa_per_quote=$sigs ceiling_per_s=$ceil" \
        "pct_of_ceiling=${pct%\%} x_dcapqvl=${x:-NA}" >>"$tmp/ratios"
done
echo "  (goal: >= 70% of the ceiling; the in-process ecdsa stage above measures the same unit"
echo "   through EVP with the key already imported: $(field ecdsa cpu_per_s)/s)"
cat "$tmp/ratios"
