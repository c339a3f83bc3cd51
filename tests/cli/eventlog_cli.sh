#!/usr/bin/env bash
# eventlog_cli.sh - end-to-end checks of `tl eventlog show|replay|state` on
# real event logs, against values computed by other tools (tpm2_eventlog's
# YAML, the PCRs read from the TPM that made the log, pesign and an
# independent Authenticode hash of the Debian binaries the log measured).
#
# Environment (set by tests/meson.build):
#   TL_BIN       the tl binary
#   TL_VECTORS   the shared vectors folder
#   TL_FIXTURES  folder made by scripts/fixtures.sh (optional: those checks skip)
#
# Output: "ok N - ..." / "not ok N - ..." lines (TAP-like), a summary; exit 1
# on any failure, 77 (meson's "skip") when jq or python3 is missing.
set -u
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"

: "${TL_BIN:?TL_BIN must name the tl binary}"
: "${TL_VECTORS:?TL_VECTORS must name the vectors folder}"
TL_FIXTURES=${TL_FIXTURES:-}

for tool in jq python3; do
    command -v "$tool" >/dev/null || skip_all "$tool not found"
done

EV=$TL_VECTORS/eventlog
T2=$EV/tpm2-tools
OVMF=$EV/ovmf-debian12/secureboot-on.eventlog.bin
OVMF_PCRS=$EV/ovmf-debian12/secureboot-on.tpm-pcrs.txt
GCP=$EV/go-attestation/windows_gcp_shielded_vm.json

W=$(mktemp -d "${TMPDIR:-/tmp}/tl-eventlog-cli.XXXXXX")
trap 'rm -rf "$W"' EXIT


# tl ARGS...: runs tl; stdout in $W/out, stderr in $W/err, status in $rc.
# A sanitizer report or a hang is a failure of its own.
rc=0
tl() {
    timeout 60 "$TL_BIN" "$@" >"$W/out" 2>"$W/err"
    rc=$?
    if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$W/err"; then
        not_ok "sanitizer report from: tl $*" "$(grep -m3 -E 'Sanitizer|runtime error' "$W/err")"
    fi
    [ $rc -ne 124 ] || not_ok "tl $* timed out"
}

# check_rc DESC WANT: the last tl call's status.
check_rc() {
    if [ "$rc" = "$2" ]; then ok "$1"; else
        not_ok "$1" "exit status $rc, want $2" "stderr: $(head -c 400 "$W/err")"
    fi
}
# check_eq DESC GOT WANT
check_eq() {
    if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "got:  $2" "want: $3"; fi
}
# check_jq DESC FILE FILTER [jq args]: the filter must yield true.
check_jq() {
    local desc=$1 file=$2 filter=$3
    shift 3
    if [ "$(jq -c "$@" "$filter" "$file" 2>&1)" = true ]; then ok "$desc"; else
        not_ok "$desc" "jq: $filter" "on: $(head -c 600 "$file")"
    fi
}
# check_one_error_line DESC PATTERN: stderr is exactly one line matching the
# extended regex, and stdout is empty.
check_one_error_line() {
    local lines
    lines=$(wc -l <"$W/err")
    if [ "$lines" = 1 ] && grep -qE "$2" "$W/err" && [ ! -s "$W/out" ]; then ok "$1"; else
        not_ok "$1" "want one stderr line matching $2 and no stdout" \
            "stderr ($lines lines): $(head -c 400 "$W/err")" "stdout: $(head -c 200 "$W/out")"
    fi
}

# ---------------------------------------------------------------------------
# 1. tpm2-tools logs: replay against the "pcrs:" block of tpm2_eventlog's YAML.
# ---------------------------------------------------------------------------

# The "pcrs:" block of a tpm2_eventlog YAML as {"bank": {"N": "hex"}} (read
# here, independently of tl's own parser).
yaml_pcrs_json() {
    python3 - "$1" <<'EOF'
import json, re, sys
out, bank, inside = {}, None, False
for line in open(sys.argv[1]):
    line = line.rstrip('\n')
    if line == 'pcrs:':
        inside = True
        continue
    if not inside or not line.strip():
        continue
    if not line.startswith(' '):
        break
    m = re.match(r'^  ([a-z0-9_]+):$', line)
    if m:
        bank = m.group(1); out[bank] = {}
        continue
    m = re.match(r'^    (\d+)\s*:\s*0x([0-9a-fA-F]+)$', line)
    if not m or bank is None:
        sys.exit('unexpected line in pcrs block: ' + line)
    out[bank][str(int(m.group(1)))] = m.group(2).lower()
print(json.dumps(out))
EOF
}

# Exit status and findings each log is known to give (verified by hand from
# the bytes): uefiaction / uefivar declare sha384 and sha512 banks but their
# record carries only sha1+sha256 digests; postcode's two shim authority
# records (events 40, 54) are 6 bytes longer than their UEFI_VARIABLE_DATA.
declare -A want_rc=([event-uefiaction.bin]=1 [event-uefivar.bin]=1 [event-postcode.bin]=1)
declare -A want_findings=(
    [event-uefiaction.bin]='[{"event":1,"sha384":true}]'
    [event-uefivar.bin]='[{"event":1,"sha384":true}]'
)

n_yaml=0
for yaml in "$T2"/expected-yaml/*.yaml; do
    [ -e "$yaml" ] || continue
    name=$(basename "$yaml" .yaml)
    log=$T2/$name
    [ -f "$log" ] || { not_ok "$name: log for $yaml is missing"; continue; }
    n_yaml=$((n_yaml + 1))
    want=${want_rc[$name]:-0}

    if ! yaml_pcrs_json "$yaml" >"$W/yaml.json" 2>"$W/pyerr" || [ "$(jq 'length' "$W/yaml.json")" = 0 ]; then
        not_ok "$name: read the pcrs block of its YAML" "$(cat "$W/pyerr")"
        continue
    fi

    tl eventlog replay "$log" --expect "$yaml" --json
    check_rc "$name: replay --expect <its yaml> exits $want" "$want"
    cp "$W/out" "$W/replay.json"
    check_jq "$name: replay --expect: no PCR mismatch, no missing bank" "$W/replay.json" \
        '.expect.mismatches == [] and .expect.missing_banks == []'
    check_jq "$name: replay --json bank values equal tpm2_eventlog's for every bank and PCR" \
        "$W/replay.json" '. as $r | $y | to_entries | all(.key as $b | .value |
            (keys == ($r.banks[$b] // {} | keys)) and
            (to_entries | all(.value == $r.banks[$b][.key])))' --argjson y "$(cat "$W/yaml.json")"
    if [ "$want" = 0 ]; then
        check_jq "$name: verdict pass, no findings" "$W/replay.json" \
            '.verdict == "pass" and .findings == []'
    fi
    case $name in
    event-uefiaction.bin | event-uefivar.bin)
        check_jq "$name: finding \"no sha384 digest\" on event 1 (header declares 4 banks, record has 2)" \
            "$W/replay.json" '.verdict == "fail" and ([.findings[] | {event, sha384: (.reason | test("no sha384 digest"))}] == '"${want_findings[$name]}"')'
        check_jq "$name: algorithms are the header's four banks" "$W/replay.json" \
            '.algorithms == ["sha1","sha256","sha384","sha512"]'
        ;;
    event-postcode.bin)
        check_jq "$name: findings name events 40 and 54 (shim authority UEFI_VARIABLE_DATA length)" \
            "$W/replay.json" '.verdict == "fail" and ([.findings[].event] == [40,54]) and
                (all(.findings[]; .pcr == 7 and .type == "EV_EFI_VARIABLE_AUTHORITY" and
                     (.reason | test("UEFI_VARIABLE_DATA"))))'
        ;;
    esac
done
[ $n_yaml -ge 10 ] && ok "found $n_yaml tpm2-tools logs with a YAML" ||
    not_ok "found only $n_yaml tpm2-tools logs with a YAML (want 10)"

# The SHA-1-only log: format and single bank.
tl eventlog replay "$T2/event-uefi-sha1-log.bin" --json
check_jq "event-uefi-sha1-log.bin: format sha1, bank sha1 PCR 0-7" "$W/out" \
    '.format == "sha1" and .algorithms == ["sha1"] and (.banks.sha1 | keys) == ["0","1","2","3","4","5","6","7"]'

# ---------------------------------------------------------------------------
# 2. OVMF + Debian 12 (shim, grub, kernel) against the PCRs its TPM reported.
# ---------------------------------------------------------------------------
tl eventlog replay "$OVMF" --expect "$OVMF_PCRS" --json
check_rc "ovmf: replay --expect secureboot-on.tpm-pcrs.txt exits 0" 0
cp "$W/out" "$W/ovmf-replay.json"
check_jq "ovmf: no mismatches, no missing banks, verdict pass" "$W/ovmf-replay.json" \
    '.expect.mismatches == [] and .expect.missing_banks == [] and .verdict == "pass" and .findings == []'
check_jq "ovmf: not_covered contains 10 but no PCR the log extends (0-9, 14)" "$W/ovmf-replay.json" \
    '(.expect.not_covered | index(10) != null) and ([.expect.not_covered[] | select(. <= 9 or . == 14)] == [])'
check_jq "ovmf: four banks, each extending PCR 0-9 and 14" "$W/ovmf-replay.json" \
    '(.banks | keys) == ["sha1","sha256","sha384","sha512"] and
     all(.banks[]; keys == ["0","1","14","2","3","4","5","6","7","8","9"])'
# Every replayed value equals the TPM's (parsed here, not by tl).
awk '$1 == "PCR" { printf "%s %s %s\n", $2, $3, tolower($4) }' "$OVMF_PCRS" >"$W/tpm.txt"
bad=$(jq -r '.banks | to_entries[] | .key as $b | .value | to_entries[] | "\($b) \(.key) \(.value)"' \
    "$W/ovmf-replay.json" | grep -vxFf "$W/tpm.txt")
check_eq "ovmf: each replayed PCR value is the TPM's value" "$bad" ""
check_eq "ovmf: the PCRs file has 4 banks x 24 PCRs" "$(wc -l <"$W/tpm.txt")" 96

# Same, through the text forms of --expect: replay's own JSON, tpm2_eventlog YAML, stdin.
tl eventlog replay "$OVMF" --json
cp "$W/out" "$W/ovmf-self.json"
tl eventlog replay "$OVMF" --expect "$W/ovmf-self.json" --json
check_rc "ovmf: replay --expect <replay --json output> exits 0" 0
check_jq "ovmf: ... no mismatches" "$W/out" '.expect.mismatches == [] and .expect.missing_banks == []'
tl eventlog replay - --json <"$OVMF"
check_jq "ovmf: replay - (stdin) gives the same banks, file \"-\"" "$W/out" \
    '.file == "-" and .banks == $r[0].banks' --slurpfile r "$W/ovmf-self.json"

# One sha256 PCR 7 value changed in a copy of the PCRs file.
awk '$1 == "PCR" && $2 == "sha256" && $3 == "7" { $4 = (substr($4, 1, 1) == "0" ? "1" : "0") substr($4, 2) } { print }' \
    "$OVMF_PCRS" >"$W/pcrs-7.txt"
check_eq "ovmf: the edited PCRs file differs in exactly one line" \
    "$(diff "$OVMF_PCRS" "$W/pcrs-7.txt" | grep -c '^>')" 1
tl eventlog replay "$OVMF" --expect "$W/pcrs-7.txt" --json
check_rc "ovmf: replay --expect <PCR sha256 7 changed> exits 1" 1
want7=$(awk '$1 == "PCR" && $2 == "sha256" && $3 == "7" { print tolower($4) }' "$W/pcrs-7.txt")
check_jq "ovmf: the single mismatch is bank sha256 pcr 7, with the file's and the log's values" "$W/out" \
    '.verdict == "fail" and (.expect.mismatches | length == 1) and
     (.expect.mismatches[0] | .bank == "sha256" and .pcr == 7 and .expected == $e and
      .replayed == $r[0].banks.sha256["7"] and .log_extends == true)' \
    --arg e "$want7" --slurpfile r "$W/ovmf-self.json"
tl eventlog replay "$OVMF" --expect "$W/pcrs-7.txt"
if [ $rc = 1 ] && grep -q '^MISMATCH sha256 PCR 7: ' "$W/out" && grep -q '^verdict: FAIL' "$W/out"; then
    ok "ovmf: text replay prints the sha256 PCR 7 mismatch and verdict FAIL"
else not_ok "ovmf: text replay prints the sha256 PCR 7 mismatch and verdict FAIL" "$(tail -3 "$W/out")"; fi

# A PCRs file that has a bank the log lacks.
printf 'PCR sm3_256 0 %064d\n' 0 >"$W/pcrs-sm3.txt"
tl eventlog replay "$OVMF" --expect "$W/pcrs-sm3.txt" --json
check_rc "ovmf: --expect with an sm3_256 bank the log lacks exits 1" 1
check_jq "ovmf: ... missing_banks is [\"sm3_256\"]" "$W/out" '.expect.missing_banks == ["sm3_256"]'

# tpm2_eventlog's own YAML of this log as --expect (live, when installed).
if command -v tpm2_eventlog >/dev/null; then
    tpm2_eventlog "$OVMF" >"$W/ovmf.yaml" 2>/dev/null
    tl eventlog replay "$OVMF" --expect "$W/ovmf.yaml" --json
    check_rc "ovmf: replay --expect <tpm2_eventlog YAML of the log> exits 0" 0
else
    skip "ovmf: replay --expect <tpm2_eventlog YAML>" "tpm2_eventlog not installed"
fi

# ---------------------------------------------------------------------------
# 3. go-attestation: Windows on a GCP shielded VM, PCRs from its quote.
# ---------------------------------------------------------------------------
jq -r '.Log.Raw' "$GCP" | base64 -d >"$W/gcp.bin"
jq -r '.Log.PCRs[] | "\(.Index) \(.DigestAlg) \(.Digest)"' "$GCP" |
    while read -r idx alg dig; do
        [ "$alg" = 3 ] || { echo "unexpected DigestAlg $alg" >&2; continue; }
        printf 'PCR sha1 %s %s\n' "$idx" "$(printf '%s' "$dig" | base64 -d | od -An -v -tx1 | tr -d ' \n')"
    done >"$W/gcp-pcrs.txt"
check_eq "gcp: 24 SHA-1 PCR values decoded from .Log.PCRs" \
    "$(grep -cE '^PCR sha1 [0-9]+ [0-9a-f]{40}$' "$W/gcp-pcrs.txt")" 24
tl eventlog replay "$W/gcp.bin" --expect "$W/gcp-pcrs.txt" --json
check_rc "gcp: replay --expect <quote's PCRs> exits 0" 0
check_jq "gcp: no mismatch, verdict pass" "$W/out" \
    '.expect.mismatches == [] and .expect.missing_banks == [] and .verdict == "pass"'
check_jq "gcp: the log extends sha1 PCR 0-7, 11-14 (not_covered lists 8-10, 15-23)" "$W/out" \
    '.expect.not_covered == [8,9,10,15,16,17,18,19,20,21,22,23]'

# ---------------------------------------------------------------------------
# 4. state --json of the OVMF log.
# ---------------------------------------------------------------------------
tl eventlog state "$OVMF" --json
check_rc "ovmf: state exits 0" 0
cp "$W/out" "$W/state.json"
check_jq "ovmf state: secure_boot true, verdict pass, no findings" "$W/state.json" \
    '.secure_boot == true and .verdict == "pass" and .findings == []'
check_jq "ovmf state: db holds Microsoft Windows Production PCA 2011 and Microsoft Corporation UEFI CA 2011" \
    "$W/state.json" '[.keys.db.entries[].certificate.common_name] as $cn |
        ($cn | index("Microsoft Windows Production PCA 2011")) != null and
        ($cn | index("Microsoft Corporation UEFI CA 2011")) != null'
check_jq "ovmf state: applications are shim, grub, kernel" "$W/state.json" \
    '[.applications[].name] == ["shim","grub","kernel"]'
check_jq "ovmf state: shim verified by db's Microsoft Corporation UEFI CA 2011 (firmware)" "$W/state.json" \
    '.applications[0].authority | .common_name == "Microsoft Corporation UEFI CA 2011" and
        .source == "firmware" and .variable == "db" and .inferred == false'
check_jq "ovmf state: grub verified by Debian Secure Boot CA (shim, MokListRT, measured)" "$W/state.json" \
    '.applications[1].authority | .common_name == "Debian Secure Boot CA" and .source == "shim" and
        .variable == "MokListRT" and .inferred == false'
check_jq "ovmf state: kernel verified by Debian Secure Boot CA (shim, inferred)" "$W/state.json" \
    '.applications[2].authority | .common_name == "Debian Secure Boot CA" and .source == "shim" and
        .inferred == true'
check_jq "ovmf state: kernel_cmdline" "$W/state.json" \
    '.kernel_cmdline == "/vmlinuz console=ttyS0 quiet panic=-1"'
check_jq "ovmf state: application paths" "$W/state.json" \
    '[.applications[].path] == ["\\EFI\\BOOT\\BOOTX64.EFI", "\\EFI\\BOOT\\grubx64.efi", "/vmlinuz"]'
# The certificate in db that verified shim is the published Microsoft UEFI CA.
if command -v openssl >/dev/null; then
    fp=$(openssl x509 -in "$TL_VECTORS/secureboot/certs/MicCorUEFCA2011_2011-06-27.crt" -noout \
        -fingerprint -sha256 2>/dev/null | sed 's/.*=//; s/://g' | tr A-F a-f)
    check_jq "ovmf state: shim's authority certificate is MicCorUEFCA2011_2011-06-27.crt (sha256 $fp)" \
        "$W/state.json" '.applications[0].authority.sha256 == $fp' --arg fp "$fp"
else
    skip "ovmf state: shim's authority certificate vs openssl" "openssl not installed"
fi

# Each application's digests against the binaries the log measured.
if [ -n "$TL_FIXTURES" ] && [ -e "$TL_FIXTURES/shimx64.efi.signed" ]; then
    bins=("$TL_FIXTURES/measured/shimx64.efi.signed" "$TL_FIXTURES/measured/grubx64.efi.signed" "$TL_FIXTURES/measured/vmlinuz")
    for i in 0 1 2; do
        f=${bins[$i]}
        app=$(jq -r ".applications[$i].name" "$W/state.json")
        check_jq "ovmf state: $app image_length is the size of $(basename "$f")" "$W/state.json" \
            ".applications[$i].image_length == $(stat -L -c %s "$f")"
        if command -v pesign >/dev/null; then
            for alg in sha256 sha1; do
                h=$(pesign -h -d "$alg" -i "$f" 2>/dev/null | sed -n 's/^hash: //p')
                check_jq "ovmf state: $app digests.$alg is pesign's Authenticode hash of $(basename "$f") (${h:0:16}...)" \
                    "$W/state.json" '.applications['$i'].digests.'$alg' == $h and ($h | length) > 0' --arg h "$h"
            done
        else
            skip "ovmf state: $app digest vs pesign" "pesign not installed"
        fi
    done
    # An Authenticode hash computed here (PE/COFF spec, "Authenticode PE
    # image hash"), independent of pesign and of tl, for all four banks.
    python3 - "${bins[@]}" >"$W/ac.json" <<'EOF' 2>"$W/pyerr"
import hashlib, json, struct, sys
def authenticode(d, alg):
    pe, = struct.unpack_from('<I', d, 0x3c)
    assert d[pe:pe + 4] == b'PE\0\0'
    nsec, = struct.unpack_from('<H', d, pe + 6)
    optsz, = struct.unpack_from('<H', d, pe + 20)
    opt = pe + 24
    magic, = struct.unpack_from('<H', d, opt)
    cksum = opt + 64
    certdir = opt + (96 if magic == 0x10b else 112) + 4 * 8
    hdrs, = struct.unpack_from('<I', d, opt + 60)
    _, cert_size = struct.unpack_from('<II', d, certdir)
    h = hashlib.new(alg)
    h.update(d[:cksum]); h.update(d[cksum + 4:certdir]); h.update(d[certdir + 8:hdrs])
    secs = []
    for i in range(nsec):
        sz, ptr = struct.unpack_from('<II', d, opt + optsz + 40 * i + 16)
        if sz:
            secs.append((ptr, sz))
    n = hdrs
    for ptr, sz in sorted(secs):
        h.update(d[ptr:ptr + sz]); n += sz
    if len(d) - cert_size > n:
        h.update(d[n:len(d) - cert_size])
    return h.hexdigest()
out = []
for p in sys.argv[1:]:
    d = open(p, 'rb').read()
    out.append({a: authenticode(d, a) for a in ('sha1', 'sha256', 'sha384', 'sha512')})
print(json.dumps(out))
EOF
    check_jq "ovmf state: all 4 digests of shim, grub, kernel equal an independent Authenticode hash" \
        "$W/state.json" '[.applications[].digests] == $ac[0]' --slurpfile ac "$W/ac.json"
else
    skip "ovmf state: application digests vs pesign" "TL_FIXTURES not set (run scripts/fixtures.sh)"
fi

# ---------------------------------------------------------------------------
# 5. show --json of the OVMF log.
# ---------------------------------------------------------------------------
tl eventlog show "$OVMF" --json
check_rc "ovmf: show exits 0" 0
cp "$W/out" "$W/show.json"
check_jq "ovmf show: 50 events, indexes 0..49, offsets increasing from 0" "$W/show.json" \
    '(.events | length) == 50 and [.events[].index] == [range(50)] and .events[0].offset == 0 and
     ([.events[].offset] | . == (sort | unique))'
check_jq "ovmf show: crypto-agile, 4 banks, Spec ID Event03 header" "$W/show.json" \
    '.format == "crypto-agile" and .algorithms == ["sha1","sha256","sha384","sha512"] and
     .events[0].type == "EV_NO_ACTION" and .events[0].description == "Spec ID Event03"'
check_jq "ovmf show: event 26 is shim, PciRoot(0x0)/Pci(0x2,0x0)/\\EFI\\BOOT\\BOOTX64.EFI (UEFI 10.6 text form)" \
    "$W/show.json" '.events[26] | .type == "EV_EFI_BOOT_SERVICES_APPLICATION" and .pcr == 4 and
        .description == "PciRoot(0x0)/Pci(0x2,0x0)/\\EFI\\BOOT\\BOOTX64.EFI" and .component == "shim" and
        .status == "opaque"'
check_jq "ovmf show: event 4 is the SecureBoot variable, verified, data ends in 01" "$W/show.json" \
    '.events[4] | .pcr == 7 and .type == "EV_EFI_VARIABLE_DRIVER_CONFIG" and .status == "verified" and
        (.description | startswith("SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c")) and (.data | endswith("01"))'
check_jq "ovmf show: separators 0x00000000 in PCR 0-7" "$W/show.json" \
    '[.events[] | select(.type == "EV_SEPARATOR") | select(.description == "0x00000000") | .pcr] | sort == [0,1,2,3,4,5,6,7]'
if command -v tpm2_eventlog >/dev/null; then
    tpm2_eventlog "$OVMF" >"$W/ovmf.yaml" 2>/dev/null
    check_eq "ovmf show: event count equals tpm2_eventlog's EventNum count" \
        "$(jq '.events | length' "$W/show.json")" "$(grep -c 'EventNum:' "$W/ovmf.yaml")"
    if python3 -c 'import yaml' 2>/dev/null; then
        python3 - "$W/ovmf.yaml" "$W/show.json" >"$W/cmp.txt" 2>&1 <<'EOF'
import json, sys, yaml
y = yaml.safe_load(open(sys.argv[1]))['events']
s = json.load(open(sys.argv[2]))['events']
bad = []
if len(y) != len(s):
    bad.append('counts %d %d' % (len(y), len(s)))
for a, b in zip(y, s):
    if (a['EventNum'], a['PCRIndex'], a['EventType']) != (b['index'], b['pcr'], b['type']):
        bad.append('event %d: %r vs %r' % (b['index'], (a['PCRIndex'], a['EventType']), (b['pcr'], b['type'])))
    if a['EventNum'] == 0:
        continue
    d = {x['AlgorithmId']: x['Digest'].lower() for x in a['Digests']}
    if d != b['digests'] or a['EventSize'] != b['data_size']:
        bad.append('event %d: digests or size differ' % b['index'])
print('\n'.join(bad))
EOF
        check_eq "ovmf show: every event's PCR, type, size and digests equal tpm2_eventlog's" "$(cat "$W/cmp.txt")" ""
    fi
else
    skip "ovmf show: event count vs tpm2_eventlog" "tpm2_eventlog not installed"
fi

# tamper OUT PYTHON-EXPR: copy of the log in b (bytearray), ev (show's
# events); the expression edits b.
tamper() {
    python3 - "$OVMF" "$W/show.json" "$1" "$2" <<'EOF'
import json, struct, sys
b = bytearray(open(sys.argv[1], 'rb').read())
ev = json.load(open(sys.argv[2]))['events']
def u32(off): return struct.unpack_from('<I', b, off)[0]
def set_u32(off, v): struct.pack_into('<I', b, off, v)
exec(sys.argv[4])
open(sys.argv[3], 'wb').write(b)
EOF
}

# ---------------------------------------------------------------------------
# 6. Several files in one call.
# ---------------------------------------------------------------------------
ARCH=$T2/event-arch-linux.bin
head -c 100 "$OVMF" >"$W/cut.bin"
tl eventlog replay "$OVMF" "$ARCH" --json
check_rc "two good logs: exit 0" 0
check_eq "two good logs: one JSON line each, in order, each with its file" \
    "$(jq -r '.file' "$W/out" | tr '\n' ' ')" "$OVMF $ARCH "
check_eq "two good logs: exactly 2 stdout lines" "$(wc -l <"$W/out")" 2
tl eventlog replay "$OVMF" "$W/cut.bin" "$ARCH" --json
check_rc "good, truncated, good: exit 2 (the max)" 2
check_eq "good, truncated, good: the good ones are still printed" \
    "$(jq -r '.file' "$W/out" | tr '\n' ' ')" "$OVMF $ARCH "
check_one_error_line_stdout_ok() { # stderr only: stdout holds the good files here
    if [ "$(wc -l <"$W/err")" = 1 ] && grep -qE "$2" "$W/err"; then ok "$1"; else
        not_ok "$1" "stderr: $(head -c 400 "$W/err")"; fi
}
check_one_error_line_stdout_ok "good, truncated, good: one stderr line naming the truncated file" \
    "^tl: $W/cut.bin: .* \\(offset [0-9]+\\)\$"
tamper "$W/sbflip.bin" 'b[ev[5]["offset"] - 1] ^= 1'
tl eventlog replay "$W/sbflip.bin" "$OVMF" --json
check_rc "failing + good: exit 1" 1
check_eq "failing + good: verdicts fail, pass" "$(jq -r '.verdict' "$W/out" | tr '\n' ' ')" "fail pass "
tl eventlog state "$W/sbflip.bin" "$W/cut.bin" --json
check_rc "failing + truncated: exit 2" 2
check_eq "failing + truncated: the failing one is printed" "$(jq -r '.file' "$W/out")" "$W/sbflip.bin"
tl eventlog replay "$OVMF" "$ARCH"
check_eq "two logs, text: a \"== FILE ==\" header for each" "$(grep -c '^== .* ==$' "$W/out")" 2

# ---------------------------------------------------------------------------
# 7. Tampered copies of the OVMF log (offsets taken from show --json).
# ---------------------------------------------------------------------------

# (a) One byte of the kernel command line in grub's "kernel_cmdline: " record.
k=$(jq '[.events[] | select(.description // "" | startswith("kernel_cmdline: "))][0].index' "$W/show.json")
check_eq "ovmf: grub's kernel_cmdline record is event 45" "$k" 45
tamper "$W/t-cmdline.bin" '
e = ev['"$k"']; i = b.index(b"kernel_cmdline: /vmlinuz", e["offset"]); j = b.index(b"quiet", i)
assert j < e["offset"] + 400; b[j] = ord("Q")'
tl eventlog state "$W/t-cmdline.bin" --json
check_rc "tampered kernel cmdline: state exits 1" 1
check_jq "tampered kernel cmdline: finding on event 45, component kernel-cmdline" "$W/out" \
    '.verdict == "fail" and [.findings[] | {event, pcr, component}] == [{"event":45,"pcr":8,"component":"kernel-cmdline"}]'
check_jq "tampered kernel cmdline: the forged command line is not believed (kernel_cmdline null)" "$W/out" \
    '.kernel_cmdline == null'

# (b) The kernel's EV_EFI_BOOT_SERVICES_APPLICATION relabelled EV_POST_CODE.
check_jq "ovmf: event 43 is the kernel's EV_EFI_BOOT_SERVICES_APPLICATION in PCR 4" "$W/show.json" \
    '.events[43] | .type == "EV_EFI_BOOT_SERVICES_APPLICATION" and .pcr == 4 and .component == "kernel"'
tamper "$W/t-postcode.bin" 'o = ev[43]["offset"]; assert u32(o) == 4 and u32(o + 4) == 0x80000003; set_u32(o + 4, 1)'
tl eventlog state "$W/t-postcode.bin" --json
check_rc "kernel record relabelled EV_POST_CODE: state exits 1" 1
check_jq "kernel record relabelled EV_POST_CODE: finding \"EV_POST_CODE is not measured into PCR 4\" on event 43" \
    "$W/out" '.verdict == "fail" and any(.findings[]; .event == 43 and .type == "EV_POST_CODE" and
        (.reason | contains("EV_POST_CODE is not measured into PCR 4")))'
tl eventlog replay "$W/t-postcode.bin" --expect "$OVMF_PCRS" --json
check_jq "kernel record relabelled: PCRs still match the TPM (type is not digested), verdict still fail" \
    "$W/out" '.expect.mismatches == [] and .verdict == "fail"'
check_rc "kernel record relabelled: replay --expect exits 1" 1

# (c) An unknown event type.
tamper "$W/t-unknown.bin" 'set_u32(ev[43]["offset"] + 4, 0x12345678)'
tl eventlog state "$W/t-unknown.bin" --json
check_rc "event type 0x12345678: state exits 1" 1
check_jq "event type 0x12345678: finding \"unknown event type 0x12345678\"" "$W/out" \
    'any(.findings[]; .event == 43 and (.reason | contains("unknown event type 0x12345678")))'

# (d) SecureBoot's data byte flipped: digest no longer matches, value not believed.
tamper "$W/t-sb.bin" '
e = ev[4]; end = ev[5]["offset"] - 1
assert e["data"].endswith("01") and b[end] == 1; b[end] = 0'
tl eventlog state "$W/t-sb.bin" --json
check_rc "SecureBoot data flipped to 0: state exits 1" 1
check_jq "SecureBoot data flipped: secure_boot is null (forged value not believed), finding on event 4" "$W/out" \
    '.secure_boot == null and .verdict == "fail" and
     [.findings[] | {event, pcr, component}] == [{"event":4,"pcr":7,"component":"SecureBoot"}]'
tl eventlog replay "$W/t-sb.bin" --expect "$OVMF_PCRS" --json
check_rc "SecureBoot data flipped: replay --expect still exits 1 though every PCR matches" 1
check_jq "SecureBoot data flipped: ... no PCR mismatch, finding on event 4" "$W/out" \
    '.expect.mismatches == [] and [.findings[].event] == [4]'

# (e) A digest changed: record check and replay both notice.
tamper "$W/t-digest.bin" 'o = ev[26]["offset"]; b[o + 12 + 2] ^= 0xff'
tl eventlog replay "$W/t-digest.bin" --expect "$OVMF_PCRS" --json
check_rc "shim's sha1 digest changed: replay --expect exits 1" 1
check_jq "shim's sha1 digest changed: mismatch is sha1 PCR 4 only" "$W/out" \
    '[.expect.mismatches[] | [.bank, .pcr]] == [["sha1", 4]]'

# ---------------------------------------------------------------------------
# 8. Usage errors: exit 2, one line on stderr, nothing on stdout.
# ---------------------------------------------------------------------------
tl
check_rc "usage: tl (no args) exits 2" 2
check_one_error_line "usage: tl (no args): one stderr line" '^tl: '
tl eventlog
check_rc "usage: tl eventlog (no verb) exits 2" 2
check_one_error_line "usage: tl eventlog (no verb): one stderr line" '^tl: '
tl eventlog show
check_rc "usage: tl eventlog show (no FILE) exits 2" 2
check_one_error_line "usage: tl eventlog show (no FILE): one stderr line" '^tl: eventlog show: '
tl eventlog frobnicate "$OVMF"
check_rc "usage: unknown verb exits 2" 2
check_one_error_line "usage: unknown verb: one stderr line naming it" '^tl: eventlog: unknown verb "frobnicate"'
tl frobnicate
check_rc "usage: unknown command exits 2" 2
check_one_error_line "usage: unknown command: one stderr line naming it" '^tl: unknown command "frobnicate"'
tl eventlog show "$OVMF" --expect "$OVMF_PCRS"
check_rc "usage: --expect on show exits 2" 2
check_one_error_line "usage: --expect on show: one stderr line" '^tl: eventlog show: --expect'
tl eventlog state "$OVMF" --expect "$OVMF_PCRS"
check_rc "usage: --expect on state exits 2" 2
tl eventlog replay "$OVMF" --expect
check_rc "usage: --expect without a value exits 2" 2
check_one_error_line "usage: --expect without a value: one stderr line" '^tl: '
tl eventlog show "$OVMF" --frobnicate
check_rc "usage: unknown option exits 2" 2
check_one_error_line "usage: unknown option: one stderr line" '^tl: '
tl eventlog replay "$OVMF" --expect "$W/does-not-exist"
check_rc "--expect FILE missing: exit 2" 2
check_one_error_line "--expect FILE missing: one stderr line naming it" "^tl: $W/does-not-exist: "
printf 'PCR sha256 7 abcd\n' >"$W/pcrs-short.txt"
tl eventlog replay "$OVMF" --expect "$W/pcrs-short.txt"
check_rc "--expect with a 2-byte sha256 value: exit 2" 2
check_one_error_line "--expect with a 2-byte sha256 value: one stderr line naming file and line" \
    "^tl: $W/pcrs-short.txt: line 1: "
# A PCRs file of only whitespace. In an ASan build, heap memory is filled
# with spaces so a parser that scans for the text's end past its length (the
# file buffer is not NUL-terminated) runs off the allocation.
printf '  \n\t\n' >"$W/pcrs-blank.txt"
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}malloc_fill_byte=32:max_malloc_fill_size=1048576" \
    tl eventlog replay "$OVMF" --expect "$W/pcrs-blank.txt"
check_rc "--expect with a whitespace-only file: exit 2" 2
check_one_error_line "--expect with a whitespace-only file: \"no PCR values found\"" \
    "^tl: $W/pcrs-blank.txt: no PCR values found\$"
# Fail closed: an expected-values file that holds no value must not let a
# replay "pass" having compared nothing (the text forms already say so).
for j in '{}' '{"banks": {}}' '{"banks": {"sha256": {}}}'; do
    printf '%s\n' "$j" >"$W/pcrs-none.json"
    tl eventlog replay "$OVMF" --expect "$W/pcrs-none.json"
    check_rc "--expect with JSON $j (no PCR value): exit 2" 2
    check_one_error_line "--expect with JSON $j: one stderr line" "^tl: $W/pcrs-none.json: "
done
printf 'pcrs:\n  sha256:\n' >"$W/pcrs-none.yaml"
tl eventlog replay "$OVMF" --expect "$W/pcrs-none.yaml"
check_rc "--expect with YAML holding a bank but no value: exit 2" 2
: >"$W/pcrs-empty.txt"
tl eventlog replay "$OVMF" --expect "$W/pcrs-empty.txt"
check_rc "--expect with an empty file: exit 2" 2
check_one_error_line "--expect with an empty file: \"no PCR values found\"" \
    "^tl: $W/pcrs-empty.txt: no PCR values found\$"

tl --help
check_rc "tl --help exits 0" 0
check_eq "tl --help: usage on stdout, nothing on stderr" "$(grep -c '^usage: tl' "$W/out")$(wc -c <"$W/err")" 10
tl eventlog --help
check_rc "tl eventlog --help exits 0" 0

finish
