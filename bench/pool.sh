#!/usr/bin/env bash
# Node pools: what `tl aks nodepool add --node-count 3` and a Secure Boot
# update of that pool cost, and how much of it is the emulated VMs.
#
#   bash bench/pool.sh BUILD_DIR FIXTURES_DIR
#
# On a fresh TL_HOME (its own tld): a cluster (1 node, not timed), then
#  - add: `tl aks nodepool add --node-count 3 --enable-vtpm` until it
#    returns (three nodes running and attested);
#  - update: `tl aks nodepool update --enable-secure-boot` until it returns
#    (each node reimaged, booted and attested with Secure Boot, one at a
#    time).
# A poller reads tld's /v1/nodes every 0.1 s and notes, per node and boot,
# when QEMU was running (state booting) and when its attestation passed.
# "emulated" is the time covered by those intervals: the VM's firmware,
# shim, grub, kernel and agent under TCG, including the agent's TPM work
# and its round trips to tld. "platform" is the rest of the command's wall
# time: tl, tld's API and reconciler, vTPM provisioning, overlays, process
# starts, polling. Goal: platform <= 5% of the total. The poller's own
# 0.1 s resolution counts as platform time (it can only overstate it).
set -u
BUILD=${1:?usage: bench/pool.sh BUILD_DIR FIXTURES_DIR}
FIX=${2:?usage: bench/pool.sh BUILD_DIR FIXTURES_DIR}
TL=$(realpath "$BUILD/src/tl/tl")
export TL_TLD
TL_TLD=$(realpath "$BUILD/src/tld/tld")
[ -x "$TL" ] && [ -x "$TL_TLD" ] || { echo "bench/pool.sh: build first" >&2; exit 2; }
W=$(mktemp -d /tmp/tl-bench-pool.XXXXXX)
export TL_HOME=$W/home HOME=$W/user KUBECONFIG=
mkdir -p "$HOME"
poller=
cleanup() {
	[ -n "$poller" ] && kill "$poller" 2>/dev/null
	for n in $("$TL" node list --json 2>/dev/null | jq -r '.nodes[].name'); do
		"$TL" node delete "$n" >/dev/null 2>&1
	done
	[ -r "$TL_HOME/tld.addr" ] && kill "$(awk '{print $2}' "$TL_HOME/tld.addr")" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
now() { date +%s.%N; }
echo "# $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $(qemu-system-x86_64 --version | head -1), accel ${TL_ACCEL:-tcg}"

mkdir -p "$TL_HOME/images"
"$TL" image build -o "$TL_HOME/images/default" --fixtures "$FIX" >/dev/null 2>&1 ||
	{ echo "bench/pool.sh: tl image build failed" >&2; exit 1; }
"$TL" group create --name benchGroup --location local >/dev/null || exit 1
"$TL" aks create --name benchCluster --resource-group benchGroup --node-count 1 --enable-vtpm \
	--generate-ssh-keys >/dev/null 2>"$W/create.err" ||
	{ echo "bench/pool.sh: aks create failed: $(tail -1 "$W/create.err")" >&2; exit 1; }
base=$(awk '{print $1}' "$TL_HOME/tld.addr")

# the poller: "time node boots state verdict" lines
(
	while :; do
		t=$(now)
		curl -s -H "Authorization: Bearer $(cat "$TL_HOME/operator.token")" "$base/v1/nodes" | jq -r --arg t "$t" \
			'.nodes[] | select(.pool.name == "benchpool") | "\($t) \(.name) \(.boots) \(.state) \(.attestation.verdict // "-")"'
		sleep 0.1
	done
) >"$W/poll" 2>/dev/null &
poller=$!

# emulated T0 T1: the union of the [booting, attested] intervals of each
# node boot seen between T0 and T1
emulated() {
	awk -v t0="$1" -v t1="$2" '$1 >= t0 && $1 <= t1 {
		k = $2 " " $3
		if ($4 == "booting" && !(k in s)) s[k] = $1
		if ($5 == "pass" && (k in s) && !(k in e)) e[k] = $1
	} END {
		n = 0
		for (k in s) if (k in e) { n++; a[n] = s[k]; b[n] = e[k] }
		# union of intervals (sort by start)
		for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) {
			x = a[j]; a[j] = a[j-1]; a[j-1] = x; x = b[j]; b[j] = b[j-1]; b[j-1] = x }
		tot = 0; cs = -1; ce = -1
		for (i = 1; i <= n; i++) {
			if (a[i] > ce) { if (ce > cs) tot += ce - cs; cs = a[i]; ce = b[i] }
			else if (b[i] > ce) ce = b[i]
		}
		if (ce > cs) tot += ce - cs
		printf "%.2f %d\n", tot, n
	}' "$W/poll"
}
report() { # NAME T0 T1
	local total em boots
	total=$(awk -v a="$2" -v b="$3" 'BEGIN { printf "%.2f", b - a }')
	read -r em boots <<<"$(emulated "$2" "$3")"
	awk -v n="$1" -v t="$total" -v e="$em" -v k="$boots" 'BEGIN {
		p = t - e; printf "%s total_s=%.2f emulated_s=%.2f platform_s=%.2f platform_pct=%.1f node_boots=%d goal_pct<=5 %s\n",
			n, t, e, p, 100 * p / t, k, (100 * p / t <= 5 ? "MET" : "NOT MET") }'
}

t0=$(now)
"$TL" aks nodepool add --resource-group benchGroup --cluster-name benchCluster --name benchpool \
	--node-count 3 --enable-vtpm >/dev/null 2>"$W/add.err" ||
	{ echo "bench/pool.sh: nodepool add failed: $(tail -1 "$W/add.err")" >&2; exit 1; }
t1=$(now)
sleep 0.3
report "nodepool_add_3" "$t0" "$t1"

t0=$(now)
"$TL" aks nodepool update --resource-group benchGroup --cluster-name benchCluster --name benchpool \
	--enable-secure-boot >/dev/null 2>"$W/update.err" ||
	{ echo "bench/pool.sh: nodepool update failed: $(tail -1 "$W/update.err")" >&2; exit 1; }
t1=$(now)
sleep 0.3
report "nodepool_update_secure_boot_3" "$t0" "$t1"
"$TL" node list --json | jq -r '.nodes[] | select(.pool.name == "benchpool") |
	"# \(.name): secure boot \(.secure_boot), attestation \(.attestation.verdict), boots \(.boots)"'
