#!/usr/bin/env bash
# A PostgreSQL of a test's own: initdb in a temporary folder, the server
# listening on a Unix socket in that folder only (no TCP, no system
# service), one database "tl"; stopped and removed on exit.
#
#   tests/lib/pg.sh                  print the conninfo, serve until a signal
#   tests/lib/pg.sh CMD [ARG]...     run CMD with TL_STORE=the conninfo
#                                    (tld's store), its exit status
#   . tests/lib/pg.sh; pg_start      in a script: TL_STORE exported,
#                                    pg_stop in the script's EXIT trap
#
# TL_PG_BIN: the server's programs (Debian: /usr/lib/postgresql/15/bin;
# the newest /usr/lib/postgresql/*/bin by default). TL_PG_OPTS: more
# server options ("-c fsync=off" for speed; the default keeps fsync, so
# a commit tld was told of is on the disk).
# Needs Debian's postgresql package (make deps).

pg_bin() {
    if [ -n "${TL_PG_BIN:-}" ]; then
        echo "$TL_PG_BIN"
        return
    fi
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -n "$d" ] && echo "$d"
}

# pg_start: TL_PG_DIR, TL_STORE exported; 0, or 1 with a line on stderr.
pg_start() {
    local bin
    bin=$(pg_bin)
    [ -x "$bin/initdb" ] || {
        echo "pg.sh: no PostgreSQL server programs (apt-get install postgresql)" >&2
        return 1
    }
    TL_PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tl-pg.XXXXXX")
    export TL_PG_DIR
    # initdb refuses to run as root: the server runs as nobody there
    local as=()
    if [ "$(id -u)" = 0 ]; then
        chown nobody "$TL_PG_DIR"
        as=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
    fi
    "${as[@]}" "$bin/initdb" -D "$TL_PG_DIR/data" -A trust -U tl --no-sync -E UTF8 \
        --locale=C.UTF-8 >"$TL_PG_DIR/initdb.log" 2>&1 || {
        echo "pg.sh: initdb failed: $(tail -n 3 "$TL_PG_DIR/initdb.log")" >&2
        return 1
    }
    # shellcheck disable=SC2086
    "${as[@]}" "$bin/pg_ctl" -D "$TL_PG_DIR/data" -l "$TL_PG_DIR/server.log" -w -t 60 \
        -o "-k $TL_PG_DIR -c listen_addresses='' ${TL_PG_OPTS:-}" start >/dev/null || {
        echo "pg.sh: the server did not start: $(tail -n 3 "$TL_PG_DIR/server.log")" >&2
        return 1
    }
    "$bin/createdb" -h "$TL_PG_DIR" -U tl tl || {
        echo "pg.sh: createdb failed" >&2
        return 1
    }
    TL_STORE="host=$TL_PG_DIR user=tl dbname=tl"
    export TL_STORE
}

pg_stop() {
    [ -n "${TL_PG_DIR:-}" ] || return 0
    local bin as=()
    bin=$(pg_bin)
    [ "$(id -u)" = 0 ] && as=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
    [ -f "$TL_PG_DIR/data/postmaster.pid" ] &&
        "${as[@]}" "$bin/pg_ctl" -D "$TL_PG_DIR/data" -m immediate -w stop >/dev/null 2>&1
    rm -rf "$TL_PG_DIR"
    TL_PG_DIR=
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -u
    trap pg_stop EXIT
    trap 'exit 143' TERM INT
    pg_start || exit 2
    if [ $# = 0 ]; then
        echo "$TL_STORE"
        while :; do
            sleep 3600 &
            wait $!
        done
    fi
    "$@"
    exit $?
fi
