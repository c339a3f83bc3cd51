#!/usr/bin/env bash
# tl vtpm against real swtpm and tpm2-tools: a provisioned vTPM's EK
# certificates, read from NV by tpm2_nvread / tpm2_getekcertificate on a
# swtpm started here, verify with `openssl verify` to the platform root and
# certify exactly the EKs tpm2_createek makes; the state on disk is
# encrypted (no plaintext, refused with a wrong key or none); a persisted
# state keeps its EK across restarts, an ephemeral one gets a new EK every
# run and leaves nothing behind; failures leave nothing half-created; every
# swtpm is stopped (no orphans).
# Needs: TL_BIN; swtpm, swtpm_ioctl (swtpm-tools), tpm2-tools, openssl, jq.
set -u
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
: "${TL_BIN:?}"
for t in swtpm swtpm_ioctl tpm2_nvread tpm2_createek tpm2_getekcertificate openssl jq; do
    command -v "$t" >/dev/null || bail "$t missing (apt-get install swtpm swtpm-tools tpm2-tools)"
done
W=$(mktemp -d /tmp/tl-vtpm-test.XXXXXX)
export TMPDIR=$W/tmp # tl's private swtpm directories land here
mkdir -p "$TMPDIR"
export TSS2_LOG=all+none
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT
tl() { "$TL_BIN" "$@" 2>"$W/stderr"; }
one_error_line() { # one_error_line PATTERN: stderr is one "tl: " line matching PATTERN
    test "$(wc -l <"$W/stderr")" = 1 && grep -q "^tl: .*$1" "$W/stderr"
}

# swtpm started by hand, as a node's host would: swtpm_start NAME STATE KEYFILE
# sets SOCK; swtpm_stop NAME stops it through its control channel.
swtpm_start() {
    local name=$1 state=$2 key=$3
    SOCK=$W/$name.sock
    rm -f "$SOCK" "$SOCK.ctrl"
    swtpm socket --tpm2 --tpmstate dir="$state" --ctrl type=unixio,path="$SOCK.ctrl" \
        --server type=unixio,path="$SOCK" --flags not-need-init,startup-clear \
        --key file="$key",mode=aes-256-cbc,format=binary --log file="$W/$name.log",level=0 &
    local p=$!
    pids+=("$p")
    eval "PID_$name=$p"
    # swtpm opens its sockets before it loads the state; it answers on the
    # control channel once it has.
    for _ in $(seq 500); do
        kill -0 "$p" 2>/dev/null || { wait "$p"; return $?; }
        [ -S "$SOCK.ctrl" ] && swtpm_ioctl --unix "$SOCK.ctrl" -c >/dev/null 2>&1 && return 0
        sleep 0.01
    done
    return 1
}
swtpm_stop() {
    local name=$1 p
    eval "p=\$PID_$name"
    swtpm_ioctl --unix "$W/$name.sock.ctrl" -s >/dev/null 2>&1 || kill "$p"
    wait "$p"
}
tpm() { TPM2TOOLS_TCTI="swtpm:path=$SOCK" "$@"; }
spki_sha256() { openssl pkey -pubin -in "$1" -outform DER | sha256sum | cut -d' ' -f1; }
cert_spki_sha256() { openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1; }

CA=$W/ca
ST=$W/node1
KEY=$W/node1.key

# 1. Provision: the CA is made on first use, the key next to the state.
tl vtpm provision --state "$ST" --ca "$CA" --json >"$W/prov.json"
rc=$?
check "provision exits 0" test "$rc" = 0
check "JSON: state, key_file DIR.key, ca_created, two EKs with certificates" \
    test "$(jq -c '[.state == "'"$ST"'", .key_file == "'"$KEY"'", .ca_created, ([.eks[].type] | join(",")), ([.eks[].nv_index] | join(",")), ([.eks[].certificate.issuer] | unique)]' "$W/prov.json")" = \
    '[true,true,true,"rsa2048,ecc-p256","0x01c00002,0x01c0000a",["CN=trustlaunch EK Intermediate CA"]]'
check "CA files: root.pem, intermediate.pem 0644; root.key, intermediate.key 0600; dir 0700" \
    test "$(stat -c '%n %a' "$CA" "$CA/root.pem" "$CA/root.key" "$CA/intermediate.pem" "$CA/intermediate.key" | sed "s|$CA|C|")" = \
    "$(printf 'C 700\nC/root.pem 644\nC/root.key 600\nC/intermediate.pem 644\nC/intermediate.key 600')"
check "state key: 32 bytes, 0600, outside the state" \
    test "$(stat -c '%s %a' "$KEY")" = "32 600"
check "state directory 0700 holding tpm2-00.permall" \
    test "$(stat -c %a "$ST") $(ls "$ST")" = "700 tpm2-00.permall"
check "CA: root and intermediate subjects, P-384" \
    test "$(openssl x509 -in "$CA/root.pem" -noout -subject -issuer; openssl x509 -in "$CA/intermediate.pem" -noout -subject -issuer; openssl pkey -in "$CA/root.key" -noout -text | grep -c 'NIST CURVE: P-384')" = \
    "$(printf 'subject=CN = trustlaunch EK Root CA\nissuer=CN = trustlaunch EK Root CA\nsubject=CN = trustlaunch EK Intermediate CA\nissuer=CN = trustlaunch EK Root CA\n1')"

# 2. The state at rest: no plaintext, refused with a wrong key or none.
check "state file holds no plaintext of the certificates" \
    test "$(grep -c -a 'trustlaunch EK' "$ST/tpm2-00.permall")" = 0
head -c 32 /dev/urandom >"$W/wrong.key"
chmod 600 "$W/wrong.key"
swtpm_start wrong "$ST" "$W/wrong.key"
rc=$?
check "swtpm refuses the state with a wrong key (exit $rc, HMAC check)" \
    sh -c "[ $rc != 0 ] && grep -q 'GetDecryptedData' '$W/wrong.log'"
swtpm socket --tpm2 --tpmstate dir="$ST" --ctrl type=unixio,path="$W/nokey.ctrl" \
    --server type=unixio,path="$W/nokey.sock" --flags not-need-init,startup-clear \
    --log file="$W/nokey.log",level=0 &
p=$!
pids+=("$p")
# until it has refused the state (exited) or loaded it (its control channel answers)
wait_for 10 sh -c "! kill -0 $p 2>/dev/null || swtpm_ioctl --unix '$W/nokey.ctrl' -c >/dev/null 2>&1"
kill -0 "$p" 2>/dev/null && { swtpm_ioctl --unix "$W/nokey.ctrl" -s >/dev/null 2>&1; }
wait "$p"
rc=$?
check "swtpm refuses the state without a key (exit $rc)" test "$rc" != 0
tl vtpm show --state "$ST" --key-file "$W/wrong.key"
rc=$?
check "tl vtpm show with the wrong key: exit 2, says it does not decrypt" \
    sh -c "[ $rc = 2 ] && grep -q '^tl: $ST: swtpm refused to start (exit status 1): the state does not decrypt with this key$' '$W/stderr'"

# 3. The certificates as a guest's tools read them, on a swtpm started here.
swtpm_start node1 "$ST" "$KEY"
check "swtpm starts on the state with its key" test $? = 0
tpm tpm2_nvread -C o 0x01c00002 -o "$W/ek-rsa.der" 2>/dev/null
tpm tpm2_nvread -C o 0x01c0000a -o "$W/ek-ecc.der" 2>/dev/null
tpm tpm2_getekcertificate -o "$W/get-rsa.der" -o "$W/get-ecc.der" >/dev/null 2>&1
check "tpm2_getekcertificate reads the same two certificates as tpm2_nvread" \
    sh -c "cmp '$W/ek-rsa.der' '$W/get-rsa.der' && cmp '$W/ek-ecc.der' '$W/get-ecc.der'"
tpm tpm2_nvreadpublic >"$W/nvpub.yaml" 2>/dev/null
check "NV attributes of both: platform-created, PP-written, write-locked, owner/auth-readable, no DA" \
    test "$(grep -c 'friendly: ppwrite|writelocked|writedefine|ppread|ownerread|authread|no_da|written|platformcreate$' "$W/nvpub.yaml")" = 2
tpm tpm2_createek -c - -G rsa -u "$W/tpm-ek-rsa.pem" -f pem >/dev/null 2>&1
tpm tpm2_createek -c - -G ecc -u "$W/tpm-ek-ecc.pem" -f pem >/dev/null 2>&1
swtpm_stop node1
check "swtpm stops cleanly" test $? = 0
for t in rsa ecc; do
    openssl x509 -inform DER -in "$W/ek-$t.der" -out "$W/ek-$t.pem"
    check "$t: openssl verify to the platform root through the intermediate" \
        openssl verify -CAfile "$CA/root.pem" -untrusted "$CA/intermediate.pem" "$W/ek-$t.pem"
    check "$t: the certificate's public key is tpm2_createek's EK" \
        test "$(cert_spki_sha256 "$W/ek-$t.pem")" = "$(spki_sha256 "$W/tpm-ek-$t.pem")"
    openssl x509 -in "$W/ek-$t.pem" -noout -text >"$W/ek-$t.txt"
done
check "rsa: modulus equals tpm2_createek's" \
    test "$(openssl x509 -in "$W/ek-rsa.pem" -noout -modulus)" = "$(openssl rsa -pubin -in "$W/tpm-ek-rsa.pem" -noout -modulus 2>/dev/null)"
check "ecc: P-256 key" grep -q 'NIST CURVE: P-256' "$W/ek-ecc.txt"
check "ek_sha256 in the JSON is the SubjectPublicKeyInfo hash of tpm2_createek's EKs" \
    test "$(jq -r '[.eks[].ek_sha256] | join(" ")' "$W/prov.json")" = "$(spki_sha256 "$W/tpm-ek-rsa.pem") $(spki_sha256 "$W/tpm-ek-ecc.pem")"
check "certificate sha256 in the JSON is the NV content's" \
    test "$(jq -r '[.eks[].certificate.sha256] | join(" ")' "$W/prov.json")" = "$(sha256sum <"$W/ek-rsa.der" | cut -c1-64) $(sha256sum <"$W/ek-ecc.der" | cut -c1-64)"
# The EK Credential Profile's fields (openssl's own decoding).
for t in rsa ecc; do
    f=$W/ek-$t.txt
    check "$t: SAN critical, DirName with TPM manufacturer/model/version (2.23.133.2.1/2/3)" \
        sh -c "grep -A1 'Subject Alternative Name: critical' '$f' | grep -Eq 'DirName:/.*2\.23\.133\.2\.1=id:[0-9A-F]{8}' && grep -q '2.23.133.2.2=' '$f' && grep -q '2.23.133.2.3=id:' '$f'"
    check "$t: basic constraints critical CA:FALSE, EKU 2.23.133.8.1, AKI, empty subject" \
        sh -c "grep -A1 'Basic Constraints: critical' '$f' | grep -q CA:FALSE && grep -A1 'Extended Key Usage' '$f' | grep -q 2.23.133.8.1 && grep -q 'Authority Key Identifier' '$f' && grep -q '^        Subject: *$' '$f'"
done
check "rsa: key usage critical, Key Encipherment only" \
    test "$(grep -A1 'Key Usage: critical' "$W/ek-rsa.txt" | tail -1 | tr -d ' ')" = "KeyEncipherment"
check "ecc: key usage critical, Key Agreement only" \
    test "$(grep -A1 'Key Usage: critical' "$W/ek-ecc.txt" | tail -1 | tr -d ' ')" = "KeyAgreement"
check "the AKI is the intermediate's SKI" \
    test "$(grep -A1 'Authority Key Identifier' "$W/ek-rsa.txt" | tail -1 | tr -d ' ')" = \
    "$(openssl x509 -in "$CA/intermediate.pem" -noout -ext subjectKeyIdentifier | tail -1 | tr -d ' ')"
check "openssl verify -x509_strict passes too" \
    openssl verify -x509_strict -CAfile "$CA/root.pem" -untrusted "$CA/intermediate.pem" "$W/ek-rsa.pem" "$W/ek-ecc.pem"

# 4. tl vtpm show: the same facts, and the verdict.
tl vtpm show --state "$ST" --ca "$CA" --json >"$W/show.json"
rc=$?
check "show --ca: exit 0, verdict pass, both certificates match the EK and chain" \
    test "$rc $(jq -c '[.verdict, [.eks[] | .matches_ek, .chain, .problem]]' "$W/show.json")" = \
    '0 ["pass",[true,"verified",null,true,"verified",null]]'
check "show: the persisted EK is the provisioned one (same ek_sha256 and certificates after stop/start)" \
    test "$(jq -c '[.eks[] | .ek_sha256, .certificate.sha256]' "$W/show.json")" = "$(jq -c '[.eks[] | .ek_sha256, .certificate.sha256]' "$W/prov.json")"
check "show: NV attributes 0x62072801 (with written and writelocked)" \
    test "$(jq -r '[.eks[].nv_attributes] | join(" ")' "$W/show.json")" = "0x62072801 0x62072801"
tl vtpm show --state "$ST" >"$W/show.txt"
check "show (text): exit 0, verdict pass" sh -c "[ $? = 0 ] && tail -1 '$W/show.txt' | grep -qx 'verdict: pass'"
tl vtpm provision --state "$W/other" --ca "$W/ca2" >/dev/null
tl vtpm show --state "$ST" --ca "$W/ca2" --json >"$W/show2.json"
rc=$?
check "show --ca with another platform's CA: exit 1, chain failed" \
    test "$rc $(jq -c '[.verdict, [.eks[].chain]]' "$W/show2.json")" = '1 ["fail",["failed","failed"]]'

# A state whose NV holds another vTPM's certificates (written as the
# platform would, with tpm2-tools): the certificate does not certify this EK.
mkdir -m 700 "$W/swap"
swtpm_start swap "$W/swap" "$KEY"
for t in rsa:0x01c00002 ecc:0x01c0000a; do
    f=$W/ek-${t%%:*}.der
    tpm tpm2_nvdefine "${t#*:}" -C p -s "$(stat -c %s "$f")" \
        -a "ppwrite|writedefine|ppread|ownerread|authread|no_da|platformcreate" >/dev/null 2>&1
    tpm tpm2_nvwrite "${t#*:}" -C p -i "$f" >/dev/null 2>&1
    tpm tpm2_nvwritelock "${t#*:}" -C p >/dev/null 2>&1
done
swtpm_stop swap
tl vtpm show --state "$W/swap" --key-file "$KEY" --ca "$CA" --json >"$W/show3.json"
rc=$?
check "show: another vTPM's (valid) certificates: exit 1, matches_ek false" \
    test "$rc $(jq -c '[.verdict, [.eks[] | .matches_ek, .chain, (.problem | test("another key"))]]' "$W/show3.json")" = \
    '1 ["fail",[false,"failed",true,false,"failed",true]]'
rm -rf "$W/empty" && mkdir -m 700 "$W/empty"
swtpm_start empty "$W/empty" "$KEY"
swtpm_stop empty
tl vtpm show --state "$W/empty" --key-file "$KEY" --json >"$W/show4.json"
rc=$?
check "show: a vTPM without certificates: exit 1, problem says the index is missing" \
    test "$rc $(jq -c '[.verdict, [.eks[] | .certificate, (.problem | test("0x01c0000[2a]"))]]' "$W/show4.json")" = \
    '1 ["fail",[null,true,null,true]]'

# 5. Persisted vs ephemeral across restarts (tl vtpm run, read with tpm2-tools).
wait_json() { for _ in $(seq 500); do [ -s "$1" ] && return 0; sleep 0.01; done; return 1; }
run_once() { # run_once OUT ARGS...: tl vtpm run, tpm2_createek through its socket, SIGTERM
    local out=$1; shift
    "$TL_BIN" vtpm run "$@" --json >"$out.json" 2>"$out.err" &
    local p=$!
    pids+=("$p")
    wait_json "$out.json"
    SOCK=$(jq -r .socket "$out.json")
    tpm tpm2_createek -c - -G rsa -u "$out.ek.pem" -f pem >/dev/null 2>&1
    tpm tpm2_nvread -C o 0x01c00002 -o "$out.cert.der" >/dev/null 2>&1
    jq -r .state "$out.json" >"$out.state"
    [ -d "$(cat "$out.state")" ] && echo present >"$out.during"
    kill -TERM "$p"
    wait "$p"
    echo $? >"$out.rc"
}
run_once "$W/p1" --state "$ST"
run_once "$W/p2" --state "$ST"
check "persisted: run exits 0 on SIGTERM, twice" test "$(cat "$W/p1.rc") $(cat "$W/p2.rc")" = "0 0"
check "persisted: the same EK after stop/start (and the provisioned one)" \
    test "$(spki_sha256 "$W/p1.ek.pem") $(spki_sha256 "$W/p2.ek.pem")" = "$(jq -r '.eks[0].ek_sha256 + " " + .eks[0].ek_sha256' "$W/prov.json")"
run_once "$W/e1" --ephemeral --ca "$CA" --name node-e
run_once "$W/e2" --ephemeral --ca "$CA" --name node-e
check "ephemeral: run exits 0 on SIGTERM, twice" test "$(cat "$W/e1.rc") $(cat "$W/e2.rc")" = "0 0"
check "ephemeral: a new EK every run" \
    test "$(spki_sha256 "$W/e1.ek.pem")" != "$(spki_sha256 "$W/e2.ek.pem")"
check "ephemeral: the JSON's ek_sha256 is the EK tpm2_createek sees" \
    test "$(jq -r '.eks[0].ek_sha256' "$W/e1.json")" = "$(spki_sha256 "$W/e1.ek.pem")"
openssl x509 -inform DER -in "$W/e1.cert.der" -out "$W/e1.cert.pem" 2>/dev/null
check "ephemeral: its EK certificate verifies to the root and certifies that EK, subject CN=node-e" \
    sh -c "openssl verify -CAfile '$CA/root.pem' -untrusted '$CA/intermediate.pem' '$W/e1.cert.pem' && [ \"\$(openssl x509 -in '$W/e1.cert.pem' -noout -subject)\" = 'subject=CN = node-e' ] && [ '$(cert_spki_sha256 "$W/e1.cert.pem" 2>/dev/null)' = '$(spki_sha256 "$W/e1.ek.pem")' ]"
check "ephemeral: the state existed while running (memory-backed) and is gone after" \
    sh -c "[ \"\$(cat '$W/e1.during')\" = present ] && case \$(cat '$W/e1.state') in /dev/shm/*) true;; *) false;; esac && [ ! -e \"\$(cat '$W/e1.state')\" ] && [ ! -e \"\$(cat '$W/e2.state')\" ]"

# QEMU attaches to the control socket (tpm-emulator) and shuts swtpm down
# when it ends: tl vtpm run then ends too, exit 0, the ephemeral state gone.
if command -v qemu-system-x86_64 >/dev/null; then
    "$TL_BIN" vtpm run --ephemeral --ca "$CA" --json >"$W/q.json" 2>"$W/q.err" &
    p=$!
    pids+=("$p")
    wait_json "$W/q.json"
    qemu-system-x86_64 -machine q35 -accel tcg -display none -serial none -monitor none -S \
        -qmp unix:"$W/qmp.sock",server=on,wait=off \
        -chardev socket,id=chrtpm,path="$(jq -r .ctrl_socket "$W/q.json")" \
        -tpmdev emulator,id=tpm0,chardev=chrtpm -device tpm-crb,tpmdev=tpm0 2>"$W/qemu.err" &
    q=$!
    pids+=("$q")
    # QMP answers once the machine (its TPM backend attached) is created
    cat >"$W/qmp.py" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rw")
f.readline()
for cmd in ("qmp_capabilities", "query-status"):
    f.write(json.dumps({"execute": cmd}) + "\n")
    f.flush()
    if "return" not in json.loads(f.readline()):
        sys.exit(1)
EOF
    qemu_ready() { ! kill -0 "$q" 2>/dev/null || python3 "$W/qmp.py" "$W/qmp.sock" 2>/dev/null; }
    wait_for 60 qemu_ready
    kill -0 "$q" 2>/dev/null
    qemu_up=$?
    kill -TERM "$q"
    wait "$q"
    by_itself=no
    for _ in $(seq 300); do kill -0 "$p" 2>/dev/null || { by_itself=yes; break; }; sleep 0.01; done
    [ $by_itself = no ] && kill -TERM "$p"
    wait "$p"
    rc=$?
    check "QEMU runs with the vTPM (tpm-emulator on the control socket); at its end tl vtpm run ends by itself, exit 0, state gone" \
        sh -c "[ $qemu_up = 0 ] && [ $by_itself = yes ] && [ $rc = 0 ] && [ ! -s '$W/q.err' ] && [ ! -e \"\$(jq -r .state '$W/q.json')\" ]"
else
    skip "QEMU with the vTPM" "qemu-system-x86_64 not installed"
fi

# 6. Bad usage and refusals: one line, exit 2, nothing created.
bad() { # bad DESCRIPTION PATTERN ARGS...
    local d=$1 pat=$2; shift 2
    tl vtpm "$@" >/dev/null
    local rc=$?
    if [ "$rc" = 2 ] && one_error_line "$pat"; then ok "$d"; else not_ok "$d" "exit $rc" "$(head -c 400 "$W/stderr")"; fi
}
bad "provision without --state" "vtpm provision: --state is required" provision --ca "$CA"
bad "provision without --ca" "vtpm provision: --ca is required" provision --state "$W/x"
bad "unknown option" "option --bogus is unknown" provision --bogus
bad "unknown verb" 'unknown verb "frob"' frob
bad "provision over a provisioned state" "already holds a vTPM state" provision --state "$ST" --ca "$CA"
bad "the key file inside the state" "must not be inside the state directory" provision --state "$W/x" --ca "$CA" --key-file "$W/x/k"
chmod 644 "$W/wrong.key"
bad "a key file readable by others" "readable by group or others (mode 0644)" show --state "$ST" --key-file "$W/wrong.key"
head -c 16 /dev/urandom >"$W/short.key" && chmod 600 "$W/short.key"
bad "a 16-byte key" "a state key is 32 bytes, this file has 16" show --state "$ST" --key-file "$W/short.key"
bad "show on a directory without a state" "not a provisioned vTPM state" show --state "$W/empty2" --key-file "$KEY"
mkdir "$W/ca3" && cp "$CA/root.pem" "$CA/root.key" "$W/ca3/"
bad "an incomplete CA is not completed or replaced" "incomplete EK CA (intermediate.key missing)" provision --state "$W/x" --ca "$W/ca3"
mkdir "$W/ca4" && cp "$CA"/* "$W/ca4/" && cp "$W/ca2/intermediate.pem" "$W/ca4/intermediate.pem"
bad "a CA whose parts do not fit" "EK CA: intermediate certificate: not a CA issued by the root" provision --state "$W/x" --ca "$W/ca4"
mkdir "$W/busy" && touch "$W/busy/f"
bad "provision into a non-empty directory" "not empty" provision --state "$W/busy" --ca "$CA"
check "nothing created by the refusals" sh -c "[ ! -e '$W/x' ] && [ ! -e '$W/x.key' ] && [ ! -e '$W/empty2.key' ] && [ \"\$(ls '$W/ca3')\" = \"\$(printf 'root.key\nroot.pem')\" ]"

# 7. Failures while provisioning leave nothing half-created.
TL_SWTPM=/nonexistent/swtpm tl vtpm provision --state "$W/f1" --ca "$CA" >/dev/null
rc=$?
check "swtpm missing: exit 2, one line, no state dir, no key" \
    sh -c "[ $rc = 2 ] && grep -q 'cannot run /nonexistent/swtpm' '$W/stderr' && [ ! -e '$W/f1' ] && [ ! -e '$W/f1.key' ]"
printf '#!/bin/sh\necho "swtpm: simulated failure" >&2\nexit 3\n' >"$W/failing-swtpm"
chmod +x "$W/failing-swtpm"
mkdir -m 700 "$W/f2"
TL_SWTPM=$W/failing-swtpm tl vtpm provision --state "$W/f2" --ca "$CA" --key-file "$W/f2.key" >/dev/null
rc=$?
check "swtpm fails: exit 2 with swtpm's reason; the given empty dir is kept empty, the new key removed" \
    sh -c "[ $rc = 2 ] && grep -q 'exit status 3): swtpm: simulated failure' '$W/stderr' && [ -d '$W/f2' ] && [ -z \"\$(ls -A '$W/f2')\" ] && [ ! -e '$W/f2.key' ]"
cp "$KEY" "$W/f3.key"
printf '#!/bin/sh\ntouch "$0.started"\nsleep 2\nexec swtpm "$@"\n' >"$W/slow-swtpm"
chmod +x "$W/slow-swtpm"
TL_SWTPM=$W/slow-swtpm "$TL_BIN" vtpm provision --state "$W/f3" --ca "$CA" >/dev/null 2>"$W/stderr" &
p=$!
wait_for 10 test -e "$W/slow-swtpm.started"
kill -TERM "$p"
wait "$p"
rc=$?
check "interrupted while starting swtpm: exit 2, 'interrupted', no state dir, the existing key kept" \
    sh -c "[ $rc = 2 ] && grep -q 'interrupted' '$W/stderr' && [ ! -e '$W/f3' ] && [ -f '$W/f3.key' ]"

# 8. No swtpm left running, no private directories left behind.
no_swtpm_left() { ! pgrep -f "swtpm socket.*$W" >/dev/null; } # (a function: pgrep -f would see an sh -c's own command line)
wait_for 5 no_swtpm_left
if pgrep -f "swtpm socket.*$W" >/dev/null; then
    not_ok "no swtpm of this test is running" "$(pgrep -af "swtpm socket.*$W")"
else
    ok "no swtpm of this test is running"
fi
check "tl removed its private directories" test -z "$(ls -A "$TMPDIR")"

finish
