// The iscsi-sim dashboard page: one system's or the lab's (the same JSON shape, see
// src/metrics/dashboard/dashboard-types.ts). Plain browser JavaScript, no build step; charts by uPlot
// (served from node_modules by the server). Everything it shows is kept in `window.dashboard`.
'use strict';

const HISTORY_POINTS = 900;
const MAX_EVENTS = 200;
const PALETTE = ['#2f6fdb', '#d9480f', '#2b8a3e', '#ae3ec9', '#e67700', '#0b7285', '#c2255c', '#5c940d'];
const GOOD_PHASES = new Set(['streaming']);
const BAD_PHASES = new Set(['split-brain', 'failed-over', 'fractured', 'suspended']);

const dashboard = { state: undefined, samples: [], events: [], charts: {}, connected: false, updates: 0 };
window.dashboard = dashboard;

// Each chart: a name (window.dashboard.charts[name]), its element and how to read its series out of a sample.
const CHARTS = [
  { name: 'rpo', element: 'chart-rpo', format: seconds, series: (s) => pairSeries(s, (p) => p.rpoSeconds) },
  { name: 'bytesBehind', element: 'chart-bytes-behind', format: bytes, series: (s) => pairSeries(s, (p) => p.bytesBehind) },
  { name: 'throughput', element: 'chart-throughput', format: rate, series: (s) => pairSeries(s, (p) => p.throughputBytesPerSecond) },
  { name: 'io', element: 'chart-io', format: rate, series: lunSeries },
];

function pairSeries(sample, read) {
  return Object.entries(sample.pairs).map(([id, pair]) => [id, read(pair)]);
}

function lunSeries(sample) {
  return Object.entries(sample.luns).flatMap(([id, lun]) => [[`${id} read`, lun.readBytesPerSecond], [`${id} write`, lun.writeBytesPerSecond]]);
}

// ---- formatting ----
function bytes(n) {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) { value /= 1024; unit++; }
  return `${value >= 100 || unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}
function rate(n) { return n === null || n === undefined ? '–' : `${bytes(n)}/s`; }
function seconds(n) { return n === null || n === undefined || !Number.isFinite(n) ? '–' : `${n < 10 ? n.toFixed(1) : Math.round(n)} s`; }
function perSecond(n) { return Number.isFinite(n) ? `${n < 10 ? n.toFixed(1) : Math.round(n)}/s` : '–'; }
function clock(iso) { return new Date(iso).toLocaleTimeString(); }

// ---- DOM helpers (text only: nothing from the server is parsed as HTML) ----
function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes ?? {})) {
    if (value !== undefined) node.setAttribute(key, value);
  }
  for (const child of children.flat()) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}
function badge(text, tone) { return el('span', { class: `badge ${tone ?? ''}` }, text); }
function phaseTone(phase) { return GOOD_PHASES.has(phase) ? 'ok' : BAD_PHASES.has(phase) ? 'bad' : 'warn'; }
function rows(tbody, list, columns, emptyText) {
  tbody.replaceChildren(...(list.length === 0
    ? [el('tr', {}, el('td', { class: 'empty', colspan: String(columns) }, emptyText))]
    : list));
}

// ---- rendering ----
function render() {
  const state = dashboard.state;
  if (!state) return;
  document.getElementById('title').textContent = state.title;
  document.title = `${state.title} · iscsi-sim dashboard`;
  renderSystems(state);
  renderPairs(state);
  renderSessions(state);
  renderFaults(state);
  renderEvents();
  renderCharts();
}

function renderSystems(state) {
  const cards = state.systems.map((system) => {
    const status = !system.reachable ? badge('unreachable', 'bad') : system.ready ? badge('ready', 'ok') : badge('not ready', 'warn');
    const card = el('div', { class: 'card', 'data-system': system.name },
      el('h3', {}, system.name, ' ', system.role ? badge(system.role) : '', ' ', status));
    if (!system.reachable) {
      card.append(el('p', { class: 'meta' }, system.error ?? 'no answer'));
      return card;
    }
    if (system.problems.length > 0) card.append(el('p', { class: 'meta' }, system.problems.join('; ')));
    card.append(el('p', { class: 'meta' }, 'portals: ', system.portals.map((p) => `${p.hostPort},${p.portalGroupTag}${p.listening ? '' : ' (not listening)'}`).join('  ') || 'none'));
    const luns = system.targets.flatMap((target) => target.luns.map((lun) => el('tr', {},
      el('td', { title: target.alias ?? '' }, target.iqn), el('td', { class: 'num' }, lun.lun), el('td', { class: 'num' }, bytes(lun.sizeBytes)),
      el('td', {}, lun.writeProtected ? badge('write protected', 'warn') : badge('read-write', 'ok')),
      el('td', { class: 'num' }, `${rate(lun.readBytesPerSecond)} · ${perSecond(lun.readOpsPerSecond)}`),
      el('td', { class: 'num' }, `${rate(lun.writeBytesPerSecond)} · ${perSecond(lun.writeOpsPerSecond)}`))));
    const table = el('table', {}, el('thead', {}, el('tr', {}, ['Target', 'LUN', 'Size', 'Access', 'Read (bytes · ops)', 'Write (bytes · ops)'].map((h) => el('th', {}, h)))), el('tbody'));
    rows(table.tBodies[0], luns, 6, 'no targets');
    card.append(table);
    return card;
  });
  document.getElementById('systems').replaceChildren(...cards);
}

function renderPairs(state) {
  const list = state.pairs.map((pair) => el('tr', { 'data-pair': pair.pairId },
    el('td', {}, pair.pairId), el('td', {}, `${pair.source} → ${pair.target}`), el('td', {}, pair.mode),
    el('td', {}, badge(pair.phase, phaseTone(pair.phase)), pair.dirtyMapError ? ` dirty map: ${pair.dirtyMapError}` : ''),
    el('td', { class: 'num' }, `${Math.floor(pair.percentSynced)} %`),
    el('td', { class: 'num' }, pair.lagKnown ? seconds(pair.rpoSeconds) : 'unknown'),
    el('td', { class: 'num' }, bytes(pair.bytesBehind)), el('td', { class: 'num' }, rate(pair.throughputBytesPerSecond)),
    el('td', {}, pair.link ? badge(pair.link, 'warn') : 'normal')));
  rows(document.querySelector('#pairs tbody'), list, 9, 'no mirror pairs');
}

function renderSessions(state) {
  const list = state.systems.flatMap((system) => (system.sessions ?? []).map((s) => el('tr', {},
    el('td', {}, system.name), el('td', {}, s.target ?? '(discovery)'), el('td', {}, s.initiatorName),
    el('td', {}, s.initiatorAddress), el('td', {}, el('code', {}, s.isid)), el('td', {}, s.headerDigest), el('td', {}, s.dataDigest),
    el('td', {}, clock(s.loggedInAt)))));
  rows(document.querySelector('#sessions tbody'), list, 8, 'no initiator logged in');
}

/** The fault rules a system reports (as its GET /api/faults: a list, or {rules: [...]}). */
function faultList(faults) {
  if (Array.isArray(faults)) return faults;
  if (faults && Array.isArray(faults.faults)) return faults.faults;
  if (faults && Array.isArray(faults.rules)) return faults.rules;
  return undefined;
}

const FAULT_HEADLINE = new Set(['id', 'action', 'target', 'lun', 'seen', 'fired', 'addedAt']);

/** "medium-error on iqn…/0 (rule f-1): fired 3 of 40  lba=[100,200] …" */
function describeFault(fault) {
  if (typeof fault !== 'object' || fault === null) return String(fault);
  const rest = Object.entries(fault).filter(([k, v]) => !FAULT_HEADLINE.has(k) && v !== undefined && v !== null)
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`).join('  ');
  const headline = fault.action === undefined ? '' : `${fault.action} on ${fault.target ?? '?'}/${fault.lun ?? '?'} (rule ${fault.id ?? '?'}): fired ${fault.fired ?? 0} of ${fault.seen ?? 0}`;
  return [headline, rest].filter(Boolean).join('  ');
}

function renderFaults(state) {
  const blocks = state.systems.map((system) => {
    const list = faultList(system.faults);
    const body = system.faults === undefined ? el('p', { class: 'empty' }, 'no fault injection on this system')
      : list === undefined ? el('pre', {}, JSON.stringify(system.faults, null, 2))
        : list.length === 0 ? el('p', { class: 'empty' }, 'none active')
          : el('ul', {}, list.map((f) => el('li', {}, el('code', {}, describeFault(f)))));
    return el('div', { class: 'card', 'data-faults': system.name }, el('h3', {}, system.name), body);
  });
  const links = state.pairs.filter((pair) => pair.link);
  blocks.push(el('div', { class: 'card', 'data-faults': 'links' }, el('h3', {}, 'Replication links'),
    links.length === 0 ? el('p', { class: 'empty' }, 'every link normal')
      : el('ul', {}, links.map((pair) => el('li', {}, el('code', {}, pair.pairId), ` ${pair.source} → ${pair.target}: `, badge(pair.link, 'warn'))))));
  document.getElementById('faults').replaceChildren(...blocks);
}

function renderEvents() {
  const items = dashboard.events.slice().reverse().map((e) => el('li', { class: `kind-${e.kind}` }, el('time', { datetime: e.at }, clock(e.at)), e.message));
  document.getElementById('events').replaceChildren(...(items.length === 0 ? [el('li', { class: 'empty' }, 'nothing yet')] : items));
}

// ---- charts ----
function chartData(chart) {
  const ids = [];
  const seen = new Set();
  for (const sample of dashboard.samples) {
    for (const [id] of chart.series(sample)) if (!seen.has(id)) { seen.add(id); ids.push(id); }
  }
  const times = dashboard.samples.map((s) => s.t);
  const columns = ids.map((id) => dashboard.samples.map((sample) => {
    const found = chart.series(sample).find(([key]) => key === id);
    return found === undefined ? null : found[1];
  }));
  return { ids, data: [times, ...columns] };
}

function renderCharts() {
  for (const chart of CHARTS) {
    const container = document.getElementById(chart.element);
    const { ids, data } = chartData(chart);
    const existing = dashboard.charts[chart.name];
    if (existing && existing.ids.join('\n') === ids.join('\n')) {
      existing.plot.setData(data);
      existing.data = data;
      continue;
    }
    existing?.plot.destroy();
    const plot = new uPlot({
      width: Math.max(300, container.clientWidth - 4),
      height: 200,
      scales: { x: { time: true } },
      series: [{}, ...ids.map((id, i) => ({ label: id, stroke: PALETTE[i % PALETTE.length], width: 1.5, spanGaps: false, value: (_u, v) => chart.format(v) }))],
      axes: [{}, { size: 90, values: (_u, ticks) => ticks.map((v) => chart.format(v)) }],
    }, data, container);
    dashboard.charts[chart.name] = { ids, plot, data };
  }
}

window.addEventListener('resize', () => {
  for (const chart of CHARTS) {
    const made = dashboard.charts[chart.name];
    if (made) made.plot.setSize({ width: Math.max(300, document.getElementById(chart.element).clientWidth - 4), height: 200 });
  }
});

// ---- live updates ----
function setConnection(text, tone) {
  const node = document.getElementById('connection');
  node.textContent = text;
  node.className = `connection ${tone}`;
}

const stream = new EventSource('/api/dashboard/stream');
stream.addEventListener('snapshot', (message) => {
  const snapshot = JSON.parse(message.data);
  dashboard.state = snapshot.state;
  dashboard.samples = snapshot.samples.slice(-HISTORY_POINTS);
  dashboard.events = snapshot.events.slice(-MAX_EVENTS);
  dashboard.connected = true;
  setConnection(`live · ${clock(snapshot.state.at)}`, 'live');
  render();
});
stream.addEventListener('update', (message) => {
  const update = JSON.parse(message.data);
  dashboard.state = update.state;
  dashboard.samples.push(update.sample);
  if (dashboard.samples.length > HISTORY_POINTS) dashboard.samples.splice(0, dashboard.samples.length - HISTORY_POINTS);
  dashboard.events.push(...update.events);
  if (dashboard.events.length > MAX_EVENTS) dashboard.events.splice(0, dashboard.events.length - MAX_EVENTS);
  dashboard.updates++;
  setConnection(`live · ${clock(update.state.at)}`, 'live');
  render();
});
stream.addEventListener('error', () => {
  dashboard.connected = false;
  setConnection('disconnected: reconnecting…', 'down');
});
