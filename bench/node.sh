#!/usr/bin/env bash
# Nodes under tld: what it costs to bring one up on this host.
#
#   bash bench/node.sh BUILD_DIR FIXTURES_DIR [N]     (N boots, default 3 or $BENCH_N)
#
# Prints:
#  - vtpm_provision: `tl vtpm provision` as tld runs it for every node (both
#    EKs and EK certificates; goal median <= 1 s), N=10;
#  - create_to_report: wall time of `tl node create NAME` (which returns when
#    the node's agent reported in) for a Secure Boot + vTPM node under TCG
#    (goal median <= 30 s), split by the first host time each console marker
#    appeared: firmware (until OVMF starts shim: "BdsDxe: starting"), shim +
#    grub (until grub's config runs: "TL: grub"), kernel (until the
#    initramfs: "TL: init"), initramfs + agent (until "TL: agent reported"),
#    and what is left: tld and tl (provisioning, overlay, process start,
#    polling);
#  - swtpm_idle_rss: the RSS of a running node's swtpm (goal <= 10 MiB).
# Boots run one at a time on a quiet tld of their own (a fresh TL_HOME).
set -u
BUILD=${1:?usage: bench/node.sh BUILD_DIR FIXTURES_DIR [N]}
FIX=${2:?usage: bench/node.sh BUILD_DIR FIXTURES_DIR [N]}
N=${3:-${BENCH_N:-3}}
TL=$(realpath "$BUILD/src/tl/tl")
export TL_TLD
TL_TLD=$(realpath "$BUILD/src/tld/tld")
[ -x "$TL" ] && [ -x "$TL_TLD" ] || { echo "bench/node.sh: build first" >&2; exit 2; }
W=$(mktemp -d /tmp/tl-bench-node.XXXXXX)
export TL_HOME=$W/home
cleanup() {
	for n in $("$TL" node list --json 2>/dev/null | jq -r '.nodes[].name'); do
		"$TL" node delete "$n" >/dev/null 2>&1
	done
	[ -r "$TL_HOME/tld.addr" ] && kill "$(awk '{print $2}' "$TL_HOME/tld.addr")" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
now() { date +%s.%N; }
stats() {
	sort -n | awk -v name="$1" -v unit="$2" '{ a[NR] = $1 } END {
		m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
		printf "%s n=%d median_%s=%.2f min_%s=%.2f max_%s=%.2f\n", name, NR, unit, m, unit, a[1], unit, a[NR] }'
}
echo "# $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $(qemu-system-x86_64 --version | head -1), accel ${TL_ACCEL:-tcg}"

# ---- vTPM provisioning, as tld does it ----
for i in $(seq 10); do
	t0=$(now)
	"$TL" vtpm provision --state "$W/v$i" --ca "$W/ca" --key-file "$W/v$i.key" --name "n$i" --json >/dev/null ||
		{ echo "bench/node.sh: provision failed" >&2; exit 1; }
	awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f\n", (b - a) * 1000 }'
done | stats vtpm_provision ms

# ---- create -> report-in ----
mkdir -p "$TL_HOME/images"
"$TL" image build -o "$TL_HOME/images/default" --fixtures "$FIX" >/dev/null 2>&1 ||
	{ echo "bench/node.sh: tl image build failed" >&2; exit 1; }
"$TL" node list >/dev/null # starts tld outside the timed part
: >"$W/splits"
for i in $(seq "$N"); do
	con=$TL_HOME/nodes/b$i/console.log
	t0=$(now)
	"$TL" node create "b$i" --json >"$W/b$i.json" 2>"$W/b$i.err" &
	cp=$!
	declare -A seen=()
	markers=("BdsDxe: starting" "TL: grub" "TL: init" "TL: agent reported")
	while kill -0 "$cp" 2>/dev/null; do
		if [ -r "$con" ]; then
			for m in "${markers[@]}"; do
				[ -z "${seen[$m]:-}" ] && grep -qF "$m" "$con" 2>/dev/null && seen[$m]=$(now)
			done
		fi
		sleep 0.05
	done
	wait "$cp" || { echo "bench/node.sh: node b$i did not report in: $(cat "$W/b$i.err")" >&2; exit 1; }
	t1=$(now)
	[ "$(jq -r .state "$W/b$i.json")" = running ] || { echo "bench/node.sh: b$i not running" >&2; exit 1; }
	echo "$t0 ${seen["BdsDxe: starting"]:-0} ${seen["TL: grub"]:-0} ${seen["TL: init"]:-0} ${seen["TL: agent reported"]:-0} $t1" >>"$W/splits"
	if [ "$i" = 1 ]; then
		sw=$(jq -r .pids.swtpm "$W/b$i.json")
		sleep 2
		awk '/VmRSS/ { printf "swtpm_idle_rss pid=%s rss_mib=%.1f (goal <= 10)\n", pid, $2 / 1024 }' pid="$sw" "/proc/$sw/status"
	fi
	"$TL" node delete "b$i" >/dev/null
done
awk '{ print $6 - $1 }' "$W/splits" | stats create_to_report s
awk '$2 > 0 { print $2 - $1 }' "$W/splits" | stats "  tld+qemu+firmware (to shim)" s
awk '$3 > 0 && $2 > 0 { print $3 - $2 }' "$W/splits" | stats "  shim+grub" s
awk '$4 > 0 && $3 > 0 { print $4 - $3 }' "$W/splits" | stats "  kernel (grub to initramfs)" s
awk '$5 > 0 && $4 > 0 { print $5 - $4 }' "$W/splits" | stats "  initramfs+agent (to reported)" s
awk '$5 > 0 { print $6 - $5 }' "$W/splits" | stats "  tl noticing (poll)" s
echo "# goal: create_to_report median <= 30 s; vtpm_provision median <= 1000 ms"
