#!/usr/bin/env bash
# tl tee emulate snp|tdx + tl tee verify: the emulated secure processor's
# evidence is judged by the real verifiers and trusted only by a policy
# naming its root.
#  1. emulate snp (v3 and v5) and tdx with a firmware file and REPORT_DATA:
#     exit 0, a 1184-byte report / a v4 quote; the measurement printed is
#     the one `tl tee show` / the verdict's claims read back, and so is the
#     REPORT_DATA; the store holds its keys 0600 under keys/ and chips/;
#  2. tl tee verify under the default policy: exit 1 with root-untrusted
#     (and nothing else); under a policy whose trusted-roots name the root
#     printed: exit 0, "emulated" in the text and "emulated": true in the
#     JSON; a root of the other kind: exit 1 root-untrusted; a flipped
#     report byte: signature; another nonce: nonce;
#  3. a second run keeps the keys, the ARK and the CHIP_ID (created once);
#  4. exit 2 with one "tl: " line: no kind, an unknown kind, no --dir, a
#     bad --report-data, a short --chip-id, another CHIP_ID for an existing
#     chip, a chip name with a slash, a missing firmware.
# Needs: TL_BIN; jq, cmp, stat, od.
set -u
: "${TL_BIN:?}"
command -v jq >/dev/null || { echo "not ok 1 - jq missing"; exit 1; }
W=$(mktemp -d /tmp/tl-tee-emul.XXXXXX)
[ -n "${TL_KEEP:-}" ] || trap 'rm -rf "$W"' EXIT
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
tl() { "$TL_BIN" "$@" >"$W/out" 2>"$W/stderr"; }
expect() { # expect DESCRIPTION RC [GREP]: last tl exit status and stdout
    local d=$1 want=$2 got=$rc
    if [ "$got" = "$want" ] && { [ -z "${3:-}" ] || grep -q -- "$3" "$W/out"; }; then
        ok "$d"
    else
        not_ok "$d" "exit $got (want $want)" "$(head -c 600 "$W/out")" "$(head -c 300 "$W/stderr")"
    fi
}
bad() { # bad DESCRIPTION PATTERN: exit 2, one "tl: " line on stderr
    if [ "$rc" = 2 ] && [ "$(wc -l <"$W/stderr")" = 1 ] && grep -q "^tl: .*$2" "$W/stderr"; then
        ok "$1"
    else
        not_ok "$1" "exit $rc" "$(head -c 300 "$W/stderr")"
    fi
}
codes() { jq -r '[.reasons[].code] | unique | join(",")' "$W/out"; }

D=$W/store
RD=00112233445566778899aabbccddeeff
RD64=${RD}$(printf '0%.0s' $(seq 1 96))
head -c 300000 /dev/urandom >"$W/fw.bin"

# 1. SEV-SNP v3
tl tee emulate snp --dir "$D" --out "$W/r3.bin" --firmware "$W/fw.bin" --vcpus 2 \
    --report-data $RD --json; rc=$?
expect "emulate snp exits 0" 0 '"kind":"snp"'
SNP_ARK=$(jq -r '."trusted-root".sha256' "$W/out")
MEAS=$(jq -r .measurement "$W/out")
VCEK=$(jq -r .vcek "$W/out")
is "the report is 1184 bytes" "$(stat -c %s "$W/r3.bin")" 1184
is "the root to trust is an snp-ark" "$(jq -r '."trusted-root".kind' "$W/out")" snp-ark
is "the VCEK is the chip's" "$VCEK" "$D/chips/default/vcek.pem"
is "the collateral is DIR/snp" "$(jq -r .collateral "$W/out")" "$D/snp"
is "keys are 0600" "$(stat -c %a "$D/keys/ark.key" "$D/chips/default/vcek.key" | sort -u)" 600
is "the keys folder is 0700" "$(stat -c %a "$D/keys")" 700
tl tee show --json "$W/r3.bin"; rc=$?
is "show: the MEASUREMENT is the firmware's" "$(jq -r '."x-ms-sevsnpvm-launchmeasurement"' "$W/out")" "$MEAS"
is "show: the REPORT_DATA is the one given" "$(jq -r '."x-ms-sevsnpvm-reportdata"' "$W/out")" "$RD64"
is "show: VMPL 0" "$(jq -r '."x-ms-sevsnpvm-vmpl"' "$W/out")" 0
is "show: not debuggable" "$(jq -r '."x-ms-sevsnpvm-is-debuggable"' "$W/out")" false

printf '{"trusted-roots":[{"kind":"snp-ark","sha256":"%s"}]}' "$SNP_ARK" >"$W/snp-policy.json"

# 2. verdicts
tl tee verify --json --vcek "$VCEK" --collateral "$D/snp" "$W/r3.bin"; rc=$?
expect "default policy: exit 1" 1 '"verdict":"fail"'
is "default policy: root-untrusted only" "$(codes)" root-untrusted
is "default policy: not emulated" "$(jq -r '.emulated // false' "$W/out")" false
tl tee verify --json --policy "$W/snp-policy.json" --vcek "$VCEK" --collateral "$D/snp" "$W/r3.bin"; rc=$?
expect "policy naming the ARK: exit 0" 0 '"verdict":"pass"'
is "policy naming the ARK: emulated" "$(jq -r .emulated "$W/out")" true
is "the verdict's measurement claim" "$(jq -r '.claims."x-ms-sevsnpvm-launchmeasurement"' "$W/out")" "$MEAS"
tl tee verify --policy "$W/snp-policy.json" --vcek "$VCEK" --collateral "$D/snp" "$W/r3.bin"; rc=$?
expect "text verdict says emulated" 0 ": pass (snp, emulated, at "
tl tee verify --json --policy "$W/snp-policy.json" --nonce ${RD}ff --vcek "$VCEK" \
    --collateral "$D/snp" "$W/r3.bin"; rc=$?
expect "another nonce: exit 1" 1
is "another nonce: nonce" "$(codes)" nonce
cp "$W/r3.bin" "$W/flip.bin"
printf '\x55' | dd of="$W/flip.bin" bs=1 seek=$((0x90)) conv=notrunc status=none
tl tee verify --json --policy "$W/snp-policy.json" --vcek "$VCEK" --collateral "$D/snp" "$W/flip.bin"; rc=$?
expect "a flipped MEASUREMENT byte: exit 1" 1
is "a flipped MEASUREMENT byte: signature" "$(codes)" signature
tl tee verify --json --policy "$W/snp-policy.json" --vcek "$VCEK" "$W/r3.bin"; rc=$?
expect "without the ARK/ASK: exit 1" 1
is "without the ARK/ASK: chain" "$(codes)" chain

# SEV-SNP v5
tl tee emulate snp --dir "$D" --out "$W/r5.bin" --snp-version 5 --report-data $RD; rc=$?
expect "emulate snp v5 exits 0" 0 "vcek: $D/chips/default/vcek.pem"
is "the v5 report says version 5" "$(od -An -tu4 -N4 "$W/r5.bin" | tr -d ' ')" 5
tl tee verify --policy "$W/snp-policy.json" --vcek "$VCEK" --collateral "$D/snp" "$W/r5.bin"; rc=$?
expect "v5 under the policy: exit 0" 0 ": pass (snp, emulated"

# TDX
tl tee emulate tdx --dir "$D" --out "$W/q.bin" --firmware "$W/fw.bin" --report-data $RD --json; rc=$?
expect "emulate tdx exits 0" 0 '"kind":"tdx"'
TDX_ROOT=$(jq -r '."trusted-root".sha256' "$W/out")
MRTD=$(jq -r .measurement "$W/out")
is "the root to trust is a tdx-root" "$(jq -r '."trusted-root".kind' "$W/out")" tdx-root
is "the quote is v4" "$(od -An -tu2 -N2 "$W/q.bin" | tr -d ' ')" 4
printf '{"trusted-roots":[{"kind":"tdx-root","sha256":"%s"}]}' "$TDX_ROOT" >"$W/tdx-policy.json"
tl tee verify --json --collateral "$D/tdx" "$W/q.bin"; rc=$?
expect "tdx, default policy: exit 1" 1
is "tdx, default policy: root-untrusted only" "$(codes)" root-untrusted
tl tee verify --json --policy "$W/tdx-policy.json" --collateral "$D/tdx" "$W/q.bin"; rc=$?
expect "tdx, policy naming the root: exit 0" 0 '"verdict":"pass"'
is "tdx: emulated" "$(jq -r .emulated "$W/out")" true
is "tdx: MRTD is the firmware's" "$(jq -r .claims.tdx_mrtd "$W/out")" "$MRTD"
is "tdx: REPORTDATA as given" "$(jq -r .claims.tdx_report_data "$W/out")" "$RD64"
is "tdx: TCB UpToDate" "$(jq -r .claims.attester_tcb_status "$W/out")" UpToDate
tl tee verify --json --policy "$W/snp-policy.json" --collateral "$D/tdx" "$W/q.bin"; rc=$?
expect "tdx under the SNP root's policy: exit 1" 1
is "tdx under the SNP root's policy: root-untrusted" "$(codes)" root-untrusted

# 3. created once
ARK1=$(sha256sum <"$D/snp/ark.pem")
CHIP1=$(od -An -tx1 "$D/chips/default/chip-id")
tl tee emulate snp --dir "$D" --out "$W/again.bin" --json; rc=$?
expect "a second run exits 0" 0
is "a second run names the same ARK" "$(jq -r '."trusted-root".sha256' "$W/out")" "$SNP_ARK"
is "the ARK file is unchanged" "$(sha256sum <"$D/snp/ark.pem")" "$ARK1"
is "the CHIP_ID is unchanged" "$(od -An -tx1 "$D/chips/default/chip-id")" "$CHIP1"
tl tee verify --policy "$W/snp-policy.json" --vcek "$VCEK" --collateral "$D/snp" "$W/again.bin"; rc=$?
expect "the second report passes too" 0 ": pass (snp, emulated"
CID=$(printf 'ab%.0s' $(seq 1 64))
tl tee emulate snp --dir "$D" --chip node-2 --chip-id "$CID" --out "$W/n2.bin" --json; rc=$?
expect "a second chip with a CHIP_ID" 0
is "its CHIP_ID is the one given" "$(od -An -tx1 -v "$D/chips/node-2/chip-id" | tr -d ' \n')" "$CID"
tl tee verify --json --policy "$W/snp-policy.json" --vcek "$D/chips/default/vcek.pem" \
    --collateral "$D/snp" "$W/n2.bin"; rc=$?
expect "node-2's report with the default chip's VCEK: exit 1" 1
is "another chip's VCEK: chip-id and signature" "$(codes)" chip-id,signature

# 4. bad input
tl tee emulate --dir "$D" --out "$W/x"; rc=$?
bad "no kind" "expected snp or tdx"
tl tee emulate sgx --dir "$D" --out "$W/x"; rc=$?
bad "an unknown kind" "expected snp or tdx"
tl tee emulate snp --out "$W/x"; rc=$?
bad "no --dir" "--dir is required"
tl tee emulate snp --dir "$D" --out "$W/x" --report-data xyz; rc=$?
bad "a bad --report-data" "--report-data"
tl tee emulate snp --dir "$D" --out "$W/x" --chip-id abcd; rc=$?
bad "a short --chip-id" "--chip-id"
tl tee emulate snp --dir "$D" --chip node-2 --chip-id "$(printf 'cd%.0s' $(seq 1 64))" --out "$W/x"; rc=$?
bad "another CHIP_ID for an existing chip" "another CHIP_ID"
tl tee emulate snp --dir "$D" --chip ../x --out "$W/x"; rc=$?
bad "a chip name with a slash" "chip name"
tl tee emulate tdx --dir "$D" --out "$W/x" --firmware "$W/none.bin"; rc=$?
bad "a missing firmware" "none.bin"

finish
