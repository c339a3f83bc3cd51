#!/usr/bin/env bash
# e2e: a guest reaches the platform only through its own agent channel
# (issue 11, "Guest isolation"), shown from inside a real node.
#
# A Secure Boot + vTPM node boots with a probe script (TL_GUEST_PROBE, run
# by the image's init before the agent, its lines on the console). From the
# guest's busybox, over the QEMU user network tld gave it:
#   - tld's admin API at 10.0.2.2:PORT (which any guest reached before):
#     no connection;
#   - another service on the host's loopback (a Python HTTP server here):
#     no connection;
#   - its agent channel 10.0.2.100:80: answers, but not the admin routes
#     (GET /v1/health: 403), nor another node's agent routes (POST
#     /v1/nodes/other/report: 403), nor its own without the token (401);
# while its agent, through that channel, reports, enrols by credential
# activation and attests: verdict pass, both labels. Then the node is
# deleted: its channel's socket is gone.
#
# Environment: TL_BIN, TL_TLD, TL_FIXTURES; TL_E2E_KEEP=1 keeps the work
# folder. Exit 0 pass, 1 fail, 77 skip (no QEMU/swtpm).
set -u
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
: "${TL_BIN:?}" "${TL_TLD:?}" "${TL_FIXTURES:?}"
for t in qemu-system-x86_64 swtpm; do
	command -v "$t" >/dev/null 2>&1 || {
		skip_all "$t not installed"
	}
done
for t in jq python3; do command -v "$t" >/dev/null 2>&1 || bail "$t missing (make deps)"; done

W=$(mktemp -d "${TMPDIR:-/tmp}/tl-e2e-iso.XXXXXX") || bail mktemp
export TL_HOME=$W/home TL_TLD TL_GUEST_PROBE=$W/probe.sh
unset TL_STORE_DIRS
srv=
# shellcheck disable=SC2317
cleanup() {
	[ -n "$srv" ] && kill "$srv" 2>/dev/null
	if [ -r "$TL_HOME/tld.addr" ]; then
		for n in $("$TL_BIN" node list --json 2>/dev/null | jq -r '.nodes[].name'); do
			"$TL_BIN" node delete "$n" >/dev/null 2>&1
		done
		kill "$(awk '{print $2}' "$TL_HOME/tld.addr")" 2>/dev/null
	fi
	if [ "${TL_E2E_KEEP:-0}" = 1 ]; then echo "# kept: $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
tl() { "$TL_BIN" "$@"; }

mkdir -p "$TL_HOME/images"
tl image build -o "$TL_HOME/images/default" --fixtures "$TL_FIXTURES" >"$W/img.log" 2>&1 ||
	bail "image build: $(tail -2 "$W/img.log")"
tl node list >/dev/null || bail "tld did not start"
read -r URL _ <"$TL_HOME/tld.addr"
PORT=${URL##*:}
# another service on the host's loopback
python3 -m http.server --bind 127.0.0.1 0 >"$W/srv.log" 2>&1 &
srv=$!
for _ in $(seq 100); do
	OTHER=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$W/srv.log" | head -1)
	[ -n "$OTHER" ] && break
	sleep 0.1
done
[ -n "$OTHER" ] || bail "the loopback HTTP server did not start"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$OTHER/")
[ "$code" = 200 ] || bail "the loopback HTTP server answers $code on the host"

# The probe: each line "HOST:PORT PATH -> first line of the answer, or nc's error".
cat >"$TL_GUEST_PROBE" <<EOF
req() {
	out=\$(printf '%s %s HTTP/1.0\r\nContent-Length: %s\r\n\r\n%s' "\$3" "\$4" "\${#5}" "\$5" |
		nc -w 5 "\$1" "\$2" 2>&1 | head -n1 | tr -d '\r')
	echo "\$1:\$2 \$3 \$4 -> \${out:-no answer}"
}
req 10.0.2.2 $PORT GET /v1/health ''
req 10.0.2.2 $PORT GET /v1/nodes ''
req 10.0.2.2 $OTHER GET / ''
req 10.0.2.100 80 GET /v1/health ''
req 10.0.2.100 80 POST /v1/nodes/other/report '{}'
req 10.0.2.100 80 POST /v1/nodes/iso/report '{}'
EOF

tl node create iso --json >"$W/create.json" 2>"$W/create.err" || bail "tl node create iso: $(tail -2 "$W/create.err")"
for _ in $(seq 480); do
	v=$(tl node show iso --json | jq -r '.attestation.verdict // empty')
	[ -n "$v" ] && break
	sleep 0.5
done
tl node console iso >"$W/console.txt"
probe=$(tr -d '\r' <"$W/console.txt" | grep '^TL: probe ' | sed 's/^TL: probe //')
echo "$probe" | sed 's/^/# guest: /'
line() { echo "$probe" | grep -F -- "$1" | head -1 | sed 's/.* -> //'; }
reach="nc: can't connect to remote host (10.0.2.2): Connection refused"
is "the guest ran the probe" "$(echo "$probe" | grep -c -- ' -> ')" 6
is "from the guest, tld's admin API (10.0.2.2:$PORT, /v1/health): no connection" \
	"$(line "10.0.2.2:$PORT GET /v1/health")" "$reach"
is "from the guest, tld's admin API (/v1/nodes): no connection" \
	"$(line "10.0.2.2:$PORT GET /v1/nodes")" "$reach"
is "from the guest, another host loopback service (127.0.0.1:$OTHER, 200 on the host): no connection" \
	"$(line "10.0.2.2:$OTHER GET /")" "$reach"
is "its agent channel answers, but not the admin routes: 403" \
	"$(line "10.0.2.100:80 GET /v1/health")" "HTTP/1.1 403 Forbidden"
is "its agent channel refuses another node's agent route: 403" \
	"$(line "10.0.2.100:80 POST /v1/nodes/other/report")" "HTTP/1.1 403 Forbidden"
is "its own agent route without the token: 401" \
	"$(line "10.0.2.100:80 POST /v1/nodes/iso/report")" "HTTP/1.1 401 Unauthorized"
tl node show iso --json >"$W/show.json"
is "through the channel its agent reported, enrolled and attested: running, pass, both labels" \
	"$(jq -c '[.state, .attestation.verdict, .attestation.secure_boot, .labels]' "$W/show.json")" \
	'["running","pass",true,{"kubernetes.azure.com/trusted-launch":"true","kubernetes.azure.com/secure-boot":"true"}]'
is "the agent's URL is the channel's" \
	"$(tr -d '\r' <"$W/console.txt" | grep -m1 '^TL: agent config' | sed 's/.*url=\([^ ]*\).*/\1/')" \
	"http://10.0.2.100:80/v1/nodes/iso/report"
check "the channel is a 0600 socket in the 0700 run folder" \
	test "$(stat -c '%a %F' "$TL_HOME/run/iso.agent") $(stat -c %a "$TL_HOME/run")" = "600 socket 700"
tl node delete iso >/dev/null
check "deleted: the channel's socket is gone" test ! -e "$TL_HOME/run/iso.agent"
finish
