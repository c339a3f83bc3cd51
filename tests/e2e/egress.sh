#!/usr/bin/env bash
# e2e: workload egress is a pool setting, off by default, and never a way
# to the host (issue 11, "Outbound network for workloads becomes an
# explicit pool setting, off by default"; src/tld/egress.c).
#
# A listener on the host's own non-loopback address (hostname -I) records
# the bytes each connection sends and answers "hello-from-host". Two nodes
# boot with the same probe script (TL_GUEST_PROBE, run by the image's init,
# its lines on the console):
#   - the cluster's default pool (no egress): the listener directly, and the
#     egress proxy's address 10.0.2.101:3128: no route;
#   - a pool added with --enable-workload-egress and the host's address as
#     its one allowed entry (ADDRESS/32): the listener directly still no
#     connection (restrict=on stays); through the proxy (CONNECT) the
#     listener gets exactly the guest's bytes and the guest its answer;
#     the proxy refuses, each with its reason: tld's admin API at
#     127.0.0.1:PORT, localhost, [::ffff:127.0.0.1], [::1], the slirp host
#     alias 10.0.2.2 (a private range not listed), 169.254.169.254 (link
#     local), and another address of this host when it has one; tld.log
#     names the node for each refusal. Then the pool's egress is switched
#     off: its node is reimaged without it.
# Also refused (exit 2, the reason): an allow-list entry that is not a CIDR,
# egress on an external node.
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

W=$(mktemp -d "${TMPDIR:-/tmp}/tl-e2e-egress.XXXXXX") || bail mktemp
export TL_HOME=$W/home TL_TLD TL_GUEST_PROBE=$W/probe.sh
unset TL_STORE_DIRS
lis=
# shellcheck disable=SC2317
cleanup() {
	[ -n "$lis" ] && kill "$lis" 2>/dev/null
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

HOSTIP=
HOST2=
for a in $(hostname -I); do
	case $a in
	127.* | *:*) ;;
	*) [ -z "$HOSTIP" ] && HOSTIP=$a ;;
	esac
done
for a in $(hostname -I); do
	[ "$a" != "$HOSTIP" ] && case $a in 127.* | ::1 | fe80:*) ;; *) [ -z "$HOST2" ] && HOST2=$a ;; esac
done
[ -n "$HOSTIP" ] || bail "no non-loopback IPv4 address on this host (hostname -I)"

# The listener: one line per connection in $W/got ("<bytes received>"),
# answers "hello-from-host".
cat >"$W/listen.py" <<'EOF'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 0))
s.listen(16)
print(s.getsockname()[1], flush=True)
while True:
    c, _ = s.accept()
    c.settimeout(5)
    data = b""
    try:
        while not data.endswith(b"\n"):
            k = c.recv(4096)
            if not k:
                break
            data += k
    except OSError:
        pass
    with open(sys.argv[2], "a") as f:
        f.write(data.decode(errors="replace").rstrip("\n") + "\n")
    try:
        c.sendall(b"hello-from-host\n")
    except OSError:
        pass
    c.close()
EOF
: >"$W/got"
python3 "$W/listen.py" "$HOSTIP" "$W/got" >"$W/listen.port" 2>"$W/listen.err" &
lis=$!
for _ in $(seq 50); do
	LPORT=$(head -1 "$W/listen.port")
	[ -n "$LPORT" ] && break
	sleep 0.1
done
[ -n "$LPORT" ] || bail "the listener did not start: $(cat "$W/listen.err")"
printf 'from-the-host\n' | timeout 5 nc -q1 "$HOSTIP" "$LPORT" >/dev/null 2>&1 ||
	python3 -c "import socket,sys; c=socket.create_connection((sys.argv[1],int(sys.argv[2]))); c.sendall(b'from-the-host\n'); c.recv(64)" "$HOSTIP" "$LPORT"
is "the listener at $HOSTIP:$LPORT works from the host" "$(cat "$W/got")" "from-the-host"
: >"$W/got"

mkdir -p "$TL_HOME/images"
tl image build -o "$TL_HOME/images/default" --fixtures "$TL_FIXTURES" >"$W/img.log" 2>&1 ||
	bail "image build: $(tail -2 "$W/img.log")"
tl node list >/dev/null || bail "tld did not start"
read -r URL _ <"$TL_HOME/tld.addr"
PORT=${URL##*:}

# The probe: each line "LABEL -> the answer's lines joined by |, or nc's error".
v6host=
[ -n "$HOST2" ] && case $HOST2 in *:*) v6host="[$HOST2]" ;; *) v6host=$HOST2 ;; esac
cat >"$TL_GUEST_PROBE" <<EOF
send() { # LABEL HOST PORT DATA
	out=\$(printf "\$4" | nc -w 5 "\$2" "\$3" 2>&1 | tr -d '\r' | grep -v -e '^Content-' -e '^Connection:' -e '^\$' | tr '\n' '|')
	echo "\$1 -> \${out:-no answer}"
}
via() { # LABEL TARGET: a CONNECT through the egress proxy
	send "\$1" 10.0.2.101 3128 "CONNECT \$2 HTTP/1.1\r\nHost: \$2\r\n\r\n"
}
send direct $HOSTIP $LPORT 'direct-from-guest\n'
send proxy 10.0.2.101 3128 'CONNECT $HOSTIP:$LPORT HTTP/1.1\r\nHost: $HOSTIP:$LPORT\r\n\r\nvia-proxy-from-guest\n'
via admin 127.0.0.1:$PORT
via localhost localhost:$PORT
via mapped '[::ffff:127.0.0.1]:$PORT'
via v6loop '[::1]:$PORT'
via slirphost 10.0.2.2:$PORT
via metadata 169.254.169.254:80
${v6host:+via host2 '$v6host:$LPORT'}
send notconnect 10.0.2.101 3128 'GET http://$HOSTIP:$LPORT/ HTTP/1.1\r\n\r\n'
EOF

G=(--resource-group egressRG)
tl group create --name egressRG --location local >/dev/null || bail "group create"
tl aks create --name egressAKS "${G[@]}" --node-count 1 --generate-ssh-keys \
	>"$W/create.json" 2>"$W/create.err" || bail "aks create: $(tail -1 "$W/create.err")"
P=(--resource-group egressRG --cluster-name egressAKS)
out=$(tl aks nodepool add "${P[@]}" --name bad --node-count 1 --enable-workload-egress \
	--workload-egress-allowed-cidrs "$HOSTIP/32,10.0.0.0/33" 2>&1)
is "an allow list entry that is not a CIDR: refused naming it, exit 2" "$? $out" \
	"2 tl: \"workloadEgressAllowedCidrs\"[1]: not an IPv4 or IPv6 CIDR (\"10.1.0.0/16\", \"192.0.2.7/32\")"
out=$(tl node create ext --external --egress on 2>&1)
is "egress on an external node: refused, exit 2" "$? $out" \
	"2 tl: node create: an external node takes no image, variable store, Secure Boot, egress, guest state or data disk, and has a persisted vTPM"
tl aks nodepool add "${P[@]}" --name egress --node-count 1 --enable-workload-egress \
	--workload-egress-allowed-cidrs "$HOSTIP/32" >"$W/add.json" 2>"$W/add.err" ||
	bail "nodepool add: $(tail -1 "$W/add.err")"
pool() { tl node list --json | jq -r --arg p "$1" '.nodes[] | select(.pool.name == $p) | .name'; }
N0=$(pool nodepool1)
N1=$(pool egress)
[ -n "$N0" ] && [ -n "$N1" ] || bail "the pools' nodes: '$N0' '$N1'"
tl aks nodepool show "${P[@]}" --name egress >"$W/pool.json"
is "the pool shows its egress setting" \
	"$(jq -c '[.enableWorkloadEgress, .workloadEgressAllowedCidrs]' "$W/pool.json")" \
	"[true,[\"$HOSTIP/32\"]]"
is "the default pool has none (off by default)" \
	"$(tl aks nodepool show "${P[@]}" --name nodepool1 | jq -c '[.enableWorkloadEgress, .workloadEgressAllowedCidrs]')" \
	'[false,[]]'
is "each node's spec carries its pool's setting" \
	"$(tl node list --json | jq -c '[.nodes[] | [.pool.name, .egress, .egress_allow]] | sort')" \
	"[[\"egress\",true,[\"$HOSTIP/32\"]],[\"nodepool1\",false,[]]]"

probe_of() { # NODE: its probe lines, once the probe has ended
	for _ in $(seq 240); do
		tl node console "$1" 2>/dev/null | tr -d '\r' | grep -q '^TL: probe end' && break
		sleep 0.5
	done
	tl node console "$1" | tr -d '\r' | grep '^TL: probe ' | sed 's/^TL: probe //'
}
line() { echo "$1" | grep -F -- "$2 -> " | head -1 | sed 's/^[^ ]* -> //'; }

p0=$(probe_of "$N0")
echo "$p0" | sed 's/^/# no egress: /'
is "no egress: the probe ran" "$(echo "$p0" | grep -c ' -> ')" "$(grep -c '^\(send\|via\) ' "$TL_GUEST_PROBE")"
is "no egress: the listener directly: no route out" "$(line "$p0" direct)" \
	"nc: can't connect to remote host ($HOSTIP): Network is unreachable|"
is "no egress: no proxy at 10.0.2.101:3128" "$(line "$p0" proxy)" \
	"nc: can't connect to remote host (10.0.2.101): No route to host|"
is "no egress: every CONNECT went nowhere" \
	"$(echo "$p0" | grep -c "can't connect to remote host (10.0.2.101): No route to host")" \
	"$(echo "$p0" | grep -c -e '^proxy ' -e '^admin ' -e '^localhost ' -e '^mapped ' -e '^v6loop ' -e '^slirphost ' -e '^metadata ' -e '^host2 ' -e '^notconnect ')"

p1=$(probe_of "$N1")
echo "$p1" | sed 's/^/# egress: /'
is "egress: the probe ran" "$(echo "$p1" | grep -c ' -> ')" "$(grep -c '^\(send\|via\) ' "$TL_GUEST_PROBE")"
is "egress: the listener directly: still no connection (only the proxy leads out)" \
	"$(line "$p1" direct)" "nc: can't connect to remote host ($HOSTIP): Network is unreachable|"
is "egress: through the proxy the guest gets the listener's answer" "$(line "$p1" proxy)" \
	"HTTP/1.1 200 Connection established|hello-from-host|"
is "the listener received one connection from the guests, the egress node's proxied bytes (nothing directly from either node)" \
	"$(cat "$W/got")" "via-proxy-from-guest"
refused() { echo "HTTP/1.1 403 Forbidden|egress refused: $1: $2|"; }
is "egress: tld's admin API (127.0.0.1:$PORT) refused: loopback" "$(line "$p1" admin)" \
	"$(refused "127.0.0.1:$PORT" "127.0.0.1 is a loopback address")"
is "egress: localhost refused: loopback" "$(line "$p1" localhost)" \
	"$(refused "localhost:$PORT" "127.0.0.1 is a loopback address")"
is "egress: IPv4 loopback inside IPv6 refused" "$(line "$p1" mapped)" \
	"$(refused "::ffff:127.0.0.1:$PORT" "::ffff:127.0.0.1 is a loopback address")"
is "egress: IPv6 loopback refused" "$(line "$p1" v6loop)" \
	"$(refused "::1:$PORT" "::1 is a loopback address")"
is "egress: the slirp host alias 10.0.2.2 refused: private, not listed" "$(line "$p1" slirphost)" \
	"$(refused "10.0.2.2:$PORT" "10.0.2.2 is a private address not in the pool's allowed ranges")"
is "egress: cloud metadata (169.254.169.254) refused: link-local" "$(line "$p1" metadata)" \
	"$(refused "169.254.169.254:80" "169.254.169.254 is a link-local address")"
if [ -n "$v6host" ]; then
	is "egress: another address of this host ($HOST2) refused: not named in the list" \
		"$(line "$p1" host2)" \
		"$(refused "$HOST2:$LPORT" "$HOST2 is an address of this host (allow it only as ADDRESS/32 in the pool's list)")"
fi
is "egress: only CONNECT is served" "$(line "$p1" notconnect)" \
	"HTTP/1.1 405 Method Not Allowed|egress: only CONNECT host:port HTTP/1.1 is served here|"
is "egress: the listener received nothing more" "$(cat "$W/got")" "via-proxy-from-guest"
is "tld.log names the node for each refusal" \
	"$(grep -c "node $N1: egress to .* refused: " "$TL_HOME/tld.log")" \
	"$(echo "$p1" | grep -c 'egress refused')"
check "tld.log: the admin API's refusal with its reason" \
	grep -qF "node $N1: egress to 127.0.0.1:$PORT refused: 127.0.0.1 is a loopback address" "$TL_HOME/tld.log"
check "the egress channel is a 0600 socket; the default pool's node has none" \
	test "$(stat -c '%a %F' "$TL_HOME/run/$N1.egress") $(test -e "$TL_HOME/run/$N0.egress" && echo yes || echo no)" = "600 socket no"
# switching egress off reimages the pool's node: its spec and its channel follow
tl aks nodepool update "${P[@]}" --name egress --disable-workload-egress >"$W/upd.json" 2>"$W/upd.err" ||
	bail "nodepool update: $(tail -1 "$W/upd.err")"
is "after --disable-workload-egress: the pool and its node have no egress, the node was reimaged" \
	"$(jq -c '[.enableWorkloadEgress, .provisioningState]' "$W/upd.json") $(tl node show "$N1" --json | jq -c '[.egress, .boots, .state]')" \
	'[false,"Succeeded"] [false,2,"running"]'
check "... and its egress channel is gone" test ! -e "$TL_HOME/run/$N1.egress"
finish
