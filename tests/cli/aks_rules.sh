#!/usr/bin/env bash
# The documented trusted-launch rules, each through tl against a real tld
# (no VM boots: every request here is refused, or makes an empty pool),
# with its exact one-line error and exit status 2, and nothing created.
# Also the docs' mistakes that only tld can see: an update of a cluster
# that does not exist names the ones that do.
set -u
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
: "${TL_BIN:?}" "${TL_TLD:?}" "${TL_FIXTURES:?}"
W=$(mktemp -d "${TMPDIR:-/tmp}/tl-aks-rules.XXXXXX")
export TL_HOME=$W/home TL_TLD HOME=$W/user KUBECONFIG=
# quotas and host capacity for the admission checks at the end (tld reads them at its start)
export TL_QUOTA_VCPUS="total=40,standardDSv2Family=8" TL_HOST_NODE_MEMORY_MIB=3072 TL_HOST_VCPUS=32
mkdir -p "$HOME" "$TL_HOME/images"
cleanup() {
	[ -r "$TL_HOME/tld.addr" ] && kill "$(awk '{print $2}' "$TL_HOME/tld.addr")" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
# refused DESCRIPTION EXPECTED-STDERR ARGS...: exit 2, exactly that line
refused() {
	local d=$1 want=$2
	shift 2
	local err rc
	err=$("$TL_BIN" "$@" 2>&1 >/dev/null)
	rc=$?
	if [ $rc -eq 2 ] && [ "$err" = "$want" ]; then ok "$d"; else not_ok "$d" "exit $rc: $err"; fi
}

"$TL_BIN" image build -o "$TL_HOME/images/default" --fixtures "$TL_FIXTURES" >/dev/null 2>&1 ||
	bail "image build"
"$TL_BIN" image build --gen1 -o "$TL_HOME/images/gen1" --fixtures "$TL_FIXTURES" >/dev/null 2>&1 ||
	bail "Gen1 image build"
"$TL_BIN" group create --name myResourceGroup --location local >/dev/null || bail "group"
# a cluster with an empty system pool: nothing boots
"$TL_BIN" aks create --name myAKSCluster --resource-group myResourceGroup --node-count 0 >/dev/null 2>"$W/e" ||
	bail "aks create: $(cat "$W/e")"

A=(aks nodepool add --resource-group myResourceGroup --cluster-name myAKSCluster)
refused "Windows node pool with trusted launch" \
	"tl: trusted launch is not supported on Windows node pools (--os-type Windows)" \
	"${A[@]}" --name win1 --os-type Windows --enable-vtpm --node-count 0
refused "FIPS with trusted launch" \
	"tl: trusted launch cannot be combined with a FIPS node image (--enable-fips-image)" \
	"${A[@]}" --name fips --enable-fips-image --enable-secure-boot --node-count 0
refused "Arm64 size with trusted launch" \
	"tl: trusted launch is not supported on Arm64 VM sizes (--node-vm-size Standard_D2ps_v5)" \
	"${A[@]}" --name arm --node-vm-size Standard_D2ps_v5 --enable-vtpm --node-count 0
refused "availability set with trusted launch" \
	"tl: trusted launch needs virtual machine scale sets, not availability sets (--vm-set-type AvailabilitySet)" \
	"${A[@]}" --name avset --vm-set-type AvailabilitySet --enable-vtpm --node-count 0
refused "a Gen1-only size with trusted launch" \
	"tl: trusted launch needs a Gen2 (UEFI) image; VM size Standard_A2_v2 supports Gen1 only (--node-vm-size)" \
	"${A[@]}" --name gen1 --node-vm-size Standard_A2_v2 --enable-secure-boot --node-count 0
refused "the Gen1 image asked for, with trusted launch" \
	"tl: trusted launch needs a Gen2 (UEFI) image; the pool asks for the Gen1 image" \
	"${A[@]}" --name gen1 --aks-custom-headers UseGen1Image=true --enable-vtpm --node-count 0
refused "Secure Boot on a GPU size without --skip-gpu-driver-install" \
	"tl: trusted launch: Secure Boot on GPU size Standard_NC24ads_A100_v4 needs --skip-gpu-driver-install (the GPU driver AKS installs is unsigned and would not load)" \
	"${A[@]}" --name gpu --node-vm-size Standard_NC24ads_A100_v4 --enable-secure-boot --node-count 0
refused "an ephemeral OS disk on a size without it under trusted launch" \
	"tl: trusted launch with an ephemeral OS disk is not supported on VM size Standard_D2as_v5 (--node-osdisk-type Ephemeral)" \
	"${A[@]}" --name eph --node-vm-size Standard_D2as_v5 --node-osdisk-type Ephemeral --enable-vtpm --node-count 0
refused "Kubernetes older than 1.25.2" \
	"tl: trusted launch needs Kubernetes 1.25.2 or later; --kubernetes-version is 1.24.9" \
	aks create --name oldCluster --resource-group myResourceGroup --kubernetes-version 1.24.9 --enable-secure-boot --enable-vtpm --node-count 0
refused "a pool name with capitals" \
	"tl: node pool name 'MyPool': must be lowercase letters and digits, starting with a letter, 1-11 characters for Linux pools" \
	"${A[@]}" --name MyPool --node-count 0
refused "a pool name of 12 characters" \
	"tl: node pool name 'abcdefghijkl': must be lowercase letters and digits, starting with a letter, 1-11 characters for Linux pools" \
	"${A[@]}" --name abcdefghijkl --node-count 0
refused "an unknown VM size, with a suggestion" \
	"tl: VM size 'Standard_DS2_v3': not in the catalog (tl aks vm-sizes lists them); did you mean Standard_DS2_v2?" \
	"${A[@]}" --name typo --node-vm-size Standard_DS2_v3 --node-count 0
refused "virtual nodes with trusted launch" \
	"tl: trusted launch is not supported with virtual nodes (the virtual-node add-on is enabled)" \
	aks create --name vnCluster --resource-group myResourceGroup --enable-addons virtual-node --enable-vtpm --node-count 0
out=$("$TL_BIN" aks list --resource-group myResourceGroup | jq -r '[.[].name] | sort | join(" ")')
if [ "$out" = myAKSCluster ]; then ok "refused clusters were not created"; else not_ok "refused clusters were not created" "$out"; fi
out=$("$TL_BIN" aks nodepool list --resource-group myResourceGroup --cluster-name myAKSCluster | jq -r '[.[].name] | join(" ")')
if [ "$out" = nodepool1 ]; then ok "refused pools were not created"; else not_ok "refused pools were not created" "$out"; fi

# the default node count is 3 (a pool that is not started here: --no-wait, then deleted)
"$TL_BIN" aks nodepool add "${A[@]:3}" --name three --no-wait >"$W/three.json" 2>"$W/e"
if [ "$(jq -r .count "$W/three.json")" = 3 ]; then ok "node count defaults to 3"; else not_ok "node count defaults to 3" "$(cat "$W/e")"; fi
"$TL_BIN" aks nodepool delete --resource-group myResourceGroup --cluster-name myAKSCluster --name three >/dev/null 2>&1

# a pool created on the Gen1 image cannot be updated to trusted launch
"$TL_BIN" "${A[@]}" --name gen1pool --aks-custom-headers UseGen1Image=true --node-count 0 >"$W/g1.json" 2>"$W/e"
if [ "$(jq -r .nodeImageVersion "$W/g1.json")" = trustlaunch-gen1 ]; then ok "a Gen1 pool (empty)"; else not_ok "a Gen1 pool" "$(cat "$W/e")"; fi
refused "updating the Gen1 pool to trusted launch" \
	"tl: node pool 'gen1pool' was created on the Gen1 image; trusted launch needs a Gen2 (UEFI) image: create a new node pool" \
	aks nodepool update --resource-group myResourceGroup --cluster-name myAKSCluster --name gen1pool --enable-vtpm

# the docs' update examples name myCluster; only myAKSCluster exists
refused "an update of a cluster that does not exist names the ones that do" \
	"tl: cluster 'myCluster' not found in resource group 'myResourceGroup'; clusters that exist: myAKSCluster (resource group myResourceGroup)" \
	aks nodepool update --cluster-name myCluster --resource-group myResourceGroup --name mynodepool --enable-secure-boot
refused "a resource group that does not exist" \
	"tl: resource group 'otherGroup' not found (create it: tl group create --name otherGroup --location local); resource groups that exist: myResourceGroup" \
	aks create --name x --resource-group otherGroup
refused "enable and disable together" \
	"tl: aks nodepool update: cannot specify --enable-secure-boot and --disable-secure-boot at the same time" \
	aks nodepool update --cluster-name myAKSCluster --resource-group myResourceGroup --name nodepool1 --enable-secure-boot --disable-secure-boot
# admission: quotas (ARM's QuotaExceeded text) and the host's capacity, before anything is stored
refused "a pool beyond its family's vCPU quota (5 x Standard_DS2_v2 = 10 > 8)" \
	"tl: (QuotaExceeded) Operation could not be completed as it results in exceeding approved standardDSv2Family Cores quota. Additional details - Deployment Model: Resource Manager, Location: local, Current Limit: 8, Current Usage: 0, Additional Required: 10, (Minimum) New Limit Required: 10. Raise the limit with TL_QUOTA_VCPUS in tld's environment (\"standardDSv2Family=10\")." \
	"${A[@]}" --name big --node-count 5
refused "a pool beyond the total regional vCPU quota (6 x Standard_D8s_v3 = 48 > 40)" \
	"tl: (QuotaExceeded) Operation could not be completed as it results in exceeding approved Total Regional Cores quota. Additional details - Deployment Model: Resource Manager, Location: local, Current Limit: 40, Current Usage: 0, Additional Required: 48, (Minimum) New Limit Required: 48. Raise the limit with TL_QUOTA_VCPUS in tld's environment (\"total=48\")." \
	"${A[@]}" --name huge --node-vm-size Standard_D8s_v3 --node-count 6
refused "a pool beyond the host's memory for nodes (4 x 1024 MiB > 3072)" \
	"tl: (AllocationFailed) The host cannot take 4 more Standard_DS2_v2 node(s): they need 4096 MiB of memory and 4 vCPUs; it has 3072 MiB for nodes (0 in use) and 32 vCPUs (0 in use). Scale down or delete other pools, or raise TL_HOST_NODE_MEMORY_MIB / TL_HOST_VCPUS in tld's environment." \
	"${A[@]}" --name mem --node-count 4
out=$("$TL_BIN" aks nodepool list --resource-group myResourceGroup --cluster-name myAKSCluster | jq -r '[.[].name] | sort | join(" ")')
if [ "$out" = "gen1pool nodepool1" ]; then ok "pools refused for quota or capacity were not created"; else not_ok "pools refused for quota or capacity were not created" "$out"; fi
finish
