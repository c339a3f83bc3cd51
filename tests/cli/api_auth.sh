#!/usr/bin/env bash
# The control plane trusts no caller it has not authenticated (issue 11): a
# real tld, external nodes with real swtpm vTPMs, callers played with curl.
#
#  1. TL_HOME made 0755 beforehand ends up 0700; operator.token and the store
#     are 0600; no agent token is in the store in clear.
#  2. Every route of tld's own table (tld --routes): without credentials 401
#     (health: 200); with a node's agent token 403 off the agent routes; with
#     a reader, a relying party and an operator's API token: exactly the
#     routes the table gives the role (GET routes called for real), 403 on
#     the rest; an operator or reader on an agent route 403; another node's
#     agent token 403. Nothing changed afterwards (same nodes, same tokens).
#     No route: 401 to a stranger, 404/405 only to an authenticated caller;
#     an agent route of a node that does not exist: 403, as for one that does.
#  3. Host paths: an image or variable store outside the stores, a symlink
#     out of a store, a FIFO (answered at once, not stalled), a device, a
#     disk that is a FIFO: each 400 naming the rule, nothing created.
#  4. Bodies: a 6 MB event log of 60,000 applications without a device path
#     judged at once (under 10 s here; it was quartic); over 1 MiB on an admin route 413; an unauthenticated 8 MiB
#     body refused with 401 before it is read; 48 unfinished 8 MiB agent
#     bodies: tld's memory stays within its 64 MiB budget (a complete body
#     meanwhile 503), health answers meanwhile.
#  5. 300 idle connections held open while a1's tl-agent reports, enrols and
#     attests: pass; health answers; same tld process at the end.
# Needs: TL_BIN, TL_TLD, TL_AGENT, TL_VECTORS; swtpm, tpm2-tools, jq, curl,
# python3. KEEP=1 keeps the work folder.
set -u
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
: "${TL_BIN:?}" "${TL_TLD:?}" "${TL_AGENT:?}" "${TL_VECTORS:?}"
for t in swtpm tpm2_pcrextend; do
    command -v "$t" >/dev/null 2>&1 || {
        skip_all "$t not installed (apt-get install swtpm tpm2-tools)"
    }
done
for t in jq curl python3; do command -v "$t" >/dev/null 2>&1 || bail "$t missing (make deps)"; done
LOG=$TL_VECTORS/eventlog/ovmf-debian12/secureboot-on.eventlog.bin
[ -r "$LOG" ] || bail "$LOG missing"

W=$(mktemp -d /tmp/tl-auth.XXXXXX) || bail mktemp
export TL_HOME=$W/home TL_TLD
unset TL_STORE_DIRS TL_TOKEN
# shellcheck source=tests/lib/tldhome.sh
. "$(dirname "$0")/../lib/tldhome.sh"

tl() { "$TL_BIN" "$@"; }

# ---- 1. a home that others could enter, made private ---------------------------------------
mkdir -p "$TL_HOME" && chmod 0755 "$TL_HOME"
for n in a1 a2; do
    tl node create "$n" --external --json >"$W/$n.json" 2>"$W/$n.err" ||
        bail "tl node create $n --external: $(head -c 300 "$W/$n.err")"
done
read -r URL tld_pid <"$TL_HOME/tld.addr" || bail "no tld.addr"
# the store's bytes: tld.db and its WAL, or (TL_STORE, tests/lib/pg.sh) the database's dump
store_bytes() {
    if [ -n "${TL_STORE:-}" ]; then pg_dump -d "$TL_STORE" --data-only; else cat "$TL_HOME"/tld.db*; fi
}
if [ -n "${TL_STORE:-}" ]; then
    is "TL_HOME made 0755 is 0700 once tld ran; operator.token is 0600; no tld.db (TL_STORE)" \
        "$(stat -c %a "$TL_HOME") $(stat -c %a "$TL_HOME/operator.token") $(ls "$TL_HOME"/tld.db* 2>/dev/null | wc -l)" \
        "700 600 0"
    is "the database holds node a1's document (the dump the next checks read is the store)" \
        "$(store_bytes | grep -c -a -P '^node\ta1\t\{')" "1"
else
    is "TL_HOME made 0755 is 0700 once tld ran; operator.token and tld.db are 0600" \
        "$(stat -c %a "$TL_HOME") $(stat -c %a "$TL_HOME/operator.token") $(stat -c %a "$TL_HOME/tld.db")" \
        "700 600 600"
fi
A1=$(jq -r .token "$TL_HOME/nodes/a1/agent.json")
A2=$(jq -r .token "$TL_HOME/nodes/a2/agent.json")
OP=$(cat "$TL_HOME/operator.token")
is "no agent token in the store in clear (tld.db, its WAL; or the database)" \
    "$(store_bytes | grep -c -a -e "$A1" -e "$A2")" "0"

# ---- 2. every route, every role ------------------------------------------------------------------
READER=$(tl token create ro --role reader --json | jq -r .token)
RP=$(tl token create rp --role relying-party --json | jq -r .token)
OP2=$(tl token create op2 --role operator --json | jq -r .token)
[ ${#READER} = 64 ] && [ ${#RP} = 64 ] && [ ${#OP2} = 64 ] || bail "tl token create"
is "tl token list: three tokens, roles, no secrets" \
    "$(tl token list --json | jq -c '[.tokens[] | [.name, .role, (.token // "none")]] | sort')" \
    '[["op2","operator","none"],["ro","reader","none"],["rp","relying-party","none"]]'
is "the store holds no API token secret" \
    "$(store_bytes | grep -c -a -e "$READER" -e "$RP" -e "$OP2")" "0"

# code METHOD PATH [BEARER]: the HTTP status (the body in $W/resp)
code() {
    local auth=()
    [ -n "${3:-}" ] && auth=(-H "Authorization: Bearer $3")
    curl -s -o "$W/resp" -w '%{http_code}' -X "$1" "${auth[@]}" -H 'Content-Type: application/json' \
        ${4:+--data-binary "$4"} "$URL$2"
}
"$TL_TLD" --routes >"$W/routes" || bail "tld --routes"
nroutes=$(wc -l <"$W/routes")
[ "$nroutes" -ge 30 ] || bail "tld --routes: $nroutes routes"
before=$(tl node list --json | jq -c '[.nodes[].name]')
bad=()
while read -r method pattern roles; do
    [ "$method" = "*" ] && method=PUT
    path=${pattern//\{node\}/a1}
    path=${path//\{id\}/1}
    path=${path//\{name\}/nosuch}
    case $path in */providers/\*) path=${path%\*}Microsoft.ContainerService ;; *\*) path=${path%\*} ;; esac
    body=
    [ "$method" != GET ] && body='{}'
    c=$(code "$method" "$path" "" "$body")
    if [ "$roles" = public ]; then
        [ "$c" = 200 ] || bad+=("no credentials $method $path: $c (public)")
        continue
    fi
    [ "$c" = 401 ] || bad+=("no credentials $method $path: $c")
    [ "$(jq -r .error "$W/resp" 2>/dev/null)" = "credentials required (Authorization: Bearer; docs/api.md)" ] ||
        bad+=("no credentials $method $path: $(head -c 100 "$W/resp")")
    c=$(code "$method" "$path" "garbage-credential" "$body")
    case $roles in
    agent) [ "$c" = 403 ] || bad+=("a garbage credential on $method $path: $c") ;;
    *) [ "$c" = 401 ] || bad+=("a garbage credential on $method $path: $c") ;;
    esac
    for who in agent:"$A1" reader:"$READER" relying-party:"$RP" operator:"$OP2"; do
        role=${who%%:*}
        tok=${who#*:}
        case ",$roles," in *",$role,"*) allowed=1 ;; *) allowed= ;; esac
        if [ -z "$allowed" ]; then
            c=$(code "$method" "$path" "$tok" "$body")
            [ "$c" = 403 ] || bad+=("$role on $method $path: $c, not 403")
        elif [ "$method" = GET ]; then
            c=$(code "$method" "$path" "$tok")
            case $c in 401 | 403) bad+=("$role on $method $path: $c, the table admits it") ;; esac
        fi
    done
    if [ "$roles" = agent ]; then # another node's token on a1's agent routes
        c=$(code "$method" "$path" "$A2" "$body")
        [ "$c" = 403 ] && [ "$(jq -r .error "$W/resp")" = "not this node's token" ] ||
            bad+=("a2's token on $method $path: $c $(head -c 100 "$W/resp")")
    fi
done <"$W/routes"
is "every one of the $nroutes routes: 401 without credentials, 403 for each role the table does not admit, admitted for the roles it does; a2's token 403 on a1's agent routes" \
    "${bad[*]:-}" ""
is "after all those calls: the same nodes, the same API tokens" \
    "$(tl node list --json | jq -c '[.nodes[].name]') $(tl token list --json | jq -c '[.tokens[].name] | sort')" \
    "$before [\"op2\",\"ro\",\"rp\"]"
is "no route: 401 to a stranger (no credentials, or garbage), 404 and 405 only to a caller we know" \
    "$(code GET /v1/nosuch) $(code DELETE /v1/health) $(code GET /v1/nosuch garbage) $(code GET /v1/nosuch "$READER") $(code DELETE /v1/health "$READER") $(code GET /v1/nosuch "$A1")" \
    "401 401 401 404 405 404"
is "a node's agent route with a token of no node: 403 whether the node exists or not (names are not told)" \
    "$(code POST /v1/nodes/a1/report nosuch.0000 '{}') $(code POST /v1/nodes/nosuch/report nosuch.0000 '{}') $(code POST /v1/nodes/nosuch/report "$A1" '{}')" \
    "403 403 403"
is "health without credentials: status and version only (no home, no pid)" \
    "$(curl -s "$URL/v1/health" | jq -c 'keys')" '["status","version"]'
is "a reader sees no attestation token in a list, nor in one attestation" \
    "$(code GET /v1/attestations "$READER") $(jq -c '[.attestations[] | has("token")] | any' "$W/resp")" "200 false"

# ---- 3. host paths ------------------------------------------------------------------------------
mkdir -p "$TL_HOME/images/default" "$TL_HOME/images/fifodisk" "$TL_HOME/vars"
echo '{"generation": 2}' >"$TL_HOME/images/default/manifest.json"
truncate -s 1M "$TL_HOME/images/default/disk.raw"
echo '{"generation": 2}' >"$TL_HOME/images/fifodisk/manifest.json"
mkfifo "$TL_HOME/images/fifodisk/disk.raw" "$TL_HOME/vars/fifo.fd"
ln -s /etc/passwd "$TL_HOME/vars/link.fd"
ln -s /etc "$TL_HOME/images/etc"
create() { # create JSON: "STATUS ERROR"
    local c
    c=$(curl -s -m 10 -o "$W/resp" -w '%{http_code}' -H "Authorization: Bearer $OP" \
        -H 'Content-Type: application/json' --data-binary "$1" "$URL/v1/nodes")
    echo "$c $(jq -r .error "$W/resp" 2>/dev/null)"
}
STORES="not in the platform's stores (TL_HOME/images, TL_HOME/vars or a folder of TL_STORE_DIRS)"
is "vars /etc/shadow: 400, not in the stores" \
    "$(create '{"name":"x1","vars":"/etc/shadow","start":false}')" \
    "400 variable store /etc/shadow: $STORES"
is "image /etc: 400, not in the stores" \
    "$(create '{"name":"x2","image":"/etc","start":false}')" "400 image /etc: $STORES"
is "a symlink in the vars store to /etc/passwd: 400, resolved out of the stores" \
    "$(create "{\"name\":\"x3\",\"vars\":\"$TL_HOME/vars/link.fd\",\"start\":false}")" \
    "400 variable store $TL_HOME/vars/link.fd: $STORES"
is "a symlink in the images store to /etc: 400" \
    "$(create "{\"name\":\"x4\",\"image\":\"$TL_HOME/images/etc\",\"start\":false}")" \
    "400 image $TL_HOME/images/etc: $STORES"
t0=$(date +%s%N)
is "a FIFO as the variable store: 400 at once (not a stalled API)" \
    "$(create "{\"name\":\"x5\",\"vars\":\"$TL_HOME/vars/fifo.fd\",\"start\":false}")" \
    "400 $TL_HOME/vars/fifo.fd: not a regular file (a FIFO, a device or a folder is refused)"
is "an image whose disk.raw is a FIFO: 400" \
    "$(create "{\"name\":\"x6\",\"image\":\"$TL_HOME/images/fifodisk\",\"start\":false}")" \
    "400 $TL_HOME/images/fifodisk/disk.raw: not a regular file (a FIFO, a device or a folder is refused)"
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$ms" -lt 5000 ] && ok "both FIFO refusals answered without waiting on the FIFO ($ms ms)" ||
    not_ok "the FIFO refusals took $ms ms"
if [ "$(id -u)" = 0 ]; then
    mknod "$TL_HOME/vars/zero.fd" c 1 5
    is "a character device in the vars store: 400" \
        "$(create "{\"name\":\"x7\",\"vars\":\"$TL_HOME/vars/zero.fd\",\"start\":false}")" \
        "400 $TL_HOME/vars/zero.fd: not a regular file (a FIFO, a device or a folder is refused)"
else
    skip "a device in the store" "mknod needs root"
fi
is "no node made by the refused creates, no node folder left" \
    "$(tl node list --json | jq -c '[.nodes[].name]') $(ls "$TL_HOME/nodes" | grep -c '^x')" "$before 0"

# ---- 4. bodies -------------------------------------------------------------------------------------
head -c $((1024 * 1024 + 10)) /dev/zero | tr '\0' ' ' >"$W/big"
is "a body over 1 MiB on an admin route: 413" \
    "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $OP" --data-binary @"$W/big" "$URL/v1/tokens")" \
    "413"
head -c $((8 * 1024 * 1024)) /dev/zero >"$W/8m"
is "an 8 MiB body without credentials: 401" \
    "$(curl -s -o /dev/null -w '%{http_code}' --data-binary @"$W/8m" "$URL/v1/nodes")" "401"

# A guest's event log near the body limit, of boot applications without a
# device path (once quartic in tld's boot state): judged in time.
python3 - "$W/apps.json" <<'EOF'
import base64, json, struct, sys
spec = b'Spec ID Event03\0' + struct.pack('<IBBBBI', 0, 0, 2, 0, 2, 2) + struct.pack('<HHHH', 4, 20, 11, 32) + b'\0'
log = [struct.pack('<II', 0, 3) + bytes(20) + struct.pack('<I', len(spec)) + spec]
for i in range(60000):
    log.append(struct.pack('<III', 4, 0x80000003, 2) + struct.pack('<HQ', 4, i + 1) + b'\xa5' * 12 +
               struct.pack('<HQ', 11, i + 1) + b'\x5a' * 24 + struct.pack('<IQQQQ', 32, 0x7e000000, 0x10000, 0, 0))
body = {"version": 1, "node": "a1", "secure_boot": "off", "tpm": True, "pcrs": None,
        "eventlog": base64.b64encode(b''.join(log)).decode()}
open(sys.argv[1], 'w').write(json.dumps(body))
EOF
t0=$(date +%s%N)
c=$(curl -s -m 60 -o "$W/resp" -w '%{http_code}' -H "Authorization: Bearer $A1" --data-binary @"$W/apps.json" \
    "$URL/v1/nodes/a1/report")
ms=$((($(date +%s%N) - t0) / 1000000))
is "a report whose event log is 60,000 applications without a device path ($(stat -c %s "$W/apps.json") bytes): accepted" \
    "$c $(tl node show a1 --json | jq -c '[.report.eventlog_bytes, .report.logged_secure_boot]')" "200 [6240069,null]"
[ "$ms" -lt 10000 ] && ok "judged in $ms ms (it once grew as the fourth power of the applications)" ||
    not_ok "the 60,000-application report took $ms ms"

rss() { awk '/^VmRSS/ {print $2}' "/proc/$tld_pid/status"; }
rss0=$(rss)
cat >"$W/hold.py" <<'EOF'
# hold.py URL TOKEN N SEND_BYTES SECONDS [PATH]: N connections each declaring an
# 8 MiB body and sending SEND_BYTES of it, held open SECONDS; prints how many
# were answered early and with which statuses.
import socket, sys, time, collections
url, token, n, send, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
path = sys.argv[6] if len(sys.argv) > 6 else "/v1/nodes/a1/report"
host, port = url[len("http://"):].split(":")
socks, codes = [], collections.Counter()
for _ in range(n):
    s = socket.create_connection((host, int(port)))
    hdr = f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {8 << 20}\r\n\r\n"
    s.sendall(hdr.encode())
    chunk = b" " * 65536
    sent = 0
    s.settimeout(0.5)
    try:
        while sent < send:
            s.sendall(chunk)
            sent += len(chunk)
    except (socket.timeout, OSError):
        pass
    socks.append(s)
print("open", len(socks), flush=True)
time.sleep(secs)
for s in socks:
    s.setblocking(False)
    try:
        data = s.recv(200)
        if data.startswith(b"HTTP/1."):
            codes[data.split()[1].decode()] += 1
    except OSError:
        pass
    s.close()
print("codes", dict(codes), flush=True)
EOF
# without a node's token the same bodies are refused on their headers: nothing is held
rss_x=$(rss)
python3 "$W/hold.py" "$URL" "not-a1.token" 48 $((2 * 1024 * 1024)) 2 >"$W/hold-x.out" 2>&1
is "48 such bodies with a wrong token: all 403 at once, none held" \
    "$(tail -n1 "$W/hold-x.out") $(( ($(rss) - rss_x) / 1024 < 8 ))" "codes {'403': 48} 1"
python3 "$W/hold.py" "$URL" "$A1" 48 $((2 * 1024 * 1024)) 4 >"$W/hold.out" 2>&1 &
hold=$!
for _ in $(seq 100); do grep -q '^open' "$W/hold.out" && break; sleep 0.1; done
rss1=$(rss)
hc=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$URL/v1/health")
head -c $((4 * 1024 * 1024)) /dev/zero | tr '\0' ' ' >"$W/4m"
full=$(curl -s -m 20 -o "$W/resp" -w '%{http_code}' -H "Authorization: Bearer $A1" \
    --data-binary @"$W/4m" "$URL/v1/nodes/a1/report")
wait "$hold"
grow=$(((rss1 - rss0) / 1024))
is "48 unfinished 8 MiB bodies (2 MiB each sent): health answers 200 meanwhile" "$hc" "200"
is "meanwhile a complete 4 MiB agent body finds the budget spent: 503" \
    "$full $(jq -r .error "$W/resp")" "503 too many request bodies in flight; retry"
[ "$grow" -le 96 ] && ok "tld's memory grew $grow MiB with them (budget: 64 MiB of bodies)" ||
    not_ok "tld's memory grew $grow MiB with 48 unfinished bodies"
echo "# hold: $(tr '\n' ' ' <"$W/hold.out")"

# ---- 5. idle connections while an agent attests ----------------------------------------------------
python3 - "$URL" 300 20 >"$W/idle.out" 2>&1 <<'EOF' &
import socket, sys, time
host, port = sys.argv[1][len("http://"):].split(":")
socks = [socket.create_connection((host, int(port))) for _ in range(int(sys.argv[2]))]
print("open", len(socks), flush=True)
time.sleep(float(sys.argv[3]))
EOF
idle=$!
pids+=("$idle")
for _ in $(seq 100); do grep -q '^open' "$W/idle.out" && break; sleep 0.1; done
is "300 idle connections open to the admin listener" "$(cat "$W/idle.out")" "open 300"
mkdir -p "$W/a1" "$W/efivars"
swtpm socket --tpm2 --tpmstate "dir=$TL_HOME/nodes/a1/vtpm" --ctrl "type=unixio,path=$W/a1/S.ctrl" \
    --server "type=unixio,path=$W/a1/S" --flags not-need-init,startup-clear \
    --key "file=$TL_HOME/keys/a1.vtpm.key,mode=aes-256-cbc,format=binary" \
    --log "file=$W/a1/swtpm.log" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 250); do [ -S "$W/a1/S" ] && break; sleep 0.02; done
tl eventlog show "$LOG" --json | jq -r '.events[] | select(.type != "EV_NO_ACTION") |
    "\(.pcr):" + ([.digests | to_entries[] | "\(.key)=\(.value)"] | join(","))' >"$W/extend.txt"
# shellcheck disable=SC2046
TPM2TOOLS_TCTI="swtpm:path=$W/a1/S" tpm2_pcrextend $(cat "$W/extend.txt") || bail "tpm2_pcrextend"
printf '\006\000\000\000\001' >"$W/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"
"$TL_AGENT" --config "$TL_HOME/nodes/a1/agent.json" --tcti "swtpm:path=$W/a1/S" --eventlog "$LOG" \
    --efivars "$W/efivars" --once >"$W/agent.out" 2>"$W/agent.err"
is "meanwhile a1's tl-agent reports, enrols and attests: pass" \
    "$? $(tail -n1 "$W/agent.out")" "0 TL: agent attested verdict=pass attestation=1"
is "health answers; the same tld process" \
    "$(curl -s -m 5 -H "Authorization: Bearer $OP" "$URL/v1/health" | jq -r '[.status, .pid] | join(" ")')" \
    "ok $tld_pid"
kill "$idle" 2>/dev/null

# ---- 6. a restarted tld takes its port back (external agents were told it) ------------------
kill -TERM "$tld_pid"
wait_for 10 sh -c "! kill -0 $tld_pid 2>/dev/null" || bail "tld did not stop"
tl node list >/dev/null || bail "tl node list after the stop"
read -r URL2 tld_pid2 <"$TL_HOME/tld.addr"
is "after a clean stop the next tld serves the same address (a1's agent.json names it)" \
    "$URL2 $(jq -r .url "$TL_HOME/nodes/a1/agent.json" | sed 's|/v1/.*||')" "$URL $URL"
[ "$tld_pid2" != "$tld_pid" ] || not_ok "a new tld process"
finish
