#!/usr/bin/env bash
# make demo: the main job on the embedded default.
#   1-4. the evidence of one recorded trusted-launch boot (OVMF with
#      Microsoft keys, Debian 12's signed shim, grub and kernel, swtpm):
#      what booted and who verified it, that the log replays to the TPM's
#      PCRs, that the chain passes the Secure Boot engine against the same
#      keys, and that PCR 7 predicted from keys + chain equals the boot's;
#   5. a cluster, as the trusted-launch docs create it: tld (started on
#      demand) runs `tl aks create --name myAKSCluster --node-count 1
#      --enable-secure-boot --enable-vtpm`, the node boots under QEMU + OVMF
#      with its swtpm, its agent enrols and is attested; the table shows
#      node, pool, Secure Boot, vTPM, verdict, labels and the boot
#      components with their signers. Run again, it reuses what exists.
# The node platform's data is in $TL_HOME (default
# ~/.local/share/trustlaunch).
set -euo pipefail
build=${1:-build}
vectors=${2:-../shared/vectors}
fixtures=${3:-fixtures}
ovmf=${TL_OVMF_DIR:-/usr/share/OVMF}
tl="$build/src/tl/tl"
log="$vectors/eventlog/ovmf-debian12/secureboot-on.eventlog.bin"
pcrs="$vectors/eventlog/ovmf-debian12/secureboot-on.tpm-pcrs.txt"
# the chain OVMF measured in $log (scripts/fixtures.sh keeps it in measured/)
chain=("$fixtures/measured/shimx64.efi.signed" "$fixtures/measured/grubx64.efi.signed" "$fixtures/measured/vmlinuz")

echo "== 1. tl eventlog state $log"
"$tl" eventlog state "$log"
echo
echo "== 2. tl eventlog replay ... --expect $(basename "$pcrs")"
"$tl" eventlog replay "$log" --expect "$pcrs" | tail -3
echo
echo "== 3. tl secureboot verify --vars $ovmf/OVMF_VARS_4M.ms.fd shim grub kernel"
"$tl" secureboot verify --vars "$ovmf/OVMF_VARS_4M.ms.fd" "${chain[@]}"
echo
echo "== 4. tl secureboot predict (PCR 7 from keys + chain) vs. the boot's PCR 7"
predicted=$("$tl" secureboot predict --vars "$ovmf/OVMF_VARS_4M.ms.fd" "${chain[@]}" --json | jq -r .pcr7.sha256)
measured=$("$tl" eventlog replay "$log" --json | jq -r '.banks.sha256."7"')
echo "predicted sha256 PCR 7: $predicted"
echo "measured  sha256 PCR 7: $measured"
[ "$predicted" = "$measured" ] && echo "prediction: equal" || { echo "prediction: DIFFERENT"; exit 1; }

echo
echo "== 5. a cluster: myAKSCluster, one node with Secure Boot and vTPM (tld, QEMU + OVMF, swtpm)"
home=${TL_HOME:-$HOME/.local/share/trustlaunch}
export TL_HOME=$home
image=$home/images/default
if [ ! -f "$image/manifest.json" ]; then
	mkdir -p "$home/images"
	"$tl" image build -o "$image" --fixtures "$fixtures" >/dev/null
fi
G=myResourceGroup C=myAKSCluster
"$tl" group show --name "$G" >/dev/null 2>&1 || "$tl" group create --name "$G" --location local >/dev/null
state=$("$tl" aks show --name "$C" --resource-group "$G" 2>/dev/null | jq -r .provisioningState || true)
case $state in
Succeeded) echo "(reusing $C)" ;;
Creating | Updating | Scaling)
	echo "(waiting for $C: $state)"
	while [ "$("$tl" aks show --name "$C" --resource-group "$G" | jq -r .provisioningState)" = "$state" ]; do sleep 1; done
	;;
Failed)
	echo "(a failed $C from before: retrying its pool)"
	"$tl" aks nodepool update --resource-group "$G" --cluster-name "$C" --name nodepool1 --enable-secure-boot --enable-vtpm -o none || true
	;;
*)
	echo "\$ tl aks create --name $C --resource-group $G --node-count 1 --enable-secure-boot --enable-vtpm --generate-ssh-keys"
	"$tl" aks create --name "$C" --resource-group "$G" --node-count 1 --enable-secure-boot \
		--enable-vtpm --generate-ssh-keys -o none
	;;
esac
echo
"$tl" aks nodepool list --resource-group "$G" --cluster-name "$C" -o table
echo
nodes=$("$tl" node list --json | jq -c --arg c "$C" '[.nodes[] | select(.pool.cluster == $c)]')
{
	printf 'NODE\tPOOL\tSECURE-BOOT\tVTPM\tVERDICT\tLABELS\n'
	jq -r '.[] | [.name, .pool.name,
		(if .attestation.verdict == "pass" then (if .attestation.secure_boot then "on (attested)" else "off (attested)" end) else (.report.secure_boot // "-") end),
		(if .vtpm then "on" else "off" end), (.attestation.verdict // "-"),
		([.labels | to_entries[] | select(.key | test("trusted-launch|secure-boot")) | "\(.key)=\(.value)"] | join(" ") | if . == "" then "-" else . end)] | @tsv' <<<"$nodes"
} | column -t -s $'\t'
echo
echo "boot components (attested: PCR 4 holds exactly these Authenticode digests) and their signers:"
jq -r '.components[0:3][] | "  \(.name)\t\(.path)\tsha256:\(.digests.sha256[0:16])...\t\(.signer // "-" | capture("CN=(?<cn>[^,]*)").cn // .)"' "$image/manifest.json" | column -t -s $'\t'
verdicts=$(jq -r '[.[] | .attestation.verdict // "none"] | unique | join(",")' <<<"$nodes")
[ "$verdicts" = pass ] || { echo "the cluster's nodes are not all attested: $verdicts"; exit 1; }
