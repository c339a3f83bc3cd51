# Shared by scripts/image-build.sh (Gen2) and scripts/image-build-gen1.sh:
# source it after prog, fixtures, agent, busybox and the bad/die functions
# are set.

# The static busybox of the initramfs (Debian 12).
BUSYBOX_PKG='busybox-static'
BUSYBOX_VERSION=1:1.35.0-4+deb12u1+b1

# image_busybox: sets busybox to the static busybox for the initramfs:
# --busybox's, else the one in FIXTURES/busybox-static (fetched with
# apt-get download on first use, pinned to BUSYBOX_VERSION when apt still
# has it).
image_busybox() {
	if [ -z "$busybox" ]; then
		busybox=$fixtures/$BUSYBOX_PKG/bin/busybox
		# concurrent first builds: one downloads, the others wait and reuse it
		if [ ! -x "$busybox" ] && command -v flock >/dev/null; then
			exec 8>"$fixtures/.$BUSYBOX_PKG.lock"
			flock 8
		fi
		if [ ! -x "$busybox" ]; then
			if ! command -v apt-get >/dev/null || ! command -v dpkg-deb >/dev/null; then
				bad "no busybox: give --busybox, or install apt-get/dpkg-deb"
			fi
			dl=$(mktemp -d "${TMPDIR:-/tmp}/tl-busybox.XXXXXX")
			if [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1; then chown _apt "$dl" 2>/dev/null || true; fi
			if ! (cd "$dl" && apt-get download -q=2 "$BUSYBOX_PKG=$BUSYBOX_VERSION") >"$dl/apt.log" 2>&1; then
				echo "$prog: warning: $BUSYBOX_PKG=$BUSYBOX_VERSION unavailable, taking apt's candidate" >&2
				(cd "$dl" && apt-get download -q=2 "$BUSYBOX_PKG") >"$dl/apt.log" 2>&1 || {
					cat "$dl/apt.log" >&2
					rm -rf "$dl"
					die "apt-get download $BUSYBOX_PKG failed"
				}
			fi
			rm -rf "$fixtures/.$BUSYBOX_PKG.new"
			dpkg-deb -x "$dl"/"$BUSYBOX_PKG"_*.deb "$fixtures/.$BUSYBOX_PKG.new" || die "dpkg-deb -x failed"
			dpkg-deb -f "$dl"/"$BUSYBOX_PKG"_*.deb Version >"$fixtures/.$BUSYBOX_PKG.new/VERSION"
			rm -rf "${fixtures:?}/$BUSYBOX_PKG" "$dl"
			mv "$fixtures/.$BUSYBOX_PKG.new" "$fixtures/$BUSYBOX_PKG"
		fi
	fi
}

# image_initramfs_inputs: checks what the initramfs is made of and sets
# moddir (the kernel's modules: FIXTURES/modules, scripts/fixtures.sh's link
# to the lib/modules/VERSION of FIXTURES/vmlinuz; else the first
# linux-image-*/lib/modules/VERSION), busybox and busybox_version, and
# cryptsetup (this host's: the guest opens its encrypted data disk with it).
image_initramfs_inputs() {
	if [ -d "$fixtures/modules" ]; then
		moddir=$(cd "$fixtures/modules" && pwd -P) # VERSION is the folder's name
	else
		moddir=$(find "$fixtures"/linux-image-*/lib/modules -mindepth 1 -maxdepth 1 -type d 2>/dev/null | LC_ALL=C sort | head -n1)
	fi
	[ -n "$moddir" ] || bad "no lib/modules/VERSION under $fixtures/linux-image-*"
	if [ "$agent" != none ]; then
		[ -r "$agent" ] || bad "--agent $agent: cannot read"
		# mkinitramfs.sh refuses it too; here it is a usage error, said once
		if LC_ALL=C grep -q -a -F __asan_init "$agent"; then
			bad "--agent $agent: built with AddressSanitizer; an image takes a normal build's agent (build/src/agent/tl-agent)"
		fi
	fi
	image_busybox
	[ -x "$busybox" ] || bad "$busybox: not an executable"
	cryptsetup=$(PATH=$PATH:/usr/sbin:/sbin command -v cryptsetup) ||
		bad "cryptsetup not found (apt-get install cryptsetup-bin, or make deps): a node opens its encrypted data disk with it"
	busybox_version=$(cat "$(dirname "$busybox")/../VERSION" 2>/dev/null || true)
}
