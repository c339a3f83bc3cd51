#!/usr/bin/env bash
# Tokens a relying party can trust, and evidence that is never lost (issue
# 11, items 5-7): a real tld, external nodes with real swtpm vTPMs, the real
# tl-agent, a webhook receiver.
#
#  1. a1's agent attests with a relying party's nonce and audience: pass;
#     the token's signature verifies with the published JWKS (openssl, not
#     our code) and its claims are aud, rp_nonce, node_uuid, attestation and
#     jti, ek_origin platform-vtpm, security_type, pool null.
#  2. Token status (relying-party role): active; superseded by a later
#     pass; revoked by a later failure.
#  3. The failure keeps its evidence (quote, signature, PCRs, event log);
#     its alert goes to the webhook; acknowledged, then a different failure
#     of the same boot reopens it: findings added, none lost, both
#     attestations listed, the webhook told again.
#  4. A new AK on a TPM whose state was rolled back (an older copy of the
#     vTPM): the TPM's counters went back: fail, finding "tpm clock".
#  5. a1 deleted and created again: no attestation, alert or baseline
#     inherited; the old records are still there.
#  6. An EK an operator vouches for (POST /v1/nodes ek_public, a key of a
#     TPM tld did not provision): certified by the vouched CA, never the
#     platform vTPM CA; node JSON, verdict and token say operator-vouched.
# Needs: TL_BIN, TL_TLD, TL_AGENT, TL_VECTORS; swtpm, tpm2-tools, jq, curl,
# openssl, python3. KEEP=1 keeps the work folder.
set -u
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
: "${TL_BIN:?}" "${TL_TLD:?}" "${TL_AGENT:?}" "${TL_VECTORS:?}"
for t in swtpm tpm2_pcrextend tpm2_createek tpm2_nvdefine tpm2_nvwrite; do
    command -v "$t" >/dev/null 2>&1 || {
        skip_all "$t not installed (apt-get install swtpm tpm2-tools)"
    }
done
for t in jq curl openssl python3; do command -v "$t" >/dev/null 2>&1 || bail "$t missing (make deps)"; done
LOG=$TL_VECTORS/eventlog/ovmf-debian12/secureboot-on.eventlog.bin
LOG_B=$TL_VECTORS/eventlog/tpm2-tools/event-arch-linux.bin
LOG_C=$TL_VECTORS/eventlog/tpm2-tools/event-sd-boot-fedora37.bin
for f in "$LOG" "$LOG_B" "$LOG_C"; do [ -r "$f" ] || bail "$f missing"; done

W=$(mktemp -d /tmp/tl-tokens.XXXXXX) || bail mktemp
export TL_HOME=$W/home TL_TLD
unset TL_STORE_DIRS TL_TOKEN TL_TOKEN_AUDIENCE
# shellcheck source=tests/lib/tldhome.sh
. "$(dirname "$0")/../lib/tldhome.sh"
tl() { "$TL_BIN" "$@"; }

# the webhook: every POST kept as post<N>.json
cat >"$W/rx.py" <<'EOF'
import http.server, sys
out, n = sys.argv[1], 0
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global n
        n += 1
        body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        open(f'{out}/post{n}.json', 'wb').write(body)
        self.send_response(200)
        self.end_headers()
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(('127.0.0.1', 0), H)
open(f'{out}/port', 'w').write(str(s.server_port))
s.serve_forever()
EOF
python3 "$W/rx.py" "$W" &
pids+=($!)
for _ in $(seq 50); do [ -s "$W/port" ] && break; sleep 0.1; done
export TL_ALERT_WEBHOOK="http://127.0.0.1:$(cat "$W/port")/alerts"
posts() { ls "$W"/post*.json 2>/dev/null | wc -l; }

tl node create a1 --external --json >"$W/a1.json" 2>"$W/err" || bail "create a1: $(cat "$W/err")"
read -r URL _ <"$TL_HOME/tld.addr"
RP=$(tl token create rp --role relying-party --json | jq -r .token)
status() { curl -s -H "Authorization: Bearer $RP" "$URL/v1/attestations/$1/status" | jq -r '[.status, .reason] | join(": ")'; }

swtpm_start() { # swtpm_start NODE: its vTPM on W/NODE/S
    mkdir -p "$W/$1"
    swtpm socket --tpm2 --tpmstate "dir=$TL_HOME/nodes/$1/vtpm" --ctrl "type=unixio,path=$W/$1/S.ctrl" \
        --server "type=unixio,path=$W/$1/S" --flags not-need-init,startup-clear \
        --key "file=$TL_HOME/keys/$1.vtpm.key,mode=aes-256-cbc,format=binary" \
        --log "file=$W/$1/swtpm.log" >/dev/null 2>&1 &
    SW=$!
    pids+=("$SW")
    for _ in $(seq 250); do [ -S "$W/$1/S" ] && return 0; sleep 0.02; done
    bail "swtpm for $1 did not start"
}
swtpm_stop() { kill -TERM "$SW" 2>/dev/null; wait "$SW" 2>/dev/null; }
mkdir -p "$W/efivars"
printf '\006\000\000\000\001' >"$W/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"
agent() { # agent NODE LOG [ARGS...]: tl-agent --once; its last line
    local n=$1 log=$2
    shift 2
    "$TL_AGENT" --config "$TL_HOME/nodes/$n/agent.json" --tcti "swtpm:path=$W/$n/S" --eventlog "$log" \
        --efivars "$W/efivars" --once "$@" >"$W/agent.out" 2>"$W/agent.err"
    tail -n1 "$W/agent.out"
}

swtpm_start a1
tl eventlog show "$LOG" --json | jq -r '.events[] | select(.type != "EV_NO_ACTION") |
    "\(.pcr):" + ([.digests | to_entries[] | "\(.key)=\(.value)"] | join(","))' >"$W/extend.txt"
# shellcheck disable=SC2046
TPM2TOOLS_TCTI="swtpm:path=$W/a1/S" tpm2_pcrextend $(cat "$W/extend.txt") || bail "tpm2_pcrextend"

# ---- 1. a token with the relying party's nonce and audience ------------------------------
RPN=00112233445566778899aabbccddeeff
is "a1 attests with --rp-nonce and --audience: pass" \
    "$(agent a1 "$LOG" --rp-nonce $RPN --audience https://rp.example)" "TL: agent attested verdict=pass attestation=1"
tl attestation show 1 --json >"$W/att1.json"
TOKEN=$(jq -r .token "$W/att1.json")
cat >"$W/jwt.py" <<'EOF'
# jwt.py JWKS TOKEN: checks the ES256 signature with openssl (the JWK made
# a PEM key, r||s made DER) and prints the payload.
import base64, json, subprocess, sys, tempfile, os
def b64(s): return base64.urlsafe_b64decode(s + '=' * (-len(s) % 4))
jwks, token = json.load(open(sys.argv[1])), sys.argv[2]
h, p, s = token.split('.')
kid = json.loads(b64(h))['kid']
k = [k for k in jwks['keys'] if k['kid'] == kid][0]
spki = bytes.fromhex('3059301306072a8648ce3d020106082a8648ce3d030107034200') + b'\x04' + b64(k['x']) + b64(k['y'])
def der_int(b):
    b = b.lstrip(b'\0') or b'\0'
    if b[0] & 0x80: b = b'\0' + b
    return b'\x02' + bytes([len(b)]) + b
sig = b64(s)
seq = der_int(sig[:32]) + der_int(sig[32:])
d = tempfile.mkdtemp()
open(f'{d}/k.pem', 'w').write('-----BEGIN PUBLIC KEY-----\n' + base64.b64encode(spki).decode() + '\n-----END PUBLIC KEY-----\n')
open(f'{d}/sig', 'wb').write(b'\x30' + bytes([len(seq)]) + seq)
open(f'{d}/data', 'w').write(h + '.' + p)
r = subprocess.run(['openssl', 'dgst', '-sha256', '-verify', f'{d}/k.pem', '-signature', f'{d}/sig', f'{d}/data'], capture_output=True)
try:
    payload = json.loads(b64(p))
except ValueError:
    payload = None
print(json.dumps({'verified': r.returncode == 0, 'payload': payload}))
EOF
curl -s -H "Authorization: Bearer $RP" "$URL/v1/jwks" >"$W/jwks.json"
python3 "$W/jwt.py" "$W/jwks.json" "$TOKEN" >"$W/jwt.json" || bail "jwt.py"
UUID=$(jq -r .uuid "$W/a1.json")
is "the token verifies (openssl, with the JWKS a relying party fetches)" "$(jq -r .verified "$W/jwt.json")" true
is "its claims: aud, rp_nonce, node, node_uuid, attestation, jti, ek_origin, security_type, pool, verdict" \
    "$(jq -c '.payload | [.iss, .aud, .rp_nonce, .node, .node_uuid, .attestation, .jti, .ek_origin, .security_type, .pool, .verdict]' "$W/jwt.json")" \
    "[\"trustlaunch\",\"https://rp.example\",\"$RPN\",\"a1\",\"$UUID\",1,\"1\",\"platform-vtpm\",\"TrustedLaunch\",null,\"pass\"]"
is "a changed payload does not verify" \
    "$(python3 "$W/jwt.py" "$W/jwks.json" "$(echo "$TOKEN" | python3 -c 'import sys; h,p,s=sys.stdin.read().strip().split("."); print(h+"."+p[:-2]+("A" if p[-2]!="A" else "B")+p[-1]+"."+s)')" | jq -r .verified)" \
    false
is "an agent's bad --rp-nonce: one line, exit 2" \
    "$("$TL_AGENT" --config "$TL_HOME/nodes/a1/agent.json" --rp-nonce xyz --once 2>&1 >/dev/null; echo "rc=$?")" \
    "tl-agent: --rp-nonce: 1-64 bytes in hex, not \"xyz\"
rc=2"

c=$(curl -s -o "$W/resp" -w '%{http_code}' -H "Authorization: Bearer $(jq -r .token "$TL_HOME/nodes/a1/agent.json")" \
    --data-binary '{"nonce":"00","quote":"AAAA","signature":"AAAA","pcrs":{},"eventlog":null,"rp_key":{"kty":"EC","crv":"P-256","x":"AA","y":"AA","d":"AA"}}' \
    "$URL/v1/nodes/a1/attest")
is "an rp_key with a private member: 400 (it would be in a token anyone reads)" \
    "$c $(jq -r .error "$W/resp")" '400 attest: rp_key: a public key only ("d" is a private member)'

# ---- 2. status ----------------------------------------------------------------------------
is "status of attestation 1: active" "$(status 1)" "active: the node's latest verified attestation"
is "a2: a second pass" "$(agent a1 "$LOG")" "TL: agent attested verdict=pass attestation=2"
is "status of 1 after a later pass: superseded; 2 active" "$(status 1) / $(status 2)" \
    "superseded: a later attestation of the node passed / active: the node's latest verified attestation"

# ---- 3. a failure keeps its evidence; its alert reopens --------------------------------------
is "attestation 3 with another machine's event log: fail" "$(agent a1 "$LOG_B")" \
    "TL: agent attested verdict=fail findings=7 attestation=3"
is "status of 2 after a later failure: revoked" "$(status 2)" "revoked: a later attestation of the node failed"
tl attestation show 3 --json >"$W/att3.json"
is "the failed attestation keeps its evidence: quote, signature, PCRs, the event log sent" \
    "$(jq -r '[(.evidence.quote | length > 0), (.evidence.signature | length > 0), (.evidence.pcrs | type), .evidence.eventlog] | @tsv' "$W/att3.json")" \
    "$(printf 'true\ttrue\tobject\t%s' "$(base64 -w0 "$LOG_B")")"
for _ in $(seq 100); do [ "$(posts)" -ge 1 ] && break; sleep 0.1; done
AID=$(tl alert list --node a1 --json | jq -r '.alerts[0].id')
F1=$(tl alert show "$AID" --json | jq '.findings | length')
is "its alert reached the webhook" "$(posts) $(jq -r .id "$W/post1.json")" "1 $AID"
tl alert ack "$AID" >/dev/null || bail "tl alert ack"
is "attestation 4, the same boot, a different event log: fail" "$(agent a1 "$LOG_C")" \
    "TL: agent attested verdict=fail findings=5 attestation=4"
tl alert show "$AID" --json >"$W/alert.json"
F2=$(jq '.findings | length' "$W/alert.json")
is "the acknowledged alert is reopened: open, reopened once, both attestations" \
    "$(jq -c '[.acknowledged, .reopened, .attestations]' "$W/alert.json")" '[false,1,[3,4]]'
check "its findings were added to, none lost ($F1, then $F2)" test "$F2" -gt "$F1"
is "the first failure's findings are all still there" \
    "$(jq -c --slurpfile a <(tl attestation show 3 --json) '[$a[0].findings[] as $f | .findings | index([$f]) != null] | all' "$W/alert.json")" \
    true
for _ in $(seq 100); do [ "$(posts)" -ge 2 ] && break; sleep 0.1; done
is "the webhook was told again: the same alert, reopened" \
    "$(posts) $(jq -c '[.id, .reopened, .acknowledged]' "$W/post2.json")" "2 [$AID,1,false]"

# ---- 4. a rolled-back TPM under a new AK ---------------------------------------------------
swtpm_stop
cp -a "$TL_HOME/nodes/a1/vtpm" "$W/vtpm-old"
swtpm_start a1
# shellcheck disable=SC2046
TPM2TOOLS_TCTI="swtpm:path=$W/a1/S" tpm2_pcrextend $(cat "$W/extend.txt") || bail "tpm2_pcrextend"
# Let this TPM's clock run 1 s ahead of where it starts (the rolled-back copy
# below starts there again), so the rollback shows as a clock going back.
tpm_clock() { TPM2TOOLS_TCTI="swtpm:path=$W/a1/S" tpm2_readclock 2>/dev/null | awk '$1 == "clock:" { print $2 }'; }
clock_past() { local c; c=$(tpm_clock); [ -n "$c" ] && [ "$c" -ge "$1" ]; }
c0=$(tpm_clock)
[ -n "$c0" ] || bail "tpm2_readclock"
wait_for 10 clock_past $((c0 + 1000)) || bail "the TPM's clock did not advance"
is "after a TPM restart: pass (a new AK enrolled)" "$(agent a1 "$LOG")" "TL: agent attested verdict=pass attestation=5"
swtpm_stop
rm -rf "$TL_HOME/nodes/a1/vtpm" && cp -a "$W/vtpm-old" "$TL_HOME/nodes/a1/vtpm"
swtpm_start a1
# shellcheck disable=SC2046
TPM2TOOLS_TCTI="swtpm:path=$W/a1/S" tpm2_pcrextend $(cat "$W/extend.txt") || bail "tpm2_pcrextend"
is "the same TPM rolled back to its older state, a new AK: fail" "$(agent a1 "$LOG")" \
    "TL: agent attested verdict=fail findings=1 attestation=6"
is "the finding: the TPM's counters went back" \
    "$(tl attestation show 6 --json | jq -c '[.findings[].component]')" '["tpm clock"]'
swtpm_stop

# ---- 5. a new node under an old name inherits nothing ------------------------------------------
tl node delete a1 >/dev/null || bail "delete a1"
tl node create a1 --external --json >"$W/a1b.json" || bail "create a1 again"
is "the new a1: another identity; no attestation, alert or baseline of the old one" \
    "$(jq -r '.uuid != "'"$UUID"'"' "$W/a1b.json") $(tl attestation list --node a1 --json | jq '.attestations | length') $(tl alert list --node a1 --all --json | jq '.alerts | length') $(tl policy show a1 --json | jq -c .baseline)" \
    "true 0 0 null"
is "the old node's records are kept" "$(tl attestation list --json | jq '[.attestations[] | select(.node_uuid == "'"$UUID"'")] | length')" 6
is "a token of the old a1: revoked (the node was deleted)" "$(status 5)" "revoked: the node was deleted"

# ---- 6. an operator-vouched EK --------------------------------------------------------------
mkdir -p "$W/v1/state"
swtpm socket --tpm2 --tpmstate "dir=$W/v1/state" --ctrl "type=unixio,path=$W/v1/S.ctrl" \
    --server "type=unixio,path=$W/v1/S" --flags not-need-init,startup-clear \
    --log "file=$W/v1/swtpm.log" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 250); do [ -S "$W/v1/S" ] && break; sleep 0.02; done
export TPM2TOOLS_TCTI="swtpm:path=$W/v1/S"
tpm2_createek -c "$W/v1/ek.ctx" -G rsa -u "$W/v1/ek.pub" >/dev/null 2>&1 || bail "tpm2_createek"
tpm2_flushcontext -t >/dev/null 2>&1
curl -s -H "Authorization: Bearer $(cat "$TL_HOME/operator.token")" -H 'Content-Type: application/json' \
    --data-binary "{\"name\":\"v1\",\"external\":true,\"ek_public\":\"$(base64 -w0 "$W/v1/ek.pub")\"}" \
    "$URL/v1/nodes" >"$W/v1.json"
is "POST /v1/nodes with ek_public: the node's EK origin is operator-vouched" \
    "$(jq -r '[.name, .ek_origin, .ek[0].origin] | join(" ")' "$W/v1.json")" "v1 operator-vouched operator-vouched"
jq -r .ek_cert_issued "$W/v1.json" | base64 -d >"$W/v1/ek.der"
openssl x509 -inform der -in "$W/v1/ek.der" -out "$W/v1/ek.pem"
is "its EK certificate chains to the vouched CA, not to the platform vTPM CA" \
    "$(openssl verify -CAfile "$TL_HOME/ekca-vouched/root.pem" -untrusted "$TL_HOME/ekca-vouched/intermediate.pem" -purpose any "$W/v1/ek.pem" >/dev/null 2>&1 && echo vouched) $(openssl verify -CAfile "$TL_HOME/ekca/root.pem" -untrusted "$TL_HOME/ekca/intermediate.pem" -purpose any "$W/v1/ek.pem" >/dev/null 2>&1 && echo platform || echo not-platform)" \
    "vouched not-platform"
size=$(stat -c %s "$W/v1/ek.der")
tpm2_nvdefine 0x01c00002 -C o -s "$size" -a "ownerread|ownerwrite|authread|authwrite|no_da" >/dev/null 2>&1 &&
    tpm2_nvwrite 0x01c00002 -C o -i "$W/v1/ek.der" >/dev/null 2>&1 || bail "writing the EK certificate into NV"
# shellcheck disable=SC2046
tpm2_pcrextend $(cat "$W/extend.txt") || bail "tpm2_pcrextend"
unset TPM2TOOLS_TCTI
is "v1's agent (the vouched TPM): attested" "$(agent v1 "$LOG")" "TL: agent attested verdict=pass attestation=7"
tl attestation show 7 --json >"$W/att7.json"
python3 "$W/jwt.py" "$W/jwks.json" "$(jq -r .token "$W/att7.json")" >"$W/jwt7.json"
is "its verdict, its node JSON and its token say operator-vouched" \
    "$(jq -r .ek_origin "$W/att7.json") $(tl node show v1 --json | jq -r .ek_origin) $(jq -r '.payload.ek_origin' "$W/jwt7.json")" \
    "operator-vouched operator-vouched operator-vouched"

# ---- 7. a guest chooses how many records fail: what is kept is bounded -------------------------
python3 - "$W/seps.bin" <<'EOF'
import struct, sys
spec = b'Spec ID Event03\0' + struct.pack('<IBBBBI', 0, 0, 2, 0, 2, 1) + struct.pack('<HH', 11, 32) + b'\0'
log = [struct.pack('<II', 0, 3) + bytes(20) + struct.pack('<I', len(spec)) + spec]
for i in range(300):  # EV_SEPARATOR records whose digests are not of their data
    log.append(struct.pack('<III', i % 8, 4, 1) + struct.pack('<H', 11) + bytes([i % 256]) * 32 +
               struct.pack('<I', 4) + b'\0\0\0\0')
open(sys.argv[1], 'wb').write(b''.join(log))
EOF
is "v1 attested with a log of 300 records whose digests lie: fail" "$(agent v1 "$W/seps.bin" | sed 's/findings=[0-9]* //')" \
    "TL: agent attested verdict=fail attestation=8"
tl attestation show 8 --json >"$W/att8.json"
is "the attestation keeps 64 findings, the last one counting the rest" \
    "$(jq -c '[(.findings | length), .findings[-1].component, (.findings[-1].actual | test("^[0-9]+ more findings$")), (.findings[:63] | map(.component) | unique | length > 0)]' "$W/att8.json")" \
    '[64,"findings",true,true]'
finish
