/**
 * The lab's dashboard aggregates the systems' states (their /api/dashboard/state), marks one that does
 * not answer as unreachable with the reason, and serves the same page.
 */
import t from 'tap';
import { createServer } from 'node:net';
import { startLabDashboard } from '../../../src/lab/lab-dashboard.ts';
import { DashboardFeed, dashboardRoutes, startObservability, SystemStateCollector, type DashboardSnapshot } from '../../../src/metrics/index.ts';
import { fakeSource } from '../metrics/fake-system.ts';
import { waitFor } from '../replication/helpers.ts';

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

t.test('the lab page shows every system, one that does not answer as unreachable', async (t) => {
  const source = fakeSource();
  const collector = new SystemStateCollector({ system: source });
  const feed = new DashboardFeed({ title: source.name, collect: () => [collector.collect()], intervalMs: 100 });
  feed.start();
  const http = await startObservability(source, { address: '127.0.0.1', port: 0 }, undefined, { routes: dashboardRoutes(feed) });
  t.teardown(async () => { await http.close(); collector.close(); await feed.stop(); });
  const down = `http://127.0.0.1:${await closedPort()}`;
  const lab = await startLabDashboard({
    address: '127.0.0.1', port: 0, intervalMs: 100,
    systems: [{ name: 'sim', role: 'primary', httpUrl: http.url }, { name: 'gone', role: 'peer', httpUrl: down }],
  });
  t.teardown(() => lab.close());

  let snapshot: DashboardSnapshot | undefined;
  t.ok(await waitFor(async () => {
    snapshot = await (await fetch(`${lab.url}/api/dashboard`)).json() as DashboardSnapshot;
    return snapshot.samples.length >= 2;
  }, 10_000, 50), 'the lab samples');
  t.equal(snapshot?.state.title, 'lab');
  t.match(snapshot?.state.systems, [
    { name: 'sim', role: 'primary', reachable: true, portals: [{ hostPort: '[::1]:3260' }] },
    { name: 'gone', role: 'peer', reachable: false, error: `ECONNREFUSED (${down})` },
  ]);
  const browser = await fetch(`${lab.url}/`, { headers: { accept: 'text/html' }, redirect: 'manual' });
  t.equal(browser.headers.get('location'), '/dashboard/', 'a browser is sent to the page');
  t.match(await (await fetch(`${lab.url}/dashboard/`)).text(), '<title>iscsi-sim dashboard</title>');
  t.equal((await fetch(`${lab.url}/api/dashboard`, { method: 'POST' })).status, 405, 'GET only');
  t.equal((await fetch(`${lab.url}/nothing`)).status, 404);
});

t.test('a lab dashboard port in use is an error naming it', async (t) => {
  const first = await startLabDashboard({ address: '127.0.0.1', port: 0, systems: [] });
  t.teardown(() => first.close());
  const port = Number(new URL(first.url).port);
  await t.rejects(startLabDashboard({ address: '127.0.0.1', port, systems: [] }), { message: `lab dashboard: cannot listen on 127.0.0.1:${port}: EADDRINUSE` });
});
