#!/usr/bin/env bash
# tee_badinput.sh - `tl tee verify` and `tl tee show` on bad confidential-VM
# evidence: every call ends in exit 2 with exactly one "tl: FILE: ..." line
# on stderr and nothing on stdout, never a crash, a hang, or a verdict.
#
#  (a) truncations at every offset: the SEV-SNP report (raw, 1184
#      bytes), the TDX v5 quote (go-tdx-guest), the v4 quote (dcap-rs, up
#      to its 3,065 bytes of zero padding: cuts inside it leave a whole
#      quote, test_tee_tdx), the Azure SNP and TDX evidence JSON (up to
#      their closing "}"). The cuts go through `tl tee verify` in batches
#      (tl goes on after a bad FILE: one line each, exit 2), every 500th
#      alone through verify and show; libtl's unit tests cut the same
#      structures at every offset in process;
#  (b) sizes that lie: the TDX quote's signature data length (0xffffffff,
#      one short, one long), the v5 body size, the QE auth data length, the
#      type-6 and type-5 certification data sizes; the HCL report's
#      variable data size and IGVM data size inside otherwise valid Azure
#      evidence; a vTPM quote message cut short; a PCR of 31 bytes;
#  (c) random bytes (lengths around the report's and the quote's) and a
#      random TDX header: exit 2; random bytes of exactly 1184 (the
#      report's size) are judged as a report: never a pass;
#  (d) every call under `timeout 10`; a sanitizer report fails.
#
# Environment: TL_BIN, TL_VECTORS. Needs jq, base64, od, dd, timeout, python3.
set -u
: "${TL_BIN:?}" "${TL_VECTORS:?}"
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
for t in jq base64 od dd timeout python3; do
    command -v "$t" >/dev/null || bail "$t not installed (make deps)"
done
W=$(mktemp -d /tmp/tl-tee-bad.XXXXXX)
[ -n "${TL_KEEP:-}" ] || trap 'rm -rf "$W"' EXIT
S=$TL_VECTORS/tee/snp
T=$TL_VECTORS/tee/tdx
A=$TL_VECTORS/tee/azure
AT=2026-06-01T00:00:00Z

# why FILE [VERB]: "" when tl VERB FILE exits 2 with one "tl: FILE: " line
# and no stdout, else what happened.
why() {
    local f=$1 verb=${2:-verify} rc lines
    if [ "$verb" = verify ]; then
        timeout 10 "$TL_BIN" tee verify --at $AT "$f" >"$W/out" 2>"$W/err"
    else
        timeout 10 "$TL_BIN" tee show "$f" >"$W/out" 2>"$W/err"
    fi
    rc=$?
    lines=$(wc -l <"$W/err")
    if [ $rc != 2 ] || [ "$lines" != 1 ] || [ -s "$W/out" ] || ! grep -q "^tl: $f: ." "$W/err" ||
        grep -q "Sanitizer\|runtime error" "$W/err"; then
        echo "exit $rc, $lines stderr lines: $(head -c 200 "$W/err")"
    fi
}

# cuts NAME FILE OFFSET...: FILE cut at each OFFSET (0 < OFFSET < size).
# Every cut goes through one `tl tee verify` per batch of 250 (tl goes on
# after a bad FILE): exit 2, no stdout, and exactly one "tl: CUT: " line
# per cut, in order; every 500th cut also alone through verify and show
# (exit 2, one line). One TAP line for the lot.
cuts() {
    local name=$1 file=$2 n=0 bad="" w batch=() k
    shift 2
    rm -rf "$W/cuts" && mkdir "$W/cuts"
    run_batch() {
        [ ${#batch[@]} -gt 0 ] || return 0
        timeout 60 "$TL_BIN" tee verify --at $AT "${batch[@]}" >"$W/out" 2>"$W/err"
        local rc=$? i=0 line
        [ $rc = 2 ] && [ ! -s "$W/out" ] || bad+="batch from ${batch[0]##*/}: exit $rc$(head -c 200 "$W/out")"$'\n'
        while IFS= read -r line; do
            case $line in
            "tl: ${batch[$i]}: "?*) ;;
            *) bad+="${batch[$i]##*/}: $line"$'\n' ;;
            esac
            i=$((i + 1))
        done <"$W/err"
        [ $i = ${#batch[@]} ] || bad+="batch from ${batch[0]##*/}: $i lines for ${#batch[@]} cuts"$'\n'
        grep -q "Sanitizer\|runtime error" "$W/err" && bad+="sanitizer report"$'\n'
        batch=()
    }
    # the cuts written by one process (a head(1) per cut is minutes on a
    # loaded machine)
    python3 -c 'import sys
data = open(sys.argv[1], "rb").read()
for off in sys.argv[3:]:
    open(sys.argv[2] + "/cut." + off, "wb").write(data[:int(off)])' "$file" "$W/cuts" "$@"
    for off in "$@"; do
        k=$W/cuts/cut.$off
        batch+=("$k")
        [ ${#batch[@]} = 250 ] && run_batch
        if [ $((n % 500)) = 0 ]; then
            w=$(why "$k")
            [ -z "$w" ] && w=$(why "$k" show)
            [ -z "$w" ] || bad+="cut at $off alone: $w"$'\n'
        fi
        n=$((n + 1))
    done
    run_batch
    if [ -z "$bad" ]; then ok "$name: $n cuts, each exit 2 with one line"; else
        not_ok "$name: every cut exit 2 with one line" "$(echo "$bad" | head -5)"; fi
}

size() { stat -c %s "$1"; }

# (a) truncations
cuts "SEV-SNP report (raw), every offset" "$S/msft-genoa-v3-report.bin" $(seq 1 1183)

cuts "TDX v5 quote, every offset" "$T/quote_v5_sample.dat" $(seq 1 $(($(size "$T/quote_v5_sample.dat") - 1)))
# dcap-rs's quote ends in 3,065 zero bytes of padding: cuts inside it are
# a whole quote (checked by test_tee_tdx), so only up to the signature data's end
Q4=$T/dcap-rs/quote_tdx_00806f050000.dat
cuts "TDX v4 quote, every offset up to its zero padding" "$Q4" $(seq 1 $(($(size "$Q4") - 3065 - 1)))
cuts "Azure SNP evidence JSON, every offset" "$A/az-snp-vtpm-evidence-v1.json" \
    $(seq 1 $(($(size "$A/az-snp-vtpm-evidence-v1.json") - 2)))
cuts "Azure TDX evidence JSON, every offset" "$A/az-tdx-vtpm-evidence-v1.json" \
    $(seq 1 $(($(size "$A/az-tdx-vtpm-evidence-v1.json") - 2)))

# (b) sizes that lie
put() { # put FILE OFFSET BYTES(hex, little-endian as written)
    printf "$(echo "$3" | sed 's/../\\x&/g')" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
le32() { printf '%02x%02x%02x%02x' $(($1 & 255)) $((($1 >> 8) & 255)) $((($1 >> 16) & 255)) $((($1 >> 24) & 255)); }
le16() { printf '%02x%02x' $(($1 & 255)) $((($1 >> 8) & 255)); }
rd32() { od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '; }
rd16() { od -An -tu2 -j "$2" -N2 "$1" | tr -d ' '; }
lie() { # lie NAME FILE OFFSET HEX
    cp "$2" "$W/lie"
    put "$W/lie" "$3" "$4"
    local w
    w=$(why "$W/lie")
    [ -z "$w" ] && w=$(why "$W/lie" show)
    [ -z "$w" ] && ok "$1: exit 2, one line" || not_ok "$1: exit 2, one line" "$w"
}
Q5=$T/quote_v5_sample.dat
SIGLEN=$((48 + 6 + 648)) # v5: header, body descriptor, TD report 1.5
sig=$(rd32 "$Q5" $SIGLEN)
lie "v5 quote: signature data length 0xffffffff" "$Q5" $SIGLEN ffffffff
lie "v5 quote: signature data length one short" "$Q5" $SIGLEN "$(le32 $((sig - 1)))"
lie "v5 quote: signature data length one long" "$Q5" $SIGLEN "$(le32 $((sig + 1)))"
lie "v5 quote: body size 584 for a TD report 1.5" "$Q5" 50 "$(le32 584)"
lie "v5 quote: body size 0xffffffff" "$Q5" 50 ffffffff
CD=$((SIGLEN + 4 + 64 + 64)) # certification data: type, size
cd6=$(rd32 "$Q5" $((CD + 2)))
lie "v5 quote: type-6 certification data size one long" "$Q5" $((CD + 2)) "$(le32 $((cd6 + 1)))"
lie "v5 quote: type-6 certification data size 0" "$Q5" $((CD + 2)) 00000000
AUTH=$((CD + 6 + 384 + 64))
lie "v5 quote: QE auth data length 0xffff" "$Q5" $AUTH ffff
auth=$(rd16 "$Q5" $AUTH)
CD5=$((AUTH + 2 + auth))
cd5=$(rd32 "$Q5" $((CD5 + 2)))
lie "v5 quote: type-5 (PCK chain) size one long" "$Q5" $((CD5 + 2)) "$(le32 $((cd5 + 1)))"
lie "v5 quote: type-5 size one short" "$Q5" $((CD5 + 2)) "$(le32 $((cd5 - 1)))"
# a certification data type this code does not verify is a well-formed
# quote: judged, `version`, exit 1 (not bad input)
cp "$Q5" "$W/lie" && put "$W/lie" "$CD" "$(le16 7)"
timeout 10 "$TL_BIN" tee verify --at $AT "$W/lie" >"$W/out" 2>"$W/err"
rc=$?
[ $rc = 1 ] && grep -q "^  version: " "$W/out" && ok "v5 quote: certification data type 7: exit 1, version" ||
    not_ok "v5 quote: certification data type 7: exit 1, version" "exit $rc" "$(head -c 300 "$W/out")"
lie "v4 quote: signature data length 0xffffffff" "$Q4" $((48 + 584)) ffffffff

# Azure evidence whose HCL report lies (re-encoded into valid JSON)
b64url_dec() { tr '_-' '/+' | awk '{ n = length($0) % 4; printf "%s", $0; while (n && n++ < 4) printf "=" }' | base64 -d; }
b64url_enc() { base64 -w0 | tr '/+' '_-' | tr -d '='; }
EV=$A/az-snp-vtpm-evidence-v1.json
jq -r .hcl_report "$EV" | b64url_dec >"$W/hcl.bin"
hcl_lie() { # hcl_lie NAME OFFSET HEX
    cp "$W/hcl.bin" "$W/hcl.lie"
    put "$W/hcl.lie" "$2" "$3"
    jq -c --arg h "$(b64url_enc <"$W/hcl.lie")" '.hcl_report = $h' "$EV" >"$W/ev.json"
    local w
    w=$(why "$W/ev.json")
    [ -z "$w" ] && w=$(why "$W/ev.json" show)
    [ -z "$w" ] && ok "$1: exit 2, one line" || not_ok "$1: exit 2, one line" "$w"
}
IGVM=$((0x20 + 1184))
var=$(rd32 "$W/hcl.bin" $((IGVM + 16)))
hcl_lie "HCL report: variable data size past the end" $((IGVM + 16)) ffff0000
hcl_lie "HCL report: variable data size one long" $((IGVM + 16)) "$(le32 $((var + 1)))"
hcl_lie "HCL report: IGVM data size that disagrees" $IGVM "$(le32 7)"
hcl_lie "HCL report: not HCLA" 0 "58434c41"
hcl_lie "HCL report: report type 3" $((IGVM + 8)) "$(le32 3)"
ev_bad() { # ev_bad NAME JQ: the SNP evidence changed by JQ, still JSON
    jq -c "$2" "$EV" >"$W/ev.json"
    local w
    w=$(why "$W/ev.json")
    [ -z "$w" ] && ok "$1: exit 2, one line" || not_ok "$1: exit 2, one line" "$w"
}
ev_bad "vTPM quote message cut to 20 bytes" '.tpm_quote.message |= .[0:40]'
ev_bad "a PCR of 31 bytes" '.tpm_quote.pcrs[3] |= .[0:62]'
ev_bad "evidence version 3" '.version = 3'
ev_bad "hcl_report not base64url" '.hcl_report += "!"'

# (c) random bytes
bad=""
for len in 1 47 48 100 1183 1185 2000 5006 8000; do
    head -c $len /dev/urandom >"$W/rand"
    w=$(why "$W/rand")
    [ -z "$w" ] || bad+="$len random bytes: $w"$'\n'
    # the same behind a valid TDX v4 header
    { head -c 48 "$Q4"; head -c $len /dev/urandom; } >"$W/rand"
    w=$(why "$W/rand")
    [ -z "$w" ] || bad+="TDX header + $len random bytes: $w"$'\n'
done
[ -z "$bad" ] && ok "random bytes (9 lengths, bare and behind a TDX header): exit 2, one line" ||
    not_ok "random bytes: exit 2, one line" "$(echo "$bad" | head -5)"
passes=0
for i in 1 2 3 4 5; do
    head -c 1184 /dev/urandom >"$W/rand"
    timeout 10 "$TL_BIN" tee verify --at $AT "$W/rand" >/dev/null 2>&1
    [ $? = 1 ] || passes=$((passes + 1))
done
[ $passes = 0 ] && ok "1184 random bytes (a report's size), 5 draws: judged, exit 1" ||
    not_ok "1184 random bytes: exit 1" "$passes of 5 did not exit 1"

finish
