# A cli test's own tld home, cleaned up however the test ends: sourced
# after the test set W (its temporary folder, TL_HOME under it). Processes
# the test starts in the background go into pids; at exit they and the
# home's tld (tld.addr names its pid) get SIGTERM, and W is removed
# unless KEEP is set ("# kept: W" is printed instead).
# shellcheck shell=bash
pids=()
# shellcheck disable=SC2317
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    [ -r "$TL_HOME/tld.addr" ] && kill -TERM "$(awk '{print $2}' "$TL_HOME/tld.addr")" 2>/dev/null
    wait 2>/dev/null
    if [ -n "${KEEP:-}" ]; then echo "# kept: $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE
