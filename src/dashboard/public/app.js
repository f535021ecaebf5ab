// The lbmeter dashboard: plain ES module, no build step. Every number it shows comes from the
// same API tenants and billing use; charts are drawn with Chart.js (window.Chart).

const TOKEN_KEY = 'lbmeter.token';
const HOUR = 3_600_000;
const charts = [];

const $ = (selector) => document.querySelector(selector);
const esc = (text) => String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
/** Bytes scaled to a unit (decimal: 1 KB = 1000 B, as billing counts them). */
const bytes = (n) => {
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
  let i = 0;
  let v = Number(n);
  while (Math.abs(v) >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
};
const table = (id, head, rows) => `<div class="table-wrap"><table id="${id}"><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table></div>`;
const percent = (part, whole) => (whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '–');
const hourLabel = (ms) => new Date(ms).toISOString().slice(5, 16).replace('T', ' ') + 'Z';

class Unauthorized extends Error {}

/** An API call's body and headers; a fault's message thrown. */
async function apiResponse(path, method = 'GET') {
  const headers = { 'x-auth-token': sessionStorage.getItem(TOKEN_KEY) ?? '', accept: 'application/json' };
  if (method !== 'GET') headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, ...(method !== 'GET' ? { body: '{}' } : {}) });
  const body = await res.json().catch(() => ({}));
  if (res.status === 401) throw new Unauthorized(body.unauthorized?.message ?? 'not signed in');
  if (!res.ok) {
    const fault = Object.values(body)[0];
    throw new Error(fault?.message ?? `${path} answered ${res.status}`);
  }
  return { body, headers: res.headers };
}

const api = async (path, method = 'GET') => (await apiResponse(path, method)).body;

/**
 * A time as the API gives it (in lbmeter's display zone, LBMETER_TIMEZONE) for people:
 * "2026-12-04 16:00 UTC-06:00", the zone's offset named, never reckoned into the browser's zone.
 */
const human = (iso) => {
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d)(?::\d\d(?:\.\d+)?)?(Z|[+-]\d\d:\d\d)$/.exec(iso ?? '');
  return m ? `${m[1]} ${m[2]} UTC${m[3] === 'Z' ? '' : m[3]}` : String(iso ?? '');
};

function clearCharts() {
  while (charts.length) charts.pop().destroy();
}

function chart(id, config) {
  charts.push(new window.Chart(document.getElementById(id), { ...config, options: { responsive: true, maintainAspectRatio: false, animation: false, ...config.options } }));
}

/** Axes and tooltips in bytes scaled to KB, MB, GB, with the axes named. */
const byteScales = (x, options = {}) => ({
  scales: {
    x: { title: { display: true, text: x }, ...options.x },
    y: { title: { display: true, text: 'bytes' }, ticks: { callback: (v) => bytes(v) }, ...options.y },
  },
  plugins: { tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${bytes(c.parsed.y)}` } } },
});
const namedScales = (x, y, yOptions = {}) => ({ scales: { x: { title: { display: true, text: x } }, y: { title: { display: true, text: y }, ...yOptions } } });

/** The window the address names (?from=YYYY-MM-DD&to=YYYY-MM-DD, UTC days, `to` included), else the last 24 hours. */
function windowOf(params) {
  const day = /^\d{4}-\d\d-\d\d$/;
  const from = params.get('from');
  const to = params.get('to');
  if (from && to && day.test(from) && day.test(to) && from <= to) {
    return { start: Date.parse(`${from}T00:00:00Z`), end: Date.parse(`${to}T00:00:00Z`) + 24 * HOUR, label: from === to ? `${from} (UTC)` : `${from} to ${to} (UTC days)` };
  }
  const end = Date.now();
  return { start: end - 24 * HOUR, end, label: 'the last 24 hours' };
}
const windowQuery = (w) => `startTime=${new Date(w.start).toISOString()}&endTime=${new Date(w.end).toISOString()}`;

/** The date range form: it keeps the page and changes the window in the address. */
function rangeForm(params) {
  const w = windowOf(params);
  const day = (ms) => new Date(ms).toISOString().slice(0, 10);
  return `<form id="range" class="filters">
      <label>From (UTC day) <input type="date" name="from" value="${esc(params.get('from') ?? day(w.start))}" required></label>
      <label>To (UTC day) <input type="date" name="to" value="${esc(params.get('to') ?? day(w.end - 1))}" required></label>
      <button>Show</button> <a href="#${esc(location.hash.replace(/^#/, '').split('?')[0] || '/')}">last 24 hours</a>
    </form>`;
}

function wireRangeForm() {
  $('#range').addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(event.target);
    const path = location.hash.replace(/^#/, '').split('?')[0] || '/';
    delete document.body.dataset.ready;
    location.hash = `#${path}?${new URLSearchParams({ from: data.get('from'), to: data.get('to') })}`;
  });
}

async function fleetView(params) {
  const w = windowOf(params);
  const s = await api(`/management/usage/summary?${windowQuery(w)}`);
  // ok undefined: a number to know, neither good nor bad.
  const card = (label, value, ok) => `<div class="card ${ok === undefined ? '' : ok ? 'ok' : 'bad'}"><div class="value">${esc(value)}</div><div class="label">${esc(label)}</div></div>`;
  const staleAfter = Date.now() - 15 * 60_000;
  const f = s.fleet;
  const fleetSsl = f.incomingTransferSsl + f.outgoingTransferSsl;
  const open = s.openHour;
  $('#view').innerHTML = `
    <h1>Fleet</h1>
    ${rangeForm(params)}
    <div class="cards" id="totals">
      ${card(`bytes in, ${w.label}`, bytes(f.incomingTransfer + f.incomingTransferSsl))}
      ${card(`bytes out, ${w.label}`, bytes(f.outgoingTransfer + f.outgoingTransferSsl))}
      ${card('SSL share', percent(fleetSsl, f.incomingTransfer + f.outgoingTransfer + fleetSsl))}
      ${open ? card(`open hour since ${human(open.startTime)} (provisional)`, bytes(open.incomingTransfer + open.incomingTransferSsl + open.outgoingTransfer + open.outgoingTransferSsl)) : ''}
    </div>
    <div class="cards" id="health">
      ${card('rollup lag', `${Math.round(s.rollupLagSeconds / 60)} min`, s.rollupLagSeconds === 0)}
      ${s.exportBacklog === undefined ? '' : card('records waiting for export', s.exportBacklog, s.exportBacklog === 0)}
      ${card('export dead letters', s.deadLetters, s.deadLetters === 0)}
      <a href="#/anomalies" class="card-link">${card('anomalies held', s.anomaliesHeld, s.anomaliesHeld === 0)}</a>
    </div>
    <h2>Fleet traffic by hour, ${esc(w.label)}</h2>
    <p class="hint">Rolled-up hours; the open hour is what its readings bill so far and may still change.</p>
    <div class="chart"><canvas id="fleet-chart"></canvas></div>
    <h2>Top accounts, ${esc(w.label)}</h2>
    <div class="chart"><canvas id="top-chart"></canvas></div>
    ${table('top-accounts', '<th>Account</th><th class="num">Load balancers</th><th class="num">In</th><th class="num">Out</th><th class="num">SSL share</th>', s.topAccounts.map((a) => {
      const ssl = a.incomingTransferSsl + a.outgoingTransferSsl;
      const all = a.incomingTransfer + a.outgoingTransfer + ssl;
      return `<tr><td><a href="#/accounts/${a.accountId}">${a.accountId}</a></td><td class="num">${a.loadBalancers}</td><td class="num">${bytes(a.incomingTransfer + a.incomingTransferSsl)}</td><td class="num">${bytes(a.outgoingTransfer + a.outgoingTransferSsl)}</td><td class="num">${percent(ssl, all)}</td></tr>`;
    }).join(''))}
    <h2>Hosts</h2>
    ${table('hosts', '<th>Host</th><th>Cluster</th><th>Stats source</th><th>Last reading</th>', s.hosts.map((h) => {
      const stale = h.polled && (!h.lastReadingTime || Date.parse(h.lastReadingTime) < staleAfter);
      return `<tr><td>${esc(h.name)} (${h.hostId})</td><td>${h.clusterId}</td><td>${h.polled ? 'polled' : 'pushed'}</td><td class="${stale ? 'stale' : ''}">${esc(h.lastReadingTime ? human(h.lastReadingTime) : 'never')}</td></tr>`;
    }).join(''))}`;
  wireRangeForm();
  // Rolled hours, then the open one (if the window reaches it) marked as such.
  const hours = s.hours.map((h) => ({ label: hourLabel(Date.parse(h.startTime)), h }));
  if (open && !s.hours.some((h) => Date.parse(h.startTime) === Date.parse(open.startTime))) hours.push({ label: `${hourLabel(Date.parse(open.startTime))} (open)`, h: open });
  chart('fleet-chart', {
    type: 'bar',
    data: {
      labels: hours.map((x) => x.label),
      datasets: [
        { label: 'bytes in', data: hours.map(({ h }) => h.incomingTransfer + h.incomingTransferSsl), backgroundColor: hours.map((x) => (x.label.endsWith('(open)') ? '#8fb0ef' : '#2f6fde')) },
        { label: 'bytes out', data: hours.map(({ h }) => h.outgoingTransfer + h.outgoingTransferSsl), backgroundColor: hours.map((x) => (x.label.endsWith('(open)') ? '#f8c471' : '#f39c12')) },
      ],
    },
    options: byteScales('hour (UTC)'),
  });
  chart('top-chart', {
    type: 'bar',
    data: {
      labels: s.topAccounts.map((a) => `account ${a.accountId}`),
      datasets: [
        { label: 'bytes in', data: s.topAccounts.map((a) => a.incomingTransfer + a.incomingTransferSsl), backgroundColor: '#2f6fde' },
        { label: 'bytes out', data: s.topAccounts.map((a) => a.outgoingTransfer + a.outgoingTransferSsl), backgroundColor: '#f39c12' },
      ],
    },
    options: byteScales('account'),
  });
}

/** Records of many load balancers summed per UTC hour of their start. */
function hourly(records) {
  const hours = new Map();
  for (const r of records) {
    const start = Date.parse(r.startTime);
    const hour = Math.floor(start / HOUR) * HOUR;
    const h = hours.get(hour) ?? { in: 0, out: 0, inSsl: 0, outSsl: 0, connections: 0 };
    h.in += r.incomingTransfer;
    h.out += r.outgoingTransfer;
    h.inSsl += r.incomingTransferSsl;
    h.outSsl += r.outgoingTransferSsl;
    // Average connections weighted by the share of the hour the record covers.
    h.connections += (r.averageNumConnections + r.averageNumConnectionsSsl) * ((Date.parse(r.endTime) - start) / HOUR);
    hours.set(hour, h);
  }
  return [...hours.entries()].sort((a, b) => a[0] - b[0]);
}

function usageCharts(series) {
  const labels = series.map(([hour]) => hourLabel(hour));
  chart('bytes-chart', {
    type: 'bar',
    data: {
      labels,
      datasets: [
        { label: 'bytes in', data: series.map(([, h]) => h.in), backgroundColor: '#2f6fde', stack: 'in' },
        { label: 'bytes in (SSL)', data: series.map(([, h]) => h.inSsl), backgroundColor: '#8fb0ef', stack: 'in' },
        { label: 'bytes out', data: series.map(([, h]) => h.out), backgroundColor: '#f39c12', stack: 'out' },
        { label: 'bytes out (SSL)', data: series.map(([, h]) => h.outSsl), backgroundColor: '#f8c471', stack: 'out' },
      ],
    },
    options: byteScales('hour (UTC)', { x: { stacked: true }, y: { stacked: true } }),
  });
  chart('connections-chart', {
    type: 'line',
    data: { labels, datasets: [{ label: 'average connections', data: series.map(([, h]) => Number(h.connections.toFixed(2))), borderColor: '#1e8449' }] },
    options: namedScales('hour (UTC)', 'connections', { min: 0 }),
  });
  chart('ssl-chart', {
    type: 'line',
    data: {
      labels,
      datasets: [{
        label: 'SSL share of bytes (%)', borderColor: '#8e44ad',
        data: series.map(([, h]) => {
          const all = h.in + h.out + h.inSsl + h.outSsl;
          return all > 0 ? Number(((100 * (h.inSsl + h.outSsl)) / all).toFixed(1)) : 0;
        }),
      }],
    },
    options: namedScales('hour (UTC)', 'SSL share (%)', { min: 0, max: 100, ticks: { callback: (v) => `${v}%` } }),
  });
}

const CHARTS_HTML = `
  <div class="charts">
    <div class="chart"><canvas id="bytes-chart"></canvas></div>
    <div class="chart"><canvas id="connections-chart"></canvas></div>
    <div class="chart"><canvas id="ssl-chart"></canvas></div>
  </div>`;

/** The account's load balancers by id, names included; undefined where the token may not list them. */
async function loadBalancersOf(accountId) {
  const body = await api(`/management/accounts/${accountId}/loadbalancers`).catch((err) => {
    if (err instanceof Unauthorized) throw err;
    return undefined;
  });
  return body && new Map(body.accountLoadBalancers.map((lb) => [lb.loadBalancerId, lb]));
}

async function accountView(accountId, params) {
  const w = windowOf(params);
  const [body, known] = await Promise.all([api(`/v1.0/${accountId}/loadbalancers/usage?${windowQuery(w)}`), loadBalancersOf(accountId)]);
  const usages = body.loadBalancerUsages ?? [];
  if (known?.size === 0 && usages.length === 0) {
    $('#view').innerHTML = `<h1>Account ${esc(accountId)}</h1><p class="notice" id="unknown-account">No load balancer of account ${esc(accountId)} is known to lbmeter: check the account id. (An account appears once its first load balancer is created.)</p>`;
    return;
  }
  const snapshot = body.accountUsage?.accountUsageRecords?.at(-1);
  $('#view').innerHTML = `
    <h1>Account ${esc(accountId)}</h1>
    ${rangeForm(params)}
    <p>${snapshot ? `${snapshot.numLoadBalancers} load balancers, ${snapshot.numPublicVips} public and ${snapshot.numServicenetVips} servicenet VIPs` : `No account snapshot in ${esc(w.label)}`}. Rolled-up hours of ${esc(w.label)}; each load balancer's page shows its open hour.</p>
    ${usages.length ? '' : `<p class="notice">No usage in ${esc(w.label)}.</p>`}
    ${CHARTS_HTML}
    <h2>Load balancers</h2>
    ${table('load-balancers', '<th>Load balancer</th><th class="num">Records</th><th class="num">In</th><th class="num">Out</th><th class="num">SSL share</th>', usages.map((u) => {
      const t = u.loadBalancerUsageRecords.reduce((s, r) => ({ in: s.in + r.incomingTransfer + r.incomingTransferSsl, out: s.out + r.outgoingTransfer + r.outgoingTransferSsl, ssl: s.ssl + r.incomingTransferSsl + r.outgoingTransferSsl }), { in: 0, out: 0, ssl: 0 });
      return `<tr><td><a href="#/accounts/${esc(accountId)}/loadbalancers/${u.loadBalancerId}">${esc(u.loadBalancerName)} (${u.loadBalancerId})</a></td><td class="num">${u.loadBalancerUsageRecords.length}</td><td class="num">${bytes(t.in)}</td><td class="num">${bytes(t.out)}</td><td class="num">${percent(t.ssl, t.in + t.out)}</td></tr>`;
    }).join(''))}`;
  wireRangeForm();
  usageCharts(hourly(usages.flatMap((u) => u.loadBalancerUsageRecords)));
}

async function loadBalancerView(accountId, loadBalancerId, params) {
  const w = windowOf(params);
  const [usage, current, known] = await Promise.all([
    apiResponse(`/v1.0/${accountId}/loadbalancers/${loadBalancerId}/usage?${windowQuery(w)}`),
    api(`/v1.0/${accountId}/loadbalancers/${loadBalancerId}/usage/current`).catch(() => undefined),
    loadBalancersOf(accountId),
  ]);
  const records = usage.body.loadBalancerUsageRecords ?? [];
  // Records ending at or before this are final (billing has, or will have, them as they are).
  const finalUntil = Date.parse(usage.headers.get('x-usage-final-until') ?? '');
  // The hour in progress, not rolled up yet: usage/current makes it from the readings so far.
  const openHour = Math.floor(Date.now() / HOUR) * HOUR;
  const open = (current?.loadBalancerUsageRecords ?? []).filter((r) => Date.parse(r.startTime) >= openHour && !records.some((x) => x.startTime === r.startTime));
  const name = known?.get(Number(loadBalancerId))?.loadBalancerName;
  const row = (r, state) => `<tr data-id="${r.id}"><td>${state.startsWith('open') ? '' : r.id}</td><td>${esc(human(r.startTime))}</td><td>${esc(human(r.endTime))}</td><td>${esc(r.eventType ?? '')}</td><td>${esc(r.sslMode)}</td><td class="num">${bytes(r.incomingTransfer + r.incomingTransferSsl)}</td><td class="num">${bytes(r.outgoingTransfer + r.outgoingTransferSsl)}</td><td class="num">${r.numPolls}</td><td class="state">${state}</td><td>${state.startsWith('open') ? '' : `<a href="#/audit/${esc(loadBalancerId)}/${r.id}">audit</a>`}</td></tr>`;
  $('#view').innerHTML = `
    <h1><a href="#/accounts/${esc(accountId)}">Account ${esc(accountId)}</a> / ${name === undefined ? 'load balancer' : esc(name)} (${esc(loadBalancerId)})</h1>
    ${rangeForm(params)}
    ${CHARTS_HTML}
    <h2>Records, ${esc(w.label)}</h2>
    <p class="hint">Final records end at or before ${esc(human(usage.headers.get('x-usage-final-until') ?? ''))}; later ones may still change.</p>
    ${table('records', '<th>Id</th><th>Start</th><th>End</th><th>Event</th><th>SSL</th><th class="num">In</th><th class="num">Out</th><th class="num">Polls</th><th>State</th><th></th>',
      records.map((r) => row(r, Date.parse(r.endTime) <= finalUntil ? 'final' : 'provisional')).join('')
      + open.map((r) => row(r, 'open hour (provisional)')).join(''))}`;
  wireRangeForm();
  usageCharts(hourly([...records, ...open]));
}

/** A record's sources: the readings and events that made it, each with what it billed. */
async function auditView(loadBalancerId, recordId) {
  const a = await api(`/management/usage/records/${recordId}/sources?loadBalancerId=${loadBalancerId}`);
  const t = (x) => `${bytes(x.incomingTransfer + x.incomingTransferSsl)} in, ${bytes(x.outgoingTransfer + x.outgoingTransferSsl)} out`;
  const state = [a.final ? 'final' : 'provisional', a.voided ? 'voided' : '', a.exported ? 'exported' : '', a.revision ? `revision ${a.revision}` : '', `billing rule ${a.ruleVersion}`].filter(Boolean).join(', ');
  $('#view').innerHTML = `
    <h1><a href="#/accounts/${a.accountId}/loadbalancers/${a.loadBalancerId}">Load balancer ${a.loadBalancerId}</a> / record ${a.recordId}</h1>
    <p id="audit-state">${esc(human(a.startTime))} to ${esc(human(a.endTime))}: ${esc(state)}.</p>
    <div class="cards">
      <div class="card"><div class="value">${esc(t(a.record))}</div><div class="label">the record</div></div>
      <div class="card ${a.matches ? 'ok' : 'bad'}"><div class="value" id="audit-match">${a.matches ? 'match' : 'DIFFER'}</div><div class="label">its readings bill ${esc(t(a.billed))}</div></div>
    </div>
    <h2>Readings</h2>
    ${table('audit-readings', '<th>Host</th><th>Time</th><th>Process</th><th>Decision</th><th class="num">Delta</th><th class="num">Billed</th>', a.readings.map((r) => `<tr><td>${r.hostId}</td><td>${esc(human(r.time))}</td><td>${r.pid ?? ''}</td><td>${esc(r.decision)}</td><td class="num">${esc(t(r.delta))}</td><td class="num">${esc(t(r.billed))}</td></tr>`).join('') || '<tr><td colspan="6">None.</td></tr>')}
    <h2>Events</h2>
    ${table('audit-events', '<th>Time</th><th>Type</th><th>Id</th>', a.events.map((e) => `<tr><td>${esc(human(e.time))}</td><td>${esc(e.type)}</td><td>${esc(e.id)}</td></tr>`).join('') || '<tr><td colspan="3">None.</td></tr>')}`;
}

const ANOMALY_KINDS = ['DELTA_ABOVE_CEILING', 'LATE_SAMPLE', 'LATE_EVENT', 'SAMPLE_AFTER_DELETE', 'STALE_SAMPLE', 'UNKNOWN_LOAD_BALANCER', 'RECORD_OVERFLOW'];
const heldBytes = (held) => (held ? `${bytes(BigInt(held.bytesIn) + BigInt(held.bytesInSsl))} in, ${bytes(BigInt(held.bytesOut) + BigInt(held.bytesOutSsl))} out` : '');

/**
 * Held data for an operator: filtered by status, kind and time (the filters live in the
 * address, so a filtered list can be shared), released into billing or discarded, one or many.
 */
async function anomaliesView(params) {
  const status = params.get('status') ?? 'HELD';
  const query = new URLSearchParams();
  if (status !== 'ALL') query.set('status', status);
  for (const name of ['kind', 'startTime', 'endTime']) if (params.get(name)) query.set(name, params.get(name));
  const body = await api(`/management/usage/anomalies?${query}`);
  const option = (value, selected, label = value) => `<option value="${esc(value)}"${value === selected ? ' selected' : ''}>${esc(label)}</option>`;
  const time = (name) => (params.get(name) ?? '').replace(/Z$/, '');
  $('#view').innerHTML = `
    <h1>Anomalies</h1>
    <p>Data held back from billing for an operator. <strong>Release</strong> bills it in the record it belongs to; <strong>discard</strong> leaves it unbilled. Each is decided once.</p>
    <form id="anomaly-filters" class="filters">
      <label>Status <select name="status">${['HELD', 'RELEASED', 'DISCARDED', 'ALL'].map((s) => option(s, status)).join('')}</select></label>
      <label>Kind <select name="kind">${option('', params.get('kind') ?? '', 'any')}${ANOMALY_KINDS.map((k) => option(k, params.get('kind') ?? '')).join('')}</select></label>
      <label>From (UTC) <input type="datetime-local" name="startTime" value="${esc(time('startTime'))}"></label>
      <label>To (UTC) <input type="datetime-local" name="endTime" value="${esc(time('endTime'))}"></label>
      <button>Filter</button>
    </form>
    <div class="actions">
      <button type="button" id="release-selected">Release selected</button>
      <button type="button" id="discard-selected">Discard selected</button>
      <span id="anomaly-result" role="status"></span>
    </div>
    ${body.truncated ? `<p class="notice">The first ${body.anomalies.length} are shown: narrow the filters to see the rest.</p>` : ''}
    ${table('anomalies', '<th><input type="checkbox" id="select-all" aria-label="Select all"></th><th>Id</th><th>Kind</th><th>Time</th><th>Load balancer</th><th>Host</th><th>Held</th><th>Status</th><th>Detail</th>',
      body.anomalies.map((a) => `<tr data-id="${a.id}"><td>${a.status === 'HELD' ? `<input type="checkbox" name="anomaly" value="${a.id}" aria-label="Select ${a.id}">` : ''}</td><td>${a.id}</td><td>${esc(a.kind)}</td><td>${esc(human(a.time))}</td><td>${a.loadBalancerId ?? ''}</td><td>${a.hostId ?? ''}</td><td class="num">${heldBytes(a.held)}</td><td class="status">${esc(a.status)}</td><td class="detail">${esc(a.detail)}</td></tr>`).join('')
      || '<tr><td colspan="9">None match.</td></tr>')}`;
  $('#anomaly-filters').addEventListener('submit', (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const [name, value] of new FormData(event.target)) {
      if (!value) continue;
      next.set(name, name.endsWith('Time') ? `${value}${value.length === 16 ? ':00' : ''}Z` : value);
    }
    // Not ready from now: the page for the new address is made when its hashchange comes, and
    // until then the old one would pass for it.
    delete document.body.dataset.ready;
    location.hash = `#/anomalies?${next}`;
  });
  $('#select-all').addEventListener('change', (event) => {
    for (const box of document.querySelectorAll('input[name=anomaly]')) box.checked = event.target.checked;
  });
  const decide = async (decision) => {
    const ids = [...document.querySelectorAll('input[name=anomaly]:checked')].map((box) => box.value);
    if (ids.length === 0) return ($('#anomaly-result').textContent = 'Select the anomalies first.');
    // Money moves on one click: say how much first.
    const chosen = body.anomalies.filter((a) => ids.includes(String(a.id)));
    const held = chosen.reduce((t, a) => (a.held ? { in: t.in + BigInt(a.held.bytesIn) + BigInt(a.held.bytesInSsl), out: t.out + BigInt(a.held.bytesOut) + BigInt(a.held.bytesOutSsl) } : t), { in: 0n, out: 0n });
    const what = `${ids.length} ${ids.length === 1 ? 'anomaly' : 'anomalies'} holding ${bytes(held.in)} in and ${bytes(held.out)} out`;
    const question = decision === 'release' ? `Release ${what} into billing? Final records they change are exported again as revisions.` : `Discard ${what}? They will never be billed.`;
    if (!window.confirm(question)) return ($('#anomaly-result').textContent = 'Nothing decided.');
    // One at a time, each its own decision: a refusal (already decided, beyond what a record can
    // carry) is reported and the others go on.
    const refused = [];
    for (const id of ids) await api(`/management/usage/anomalies/${id}/${decision}`, 'POST').catch((err) => refused.push(`${id}: ${err.message}`));
    await route();
    $('#anomaly-result').textContent = `${ids.length - refused.length} ${decision === 'release' ? 'released' : 'discarded'}${refused.length ? `; refused ${refused.join('; ')}` : ''}.`;
  };
  $('#release-selected').addEventListener('click', () => decide('release'));
  $('#discard-selected').addEventListener('click', () => decide('discard'));
}

function showLogin(message = '') {
  clearCharts();
  $('#view').innerHTML = '';
  $('#nav').hidden = true;
  $('#login').hidden = false;
  $('#login-error').textContent = message;
}

async function route() {
  if (!sessionStorage.getItem(TOKEN_KEY)) return showLogin();
  $('#login').hidden = true;
  $('#nav').hidden = false;
  delete document.body.dataset.ready;
  clearCharts();
  const [path, search = ''] = (location.hash.replace(/^#/, '') || '/').split('?');
  const lb = /^\/accounts\/(\d+)\/loadbalancers\/(\d+)$/.exec(path);
  const account = /^\/accounts\/(\d+)$/.exec(path);
  const audit = /^\/audit\/(\d+)\/(\d+)$/.exec(path);
  const params = new URLSearchParams(search);
  try {
    if (lb) await loadBalancerView(lb[1], lb[2], params);
    else if (account) await accountView(account[1], params);
    else if (audit) await auditView(audit[1], audit[2]);
    else if (path === '/anomalies') await anomaliesView(params);
    else await fleetView(params);
    document.body.dataset.ready = path;
  } catch (err) {
    if (err instanceof Unauthorized) {
      sessionStorage.removeItem(TOKEN_KEY);
      return showLogin(err.message);
    }
    $('#view').innerHTML = `<p class="error" role="alert">${esc(err.message)}</p>`;
  }
}

$('#login').addEventListener('submit', (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, new FormData(event.target).get('token').trim());
  route();
});
$('#logout').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  showLogin();
});
$('#account-jump').addEventListener('submit', (event) => {
  event.preventDefault();
  const id = new FormData(event.target).get('account').trim();
  if (/^\d+$/.test(id)) location.hash = `#/accounts/${id}`;
});
$('#lb-jump').addEventListener('submit', async (event) => {
  event.preventDefault();
  const id = new FormData(event.target).get('loadBalancer').trim();
  if (!/^\d+$/.test(id)) return;
  try {
    const found = await api(`/management/usage/summary/loadbalancers/${id}`);
    location.hash = `#/accounts/${found.accountId}/loadbalancers/${found.loadBalancerId}`;
  } catch (err) {
    if (err instanceof Unauthorized) return showLogin(err.message);
    $('#view').innerHTML = `<p class="error" role="alert" id="lb-not-found">${esc(err.message)}</p>`;
  }
});
window.addEventListener('hashchange', route);
route();
