#!/usr/bin/env bash
# A node operation's I/O runs without tld's global lock (issue 11: "no file
# or process I/O while tld's global lock is held"): a real tld whose vTPM
# provisioning (tlh_vtpm_provision, called by tld for every create) is held at
# a gate for node "slow" only. While slow's create waits there:
#   - health answers at once, and so do a list and slow's own record
#     (state creating, operation creating, no process ids);
#   - a second create of the name is 409 (the name is reserved), and a
#     delete or a start of slow is 409 naming the operation;
#   - another node is created, started and listed: nothing waits on slow.
# The gate opened, slow's create answers 201 with its EKs, and slow is an
# ordinary node again (booting, no operation), deleted like any other.
# Needs: TL_BIN, TL_TLD; swtpm, python3, jq, curl. KEEP=1 keeps the work folder.
set -u
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
: "${TL_BIN:?}" "${TL_TLD:?}"
command -v swtpm >/dev/null 2>&1 || skip_all "swtpm not installed (apt-get install swtpm)"
for t in jq curl; do command -v "$t" >/dev/null 2>&1 || bail "$t missing (make deps)"; done

W=$(mktemp -d /tmp/tl-unlocked.XXXXXX) || bail mktemp
export TL_HOME=$W/home TL_TLD
unset TL_STORE_DIRS TL_TOKEN
REAL_TL=$TL_BIN
# shellcheck disable=SC2317
cleanup() {
    touch "$W/gate"
    [ -r "$TL_HOME/tld.addr" ] && kill -TERM "$(awk '{print $2}' "$TL_HOME/tld.addr")" 2>/dev/null
    wait 2>/dev/null
    if [ -n "${KEEP:-}" ]; then echo "# kept: $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE

# swtpm for tld (TL_SWTPM in tld's environment; tld provisions through the
# host library, tlhost/vtpm.h): node slow's provisioning waits at the gate
# (600 s at most: the checks below run meanwhile, slowly on a loaded
# machine). swtpm itself starts at once (its control channel answers: the
# start does not time out); its TPM socket is a relay that passes nothing
# on until the gate opens. Every other node gets swtpm as it is.
REAL_SWTPM=$(command -v "${TL_SWTPM:-swtpm}") || bail "no swtpm"
cat >"$W/swtpm-gated" <<EOF
#!/usr/bin/env bash
case " \$* " in
*"/nodes/slow/"*) exec python3 -S "$W/swtpm-relay" "\$@" ;; # -S: it starts within swtpm's 5 s
esac
exec "$REAL_SWTPM" "\$@"
EOF
cat >"$W/swtpm-relay" <<EOF
import os, socket, subprocess, sys, threading, time
args = sys.argv[1:]
i = args.index("--server") + 1
sock = [kv[5:] for kv in args[i].split(",") if kv.startswith("path=")][0]
args[i] = args[i].replace("path=" + sock, "path=" + sock + ".real")
key = [kv[3:] for kv in args[args.index("--key") + 1].split(",") if kv.startswith("fd=")]
child = subprocess.Popen(["$REAL_SWTPM"] + args, pass_fds=[int(k) for k in key])
listener = socket.socket(socket.AF_UNIX)
listener.bind(sock)
listener.listen(8)
open("$W/entered", "w").close()
def pump(a, b):
    while True:
        d = a.recv(65536)
        if not d:
            break
        b.sendall(d)
    b.shutdown(socket.SHUT_WR)
def relay(c):
    for _ in range(12000):
        if os.path.exists("$W/gate"):
            break
        time.sleep(0.05)
    r = socket.socket(socket.AF_UNIX)
    r.connect(sock + ".real")
    threading.Thread(target=pump, args=(r, c), daemon=True).start()
    try:
        pump(c, r)
    except OSError:
        pass
def serve():
    while True:
        c, _ = listener.accept()
        threading.Thread(target=relay, args=(c,), daemon=True).start()
threading.Thread(target=serve, daemon=True).start()
os._exit(child.wait())
EOF
chmod +x "$W/swtpm-gated"

# the first node starts tld, with the gated swtpm as its TL_SWTPM
TL_SWTPM=$W/swtpm-gated "$REAL_TL" node create first --external --json >"$W/first.json" 2>"$W/first.err" ||
    bail "tl node create first: $(head -c 300 "$W/first.err")"
read -r URL tld_pid <"$TL_HOME/tld.addr" || bail "no tld.addr"
OP=$(cat "$TL_HOME/operator.token")

# code METHOD PATH [BODY]: the HTTP status as the operator (the body in $W/resp)
code() {
    curl -s -m 5 -o "$W/resp" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $OP" \
        -H 'Content-Type: application/json' ${3:+--data-binary "$3"} "$URL$2"
}

curl -s -m 900 -o "$W/slow.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $OP" \
    -H 'Content-Type: application/json' --data-binary '{"name": "slow", "external": true}' \
    "$URL/v1/nodes" >"$W/slow.code" &
create_pid=$!
wait_for 60 test -e "$W/entered" || bail "slow's provisioning never reached the gate"

is "health answers while slow's create waits in its I/O" "$(code GET /v1/health)" 200
is "slow's record meanwhile: creating, its operation named, no process ids" \
    "$(code GET /v1/nodes/slow) $(jq -c '[.state, .operation, .pids.qemu, .pids.swtpm]' "$W/resp")" \
    '200 ["creating","creating",null,null]'
is "the list answers too, slow in it" \
    "$(code GET /v1/nodes) $(jq -c '[.nodes[].name] | sort' "$W/resp")" '200 ["first","slow"]'
is "a second create of the name: 409, the name is reserved" \
    "$(code POST /v1/nodes '{"name": "slow", "external": true}') $(jq -r .error "$W/resp")" \
    "409 node slow exists already"
is "a delete of slow meanwhile: 409 naming the operation" \
    "$(code DELETE /v1/nodes/slow) $(jq -r .error "$W/resp")" \
    "409 node slow is busy (creating); try again when it is done"
is "a start of slow meanwhile: 409" "$(code POST /v1/nodes/slow/start '{}')" 409
"$REAL_TL" node create other --external --json >"$W/other.json" 2>"$W/other.err"
is "another node is created and started meanwhile" \
    "$? $(jq -c '[.name, .state, (.ek | length > 0)]' "$W/other.json")" '0 ["other","booting",true]'
is "slow is still waiting at the gate (the create has not answered)" \
    "$(kill -0 "$create_pid" 2>/dev/null && echo waiting)" waiting

touch "$W/gate"
wait "$create_pid"
is "the gate opened: slow's create answers 201 with its EKs" \
    "$(cat "$W/slow.code") $(jq -c '[.name, .state, (.ek | length > 0), has("operation")]' "$W/slow.json")" \
    '201 ["slow","booting",true,false]'
is "slow is an ordinary node again" \
    "$(code GET /v1/nodes/slow) $(jq -c '[.state, has("operation")]' "$W/resp")" \
    '200 ["booting",false]'
is "and is deleted like any other" "$(code DELETE /v1/nodes/slow)" 200
is "its files are gone" "$(test -e "$TL_HOME/nodes/slow" && echo left || echo gone)" gone
is "the same tld served it all" "$(awk '{print $2}' "$TL_HOME/tld.addr")" "$tld_pid"
finish
