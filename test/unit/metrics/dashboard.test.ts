/**
 * The dashboard's server side: the ring of samples, events found between two states, the page and
 * uPlot served (from node_modules), the snapshot and the SSE stream with I/O rates.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { DashboardSnapshot, DashboardUpdate, PairState, SystemState } from '../../../src/metrics/dashboard/dashboard-types.ts';
import { DashboardFeed, mergePairs } from '../../../src/metrics/dashboard/feed.ts';
import { Ring } from '../../../src/metrics/dashboard/ring.ts';
import { dashboardRoutes, startObservability, SystemStateCollector } from '../../../src/metrics/index.ts';
import type { SessionInfo } from '../../../src/system/session-info.ts';
import { fakeSource, IQN } from './fake-system.ts';

t.test('Ring keeps the newest items, oldest first', async (t) => {
  const ring = new Ring<number>(3);
  t.same(ring.toArray(), []);
  for (const n of [1, 2]) ring.push(n);
  t.same(ring.toArray(), [1, 2]);
  for (const n of [3, 4, 5]) ring.push(n);
  t.same(ring.toArray(), [3, 4, 5]);
  t.equal(ring.size, 3);
  t.throws(() => new Ring(0), RangeError);
});

function pair(overrides: Partial<PairState>): PairState {
  return {
    pairId: 'm-1', source: 'a:iqn.x/0', target: 'b:iqn.x/0', mode: 'async', phase: 'streaming', role: 'source', reportedBy: 'a',
    percentSynced: 100, rpoSeconds: 0, bytesBehind: 0, throughputBytesPerSecond: 0, lagKnown: true, ...overrides,
  };
}

function system(name: string, overrides: Partial<SystemState> = {}): SystemState {
  return { name, reachable: true, ready: true, problems: [], portals: [], targets: [], sessions: [], pairs: [], ...overrides };
}

const session: SessionInfo = {
  target: IQN, sessionType: 'Normal', initiatorName: 'iqn.2005-03.org.open-iscsi:client', initiatorAddress: '[::1]:40000',
  portal: '[::1]:3260,1', isid: '400001370000', tsih: 7, headerDigest: 'CRC32C', dataDigest: 'None', connections: 1,
  loggedInAt: new Date(0).toISOString(), outstandingTasks: 0,
};

t.test('the feed samples each tick, keeps the window, and turns changes into events', async (t) => {
  let systems: SystemState[] = [system('a', { pairs: [pair({})] }), system('b', { pairs: [pair({ role: 'target', reportedBy: 'b', bytesBehind: 99 })] })];
  const feed = new DashboardFeed({ title: 'lab', collect: () => systems, keepSeconds: 3 });
  const updates: DashboardUpdate[] = [];
  feed.subscribe((u) => updates.push(u));
  let now = Date.parse('2026-12-01T00:00:00Z');
  const tick = () => feed.tick(new Date(now += 1000));
  await tick();
  t.same(feed.snapshot().events, [], 'the first state is the baseline: no events');
  t.equal(feed.snapshot().state.pairs[0]?.reportedBy, 'a', "the pair once, as its source reports it");

  systems = [system('a', { pairs: [pair({ phase: 'ahead', bytesBehind: 4096, rpoSeconds: 2.5 })], sessions: [session] }), system('b', { reachable: false, error: 'ECONNREFUSED' })];
  await tick();
  systems = [system('a', { pairs: [pair({ phase: 'failing-over', link: 'partitioned' })] }), system('b')];
  await tick();
  systems = [system('a', { pairs: [pair({ phase: 'split-brain', splitBrain: { detectedAt: 'x', changes: { a: 3, b: 5 } } })] }), system('b')];
  await tick();
  const events = feed.snapshot().events;
  t.same(events.map((e) => e.kind), ['phase', 'session', 'system', 'failover', 'link', 'session', 'system', 'split-brain', 'link']);
  t.match(events[4]?.message, 'm-1: replication link now partitioned');
  t.match(events[8]?.message, 'm-1: replication link back to normal (was partitioned)');
  t.match(events[1]?.message, 'iqn.2005-03.org.open-iscsi:client ([::1]:40000) logged in to');
  t.match(events[2]?.message, 'b is unreachable: ECONNREFUSED');
  t.match(events[7]?.message, /failing-over → split-brain: both systems wrote while disconnected \(a 3 grains, b 5 grains\)/);
  const samples = feed.snapshot().samples;
  t.equal(samples.length, 3, 'only the last 3 seconds are kept');
  t.same(samples[0]?.pairs['m-1'], { rpoSeconds: 2.5, bytesBehind: 4096, throughputBytesPerSecond: 0 });
  t.equal(updates.length, 4, 'every tick reaches the subscribers');
  t.same(updates[1]?.events.map((e) => e.kind), ['phase', 'session', 'system']);
  t.equal(mergePairs([system('b', { pairs: [pair({ role: 'target' })] })])[0]?.role, 'target', 'a target report stands in when no source reports');
});

async function readEvents(response: Response, count: number): Promise<Array<{ event: string; data: unknown }>> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events: Array<{ event: string; data: unknown }> = [];
  let buffer = '';
  while (events.length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event && data) events.push({ event, data: JSON.parse(data) });
    }
  }
  await reader.cancel();
  return events;
}

t.test("a system's HTTP server serves the page, uPlot from node_modules, the snapshot and the live stream", async (t) => {
  const source = fakeSource();
  source.sessionList = [session];
  const collector = new SystemStateCollector({ system: source });
  const feed = new DashboardFeed({ title: source.name, collect: () => [collector.collect()], intervalMs: 200 });
  feed.start();
  const http = await startObservability(source, { address: '127.0.0.1', port: 0 }, undefined, { routes: dashboardRoutes(feed) });
  t.teardown(async () => { await http.close(); collector.close(); await feed.stop(); });

  const browser = await fetch(`${http.url}/`, { headers: { accept: 'text/html,application/xhtml+xml' }, redirect: 'manual' });
  t.equal(browser.status, 302, 'a browser asking for / is sent to the page');
  t.equal(browser.headers.get('location'), '/dashboard/');
  const page = await fetch(`${http.url}/dashboard/`);
  t.equal(page.status, 200);
  t.match(page.headers.get('content-type'), 'text/html');
  const html = await page.text();
  t.match(html, '<script src="/dashboard/vendor/uPlot.iife.min.js">', 'the page loads uPlot from this server');
  t.notMatch(html, /https?:\/\//, 'and nothing from the internet');
  t.equal((await fetch(`${http.url}/dashboard`, { redirect: 'manual' })).headers.get('location'), '/dashboard/');
  for (const file of ['dashboard.js', 'dashboard.css']) t.equal((await fetch(`${http.url}/dashboard/${file}`)).status, 200, file);
  const uplot = await fetch(`${http.url}/dashboard/vendor/uPlot.iife.min.js`);
  t.match(uplot.headers.get('content-type'), 'text/javascript');
  t.equal(await uplot.text(), readFileSync(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'), 'the file of the installed uplot package');
  t.equal((await fetch(`${http.url}/dashboard/../package.json`)).status, 404, 'nothing else of the project');
  t.equal((await fetch(`${http.url}/dashboard/vendor/uPlot.cjs.js`)).status, 404);
  t.match(await (await fetch(`${http.url}/`)).json(), { endpoints: { 'GET /dashboard/': String, 'GET /api/dashboard/stream': String } }, 'JSON clients still get the index');

  const snapshot = await (await fetch(`${http.url}/api/dashboard`)).json() as DashboardSnapshot;
  t.match(snapshot.state, {
    title: 'sim',
    systems: [{ name: 'sim', ready: true, portals: [{ hostPort: '[::1]:3260', portalGroupTag: 1, listening: true }], targets: [{ iqn: IQN, luns: [{ lun: 0, writeProtected: false }] }], sessions: [{ isid: '400001370000', headerDigest: 'CRC32C' }] }],
  });

  const stream = await fetch(`${http.url}/api/dashboard/stream`);
  t.match(stream.headers.get('content-type'), 'text/event-stream');
  source.complete({ lun: 0, kind: 'write', bytes: 8 << 20, seconds: 0.001, ok: true });
  const [first, ...updates] = await readEvents(stream, 3);
  t.equal(first?.event, 'snapshot');
  t.same(updates.map((u) => u.event), ['update', 'update']);
  const rates = updates.map((u) => (u.data as DashboardUpdate).state.systems[0]!.targets[0]!.luns[0]!.writeBytesPerSecond);
  t.ok(rates.some((r) => r > 0), `the 8 MiB write shows as a write rate (${rates.join(', ')} B/s)`);
  const sample = (updates[1]!.data as DashboardUpdate).sample;
  t.ok(`sim:${IQN}/0` in sample.luns, 'and in the samples plotted');
});

t.test('the collector keeps the highest lag seen between two collections, and the link conditions', async (t) => {
  const source = fakeSource();
  let behind = 5000;
  const observed = () => {
    return [{
      pairId: 'm-2', role: 'source' as const, phase: 'streaming', percentSynced: 100, rpoSeconds: behind > 0 ? 0.4 : 0, bytesBehind: behind, throughputBytesPerSecond: 1,
      record: { source: { system: 'sim', targetIqn: IQN, lun: 0 }, target: { system: 'b', targetIqn: 'iqn.b', lun: 0 }, mode: 'async' },
      link: { description: 'latency 50 ms' },
    }];
  };
  const collector = new SystemStateCollector({ system: source, pairs: observed, peakSampleMs: 3_600_000 });
  t.teardown(() => collector.close());
  collector.samplePeaks(); // what its timer does four times a second
  behind = 0;
  const first = collector.collect().pairs[0];
  t.match(first, { pairId: 'm-2', source: `sim:${IQN}/0`, target: 'b:iqn.b/0', bytesBehind: 5000, rpoSeconds: 0.4, link: 'latency 50 ms', reportedBy: 'sim' }, 'the burst seen between collections');
  t.match(collector.collect().pairs[0], { bytesBehind: 0, rpoSeconds: 0 }, 'and not again once it is over');
});

t.test('fault rules added and removed are events', async (t) => {
  const rule = { id: 'f-1', target: IQN, lun: 0, action: 'medium-error', addedAt: 'x', seen: 4, fired: 2 };
  let faults: SystemState['faults'] = [];
  const feed = new DashboardFeed({ title: 'sim', collect: () => [system('sim', { faults })] });
  await feed.tick();
  faults = [rule];
  await feed.tick();
  faults = [];
  await feed.tick();
  t.same(feed.snapshot().events.map((e) => e.message), [
    `sim: fault rule f-1 added (medium-error on ${IQN} LUN 0)`,
    `sim: fault rule f-1 removed (medium-error on ${IQN} LUN 0, fired 2 times)`,
  ]);
});
