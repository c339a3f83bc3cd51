#!/usr/bin/env bash
# eventlog_badinput.sh - bad input never crashes, hangs or fails quietly.
#
# (a) the sd-boot Fedora 37 log cut at every 7th offset and at every record
# boundary and boundary+-1, (b) the OVMF log cut at every 97th offset, (c)
# empty, zero, random, directory and missing files. Every call must end in
# exit 2 with exactly one stderr line
#   tl: FILE: WHAT (offset N)
# and nothing on stdout, except a cut that leaves whole records (optionally
# followed by zero bytes, which the parser takes as padding): that is a valid
# shorter log, exit 0 or 1, and show --json reports the padding.
# (d) any sanitizer report is a failure; every call runs under `timeout 10`.
# The cuts at every offset 1..len-1 of the Fedora log (and the OVMF log's
# every 97th) run in-process in tests/unit/test_eventlog_cuts.c, with the
# same classification, on the pipeline `state` runs: a process per cut, under
# ASan, cost CI six minutes. This script keeps the CLI's side of the contract
# (exit status, the one stderr line, stdout, sanitizers) on the stride above.
# (e) PCR indexes out of range; (f) the slow shapes of issue 11 (many
# applications without a device path, a log beyond the record cap).
#
# Environment: TL_BIN, TL_VECTORS (see tests/meson.build).
# Output: "ok N - ..." / "not ok N - ..." lines; exit 1 on any failure, 77
# when jq or python3 is missing. The truncation loops run on 2 workers.
set -u
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"

: "${TL_BIN:?TL_BIN must name the tl binary}"
: "${TL_VECTORS:?TL_VECTORS must name the vectors folder}"
for tool in jq python3 timeout; do
    command -v "$tool" >/dev/null || skip_all "$tool not found"
done

FEDORA=$TL_VECTORS/eventlog/tpm2-tools/event-sd-boot-fedora37.bin
OVMF=$TL_VECTORS/eventlog/ovmf-debian12/secureboot-on.eventlog.bin
JOBS=${TL_TEST_JOBS:-2}

W=$(mktemp -d "${TMPDIR:-/tmp}/tl-eventlog-bad.XXXXXX")
trap 'rm -rf "$W"' EXIT


ERR_RE=': .+ \(offset [0-9]+\)$' # after the "tl: FILE" prefix

# classify FILE VERB EXPECT -> prints "" when fine, else one line saying why.
# EXPECT: "bad" (exit 2, one error line with an offset) or "valid" (exit 0/1,
# no stderr). Runs in the workers: only bash builtins besides timeout + tl.
classify() {
    local file=$1 verb=$2 expect=$3 rc err lines=0 line first=
    timeout 10 "$TL_BIN" eventlog "$verb" "$file" >"$file.out" 2>"$file.err"
    rc=$?
    err=$(<"$file.err")
    err=${err//$'\n'/ | } # one problem, one line
    while IFS= read -r line; do
        lines=$((lines + 1))
        [ -n "$first" ] || first=$line
    done <"$file.err"
    case $err in *AddressSanitizer* | *LeakSanitizer* | *"runtime error:"*)
        echo "$file: sanitizer report: ${err:0:300}"; return ;;
    esac
    [ $rc != 124 ] || { echo "$file: timed out (hang)"; return; }
    if [ "$expect" = valid ]; then
        if [ $rc != 0 ] && [ $rc != 1 ]; then
            echo "$file: whole records: exit $rc, want 0 or 1; stderr: ${err:0:200}"
        elif [ $lines != 0 ]; then
            echo "$file: whole records: stderr not empty: ${err:0:200}"
        fi
        return
    fi
    if [ $rc != 2 ]; then
        echo "$file: exit $rc, want 2; stderr: ${err:0:200}"
    elif [ $lines != 1 ]; then
        echo "$file: $lines stderr lines, want 1: ${err:0:300}"
    elif [[ $first != "tl: $file: "* ]] || ! [[ ${first#"tl: $file"} =~ $ERR_RE ]]; then
        echo "$file: stderr line not \"tl: $file: WHAT (offset N)\": $first"
    elif [ -s "$file.out" ]; then
        echo "$file: exit 2 but stdout not empty"
    fi
}

# cuts LOG DIR STEP [bounds]: writes DIR/cut-<len> for len = 0, STEP, 2*STEP,
# ... < size of LOG (skipping 0), with "bounds" also every record boundary
# and boundary+-1, and DIR/list with "<path> <bad|valid> <pad>" lines.
# valid: the cut leaves whole records, then only zero bytes (pad of them).
cuts() {
    local log=$1 dir=$2 step=$3 with_bounds=${4:-}
    mkdir -p "$dir"
    "$TL_BIN" eventlog show "$log" --json | jq -c '[.events[].offset]' >"$dir/offsets.json" ||
        return 1
    python3 - "$log" "$dir" "$step" "$dir/offsets.json" "$with_bounds" <<'EOF'
import json, sys
log, d, step = open(sys.argv[1], 'rb').read(), sys.argv[2], int(sys.argv[3])
bounds = [o for o in json.load(open(sys.argv[4])) if o > 0] + [len(log)]
at = set(range(step, len(log), step))
if sys.argv[5] == 'bounds':
    at.update(c for o in bounds for c in (o - 1, o, o + 1) if 0 < c < len(log))
with open(d + '/list', 'w') as lst:
    for cut in sorted(at):
        p = '%s/cut-%d' % (d, cut)
        open(p, 'wb').write(log[:cut])
        b = max((o for o in bounds if o <= cut), default=0)
        valid = b > 0 and not any(log[b:cut])
        lst.write('%s %s %d\n' % (p, 'valid' if valid else 'bad', cut - b if valid else 0))
EOF
}

# run_list LIST VERB: classifies every file of LIST on $JOBS workers; prints
# the problems.
run_list() {
    local list=$1 verb=$2 w
    for ((w = 0; w < JOBS; w++)); do
        (
            i=0
            while read -r f expect pad; do
                i=$((i + 1))
                [ $((i % JOBS)) = "$w" ] || continue
                classify "$f" "$verb" "$expect"
                rm -f "$f.out" "$f.err"
            done <"$list"
        ) >"$list.problems.$w" &
    done
    wait
    cat "$list".problems.*
}

# report DESC LIST VERB: runs, and says ok / not ok with the first problems.
report() {
    local desc=$1 list=$2 verb=$3 problems count
    problems=$(run_list "$list" "$verb")
    count=$(wc -l <"$list")
    if [ -z "$problems" ]; then ok "$desc ($count files)"; else
        not_ok "$desc ($count files, $(printf '%s\n' "$problems" | wc -l) wrong)" \
            "$(printf '%s\n' "$problems" | head -n 10)"
    fi
}

# check_padding LIST: for the valid cuts that end in zero bytes, show --json
# reports exactly those bytes as trailing_zero_bytes.
check_padding() {
    local list=$1 desc=$2 f expect pad got bad='' k=0
    while read -r f expect pad; do
        [ "$expect" = valid ] && [ "$pad" != 0 ] || continue
        k=$((k + 1))
        got=$(timeout 10 "$TL_BIN" eventlog show "$f" --json 2>/dev/null | jq '.trailing_zero_bytes')
        [ "$got" = "$pad" ] || bad="$bad $f: trailing_zero_bytes ${got:-?}, want $pad;"
    done <"$list"
    if [ -z "$bad" ]; then ok "$desc: show reports the zero padding of all $k padded cuts"; else
        not_ok "$desc: trailing_zero_bytes" "$bad"; fi
}

# (a) the Fedora sd-boot log: every 7th offset, every record boundary and
# boundary+-1 (every offset: tests/unit/test_eventlog_cuts.c).
if cuts "$FEDORA" "$W/fedora" 7 bounds; then
    nv=$(grep -c ' valid ' "$W/fedora/list")
    nb=$(jq length "$W/fedora/offsets.json")
    [ "$nv" -ge "$((nb - 1))" ] && ok "fedora: $(wc -l <"$W/fedora/list") cuts, $nv on record boundaries (+ zero padding), $nb records" ||
        not_ok "fedora: only $nv valid cuts for $nb records"
    report "fedora: state on the log cut at every 7th offset, every record boundary and boundary+-1" "$W/fedora/list" state
    check_padding "$W/fedora/list" fedora
    rm -f "$W"/fedora/cut-*
else
    not_ok "fedora: show --json of the whole log"
fi

# (b) the OVMF log, every 97th offset; state and show (show decodes every record).
if cuts "$OVMF" "$W/ovmf" 97; then
    report "ovmf: state on the log cut at every 97th offset" "$W/ovmf/list" state
    report "ovmf: show on the log cut at every 97th offset" "$W/ovmf/list" show
    check_padding "$W/ovmf/list" ovmf
else
    not_ok "ovmf: show --json of the whole log"
fi

# (c) files that are not event logs.
mkdir -p "$W/junk"
: >"$W/junk/empty"
head -c 4096 /dev/zero >"$W/junk/zeros-4096"
python3 - "$W/junk" <<'EOF'
import random, sys
rng = random.Random(20240601)
for i in range(20):
    n = rng.choice([1, 3, 7, 31, 64, 100, 512, 4096, 65536])
    open('%s/random-%02d' % (sys.argv[1], i), 'wb').write(bytes(rng.getrandbits(8) for _ in range(n)))
EOF
# Random bytes behind a real Spec ID header: the record parser, not the header check.
head -c "$(jq '.[1]' "$W/ovmf/offsets.json")" "$OVMF" >"$W/junk/header-only"
python3 - "$W/junk" <<'EOF'
import random, sys
rng = random.Random(7)
hdr = open(sys.argv[1] + '/header-only', 'rb').read()
for i in range(10):
    tail = bytes(rng.getrandbits(8) for _ in range(rng.choice([5, 40, 300])))
    open('%s/header-random-%02d' % (sys.argv[1], i), 'wb').write(hdr + tail)
EOF
rm -f "$W/junk/header-only"
for f in "$W"/junk/*; do echo "$f bad 0"; done >"$W/junk.list"
report "junk: empty, 4096 zero bytes, 20 random files, 10 Spec ID header + random: exit 2, one line" \
    "$W/junk.list" state
report "junk: same files with replay" "$W/junk.list" replay

# Directory and missing file: one line naming the file (no offset: not a parse error).
for verb in state replay show; do
    for f in "$W/junk" "$W/no-such-file"; do
        timeout 10 "$TL_BIN" eventlog "$verb" "$f" >"$W/out" 2>"$W/err"
        rc=$?
        if [ $rc = 2 ] && [ "$(wc -l <"$W/err")" = 1 ] && grep -q "^tl: $f: " "$W/err" && [ ! -s "$W/out" ] &&
            ! grep -qE 'Sanitizer|runtime error:' "$W/err"; then
            ok "$verb $(basename "$f"): exit 2, one stderr line naming it"
        else
            not_ok "$verb $(basename "$f"): exit 2, one stderr line naming it" "exit $rc" "$(head -c 300 "$W/err")"
        fi
    done
done

# (e) Out-of-range PCR indexes (found by tests/fuzz/fuzz_eventlog). A SHA-1
# log's first record is a measurement like any other: PCR 98, 1000, 2^24 must
# be rejected (PFP: PCR 0-23), not replayed into value[98] (out of bounds).
mkdir -p "$W/pcr"
python3 - "$W/pcr" "$OVMF" "$W/ovmf/offsets.json" <<'EOF'
import json, struct, sys
d = sys.argv[1]
for pcr in (24, 98, 1000, 1 << 24):
    rec = struct.pack('<II', pcr, 0x0d) + b'\x11' * 20 + struct.pack('<I', 0)   # EV_IPL, no data
    open('%s/sha1-first-pcr-%d' % (d, pcr), 'wb').write(rec)
    ok = struct.pack('<II', 0, 0x0d) + b'\x22' * 20 + struct.pack('<I', 0)
    open('%s/sha1-second-pcr-%d' % (d, pcr), 'wb').write(ok + rec)
EOF
for f in "$W"/pcr/*; do echo "$f bad 0"; done >"$W/pcr.list"
report "PCR index >= 24 in a SHA-1 log's first or second record: exit 2, one line" "$W/pcr.list" replay
report "... same with state" "$W/pcr.list" state
# EV_NO_ACTION may name any PCR (it extends none), but checks must not shift
# by it (1u << 1000 is undefined): the OVMF log with record 15 relabelled
# EV_NO_ACTION in PCR 1000 is a finding (non-zero digest), exit 1.
python3 - "$OVMF" "$W/ovmf/offsets.json" "$W/noaction-pcr1000" <<'EOF'
import json, struct, sys
b = bytearray(open(sys.argv[1], 'rb').read())
o = json.load(open(sys.argv[2]))[15]
assert struct.unpack_from('<II', b, o) == (4, 0x80000007)   # EV_EFI_ACTION in PCR 4
struct.pack_into('<II', b, o, 1000, 3)
open(sys.argv[3], 'wb').write(b)
EOF
for verb in replay state show; do
    timeout 10 "$TL_BIN" eventlog "$verb" "$W/noaction-pcr1000" --json >"$W/out" 2>"$W/err"
    rc=$?
    if [ $rc = 1 ] && [ ! -s "$W/err" ] && [ "$(jq -c '[.findings[] | [.event, .pcr]]' "$W/out")" = '[[15,1000]]' ]; then
        ok "$verb: EV_NO_ACTION in PCR 1000: exit 1, one finding on event 15, no sanitizer report"
    else
        not_ok "$verb: EV_NO_ACTION in PCR 1000: exit 1, one finding on event 15, no sanitizer report" \
            "exit $rc" "$(head -c 400 "$W/err")"
    fi
done

# (f) The slow shapes of issue 11 through the CLI (tests/unit/applog.c builds
# the same logs): 2,000 boot applications without a device path get 2,000
# distinct names, application#1999 the last (they were suffixed on
# suffixes, about n^4 in all); one record beyond TL_EVENTLOG_MAX_EVENTS is
# refused with one line naming the cap.
python3 - "$W" <<'EOF'
import struct, sys
def app_log(n):
    spec = b'Spec ID Event03\0' + struct.pack('<IBBBBI', 0, 0, 2, 0, 2, 2)
    spec += struct.pack('<HHHH', 4, 20, 11, 32) + b'\0'
    log = [struct.pack('<II', 0, 3) + bytes(20) + struct.pack('<I', len(spec)) + spec]
    for i in range(n):
        log.append(struct.pack('<III', 4, 0x80000003, 2) +
                   struct.pack('<HQ', 4, i + 1) + b'\xa5' * 12 + struct.pack('<HQ', 11, i + 1) + b'\x5a' * 24 +
                   struct.pack('<IQQQQ', 32, 0x7e000000 + 0x10000 * (i % 256), 0x10000, 0, 0))
    return b''.join(log)
open(sys.argv[1] + '/apps-2000', 'wb').write(app_log(2000))
open(sys.argv[1] + '/apps-65536', 'wb').write(app_log(65536))
EOF
timeout 60 "$TL_BIN" eventlog state "$W/apps-2000" --json >"$W/out" 2>"$W/err"
rc=$?
names=$(jq -r '[.applications[].name] | "\(length) \(unique | length) \(.[-1])"' "$W/out" 2>/dev/null)
if [ $rc = 0 ] && [ ! -s "$W/err" ] && [ "$names" = "2000 2000 application#1999" ]; then
    ok "state: 2,000 applications without a device path: 2,000 distinct names, the last application#1999"
else
    not_ok "state: 2,000 applications without a device path: 2,000 distinct names, the last application#1999" \
        "exit $rc, names: $names" "$(head -c 300 "$W/err")"
fi
timeout 60 "$TL_BIN" eventlog state "$W/apps-65536" >"$W/out" 2>"$W/err"
rc=$?
if [ $rc = 2 ] && [ ! -s "$W/out" ] && [ "$(wc -l <"$W/err")" = 1 ] &&
    grep -qE '^tl: .*/apps-65536: event 65536: more than 65536 records, the cap \(TL_EVENTLOG_MAX_EVENTS\) \(offset [0-9]+\)$' "$W/err"; then
    ok "state: 65,537 records: exit 2, one line naming TL_EVENTLOG_MAX_EVENTS"
else
    not_ok "state: 65,537 records: exit 2, one line naming TL_EVENTLOG_MAX_EVENTS" "exit $rc" \
        "$(head -c 300 "$W/err")"
fi

finish
