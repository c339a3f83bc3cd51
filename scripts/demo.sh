#!/usr/bin/env bash
# make demo: the main job on the embedded default. Until the node platform
# exists, that is the evidence of one real trusted-launch boot (OVMF with
# Microsoft keys, Debian 12's signed shim, grub and kernel, swtpm):
#   1. what booted and who verified it, read from its TCG event log;
#   2. that the log replays to the PCRs the real TPM held;
#   3. that the same chain passes the Secure Boot engine against the same
#      firmware keys, and that PCR 7 predicted from keys + chain equals the
#      boot's.
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
