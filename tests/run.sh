#!/usr/bin/env bash
# Runs Meson test suites in each build dir given and sums them up.
#
# Usage: tests/run.sh [--suite NAME]... BUILD_DIR...
#   (make test: --suite unit --suite cli build build-asan;
#    make e2e:  --suite e2e build)
#
# Ends with the line "N passed, N failed, N skipped" (the contract of `make
# test` and `make e2e`). Exit status 0 only when nothing failed and every
# skipped test is declared: a skip means a tool or fixture was missing and
# checks did not run, which must not pass CI unnoticed. tests/skips.allowed
# (or $TL_SKIPS_ALLOWED) lists the tests that may skip, one meson test name a
# line (e.g. "agent_cli.sh"), "#" comments; it is empty by default.
#
# TL_TIMEOUT_MULTIPLIER=N multiplies meson's per-test timeouts (a loaded
# machine; the e2e scripts also read TL_E2E_BOOT_TIMEOUT, TL_E2E_NODE_TIMEOUT).
#
# Each run's logs: BUILD_DIR/meson-logs/testlog-SUITES.{txt,json} (per-test
# durations in the .txt's summary, or .duration in the .json).
set -u
here=$(cd "$(dirname "$0")" && pwd)
allowed_file=${TL_SKIPS_ALLOWED:-$here/skips.allowed}
suites=()
names=()
while [ $# -gt 0 ]; do
    case $1 in
    --suite)
        [ $# -ge 2 ] || { echo "tests/run.sh: --suite needs a name" >&2; exit 2; }
        suites+=(--suite "$2")
        names+=("$2")
        shift 2
        ;;
    -*) echo "usage: tests/run.sh [--suite NAME]... BUILD_DIR..." >&2; exit 2 ;;
    *) break ;;
    esac
done
[ $# -ge 1 ] || { echo "usage: tests/run.sh [--suite NAME]... BUILD_DIR..." >&2; exit 2; }
command -v jq >/dev/null || { echo "tests/run.sh: jq not found (make deps)" >&2; exit 2; }
logbase=testlog
[ ${#names[@]} = 0 ] || logbase=testlog-$(IFS=-; echo "${names[*]}")

allowed=()
if [ -r "$allowed_file" ]; then
    while read -r line; do
        line=${line%%#*}
        line=$(echo "$line" | tr -d '[:space:]')
        [ -z "$line" ] || allowed+=("$line")
    done <"$allowed_file"
fi
is_allowed() {
    local a
    for a in "${allowed[@]}"; do [ "$a" = "$1" ] && return 0; done
    return 1
}

passed=0
failed=0
skipped=0
refused=()
for dir in "$@"; do
    echo "== ${names[*]:-all} tests in $dir =="
    json=$dir/meson-logs/$logbase.json
    rm -f "$json"
    meson test -C "$dir" "${suites[@]}" --print-errorlogs --num-processes 2 --logbase "$logbase" \
        ${TL_TIMEOUT_MULTIPLIER:+--timeout-multiplier "$TL_TIMEOUT_MULTIPLIER"}
    if [ ! -s "$json" ]; then
        echo "tests/run.sh: no test log from $dir ($json)" >&2
        failed=$((failed + 1))
        continue
    fi
    # one line per test: RESULT NAME (the name without "project:suite / ")
    while read -r result name; do
        case $result in
        OK | EXPECTEDFAIL) passed=$((passed + 1)) ;;
        SKIP)
            skipped=$((skipped + 1))
            is_allowed "$name" || refused+=("$dir: $name")
            ;;
        *) failed=$((failed + 1)) ;; # FAIL, TIMEOUT, UNEXPECTEDPASS, ERROR, INTERRUPT
        esac
    done < <(jq -r '.result + " " + (.name | sub("^.* / "; ""))' "$json")
done
if [ ${#refused[@]} -gt 0 ]; then
    echo "tests/run.sh: skipped, and not declared in ${allowed_file#"${here%/tests}/"}:"
    printf '  %s\n' "${refused[@]}"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ ${#refused[@]} -eq 0 ]
