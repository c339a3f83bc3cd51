#!/usr/bin/env bash
# tl tee verify|show against the real confidential-VM vectors
# ($TL_VECTORS/tee, SOURCES.md):
#  1. exit 0: Milan v2 (hex, virtee), Milan and Genoa v3 (msft) with their
#     VCEKs at 2026-06-01; the Azure SNP evidence with its producer's nonce
#     ("challenge"); the VCEK found in a --collateral folder;
#  2. exit 1 with the reason code: go-sev-guest's report (debug) and under
#     --policy allow-debug exit 0; another chip's VCEK (chip-id); a wrong
#     nonce (nonce); a time before the VCEK (expired); the Azure TDX evidence
#     and a bare TDX quote without a TDX verifier (not-verified);
#  3. --json: the keys verdict, kind, at, reasons[].code/detail, claims with
#     MAA names; several files: one JSON line each;
#  4. exit 2 with one "tl: " line: truncated reports (several lengths), a
#     truncated evidence JSON, random bytes, an unknown policy key, a bad
#     --at, a bad --nonce, a missing file;
#  5. tl tee show decodes a report and Azure evidence;
#  6. tl tee show on every kind of file: a report raw and hex, TDX v4 and
#     v5 quotes, Azure SNP and TDX evidence (the hardware report / TD quote
#     inside decoded), trustee's v2 form (and verify on it); a cut quote is
#     exit 2 (bad input: tee_badinput.sh cuts everything everywhere).
# Needs: TL_BIN, TL_VECTORS; jq, head, dd.
set -u
: "${TL_BIN:?}" "${TL_VECTORS:?}"
command -v jq >/dev/null || { echo "not ok 1 - jq missing"; exit 1; }
W=$(mktemp -d /tmp/tl-tee-test.XXXXXX)
[ -n "${TL_KEEP:-}" ] || trap 'rm -rf "$W"' EXIT
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
tl() { "$TL_BIN" "$@" >"$W/out" 2>"$W/stderr"; }
expect() { # expect DESCRIPTION RC [GREP]: last tl exit status and stdout
    local d=$1 want=$2 got=$rc
    if [ "$got" = "$want" ] && { [ -z "${3:-}" ] || grep -q -- "$3" "$W/out"; }; then
        ok "$d"
    else
        not_ok "$d" "exit $got (want $want)" "$(head -c 400 "$W/out")" "$(head -c 300 "$W/stderr")"
    fi
}
bad() { # bad DESCRIPTION PATTERN: exit 2, one "tl: " line on stderr
    if [ "$rc" = 2 ] && [ "$(wc -l <"$W/stderr")" = 1 ] && grep -q "^tl: .*$2" "$W/stderr"; then
        ok "$1"
    else
        not_ok "$1" "exit $rc" "$(head -c 300 "$W/stderr")"
    fi
}

S=$TL_VECTORS/tee/snp
A=$TL_VECTORS/tee/azure
AT=2026-06-01T00:00:00Z
NONCE=6368616c6c656e6765 # "challenge"

# 1. passes
tl tee verify --at $AT --vcek "$S/virtee-vcek_milan.der" "$S/virtee-report_milan.hex"; rc=$?
expect "Milan v2 (virtee, hex) passes" 0 ": pass (snp, at $AT)"
tl tee verify --at $AT --vcek "$S/msft-milan-v3-vcek.pem" "$S/msft-milan-v3-report.bin"; rc=$?
expect "Milan v3 (msft) passes" 0 ": pass"
tl tee verify --at $AT --vcek "$S/msft-genoa-v3-vcek.pem" "$S/msft-genoa-v3-report.bin"; rc=$?
expect "Genoa v3 (msft) passes" 0 ": pass"
tl tee verify --at $AT --nonce $NONCE "$A/az-snp-vtpm-evidence-v1.json"; rc=$?
expect "Azure SNP evidence with nonce 'challenge' passes" 0 ": pass (az-snp-vtpm"
mkdir -p "$W/col"
cp "$S/msft-genoa-v3-vcek.pem" "$S/msft-milan-v3-vcek.pem" "$S/ask_ark_genoa.pem" "$W/col/"
tl tee verify --at $AT --collateral "$W/col" "$S/msft-genoa-v3-report.bin"; rc=$?
expect "the VCEK found in --collateral (among others) passes" 0 ": pass"

# 2. fails with codes
tl tee verify --at $AT --vcek "$S/go-sev-guest-vcek.der" "$S/go-sev-guest-attestation.bin"; rc=$?
expect "go-sev-guest's report fails: debug" 1 "^  debug: "
echo '{"allow-debug": true}' >"$W/policy.json"
tl tee verify --at $AT --policy "$W/policy.json" --vcek "$S/go-sev-guest-vcek.der" \
    "$S/go-sev-guest-attestation.bin"; rc=$?
expect "... and passes under a policy with allow-debug" 0 ": pass"
tl tee verify --at $AT --vcek "$S/go-sev-guest-vcek.der" "$S/virtee-report_milan.hex"; rc=$?
expect "another chip's VCEK fails: chip-id" 1 "^  chip-id: "
tl tee verify --at $AT --vcek "$S/trustee-vcek-invalid-new.der" "$S/virtee-report_milan.hex"; rc=$?
expect "trustee's invalid VCEK fails: chip-id" 1 "^  chip-id: "
tl tee verify --at 2026-01-01T00:00:00Z --vcek "$S/msft-milan-v3-vcek.pem" \
    "$S/msft-milan-v3-report.bin"; rc=$?
expect "before the VCEK's notBefore: expired" 1 "^  expired: "
tl tee verify --at $AT --nonce 00 "$A/az-snp-vtpm-evidence-v1.json"; rc=$?
expect "Azure SNP evidence with another nonce: nonce" 1 "^  nonce: "
tl tee verify --at $AT --nonce $NONCE "$A/az-tdx-vtpm-evidence-v1.json"; rc=$?
expect "Azure TDX evidence: never a pass without the TD quote verified" 1 "^  not-verified: \|^  tcb\|^  collateral"
tl tee verify --at $AT "$TL_VECTORS/tee/tdx/quote_v5_sample.dat"; rc=$?
expect "a bare TDX quote is recognised (and not passed without its verifier/collateral)" 1 "(tdx, at"

# With the TDX verifier in libtl (the TDX half of issue 13 merged): the
# Azure TDX evidence's TD quote is of the platform dcap-rs's collateral
# describes (FMSPC 00806f050000), so at 2025-03-01 the whole evidence is
# judged: OutOfDate with its advisories, and a pass under a policy that
# accepts OutOfDate.
tl tee show --json "$TL_VECTORS/tee/tdx/dcap-rs/quote_tdx_00806f050000.dat"; rc=$?
if [ $rc = 0 ] && jq -e 'has("tdx_mrtd")' "$W/out" >/dev/null; then
    D=$TL_VECTORS/tee/tdx/dcap-rs
    mkdir -p "$W/tdxcol"
    cp "$D"/*.json "$D"/*.der "$TL_VECTORS/tee/tdx/intel-tcb-signing-2018.pem" "$W/tdxcol/"
    echo '{"tcb-status": ["UpToDate", "OutOfDate"]}' >"$W/ood.json"
    tl tee verify --at 2025-03-01T00:00:00Z --nonce $NONCE --collateral "$W/tdxcol" \
        "$A/az-tdx-vtpm-evidence-v1.json"; rc=$?
    expect "Azure TDX evidence at 2025-03-01: the TD quote's TCB is OutOfDate" 1 \
        "^  tcb-status: TD quote: TCB status OutOfDate (INTEL-SA-00960"
    tl tee verify --at 2025-03-01T00:00:00Z --nonce $NONCE --collateral "$W/tdxcol" \
        --policy "$W/ood.json" "$A/az-tdx-vtpm-evidence-v1.json"; rc=$?
    expect "... and passes under a policy accepting OutOfDate" 0 ": pass (az-tdx-vtpm"
    tl tee verify --at 2025-03-01T00:00:00Z --nonce 00 --collateral "$W/tdxcol" \
        --policy "$W/ood.json" "$A/az-tdx-vtpm-evidence-v1.json"; rc=$?
    expect "... and fails with another nonce" 1 "^  nonce: "
else
    not_ok "tl tee show --json decodes dcap-rs's TDX quote" "exit $rc" "$(head -c 300 "$W/stderr")"
fi

# 3. --json
tl tee verify --json --at $AT --nonce $NONCE "$A/az-snp-vtpm-evidence-v1.json"; rc=$?
if [ $rc = 0 ] && jq -e '.verdict == "pass" and .kind == "az-snp-vtpm" and .at == "2026-06-01T00:00:00Z"
    and .reasons == [] and .claims["x-ms-attestation-type"] == "azurevm"
    and .claims["x-ms-isolation-tee"]["x-ms-attestation-type"] == "sevsnpvm"
    and .claims["x-ms-isolation-tee"]["x-ms-sevsnpvm-vmpl"] == 0
    and (.claims["x-ms-azurevm-attested-pcrs"] | length) == 24 and (.file | length) > 0' \
    "$W/out" >/dev/null; then ok "--json: verdict, kind, at, reasons, MAA claims"; else not_ok "--json keys" "$(head -c 300 "$W/out")"; fi
tl tee verify --json --at $AT --vcek "$S/go-sev-guest-vcek.der" "$S/go-sev-guest-attestation.bin"; rc=$?
if [ $rc = 1 ] && jq -e '.verdict == "fail" and .reasons[0].code == "debug" and (.reasons[0].detail | length) > 0
    and .claims["x-ms-sevsnpvm-is-debuggable"] == true' "$W/out" >/dev/null; then
    ok "--json fail: reasons[].code and detail"; else not_ok "--json fail" "$(head -c 300 "$W/out")"; fi
tl tee verify --json --at $AT --vcek "$S/virtee-vcek_milan.der" "$S/virtee-report_milan.hex" \
    "$S/virtee-report_milan.hex"; rc=$?
if [ $rc = 0 ] && [ "$(wc -l <"$W/out")" = 2 ] && [ "$(jq -s '[.[] | .verdict] == ["pass", "pass"]' "$W/out")" = true ]; then
    ok "--json with two files: two JSON lines"; else not_ok "--json two files" "$(head -c 300 "$W/out")"; fi

# 4. bad input
for len in 0 1 4 100 672 1183 1185; do
    head -c $len "$S/msft-milan-v3-report.bin" >"$W/trunc.bin"
    [ $len = 1185 ] && { cat "$S/msft-milan-v3-report.bin"; printf 'x'; } >"$W/trunc.bin"
    tl tee verify --at $AT --vcek "$S/msft-milan-v3-vcek.pem" "$W/trunc.bin"; rc=$?
    bad "a report of $len bytes: exit 2, one line" "not an SEV-SNP report\|bytes"
done
head -c 4000 "$A/az-snp-vtpm-evidence-v1.json" >"$W/trunc.json"
tl tee verify --at $AT "$W/trunc.json"; rc=$?
bad "a truncated evidence JSON: exit 2, one line" "evidence"
head -c 3000 /dev/urandom >"$W/random.bin"
printf '\x00\x00' | dd of="$W/random.bin" bs=1 seek=0 conv=notrunc 2>/dev/null
tl tee verify --at $AT "$W/random.bin"; rc=$?
bad "random bytes: exit 2, one line" "not an SEV-SNP report"
echo '{"measurment": "00"}' >"$W/typo.json"
tl tee verify --policy "$W/typo.json" "$S/msft-milan-v3-report.bin"; rc=$?
bad "a policy with a misspelt key: exit 2" "unknown key"
tl tee verify --at yesterday "$S/msft-milan-v3-report.bin"; rc=$?
bad "--at yesterday: exit 2" "--at"
tl tee verify --nonce xyz "$S/msft-milan-v3-report.bin"; rc=$?
bad "--nonce xyz: exit 2" "--nonce"
tl tee verify "$W/missing.bin"; rc=$?
bad "a missing file: exit 2" "cannot open"
tl tee verify --vcek "$S/msft-milan-v3-report.bin" "$S/msft-milan-v3-report.bin"; rc=$?
bad "--vcek that is not a certificate: exit 2" "not a certificate"
tl tee frobnicate; rc=$?
bad "an unknown verb: exit 2" "unknown verb"

# 5. show
tl tee show "$S/msft-genoa-v3-report.bin"; rc=$?
expect "show: a Genoa report's fields" 0 "^x-ms-sevsnpvm-product: Genoa"
tl tee show --json "$A/az-snp-vtpm-evidence-v1.json"; rc=$?
if [ $rc = 0 ] && jq -e '.kind == "az-snp-vtpm" and .hcl["report-type"] == 2 and .["tpm-nonce"] == "6368616c6c656e6765"
    and .["x-ms-runtime"]["vm-configuration"]["secure-boot"] == true' "$W/out" >/dev/null; then
    ok "show --json: Azure evidence decoded"; else not_ok "show --json" "$(head -c 300 "$W/out")"; fi

# 6. show, every kind of file tl tee reads
showj() { # showj DESCRIPTION FILE JQ: exit 0 and JQ true of show --json
    tl tee show --json "$2"; rc=$?
    if [ $rc = 0 ] && jq -e "$3" "$W/out" >/dev/null; then ok "$1"; else
        not_ok "$1" "exit $rc" "$(head -c 300 "$W/out")" "$(head -c 200 "$W/stderr")"; fi
}
T=$TL_VECTORS/tee/tdx
showj "show: a v2 report as hex (virtee)" "$S/virtee-report_milan.hex" \
    '.kind == "snp" and .["x-ms-sevsnpvm-report-version"] == 2 and .["x-ms-sevsnpvm-firmware-version"] == "1.52.4"'
showj "show: a raw v3 report (msft Milan)" "$S/msft-milan-v3-report.bin" \
    '.kind == "snp" and .["x-ms-sevsnpvm-product"] == "Milan" and .["x-ms-sevsnpvm-vmpl"] == 0'
showj "show: a TDX v5 quote (TD report 1.5)" "$T/quote_v5_sample.dat" \
    '.kind == "tdx" and .version == 5 and .tdx_tee_tcb_svn == "0b010400000000000000000000000000" and (.tdx_mrservicetd | length) == 96'
showj "show: a TDX v4 quote (dcap-rs)" "$T/dcap-rs/quote_tdx_00806f050000.dat" \
    '.kind == "tdx" and .version == 4 and .tdx_mrtd == "935be7742dd89c6a4df6dba8353d89041ae0f052beef993b1e7f4524d3bc57650df20e5582158352e1240b3f1fed55d8"'
showj "show: Azure TDX evidence, the TD quote decoded" "$A/az-tdx-vtpm-evidence-v1.json" \
    '.kind == "az-tdx-vtpm" and .hcl["report-type"] == 4 and .["x-ms-isolation-tee"]["x-ms-attestation-type"] == "tdxvm"
     and .["x-ms-isolation-tee"].tdx_mrtd == "024a32b070383331181619fa387cb4d55d1e38879f989933055ccad5bc2db795d1737b66205949d15469dc8c1ba7ab7b"
     and .["tpm-nonce"] == "6368616c6c656e6765"'
showj "show: Azure SNP evidence, the SEV-SNP report decoded" "$A/az-snp-vtpm-evidence-v1.json" \
    '.["x-ms-isolation-tee"]["x-ms-sevsnpvm-report-version"] == 3 and .["tpm-pcrs-sent"] == 24'
jq -c '.version = 2' "$A/az-snp-vtpm-evidence-v1.json" >"$W/v2.json"
showj "show: trustee's v2 form" "$W/v2.json" '.kind == "az-snp-vtpm" and .["evidence-version"] == 2'
tl tee verify --at $AT --nonce $NONCE "$W/v2.json"; rc=$?
expect "verify: v2 form with the nonce: user-data must start with it (zeros here)" 1 "^  user-data: "
tl tee verify --at $AT "$W/v2.json"; rc=$?
expect "verify: v2 form without a nonce passes" 0 ": pass (az-snp-vtpm"
head -c 1000 "$T/quote_v5_sample.dat" >"$W/cut.dat"
tl tee show "$W/cut.dat"; rc=$?
bad "show: a cut TDX quote: exit 2, one line" "quote: "

finish
