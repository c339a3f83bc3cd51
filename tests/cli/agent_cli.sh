#!/usr/bin/env bash
# tl-agent on the host, against a real vTPM (tl vtpm provision + tl vtpm run,
# i.e. swtpm) and a small HTTP receiver written here:
# - the report body has exactly the contract's keys, in order; the PCRs are
#   the TPM's (every allocated bank, 0-23, equal to tpm2_pcrread's), with the
#   values of PCR 16 and 23 computed here from the digests extended; the event
#   log is the file's bytes; both EK certificates are the provisioned ones and
#   `openssl verify` to the platform CA; Secure Boot on / off / unknown from
#   an efivars folder; the token is in the body and in the Authorization
#   header;
# - no TPM: tpm false, pcrs and eventlog null, ek_certs {};
# - tld answering 500 then 200: retried with backoff (0.5 s, 1 s), reported;
#   400: one attempt, exit 1 with the server's first line; unreachable: gives
#   up after --retry-for;
# - without --once the agent keeps running after reporting;
# - no config at all: "TL: agent no-platform", exit 3, at once; the config
#   from the fw_cfg file; bad config or options: one stderr line, exit 2.
# - tl image build, without --agent, puts this build's agent (the normal
#   build's when this one is ASan) and the device TCTI into the image, and
#   refuses an ASan agent.
# Needs: TL_AGENT, TL_BIN, TL_VECTORS (TL_FIXTURES for the image checks);
# swtpm, tpm2-tools, openssl, jq, python3 (and what tl image build needs).
set -u
: "${TL_AGENT:?}" "${TL_BIN:?}" "${TL_VECTORS:?}"
for t in swtpm tpm2_pcrextend tpm2_pcrread tpm2_getcap tpm2_nvread openssl jq python3 base64; do
    command -v "$t" >/dev/null || { echo "not ok 1 - $t missing (apt-get install swtpm tpm2-tools openssl jq python3)"; exit 1; }
done
LOG=$TL_VECTORS/eventlog/ovmf-debian12/secureboot-on.eventlog.bin
[ -r "$LOG" ] || { echo "not ok 1 - $LOG missing"; exit 1; }
W=$(mktemp -d /tmp/tl-agent-test.XXXXXX)
export TMPDIR=$W/tmp # tl vtpm run's private directory lands here
mkdir -p "$TMPDIR"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    wait 2>/dev/null
    [ -n "${KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "#   $l"; done; }
check() { # check DESCRIPTION COMMAND...: the command must succeed
    local d=$1; shift
    if "$@" >"$W/check.out" 2>&1; then ok "$d"; else not_ok "$d" "$(head -c 600 "$W/check.out")"; fi
}
is() { # is DESCRIPTION GOT WANT
    if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "got:  ${2:0:300}" "want: ${3:0:300}"; fi
}

# ---- the receiver: answers each POST with the next code of CODES (the last
# one repeats), saves body, path and headers as R/N.body, R/N.path, R/N.headers.
cat >"$W/receiver.py" <<'EOF'
import http.server, os, sys
out, codes = sys.argv[1], [int(c) for c in sys.argv[2].split(",")]
os.makedirs(out, exist_ok=True)
class H(http.server.BaseHTTPRequestHandler):
    n = 0
    def do_POST(self):
        H.n += 1
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        for ext, data in (("body", body), ("path", self.path.encode()), ("headers", bytes(self.headers))):
            with open(f"{out}/{H.n}.{ext}", "wb") as f:
                f.write(data)
        code = codes[min(H.n, len(codes)) - 1]
        self.send_response(code)
        self.end_headers()
        self.wfile.write(f"answer {code} to request {H.n}\nsecond line\n".encode())
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
with open(f"{out}/port.tmp", "w") as f:
    f.write(str(s.server_port))
os.rename(f"{out}/port.tmp", f"{out}/port")
s.serve_forever()
EOF
receiver() { # receiver NAME CODES: starts one, sets URL and R (its folder)
    R=$W/$1
    python3 "$W/receiver.py" "$R" "$2" &
    pids+=($!)
    for _ in $(seq 300); do [ -s "$R/port" ] && break; sleep 0.01; done
    URL=http://127.0.0.1:$(cat "$R/port")/v1/nodes/node-1/report
}
TOKEN=0123456789abcdef0123456789abcdef
agent() { # agent NAME ARGS...: stdout NAME.out, stderr NAME.err, exit status NAME.rc
    local name=$1; shift
    "$TL_AGENT" "$@" >"$W/$name.out" 2>"$W/$name.err"
    echo $? >"$W/$name.rc"
}
rc() { cat "$W/$1.rc"; }
posts() { find "$W/$1" -name '*.body' | wc -l; } # posts RECEIVER: how many POSTs it got
out() { cat "$W/$1.out"; }
one_err() { # one_err NAME PATTERN: stderr is one "tl-agent: " line matching, stdout empty
    [ "$(wc -l <"$W/$1.err")" = 1 ] && grep -q "^tl-agent: .*$2" "$W/$1.err" && [ ! -s "$W/$1.out" ]
}
mkdir -p "$W/efi-on" "$W/efi-off" "$W/efi-none"
printf '\006\000\000\000\001' >"$W/efi-on/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"
printf '\006\000\000\000\000' >"$W/efi-off/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"
NOTPM=(--tcti device:/nonexistent/tpmrm0 --eventlog "$W/nonexistent" --fw-cfg "$W/nonexistent")

# ---- 1. no platform, bad usage, bad config ------------------------------------
t0=$(date +%s%N)
agent noplat --fw-cfg "$W/nonexistent"
t1=$(date +%s%N)
check "no config at all: exit 3, 'TL: agent no-platform' only, in under 1 s ($(((t1 - t0) / 1000000)) ms)" \
    sh -c "[ $(rc noplat) = 3 ] && [ \"\$(cat '$W/noplat.out')\" = 'TL: agent no-platform' ] && [ ! -s '$W/noplat.err' ] && [ $((t1 - t0)) -lt 1000000000 ]"
agent help --help
check "--help: exit 0, usage on stdout" sh -c "[ $(rc help) = 0 ] && grep -q '^usage: tl-agent' '$W/help.out'"
bad() { # bad DESCRIPTION PATTERN ARGS...
    local d=$1 pat=$2; shift 2
    agent bad "$@"
    if [ "$(rc bad)" = 2 ] && one_err bad "$pat"; then ok "$d: exit 2, one line"; else
        not_ok "$d: exit 2, one line" "exit $(rc bad)" "$(head -c 400 "$W/bad.err")"; fi
}
printf '{"url": "http://x/", "token": ' >"$W/trunc.json"
printf '{"url": "http://x/", "token": "ab", "node": 7}' >"$W/type.json"
printf '{"url": "http://x/", "url": "http://y/"}' >"$W/dup.json"
printf '{"url": "http://x/", "token": "ab\\r\\nX-Evil: 1", "node": "n"}' >"$W/crlf.json"
printf '{"url": "file:///etc/passwd", "token": "ab", "node": "n"}' >"$W/file.json"
printf '{"url": "http://x/", "token": "ab", "node": "a/b"}' >"$W/slash.json"
printf '{"url": "http://x/", "token": "ab\\u0000c", "node": "n"}' >"$W/nul.json"
printf '["http://x/"]' >"$W/array.json"
printf '{"url": "http://x/", "node": "n"}' >"$W/notoken.json"
head -c 70000 /dev/zero | tr '\0' ' ' >"$W/big.json"
bad "config not JSON (truncated)" "trunc.json: not JSON: " --config "$W/trunc.json"
bad "config: node not a string" '"node" is not a string' --config "$W/type.json"
bad "config: duplicate key" "duplicate object key" --config "$W/dup.json"
bad "config: CR LF in the token (header injection)" '"token" has a character outside' --config "$W/crlf.json"
bad "config: a file:// URL" '"url" is not an http:// or https:// URL' --config "$W/file.json"
bad "config: '/' in the node name" '"node" has a character outside' --config "$W/slash.json"
bad "config: NUL in a string" "not JSON: .*u0000 is not allowed" --config "$W/nul.json"
bad "config: a JSON array" "not a JSON object" --config "$W/array.json"
bad "config: no token" 'no "token" (and no --token)' --config "$W/notoken.json"
bad "config: 70000 bytes" "larger than 64 KiB" --config "$W/big.json"
bad "config: missing file" "cannot read: No such file" --config "$W/nonexistent"
bad "config: fw_cfg file with bad JSON" "trunc.json: not JSON" --fw-cfg "$W/trunc.json"
bad "unknown option" "option --bogus is unknown" --bogus
bad "option without its value" "option --url is unknown or needs a value" --url
bad "--retry-for abc" '--retry-for: seconds from 0 to 86400, not "abc"' --retry-for abc
bad "--url ftp://" "--url is not an http:// or https:// URL" --url ftp://x/
bad "--url without a token" 'the options: no "token"' --url http://127.0.0.1:1/ --node n --fw-cfg "$W/nonexistent"
bad "a stray argument" 'unexpected argument "extra"' extra

# ---- 2. the vTPM: provisioned (EK certificates), running, PCRs extended --------
"$TL_BIN" vtpm provision --state "$W/st" --ca "$W/ca" --json >"$W/prov.json" 2>"$W/prov.err"
check "tl vtpm provision" test $? = 0
"$TL_BIN" vtpm run --state "$W/st" --json >"$W/run.json" 2>"$W/run.err" &
VTPM_PID=$!
pids+=("$VTPM_PID")
for _ in $(seq 500); do [ -s "$W/run.json" ] && break; sleep 0.01; done
SOCK=$(jq -r .socket "$W/run.json")
TCTI=swtpm:path=$SOCK
tpm() { TPM2TOOLS_TCTI=$TCTI "$@"; }
# digests to extend (sha1 and sha256 of two words), and the PCR values they give
read -r D1 D256 D256b E16_1 E16_256 E23_256 <<<"$(python3 -c '
import hashlib
d1 = hashlib.sha1(b"trustlaunch").hexdigest()
d256 = hashlib.sha256(b"trustlaunch").hexdigest()
d256b = hashlib.sha256(b"agent").hexdigest()
e = lambda h, old, d: h(bytes.fromhex(old) + bytes.fromhex(d)).hexdigest()
p16_1 = e(hashlib.sha1, "00" * 20, d1)
p16_256 = e(hashlib.sha256, "00" * 32, d256)
p23 = e(hashlib.sha256, e(hashlib.sha256, "00" * 32, d256), d256b)
print(d1, d256, d256b, p16_1, p16_256, p23)')"
tpm tpm2_pcrextend "16:sha1=$D1,sha256=$D256" &&
    tpm tpm2_pcrextend "23:sha256=$D256" && tpm tpm2_pcrextend "23:sha256=$D256b"
check "tpm2_pcrextend PCR 16 (sha1, sha256) and 23 (sha256, twice)" test $? = 0
tpm tpm2_pcrread >"$W/pcrread.yaml" 2>/dev/null
# "bank index hex" for every PCR tpm2_pcrread printed
awk '/^  [a-z0-9_]+:$/ { b = $1; sub(":", "", b) }
     /^ +[0-9]+ *: *0x/ { i = $1; sub(":", "", i); v = tolower($NF); sub("^0x", "", v); print b, i, v }' \
    "$W/pcrread.yaml" | sort >"$W/pcrread.txt"
tpm tpm2_getcap pcrs | sed -n 's/^  - \([a-z0-9_]*\): \[.*[0-9].*$/\1/p' | paste -sd, >"$W/banks.txt"
tpm tpm2_nvread -C o 0x01c00002 -o "$W/nv-rsa.der" 2>/dev/null
tpm tpm2_nvread -C o 0x01c0000a -o "$W/nv-ecc.der" 2>/dev/null

# ---- 3. the report --------------------------------------------------------------
receiver r1 200
agent full --url "$URL" --token "$TOKEN" --node node-1 --tcti "$TCTI" --eventlog "$LOG" \
    --efivars "$W/efi-on" --fw-cfg "$W/nonexistent" --once
B=$W/r1/1.body
is "reported: exit 0" "$(rc full)" 0
is "console: config, evidence, reported" "$(out full)" \
    "TL: agent config url=$URL node=node-1
TL: agent evidence tpm=yes banks=$(cat "$W/banks.txt") eventlog=$(stat -c %s "$LOG") bytes secure-boot=on ek-certs=rsa2048,ecc-p256
TL: agent reported"
check "nothing on stderr" test ! -s "$W/full.err"
is "one POST, to the config's path" "$(posts r1) $(cat "$W/r1/1.path")" "1 /v1/nodes/node-1/report"
check "headers: Authorization: Bearer TOKEN, Content-Type: application/json" \
    sh -c "grep -qx 'Authorization: Bearer $TOKEN\r\{0,1\}' '$W/r1/1.headers' && grep -qix 'Content-Type: application/json\r\{0,1\}' '$W/r1/1.headers'"
is "body: exactly the contract's keys, in order" "$(jq -c keys_unsorted "$B")" \
    '["version","node","token","secure_boot","tpm","pcrs","eventlog","ek_certs","kernel","cmdline","uptime"]'
is "body: version 1, node, token, secure_boot on, tpm true" \
    "$(jq -c '[.version, .node, .token, .secure_boot, .tpm]' "$B")" "[1,\"node-1\",\"$TOKEN\",\"on\",true]"
is "body: the banks are the TPM's allocated ones (tpm2_getcap pcrs), sha256 among them" \
    "$(jq -r '.pcrs | keys_unsorted | join(",")' "$B")" "$(cat "$W/banks.txt")"
check "banks.txt has sha256" grep -q sha256 "$W/banks.txt"
is "body: PCRs 0-23 in every bank" "$(jq -c '[.pcrs[] | keys_unsorted == ([range(24)] | map(tostring))] | unique' "$B")" "[true]"
is "body: PCR 16 sha1 = SHA1(0^20 || SHA1(\"trustlaunch\"))" "$(jq -r '.pcrs.sha1["16"]' "$B")" "$E16_1"
is "body: PCR 16 sha256 = SHA256(0^32 || SHA256(\"trustlaunch\"))" "$(jq -r '.pcrs.sha256["16"]' "$B")" "$E16_256"
is "body: PCR 23 sha256 = the two extends" "$(jq -r '.pcrs.sha256["23"]' "$B")" "$E23_256"
is "body: PCR 23 sha1 (not extended) is zero" "$(jq -r '.pcrs.sha1["23"]' "$B")" "$(printf '%040d' 0)"
jq -r '.pcrs | to_entries[] | .key as $b | .value | to_entries[] | "\($b) \(.key) \(.value)"' "$B" | sort >"$W/body-pcrs.txt"
check "body: every PCR of every bank equals tpm2_pcrread's ($(wc -l <"$W/pcrread.txt") values)" \
    sh -c "[ -s '$W/pcrread.txt' ] && cmp '$W/pcrread.txt' '$W/body-pcrs.txt'"
jq -r .eventlog "$B" | base64 -d >"$W/body-log.bin"
check "body: eventlog is the file, base64" cmp "$W/body-log.bin" "$LOG"
is "body: ek_certs has rsa2048 and ecc-p256" "$(jq -c '.ek_certs | keys_unsorted' "$B")" '["rsa2048","ecc-p256"]'
for t in rsa:rsa2048 ecc:ecc-p256; do
    jq -r --arg k "${t#*:}" '.ek_certs[$k]' "$B" | base64 -d >"$W/body-${t%%:*}.der"
    check "body: ${t#*:} certificate = NV content (tpm2_nvread)" cmp "$W/body-${t%%:*}.der" "$W/nv-${t%%:*}.der"
    openssl x509 -inform DER -in "$W/body-${t%%:*}.der" -out "$W/body-${t%%:*}.pem" 2>/dev/null
    check "body: ${t#*:} certificate: openssl verify to the provisioned CA" \
        openssl verify -CAfile "$W/ca/root.pem" -untrusted "$W/ca/intermediate.pem" "$W/body-${t%%:*}.pem"
done
is "body: certificates' sha256 = tl vtpm provision's" \
    "$(sha256sum "$W/body-rsa.der" "$W/body-ecc.der" | cut -d' ' -f1 | paste -sd' ')" \
    "$(jq -r '[.eks[].certificate.sha256] | join(" ")' "$W/prov.json")"
is "body: kernel = uname -r, cmdline = /proc/cmdline" "$(jq -r '.kernel, .cmdline' "$B")" "$(uname -r; tr -d '\n' </proc/cmdline | sed 's/ *$//')"
check "body: uptime is a number > 0 and <= /proc/uptime" \
    sh -c "jq -e '.uptime | type == \"number\" and . > 0' '$B' >/dev/null && awk -v u=\$(jq .uptime '$B') '{ exit !(u <= \$1 + 0.01) }' /proc/uptime"

# ---- 4. Secure Boot states, no TPM ------------------------------------------------
receiver r2 200
agent off --url "$URL" --token "$TOKEN" --node node-1 "${NOTPM[@]}" --efivars "$W/efi-off" --once
agent none --url "$URL" --token "$TOKEN" --node node-1 "${NOTPM[@]}" --efivars "$W/efi-none" --once
agent nodir --url "$URL" --token "$TOKEN" --node node-1 "${NOTPM[@]}" --efivars "$W/nonexistent" --once
is "secure_boot off (value 0), unknown (empty efivars dir), unknown (no dir); exit 0 each" \
    "$(jq -r .secure_boot "$W/r2/1.body" "$W/r2/2.body" "$W/r2/3.body" | paste -sd' ') $(rc off)$(rc none)$(rc nodir)" \
    "off unknown unknown 000"
is "no TPM, no event log: tpm false, pcrs null, eventlog null, ek_certs {}" \
    "$(jq -c '[.tpm, .pcrs, .eventlog, .ek_certs]' "$W/r2/2.body")" '[false,null,null,{}]'
is "no TPM: console says so" "$(sed -n 2p "$W/none.out")" \
    "TL: agent evidence tpm=no banks=none eventlog=absent secure-boot=unknown ek-certs=none"
agent dirlog --url "$URL" --token "$TOKEN" --node node-1 --tcti device:/nonexistent --eventlog "$W" --fw-cfg "$W/nonexistent" --once
check "an event log that exists but cannot be read: exit 1, 'failed: event log ...', nothing posted" \
    sh -c "[ $(rc dirlog) = 1 ] && grep -qx 'TL: agent failed: event log $W: Is a directory' '$W/dirlog.out' && [ ! -e '$W/r2/4.body' ]"

# ---- 5. the config from the fw_cfg file; options override it --------------------
receiver r3 200
jq -cn --arg u "$URL" --arg t "$TOKEN" '{url: $u, token: $t, node: "fw-node", later: {"x": 1}}' >"$W/fwcfg.json"
agent fw "${NOTPM[@]}" --fw-cfg "$W/fwcfg.json" --efivars "$W/efi-none" --once
is "fw_cfg file: exit 0, its url and node (unknown keys ignored)" \
    "$(rc fw) $(head -n1 "$W/fw.out") $(jq -r .node "$W/r3/1.body")" "0 TL: agent config url=$URL node=fw-node fw-node"
agent fwover "${NOTPM[@]}" --fw-cfg "$W/fwcfg.json" --node other --token beef --efivars "$W/efi-none" --once
is "--node and --token override the config" "$(jq -r '.node + " " + .token' "$W/r3/2.body")" "other beef"
cp "$W/fwcfg.json" "$W/cfg.json"
agent cfg --config "$W/cfg.json" --tcti device:/nonexistent --eventlog "$W/nonexistent" --fw-cfg "$W/trunc.json" --efivars "$W/efi-none" --once
is "--config FILE wins over the fw_cfg file" "$(rc cfg) $(posts r3)" "0 3"

# ---- 6. retries, permanent failures ------------------------------------------------
receiver r4 500,500,200
t0=$(date +%s%N)
agent retry --url "$URL" --token "$TOKEN" --node node-1 "${NOTPM[@]}" --efivars "$W/efi-none" --once
t1=$(date +%s%N)
is "500, 500, then 200: exit 0 after backoff 0.5 s, 1 s" "$(rc retry) $(tail -n +3 "$W/retry.out")" \
    "0 TL: agent retry 1 in 0.5 s (HTTP 500: answer 500 to request 1)
TL: agent retry 2 in 1.0 s (HTTP 500: answer 500 to request 2)
TL: agent reported"
check "the three attempts sent the same body; took 1.5-4 s ($(((t1 - t0) / 1000000)) ms)" \
    sh -c "cmp '$W/r4/1.body' '$W/r4/3.body' && cmp '$W/r4/2.body' '$W/r4/3.body' && [ $((t1 - t0)) -ge 1500000000 ] && [ $((t1 - t0)) -lt 4000000000 ]"
receiver r5 400
agent perm --url "$URL" --token "$TOKEN" --node node-1 "${NOTPM[@]}" --efivars "$W/efi-none" --once
is "400: exit 1 at once, the server's first line" "$(rc perm) $(tail -n1 "$W/perm.out") $(posts r5)" \
    "1 TL: agent failed: HTTP 400: answer 400 to request 1 1"
receiver r6 503
agent gone5 --url "$URL" --token "$TOKEN" --node node-1 "${NOTPM[@]}" --efivars "$W/efi-none" --once --retry-for 1
is "503 for longer than --retry-for 1: exit 1 after 2 attempts" "$(rc gone5) $(tail -n1 "$W/gone5.out" | sed 's/ in [0-9.]* s)$/)/')" \
    "1 TL: agent failed: HTTP 503: answer 503 to request 2 (gave up after 2 attempts)"
t0=$(date +%s%N)
agent unreach --url http://127.0.0.1:1/v1/nodes/node-1/report --token "$TOKEN" --node node-1 "${NOTPM[@]}" --once --retry-for 2
t1=$(date +%s%N)
check "unreachable (port 1): retries, then exit 1 'gave up after 3 attempts' within --retry-for 2 ($(((t1 - t0) / 1000000)) ms)" \
    sh -c "[ $(rc unreach) = 1 ] && grep -q '^TL: agent retry 2 in 1.0 s (.*Couldn.t connect' '$W/unreach.out' && tail -n1 '$W/unreach.out' | grep -q '^TL: agent failed: .*(gave up after 3 attempts in' && [ $((t1 - t0)) -lt 2500000000 ]"

# ---- 7. without --once it keeps running --------------------------------------------
receiver r7 200
"$TL_AGENT" --url "$URL" --token "$TOKEN" --node node-1 "${NOTPM[@]}" --efivars "$W/efi-none" >"$W/stay.out" 2>&1 &
p=$!
pids+=("$p")
for _ in $(seq 500); do grep -q 'reported' "$W/stay.out" && break; sleep 0.01; done
sleep 0.3
kill -0 "$p" 2>/dev/null
alive=$?
kill -TERM "$p"
wait "$p" 2>/dev/null
is "without --once: reported, still running afterwards" "$(tail -n1 "$W/stay.out") $alive" "TL: agent reported 0"

# ---- 8. tl image build puts this agent (never an ASan build) in the image ----------
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
is_asan() { LC_ALL=C grep -q -a -F __asan_init "$1"; }
if [ -r "${TL_FIXTURES:-/nonexistent}/vmlinuz" ]; then
    if is_asan "$TL_AGENT"; then want=$repo/build/src/agent/tl-agent; else want=$TL_AGENT; fi
    "$TL_BIN" image build -o "$W/img" --fixtures "$TL_FIXTURES" >/dev/null 2>"$W/img.err"
    check "tl image build without --agent: exit 0" test $? = 0
    M=$W/img/manifest.json
    is "the image's /bin/tl-agent is $want (the normal build's)" \
        "$(jq -r '.components[] | select(.name == "initramfs") | .contents.files[] | select(.kind == "agent") | .path + " " + .sha256' "$M")" \
        "/bin/tl-agent $(sha256sum <"$want" | cut -d' ' -f1)"
    is "with libcurl, libtss2-tctildr and the device TCTI tctildr dlopen()s; no sanitizer runtime" \
        "$(jq -r '[.components[] | select(.name == "initramfs") | .contents.files[] | select(.kind == "library") | .name |
            select(test("^(libcurl|libtss2-tctildr|libtss2-tcti-device|libjansson|libtss2-esys)\\.so\\.[0-9]+$") or test("asan|ubsan"))] | sort | join(" ")' "$M")" \
        "libcurl.so.4 libjansson.so.4 libtss2-esys.so.0 libtss2-tcti-device.so.0 libtss2-tctildr.so.0"
    asan=$repo/build-asan/src/agent/tl-agent
    is_asan "$TL_AGENT" && asan=$TL_AGENT
    if [ -x "$asan" ] && is_asan "$asan"; then
        "$TL_BIN" image build -o "$W/img2" --fixtures "$TL_FIXTURES" --agent "$asan" >/dev/null 2>"$W/img2.err"
        rc=$?
        check "tl image build --agent <ASan build>: refused (exit 2, one line 'built with AddressSanitizer'), no image" \
            sh -c "[ $rc = 2 ] && [ \$(wc -l <'$W/img2.err') = 1 ] && grep -q 'built with AddressSanitizer' '$W/img2.err' && [ ! -e '$W/img2/disk.raw' ]"
    fi
else
    ok "# SKIP tl image build checks: no fixtures (make fixtures)"
fi

# ---- 9. the vTPM stops cleanly ----------------------------------------------------
kill -TERM "$VTPM_PID" 2>/dev/null
wait "$VTPM_PID"
check "tl vtpm run ends cleanly (exit 0)" test $? = 0

echo "# $n checks, $failed failed"
[ "$failed" = 0 ]
