#!/usr/bin/env bash
# e2e: the commands of Microsoft's "Trusted launch for AKS" article, verbatim
# with `az` replaced by `tl`, against real nodes (tld, QEMU + OVMF + swtpm
# under TCG, the agent attesting each boot).
#
# The blocks below are copied from the article's revisions (the preview
# revisions of 2024-03 and the GA ones of 2024-10 and 2025-07, in
# MicrosoftDocs/azure-docs and azure-aks-docs: articles/aks/
# use-trusted-launch.md), trailing spaces, the en dash of `-–cluster-name`
# and the `myCluster` of the update examples included. Each runs through
# bash exactly as written (with `tl` on PATH); what it assumes is created
# first with tl's own commands: the resource group `myResourceGroup`, and
# a cluster named `myCluster` with a Secure Boot pool `mynodepool` for the
# update examples. After each command the state is checked: the pools, the
# nodes, each node's attested Secure Boot and vTPM, and its labels.
#
# `kubectl get nodes` / `kubectl describe node` run against tld's read-only
# Kubernetes API (src/tld/kube_api.c) with the kubeconfig get-credentials
# wrote; no pod runs (no kubelet): `tl node list --for-pod` answers the
# nodeSelector blocks instead.
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
command -v jq >/dev/null 2>&1 || bail "jq missing (make deps)"

W=$(mktemp -d "${TMPDIR:-/tmp}/tl-e2e-docs.XXXXXX") || bail mktemp
export TL_HOME=$W/home TL_TLD HOME=$W/user KUBECONFIG=
mkdir -p "$HOME" "$W/bin"
ln -s "$TL_BIN" "$W/bin/tl"
export PATH=$W/bin:$PATH
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

mkdir -p "$TL_HOME/images"
tl image build -o "$TL_HOME/images/default" --fixtures "$TL_FIXTURES" >"$W/img.log" 2>&1 ||
	bail "image build: $(tail -2 "$W/img.log")"

# run BLOCK: the docs' text through bash, as a reader would paste it
step=0
run() {
	step=$((step + 1))
	printf '%s\n' "$1" >"$W/step$step.sh"
	bash "$W/step$step.sh" >"$W/step$step.out" 2>"$W/step$step.err"
	rc=$?
	echo "# \$ $(head -1 "$W/step$step.sh")$( [ "$(wc -l <"$W/step$step.sh")" -gt 1 ] && echo ' ...') → exit $rc"
	return $rc
}
out() { cat "$W/step$step.out"; }
err() { cat "$W/step$step.err"; }

pool() { tl aks nodepool show --resource-group myResourceGroup --cluster-name "$1" --name "$2" 2>/dev/null; }
nodes_of() { # CLUSTER POOL → the pool's nodes as JSON lines
	tl node list --json | jq -c --arg c "$1" --arg p "$2" \
		'.nodes[] | select(.pool.cluster == $c and .pool.name == $p)'
}
# check_pool CLUSTER POOL COUNT SB VTPM: the pool and every node in it
check_pool() {
	local c=$1 p=$2 count=$3 sb=$4 vtpm=$5 j
	j=$(pool "$c" "$p")
	check "$c/$p: Succeeded, count $count, securityProfile sb=$sb vtpm=$vtpm" \
		test "$(echo "$j" | jq -c '[.provisioningState, .count, .securityProfile.enableSecureBoot, .securityProfile.enableVtpm]')" \
		= "[\"Succeeded\",$count,$sb,$vtpm]"
	local lines
	lines=$(nodes_of "$c" "$p")
	check "$c/$p: $count node(s)" test "$(echo -n "$lines" | grep -c .)" -eq "$count"
	while read -r n; do
		[ -n "$n" ] || continue
		local name tl_label sb_label
		name=$(echo "$n" | jq -r .name)
		tl_label=$(echo "$n" | jq -r '.labels["kubernetes.azure.com/trusted-launch"] // "absent"')
		sb_label=$(echo "$n" | jq -r '.labels["kubernetes.azure.com/secure-boot"] // "absent"')
		check "$name: running, spec sb=$sb vtpm=$vtpm" \
			test "$(echo "$n" | jq -c '[.state, .secure_boot, .vtpm]')" = "[\"running\",$sb,$vtpm]"
		check "$name: the guest reported Secure Boot $sb" \
			test "$(echo "$n" | jq -r '.report.secure_boot')" = "$([ "$sb" = true ] && echo on || echo off)"
		if [ "$vtpm" = true ]; then
			check "$name: attested (verdict pass), Secure Boot $sb in the attestation" \
				test "$(echo "$n" | jq -c '[.attestation.verdict, .attestation.secure_boot]')" = "[\"pass\",$sb]"
			check "$name: label trusted-launch=true" test "$tl_label" = true
			if [ "$sb" = true ]; then
				check "$name: label secure-boot=true" test "$sb_label" = true
			else
				check "$name: no secure-boot label" test "$sb_label" = absent
			fi
		else
			check "$name: no TPM in the guest" test "$(echo "$n" | jq -r '.report.tpm')" = false
			check "$name: no trusted-launch or secure-boot label (nothing attests them)" \
				test "$tl_label/$sb_label" = absent/absent
		fi
		check "$name: labelled agentpool=$p" test "$(echo "$n" | jq -r '.labels.agentpool')" = "$p"
	done <<<"$lines"
}

# ---- what the docs assume: a resource group ---------------------------------------
run 'tl group create --name myResourceGroup --location local' || bail "group create: $(err)"

# ---- preview flow (2024-03) ---------------------------------------------------------
run 'tl extension add --name aks-preview'
check "extension add: exit 0" test $? -eq 0
run 'tl extension update --name aks-preview'
check "extension update: exit 0" test $? -eq 0
run 'tl feature register --namespace "Microsoft.ContainerService" --name "TrustedLaunchPreview"'
check "feature register: exit 0, Registering" test "$(out | jq -r .properties.state)" = Registering
# tld says Registering for 2 s: poll (bounded) until it says something else.
registered() {
	[ "$(tl feature show --namespace Microsoft.ContainerService --name TrustedLaunchPreview 2>/dev/null |
		jq -r .properties.state)" != Registering ]
}
TAP_POLL=0.2 wait_for 10 registered
run 'tl feature show --namespace "Microsoft.ContainerService" --name "TrustedLaunchPreview"'
check "feature show: Registered, named Microsoft.ContainerService/TrustedLaunchPreview" \
	test "$(out | jq -r '.name + " " + .properties.state')" = "Microsoft.ContainerService/TrustedLaunchPreview Registered"
run 'tl provider register --namespace "Microsoft.ContainerService"'
check "provider register: exit 0" test $? -eq 0

# ---- create a cluster (2025-07, as on the live page) --------------------------------
run 'tl aks create \
    --name myAKSCluster \
    --resource-group myResourceGroup \
    --node-count 1 \
    --enable-secure-boot \
    --enable-vtpm \
    --generate-ssh-keys'
check "aks create: exit 0 ($(err | tail -1))" test $rc -eq 0
check "aks create: prints the cluster, Succeeded" \
	test "$(out | jq -r '.name + " " + .provisioningState')" = "myAKSCluster Succeeded"
check "--generate-ssh-keys made ~/.ssh/id_rsa.pub, now the cluster's key" \
	test "$(out | jq -r '.linuxProfile.ssh.publicKeys[0].keyData')" = "$(cat "$HOME/.ssh/id_rsa.pub" 2>/dev/null)"
check_pool myAKSCluster nodepool1 1 true true

run 'tl aks get-credentials --resource-group myResourceGroup --name myAKSCluster'
check "get-credentials: exit 0" test $rc -eq 0
check "get-credentials: ~/.kube/config has current-context myAKSCluster" \
	grep -q '^current-context: *"\?myAKSCluster' "$HOME/.kube/config"

# ---- add a node pool (2024-03/2024-10: the vTPM-only example has an en dash) -------
run 'tl aks nodepool add --resource-group myResourceGroup -–cluster-name myAKSCluster --name mynodepool --node-count 3 --enable-vtpm  '
check "en dash (-–cluster-name): exit 2" test $rc -eq 2
check "en dash: the error says so and suggests --cluster-name ($(err))" \
	grep -q 'en dash.*--cluster-name' "$W/step$step.err"
check "en dash: nothing was created" test -z "$(pool myAKSCluster mynodepool)"

run 'tl aks nodepool add --resource-group myResourceGroup --cluster-name myAKSCluster --name mynodepool --node-count 3 --enable-vtpm --enable-secure-boot'
check "nodepool add (3 nodes): exit 0 ($(err | tail -1))" test $rc -eq 0
check_pool myAKSCluster mynodepool 3 true true
check "the pool's image is a trusted-launch image (TL in nodeImageVersion)" \
	test "$(pool myAKSCluster mynodepool | jq -r .nodeImageVersion)" = trustlaunch-gen2TL
# 2025-07: "kubectl describe node {node-name} | grep -e node-image-version -e security-type"
check "each node: node-image-version with TL, security-type TrustedLaunch (the newest revision's check)" \
	test "$(nodes_of myAKSCluster mynodepool | jq -r '.labels["kubernetes.azure.com/node-image-version"] + " " + .labels["kubernetes.azure.com/security-type"]' | sort -u)" \
	= "trustlaunch-gen2TL TrustedLaunch"
if command -v kubectl >/dev/null 2>&1; then
	node1=$(nodes_of myAKSCluster mynodepool | jq -r .name | sort | head -1)
	run "kubectl describe node $node1 | grep -e node-image-version -e security-type"
	check "the docs' kubectl describe node | grep: both lines ($(out | tr -s ' ' | tr '\n' ' '))" \
		test "$(out | tr -d ' ' | sort | tr '\n' ' ')" \
		= "kubernetes.azure.com/node-image-version=trustlaunch-gen2TL kubernetes.azure.com/security-type=TrustedLaunch "
	run 'kubectl get nodes -l kubernetes.azure.com/trusted-launch=true -o name'
	# the kubeconfig's view is the cluster's: every pool's attested nodes
	# (nodepool1's one and mynodepool's three), as tl labels them
	check "kubectl get nodes -l kubernetes.azure.com/trusted-launch=true: the cluster's 4 attested nodes ($(out | tr '\n' ' '))" \
		test "$(out | sort | tr '\n' ' ')" = "$(tl node list --json | jq -r '.nodes[] | select(.pool.cluster == "myAKSCluster" and .labels["kubernetes.azure.com/trusted-launch"] == "true") | "node/" + .name' | sort | tr '\n' ' ')"
	check "kubectl get nodes -l ...trusted-launch=true: 4 nodes" test "$(out | wc -l)" = 4
	run 'kubectl get nodes --show-labels'
	check "kubectl get nodes --show-labels: each node Ready with trusted-launch=true" \
		test "$(out | awk 'NR > 1 && $2 == "Ready" && /kubernetes.azure.com\/trusted-launch=true/' | wc -l)" -ge 3
else
	skip "the docs' kubectl commands" "kubectl not installed"
fi
check "each node: os-sku and os-version say what it boots (the image's Debian 12), not the pool's requested Ubuntu" \
	test "$(nodes_of myAKSCluster mynodepool | jq -r '.labels["kubernetes.azure.com/os-sku"] + " " + .labels["kubernetes.azure.com/os-version"]' | sort -u)" \
	= "Debian 12"

# ---- pods: the docs' nodeSelector blocks ---------------------------------------------
cat >"$W/pod-docs.yaml" <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: trusted
spec:
  containers:
    - name: app
      image: nginx
  nodeSelector:
        kubernetes.azure.com/trusted-launch: true
EOF
run "tl node list --for-pod $W/pod-docs.yaml"
check "nodeSelector 'trusted-launch: true' (unquoted, as in the docs): exit 2" test $rc -eq 2
check "... explained: a YAML boolean, Kubernetes wants a string ($(err))" \
	grep -qi 'boolean.*string' "$W/step$step.err"
sed 's/: true$/: "true"/' "$W/pod-docs.yaml" >"$W/pod-quoted.yaml"
run "tl node list --for-pod $W/pod-quoted.yaml --json"
check "quoted \"true\": the 4 attested nodes of myAKSCluster" \
	test "$(out | jq -r '.nodes | length')" -eq 4
sed 's|trusted-launch: true|secure-boot: "true"|' "$W/pod-docs.yaml" >"$W/pod-sb.yaml"
run "tl node list --for-pod $W/pod-sb.yaml --json"
check "secure-boot: \"true\": the same 4 nodes" test "$(out | jq -r '.nodes | length')" -eq 4

# ---- the update examples act on `myCluster`: create it with a Secure Boot pool ------
run 'tl aks create --name myCluster --resource-group myResourceGroup --node-count 1 --enable-secure-boot --enable-vtpm --generate-ssh-keys' ||
	bail "create myCluster: $(err)"
run 'tl aks nodepool add --resource-group myResourceGroup --cluster-name myCluster --name mynodepool --node-count 2 --enable-secure-boot' ||
	bail "add myCluster/mynodepool: $(err)"
check_pool myCluster mynodepool 2 true false

# 2025-07: "enable vTPM on a pool created with Secure Boot" (trailing space as in the docs)
run 'tl aks nodepool update --cluster-name myCluster --resource-group myResourceGroup --name mynodepool --enable-vtpm '
check "update --enable-vtpm: exit 0 ($(err | tail -1))" test $rc -eq 0
check_pool myCluster mynodepool 2 true true
# 2025-07: "enable Secure Boot on a pool created with vTPM": here it is on already
run 'tl aks nodepool update --cluster-name myCluster --resource-group myResourceGroup --name mynodepool --enable-secure-boot'
check "update --enable-secure-boot (already on): exit 0, nothing reimaged" test $rc -eq 0
check_pool myCluster mynodepool 2 true true
# 2024: "Disable Secure Boot" (trailing space)
boots_before=$(nodes_of myCluster mynodepool | jq -s '[.[].boots] | add')
run 'tl aks nodepool update --cluster-name myCluster --resource-group myResourceGroup --name mynodepool --disable-secure-boot '
check "update --disable-secure-boot: exit 0 ($(err | tail -1))" test $rc -eq 0
check_pool myCluster mynodepool 2 false true
check "every node was reimaged (2 more boots)" \
	test "$(nodes_of myCluster mynodepool | jq -s '[.[].boots] | add')" -eq $((boots_before + 2))
# 2025-07 again, now from vTPM only: Secure Boot + vTPM on every node
run 'tl aks nodepool update --cluster-name myCluster --resource-group myResourceGroup --name mynodepool --enable-secure-boot'
check "update vTPM-only → Secure Boot + vTPM: exit 0 ($(err | tail -1))" test $rc -eq 0
check_pool myCluster mynodepool 2 true true
check "the nodes were reimaged one at a time: each ready before the next (tld.log)" \
	test "$(grep -E 'myCluster/mynodepool: node .* (reimaged \(|ready \()' "$TL_HOME/tld.log" | tail -4 | awk '{print $7}' | tr '\n' ' ')" = "reimaged ready reimaged ready "
# "Disable vTPM"
run 'tl aks nodepool update --cluster-name myCluster --resource-group myResourceGroup --name mynodepool --disable-vtpm'
check "update --disable-vtpm: exit 0 ($(err | tail -1))" test $rc -eq 0
check_pool myCluster mynodepool 2 true false
run 'tl aks nodepool update --cluster-name myCluster --resource-group myResourceGroup --name mynodepool --disable-secure-boot '
check "update --disable-secure-boot: exit 0" test $rc -eq 0
check_pool myCluster mynodepool 2 false false
# 2024: "update and enable both" (trailing space)
run 'tl aks nodepool update --cluster-name myCluster --resource-group myResourceGroup --name mynodepool --enable-secure-boot --enable-vtpm '
check "update --enable-secure-boot --enable-vtpm: exit 0 ($(err | tail -1))" test $rc -eq 0
check_pool myCluster mynodepool 2 true true

# ---- the clusters as listed ---------------------------------------------------------
run 'tl aks list --resource-group myResourceGroup --output table'
check "aks list -o table: both clusters, Succeeded" \
	test "$(out | grep -cE '^(myAKSCluster|myCluster) .*Succeeded')" -eq 2
run 'tl aks nodepool list --resource-group myResourceGroup --cluster-name myAKSCluster --output tsv'
check "nodepool list -o tsv: nodepool1 and mynodepool" \
	test "$(out | cut -f1 | sort | tr '\n' ' ')" = "mynodepool nodepool1 "
finish
