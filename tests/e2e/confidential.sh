#!/usr/bin/env bash
# e2e: confidential node pools (issue 14) on the emulated secure processor.
#
#  1. An AKS cluster whose system pool is DC2as_v5 (SEV-SNP) and a user pool
#     of DC2es_v5 (TDX) created empty, its teePolicy naming the emulated TDX
#     root, then scaled to one node.
#  2. The SNP node boots through its paravisor relay; its agent finds the
#     HCL report in its vTPM (NV 0x01400001), gets the VCEK from
#     tee/certification and is attested: verdict fail, one finding per
#     chain, component "tee", rule root-untrusted, the actual naming the
#     emulated ARK's SHA-256 (no default policy trusts the emulator).
#  3. The TDX node, whose pool's policy names the root: the agent gets its
#     TD quote from tee/tdquote; verdict pass, no findings, claims
#     x-ms-isolation-tee.x-ms-attestation-type tdxvm, the MRTD the
#     emulator's of the firmware file, x-ms-azurevm-vmid the node's uuid.
#  4. The platform's services refuse: a TDREPORT with one byte changed
#     (403: not the one this node's TDX module made), the operator's token
#     on an agent route (403), tee/certification of a TDX node (409).
#  5. The SNP pool's policy then names its root; the node restarted is
#     attested pass, claims sevsnpvm.
#  6. Standalone VMs (booted beside step 5): a DC2as_v5 VM resized to
#     DC2es_v5 before its first start attests as tdxvm; a DC2es_v5
#     NonPersistedTPM VM says tpm-persisted false in its runtime claims and
#     gets another EK certificate (the platform's still) after a restart,
#     and enrols and attests again.
#
# Environment: TL_BIN, TL_TLD, TL_FIXTURES; TL_E2E_KEEP=1 keeps the work
# folder. Exit 0 pass, 1 fail, 77 skip (no QEMU/OVMF/swtpm).
set -u
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
: "${TL_BIN:?}" "${TL_TLD:?}" "${TL_FIXTURES:?}"
for t in qemu-system-x86_64 swtpm; do
	command -v "$t" >/dev/null 2>&1 || skip_all "$t not installed"
done
for t in jq curl python3; do command -v "$t" >/dev/null 2>&1 || bail "$t missing (make deps)"; done
NODE_TIMEOUT=${TL_E2E_NODE_TIMEOUT:-600}
export TL_BOOT_TIMEOUT=$NODE_TIMEOUT

W=$(mktemp -d "${TMPDIR:-/tmp}/tl-e2e-cvm.XXXXXX") || bail mktemp
export TL_HOME=$W/home TL_TLD
export TL_STORE_DIRS=$W
unset TL_TOKEN
# shellcheck disable=SC2317
cleanup() {
	# tld's own account of long holds of its lock (lock.c), for a failure's reader
	grep -h "tld.lock held" "$TL_HOME/tld.log" 2>/dev/null | tail -5 | sed 's/^/# /'
	if [ -r "$TL_HOME/tld.addr" ]; then
		for n in $("$TL_BIN" node list --json 2>/dev/null | jq -r '.nodes[].name'); do
			"$TL_BIN" node delete "$n" >/dev/null 2>&1
		done
		kill "$(awk '{print $2}' "$TL_HOME/tld.addr")" 2>/dev/null
	fi
	if [ "${TL_E2E_KEEP:-0}" = 1 ]; then echo "# kept: $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
tl() { "$TL_BIN" "$@"; }

IMG=$TL_HOME/images/default
mkdir -p "$TL_HOME/images"
tl image build -o "$IMG" --fixtures "$TL_FIXTURES" >"$W/image.log" 2>&1 || bail "image build: $(tail -2 "$W/image.log")"
tl group create --name rg --location westeurope >/dev/null || bail "group create"

# the node of a pool, once it exists
node_of() { # node_of POOL
	tl node list --json | jq -r --arg p "$1" '.nodes[] | select(.name | startswith("aks-" + $p + "-")) | .name' | head -1
}
wait_attested() { # wait_attested NAME [OLD_ID]: until an attestation other than OLD_ID
	for _ in $(seq $((NODE_TIMEOUT * 2))); do
		v=$(tl node show "$1" --json 2>/dev/null | jq -r '.attestation.id // empty')
		[ -n "$v" ] && [ "$v" != "${2:-}" ] && return 0
		case $(tl node show "$1" --json 2>/dev/null | jq -r .state) in failed | crashed | stopped) return 1 ;; esac
		sleep 0.5
	done
	return 1
}

# ---- 1. the cluster ------------------------------------------------------------------
tl aks create -g rg -n c1 -c 1 -s Standard_DC2as_v5 --no-wait >"$W/aks.json" 2>&1 || bail "aks create: $(tail -2 "$W/aks.json")"
tl aks nodepool add -g rg --cluster-name c1 -n tdxpool -c 0 -s Standard_DC2es_v5 >"$W/pool.json" 2>&1
is "a DC2es_v5 pool of no nodes: its TEE tdx" "$(jq -c '[.count, .vmSize, .tee]' "$W/pool.json")" '[0,"Standard_DC2es_v5","tdx"]'
# the emulated roots: what an operator reads with `tl tee emulate`
tl tee emulate tdx --dir "$TL_HOME/tee-emul" --out "$W/x.bin" --json >"$W/tdx-root.json" || bail "tee emulate tdx"
tl tee emulate snp --dir "$TL_HOME/tee-emul" --out "$W/x.bin" --json >"$W/snp-root.json" || bail "tee emulate snp"
jq -c '{"trusted-roots": [."trusted-root"]}' "$W/tdx-root.json" >"$W/tdx-policy.json"
jq -c '{"trusted-roots": [."trusted-root"]}' "$W/snp-root.json" >"$W/snp-policy.json"
TDX_ROOT=$(jq -r '."trusted-root".sha256' "$W/tdx-root.json")
SNP_ROOT=$(jq -r '."trusted-root".sha256' "$W/snp-root.json")
tl policy rules -g rg --cluster-name c1 --nodepool-name tdxpool --tee-policy "$W/tdx-policy.json" --json >"$W/rules.json"
is "tdxpool's rules name the emulated TDX root" "$(jq -r '.rules.teePolicy."trusted-roots"[0].sha256' "$W/rules.json")" "$TDX_ROOT"
check "scale tdxpool to 1" tl aks nodepool update -g rg --cluster-name c1 -n tdxpool -c 1 --no-wait

# ---- 2. the SNP node: the emulator's root is nobody's by default -------------------------------
for _ in $(seq 120); do SNP=$(node_of nodepool1); [ -n "$SNP" ] && break; sleep 0.5; done
[ -n "$SNP" ] || bail "no node in nodepool1"
wait_attested "$SNP" || bail "$SNP: not attested (state $(tl node show "$SNP" --json | jq -r .state))"
tl node show "$SNP" --json >"$W/snp1.json"
is "$SNP: a confidential node, tee snp, labelled as AKS labels CVM nodes" \
	"$(jq -c '[.security_type, .tee, .state, .labels."kubernetes.azure.com/security-type"]' "$W/snp1.json")" '["ConfidentialVM","snp","running","ConfidentialVM"]'
tl attestation show "$(jq -r .attestation.id "$W/snp1.json")" --json >"$W/snp-att1.json"
is "SNP, no policy naming the emulator: verdict fail, one finding: tee root-untrusted" \
	"$(jq -c '[.verdict, [.findings[] | [.component, .rule]]]' "$W/snp-att1.json")" '["fail",[["tee","root-untrusted"]]]'
check "the finding names the emulated ARK's SHA-256" \
	grep -q "$SNP_ROOT" <(jq -r '.findings[0].actual' "$W/snp-att1.json")
is "the evidence was verified otherwise: attestation type sevsnpvm, not debuggable" \
	"$(jq -c '[.tee."x-ms-isolation-tee"."x-ms-attestation-type", .tee."x-ms-isolation-tee"."x-ms-sevsnpvm-is-debuggable"]' "$W/snp-att1.json")" '["sevsnpvm",false]'

# ---- 3. the TDX node under a policy naming its root -------------------------------------
for _ in $(seq 240); do TDX=$(node_of tdxpool); [ -n "$TDX" ] && break; sleep 0.5; done
[ -n "$TDX" ] || bail "no node in tdxpool"
wait_attested "$TDX" || bail "$TDX: not attested"
tl node show "$TDX" --json >"$W/tdx1.json"
tl attestation show "$(jq -r .attestation.id "$W/tdx1.json")" --json >"$W/tdx-att.json"
is "TDX under its pool's policy: verdict pass, no findings, tdxvm" \
	"$(jq -c '[.verdict, (.findings | length), .tee."x-ms-isolation-tee"."x-ms-attestation-type"]' "$W/tdx-att.json")" '["pass",0,"tdxvm"]'
MRTD=$(tl tee emulate tdx --dir "$TL_HOME/tee-emul" --out "$W/y.bin" --firmware /usr/share/OVMF/OVMF_CODE_4M.secboot.fd --json |
	jq -r .measurement)
is "the MRTD is the emulator's of the firmware file" "$(jq -r '.tee."x-ms-isolation-tee".tdx_mrtd' "$W/tdx-att.json")" "$MRTD"
is "x-ms-azurevm-vmid is the node's uuid" "$(jq -r '.tee."x-ms-azurevm-vmid"' "$W/tdx-att.json")" "$(jq -r .uuid "$W/tdx1.json")"

# ---- 4. the platform's services refuse ------------------------------------------------------
read -r URL _ <"$TL_HOME/tld.addr"
AGENT_TOKEN=$(jq -r .token "$TL_HOME/nodes/$TDX/agent.json")
OP=$(cat "$TL_HOME/operator.token")
python3 - "$TL_HOME/nodes/$TDX/td-report.bin" "$W/forged.json" <<'EOF'
import base64, json, sys
r = bytearray(open(sys.argv[1], 'rb').read())
r[128] ^= 1  # one bit of REPORTDATA
json.dump({"report": base64.urlsafe_b64encode(bytes(r)).decode().rstrip('=')}, open(sys.argv[2], 'w'))
EOF
code=$(curl -s -o "$W/resp" -w '%{http_code}' -X POST -H "Authorization: Bearer $AGENT_TOKEN" \
	-H 'Content-Type: application/json' --data-binary @"$W/forged.json" "$URL/v1/nodes/$TDX/tee/tdquote")
is "tee/tdquote of a TDREPORT with one bit changed: 403, not the one its TDX module made" \
	"$code $(jq -r .error "$W/resp")" "403 report: not the TDREPORT this node's TDX module made last"
code=$(curl -s -o "$W/resp" -w '%{http_code}' -X POST -H "Authorization: Bearer $OP" \
	-H 'Content-Type: application/json' --data-binary '{}' "$URL/v1/nodes/$TDX/tee/certification")
is "the operator's token on an agent route: 403" "$code" 403
code=$(curl -s -o "$W/resp" -w '%{http_code}' -X POST -H "Authorization: Bearer $AGENT_TOKEN" \
	-H 'Content-Type: application/json' --data-binary '{}' "$URL/v1/nodes/$TDX/tee/certification")
is "tee/certification of a TDX node: 409" "$code $(jq -r .error "$W/resp")" "409 not an SEV-SNP confidential node"

# ---- 5. the SNP pool's policy names its root; the node restarted passes ------------------------
tl policy rules -g rg --cluster-name c1 --nodepool-name nodepool1 --tee-policy "$W/snp-policy.json" >/dev/null
old=$(jq -r .attestation.id "$W/snp1.json")
tl node stop "$SNP" >/dev/null 2>&1
tl aks nodepool update -g rg --cluster-name c1 -n tdxpool -c 0 --no-wait >/dev/null 2>&1 # done with: its CPU to the VMs below
tl node start "$SNP" >/dev/null 2>&1 &
# 6. the VMs boot meanwhile
check "vm create resized" tl vm create -g rg -n resized --size Standard_DC2as_v5 --security-type ConfidentialVM \
	--os-disk-security-encryption-type VMGuestStateOnly --no-start
tl vm resize -g rg -n resized --size Standard_DC2es_v5 >"$W/resize.json" 2>&1
is "a DC2as_v5 VM resized to DC2es_v5: allowed, its TEE now tdx" "$(jq -c '[.hardwareProfile.vmSize, .tee]' "$W/resize.json")" '["Standard_DC2es_v5","tdx"]'
check "vm start resized" tl vm start -g rg -n resized
check "vm create ephemeral" tl vm create -g rg -n ephemeral --size Standard_DC2es_v5 --security-type ConfidentialVM \
	--os-disk-security-encryption-type NonPersistedTPM
wait
wait_attested "$SNP" "$old" || bail "$SNP: not attested after its restart"
tl attestation show "$(tl node show "$SNP" --json | jq -r .attestation.id)" --json >"$W/snp-att2.json"
is "SNP under its pool's policy: verdict pass, no findings, sevsnpvm" \
	"$(jq -c '[.verdict, (.findings | length), .tee."x-ms-isolation-tee"."x-ms-attestation-type"]' "$W/snp-att2.json")" '["pass",0,"sevsnpvm"]'

# ---- 6. the VMs ---------------------------------------------------------------------------
att() { tl attestation show "$(tl node show "$1" --json | jq -r .attestation.id)" --json; }
wait_attested resized || bail "resized: not attested"
att resized >"$W/resized.json"
is "the resized VM attests as tdxvm (no policy of a VM names the emulator: root-untrusted)" \
	"$(jq -c '[.tee."x-ms-isolation-tee"."x-ms-attestation-type", ([.findings[].rule] | unique)]' "$W/resized.json")" '["tdxvm",["root-untrusted"]]'
wait_attested ephemeral || bail "ephemeral: not attested"
tl node show ephemeral --json >"$W/eph1.json"
att ephemeral >"$W/eph-att1.json"
is "NonPersistedTPM: tpm-persisted false in the runtime claims" \
	"$(jq -c '[.tee."x-ms-azurevm-tpm-persisted", .tee."x-ms-isolation-tee"."x-ms-attestation-type"]' "$W/eph-att1.json")" '[false,"tdxvm"]'
ek1=$(jq -r .report.ek_certs.rsa2048.sha256 "$W/eph1.json")
old=$(jq -r .attestation.id "$W/eph1.json")
tl vm stop -g rg -n ephemeral >/dev/null 2>&1
tl vm start -g rg -n ephemeral >/dev/null 2>&1
wait_attested ephemeral "$old" || bail "ephemeral: not attested after its restart"
tl node show ephemeral --json >"$W/eph2.json"
check "NonPersistedTPM restarted: another EK certificate, the platform's, and attested again" \
	test "$(jq -r '[.report.ek_certs.rsa2048.verdict, (.report.ek_certs.rsa2048.sha256 != "'"$ek1"'"), (.attestation.id != '"$old"')] | join(" ")' "$W/eph2.json")" = "issued-by-platform true true"

finish
