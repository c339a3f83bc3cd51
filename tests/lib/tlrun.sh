# tests/lib/tlrun.sh - running tl in a cli test against a tld of its own
# (aks_cli.sh, vm_cli.sh, output_cli.sh). Source it after tap.sh, once W
# (the test's work folder) is set; TL_HOME is $W/home.
#
#   tl ARGS...            runs $TL_BIN with stdin from /dev/null; sets RC,
#                         OUT (also in $W/out) and ERR (also in $W/err)
#   mistake DESC "LINE" ARGS...  tl ARGS must exit 2 with exactly LINE on
#                         stderr and nothing on stdout
# and an EXIT trap that stops the tld in $W/home and removes $W (KEEP=1
# keeps it).

tlrun_cleanup_() {
    [ -r "$W/home/tld.addr" ] && kill "$(awk '{print $2}' "$W/home/tld.addr")" 2>/dev/null
    [ -n "${KEEP:-}" ] || rm -rf "$W"
}
trap tlrun_cleanup_ EXIT

tl() {
    "$TL_BIN" "$@" </dev/null >"$W/out" 2>"$W/err"
    RC=$?
    OUT=$(cat "$W/out")
    ERR=$(cat "$W/err")
}

mistake() {
    local d=$1 want=$2
    shift 2
    tl "$@"
    if [ "$RC" = 2 ] && [ "$ERR" = "$want" ] && [ -z "$OUT" ]; then
        ok "$d"
    else
        not_ok "$d" "exit $RC" "got:  $ERR" "want: $want"
    fi
}
