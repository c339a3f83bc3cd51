#!/usr/bin/env bash
# deps_graph.sh - the import graph of src/ and lib/ has no circle beyond
# tests/circles.allowed (scripts/deps.py, `make deps-graph`), and the tool
# finds the circles it should:
#  1. on this build: exit 0; it reads libtl, libtlhost, tl, tld and tl-agent;
#     with no allow-list the circles it reports are exactly the allowed ones
#     (so none in lib/, src/host or src/tl), and no allowed entry is stale;
#  2. a made-up program: a.c <-> b.c through their symbols, c.c used by a.c
#     only: exit 1, "circle of 2 (NEW): src/x/a.c src/x/b.c" with the symbols
#     on each edge, c.c outside it; allowed by a list naming it: exit 0; a
#     static function ties nothing;
#  3. no build there: exit 2 with one "deps: " line.
# Needs: TL_BUILD_ROOT (tests/meson.build); python3, nm, cc.
set -u
: "${TL_BUILD_ROOT:?TL_BUILD_ROOT must name the meson build folder}"
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
for tool in python3 nm cc; do
	command -v "$tool" >/dev/null || skip_all "$tool not found"
done
SRC=$(cd "$(dirname "$0")/../.." && pwd)
DEPS=$SRC/scripts/deps.py
ALLOWED=$SRC/tests/circles.allowed
W=$(mktemp -d "${TMPDIR:-/tmp}/tl-deps.XXXXXX")
trap 'rm -rf "$W"' EXIT

# 1. this tree
python3 "$DEPS" --build "$TL_BUILD_ROOT" --allowed "$ALLOWED" >"$W/out" 2>"$W/err"
is "exit 0 with tests/circles.allowed" "$?" 0
is "no NEW circle" "$(grep -c 'NEW' "$W/out")" 0
is "no stale allow-list entry" "$(grep -c '^stale' "$W/out")" 0
for unit in libtl.a src/host/libtlhost.a src/tl/tl src/tld/tld src/agent/tl-agent; do
	check "reads $unit" grep -Eq "^$unit: [0-9]+ files, [0-9]+ edges\$" "$W/out"
done
python3 "$DEPS" --build "$TL_BUILD_ROOT" --quiet >"$W/all" 2>"$W/err"
rc=$?
want=$(sed 's/#.*//; /^[[:space:]]*$/d' "$ALLOWED" | sort)
got=$(sed -n 's/^  circle of [0-9]* (NEW): //p' "$W/all" | sort)
is "the circles are exactly the allowed ones" "$got" "$want"
is "no circle in lib/, src/host or src/tl" "$(grep -Ec '^  circle .*(lib/|src/host/|src/tl/)' "$W/all")" 0
n=$(printf '%s' "$want" | grep -c .)
if [ "$n" -gt 0 ]; then
	is "without an allow-list: exit 1" "$rc" 1
	is "its one error line" "$(cat "$W/err")" "deps: $n circle(s) not in an allow-list"
else
	is "without an allow-list: exit 0" "$rc" 0
	is "no error line" "$(cat "$W/err")" ""
fi

# 2. a made-up program
mkdir -p "$W/p/src/x" "$W/p/build/x.p"
cat >"$W/p/src/x/a.c" <<'C'
int b_f(void);
int c_f(void);
int a_f(void);
int a_f(void) { return b_f() + c_f(); }
C
cat >"$W/p/src/x/b.c" <<'C'
int a_f(void);
static int b_g(void) { return 1; }
int b_f(void);
int b_f(void) { return a_f() + b_g(); }
C
cat >"$W/p/src/x/c.c" <<'C'
int c_f(void);
int c_f(void) { return 3; }
C
entries=
for f in a b c; do
	cc -c -o "$W/p/build/x.p/$f.c.o" "$W/p/src/x/$f.c" || bail "cc $f.c"
	entries="$entries${entries:+,}{\"directory\": \"$W/p/build\", \"file\": \"../src/x/$f.c\", \"output\": \"x.p/$f.c.o\"}"
done
echo "[$entries]" >"$W/p/build/compile_commands.json"
python3 "$DEPS" --build "$W/p/build" --source-root "$W/p" --symbols >"$W/out" 2>"$W/err"
is "a circle: exit 1" "$?" 1
is "the unit" "$(head -1 "$W/out")" "x: 3 files, 3 edges"
check "edge a -> c with its symbol" grep -qx '  src/x/a.c -> src/x/c.c: c_f' "$W/out"
is "the circle, c.c outside it" "$(grep '^  circle' "$W/out")" "  circle of 2 (NEW): src/x/a.c src/x/b.c"
is "the symbols that tie it" "$(grep '^    ' "$W/out")" "    src/x/a.c -> src/x/b.c: b_f
    src/x/b.c -> src/x/a.c: a_f"
check "a static function ties nothing" sh -c "! grep -q b_g '$W/out'"
echo "src/x/b.c src/x/a.c # in any order" >"$W/allowed"
python3 "$DEPS" --build "$W/p/build" --source-root "$W/p" --allowed "$W/allowed" --quiet >"$W/out" 2>&1
is "allowed: exit 0" "$?" 0
check "marked allowed" grep -qx '  circle of 2 (allowed): src/x/a.c src/x/b.c' "$W/out"
echo "src/x/a.c src/x/c.c" >"$W/allowed"
python3 "$DEPS" --build "$W/p/build" --source-root "$W/p" --allowed "$W/allowed" --quiet >"$W/out" 2>&1
is "another circle allowed: still exit 1" "$?" 1
check "the other is stale" grep -qx 'stale allow-list entry (no longer a circle): src/x/a.c src/x/c.c' "$W/out"

# 3. no build
python3 "$DEPS" --build "$W/none" >"$W/out" 2>"$W/err"
is "no build: exit 2" "$?" 2
is "one deps: line" "$(grep -c '^deps: ' "$W/err")/$(wc -l <"$W/err")" "1/1"
finish
