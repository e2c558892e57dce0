/**
 * Metrics for every serve (issue 12): a plain `iscsi-sim serve --metrics` (no Redis) answers
 * /metrics, /healthz, / and /api/sessions; after qemu-img writes a known-size random file into the
 * LUN and reads the LUN back out, the per-LUN counters, latency histograms, sessions gauge and
 * process metrics say so.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startSystem, type RunningSystem } from './support/system-process.ts';
import { missingTools, run } from './support/tools.ts';
import { sample } from './support/prometheus-sample.ts';

const MIB = 1024 * 1024;
const IQN = 'iqn.2026-11.org.iscsi-sim:metrics';

async function get(system: RunningSystem, path: string): Promise<{ status: number; type: string; text: string }> {
  const response = await fetch(`${system.summary.httpUrl}${path}`, { signal: AbortSignal.timeout(5000) });
  return { status: response.status, type: response.headers.get('content-type') ?? '', text: await response.text() };
}

t.test('plain serve (no Redis): /metrics counts the bytes qemu-img wrote and read; /healthz, / answer', { skip: missingTools({ 'qemu-img': 'qemu-utils qemu-block-extra' }) }, async (t) => {
  const system = await startSystem({ luns: ['64M'], iqn: IQN, extraArgs: ['--metrics', '127.0.0.1:0'] });
  t.teardown(() => system.stop());
  t.match(system.summary.httpUrl, /^http:\/\/127\.0\.0\.1:\d+$/, 'the ready line names the HTTP server');

  const health = await get(system, '/healthz');
  t.equal(health.status, 200, '/healthz 200');
  t.match(JSON.parse(health.text), { ready: true, checks: { system: { ok: true } }, notReady: [] }, '/healthz: ready, nothing missing');
  t.notOk('replication' in JSON.parse(health.text).checks, 'no replication check without Redis');
  const index = JSON.parse((await get(system, '/')).text);
  t.ok(index.endpoints['/metrics'] && index.endpoints['/healthz'] && index.endpoints['/api/sessions'], '/ lists the endpoints');
  t.equal((await get(system, '/nope')).status, 404, 'unknown path 404');

  const before = (await get(system, '/metrics')).text;
  const lun = { target: IQN, lun: '0' };
  t.equal(sample(before, 'iscsi_sim_lun_write_bytes_total', lun), 0, 'write bytes start at 0');

  const fileSize = 24 * MIB + 4096; // not a multiple of qemu-img's 2 MiB chunks
  const source = join(system.dir, 'random.raw');
  await writeFile(source, randomBytes(fileSize));
  const written = await run('qemu-img', ['convert', '-n', '-f', 'raw', '-O', 'raw', source, system.url()], 300_000);
  t.equal(written.code, 0, 'qemu-img convert into the LUN', { stderr: written.stderr });

  const afterWrite = (await get(system, '/metrics')).text;
  const writeBytes = sample(afterWrite, 'iscsi_sim_lun_write_bytes_total', lun) ?? -1;
  const writeOps = sample(afterWrite, 'iscsi_sim_lun_write_operations_total', lun) ?? -1;
  const writeLatencyCount = sample(afterWrite, 'iscsi_sim_lun_io_latency_seconds_count', { ...lun, op: 'write' }) ?? -1;
  t.comment(`${fileSize} bytes converted: write_bytes_total ${writeBytes}, write_operations_total ${writeOps}, write latency count ${writeLatencyCount}, read_bytes_total ${sample(afterWrite, 'iscsi_sim_lun_read_bytes_total', lun)}`);
  t.ok(writeBytes >= fileSize, `write bytes ${writeBytes} ≥ the file's ${fileSize}`);
  // qemu-img writes each block of a random (no zero block) raw file exactly once with WRITE(10/16).
  t.equal(writeBytes, fileSize, 'exactly the file size: every block written once, nothing else');
  t.ok(writeOps >= fileSize / (16 * MIB), `write operations ${writeOps}`);
  t.equal(writeLatencyCount, writeOps, 'one write latency observation per write (all GOOD)');
  t.equal(sample(afterWrite, 'iscsi_sim_lun_io_errors_total', lun), 0, 'no I/O errors');
  t.ok((sample(afterWrite, 'iscsi_sim_lun_io_latency_seconds_bucket', { ...lun, op: 'write', le: '+Inf' }) ?? -1) === writeLatencyCount, 'histogram +Inf bucket = count');

  const readBefore = sample(afterWrite, 'iscsi_sim_lun_read_bytes_total', lun) ?? 0;
  const copy = join(system.dir, 'copy.raw');
  const read = await run('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', system.url(), copy], 300_000);
  t.equal(read.code, 0, 'qemu-img convert out of the LUN', { stderr: read.stderr });
  const afterRead = (await get(system, '/metrics')).text;
  const readBytes = (sample(afterRead, 'iscsi_sim_lun_read_bytes_total', lun) ?? -1) - readBefore;
  t.comment(`64 MiB LUN converted out: read_bytes_total +${readBytes}, read ops ${sample(afterRead, 'iscsi_sim_lun_read_operations_total', lun)}`);
  t.ok(readBytes >= fileSize, `read bytes ${readBytes} ≥ the ${fileSize} written (qemu-img skips what GET LBA STATUS calls unmapped)`);
  t.ok((sample(afterRead, 'iscsi_sim_lun_io_latency_seconds_count', { ...lun, op: 'read' }) ?? 0) > 0, 'read latencies observed');

  t.equal(sample(afterRead, 'iscsi_sim_sessions', { target: IQN, type: 'normal' }), 0, 'sessions gauge back to 0 after qemu-img logged out');
  t.equal(sample(afterRead, 'iscsi_sim_xcopy_operations_total', { target: IQN }), 0, 'XCOPY counter present (no copy offload here)');
  t.match(afterRead, /^process_cpu_user_seconds_total \d/m, 'process metrics (default collectors)');
  t.match(afterRead, /^nodejs_heap_size_used_bytes \d/m, 'Node.js metrics (default collectors)');
  t.equal(sample(afterRead, 'iscsi_sim_system_ready', { system: 'it' }), 1, 'ready gauge');
  t.notMatch(afterRead, /iscsi_sim_replication_/, 'no replication gauges without Redis');
  t.ok(system.alive(), 'target still running');
});
