#!/usr/bin/env bash
# Integrity alerts reach a webhook: tld (TL_ALERT_WEBHOOK) POSTs a new alert
# as JSON and retries while the receiver answers 5xx.
#
# An external node attested by tl-agent on the host against a swtpm on the
# node's vTPM whose PCRs do NOT hold the OVMF log the agent sends: the log
# does not replay to the quoted PCRs, the verdict is fail, an alert names
# the event log. The receiver (python, here) answers 500 to the first POST
# and 200 to the next.
# Needs TL_BIN, TL_TLD, TL_AGENT, TL_VECTORS; swtpm, jq, python3.
set -u
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
: "${TL_BIN:?}" "${TL_TLD:?}" "${TL_AGENT:?}" "${TL_VECTORS:?}"
for t in swtpm swtpm_ioctl jq python3; do
	command -v "$t" >/dev/null || {
		skip_all "$t missing"
	}
done
W=$(mktemp -d "${TMPDIR:-/tmp}/tl-webhook.XXXXXX")
export TL_HOME=$W/home TL_TLD
LOG=$TL_VECTORS/eventlog/ovmf-debian12/secureboot-on.eventlog.bin
SW=
RX=
# shellcheck disable=SC2317
cleanup() {
	[ -n "$SW" ] && { swtpm_ioctl --unix "$W/sw.ctrl" -s >/dev/null 2>&1 || kill "$SW" 2>/dev/null; }
	[ -r "$TL_HOME/tld.addr" ] && kill "$(awk '{print $2}' "$TL_HOME/tld.addr")" 2>/dev/null
	[ -n "$RX" ] && kill "$RX" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT

cat >"$W/rx.py" <<'EOF'
import http.server, json, sys
out = sys.argv[1]
n = 0
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global n
        n += 1
        body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        with open(f'{out}/post{n}.json', 'wb') as f:
            f.write(body)
        self.send_response(500 if n == 1 else 200)
        self.end_headers()
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(('127.0.0.1', 0), H)
open(f'{out}/port', 'w').write(str(s.server_port))
s.serve_forever()
EOF
python3 "$W/rx.py" "$W" &
RX=$!
wait_for 10 test -s "$W/port"
export TL_ALERT_WEBHOOK="http://127.0.0.1:$(cat "$W/port")/alerts"

"$TL_BIN" node create w1 --external --json >/dev/null 2>"$W/err" || bail "create: $(cat "$W/err")"
swtpm socket --tpm2 --tpmstate dir="$TL_HOME/nodes/w1/vtpm" --ctrl type=unixio,path="$W/sw.ctrl" \
	--server type=unixio,path="$W/sw" --flags not-need-init,startup-clear \
	--key file="$TL_HOME/keys/w1.vtpm.key",mode=aes-256-cbc,format=binary --log file="$W/swtpm.log" &
SW=$!
wait_for 10 test -S "$W/sw"
mkdir -p "$W/efivars"
"$TL_AGENT" --config "$TL_HOME/nodes/w1/agent.json" --tcti "swtpm:path=$W/sw" --eventlog "$LOG" \
	--efivars "$W/efivars" --once >"$W/agent.log" 2>&1
check "the agent was attested with verdict fail (its log does not replay to its PCRs)" \
	grep -q 'attested verdict=fail' "$W/agent.log"
wait_for 20 test -s "$W/post2.json"
check "the webhook got the alert again after answering 500 (two POSTs, the same alert)" \
	sh -c "[ -s '$W/post1.json' ] && [ -s '$W/post2.json' ] && cmp -s '$W/post1.json' '$W/post2.json'"
check "the alert names the node and the failed component, with the finding's PCR" \
	test "$(jq -c '[.type, .node, .components, (.findings[0] | .component, (.pcr | type))]' "$W/post2.json")" = \
	'["integrity-alert","w1",["event log"],"event log","number"]'
check "the alert is the one in the store" \
	test "$(jq -r .id "$W/post2.json")" = "$("$TL_BIN" alert list --node w1 --json | jq -r '.alerts[0].id')"
"$TL_BIN" alert ack "$(jq -r .id "$W/post2.json")" --json >"$W/ack.json"
check "tl alert ack: acknowledged, gone from the open list" \
	sh -c "[ \"\$(jq -r .acknowledged '$W/ack.json')\" = true ] && [ \"\$('$TL_BIN' alert list --node w1 --json | jq '.alerts | length')\" = 0 ] && [ \"\$('$TL_BIN' alert list --node w1 --all --json | jq '.alerts | length')\" = 1 ]"
finish
