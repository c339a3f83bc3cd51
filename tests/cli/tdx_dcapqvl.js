// Runs @phala/dcap-qvl (Intel DCAP quote verification in JavaScript) on a
// TDX quote with a collateral folder, offline, at a given time; prints
// {"tcb_status":...,"advisory_ids":[...]} or {"error":"..."}.
//   node tdx_dcapqvl.js MODULE_DIR QUOTE TCBINFO QEIDENTITY SIGNING_PEM ROOT_PEM
//                       PCK_CRL ROOT_CRL UNIX_TIME [REPEAT]
// dcap-qvl takes the collateral as PCS hands it out: the raw text of the
// "tcbInfo" / "enclaveIdentity" member (what the signature covers), the
// signature in hex, the issuer chain in PEM, the CRLs as bytes. With
// REPEAT it also prints verifications per second on stderr.
'use strict';
const fs = require('fs');
const path = require('path');
const [moduleDir, quotePath, tcbPath, qePath, signingPath, rootPath, pckCrlPath, rootCrlPath, at,
       repeat] = process.argv.slice(2);
const { verify } = require(path.join(moduleDir, 'node_modules', '@phala', 'dcap-qvl'));

// The raw member text: from after "NAME": to the member's closing brace
// (PCS writes the signed member first and "signature" last).
function rawMember(text, name) {
    const key = '"' + name + '":';
    const start = text.indexOf(key) + key.length;
    const end = text.lastIndexOf(',"signature"');
    if (start < key.length || end < start) throw new Error(name + ': not a PCS response');
    return text.slice(start, end);
}
const readOr = (p) => (p && p !== '-' ? fs.readFileSync(p) : Buffer.alloc(0));
const tcbText = fs.readFileSync(tcbPath, 'utf8');
const qeText = fs.readFileSync(qePath, 'utf8');
const chain = fs.readFileSync(signingPath, 'utf8') + fs.readFileSync(rootPath, 'utf8');
const collateral = {
    pck_crl_issuer_chain: chain,
    root_ca_crl: readOr(rootCrlPath),
    pck_crl: readOr(pckCrlPath),
    tcb_info_issuer_chain: chain,
    tcb_info: rawMember(tcbText, 'tcbInfo'),
    tcb_info_signature: JSON.parse(tcbText).signature,
    qe_identity_issuer_chain: chain,
    qe_identity: rawMember(qeText, 'enclaveIdentity'),
    qe_identity_signature: JSON.parse(qeText).signature,
};
const quote = fs.readFileSync(quotePath);
try {
    const r = verify(quote, collateral, Number(at));
    if (repeat) {
        const n = Number(repeat), t0 = process.hrtime.bigint(), c0 = process.cpuUsage();
        for (let i = 0; i < n; i++) verify(quote, collateral, Number(at));
        const s = Number(process.hrtime.bigint() - t0) / 1e9;
        const c = process.cpuUsage(c0), cpu = (c.user + c.system) / 1e6;
        process.stderr.write(`DCAPQVL per_s=${(n / s).toFixed(1)} cpu_per_s=${(n / cpu).toFixed(1)}` +
                             ` runs=${n} wall_s=${s.toFixed(3)} cpu_s=${cpu.toFixed(3)}\n`);
    }
    console.log(JSON.stringify({ tcb_status: r.status, advisory_ids: r.advisory_ids }));
} catch (e) {
    console.log(JSON.stringify({ error: e.message }));
}
