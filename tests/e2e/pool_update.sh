#!/usr/bin/env bash
# e2e: node pool updates under stress (tld, real QEMU + OVMF + swtpm nodes).
#
#  1. A vTPM-only pool of 2 nodes is updated to Secure Boot + vTPM with
#     --no-wait; tld is killed (-9) while the first node boots its new
#     image, then started again (by the next tl command): the update
#     finishes, every node ends running, attested, Secure Boot on, each
#     reimaged exactly once, one after the other.
#  3. A pool's explicit policy rules (tl policy rules): a kernel command
#     line, an allowed kernel and a dbx entry that this boot does not have
#     fail the next attestation of a restarted node, naming the kernel
#     command line, the kernel and dbx; the right values pass.
#  2. Before Secure Boot is switched on, the pool's image is checked
#     against the keys the nodes will get: a pool on an image whose grub
#     has one byte changed (which boots fine without Secure Boot) is
#     refused, naming grub, and the pool is left as it was.
#
# Environment: TL_BIN, TL_TLD, TL_FIXTURES; TL_E2E_KEEP=1 keeps the work
# folder. Exit 0 pass, 1 fail, 77 skip (no QEMU/OVMF/swtpm).
set -u
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
: "${TL_BIN:?}" "${TL_TLD:?}" "${TL_FIXTURES:?}"
for t in qemu-system-x86_64 swtpm mcopy; do
	command -v "$t" >/dev/null 2>&1 || {
		skip_all "$t not installed"
	}
done
command -v jq >/dev/null 2>&1 || bail "jq missing (make deps)"

W=$(mktemp -d "${TMPDIR:-/tmp}/tl-e2e-pool.XXXXXX") || bail mktemp
export TL_HOME=$W/home TL_TLD HOME=$W/user KUBECONFIG=
export TL_STORE_DIRS=$W # images/default links to $W/good and $W/bad (tld takes images only from its stores)
mkdir -p "$HOME"
# shellcheck disable=SC2317
cleanup() {
	if [ -r "$TL_HOME/tld.addr" ]; then
		for n in $(tl node list --json 2>/dev/null | jq -r '.nodes[].name'); do
			tl node delete "$n" >/dev/null 2>&1
		done
		kill "$(awk '{print $2}' "$TL_HOME/tld.addr")" 2>/dev/null
	fi
	if [ "${TL_E2E_KEEP:-0}" = 1 ]; then echo "# kept: $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
tl() { "$TL_BIN" "$@"; }

mkdir -p "$TL_HOME/images"
tl image build -o "$W/good" --fixtures "$TL_FIXTURES" >"$W/img.log" 2>&1 ||
	bail "image build: $(tail -2 "$W/img.log")"
cp -r "$W/good" "$W/bad"
mcopy -n -i "$W/bad/disk.raw@@1M" ::/EFI/BOOT/grubx64.efi "$W/grub.efi" || bail "mcopy out"
printf '\x5a' | dd of="$W/grub.efi" bs=1 seek=$(($(stat -c %s "$W/grub.efi") / 2)) conv=notrunc status=none
mcopy -o -i "$W/bad/disk.raw@@1M" "$W/grub.efi" ::/EFI/BOOT/grubx64.efi || bail "mcopy in"
ln -s "$W/good" "$TL_HOME/images/default"

G=(--resource-group myResourceGroup)
P=(--resource-group myResourceGroup --cluster-name myAKSCluster --name nodepool1)
tl group create --name myResourceGroup --location local >/dev/null || bail "group create"
tl aks create --name myAKSCluster "${G[@]}" --node-count 2 --enable-vtpm --generate-ssh-keys \
	>"$W/create.json" 2>"$W/create.err" || bail "aks create: $(tail -1 "$W/create.err")"
nodes() { tl node list --json | jq -c '[.nodes[] | select(.pool.name == "nodepool1")] | sort_by(.name)'; }
check "a vTPM-only pool of 2 nodes, both attested, Secure Boot off" \
	test "$(nodes | jq -c '[.[] | [.state, .secure_boot, .attestation.verdict, .boots]]')" \
	= '[["running",false,"pass",1],["running",false,"pass",1]]'

# ---- 1. kill -9 of tld in the middle of the update -------------------------------------
tl aks nodepool update "${P[@]}" --enable-secure-boot --no-wait >"$W/u.json" 2>"$W/u.err"
check "update --no-wait returns at once with Updating" \
	test "$(jq -r .provisioningState "$W/u.json")" = Updating
first=$(nodes | jq -r '.[0].name')
for _ in $(seq 200); do
	ph=$(tl aks nodepool show "${P[@]}" | jq -r '(.operation.node // "") + " " + (.operation.phase // "")')
	case $ph in "$first booting"*) break ;; esac
	sleep 0.2
done
check "the update is on the first node, booting ($ph)" bash -c "case '$ph' in '$first booting'*) ;; *) exit 1 ;; esac"
pid=$(awk '{print $2}' "$TL_HOME/tld.addr")
kill -9 "$pid"
gone() { ! kill -0 "$1" 2>/dev/null || grep -q '^State:.*Z' "/proc/$1/status"; }
for _ in $(seq 50); do gone "$pid" && break; sleep 0.1; done # SIGKILL is not instant for a large (ASan) process
check "tld killed mid-update" gone "$pid"
for _ in $(seq 600); do # the next tl starts tld again
	st=$(tl aks nodepool show "${P[@]}" 2>/dev/null | jq -r .provisioningState)
	[ "$st" = Succeeded ] || [ "$st" = Failed ] && break
	sleep 0.5
done
check "after the restart the update finished: Succeeded ($(tl aks nodepool show "${P[@]}" | jq -r '.error // ""'))" \
	test "$st" = Succeeded
check "a new tld serves" test "$(awk '{print $2}' "$TL_HOME/tld.addr")" != "$pid"
check "both nodes: running, Secure Boot on, attested, each reimaged once (2 boots)" \
	test "$(nodes | jq -c '[.[] | [.state, .secure_boot, .attestation.verdict, .attestation.secure_boot, .boots]]')" \
	= '[["running",true,"pass",true,2],["running",true,"pass",true,2]]'
check "both nodes labelled trusted-launch=true and secure-boot=true" \
	test "$(nodes | jq -c '[.[] | .labels["kubernetes.azure.com/trusted-launch"], .labels["kubernetes.azure.com/secure-boot"]] | unique')" = '["true"]'
# whichever node the update began with (a fast first node may be ready
# before check 3 looks): one node reimaged and ready, then the other
check "one at a time: the first node reimaged and ready, then the second (tld.log)" \
	test "$(grep -E 'nodepool1: node .* (reimaged \(|ready \()' "$TL_HOME/tld.log" | grep -v 'reimaged (secure boot off' | tail -4 | awk 'NR == 1 {a = $6} NR == 3 {b = $6} {print ($6 == a ? "first" : $6 == b ? "second" : "other"), $7}' | tr '\n' ' ')" = "first reimaged first ready second reimaged second ready "

# ---- 3. explicit per-pool rules --------------------------------------------------------
R=(--resource-group myResourceGroup --cluster-name myAKSCluster --nodepool-name nodepool1)
kernel=$(jq -r '.components[] | select(.name == "kernel") | .digests.sha256' "$W/good/manifest.json")
zero=$(printf '0%.0s' $(seq 64))
revoked=80b4d96931bf0d02fd91a61e19d14f1da452e66db2408ca8604d411f92659f0a
empty=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 # OVMF's one dbx entry
tl policy rules "${R[@]}" --kernel-cmdline "console=ttyS0 quiet" --allow-kernel "$zero" \
	--require-dbx "$revoked" --json >"$W/rules.json" 2>"$W/rules.err"
check "policy rules set ($(cat "$W/rules.err"))" \
	test "$(jq -c '.rules | [.kernelCmdline, (.allowedKernels | length), .requiredDbx[0]]' "$W/rules.json")" \
	= "[\"console=ttyS0 quiet\",1,\"$revoked\"]"
reboot_attest() { # NODE: stop, start, wait for the new boot's attestation
	tl node stop "$1" >/dev/null 2>&1
	tl node start "$1" >/dev/null 2>"$W/start.err" || return 1
	for _ in $(seq 120); do
		v=$(tl node show "$1" --json | jq -r '.attestation.verdict // empty')
		[ -n "$v" ] && return 0
		sleep 0.5
	done
	echo "# $1: no attestation; the agent said:"
	grep 'TL: agent' "$TL_HOME/nodes/$1/console.log" | tail -3 | sed 's/^/#   /'
	return 1
}
reboot_attest "$first"
check "a restarted node under wrong rules: verdict fail" \
	test "$(tl node show "$first" --json | jq -r .attestation.verdict)" = fail
tl alert list --node "$first" --json | jq -c '.alerts[0]' >"$W/alert.json"
check "its alert names the kernel command line, the kernel and dbx ($(jq -c .components "$W/alert.json"))" \
	test "$(jq -c '[.components[] | select(. == "kernel command line" or . == "kernel" or . == "dbx")] | sort' "$W/alert.json")" \
	= '["dbx","kernel","kernel command line"]'
check "the dbx finding: PCR 7, expected the required hash, actual absent" \
	test "$(jq -c '[.findings[] | select(.component == "dbx") | .pcr, .expected, (.actual | startswith("absent"))]' "$W/alert.json")" \
	= "[7,\"$revoked\",true]"
check "the kernel finding: PCR 4, the actual digest is the image's kernel" \
	test "$(jq -r '[.findings[] | select(.component == "kernel" and .rule == "the pool'"'"'s allowed kernels") | .pcr, .actual] | join(" ")' "$W/alert.json")" = "4 $kernel"
check "no trusted-launch label on it" \
	test "$(tl node show "$first" --json | jq -r '.labels["kubernetes.azure.com/trusted-launch"] // "absent"')" = absent
tl policy rules "${R[@]}" --kernel-cmdline "console=ttyS0 panic=-1" --allow-kernel "$kernel" \
	--require-dbx "$empty" --require-secure-boot >/dev/null
reboot_attest "$first"
check "the right rules: verdict pass ($(tl node show "$first" --json | jq -c '[.attestation.findings]'))" \
	test "$(tl node show "$first" --json | jq -r .attestation.verdict)" = pass
tl policy rules "${R[@]}" --clear >/dev/null

# ---- 2. the image check before Secure Boot ------------------------------------------------
ln -sfn "$W/bad" "$TL_HOME/images/default"
tl aks nodepool add --resource-group myResourceGroup --cluster-name myAKSCluster --name badpool \
	--node-count 0 --enable-vtpm >/dev/null 2>"$W/add.err"
check "a pool (0 nodes) on the image with the changed grub: exit 0 ($(cat "$W/add.err"))" test $? -eq 0
ln -sfn "$W/good" "$TL_HOME/images/default"
tl aks nodepool update --resource-group myResourceGroup --cluster-name myAKSCluster --name badpool \
	--enable-secure-boot >"$W/bad.out" 2>"$W/bad.err"
rc=$?
check "update --enable-secure-boot on it: exit 2" test $rc -eq 2
check "the refusal names grub ($(cat "$W/bad.err"))" grep -q "would not boot: grub: the image.s sha256 digest does not match its signature" "$W/bad.err"
check "the pool is unchanged (Secure Boot off, Succeeded)" \
	test "$(tl aks nodepool show --resource-group myResourceGroup --cluster-name myAKSCluster --name badpool | jq -c '[.securityProfile.enableSecureBoot, .provisioningState]')" = '[false,"Succeeded"]'
finish
