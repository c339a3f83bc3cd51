# TAP-like helpers shared by the e2e scripts: ok/notok count checks,
# check runs a command as one, bail stops with a failure, finish reports.
# Source it; it sets pass and fail.
pass=0
fail=0
ok() {
	echo "ok - $*"
	pass=$((pass + 1))
}
notok() {
	echo "not ok - $*"
	fail=$((fail + 1))
}
check() { # check DESCRIPTION COMMAND...
	local d=$1
	shift
	if "$@"; then ok "$d"; else notok "$d"; fi
}
bail() {
	notok "$*"
	echo "# bailing out: $pass passed, $fail failed"
	exit 1
}
finish() {
	echo "# $pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit $?
}
