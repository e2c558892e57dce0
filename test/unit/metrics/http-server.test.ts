import t from 'tap';
import { Registry } from 'prom-client';
import { startObservability, type ObservedReplication } from '../../../src/metrics/index.ts';
import type { SessionInfo } from '../../../src/system/session-info.ts';
import { fakeSource, IQN } from './fake-system.ts';

const session: SessionInfo = {
  target: IQN, sessionType: 'Normal', initiatorName: 'iqn.1994-05.com.redhat:client', initiatorAddress: '127.0.0.1:40000',
  portal: '127.0.0.1:3260,1', isid: '400001370000', tsih: 1, headerDigest: 'None', dataDigest: 'CRC32C', connections: 1,
  loggedInAt: new Date(0).toISOString(), outstandingTasks: 0,
};

t.test('/healthz: 200 ready, then 503 naming the portal and the Redis connection that are not ready', async (t) => {
  const source = fakeSource();
  let connected = true;
  const replication: ObservedReplication = { metrics: new Registry(), redisUrl: 'redis://127.0.0.1:6390', redisConnected: () => connected };
  const http = await startObservability(source, { address: '127.0.0.1', port: 0 }, replication);
  t.teardown(() => http.close());
  const ready = await fetch(`${http.url}/healthz`);
  t.equal(ready.status, 200);
  t.match(await ready.json(), { ready: true, system: 'sim', checks: { system: { ok: true }, replication: { ok: true, detail: 'connected to Redis' } } });
  source.listening = false;
  connected = false;
  const notReady = await fetch(`${http.url}/healthz`);
  t.equal(notReady.status, 503);
  t.same((await notReady.json()).notReady, [
    'system: portal 127.0.0.1:3260 is not listening',
    'replication: not connected to Redis (redis://127.0.0.1:6390)',
  ]);
});

t.test('/metrics: per-LUN counters read at scrape time, latencies observed per completion, sessions, XCOPY', async (t) => {
  const source = fakeSource();
  const http = await startObservability(source, { address: '127.0.0.1', port: 0 });
  t.teardown(() => http.close());
  source.complete({ lun: 0, kind: 'write', bytes: 8192, seconds: 0.0003, ok: true });
  source.sessionList = [session];
  const text = await (await fetch(`${http.url}/metrics`)).text();
  t.match(text, `iscsi_sim_lun_write_bytes_total{target="${IQN}",lun="0"} 8192`);
  t.match(text, `iscsi_sim_lun_write_operations_total{target="${IQN}",lun="0"} 1`);
  t.match(text, `iscsi_sim_lun_io_latency_seconds_bucket{le="0.0005",target="${IQN}",lun="0",op="write"} 1`);
  t.match(text, `iscsi_sim_lun_io_latency_seconds_bucket{le="0.00025",target="${IQN}",lun="0",op="write"} 0`);
  t.match(text, `iscsi_sim_sessions{target="${IQN}",type="normal"} 1`);
  t.match(text, `iscsi_sim_xcopy_bytes_total{target="${IQN}"} 4096`);
  t.match(text, /^process_resident_memory_bytes \d/m);
});

t.test('/api/sessions, / and errors', async (t) => {
  const source = fakeSource();
  source.sessionList = [session];
  const http = await startObservability(source, { address: '127.0.0.1', port: 0 });
  t.teardown(() => http.close());
  t.same(await (await fetch(`${http.url}/api/sessions`)).json(), { system: 'sim', targets: [IQN], sessions: [session] });
  t.match(await (await fetch(`${http.url}/`)).json(), { system: 'sim', endpoints: { '/metrics': String, '/healthz': String, '/api/sessions': String } });
  t.equal((await fetch(`${http.url}/metrics`, { method: 'POST' })).status, 405);
  t.equal((await fetch(`${http.url}/missing`)).status, 404);
});

t.test('a port in use is an error at start', async (t) => {
  const first = await startObservability(fakeSource(), { address: '127.0.0.1', port: 0 });
  t.teardown(() => first.close());
  const port = Number(new URL(first.url).port);
  await t.rejects(startObservability(fakeSource(), { address: '127.0.0.1', port }), { code: 'EADDRINUSE' });
});
