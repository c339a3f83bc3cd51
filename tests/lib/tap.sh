# tests/lib/tap.sh - the one TAP helper of the shell tests (tests/cli, tests/e2e).
#
# Source it first thing after the environment checks:
#   . "$(dirname "$0")/../lib/tap.sh"
#
# It prints TAP (https://testanything.org/tap-specification.html):
#   ok N - DESC               a check passed
#   not ok N - DESC           a check failed, followed by "#   DETAIL" lines
#   ok N - DESC # SKIP WHY    a check that could not run here
#   # TEXT                    a diagnostic
#   1..N                      the plan, printed by finish (TAP allows it last)
# and exits with meson's exit-code protocol: 0 every check passed, 1 a check
# failed (or bail), 77 skipped. A test that skipped any of its checks exits
# 77 even when the others passed: it did not check everything it promises,
# and tests/run.sh fails such a test unless tests/skips.allowed declares it.
#
# Functions:
#   ok DESC | not_ok DESC [DETAIL...] | skip DESC WHY | diag TEXT...
#   check DESC COMMAND...     COMMAND must succeed (its output shown on failure)
#   is DESC GOT WANT          GOT and WANT must be equal strings
#   skip_all WHY              "1..0 # SKIP WHY", exit 77 (a missing tool)
#   bail WHY                  a failed check, then stop: exit 1
#   wait_for SECONDS COMMAND... run COMMAND until it succeeds, every
#                             $TAP_POLL seconds (0.05); 1 if it still fails
#                             after SECONDS (a wait on state, not a sleep)
#   finish                    plan and summary line, then the exit status
#
# The counters are TAP_N, TAP_FAILED and TAP_SKIPPED, so that a test may use
# any short variable name of its own.

TAP_N=0
TAP_FAILED=0
TAP_SKIPPED=0
TAP_CHECK_OUT=

ok() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $1"
}

not_ok() { # not_ok DESC [DETAIL...]: each detail line as a "#   " diagnostic
	TAP_N=$((TAP_N + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_N - $1"
	shift
	local l
	for l in "$@"; do printf '%s\n' "$l" | sed 's/^/#   /'; done
}

skip() { # skip DESC WHY
	TAP_N=$((TAP_N + 1))
	TAP_SKIPPED=$((TAP_SKIPPED + 1))
	echo "ok $TAP_N - $1 # SKIP $2"
}

diag() {
	local l
	for l in "$@"; do printf '%s\n' "$l" | sed 's/^/# /'; done
}

check() { # check DESC COMMAND...: COMMAND runs in this shell, output kept for a failure
	local d=$1
	shift
	[ -n "$TAP_CHECK_OUT" ] || TAP_CHECK_OUT=$(mktemp /tmp/tap-check.XXXXXX)
	if "$@" >"$TAP_CHECK_OUT" 2>&1; then
		ok "$d"
	else
		not_ok "$d" "$(head -c 600 "$TAP_CHECK_OUT")"
	fi
}

is() { # is DESC GOT WANT
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "got:  ${2:0:400}" "want: ${3:0:400}"; fi
}

skip_all() { # skip_all WHY
	echo "1..0 # SKIP $1"
	exit 77
}

tap_cleanup_() {
	[ -z "$TAP_CHECK_OUT" ] || rm -f "$TAP_CHECK_OUT"
}

bail() {
	not_ok "$*"
	echo "Bail out! $*"
	echo "# $TAP_N checks, $TAP_FAILED failed, $TAP_SKIPPED skipped"
	tap_cleanup_
	exit 1
}

wait_for() { # wait_for SECONDS COMMAND...
	local us now end
	us=$(awk -v s="$1" 'BEGIN { printf "%d", s * 1000000 }')
	shift
	now=${EPOCHREALTIME/./}
	end=$((now + us))
	while :; do
		"$@" && return 0
		now=${EPOCHREALTIME/./}
		[ "$now" -lt "$end" ] || return 1
		sleep "${TAP_POLL:-0.05}"
	done
}

finish() {
	echo "1..$TAP_N"
	echo "# $TAP_N checks, $TAP_FAILED failed, $TAP_SKIPPED skipped"
	tap_cleanup_
	[ "$TAP_FAILED" -eq 0 ] || exit 1
	[ "$TAP_SKIPPED" -eq 0 ] || exit 77
	exit 0
}
