/**
 * Issue 8: lab flags on a reused state dir are applied or refused, never ignored. Real `iscsi-sim lab`
 * runs (embedded redis-server, primary and peer processes, CIM) on one state dir, one after the other:
 * --sync switches an async mirror to sync through ModifyReplicaSynchronization (and back without it);
 * a --size that differs from the existing LUN files is refused naming the file; the same size is fine.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
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
});
