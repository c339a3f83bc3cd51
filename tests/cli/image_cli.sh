#!/usr/bin/env bash
# tl image build: the node image is reproducible (two builds, one digest,
# equal to the file's), its manifest names the boot components with the
# Authenticode digests tl computes, and bad input is one line, exit 2.
# Needs: TL_BIN, TL_FIXTURES; jq, sha256sum (and what scripts/image-build.sh
# needs: sfdisk, mtools, cpio, busybox-static fetched with apt-get download).
set -u
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
: "${TL_BIN:?}" "${TL_FIXTURES:?}"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

"$TL_BIN" image build -o "$W/a" --fixtures "$TL_FIXTURES" --json >"$W/a.json" 2>"$W/a.err"
check "first build succeeds" test $? = 0
SOURCE_DATE_EPOCH=1704067200 "$TL_BIN" image build -o "$W/b" --fixtures "$TL_FIXTURES" --json >"$W/b.json" 2>"$W/b.err"
check "second build succeeds" test $? = 0
check "two builds give the same image digest" \
    test "$(jq -r .sha256 "$W/a.json")" = "$(jq -r .sha256 "$W/b.json")"
check "the reported digest is the disk's" \
    test "$(jq -r .sha256 "$W/a.json")" = "$(sha256sum "$W/a/disk.raw" | cut -d' ' -f1)"
check "the manifests are identical" cmp "$W/a/manifest.json" "$W/b/manifest.json"
check "components: shim, grub, kernel first" \
    test "$(jq -c '[.components[0:3][].name]' "$W/a.json")" = '["shim","grub","kernel"]'
want=$("$TL_BIN" secureboot digest "$TL_FIXTURES/grubx64.efi.signed" --json | jq -r .digests.sha256)
check "grub's manifest digest is its Authenticode digest" \
    test "$(jq -r '.components[] | select(.name == "grub") | .digests.sha256' "$W/a.json")" = "$want"

for args in "image build" "image build -o $W/c --bogus" "image frobnicate" \
    "image build -o $W/d --fixtures $W/nonexistent"; do
    # shellcheck disable=SC2086
    "$TL_BIN" $args >/dev/null 2>"$W/err"
    rc=$?
    check "bad input ($args): exit 2, one line" test "$rc $(wc -l <"$W/err")" = "2 1"
done
check "nothing half-created on failure" test ! -e "$W/d/disk.raw"

finish
