#!/usr/bin/env bash
# The read-only Kubernetes API (issue 17 part 4, src/tld/kube_api.c) with a
# real tld, real swtpm vTPMs, the real tl-agent and the real kubectl: two
# external nodes, a1 booted as the OVMF log says (attestation pass), a2
# sending a log that is not one (fail), and a managed cluster with no
# nodes (a pool's nodes boot VMs: tests/e2e/docs-commands.sh).
#
#  1. tl aks get-credentials writes a kubeconfig kubectl uses unchanged:
#     HTTPS with the CA it carries, the cluster's token; its view of the
#     cluster's nodes (none here): "No resources found";
#  2. the whole host's view (server without /clusters/G/N, a reader's
#     token): kubectl get nodes lists a1 and a2 (client-side columns),
#     -l kubernetes.azure.com/trusted-launch=true selects a1 alone,
#     --show-labels prints the label, the TrustedLaunchAttested condition
#     is True/AttestationPassed on a1 and False/AttestationFailed naming
#     the failed component on a2, describe node prints security-type;
#  3. refusals as the Kubernetes API makes them: a bad token (kubectl:
#     Unauthorized), a relying party (403), the cluster's token outside its
#     cluster (401), a bad selector (400 naming labelSelector), a resource
#     not served (kubectl's clean error), a method not allowed (405 Status);
#  4. a watch: the two nodes as ADDED, the stream ended by timeoutSeconds;
#     from a resourceVersion, a node created and deleted meanwhile (ADDED,
#     DELETED); kubectl get -w; a watch with a label selector.
# Needs: TL_BIN, TL_TLD, TL_AGENT, TL_VECTORS, TL_FIXTURES; kubectl, swtpm, tpm2-tools,
# jq, curl. KEEP=1 keeps the work folder.
set -u
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
# shellcheck source=tests/lib/extnode.sh
. "$(dirname "$0")/../lib/extnode.sh"
: "${TL_BIN:?}" "${TL_TLD:?}" "${TL_AGENT:?}" "${TL_VECTORS:?}" "${TL_FIXTURES:?}"
for t in swtpm tpm2_pcrextend; do
    command -v "$t" >/dev/null 2>&1 || skip_all "$t not installed (apt-get install swtpm tpm2-tools)"
done
for t in jq curl kubectl; do command -v "$t" >/dev/null 2>&1 || bail "$t missing (make deps)"; done
LOG=$TL_VECTORS/eventlog/ovmf-debian12/secureboot-on.eventlog.bin
[ -r "$LOG" ] || bail "$LOG missing"

W=$(mktemp -d /tmp/tl-kube.XXXXXX) || bail mktemp
export TL_HOME=$W/home TL_TLD TSS2_LOG=all+none HOME=$W
unset TL_TOKEN TL_STORE_DIRS KUBECONFIG
# shellcheck source=tests/lib/tldhome.sh
. "$(dirname "$0")/../lib/tldhome.sh"

tl() { "$TL_BIN" "$@" 2>"$W/stderr"; }
# k ARGS...: kubectl with the host view's kubeconfig; stdout and stderr together
k() { kubectl --kubeconfig "$W/host.kc" "$@" 2>&1; }

# ---- the nodes and the cluster --------------------------------------------------------
mkdir -p "$TL_HOME/images" # a cluster's pools need a node image, even with no node
"$TL_BIN" image build -o "$TL_HOME/images/default" --fixtures "$TL_FIXTURES" >"$W/image.log" 2>&1 ||
    bail "tl image build: $(tail -3 "$W/image.log")"
for n in a1 a2; do
    tl node create "$n" --external --json >/dev/null || bail "tl node create $n: $(cat "$W/stderr")"
done
for n in a1 a2; do extnode_tpm "$n" "$LOG"; done
mkdir -p "$W/efivars"
printf '\006\000\000\000\001' >"$W/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"
agent() { # agent NODE EVENTLOG: attest once
    "$TL_AGENT" --config "$TL_HOME/nodes/$1/agent.json" --tcti "swtpm:path=$W/$1/S" --eventlog "$2" \
        --efivars "$W/efivars" --once >"$W/$1.agent.out" 2>"$W/$1.agent.err"
}
agent a1 "$LOG"
printf 'not an event log' >"$W/bad.eventlog"
agent a2 "$W/bad.eventlog"
is "a1 attested pass, a2 fail" \
    "$(grep -c 'TL: agent attested verdict=pass' "$W/a1.agent.out") $(grep -c 'TL: agent attested verdict=fail' "$W/a2.agent.out")" \
    "1 1"
read -r URL _ <"$TL_HOME/tld.addr" || bail "no tld.addr"
read -r KURL _ <"$TL_HOME/kube.addr" || bail "no kube.addr"
OP=$(cat "$TL_HOME/operator.token")
COMP=$(curl -s -H "Authorization: Bearer $OP" "$URL/v1/alerts?node=a2" | jq -r '.alerts[0].components[0] | if type == "object" then .component else . end')
if [ -z "$COMP" ] || [ "$COMP" = null ]; then bail "a2's alert names no component"; fi
READER=$(tl token create ro --role reader --json | jq -r .token)
RP=$(tl token create rp --role relying-party --json | jq -r .token)
tl group create --name rg --location eastus >/dev/null || bail "group create: $(cat "$W/stderr")"
tl aks create -g rg --name c1 --node-count 0 --no-ssh-key >/dev/null || bail "aks create: $(cat "$W/stderr")"

# ---- 1. get-credentials ------------------------------------------------------------------
tl aks get-credentials -g rg --name c1 --file "$W/c1.kc" || bail "get-credentials: $(cat "$W/stderr")"
is "the kubeconfig: the Kubernetes API's cluster view, its CA, mode 0600" \
    "$(kubectl --kubeconfig "$W/c1.kc" config view --raw -o jsonpath='{.clusters[0].cluster.server}') $(kubectl --kubeconfig "$W/c1.kc" config view --raw -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' | base64 -d | openssl x509 -noout -subject) $(stat -c %a "$W/c1.kc")" \
    "$KURL/clusters/rg/c1 subject=O = trustlaunch, CN = tld Kubernetes API CA 600"
is "kubectl get nodes with it: the cluster has none" \
    "$(kubectl --kubeconfig "$W/c1.kc" get nodes 2>&1)" "No resources found"
is "kubectl get nodes -o json with it: an empty NodeList" \
    "$(kubectl --kubeconfig "$W/c1.kc" get nodes -o json 2>&1 | jq -c '[.kind, .items]')" '["List",[]]'
CTOKEN=$(kubectl --kubeconfig "$W/c1.kc" config view --raw -o jsonpath='{.users[0].user.token}')

# ---- 2. the host's view ------------------------------------------------------------------
cp "$W/c1.kc" "$W/host.kc"
kubectl --kubeconfig "$W/host.kc" config set-cluster c1 --server "$KURL" >/dev/null
kubectl --kubeconfig "$W/host.kc" config set-credentials clusterUser_rg_c1 --token "$READER" >/dev/null
k get nodes >"$W/get.txt"
is "kubectl get nodes: the server's Table, a1 and a2 Ready" \
    "$(awk '{print $1, $2}' "$W/get.txt" | tr '\n' ' ')$(head -1 "$W/get.txt" | tr -s ' ')" \
    "NAME STATUS a1 Ready a2 Ready NAME STATUS ROLES AGE VERSION"
is "kubectl get nodes -o name" "$(k get nodes -o name | tr '\n' ' ')" "node/a1 node/a2 "
is "-l kubernetes.azure.com/trusted-launch=true: a1 alone" \
    "$(k get nodes -l kubernetes.azure.com/trusted-launch=true -o name | tr '\n' ' ')" "node/a1 "
is "-l 'kubernetes.azure.com/trusted-launch notin (true)': a2" \
    "$(k get nodes -l 'kubernetes.azure.com/trusted-launch notin (true)' -o name | tr '\n' ' ')" "node/a2 "
is "-l '!kubernetes.azure.com/trusted-launch,kubernetes.io/hostname in (a1,a2)': a2" \
    "$(k get nodes -l '!kubernetes.azure.com/trusted-launch,kubernetes.io/hostname in (a1,a2)' -o name | tr '\n' ' ')" "node/a2 "
k get nodes --show-labels >"$W/labels.txt"
is "--show-labels: a1 has trusted-launch=true and security-type=TrustedLaunch, a2 not trusted-launch" \
    "$(grep '^a1 ' "$W/labels.txt" | grep -c 'kubernetes.azure.com/trusted-launch=true') $(grep '^a1 ' "$W/labels.txt" | grep -c 'kubernetes.azure.com/security-type=TrustedLaunch') $(grep '^a2 ' "$W/labels.txt" | grep -c 'trusted-launch')" \
    "1 1 0"
cond() { k get node "$1" -o jsonpath='{.status.conditions[?(@.type=="TrustedLaunchAttested")].'"$2"'}'; }
is "a1's TrustedLaunchAttested: True, AttestationPassed" "$(cond a1 status) $(cond a1 reason)" \
    "True AttestationPassed"
is "a2's TrustedLaunchAttested: False, AttestationFailed, the message naming $COMP" \
    "$(cond a2 status) $(cond a2 reason) $(cond a2 message | grep -c "component $COMP ")" \
    "False AttestationFailed 1"
is "a1's node: Ready True (its agent reported), uid its identity" \
    "$(k get node a1 -o jsonpath='{.status.conditions[?(@.type=="Ready")].status} {.metadata.uid}')" \
    "True $(curl -s -H "Authorization: Bearer $OP" "$URL/v1/nodes/a1" | jq -r .uuid)"
k describe node a1 >"$W/describe.txt"
is "describe node a1: its name, the attested condition, no error" \
    "$(grep -c '^Name: *a1$' "$W/describe.txt") $(grep -c 'TrustedLaunchAttested *True' "$W/describe.txt") $(grep -ci 'error' "$W/describe.txt")" \
    "1 1 0"
is "describe node a1 | grep -e node-image-version -e security-type: an external node has no image" \
    "$(grep -e node-image-version -e security-type "$W/describe.txt" | tr -d ' ')" \
    "kubernetes.azure.com/security-type=TrustedLaunch"
is "kubectl get node a3: NotFound" "$(k get node a3)" 'Error from server (NotFound): nodes "a3" not found'

# ---- 3. refusals -----------------------------------------------------------------------
is "a bad token: kubectl says Unauthorized" \
    "$(k get nodes --token "$(printf '%064d' 0)")" "error: You must be logged in to the server (Unauthorized)"
is "the cluster's token outside its cluster: Unauthorized" \
    "$(k get nodes --token "$CTOKEN")" "error: You must be logged in to the server (Unauthorized)"
is "a relying party's token: 403 Forbidden" \
    "$(k get nodes --token "$RP" 2>&1 | sed 's/ (get nodes)$//')" \
    "Error from server (Forbidden): token rp (role relying-party) may not read nodes: a reader's token may"
is "the reader's token in the cluster's view: the cluster's nodes (none)" \
    "$(kubectl --kubeconfig "$W/c1.kc" get nodes --token "$READER" 2>&1)" "No resources found"
kget() { # kget PATH [CURL ARGS]: the status and the Status object's reason and message
    local p=$1
    shift
    curl -s --cacert <(kubectl --kubeconfig "$W/c1.kc" config view --raw -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' | base64 -d) \
        -H "Authorization: Bearer $READER" -o "$W/k.json" -w '%{http_code}' "$@" "$KURL$p"
    echo " $(jq -r '[.kind, .reason, .message] | join(" ")' "$W/k.json")"
}
is "a bad selector: 400 naming labelSelector" \
    "$(kget '/api/v1/nodes?labelSelector=a%20in%20(b' | cut -c1-36)" "400 Status BadRequest labelSelector:"
is "kubectl with a bad selector: the server's 400 naming labelSelector" \
    "$(k get nodes -l 'a in (b' | grep -c '^Error from server (BadRequest): .*labelSelector: ')" 1
is "a field selector on another field: 400 naming fieldSelector" \
    "$(kget '/api/v1/nodes?fieldSelector=spec.unschedulable%3Dtrue' | cut -c1-36)" "400 Status BadRequest fieldSelector:"
is "a resource not served: kubectl's clean error" \
    "$(k get services)" 'error: the server doesn'"'"'t have a resource type "services"'
is "a path not served: 404 Status" "$(kget /apis/apps/v1)" \
    "404 Status NotFound the server could not find the requested resource"
is "DELETE a node: 405 Status" "$(kget /api/v1/nodes/a1 -X DELETE)" \
    "405 Status MethodNotAllowed this Kubernetes API is read-only: GET, list and watch"
is "without TLS: no answer" "$(curl -s -o /dev/null -w '%{http_code}' "${KURL/https/http}/api")" "000"

# ---- 4. watch ----------------------------------------------------------------------------
kget '/api/v1/nodes?watch=true&timeoutSeconds=2' >/dev/null
is "a watch: the two nodes ADDED, then the stream ends at timeoutSeconds" \
    "$(jq -r '"\(.type) \(.object.metadata.name)"' "$W/k.json" | tr '\n' ' ')" "ADDED a1 ADDED a2 "
is "kubectl get nodes --watch: the list, then the watch until the request timeout" \
    "$(k get nodes --watch --request-timeout=3s -o name | sort -u | tr '\n' ' ')" "node/a1 node/a2 "
kget '/api/v1/nodes?watch=true&timeoutSeconds=5&resourceVersion=1' >/dev/null &
wpid=$!
sleep 1.5
tl node create a3 --external --json >/dev/null || bail "tl node create a3: $(cat "$W/stderr")"
sleep 1.5
tl node delete a3 >/dev/null || bail "tl node delete a3: $(cat "$W/stderr")"
wait "$wpid"
is "a watch from a resourceVersion: only what changed, a3 ADDED then DELETED" \
    "$(jq -r '"\(.type) \(.object.metadata.name)"' "$W/k.json" | tr '\n' ' ')" "ADDED a3 DELETED a3 "
kget '/api/v1/nodes?watch=true&timeoutSeconds=2&labelSelector=kubernetes.azure.com/trusted-launch%3Dtrue' >/dev/null
is "a watch with a selector: a1 alone" \
    "$(jq -r '"\(.type) \(.object.metadata.name)"' "$W/k.json" | tr '\n' ' ')" "ADDED a1 "

finish
