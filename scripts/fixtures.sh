#!/usr/bin/env bash
# fixtures.sh - fetch Debian 12's real signed boot binaries into a cache dir.
#
# Usage: scripts/fixtures.sh [CACHE_DIR]      (default: <repo>/fixtures)
#
# The packages are fetched with `apt-get download` and unpacked with
# `dpkg-deb -x`; nothing is installed into the system.  Versions are pinned so
# that the binaries are exactly the ones measured in
# vectors/eventlog/ovmf-debian12/secureboot-on.eventlog.bin
# (EV_EFI_BOOT_SERVICES_APPLICATION, SHA-256 Authenticode digests below).
#
# Output: one line per fixture on stdout, the path of its stable symlink:
#   CACHE_DIR/shimx64.efi.signed
#   CACHE_DIR/grubx64.efi.signed
#   CACHE_DIR/vmlinuz
#
# Idempotent: if CACHE_DIR/.complete holds the same package list, nothing is
# downloaded; the three paths are printed again and the script exits 0.
#
# Exit status: 0 ok, 1 other error, 2 download failed,
#              3 Authenticode digest mismatch (checked when pesign is present).
set -euo pipefail

# package=version (one per line; this text is also the .complete stamp). The
# cloud kernel is "another kernel build" for tests/e2e/attest_node.sh: an
# image whose kernel is not the one its manifest predicts.
PACKAGES="shim-signed=1.51~1+deb12u1+16.1-2~deb12u1
grub-efi-amd64-signed=1+2.06+13+deb12u2
linux-image-6.1.0-56-amd64=6.1.192-2
linux-image-6.1.0-56-cloud-amd64=6.1.192-2"

# link name | package | path inside the package | expected SHA-256 Authenticode
FILES="shimx64.efi.signed|shim-signed|usr/lib/shim/shimx64.efi.signed|80a66d53a945d2286fcadd780fae1c225aa732079cd67b5225dc78aaab4e2ff8
grubx64.efi.signed|grub-efi-amd64-signed|usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed|a68f6d71ebddaa19751ff8d729f67d11b0df8e4c49400c3e7e90de16119e1265
vmlinuz|linux-image-6.1.0-56-amd64|boot/vmlinuz-6.1.0-56-amd64|6b1bf35c3bee9918250f593a6fff889c75c1e239cd2fe9e5bb0cd3de9dcb8e51
vmlinuz-cloud|linux-image-6.1.0-56-cloud-amd64|boot/vmlinuz-6.1.0-56-cloud-amd64|5f21ff2c0d5d899842b28a8b19901ba72cf7a7ab93c02a77fadc6ff72be85b31"

prog=${0##*/}
die() { # die STATUS MESSAGE
    echo "$prog: $2" >&2
    exit "$1"
}

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=${1:-$repo/fixtures}
mkdir -p "$dir" || die 1 "cannot create $dir"
dir=$(cd "$dir" && pwd)

print_paths() {
    local link rest
    while IFS='|' read -r link rest; do
        echo "$dir/$link"
    done <<<"$FILES"
}

stamp_ok() {
    [ -f "$dir/.complete" ] && [ "$(cat "$dir/.complete")" = "$PACKAGES" ]
}

# Fast path, then again under the lock (concurrent callers wait, then reuse).
if stamp_ok; then print_paths; exit 0; fi
command -v flock >/dev/null && { exec 9>"$dir/.lock"; flock 9; }
if stamp_ok; then print_paths; exit 0; fi

for tool in apt-get dpkg-deb; do
    command -v "$tool" >/dev/null || die 1 "$tool not found"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/trustlaunch-fixtures.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# Let apt's sandbox user write here (avoids the "unsandboxed" warning as root).
if [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1; then
    chown _apt "$tmp" 2>/dev/null || true
fi

mapfile -t pkgs <<<"$PACKAGES"

download() { # download PKG=VERSION into $tmp, log in $tmp/apt.log
    (cd "$tmp" && apt-get download -q=2 "$1") >"$tmp/apt.log" 2>&1 &&
        compgen -G "$tmp/${1%%=*}_*.deb" >/dev/null
}

lists_missing() {
    ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null ||
        grep -qE "Unable to locate package|Version '.*' for '.*' was not found|No packages found|Can't select" \
            "$tmp/apt.log"
}

updated=0
for p in "${pkgs[@]}"; do
    download "$p" && continue
    # Retry once after refreshing the package lists, if they look missing.
    if [ $updated = 0 ] && [ "$(id -u)" = 0 ] && lists_missing; then
        updated=1
        apt-get update -q=2 >"$tmp/update.log" 2>&1 || true
        download "$p" && continue
    fi
    why=$(grep -m1 '^E:' "$tmp/apt.log" || tail -n1 "$tmp/apt.log" || true)
    die 2 "download failed: $p (${why:0:200})"
done

# (Re)build the cache: stamp goes away first, is written last.
rm -f "$dir/.complete"
for p in "${pkgs[@]}"; do
    name=${p%%=*}
    rm -rf "${dir:?}/$name" "$dir/.$name.new"
    mkdir -p "$dir/.$name.new"
    dpkg-deb -x "$tmp/${name}"_*.deb "$dir/.$name.new" ||
        die 1 "cannot extract $p"
    mv "$dir/.$name.new" "$dir/$name"
done

have_pesign=0
command -v pesign >/dev/null && have_pesign=1
[ $have_pesign = 1 ] || echo "$prog: warning: pesign not found, digests not checked" >&2

while IFS='|' read -r link pkg path want; do
    [ -f "$dir/$pkg/$path" ] || die 1 "$pkg did not provide /$path"
    ln -sfn "$pkg/$path" "$dir/$link"
    if [ $have_pesign = 1 ]; then
        got=$(pesign -h -i "$dir/$link" | sed -n 's/^hash: //p')
        [ "$got" = "$want" ] ||
            die 3 "digest mismatch for $link: got ${got:-none}, want $want"
    fi
done <<<"$FILES"

printf '%s\n' "$PACKAGES" >"$dir/.complete.tmp"
mv "$dir/.complete.tmp" "$dir/.complete"
print_paths
