#!/usr/bin/env bash
# output_cli.sh - the one output convention (issue 17 part 3, docs/cli.md
# "Output"): every listing verb, native or az-compatible, offline or against
# a real tld, walked with -o json, table, tsv, yaml, none, jsonc, --json and
# a --query:
#  - json parses, and --json is the same value on one line;
#  - table has a header, a dashed rule and the verb's real value (a node's
#    name, a group, a file's format);
#  - tsv has that value as one of a row's tab-separated columns;
#  - yaml, read back by PyYAML, is the json's value;
#  - none prints nothing; jsonc off a terminal is json;
#  - --query equals jp's answer on the verb's -o json output;
# and: an empty table prints nothing (text default too), a --query's result
# is tabulated as it is, a bad -o value and a bad --query are one line and
# exit 2, --json with -o is refused, jp missing is named.
# Needs: TL_BIN, TL_TLD, TL_VECTORS, TL_FIXTURES; jq, jp, python3-yaml, script
# (bsdutils).
set -u
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
: "${TL_BIN:?}" "${TL_TLD:?}" "${TL_VECTORS:?}" "${TL_FIXTURES:?}"
command -v jq >/dev/null || bail "jq missing (apt-get install jq)"
command -v jp >/dev/null || bail "jp missing (apt-get install jp)"
python3 -c 'import yaml' 2>/dev/null || bail "PyYAML missing (apt-get install python3-yaml)"
command -v script >/dev/null || bail "script missing (apt-get install bsdutils)"
LOG=$TL_VECTORS/eventlog/ovmf-debian12/secureboot-on.eventlog.bin
DBX=$TL_VECTORS/secureboot/dbx/dbxupdate_x64-2020-10-12.bin
TDX=$TL_VECTORS/tee/tdx/dcap-rs/quote_tdx_00806f050000.dat
SHIM=$TL_FIXTURES/shimx64.efi.signed
for f in "$LOG" "$DBX" "$TDX" "$SHIM"; do [ -r "$f" ] || bail "$f missing"; done

W=$(mktemp -d "${TMPDIR:-/tmp}/tl-output-test.XXXXXX")
export TL_HOME=$W/home TL_TLD
unset TL_TOKEN
# shellcheck source=tests/lib/tlrun.sh
. "$(dirname "$0")/../lib/tlrun.sh"

# same_json FILE FILE: the two JSON documents hold the same value.
same_json() {
    python3 -c 'import json, sys; sys.exit(json.load(open(sys.argv[1])) != json.load(open(sys.argv[2])))' "$1" "$2"
}

# yaml_is_json YAML JSON: PyYAML reads YAML as JSON's value.
yaml_is_json() {
    python3 -c 'import json, sys, yaml
sys.exit(yaml.safe_load(open(sys.argv[1])) != json.load(open(sys.argv[2])))' "$1" "$2"
}

# walk NAME WANT QUERY VERB...: the convention on one verb. WANT is a value
# its table and tsv show ("" for a verb whose list is empty here: both must
# then print nothing); QUERY an expression for --query.
walk() {
    local name=$1 want=$2 query=$3
    shift 3
    tl "$@" -o json
    cp "$W/out" "$W/json"
    if [ "$RC" = 0 ] && jq -e . "$W/json" >/dev/null 2>&1; then
        ok "$name -o json: JSON"
    else
        not_ok "$name -o json: JSON" "exit $RC" "$ERR" "$OUT"
    fi
    tl "$@" --json
    if [ "$RC" = 0 ] && [ "$(wc -l <"$W/out")" = 1 ] && same_json "$W/out" "$W/json"; then
        ok "$name --json: the same value on one line"
    else
        not_ok "$name --json: the same value on one line" "exit $RC" "$ERR" "$OUT"
    fi
    tl "$@" -o table
    if [ -z "$want" ]; then
        is "$name -o table: an empty list prints nothing" "$RC:$OUT" "0:"
    elif [ "$RC" = 0 ] && sed -n 2p "$W/out" | grep -Eq '^-+(  -+)*$' && grep -Fq -- "$want" "$W/out"; then
        ok "$name -o table: header, rule, $want"
    else
        not_ok "$name -o table: header, rule, $want" "exit $RC" "$ERR" "$OUT"
    fi
    tl "$@" -o tsv
    if [ -z "$want" ]; then
        is "$name -o tsv: an empty list prints nothing" "$RC:$OUT" "0:"
    elif [ "$RC" = 0 ] && awk -F'\t' -v w="$want" '{for (i = 1; i <= NF; i++) if ($i == w) f = 1} END {exit !f}' "$W/out" &&
        ! grep -q -- '^-----' "$W/out"; then
        ok "$name -o tsv: $want a column, no header"
    else
        not_ok "$name -o tsv: $want a column, no header" "exit $RC" "$ERR" "$OUT"
    fi
    tl "$@" -o yaml
    if [ "$RC" = 0 ] && yaml_is_json "$W/out" "$W/json"; then
        ok "$name -o yaml: read back, the json's value"
    else
        not_ok "$name -o yaml: read back, the json's value" "exit $RC" "$ERR" "$(head -20 "$W/out")"
    fi
    tl "$@" -o none
    is "$name -o none: nothing" "$RC:$OUT:$ERR" "0::"
    tl "$@" -o jsonc
    if [ "$RC" = 0 ] && cmp -s "$W/out" "$W/json"; then
        ok "$name -o jsonc off a terminal: json, uncoloured"
    else
        not_ok "$name -o jsonc off a terminal: json, uncoloured" "exit $RC" "$ERR"
    fi
    jp -- "$query" <"$W/json" >"$W/jp" 2>&1 || not_ok "$name: jp $query" "$(cat "$W/jp")"
    tl "$@" --query "$query" -o json
    if [ "$RC" = 0 ] && [ "$OUT" != null ] && same_json "$W/out" "$W/jp"; then
        ok "$name --query '$query': jp's answer ($(jq -c . "$W/jp" | cut -c1-60))"
    else
        not_ok "$name --query '$query': jp's answer" "exit $RC" "$ERR" "got: $OUT" "jp:  $(cat "$W/jp")"
    fi
}

# ---- offline verbs: files in, no tld ---------------------------------------
walk "eventlog replay" crypto-agile 'banks.sha256."7"' eventlog replay "$LOG"
walk "eventlog show" crypto-agile 'events[?pcr==`7`].type' eventlog show "$LOG"
walk "eventlog state" pass '{v: verdict, sb: secure_boot}' eventlog state "$LOG"
walk "secureboot digest" shim 'sort(keys(@))' secureboot digest "$SHIM"
walk "secureboot vars show" "$DBX" 'length(@)' secureboot vars show "$DBX"
walk "tee show" tdx 'kind' tee show "$TDX"

# --query results are tabulated as they are (az: no table transformer)
tl eventlog state "$LOG" --query '{Verdict: verdict, Format: format}' -o table
is "--query -o table: the expression's keys are the columns" "$RC:$OUT" \
    $'0:Format        Verdict\n------------  -------\ncrypto-agile  pass'
tl eventlog state "$LOG" --query '[verdict, format]' -o tsv
is "--query -o tsv: a list is one value per line" "$RC:$OUT" $'0:pass\ncrypto-agile'
tl eventlog state "$LOG" --query 'verdict' -o tsv
is "--query of a string, -o tsv: the string" "$RC:$OUT" "0:pass"
tl eventlog state "$LOG" --query 'verdict' --json
is "--query with --json" "$RC:$OUT" '0:"pass"'
# jsonc on a terminal (script(1) gives tl one): coloured, as az
script -qec "$(printf '%q ' "$TL_BIN" eventlog state "$LOG" -o jsonc)" /dev/null >"$W/tty" 2>&1
if grep -q $'\033\[94m"verdict"\033\[0m: \033\[32m"pass"' "$W/tty"; then
    ok "-o jsonc on a terminal: keys and strings coloured"
else
    not_ok "-o jsonc on a terminal: keys and strings coloured" "$(head -5 "$W/tty" | cat -v)"
fi
# the text default stays without an option
tl eventlog state "$LOG"
if [ "$RC" = 0 ] && grep -q '^Secure Boot: on$' "$W/out" && ! jq -e . "$W/out" >/dev/null 2>&1; then
    ok "eventlog state without -o: its text, as before"
else
    not_ok "eventlog state without -o: its text, as before" "$OUT"
fi

# ---- mistakes: one line, exit 2, nothing on stdout -------------------------
mistake "a bad -o value" \
    "tl: eventlog state: 'xml' is not a valid value for '--output'. Allowed values: json, jsonc, table, tsv, yaml, none." \
    eventlog state "$LOG" -o xml
mistake "-o without a value" "tl: eventlog state: argument --output/-o: expected one argument" \
    eventlog state "$LOG" -o
mistake "--json and -o together" "tl: eventlog state: --json is --output json on one line; give one of them" \
    eventlog state "$LOG" --json -o table
mistake "a --query that does not parse (checked before the verb runs)" "tl: --query 'banks.[': SyntaxError: Incomplete expression" \
    eventlog state "$LOG" --query 'banks.['
mistake "a --query that fails on the value: jp's reason" \
    "tl: --query 'abs(verdict)': Error evaluating JMESPath expression: Invalid type for: pass, expected: []jmespath.jpType{\"number\"}" \
    eventlog state "$LOG" --query 'abs(verdict)'
mkdir -p "$W/nojp"
env PATH="$W/nojp" "$TL_BIN" eventlog state "$LOG" --query verdict >"$W/out" 2>"$W/err"
is "jp missing: named, with its package" "$?:$(cat "$W/out"):$(cat "$W/err")" \
    "2::tl: --query needs jp (JMESPath), which is not installed: apt-get install jp"

# ---- against a real tld: empty lists first ----------------------------------
tl node list
is "node list, no node: nothing (an empty table prints nothing)" "$RC:$OUT" "0:"
walk "node list (none)" "" 'nodes' node list
walk "attestation list (none)" "" 'attestations' attestation list
walk "alert list (none)" "" 'alerts' alert list
walk "aks list (none)" "" 'length(@)' aks list
walk "vm list (none)" "" 'length(@)' vm list
walk "keyvault list (none)" "" 'length(@)' keyvault list

# ---- nodes, a token, a group -------------------------------------------------
for n in e1 e2; do
    tl node create "$n" --external -o none
    [ "$RC" = 0 ] || bail "node create $n: $ERR"
done
tl token create reader1 --role reader -o none
[ "$RC" = 0 ] || bail "token create: $ERR"
tl group create --name myResourceGroup --location eastus -o none
[ "$RC" = 0 ] || bail "group create: $ERR"

walk "node list" e2 'nodes[].name' node list
walk "node show" e1 '{n: name, s: state, vtpm: vtpm}' node show e1
walk "token list" reader1 "tokens[?role=='reader'].name" token list
walk "policy show" e1 'rules' policy show e1
walk "group list" myResourceGroup '[].location' group list
walk "group show" eastus 'properties' group show --name myResourceGroup
walk "feature list" Microsoft.ContainerService/TrustedLaunchPreview '[].properties.state' feature list
walk "feature show" NotRegistered 'name' feature show --namespace Microsoft.ContainerService --name TrustedLaunchPreview
walk "provider show" Microsoft.ContainerService 'registrationState' provider show --namespace Microsoft.ContainerService
walk "aks vm-sizes" Standard_DS2_v2 "[?name=='Standard_DS2_v2'].vCpus" aks vm-sizes

tl node list --query 'nodes[].{Name: name, State: state}' -o table
is "node list --query -o table: the nodes' names and states" "$RC:$OUT" \
    $'0:Name  State\n----  -------\ne1    booting\ne2    booting'
tl node list --query 'nodes[].name' -o tsv
is "node list --query -o tsv: one name a line" "$RC:$OUT" $'0:e1\ne2'
tl node list -o tsv --query "nodes[?name=='e2'].[name, state, vtpm]"
is "node list -o tsv of a list of lists: tab-separated" "$RC:$OUT" $'0:e2\tbooting\tTrue'
tl group list -o table
is "group list -o table: az's columns (the table transformer)" "$RC:$OUT" \
    $'0:Name             Location  Status\n---------------  --------  ---------\nmyResourceGroup  eastus    Succeeded'
tl node list
case $OUT in "NAME "*"e1 "*"e2 "*) ok "node list without -o: its text table" ;; *) not_ok "node list without -o: its text table" "$OUT" ;; esac

finish
