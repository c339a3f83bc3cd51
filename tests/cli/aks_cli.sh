#!/usr/bin/env bash
# The az-compatible verbs (tl group, tl aks, tl aks nodepool, tl feature,
# tl provider, tl extension), in two parts.
# 1. Without tld: --help at every level exits 0; each mistake copied from a
#    web page or a doc (en/em dashes, a pasted "\" continuation, a misspelled
#    option, a missing or doubled argument, a bad enum or count, enable and
#    disable together) gives its exact one-line message (docs/cli.md) and
#    exit 2; `tl extension add --name aks-preview` exits 0; and none of them
#    starts tld (TL_TLD points at a script that would leave a mark).
# 2. Against a stand-in for tld written here (python3; the REST contract of
#    docs/api.md, with provisioning that advances one step per GET): the
#    bodies tl sends (enum values canonical, flags as booleans, the SSH key
#    it generated, checked by ssh-keygen), waiting with one progress line
#    per (node, phase) when stderr is not a terminal, Succeeded -> the
#    resource and exit 0, Failed -> "tl: NAME: error" and exit 1, a refusal
#    -> "tl: <error>" and exit 2, deletes that wait for 404, --no-wait,
#    table and tsv output, and the kubeconfig get-credentials writes (mode
#    0600, merged with another cluster's entries, read back by kubectl when
#    it is installed).
# Needs: TL_BIN; python3, jq (ssh-keygen, kubectl optional).
set -u
: "${TL_BIN:?}"
for t in python3 jq; do
    command -v "$t" >/dev/null || { echo "not ok 1 - $t missing (apt-get install python3 jq)"; exit 1; }
done
W=$(mktemp -d /tmp/tl-aks-test.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    wait 2>/dev/null
    [ -n "${KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "#   $l"; done; }
same() { # same DESCRIPTION GOT WANT
    if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "got:  ${2:0:400}" "want: ${3:0:400}"; fi
}
# tl ARGS...: runs tl with stdin from /dev/null; sets RC, OUT, ERR.
tl() {
    "$TL_BIN" "$@" </dev/null >"$W/out" 2>"$W/err"
    RC=$?
    OUT=$(cat "$W/out")
    ERR=$(cat "$W/err")
}
# mistake DESCRIPTION "EXACT STDERR LINE" ARGS...: exit 2, that one line, no stdout.
mistake() {
    local d=$1 want=$2
    shift 2
    tl "$@"
    if [ "$RC" = 2 ] && [ "$ERR" = "$want" ] && [ -z "$OUT" ]; then
        ok "$d"
    else
        not_ok "$d" "exit $RC" "got:  $ERR" "want: $want"
    fi
}

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
    "tl: aks list: 'yaml' is not a valid value for '--output'. Allowed values: json, jsonc, table, tsv, none." \
    aks list -o yaml
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
    "tl: aks nodepool update: nothing to update: give --enable-secure-boot, --disable-secure-boot, --enable-vtpm, --disable-vtpm or --node-count" \
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
    same "tl extension $v --name aks-preview: exit 0 with a note" "$RC:$OUT:$ERR" \
        "0::tl: extension $v: trustlaunch needs no extension; what 'aks-preview' adds to az is built into tl (nothing to do)"
done
tl extension add --name aks-preview --allow-preview true --upgrade --yes
same "tl extension add takes az's other options" "$RC" 0
if [ -e "$W/tld-started" ] || [ -e "$TL_HOME" ]; then
    not_ok "no parsing failure started tld or made its data directory"
else
    ok "no parsing failure started tld or made its data directory"
fi

# ---- 2. against a stand-in for tld -----------------------------------------
cat >"$W/tld.py" <<'EOF'
# The REST contract of docs/api.md, kept in memory. Each GET of a pool (or
# of its cluster) advances its operation by one (node, phase) step.
import http.server, json, re, sys, urllib.parse
home, log = sys.argv[1], open(sys.argv[2], "a")
groups, clusters, pools, features = {}, {}, {}, {}
providers = {}
def node_names(p):
    return [f"aks-{p['name']}-12345678-vmss{i:06d}" for i in range(p["count"])]
def start(p, action, phases, final):
    names = node_names(p)
    p["_steps"] = [(i, len(names), n, ph) for i, n in enumerate(names) for ph in phases]
    p["_final"] = final
    p["provisioningState"] = {"create": "Creating", "update": "Updating", "scale": "Scaling", "delete": "Deleting"}[action]
    p["_action"] = action
    advance(p)
def advance(p):
    if p.get("_steps"):
        done, total, node, phase = p["_steps"].pop(0)
        p["operation"] = {"action": p["_action"], "done": done, "total": total, "node": node, "phase": phase}
    elif "_final" in p:
        p["operation"] = None
        state, err = p.pop("_final")
        p["provisioningState"] = state
        if err:
            p["error"] = err
def public(d):
    return {k: v for k, v in d.items() if not k.startswith("_")}
def cluster_view(key, step=True):
    c = dict(clusters[key])
    ps = [p for k, p in pools.items() if k[:2] == key]
    for p in ps:
        if step:
            advance(p)
    c["agentPoolProfiles"] = [public(p) for p in ps]
    if c["provisioningState"] == "Creating" and ps and ps[0]["provisioningState"] == "Succeeded":
        clusters[key]["provisioningState"] = c["provisioningState"] = "Succeeded"
    if c["provisioningState"] == "Deleting":
        clusters[key]["_gets"] = clusters[key].get("_gets", 0) + 1
        if clusters[key]["_gets"] > 2:
            del clusters[key]
            for k in [k for k in pools if k[:2] == key]:
                del pools[k]
            return None
    return public(c)
def new_pool(g, c, name, b):
    p = {"id": f"/subscriptions/local/resourceGroups/{g}/providers/Microsoft.ContainerService/managedClusters/{c}/agentPools/{name}",
         "name": name, "resourceGroup": g, "type": "Microsoft.ContainerService/managedClusters/agentPools",
         "count": b.get("count", 3), "vmSize": b.get("vmSize", "Standard_DS2_v2"), "osType": b.get("osType", "Linux"),
         "osSku": b.get("osSku", "Ubuntu"), "mode": b.get("mode", "User"), "orchestratorVersion": "1.30.6",
         "typePropertiesType": "VirtualMachineScaleSets", "osDiskType": "Managed", "enableFips": False, "maxPods": 110,
         "nodeImageVersion": "trustlaunch-gen2", "powerState": {"code": "Running"},
         "securityProfile": {"enableSecureBoot": b.get("enableSecureBoot", False), "enableVtpm": b.get("enableVtpm", False)},
         "nodeLabels": {}, "nodes": []}
    p["nodes"] = node_names(p)
    err = "node aks-broken-12345678-vmss000000: boot failed: Secure Boot verification failed: shimx64.efi" if name == "broken" else None
    start(p, "create", ["creating", "booting", "attesting"], ("Failed" if err else "Succeeded", err))
    return p
class H(http.server.BaseHTTPRequestHandler):
    def answer(self, code, obj):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def fail(self, code, err, kind):
        self.answer(code, {"error": err, "code": kind})
    def handle_any(self, m):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        b = json.loads(raw) if raw else {}
        path = urllib.parse.unquote(self.path)
        log.write(json.dumps({"method": m, "path": path, "body": b}) + "\n"); log.flush()
        s = [x for x in path.split("/") if x]
        if path == "/v1/health":
            return self.answer(200, {"home": home})
        if s[:2] == ["v1", "resourceGroups"] and len(s) == 2:
            return self.answer(200, {"value": list(groups.values())})
        if s[:2] == ["v1", "resourceGroups"] and len(s) == 3:
            g = s[2]
            if m == "PUT":
                groups[g] = {"id": f"/subscriptions/local/resourceGroups/{g}", "name": g, "location": b.get("location"),
                             "type": "Microsoft.Resources/resourceGroups", "properties": {"provisioningState": "Succeeded"}}
                return self.answer(201, groups[g])
            if g not in groups:
                return self.fail(404, f"resource group '{g}' not found", "ResourceGroupNotFound")
            if m == "DELETE":
                del groups[g]
                return self.answer(200, {})
            return self.answer(200, groups[g])
        if path == "/v1/managedClusters":
            return self.answer(200, {"value": [cluster_view(k) for k in list(clusters)]})
        if s[:2] == ["v1", "resourceGroups"] and len(s) >= 4 and s[3] == "managedClusters":
            g = s[2]
            if len(s) == 4:
                return self.answer(200, {"value": [v for v in (cluster_view(k) for k in list(clusters) if k[0] == g) if v]})
            key = (g, s[4])
            if m == "PUT" and len(s) == 5:
                if g not in groups:
                    return self.fail(404, f"resource group '{g}' not found", "ResourceGroupNotFound")
                clusters[key] = {"id": f"/subscriptions/local/resourceGroups/{g}/providers/Microsoft.ContainerService/managedClusters/{s[4]}",
                                 "name": s[4], "resourceGroup": g, "location": b.get("location", groups[g]["location"]),
                                 "type": "Microsoft.ContainerService/ManagedClusters", "kubernetesVersion": "1.30.6",
                                 "currentKubernetesVersion": "1.30.6", "provisioningState": "Creating",
                                 "powerState": {"code": "Running"}, "fqdn": f"{s[4]}.local", "nodeResourceGroup": f"MC_{g}_{s[4]}_local",
                                 "identity": {"type": "SystemAssigned"}, "linuxProfile": None}
                pn = b.get("nodepoolName", "nodepool1")
                pools[(g, s[4], pn)] = new_pool(g, s[4], pn, {"count": b.get("nodeCount", 3), "enableSecureBoot": b.get("enableSecureBoot"), "enableVtpm": b.get("enableVtpm")})
                return self.answer(201, cluster_view(key, False))
            if key not in clusters:
                names = ", ".join(f"{c} ({gg})" for gg, c in clusters)
                return self.fail(404, f"cluster '{s[4]}' not found in resource group '{g}'; clusters: {names}", "ResourceNotFound")
            if len(s) == 5:
                if m == "DELETE":
                    clusters[key]["provisioningState"] = "Deleting"
                    return self.answer(202, public(clusters[key]))
                v = cluster_view(key)
                return self.answer(200, v) if v else self.fail(404, "gone", "ResourceNotFound")
            if s[5] == "credentials":
                return self.answer(200, {"cluster": s[4], "resourceGroup": g, "server": f"http://127.0.0.1:1/v1/resourceGroups/{g}/managedClusters/{s[4]}",
                                         "user": f"clusterUser_{g}_{s[4]}", "token": "tok-" + s[4]})
            if s[5] == "agentPools" and len(s) == 6:
                return self.answer(200, {"value": [public(p) for k, p in pools.items() if k[:2] == key]})
            pk = key + (s[6],)
            if m == "PUT":
                if b.get("osType") == "Windows" and (b.get("enableSecureBoot") or b.get("enableVtpm")):
                    return self.fail(400, "trusted launch is not supported on Windows node pools (--os-type Windows)", "InvalidParameter")
                pools[pk] = new_pool(g, s[4], s[6], b)
                return self.answer(201, public(pools[pk]))
            if pk not in pools:
                return self.fail(404, f"node pool '{s[6]}' not found in cluster '{s[4]}'", "ResourceNotFound")
            p = pools[pk]
            if m == "PATCH":
                if "enableSecureBoot" in b:
                    p["securityProfile"]["enableSecureBoot"] = b["enableSecureBoot"]
                if "enableVtpm" in b:
                    p["securityProfile"]["enableVtpm"] = b["enableVtpm"]
                start(p, "update", ["stopping", "reimaging", "booting", "attesting"], ("Succeeded", None))
                return self.answer(202, public(p))
            if m == "DELETE":
                start(p, "delete", ["deleting"], ("Gone", None))
                return self.answer(202, public(p))
            advance(p)
            if p["provisioningState"] == "Gone":
                del pools[pk]
                return self.fail(404, "gone", "ResourceNotFound")
            return self.answer(200, public(p))
        if s[:2] == ["v1", "providers"]:
            ns = s[2]
            if len(s) >= 5 and s[3] == "features":
                f = features.setdefault(s[4], "NotRegistered")
                if len(s) == 6 and m == "POST":
                    features[s[4]] = "Registering"
                elif f == "Registering":
                    features[s[4]] = "Registered"
                return self.answer(200, {"id": f"/subscriptions/local/providers/Microsoft.Features/providers/{ns}/features/{s[4]}",
                                         "name": f"{ns}/{s[4]}", "properties": {"state": features[s[4]]},
                                         "type": "Microsoft.Features/providers/features"})
            if len(s) == 4 and s[3] == "register":
                providers[ns] = "Registering"
                return self.answer(200, {"namespace": ns, "registrationState": "Registering"})
            st = providers.get(ns, "NotRegistered")
            if st == "Registering":
                providers[ns] = "Registered"
            return self.answer(200, {"namespace": ns, "registrationState": st})
        return self.fail(404, f"no route {m} {path}", "NotFound")
    def do_GET(self): self.handle_any("GET")
    def do_PUT(self): self.handle_any("PUT")
    def do_POST(self): self.handle_any("POST")
    def do_PATCH(self): self.handle_any("PATCH")
    def do_DELETE(self): self.handle_any("DELETE")
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(f"{home}/tld.addr.tmp", "w") as f:
    f.write(f"http://127.0.0.1:{s.server_port}\n")
import os
os.rename(f"{home}/tld.addr.tmp", f"{home}/tld.addr")
s.serve_forever()
EOF
export TL_HOME=$W/home
mkdir -p "$TL_HOME"
python3 "$W/tld.py" "$TL_HOME" "$W/requests" &
pids+=($!)
for _ in $(seq 500); do [ -s "$TL_HOME/tld.addr" ] && break; sleep 0.01; done
last_body() { # last_body METHOD PATH-SUFFIX: the body of the last such request
    jq -c --arg m "$1" --arg p "$2" 'select(.method == $m and (.path | endswith($p))) | .body' "$W/requests" | tail -1
}

tl group create --name myResourceGroup --location eastus
same "group create: the group (json, keys sorted)" "$RC $(jq -c . <<<"$OUT")" \
    '0 {"id":"/subscriptions/local/resourceGroups/myResourceGroup","location":"eastus","name":"myResourceGroup","properties":{"provisioningState":"Succeeded"},"type":"Microsoft.Resources/resourceGroups"}'
same "json output is az's layout (2-space indent, sorted keys)" "$(sed -n '1,3p' "$W/out")" \
    $'{\n  "id": "/subscriptions/local/resourceGroups/myResourceGroup",\n  "location": "eastus",'
tl group list -o table
same "group list -o table" "$OUT" $'Name             Location  Status\n---------------  --------  ---------\nmyResourceGroup  eastus    Succeeded'
tl feature register --namespace "Microsoft.ContainerService" --name "TrustedLaunchPreview"
same "feature register: Registering, and the provider hint" "$RC $(jq -r .properties.state <<<"$OUT") $ERR" \
    "0 Registering Once the feature 'TrustedLaunchPreview' is registered, invoking 'tl provider register -n Microsoft.ContainerService' is required to get the change propagated"
tl feature show --namespace "Microsoft.ContainerService" --name "TrustedLaunchPreview" -o tsv
same "feature show -o tsv" "$RC $OUT" $'0 Microsoft.ContainerService/TrustedLaunchPreview\tRegistered'
tl provider register --namespace Microsoft.ContainerService --wait
same "provider register --wait: nothing printed, exit 0" "$RC:$OUT:$ERR" "0::"
tl provider show -n Microsoft.ContainerService --query x
same "provider show --query: not ours" "$RC $ERR" "2 tl: provider show: unrecognized arguments: --query x"

tl aks create --resource-group myResourceGroup --name myAKSCluster --node-count 2 --enable-secure-boot \
    --enable-vtpm --enable-managed-identity --generate-ssh-keys --os-sku ubuntu
same "aks create: Succeeded after waiting" "$RC $(jq -r '.provisioningState, .agentPoolProfiles[0].provisioningState' <<<"$OUT" | tr '\n' ' ')" \
    "0 Succeeded Succeeded "
body=$(last_body PUT /managedClusters/myAKSCluster)
same "aks create: the body" "$(jq -c 'del(.sshPublicKey)' <<<"$body")" \
    '{"nodeCount":2,"osSku":"Ubuntu","enableSecureBoot":true,"enableVtpm":true,"enableManagedIdentity":true}'
same "aks create: the generated public key was sent" "$(jq -r .sshPublicKey <<<"$body")" "$(cat "$HOME/.ssh/id_rsa.pub" 2>/dev/null)"
same "the private key is 0600, the public key 0644" "$(stat -c %a "$HOME/.ssh/id_rsa" "$HOME/.ssh/id_rsa.pub" 2>&1 | tr '\n' ' ')" "600 644 "
if command -v ssh-keygen >/dev/null; then
    fp_pub=$(ssh-keygen -l -f "$HOME/.ssh/id_rsa.pub" 2>&1 | awk '{print $1, $2}')
    fp_priv=$(ssh-keygen -y -f "$HOME/.ssh/id_rsa" 2>&1 | ssh-keygen -l -f - 2>&1 | awk '{print $1, $2}')
    case $fp_pub in "2048 SHA256:"*) ok "ssh-keygen reads the public key (RSA 2048)" ;; *) not_ok "ssh-keygen reads the public key" "$fp_pub" ;; esac
    same "ssh-keygen derives the same public key from the private one" "$fp_priv" "$fp_pub"
fi
same "aks create: one progress line per (node, phase) on a non-terminal" "$(grep -c '^Creating nodepool1: node ' "$W/err")" 6
same "aks create: progress lines" "$(grep ^Creating "$W/err" | sed -n '1p;6p')" \
    $'Creating nodepool1: node 1 of 2: aks-nodepool1-12345678-vmss000000: creating\nCreating nodepool1: node 2 of 2: aks-nodepool1-12345678-vmss000001: attesting'
tl aks create --resource-group myResourceGroup --name second --no-wait --no-ssh-key -o tsv
same "aks create --no-wait: Creating at once" "$RC $OUT" $'0 second\teastus\tmyResourceGroup\t1.30.6\t1.30.6\tCreating\tsecond.local'
same "aks create --no-ssh-key: no key sent" "$(last_body PUT /managedClusters/second | jq 'has("sshPublicKey")')" false

tl aks list -o table
same "aks list -o table: az's columns" "$(head -1 "$W/out")" "Name          Location  ResourceGroup    KubernetesVersion  CurrentKubernetesVersion  ProvisioningState  Fqdn"
tl aks show -g myResourceGroup -n myCluster
same "aks show of a cluster that is not there: tld's one line, exit 2" "$RC:$OUT:$ERR" \
    "2::tl: cluster 'myCluster' not found in resource group 'myResourceGroup'; clusters: myAKSCluster (myResourceGroup), second (myResourceGroup)"

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
tl aks get-credentials --resource-group myResourceGroup --name myAKSCluster
same "get-credentials: az's message, nothing on stdout" "$RC:$OUT:$ERR" "0::Merged \"myAKSCluster\" as current context in $HOME/.kube/config"
same "get-credentials: mode 0600" "$(stat -c %a "$HOME/.kube/config")" 600
if command -v kubectl >/dev/null; then
    same "kubectl reads the merged file: both contexts, ours current" \
        "$(kubectl config get-contexts -o name --kubeconfig "$HOME/.kube/config" 2>&1 | sort | tr '\n' ' ')$(kubectl config current-context --kubeconfig "$HOME/.kube/config" 2>&1)" \
        "kind-dev myAKSCluster myAKSCluster"
    same "kubectl: our user's token" \
        "$(kubectl config view --raw -o jsonpath='{.users[?(@.name=="clusterUser_myResourceGroup_myAKSCluster")].user.token}' --kubeconfig "$HOME/.kube/config" 2>&1)" "tok-myAKSCluster"
fi
KUBECONFIG=$W/kc/first:$W/kc/second tl aks get-credentials -g myResourceGroup -n second
same "get-credentials: \$KUBECONFIG's first path" "$RC $ERR $(stat -c %a "$W/kc/first" 2>&1)" "0 Merged \"second\" as current context in $W/kc/first 600"
echo "- not: a kubeconfig" >"$W/foreign"
tl aks get-credentials -g myResourceGroup -n second --file "$W/foreign"
same "get-credentials: a foreign file is not clobbered" "$RC:$ERR:$(cat "$W/foreign")" \
    "2:tl: $W/foreign: not a kubeconfig (its top level is not a mapping); not overwritten (use --overwrite-existing, or --file):- not: a kubeconfig"
tl aks get-credentials -g myResourceGroup -n second --file "$W/foreign" --overwrite-existing
same "get-credentials --overwrite-existing replaces it" "$RC $(grep -c 'current-context: second' "$W/foreign")" "0 1"

tl aks nodepool add --resource-group myResourceGroup --cluster-name myAKSCluster --name mynodepool \
    --node-count 3 --enable-secure-boot --enable-vtpm --os-type linux --mode user --aks-custom-headers UseGen1Image=true -o table
same "nodepool add: the body (enums canonical, flags as booleans)" "$(last_body PUT /agentPools/mynodepool)" \
    '{"count":3,"osType":"Linux","mode":"User","enableSecureBoot":true,"enableVtpm":true,"enableFipsImage":false,"skipGpuDriverInstall":false,"useGen1Image":true}'
same "nodepool add -o table: az's columns and ours" "$RC $OUT" \
    "0 Name        OsType  KubernetesVersion  VmSize           Count  MaxPods  ProvisioningState  Mode  SecureBoot  Vtpm
----------  ------  -----------------  ---------------  -----  -------  -----------------  ----  ----------  ----
mynodepool  Linux   1.30.6             Standard_DS2_v2      3      110  Succeeded          User  True        True"
tl aks nodepool add --resource-group myResourceGroup --cluster-name myAKSCluster --name win \
    --os-type Windows --enable-secure-boot --enable-vtpm
same "nodepool add refused by tld: its line, exit 2" "$RC:$OUT:$ERR" \
    "2::tl: trusted launch is not supported on Windows node pools (--os-type Windows)"
tl aks nodepool add -g myResourceGroup --cluster-name myCluster -n p
same "nodepool add to a cluster that is not there" "$RC $ERR" \
    "2 tl: cluster 'myCluster' not found in resource group 'myResourceGroup'; clusters: myAKSCluster (myResourceGroup), second (myResourceGroup)"
tl aks nodepool add -g myResourceGroup --cluster-name myAKSCluster -n broken -c 1 --enable-secure-boot
same "a pool that ends Failed: tl: NAME: its error, exit 1" "$RC:$OUT:$(tail -1 "$W/err")" \
    "1::tl: broken: node aks-broken-12345678-vmss000000: boot failed: Secure Boot verification failed: shimx64.efi"

tl aks nodepool update --cluster-name myAKSCluster --resource-group myResourceGroup --name mynodepool --disable-secure-boot
same "nodepool update: only what changes is sent" "$(last_body PATCH /agentPools/mynodepool)" '{"enableSecureBoot":false}'
same "nodepool update: Succeeded, Secure Boot off" "$RC $(jq -c '[.provisioningState, .securityProfile]' <<<"$OUT")" \
    '0 ["Succeeded",{"enableSecureBoot":false,"enableVtpm":true}]'
same "nodepool update: reimaging progress, one line per (node, phase)" "$(grep -c '^Reimaging mynodepool: node [123] of 3: aks-mynodepool-12345678-vmss00000[012]: ' "$W/err") $(sed -n 6p "$W/err")" \
    "12 Reimaging mynodepool: node 2 of 3: aks-mynodepool-12345678-vmss000001: reimaging"
tl aks nodepool update -g myResourceGroup --cluster-name myAKSCluster -n mynodepool --enable-secure-boot --no-wait -o tsv
same "nodepool update --no-wait: Updating at once" "$RC $(cut -f7,9 <<<"$OUT")" $'0 Updating\tTrue'
tl aks nodepool list -g myResourceGroup --cluster-name myAKSCluster -o tsv
same "nodepool list -o tsv: the table's values" "$RC $(cut -f1 <<<"$OUT" | tr '\n' ' ')" "0 nodepool1 mynodepool broken "
tl aks nodepool show -g myResourceGroup --cluster-name myAKSCluster -n mynodepool -o none
same "-o none prints nothing" "$RC:$OUT" "0:"

tl aks nodepool delete -g myResourceGroup --cluster-name myAKSCluster -n mynodepool
same "nodepool delete: waits until gone, prints nothing" "$RC:$OUT:$(grep -c '^Deleting mynodepool' "$W/err")" "0::3"
same "nodepool delete: the last GET answered 404" "$(jq -r 'select(.path | endswith("/agentPools/mynodepool")) | .method' "$W/requests" | tail -1)" GET
tl aks nodepool show -g myResourceGroup --cluster-name myAKSCluster -n mynodepool
same "the deleted pool is gone" "$RC $ERR" "2 tl: node pool 'mynodepool' not found in cluster 'myAKSCluster'"
tl aks delete -g myResourceGroup -n myAKSCluster --yes
same "aks delete --yes: waits until gone" "$RC:$OUT" "0:"
tl aks list
same "aks list after the delete" "$RC $(jq -r '.[].name' <<<"$OUT" | tr '\n' ' ')" "0 second "

tl group delete -n myResourceGroup -y
same "group delete -y: waits until gone" "$RC:$OUT:$ERR" "0::"
tl group show -n myResourceGroup
same "group show of a deleted group" "$RC $ERR" "2 tl: resource group 'myResourceGroup' not found"

echo "# $n checks, $failed failed"
[ "$failed" = 0 ]
