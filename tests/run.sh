#!/usr/bin/env bash
# Runs the Meson test suites of each build dir given and sums them up.
# Ends with the line "N passed, N failed" (the contract of `make test`).
set -u
passed=0
failed=0
for dir in "$@"; do
    echo "== tests in $dir =="
    log=$(mktemp)
    meson test -C "$dir" --print-errorlogs --num-processes 2 2>&1 | tee "$log"
    ok=$(sed -n 's/^Ok: *\([0-9]*\).*/\1/p' "$log" | tail -1)
    fail=$(sed -n 's/^Fail: *\([0-9]*\).*/\1/p' "$log" | tail -1)
    timeout=$(sed -n 's/^Timeout: *\([0-9]*\).*/\1/p' "$log" | tail -1)
    unexpected=$(sed -n 's/^Unexpected Pass: *\([0-9]*\).*/\1/p' "$log" | tail -1)
    if [ -z "$ok" ] && [ -z "$fail" ]; then
        echo "tests/run.sh: no test summary from $dir" >&2
        fail=1
    fi
    passed=$((passed + ${ok:-0}))
    failed=$((failed + ${fail:-0} + ${timeout:-0} + ${unexpected:-0}))
    rm -f "$log"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
