#!/usr/bin/env bash
# `tl vm` (az vm's verbs) against the real tld, with no VM booted: every VM
# is created with --no-start (its node's files and vTPM are made, QEMU is
# not started), and nothing here starts one.
#  - az's defaults read back with tl vm show: TrustedLaunch with Secure
#    Boot and vTPM on and Standard_DS1_v2 when nothing is said; Standard
#    with neither; ConfidentialVM with Secure Boot and vTPM on, the size's
#    TEE, the guest-state file, the OS disk encryption type; NonPersistedTPM
#    a vTPM that is not persisted; the node's own JSON has the same keys;
#  - every confidential VM FAQ rule refused with its exact message (exit 2,
#    "tl: <tld's error>") and nothing changed after it: conversion to or
#    from confidential by resize or by --security-type, another security
#    type change, OS disk encryption changed after creation, NonPersistedTPM
#    on SEV-SNP, accelerated networking and nested virtualization on a
#    confidential size, the serial console of a confidential node; a size
#    not offered in the location (SkuNotAvailable); a family over its vCPU
#    quota (ARM's QuotaExceeded text; TL_QUOTA_VCPUS);
#  - an SNP -> TDX resize is allowed and records the new TEE;
#  - a node pool of a confidential size: the pool's TEE; a TDX size where it
#    is not offered refused;
#  - a confidential node's own "tee_policy" (POST /v1/nodes, an external
#    node): refused on a node that is not confidential and when it does not
#    parse, kept and shown otherwise;
#  - a DiskWithVMGuestState VM's overlay is qcow2 with LUKS encryption and
#    its keys are sealed by the key store (no key file in clear); a
#    VMGuestStateOnly VM's overlay is plain;
#  - what tld stored survives a restart of tld; delete; a group that holds
#    VMs is not deleted.
# Needs: TL_BIN, TL_TLD, TL_FIXTURES; jq.
set -u
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
: "${TL_BIN:?}" "${TL_TLD:?}" "${TL_FIXTURES:?}"
command -v jq >/dev/null || bail "jq missing (apt-get install jq)"
command -v curl >/dev/null || bail "curl missing (apt-get install curl)"
W=$(mktemp -d "${TMPDIR:-/tmp}/tl-vm-test.XXXXXX")
# tl and the cleanup of W and its tld
# shellcheck source=tests/lib/tlrun.sh
. "$(dirname "$0")/../lib/tlrun.sh"
# refused DESCRIPTION "EXACT MESSAGE" ARGS...: exit 2, "tl: MESSAGE", no stdout
refused() {
    local d=$1 want=$2
    shift 2
    tl "$@"
    is "$d" "$RC|$OUT|$ERR" "2||tl: $want"
}
# the VMs as tld has them: "name size securityType tee disk secureBoot vtpm"
vms() {
    "$TL_BIN" vm list -o json </dev/null | jq -r 'sort_by(.name)[] | [.name, .hardwareProfile.vmSize,
        .securityProfile.securityType, .tee,
        (.storageProfile.osDisk.managedDisk.securityProfile.securityEncryptionType // "none"),
        (.securityProfile.uefiSettings.secureBootEnabled // false),
        (.securityProfile.uefiSettings.vTpmEnabled // false)] | join(" ")'
}
unchanged() { # unchanged DESCRIPTION: the VMs are as they were (BEFORE)
    is "$1: nothing changed" "$(vms)" "$BEFORE"
}

export TL_HOME=$W/home HOME=$W/user
export TL_QUOTA_VCPUS="standardDCASv5Family=4"
mkdir -p "$TL_HOME/images" "$HOME"

tl vm --help
is "tl vm --help lists the verbs" "$RC $(grep -c -E '^ +(create|delete|list|resize|show|start|stop|update) ' <<<"$OUT")" "0 8"
tl vm create --help
case $OUT in *"--security-type"*"--os-disk-security-encryption-type"*"--enable-secure-boot"*"--no-start"*) ok "vm create --help lists its options" ;; *) not_ok "vm create --help" "$OUT" ;; esac
tl vm update -g g -n v --set foo=bar
is "vm update --set of an unknown property: one line, exit 2 (no tld needed)" "$RC|$ERR" \
    "2|tl: vm update: --set 'foo=bar': not PROPERTY=VALUE of a property tl vm update changes (tl vm update --help lists them)"

"$TL_BIN" image build -o "$TL_HOME/images/default" --fixtures "$TL_FIXTURES" >"$W/image.log" 2>&1
is "a node image for tld (tl image build)" "$?" 0

tl group create --name rg --location westeurope
is "group rg in westeurope" "$RC" 0
tl group create --name west --location westus
is "group west in westus" "$RC" 0
G=(--resource-group rg)

# ---- az's defaults ----------------------------------------------------------
tl vm create "${G[@]}" --name tl1 --image Ubuntu2204 --admin-username azureuser --generate-ssh-keys --no-start
is "vm create with nothing said: TrustedLaunch, Secure Boot and vTPM on, az's default size, the group's location" \
    "$RC $(jq -c '[.hardwareProfile.vmSize, .location, .securityProfile, .tee, .storageProfile.osDisk.managedDisk.securityProfile, .powerState, .guestState, .vtpmPersisted]' <<<"$OUT")" \
    '0 ["Standard_DS1_v2","westeurope",{"securityType":"TrustedLaunch","uefiSettings":{"secureBootEnabled":true,"vTpmEnabled":true}},"none",null,"VM stopped",false,true]'
tl vm create "${G[@]}" --name std1 --size Standard_DS2_v2 --security-type standard --no-start
is "vm create --security-type Standard: no UEFI settings (enum case-insensitive)" \
    "$RC $(jq -c '.securityProfile' <<<"$OUT")" '0 {"securityType":"Standard","uefiSettings":null}'
tl vm create "${G[@]}" --name cvm1 --size Standard_DC2as_v5 --security-type ConfidentialVM \
    --os-disk-security-encryption-type VMGuestStateOnly --no-start
is "vm create ConfidentialVM on DCasv5: Secure Boot and vTPM on, tee snp, the guest-state file" \
    "$RC $(jq -c '[.securityProfile, .tee, .storageProfile.osDisk.managedDisk.securityProfile.securityEncryptionType, .guestState, .vtpmPersisted]' <<<"$OUT")" \
    '0 [{"securityType":"ConfidentialVM","uefiSettings":{"secureBootEnabled":true,"vTpmEnabled":true}},"snp","VMGuestStateOnly",true,true]'
tl vm create "${G[@]}" --name tdx1 --size Standard_DC2es_v5 --security-type ConfidentialVM \
    --os-disk-security-encryption-type NonPersistedTPM --enable-secure-boot false --no-start
is "vm create NonPersistedTPM on DCesv5: tee tdx, a vTPM not persisted, Secure Boot as asked" \
    "$RC $(jq -c '[.tee, .securityProfile.uefiSettings, .vtpmPersisted, .guestState]' <<<"$OUT")" \
    '0 ["tdx",{"secureBootEnabled":false,"vTpmEnabled":true},false,true]'
tl node show cvm1 --json
is "the node of a confidential VM: security_type, tee, disk_security, guest_state, its VM" \
    "$RC $(jq -c '[.security_type, .tee, .disk_security, .guest_state, .vtpm, .vtpm_persist, .vm, .state]' <<<"$OUT")" \
    '0 ["ConfidentialVM","snp","VMGuestStateOnly",true,true,true,{"resourceGroup":"rg","name":"cvm1"},"stopped"]'
tl node show tdx1 --json
is "NonPersistedTPM is vtpm_persist false on the node" "$(jq -c '[.tee, .disk_security, .vtpm_persist]' <<<"$OUT")" \
    '["tdx","NonPersistedTPM",false]'
tl node show tl1 --json
is "a trusted launch node: security_type TrustedLaunch, tee none, no guest-state file" \
    "$(jq -c '[.security_type, .tee, .disk_security, .guest_state]' <<<"$OUT")" '["TrustedLaunch","none","none",false]'
tl vm list -g rg -o table
is "vm list -o table" "$(sed -n 1p <<<"$OUT" | tr -s ' ')|$(grep '^cvm1 ' <<<"$OUT" | tr -s ' ')" \
    "Name ResourceGroup Location VmSize SecurityType Tee PowerState|cvm1 rg westeurope Standard_DC2as_v5 ConfidentialVM snp VM stopped"

BEFORE=$(vms)
is "four VMs" "$(wc -l <<<"$BEFORE")" 4

# ---- refusals at create -----------------------------------------------------
refused "ConfidentialVM without --os-disk-security-encryption-type: az's usage error" \
    'usage error: "--os-disk-security-encryption-type" is required when "--security-type" is set to "ConfidentialVM"' \
    vm create "${G[@]}" --name x1 --size Standard_DC2as_v5 --security-type ConfidentialVM --no-start
refused "NonPersistedTPM on an SEV-SNP size" \
    "NonPersistedTPM is available on the Intel TDX sizes only (DCesv5, DCedsv5, ECesv5, ECedsv5); Standard_DC2as_v5 is AMD SEV-SNP (confidential VM FAQ; --os-disk-security-encryption-type)" \
    vm create "${G[@]}" --name x1 --size Standard_DC2as_v5 --security-type ConfidentialVM --os-disk-security-encryption-type NonPersistedTPM --no-start
refused "accelerated networking on a confidential size" \
    "Confidential VMs don't support Accelerated Networking (confidential VM FAQ; --accelerated-networking on Standard_DC2es_v5)" \
    vm create "${G[@]}" --name x1 --size Standard_DC2es_v5 --security-type ConfidentialVM --os-disk-security-encryption-type VMGuestStateOnly --accelerated-networking --no-start
refused "nested virtualization on a confidential size" \
    "Confidential VMs don't support nested virtualization (confidential VM FAQ; --nested-virtualization on Standard_EC2as_v5)" \
    vm create "${G[@]}" --name x1 --size Standard_EC2as_v5 --security-type ConfidentialVM --os-disk-security-encryption-type DiskWithVMGuestState --nested-virtualization --no-start
refused "ConfidentialVM on a size that is not confidential" \
    "The VM size 'Standard_DS2_v2' does not support security type 'ConfidentialVM': choose a size of DCasv5, DCadsv5, ECasv5, ECadsv5 (AMD SEV-SNP) or DCesv5, DCedsv5, ECesv5, ECedsv5 (Intel TDX)" \
    vm create "${G[@]}" --name x1 --size Standard_DS2_v2 --security-type ConfidentialVM --os-disk-security-encryption-type VMGuestStateOnly --no-start
refused "--enable-vtpm false with ConfidentialVM" \
    'usage error: "--enable-vtpm" can not be set to false when "--security-type" is set to "ConfidentialVM"' \
    vm create "${G[@]}" --name x1 --size Standard_DC2es_v5 --security-type ConfidentialVM --os-disk-security-encryption-type VMGuestStateOnly --enable-vtpm false --no-start
refused "a TDX size where it is not offered: ARM's SkuNotAvailable" \
    "(SkuNotAvailable) The requested VM size for resource 'Following SKUs have failed for Capacity Restrictions: Standard_DC2es_v5' is currently not available in location 'westus'. Please try another size or deploy to a different location or different zone. See https://aka.ms/azureskunotavailable for details." \
    vm create --resource-group west --name x1 --size Standard_DC2es_v5 --security-type ConfidentialVM --os-disk-security-encryption-type VMGuestStateOnly --no-start
refused "--location overrides the group's: the same refusal in eastus" \
    "(SkuNotAvailable) The requested VM size for resource 'Following SKUs have failed for Capacity Restrictions: Standard_EC4eds_v5' is currently not available in location 'eastus'. Please try another size or deploy to a different location or different zone. See https://aka.ms/azureskunotavailable for details." \
    vm create "${G[@]}" --name x1 --location eastus --size Standard_EC4eds_v5 --security-type ConfidentialVM --os-disk-security-encryption-type VMGuestStateOnly --no-start
refused "the DCASv5 family's quota (TL_QUOTA_VCPUS standardDCASv5Family=4, 2 in use): ARM's QuotaExceeded" \
    "(QuotaExceeded) Operation could not be completed as it results in exceeding approved standardDCASv5Family Cores quota. Additional details - Deployment Model: Resource Manager, Location: westeurope, Current Limit: 4, Current Usage: 2, Additional Required: 4, (Minimum) New Limit Required: 6. Raise the limit with TL_QUOTA_VCPUS in tld's environment (\"standardDCASv5Family=6\")." \
    vm create "${G[@]}" --name x1 --size Standard_DC4as_v5 --security-type ConfidentialVM --os-disk-security-encryption-type VMGuestStateOnly --no-start
refused "a confidential size without --security-type" \
    "VM size Standard_DC2as_v5 is a confidential size (AMD SEV-SNP): create it with --security-type ConfidentialVM (a VM cannot be made confidential after creation)" \
    vm create "${G[@]}" --name x1 --size Standard_DC2as_v5 --no-start
refused "a VM that exists" "VM 'cvm1' already exists in resource group 'rg' (tl vm update or tl vm resize change it)" \
    vm create "${G[@]}" --name CVM1 --size Standard_DC2as_v5 --security-type ConfidentialVM --os-disk-security-encryption-type VMGuestStateOnly --no-start
unchanged "after the refused creates"
tl node show x1 --json
is "no node was left by a refused create" "$RC" 2

# ---- refusals of changes ----------------------------------------------------
refused "resize into a confidential size" \
    "cannot resize from Standard_DS1_v2 (not confidential) to Standard_DC2as_v5 (confidential): a VM cannot be converted to or from a confidential VM; create a confidential VM as such from the start (confidential VM FAQ)" \
    vm resize "${G[@]}" --name tl1 --size Standard_DC2as_v5
refused "resize out of a confidential size" \
    "cannot resize from Standard_DC2as_v5 (confidential) to Standard_DS2_v2 (not confidential): a VM cannot be converted to or from a confidential VM; create a confidential VM as such from the start (confidential VM FAQ)" \
    vm resize "${G[@]}" --name cvm1 --size Standard_DS2_v2
refused "update --security-type out of ConfidentialVM" \
    "cannot change the security type from ConfidentialVM to TrustedLaunch: a VM cannot be converted to or from a confidential VM; create a confidential VM as such from the start (confidential VM FAQ)" \
    vm update "${G[@]}" --name cvm1 --security-type TrustedLaunch
refused "update --set securityProfile.securityType=ConfidentialVM" \
    "cannot change the security type from TrustedLaunch to ConfidentialVM: a VM cannot be converted to or from a confidential VM; create a confidential VM as such from the start (confidential VM FAQ)" \
    vm update "${G[@]}" --name tl1 --set securityProfile.securityType=ConfidentialVM
refused "another security type change" \
    "cannot change the security type from TrustedLaunch to Standard: it is set when the VM is created (--security-type)" \
    vm update "${G[@]}" --name tl1 --security-type Standard
refused "OS disk encryption of a confidential VM switched after creation" \
    "cannot change the OS disk encryption of a confidential VM from VMGuestStateOnly to DiskWithVMGuestState: after a confidential VM is created, full-disk encryption cannot be deactivated or reactivated; create a new confidential VM instead (confidential VM FAQ)" \
    vm update "${G[@]}" --name cvm1 --set storageProfile.osDisk.managedDisk.securityProfile.securityEncryptionType=DiskWithVMGuestState
refused "accelerated networking switched on for a confidential VM" \
    "Confidential VMs don't support Accelerated Networking (confidential VM FAQ; --accelerated-networking on Standard_DC2as_v5)" \
    vm update "${G[@]}" --name cvm1 --set networkProfile.enableAcceleratedNetworking=true
refused "resize of a NonPersistedTPM VM into SEV-SNP" \
    "NonPersistedTPM is available on the Intel TDX sizes only (DCesv5, DCedsv5, ECesv5, ECedsv5); Standard_DC2as_v5 is AMD SEV-SNP (confidential VM FAQ; --os-disk-security-encryption-type)" \
    vm resize "${G[@]}" --name tdx1 --size Standard_DC2as_v5
refused "resize beyond the family's quota" \
    "(QuotaExceeded) Operation could not be completed as it results in exceeding approved standardDCASv5Family Cores quota. Additional details - Deployment Model: Resource Manager, Location: westeurope, Current Limit: 4, Current Usage: 0, Additional Required: 8, (Minimum) New Limit Required: 8. Raise the limit with TL_QUOTA_VCPUS in tld's environment (\"standardDCASv5Family=8\")." \
    vm resize "${G[@]}" --name cvm1 --size Standard_DC8as_v5
tl node console cvm1
is "the serial console of a confidential node: refused (no host access to its state)" "$RC|$OUT|$ERR" \
    "2||tl: node console: the serial console is not available for a confidential VM: its memory and state are not the host's to read (confidential VM FAQ: no host memory dump, no operator access)"
tl node console tl1
is "the serial console of a trusted launch node is served" "$RC" 0
unchanged "after the refused changes"

# ---- allowed changes --------------------------------------------------------
tl vm resize "${G[@]}" --name cvm1 --size Standard_EC2es_v5
is "resize SEV-SNP -> TDX (the FAQ: allowed): the new size and TEE" \
    "$RC $(jq -c '[.hardwareProfile.vmSize, .tee, .securityProfile.securityType, .powerState]' <<<"$OUT")" \
    '0 ["Standard_EC2es_v5","tdx","ConfidentialVM","VM stopped"]'
tl node show cvm1 --json
is "the node was made anew in the other TEE" "$(jq -c '[.tee, .security_type, .guest_state, .state]' <<<"$OUT")" \
    '["tdx","ConfidentialVM",true,"stopped"]'
tl vm create "${G[@]}" --name cvm2 --size Standard_DC4as_v5 --security-type ConfidentialVM --os-disk-security-encryption-type DiskWithVMGuestState --no-start
is "the DCASv5 quota is free again after the resize: a DC4as_v5 fits" "$RC $(jq -r .tee <<<"$OUT")" "0 snp"
[ "$RC" = 0 ] || { echo "#   tl said: $ERR"; tail -3 "$TL_HOME/tld.log" | sed "s/^/#   /"; }
# issue 15 part 4: a DiskWithVMGuestState OS disk is encrypted (qcow2 LUKS), its
# keys held by the key store; a VMGuestStateOnly one is not
encryption() { # encryption NODE: "[encrypted, encrypt format]" of its overlay
    qemu-img info --output=json "$TL_HOME/nodes/$1/disk.qcow2" | jq -c '[(.encrypted // false), ."format-specific".data.encrypt.format]'
}
is "DiskWithVMGuestState (cvm2): its overlay is qcow2 with LUKS encryption; VMGuestStateOnly (cvm1): plain" \
    "$(encryption cvm2) $(encryption cvm1)" '[true,"luks"] [false,null]'
is "the confidential VMs: no key in clear; cvm2's guest-state, vTPM and disk keys sealed (60 bytes, 0600)" \
    "$(find "$TL_HOME/keys" -name 'cvm*.key' -o -name 'tdx*.key' | wc -l) $(stat -c '%n %s %a' "$TL_HOME"/keys/cvm2.* | sed "s|$TL_HOME/keys/||" | tr '\n' ' ')" \
    "0 cvm2.disk.sealed 60 600 cvm2.gueststate.sealed 60 600 cvm2.vtpm.sealed 60 600 "
cp "$TL_HOME/keys/cvm2.disk.sealed" "$W/cvm2.disk.sealed"
tl vm resize "${G[@]}" --name cvm2 --size Standard_DC4es_v5
is "cvm2 resized SEV-SNP -> TDX (made anew): its overlay LUKS-encrypted again, under a new disk key" \
    "$RC $(jq -r .tee <<<"$OUT") $(encryption cvm2) $(cmp -s "$W/cvm2.disk.sealed" "$TL_HOME/keys/cvm2.disk.sealed" && echo same || echo new)" \
    '0 tdx [true,"luks"] new'
tl vm update "${G[@]}" --name tl1 --enable-secure-boot false
is "update --enable-secure-boot false of a trusted launch VM" \
    "$RC $(jq -c .securityProfile.uefiSettings <<<"$OUT")" '0 {"secureBootEnabled":false,"vTpmEnabled":true}'

# ---- a confidential node's own TEE policy (POST /v1/nodes "tee_policy") --------
read -r URL _ <"$TL_HOME/tld.addr"
ROOT=$(printf '%064d' 7)
post_node() { # post_node BODY: "STATUS BODY"
    curl -s -o "$W/resp" -w '%{http_code}' -X POST -H "Authorization: Bearer $(cat "$TL_HOME/operator.token")" \
        -H 'Content-Type: application/json' --data-binary "$1" "$URL/v1/nodes"
    printf ' %s' "$(jq -r '.error // .tee_policy."trusted-roots"[0].sha256' "$W/resp")"
}
is "tee_policy on a node that is not confidential: 400" \
    "$(post_node '{"name":"ext1","external":true,"tee_policy":{}}')" \
    '400 "tee_policy" is for a confidential node ("security_type" ConfidentialVM)'
is "a tee_policy that does not parse: 400 naming the field" \
    "$(post_node '{"name":"ext1","external":true,"security_type":"ConfidentialVM","tee":"snp","tee_policy":{"trusted-roots":"x"}}' | cut -c1-18)" \
    '400 "tee_policy": '
tl node show ext1 --json
is "a refused create leaves no node" "$RC" 2
is "an external SEV-SNP node with its own policy naming a root: 201, shown" \
    "$(post_node '{"name":"ext1","external":true,"security_type":"ConfidentialVM","tee":"snp","tee_policy":{"trusted-roots":[{"kind":"snp-ark","sha256":"'"$ROOT"'"}]}}')" \
    "201 $ROOT"

# tl vm create --tee-policy FILE: the VM's node gets it as its own
printf '{"trusted-roots":[{"kind":"snp-ark","sha256":"%s"}]}' "$ROOT" >"$W/tee-policy.json"
tl vm create "${G[@]}" --name teep --size Standard_DC2ads_v5 --security-type ConfidentialVM \
    --os-disk-security-encryption-type VMGuestStateOnly --tee-policy "$W/tee-policy.json" --no-start
tl node show teep --json
is "vm create --tee-policy: the VM's node carries the policy naming the root" \
    "$RC $(jq -r '.tee_policy."trusted-roots"[0].sha256' <<<"$OUT")" "0 $ROOT"
tl vm delete "${G[@]}" --name teep --yes
printf '[1]' >"$W/not-object.json"
refused "vm create --tee-policy with a JSON array" "vm create: --tee-policy $W/not-object.json: not a JSON object" \
    vm create "${G[@]}" --name teep2 --size Standard_DC2as_v5 --security-type ConfidentialVM \
    --os-disk-security-encryption-type VMGuestStateOnly --tee-policy "$W/not-object.json" --no-start
refused "vm create --tee-policy on a trusted launch VM: 400, tld's reason" \
    '"tee_policy" is for a confidential node ("security_type" ConfidentialVM)' \
    vm create "${G[@]}" --name teep3 --tee-policy "$W/tee-policy.json" --no-start

# ---- what tld stored survives its restart -----------------------------------
read -r _ TLD_PID <"$TL_HOME/tld.addr"
kill "$TLD_PID"
for _ in $(seq 50); do kill -0 "$TLD_PID" 2>/dev/null || break; sleep 0.1; done
tl vm show "${G[@]}" --name cvm1
is "after a restart of tld: the VM as it was" \
    "$RC $(jq -c '[.hardwareProfile.vmSize, .tee, .storageProfile.osDisk.managedDisk.securityProfile.securityEncryptionType, .guestState]' <<<"$OUT")" \
    '0 ["Standard_EC2es_v5","tdx","VMGuestStateOnly",true]'
tl node show tdx1 --json
is "after a restart: NonPersistedTPM's node" "$(jq -c '[.security_type, .tee, .disk_security, .vtpm_persist]' <<<"$OUT")" \
    '["ConfidentialVM","tdx","NonPersistedTPM",false]'
tl node show ext1 --json
is "after a restart: the external node's own TEE policy" "$(jq -r '.tee_policy."trusted-roots"[0].sha256' <<<"$OUT")" "$ROOT"
tl node delete ext1

# ---- node pools of a confidential size ---------------------------------------
tl aks create --resource-group rg --name cc --node-count 0 --node-vm-size Standard_DC2as_v5 --no-ssh-key
is "a cluster whose pool has a confidential size: the pool's TEE" \
    "$RC $(jq -c '.agentPoolProfiles[0] | [.vmSize, .tee]' <<<"$OUT")" '0 ["Standard_DC2as_v5","snp"]'
refused "a confidential pool resized to a size that is not confidential" \
    "cannot change node pool 'nodepool1' from Standard_DC2as_v5 (confidential) to Standard_DS2_v2 (not confidential): a node pool cannot be converted to or from confidential nodes; add a node pool of the new size instead (confidential VM FAQ)" \
    aks nodepool update --resource-group rg --cluster-name cc --name nodepool1 --node-vm-size Standard_DS2_v2
tl aks nodepool show --resource-group rg --cluster-name cc --name nodepool1
is "the pool is as it was" "$RC $(jq -c '[.vmSize, .tee, .provisioningState]' <<<"$OUT")" '0 ["Standard_DC2as_v5","snp","Succeeded"]'
refused "a pool of a TDX size where it is not offered" \
    "(SkuNotAvailable) The requested VM size for resource 'Following SKUs have failed for Capacity Restrictions: Standard_DC2es_v5' is currently not available in location 'westus'. Please try another size or deploy to a different location or different zone. See https://aka.ms/azureskunotavailable for details." \
    aks create --resource-group west --name cw --node-count 0 --node-vm-size Standard_DC2es_v5 --no-ssh-key

# ---- delete -------------------------------------------------------------------
refused "a group that holds VMs is not deleted" \
    "resource group 'rg' still holds cluster 'cc' (delete it first: tl aks delete --resource-group rg --name ...)" \
    group delete --name rg --yes
tl vm delete "${G[@]}" --name std1 --yes
is "vm delete" "$RC|$OUT|$ERR" "0||"
tl vm show "${G[@]}" --name std1
is "a deleted VM is gone" "$RC|$ERR" "2|tl: (ResourceNotFound) The Resource 'Microsoft.Compute/virtualMachines/std1' under resource group 'rg' was not found."
tl node show std1 --json
is "and its node" "$RC" 2
tl aks delete --resource-group rg --name cc --yes
tl group delete --name rg --yes
is "the group still holds VMs (named in the store's order)" \
    "$RC|$(sed -E "s/'(cvm1|cvm2|tdx1|tl1)'/VM/g" <<<"$ERR")" \
    "2|tl: resource group 'rg' still holds VMs VM, VM, VM, VM (delete them first: tl vm delete --resource-group rg --name ...)"
tl vm list -o json
is "tl vm list (every group)" "$RC $(jq -c '[.[].name] | sort' <<<"$OUT")" '0 ["cvm1","cvm2","tdx1","tl1"]'

finish
