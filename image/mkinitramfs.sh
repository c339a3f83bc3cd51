#!/usr/bin/env bash
# mkinitramfs.sh - the node initramfs, reproducibly, without root.
#
# Usage: image/mkinitramfs.sh OUT.img --busybox BUSYBOX --moddir DIR
#            [--modules-list FILE] [--agent FILE|none] [--agent-lib FILE]...
#            [--tool FILE]... [--epoch SECONDS] [--contents OUT.json]
#
#   --busybox   a static busybox (Debian's busybox-static: /bin/busybox)
#   --moddir    the kernel's /lib/modules/VERSION folder (signed .ko files)
#   --modules-list  module names, one a line, # comments (default: image/modules.list)
#   --agent     the node agent, installed as /bin/tl-agent with its libraries
#               (ldd); "none" (the default) leaves it out
#   --agent-lib extra shared objects the agent dlopen()s (e.g. tpm2-tss TCTIs),
#               copied with their own libraries; repeatable. An agent linked
#               with libtss2-tctildr gets the device TCTI
#               (libtss2-tcti-device.so.0, beside libtss2-tctildr) without
#               asking: tctildr dlopen()s it for "device:/dev/tpmrm0".
#               An agent built with AddressSanitizer is refused.
#   --tool      a program the guest runs (cryptsetup: the encrypted data
#               disk), installed as /sbin/NAME with its libraries (ldd);
#               repeatable
#   --epoch     mtime of every entry (default $SOURCE_DATE_EPOCH, else 1704067200)
#   --contents  write a JSON description (files, modules, agent) for the manifest
#
# Reproducible: every entry has the same mtime, uid/gid 0, normalised modes;
# entries are sorted (LC_ALL=C); GNU cpio --reproducible numbers inodes from
# the archive, not the disk; gzip -n stores no name or time. /dev/console is
# written as a newc entry by hand (a device node needs no mknod, so no root).
set -euo pipefail

prog=${0##*/}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
die() {
	echo "$prog: $*" >&2
	exit 1
}
usage() {
	sed -n '3,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

[ $# -ge 1 ] || usage
out=$1
shift
busybox='' moddir='' modlist=$here/modules.list agent=none contents=''
epoch=${SOURCE_DATE_EPOCH:-1704067200}
agent_libs=()
tools=()
while [ $# -gt 0 ]; do
	case $1 in
	--busybox) busybox=$2 ;;
	--moddir) moddir=$2 ;;
	--modules-list) modlist=$2 ;;
	--agent) agent=$2 ;;
	--agent-lib) agent_libs+=("$2") ;;
	--tool) tools+=("$2") ;;
	--epoch) epoch=$2 ;;
	--contents) contents=$2 ;;
	*) usage ;;
	esac
	shift 2 || usage
done
if [ -z "$busybox" ] || [ -z "$moddir" ]; then usage; fi
[ -x "$busybox" ] || die "$busybox: not an executable"
[ -d "$moddir/kernel" ] || die "$moddir: no kernel/ folder (want lib/modules/VERSION)"
[ -r "$modlist" ] || die "$modlist: cannot read"
case $epoch in '' | *[!0-9]*) die "--epoch: not a number: $epoch" ;; esac
for t in cpio gzip sha256sum; do
	command -v "$t" >/dev/null || die "$t not found (apt-get install cpio gzip coreutils)"
done
if LC_ALL=C ldd "$busybox" 2>&1 | grep -qvE 'not a dynamic executable|statically linked'; then
	die "$busybox is dynamically linked: use busybox-static's /bin/busybox"
fi
kver=${moddir%/}
kver=${kver##*/}

work=$(mktemp -d "${TMPDIR:-/tmp}/tl-initramfs.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,run,tmp,etc,lib/modules/"$kver"}

install -m 0755 "$busybox" "$root/bin/busybox"
install -m 0755 "$here/init" "$root/init"
install -m 0755 "$here/udhcpc.script" "$root/etc/udhcpc.script"

# ---- modules: names -> files -> dependency closure, dependencies first ------
declare -A modpath=() # name -> path relative to moddir
while IFS= read -r -d '' f; do
	n=${f##*/}
	n=${n%.ko}
	modpath[${n//-/_}]=${f#"$moddir"/}
done < <(find "$moddir/kernel" -name '*.ko' -print0)

modinfo_field() { # modinfo_field FILE FIELD: a .modinfo value
	local sec
	if command -v objcopy >/dev/null; then
		sec=$(objcopy -O binary --only-section=.modinfo "$1" /dev/stdout 2>/dev/null | tr '\0' '\n')
	else
		sec=$(tr '\0' '\n' <"$1" | grep -a -E '^[a-z_]+=')
	fi
	sed -n "s/^$2=//p" <<<"$sec" | head -n1
}

# built into this kernel (the cloud kernel has ext4 and virtio-blk so):
# a listed name found there is already present, not missing
declare -A builtin=()
if [ -r "$moddir/modules.builtin" ]; then
	while read -r f; do
		n=${f##*/}
		n=${n%.ko}
		builtin[${n//-/_}]=1
	done <"$moddir/modules.builtin"
fi

declare -A state=() # name -> visiting | done
order=()
declare -A deps_of=()
visit() {
	local name=${1//-/_} d
	case ${state[$name]:-} in
	'done') return 0 ;;
	visiting) die "module dependency cycle at $name" ;;
	esac
	if [ -z "${modpath[$name]:-}" ] && [ -n "${builtin[$name]:-}" ]; then
		state[$name]='done'
		return 0
	fi
	[ -n "${modpath[$name]:-}" ] || die "module $name not found under $moddir/kernel"
	state[$name]=visiting
	local deps
	deps=$(modinfo_field "$moddir/${modpath[$name]}" depends)
	deps_of[$name]=$deps
	for d in ${deps//,/ }; do visit "$d"; done
	state[$name]='done'
	order+=("$name")
}
while read -r line; do
	line=${line%%#*}
	for m in $line; do visit "$m"; done
done <"$modlist"

: >"$root/lib/modules/$kver/load.order"
: >"$work/modules.dep"
for name in "${order[@]}"; do
	rel=${modpath[$name]}
	mkdir -p "$root/lib/modules/$kver/$(dirname "$rel")"
	install -m 0644 "$moddir/$rel" "$root/lib/modules/$kver/$rel"
	echo "$rel" >>"$root/lib/modules/$kver/load.order"
	# modules.dep (for modprobe): "path: dep-paths", dependencies in load order
	line="$rel:"
	for d in ${deps_of[$name]//,/ }; do line="$line ${modpath[${d//-/_}]}"; done
	echo "$line" >>"$work/modules.dep"
done
LC_ALL=C sort "$work/modules.dep" >"$root/lib/modules/$kver/modules.dep"
for f in modules.builtin modules.builtin.modinfo modules.order; do
	[ -r "$moddir/$f" ] && install -m 0644 "$moddir/$f" "$root/lib/modules/$kver/$f"
done

# ---- the agent and its libraries -------------------------------------------
libs=
if [ "$agent" != none ]; then
	[ -r "$agent" ] || die "--agent $agent: cannot read"
	# A sanitizer build (build-asan/) needs its runtime and its options in
	# the guest: never ship one. clang links the runtime statically, so ldd
	# does not show it; its entry point's name is in the binary either way.
	if LC_ALL=C grep -q -a -F __asan_init "$agent"; then
		die "--agent $agent: built with AddressSanitizer; an image takes a normal build's agent (build/src/agent/tl-agent)"
	fi
	# tpm2-tss's tctildr loads the TCTI named in its configuration with
	# dlopen() ("device" -> libtss2-tcti-device.so.0), which ldd cannot see.
	tctildr=$(LC_ALL=C ldd "$agent" 2>/dev/null | awk '$1 ~ /^libtss2-tctildr\.so/ && $2 == "=>" { print $3; exit }')
	if [ -n "$tctildr" ]; then
		tcti=$(dirname "$tctildr")/libtss2-tcti-device.so.0
		[ -r "$tcti" ] || die "$agent uses libtss2-tctildr, but $tcti is missing (apt-get install libtss2-tcti-device0)"
		have=
		for l in "${agent_libs[@]}"; do
			[ "$(readlink -f "$l")" = "$(readlink -f "$tcti")" ] && have=1
		done
		[ -n "$have" ] || agent_libs+=("$tcti")
	fi
	# The host library loads libcurl with dlopen() on first use (src/host/
	# http.c), so ldd does not list it either: the one tl was built
	# against, found as the dynamic linker finds it (awk reads to the end:
	# an early exit kills ldconfig with SIGPIPE, and pipefail the script).
	curl=$(LC_ALL=C "$(command -v ldconfig || echo /sbin/ldconfig)" -p 2>/dev/null | awk '$1 == "libcurl.so.4" && /x86-64/ && !found { print $NF; found = 1 }')
	[ -n "$curl" ] && [ -r "$curl" ] || die "tl-agent loads libcurl.so.4, which ldconfig does not find (apt-get install libcurl4)"
	have=
	for l in "${agent_libs[@]}"; do
		[ "$(readlink -f "$l")" = "$(readlink -f "$curl")" ] && have=1
	done
	[ -n "$have" ] || agent_libs+=("$curl")
	install -m 0755 "$agent" "$root/bin/tl-agent"
	extra=
	for l in "${agent_libs[@]}"; do
		[ -r "$l" ] || die "--agent-lib $l: cannot read"
		extra="$extra$(readlink -f "$l")"$'\n'"$(realpath -s "$l")"$'\n'
		mkdir -p "$root$(dirname "$(readlink -f "$l")")"
		install -m 0755 "$(readlink -f "$l")" "$root$(readlink -f "$l")"
		# also under the name it was given (a soname link's path)
		if [ "$(readlink -f "$l")" != "$(realpath -s "$l")" ]; then
			mkdir -p "$root$(dirname "$(realpath -s "$l")")"
			install -m 0755 "$(readlink -f "$l")" "$root$(realpath -s "$l")"
		fi
	done
	libs=$(bash "$here/copy-elf-deps.sh" "$root" "$agent" "${agent_libs[@]}") ||
		die "copying the agent's libraries failed"
	libs=$(printf '%s\n%s' "$libs" "$extra" | grep -v '^$' | LC_ALL=C sort -u)
fi

# ---- the guest's tools and their libraries -------------------------------------
if [ ${#tools[@]} -gt 0 ]; then
	for t in "${tools[@]}"; do
		[ -x "$t" ] || die "--tool $t: not an executable"
		install -m 0755 "$(readlink -f "$t")" "$root/sbin/${t##*/}"
	done
	tlibs=$(bash "$here/copy-elf-deps.sh" "$root" "${tools[@]}") ||
		die "copying the tools' libraries failed"
	libs=$(printf '%s\n%s' "$libs" "$tlibs" | grep -v '^$' | LC_ALL=C sort -u)
fi

# ---- the archive ------------------------------------------------------------
# Normalise what the host's umask and clock put there.
find "$root" -type d -exec chmod 0755 {} +
find "$root" -type f -perm -u+x -exec chmod 0755 {} +
find "$root" -type f ! -perm -u+x -exec chmod 0644 {} +
find "$root" -exec touch -h -d "@$epoch" {} +

newc_entry() { # newc_entry NAME MODE RDEVMAJOR RDEVMINOR: an empty entry, padded
	local name=$1 namesize=$((${#1} + 1)) hdr
	hdr=$(printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
		0 "$2" 0 0 1 "$epoch" 0 0 0 "$3" "$4" "$namesize" 0)
	printf '%s%s\0' "$hdr" "$name"
	# header (110) + name + NUL, padded to a multiple of 4
	local pad=$(((4 - (110 + namesize) % 4) % 4))
	[ $pad -eq 0 ] || head -c "$pad" /dev/zero
}
(
	cd "$root"
	find . -mindepth 1 | sed 's|^\./||' | LC_ALL=C sort |
		cpio --quiet -o -H newc --reproducible -R 0:0
	# a second archive: the console, which the kernel opens before /init runs
	newc_entry dev/console $((0020000 | 0600)) 5 1
	newc_entry TRAILER!!! 0 0 0
) >"$work/initramfs.cpio"
gzip -n -9 <"$work/initramfs.cpio" >"$out.tmp"
mv "$out.tmp" "$out"

# ---- what is inside, for the manifest ----------------------------------------
if [ -n "$contents" ]; then
	command -v jq >/dev/null || die "jq not found (apt-get install jq)"
	{
		for name in "${order[@]}"; do
			rel=${modpath[$name]}
			printf '%s\t%s\t%s\n' module "$name" "/lib/modules/$kver/$rel"
		done
		printf '%s\t%s\t%s\n' busybox busybox /bin/busybox
		[ "$agent" = none ] || printf '%s\t%s\t%s\n' agent tl-agent /bin/tl-agent
		for t in "${tools[@]}"; do
			printf '%s\t%s\t%s\n' tool "${t##*/}" "/sbin/${t##*/}"
		done
		while read -r l; do
			[ -n "$l" ] && printf '%s\t%s\t%s\n' library "${l##*/}" "$l"
		done <<<"$libs"
	} | while IFS=$'\t' read -r kind name path; do
		jq -cn --arg k "$kind" --arg n "$name" --arg p "$path" \
			--arg s "$(sha256sum <"$root$path" | cut -d' ' -f1)" \
			--argjson z "$(stat -c %s "$root$path")" \
			'{kind: $k, name: $n, path: $p, sha256: $s, size: $z}'
	done | jq -s --arg k "$kver" --argjson e "$epoch" \
		--arg cs "$(sha256sum <"$work/initramfs.cpio" | cut -d' ' -f1)" \
		'{kernel_release: $k, epoch: $e, cpio_sha256: $cs, compression: "gzip -n -9", files: .}' \
		>"$contents"
fi
