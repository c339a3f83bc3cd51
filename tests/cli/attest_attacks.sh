#!/usr/bin/env bash
# The attestation service under attack: a real tld, real swtpm vTPMs, and a
# malicious agent played here with curl and tpm2-tools on the nodes' own TPMs.
#
# Three external nodes (tl node create --external): a persisted vTPM each,
# run here with swtpm, the real OVMF event log replayed into its PCRs. a1's
# tl-agent reports, enrols and attests: pass (the baseline is learned). Then
# tpm2-tools speak the protocol (enroll, ActivateCredential, activate, nonce,
# TPM2_Quote, attest): a quote made that way passes too, so each failure
# below is due to its attack alone, and each is rejected with its reason:
#  1. a reused nonce: fail, finding "nonce" (freshness), labels kept (only a
#     verified quote speaks for the node);
#  2. a quote signed by another node's AK (a2's, enrolled there): fail,
#     finding "quote": the signature does not verify with the AK;
#  3. an AK that skipped credential activation: a3 enrolled, never
#     activated: HTTP 401 on nonce and attest; on a1 a second AK enrolled,
#     not activated: its quote fails (not the enrolled AK), the enrolled AK
#     is unchanged; a guessed secret: 403, and the challenge is gone (one
#     try); an AK from another TPM under a1's EK: the TPM cannot activate
#     it; an unrestricted signing key: 403 at enrolment;
#  4. an EK certificate from an unknown CA (openssl, for the EK's own key):
#     403 naming the chain error; the same with the platform CA's issuer
#     name: 403, signature failure; a2's EK certificate sent to a1: 403 "not
#     the one issued to node a1"; a1's certificate with another EK: 403;
#  5. the event log with one byte changed inside the PK variable's data, one
#     event (BootOrder) removed, one event's type swapped (the SecureBoot
#     variable's record, shim's application record), truncated, absent: each
#     with a fresh nonce and quote: fail, the finding naming the record
#     (record check) or the PCR whose replay differs; labels gone, back
#     after a pass;
#  6. PCR values that do not match the quote's digest (one changed, one
#     missing): fail, finding "quote" naming the pcrDigest;
#  7. a SHA-1-only quote: fail (SHA-1 refused); a SHA-256 quote without PCRs
#     0-9 and a SHA-384 one: "SHA-256 is required";
#  8. bodies of 9 MiB: 413; malformed JSON, arrays, duplicate keys, wrong
#     types, bad base64, an oversized nonce: 400; a 6.7 MiB event log of
#     zeros: a finding; a wrong, missing or other node's bearer token: 403;
#     garbage quotes: findings. tld still answers /v1/health (same pid) and
#     tl node show; an integrity alert names the components; after SIGTERM
#     its log has no sanitizer report.
# Needs: TL_BIN, TL_TLD, TL_AGENT, TL_VECTORS; swtpm and tpm2-tools (exit 77
# without them); jq, curl, openssl. KEEP=1 keeps the work folder.
set -u
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
# shellcheck source=tests/lib/extnode.sh
. "$(dirname "$0")/../lib/extnode.sh"
: "${TL_BIN:?}" "${TL_TLD:?}" "${TL_AGENT:?}" "${TL_VECTORS:?}"
for t in swtpm tpm2_pcrextend tpm2_pcrread tpm2_nvread tpm2_createek tpm2_createak tpm2_readpublic \
    tpm2_createprimary tpm2_startauthsession tpm2_policysecret tpm2_activatecredential tpm2_quote \
    tpm2_flushcontext; do
    command -v "$t" >/dev/null 2>&1 || {
        skip_all "$t not installed (apt-get install swtpm tpm2-tools)"
    }
done
for t in jq curl openssl; do command -v "$t" >/dev/null 2>&1 || bail "$t missing (make deps)"; done
LOG=$TL_VECTORS/eventlog/ovmf-debian12/secureboot-on.eventlog.bin
[ -r "$LOG" ] || bail "$LOG missing"

T0=$(date +%s%N)
W=$(mktemp -d /tmp/tl-attack.XXXXXX) || bail mktemp
export TL_HOME=$W/home TL_TLD
pids=()
tld_pid=
tld_stopped=
# shellcheck disable=SC2317
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    # the tld this test started (on demand, by tl): its pid is in tld.addr
    [ -z "$tld_pid" ] && [ -z "$tld_stopped" ] && [ -r "$TL_HOME/tld.addr" ] &&
        read -r _ tld_pid <"$TL_HOME/tld.addr"
    [ -n "$tld_pid" ] && kill -TERM "$tld_pid" 2>/dev/null
    wait 2>/dev/null
    for _ in $(seq 200); do
        { [ -z "$tld_pid" ] || ! kill -0 "$tld_pid" 2>/dev/null; } && break
        sleep 0.02
    done
    if [ -n "${KEEP:-}" ]; then echo "# kept: $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE

tl() { "$TL_BIN" "$@"; }
# is DESCRIPTION GOT WANT; like DESCRIPTION GOT ERE: with what was got on failure
is() {
    if [ "$2" = "$3" ]; then ok "$1"; else
        not_ok "$1"
        echo "#   got:  ${2:0:600}"
        echo "#   want: ${3:0:600}"
    fi
}
like() {
    if printf '%s' "$2" | grep -Eq -- "$3"; then ok "$1"; else
        not_ok "$1"
        echo "#   got:  ${2:0:600}"
        echo "#   want: /$3/"
    fi
}

# ---- the nodes, their vTPMs, the boot measured into them ------------------------------
for n in a1 a2 a3; do
    tl node create "$n" --external --json >"$W/$n.create.json" 2>"$W/$n.create.err" ||
        bail "tl node create $n --external: $(head -c 300 "$W/$n.create.err")"
done
is "tl node create a1/a2/a3 --external: booting, external, a vTPM with both EK certificates" \
    "$(jq -sc '[.[] | [.state, .external, ([.ek[].type] | join(","))]] | unique' "$W"/a?.create.json)" \
    '[["booting",true,"rsa2048,ecc-p256"]]'
read -r URL tld_pid <"$TL_HOME/tld.addr" || bail "no $TL_HOME/tld.addr"
OPERATOR="Authorization: Bearer $(cat "$TL_HOME/operator.token")"
declare -A TOKENS
for n in a1 a2 a3; do TOKENS[$n]=$(jq -r .token "$TL_HOME/nodes/$n/agent.json"); done
token() { echo "${TOKENS[$1]}"; }
is "agent.json: the node's report URL on this tld" "$(jq -r .url "$TL_HOME/nodes/a1/agent.json")" \
    "$URL/v1/nodes/a1/report"

tpm() { # tpm NODE COMMAND...: a tpm2-tools command on the node's TPM
    local n=$1
    shift
    TPM2TOOLS_TCTI="swtpm:path=$W/$n/S" "$@"
}
tpm_clean() { # no resource manager: flush what the tools left loaded
    tpm "$1" tpm2_flushcontext -t >/dev/null 2>&1
    tpm "$1" tpm2_flushcontext -l >/dev/null 2>&1
    return 0
}

# every extended event's digests, as tpm2_pcrextend arguments
tl eventlog show "$LOG" --json >"$W/log.json" || bail "tl eventlog show"
jq -r '.events[] | select(.type != "EV_NO_ACTION") |
    "\(.pcr):" + ([.digests | to_entries[] | "\(.key)=\(.value)"] | join(","))' "$W/log.json" >"$W/extend.txt"
for n in a1 a2 a3; do
    extnode_tpm "$n"
    # shellcheck disable=SC2046
    tpm "$n" tpm2_pcrextend $(cat "$W/extend.txt") || bail "tpm2_pcrextend on $n"
    tpm "$n" tpm2_pcrread >"$W/$n.pcrread.yaml" 2>/dev/null
    tl eventlog replay "$LOG" --expect "$W/$n.pcrread.yaml" >"$W/$n.replay.txt" 2>&1
    rc=$?
    check "$n: the OVMF log ($(wc -l <"$W/extend.txt") events) replayed into the vTPM: tl eventlog replay --expect tpm2_pcrread: all match" \
        sh -c "[ $rc = 0 ] && grep -qx 'expected values: all match' '$W/$n.replay.txt' && grep -qx 'verdict: pass' '$W/$n.replay.txt'"
done

# ---- the baseline: a1's own agent ---------------------------------------------------------
mkdir -p "$W/efivars"
printf '\006\000\000\000\001' >"$W/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"
"$TL_AGENT" --config "$TL_HOME/nodes/a1/agent.json" --tcti "swtpm:path=$W/a1/S" --eventlog "$LOG" \
    --efivars "$W/efivars" --once >"$W/agent.out" 2>"$W/agent.err"
rc=$?
is "tl-agent --once on a1: exit 0, reported, enrolled, attested pass" \
    "$rc $(grep -c '^TL: agent reported$' "$W/agent.out") $(grep -c '^TL: agent enrolled ak=.* ek=rsa2048$' "$W/agent.out") $(tail -n1 "$W/agent.out")" \
    "0 1 1 TL: agent attested verdict=pass attestation=1"
[ -s "$W/agent.err" ] && echo "# agent stderr: $(head -c 300 "$W/agent.err")"
tl node show a1 --json >"$W/show.json"
is "tl node show a1: running, report consistent, attestation pass, labels trusted-launch and secure-boot" \
    "$(jq -c '[.state, .report.consistent, .attestation.verdict, .labels]' "$W/show.json")" \
    '["running",true,"pass",{"kubernetes.azure.com/trusted-launch":"true","kubernetes.azure.com/secure-boot":"true"}]'
tl attestation list --node a1 --json >"$W/list.json"
is "tl attestation list --node a1: one attestation, pass, no findings, no token (a list never carries one)" \
    "$(jq -c '[.attestations | length, (.[0] | .verdict, .findings, (.token | type))]' "$W/list.json")" \
    '[1,"pass",[],"null"]'
is "tl attestation show (the operator asks for one): its token" \
    "$(tl attestation show "$(jq -r '.attestations[0].id' "$W/list.json")" --json | jq -r '.token | type')" \
    "string"
curl -s -H "$OPERATOR" "$URL/v1/nodes/a1/policy" >"$W/policy.json"
is "the first pass is the baseline: sha256 PCRs 0-7, the TPM's values" \
    "$(jq -c '.baseline.sha256' "$W/policy.json")" \
    "$(awk '/^  sha256:$/ { s = 1; next } /^  [a-z0-9]+:$/ { s = 0 } s && $1 + 0 < 8 && /0x/ { i = $1; sub(":", "", i); v = tolower($NF); sub("^0x", "", v); print i, v }' "$W/a1.pcrread.yaml" |
        jq -Rnc '[inputs | split(" ")] | map({(.[0]): .[1]}) | add')"

# ---- the malicious agent: curl + tpm2-tools ---------------------------------------------------
api() { # api NODE ACTION BODYFILE [TOKEN]: POST; CODE, the answer in W/resp.json
    local tok=${4-${TOKENS[$1]}}
    CODE=
    CODE=$(curl -s -o "$W/resp.json" -w '%{http_code}' -H "Authorization: Bearer $tok" \
        -H 'Content-Type: application/json' --data-binary "@$3" "$URL/v1/nodes/$1/$2")
}
answer() { jq -c "$1" "$W/resp.json" 2>/dev/null || head -c 300 "$W/resp.json"; }
err() { jq -r .error "$W/resp.json" 2>/dev/null; }
keys() { # keys NODE DIR: the EK (RSA) and an ECC P-256 ECDSA SHA-256 AK under it
    local n=$1 d=$2
    mkdir -p "$d"
    # swtpm holds 3 objects and the tools leave theirs loaded: flush after each
    tpm "$n" tpm2_createek -G rsa -c "$d/ek.ctx" -u "$d/ek.pub" >/dev/null && tpm_clean "$n" &&
        tpm "$n" tpm2_readpublic -c "$d/ek.ctx" -f pem -o "$d/ek.pem" >/dev/null && tpm_clean "$n" &&
        tpm "$n" tpm2_createak -C "$d/ek.ctx" -c "$d/ak.ctx" -G ecc -g sha256 -s ecdsa -u "$d/ak.pub" >/dev/null &&
        tpm_clean "$n" && tpm "$n" tpm2_nvread -C o 0x01c00002 -o "$d/ekcert.der" 2>/dev/null
    local r=$?
    tpm_clean "$n"
    return $r
}
enroll_body() { # enroll_body DIR [CERT [EKPUB [AKPUB]]] > file
    local d=$1
    jq -n --arg c "$(base64 -w0 "${2:-$d/ekcert.der}")" --arg e "$(base64 -w0 "${3:-$d/ek.pub}")" \
        --arg a "$(base64 -w0 "${4:-$d/ak.pub}")" '{ek_type: "rsa2048", ek_cert: $c, ek_public: $e, ak_public: $a}'
}
activate_tpm() { # activate_tpm NODE DIR: ActivateCredential on W/resp.json's credential -> DIR/secret.bin
    local n=$1 d=$2
    cp "$W/resp.json" "$d/challenge.json"
    # tpm2-tools' credential file: magic, version, TPM2B_ID_OBJECT, TPM2B_ENCRYPTED_SECRET
    { printf '\272\334\300\336\000\000\000\001'; jq -r .credential_blob "$d/challenge.json" | base64 -d;
        jq -r .encrypted_secret "$d/challenge.json" | base64 -d; } >"$d/cred.bin"
    rm -f "$d/secret.bin"
    tpm "$n" tpm2_startauthsession --policy-session -S "$d/session.ctx" &&
        tpm "$n" tpm2_policysecret -S "$d/session.ctx" -c e >/dev/null &&
        tpm "$n" tpm2_activatecredential -c "$d/ak.ctx" -C "$d/ek.ctx" -i "$d/cred.bin" \
            -o "$d/secret.bin" -P "session:$d/session.ctx" >/dev/null 2>"$d/activate.err"
    local r=$?
    tpm "$n" tpm2_flushcontext "$d/session.ctx" >/dev/null 2>&1
    tpm_clean "$n"
    return $r
}
activate_body() { # activate_body DIR [SECRETFILE]
    jq -n --arg c "$(jq -r .challenge "$1/challenge.json")" --arg s "$(base64 -w0 "${2:-$1/secret.bin}")" \
        '{challenge: $c, secret: $s}'
}
enrol() { # enrol NODE DIR: keys, enroll, activate; 0 when enrolled
    keys "$1" "$2" || return 1
    enroll_body "$2" >"$W/body.json"
    api "$1" enroll "$W/body.json"
    [ "$CODE" = 200 ] || return 1
    activate_tpm "$1" "$2" || return 1
    activate_body "$2" >"$W/body.json"
    api "$1" activate "$W/body.json"
    [ "$CODE" = 200 ]
}
echo '{}' >"$W/empty.json"
nonce() { # nonce NODE: a fresh nonce (hex) from tld
    api "$1" nonce "$W/empty.json"
    jq -r .nonce "$W/resp.json"
}
pcrs_json() { # pcrs_json NODE SELECTION: tpm2_pcrread's values as {"bank": {"i": "hex"}}
    tpm "$1" tpm2_pcrread "$2" 2>/dev/null |
        awk '/^  [a-z0-9_]+:$/ { b = $1; sub(":", "", b) }
             /^ +[0-9]+ *: *0x/ { i = $1; sub(":", "", i); v = tolower($NF); sub("^0x", "", v); print b, i, v }' |
        jq -Rn '[inputs | split(" ")] | reduce .[] as $x ({}; .[$x[0]][$x[1]] = $x[2])'
}
SEL=sha256:0,1,2,3,4,5,6,7,8,9,14
quote() { # quote NODE DIR NONCE [SELECTION [EVENTLOG]]: TPM2_Quote with DIR's AK -> W/attest.json
    local n=$1 d=$2 sel=${4:-$SEL} log=${5:-$LOG}
    rm -f "$d/quote.msg" "$d/quote.sig"
    tpm "$n" tpm2_quote -Q -c "$d/ak.ctx" -l "$sel" -q "$3" -m "$d/quote.msg" -s "$d/quote.sig" -g sha256
    local r=$?
    tpm_clean "$n"
    pcrs_json "$n" "$sel" >"$d/pcrs.json"
    local elog=null
    [ "$log" = none ] || elog="\"$(base64 -w0 "$log")\""
    jq -n --arg n "$3" --arg q "$(base64 -w0 "$d/quote.msg")" --arg s "$(base64 -w0 "$d/quote.sig")" \
        --slurpfile p "$d/pcrs.json" --argjson e "$elog" \
        '{nonce: $n, quote: $q, signature: $s, pcrs: $p[0], eventlog: $e}' >"$W/attest.json"
    return $r
}
# the answer's verdict and findings as [verdict, [[component, pcr, event, rule]...]]
summary() { jq -c '[.verdict, [.findings[] | [.component, .pcr, .event, .rule]]]' "$W/resp.json" 2>/dev/null || head -c 300 "$W/resp.json"; }
actual() { jq -r "[.findings[].actual] | join(\" | \")" "$W/resp.json" 2>/dev/null; }
labels() { tl node show a1 --json | jq -c .labels; }
LABELS='{"kubernetes.azure.com/trusted-launch":"true","kubernetes.azure.com/secure-boot":"true"}'
RULE_Q="quote signature, type, nonce and PCR digest"
FAILS=0 # the failing attestations a1 has stored
attest() { # attest NODE: POST W/attest.json; counts a1's fails
    api "$1" attest "$W/attest.json"
    [ "$1" = a1 ] && [ "$(jq -r .verdict "$W/resp.json" 2>/dev/null)" = fail ] && FAILS=$((FAILS + 1))
}

A=$W/m1 # a1's AK made with tpm2-tools
enrol a1 "$A"
is "tpm2-tools on a1: enroll, ActivateCredential (policy session, PolicySecret(endorsement)), activate: enrolled" \
    "$CODE $(answer .enrolled)" "200 true"
AKNAME=$(jq -r .ak_name "$W/resp.json")
N=$(nonce a1)
quote a1 "$A" "$N"
check "tpm2_quote -m writes the TPMS_ATTEST (magic ff544347, type 8018), -s a TPMT_SIGNATURE (ECDSA 0x0018, SHA-256)" \
    sh -c "[ \"\$(head -c 6 '$A/quote.msg' | od -An -tx1 | tr -d ' \n')\" = ff5443478018 ] &&
        [ \"\$(head -c 4 '$A/quote.sig' | od -An -tx1 | tr -d ' \n')\" = 0018000b ]"
attest a1
is "a quote made with tpm2-tools, a fresh nonce, the PCRs read, the event log: pass" "$CODE $(summary)" '200 ["pass",[]]'
is "... a token, and the labels back (trusted-launch, secure-boot)" "$(answer '[(.token | type), .labels]')" "[\"string\",$LABELS]"
cp "$W/attest.json" "$W/accepted.json"

# ---- 1. a reused nonce ---------------------------------------------------------------------
cp "$W/accepted.json" "$W/attest.json"
attest a1
is "1. the accepted body again (the nonce reused): fail, one finding: nonce (freshness)" \
    "$CODE $(summary)" '200 ["fail",[["nonce",-1,null,"freshness"]]]'
like "1. ... actual: unknown, used or expired" "$(actual)" "^unknown, used or expired \(a replayed quote\?\)$"
is "1. a replay is not the node's word: the labels of the last verified attestation stay" "$(labels)" "$LABELS"
jq --arg n "$(printf 'ab%.0s' $(seq 32))" '.nonce = $n' "$W/accepted.json" >"$W/attest.json"
attest a1
is "1. a nonce tld never issued: fail, nonce" "$CODE $(summary)" \
    '200 ["fail",[["nonce",-1,null,"freshness"]]]'
N=$(nonce a1)
N2=$(nonce a1)
quote a1 "$A" "$N"
jq --arg n "$N2" '.nonce = $n' "$W/attest.json" >"$W/x.json" && mv "$W/x.json" "$W/attest.json"
attest a1
is "1. a quote over nonce A sent with fresh nonce B: fail, quote" "$CODE $(summary)" \
    "200 [\"fail\",[[\"quote\",-1,null,\"$RULE_Q\"]]]"
like "1. ... actual: the nonce does not match the quote's extraData" "$(actual)" "nonce does not match: extraData is 32 bytes"

# ---- 2. a quote signed by another node's AK ---------------------------------------------------
B2=$W/m2
enrol a2 "$B2"
is "2. a2: an AK enrolled with tpm2-tools (its own EK, its own TPM)" "$CODE $(answer .enrolled)" "200 true"
N=$(nonce a1)
quote a2 "$B2" "$N"
attest a1
is "2. a1's nonce quoted by a2's AK (a2's TPM, same boot, same PCRs), posted to a1: fail, one finding: quote" \
    "$CODE $(summary)" "200 [\"fail\",[[\"quote\",-1,null,\"$RULE_Q\"]]]"
like "2. ... actual: the signature does not verify with the AK" "$(actual)" \
    "^signature: does not verify with the AK \(ECDSA, sha256\)$"
N=$(nonce a2)
quote a2 "$B2" "$N"
attest a2
is "2. (control: the same quote to a2, its own node: pass)" "$CODE $(summary)" '200 ["pass",[]]'
# a1's own quote with its resetCount forged (TPMS_ATTEST offset 84: magic, type,
# qualifiedSigner 2+34, extraData 2+32, clock 8): the signature fails, and the
# counters it claims are not believed (no alert for a boot that never was)
N=$(nonce a1)
quote a1 "$A" "$N"
printf '\000\000\003\347' | dd of="$A/quote.msg" bs=1 seek=84 conv=notrunc status=none
jq --arg q "$(base64 -w0 "$A/quote.msg")" '.quote = $q' "$W/attest.json" >"$W/x.json" && mv "$W/x.json" "$W/attest.json"
attest a1
like "2. a1's quote with resetCount forged to 999: fail, quote: the signature does not verify" \
    "$CODE $(summary) $(actual)" "^200 \[\"fail\",\[\[\"quote\",-1,null,\"$RULE_Q\"\]\]\] signature: does not verify with the AK"
is "2. ... its counters are not believed: the attestation's boot is not 1:999:*, no alert for it" \
    "$(answer '.attestation' | xargs -I{} curl -s -H "$OPERATOR" "$URL/v1/attestations/{}" | jq -r '.boot | test(":999:")') $(tl alert list --node a1 --json | jq '[.alerts[] | select(.boot | test(":999:"))] | length')" \
    "false 0"

# ---- 3. an AK that skipped credential activation ----------------------------------------------
C3=$W/m3
keys a3 "$C3"
enroll_body "$C3" >"$W/body.json"
api a3 enroll "$W/body.json"
is "3. a3: enroll: a challenge (credential blob, encrypted secret)" "$CODE $(answer '[keys_unsorted, (.credential_blob | length > 0)]')" \
    '200 [["challenge","credential_blob","encrypted_secret"],true]'
api a3 nonce "$W/empty.json"
is "3. a3 never activated: nonce: HTTP 401 no enrolled AK" "$CODE $(err)" \
    "401 nonce: node a3 has no enrolled AK (enrol first)"
quote a3 "$C3" "$(printf 'cd%.0s' $(seq 32))"
attest a3
is "3. a3 never activated: attest (a quote by the unactivated AK): HTTP 401 no enrolled AK" "$CODE $(err)" \
    "401 attest: node a3 has no enrolled AK (enrol first)"
api a3 enroll "$W/body.json"
activate_tpm a3 "$C3"
check "3. a3: the TPM recovers the secret (ActivateCredential)" test -s "$C3/secret.bin"
head -c 32 /dev/urandom >"$W/guess.bin"
activate_body "$C3" "$W/guess.bin" >"$W/body.json"
api a3 activate "$W/body.json"
is "3. a3: activate with a guessed secret: 403, the secret does not match" "$CODE $(err)" \
    "403 activate: credential activation failed: the secret does not match (the AK is not in the TPM that holds this EK)"
activate_body "$C3" >"$W/body.json"
api a3 activate "$W/body.json"
is "3. a3: then the right secret: 403, the challenge is gone (one try)" "$CODE $(err)" \
    "403 activate: no such enrolment challenge for node a3"
api a3 nonce "$W/empty.json"
is "3. a3: still no AK: nonce 401" "$CODE" 401
# a2's AK under a1's EK certificate and EK public: a2's TPM cannot activate it
D=$W/m2x
keys a2 "$D"
enroll_body "$D" "$A/ekcert.der" "$A/ek.pub" >"$W/body.json"
api a1 enroll "$W/body.json"
is "3. a2's AK with a1's EK certificate and EK public, to a1: a challenge (all public, all valid)" "$CODE" 200
activate_tpm a2 "$D"
r=$?
like "3. ... a2's TPM cannot recover the secret (the credential is sealed to a1's EK)" \
    "$r $(tr '\n' ' ' <"$D/activate.err")" "^[1-9][0-9]* .*Esys_ActivateCredential\(0x[0-9a-f]+\)"
head -c 32 /dev/urandom >"$W/guess.bin"
jq -n --arg c "$(jq -r .challenge "$D/challenge.json")" --arg s "$(base64 -w0 "$W/guess.bin")" '{challenge: $c, secret: $s}' >"$W/body.json"
api a1 activate "$W/body.json"
is "3. ... so it can only guess: 403" "$CODE $(err | cut -d: -f1-2)" "403 activate: credential activation failed"
is "3. a1's enrolled AK is still tpm2-tools' first one" "$(tl node show a1 --json | jq -r .ak.name)" "$AKNAME"
# a second AK on a1, enrolled, not activated, quoting
A2=$W/m1b
keys a1 "$A2"
enroll_body "$A2" >"$W/body.json"
api a1 enroll "$W/body.json"
is "3. a1: a second AK enrolled (a challenge), never activated" "$CODE" 200
N=$(nonce a1)
quote a1 "$A2" "$N"
attest a1
is "3. a1's nonce quoted by that AK (same TPM, same EK): fail, one finding: quote" \
    "$CODE $(summary)" "200 [\"fail\",[[\"quote\",-1,null,\"$RULE_Q\"]]]"
like "3. ... actual: the signature does not verify with the (enrolled) AK" "$(actual)" \
    "^signature: does not verify with the AK \(ECDSA, sha256\)$"
is "3. ... the enrolled AK is unchanged" "$(tl node show a1 --json | jq -r .ak.name)" "$AKNAME"
# not an attestation key at all: an unrestricted signing key
D=$W/m1c
mkdir -p "$D"
tpm a1 tpm2_createprimary -C o -G ecc256:ecdsa-sha256 -a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign' \
    -c "$D/k.ctx" >/dev/null && tpm a1 tpm2_readpublic -c "$D/k.ctx" -o "$D/k.pub" >/dev/null
tpm_clean a1
enroll_body "$A" "$A/ekcert.der" "$A/ek.pub" "$D/k.pub" >"$W/body.json"
api a1 enroll "$W/body.json"
like "3. an unrestricted signing key as the AK: 403 at enrolment, not restricted" "$CODE $(err)" \
    "^403 enroll: AK: not restricted \(it could sign digests the TPM did not produce"

# ---- 4. EK certificates -------------------------------------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/rogue.key" -out "$W/rogue.pem" \
    -subj "/CN=rogue EK CA" -days 30 2>/dev/null &&
    openssl x509 -new -force_pubkey "$A/ek.pem" -subj /CN=a1 -CA "$W/rogue.pem" -CAkey "$W/rogue.key" -days 30 \
        -outform DER -out "$W/rogue-ek.der" 2>/dev/null
check "4. openssl: a rogue CA and a certificate for a1's EK public key" \
    sh -c "openssl x509 -inform DER -in '$W/rogue-ek.der' -noout -pubkey | cmp -s - '$A/ek.pem'"
enroll_body "$A" "$W/rogue-ek.der" >"$W/body.json"
api a1 enroll "$W/body.json"
is "4. enroll with it: 403, the chain does not reach the platform EK CA" "$CODE $(err)" \
    "403 EK certificate: unable to get local issuer certificate (not issued by the platform EK CA, a configured manufacturer root or the CA of operator-vouched EKs)"
issuer=$(openssl x509 -inform DER -in "$A/ekcert.der" -noout -issuer -nameopt RFC2253 | sed 's/^issuer=//')
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/forged.key" -out "$W/forged.pem" \
    -subj "/$issuer" -days 30 2>/dev/null &&
    openssl x509 -new -force_pubkey "$A/ek.pem" -subj /CN=a1 -CA "$W/forged.pem" -CAkey "$W/forged.key" -days 30 \
        -outform DER -out "$W/forged-ek.der" 2>/dev/null
enroll_body "$A" "$W/forged-ek.der" >"$W/body.json"
api a1 enroll "$W/body.json"
is "4. a certificate whose issuer is named '$issuer' but signed by another key: 403, signature failure" "$CODE $(err)" \
    "403 EK certificate: certificate signature failure (not issued by the platform EK CA, a configured manufacturer root or the CA of operator-vouched EKs)"
enroll_body "$B2" >"$W/body.json"
api a1 enroll "$W/body.json"
is "4. a2's (valid) EK certificate, EK and AK, to a1: 403, not a1's" "$CODE $(err)" \
    "403 enroll: the EK certificate is not the one issued to node a1 (another node's TPM?)"
enroll_body "$A" "$A/ekcert.der" "$B2/ek.pub" "$A/ak.pub" >"$W/body.json"
api a1 enroll "$W/body.json"
is "4. a1's EK certificate with a2's EK public: 403, it does not certify this EK" "$CODE $(err)" \
    "403 enroll: the EK certificate does not certify this EK"
printf 'not a certificate' >"$W/junk.der"
enroll_body "$A" "$W/junk.der" >"$W/body.json"
api a1 enroll "$W/body.json"
is "4. bytes that are no certificate: 403" "$CODE $(err)" "403 enroll: the EK certificate is not one DER certificate"
is "4. after all that, a1's AK is unchanged" "$(tl node show a1 --json | jq -r .ak.name)" "$AKNAME"

# ---- 5. the event log ----------------------------------------------------------------------------
# record layout (crypto-agile, 4 banks): pcr, type, count, 4 x (alg, digest), size, data
HDR=$((4 + 4 + 4 + (2 + 20) + (2 + 32) + (2 + 48) + (2 + 64) + 4))
ev() { jq -r ".events[$1] | $2" "$W/log.json"; }
is "5. the log: event 4 SecureBoot, 5 PK (DRIVER_CONFIG, PCR 7), 10 BootOrder (PCR 1), 26 shim (PCR 4)" \
    "$(for i in 4 5 10 26; do ev "$i" '"\(.type) \(.pcr) \(.component)"'; done | paste -sd,)" \
    "EV_EFI_VARIABLE_DRIVER_CONFIG 7 SecureBoot,EV_EFI_VARIABLE_DRIVER_CONFIG 7 PK,EV_EFI_VARIABLE_BOOT 1 BootOrder,EV_EFI_BOOT_SERVICES_APPLICATION 4 shim"
is "5. record size = header + data (event 4: $HDR + 53 to event 5's offset)" "$(($(ev 4 .offset) + HDR + $(ev 4 .data_size)))" "$(ev 5 .offset)"
L=$W/logs
mkdir -p "$L"
# one byte inside PK's data (the middle of the signature list), flipped
at=$(($(ev 5 .offset) + HDR + $(ev 5 .data_size) / 2))
cp "$LOG" "$L/byte.bin"
b=$(od -An -tu1 -j "$at" -N1 "$LOG" | tr -d ' ')
# shellcheck disable=SC2059 # the byte, as an octal escape
printf "$(printf '\\%03o' $((b ^ 1)))" | dd of="$L/byte.bin" bs=1 seek="$at" conv=notrunc status=none
# event 10 (BootOrder) cut out
{ head -c "$(ev 10 .offset)" "$LOG"; tail -c +$(($(ev 11 .offset) + 1)) "$LOG"; } >"$L/removed.bin"
# event 4's type: EV_EFI_VARIABLE_DRIVER_CONFIG -> EV_EFI_VARIABLE_BOOT (0x80000002)
cp "$LOG" "$L/type.bin"
printf '\002\000\000\200' | dd of="$L/type.bin" bs=1 seek=$(($(ev 4 .offset) + 4)) conv=notrunc status=none
# event 26's type: EV_EFI_BOOT_SERVICES_APPLICATION -> EV_EFI_BOOT_SERVICES_DRIVER (0x80000004)
cp "$LOG" "$L/apptype.bin"
printf '\004\000\000\200' | dd of="$L/apptype.bin" bs=1 seek=$(($(ev 26 .offset) + 4)) conv=notrunc status=none
# cut in the middle of event 30
head -c $(($(ev 30 .offset) + 100)) "$LOG" >"$L/truncated.bin"
is "5. the tampered logs differ from the original as intended (1 byte, -1 record, 1 byte, 1 byte)" \
    "$(cmp -l "$LOG" "$L/byte.bin" | wc -l) $(($(stat -c %s "$LOG") - $(stat -c %s "$L/removed.bin"))) $(cmp -l "$LOG" "$L/type.bin" | wc -l) $(cmp -l "$LOG" "$L/apptype.bin" | wc -l)" \
    "1 $(($(ev 11 .offset) - $(ev 10 .offset))) 1 1"
tamper() { # tamper NAME LOGFILE: a fresh nonce, a good quote, that event log
    N=$(nonce a1)
    quote a1 "$A" "$N" "$SEL" "$2"
    attest a1
}
tamper byte "$L/byte.bin"
is "5. one byte changed in PK's data (offset $at): fail, one finding: PK, PCR 7, event 5, record check" \
    "$CODE $(summary)" '200 ["fail",[["PK",7,5,"record check"]]]'
like "5. ... the digest is not the hash of the data" "$(actual)" "^sha(1|256) digest is not the hash of its UEFI_VARIABLE_DATA$"
is "5. a verified quote with a failing log: the trusted-launch label is gone" "$(labels)" "{}"
tamper removed "$L/removed.bin"
is "5. one event (BootOrder) removed: fail, one finding: the replay of PCR 1 differs" \
    "$CODE $(summary)" '200 ["fail",[["event log",1,null,"the event log must replay to the quoted PCR values"]]]'
is "5. ... naming PCR 1 (sha256), expected the quoted value, actual the replayed one" \
    "$(answer '.findings[0] | [.what, .expected, (.actual | length)]')" \
    "[\"PCR 1 (sha256)\",\"$(jq -r '.sha256["1"]' "$A/pcrs.json")\",64]"
tamper type "$L/type.bin"
is "5. SecureBoot's record typed EV_EFI_VARIABLE_BOOT: fail, one finding: SecureBoot, PCR 7, event 4, record check" \
    "$CODE $(summary)" '200 ["fail",[["SecureBoot",7,4,"record check"]]]'
is "5. ... actual" "$(actual)" "EV_EFI_VARIABLE_BOOT is not measured into PCR 7"
tamper apptype "$L/apptype.bin"
is "5. shim's record typed EV_EFI_BOOT_SERVICES_DRIVER: fail, one finding: PCR 4, event 26, record check" \
    "$CODE $(answer '[.verdict, [.findings[] | [.pcr, .event, .rule, .actual]]]')" \
    '200 ["fail",[[4,26,"record check","EV_EFI_BOOT_SERVICES_DRIVER is not measured into PCR 4"]]]'
tamper truncated "$L/truncated.bin"
is "5. the log cut inside event 30: fail, one finding: event log, must parse" \
    "$CODE $(summary)" '200 ["fail",[["event log",-1,null,"the event log must parse"]]]'
tamper none none
is "5. no event log: fail, one finding: event log" "$CODE $(summary)" \
    '200 ["fail",[["event log",-1,null,"a vTPM node delivers its event log"]]]'
is "5. labels still gone" "$(labels)" "{}"
tamper good "$LOG"
is "5. then the real log again: pass; the labels are back" "$CODE $(summary) $(answer .labels)" "200 [\"pass\",[]] $LABELS"
is "5. tl node show a1: the labels are back" "$(labels)" "$LABELS"

# ---- 6. PCR values that do not match the quote ---------------------------------------------------
N=$(nonce a1)
quote a1 "$A" "$N"
jq '.pcrs.sha256["4"] = ("ab" * 32)' "$W/attest.json" >"$W/x.json" && mv "$W/x.json" "$W/attest.json"
attest a1
is "6. PCR 4's value changed in pcrs: fail, one finding: quote" "$CODE $(summary)" \
    "200 [\"fail\",[[\"quote\",-1,null,\"$RULE_Q\"]]]"
like "6. ... the PCR values do not match the quote's pcrDigest" "$(actual)" \
    "^(pcrs: )?pcrs: the PCR values do not match the quote's pcrDigest \(sha256 of the values is [0-9a-f]{64}, the quote has [0-9a-f]{64}\)$"
is "6. a failed quote check leaves the labels" "$(labels)" "$LABELS"
N=$(nonce a1)
quote a1 "$A" "$N"
jq 'del(.pcrs.sha256["14"])' "$W/attest.json" >"$W/x.json" && mv "$W/x.json" "$W/attest.json"
attest a1
like "6. PCR 14 (quoted) left out of pcrs: fail, quote: quoted but has no value" "$CODE $(summary) $(actual)" \
    "^200 \[\"fail\",\[\[\"quote\",-1,null,\"$RULE_Q\"\]\]\] (pcrs: )?pcrs: sha256 PCR 14 is quoted but has no value$"
N=$(nonce a1)
quote a1 "$A" "$N"
jq '.pcrs = {"sha256": "x"}' "$W/attest.json" >"$W/x.json" && mv "$W/x.json" "$W/attest.json"
attest a1
is "6. pcrs that do not parse: fail, one finding: pcrs" "$CODE $(answer '[.verdict, [.findings[] | [.component, .rule]]]')" \
    '200 ["fail",[["pcrs","the PCR values must parse"]]]'

# ---- 7. SHA-1 ----------------------------------------------------------------------------------------
N=$(nonce a1)
quote a1 "$A" "$N" sha1:0,1,2,3,4,5,6,7,8,9,14
attest a1
is "7. a SHA-1-only quote (pcrs {\"sha1\": ...}): fail, one finding: quote" \
    "$CODE $(jq -c '.pcrs | keys' "$W/attest.json") $(summary)" "200 [\"sha1\"] [\"fail\",[[\"quote\",-1,null,\"$RULE_Q\"]]]"
is "7. ... refused because SHA-256 is required" "$(actual)" "quote: it does not cover PCRs 0-9 of the sha256 bank (SHA-256 is required; this is a SHA-1 quote)"
N=$(nonce a1)
quote a1 "$A" "$N" sha256:0,7
attest a1
is "7. a SHA-256 quote of PCRs 0 and 7 only: fail, SHA-256 (PCRs 0-9) is required" "$CODE $(actual)" \
    "200 quote: it does not cover PCRs 0-9 of the sha256 bank (SHA-256 is required)"
N=$(nonce a1)
quote a1 "$A" "$N" sha384:0,1,2,3,4,5,6,7,8,9,14
attest a1
is "7. a SHA-384 quote: fail, SHA-256 is required" "$CODE $(actual)" \
    "200 quote: it does not cover PCRs 0-9 of the sha256 bank (SHA-256 is required)"

# ---- 8. bodies, tokens ----------------------------------------------------------------------------------
{ printf '{"nonce": "00", "eventlog": "'; head -c $((9 << 20)) /dev/zero | tr '\0' A; printf '"}'; } >"$W/big.json"
api a1 attest "$W/big.json"
is "8. a 9 MiB JSON body to attest: 413" "$CODE $(err)" "413 request body too large"
api a1 enroll "$W/big.json"
is "8. ... to enroll: 413" "$CODE" 413
api a1 report "$W/big.json"
is "8. ... to report: 413" "$CODE" 413
N=$(nonce a1)
quote a1 "$A" "$N"
head -c $((5 << 20)) /dev/zero >"$W/zeros.bin"
jq --rawfile e <(base64 -w0 "$W/zeros.bin") '.eventlog = $e' "$W/attest.json" >"$W/x.json" && mv "$W/x.json" "$W/attest.json"
attest a1
is "8. a 6.7 MiB body (a 5 MiB event log of zeros, under the limit): fail, the log must parse" \
    "$CODE $(answer '[.verdict, [.findings[] | .rule]]')" '200 ["fail",["the event log must parse"]]'
bad() { # bad DESCRIPTION ACTION BODY WANT_CODE WANT_ERROR
    printf '%s' "$3" >"$W/bad.json"
    api a1 "$2" "$W/bad.json"
    is "8. $1: $4" "$CODE $(err)" "$4 $5"
}
BADA="attest: nonce (hex), quote and signature (base64), pcrs (object) and eventlog (base64 or null) are required"
bad "malformed JSON (truncated)" attest '{"nonce": "00", "quote": ' 400 "attest: the body must be a JSON object"
bad "a JSON array" attest '["nonce"]' 400 "attest: the body must be a JSON object"
bad "duplicate keys" attest '{"nonce": "00", "nonce": "01"}' 400 "attest: the body must be a JSON object"
bad "NUL in a string" attest '{"nonce": "\u0000"}' 400 "attest: the body must be a JSON object"
bad "an empty object" attest '{}' 400 "$BADA"
bad "quote not base64" attest "{\"nonce\": \"$N\", \"quote\": \"!!!!\", \"signature\": \"AAAA\", \"pcrs\": {}, \"eventlog\": null}" 400 "$BADA"
bad "pcrs an array" attest "{\"nonce\": \"$N\", \"quote\": \"AAAA\", \"signature\": \"AAAA\", \"pcrs\": [], \"eventlog\": null}" 400 "$BADA"
bad "a 129-character nonce" attest "{\"nonce\": \"$(printf 'a%.0s' $(seq 129))\", \"quote\": \"AAAA\", \"signature\": \"AAAA\", \"pcrs\": {}, \"eventlog\": null}" 400 "$BADA"
bad "enroll: an unknown ek_type" enroll '{"ek_type": "rsa1024"}' 400 "enroll: ek_type must be rsa2048 or ecc-p256"
bad "enroll: no ek_cert" enroll '{"ek_type": "rsa2048"}' 400 "enroll: ek_cert, ek_public and ak_public must be base64"
bad "activate: no challenge" activate '{"secret": "AAAA"}' 403 "activate: no such enrolment challenge for node a1"
bad "report: malformed JSON" report '{"version": 1,' 400 "report: not a JSON object (string or '}' expected near end of file)"
# TPM structures that are garbage, in valid base64
N=$(nonce a1)
jq -n --arg n "$N" --arg q "$(head -c 145 /dev/urandom | base64 -w0)" --arg s "$(head -c 72 /dev/urandom | base64 -w0)" \
    --slurpfile p "$A/pcrs.json" '{nonce: $n, quote: $q, signature: $s, pcrs: $p[0], eventlog: null}' >"$W/attest.json"
attest a1
like "8. random bytes as quote and signature: fail, quote (magic, signature)" "$CODE $(summary) $(actual)" \
    "^200 \[\"fail\",\[\[\"quote\",-1,null,\"$RULE_Q\"\]\]\] .*is not TPM_GENERATED_VALUE"
N=$(nonce a1)
quote a1 "$A" "$N"
jq --arg q "$(head -c 60 "$A/quote.msg" | base64 -w0)" '.quote = $q' "$W/attest.json" >"$W/x.json" && mv "$W/x.json" "$W/attest.json"
attest a1
like "8. a truncated quote: fail, quote runs past the end" "$CODE $(actual)" "^200 .*runs past the end"
# tokens
N=$(nonce a1)
quote a1 "$A" "$N"
api a1 attest "$W/attest.json" "$(printf '0%.0s' $(seq 64))"
is "8. a wrong bearer token: 403" "$CODE $(err)" "403 not this node's token"
api a1 attest "$W/attest.json" "$(token a2)"
is "8. a2's token on a1: 403" "$CODE $(err)" "403 not this node's token"
CODE=$(curl -s -o "$W/resp.json" -w '%{http_code}' --data-binary @"$W/attest.json" "$URL/v1/nodes/a1/attest")
is "8. no Authorization header: 401" "$CODE $(err)" "401 credentials required (Authorization: Bearer; docs/api.md)"
api a1 nonce "$W/empty.json" "$(token a1)x"
is "8. the token with one more character: 403" "$CODE" 403
attest a1
is "8. (the quote refused for its token is then accepted with the right one: pass)" "$CODE $(summary)" '200 ["pass",[]]'

# ---- still standing; the records ----------------------------------------------------------------
curl -s -H "$OPERATOR" -o "$W/health.json" -w '%{http_code}' "$URL/v1/health" >"$W/health.code"
is "tld still answers /v1/health, the same process (no crash, no restart)" \
    "$(cat "$W/health.code") $(jq -r '[.status, .pid] | join(" ")' "$W/health.json")" "200 ok $tld_pid"
tl node show a1 --json >"$W/show.json"
is "tl node show a1 works: running, the last attestation pass, the labels" \
    "$(jq -c '[.state, .attestation.verdict, .labels == '"$LABELS"']' "$W/show.json")" '["running","pass",true]'
tl attestation list --node a1 --json >"$W/list.json"
is "every failed attestation of a1 is stored ($FAILS)" "$(jq '[.attestations[] | select(.verdict == "fail")] | length' "$W/list.json")" "$FAILS"
tl alert list --node a1 --json >"$W/alerts.json"
is "an integrity alert for a1" "$(jq '[.alerts[] | select(.node == "a1")] | length > 0' "$W/alerts.json")" true
like "... naming the components of the failures" \
    "$(jq -r '[.alerts[].components[]] | unique | join(",")' "$W/alerts.json")" \
    "(^|,)(nonce|quote|event log|PK|SecureBoot|pcrs)(,|$)"
R=$(jq -r '"\(.attestation.reset_count):\(.attestation.restart_count)"' "$W/show.json")
is "... for the boot the verified quotes name (1:$R) and the unverified ones (1:0:0) only" \
    "$(jq -c '[.alerts[].boot] | unique' "$W/alerts.json")" "[\"1:0:0\",\"1:$R\"]"
tl alert list --node a3 --json >"$W/alerts3.json"
is "no attestation, no alert for a3 (refused before)" "$(jq '.alerts | length' "$W/alerts3.json")" 0

# ---- tld stops cleanly; nothing in its log from a sanitizer -----------------------------------------------
kill -TERM "$tld_pid"
for _ in $(seq 500); do kill -0 "$tld_pid" 2>/dev/null || break; sleep 0.02; done
check "tld stops on SIGTERM" sh -c "! kill -0 $tld_pid 2>/dev/null"
tld_pid=
tld_stopped=1
if grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$TL_HOME/tld.log"; then
    not_ok "tld.log has no sanitizer report"
    grep -E -A12 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$TL_HOME/tld.log" | head -40 | sed 's/^/#   /'
else
    ok "tld.log has no sanitizer report"
fi
echo "# $(( ($(date +%s%N) - T0) / 1000000 )) ms"
finish
