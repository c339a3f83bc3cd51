#!/usr/bin/env bash
# Cross-check of libtl's TDX verifier with an independent one:
# @phala/dcap-qvl (Intel DCAP quote verification in pure JavaScript, from
# the npm registry), installed by `make deps` into tests/node and run
# offline under Node with the same quote, the same collateral and the same
# time. For dcap-rs's set (the one where a single instant fits every
# artifact) the TCB status and advisory IDs must be equal, at several
# times inside its window; outside it, and for the sets no instant fits
# (go-tdx-guest's v5 sample, trustee's), both must refuse, dcap-qvl with
# an error and libtl with stale-collateral reasons, never a signature one.
# Needs: TL_TDX_VERIFY, TL_VECTORS, TL_NPM_DIR (tests/node, where `make
# deps` runs npm ci: tests/node/package.json pins the version) (TL_BIN:
# tl tee verify checked too); node (>= 14) and jq. Nothing is skipped: a
# missing node or package is a failure that says to run `make deps`.
set -u
: "${TL_TDX_VERIFY:?}" "${TL_VECTORS:?}" "${TL_NPM_DIR:?}"
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
NPM_DIR=$TL_NPM_DIR
for t in node jq; do
    command -v "$t" >/dev/null || { not_ok "$t is installed" "make deps installs it"; finish; }
done
want_version=$(node -p "require('$NPM_DIR/package.json').dependencies['@phala/dcap-qvl']")
if [ ! -f "$NPM_DIR/node_modules/@phala/dcap-qvl/package.json" ]; then
    not_ok "@phala/dcap-qvl $want_version is installed in $NPM_DIR" "run make deps (npm ci --prefix tests/node)"
    finish
fi
W=$(mktemp -d /tmp/tl-tdx-dcapqvl.XXXXXX)
trap 'rm -rf "$W"' EXIT
T=$TL_VECTORS/tee/tdx

got_version=$(jq -r .version "$NPM_DIR/node_modules/@phala/dcap-qvl/package.json")
[ "$got_version" = "$want_version" ] && ok "@phala/dcap-qvl $got_version installed (tests/node pins $want_version)" ||
    not_ok "@phala/dcap-qvl $want_version installed" "found $got_version: run make deps"

# collateral folders as `--collateral DIR` takes them (links, no copies)
mkdir -p "$W/dcap-rs" "$W/v5" "$W/trustee"
for f in tcbinfov3_00806f050000.json qeidentityv2_apiv4.json pck_platform_crl.der intel_root_ca_crl.der; do
    ln -s "$T/dcap-rs/$f" "$W/dcap-rs/$f"
done
for f in sample_tcbinfo_response_v5 sample_qeIdentity_response pckcrl rootcrl.der; do ln -s "$T/$f" "$W/v5/$f"; done
for f in trustee-tcbInfo.json trustee-enclaveIdentity.json; do ln -s "$T/$f" "$W/trustee/$f"; done
for d in dcap-rs v5 trustee; do ln -s "$T/intel-tcb-signing-2018.pem" "$W/$d/signing.pem"; done

dcapqvl() { # dcapqvl QUOTE TCBINFO QEID PCKCRL ROOTCRL TIME
    node "$HERE/tdx_dcapqvl.js" "$NPM_DIR" "$1" "$2" "$3" "$T/intel-tcb-signing-2018.pem" \
        "$T/intel-sgx-root-ca.pem" "$4" "$5" "$(date -u -d "$6" +%s)"
}
ours() { # ours DIR QUOTE TIME [--accept S]
    local dir=$1 quote=$2 time=$3
    shift 3
    "$TL_TDX_VERIFY" --at "$time" --collateral "$dir" "$@" "$quote" 2>"$W/stderr"
}
status_ids() { jq -c '{tcb_status, advisory_ids}'; }

Q=$T/dcap-rs/quote_tdx_00806f050000.dat
for time in 2025-02-14T00:00:00Z 2025-03-01T00:00:00Z 2025-03-15T00:00:00Z; do
    theirs=$(dcapqvl "$Q" "$T/dcap-rs/tcbinfov3_00806f050000.json" "$T/dcap-rs/qeidentityv2_apiv4.json" \
        "$T/dcap-rs/pck_platform_crl.der" "$T/dcap-rs/intel_root_ca_crl.der" "$time")
    mine_json=$(ours "$W/dcap-rs" "$Q" "$time")
    mine=$(echo "$mine_json" | status_ids)
    if [ "$(echo "$theirs" | status_ids)" = "$mine" ] &&
        [ "$mine" = '{"tcb_status":"OutOfDate","advisory_ids":["INTEL-SA-00960","INTEL-SA-00982","INTEL-SA-00986"]}' ]; then
        ok "dcap-rs quote at $time: dcap-qvl $got_version and libtl agree: $mine"
    else
        not_ok "dcap-rs quote at $time: dcap-qvl and libtl agree" "dcap-qvl: $theirs" "libtl: $mine_json"
    fi
    codes=$(echo "$mine_json" | jq -c '[.verdict.reasons[].code]')
    [ "$codes" = '["tcb-status"]' ] && ok "dcap-rs at $time: libtl's only reason is tcb-status" ||
        not_ok "dcap-rs at $time: only tcb-status" "$codes"
    if ours "$W/dcap-rs" "$Q" "$time" --accept OutOfDate >/dev/null; then
        ok "dcap-rs at $time: passes when OutOfDate is accepted"
    else
        not_ok "dcap-rs at $time: passes when OutOfDate is accepted" "$(cat "$W/stderr")"
    fi
done

# The same through `tl tee verify --json` (the CLI's TDX path), when built.
if [ -n "${TL_BIN:-}" ] && [ -x "$TL_BIN" ]; then
    time=2025-03-01T00:00:00Z
    "$TL_BIN" tee verify --json --at $time --collateral "$W/dcap-rs" "$Q" >"$W/tl.json" 2>"$W/stderr"
    st=$?
    mine=$(jq -c '{tcb_status: .claims.attester_tcb_status, advisory_ids: .claims.attester_advisory_ids}' "$W/tl.json")
    theirs=$(dcapqvl "$Q" "$T/dcap-rs/tcbinfov3_00806f050000.json" "$T/dcap-rs/qeidentityv2_apiv4.json" \
        "$T/dcap-rs/pck_platform_crl.der" "$T/dcap-rs/intel_root_ca_crl.der" $time | status_ids)
    if [ "$st" = 1 ] && [ "$mine" = "$theirs" ]; then
        ok "tl tee verify --json at $time: exit 1 (tcb-status), claims agree with dcap-qvl: $mine"
    else
        not_ok "tl tee verify --json agrees with dcap-qvl" "exit $st: $mine" "dcap-qvl: $theirs" "$(cat "$W/stderr")"
    fi
    echo '{"tcb-status": ["UpToDate", "OutOfDate"]}' >"$W/policy.json"
    if "$TL_BIN" tee verify --at $time --policy "$W/policy.json" --collateral "$W/dcap-rs" "$Q" >/dev/null 2>&1; then
        ok "tl tee verify: passes (exit 0) under a policy accepting OutOfDate"
    else
        not_ok "tl tee verify: passes under a policy accepting OutOfDate"
    fi
fi

# Refusals: both refuse, and libtl says why without calling it a forgery.
refused() { # refused NAME THEIRS MINE_JSON EXPECTED_CODES
    local codes
    codes=$(echo "$3" | jq -c '[.verdict.reasons[].code] | unique')
    if echo "$2" | jq -e .error >/dev/null && [ "$codes" = "$4" ]; then
        ok "$1: both refuse (dcap-qvl: $(echo "$2" | jq -r .error); libtl: $codes)"
    else
        not_ok "$1: both refuse for stale collateral" "dcap-qvl: $2" "libtl: $3"
    fi
}
time=2025-03-20T00:00:00Z
refused "dcap-rs at $time, after its TCB info's next update" \
    "$(dcapqvl "$Q" "$T/dcap-rs/tcbinfov3_00806f050000.json" "$T/dcap-rs/qeidentityv2_apiv4.json" \
        "$T/dcap-rs/pck_platform_crl.der" "$T/dcap-rs/intel_root_ca_crl.der" $time)" \
    "$(ours "$W/dcap-rs" "$Q" $time --accept OutOfDate)" '["collateral-expired"]'
time=2026-02-03T00:00:00Z
refused "go-tdx-guest v5 quote at $time" \
    "$(dcapqvl "$T/quote_v5_sample.dat" "$T/sample_tcbinfo_response_v5" "$T/sample_qeIdentity_response" \
        "$T/pckcrl" "$T/rootcrl.der" $time)" \
    "$(ours "$W/v5" "$T/quote_v5_sample.dat" $time)" '["collateral-expired","expired"]'
mine=$(ours "$W/v5" "$T/quote_v5_sample.dat" $time | status_ids)
[ "$mine" = '{"tcb_status":"UpToDate","advisory_ids":[]}' ] && ok "v5 quote: libtl reads UpToDate" ||
    not_ok "v5 quote: UpToDate" "$mine"
time=2025-11-01T00:00:00Z
refused "trustee v4 quote at $time" \
    "$(dcapqvl "$T/trustee-tdx_quote_6.dat" "$T/trustee-tcbInfo.json" "$T/trustee-enclaveIdentity.json" - - $time)" \
    "$(ours "$W/trustee" "$T/trustee-tdx_quote_6.dat" $time)" '["collateral","expired","tcb-status"]'

finish
