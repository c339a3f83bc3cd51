#!/usr/bin/env bash
# fixtures.sh - Debian 12's real signed boot binaries, in a cache dir.
#
# Usage: scripts/fixtures.sh [CACHE_DIR]      (default: <repo>/fixtures)
#
# Two kinds of fixture, for two kinds of test:
#
# 1. The measured binaries: exactly the shim, grub and kernel that OVMF
#    measured in vectors/eventlog/ovmf-debian12/secureboot-on.eventlog.bin
#    (SHA-256 Authenticode digests below). Tests that compare with that
#    recorded boot read these. They are copied from the project's shared
#    folder, ../shared/fixtures/debian12-measured (or $TL_MEASURED_DIR), when
#    it is there; else fetched with `apt-get download` at their pinned
#    versions (which Debian's archive serves only for a while: the kernel
#    lives only in bookworm-security). Either way the digests are checked.
#      CACHE_DIR/measured/{shimx64.efi.signed,grubx64.efi.signed,vmlinuz}
#
# 2. The kernels Debian serves today: whatever linux-image-amd64 and
#    linux-image-cloud-amd64 depend on now (`apt-cache depends`), fetched
#    with `apt-get download`, unpacked with their signed modules. The node
#    image boots these; tests compute what to expect from the files, so a
#    new kernel in the archive changes nothing for them. The cloud kernel is
#    "another kernel build" for tests/e2e/attest_node.sh.
#      CACHE_DIR/vmlinuz, CACHE_DIR/modules (-> lib/modules/VERSION),
#      CACHE_DIR/kernel-version (VERSION, e.g. 6.1.0-57-amd64),
#      CACHE_DIR/vmlinuz-cloud, CACHE_DIR/modules-cloud,
#      CACHE_DIR/module-cert.pem: the kernel's module-signing certificate
#        (scripts/module-cert.sh), and CACHE_DIR/module-cert.expect: what
#        openssl and coreutils say of it and of modules/.../efivarfs.ko (the
#        unit tests' expected values for this kernel build).
#
# The image's shim and grub are the measured ones:
#   CACHE_DIR/shimx64.efi.signed -> measured/shimx64.efi.signed
#   CACHE_DIR/grubx64.efi.signed -> measured/grubx64.efi.signed
#
# Nothing is installed into the system. Idempotent: when CACHE_DIR/.complete
# holds this script's recipe, nothing is fetched again (the kernels stay the
# ones fetched then; delete CACHE_DIR to take newer ones).
#
# Output: one line per fixture on stdout, the path of its stable link.
# Environment: TL_MEASURED_DIR (default <repo>/../shared/fixtures/debian12-measured),
#   TL_KERNEL_META (linux-image-amd64), TL_KERNEL_CLOUD_META (linux-image-cloud-amd64).
#
# Exit status: 0 ok, 1 other error, 2 download failed,
#              3 Authenticode digest mismatch (checked when pesign is present).
set -euo pipefail

# The measured binaries: name | package=version | path inside the package |
# file name in the shared folder | expected SHA-256 Authenticode digest.
MEASURED="shimx64.efi.signed|shim-signed=1.51~1+deb12u1+16.1-2~deb12u1|usr/lib/shim/shimx64.efi.signed|shimx64.efi.signed|80a66d53a945d2286fcadd780fae1c225aa732079cd67b5225dc78aaab4e2ff8
grubx64.efi.signed|grub-efi-amd64-signed=1+2.06+13+deb12u2|usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed|grubx64.efi.signed|a68f6d71ebddaa19751ff8d729f67d11b0df8e4c49400c3e7e90de16119e1265
vmlinuz|linux-image-6.1.0-56-amd64=6.1.192-2|boot/vmlinuz-6.1.0-56-amd64|vmlinuz-6.1.0-56-amd64|6b1bf35c3bee9918250f593a6fff889c75c1e239cd2fe9e5bb0cd3de9dcb8e51"

# The current kernels: suffix of the links | the metapackage that names them.
KERNEL_META=${TL_KERNEL_META:-linux-image-amd64}
KERNEL_CLOUD_META=${TL_KERNEL_CLOUD_META:-linux-image-cloud-amd64}
KERNELS="|$KERNEL_META
-cloud|$KERNEL_CLOUD_META"

# The stamp: what this script makes (a new recipe rebuilds the cache).
RECIPE="fixtures v2
$MEASURED
$KERNELS"

prog=${0##*/}
die() { # die STATUS MESSAGE
    echo "$prog: $2" >&2
    exit "$1"
}

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=${1:-$repo/fixtures}
measured_src=${TL_MEASURED_DIR:-$repo/../shared/fixtures/debian12-measured}
mkdir -p "$dir" || die 1 "cannot create $dir"
dir=$(cd "$dir" && pwd)

print_paths() {
    local f
    for f in shimx64.efi.signed grubx64.efi.signed vmlinuz modules vmlinuz-cloud modules-cloud \
        module-cert.pem measured/shimx64.efi.signed measured/grubx64.efi.signed measured/vmlinuz; do
        echo "$dir/$f"
    done
}

stamp_ok() {
    [ -f "$dir/.complete" ] && [ "$(cat "$dir/.complete")" = "$RECIPE" ]
}

# Fast path, then again under the lock (concurrent callers wait, then reuse).
if stamp_ok; then print_paths; exit 0; fi
command -v flock >/dev/null && { exec 9>"$dir/.lock"; flock 9; }
if stamp_ok; then print_paths; exit 0; fi

for tool in apt-get apt-cache dpkg-deb; do
    command -v "$tool" >/dev/null || die 1 "$tool not found"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/trustlaunch-fixtures.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# Let apt's sandbox user write here (avoids the "unsandboxed" warning as root).
if [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1; then
    chown _apt "$tmp" 2>/dev/null || true
fi

download() { # download PKG[=VERSION] into $tmp, log in $tmp/apt.log
    (cd "$tmp" && apt-get download -q=2 "$1") >"$tmp/apt.log" 2>&1 &&
        compgen -G "$tmp/${1%%=*}_*.deb" >/dev/null
}

lists_missing() {
    ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null ||
        grep -qE "Unable to locate package|Version '.*' for '.*' was not found|No packages found|Can't select" \
            "$tmp/apt.log"
}

updated=0
# fetch PKG[=VERSION]: downloads it, refreshing the package lists once (as
# root) when they look missing; 1 when the archive does not have it.
fetch() {
    download "$1" && return 0
    if [ $updated = 0 ] && [ "$(id -u)" = 0 ] && lists_missing; then
        updated=1
        apt-get update -q=2 >"$tmp/update.log" 2>&1 || true
        download "$1" && return 0
    fi
    return 1
}
apt_why() { grep -m1 '^E:' "$tmp/apt.log" || tail -n1 "$tmp/apt.log" || true; }

# current_kernel META: the linux-image-VERSION package META depends on today.
current_kernel() {
    local pkg
    pkg=$(apt-cache depends -q=2 "$1" 2>/dev/null | sed -n 's/^ *|\{0,1\}Depends: \(linux-image-[^ <>]*\)$/\1/p' | head -n1)
    if [ -z "$pkg" ] && [ $updated = 0 ] && [ "$(id -u)" = 0 ]; then
        updated=1
        apt-get update -q=2 >"$tmp/update.log" 2>&1 || true
        pkg=$(apt-cache depends -q=2 "$1" 2>/dev/null | sed -n 's/^ *|\{0,1\}Depends: \(linux-image-[^ <>]*\)$/\1/p' | head -n1)
    fi
    [ -n "$pkg" ] || die 2 "apt-cache depends $1: no linux-image-* dependency (apt-get update?)"
    echo "$pkg"
}

have_pesign=0
command -v pesign >/dev/null && have_pesign=1
[ $have_pesign = 1 ] || echo "$prog: warning: pesign not found, digests not checked" >&2

# (Re)build the cache: stamp goes away first, is written last.
rm -f "$dir/.complete"
rm -rf "$dir/.measured.new"
mkdir -p "$dir/.measured.new"

# ---- 1. the measured binaries ---------------------------------------------------
while IFS='|' read -r name pv path shared want; do
    out=$dir/.measured.new/$name
    if [ -r "$measured_src/$shared" ]; then
        cp "$measured_src/$shared" "$out"
        from="$measured_src/$shared"
    elif fetch "$pv"; then
        dpkg-deb --fsys-tarfile "$tmp/${pv%%=*}"_*.deb | tar -xO "./$path" >"$out" ||
            die 1 "$pv did not provide /$path"
        rm -f "$tmp/${pv%%=*}"_*.deb
        from="$pv"
    else
        die 2 "$name: not in $measured_src, and the archive no longer serves $pv ($(apt_why | head -c 200))"
    fi
    chmod 0644 "$out"
    if [ $have_pesign = 1 ]; then
        got=$(pesign -h -i "$out" | sed -n 's/^hash: //p')
        [ "$got" = "$want" ] ||
            die 3 "digest mismatch for $name from $from: got ${got:-none}, want $want"
    fi
done <<<"$MEASURED"
rm -rf "$dir/measured"
mv "$dir/.measured.new" "$dir/measured"
# the unpacked shim and grub packages of the first recipe
rm -rf "$dir/shim-signed" "$dir/grub-efi-amd64-signed"
for f in shimx64.efi.signed grubx64.efi.signed; do ln -sfn "measured/$f" "$dir/$f"; done

# ---- 2. the kernels Debian serves today ---------------------------------------
: >"$dir/.kernels.new"
while IFS='|' read -r suffix meta; do
    pkg=$(current_kernel "$meta")
    kver=${pkg#linux-image-}
    fetch "$pkg" || die 2 "download failed: $pkg ($(apt_why | head -c 200))"
    deb=$(compgen -G "$tmp/${pkg}_*.deb" | head -n1)
    version=$(dpkg-deb -f "$deb" Version)
    rm -rf "${dir:?}/$pkg" "$dir/.$pkg.new"
    mkdir -p "$dir/.$pkg.new"
    dpkg-deb -x "$deb" "$dir/.$pkg.new" || die 1 "cannot extract $pkg"
    rm -f "$deb"
    mv "$dir/.$pkg.new" "$dir/$pkg"
    [ -f "$dir/$pkg/boot/vmlinuz-$kver" ] || die 1 "$pkg did not provide /boot/vmlinuz-$kver"
    [ -d "$dir/$pkg/lib/modules/$kver/kernel" ] || die 1 "$pkg did not provide /lib/modules/$kver"
    ln -sfn "$pkg/boot/vmlinuz-$kver" "$dir/vmlinuz$suffix"
    ln -sfn "$pkg/lib/modules/$kver" "$dir/modules$suffix"
    echo "$kver" >"$dir/kernel-version$suffix"
    echo "$pkg=$version" >>"$dir/.kernels.new"
done <<<"$KERNELS"
# the kernels of an earlier recipe or an older archive
for old in "$dir"/linux-image-*; do
    [ -e "$old" ] || continue
    grep -qx "${old##*/}=.*" "$dir/.kernels.new" || rm -rf "$old"
done
mv "$dir/.kernels.new" "$dir/.kernels"

# ---- 3. the kernel's module-signing certificate and its expected values -----
ko=$dir/modules/kernel/fs/efivarfs/efivarfs.ko
bash "$repo/scripts/module-cert.sh" "$dir/vmlinuz" "$dir/module-cert.pem" "$ko" >/dev/null
size=$(stat -c %s "$ko")
siglen=$((16#$(tail -c 32 "$ko" | head -c 4 | od -An -tx1 | tr -d ' \n')))
{
    echo "kernel_version=$(cat "$dir/kernel-version")"
    echo "subject=$(openssl x509 -in "$dir/module-cert.pem" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')"
    echo "serial=$(openssl x509 -in "$dir/module-cert.pem" -noout -serial | sed 's/^serial=//')"
    echo "sha256=$(openssl x509 -in "$dir/module-cert.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f)"
    echo "efivarfs_size=$size"
    echo "efivarfs_sig_len=$siglen"
} >"$dir/module-cert.expect"

printf '%s\n' "$RECIPE" >"$dir/.complete.tmp"
mv "$dir/.complete.tmp" "$dir/.complete"
print_paths
