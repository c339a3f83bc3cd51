# Kept for tests written against the old e2e helpers: the one TAP helper is
# tests/lib/tap.sh (ok, not_ok, check, is, skip, skip_all, bail, wait_for,
# finish); source that instead. notok is the old spelling of not_ok.
# shellcheck source=tests/lib/tap.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/tap.sh"
notok() { not_ok "$@"; }
