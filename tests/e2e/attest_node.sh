#!/usr/bin/env bash
# e2e: remote attestation of real nodes (tld + tl-agent in the image,
# QEMU + OVMF + swtpm under TCG).
#
#  1. A Secure Boot + vTPM node boots, its agent enrols an AK under the EK
#     (the service's MakeCredential, the TPM's ActivateCredential), is
#     attested with a fresh nonce: verdict pass, labels
#     kubernetes.azure.com/trusted-launch=true and secure-boot=true; its
#     token verifies with the published JWKS in an independent JWT
#     implementation (jose, from npm, under Node.js), and a token with one
#     character changed does not.
#  2. Secure Boot off, vTPM on, the image's kernel replaced by another kernel
#     build (Debian's cloud kernel, with its own modules) while the image's
#     manifest still names the original: the node boots, verdict fail, an
#     integrity alert names the kernel, with the event, the PCR and the
#     expected and actual digests; no trusted-launch label.
#  3. The same with a changed kernel command line: the finding is the
#     "kernel command line", expected and actual text.
#
# Environment: TL_BIN, TL_TLD, TL_FIXTURES; TL_E2E_KEEP=1 keeps the work
# folder. Exit 0 pass, 1 fail, 77 skip (no QEMU/OVMF/swtpm).
set -u
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
: "${TL_BIN:?}" "${TL_TLD:?}" "${TL_FIXTURES:?}"
for t in qemu-system-x86_64 swtpm; do
	command -v "$t" >/dev/null 2>&1 || {
		skip_all "$t not installed"
	}
done
for t in jq node npm curl; do command -v "$t" >/dev/null 2>&1 || bail "$t missing (make deps)"; done
[ -e "$TL_FIXTURES/vmlinuz-cloud" ] || bail "$TL_FIXTURES/vmlinuz-cloud missing (make fixtures)"

W=$(mktemp -d "${TMPDIR:-/tmp}/tl-e2e-attest.XXXXXX") || bail mktemp
export TL_HOME=$W/home TL_TLD
export TL_STORE_DIRS=$W # the test's images are built in $W (tld takes images only from its stores)
# shellcheck disable=SC2317
cleanup() {
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

# jose, the relying party's JWT library (npm), installed in the work folder
(cd "$W" && npm init -y >/dev/null 2>&1 && npm install --silent --no-audit --no-fund jose@5 >npm.log 2>&1) ||
	bail "npm install jose failed: $(tail -3 "$W/npm.log")"
cat >"$W/verify.mjs" <<'EOF'
import { createLocalJWKSet, jwtVerify } from 'jose';
const [jwksUrl, token] = process.argv.slice(2);
// the relying party's credential (tl token create --role relying-party)
const jwks = await (await fetch(jwksUrl, { headers: { Authorization: `Bearer ${process.env.RP_TOKEN}` } })).json();
try {
  const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks),
    { issuer: 'trustlaunch', algorithms: ['ES256'] });
  console.log(JSON.stringify({ ok: true, header: protectedHeader, payload }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, error: e.code || String(e) }));
}
EOF

# ---- images ------------------------------------------------------------------------
IMG=$TL_HOME/images/default
mkdir -p "$TL_HOME/images"
tl image build -o "$IMG" --fixtures "$TL_FIXTURES" >"$W/imgA.log" 2>&1 || bail "image build: $(tail -2 "$W/imgA.log")"
# another kernel build: the cloud kernel and its modules, the rest as before
ALT=$W/fixtures-cloud
mkdir -p "$ALT"
for f in shimx64.efi.signed grubx64.efi.signed busybox-static module-cert.pem; do
	[ -e "$TL_FIXTURES/$f" ] && ln -s "$(realpath "$TL_FIXTURES/$f")" "$ALT/$f"
done
ln -s "$(realpath "$TL_FIXTURES/vmlinuz-cloud")" "$ALT/vmlinuz"
ln -s "$(realpath "$TL_FIXTURES/modules-cloud")" "$ALT/modules"
tl image build -o "$W/imgB" --fixtures "$ALT" >"$W/imgB.log" 2>&1 || bail "cloud image build: $(tail -2 "$W/imgB.log")"
tl image build -o "$W/imgC" --fixtures "$TL_FIXTURES" --cmdline "console=ttyS0 panic=-1 tl.debug=1" \
	>"$W/imgC.log" 2>&1 || bail "cmdline image build: $(tail -2 "$W/imgC.log")"
# the disks change, the manifests (the reference values) stay the original's
for x in B C; do
	mkdir -p "$W/swap$x"
	ln -s "$W/img$x/disk.raw" "$W/swap$x/disk.raw"
	cp "$IMG/manifest.json" "$W/swap$x/manifest.json"
done
ok "images: original, cloud kernel, changed command line"

wait_attested() { # wait_attested NAME: until the node has an attestation (TL_E2E_NODE_TIMEOUT, 240 s)
	for _ in $(seq $((${TL_E2E_NODE_TIMEOUT:-240} * 2))); do
		v=$(tl node show "$1" --json 2>/dev/null | jq -r '.attestation.verdict // empty')
		[ -n "$v" ] && return 0
		st=$(tl node show "$1" --json 2>/dev/null | jq -r .state)
		case $st in failed | crashed | stopped) return 1 ;; esac
		sleep 0.5
	done
	return 1
}

# ---- 1. a good node -------------------------------------------------------------------
t0=$EPOCHREALTIME
tl node create good --no-wait >/dev/null
tl node create kernel --secure-boot off --image "$W/swapB" --no-wait >/dev/null
tl node create cmdline --secure-boot off --image "$W/swapC" --no-wait >/dev/null
wait_attested good || { tl node console good | tail -20; }
secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
tl node show good --json >"$W/good.json"
check "Secure Boot + vTPM: enrolled an AK by credential activation (${secs}s to attested)" \
	test "$(jq -r '.ak.name | length' "$W/good.json")" = 68
check "Secure Boot + vTPM: verdict pass, Secure Boot proven" \
	test "$(jq -c '.attestation | [.verdict, .secure_boot, .findings]' "$W/good.json")" = '["pass",true,0]'
check "Secure Boot + vTPM: labels trusted-launch=true and secure-boot=true" \
	test "$(jq -c '.labels' "$W/good.json")" = '{"kubernetes.azure.com/trusted-launch":"true","kubernetes.azure.com/secure-boot":"true"}'
check "the agent printed its enrolment and verdict on the console" \
	sh -c "'$TL_BIN' node console good | grep -q '^TL: agent enrolled ak=' && '$TL_BIN' node console good | grep -q '^TL: agent attested verdict=pass'"
id=$(jq -r .attestation.id "$W/good.json")
tl attestation show "$id" --json >"$W/att.json"
base=$(awk '{print $1}' "$TL_HOME/tld.addr")
token=$(jq -r .token "$W/att.json")
RP_TOKEN=$(tl token create rp --role relying-party --json | jq -r .token)
export RP_TOKEN
node "$W/verify.mjs" "$base/v1/jwks" "$token" >"$W/jose.json" 2>&1
check "the token verifies with the published JWKS in jose (ES256)" \
	test "$(jq -c '[.ok, .header.alg, .payload.node, .payload.verdict, .payload.secure_boot, .payload.vtpm]' "$W/jose.json")" = '[true,"ES256","good","pass",true,true]'
check "the token's claims: nonce and PCR digest of the attestation, iat < exp" \
	test "$(jq -r '[.payload.nonce, .payload.pcr_digest, (.payload.iat < .payload.exp)] | join(" ")' "$W/jose.json")" = \
	"$(jq -r '[.nonce, .pcr_digest, true] | join(" ")' "$W/att.json")"
bad_token=$(printf '%s' "$token" | python3 -c 'import sys; t=sys.stdin.read(); i=len(t.split(".")[0])+5; print(t[:i]+("A" if t[i]!="A" else "B")+t[i+1:])')
node "$W/verify.mjs" "$base/v1/jwks" "$bad_token" >"$W/jose-bad.json" 2>&1
check "a token with one character changed does not verify" test "$(jq -r .ok "$W/jose-bad.json")" = false

# ---- 2. another kernel build ---------------------------------------------------------------
wait_attested kernel || { tl node console kernel | tail -20; }
tl node show kernel --json >"$W/kernel.json"
check "another kernel: the node booted (Secure Boot off) and was attested: verdict fail" \
	test "$(jq -c '[.state, .attestation.verdict]' "$W/kernel.json")" = '["running","fail"]'
tl alert list --node kernel --json >"$W/alerts.json"
check "another kernel: an integrity alert names the kernel" \
	sh -c "jq -e '.alerts[0].components | index(\"kernel\")' '$W/alerts.json' >/dev/null"
# PCR 4: the Authenticode digest (LoadImage); PCR 9: the file digest (grub)
want4=$(jq -r '.components[] | select(.name == "kernel") | .digests.sha256' "$IMG/manifest.json")
got4=$(tl secureboot digest "$TL_FIXTURES/vmlinuz-cloud" --json | jq -r .digests.sha256)
want9=$(jq -r '.components[] | select(.name == "kernel") | .file_digests.sha256' "$IMG/manifest.json")
got9=$(sha256sum <"$(realpath "$TL_FIXTURES/vmlinuz-cloud")" | cut -d' ' -f1)
kf=$(jq -c --arg w4 "$want4" --arg g4 "$got4" --arg w9 "$want9" --arg g9 "$got9" \
	'[.alerts[0].findings[] | select(.component == "kernel" and (.event | type) == "number" and
	  ((.pcr == 4 and .expected == $w4 and .actual == $g4) or (.pcr == 9 and .expected == $w9 and .actual == $g9)))
	  | .pcr] | unique' "$W/alerts.json")
check "another kernel: findings with the event, the PCR ($kf) and the expected (the image's kernel) and actual (the cloud kernel) digests" \
	test "$kf" != '[]'
check "another kernel: the trusted-launch label is not set" \
	test "$(jq -c .labels "$W/kernel.json")" = '{}'
tl alert show "$(jq -r '.alerts[0].id' "$W/alerts.json")" >"$W/alert.txt"
check "tl alert show names the kernel in words" grep -Eq 'finding: kernel \(PCR [49], event [0-9]+\)' "$W/alert.txt"

# ---- 3. a changed kernel command line ------------------------------------------------------
wait_attested cmdline || { tl node console cmdline | tail -20; }
tl node show cmdline --json >"$W/cmdline.json"
tl alert list --node cmdline --json >"$W/alerts2.json"
check "changed command line: verdict fail, the finding is the kernel command line with the texts" \
	test "$(jq -c '[.alerts[0].findings[] | select(.component == "kernel command line") | [.pcr, .expected, .actual]][0]' "$W/alerts2.json")" = \
	'[8,"/EFI/debian/vmlinuz console=ttyS0 panic=-1","/EFI/debian/vmlinuz console=ttyS0 panic=-1 tl.debug=1"]'
check "changed command line: no trusted-launch label" test "$(jq -c .labels "$W/cmdline.json")" = '{}'
check "tl attestation list shows the three verdicts" \
	test "$(tl attestation list --json | jq -c '[.attestations[] | [.node, .verdict]] | unique')" = \
	'[["cmdline","fail"],["good","pass"],["kernel","fail"]]'
finish
