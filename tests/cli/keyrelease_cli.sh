#!/usr/bin/env bash
# The key release protocol (issue 15) with a real tld, SoftHSM2, real swtpm
# vTPMs and the real tl-agent: two external nodes a1 and a2, each its own
# swtpm with the OVMF event log replayed into its PCRs.
#
#  1. a1's agent attests (pass), makes an RSA key in its vTPM's NULL
#     hierarchy, certifies it with its AK over tld's nonce, gets the key
#     wrapped to it and opens it in the TPM: the bytes are the key's, as an
#     independent unwrap (tests/tools/keystore-wrap.c + openssl) gives them;
#  2. a key whose policy a1's claims do not meet: refused (exit 1), naming
#     the clause; nothing written;
#  3. the granted request replayed as it was sent: 403, the nonce;
#  4. a2's certified key (a2's AK) sent on a1's route with a fresh a1 nonce:
#     403, the certification (the signature is not a1's AK's);
#  5. a2's token on a1's release route: 403, not this node's token;
#  6. a non-exportable key: refused at its clause; a node whose attestation
#     just failed (its event log does not replay to its PCRs): refused at
#     "attestation", though its certification is good;
#  7. the release log: every one of these, granted or refused, with its
#     clause; a reader sees it.
# Needs: TL_BIN, TL_TLD, TL_AGENT, TL_KEYSTORE_WRAP, TL_VECTORS; SoftHSM2,
# swtpm, tpm2-tools, openssl, jq, curl. KEEP=1 keeps the work folder.
set -u
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
# shellcheck source=tests/lib/extnode.sh
. "$(dirname "$0")/../lib/extnode.sh"
: "${TL_BIN:?}" "${TL_TLD:?}" "${TL_AGENT:?}" "${TL_KEYSTORE_WRAP:?}" "${TL_VECTORS:?}"
MODULE=${TL_PKCS11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
[ -r "$MODULE" ] || skip_all "no PKCS#11 module at $MODULE (apt-get install softhsm2)"
for t in swtpm tpm2_pcrextend; do
    command -v "$t" >/dev/null 2>&1 || skip_all "$t not installed (apt-get install swtpm tpm2-tools)"
done
for t in jq curl openssl xxd; do command -v "$t" >/dev/null 2>&1 || bail "$t missing"; done
LOG=$TL_VECTORS/eventlog/ovmf-debian12/secureboot-on.eventlog.bin
[ -r "$LOG" ] || bail "$LOG missing"

W=$(mktemp -d /tmp/tl-release.XXXXXX) || bail mktemp
export TL_HOME=$W/home TL_TLD TSS2_LOG=all+none
unset TL_TOKEN TL_STORE_DIRS
pids=()
# shellcheck disable=SC2317
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    [ -r "$TL_HOME/tld.addr" ] && kill -TERM "$(awk '{print $2}' "$TL_HOME/tld.addr")" 2>/dev/null
    wait 2>/dev/null
    if [ -n "${KEEP:-}" ]; then echo "# kept: $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE

tl() { "$TL_BIN" "$@" 2>"$W/stderr"; }

# ---- the nodes, their vTPMs, the boot measured into them ------------------------------
for n in a1 a2; do
    tl node create "$n" --external --json >"$W/$n.create.json" || bail "tl node create $n: $(cat "$W/stderr")"
done
read -r URL _ <"$TL_HOME/tld.addr" || bail "no tld.addr"
A1=$(jq -r .token "$TL_HOME/nodes/a1/agent.json")
A2=$(jq -r .token "$TL_HOME/nodes/a2/agent.json")
for n in a1 a2; do extnode_tpm "$n" "$LOG"; done
mkdir -p "$W/efivars"
printf '\006\000\000\000\001' >"$W/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"
# agent NODE KEY OUT [DUMP]: tl-agent --once with a release; output in W/NODE.agent.out
# (AGENT_LOG: another event log to send)
agent() {
    "$TL_AGENT" --config "$TL_HOME/nodes/$1/agent.json" --tcti "swtpm:path=$W/$1/S" \
        --eventlog "${AGENT_LOG:-$LOG}" \
        --efivars "$W/efivars" --once --release "$2" --release-out "$3" ${4:+--release-dump "$4"} \
        >"$W/$1.agent.out" 2>"$W/$1.agent.err"
}

# ---- the keys -------------------------------------------------------------------------
cat >"$W/pass.json" <<'EOF'
{"version": "1.0.0",
 "anyOf": [{"authority": "trustlaunch",
            "allOf": [{"claim": "verdict", "equals": "pass"},
                      {"claim": "secure_boot", "equals": true},
                      {"claim": "vtpm", "equals": true}]}]}
EOF
cat >"$W/cvm.json" <<'EOF'
{"version": "1.0.0",
 "anyOf": [{"authority": "trustlaunch",
            "allOf": [{"claim": "verdict", "equals": "pass"},
                      {"claim": "security_type", "equals": "ConfidentialVM"}]}]}
EOF
tl keyvault create --name vault1 >/dev/null || bail "keyvault create: $(cat "$W/stderr")"
tl keyvault key create --vault-name vault1 --name disk --kty oct-HSM --size 256 --exportable true \
    --policy @"$W/pass.json" >"$W/disk.json" || bail "key create disk: $(cat "$W/stderr")"
tl keyvault key create --vault-name vault1 --name cvm --kty oct-HSM --exportable true \
    --policy @"$W/cvm.json" >/dev/null || bail "key create cvm: $(cat "$W/stderr")"
tl keyvault key create --vault-name vault1 --name sealed --kty oct-HSM >/dev/null ||
    bail "key create sealed: $(cat "$W/stderr")"

# ---- 1. granted -----------------------------------------------------------------------
agent a1 vault1/disk "$W/a1.disk.key" "$W/a1.req.json"
rc=$?
V=$(jq -r .version "$W/disk.json")
is "a1's agent: exit 0, attested pass, released the newest version (32 bytes)" \
    "$rc $(grep -c 'TL: agent attested verdict=pass' "$W/a1.agent.out") $(tail -n1 "$W/a1.agent.out")" \
    "0 1 TL: agent released vault1/disk/$V (32 bytes)"
[ -s "$W/a1.agent.err" ] && diag "agent stderr: $(head -c 300 "$W/a1.agent.err")"
is "the key file is new and private (0600)" "$(stat -c %a "$W/a1.disk.key" 2>/dev/null)" 600
# the same key taken out of the token independently (tld stopped: one process per token)
{ openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$W/target.pem" 2>/dev/null &&
    openssl pkey -in "$W/target.pem" -pubout -outform DER -out "$W/target.spki"; } || bail "openssl genpkey"
kill -TERM "$(awk '{print $2}' "$TL_HOME/tld.addr")"
wait_for 20 eval "! curl -s -o /dev/null $URL/v1/health" || bail "tld did not stop"
"$TL_KEYSTORE_WRAP" "$TL_HOME" vault1 disk "$W/target.spki" >"$W/indep.wrap" 2>"$W/wrap.err" ||
    bail "keystore-wrap: $(cat "$W/wrap.err")"
head -c 256 "$W/indep.wrap" >"$W/eph.enc"
tail -c +257 "$W/indep.wrap" >"$W/kwp.bin"
{ openssl pkeyutl -decrypt -inkey "$W/target.pem" -in "$W/eph.enc" -out "$W/eph.key" \
    -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 &&
    openssl enc -d -id-aes256-wrap-pad -iv A65959A6 -K "$(xxd -p -c 64 "$W/eph.key")" \
        -in "$W/kwp.bin" -out "$W/indep.key"; } || bail "the independent unwrap"
is "what a1's TPM opened is the key: the same 32 bytes as the independent unwrap" \
    "$(xxd -p -c 64 "$W/a1.disk.key")" "$(xxd -p -c 64 "$W/indep.key")"
tl keyvault list >/dev/null || bail "tld again: $(cat "$W/stderr")"
read -r URL _ <"$TL_HOME/tld.addr"

code() { # code TOKEN BODYFILE [NODE]: POST NODE's keys/release, the status (body in W/resp)
    curl -s -o "$W/resp" -w '%{http_code}' -X POST -H "Authorization: Bearer $1" \
        -H 'Content-Type: application/json' --data-binary @"$2" "$URL/v1/nodes/${3:-a1}/keys/release"
}

# ---- 2. a policy not met --------------------------------------------------------------
agent a1 vault1/cvm "$W/a1.cvm.key"
rc=$?
is "a key whose policy a1 does not meet: exit 1, refused naming the clause, nothing written" \
    "$rc $(grep -cF 'keys/release: HTTP 403: release refused: anyOf[0].allOf[1]: claim "security_type" is "TrustedLaunch", want equals "ConfidentialVM"' "$W/a1.agent.out") $(test -e "$W/a1.cvm.key" && echo written)" \
    "1 1 "

# ---- 3. a replay ----------------------------------------------------------------------
is "the granted request replayed as sent: 403, the nonce" \
    "$(code "$A1" "$W/a1.req.json") $(jq -r .error "$W/resp")" \
    "403 release refused: nonce: the nonce is not one tld issued to this node, or it was used or expired (a replayed request?)"

# ---- 4. another node's AK -------------------------------------------------------------
agent a2 vault1/disk "$W/a2.disk.key" "$W/a2.req.json"
is "a2's own release (its AK, its nonce): granted too, the same key" \
    "$? $(cmp -s "$W/a2.disk.key" "$W/a1.disk.key" && echo same)" "0 same"
FRESH=$(curl -s -X POST -H "Authorization: Bearer $A1" -d '{}' "$URL/v1/nodes/a1/nonce" | jq -r .nonce)
jq --arg n "$FRESH" '.nonce = $n' "$W/a2.req.json" >"$W/cross.json"
c=$(code "$A1" "$W/cross.json")
is "a2's certified key on a1's route with a fresh a1 nonce: 403 at the certification" \
    "$c $(jq -r .error "$W/resp")" "403 release refused: certify: signature: does not verify with the AK (ECDSA, sha256)"

# ---- 5. another node's token ----------------------------------------------------------
is "a2's token on a1's release route: 403, not this node's token" \
    "$(code "$A2" "$W/a2.req.json" a1) $(jq -r .error "$W/resp")" "403 not this node's token"

# ---- 6. a non-exportable key ----------------------------------------------------------
agent a1 vault1/sealed "$W/a1.sealed.key"
is "a non-exportable key: refused (exit 1) at its clause, nothing written" \
    "$? $(grep -cF 'HTTP 403: release refused: exportable: the key is not exportable' "$W/a1.agent.out") $(test -e "$W/a1.sealed.key" && echo written)" \
    "1 1 "

printf 'not an event log' >"$W/bad.eventlog"
AGENT_LOG=$W/bad.eventlog agent a2 vault1/disk "$W/a2.failed.key"
is "a2 after a failing attestation: refused (exit 1) at the attestation, nothing written" \
    "$? $(grep -c 'TL: agent attested verdict=fail' "$W/a2.agent.out") $(grep -cE 'HTTP 403: release refused: attestation: the node.s latest attestation \([0-9]+\) failed' "$W/a2.agent.out") $(test -e "$W/a2.failed.key" && echo written)" \
    "1 1 1 "

# ---- 7. the release log ---------------------------------------------------------------
READER=$(tl token create ro --role reader --json | jq -r .token)
TL_TOKEN=$READER tl keyvault key release-log --vault-name vault1 --name disk >"$W/log-disk.json" ||
    bail "release-log: $(cat "$W/stderr")"
is "release-log of disk (a reader): granted a1, refused the replay (nonce), granted a2, refused the cross-node AK (certify), refused a2 failing (attestation)" \
    "$(jq -c '[.[] | [.node, .granted, .clause]]' "$W/log-disk.json")" \
    '[["a1",true,"anyOf[0]"],["a1",false,"nonce"],["a2",true,"anyOf[0]"],["a1",false,"certify"],["a2",false,"attestation"]]'
tl keyvault key release-log --vault-name vault1 --name cvm >"$W/log-cvm.json"
is "release-log of cvm: refused at the clause, with the claim" \
    "$(jq -c '[.[] | [.node, .granted, .clause, (.reason | startswith("claim \"security_type\""))]]' "$W/log-cvm.json")" \
    '[["a1",false,"anyOf[0].allOf[1]",true]]'
tl keyvault key release-log --vault-name vault1 --name sealed >"$W/log-sealed.json"
is "release-log of sealed: refused, exportable" \
    "$(jq -c '[.[] | [.node, .granted, .clause]]' "$W/log-sealed.json")" '[["a1",false,"exportable"]]'
is "the granted entry names the version and the attestation" \
    "$(jq -c '.[0] | [.version, (.attestation > 0)]' "$W/log-disk.json")" "[\"$V\",true]"
finish
