import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import t from 'tap';
import { freeLoopbackPort } from '../../../src/lab/embedded-redis.ts';
import { localStatusLines, parseReplicationGauges, readLocalStatus } from '../../../src/lab/local-status.ts';

const METRICS = `# HELP iscsi_sim_replication_bytes_behind Bytes the replica lacks
# TYPE iscsi_sim_replication_bytes_behind gauge
iscsi_sim_replication_bytes_behind{pair="m-1",role="source",source="a/iqn/0",target="b/iqn/0"} 16777216
iscsi_sim_replication_rpo_seconds{pair="m-1",role="source",source="a/iqn/0",target="b/iqn/0"} 3.25
iscsi_sim_replication_copy_state{pair="m-1",role="source",source="a/iqn/0",target="b/iqn/0"} 3
iscsi_sim_replication_dirty_grains{pair="m-1",role="source",source="a/iqn/0",target="b/iqn/0"} 256
iscsi_sim_replication_out_of_sync_bytes{pair="m-1",role="source",source="a/iqn/0",target="b/iqn/0"} NaN
process_cpu_seconds_total 1.5
`;

const entry = {
  record: { pairId: 'm-1', source: { system: 'a', targetIqn: 'iqn', lun: 0, naa: '3a' }, target: { system: 'b', targetIqn: 'iqn', lun: 0, naa: '3b' }, mode: 'async', createdAt: '2026-11-30T00:00:00Z' },
  admin: 'active', revision: 1,
};

t.test('gauges are read per pair from Prometheus text', async (t) => {
  const parsed = parseReplicationGauges(METRICS);
  t.same(parsed.get('m-1'), { bytes_behind: 16777216, rpo_seconds: 3.25, copy_state: 3, dirty_grains: 256, out_of_sync_bytes: Number.NaN, role: 'source' });
  t.equal(parsed.size, 1);
});

t.test('a running system: pairs from its state dir with its live figures; a stopped one: pairs and why', async (t) => {
  const dir = t.testdir();
  for (const name of ['a', 'b']) {
    await mkdir(join(dir, name, 'replication'), { recursive: true });
    await writeFile(join(dir, name, 'replication', 'pairs.json'), JSON.stringify({ 'm-1': entry }));
  }
  const server = createServer((_, response) => response.end(METRICS));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const port = (server.address() as { port: number }).port;
  const closed = await freeLoopbackPort();
  const local = await readLocalStatus([
    { name: 'a', stateDir: join(dir, 'a'), metricsUrl: `http://127.0.0.1:${port}/metrics` },
    { name: 'b', stateDir: join(dir, 'b'), metricsUrl: `http://127.0.0.1:${closed}/metrics` },
    { name: 'c', stateDir: join(dir, 'c') },
  ]);
  t.same(localStatusLines(local), [
    'a: m-1  a/lun0 → b/lun0  async  admin=active  source  Unsynchronized  behind 16.0 MiB  out of sync unknown  RPO 3.3 s  256 dirty grains',
    `b: m-1  a/lun0 → b/lun0  async  admin=active (not answering on http://127.0.0.1:${closed}/metrics (ECONNREFUSED))`,
    'c: no pairs in its state dir (no /metrics endpoint)',
  ]);
});

t.test('a corrupt pairs.json is said, not taken as "no pairs"', async (t) => {
  const dir = t.testdir({ replication: { 'pairs.json': '{"m-1": ' } });
  const [system] = await readLocalStatus([{ name: 'a', stateDir: dir }]);
  t.equal(system?.pairs.length, 0);
  t.match(system?.problem, /pairs\.json is unreadable/);
});
