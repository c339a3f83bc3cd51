#!/usr/bin/env bash
# GET /metrics (issue 17 part 5) with a real tld, SoftHSM2, real swtpm vTPMs
# and the real tl-agent: two external nodes, a1 booted as the OVMF log says,
# a2 sending a log that is not one.
#
#  1. who may scrape: no credentials 401, a node's agent token 403, a
#     relying party 403; a reader and the operator 200, Prometheus's text
#     format 0.0.4; promtool check metrics accepts the answer;
#  2. before any attestation: both verdicts at 0, no failed component, no
#     key release; the nodes by state and security type (2 booting: no
#     report yet);
#  3. a1 attests (pass) and a key is released to it (granted): pass 0 -> 1,
#     granted at the policy's clause 0 -> 1, the latency histogram's count 1;
#  4. a2 attests with a bad event log (fail) and asks for the key (refused
#     at "attestation"): fail 0 -> 1, the failed component's label appears,
#     one open alert, refused{clause="attestation"} 1, the histogram's
#     count 2, the nodes by state as tl node list has them; promtool
#     accepts this answer too;
#  5. HTTP answers counted by route pattern, method and code, exactly: the
#     401 and the 403s of step 1 on /metrics, a 401 on a path no route
#     has as "unmatched", the agents' attest calls by their pattern, and no
#     node's name in any route label.
# Needs: TL_BIN, TL_TLD, TL_AGENT, TL_VECTORS; promtool (Debian's
# prometheus), SoftHSM2, swtpm, tpm2-tools, jq, curl. KEEP=1 keeps the work
# folder.
set -u
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
# shellcheck source=tests/lib/extnode.sh
. "$(dirname "$0")/../lib/extnode.sh"
: "${TL_BIN:?}" "${TL_TLD:?}" "${TL_AGENT:?}" "${TL_VECTORS:?}"
MODULE=${TL_PKCS11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
[ -r "$MODULE" ] || skip_all "no PKCS#11 module at $MODULE (apt-get install softhsm2)"
for t in swtpm tpm2_pcrextend; do
    command -v "$t" >/dev/null 2>&1 || skip_all "$t not installed (apt-get install swtpm tpm2-tools)"
done
for t in jq curl promtool; do command -v "$t" >/dev/null 2>&1 || bail "$t missing (make deps)"; done
LOG=$TL_VECTORS/eventlog/ovmf-debian12/secureboot-on.eventlog.bin
[ -r "$LOG" ] || bail "$LOG missing"

W=$(mktemp -d /tmp/tl-metrics.XXXXXX) || bail mktemp
export TL_HOME=$W/home TL_TLD TSS2_LOG=all+none
unset TL_TOKEN TL_STORE_DIRS
# shellcheck source=tests/lib/tldhome.sh
. "$(dirname "$0")/../lib/tldhome.sh"

tl() { "$TL_BIN" "$@" 2>"$W/stderr"; }

# ---- two external nodes, their vTPMs with the boot measured in -------------------------
for n in a1 a2; do
    tl node create "$n" --external --json >/dev/null || bail "tl node create $n: $(cat "$W/stderr")"
done
read -r URL _ <"$TL_HOME/tld.addr" || bail "no tld.addr"
A1=$(jq -r .token "$TL_HOME/nodes/a1/agent.json")
OP=$(cat "$TL_HOME/operator.token")
for n in a1 a2; do extnode_tpm "$n" "$LOG"; done
mkdir -p "$W/efivars"
printf '\006\000\000\000\001' >"$W/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"
agent() { # agent NODE EVENTLOG: attest once, then ask for vault1/disk
    "$TL_AGENT" --config "$TL_HOME/nodes/$1/agent.json" --tcti "swtpm:path=$W/$1/S" --eventlog "$2" \
        --efivars "$W/efivars" --once --release vault1/disk --release-out "$W/$1.key" \
        >"$W/$1.agent.out" 2>"$W/$1.agent.err"
}
cat >"$W/pass.json" <<'EOF'
{"version": "1.0.0",
 "anyOf": [{"authority": "trustlaunch",
            "allOf": [{"claim": "verdict", "equals": "pass"}, {"claim": "vtpm", "equals": true}]}]}
EOF
tl keyvault create --name vault1 >/dev/null || bail "keyvault create: $(cat "$W/stderr")"
tl keyvault key create --vault-name vault1 --name disk --kty oct-HSM --exportable true \
    --policy @"$W/pass.json" >/dev/null || bail "key create: $(cat "$W/stderr")"
READER=$(tl token create ro --role reader --json | jq -r .token)
RP=$(tl token create rp --role relying-party --json | jq -r .token)

# scrape [BEARER]: the status; the answer in W/m.txt, its Content-Type in W/type
scrape() {
    curl -s -o "$W/m.txt" -w '%{http_code}' -D "$W/headers" ${1:+-H "Authorization: Bearer $1"} \
        "$URL/metrics"
    tr -d '\r' <"$W/headers" | sed -n 's/^[Cc]ontent-[Tt]ype: //p' >"$W/type"
}
# value SERIES: the sample's value in W/m.txt ("none" when absent)
value() {
    awk -v s="$1" 'index($0, s " ") == 1 { print $NF; found = 1 } END { if (!found) print "none" }' "$W/m.txt"
}

# ---- 1. who may scrape ----------------------------------------------------------------
is "no credentials 401, a node's agent token 403, a relying party 403" \
    "$(scrape) $(scrape "$A1") $(scrape "$RP")" "401 403 403"
is "a reader: 200, text/plain version 0.0.4" "$(scrape "$READER") $(cat "$W/type")" \
    "200 text/plain; version=0.0.4; charset=utf-8"
check "promtool check metrics accepts a real scrape" promtool check metrics <"$W/m.txt"

# ---- 2. before any attestation --------------------------------------------------------
is "both verdicts at 0; no failed component; no key release; the histogram empty" \
    "$(value 'tld_attestations_total{verdict="pass"}') $(value 'tld_attestations_total{verdict="fail"}') $(grep -c '^tld_attestation_failed_components_total{' "$W/m.txt") $(grep -c '^tld_key_releases_total{' "$W/m.txt") $(value tld_attestation_duration_seconds_count)" \
    "0 0 0 0 0"
is "the nodes: 2 booting TrustedLaunch (external nodes with a vTPM, no report yet), 18 series; no open alert" \
    "$(value 'tld_nodes{state="booting",security_type="TrustedLaunch"}') $(grep -c '^tld_nodes{' "$W/m.txt") $(awk '/^tld_nodes\{/ { s += $2 } END { print s }' "$W/m.txt") $(value tld_alerts_open)" \
    "2 18 2 0"

# ---- 3. a1 attests and gets the key -----------------------------------------------------
agent a1 "$LOG"
is "a1's agent: exit 0, attested pass, the key released" \
    "$? $(grep -c 'TL: agent attested verdict=pass' "$W/a1.agent.out") $(grep -c '^TL: agent released vault1/disk/' "$W/a1.agent.out")" \
    "0 1 1"
is "as the operator: 200" "$(scrape "$OP")" 200
is "pass 0 -> 1, fail 0; granted at the policy's clause anyOf[0]: 1; the histogram's count 1 (+Inf 1)" \
    "$(value 'tld_attestations_total{verdict="pass"}') $(value 'tld_attestations_total{verdict="fail"}') $(value 'tld_key_releases_total{outcome="granted",clause="anyOf[0]"}') $(value tld_attestation_duration_seconds_count) $(value 'tld_attestation_duration_seconds_bucket{le="+Inf"}')" \
    "1 0 1 1 1"

# ---- 4. a2 fails ----------------------------------------------------------------------
printf 'not an event log' >"$W/bad.eventlog"
agent a2 "$W/bad.eventlog"
is "a2's agent: exit 1, attested fail, the release refused at the attestation" \
    "$? $(grep -c 'TL: agent attested verdict=fail' "$W/a2.agent.out") $(grep -c 'release refused: attestation' "$W/a2.agent.out")" \
    "1 1 1"
COMP=$(curl -s -H "Authorization: Bearer $OP" "$URL/v1/alerts?node=a2" | jq -r '.alerts[0].components[0] | if type == "object" then .component else . end')
[ -n "$COMP" ] && [ "$COMP" != null ] || bail "a2's alert names no component"
is "as the reader again: 200" "$(scrape "$READER")" 200
check "promtool check metrics accepts it, with the failed component's label" promtool check metrics <"$W/m.txt"
is "pass 1, fail 0 -> 1; the failed component ($COMP) 1; one open alert; refused at attestation 1; granted still 1; the histogram's count 2" \
    "$(value 'tld_attestations_total{verdict="pass"}') $(value 'tld_attestations_total{verdict="fail"}') $(value "tld_attestation_failed_components_total{component=\"$COMP\"}") $(value tld_alerts_open) $(value 'tld_key_releases_total{outcome="refused",clause="attestation"}') $(value 'tld_key_releases_total{outcome="granted",clause="anyOf[0]"}') $(value tld_attestation_duration_seconds_count)" \
    "1 1 1 1 1 1 2"
is "the nodes by state and security type: as tl node list has them (both reported in: running)" \
    "$(awk '/^tld_nodes\{/ && $NF > 0' "$W/m.txt" | sed 's/^tld_nodes{state="\([a-z]*\)",security_type="\([A-Za-z]*\)"} /\1 \2 /' | sort | tr '\n' ,) $(tl node list --json | jq -r '.nodes | group_by([.state, .security_type])[] | "\(.[0].state) \(.[0].security_type) \(length)"' | sort | tr '\n' ,)" \
    "running TrustedLaunch 2, running TrustedLaunch 2,"
is "every failed component of a2's attestation and only those are labelled" \
    "$(sed -n 's/^tld_attestation_failed_components_total{component="\(.*\)"} 1$/\1/p' "$W/m.txt" | sort | tr '\n' ,)" \
    "$(curl -s -H "Authorization: Bearer $OP" "$URL/v1/attestations?node=a2" | jq -r '.attestations[0].components[]' | sort | tr '\n' ,)"

# ---- 5. HTTP answers by route pattern -------------------------------------------------
is "a path no route has, without credentials: 401" "$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/nosuch/a1")" 401
scrape "$READER" >/dev/null
is "/metrics: 401 once, 403 twice, 200 three times (this scrape counts once it is sent)" \
    "$(value 'tld_http_requests_total{route="/metrics",method="GET",code="401"}') $(value 'tld_http_requests_total{route="/metrics",method="GET",code="403"}') $(value 'tld_http_requests_total{route="/metrics",method="GET",code="200"}')" \
    "1 2 3"
is "the 401 on no route as route=\"unmatched\"; each agent's attest call by its pattern (2 answered 200)" \
    "$(value 'tld_http_requests_total{route="unmatched",method="GET",code="401"}') $(value 'tld_http_requests_total{route="/v1/nodes/{node}/attest",method="POST",code="200"}')" \
    "1 2"
is "no node's name in a route label (patterns, not paths)" \
    "$(grep -c '^tld_http_requests_total{route="[^"]*a[12]' "$W/m.txt")" 0
finish
