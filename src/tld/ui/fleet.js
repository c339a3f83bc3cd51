// The fleet integrity page (src/tld/ui.c serves it; docs/api.md, "Fleet
// page"). It reads the reader routes with a token it keeps in this tab's
// sessionStorage: given as #token=SECRET (a fragment is never sent to the
// server, and the page removes it from the address at once) or typed into
// the form. Everything shown comes from guests or operators (node names,
// labels, component names, findings): it is put in the page as text
// (textContent), never as HTML.
'use strict';

const KEY = 'trustlaunch-reader-token';

// el('td', {class: 'x'}, 'text', child...): an element; strings become text nodes
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== undefined && v !== null) e.setAttribute(k, String(v));
  }
  for (const c of children) {
    if (c === undefined || c === null) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function link(href, text) { return el('a', {href}, text); }
function nodeHref(name) { return '#/node/' + encodeURIComponent(name); }
function alertHref(id) { return '#/alert/' + encodeURIComponent(id); }
function when(at) {
  if (typeof at !== 'number') return at === undefined || at === null ? '' : String(at);
  return new Date(at * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}
function verdictCell(v) {
  const text = v || 'none';
  return el('td', {class: 'verdict-' + (v === 'pass' || v === 'fail' ? v : 'none'), 'data-verdict': text}, text);
}
function componentName(c) { return c && typeof c === 'object' ? c.component : c; }
function table(head, rows, attrs) {
  return el('table', attrs || {},
    el('thead', {}, el('tr', {}, ...head.map((h) => el('th', {}, h)))),
    el('tbody', {}, ...rows));
}

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(path) {
  const token = sessionStorage.getItem(KEY);
  if (!token) throw new ApiError(401, 'no token');
  const r = await fetch(path, {headers: {Authorization: 'Bearer ' + token}, cache: 'no-store'});
  let body = null;
  try { body = await r.json(); } catch (e) { body = null; }
  if (!r.ok) throw new ApiError(r.status, (body && body.error) || r.statusText);
  return body;
}

function showError(text) {
  const box = document.getElementById('error');
  box.textContent = text;
  box.hidden = false;
}

function authFailed(err) {
  const main = document.getElementById('main');
  main.replaceChildren();
  document.getElementById('login').hidden = false;
  document.getElementById('signout').hidden = true;
  showError('authentication failed (' + err.status + '): ' + err.message +
    '. The page needs a reader token.');
}

// ---- the fleet: nodes, open alerts, pools ----
async function fleetView(main) {
  const [nodes, alerts, clusters] = await Promise.all([
    api('/v1/nodes'), api('/v1/alerts'), api('/v1/managedClusters')]);
  const openByNode = new Map();
  for (const a of alerts.alerts) if (!openByNode.has(a.node)) openByNode.set(a.node, a);
  const nodeRows = nodes.nodes.map((n) => {
    const labels = Object.entries(n.labels || {}).map(([k, v]) => el('span', {class: 'label'}, k + '=' + v));
    const open = openByNode.get(n.name);
    return el('tr', {'data-node': n.name},
      el('td', {}, link(nodeHref(n.name), n.name)),
      el('td', {}, n.state),
      el('td', {}, n.security_type || ''),
      verdictCell(n.attestation && n.attestation.verdict),
      el('td', {}, ...labels),
      el('td', {}, open ? link(alertHref(open.id), 'alert ' + open.id) : ''));
  });
  const alertRows = alerts.alerts.map((a) => el('tr', {'data-alert': a.id},
    el('td', {}, link(alertHref(a.id), String(a.id))),
    el('td', {}, link(nodeHref(a.node), a.node)),
    el('td', {}, when(a.at)),
    el('td', {}, (a.components || []).map(componentName).join(', ')),
    el('td', {}, String((a.findings || []).length))));
  const poolRows = [];
  for (const c of clusters.value || []) {
    for (const p of c.agentPoolProfiles || []) {
      const op = p.operation;
      poolRows.push(el('tr', {'data-pool': c.name + '/' + p.name},
        el('td', {}, c.resourceGroup + '/' + c.name + '/' + p.name),
        el('td', {}, String(p.count)),
        el('td', {}, p.provisioningState || ''),
        el('td', {}, op ? el('progress', {max: op.total || 1, value: op.done || 0}) : '',
          op ? ' ' + op.action + ' ' + op.done + '/' + op.total + (op.phase ? ' (' + op.phase + ')' : '') : 'idle'),
        el('td', {}, ...(p.nodes || []).map((n) => el('span', {class: 'label'}, link(nodeHref(n), n))))));
    }
  }
  main.replaceChildren(
    el('h2', {}, 'Nodes (' + nodes.nodes.length + ')'),
    table(['node', 'state', 'security type', 'verdict', 'labels', 'open alert'], nodeRows, {id: 'nodes'}),
    el('h2', {}, 'Open alerts (' + alerts.alerts.length + ')'),
    table(['alert', 'node', 'at', 'components', 'findings'], alertRows, {id: 'alerts'}),
    el('h2', {}, 'Pools'),
    poolRows.length ? table(['pool', 'count', 'state', 'update progress', 'nodes'], poolRows, {id: 'pools'})
      : el('p', {}, 'No node pools.'));
}

// ---- one node: its boot chain and its timeline of attestations ----
async function nodeView(main, name) {
  const q = encodeURIComponent(name);
  const [n, atts, alerts] = await Promise.all([
    api('/v1/nodes/' + q), api('/v1/attestations?node=' + q + '&limit=50'),
    api('/v1/alerts?all=1&node=' + q)]);
  let policy = null;
  try { policy = await api('/v1/nodes/' + q + '/policy'); } catch (e) {
    if (e.status === 401 || e.status === 403) throw e;
  }
  const labels = Object.entries(n.labels || {}).map(([k, v]) => el('span', {class: 'label'}, k + '=' + v));
  const chain = ((policy && policy.reference) || []).map((r) => el('tr', {},
    el('td', {}, r.component), el('td', {}, r.path || ''),
    el('td', {}, r.signer || 'not in the policy'),
    el('td', {class: 'digest'}, r.sha256 || '')));
  const timeline = atts.attestations.map((a) => el('tr', {'data-attestation': a.id},
    el('td', {}, when(a.at)), verdictCell(a.verdict), el('td', {}, a.boot || ''),
    el('td', {}, (a.components || []).join(', ')),
    el('td', {class: 'digest'}, a.pcr_digest || ''),
    el('td', {class: 'digest'}, a.components_digest || '')));
  const alertRows = alerts.alerts.map((a) => el('tr', {'data-alert': a.id},
    el('td', {}, link(alertHref(a.id), 'alert ' + a.id)), el('td', {}, a.boot || ''),
    el('td', {}, (a.components || []).map(componentName).join(', ')),
    el('td', {}, a.acknowledged ? 'acknowledged' : 'open')));
  main.replaceChildren(
    el('h2', {}, 'Node ', el('span', {id: 'node-name'}, n.name)),
    el('dl', {},
      el('dt', {}, 'state'), el('dd', {}, n.state),
      el('dt', {}, 'security type'), el('dd', {}, n.security_type || ''),
      el('dt', {}, 'verdict'), el('dd', {}, n.attestation ? n.attestation.verdict : 'not attested'),
      el('dt', {}, 'labels'), el('dd', {}, ...labels)),
    el('h2', {}, 'Alerts'),
    alertRows.length ? table(['alert', 'boot', 'components', 'state'], alertRows, {id: 'node-alerts'})
      : el('p', {}, 'No alerts.'),
    el('h2', {}, 'Boot chain' + (policy && policy.source ? ' (' + policy.source + ')' : '')),
    chain.length ? table(['component', 'path', 'signer', 'sha256'], chain, {id: 'bootchain'})
      : el('p', {}, 'No reference components in this node\'s policy (an external node\'s policy is the record checks, the replay and the baseline).'),
    el('h2', {}, 'Attestations'),
    table(['at', 'verdict', 'boot', 'failed components', 'PCR digest', 'components digest'], timeline, {id: 'timeline'}));
}

// ---- one alert: its components, expected and actual ----
async function alertView(main, id) {
  const a = await api('/v1/alerts/' + encodeURIComponent(id));
  const rows = (a.findings || []).map((f) => el('tr', {class: 'mismatch finding'},
    el('td', {class: 'component'}, f.component),
    el('td', {}, f.pcr === undefined || f.pcr === null ? '' : String(f.pcr)),
    el('td', {}, f.event === undefined || f.event === null ? '' : String(f.event)),
    el('td', {}, f.what || ''),
    el('td', {class: 'digest expected'}, f.expected === undefined || f.expected === null ? '' : String(f.expected)),
    el('td', {class: 'digest actual'}, f.actual === undefined || f.actual === null ? '' : String(f.actual)),
    el('td', {}, f.rule || ''), el('td', {}, f.severity || '')));
  const withheld = (a.withheld || []).map((w) => el('tr', {},
    el('td', {}, w.key), el('td', {}, w.clause || ''), el('td', {}, w.reason || ''), el('td', {}, when(w.at))));
  main.replaceChildren(
    el('h2', {}, 'Alert ', el('span', {id: 'alert-id'}, String(a.id)), ' on ', link(nodeHref(a.node), a.node)),
    el('dl', {},
      el('dt', {}, 'boot'), el('dd', {}, a.boot || ''),
      el('dt', {}, 'at'), el('dd', {}, when(a.at)),
      el('dt', {}, 'state'), el('dd', {}, a.acknowledged ? 'acknowledged' : 'open'),
      el('dt', {}, 'components'), el('dd', {id: 'alert-components'}, (a.components || []).map(componentName).join(', '))),
    el('h2', {}, 'Findings'),
    table(['component', 'PCR', 'event', 'what', 'expected', 'actual', 'rule', 'severity'], rows, {id: 'findings'}),
    withheld.length ? table(['key withheld', 'clause', 'reason', 'at'], withheld, {id: 'withheld'}) : '');
}

async function render() {
  const main = document.getElementById('main');
  document.getElementById('error').hidden = true;
  if (!sessionStorage.getItem(KEY)) {
    main.replaceChildren();
    document.getElementById('login').hidden = false;
    return;
  }
  document.getElementById('login').hidden = true;
  document.getElementById('signout').hidden = false;
  const route = location.hash.replace(/^#\/?/, '').split('/');
  try {
    if (route[0] === 'node' && route[1]) await nodeView(main, decodeURIComponent(route[1]));
    else if (route[0] === 'alert' && route[1]) await alertView(main, decodeURIComponent(route[1]));
    else await fleetView(main);
    document.body.dataset.view = route[0] || 'fleet';
  } catch (err) {
    if (err.status === 401 || err.status === 403) authFailed(err);
    else { main.replaceChildren(); showError('tld answered ' + (err.status || '') + ': ' + err.message); }
  }
}

function start() {
  const m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
  if (m) { // taken out of the address before anything else
    sessionStorage.setItem(KEY, decodeURIComponent(m[1]));
    history.replaceState(null, '', location.pathname + '#/');
  }
  document.getElementById('login').addEventListener('submit', (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(KEY, document.getElementById('token').value.trim());
    document.getElementById('token').value = '';
    render();
  });
  document.getElementById('signout').addEventListener('click', () => {
    sessionStorage.removeItem(KEY);
    location.hash = '#/';
    render();
  });
  window.addEventListener('hashchange', render);
  render();
}

start();
