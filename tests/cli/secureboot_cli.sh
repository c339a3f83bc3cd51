#!/usr/bin/env bash
# tl secureboot against Debian 12's real signed chain and OVMF's real stores:
# the chain passes with the certificate that allowed each component; a
# changed byte fails the component, not the chain; dbx entries (enrolled or
# through a signed update made with efitools) deny with the entry; the real
# Microsoft dbx updates verify against KEK CA 2011 and apply; prediction
# equals the real boot log; modules verify against the kernel's build key.
# Needs: TL_BIN, TL_VECTORS, TL_FIXTURES; jq, openssl, efitools, sbsigntool,
# pesign, osslsigncode, python3.
set -u
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
: "${TL_BIN:?}" "${TL_VECTORS:?}" "${TL_FIXTURES:?}"
OVMF=${TL_OVMF_DIR:-/usr/share/OVMF}
MS=$OVMF/OVMF_VARS_4M.ms.fd
F=$TL_FIXTURES
# the chain OVMF measured in $LOG; the modules are today's kernel's, with its
# module-cert.pem (scripts/fixtures.sh)
SHIM=$F/measured/shimx64.efi.signed GRUB=$F/measured/grubx64.efi.signed KERNEL=$F/measured/vmlinuz
MODDIR=$F/modules/kernel
LOG=$TL_VECTORS/eventlog/ovmf-debian12/secureboot-on.eventlog.bin
DBX=$TL_VECTORS/secureboot/dbx
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
tl() { "$TL_BIN" "$@" 2>"$W/stderr"; }
for f in "$MS" "$SHIM" "$GRUB" "$KERNEL"; do
    [ -f "$f" ] || bail "missing $f (make fixtures; apt-get install ovmf)"
done

# 1. The Debian chain against the Microsoft store.
tl secureboot verify --vars "$MS" "$SHIM" "$GRUB" "$KERNEL" --json >"$W/v.json"
rc=$?
check "Debian chain passes against OVMF_VARS_4M.ms.fd (exit 0)" test "$rc" = 0
check "components are shim, grub, kernel in order" \
    test "$(jq -c '[.components[].component]' "$W/v.json")" = '["shim","grub","kernel"]'
check "shim allowed by db: Microsoft Corporation UEFI CA 2011, by the firmware" \
    test "$(jq -r '.components[0] | [.source, .verifier, (.certificate.subject | test("CN=Microsoft Corporation UEFI CA 2011"))] | @tsv' "$W/v.json")" = "$(printf 'db\tfirmware\ttrue')"
for i in 1 2; do
    check "component $i allowed by shim's vendor certificate CN=Debian Secure Boot CA" \
        test "$(jq -r ".components[$i] | [.source, .certificate.subject, .allowed] | @tsv" "$W/v.json")" = "$(printf 'vendor_cert\tCN=Debian Secure Boot CA\ttrue')"
done
# The Authenticode digests agree with pesign.
for i in 0 1 2; do
    f=$(jq -r ".components[$i].file" "$W/v.json")
    want=$(pesign -h -i "$f" 2>/dev/null | sed -n 's/^hash: //p')
    check "$(basename "$f"): sha256 equals pesign -h" test "$(jq -r ".components[$i].sha256" "$W/v.json")" = "$want"
done

# 2. One flipped byte in grub, then in the kernel: that component fails.
python3 - "$GRUB" "$W/grub.bad" "$KERNEL" "$W/kernel.bad" <<'PY'
import sys
for src, dst in ((sys.argv[1], sys.argv[2]), (sys.argv[3], sys.argv[4])):
    b = bytearray(open(src, 'rb').read())
    b[len(b) // 3] ^= 0x01
    open(dst, 'wb').write(b)
PY
tl secureboot verify --vars "$MS" "$SHIM" "$W/grub.bad" "$KERNEL" --json >"$W/v.json"
rc=$?
check "flipped grub: exit 1" test "$rc" = 1
check "flipped grub: grub fails, 'digest does not match its signature'; shim and kernel pass" \
    test "$(jq -r '[.components[] | "\(.component):\(.allowed)"] | join(" ")' "$W/v.json") $(jq -r '.components[1].reason' "$W/v.json" | grep -c 'digest does not match its signature')" = "shim:true grub:false kernel:true 1"
tl secureboot verify --vars "$MS" "$SHIM" "$GRUB" "$W/kernel.bad" --json >"$W/v.json"
check "flipped kernel: the kernel fails, with the digest reason" \
    test "$(jq -r '[.components[] | "\(.component):\(.allowed)"] | join(" ")' "$W/v.json") $(jq -r '.components[2].reason' "$W/v.json" | grep -c 'digest does not match its signature')" = "shim:true grub:true kernel:false 1"

# 3. An unsigned PE: "not signed".
osslsigncode remove-signature -in "$KERNEL" -out "$W/kernel.unsigned" >/dev/null 2>&1
tl secureboot verify --vars "$MS" "$W/kernel.unsigned" --json >"$W/v.json"
rc=$?
check "unsigned kernel alone: exit 1, reason 'not signed'" \
    test "$rc $(jq -r '.components[0].reason' "$W/v.json")" = "1 not signed"

# 4. Own keys: PK/KEK/db enrolled; an image signed with our db key passes
#    there and not against Microsoft's store.
for k in PK KEK db; do
    openssl req -new -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=trustlaunch test $k/" \
        -keyout "$W/$k.key" -out "$W/$k.crt" >/dev/null 2>&1
done
check "vars enroll with our PK/KEK/db" \
    "$TL_BIN" secureboot vars enroll --template "$OVMF/OVMF_VARS_4M.fd" --pk "$W/PK.crt" \
    --kek "$W/KEK.crt" --db "$W/db.crt" -o "$W/ours.fd"
tl secureboot vars show "$W/ours.fd" --json >"$W/show.json"
check "vars show: db holds our certificate" \
    test "$(jq -r '.variables[] | select(.name == "db") | .entries[0].subject' "$W/show.json")" = "CN=trustlaunch test db"
sbsign --key "$W/db.key" --cert "$W/db.crt" --output "$W/kernel.ours" "$W/kernel.unsigned" >/dev/null 2>&1
tl secureboot verify --vars "$W/ours.fd" "$W/kernel.ours" --json >"$W/v.json"
rc=$?
check "our signed kernel passes against our store, allowed by our db certificate" \
    test "$rc $(jq -r '.components[0] | [.source, .certificate.subject] | @tsv' "$W/v.json")" = "0 $(printf 'db\tCN=trustlaunch test db')"
tl secureboot verify --vars "$MS" "$W/kernel.ours" --json >"$W/v.json"
rc=$?
check "our signed kernel fails against the Microsoft store: does not chain" \
    test "$rc $(jq -r '.components[0].reason' "$W/v.json" | grep -c 'does not chain')" = "1 1"

# 5. dbx: grub's hash enrolled, and through a signed update of our KEK.
# (efitools' hash-to-efi-sig-list cannot hash Debian's grub: the list is
# built here from pesign's digest: EFI_CERT_SHA256_GUID, sizes, owner, hash.)
grub_sha=$(pesign -h -i "$GRUB" | sed -n 's/^hash: //p')
python3 - "$grub_sha" "$W/grub.esl" <<'PY'
import struct, sys, uuid
h = bytes.fromhex(sys.argv[1])
t = uuid.UUID('c1c41626-504c-4092-aca9-41f936934328').bytes_le
owner = uuid.UUID('8c5cd5cf-0b6a-4f55-9d3f-7c5f1b0e2f1a').bytes_le
open(sys.argv[2], 'wb').write(t + struct.pack('<III', 28 + 48, 0, 48) + owner + h)
PY
check "vars enroll --microsoft --dbx grub.esl" \
    "$TL_BIN" secureboot vars enroll --template "$OVMF/OVMF_VARS_4M.fd" --microsoft --dbx "$W/grub.esl" -o "$W/ms-dbx.fd"
tl secureboot verify --vars "$W/ms-dbx.fd" "$SHIM" "$GRUB" "$KERNEL" --json >"$W/v.json"
check "grub's hash in an enrolled dbx: grub forbidden by dbx, naming the entry" \
    test "$(jq -r '.components[1] | [.allowed, .source, .hash.value, (.reason | startswith("forbidden by dbx: sha256 entry"))] | @tsv' "$W/v.json")" = "$(printf 'false\tdbx\t%s\ttrue' "$grub_sha")"
sign-efi-sig-list -a -k "$W/KEK.key" -c "$W/KEK.crt" dbx "$W/grub.esl" "$W/grub-dbx.auth" >/dev/null 2>&1
tl secureboot verify --vars "$W/ours.fd" --dbx-update "$W/grub-dbx.auth" "$W/kernel.ours" --json >"$W/v.json"
check "a dbx update signed by our KEK verifies and applies (signer recorded)" \
    test "$(jq -r '.dbx_updates[0].signer' "$W/v.json")" = "CN=trustlaunch test KEK"
check "apply-update with our KEK, then grub's hash is in dbx" \
    "$TL_BIN" secureboot vars apply-update --vars "$W/ours.fd" "$W/grub-dbx.auth" -o "$W/ours-dbx.fd"
tl secureboot vars show "$W/ours-dbx.fd" --json >"$W/show.json"
check "vars show of the updated store: dbx holds grub's sha256" \
    test "$(jq -r '.variables[] | select(.name == "dbx") | .entries[0].hash' "$W/show.json")" = "$grub_sha"
tl secureboot vars apply-update --vars "$MS" "$W/grub-dbx.auth" -o "$W/never.fd"
rc=$?
check "an update signed by our KEK is rejected by the Microsoft store (exit 1, nothing written)" \
    test "$rc $([ -e "$W/never.fd" ] && echo written || echo none) $(grep -c 'does not chain' "$W/stderr")" = "1 none 1"

# 6. The real dbx updates: verify against Microsoft KEK CA 2011, apply.
tl secureboot vars show "$DBX/dbxupdate_x64-2020-10-12.bin" --json >"$W/show.json"
check "BootHole update: 3 certificates and 183 hashes" \
    test "$(jq -r '[.entries[] | .kind] | [(map(select(. == "x509")) | length), (map(select(. == "sha256")) | length)] | @tsv' "$W/show.json")" = "$(printf '3\t183')"
for c in canonical cisco debian; do
    check "BootHole update lists the $c certificate" \
        jq -e --arg fp "$(sha256sum "$TL_VECTORS/secureboot/certs/$c-boothole.crt" | cut -d' ' -f1)" \
        '[.entries[] | select(.kind == "x509") | .sha256] | index($fp) != null' "$W/show.json"
done
check "the five Microsoft updates verify against KEK CA 2011 and apply (dbx x4, db x1)" \
    sh -c "'$TL_BIN' secureboot vars apply-update --vars '$MS' '$DBX'/dbxupdate-2014-08-11.bin '$DBX'/dbxupdate_x64-2020-10-12.bin '$DBX'/dbxupdate_x64-2021-04-29.bin '$DBX'/microsoft-DBXUpdate-amd64.bin -o '$W/ms-upd.fd' --json >'$W/apply.json' && '$TL_BIN' secureboot vars apply-update --vars '$W/ms-upd.fd' --variable db '$DBX'/microsoft-DBUpdate3P2023.bin -o '$W/ms-upd2.fd'"
check "every update was signed by Microsoft's KEK key, anchored at KEK CA 2011" \
    test "$(jq -r '[.updates[] | (.anchor | test("CN=Microsoft Corporation KEK CA 2011"))] | all' "$W/apply.json")" = true
tl secureboot vars show "$W/ms-upd2.fd" --json >"$W/show.json"
check "after the db update, db also holds Microsoft UEFI CA 2023" \
    jq -e '[.variables[] | select(.name == "db") | .entries[] | .subject // ""] | map(test("Microsoft UEFI CA 2023")) | any' "$W/show.json"
tl secureboot verify --vars "$W/ms-upd2.fd" "$SHIM" "$GRUB" "$KERNEL" >/dev/null
check "the Debian chain still passes with today's dbx applied" test $? = 0

# 7. Prediction equals the real boot log (PCR 7 all banks, PCR 4 digests).
tl secureboot predict --vars "$MS" "$SHIM" "$GRUB" "$KERNEL" --json >"$W/p.json"
"$TL_BIN" eventlog replay "$LOG" --json >"$W/r.json"
for b in sha1 sha256 sha384 sha512; do
    check "predicted PCR 7 ($b) equals the real boot's" \
        test "$(jq -r ".pcr7.$b" "$W/p.json")" = "$(jq -r ".banks.$b.\"7\"" "$W/r.json")"
done
"$TL_BIN" eventlog state "$LOG" --json >"$W/s.json"
check "predicted PCR 4 application digests equal the boot log's" \
    test "$(jq -c '[.applications[].digests.sha256]' "$W/p.json")" = "$(jq -c '[.applications[].digests.sha256]' "$W/s.json")"
tl secureboot predict --vars "$MS" "$SHIM" "$W/grub.bad" "$KERNEL"
rc=$?
check "no prediction for a chain that would not boot (exit 1, names grub)" \
    test "$rc $(grep -c 'grub would not boot' "$W/stderr")" = "1 1"

# 8. Kernel modules against the kernel's build key.
if [ -f "$F/module-cert.pem" ]; then
    cp "$MODDIR/fs/efivarfs/efivarfs.ko" "$W/efivarfs.ko"
    python3 -c "import sys; b=bytearray(open(sys.argv[1],'rb').read()); b[4096]^=1; open(sys.argv[1],'wb').write(b)" "$W/efivarfs.ko"
    tl secureboot verify --vars "$MS" "$SHIM" --modules "$MODDIR/drivers/net/virtio_net.ko" \
        --modules "$W/efivarfs.ko" --module-cert "$F/module-cert.pem" --json >"$W/v.json"
    rc=$?
    check "modules: virtio_net verifies, a modified efivarfs fails (exit 1)" \
        test "$rc $(jq -r '[.modules[] | "\(.module):\(.status)"] | join(" ")' "$W/v.json")" = "1 virtio_net.ko:ok efivarfs.ko:bad-signature"
else
    not_ok "modules: $F/module-cert.pem missing (make fixtures)"
fi

# 9. Bad input: one line, exit 2.
head -c 1000 "$SHIM" >"$W/short.efi"
for args in "digest $W/short.efi" "verify --vars $W/short.efi $SHIM" "vars show $W/short.efi" \
    "verify $SHIM" "vars enroll --template $MS -o $W/x.fd" "bogus"; do
    # shellcheck disable=SC2086
    "$TL_BIN" secureboot $args >/dev/null 2>"$W/stderr"
    rc=$?
    check "bad input ($args): exit 2, one stderr line" \
        test "$rc $(wc -l <"$W/stderr") $(grep -c '^tl: ' "$W/stderr")" = "2 1 1"
done

finish
