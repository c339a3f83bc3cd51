#!/usr/bin/env bash
# tl keyvault against a real tld and SoftHSM2 (issue 15, key custody):
#
#  1. a vault; an RSA-HSM key made shows its kty, size and a 32-hex version;
#     a malformed release policy is refused with its JSON path and makes no
#     key; an exportable key without a policy is refused naming the field;
#  2. rotate makes a second version that list-versions shows newest last;
#     show --version gives the first one back; a vault with keys is not
#     deleted;
#  3. download refused (one line, exit 2): a non-exportable key with its own
#     reason, an exportable one too;
#  4. roles: a reader lists (200) but cannot create (403), an agent's token
#     cannot manage keys (403); nothing changed by them;
#  5. tld restarted: the vault, the keys and their policies are still there;
#  6. no key in clear: the exportable keys' bytes, taken out of the token by a
#     release wrap (tests/tools/keystore-wrap.c, tld stopped) and unwrapped
#     here with openssl (RSA-OAEP SHA-256, then AES key wrap with padding),
#     are in no file under TL_HOME and not in tld.log, in hex or raw; the
#     RSA key unwrapped is the one whose public half tld showed;
#  7. delete: the key's versions go from the token (the wrap finds none).
# Needs: TL_BIN, TL_TLD, TL_KEYSTORE_WRAP; SoftHSM2, swtpm, openssl, jq, curl,
# python3. KEEP=1 keeps the work folder.
set -u
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
: "${TL_BIN:?}" "${TL_TLD:?}" "${TL_KEYSTORE_WRAP:?}"
MODULE=${TL_PKCS11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
[ -r "$MODULE" ] || skip_all "no PKCS#11 module at $MODULE (apt-get install softhsm2)"
command -v swtpm >/dev/null 2>&1 || skip_all "swtpm not installed (apt-get install swtpm)"
for t in openssl jq curl python3; do command -v "$t" >/dev/null 2>&1 || bail "$t missing"; done

W=$(mktemp -d /tmp/tl-keyvault.XXXXXX) || bail mktemp
export TL_HOME=$W/home TL_TLD
unset TL_TOKEN TL_STORE_DIRS
# shellcheck disable=SC2317
cleanup() {
    [ -r "$TL_HOME/tld.addr" ] && kill -TERM "$(awk '{print $2}' "$TL_HOME/tld.addr")" 2>/dev/null
    wait 2>/dev/null
    if [ -n "${KEEP:-}" ]; then echo "# kept: $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE

tl() { "$TL_BIN" "$@" 2>"$W/stderr"; }
one_error_line() { # one_error_line TEXT: stderr is one "tl: " line containing TEXT
    [ "$(wc -l <"$W/stderr")" = 1 ] && grep -qF -- "$1" "$W/stderr" && grep -q '^tl: ' "$W/stderr"
}
tld_stop() {
    local pid
    pid=$(awk '{print $2}' "$TL_HOME/tld.addr")
    kill -TERM "$pid"
    wait_for 20 eval "! kill -0 $pid 2>/dev/null"
}

cat >"$W/policy.json" <<'EOF'
{"version": "1.0.0",
 "anyOf": [{"authority": "trustlaunch",
            "allOf": [{"claim": "secureboot", "equals": true},
                      {"claim": "x-ms-attestation-type", "equals": "tpm"}]}]}
EOF
cat >"$W/bad-policy.json" <<'EOF'
{"version": "1.0.0",
 "anyOf": [{"authority": "trustlaunch",
            "allOf": [{"claim": "secureboot", "equals": true},
                      {"claim": "x-ms-attestation-type", "equal": "tpm"}]}]}
EOF

# ---- 1. create ------------------------------------------------------------------------------
tl keyvault create --name vault1 >"$W/vault.json" || bail "tl keyvault create: $(cat "$W/stderr")"
is "tl keyvault create: the vault, no keys" "$(jq -c '[.name, .keys]' "$W/vault.json")" '["vault1",0]'
tl keyvault key create --vault-name vault1 --name rsa1 --kty RSA-HSM --size 2048 --exportable true \
    --policy @"$W/policy.json" >"$W/rsa1.json" || bail "key create rsa1: $(cat "$W/stderr")"
V1=$(jq -r .version "$W/rsa1.json")
is "an RSA-HSM key: its kty, size, exportability, a 32-hex version, its kid" \
    "$(jq -c '[.kty, .size, .exportable, (.version | test("^[0-9a-f]{32}$")), .kid]' "$W/rsa1.json")" \
    "[\"RSA-HSM\",2048,true,true,\"vault1/rsa1/$V1\"]"
is "its release policy kept as given" \
    "$(jq -cS .release_policy "$W/rsa1.json")" "$(jq -cS . "$W/policy.json")"
openssl pkey -pubin -inform DER -in <(jq -r .public_key "$W/rsa1.json" | base64 -d) -noout -text \
    >"$W/rsa1.pub.txt" 2>&1
is "its public_key is an RSA 2048 SubjectPublicKeyInfo" \
    "$(grep -c 'Public-Key: (2048 bit)' "$W/rsa1.pub.txt")" 1
tl keyvault key create --vault-name vault1 --name bad --kty RSA-HSM --exportable true \
    --policy @"$W/bad-policy.json" >/dev/null
rc=$?
is "a malformed policy: exit 2, one line with the JSON path of the error" \
    "$rc $(one_error_line 'release_policy: anyOf[0].allOf[1]: unknown member "equal"' && echo line)" \
    "2 line"
tl keyvault key show --vault-name vault1 --name bad >/dev/null
is "and no key was made" "$? $(cat "$W/stderr")" "2 tl: no key bad in vault vault1"
tl keyvault key create --vault-name vault1 --name nopol --kty oct-HSM --exportable true >/dev/null
is "an exportable key without a policy: exit 2 naming release_policy" \
    "$? $(one_error_line 'release_policy: required for an exportable key' && echo line)" "2 line"
tl keyvault key create --vault-name vault1 --name small --kty RSA-HSM --size 1024 >/dev/null
is "RSA 1024: refused (exit 2, one line naming the size)" \
    "$? $(one_error_line '1024' && echo line)" "2 line"
tl keyvault key create --vault-name vault1 --name aes1 --kty oct-HSM --size 256 --exportable true \
    --policy @"$W/policy.json" >"$W/aes1.json" || bail "key create aes1: $(cat "$W/stderr")"
tl keyvault key create --vault-name vault1 --name sealed --kty oct-HSM >"$W/sealed.json" ||
    bail "key create sealed: $(cat "$W/stderr")"
is "oct-HSM keys: kty, size, exportable; no public key" \
    "$(jq -c '[.kty, .size, .exportable, has("public_key")]' "$W/aes1.json" "$W/sealed.json" | tr -d '\n')" \
    '["oct-HSM",256,true,false]["oct-HSM",256,false,false]'

# ---- 2. rotate, versions ------------------------------------------------------------------------
tl keyvault key rotate --vault-name vault1 --name rsa1 >"$W/rot.json" || bail "rotate: $(cat "$W/stderr")"
V2=$(jq -r .version "$W/rot.json")
tl keyvault key list-versions --vault-name vault1 --name rsa1 >"$W/versions.json"
is "rotate: a second version; list-versions shows both, newest last" \
    "$(jq -c '[.[].version]' "$W/versions.json")" "[\"$V1\",\"$V2\"]"
is "the new version has the key's type, size and policy" \
    "$(jq -c '[.kty, .size, .exportable, (.release_policy == input.release_policy)]' "$W/rot.json" "$W/rsa1.json")" \
    '["RSA-HSM",2048,true,true]'
is "show: the newest version; show --version: the first" \
    "$(tl keyvault key show --vault-name vault1 --name rsa1 | jq -r .version) $(tl keyvault key show --vault-name vault1 --name rsa1 --version "$V1" | jq -r .public_key)" \
    "$V2 $(jq -r .public_key "$W/rsa1.json")"
is "key list: each key's newest version" \
    "$(tl keyvault key list --vault-name vault1 | jq -c '[.[] | .kid] | sort')" \
    "[\"vault1/aes1/$(jq -r .version "$W/aes1.json")\",\"vault1/rsa1/$V2\",\"vault1/sealed/$(jq -r .version "$W/sealed.json")\"]"
tl keyvault delete --name vault1 >/dev/null
is "a vault holding keys is not deleted (exit 2, one line)" \
    "$? $(one_error_line 'vault vault1 holds 3 keys: delete them first' && echo line)" "2 line"

# ---- 3. download --------------------------------------------------------------------------------
tl keyvault key download --vault-name vault1 --name sealed >/dev/null
is "download of a non-exportable key: exit 2, one line with the reason" \
    "$? $(cat "$W/stderr")" "2 tl: key vault1/sealed is not exportable: it never leaves the key store"
tl keyvault key download --vault-name vault1 --name rsa1 >/dev/null
is "download of an exportable key: refused too (released only wrapped to an attested node)" \
    "$? $(one_error_line 'never leaves the token in clear' && echo line)" "2 line"

# ---- 4. roles -----------------------------------------------------------------------------------
read -r URL _ <"$TL_HOME/tld.addr" || bail "no tld.addr"
READER=$(tl token create ro --role reader --json | jq -r .token)
[ ${#READER} = 64 ] || bail "tl token create ro: $(cat "$W/stderr")"
tl node create a1 --external --json >/dev/null || bail "tl node create a1 --external: $(cat "$W/stderr")"
AGENT=$(jq -r .token "$TL_HOME/nodes/a1/agent.json")
code() { # code METHOD PATH BEARER [BODY]: the HTTP status (the body in $W/resp)
    curl -s -o "$W/resp" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $3" \
        -H 'Content-Type: application/json' ${4:+--data-binary "$4"} "$URL$2"
}
KEYBODY='{"name":"byrole","kty":"oct-HSM"}'
is "a reader lists keys (200) and shows one (200)" \
    "$(code GET /v1/vaults/vault1/keys "$READER") $(code GET /v1/vaults/vault1/keys/rsa1 "$READER")" "200 200"
is "a reader cannot create, rotate, delete or download (403 each)" \
    "$(code POST /v1/vaults/vault1/keys "$READER" "$KEYBODY") $(code POST /v1/vaults/vault1/keys/rsa1/rotate "$READER" '{}') $(code DELETE /v1/vaults/vault1/keys/rsa1 "$READER") $(code POST /v1/vaults/vault1/keys/rsa1/download "$READER" '{}') $(code POST /v1/vaults "$READER" '{"name":"vault2"}')" \
    "403 403 403 403 403"
TL_TOKEN=$READER tl keyvault key create --vault-name vault1 --name byrole --kty oct-HSM >/dev/null
is "tl with a reader's token: exit 2, the 403's line" \
    "$? $(one_error_line 'role reader) may not POST /v1/vaults/{vault}/keys' && echo line)" "2 line"
is "an agent's token cannot manage or read keys (403 each)" \
    "$(code POST /v1/vaults/vault1/keys "$AGENT" "$KEYBODY") $(code GET /v1/vaults/vault1/keys "$AGENT") $(code POST /v1/vaults/vault1/keys/rsa1/rotate "$AGENT" '{}') $(code DELETE /v1/vaults/vault1/keys/rsa1 "$AGENT")" \
    "403 403 403 403"
is "... saying it may call only its node's agent routes" \
    "$(jq -r .error "$W/resp")" "the agent of node a1 may call only its node's agent routes"
is "nothing changed by them: the same versions, no key byrole" \
    "$(tl keyvault key list-versions --vault-name vault1 --name rsa1 | jq -c '[.[].version]') $(tl keyvault key list --vault-name vault1 | jq -c '[.[].name] | sort')" \
    "[\"$V1\",\"$V2\"] [\"aes1\",\"rsa1\",\"sealed\"]"

# ---- 5. a restart -------------------------------------------------------------------------------
tld_stop || bail "tld did not stop"
tl keyvault key show --vault-name vault1 --name rsa1 >"$W/after.json" || bail "after restart: $(cat "$W/stderr")"
is "tld restarted: the key, its newest version and its policy are there" \
    "$(jq -c '[.version, .release_policy == input.release_policy]' "$W/after.json" "$W/rsa1.json")" \
    "[\"$V2\",true]"

# ---- 6. no key in clear -------------------------------------------------------------------------
{ openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$W/target.pem" 2>/dev/null &&
    openssl pkey -in "$W/target.pem" -pubout -outform DER -out "$W/target.spki"; } || bail "openssl genpkey"
tld_stop || bail "tld did not stop"
# unwrap FILE OUT: OAEP-SHA-256 of the ephemeral AES-256 key (256 bytes), then RFC 5649
unwrap() {
    head -c 256 "$1" >"$W/eph.enc" && tail -c +257 "$1" >"$W/kwp.bin" &&
        openssl pkeyutl -decrypt -inkey "$W/target.pem" -in "$W/eph.enc" -out "$W/eph.key" \
            -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 &&
        [ "$(stat -c %s "$W/eph.key")" = 32 ] &&
        openssl enc -d -id-aes256-wrap-pad -iv A65959A6 -K "$(xxd -p -c 64 "$W/eph.key")" \
            -in "$W/kwp.bin" -out "$2"
}
"$TL_KEYSTORE_WRAP" "$TL_HOME" vault1 aes1 "$W/target.spki" >"$W/aes1.wrap" 2>"$W/wrap.err" ||
    bail "keystore-wrap aes1: $(cat "$W/wrap.err")"
"$TL_KEYSTORE_WRAP" "$TL_HOME" vault1 rsa1 "$W/target.spki" >"$W/rsa1.wrap" 2>"$W/wrap.err" ||
    bail "keystore-wrap rsa1: $(cat "$W/wrap.err")"
unwrap "$W/aes1.wrap" "$W/aes1.key" || bail "unwrapping aes1 with openssl"
unwrap "$W/rsa1.wrap" "$W/rsa1.p8" || bail "unwrapping rsa1 with openssl"
is "the AES key unwrapped: 32 bytes" "$(stat -c %s "$W/aes1.key")" 32
# SoftHSM2 2.6 pads what it wraps to a multiple of 8: the PKCS#8 DER's own length tells
openssl pkey -inform DER -in "$W/rsa1.p8" -out "$W/rsa1.pem" 2>/dev/null || bail "rsa1: not PKCS#8"
is "the RSA key unwrapped is the newest version's: its public half is what tld showed" \
    "$(openssl pkey -in "$W/rsa1.pem" -pubout -outform DER | base64 -w0)" "$(jq -r .public_key "$W/after.json")"
openssl pkey -in "$W/rsa1.pem" -outform DER -out "$W/rsa1.der"
python3 - "$W/rsa1.der" "$W/rsa1.secrets" <<'EOF' || bail "reading the RSA key's private parts"
import sys
from cryptography.hazmat.primitives.serialization import load_der_private_key
k = load_der_private_key(open(sys.argv[1], 'rb').read(), None).private_numbers()
with open(sys.argv[2], 'wb') as f:
    for v in (k.d, k.p, k.q):
        f.write(v.to_bytes((v.bit_length() + 7) // 8, 'big').hex().encode() + b'\n')
EOF
# found ROOT FILE...: the files under ROOT holding any secret of the FILEs (hex lines of
# secrets, or raw bytes), as hex (either case) or raw
found() {
    python3 - "$@" <<'EOF'
import os, sys
root, srcs = sys.argv[1], sys.argv[2:]
needles = []
for s in srcs:
    b = open(s, 'rb').read()
    if s.endswith('.secrets'):
        needles += [bytes.fromhex(l.decode()) for l in b.split()]
    else:
        needles.append(b)
pats = []
for n in needles:
    pats += [n, n.hex().encode(), n.hex().upper().encode()]
hits = []
for d, _, files in os.walk(root):
    for f in files:
        p = os.path.join(d, f)
        try:
            data = open(p, 'rb').read()
        except OSError:
            continue
        if any(x in data for x in pats):
            hits.append(os.path.relpath(p, root))
print(' '.join(sorted(hits)))
EOF
}
mkdir -p "$W/control"
cp "$W/aes1.key" "$W/control/raw"
xxd -p -c 64 "$W/aes1.key" | tr a-f A-F >"$W/control/hex"
head -1 "$W/rsa1.secrets" >"$W/control/d.txt"
is "the search finds the secrets where they are (a control: raw, upper-case hex, RSA d)" \
    "$(found "$W/control" "$W/aes1.key" "$W/rsa1.secrets")" "d.txt hex raw"
tl keyvault key list --vault-name vault1 >/dev/null # tld up again: its files as they are in use
is "no file under TL_HOME (store, WAL, token, tld.log) holds the AES key or the RSA key's d, p, q" \
    "$(found "$TL_HOME" "$W/aes1.key" "$W/rsa1.secrets" "$W/rsa1.der")" ""
is "tld.log is among the files searched" "$(test -s "$TL_HOME/tld.log" && echo yes)" yes

# ---- 7. delete ----------------------------------------------------------------------------------
tl keyvault key delete --vault-name vault1 --name rsa1 >"$W/del.json"
is "key delete: both versions destroyed" "$? $(jq -c '[.deleted, .versions]' "$W/del.json")" "0 [true,2]"
tl keyvault key show --vault-name vault1 --name rsa1 >/dev/null
is "then show: exit 2, no such key" "$? $(cat "$W/stderr")" "2 tl: no key rsa1 in vault vault1"
tld_stop || bail "tld did not stop"
"$TL_KEYSTORE_WRAP" "$TL_HOME" vault1 rsa1 "$W/target.spki" >/dev/null 2>"$W/wrap.err"
is "the token no longer has it" "$? $(cat "$W/wrap.err")" \
    "1 keystore-wrap: key vault1/rsa1: not in the key store"
finish
