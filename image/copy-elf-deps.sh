#!/usr/bin/env bash
# copy-elf-deps.sh - copy ELF binaries' shared libraries into a root tree.
#
# Usage: image/copy-elf-deps.sh ROOT FILE...
#
# For every FILE (an executable or a shared object), resolves its libraries
# with ldd(1) on this host and copies each one, dereferenced (the real file's
# content, no symlinks), to the same absolute path under ROOT: the program
# interpreter (/lib64/ld-linux-x86-64.so.2) and every "NAME => /path" line.
# Those are the paths the dynamic loader itself resolves, so the tree works
# without /etc/ld.so.cache (the loader falls back to its built-in multiarch
# directories, which is where Debian's ldd finds them).
# Static binaries ("not a dynamic executable") need nothing and are fine.
#
# Prints the copied paths (absolute, as inside ROOT), one per line, sorted.
# Exit status: 0 ok, 1 a library is "not found" or ldd failed, 2 bad usage.
#
# ldd runs the file's own program interpreter: only give it binaries you trust
# (the ones you are about to put in a node image).
set -euo pipefail

prog=${0##*/}
[ $# -ge 2 ] || {
	echo "usage: $prog ROOT FILE..." >&2
	exit 2
}
root=$1
shift
[ -d "$root" ] || {
	echo "$prog: $root: not a directory" >&2
	exit 2
}
command -v ldd >/dev/null || {
	echo "$prog: ldd not found (libc-bin)" >&2
	exit 1
}

declare -A seen=()
for f in "$@"; do
	[ -r "$f" ] || {
		echo "$prog: $f: cannot read" >&2
		exit 2
	}
	out=$(LC_ALL=C ldd "$f" 2>&1) || {
		# ldd exits 1 for static binaries: that is fine.
		if grep -qE 'not a dynamic executable|statically linked' <<<"$out"; then
			continue
		fi
		echo "$prog: $f: ldd failed: ${out:0:200}" >&2
		exit 1
	}
	grep -qE 'statically linked' <<<"$out" && continue
	while read -r a b c _; do
		path=
		case $a in
		*vdso*) continue ;;          # provided by the kernel
		/*) path=$a ;;               # the interpreter: "/lib64/ld-linux-x86-64.so.2 (0x...)"
		esac
		if [ -z "$path" ] && [ "$b" = '=>' ]; then
			case $c in
			/*) path=$c ;;
			not)
				echo "$prog: $f: library $a not found" >&2
				exit 1
				;;
			*) continue ;;
			esac
		fi
		[ -n "$path" ] || continue
		seen[$path]=1
	done <<<"$out"
done

for path in "${!seen[@]}"; do
	mkdir -p "$root$(dirname "$path")"
	cp -L --remove-destination "$path" "$root$path"
	chmod 0755 "$root$path"
done
if [ ${#seen[@]} -gt 0 ]; then
	printf '%s\n' "${!seen[@]}" | LC_ALL=C sort
fi
