import t from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { labPorts, writeLabConfigs } from '../../../src/lab/lab-config.ts';
import { progressBar, statusLine } from '../../../src/lab/status-format.ts';
import { tempDir } from '../replication/helpers.ts';

t.test('every lab port derives from the base port', async (t) => {
  t.same(labPorts(20000), { primaryIscsi: 20000, peerIscsi: 20001, primaryCim: 20002, peerCim: 20003, redis: 20004, primaryMetrics: 20005, peerMetrics: 20006, dashboard: 20007, redisCluster: 20008 });
  t.equal(labPorts(undefined).dashboard, 9466, "the lab's dashboard after the systems' 9464/9465");
  t.equal(labPorts(undefined).primaryIscsi, 3260, 'fixture ports without --base-port');
  t.same([labPorts(undefined).primaryCim, labPorts(undefined).peerCim], [5989, 5990], 'CIM-XML over HTTPS from its conventional port 5989');
});

t.test('the two system configs point at each other and at the lab Redis', async (t) => {
  const dir = await tempDir(t);
  const files = await writeLabConfigs(dir, labPorts(30000), 'redis://127.0.0.1:30004', '64M');
  t.same(files.map((f) => f.role), ['primary', 'peer']);
  const primary = parse(await readFile(files[0].configPath, 'utf8')) as Record<string, unknown>;
  t.same(primary.portals, ['127.0.0.1:30000']);
  t.same(primary.peers, [{ name: files[1].name, cimUrl: 'https://127.0.0.1:30003', ca: join(dir, files[1].name, 'cim-tls', 'cert.pem') }], 'the peer over HTTPS, trusting its self-signed certificate');
  t.match(primary.cim, { address: '127.0.0.1', port: 30002, https: true });
  t.equal(primary.redisUrl, 'redis://127.0.0.1:30004');
  t.match(JSON.stringify(primary.targets), /"size":"64M"/);
});

t.test('status rendering', async (t) => {
  t.equal(progressBar(50, 10), '[#####.....]  50%');
  const record = {
    pairId: 'm-1', mode: 'async' as const, createdAt: '',
    source: { system: 'a', targetIqn: 'iqn.x', lun: 0, naa: '1' }, target: { system: 'b', targetIqn: 'iqn.y', lun: 0, naa: '2' },
  };
  t.match(statusLine({ entry: { record, admin: 'active', revision: 1 } }), /no recent status/);
});
