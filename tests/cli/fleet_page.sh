#!/usr/bin/env bash
# The fleet integrity page (issue 17 part 7, GET /ui/) with a real tld, real
# swtpm vTPMs and the real tl-agent, in headless Chromium (Debian's
# chromium driven by playwright-core from tests/node, fleet_page.js):
#  1. the page's files: public (they hold no data), text/html and
#     text/javascript, a Content-Security-Policy of this origin only,
#     nosniff; /ui is the page too; an unknown file 404; the JSON routes
#     still 401 without a token (nothing weakened); tl token create prints
#     the page's address with the token in the fragment;
#  2. two external nodes: a1 boots as the OVMF log says and attests (pass),
#     a2 sends that log with its BootOrder record cut out (its vTPM measured
#     the whole boot): fail, the replay of PCR 1 differs: an alert naming
#     the component, the quoted (expected) and replayed (actual) digests;
#  3. the browser, as a reader: the fleet lists both nodes with verdict and
#     security type, a2's open alert and the pool, the token gone from the address;
#     the failed node's row leads to a2's page (its timeline: the fail),
#     its alert link to the alert, which shows the failed component with
#     the expected and actual digests the JSON API has; no console error
#     (a CSP violation would be one);
#  4. a wrong token: the page says authentication failed and shows no
#     data; no token: the form, no data; the reader's token typed in: the
#     fleet.
# The pools' table: a pool of no nodes (tl aks create --node-count 0: nothing
# boots), Succeeded, no update under way; an update's progress (done/total,
# phase) needs nodes that boot and is not driven here.
# Screenshots: $TL_BUILD_ROOT/meson-logs/fleet_page/ (else the work folder,
# kept with KEEP=1).
# Needs: TL_BIN, TL_TLD, TL_AGENT, TL_VECTORS, TL_FIXTURES, TL_NPM_DIR; chromium, node,
# swtpm, tpm2-tools, jq, curl.
set -u
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
# shellcheck source=tests/lib/extnode.sh
. "$(dirname "$0")/../lib/extnode.sh"
: "${TL_BIN:?}" "${TL_TLD:?}" "${TL_AGENT:?}" "${TL_VECTORS:?}" "${TL_FIXTURES:?}" "${TL_NPM_DIR:?}"
for t in swtpm tpm2_pcrextend; do
    command -v "$t" >/dev/null 2>&1 || skip_all "$t not installed (apt-get install swtpm tpm2-tools)"
done
for t in jq curl node; do command -v "$t" >/dev/null 2>&1 || bail "$t missing (make deps)"; done
[ -x /usr/bin/chromium ] || bail "/usr/bin/chromium missing (make deps: Debian's chromium)"
[ -r "$TL_NPM_DIR/node_modules/playwright-core/package.json" ] ||
    bail "playwright-core missing in $TL_NPM_DIR (make deps: npm ci)"
LOG=$TL_VECTORS/eventlog/ovmf-debian12/secureboot-on.eventlog.bin
[ -r "$LOG" ] || bail "$LOG missing"

W=$(mktemp -d /tmp/tl-fleetpage.XXXXXX) || bail mktemp
export TL_HOME=$W/home TL_TLD TSS2_LOG=all+none
unset TL_TOKEN TL_STORE_DIRS
SHOTS=${TL_BUILD_ROOT:+$TL_BUILD_ROOT/meson-logs/fleet_page}
SHOTS=${SHOTS:-$W/shots}
mkdir -p "$SHOTS" || bail "mkdir $SHOTS"
# shellcheck source=tests/lib/tldhome.sh
. "$(dirname "$0")/../lib/tldhome.sh"

tl() { "$TL_BIN" "$@" 2>"$W/stderr"; }

for n in a1 a2; do
    tl node create "$n" --external --json >/dev/null || bail "tl node create $n: $(cat "$W/stderr")"
done
read -r URL _ <"$TL_HOME/tld.addr" || bail "no tld.addr"
tl token create ro --role reader >"$W/token.txt" || bail "tl token create: $(cat "$W/stderr")"
READER=$(sed -n 's/^token ro (role reader): //p' "$W/token.txt")
[ ${#READER} = 64 ] || bail "tl token create ro: $(cat "$W/token.txt")"

# ---- 1. the page's files ------------------------------------------------------------------
get() { # get PATH: the status; the headers in W/h (lowercase names), the body in W/b
    curl -s -o "$W/b" -D - -w '%{http_code}' "$URL$1" | tr -d '\r' >"$W/h.raw"
    tail -n1 "$W/h.raw"
    sed '$d' "$W/h.raw" | sed 's/^\([^:]*\):/\L\1:/' >"$W/h"
}
header() { sed -n "s/^$1: //p" "$W/h"; }
is "GET /ui/ without credentials: 200, text/html" "$(get /ui/) $(header content-type)" \
    "200 text/html; charset=utf-8"
is "... Content-Security-Policy of this origin only, nosniff, no referrer" \
    "$(header content-security-policy) | $(header x-content-type-options) | $(header referrer-policy)" \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none' | nosniff | no-referrer"
check "... the page is src/tld/ui/index.html, with no inline script" \
    sh -c "cmp -s '$W/b' '$(dirname "$0")/../../src/tld/ui/index.html' && ! grep -q '<script>' '$W/b' && grep -q '<script src=\"/ui/fleet.js\" defer></script>' '$W/b'"
check "... and its script puts API text in the page as text only (no innerHTML, outerHTML, insertAdjacentHTML, document.write, eval)" \
    sh -c "! grep -nE 'innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function' '$(dirname "$0")/../../src/tld/ui/fleet.js'"
is "GET /ui/fleet.js: 200, text/javascript, nosniff; /ui/fleet.css: text/css" \
    "$(get /ui/fleet.js) $(header content-type) $(header x-content-type-options) $(get /ui/fleet.css) $(header content-type)" \
    "200 text/javascript; charset=utf-8 nosniff 200 text/css; charset=utf-8"
is "GET /ui: the page too; /ui/nosuch.js and /ui/../v1/nodes: 404" \
    "$(get /ui) $(cmp -s "$W/b" "$(dirname "$0")/../../src/tld/ui/index.html" && echo same) $(get /ui/nosuch.js) $(curl -s -o /dev/null -w '%{http_code}' --path-as-is "$URL/ui/../v1/nodes")" \
    "200 same 404 404"
is "the JSON routes still want a token: /v1/nodes, /v1/alerts 401; POST /ui/ 401" \
    "$(get /v1/nodes) $(get /v1/alerts) $(curl -s -o /dev/null -w '%{http_code}' -X POST "$URL/ui/")" "401 401 401"
is "tl token create (reader) prints the page's address, the token in its fragment" \
    "$(sed -n 's/^fleet page: //p' "$W/token.txt")" "$URL/ui/#token=$READER"

# ---- 2. a1 passes, a2 fails -------------------------------------------------------------------
"$TL_BIN" eventlog show "$LOG" --json >"$W/log.json" 2>/dev/null || bail "tl eventlog show"
ev() { jq -r ".events[$1] | $2" "$W/log.json"; }
[ "$(ev 10 .component)" = BootOrder ] || bail "event 10 is not BootOrder"
{ head -c "$(ev 10 .offset)" "$LOG"; tail -c +$(($(ev 11 .offset) + 1)) "$LOG"; } >"$W/removed.bin"
for n in a1 a2; do extnode_tpm "$n" "$LOG"; done
mkdir -p "$W/efivars"
printf '\006\000\000\000\001' >"$W/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"
agent() { # agent NODE EVENTLOG: attest once
    "$TL_AGENT" --config "$TL_HOME/nodes/$1/agent.json" --tcti "swtpm:path=$W/$1/S" --eventlog "$2" \
        --efivars "$W/efivars" --once >"$W/$1.agent.out" 2>"$W/$1.agent.err"
}
agent a1 "$LOG"
is "a1's agent: attested pass" "$? $(grep -c 'TL: agent attested verdict=pass' "$W/a1.agent.out")" "0 1"
agent a2 "$W/removed.bin"
is "a2's agent (BootOrder cut from its log): attested fail" \
    "$(grep -c 'TL: agent attested verdict=fail' "$W/a2.agent.out")" "1"
api() { curl -s -H "Authorization: Bearer $READER" "$URL$1"; }
api "/v1/alerts?node=a2" >"$W/alerts.json"
ALERT=$(jq -r '.alerts[0].id' "$W/alerts.json")
jq -c '.alerts[0].findings[0] | {component, expected, actual}' "$W/alerts.json" >"$W/finding.json"
COMP=$(jq -r .component "$W/finding.json")
EXPECTED=$(jq -r .expected "$W/finding.json")
ACTUAL=$(jq -r .actual "$W/finding.json")
is "a2's alert: one, for PCR 1's replay: the quoted value expected, a replayed one actual" \
    "$(jq '.alerts | length' "$W/alerts.json") $COMP $(jq -r '.alerts[0].findings[0].pcr' "$W/alerts.json") ${#EXPECTED} ${#ACTUAL}" \
    "1 event log 1 64 64"
check "... expected and actual differ" test "$EXPECTED" != "$ACTUAL"

# ---- a pool with no nodes (nothing boots), for the pools' table -------------------------------
"$TL_BIN" image build -o "$TL_HOME/images/default" --fixtures "$TL_FIXTURES" >"$W/image.log" 2>&1 ||
    bail "tl image build: $(tail -3 "$W/image.log")"
tl group create --name rg1 --location local >/dev/null || bail "tl group create: $(cat "$W/stderr")"
tl aks create --resource-group rg1 --name c1 --node-count 0 --enable-secure-boot --enable-vtpm \
    --no-ssh-key >/dev/null || bail "tl aks create: $(cat "$W/stderr")"

# ---- 3. and 4. the browser ----------------------------------------------------------------
node "$(dirname "$0")/fleet_page.js" "$TL_NPM_DIR" "$URL" "$READER" "$SHOTS" >"$W/seen.json" 2>"$W/js.err" ||
    bail "fleet_page.js: $(tail -5 "$W/js.err")"
echo "# screenshots: $SHOTS"
seen() { jq -c "$1" "$W/seen.json"; }
is "3. the fleet: a1 pass and a2 fail, both TrustedLaunch; a2's open alert names the component" \
    "$(seen '[.nodes, .alerts]')" \
    "[[[\"a1\",\"pass\",\"TrustedLaunch\"],[\"a2\",\"fail\",\"TrustedLaunch\"]],[[\"a2\",\"$COMP\"]]]"
is "3. ... the token gone from the address; the pool: rg1/c1/nodepool1, 0 nodes, Succeeded, no update under way" \
    "$(seen '[.address, .pools]')" "[\"$URL/ui/#/\",[[\"rg1/c1/nodepool1\",\"0\",\"Succeeded\",\"idle\"]]]"
is "3. the failed node's row leads to a2's page; its timeline: the fail, naming the component" \
    "$(seen '[.failed, .node, .timeline]')" "[\"a2\",\"a2\",[[\"fail\",\"$COMP\"]]]"
is "3. its alert link: alert $ALERT, the failed component with the API's expected and actual digests" \
    "$(seen '[.alert, .findings[0]]')" "[\"$ALERT\",$(cat "$W/finding.json")]"
is "3. no console error on the way (a CSP violation would be one)" "$(seen .console)" "[]"
is "4. a wrong token: authentication failed (401), no data" \
    "$(seen '[.wrong.error, .wrong.rows, .wrong.failedShown]')" \
    '["authentication failed (401): invalid credentials. The page needs a reader token.",0,false]'
is "4. no token: the form, no error, no data; the reader's token typed in: 2 nodes" \
    "$(seen '[.none.error, .none.rows, .none.failedShown, .none.afterLogin]')" '["",0,false,2]'
check "screenshots of each view" sh -c "cd '$SHOTS' && test -s 1-fleet.png && test -s 2-node.png && test -s 3-alert.png && test -s 4-token-wrong.png && test -s 4-token-none.png"
finish
