/**
 * Issue 8: lab flags on a reused state dir are applied or refused, never ignored. Real `iscsi-sim lab`
 * runs (embedded redis-server, primary and peer processes, CIM) on one state dir, one after the other:
 * --sync switches an async mirror to sync through ModifyReplicaSynchronization (and back without it);
 * a --size that differs from the existing LUN files is refused naming the file; the same size is fine.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CimClient } from '../../src/cim/client/client.ts';
import { servicePath } from '../../src/cim/model/paths.ts';
import { TARGET_NAMESPACE } from '../../src/cim/types.ts';
import type { LabReady } from '../../src/lab/lab-runner.ts';
import { freeLabBasePort, repoRoot, tempDir } from '../unit/replication/helpers.ts';

const RUN_BOUND_MS = 150_000;

interface LabRun { code: number | null; output: string; ready?: LabReady }

/** `iscsi-sim lab --exit-when-ready` with extra flags; bounded. */
async function labOnce(stateDir: string, basePort: number, flags: string[]): Promise<LabRun> {
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'iscsi-sim.js'), 'lab', '--state-dir', stateDir, '--base-port', String(basePort), '--exit-when-ready', ...flags], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  const killer = setTimeout(() => child.kill('SIGKILL'), RUN_BOUND_MS);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(killer);
  const line = output.split('\n').find((l) => l.startsWith('lab ready: '));
  return { code, output, ...(line ? { ready: JSON.parse(line.slice('lab ready: '.length)) as LabReady } : {}) };
}

t.test('--sync and --size on a reused state dir', async (t) => {
  const stateDir = join(await tempDir(t, 'iscsi-sim-lab-reuse-'), 'lab');
  const basePort = await freeLabBasePort();

  const first = await labOnce(stateDir, basePort, ['--size', '32M']);
  t.equal(first.code, 0, `a new lab starts ${first.code === 0 ? '' : first.output}`);
  t.equal(first.ready?.pairs[0]?.mode, 'async', 'async by default');

  const toSync = await labOnce(stateDir, basePort, ['--sync']);
  t.equal(toSync.code, 0, `reused with --sync ${toSync.code === 0 ? '' : toSync.output}`);
  t.equal(toSync.ready?.pairs[0]?.mode, 'sync', '--sync is applied to the existing mirror');
  t.match(toSync.output, /mirror mode async → sync .*Reset To Sync/, 'and the lab says so');
  t.equal(toSync.ready?.pairs[0]?.pairId, first.ready?.pairs[0]?.pairId, 'the same mirror (no new initial sync)');

  const toAsync = await labOnce(stateDir, basePort, []);
  t.equal(toAsync.code, 0, 'reused without --sync');
  t.equal(toAsync.ready?.pairs[0]?.mode, 'async', 'the reverse is applied too');
  t.match(toAsync.output, /mirror mode sync → async .*Reset To Async/);

  const resized = await labOnce(stateDir, basePort, ['--size', '64M']);
  t.not(resized.code, 0, `a different --size is refused (exit ${resized.code})`);
  t.match(resized.output, /--size 64M does not match .*disk0\.img \(32M\) in the reused state dir/, 'naming the LUN file and its size');
  t.equal(resized.ready, undefined, 'never ready');

  const same = await labOnce(stateDir, basePort, ['--size', '32M']);
  t.equal(same.code, 0, 'the same --size is fine');
  t.notMatch(same.output, /mirror mode/, 'nothing to change: no mode message');

  // A pair the operator fractured stays fractured across a lab restart, and the lab does not wait for a sync.
  const running = spawn(process.execPath, [join(repoRoot, 'bin', 'iscsi-sim.js'), 'lab', '--state-dir', stateDir, '--base-port', String(basePort)], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => { if (running.exitCode === null) running.kill('SIGKILL'); });
  const exited = new Promise<number | null>((resolve) => running.once('exit', (code) => resolve(code)));
  const ready = await new Promise<LabReady>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('lab not ready in 120 s')), 120_000);
    createInterface({ input: running.stdout }).on('line', (line) => {
      if (line.startsWith('lab ready: ')) { clearTimeout(timer); resolve(JSON.parse(line.slice('lab ready: '.length)) as LabReady); }
    });
  });
  const cim = new CimClient({ url: ready.systems[0].cimUrl!, caFile: ready.systems[0].cimCertificate, timeoutMs: 30_000 });
  const service = { ...servicePath(ready.systems[0].name), namespace: TARGET_NAMESPACE };
  const syncs = (await cim.invokeMethod(service, 'GetReplicationRelationships', {})).out.Synchronizations;
  const sync = syncs?.kind === 'refarray' ? syncs.paths[0] : undefined;
  const fracture = await cim.invokeMethod(service, 'ModifyReplicaSynchronization', { Operation: 12, Synchronization: { ...sync!, namespace: TARGET_NAMESPACE } });
  t.equal(fracture.returnValue, 0, 'fractured through CIM');
  running.kill('SIGINT');
  t.equal(await exited, 0, 'that lab stopped');
  const started = Date.now();
  const fractured = await labOnce(stateDir, basePort, []);
  t.equal(fractured.code, 0, `a lab on the fractured pair gets ready (${Date.now() - started} ms) ${fractured.code === 0 ? '' : fractured.output}`);
  t.match(fractured.output, /is fractured: kept as it is/, 'and says the pair stays fractured');
});
