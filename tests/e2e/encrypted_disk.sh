#!/usr/bin/env bash
# e2e: a node pool's data disks encrypted under a key vault key that is
# released only to attested nodes (issue 15, "Encrypted disks").
#
#  1. A key (oct-HSM 256, exportable) whose release policy asks for a
#     passing attestation with Secure Boot and a vTPM; a cluster whose pool
#     has a 1 GiB data disk under it. The node's init asks its agent for the
#     key (tld checks the TPM key's certification, the attestation and the
#     policy), formats the blank disk LUKS2 and mounts it; a probe (run after)
#     writes a file there. On the host the disk is LUKS2 with one keyslot and
#     a token naming the key version, and the file's contents are not in it.
#  2. The node stops (a power-off) and starts: the disk is opened, the file
#     read back (its SHA-256 on the console).
#  3. The key is rotated: at the next boot the node gets the new version,
#     gets the old one too, adds the new key and removes the old keyslot; the
#     header's token names the new version; the file is still there.
#  4. The pool's rules allow only the image's kernel and require Secure Boot;
#     the pool's image directory gets another kernel build and the pool is
#     updated to Secure Boot off, which reimages the node: its
#     attestation fails, the release is refused (the release log names the
#     clause "attestation"), the disk stays closed (the probe finds no file),
#     and the node's alert names the kernel, Secure Boot and the withheld key.
#
# Environment: TL_BIN, TL_TLD, TL_FIXTURES; TL_E2E_KEEP=1 keeps the work
# folder. Exit 0 pass, 1 fail, 77 skip (no QEMU/swtpm/cryptsetup).
set -u
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
: "${TL_BIN:?}" "${TL_TLD:?}" "${TL_FIXTURES:?}"
for t in qemu-system-x86_64 swtpm cryptsetup; do
	command -v "$t" >/dev/null 2>&1 || skip_all "$t not installed"
done
command -v jq >/dev/null 2>&1 || bail "jq missing (make deps)"
[ -e "$TL_FIXTURES/vmlinuz-cloud" ] || bail "$TL_FIXTURES/vmlinuz-cloud missing (make fixtures)"

W=$(mktemp -d "${TMPDIR:-/tmp}/tl-e2e-disk.XXXXXX") || bail mktemp
export TL_HOME=$W/home TL_TLD HOME=$W/user KUBECONFIG= TL_GUEST_PROBE=$W/probe.sh
export TL_STORE_DIRS=$W # the reimage's image is in $W
mkdir -p "$HOME"
# shellcheck disable=SC2317
cleanup() {
	if [ -r "$TL_HOME/tld.addr" ]; then
		for n in $("$TL_BIN" node list --json 2>/dev/null | jq -r '.nodes[].name'); do
			"$TL_BIN" node delete "$n" >/dev/null 2>&1
		done
		kill "$(awk '{print $2}' "$TL_HOME/tld.addr")" 2>/dev/null
	fi
	if [ "${TL_E2E_KEEP:-0}" = 1 ]; then echo "# kept: $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
tl() { "$TL_BIN" "$@"; }

# ---- images: the default, and another kernel build (the cloud kernel) ----------------
mkdir -p "$TL_HOME/images"
tl image build -o "$W/good" --fixtures "$TL_FIXTURES" >"$W/img.log" 2>&1 ||
	bail "image build: $(tail -2 "$W/img.log")"
ln -s "$W/good" "$TL_HOME/images/default"
ALT=$W/fixtures-cloud
mkdir -p "$ALT"
for f in shimx64.efi.signed grubx64.efi.signed busybox-static module-cert.pem; do
	[ -e "$TL_FIXTURES/$f" ] && ln -s "$(realpath "$TL_FIXTURES/$f")" "$ALT/$f"
done
ln -s "$(realpath "$TL_FIXTURES/vmlinuz-cloud")" "$ALT/vmlinuz"
ln -s "$(realpath "$TL_FIXTURES/modules-cloud")" "$ALT/modules"
tl image build -o "$W/cloud" --fixtures "$ALT" >"$W/imgB.log" 2>&1 ||
	bail "cloud image build: $(tail -2 "$W/imgB.log")"

# The probe (run by init after the data disk, before the agent): the file's
# SHA-256 when it is there, else it writes it (and syncs: the stop is a
# power-off). The contents never go to the console.
MARK="trustlaunch-secret-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
WANT=$(printf '%s\n' "$MARK" | sha256sum | cut -d' ' -f1)
cat >"$TL_GUEST_PROBE" <<EOF
if ! grep -q ' /data ' /proc/mounts; then echo "no data disk"
elif [ -f /data/secret.txt ]; then echo "read \$(sha256sum </data/secret.txt | cut -d' ' -f1)"
else echo "$MARK" >/data/secret.txt && sync && echo "wrote \$(sha256sum </data/secret.txt | cut -d' ' -f1)"
fi
EOF

console() { tl node console "$1" 2>/dev/null | tr -d '\r'; }
wait_probe() { # NODE: until this boot's probe ended (the disk is done by then)
	for _ in $(seq $((${TL_E2E_NODE_TIMEOUT:-300} * 2))); do
		console "$1" | grep -q '^TL: probe end' && return 0
		case $(tl node show "$1" --json 2>/dev/null | jq -r .state) in failed | crashed) return 1 ;; esac
		sleep 0.5
	done
	return 1
}
disk_line() { console "$1" | grep -E '^TL: disk (open|closed)' | head -n1; }
probe_line() { console "$1" | sed -n 's/^TL: probe \(no data disk\|read .*\|wrote .*\)$/\1/p' | head -n1; }

# ---- 1. the key, the pool, the first boot ----------------------------------------------
cat >"$W/policy.json" <<'EOF'
{"version": "1.0.0",
 "anyOf": [{"authority": "trustlaunch",
            "allOf": [{"claim": "verdict", "equals": "pass"},
                      {"claim": "secure_boot", "equals": true},
                      {"claim": "vtpm", "equals": true}]}]}
EOF
tl keyvault create --name kv1 >/dev/null || bail "keyvault create"
tl keyvault key create --vault-name kv1 --name disk --kty oct-HSM --size 256 --exportable true \
	--policy @"$W/policy.json" >"$W/key.json" 2>"$W/key.err" || bail "key create: $(cat "$W/key.err")"
V1=$(jq -r .version "$W/key.json")
G=(--resource-group rg)
P=(--resource-group rg --cluster-name c1 --name nodepool1)
tl group create --name rg --location local >/dev/null || bail "group create"
is "a pool's data disk under a key that does not exist: refused naming it" \
	"$(tl aks create --name c0 "${G[@]}" --node-count 1 --enable-secure-boot --enable-vtpm \
		--data-disk-size-gb 1 --data-disk-encryption-key kv1/nokey 2>&1 >/dev/null | head -n1 | grep -c 'no key nokey in vault kv1')" 1
tl aks create --name c1 "${G[@]}" --node-count 1 --enable-secure-boot --enable-vtpm \
	--data-disk-size-gb 1 --data-disk-encryption-key kv1/disk --generate-ssh-keys \
	>"$W/create.json" 2>"$W/create.err" || bail "aks create: $(tail -1 "$W/create.err")"
check "the pool shows its data disk and key" \
	test "$(tl aks nodepool show "${P[@]}" | jq -c '[.dataDiskSizeGB, .dataDiskEncryptionKey]')" = '[1,"kv1/disk"]'
N=$(tl node list --json | jq -r '.nodes[0].name')
wait_probe "$N" || { console "$N" | tail -20 | sed 's/^/# /'; }
tl node show "$N" --json >"$W/n1.json"
check "the node: running, attested pass, a 1 GiB encrypted data disk" \
	test "$(jq -c '[.state, .attestation.verdict, .data_disk.size_gb, .data_disk.encryption_key, .data_disk.encrypted]' "$W/n1.json")" \
	= '["running","pass",1,"kv1/disk",true]'
is "first boot: the key released, the blank disk formatted LUKS2 and mounted" \
	"$(disk_line "$N")" "TL: disk open /data luks2 kid=kv1/disk/$V1 formatted"
is "first boot: the probe wrote the file on /data" "$(probe_line "$N")" "wrote $WANT"
IMG=$(jq -r .data_disk.file "$W/n1.json")
check "on the host: the disk image is LUKS2" cryptsetup isLuks --type luks2 "$IMG"
cryptsetup luksDump "$IMG" >"$W/dump1.txt" 2>&1
is "on the host: one keyslot" "$(sed -n '/^Keyslots:/,/^Tokens:/p' "$W/dump1.txt" | grep -cE '^ +[0-9]+: luks2')" 1
is "on the host: the header's token names the key version" \
	"$(cryptsetup token export --token-id 0 "$IMG" | jq -r '[.type, .kid] | join(" ")')" "trustlaunch kv1/disk/$V1"
# the control: the search finds the marker where it is in clear
printf 'x%sx' "$MARK" >"$W/control.bin"
check "control: the search finds the contents in a file that holds them" grep -qaF "$MARK" "$W/control.bin"
check "on the host: the file's contents are not in the disk image" bash -c "! grep -qaF '$MARK' '$IMG'"
check "nor anywhere under TL_HOME or in tld.log" bash -c "! grep -rqaF '$MARK' '$TL_HOME'"
tl keyvault key release-log --vault-name kv1 --name disk >"$W/log1.json"
is "the release log: one grant to the node" \
	"$(jq -c "[.[] | select(.node == \"$N\") | [.granted, .clause, .version]]" "$W/log1.json")" \
	"[[true,\"anyOf[0]\",\"$V1\"]]"

# ---- 2. a reboot: the disk opened, the file read back ----------------------------------
tl node stop "$N" >/dev/null || bail "stop"
tl node start "$N" >/dev/null 2>"$W/start.err" || bail "start: $(cat "$W/start.err")"
wait_probe "$N" || { console "$N" | tail -20 | sed 's/^/# /'; }
is "after a reboot: the disk opened with the same version" \
	"$(disk_line "$N")" "TL: disk open /data luks2 kid=kv1/disk/$V1 opened"
is "after a reboot: the file read back" "$(probe_line "$N")" "read $WANT"

# ---- 3. rotation ------------------------------------------------------------------------
tl keyvault key rotate --vault-name kv1 --name disk >"$W/rot.json" 2>"$W/rot.err" || bail "rotate: $(cat "$W/rot.err")"
V2=$(jq -r .version "$W/rot.json")
check "the rotation made a new version" test -n "$V2" -a "$V2" != "$V1"
tl node stop "$N" >/dev/null || bail "stop"
tl node start "$N" >/dev/null 2>"$W/start.err" || bail "start: $(cat "$W/start.err")"
wait_probe "$N" || { console "$N" | tail -20 | sed 's/^/# /'; }
is "after rotation: the node got the new version and moved the disk to it" \
	"$(disk_line "$N")" "TL: disk open /data luks2 kid=kv1/disk/$V2 rotated kv1/disk/$V1"
is "after rotation: the file is still there" "$(probe_line "$N")" "read $WANT"
cryptsetup luksDump "$IMG" >"$W/dump2.txt" 2>&1
is "on the host: one keyslot again, the token names the new version" \
	"$(sed -n '/^Keyslots:/,/^Tokens:/p' "$W/dump2.txt" | grep -cE '^ +[0-9]+: luks2') $(cryptsetup token export --token-id 0 "$IMG" | jq -r .kid)" \
	"1 kv1/disk/$V2"
tl keyvault key release-log --vault-name kv1 --name disk >"$W/log2.json"
is "the release log: that boot got the new version, then the old one" \
	"$(jq -c "[.[] | select(.node == \"$N\")] | .[-2:] | map([.version, .granted])" "$W/log2.json")" \
	"[[\"$V2\",true],[\"$V1\",true]]"

# ---- 4. another kernel, Secure Boot off: attestation fails, the key is withheld -----------
kernel=$(jq -r '.components[] | select(.name == "kernel") | .digests.sha256' "$W/good/manifest.json")
tl policy rules --resource-group rg --cluster-name c1 --nodepool-name nodepool1 \
	--allow-kernel "$kernel" --require-secure-boot >/dev/null || bail "policy rules"
# the pool's image directory now holds another kernel build (its manifest,
# the reference values, stays the original's); the pool update that switches
# Secure Boot off reimages the node from it
rm "$W/good/disk.raw" && ln -s "$W/cloud/disk.raw" "$W/good/disk.raw"
tl aks nodepool update "${P[@]}" --disable-secure-boot >/dev/null 2>"$W/update.err"
echo "# the update: $(tail -n1 "$W/update.err")"
wait_probe "$N" || { console "$N" | tail -20 | sed 's/^/# /'; }
tl node show "$N" --json >"$W/n4.json"
check "reimaged: Secure Boot off, the same data disk, attested: verdict fail" \
	test "$(jq -c '[.secure_boot, .data_disk.file, .attestation.verdict]' "$W/n4.json")" = "[false,\"$IMG\",\"fail\"]"
is "the disk stays closed: the key was not released" \
	"$(disk_line "$N")" "TL: disk closed: the key kv1/disk was not released"
check "the agent's refusal names the attestation clause" \
	bash -c "'$TL_BIN' node console '$N' | grep -q 'release refused: attestation: '"
is "the probe finds no data disk" "$(probe_line "$N")" "no data disk"
tl keyvault key release-log --vault-name kv1 --name disk >"$W/log4.json"
is "the release log: the last entry refused at the clause \"attestation\"" \
	"$(jq -c "[.[] | select(.node == \"$N\")] | max_by(.at) | [.granted, .clause]" "$W/log4.json")" \
	'[false,"attestation"]'
tl alert list --node "$N" --json | jq -c '.alerts | max_by(.id)' >"$W/alert.json"
check "the alert names the kernel and Secure Boot ($(jq -c .components "$W/alert.json"))" \
	test "$(jq -c '[.components[] | select(. == "kernel" or . == "secure boot")] | sort' "$W/alert.json")" = '["kernel","secure boot"]'
is "the alert says the key was withheld, by the attestation clause" \
	"$(jq -c '[.withheld[] | [.key, .clause]]' "$W/alert.json")" '[["kv1/disk","attestation"]]'
check "on the host: still LUKS2, the contents still absent" \
	bash -c "cryptsetup isLuks --type luks2 '$IMG' && ! grep -qaF '$MARK' '$IMG'"
finish
