#!/usr/bin/env bash
# run.sh - run the libFuzzer targets of tests/fuzz on seeds from the vectors.
#
# Usage: tests/fuzz/run.sh BUILD_DIR VECTORS SECONDS
#   BUILD_DIR  a build configured with -Dfuzz=true (clang), e.g.
#              CC=clang meson setup B -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false
#   VECTORS    the shared vectors folder
#   SECONDS    how long each target runs (-max_total_time)
# Environment: FUZZ_JOBS targets run at once (default: number of CPUs);
#              FUZZ_TARGETS to run a subset ("fuzz_efi fuzz_pcrset");
#              FUZZ_TIMEOUT seconds one input may take (default 2);
#              FUZZ_RSS_MB memory a target may use (default 2048).
#
# The clock: every input runs under -timeout=FUZZ_TIMEOUT, so an input that
# takes longer (a superlinear path a guest could drive) is a finding like a
# crash: libFuzzer stops, keeps it as a timeout-* reproducer, and this script
# exits 1 naming the target and the file. (libFuzzer looks at the clock
# every FUZZ_TIMEOUT/2 + 1 s, so an input is stopped between FUZZ_TIMEOUT
# and about twice it.) Each target is also killed if it runs SECONDS + 60 s
# in all, so the whole run stays bounded.
#
# Slow-input regressions (regress/<target>/, generated here): inputs that
# took seconds to minutes before a fix (issue 11), run once per target with
# the same per-input limit before fuzzing. They are kept out of the seed
# corpora so they do not raise libFuzzer's -max_len for the whole run.
# Times in the fuzz build (ASan+UBSan, -O0), before / after the fix:
#   fuzz_eventlog  400 boot applications without a device path (boot state
#                  names: 36 s / 0.5 s), 2,000 all-zero SHA-1 records ending
#                  in one non-zero byte (padding search: 4.7 s / 0.8 s; most
#                  of the 0.8 s is the CLI's JSON of 2,000 records)
#
# Seed corpora (built in a temp dir, never in the vectors):
#   fuzz_eventlog  every binary event log under VECTORS/eventlog, the
#                  base64 .Log.Raw of go-attestation's GCP JSON, and small
#                  logs of the slow shapes above (64 applications without a
#                  device path, 256 all-zero SHA-1 records)
#   fuzz_pcrset    tpm2-tools' expected YAMLs, the OVMF PCR dump, a replay JSON
#   fuzz_agentbody attest-shaped bodies with the OVMF log in base64 (tld's
#                  fast agent-body parser, checked against jansson)
#   fuzz_podspec   the manifests of tests/data/pods; fuzz_selector a few
#                  label selectors
#   fuzz_snp_report each SEV-SNP report of VECTORS/tee/snp followed by its
#                  VCEK (DER or PEM), and the hex text of the virtee report
#   fuzz_hcl_report the Azure evidence JSONs of VECTORS/tee/azure and the
#                  HCL reports inside them
#   fuzz_tdx_quote the TDX quotes of VECTORS/tee/tdx; fuzz_tcbinfo its TCB
#                  infos, QE identities, CRLs and certificates; fuzz_ccel
#                  the CCEL table followed by the written part of its log
#   fuzz_tpm_cmd   tests/data/tpmcmd: the TPM commands ESAPI sent through the
#                  paravisor relay in test_paravisor (TL_PARAVISOR_CAPTURE)
#   fuzz_gueststate a real node's guest state (OVMF's Microsoft store and
#                  tests/data/gueststate's vTPM state file) and a small one,
#                  as archives and sealed with the all-zero key (Python's
#                  AESGCM, when installed)
#   fuzz_release_policy key release policies in Azure's grammar (each
#                  operator, nested anyOf/allOf, a top-level allOf, the CVM
#                  policy's shape), some followed by a NUL and node claims
#   fuzz_certify   tests/data/certify: a real key release request (the key,
#                  its NULL-hierarchy parent, TPM2_Certify and its signature,
#                  the nonce) with its AK, and with the other node's AK
#   fuzz_efi       secureboot/efivars-shim-test/*, secureboot/dbx/*, and the
#                  UEFI_VARIABLE_DATA, device paths and load options of the
#                  OVMF log's records (via BUILD_DIR's tl, when built)
#
# Exit status: 0 no target found anything; 1 a crash, leak, timeout or OOM
# (the reproducers are listed and kept, with the fuzzer logs, under the
# printed work dir); 2 bad usage or a target missing.
set -u

prog=${0##*/}
if [ $# -ne 3 ]; then
    echo "usage: $prog BUILD_DIR VECTORS SECONDS" >&2
    exit 2
fi
build=$1 vectors=$2 seconds=$3
case $seconds in '' | *[!0-9]*) echo "$prog: SECONDS must be a number" >&2; exit 2 ;; esac
timeout_s=${FUZZ_TIMEOUT:-2} rss_mb=${FUZZ_RSS_MB:-2048}
case $timeout_s$rss_mb in *[!0-9]*) echo "$prog: FUZZ_TIMEOUT and FUZZ_RSS_MB must be numbers" >&2; exit 2 ;; esac
[ -d "$vectors/eventlog" ] || { echo "$prog: $vectors/eventlog not found" >&2; exit 2; }
command -v python3 >/dev/null || { echo "$prog: python3 not found" >&2; exit 2; }

targets=${FUZZ_TARGETS:-fuzz_eventlog fuzz_pcrset fuzz_efi fuzz_pe fuzz_varstore fuzz_authvar fuzz_modsig fuzz_ekcert fuzz_bootdiag fuzz_manifest fuzz_agent_config fuzz_report fuzz_agentbody fuzz_quote fuzz_podspec fuzz_selector fuzz_snp_report fuzz_hcl_report fuzz_tdx_quote fuzz_tcbinfo fuzz_ccel fuzz_tpm_cmd fuzz_gueststate fuzz_release_policy fuzz_certify}
fixtures=${TL_FIXTURES:-$(cd "$(dirname "$0")/../.." && pwd)/fixtures}
ovmf_dir=${TL_OVMF_DIR:-/usr/share/OVMF}
for t in $targets; do
    [ -x "$build/tests/fuzz/$t" ] || {
        echo "$prog: $build/tests/fuzz/$t not built (meson setup with -Dfuzz=true, CC=clang)" >&2
        exit 2
    }
done
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}

work=$(mktemp -d "${TMPDIR:-/tmp}/tl-fuzz.XXXXXX")
keep=0
trap '[ $keep = 1 ] || rm -rf "$work"' EXIT
mkdir -p "$work"/corpus/{fuzz_eventlog,fuzz_pcrset,fuzz_efi,fuzz_pe,fuzz_varstore,fuzz_authvar,fuzz_modsig,fuzz_ekcert,fuzz_bootdiag,fuzz_manifest,fuzz_agent_config,fuzz_report,fuzz_agentbody,fuzz_quote,fuzz_podspec,fuzz_selector,fuzz_snp_report,fuzz_hcl_report,fuzz_tdx_quote,fuzz_tcbinfo,fuzz_ccel,fuzz_tpm_cmd,fuzz_gueststate,fuzz_release_policy,fuzz_certify} "$work/artifacts"
for t in $targets; do mkdir -p "$work/corpus/$t" "$work/regress/$t"; done # other targets: no seeds

# ---- seeds ----
python3 - "$vectors" "$work/corpus" "$work/regress" <<'EOF'
import base64, hashlib, json, os, struct, sys
vec, out, regress = sys.argv[1], sys.argv[2], sys.argv[3]
def seed(target, data, where=out):
    if data:
        name = hashlib.sha1(data).hexdigest()
        open(os.path.join(where, target, name), 'wb').write(data)
# The slow shapes of issue 11 (tests/unit/applog.c builds the first in C).
def app_log(n):
    """Crypto-agile (SHA-1, SHA-256) log of n EV_EFI_BOOT_SERVICES_APPLICATION
    records in PCR 4, distinct digests, no device path."""
    spec = b'Spec ID Event03\0' + struct.pack('<IBBBBI', 0, 0, 2, 0, 2, 2)
    spec += struct.pack('<HHHH', 4, 20, 11, 32) + b'\0'
    log = [struct.pack('<II', 0, 3) + bytes(20) + struct.pack('<I', len(spec)) + spec]
    for i in range(n):
        log.append(struct.pack('<III', 4, 0x80000003, 2) +
                   struct.pack('<HQ', 4, i + 1) + b'\xa5' * 12 + struct.pack('<HQ', 11, i + 1) + b'\x5a' * 24 +
                   struct.pack('<IQQQQ', 32, 0x7e000000 + 0x10000 * (i % 256), 0x10000, 0, 0))
    return b''.join(log)
def zero_records(n):
    """Legacy SHA-1 log: one EV_S_CRTM_VERSION, n all-zero records, and a last
    EV_POST_CODE (its type the only non-zero byte after the first record)."""
    return struct.pack('<II', 0, 8) + bytes(24) + bytes(32 * n) + struct.pack('<II', 0, 1) + bytes(24)
seed('fuzz_eventlog', app_log(64))
seed('fuzz_eventlog', zero_records(256))
seed('fuzz_eventlog', app_log(400), regress)
seed('fuzz_eventlog', zero_records(2000), regress)
# Event logs: binary files (a NUL byte near the start: PCR index 0 is zeros).
for root, _, files in os.walk(os.path.join(vec, 'eventlog')):
    for f in files:
        data = open(os.path.join(root, f), 'rb').read()
        if b'\0' in data[:64]:
            seed('fuzz_eventlog', data)
gcp = os.path.join(vec, 'eventlog/go-attestation/windows_gcp_shielded_vm.json')
if os.path.exists(gcp):
    seed('fuzz_eventlog', base64.b64decode(json.load(open(gcp))['Log']['Raw']))
    # fuzz_quote: [flags][u16 AK][u16 TPMS_ATTEST][u16 TPMT_SIGNATURE][PCR text].
    g = json.load(open(gcp))
    ak, q, sg = (base64.b64decode(x) for x in (g['AK']['Public'], g['Quote']['Quote'], g['Quote']['Signature']))
    pcrs = ''.join('PCR sha1 %d %s\n' % (p['Index'], base64.b64decode(p['Digest']).hex()) for p in g['Log']['PCRs'])
    body = b''.join(len(x).to_bytes(2, 'big') + x for x in (ak, q, sg)) + pcrs.encode()
    seed('fuzz_quote', b'\x01' + body)
    seed('fuzz_quote', b'\x00' + body)
# PCR values.
yd = os.path.join(vec, 'eventlog/tpm2-tools/expected-yaml')
for f in sorted(os.listdir(yd)) if os.path.isdir(yd) else []:
    seed('fuzz_pcrset', open(os.path.join(yd, f), 'rb').read())
txt = os.path.join(vec, 'eventlog/ovmf-debian12/secureboot-on.tpm-pcrs.txt')
if os.path.exists(txt):
    seed('fuzz_pcrset', open(txt, 'rb').read())
seed('fuzz_pcrset', json.dumps({'banks': {'sha1': {'0': '00' * 20, '7': 'ab' * 20},
                                          'sha256': {'10': 'ff' * 32}}}).encode())
# UEFI structures.
for sub in ('secureboot/efivars-shim-test', 'secureboot/dbx'):
    d = os.path.join(vec, sub)
    for f in sorted(os.listdir(d)) if os.path.isdir(d) else []:
        seed('fuzz_efi', open(os.path.join(d, f), 'rb').read())
EOF

# Record data of the OVMF log as efi seeds (needs a tl in BUILD_DIR).
tl=$build/src/tl/tl
ovmf=$vectors/eventlog/ovmf-debian12/secureboot-on.eventlog.bin
if [ -x "$tl" ] && [ -f "$ovmf" ]; then
    ASAN_OPTIONS=detect_leaks=0 "$tl" eventlog show "$ovmf" --json 2>/dev/null |
        python3 -c '
import hashlib, json, os, struct, sys
out = sys.argv[1]
def seed(data):
    if data:
        open(os.path.join(out, hashlib.sha1(data).hexdigest()), "wb").write(data)
for e in json.load(sys.stdin)["events"]:
    d = bytes.fromhex(e["data"])
    if e["type"].startswith("EV_EFI_VARIABLE") and len(d) >= 32:
        seed(d)                                   # UEFI_VARIABLE_DATA
        n, l = struct.unpack_from("<QQ", d, 16)
        if 32 + 2 * n + l == len(d) and e["type"] == "EV_EFI_VARIABLE_BOOT":
            seed(d[32 + 2 * n:])                  # EFI_LOAD_OPTION
    elif e["type"] == "EV_EFI_BOOT_SERVICES_APPLICATION" and len(d) >= 32:
        (l,) = struct.unpack_from("<Q", d, 24)
        seed(d[32:32 + l])                        # device path
' "$work/corpus/fuzz_efi"
fi

# Secure Boot engine seeds: Debian's signed images (fixtures), OVMF's
# variable stores, the signed dbx updates, the tails of signed modules.
for f in "$fixtures"/shimx64.efi.signed "$fixtures"/grubx64.efi.signed; do
    [ -f "$f" ] && cp "$f" "$work/corpus/fuzz_pe/"
done
for f in "$ovmf_dir"/OVMF_VARS_4M.fd "$ovmf_dir"/OVMF_VARS_4M.ms.fd; do
    [ -f "$f" ] && cp "$f" "$work/corpus/fuzz_varstore/"
done
for f in "$vectors"/secureboot/dbx/*; do
    [ -f "$f" ] && cp "$f" "$work/corpus/fuzz_authvar/"
done
for f in "$vectors"/secureboot/certs/*.crt; do
    [ -f "$f" ] && cp "$f" "$work/corpus/fuzz_ekcert/"
done
find "$fixtures"/linux-image-*/lib/modules -name '*.ko' 2>/dev/null | head -5 | while read -r ko; do
    tail -c 4096 "$ko" >"$work/corpus/fuzz_modsig/$(basename "$ko")"
done

# Node-facing input: real console captures (tests/data/console), an agent
# config, and an agent report built from the OVMF vector (its event log and
# the swtpm's PCRs of that boot).
src=$(cd "$(dirname "$0")/../.." && pwd)
for f in "$src"/tests/data/console/*.log; do
    [ -f "$f" ] && cp "$f" "$work/corpus/fuzz_bootdiag/"
done
python3 - "$src/tests/data/certify" "$work/corpus/fuzz_certify" <<'EOF'
import os, sys
d, out = sys.argv[1], sys.argv[2]
part = lambda b: len(b).to_bytes(2, 'big') + b
rd = lambda n: open(os.path.join(d, n), 'rb').read()
rest = b''.join(part(rd(n)) for n in ('key.pub', 'parent.pub', 'certify.bin', 'signature.bin'))
for i, ak in enumerate(('ak.pub', 'other-ak.pub')):
    open(os.path.join(out, 'release-%d' % i), 'wb').write(part(rd(ak)) + rest + rd('nonce.bin'))
EOF
for f in "$src"/tests/data/pods/*.yaml; do
    [ -f "$f" ] && cp "$f" "$work/corpus/fuzz_podspec/"
done
python3 - "$ovmf_dir/OVMF_VARS_4M.ms.fd" "$src/tests/data/gueststate/tpm2-00.permall" \
    "$work/corpus/fuzz_gueststate" <<'EOF'
import os, struct, sys
try:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
except ImportError:
    AESGCM = None
node = [(n, open(p, 'rb').read()) for n, p in (('vars.fd', sys.argv[1]),
        ('vtpm/tpm2-00.permall', sys.argv[2])) if os.path.isfile(p)]
small = [('vars.fd', b'\x00' * 64), ('vtpm/tpm2-00.permall', b'\x01' * 32)]
def archive(fs):
    return b'TLGSARCH' + struct.pack('<I', len(fs)) + b''.join(
        struct.pack('<H', len(n)) + n.encode() + struct.pack('<Q', len(d)) + d for n, d in fs)
def seal(plain):  # tl/gueststate.h: the 56-byte header is the AAD
    head = (b'TLGUESTS' + struct.pack('<II', 1, 0) + bytes(range(16)) + bytes(12) + bytes(4) +
            struct.pack('<Q', len(plain)))
    return head + AESGCM(bytes(32)).encrypt(bytes(12), plain, head)
for name, fs in (('archive-small', small), ('archive-node', node)):
    a = archive(fs)
    open(os.path.join(sys.argv[3], name), 'wb').write(a)
    if AESGCM:
        open(os.path.join(sys.argv[3], name.replace('archive', 'sealed')), 'wb').write(seal(a))
EOF
for sel in 'kubernetes.azure.com/trusted-launch=true' 'a in (b,c),!d' 'x notin (y),z!=w' 'n>1,m<2'; do
    printf '%s' "$sel" >"$work/corpus/fuzz_selector/$(printf '%s' "$sel" | sha1sum | cut -c1-40)"
done
# image manifests as scripts/image-build.sh writes them (docs/image.md)
python3 - "$work/corpus/fuzz_manifest" <<'EOF'
import json, os, sys
d = 'ab' * 32
comp = lambda kind, name, path: {'kind': kind, 'name': name, 'path': path, 'digests': {'sha256': d}}
m = {'format': 'trustlaunch-image/1', 'kernel_cmdline': 'console=ttyS0 panic=-1',
     'components': [comp('pe', 'shim', '\\EFI\\BOOT\\BOOTX64.EFI'),
                    comp('pe', 'grub', '\\EFI\\BOOT\\grubx64.efi'),
                    comp('pe', 'kernel', '\\EFI\\debian\\vmlinuz'),
                    comp('file', 'initramfs', '\\EFI\\debian\\initrd.img')],
     'grub_events': [{'pcr': 8, 'event': 'grub_cmd: set timeout=0', 'digests': {'sha256': d}},
                     {'pcr': 9, 'event': '/EFI/debian/vmlinuz', 'component': 'kernel',
                      'digests': {'sha256': d}}]}
open(os.path.join(sys.argv[1], 'image.json'), 'w').write(json.dumps(m, indent=2))
m['components'][1] = 7
del m['format']
open(os.path.join(sys.argv[1], 'odd.json'), 'w').write(json.dumps(m))
EOF
printf '{"url":"http://10.0.2.2:7780/v1/nodes/n1/report","token":"00ff","node":"n1"}' \
    >"$work/corpus/fuzz_agent_config/seed.json"
python3 - "$vectors" "$work/corpus/fuzz_report" <<'EOF'
import base64, json, os, re, sys
vec, out = sys.argv[1], sys.argv[2]
d = os.path.join(vec, 'eventlog/ovmf-debian12')
f = os.path.join(d, 'secureboot-on.eventlog.bin')
log = open(f, 'rb').read() if os.path.exists(f) else b''
pcrs = {}
txt = os.path.join(d, 'secureboot-on.tpm-pcrs.txt')
for line in open(txt) if os.path.exists(txt) else []:
    m = re.match(r'PCR (\w+) (\d+) ([0-9A-Fa-f]+)', line.strip())
    if m:
        pcrs.setdefault(m[1], {})[m[2]] = m[3].lower()
body = {'version': 1, 'node': 'n1', 'token': '00112233', 'secure_boot': 'on', 'tpm': True,
        'pcrs': pcrs or None, 'eventlog': base64.b64encode(log).decode() if log else None,
        'ek_certs': {}, 'kernel': '6.1.0-56-amd64', 'cmdline': 'console=ttyS0', 'uptime': 3.5}
open(os.path.join(out, 'ovmf.json'), 'w').write(json.dumps(body))
body.update(tpm=False, pcrs=None, eventlog=None)
open(os.path.join(out, 'notpm.json'), 'w').write(json.dumps(body))
EOF
# fuzz_agentbody: attest-shaped bodies with a real log's base64 (the fast
# path), and the report seeds (an "eventlog" member too)
python3 - "$vectors" "$work/corpus/fuzz_agentbody" <<'EOF'
import base64, json, os, sys
vec, out = sys.argv[1], sys.argv[2]
f = os.path.join(vec, 'eventlog/ovmf-debian12/secureboot-on.eventlog.bin')
log = base64.b64encode(open(f, 'rb').read()).decode() if os.path.exists(f) else 'AAAA'
body = {'nonce': '00' * 32, 'quote': 'AAEC', 'signature': 'AwQF', 'pcrs': {'sha256': {'0': '00' * 32}},
        'eventlog': log}
open(os.path.join(out, 'attest.json'), 'w').write(json.dumps(body))
open(os.path.join(out, 'attest-spaced.json'), 'w').write(json.dumps(body, indent=1))
open(os.path.join(out, 'dup.json'), 'w').write('{"eventlog": "%s", "eventlog": "AAAA"}' % log)
open(os.path.join(out, 'escaped-key.json'), 'w').write('{"\\u0065ventlog": "%s", "eventlog": "AAAA"}' % log)
EOF
cp "$work"/corpus/fuzz_report/* "$work/corpus/fuzz_agentbody/"
# TDX: quotes, collateral, the CCEL table + log (up to its 0xFF padding).
tdx=$vectors/tee/tdx
for f in "$tdx"/quote_v5_sample.dat "$tdx"/trustee-tdx_quote_6.dat "$tdx"/dcap-rs/quote_tdx_00806f050000.dat \
    "$tdx"/ccel/cos-113-tdx-quote.dat; do
    [ -f "$f" ] && cp "$f" "$work/corpus/fuzz_tdx_quote/$(basename "$f")"
done
for f in "$tdx"/sample_tcbinfo_response_v5 "$tdx"/sample_qeIdentity_response "$tdx"/pckcrl "$tdx"/rootcrl.der \
    "$tdx"/trustee-tcbInfo.json "$tdx"/trustee-enclaveIdentity.json "$tdx"/intel-tcb-signing-2018.pem \
    "$tdx"/dcap-rs/*.json "$tdx"/dcap-rs/*.der; do
    [ -f "$f" ] && cp "$f" "$work/corpus/fuzz_tcbinfo/$(basename "$f")"
done
if [ -f "$tdx/ccel/ccel_table.dat" ]; then
    { cat "$tdx/ccel/ccel_table.dat"; head -c 18200 "$tdx/ccel/ccel_data.dat"; } >"$work/corpus/fuzz_ccel/cos-113"
fi

# Confidential-VM evidence: reports with their VCEKs, Azure evidence and
# the HCL reports inside it.
python3 - "$vectors" "$work/corpus" <<'EOF'
import base64, hashlib, json, os, sys
vec, out = sys.argv[1], sys.argv[2]
def seed(target, data):
    if data:
        open(os.path.join(out, target, hashlib.sha1(data).hexdigest()), 'wb').write(data)
snp = os.path.join(vec, 'tee/snp')
pairs = [('virtee-report_milan.hex', 'virtee-vcek_milan.der'),
         ('go-sev-guest-attestation.bin', 'go-sev-guest-vcek.der'),
         ('msft-milan-v3-report.bin', 'msft-milan-v3-vcek.pem'),
         ('msft-genoa-v3-report.bin', 'msft-genoa-v3-vcek.pem')]
for rep, cert in pairs:
    rp, cp = os.path.join(snp, rep), os.path.join(snp, cert)
    if not (os.path.exists(rp) and os.path.exists(cp)):
        continue
    r = open(rp, 'rb').read()
    if rep.endswith('.hex'):
        seed('fuzz_snp_report', r)
        r = bytes.fromhex(r.decode())
    c = open(cp, 'rb').read()
    seed('fuzz_snp_report', r + c)
    seed('fuzz_snp_report', r)
az = os.path.join(vec, 'tee/azure')
for f in sorted(os.listdir(az)) if os.path.isdir(az) else []:
    data = open(os.path.join(az, f), 'rb').read()
    seed('fuzz_hcl_report', data)
    h = json.loads(data).get('hcl_report', '')
    seed('fuzz_hcl_report', base64.urlsafe_b64decode(h + '=' * (-len(h) % 4)))
EOF

# Key release policies (lib/keyrel/release_policy.c): POLICY [NUL CLAIMS].
python3 - "$work/corpus/fuzz_release_policy" <<'EOF'
import json, os, sys
out = sys.argv[1]
maa = 'https://sharedweu.weu.attest.azure.net'
def c(claim, op, v):
    return {'claim': claim, op: v}
tee = 'x-ms-isolation-tee.'
cvm = {'version': '1.0.0', 'anyOf': [{'authority': maa + '/', 'allOf': [
    c(tee + 'x-ms-compliance-status', 'equals', 'azure-compliant-cvm'),
    {'anyOf': [c(tee + 'x-ms-attestation-type', 'equals', 'tdxvm'),
               c(tee + 'x-ms-attestation-type', 'equals', 'sevsnpvm')]}]}]}
ops = {'version': '1.0.0', 'anyOf': [{'authority': maa, 'anyOf': [
    c('secureboot', 'equals', True), c('x-ms-attestation-type', 'notEquals', 'azurevm'),
    c('svn', 'less', 4), c('svn', 'lessOrEquals', 3.5), c('name', 'greater', 'alpha'),
    c('svn', 'greaterOrEquals', -1), c('tpm', 'exists', False),
    {'allOf': [c('a.b.c', 'exists', True), {'anyOf': [c('x', 'equals', 'y')]}]}]}]}
top_all = {'version': '1.0.0', 'allOf': [{'authority': maa, 'allOf': [c('svn', 'equals', 3)]}]}
claims = {'secureboot': True, 'x-ms-attestation-type': 'azurevm', 'svn': 3, 'name': 'beta',
          'a': {'b': {'c': None}}, 'x-ms-isolation-tee': {
              'x-ms-attestation-type': 'sevsnpvm', 'x-ms-compliance-status': 'azure-compliant-cvm'}}
for name, pol in (('cvm', cvm), ('ops', ops), ('top-allof', top_all)):
    text = json.dumps(pol, indent=1).encode()
    open(os.path.join(out, name), 'wb').write(text)
    open(os.path.join(out, name + '-claims'), 'wb').write(text + b'\0' + json.dumps(claims).encode())
open(os.path.join(out, 'both-ops'), 'wb').write(
    b'{"anyOf":[{"authority":"a","allOf":[{"claim":"x","equals":1,"exists":true}]}]}')
EOF

# TPM commands ESAPI sent through the paravisor relay (test_paravisor).
cp "$(dirname "$0")"/../data/tpmcmd/*.bin "$work/corpus/fuzz_tpm_cmd/"

for t in $targets; do
    echo "$prog: $t: $(ls "$work/corpus/$t" | wc -l) seeds"
done

# ---- run ----
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
echo "$prog: per input: at most ${timeout_s} s and ${rss_mb} MB; per target: ${seconds} s of fuzzing"
run_one() {
    local t=$1 st=0
    # Slow-input regressions first: each file run once, under the clock.
    if [ -n "$(ls "$work/regress/$t")" ]; then
        timeout -s KILL $((seconds + 60)) "$build/tests/fuzz/$t" -timeout="$timeout_s" \
            -rss_limit_mb="$rss_mb" -artifact_prefix="$work/artifacts/$t-" \
            "$work/regress/$t"/* >"$work/$t.regress.log" 2>&1 || st=$?
        if [ "$st" != 0 ]; then
            cp "$work/$t.regress.log" "$work/$t.log"
            echo "$st" >"$work/$t.status"
            return
        fi
    fi
    # The whole target is bounded too: -max_total_time is only looked at
    # between inputs.
    timeout -s KILL $((seconds + 60)) "$build/tests/fuzz/$t" -max_total_time="$seconds" \
        -timeout="$timeout_s" -rss_limit_mb="$rss_mb" \
        -print_final_stats=1 -artifact_prefix="$work/artifacts/$t-" \
        "$work/corpus/$t" >"$work/$t.log" 2>&1 || st=$?
    echo "$st" >"$work/$t.status"
}
running=0
for t in $targets; do
    if [ "$running" -ge "$jobs" ]; then
        wait -n
        running=$((running - 1))
    fi
    run_one "$t" &
    running=$((running + 1))
done
wait

# ---- report ----
status=0
for t in $targets; do
    st=$(cat "$work/$t.status" 2>/dev/null || echo '?')
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log" | tail -n1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/$t.log" | tail -n1)
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]*' "$work/$t.log" | tail -n1)
    regress=$(find "$work/regress/$t" -type f | wc -l)
    [ "$regress" = 0 ] && regress= || regress=", $regress slow-input regressions passed"
    [ "$st" = 0 ] || regress=
    echo "$prog: $t: exit $st, ${runs:-?} runs, ${speed:-?} exec/s, $cov$regress"
    arts=$(ls "$work/artifacts/$t-"* 2>/dev/null)
    if [ "$st" != 0 ] || [ -n "$arts" ]; then
        status=1
        echo "$prog: $t FOUND A PROBLEM; log: $work/$t.log"
        if grep -q 'ERROR: libFuzzer: timeout' "$work/$t.log"; then
            echo "$prog:   an input took more than ${timeout_s} s (a slow path is a finding)"
        elif [ "$st" = 137 ]; then
            echo "$prog:   killed after $((seconds + 60)) s in all"
        fi
        grep -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|SUMMARY:' "$work/$t.log" |
            sed "s/^/$prog:   /"
        # A regression input is not copied as an artifact: name the file.
        if cmp -s "$work/$t.log" "$work/$t.regress.log" 2>/dev/null; then
            r=$(sed -n 's/^Running: //p' "$work/$t.log" | tail -n1)
            [ -z "$r" ] || echo "$prog:   reproducer: $r  (slow-input regression; replay: $build/tests/fuzz/$t $r)"
        fi
        for a in $arts; do
            echo "$prog:   reproducer: $a  (replay: $build/tests/fuzz/$t $a)"
        done
    fi
done
if [ $status != 0 ]; then
    keep=1
    echo "$prog: work dir kept: $work"
fi
exit $status
