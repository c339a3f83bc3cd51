#!/usr/bin/env bash
# The az-compatible verbs (tl group, tl aks, tl aks nodepool, tl feature,
# tl provider, tl extension), in two parts.
# 1. Without tld: --help at every level exits 0; each mistake copied from a
#    web page or a doc (en/em dashes, a pasted "\" continuation, a misspelled
#    option, a missing or doubled argument, a bad enum or count, enable and
#    disable together) gives its exact one-line message (docs/cli.md) and
#    exit 2; `tl extension add --name aks-preview` exits 0; and none of them
#    starts tld (TL_TLD points at a script that would leave a mark).
# 2. Against the real tld ($TL_TLD, started on demand by tl, with a node
#    image built here), and no VM booted: every cluster and pool has
#    --node-count 0 (Succeeded at once), or is refused, or is only read.
#    What tld stored is read back (tl aks show: enum values canonical, the
#    trusted-launch flags, the SSH key tl generated, checked by ssh-keygen,
#    identity); --no-wait prints the resource as answered; a refusal ->
#    "tl: <tld's error>" and exit 2 (a cluster that is not there, a Windows
#    pool with trusted launch, a group that still holds a cluster); deletes
#    wait for 404 and the resource is gone; table, tsv and none output;
#    feature and provider registration; and get-credentials (mode 0600,
#    merged with other clusters' entries, current-context switching,
#    --file -, a foreign file kept unless --overwrite-existing, read back
#    by kubectl when it is installed).
#    Waiting with progress lines and an operation that ends Failed (exit 1)
#    need nodes that boot: tests/e2e/docs-commands.sh and
#    tests/e2e/pool_update.sh cover them, and tests/unit/test_azcli.c the
#    progress line's format.
# Needs: TL_BIN, TL_TLD, TL_FIXTURES; jq (ssh-keygen, kubectl optional).
set -u
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
: "${TL_BIN:?}" "${TL_TLD:?}" "${TL_FIXTURES:?}"
command -v jq >/dev/null || bail "jq missing (apt-get install jq)"
REAL_TLD=$TL_TLD
unset KUBECONFIG
W=$(mktemp -d "${TMPDIR:-/tmp}/tl-aks-test.XXXXXX")
# tl, mistake and the cleanup of W and its tld
# shellcheck source=tests/lib/tlrun.sh
. "$(dirname "$0")/../lib/tlrun.sh"

# ---- 1. without tld -------------------------------------------------------
export TL_HOME=$W/no-tld
export HOME=$W/user
mkdir -p "$HOME"
printf '#!/bin/sh\ntouch %s/tld-started\nexit 1\n' "$W" >"$W/tld.sh"
chmod +x "$W/tld.sh"
export TL_TLD=$W/tld.sh

for args in "aks" "aks --help" "aks nodepool --help" "aks nodepool add --help" "aks nodepool update -h" \
    "aks create --help" "aks get-credentials --help" "group --help" "group create --help" \
    "feature --help" "feature register --help" "provider --help" "extension --help"; do
    # shellcheck disable=SC2086
    tl $args
    if [ "$RC" = 0 ] && [ -n "$OUT" ] && [ -z "$ERR" ]; then ok "tl $args: help on stdout, exit 0"; else not_ok "tl $args: help" "exit $RC: $ERR"; fi
done
tl aks nodepool add --help
case $OUT in *"--enable-secure-boot"*"--aks-custom-headers"*"--output -o"*) ok "nodepool add --help lists its options and --output" ;; *) not_ok "nodepool add --help lists its options" "$OUT" ;; esac
tl --help
case $OUT in *"aks nodepool add|update|show|list|delete"*) ok "tl --help names the az verbs" ;; *) not_ok "tl --help names the az verbs" "$OUT" ;; esac

EN=$'\u2013' EM=$'\u2014'
mistake "an en dash after a hyphen (-–cluster-name)" \
    "tl: aks nodepool add: argument \"-${EN}cluster-name\" contains an en dash (U+2013) where -- belongs (typically copied from a web page); did you mean --cluster-name?" \
    aks nodepool add --resource-group myResourceGroup "-${EN}cluster-name" myAKSCluster --name mynodepool
mistake "an en dash before a hyphen (–-name)" \
    "tl: aks nodepool add: argument \"${EN}-name\" contains an en dash (U+2013) where -- belongs (typically copied from a web page); did you mean --name?" \
    aks nodepool add --resource-group myResourceGroup --cluster-name myAKSCluster "${EN}-name" mynodepool
mistake "an em dash (—name)" \
    "tl: aks create: argument \"${EM}name\" contains an em dash (U+2014) where -- belongs (typically copied from a web page); did you mean --name?" \
    aks create "${EM}name" myAKSCluster --resource-group myResourceGroup
mistake "an en dash in a flag, misspelled too (–-enable-vtmp)" \
    "tl: aks create: argument \"${EN}-enable-vtmp\" contains an en dash (U+2013) where -- belongs (typically copied from a web page); did you mean --enable-vtpm?" \
    aks create -n c -g g "${EN}-enable-vtmp"
mistake "an en dash where a value is expected" \
    "tl: aks nodepool update: argument \"${EN}${EN}name\" contains an en dash (U+2013) where -- belongs (typically copied from a web page); did you mean --name?" \
    aks nodepool update -g g --cluster-name "${EN}${EN}name" p
mistake "an option close to a known one" \
    "tl: aks nodepool add: unrecognized argument --enable-utcm; did you mean --enable-vtpm?" \
    aks nodepool add -g g --cluster-name c -n p --enable-utcm
mistake "a transposition" \
    "tl: aks create: unrecognized argument --enable-secure-boto; did you mean --enable-secure-boot?" \
    aks create -n c -g g --enable-secure-boto
mistake "--name=value of an unknown option" \
    "tl: group create: unrecognized argument --locaton; did you mean --location?" \
    group create -n g --locaton=eastus
mistake "an unknown option without a close match (az's text)" \
    "tl: aks create: unrecognized arguments: --foo bar" \
    aks create -n c -g g --foo bar
mistake "a stray word" \
    "tl: aks show: unrecognized arguments: myAKSCluster" \
    aks show -g g -n c myAKSCluster
mistake "a \\ continuation pasted onto one line (\" --name\")" \
    "tl: aks create: argument \" --name\" comes from a \\ line continuation pasted onto one line; remove the \\ or keep the line breaks" \
    aks create \ --name myAKSCluster --resource-group myResourceGroup
# shellcheck disable=SC1003 # a lone backslash, meant
mistake "a lone \\" \
    "tl: aks create: argument \"\\\" comes from a \\ line continuation pasted onto one line; remove the \\ or keep the line breaks" \
    aks create --name myAKSCluster '\' --resource-group myResourceGroup
mistake "a lone escaped space" \
    "tl: aks nodepool add: argument \" \" comes from a \\ line continuation pasted onto one line; remove the \\ or keep the line breaks" \
    aks nodepool add --resource-group g ' ' --cluster-name c --name p
mistake "a continuation glued to a value" \
    "tl: aks create: argument \"myAKSCluster --resource-group\" comes from a \\ line continuation pasted onto one line; remove the \\ or keep the line breaks" \
    aks create --name myAKSCluster\ --resource-group myResourceGroup
mistake "a continuation before the verb" \
    "tl: aks: argument \" create\" comes from a \\ line continuation pasted onto one line; remove the \\ or keep the line breaks" \
    aks \ create --name x
mistake "aks create without --name and --resource-group" \
    "tl: aks create: the following arguments are required: --name/-n, --resource-group/-g" \
    aks create --enable-secure-boot
mistake "nodepool add without its three" \
    "tl: aks nodepool add: the following arguments are required: --resource-group/-g, --cluster-name, --name/-n" \
    aks nodepool add --node-count 3
mistake "nodepool list without --cluster-name" \
    "tl: aks nodepool list: the following arguments are required: --cluster-name" \
    aks nodepool list -g g
mistake "feature register without --name" \
    "tl: feature register: the following arguments are required: --name/-n" \
    feature register --namespace Microsoft.ContainerService
mistake "an option given twice" \
    "tl: aks nodepool add: argument --name/-n: given more than once" \
    aks nodepool add -g g --cluster-name c -n p --name q
mistake "a missing value at the end" \
    "tl: aks create: argument --name/-n: expected one argument" \
    aks create -g g --name
mistake "a missing value before the next option" \
    "tl: aks create: argument --resource-group/-g: expected one argument" \
    aks create --resource-group --name c
mistake "a bad enum value lists the allowed ones" \
    "tl: aks nodepool add: 'Foo' is not a valid value for '--vm-set-type'. Allowed values: VirtualMachineScaleSets, AvailabilitySet." \
    aks nodepool add -g g --cluster-name c -n p --vm-set-type Foo
mistake "a bad --os-type" \
    "tl: aks nodepool add: 'Linux2' is not a valid value for '--os-type'. Allowed values: Linux, Windows." \
    aks nodepool add -g g --cluster-name c -n p --os-type Linux2
mistake "a bad --output" \
    "tl: aks list: 'xml' is not a valid value for '--output'. Allowed values: json, jsonc, table, tsv, yaml, none." \
    aks list -o xml
mistake "a count that is not an integer" \
    "tl: aks nodepool add: argument --node-count/-c: invalid int value: 'three'" \
    aks nodepool add -g g --cluster-name c -n p --node-count three
mistake "a negative count" \
    "tl: aks create: argument --node-count/-c: invalid int value: '-1'" \
    aks create -g g -n c -c=-1
mistake "a flag given a value" \
    "tl: aks create: argument --enable-vtpm: ignored explicit argument 'true'" \
    aks create -g g -n c --enable-vtpm=true
mistake "enable and disable Secure Boot together" \
    "tl: aks nodepool update: cannot specify --enable-secure-boot and --disable-secure-boot at the same time" \
    aks nodepool update -g g --cluster-name c -n p --disable-secure-boot --enable-secure-boot
mistake "enable and disable the vTPM together (add)" \
    "tl: aks nodepool add: cannot specify --enable-vtpm and --disable-vtpm at the same time" \
    aks nodepool add -g g --cluster-name c -n p --enable-vtpm --disable-vtpm
mistake "an update with nothing to change" \
    "tl: aks nodepool update: nothing to update: give --enable-secure-boot, --disable-secure-boot, --enable-vtpm, --disable-vtpm, --enable-workload-egress, --disable-workload-egress, --workload-egress-allowed-cidrs or --node-count" \
    aks nodepool update -g g --cluster-name c -n p
mistake "--aks-custom-headers without KEY=VALUE" \
    "tl: aks nodepool add: --aks-custom-headers takes KEY=VALUE[,KEY=VALUE...], not \"UseGen1Image\"" \
    aks nodepool add -g g --cluster-name c -n p --aks-custom-headers UseGen1Image
mistake "--generate-ssh-keys with --no-ssh-key" \
    "tl: aks create: cannot specify --generate-ssh-keys and --no-ssh-key at the same time" \
    aks create -g g -n c --generate-ssh-keys --no-ssh-key
mistake "a misspelled verb" \
    "tl: aks: 'nodepol' is not a tl aks command; did you mean 'nodepool'?" \
    aks nodepol list
mistake "an unknown verb" \
    "tl: aks nodepool: 'frobnicate' is not a tl aks nodepool command (try tl aks nodepool --help)" \
    aks nodepool frobnicate
mistake "an option where the verb belongs" \
    "tl: group: a command is required before --name (try tl group --help)" \
    group --name g
mistake "a delete without --yes and no terminal" \
    "tl: aks delete: unable to prompt for confirmation as no tty available; use --yes" \
    aks delete -g g -n c
mistake "an --ssh-key-value that is neither a key nor a file" \
    "tl: aks create: --ssh-key-value: nokey.pub is neither a public key nor a file (add --generate-ssh-keys to make one there)" \
    aks create -g g -n c --ssh-key-value nokey.pub

for v in add update; do
    tl extension $v --name aks-preview
    is "tl extension $v --name aks-preview: exit 0 with a note" "$RC:$OUT:$ERR" \
        "0::tl: extension $v: trustlaunch needs no extension; what 'aks-preview' adds to az is built into tl (nothing to do)"
done
tl extension add --name aks-preview --allow-preview true --upgrade --yes
is "tl extension add takes az's other options" "$RC" 0
if [ -e "$W/tld-started" ] || [ -e "$TL_HOME" ]; then
    not_ok "no parsing failure started tld or made its data directory"
else
    ok "no parsing failure started tld or made its data directory"
fi

# ---- 2. against the real tld ----------------------------------------------
export TL_HOME=$W/home TL_TLD=$REAL_TLD
mkdir -p "$TL_HOME/images"
# tld refuses a create without a node image (~8 s to build, once)
"$TL_BIN" image build -o "$TL_HOME/images/default" --fixtures "$TL_FIXTURES" >"$W/image.log" 2>&1
is "a node image for tld (tl image build)" "$? $(jq -r .generation "$TL_HOME/images/default/manifest.json" 2>&1)" "0 2"
RG=(--resource-group myResourceGroup)

tl group create --name myResourceGroup --location eastus
is "group create: the group (json, keys sorted)" "$RC $(jq -c . <<<"$OUT")" \
    '0 {"id":"/subscriptions/local/resourceGroups/myResourceGroup","location":"eastus","name":"myResourceGroup","properties":{"provisioningState":"Succeeded"},"type":"Microsoft.Resources/resourceGroups"}'
is "json output is az's layout (2-space indent, sorted keys)" "$(sed -n '1,3p' "$W/out")" \
    $'{\n  "id": "/subscriptions/local/resourceGroups/myResourceGroup",\n  "location": "eastus",'
read -r ADDR TLD_PID <"$TL_HOME/tld.addr"
read -r KADDR _ <"$TL_HOME/kube.addr" # the Kubernetes API (kube_api.c), kubeconfigs' server
if [ -n "$TLD_PID" ] && [ "$(readlink "/proc/$TLD_PID/exe")" = "$(readlink -f "$REAL_TLD")" ]; then
    ok "tl started the real tld ($TL_TLD) in TL_HOME"
else
    not_ok "tl started the real tld" "tld.addr: $ADDR $TLD_PID"
fi
tl group create --name MYRESOURCEGROUP --location EastUS -o tsv
is "group create of a group that exists (any case): the group as it is" "$RC:$OUT:$ERR" $'0:myResourceGroup\teastus\tSucceeded:'
tl group create --name myResourceGroup --location westus -o tsv
is "group create of a group that exists elsewhere: ARM's refusal" "$RC:$OUT:$ERR" \
    "2::tl: Invalid resource group location 'westus'. The Resource group already exists in location 'eastus'."

tl group list -o table
is "group list -o table" "$OUT" $'Name             Location  Status\n---------------  --------  ---------\nmyResourceGroup  eastus    Succeeded'
tl group show -n myresourcegroup -o tsv
is "group show -o tsv (names match in any case)" "$RC $OUT" $'0 myResourceGroup\teastus\tSucceeded'

tl feature register --namespace "Microsoft.ContainerService" --name "TrustedLaunchPreview"
is "feature register: Registering, and the provider hint" "$RC $(jq -r .properties.state <<<"$OUT") $ERR" \
    "0 Registering Once the feature 'TrustedLaunchPreview' is registered, invoking 'tl provider register -n Microsoft.ContainerService' is required to get the change propagated"
tl feature show --namespace "Microsoft.ContainerService" --name "TrustedLaunchPreview" -o tsv
is "feature show -o tsv: still Registering" "$RC $OUT" $'0 Microsoft.ContainerService/TrustedLaunchPreview\tRegistering'
# tld says Registering for 2 s: poll (bounded) until it says something else.
registered() {
    tl feature show --namespace "Microsoft.ContainerService" --name "TrustedLaunchPreview" -o tsv
    [ "$(cut -f2 <<<"$OUT")" != Registering ]
}
TAP_POLL=0.2 wait_for 10 registered
is "feature show -o tsv: Registered after 2 s" "$RC $OUT" $'0 Microsoft.ContainerService/TrustedLaunchPreview\tRegistered'
tl provider register --namespace Microsoft.ContainerService --wait
is "provider register --wait: nothing printed, exit 0" "$RC:$OUT:$ERR" "0::"
tl provider show -n Microsoft.ContainerService
is "provider show: Registered" "$RC $(jq -c . <<<"$OUT")" '0 {"namespace":"Microsoft.ContainerService","registrationState":"Registered"}'
tl provider show -n Microsoft.ContainerService --query registrationState -o tsv
is "provider show --query (every verb's, JMESPath by jp)" "$RC $OUT $ERR" "0 Registered "

tl aks create "${RG[@]}" --name myAKSCluster --node-count 0 --enable-secure-boot --enable-vtpm \
    --enable-managed-identity --generate-ssh-keys --os-sku ubuntu --node-vm-size standard_ds2_v2
cp "$W/out" "$W/created.json"
is "aks create: Succeeded, the key generation noted on stderr" "$RC $(jq -r .provisioningState <<<"$OUT") $ERR" \
    "0 Succeeded SSH key files '$HOME/.ssh/id_rsa' and '$HOME/.ssh/id_rsa.pub' have been generated to allow SSH access to the nodes."
tl aks show "${RG[@]}" --name myAKSCluster
is "aks show: what aks create printed" "$RC $OUT" "0 $(cat "$W/created.json")"
is "aks create: the system pool stored (empty, Succeeded, enums canonical, trusted launch)" \
    "$(jq -c '.agentPoolProfiles[] | [.name, .mode, .count, .nodes, .provisioningState, .vmSize, .osSku, .osType, .securityProfile, .nodeImageVersion, .imageGeneration]' <<<"$OUT")" \
    '["nodepool1","System",0,[],"Succeeded","Standard_DS2_v2","Ubuntu","Linux",{"enableSecureBoot":true,"enableVtpm":true},"trustlaunch-gen2TL",2]'
is "the pool's image runs Debian 12 (its manifest's os), whatever --os-sku asked (its nodes' os-sku label)" \
    "$(jq -c '[.agentPoolProfiles[0].imageOs, .agentPoolProfiles[0].osSku]' <<<"$OUT") $(jq -c .os.name "$TL_HOME/images/default/manifest.json")" \
    '["Debian 12","Ubuntu"] "Debian"'
is "aks create --enable-managed-identity: identity SystemAssigned" "$(jq -c .identity <<<"$OUT")" '{"type":"SystemAssigned"}'
is "aks create --generate-ssh-keys: the generated public key is the cluster's" \
    "$(jq -r '.linuxProfile.adminUsername, .linuxProfile.ssh.publicKeys[0].keyData' <<<"$OUT")" \
    "azureuser"$'\n'"$(cat "$HOME/.ssh/id_rsa.pub" 2>&1)"
is "the private key is 0600, the public key 0644" "$(stat -c %a "$HOME/.ssh/id_rsa" "$HOME/.ssh/id_rsa.pub" 2>&1 | tr '\n' ' ')" "600 644 "
if command -v ssh-keygen >/dev/null; then
    fp_pub=$(ssh-keygen -l -f "$HOME/.ssh/id_rsa.pub" 2>&1 | awk '{print $1, $2}')
    fp_priv=$(ssh-keygen -y -f "$HOME/.ssh/id_rsa" 2>&1 | ssh-keygen -l -f - 2>&1 | awk '{print $1, $2}')
    case $fp_pub in "2048 SHA256:"*) ok "ssh-keygen reads the public key (RSA 2048)" ;; *) not_ok "ssh-keygen reads the public key" "$fp_pub" ;; esac
    is "ssh-keygen derives the same public key from the private one" "$fp_priv" "$fp_pub"
else
    skip "ssh-keygen reads the generated keys" "ssh-keygen not installed (apt-get install openssh-client)"
fi
tl aks create "${RG[@]}" --name myAKSCluster --node-count 0 --no-ssh-key
is "aks create of a cluster that exists: tld's one line, exit 2" "$RC:$OUT:$ERR" \
    "2::tl: cluster 'myAKSCluster' already exists in resource group 'myResourceGroup' (Succeeded; tl aks show --name myAKSCluster --resource-group myResourceGroup)"
tl aks create "${RG[@]}" --name second --node-count 0 --no-ssh-key --os-sku azurelinux --no-wait -o tsv
is "aks create --no-wait: the cluster as answered (an empty pool is Succeeded at once)" "$RC $(cut -f1-6 <<<"$OUT")" \
    $'0 second\teastus\tmyResourceGroup\t1.30.6\t1.30.6\tSucceeded'
tl aks show "${RG[@]}" --name second
is "aks create --no-ssh-key: no linuxProfile; --os-sku azurelinux stored as AzureLinux" \
    "$RC $(jq -c '[.linuxProfile, .agentPoolProfiles[0].osSku]' <<<"$OUT")" '0 [null,"AzureLinux"]'
fqdn2=$(jq -r .fqdn <<<"$OUT")

tl aks list -o table
is "aks list -o table: az's columns, both clusters" "$RC $(head -1 "$W/out") $(awk 'NR > 2 {print $1, $6}' "$W/out" | tr '\n' ' ')" \
    "0 Name          Location  ResourceGroup    KubernetesVersion  CurrentKubernetesVersion  ProvisioningState  Fqdn myAKSCluster Succeeded second Succeeded "
tl aks list "${RG[@]}" -o tsv
is "aks list -o tsv: the table's values" "$RC $(cut -f1,3,7 <<<"$OUT" | tr '\n' ' ')" \
    "0 myAKSCluster"$'\t'"myResourceGroup"$'\t'"$(jq -r .fqdn "$W/created.json") second"$'\t'"myResourceGroup"$'\t'"$fqdn2 "
tl aks show "${RG[@]}" -n myCluster
NOT_THERE="cluster 'myCluster' not found in resource group 'myResourceGroup'; clusters that exist: myAKSCluster (resource group myResourceGroup), second (resource group myResourceGroup)"
is "aks show of a cluster that is not there: tld's one line, exit 2" "$RC:$OUT:$ERR" "2::tl: $NOT_THERE"

# ---- get-credentials
mkdir -p "$HOME/.kube"
cat >"$HOME/.kube/config" <<'EOF'
apiVersion: v1
kind: Config
clusters:
- name: kind-dev
  cluster: {server: "https://127.0.0.1:6443"}
contexts:
- name: kind-dev
  context: {cluster: kind-dev, user: kind-dev}
current-context: kind-dev
users:
- name: kind-dev
  user: {token: abc}
EOF
chmod 644 "$HOME/.kube/config"
tl aks get-credentials "${RG[@]}" --name myAKSCluster --file -
cp "$W/out" "$W/kc-stdout"
token1=$(awk '/token:/ {print $2}' "$W/kc-stdout")
is "get-credentials --file -: the kubeconfig on stdout, nothing else" \
    "$RC:$ERR:$(grep -c "server: $KADDR/clusters/myResourceGroup/myAKSCluster\$" "$W/kc-stdout"):$(grep -c 'current-context: myAKSCluster$' "$W/kc-stdout"):$(grep -c 'certificate-authority-data: LS0t' "$W/kc-stdout"):${#token1}" "0::1:1:1:64"
is "get-credentials --file -: ~/.kube/config untouched" "$(grep -c 'current-context: kind-dev' "$HOME/.kube/config") $(stat -c %a "$HOME/.kube/config")" "1 644"
tl aks get-credentials "${RG[@]}" --name myAKSCluster
is "get-credentials: az's message, nothing on stdout" "$RC:$OUT:$ERR" "0::Merged \"myAKSCluster\" as current context in $HOME/.kube/config"
is "get-credentials: mode 0600" "$(stat -c %a "$HOME/.kube/config")" 600
tl aks get-credentials "${RG[@]}" --name second
is "get-credentials of a second cluster: it becomes current" "$RC $ERR $(grep -c '^current-context: second$' "$HOME/.kube/config")" \
    "0 Merged \"second\" as current context in $HOME/.kube/config 1"
tl aks get-credentials "${RG[@]}" --name myAKSCluster
is "get-credentials again: back to the first, no entry doubled" \
    "$RC $(grep -c '^current-context: myAKSCluster$' "$HOME/.kube/config") $(grep -c '^- name: \|^  name: ' "$HOME/.kube/config")" "0 1 9"
if command -v kubectl >/dev/null; then
    kc=(--kubeconfig "$HOME/.kube/config")
    is "kubectl reads the merged file: three contexts, ours current" \
        "$(kubectl config get-contexts -o name "${kc[@]}" 2>&1 | sort | tr '\n' ' ')$(kubectl config current-context "${kc[@]}" 2>&1)" \
        "kind-dev myAKSCluster second myAKSCluster"
    is "kubectl: our user's token, the one tld gave" \
        "$(kubectl config view --raw -o jsonpath='{.users[?(@.name=="clusterUser_myResourceGroup_myAKSCluster")].user.token}' "${kc[@]}" 2>&1)" "$token1"
    is "kubectl: our cluster's server is tld's" \
        "$(kubectl config view --raw -o jsonpath='{.clusters[?(@.name=="second")].cluster.server}' "${kc[@]}" 2>&1)" \
        "$KADDR/clusters/myResourceGroup/second"
    is "kubectl: the other cluster's entries are kept" \
        "$(kubectl config view --raw -o jsonpath='{.users[?(@.name=="kind-dev")].user.token}' "${kc[@]}" 2>&1)" abc
else
    skip "kubectl reads the merged kubeconfig" "kubectl not installed (make deps installs kubernetes-client)"
fi
KUBECONFIG=$W/kc/first:$W/kc/second tl aks get-credentials "${RG[@]}" -n second
is "get-credentials: \$KUBECONFIG's first path" "$RC $ERR $(stat -c %a "$W/kc/first" 2>&1) $([ -e "$W/kc/second" ] && echo second-written)" \
    "0 Merged \"second\" as current context in $W/kc/first 600 "
echo "- not: a kubeconfig" >"$W/foreign"
tl aks get-credentials "${RG[@]}" -n second --file "$W/foreign"
is "get-credentials: a foreign file is not clobbered" "$RC:$ERR:$(cat "$W/foreign")" \
    "2:tl: $W/foreign: not a kubeconfig (its top level is not a mapping); not overwritten (use --overwrite-existing, or --file):- not: a kubeconfig"
tl aks get-credentials "${RG[@]}" -n second --file "$W/foreign" --overwrite-existing
is "get-credentials --overwrite-existing replaces it" "$RC $(grep -c 'current-context: second' "$W/foreign") $(grep -c 'not: a kubeconfig' "$W/foreign")" "0 1 0"
tl aks get-credentials "${RG[@]}" -n myCluster
is "get-credentials of a cluster that is not there" "$RC:$OUT:$ERR" "2::tl: $NOT_THERE"

# ---- node pools
P=(--resource-group myResourceGroup --cluster-name myAKSCluster)
tl aks nodepool add "${P[@]}" --name mynodepool --node-count 0 --enable-secure-boot --enable-vtpm \
    --os-type linux --mode user --node-vm-size standard_d2s_v3 -o table
is "nodepool add -o table: az's columns and ours, the pool as stored" "$RC $OUT" \
    "0 Name        OsType  KubernetesVersion  VmSize           Count  MaxPods  ProvisioningState  Mode  SecureBoot  Vtpm
----------  ------  -----------------  ---------------  -----  -------  -----------------  ----  ----------  ----
mynodepool  Linux   1.30.6             Standard_D2s_v3      0      250  Succeeded          User  True        True"
tl aks nodepool show "${P[@]}" --name mynodepool
is "nodepool show: enums canonical, flags as booleans" \
    "$RC $(jq -c '[.osType, .mode, .vmSize, .count, .securityProfile, .enableFips, .nodeImageVersion]' <<<"$OUT")" \
    '0 ["Linux","User","Standard_D2s_v3",0,{"enableSecureBoot":true,"enableVtpm":true},false,"trustlaunch-gen2TL"]'
tl aks nodepool add "${P[@]}" --name mynodepool --node-count 0
is "nodepool add of a pool that exists: tld's line, exit 2" "$RC:$OUT:$ERR" \
    "2::tl: node pool 'mynodepool' already exists in cluster 'myAKSCluster' (Succeeded; tl aks nodepool update changes it)"
tl aks nodepool add "${P[@]}" --name win --os-type Windows --enable-secure-boot --enable-vtpm --node-count 0
is "nodepool add refused by tld: its line, exit 2" "$RC:$OUT:$ERR" \
    "2::tl: trusted launch is not supported on Windows node pools (--os-type Windows)"
tl aks nodepool add "${RG[@]}" --cluster-name myCluster -n p --node-count 0
is "nodepool add to a cluster that is not there" "$RC:$OUT:$ERR" "2::tl: $NOT_THERE"

tl aks nodepool update --cluster-name myAKSCluster "${RG[@]}" --name mynodepool --disable-secure-boot
is "nodepool update: Succeeded, Secure Boot off, the vTPM kept" "$RC $(jq -c '[.provisioningState, .securityProfile, .count]' <<<"$OUT")" \
    '0 ["Succeeded",{"enableSecureBoot":false,"enableVtpm":true},0]'
tl aks nodepool update "${P[@]}" -n mynodepool --enable-secure-boot --no-wait -o tsv
is "nodepool update --no-wait: Updating, as answered" "$RC $(cut -f1,7,9,10 <<<"$OUT")" $'0 mynodepool\tUpdating\tTrue\tTrue'
for _ in $(seq 40); do
    tl aks nodepool show "${P[@]}" -n mynodepool -o tsv
    [ "$(cut -f7 <<<"$OUT")" = Updating ] || break
    sleep 0.25
done
is "the update left running ends Succeeded, Secure Boot on" "$RC $(cut -f7,9 <<<"$OUT")" $'0 Succeeded\tTrue'
tl aks nodepool list "${P[@]}" -o tsv
is "nodepool list -o tsv: the table's values" "$RC $(cut -f1,4,8 <<<"$OUT" | tr '\n' ' ')" \
    "0 nodepool1"$'\t'"Standard_DS2_v2"$'\t'"System mynodepool"$'\t'"Standard_D2s_v3"$'\t'"User "
tl aks nodepool show "${P[@]}" -n mynodepool -o none
is "-o none prints nothing" "$RC:$OUT:$ERR" "0::"

tl aks nodepool delete "${P[@]}" -n mynodepool
is "nodepool delete: waits until gone, prints nothing on stdout" "$RC:$OUT" "0:"
tl aks nodepool show "${P[@]}" -n mynodepool
is "the deleted pool is gone" "$RC:$OUT:$ERR" "2::tl: node pool 'mynodepool' not found in cluster 'myAKSCluster'; its node pools: nodepool1"
tl aks nodepool list "${P[@]}"
is "nodepool list after the delete" "$RC $(jq -r '.[].name' <<<"$OUT" | tr '\n' ' ')" "0 nodepool1 "

tl aks delete "${RG[@]}" -n myAKSCluster --yes
is "aks delete --yes: waits until gone, prints nothing on stdout" "$RC:$OUT" "0:"
tl aks show "${RG[@]}" -n myAKSCluster
is "the deleted cluster is gone" "$RC:$OUT:$ERR" \
    "2::tl: cluster 'myAKSCluster' not found in resource group 'myResourceGroup'; clusters that exist: second (resource group myResourceGroup)"
tl aks list
is "aks list after the delete" "$RC $(jq -r '.[].name' <<<"$OUT" | tr '\n' ' ')" "0 second "

tl group delete -n myResourceGroup -y
is "group delete of a group that holds a cluster: refused, exit 2" "$RC:$OUT:$ERR" \
    "2::tl: resource group 'myResourceGroup' still holds cluster 'second' (delete it first: tl aks delete --resource-group myResourceGroup --name ...)"
tl aks delete "${RG[@]}" -n second --yes
is "aks delete --yes of the second cluster" "$RC:$OUT" "0:"
tl group delete -n myResourceGroup -y
is "group delete -y: nothing printed, exit 0" "$RC:$OUT:$ERR" "0::"
tl group show -n myResourceGroup
is "group show of a deleted group" "$RC:$OUT:$ERR" \
    "2::tl: resource group 'myResourceGroup' not found (create it: tl group create --name myResourceGroup --location local)"
tl group list
is "group list: none left" "$RC $(jq -c . <<<"$OUT")" "0 []"

finish
