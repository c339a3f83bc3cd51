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
# - attestation, against a service played here with tpm2-tools as the peer
#   (tpm2_makecredential -T none on /enroll, tpm2_checkquote on /attest):
#   with the RSA and the ECC EK, TPM2_ActivateCredential recovers exactly the
#   service's secret; the EK public is tpm2_createek's and the EK certificate
#   NV's; the AK is restricted|sign|fixedTPM|fixedParent (tpm2_print), ECC
#   ECDSA or RSA RSASSA, SHA-256; the quote verifies with tpm2_checkquote, its
#   extraData is the nonce, the PCRs sent are exactly the quoted ones and equal
#   tpm2_pcrread's; no object or session is left in the TPM; a wrong credential
#   or a 403 on /activate: exit 1 with the reason; 404 on /enroll: "attestation
#   unsupported", still running; a fail verdict; every --interval, enrolling
#   again when the service lost the AK, retrying a 503;
# - no config at all: "TL: agent no-platform", exit 3, at once; the config
#   from the fw_cfg file; bad config or options: one stderr line, exit 2.
# - tl image build, without --agent, puts this build's agent (the normal
#   build's when this one is ASan) and the device TCTI into the image, and
#   refuses an ASan agent.
# Needs: TL_AGENT, TL_BIN, TL_VECTORS (TL_FIXTURES for the image checks);
# swtpm, tpm2-tools, openssl, jq, python3 (and what tl image build needs).
set -u
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
: "${TL_AGENT:?}" "${TL_BIN:?}" "${TL_VECTORS:?}"
for t in swtpm tpm2_pcrextend tpm2_pcrread tpm2_getcap tpm2_nvread tpm2_createek tpm2_flushcontext \
    tpm2_makecredential tpm2_checkquote tpm2_print openssl jq python3 base64; do
    command -v "$t" >/dev/null || bail "$t missing (apt-get install swtpm tpm2-tools openssl jq python3)"
done
LOG=$TL_VECTORS/eventlog/ovmf-debian12/secureboot-on.eventlog.bin
[ -r "$LOG" ] || bail "$LOG missing"
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
    wait_for 10 test -s "$R/port"
    URL=http://127.0.0.1:$(cat "$R/port")/v1/nodes/node-1/report
}
# ---- the attestation service, played with tpm2-tools as the peer (software:
# tpm2_makecredential -T none, tpm2_checkquote). Saves every request as the
# receiver does, and what it made and got into its folder. MODE: a comma
# list of enroll404 (an older tld), activate403, wrongname (the credential is
# made for another name than the AK's), lose=N (the N-th /nonce answers 404:
# the AK is forgotten), nonce503=N (the N-th /nonce answers 503), fail (the
# verdict is fail, 2 findings).
cat >"$W/service.py" <<'EOF'
import base64, hashlib, http.server, json, os, struct, subprocess, sys
out = sys.argv[1]
flags = {m.split("=")[0]: (int(m.split("=")[1]) if "=" in m else True) for m in sys.argv[2].split(",") if m}
os.makedirs(out, exist_ok=True)
st = {"n": 0, "nonces": 0, "attests": 0, "enrolled": False, "nonce": None}
def save(name, data):
    with open(f"{out}/{name}", "wb") as f:
        f.write(data)
class H(http.server.BaseHTTPRequestHandler):
    def answer(self, code, obj=None, text=""):
        self.send_response(code)
        self.end_headers()
        self.wfile.write((json.dumps(obj) + "\n").encode() if obj is not None else text.encode())
    def do_POST(self):
        st["n"] += 1
        n = st["n"]
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        for ext, data in (("body", body), ("path", self.path.encode()), ("headers", bytes(self.headers))):
            save(f"{n}.{ext}", data)
        path = self.path.rsplit("/", 1)[-1]
        if path == "report":
            return self.answer(200, {})
        req = json.loads(body)
        if path == "enroll":
            if flags.get("enroll404"):
                return self.answer(404, text="no such endpoint\n")
            ek, ak = base64.b64decode(req["ek_public"]), base64.b64decode(req["ak_public"])
            save("ek.pub", ek)
            save("ak.pub", ak)
            # the AK's name: nameAlg (sha256) || SHA-256(TPMT_PUBLIC)
            st["name"] = "000b" + hashlib.sha256(ak[2:]).hexdigest()
            name = "000b" + hashlib.sha256(b"another key").hexdigest() if flags.get("wrongname") else st["name"]
            save("secret.bin", os.urandom(32))
            subprocess.run(["tpm2_makecredential", "-Q", "-T", "none", "-u", f"{out}/ek.pub", "-s",
                            f"{out}/secret.bin", "-n", name, "-o", f"{out}/cred.out"],
                           check=True, stderr=subprocess.DEVNULL)
            # tpm2-tools' file: magic 0xBADCC0DE, version 1, then the
            # TPM2B_ID_OBJECT and the TPM2B_ENCRYPTED_SECRET
            cred = open(f"{out}/cred.out", "rb").read()
            assert cred[:8] == bytes.fromhex("badcc0de00000001")
            k = 10 + int.from_bytes(cred[8:10], "big")
            blob, enc = cred[8:k], cred[k:]
            assert len(enc) == 2 + int.from_bytes(enc[:2], "big")
            return self.answer(200, {"challenge": f"ch-{n}", "credential_blob": base64.b64encode(blob).decode(),
                                     "encrypted_secret": base64.b64encode(enc).decode()})
        if path == "activate":
            got = base64.b64decode(req["secret"])
            save("got-secret.bin", got)
            if flags.get("activate403") or got != open(f"{out}/secret.bin", "rb").read():
                return self.answer(403, {"error": "wrong secret"})  # as tld: JSON
            st["enrolled"] = True
            return self.answer(200, {"enrolled": True, "ak_name": st["name"]})
        if path == "nonce":
            st["nonces"] += 1
            if flags.get("nonce503") == st["nonces"]:
                return self.answer(503, text="busy\n")
            if flags.get("lose") == st["nonces"] or not st["enrolled"]:
                st["enrolled"] = False
                return self.answer(404, {"error": "unknown AK"})
            st["nonce"] = os.urandom(32).hex()
            save(f"n{st['nonces']}.given", st["nonce"].encode())
            return self.answer(200, {"nonce": st["nonce"], "expires_in": 60})
        if path == "attest":
            st["attests"] += 1
            a = st["attests"]
            pcrs = req["pcrs"]["sha256"]
            idx = sorted(pcrs, key=int)
            # tpm2-tools' "serialized" PCR file (tpm2_quote -o; its "values"
            # form breaks tpm2_checkquote 5.4 past 8 PCRs): TPML_PCR_SELECTION,
            # a count, TPML_DIGESTs of 8, as little-endian C structs
            mask = sum(1 << int(i) for i in idx)
            sel = struct.pack("<IHB4sx", 1, 0x000B, 3, mask.to_bytes(4, "little")) + bytes(8 * 15)
            chunks = [idx[k:k + 8] for k in range(0, len(idx), 8)]
            digests = b"".join(struct.pack("<I", len(c)) + b"".join(
                struct.pack("<H", 32) + bytes.fromhex(pcrs[i]).ljust(64, b"\0") for i in c) +
                bytes(66 * (8 - len(c))) for c in chunks)
            save(f"a{a}.pcrs", sel + struct.pack("<I", len(chunks)) + digests)
            save(f"a{a}.quote", base64.b64decode(req["quote"]))
            save(f"a{a}.sig", base64.b64decode(req["signature"]))
            save(f"a{a}.nonce", req["nonce"].encode())
            p = subprocess.run(["tpm2_checkquote", "-u", f"{out}/ak.pub", "-m", f"{out}/a{a}.quote", "-s",
                                f"{out}/a{a}.sig", "-f", f"{out}/a{a}.pcrs", "-g", "sha256", "-q",
                                st["nonce"] or "00"], capture_output=True)
            ok = p.returncode == 0 and req["nonce"] == st["nonce"]
            st["nonce"] = None
            if flags.get("fail") or not ok:
                return self.answer(200, {"verdict": "fail", "findings": ["a", "b"], "token": None, "attestation": a})
            return self.answer(200, {"verdict": "pass", "findings": [], "token": "x.y.z", "attestation": a})
        return self.answer(404, text="unknown path\n")
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
with open(f"{out}/port.tmp", "w") as f:
    f.write(str(s.server_port))
os.rename(f"{out}/port.tmp", f"{out}/port")
s.serve_forever()
EOF
service() { # service NAME MODE: starts one, sets URL and R (its folder)
    R=$W/$1
    python3 "$W/service.py" "$R" "$2" &
    pids+=($!)
    wait_for 10 test -s "$R/port"
    URL=http://127.0.0.1:$(cat "$R/port")/v1/nodes/node-1/report
}
paths() { # paths FOLDER: the last path component of each request, in order
    for f in $(ls "$1" | sed -n 's/^\([0-9]*\)\.path$/\1/p' | sort -n); do basename "$(cat "$1/$f.path")"; done | paste -sd' '
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
printf '{"url": "http://x/", "attest_interval": 9}' >"$W/int9.json"
printf '{"url": "http://x/", "attest_interval": "300"}' >"$W/intstr.json"
printf '{"url": "http://x/", "attest_interval": 86401}' >"$W/intbig.json"
bad "config: attest_interval 9" '"attest_interval" is not an integer from 10 to 86400' --config "$W/int9.json"
bad "config: attest_interval a string" '"attest_interval" is not an integer' --config "$W/intstr.json"
bad "config: attest_interval 86401" '"attest_interval" is not an integer' --config "$W/intbig.json"
bad "--interval 0" '--interval: seconds from 1 to 86400, not "0"' --interval 0
bad "--interval 1.5" '--interval: seconds from 1 to 86400, not "1.5"' --interval 1.5
bad "--ek dsa" '--ek: rsa or ecc, not "dsa"' --ek dsa
bad "--ak ecdaa" '--ak: ecc or rsa, not "ecdaa"' --ak ecdaa
bad "--pcrs 24" '--pcrs: PCR numbers 0-23 and ranges' --pcrs 0,24
bad "--pcrs 1,,2" '--pcrs: PCR numbers 0-23 and ranges' --pcrs 1,,2
bad "--pcrs 9-3" '--pcrs: PCR numbers 0-23 and ranges' --pcrs 9-3

# ---- 2. the vTPM: provisioned (EK certificates), running, PCRs extended --------
"$TL_BIN" vtpm provision --state "$W/st" --ca "$W/ca" --json >"$W/prov.json" 2>"$W/prov.err"
check "tl vtpm provision" test $? = 0
"$TL_BIN" vtpm run --state "$W/st" --json >"$W/run.json" 2>"$W/run.err" &
VTPM_PID=$!
pids+=("$VTPM_PID")
wait_for 10 test -s "$W/run.json"
SOCK=$(jq -r .socket "$W/run.json")
TCTI=swtpm:path=$SOCK
tpm() { TPM2TOOLS_TCTI=$TCTI "$@"; }
# digests to extend (sha1 and sha256 of two words), and the PCR values they give
read -r D1 D256 D256b E16_1 E16_256 E23_256 E14_256 <<<"$(python3 -c '
import hashlib
d1 = hashlib.sha1(b"trustlaunch").hexdigest()
d256 = hashlib.sha256(b"trustlaunch").hexdigest()
d256b = hashlib.sha256(b"agent").hexdigest()
e = lambda h, old, d: h(bytes.fromhex(old) + bytes.fromhex(d)).hexdigest()
p16_1 = e(hashlib.sha1, "00" * 20, d1)
p16_256 = e(hashlib.sha256, "00" * 32, d256)
p23 = e(hashlib.sha256, e(hashlib.sha256, "00" * 32, d256), d256b)
p14 = e(hashlib.sha256, "00" * 32, d256b)
print(d1, d256, d256b, p16_1, p16_256, p23, p14)')"
tpm tpm2_pcrextend "16:sha1=$D1,sha256=$D256" &&
    tpm tpm2_pcrextend "23:sha256=$D256" && tpm tpm2_pcrextend "23:sha256=$D256b" &&
    tpm tpm2_pcrextend "14:sha256=$D256b"
check "tpm2_pcrextend PCR 16 (sha1, sha256), 23 (sha256, twice) and 14 (sha256)" test $? = 0
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
    --efivars "$W/efi-on" --fw-cfg "$W/nonexistent" --once --no-attest
B=$W/r1/1.body
is "reported (--no-attest): exit 0" "$(rc full)" 0
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

# ---- 3b. attestation: enrolment (ActivateCredential) and quotes --------------------
akname() { echo "000b$(tail -c +3 "$1" | sha256sum | cut -c1-64)"; } # nameAlg || SHA-256(TPMT_PUBLIC)
transient() { tpm tpm2_getcap handles-transient; tpm tpm2_getcap handles-loaded-session; }
tpm tpm2_createek -G rsa -u "$W/ek-rsa.pub" -c "$W/ek.ctx" >/dev/null &&
    tpm tpm2_createek -G ecc -u "$W/ek-ecc.pub" -c "$W/ek.ctx" >/dev/null && tpm tpm2_flushcontext -t
check "tpm2_createek -G rsa, -G ecc (the EK publics to compare with)" test $? = 0
ATT=(--token "$TOKEN" --node node-1 --tcti "$TCTI" --eventlog "$LOG" --efivars "$W/efi-on" --fw-cfg "$W/nonexistent")

# RSA EK, ECC AK, the default PCRs
service s1 ""
agent att "${ATT[@]}" --url "$URL" --once
S=$W/s1
AK=$(akname "$S/ak.pub")
is "attestation: exit 0, nothing on stderr" "$(rc att) $(wc -c <"$W/att.err")" "0 0"
is "console: reported, enrolled (AK name's first 16 hex, RSA EK), attested pass" "$(tail -n +3 "$W/att.out")" \
    "TL: agent reported
TL: agent enrolled ak=${AK:0:16} ek=rsa2048
TL: agent attested verdict=pass attestation=1"
is "requests: report, enroll, activate, nonce, attest" "$(paths "$S")" "report enroll activate nonce attest"
check "every request has Authorization: Bearer TOKEN and Content-Type: application/json" \
    sh -c "for i in 1 2 3 4 5; do grep -qx 'Authorization: Bearer $TOKEN\r\{0,1\}' '$S/'\$i.headers && grep -qix 'Content-Type: application/json\r\{0,1\}' '$S/'\$i.headers || exit 1; done"
is "enroll: keys in order, ek_type rsa2048" "$(jq -c '[keys_unsorted, .ek_type]' "$S/2.body")" \
    '[["ek_type","ek_cert","ek_public","ak_public"],"rsa2048"]'
jq -r .ek_cert "$S/2.body" | base64 -d >"$W/att-ekcert.der"
check "enroll: ek_cert is the RSA EK certificate in NV 0x01c00002" cmp "$W/att-ekcert.der" "$W/nv-rsa.der"
check "enroll: ek_public is the marshalled TPM2B_PUBLIC tpm2_createek -G rsa writes" cmp "$S/ek.pub" "$W/ek-rsa.pub"
check "ActivateCredential recovered exactly the service's secret (RSA EK, 32 bytes)" \
    sh -c "[ \$(wc -c <'$S/secret.bin') = 32 ] && cmp '$S/secret.bin' '$S/got-secret.bin'"
is "activate: {challenge, secret}, the challenge given" "$(jq -c '[keys_unsorted, .challenge]' "$S/3.body")" \
    '[["challenge","secret"],"ch-2"]'
tpm2_print -t TPM2B_PUBLIC "$S/ak.pub" >"$W/ak1.txt" 2>&1
is "AK (tpm2_print): fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign, ECC P-256 ECDSA SHA-256, nameAlg sha256" \
    "$(awk '/^(name-alg|attributes|type|curve-id|scheme|scheme-halg):/ { k = $1; getline; sub("^ *value: ", ""); print k, $0 }' "$W/ak1.txt" | paste -sd' ')" \
    "name-alg: sha256 attributes: fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign type: ecc curve-id: NIST p256 scheme: ecdsa scheme-halg: sha256"
is "nonce: body {}" "$(cat "$S/4.body")" "{}"
is "attest: keys in order, the nonce given back" "$(jq -c '[keys_unsorted, .nonce == $n]' --arg n "$(cat "$S/n1.given")" "$S/5.body")" \
    '[["nonce","quote","signature","pcrs","eventlog"],true]'
check "the quote verifies: tpm2_checkquote -u AK -m quote -s signature -f PCRs -g sha256 -q nonce" \
    tpm2_checkquote -u "$S/ak.pub" -m "$S/a1.quote" -s "$S/a1.sig" -f "$S/a1.pcrs" -g sha256 -q "$(cat "$S/n1.given")"
is "the quote (tpm2_print TPMS_ATTEST): a quote, extraData = the nonce, sha256 PCRs 0-9 and 14" \
    "$(tpm2_print -t TPMS_ATTEST "$S/a1.quote" | awk '/^(type|extraData):/ { print $2 } /^ +pcrSelect: [0-9a-f]+$/ { print $2 }' | paste -sd' ')" \
    "8018 $(cat "$S/n1.given") ff4300"
is "pcrs: the sha256 bank, exactly PCRs 0-9 and 14" "$(jq -c '[.pcrs | keys_unsorted, (.sha256 | keys_unsorted)]' "$S/5.body")" \
    '[["sha256"],["0","1","2","3","4","5","6","7","8","9","14"]]'
jq -r '.pcrs.sha256 | to_entries[] | "sha256 \(.key) \(.value)"' "$S/5.body" | sort >"$W/att-pcrs.txt"
check "pcrs: equal tpm2_pcrread's (and PCR 14 = SHA256(0^32 || SHA256(\"agent\")))" \
    sh -c "awk '\$1 == \"sha256\" && (\$2 <= 9 || \$2 == 14)' '$W/pcrread.txt' | sort | cmp - '$W/att-pcrs.txt' && grep -qx 'sha256 14 $E14_256' '$W/att-pcrs.txt'"
jq -r .eventlog "$S/5.body" | base64 -d >"$W/att-log.bin"
check "attest: eventlog is the file, base64" cmp "$W/att-log.bin" "$LOG"
is "nothing left in the TPM (transient objects, sessions)" "$(transient)" ""

# ECC EK, RSA AK, --pcrs
service s2 ""
agent att2 "${ATT[@]}" --url "$URL" --once --ek ecc --ak rsa --pcrs 0,7,16,23
S=$W/s2
AK=$(akname "$S/ak.pub")
is "--ek ecc --ak rsa: exit 0, enrolled (ECC EK), attested pass" "$(rc att2) $(tail -n +4 "$W/att2.out")" \
    "0 TL: agent enrolled ak=${AK:0:16} ek=ecc-p256
TL: agent attested verdict=pass attestation=1"
check "ActivateCredential recovered exactly the service's secret (ECC EK)" cmp "$S/secret.bin" "$S/got-secret.bin"
jq -r .ek_cert "$S/2.body" | base64 -d >"$W/att2-ekcert.der"
check "enroll: ek_type ecc-p256, ek_cert NV 0x01c0000a's, ek_public tpm2_createek -G ecc's" \
    sh -c "[ \"\$(jq -r .ek_type '$S/2.body')\" = ecc-p256 ] && cmp '$W/att2-ekcert.der' '$W/nv-ecc.der' && cmp '$S/ek.pub' '$W/ek-ecc.pub'"
tpm2_print -t TPM2B_PUBLIC "$S/ak.pub" >"$W/ak2.txt" 2>&1
is "AK (tpm2_print): restricted|sign, fixedTPM|fixedParent, RSA 2048 RSASSA SHA-256" \
    "$(awk '/^(attributes|type|scheme|scheme-halg):/ { k = $1; getline; sub("^ *value: ", ""); print k, $0 } /^bits:/' "$W/ak2.txt" | paste -sd' ')" \
    "attributes: fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign type: rsa bits: 2048 scheme: rsassa scheme-halg: sha256"
check "the RSA quote verifies with tpm2_checkquote" \
    tpm2_checkquote -u "$S/ak.pub" -m "$S/a1.quote" -s "$S/a1.sig" -f "$S/a1.pcrs" -g sha256 -q "$(cat "$S/n1.given")"
is "--pcrs 0,7,16,23: those PCRs, PCR 16 and 23 the extends computed" \
    "$(jq -c '.pcrs.sha256 | [keys_unsorted, .["16"], .["23"]]' "$S/5.body")" "[[\"0\",\"7\",\"16\",\"23\"],\"$E16_256\",\"$E23_256\"]"

# a fail verdict; a wrong credential; 403 on /activate; an older tld
service s3 fail
agent att3 "${ATT[@]}" --url "$URL" --once
is "verdict fail: exit 0, 'attested verdict=fail findings=2 attestation=1'" "$(rc att3) $(tail -n1 "$W/att3.out")" \
    "0 TL: agent attested verdict=fail findings=2 attestation=1"
service s4 wrongname
agent att4 "${ATT[@]}" --url "$URL" --once
is "a credential for another name: ActivateCredential fails in the TPM, exit 1, no /activate" \
    "$(rc att4) $(tail -n1 "$W/att4.out") $(paths "$W/s4")" \
    "1 TL: agent attest failed: TPM ActivateCredential: tpm:parameter(1):integrity check failed report enroll"
service s5 activate403
agent att5 "${ATT[@]}" --url "$URL" --once
is "403 on /activate (wrong secret): exit 1 with the service's line, no nonce asked" \
    "$(rc att5) $(tail -n1 "$W/att5.out") $(paths "$W/s5")" \
    "1 TL: agent attest failed: activate: HTTP 403: wrong secret report enroll activate"
is "after failures too, nothing left in the TPM" "$(transient)" ""
service s6 enroll404
agent att6 "${ATT[@]}" --url "$URL" --once
is "404 on /enroll (an older tld): exit 0, 'attestation unsupported'" "$(rc att6) $(tail -n1 "$W/att6.out") $(paths "$W/s6")" \
    "0 TL: agent attestation unsupported report enroll"
"$TL_AGENT" "${ATT[@]}" --url "$URL" >"$W/att7.out" 2>&1 &
p=$!
pids+=("$p")
for _ in $(seq 500); do grep -q 'unsupported' "$W/att7.out" && break; sleep 0.01; done
sleep 0.3 # an observation window, not a wait: nothing must happen in it
kill -0 "$p" 2>/dev/null
alive=$?
kill -TERM "$p"
wait "$p" 2>/dev/null
is "404 on /enroll without --once: still running, nothing more asked" "$(tail -n1 "$W/att7.out") $alive $(posts s6)" \
    "TL: agent attestation unsupported 0 4"

# periodic: every --interval 1; the 2nd nonce: 404 (the AK is lost): enrol
# again; the 3rd: 503, retried
service s8 lose=2,nonce503=3
t0=$(date +%s%N)
"$TL_AGENT" "${ATT[@]}" --url "$URL" --interval 1 >"$W/att8.out" 2>&1 &
p=$!
pids+=("$p")
for _ in $(seq 6000); do grep -q 'attestation=3' "$W/att8.out" && break; sleep 0.01; done
t1=$(date +%s%N)
kill -TERM "$p"
wait "$p" 2>/dev/null
tpm tpm2_flushcontext -t # the agent was killed holding its AK
AK=$(akname "$W/s8/ak.pub")
is "every second: attested, lost (404), enrolled again, retried (503), attested, attested" "$(tail -n +4 "$W/att8.out")" \
    "TL: agent enrolled ak=${AK:0:16} ek=rsa2048
TL: agent attested verdict=pass attestation=1
TL: agent enrolment lost (nonce: HTTP 404: unknown AK): enrolling again
TL: agent enrolled ak=${AK:0:16} ek=rsa2048
TL: agent retry 1 in 0.5 s (HTTP 503: busy)
TL: agent attested verdict=pass attestation=2
TL: agent attested verdict=pass attestation=3"
is "periodic: the requests" "$(paths "$W/s8")" \
    "report enroll activate nonce attest nonce enroll activate nonce nonce attest nonce attest"
# the floor only: the agent waited its intervals and its retry (a loaded
# host may take any time longer; an upper bound would be a timed test)
check "periodic: two intervals and a retry took at least 2.5 s ($(((t1 - t0) / 1000000)) ms)" \
    sh -c "[ $((t1 - t0)) -ge 2500000000 ]"

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
is "no TPM: console says so; no attestation" "$(tail -n +2 "$W/none.out")" \
    "TL: agent evidence tpm=no banks=none eventlog=absent secure-boot=unknown ek-certs=none
TL: agent reported
TL: agent attestation off: no TPM"
agent dirlog --url "$URL" --token "$TOKEN" --node node-1 --tcti device:/nonexistent --eventlog "$W" --fw-cfg "$W/nonexistent" --once
check "an event log that exists but cannot be read: exit 1, 'failed: event log ...', nothing posted" \
    sh -c "[ $(rc dirlog) = 1 ] && grep -qx 'TL: agent failed: event log $W: Is a directory' '$W/dirlog.out' && [ ! -e '$W/r2/4.body' ]"

# ---- 5. the config from the fw_cfg file; options override it --------------------
receiver r3 200
jq -cn --arg u "$URL" --arg t "$TOKEN" '{url: $u, token: $t, node: "fw-node", later: {"x": 1}, attest_interval: 10}' >"$W/fwcfg.json"
agent fw "${NOTPM[@]}" --fw-cfg "$W/fwcfg.json" --efivars "$W/efi-none" --once
is "fw_cfg file: exit 0, its url and node (unknown keys ignored, attest_interval 10 taken)" \
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
TL: agent reported
TL: agent attestation off: no TPM"
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
sleep 0.3 # an observation window, not a wait: nothing must happen in it
kill -0 "$p" 2>/dev/null
alive=$?
kill -TERM "$p"
wait "$p" 2>/dev/null
is "without --once: reported, still running afterwards" "$(tail -n2 "$W/stay.out" | paste -sd' ') $alive" \
    "TL: agent reported TL: agent attestation off: no TPM 0"

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
    CS=$(PATH=$PATH:/usr/sbin:/sbin command -v cryptsetup)
    is "the encrypted data disk's kit: this host's cryptsetup as /sbin/cryptsetup, libcryptsetup, the dm-crypt, XTS, AF_ALG, virtio-blk and ext4 modules" \
        "$(jq -r '[.components[] | select(.name == "initramfs") | .contents.files[] |
            select(.kind == "tool" or (.kind == "library" and (.name | startswith("libcryptsetup"))) or
                   (.kind == "module" and (.name | test("^(dm_mod|dm_crypt|xts|af_alg|algif_skcipher|virtio_blk|ext4)$")))) |
            .kind + ":" + .name + (if .kind == "tool" then ":" + .path + ":" + .sha256 else "" end)] | sort | join(" ")' "$M")" \
        "library:libcryptsetup.so.12 module:af_alg module:algif_skcipher module:dm_crypt module:dm_mod module:ext4 module:virtio_blk module:xts tool:cryptsetup:/sbin/cryptsetup:$(sha256sum <"$CS" | cut -d' ' -f1)"
    asan=$repo/build-asan/src/agent/tl-agent
    is_asan "$TL_AGENT" && asan=$TL_AGENT
    if [ -x "$asan" ] && is_asan "$asan"; then
        "$TL_BIN" image build -o "$W/img2" --fixtures "$TL_FIXTURES" --agent "$asan" >/dev/null 2>"$W/img2.err"
        rc=$?
        check "tl image build --agent <ASan build>: refused (exit 2, one line 'built with AddressSanitizer'), no image" \
            sh -c "[ $rc = 2 ] && [ \$(wc -l <'$W/img2.err') = 1 ] && grep -q 'built with AddressSanitizer' '$W/img2.err' && [ ! -e '$W/img2/disk.raw' ]"
    fi
else
    skip "tl image build checks" "no fixtures (make fixtures)"
fi

# ---- 9. the vTPM stops cleanly ----------------------------------------------------
kill -TERM "$VTPM_PID" 2>/dev/null
wait "$VTPM_PID"
check "tl vtpm run ends cleanly (exit 0)" test $? = 0

finish
