#!/usr/bin/env bash
# tl node list -l SELECTOR and --for-pod POD.yaml against a real tld
# (TL_HOME in a temp dir) with two external nodes (no VM: their labels
# are empty until an attestation passes; the matching itself is unit
# tested in test_k8s). Checks: bad selectors and manifests exit 2 with one
# "tl: " line before tld is asked (the docs' unquoted `trusted-launch: true`
# names the line and the fix); good filters keep exactly the nodes their
# (empty) labels admit, in the table and in --json ({"nodes": [...]}).
# Needs TL_BIN, TL_TLD; jq.
set -u
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
: "${TL_BIN:?}" "${TL_TLD:?}"
command -v jq >/dev/null || {
	skip_all "jq missing"
}
PODS=$(cd "$(dirname "$0")/../data/pods" && pwd)
W=$(mktemp -d "${TMPDIR:-/tmp}/tl-nodesel.XXXXXX")
export TL_HOME=$W/home TL_TLD
# shellcheck disable=SC2317
cleanup() {
	[ -r "$TL_HOME/tld.addr" ] && kill "$(awk '{print $2}' "$TL_HOME/tld.addr")" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT

bad() { # bad DESCRIPTION EXPECTED-LINE ARGS...: exit 2, exactly that one line
	local d=$1 want=$2
	shift 2
	"$TL_BIN" node list "$@" >"$W/out" 2>"$W/err"
	local rc=$?
	if [ $rc = 2 ] && [ "$(cat "$W/err")" = "$want" ] && [ ! -s "$W/out" ]; then
		ok "$d"
	else
		not_ok "$d (exit $rc: $(head -c 300 "$W/err"))"
	fi
}

# ---- refusals: no tld needed, none started ----
bad "unquoted true: a YAML boolean, the line and the fix" \
	"tl: $PODS/pod-unquoted.yaml: nodeSelector kubernetes.azure.com/trusted-launch: true is a YAML boolean, not a string; Kubernetes rejects the pod (label values are strings): write \"true\" in quotes (line 9)" \
	--for-pod "$PODS/pod-unquoted.yaml"
printf 'kind: Pod\nspec:\n  nodeSelector:\n    zone: 1\n' >"$W/num.yaml"
bad "a number: refused the same way" \
	"tl: $W/num.yaml: nodeSelector zone: 1 is a YAML number, not a string; Kubernetes rejects the pod (label values are strings): write \"1\" in quotes (line 4)" \
	--for-pod "$W/num.yaml"
printf 'kind: Service\n' >"$W/svc.yaml"
bad "no pod spec" \
	"tl: $W/svc.yaml: no pod spec: no document is a Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job or CronJob" \
	--for-pod "$W/svc.yaml"
printf 'kind: Pod\nspec: {\n' >"$W/broken.yaml"
bad "broken YAML: libyaml's problem and line" \
	"tl: $W/broken.yaml: YAML: while parsing a flow node: did not find expected node content (line 3)" \
	--for-pod "$W/broken.yaml"
bad "a missing file" "tl: $W/none.yaml: cannot open: No such file or directory" --for-pod "$W/none.yaml"
bad "selector: unclosed set" "tl: node list: label selector: character 8: expected ',' or ')'" -l 'a in (b'
bad "selector: two operators" "tl: node list: label selector: character 4: expected ',' or the end" --selector 'a=b=c'
bad "selector: not a label key" \
	"tl: node list: label selector: 'Bad_Prefix/a': not a label key ([prefix/]name, the name at most 63 letters, digits, '-', '_', '.')" \
	-l 'Bad_Prefix/a=b'
bad "selector: empty set" "tl: node list: label selector: character 7: 'in' and 'notin' need at least one value" -l 'a in ()'
bad "-l needs a value" "tl: node list: option -l is unknown or needs a value" -l
"$TL_BIN" node show x -l a=b >/dev/null 2>"$W/err"
check "-l applies to list only" test "$? $(cat "$W/err")" = "2 tl: node show: -l does not apply here (try --help)"
check "the refusals started no tld" test ! -e "$TL_HOME/tld.addr"

# ---- filtering, against tld ----
"$TL_BIN" node create n1 --external --json >/dev/null 2>"$W/err" || bail "create n1: $(cat "$W/err")"
"$TL_BIN" node create n2 --external --json >/dev/null 2>"$W/err" || bail "create n2: $(cat "$W/err")"
names() { "$TL_BIN" node list "$@" --json | jq -r '[.nodes[].name] | sort | join(",")'; }
check "no filter: both nodes" test "$(names)" = "n1,n2"
check "-l '': everything" test "$(names -l '')" = "n1,n2"
check "-l on a label no node has: none" test "$(names -l kubernetes.azure.com/trusted-launch=true)" = ""
check "-l !label: both (unattested nodes have no labels)" \
	test "$(names -l '!kubernetes.azure.com/trusted-launch')" = "n1,n2"
check "-l notin and != admit nodes without the label" test "$(names -l 'a notin (b),c!=d')" = "n1,n2"
check "--for-pod, quoted \"true\": no unattested node admits it" \
	test "$(names --for-pod "$PODS/pod-quoted.yaml")" = ""
printf 'kind: Pod\nspec:\n  containers: []\n' >"$W/any.yaml"
check "--for-pod without constraints: every node" test "$(names --for-pod "$W/any.yaml")" = "n1,n2"
check "--for-pod and -l together: both must hold" \
	test "$(names --for-pod "$W/any.yaml" -l kubernetes.azure.com/trusted-launch)" = ""
"$TL_BIN" node list -l '!kubernetes.azure.com/secure-boot' >"$W/table" 2>"$W/err"
check "table: the header and both nodes" \
	sh -c "[ \$(wc -l <'$W/table') = 3 ] && head -n1 '$W/table' | grep -q '^NAME ' && grep -q '^n1 ' '$W/table' && grep -q '^n2 ' '$W/table'"
"$TL_BIN" node list --for-pod "$PODS/deployment.yaml" >"$W/table" 2>"$W/err"
check "table: nothing when no node is admitted (exit 0; an empty table prints nothing, as az)" \
	sh -c "[ $? = 0 ] && [ ! -s '$W/table' ] && [ ! -s '$W/err' ]"
"$TL_BIN" node list --for-pod "$PODS/multi.yaml" --json >"$W/j" 2>"$W/err"
check "--json: the nodes object, empty when none is admitted" test "$(jq -c . "$W/j")" = '{"nodes":[]}'
finish
