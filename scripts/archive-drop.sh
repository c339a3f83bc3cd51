#!/usr/bin/env bash
# archive-drop.sh - run a command as if Debian's archive had dropped every
# pinned package version: `apt-get download PKG=VERSION` fails the way apt
# fails for a version it no longer has ("E: Version ... was not found", exit
# 100); unpinned downloads (a package's current version) and apt-cache work.
# Shows that the fixtures, the image and the tests need no pinned version
# (the measured binaries then come from ../shared/fixtures/debian12-measured).
#
# Usage: scripts/archive-drop.sh COMMAND [ARG...]
#   e.g. scripts/archive-drop.sh make test FIXTURES=$PWD/fixtures-dropped
# Every refused request is appended to $ARCHIVE_DROP_LOG (default
# /tmp/archive-drop.log), one PKG=VERSION a line.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: ${0##*/} COMMAND [ARG...]" >&2; exit 2; }
real=$(command -v apt-get) || { echo "${0##*/}: apt-get not found" >&2; exit 1; }
bin=$(mktemp -d "${TMPDIR:-/tmp}/archive-drop.XXXXXX")
trap 'rm -rf "$bin"' EXIT
export ARCHIVE_DROP_LOG=${ARCHIVE_DROP_LOG:-/tmp/archive-drop.log}
cat >"$bin/apt-get" <<WRAP
#!/bin/sh
# apt-get without any pinned version (scripts/archive-drop.sh)
for a in "\$@"; do
	case \$a in
	-*) ;;
	*=*)
		echo "\$a" >>"\$ARCHIVE_DROP_LOG"
		echo "E: Version '\${a#*=}' for '\${a%%=*}' was not found" >&2
		exit 100
		;;
	esac
done
exec "$real" "\$@"
WRAP
chmod +x "$bin/apt-get"
PATH=$bin:$PATH "$@"
