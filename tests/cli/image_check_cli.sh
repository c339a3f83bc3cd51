#!/usr/bin/env bash
# tl image check: will the node image boot with these firmware keys?
# Builds the image (scripts/image-build.sh, --agent none), then checks it,
# and copies of its disk with one byte of one component changed on the ESP,
# against OVMF's real stores:
#  - Microsoft keys (OVMF_VARS_4M.ms.fd): pass; shim by db (Microsoft UEFI
#    CA 2011), grub and kernel by shim's vendor certificate (Debian); each
#    component's digest is the manifest's, each verdict is what
#    `tl secureboot verify` says of the same files;
#  - grub / shim / kernel changed: fail naming that component (these are the
#    disks whose real boots shim, the firmware and grub refuse:
#    tests/data/console/README.md); grub deleted: fail naming grub;
#  - no keys (OVMF_VARS_4M.fd), a store cleared by `tl secureboot vars
#    clear`, and PK with SecureBootEnable 0: pass, "secure boot off: no
#    check", even for a changed grub;
#  - bad input: exit 2, one line on stderr, nothing on stdout.
# Needs: TL_BIN, TL_FIXTURES; jq, python3, mtools, and what
# scripts/image-build.sh needs.
set -u
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
: "${TL_BIN:?}" "${TL_FIXTURES:?}"
OVMF=${TL_OVMF_DIR:-/usr/share/OVMF}
MS=$OVMF/OVMF_VARS_4M.ms.fd
OFF=$OVMF/OVMF_VARS_4M.fd
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
for f in "$MS" "$OFF"; do
    [ -f "$f" ] || bail "missing $f (apt-get install ovmf)"
done
export MTOOLS_SKIP_CHECK=1

TMPDIR=$W bash "$repo/scripts/image-build.sh" "$W/img" --fixtures "$TL_FIXTURES" --tl "$TL_BIN" \
    --agent none >"$W/build.log" 2>&1 || {
    diag "$(tail -n 20 "$W/build.log")"
    bail "scripts/image-build.sh failed"
}
IMG=$W/img

# variant NAME ESP_PATH: a copy of the disk with one byte flipped in the
# middle of ESP_PATH (mcopy out, flip, mcopy -o back).
variant() {
    cp "$IMG/disk.raw" "$W/$1.raw" &&
        mcopy -n -i "$W/$1.raw@@1M" "::$2" "$W/$1.file" &&
        python3 -c 'import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0xff
open(p, "wb").write(b)' "$W/$1.file" &&
        mcopy -o -n -i "$W/$1.raw@@1M" "$W/$1.file" "::$2"
}
# run NAME ARGS...: $W/NAME.json, $W/NAME.err, $W/NAME.rc
run() {
    local name=$1
    shift
    "$TL_BIN" image check "$@" --json >"$W/$name.json" 2>"$W/$name.err"
    echo $? >"$W/$name.rc"
}
rc() { test "$(cat "$W/$1.rc")" = "$2"; }
jqis() { # jqis NAME FILTER EXPECTED
    test "$(jq -r "$2" "$W/$1.json")" = "$3"
}

# ---- Secure Boot on, Microsoft keys: the image as built passes --------------
run good "$IMG" --vars "$MS"
check "good: exit 0" rc good 0
check "good: verdict pass, secure_boot true, failed null, reason null" \
    jqis good '[.verdict, .secure_boot, .failed, .reason] | map(tostring) | join(" ")' "pass true null null"
check "good: the manifest's PE components in order: shim, grub, kernel, each pass" \
    jqis good '[.components[] | "\(.name)=\(.verdict)"] | join(" ")' "shim=pass grub=pass kernel=pass"
check "good: shim verified by the firmware, by db: Microsoft Corporation UEFI CA 2011" \
    jqis good '.components[0] | "\(.verifier) \(.verified_by | startswith("db: CN=Microsoft Corporation UEFI CA 2011,"))"' \
    "firmware true"
check "good: grub by shim, kernel by shim's protocol, both by shim's vendor_cert (Debian Secure Boot CA)" \
    jqis good '[.components[1:][] | "\(.verifier) \(.verified_by)"] | join("|")' \
    "shim vendor_cert: CN=Debian Secure Boot CA|shim-protocol vendor_cert: CN=Debian Secure Boot CA"
check "good: each component's Authenticode sha256 (read from the ESP) is the manifest's" \
    test "$(jq -c '[.components[].sha256]' "$W/good.json")" = \
    "$(jq -c '[.components[] | select(.kind == "pe") | .digests.sha256]' "$IMG/manifest.json")"
for c in shim:BOOT/BOOTX64.EFI grub:BOOT/grubx64.efi kernel:debian/vmlinuz; do
    mcopy -n -i "$IMG/disk.raw@@1M" "::/EFI/${c#*:}" "$W/${c%%:*}.efi"
done
"$TL_BIN" secureboot verify --vars "$MS" "$W/shim.efi" "$W/grub.efi" "$W/kernel.efi" --json >"$W/verify.json"
check "good: the same verdicts, verifiers and sources as tl secureboot verify on the ESP's files" \
    test "$(jq -c '[.components[] | [.allowed, .verifier, .source]]' "$W/verify.json")" = \
    "$(jq -c '[.components[] | [.verdict == "pass", .verifier, .source]]' "$W/good.json")"
"$TL_BIN" image check "$IMG" --vars "$MS" >"$W/good.txt" 2>&1
check "good (text): exit 0, last line 'verdict: pass'" test "$?:$(tail -n1 "$W/good.txt")" = "0:verdict: pass"

# ---- one byte changed: the component that would be refused is named -------
variant grub /EFI/BOOT/grubx64.efi
run grub "$IMG" --disk "$W/grub.raw" --vars "$MS"
check "grub changed: exit 1" rc grub 1
check "grub changed: verdict fail, failed grub" jqis grub '"\(.verdict) \(.failed)"' "fail grub"
check "grub changed: reason 'grub: the image's sha256 digest does not match its signature'" \
    jqis grub .reason "grub: the image's sha256 digest does not match its signature"
check "grub changed: shim still passes, grub fails by shim" \
    jqis grub '[.components[0:2][] | "\(.name)=\(.verdict)/\(.verifier)"] | join(" ")' "shim=pass/firmware grub=fail/shim"
"$TL_BIN" secureboot verify --vars "$MS" "$W/shim.efi" "$W/grub.file" "$W/kernel.efi" --json >"$W/verify-grub.json"
check "grub changed: grub's reason is tl secureboot verify's" \
    test "$(jq -r '.components[1].reason' "$W/verify-grub.json")" = "$(jq -r '.components[1].reason' "$W/grub.json")"
"$TL_BIN" image check "$IMG" --disk "$W/grub.raw" --vars "$MS" >"$W/grub.txt" 2>&1
check "grub changed (text): exit 1, 'verdict: FAIL: grub: ...'" \
    test "$?:$(tail -n1 "$W/grub.txt")" = "1:verdict: FAIL: grub: the image's sha256 digest does not match its signature"

variant shim /EFI/BOOT/BOOTX64.EFI
run shim "$IMG" --disk "$W/shim.raw" --vars "$MS"
check "shim changed: exit 1, failed shim, refused by the firmware" \
    test "$(cat "$W/shim.rc") $(jq -r '"\(.failed) \(.components[0].verifier) \(.components[0].verdict)"' "$W/shim.json")" = \
    "1 shim firmware fail"
check "shim changed: reason names shim and the digest" \
    jqis shim .reason "shim: the image's sha256 digest does not match its signature"

variant kernel /EFI/debian/vmlinuz
run kernel "$IMG" --disk "$W/kernel.raw" --vars "$MS"
check "kernel changed: exit 1, failed kernel (shim's protocol, as grub's linuxefi asks it)" \
    test "$(cat "$W/kernel.rc") $(jq -r '"\(.failed) \(.components[2].verifier)"' "$W/kernel.json")" = \
    "1 kernel shim-protocol"

cp "$IMG/disk.raw" "$W/nogrub.raw"
mdel -i "$W/nogrub.raw@@1M" ::/EFI/BOOT/grubx64.efi
run nogrub "$IMG" --disk "$W/nogrub.raw" --vars "$MS"
check "grub deleted: exit 1, failed grub (not on the ESP), the kernel unchecked" \
    test "$(cat "$W/nogrub.rc") $(jq -r '"\(.failed) \(.reason | startswith("grub: cannot be read from the ESP")) \(.components[2].verdict)"' "$W/nogrub.json")" = \
    "1 grub true unchecked"

# ---- Secure Boot off: pass, no check ----------------------------------------
run off "$IMG" --vars "$OFF"
check "no keys (OVMF_VARS_4M.fd): exit 0, pass, secure_boot false, 'secure boot off: no check'" \
    test "$(cat "$W/off.rc") $(jq -r '"\(.verdict) \(.secure_boot) \(.secure_boot_off) | \(.reason)"' "$W/off.json")" = \
    "0 pass false no PK enrolled | secure boot off: no check"
check "no keys: every component pass, verified_by null" \
    jqis off '[.components[] | "\(.verdict) \(.verified_by)"] | unique | join(",")' "pass null"
run off-grub "$IMG" --disk "$W/grub.raw" --vars "$OFF"
check "no keys, grub changed: still pass (nothing is verified)" \
    test "$(cat "$W/off-grub.rc") $(jq -r .verdict "$W/off-grub.json")" = "0 pass"
"$TL_BIN" secureboot vars clear --template "$MS" -o "$W/cleared.fd" >/dev/null 2>&1
run cleared "$IMG" --disk "$W/shim.raw" --vars "$W/cleared.fd"
check "a store cleared by 'tl secureboot vars clear': pass, secure boot off" \
    test "$(cat "$W/cleared.rc") $(jq -r '"\(.verdict) \(.secure_boot)"' "$W/cleared.json")" = "0 pass false"

# PK enrolled but OVMF's SecureBootEnable 0 (the Microsoft store with that one
# byte changed): EDK2 sets SecureBoot to 0 and verifies nothing. A real boot
# of the grub-changed disk with this store reached "TL: secure-boot=off",
# "TL: done"; tl secureboot verify agrees (the shared key loading).
python3 -c 'import sys
b = bytearray(open(sys.argv[1], "rb").read())
name = "SecureBootEnable".encode("utf-16-le") + b"\0\0"
i = b.find(name)
assert i > 0 and b.find(name, i + 1) < 0 and b[i + len(name)] == 1
b[i + len(name)] = 0
open(sys.argv[2], "wb").write(b)' "$MS" "$W/sbe0.fd"
run sbe0 "$IMG" --disk "$W/grub.raw" --vars "$W/sbe0.fd"
check "PK enrolled, SecureBootEnable 0, grub changed: pass, secure boot off (SecureBootEnable is 0)" \
    test "$(cat "$W/sbe0.rc") $(jq -r '"\(.verdict) \(.secure_boot) \(.secure_boot_off)"' "$W/sbe0.json")" = \
    "0 pass false SecureBootEnable is 0"
"$TL_BIN" secureboot verify --vars "$W/sbe0.fd" "$W/shim.efi" "$W/grub.file" "$W/kernel.efi" >/dev/null 2>&1
check "... and tl secureboot verify passes the same chain with that store" test $? = 0

# ---- bad input: exit 2, one line --------------------------------------------
mkdir -p "$W/empty" "$W/garbage" "$W/nodisk" "$W/noformat"
echo '{' >"$W/garbage/manifest.json"
cp "$IMG/manifest.json" "$W/nodisk/"
jq 'del(.format)' "$IMG/manifest.json" >"$W/noformat/manifest.json"
head -c 2000000 /dev/zero >"$W/zero.raw"
bad() { # bad DESCRIPTION ARGS...
    local d=$1
    shift
    "$TL_BIN" image check "$@" >"$W/bad.out" 2>"$W/bad.err"
    local st=$?
    if [ "$st" = 2 ] && [ "$(wc -l <"$W/bad.err")" = 1 ] && [ ! -s "$W/bad.out" ] &&
        grep -q '^tl: ' "$W/bad.err"; then
        ok "bad input ($d): exit 2, one line: $(cat "$W/bad.err")"
    else
        not_ok "bad input ($d): exit $st" "$(head -c 400 "$W/bad.err")"
    fi
}
bad "no DIR" --vars "$MS"
bad "no --vars" "$IMG"
bad "missing DIR" "$W/nonexistent" --vars "$MS"
bad "DIR is a file" "$IMG/manifest.json" --vars "$MS"
bad "no manifest" "$W/empty" --vars "$MS"
bad "manifest not JSON" "$W/garbage" --vars "$MS"
bad "manifest without format" "$W/noformat" --vars "$MS"
bad "no disk.raw" "$W/nodisk" --vars "$MS"
bad "disk without a FAT ESP at 1 MiB" "$IMG" --disk "$W/zero.raw" --vars "$MS"
bad "missing vars" "$IMG" --vars "$W/nonexistent.fd"
bad "vars not a store" "$IMG" --vars "$IMG/manifest.json"
bad "two DIRs" "$IMG" "$IMG" --vars "$MS"
bad "unknown option" "$IMG" --vars "$MS" --bogus

finish
