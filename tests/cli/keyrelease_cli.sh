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
#     clause; a reader sees it;
#  8. a wrapped key opened by another node's swtpm: it cannot be. a1's
#     granted answer (saved by --release-dump) taken to a2's vTPM through
#     the agent's own unwrap (tl-agent --release-open): the key it was
#     wrapped to does not load there (its private area is protected under
#     a1's NULL seed: an integrity failure), and a2's own key's RSA_Decrypt
#     refuses the OAEP block; a1's TPM in the same boot opens the same
#     answer to the same bytes, and after a reset (a reboot: a new NULL
#     seed) not even a1's TPM can;
#  9. a version asked for ("version", --release VAULT/KEY/VERSION): after a
#     rotation the newest is the new version, the old one is still
#     released by name, its bytes the first release's; a version the token
#     does not hold (never made, or deleted with its key) is 404 naming
#     "version"; a malformed one 400.
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
# shellcheck source=tests/lib/tldhome.sh
. "$(dirname "$0")/../lib/tldhome.sh"

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

# ---- 8. another node's swtpm cannot open a1's answer ------------------------------------
opened() { # opened NODE OUT: tl-agent --release-open a1's saved answer with NODE's vTPM
    "$TL_AGENT" --tcti "swtpm:path=$W/$1/S" --release-open "$W/a1.req.json" --release-out "$2" \
        >"$W/$1.open.out" 2>"$W/$1.open.err"
}
is "a1's granted answer, the key it was wrapped to and that key's private area saved" \
    "$(jq -r '.version' "$W/a1.req.json.answer") $(test -s "$W/a1.req.json.private" && echo private)" \
    "$V private"
opened a2 "$W/a2.opened.key"
is "a2's vTPM: exit 1, nothing written" "$? $(test -e "$W/a2.opened.key" && echo written)" "1 "
is "a2's vTPM: a1's key does not load (its private area fails the integrity check under a2's NULL seed)" \
    "$(grep -c 'TL: agent release-open: the saved key does not load here: TPM Load (the saved release key): tpm:parameter(1):integrity check failed' "$W/a2.open.out")" 1
# RSA_Decrypt's OAEP check fails: TPM_RC_VALUE (Part 3, 14.3), which
# libtpms before that change says as TPM_RC_FAILURE for any decryption error
# (stefanberger/libtpms#445, "Return TPM_RC_VALUE upon decryption failure";
# Debian 12 has 0.9.2). Either way the TPM itself is fine: GetRandom answers.
is "a2's vTPM: its own key's RSA_Decrypt refuses the OAEP block (TPM_RC_VALUE, or older libtpms' TPM_RC_FAILURE), and the TPM still answers" \
    "$(grep -cE "TL: agent release-open: this TPM's own key does not open it: TPM RSA_Decrypt \(the ephemeral key\): tpm:(parameter\(1\):value is out of range or is not correct for the context|error\(2\.0\): commands not being accepted because of a TPM failure)$" "$W/a2.open.out") $(TPM2TOOLS_TCTI="swtpm:path=$W/a2/S" tpm2_getrandom 8 2>/dev/null | wc -c)" "1 8"
[ -s "$W/a2.open.err" ] && diag "a2 release-open stderr: $(head -c 300 "$W/a2.open.err")"
opened a1 "$W/a1.opened.key"
is "a1's vTPM, same boot: the saved key loads and opens the same answer: a1's released bytes" \
    "$? $(grep -c 'TL: agent release-open: opened with the saved key (32 bytes)' "$W/a1.open.out") $(xxd -p -c 64 "$W/a1.opened.key" 2>/dev/null)" \
    "0 1 $(xxd -p -c 64 "$W/a1.disk.key")"
kill -TERM "${pids[0]}" && wait "${pids[0]}" 2>/dev/null
extnode_tpm a1 # a new swtpm on the same state: a TPM reset, a new NULL seed
opened a1 "$W/a1.reboot.key"
is "a1's vTPM after a reset: exit 1, its own old key does not load either" \
    "$? $(grep -c 'the saved key does not load here: TPM Load (the saved release key): tpm:parameter(1):integrity check failed' "$W/a1.open.out") $(test -e "$W/a1.reboot.key" && echo written)" \
    "1 1 "
# a1's PCRs again, for the attestations below
# shellcheck disable=SC2046
TPM2TOOLS_TCTI="swtpm:path=$W/a1/S" tpm2_pcrextend $(cat "$W/a1/extend.txt") || bail "tpm2_pcrextend on a1"

# ---- 9. a version asked for -------------------------------------------------------------
tl keyvault key create --vault-name vault1 --name rot --kty oct-HSM --exportable true \
    --policy @"$W/pass.json" >"$W/rot1.json" || bail "key create rot: $(cat "$W/stderr")"
R1=$(jq -r .version "$W/rot1.json")
agent a1 vault1/rot "$W/rot.v1.key"
is "rot, newest (version 1): granted" "$? $(tail -n1 "$W/a1.agent.out")" "0 TL: agent released vault1/rot/$R1 (32 bytes)"
tl keyvault key rotate --vault-name vault1 --name rot >"$W/rot2.json" || bail "rotate: $(cat "$W/stderr")"
R2=$(jq -r .version "$W/rot2.json")
agent a1 vault1/rot "$W/rot.v2.key"
is "after a rotation the newest is version 2, other bytes" \
    "$? $(tail -n1 "$W/a1.agent.out") $(cmp -s "$W/rot.v1.key" "$W/rot.v2.key" || echo differ)" \
    "0 TL: agent released vault1/rot/$R2 (32 bytes) differ"
agent a1 "vault1/rot/$R1" "$W/rot.v1again.key" "$W/rot.v1.req.json"
is "version 1 by name: granted, the answer says version 1, the bytes of the first release" \
    "$? $(tail -n1 "$W/a1.agent.out") $(jq -r .version "$W/rot.v1.req.json.answer") $(jq -r .version "$W/rot.v1.req.json") $(cmp -s "$W/rot.v1.key" "$W/rot.v1again.key" && echo same)" \
    "0 TL: agent released vault1/rot/$R1 (32 bytes) $R1 $R1 same"
NOV=00000000000000000000000000000000
agent a1 "vault1/rot/$NOV" "$W/rot.none.key"
is "a version never made: exit 1, 404 naming version, nothing written" \
    "$? $(grep -cF "keys/release: HTTP 404: version: key vault1/rot has no version $NOV (never made, or deleted)" "$W/a1.agent.out") $(test -e "$W/rot.none.key" && echo written)" \
    "1 1 "
jq '.version = "V1"' "$W/rot.v1.req.json" >"$W/badver.json"
is "a malformed version: 400 naming version" "$(code "$A1" "$W/badver.json") $(jq -r .error "$W/resp")" \
    "400 version: V1 is not 32 lowercase hex digits"
tl keyvault key delete --vault-name vault1 --name rot >/dev/null || bail "delete rot: $(cat "$W/stderr")"
tl keyvault key create --vault-name vault1 --name rot --kty oct-HSM --exportable true \
    --policy @"$W/pass.json" >/dev/null || bail "key create rot again: $(cat "$W/stderr")"
agent a1 "vault1/rot/$R1" "$W/rot.deleted.key"
is "a version deleted with its key (the name made again): exit 1, 404 naming version" \
    "$? $(grep -cF "keys/release: HTTP 404: version: key vault1/rot has no version $R1 (never made, or deleted)" "$W/a1.agent.out") $(test -e "$W/rot.deleted.key" && echo written)" \
    "1 1 "
TL_TOKEN=$READER tl keyvault key release-log --vault-name vault1 --name rot >"$W/log-rot.json"
is "release-log of rot: the three granted releases with their versions (404s are not releases)" \
    "$(jq -c '[.[] | [.granted, .version]]' "$W/log-rot.json")" "[[true,\"$R1\"],[true,\"$R2\"],[true,\"$R1\"]]"
finish
