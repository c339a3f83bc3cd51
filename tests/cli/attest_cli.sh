#!/usr/bin/env bash
# tl attest against real evidence and a real TPM:
#  1. the GCP Shielded VM attestation of go-attestation's testdata (AK
#     public area, a SHA-1-bank quote with an empty nonce, its signature,
#     the PCRs, the Windows event log): accepted with --allow-sha1, as the
#     JSON and as separate files, with the PCRs from the JSON or from the
#     log's replay; refused without --allow-sha1, each reason named;
#  2. every 8th byte of that quote (two flips each) and of its signature
#     changed: exit 1 with a reason; every 8th of a set of bytes across the
#     log (every record header byte, every 31st data byte, the last), all
#     header bytes of its first 3 records, every record's type field and the
#     set's bytes in the data of the record the verdict lists as unbound:
#     exit 1 with a reason, except the bytes no digest covers - that
#     unbound data (bootmgfw.efi's EV_EFI_BOOT_SERVICES_APPLICATION: its
#     digest is the image's) and event type relabellings the PFP allows in
#     that PCR whose data meets the new type's digest rule - each shown to
#     be exactly that. Every byte of the quote and the signature and the
#     whole log set run in-process in tests/unit/test_attest_flips.c (one
#     ASan process per flip cost CI six minutes); here the CLI's side: exit
#     status, the JSON verdict, nothing on stderr;
#  3. bad input: exit 2 with one line;
#  4. swtpm with tpm2-tools' EKs and AKs (RSA and ECC EKs, RSASSA, RSAPSS
#     and ECDSA AKs): our make-credential is recovered by the TPM's
#     TPM2_ActivateCredential (and not for another AK's Name), matches the
#     structure of tpm2_makecredential -T none; the TPM's quotes verify with
#     tl attest verify, and fail with another nonce, changed PCRs or
#     another AK.
# Needs: TL_BIN, TL_VECTORS; python3, jq, swtpm, swtpm_ioctl, tpm2-tools.
set -u
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
: "${TL_BIN:?}" "${TL_VECTORS:?}"
for t in python3 jq swtpm swtpm_ioctl tpm2_createek tpm2_createak tpm2_activatecredential \
    tpm2_makecredential tpm2_quote tpm2_pcrread; do
    command -v "$t" >/dev/null || bail "$t missing (apt-get install swtpm swtpm-tools tpm2-tools jq)"
done
W=$(mktemp -d /tmp/tl-attest-test.XXXXXX)
export TSS2_LOG=all+none
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$W"
}
[ -n "${TL_KEEP:-}" ] || trap cleanup EXIT
tl() { "$TL_BIN" "$@" 2>"$W/stderr"; }
bad_input() { # bad_input RC PATTERN: exit 2 and stderr is one "tl: " line matching PATTERN
    [ "$1" = 2 ] && test "$(wc -l <"$W/stderr")" = 1 && grep -q "^tl: .*$2" "$W/stderr"
}

G=$TL_VECTORS/eventlog/go-attestation/windows_gcp_shielded_vm.json
E=$W/gcp
mkdir -p "$E"
# The JSON's pieces as files, as tpm2-tools would have them.
python3 - "$G" "$E" <<'EOF'
import base64, json, sys
d = json.load(open(sys.argv[1]))
out = sys.argv[2]
b = lambda s: base64.b64decode(s)
open(out + '/ak.tpmt', 'wb').write(b(d['AK']['Public']))
pub = b(d['AK']['Public'])
open(out + '/ak.pub', 'wb').write(len(pub).to_bytes(2, 'big') + pub)
open(out + '/quote.bin', 'wb').write(b(d['Quote']['Quote']))
open(out + '/sig.bin', 'wb').write(b(d['Quote']['Signature']))
open(out + '/log.bin', 'wb').write(b(d['Log']['Raw']))
with open(out + '/pcrs.txt', 'w') as f:
    for p in sorted(d['Log']['PCRs'], key=lambda p: p['Index']):
        f.write('PCR sha1 %d %s\n' % (p['Index'], b(p['Digest']).hex()))
EOF

# ---- 1. the GCP attestation ----
tl attest verify --go-attestation "$G" --allow-sha1 >"$W/v.txt"
rc=$?
check "GCP JSON with --allow-sha1: exit 0, verdict pass" \
    sh -c "[ $rc = 0 ] && tail -n1 '$W/v.txt' | grep -qx 'verdict: pass'"
check "text: the AK's Name, SHA-1 bank PCR 0-23, RSASSA-SHA1 verified, empty nonce as expected" \
    sh -c "grep -q '^ak: rsa 2048, name 000b4ce9b151f75089d74c15dabe9d520cffafbcafd5d43be0aad2e2d88d54717e2e' '$W/v.txt' &&
           grep -qx 'quoted: sha1 PCRs 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23' '$W/v.txt' &&
           grep -qx 'signature: rsassa sha1, verified' '$W/v.txt' &&
           grep -qx 'nonce: \"\" (0 bytes), as expected' '$W/v.txt'"
tl attest verify --go-attestation "$G" --allow-sha1 --json >"$W/v.json"
check "JSON: pass, no reasons, pcrDigest a610f27b..., PCRs from the JSON, log compared for 0-7 11-14, bootmgfw's record unbound" \
    test "$(jq -c '[.verdict, (.reasons | length), .pcrs.digest, .pcrs.source, .eventlog.events, .eventlog.compared, .eventlog.not_covered, [.eventlog.unbound[] | [.event, .type, .data_offset, .data_size]]]' "$W/v.json")" = \
    '["pass",0,"a610f27bc687ce906243287d832706036e79f6e1","go-attestation Log.PCRs",21,[0,1,2,3,4,5,6,7,11,12,13,14],[8,9,10,15,16,17,18,19,20,21,22,23],[[9,"EV_EFI_BOOT_SERVICES_APPLICATION",13382,174]]]'
tl attest verify --go-attestation "$G" >"$W/v.txt"
rc=$?
check "GCP without --allow-sha1: exit 1; the AK's SHA-1 scheme, the SHA-1 bank, the signature unverified" \
    sh -c "[ $rc = 1 ] && grep -qx 'FAIL: AK: scheme hash sha1 refused (SHA-1 is not allowed)' '$W/v.txt' &&
           grep -qx 'FAIL: quote: quotes the sha1 PCR bank (SHA-1 is not allowed)' '$W/v.txt' &&
           grep -qx 'FAIL: signature: not verified: the AK was refused' '$W/v.txt' &&
           grep -qx 'verdict: FAIL (3 reasons)' '$W/v.txt'"
for ak in ak.tpmt ak.pub; do
    tl attest verify --ak "$E/$ak" --quote "$E/quote.bin" --signature "$E/sig.bin" --nonce '' \
        --pcrs "$E/pcrs.txt" --eventlog "$E/log.bin" --allow-sha1 --json >"$W/f.json"
    rc=$?
    check "as files ($ak: $( [ $ak = ak.tpmt ] && echo TPMT_PUBLIC || echo TPM2B_PUBLIC)): exit 0, the same verdict as the JSON" \
        sh -c "[ $rc = 0 ] && [ \"\$(jq -c 'del(.pcrs.source)' '$W/f.json')\" = \"\$(jq -c 'del(.pcrs.source)' '$W/v.json')\" ]"
done
tl attest verify --ak "$E/ak.pub" --quote "$E/quote.bin" --signature "$E/sig.bin" \
    --eventlog "$E/log.bin" --allow-sha1 --json >"$W/f.json"
rc=$?
check "no --pcrs: the log's replay gives the quote's digest (exit 0, source eventlog, nonce unchecked)" \
    test "$rc $(jq -c '[.verdict, .pcrs.source, .pcrs.ok, .nonce.checked]' "$W/f.json")" = '0 ["pass","eventlog",true,false]'
tl attest verify --go-attestation "$G" --allow-sha1 --nonce 00 >"$W/v.txt"
rc=$?
check "GCP with --nonce 00: exit 1, nonce does not match" \
    sh -c "[ $rc = 1 ] && grep -qx 'FAIL: quote: nonce does not match: extraData is 0 bytes \"\", expected 1 bytes \"00\"' '$W/v.txt'"
sed 's/^PCR sha1 7 8/PCR sha1 7 9/' "$E/pcrs.txt" >"$W/pcrs7.txt"
tl attest verify --ak "$E/ak.pub" --quote "$E/quote.bin" --signature "$E/sig.bin" \
    --pcrs "$W/pcrs7.txt" --eventlog "$E/log.bin" --allow-sha1 >"$W/v.txt"
rc=$?
check "PCR 7 changed in the PCR values: exit 1, the digest does not match, the log not compared" \
    sh -c "[ $rc = 1 ] && grep -q '^FAIL: pcrs: the PCR values do not match the quote.s pcrDigest' '$W/v.txt' &&
           grep -qx 'FAIL: eventlog: not compared: the quote did not prove any PCR values' '$W/v.txt'"

# ---- 2. bytes of the quote, the signature and the log, on a stride ----
# (every byte: tests/unit/test_attest_flips.c)
python3 - "$TL_BIN" "$E" >"$W/flips.txt" 2>&1 <<'EOF'
import json, os, struct, subprocess, sys
tl, e = sys.argv[1], sys.argv[2]
files = {k: open(os.path.join(e, k), 'rb').read() for k in ('quote.bin', 'sig.bin', 'log.bin')}
def run(name, data):
    p = os.path.join(e, 'x-' + name)
    open(p, 'wb').write(data)
    args = {k: os.path.join(e, k) for k in files}
    args[name] = p
    r = subprocess.run([tl, 'attest', 'verify', '--ak', os.path.join(e, 'ak.pub'),
                        '--quote', args['quote.bin'], '--signature', args['sig.bin'],
                        '--eventlog', args['log.bin'], '--pcrs', os.path.join(e, 'pcrs.txt'),
                        '--nonce', '', '--allow-sha1', '--json'],
                       capture_output=True, text=True)
    return r.returncode, (json.loads(r.stdout) if r.stdout else None), r.stderr
bad = []
counts = {}
def flip(name, i, x):
    d = bytearray(files[name]); d[i] ^= x
    return bytes(d)
# Quote: every 8th byte, ^0x01 and ^0x80. Signature: every 8th byte, ^0x01.
STRIDE = 8
for name, xs in (('quote.bin', (0x01, 0x80)), ('sig.bin', (0x01,))):
    for i in range(0, len(files[name]), STRIDE):
        for x in xs:
            rc, v, err = run(name, flip(name, i, x))
            counts[name] = counts.get(name, 0) + 1
            if rc != 1 or not v or v['verdict'] != 'fail' or not v['reasons'] or err:
                bad.append('%s byte %d ^ %#x: exit %d %s' % (name, i, x, rc, err.strip()))
# Log: the records (SHA-1 log: PCR, type, 20-byte digest, size, data).
log = files['log.bin']
recs, o = [], 0
while o < len(log):
    pcr, typ = struct.unpack_from('<II', log, o)
    size = struct.unpack_from('<I', log, o + 28)[0]
    recs.append((o, pcr, typ, size))
    o += 32 + size
full = set()
for (o, pcr, typ, size) in recs:
    full.update(range(o, o + 32))               # every header byte
    full.update(range(o + 32, o + 32 + size, 31))  # every 31st data byte
    full.add(o + 32 + size - 1)                 # and the last
# On a stride: every 8th of those, all header bytes of the first 3 records,
# every record's type field, and those in the data the verdict lists as
# unbound.
offsets = set(sorted(full)[::STRIDE])
for (o, pcr, typ, size) in recs[:3]:
    offsets.update(range(o, o + 32))
for (o, pcr, typ, size) in recs:
    offsets.update(range(o + 4, o + 8))
rc, v, err = run('log.bin', files['log.bin'])
assert rc == 0 and v['verdict'] == 'pass' and not err, (rc, err)
for u in v['eventlog']['unbound']:
    offsets.update(i for i in full if u['data_offset'] <= i < u['data_offset'] + u['data_size'])
unbound_ok = relabel_ok = failed = 0
for i in sorted(offsets):
    rc, v, err = run('log.bin', flip('log.bin', i, 0x01))
    rec = max(r for r in recs if r[0] <= i)
    if rc == 1 and v and v['verdict'] == 'fail' and v['reasons'] and not err:
        failed += 1
        continue
    if rc == 0 and v['verdict'] == 'pass':
        ub = [u for u in v['eventlog']['unbound'] if u['data_offset'] <= i < u['data_offset'] + u['data_size']]
        if ub:
            unbound_ok += 1            # data no digest covers, and the verdict says so
            continue
        if rec[0] + 4 <= i < rec[0] + 8:
            # A type relabelled: the type is in no digest. Show what it became.
            d = flip('log.bin', i, 0x01)
            p = os.path.join(e, 'relabel.bin'); open(p, 'wb').write(d)
            s = json.loads(subprocess.run([tl, 'eventlog', 'show', p, '--json'], capture_output=True, text=True).stdout)
            idx = recs.index(rec)
            ev = s['events'][idx]
            print('relabel: event %d (PCR %d) -> %s, %s' % (idx, rec[1], ev['type'], ev['status']))
            relabel_ok += 1
            continue
    bad.append('log byte %d (record at %d) ^ 0x01: exit %d %s' % (i, rec[0], rc, err.strip()))
print('quote flips %d, signature flips %d, log flips %d: %d fail, %d in unbound data, %d relabel'
      % (counts['quote.bin'], counts['sig.bin'], len(offsets), failed, unbound_ok, relabel_ok))
for b in bad[:20]:
    print('BAD ' + b)
print('bad %d' % len(bad))
EOF
check "every 8th quote byte (x2) and signature byte, and $(grep -o 'log flips [0-9]*' "$W/flips.txt") log bytes: exit 1 with reasons, except unbound data and type relabels" \
    grep -qx 'bad 0' "$W/flips.txt"
check "the flips ran: 26 quote (101 bytes / 8, x2), 33 signature (262 / 8); $(sed -n 's/.*: \([0-9]* fail.*\)/\1/p' "$W/flips.txt")" \
    grep -q '^quote flips 26, signature flips 33, log flips [0-9]*: [0-9]* fail, [1-9][0-9]* in unbound data' "$W/flips.txt"
check "the type relabels that pass are PFP-allowed types whose digest rule the data still meets" \
    test "$(grep '^relabel' "$W/flips.txt" | sort | tr '\n' ';')" = \
    "relabel: event 10 (PCR 11) -> EV_IPL, verified;relabel: event 17 (PCR 11) -> EV_IPL, verified;relabel: event 18 (PCR 12) -> EV_ACTION, verified;relabel: event 19 (PCR 13) -> EV_ACTION, verified;relabel: event 20 (PCR 14) -> EV_ACTION, verified;relabel: event 8 (PCR 5) -> EV_EFI_ACTION, verified;"
grep '^quote flips\|^BAD' "$W/flips.txt" | sed 's/^/# /'

# ---- 3. bad input ----
tl attest verify --ak "$W/missing" --quote "$E/quote.bin" --signature "$E/sig.bin"
rc=$?
check "missing AK file: exit 2, one line" bad_input $rc "$W/missing: cannot open"
tl attest verify --ak "$E/ak.pub" --quote "$E/quote.bin"
rc=$?
check "no --signature: exit 2, one line" bad_input $rc 'attest verify: --ak, --quote and --signature are required' 
tl attest verify --go-attestation "$G" --nonce xyz
rc=$?
check "--nonce not hex: exit 2, one line" bad_input $rc 'attest: --nonce: not a hex string$' 
tl attest verify --go-attestation "$E/quote.bin"
rc=$?
check "--go-attestation not JSON: exit 2, one line" bad_input $rc 'quote.bin: not JSON' 
tl attest verify --go-attestation "$G" --ak "$E/ak.pub"
rc=$?
check "--go-attestation with --ak: exit 2, one line" bad_input $rc '--go-attestation carries the AK' 
head -c 50 "$E/quote.bin" >"$W/trunc.bin"
tl attest verify --ak "$E/ak.pub" --quote "$W/trunc.bin" --signature "$E/sig.bin" --allow-sha1 >"$W/v.txt"
rc=$?
check "a truncated quote is a failed attestation: exit 1, clockInfo runs past the end at 44, signature fails" \
    sh -c "[ $rc = 1 ] && grep -qx 'FAIL: quote: clockInfo runs past the end (50 bytes) (offset 44)' '$W/v.txt' &&
           grep -q '^FAIL: signature: does not verify' '$W/v.txt'"
tl attest make-credential --ek-public "$E/ak.pub" --name 000b --secret 00 -o "$W/x"
rc=$?
check "make-credential with an AK as the EK: exit 2, not a restricted decryption key" \
    bad_input $rc 'ak.pub: EK: not a restricted decryption key' 

# ---- 4. swtpm ----
SOCK=$W/tpm.sock
mkdir -p "$W/tpmstate"
swtpm socket --tpm2 --tpmstate dir="$W/tpmstate" --ctrl type=unixio,path="$SOCK.ctrl" \
    --server type=unixio,path="$SOCK" --flags not-need-init,startup-clear \
    --log file="$W/swtpm.log",level=0 &
SWTPM=$!
pids+=("$SWTPM")
for _ in $(seq 500); do
    [ -S "$SOCK.ctrl" ] && swtpm_ioctl --unix "$SOCK.ctrl" -c >/dev/null 2>&1 && break
    sleep 0.01
done
export TPM2TOOLS_TCTI="swtpm:path=$SOCK"
# swtpm has no resource manager: each tool's transient objects stay loaded.
tpm() { "$@" >>"$W/tpm.log" 2>&1; local r=$?; tpm2_flushcontext -t >/dev/null 2>&1; tpm2_flushcontext -s >/dev/null 2>&1; return $r; }
T=$W/tpm
mkdir -p "$T"
SECRET=5ec2e7000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c
activate() { # activate EKCTX AKCTX CREDFILE OUT
    tpm2_startauthsession --policy-session -S "$T/s.ctx" >>"$W/tpm.log" 2>&1 &&
        tpm2_policysecret -S "$T/s.ctx" -c e >>"$W/tpm.log" 2>&1 &&
        tpm2_activatecredential -c "$2" -C "$1" -i "$3" -o "$4" -P "session:$T/s.ctx" >>"$W/tpm.log" 2>&1
    local r=$?
    tpm2_flushcontext -t >/dev/null 2>&1
    tpm2_flushcontext -s >/dev/null 2>&1
    return $r
}
for ek in rsa ecc; do
    tpm tpm2_createek -c "$T/ek-$ek.ctx" -G $ek -u "$T/ek-$ek.pub"
    check "$ek EK: tpm2_createek" test -s "$T/ek-$ek.pub"
    ak_alg=$ek ak_sig=$([ $ek = rsa ] && echo rsassa || echo ecdsa)
    tpm tpm2_createak -C "$T/ek-$ek.ctx" -c "$T/ak-$ek.ctx" -G $ak_alg -g sha256 -s $ak_sig \
        -u "$T/ak-$ek.pub" -n "$T/ak-$ek.name" -r "$T/ak-$ek.priv"
    name=$(xxd -p -c 256 "$T/ak-$ek.name")
    tl attest make-credential --ek-public "$T/ek-$ek.pub" --name "$name" --secret $SECRET \
        -o "$T/blob-$ek" --secret-out "$T/sec-$ek" --tpm2-tools "$T/cred-$ek" --json >"$W/mc.json"
    rc=$?
    check "$ek EK: tl attest make-credential exit 0, blob 2+32+2+32 bytes, secret $([ $ek = rsa ] && echo 256 || echo '2+32+2+32') bytes" \
        test "$rc $(jq -c '[.ek_type, .blob_size, .secret_size]' "$W/mc.json")" = \
        "0 [\"$ek\",68,$([ $ek = rsa ] && echo 256 || echo 68)]"
    check "$ek EK: the tpm2-tools file is BADCC0DE, version 1, -o's blob, --secret-out's secret" \
        sh -c "printf '\272\334\300\336\0\0\0\1' | cat - '$T/blob-$ek' '$T/sec-$ek' | cmp - '$T/cred-$ek'"
    activate "$T/ek-$ek.ctx" "$T/ak-$ek.ctx" "$T/cred-$ek" "$T/act-$ek"
    rc=$?
    check "$ek EK: swtpm's TPM2_ActivateCredential recovers our secret" \
        sh -c "[ $rc = 0 ] && [ \"\$(xxd -p -c 256 '$T/act-$ek')\" = $SECRET ]"
    # The same through tpm2-tools' own software MakeCredential: same layout.
    printf '%s' $SECRET | xxd -r -p >"$T/secret.bin"
    tpm2_makecredential -T none -e "$T/ek-$ek.pub" -s "$T/secret.bin" -n "$name" -o "$T/tt-$ek" \
        >>"$W/tpm.log" 2>&1
    check "$ek EK: tpm2_makecredential -T none: same size and header as ours (size fields equal)" \
        sh -c "[ \$(stat -c %s '$T/tt-$ek') = \$(stat -c %s '$T/cred-$ek') ] &&
               [ \"\$(head -c 12 '$T/tt-$ek' | xxd -p)\" = \"\$(head -c 12 '$T/cred-$ek' | xxd -p)\" ] &&
               [ \"\$(tail -c +79 '$T/tt-$ek' | head -c 2 | xxd -p)\" = \"\$(tail -c +79 '$T/cred-$ek' | head -c 2 | xxd -p)\" ]"
    activate "$T/ek-$ek.ctx" "$T/ak-$ek.ctx" "$T/tt-$ek" "$T/act2-$ek"
    check "$ek EK: and swtpm recovers tpm2_makecredential's too" \
        test "$(xxd -p -c 256 "$T/act2-$ek" 2>/dev/null)" = $SECRET
done
# Another object's Name: the TPM's integrity check refuses the credential.
tl attest make-credential --ek-public "$T/ek-rsa.pub" --name "$(xxd -p -c 256 "$T/ak-ecc.name")" \
    --secret $SECRET --tpm2-tools "$T/cred-wrong"
activate "$T/ek-rsa.ctx" "$T/ak-rsa.ctx" "$T/cred-wrong" "$T/act-wrong"
rc=$?
check "a credential for another AK's Name: TPM2_ActivateCredential fails (integrity)" \
    sh -c "[ $rc != 0 ] && grep -q -i 'integrity' '$W/tpm.log'"

# Quotes by the TPM: RSASSA, ECDSA and RSAPSS AKs, SHA-256 bank.
tpm tpm2_createak -C "$T/ek-rsa.ctx" -c "$T/ak-pss.ctx" -G rsa -g sha256 -s rsapss \
    -u "$T/ak-pss.pub" -n "$T/ak-pss.name" -r "$T/ak-pss.priv"
NONCE=$(head -c 32 /dev/urandom | xxd -p -c 64)
for k in rsa ecc pss; do
    scheme=$(case $k in rsa) echo rsassa ;; ecc) echo ecdsa ;; pss) echo rsapss ;; esac)
    tpm tpm2_quote -c "$T/ak-$k.ctx" -l sha256:0,1,2,3,4,5,6,7,16 -q "$NONCE" -g sha256 \
        --scheme $scheme -m "$T/q-$k.msg" -s "$T/q-$k.sig"
    tpm2_pcrread sha256:0,1,2,3,4,5,6,7,16 >"$T/pcrs-$k.yaml" 2>>"$W/tpm.log"
    tl attest verify --ak "$T/ak-$k.pub" --quote "$T/q-$k.msg" --signature "$T/q-$k.sig" \
        --nonce "$NONCE" --pcrs "$T/pcrs-$k.yaml" --json >"$W/q.json"
    rc=$?
    check "$k AK: swtpm's quote verifies (exit 0, $(jq -r '.signature.scheme' "$W/q.json") sha256, nonce, PCR 0-7 16 digest)" \
        test "$rc $(jq -c '[.verdict, .signature.hash, .nonce.ok, .pcrs.ok, .quote.banks.sha256]' "$W/q.json")" = \
        '0 ["pass","sha256",true,true,[0,1,2,3,4,5,6,7,16]]'
    tl attest verify --ak "$T/ak-$k.pub" --quote "$T/q-$k.msg" --signature "$T/q-$k.sig" \
        --nonce "00$NONCE" --pcrs "$T/pcrs-$k.yaml" >"$W/v.txt"
    rc=$?
    check "$k AK: another nonce: exit 1, nonce does not match" \
        sh -c "[ $rc = 1 ] && grep -q '^FAIL: quote: nonce does not match' '$W/v.txt'"
done
check "the RSAPSS quote's signature is RSAPSS, the ECC one's ECDSA" \
    sh -c "'$TL_BIN' attest verify --ak '$T/ak-pss.pub' --quote '$T/q-pss.msg' --signature '$T/q-pss.sig' | grep -qx 'signature: rsapss sha256, verified' &&
           '$TL_BIN' attest verify --ak '$T/ak-ecc.pub' --quote '$T/q-ecc.msg' --signature '$T/q-ecc.sig' | grep -qx 'signature: ecdsa sha256, verified'"
tl attest verify --ak "$T/ak-ecc.pub" --quote "$T/q-rsa.msg" --signature "$T/q-rsa.sig" --nonce "$NONCE" >"$W/v.txt"
rc=$?
check "the RSA AK's quote against the ECC AK: exit 1, the scheme does not fit" \
    sh -c "[ $rc = 1 ] && grep -qx 'FAIL: signature: scheme rsassa does not fit the AK.s ECC key' '$W/v.txt'"
tl attest verify --ak "$T/ak-pss.pub" --quote "$T/q-rsa.msg" --signature "$T/q-rsa.sig" --nonce "$NONCE" >"$W/v.txt"
rc=$?
check "the RSASSA AK's quote against the RSAPSS AK: exit 1, the AK signs only with rsapss" \
    sh -c "[ $rc = 1 ] && grep -q 'but the AK signs only with rsapss/sha256' '$W/v.txt'"
tpm tpm2_pcrextend 7:sha256=$(printf '%064d' 1)
tpm2_pcrread sha256:0,1,2,3,4,5,6,7,16 >"$T/pcrs-after.yaml" 2>>"$W/tpm.log"
tl attest verify --ak "$T/ak-rsa.pub" --quote "$T/q-rsa.msg" --signature "$T/q-rsa.sig" \
    --nonce "$NONCE" --pcrs "$T/pcrs-after.yaml" >"$W/v.txt"
rc=$?
check "PCR 7 extended after the quote: the old quote does not match today's PCRs (exit 1)" \
    sh -c "[ $rc = 1 ] && grep -q '^FAIL: pcrs: the PCR values do not match the quote.s pcrDigest' '$W/v.txt'"
tpm tpm2_quote -c "$T/ak-rsa.ctx" -l sha256:0,1,2,3,4,5,6,7,16 -q "$NONCE" -g sha256 \
    -m "$T/q2.msg" -s "$T/q2.sig"
tl attest verify --ak "$T/ak-rsa.pub" --quote "$T/q2.msg" --signature "$T/q2.sig" \
    --nonce "$NONCE" --pcrs "$T/pcrs-after.yaml" >/dev/null
check "a new quote matches them (exit 0)" test $? = 0

swtpm_ioctl --unix "$SOCK.ctrl" -s >/dev/null 2>&1 || kill "$SWTPM"
wait "$SWTPM"
check "swtpm stops cleanly" test $? = 0

finish
