#!/usr/bin/env bash
# make demo: the main job on the embedded default.
#   1-4. the evidence of one recorded trusted-launch boot (OVMF with
#      Microsoft keys, Debian 12's signed shim, grub and kernel, swtpm):
#      what booted and who verified it, that the log replays to the TPM's
#      PCRs, that the chain passes the Secure Boot engine against the same
#      keys, and that PCR 7 predicted from keys + chain equals the boot's;
#   5. a live node: tld (started on demand) boots a Secure Boot + vTPM node
#      from the node image under QEMU + OVMF, its agent reports in, and the
#      table shows what it reported and the boot components with their
#      signers. Run again, it reuses the image and the node.
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
chain=("$fixtures/shimx64.efi.signed" "$fixtures/grubx64.efi.signed" "$fixtures/vmlinuz")

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
echo "== 5. a live trusted-launch node (tld, QEMU + OVMF, swtpm)"
home=${TL_HOME:-$HOME/.local/share/trustlaunch}
export TL_HOME=$home
image=$home/images/default
if [ ! -f "$image/manifest.json" ]; then
	mkdir -p "$home/images"
	"$tl" image build -o "$image" --fixtures "$fixtures" >/dev/null
fi
node=demo-node
state=$("$tl" node show "$node" --json 2>/dev/null | jq -r .state || true)
case $state in
running) ;;
booting) "$tl" node wait "$node" --json >/dev/null || true ;;
stopped | failed | crashed) "$tl" node start "$node" --json >/dev/null || true ;;
*) "$tl" node create "$node" --secure-boot on --vtpm on --json >/dev/null || true ;;
esac
n=$("$tl" node show "$node" --json)
printf '%-10s %-8s %-12s %-5s %-16s %-8s %s\n' NODE STATE SECURE-BOOT VTPM EVENTLOG-REPLAY EK-CERTS CONSISTENT
jq -r '[.name, .state, (.report.secure_boot // "-"), (if .vtpm then "on" else "off" end),
	(.report.replay.verdict // "-"), ((.report.ek_certs // {}) | map(.verdict) | unique | join(",")),
	(.report.consistent // "-" | tostring)] | @tsv' <<<"$n" |
	awk -F'\t' '{ printf "%-10s %-8s %-12s %-5s %-16s %-8s %s\n", $1, $2, $3, $4, $5, ($6 == "issued-by-platform" ? "platform" : $6), $7 }'
echo
echo "boot components (image manifest) and their signers:"
jq -r '.components[0:3][] | "  \(.name)\t\(.path)\t\(.signer // "-" | capture("CN=(?<cn>[^,]*)").cn // .)"' "$image/manifest.json" | column -t -s $'\t'
[ "$(jq -r .state <<<"$n")" = running ] || { echo "the node did not come up: $(jq -r .reason <<<"$n")"; exit 1; }
