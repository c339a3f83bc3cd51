#!/usr/bin/env bash
# make demo: the main job on the embedded default. Until the node platform
# exists, that is reading the real OVMF + Debian 12 Secure Boot boot log:
# what booted, who verified it, and that it replays to the real TPM's PCRs.
set -euo pipefail
build=${1:-build}
vectors=${2:-../shared/vectors}
tl="$build/src/tl/tl"
log="$vectors/eventlog/ovmf-debian12/secureboot-on.eventlog.bin"
pcrs="$vectors/eventlog/ovmf-debian12/secureboot-on.tpm-pcrs.txt"

echo "== tl eventlog state $log"
"$tl" eventlog state "$log"
echo
echo "== tl eventlog replay $log --expect $(basename "$pcrs")"
"$tl" eventlog replay "$log" --expect "$pcrs"
